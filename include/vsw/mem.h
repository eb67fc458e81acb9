/* SPDX-License-Identifier: MIT */
/*
 * vsw_mem: the guest memory region table.
 *
 * A device reaches guest buffers through guest physical addresses (GPAs) that
 * the driver wrote into descriptors. This table maps GPA ranges to host
 * virtual addresses (where the regions are mmap'd in this process) and is the
 * only way the device side turns a GPA into a pointer. Every lookup checks the
 * whole [gpa, gpa + len) range, so a descriptor can never make the device read
 * or write outside a region, whatever the driver wrote.
 *
 * Threads: the table is written by the control path only while no data-plane
 * thread uses it (vhost-user stops the rings around SET_MEM_TABLE); lookups
 * are const and may run concurrently from any number of threads.
 */
#ifndef VSW_MEM_H
#define VSW_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* vhost-user's CONFIGURE_MEM_SLOTS lets QEMU use up to this many regions. */
#define VSW_MEM_MAX_REGIONS 64

struct vsw_mem_region {
	uint64_t gpa;         /* guest physical start */
	uint64_t size;        /* bytes, > 0 */
	uint64_t hva;         /* host virtual address of gpa in this process */
	uint64_t mmap_offset; /* offset of gpa in the backing fd (informational) */
};

struct vsw_mem {
	uint32_t nregions;
	/* sorted by gpa, never overlapping */
	struct vsw_mem_region regions[VSW_MEM_MAX_REGIONS];
};

/* Empty the table. */
void vsw_mem_init(struct vsw_mem *m);

/*
 * Add a region. Returns 0, -EINVAL (size 0, gpa + size or hva + size wraps
 * 64 bits, or overlaps an existing region), or -ENOSPC (table full).
 */
int vsw_mem_add(struct vsw_mem *m, uint64_t gpa, uint64_t size, void *hva,
		uint64_t mmap_offset);

/* Remove the region that starts at gpa with exactly this size: 0 or -ENOENT. */
int vsw_mem_remove(struct vsw_mem *m, uint64_t gpa, uint64_t size);

/* The region holding gpa, or NULL. */
const struct vsw_mem_region *vsw_mem_find(const struct vsw_mem *m,
					  uint64_t gpa);

/*
 * Host pointer for [gpa, gpa + len) if the whole range lies inside one region,
 * else NULL (also when gpa + len overflows). len 0 is treated as 1.
 */
void *vsw_mem_translate(const struct vsw_mem *m, uint64_t gpa, uint64_t len);

/*
 * Map [gpa, gpa + len) into host segments, splitting where the range crosses
 * from one region into an adjacent one (contiguous in GPA space). Appends to
 * iov[*n], iov[*n + 1], ... up to iov[max - 1] and advances *n.
 * Returns 0; -EFAULT if any byte is outside every region or gpa + len
 * overflows 64 bits; -ENOBUFS if more than max - *n segments are needed.
 * len 0 appends nothing and returns 0 (after checking gpa lies in a region).
 */
int vsw_mem_map_iov(const struct vsw_mem *m, uint64_t gpa, uint64_t len,
		    struct iovec *iov, unsigned max, unsigned *n);

/*
 * Reverse lookup for a driver that owns the memory: the GPA of host pointer
 * p for a range of len bytes inside one region. Returns 0 and sets *gpa, or
 * -EFAULT.
 */
int vsw_mem_hva_to_gpa(const struct vsw_mem *m, const void *p, uint64_t len,
		       uint64_t *gpa);

#endif /* VSW_MEM_H */
