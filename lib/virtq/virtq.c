/* SPDX-License-Identifier: MIT */
/*
 * Common virtqueue code: ring layout, argument checks, object lifetime and
 * dispatch to the split (virtq_split.c) and packed (virtq_packed.c) variants.
 * The dispatch is one predictable branch per call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtq_priv.h"

#define VQ_CALL(vq, fn, ...)                                                   \
	((vq)->packed ? fn##_packed((vq), ##__VA_ARGS__)                       \
		      : fn##_split((vq), ##__VA_ARGS__))

static bool vq_features_packed(uint64_t features)
{
	return features & (1ULL << VIRTIO_F_RING_PACKED);
}

static bool vq_num_valid(uint64_t features, uint32_t num)
{
	if (num == 0 || num > VSW_VQ_MAX_SIZE)
		return false;
	/* §2.6: split queue sizes are powers of two; §2.7 has no such rule */
	return vq_features_packed(features) || (num & (num - 1)) == 0;
}

void vsw_vq_ring_layout(uint64_t features, uint32_t num, uint64_t base,
			struct vsw_vq_addrs *a)
{
	uint64_t driver_bytes;

	a->desc = base;
	a->driver = base + 16ULL * num;
	if (vq_features_packed(features))
		driver_bytes = sizeof(struct vring_packed_desc_event);
	else /* flags, idx, ring[num], used_event */
		driver_bytes = 2 * (3ULL + num);
	a->device = VSW_ALIGN_UP(a->driver + driver_bytes,
				 (uint64_t)VSW_CACHE_LINE);
}

size_t vsw_vq_ring_bytes(uint64_t features, uint32_t num)
{
	struct vsw_vq_addrs a;
	uint64_t device_bytes;

	if (!vq_num_valid(features, num))
		return 0;
	vsw_vq_ring_layout(features, num, 0, &a);
	if (vq_features_packed(features))
		device_bytes = sizeof(struct vring_packed_desc_event);
	else /* flags, idx, ring[num] of 8 bytes, avail_event */
		device_bytes = 4 + 8ULL * num + 2;
	return VSW_ALIGN_UP(a.device + device_bytes, (uint64_t)VSW_CACHE_LINE);
}

