/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the bridges' flow tables in the switch, over dummy ports with
 * real data threads (every test with 1 and 2 threads). Rules change the
 * forwarding as written (output, drop, VLAN push / pop, MAC and IPv4
 * rewrites with checksums, mirroring, in_port, flood, LOCAL, normal), the
 * per-rule counters equal what was sent, timeouts expire on the switch's
 * clock, and rule changes take effect for every later packet even with
 * warm exact-match caches; ofports, dpif and pmd statistics.
 */
#include <pthread.h>

#include "test_switch_th.h"

#include <vsw/flow.h>

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* add-flow / del-flows / mod-flows through the parser, checked */
static void flow_op(struct ts *t, const char *op, const char *s, bool strict,
		    int expect)
{
	enum vsw_flow_parse_mode mode = strcmp(op, "add") == 0 ? VSW_FLOW_PARSE_ADD
					: strcmp(op, "mod") == 0 ? VSW_FLOW_PARSE_MOD
								 : VSW_FLOW_PARSE_MATCH;
	struct vsw_flow_spec spec;
	char err[256];
	int ret;

	ret = vsw_flow_parse(s, mode, NULL, &spec, err, sizeof(err));
	if (ret != 0)
		fprintf(stderr, "parse '%s': %s\n", s, err);
	assert_int_equal(ret, 0);
	if (mode == VSW_FLOW_PARSE_ADD)
		ret = vsw_switch_flow_add(t->sw, "br0", &spec, err,
					  sizeof(err));
	else if (mode == VSW_FLOW_PARSE_MOD)
		ret = vsw_switch_flow_mod(t->sw, "br0", &spec, strict, err,
					  sizeof(err));
	else
		ret = vsw_switch_flow_del(t->sw, "br0", &spec, strict, err,
					  sizeof(err));
	vsw_flow_spec_fini(&spec);
	assert_int_equal(ret, expect);
}

static void add_flow(struct ts *t, const char *s)
{
	flow_op(t, "add", s, false, 0);
}

static void del_all(struct ts *t)
{
	char err[128];

	assert_true(vsw_switch_flow_del(t->sw, "br0", NULL, false, err,
					sizeof(err)) >= 0);
}

struct rule_ctr {
	unsigned priority;
	uint64_t packets, bytes;
	unsigned n_rules;
	char line[256];
};

static int ctr_cb(const struct vsw_flow_rule *r, const struct vsw_flow_stats *st,
		  const char *line, void *arg)
{
	struct rule_ctr *c = arg;

	c->n_rules++;
	if (vsw_flow_rule_priority(r) == c->priority) {
		c->packets = st->n_packets;
		c->bytes = st->n_bytes;
		snprintf(c->line, sizeof(c->line), "%s", line);
	}
	return 0;
}

/* The counters of the rule at priority prio (unique in these tests). */
static struct rule_ctr rule_ctr(struct ts *t, unsigned prio)
{
	struct rule_ctr c = {.priority = prio};

	assert_int_equal(vsw_switch_flow_dump(t->sw, "br0", NULL, ctr_cb, &c),
			 0);
	return c;
}

/* Four ports p1..p4 (ofports 1..4). */
static void four(struct ts *t)
{
	char name[8];
	unsigned i;

	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		ts_add(t, name, NULL);
	}
}

/* ---- IPv4 / UDP frames with real checksums ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* UDP checksum over the pseudo-header (0 means "fold gives 0": valid). */
static uint16_t udp_check(const uint8_t *ip, size_t ulen)
{
	uint32_t s = 0;

	s = sum16(ip + 12, 8, s);
	s += 17 + (uint32_t)ulen;
	s = sum16(ip + 20, ulen, s);
	return fold(s);
}

/* An untagged IPv4 / UDP frame src_ip -> dst_ip, valid checksums. */
static size_t udp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
			const uint8_t *sip, const uint8_t *dip, uint8_t seed)
{
	uint8_t *ip = f + 14, *u = ip + 20;
	size_t plen = 30, ulen = 8 + plen, i;
	uint16_t c;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, sip, 4);
	memcpy(ip + 16, dip, 4);
	c = fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	u[0] = 0x30;
	u[1] = 0x39;
	u[2] = 0x00;
	u[3] = 0x35;
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	u[6] = 0;
	u[7] = 0;
	for (i = 0; i < plen; i++)
		u[8 + i] = (uint8_t)(seed + i);
	c = udp_check(ip, ulen);
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return 14 + 20 + ulen;
}

