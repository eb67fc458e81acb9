/* SPDX-License-Identifier: MIT */
/*
 * Port mirrors of lib/switch (mirror.c) on dummy ports: selection by
 * source port, destination port, VLAN and select-all; the output port's
 * tag rule, its exclusion from normal forwarding and the drop of what it
 * receives; output VLAN (RSPAN) tagged and untagged; the flow table path;
 * counters; a port that goes and comes back; every error.
 */
#include "test_switch_th.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct mcfg {
	const char *src[4], *dst[4];
	unsigned n_src, n_dst;
	bool all;
	uint16_t vlans[4];
	unsigned n_vlans;
	const char *out;
	uint16_t out_vlan;
};

static int mirror_add(struct ts *t, const char *name, const struct mcfg *m,
		      char *err, size_t len)
{
	struct vsw_mirror_config c = {
		.name = name,
		.src = m->src,
		.n_src = m->n_src,
		.dst = m->dst,
		.n_dst = m->n_dst,
		.select_all = m->all,
		.vlans = m->vlans,
		.n_vlans = m->n_vlans,
		.output_port = m->out,
		.output_vlan = m->out_vlan,
	};

	return vsw_switch_mirror_add(t->sw, "br0", &c, err, len);
}

static void mirror_ok(struct ts *t, const char *name, const struct mcfg *m)
{
	char err[256];
	int ret = mirror_add(t, name, m, err, sizeof(err));

	if (ret != 0)
		fprintf(stderr, "mirror %s: %s\n", name, err);
	assert_int_equal(ret, 0);
}

struct minfo {
	const char *name;
	struct vsw_mirror_info info;
	char status[192];
	bool found;
};

static int minfo_cb(const struct vsw_mirror_info *info, void *arg)
{
	struct minfo *mi = arg;

	if (strcmp(info->cfg->name, mi->name) != 0)
		return 0;
	mi->info = *info;
	snprintf(mi->status, sizeof(mi->status), "%s", info->status);
	mi->found = true;
	return 0;
}

static struct minfo mirror_info(struct ts *t, const char *name)
{
	struct minfo mi = {.name = name};

	assert_int_equal(vsw_switch_mirror_iter(t->sw, "br0", minfo_cb, &mi),
			 0);
	assert_true(mi.found);
	return mi;
}

static void drain(struct vsw_port *p)
{
	uint8_t buf[4096];

	while (vsw_port_dummy_collect(p, buf, sizeof(buf), NULL, NULL) >= 0)
		;
}

static void drain_all(struct ts *t)
{
	unsigned i;

	for (i = 0; i < t->n_ports; i++)
		drain(t->p[i]);
}

/* select-src a: only what a receives, and m never gets normal traffic. */
static void test_src(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL), *m = ts_add(t, "m", NULL);
	struct mcfg mc = {.src = {"a"}, .n_src = 1, .out = "m"};
	uint8_t f[256], g[256], sa[6], sb[6];
	size_t len, glen;
	struct minfo mi;

	ts_mac(sa, 1);
	ts_mac(sb, 2);
	mirror_ok(t, "m1", &mc);
	len = ts_frame(f, bcast, sa, false, 0, 100, 1);
	glen = ts_frame(g, bcast, sb, false, 0, 80, 2);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_inject(b, g, glen);
	ts_settle(t);
	ts_expect(m, f, len);
	ts_expect_none(m); /* b's broadcast is not flooded to m */
	ts_expect(b, f, len);
	ts_expect(c, f, len);
	ts_expect(c, g, glen);
	ts_expect(a, g, glen);
	mi = mirror_info(t, "m1");
	assert_true(mi.info.active);
	assert_string_equal(mi.status, "active");
	assert_int_equal(mi.info.packets, 1);
	assert_int_equal(mi.info.bytes, len);
	assert_int_equal(mi.info.drops, 0);
	/* what m sends is dropped, not forwarded, not learned */
	ts_inject(m, g, glen);
	ts_settle(t);
	ts_expect_none(a);
	ts_expect_none(b);
	ts_expect_none(m);
	assert_int_equal(ts_stats(t, "m").rx.drops[VSW_DROP_NO_DEST], 1);
	/* deleted: m is an ordinary port again */
	assert_int_equal(vsw_switch_mirror_del(t->sw, "br0", "m1", NULL, 0), 0);
	ts_inject(b, g, glen);
	ts_settle(t);
	ts_expect(m, g, glen);
	ts_expect(a, g, glen);
	drain_all(t);
}

