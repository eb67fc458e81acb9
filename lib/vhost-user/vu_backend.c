/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end: the message table, the per-message handlers, guest
 * memory mapping and the queue start / stop rules.
 *
 * Security model: the front-end (QEMU, DPDK virtio-user, or anything that
 * reaches the socket) is not trusted. No field of a message is used before it
 * is checked:
 *  - the header: version, no REPLY flag, a request in vu_msgs[] with a
 *    handler, a payload size within the request's bounds (checked before the
 *    payload is read, so a huge size costs nothing);
 *  - the fds: their count against the request's bounds and the payload
 *    (the no-fd flag, one fd per region); every fd received and not kept is
 *    closed, also when the message is refused;
 *  - the gates: a request that needs a protocol feature needs it negotiated,
 *    feature bits must have been offered, messages that need state (memory
 *    before ring addresses, no resize of a running ring) need that state;
 *  - queue indices against the device's queue count, ring sizes against the
 *    virtqueue rules, ring addresses against the mapped regions (the whole
 *    area, then vsw_vq_dev_create checks again);
 *  - memory regions: count, zero size, 64-bit wrap of every range, overlap
 *    in guest-physical and in front-end address space, the file size behind
 *    a regular-file fd (so no mapping extends past EOF, which would SIGBUS),
 *    mmap failure.
 * A refused message closes the connection with one ERR log line
 * "closing connection: <REQUEST>: <reason>"; every queue is stopped first and
 * every mapping and fd of the connection released. Other vsw_vu objects share
 * nothing with this one. What this cannot defend against: a front-end that
 * shrinks a memfd after we mapped it (accesses then fault); QEMU's memfds
 * are not sealed, and the data-plane layers must be run accordingly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "vsw_time.h"
#include "vu_priv.h"


typedef int vu_handler_fn(struct vsw_vu *vu, struct vu_msg *m);

/* Payload size of the vring state / address / u64 messages. */
#define VU_SZ_U64 sizeof(uint64_t)
#define VU_SZ_STATE sizeof(struct vhost_vring_state)
#define VU_SZ_ADDR sizeof(struct vhost_vring_addr)
#define VU_SZ_SINGLE sizeof(struct vsw_vu_mem_single)
#define VU_SZ_LOG sizeof(struct vsw_vu_log)
#define VU_SZ_TABLE_MIN (8 + sizeof(struct vsw_vu_mem_region))
#define VU_SZ_TABLE_MAX sizeof(struct vsw_vu_mem_table)
#define VU_SZ_CONFIG_MIN VSW_VU_CONFIG_HDR
#define VU_SZ_CONFIG_MAX sizeof(struct vsw_vu_config_msg)

#define VU_PF_NONE (-1)

/* Short names for the table below only. */
#define NO_PF VU_PF_NONE
#define TABLE_MAX VSW_VU_MEM_TABLE_MAX
#define PF_MQ VSW_VU_PF_MQ
#define PF_LOG_SHMFD VSW_VU_PF_LOG_SHMFD
#define PF_RARP VSW_VU_PF_RARP
#define PF_NET_MTU VSW_VU_PF_NET_MTU
#define PF_RESET_DEVICE VSW_VU_PF_RESET_DEVICE
#define PF_CONFIGURE_MEM_SLOTS VSW_VU_PF_CONFIGURE_MEM_SLOTS
#define PF_STATUS VSW_VU_PF_STATUS
#define PF_CONFIG VSW_VU_PF_CONFIG
#define PF_BACKEND_REQ VSW_VU_PF_BACKEND_REQ
#define VU_SZ_IOTLB sizeof(struct vhost_iotlb_msg)

struct vu_msg_desc {
	const char *name;
	vu_handler_fn *handler; /* NULL: known but not supported */
	uint8_t fds_min, fds_max;
	uint16_t size_min, size_max;
	int8_t pf;  /* protocol feature that must be negotiated */
	bool reply; /* the request has its own reply (no REPLY_ACK needed) */
};

static vu_handler_fn vu_get_features, vu_set_features, vu_set_owner,
	vu_reset_owner, vu_set_mem_table, vu_set_vring_num, vu_set_vring_addr,
	vu_set_vring_base, vu_get_vring_base, vu_set_vring_fd,
	vu_get_protocol_features, vu_set_protocol_features, vu_get_queue_num,
	vu_set_vring_enable, vu_net_set_mtu, vu_reset_device,
	vu_get_max_mem_slots, vu_add_mem_reg, vu_rem_mem_reg, vu_set_status,
	vu_get_status, vu_get_config, vu_set_config, vu_set_backend_req_fd,
	vu_iotlb_msg_exec;

#define VU_MSG(req, fn, fmin, fmax, smin, smax, pfeat, has_reply)              \
	[VSW_VU_REQ_##req] = {                                                 \
		.name = #req,                                                  \
		.handler = (fn),                                               \
		.fds_min = (fmin),                                             \
		.fds_max = (fmax),                                             \
		.size_min = (smin),                                            \
		.size_max = (smax),                                            \
		.pf = (pfeat),                                                 \
		.reply = (has_reply),                                          \
	}

/*
 * The one table of requests: dispatch, log names, payload size and fd bounds
 * and the protocol-feature gate all come from here.
 */
