/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the flow table (lib/flow only).
 *
 * Publication protocol (see also vsw/flow.h, "Threads and memory"):
 *  - Data threads reach the rules through cls.vec (the subtables sorted by
 *    their highest priority, an immutable array), each subtable's bucket
 *    array (cls_subtable.tab) and the bucket chains (rule->next[slot]).
 *    Every one of these pointers is written by the control thread with a
 *    release store after the object it points to is fully built, and read
 *    by data threads with an acquire load.
 *  - A rule's match and priority never change after publication; its
 *    actions pointer is swapped by mod-flows (release / acquire).
 *  - Unlinked objects go to the table's garbage list and are freed only
 *    after the sync hook returned (flow_gc_reclaim()).
 *  - Resizing a subtable's bucket array must not disturb readers walking
 *    the old chains: a rule has two chain links, next[0] and next[1], and
 *    a bucket array uses link tab->slot. A resize builds the new array on
 *    the other slot, publishes it, and the old array goes to the garbage.
 *    Before the next resize of the same subtable reuses the old slot, the
 *    old array must have been reclaimed (a grace period has passed), which
 *    cls_resize() ensures.
 *  - table.gen counts adds and deletes; the EMC trusts an entry only if it
 *    was filled at the current generation. The control thread bumps gen
 *    with a release store after linking / unlinking (pairs with the acquire
 *    load at the start of vsw_flow_emc_lookup_burst()).
 */
#ifndef FLOW_PRIV_H
#define FLOW_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <vsw/flow.h>

#include "vsw_atomic.h"
#include "vsw_compiler.h"

struct cls_subtable;

struct vsw_flow_rule {
	/* immutable after publication */
	struct vsw_flow_match match;
	uint32_t hash; /* of the masked key, in its subtable */
	uint16_t priority;
	uint16_t idle_timeout;
	uint16_t hard_timeout;
	uint8_t table;	/* immutable */
	uint16_t flags; /* VSW_FLOW_F_*; control thread */
	uint64_t cookie;
	uint64_t created_ms;
	/* chain links, one per bucket-array slot (release / acquire) */
	struct vsw_flow_rule *next[2];
	struct vsw_flow_actions *actions; /* release / acquire */
	/* counters: relaxed atomic RMW from data threads */
	uint64_t n_packets;
	uint64_t n_bytes;
	uint64_t used_ms; /* relaxed */
	/* control thread only */
	struct cls_subtable *st;
	struct vsw_flow_rule *all_prev, *all_next;
	uint64_t seq; /* insertion order, for dumps */
};

struct cls_buckets {
	uint32_t mask; /* buckets - 1 */
	uint32_t slot; /* which rule->next[] this array chains through */
	struct vsw_flow_rule *b[];
};

struct cls_subtable {
	struct vsw_flow_key mask;	   /* immutable */
	uint8_t words[VSW_FLOW_KEY_WORDS]; /* indices of non-zero mask words */
	uint8_t n_words;
	/* the same for the tunnel extension; n_ext 0 for most subtables */
	uint8_t n_ext;
	uint8_t ext_words[VSW_PKT_TUN_EXT_WORDS];
	struct vsw_pkt_tun_ext ext_mask; /* immutable */
	struct cls_buckets *tab; /* release / acquire */
	/* control thread only */
	unsigned n_rules;
	unsigned max_prio;
	unsigned n_at_max;		/* rules at max_prio */
	uint64_t resize_epoch;		/* table epoch of the last resize */
	struct cls_subtable *dead_next; /* emptied, still in the vec */
};

struct cls_vec_ent {
	struct cls_subtable *st;
	unsigned max_prio;
};

struct cls_vec {
	unsigned n;
	struct cls_vec_ent e[];
};

/*
 * One table's classifier. vec is NULL until the table's first rule (table 0:
 * published empty at creation), and a published vec is only ever replaced,
 * never withdrawn, so a reader that saw one keeps a valid list.
 */
struct flow_cls {
	struct cls_vec *vec; /* release / acquire */
	/* control thread only */
	struct cls_subtable **sts;
	unsigned n_sts, cap_sts;
	bool vec_dirty;		   /* sts changed since vec was published */
	struct cls_vec *spare;	   /* the next vec, allocated ahead */
	struct cls_subtable *dead; /* emptied subtables the vec still lists */
	unsigned spare_cap;
};

struct vsw_flow_table {
	/* table 0 first: the data path's lookup stays at the same offsets */
	struct flow_cls cls[VSW_FLOW_N_TABLES];
	struct vsw_flow_table_config cfg;
	uint64_t gen; /* release / acquire, see above */
	/* control thread only */
	struct vsw_flow_rule *all; /* every rule, newest first */
	unsigned n_rules;
	unsigned n_timed; /* rules with an idle or hard timeout */
	uint64_t seq;
	uint64_t epoch; /* grace periods completed by flow_gc_reclaim() */
	void **garbage;
	unsigned n_garbage, cap_garbage;
	uint64_t last_now_ms; /* of the last call given a clock (del has none) */
	vsw_flow_removed_cb removed_cb;
	void *removed_arg;
};

/* Reclaim garbage once this much piled up (each reclaim is one sync). */
#define FLOW_GC_BATCH 256

/* flow_key.c */
static inline uint64_t flow_mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static inline uint32_t flow_fin(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* flow_cls.c */
#define VSW_FLOW_BATCH 32
/* table 0 (the EMC's) */
void cls_lookup_batch(const struct vsw_flow_table *t,
		      const struct vsw_flow_key *const *keys, unsigned n,
		      struct vsw_flow_rule **out);
struct vsw_flow_rule *cls_find_exact(struct vsw_flow_table *t, unsigned table,
				     const struct vsw_flow_match *m,
				     unsigned priority);
/* Into / out of the classifier of table r->table. */
int cls_insert(struct vsw_flow_table *t, struct vsw_flow_rule *r);
void cls_remove(struct vsw_flow_table *t, struct vsw_flow_rule *r);
/* Subtables of every table. */
unsigned cls_n_subtables(const struct vsw_flow_table *t);
/*
 * Make sure the next cls_publish() cannot fail (one subtable more than
 * now); an add calls it before changing anything. 0 or -ENOMEM.
 */
int cls_reserve(struct flow_cls *c);
/*
 * For every table: republish the subtable vector if priorities / membership changed, then
 * queue the emptied subtables it no longer lists for reclamation. Without
 * a reserved vector and memory for one, the old vector stays: still safe,
 * since it only lists live or dead-but-allocated subtables, and its
 * priorities are only ever too high after deletes (adds reserve first).
 */
void cls_publish(struct vsw_flow_table *t);
void cls_destroy(struct vsw_flow_table *t);

/* flow_key.c */
/* The key's tunnel extension, or an all-zero one. */
const struct vsw_pkt_tun_ext *flow_key_ext(const struct vsw_flow_key *key);
/* Does m look at the tunnel extension? */
bool flow_ext_masked(const struct vsw_flow_match *m);
/* Can one frame match both a and b? */
bool flow_match_overlap(const struct vsw_flow_match *a,
			const struct vsw_flow_match *b);
/* Does every frame @narrow matches also match @wide? */
bool flow_mask_is_subset(const struct vsw_flow_match *narrow,
			 const struct vsw_flow_match *wide);

/* flow_gc.c */
/* Queue p (malloc'd) to be freed after the next grace period. */
void flow_gc_push(struct vsw_flow_table *t, void *p);
/* Sync, then free the garbage. */
void flow_gc_reclaim(struct vsw_flow_table *t);

#endif /* FLOW_PRIV_H */