/* select-dst b: what the bridge sends to b, unicast and flooded. */
static void test_dst(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL), *m = ts_add(t, "m", NULL);
	struct mcfg mc = {.dst = {"b"}, .n_dst = 1, .out = "m"};
	uint8_t f[256], sa[6], sb[6], sc[6];
	size_t len;

	ts_mac(sa, 1);
	ts_mac(sb, 2);
	ts_mac(sc, 3);
	mirror_ok(t, "d", &mc);
	/* b and c announce themselves: flooded, b's own not mirrored */
	len = ts_frame(f, bcast, sb, false, 0, 60, 1);
	ts_inject(b, f, len);
	ts_settle(t);
	ts_expect_none(m);
	len = ts_frame(f, bcast, sc, false, 0, 60, 2);
	ts_inject(c, f, len);
	ts_settle(t);
	ts_expect(m, f, len); /* flooded to b */
	drain_all(t);
	/* unicast a -> c: not to b, not mirrored */
	len = ts_frame(f, sc, sa, false, 0, 70, 3);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(c, f, len);
	ts_expect_none(m);
	/* unicast a -> b: mirrored */
	len = ts_frame(f, sb, sa, false, 0, 90, 4);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(b, f, len);
	ts_expect(m, f, len);
	ts_expect_none(m);
	assert_int_equal(mirror_info(t, "d").info.packets, 2);
	drain_all(t);
}

/*
 * select-all + select-vlan 10: only VLAN 10; the output port (a trunk of
 * every VLAN) gets them tagged; an access output port gets them untagged.
 */
static void test_vlan(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_port *m = ts_add(t, "m", NULL), *n = ts_add(t, "n", NULL);
	struct mcfg mc = {.all = true, .vlans = {10}, .n_vlans = 1, .out = "m"};
	struct mcfg nc = {.all = true, .vlans = {10}, .n_vlans = 1, .out = "n"};
	struct vsw_vlan_config acc = {.mode = VSW_VLAN_ACCESS, .tag = 30};
	uint8_t f[256], u[256], sa[6];
	size_t len, ulen;
	int i;

	ts_mac(sa, 1);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "n", &acc, NULL, 0),
			 0);
	mirror_ok(t, "v", &mc);
	mirror_ok(t, "w", &nc);
	for (i = 0; i < 3; i++) {
		uint16_t vid = i == 0 ? 10 : i == 1 ? 20 : 0;

		len = ts_frame(f, bcast, sa, vid != 0, vid, 100, (uint8_t)i);
		ts_inject(a, f, len);
		ts_settle(t);
		ts_expect(b, f, len);
		if (vid == 10) {
			ts_expect(m, f, len);
			ulen = ts_frame(u, bcast, sa, false, 0, 100,
					(uint8_t)i);
			ts_expect(n, u, ulen);
		}
		ts_expect_none(m);
		ts_expect_none(n);
	}
	assert_int_equal(mirror_info(t, "v").info.packets, 1);
	assert_int_equal(mirror_info(t, "w").info.packets, 1);
	drain_all(t);
}

