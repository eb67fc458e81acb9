/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the switch's control plane and data threads: idle sleep and
 * wake-up, force_poll, thread count and queue changes at run time, add /
 * delete of ports under traffic, the control-loop integration, `show`
 * iteration and the error paths of the control API.
 */
#include <poll.h>
#include <pthread.h>

#include "test_switch_th.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* lib/switch/spin.h: the window a thread starts with, us */
#define SW_BASE_US 50

static struct vsw_pmd_stats pmd_sum(struct ts *t)
{
	struct vsw_pmd_stats s = {0}, st;
	unsigned i;

	for (i = 0; i < vsw_switch_n_threads(t->sw); i++) {
		assert_int_equal(vsw_switch_pmd_stats(t->sw, i, &st), 0);
		s.n_rxq += st.n_rxq;
		s.packets += st.packets;
		s.sleeps += st.sleeps;
		s.wakeups_ctl += st.wakeups_ctl;
		s.busy_cycles += st.busy_cycles;
		s.idle_cycles += st.idle_cycles;
	}
	return s;
}

/* wait (up to 5 s) until the threads have slept more than `than` times */
static uint64_t wait_sleeps(struct ts *t, uint64_t than)
{
	unsigned i;

	for (i = 0; i < 5000; i++) {
		uint64_t s = pmd_sum(t).sleeps;

		if (s > than)
			return s;
		ts_sleep_us(1000);
	}
	fail_msg("data threads never slept");
	return 0;
}

static int setup_sleepy(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));

	t->n_threads = 1;
	t->idle_polls = 50;
	*state = t;
	return ts_start(t);
}

static int setup_sleepy2(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));

	t->n_threads = 2;
	t->idle_polls = 50;
	*state = t;
	return ts_start(t);
}

static int setup_poll(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));

	t->n_threads = 1;
	t->idle_polls = 50;
	t->force_poll = true;
	*state = t;
	return ts_start(t);
}

/*
 * An idle thread arms its queues and blocks; an inject then finds the queue
 * armed and kicks the eventfd (counted), and the thread forwards the frame.
 */
static void test_idle_sleep(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	uint8_t A[6], f[128];
	uint64_t sleeps;
	size_t n;
	unsigned round;

	ts_mac(A, 1);
	for (round = 0; round < 5; round++) {
		sleeps = wait_sleeps(t, 0);
		/* give it time to be inside poll() after its last wake-up */
		ts_sleep_us(20000);
		sleeps = pmd_sum(t).sleeps;
		int64_t kicks = vsw_port_dummy_kicks(a);
		n = ts_frame(f, bcast, A, false, 0, 60, (uint8_t)round);
		ts_inject(a, f, n);
		ts_settle(t);
		ts_expect(b, f, n);
		/* it was asleep (armed) when the frame came: a kick */
		assert_true(vsw_port_dummy_kicks(a) > kicks);
		wait_sleeps(t, sleeps);
	}
	assert_true(pmd_sum(t).idle_cycles > 0);
	assert_true(pmd_sum(t).busy_cycles > 0);
	assert_int_equal(pmd_sum(t).packets, 5);
}

/* force_poll: never sleeps, so never needs a kick; switchable at run time */
static void test_force_poll(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	struct vsw_switch_config cfg;
	uint8_t A[6], f[128];
	size_t n;
	unsigned i;

	uint64_t s0;

	ts_mac(A, 1);
	/* (a thread with no rxq sleeps even then: count from here) */
	s0 = pmd_sum(t).sleeps;
	ts_sleep_us(50000);
	for (i = 0; i < 10; i++) {
		n = ts_frame(f, bcast, A, false, 0, 60, (uint8_t)i);
		ts_inject(a, f, n);
		ts_settle(t);
		ts_expect(b, f, n);
		ts_sleep_us(2000);
	}
	assert_int_equal(pmd_sum(t).sleeps, s0);
	assert_int_equal(vsw_port_dummy_kicks(a), 0);
	vsw_switch_get_config(t->sw, &cfg);
	assert_true(cfg.force_poll);
	vsw_switch_set_force_poll(t->sw, false);
	wait_sleeps(t, s0);
	vsw_switch_set_force_poll(t->sw, true);
	vsw_switch_get_config(t->sw, &cfg);
	assert_true(cfg.force_poll);
	n = ts_frame(f, bcast, A, false, 0, 60, 99);
	ts_inject(a, f, n);
	ts_settle(t);
	ts_expect(b, f, n);
}

