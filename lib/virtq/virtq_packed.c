/* SPDX-License-Identifier: MIT */
/*
 * The packed virtqueue (VIRTIO 1.2 §2.7), driver and device side.
 *
 * One ring of descriptors is shared by both directions. The driver makes a
 * descriptor available by writing it with AVAIL = its avail wrap counter and
 * USED = the inverse; the device marks it used by writing AVAIL = USED = its
 * used wrap counter. Both sides walk the ring in order and flip their wrap
 * counters at the end, so each side finds the next descriptor to look at by
 * position alone. A buffer (chain) takes consecutive ring positions; the
 * device returns it with one used descriptor carrying the buffer id of the
 * chain's last descriptor, and skips as many positions as the chain took.
 *
 * Ring positions are mapped to a "lap index" in [0, 2 * num): position plus
 * num when the wrap counter is 0. Two laps are enough to tell whether an
 * event offset lies between two points of time, which is all the
 * notification-suppression arithmetic (§2.7.10) needs.
 *
 * Security model (device side): the driver may write any byte of the ring,
 * the event areas and the indirect tables at any moment, also while we read
 * them. Every descriptor is copied once into a local, and only the local is
 * validated and used. Chains are bounded by the queue size (ring descriptors
 * plus indirect entries), buffer ids are checked against the queue size and
 * the in-flight set before use, and buffers are reached only through
 * vsw_mem_map_iov, which refuses any byte outside the regions. A violation
 * breaks the queue through vq_dev_fail(); positions and the in-flight set
 * are then left as they were before the failing pop.
 *
 * Driver side: the device is trusted only as far as the ids it returns; an id
 * that is out of range or not in flight breaks the driver queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtq_priv.h"
#include "vsw_atomic.h"

#define VQ_PK_AVAIL (1U << VRING_PACKED_DESC_F_AVAIL)
#define VQ_PK_USED (1U << VRING_PACKED_DESC_F_USED)
#define VQ_PK_POS_MASK ((1U << VRING_PACKED_EVENT_F_WRAP_CTR) - 1)
/* Event flags value never written to a ring: forces the first store. */
#define VQ_PK_EVENT_UNSET 0xffff

/* Flags bits AVAIL/USED for a descriptor the driver makes available. */
static inline uint16_t vq_pk_avail_bits(bool wrap)
{
	return wrap ? VQ_PK_AVAIL : VQ_PK_USED;
}

/* Flags bits AVAIL/USED for a descriptor the device marks used. */
static inline uint16_t vq_pk_used_bits(bool wrap)
{
	return wrap ? (VQ_PK_AVAIL | VQ_PK_USED) : 0;
}

static inline bool vq_pk_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VQ_PK_AVAIL) == wrap &&
	       !!(flags & VQ_PK_USED) != wrap;
}

static inline bool vq_pk_is_used(uint16_t flags, bool wrap)
{
	return !!(flags & VQ_PK_AVAIL) == wrap &&
	       !!(flags & VQ_PK_USED) == wrap;
}

