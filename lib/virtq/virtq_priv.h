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

void *vq_dev_map_slow(struct vsw_vq_dev *vq, uint64_t gpa, uint64_t len);

/*
 * Host address of [gpa, gpa + len) if it lies inside one region, else NULL.
 * Buffers of a queue nearly always come from one region: try that first.
 * off wraps to a huge value for gpa below the hint, so one compare covers
 * both ends without overflow.
 */
static inline void *vq_dev_map(struct vsw_vq_dev *vq, uint64_t gpa,
			       uint64_t len)
{
	uint64_t off = gpa - vq->hint.gpa;

	if (vsw_likely(off < vq->hint.size && len <= vq->hint.size - off))
		return (void *)(uintptr_t)(vq->hint.hva + off);
	return vq_dev_map_slow(vq, gpa, len);
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