/* the pmd-stats spin window of thread 0 */
static unsigned spin_now(struct ts *t)
{
	struct vsw_pmd_stats st;

	assert_int_equal(vsw_switch_pmd_stats(t->sw, 0, &st), 0);
	return st.spin_us;
}

/*
 * The adaptive spin (the rule itself: test_switch_spin): on by default,
 * grows under frequent traffic, back to the base after long gaps, settable
 * 0 .. max at run time and at create; 0 still sleeps and forwards.
 */
static void test_spin(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	struct vsw_switch_config cfg = {.spin_us = VSW_SWITCH_SPIN_MAX_US + 1};
	struct vsw_switch *sw2;
	uint8_t A[6], f[128];
	unsigned i, most = 0;
	uint64_t s0;
	char err[128];
	size_t n;

	vsw_switch_get_config(t->sw, &cfg);
	assert_int_equal(cfg.spin_us, VSW_SWITCH_SPIN_DEFAULT_US);
	assert_int_equal(spin_now(t), SW_BASE_US);
	ts_mac(A, 1);
	/* a frame every 0.5 ms: the sleeps were too short, the window grows */
	for (i = 0; i < 100 && most <= SW_BASE_US; i++) {
		n = ts_frame(f, bcast, A, false, 0, 60, (uint8_t)i);
		ts_inject(a, f, n);
		ts_settle(t);
		ts_expect(b, f, n);
		ts_sleep_us(500);
		if (spin_now(t) > most)
			most = spin_now(t);
	}
	assert_true(most > SW_BASE_US);
	assert_true(most <= VSW_SWITCH_SPIN_DEFAULT_US);
	/* gaps of 30 ms (> the cap): back to the base (-1/8 each) */
	for (i = 0; i < 40; i++) {
		ts_sleep_us(30000);
		n = ts_frame(f, bcast, A, false, 0, 60, (uint8_t)i);
		ts_inject(a, f, n);
		ts_settle(t);
		ts_expect(b, f, n);
	}
	ts_sleep_us(30000);
	assert_int_equal(spin_now(t), SW_BASE_US);

	assert_int_equal(vsw_switch_set_spin(t->sw, VSW_SWITCH_SPIN_MAX_US + 1,
					     err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "out of 0.."));
	vsw_switch_get_config(t->sw, &cfg);
	assert_int_equal(cfg.spin_us, VSW_SWITCH_SPIN_DEFAULT_US);
	/* 0: no window (applied at the next wake-up), still sleeps */
	assert_int_equal(vsw_switch_set_spin(t->sw, 0, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	vsw_switch_get_config(t->sw, &cfg);
	assert_int_equal(cfg.spin_us, 0);
	for (i = 0; i < 3; i++) {
		s0 = wait_sleeps(t, 0);
		ts_sleep_us(20000);
		s0 = pmd_sum(t).sleeps;
		n = ts_frame(f, bcast, A, false, 0, 60, (uint8_t)i);
		ts_inject(a, f, n);
		ts_settle(t);
		ts_expect(b, f, n);
		wait_sleeps(t, s0);
	}
	assert_int_equal(spin_now(t), 0);
	assert_int_equal(vsw_switch_set_spin(t->sw, VSW_SWITCH_SPIN_MAX_US, err,
					     sizeof(err)),
			 0);

	/* at create: out of range, or off */
	memset(&cfg, 0, sizeof(cfg));
	cfg.spin_us = VSW_SWITCH_SPIN_MAX_US + 1;
	assert_int_equal(vsw_switch_create(&cfg, &sw2), -EINVAL);
	cfg.spin_us = VSW_SWITCH_SPIN_OFF;
	assert_int_equal(vsw_switch_create(&cfg, &sw2), 0);
	vsw_switch_get_config(sw2, &cfg);
	assert_int_equal(cfg.spin_us, 0);
	vsw_switch_destroy(sw2);
}

/* a queue without a wait fd keeps its thread polling */
static void test_no_wait_fd(void **state)
{
	struct ts *t = *state;
	uint64_t s0;

	ts_add(t, "a", "wait=0", NULL);
	ts_add(t, "b", NULL);
	/* 1 thread owns both rxqs: it may not sleep */
	ts_sleep_us(50000);
	s0 = pmd_sum(t).sleeps;
	ts_sleep_us(50000);
	assert_int_equal(pmd_sum(t).sleeps, s0);
	assert_int_equal(vsw_switch_del_port(t->sw, "a", NULL, 0), 0);
	t->p[0] = NULL;
	wait_sleeps(t, s0);
}

/* thread count and queue counts change at run time; traffic still flows */
static void test_threads_queues(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", "rxq=2", "txq=1", NULL);
	struct vsw_port *b = ts_add(t, "b", "txq=2", NULL);
	struct vsw_queue_stats q;
	uint8_t A[6], f[128];
	char err[128];
	size_t n;
	unsigned i, nt;

	ts_mac(A, 1);
	assert_int_equal(pmd_sum(t).n_rxq, 3);
	for (nt = 1; nt <= 3; nt++) {
		assert_int_equal(
			vsw_switch_set_threads(t->sw, nt, err, sizeof(err)), 0);
		assert_int_equal(vsw_switch_n_threads(t->sw), nt);
		assert_int_equal(pmd_sum(t).n_rxq, 3);
		for (i = 0; i < 8; i++) {
			n = ts_frame(f, bcast, A, false, 0, 60, (uint8_t)i);
			assert_int_equal(
				vsw_port_dummy_inject(a, i % 2, f, n, NULL), 0);
		}
		ts_settle(t);
		for (i = 0; i < 8; i++) {
			uint8_t buf[128];

			assert_int_equal(vsw_port_dummy_collect(b, buf,
								sizeof(buf),
								NULL, NULL),
					 60);
		}
		ts_expect_none(b);
	}
	assert_int_equal(vsw_switch_set_threads(t->sw, 0, err, sizeof(err)),
			 -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "a", false, 0, &q), 0);
	assert_int_equal(q.packets, 12);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "a", false, 1, &q), 0);
	assert_int_equal(q.packets, 12);

	/* b grows to 3 rxqs: 5 in total; rxq 2 works */
	assert_int_equal(vsw_port_dummy_set_queues(b, 3, 2), 0);
	assert_int_equal(pmd_sum(t).n_rxq, 5);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	assert_int_equal(vsw_port_dummy_inject(b, 2, f, n, NULL), 0);
	ts_settle(t);
	ts_expect(a, f, n);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "b", false, 2, &q), 0);
	assert_int_equal(q.packets, 1);
	/* shrinks again; its old queue is no longer polled */
	assert_int_equal(vsw_port_dummy_set_queues(b, 1, 1), 0);
	assert_int_equal(pmd_sum(t).n_rxq, 3);
	assert_int_equal(vsw_port_dummy_inject(b, 2, f, n, NULL), -EINVAL);
	assert_int_equal(vsw_port_dummy_set_queues(b, 0, 1), -EINVAL);
	assert_int_equal(vsw_port_dummy_set_queues(b, 1, 9), -EINVAL);
}

