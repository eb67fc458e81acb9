/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: run-time port options (vsw_switch_set_port_opts) and the
 * rate limits on dummy ports. The buckets are tiny (a few frames) and the
 * rates tiny (1 kbit/s), so what passes is the burst plus what the real
 * clock earned while the test ran, an upper bound computed from the time
 * measured, never a timing assertion.
 */
#include "test_switch_th.h"

#include "vsw_time.h"

#define FRAME 100 /* bytes: 800 bits */

static unsigned rate_opts(const char *spec, struct vsw_port_opt *o,
			  char buf[][64])
{
	unsigned n = 0;
	const char *s = spec;

	while (s != NULL && *s != '\0' && n < 8) {
		const char *sp = strchr(s, ' ');
		size_t len = sp ? (size_t)(sp - s) : strlen(s);
		char *eq;

		snprintf(buf[n], 64, "%.*s", (int)len, s);
		eq = strchr(buf[n], '=');
		assert_non_null(eq);
		*eq = '\0';
		o[n].key = buf[n];
		o[n].value = eq + 1;
		n++;
		s = sp ? sp + 1 : NULL;
	}
	return n;
}

/* set_port_opts with "k=v k=v" (or ""), the message into err. */
static int set_opts(struct ts *t, const char *port, const char *spec, char *err,
		    size_t len)
{
	struct vsw_port_opt o[8];
	char buf[8][64];
	unsigned n = rate_opts(spec, o, buf);

	return vsw_switch_set_port_opts(t->sw, port, o, n, err, len);
}

/* Drain port p; the frames it had. */
static unsigned drain(struct vsw_port *p)
{
	uint8_t buf[2048];
	unsigned got = 0;

	while (vsw_port_dummy_collect(p, buf, sizeof(buf), NULL, NULL) > 0)
		got++;
	return got;
}

/* Inject n broadcast frames on a; the frames b got, drained. */
static unsigned blast(struct ts *t, struct vsw_port *a, struct vsw_port *b,
		      unsigned n, uint64_t *elapsed_ms)
{
	static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[FRAME], src[6];
	uint64_t t0 = vsw_now_ms();
	unsigned i;

	ts_mac(src, 1);
	for (i = 0; i < n; i++) {
		ts_frame(f, bc, src, false, 0, FRAME, (uint8_t)i);
		ts_inject(a, f, FRAME);
	}
	ts_settle(t);
	*elapsed_ms = vsw_now_ms() - t0;
	return drain(b);
}

/* The burst in frames, plus what elapsed ms at 1 kbit/s earned, plus 1. */
static unsigned bound(unsigned burst_frames, uint64_t ms)
{
	return burst_frames + (unsigned)(ms / (FRAME * 8)) + 1;
}

static void test_ingress_policing(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a, *b;
	struct vsw_port_stats st;
	uint64_t ms;
	unsigned got;

	/* 1 kbit/s, burst 8 kbit: 10 frames of 800 bits */
	a = ts_add(t, "a", "ring=64", "ingress_policing_rate=1",
		   "ingress_policing_burst=8", NULL);
	b = ts_add(t, "b", "ring=64", NULL);
	got = blast(t, a, b, 40, &ms);
	assert_true(got >= 10);
	assert_true(got <= bound(10, ms));
	st = ts_stats(t, "a");
	assert_int_equal(st.rx.packets, 40);
	assert_int_equal(st.rx.drops[VSW_DROP_RX_POLICED], 40 - got);
	assert_int_equal(st.rx.bytes, 40 * FRAME);
	assert_string_equal(vsw_drop_reason_name(VSW_DROP_RX_POLICED),
			    "rx_policed");
	assert_false(vsw_drop_reason_tx(VSW_DROP_RX_POLICED));
	assert_true(vsw_drop_reason_tx(VSW_DROP_TX_RATE));
	assert_true(vsw_drop_reason_tx(VSW_DROP_TX_FULL));
	assert_false(vsw_drop_reason_tx(VSW_DROP_NO_DEST));
}

