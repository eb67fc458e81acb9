/* SPDX-License-Identifier: MIT */
/*
 * Ports whose device goes away, inside the real switch (two data threads
 * that sleep when idle), beside two dummy ports d0 and d1 on one bridge:
 * afpacket and afxdp on a veth whose peer's namespace is deleted, tap
 * deleted with `ip link del` (and first moved into another namespace and
 * back, which is not gone), vhostuser and vhostuserclient whose
 * front-end vanishes (its socket closes, as when QEMU is killed).
 *
 * Each case: frames flow both ways through the port; then, while a
 * thread floods frames from d0 (to d1 and the port), the device goes
 * (afpacket and afxdp: taken down and up again first).
 * The port must go link-down and say so in its status, have no queue
 * (vhostuser: sleep on a quiet fd), be logged gone once and never per
 * packet, d0 -> d1 must keep forwarding, and the process (data threads,
 * control loop, the flooding thread) must use under 20 % of a core over
 * 1.5 s, its data threads asleep rather than woken in a loop. Then the
 * device comes back (same name re-created, a new front-end) and frames
 * flow through the port both ways again.
 *
 * The test runs in a network namespace of its own (unshare at start), so
 * its interface names cannot collide with another run's; the peers'
 * namespaces are named after the pid. Needs root (exit 77 otherwise).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vsw/switch.h>
#include <vsw/vhost_user_fe.h>

#include "test_ports_net.h"

#define ET_TEST 0x88b5
#define LOG_LINES 512

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_inj[6] = {0x02, 0, 0, 0, 0x11, 0x01};
static const uint8_t mac_d0[6] = {0x02, 0, 0, 0, 0xd0, 0x01};
static const uint8_t mac_peer[6] = {0x02, 0, 0, 0, 0xbb, 0x02};

struct env {
	struct vsw_switch *sw;
	struct vsw_port *d0, *d1;
	pthread_t loop_thr;
	bool loop_on;
	int loop_stop;
	/* the flooding thread; d1's only consumer while it runs */
	pthread_t inj_thr;
	bool inj_on;
	int inj_stop;
	uint64_t inj_got; /* its frames seen on d1; relaxed */
	pthread_mutex_t log_lock;
	char log[LOG_LINES][256];
	unsigned n_log;
};

static void env_log(void *arg, enum vsw_log_level level, const char *msg)
{
	struct env *e = arg;

	fprintf(stderr, "[vsw %d] %s\n", (int)level, msg);
	pthread_mutex_lock(&e->log_lock);
	snprintf(e->log[e->n_log % LOG_LINES], sizeof(e->log[0]), "%s", msg);
	e->n_log++;
	pthread_mutex_unlock(&e->log_lock);
}

/* Log lines (of the last LOG_LINES) that contain s. */
static unsigned log_count(struct env *e, const char *s)
{
	unsigned i, n = 0;

	pthread_mutex_lock(&e->log_lock);
	for (i = 0; i < LOG_LINES && i < e->n_log; i++)
		n += strstr(e->log[i], s) != NULL;
	pthread_mutex_unlock(&e->log_lock);
	return n;
}

static void *loop_main(void *arg)
{
	struct env *e = arg;
	struct pollfd fds[16];
	unsigned n;
	int t;

	while (!__atomic_load_n(&e->loop_stop, __ATOMIC_ACQUIRE)) {
		n = vsw_switch_pollfds(e->sw, fds, 16);
		if (n > 16)
			n = 16;
		t = vsw_switch_timeout_ms(e->sw);
		if (t < 0 || t > 20)
			t = 20;
		(void)poll(fds, n, t);
		vsw_switch_handle(e->sw, fds, n);
	}
	return NULL;
}

