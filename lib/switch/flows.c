/* SPDX-License-Identifier: MIT */
/*
 * The bridges' flow tables on the control thread: creation, the ovs-ofctl
 * operations, expiry, statistics, and the fast-path switch.
 *
 * Fast path (sw_bridge.normal_rule): while a bridge's table is a single
 * catch-all rule with actions=normal, the data threads forward with the
 * learning switch directly and only count the packets on that rule. The
 * pointer must never let a thread use a rule the table has freed, nor skip
 * a rule that was added:
 *  - before any change of the table, the pointer is cleared (release store;
 *    pairs with the acquire load in sw_forward()). The table frees a rule
 *    only after its sync hook (sw_sync) returned, which waits for every
 *    thread that could still hold the pointer it loaded earlier;
 *  - after the change, if the table is again "only normal", the (possibly
 *    new) rule is published with a release store; if it is not, and it was
 *    before, one sw_sync() makes sure no thread still forwards a burst under
 *    the old fast-path decision when the call returns.
 * Other rule changes reach the threads through the table's generation (the
 * exact-match caches revalidate their entries: vsw/flow.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switch_priv.h"

/*
 * Bounded: on -ETIMEDOUT (a stuck thread) the table keeps what it would
 * have freed and tries again at its next reclaim (expiry, every second).
 * add / del / mod first check with a bounded sw_sync() that no thread is
 * stuck, so that they fail before changing anything; expiry needs no
 * check (it frees nothing early either way) and so adds no grace period
 * to its once a second.
 */
static int sw_flows_sync(void *arg)
{
	return sw_sync(arg);
}

static void sw_flows_clear_emcs(struct sw_bridge *br)
{
	unsigned i;

	for (i = 0; i < VSW_SWITCH_MAX_THREADS; i++) {
		vsw_flow_emc_destroy(br->emc[i]);
		br->emc[i] = NULL;
	}
}

static void sw_flows_removed(void *arg, const struct vsw_flow_rule *r,
			     const struct vsw_flow_stats *st,
			     enum vsw_flow_removed_reason reason)
{
	struct sw_bridge *br = arg;
	struct vsw_switch *sw = br->sw;

	if (sw->flow_removed_cb != NULL)
		sw->flow_removed_cb(sw->flow_removed_arg, br->name, r, st,
				    reason);
}

void vsw_switch_set_flow_removed_cb(struct vsw_switch *sw,
				    vsw_switch_flow_removed_cb cb, void *arg)
{
	sw->flow_removed_cb = cb;
	sw->flow_removed_arg = arg;
}

int sw_flows_init(struct vsw_switch *sw, struct sw_bridge *br)
{
	struct vsw_flow_table_config cfg = {
		.sync_try = sw_flows_sync,
		.sync_arg = sw,
	};
	static const struct vsw_flow_key any;
	unsigned i;
	int ret;

	ret = vsw_flow_table_create(&cfg, sw_now_ms(sw), &br->flows);
	if (ret < 0)
		return ret;
	br->sw = sw;
	vsw_flow_table_set_removed_cb(br->flows, sw_flows_removed, br);
	for (i = 0; i < sw->n_pmds; i++) {
		ret = vsw_flow_emc_create(br->flows, 0, &br->emc[i]);
		if (ret < 0)
			goto fail;
	}
	/* the default table is "priority=0,actions=normal" */
	br->normal_rule = vsw_flow_lookup(br->flows, &any);
	return 0;
fail:
	sw_flows_clear_emcs(br);
	vsw_flow_table_destroy(br->flows);
	br->flows = NULL;
	return ret;
}

void sw_flows_fini(struct sw_bridge *br)
{
	br->normal_rule = NULL;
	sw_flows_clear_emcs(br);
	vsw_flow_table_destroy(br->flows);
	br->flows = NULL;
}

