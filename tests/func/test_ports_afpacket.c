/* SPDX-License-Identifier: MIT */
/*
 * afpacket and afxdp providers on a veth pair: one end (vswa<pid>) in this
 * namespace carries the port, the other (vswb<pid>) sits in a namespace of
 * its own (vsw-test-<pid>) with a raw socket as the peer. Frames both ways
 * byte-exact, VLAN tags kept, our own transmissions not read back, GSO
 * metadata passed through (afpacket), the AF_XDP fallback; an interface
 * deleted and made again when no rtnetlink socket can be had (the
 * by-name look-up of lib/ports/gone.c). Needs root.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/seccomp.h>

#include <cmocka.h>

#include "test_ports_harness.h"

#define ET_TEST 0x88b5 /* IEEE local experimental */

static char ns[64], host_if[16], peer_if[16];
static bool env_ready;

static const uint8_t mac_port[6] = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x01};
static const uint8_t mac_peer[6] = {0x02, 0x00, 0x00, 0x00, 0xbb, 0x02};

static void env_cleanup(void)
{
	if (!env_ready)
		return;
	/* deleting the namespace destroys its veth end and so the pair */
	(void)th_sh("ip netns del %s 2>/dev/null", ns);
	(void)th_sh("ip link del %s 2>/dev/null || true", host_if);
	env_ready = false;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(ns, sizeof(ns), "vsw-test-%d", (int)getpid());
	snprintf(host_if, sizeof(host_if), "vswa%d", (int)getpid() % 100000);
	snprintf(peer_if, sizeof(peer_if), "vswb%d", (int)getpid() % 100000);
	env_ready = true;
	atexit(env_cleanup);
	if (th_sh("ip netns add %s", ns) != 0 ||
	    th_sh("ip link add %s type veth peer name %s", host_if,
		  peer_if) != 0 ||
	    th_sh("ip link set %s netns %s", peer_if, ns) != 0 ||
	    th_sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", host_if) ||
	    th_sh("ip netns exec %s sysctl -qw "
		  "net.ipv6.conf.%s.disable_ipv6=1",
		  ns, peer_if) != 0 ||
	    th_sh("ip link set %s up", host_if) != 0 ||
	    th_sh("ip -n %s link set %s up", ns, peer_if) != 0) {
		env_cleanup();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	env_cleanup();
	return 0;
}

struct peer_args {
	bool vnet;
	int fd;
};

static int peer_open_fn(void *arg)
{
	struct peer_args *a = arg;

	a->fd = th_raw_socket(peer_if, a->vnet);
	return a->fd < 0 ? a->fd : 0;
}

static int peer_open(bool vnet)
{
	struct peer_args a = {.vnet = vnet, .fd = -1};

	assert_int_equal(th_in_netns(ns, peer_open_fn, &a), 0);
	return a.fd;
}

/* Receive frames of the port until one with ethertype et (or the VLAN
 * tag) arrives; NULL after ms. */
static struct vsw_pkt *port_wait(struct vsw_port *port,
				 struct vsw_pkt_pool *pool, uint16_t et,
				 int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	struct vsw_pkt *pkts[VSW_PORT_BURST], *hit = NULL;
	unsigned n, i;

	while (hit == NULL && th_now_ms() < end) {
		n = th_port_recv(port, 0, pool, pkts, VSW_PORT_BURST);
		for (i = 0; i < n; i++) {
			const uint8_t *d = vsw_pkt_data(pkts[i]);

			if (hit == NULL && pkts[i]->len >= 14 &&
			    (d[12] << 8 | d[13]) == et) {
				hit = pkts[i];
				continue;
			}
			vsw_pkt_free(pkts[i]);
		}
		if (n == 0)
			usleep(200);
	}
	return hit;
}

/* Read frames on fd until one with ethertype et; its length or -1. */
static ssize_t peer_wait(int fd, uint8_t *buf, size_t cap, size_t skip,
			 uint16_t et, int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	ssize_t r;

	while (th_now_ms() < end) {
		if (th_wait_readable(fd, 50) <= 0)
			continue;
		r = recv(fd, buf, cap, MSG_DONTWAIT);
		if (r < (ssize_t)(skip + 14))
			continue;
		if ((buf[skip + 12] << 8 | buf[skip + 13]) == et)
			return r;
	}
	return -1;
}

static struct vsw_pkt_pool *pool_new(void)
{
	const struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 16};
	struct vsw_pkt_pool *pool;

	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	return pool;
}