static void test_egress_max_rate(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a, *b;
	struct vsw_port_stats st;
	uint64_t ms;
	unsigned got;

	a = ts_add(t, "a", "ring=64", NULL);
	b = ts_add(t, "b", "ring=64", "max-rate=1000", "max-burst=4000", NULL);
	got = blast(t, a, b, 40, &ms);
	assert_true(got >= 5);
	assert_true(got <= bound(5, ms));
	st = ts_stats(t, "b");
	assert_int_equal(st.tx.packets, got);
	assert_int_equal(st.tx.drops[VSW_DROP_TX_RATE], 40 - got);
	st = ts_stats(t, "a");
	assert_int_equal(st.rx.drops[VSW_DROP_RX_POLICED], 0);
}

/* A rule into br0's flow table. */
static void rate_flow(struct ts *t, const char *text)
{
	struct vsw_flow_spec spec;
	char err[256];

	assert_int_equal(vsw_flow_parse(text, VSW_FLOW_PARSE_ADD, NULL, &spec,
					err, sizeof(err)),
			 0);
	if (vsw_switch_flow_add(t->sw, "br0", &spec, err, sizeof(err)) != 0)
		fail_msg("flow '%s': %s", text, err);
	vsw_flow_spec_fini(&spec);
}

/*
 * max-rate on the flow path's frame-by-frame sends (an edit after the
 * output, a goto_table pipeline): the same drops, counted as tx_rate.
 */
static void test_egress_max_rate_flows(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a, *b, *c;
	struct vsw_port_stats st;
	uint64_t ms;
	unsigned got;

	a = ts_add(t, "a", "ring=64", NULL);
	b = ts_add(t, "b", "ring=64", "max-rate=1000", "max-burst=4000", NULL);
	c = ts_add(t, "c", "ring=64", NULL);
	rate_flow(t, "priority=10,actions=output:2,"
		     "mod_dl_src:02:00:00:00:00:09,output:3");
	got = blast(t, a, b, 40, &ms);
	assert_true(got >= 5);
	assert_true(got <= bound(5, ms));
	assert_int_equal(drain(c), 40); /* c has no limit */
	st = ts_stats(t, "b");
	assert_int_equal(st.tx.packets, got);
	assert_int_equal(st.tx.drops[VSW_DROP_TX_RATE], 40 - got);
	st = ts_stats(t, "c");
	assert_int_equal(st.tx.drops[VSW_DROP_TX_RATE], 0);
}

/*
 * The tokens a burst took for its frame-by-frame sends and did not use go
 * back: at 1 bit/s (nothing earned while the test runs) a bucket of ten
 * frames passes exactly ten over bursts of 3, 7 and 1 frames.
 */
static void test_egress_credit_returned(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a, *b;
	struct vsw_port_stats st;
	uint64_t ms;

	a = ts_add(t, "a", "ring=64", NULL);
	b = ts_add(t, "b", "ring=64", "max-rate=1", "max-burst=8000", NULL);
	rate_flow(t, "priority=10,actions=goto_table:1");
	rate_flow(t, "table=1,actions=output:2");
	assert_int_equal(blast(t, a, b, 3, &ms), 3);
	assert_int_equal(blast(t, a, b, 7, &ms), 7);
	assert_int_equal(blast(t, a, b, 1, &ms), 0);
	st = ts_stats(t, "b");
	assert_int_equal(st.tx.packets, 10);
	assert_int_equal(st.tx.bytes, 10 * FRAME);
	assert_int_equal(st.tx.drops[VSW_DROP_TX_RATE], 1);
}

/* Set, change and remove a policer on running ports. */
static void test_live_rate(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a, *b;
	char err[256];
	uint64_t ms;
	unsigned got;

	a = ts_add(t, "a", "ring=64", NULL);
	b = ts_add(t, "b", "ring=64", NULL);
	assert_int_equal(blast(t, a, b, 30, &ms), 30);
	assert_int_equal(set_opts(t, "a",
				  "ring=64 ingress_policing_rate=1 "
				  "ingress_policing_burst=8",
				  err, sizeof(err)),
			 0);
	got = blast(t, a, b, 30, &ms);
	assert_true(got >= 10 && got <= bound(10, ms));
	/* the same settings again: nothing changes (the bucket stays) */
	assert_int_equal(set_opts(t, "a",
				  "ingress_policing_rate=1 ring=64 "
				  "ingress_policing_burst=8",
				  err, sizeof(err)),
			 0);
	/* removed: everything passes again */
	assert_int_equal(set_opts(t, "a", "ring=64", err, sizeof(err)), 0);
	assert_int_equal(blast(t, a, b, 30, &ms), 30);
	/* egress, live */
	assert_int_equal(set_opts(t, "b",
				  "ring=64 max-rate=1000 max-burst=4000", err,
				  sizeof(err)),
			 0);
	got = blast(t, a, b, 30, &ms);
	assert_true(got >= 5 && got <= bound(5, ms));
	assert_int_equal(set_opts(t, "b", "ring=64", err, sizeof(err)), 0);
	assert_int_equal(blast(t, a, b, 30, &ms), 30);
}

