/* SPDX-License-Identifier: MIT */
/*
 * vhostuser and vhostuserclient providers with vsw's own vhost-user
 * front-end (vsw/vhost_user_fe.h) as the guest: a control thread drives
 * the port's ctl_fd / ctl_handle while the test thread is the data thread
 * and the guest. Frames both ways byte-exact on two queue pairs, TSO
 * metadata both ways, the queue count and link following the guest, and
 * the client reconnecting after the front-end restarts.
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
#include <unistd.h>

#include <linux/if_ether.h>

#include <cmocka.h>

#include <vsw/vhost_user_fe.h>

#include "test_ports_harness.h"

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0xbb, 0x02};

struct ctl {
	struct vsw_port *port;
	const struct vsw_port_ops *ops;
	pthread_t thr;
	int stop;
};

/*
 * The port's control-thread ops (ctl_handle, n_rxq, n_txq, status) run on
 * one thread at a time, as in the switch: the test's main thread takes
 * this lock for the ones it calls while ctl_main runs.
 */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;

/* The switch's control loop, reduced to one port. */
static void *ctl_main(void *arg)
{
	struct ctl *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = c->ops->ctl_fd(c->port),
				   .events = POLLIN};
		int t = c->ops->ctl_timeout_ms(c->port);

		if (t < 0 || t > 20)
			t = 20;
		(void)poll(&p, 1, t);
		pthread_mutex_lock(&ctl_lock);
		c->ops->ctl_handle(c->port);
		pthread_mutex_unlock(&ctl_lock);
	}
	return NULL;
}

static void ctl_start(struct ctl *c)
{
	assert_int_equal(pthread_create(&c->thr, NULL, ctl_main, c), 0);
}

static void ctl_stop(struct ctl *c)
{
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_join(c->thr, NULL);
}

static struct vsw_pkt_pool *pool_new(void)
{
	const struct vsw_pkt_pool_config pc = {.n_small = 1024, .n_large = 32};
	struct vsw_pkt_pool *pool;

	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	return pool;
}

/* Wait until cond(port) or ms pass. */
static bool wait_for(struct vsw_port *port, bool (*cond)(struct vsw_port *),
		     int ms)
{
	uint64_t end = th_now_ms() + (uint64_t)ms;

	while (th_now_ms() < end) {
		if (cond(port))
			return true;
		usleep(1000);
	}
	return cond(port);
}

static const struct vsw_port_ops *cur_ops;

/* n_rxq / n_txq of the port, under the control lock */
static unsigned n_rxq_of(struct vsw_port *port, bool tx)
{
	unsigned n;

	pthread_mutex_lock(&ctl_lock);
	n = tx ? cur_ops->n_txq(port) : cur_ops->n_rxq(port);
	pthread_mutex_unlock(&ctl_lock);
	return n;
}

static bool two_pairs_up(struct vsw_port *port)
{
	return vsw_port_link(port) && n_rxq_of(port, false) == 2 &&
	       n_rxq_of(port, true) == 2;
}

static bool one_pair_up(struct vsw_port *port)
{
	return vsw_port_link(port) && n_rxq_of(port, false) == 1;
}

static bool link_down(struct vsw_port *port)
{
	return !vsw_port_link(port) && n_rxq_of(port, false) == 1;
}

/* Guest -> port on pair qp: n frames (the first a TSO frame if tso). */
static void guest_to_port(struct vsw_vufe *fe, struct vsw_port *port,
			  struct vsw_pkt_pool *pool, unsigned qp, bool tso)
{
	struct vsw_pkt *tx[4], *rx[VSW_PORT_BURST];
	uint8_t ref[4][8192];
	uint32_t len[4];
	unsigned i, got = 0, n;
	uint64_t end;

