/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configuration store (lib/config): round trip through a
 * close and reopen, transactions, checks, and refusal of damaged or foreign
 * files without touching them.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "vsw_config.h"

struct tc_env {
	char dir[64];
	char path[128];
	char err[512];
};

static int tc_setup(void **state)
{
	struct tc_env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	strcpy(env->dir, "/tmp/vsw-test-config-XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	snprintf(env->path, sizeof(env->path), "%s/conf.db", env->dir);
	*state = env;
	return 0;
}

static int tc_teardown(void **state)
{
	struct tc_env *env = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->dir);
	assert_int_equal(system(cmd), 0);
	free(env);
	return 0;
}

static struct vsw_cfg *tc_open(struct tc_env *env, bool want_created)
{
	struct vsw_cfg *cfg = NULL;
	bool created = !want_created;
	int rc;

	rc = vsw_cfg_open(env->path, 0, &cfg, &created, env->err,
			  sizeof(env->err));
	if (rc != 0)
		fail_msg("open: %d %s", rc, env->err);
	assert_non_null(cfg);
	assert_int_equal(created, want_created);
	return cfg;
}

static void tc_port(struct vsw_cfg_port *p, const char *br, const char *name,
		    const char *type)
{
	memset(p, 0, sizeof(*p));
	p->tag = -1;
	strcpy(p->bridge, br);
	strcpy(p->name, name);
	strcpy(p->type, type);
}

static void tc_opt(struct vsw_cfg_port *p, const char *k, const char *v)
{
	strcpy(p->opts[p->n_opts].key, k);
	strcpy(p->opts[p->n_opts].value, v);
	p->n_opts++;
}

struct tc_names {
	char names[8][16];
	int n;
};

static int tc_collect_bridge(void *opaque, const char *name)
{
	struct tc_names *l = opaque;

	assert_true(l->n < 8);
	strcpy(l->names[l->n++], name);
	return 0;
}

static int tc_collect_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct tc_names *l = opaque;

	assert_true(l->n < 8);
	strcpy(l->names[l->n++], p->name);
	return 0;
}

