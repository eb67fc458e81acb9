/* SPDX-License-Identifier: MIT */
/* Private to lib/virtq: state of the split ring variant (VIRTIO 1.2 §2.6). */
#ifndef VSW_VIRTQ_SPLIT_H
#define VSW_VIRTQ_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

/* Driver bookkeeping for one chain, indexed by its head descriptor. */
struct vq_split_head {
	void *token;	 /* NULL: head not in flight */
	uint64_t in_len; /* device-writable bytes: the largest valid used len */
	uint16_t ndesc;	 /* ring descriptors the chain took */
};

struct vq_split_drv {
	/* ring memory (host addresses), written by create, never moved */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t mask; /* num - 1 */
	/* free descriptors, linked through next[] (private, not the ring) */
	uint16_t free_head;
	uint16_t num_free;
	uint16_t *next;		     /* [num] */
	struct vq_split_head *heads; /* [num] */
	uint16_t avail_idx; /* shadow of avail->idx (we are its only writer) */
	uint16_t kick_old;  /* avail_idx at the previous kick_prepare */
	uint16_t last_used; /* next used entry to read */
	uint16_t used_idx;  /* last value read from used->idx */
	uint16_t avail_flags; /* shadow of avail->flags (no EVENT_IDX) */
	bool cb_disabled;
	bool in_order; /* VIRTIO_F_IN_ORDER: ring-order descriptors */
	/*
	 * VIRTIO_F_IN_ORDER: heads in the order they were made available.
	 * A used entry for id X completes every earlier head first; while
	 * that is being handed out, io_pending holds X and its len.
	 */
	uint16_t *order;     /* [num] */
	uint16_t order_head; /* free-running; slot = value & mask */
	uint16_t order_tail;
	bool io_pending;
	uint16_t io_id;
	uint32_t io_len;
};

struct vq_split_dev {
	/* ring memory (host addresses), translated once by init */
	const struct vring_desc *desc;
	const struct vring_avail *avail;
	struct vring_used *used;
	uint16_t mask;	     /* num - 1 */
	uint16_t last_avail; /* next avail entry to pop */
	uint16_t avail_idx;  /* last validated value of avail->idx */
	uint16_t used_idx;   /* shadow of used->idx (we are its writer) */
	uint16_t signalled;  /* used_idx at the last need_notify decision */
	uint16_t used_flags; /* shadow of used->flags (no EVENT_IDX) */
	uint32_t inflight;
	uint8_t *busy;	   /* [num]: head popped and not pushed */
	uint16_t *pop_idx; /* [num]: avail index each busy head was popped at */
	/* VIRTIO_F_IN_ORDER: popped heads in pop order */
	uint16_t *order;     /* [num] */
	uint16_t order_head; /* free-running; slot = value & mask */
	uint16_t order_tail;
};

#endif
