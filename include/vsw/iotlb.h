/* SPDX-License-Identifier: MIT */
/*
 * vsw_iotlb: a device IOTLB, the translation cache of a device behind a
 * virtual IOMMU (VIRTIO_F_ACCESS_PLATFORM).
 *
 * With the feature on, every address the driver writes into a ring is an
 * I/O virtual address (IOVA). The front-end (QEMU) owns the IOMMU and tells
 * the device which IOVA ranges it may reach, with which permission; the
 * device caches those entries here and asks for the ones it lacks (an IOTLB
 * miss). An entry maps [iova, iova + size) to host memory at hva with
 * VSW_IOTLB_R and / or VSW_IOTLB_W.
 *
 * A struct vsw_iotlb is an immutable snapshot: entries sorted by iova, never
 * overlapping, adjacent entries that continue each other (iova, hva and
 * permission) merged into one. The control thread never changes a published
 * table: it builds a new one (vsw_iotlb_update / vsw_iotlb_invalidate),
 * publishes it in a struct vsw_iotlb_dom, waits for a grace period, and only
 * then frees the old one (RCU-like, docs/concurrency.md I1). Lookups are
 * const and run on any number of data threads at once.
 *
 * Security model: iova, size, len and hva come from the front-end or from
 * guest descriptors. Every range is checked for 64-bit wrap before its end
 * is computed; a lookup returns host memory only inside entries that cover
 * every byte of the range with the permission asked for.
 */
#ifndef VSW_IOTLB_H
#define VSW_IOTLB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Permission bits: the values of VHOST_ACCESS_RO / WO / RW. */
#define VSW_IOTLB_R 0x1u
#define VSW_IOTLB_W 0x2u
#define VSW_IOTLB_RW (VSW_IOTLB_R | VSW_IOTLB_W)

/*
 * Most entries one table keeps (after merging). An update beyond it evicts
 * an older entry: the device then misses on it again, nothing breaks. DPDK
 * keeps 2048 per queue; this table is shared by the queues of a device.
 */
#define VSW_IOTLB_MAX 4096

struct vsw_iotlb_entry {
	uint64_t iova;
	uint64_t size; /* > 0; iova + size does not wrap */
	uint64_t hva;  /* host address of iova in this process */
	uint32_t perm; /* VSW_IOTLB_R | VSW_IOTLB_W, not 0 */
	uint32_t pad;
};

struct vsw_iotlb {
	uint64_t gen;	/* set by vsw_iotlb_publish: unique per domain */
	uint32_t n;
	uint32_t evict; /* rotating eviction position */
	struct vsw_iotlb_entry e[];
};

/*
 * An IOVA the device needs and has no entry for. Called on a data thread
 * (from vsw_vq_dev_pop) or the control thread. Returns 0 when the device
 * should wait and retry (the request is sent or already pending), or a
 * negative errno when it should give up (the queue then faults).
 */
typedef int vsw_iotlb_miss_fn(void *opaque, uint64_t iova, uint32_t perm);

/*
 * What a device queue is given: the current table and where misses go.
 * tbl is written by the control thread with vsw_iotlb_publish() and read by
 * data threads with vsw_iotlb_current().
 */
struct vsw_iotlb_dom {
	struct vsw_iotlb *tbl; /* NULL: empty */
	/*
	 * Tables published so far (control thread). A reader tells tables
	 * apart by their gen, never by address: a freed table's memory may
	 * come back from malloc as the next one.
	 */
	uint64_t gen;
	vsw_iotlb_miss_fn *miss;
	void *opaque;
};

/* Data thread: the table to use now (acquire; pairs with publish). */
const struct vsw_iotlb *vsw_iotlb_current(const struct vsw_iotlb_dom *d);
/*
 * Control thread: give t (may be NULL) the next generation, make it current
 * (release), return the previous table, which the caller frees after a
 * grace period.
 */
struct vsw_iotlb *vsw_iotlb_publish(struct vsw_iotlb_dom *d,
				    struct vsw_iotlb *t);

/* Accepts NULL. */
void vsw_iotlb_free(struct vsw_iotlb *t);

/*
 * A new table: old (NULL for empty) with [iova, iova + size) mapped to hva
 * with perm; whatever old mapped there is replaced (the newest entry wins).
 * 0 with *out set; -EINVAL (size 0, iova + size or hva + size wraps, perm 0
 * or unknown bits); -ENOMEM.
 */
int vsw_iotlb_update(const struct vsw_iotlb *old, uint64_t iova,
		     uint64_t size, uint64_t hva, uint32_t perm,
		     struct vsw_iotlb **out);

/*
 * A new table without any byte of [iova, iova + size): entries partly
 * inside are cut. size 0, or a range that would wrap, means "up to the top
 * of the address space" (an invalidation can only remove). 0 with *out set,
 * 1 if nothing was mapped there (*out NULL: keep old), -ENOMEM.
 */
int vsw_iotlb_invalidate(const struct vsw_iotlb *old, uint64_t iova,
			 uint64_t size, struct vsw_iotlb **out);

/* Whether any entry of t overlaps [iova, iova + len) (len 0 = 1). */
bool vsw_iotlb_overlaps(const struct vsw_iotlb *t, uint64_t iova,
			uint64_t len);

/* The entry holding iova, or NULL (t may be NULL). */
const struct vsw_iotlb_entry *vsw_iotlb_find(const struct vsw_iotlb *t,
					     uint64_t iova);

/*
 * Map [iova, iova + len) with permission perm into host segments (entries
 * contiguous in host memory give one segment), appending at iov[*n] up to
 * iov[max - 1] and advancing *n. Returns 0; -ENOENT if a byte has no entry
 * (*miss = the first such IOVA); -EACCES if an entry lacks perm; -EFAULT if
 * iova + len wraps; -ENOBUFS if more segments are needed. len 0 checks the
 * byte at iova. On error *n is unchanged.
 */
int vsw_iotlb_map_iov(const struct vsw_iotlb *t, uint64_t iova, uint64_t len,
		      uint32_t perm, struct iovec *iov, unsigned max,
		      unsigned *n, uint64_t *miss);

/*
 * The host address of [iova, iova + len) if it is one contiguous host range
 * with perm, else NULL with *err as for vsw_iotlb_map_iov (-EFAULT also when
 * the range is mapped but not contiguous in host memory).
 */
void *vsw_iotlb_translate(const struct vsw_iotlb *t, uint64_t iova,
			  uint64_t len, uint32_t perm, int *err,
			  uint64_t *miss);

#endif /* VSW_IOTLB_H */
