/* SPDX-License-Identifier: MIT */
/*
 * Device IOTLB tables (vsw/iotlb.h).
 *
 * Security model: every IOVA, size and host address here came from the
 * front-end (IOTLB updates) or from guest descriptors (lookups). Ranges are
 * checked not to wrap before an end is computed; the builders keep the
 * invariant "sorted, non-overlapping, size > 0" that the lookups rely on, so
 * a lookup returns host memory only inside entries that cover every byte.
 * The host addresses themselves were checked against the mapped guest
 * memory by the caller (lib/vhost-user/vu_iotlb.c) before they got here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vsw/iotlb.h>

#include "vsw_atomic.h"
#include "vsw_compiler.h"

const struct vsw_iotlb *vsw_iotlb_current(const struct vsw_iotlb_dom *d)
{
	/*
	 * Pairs with the release store in vsw_iotlb_publish(): the entries
	 * of the table are visible once its pointer is.
	 */
	return vsw_load_acquire(&d->tbl);
}

struct vsw_iotlb *vsw_iotlb_publish(struct vsw_iotlb_dom *d,
				    struct vsw_iotlb *t)
{
	struct vsw_iotlb *old = d->tbl; /* the control thread is the writer */

	if (t != NULL)
		t->gen = ++d->gen;
	/* pairs with the load-acquire in vsw_iotlb_current() */
	vsw_store_release(&d->tbl, t);
	return old;
}

void vsw_iotlb_free(struct vsw_iotlb *t)
{
	free(t);
}

static uint64_t iotlb_end(const struct vsw_iotlb_entry *e)
{
	return e->iova + e->size; /* cannot wrap: checked on insertion */
}

