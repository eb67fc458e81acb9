/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the flow table (lib/flow): classifier against a brute-force
 * reference, add / del / mod semantics, dump-flows output, counters,
 * timeouts, the exact-match cache and lookups concurrent with changes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsw/flow.h>

#define T0 1000000ULL /* the injected clock's start, ms */

static struct vsw_flow_spec parse(enum vsw_flow_parse_mode mode, const char *s)
{
	struct vsw_flow_spec spec;
	char err[256];

	if (vsw_flow_parse(s, mode, NULL, &spec, err, sizeof(err)) != 0)
		fail_msg("parse '%s': %s", s, err);
	return spec;
}

static void add(struct vsw_flow_table *t, const char *s, uint64_t now)
{
	struct vsw_flow_spec spec = parse(VSW_FLOW_PARSE_ADD, s);

	assert_int_equal(vsw_flow_table_add(t, &spec, now), 0);
	vsw_flow_spec_fini(&spec);
}

static int del(struct vsw_flow_table *t, const char *s, bool strict)
{
	struct vsw_flow_spec spec = parse(VSW_FLOW_PARSE_MATCH, s);
	int n = vsw_flow_table_del(t, &spec, strict);

	vsw_flow_spec_fini(&spec);
	return n;
}

static int mod(struct vsw_flow_table *t, const char *s, bool strict)
{
	struct vsw_flow_spec spec = parse(VSW_FLOW_PARSE_MOD, s);
	int n = vsw_flow_table_mod(t, &spec, strict, T0);

	vsw_flow_spec_fini(&spec);
	return n;
}

/* dump-flows into one string, lines separated by '\n' */
struct dump_buf {
	char s[8192];
	size_t n;
	unsigned lines;
};

static int dump_cb(const struct vsw_flow_rule *r,
		   const struct vsw_flow_stats *st, const char *line, void *arg)
{
	struct dump_buf *d = arg;

	(void)r;
	(void)st;
	d->n += (size_t)snprintf(d->s + d->n, sizeof(d->s) - d->n, "%s\n",
				 line);
	d->lines++;
	return 0;
}

static const char *dump(struct vsw_flow_table *t, uint64_t now,
			struct dump_buf *d)
{
	d->n = 0;
	d->lines = 0;
	d->s[0] = '\0';
	assert_int_equal(vsw_flow_table_dump(t, NULL, now, dump_cb, d), 0);
	return d->s;
}

/* A TCP/IPv4 key. */
static struct vsw_flow_key key_tcp(uint16_t in_port, uint8_t a, uint8_t b,
				   uint8_t c, uint8_t d, uint16_t dport)
{
	struct vsw_flow_key k;

	memset(&k, 0, sizeof(k));
	k.in_port = in_port;
	k.dl_type = 0x0800;
	k.nw_proto = 6;
	k.nw_dst[0] = a;
	k.nw_dst[1] = b;
	k.nw_dst[2] = c;
	k.nw_dst[3] = d;
	k.nw_src[0] = 192;
	k.nw_src[1] = 168;
	k.tp_src = 40000;
	k.tp_dst = dport;
	return k;
}

static char *rule_str(const struct vsw_flow_rule *r, char *buf, size_t len)
{
	int n = vsw_flow_format_match(vsw_flow_rule_match(r),
				      vsw_flow_rule_priority(r), buf, len);

	n += snprintf(buf + n, len - (size_t)n, "%sactions=", n ? " " : "");
	vsw_flow_format_actions(vsw_flow_rule_actions(r), buf + n,
				len - (size_t)n);
	return buf;
}

/* ---- table operations ---- */

static void test_default_and_dump(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_key k = key_tcp(1, 10, 0, 0, 7, 80);
	struct dump_buf d;
	struct vsw_flow_rule *r;
	char buf[256];

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	assert_int_equal(vsw_flow_table_n_rules(t), 1);
	assert_string_equal(dump(t, T0, &d),
			    " cookie=0x0, duration=0.000s, table=0, "
			    "n_packets=0, n_bytes=0, priority=0 "
			    "actions=NORMAL\n");
	r = vsw_flow_lookup(t, &k);
	assert_non_null(r);
	assert_string_equal(rule_str(r, buf, sizeof(buf)),
			    "priority=0 actions=NORMAL");

	add(t,
	    "priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80,idle_timeout=10,"
	    "actions=output:2",
	    T0 + 500);
	add(t, "cookie=0xabc,hard_timeout=30,udp,actions=drop", T0 + 1000);
	add(t, "in_port=3,actions=output:1,output:2", T0 + 1000);
	/* descending priority: 32768, 100, 0 (ties in insertion order) */
	assert_string_equal(
		dump(t, T0 + 1734, &d),
		" cookie=0xabc, duration=0.734s, table=0, n_packets=0, "
		"n_bytes=0, hard_timeout=30, udp actions=drop\n"
		" cookie=0x0, duration=0.734s, table=0, n_packets=0, "
		"n_bytes=0, in_port=3 actions=output:1,output:2\n"
		" cookie=0x0, duration=1.234s, table=0, n_packets=0, "
		"n_bytes=0, idle_timeout=10, priority=100,tcp,"
		"nw_dst=10.0.0.0/24,tp_dst=80 actions=output:2\n"
		" cookie=0x0, duration=1.734s, table=0, n_packets=0, "
		"n_bytes=0, priority=0 actions=NORMAL\n");
	r = vsw_flow_lookup(t, &k);
	assert_int_equal(vsw_flow_rule_priority(r), 100);
	k.tp_dst = 81;
	assert_int_equal(vsw_flow_rule_priority(vsw_flow_lookup(t, &k)), 0);
	k.in_port = 3;
	assert_int_equal(vsw_flow_rule_priority(vsw_flow_lookup(t, &k)),
			 VSW_FLOW_PRIORITY_DEFAULT);

	/* counters */
	vsw_flow_rule_account(r, 3, 180, T0 + 2000);
	vsw_flow_rule_account(r, 1, 1500, T0 + 2000);
	dump(t, T0 + 2000, &d);
	assert_non_null(strstr(d.s, "n_packets=4, n_bytes=1680, "
				    "idle_timeout=10, priority=100"));

	/* add with the same match and priority replaces: fresh counters */
	add(t,
	    "priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80,"
	    "actions=output:3",
	    T0 + 3000);
	assert_int_equal(vsw_flow_table_n_rules(t), 4);
	dump(t, T0 + 3000, &d);
	assert_non_null(strstr(d.s, " cookie=0x0, duration=0.000s, table=0, "
				    "n_packets=0, n_bytes=0, priority=100,"
				    "tcp,nw_dst=10.0.0.0/24,tp_dst=80 "
				    "actions=output:3\n"));
	/* ... and the same match at another priority is another rule */
	add(t, "priority=101,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=drop",
	    T0);
	assert_int_equal(vsw_flow_table_n_rules(t), 5);

	/* a filtered dump (non-strict match) */
	{
		struct vsw_flow_spec f = parse(VSW_FLOW_PARSE_MATCH, "tcp");

		d.n = 0;
		d.lines = 0;
		assert_int_equal(vsw_flow_table_dump(t, &f, T0, dump_cb, &d),
				 0);
		assert_int_equal(d.lines, 2);
		vsw_flow_spec_fini(&f);
	}
	vsw_flow_table_destroy(t);
	vsw_flow_table_destroy(NULL);
}