static void test_roundtrip(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg_port p, q;
	struct tc_names l = { 0 };
	struct vsw_cfg *cfg;
	char v[64], buf[64];
	bool init;

	cfg = tc_open(env, true);
	assert_int_equal(vsw_cfg_is_initialized(cfg, &init), 0);
	assert_false(init);
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br1"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	tc_port(&p, "br1", "vhu0", "vhostuser");
	tc_opt(&p, "path", "/run/vsw/vhu0.sock");
	tc_opt(&p, "queues", "4");
	p.tag = 10;
	assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	tc_port(&p, "br0", "tap0", "tap");
	p.has_trunks = true;
	assert_int_equal(vsw_cfg_vlans_parse("1,5-7,4094", &p.trunks, buf,
					     sizeof(buf)),
			 0);
	assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	tc_port(&p, "br0", "dum", "dummy");
	assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	assert_int_equal(vsw_cfg_option_set(cfg, "threads", "2"), 0);
	assert_int_equal(vsw_cfg_option_set(cfg, "threads", "3"), 0);
	assert_int_equal(vsw_cfg_set_initialized(cfg), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);

	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_is_initialized(cfg, &init), 0);
	assert_true(init);
	assert_int_equal(vsw_cfg_bridge_foreach(cfg, tc_collect_bridge, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "br1"); /* creation order */
	assert_string_equal(l.names[1], "br0");
	l.n = 0;
	assert_int_equal(vsw_cfg_port_foreach(cfg, "br0", tc_collect_port, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "tap0");
	assert_string_equal(l.names[1], "dum");

	assert_int_equal(vsw_cfg_port_get(cfg, "vhu0", &q), 0);
	assert_string_equal(q.bridge, "br1");
	assert_string_equal(q.type, "vhostuser");
	assert_int_equal(q.tag, 10);
	assert_false(q.has_trunks);
	assert_int_equal(q.n_opts, 2);
	assert_string_equal(vsw_cfg_port_opt(&q, "path"), "/run/vsw/vhu0.sock");
	assert_string_equal(vsw_cfg_port_opt(&q, "queues"), "4");
	assert_null(vsw_cfg_port_opt(&q, "ifname"));

	assert_int_equal(vsw_cfg_port_get(cfg, "tap0", &q), 0);
	assert_int_equal(q.tag, -1);
	assert_true(q.has_trunks);
	assert_int_equal(vsw_cfg_vlans_count(&q.trunks), 5);
	assert_int_equal(vsw_cfg_vlans_format(&q.trunks, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1,5-7,4094");

	assert_int_equal(vsw_cfg_option_get(cfg, "threads", v, sizeof(v)), 0);
	assert_string_equal(v, "3");
	assert_int_equal(vsw_cfg_option_get(cfg, "ageing", v, sizeof(v)),
			 -ENOENT);
	vsw_cfg_close(cfg);
}

static void test_transactions(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg_port p, q;
	struct vsw_cfg *cfg;

	cfg = tc_open(env, true);
	/* No change outside a transaction. */
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), -EINVAL);
	assert_int_equal(vsw_cfg_bridge_exists(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), -EINVAL);

	/* Rolled back: nothing left. */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_begin(cfg), -EBUSY);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_exists(cfg, "br0"), 1);
	vsw_cfg_rollback(cfg);
	assert_int_equal(vsw_cfg_bridge_exists(cfg, "br0"), 0);

	/* Checks. */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), -EEXIST);
	assert_non_null(strstr(vsw_cfg_why(cfg), "exists"));
	assert_int_equal(vsw_cfg_bridge_add(cfg, "bad name"), -EINVAL);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "0123456789abcdef"), -EINVAL);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "-x"), -EINVAL);
	tc_port(&p, "nobr", "p0", "dummy");
	assert_int_equal(vsw_cfg_port_add(cfg, &p), -ENOENT);
	tc_port(&p, "br0", "p0", "dummy");
	tc_opt(&p, "rxq", "2");
	tc_opt(&p, "rxq", "3");
	assert_int_equal(vsw_cfg_port_add(cfg, &p), -EINVAL);
	p.n_opts = 1;
	strcpy(p.opts[0].value, "a\nb");
	assert_int_equal(vsw_cfg_port_add(cfg, &p), -EINVAL);
	strcpy(p.opts[0].value, "2");
	p.tag = 4096;
	assert_int_equal(vsw_cfg_port_add(cfg, &p), -EINVAL);
	p.tag = 7;
	assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	tc_port(&q, "br0", "p0", "tap");
	assert_int_equal(vsw_cfg_port_add(cfg, &q), -EEXIST);
	assert_int_equal(vsw_cfg_port_del(cfg, "nope"), -ENOENT);
	assert_int_equal(vsw_cfg_commit(cfg), 0);

	/* VLAN change, then bridge delete cascades to ports and options. */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	p.tag = -1;
	p.has_trunks = true;
	vsw_cfg_vlan_set(&p.trunks, 100);
	assert_int_equal(vsw_cfg_port_set_vlan(cfg, &p), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &q), 0);
	assert_int_equal(q.tag, -1);
	assert_true(vsw_cfg_vlan_test(&q.trunks, 100));
	assert_int_equal(vsw_cfg_vlans_count(&q.trunks), 1);

	/* Options replaced (set-port): all of them, checked, in a txn. */
	q = p;
	tc_opt(&q, "max-rate", "1000");
	assert_int_equal(vsw_cfg_port_set_opts(cfg, &q), -EINVAL); /* txn */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	strcpy(q.name, "nope");
	assert_int_equal(vsw_cfg_port_set_opts(cfg, &q), -ENOENT);
	strcpy(q.name, "p0");
	tc_opt(&q, "rxq", "9"); /* given twice */
	assert_int_equal(vsw_cfg_port_set_opts(cfg, &q), -EINVAL);
	q.n_opts = 2;
	assert_int_equal(vsw_cfg_port_set_opts(cfg, &q), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &q), 0);
	assert_int_equal(q.n_opts, 2);
	assert_string_equal(vsw_cfg_port_opt(&q, "max-rate"), "1000");
	assert_string_equal(vsw_cfg_port_opt(&q, "rxq"), "2");
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	q.n_opts = 0;
	tc_opt(&q, "rxq", "2");
	assert_int_equal(vsw_cfg_port_set_opts(cfg, &q), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &q), 0);
	assert_int_equal(q.n_opts, 1);
	assert_null(vsw_cfg_port_opt(&q, "max-rate"));

	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br0"), -ENOENT);
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &q), -ENOENT);
	vsw_cfg_rollback(cfg);
	/* Rolled back: the port and its option are back. */
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &q), 0);
	assert_string_equal(vsw_cfg_port_opt(&q, "rxq"), "2");
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);

	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_bridge_exists(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &q), -ENOENT);
	vsw_cfg_close(cfg);
}