	for (i = 0; i < 4; i++) {
		tx[i] = vsw_pkt_alloc_len(pool, 8000);
		assert_non_null(tx[i]);
		if (i == 0 && tso)
			tx[i]->len = (uint32_t)th_tcp4_frame(
				vsw_pkt_data(tx[i]), mac_b, mac_a, 0x0a000001,
				0x0a000002, 5000, qp, 1400, &tx[i]->vnet);
		else
			tx[i]->len = (uint32_t)th_frame(vsw_pkt_data(tx[i]),
							mac_b, mac_a, 0x88b5,
							60 + 300 * i,
							qp * 10 + i);
		len[i] = tx[i]->len;
		memcpy(ref[i], vsw_pkt_data(tx[i]), len[i]);
	}
	assert_int_equal(vsw_vufe_tx_burst(fe, qp, tx, 4), 4);
	end = th_now_ms() + 2000;
	while (got < 4 && th_now_ms() < end) {
		n = th_port_recv(port, qp, pool, rx, VSW_PORT_BURST);
		for (i = 0; i < n; i++, got++) {
			assert_true(got < 4);
			assert_int_equal(rx[i]->len, len[got]);
			assert_memory_equal(vsw_pkt_data(rx[i]), ref[got],
					    len[got]);
			assert_int_equal(rx[i]->in_port, 1);
			if (got == 0 && tso) {
				assert_int_equal(rx[i]->vnet.gso_type,
						 VIRTIO_NET_HDR_GSO_TCPV4);
				assert_int_equal(rx[i]->vnet.gso_size, 1400);
			}
		}
		vsw_pkt_free_burst(rx, n);
	}
	assert_int_equal(got, 4);
	/* another pair saw nothing */
	assert_int_equal(th_port_recv(port, qp ^ 1, pool, rx, VSW_PORT_BURST),
			 0);
}

/* Port -> guest on pair qp. */
static void port_to_guest(struct vsw_vufe *fe, struct vsw_port *port,
			  struct vsw_pkt_pool *pool, unsigned qp, bool tso)
{
	struct vsw_pkt *tx[4], *rx[VSW_PORT_BURST];
	unsigned i, got = 0;
	uint64_t end;
	int n;

	for (i = 0; i < 4; i++) {
		tx[i] = vsw_pkt_alloc_len(pool, 8000);
		assert_non_null(tx[i]);
		if (i == 3 && tso)
			tx[i]->len = (uint32_t)th_tcp4_frame(
				vsw_pkt_data(tx[i]), mac_a, mac_b, 0x0a000002,
				0x0a000001, 6000, qp, 1000, &tx[i]->vnet);
		else
			tx[i]->len = (uint32_t)th_frame(vsw_pkt_data(tx[i]),
							mac_a, mac_b, 0x88b5,
							100 + 400 * i,
							qp * 20 + i);
	}
	assert_int_equal(th_port_send(port, qp, tx, 4), 4);
	end = th_now_ms() + 2000;
	while (got < 4 && th_now_ms() < end) {
		n = vsw_vufe_rx_burst(fe, qp, rx, VSW_PORT_BURST);
		assert_true(n >= 0);
		for (i = 0; i < (unsigned)n; i++, got++) {
			assert_true(got < 4);
			assert_int_equal(rx[i]->len, tx[got]->len);
			assert_memory_equal(vsw_pkt_data(rx[i]),
					    vsw_pkt_data(tx[got]),
					    tx[got]->len);
			if (got == 3 && tso) {
				assert_int_equal(rx[i]->vnet.gso_type,
						 VIRTIO_NET_HDR_GSO_TCPV4);
				assert_int_equal(rx[i]->vnet.gso_size, 1000);
			}
		}
		vsw_pkt_free_burst(rx, (unsigned)n);
		if (n == 0)
			usleep(200);
	}
	assert_int_equal(got, 4);
	vsw_pkt_free_burst(tx, 4);
}

static const uint64_t fe_features =
	VSW_VUFE_BIT(VIRTIO_F_VERSION_1) |
	VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF) |
	VSW_VUFE_BIT(VIRTIO_NET_F_CSUM) | VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	VSW_VUFE_BIT(VIRTIO_NET_F_HOST_TSO4) |
	VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_TSO4) | VSW_VUFE_BIT(VIRTIO_NET_F_MQ) |
	VSW_VUFE_BIT(VIRTIO_NET_F_CTRL_VQ);

