/* SPDX-License-Identifier: MIT */
/*
 * tap and internal providers. The tap interface is moved into a network
 * namespace of its own (vsw-test-<pid>) with an address there, so the
 * test talks to a real kernel stack: an ICMP echo sent through the port is
 * answered by the kernel; a TSO frame written by the port arrives in the
 * namespace as one GSO frame with its metadata, and one sent from the
 * namespace is read by the port with its metadata. Needs root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <cmocka.h>

#include "test_ports_harness.h"

static char ns[64], tap_if[16];
static bool ns_ready;

static const uint8_t mac_port[6] = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x01};
static const uint8_t mac_host[6] = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
#define IP_HOST 0x0a4d0001u /* 10.77.0.1, in the namespace */
#define IP_PORT 0x0a4d0002u /* 10.77.0.2, "behind" the port */

static void ns_cleanup(void)
{
	if (!ns_ready)
		return;
	(void)th_sh("ip netns del %s 2>/dev/null", ns);
	ns_ready = false;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(ns, sizeof(ns), "vsw-test-%d", (int)getpid());
	snprintf(tap_if, sizeof(tap_if), "vswt%d", (int)getpid() % 100000);
	ns_ready = true;
	atexit(ns_cleanup);
	if (th_sh("ip netns add %s", ns) != 0) {
		ns_cleanup();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ns_cleanup();
	return 0;
}

static struct vsw_pkt_pool *pool_new(void)
{
	const struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 16};
	struct vsw_pkt_pool *pool;

	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	return pool;
}

/* Flags / mtu of an interface of this namespace from sysfs; -1 if none. */
static long sysfs_num(const char *ifname, const char *attr)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%li", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* An interface's MAC from sysfs ("aa:bb:..."); false if none. */
static bool sysfs_mac(const char *ifname, uint8_t mac[6])
{
	char path[128];
	unsigned m[6];
	FILE *f;
	int n, i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]);
	fclose(f);
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return n == 6;
}

/* Open the tap port and give its interface an address in the namespace. */
static struct vsw_port *tap_setup(void)
{
	struct vsw_port_opt opt = {"ifname", tap_if};
	struct vsw_port *port;
	uint8_t mac[6], want[6];
	char err[256];
	int ret;