static void test_vlans(void **state)
{
	struct vsw_cfg_vlans v;
	char err[200], buf[64];

	(void)state;
	assert_int_equal(vsw_cfg_vlans_parse("", &v, err, sizeof(err)), 0);
	assert_int_equal(vsw_cfg_vlans_count(&v), 0);
	assert_int_equal(vsw_cfg_vlans_parse("0,4095", &v, err, sizeof(err)),
			 0);
	assert_int_equal(vsw_cfg_vlans_count(&v), 2);
	assert_int_equal(vsw_cfg_vlans_parse("20,10,11,12", &v, err,
					     sizeof(err)),
			 0);
	assert_int_equal(vsw_cfg_vlans_format(&v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10-12,20");
	assert_int_equal(vsw_cfg_vlans_format(&v, buf, 4), -ENOSPC);
	static const char *const bad[] = { "4096", "1,,2", ",1", "1,", "5-3",
					   "a", "1-", "-1", "1 2", "99999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(vsw_cfg_vlans_parse(bad[i], &v, err,
						     sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "bad VLAN list"));
	}
	assert_true(vsw_cfg_name_valid("br0"));
	assert_true(vsw_cfg_name_valid("a.b_c-d"));
	assert_false(vsw_cfg_name_valid(""));
	assert_false(vsw_cfg_name_valid(".."));
	assert_false(vsw_cfg_name_valid("a/b"));
	assert_true(vsw_cfg_key_valid("ifname"));
	assert_false(vsw_cfg_key_valid("IfName"));
	assert_false(vsw_cfg_key_valid("a=b"));
}

