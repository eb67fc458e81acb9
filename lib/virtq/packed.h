/* SPDX-License-Identifier: MIT */
/* Private to lib/virtq: state of the packed ring variant (VIRTIO 1.2 §2.7). */
#ifndef VSW_VIRTQ_PACKED_H
#define VSW_VIRTQ_PACKED_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

/* Driver side: one buffer id, either free or in flight. */
struct vq_pk_drv_buf {
	void *token;	/* NULL while the id is free */
	uint16_t ndesc; /* ring descriptors the buffer took */
	uint16_t next;	/* free: next free id; IN_ORDER in flight: next added */
};

struct vq_packed_drv {
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *drv_event;	 /* written by us */
	const struct vring_packed_desc_event *dev_event; /* written by device */
	struct vq_pk_drv_buf *bufs;			 /* num entries */

	uint16_t next_avail; /* ring position of the next add */
	bool avail_wrap;
	uint16_t last_used; /* ring position of the next used descriptor */
	bool used_wrap;

	uint16_t free_head;    /* free id stack, linked through bufs[].next */
	uint32_t num_free;     /* free ring descriptors */
	uint32_t nbufs;	       /* buffers in flight */
	uint32_t added;	       /* ring descriptors added since kick_prepare */
	uint16_t event_shadow; /* last flags written to drv_event */

	/* IN_ORDER: buffers in flight in add order, linked through next */
	uint16_t order_head, order_tail;
	bool batch_pending; /* a used descriptor completes up to batch_last */
	uint16_t batch_last;
	uint32_t batch_len;

	uint32_t detach_pos; /* scan cursor of detach_unused */
};

struct vq_packed_dev {
	struct vring_packed_desc *desc; /* we write used descriptors */
	const struct vring_packed_desc_event *drv_event; /* written by driver */
	struct vring_packed_desc_event *dev_event;	 /* written by us */

	/* Per buffer id: ring descriptors of the popped chain, 0 = free. */
	uint16_t *id_ndesc;
	/* IN_ORDER: popped ids in pop order, a ring of num entries. */
	uint16_t *order;
	uint32_t order_head, order_count;
	uint32_t inflight;

	uint16_t last_avail; /* ring position of the next chain to pop */
	bool avail_wrap;
	uint16_t last_used; /* ring position of the next used descriptor */
	bool used_wrap;
	uint32_t pushed;       /* used descriptors since need_notify */
	uint16_t event_shadow; /* last flags written to dev_event */

	/* Per buffer id in flight: ring position | wrap << 15 it was popped
	 * at, so unpop can walk back newest first. */
	uint16_t *id_start;
};

#endif
