/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end, live migration: the dirty log (VHOST_F_LOG_ALL with
 * VHOST_USER_PROTOCOL_F_LOG_SHMFD: SET_LOG_BASE, SET_LOG_FD, the log flag
 * and address of SET_VRING_ADDR) and SEND_RARP.
 *
 * The front-end (QEMU) maps a bitmap, one bit per 4 KiB guest page, shares
 * it with SET_LOG_BASE, negotiates LOG_ALL and sets VHOST_VRING_F_LOG on
 * every ring. While both hold, every guest page the back-end writes is
 * marked in it: lib/virtq marks the ring writes of each queue, the device
 * the buffers it fills (vsw_vq_dev_log_write). QEMU reads and clears the
 * bitmap while it copies memory and once more after GET_VRING_BASE stopped
 * the rings, so a page written and not marked would reach the destination
 * stale.
 *
 * A queue holds the log from its start to its stop (vu_log_attach): a new
 * log, or LOG_ALL switched on or off, restarts the running queues (the
 * feature change does so in vu_backend.c), so no data thread ever sees the
 * log change under it.
 *
 * Security model: as for vu_backend.c. The log's size and offset are
 * checked (no wrap, inside the regular file behind the fd, a sane size)
 * before it is mapped; a bad log closes the connection. A log address of a
 * ring is a guest-physical address (behind an IOMMU an IOVA, translated
 * through the IOTLB like the rings): marks outside the bitmap are dropped,
 * never written. The RARP MAC must be a unicast address.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vu_priv.h"

/*
 * Largest log accepted: 1 GiB of bitmap covers 32 TiB of guest memory.
 * Beyond that the size is a lie, not a guest.
 */
#define VU_LOG_MAX (1ULL << 30)

/* Largest split used ring: flags, idx, ring[], avail_event. */
#define VU_USED_MAX (6 + 8ULL * VSW_VQ_MAX_SIZE)

void vu_log_init(struct vu_dirty_log *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}

static void vu_log_unmap(struct vu_dirty_log *d)
{
	if (d->map != NULL)
		munmap(d->map, d->map_len);
	d->map = NULL;
	d->map_len = 0;
	d->log.bits = NULL;
	d->log.size = 0;
}

void vu_log_reset(struct vu_dirty_log *d)
{
	vu_log_unmap(d);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

bool vu_logging(const struct vsw_vu *vu)
{
	return (vu->features & (1ULL << VHOST_F_LOG_ALL)) &&
	       vu->dlog.map != NULL;
}

int vu_log_ring_gpa(struct vsw_vu *vu, uint32_t idx, uint64_t len,
		    uint64_t *gpa)
{
	const struct vu_queue *q = &vu->queues[idx];

	*gpa = UINT64_MAX;
	if (!vu_logging(vu) || !q->log_ring)
		return 0;
	if (!vu_iotlb_on(vu)) {
		*gpa = q->log_gpa;
		return 0;
	}
	/*
	 * VIRTIO_F_ACCESS_PLATFORM: log_guest_addr is an IOVA (QEMU sends
	 * the used ring's, as it sends the rings'), the bitmap is indexed by
	 * guest-physical address: IOVA -> host -> GPA, as DPDK's
	 * translate_log_addr does.
	 */
	return vu_iotlb_ring(vu, idx, "log", q->log_gpa, len, VSW_IOTLB_RW,
			     gpa);
}

void vu_log_attach(struct vsw_vu *vu, struct vsw_vq_dev *vq, uint64_t used_gpa)
{
	if (!vu_logging(vu))
		return;
	vsw_vq_dev_set_log(vq, &vu->dlog.log, used_gpa);
}

int vu_log_check_addr(struct vsw_vu *vu, const struct vhost_vring_addr *a)
{
	if (a->flags & ~(1U << VHOST_VRING_F_LOG))
		return vu_fail(vu, -EINVAL, "queue %u: flags 0x%x unsupported",
			       a->index, a->flags);
	if (!(a->flags & (1U << VHOST_VRING_F_LOG)))
		return 0;
	if (!(vu->offered & (1ULL << VHOST_F_LOG_ALL)))
		return vu_fail(vu, -EINVAL,
			       "queue %u: log flag, but LOG_ALL not offered",
			       a->index);
	if (a->log_guest_addr > UINT64_MAX - VU_USED_MAX)
		return vu_fail(vu, -EINVAL,
			       "queue %u: log address 0x%llx wraps 64 bits",
			       a->index, (unsigned long long)a->log_guest_addr);
	return 0;
}

/* mmap the log [off, off + size) of fd after checking it; 0 or -errno. */
static int vu_log_map(struct vsw_vu *vu, int fd, const struct vsw_vu_log *l,
		      struct vu_dirty_log *out)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), off, skip, len;
	struct stat st;
	void *p;

	if (l->mmap_size == 0 || l->mmap_size > VU_LOG_MAX)
		return vu_fail(vu, -EINVAL,
			       "log of %" PRIu64 " bytes (1..%llu allowed)",
			       l->mmap_size, VU_LOG_MAX);
	if (l->mmap_offset > (uint64_t)INT64_MAX - l->mmap_size)
		return vu_fail(vu, -EINVAL,
			       "log offset 0x%" PRIx64 " + size 0x%" PRIx64
			       " wraps",
			       l->mmap_offset, l->mmap_size);
	if (fstat(fd, &st) < 0)
		return vu_fail(vu, -errno, "log fd: fstat: %s",
			       strerror(errno));
	/* a memfd or a file: anything else has no size to check against */
	if (!S_ISREG(st.st_mode))
		return vu_fail(vu, -EINVAL, "log fd is not a memfd or file");
	if (l->mmap_offset + l->mmap_size > (uint64_t)st.st_size)
		return vu_fail(vu, -EINVAL,
			       "log offset 0x%" PRIx64 " + size 0x%" PRIx64
			       " beyond the end of its file (0x%" PRIx64 ")",
			       l->mmap_offset, l->mmap_size,
			       (uint64_t)st.st_size);
	off = l->mmap_offset & ~(pg - 1);
	skip = l->mmap_offset - off;
	len = VSW_ALIGN_UP(skip + l->mmap_size, pg);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED)
		return vu_fail(vu, -errno, "log: mmap of 0x%" PRIx64
			       " bytes failed: %s", len, strerror(errno));
	out->map = p;
	out->map_len = len;
	out->log.bits = (uint8_t *)p + skip;
	out->log.size = l->mmap_size;
	return 0;
}