/* ---- tests ---- */

/* The default table: one rule, normal forwarding, counted on it. */
static void test_default_normal(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], B[6], f[128];
	struct rule_ctr c;
	struct vsw_dpif_stats ds;
	size_t n;
	unsigned i;

	four(t);
	c = rule_ctr(t, 0);
	assert_int_equal(c.n_rules, 1);
	assert_non_null(strstr(c.line, "priority=0 actions=NORMAL"));
	assert_int_equal(vsw_switch_dpif_stats(t->sw, "br0", &ds), 0);
	assert_true(ds.fast_normal);
	assert_int_equal(ds.n_rules, 1);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, B, A, false, 0, 60, 1);
	for (i = 0; i < 5; i++)
		ts_inject(t->p[0], f, n);
	ts_settle(t);
	for (i = 0; i < 5; i++) {
		ts_expect(t->p[1], f, n);
		ts_expect(t->p[2], f, n);
		ts_expect(t->p[3], f, n);
	}
	ts_expect_none(t->p[0]);
	c = rule_ctr(t, 0);
	assert_int_equal(c.packets, 5);
	assert_int_equal(c.bytes, 5 * n);
	/* the fast path did no lookup */
	assert_int_equal(vsw_switch_dpif_stats(t->sw, "br0", &ds), 0);
	assert_int_equal(ds.emc_hits + ds.emc_misses, 0);
}

/* output:N, drop, in_port, flood; and counters per rule */
static void test_output_drop_inport_flood(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], B[6], f[128], g[128];
	struct vsw_port_stats st;
	struct rule_ctr c;
	size_t n, m;
	unsigned i;

	four(t);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, bcast, A, false, 0, 70, 3);
	m = ts_frame(g, B, A, false, 0, 90, 4);
	add_flow(t, "priority=10,in_port=1,actions=output:3");
	add_flow(t, "priority=20,in_port=2,actions=drop");
	add_flow(t, "priority=30,in_port=3,actions=in_port");
	add_flow(t, "priority=40,in_port=4,actions=flood");
	for (i = 0; i < 7; i++)
		ts_inject(t->p[0], f, n);
	for (i = 0; i < 3; i++)
		ts_inject(t->p[1], g, m);
	ts_settle(t);
	/* p1's broadcast goes to p3 only (7 times); p2's are dropped */
	for (i = 0; i < 7; i++)
		ts_expect(t->p[2], f, n);
	ts_inject(t->p[2], g, m);
	ts_settle(t);
	/* p3's frame comes back to p3 */
	ts_expect(t->p[2], g, m);
	ts_inject(t->p[3], f, n);
	ts_settle(t);
	/* p4's flood: p1, p2, p3, not p4 */
	ts_expect(t->p[0], f, n);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[2], f, n);
	for (i = 0; i < 4; i++)
		ts_expect_none(t->p[i]);
	c = rule_ctr(t, 10);
	assert_int_equal(c.packets, 7);
	assert_int_equal(c.bytes, 7 * n);
	c = rule_ctr(t, 20);
	assert_int_equal(c.packets, 3);
	assert_int_equal(c.bytes, 3 * m);
	assert_non_null(strstr(c.line, "n_packets=3,"));
	c = rule_ctr(t, 0);
	assert_int_equal(c.packets, 0);
	st = ts_stats(t, "p2");
	assert_int_equal(st.rx.drops[VSW_DROP_NO_DEST], 3);
	/* output to the in port itself is dropped (OpenFlow) */
	add_flow(t, "priority=50,in_port=1,actions=output:1");
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	for (i = 0; i < 4; i++)
		ts_expect_none(t->p[i]);
}

