/* SPDX-License-Identifier: MIT */
/*
 * Concurrency stress tests for the questions docs/concurrency.md closed,
 * meant to run under ThreadSanitizer (make test's TSan build) as well as
 * ASan:
 *  - Q1: a virtio-net queue's counters read while its data thread writes
 *    them (a plain += there is a race TSan reports);
 *  - Q4: ports added, renumbered (ofport) and removed while two data threads
 *    flood through the bridge (publication order and grace periods);
 *  - Q7: a data thread that stalls inside a provider op: grace periods time
 *    out with the thread named, control operations fail at once instead of
 *    hanging, nothing the thread may hold is freed (ASan / TSan would see
 *    the thread's use of a freed polling list when it comes back), and the
 *    switch recovers by itself when the thread does.
 * VSW_STRESS_ROUNDS scales the loops (default 1).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <vsw/flow.h>
#include <vsw/pkt.h>
#include <vsw/port.h>
#include <vsw/switch.h>
#include <vsw/virtio_net.h>
#include <vsw/virtq.h>

#include "th_mem.h"

static unsigned rounds(void)
{
	const char *s = getenv("VSW_STRESS_ROUNDS");
	unsigned n = s != NULL ? (unsigned)strtoul(s, NULL, 10) : 1;

	return n != 0 ? n : 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- Q1: virtio-net queue counters ---- */

struct q1 {
	struct vsw_vnet *vn;
	struct vsw_pkt *p[8];
	unsigned bursts;
	int stop;
};

static void *q1_writer(void *arg)
{
	struct q1 *q = arg;

	/* no receive buffers posted: every burst counts no_buf */
	while (!__atomic_load_n(&q->stop, __ATOMIC_RELAXED)) {
		if (vsw_vnet_rx_burst(q->vn, 0, q->p, 8) != 0)
			abort();
		q->bursts++;
	}
	return NULL;
}

static void test_q1_queue_stats(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 64, .n_large = 2};
	struct vsw_vnet_config cfg = {0};
	uint64_t ring_feat = 1ULL << VIRTIO_F_VERSION_1;
	size_t rb = vsw_vq_ring_bytes(ring_feat, 256);
	struct vsw_vq_dev_config vc = {.features = ring_feat, .num = 256};
	struct vsw_vq_drv_config dc = {.features = ring_feat, .num = 256};
	struct vsw_vq_drv *drv;
	struct vsw_vq_dev *dev;
	struct vsw_pkt_pool *pool;
	struct vsw_vnet_q_stats st;
	struct th_mem m;
	struct q1 q = {0};
	uint64_t last = 0, gpa;
	pthread_t th;
	unsigned i, reads = 0;
	long long end;

	(void)state;
	assert_int_equal(th_mem_create(&m, 4 << 20, 0x100000, 1), 0);
	gpa = th_alloc(&m, rb, 4096);
	dc.ring = th_ptr(&m, gpa, rb);
	dc.ring_gpa = gpa;
	assert_int_equal(vsw_vq_drv_create(&dc, &drv), 0);
	vsw_vq_drv_addrs(drv, &vc.addrs);
	vc.mem = &m.mem;
	assert_int_equal(vsw_vq_dev_create(&vc, &dev), 0);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	cfg.features = ring_feat;
	cfg.max_qp = 1;
	cfg.port_id = 1;
	cfg.pool = pool;
	assert_int_equal(vsw_vnet_create(&cfg, &q.vn), 0);
	assert_int_equal(vsw_vnet_queue_attach(q.vn, 0, dev, 256, -1), 0);
	for (i = 0; i < 8; i++) {
		q.p[i] = vsw_pkt_alloc_len(pool, 60);
		assert_non_null(q.p[i]);
		memset(vsw_pkt_append(q.p[i], 60), 0xab, 60);
	}
	assert_int_equal(pthread_create(&th, NULL, q1_writer, &q), 0);
	end = now_ms() + 300 * (long long)rounds();
	while (now_ms() < end) {
		assert_int_equal(vsw_vnet_queue_stats(q.vn, 0, &st), 0);
		/* one writer, relaxed loads: never torn, never backwards */
		assert_true(st.no_buf >= last);
		last = st.no_buf;
		reads++;
	}
	__atomic_store_n(&q.stop, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(vsw_vnet_queue_stats(q.vn, 0, &st), 0);
	assert_int_equal(st.no_buf, q.bursts);
	assert_true(q.bursts > 0 && reads > 0);
	vsw_pkt_free_burst(q.p, 8);
	vsw_vnet_destroy(q.vn);
	vsw_vq_dev_destroy(dev);
	vsw_vq_drv_destroy(drv);
	vsw_pkt_pool_destroy(pool);
	th_mem_destroy(&m);
}

