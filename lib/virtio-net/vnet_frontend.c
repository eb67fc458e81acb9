/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net driver data path of the vhost-user front end
 * (vsw/vhost_user_fe.h): transmit and receive bursts between vsw_pkt
 * packets and the queues' buffer slots, interrupts and counters. The
 * driver-side twin of virtio_net.c's device path; the session, memory and
 * queues it works on are lib/vhost-user/vu_frontend.c's (vufe_priv.h).
 *
 * Security model: the back-end may write anything into the shared buffers
 * and the used rings. Used entries are checked by vsw_vq_drv (an id not in
 * flight breaks the queue: -EIO), the used length against the slot it
 * names, num_buffers against the queue size and the entries actually
 * there; a frame is copied once into the packet and only that copy is
 * parsed.
 *
 * Threads: each queue pair's calls come from one data-plane thread at a
 * time (vsw/vhost_user_fe.h).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "../vhost-user/vufe_priv.h"

/* idle bursts between two looks at the socket */
#define VUFE_IDLE_CHECK 1024

/* Common entry checks of a burst: 0 or the errno to return. */
static int vufe_burst_check(const struct vsw_vufe *fe, unsigned qp)
{
	if (vsw_unlikely(qp >= fe->npairs || fe->mem == NULL))
		return -EINVAL;
	if (vsw_unlikely(vufe_dead(fe)))
		return -ENOTCONN;
	return 0;
}

/*
 * A burst that moved nothing: now and then look at the socket, so a caller
 * polling a dead back-end learns it (one syscall per VUFE_IDLE_CHECK idle
 * bursts, none on bursts that make progress).
 */
static int vufe_idle(struct vsw_vufe *fe, struct vufe_q *q)
{
	if (++q->idle < VUFE_IDLE_CHECK)
		return 0;
	q->idle = 0;
	return vsw_vufe_check(fe);
}

static void vufe_hdr_put(uint8_t *p, const struct virtio_net_hdr_v1 *v)
{
	struct virtio_net_hdr_v1 h = {
		.flags = v->flags,
		.gso_type = v->gso_type,
		.hdr_len = htole16(v->hdr_len),
		.gso_size = htole16(v->gso_size),
		.csum_start = htole16(v->csum_start),
		.csum_offset = htole16(v->csum_offset),
		.num_buffers = 0,
	};

	memcpy(p, &h, sizeof(h));
}

int vsw_vufe_tx_burst(struct vsw_vufe *fe, unsigned qp, struct vsw_pkt **pkts,
		      unsigned n)
{
	struct vufe_qp *p;
	struct vufe_q *q;
	bool ind;
	unsigned i, sent = 0;
	uint32_t len;
	void *tok;
	int ret = vufe_burst_check(fe, qp);

	if (ret < 0)
		return ret;
	p = &fe->qp[qp];
	q = &p->tx;
	while ((tok = vsw_vq_drv_get_used(q->drv, &len)) != NULL)
		q->free[q->nfree++] = vufe_slot(tok);
	if (vsw_unlikely(vsw_vq_drv_is_broken(q->drv)))
		return -EIO;
	ind = q->ind_off != 0;
	for (i = 0; i < n; i++) {
		struct vsw_pkt *pkt = pkts[i];
		struct vsw_sg sg[2];
		uint64_t gpa;
		uint8_t *b;
		uint32_t slot;

		if (vsw_unlikely(pkt->len > fe->tx_max_frame)) {
			p->st.tx_oversize++;
			continue;
		}
		if (q->nfree == 0)
			break;
		slot = q->free[q->nfree - 1];
		gpa = q->slots_off + (uint64_t)slot * q->slot_size;
		b = vufe_ptr(fe, gpa);
		vufe_hdr_put(b, &pkt->vnet);
		memcpy(b + VSW_VUFE_HDR_SIZE, vsw_pkt_data(pkt), pkt->len);
		/* with INDIRECT_DESC header and frame go as two segments of
		 * one indirect table (Linux's layout), else as one */
		sg[0].addr = gpa;
		sg[0].len = VSW_VUFE_HDR_SIZE;
		sg[1].addr = gpa + VSW_VUFE_HDR_SIZE;
		sg[1].len = pkt->len;
		if (!ind || pkt->len == 0) {
			sg[0].len += pkt->len;
			ret = vsw_vq_drv_add(q->drv, sg, 1, 0,
					     vufe_token(slot));
		} else {
			ret = vsw_vq_drv_add(q->drv, sg, 2, 0,
					     vufe_token(slot));
		}
		if (ret < 0)
			break; /* -ENOSPC cannot happen (a slot per entry);
				* -EIO is reported by the next burst */
		q->nfree--;
		sent++;
		p->st.tx_packets++;
		p->st.tx_bytes += pkt->len;
	}
	vsw_pkt_free_burst(pkts, i);
	if (sent > 0 && vsw_vq_drv_kick_prepare(q->drv)) {
		vufe_kick(q);
		p->st.tx_kicks++;
	}
	if (i == 0 && n > 0) {
		ret = vufe_idle(fe, q);
		if (ret < 0)
			return ret;
	} else {
		q->idle = 0;
	}
	return (int)i;
}

