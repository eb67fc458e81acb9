/* SPDX-License-Identifier: MIT */
/*
 * The flow table: rules, the ovs-ofctl operations on them, timeouts,
 * counters. The classifier is flow_cls.c, the deferred frees flow_gc.c,
 * the per-thread exact-match cache flow_emc.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_priv.h"

#define FLOW_MAX_RULES_DEFAULT 1000000u

/* End of every changing operation: publish, and reclaim in batches. */
static void flow_op_end(struct vsw_flow_table *t, bool changed)
{
	cls_publish(t);
	if (changed) {
		/*
		 * Release: the links / unlinks above are visible to an EMC
		 * that sees the new generation; pairs with the acquire in
		 * vsw_flow_emc_lookup_burst().
		 */
		vsw_store_release(&t->gen, t->gen + 1);
	}
	if (t->n_garbage >= FLOW_GC_BATCH)
		flow_gc_reclaim(t);
}

/* ---- rules ---- */

static struct vsw_flow_actions *acts_dup(const struct vsw_flow_actions *a)
{
	size_t sz = sizeof(*a) + (size_t)a->n * sizeof(a->a[0]);
	struct vsw_flow_actions *c = malloc(sz);

	if (c == NULL)
		return NULL;
	memcpy(c, a, sz);
	/* the data path's test for a pipeline: the table sets it itself */
	c->flags &= (uint16_t)~VSW_FLOW_ACTS_GOTO;
	if (c->n != 0 && c->a[c->n - 1].type == VSW_FLOW_ACT_GOTO_TABLE)
		c->flags |= VSW_FLOW_ACTS_GOTO;
	return c;
}

/*
 * 0 if @a may be the actions of a rule in @table: a goto_table only last
 * and only to a higher table (so a packet's walk always ends).
 */
static int acts_check(const struct vsw_flow_actions *a, unsigned table)
{
	unsigned i;

	for (i = 0; i < a->n; i++) {
		if (a->a[i].type != VSW_FLOW_ACT_GOTO_TABLE)
			continue;
		if (i != a->n - 1u || a->a[i].arg <= table ||
		    a->a[i].arg >= VSW_FLOW_N_TABLES)
			return -EINVAL;
	}
	return 0;
}

static void rule_free_now(struct vsw_flow_rule *r)
{
	free(r->actions);
	free(r);
}

static void rule_unlink(struct vsw_flow_table *t, struct vsw_flow_rule *r)
{
	cls_remove(t, r);
	if (r->all_prev != NULL)
		r->all_prev->all_next = r->all_next;
	else
		t->all = r->all_next;
	if (r->all_next != NULL)
		r->all_next->all_prev = r->all_prev;
	t->n_rules--;
	if (r->idle_timeout != 0 || r->hard_timeout != 0)
		t->n_timed--;
	flow_gc_push(t, r->actions);
	flow_gc_push(t, r);
}

static void rule_reset_counts(struct vsw_flow_rule *r)
{
	/* relaxed: data threads may be counting concurrently */
	vsw_store_relaxed(&r->n_packets, 0);
	vsw_store_relaxed(&r->n_bytes, 0);
}

static void rule_reset(struct vsw_flow_rule *r, const struct vsw_flow_spec *s,
		       uint64_t now_ms)
{
	r->idle_timeout = s->idle_timeout;
	r->hard_timeout = s->hard_timeout;
	r->cookie = s->cookie;
	r->flags = s->flags & (VSW_FLOW_F_SEND_FLOW_REM);
	r->created_ms = now_ms;
	rule_reset_counts(r);
	vsw_store_relaxed(&r->used_ms, now_ms);
}

/* CHECK_OVERLAP: another rule of s's table and priority a packet may hit. */
static bool table_overlaps(const struct vsw_flow_table *t,
			   const struct vsw_flow_spec *s)
{
	const struct vsw_flow_rule *r;

	for (r = t->all; r != NULL; r = r->all_next)
		if (r->table == s->table_id && r->priority == s->priority &&
		    flow_match_overlap(&r->match, &s->match))
			return true;
	return false;
}