/* A mirror to many ports prints whole (over 4 KiB). */
static void test_dump_long(void **state)
{
	struct vsw_flow_table *t;
	struct dump_buf d;
	char flow[8192];
	size_t n;
	unsigned i;

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	n = (size_t)snprintf(flow, sizeof(flow), "udp,actions=");
	for (i = 1; i <= 400; i++)
		n += (size_t)snprintf(flow + n, sizeof(flow) - n, "%soutput:%u",
				      i > 1 ? "," : "", i);
	add(t, flow, T0);
	dump(t, T0, &d);
	assert_int_equal(d.lines, 2);
	assert_non_null(strstr(d.s, "n_bytes=0, udp actions=output:1,"
				    "output:2,output:3,"));
	assert_non_null(strstr(d.s, ",output:399,output:400\n"));
	vsw_flow_table_destroy(t);
}

static void test_del_mod(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_key k = key_tcp(1, 10, 0, 0, 7, 80);
	struct dump_buf d;
	char buf[256];

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	add(t, "priority=10,ip,actions=output:1", T0);
	add(t, "priority=20,tcp,actions=output:2", T0);
	add(t, "priority=30,tcp,tp_dst=80,actions=output:3", T0);
	add(t, "priority=40,tcp,nw_dst=10.0.0.0/8,tp_dst=80,actions=output:4",
	    T0);
	add(t, "priority=50,udp,actions=output:3", T0);
	assert_int_equal(vsw_flow_table_n_rules(t), 6);

	/* strict: exact match and priority only */
	assert_int_equal(del(t, "tcp,tp_dst=80", true), 0); /* prio 32768 */
	assert_int_equal(del(t, "priority=30,tcp", true), 0);
	assert_int_equal(del(t, "priority=31,tcp,tp_dst=80", true), 0);
	assert_int_equal(del(t, "priority=30,tcp,tp_dst=80", true), 1);
	assert_int_equal(vsw_flow_table_n_rules(t), 5);
	assert_int_equal(vsw_flow_rule_priority(vsw_flow_lookup(t, &k)), 40);

	/* mod non-strict: every rule at least as specific as "tcp" */
	assert_int_equal(mod(t, "tcp,actions=output:9", false), 2);
	dump(t, T0, &d);
	assert_non_null(strstr(d.s, "priority=40,tcp,nw_dst=10.0.0.0/8,"
				    "tp_dst=80 actions=output:9\n"));
	assert_non_null(strstr(d.s, "priority=20,tcp actions=output:9\n"));
	assert_non_null(strstr(d.s, "priority=10,ip actions=output:1\n"));
	/* mod strict */
	assert_int_equal(mod(t, "priority=20,tcp,actions=drop", true), 1);
	assert_int_equal(mod(t, "priority=21,tcp,actions=drop", true), 1);
	/* ... which added (nothing matched: OpenFlow 1.0) */
	assert_int_equal(vsw_flow_table_n_rules(t), 6);
	dump(t, T0, &d);
	assert_non_null(strstr(d.s, "priority=20,tcp actions=drop\n"));
	assert_non_null(strstr(d.s, "priority=21,tcp actions=drop\n"));

	/* del with out_port: only rules that output there */
	assert_int_equal(del(t, "out_port=3", false), 1); /* the udp one */
	assert_int_equal(del(t, "out_port=3", false), 0);

	/* non-strict: "tcp" takes the tcp rules, not "ip" nor "priority=0" */
	assert_int_equal(del(t, "tcp", false), 3);
	assert_int_equal(vsw_flow_table_n_rules(t), 2);
	assert_string_equal(rule_str(vsw_flow_lookup(t, &k), buf, sizeof(buf)),
			    "priority=10,ip actions=output:1");
	/* nw_dst=10.0.0.0/8 selects nothing wider than itself */
	add(t, "priority=60,ip,nw_dst=10.1.0.0/16,actions=output:5", T0);
	add(t, "priority=61,ip,nw_dst=10.1.2.3,actions=output:5", T0);
	add(t, "priority=62,ip,nw_dst=11.0.0.0/8,actions=output:5", T0);
	assert_int_equal(del(t, "ip,nw_dst=10.0.0.0/8", false), 2);
	assert_int_equal(vsw_flow_table_n_rules(t), 3);

	/* everything: the table is empty, a lookup misses */
	assert_int_equal(del(t, "", false), 3);
	assert_int_equal(vsw_flow_table_n_rules(t), 0);
	assert_int_equal(vsw_flow_table_n_subtables(t), 0);
	assert_null(vsw_flow_lookup(t, &k));
	assert_string_equal(dump(t, T0, &d), "");
	add(t, "actions=flood", T0);
	assert_string_equal(rule_str(vsw_flow_lookup(t, &k), buf, sizeof(buf)),
			    "actions=FLOOD");

	/* add refuses a spec without actions */
	{
		struct vsw_flow_spec m = parse(VSW_FLOW_PARSE_MATCH, "tcp");

		assert_int_equal(vsw_flow_table_add(t, &m, T0), -EINVAL);
		assert_int_equal(vsw_flow_table_mod(t, &m, false, T0), -EINVAL);
		vsw_flow_spec_fini(&m);
	}
	vsw_flow_table_destroy(t);
}

