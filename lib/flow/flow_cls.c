/* SPDX-License-Identifier: MIT */
/*
 * Tuple space search classifier.
 *
 * One subtable per distinct mask; a subtable is a chained hash table of the
 * rules having that mask, keyed by the masked key (hashed over the non-zero
 * mask words only). The published vector lists the subtables by descending
 * highest priority; a lookup stops at the first subtable whose highest
 * priority cannot beat the best match so far, so a table whose high
 * priority rules share a few masks is answered after visiting those few.
 *
 * Writers: the control thread only (see flow_priv.h for the publication
 * protocol). Readers: any number of data threads, no locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow_priv.h"

#define CLS_MIN_BUCKETS 16u

/*
 * The hash of key (with its tunnel extension ext) masked by st. Most
 * subtables have no extension words: one test more for them.
 */
static uint32_t cls_hash_ext(const struct cls_subtable *st,
			     const struct vsw_flow_key *key,
			     const struct vsw_pkt_tun_ext *ext)
{
	uint64_t h = st->n_words;
	unsigned i;

	for (i = 0; i < st->n_words; i++) {
		unsigned w = st->words[i];

		h = flow_mix(h, key->w[w] & st->mask.w[w]);
	}
	if (vsw_unlikely(st->n_ext != 0)) {
		for (i = 0; i < st->n_ext; i++) {
			unsigned w = st->ext_words[i];

			h = flow_mix(h, ext->w[w] & st->ext_mask.w[w]);
		}
	}
	return flow_fin(h);
}

/* A packet's key (its extension through the key's pointer). */
static inline uint32_t cls_hash(const struct cls_subtable *st,
				const struct vsw_flow_key *key)
{
	return cls_hash_ext(st, key,
			    st->n_ext != 0 ? flow_key_ext(key) : NULL);
}

/* A rule's match key (its extension in the match). */
static uint32_t cls_hash_match(const struct cls_subtable *st,
			       const struct vsw_flow_match *m)
{
	return cls_hash_ext(st, &m->key, &m->ext);
}

static inline bool cls_rule_matches(const struct cls_subtable *st,
				    const struct vsw_flow_rule *r,
				    const struct vsw_flow_key *key)
{
	unsigned i;

	for (i = 0; i < st->n_words; i++) {
		unsigned w = st->words[i];

		if ((key->w[w] & st->mask.w[w]) != r->match.key.w[w])
			return false;
	}
	if (vsw_unlikely(st->n_ext != 0)) {
		const struct vsw_pkt_tun_ext *e = flow_key_ext(key);

		for (i = 0; i < st->n_ext; i++) {
			unsigned w = st->ext_words[i];

			if ((e->w[w] & st->ext_mask.w[w]) != r->match.ext.w[w])
				return false;
		}
	}
	return true;
}

static inline struct vsw_flow_rule *cls_lookup(const struct cls_vec *v,
					       const struct vsw_flow_key *key)
{
	struct vsw_flow_rule *best = NULL;
	unsigned best_prio = 0;
	unsigned i;

	for (i = 0; i < v->n; i++) {
		const struct cls_subtable *st = v->e[i].st;
		const struct cls_buckets *tab;
		struct vsw_flow_rule *r;
		uint32_t h;

		if (best != NULL && best_prio >= v->e[i].max_prio)
			break; /* no later subtable can do better */
		h = cls_hash(st, key);
		/* Acquire pairs with the release in cls_resize() / insert. */
		tab = vsw_load_acquire(&st->tab);
		/* Acquire pairs with the release stores linking rules. */
		r = vsw_load_acquire(&tab->b[h & tab->mask]);
		for (; r != NULL; r = vsw_load_acquire(&r->next[tab->slot])) {
			if (r->hash != h || !cls_rule_matches(st, r, key))
				continue;
			if (best == NULL || r->priority > best_prio) {
				best = r;
				best_prio = r->priority;
			}
		}
	}
	return best;
}

struct vsw_flow_rule *vsw_flow_lookup(const struct vsw_flow_table *t,
				      const struct vsw_flow_key *key)
{
	/*
	 * Acquire pairs with the release store in cls_publish(); table 0's
	 * vec exists from vsw_flow_table_create() on.
	 */
	return cls_lookup(vsw_load_acquire(&t->cls[0].vec), key);
}

