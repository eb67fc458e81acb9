/* SPDX-License-Identifier: MIT */
/*
 * The switch's control API: create / destroy, bridges, ports, VLAN
 * settings, data threads and options, the MAC table, show, and the control
 * loop's fds. It sits on the leaves: log.c (log lines, error messages),
 * sync.c (grace periods, publishing the polling lists), stats.c
 * (counters), and on fdb.c, flows.c, port.c, pmd.c. Everything here runs
 * on the one control thread.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "switch_priv.h"
#include "vsw_time.h"

#define SW_SWEEP_MS 1000

static uint64_t sw_default_clock(void *arg)
{
	(void)arg;
	return vsw_now_coarse_ms();
}

/* ---- lookups ---- */

struct sw_bridge *sw_bridge_find(struct vsw_switch *sw, const char *name)
{
	struct sw_bridge *b;

	for (b = sw->bridges; b != NULL; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

struct vsw_port *vsw_switch_port_find(struct vsw_switch *sw, const char *name)
{
	unsigned id;

	if (name == NULL)
		return NULL;
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++)
		if (sw->ports[id] != NULL &&
		    strcmp(sw->ports[id]->name, name) == 0)
			return sw->ports[id];
	return NULL;
}

/*
 * A new port set for br (without `skip`): flood set, ofport map, LOCAL
 * port; the old one through *old.
 */
int sw_flood_publish(struct vsw_switch *sw, struct sw_bridge *br,
		     const struct vsw_port *skip, struct sw_flood **old)
{
	size_t mbytes = sw_mset_bytes(br), base;
	struct sw_flood *fl;
	struct sw_mset *ms;
	unsigned id, n = 0, n_of = 0;

	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p != NULL && p->br == br && p != skip) {
			n++;
			if (p->ofport >= n_of)
				n_of = p->ofport + 1u;
		}
	}
	base = VSW_ALIGN_UP(sizeof(*fl) + (n + n_of) * sizeof(fl->ports[0]) +
				    (VSW_SWITCH_MAX_PORTS + 1) *
					    sizeof(fl->of_by_id[0]),
			    VSW_CACHE_LINE);
	fl = calloc(1, base + mbytes);
	if (fl == NULL)
		return -ENOMEM;
	fl->by_of = &fl->ports[n];
	fl->of_by_id = (uint16_t *)&fl->ports[n + n_of];
	fl->n_of = n_of;
	if (mbytes != 0) {
		ms = (struct sw_mset *)((char *)fl + base);
		if (sw_mset_build(sw, br, skip, ms) != 0)
			fl->mir = ms;
	}
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p == NULL || p->br != br || p == skip)
			continue;
		/* a mirror's output port: out of the flood set */
		if (fl->mir == NULL || !sw_mset_is_out(fl->mir, id))
			fl->ports[fl->n++] = p;
		fl->by_of[p->ofport] = p;
		fl->of_by_id[id] = p->ofport;
		if (strcmp(p->name, br->name) == 0)
			fl->local = p;
	}
	*old = br->flood;
	/* Release pairs with the acquire load in sw_forward(). */
	vsw_store_release(&br->flood, fl);
	return 0;
}

/* ---- VLAN ---- */

static int sw_vlan_build(const struct vsw_vlan_config *c, struct sw_vlan **out,
			 char *err, size_t err_len)
{
	struct sw_vlan *v;
	unsigned i;

	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	switch (c->mode) {
	case VSW_VLAN_NONE:
		break;
	case VSW_VLAN_ACCESS:
		if (c->tag < 1 || c->tag > 4094) {
			sw_err(err, err_len, "access tag %u out of 1..4094",
			       c->tag);
			goto inval;
		}
		v->access = 1;
		v->tag = c->tag;
		*out = v;
		return 0;
	case VSW_VLAN_TRUNK:
		if (c->native > 4094) {
			sw_err(err, err_len, "native VLAN %u out of 0..4094",
			       c->native);
			goto inval;
		}
		v->native = c->native;
		if (c->n_trunks == 0)
			break;
		if (c->trunks == NULL) {
			sw_err(err, err_len, "trunk list missing");
			goto inval;
		}
		for (i = 0; i < c->n_trunks; i++) {
			if (c->trunks[i] > 4094) {
				sw_err(err, err_len,
				       "trunk VLAN %u out of 0..4094",
				       c->trunks[i]);
				goto inval;
			}
			v->allowed[c->trunks[i] >> 6] |= 1ULL
							 << (c->trunks[i] & 63);
		}
		if (c->native != 0 &&
		    !((v->allowed[c->native >> 6] >> (c->native & 63)) & 1)) {
			sw_err(err, err_len,
			       "native VLAN %u not in the trunk list",
			       c->native);
			goto inval;
		}
		*out = v;
		return 0;
	default:
		sw_err(err, err_len, "unknown VLAN mode %d", (int)c->mode);
		goto inval;
	}
	/* every VLAN but the reserved 4095 */
	memset(v->allowed, 0xff, sizeof(v->allowed));
	v->allowed[4095 >> 6] &= ~(1ULL << (4095 & 63));
	*out = v;
	return 0;
inval:
	free(v);
	return -EINVAL;
}