/* A provider option that changes live: the dummy's queues and link. */
static int info_cb(const struct vsw_port_info *info, void *arg)
{
	struct vsw_port_info *out = arg;

	if (strcmp(info->name, "a") == 0)
		*out = *info;
	return 0;
}

static void test_live_provider(void **state)
{
	struct ts *t = *state;
	struct vsw_port_info info;
	struct vsw_port *a, *b;
	char err[256];
	uint64_t ms;

	a = ts_add(t, "a", "ring=64", NULL);
	b = ts_add(t, "b", "ring=64", NULL);
	assert_int_equal(
		set_opts(t, "a", "ring=64 rxq=2 txq=3", err, sizeof(err)), 0);
	vsw_switch_port_iter(t->sw, "br0", info_cb, &info);
	assert_int_equal(info.n_rxq, 2);
	assert_int_equal(info.n_txq, 3);
	assert_int_equal(blast(t, a, b, 5, &ms), 5);
	/* link down on b: b gets nothing, counted tx_down */
	assert_int_equal(
		set_opts(t, "b", "ring=64 link=down", err, sizeof(err)), 0);
	assert_int_equal(blast(t, a, b, 5, &ms), 0);
	assert_int_equal(ts_stats(t, "b").tx.drops[VSW_DROP_TX_DOWN], 5);
	assert_int_equal(set_opts(t, "b", "ring=64", err, sizeof(err)), 0);
	assert_int_equal(blast(t, a, b, 5, &ms), 5);
}

/* Every refusal leaves the port as it ran. */
static void test_errors(void **state)
{
	struct ts *t = *state;
	struct vsw_port_opt o = {"ingress_policing_rate", "x"};
	struct vsw_port_info info;
	struct vsw_port *a, *b;
	char err[256];
	uint64_t ms;

	a = ts_add(t, "a", "ring=64", NULL);
	b = ts_add(t, "b", "ring=64", NULL);
	assert_int_equal(set_opts(t, "nope", "", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nope"));
	assert_int_equal(set_opts(t, "a", "ring=64 ingress_policing_rate=x",
				  err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "ingress_policing_rate"));
	assert_int_equal(set_opts(t, "a", "ring=64 max-rate=-1", err,
				  sizeof(err)),
			 -EINVAL);
	assert_int_equal(set_opts(t, "a",
				  "ring=64 ingress_policing_rate=99999999999",
				  err, sizeof(err)),
			 -EINVAL);
	/* not live: the ring size */
	assert_int_equal(set_opts(t, "a", "ring=128", err, sizeof(err)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err, "option ring of type dummy cannot change"));
	assert_non_null(strstr(err, "del-port and add-port"));
	/* the provider refuses a bad value or key, the policer is not set */
	assert_int_equal(set_opts(t, "a",
				  "ring=64 rxq=99 ingress_policing_rate=1", err,
				  sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "rxq"));
	assert_int_equal(set_opts(t, "a",
				  "ring=64 foo=1 ingress_policing_rate=1", err,
				  sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "foo"));
	vsw_switch_port_iter(t->sw, "br0", info_cb, &info);
	assert_int_equal(info.n_rxq, 1);
	assert_int_equal(blast(t, a, b, 30, &ms), 30);
	/* add_port refuses a bad rate option before opening anything */
	assert_int_equal(vsw_switch_add_port(t->sw, "br0", "c", "dummy", &o, 1,
					     err, sizeof(err)),
			 -EINVAL);
	assert_null(vsw_switch_port_find(t->sw, "c"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ingress_policing,
						ts_setup1, ts_teardown),
		cmocka_unit_test_setup_teardown(test_egress_max_rate, ts_setup2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_egress_max_rate_flows,
						ts_setup2, ts_teardown),
		cmocka_unit_test_setup_teardown(test_egress_credit_returned,
						ts_setup1, ts_teardown),
		cmocka_unit_test_setup_teardown(test_live_rate, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_live_provider, ts_setup2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_errors, ts_setup1,
						ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