static void test_max_rules(void **state)
{
	struct vsw_flow_table_config cfg = {.max_rules = 3};
	struct vsw_flow_table *t;
	struct vsw_flow_spec s;

	(void)state;
	assert_int_equal(vsw_flow_table_create(&cfg, T0, &t), 0);
	add(t, "in_port=1,actions=drop", T0);
	add(t, "in_port=2,actions=drop", T0);
	s = parse(VSW_FLOW_PARSE_ADD, "in_port=3,actions=drop");
	assert_int_equal(vsw_flow_table_add(t, &s, T0), -ENOSPC);
	vsw_flow_spec_fini(&s);
	/* a replacement is not a new rule */
	add(t, "in_port=2,actions=output:4", T0);
	assert_int_equal(vsw_flow_table_n_rules(t), 3);
	vsw_flow_table_destroy(t);
}

static void test_timeouts(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_key k = key_tcp(1, 10, 0, 0, 7, 80);
	struct vsw_flow_rule *r;

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	add(t, "priority=10,tcp,idle_timeout=10,actions=output:1", T0);
	add(t, "priority=20,udp,hard_timeout=5,actions=output:2", T0);
	add(t, "priority=30,ip,idle_timeout=3,hard_timeout=8,actions=drop", T0);
	assert_int_equal(vsw_flow_table_n_rules(t), 4);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 2999), 0);
	/* the ip rule is used at +2.5 s; the tcp rule at +3 s */
	r = vsw_flow_lookup(t, &k);
	assert_int_equal(vsw_flow_rule_priority(r), 30);
	vsw_flow_rule_account(r, 1, 64, T0 + 2500);
	/* an older time does not move the last use back */
	vsw_flow_rule_account(r, 0, 0, T0 + 2400);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 4999), 0);
	/* hard 5 s: the udp rule */
	assert_int_equal(vsw_flow_table_expire(t, T0 + 5000), 1);
	assert_int_equal(vsw_flow_table_n_rules(t), 3);
	/* idle 3 s after the last use at +2.5 s */
	assert_int_equal(vsw_flow_table_expire(t, T0 + 5499), 0);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 5500), 1);
	assert_int_equal(vsw_flow_rule_priority(vsw_flow_lookup(t, &k)), 10);
	/* the tcp rule: idle 10 s from its creation, refreshed at +9 s */
	vsw_flow_rule_account(vsw_flow_lookup(t, &k), 1, 64, T0 + 9000);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 18999), 0);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 19000), 1);
	/* the default rule never expires */
	assert_int_equal(vsw_flow_table_expire(t, UINT64_MAX / 2), 0);
	assert_int_equal(vsw_flow_table_n_rules(t), 1);
	vsw_flow_table_destroy(t);
}

/* ---- several tables, goto_table, flags, removal reports ---- */

struct removed_log {
	unsigned n;
	unsigned table[8], prio[8], reason[8];
	uint64_t packets[8], duration[8], cookie[8];
	unsigned flags[8];
};

static void removed_cb(void *arg, const struct vsw_flow_rule *r,
		       const struct vsw_flow_stats *st,
		       enum vsw_flow_removed_reason reason)
{
	struct removed_log *l = arg;
	uint16_t idle, hard;

	if (l->n == 8)
		return;
	l->table[l->n] = vsw_flow_rule_table(r);
	l->prio[l->n] = vsw_flow_rule_priority(r);
	l->flags[l->n] = vsw_flow_rule_flags(r);
	vsw_flow_rule_timeouts(r, &l->cookie[l->n], &idle, &hard);
	l->reason[l->n] = reason;
	l->packets[l->n] = st->n_packets;
	l->duration[l->n++] = st->duration_ms;
}

static void test_tables(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_key k = key_tcp(1, 10, 0, 0, 7, 80);
	struct removed_log log = {0};
	struct vsw_flow_rule *r;
	struct vsw_flow_spec s;
	struct dump_buf d;

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	vsw_flow_table_set_removed_cb(t, removed_cb, &log);
	/* a table never used: a miss, not a crash */
	assert_null(vsw_flow_lookup_table(t, 7, &k));
	assert_null(vsw_flow_lookup_table(t, 255, &k));
	assert_non_null(vsw_flow_lookup_table(t, 0, &k));
	add(t, "table=0,priority=100,tcp,actions=goto_table:3", T0);
	add(t, "table=3,priority=10,tcp,tp_dst=80,actions=output:2", T0);
	add(t, "table=3,priority=5,in_port=1,actions=output:4", T0);
	add(t, "table=7,priority=5,in_port=1,actions=drop", T0);
	assert_int_equal(vsw_flow_table_n_rules(t), 5);
	/* lookups stay in their table */
	r = vsw_flow_lookup(t, &k);
	assert_int_equal(vsw_flow_rule_priority(r), 100);
	assert_int_equal(vsw_flow_rule_table(r), 0);
	assert_true(vsw_flow_rule_actions(r)->flags & VSW_FLOW_ACTS_GOTO);
	r = vsw_flow_lookup_table(t, 3, &k);
	assert_int_equal(vsw_flow_rule_priority(r), 10);
	assert_int_equal(vsw_flow_rule_table(r), 3);
	k.tp_dst = 81;
	assert_int_equal(
		vsw_flow_rule_priority(vsw_flow_lookup_table(t, 3, &k)), 5);
	k.in_port = 2;
	/* table miss in a later table: NULL (no default rule there) */
	assert_null(vsw_flow_lookup_table(t, 3, &k));
	k.in_port = 1;
	k.tp_dst = 80;
	/* the same match in two tables: two rules */
	add(t, "table=7,priority=10,tcp,tp_dst=80,actions=output:2", T0);
	assert_int_equal(vsw_flow_table_n_rules(t), 6);
	/* dump: by table, then priority; table= printed */
	dump(t, T0, &d);
	assert_string_equal(
		d.s, " cookie=0x0, duration=0.000s, table=0, n_packets=0, "
		     "n_bytes=0, priority=100,tcp actions=goto_table:3\n"
		     " cookie=0x0, duration=0.000s, table=0, n_packets=0, "
		     "n_bytes=0, priority=0 actions=NORMAL\n"
		     " cookie=0x0, duration=0.000s, table=3, n_packets=0, "
		     "n_bytes=0, priority=10,tcp,tp_dst=80 actions=output:2\n"
		     " cookie=0x0, duration=0.000s, table=3, n_packets=0, "
		     "n_bytes=0, priority=5,in_port=1 actions=output:4\n"
		     " cookie=0x0, duration=0.000s, table=7, n_packets=0, "
		     "n_bytes=0, priority=10,tcp,tp_dst=80 actions=output:2\n"
		     " cookie=0x0, duration=0.000s, table=7, n_packets=0, "
		     "n_bytes=0, priority=5,in_port=1 actions=drop\n");
	/* goto to a lower or the same table: refused by the table too */
	s = parse(VSW_FLOW_PARSE_ADD, "table=3,actions=drop");
	s.actions->a[0].type = VSW_FLOW_ACT_GOTO_TABLE;
	s.actions->a[0].arg = 3;
	s.actions->n = 1;
	assert_int_equal(vsw_flow_table_add(t, &s, T0), -EINVAL);
	s.table_id = VSW_FLOW_TABLE_ALL;
	s.actions->a[0].arg = 200;
	assert_int_equal(vsw_flow_table_add(t, &s, T0), -EINVAL);
	vsw_flow_spec_fini(&s);
	/* mod in every table with a goto to 5: table 7's rule forbids it */
	s = parse(VSW_FLOW_PARSE_MOD, "tcp,tp_dst=80,actions=goto_table:5");
	assert_int_equal(s.table_id, VSW_FLOW_TABLE_ALL);
	assert_int_equal(vsw_flow_table_mod(t, &s, false, T0), -EINVAL);
	vsw_flow_spec_fini(&s);
	assert_int_equal(
		mod(t, "table=3,tcp,tp_dst=80,actions=goto_table:5", false), 1);
	/* del in one table leaves the others */
	assert_int_equal(del(t, "table=7,tcp", false), 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.table[0], 7);
	assert_int_equal(log.reason[0], VSW_FLOW_REM_DELETE);
	assert_int_equal(del(t, "table=3", false), 2);
	assert_int_equal(vsw_flow_table_n_rules(t), 3);
	/* del without table=: every table */
	assert_int_equal(del(t, "in_port=1", false), 1);
	assert_int_equal(log.n, 4);
	assert_int_equal(vsw_flow_table_n_rules(t), 2);
	vsw_flow_table_destroy(t);
}