/* mod_vlan_vid pushes a tag, strip_vlan removes it, mod_dl_* rewrite */
static void test_vlan_and_mac_edits(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], B[6], C[6], f[128], tagged[128], exp[128];
	size_t n, m;

	four(t);
	ts_mac(A, 1);
	ts_mac(B, 2);
	ts_mac(C, 3);
	n = ts_frame(f, B, A, false, 0, 60, 5);
	m = ts_frame(tagged, B, A, true, 10, 60, 5);
	add_flow(t, "in_port=1,actions=mod_vlan_vid:10,output:2");
	add_flow(t, "in_port=2,dl_vlan=10,actions=strip_vlan,output:1");
	add_flow(t, "priority=1,in_port=2,actions=drop");
	add_flow(t, "in_port=3,actions=mod_dl_src:02:00:00:00:00:03,"
		    "mod_dl_dst:ff:ff:ff:ff:ff:ff,output:4");
	ts_inject(t->p[0], f, n);
	ts_inject(t->p[1], tagged, m);
	ts_inject(t->p[2], f, n);
	ts_settle(t);
	ts_expect(t->p[1], tagged, m);
	ts_expect(t->p[0], f, n);
	memcpy(exp, f, n);
	memcpy(exp, bcast, 6);
	memcpy(exp + 6, C, 6);
	ts_expect(t->p[3], exp, n);
	ts_expect_none(t->p[2]);
	/* a tagged frame with another VID does not match the strip rule */
	m = ts_frame(tagged, B, A, true, 20, 60, 6);
	ts_inject(t->p[1], tagged, m);
	ts_settle(t);
	ts_expect_none(t->p[0]);
}

/*
 * goto_table: table 0 tags and sends on, table 5 outputs by VLAN (the key
 * of the edited frame), a miss in table 5 drops; counters on every rule
 * the frame went through.
 */
static void test_goto_table(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], B[6], f[128], tagged[128];
	size_t n, m;
	char err[256];
	struct vsw_flow_spec spec;

	four(t);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, B, A, false, 0, 60, 5);
	m = ts_frame(tagged, B, A, true, 10, 60, 5);
	del_all(t);
	add_flow(t, "priority=300,in_port=1,actions=mod_vlan_vid:10,"
		    "goto_table:5");
	add_flow(t, "priority=200,in_port=2,actions=output:4,goto_table:5");
	add_flow(t, "table=5,priority=100,dl_vlan=10,actions=output:3");
	add_flow(t, "table=5,priority=90,in_port=3,actions=output:1");
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	ts_expect(t->p[2], tagged, m); /* table 5 saw the tag */
	ts_expect_none(t->p[1]);
	assert_int_equal(rule_ctr(t, 300).packets, 1);
	assert_int_equal(rule_ctr(t, 100).packets, 1);
	assert_int_equal(rule_ctr(t, 100).bytes, m);
	assert_non_null(strstr(rule_ctr(t, 100).line, "table=5,"));
	/* in_port=2 untagged: output:4 in table 0, then a miss in 5 */
	ts_inject(t->p[1], f, n);
	ts_settle(t);
	ts_expect(t->p[3], f, n);
	ts_expect_none(t->p[2]);
	ts_expect_none(t->p[0]);
	assert_int_equal(rule_ctr(t, 200).packets, 1);
	assert_int_equal(rule_ctr(t, 90).packets, 0);
	/* a goto back to table 0 is refused with a message */
	assert_int_equal(vsw_flow_parse("table=5,actions=drop",
					VSW_FLOW_PARSE_ADD, NULL, &spec, err,
					sizeof(err)),
			 0);
	spec.actions->a[0].type = VSW_FLOW_ACT_GOTO_TABLE;
	spec.actions->a[0].arg = 1;
	spec.actions->n = 1;
	assert_int_equal(vsw_switch_flow_add(t->sw, "br0", &spec, err,
					     sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "goto_table"));
	vsw_flow_spec_fini(&spec);
	/* check_overlap from the switch: -EEXIST with a message */
	flow_op(t, "add", "check_overlap,table=5,priority=100,ip,actions=drop",
		false, -EEXIST);
}

