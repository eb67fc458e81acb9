/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the learning switch over dummy ports with real data threads
 * (every test runs with 1 and with 2 threads): flooding, learning, MAC
 * moves, ageing, flush and dump, exact counters.
 */
#include "test_switch_th.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* unknown -> flood (not back to the sender); then unicast only */
static void test_learning(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL);
	uint8_t A[6], B[6], f[128], g[128];
	size_t n, m;

	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, B, A, false, 0, 60, 1);
	ts_inject(a, f, n);
	ts_settle(t);
	ts_expect(b, f, n);
	ts_expect(c, f, n);
	ts_expect_none(a);
	ts_expect_none(b);
	ts_expect_none(c);

	/* B answers: A is known on a, only a gets it (and B is learned) */
	m = ts_frame(g, A, B, false, 0, 100, 2);
	ts_inject(b, g, m);
	ts_settle(t);
	ts_expect(a, g, m);
	ts_expect_none(b);
	ts_expect_none(c);

	/* A -> B now unicast to b only, 40 of them */
	for (unsigned i = 0; i < 40; i++) {
		n = ts_frame(f, B, A, false, 0, 64 + i, (uint8_t)i);
		ts_inject(a, f, n);
	}
	ts_settle(t);
	for (unsigned i = 0; i < 40; i++) {
		n = ts_frame(f, B, A, false, 0, 64 + i, (uint8_t)i);
		ts_expect(b, f, n);
	}
	ts_expect_none(b);
	ts_expect_none(c);
	ts_expect_none(a);
}

static void test_flood_bcast_mcast(void **state)
{
	struct ts *t = *state;
	struct vsw_port *p[4];
	const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
	uint8_t A[6], M[6], f[128], g[128];
	size_t n, m;
	unsigned i;

	p[0] = ts_add(t, "p0", NULL);
	p[1] = ts_add(t, "p1", NULL);
	p[2] = ts_add(t, "p2", NULL);
	p[3] = ts_add(t, "p3", NULL);
	ts_mac(A, 10);
	n = ts_frame(f, bcast, A, false, 0, 60, 3);
	m = ts_frame(g, mcast, A, false, 0, 90, 4);
	ts_inject(p[2], f, n);
	ts_inject(p[2], g, m);
	ts_settle(t);
	for (i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		ts_expect(p[i], f, n);
		ts_expect(p[i], g, m);
		ts_expect_none(p[i]);
	}
	ts_expect_none(p[2]);

	/* a multicast source is never learned: frames to it still flood */
	memcpy(M, mcast, 6);
	n = ts_frame(f, A, M, false, 0, 60, 5);
	ts_inject(p[0], f, n); /* A is known on p2: unicast */
	ts_settle(t);
	ts_expect(p[2], f, n);
	ts_expect_none(p[1]);
	ts_expect_none(p[3]);
	struct vsw_pmd_stats st = {0}, sum = {0};
	for (i = 0; i < vsw_switch_n_threads(t->sw); i++) {
		assert_int_equal(vsw_switch_pmd_stats(t->sw, i, &st), 0);
		sum.fdb_learned += st.fdb_learned;
		sum.packets += st.packets;
	}
	assert_int_equal(sum.fdb_learned, 1); /* A only */
	assert_int_equal(sum.packets, 3);
}

static void test_mac_move(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL);
	uint8_t A[6], B[6], f[128];
	size_t n;

	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(a, f, n);
	ts_settle(t);
	ts_expect(b, f, n);
	ts_expect(c, f, n);
	/* A moves to c */
	ts_inject(c, f, n);
	ts_settle(t);
	ts_expect(a, f, n);
	ts_expect(b, f, n);
	n = ts_frame(f, A, B, false, 0, 70, 2);
	ts_inject(b, f, n);
	ts_settle(t);
	ts_expect(c, f, n);
	ts_expect_none(a);
	ts_expect_none(c);
}

struct dump_ctx {
	unsigned n;
	char port[8][16];
	uint16_t vlan[8];
	uint8_t mac[8][6];
	unsigned age[8];
};

static int dump_cb(const struct vsw_fdb_entry *e, void *arg)
{
	struct dump_ctx *d = arg;

	if (d->n < 8) {
		snprintf(d->port[d->n], 16, "%s", e->port);
		d->vlan[d->n] = e->vlan;
		memcpy(d->mac[d->n], e->mac, 6);
		d->age[d->n] = e->age_s;
	}
	d->n++;
	return 0;
}