static void test_flags_and_removed(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_key k = key_tcp(1, 10, 0, 0, 7, 80);
	struct removed_log log = {0};
	struct vsw_flow_spec s;
	struct dump_buf d;

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	vsw_flow_table_set_removed_cb(t, removed_cb, &log);
	/* check_overlap: same table and priority, a packet could match both */
	add(t, "priority=10,tcp,actions=output:1", T0);
	s = parse(VSW_FLOW_PARSE_ADD,
		  "check_overlap,priority=10,ip,nw_src=10.0.0.1,actions=drop");
	assert_int_equal(s.flags, VSW_FLOW_F_CHECK_OVERLAP);
	assert_int_equal(vsw_flow_table_add(t, &s, T0), -EEXIST);
	s.priority = 11; /* another priority: no overlap */
	assert_int_equal(vsw_flow_table_add(t, &s, T0), 0);
	s.priority = 10; /* another table: no overlap */
	s.table_id = 1;
	assert_int_equal(vsw_flow_table_add(t, &s, T0), 0);
	vsw_flow_spec_fini(&s);
	/* disjoint matches at the same priority: no overlap */
	s = parse(VSW_FLOW_PARSE_ADD, "check_overlap,priority=10,udp,"
				      "actions=drop");
	assert_int_equal(vsw_flow_table_add(t, &s, T0), 0);
	vsw_flow_spec_fini(&s);
	assert_int_equal(vsw_flow_table_n_rules(t), 5);
	/* reset_counts on mod */
	vsw_flow_rule_account(vsw_flow_lookup(t, &k), 5, 500, T0 + 10);
	assert_int_equal(mod(t, "priority=10,tcp,actions=output:2", true), 1);
	dump(t, T0 + 10, &d);
	assert_non_null(strstr(d.s, "n_packets=5, n_bytes=500, priority=10,"
				    "tcp actions=output:2"));
	assert_int_equal(mod(t, "reset_counts,priority=10,tcp,actions=output:3",
			     true),
			 1);
	dump(t, T0 + 10, &d);
	assert_non_null(strstr(d.s, "n_packets=0, n_bytes=0, priority=10,"
				    "tcp actions=output:3"));
	/* send_flow_rem kept and printed; expiry reports reason and counts */
	add(t,
	    "send_flow_rem,cookie=0x77,priority=50,hard_timeout=2,tcp,"
	    "actions=output:1",
	    T0 + 1000);
	add(t, "send_flow_rem,priority=51,idle_timeout=1,tcp,actions=output:1",
	    T0 + 1000);
	dump(t, T0 + 1000, &d);
	assert_non_null(strstr(d.s, "n_bytes=0, send_flow_rem hard_timeout=2, "
				    "priority=50,tcp"));
	vsw_flow_rule_account(vsw_flow_lookup(t, &k), 3, 192, T0 + 1500);
	log.n = 0;
	assert_int_equal(vsw_flow_table_expire(t, T0 + 2499), 0);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 2500), 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.prio[0], 51);
	assert_int_equal(log.reason[0], VSW_FLOW_REM_IDLE);
	assert_int_equal(log.packets[0], 3);
	assert_int_equal(log.duration[0], 1500);
	assert_int_equal(log.flags[0], VSW_FLOW_F_SEND_FLOW_REM);
	assert_int_equal(vsw_flow_table_expire(t, T0 + 3000), 1);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.prio[1], 50);
	assert_int_equal(log.reason[1], VSW_FLOW_REM_HARD);
	assert_int_equal(log.cookie[1], 0x77);
	assert_int_equal(log.duration[1], 2000);
	/* delete by cookie mask: only the matching cookie */
	add(t, "cookie=0x12,priority=60,udp,actions=drop", T0 + 3000);
	add(t, "cookie=0x34,priority=61,udp,actions=drop", T0 + 3000);
	assert_int_equal(del(t, "cookie=0x10/0xf0", false), 1);
	assert_int_equal(del(t, "cookie=0x34", false), 1);
	assert_int_equal(del(t, "cookie=0x99/-1", false), 0);
	vsw_flow_table_set_now(t, T0 + 4000);
	log.n = 0;
	assert_int_equal(del(t, "priority=10,tcp", true), 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.reason[0], VSW_FLOW_REM_DELETE);
	assert_int_equal(log.duration[0], 4000);
	vsw_flow_table_destroy(t);
}