/* mod_nw_src / mod_nw_dst keep the IPv4 and UDP checksums right */
static void test_nw_edits_checksums(void **state)
{
	struct ts *t = *state;
	static const uint8_t sip[4] = {10, 0, 0, 1}, dip[4] = {10, 0, 0, 2};
	static const uint8_t nsip[4] = {192, 168, 7, 9};
	static const uint8_t ndip[4] = {172, 16, 200, 1};
	uint8_t A[6], B[6], f[128], g[128];
	int len;
	size_t n;

	four(t);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = udp_frame(f, B, A, sip, dip, 7);
	assert_int_equal(udp_check(f + 14, n - 34), 0);
	add_flow(t, "udp,in_port=1,nw_dst=10.0.0.2,actions=mod_nw_src:"
		    "192.168.7.9,mod_nw_dst:172.16.200.1,output:2");
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	len = vsw_port_dummy_collect(t->p[1], g, sizeof(g), NULL, NULL);
	assert_int_equal(len, (int)n);
	assert_memory_equal(g + 26, nsip, 4);
	assert_memory_equal(g + 30, ndip, 4);
	/* IP header checksum: the header sums to 0xffff */
	assert_int_equal(fold(sum16(g + 14, 20, 0)), 0);
	/* UDP checksum valid over the new pseudo-header */
	assert_int_equal(udp_check(g + 14, n - 34), 0);
	/* everything else unchanged */
	assert_memory_equal(g, f, 24);
	assert_memory_equal(g + 34, f + 34, 6);
	assert_memory_equal(g + 42, f + 42, n - 42);
	ts_expect_none(t->p[1]);
}

/* mirroring: several outputs; an edit between outputs gives two versions */
static void test_mirroring(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], B[6], f[128], e[128];
	size_t n;
	unsigned i;

	four(t);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, B, A, false, 0, 64, 8);
	add_flow(t, "in_port=1,actions=output:2,output:3");
	add_flow(t, "in_port=4,actions=output:2,mod_dl_dst:ff:ff:ff:ff:ff:ff,"
		    "output:3");
	for (i = 0; i < 40; i++) /* more than a burst */
		ts_inject(t->p[0], f, n);
	ts_settle(t);
	for (i = 0; i < 40; i++) {
		ts_expect(t->p[1], f, n);
		ts_expect(t->p[2], f, n);
	}
	ts_expect_none(t->p[1]);
	ts_expect_none(t->p[2]);
	ts_expect_none(t->p[3]);
	ts_inject(t->p[3], f, n);
	ts_settle(t);
	memcpy(e, f, n);
	memcpy(e, bcast, 6);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[2], e, n);
	ts_expect_none(t->p[0]);
	/* the same port twice gets two copies */
	add_flow(t, "priority=40000,in_port=1,actions=output:2,output:2");
	for (i = 0; i < 32; i++)
		ts_inject(t->p[0], f, n);
	ts_settle(t);
	for (i = 0; i < 64; i++)
		ts_expect(t->p[1], f, n);
	ts_expect_none(t->p[1]);
}

/* normal as an action among rules, with VLANs; normal plus a mirror */
static void test_normal_action(void **state)
{
	struct ts *t = *state;
	struct vsw_vlan_config acc = {.mode = VSW_VLAN_ACCESS, .tag = 10};
	uint8_t A[6], B[6], f[128], tagged[128], arp[128];
	char err[128];
	size_t n, m, k;

	four(t);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "p1", &acc, err,
						  sizeof(err)),
			 0);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, bcast, A, false, 0, 60, 9);
	m = ts_frame(tagged, bcast, A, true, 10, 60, 9);
	k = ts_frame(arp, bcast, A, false, 0, 60, 9);
	arp[12] = 0x08;
	arp[13] = 0x06;
	del_all(t);
	add_flow(t, "priority=10,ip,actions=normal,output:4");
	add_flow(t, "priority=5,actions=drop");
	/* IPv4 from access port p1 (VLAN 10): normal floods it tagged to
	 * p2 / p3 (trunks of every VLAN), and p4 gets the mirror as is */
	ts_inject(t->p[0], f, n);
	ts_inject(t->p[0], arp, k);
	ts_settle(t);
	ts_expect(t->p[1], tagged, m);
	ts_expect(t->p[2], tagged, m);
	/* the frames as they are leave first, then the re-tagged ones */
	ts_expect(t->p[3], f, n);
	ts_expect(t->p[3], tagged, m);
	ts_expect_none(t->p[0]);
	ts_expect_none(t->p[1]);
	ts_expect_none(t->p[2]);
	ts_expect_none(t->p[3]);
}