/* ---- switch set-up shared by Q4 and Q7 ---- */

struct sws {
	struct vsw_switch *sw;
	unsigned errors; /* error-level log lines */
	char last_err[256];
	pthread_mutex_t log_lock;
};

static void sws_log(void *arg, enum vsw_log_level level, const char *msg)
{
	struct sws *s = arg;

	if (level != VSW_LOG_ERR)
		return;
	pthread_mutex_lock(&s->log_lock);
	s->errors++;
	snprintf(s->last_err, sizeof(s->last_err), "%s", msg);
	pthread_mutex_unlock(&s->log_lock);
}

static void sws_start(struct sws *s, unsigned sync_timeout_ms)
{
	struct vsw_switch_config cfg = {
		.n_threads = 2,
		.force_poll = true,
		.pool_small = 512,
		.pool_large = 2,
		.log = sws_log,
		.log_arg = s,
		.sync_timeout_ms = sync_timeout_ms,
	};
	char err[128];

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->log_lock, NULL);
	assert_int_equal(vsw_switch_create(&cfg, &s->sw), 0);
	assert_int_equal(vsw_switch_add_bridge(s->sw, "br0", err, sizeof(err)),
			 0);
}

static void sws_stop(struct sws *s)
{
	vsw_switch_destroy(s->sw);
	pthread_mutex_destroy(&s->log_lock);
}

static struct vsw_port *sws_add(struct sws *s, const char *name,
				const struct vsw_port_ops *ops)
{
	char err[256];
	int ret;

	ret = vsw_switch_add_port_ops(s->sw, "br0", name,
				      ops ? ops : &vsw_port_dummy_ops, NULL, 0,
				      err, sizeof(err));
	if (ret != 0)
		fprintf(stderr, "add %s: %s\n", name, err);
	assert_int_equal(ret, 0);
	return vsw_switch_port_find(s->sw, name);
}

static const uint8_t bcast_frame[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
};

/* Collect everything p got; returns how many frames. */
static unsigned drain(struct vsw_port *p)
{
	uint8_t buf[2048];
	unsigned n = 0;

	while (vsw_port_dummy_collect(p, buf, sizeof(buf), NULL, NULL) >= 0)
		n++;
	return n;
}

/* ---- Q4: port changes while flooding ---- */

static void flow_add(struct sws *s, const char *text)
{
	struct vsw_flow_spec spec;
	char err[256];

	assert_int_equal(vsw_flow_parse(text, VSW_FLOW_PARSE_ADD, NULL, &spec,
					err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_flow_add(s->sw, "br0", &spec, err,
					     sizeof(err)),
			 0);
	vsw_flow_spec_fini(&spec);
}

struct flooder {
	struct vsw_port *in;
	int stop;
	unsigned sent;
};

static void *flood_main(void *arg)
{
	struct flooder *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		if (vsw_port_dummy_inject(f->in, 0, bcast_frame,
					  sizeof(bcast_frame), NULL) == 0)
			f->sent++;
		else
			sleep_ms(0);
	}
	return NULL;
}