static void rule_set_actions(struct vsw_flow_table *t, struct vsw_flow_rule *r,
			     struct vsw_flow_actions *a)
{
	struct vsw_flow_actions *old = r->actions;

	/*
	 * Release: the list is complete before a data thread reads it;
	 * pairs with the acquire in vsw_flow_rule_actions().
	 */
	vsw_store_release(&r->actions, a);
	flow_gc_push(t, old);
}

int vsw_flow_table_add(struct vsw_flow_table *t, const struct vsw_flow_spec *s,
		       uint64_t now_ms)
{
	struct vsw_flow_rule *r, *old;
	struct vsw_flow_actions *a;
	bool timed = s->idle_timeout != 0 || s->hard_timeout != 0;
	int ret;

	if (s->actions == NULL || s->table_id >= VSW_FLOW_N_TABLES ||
	    (s->flags & ~VSW_FLOW_F_ALL) != 0 ||
	    acts_check(s->actions, s->table_id) < 0)
		return -EINVAL;
	t->last_now_ms = now_ms;
	if ((s->flags & VSW_FLOW_F_CHECK_OVERLAP) && table_overlaps(t, s))
		return -EEXIST;
	a = acts_dup(s->actions);
	if (a == NULL)
		return -ENOMEM;
	old = cls_find_exact(t, s->table_id, &s->match, s->priority);
	if (old != NULL) {
		/* same match and priority: replace in place, fresh state */
		if (old->idle_timeout != 0 || old->hard_timeout != 0)
			t->n_timed--;
		rule_reset(old, s, now_ms);
		rule_set_actions(t, old, a);
		if (timed)
			t->n_timed++;
		flow_op_end(t, false);
		return 0;
	}
	if (t->n_rules >= t->cfg.max_rules) {
		free(a);
		return -ENOSPC;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		free(a);
		return -ENOMEM;
	}
	r->match = s->match;
	r->priority = s->priority;
	r->table = s->table_id;
	r->actions = a;
	rule_reset(r, s, now_ms);
	r->seq = t->seq++;
	ret = cls_insert(t, r);
	if (ret < 0) {
		rule_free_now(r);
		flow_op_end(t, false);
		return ret;
	}
	r->all_next = t->all;
	if (t->all != NULL)
		t->all->all_prev = r;
	t->all = r;
	t->n_rules++;
	if (timed)
		t->n_timed++;
	flow_op_end(t, true);
	return 0;
}

static bool rule_outputs_to(const struct vsw_flow_rule *r, uint16_t port)
{
	unsigned i;

	if (port == VSW_FLOW_PORT_NONE)
		return true;
	for (i = 0; i < r->actions->n; i++) {
		const struct vsw_flow_act *a = &r->actions->a[i];

		if (a->type == VSW_FLOW_ACT_CONTROLLER &&
		    port == VSW_FLOW_PORT_CONTROLLER)
			return true;
		if (a->type == VSW_FLOW_ACT_OUTPUT && a->arg == port)
			return true;
		if (a->type == VSW_FLOW_ACT_IN_PORT &&
		    port == VSW_FLOW_PORT_IN_PORT)
			return true;
	}
	return false;
}

static bool rule_selected(const struct vsw_flow_rule *r,
			  const struct vsw_flow_spec *s, bool strict)
{
	if (s->table_id != VSW_FLOW_TABLE_ALL && r->table != s->table_id)
		return false;
	if ((r->cookie & s->cookie_mask) != (s->cookie & s->cookie_mask))
		return false;
	if (strict) {
		if (r->priority != s->priority ||
		    memcmp(&r->match, &s->match, sizeof(r->match)) != 0)
			return false;
	} else if (!flow_mask_is_subset(&r->match, &s->match)) {
		return false;
	}
	return rule_outputs_to(r, s->out_port);
}