/* Bytes of a file, to show that a refused file was not touched. */
static size_t tc_slurp(const char *path, unsigned char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

static void tc_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Open must fail with @want and a message containing @needle, file intact. */
static void tc_refused(struct tc_env *env, int want, const char *needle)
{
	static unsigned char before[1 << 20], after[1 << 20];
	struct vsw_cfg *cfg = (struct vsw_cfg *)1;
	char wal[160];
	size_t n1, n2;
	int rc;

	n1 = tc_slurp(env->path, before, sizeof(before));
	env->err[0] = '\0';
	rc = vsw_cfg_open(env->path, 0, &cfg, NULL, env->err, sizeof(env->err));
	if (rc != want)
		fail_msg("open gave %d, want %d: %s", rc, want, env->err);
	assert_null(cfg);
	if (strstr(env->err, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", env->err, needle);
	assert_non_null(strstr(env->err, env->path));
	n2 = tc_slurp(env->path, after, sizeof(after));
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	snprintf(wal, sizeof(wal), "%s-wal", env->path);
	assert_int_not_equal(access(wal, F_OK), 0);
}

/* A valid store with a few rows, closed. */
static void tc_make_store(struct tc_env *env, int n_ports)
{
	struct vsw_cfg *cfg = tc_open(env, true);
	struct vsw_cfg_port p;
	int i;

	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	for (i = 0; i < n_ports; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		tc_port(&p, "br0", name, "dummy");
		tc_opt(&p, "rxq", "1");
		assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	}
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
}

static void test_garbage(void **state)
{
	struct tc_env *env = *state;
	unsigned char junk[8192];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	tc_write(env->path, junk, sizeof(junk));
	tc_refused(env, -EILSEQ, "not an SQLite database");
	/* A text file. */
	tc_write(env->path, "bridge br0\n", 11);
	tc_refused(env, -EILSEQ, "not an SQLite database");
}

static void test_truncated(void **state)
{
	struct tc_env *env = *state;
	static unsigned char buf[1 << 20];
	size_t n, cut;

	tc_make_store(env, 300);
	n = tc_slurp(env->path, buf, sizeof(buf));
	assert_true(n > 4 * 4096);
	/* Cut at several places: inside the header, mid-file, a page short. */
	for (cut = 0; cut < 3; cut++) {
		size_t len = cut == 0 ? 60 : cut == 1 ? n / 2 : n - 4096;

		tc_write(env->path, buf, len);
		tc_refused(env, -EILSEQ, "damaged");
	}
}

static void test_damaged_page(void **state)
{
	struct tc_env *env = *state;
	static unsigned char buf[1 << 20];
	size_t n, i;

	tc_make_store(env, 300);
	n = tc_slurp(env->path, buf, sizeof(buf));
	/* Scribble over the middle of the last page (b-tree content). */
	for (i = n - 3000; i < n - 1000; i++)
		buf[i] ^= 0x5a;
	tc_write(env->path, buf, n);
	tc_refused(env, -EILSEQ, "damaged");
}

static void tc_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_wrong_schema(void **state)
{
	struct tc_env *env = *state;

	tc_make_store(env, 1);
	tc_sql(env->path, "PRAGMA journal_mode=DELETE; PRAGMA user_version=3");
	tc_refused(env, -EPROTO, "schema version 3");
	tc_sql(env->path, "PRAGMA user_version=0");
	tc_refused(env, -EPROTO, "schema version 0");
	/* Version 1 with version 2's tables: not upgraded, refused. */
	tc_sql(env->path, "PRAGMA user_version=1");
	tc_refused(env, -EPROTO, "unexpected table 'flows'");
	/* The right version, a table missing. */
	tc_sql(env->path, "PRAGMA user_version=2; DROP TABLE options");
	tc_refused(env, -EPROTO, "'options' is missing");
	/* An extra table. */
	tc_sql(env->path, "CREATE TABLE options (key TEXT PRIMARY KEY NOT NULL,"
			  " value TEXT NOT NULL); CREATE TABLE zz (x)");
	tc_refused(env, -EPROTO, "unexpected table 'zz'");
}

/* A schema version 1 store, written the way vswd 0.1 did. */
static const char tc_v1_sql[] =
	"PRAGMA journal_mode=DELETE;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL);"
	"CREATE TABLE bridges (id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE ports (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" bridge TEXT NOT NULL REFERENCES bridges(name) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" tag INTEGER CHECK (tag IS NULL OR tag BETWEEN 0 AND 4095),"
	" trunks TEXT);"
	"CREATE INDEX ports_bridge ON ports(bridge);"
	"CREATE TABLE port_options ("
	" port TEXT NOT NULL REFERENCES ports(name) ON DELETE CASCADE,"
	" key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (port, key));"
	"CREATE TABLE options (key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL);"
	"INSERT INTO meta VALUES ('initialized', '1');"
	"INSERT INTO bridges(name) VALUES ('br0'), ('br1');"
	"INSERT INTO ports(name, bridge, type, tag) VALUES"
	" ('a', 'br0', 'dummy', 10), ('b', 'br1', 'dummy', NULL),"
	" ('c', 'br0', 'tap', NULL);"
	"INSERT INTO port_options VALUES ('a', 'rxq', '2');"
	"INSERT INTO options VALUES ('threads', '2');"
	"PRAGMA application_id = 1987278692; PRAGMA user_version = 1;";

struct tc_flows {
	unsigned n;
	char flow[4][128];
	unsigned prio[4];
};

static int tc_flow_cb(void *opaque, const struct vsw_cfg_flow *f)
{
	struct tc_flows *l = opaque;

	if (l->n < 4) {
		snprintf(l->flow[l->n], sizeof(l->flow[0]), "%s", f->flow);
		l->prio[l->n] = f->priority;
	}
	l->n++;
	return 0;
}

/* v1 -> v2: bridges, ports, options kept; ofports and default flows */
static void test_migrate_v1(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg_port p;
	struct tc_flows fl = {0};
	struct vsw_cfg *cfg;
	char v[32];
	long long ver = 0;
	sqlite3_stmt *st;
	sqlite3 *db;

	tc_sql(env->path, tc_v1_sql);
	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_port_get(cfg, "a", &p), 0);
	assert_string_equal(p.bridge, "br0");
	assert_int_equal(p.tag, 10);
	assert_int_equal(p.ofport, 1);
	assert_string_equal(vsw_cfg_port_opt(&p, "rxq"), "2");
	assert_int_equal(vsw_cfg_port_get(cfg, "b", &p), 0);
	assert_int_equal(p.ofport, 1);
	assert_int_equal(vsw_cfg_port_get(cfg, "c", &p), 0);
	assert_int_equal(p.ofport, 2);
	assert_int_equal(vsw_cfg_option_get(cfg, "threads", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(vsw_cfg_flow_foreach(cfg, "br1", tc_flow_cb, &fl), 0);
	assert_int_equal(fl.n, 1);
	assert_string_equal(fl.flow[0], VSW_CFG_FLOW_DEFAULT);
	/* a new port takes the lowest free number; ofports are unique */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	tc_port(&p, "br0", "d", "dummy");
	assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	assert_int_equal(p.ofport, 3);
	assert_int_equal(vsw_cfg_port_del(cfg, "a"), 0);
	tc_port(&p, "br0", "e", "dummy");
	assert_int_equal(vsw_cfg_port_add(cfg, &p), 0);
	assert_int_equal(p.ofport, 1);
	tc_port(&p, "br0", "f", "dummy");
	p.ofport = 2;
	assert_int_equal(vsw_cfg_port_add(cfg, &p), -EEXIST);
	assert_non_null(strstr(vsw_cfg_why(cfg), "ofport 2"));
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
	/* the file is version 2 now */
	assert_int_equal(sqlite3_open(env->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	ver = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(ver, VSW_CFG_SCHEMA_VERSION);
	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_port_get(cfg, "e", &p), 0);
	assert_int_equal(p.ofport, 1);
	vsw_cfg_close(cfg);
}

/* flows: replaced per bridge, in order, durable, gone with the bridge */
static void test_flows(void **state)
{
	struct tc_env *env = *state;
	const struct vsw_cfg_flow f[] = {
		{100, "cookie=0x0, priority=100,in_port=1 actions=output:2"},
		{0, "cookie=0x0, priority=0 actions=drop"},
	};
	struct tc_flows fl = {0};
	struct vsw_cfg *cfg = tc_open(env, true);

	assert_int_equal(vsw_cfg_flows_set(cfg, "br0", f, 2), -EINVAL);
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br1"), 0);
	assert_int_equal(vsw_cfg_flows_set(cfg, "nope", f, 2), -ENOENT);
	assert_int_equal(vsw_cfg_flows_set(cfg, "br0", f, 2), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_flow_foreach(cfg, "br0", tc_flow_cb, &fl), 0);
	assert_int_equal(fl.n, 2);
	assert_string_equal(fl.flow[0], f[0].flow);
	assert_int_equal(fl.prio[0], 100);
	assert_string_equal(fl.flow[1], f[1].flow);
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(vsw_cfg_flow_foreach(cfg, "br1", tc_flow_cb, &fl), 0);
	assert_int_equal(fl.n, 1);
	assert_string_equal(fl.flow[0], VSW_CFG_FLOW_DEFAULT);
	/* an empty table is stored as empty */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_flows_set(cfg, "br1", NULL, 0), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(vsw_cfg_flow_foreach(cfg, "br1", tc_flow_cb, &fl), 0);
	assert_int_equal(fl.n, 0);
	assert_int_equal(vsw_cfg_flow_foreach(cfg, "br0", tc_flow_cb, &fl), 0);
	assert_int_equal(fl.n, 0);
	vsw_cfg_close(cfg);
}

/* @get (a per-bridge meta getter) of @bridge reads back @want. */
static void tc_meta_is(struct vsw_cfg *cfg,
		       int (*get)(struct vsw_cfg *, const char *, char *,
				  size_t),
		       const char *bridge, const char *want)
{
	char buf[VSW_CFG_CONTROLLERS_MAX + 1];

	assert_int_equal(get(cfg, bridge, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

/* OpenFlow controller targets: stored, reopened, removed with the bridge */
static void test_controllers(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *cfg = tc_open(env, true);
	char big[VSW_CFG_CONTROLLERS_MAX + 2];

	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", "ptcp:1"),
			 -EINVAL); /* outside a transaction */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "nope", "ptcp:1"),
			 -ENOENT);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", big), -E2BIG);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", "ptcp:2"), 0);
	/* replaced, not added to */
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0",
						 "ptcp:6653 tcp:127.0.0.1:1"),
			 0);
	/* an empty target, a control character: refused, nothing changed */
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", "ptcp:1  x"),
			 -EINVAL);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", " ptcp:1"),
			 -EINVAL);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", "ptcp:1 "),
			 -EINVAL);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", "ptcp:1\n"),
			 -EINVAL);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "b:r", "ptcp:1"),
			 -EINVAL);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
	cfg = tc_open(env, false);
	tc_meta_is(cfg, vsw_cfg_controllers_get, "br0", "ptcp:6653 tcp:127.0.0.1:1");
	/* the bridge goes, its targets with it; a new br0 has none */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	tc_meta_is(cfg, vsw_cfg_controllers_get, "br0", "");
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", "ptcp:1"), 0);
	assert_int_equal(vsw_cfg_controllers_set(cfg, "br0", NULL), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	tc_meta_is(cfg, vsw_cfg_controllers_get, "br0", "");
	vsw_cfg_close(cfg);
}

