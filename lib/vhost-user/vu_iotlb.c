/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end: the device IOTLB of a guest behind a virtual IOMMU
 * (VIRTIO_F_ACCESS_PLATFORM). The front-end sends IOTLB_MSG updates
 * (IOVA -> its own user address, with permissions) and invalidations; the
 * back-end asks for entries it lacks with VHOST_IOTLB_MISS on the backend
 * request channel (SET_BACKEND_REQ_FD). Translation is IOVA -> front-end
 * user address (this table) -> host address through the region holding it
 * (the memory table), composed once when the entry arrives.
 *
 * Security model: the front-end is not trusted. An update is stored only if
 * its size is not 0, neither [iova, iova + size) nor [uaddr, uaddr + size)
 * wraps, its permission is R, W or RW, and its whole user range lies inside
 * one mapped region (so every host address in the table is inside guest
 * memory we mapped); anything else is refused with a warning and a
 * non-zero REPLY_ACK, the connection stays. Overlapping updates replace
 * what they cover. Invalidations can only remove. The table is bounded
 * (VSW_IOTLB_MAX entries, then eviction), misses are rate-limited per
 * address. A data-path access without an entry waits for the answer (a
 * miss); one with the wrong permission faults that queue (vsw_vq_dev).
 *
 * Threads: the table is read by data threads through vsw_vq_dev; it is
 * replaced here on the control thread (publish, grace period through the
 * device's sync callback, free: docs/concurrency.md I1). An invalidation is
 * acknowledged only after that grace period, so no thread still reads
 * through the removed entries when the front-end hears back. Misses are
 * sent from data threads as well: the channel fd and the pending-miss list
 * are under a mutex (a miss is the slow path, never per packet).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "vsw_atomic.h"
#include "vsw_time.h"
#include "vu_msg.h"
#include "vu_priv.h"

/* Misses remembered, so a waiting queue does not flood the front-end. */
#define VU_IOTLB_PENDING 16
/* A pending miss is asked again after this long ... */
#define VU_IOTLB_RESEND_MS 1000
/* ... and given up (the queue faults) after this long unanswered (the
 * default of vsw_vu_config.iotlb_miss_timeout_ms). */
#define VU_IOTLB_GIVEUP_MS 10000
#define VU_IOTLB_PAGE 4096ULL

struct vu_miss {
	uint64_t page; /* iova / VU_IOTLB_PAGE + 1; 0: free slot */
	uint32_t perm;
	uint64_t first_ms, sent_ms;
};

struct vu_iotlb {
	struct vsw_iotlb_dom dom;
	struct vsw_vu *vu;
	pthread_mutex_t lock; /* req_fd and pending */
	int req_fd;	      /* backend request channel, -1: none */
	struct vu_miss pending[VU_IOTLB_PENDING];
	uint64_t giveup_ms, resend_ms; /* constant after create */
	struct vsw_vu_iotlb_stats st; /* relaxed: data threads add misses */
};

bool vu_iotlb_on(const struct vsw_vu *vu)
{
	return vu->iotlb != NULL &&
	       (vu->features & (1ULL << VIRTIO_F_ACCESS_PLATFORM));
}

const struct vsw_iotlb_dom *vu_iotlb_dom(const struct vsw_vu *vu)
{
	return vu_iotlb_on(vu) ? &vu->iotlb->dom : NULL;
}

/* Send one miss on the channel (lock held). 0 or negative errno. */
static int vu_iotlb_send_miss(struct vu_iotlb *t, uint64_t iova,
			      uint32_t perm)
{
	struct vsw_vu_hdr h = {
		.request = VSW_VU_BACKEND_IOTLB_MSG,
		.flags = VSW_VU_FLAG_VERSION,
		.size = sizeof(struct vhost_iotlb_msg),
	};
	struct vhost_iotlb_msg m = {
		.iova = iova, .perm = (uint8_t)perm, .type = VHOST_IOTLB_MISS};
	ssize_t n;

	if (t->req_fd < 0)
		return -ENOTCONN;
	n = vu_msg_send(t->req_fd, &h, &m, sizeof(m), NULL, 0,
			MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -EAGAIN)
		return -EAGAIN; /* full: the next retry sends it */
	if (n < 0 || (size_t)n != sizeof(h) + sizeof(m)) {
		/* a partial message would corrupt the stream: stop using it */
		close(t->req_fd);
		t->req_fd = -1;
		return n < 0 ? (int)n : -EIO;
	}
	vsw_ctr_add(&t->st.misses, 1);
	return 0;
}

/* vsw_iotlb_miss_fn: any thread. */
static int vu_iotlb_miss(void *opaque, uint64_t iova, uint32_t perm)
{
	struct vu_iotlb *t = opaque;
	uint64_t page = iova / VU_IOTLB_PAGE + 1, now = vsw_now_ms();
	struct vu_miss *slot = NULL, *victim = &t->pending[0];
	int ret = 0;
	unsigned i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < VU_IOTLB_PENDING; i++) {
		struct vu_miss *p = &t->pending[i];

		if (p->page == page && (perm & ~p->perm) == 0) {
			slot = p;
			break;
		}
		/* a free slot, else the one asked longest ago */
		if (victim->page != 0 &&
		    (p->page == 0 || p->sent_ms < victim->sent_ms))
			victim = p;
	}
	if (slot == NULL) {
		slot = victim;
		*slot = (struct vu_miss){
			.page = page, .perm = perm, .first_ms = now};
		(void)vu_iotlb_send_miss(t, iova, perm);
		slot->sent_ms = now;
	} else if (now - slot->first_ms >= t->giveup_ms) {
		slot->page = 0;
		vsw_ctr_add(&t->st.miss_timeouts, 1);
		ret = -ETIMEDOUT;
	} else if (now - slot->sent_ms >= t->resend_ms) {
		(void)vu_iotlb_send_miss(t, iova, perm);
		slot->sent_ms = now;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int vu_iotlb_create(struct vsw_vu *vu, unsigned giveup_ms)
{
	struct vu_iotlb *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return -ENOMEM;
	}
	t->vu = vu;
	t->req_fd = -1;
	t->giveup_ms = giveup_ms != 0 ? giveup_ms : VU_IOTLB_GIVEUP_MS;
	/* asked again at least once before it is given up */
	t->resend_ms = t->giveup_ms / 2 < VU_IOTLB_RESEND_MS
			       ? (t->giveup_ms + 1) / 2
			       : VU_IOTLB_RESEND_MS;
	t->dom.miss = vu_iotlb_miss;
	t->dom.opaque = t;
	vu->iotlb = t;
	return 0;
}

void vu_iotlb_destroy(struct vsw_vu *vu)
{
	struct vu_iotlb *t = vu->iotlb;

	if (t == NULL)
		return;
	vu_iotlb_reset(vu);
	pthread_mutex_destroy(&t->lock);
	free(t);
	vu->iotlb = NULL;
}

/* Make tbl current; free the old one after a grace period. */
static void vu_iotlb_replace(struct vsw_vu *vu, struct vsw_iotlb *tbl)
{
	struct vu_iotlb *t = vu->iotlb;
	struct vsw_iotlb *old = vsw_iotlb_publish(&t->dom, tbl);

	/*
	 * Pairs with the quiescent points of the data threads (the device's
	 * grace period): none of them reads old after this returns.
	 */
	vu->dev->sync(vu->dev->opaque);
	vsw_iotlb_free(old);
	vsw_store_relaxed(&t->st.entries, tbl != NULL ? tbl->n : 0);
}

void vu_iotlb_flush(struct vsw_vu *vu)
{
	if (vu->iotlb == NULL || vu->iotlb->dom.tbl == NULL)
		return;
	vu_iotlb_replace(vu, NULL);
}

/* A new backend request channel (-1: none); pending misses are forgotten. */
static void vu_iotlb_channel(struct vu_iotlb *t, int fd)
{
	pthread_mutex_lock(&t->lock);
	if (t->req_fd >= 0)
		close(t->req_fd);
	t->req_fd = fd;
	memset(t->pending, 0, sizeof(t->pending));
	pthread_mutex_unlock(&t->lock);
}

void vu_iotlb_reset(struct vsw_vu *vu)
{
	struct vu_iotlb *t = vu->iotlb;

	if (t == NULL)
		return;
	vu_iotlb_flush(vu);
	vu_iotlb_channel(t, -1);
}

void vu_iotlb_set_req_fd(struct vsw_vu *vu, int fd)
{
	vu_iotlb_channel(vu->iotlb, fd);
	vu_log(vu, VSW_LOG_DEBUG, "backend request channel set");
}

int vu_iotlb_ring(struct vsw_vu *vu, uint32_t idx, const char *what,
		  uint64_t iova, uint64_t len, uint32_t perm, uint64_t *gpa)
{
	struct vu_iotlb *t = vu->iotlb;
	uint64_t miss = 0;
	void *p;
	int err = 0;

	p = vsw_iotlb_translate(t->dom.tbl, iova, len, perm, &err, &miss);
	if (p == NULL && err == -ENOENT) {
		vu_log(vu, VSW_LOG_DEBUG,
		       "queue %" PRIu32 ": %s ring at iova 0x%" PRIx64
		       " not in the IOTLB: miss sent",
		       idx, what, miss);
		(void)vu_iotlb_miss(t, miss, perm);
		return 1;
	}
	if (p == NULL || vsw_mem_hva_to_gpa(&vu->mem, p, len, gpa) < 0) {
		/* the guest's problem, not the front-end's: the queue waits */
		vsw_ctr_add(&t->st.ring_faults, 1);
		vu_log(vu, VSW_LOG_WARN,
		       "queue %" PRIu32 ": %s ring at iova 0x%" PRIx64
		       " (+%" PRIu64 "): %s; the queue stays stopped",
		       idx, what, iova, len,
		       err == -EACCES ? "IOTLB entry lacks the access needed"
				      : "not one contiguous guest range");
		return 1;
	}
	return 0;
}

/* Host address of the front-end range [uaddr, uaddr + size), or 0. */
static uint64_t vu_iotlb_hva(const struct vsw_vu *vu, uint64_t uaddr,
			     uint64_t size)
{
	uint64_t gpa;
	void *p;

	if (vu_uva_to_gpa(vu, uaddr, &gpa) < 0)
		return 0;
	p = vsw_mem_translate(&vu->mem, gpa, size);
	return (uint64_t)(uintptr_t)p;
}

/* Forget the pending misses that [iova, iova + size) answers. */
static void vu_iotlb_answered(struct vu_iotlb *t, uint64_t iova,
			      uint64_t size, uint32_t perm)
{
	unsigned i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < VU_IOTLB_PENDING; i++) {
		struct vu_miss *p = &t->pending[i];
		uint64_t a = (p->page - 1) * VU_IOTLB_PAGE;

		if (p->page != 0 && a >= iova && a - iova < size &&
		    (p->perm & ~perm) == 0)
			p->page = 0;
	}
	pthread_mutex_unlock(&t->lock);
}