/* clang-format off */
static const struct vu_msg_desc vu_msgs[VSW_VU_REQ__MAX] = {
	/*     request, handler,
	 *     fds min, max, payload bytes min, max, gate, own reply */
	VU_MSG(GET_FEATURES, vu_get_features,
	       0, 0, 0, 0, NO_PF, true),
	VU_MSG(SET_FEATURES, vu_set_features,
	       0, 0, VU_SZ_U64, VU_SZ_U64, NO_PF, false),
	VU_MSG(SET_OWNER, vu_set_owner,
	       0, 0, 0, 0, NO_PF, false),
	VU_MSG(RESET_OWNER, vu_reset_owner,
	       0, 0, 0, 0, NO_PF, false),
	VU_MSG(SET_MEM_TABLE, vu_set_mem_table,
	       1, TABLE_MAX, VU_SZ_TABLE_MIN, VU_SZ_TABLE_MAX, NO_PF, false),
	/* vu_log.c: the dirty log of live migration */
	VU_MSG(SET_LOG_BASE, vu_set_log_base,
	       1, 1, VU_SZ_LOG, VU_SZ_LOG, PF_LOG_SHMFD, true),
	VU_MSG(SET_LOG_FD, vu_set_log_fd,
	       1, 1, 0, VU_SZ_U64, NO_PF, false),
	VU_MSG(SET_VRING_NUM, vu_set_vring_num,
	       0, 0, VU_SZ_STATE, VU_SZ_STATE, NO_PF, false),
	VU_MSG(SET_VRING_ADDR, vu_set_vring_addr,
	       0, 0, VU_SZ_ADDR, VU_SZ_ADDR, NO_PF, false),
	VU_MSG(SET_VRING_BASE, vu_set_vring_base,
	       0, 0, VU_SZ_STATE, VU_SZ_STATE, NO_PF, false),
	VU_MSG(GET_VRING_BASE, vu_get_vring_base,
	       0, 0, VU_SZ_STATE, VU_SZ_STATE, NO_PF, true),
	VU_MSG(SET_VRING_KICK, vu_set_vring_fd,
	       0, 1, VU_SZ_U64, VU_SZ_U64, NO_PF, false),
	VU_MSG(SET_VRING_CALL, vu_set_vring_fd,
	       0, 1, VU_SZ_U64, VU_SZ_U64, NO_PF, false),
	VU_MSG(SET_VRING_ERR, vu_set_vring_fd,
	       0, 1, VU_SZ_U64, VU_SZ_U64, NO_PF, false),
	VU_MSG(GET_PROTOCOL_FEATURES, vu_get_protocol_features,
	       0, 0, 0, 0, NO_PF, true),
	VU_MSG(SET_PROTOCOL_FEATURES, vu_set_protocol_features,
	       0, 0, VU_SZ_U64, VU_SZ_U64, NO_PF, false),
	VU_MSG(GET_QUEUE_NUM, vu_get_queue_num,
	       0, 0, 0, 0, PF_MQ, true),
	VU_MSG(SET_VRING_ENABLE, vu_set_vring_enable,
	       0, 0, VU_SZ_STATE, VU_SZ_STATE, NO_PF, false),
	VU_MSG(SEND_RARP, vu_send_rarp,
	       0, 0, VU_SZ_U64, VU_SZ_U64, PF_RARP, false),
	VU_MSG(NET_SET_MTU, vu_net_set_mtu,
	       0, 0, VU_SZ_U64, VU_SZ_U64, PF_NET_MTU, false),
	VU_MSG(SET_BACKEND_REQ_FD, vu_set_backend_req_fd,
	       1, 1, 0, VU_SZ_U64, PF_BACKEND_REQ, false),
	VU_MSG(IOTLB_MSG, vu_iotlb_msg_exec,
	       0, 0, VU_SZ_IOTLB, VU_SZ_IOTLB, NO_PF, false),
	VU_MSG(GET_CONFIG, vu_get_config,
	       0, 0, VU_SZ_CONFIG_MIN, VU_SZ_CONFIG_MAX, PF_CONFIG, true),
	VU_MSG(SET_CONFIG, vu_set_config,
	       0, 0, VU_SZ_CONFIG_MIN, VU_SZ_CONFIG_MAX, PF_CONFIG, false),
	VU_MSG(RESET_DEVICE, vu_reset_device,
	       0, 0, 0, 0, PF_RESET_DEVICE, false),
	VU_MSG(GET_MAX_MEM_SLOTS, vu_get_max_mem_slots,
	       0, 0, 0, 0, PF_CONFIGURE_MEM_SLOTS, true),
	VU_MSG(ADD_MEM_REG, vu_add_mem_reg,
	       1, 1, VU_SZ_SINGLE, VU_SZ_SINGLE, PF_CONFIGURE_MEM_SLOTS, false),
	/* the spec tolerates (and says to close) one stray fd here */
	VU_MSG(REM_MEM_REG, vu_rem_mem_reg,
	       0, 1, VU_SZ_SINGLE, VU_SZ_SINGLE, PF_CONFIGURE_MEM_SLOTS, false),
	VU_MSG(SET_STATUS, vu_set_status,
	       0, 0, VU_SZ_U64, VU_SZ_U64, PF_STATUS, false),
	VU_MSG(GET_STATUS, vu_get_status,
	       0, 0, 0, 0, PF_STATUS, true),
};
/* clang-format on */

_Static_assert(VU_SZ_TABLE_MAX <= VU_PAYLOAD_MAX, "rx buffer too small");
_Static_assert(VU_SZ_CONFIG_MAX <= VU_PAYLOAD_MAX, "rx buffer too small");
_Static_assert(VU_SZ_IOTLB == 32, "vhost_iotlb_msg is 32 bytes on the wire");
_Static_assert(VU_SZ_STATE == 8 && VU_SZ_ADDR == 40 && VU_SZ_SINGLE == 40,
	       "uapi struct sizes differ from the vhost-user wire format");

static const struct vu_msg_desc *vu_msg_desc(uint32_t request)
{
	if (request >= VSW_VU_REQ__MAX || vu_msgs[request].name == NULL)
		return NULL;
	return &vu_msgs[request];
}

const char *vsw_vu_request_name(uint32_t request)
{
	const struct vu_msg_desc *d = vu_msg_desc(request);

	return d != NULL ? d->name : NULL;
}

/* ------------------------------------------------------------------ */
/* Replies and payload access                                          */
/* ------------------------------------------------------------------ */

static uint64_t vu_u64(const struct vu_msg *m)
{
	uint64_t v;

	memcpy(&v, m->payload, sizeof(v));
	return v;
}

static int vu_reply_u64(struct vsw_vu *vu, const struct vu_msg *m, uint64_t v)
{
	return vu_sock_send(vu, m->hdr->request, &v, sizeof(v));
}