/* A switch with bridge br0 and dummy ports d0, d1 (loop not started). */
static void env_init(struct env *e)
{
	struct vsw_switch_config cfg = {.n_threads = 2, .idle_polls = 10};
	char err[256];

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->log_lock, NULL);
	cfg.log = env_log;
	cfg.log_arg = e;
	assert_int_equal(vsw_switch_create(&cfg, &e->sw), 0);
	assert_int_equal(vsw_switch_add_bridge(e->sw, "br0", err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_add_port(e->sw, "br0", "d0", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_add_port(e->sw, "br0", "d1", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	e->d0 = vsw_switch_port_find(e->sw, "d0");
	e->d1 = vsw_switch_port_find(e->sw, "d1");
	assert_non_null(e->d0);
	assert_non_null(e->d1);
}

static void env_start(struct env *e)
{
	assert_int_equal(pthread_create(&e->loop_thr, NULL, loop_main, e), 0);
	e->loop_on = true;
}

static void env_fini(struct env *e)
{
	char err[256];

	if (e->loop_on) {
		__atomic_store_n(&e->loop_stop, 1, __ATOMIC_RELEASE);
		pthread_join(e->loop_thr, NULL);
	}
	(void)vsw_switch_del_port(e->sw, "p", err, sizeof(err));
	vsw_switch_destroy(e->sw);
	pthread_mutex_destroy(&e->log_lock);
}

/* Flood a frame from d0 every 10 ms; count those that reach d1. */
static void *inj_main(void *arg)
{
	struct env *e = arg;
	uint8_t f[128], buf[2048];
	size_t len = th_frame(f, bcast, mac_inj, ET_TEST, 60, 7);
	int n;

	while (!__atomic_load_n(&e->inj_stop, __ATOMIC_ACQUIRE)) {
		(void)vsw_port_dummy_inject(e->d0, 0, f, len, NULL);
		usleep(10000);
		while ((n = vsw_port_dummy_collect(e->d1, buf, sizeof(buf),
						   NULL, NULL)) >= 0)
			if ((size_t)n == len && memcmp(buf, f, len) == 0)
				__atomic_fetch_add(&e->inj_got, 1,
						   __ATOMIC_RELAXED);
	}
	return NULL;
}

static void inj_start(struct env *e)
{
	e->inj_stop = 0;
	assert_int_equal(pthread_create(&e->inj_thr, NULL, inj_main, e), 0);
	e->inj_on = true;
}

static void inj_stop(struct env *e)
{
	__atomic_store_n(&e->inj_stop, 1, __ATOMIC_RELEASE);
	pthread_join(e->inj_thr, NULL);
	e->inj_on = false;
}

static uint64_t inj_got(struct env *e)
{
	return __atomic_load_n(&e->inj_got, __ATOMIC_RELAXED);
}

/* ---- the port's state as `show` has it ---- */

struct port_state {
	bool found, link;
	unsigned n_rxq;
	char status[128];
};

static int state_cb(const struct vsw_port_info *info, void *arg)
{
	struct port_state *s = arg;

	if (strcmp(info->name, "p") != 0)
		return 0;
	s->found = true;
	s->link = info->link_up;
	s->n_rxq = info->n_rxq;
	snprintf(s->status, sizeof(s->status), "%s", info->status);
	return 0;
}

/*
 * The control loop thread is the switch's control thread: ask it for the
 * state between two of its steps by stopping it for the moment.
 */
static struct port_state port_state(struct env *e)
{
	struct port_state s = {0};

	__atomic_store_n(&e->loop_stop, 1, __ATOMIC_RELEASE);
	pthread_join(e->loop_thr, NULL);
	assert_int_equal(vsw_switch_port_iter(e->sw, "br0", state_cb, &s), 0);
	assert_true(s.found);
	__atomic_store_n(&e->loop_stop, 0, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&e->loop_thr, NULL, loop_main, e), 0);
	return s;
}

/* Wait up to ms for the port's link (and, with rxq >= 0, its rxq count). */
static struct port_state wait_state(struct env *e, bool link, int rxq, int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	struct port_state s;

	for (;;) {
		s = port_state(e);
		if ((s.link == link && (rxq < 0 || s.n_rxq == (unsigned)rxq)) ||
		    th_now_ms() >= end)
			break;
		usleep(20000);
	}
	if (s.link != link)
		fprintf(stderr, "port p: link %d, status '%s'\n", s.link,
			s.status);
	assert_int_equal(s.link, link);
	if (rxq >= 0)
		assert_int_equal(s.n_rxq, (unsigned)rxq);
	return s;
}

/* ---- the peer of the port: a raw socket or a vhost-user front-end ---- */

struct peer {
	int fd; /* raw socket on the device's other end, or -1 */
	struct vsw_vufe *fe;
	struct vsw_pkt_pool *pool;
};

static void peer_send(struct peer *p, const uint8_t *f, size_t len)
{
	struct vsw_pkt *pkt;

	if (p->fd >= 0) {
		assert_int_equal(send(p->fd, f, len, 0), (ssize_t)len);
		return;
	}
	pkt = vsw_pkt_alloc_len(p->pool, (uint32_t)len);
	assert_non_null(pkt);
	memcpy(vsw_pkt_data(pkt), f, len);
	pkt->len = (uint32_t)len;
	/* a full ring is the probe lost, as on the wire */
	if (vsw_vufe_tx_burst(p->fe, 0, &pkt, 1) != 1)
		vsw_pkt_free(pkt);
}

/* Whether the peer got f (len bytes) within ms; other frames skipped. */
static bool peer_got(struct peer *p, const uint8_t *f, size_t len, int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	struct vsw_pkt *pkts[32];
	uint8_t buf[2048];
	bool hit = false;
	int i, n;

	while (!hit && th_now_ms() < end) {
		if (p->fd >= 0) {
			ssize_t r;

			if (th_wait_readable(p->fd, 5) <= 0)
				continue;
			r = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
			hit = r == (ssize_t)len && memcmp(buf, f, len) == 0;
			continue;
		}
		n = vsw_vufe_rx_burst(p->fe, 0, pkts, 32);
		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			hit |= pkts[i]->len == len &&
			       memcmp(vsw_pkt_data(pkts[i]), f, len) == 0;
		vsw_pkt_free_burst(pkts, (unsigned)n);
		if (n == 0)
			usleep(1000);
	}
	return hit;
}

/* Whether d1 got f within ms (the flooding thread must not run). */
static bool d1_got(struct env *e, const uint8_t *f, size_t len, int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	uint8_t buf[2048];
	int n;

	while (th_now_ms() < end) {
		n = vsw_port_dummy_collect(e->d1, buf, sizeof(buf), NULL, NULL);
		if (n == -EAGAIN) {
			usleep(1000);
			continue;
		}
		if (n == (int)len && memcmp(buf, f, len) == 0)
			return true;
	}
	return false;
}

/*
 * Frames both ways through the port: peer -> d1 and d0 -> peer. Probes
 * are repeated every 50 ms for up to 3 s: right after link-up the port's
 * queues may not be mapped yet, and a frame sent then is dropped, as by a
 * NIC coming up.
 */
static void traffic_both_ways(struct env *e, struct peer *p, unsigned seed)
{
	uint8_t f[256];
	size_t len;
	unsigned i;
	bool ok;

	assert_false(e->inj_on);
	len = th_frame(f, bcast, mac_peer, ET_TEST, 80, seed);
	for (i = 0, ok = false; i < 60 && !ok; i++) {
		peer_send(p, f, len);
		ok = d1_got(e, f, len, 50);
	}
	if (!ok)
		fprintf(stderr, "peer -> d1: nothing in 3 s\n");
	assert_true(ok);
	len = th_frame(f, bcast, mac_d0, ET_TEST, 90, seed + 1);
	for (i = 0, ok = false; i < 60 && !ok; i++) {
		(void)vsw_port_dummy_inject(e->d0, 0, f, len, NULL);
		ok = peer_got(p, f, len, 50);
	}
	if (!ok)
		fprintf(stderr, "d0 -> peer: nothing in 3 s\n");
	assert_true(ok);
}

/* ---- while the device is gone ---- */

static uint64_t cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t pmd_sleeps(struct env *e)
{
	struct vsw_pmd_stats st;
	uint64_t s = 0;
	unsigned i;

	for (i = 0; i < vsw_switch_n_threads(e->sw); i++) {
		assert_int_equal(vsw_switch_pmd_stats(e->sw, i, &st), 0);
		s += st.sleeps;
	}
	return s;
}

/*
 * The device is gone (or down) and d0 keeps flooding: d1 keeps getting
 * frames, and
 * over 1.5 s the whole process uses less than 20 % of one core (a thread
 * polling a dead socket, or woken by its POLLERR in a loop, uses a whole
 * one), its data threads sleeping between the frames (100 a second).
 */
static void assert_gone_quiet(struct env *e, const char *what)
{
	uint64_t g0, g1, s0, s1, t0, cpu0, cpu, wall;

	usleep(200000);
	g0 = inj_got(e);
	s0 = pmd_sleeps(e);
	t0 = th_now_ms();
	cpu0 = cpu_ms();
	usleep(1500000);
	cpu = cpu_ms() - cpu0;
	wall = th_now_ms() - t0;
	s1 = pmd_sleeps(e);
	g1 = inj_got(e);
	fprintf(stderr,
		"%s: %llu ms CPU in %llu ms, %llu sleeps, d0 -> d1 "
		"%llu frames\n",
		what, (unsigned long long)cpu, (unsigned long long)wall,
		(unsigned long long)(s1 - s0), (unsigned long long)(g1 - g0));
	/*
	 * the other ports keep forwarding: ~150 frames, fewer on a loaded
	 * machine (the flooding thread sleeps 10 ms between frames)
	 */
	assert_true(g1 - g0 >= 20);
	assert_true(cpu * 5 < wall);
	/* about one sleep per frame per thread; a wake-up loop is millions */
	assert_true(s1 - s0 < 2000);
}

/* ---- afpacket and afxdp: a veth whose peer's namespace is deleted ---- */

static char ns[64], veth_a[16], veth_b[16];

static void veth_make(void)
{
	assert_int_equal(th_sh("ip netns add %s", ns), 0);
	assert_int_equal(th_sh("ip link add %s type veth peer name %s", veth_a,
			       veth_b),
			 0);
	assert_int_equal(th_sh("ip link set %s netns %s", veth_b, ns), 0);
	assert_int_equal(th_sh("ip -n %s link set %s up", ns, veth_b), 0);
	assert_int_equal(th_sh("ip link set %s up", veth_a), 0);
}

static int peer_open_fn(void *arg)
{
	int *fd = arg;

	*fd = th_raw_socket(veth_b, false);
	return *fd < 0 ? *fd : 0;
}

static int veth_peer(void)
{
	int fd = -1;

	assert_int_equal(th_in_netns(ns, peer_open_fn, &fd), 0);
	return fd;
}

static void veth_case(const char *type)
{
	struct vsw_port_opt opt = {"ifname", veth_a};
	struct peer p = {.fd = -1};
	struct port_state s;
	struct env e;
	char err[256];
	uint64_t g;
	int ret;

	veth_make();
	env_init(&e);
	ret = vsw_switch_add_port(e.sw, "br0", "p", type, &opt, 1, err,
				  sizeof(err));
	if (ret < 0)
		fprintf(stderr, "add_port %s: %s\n", type, err);
	assert_int_equal(ret, 0);
	env_start(&e);
	s = wait_state(&e, true, 1, 3000);
	fprintf(stderr, "%s status: %s\n", type, s.status);
	p.fd = veth_peer();
	traffic_both_ways(&e, &p, 1);
	/* the peer holds its namespace alive: let go of it first */
	close(p.fd);

	inj_start(&e);
	usleep(100000);
	assert_true(inj_got(&e) > 0);
	/*
	 * Taken down first: the link follows, the queue stays, and the
	 * ENETDOWN the kernel leaves in the socket (POLLERR until read) does
	 * not wake the data threads in a loop.
	 */
	assert_int_equal(th_sh("ip link set %s down", veth_a), 0);
	s = wait_state(&e, false, 1, 3000);
	assert_null(strstr(s.status, "interface gone"));
	assert_gone_quiet(&e, "interface down");
	assert_int_equal(th_sh("ip link set %s up", veth_a), 0);
	wait_state(&e, true, 1, 3000);

	assert_int_equal(th_sh("ip netns del %s", ns), 0);
	/* namespaces die asynchronously (and the veth pair with them) */
	s = wait_state(&e, false, 0, 10000);
	fprintf(stderr, "%s status while gone: %s\n", type, s.status);
	assert_non_null(strstr(s.status, "interface gone"));
	g = inj_got(&e);
	assert_gone_quiet(&e, type);
	assert_true(inj_got(&e) > g);
	/* logged once, no error per packet or per burst */
	assert_int_equal(log_count(&e, "is gone"), 1);
	assert_int_equal(log_count(&e, "afpacket send"), 0);
	assert_int_equal(log_count(&e, "afxdp kick"), 0);
	s = port_state(&e);
	assert_false(s.link);
	assert_int_equal(s.n_rxq, 0);

	/* the same names again: the port attaches by itself */
	veth_make();
	s = wait_state(&e, true, 1, 5000);
	fprintf(stderr, "%s status when back: %s\n", type, s.status);
	assert_null(strstr(s.status, "interface gone"));
	assert_int_equal(log_count(&e, "is back"), 1);
	inj_stop(&e);
	p.fd = veth_peer();
	traffic_both_ways(&e, &p, 10);
	close(p.fd);
	env_fini(&e);
	assert_int_equal(th_sh("ip netns del %s", ns), 0);
}

static void test_afpacket_gone(void **state)
{
	(void)state;
	veth_case("afpacket");
}

static void test_afxdp_gone(void **state)
{
	(void)state;
	veth_case("afxdp");
}

/* ---- tap: deleted from outside with ip link del ---- */

static char tap[16];

static int tap_peer_fn(void *arg)
{
	int *fd = arg;

	*fd = th_raw_socket(tap, false);
	return *fd < 0 ? *fd : 0;
}

static void test_tap_gone(void **state)
{
	char err[256];
	struct vsw_port_opt opt = {"ifname", tap};
	struct peer p = {.fd = -1};
	struct port_state s;
	struct env e;

	(void)state;
	snprintf(tap, sizeof(tap), "vgt%d", (int)getpid() % 100000);
	env_init(&e);
	assert_int_equal(vsw_switch_add_port(e.sw, "br0", "p", "tap", &opt, 1,
					     err, sizeof(err)),
			 0);
	env_start(&e);
	wait_state(&e, true, 1, 3000);
	/* the host side of a TAP: a raw socket on its interface */
	p.fd = th_raw_socket(tap, false);
	assert_true(p.fd >= 0);
	traffic_both_ways(&e, &p, 20);
	close(p.fd);

	/*
	 * Moved into another namespace (RTM_DELLINK here) it is not gone:
	 * the TAP keeps working there, and after it came back.
	 */
	assert_int_equal(th_sh("ip netns add %s", ns), 0);
	assert_int_equal(th_sh("ip link set %s netns %s", tap, ns), 0);
	assert_int_equal(th_sh("ip -n %s link set %s up", ns, tap), 0);
	usleep(300000);
	s = wait_state(&e, true, 1, 100);
	assert_int_equal(log_count(&e, "is gone"), 0);
	assert_int_equal(log_count(&e, "left this network namespace"), 1);
	assert_int_equal(th_in_netns(ns, tap_peer_fn, &p.fd), 0);
	traffic_both_ways(&e, &p, 25);
	close(p.fd);
	assert_int_equal(th_sh("ip -n %s link set %s netns %d", ns, tap,
			       (int)getpid()),
			 0);
	assert_int_equal(th_sh("ip link set %s up", tap), 0);
	assert_int_equal(th_sh("ip netns del %s", ns), 0);
	wait_state(&e, true, 1, 100);

	inj_start(&e);
	usleep(100000);
	/*
	 * Deleted, and the name taken at once by an interface that is no
	 * TAP (a veth), so that the port cannot simply create it again yet.
	 */
	assert_int_equal(th_sh("ip link del %s && "
			       "ip link add %s type veth peer name %sp",
			       tap, tap, tap),
			 0);
	s = wait_state(&e, false, 0, 5000);
	fprintf(stderr, "tap status while gone: %s\n", s.status);
	assert_non_null(strstr(s.status, "interface gone"));
	assert_gone_quiet(&e, "tap");
	assert_int_equal(log_count(&e, "is gone"), 1);
	assert_int_equal(log_count(&e, "tap read"), 0);
	assert_int_equal(log_count(&e, "tap write"), 0);
	/* tried, failed, said why once */
	s = port_state(&e);
	assert_non_null(strstr(s.status, "TUNSETIFF"));
	assert_int_equal(log_count(&e, "cannot get tap interface"), 1);

	/* the name is free again: the port creates its TAP by itself */
	assert_int_equal(th_sh("ip link del %s", tap), 0); /* and its peer */
	s = wait_state(&e, true, 1, 5000);
	assert_null(strstr(s.status, "interface gone"));
	assert_int_equal(log_count(&e, "is back"), 1);
	inj_stop(&e);
	p.fd = th_raw_socket(tap, false);
	assert_true(p.fd >= 0);
	traffic_both_ways(&e, &p, 30);
	close(p.fd);
	env_fini(&e);
}

/* ---- vhostuser / vhostuserclient: the front-end vanishes ---- */

static struct vsw_pkt_pool *pool_new(void)
{
	const struct vsw_pkt_pool_config pc = {.n_small = 1024, .n_large = 8};
	struct vsw_pkt_pool *pool;

	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	return pool;
}

static struct vsw_vufe *fe_new(const char *path, bool server)
{
	struct vsw_vufe_config fc = {0};
	struct vsw_vufe *fe;

	fc.path = path;
	fc.server = server;
	fc.timeout_ms = 10000; /* a client port's backoff reaches 5 s */
	fc.features = VSW_VUFE_BIT(VIRTIO_F_VERSION_1) |
		      VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF);
	fc.queue_pairs = 1;
	assert_int_equal(vsw_vufe_create(&fc, &fe), 0);
	return fe;
}

static void fe_connect(struct vsw_vufe *fe, struct vsw_pkt_pool *pool)
{
	int n = vsw_vufe_connect(fe);

	if (n < 0)
		fprintf(stderr, "connect: %s\n", vsw_vufe_error(fe));
	assert_int_equal(n, 0);
	assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
}

struct fe_thread {
	struct vsw_vufe *fe;
	struct vsw_pkt_pool *pool;
	int ret;
};

/* A listening front-end's connect (accept and set-up), in a thread. */
static void *fe_connect_main(void *arg)
{
	struct fe_thread *t = arg;

	t->ret = vsw_vufe_connect(t->fe);
	if (t->ret < 0)
		fprintf(stderr, "connect: %s\n", vsw_vufe_error(t->fe));
	else
		t->ret = vsw_vufe_set_pool(t->fe, 0, t->pool);
	return NULL;
}

static void vhu_case(bool client)
{
	char dir[] = "/tmp/vsw-pgt-XXXXXX", path[160], err[256];
	struct vsw_port_opt opt;
	struct peer p = {.fd = -1};
	struct fe_thread ft = {0};
	struct port_state s;
	pthread_t thr;
	struct stat st;
	struct env e;
	unsigned i;
	int ret;

	assert_non_null(mkdtemp(dir));
	p.pool = pool_new();
	env_init(&e);
	if (client) {
		/* the front-end listens first (QEMU server=on) */
		snprintf(path, sizeof(path), "%s/fe.sock", dir);
		ft.fe = fe_new(path, true);
		ft.pool = p.pool;
		assert_int_equal(
			pthread_create(&thr, NULL, fe_connect_main, &ft), 0);
		for (i = 0; i < 3000 && stat(path, &st) != 0; i++)
			usleep(1000);
		opt = (struct vsw_port_opt){"path", path};
	} else {
		snprintf(path, sizeof(path), "%s/p.sock", dir);
		opt = (struct vsw_port_opt){"run_dir", dir};
	}
	ret = vsw_switch_add_port(e.sw, "br0", "p",
				  client ? "vhostuserclient" : "vhostuser",
				  &opt, 1, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "add_port: %s\n", err);
	assert_int_equal(ret, 0);
	env_start(&e);
	if (client) {
		pthread_join(thr, NULL);
		assert_int_equal(ft.ret, 0);
		p.fe = ft.fe;
	} else {
		p.fe = fe_new(path, false);
		fe_connect(p.fe, p.pool);
	}
	s = wait_state(&e, true, 1, 3000);
	fprintf(stderr, "status: %s\n", s.status);
	traffic_both_ways(&e, &p, 40);

	inj_start(&e);
	usleep(100000);
	/* the front-end vanishes: its socket closes, as when QEMU dies */
	vsw_vufe_destroy(p.fe);
	p.fe = NULL;
	s = wait_state(&e, false, -1, 3000);
	fprintf(stderr, "status while gone: %s\n", s.status);
	assert_non_null(strstr(s.status, "peer gone"));
	assert_gone_quiet(&e, client ? "vhostuserclient" : "vhostuser");
	assert_int_equal(log_count(&e, "link down"), 1);

	/* a new front-end: accepted (server) or reconnected to (client) */
	p.fe = fe_new(path, client);
	fe_connect(p.fe, p.pool);
	s = wait_state(&e, true, 1, 3000);
	assert_null(strstr(s.status, "peer gone"));
	assert_non_null(strstr(s.status, "connected"));
	inj_stop(&e);
	traffic_both_ways(&e, &p, 50);
	vsw_vufe_destroy(p.fe);
	env_fini(&e);
	vsw_pkt_pool_destroy(p.pool);
	(void)unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_vhostuser_gone(void **state)
{
	(void)state;
	vhu_case(false);
}

static void test_vhostuserclient_gone(void **state)
{
	(void)state;
	vhu_case(true);
}

static void cleanup(void)
{
	(void)th_sh("ip netns del %s 2>/dev/null || true", ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_afpacket_gone),
		cmocka_unit_test(test_afxdp_gone),
		cmocka_unit_test(test_tap_gone),
		cmocka_unit_test(test_vhostuser_gone),
		cmocka_unit_test(test_vhostuserclient_gone),
	};

	if (geteuid() != 0) {
		fprintf(stderr,
			"needs root (namespaces, veth, TAP): skipped\n");
		return 77;
	}
	/* interfaces of our own, whatever else runs on the machine */
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	snprintf(ns, sizeof(ns), "vsw-gone-%d", (int)getpid());
	snprintf(veth_a, sizeof(veth_a), "vga%d", (int)getpid() % 100000);
	snprintf(veth_b, sizeof(veth_b), "vgb%d", (int)getpid() % 100000);
	atexit(cleanup);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