bool sw_fdb_pred_port(const struct sw_fdb_ent *e, void *arg)
{
	return vsw_load_relaxed(&e->port) == *(const uint32_t *)arg;
}

int vsw_switch_set_port_vlan(struct vsw_switch *sw, const char *name,
			     const struct vsw_vlan_config *vlan, char *err,
			     size_t err_len)
{
	struct vsw_port *p;
	struct sw_vlan *v, *old;
	uint16_t *trunks = NULL;
	uint32_t id;
	int ret;

	sw_err_clear(err, err_len);
	p = vsw_switch_port_find(sw, name);
	if (p == NULL) {
		sw_err(err, err_len, "no port %s", name ? name : "(null)");
		return -ENOENT;
	}
	if (vlan == NULL) {
		sw_err(err, err_len, "no VLAN configuration");
		return -EINVAL;
	}
	ret = sw_vlan_build(vlan, &v, err, err_len);
	if (ret < 0)
		return ret;
	/* a stuck thread: refuse before changing anything */
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0) {
		free(v);
		return ret;
	}
	if (vlan->mode == VSW_VLAN_TRUNK && vlan->n_trunks != 0) {
		trunks = malloc(vlan->n_trunks * sizeof(*trunks));
		if (trunks == NULL) {
			free(v);
			return -ENOMEM;
		}
		memcpy(trunks, vlan->trunks, vlan->n_trunks * sizeof(*trunks));
	}
	old = p->vlan;
	/* Release pairs with the acquire loads in sw_forward(). */
	vsw_store_release(&p->vlan, v);
	free(p->trunks);
	p->trunks = trunks;
	p->vlan_cfg = *vlan;
	p->vlan_cfg.trunks = trunks;
	if (vlan->mode != VSW_VLAN_TRUNK) {
		p->vlan_cfg.n_trunks = 0;
		p->vlan_cfg.trunks = NULL;
	}
	/* published: a thread stuck since the check only delays the free */
	(void)sw_sync(sw);
	sw_retire(sw, sw_free_fn, old);
	/* its MACs were learned under the old membership */
	id = p->id;
	sw_fdb_sweep(sw, &p->br->fdb, sw_fdb_pred_port, &id);
	return 0;
}

/* ---- ports ---- */

bool sw_name_ok(const char *name, size_t max)
{
	size_t len, i;

	if (name == NULL)
		return false;
	len = strnlen(name, max);
	if (len == 0 || len >= max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
			return false;
	return true;
}

/* The lowest ofport no port of br holds (ports <= VSW_SWITCH_MAX_PORTS). */
static unsigned sw_free_ofport(struct vsw_switch *sw,
			       const struct sw_bridge *br)
{
	uint8_t used[VSW_SWITCH_MAX_PORTS + 2] = {0};
	unsigned id, of;

	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p != NULL && p->br == br && p->ofport < sizeof(used))
			used[p->ofport] = 1;
	}
	for (of = 1; used[of]; of++)
		;
	return of;
}

int vsw_switch_set_port_ofport(struct vsw_switch *sw, const char *name,
			       unsigned ofport, char *err, size_t err_len)
{
	struct sw_flood *old = NULL;
	struct vsw_port *p, *q;
	unsigned id, prev;
	int ret;

	sw_err_clear(err, err_len);
	p = vsw_switch_port_find(sw, name);
	if (p == NULL) {
		sw_err(err, err_len, "no port %s", name ? name : "(null)");
		return -ENOENT;
	}
	if (ofport < 1 || ofport >= VSW_FLOW_PORT_MAX) {
		sw_err(err, err_len, "ofport %u out of 1..%u", ofport,
		       VSW_FLOW_PORT_MAX - 1);
		return -EINVAL;
	}
	if (p->ofport == ofport)
		return 0;
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		q = sw->ports[id];
		if (q != NULL && q != p && q->br == p->br &&
		    q->ofport == ofport) {
			sw_err(err, err_len, "ofport %u is port %s's", ofport,
			       q->name);
			return -EEXIST;
		}
	}
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	prev = p->ofport;
	/*
	 * Relaxed: the data threads take ofports from the flood snapshot
	 * (of_by_id, by_of) published below, never from p->ofport.
	 */
	vsw_store_relaxed(&p->ofport, (uint16_t)ofport);
	ret = sw_flood_publish(sw, p->br, NULL, &old);
	if (ret < 0) {
		vsw_store_relaxed(&p->ofport, (uint16_t)prev);
		sw_err(err, err_len, "port %s: %s", name, strerror(-ret));
		return ret;
	}
	(void)sw_sync(sw);
	sw_retire(sw, sw_free_fn, old);
	return 0;
}

