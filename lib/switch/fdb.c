/* SPDX-License-Identifier: MIT */
/*
 * MAC learning table of a bridge: (VLAN, MAC) -> port id, lock-free.
 *
 * A fixed array of 128-byte buckets of 8 entries; a key lives in the bucket
 * its hash selects (no second choice, no eviction: when a bucket is full the
 * MAC is simply not learned and its frames are flooded until ageing frees a
 * slot, counted in fdb_full).
 *
 * Slot states (the key word): EMPTY -> BUSY (an inserting data thread's
 * CAS) -> key (its release store, after port and seen) -> TOMB (a data
 * thread removing a duplicate) or TOMB2 (the control thread removing it;
 * a TOMB also becomes TOMB2) -> EMPTY (control thread, after sw_sync()).
 * A slot only becomes reusable one grace period after its key was removed,
 * so a reader that matched the key in a batch reads that entry's port
 * before the slot can hold another key: no ABA, no re-check.
 *
 * Port moves and timestamp refreshes are relaxed stores to a live entry:
 * any value a reader sees was valid for that key at some point. Two threads
 * inserting the same new key at once may both claim a slot; each then looks
 * for the other after a full fence and the higher slot is removed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "switch_priv.h"

static inline struct sw_fdb_bucket *fdb_bucket(const struct sw_fdb *fdb,
					       uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;

	return &fdb->b[(h >> 32) & fdb->mask];
}

int sw_fdb_init(struct sw_fdb *fdb, unsigned size)
{
	unsigned n = 1;

	while (n * SW_FDB_WAYS < size)
		n <<= 1;
	fdb->b = aligned_alloc(sizeof(struct sw_fdb_bucket),
			       (size_t)n * sizeof(struct sw_fdb_bucket));
	if (fdb->b == NULL)
		return -ENOMEM;
	memset(fdb->b, 0, (size_t)n * sizeof(struct sw_fdb_bucket));
	fdb->mask = n - 1;
	return 0;
}

void sw_fdb_fini(struct sw_fdb *fdb)
{
	free(fdb->b);
	fdb->b = NULL;
}

static struct sw_fdb_ent *fdb_find(const struct sw_fdb *fdb, uint64_t key)
{
	struct sw_fdb_bucket *b = fdb_bucket(fdb, key);
	unsigned i;

	for (i = 0; i < SW_FDB_WAYS; i++) {
		/*
		 * Acquire pairs with the release store of the key in
		 * sw_fdb_learn(): port and seen written before it are visible.
		 */
		if (vsw_load_acquire(&b->e[i].key) == key)
			return &b->e[i];
	}
	return NULL;
}

uint32_t sw_fdb_lookup(const struct sw_fdb *fdb, uint64_t key)
{
	struct sw_fdb_ent *e = fdb_find(fdb, key);

	return e != NULL ? vsw_load_relaxed(&e->port) : 0;
}

int sw_fdb_learn(struct sw_fdb *fdb, uint64_t key, uint32_t port,
		 uint32_t now)
{
	struct sw_fdb_bucket *b = fdb_bucket(fdb, key);
	struct sw_fdb_ent *e = fdb_find(fdb, key);
	unsigned i, j;

	if (vsw_likely(e != NULL)) {
		/* the common case: no store unless something changed */
		if (vsw_unlikely(vsw_load_relaxed(&e->port) != port))
			vsw_store_relaxed(&e->port, port);
		if (vsw_unlikely(now - vsw_load_relaxed(&e->seen) >= 1000))
			vsw_store_relaxed(&e->seen, now);
		return 0;
	}
	for (i = 0; i < SW_FDB_WAYS; i++) {
		uint64_t expect = SW_FDB_EMPTY;

		if (vsw_load_relaxed(&b->e[i].key) != SW_FDB_EMPTY)
			continue;
		/*
		 * Relaxed CAS: the slot was reclaimed by the control thread
		 * after a grace period; nobody reads port/seen of a BUSY slot.
		 */
		if (__atomic_compare_exchange_n(
			    &b->e[i].key, &expect, SW_FDB_BUSY, false,
			    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			break;
	}
	if (i == SW_FDB_WAYS)
		return -1;
	vsw_store_relaxed(&b->e[i].port, port);
	vsw_store_relaxed(&b->e[i].seen, now);
	/* Release: pairs with the acquire load in fdb_find(). */
	vsw_store_release(&b->e[i].key, key);
	/*
	 * Store-load ordering against a concurrent inserter of the same key
	 * doing the same: at least one of us sees the other's key.
	 */
	vsw_fence_seq_cst();
	for (j = 0; j < SW_FDB_WAYS; j++) {
		uint64_t expect = key;
		unsigned hi = j > i ? j : i;

		if (j == i || vsw_load_relaxed(&b->e[j].key) != key)
			continue;
		__atomic_compare_exchange_n(&b->e[hi].key, &expect, SW_FDB_TOMB,
					    false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	return 1;
}

unsigned sw_fdb_sweep(struct vsw_switch *sw, struct sw_fdb *fdb,
		      bool (*pred)(const struct sw_fdb_ent *e, void *arg),
		      void *arg)
{
	unsigned bi, i, removed = 0, dead = 0;

	for (bi = 0; bi <= fdb->mask; bi++) {
		struct sw_fdb_bucket *b = &fdb->b[bi];

		for (i = 0; i < SW_FDB_WAYS; i++) {
			struct sw_fdb_ent *e = &b->e[i];
			uint64_t k = vsw_load_relaxed(&e->key);

			if (k == SW_FDB_TOMB) {
				/* only this thread moves TOMB on */
				vsw_store_relaxed(&e->key, SW_FDB_TOMB2);
				dead++;
				continue;
			}
			if (k == SW_FDB_TOMB2) {
				dead++; /* left by a sweep whose sync failed */
				continue;
			}
			if (!(k & SW_FDB_KEY_BIT))
				continue;
			if (pred != NULL && !pred(e, arg))
				continue;
			/* a data thread may tomb it as a duplicate meanwhile */
			if (__atomic_compare_exchange_n(
				    &e->key, &k, SW_FDB_TOMB2, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				removed++;
			else if (k == SW_FDB_TOMB)
				vsw_store_relaxed(&e->key, SW_FDB_TOMB2);
			dead++;
		}
	}
	if (dead == 0)
		return 0;
	/*
	 * Readers that matched a removed key finish their batch first. A
	 * stuck thread: the slots stay TOMB2 (unusable, never reused) until
	 * a later sweep's grace period.
	 */
	if (sw_sync(sw) < 0)
		return removed;
	for (bi = 0; bi <= fdb->mask; bi++) {
		struct sw_fdb_bucket *b = &fdb->b[bi];

		for (i = 0; i < SW_FDB_WAYS; i++)
			if (vsw_load_relaxed(&b->e[i].key) == SW_FDB_TOMB2)
				vsw_store_relaxed(&b->e[i].key, SW_FDB_EMPTY);
	}
	return removed;
}