struct vsw_flow_rule *vsw_flow_lookup_table(const struct vsw_flow_table *t,
					    unsigned table_id,
					    const struct vsw_flow_key *key)
{
	const struct cls_vec *v;

	if (table_id >= VSW_FLOW_N_TABLES)
		return NULL;
	/* Acquire pairs with the release store in cls_publish(). */
	v = vsw_load_acquire(&t->cls[table_id].vec);
	return v != NULL ? cls_lookup(v, key) : NULL;
}

/*
 * The same decision for up to VSW_FLOW_BATCH keys at once. Per subtable,
 * the bucket heads of every key still in the running are prefetched, then
 * the first rules of their chains, then the chains are walked: the cache
 * misses of a table too large for the cache overlap instead of adding up.
 */
void cls_lookup_batch(const struct vsw_flow_table *t,
		      const struct vsw_flow_key *const *keys, unsigned n,
		      struct vsw_flow_rule **out)
{
	/* Acquire pairs with the release store in cls_publish(). */
	const struct cls_vec *v = vsw_load_acquire(&t->cls[0].vec);
	struct vsw_flow_rule *const *head[VSW_FLOW_BATCH];
	uint32_t h[VSW_FLOW_BATCH];
	int best[VSW_FLOW_BATCH];
	unsigned i, j;

	for (j = 0; j < n; j++) {
		out[j] = NULL;
		best[j] = -1;
	}
	for (i = 0; i < v->n; i++) {
		const struct cls_subtable *st = v->e[i].st;
		int maxp = (int)v->e[i].max_prio;
		const struct cls_buckets *tab;
		unsigned live = 0;

		/* Acquire pairs with the release in cls_resize(). */
		tab = vsw_load_acquire(&st->tab);
		for (j = 0; j < n; j++) {
			if (best[j] >= maxp) {
				head[j] = NULL;
				continue;
			}
			h[j] = cls_hash(st, keys[j]);
			head[j] = &tab->b[h[j] & tab->mask];
			__builtin_prefetch(head[j]);
			live++;
		}
		if (live == 0)
			break; /* no later subtable can do better for anyone */
		for (j = 0; j < n; j++) {
			struct vsw_flow_rule *r;

			if (head[j] == NULL)
				continue;
			/* Acquire pairs with the release linking rules. */
			r = vsw_load_acquire(head[j]);
			if (r != NULL)
				__builtin_prefetch(r);
		}
		for (j = 0; j < n; j++) {
			struct vsw_flow_rule *r;

			if (head[j] == NULL)
				continue;
			r = vsw_load_acquire(head[j]);
			for (; r != NULL;
			     r = vsw_load_acquire(&r->next[tab->slot])) {
				if (r->hash != h[j] ||
				    !cls_rule_matches(st, r, keys[j]))
					continue;
				if ((int)r->priority > best[j]) {
					best[j] = r->priority;
					out[j] = r;
				}
			}
		}
	}
}

static bool mask_equal(const struct cls_subtable *st,
		       const struct vsw_flow_match *m)
{
	return memcmp(st->mask.w, m->mask.w, sizeof(m->mask.w)) == 0 &&
	       memcmp(&st->ext_mask, &m->ext_mask, sizeof(m->ext_mask)) == 0;
}

static struct cls_subtable *cls_find_subtable(struct flow_cls *c,
					      const struct vsw_flow_match *m)
{
	unsigned i;

	for (i = 0; i < c->n_sts; i++)
		if (mask_equal(c->sts[i], m))
			return c->sts[i];
	return NULL;
}

struct vsw_flow_rule *cls_find_exact(struct vsw_flow_table *t, unsigned table,
				     const struct vsw_flow_match *m,
				     unsigned priority)
{
	struct cls_subtable *st = cls_find_subtable(&t->cls[table], m);
	struct cls_buckets *tab;
	struct vsw_flow_rule *r;
	uint32_t h;

	if (st == NULL)
		return NULL;
	h = cls_hash_match(st, m);
	tab = st->tab;
	for (r = tab->b[h & tab->mask]; r != NULL; r = r->next[tab->slot])
		if (r->hash == h && r->priority == priority &&
		    memcmp(r->match.key.w, m->key.w, sizeof(m->key.w)) == 0 &&
		    memcmp(&r->match.ext, &m->ext, sizeof(m->ext)) == 0)
			return r;
	return NULL;
}

static struct cls_buckets *cls_buckets_alloc(uint32_t n, uint32_t slot)
{
	struct cls_buckets *b;

	b = calloc(1, sizeof(*b) + (size_t)n * sizeof(b->b[0]));
	if (b == NULL)
		return NULL;
	b->mask = n - 1;
	b->slot = slot;
	return b;
}