struct tc_mirrors {
	char text[512];
};

static int tc_mirror_cb(void *opaque, const char *bridge, const char *name,
			const char *spec)
{
	struct tc_mirrors *m = opaque;
	size_t off = strlen(m->text);

	snprintf(m->text + off, sizeof(m->text) - off, "%s/%s:%s;", bridge,
		 name, spec);
	return 0;
}

/* Mirrors: stored in order, replaced, deleted, removed with the bridge */
static void test_mirrors(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *cfg = tc_open(env, true);
	struct tc_mirrors m = {""};
	static char big[VSW_CFG_MIRROR_MAX + 2];

	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1", "x"), -EINVAL);
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br_1"), 0);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "nope", "m1", "x"), -ENOENT);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "a:b", "x"), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1", big), -E2BIG);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1",
					    "select-all=true output-port=p"),
			 0);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br_1", "m1", "a"), 0);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m2", "b"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_mirror_foreach(cfg, NULL, tc_mirror_cb, &m),
			 0);
	assert_string_equal(m.text, "br0/m1:select-all=true output-port=p;"
				    "br_1/m1:a;br0/m2:b;");
	m.text[0] = '\0';
	assert_int_equal(vsw_cfg_mirror_foreach(cfg, "br0", tc_mirror_cb, &m),
			 0);
	assert_string_equal(m.text, "br0/m1:select-all=true output-port=p;"
				    "br0/m2:b;");
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_mirror_del(cfg, "br0", "m3"), -ENOENT);
	assert_int_equal(vsw_cfg_mirror_del(cfg, "br0", "m1"), 0);
	/* "br_" must not match "br0" (LIKE wildcards) */
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br_1"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	m.text[0] = '\0';
	assert_int_equal(vsw_cfg_mirror_foreach(cfg, NULL, tc_mirror_cb, &m),
			 0);
	assert_string_equal(m.text, "br0/m2:b;");
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	m.text[0] = '\0';
	assert_int_equal(vsw_cfg_mirror_foreach(cfg, NULL, tc_mirror_cb, &m),
			 0);
	assert_string_equal(m.text, "");
	vsw_cfg_close(cfg);
}