/* ---- classifier vs. a brute-force reference ---- */

struct ref_rule {
	struct vsw_flow_match m;
	unsigned prio;
	bool live;
};

static uint64_t rng_state = 0x1234567887654321ULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Random tunnel extension values: one in three is all zero. */
static void rand_ext(struct vsw_pkt_tun_ext *x)
{
	memset(x, 0, sizeof(*x));
	if (rnd() % 3 == 0)
		return;
	x->ipv6_dst[0] = 0xfd;
	x->ipv6_dst[15] = (uint8_t)(rnd() % 4);
	x->meta[0] = rnd() % 4;
	x->meta[7] = (uint64_t)(rnd() % 2) << 40;
}

static void rand_key_ext(struct vsw_flow_key *k, struct vsw_pkt_tun_ext *x);

static void rand_key(struct vsw_flow_key *k)
{
	rand_key_ext(k, NULL);
}

/* A random key; with x, maybe a tunnel extension stored there. */
static void rand_key_ext(struct vsw_flow_key *k, struct vsw_pkt_tun_ext *x)
{
	memset(k, 0, sizeof(*k));
	if (x != NULL) {
		unsigned i;
		uint64_t any = 0;

		rand_ext(x);
		for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
			any |= x->w[i];
		if (any != 0) {
			k->tun_ext = x;
			k->tun_ext_token = vsw_flow_tun_ext_token(x);
		}
	}
	k->in_port = (uint16_t)(1 + rnd() % 4);
	k->vlan_tci = rnd() % 3 ? 0 : (uint16_t)(0x1000 | rnd() % 3);
	k->dl_type = rnd() % 5 ? 0x0800 : 0x86dd;
	k->nw_proto = rnd() % 2 ? 6 : 17;
	k->dl_dst[0] = (uint8_t)(rnd() % 2);
	k->dl_dst[5] = (uint8_t)(rnd() % 4);
	k->nw_src[0] = 10;
	k->nw_src[1] = (uint8_t)(rnd() % 3);
	k->nw_src[2] = (uint8_t)(rnd() % 3);
	k->nw_src[3] = (uint8_t)(rnd() % 4);
	k->nw_dst[0] = 10;
	k->nw_dst[1] = (uint8_t)(rnd() % 3);
	k->nw_dst[2] = (uint8_t)(rnd() % 4);
	k->nw_dst[3] = (uint8_t)(rnd() % 4);
	k->tp_src = (uint16_t)(1000 + rnd() % 4);
	k->tp_dst = (uint16_t)(80 + rnd() % 4);
}

/* A random match: a random subset of fields, masked, of a random key. */
static void rand_match(struct vsw_flow_match *m)
{
	uint32_t f = rnd();
	unsigned i;

	memset(m, 0, sizeof(*m));
	rand_key(&m->key);
	rand_ext(&m->ext);
	if (f & 1)
		m->mask.in_port = 0xffff;
	if (f & 2)
		m->mask.vlan_tci = (f & 4) ? 0x1fff : 0xffff;
	if (f & 8)
		m->mask.dl_type = 0xffff;
	if (f & 16)
		m->mask.nw_proto = 0xff;
	if (f & 32)
		m->mask.dl_dst[0] = 0x01;
	if (f & 64) {
		unsigned plen = 8 + 8 * (rnd() % 4);

		for (i = 0; i < plen / 8; i++)
			m->mask.nw_dst[i] = 0xff;
	}
	if (f & 128)
		memset(m->mask.nw_src, 0xff, 4);
	if (f & 256)
		m->mask.tp_dst = (f & 512) ? 0xffff : 0xfffe;
	if ((f & 0x1c00) == 0)
		m->mask.tp_src = 0xffff;
	/* the tunnel extension, in a few rules only */
	if ((f & 0x3e000) == 0x2000)
		memset(m->ext_mask.ipv6_dst, 0xff, 16);
	if ((f & 0x3e000) == 0x4000)
		m->ext_mask.meta[0] = (f & 0x40000) ? 0x3 : 0x1;
	if ((f & 0x3e000) == 0x6000) {
		memset(m->ext_mask.ipv6_dst, 0xff, 15);
		m->ext_mask.meta[7] = ~0ULL;
	}
	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		m->key.w[i] &= m->mask.w[i];
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		m->ext.w[i] &= m->ext_mask.w[i];
}

static int ref_lookup(const struct ref_rule *rr, unsigned n,
		      const struct vsw_flow_key *k)
{
	int best = -1;
	unsigned i;

	for (i = 0; i < n; i++)
		if (rr[i].live && vsw_flow_match_key(&rr[i].m, k) &&
		    (int)rr[i].prio > best)
			best = (int)rr[i].prio;
	return best;
}

/*
 * n_keys random keys through the classifier, one by one and in bursts
 * through a fresh cache (the batched classifier): the best priority must
 * be the reference's, and the rule must match the key.
 */
static void check_against_ref(struct vsw_flow_table *t,
			      const struct ref_rule *rr, unsigned n,
			      unsigned n_keys)
{
	struct vsw_flow_emc *e;
	unsigned i, j;

	assert_int_equal(vsw_flow_emc_create(t, 1024, &e), 0);
	for (i = 0; i < n_keys; i += 32) {
		struct vsw_flow_key k[32];
		struct vsw_pkt_tun_ext x[32];
		struct vsw_flow_rule *rb[32];
		uint32_t h[32];

		for (j = 0; j < 32; j++) {
			rand_key_ext(&k[j], &x[j]);
			h[j] = vsw_flow_key_hash(&k[j]);
		}
		vsw_flow_emc_lookup_burst(e, k, h, 32, rb);
		for (j = 0; j < 32; j++) {
			struct vsw_flow_rule *r = vsw_flow_lookup(t, &k[j]);
			int want = ref_lookup(rr, n, &k[j]);

			if (want < 0) {
				assert_null(r);
				assert_null(rb[j]);
				continue;
			}
			assert_non_null(r);
			assert_non_null(rb[j]);
			assert_int_equal(vsw_flow_rule_priority(r), want);
			assert_int_equal(vsw_flow_rule_priority(rb[j]), want);
			assert_true(vsw_flow_match_key(vsw_flow_rule_match(r),
						       &k[j]));
			assert_true(vsw_flow_match_key(
				vsw_flow_rule_match(rb[j]), &k[j]));
		}
	}
	vsw_flow_emc_destroy(e);
}

