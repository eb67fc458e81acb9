/* SPDX-License-Identifier: MIT */
/*
 * Test harness: guest memory backed by a memfd, described by a vsw_mem table.
 *
 * The GPA range [gpa_base, gpa_base + size) is split into nregions adjacent
 * regions, each mmap'd separately from the same memfd, so adjacent regions
 * are contiguous in GPA space but not in host address space (as with QEMU's
 * RAM blocks). A bump allocator hands out guest buffers.
 */
#ifndef TH_MEM_H
#define TH_MEM_H

#include <stddef.h>
#include <stdint.h>

#include <vsw/mem.h>

struct th_mem {
	int fd;
	size_t size;
	uint64_t gpa_base;
	unsigned nregions;
	void *maps[8];
	struct vsw_mem mem;
	uint64_t brk; /* next free GPA */
};

/* 0 or negative errno. nregions 1..8, size divisible by nregions * 4096. */
int th_mem_create(struct th_mem *m, size_t size, uint64_t gpa_base,
		  unsigned nregions);
void th_mem_destroy(struct th_mem *m);

/* Allocate len bytes aligned to align; returns the GPA (aborts if full). */
uint64_t th_alloc(struct th_mem *m, size_t len, size_t align);

/* Host pointer of [gpa, gpa + len) (must be inside one region), or NULL. */
void *th_ptr(struct th_mem *m, uint64_t gpa, size_t len);

/* Copy to / from guest memory across regions; 0 or -EFAULT. */
int th_write(struct th_mem *m, uint64_t gpa, const void *src, size_t len);
int th_read(struct th_mem *m, uint64_t gpa, void *dst, size_t len);

/* GPA of the last byte + 1 of the last region (first unmapped GPA above). */
static inline uint64_t th_end(const struct th_mem *m)
{
	return m->gpa_base + m->size;
}

#endif