/* Fail mode: secure / standalone only, replaced, deleted, bridge-scoped */
static void test_fail_mode(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *cfg = tc_open(env, true);

	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", "secure"), -EINVAL);
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br1"), 0);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "nope", "secure"),
			 -ENOENT);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", "closed"), -EINVAL);
	assert_non_null(strstr(vsw_cfg_why(cfg), "secure or standalone"));
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", "standalonexx"),
			 -E2BIG);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", "secure"), 0);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br1", "standalone"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
	cfg = tc_open(env, false);
	tc_meta_is(cfg, vsw_cfg_fail_mode_get, "br0", "secure");
	tc_meta_is(cfg, vsw_cfg_fail_mode_get, "br1", "standalone");
	tc_meta_is(cfg, vsw_cfg_fail_mode_get, "nope", "");
	/* replace; a refused value leaves the stored one */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", "standalone"), 0);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", "bogus"), -EINVAL);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	tc_meta_is(cfg, vsw_cfg_fail_mode_get, "br0", "standalone");
	/* delete; the bridge takes its row with it */
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", ""), 0);
	assert_int_equal(vsw_cfg_fail_mode_set(cfg, "br0", NULL), 0);
	assert_int_equal(vsw_cfg_bridge_del(cfg, "br1"), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br1"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	tc_meta_is(cfg, vsw_cfg_fail_mode_get, "br0", "");
	tc_meta_is(cfg, vsw_cfg_fail_mode_get, "br1", "");
	vsw_cfg_close(cfg);
}