static int vu_iotlb_refuse(struct vsw_vu *vu, const struct vhost_iotlb_msg *m,
			   const char *why)
{
	vsw_ctr_add(&vu->iotlb->st.refused, 1);
	vu_log(vu, VSW_LOG_WARN,
	       "IOTLB_MSG type %u iova 0x%" PRIx64 " size 0x%" PRIx64
	       " uaddr 0x%" PRIx64 " perm %u refused: %s",
	       m->type, (uint64_t)m->iova, (uint64_t)m->size,
	       (uint64_t)m->uaddr, m->perm, why);
	return 1;
}

static int vu_iotlb_update_msg(struct vsw_vu *vu,
			       const struct vhost_iotlb_msg *m)
{
	struct vu_iotlb *t = vu->iotlb;
	struct vsw_iotlb *tbl;
	uint64_t hva;
	int ret;

	if (m->size == 0 || m->iova > UINT64_MAX - m->size ||
	    m->uaddr > UINT64_MAX - m->size)
		return vu_iotlb_refuse(vu, m, "empty or wrapping range");
	if (m->perm == 0 || (m->perm & ~VSW_IOTLB_RW) != 0)
		return vu_iotlb_refuse(vu, m, "permission not R, W or RW");
	vu_log(vu, VSW_LOG_DEBUG,
	       "IOTLB update iova 0x%" PRIx64 " size 0x%" PRIx64
	       " uaddr 0x%" PRIx64 " perm %u",
	       (uint64_t)m->iova, (uint64_t)m->size, (uint64_t)m->uaddr,
	       m->perm);
	hva = vu_iotlb_hva(vu, m->uaddr, m->size);
	if (hva == 0)
		return vu_iotlb_refuse(vu, m,
				       "user range not inside one region");
	ret = vsw_iotlb_update(t->dom.tbl, m->iova, m->size, hva, m->perm,
			       &tbl);
	if (ret < 0)
		return vu_iotlb_refuse(vu, m, strerror(-ret));
	vu_iotlb_replace(vu, tbl);
	vsw_ctr_add(&t->st.updates, 1);
	vu_iotlb_answered(t, m->iova, m->size, m->perm);
	/* queues that waited for their rings */
	return vu_start_all(vu);
}