/* output-vlan 99: trunks of 99 tagged, access ports of 99 untagged. */
static void test_output_vlan(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_port *c = ts_add(t, "c", NULL), *d = ts_add(t, "d", NULL);
	struct vsw_port *e = ts_add(t, "e", NULL);
	static const uint16_t tr99[] = {99};
	struct vsw_vlan_config trunk = {
		.mode = VSW_VLAN_TRUNK, .trunks = tr99, .n_trunks = 1};
	struct vsw_vlan_config acc99 = {.mode = VSW_VLAN_ACCESS, .tag = 99};
	struct vsw_vlan_config acc5 = {.mode = VSW_VLAN_ACCESS, .tag = 5};
	struct mcfg mc = {.src = {"a"}, .n_src = 1, .out_vlan = 99};
	uint8_t f[256], tg[256], sa[6];
	size_t len, tlen;
	struct minfo mi;

	(void)a;
	ts_mac(sa, 1);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "b", &trunk, NULL, 0),
			 0);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "c", &acc99, NULL, 0),
			 0);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "e", &acc5, NULL, 0),
			 0);
	mirror_ok(t, "r", &mc);
	len = ts_frame(f, bcast, sa, false, 0, 100, 7);
	tlen = ts_frame(tg, bcast, sa, true, 99, 100, 7);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(b, tg, tlen); /* the copy only: b does not carry VLAN 0 */
	ts_expect_none(b);
	ts_expect(c, f, len); /* untagged copy */
	ts_expect_none(c);
	ts_expect(d, tg, tlen); /* the copy tagged 99 (sent first) ... */
	ts_expect(d, f, len);	/* ... and the frame itself (VLAN 0) */
	ts_expect_none(d);
	ts_expect_none(e);
	ts_expect_none(a); /* never back to the in port */
	/* a tagged frame's tag is replaced */
	len = ts_frame(f, bcast, sa, true, 7, 100, 8);
	tlen = ts_frame(tg, bcast, sa, true, 99, 100, 8);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(b, tg, tlen);
	ts_expect(d, tg, tlen);
	ts_expect(d, f, len);
	len = ts_frame(f, bcast, sa, false, 0, 100, 8);
	ts_expect(c, f, len); /* untagged: the tag removed */
	mi = mirror_info(t, "r");
	assert_int_equal(mi.info.packets, 2);
	assert_int_equal(mi.info.drops, 0);
	drain_all(t);
}

/* The flow table path: mirrored by source port too. */
static void test_flows(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_port *m = ts_add(t, "m", NULL);
	struct mcfg mc = {
		.src = {"a"}, .n_src = 1, .dst = {"b"}, .n_dst = 1, .out = "m"};
	struct vsw_vlan_config acc5 = {.mode = VSW_VLAN_ACCESS, .tag = 5};
	struct vsw_flow_spec spec;
	uint8_t f[256], tg[256], sa[6], sb[6];
	char err[256];
	size_t len, tlen;

	ts_mac(sa, 1);
	ts_mac(sb, 2);
	assert_int_equal(
		vsw_flow_parse("priority=10,in_port=2,actions=output:1",
			       VSW_FLOW_PARSE_ADD, NULL, &spec, err,
			       sizeof(err)),
		0);
	assert_int_equal(
		vsw_switch_flow_add(t->sw, "br0", &spec, err, sizeof(err)), 0);
	vsw_flow_spec_fini(&spec);
	mirror_ok(t, "f", &mc);
	/* b -> a by the rule: not selected (b is a dst, a a src) */
	len = ts_frame(f, sa, sb, false, 0, 64, 1);
	ts_inject(b, f, len);
	ts_settle(t);
	ts_expect(a, f, len);
	ts_expect_none(m);
	/* a -> normal -> flooded to b: mirrored once for both reasons */
	len = ts_frame(f, bcast, sa, false, 0, 64, 2);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(b, f, len);
	ts_expect(m, f, len);
	ts_expect_none(m);
	assert_int_equal(mirror_info(t, "f").info.packets, 1);
	/* a as an access port of 5: NORMAL tags for b, the copy is tagged */
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "a", &acc5, NULL, 0),
			 0);
	len = ts_frame(f, bcast, sa, false, 0, 64, 3);
	tlen = ts_frame(tg, bcast, sa, true, 5, 64, 3);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(b, tg, tlen);
	ts_expect(m, tg, tlen);
	ts_expect_none(m);
	assert_int_equal(mirror_info(t, "f").info.packets, 2);
	drain_all(t);
}