int sw_flows_threads(struct vsw_switch *sw, unsigned n)
{
	struct sw_bridge *b;
	unsigned i;
	int ret;

	for (b = sw->bridges; b != NULL; b = b->next) {
		for (i = 0; i < n; i++) {
			if (b->emc[i] != NULL)
				continue;
			ret = vsw_flow_emc_create(b->flows, 0, &b->emc[i]);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* The table's rule if it is the only one, a catch-all, actions=normal. */
static struct vsw_flow_rule *sw_flows_only_normal(struct sw_bridge *br)
{
	static const struct vsw_flow_key any;
	const struct vsw_flow_actions *a;
	const struct vsw_flow_match *m;
	struct vsw_flow_rule *r;
	unsigned i;

	if (vsw_flow_table_n_rules(br->flows) != 1)
		return NULL;
	r = vsw_flow_lookup(br->flows, &any);
	if (r == NULL)
		return NULL;
	m = vsw_flow_rule_match(r);
	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		if (m->mask.w[i] != 0)
			return NULL;
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		if (m->ext_mask.w[i] != 0)
			return NULL;
	a = vsw_flow_rule_actions(r);
	if (a->n != 1 || a->a[0].type != VSW_FLOW_ACT_NORMAL)
		return NULL;
	return r;
}

/* Before a change: leave the fast path; true if it was on. */
static bool sw_flows_begin(struct sw_bridge *br)
{
	if (br->normal_rule == NULL)
		return false;
	/* Release pairs with the acquire load in sw_forward(). */
	vsw_store_release(&br->normal_rule, NULL);
	return true;
}

/* After a change: back on the fast path, or wait out its last bursts. */
static void sw_flows_end(struct vsw_switch *sw, struct sw_bridge *br,
			 bool was_fast)
{
	struct vsw_flow_rule *r = sw_flows_only_normal(br);

	if (r != NULL)
		/* Release pairs with the acquire load in sw_forward(). */
		vsw_store_release(&br->normal_rule, r);
	else if (was_fast)
		/*
		 * A timeout here: a stuck thread may still forward its one
		 * burst under the old fast path when it resumes; the rule it
		 * holds is not freed (the table's garbage waits too).
		 */
		(void)sw_sync(sw);
}

static struct sw_bridge *sw_flows_bridge(struct vsw_switch *sw,
					 const char *bridge, char *err,
					 size_t err_len)
{
	struct sw_bridge *br = bridge ? sw_bridge_find(sw, bridge) : NULL;

	sw_err_clear(err, err_len);
	if (br == NULL)
		sw_err(err, err_len, "no bridge %s", bridge ? bridge : "(null)");
	return br;
}

int vsw_switch_flow_add(struct vsw_switch *sw, const char *bridge,
			const struct vsw_flow_spec *spec, char *err,
			size_t err_len)
{
	struct sw_bridge *br = sw_flows_bridge(sw, bridge, err, err_len);
	bool fast;
	int ret;

	if (br == NULL)
		return -ENOENT;
	/* a stuck thread: refuse before the table changes */
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	if (spec == NULL || spec->actions == NULL) {
		sw_err(err, err_len, "a flow to add needs actions=");
		return -EINVAL;
	}
	fast = sw_flows_begin(br);
	ret = vsw_flow_table_add(br->flows, spec, sw_now_ms(sw));
	sw_flows_end(sw, br, fast);
	if (ret == -ENOSPC)
		sw_err(err, err_len, "bridge %s: flow table full", bridge);
	else if (ret == -EEXIST)
		sw_err(err, err_len,
		       "bridge %s: an overlapping flow of the same priority "
		       "exists (check_overlap)",
		       bridge);
	else if (ret == -EINVAL)
		sw_err(err, err_len,
		       "bridge %s: bad flow (table above 254, goto_table not "
		       "to a later table, or unknown flags)",
		       bridge);
	else if (ret < 0)
		sw_err(err, err_len, "bridge %s: %s", bridge, strerror(-ret));
	return ret;
}

int vsw_switch_flow_del(struct vsw_switch *sw, const char *bridge,
			const struct vsw_flow_spec *spec, bool strict,
			char *err, size_t err_len)
{
	struct sw_bridge *br = sw_flows_bridge(sw, bridge, err, err_len);
	struct vsw_flow_spec all;
	bool fast;
	int ret;

	if (br == NULL)
		return -ENOENT;
	/* a stuck thread: refuse before the table changes */
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	if (spec == NULL) {
		memset(&all, 0, sizeof(all));
		all.out_port = VSW_FLOW_PORT_NONE;
		all.table_id = VSW_FLOW_TABLE_ALL;
		spec = &all;
		strict = false;
	}
	fast = sw_flows_begin(br);
	vsw_flow_table_set_now(br->flows, sw_now_ms(sw));
	ret = vsw_flow_table_del(br->flows, spec, strict);
	sw_flows_end(sw, br, fast);
	if (ret < 0)
		sw_err(err, err_len, "bridge %s: %s", bridge, strerror(-ret));
	return ret;
}

int vsw_switch_flow_mod(struct vsw_switch *sw, const char *bridge,
			const struct vsw_flow_spec *spec, bool strict,
			char *err, size_t err_len)
{
	struct sw_bridge *br = sw_flows_bridge(sw, bridge, err, err_len);
	bool fast;
	int ret;

	if (br == NULL)
		return -ENOENT;
	/* a stuck thread: refuse before the table changes */
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	if (spec == NULL || spec->actions == NULL) {
		sw_err(err, err_len, "a flow to modify needs actions=");
		return -EINVAL;
	}
	fast = sw_flows_begin(br);
	ret = vsw_flow_table_mod(br->flows, spec, strict, sw_now_ms(sw));
	sw_flows_end(sw, br, fast);
	if (ret == -ENOSPC)
		sw_err(err, err_len, "bridge %s: flow table full", bridge);
	else if (ret == -EINVAL)
		sw_err(err, err_len,
		       "bridge %s: goto_table must lead to a later table than "
		       "each selected flow's",
		       bridge);
	else if (ret < 0)
		sw_err(err, err_len, "bridge %s: %s", bridge, strerror(-ret));
	return ret;
}

int vsw_switch_flow_expire(struct vsw_switch *sw, const char *bridge)
{
	struct sw_bridge *br = sw_flows_bridge(sw, bridge, NULL, 0);
	bool fast;
	int ret;

	if (br == NULL)
		return -ENOENT;
	/*
	 * Even the fast path's rule may carry a timeout; a second of
	 * lookups through the cache while it is checked costs nothing.
	 */
	fast = sw_flows_begin(br);
	ret = vsw_flow_table_expire(br->flows, sw_now_ms(sw));
	sw_flows_end(sw, br, fast);
	return ret;
}

int vsw_switch_flow_dump(struct vsw_switch *sw, const char *bridge,
			 const struct vsw_flow_spec *filter,
			 int (*cb)(const struct vsw_flow_rule *r,
				   const struct vsw_flow_stats *st,
				   const char *line, void *arg),
			 void *arg)
{
	struct sw_bridge *br = sw_flows_bridge(sw, bridge, NULL, 0);

	if (br == NULL)
		return -ENOENT;
	return vsw_flow_table_dump(br->flows, filter, sw_now_ms(sw), cb, arg);
}

int vsw_switch_dpif_stats(struct vsw_switch *sw, const char *bridge,
			  struct vsw_dpif_stats *out)
{
	struct sw_bridge *br = sw_flows_bridge(sw, bridge, NULL, 0);
	unsigned i;

	if (br == NULL)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->n_rules = vsw_flow_table_n_rules(br->flows);
	out->n_subtables = vsw_flow_table_n_subtables(br->flows);
	out->fast_normal = br->normal_rule != NULL;
	for (i = 0; i < sw->n_pmds; i++) {
		struct vsw_flow_emc_stats es;

		if (br->emc[i] == NULL)
			continue;
		vsw_flow_emc_stats(br->emc[i], &es);
		out->emc_caches++;
		out->emc_entries = es.n_entries;
		out->emc_used += es.n_used;
		out->emc_hits += es.hits;
		out->emc_misses += es.misses;
		out->emc_revalidated += es.revalidated;
	}
	return 0;
}