static void test_classifier_random(void **state)
{
	enum { N = 2000, KEYS = 2000 };
	struct ref_rule *rr = calloc(N, sizeof(*rr));
	struct vsw_flow_spec s = parse(VSW_FLOW_PARSE_ADD, "actions=drop");
	struct vsw_flow_table *t;
	unsigned i, j, n_live = 0;
	int round;

	(void)state;
	assert_non_null(rr);
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	/* drop the default rule: misses are part of the test */
	assert_int_equal(del(t, "priority=0", true), 1);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++) {
			if (rr[i].live)
				continue;
			rand_match(&rr[i].m);
			rr[i].prio = rnd() % 200;
			s.match = rr[i].m;
			s.priority = (uint16_t)rr[i].prio;
			assert_int_equal(vsw_flow_table_add(t, &s, T0), 0);
			rr[i].live = true;
			/* a duplicate (match, priority) replaced a rule */
			for (j = 0; j < N; j++) {
				if (j != i && rr[j].live &&
				    rr[j].prio == rr[i].prio &&
				    memcmp(&rr[j].m, &rr[i].m,
					   sizeof(rr[i].m)) == 0) {
					rr[j].live = false;
					n_live--;
				}
			}
			n_live++;
		}
		assert_int_equal(vsw_flow_table_n_rules(t), n_live);
		assert_true(vsw_flow_table_n_subtables(t) > 20);
		check_against_ref(t, rr, N, KEYS);
		/* strict-delete a random half */
		for (i = 0; i < N; i++) {
			if (!rr[i].live || rnd() % 2)
				continue;
			s.match = rr[i].m;
			s.priority = (uint16_t)rr[i].prio;
			assert_int_equal(vsw_flow_table_del(t, &s, true), 1);
			rr[i].live = false;
			n_live--;
		}
		assert_int_equal(vsw_flow_table_n_rules(t), n_live);
		check_against_ref(t, rr, N, KEYS);
	}
	/* a non-strict delete of a random wide match, checked too */
	for (round = 0; round < 20; round++) {
		struct vsw_flow_match wide;
		unsigned want = 0;
		int got;

		rand_match(&wide);
		s.match = wide;
		for (i = 0; i < N; i++) {
			bool sub = true;

			if (!rr[i].live)
				continue;
			for (j = 0; j < VSW_FLOW_KEY_WORDS; j++)
				if ((rr[i].m.mask.w[j] & wide.mask.w[j]) !=
					    wide.mask.w[j] ||
				    (rr[i].m.key.w[j] & wide.mask.w[j]) !=
					    wide.key.w[j])
					sub = false;
			for (j = 0; j < VSW_PKT_TUN_EXT_WORDS; j++)
				if ((rr[i].m.ext_mask.w[j] &
				     wide.ext_mask.w[j]) != wide.ext_mask.w[j] ||
				    (rr[i].m.ext.w[j] & wide.ext_mask.w[j]) !=
					    wide.ext.w[j])
					sub = false;
			if (sub) {
				rr[i].live = false;
				want++;
			}
		}
		got = vsw_flow_table_del(t, &s, false);
		assert_int_equal(got, want);
		n_live -= want;
		assert_int_equal(vsw_flow_table_n_rules(t), n_live);
	}
	check_against_ref(t, rr, N, KEYS);
	vsw_flow_spec_fini(&s);
	vsw_flow_table_destroy(t);
	free(rr);
}

/* ---- exact-match cache ---- */

static void test_emc(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_emc *e;
	struct vsw_flow_emc_stats st;
	struct vsw_flow_key k[4];
	struct vsw_flow_rule *r[4], *r2[4];
	uint32_t h[4];
	const struct vsw_flow_actions *a;
	char buf[256];
	unsigned i;

	(void)state;
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	assert_int_equal(vsw_flow_emc_create(t, 3, &e), -EINVAL);
	assert_int_equal(vsw_flow_emc_create(t, 1u << 21, &e), -EINVAL);
	assert_int_equal(vsw_flow_emc_create(t, 0, &e), 0);
	vsw_flow_emc_stats(e, &st);
	assert_int_equal(st.n_entries, VSW_FLOW_EMC_DEFAULT);
	assert_int_equal(st.n_used, 0);
	add(t, "priority=10,tcp,tp_dst=80,actions=output:1", T0);
	for (i = 0; i < 4; i++) {
		k[i] = key_tcp(1, 10, 0, 0, (uint8_t)i, (uint16_t)(79 + i));
		h[i] = vsw_flow_key_hash(&k[i]);
	}
	/* first pass misses, second hits */
	vsw_flow_emc_lookup_burst(e, k, h, 4, r);
	vsw_flow_emc_stats(e, &st);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.n_used, 4);
	assert_int_equal(vsw_flow_rule_priority(r[0]), 0);
	assert_int_equal(vsw_flow_rule_priority(r[1]), 10);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	vsw_flow_emc_stats(e, &st);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 4);
	assert_memory_equal(r, r2, sizeof(r));

	/* a higher-priority rule overriding a cached flow wins at once */
	add(t, "priority=20,tcp,nw_dst=10.0.0.1,actions=output:2", T0);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	vsw_flow_emc_stats(e, &st);
	assert_int_equal(st.revalidated, 4);
	assert_string_equal(rule_str(r2[1], buf, sizeof(buf)),
			    "priority=20,tcp,nw_dst=10.0.0.1 actions=output:2");
	assert_ptr_equal(r2[0], r[0]);
	assert_ptr_equal(r2[2], r[2]);
	/* deleting it: back to the old decision */
	assert_int_equal(del(t, "priority=20,tcp,nw_dst=10.0.0.1", true), 1);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	assert_ptr_equal(r2[1], r[1]);
	/* deleting the cached rule itself: the next packet sees the miss */
	assert_int_equal(del(t, "tcp,tp_dst=80", false), 1);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	assert_int_equal(vsw_flow_rule_priority(r2[1]), 0);
	assert_int_equal(del(t, "", false), 1);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	for (i = 0; i < 4; i++)
		assert_null(r2[i]);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	for (i = 0; i < 4; i++)
		assert_null(r2[i]); /* a cached miss stays a miss */

	/* mod-flows keeps entries (same rule), the new actions show */
	add(t, "tcp,actions=output:5", T0);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r);
	vsw_flow_emc_stats(e, &st);
	i = (unsigned)st.hits;
	assert_int_equal(mod(t, "tcp,actions=output:6", false), 1);
	vsw_flow_emc_lookup_burst(e, k, h, 4, r2);
	vsw_flow_emc_stats(e, &st);
	assert_int_equal(st.hits, i + 4);
	assert_ptr_equal(r2[0], r[0]);
	a = vsw_flow_rule_actions(r2[0]);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->a[0].arg, 6);
	vsw_flow_emc_destroy(e);
	vsw_flow_emc_destroy(NULL);
	vsw_flow_table_destroy(t);
}

