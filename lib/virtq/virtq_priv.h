/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/virtq: the queue objects and the per-variant entry points
 * that virtq.c dispatches to. The split and packed variants each keep their
 * own state struct in split.h / packed.h.
 */
#ifndef VSW_VIRTQ_PRIV_H
#define VSW_VIRTQ_PRIV_H

#include <endian.h>
#include <stdbool.h>

#include <vsw/virtq.h>

#include "vsw_compiler.h"
#include "split.h"
#include "packed.h"

struct vsw_vq_drv {
	uint64_t features;
	uint32_t num;
	bool packed, event_idx, indirect, in_order;
	bool broken;
	uint16_t ind_max;      /* descriptors per indirect table, 0 = none */
	struct vring_desc *ind_tables; /* host address: num tables of ind_max */
	uint64_t ind_gpa;      /* device address of ind_tables */
	struct vsw_vq_addrs addrs;
	union {
		struct vq_split_drv split;
		struct vq_packed_drv pk;
	};
};

struct vsw_vq_dev {
	uint64_t features;
	uint32_t num;
	bool packed, event_idx, indirect, in_order;
	bool read_only;        /* VSW_VQ_DEV_F_READ_ONLY: WRITE ignored */
	int error;             /* sticky: 0 or negative errno */
	enum vsw_vq_fault fault;
	const struct vsw_mem *mem;
	/*
	 * The region the last buffer was found in (a copy; size 0 = none).
	 * The table cannot change under a queue: vhost-user stops every queue
	 * before it swaps the table, and a new queue starts without a hint.
	 */
	struct vsw_mem_region hint;
	uint32_t hint_perm; /* VSW_IOTLB_* the hint allows */
	/*
	 * IOTLB mode (NULL: off): the domain, the table this pop uses (loaded
	 * once per pop, see vq_dev_tlb_refresh) and the last miss.
	 */
	const struct vsw_iotlb_dom *iotlb;
	const struct vsw_iotlb *tlb;
	uint64_t tlb_gen; /* tlb's generation (0: none): what the hint is of */
	uint64_t miss_iova;
	uint32_t miss_perm;
	struct vsw_vq_addrs addrs;
	/*
	 * Dirty log (vsw_vq_dev_set_log): NULL when off, the one branch the
	 * ring writes pay. log_used: where used-area writes are logged.
	 */
	const struct vsw_vq_log *log;
	uint64_t log_used;
	union {
		struct vq_split_dev split;
		struct vq_packed_dev pk;
	};
};

/* Mark the device queue broken for reason f; returns the errno to report. */
int vq_dev_fail(struct vsw_vq_dev *vq, enum vsw_vq_fault f);

void *vq_dev_map_slow(struct vsw_vq_dev *vq, uint64_t gpa, uint64_t len,
		      uint32_t perm);

/*
 * Host address of [gpa, gpa + len) if it lies inside one region (IOTLB
 * mode: one entry granting perm), else NULL (nothing reported: the caller
 * falls back to vq_dev_map_iov, which reports). Buffers of a queue nearly
 * always come from one region: try that first. off wraps to a huge value
 * for gpa below the hint, so one compare covers both ends without
 * overflow. Without IOTLB the hint allows R and W.
 */
static inline void *vq_dev_map(struct vsw_vq_dev *vq, uint64_t gpa,
			       uint64_t len, uint32_t perm)
{
	uint64_t off = gpa - vq->hint.gpa;

	if (vsw_likely(off < vq->hint.size && len <= vq->hint.size - off &&
		       (perm & ~vq->hint_perm) == 0))
		return (void *)(uintptr_t)(vq->hint.hva + off);
	return vq_dev_map_slow(vq, gpa, len, perm);
}

/* A private fault value: the buffer had no IOTLB entry (miss recorded). */
#define VQ_FAULT_MISS ((enum vsw_vq_fault)VSW_VQ_FAULT__COUNT)

/* The permission a buffer segment needs. */
static inline uint32_t vq_perm(bool write)
{
	return write ? VSW_IOTLB_W : VSW_IOTLB_R;
}

/*
 * Map a buffer into iov[*n ..]: VSW_VQ_FAULT_NONE, VQ_FAULT_MISS, or the
 * fault to report (ADDR, SEGMENTS, IOTLB_PERM).
 */
enum vsw_vq_fault vq_dev_map_iov(struct vsw_vq_dev *vq, uint64_t addr,
				 uint64_t len, uint32_t perm,
				 struct iovec *iov, unsigned max,
				 unsigned *n);
/* An indirect table (read): its host address, or NULL with *f set. */
const void *vq_dev_map_table(struct vsw_vq_dev *vq, uint64_t addr,
			     uint64_t len, enum vsw_vq_fault *f);
/*
 * A pop met VQ_FAULT_MISS: tell the domain. 0 (the chain stays available,
 * pop reports nothing yet) or the fault's errno when the domain gave up.
 */
int vq_dev_miss(struct vsw_vq_dev *vq);
/* Pop's result for fault f of a chain walk (a miss is no fault). */
static inline int vq_dev_walk_fail(struct vsw_vq_dev *vq, enum vsw_vq_fault f)
{
	if (f == VQ_FAULT_MISS)
		return vq_dev_miss(vq);
	return vq_dev_fail(vq, f);
}