	port = th_port_open(&vsw_port_tap_ops, "tap0", &opt, 1, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	assert_int_equal(ret, 0);
	/* brought up by open */
	assert_true(sysfs_num(tap_if, "flags") & 1);
	/* hwaddr: the interface's MAC, also after it changed */
	assert_true(sysfs_mac(tap_if, want));
	assert_int_equal(vsw_port_tap_ops.hwaddr(port, mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(th_sh("ip link set %s address 02:00:00:00:cc:0f",
			       tap_if),
			 0);
	assert_int_equal(vsw_port_tap_ops.hwaddr(port, mac), 0);
	assert_memory_equal(mac, "\x02\x00\x00\x00\xcc\x0f", 6);
	/* the fd stays attached when the interface changes namespace */
	assert_int_equal(th_sh("ip link set %s netns %s", tap_if, ns), 0);
	assert_int_equal(th_sh("ip netns exec %s sysctl -qw "
			       "net.ipv6.conf.%s.disable_ipv6=1",
			       ns, tap_if),
			 0);
	assert_int_equal(th_sh("ip -n %s link set %s address "
			       "02:00:00:00:cc:01 up",
			       ns, tap_if),
			 0);
	/* moved away (and changed there): the MAC as last read here */
	assert_int_equal(vsw_port_tap_ops.hwaddr(port, mac), 0);
	assert_memory_equal(mac, "\x02\x00\x00\x00\xcc\x0f", 6);
	assert_int_equal(th_sh("ip -n %s addr add 10.77.0.1/24 dev %s", ns,
			       tap_if),
			 0);
	assert_int_equal(th_sh("ip -n %s neigh add 10.77.0.2 lladdr "
			       "02:00:00:00:aa:01 dev %s",
			       ns, tap_if),
			 0);
	return port;
}

/* Frames of the port until an IPv4 one of protocol proto, >= min_len. */
static struct vsw_pkt *port_wait_ip(struct vsw_port *port,
				    struct vsw_pkt_pool *pool, uint8_t proto,
				    uint32_t min_len, int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	struct vsw_pkt *pkts[VSW_PORT_BURST], *hit = NULL;
	unsigned n, i;

	while (hit == NULL && th_now_ms() < end) {
		n = th_port_recv(port, 0, pool, pkts, VSW_PORT_BURST);
		for (i = 0; i < n; i++) {
			const uint8_t *d = vsw_pkt_data(pkts[i]);

			if (hit == NULL && pkts[i]->len >= min_len &&
			    d[12] == 0x08 && d[13] == 0x00 && d[23] == proto) {
				hit = pkts[i];
				continue;
			}
			vsw_pkt_free(pkts[i]);
		}
		if (n == 0)
			(void)th_wait_readable(
				vsw_port_tap_ops.rxq_wait_fd(port, 0), 50);
	}
	return hit;
}

static uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An ICMP echo request through the port is answered by the kernel. */
static void test_tap_ping(void **state)
{
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_port *port = tap_setup();
	struct vsw_pkt *p, *r;
	uint8_t *d, *ip, *icmp;
	uint32_t a;
	uint16_t v;
	unsigned i;

	(void)state;
	p = vsw_pkt_alloc_len(pool, 98);
	assert_non_null(p);
	d = vsw_pkt_data(p);
	th_frame(d, mac_host, mac_port, ETH_P_IP, 84, 0);
	ip = d + 14;
	icmp = ip + 20;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[3] = 84;
	ip[8] = 64;
	ip[9] = 1;
	a = htonl(IP_PORT);
	memcpy(ip + 12, &a, 4);
	a = htonl(IP_HOST);
	memcpy(ip + 16, &a, 4);
	v = htons(csum16(ip, 20));
	memcpy(ip + 10, &v, 2);
	icmp[0] = 8; /* echo request */
	icmp[4] = 0x12;
	icmp[5] = 0x34;
	icmp[7] = 1;
	for (i = 8; i < 64; i++)
		icmp[i] = (uint8_t)i;
	v = htons(csum16(icmp, 64));
	memcpy(icmp + 2, &v, 2);
	p->len = 98;
	assert_int_equal(th_port_send(port, 0, &p, 1), 1);

	r = port_wait_ip(port, pool, 1, 34, 3000);
	assert_non_null(r);
	d = vsw_pkt_data(r);
	assert_int_equal(r->len, 98);
	assert_memory_equal(d, mac_port, 6);
	assert_memory_equal(d + 6, mac_host, 6);
	assert_int_equal(d[34], 0); /* echo reply */
	assert_memory_equal(d + 38, icmp + 4, 60); /* id, seq, payload */
	assert_int_equal(csum16(d + 34, 64), 0);
	assert_int_equal(r->in_port, 1);
	vsw_pkt_free(r);
	vsw_pkt_free(p);
	assert_int_equal(th_port_drops(port, true, VSW_DROP_TX_ERROR), 0);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

struct sock_args {
	const char *ifname;
	int fd;
};

static int ns_sock_fn(void *arg)
{
	struct sock_args *a = arg;

	a->fd = th_raw_socket(a->ifname, true);
	return a->fd < 0 ? a->fd : 0;
}

/* TSO both ways with the offload metadata intact. */
static void test_tap_tso(void **state)
{
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_port *port = tap_setup();
	struct sock_args sa = {.ifname = tap_if, .fd = -1};
	static uint8_t buf[16384], frame[16384];
	struct virtio_net_hdr_v1 h;
	struct virtio_net_hdr vh;
	struct vsw_pkt *p;
	uint64_t end;
	size_t len;
	ssize_t r = -1;

	(void)state;
	assert_int_equal(th_in_netns(ns, ns_sock_fn, &sa), 0);

	/* port -> host: one 4000-byte frame, mss 1000, one GSO skb there */
	p = vsw_pkt_alloc_len(pool, 5000);
	assert_non_null(p);
	p->len = (uint32_t)th_tcp4_frame(vsw_pkt_data(p), mac_host, mac_port,
					 IP_PORT, IP_HOST, 4000, 7, 1000,
					 &p->vnet);
	assert_int_equal(th_port_send(port, 0, &p, 1), 1);
	end = th_now_ms() + 3000;
	while (th_now_ms() < end) {
		if (th_wait_readable(sa.fd, 50) <= 0)
			continue;
		r = recv(sa.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 10 + 34 && buf[10 + 12] == 0x08 && buf[10 + 23] == 6 &&
		    memcmp(buf + 10 + 6, mac_port, 6) == 0)
			break;
		r = -1;
	}
	assert_int_equal(r, (ssize_t)(10 + p->len));
	memcpy(&vh, buf, sizeof(vh));
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, 1000);
	assert_memory_equal(buf + 10 + 54, vsw_pkt_data(p) + 54, 4000);
	vsw_pkt_free(p);

	/* host -> port: a 6000-byte TSO frame sent in the namespace */
	len = th_tcp4_frame(frame, mac_port, mac_host, IP_HOST, IP_PORT, 6000,
			    8, 1400, &h);
	memset(&vh, 0, sizeof(vh));
	vh.flags = h.flags;
	vh.gso_type = h.gso_type;
	vh.gso_size = h.gso_size;
	vh.hdr_len = h.hdr_len;
	vh.csum_start = h.csum_start;
	vh.csum_offset = h.csum_offset;
	memcpy(buf, &vh, sizeof(vh));
	memcpy(buf + 10, frame, len);
	assert_int_equal(send(sa.fd, buf, 10 + len, 0), (ssize_t)(10 + len));
	/* (the kernel's RST to the first frame is shorter: skipped) */
	p = port_wait_ip(port, pool, 6, 1000, 3000);
	assert_non_null(p);
	/* TSO4 announced with TUNSETOFFLOAD: one frame, not segments */
	assert_int_equal(p->len, len);
	assert_int_equal(p->vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(p->vnet.gso_size, 1400);
	assert_true(p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(p->vnet.csum_start, 34);
	assert_int_equal(p->vnet.csum_offset, 16);
	assert_memory_equal(vsw_pkt_data(p) + 54, frame + 54, 6000);
	assert_int_equal(p->cls, VSW_PKT_LARGE);
	vsw_pkt_free(p);
	close(sa.fd);
	assert_int_equal(th_port_drops(port, false, VSW_DROP_RX_NOMEM), 0);
	th_port_close(port);
	vsw_pkt_pool_destroy(pool);
}

/* Wait up to ms for the port's control step to be due (timeout 0). */
static bool ctl_due(struct vsw_port *port, int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;
	int t;

	for (;;) {
		t = vsw_port_tap_ops.ctl_timeout_ms(port);
		if (t == 0)
			return true;
		if (th_now_ms() >= end)
			return false;
		(void)th_wait_readable(vsw_port_tap_ops.ctl_fd(port),
				       t < 0 || t > 50 ? 50 : t);
	}
}

/* Receive and free what the port has; wait on its rxq fd up to ms. */
static void drain(struct vsw_port *port, struct vsw_pkt_pool *pool, int ms)
{
	struct vsw_pkt *pkts[VSW_PORT_BURST];
	unsigned n;

	(void)th_wait_readable(vsw_port_tap_ops.rxq_wait_fd(port, 0), ms);
	n = th_port_recv(port, 0, pool, pkts, VSW_PORT_BURST);
	vsw_pkt_free_burst(pkts, n);
}

/*
 * The interface goes away under the port (its namespace is deleted): the
 * data side notices once, the link goes down, the control step takes the
 * queues away and logs it; re-creation is retried until the name is free,
 * then the port works again.
 */
static void test_tap_gone(void **state)
{
	struct vsw_port_opt opt = {"ifname", tap_if};
	struct vsw_pkt_pool *pool = pool_new();
	struct vsw_pkt *pkts[VSW_PORT_BURST], *p;
	uint8_t frame[64], mac[6], want[6];
	char err[256], st[256], ns2[80];
	struct vsw_port *port;
	unsigned changes;
	uint64_t end;
	int ret, fd, ctl_fd, t;

	(void)state;
	port = th_port_open(&vsw_port_tap_ops, "tap0", &opt, 1, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	ctl_fd = vsw_port_tap_ops.ctl_fd(port);
	assert_true(ctl_fd >= 0);
	/*
	 * healthy: no control work and no timer; a link message about the
	 * new interface (its operstate settling) changes nothing
	 */
	assert_int_equal(vsw_port_tap_ops.ctl_timeout_ms(port), -1);
	changes = th_port_changes(port);
	usleep(100000);
	vsw_port_tap_ops.ctl_handle(port);
	assert_int_equal(th_port_changes(port), changes);
	assert_true(vsw_port_link(port));
	assert_int_equal(vsw_port_tap_ops.ctl_timeout_ms(port), -1);
	assert_int_equal(th_wait_readable(ctl_fd, 0), 0);

	snprintf(ns2, sizeof(ns2), "%s-gone", ns);
	assert_int_equal(th_sh("ip netns add %s", ns2), 0);
	assert_int_equal(th_sh("ip link set %s netns %s", tap_if, ns2), 0);
	assert_int_equal(th_sh("ip netns del %s", ns2), 0);
	/* namespaces are destroyed asynchronously: wait for the POLLERR */
	end = th_now_ms() + 5000;
	while (vsw_port_link(port) && th_now_ms() < end)
		drain(port, pool, 50);
	assert_false(vsw_port_link(port));
	/* a detached fd: recv and send do nothing, count nothing */
	assert_int_equal(th_port_recv(port, 0, pool, pkts, VSW_PORT_BURST), 0);
	p = vsw_pkt_alloc_len(pool, sizeof(frame));
	assert_non_null(p);
	p->len = (uint32_t)th_frame(vsw_pkt_data(p), mac_host, mac_port, 0x88b5,
				    50, 1);
	assert_int_equal(th_port_send(port, 0, &p, 1), 0);
	assert_int_equal(th_port_drops(port, true, VSW_DROP_TX_ERROR), 0);
	assert_false(th_port_logged(port, "tap read"));
	/* the data side woke the control side, which has work now */
	assert_int_equal(th_wait_readable(ctl_fd, 0), 1);
	assert_int_equal(vsw_port_tap_ops.ctl_timeout_ms(port), 0);
	/* block the re-creation: a non-TAP interface of that name */
	assert_int_equal(th_sh("ip link add %s type veth peer name %sp", tap_if,
			       tap_if),
			 0);
	vsw_port_tap_ops.ctl_handle(port);
	assert_int_equal(th_port_changes(port), changes + 1);
	assert_int_equal(vsw_port_tap_ops.n_rxq(port), 0);
	assert_int_equal(vsw_port_tap_ops.n_txq(port), 0);
	assert_true(th_port_logged(port, "is gone"));
	assert_int_equal(th_wait_readable(ctl_fd, 0), 0); /* drained */
	t = vsw_port_tap_ops.ctl_timeout_ms(port);
	assert_true(t > 500 && t <= 1000);
	vsw_port_tap_ops.status(port, st, sizeof(st));
	assert_non_null(strstr(st, "interface gone"));
	assert_int_equal(vsw_port_tap_ops.hwaddr(port, mac), -ENODEV);

	/* the name is taken: the retry fails, the port stays down */
	assert_true(ctl_due(port, 3000));
	vsw_port_tap_ops.ctl_handle(port);
	assert_int_equal(th_port_changes(port), changes + 1);
	assert_false(vsw_port_link(port));
	assert_true(th_port_logged(port, "cannot get tap interface"));
	vsw_port_tap_ops.status(port, st, sizeof(st));
	assert_non_null(strstr(st, "TUNSETIFF"));
	assert_int_equal(sysfs_num(tap_if, "tun_flags"), -1); /* not a TAP */

	/* name free again: the next retry re-creates the interface */
	assert_int_equal(th_sh("ip link del %s", tap_if), 0); /* and peer */
	assert_true(ctl_due(port, 3000));
	vsw_port_tap_ops.ctl_handle(port);
	assert_int_equal(th_port_changes(port), changes + 2);
	assert_true(vsw_port_link(port));
	assert_int_equal(vsw_port_tap_ops.n_rxq(port), 1);
	assert_int_equal(vsw_port_tap_ops.n_txq(port), 1);
	assert_int_equal(vsw_port_tap_ops.ctl_timeout_ms(port), -1);
	assert_true(th_port_logged(port, "is back"));
	assert_true(sysfs_num(tap_if, "flags") & 1);
	assert_true(sysfs_num(tap_if, "tun_flags") >= 0);
	/* a new interface, its own MAC */
	assert_true(sysfs_mac(tap_if, want));
	assert_int_equal(vsw_port_tap_ops.hwaddr(port, mac), 0);
	assert_memory_equal(mac, want, 6);
	/* and carries frames: the port's frame arrives in the host */
	fd = th_raw_socket(tap_if, false);
	assert_true(fd >= 0);
	assert_int_equal(th_port_send(port, 0, &p, 1), 1);
	end = th_now_ms() + 3000;
	ret = -1;
	while (th_now_ms() < end) {
		ssize_t r;

		if (th_wait_readable(fd, 50) <= 0)
			continue;
		r = recv(fd, frame, sizeof(frame), MSG_DONTWAIT);
		if (r == (ssize_t)p->len &&
		    memcmp(frame, vsw_pkt_data(p), p->len) == 0) {
			ret = 0;
			break;
		}
	}
	assert_int_equal(ret, 0);
	close(fd);
	vsw_pkt_free(p);
	assert_int_equal(th_port_drops(port, true, VSW_DROP_TX_ERROR), 0);
	/* gone again, this time with ip link del in our own namespace */
	assert_int_equal(th_sh("ip link del %s", tap_if), 0);
	end = th_now_ms() + 3000;
	while (vsw_port_link(port) && th_now_ms() < end)
		drain(port, pool, 50);
	assert_false(vsw_port_link(port));
	assert_int_equal(vsw_port_tap_ops.ctl_timeout_ms(port), 0);
	vsw_port_tap_ops.ctl_handle(port);
	assert_int_equal(vsw_port_tap_ops.n_rxq(port), 0);
	/* closing a port whose interface is gone */
	th_port_close(port);
	assert_int_equal(sysfs_num(tap_if, "flags"), -1);
	vsw_pkt_pool_destroy(pool);
}

/*
 * reconfigure (set-port) of the port opened with @cur (ifname vswtmtu0,
 * mtu 9000): the mtu changes live; a bad mtu, an unknown key and a new
 * ifname are refused, the mtu staying as it was.
 */
static void test_tap_reconfigure(struct vsw_port *port,
				 const struct vsw_port_opt *cur)
{
	struct vsw_port_opt m1500[] = {{"ifname", "vswtmtu0"}, {"mtu", "1500"}};
	struct vsw_port_opt m10[] = {{"ifname", "vswtmtu0"}, {"mtu", "10"}};
	struct vsw_port_opt big[] = {{"ifname", "vswtmtu0"}, {"mtu", "65535"}};
	struct vsw_port_opt other[] = {{"ifname", "vswtmtu1"}, {"mtu", "1400"}};
	struct vsw_port_opt unk[] = {{"ifname", "vswtmtu0"}, {"colour", "1"}};
	char err[256];

	assert_int_equal(vsw_port_tap_ops.reconfigure(port, cur, 2, m1500, 2,
						      err, sizeof(err)),
			 0);
	assert_int_equal(sysfs_num("vswtmtu0", "mtu"), 1500);
	assert_int_equal(vsw_port_tap_ops.reconfigure(port, m1500, 2, m10, 2,
						      err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "68..65535"));
	assert_int_equal(vsw_port_tap_ops.reconfigure(port, m1500, 2, other, 2,
						      err, sizeof(err)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err, "option ifname of type tap cannot change"));
	assert_int_equal(vsw_port_tap_ops.reconfigure(port, m1500, 2, unk, 2,
						      err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'colour'"));
	assert_int_equal(sysfs_num("vswtmtu0", "mtu"), 1500);
	/* the kernel's limit for a TAP: refused by SIOCSIFMTU or taken */
	if (vsw_port_tap_ops.reconfigure(port, m1500, 2, big, 2, err,
					 sizeof(err)) < 0)
		assert_int_equal(sysfs_num("vswtmtu0", "mtu"), 1500);
	else
		assert_int_equal(sysfs_num("vswtmtu0", "mtu"), 65535);
}

/* Options: unknown keys, bad values, mtu applied; closing removes it. */
static void test_tap_options(void **state)
{
	struct vsw_port_opt bad[] = {{"ifnam", "x"}};
	struct vsw_port_opt mtu[] = {{"ifname", "vswtmtu0"}, {"mtu", "9000"}};
	struct vsw_port_opt small[] = {{"mtu", "12"}};
	struct vsw_port_opt longname[] = {{"ifname", "a-much-too-long-name"}};
	struct vsw_port *port;
	char err[256];
	int ret;

	(void)state;
	port = th_port_open(&vsw_port_tap_ops, "t", bad, 1, err, sizeof(err),
			    &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "'ifnam'"));
	port = th_port_open(&vsw_port_tap_ops, "t", small, 1, err, sizeof(err),
			    &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	port = th_port_open(&vsw_port_tap_ops, "t", longname, 1, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "a-much-too-long-name"));

	port = th_port_open(&vsw_port_tap_ops, "t", mtu, 2, err, sizeof(err),
			    &ret);
	assert_non_null(port);
	assert_int_equal(sysfs_num("vswtmtu0", "mtu"), 9000);
	test_tap_reconfigure(port, mtu);
	th_port_close(port);
	assert_int_equal(sysfs_num("vswtmtu0", "mtu"), -1);
}

/* internal: named after the port, up, gone with the port. */
static void test_internal(void **state)
{
	struct vsw_port_opt bad[] = {{"ifname", "x"}};
	char name[16], err[256], st[128];
	struct vsw_port *port;
	int ret;

	(void)state;
	snprintf(name, sizeof(name), "vswi%d", (int)getpid() % 100000);
	port = th_port_open(&vsw_port_internal_ops, name, bad, 1, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	port = th_port_open(&vsw_port_internal_ops, name, NULL, 0, err,
			    sizeof(err), &ret);
	assert_non_null(port);
	assert_true(sysfs_num(name, "flags") & 1);
	assert_int_equal(vsw_port_internal_ops.n_rxq(port), 1);
	vsw_port_internal_ops.status(port, st, sizeof(st));
	assert_non_null(strstr(st, name));
	assert_true(vsw_port_internal_ops.rxq_wait_fd(port, 0) >= 0);
	th_port_close(port);
	assert_int_equal(sysfs_num(name, "flags"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_options),
		cmocka_unit_test(test_internal),
		cmocka_unit_test(test_tap_ping),
		cmocka_unit_test(test_tap_tso),
		cmocka_unit_test(test_tap_gone),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (namespaces, TAP): skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