/* A key with a tunnel extension (as vsw_flow_key_tun() would make it). */
static struct vsw_flow_key key_ext(const struct vsw_pkt_tun_ext *e)
{
	struct vsw_flow_key k = key_tcp(1, 10, 0, 0, 1, 80);

	k.tun_id = 5;
	k.tun_ext = e;
	k.tun_ext_token = vsw_flow_tun_ext_token(e);
	return k;
}

/*
 * Rules on the tunnel extension: subtables per extension mask, many rules
 * in one (bucket spread by the extension), priorities across them; the
 * EMC classifies such keys every time and never caches them, so a forged
 * token collision cannot get another flow's decision.
 */
static void test_tun_ext(void **state)
{
	struct vsw_flow_table *t;
	struct vsw_flow_emc *e;
	struct vsw_flow_emc_stats st;
	struct vsw_pkt_tun_ext x[3];
	struct vsw_flow_key k[3];
	struct vsw_flow_rule *r[3];
	uint32_t h[3];
	char buf[256], s[128];
	unsigned i;

	(void)state;
	memset(x, 0, sizeof(x));
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	for (i = 0; i < 64; i++) {
		snprintf(s, sizeof(s),
			 "priority=10,tun_ipv6_dst=2001:db8::%x,actions=output:%u",
			 i + 1, i + 1);
		add(t, s, T0);
	}
	add(t, "priority=20,tun_ipv6_dst=2001:db8::/64,tun_metadata3=0xbad,"
	       "actions=drop",
	    T0);
	add(t, "priority=5,tun_id=5,actions=output:100", T0);
	assert_int_equal(vsw_flow_table_n_subtables(t), 4);
	/* x[0]: 2001:db8::7; x[1]: the same with tun_metadata3=0xbad */
	x[0].ipv6_dst[0] = 0x20;
	x[0].ipv6_dst[1] = 0x01;
	x[0].ipv6_dst[2] = 0x0d;
	x[0].ipv6_dst[3] = 0xb8;
	x[0].ipv6_dst[15] = 7;
	x[1] = x[0];
	x[1].meta[3] = 0xbad;
	x[2] = x[0];
	x[2].ipv6_dst[14] = 1; /* 2001:db8::107: no /128 rule */
	for (i = 0; i < 3; i++) {
		k[i] = key_ext(&x[i]);
		h[i] = vsw_flow_key_hash(&k[i]);
	}
	assert_string_equal(rule_str(vsw_flow_lookup(t, &k[0]), buf,
				     sizeof(buf)),
			    "priority=10,tun_ipv6_dst=2001:db8::7 "
			    "actions=output:7");
	assert_string_equal(rule_str(vsw_flow_lookup(t, &k[1]), buf,
				     sizeof(buf)),
			    "priority=20,tun_ipv6_dst=2001:db8::/64,"
			    "tun_metadata3=0xbad actions=drop");
	assert_string_equal(rule_str(vsw_flow_lookup(t, &k[2]), buf,
				     sizeof(buf)),
			    "priority=5,tun_id=0x5 actions=output:100");
	/* the key without its extension: only the tun_id rule */
	k[2].tun_ext = NULL;
	k[2].tun_ext_token = 0;
	assert_int_equal(vsw_flow_rule_priority(vsw_flow_lookup(t, &k[2])), 5);
	k[2] = key_ext(&x[2]);

	assert_int_equal(vsw_flow_emc_create(t, 64, &e), 0);
	vsw_flow_emc_lookup_burst(e, k, h, 3, r);
	assert_int_equal(vsw_flow_rule_priority(r[0]), 10);
	assert_int_equal(vsw_flow_rule_priority(r[1]), 20);
	assert_int_equal(vsw_flow_rule_priority(r[2]), 5);
	vsw_flow_emc_lookup_burst(e, k, h, 3, r);
	vsw_flow_emc_stats(e, &st);
	assert_int_equal(st.misses, 6);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.n_used, 0);
	/* x[1] forged to x[0]'s token: still its own (drop) rule */
	k[1].tun_ext_token = k[0].tun_ext_token;
	h[1] = h[0];
	vsw_flow_emc_lookup_burst(e, k, h, 2, r);
	assert_int_equal(vsw_flow_rule_priority(r[0]), 10);
	assert_int_equal(vsw_flow_rule_priority(r[1]), 20);
	/* del strict needs the same extension match */
	assert_int_equal(del(t, "priority=20,tun_ipv6_dst=2001:db8::/64", true),
			 0);
	assert_int_equal(del(t,
			     "priority=20,tun_ipv6_dst=2001:db8::/64,"
			     "tun_metadata3=0xbad",
			     true),
			 1);
	/* non-strict: every rule within the prefix */
	assert_int_equal(del(t, "tun_ipv6_dst=2001:db8::/120", false), 64);
	vsw_flow_emc_lookup_burst(e, k, h, 2, r);
	assert_int_equal(vsw_flow_rule_priority(r[0]), 5);
	assert_int_equal(vsw_flow_rule_priority(r[1]), 5);
	vsw_flow_emc_destroy(e);
	vsw_flow_table_destroy(t);
}