static void rule_stats(const struct vsw_flow_rule *r, uint64_t now_ms,
		       struct vsw_flow_stats *st)
{
	uint64_t used = vsw_load_relaxed(&r->used_ms);

	st->n_packets = vsw_load_relaxed(&r->n_packets);
	st->n_bytes = vsw_load_relaxed(&r->n_bytes);
	st->duration_ms = now_ms > r->created_ms ? now_ms - r->created_ms : 0;
	st->idle_ms = now_ms > used ? now_ms - used : 0;
}

/* Tell the removal callback, then unlink. */
static void rule_remove(struct vsw_flow_table *t, struct vsw_flow_rule *r,
			enum vsw_flow_removed_reason why, uint64_t now_ms)
{
	if (t->removed_cb != NULL) {
		struct vsw_flow_stats st;

		rule_stats(r, now_ms, &st);
		t->removed_cb(t->removed_arg, r, &st, why);
	}
	rule_unlink(t, r);
}

void vsw_flow_table_set_removed_cb(struct vsw_flow_table *t,
				   vsw_flow_removed_cb cb, void *arg)
{
	t->removed_cb = cb;
	t->removed_arg = arg;
}

void vsw_flow_table_set_now(struct vsw_flow_table *t, uint64_t now_ms)
{
	t->last_now_ms = now_ms;
}

int vsw_flow_table_del(struct vsw_flow_table *t, const struct vsw_flow_spec *s,
		       bool strict)
{
	struct vsw_flow_rule *r, *next;
	int n = 0;

	for (r = t->all; r != NULL; r = next) {
		next = r->all_next;
		if (!rule_selected(r, s, strict))
			continue;
		rule_remove(t, r, VSW_FLOW_REM_DELETE, t->last_now_ms);
		n++;
	}
	flow_op_end(t, n != 0);
	return n;
}

int vsw_flow_table_mod(struct vsw_flow_table *t, const struct vsw_flow_spec *s,
		       bool strict, uint64_t now_ms)
{
	struct vsw_flow_rule *r;
	int n = 0;

	if (s->actions == NULL || (s->flags & ~VSW_FLOW_F_ALL) != 0)
		return -EINVAL;
	t->last_now_ms = now_ms;
	/* every goto must lead beyond the table of each rule it lands in */
	for (r = t->all; r != NULL; r = r->all_next)
		if (rule_selected(r, s, strict) &&
		    acts_check(s->actions, r->table) < 0)
			return -EINVAL;
	for (r = t->all; r != NULL; r = r->all_next) {
		struct vsw_flow_actions *a;

		if (!rule_selected(r, s, strict))
			continue;
		a = acts_dup(s->actions);
		if (a == NULL) {
			flow_op_end(t, false);
			return -ENOMEM;
		}
		rule_set_actions(t, r, a);
		if (s->flags & VSW_FLOW_F_RESET_COUNTS)
			rule_reset_counts(r);
		n++;
	}
	if (n == 0) {
		/* OpenFlow 1.0: a modify that selects nothing adds */
		struct vsw_flow_spec add = *s;
		int ret;

		if (add.table_id == VSW_FLOW_TABLE_ALL)
			add.table_id = 0;
		ret = vsw_flow_table_add(t, &add, now_ms);
		return ret < 0 ? ret : 1;
	}
	/* rules keep their identity: EMC entries stay valid */
	flow_op_end(t, false);
	return n;
}

/* 0: not expired; else 1 + the reason. */
static int rule_expired(const struct vsw_flow_rule *r, uint64_t now_ms)
{
	if (r->hard_timeout != 0 &&
	    now_ms >= r->created_ms + (uint64_t)r->hard_timeout * 1000)
		return 1 + VSW_FLOW_REM_HARD;
	if (r->idle_timeout != 0) {
		/* relaxed: data threads refresh it */
		uint64_t used = vsw_load_relaxed(&r->used_ms);

		if (now_ms >= used + (uint64_t)r->idle_timeout * 1000)
			return 1 + VSW_FLOW_REM_IDLE;
	}
	return 0;
}