static void test_ageing(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL);
	struct dump_ctx d;
	uint8_t A[6], B[6], f[128];
	char err[128];
	size_t n;

	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(a, f, n);
	ts_settle(t);
	ts_expect(b, f, n);
	ts_expect(c, f, n);

	/* 299 s later: still known (the sweep runs, nothing expires) */
	ts_advance(t, 299000);
	vsw_switch_handle(t->sw, NULL, 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.port[0], "a");
	assert_int_equal(d.vlan[0], 0);
	assert_memory_equal(d.mac[0], A, 6);
	assert_int_equal(d.age[0], 299);
	n = ts_frame(f, A, B, false, 0, 60, 2);
	ts_inject(b, f, n);
	ts_settle(t);
	ts_expect(a, f, n);
	ts_expect_none(c);

	/* 2 more seconds: 301 s since A was seen, B was seen 2 s ago */
	ts_advance(t, 2000);
	vsw_switch_handle(t->sw, NULL, 0);
	memset(&d, 0, sizeof(d));
	vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.port[0], "b");
	ts_inject(b, f, n);
	ts_settle(t);
	ts_expect(a, f, n);
	ts_expect(c, f, n); /* flooded again */

	/* a shorter ageing time applies to existing entries */
	assert_int_equal(vsw_switch_set_ageing(t->sw, 0, err, sizeof(err)),
			 -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(vsw_switch_set_ageing(t->sw, 5, err, sizeof(err)), 0);
	ts_advance(t, 6000);
	vsw_switch_handle(t->sw, NULL, 0);
	memset(&d, 0, sizeof(d));
	vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d);
	assert_int_equal(d.n, 0);
	/* the next sweep is at most a second away */
	assert_in_range(vsw_switch_timeout_ms(t->sw), 0, 1000);
}

static void test_flush(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL);
	struct dump_ctx d;
	uint8_t M[6], f[128];
	size_t n;
	unsigned i;

	for (i = 0; i < 3; i++) {
		ts_mac(M, 100 + i);
		n = ts_frame(f, bcast, M, false, 0, 60, 1);
		ts_inject(t->p[i], f, n);
	}
	ts_settle(t);
	memset(&d, 0, sizeof(d));
	assert_int_equal(vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(vsw_switch_fdb_dump(t->sw, "nope", dump_cb, &d),
			 -ENOENT);
	assert_int_equal(vsw_switch_fdb_flush(t->sw, "nope"), -ENOENT);
	assert_int_equal(vsw_switch_fdb_flush(t->sw, "br0"), 0);
	memset(&d, 0, sizeof(d));
	vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d);
	assert_int_equal(d.n, 0);
	while (vsw_port_dummy_collect(a, f, sizeof(f), NULL, NULL) > 0 ||
	       vsw_port_dummy_collect(b, f, sizeof(f), NULL, NULL) > 0 ||
	       vsw_port_dummy_collect(c, f, sizeof(f), NULL, NULL) > 0)
		;
	/* MAC 100 was on a: now unknown, flooded */
	ts_mac(M, 100);
	uint8_t S[6];
	ts_mac(S, 200);
	n = ts_frame(f, M, S, false, 0, 60, 9);
	ts_inject(c, f, n);
	ts_settle(t);
	ts_expect(a, f, n);
	ts_expect(b, f, n);
	/* many MACs: all learned, table slots reused after each flush */
	vsw_switch_fdb_flush(t->sw, "br0");
	for (unsigned round = 0; round < 3; round++) {
		for (i = 0; i < 200; i++) {
			ts_mac(M, 1000 + i);
			n = ts_frame(f, bcast, M, false, 0, 60, 1);
			ts_inject(a, f, n);
			if (i % 64 == 63)
				ts_settle(t);
		}
		ts_settle(t);
		memset(&d, 0, sizeof(d));
		vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d);
		assert_int_equal(d.n, 200);
		for (i = 0; i < 200; i++) {
			ts_mac(M, 1000 + i);
			n = ts_frame(f, bcast, M, false, 0, 60, 1);
			ts_expect(b, f, n);
			ts_expect(c, f, n);
		}
		vsw_switch_fdb_flush(t->sw, "br0");
		memset(&d, 0, sizeof(d));
		vsw_switch_fdb_dump(t->sw, "br0", dump_cb, &d);
		assert_int_equal(d.n, 0);
	}
}

