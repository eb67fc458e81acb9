/* SPDX-License-Identifier: MIT */
/*
 * Providers inside the real switch (two data threads that go to sleep when
 * idle): a vhostuser port with vsw's front-end as the guest and a dummy
 * port on one bridge. Frames flood both ways; the vhostuser port's
 * pause / quiesce handover runs against real data threads while the guest
 * connects, sets its queue pairs and disconnects. And idle sleep with a
 * vhostuser port: the data threads sleep (little CPU, few wake-ups) with
 * no guest and with an idle guest, and a guest kick wakes them.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vsw/switch.h>
#include <vsw/vhost_user_fe.h>

struct loop {
	struct vsw_switch *sw;
	pthread_t thr;
	int stop;
};

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	struct pollfd fds[16];
	unsigned n;
	int t;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		n = vsw_switch_pollfds(l->sw, fds, 16);
		if (n > 16)
			n = 16;
		t = vsw_switch_timeout_ms(l->sw);
		if (t < 0 || t > 20)
			t = 20;
		(void)poll(fds, n, t);
		vsw_switch_handle(l->sw, fds, n);
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void frame(uint8_t *b, size_t len, unsigned seed)
{
	size_t i;

	memset(b, 0xff, 6); /* broadcast: flooded */
	b[6] = 0x02;
	b[7] = 0;
	b[8] = 0;
	b[9] = 0;
	b[10] = (uint8_t)seed;
	b[11] = 1;
	b[12] = 0x88;
	b[13] = 0xb5;
	for (i = 14; i < len; i++)
		b[i] = (uint8_t)(seed + i);
}

