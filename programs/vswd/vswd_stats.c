/* SPDX-License-Identifier: MIT */
/*
 * The read-only counter methods of the datapath: dpif.stats (per bridge:
 * flow table and exact-match caches), pmd.stats and pmd.stats.clear (per
 * data thread). port.stats is with the other port methods (vswd_ctl.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

struct stats_dpif {
	struct vswd *d;
	json_t *arr;
};

static int stats_dpif_bridge(void *opaque, const char *name)
{
	struct stats_dpif *a = opaque;
	struct vsw_dpif_stats st;
	uint64_t looked;
	json_t *o;

	if (vsw_switch_dpif_stats(a->d->sw, name, &st) < 0)
		return 0; /* stored, not in the switch (cannot happen) */
	looked = st.emc_hits + st.emc_misses;
	o = json_pack(
		"{s:s, s:i, s:i, s:b, s:i, s:i, s:i, s:I, s:I, s:I, "
		"s:I, s:f}",
		"bridge", name, "rules", (int)st.n_rules, "subtables",
		(int)st.n_subtables, "fast_path", st.fast_normal, "emc_caches",
		(int)st.emc_caches, "emc_size", (int)st.emc_entries,
		"emc_entries", (int)st.emc_used, "emc_hits",
		(json_int_t)st.emc_hits, "emc_misses",
		(json_int_t)st.emc_misses, "upcalls", (json_int_t)st.emc_misses,
		"revalidated", (json_int_t)st.emc_revalidated, "hit_rate",
		looked ? 100.0 * (double)st.emc_hits / (double)looked : 0.0);
	if (o == NULL || json_array_append_new(a->arr, o) < 0)
		return -ENOMEM;
	return 0;
}

int vswd_m_dpif_stats(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = {"bridge", NULL};
	struct stats_dpif a = {opaque, NULL};
	const char *br = NULL;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(a.d, params, false, &br, e);
	if (rc < 0)
		return rc;
	a.arr = json_array();
	if (a.arr == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	rc = br ? stats_dpif_bridge(&a, br)
		: vsw_cfg_bridge_foreach(a.d->cfg, stats_dpif_bridge, &a);
	if (rc < 0) {
		json_decref(a.arr);
		return vsw_rpc_fail(e, 0, -rc, "cannot read the statistics");
	}
	*result = json_pack("{s:o}", "bridges", a.arr);
	return 0;
}

int vswd_m_pmd_stats(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e)
{
	static const char *const known[] = {NULL};
	struct vswd *d = opaque;
	json_t *arr;
	unsigned int i;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	arr = json_array();
	for (i = 0; arr != NULL && i < vsw_switch_n_threads(d->sw); i++) {
		struct vsw_pmd_stats st;
		uint64_t total;
		json_t *o;

		if (vsw_switch_pmd_stats(d->sw, i, &st) < 0)
			continue;
		total = st.busy_cycles + st.idle_cycles;
		o = json_pack(
			"{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			"s:I, s:I, s:i, s:f, s:f, s:f}",
			"thread", (int)i, "rxqs", (int)st.n_rxq, "packets",
			(json_int_t)st.packets, "batches",
			(json_int_t)st.batches, "emc_hits",
			(json_int_t)st.emc_hits, "emc_misses",
			(json_int_t)st.emc_misses, "fast_path",
			(json_int_t)st.fast_normal, "busy_cycles",
			(json_int_t)st.busy_cycles, "idle_cycles",
			(json_int_t)st.idle_cycles, "sleeps",
			(json_int_t)st.sleeps, "sleep_cycles",
			(json_int_t)st.sleep_cycles, "spin_us", (int)st.spin_us,
			"busy_percent",
			total ? 100.0 * (double)st.busy_cycles / (double)total
			      : 0.0,
			"cycles_per_packet",
			st.packets ? (double)total / (double)st.packets : 0.0,
			"busy_cycles_per_packet",
			st.packets ? (double)st.busy_cycles / (double)st.packets
				   : 0.0);
		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	*result = json_pack("{s:o}", "threads", arr);
	return 0;
}

int vswd_m_pmd_stats_clear(void *opaque, json_t *params, json_t **result,
			   struct vsw_rpc_err *e)
{
	static const char *const known[] = {NULL};
	struct vswd *d = opaque;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	vsw_switch_pmd_stats_clear(d->sw);
	return 0;
}