int vsw_flow_table_expire(struct vsw_flow_table *t, uint64_t now_ms)
{
	struct vsw_flow_rule *r, *next;
	int n = 0;

	t->last_now_ms = now_ms;
	if (t->n_timed != 0) {
		for (r = t->all; r != NULL; r = next) {
			int why = rule_expired(r, now_ms);

			next = r->all_next;
			if (why == 0)
				continue;
			rule_remove(t, r,
				    (enum vsw_flow_removed_reason)(why - 1),
				    now_ms);
			n++;
		}
	}
	flow_op_end(t, n != 0);
	/* periodic: nothing stays queued for longer than one period */
	flow_gc_reclaim(t);
	return n;
}

unsigned vsw_flow_table_n_rules(const struct vsw_flow_table *t)
{
	return t->n_rules;
}

unsigned vsw_flow_table_n_subtables(const struct vsw_flow_table *t)
{
	return cls_n_subtables(t);
}

static int rule_dump_cmp(const void *a, const void *b)
{
	const struct vsw_flow_rule *x = *(const struct vsw_flow_rule *const *)a;
	const struct vsw_flow_rule *y = *(const struct vsw_flow_rule *const *)b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The dump-flows line of r. */
static int rule_format(const struct vsw_flow_rule *r,
		       const struct vsw_flow_stats *st, char *buf, size_t len)
{
	size_t o;
	int k;

	k = snprintf(buf, len,
		     " cookie=0x%" PRIx64 ", duration=%" PRIu64 ".%03us, "
		     "table=%u, n_packets=%" PRIu64 ", n_bytes=%" PRIu64 ", ",
		     r->cookie, st->duration_ms / 1000,
		     (unsigned)(st->duration_ms % 1000), r->table,
		     st->n_packets, st->n_bytes);
	o = (size_t)k < len ? (size_t)k : len;
	if (r->flags & VSW_FLOW_F_SEND_FLOW_REM) {
		k = snprintf(buf + o, len - o, "send_flow_rem ");
		o += (size_t)k < len - o ? (size_t)k : len - o;
	}
	if (r->idle_timeout != 0) {
		k = snprintf(buf + o, len - o, "idle_timeout=%u, ",
			     r->idle_timeout);
		o += (size_t)k < len - o ? (size_t)k : len - o;
	}
	if (r->hard_timeout != 0) {
		k = snprintf(buf + o, len - o, "hard_timeout=%u, ",
			     r->hard_timeout);
		o += (size_t)k < len - o ? (size_t)k : len - o;
	}
	k = vsw_flow_format_match(&r->match, r->priority, buf + o, len - o);
	o += (size_t)k < len - o ? (size_t)k : len - o;
	if (k > 0 && o < len - 1)
		buf[o++] = ' ';
	k = snprintf(buf + o, len - o, "actions=");
	o += (size_t)k < len - o ? (size_t)k : len - o;
	vsw_flow_format_actions(r->actions, buf + o, len - o);
	return 0;
}

int vsw_flow_table_dump(struct vsw_flow_table *t,
			const struct vsw_flow_spec *filter, uint64_t now_ms,
			int (*cb)(const struct vsw_flow_rule *r,
				  const struct vsw_flow_stats *st,
				  const char *line, void *arg),
			void *arg)
{
	struct vsw_flow_rule **v, *r;
	unsigned n = 0, i, max_acts = 0;
	size_t line_len;
	char *line = NULL;
	int ret = 0;

	v = malloc((t->n_rules + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (r = t->all; r != NULL; r = r->all_next) {
		if (filter != NULL && !rule_selected(r, filter, false))
			continue;
		v[n++] = r;
		if (r->actions->n > max_acts)
			max_acts = r->actions->n;
	}
	/* the longest match prints in < 400 bytes, an action in < 48 */
	line_len = 512 + (size_t)max_acts * 48;
	line = malloc(line_len);
	if (line == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	qsort(v, n, sizeof(*v), rule_dump_cmp);
	for (i = 0; i < n && ret == 0; i++) {
		struct vsw_flow_stats st;

		rule_stats(v[i], now_ms, &st);
		rule_format(v[i], &st, line, line_len);
		ret = cb(v[i], &st, line, arg);
	}
out:
	free(v);
	free(line);
	return ret;
}

unsigned vsw_flow_rule_priority(const struct vsw_flow_rule *r)
{
	return r->priority;
}

unsigned vsw_flow_rule_table(const struct vsw_flow_rule *r)
{
	return r->table;
}

unsigned vsw_flow_rule_flags(const struct vsw_flow_rule *r)
{
	return r->flags;
}

void vsw_flow_rule_timeouts(const struct vsw_flow_rule *r, uint64_t *cookie,
			    uint16_t *idle_timeout, uint16_t *hard_timeout)
{
	*cookie = r->cookie;
	*idle_timeout = r->idle_timeout;
	*hard_timeout = r->hard_timeout;
}

const struct vsw_flow_match *vsw_flow_rule_match(const struct vsw_flow_rule *r)
{
	return &r->match;
}

const struct vsw_flow_actions *
vsw_flow_rule_actions(const struct vsw_flow_rule *r)
{
	/* Acquire pairs with the release in rule_set_actions(). */
	return vsw_load_acquire(&r->actions);
}

void vsw_flow_rule_account(struct vsw_flow_rule *r, uint64_t packets,
			   uint64_t bytes, uint64_t now_ms)
{
	/* Relaxed: counters, read as independent values by dumps. */
	__atomic_fetch_add(&r->n_packets, packets, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->n_bytes, bytes, __ATOMIC_RELAXED);
	/* store only on change: keeps the line shared between threads */
	if (vsw_load_relaxed(&r->used_ms) < now_ms)
		vsw_store_relaxed(&r->used_ms, now_ms);
}

/* ---- table ---- */

int vsw_flow_table_create(const struct vsw_flow_table_config *cfg,
			  uint64_t now_ms, struct vsw_flow_table **out)
{
	struct vsw_flow_spec def;
	struct vsw_flow_table *t;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	if (cfg != NULL)
		t->cfg = *cfg;
	if (t->cfg.max_rules == 0)
		t->cfg.max_rules = FLOW_MAX_RULES_DEFAULT;
	t->gen = 1;
	t->last_now_ms = now_ms;
	ret = -ENOMEM;
	if (cls_reserve(&t->cls[0]) < 0)
		goto fail;
	t->cls[0].vec_dirty = true;
	cls_publish(t);
	if (t->cls[0].vec == NULL)
		goto fail;
	ret = vsw_flow_parse("priority=0,actions=normal", VSW_FLOW_PARSE_ADD,
			     NULL, &def, NULL, 0);
	if (ret < 0)
		goto fail;
	ret = vsw_flow_table_add(t, &def, now_ms);
	vsw_flow_spec_fini(&def);
	if (ret < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	vsw_flow_table_destroy(t);
	return ret;
}

void vsw_flow_table_destroy(struct vsw_flow_table *t)
{
	struct vsw_flow_rule *r, *next;
	unsigned i;

	if (t == NULL)
		return;
	for (r = t->all; r != NULL; r = next) {
		next = r->all_next;
		rule_free_now(r);
	}
	for (i = 0; i < t->n_garbage; i++)
		free(t->garbage[i]);
	free(t->garbage);
	cls_destroy(t);
	free(t);
}