static void sw_port_free(struct vsw_port *p)
{
	free(p->police);
	free(p->shape);
	free(p->opts);
	free(p->vlan);
	free(p->trunks);
	free(p);
}

/* A removed port, once no thread can be inside one of its ops. */
static void sw_port_close_free(void *arg)
{
	struct vsw_port *p = arg;

	p->ops->close(p);
	sw_port_free(p);
}

int vsw_switch_add_port_ops(struct vsw_switch *sw, const char *bridge,
			    const char *name, const struct vsw_port_ops *ops,
			    const struct vsw_port_opt *opts, unsigned n_opts,
			    char *err, size_t err_len)
{
	static const struct vsw_vlan_config none = {.mode = VSW_VLAN_NONE};
	struct vsw_port_opt *prov = NULL;
	struct sw_flood *old_fl = NULL;
	struct sw_bridge *br;
	struct vsw_port *p;
	unsigned id, nr, nt, ofport, n_prov;
	int ret;

	sw_err_clear(err, err_len);
	if (!sw_name_ok(name, VSW_PORT_NAME_MAX)) {
		sw_err(err, err_len, "invalid port name");
		return -EINVAL;
	}
	if (ops == NULL || ops->open == NULL || ops->close == NULL ||
	    ops->n_rxq == NULL || ops->n_txq == NULL || ops->recv == NULL ||
	    ops->send == NULL) {
		sw_err(err, err_len, "port %s: incomplete provider", name);
		return -EINVAL;
	}
	br = bridge != NULL ? sw_bridge_find(sw, bridge) : NULL;
	if (br == NULL) {
		sw_err(err, err_len, "no bridge %s",
		       bridge ? bridge : "(null)");
		return -ENOENT;
	}
	if (vsw_switch_port_find(sw, name) != NULL) {
		sw_err(err, err_len, "port %s already exists", name);
		return -EEXIST;
	}
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++)
		if (sw->ports[id] == NULL)
			break;
	if (id > VSW_SWITCH_MAX_PORTS) {
		sw_err(err, err_len, "too many ports (%u)",
		       VSW_SWITCH_MAX_PORTS);
		return -ENOSPC;
	}
	/* a stuck thread: refuse before opening anything */
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	ofport = sw_free_ofport(sw, br);
	p = aligned_alloc(VSW_CACHE_LINE,
			  VSW_ALIGN_UP(sizeof(*p), VSW_CACHE_LINE));
	if (p == NULL)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->br = br;
	p->sw = sw;
	p->id = (uint16_t)id;
	p->ofport = (uint16_t)ofport;
	p->link = 1;
	p->rl_count = 10;
	snprintf(p->name, sizeof(p->name), "%s", name);
	ret = sw_vlan_build(&none, &p->vlan, err, err_len);
	if (ret < 0)
		goto fail_free;
	p->vlan_cfg = none;
	/* the rate options are the switch's (rate.c), the rest the provider's */
	ret = sw_rate_split(opts, n_opts, &p->rate_cfg, &prov, &n_prov, err,
			    err_len);
	if (ret == 0)
		ret = sw_rate_build(&p->rate_cfg, &p->police, &p->shape);
	if (ret == 0) {
		p->opts = sw_opts_dup(prov, n_prov);
		p->n_opts = n_prov;
		if (p->opts == NULL)
			ret = -ENOMEM;
	}
	if (ret < 0)
		goto fail_free;
	ret = ops->open(p, prov, n_prov, err, err_len);
	if (ret < 0) {
		if (err != NULL && err_len != 0 && err[0] == '\0')
			sw_err(err, err_len, "port %s: open failed: %s", name,
			       strerror(-ret));
		goto fail_free;
	}
	nr = ops->n_rxq(p);
	nt = ops->n_txq(p);
	if (nr > VSW_PORT_MAX_QUEUES || nt > VSW_PORT_MAX_QUEUES) {
		sw_err(err, err_len, "port %s: %u/%u queues, at most %u", name,
		       nr, nt, VSW_PORT_MAX_QUEUES);
		ret = -EINVAL;
		goto fail_close;
	}
	p->n_rxq = nr;
	sw_port_set_txq(sw, p, nt);
	/* Release pairs with the acquire load in sw_forward(). */
	vsw_store_release(&sw->ports[id], p);
	ret = sw_flood_publish(sw, br, NULL, &old_fl);
	if (ret < 0)
		goto fail_unpublish;
	ret = sw_republish_lists(sw);
	if (ret < 0 && ret != -ETIMEDOUT) {
		struct sw_flood *mine = br->flood;

		vsw_store_release(&sw->ports[id], NULL);
		vsw_store_release(&br->flood, old_fl);
		(void)sw_sync(sw);
		sw_retire(sw, sw_free_fn, mine);
		sw_retire(sw, sw_port_close_free, p);
		free(prov);
		return ret;
	}
	/*
	 * -ETIMEDOUT: a thread got stuck after the check above. The port is
	 * published and stays (undoing it needs a grace period too); its
	 * rxqs are polled once the lists are redone (lists_dirty).
	 */
	sw_retire(sw, sw_free_fn, old_fl);
	free(prov);
	sw_log(sw, VSW_LOG_INFO, "port %s (%s) added to %s, %u rxq %u txq",
	       name, ops->type, br->name, nr, nt);
	return 0;