/* The output port goes: inactive, kept; back: active again. */
static void test_port_gone(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *m;
	struct mcfg mc = {.src = {"a", "zz"}, .n_src = 2, .out = "m"};
	uint8_t f[256], sa[6];
	struct minfo mi;
	size_t len;

	ts_add(t, "b", NULL);
	m = ts_add(t, "m", NULL);
	ts_mac(sa, 1);
	mirror_ok(t, "g", &mc);
	mi = mirror_info(t, "g");
	assert_true(mi.info.active);
	assert_non_null(strstr(mi.status, "port zz is not in the bridge"));
	assert_int_equal(vsw_switch_del_port(t->sw, "m", NULL, 0), 0);
	t->p[--t->n_ports] = NULL;
	mi = mirror_info(t, "g");
	assert_false(mi.info.active);
	assert_non_null(strstr(mi.status, "inactive: output port m"));
	len = ts_frame(f, bcast, sa, false, 0, 64, 3);
	ts_inject(a, f, len);
	ts_settle(t);
	m = ts_add(t, "m", NULL);
	assert_true(mirror_info(t, "g").info.active);
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(m, f, len);
	ts_expect_none(m);
	assert_int_equal(mirror_info(t, "g").info.packets, 1);
	drain_all(t);
}

static void expect_err(struct ts *t, const char *name, const struct mcfg *m,
		       int code, const char *words)
{
	char err[256];

	assert_int_equal(mirror_add(t, name, m, err, sizeof(err)), code);
	if (strstr(err, words) == NULL)
		fprintf(stderr, "'%s' lacks '%s'\n", err, words);
	assert_non_null(strstr(err, words));
}

static void test_errors(void **state)
{
	struct ts *t = *state;
	struct mcfg ok = {.src = {"a"}, .n_src = 1, .out = "m"};
	struct mcfg none = {.out = "m"};
	struct mcfg noout = {.src = {"a"}, .n_src = 1};
	struct mcfg both = {
		.src = {"a"}, .n_src = 1, .out = "m", .out_vlan = 5};
	struct mcfg self = {
		.src = {"a"}, .n_src = 1, .dst = {"m"}, .n_dst = 1, .out = "m"};
	struct mcfg badv = {
		.all = true, .vlans = {4096}, .n_vlans = 1, .out = "m"};
	struct mcfg badov = {.all = true, .out_vlan = 4095};
	struct vsw_mirror_config c = {
		.name = "x", .select_all = true, .output_port = "m"};
	char err[256], name[16];
	int i;

	ts_add(t, "a", NULL);
	ts_add(t, "m", NULL);
	assert_int_equal(vsw_switch_mirror_add(t->sw, "nobr", &c, err,
					       sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no bridge nobr"));
	expect_err(t, "", &ok, -EINVAL, "invalid mirror name");
	expect_err(t, "n", &none, -EINVAL, "selects nothing");
	expect_err(t, "n", &noout, -EINVAL, "exactly one of");
	expect_err(t, "n", &both, -EINVAL, "exactly one of");
	expect_err(t, "n", &self, -EINVAL, "output port m is also selected");
	expect_err(t, "n", &badv, -EINVAL, "VLAN 4096");
	expect_err(t, "n", &badov, -EINVAL, "output VLAN 4095");
	mirror_ok(t, "n", &ok);
	expect_err(t, "n", &ok, -EEXIST, "already has a mirror n");
	for (i = 1; i < VSW_MIRROR_MAX; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		mirror_ok(t, name, &ok);
	}
	expect_err(t, "last", &ok, -ENOSPC, "32 mirrors");
	assert_int_equal(vsw_switch_mirror_del(t->sw, "br0", "nope", err,
					       sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no mirror nope"));
	assert_int_equal(vsw_switch_mirror_del(t->sw, "nobr", "n", err,
					       sizeof(err)),
			 -ENOENT);
	assert_int_equal(vsw_switch_mirror_iter(t->sw, "nobr", minfo_cb, NULL),
			 -ENOENT);
	/* a bridge deleted with its mirrors (ASan: nothing leaks) */
	assert_int_equal(vsw_switch_del_bridge(t->sw, "br0", err, sizeof(err)),
			 0);
	t->n_ports = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_src, ts_setup2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_dst, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_vlan, ts_setup2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_output_vlan, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_flows, ts_setup2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_port_gone, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_errors, ts_setup1,
						ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