/* LOCAL is the bridge's port named like the bridge */
static void test_local(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], f[128];
	size_t n;

	four(t);
	ts_add(t, "br0", NULL);
	ts_mac(A, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 10);
	add_flow(t, "in_port=1,actions=LOCAL");
	add_flow(t, "in_port=5,actions=output:2");
	ts_inject(t->p[0], f, n);
	ts_inject(t->p[4], f, n);
	ts_settle(t);
	ts_expect(t->p[4], f, n);
	ts_expect(t->p[1], f, n);
	ts_expect_none(t->p[2]);
}

/* idle and hard timeouts on the switch's (fake) clock */
static void test_timeouts(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], f[128];
	struct rule_ctr c;
	size_t n;

	four(t);
	ts_mac(A, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 11);
	add_flow(t, "priority=10,in_port=1,idle_timeout=5,actions=output:2");
	add_flow(t, "priority=20,in_port=3,hard_timeout=3,actions=output:4");
	ts_advance(t, 2000);
	assert_int_equal(vsw_switch_flow_expire(t->sw, "br0"), 0);
	/* traffic keeps the idle rule; the hard one expires anyway */
	ts_inject(t->p[0], f, n);
	ts_inject(t->p[2], f, n);
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[3], f, n);
	ts_advance(t, 4000); /* 6 s: idle 4 s since use, hard 6 s > 3 */
	assert_int_equal(vsw_switch_flow_expire(t->sw, "br0"), 1);
	c = rule_ctr(t, 20);
	assert_int_equal(c.n_rules, 2);
	assert_int_equal(c.packets, 0); /* gone: not found */
	ts_advance(t, 1500); /* 5.5 s idle */
	assert_int_equal(vsw_switch_flow_expire(t->sw, "br0"), 1);
	c = rule_ctr(t, 10);
	assert_int_equal(c.n_rules, 1);
	/* back on the default rule: normal floods */
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[2], f, n);
	ts_expect(t->p[3], f, n);
}

/*
 * Rule changes with warm caches: after each add / del / mod returns, every
 * packet follows the new rules (no stale EMC decision), with background
 * traffic on other ports all along.
 */
struct bg {
	struct ts *t;
	uint32_t stop;
	unsigned sent;
};

static void *bg_main(void *arg)
{
	struct bg *b = arg;
	uint8_t A[6], f[128];
	size_t n;

	ts_mac(A, 77);
	n = ts_frame(f, bcast, A, false, 0, 60, 12);
	while (!__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
		if (vsw_port_dummy_inject(b->t->p[3], 0, f, n, NULL) == 0)
			b->sent++;
		else
			ts_sleep_us(50);
	}
	return NULL;
}

static void drain(struct vsw_port *p)
{
	uint8_t buf[256];

	while (vsw_port_dummy_collect(p, buf, sizeof(buf), NULL, NULL) >= 0)
		;
}

static void test_changes_under_traffic(void **state)
{
	struct ts *t = *state;
	struct bg b = {.t = t};
	uint8_t A[6], B[6], f[128];
	pthread_t th;
	size_t n;
	unsigned round, i;

	four(t);
	ts_add(t, "p5", NULL);
	ts_mac(A, 1);
	ts_mac(B, 2);
	n = ts_frame(f, B, A, false, 0, 60, 13);
	/* p4's background traffic goes to p5 (never collected: tx_full) */
	add_flow(t, "priority=100,in_port=4,actions=output:5");
	assert_int_equal(pthread_create(&th, NULL, bg_main, &b), 0);
	for (round = 0; round < 60; round++) {
		unsigned want = round % 3; /* 0: to p2, 1: drop, 2: p3 */

		if (want == 0)
			add_flow(t, "priority=10,in_port=1,actions=output:2");
		else if (want == 1)
			flow_op(t, "mod", "priority=10,in_port=1,actions=drop",
				true, 1);
		else
			flow_op(t, "mod",
				"priority=10,in_port=1,actions=output:3", true,
				1);
		for (i = 0; i < 8; i++)
			ts_inject(t->p[0], f, n);
		/* the injected frames are out of p1's ring, then a grace
		 * period: background frames keep flowing meanwhile */
		while (vsw_port_dummy_rx_pending(t->p[0]) > 0)
			ts_sleep_us(50);
		vsw_switch_sync(t->sw);
		if (want == 0) {
			for (i = 0; i < 8; i++)
				ts_expect(t->p[1], f, n);
			ts_expect_none(t->p[1]);
		} else if (want == 2) {
			for (i = 0; i < 8; i++)
				ts_expect(t->p[2], f, n);
			ts_expect_none(t->p[1]);
		} else {
			ts_expect_none(t->p[1]);
		}
		ts_expect_none(t->p[2]);
		ts_expect_none(t->p[0]);
		if (want == 2)
			/* strict delete: back to the default (normal) */
			flow_op(t, "del", "priority=10,in_port=1", true, 1);
	}
	__atomic_store_n(&b.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ts_settle(t);
	assert_true(b.sent > 0);
	assert_true(rule_ctr(t, 100).packets == b.sent);
	drain(t->p[4]);
	/* default again: p1 -> B unknown, flooded */
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[2], f, n);
	ts_expect(t->p[3], f, n);
}