static void test_vhostuser_server(void **state)
{
	char dir[] = "/tmp/vsw-vhu-XXXXXX", path[128], err[256], st[160];
	struct vsw_port_opt opts[2] = {{"run_dir", dir}, {"queues", "2"}};
	struct vsw_vufe_config fc = {0};
	struct vsw_pkt_pool *pool = pool_new();
	struct ctl c = {0};
	struct vsw_vufe *fe;
	int ret;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cur_ops = &vsw_port_vhostuser_ops;
	c.ops = cur_ops;
	c.port = th_port_open(cur_ops, "vhu0", opts, 2, err, sizeof(err),
			      &ret);
	assert_non_null(c.port);
	/* no guest yet: link down, one pair */
	assert_true(link_down(c.port));
	ctl_start(&c);

	snprintf(path, sizeof(path), "%s/vhu0.sock", dir);
	fc.path = path;
	fc.features = fe_features;
	fc.queue_pairs = 2;
	assert_int_equal(vsw_vufe_create(&fc, &fe), 0);
	ret = vsw_vufe_connect(fe);
	if (ret < 0)
		fprintf(stderr, "connect: %s\n", vsw_vufe_error(fe));
	assert_int_equal(ret, 0);
	assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
	assert_int_equal(vsw_vufe_set_pool(fe, 1, pool), 0);
	assert_true(wait_for(c.port, two_pairs_up, 3000));
	assert_true(th_port_changes(c.port) >= 1);
	pthread_mutex_lock(&ctl_lock);
	cur_ops->status(c.port, st, sizeof(st));
	pthread_mutex_unlock(&ctl_lock);
	assert_non_null(strstr(st, "connected, 2/2"));

	guest_to_port(fe, c.port, pool, 0, true);
	guest_to_port(fe, c.port, pool, 1, false);
	port_to_guest(fe, c.port, pool, 0, false);
	port_to_guest(fe, c.port, pool, 1, true);

	/* the guest goes away: link down, back to one pair */
	vsw_vufe_destroy(fe);
	assert_true(wait_for(c.port, link_down, 3000));
	ctl_stop(&c);
	th_port_close(c.port);
	assert_int_equal(rmdir(dir), 0); /* the socket was removed */
	vsw_pkt_pool_destroy(pool);
}

/* vhostuserclient: connects to a listening front-end, and again after it
 * restarts. */
static void test_vhostuser_client(void **state)
{
	char dir[] = "/tmp/vsw-vhu-XXXXXX", path[128], err[256];
	struct vsw_port_opt opts[1] = {{"path", path}};
	struct vsw_vufe_config fc = {0};
	struct vsw_pkt_pool *pool = pool_new();
	struct ctl c = {0};
	struct vsw_vufe *fe;
	unsigned round;
	int ret;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qemu.sock", dir);
	cur_ops = &vsw_port_vhostuserclient_ops;
	c.ops = cur_ops;
	/* the front-end is not there yet: open still succeeds (retries) */
	c.port = th_port_open(cur_ops, "vhc0", opts, 1, err, sizeof(err),
			      &ret);
	assert_non_null(c.port);
	ctl_start(&c);
	for (round = 0; round < 2; round++) {
		fc.path = path;
		fc.server = true;
		fc.timeout_ms = 10000;
		fc.features = fe_features & ~VSW_VUFE_BIT(VIRTIO_NET_F_MQ);
		fc.queue_pairs = 1;
		assert_int_equal(vsw_vufe_create(&fc, &fe), 0);
		ret = vsw_vufe_connect(fe);
		if (ret < 0)
			fprintf(stderr, "connect: %s\n", vsw_vufe_error(fe));
		assert_int_equal(ret, 0);
		assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
		assert_true(wait_for(c.port, one_pair_up, 3000));
		guest_to_port(fe, c.port, pool, 0, true);
		port_to_guest(fe, c.port, pool, 0, true);
		vsw_vufe_destroy(fe); /* "QEMU restarts" */
		assert_true(wait_for(c.port, link_down, 3000));
	}
	ctl_stop(&c);
	th_port_close(c.port);
	(void)unlink(path);
	assert_int_equal(rmdir(dir), 0);
	vsw_pkt_pool_destroy(pool);
}

static void test_vhostuser_options(void **state)
{
	struct vsw_port_opt bad[] = {{"sock", "/tmp/x"}};
	struct vsw_port_opt q0[] = {{"path", "/tmp/x.sock"}, {"queues", "0"}};
	struct vsw_port_opt nodir[] = {{"run_dir", "/nonexistent/vsw"}};
	struct vsw_port *port;
	char err[256];
	int ret;

	(void)state;
	port = th_port_open(&vsw_port_vhostuser_ops, "v", bad, 1, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "'sock'"));
	port = th_port_open(&vsw_port_vhostuser_ops, "v", q0, 2, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	port = th_port_open(&vsw_port_vhostuserclient_ops, "v", NULL, 0, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "'path'"));
	port = th_port_open(&vsw_port_vhostuser_ops, "v", nodir, 1, err,
			    sizeof(err), &ret);
	assert_null(port);
	assert_true(ret < 0);
	assert_non_null(strstr(err, "/nonexistent/vsw/v.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vhostuser_options),
		cmocka_unit_test(test_vhostuser_server),
		cmocka_unit_test(test_vhostuser_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