fail_unpublish:
	vsw_store_release(&sw->ports[id], NULL);
	(void)sw_sync(sw);
	sw_retire(sw, sw_port_close_free, p);
	free(prov);
	return ret;
fail_close:
	ops->close(p);
fail_free:
	sw_port_free(p);
	free(prov);
	return ret;
}

int vsw_switch_add_port(struct vsw_switch *sw, const char *bridge,
			const char *name, const char *type,
			const struct vsw_port_opt *opts, unsigned n_opts,
			char *err, size_t err_len)
{
	const struct vsw_port_ops *ops;

	ops = type != NULL ? vsw_port_ops_find(type) : NULL;
	if (ops == NULL) {
		sw_err(err, err_len, "unknown port type %s",
		       type ? type : "(null)");
		return -EINVAL;
	}
	return vsw_switch_add_port_ops(sw, bridge, name, ops, opts, n_opts, err,
				       err_len);
}

/*
 * Take the port out of the data path: port table, flood set, polling
 * lists; then one grace period; then its MAC entries; then close.
 */
static int sw_port_remove(struct vsw_switch *sw, struct vsw_port *p)
{
	struct sw_flood *old_fl = NULL, *new_fl;
	uint32_t id = p->id;
	int ret;

	vsw_store_release(&sw->ports[id], NULL);
	if (sw->n_pmds != 0) {
		ret = sw_flood_publish(sw, p->br, p, &old_fl);
		if (ret < 0)
			goto restore;
		ret = sw_republish_lists(sw); /* syncs */
		if (ret < 0 && ret != -ETIMEDOUT) {
			new_fl = p->br->flood;
			vsw_store_release(&p->br->flood, old_fl);
			(void)sw_sync(sw);
			sw_retire(sw, sw_free_fn, new_fl);
			goto restore;
		}
		/*
		 * -ETIMEDOUT: no published list has the port any more (the
		 * kept lists are without it), only a stuck thread may still
		 * be in one of its ops: its close and free wait for it.
		 */
		sw_retire(sw, sw_free_fn, old_fl);
	} else {
		/* no data thread runs: no grace period needed */
		ret = sw_flood_publish(sw, p->br, p, &old_fl);
		if (ret < 0)
			goto restore;
		free(old_fl);
	}
	sw_fdb_sweep(sw, &p->br->fdb, sw_fdb_pred_port, &id);
	sw_capture_port_gone(p);
	sw_log(sw, VSW_LOG_INFO, "port %s deleted", p->name);
	sw_retire(sw, sw_port_close_free, p);
	return 0;
restore:
	vsw_store_release(&sw->ports[id], p);
	return ret;
}

int vsw_switch_del_port(struct vsw_switch *sw, const char *name, char *err,
			size_t err_len)
{
	struct vsw_port *p;
	int ret;

	sw_err_clear(err, err_len);
	p = vsw_switch_port_find(sw, name);
	if (p == NULL) {
		sw_err(err, err_len, "no port %s", name ? name : "(null)");
		return -ENOENT;
	}
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	ret = sw_port_remove(sw, p);
	if (ret < 0)
		sw_err(err, err_len, "port %s: %s", name, strerror(-ret));
	return ret;
}

/* ---- bridges ---- */