/*
 * Mark [area + off, + len) of a ring area the device wrote (logging on).
 * area UINT64_MAX: not logged.
 */
void vq_dev_log_ring(const struct vsw_vq_dev *vq, uint64_t area, uint64_t off,
		     uint64_t len);

/* Little-endian ring fields (VIRTIO 1.x is always little-endian). */
static inline uint16_t vq_le16(uint16_t v) { return le16toh(v); }
static inline uint32_t vq_le32(uint32_t v) { return le32toh(v); }
static inline uint64_t vq_le64(uint64_t v) { return le64toh(v); }

/*
 * Per-variant entry points. Each takes the generic object, already validated
 * by virtq.c (num valid for the type, features masked).
 */
int vq_drv_init_split(struct vsw_vq_drv *vq, void *ring);
void vq_drv_fini_split(struct vsw_vq_drv *vq);
int vq_drv_add_split(struct vsw_vq_drv *vq, const struct vsw_sg *sg,
		     unsigned n_out, unsigned n_in, void *token);
bool vq_drv_kick_prepare_split(struct vsw_vq_drv *vq);
void *vq_drv_get_used_split(struct vsw_vq_drv *vq, uint32_t *len);
void vq_drv_disable_cb_split(struct vsw_vq_drv *vq);
bool vq_drv_enable_cb_split(struct vsw_vq_drv *vq);
bool vq_drv_has_used_split(struct vsw_vq_drv *vq);
unsigned vq_drv_num_free_split(const struct vsw_vq_drv *vq);
void *vq_drv_detach_unused_split(struct vsw_vq_drv *vq);

int vq_drv_init_packed(struct vsw_vq_drv *vq, void *ring);
void vq_drv_fini_packed(struct vsw_vq_drv *vq);
int vq_drv_add_packed(struct vsw_vq_drv *vq, const struct vsw_sg *sg,
		      unsigned n_out, unsigned n_in, void *token);
bool vq_drv_kick_prepare_packed(struct vsw_vq_drv *vq);
void *vq_drv_get_used_packed(struct vsw_vq_drv *vq, uint32_t *len);
void vq_drv_disable_cb_packed(struct vsw_vq_drv *vq);
bool vq_drv_enable_cb_packed(struct vsw_vq_drv *vq);
bool vq_drv_has_used_packed(struct vsw_vq_drv *vq);
unsigned vq_drv_num_free_packed(const struct vsw_vq_drv *vq);
void *vq_drv_detach_unused_packed(struct vsw_vq_drv *vq);

/* Device side: init maps the areas through vq->mem (-EFAULT if outside). */
int vq_dev_init_split(struct vsw_vq_dev *vq);
void vq_dev_fini_split(struct vsw_vq_dev *vq);
int vq_dev_set_base_split(struct vsw_vq_dev *vq, uint32_t base);
uint32_t vq_dev_get_base_split(const struct vsw_vq_dev *vq);
int vq_dev_pop_split(struct vsw_vq_dev *vq, struct vsw_vq_chain *c,
		     struct iovec *iov, unsigned iov_max);
unsigned vq_dev_pop_bufs_split(struct vsw_vq_dev *vq, struct vsw_vq_buf *b,
				unsigned n);
void vq_dev_unpop_split(struct vsw_vq_dev *vq, const struct vsw_vq_chain *c);
int vq_dev_push_burst_split(struct vsw_vq_dev *vq,
			    const struct vsw_vq_used *u, unsigned n);
bool vq_dev_need_notify_split(struct vsw_vq_dev *vq);
void vq_dev_disable_notify_split(struct vsw_vq_dev *vq);
bool vq_dev_enable_notify_split(struct vsw_vq_dev *vq);
bool vq_dev_has_avail_split(struct vsw_vq_dev *vq);
unsigned vq_dev_inflight_split(const struct vsw_vq_dev *vq);

int vq_dev_init_packed(struct vsw_vq_dev *vq);
void vq_dev_fini_packed(struct vsw_vq_dev *vq);
int vq_dev_set_base_packed(struct vsw_vq_dev *vq, uint32_t base);
uint32_t vq_dev_get_base_packed(const struct vsw_vq_dev *vq);
int vq_dev_pop_packed(struct vsw_vq_dev *vq, struct vsw_vq_chain *c,
		      struct iovec *iov, unsigned iov_max);
unsigned vq_dev_pop_bufs_packed(struct vsw_vq_dev *vq, struct vsw_vq_buf *b,
				 unsigned n);
void vq_dev_unpop_packed(struct vsw_vq_dev *vq, const struct vsw_vq_chain *c);
int vq_dev_push_burst_packed(struct vsw_vq_dev *vq,
			     const struct vsw_vq_used *u, unsigned n);
bool vq_dev_need_notify_packed(struct vsw_vq_dev *vq);
void vq_dev_disable_notify_packed(struct vsw_vq_dev *vq);
bool vq_dev_enable_notify_packed(struct vsw_vq_dev *vq);
bool vq_dev_has_avail_packed(struct vsw_vq_dev *vq);
unsigned vq_dev_inflight_packed(const struct vsw_vq_dev *vq);

#endif /* VSW_VIRTQ_PRIV_H */
