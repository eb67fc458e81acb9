/* SPDX-License-Identifier: MIT */
/*
 * Packet pool: one metadata array, one data area per size class, and a LIFO
 * stack of free packets per class. LIFO hands out the most recently freed
 * (cache-warm) buffers first. No lock, no atomic: see the ownership rule in
 * vsw/pkt.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vsw/pkt.h>

#include "vsw_compiler.h"

#define PKT_POOL_MAX_COUNT (1U << 24)

struct pkt_class {
	struct vsw_pkt **stack; /* free packets, stack[0 .. top) */
	uint32_t top;
	uint32_t count;	  /* packets of this class */
	uint32_t buf_len; /* headroom + room */
	uint8_t *data;	  /* count * buf_len bytes */
	size_t data_bytes;
};

struct vsw_pkt_pool {
	struct pkt_class cls[VSW_PKT__NCLASS];
	struct vsw_pkt *meta; /* n_small + n_large, cache-line aligned */
};

static void pkt_pool_free_mem(struct vsw_pkt_pool *p)
{
	unsigned c;

	for (c = 0; c < VSW_PKT__NCLASS; c++) {
		free(p->cls[c].stack);
		if (p->cls[c].data != NULL)
			munmap(p->cls[c].data, p->cls[c].data_bytes);
	}
	free(p->meta);
	free(p);
}

int vsw_pkt_pool_create(const struct vsw_pkt_pool_config *cfg,
			struct vsw_pkt_pool **out)
{
	static const uint32_t room[VSW_PKT__NCLASS] = {
		[VSW_PKT_SMALL] = VSW_PKT_SMALL_ROOM,
		[VSW_PKT_LARGE] = VSW_PKT_LARGE_ROOM,
	};
	struct vsw_pkt_pool *p;
	uint32_t counts[VSW_PKT__NCLASS];
	struct vsw_pkt *m;
	size_t total;
	unsigned c, i;

	if (cfg == NULL || out == NULL || cfg->n_small == 0 ||
	    cfg->n_small > PKT_POOL_MAX_COUNT ||
	    cfg->n_large > PKT_POOL_MAX_COUNT)
		return -EINVAL;
	counts[VSW_PKT_SMALL] = cfg->n_small;
	counts[VSW_PKT_LARGE] = cfg->n_large;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	total = (size_t)cfg->n_small + cfg->n_large;
	p->meta = aligned_alloc(VSW_CACHE_LINE, total * sizeof(*p->meta));
	if (p->meta == NULL)
		goto nomem;
	memset(p->meta, 0, total * sizeof(*p->meta));
	m = p->meta;
	for (c = 0; c < VSW_PKT__NCLASS; c++) {
		struct pkt_class *k = &p->cls[c];

		k->count = counts[c];
		k->buf_len = VSW_PKT_HEADROOM + room[c];
		if (k->count == 0)
			continue;
		k->stack = calloc(k->count, sizeof(*k->stack));
		if (k->stack == NULL)
			goto nomem;
		/* page-aligned, zero-filled on first touch only */
		k->data_bytes = (size_t)k->count * k->buf_len;
		k->data = mmap(NULL, k->data_bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (k->data == MAP_FAILED) {
			k->data = NULL;
			goto nomem;
		}
		/* stacked in reverse so the first allocations go in order */
		for (i = 0; i < k->count; i++, m++) {
			m->buf = k->data + (size_t)i * k->buf_len;
			m->buf_len = k->buf_len;
			m->cls = (uint8_t)c;
			m->pool = p;
			k->stack[k->count - 1 - i] = m;
		}
		k->top = k->count;
	}
	*out = p;
	return 0;
nomem:
	pkt_pool_free_mem(p);
	return -ENOMEM;
}

void vsw_pkt_pool_destroy(struct vsw_pkt_pool *p)
{
	if (p == NULL)
		return;
	pkt_pool_free_mem(p);
}

unsigned vsw_pkt_pool_avail(const struct vsw_pkt_pool *p,
			    enum vsw_pkt_class cls)
{
	if ((unsigned)cls >= VSW_PKT__NCLASS)
		return 0;
	return p->cls[cls].top;
}

static inline void pkt_reset(struct vsw_pkt *pkt)
{
	pkt->off = VSW_PKT_HEADROOM;
	pkt->len = 0;
	pkt->in_port = 0;
	pkt->flags = 0;
	memset(&pkt->vnet, 0, sizeof(pkt->vnet));
	pkt->user = 0;
}

unsigned vsw_pkt_alloc_burst(struct vsw_pkt_pool *p, struct vsw_pkt **pkts,
			     unsigned n)
{
	struct pkt_class *k = &p->cls[VSW_PKT_SMALL];
	unsigned i;

	if (n > k->top)
		n = k->top;
	for (i = 0; i < n; i++) {
		pkts[i] = k->stack[--k->top];
		pkt_reset(pkts[i]);
	}
	return n;
}

struct vsw_pkt *vsw_pkt_alloc_len(struct vsw_pkt_pool *p, uint32_t len)
{
	struct pkt_class *k;
	struct vsw_pkt *pkt;

	if (len <= VSW_PKT_SMALL_ROOM)
		k = &p->cls[VSW_PKT_SMALL];
	else if (len <= VSW_PKT_LARGE_ROOM)
		k = &p->cls[VSW_PKT_LARGE];
	else
		return NULL;
	if (vsw_unlikely(k->top == 0))
		return NULL;
	pkt = k->stack[--k->top];
	pkt_reset(pkt);
	return pkt;
}

void vsw_pkt_free_burst(struct vsw_pkt **pkts, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct vsw_pkt *pkt = pkts[i];
		struct pkt_class *k;

		if (pkt == NULL)
			continue;
		k = &pkt->pool->cls[pkt->cls];
		/* a double free would overflow the stack: refuse it */
		if (vsw_unlikely(k->top >= k->count))
			abort();
		k->stack[k->top++] = pkt;
	}
}