/* One mirror's settings by name: set, get, replace, delete */
static void test_mirror_get(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *cfg = tc_open(env, true);
	char buf[VSW_CFG_MIRROR_MAX + 1];

	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_bridge_add(cfg, "br0"), 0);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1", ""), -EINVAL);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1", NULL), -EINVAL);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1", "{\"a\":1}"), 0);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m2", "{\"b\":2}"), 0);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	vsw_cfg_close(cfg);
	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "m1", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "{\"a\":1}");
	assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "m3", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "");
	assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "a:b", buf, sizeof(buf)),
			 -EINVAL);
	/* too small a buffer: an error, not a cut value */
	assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "m1", buf, 4), -EILSEQ);
	assert_int_equal(vsw_cfg_begin(cfg), 0);
	assert_int_equal(vsw_cfg_mirror_set(cfg, "br0", "m1", "{\"a\":3}"), 0);
	assert_int_equal(vsw_cfg_mirror_del(cfg, "br0", "m2"), 0);
	assert_int_equal(vsw_cfg_mirror_del(cfg, "br0", "m2"), -ENOENT);
	assert_int_equal(vsw_cfg_commit(cfg), 0);
	assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "m1", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "{\"a\":3}");
	assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "m2", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "");
	vsw_cfg_close(cfg);
}