/* Frames both ways, byte-exact, with a VLAN tag, no echo of our own. */
static void frames_both_ways(struct vsw_port *port, struct vsw_pkt_pool *pool)
{
	static const size_t sizes[] = {46, 100, 1000, 1500};
	uint8_t frame[2048], buf[2048];
	struct vsw_pkt *p, *out[4];
	unsigned i;
	ssize_t r;
	size_t len;
	int fd = peer_open(false);

	/* peer -> port */
	for (i = 0; i < 4; i++) {
		len = th_frame(frame, mac_port, mac_peer, ET_TEST, sizes[i], i);
		assert_int_equal(send(fd, frame, len, 0), (ssize_t)len);
		p = port_wait(port, pool, ET_TEST, 2000);
		assert_non_null(p);
		assert_int_equal(p->len, len);
		assert_memory_equal(vsw_pkt_data(p), frame, len);
		assert_int_equal(p->in_port, 1);
		vsw_pkt_free(p);
	}
	/* a tagged frame keeps its tag (the kernel strips it to metadata) */
	len = th_frame(frame, mac_port, mac_peer, ETH_P_8021Q, 200, 9);
	frame[14] = 0x20; /* PCP 1, VID 100 */
	frame[15] = 100;
	frame[16] = ET_TEST >> 8;
	frame[17] = ET_TEST & 0xff;
	assert_int_equal(send(fd, frame, len, 0), (ssize_t)len);
	p = port_wait(port, pool, ETH_P_8021Q, 2000);
	assert_non_null(p);
	assert_int_equal(p->len, len);
	assert_memory_equal(vsw_pkt_data(p), frame, len);
	vsw_pkt_free(p);

	/* port -> peer, one burst */
	for (i = 0; i < 4; i++) {
		out[i] = vsw_pkt_alloc_len(pool, 1600);
		assert_non_null(out[i]);
		out[i]->len = (uint32_t)th_frame(vsw_pkt_data(out[i]), mac_peer,
						 mac_port, ET_TEST, sizes[i],
						 100 + i);
	}
	assert_int_equal(th_port_send(port, 0, out, 4), 4);
	for (i = 0; i < 4; i++) {
		r = peer_wait(fd, buf, sizeof(buf), 0, ET_TEST, 2000);
		assert_int_equal(r, (ssize_t)out[i]->len);
		assert_memory_equal(buf, vsw_pkt_data(out[i]), out[i]->len);
	}
	vsw_pkt_free_burst(out, 4);
	/* what we sent is not read back by the port */
	assert_null(port_wait(port, pool, ET_TEST, 100));
	assert_int_equal(th_port_drops(port, false, VSW_DROP_BAD_FRAME), 0);
	assert_int_equal(th_port_drops(port, false, VSW_DROP_RX_NOMEM), 0);
	assert_int_equal(th_port_drops(port, true, VSW_DROP_TX_ERROR), 0);
	close(fd);
}