/* Stop the running queues whose ring areas overlap [iova, iova + size). */
static void vu_iotlb_stop_rings(struct vsw_vu *vu, uint64_t iova,
				uint64_t size)
{
	uint64_t end = (size == 0 || iova > UINT64_MAX - size) ? UINT64_MAX
							       : iova + size;
	uint64_t addr[4], len[4];
	uint32_t i;
	unsigned k, n;

	for (i = 0; i < vu->dev->num_queues; i++) {
		const struct vu_queue *q = &vu->queues[i];

		if (q->vq == NULL)
			continue;
		vu_ring_spans(vu, q, addr, len);
		n = 3;
		if (vu_logging(vu) && q->log_ring) {
			/* its log address was translated too (vu_log_ring_gpa) */
			addr[n] = q->log_gpa;
			len[n++] = len[2];
		}
		for (k = 0; k < n; k++) {
			/* ring areas were translated: addr + len fits */
			if (addr[k] < end && iova < addr[k] + len[k]) {
				vu_log(vu, VSW_LOG_DEBUG,
				       "queue %" PRIu32
				       ": ring invalidated, restarting",
				       i);
				vu_queue_stop(vu, i);
				break;
			}
		}
	}
}

static int vu_iotlb_invalidate_msg(struct vsw_vu *vu,
				   const struct vhost_iotlb_msg *m)
{
	struct vu_iotlb *t = vu->iotlb;
	struct vsw_iotlb *tbl;
	int ret;

	vu_log(vu, VSW_LOG_DEBUG,
	       "IOTLB invalidate iova 0x%" PRIx64 " size 0x%" PRIx64,
	       (uint64_t)m->iova, (uint64_t)m->size);
	ret = vsw_iotlb_invalidate(t->dom.tbl, m->iova, m->size, &tbl);
	if (ret < 0)
		return vu_fail(vu, ret, "IOTLB invalidation: %s",
			       strerror(-ret));
	vsw_ctr_add(&t->st.invalidates, 1);
	if (ret == 1)
		return 0; /* nothing cached there */
	/* a ring's host pointers are cached in its vsw_vq_dev */
	vu_iotlb_stop_rings(vu, m->iova, m->size);
	vu_iotlb_replace(vu, tbl);
	/* restarted queues miss on their rings and wait */
	return vu_start_all(vu);
}

int vu_iotlb_msg(struct vsw_vu *vu, const struct vhost_iotlb_msg *m)
{
	switch (m->type) {
	case VHOST_IOTLB_UPDATE:
		return vu_iotlb_update_msg(vu, m);
	case VHOST_IOTLB_INVALIDATE:
		return vu_iotlb_invalidate_msg(vu, m);
	default:
		return vu_iotlb_refuse(vu, m, "not an update or invalidation");
	}
}

int vsw_vu_iotlb_stats(const struct vsw_vu *vu, struct vsw_vu_iotlb_stats *st)
{
	const struct vu_iotlb *t = vu->iotlb;

	if (t == NULL)
		return -ENOTSUP;
	st->updates = vsw_load_relaxed(&t->st.updates);
	st->invalidates = vsw_load_relaxed(&t->st.invalidates);
	st->misses = vsw_load_relaxed(&t->st.misses);
	st->refused = vsw_load_relaxed(&t->st.refused);
	st->ring_faults = vsw_load_relaxed(&t->st.ring_faults);
	st->miss_timeouts = vsw_load_relaxed(&t->st.miss_timeouts);
	st->entries = vsw_load_relaxed(&t->st.entries);
	return 0;
}