/* Index of the first entry whose end is above iova. */
static uint32_t iotlb_lower_bound(const struct vsw_iotlb *t, uint64_t iova)
{
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (iotlb_end(&t->e[mid]) <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct vsw_iotlb_entry *vsw_iotlb_find(const struct vsw_iotlb *t,
					     uint64_t iova)
{
	uint32_t i;

	if (t == NULL)
		return NULL;
	i = iotlb_lower_bound(t, iova);
	if (i < t->n && t->e[i].iova <= iova)
		return &t->e[i];
	return NULL;
}

bool vsw_iotlb_overlaps(const struct vsw_iotlb *t, uint64_t iova,
			uint64_t len)
{
	uint64_t end;
	uint32_t i;

	if (t == NULL)
		return false;
	if (len == 0)
		len = 1;
	end = iova > UINT64_MAX - len ? UINT64_MAX : iova + len;
	i = iotlb_lower_bound(t, iova);
	return i < t->n && t->e[i].iova < end;
}

static struct vsw_iotlb *iotlb_alloc(uint32_t cap)
{
	struct vsw_iotlb *t =
		malloc(sizeof(*t) + (size_t)cap * sizeof(t->e[0]));

	if (t != NULL) {
		t->gen = 0;
		t->n = 0;
		t->evict = 0;
	}
	return t;
}

/*
 * Copy the entries of old (may be NULL) into t, cutting [a, b) out of them.
 * Returns whether anything was cut. t has room for old->n + 1 entries (one
 * entry that straddles the whole range becomes two).
 */
static bool iotlb_copy_cut(const struct vsw_iotlb *old, struct vsw_iotlb *t,
			   uint64_t a, uint64_t b)
{
	bool cut = false;
	uint32_t i;

	if (old == NULL)
		return false;
	t->evict = old->evict;
	for (i = 0; i < old->n; i++) {
		const struct vsw_iotlb_entry *e = &old->e[i];
		uint64_t end = iotlb_end(e);

		if (end <= a || e->iova >= b) {
			t->e[t->n++] = *e;
			continue;
		}
		cut = true;
		if (e->iova < a) { /* the part below the hole */
			t->e[t->n] = *e;
			t->e[t->n++].size = a - e->iova;
		}
		if (end > b) { /* the part above it */
			t->e[t->n] = *e;
			t->e[t->n].iova = b;
			t->e[t->n].hva = e->hva + (b - e->iova);
			t->e[t->n++].size = end - b;
		}
	}
	return cut;
}

static bool iotlb_continues(const struct vsw_iotlb_entry *a,
			    const struct vsw_iotlb_entry *b)
{
	/* a's end and hva + size cannot wrap (checked on insertion) */
	return iotlb_end(a) == b->iova && a->hva + a->size == b->hva &&
	       a->perm == b->perm;
}

/* Merge entry i with its neighbours where they continue each other. */
static void iotlb_merge_at(struct vsw_iotlb *t, uint32_t i)
{
	if (i + 1 < t->n && iotlb_continues(&t->e[i], &t->e[i + 1])) {
		t->e[i].size += t->e[i + 1].size;
		memmove(&t->e[i + 1], &t->e[i + 2],
			(t->n - i - 2) * sizeof(t->e[0]));
		t->n--;
	}
	if (i > 0 && iotlb_continues(&t->e[i - 1], &t->e[i])) {
		t->e[i - 1].size += t->e[i].size;
		memmove(&t->e[i], &t->e[i + 1],
			(t->n - i - 1) * sizeof(t->e[0]));
		t->n--;
	}
}

int vsw_iotlb_update(const struct vsw_iotlb *old, uint64_t iova,
		     uint64_t size, uint64_t hva, uint32_t perm,
		     struct vsw_iotlb **out)
{
	struct vsw_iotlb_entry ne = {
		.iova = iova, .size = size, .hva = hva, .perm = perm};
	struct vsw_iotlb *t;
	uint32_t i;

	if (size == 0 || iova > UINT64_MAX - size || hva > UINT64_MAX - size ||
	    hva == 0 || perm == 0 || (perm & ~VSW_IOTLB_RW) != 0)
		return -EINVAL;
	t = iotlb_alloc((old != NULL ? old->n : 0) + 2);
	if (t == NULL)
		return -ENOMEM;
	(void)iotlb_copy_cut(old, t, iova, iova + size);
	i = iotlb_lower_bound(t, iova);
	memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(t->e[0]));
	t->e[i] = ne;
	t->n++;
	iotlb_merge_at(t, i);
	/*
	 * Full: drop the entry at a rotating position, never the new one (a
	 * later access to the dropped range misses and is refilled).
	 */
	while (t->n > VSW_IOTLB_MAX) {
		uint32_t v = t->evict++ % t->n;

		if (t->e[v].iova <= iova && iova < iotlb_end(&t->e[v]))
			continue;
		memmove(&t->e[v], &t->e[v + 1],
			(t->n - v - 1) * sizeof(t->e[0]));
		t->n--;
	}
	*out = t;
	return 0;
}

int vsw_iotlb_invalidate(const struct vsw_iotlb *old, uint64_t iova,
			 uint64_t size, struct vsw_iotlb **out)
{
	uint64_t end = (size == 0 || iova > UINT64_MAX - size) ? UINT64_MAX
							       : iova + size;
	struct vsw_iotlb *t;

	*out = NULL;
	if (!vsw_iotlb_overlaps(old, iova, end - iova))
		return 1;
	t = iotlb_alloc(old->n + 1);
	if (t == NULL)
		return -ENOMEM;
	(void)iotlb_copy_cut(old, t, iova, end);
	*out = t;
	return 0;
}

int vsw_iotlb_map_iov(const struct vsw_iotlb *t, uint64_t iova, uint64_t len,
		      uint32_t perm, struct iovec *iov, unsigned max,
		      unsigned *n, uint64_t *miss)
{
	unsigned k = *n, first = *n;
	uint64_t left = len == 0 ? 1 : len;
	uint32_t i;

	if (iova > UINT64_MAX - left)
		return -EFAULT;
	if (t == NULL) {
		*miss = iova;
		return -ENOENT;
	}
	i = iotlb_lower_bound(t, iova);
	while (left > 0) {
		const struct vsw_iotlb_entry *e = &t->e[i];
		uint64_t off, chunk;
		void *p;

		if (i >= t->n || e->iova > iova) {
			*miss = iova;
			return -ENOENT;
		}
		if (vsw_unlikely((perm & ~e->perm) != 0))
			return -EACCES;
		off = iova - e->iova;
		chunk = e->size - off;
		if (chunk > left)
			chunk = left;
		p = (void *)(uintptr_t)(e->hva + off);
		if (len == 0) {
			/* only the check: no segment */
		} else if (k > first &&
			   (uint8_t *)iov[k - 1].iov_base + iov[k - 1].iov_len ==
				   p) {
			iov[k - 1].iov_len += chunk;
		} else {
			if (k >= max)
				return -ENOBUFS;
			iov[k].iov_base = p;
			iov[k].iov_len = chunk;
			k++;
		}
		iova += chunk;
		left -= chunk;
		i++;
	}
	*n = k;
	return 0;
}

void *vsw_iotlb_translate(const struct vsw_iotlb *t, uint64_t iova,
			  uint64_t len, uint32_t perm, int *err,
			  uint64_t *miss)
{
	struct iovec one;
	unsigned n = 0;
	int ret;

	ret = vsw_iotlb_map_iov(t, iova, len == 0 ? 1 : len, perm, &one, 1,
				&n, miss);
	if (ret == 0)
		return one.iov_base;
	*err = ret == -ENOBUFS ? -EFAULT : ret;
	return NULL;
}