int vsw_vufe_set_pool(struct vsw_vufe *fe, unsigned qp,
		      struct vsw_pkt_pool *pool)
{
	if (qp >= fe->npairs)
		return -EINVAL;
	fe->qp[qp].pool = pool;
	return 0;
}

/* Give a frame's slots back to the refill list. */
static void vufe_rx_recycle(struct vufe_q *q, unsigned k)
{
	unsigned j;

	for (j = 0; j < k; j++)
		q->free[q->nfree++] = q->chain[2 * j];
}

/*
 * Collect the used buffers of one frame into q->chain. Returns the frame
 * bytes (header excluded) and the buffer count in *nb, or -1 for a bad
 * frame (its buffers are in the chain, counted in *nb, to be recycled).
 */
static int64_t vufe_rx_collect(struct vsw_vufe *fe, struct vufe_q *q,
			       uint32_t first, uint32_t len,
			       struct virtio_net_hdr_v1 *h, unsigned *nb)
{
	uint32_t want, k, slot;
	uint64_t total;
	void *tok;

	q->chain[0] = first;
	q->chain[1] = len;
	*nb = 1;
	if (len < VSW_VUFE_HDR_SIZE || len > q->buf_len)
		return -1;
	/* the device may rewrite the buffer: one copy, parsed from there */
	memcpy(h, vufe_ptr(fe, q->slots_off + (uint64_t)first * q->slot_size),
	       sizeof(*h));
	want = VUFE_HAS(fe, VIRTIO_NET_F_MRG_RXBUF) ? le16toh(h->num_buffers)
						    : 1;
	if (want == 0 || want > q->num)
		return -1;
	total = len - VSW_VUFE_HDR_SIZE;
	for (k = 1; k < want; k++) {
		/* a device publishes a frame's buffers together (Linux
		 * treats a missing one as an error, and so do we) */
		tok = vsw_vq_drv_get_used(q->drv, &len);
		if (tok == NULL)
			return -1;
		slot = vufe_slot(tok);
		q->chain[2 * k] = slot;
		q->chain[2 * k + 1] = len;
		*nb = k + 1;
		if (len > q->buf_len)
			return -1;
		total += len;
	}
	return (int64_t)total;
}