/*
 * Grow st's bucket array to n buckets, chaining through the other link
 * slot. On allocation failure the old (longer-chained) array stays.
 */
static void cls_resize(struct vsw_flow_table *t, struct cls_subtable *st,
		       uint32_t n)
{
	struct cls_buckets *old = st->tab, *nb;
	uint32_t i, slot = old->slot ^ 1;

	/*
	 * The array before `old` chained through `slot` too; readers may
	 * still walk it until a grace period passes since it was replaced.
	 */
	if (st->resize_epoch == t->epoch) {
		flow_gc_reclaim(t);
		/* no grace period passed: the old chains may still be walked */
		if (st->resize_epoch == t->epoch)
			return;
	}
	nb = cls_buckets_alloc(n, slot);
	if (nb == NULL)
		return;
	for (i = 0; i <= old->mask; i++) {
		struct vsw_flow_rule *r;

		for (r = old->b[i]; r != NULL; r = r->next[old->slot]) {
			uint32_t b = r->hash & nb->mask;

			r->next[slot] = nb->b[b];
			nb->b[b] = r;
		}
	}
	/*
	 * Release: the new chains are complete before a reader can reach
	 * them; pairs with the acquire of st->tab in vsw_flow_lookup().
	 */
	vsw_store_release(&st->tab, nb);
	st->resize_epoch = t->epoch;
	flow_gc_push(t, old);
}

