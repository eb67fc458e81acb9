/* SPDX-License-Identifier: MIT */
/*
 * The switch's counters as the control API reads them: per port, per
 * queue, per data thread (cycles, batches, sleeps). Data threads write
 * them with relaxed single-writer stores; this file reads them with
 * relaxed loads and sums. Control thread (any thread for the reads).
 */
#include <errno.h>
#include <string.h>

#include "switch_priv.h"

static void sw_stats_add(struct vsw_queue_stats *to,
			 const struct vsw_queue_stats *from)
{
	unsigned i;

	to->packets += vsw_load_relaxed(&from->packets);
	to->bytes += vsw_load_relaxed(&from->bytes);
	for (i = 0; i < VSW_DROP__COUNT; i++)
		to->drops[i] += vsw_load_relaxed(&from->drops[i]);
}

int vsw_switch_port_stats(struct vsw_switch *sw, const char *name,
			  struct vsw_port_stats *out)
{
	struct vsw_port *p = vsw_switch_port_find(sw, name);
	unsigned q;

	if (p == NULL)
		return -ENOENT;
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (q = 0; q < VSW_PORT_MAX_QUEUES; q++) {
		sw_stats_add(&out->rx, &p->rxq[q].st);
		sw_stats_add(&out->tx, &p->txq[q].st);
	}
	return 0;
}

int vsw_switch_queue_stats(struct vsw_switch *sw, const char *name, bool tx,
			   unsigned q, struct vsw_queue_stats *out)
{
	struct vsw_port *p = vsw_switch_port_find(sw, name);

	if (p == NULL)
		return -ENOENT;
	if (out == NULL || q >= VSW_PORT_MAX_QUEUES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	sw_stats_add(out, tx ? &p->txq[q].st : &p->rxq[q].st);
	return 0;
}

int vsw_switch_port_counters(struct vsw_switch *sw, const char *name,
			     struct vsw_port_counter *c, unsigned max)
{
	struct vsw_port *p = vsw_switch_port_find(sw, name);
	unsigned n;

	if (p == NULL)
		return -ENOENT;
	if (p->ops->counters == NULL || c == NULL)
		return 0;
	n = p->ops->counters(p, c, max);
	return (int)(n < max ? n : max);
}

unsigned vsw_switch_n_threads(const struct vsw_switch *sw)
{
	return sw->n_pmds;
}

/* Raw counters of a thread since it started (EMC ones: its caches). */
static void sw_pmd_stats_raw(const struct vsw_switch *sw, unsigned thread,
			     struct vsw_pmd_stats *out)
{
	const struct vsw_pmd_stats *st = &sw->pmds[thread].st;
	const struct sw_bridge *b;

	memset(out, 0, sizeof(*out));
	out->packets = vsw_load_relaxed(&st->packets);
	out->batches = vsw_load_relaxed(&st->batches);
	out->busy_cycles = vsw_load_relaxed(&st->busy_cycles);
	out->idle_cycles = vsw_load_relaxed(&st->idle_cycles);
	out->sleeps = vsw_load_relaxed(&st->sleeps);
	out->wakeups_ctl = vsw_load_relaxed(&st->wakeups_ctl);
	out->sleep_cycles = vsw_load_relaxed(&st->sleep_cycles);
	out->spin_us = vsw_load_relaxed(&st->spin_us);
	out->fdb_learned = vsw_load_relaxed(&st->fdb_learned);
	out->fdb_full = vsw_load_relaxed(&st->fdb_full);
	out->fast_normal = vsw_load_relaxed(&st->fast_normal);
	for (b = sw->bridges; b != NULL; b = b->next) {
		struct vsw_flow_emc_stats es;

		if (b->emc[thread] == NULL)
			continue;
		vsw_flow_emc_stats(b->emc[thread], &es);
		out->emc_hits += es.hits;
		out->emc_misses += es.misses;
	}
}

/* a - b, 0 if a deleted bridge took counts away */
static uint64_t sw_since(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

int vsw_switch_pmd_stats(const struct vsw_switch *sw, unsigned thread,
			 struct vsw_pmd_stats *out)
{
	const struct vsw_pmd_stats *b;

	if (thread >= sw->n_pmds || out == NULL)
		return -EINVAL;
	b = &sw->pmds[thread].base;
	sw_pmd_stats_raw(sw, thread, out);
	out->n_rxq = sw->pmds[thread].list->n;
	out->packets = sw_since(out->packets, b->packets);
	out->batches = sw_since(out->batches, b->batches);
	out->busy_cycles = sw_since(out->busy_cycles, b->busy_cycles);
	out->idle_cycles = sw_since(out->idle_cycles, b->idle_cycles);
	out->sleeps = sw_since(out->sleeps, b->sleeps);
	out->wakeups_ctl = sw_since(out->wakeups_ctl, b->wakeups_ctl);
	out->sleep_cycles = sw_since(out->sleep_cycles, b->sleep_cycles);
	out->fdb_learned = sw_since(out->fdb_learned, b->fdb_learned);
	out->fdb_full = sw_since(out->fdb_full, b->fdb_full);
	out->emc_hits = sw_since(out->emc_hits, b->emc_hits);
	out->emc_misses = sw_since(out->emc_misses, b->emc_misses);
	out->fast_normal = sw_since(out->fast_normal, b->fast_normal);
	return 0;
}

void vsw_switch_pmd_stats_clear(struct vsw_switch *sw)
{
	unsigned i;

	for (i = 0; i < sw->n_pmds; i++)
		sw_pmd_stats_raw(sw, i, &sw->pmds[i].base);
}
