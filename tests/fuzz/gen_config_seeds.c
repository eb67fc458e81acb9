/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of fuzz_config: stores made through the vsw_cfg
 * API (so they follow the current schema), compacted to 512-byte pages so
 * the fuzzer mutates small files.
 *
 * usage: gen_config_seeds OUTDIR   (ninja -C BUILD tests/fuzz/gen_config_seeds,
 *        then BUILD/tests/fuzz/gen_config_seeds tests/fuzz/corpus/config)
 *
 * Seeds: a fresh store; a full one (two bridges, ports with options, an
 * access port, a trunk port, flow tables, options); a schema version 1
 * store as vswd 0.1 wrote it, which open upgrades.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vsw_config.h"

static void die(const char *what, const char *why)
{
	fprintf(stderr, "gen_config_seeds: %s: %s\n", what, why);
	exit(1);
}

static void sql(const char *path, const char *text)
{
	sqlite3 *db;
	char *msg = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
		die(path, msg);
	sqlite3_close(db);
}

/* Small pages, no WAL: a compact single file. */
static void compact(const char *path)
{
	sql(path, "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM;");
}

static void port(struct vsw_cfg *cfg, const char *br, const char *name,
		 const char *type, int tag, const char *trunks,
		 const char *key, const char *value)
{
	struct vsw_cfg_port p;
	char err[128];

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.bridge, sizeof(p.bridge), "%s", br);
	snprintf(p.type, sizeof(p.type), "%s", type);
	p.tag = tag;
	if (trunks != NULL) {
		if (vsw_cfg_vlans_parse(trunks, &p.trunks, err, sizeof(err)))
			die(trunks, err);
		p.has_trunks = true;
	}
	if (key != NULL) {
		snprintf(p.opts[0].key, sizeof(p.opts[0].key), "%s", key);
		snprintf(p.opts[0].value, sizeof(p.opts[0].value), "%s", value);
		p.n_opts = 1;
	}
	if (vsw_cfg_port_add(cfg, &p) != 0)
		die(name, vsw_cfg_why(cfg));
}

static void full(const char *path)
{
	static const struct vsw_cfg_flow flows[] = {
		{.priority = 100, .flow = "priority=100,tcp,nw_dst=10.0.0.0/24,"
					  "tp_dst=80 actions=output:2"},
		{.priority = 10, .flow = "priority=10,dl_vlan=5 "
					 "actions=strip_vlan,NORMAL"},
		{.priority = 0, .flow = VSW_CFG_FLOW_DEFAULT},
	};
	struct vsw_cfg *cfg;
	char err[512];

	if (vsw_cfg_open(path, 0, &cfg, NULL, err, sizeof(err)) != 0)
		die(path, err);
	if (vsw_cfg_begin(cfg) || vsw_cfg_bridge_add(cfg, "br0") ||
	    vsw_cfg_bridge_add(cfg, "br1"))
		die(path, vsw_cfg_why(cfg));
	port(cfg, "br0", "vm1", "vhostuser", -1, NULL, "path",
	     "/run/vsw/vm1.sock");
	port(cfg, "br0", "tap0", "tap", 10, NULL, NULL, NULL);
	port(cfg, "br1", "up0", "afpacket", -1, "1,5-7,4095", "ifname",
	     "eth0");
	if (vsw_cfg_flows_set(cfg, "br0", flows, 3) ||
	    vsw_cfg_option_set(cfg, "threads", "2") ||
	    vsw_cfg_option_set(cfg, "ageing", "300") ||
	    vsw_cfg_set_initialized(cfg) || vsw_cfg_commit(cfg))
		die(path, vsw_cfg_why(cfg));
	vsw_cfg_close(cfg);
}

static void fresh(const char *path)
{
	struct vsw_cfg *cfg;
	char err[512];

	if (vsw_cfg_open(path, 0, &cfg, NULL, err, sizeof(err)) != 0)
		die(path, err);
	vsw_cfg_close(cfg);
}

/* Schema version 1 (vswd 0.1): no ofports, no flows table. */
static void v1(const char *path)
{
	sql(path,
	    "PRAGMA application_id = 1987278692; PRAGMA user_version = 1;"
	    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT "
	    "NOT NULL); CREATE TABLE bridges (id INTEGER PRIMARY KEY, name "
	    "TEXT NOT NULL UNIQUE); CREATE TABLE ports (id INTEGER PRIMARY "
	    "KEY, name TEXT NOT NULL UNIQUE, bridge TEXT NOT NULL REFERENCES "
	    "bridges(name) ON DELETE CASCADE, type TEXT NOT NULL, tag INTEGER "
	    "CHECK (tag IS NULL OR tag BETWEEN 0 AND 4095), trunks TEXT);"
	    "CREATE INDEX ports_bridge ON ports(bridge); CREATE TABLE "
	    "port_options (port TEXT NOT NULL REFERENCES ports(name) ON "
	    "DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY "
	    "KEY (port, key)); CREATE TABLE options (key TEXT PRIMARY KEY NOT "
	    "NULL, value TEXT NOT NULL);"
	    "INSERT INTO meta VALUES ('initialized', '1');"
	    "INSERT INTO bridges (name) VALUES ('br0');"
	    "INSERT INTO ports (name, bridge, type, tag, trunks) VALUES "
	    "('vm1', 'br0', 'vhostuser', NULL, NULL), ('t1', 'br0', 'tap', "
	    "NULL, '1-3');"
	    "INSERT INTO port_options VALUES ('vm1', 'path', '/tmp/vm1.sock');"
	    "INSERT INTO options VALUES ('threads', '1');");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*make)(const char *path);
	} seeds[] = {{"fresh.db", fresh}, {"full.db", full}, {"v1.db", v1}};
	char path[4096];
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_config_seeds OUTDIR\n");
		return 2;
	}
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], seeds[i].name);
		unlink(path);
		seeds[i].make(path);
		compact(path);
		printf("%s\n", path);
	}
	return 0;
}