int vsw_vufe_rx_burst(struct vsw_vufe *fe, unsigned qp, struct vsw_pkt **pkts,
		      unsigned n)
{
	struct virtio_net_hdr_v1 h;
	struct vufe_qp *p;
	struct vufe_q *q;
	unsigned got = 0, nb, j;
	uint32_t len;
	int64_t total;
	void *tok;
	int ret = vufe_burst_check(fe, qp);

	if (ret < 0)
		return ret;
	p = &fe->qp[qp];
	q = &p->rx;
	if (vsw_unlikely(p->pool == NULL))
		return -EINVAL;
	if (vsw_unlikely(vsw_vq_drv_is_broken(q->drv)))
		return -EIO;
	while (got < n && (tok = vsw_vq_drv_get_used(q->drv, &len)) != NULL) {
		struct vsw_pkt *pkt;
		uint8_t *dst;

		if (len == 0) {
			/* given back unused (IN_ORDER batching, or a
			 * device that ran out of buffers mid-frame) */
			p->st.rx_empty++;
			q->free[q->nfree++] = vufe_slot(tok);
			continue;
		}
		total = vufe_rx_collect(fe, q, vufe_slot(tok), len, &h, &nb);
		if (vsw_unlikely(total < 0)) {
			p->st.rx_bad++;
			vufe_rx_recycle(q, nb);
			continue;
		}
		pkt = total <= VSW_PKT_MAX_LEN
			      ? vsw_pkt_alloc_len(p->pool, (uint32_t)total)
			      : NULL;
		if (vsw_unlikely(pkt == NULL)) {
			p->st.rx_nomem++;
			vufe_rx_recycle(q, nb);
			continue;
		}
		dst = vsw_pkt_append(pkt, (uint32_t)total);
		for (j = 0; j < nb; j++) {
			uint64_t gpa = q->slots_off +
				       (uint64_t)q->chain[2 * j] * q->slot_size;
			uint32_t l = q->chain[2 * j + 1];

			if (j == 0) {
				gpa += VSW_VUFE_HDR_SIZE;
				l -= VSW_VUFE_HDR_SIZE;
			}
			memcpy(dst, vufe_ptr(fe, gpa), l);
			dst += l;
		}
		pkt->vnet.flags = h.flags;
		pkt->vnet.gso_type = h.gso_type;
		pkt->vnet.hdr_len = le16toh(h.hdr_len);
		pkt->vnet.gso_size = le16toh(h.gso_size);
		pkt->vnet.csum_start = le16toh(h.csum_start);
		pkt->vnet.csum_offset = le16toh(h.csum_offset);
		pkt->vnet.num_buffers = (uint16_t)nb;
		vufe_rx_recycle(q, nb);
		pkts[got++] = pkt;
		p->st.rx_packets++;
		p->st.rx_bytes += (uint64_t)total;
	}
	if (q->nfree > 0 && vufe_rx_refill(q) > 0 &&
	    vsw_vq_drv_kick_prepare(q->drv)) {
		vufe_kick(q);
		p->st.rx_kicks++;
	}
	if (got == 0 && n > 0) {
		ret = vsw_vq_drv_is_broken(q->drv) ? -EIO : vufe_idle(fe, q);
		if (ret < 0)
			return ret;
	} else {
		q->idle = 0;
	}
	return (int)got;
}

/* ------------------------------------------------------------------ */
/* Interrupts and counters                                             */
/* ------------------------------------------------------------------ */

static struct vufe_q *vufe_dir_q(const struct vsw_vufe *fe, unsigned qp,
				 enum vsw_vufe_dir d)
{
	if (qp >= fe->npairs || fe->qp[qp].rx.drv == NULL)
		return NULL;
	return d == VSW_VUFE_TX ? &fe->qp[qp].tx : &fe->qp[qp].rx;
}

int vsw_vufe_call_fd(const struct vsw_vufe *fe, unsigned qp,
		     enum vsw_vufe_dir d)
{
	const struct vufe_q *q = vufe_dir_q(fe, qp, d);

	return q != NULL ? q->call_fd : -EINVAL;
}

int vsw_vufe_intr_enable(struct vsw_vufe *fe, unsigned qp,
			 enum vsw_vufe_dir d)
{
	struct vufe_q *q = vufe_dir_q(fe, qp, d);

	if (q == NULL)
		return -EINVAL;
	return vsw_vq_drv_enable_cb(q->drv) ? 1 : 0;
}

int vsw_vufe_intr_disable(struct vsw_vufe *fe, unsigned qp,
			  enum vsw_vufe_dir d)
{
	struct vufe_q *q = vufe_dir_q(fe, qp, d);

	if (q == NULL)
		return -EINVAL;
	vsw_vq_drv_disable_cb(q->drv);
	return 0;
}

int vsw_vufe_stats(const struct vsw_vufe *fe, unsigned qp,
		   struct vsw_vufe_q_stats *out)
{
	if (qp >= fe->npairs)
		return -EINVAL;
	*out = fe->qp[qp].st;
	return 0;
}