static void test_afpacket_frames(void **state)
{
	struct vsw_port_opt opt = {"ifname", host_if};
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_port *port;
	char err[256];
	int ret;

	(void)state;
	port = th_port_open(&vsw_port_afpacket_ops, "afp0", &opt, 1, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	assert_int_equal(ret, 0);
	frames_both_ways(port, pool);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

/* GSO metadata crosses AF_PACKET both ways (PACKET_VNET_HDR). */
static void test_afpacket_gso(void **state)
{
	struct vsw_port_opt opt = {"ifname", host_if};
	struct vsw_pkt_pool *pool = pool_new();
	struct virtio_net_hdr_v1 h;
	struct virtio_net_hdr vh;
	static uint8_t frame[8192], buf[8192 + 10];
	struct vsw_pkt *p;
	struct vsw_port *port;
	char err[256];
	size_t len;
	ssize_t r;
	int ret, fd;

	(void)state;
	port = th_port_open(&vsw_port_afpacket_ops, "afp0", &opt, 1, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	fd = peer_open(true);

	/* port -> peer: one 4000-byte TSO frame, mss 1000 */
	p = vsw_pkt_alloc_len(pool, 5000);
	assert_non_null(p);
	p->len = (uint32_t)th_tcp4_frame(vsw_pkt_data(p), mac_peer, mac_port,
					 0x0a000001, 0x0a000002, 4000, 3, 1000,
					 &p->vnet);
	assert_int_equal(th_port_send(port, 0, &p, 1), 1);
	r = peer_wait(fd, buf, sizeof(buf), 10, ETH_P_IP, 2000);
	assert_int_equal(r, (ssize_t)(10 + p->len));
	memcpy(&vh, buf, sizeof(vh));
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, 1000);
	/* the payload went through untouched */
	assert_memory_equal(buf + 10 + 54, vsw_pkt_data(p) + 54, 4000);
	vsw_pkt_free(p);

	/* peer -> port: the same with the peer's vnet header */
	len = th_tcp4_frame(frame, mac_port, mac_peer, 0x0a000002, 0x0a000001,
			    3000, 4, 1200, &h);
	memset(&vh, 0, sizeof(vh));
	vh.flags = h.flags;
	vh.gso_type = h.gso_type;
	vh.gso_size = h.gso_size;
	vh.hdr_len = h.hdr_len;
	vh.csum_start = h.csum_start;
	vh.csum_offset = h.csum_offset;
	memcpy(buf, &vh, sizeof(vh));
	memcpy(buf + 10, frame, len);
	assert_int_equal(send(fd, buf, 10 + len, 0), (ssize_t)(10 + len));
	p = port_wait(port, pool, ETH_P_IP, 2000);
	assert_non_null(p);
	assert_int_equal(p->len, len);
	assert_int_equal(p->vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(p->vnet.gso_size, 1200);
	assert_true(p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(p->vnet.csum_start, 34);
	assert_int_equal(p->vnet.csum_offset, 16);
	assert_memory_equal(vsw_pkt_data(p) + 54, frame + 54, 3000);
	vsw_pkt_free(p);
	close(fd);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

static void test_afpacket_options(void **state)
{
	struct vsw_port_opt bad = {"ifnam", host_if};
	struct vsw_port_opt none = {"ifname", "vsw-no-such0"};
	struct vsw_port *port;
	char err[256];
	int ret;

	(void)state;
	port = th_port_open(&vsw_port_afpacket_ops, "afp0", &bad, 1, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "'ifnam'"));
	port = th_port_open(&vsw_port_afpacket_ops, "afp0", NULL, 0, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "ifname"));
	port = th_port_open(&vsw_port_afpacket_ops, "afp0", &none, 1, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -ENODEV);
	assert_non_null(strstr(err, "vsw-no-such0"));
}

/*
 * afxdp on queue 0: AF_XDP or the afpacket fallback, whichever this
 * kernel and build allow; frames must flow either way and the outcome is
 * visible in the log and status.
 */
static int afxdp_mode = -1; /* first outcome: 1 fallback, 0 AF_XDP */

static void test_afxdp_auto(void **state)
{
	struct vsw_port_opt opt = {"ifname", host_if};
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_port *port;
	char err[256], st[160];
	bool fell_back;
	int ret;

	(void)state;
	port = th_port_open(&vsw_port_afxdp_ops, "xdp0", &opt, 1, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	fell_back = th_port_logged(port, "falling back to afpacket");
	vsw_port_afxdp_ops.status(port, st, sizeof(st));
	fprintf(stderr, "afxdp status: %s\n", st);
	assert_int_equal(fell_back, strstr(st, "fallback") != NULL);
	assert_true(fell_back || th_port_logged(port, "copy mode"));
	/* the same machine gives the same outcome on every open */
	if (afxdp_mode < 0)
		afxdp_mode = fell_back;
	assert_int_equal(afxdp_mode, fell_back);
	frames_both_ways(port, pool);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

/*
 * A queue the veth does not have: AF_XDP must refuse it, and the port
 * falls back to afpacket, says why, and still moves frames.
 */
static void test_afxdp_fallback(void **state)
{
	struct vsw_port_opt opts[] = {{"ifname", host_if}, {"queue", "7"}};
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_port *port;
	char err[256], st[160];
	int ret;

	(void)state;
	port = th_port_open(&vsw_port_afxdp_ops, "xdp1", opts, 2, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	assert_true(th_port_logged(port, "falling back to afpacket"));
	vsw_port_afxdp_ops.status(port, st, sizeof(st));
	assert_non_null(strstr(st, "afpacket fallback"));
	frames_both_ways(port, pool);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

/* Software offload completion (what afxdp and a vnet-less afpacket use):
 * a GSO frame becomes segments with valid checksums. */
static int collect_seg(void *arg, const uint8_t *frame, uint32_t len)
{
	uint32_t *tot = arg;
	uint32_t sum = 0, i;
	const uint8_t *tcp = frame + 34;
	uint32_t tcp_len = len - 34;

	/* verify the TCP checksum over the pseudo header */
	for (i = 0; i + 1 < tcp_len; i += 2)
		sum += (uint32_t)(tcp[i] << 8 | tcp[i + 1]);
	if (tcp_len & 1)
		sum += (uint32_t)tcp[tcp_len - 1] << 8;
	for (i = 0; i < 8; i += 2)
		sum += (uint32_t)(frame[26 + i] << 8 | frame[27 + i]);
	sum += 6 + tcp_len;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		return -EBADMSG;
	*tot += tcp_len - 20;
	return 0;
}

static void test_afxdp_frames_after_reopen(void **state)
{
	/* open / close twice: the XDP program and the socket go away */
	(void)state;
	test_afxdp_auto(state);
	test_afxdp_auto(state);
}

#include "../../lib/ports/tap_priv.h"

/* The veth pair again, after ip link del (the namespace is still there). */
static void veth_recreate(void)
{
	assert_int_equal(th_sh("ip link add %s type veth peer name %s",
			       host_if, peer_if),
			 0);
	assert_int_equal(th_sh("ip link set %s netns %s", peer_if, ns), 0);
	assert_int_equal(th_sh("ip -n %s link set %s up", ns, peer_if), 0);
	assert_int_equal(th_sh("ip link set %s up", host_if), 0);
}

/* Wait up to ms for the port's control deadline; true if it came. */
static bool ctl_due(const struct vsw_port_ops *ops, struct vsw_port *port,
		    int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	int t;

	for (;;) {
		t = ops->ctl_timeout_ms(port);
		if (t == 0)
			return true;
		if (th_now_ms() >= end)
			return false;
		(void)th_wait_readable(ops->ctl_fd(port),
				       t < 0 || t > 50 ? 50 : t);
	}
}

struct open_args {
	const struct vsw_port_ops *ops;
	struct vsw_port_opt opt;
	struct vsw_port *port;
	int ret;
};

/*
 * Open the port on a thread that may not create AF_NETLINK sockets (a
 * seccomp filter of that thread only, as a sandbox with
 * RestrictAddressFamilies would have for the whole daemon).
 */
static void *open_no_netlink(void *arg)
{
	struct open_args *a = arg;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	char err[256];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		a->ret = -errno;
		return NULL;
	}
	a->port = th_port_open(a->ops, "gone0", &a->opt, 1, err, sizeof(err),
			       &a->ret);
	return NULL;
}

/*
 * The interface of an afpacket / afxdp port is deleted and made again,
 * with no rtnetlink socket to hear of it: the control side looks by name
 * every VSW_GONE_RETRY_MS, takes the queue away, re-attaches, and frames
 * flow again.
 */
static void gone_without_netlink(const struct vsw_port_ops *ops)
{
	struct open_args a = {.ops = ops, .opt = {"ifname", host_if}};
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_port *port;
	char st[256];
	pthread_t thr;
	unsigned changes;
	int t;

	assert_int_equal(pthread_create(&thr, NULL, open_no_netlink, &a), 0);
	pthread_join(thr, NULL);
	assert_int_equal(a.ret, 0);
	port = a.port;
	assert_non_null(port);
	assert_true(th_port_logged(port, "no rtnetlink link events"));
	/* healthy, but looked at every second */
	t = ops->ctl_timeout_ms(port);
	assert_true(t > 0 && t <= VSW_GONE_RETRY_MS);
	changes = th_port_changes(port);
	assert_true(ctl_due(ops, port, 3000));
	ops->ctl_handle(port);
	assert_int_equal(th_port_changes(port), changes);
	assert_true(vsw_port_link(port));
	assert_int_equal(ops->n_rxq(port), 1);

	/* deleted (both ends): noticed at the next look */
	assert_int_equal(th_sh("ip link del %s", host_if), 0);
	assert_true(ctl_due(ops, port, 3000));
	ops->ctl_handle(port);
	assert_false(vsw_port_link(port));
	assert_int_equal(ops->n_rxq(port), 0);
	assert_int_equal(ops->n_txq(port), 0);
	assert_int_equal(th_port_changes(port), changes + 1);
	assert_true(th_port_logged(port, "is gone"));
	ops->status(port, st, sizeof(st));
	assert_non_null(strstr(st, "interface gone"));
	/* not there yet: the retry fails, says why */
	assert_true(ctl_due(ops, port, 3000));
	ops->ctl_handle(port);
	assert_int_equal(ops->n_rxq(port), 0);
	assert_true(th_port_logged(port, "no interface"));

	/* back under the same name: attached again, frames flow */
	veth_recreate();
	assert_true(ctl_due(ops, port, 3000));
	ops->ctl_handle(port);
	assert_true(vsw_port_link(port));
	assert_int_equal(ops->n_rxq(port), 1);
	assert_int_equal(th_port_changes(port), changes + 2);
	assert_true(th_port_logged(port, "is back"));
	frames_both_ways(port, pool);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

static void test_afpacket_gone_no_netlink(void **state)
{
	(void)state;
#if !defined(__x86_64__)
	skip(); /* the seccomp filter above is written for x86-64 */
#endif
	gone_without_netlink(&vsw_port_afpacket_ops);
}

static void test_afxdp_gone_no_netlink(void **state)
{
	(void)state;
#if !defined(__x86_64__)
	skip();
#endif
	gone_without_netlink(&vsw_port_afxdp_ops);
}

static void test_sw_offload(void **state)
{
	struct vsw_pkt_pool *pool = pool_new();
	static uint8_t scratch[VSW_PKT_MAX_LEN];
	struct vsw_pkt *p = vsw_pkt_alloc_len(pool, 5000);
	uint32_t tot = 0;

	(void)state;
	assert_non_null(p);
	p->len = (uint32_t)th_tcp4_frame(vsw_pkt_data(p), mac_peer, mac_port,
					 0x0a000001, 0x0a000002, 4000, 5, 1000,
					 &p->vnet);
	assert_int_equal(vsw_port_sw_offload(p, scratch, collect_seg, &tot),
			 4);
	assert_int_equal(tot, 4000);
	p->vnet.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	tot = 0;
	assert_int_equal(vsw_port_sw_offload(p, scratch, collect_seg, &tot),
			 1);
	assert_int_equal(tot, 4000);
	vsw_pkt_free(p);
	vsw_pkt_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_afpacket_options),
		cmocka_unit_test(test_afpacket_frames),
		cmocka_unit_test(test_afpacket_gso),
		cmocka_unit_test(test_afxdp_auto),
		cmocka_unit_test(test_afxdp_fallback),
		cmocka_unit_test(test_afxdp_frames_after_reopen),
		cmocka_unit_test(test_sw_offload),
		cmocka_unit_test(test_afpacket_gone_no_netlink),
		cmocka_unit_test(test_afxdp_gone_no_netlink),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (namespaces, veth): skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