/* Advance a ring position by n (<= num) descriptors, flipping the wrap. */
static inline void vq_pk_advance(uint16_t *pos, bool *wrap, uint32_t n,
				 uint32_t num)
{
	uint32_t p = *pos + n;

	if (p >= num) {
		p -= num;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

/* An event suppression off_wrap value (§2.7.14) for a ring position. */
static inline uint16_t vq_pk_off_wrap(uint16_t pos, bool wrap)
{
	return pos | (wrap ? 1U << VRING_PACKED_EVENT_F_WRAP_CTR : 0);
}

/* The lap index of a ring position: see the comment at the top. */
static inline uint32_t vq_pk_lap(uint32_t pos, bool wrap, uint32_t num)
{
	return wrap ? pos : pos + num;
}

/*
 * Did the position in off_wrap become available / used while the ring
 * advanced by count descriptors, ending at lap index now? That is: does the
 * event lie in [now - count, now) modulo two laps (vring_need_event for the
 * packed layout). A count of two laps or more covers every event; it and an
 * offset outside the ring (only a broken peer writes one) both answer yes:
 * a spurious notification is harmless, a lost one hangs the peer.
 */
static bool vq_pk_event_crossed(uint16_t off_wrap, uint32_t num, uint32_t now,
				uint32_t count)
{
	uint32_t off = off_wrap & VQ_PK_POS_MASK;
	uint32_t ev, dist;

	if (count == 0)
		return false;
	if (count >= 2 * num || off >= num)
		return true;
	ev = vq_pk_lap(off, off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR, num);
	/* (now - ev - 1) mod 2 * num; now < 2 * num, ev < 2 * num */
	dist = now + 2 * num - ev - 1;
	if (dist >= 2 * num)
		dist -= 2 * num;
	return dist < count;
}

/*
 * Copy one descriptor from shared memory into a local. The compiler barrier
 * makes the copy the only read: the compiler may not re-load a field from
 * the ring later (the driver may have changed it) in place of the local.
 * memcpy also tolerates an indirect table at any alignment.
 */
static inline void vq_pk_read_desc(struct vring_packed_desc *dst,
				   const struct vring_packed_desc *src)
{
	memcpy(dst, src, sizeof(*dst));
	__asm__ __volatile__("" ::: "memory");
}

/* ------------------------------------------------------------------ */
/* Driver side                                                         */
/* ------------------------------------------------------------------ */

int vq_drv_init_packed(struct vsw_vq_drv *vq, void *ring)
{
	struct vq_packed_drv *pk = &vq->pk;
	uint32_t i;

	pk->bufs = calloc(vq->num, sizeof(*pk->bufs));
	if (pk->bufs == NULL)
		return -ENOMEM;
	for (i = 0; i < vq->num; i++)
		pk->bufs[i].next = (uint16_t)(i + 1);
	pk->desc = ring;
	pk->drv_event =
		(void *)((char *)ring + (vq->addrs.driver - vq->addrs.desc));
	pk->dev_event = (const void *)((char *)ring +
				       (vq->addrs.device - vq->addrs.desc));
	pk->next_avail = 0;
	pk->avail_wrap = true;
	pk->last_used = 0;
	pk->used_wrap = true;
	pk->free_head = 0;
	pk->num_free = vq->num;
	pk->nbufs = 0;
	pk->added = 0;
	/* vsw_vq_drv_create zeroed the ring: flags ENABLE */
	pk->event_shadow = VRING_PACKED_EVENT_FLAG_ENABLE;
	pk->batch_pending = false;
	pk->detach_pos = 0;
	return 0;
}

void vq_drv_fini_packed(struct vsw_vq_drv *vq)
{
	free(vq->pk.bufs);
	vq->pk.bufs = NULL;
}

static inline void vq_pk_drv_write_desc(struct vring_packed_desc *d,
					uint64_t addr, uint32_t len,
					uint16_t id)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->id = htole16(id);
}

int vq_drv_add_packed(struct vsw_vq_drv *vq, const struct vsw_sg *sg,
		      unsigned n_out, unsigned n_in, void *token)
{
	struct vq_packed_drv *pk = &vq->pk;
	unsigned n = n_out + n_in, i;
	struct vring_packed_desc *head = &pk->desc[pk->next_avail];
	uint16_t head_flags, id, pos;
	bool indirect, wrap;
	uint32_t slots;

	indirect = vq->indirect && n > 1 && n <= vq->ind_max;
	slots = indirect ? 1 : n;
	if (slots > pk->num_free)
		return -ENOSPC;
	id = pk->free_head;

	if (indirect) {
		struct vring_packed_desc *t =
			(struct vring_packed_desc *)vq->ind_tables +
			(size_t)id * vq->ind_max;

		for (i = 0; i < n; i++) {
			vq_pk_drv_write_desc(&t[i], sg[i].addr, sg[i].len, 0);
			t[i].flags =
				htole16(i < n_out ? 0 : VRING_DESC_F_WRITE);
		}
		vq_pk_drv_write_desc(head,
				     vq->ind_gpa + (uint64_t)id * vq->ind_max *
							   sizeof(*t),
				     n * (uint32_t)sizeof(*t), id);
		head_flags = VRING_DESC_F_INDIRECT |
			     vq_pk_avail_bits(pk->avail_wrap);
	} else {
		/* every descriptor carries the id; the device uses the last */
		pos = pk->next_avail;
		wrap = pk->avail_wrap;
		head_flags = 0;
		for (i = 0; i < n; i++) {
			struct vring_packed_desc *d = &pk->desc[pos];
			uint16_t f = vq_pk_avail_bits(wrap);

			if (i + 1 < n)
				f |= VRING_DESC_F_NEXT;
			if (i >= n_out)
				f |= VRING_DESC_F_WRITE;
			vq_pk_drv_write_desc(d, sg[i].addr, sg[i].len, id);
			if (i == 0)
				head_flags = f; /* stored last, below */
			else /* not looked at before the head's flags */
				d->flags = htole16(f);
			vq_pk_advance(&pos, &wrap, 1, vq->num);
		}
	}

	pk->free_head = pk->bufs[id].next;
	pk->bufs[id].token = token;
	pk->bufs[id].ndesc = (uint16_t)slots;
	if (vq->in_order) {
		if (pk->nbufs == 0)
			pk->order_head = id;
		else
			pk->bufs[pk->order_tail].next = id;
		pk->order_tail = id;
	}
	pk->nbufs++;
	pk->num_free -= slots;
	/* saturate: any count of two laps or more means "kick" */
	if (vsw_likely(pk->added < 2 * VSW_VQ_MAX_SIZE))
		pk->added += slots;
	vq_pk_advance(&pk->next_avail, &pk->avail_wrap, slots, vq->num);

	/*
	 * Publish the chain: pairs with the device's acquire load of the
	 * head's flags in pop. Every descriptor (and indirect table) written
	 * above is visible to the device once it sees these flags.
	 */
	vsw_store_release(&head->flags, htole16(head_flags));
	return 0;
}

bool vq_drv_kick_prepare_packed(struct vsw_vq_drv *vq)
{
	struct vq_packed_drv *pk = &vq->pk;
	uint32_t added = pk->added;
	uint16_t flags, off_wrap;

	pk->added = 0;
	/*
	 * Order the head flags stores of add before the load of the device's
	 * event flags: pairs with the device's fence in enable_notify. Either
	 * the device sees our descriptors when it re-checks, or we see its
	 * enable here.
	 */
	vsw_fence_seq_cst();
	/* pairs with the device's release store of its flags in
	 * enable_notify, which orders its off_wrap store before */
	flags = le16toh(vsw_load_acquire(&pk->dev_event->flags));
	if (added == 0)
		return false;
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true;
	off_wrap = le16toh(vsw_load_relaxed(&pk->dev_event->off_wrap));
	return vq_pk_event_crossed(
		off_wrap, vq->num,
		vq_pk_lap(pk->next_avail, pk->avail_wrap, vq->num), added);
}

/* Release buffer id: its descriptors return to the free count. */
static void *vq_pk_drv_detach(struct vsw_vq_drv *vq, uint16_t id)
{
	struct vq_packed_drv *pk = &vq->pk;
	void *token = pk->bufs[id].token;

	pk->bufs[id].token = NULL;
	pk->num_free += pk->bufs[id].ndesc;
	pk->nbufs--;
	pk->bufs[id].next = pk->free_head;
	pk->free_head = id;
	return token;
}

/* IN_ORDER: complete the oldest buffer in flight, advancing past it. */
static void *vq_pk_drv_complete_oldest(struct vsw_vq_drv *vq)
{
	struct vq_packed_drv *pk = &vq->pk;
	uint16_t id = pk->order_head;

	pk->order_head = pk->bufs[id].next;
	vq_pk_advance(&pk->last_used, &pk->used_wrap, pk->bufs[id].ndesc,
		      vq->num);
	return vq_pk_drv_detach(vq, id);
}

void *vq_drv_get_used_packed(struct vsw_vq_drv *vq, uint32_t *len)
{
	struct vq_packed_drv *pk = &vq->pk;
	struct vring_packed_desc *d;
	uint16_t flags, id;
	uint32_t ulen;

	if (vq->in_order && pk->batch_pending) {
		bool last = pk->order_head == pk->batch_last;

		*len = last ? pk->batch_len : 0;
		pk->batch_pending = !last;
		return vq_pk_drv_complete_oldest(vq);
	}
	d = &pk->desc[pk->last_used];
	/* pairs with the device's release store of the used flags in push */
	flags = le16toh(vsw_load_acquire(&d->flags));
	if (!vq_pk_is_used(flags, pk->used_wrap))
		return NULL;
	id = le16toh(vsw_load_relaxed(&d->id));
	ulen = le32toh(vsw_load_relaxed(&d->len));
	if (vsw_unlikely(id >= vq->num || pk->bufs[id].token == NULL)) {
		vq->broken = true;
		return NULL;
	}
	if (vq->in_order) {
		/* a used descriptor for id completes every buffer before it */
		if (id != pk->order_head) {
			pk->batch_pending = true;
			pk->batch_last = id;
			pk->batch_len = ulen;
			*len = 0;
		} else {
			*len = ulen;
		}
		return vq_pk_drv_complete_oldest(vq);
	}
	*len = ulen;
	vq_pk_advance(&pk->last_used, &pk->used_wrap, pk->bufs[id].ndesc,
		      vq->num);
	return vq_pk_drv_detach(vq, id);
}

static void vq_pk_drv_set_event(struct vq_packed_drv *pk, uint16_t flags)
{
	if (pk->event_shadow == flags)
		return;
	pk->event_shadow = flags;
	/*
	 * Pairs with the device's acquire load of these flags in
	 * need_notify: an off_wrap stored before is visible with DESC.
	 */
	vsw_store_release(&pk->drv_event->flags, htole16(flags));
}

void vq_drv_disable_cb_packed(struct vsw_vq_drv *vq)
{
	vq_pk_drv_set_event(&vq->pk, VRING_PACKED_EVENT_FLAG_DISABLE);
}

bool vq_drv_enable_cb_packed(struct vsw_vq_drv *vq)
{
	struct vq_packed_drv *pk = &vq->pk;

	if (vq->event_idx) {
		uint16_t off_wrap =
			vq_pk_off_wrap(pk->last_used, pk->used_wrap);

		/* ordered before the flags by the release in set_event */
		vsw_store_relaxed(&pk->drv_event->off_wrap, htole16(off_wrap));
		vq_pk_drv_set_event(pk, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		vq_pk_drv_set_event(pk, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	/*
	 * Order the event stores before the re-check of the used position:
	 * pairs with the device's fence in need_notify. Either the device
	 * sees the enable, or we see its used descriptor here.
	 */
	vsw_fence_seq_cst();
	return !vq_drv_has_used_packed(vq);
}

bool vq_drv_has_used_packed(struct vsw_vq_drv *vq)
{
	struct vq_packed_drv *pk = &vq->pk;
	uint16_t flags;

	if (vq->in_order && pk->batch_pending)
		return true;
	/* pairs with the device's release store of the used flags in push */
	flags = le16toh(vsw_load_acquire(&pk->desc[pk->last_used].flags));
	return vq_pk_is_used(flags, pk->used_wrap);
}

unsigned vq_drv_num_free_packed(const struct vsw_vq_drv *vq)
{
	return vq->pk.num_free;
}

void *vq_drv_detach_unused_packed(struct vsw_vq_drv *vq)
{
	struct vq_packed_drv *pk = &vq->pk;
	uint32_t i;

	if (pk->nbufs == 0)
		return NULL;
	if (vq->in_order) {
		pk->batch_pending = false;
		return vq_pk_drv_complete_oldest(vq);
	}
	for (i = 0; i < vq->num; i++) {
		uint16_t id = (uint16_t)((pk->detach_pos + i) % vq->num);

		if (pk->bufs[id].token != NULL) {
			pk->detach_pos = id;
			return vq_pk_drv_detach(vq, id);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Device side                                                         */
/* ------------------------------------------------------------------ */

/* Host pointer of an area, or NULL if outside one region or misaligned. */
static void *vq_pk_map_area(const struct vsw_mem *mem, uint64_t gpa,
			    uint64_t len, uint64_t align)
{
	void *p;

	if (gpa & (align - 1))
		return NULL;
	p = vsw_mem_translate(mem, gpa, len);
	if (p == NULL || ((uintptr_t)p & (align - 1)))
		return NULL;
	return p;
}

static void vq_pk_dev_reset_state(struct vsw_vq_dev *vq, uint16_t pos,
				  bool wrap)
{
	struct vq_packed_dev *pk = &vq->pk;

	memset(pk->id_ndesc, 0, vq->num * sizeof(*pk->id_ndesc));
	pk->order_head = 0;
	pk->order_count = 0;
	pk->inflight = 0;
	pk->last_avail = pos;
	pk->avail_wrap = wrap;
	pk->last_used = pos;
	pk->used_wrap = wrap;
	pk->pushed = 0;
	pk->event_shadow = VQ_PK_EVENT_UNSET;
}

int vq_dev_init_packed(struct vsw_vq_dev *vq)
{
	struct vq_packed_dev *pk = &vq->pk;

	pk->desc = vq_pk_map_area(vq->mem, vq->addrs.desc,
				  (uint64_t)vq->num * sizeof(*pk->desc), 16);
	pk->drv_event = vq_pk_map_area(vq->mem, vq->addrs.driver,
				       sizeof(*pk->drv_event), 4);
	pk->dev_event = vq_pk_map_area(vq->mem, vq->addrs.device,
				       sizeof(*pk->dev_event), 4);
	if (pk->desc == NULL || pk->drv_event == NULL || pk->dev_event == NULL)
		return -EFAULT;
	pk->id_ndesc = calloc(vq->num, sizeof(*pk->id_ndesc));
	pk->id_start = calloc(vq->num, sizeof(*pk->id_start));
	pk->order = calloc(vq->num, sizeof(*pk->order));
	if (pk->id_ndesc == NULL || pk->id_start == NULL || pk->order == NULL) {
		vq_dev_fini_packed(vq);
		return -ENOMEM;
	}
	vq_pk_dev_reset_state(vq, 0, true);
	return 0;
}

void vq_dev_fini_packed(struct vsw_vq_dev *vq)
{
	free(vq->pk.id_ndesc);
	free(vq->pk.id_start);
	free(vq->pk.order);
	vq->pk.id_ndesc = NULL;
	vq->pk.id_start = NULL;
	vq->pk.order = NULL;
}

int vq_dev_set_base_packed(struct vsw_vq_dev *vq, uint32_t base)
{
	uint32_t pos = base & VQ_PK_POS_MASK;
	bool wrap = (base >> VRING_PACKED_EVENT_F_WRAP_CTR) & 1;
	uint16_t flags;

	if (pos >= vq->num)
		return -EINVAL;
	vq_pk_dev_reset_state(vq, (uint16_t)pos, wrap);
	/*
	 * At the device's true position the descriptor is the driver's
	 * (available in this lap) or the device's from the previous lap: it
	 * is never used in this lap. Used in this lap means the position is
	 * behind the driver, which never makes those descriptors available
	 * again in this lap: the queue would wait forever. Not every stale
	 * base shows this way (the slot may have been rewritten in a later
	 * lap), but one that does is certain. The driver may write the
	 * flags meanwhile, only to other states; relaxed: only this value
	 * is looked at, nothing it guards is read.
	 */
	flags = le16toh(vsw_load_relaxed(&vq->pk.desc[pos].flags));
	if (vq_pk_is_used(flags, wrap))
		vq_dev_fail(vq, VSW_VQ_FAULT_STALE_BASE);
	return 0;
}

uint32_t vq_dev_get_base_packed(const struct vsw_vq_dev *vq)
{
	return vq_pk_off_wrap(vq->pk.last_avail, vq->pk.avail_wrap);
}

/* Chain walk state of one pop. */
struct vq_pk_walk {
	struct iovec *iov;
	unsigned iov_max;
	unsigned niov;
	uint32_t ndesc; /* descriptors seen, ring and indirect */
	uint16_t n_out, n_in;
	uint64_t out_len, in_len;
};

/*
 * Whether a buffer descriptor is device-writable. A read-only queue reads
 * every buffer whatever its flags say: DPDK's virtio PMD sets WRITE on the
 * entries of its TX indirect tables, and vhost ignores it there.
 */
static inline bool vq_pk_writable(const struct vsw_vq_dev *vq, uint16_t flags)
{
	return (flags & VRING_DESC_F_WRITE) && !vq->read_only;
}

/* Map one buffer into the iov; 0 or the fault. */
static enum vsw_vq_fault vq_pk_add_buf(struct vsw_vq_dev *vq,
				       struct vq_pk_walk *w, uint64_t addr,
				       uint32_t len, bool write)
{
	unsigned before = w->niov;
	enum vsw_vq_fault f;

	if (!write && w->n_in > 0)
		return VSW_VQ_FAULT_WRITE_ORDER;
	/* with a non-zero length, a descriptor in a hole also sees -EFAULT */
	f = vq_dev_map_iov(vq, addr, len, vq_perm(write), w->iov, w->iov_max,
			   &w->niov);
	if (f != VSW_VQ_FAULT_NONE)
		return f;
	if (write) {
		w->n_in += (uint16_t)(w->niov - before);
		w->in_len += len;
	} else {
		w->n_out += (uint16_t)(w->niov - before);
		w->out_len += len;
	}
	return VSW_VQ_FAULT_NONE;
}

/* Walk an indirect table described by the (local copy of a) descriptor. */
static enum vsw_vq_fault vq_pk_walk_indirect(struct vsw_vq_dev *vq,
					     struct vq_pk_walk *w,
					     uint64_t addr, uint32_t len)
{
	const struct vring_packed_desc *table;
	enum vsw_vq_fault f = VSW_VQ_FAULT_NONE;
	uint32_t n, i;

	if (len == 0 || len % sizeof(*table) != 0)
		return VSW_VQ_FAULT_INDIRECT_LEN;
	table = vq_dev_map_table(vq, addr, len, &f);
	if (table == NULL)
		return f;
	n = len / sizeof(*table);
	/* the table's entries count toward the chain limit */
	if (n > vq->num - w->ndesc)
		return VSW_VQ_FAULT_LOOP;
	w->ndesc += n;
	for (i = 0; i < n; i++) {
		struct vring_packed_desc d;
		uint16_t flags;

		vq_pk_read_desc(&d, &table[i]);
		flags = le16toh(d.flags);
		/*
		 * §2.7.7: entries are used in sequence; only WRITE means
		 * something in them, NEXT and the buffer id are ignored.
		 */
		if (flags & VRING_DESC_F_INDIRECT)
			return VSW_VQ_FAULT_INDIRECT_NESTED;
		f = vq_pk_add_buf(vq, w, le64toh(d.addr), le32toh(d.len),
				  vq_pk_writable(vq, flags));
		if (f != VSW_VQ_FAULT_NONE)
			return f;
	}
	return VSW_VQ_FAULT_NONE;
}

int vq_dev_pop_packed(struct vsw_vq_dev *vq, struct vsw_vq_chain *c,
		      struct iovec *iov, unsigned iov_max)
{
	struct vq_packed_dev *pk = &vq->pk;
	struct vq_pk_walk w = {
		.iov = iov,
		/* n_out + n_in are 16 bits wide */
		.iov_max = iov_max < UINT16_MAX ? iov_max : UINT16_MAX,
	};
	uint16_t pos = pk->last_avail, flags, id;
	bool wrap = pk->avail_wrap;
	struct vring_packed_desc d;
	enum vsw_vq_fault f;
	uint32_t slots = 0;

	/* pairs with the driver's release store of the head flags in add */
	flags = le16toh(vsw_load_acquire(&pk->desc[pos].flags));
	if (!vq_pk_is_avail(flags, wrap))
		return 0;
	for (;;) {
		vq_pk_read_desc(&d, &pk->desc[pos]);
		if (slots > 0) /* the head's flags are the acquired ones */
			flags = le16toh(d.flags);
		slots++;
		if (++w.ndesc > vq->num)
			return vq_dev_fail(vq, VSW_VQ_FAULT_LOOP);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return vq_dev_fail(
					vq, VSW_VQ_FAULT_INDIRECT_FEATURE);
			/* §2.7.7: never linked by NEXT, in either direction */
			if ((flags & VRING_DESC_F_NEXT) || slots > 1)
				return vq_dev_fail(vq,
						   VSW_VQ_FAULT_INDIRECT_NEXT);
			/* the ring descriptor itself is no buffer */
			w.ndesc--;
			f = vq_pk_walk_indirect(vq, &w, le64toh(d.addr),
						le32toh(d.len));
		} else {
			f = vq_pk_add_buf(vq, &w, le64toh(d.addr),
					  le32toh(d.len),
					  vq_pk_writable(vq, flags));
		}
		if (f != VSW_VQ_FAULT_NONE)
			return vq_dev_walk_fail(vq, f);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		vq_pk_advance(&pos, &wrap, 1, vq->num);
	}
	/* the id of the chain's last descriptor names the buffer */
	id = le16toh(d.id);
	if (id >= vq->num)
		return vq_dev_fail(vq, VSW_VQ_FAULT_ID_RANGE);
	if (pk->id_ndesc[id] != 0)
		return vq_dev_fail(vq, VSW_VQ_FAULT_ID_INUSE);

	pk->id_start[id] = vq_pk_off_wrap(pk->last_avail, pk->avail_wrap);
	vq_pk_advance(&pk->last_avail, &pk->avail_wrap, slots, vq->num);
	pk->id_ndesc[id] = (uint16_t)slots;
	if (vq->in_order) {
		uint32_t tail = pk->order_head + pk->order_count;

		pk->order[tail >= vq->num ? tail - vq->num : tail] = id;
		pk->order_count++;
	}
	pk->inflight++;

	c->id = id;
	c->ndesc = (uint16_t)slots;
	c->n_out = w.n_out;
	c->n_in = w.n_in;
	c->out_len = w.out_len;
	c->in_len = w.in_len;
	return 1;
}

unsigned vq_dev_pop_bufs_packed(struct vsw_vq_dev *vq, struct vsw_vq_buf *b,
				 unsigned n)
{
	struct vq_packed_dev *pk = &vq->pk;
	struct vring_packed_desc d;
	uint16_t pos, flags, id;
	unsigned k;
	void *p;

	for (k = 0; k < n; k++) {
		pos = pk->last_avail;
		/* pairs with the driver's release store of the head flags */
		flags = le16toh(vsw_load_acquire(&pk->desc[pos].flags));
		if (!vq_pk_is_avail(flags, pk->avail_wrap))
			break;
		/* the acquired flags are the ones checked, not d.flags */
		if (vsw_unlikely(flags & (VRING_DESC_F_NEXT |
					  VRING_DESC_F_INDIRECT)) ||
		    vsw_unlikely(!vq->read_only &&
				 !(flags & VRING_DESC_F_WRITE)))
			break;
		vq_pk_read_desc(&d, &pk->desc[pos]);
		id = le16toh(d.id);
		if (vsw_unlikely(id >= vq->num || pk->id_ndesc[id] != 0))
			break;
		p = vq_dev_map(vq, le64toh(d.addr), le32toh(d.len),
			       vq_perm(!vq->read_only));
		if (vsw_unlikely(p == NULL))
			break;
		b[k].addr = p;
		b[k].len = le32toh(d.len);
		b[k].id = id;
		pk->id_start[id] = vq_pk_off_wrap(pos, pk->avail_wrap);
		vq_pk_advance(&pk->last_avail, &pk->avail_wrap, 1, vq->num);
		pk->id_ndesc[id] = 1;
		if (vq->in_order) {
			uint32_t tail = pk->order_head + pk->order_count;

			pk->order[tail >= vq->num ? tail - vq->num : tail] = id;
			pk->order_count++;
		}
	}
	pk->inflight += k;
	return k;
}

void vq_dev_unpop_packed(struct vsw_vq_dev *vq, const struct vsw_vq_chain *c)
{
	struct vq_packed_dev *pk = &vq->pk;
	uint16_t pos;
	bool wrap;

	/*
	 * Newest first: only a chain in flight whose descriptors end right
	 * at last_avail. Repeated calls walk back through several pops.
	 */
	if (c->id >= vq->num || pk->id_ndesc[c->id] == 0)
		return;
	pos = pk->id_start[c->id] & VQ_PK_POS_MASK;
	wrap = pk->id_start[c->id] >> VRING_PACKED_EVENT_F_WRAP_CTR;
	vq_pk_advance(&pos, &wrap, pk->id_ndesc[c->id], vq->num);
	if (pos != pk->last_avail || wrap != pk->avail_wrap)
		return;
	pk->last_avail = pk->id_start[c->id] & VQ_PK_POS_MASK;
	pk->avail_wrap = pk->id_start[c->id] >> VRING_PACKED_EVENT_F_WRAP_CTR;
	pk->id_ndesc[c->id] = 0;
	pk->inflight--;
	if (vq->in_order)
		pk->order_count--;
}

/* All entries in flight, no id twice, ndesc as popped. */
static bool vq_pk_push_valid(struct vsw_vq_dev *vq, const struct vsw_vq_used *u,
			     unsigned n)
{
	struct vq_packed_dev *pk = &vq->pk;
	unsigned i, j;
	bool ok = true;

	if (vq->in_order) {
		if (n > pk->order_count)
			return false;
		for (i = 0; i < n; i++) {
			uint32_t k = pk->order_head + i;

			if (k >= vq->num)
				k -= vq->num;
			if (u[i].id != pk->order[k] ||
			    u[i].ndesc != pk->id_ndesc[u[i].id])
				return false;
		}
		return true;
	}
	/* mark each id seen by setting bit 15 (ndesc <= 32768 < 0x8000 |) */
	for (i = 0; i < n; i++) {
		uint16_t id = u[i].id;

		if (id >= vq->num || pk->id_ndesc[id] == 0 ||
		    (pk->id_ndesc[id] & 0x8000) ||
		    u[i].ndesc != pk->id_ndesc[id]) {
			ok = false;
			break;
		}
		pk->id_ndesc[id] |= 0x8000;
	}
	for (j = 0; j < i; j++)
		pk->id_ndesc[u[j].id] &= 0x7fff;
	return ok;
}

/*
 * Logging on: mark the ring positions [start, start + total) the burst
 * covered (its used descriptors lie there), after their stores.
 */
static VSW_COLD void vq_pk_log_push(const struct vsw_vq_dev *vq,
				    uint16_t start, uint32_t total)
{
	uint32_t head;

	if (vq->log_used == UINT64_MAX) /* ring writes not logged */
		return;
	if (total > vq->num)
		total = vq->num;
	head = vq->num - start < total ? vq->num - start : total;
	vq_dev_log_ring(vq, vq->addrs.desc,
			(uint64_t)start * sizeof(struct vring_packed_desc),
			(uint64_t)head * sizeof(struct vring_packed_desc));
	if (head < total)
		vq_dev_log_ring(vq, vq->addrs.desc, 0,
				(uint64_t)(total - head) *
					sizeof(struct vring_packed_desc));
}

int vq_dev_push_burst_packed(struct vsw_vq_dev *vq, const struct vsw_vq_used *u,
			     unsigned n)
{
	struct vq_packed_dev *pk = &vq->pk;
	struct vring_packed_desc *first = NULL;
	uint16_t first_flags = 0, pos = pk->last_used;
	const uint16_t start = pk->last_used;
	bool wrap = pk->used_wrap;
	uint32_t skip, total = 0;
	unsigned i;

	if (!vq_pk_push_valid(vq, u, n))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		struct vring_packed_desc *d = &pk->desc[pos];
		uint16_t flags;

		skip = pk->id_ndesc[u[i].id];
		pk->id_ndesc[u[i].id] = 0;
		/*
		 * One used descriptor per chain, also with IN_ORDER: §2.7.9
		 * would allow one for a whole batch, but drivers exist that
		 * count one per buffer (as DPDK's in-order TX cleanup does
		 * on split rings), so the device never folds.
		 */
		d->id = htole16(u[i].id);
		d->len = htole32(u[i].len);
		flags = vq_pk_used_bits(wrap);
		if (first == NULL) {
			first = d;
			first_flags = flags;
		} else {
			/* the driver reads it only after the first's flags */
			vsw_store_relaxed(&d->flags, htole16(flags));
		}
		vq_pk_advance(&pos, &wrap, skip, vq->num);
		total += skip;
	}
	if (vq->in_order) {
		pk->order_head += n;
		if (pk->order_head >= vq->num)
			pk->order_head -= vq->num;
		pk->order_count -= n;
	}
	pk->inflight -= n;
	pk->last_used = pos;
	pk->used_wrap = wrap;
	/* saturate: any count of two laps or more means "notify" */
	if (vsw_likely(pk->pushed < 2 * VSW_VQ_MAX_SIZE))
		pk->pushed += total;
	/*
	 * Publish the burst: pairs with the driver's acquire load of the used
	 * flags in get_used / has_used; every id, len and flags written above
	 * is visible to the driver once it sees this one.
	 */
	vsw_store_release(&first->flags, htole16(first_flags));
	if (vsw_unlikely(vq->log != NULL))
		vq_pk_log_push(vq, start, total);
	return 0;
}

bool vq_dev_need_notify_packed(struct vsw_vq_dev *vq)
{
	struct vq_packed_dev *pk = &vq->pk;
	uint32_t pushed = pk->pushed;
	uint16_t flags, off_wrap;

	pk->pushed = 0;
	/*
	 * Order the used flags stores of push before the load of the driver's
	 * event flags: pairs with the driver's fence in enable_cb. Either the
	 * driver sees our used descriptors when it re-checks, or we see its
	 * enable here.
	 */
	vsw_fence_seq_cst();
	/* pairs with the driver's release store of its flags in set_event,
	 * which orders its off_wrap store before */
	flags = le16toh(vsw_load_acquire(&pk->drv_event->flags));
	if (pushed == 0 || flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true;
	off_wrap = le16toh(vsw_load_relaxed(&pk->drv_event->off_wrap));
	return vq_pk_event_crossed(
		off_wrap, vq->num,
		vq_pk_lap(pk->last_used, pk->used_wrap, vq->num), pushed);
}

/* Logging on: mark the device event area after a store to it. */
static void vq_pk_log_event(const struct vsw_vq_dev *vq)
{
	if (vsw_unlikely(vq->log != NULL))
		vq_dev_log_ring(vq, vq->log_used, 0,
				sizeof(struct vring_packed_desc_event));
}

static void vq_pk_dev_set_event(struct vsw_vq_dev *vq, uint16_t flags)
{
	struct vq_packed_dev *pk = &vq->pk;

	if (pk->event_shadow == flags)
		return;
	pk->event_shadow = flags;
	/*
	 * Pairs with the driver's acquire load of these flags in
	 * kick_prepare: an off_wrap stored before is visible with DESC.
	 */
	vsw_store_release(&pk->dev_event->flags, htole16(flags));
	vq_pk_log_event(vq);
}

void vq_dev_disable_notify_packed(struct vsw_vq_dev *vq)
{
	vq_pk_dev_set_event(vq, VRING_PACKED_EVENT_FLAG_DISABLE);
}

bool vq_dev_enable_notify_packed(struct vsw_vq_dev *vq)
{
	struct vq_packed_dev *pk = &vq->pk;

	if (vq->event_idx) {
		uint16_t off_wrap =
			vq_pk_off_wrap(pk->last_avail, pk->avail_wrap);

		/* ordered before the flags by the release in set_event */
		vsw_store_relaxed(&pk->dev_event->off_wrap, htole16(off_wrap));
		vq_pk_log_event(vq);
		vq_pk_dev_set_event(vq, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		vq_pk_dev_set_event(vq, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	/*
	 * Order the event stores before the re-check of the avail flags:
	 * pairs with the driver's fence in kick_prepare. Either the driver
	 * sees the enable, or we see its chain here.
	 */
	vsw_fence_seq_cst();
	return vq_dev_has_avail_packed(vq);
}

bool vq_dev_has_avail_packed(struct vsw_vq_dev *vq)
{
	struct vq_packed_dev *pk = &vq->pk;
	/* pairs with the driver's release store of the head flags in add */
	uint16_t flags =
		le16toh(vsw_load_acquire(&pk->desc[pk->last_avail].flags));

	return vq_pk_is_avail(flags, pk->avail_wrap);
}

unsigned vq_dev_inflight_packed(const struct vsw_vq_dev *vq)
{
	return vq->pk.inflight;
}
