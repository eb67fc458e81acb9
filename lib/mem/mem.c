/* SPDX-License-Identifier: MIT */
/*
 * Guest memory region table.
 *
 * Security model: gpa and len arrive from guest descriptors; nothing about
 * them is trusted. Every range is checked against region bounds with
 * overflow-safe arithmetic (end = gpa + len computed only after checking it
 * cannot wrap), so a lookup either returns host memory wholly inside a region
 * or fails.
 */
#include <errno.h>
#include <string.h>

#include <vsw/mem.h>

#include "vsw_compiler.h"

void vsw_mem_init(struct vsw_mem *m)
{
	memset(m, 0, sizeof(*m));
}

/* Index of the first region whose end is above gpa (regions are sorted). */
static unsigned mem_lower_bound(const struct vsw_mem *m, uint64_t gpa)
{
	unsigned lo = 0, hi = m->nregions;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct vsw_mem_region *r = &m->regions[mid];

		/* r->gpa + r->size cannot wrap: checked in vsw_mem_add */
		if (r->gpa + r->size <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vsw_mem_add(struct vsw_mem *m, uint64_t gpa, uint64_t size, void *hva,
		uint64_t mmap_offset)
{
	uint64_t h = (uint64_t)(uintptr_t)hva;
	unsigned i;

	if (size == 0 || gpa > UINT64_MAX - size || h > UINT64_MAX - size ||
	    hva == NULL)
		return -EINVAL;
	if (m->nregions >= VSW_MEM_MAX_REGIONS)
		return -ENOSPC;
	i = mem_lower_bound(m, gpa);
	/* regions[i] is the first that ends above gpa: it must start at or
	 * after gpa + size, or the two overlap. */
	if (i < m->nregions && m->regions[i].gpa < gpa + size)
		return -EINVAL;
	memmove(&m->regions[i + 1], &m->regions[i],
		(m->nregions - i) * sizeof(m->regions[0]));
	m->regions[i] = (struct vsw_mem_region){
		.gpa = gpa, .size = size, .hva = h, .mmap_offset = mmap_offset};
	m->nregions++;
	return 0;
}

int vsw_mem_remove(struct vsw_mem *m, uint64_t gpa, uint64_t size)
{
	unsigned i = mem_lower_bound(m, gpa);

	if (i >= m->nregions || m->regions[i].gpa != gpa ||
	    m->regions[i].size != size)
		return -ENOENT;
	memmove(&m->regions[i], &m->regions[i + 1],
		(m->nregions - i - 1) * sizeof(m->regions[0]));
	m->nregions--;
	return 0;
}

const struct vsw_mem_region *vsw_mem_find(const struct vsw_mem *m,
					  uint64_t gpa)
{
	unsigned i = mem_lower_bound(m, gpa);

	if (i < m->nregions && m->regions[i].gpa <= gpa)
		return &m->regions[i];
	return NULL;
}

void *vsw_mem_translate(const struct vsw_mem *m, uint64_t gpa, uint64_t len)
{
	const struct vsw_mem_region *r;

	if (len == 0)
		len = 1;
	if (gpa > UINT64_MAX - (len - 1))
		return NULL;
	r = vsw_mem_find(m, gpa);
	/* gpa >= r->gpa; the range fits if len <= bytes left in r */
	if (r == NULL || len > r->size - (gpa - r->gpa))
		return NULL;
	return (void *)(uintptr_t)(r->hva + (gpa - r->gpa));
}

int vsw_mem_map_iov(const struct vsw_mem *m, uint64_t gpa, uint64_t len,
		    struct iovec *iov, unsigned max, unsigned *n)
{
	unsigned k = *n;

	if (len > 0 && gpa > UINT64_MAX - (len - 1))
		return -EFAULT;
	if (len == 0)
		return vsw_mem_find(m, gpa) ? 0 : -EFAULT;
	while (len > 0) {
		const struct vsw_mem_region *r = vsw_mem_find(m, gpa);
		uint64_t off, chunk;

		if (r == NULL)
			return -EFAULT;
		if (k >= max)
			return -ENOBUFS;
		off = gpa - r->gpa;
		chunk = r->size - off;
		if (chunk > len)
			chunk = len;
		iov[k].iov_base = (void *)(uintptr_t)(r->hva + off);
		iov[k].iov_len = chunk;
		k++;
		gpa += chunk;
		len -= chunk;
	}
	*n = k;
	return 0;
}

int vsw_mem_hva_to_gpa(const struct vsw_mem *m, const void *p, uint64_t len,
		       uint64_t *gpa)
{
	uint64_t h = (uint64_t)(uintptr_t)p;
	unsigned i;

	if (len == 0)
		len = 1;
	for (i = 0; i < m->nregions; i++) {
		const struct vsw_mem_region *r = &m->regions[i];

		if (h >= r->hva && h - r->hva < r->size &&
		    len <= r->size - (h - r->hva)) {
			*gpa = r->gpa + (h - r->hva);
			return 0;
		}
	}
	return -EFAULT;
}