static int vu_take_fd(struct vu_msg *m, unsigned i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

static void vu_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool vu_packed(const struct vsw_vu *vu)
{
	return vu->features & (1ULL << VIRTIO_F_RING_PACKED);
}

/* ------------------------------------------------------------------ */
/* Queues                                                              */
/* ------------------------------------------------------------------ */

static int vu_queue_index(struct vsw_vu *vu, uint32_t idx)
{
	if (idx >= vu->dev->num_queues)
		return vu_fail(vu, -ERANGE,
			       "queue index %" PRIu32 " out of range (%" PRIu32
			       " queues)",
			       idx, vu->dev->num_queues);
	return 0;
}

static void vu_queue_info(const struct vsw_vu *vu, uint32_t idx,
			  struct vsw_vu_queue *info)
{
	const struct vu_queue *q = &vu->queues[idx];

	info->index = idx;
	info->vq = q->vq;
	info->kick_fd = q->kick_fd;
	info->call_fd = q->call_fd;
	info->err_fd = q->err_fd;
	info->features = vu->features;
	info->num = q->num;
}

/* front-end address -> guest-physical, through the region holding it */
int vu_uva_to_gpa(const struct vsw_vu *vu, uint64_t uva, uint64_t *gpa)
{
	unsigned i;

	for (i = 0; i < vu->nregions; i++) {
		const struct vsw_vu_mem_region *r = &vu->regions[i].r;

		if (uva >= r->uva && uva - r->uva < r->size) {
			*gpa = r->gpa + (uva - r->uva);
			return 0;
		}
	}
	return -EFAULT;
}

/*
 * 0 with *gpa set; 1: IOVA not translatable yet (the queue waits for the
 * IOTLB); negative errno: refused.
 */
static int vu_ring_area(struct vsw_vu *vu, uint32_t idx, const char *what,
			uint64_t uva, uint64_t len, uint32_t perm,
			uint64_t *gpa)
{
	if (vu_iotlb_on(vu))
		return vu_iotlb_ring(vu, idx, what, uva, len, perm, gpa);
	if (vu_uva_to_gpa(vu, uva, gpa) < 0 ||
	    vsw_mem_translate(&vu->mem, *gpa, len) == NULL)
		return vu_fail(vu, -EFAULT,
			       "queue %" PRIu32 ": %s ring at 0x%" PRIx64
			       " (+%" PRIu64 ") outside guest memory",
			       idx, what, uva, len);
	return 0;
}

void vu_ring_spans(const struct vsw_vu *vu, const struct vu_queue *q,
		   uint64_t addr[3], uint64_t len[3])
{
	addr[0] = q->desc_uva;
	addr[1] = q->avail_uva;
	addr[2] = q->used_uva;
	len[0] = 16ULL * q->num;
	if (vu_packed(vu)) {
		len[1] = len[2] = sizeof(struct vring_packed_desc_event);
	} else {
		len[1] = 2 * (3ULL + q->num); /* flags idx ring[] used_event */
		len[2] = 6 + 8ULL * q->num; /* flags idx ring[] avail_event */
	}
}

/*
 * Start the queue if it has everything: size, addresses, a kick (fd or
 * no-fd), memory, and is enabled (and, behind an IOMMU, IOTLB entries for
 * its rings). 0 if started or not ready yet.
 */
static int vu_queue_try_start(struct vsw_vu *vu, uint32_t idx)
{
	struct vu_queue *q = &vu->queues[idx];
	struct vsw_vq_dev_config cfg = {0};
	struct vsw_vu_queue info;
	uint64_t addr[3], len[3], log_used;
	struct vsw_vq_dev *vq;
	uint32_t base = q->base;
	int ret;

	if (q->vq != NULL || q->num == 0 || !q->addr_set || !q->kick_set ||
	    !q->enabled || vu->mem.nregions == 0)
		return 0;
	if (vsw_vq_ring_bytes(vu->features, q->num) == 0)
		return vu_fail(vu, -EINVAL,
			       "queue %" PRIu32 ": ring size %" PRIu32
			       " invalid for the ring type",
			       idx, q->num);
	vu_ring_spans(vu, q, addr, len);
	if (vu_packed(vu)) {
		/* QEMU sends avail | used << 16; the used half restarts at the
		 * avail position (vsw_vq_dev_set_base drops in-flight) */
		base &= 0xffff;
	} else {
		if (base > 0xffff)
			return vu_fail(vu, -EINVAL,
				       "queue %" PRIu32
				       ": vring base 0x%" PRIx32
				       " does not fit 16 bits",
				       idx, base);
	}
	/* the device writes the used ring (packed: descriptors) and reads it */
	ret = vu_ring_area(vu, idx, "descriptor", addr[0], len[0],
			   vu_packed(vu) ? VSW_IOTLB_RW : VSW_IOTLB_R,
			   &cfg.addrs.desc);
	if (ret == 0)
		ret = vu_ring_area(vu, idx, "driver (avail)", addr[1], len[1],
				   VSW_IOTLB_R, &cfg.addrs.driver);
	if (ret == 0)
		ret = vu_ring_area(vu, idx, "device (used)", addr[2], len[2],
				   VSW_IOTLB_RW, &cfg.addrs.device);
	if (ret == 0) /* migrating: where its ring writes are logged */
		ret = vu_log_ring_gpa(vu, idx, len[2], &log_used);
	if (ret != 0)
		return ret < 0 ? ret : 0; /* 1: waits for IOTLB entries */
	cfg.features = vu->features;
	cfg.num = q->num;
	cfg.mem = &vu->mem;
	cfg.iotlb = vu_iotlb_dom(vu);
	if (vu->dev->queue_read_only != NULL &&
	    vu->dev->queue_read_only(vu->dev->opaque, idx, vu->features))
		cfg.flags |= VSW_VQ_DEV_F_READ_ONLY;
	ret = vsw_vq_dev_create(&cfg, &vq);
	if (ret < 0)
		return vu_fail(vu, ret, "queue %" PRIu32 ": ring rejected: %s",
			       idx, strerror(-ret));
	ret = vsw_vq_dev_set_base(vq, base);
	if (ret < 0) {
		vsw_vq_dev_destroy(vq);
		return vu_fail(vu, ret,
			       "queue %" PRIu32 ": vring base 0x%" PRIx32
			       " rejected",
			       idx, base);
	}
	vu_log_attach(vu, vq, log_used); /* migrating: the dirty log */
	q->vq = vq;
	vu_queue_info(vu, idx, &info);
	ret = vu->dev->queue_start(vu->dev->opaque, &info);
	if (ret < 0) {
		q->vq = NULL;
		vsw_vq_dev_destroy(vq);
		return vu_fail(vu, ret,
			       "queue %" PRIu32
			       ": device refused to start it: %s",
			       idx, strerror(-ret));
	}
	vu_log(vu, VSW_LOG_DEBUG,
	       "queue %" PRIu32 " started (size %" PRIu32 ", base %" PRIu32
	       "%s)",
	       idx, q->num, base,
	       (cfg.flags & VSW_VQ_DEV_F_READ_ONLY) ? ", read-only" : "");
	return 0;
}

void vu_queue_stop(struct vsw_vu *vu, uint32_t idx)
{
	struct vu_queue *q = &vu->queues[idx];
	struct vsw_vu_queue info;

	if (q->vq == NULL)
		return;
	vu_queue_info(vu, idx, &info);
	vu->dev->queue_stop(vu->dev->opaque, &info);
	q->base = vsw_vq_dev_get_base(q->vq);
	vsw_vq_dev_destroy(q->vq);
	q->vq = NULL;
	vu_log(vu, VSW_LOG_DEBUG,
	       "queue %" PRIu32 " stopped (base %" PRIu32 ")", idx, q->base);
}

static bool vu_any_running(const struct vsw_vu *vu)
{
	uint32_t i;

	for (i = 0; i < vu->dev->num_queues; i++)
		if (vu->queues[i].vq != NULL)
			return true;
	return false;
}

void vu_stop_all(struct vsw_vu *vu)
{
	uint32_t i;

	for (i = 0; i < vu->dev->num_queues; i++)
		vu_queue_stop(vu, i);
}

int vu_start_all(struct vsw_vu *vu)
{
	uint32_t i;
	int ret;

	for (i = 0; i < vu->dev->num_queues; i++) {
		ret = vu_queue_try_start(vu, i);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Forget a queue's configuration (it must be stopped). */
static void vu_queue_clear(struct vu_queue *q)
{
	vu_close_fd(&q->kick_fd);
	vu_close_fd(&q->call_fd);
	vu_close_fd(&q->err_fd);
	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = q->err_fd = -1;
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

static bool vu_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			      uint64_t blen)
{
	/* both ranges were checked not to wrap */
	return a < b + blen && b < a + alen;
}

/* Checks of one region on its own and against others (before mapping). */
static int vu_region_check(struct vsw_vu *vu, const struct vsw_vu_mem_region *r,
			   const struct vsw_vu_mem_region *others,
			   size_t stride, unsigned nothers)
{
	unsigned i;

	if (r->size == 0)
		return vu_fail(vu, -EINVAL,
			       "region at gpa 0x%" PRIx64 " has size 0",
			       r->gpa);
	if (r->gpa > UINT64_MAX - r->size || r->uva > UINT64_MAX - r->size ||
	    r->mmap_offset > UINT64_MAX - r->size ||
	    r->mmap_offset > (uint64_t)INT64_MAX - r->size)
		return vu_fail(vu, -EINVAL,
			       "region at gpa 0x%" PRIx64 " size 0x%" PRIx64
			       " wraps 64 bits",
			       r->gpa, r->size);
	for (i = 0; i < nothers; i++) {
		const struct vsw_vu_mem_region *o =
			(const void *)((const uint8_t *)others + i * stride);

		if (vu_ranges_overlap(r->gpa, r->size, o->gpa, o->size))
			return vu_fail(vu, -EINVAL,
				       "regions at gpa 0x%" PRIx64
				       " and 0x%" PRIx64 " overlap",
				       r->gpa, o->gpa);
		if (vu_ranges_overlap(r->uva, r->size, o->uva, o->size))
			return vu_fail(vu, -EINVAL,
				       "regions at uva 0x%" PRIx64
				       " and 0x%" PRIx64 " overlap",
				       r->uva, o->uva);
	}
	return 0;
}

static void vu_region_unmap(struct vu_region *reg)
{
	if (reg->map != NULL)
		munmap(reg->map, reg->map_len);
	reg->map = NULL;
}

/* mmap a checked region from fd (which the caller closes). */
static int vu_region_map(struct vsw_vu *vu, const struct vsw_vu_mem_region *r,
			 int fd, struct vu_region *out)
{
	uint64_t align = (uint64_t)sysconf(_SC_PAGESIZE), off, skip, len;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return vu_fail(vu, -errno,
			       "region at gpa 0x%" PRIx64 ": fstat: %s", r->gpa,
			       strerror(errno));
	/* hugetlbfs reports its page size here; offsets must align to it */
	if ((uint64_t)st.st_blksize > align &&
	    (st.st_blksize & (st.st_blksize - 1)) == 0)
		align = (uint64_t)st.st_blksize;
	if (S_ISREG(st.st_mode) &&
	    r->mmap_offset + r->size > (uint64_t)st.st_size)
		return vu_fail(vu, -EINVAL,
			       "region at gpa 0x%" PRIx64 ": offset 0x%" PRIx64
			       " + size 0x%" PRIx64
			       " beyond the end of its file (0x%" PRIx64 ")",
			       r->gpa, r->mmap_offset, r->size,
			       (uint64_t)st.st_size);
	off = r->mmap_offset & ~(align - 1);
	skip = r->mmap_offset - off;
	if (r->size > SIZE_MAX - skip - align)
		return vu_fail(vu, -EINVAL,
			       "region at gpa 0x%" PRIx64 " too large to map",
			       r->gpa);
	len = VSW_ALIGN_UP(skip + r->size, align);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, (off_t)off);
	if (p == MAP_FAILED)
		return vu_fail(vu, -errno,
			       "region at gpa 0x%" PRIx64 ": mmap of 0x%" PRIx64
			       " bytes failed: %s",
			       r->gpa, len, strerror(errno));
	out->r = *r;
	out->map = p;
	out->map_len = len;
	out->hva = (uint8_t *)p + skip;
	out->refs = 1;
	return 0;
}

static int vu_mem_rebuild(struct vsw_vu *vu)
{
	unsigned i;
	int ret;

	/* IOTLB entries point into the old mappings (queues are stopped) */
	vu_iotlb_flush(vu);
	vsw_mem_init(&vu->mem);
	for (i = 0; i < vu->nregions; i++) {
		const struct vu_region *reg = &vu->regions[i];

		ret = vsw_mem_add(&vu->mem, reg->r.gpa, reg->r.size, reg->hva,
				  reg->r.mmap_offset);
		if (ret < 0)
			return vu_fail(vu, ret,
				       "region at gpa 0x%" PRIx64
				       " rejected by the memory table",
				       reg->r.gpa);
	}
	return 0;
}

static void vu_mem_unmap_all(struct vsw_vu *vu)
{
	unsigned i;

	for (i = 0; i < vu->nregions; i++)
		vu_region_unmap(&vu->regions[i]);
	vu->nregions = 0;
	vsw_mem_init(&vu->mem);
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */
/* ------------------------------------------------------------------ */

static int vu_get_features(struct vsw_vu *vu, struct vu_msg *m)
{
	return vu_reply_u64(vu, m, vu->offered);
}

static int vu_set_features(struct vsw_vu *vu, struct vu_msg *m)
{
	uint64_t v = vu_u64(m);
	bool restart;
	uint32_t i;

	if (v & ~vu->offered)
		return vu_fail(vu, -EINVAL,
			       "feature bits 0x%" PRIx64 " were not offered",
			       v & ~vu->offered);
	/* running rings were created with the old features */
	restart = vu->features_set && v != vu->features && vu_any_running(vu);
	if (restart)
		vu_stop_all(vu);
	vu->features = v;
	vu->features_set = true;
	/* without protocol features a ring is enabled from the start */
	if (!(v & (1ULL << VSW_VU_F_PROTOCOL_FEATURES)))
		for (i = 0; i < vu->dev->num_queues; i++)
			vu->queues[i].enabled = true;
	return vu_start_all(vu);
}

static int vu_get_protocol_features(struct vsw_vu *vu, struct vu_msg *m)
{
	return vu_reply_u64(vu, m, vu->pf_offered);
}

static int vu_set_protocol_features(struct vsw_vu *vu, struct vu_msg *m)
{
	uint64_t v = vu_u64(m);

	if (v & ~vu->pf_offered)
		return vu_fail(vu, -EINVAL,
			       "protocol feature bits 0x%" PRIx64
			       " were not offered",
			       v & ~vu->pf_offered);
	vu->pfeatures = v;
	vu->pf_set = true;
	return 0;
}

static int vu_set_owner(struct vsw_vu *vu, struct vu_msg *m)
{
	(void)m;
	if (vu->owner)
		return vu_fail(vu, -EBUSY, "session already owned");
	vu->owner = true;
	return 0;
}

static int vu_reset_owner(struct vsw_vu *vu, struct vu_msg *m)
{
	uint32_t i;

	(void)m;
	/* deprecated: the spec recommends treating it as "disable rings" */
	vu_stop_all(vu);
	for (i = 0; i < vu->dev->num_queues; i++)
		vu->queues[i].enabled = false;
	return 0;
}

static int vu_reset_device(struct vsw_vu *vu, struct vu_msg *m)
{
	uint32_t i;

	(void)m;
	vu_stop_all(vu);
	for (i = 0; i < vu->dev->num_queues; i++)
		vu_queue_clear(&vu->queues[i]);
	vu->features = 0;
	vu->features_set = false;
	vu->status = 0;
	vu_iotlb_flush(vu);
	return 0;
}

static int vu_set_mem_table(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vsw_vu_mem_table t = {0};
	struct vu_region fresh[VSW_VU_MEM_TABLE_MAX] = {{{0}}};
	uint32_t n, i;
	int ret;

	memcpy(&t, m->payload, m->hdr->size);
	n = t.nregions;
	if (n == 0 || n > VSW_VU_MEM_TABLE_MAX)
		return vu_fail(vu, -EINVAL,
			       "%" PRIu32 " regions (1..%d allowed)", n,
			       VSW_VU_MEM_TABLE_MAX);
	if (m->hdr->size != 8 + n * sizeof(struct vsw_vu_mem_region))
		return vu_fail(vu, -EBADMSG,
			       "payload of %" PRIu32 " bytes for %" PRIu32
			       " regions",
			       m->hdr->size, n);
	if (m->nfds != n)
		return vu_fail(vu, -EBADMSG, "%u fds for %" PRIu32 " regions",
			       m->nfds, n);
	for (i = 0; i < n; i++) {
		ret = vu_region_check(vu, &t.regions[i], t.regions,
				      sizeof(t.regions[0]), i);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = vu_region_map(vu, &t.regions[i], m->fds[i], &fresh[i]);
		if (ret < 0)
			goto unmap;
	}
	/* the rings read through the old table: stop them, then swap */
	vu_stop_all(vu);
	vu_mem_unmap_all(vu);
	memcpy(vu->regions, fresh, n * sizeof(fresh[0]));
	vu->nregions = n;
	ret = vu_mem_rebuild(vu);
	if (ret < 0)
		return ret; /* the connection closes and unmaps everything */
	vu_log(vu, VSW_LOG_DEBUG, "memory table: %" PRIu32 " regions", n);
	return vu_start_all(vu);
unmap:
	while (i-- > 0)
		vu_region_unmap(&fresh[i]);
	return ret;
}

static int vu_get_max_mem_slots(struct vsw_vu *vu, struct vu_msg *m)
{
	return vu_reply_u64(vu, m, VSW_MEM_MAX_REGIONS);
}

static int vu_add_mem_reg(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vsw_vu_mem_single s;
	struct vu_region fresh = {{0}};
	int ret;

	unsigned i;

	memcpy(&s, m->payload, sizeof(s));
	/* the same region again (one per queue pair): count it, map once */
	for (i = 0; i < vu->nregions; i++) {
		const struct vsw_vu_mem_region *r = &vu->regions[i].r;

		if (r->gpa == s.region.gpa && r->uva == s.region.uva &&
		    r->size == s.region.size &&
		    r->mmap_offset == s.region.mmap_offset) {
			vu->regions[i].refs++;
			return 0;
		}
	}
	if (vu->nregions >= VSW_MEM_MAX_REGIONS)
		return vu_fail(vu, -ENOSPC, "memory table full (%d regions)",
			       VSW_MEM_MAX_REGIONS);
	ret = vu_region_check(vu, &s.region, &vu->regions[0].r,
			      sizeof(vu->regions[0]), vu->nregions);
	if (ret < 0)
		return ret;
	ret = vu_region_map(vu, &s.region, m->fds[0], &fresh);
	if (ret < 0)
		return ret;
	vu_stop_all(vu);
	vu->regions[vu->nregions++] = fresh;
	ret = vu_mem_rebuild(vu);
	if (ret < 0)
		return ret;
	return vu_start_all(vu);
}

static int vu_rem_mem_reg(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vsw_vu_mem_single s;
	unsigned i;
	int ret;

	memcpy(&s, m->payload, sizeof(s));
	for (i = 0; i < vu->nregions; i++) {
		const struct vsw_vu_mem_region *r = &vu->regions[i].r;

		if (r->gpa == s.region.gpa && r->uva == s.region.uva &&
		    r->size == s.region.size)
			break;
	}
	if (i == vu->nregions)
		return vu_fail(vu, -ENOENT,
			       "no region at gpa 0x%" PRIx64 " uva 0x%" PRIx64
			       " size 0x%" PRIx64,
			       s.region.gpa, s.region.uva, s.region.size);
	if (vu->regions[i].refs > 1) {
		vu->regions[i].refs--;
		return 0;
	}
	vu_stop_all(vu);
	vu_region_unmap(&vu->regions[i]);
	memmove(&vu->regions[i], &vu->regions[i + 1],
		(vu->nregions - i - 1) * sizeof(vu->regions[0]));
	vu->nregions--;
	ret = vu_mem_rebuild(vu);
	if (ret < 0)
		return ret;
	return vu_start_all(vu);
}

static int vu_state(struct vsw_vu *vu, const struct vu_msg *m,
		    struct vhost_vring_state *s)
{
	memcpy(s, m->payload, sizeof(*s));
	return vu_queue_index(vu, s->index);
}

static int vu_set_vring_num(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vhost_vring_state s;
	int ret = vu_state(vu, m, &s);

	if (ret < 0)
		return ret;
	if (vu->queues[s.index].vq != NULL)
		return vu_fail(vu, -EBUSY, "queue %u is running", s.index);
	if (vsw_vq_ring_bytes(vu->features, s.num) == 0)
		return vu_fail(vu, -EINVAL, "queue %u: ring size %u invalid",
			       s.index, s.num);
	vu->queues[s.index].num = s.num;
	return 0;
}

static int vu_set_vring_base(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vhost_vring_state s;
	int ret = vu_state(vu, m, &s);

	if (ret < 0)
		return ret;
	if (vu->queues[s.index].vq != NULL)
		return vu_fail(vu, -EBUSY, "queue %u is running", s.index);
	vu->queues[s.index].base = s.num;
	return 0;
}

static int vu_get_vring_base(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vhost_vring_state s;
	struct vu_queue *q;
	int ret = vu_state(vu, m, &s);

	if (ret < 0)
		return ret;
	q = &vu->queues[s.index];
	/* the ring stops here; it restarts on the next SET_VRING_KICK */
	vu_queue_stop(vu, s.index);
	vu_close_fd(&q->kick_fd);
	vu_close_fd(&q->call_fd);
	q->kick_set = false;
	s.num = q->base;
	if (vu_packed(vu)) /* used half = avail half: nothing in flight */
		s.num = (q->base & 0xffff) | (q->base & 0xffff) << 16;
	return vu_sock_send(vu, m->hdr->request, &s, sizeof(s));
}

static int vu_set_vring_addr(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vhost_vring_addr a;
	struct vu_queue *q;
	uint64_t gpa;
	int ret;

	memcpy(&a, m->payload, sizeof(a));
	ret = vu_queue_index(vu, a.index);
	if (ret < 0)
		return ret;
	ret = vu_log_check_addr(vu, &a); /* VHOST_VRING_F_LOG */
	if (ret < 0)
		return ret;
	if (vu->nregions == 0)
		return vu_fail(vu, -EPROTO,
			       "queue %u: ring addresses before "
			       "any memory table",
			       a.index);
	/* IOVAs behind an IOMMU: checked when translated, at start */
	if (!vu_iotlb_on(vu) &&
	    (vu_uva_to_gpa(vu, a.desc_user_addr, &gpa) < 0 ||
	     vu_uva_to_gpa(vu, a.avail_user_addr, &gpa) < 0 ||
	     vu_uva_to_gpa(vu, a.used_user_addr, &gpa) < 0))
		return vu_fail(vu, -EFAULT,
			       "queue %u: ring address outside "
			       "guest memory (desc 0x%llx avail 0x%llx used "
			       "0x%llx)",
			       a.index, (unsigned long long)a.desc_user_addr,
			       (unsigned long long)a.avail_user_addr,
			       (unsigned long long)a.used_user_addr);
	q = &vu->queues[a.index];
	/* a running ring moves: stop it, it restarts on the new addresses */
	vu_queue_stop(vu, a.index);
	q->desc_uva = a.desc_user_addr;
	q->avail_uva = a.avail_user_addr;
	q->used_uva = a.used_user_addr;
	q->log_ring = a.flags & (1U << VHOST_VRING_F_LOG);
	q->log_gpa = a.log_guest_addr;
	q->addr_set = true;
	return vu_queue_try_start(vu, a.index);
}

/* SET_VRING_KICK / CALL / ERR */
static int vu_set_vring_fd(struct vsw_vu *vu, struct vu_msg *m)
{
	uint64_t v = vu_u64(m);
	uint32_t idx = (uint32_t)(v & VSW_VU_VRING_IDX_MASK);
	bool nofd = v & VSW_VU_VRING_NOFD_MASK;
	uint32_t req = m->hdr->request;
	struct vu_queue *q;
	int ret, fd, *slot;

	if (v & ~(uint64_t)(VSW_VU_VRING_IDX_MASK | VSW_VU_VRING_NOFD_MASK))
		return vu_fail(vu, -EINVAL, "reserved bits set in 0x%" PRIx64,
			       v);
	ret = vu_queue_index(vu, idx);
	if (ret < 0)
		return ret;
	if (nofd && m->nfds != 0)
		return vu_fail(vu, -EBADMSG, "fd sent with the no-fd flag");
	if (!nofd && m->nfds != 1)
		return vu_fail(vu, -EBADMSG, "no fd and no no-fd flag");
	q = &vu->queues[idx];
	if (req == VSW_VU_REQ_SET_VRING_KICK)
		slot = &q->kick_fd;
	else if (req == VSW_VU_REQ_SET_VRING_CALL)
		slot = &q->call_fd;
	else
		slot = &q->err_fd;
	/* the device holds the old fds while running: restart around it */
	vu_queue_stop(vu, idx);
	fd = nofd ? -1 : vu_take_fd(m, 0);
	vu_close_fd(slot);
	*slot = fd;
	if (req == VSW_VU_REQ_SET_VRING_KICK)
		q->kick_set = true;
	return vu_queue_try_start(vu, idx);
}

static int vu_get_queue_num(struct vsw_vu *vu, struct vu_msg *m)
{
	return vu_reply_u64(vu, m, vu->dev->num_queues);
}

static int vu_set_vring_enable(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vhost_vring_state s;
	int ret = vu_state(vu, m, &s);

	if (ret < 0)
		return ret;
	/*
	 * Allowed once PROTOCOL_FEATURES is negotiated. QEMU (7.2) sends it
	 * before SET_FEATURES, right after SET_PROTOCOL_FEATURES, which a
	 * front-end only sends when we offered the bit: that counts too.
	 */
	if (!(vu->features & (1ULL << VSW_VU_F_PROTOCOL_FEATURES)) &&
	    !vu->pf_set)
		return vu_fail(vu, -EPROTO, "PROTOCOL_FEATURES not negotiated");
	if (s.num > 1)
		return vu_fail(vu, -EINVAL, "queue %u: enable value %u",
			       s.index, s.num);
	vu->queues[s.index].enabled = s.num;
	if (s.num == 0) {
		vu_queue_stop(vu, s.index);
		return 0;
	}
	return vu_queue_try_start(vu, s.index);
}

static int vu_net_set_mtu(struct vsw_vu *vu, struct vu_msg *m)
{
	uint64_t v = vu_u64(m);
	int ret;

	if (v < 68 || v > 65535) {
		vu_log(vu, VSW_LOG_WARN, "NET_SET_MTU: %" PRIu64 " refused",
		       v);
		return VU_NACK;
	}
	ret = vu->dev->mtu_set(vu->dev->opaque, (uint16_t)v);
	if (ret < 0) {
		vu_log(vu, VSW_LOG_WARN,
		       "NET_SET_MTU: device refused %" PRIu64 ": %s", v,
		       strerror(-ret));
		return VU_NACK;
	}
	return 0;
}

static int vu_set_status(struct vsw_vu *vu, struct vu_msg *m)
{
	uint64_t v = vu_u64(m);
	int ret = 0;

	if (v > 0xff)
		return vu_fail(vu, -EINVAL,
			       "status 0x%" PRIx64 " does not fit 8 bits", v);
	if (vu->dev->status_set != NULL)
		ret = vu->dev->status_set(vu->dev->opaque, (uint8_t)v);
	if (ret < 0) {
		vu_log(vu, VSW_LOG_WARN,
		       "SET_STATUS: device refused 0x%" PRIx64 ": %s", v,
		       strerror(-ret));
		return VU_NACK;
	}
	vu->status = (uint8_t)v;
	return 0;
}

static int vu_get_status(struct vsw_vu *vu, struct vu_msg *m)
{
	return vu_reply_u64(vu, m, vu->status);
}

/* SET_BACKEND_REQ_FD: the fd we send IOTLB misses on. */
static int vu_set_backend_req_fd(struct vsw_vu *vu, struct vu_msg *m)
{
	if (vu->iotlb == NULL)
		return vu_fail(vu, -EPROTO, "no IOTLB here");
	vu_iotlb_set_req_fd(vu, vu_take_fd(m, 0));
	return 0;
}

static int vu_iotlb_msg_exec(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vhost_iotlb_msg im;

	memcpy(&im, m->payload, sizeof(im));
	if (!vu_iotlb_on(vu))
		return vu_fail(vu, -EPROTO,
			       "VIRTIO_F_ACCESS_PLATFORM not negotiated");
	return vu_iotlb_msg(vu, &im);
}

/*
 * GET_CONFIG / SET_CONFIG: the window must lie inside the 256 bytes the
 * protocol allows and the payload must hold exactly its bytes.
 */
static int vu_config_window(struct vsw_vu *vu, const struct vu_msg *m,
			    struct vsw_vu_config_msg *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c, m->payload, m->hdr->size);
	if (c->size > VSW_VU_CONFIG_MAX ||
	    c->offset > VSW_VU_CONFIG_MAX - c->size)
		return vu_fail(vu, -EINVAL,
			       "config window %" PRIu32 "+%" PRIu32
			       " outside %d bytes",
			       c->offset, c->size, VSW_VU_CONFIG_MAX);
	if (m->hdr->size != VSW_VU_CONFIG_HDR + c->size)
		return vu_fail(vu, -EMSGSIZE,
			       "payload of %" PRIu32 " bytes for a %" PRIu32
			       "-byte window",
			       m->hdr->size, c->size);
	return 0;
}

static int vu_get_config(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vsw_vu_config_msg c;
	int ret = vu_config_window(vu, m, &c);

	if (ret < 0)
		return ret;
	memset(c.region, 0, sizeof(c.region));
	ret = vu->dev->config_get(vu->dev->opaque, c.offset, c.region, c.size);
	if (ret < 0) {
		/* libvhost-user's way: a reply without the config. */
		vu_log(vu, VSW_LOG_WARN, "GET_CONFIG: device refused: %s",
		       strerror(-ret));
		return vu_sock_send(vu, m->hdr->request, NULL, 0);
	}
	return vu_sock_send(vu, m->hdr->request, &c,
			    VSW_VU_CONFIG_HDR + c.size);
}

static int vu_set_config(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vsw_vu_config_msg c;
	int ret = vu_config_window(vu, m, &c);

	if (ret < 0)
		return ret;
	ret = -EPERM;
	if (vu->dev->config_set != NULL)
		ret = vu->dev->config_set(vu->dev->opaque, c.offset, c.region,
					  c.size, c.flags);
	if (ret < 0) {
		vu_log(vu, VSW_LOG_WARN,
		       "SET_CONFIG: device refused %" PRIu32 "+%" PRIu32 ": %s",
		       c.offset, c.size, strerror(-ret));
		return VU_NACK;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

static int vu_check_hdr(struct vsw_vu *vu)
{
	const struct vsw_vu_hdr *h = &vu->rx.hdr;
	const struct vu_msg_desc *d = vu_msg_desc(h->request);

	if (d == NULL)
		return vu_fail(vu, -EOPNOTSUPP, "unknown request");
	if (d->handler == NULL)
		return vu_fail(vu, -EOPNOTSUPP, "request not supported");
	if ((h->flags & VSW_VU_FLAG_VERSION_MASK) != VSW_VU_FLAG_VERSION)
		return vu_fail(vu, -EPROTO, "protocol version %u",
			       h->flags & VSW_VU_FLAG_VERSION_MASK);
	if (h->flags & VSW_VU_FLAG_REPLY)
		return vu_fail(vu, -EPROTO, "reply flag set on a request");
	if (h->size < d->size_min || h->size > d->size_max)
		return vu_fail(vu, -EMSGSIZE,
			       "payload of %" PRIu32 " bytes (%u..%u expected)",
			       h->size, d->size_min, d->size_max);
	return 0;
}

static bool vu_pf(const struct vsw_vu *vu, unsigned bit)
{
	return vu->pfeatures & (1ULL << bit);
}

static int vu_dispatch(struct vsw_vu *vu)
{
	const struct vsw_vu_hdr *h = &vu->rx.hdr;
	const struct vu_msg_desc *d = vu_msg_desc(h->request);
	struct vu_msg m = {
		.hdr = h,
		.payload = vu->rx.buf + VU_HDR_SIZE,
		.fds = vu->rx.fds,
		.nfds = vu->rx.nfds,
	};
	bool ack = (h->flags & VSW_VU_FLAG_NEED_REPLY) && !d->reply &&
		   vu_pf(vu, VSW_VU_PF_REPLY_ACK);
	int ret;

	vu_log(vu, VSW_LOG_DEBUG, "%s (%" PRIu32 " bytes, %u fds)", d->name,
	       h->size, m.nfds);
	if (vu->rx.fds_overflow)
		ret = vu_fail(vu, -EBADMSG, "more than %d fds", VSW_VU_MAX_FDS);
	else if (m.nfds < d->fds_min || m.nfds > d->fds_max)
		ret = vu_fail(vu, -EBADMSG, "%u fds (%u..%u expected)", m.nfds,
			      d->fds_min, d->fds_max);
	else if (d->pf != VU_PF_NONE && !vu_pf(vu, (unsigned)d->pf))
		ret = vu_fail(vu, -EPROTO,
			      "protocol feature %d not "
			      "negotiated",
			      d->pf);
	else
		ret = d->handler(vu, &m);
	if (ack) {
		uint64_t v = ret == 0 ? 0 : 1;
		int sret = vu_sock_send(vu, h->request, &v, sizeof(v));

		if (ret >= 0 && sret < 0)
			ret = sret;
	}
	return ret == VU_NACK ? 0 : ret;
}

/* ------------------------------------------------------------------ */
/* Connection lifetime                                                 */
/* ------------------------------------------------------------------ */

static void vu_conn_state_init(struct vsw_vu *vu)
{
	uint32_t i;

	for (i = 0; i < vu->dev->num_queues; i++)
		vu_queue_clear(&vu->queues[i]);
	vu->features = 0;
	vu->features_set = false;
	vu->pfeatures = 0;
	vu->owner = false;
	vu->status = 0;
	vu->why[0] = '\0';
}

static void vu_conn_close(struct vsw_vu *vu)
{
	if (vu->conn_fd < 0)
		return;
	vu_stop_all(vu);
	vu_conn_state_init(vu);
	vu_iotlb_reset(vu);
	vu_mem_unmap_all(vu);
	vu_log_reset(&vu->dlog);
	vu_rx_reset(&vu->rx);
	close(vu->conn_fd);
	vu->conn_fd = -1;
	if (vu->mode == VSW_VU_CLIENT) {
		vu->retry_ms = vu->retry_min_ms;
		vu->next_try_ms = vsw_now_ms() + vu->retry_ms;
	}
	if (vu->dev->disconnected != NULL)
		vu->dev->disconnected(vu->dev->opaque);
}

void vsw_vu_disconnect(struct vsw_vu *vu)
{
	if (vu->conn_fd >= 0)
		vu_log(vu, VSW_LOG_INFO, "connection closed locally");
	vu_conn_close(vu);
}

static int vu_try_connect(struct vsw_vu *vu)
{
	uint64_t now = vsw_now_ms();
	int ret;

	if (now < vu->next_try_ms)
		return 0;
	ret = vu_sock_connect(vu);
	if (ret < 0) {
		vu->next_try_ms = now + vu->retry_ms;
		vu_log(vu, VSW_LOG_DEBUG, "connect: %s (retry in %u ms)",
		       strerror(-ret), vu->retry_ms);
		vu->retry_ms = vu->retry_ms * 2 > vu->retry_max_ms
				       ? vu->retry_max_ms
				       : vu->retry_ms * 2;
		return 0;
	}
	vu->retry_ms = vu->retry_min_ms;
	vu_log(vu, VSW_LOG_INFO, "connected to the front-end");
	return 0;
}

int vsw_vu_handle(struct vsw_vu *vu)
{
	const char *name;
	bool have_hdr;
	uint32_t req;
	int ret;

	if (vu->conn_fd < 0) {
		switch (vu->mode) {
		case VSW_VU_SERVER:
			ret = vu_sock_accept(vu);
			if (ret == -EAGAIN || ret == -EINTR ||
			    ret == -ECONNABORTED)
				return 0;
			if (ret < 0) {
				vu_log(vu, VSW_LOG_WARN, "accept: %s",
				       strerror(-ret));
				return ret;
			}
			vu_log(vu, VSW_LOG_INFO, "front-end connected");
			return 0;
		case VSW_VU_CLIENT:
			return vu_try_connect(vu);
		case VSW_VU_FD:
			break;
		}
		return -ENOTCONN;
	}
	ret = vu_sock_recv(vu, vu_check_hdr);
	if (ret == 0)
		return 0;
	have_hdr = vu->rx.have >= VU_HDR_SIZE;
	req = vu->rx.hdr.request;
	if (ret > 0)
		ret = vu_dispatch(vu);
	vu_rx_reset(&vu->rx);
	if (ret == 0)
		return 0;
	if (ret == -ECONNRESET || ret == -EPIPE) {
		vu_log(vu, VSW_LOG_INFO, "front-end disconnected");
		ret = -ECONNRESET;
	} else if (!have_hdr) {
		vu_log(vu, VSW_LOG_ERR, "closing connection: %s", vu->why);
	} else if ((name = vsw_vu_request_name(req)) != NULL) {
		vu_log(vu, VSW_LOG_ERR, "closing connection: %s: %s", name,
		       vu->why);
	} else {
		vu_log(vu, VSW_LOG_ERR,
		       "closing connection: request %" PRIu32 ": %s", req,
		       vu->why);
	}
	vu_conn_close(vu);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Object                                                              */
/* ------------------------------------------------------------------ */

int vsw_vu_create(const struct vsw_vu_config *cfg, struct vsw_vu **out)
{
	const uint64_t iommu = 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	const struct vsw_vu_device *dev;
	struct vsw_vu *vu;
	int ret = -EINVAL;
	uint32_t i;

	if (cfg == NULL || out == NULL || cfg->dev == NULL)
		goto err_fd;
	dev = cfg->dev;
	if (dev->num_queues == 0 || dev->num_queues > VSW_VU_MAX_QUEUES ||
	    dev->queue_start == NULL || dev->queue_stop == NULL ||
	    (dev->net_mtu && dev->mtu_set == NULL) ||
	    ((dev->features & iommu) && dev->sync == NULL))
		goto err_fd;
	if (cfg->mode != VSW_VU_FD &&
	    (cfg->path == NULL || cfg->path[0] == '\0'))
		goto err_fd;
	if (cfg->mode != VSW_VU_FD && cfg->mode != VSW_VU_SERVER &&
	    cfg->mode != VSW_VU_CLIENT)
		goto err_fd;
	ret = -ENOMEM;
	vu = calloc(1, sizeof(*vu));
	if (vu == NULL)
		goto err_fd;
	vu->queues = calloc(dev->num_queues, sizeof(vu->queues[0]));
	if (vu->queues == NULL)
		goto err_free;
	vu->mode = cfg->mode;
	vu->dev = dev;
	vu->offered = dev->features | (1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	vu->pf_offered = (1ULL << VSW_VU_PF_MQ) |
			 (1ULL << VSW_VU_PF_REPLY_ACK) |
			 (1ULL << VSW_VU_PF_RESET_DEVICE) |
			 (1ULL << VSW_VU_PF_CONFIGURE_MEM_SLOTS) |
			 (1ULL << VSW_VU_PF_STATUS);
	if (dev->net_mtu)
		vu->pf_offered |= 1ULL << VSW_VU_PF_NET_MTU;
	if (dev->config_get != NULL)
		vu->pf_offered |= 1ULL << VSW_VU_PF_CONFIG;
	/* live migration: the device logs its writes, or sends a RARP */
	if (dev->features & (1ULL << VHOST_F_LOG_ALL))
		vu->pf_offered |= 1ULL << VSW_VU_PF_LOG_SHMFD;
	if (dev->send_rarp != NULL)
		vu->pf_offered |= 1ULL << VSW_VU_PF_RARP;
	vu_log_init(&vu->dlog);
	if (dev->features & iommu) {
		vu->pf_offered |= 1ULL << VSW_VU_PF_BACKEND_REQ;
		ret = vu_iotlb_create(vu, cfg->iotlb_miss_timeout_ms);
		if (ret < 0)
			goto err_free;
	}
	vu->log = cfg->log;
	vu->log_opaque = cfg->log_opaque;
	vu->log_level = cfg->log_level;
	vu->listen_fd = -1;
	vu->conn_fd = -1;
	vu->retry_min_ms = cfg->retry_min_ms ? cfg->retry_min_ms : 100;
	vu->retry_max_ms = cfg->retry_max_ms ? cfg->retry_max_ms : 5000;
	if (vu->retry_max_ms < vu->retry_min_ms)
		vu->retry_max_ms = vu->retry_min_ms;
	vu->retry_ms = vu->retry_min_ms;
	vu->sock_mode = cfg->sock_mode & 07777;
	vu->sock_gid_set = cfg->sock_gid_set;
	vu->sock_gid = cfg->sock_gid;
	vu->addr.sun_family = AF_UNIX;
	for (i = 0; i < dev->num_queues; i++)
		vu->queues[i].kick_fd = vu->queues[i].call_fd =
			vu->queues[i].err_fd = -1;
	vu_conn_state_init(vu);
	vsw_mem_init(&vu->mem);

	switch (cfg->mode) {
	case VSW_VU_FD:
		if (fcntl(cfg->fd, F_SETFL,
			  fcntl(cfg->fd, F_GETFL) | O_NONBLOCK) < 0) {
			ret = -errno;
			goto err_free;
		}
		vu->conn_fd = cfg->fd;
		break;
	case VSW_VU_SERVER:
	case VSW_VU_CLIENT:
		if (strlen(cfg->path) >= sizeof(vu->addr.sun_path)) {
			ret = -ENAMETOOLONG;
			goto err_free;
		}
		strcpy(vu->addr.sun_path, cfg->path);
		if (cfg->mode == VSW_VU_SERVER) {
			ret = vu_sock_listen(vu);
			if (ret < 0)
				goto err_free;
		} else {
			vu_try_connect(vu);
		}
		break;
	}
	*out = vu;
	return 0;

err_free:
	vu_iotlb_destroy(vu);
	free(vu->queues);
	free(vu);
err_fd:
	if (cfg != NULL && cfg->mode == VSW_VU_FD && cfg->fd >= 0)
		close(cfg->fd);
	return ret;
}

void vsw_vu_destroy(struct vsw_vu *vu)
{
	if (vu == NULL)
		return;
	vu_conn_close(vu);
	if (vu->listen_fd >= 0) {
		struct stat st;

		close(vu->listen_fd);
		/* only the file it bound, not one put there since */
		if (lstat(vu->addr.sun_path, &st) == 0 &&
		    st.st_dev == vu->listen_dev && st.st_ino == vu->listen_ino)
			unlink(vu->addr.sun_path);
	}
	vu_iotlb_destroy(vu);
	free(vu->queues);
	free(vu);
}

int vsw_vu_fd(const struct vsw_vu *vu)
{
	if (vu->conn_fd >= 0)
		return vu->conn_fd;
	return vu->listen_fd; /* -1 unless SERVER */
}

int vsw_vu_timeout_ms(const struct vsw_vu *vu)
{
	uint64_t now;

	if (vu->mode != VSW_VU_CLIENT || vu->conn_fd >= 0)
		return -1;
	now = vsw_now_ms();
	if (now >= vu->next_try_ms)
		return 0;
	return (int)(vu->next_try_ms - now);
}

bool vsw_vu_connected(const struct vsw_vu *vu)
{
	return vu->conn_fd >= 0;
}

uint64_t vsw_vu_features(const struct vsw_vu *vu)
{
	return vu->features;
}

uint64_t vsw_vu_protocol_features(const struct vsw_vu *vu)
{
	return vu->pfeatures;
}

const struct vsw_mem *vsw_vu_mem(const struct vsw_vu *vu)
{
	return &vu->mem;
}
