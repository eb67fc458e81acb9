/* SPDX-License-Identifier: MIT */
/* Private to lib/virtio-net: the device object and iovec cursors. */
#ifndef VSW_VNET_PRIV_H
#define VSW_VNET_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <vsw/virtio_net.h>

#include "vsw_compiler.h"

/* iovec room for a control chain: no driver sends more than a few. */
#define VNET_CTRL_IOV_MAX 64

struct vnet_q {
	struct vsw_vq_dev *vq; /* NULL: not attached */
	uint32_t num;
	unsigned iov_max;
	unsigned qidx;
	int call_fd;
	bool broken_seen;	     /* the current break was counted */
	bool log;		     /* rx: dirty logging on (set at attach) */
	struct iovec *iov;	     /* iov_max: the chain being handled */
	struct vsw_vq_used *used;    /* num: used entries of one burst */
	struct vsw_vq_chain *chains; /* rx, num: chains of the frame written */
	uint8_t *scratch;	     /* rx, VSW_PKT_MAX_LEN: one GSO segment */
	struct vsw_pkt_pool *pool;   /* tx: where frames are copied to */
	struct vsw_vnet_q_stats st;
} __attribute__((aligned(64)));

/*
 * Dirty logging (live migration): mark the first len bytes of n iov
 * segments vq's device wrote (after the writes). virtio_net.c.
 */
void vnet_log_iov(struct vsw_vq_dev *vq, const struct iovec *iov, unsigned n,
		  uint64_t len);

struct vsw_vnet {
	uint64_t features;
	unsigned hdr_size;
	uint16_t max_qp, port_id;
	bool mrg;
	/* the receive header of a frame without offloads: num_buffers 1 */
	struct virtio_net_hdr_v1 rx_hdr;
	bool guest_csum, guest_tso4, guest_tso6, guest_ecn, guest_uso;
	bool host_csum, host_tso4, host_tso6, host_ecn, host_uso;
	vsw_vnet_notify_fn notify;
	void *notify_arg;
	struct vsw_vnet_ctrl_state cs;
	struct vsw_vnet_ctrl_stats cst;
	struct iovec ctrl_iov[VNET_CTRL_IOV_MAX];
	struct vnet_q q[]; /* 2 * max_qp, receiveq then transmitq per pair */
};

static inline bool vnet_has(const struct vsw_vnet *dev, unsigned bit)
{
	return dev->features & (1ULL << bit);
}

/* A read/write position in an iovec list. */
/*
 * Copy a frame between guest memory and a packet (never overlapping). Small
 * frames are copied inline in 32-byte steps, the last step ending at the
 * last byte (it may rewrite bytes of the step before): no call, no branch
 * per byte. Reading guest bytes twice is harmless here: only the private
 * copy is looked at afterwards.
 */
static inline void vnet_copy(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	uint32_t off;

	if (len > 256) {
		memcpy(dst, src, len);
		return;
	}
	if (len >= 32) {
		for (off = 0; off + 32 < len; off += 32)
			__builtin_memcpy(dst + off, src + off, 32);
		__builtin_memcpy(dst + len - 32, src + len - 32, 32);
	} else if (len >= 16) {
		__builtin_memcpy(dst, src, 16);
		__builtin_memcpy(dst + len - 16, src + len - 16, 16);
	} else if (len >= 8) {
		__builtin_memcpy(dst, src, 8);
		__builtin_memcpy(dst + len - 8, src + len - 8, 8);
	} else {
		memcpy(dst, src, len);
	}
}

struct vnet_cur {
	const struct iovec *iov;
	unsigned n, i;
	size_t off;
};

static inline void vnet_cur_init(struct vnet_cur *c, const struct iovec *iov,
				 unsigned n)
{
	c->iov = iov;
	c->n = n;
	c->i = 0;
	c->off = 0;
}

/*
 * Move up to len bytes between buf and the iovecs at the cursor (to_iov
 * selects the direction), advancing it. Returns the bytes moved (less than
 * len only at the end of the list).
 */
static inline size_t vnet_cur_copy(struct vnet_cur *c, void *buf, size_t len,
				   bool to_iov)
{
	uint8_t *b = buf;
	size_t done = 0;

	while (done < len && c->i < c->n) {
		const struct iovec *v = &c->iov[c->i];
		size_t k = v->iov_len - c->off;

		if (k > len - done)
			k = len - done;
		if (to_iov)
			memcpy((uint8_t *)v->iov_base + c->off, b + done, k);
		else
			memcpy(b + done, (uint8_t *)v->iov_base + c->off, k);
		done += k;
		c->off += k;
		if (c->off == v->iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	return done;
}

static inline size_t vnet_cur_read(struct vnet_cur *c, void *dst, size_t len)
{
	return vnet_cur_copy(c, dst, len, false);
}

static inline size_t vnet_cur_write(struct vnet_cur *c, const void *src,
				    size_t len)
{
	return vnet_cur_copy(c, (void *)src, len, true);
}

/* Skip len bytes; returns the bytes skipped. */
static inline size_t vnet_cur_skip(struct vnet_cur *c, size_t len)
{
	size_t done = 0;

	while (done < len && c->i < c->n) {
		size_t k = c->iov[c->i].iov_len - c->off;

		if (k > len - done)
			k = len - done;
		done += k;
		c->off += k;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	return done;
}

/* Interrupt the guest for queue qidx (callback, else eventfd write). */
void vnet_kick_guest(struct vsw_vnet *dev, unsigned qidx, int call_fd);

#endif /* VSW_VNET_PRIV_H */