struct injector {
	struct vsw_port *port;
	uint32_t stop;
	unsigned sent;
};

static void *inject_main(void *arg)
{
	struct injector *in = arg;
	uint8_t A[6], f[128];
	size_t n;

	while (!__atomic_load_n(&in->stop, __ATOMIC_RELAXED)) {
		uint8_t D[6];

		ts_mac(A, 1 + in->sent % 7);
		ts_mac(D, 1 + (in->sent / 7) % 9);
		n = ts_frame(f, (in->sent % 3) ? D : bcast, A, false, 0,
			     60 + in->sent % 50, (uint8_t)in->sent);
		if (vsw_port_dummy_inject(in->port, 0, f, n, NULL) == 0)
			in->sent++;
		else
			sched_yield();
	}
	return NULL;
}

/* ports come and go while frames flow (run under ASan / TSan) */
static void test_add_del_under_traffic(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", "ring=1024", NULL);
	struct vsw_port *b = ts_add(t, "b", "ring=64", NULL);
	struct injector in = {.port = a};
	struct vsw_port_stats st;
	struct vsw_vlan_config v = {.mode = VSW_VLAN_ACCESS, .tag = 5};
	struct vsw_vlan_config none = {.mode = VSW_VLAN_NONE};
	struct vsw_port_opt opt = {"ring", "8"};
	uint8_t buf[256];
	char err[128];
	pthread_t th;
	unsigned i;

	assert_int_equal(pthread_create(&th, NULL, inject_main, &in), 0);
	for (i = 0; i < 60; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%u", i % 3);
		assert_int_equal(vsw_switch_add_port(t->sw, "br0", name,
						     "dummy", &opt, 1, err,
						     sizeof(err)),
				 0);
		ts_sleep_us(500);
		if (i % 5 == 0)
			vsw_switch_fdb_flush(t->sw, "br0");
		if (i % 7 == 0)
			vsw_switch_set_port_vlan(t->sw, "b", i % 2 ? &v : &none,
						 err, sizeof(err));
		if (i % 2 == 1) {
			snprintf(name, sizeof(name), "c%u", (i - 1) % 3);
			assert_int_equal(vsw_switch_del_port(t->sw, name, err,
							     sizeof(err)),
					 0);
			snprintf(name, sizeof(name), "c%u", i % 3);
			assert_int_equal(vsw_switch_del_port(t->sw, name, err,
							     sizeof(err)),
					 0);
		}
		while (vsw_port_dummy_collect(b, buf, sizeof(buf), NULL, NULL) >
		       0)
			;
		if (i == 30) {
			assert_int_equal(vsw_switch_set_threads(
						 t->sw,
						 t->n_threads == 1 ? 2 : 1, err,
						 sizeof(err)),
					 0);
		}
	}
	__atomic_store_n(&in.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ts_settle(t);
	st = ts_stats(t, "a");
	assert_true(in.sent > 0);
	assert_int_equal(st.rx.packets, in.sent);
	assert_null(vsw_switch_port_find(t->sw, "c0"));
}

/* provider control fds go through pollfds / poll / handle */
static void test_control_loop(void **state)
{
	struct ts *t = *state;
	struct pollfd fds[4];
	unsigned n, i;
	int64_t fired = 0;
	struct vsw_port *c;

	ts_add(t, "a", NULL);
	ts_add(t, "b", "ctl_timer_ms=2", NULL);
	c = ts_add(t, "c", "ctl_timer_ms=3", NULL);
	assert_int_equal(vsw_switch_pollfds(t->sw, NULL, 0), 2);
	assert_int_equal(vsw_switch_pollfds(t->sw, fds, 1), 2);
	for (i = 0; i < 200 && fired < 3; i++) {
		n = vsw_switch_pollfds(t->sw, fds, 4);
		assert_int_equal(n, 2);
		assert_true(poll(fds, n, 100) >= 0);
		vsw_switch_handle(t->sw, fds, n);
		fired = vsw_port_dummy_ctl_fired(c);
	}
	assert_true(fired >= 3);
	assert_true(vsw_port_dummy_ctl_fired(t->p[1]) >= 3);
	assert_int_equal(vsw_port_dummy_ctl_fired(t->p[0]), 0);
	/* the ageing sweep bounds the timeout */
	assert_in_range(vsw_switch_timeout_ms(t->sw), 0, 1000);
	/* a port deleted between pollfds and handle is fine */
	n = vsw_switch_pollfds(t->sw, fds, 4);
	assert_int_equal(vsw_switch_del_port(t->sw, "c", NULL, 0), 0);
	t->p[2] = NULL;
	assert_true(poll(fds, n, 10) >= 0);
	vsw_switch_handle(t->sw, fds, n);
	assert_int_equal(vsw_switch_pollfds(t->sw, fds, 4), 1);
}

struct show_ctx {
	unsigned n;
	char names[8][16];
	char status[8][128];
	bool link[8];
	unsigned vlan_mode[8];
	unsigned n_trunks[8];
	uint16_t trunk0[8];
	char bridges[4][16];
	unsigned nb;
};

static int show_port(const struct vsw_port_info *i, void *arg)
{
	struct show_ctx *s = arg;

	assert_string_equal(i->type, "dummy");
	snprintf(s->names[s->n], 16, "%s", i->name);
	snprintf(s->status[s->n], 128, "%s", i->status);
	s->link[s->n] = i->link_up;
	s->vlan_mode[s->n] = i->vlan.mode;
	s->n_trunks[s->n] = i->vlan.n_trunks;
	s->trunk0[s->n] = i->vlan.n_trunks ? i->vlan.trunks[0] : 0;
	s->n++;
	return 0;
}

static int show_bridge(const char *name, void *arg)
{
	struct show_ctx *s = arg;

	snprintf(s->bridges[s->nb++], 16, "%s", name);
	return 0;
}

static int stop_at_first(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return 42;
}

static void test_show_and_errors(void **state)
{
	struct ts *t = *state;
	struct vsw_port_opt bad[] = {{"bogus", "1"}};
	struct vsw_port_opt badv[] = {{"rxq", "9"}};
	struct vsw_port_opt badr[] = {{"ring", "3"}};
	static const uint16_t list[] = {7, 8};
	struct vsw_vlan_config tr = {
		.mode = VSW_VLAN_TRUNK, .trunks = list, .n_trunks = 2};
	struct show_ctx s;
	char err[256];

	ts_add(t, "a", "rxq=2", "txq=3", NULL);
	ts_add(t, "b", "link=down", NULL);
	assert_int_equal(
		vsw_switch_set_port_vlan(t->sw, "b", &tr, err, sizeof(err)), 0);
	assert_int_equal(vsw_switch_add_bridge(t->sw, "br1", err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	memset(&s, 0, sizeof(s));
	assert_int_equal(vsw_switch_bridge_iter(t->sw, show_bridge, &s), 0);
	assert_int_equal(s.nb, 2);
	assert_string_equal(s.bridges[0], "br0");
	assert_string_equal(s.bridges[1], "br1");
	assert_int_equal(vsw_switch_bridge_iter(t->sw, stop_at_first, NULL),
			 42);
	assert_int_equal(vsw_switch_port_iter(t->sw, "br0", show_port, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "a");
	assert_string_equal(s.status[0], "2 rxq, 3 txq, ring 256");
	assert_true(s.link[0]);
	assert_false(s.link[1]);
	assert_int_equal(s.vlan_mode[1], VSW_VLAN_TRUNK);
	assert_int_equal(s.n_trunks[1], 2);
	assert_int_equal(s.trunk0[1], 7);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vsw_switch_port_iter(t->sw, "br1", show_port, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(vsw_switch_port_iter(t->sw, "brX", show_port, &s),
			 -ENOENT);

	/* errors, each with a message */
	assert_int_equal(vsw_switch_add_bridge(t->sw, "br0", err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "br0"));
	assert_int_equal(vsw_switch_add_bridge(t->sw, "", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsw_switch_add_bridge(t->sw, "a b", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "a", "dummy", NULL,
					     0, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(vsw_switch_add_port(t->sw, "br1", "a", "dummy", NULL,
					     0, err, sizeof(err)),
			 -EEXIST);
	assert_int_equal(vsw_switch_add_port(t->sw, "nobr", "x", "dummy", NULL,
					     0, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "nobr"));
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "x", "warp", NULL, 0,
					     err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "warp"));
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "x", "dummy", bad, 1,
					     err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "x", "dummy", badv,
					     1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "rxq"));
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "x", "dummy", badr,
					     1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "power of two"));
	assert_null(vsw_switch_port_find(t->sw, "x"));
	assert_int_equal(vsw_switch_del_port(t->sw, "x", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(vsw_switch_del_bridge(t->sw, "x", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(vsw_switch_port_stats(t->sw, "x", NULL), -ENOENT);
	assert_int_equal(vsw_switch_pmd_stats(t->sw, 99, NULL), -EINVAL);

	/* registry and option helpers */
	assert_ptr_equal(vsw_port_ops_find("dummy"), &vsw_port_dummy_ops);
	assert_null(vsw_port_ops_find("nope"));
	assert_null(vsw_port_ops_find(NULL));
	assert_ptr_equal(vsw_port_ops_at(0), &vsw_port_dummy_ops);
	assert_string_equal(vsw_port_type(t->p[0]), "dummy");
	assert_string_equal(vsw_port_name(t->p[0]), "a");
	assert_int_not_equal(vsw_port_id(t->p[0]), vsw_port_id(t->p[1]));

	/* a bridge with ports goes with them; the ports' names are free */
	assert_int_equal(vsw_switch_add_port(t->sw, "br1", "z", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_del_bridge(t->sw, "br1", err, sizeof(err)),
			 0);
	assert_null(vsw_switch_port_find(t->sw, "z"));
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "z", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	assert_true(__atomic_load_n(&t->logs, __ATOMIC_RELAXED) > 0);
}

/* bridges are separate broadcast domains */
static void test_two_bridges(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a, *b, *c, *d;
	uint8_t A[6], f[128];
	char err[128];
	size_t n;

	a = ts_add(t, "a", NULL);
	b = ts_add(t, "b", NULL);
	assert_int_equal(vsw_switch_add_bridge(t->sw, "br1", err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_add_port(t->sw, "br1", "c", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_add_port(t->sw, "br1", "d", "dummy", NULL,
					     0, err, sizeof(err)),
			 0);
	c = t->p[t->n_ports++] = vsw_switch_port_find(t->sw, "c");
	d = t->p[t->n_ports++] = vsw_switch_port_find(t->sw, "d");
	ts_mac(A, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(a, f, n);
	ts_inject(c, f, n);
	ts_settle(t);
	ts_expect(b, f, n);
	ts_expect(d, f, n);
	ts_expect_none(b);
	ts_expect_none(d);
	ts_expect_none(a);
	ts_expect_none(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle_sleep, setup_sleepy,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_idle_sleep, setup_sleepy2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_force_poll, setup_poll,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_spin, setup_sleepy,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_no_wait_fd, setup_sleepy,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_threads_queues,
						setup_sleepy, ts_teardown),
		cmocka_unit_test_setup_teardown(test_add_del_under_traffic,
						ts_setup1, ts_teardown),
		cmocka_unit_test_setup_teardown(test_add_del_under_traffic,
						ts_setup2, ts_teardown),
		cmocka_unit_test_setup_teardown(test_control_loop, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_show_and_errors, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_two_bridges, ts_setup2,
						ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