static struct cls_subtable *cls_subtable_new(struct flow_cls *c,
					     const struct vsw_flow_match *m)
{
	struct cls_subtable *st;
	unsigned i;

	if (c->n_sts == c->cap_sts) {
		unsigned cap = c->cap_sts ? c->cap_sts * 2 : 8;
		struct cls_subtable **n;

		n = realloc(c->sts, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		c->sts = n;
		c->cap_sts = cap;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->mask = m->mask;
	st->ext_mask = m->ext_mask;
	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		if (m->mask.w[i] != 0)
			st->words[st->n_words++] = (uint8_t)i;
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		if (m->ext_mask.w[i] != 0)
			st->ext_words[st->n_ext++] = (uint8_t)i;
	st->tab = cls_buckets_alloc(CLS_MIN_BUCKETS, 0);
	if (st->tab == NULL) {
		free(st);
		return NULL;
	}
	/* never equal to a table epoch before the first resize */
	st->resize_epoch = UINT64_MAX;
	c->sts[c->n_sts++] = st;
	c->vec_dirty = true;
	return st;
}

int cls_insert(struct vsw_flow_table *t, struct vsw_flow_rule *r)
{
	struct flow_cls *c = &t->cls[r->table];
	struct cls_subtable *st = cls_find_subtable(c, &r->match);
	struct cls_buckets *tab;
	uint32_t b;

	/* a new subtable or a higher priority must be publishable */
	if (cls_reserve(c) < 0)
		return -ENOMEM;
	if (st == NULL) {
		st = cls_subtable_new(c, &r->match);
		if (st == NULL)
			return -ENOMEM;
	}
	/* load factor <= 1: a miss walks about one rule */
	if (st->n_rules + 1 > st->tab->mask + 1)
		cls_resize(t, st, 2 * (st->tab->mask + 1));
	tab = st->tab;
	r->st = st;
	r->hash = cls_hash_match(st, &r->match);
	b = r->hash & tab->mask;
	r->next[tab->slot] = tab->b[b];
	/*
	 * Release: the rule (match, priority, actions, link) is complete
	 * before a reader can see it; pairs with the acquire of the bucket
	 * head in vsw_flow_lookup().
	 */
	vsw_store_release(&tab->b[b], r);
	st->n_rules++;
	if (st->n_rules == 1 || r->priority > st->max_prio) {
		st->max_prio = r->priority;
		st->n_at_max = 1;
		c->vec_dirty = true;
	} else if (r->priority == st->max_prio) {
		st->n_at_max++;
	}
	return 0;
}

static void cls_rescan_max(struct cls_subtable *st)
{
	const struct cls_buckets *tab = st->tab;
	const struct vsw_flow_rule *r;
	uint32_t i;

	st->max_prio = 0;
	st->n_at_max = 0;
	for (i = 0; i <= tab->mask; i++) {
		for (r = tab->b[i]; r != NULL; r = r->next[tab->slot]) {
			if (st->n_at_max == 0 || r->priority > st->max_prio) {
				st->max_prio = r->priority;
				st->n_at_max = 1;
			} else if (r->priority == st->max_prio) {
				st->n_at_max++;
			}
		}
	}
}

void cls_remove(struct vsw_flow_table *t, struct vsw_flow_rule *r)
{
	struct flow_cls *c = &t->cls[r->table];
	struct cls_subtable *st = r->st;
	struct cls_buckets *tab = st->tab;
	struct vsw_flow_rule **pp = &tab->b[r->hash & tab->mask];
	unsigned i;

	while (*pp != r)
		pp = &(*pp)->next[tab->slot];
	/*
	 * Release: a reader reaching the successor through the new link
	 * sees it complete (it was published before; this keeps the
	 * pointer store single-copy atomic and ordered for TSan's model).
	 * A reader standing on r still follows r's own link, unchanged.
	 */
	vsw_store_release(pp, r->next[tab->slot]);
	r->st = NULL;
	st->n_rules--;
	if (st->n_rules == 0) {
		for (i = 0; i < c->n_sts; i++) {
			if (c->sts[i] == st) {
				c->sts[i] = c->sts[--c->n_sts];
				break;
			}
		}
		c->vec_dirty = true;
		/* the vec still lists it: freed after the next publish */
		st->dead_next = c->dead;
		c->dead = st;
		return;
	}
	if (r->priority == st->max_prio && --st->n_at_max == 0) {
		cls_rescan_max(st);
		c->vec_dirty = true;
	}
}

static int cls_vec_cmp(const void *a, const void *b)
{
	const struct cls_vec_ent *x = a, *y = b;

	if (x->max_prio != y->max_prio)
		return x->max_prio > y->max_prio ? -1 : 1;
	/* more rules first among equals: likelier to hold the match */
	if (x->st->n_rules != y->st->n_rules)
		return x->st->n_rules > y->st->n_rules ? -1 : 1;
	return 0;
}

int cls_reserve(struct flow_cls *c)
{
	unsigned cap = c->n_sts + 1;
	struct cls_vec *v;

	if (c->spare != NULL && c->spare_cap >= cap)
		return 0;
	cap = cap < 8 ? 8 : cap * 2;
	v = malloc(sizeof(*v) + (size_t)cap * sizeof(v->e[0]));
	if (v == NULL)
		return -ENOMEM;
	free(c->spare);
	c->spare = v;
	c->spare_cap = cap;
	return 0;
}

static void cls_publish_one(struct vsw_flow_table *t, struct flow_cls *c)
{
	struct cls_vec *v = c->spare, *old = c->vec;
	unsigned i;

	if (!c->vec_dirty)
		return;
	if (v == NULL || c->spare_cap < c->n_sts) {
		if (cls_reserve(c) < 0)
			return;
		v = c->spare;
	}
	c->spare = NULL;
	c->spare_cap = 0;
	v->n = c->n_sts;
	for (i = 0; i < c->n_sts; i++) {
		v->e[i].st = c->sts[i];
		v->e[i].max_prio = c->sts[i]->max_prio;
	}
	qsort(v->e, v->n, sizeof(v->e[0]), cls_vec_cmp);
	/* Release pairs with the acquire of c->vec in vsw_flow_lookup(). */
	vsw_store_release(&c->vec, v);
	c->vec_dirty = false;
	if (old != NULL)
		flow_gc_push(t, old);
	/* readers may still be in them until the next grace period */
	while (c->dead != NULL) {
		struct cls_subtable *st = c->dead;

		c->dead = st->dead_next;
		flow_gc_push(t, st->tab);
		flow_gc_push(t, st);
	}
}

void cls_publish(struct vsw_flow_table *t)
{
	unsigned i;

	for (i = 0; i < VSW_FLOW_N_TABLES; i++)
		cls_publish_one(t, &t->cls[i]);
}

unsigned cls_n_subtables(const struct vsw_flow_table *t)
{
	unsigned i, n = 0;

	for (i = 0; i < VSW_FLOW_N_TABLES; i++)
		n += t->cls[i].n_sts;
	return n;
}

static void cls_destroy_one(struct flow_cls *c)
{
	unsigned i;

	for (i = 0; i < c->n_sts; i++) {
		free(c->sts[i]->tab);
		free(c->sts[i]);
	}
	while (c->dead != NULL) {
		struct cls_subtable *st = c->dead;

		c->dead = st->dead_next;
		free(st->tab);
		free(st);
	}
	free(c->sts);
	free(c->vec);
	free(c->spare);
}

void cls_destroy(struct vsw_flow_table *t)
{
	unsigned i;

	for (i = 0; i < VSW_FLOW_N_TABLES; i++)
		cls_destroy_one(&t->cls[i]);
}