int vsw_switch_add_bridge(struct vsw_switch *sw, const char *name, char *err,
			  size_t err_len)
{
	struct sw_bridge *b, **tail;
	int ret;

	sw_err_clear(err, err_len);
	if (!sw_name_ok(name, VSW_BRIDGE_NAME_MAX)) {
		sw_err(err, err_len, "invalid bridge name");
		return -EINVAL;
	}
	if (sw_bridge_find(sw, name) != NULL) {
		sw_err(err, err_len, "bridge %s already exists", name);
		return -EEXIST;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->flood = calloc(1, sizeof(*b->flood));
	if (b->flood == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = sw_fdb_init(&b->fdb, sw->cfg.fdb_size);
	if (ret < 0)
		goto fail;
	ret = sw_flows_init(sw, b);
	if (ret < 0) {
		sw_fdb_fini(&b->fdb);
		goto fail;
	}
	for (tail = &sw->bridges; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = b;
	sw_log(sw, VSW_LOG_INFO, "bridge %s added", name);
	return 0;
fail:
	free(b->flood);
	free(b);
	sw_err(err, err_len, "bridge %s: %s", name, strerror(-ret));
	return ret;
}

static void sw_bridge_free(struct sw_bridge *b)
{
	sw_mirrors_free(b);
	sw_flows_fini(b);
	sw_fdb_fini(&b->fdb);
	free(b->flood);
	free(b);
}

static void sw_bridge_free_fn(void *arg)
{
	sw_bridge_free(arg);
}

int vsw_switch_del_bridge(struct vsw_switch *sw, const char *name, char *err,
			  size_t err_len)
{
	struct sw_bridge *b, **pp;
	unsigned id;
	int ret;

	sw_err_clear(err, err_len);
	b = name != NULL ? sw_bridge_find(sw, name) : NULL;
	if (b == NULL) {
		sw_err(err, err_len, "no bridge %s", name ? name : "(null)");
		return -ENOENT;
	}
	/* no queued packet-out may name it (ofctl.c) */
	sw_pout_drain(sw);
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p == NULL || p->br != b)
			continue;
		ret = sw_port_remove(sw, p);
		if (ret < 0) {
			sw_err(err, err_len, "bridge %s: port %s: %s", name,
			       p->name, strerror(-ret));
			return ret;
		}
	}
	for (pp = &sw->bridges; *pp != b; pp = &(*pp)->next)
		;
	*pp = b->next;
	sw_log(sw, VSW_LOG_INFO, "bridge %s deleted", b->name);
	/* its removed ports (a stuck thread's) may still point at it */
	sw_retire(sw, sw_bridge_free_fn, b);
	return 0;
}

/* ---- threads ---- */

static void sw_threads_stop(struct vsw_switch *sw)
{
	unsigned i;

	for (i = 0; i < sw->n_pmds; i++)
		sw_pmd_stop(&sw->pmds[i]);
	free(sw->pmds);
	sw->pmds = NULL;
	sw->n_pmds = 0;
}

static int sw_threads_start(struct vsw_switch *sw, unsigned n)
{
	unsigned i, id;
	int ret;

	ret = sw_flows_threads(sw, n);
	if (ret < 0)
		return ret;
	sw->pmds = aligned_alloc(VSW_CACHE_LINE,
				 VSW_ALIGN_UP(n * sizeof(*sw->pmds),
					      VSW_CACHE_LINE));
	if (sw->pmds == NULL)
		return -ENOMEM;
	/* txq locks for the new count, before any thread runs */
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p != NULL)
			vsw_store_relaxed(&p->txq_info,
					  p->n_txq | (p->n_txq < n ? SW_TXQ_LOCK
								   : 0));
	}
	for (i = 0; i < n; i++) {
		ret = sw_pmd_start(sw, &sw->pmds[i], i);
		if (ret < 0)
			goto fail;
		sw->n_pmds = i + 1;
	}
	ret = sw_republish_lists(sw);
	if (ret < 0)
		goto fail;
	/* the caches outlive the threads: count from now */
	vsw_switch_pmd_stats_clear(sw);
	return 0;
fail:
	sw_threads_stop(sw);
	return ret;
}

int vsw_switch_set_threads(struct vsw_switch *sw, unsigned n, char *err,
			   size_t err_len)
{
	unsigned old = sw->n_pmds;
	int ret;

	sw_err_clear(err, err_len);
	if (n < 1 || n > VSW_SWITCH_MAX_THREADS) {
		sw_err(err, err_len, "threads %u out of 1..%u", n,
		       VSW_SWITCH_MAX_THREADS);
		return -EINVAL;
	}
	if (n == old)
		return 0;
	/* a stuck thread cannot be joined: refuse while there is one */
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	sw_threads_stop(sw);
	ret = sw_threads_start(sw, n);
	if (ret < 0) {
		sw_err(err, err_len, "cannot start %u threads: %s", n,
		       strerror(-ret));
		if (sw_threads_start(sw, old) < 0)
			sw_log(sw, VSW_LOG_ERR,
			       "no data thread running: cannot restart %u",
			       old);
		return ret;
	}
	sw->cfg.n_threads = n;
	return 0;
}