/* ofports: assigned, shown, settable, unique per bridge */
static int ofport_cb(const struct vsw_port_info *info, void *arg)
{
	unsigned *ofs = arg;

	ofs[info->id] = info->ofport;
	return 0;
}

static void test_ofports(void **state)
{
	struct ts *t = *state;
	unsigned ofs[16] = {0};
	uint8_t A[6], f[128];
	char err[128];
	size_t n;

	four(t);
	assert_int_equal(vsw_switch_port_iter(t->sw, "br0", ofport_cb, ofs), 0);
	assert_int_equal(ofs[1], 1);
	assert_int_equal(ofs[4], 4);
	assert_int_equal(vsw_switch_set_port_ofport(t->sw, "p2", 3, err,
						    sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "p3"));
	assert_int_equal(vsw_switch_set_port_ofport(t->sw, "p2", 0, err,
						    sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsw_switch_set_port_ofport(t->sw, "p2", 70, err,
						    sizeof(err)),
			 0);
	assert_int_equal(vsw_switch_port_iter(t->sw, "br0", ofport_cb, ofs), 0);
	assert_int_equal(ofs[2], 70);
	ts_mac(A, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 14);
	add_flow(t, "in_port=1,actions=output:70");
	add_flow(t, "in_port=70,actions=output:1");
	ts_inject(t->p[0], f, n);
	ts_inject(t->p[1], f, n);
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[0], f, n);
	ts_expect_none(t->p[2]);
	/* the freed number goes to the next port */
	ts_add(t, "p5", NULL);
	assert_int_equal(vsw_switch_port_iter(t->sw, "br0", ofport_cb, ofs), 0);
	assert_int_equal(ofs[5], 2);
}

/* dpif and pmd statistics follow the packets; clear restarts them */
static void test_stats(void **state)
{
	struct ts *t = *state;
	struct vsw_dpif_stats ds;
	struct vsw_pmd_stats ps;
	uint8_t A[6], f[128];
	uint64_t pk = 0, hits = 0, miss = 0, fast = 0;
	size_t n;
	unsigned i, th;

	four(t);
	ts_mac(A, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 15);
	for (i = 0; i < 10; i++)
		ts_inject(t->p[0], f, n);
	ts_settle(t);
	add_flow(t, "in_port=1,actions=output:2");
	for (i = 0; i < 20; i++)
		ts_inject(t->p[0], f, n);
	ts_settle(t);
	assert_int_equal(vsw_switch_dpif_stats(t->sw, "br0", &ds), 0);
	assert_false(ds.fast_normal);
	assert_int_equal(ds.n_rules, 2);
	assert_int_equal(ds.n_subtables, 2);
	assert_int_equal(ds.emc_caches, t->n_threads);
	assert_int_equal(ds.emc_entries, VSW_FLOW_EMC_DEFAULT);
	assert_int_equal(ds.emc_hits + ds.emc_misses, 20);
	assert_true(ds.emc_misses >= 1);
	assert_true(ds.emc_used >= 1);
	for (th = 0; th < vsw_switch_n_threads(t->sw); th++) {
		assert_int_equal(vsw_switch_pmd_stats(t->sw, th, &ps), 0);
		pk += ps.packets;
		hits += ps.emc_hits;
		miss += ps.emc_misses;
		fast += ps.fast_normal;
	}
	assert_int_equal(pk, 30);
	assert_int_equal(fast, 10);
	assert_int_equal(hits, ds.emc_hits);
	assert_int_equal(miss, ds.emc_misses);
	vsw_switch_pmd_stats_clear(t->sw);
	for (th = 0; th < vsw_switch_n_threads(t->sw); th++) {
		assert_int_equal(vsw_switch_pmd_stats(t->sw, th, &ps), 0);
		assert_int_equal(ps.packets, 0);
		assert_int_equal(ps.emc_hits + ps.emc_misses, 0);
	}
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	pk = 0;
	for (th = 0; th < vsw_switch_n_threads(t->sw); th++) {
		assert_int_equal(vsw_switch_pmd_stats(t->sw, th, &ps), 0);
		pk += ps.packets;
	}
	assert_int_equal(pk, 1);
	for (i = 0; i < 31; i++)
		ts_expect(t->p[1], f, n);
	/* errors: no bridge */
	assert_int_equal(vsw_switch_dpif_stats(t->sw, "nope", &ds), -ENOENT);
	assert_int_equal(vsw_switch_flow_expire(t->sw, "nope"), -ENOENT);
}