/* Reading @key's row gives -EILSEQ naming it, and leaves the row there. */
static void tc_bad_meta(struct tc_env *env, const char *key,
			const char *value_sql)
{
	char sql[2400], buf[VSW_CFG_MIRROR_MAX + 1];
	struct tc_mirrors m = {""};
	struct vsw_cfg *cfg;
	long long n;
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc;

	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode=DELETE; DELETE FROM meta WHERE key "
		 "LIKE 'controller:%%' OR key LIKE 'fail_mode:%%' OR key LIKE "
		 "'mirror:%%'; INSERT INTO meta(key, value) VALUES ('%s', %s)",
		 key, value_sql);
	tc_sql(env->path, sql);
	cfg = tc_open(env, false);
	if (strncmp(key, "controller:", 11) == 0)
		rc = vsw_cfg_controllers_get(cfg, "br0", buf, sizeof(buf));
	else if (strncmp(key, "fail_mode:", 10) == 0)
		rc = vsw_cfg_fail_mode_get(cfg, "br0", buf, sizeof(buf));
	else
		rc = vsw_cfg_mirror_foreach(cfg, NULL, tc_mirror_cb, &m);
	if (rc != -EILSEQ)
		fail_msg("row %s=%s read with %d, want -EILSEQ", key, value_sql,
			 rc);
	if (strstr(vsw_cfg_why(cfg), key) == NULL ||
	    strstr(vsw_cfg_why(cfg), "invalid") == NULL)
		fail_msg("message '%s' does not name row '%s'",
			 vsw_cfg_why(cfg), key);
	assert_string_equal(m.text, "");
	if (strcmp(key, "mirror:br0:m1") == 0) {
		assert_int_equal(vsw_cfg_mirror_get(cfg, "br0", "m1", buf,
						    sizeof(buf)),
				 -EILSEQ);
		assert_string_equal(buf, "");
	}
	vsw_cfg_close(cfg);
	/* nothing stored is lost: the row is still there to be repaired */
	assert_int_equal(sqlite3_open(env->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM meta "
					    "WHERE key = ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(n, 1);
}

/* Hand-edited, cut or garbage meta rows of each kind: a clear error */
static void test_meta_garbage(void **state)
{
	struct tc_env *env = *state;
	char big[1200];

	tc_make_store(env, 0);
	tc_bad_meta(env, "controller:br0", "''");
	tc_bad_meta(env, "controller:br0", "'ptcp:1  tcp:1.2.3.4:5'");
	tc_bad_meta(env, "controller:br0", "'ptcp:1 '");
	tc_bad_meta(env, "controller:br0", "X'ff00'");
	/* one byte longer than vsw_cfg_controllers_set takes */
	big[0] = '\'';
	memset(big + 1, 'x', VSW_CFG_CONTROLLERS_MAX + 1);
	strcpy(big + VSW_CFG_CONTROLLERS_MAX + 2, "'");
	tc_bad_meta(env, "controller:br0", big);
	tc_bad_meta(env, "fail_mode:br0", "'secur'");
	tc_bad_meta(env, "fail_mode:br0", "''");
	tc_bad_meta(env, "fail_mode:br0", "'secure secure'");
	tc_bad_meta(env, "mirror:br0", "'{}'");
	tc_bad_meta(env, "mirror:br0:", "'{}'");
	tc_bad_meta(env, "mirror:br0:m1", "''");
}

static void test_foreign_db(void **state)
{
	struct tc_env *env = *state;

	tc_sql(env->path, "CREATE TABLE songs (title TEXT)");
	tc_refused(env, -EPROTO, "not a vswd configuration");
}

static void test_inconsistent_rows(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *cfg;
	struct vsw_cfg_port p;

	tc_make_store(env, 1);
	/* A port whose bridge is gone (foreign keys off in this writer). */
	tc_sql(env->path, "PRAGMA journal_mode=DELETE; "
			  "DELETE FROM bridges WHERE name = 'br0'");
	tc_refused(env, -EILSEQ, "inconsistent");
	/* A hand-edited row with a bad value is reported on read. */
	tc_sql(env->path, "INSERT INTO bridges(name) VALUES ('br0');"
			  "UPDATE ports SET trunks = '1,zz'");
	cfg = tc_open(env, false);
	assert_int_equal(vsw_cfg_port_get(cfg, "p0", &p), -EILSEQ);
	assert_non_null(strstr(vsw_cfg_why(cfg), "invalid trunks"));
	vsw_cfg_close(cfg);
}

static void test_locked_and_missing(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *a, *b = NULL;
	char path[160];

	a = tc_open(env, true);
	assert_int_equal(vsw_cfg_open(env->path, 0, &b, NULL, env->err,
				      sizeof(env->err)),
			 -EBUSY);
	assert_null(b);
	assert_non_null(strstr(env->err, "another"));
	vsw_cfg_close(a);
	b = tc_open(env, false);
	vsw_cfg_close(b);

	snprintf(path, sizeof(path), "%s/nodir/conf.db", env->dir);
	assert_int_equal(vsw_cfg_open(path, 0, &b, NULL, env->err,
				      sizeof(env->err)),
			 -ENOENT);
	assert_int_equal(vsw_cfg_open(env->dir, 0, &b, NULL, env->err,
				      sizeof(env->err)),
			 -EINVAL);
	assert_non_null(strstr(env->err, "not a regular file"));
}

/*
 * A zero-length file is refused like other damage (SQLite alone would take
 * it for an empty database), and left as it is; with VSW_CFG_OPEN_EMPTY_OK
 * it becomes a new store.
 */
static void test_empty_file(void **state)
{
	struct tc_env *env = *state;
	struct vsw_cfg *cfg = NULL;
	bool created = false;
	struct stat sb;

	tc_write(env->path, "", 0);
	assert_int_equal(vsw_cfg_open(env->path, 0, &cfg, &created, env->err,
				      sizeof(env->err)),
			 -EILSEQ);
	assert_null(cfg);
	assert_non_null(strstr(env->err, "zero-length"));
	assert_non_null(strstr(env->err, env->path));
	assert_int_equal(stat(env->path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(vsw_cfg_open(env->path, VSW_CFG_OPEN_EMPTY_OK, &cfg,
				      &created, env->err, sizeof(env->err)),
			 0);
	assert_true(created);
	vsw_cfg_close(cfg);
	/* a store now: opened as such, the flag changes nothing */
	cfg = tc_open(env, false);
	vsw_cfg_close(cfg);
	assert_int_equal(vsw_cfg_open(env->path, VSW_CFG_OPEN_EMPTY_OK, &cfg,
				      &created, env->err, sizeof(env->err)),
			 0);
	assert_false(created);
	vsw_cfg_close(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_transactions, tc_setup,
						tc_teardown),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test_setup_teardown(test_garbage, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_truncated, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_page, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_schema, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_db, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_flows, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_controllers, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_mirrors, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_fail_mode, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_mirror_get, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_meta_garbage, tc_setup,
						tc_teardown),
		cmocka_unit_test_setup_teardown(test_inconsistent_rows,
						tc_setup, tc_teardown),
		cmocka_unit_test_setup_teardown(test_locked_and_missing,
						tc_setup, tc_teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, tc_setup,
						tc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