int vsw_switch_set_ageing(struct vsw_switch *sw, unsigned ageing_s, char *err,
			  size_t err_len)
{
	sw_err_clear(err, err_len);
	if (ageing_s < 1 || ageing_s > VSW_SWITCH_AGEING_MAX) {
		sw_err(err, err_len, "ageing %u s out of 1..%u", ageing_s,
		       VSW_SWITCH_AGEING_MAX);
		return -EINVAL;
	}
	sw->cfg.ageing_s = ageing_s;
	return 0;
}

void vsw_switch_set_force_poll(struct vsw_switch *sw, bool force_poll)
{
	sw->cfg.force_poll = force_poll;
	vsw_store_relaxed(&sw->force_poll, force_poll ? 1 : 0);
	/* wake sleepers so that they start polling now (a hint: no free) */
	(void)sw_sync(sw);
}

int vsw_switch_set_spin(struct vsw_switch *sw, unsigned spin_us, char *err,
			size_t err_len)
{
	sw_err_clear(err, err_len);
	if (spin_us > VSW_SWITCH_SPIN_MAX_US) {
		sw_err(err, err_len, "spin %u us out of 0..%u", spin_us,
		       VSW_SWITCH_SPIN_MAX_US);
		return -EINVAL;
	}
	sw->cfg.spin_us = spin_us;
	/* Relaxed: a setting, read by each thread when it adapts its window. */
	vsw_store_relaxed(&sw->spin_cap, (uint64_t)spin_us * sw->cycles_per_us);
	return 0;
}

void vsw_switch_get_config(const struct vsw_switch *sw,
			   struct vsw_switch_config *out)
{
	*out = sw->cfg;
	out->n_threads = sw->n_pmds;
}

/* ---- create / destroy ---- */

int vsw_switch_create(const struct vsw_switch_config *cfg,
		      struct vsw_switch **out)
{
	struct vsw_switch *sw;
	int ret;

	if (cfg == NULL || out == NULL ||
	    cfg->n_threads > VSW_SWITCH_MAX_THREADS ||
	    cfg->ageing_s > VSW_SWITCH_AGEING_MAX ||
	    cfg->fdb_size > (1U << 24) ||
	    (cfg->spin_us > VSW_SWITCH_SPIN_MAX_US &&
	     cfg->spin_us != VSW_SWITCH_SPIN_OFF))
		return -EINVAL;
	sw = calloc(1, sizeof(*sw));
	if (sw == NULL)
		return -ENOMEM;
	sw->cfg = *cfg;
	if (sw->cfg.n_threads == 0)
		sw->cfg.n_threads = 1;
	if (sw->cfg.ageing_s == 0)
		sw->cfg.ageing_s = VSW_SWITCH_AGEING_DEFAULT;
	if (sw->cfg.fdb_size == 0)
		sw->cfg.fdb_size = 8192;
	if (sw->cfg.pool_small == 0)
		sw->cfg.pool_small = 4096;
	if (sw->cfg.pool_large == 0)
		sw->cfg.pool_large = 64;
	if (sw->cfg.idle_polls == 0)
		sw->cfg.idle_polls = 1000;
	if (sw->cfg.spin_us == 0)
		sw->cfg.spin_us = VSW_SWITCH_SPIN_DEFAULT_US;
	else if (sw->cfg.spin_us == VSW_SWITCH_SPIN_OFF)
		sw->cfg.spin_us = 0;
	sw->cycles_per_us = sw_cycles_per_us();
	sw->spin_cap = (uint64_t)sw->cfg.spin_us * sw->cycles_per_us;
	if (sw->cfg.log == NULL)
		sw->cfg.log = sw_default_log;
	if (sw->cfg.clock_ms == NULL)
		sw->cfg.clock_ms = sw_default_clock;
	if (sw->cfg.sync_timeout_ms == 0)
		sw->cfg.sync_timeout_ms = SW_SYNC_TIMEOUT_DEFAULT_MS;
	sw->limbo_tail = &sw->limbo;
	sw->force_poll = sw->cfg.force_poll;
	sw->next_sweep = sw_now_ms(sw) + SW_SWEEP_MS;
	sw->pin_armed = 1; /* nobody drained yet: the first push wakes */
	sw->pin_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sw->pin_fd < 0) {
		ret = -errno;
		free(sw);
		return ret;
	}
	ret = sw_threads_start(sw, sw->cfg.n_threads);
	if (ret < 0) {
		close(sw->pin_fd);
		free(sw);
		return ret;
	}
	*out = sw;
	return 0;
}

