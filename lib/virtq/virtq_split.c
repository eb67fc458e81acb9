/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (VIRTIO 1.2 §2.6), driver side and device side.
 *
 * Security model (device side): the descriptor table, the available ring and
 * every indirect table are written by a driver that may be hostile and may
 * change them while we read. So:
 *  - avail->idx is read once per batch (acquire) and checked to be at most
 *    num entries ahead of what we consumed; afterwards only the shadow is
 *    trusted, never a second read;
 *  - a head is read once; each descriptor is copied into a local before any
 *    field of it is looked at, and only the local is used (no double fetch);
 *  - every index is range-checked against the table it indexes, the walk is
 *    bounded by num buffer descriptors (loops end), and every address goes
 *    through the vsw_mem table, which refuses any byte outside a region and
 *    any 64-bit wrap-around;
 *  - a violation breaks the queue through vq_dev_fail() (sticky until
 *    set_base) and nothing of the half-walked chain is reported.
 * The used ring is only written by us; the driver's used_event and
 * avail->flags are hints that can at worst cost or save an interrupt.
 *
 * The driver side trusts nothing the device writes either: a used id that is
 * not in flight, a used index that moved more than num, or a used length
 * larger than the buffer's writable part marks the driver queue broken. Its
 * free list lives in private memory, never in the descriptor table.
 *
 * Memory ordering (each pairing is also commented at the access):
 *  - drv add: descriptors + avail slot, then release store of avail->idx
 *    -> dev pop: acquire load of avail->idx, then reads of slot + descriptors;
 *  - dev push: used elements, then release store of used->idx
 *    -> drv get_used: acquire load of used->idx, then reads of the elements;
 *  - notification suppression needs store->load ordering on both sides
 *    (publish index, then read the peer's flags / event index; or publish
 *    flags / event index, then re-read the peer's index): a full fence on
 *    each side, kick_prepare <-> enable_notify, need_notify <-> enable_cb.
 */
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtq_priv.h"
#include "vsw_atomic.h"

/* used_event lives after the avail ring, avail_event after the used ring. */
static inline uint16_t *vq_used_event(const struct vring_avail *avail,
				      uint32_t num)
{
	return (uint16_t *)&avail->ring[num];
}

static inline uint16_t *vq_avail_event(struct vring_used *used, uint32_t num)
{
	return (uint16_t *)&used->ring[num];
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

int vq_drv_init_split(struct vsw_vq_drv *vq, void *ring)
{
	struct vq_split_drv *s = &vq->split;
	char *base = ring;
	uint32_t i;

	s->desc = ring;
	s->avail = (struct vring_avail *)(base +
					  (vq->addrs.driver - vq->addrs.desc));
	s->used = (struct vring_used *)(base +
					(vq->addrs.device - vq->addrs.desc));
	s->mask = (uint16_t)(vq->num - 1);
	s->next = calloc(vq->num, sizeof(*s->next));
	s->heads = calloc(vq->num, sizeof(*s->heads));
	if (vq->in_order)
		s->order = calloc(vq->num, sizeof(*s->order));
	if (s->next == NULL || s->heads == NULL ||
	    (vq->in_order && s->order == NULL))
		goto err;
	/*
	 * §2.6.9: with IN_ORDER the driver uses descriptors in ring order.
	 * Buffers then also complete in that order, so a circular next[]
	 * that is never relinked hands them out sequentially.
	 */
	s->in_order = vq->in_order;
	for (i = 0; i < vq->num; i++)
		s->next[i] =
			(uint16_t)(s->in_order ? (i + 1) & s->mask : i + 1);
	s->free_head = 0;
	s->num_free = (uint16_t)vq->num;
	return 0;
err:
	vq_drv_fini_split(vq);
	return -ENOMEM;
}

void vq_drv_fini_split(struct vsw_vq_drv *vq)
{
	struct vq_split_drv *s = &vq->split;

	free(s->next);
	free(s->heads);
	free(s->order);
	s->next = NULL;
	s->heads = NULL;
	s->order = NULL;
}

static inline void vq_drv_put_desc(struct vring_desc *d, uint64_t addr,
				   uint32_t len, uint16_t flags, uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

int vq_drv_add_split(struct vsw_vq_drv *vq, const struct vsw_sg *sg,
		     unsigned n_out, unsigned n_in, void *token)
{
	struct vq_split_drv *s = &vq->split;
	unsigned n = n_out + n_in, i;
	bool indirect = vq->indirect && n > 1 && n <= vq->ind_max;
	unsigned need = indirect ? 1 : n;
	uint64_t in_len = 0;
	uint16_t head, idx, flags;

	if (s->num_free < need)
		return -ENOSPC;
	for (i = n_out; i < n; i++)
		in_len += sg[i].len;
	head = s->free_head;
	if (indirect) {
		struct vring_desc *t =
			vq->ind_tables + (size_t)head * vq->ind_max;

		for (i = 0; i < n; i++) {
			flags = (i >= n_out ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < n ? VRING_DESC_F_NEXT : 0);
			vq_drv_put_desc(&t[i], sg[i].addr, sg[i].len, flags,
					(uint16_t)(i + 1));
		}
		vq_drv_put_desc(&s->desc[head],
				vq->ind_gpa + (uint64_t)head * vq->ind_max *
						      sizeof(struct vring_desc),
				(uint32_t)(n * sizeof(struct vring_desc)),
				VRING_DESC_F_INDIRECT, 0);
		s->free_head = s->next[head];
	} else {
		idx = head;
		for (i = 0; i < n; i++) {
			flags = (i >= n_out ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < n ? VRING_DESC_F_NEXT : 0);
			vq_drv_put_desc(&s->desc[idx], sg[i].addr, sg[i].len,
					flags, s->next[idx]);
			idx = s->next[idx];
		}
		s->free_head = idx;
	}
	s->num_free -= need;
	s->heads[head].token = token;
	s->heads[head].in_len = in_len;
	s->heads[head].ndesc = (uint16_t)need;
	if (vq->in_order)
		s->order[s->order_tail++ & s->mask] = head;
	vsw_store_relaxed(&s->avail->ring[s->avail_idx & s->mask],
			  htole16(head));
	s->avail_idx++;
	/*
	 * Publishes the descriptors and the avail slot written above: pairs
	 * with the acquire load of avail->idx in vq_dev_pop_split().
	 */
	vsw_store_release(&s->avail->idx, htole16(s->avail_idx));
	return 0;
}

bool vq_drv_kick_prepare_split(struct vsw_vq_drv *vq)
{
	struct vq_split_drv *s = &vq->split;
	uint16_t old = s->kick_old, new = s->avail_idx;

	/*
	 * Orders the avail->idx store of add before the read of avail_event /
	 * used->flags below: pairs with the fence in
	 * vq_dev_enable_notify_split(), which publishes those and then
	 * re-reads avail->idx. One of the two sides sees the other's store.
	 */
	vsw_fence_seq_cst();
	s->kick_old = new;
	if (new == old)
		return false; /* nothing added since the last decision */
	if (vq->event_idx)
		return vring_need_event(vq_le16(vsw_load_relaxed(vq_avail_event(
						s->used, vq->num))),
					new, old);
	return !(vq_le16(vsw_load_relaxed(&s->used->flags)) &
		 VRING_USED_F_NO_NOTIFY);
}

/* Return the chain of head to the free list and forget its token. */
static void vq_drv_detach(struct vq_split_drv *s, uint16_t head)
{
	struct vq_split_head *h = &s->heads[head];
	uint16_t last = head, k;

	if (s->in_order) {
		/* completions come in ring order: the freed descriptors
		 * are the ones right after the free ones */
		s->num_free += h->ndesc;
		h->token = NULL;
		return;
	}
	for (k = 1; k < h->ndesc; k++)
		last = s->next[last];
	s->next[last] = s->free_head;
	s->free_head = head;
	s->num_free += h->ndesc;
	h->token = NULL;
}

VSW_COLD static void *vq_drv_break(struct vsw_vq_drv *vq)
{
	vq->broken = true;
	return NULL;
}

/* IN_ORDER: hand out the oldest buffer; io_id ends the implicit run. */
static void *vq_drv_in_order_next(struct vq_split_drv *s, uint32_t *len)
{
	uint16_t h = s->order[s->order_head++ & s->mask];
	void *token = s->heads[h].token;

	if (h == s->io_id) {
		*len = s->io_len;
		s->io_pending = false;
	} else {
		*len = 0;
	}
	vq_drv_detach(s, h);
	return token;
}

void *vq_drv_get_used_split(struct vsw_vq_drv *vq, uint32_t *len)
{
	struct vq_split_drv *s = &vq->split;
	const vring_used_elem_t *e;
	uint32_t id, l;
	void *token;

	if (vq->in_order && s->io_pending)
		return vq_drv_in_order_next(s, len);
	if (s->last_used == s->used_idx) {
		/*
		 * Pairs with the release store of used->idx in
		 * vq_dev_push_burst_split(): the elements below are visible.
		 */
		uint16_t idx = vq_le16(vsw_load_acquire(&s->used->idx));

		if (vsw_unlikely((uint16_t)(idx - s->last_used) > vq->num))
			return vq_drv_break(vq);
		if (idx == s->last_used)
			return NULL;
		s->used_idx = idx;
	}
	e = &s->used->ring[s->last_used & s->mask];
	id = vq_le32(vsw_load_relaxed(&e->id));
	l = vq_le32(vsw_load_relaxed(&e->len));
	if (vsw_unlikely(id >= vq->num || s->heads[id].token == NULL ||
			 l > s->heads[id].in_len))
		return vq_drv_break(vq);
	s->last_used++;
	if (vq->event_idx && !s->cb_disabled) {
		/*
		 * Ask for an interrupt at the next used entry. The fence
		 * orders this store before our next read of used->idx:
		 * pairs with the fence in vq_dev_need_notify_split().
		 */
		vsw_store_relaxed(vq_used_event(s->avail, vq->num),
				  htole16(s->last_used));
		vsw_fence_seq_cst();
	}
	if (vq->in_order) {
		s->io_pending = true;
		s->io_id = (uint16_t)id;
		s->io_len = l;
		return vq_drv_in_order_next(s, len);
	}
	token = s->heads[id].token;
	*len = l;
	vq_drv_detach(s, (uint16_t)id);
	return token;
}

void vq_drv_disable_cb_split(struct vsw_vq_drv *vq)
{
	struct vq_split_drv *s = &vq->split;

	if (s->cb_disabled)
		return;
	s->cb_disabled = true;
	if (vq->event_idx) {
		/*
		 * §2.6.7: with EVENT_IDX flags stay 0. An event index just
		 * behind the entries already consumed is crossed again only
		 * after 65536 more entries.
		 */
		vsw_store_relaxed(vq_used_event(s->avail, vq->num),
				  htole16((uint16_t)(s->last_used - 1)));
	} else {
		s->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
		vsw_store_relaxed(&s->avail->flags, htole16(s->avail_flags));
	}
}

bool vq_drv_enable_cb_split(struct vsw_vq_drv *vq)
{
	struct vq_split_drv *s = &vq->split;

	s->cb_disabled = false;
	if (vq->event_idx) {
		/* interrupt at the first entry we have not consumed */
		vsw_store_relaxed(vq_used_event(s->avail, vq->num),
				  htole16(s->last_used));
	} else if (s->avail_flags & VRING_AVAIL_F_NO_INTERRUPT) {
		s->avail_flags &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
		vsw_store_relaxed(&s->avail->flags, htole16(s->avail_flags));
	}
	/*
	 * Orders the enable above before the re-read of used->idx: pairs with
	 * the fence in vq_dev_need_notify_split(), which publishes used->idx
	 * and then reads our flags / used_event. Either the device sees the
	 * enable and interrupts, or we see its entry here.
	 */
	vsw_fence_seq_cst();
	if (vq->in_order && s->io_pending)
		return false;
	return vq_le16(vsw_load_relaxed(&s->used->idx)) == s->last_used;
}

bool vq_drv_has_used_split(struct vsw_vq_drv *vq)
{
	struct vq_split_drv *s = &vq->split;

	if ((vq->in_order && s->io_pending) || s->last_used != s->used_idx)
		return true;
	/* a hint only: get_used re-reads used->idx with acquire */
	return vq_le16(vsw_load_relaxed(&s->used->idx)) != s->last_used;
}

unsigned vq_drv_num_free_split(const struct vsw_vq_drv *vq)
{
	return vq->split.num_free;
}

void *vq_drv_detach_unused_split(struct vsw_vq_drv *vq)
{
	struct vq_split_drv *s = &vq->split;
	uint32_t i;
	void *token;

	/* teardown: whatever the device completed no longer matters */
	s->io_pending = false;
	s->order_head = s->order_tail;
	for (i = 0; i < vq->num; i++) {
		token = s->heads[i].token;
		if (token != NULL) {
			vq_drv_detach(s, (uint16_t)i);
			return token;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Device                                                              */
/* ------------------------------------------------------------------ */

int vq_dev_init_split(struct vsw_vq_dev *vq)
{
	struct vq_split_dev *s = &vq->split;
	uint64_t num = vq->num;

	s->desc = vsw_mem_translate(vq->mem, vq->addrs.desc, 16 * num);
	s->avail = vsw_mem_translate(vq->mem, vq->addrs.driver, 6 + 2 * num);
	s->used = vsw_mem_translate(vq->mem, vq->addrs.device, 6 + 8 * num);
	/* §2.6: alignment 16 / 2 / 4, in guest and (for atomics) host view */
	if (s->desc == NULL || s->avail == NULL || s->used == NULL ||
	    (vq->addrs.desc & 15) || (vq->addrs.driver & 1) ||
	    (vq->addrs.device & 3) || ((uintptr_t)s->desc & 15) ||
	    ((uintptr_t)s->avail & 1) || ((uintptr_t)s->used & 3))
		return -EFAULT;
	s->busy = calloc(num, sizeof(*s->busy));
	s->pop_idx = calloc(num, sizeof(*s->pop_idx));
	if (vq->in_order)
		s->order = calloc(num, sizeof(*s->order));
	if (s->busy == NULL || s->pop_idx == NULL ||
	    (vq->in_order && s->order == NULL)) {
		vq_dev_fini_split(vq);
		return -ENOMEM;
	}
	s->mask = (uint16_t)(num - 1);
	/* vhost: the used index continues from what is in the ring */
	s->used_idx = vq_le16(vsw_load_relaxed(&s->used->idx));
	s->signalled = s->used_idx;
	return 0;
}

void vq_dev_fini_split(struct vsw_vq_dev *vq)
{
	struct vq_split_dev *s = &vq->split;

	free(s->busy);
	free(s->pop_idx);
	free(s->order);
	s->busy = NULL;
	s->pop_idx = NULL;
	s->order = NULL;
}

int vq_dev_set_base_split(struct vsw_vq_dev *vq, uint32_t base)
{
	struct vq_split_dev *s = &vq->split;

	if (base > UINT16_MAX)
		return -EINVAL;
	s->last_avail = (uint16_t)base;
	s->avail_idx = (uint16_t)base;
	s->inflight = 0;
	s->order_head = 0;
	s->order_tail = 0;
	memset(s->busy, 0, vq->num * sizeof(*s->busy));
	s->used_idx = vq_le16(vsw_load_relaxed(&s->used->idx));
	s->signalled = s->used_idx;
	return 0;
}

uint32_t vq_dev_get_base_split(const struct vsw_vq_dev *vq)
{
	return vq->split.last_avail;
}

/*
 * Copy one descriptor out of guest memory. The compiler barrier keeps the
 * compiler from re-reading the guest copy in place of the local later on
 * (the guest may have changed it by then): every check and use sees the
 * same bytes.
 */
static inline void vq_dev_fetch_desc(struct vring_desc *d,
				     const struct vring_desc *src)
{
	memcpy(d, src, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

int vq_dev_pop_split(struct vsw_vq_dev *vq, struct vsw_vq_chain *c,
		     struct iovec *iov, unsigned iov_max)
{
	struct vq_split_dev *s = &vq->split;
	const struct vring_desc *table = s->desc;
	uint32_t tsize = vq->num, nbuf = 0, len;
	uint64_t out_len = 0, in_len = 0, addr;
	unsigned n = 0, n_out = 0;
	uint16_t head, i, flags, next, ndesc = 0;
	bool in_table = false, seen_write = false;
	struct vring_desc d;
	enum vsw_vq_fault f;
	uint32_t perm;

	if (s->last_avail == s->avail_idx) {
		/*
		 * Pairs with the release store of avail->idx in
		 * vq_drv_add_split(): the slots and descriptors of every
		 * entry up to idx are visible after this load.
		 */
		uint16_t idx = vq_le16(vsw_load_acquire(&s->avail->idx));

		if (vsw_unlikely((uint16_t)(idx - s->last_avail) > vq->num))
			return vq_dev_fail(vq, VSW_VQ_FAULT_AVAIL_IDX);
		if (idx == s->last_avail)
			return 0;
		s->avail_idx = idx;
	}
	/* n_out / n_in are 16 bits wide */
	if (iov_max > UINT16_MAX)
		iov_max = UINT16_MAX;
	head = vq_le16(
		vsw_load_relaxed(&s->avail->ring[s->last_avail & s->mask]));
	if (vsw_unlikely(head >= vq->num))
		return vq_dev_fail(vq, VSW_VQ_FAULT_HEAD_RANGE);
	if (vsw_unlikely(s->busy[head]))
		return vq_dev_fail(vq, VSW_VQ_FAULT_ID_INUSE);
	i = head;
	for (;;) {
		vq_dev_fetch_desc(&d, &table[i]);
		addr = vq_le64(d.addr);
		len = vq_le32(d.len);
		flags = vq_le16(d.flags);
		next = vq_le16(d.next);
		if (!in_table)
			ndesc++;
		if (flags & VRING_DESC_F_INDIRECT) {
			if (vsw_unlikely(in_table))
				return vq_dev_fail(
					vq, VSW_VQ_FAULT_INDIRECT_NESTED);
			if (vsw_unlikely(!vq->indirect))
				return vq_dev_fail(
					vq, VSW_VQ_FAULT_INDIRECT_FEATURE);
			if (vsw_unlikely(flags & VRING_DESC_F_NEXT))
				return vq_dev_fail(vq,
						   VSW_VQ_FAULT_INDIRECT_NEXT);
			if (vsw_unlikely(len == 0 ||
					 len % sizeof(struct vring_desc)))
				return vq_dev_fail(vq,
						   VSW_VQ_FAULT_INDIRECT_LEN);
			table = vq_dev_map_table(vq, addr, len, &f);
			if (vsw_unlikely(table == NULL))
				return vq_dev_walk_fail(vq, f);
			tsize = len / sizeof(struct vring_desc);
			in_table = true;
			i = 0;
			continue;
		}
		/* bounds the walk whatever loops the tables contain */
		if (vsw_unlikely(++nbuf > vq->num))
			return vq_dev_fail(vq, VSW_VQ_FAULT_LOOP);
		/* a read-only queue reads every buffer, whatever it says */
		if ((flags & VRING_DESC_F_WRITE) && !vq->read_only) {
			seen_write = true;
			in_len += len;
		} else {
			if (vsw_unlikely(seen_write))
				return vq_dev_fail(vq,
						   VSW_VQ_FAULT_WRITE_ORDER);
			out_len += len;
		}
		/*
		 * Most buffers lie in one region: one segment, no search
		 * (a zero-length buffer adds no segment: map_iov checks it).
		 */
		perm = vq_perm(seen_write);
		if (len > 0 && n < iov_max &&
		    (iov[n].iov_base = vq_dev_map(vq, addr, len, perm)) !=
			    NULL) {
			iov[n++].iov_len = len;
		} else {
			f = vq_dev_map_iov(vq, addr, len, perm, iov, iov_max,
					   &n);
			if (vsw_unlikely(f != VSW_VQ_FAULT_NONE))
				return vq_dev_walk_fail(vq, f);
		}
		if (!seen_write)
			n_out = n;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (vsw_unlikely(next >= tsize))
			return vq_dev_fail(vq, VSW_VQ_FAULT_NEXT_RANGE);
		i = next;
	}
	c->id = head;
	c->ndesc = ndesc;
	c->n_out = (uint16_t)n_out;
	c->n_in = (uint16_t)(n - n_out);
	c->out_len = out_len;
	c->in_len = in_len;
	s->pop_idx[head] = s->last_avail;
	s->last_avail++;
	s->busy[head] = 1;
	s->inflight++;
	if (vq->in_order)
		s->order[s->order_tail++ & s->mask] = head;
	return 1;
}

unsigned vq_dev_pop_bufs_split(struct vsw_vq_dev *vq, struct vsw_vq_buf *b,
				unsigned n)
{
	struct vq_split_dev *s = &vq->split;
	/* what the flags of a one-descriptor chain must be, under mask */
	const uint16_t fmask = vq->read_only ? (uint16_t)~VRING_DESC_F_WRITE
					     : 0xffff;
	const uint16_t fwant = vq->read_only ? 0 : VRING_DESC_F_WRITE;
	uint16_t avail = (uint16_t)(s->avail_idx - s->last_avail);
	uint16_t head, flags;
	struct vring_desc d;
	unsigned k;
	void *p;

	if (avail < n) {
		/*
		 * Pairs with the release store of avail->idx in
		 * vq_drv_add_split(): the slots and descriptors of every
		 * entry up to idx are visible after this load. One load for
		 * the whole burst; a bad index is left to vq_dev_pop_split()
		 * to report.
		 */
		uint16_t idx = vq_le16(vsw_load_acquire(&s->avail->idx));

		if ((uint16_t)(idx - s->last_avail) <= vq->num) {
			s->avail_idx = idx;
			avail = (uint16_t)(idx - s->last_avail);
		}
		if (avail < n)
			n = avail;
	}
	for (k = 0; k < n; k++) {
		head = vq_le16(vsw_load_relaxed(
			&s->avail->ring[s->last_avail & s->mask]));
		if (vsw_unlikely(head >= vq->num || s->busy[head]))
			break;
		vq_dev_fetch_desc(&d, &s->desc[head]);
		flags = vq_le16(d.flags);
		if (vsw_unlikely((flags & fmask) != fwant))
			break;
		p = vq_dev_map(vq, vq_le64(d.addr), vq_le32(d.len),
			       vq_perm(!vq->read_only));
		if (vsw_unlikely(p == NULL))
			break;
		b[k].addr = p;
		b[k].len = vq_le32(d.len);
		b[k].id = head;
		s->pop_idx[head] = s->last_avail;
		s->last_avail++;
		s->busy[head] = 1;
		if (vq->in_order)
			s->order[s->order_tail++ & s->mask] = head;
	}
	s->inflight += k;
	return k;
}

void vq_dev_unpop_split(struct vsw_vq_dev *vq, const struct vsw_vq_chain *c)
{
	struct vq_split_dev *s = &vq->split;

	/*
	 * Newest first: only a chain still in flight that was popped from the
	 * avail entry right before last_avail. Repeated calls walk back
	 * through several pops.
	 */
	if (c->id >= vq->num || !s->busy[c->id] ||
	    s->pop_idx[c->id] != (uint16_t)(s->last_avail - 1))
		return;
	s->busy[c->id] = 0;
	s->inflight--;
	s->last_avail--;
	if (vq->in_order)
		s->order_tail--;
}

/*
 * Logging on: mark the used entries [first, first + n) and used->idx, after
 * their stores (vsw_vq_log_mark orders them first).
 */
static VSW_COLD void vq_split_log_push(const struct vsw_vq_dev *vq,
				       uint16_t first, unsigned n)
{
	uint16_t slot = first & vq->split.mask;
	unsigned head = vq->num - slot < n ? vq->num - slot : n;

	vq_dev_log_ring(vq, vq->log_used,
			offsetof(struct vring_used, ring) +
				slot * sizeof(struct vring_used_elem),
			head * sizeof(struct vring_used_elem));
	if (head < n)
		vq_dev_log_ring(vq, vq->log_used,
				offsetof(struct vring_used, ring),
				(n - head) * sizeof(struct vring_used_elem));
	vq_dev_log_ring(vq, vq->log_used, offsetof(struct vring_used, idx),
			sizeof(uint16_t));
}

/* Logging on: mark used->flags or avail_event after we stored it. */
static void vq_split_log_used_field(const struct vsw_vq_dev *vq,
				    const void *field, uint64_t len)
{
	if (vsw_unlikely(vq->log != NULL))
		vq_dev_log_ring(vq, vq->log_used,
				(uint64_t)((const uint8_t *)field -
					   (const uint8_t *)vq->split.used),
				len);
}

int vq_dev_push_burst_split(struct vsw_vq_dev *vq, const struct vsw_vq_used *u,
			    unsigned n)
{
	struct vq_split_dev *s = &vq->split;
	vring_used_elem_t *e;
	uint16_t idx, id;
	unsigned k;

	/* validate the whole burst first: all of it is published or none */
	for (k = 0; k < n; k++) {
		id = u[k].id;
		if (id >= vq->num || !s->busy[id])
			goto undo;
		if (vq->in_order &&
		    (k >= s->inflight ||
		     id != s->order[(uint16_t)(s->order_head + k) & s->mask]))
			goto undo;
		s->busy[id] = 0;
	}
	idx = s->used_idx;
	/*
	 * One used entry per chain, also with IN_ORDER. §2.6.9 would allow
	 * one entry for the last of a run of len 0 buffers, but some drivers
	 * (DPDK 22.11's in-order TX cleanup) count one entry per buffer and
	 * never get folded ones back.
	 */
	for (k = 0; k < n; k++) {
		e = &s->used->ring[idx & s->mask];
		vsw_store_relaxed(&e->id, htole32(u[k].id));
		vsw_store_relaxed(&e->len, htole32(u[k].len));
		idx++;
	}
	s->used_idx = idx;
	/*
	 * Publishes the used elements written above: pairs with the acquire
	 * load of used->idx in vq_drv_get_used_split().
	 */
	vsw_store_release(&s->used->idx, htole16(idx));
	if (vsw_unlikely(vq->log != NULL))
		vq_split_log_push(vq, (uint16_t)(idx - n), n);
	s->inflight -= n;
	if (vq->in_order)
		s->order_head = (uint16_t)(s->order_head + n);
	return 0;
undo:
	while (k-- > 0)
		s->busy[u[k].id] = 1;
	return -EINVAL;
}

bool vq_dev_need_notify_split(struct vsw_vq_dev *vq)
{
	struct vq_split_dev *s = &vq->split;
	uint16_t old = s->signalled, new = s->used_idx;

	/*
	 * Orders the used->idx store of push_burst before the reads of
	 * used_event / avail->flags below: pairs with the fences in
	 * vq_drv_enable_cb_split() and vq_drv_get_used_split(), which publish
	 * those and then read used->idx.
	 */
	vsw_fence_seq_cst();
	s->signalled = new;
	if (new == old)
		return false; /* nothing pushed since the last decision */
	if (vq->event_idx)
		return vring_need_event(vq_le16(vsw_load_relaxed(vq_used_event(
						s->avail, vq->num))),
					new, old);
	return !(vq_le16(vsw_load_relaxed(&s->avail->flags)) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

void vq_dev_disable_notify_split(struct vsw_vq_dev *vq)
{
	struct vq_split_dev *s = &vq->split;

	if (vq->event_idx) {
		/*
		 * §2.6.10: flags stay 0 with EVENT_IDX; an avail_event just
		 * behind what we consumed is crossed again only after 65536
		 * more entries.
		 */
		vsw_store_relaxed(vq_avail_event(s->used, vq->num),
				  htole16((uint16_t)(s->last_avail - 1)));
		vq_split_log_used_field(vq, vq_avail_event(s->used, vq->num),
					sizeof(uint16_t));
	} else if (!(s->used_flags & VRING_USED_F_NO_NOTIFY)) {
		s->used_flags |= VRING_USED_F_NO_NOTIFY;
		vsw_store_relaxed(&s->used->flags, htole16(s->used_flags));
		vq_split_log_used_field(vq, &s->used->flags,
					sizeof(uint16_t));
	}
}

bool vq_dev_enable_notify_split(struct vsw_vq_dev *vq)
{
	struct vq_split_dev *s = &vq->split;

	if (vq->event_idx) {
		/* kick when the driver adds the first entry we have not seen */
		vsw_store_relaxed(vq_avail_event(s->used, vq->num),
				  htole16(s->avail_idx));
		vq_split_log_used_field(vq, vq_avail_event(s->used, vq->num),
					sizeof(uint16_t));
	} else if (s->used_flags & VRING_USED_F_NO_NOTIFY) {
		s->used_flags &= (uint16_t)~VRING_USED_F_NO_NOTIFY;
		vsw_store_relaxed(&s->used->flags, htole16(s->used_flags));
		vq_split_log_used_field(vq, &s->used->flags,
					sizeof(uint16_t));
	}
	/*
	 * Orders the enable above before the re-read of avail->idx: pairs with
	 * the fence in vq_drv_kick_prepare_split(), which publishes avail->idx
	 * and then reads our flags / avail_event. Either the driver sees the
	 * enable and kicks, or we see its entry here.
	 */
	vsw_fence_seq_cst();
	if (s->last_avail != s->avail_idx)
		return true;
	/* a hint only: pop re-reads avail->idx with acquire and checks it */
	return vq_le16(vsw_load_relaxed(&s->avail->idx)) != s->last_avail;
}

bool vq_dev_has_avail_split(struct vsw_vq_dev *vq)
{
	struct vq_split_dev *s = &vq->split;

	if (s->last_avail != s->avail_idx)
		return true;
	/* a hint only: pop re-reads avail->idx with acquire and checks it */
	return vq_le16(vsw_load_relaxed(&s->avail->idx)) != s->last_avail;
}

unsigned vq_dev_inflight_split(const struct vsw_vq_dev *vq)
{
	return vq->split.inflight;
}