int vu_set_log_base(struct vsw_vu *vu, struct vu_msg *m)
{
	struct vu_dirty_log fresh;
	struct vsw_vu_log l;
	bool restart;
	int ret;

	memcpy(&l, m->payload, sizeof(l));
	vu_log_init(&fresh);
	ret = vu_log_map(vu, m->fds[0], &l, &fresh);
	if (ret < 0)
		return ret;
	/* running queues mark the old log: stop them, swap, restart */
	restart = vu_logging(vu);
	if (restart)
		vu_stop_all(vu);
	vu_log_unmap(&vu->dlog);
	vu->dlog.map = fresh.map;
	vu->dlog.map_len = fresh.map_len;
	vu->dlog.log = fresh.log;
	vu_log(vu, VSW_LOG_INFO,
	       "dirty log: %" PRIu64 " bytes (guest memory up to %" PRIu64
	       " MiB)",
	       l.mmap_size, (uint64_t)(l.mmap_size * 8 * VSW_VQ_LOG_PAGE >> 20));
	/*
	 * With LOG_SHMFD the front-end waits for a reply of this request
	 * with no payload (QEMU's vhost_user_set_log_base reads it).
	 */
	ret = vu_sock_send(vu, m->hdr->request, NULL, 0);
	if (ret < 0)
		return ret;
	return restart ? vu_start_all(vu) : 0;
}

int vu_set_log_fd(struct vsw_vu *vu, struct vu_msg *m)
{
	int fd = m->fds[0];

	/*
	 * The eventfd a kernel vhost signals when it flushed its log. Our
	 * marks go straight into the shared bitmap, nothing to signal: keep
	 * it (the front-end may expect it to stay open) until replaced or
	 * the connection ends.
	 */
	m->fds[0] = -1;
	if (vu->dlog.fd >= 0)
		close(vu->dlog.fd);
	vu->dlog.fd = fd;
	return 0;
}

int vu_send_rarp(struct vsw_vu *vu, struct vu_msg *m)
{
	uint8_t mac[6];
	int ret;

	/* the u64 payload carries the MAC in its first 6 bytes */
	memcpy(mac, m->payload, sizeof(mac));
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] |
			      mac[5])) {
		vu_log(vu, VSW_LOG_WARN,
		       "SEND_RARP: %02x:%02x:%02x:%02x:%02x:%02x is not a "
		       "unicast address, ignored",
		       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return VU_NACK;
	}
	ret = vu->dev->send_rarp(vu->dev->opaque, mac);
	if (ret < 0) {
		vu_log(vu, VSW_LOG_WARN, "SEND_RARP: device refused: %s",
		       strerror(-ret));
		return VU_NACK;
	}
	vu_log(vu, VSW_LOG_INFO,
	       "SEND_RARP: announcing %02x:%02x:%02x:%02x:%02x:%02x",
	       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return 0;
}