static void test_q4_ports_while_flooding(void **state)
{
	struct flooder f = {0};
	struct vsw_port *a, *b;
	struct sws s;
	pthread_t th;
	unsigned i, n = 100 * rounds(), got_b = 0;
	char err[256], name[16];

	(void)state;
	sws_start(&s, 0);
	a = sws_add(&s, "a", NULL);
	b = sws_add(&s, "b", NULL);
	/*
	 * A table that is not the fast path: every burst numbers its in port
	 * and resolves outputs through the flood snapshot (sw_forward_flows).
	 */
	flow_add(&s, "priority=10,in_port=1,actions=flood");
	flow_add(&s, "priority=1,actions=normal");
	f.in = a;
	assert_int_equal(pthread_create(&th, NULL, flood_main, &f), 0);
	for (i = 0; i < n; i++) {
		struct vsw_port *x;

		snprintf(name, sizeof(name), "x%u", i % 3);
		x = sws_add(&s, name, NULL);
		/* renumber both while frames are in flight (Q4) */
		assert_int_equal(vsw_switch_set_port_ofport(s.sw, name,
							    40 + i % 7, err,
							    sizeof(err)),
				 0);
		assert_int_equal(vsw_switch_set_port_ofport(
					 s.sw, "b", 20 + i % 5, err,
					 sizeof(err)),
				 0);
		drain(x);
		got_b += drain(b);
		assert_int_equal(vsw_switch_del_port(s.sw, name, err,
						     sizeof(err)),
				 0);
		got_b += drain(b);
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(vsw_switch_sync(s.sw), 0);
	got_b += drain(b);
	assert_true(f.sent > 0);
	assert_true(got_b > 0);
	assert_int_equal(s.errors, 0);
	sws_stop(&s);
}

/* ---- Q7: a data thread stuck in a provider op ---- */

static int stall;	   /* recv of a "stall" port blocks while set */
static int stall_entered; /* a data thread is blocked there */

static unsigned stall_recv(struct vsw_port *port, unsigned rxq,
			   struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			   unsigned max)
{
	if (__atomic_load_n(&stall, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&stall_entered, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&stall, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		__atomic_store_n(&stall_entered, 0, __ATOMIC_RELEASE);
	}
	return vsw_port_dummy_ops.recv(port, rxq, pool, pkts, max);
}

/* Start the stall and wait (5 s at most) until a thread is caught in it. */
static void stall_begin(void)
{
	long long end = now_ms() + 5000;

	__atomic_store_n(&stall, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stall_entered, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			abort(); /* the thread never polled the port */
		sleep_ms(1);
	}
}

/*
 * A port whose open (control thread, after the operation's own check that
 * no thread is stuck) gets a data thread stuck: the grace periods of the
 * same add time out half way.
 */
static int trap_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		     unsigned n_opts, char *err, size_t err_len)
{
	int ret = vsw_port_dummy_ops.open(port, opts, n_opts, err, err_len);

	if (ret == 0)
		stall_begin();
	return ret;
}

static struct vsw_port_ops stall_ops, trap_ops;

/* Run the control loop's part (pollfds, timeout, handle) once. */
static long long loop_once(struct sws *s)
{
	struct pollfd fds[16];
	long long t0 = now_ms();
	unsigned n = vsw_switch_pollfds(s->sw, fds, 16);
	int t = vsw_switch_timeout_ms(s->sw);

	assert_true(n <= 16);
	assert_true(t >= 0 && t <= 1000);
	vsw_switch_handle(s->sw, fds, 0);
	return now_ms() - t0;
}

static void test_q7_stuck_thread(void **state)
{
	struct vsw_vlan_config access = {.mode = VSW_VLAN_ACCESS, .tag = 5};
	struct vsw_port *a, *c;
	struct sws s;
	struct vsw_flow_spec spec;
	long long t0, t1, dt, t_rule;
	unsigned r, i, nrxq;
	char err[256];
	const char *msg;
	int ret;

	(void)state;
	stall_ops = vsw_port_dummy_ops;
	stall_ops.type = "stall";
	stall_ops.recv = stall_recv;
	trap_ops = vsw_port_dummy_ops;
	trap_ops.type = "trap";
	trap_ops.open = trap_open;
	sws_start(&s, 300);
	for (r = 0; r < rounds(); r++) {
		a = sws_add(&s, "a", NULL);
		sws_add(&s, "s", &stall_ops);
		sws_add(&s, "b", NULL);

		/* a rule that expires while the thread is stuck (below) */
		flow_add(&s, "priority=50,hard_timeout=1,arp,actions=drop");
		t_rule = now_ms();

		/* 1. stuck before the operation: refused at once */
		stall_begin();
		t0 = now_ms();
		assert_int_equal(vsw_switch_sync(s.sw), -ETIMEDOUT);
		dt = now_ms() - t0;
		assert_in_range(dt, 250, 3000); /* the bound, not forever */
		msg = vsw_switch_stuck(s.sw);
		assert_non_null(msg);
		assert_non_null(strstr(msg, "pmd thread vsw-pmd"));
		assert_non_null(strstr(msg, "stuck for 1 s"));
		assert_non_null(strstr(msg, "in recv on port s rxq 0"));
		assert_true(s.errors > 0);
		t0 = now_ms();
		ret = vsw_switch_del_port(s.sw, "b", err, sizeof(err));
		assert_int_equal(ret, -ETIMEDOUT);
		assert_non_null(strstr(err, "pmd thread vsw-pmd"));
		assert_non_null(vsw_switch_port_find(s.sw, "b"));
		assert_int_equal(vsw_switch_add_port_ops(s.sw, "br0", "c",
							 &vsw_port_dummy_ops,
							 NULL, 0, err,
							 sizeof(err)),
				 -ETIMEDOUT);
		assert_null(vsw_switch_port_find(s.sw, "c"));
		assert_int_equal(vsw_switch_set_port_vlan(s.sw, "b", &access,
							  err, sizeof(err)),
				 -ETIMEDOUT);
		assert_int_equal(vsw_switch_set_threads(s.sw, 1, err,
							sizeof(err)),
				 -ETIMEDOUT);
		assert_int_equal(vsw_switch_n_threads(s.sw), 2);
		assert_int_equal(vsw_switch_fdb_flush(s.sw, "br0"), -ETIMEDOUT);
		assert_int_equal(vsw_flow_parse("priority=7,actions=drop",
						VSW_FLOW_PARSE_ADD, NULL, &spec,
						err, sizeof(err)),
				 0);
		assert_int_equal(vsw_switch_flow_add(s.sw, "br0", &spec, err,
						     sizeof(err)),
				 -ETIMEDOUT);
		assert_non_null(strstr(err, "pmd thread vsw-pmd"));
		vsw_flow_spec_fini(&spec);
		/* expiry goes on: the rule leaves, its memory waits */
		while (now_ms() - t_rule < 1100)
			sleep_ms(10);
		t1 = now_ms();
		assert_int_equal(vsw_switch_flow_expire(s.sw, "br0"), 1);
		assert_true(now_ms() - t1 < 200);
		/* the control loop stays live: no provider fd, no wait */
		assert_int_equal(vsw_switch_pollfds(s.sw, NULL, 0), 0);
		for (i = 0; i < 5; i++)
			assert_true(loop_once(&s) < 200);
		/* reads still work */
		assert_non_null(vsw_switch_port_find(s.sw, "b"));
		/* all of it without a second wait (the expiry sleep aside) */
		assert_true(now_ms() - t0 < 2000);

		/* 2. recovery: the thread comes back, everything works */
		__atomic_store_n(&stall, 0, __ATOMIC_RELEASE);
		t0 = now_ms();
		while (vsw_switch_stuck(s.sw) != NULL) {
			assert_true(now_ms() - t0 < 5000);
			sleep_ms(1);
		}
		assert_int_equal(vsw_switch_sync(s.sw), 0);
		assert_int_equal(vsw_switch_set_port_vlan(s.sw, "b", &access,
							  err, sizeof(err)),
				 0);

		/*
		 * 3. stuck half way through an add (after its check): the port
		 * is added, the frees it made wait for the thread.
		 */
		assert_int_equal(vsw_switch_add_port_ops(s.sw, "br0", "t",
							 &trap_ops, NULL, 0,
							 err, sizeof(err)),
				 0);
		assert_non_null(vsw_switch_stuck(s.sw));
		assert_true(vsw_switch_deferred(s.sw) > 0);
		/* what is deferred stays so while the thread is stuck */
		for (i = 0; i < 3; i++)
			loop_once(&s);
		assert_true(vsw_switch_deferred(s.sw) > 0);
		/* the thread resumes its round on the old list: not freed */
		__atomic_store_n(&stall, 0, __ATOMIC_RELEASE);
		t0 = now_ms();
		do {
			assert_true(now_ms() - t0 < 5000);
			sleep_ms(1);
			loop_once(&s); /* reclaims, redoes the lists */
		} while (vsw_switch_stuck(s.sw) != NULL ||
			 vsw_switch_deferred(s.sw) != 0);
		/* the lists were redone: every rxq (a, s, b, t) is polled */
		assert_int_equal(vsw_switch_sync(s.sw), 0);
		assert_non_null(vsw_switch_port_find(s.sw, "t"));
		for (i = 0, nrxq = 0; i < 2; i++) {
			struct vsw_pmd_stats ps;

			assert_int_equal(vsw_switch_pmd_stats(s.sw, i, &ps), 0);
			nrxq += ps.n_rxq;
		}
		assert_int_equal(nrxq, 4);
		/* and forwarding goes on: a's broadcast reaches a new port */
		c = sws_add(&s, "c", NULL);
		assert_int_equal(vsw_port_dummy_inject(a, 0, bcast_frame,
						       sizeof(bcast_frame),
						       NULL),
				 0);
		t0 = now_ms();
		while (drain(c) == 0) {
			assert_true(now_ms() - t0 < 5000);
			sleep_ms(1);
		}
		for (i = 0; i < 5; i++) {
			static const char *const names[] = {"a", "s", "b", "t",
							    "c"};

			assert_int_equal(vsw_switch_del_port(s.sw, names[i],
							     err, sizeof(err)),
					 0);
		}
	}
	sws_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q1_queue_stats),
		cmocka_unit_test(test_q4_ports_while_flooding),
		cmocka_unit_test(test_q7_stuck_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
