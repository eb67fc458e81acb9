/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the stored-configuration loader (lib/config/config.c).
 *
 * The input is the bytes of a conf.db. They are written to a file in a
 * private temporary folder, which is opened with vsw_cfg_open() and, when
 * accepted, loaded the way vswd restores it: options, bridges, each
 * bridge's ports (and each port again by name) and flow rules, every flow
 * rule through vsw_flow_parse() as vswd does. Then one change is written
 * (a bridge, a port with options and trunks, a flow table, an option) and
 * committed, so the write paths meet the damaged file too.
 *
 * Invariants, checked with abort():
 *   - open returns 0, or one of the documented errors with a message;
 *   - everything loaded satisfies the store's own rules: names, keys and
 *     values valid, tag -1..4095, ofport 1..VSW_CFG_OFPORT_MAX, at most
 *     VSW_CFG_MAX_OPTS options, a port's bridge is one of the bridges,
 *     port_get returns what foreach returned, trunks print and parse back
 *     to the same set, flow priorities 0..65535;
 *   - every call returns 0 or a negative errno.
 *
 * Seeds (corpus/config) are stores written by gen_config_seeds.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vsw/flow.h>

#include "vsw_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (1024 * 1024)
#define FZ_MAX_BRIDGES 64

struct fz_load {
	struct vsw_cfg *cfg;
	char bridges[FZ_MAX_BRIDGES][VSW_CFG_NAME_MAX + 1];
	unsigned n_bridges;
	const char *bridge; /* the one being loaded */
};

static int fz_option(void *opaque, const char *key, const char *value)
{
	(void)opaque;
	if (key == NULL || value == NULL)
		abort();
	return 0;
}

static int fz_bridge(void *opaque, const char *name)
{
	struct fz_load *l = opaque;

	if (!vsw_cfg_name_valid(name))
		abort();
	if (l->n_bridges < FZ_MAX_BRIDGES)
		snprintf(l->bridges[l->n_bridges++], sizeof(l->bridges[0]),
			 "%s", name);
	return 0;
}

static void fz_check_port(const struct fz_load *l,
			  const struct vsw_cfg_port *p)
{
	struct vsw_cfg_vlans again;
	char buf[16384], err[256];
	unsigned i;

	if (!vsw_cfg_name_valid(p->name) || !vsw_cfg_name_valid(p->bridge) ||
	    p->type[0] == '\0' || p->tag < -1 || p->tag > VSW_CFG_VLAN_MAX ||
	    p->ofport < 1 || p->ofport > VSW_CFG_OFPORT_MAX ||
	    p->n_opts > VSW_CFG_MAX_OPTS)
		abort();
	if (l->bridge != NULL && strcmp(p->bridge, l->bridge) != 0)
		abort();
	for (i = 0; i < p->n_opts; i++)
		if (!vsw_cfg_key_valid(p->opts[i].key) ||
		    !vsw_cfg_value_valid(p->opts[i].value))
			abort();
	if (p->has_trunks) {
		if (vsw_cfg_vlans_format(&p->trunks, buf, sizeof(buf)) < 0)
			abort();
		if (buf[0] != '\0') {
			if (vsw_cfg_vlans_parse(buf, &again, err,
						sizeof(err)) != 0 ||
			    memcmp(&again, &p->trunks, sizeof(again)) != 0)
				abort();
		}
	}
}

static int fz_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct fz_load *l = opaque;
	struct vsw_cfg_port q;
	int ret;

	fz_check_port(l, p);
	ret = vsw_cfg_port_get(l->cfg, p->name, &q);
	if (ret == 0) {
		fz_check_port(l, &q);
		if (strcmp(q.bridge, p->bridge) || strcmp(q.type, p->type) ||
		    q.ofport != p->ofport || q.tag != p->tag ||
		    q.n_opts != p->n_opts)
			abort();
	} else if (ret > 0) {
		abort();
	}
	return 0;
}

static int fz_flow(void *opaque, const struct vsw_cfg_flow *f)
{
	struct vsw_flow_spec spec;
	char err[256];

	(void)opaque;
	if (f->flow == NULL || f->priority > 65535)
		abort();
	if (vsw_flow_parse(f->flow, VSW_FLOW_PARSE_ADD, NULL, &spec, err,
			   sizeof(err)) == 0)
		vsw_flow_spec_fini(&spec);
	return 0;
}

static void fz_write(struct vsw_cfg *cfg)
{
	static const struct vsw_cfg_flow flows[] = {
		{.priority = 0, .flow = "priority=0 actions=NORMAL"},
		{.priority = 10, .flow = "priority=10,in_port=1 actions=drop"},
	};
	struct vsw_cfg_port p;
	char err[64];

	if (vsw_cfg_begin(cfg) != 0)
		return;
	memset(&p, 0, sizeof(p));
	strcpy(p.name, "fzport");
	strcpy(p.bridge, "fzbr");
	strcpy(p.type, "dummy");
	p.tag = -1;
	p.n_opts = 1;
	strcpy(p.opts[0].key, "k");
	strcpy(p.opts[0].value, "v");
	if (vsw_cfg_vlans_parse("1,5-7", &p.trunks, err, sizeof(err)) != 0)
		abort();
	p.has_trunks = true;
	if (vsw_cfg_bridge_add(cfg, "fzbr") > 0 ||
	    vsw_cfg_port_add(cfg, &p) > 0 ||
	    vsw_cfg_flows_set(cfg, "fzbr", flows, 2) > 0 ||
	    vsw_cfg_option_set(cfg, "ageing", "60") > 0 ||
	    vsw_cfg_set_initialized(cfg) > 0)
		abort();
	if (vsw_cfg_commit(cfg) != 0)
		vsw_cfg_rollback(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[40], path[64], side[80];
	static const char *const sides[] = {"-wal", "-shm", "-journal"};
	struct fz_load l = {0};
	char err[512];
	bool created = false, init;
	unsigned i;
	FILE *f;
	int ret;

	if (size > FZ_MAX_INPUT)
		return 0;
	/* tmpfs where there is one: the store's fsyncs cost nothing there */
	snprintf(dir, sizeof(dir), "/dev/shm/vsw-fuzz-cfg.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/vsw-fuzz-cfg.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(path, sizeof(path), "%s/conf.db", dir);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	err[0] = '\0';
	ret = vsw_cfg_open(path, size & 1 ? VSW_CFG_OPEN_EMPTY_OK : 0, &l.cfg,
			   &created, err, sizeof(err));
	if (ret != 0) {
		if (ret > 0 || err[0] == '\0' || l.cfg != NULL)
			abort();
		goto out;
	}
	if (vsw_cfg_is_initialized(l.cfg, &init) > 0 ||
	    vsw_cfg_option_foreach(l.cfg, fz_option, &l) > 0 ||
	    vsw_cfg_bridge_foreach(l.cfg, fz_bridge, &l) > 0 ||
	    vsw_cfg_port_foreach(l.cfg, NULL, fz_port, &l) > 0)
		abort();
	for (i = 0; i < l.n_bridges; i++) {
		l.bridge = l.bridges[i];
		if (vsw_cfg_port_foreach(l.cfg, l.bridge, fz_port, &l) > 0 ||
		    vsw_cfg_flow_foreach(l.cfg, l.bridge, fz_flow, &l) > 0)
			abort();
	}
	fz_write(l.cfg);
	vsw_cfg_close(l.cfg);
out:
	unlink(path);
	for (i = 0; i < 3; i++) {
		snprintf(side, sizeof(side), "%s%s", path, sides[i]);
		unlink(side);
	}
	if (rmdir(dir) != 0)
		abort();
	return 0;
}