static void test_switch_vhostuser_dummy(void **state)
{
	char dir[] = "/tmp/vsw-swt-XXXXXX", path[128], err[256];
	struct vsw_port_opt vopts[2] = {{"run_dir", dir}, {"queues", "2"}};
	const struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 8};
	struct vsw_switch_config cfg = {.n_threads = 2, .idle_polls = 10};
	struct vsw_vufe_config fc = {0};
	struct vsw_pkt_pool *pool;
	struct vsw_port *dummy;
	struct vsw_pkt *pkts[32];
	struct vsw_port_stats ps, ps0;
	struct vsw_vufe *fe;
	uint8_t f[1500], buf[2048];
	struct loop l = {0};
	unsigned i, got;
	uint64_t end;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	assert_int_equal(vsw_switch_create(&cfg, &l.sw), 0);
	assert_int_equal(vsw_switch_add_bridge(l.sw, "br0", err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_add_port(l.sw, "br0", "d0", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	n = vsw_switch_add_port(l.sw, "br0", "v0", "vhostuser", vopts, 2, err,
				sizeof(err));
	if (n < 0)
		fprintf(stderr, "add_port: %s\n", err);
	assert_int_equal(n, 0);
	dummy = vsw_switch_port_find(l.sw, "d0");
	assert_non_null(dummy);
	assert_int_equal(pthread_create(&l.thr, NULL, loop_main, &l), 0);

	snprintf(path, sizeof(path), "%s/v0.sock", dir);
	fc.path = path;
	fc.features = VSW_VUFE_BIT(VIRTIO_F_VERSION_1) |
		      VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		      VSW_VUFE_BIT(VIRTIO_NET_F_MQ) |
		      VSW_VUFE_BIT(VIRTIO_NET_F_CTRL_VQ);
	fc.queue_pairs = 2;
	assert_int_equal(vsw_vufe_create(&fc, &fe), 0);
	n = vsw_vufe_connect(fe);
	if (n < 0)
		fprintf(stderr, "connect: %s\n", vsw_vufe_error(fe));
	assert_int_equal(n, 0);
	assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
	assert_int_equal(vsw_vufe_set_pool(fe, 1, pool), 0);
	/* give the link a moment to come up (control thread) */
	end = now_ms() + 3000;
	while (now_ms() < end &&
	       vsw_switch_port_stats(l.sw, "v0", &ps) == 0) {
		if (vsw_port_link(vsw_switch_port_find(l.sw, "v0")))
			break;
		usleep(1000);
	}
	assert_true(vsw_port_link(vsw_switch_port_find(l.sw, "v0")));
	/*
	 * Link up comes before the port's queues are remapped for the
	 * negotiated pairs; a frame sent in between is dropped, as by a NIC
	 * coming up. Probe until one gets through, then drain the probes.
	 */
	frame(f, 90, 0xee);
	end = now_ms() + 3000;
	for (got = 0; got == 0 && now_ms() < end;) {
		(void)vsw_port_dummy_inject(dummy, 0, f, 90, NULL);
		usleep(2000);
		n = vsw_vufe_rx_burst(fe, 0, pkts, 32);
		assert_true(n >= 0);
		got = (unsigned)n;
		vsw_pkt_free_burst(pkts, (unsigned)n);
	}
	assert_true(got > 0);
	for (i = 0; i < 20; i++) {
		usleep(2000);
		n = vsw_vufe_rx_burst(fe, 0, pkts, 32);
		assert_true(n >= 0);
		for (got = 0; got < (unsigned)n; got++)
			assert_int_equal(pkts[got]->len, 90);
		vsw_pkt_free_burst(pkts, (unsigned)n);
		if (n > 0)
			i = 0; /* until 40 ms without a probe */
	}
	/* counted from here: what the probes did is not the test's */
	assert_int_equal(vsw_switch_port_stats(l.sw, "v0", &ps0), 0);

	/* dummy -> guest: 20 frames, all on pair 0's receiveq */
	for (i = 0; i < 20; i++) {
		frame(f, 60 + i * 50, i);
		while (vsw_port_dummy_inject(dummy, 0, f, 60 + i * 50, NULL) ==
		       -ENOSPC)
			usleep(100);
	}
	got = 0;
	end = now_ms() + 3000;
	while (got < 20 && now_ms() < end) {
		n = vsw_vufe_rx_burst(fe, 0, pkts, 32);
		assert_true(n >= 0);
		for (i = 0; i < (unsigned)n; i++, got++) {
			frame(f, 60 + got * 50, got);
			assert_int_equal(pkts[i]->len, 60 + got * 50);
			assert_memory_equal(vsw_pkt_data(pkts[i]), f,
					    pkts[i]->len);
		}
		vsw_pkt_free_burst(pkts, (unsigned)n);
		if (n == 0)
			usleep(500);
	}
	assert_int_equal(got, 20);

	/* guest -> dummy on both pairs (the data threads sleep in between) */
	for (i = 0; i < 10; i++) {
		usleep(i == 5 ? 50000 : 0);
		pkts[0] = vsw_pkt_alloc_len(pool, 200);
		assert_non_null(pkts[0]);
		frame(vsw_pkt_data(pkts[0]), 200, 100 + i);
		pkts[0]->len = 200;
		assert_int_equal(vsw_vufe_tx_burst(fe, i & 1, pkts, 1), 1);
	}
	got = 0;
	end = now_ms() + 3000;
	while (got < 10 && now_ms() < end) {
		n = vsw_port_dummy_collect(dummy, buf, sizeof(buf), NULL, NULL);
		if (n == -EAGAIN) {
			usleep(500);
			continue;
		}
		assert_int_equal(n, 200);
		got++;
	}
	assert_int_equal(got, 10);

	vsw_vufe_destroy(fe);
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
	pthread_join(l.thr, NULL);
	assert_int_equal(vsw_switch_port_stats(l.sw, "v0", &ps), 0);
	assert_int_equal(ps.rx.packets - ps0.rx.packets, 10);
	assert_int_equal(ps.tx.packets - ps0.tx.packets, 20);
	assert_int_equal(vsw_switch_del_port(l.sw, "v0", err, sizeof(err)), 0);
	vsw_switch_destroy(l.sw);
	vsw_pkt_pool_destroy(pool);
	assert_int_equal(rmdir(dir), 0);
}

/* CPU time of the whole process (every thread), in ms. */
static uint64_t cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sum of the data threads' sleep and control wake-up counters. */
static void pmd_sums(struct vsw_switch *sw, uint64_t *sleeps, uint64_t *ctl)
{
	struct vsw_pmd_stats st;
	unsigned i;

	*sleeps = *ctl = 0;
	for (i = 0; i < vsw_switch_n_threads(sw); i++) {
		assert_int_equal(vsw_switch_pmd_stats(sw, i, &st), 0);
		*sleeps += st.sleeps;
		*ctl += st.wakeups_ctl;
	}
}

/*
 * Idle for 1.5 s: the process (two data threads, the control loop, this
 * thread asleep) uses well under a quarter of one CPU even under
 * sanitizers; a thread polling a vhostuser rxq would use a whole one.
 */
static void assert_idle(struct vsw_switch *sw, const char *what)
{
	uint64_t s0, s1, c0, c1, t0, cpu0, cpu;

	usleep(200000); /* let the threads run out of idle polls */
	pmd_sums(sw, &s0, &c0);
	t0 = now_ms();
	cpu0 = cpu_ms();
	usleep(1500000);
	cpu = cpu_ms() - cpu0;
	t0 = now_ms() - t0;
	pmd_sums(sw, &s1, &c1);
	if (cpu * 4 >= t0)
		fprintf(stderr, "%s: %llu ms CPU in %llu ms\n", what,
			(unsigned long long)cpu, (unsigned long long)t0);
	assert_true(cpu * 4 < t0);
	/* asleep, not woken in a loop (the loop thread wakes none) */
	assert_true(s1 - s0 < 100);
}

static struct vsw_vufe *guest_connect(struct vsw_switch *sw, const char *path,
				      struct vsw_pkt_pool *pool)
{
	struct vsw_vufe_config fc = {0};
	struct vsw_vufe *fe;
	uint64_t end;
	int n;

	fc.path = path;
	fc.features = VSW_VUFE_BIT(VIRTIO_F_VERSION_1) |
		      VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF);
	fc.queue_pairs = 1;
	assert_int_equal(vsw_vufe_create(&fc, &fe), 0);
	n = vsw_vufe_connect(fe);
	if (n < 0)
		fprintf(stderr, "connect: %s\n", vsw_vufe_error(fe));
	assert_int_equal(n, 0);
	assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
	end = now_ms() + 3000;
	while (now_ms() < end && !vsw_port_link(vsw_switch_port_find(sw, "v0")))
		usleep(1000);
	assert_true(vsw_port_link(vsw_switch_port_find(sw, "v0")));
	return fe;
}

/*
 * Guest -> dummy, n frames one by one, each awaited before the next; a
 * pause of 30 ms (the threads fall asleep) before every tenth.
 */
static void guest_frames(struct vsw_vufe *fe, struct vsw_port *dummy,
			 struct vsw_pkt_pool *pool, unsigned n, unsigned seed)
{
	struct vsw_pkt *pkt;
	uint8_t f[256], buf[2048];
	unsigned i;
	uint64_t end;
	int len;

	for (i = 0; i < n; i++) {
		if (i % 10 == 0)
			usleep(30000);
		pkt = vsw_pkt_alloc_len(pool, 200);
		assert_non_null(pkt);
		frame(vsw_pkt_data(pkt), 200, seed + i);
		pkt->len = 200;
		assert_int_equal(vsw_vufe_tx_burst(fe, 0, &pkt, 1), 1);
		frame(f, 200, seed + i);
		end = now_ms() + 2000;
		do {
			len = vsw_port_dummy_collect(dummy, buf, sizeof(buf),
						     NULL, NULL);
			if (len == -EAGAIN)
				usleep(50);
		} while (len == -EAGAIN && now_ms() < end);
		if (len != 200)
			fprintf(stderr, "frame %u: %d\n", i, len);
		assert_int_equal(len, 200);
		assert_memory_equal(buf, f, 200);
	}
}

static void test_switch_vhostuser_sleep(void **state)
{
	char dir[] = "/tmp/vsw-swt-XXXXXX", path[128], err[256];
	struct vsw_port_opt vopts[1] = {{"run_dir", dir}};
	const struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 8};
	struct vsw_switch_config cfg = {.n_threads = 2, .idle_polls = 10};
	struct vsw_pkt_pool *pool;
	struct vsw_port *dummy;
	struct vsw_port_stats ps;
	struct vsw_vufe *fe;
	struct loop l = {0};
	uint64_t s0, s1, c0, c1;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v0.sock", dir);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	assert_int_equal(vsw_switch_create(&cfg, &l.sw), 0);
	assert_int_equal(vsw_switch_add_bridge(l.sw, "br0", err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_add_port(l.sw, "br0", "d0", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	n = vsw_switch_add_port(l.sw, "br0", "v0", "vhostuser", vopts, 1, err,
				sizeof(err));
	if (n < 0)
		fprintf(stderr, "add_port: %s\n", err);
	assert_int_equal(n, 0);
	dummy = vsw_switch_port_find(l.sw, "d0");
	assert_non_null(dummy);
	assert_int_equal(pthread_create(&l.thr, NULL, loop_main, &l), 0);

	/* no guest: the rxq's thread sleeps on a fd nobody writes */
	assert_false(vsw_port_link(vsw_switch_port_find(l.sw, "v0")));
	assert_idle(l.sw, "no guest");

	/* a guest connects (the control steps wake the sleeping threads) */
	fe = guest_connect(l.sw, path, pool);
	assert_idle(l.sw, "idle guest");

	/* its kicks wake the thread: 100 frames, all delivered */
	pmd_sums(l.sw, &s0, &c0);
	guest_frames(fe, dummy, pool, 100, 0);
	pmd_sums(l.sw, &s1, &c1);
	/*
	 * Asleep before each tenth frame, woken by the kick, not the switch:
	 * the pauses before frames 10, 20, ... 90 each start a sleep after
	 * s0 (before frame 0 the threads were asleep already, counted before
	 * s0). Between the frames of a run the adaptive spin keeps the
	 * thread awake, so 9 is what a correct switch may show.
	 */
	if ((s1 - s0) - (c1 - c0) < 9)
		fprintf(stderr, "sleeps %llu, woken by the control thread %llu\n",
			(unsigned long long)(s1 - s0),
			(unsigned long long)(c1 - c0));
	assert_true((s1 - s0) - (c1 - c0) >= 9);
	assert_idle(l.sw, "idle guest after traffic");

	/* the guest goes away: still asleep; it comes back: traffic again */
	vsw_vufe_destroy(fe);
	n = 0;
	while (n++ < 3000 && vsw_port_link(vsw_switch_port_find(l.sw, "v0")))
		usleep(1000);
	assert_false(vsw_port_link(vsw_switch_port_find(l.sw, "v0")));
	assert_idle(l.sw, "guest gone");
	fe = guest_connect(l.sw, path, pool);
	guest_frames(fe, dummy, pool, 20, 100);
	assert_idle(l.sw, "second guest idle");
	vsw_vufe_destroy(fe);

	__atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
	pthread_join(l.thr, NULL);
	assert_int_equal(vsw_switch_port_stats(l.sw, "v0", &ps), 0);
	assert_int_equal(ps.rx.packets, 120);
	assert_int_equal(vsw_switch_del_port(l.sw, "v0", err, sizeof(err)), 0);
	vsw_switch_destroy(l.sw);
	vsw_pkt_pool_destroy(pool);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch_vhostuser_dummy),
		cmocka_unit_test(test_switch_vhostuser_sleep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