static void vq_set_flags(uint64_t features, bool *packed, bool *event_idx,
			 bool *indirect, bool *in_order)
{
	*packed = vq_features_packed(features);
	*event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	*indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	*in_order = features & (1ULL << VIRTIO_F_IN_ORDER);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

int vsw_vq_drv_create(const struct vsw_vq_drv_config *cfg,
		      struct vsw_vq_drv **out)
{
	struct vsw_vq_drv *vq;
	int ret;

	if (cfg == NULL || out == NULL || cfg->ring == NULL ||
	    !vq_num_valid(cfg->features, cfg->num) ||
	    (cfg->ring_gpa & 15) != 0 || ((uintptr_t)cfg->ring & 15) != 0)
		return -EINVAL;
	if (cfg->indirect_max > 0 &&
	    (cfg->indirect == NULL || (cfg->indirect_gpa & 15) != 0 ||
	     cfg->indirect_max > cfg->num))
		return -EINVAL;
	vq = calloc(1, sizeof(*vq));
	if (vq == NULL)
		return -ENOMEM;
	vq->features = cfg->features & VSW_VQ_FEATURES;
	vq->num = cfg->num;
	vq_set_flags(vq->features, &vq->packed, &vq->event_idx, &vq->indirect,
		     &vq->in_order);
	/* indirect stays usable only with the feature and a table area */
	if (vq->indirect && cfg->indirect_max > 0) {
		vq->ind_max = cfg->indirect_max;
		vq->ind_tables = cfg->indirect;
		vq->ind_gpa = cfg->indirect_gpa;
	} else {
		vq->indirect = false;
	}
	vsw_vq_ring_layout(vq->features, vq->num, cfg->ring_gpa, &vq->addrs);
	memset(cfg->ring, 0, vsw_vq_ring_bytes(vq->features, vq->num));
	ret = VQ_CALL(vq, vq_drv_init, cfg->ring);
	if (ret < 0) {
		free(vq);
		return ret;
	}
	*out = vq;
	return 0;
}

void vsw_vq_drv_destroy(struct vsw_vq_drv *vq)
{
	if (vq == NULL)
		return;
	VQ_CALL(vq, vq_drv_fini);
	free(vq);
}

void vsw_vq_drv_addrs(const struct vsw_vq_drv *vq, struct vsw_vq_addrs *a)
{
	*a = vq->addrs;
}

int vsw_vq_drv_add(struct vsw_vq_drv *vq, const struct vsw_sg *sg,
		   unsigned n_out, unsigned n_in, void *token)
{
	if (vsw_unlikely(vq->broken))
		return -EIO;
	if (vsw_unlikely(token == NULL || n_out + n_in == 0 ||
			 n_out + n_in < n_out || n_out + n_in > vq->num))
		return -EINVAL;
	return VQ_CALL(vq, vq_drv_add, sg, n_out, n_in, token);
}

bool vsw_vq_drv_kick_prepare(struct vsw_vq_drv *vq)
{
	if (vsw_unlikely(vq->broken))
		return false;
	return VQ_CALL(vq, vq_drv_kick_prepare);
}

void *vsw_vq_drv_get_used(struct vsw_vq_drv *vq, uint32_t *len)
{
	if (vsw_unlikely(vq->broken))
		return NULL;
	return VQ_CALL(vq, vq_drv_get_used, len);
}

void vsw_vq_drv_disable_cb(struct vsw_vq_drv *vq)
{
	VQ_CALL(vq, vq_drv_disable_cb);
}

bool vsw_vq_drv_enable_cb(struct vsw_vq_drv *vq)
{
	if (vsw_unlikely(vq->broken))
		return true; /* nothing will come: sleeping is as good as polling */
	return VQ_CALL(vq, vq_drv_enable_cb);
}

bool vsw_vq_drv_has_used(struct vsw_vq_drv *vq)
{
	if (vsw_unlikely(vq->broken))
		return false;
	return VQ_CALL(vq, vq_drv_has_used);
}

unsigned vsw_vq_drv_num_free(const struct vsw_vq_drv *vq)
{
	return VQ_CALL(vq, vq_drv_num_free);
}

bool vsw_vq_drv_is_broken(const struct vsw_vq_drv *vq)
{
	return vq->broken;
}

void *vsw_vq_drv_detach_unused(struct vsw_vq_drv *vq)
{
	return VQ_CALL(vq, vq_drv_detach_unused);
}

/* ------------------------------------------------------------------ */
/* Device                                                              */
/* ------------------------------------------------------------------ */

static const struct {
	int err;
	const char *text;
} vq_faults[VSW_VQ_FAULT__COUNT] = {
	[VSW_VQ_FAULT_NONE] = {0, "no fault"},
	[VSW_VQ_FAULT_HEAD_RANGE] = {-ERANGE, "head index out of range"},
	[VSW_VQ_FAULT_NEXT_RANGE] = {-ERANGE, "next index out of range"},
	[VSW_VQ_FAULT_LOOP] = {-ELOOP,
			       "descriptor chain longer than the queue size"},
	[VSW_VQ_FAULT_ADDR] = {-EFAULT, "buffer outside guest memory"},
	[VSW_VQ_FAULT_INDIRECT_LEN] = {-EINVAL,
				       "indirect table length not n * 16"},
	[VSW_VQ_FAULT_INDIRECT_ADDR] = {-EFAULT,
					"indirect table outside guest memory"},
	[VSW_VQ_FAULT_INDIRECT_NESTED] = {-EINVAL,
					  "indirect descriptor in indirect table"},
	[VSW_VQ_FAULT_INDIRECT_FEATURE] = {-EPROTO,
					   "indirect descriptor not negotiated"},
	[VSW_VQ_FAULT_INDIRECT_NEXT] = {-EINVAL,
					"indirect descriptor with NEXT flag"},
	[VSW_VQ_FAULT_WRITE_ORDER] = {-EPROTO,
				      "readable segment after writable one"},
	[VSW_VQ_FAULT_AVAIL_IDX] = {-EOVERFLOW,
				    "avail index moved more than queue size"},
	[VSW_VQ_FAULT_ID_RANGE] = {-ERANGE, "buffer id out of range"},
	[VSW_VQ_FAULT_ID_INUSE] = {-EBUSY, "buffer id already in flight"},
	[VSW_VQ_FAULT_SEGMENTS] = {-ENOBUFS,
				   "chain has more segments than iov room"},
	[VSW_VQ_FAULT_IOTLB_PERM] = {-EACCES,
				     "IOTLB entry lacks the access needed"},
	[VSW_VQ_FAULT_IOTLB_MISS] = {-ETIMEDOUT,
				     "IOTLB miss not answered"},
	[VSW_VQ_FAULT_STALE_BASE] = {-ESTALE,
				     "vring base behind the driver (position "
				     "lost, e.g. packed ring over a back-end "
				     "restart): the guest must reset the device"},
};

const char *vsw_vq_fault_str(enum vsw_vq_fault f)
{
	if ((unsigned)f >= VSW_VQ_FAULT__COUNT)
		return "unknown fault";
	return vq_faults[f].text;
}

VSW_COLD int vq_dev_fail(struct vsw_vq_dev *vq, enum vsw_vq_fault f)
{
	if (vq->error == 0) {
		vq->fault = f;
		vq->error = vq_faults[f].err;
	}
	return vq->error;
}

int vsw_vq_dev_create(const struct vsw_vq_dev_config *cfg,
		      struct vsw_vq_dev **out)
{
	struct vsw_vq_dev *vq;
	int ret;

	if (cfg == NULL || out == NULL || cfg->mem == NULL ||
	    !vq_num_valid(cfg->features, cfg->num) ||
	    (cfg->flags & ~VSW_VQ_DEV_F_READ_ONLY) != 0)
		return -EINVAL;
	vq = calloc(1, sizeof(*vq));
	if (vq == NULL)
		return -ENOMEM;
	vq->features = cfg->features & VSW_VQ_FEATURES;
	vq->num = cfg->num;
	vq->mem = cfg->mem;
	vq->iotlb = cfg->iotlb;
	vq->addrs = cfg->addrs;
	vq->read_only = cfg->flags & VSW_VQ_DEV_F_READ_ONLY;
	vq_set_flags(vq->features, &vq->packed, &vq->event_idx, &vq->indirect,
		     &vq->in_order);
	ret = VQ_CALL(vq, vq_dev_init);
	if (ret < 0) {
		free(vq);
		return ret;
	}
	*out = vq;
	return 0;
}

void vsw_vq_dev_destroy(struct vsw_vq_dev *vq)
{
	if (vq == NULL)
		return;
	VQ_CALL(vq, vq_dev_fini);
	free(vq);
}

int vsw_vq_dev_set_base(struct vsw_vq_dev *vq, uint32_t base)
{
	int error = vq->error;
	enum vsw_vq_fault fault = vq->fault;
	int ret;

	/* a reset; the variant may fault the queue again (a stale base) */
	vq->error = 0;
	vq->fault = VSW_VQ_FAULT_NONE;
	ret = VQ_CALL(vq, vq_dev_set_base, base);
	if (ret < 0) {
		vq->error = error;
		vq->fault = fault;
	}
	return ret;
}

uint32_t vsw_vq_dev_get_base(const struct vsw_vq_dev *vq)
{
	return VQ_CALL(vq, vq_dev_get_base);
}

/*
 * IOTLB mode, at the start of each pop: the table to use until the next
 * one. A different table (an update or an invalidation) drops the hint,
 * which may describe an entry the new table no longer has; tables are told
 * apart by generation, since a new one may reuse a freed one's address.
 * The table stays valid until this thread's next quiescent point
 * (vhost-user frees an old one only after a grace period), and a pop's
 * iovecs are consumed before that point.
 */
static VSW_COLD void vq_dev_tlb_refresh(struct vsw_vq_dev *vq)
{
	const struct vsw_iotlb *t = vsw_iotlb_current(vq->iotlb);
	uint64_t gen = t != NULL ? t->gen : 0;

	vq->tlb = t;
	if (gen != vq->tlb_gen) {
		vq->tlb_gen = gen;
		vq->hint.size = 0;
	}
}

int vsw_vq_dev_pop(struct vsw_vq_dev *vq, struct vsw_vq_chain *c,
		   struct iovec *iov, unsigned iov_max)
{
	if (vsw_unlikely(vq->error))
		return vq->error;
	if (vsw_unlikely(vq->iotlb != NULL))
		vq_dev_tlb_refresh(vq);
	return VQ_CALL(vq, vq_dev_pop, c, iov, iov_max);
}

unsigned vsw_vq_dev_pop_bufs(struct vsw_vq_dev *vq, struct vsw_vq_buf *b,
			     unsigned n)
{
	if (vsw_unlikely(vq->error))
		return 0;
	if (vsw_unlikely(vq->iotlb != NULL))
		vq_dev_tlb_refresh(vq);
	return VQ_CALL(vq, vq_dev_pop_bufs, b, n);
}

VSW_COLD void *vq_dev_map_slow(struct vsw_vq_dev *vq, uint64_t gpa,
			       uint64_t len, uint32_t perm)
{
	const struct vsw_mem_region *r;
	const struct vsw_iotlb_entry *e;

	if (vq->iotlb != NULL) {
		e = vsw_iotlb_find(vq->tlb, gpa);
		if (e == NULL || len > e->size - (gpa - e->iova) ||
		    (perm & ~e->perm) != 0)
			return NULL;
		vq->hint = (struct vsw_mem_region){
			.gpa = e->iova, .size = e->size, .hva = e->hva};
		vq->hint_perm = e->perm;
		return (void *)(uintptr_t)(e->hva + (gpa - e->iova));
	}
	r = vsw_mem_find(vq->mem, gpa);
	/* gpa >= r->gpa; the range fits if len <= bytes left in r */
	if (r == NULL || len > r->size - (gpa - r->gpa))
		return NULL;
	vq->hint = *r;
	vq->hint_perm = VSW_IOTLB_RW;
	return (void *)(uintptr_t)(r->hva + (gpa - r->gpa));
}

static enum vsw_vq_fault vq_iotlb_fault(struct vsw_vq_dev *vq, int err,
					uint64_t miss, uint32_t perm,
					enum vsw_vq_fault addr_fault)
{
	switch (err) {
	case -ENOENT:
		vq->miss_iova = miss;
		vq->miss_perm = perm;
		return VQ_FAULT_MISS;
	case -EACCES:
		return VSW_VQ_FAULT_IOTLB_PERM;
	case -ENOBUFS:
		return VSW_VQ_FAULT_SEGMENTS;
	default:
		return addr_fault;
	}
}

enum vsw_vq_fault vq_dev_map_iov(struct vsw_vq_dev *vq, uint64_t addr,
				 uint64_t len, uint32_t perm,
				 struct iovec *iov, unsigned max, unsigned *n)
{
	uint64_t miss = 0;
	int ret;

	if (vsw_likely(vq->iotlb == NULL)) {
		ret = vsw_mem_map_iov(vq->mem, addr, len, iov, max, n);
		if (vsw_likely(ret == 0))
			return VSW_VQ_FAULT_NONE;
		return ret == -ENOBUFS ? VSW_VQ_FAULT_SEGMENTS
				       : VSW_VQ_FAULT_ADDR;
	}
	ret = vsw_iotlb_map_iov(vq->tlb, addr, len, perm, iov, max, n, &miss);
	if (ret == 0)
		return VSW_VQ_FAULT_NONE;
	return vq_iotlb_fault(vq, ret, miss, perm, VSW_VQ_FAULT_ADDR);
}

const void *vq_dev_map_table(struct vsw_vq_dev *vq, uint64_t addr,
			     uint64_t len, enum vsw_vq_fault *f)
{
	uint64_t miss = 0;
	const void *p;
	int err = 0;

	if (vsw_likely(vq->iotlb == NULL)) {
		p = vsw_mem_translate(vq->mem, addr, len);
		if (p == NULL)
			*f = VSW_VQ_FAULT_INDIRECT_ADDR;
		return p;
	}
	p = vsw_iotlb_translate(vq->tlb, addr, len, VSW_IOTLB_R, &err, &miss);
	if (p == NULL)
		*f = vq_iotlb_fault(vq, err, miss, VSW_IOTLB_R,
				    VSW_VQ_FAULT_INDIRECT_ADDR);
	return p;
}

VSW_COLD int vq_dev_miss(struct vsw_vq_dev *vq)
{
	if (vq->iotlb->miss(vq->iotlb->opaque, vq->miss_iova,
			    vq->miss_perm) < 0)
		return vq_dev_fail(vq, VSW_VQ_FAULT_IOTLB_MISS);
	return 0;
}

void vsw_vq_dev_unpop(struct vsw_vq_dev *vq, const struct vsw_vq_chain *c)
{
	if (vsw_unlikely(vq->error))
		return;
	VQ_CALL(vq, vq_dev_unpop, c);
}

int vsw_vq_dev_push_burst(struct vsw_vq_dev *vq, const struct vsw_vq_used *u,
			  unsigned n)
{
	if (vsw_unlikely(vq->error))
		return vq->error;
	if (n == 0)
		return 0;
	return VQ_CALL(vq, vq_dev_push_burst, u, n);
}

bool vsw_vq_dev_need_notify(struct vsw_vq_dev *vq)
{
	if (vsw_unlikely(vq->error))
		return false;
	return VQ_CALL(vq, vq_dev_need_notify);
}

void vsw_vq_dev_disable_notify(struct vsw_vq_dev *vq)
{
	if (vsw_unlikely(vq->error))
		return;
	VQ_CALL(vq, vq_dev_disable_notify);
}

bool vsw_vq_dev_enable_notify(struct vsw_vq_dev *vq)
{
	if (vsw_unlikely(vq->error))
		return false;
	return VQ_CALL(vq, vq_dev_enable_notify);
}

bool vsw_vq_dev_has_avail(struct vsw_vq_dev *vq)
{
	if (vsw_unlikely(vq->error))
		return false;
	return VQ_CALL(vq, vq_dev_has_avail);
}

int vsw_vq_dev_error(const struct vsw_vq_dev *vq)
{
	return vq->error;
}

enum vsw_vq_fault vsw_vq_dev_fault(const struct vsw_vq_dev *vq)
{
	return vq->fault;
}

unsigned vsw_vq_dev_inflight(const struct vsw_vq_dev *vq)
{
	return VQ_CALL(vq, vq_dev_inflight);
}

/* ------------------------------------------------------------------ */
/* Dirty page log                                                      */
/* ------------------------------------------------------------------ */

void vsw_vq_log_mark(const struct vsw_vq_log *log, uint64_t gpa,
		     uint64_t len)
{
	uint64_t page, last;

	if (log == NULL || len == 0 || gpa > UINT64_MAX - (len - 1))
		return;
	page = gpa / VSW_VQ_LOG_PAGE;
	last = (gpa + len - 1) / VSW_VQ_LOG_PAGE;
	if (page / 8 >= log->size)
		return;
	if (last / 8 >= log->size)
		last = log->size * 8 - 1;
	/*
	 * The guest-memory stores this mark reports come first: pairs with
	 * the front-end's atomic exchange of the log word (QEMU's
	 * vhost_dev_sync_region), after which it copies the page. A mark
	 * seen there means the data it covers is visible too.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (; page <= last; page++)
		/* relaxed: ordered by the fence above; the RMW cannot lose a
		 * concurrent clear or another writer's bit */
		__atomic_fetch_or(&log->bits[page / 8],
				  (uint8_t)(1u << (page % 8)),
				  __ATOMIC_RELAXED);
}

void vq_dev_log_ring(const struct vsw_vq_dev *vq, uint64_t area, uint64_t off,
		     uint64_t len)
{
	if (area == UINT64_MAX || off > UINT64_MAX - area)
		return;
	vsw_vq_log_mark(vq->log, area + off, len);
}

void vsw_vq_dev_set_log(struct vsw_vq_dev *vq, const struct vsw_vq_log *log,
			uint64_t used_gpa)
{
	vq->log = log;
	vq->log_used = used_gpa;
}

const struct vsw_vq_log *vsw_vq_dev_log(const struct vsw_vq_dev *vq)
{
	return vq->log;
}

void vsw_vq_dev_log_write(struct vsw_vq_dev *vq, const void *p, uint64_t len)
{
	uint64_t gpa, off;

	if (vq->log == NULL || len == 0)
		return;
	/*
	 * The region of the queue's last buffer first, as vq_dev_map does.
	 * Not behind an IOMMU: there the hint is an IOTLB entry, its base an
	 * IOVA, and the log is indexed by guest-physical address.
	 */
	off = (uint64_t)(uintptr_t)p - vq->hint.hva;
	if (vq->iotlb == NULL && off < vq->hint.size &&
	    len <= vq->hint.size - off)
		gpa = vq->hint.gpa + off;
	else if (vsw_mem_hva_to_gpa(vq->mem, p, len, &gpa) < 0)
		return;
	vsw_vq_log_mark(vq->log, gpa, len);
}