static void test_counters(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL);
	struct vsw_port *b = ts_add(t, "b", "ring=4", NULL);
	struct vsw_port *c = ts_add(t, "c", "link=down", NULL);
	struct vsw_port_stats sa, sb, sc;
	struct vsw_queue_stats q;
	uint8_t A[6], B[6], f[128];
	size_t n;
	unsigned i;

	(void)c;
	ts_mac(A, 1);
	ts_mac(B, 2);
	/* B is on b (frame from b floods to a; c is down) */
	n = ts_frame(f, bcast, B, false, 0, 60, 1);
	ts_inject(b, f, n);
	ts_settle(t);
	ts_expect(a, f, n);
	/* 10 frames A -> B of 100 bytes: b's ring holds 4 */
	for (i = 0; i < 10; i++) {
		n = ts_frame(f, B, A, false, 0, 100, (uint8_t)i);
		ts_inject(a, f, n);
	}
	/* a runt and a hairpin (dst B learned on b, sent from b) */
	ts_inject(a, f, 13);
	n = ts_frame(f, B, B, false, 0, 60, 1);
	ts_inject(b, f, n);
	ts_settle(t);
	sa = ts_stats(t, "a");
	sb = ts_stats(t, "b");
	sc = ts_stats(t, "c");
	assert_int_equal(sa.rx.packets, 11);
	assert_int_equal(sa.rx.bytes, 10 * 100 + 13);
	assert_int_equal(sa.rx.drops[VSW_DROP_BAD_FRAME], 1);
	assert_int_equal(sa.tx.packets, 1);
	assert_int_equal(sa.tx.bytes, 60);
	assert_int_equal(sb.rx.packets, 2);
	assert_int_equal(sb.rx.bytes, 120);
	assert_int_equal(sb.rx.drops[VSW_DROP_NO_DEST], 1);
	assert_int_equal(sb.tx.packets, 4);
	assert_int_equal(sb.tx.bytes, 400);
	assert_int_equal(sb.tx.drops[VSW_DROP_TX_FULL], 6);
	assert_int_equal(sc.tx.packets, 0);
	assert_int_equal(sc.tx.drops[VSW_DROP_TX_DOWN], 1);
	assert_int_equal(sc.rx.packets, 0);
	for (i = 0; i < 4; i++) {
		n = ts_frame(f, B, A, false, 0, 100, (uint8_t)i);
		ts_expect(b, f, n);
	}
	ts_expect_none(b);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "b", true, 0, &q), 0);
	assert_int_equal(q.packets, 4);
	assert_int_equal(q.drops[VSW_DROP_TX_FULL], 6);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "b", true, 1, &q), 0);
	assert_int_equal(q.packets, 0);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "b", true, 64, &q),
			 -EINVAL);
	assert_int_equal(vsw_switch_queue_stats(t->sw, "x", true, 0, &q),
			 -ENOENT);
	assert_string_equal(vsw_drop_reason_name(VSW_DROP_TX_FULL), "tx_full");
	assert_null(vsw_drop_reason_name(VSW_DROP__COUNT));

	/* link comes up: c gets the next flood */
	vsw_port_set_link(c, true);
	n = ts_frame(f, bcast, A, false, 0, 60, 7);
	ts_inject(a, f, n);
	ts_settle(t);
	ts_expect(c, f, n);
	ts_expect(b, f, n);
	sc = ts_stats(t, "c");
	assert_int_equal(sc.tx.packets, 1);
}

/* frames keep their offload metadata; collect and inject limits */
static void test_vnet_meta(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", "ring=1024", NULL);
	struct vsw_port *b = ts_add(t, "b", "ring=1024", NULL);
	struct virtio_net_hdr_v1 h = {0}, got;
	uint8_t A[6], f[128], buf[256];
	struct vsw_port_stats sa;
	size_t n;
	int len;

	ts_mac(A, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 16;
	assert_int_equal(vsw_port_dummy_inject(a, 0, f, n, &h), 0);
	ts_settle(t);
	len = vsw_port_dummy_collect(b, buf, sizeof(buf), &got, NULL);
	assert_int_equal(len, (int)n);
	assert_int_equal(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(got.csum_start, 34);
	assert_int_equal(got.csum_offset, 16);
	assert_int_equal(vsw_port_dummy_collect(b, buf, 10, &got, NULL),
			 -EAGAIN);
	/* collect with a too small buffer keeps the frame */
	ts_inject(a, f, n);
	ts_settle(t);
	assert_int_equal(vsw_port_dummy_collect(b, buf, 10, NULL, NULL),
			 -EMSGSIZE);
	assert_int_equal(vsw_port_dummy_collect(b, buf, sizeof(buf), NULL,
						NULL),
			 (int)n);
	sa = ts_stats(t, "a");
	assert_int_equal(sa.rx.packets, 2);
	/* inject limits */
	assert_int_equal(vsw_port_dummy_inject(a, 1, f, n, NULL), -EINVAL);
	assert_int_equal(vsw_port_dummy_inject(a, 0, f, VSW_PKT_SMALL_ROOM + 1,
					       NULL),
			 -EINVAL);
}

#define BOTH(fn)                                                               \
	cmocka_unit_test_setup_teardown(fn, ts_setup1, ts_teardown),           \
		cmocka_unit_test_setup_teardown(fn, ts_setup2, ts_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_learning),  BOTH(test_flood_bcast_mcast),
		BOTH(test_mac_move),  BOTH(test_ageing),
		BOTH(test_flush),     BOTH(test_counters),
		BOTH(test_vnet_meta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