void vsw_switch_destroy(struct vsw_switch *sw)
{
	unsigned id;

	if (sw == NULL)
		return;
	sw_threads_stop(sw);
	close(sw->pin_fd);
	sw_limbo_reclaim(sw, true); /* no thread runs */
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p == NULL)
			continue;
		sw->ports[id] = NULL;
		p->ops->close(p);
		sw_port_free(p);
	}
	while (sw->bridges != NULL) {
		struct sw_bridge *b = sw->bridges;

		sw->bridges = b->next;
		sw_bridge_free(b);
	}
	free(sw);
}

/* ---- show ---- */

int vsw_switch_bridge_iter(struct vsw_switch *sw,
			   int (*cb)(const char *bridge, void *arg), void *arg)
{
	struct sw_bridge *b;
	int ret;

	for (b = sw->bridges; b != NULL; b = b->next) {
		ret = cb(b->name, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int vsw_switch_port_iter(struct vsw_switch *sw, const char *bridge,
			 int (*cb)(const struct vsw_port_info *info, void *arg),
			 void *arg)
{
	struct sw_bridge *b;
	unsigned id;
	int ret;

	b = bridge != NULL ? sw_bridge_find(sw, bridge) : NULL;
	if (b == NULL)
		return -ENOENT;
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];
		struct vsw_port_info info;

		if (p == NULL || p->br != b)
			continue;
		memset(&info, 0, sizeof(info));
		info.name = p->name;
		info.type = p->ops->type;
		info.bridge = b->name;
		info.id = p->id;
		info.ofport = p->ofport;
		info.link_up = vsw_port_link(p);
		info.n_rxq = p->n_rxq;
		info.n_txq = p->n_txq;
		info.vlan = p->vlan_cfg;
		if (p->ops->status != NULL)
			p->ops->status(p, info.status, sizeof(info.status));
		info.status[sizeof(info.status) - 1] = '\0';
		if (p->ops->hwaddr != NULL &&
		    p->ops->hwaddr(p, info.hw_addr) < 0)
			memset(info.hw_addr, 0, sizeof(info.hw_addr));
		ret = cb(&info, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* ---- MAC table ---- */

int vsw_switch_fdb_dump(struct vsw_switch *sw, const char *bridge,
			int (*cb)(const struct vsw_fdb_entry *e, void *arg),
			void *arg)
{
	struct sw_bridge *b = bridge ? sw_bridge_find(sw, bridge) : NULL;
	uint32_t now = (uint32_t)sw_now_ms(sw);
	unsigned bi, i, k;
	int ret;

	if (b == NULL)
		return -ENOENT;
	for (bi = 0; bi <= b->fdb.mask; bi++) {
		for (i = 0; i < SW_FDB_WAYS; i++) {
			const struct sw_fdb_ent *e = &b->fdb.b[bi].e[i];
			/* Acquire pairs with the release in sw_fdb_learn(). */
			uint64_t key = vsw_load_acquire(&e->key);
			uint32_t pid = vsw_load_relaxed(&e->port);
			uint32_t seen = vsw_load_relaxed(&e->seen);
			struct vsw_fdb_entry fe;

			if (!(key & SW_FDB_KEY_BIT) ||
			    pid > VSW_SWITCH_MAX_PORTS ||
			    sw->ports[pid] == NULL)
				continue;
			fe.vlan = (uint16_t)((key >> 48) & 0xfff);
			for (k = 0; k < 6; k++)
				fe.mac[k] = (uint8_t)(key >> (40 - 8 * k));
			fe.port = sw->ports[pid]->name;
			fe.age_s = (int32_t)(now - seen) > 0
					   ? (now - seen) / 1000
					   : 0;
			ret = cb(&fe, arg);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

int vsw_switch_fdb_flush(struct vsw_switch *sw, const char *bridge)
{
	struct sw_bridge *b = bridge ? sw_bridge_find(sw, bridge) : NULL;

	if (b == NULL)
		return -ENOENT;
	if (sw_sync(sw) < 0)
		return -ETIMEDOUT;
	sw_fdb_sweep(sw, &b->fdb, NULL, NULL);
	return 0;
}

struct sw_age_arg {
	uint32_t now;
	uint32_t ageing_ms;
};

static bool sw_fdb_pred_aged(const struct sw_fdb_ent *e, void *arg)
{
	const struct sw_age_arg *a = arg;
	uint32_t seen = vsw_load_relaxed(&e->seen);

	return (int32_t)(a->now - seen) > (int32_t)a->ageing_ms;
}

static void sw_age(struct vsw_switch *sw, uint64_t now)
{
	struct sw_age_arg a = {
		.now = (uint32_t)now,
		.ageing_ms = sw->cfg.ageing_s * 1000,
	};
	struct sw_bridge *b;
	unsigned n;

	for (b = sw->bridges; b != NULL; b = b->next) {
		n = sw_fdb_sweep(sw, &b->fdb, sw_fdb_pred_aged, &a);
		if (n != 0)
			sw_log(sw, VSW_LOG_DEBUG, "bridge %s: %u MACs aged",
			       b->name, n);
	}
}

/* ---- control loop ---- */

unsigned vsw_switch_pollfds(struct vsw_switch *sw, struct pollfd *fds,
			    unsigned max)
{
	unsigned id, n = 0;

	/*
	 * While a thread is stuck the providers' control events wait (their
	 * handlers need grace periods): leave their fds out, so the loop
	 * sleeps instead of spinning on a readable fd.
	 */
	if (!sw_stuck_check(sw))
		return 0;
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];
		int fd;

		if (p == NULL || p->ops->ctl_fd == NULL)
			continue;
		fd = p->ops->ctl_fd(p);
		if (fd < 0)
			continue;
		if (n < max && fds != NULL) {
			fds[n].fd = fd;
			fds[n].events = POLLIN;
			fds[n].revents = 0;
		}
		n++;
	}
	return n;
}

int vsw_switch_timeout_ms(struct vsw_switch *sw)
{
	uint64_t now = sw_now_ms(sw);
	int t, best;
	unsigned id;

	best = sw->next_sweep > now ? (int)(sw->next_sweep - now) : 0;
	/* a stuck thread or deferred frees: look again soon */
	if ((sw->stuck_gp != 0 || sw->limbo != NULL || sw->lists_dirty) &&
	    best > SW_STUCK_POLL_MS)
		best = SW_STUCK_POLL_MS;
	if (sw->stuck_gp != 0)
		return best;
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p == NULL || p->ops->ctl_timeout_ms == NULL)
			continue;
		t = p->ops->ctl_timeout_ms(p);
		if (t >= 0 && t < best)
			best = t;
	}
	return best;
}

/* revents of fd in fds, searching from the cursor (same order as ports) */
static short sw_revents(struct vsw_switch *sw, const struct pollfd *fds,
			unsigned n, int fd)
{
	unsigned i, j;

	for (i = 0; i < n; i++) {
		j = (sw->pollfd_cursor + i) % n;
		if (fds[j].fd == fd) {
			sw->pollfd_cursor = j + 1;
			return fds[j].revents;
		}
	}
	return 0;
}

void vsw_switch_handle(struct vsw_switch *sw, const struct pollfd *fds,
		       unsigned n)
{
	bool checked = false;
	uint64_t now;
	unsigned id;

	sw->pollfd_cursor = 0;
	if (!sw_stuck_check(sw))
		return; /* nothing below can run without grace periods */
	sw_limbo_reclaim(sw, false);
	if (sw->lists_dirty)
		(void)sw_republish_lists(sw); /* stays dirty if it fails */
	for (id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];
		bool run = false;
		int fd;

		if (p == NULL || p->ops->ctl_handle == NULL)
			continue;
		if (p->ops->ctl_fd != NULL && fds != NULL && n != 0) {
			fd = p->ops->ctl_fd(p);
			if (fd >= 0 && sw_revents(sw, fds, n, fd) != 0)
				run = true;
		}
		if (!run && p->ops->ctl_timeout_ms != NULL &&
		    p->ops->ctl_timeout_ms(p) == 0)
			run = true;
		if (!run)
			continue;
		/*
		 * Handlers wait for grace periods without a bound
		 * (vsw_port_quiesce): first make sure no thread is stuck,
		 * once per round.
		 */
		if (!checked && sw_sync(sw) < 0)
			return;
		checked = true;
		p->ops->ctl_handle(p);
	}
	now = sw_now_ms(sw);
	if (now >= sw->next_sweep) {
		sw_age(sw, now);
		sw->next_sweep = now + SW_SWEEP_MS;
	}
}

int vsw_switch_sync(struct vsw_switch *sw)
{
	return sw_sync(sw);
}

const char *vsw_switch_stuck(struct vsw_switch *sw)
{
	if (sw_stuck_check(sw))
		return NULL;
	return sw->stuck_msg;
}

unsigned vsw_switch_deferred(const struct vsw_switch *sw)
{
	return sw->n_limbo;
}