/* A small cache under many flows: always the classifier's answer. */
static void test_emc_eviction(void **state)
{
	enum { N = 400 };
	struct ref_rule *rr = calloc(N, sizeof(*rr));
	struct vsw_flow_spec s = parse(VSW_FLOW_PARSE_ADD, "actions=drop");
	struct vsw_flow_table *t;
	struct vsw_flow_emc *e;
	struct vsw_flow_emc_stats st;
	struct vsw_flow_key pool[100];
	unsigned i, j;

	(void)state;
	assert_non_null(rr);
	assert_int_equal(vsw_flow_table_create(NULL, T0, &t), 0);
	assert_int_equal(vsw_flow_emc_create(t, 64, &e), 0);
	for (i = 0; i < 100; i++)
		rand_key(&pool[i]); /* 100 flows through 64 entries */
	for (i = 0; i < N; i++) {
		rand_match(&rr[i].m);
		s.match = rr[i].m;
		s.priority = (uint16_t)(1 + rnd() % 100);
		assert_int_equal(vsw_flow_table_add(t, &s, T0), 0);
	}
	for (i = 0; i < 200; i++) {
		struct vsw_flow_key k[32];
		struct vsw_flow_rule *r[32];
		uint32_t h[32];

		for (j = 0; j < 32; j++) {
			k[j] = pool[rnd() % 100];
			h[j] = vsw_flow_key_hash(&k[j]);
		}
		vsw_flow_emc_lookup_burst(e, k, h, 32, r);
		for (j = 0; j < 32; j++)
			assert_ptr_equal(r[j], vsw_flow_lookup(t, &k[j]));
		/* and change the table now and then */
		if (i % 10 == 9) {
			s.match = rr[i].m;
			s.priority = 150;
			assert_int_equal(vsw_flow_table_add(t, &s, T0), 0);
		}
	}
	vsw_flow_emc_stats(e, &st);
	assert_true(st.n_used > 32 && st.n_used <= 64);
	assert_int_equal(st.hits + st.misses, 200 * 32);
	assert_true(st.hits > 0);
	vsw_flow_spec_fini(&s);
	vsw_flow_emc_destroy(e);
	vsw_flow_table_destroy(t);
	free(rr);
}

/* ---- concurrency: a reader thread while the control thread changes ---- */

struct conc {
	struct vsw_flow_table *t;
	uint64_t gp;   /* grace period counter (control thread) */
	uint64_t qs;   /* last gp the reader saw (reader) */
	uint32_t stop; /* relaxed flag */
	uint64_t lookups;
	uint64_t bad;
};

/* The switch's protocol in miniature (lib/switch: sw_sync). */
static int conc_sync(void *arg)
{
	struct conc *c = arg;
	/* Release RMW: publications before it reach the reader's acquire. */
	uint64_t g = __atomic_add_fetch(&c->gp, 1, __ATOMIC_RELEASE);

	/* Acquire pairs with the reader's release store of qs. */
	while (__atomic_load_n(&c->qs, __ATOMIC_ACQUIRE) < g &&
	       !__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
		sched_yield();
	return 0;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	struct vsw_flow_emc *e;
	uint64_t seed = 99, n = 0, bad = 0;

	if (vsw_flow_emc_create(c->t, 256, &e) != 0)
		return NULL;
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		struct vsw_flow_key k[8];
		struct vsw_flow_rule *r[8];
		uint32_t h[8];
		unsigned i;

		for (i = 0; i < 8; i++) {
			seed = seed * 6364136223846793005ULL + 1;
			k[i] = key_tcp((uint16_t)(1 + (seed >> 60) % 3), 10,
				       (uint8_t)(seed >> 33),
				       (uint8_t)(seed >> 41),
				       (uint8_t)(seed >> 49),
				       (uint16_t)(80 + (seed >> 57) % 2));
			h[i] = vsw_flow_key_hash(&k[i]);
		}
		vsw_flow_emc_lookup_burst(e, k, h, 8, r);
		for (i = 0; i < 8; i++) {
			const struct vsw_flow_actions *a;

			if (r[i] == NULL)
				continue;
			/* the rule and its actions are alive and sane */
			if (!vsw_flow_match_key(vsw_flow_rule_match(r[i]),
						&k[i]))
				bad++;
			a = vsw_flow_rule_actions(r[i]);
			if (a->n > 1)
				bad++;
			vsw_flow_rule_account(r[i], 1, 64, T0);
		}
		/* the classifier directly, too */
		r[0] = vsw_flow_lookup(c->t, &k[0]);
		if (r[0] != NULL &&
		    !vsw_flow_match_key(vsw_flow_rule_match(r[0]), &k[0]))
			bad++;
		n += 8;
		/* quiescent point: nothing from the table is held now */
		__atomic_store_n(&c->qs,
				 __atomic_load_n(&c->gp, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
	}
	__atomic_store_n(&c->qs, UINT64_MAX, __ATOMIC_RELEASE);
	c->lookups = n;
	c->bad = bad;
	vsw_flow_emc_destroy(e);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct conc c = {0};
	struct vsw_flow_table_config cfg = {.sync_try = conc_sync,
					    .sync_arg = &c};
	pthread_t th;
	char buf[160];
	unsigned i;

	(void)state;
	assert_int_equal(vsw_flow_table_create(&cfg, T0, &c.t), 0);
	assert_int_equal(pthread_create(&th, NULL, conc_reader, &c), 0);
	for (i = 0; i < 3000; i++) {
		unsigned a = i % 7, b = (i * 3) % 11;

		snprintf(buf, sizeof(buf),
			 "priority=%u,tcp,in_port=%u,nw_dst=10.%u.0.0/16,"
			 "tp_dst=%u,actions=output:%u",
			 100 + i % 50, 1 + i % 3, a, 80 + i % 2, 1 + b);
		add(c.t, buf, T0);
		snprintf(buf, sizeof(buf),
			 "priority=%u,ip,nw_dst=10.%u.%u.0/24,"
			 "actions=output:%u",
			 200 + i % 20, b, a, 1 + a);
		add(c.t, buf, T0);
		if (i % 3 == 0)
			mod(c.t, "tcp,in_port=2,actions=output:7", false);
		if (i % 5 == 4) {
			snprintf(buf, sizeof(buf), "ip,nw_dst=10.%u.0.0/16", b);
			del(c.t, buf, false);
		}
		if (i % 97 == 0)
			del(c.t, "", false);
	}
	/* let the reader see the final table for a while */
	for (i = 0; i < 10; i++)
		conc_sync(&c);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(c.lookups > 0);
	assert_int_equal(c.bad, 0);
	vsw_flow_table_destroy(c.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_and_dump),
		cmocka_unit_test(test_dump_long),
		cmocka_unit_test(test_del_mod),
		cmocka_unit_test(test_max_rules),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_flags_and_removed),
		cmocka_unit_test(test_classifier_random),
		cmocka_unit_test(test_emc),
		cmocka_unit_test(test_emc_eviction),
		cmocka_unit_test(test_tun_ext),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