/*
 * Runs of frames with one key inside a burst take the rule of the frame
 * before them without a lookup: interleaved runs of two flows still reach
 * each its own rule, in order, counted per rule, and every frame counts as
 * one cache hit or miss.
 */
static void test_key_runs(void **state)
{
	static const char pattern[] = "AABAABBBAAAABABBBBBA";
	static const uint8_t sip[4] = {10, 0, 0, 9};
	static const uint8_t da[4] = {10, 0, 0, 1}, db[4] = {10, 0, 0, 2};
	struct ts *t = *state;
	uint8_t A[6], f[sizeof(pattern)][128];
	size_t len[sizeof(pattern)];
	struct vsw_dpif_stats ds;
	struct rule_ctr ca, cb;
	unsigned i, na = 0, nb = 0, round;

	four(t);
	ts_mac(A, 1);
	del_all(t);
	add_flow(t, "priority=20,udp,nw_dst=10.0.0.1,actions=output:2");
	add_flow(t, "priority=30,udp,nw_dst=10.0.0.2,actions=output:3");
	for (i = 0; pattern[i] != '\0'; i++)
		len[i] = udp_frame(f[i], bcast, A, sip,
				   pattern[i] == 'A' ? da : db, (uint8_t)i);
	for (round = 0; round < 3; round++) {
		for (i = 0; pattern[i] != '\0'; i++)
			ts_inject(t->p[0], f[i], len[i]);
		ts_settle(t);
		for (i = 0; pattern[i] != '\0'; i++) {
			ts_expect(t->p[pattern[i] == 'A' ? 1 : 2], f[i],
				  len[i]);
			if (round == 0)
				*(pattern[i] == 'A' ? &na : &nb) += 1;
		}
		ts_expect_none(t->p[1]);
		ts_expect_none(t->p[2]);
		ts_expect_none(t->p[3]);
	}
	ca = rule_ctr(t, 20);
	cb = rule_ctr(t, 30);
	assert_int_equal(ca.packets, 3 * na);
	assert_int_equal(cb.packets, 3 * nb);
	assert_int_equal(vsw_switch_dpif_stats(t->sw, "br0", &ds), 0);
	assert_int_equal(ds.emc_hits + ds.emc_misses,
			 3 * (sizeof(pattern) - 1));
}

#define BOTH(fn)                                                               \
	cmocka_unit_test_setup_teardown(fn, ts_setup1, ts_teardown),           \
		cmocka_unit_test_setup_teardown(fn, ts_setup2, ts_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_default_normal),
		BOTH(test_output_drop_inport_flood),
		BOTH(test_vlan_and_mac_edits),
		BOTH(test_goto_table),
		BOTH(test_nw_edits_checksums),
		BOTH(test_mirroring),
		BOTH(test_normal_action),
		BOTH(test_local),
		BOTH(test_timeouts),
		BOTH(test_changes_under_traffic),
		BOTH(test_ofports),
		BOTH(test_stats),
		BOTH(test_key_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
