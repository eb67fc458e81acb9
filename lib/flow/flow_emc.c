/* SPDX-License-Identifier: MIT */
/*
 * The exact-match cache: one per data thread, in front of the classifier.
 * Two candidate entries per key hash; an entry is trusted only if it was
 * filled at the table's current generation (flow_priv.h), so a change of
 * the rules invalidates every cache at once without touching it. A miss
 * goes to the classifier in a batch (cls_lookup_batch) and is cached, a
 * classifier miss too (rule NULL). Keys with a tunnel extension token
 * are classified every time and never cached (see emc_burst()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow_priv.h"

struct emc_ent {
	uint64_t kw[VSW_FLOW_KEY_WORDS]; /* the key's words (no extension) */
	struct vsw_flow_rule *rule; /* NULL with gen != 0: a cached miss */
	uint64_t gen;		    /* 0: empty */
	uint32_t hash;
};

struct vsw_flow_emc {
	const struct vsw_flow_table *t;
	uint32_t mask;
	/* counters: written by the owner, relaxed; read by anyone */
	uint64_t hits, misses, revalidated;
	uint32_t n_used;
	struct emc_ent *ent;
};

int vsw_flow_emc_create(const struct vsw_flow_table *t, unsigned n,
			struct vsw_flow_emc **out)
{
	struct vsw_flow_emc *e;

	*out = NULL;
	if (n == 0)
		n = VSW_FLOW_EMC_DEFAULT;
	if (n < 2 || n > (1u << 20) || (n & (n - 1)) != 0)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->ent = aligned_alloc(VSW_CACHE_LINE,
			       VSW_ALIGN_UP(n * sizeof(*e->ent),
					    (size_t)VSW_CACHE_LINE));
	if (e->ent == NULL) {
		free(e);
		return -ENOMEM;
	}
	memset(e->ent, 0, n * sizeof(*e->ent));
	e->t = t;
	e->mask = n - 1;
	*out = e;
	return 0;
}

void vsw_flow_emc_destroy(struct vsw_flow_emc *e)
{
	if (e == NULL)
		return;
	free(e->ent);
	free(e);
}

static inline bool emc_key_eq(const struct emc_ent *e,
			      const struct vsw_flow_key *k)
{
	uint64_t d = 0;
	unsigned i;

	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		d |= e->kw[i] ^ k->w[i];
	return d == 0;
}

static void emc_fill(struct vsw_flow_emc *e, const struct vsw_flow_key *k,
		     uint32_t h, struct vsw_flow_rule *rule, uint64_t gen,
		     struct emc_ent *hit)
{
	struct emc_ent *a = &e->ent[h & e->mask];
	struct emc_ent *b = &e->ent[(h >> 16 ^ h << 3) & e->mask];
	struct emc_ent *victim;

	if (hit != NULL)
		victim = hit;
	else if (a->gen != gen)
		victim = a; /* empty (0) or stale: free to take */
	else if (b->gen != gen)
		victim = b;
	else
		victim = (h & 0x80000000u) ? a : b;
	if (victim->gen == 0)
		vsw_store_relaxed(&e->n_used, e->n_used + 1);
	memcpy(victim->kw, k->w, sizeof(victim->kw));
	victim->hash = h;
	victim->rule = rule;
	victim->gen = gen;
}

static void emc_burst(struct vsw_flow_emc *e, const struct vsw_flow_key *keys,
		      const uint32_t *hashes, unsigned n,
		      struct vsw_flow_rule **rules, uint64_t gen)
{
	const struct vsw_flow_key *mk[VSW_FLOW_BATCH];
	struct vsw_flow_rule *mr[VSW_FLOW_BATCH];
	struct emc_ent *mhit[VSW_FLOW_BATCH];
	unsigned midx[VSW_FLOW_BATCH];
	uint64_t hits = 0, reval = 0;
	unsigned i, nm = 0;

	for (i = 0; i < n; i++)
		__builtin_prefetch(&e->ent[hashes[i] & e->mask]);
	for (i = 0; i < n; i++) {
		uint32_t h = hashes[i];
		struct emc_ent *a = &e->ent[h & e->mask];
		struct emc_ent *b = &e->ent[(h >> 16 ^ h << 3) & e->mask];
		struct emc_ent *hit = NULL;

		if (a->hash == h && a->gen != 0 &&
		    emc_key_eq(a, &keys[i]))
			hit = a;
		else if (b->hash == h && b->gen != 0 &&
			 emc_key_eq(b, &keys[i]))
			hit = b;
		if (vsw_likely(hit != NULL && hit->gen == gen)) {
			rules[i] = hit->rule;
			hits++;
			continue;
		}
		reval += hit != NULL;
		mk[nm] = &keys[i];
		mhit[nm] = hit;
		midx[nm++] = i;
	}
	if (nm != 0) {
		/* the upcall: classify the misses together, cache them */
		cls_lookup_batch(e->t, mk, nm, mr);
		for (i = 0; i < nm; i++) {
			rules[midx[i]] = mr[i];
			/*
			 * A key with a tunnel extension (outer IPv6, geneve
			 * options) is never cached: an entry would hold only
			 * its token, and tokens of different extensions can
			 * be made to collide. As no entry has a token, such
			 * a key never hits one either: it goes to the
			 * classifier every time.
			 */
			if (vsw_likely(mk[i]->tun_ext_token == 0))
				emc_fill(e, mk[i], hashes[midx[i]], mr[i], gen,
					 mhit[i]);
		}
	}
	/* relaxed: single writer, readers want untorn values only */
	vsw_store_relaxed(&e->hits, e->hits + hits);
	vsw_store_relaxed(&e->misses, e->misses + nm);
	vsw_store_relaxed(&e->revalidated, e->revalidated + reval);
}

void vsw_flow_emc_lookup_burst(struct vsw_flow_emc *e,
			       const struct vsw_flow_key *keys,
			       const uint32_t *hashes, unsigned n,
			       struct vsw_flow_rule **rules)
{
	/*
	 * Acquire pairs with the release in flow_op_end(): a lookup done
	 * after this load sees every change up to generation gen.
	 */
	uint64_t gen = vsw_load_acquire(&e->t->gen);
	unsigned i;

	for (i = 0; i < n; i += VSW_FLOW_BATCH) {
		unsigned k = n - i < VSW_FLOW_BATCH ? n - i : VSW_FLOW_BATCH;

		emc_burst(e, keys + i, hashes + i, k, rules + i, gen);
	}
}

void vsw_flow_emc_note_hits(struct vsw_flow_emc *e, unsigned n)
{
	/* relaxed: single writer, readers want untorn values only */
	vsw_store_relaxed(&e->hits, e->hits + n);
}

void vsw_flow_emc_stats(const struct vsw_flow_emc *e,
			struct vsw_flow_emc_stats *out)
{
	out->n_entries = e->mask + 1;
	out->n_used = vsw_load_relaxed(&e->n_used);
	out->hits = vsw_load_relaxed(&e->hits);
	out->misses = vsw_load_relaxed(&e->misses);
	out->revalidated = vsw_load_relaxed(&e->revalidated);
}
