/* SPDX-License-Identifier: MIT */
/*
 * vsw_blk: virtio-blk requests from vhost-user queues, served with io_uring.
 *
 * Security model: the driver (the guest, or anything that reached the
 * vhost-user socket) is not trusted. lib/virtq already confines every
 * segment of a popped chain to guest memory and faults the queue on a
 * malformed ring; this file checks what a virtio-blk request adds:
 *  - the header is copied once out of the readable part (which must hold
 *    its 16 bytes) before any field is used: the guest may rewrite it;
 *  - the status byte is the last writable byte: a chain without one cannot
 *    be answered and is given back with used length 0 (no disk access);
 *  - the data length is a whole number of sectors, at most
 *    VSW_BLK_MAX_REQ_BYTES, and sector + length stays inside the disk,
 *    computed without overflow;
 *  - DISCARD / WRITE_ZEROES: the segment list is a whole number of 16-byte
 *    entries, at most the advertised count, flags as the spec allows, each
 *    range inside the disk and the advertised maximum;
 *  - writes of any kind on a read-only disk fail with IOERR, an unknown
 *    type (or one whose feature was not negotiated) is UNSUPP.
 * A bad request fails alone; a ring fault (from lib/virtq) stops that queue
 * (logged, rate limited) and the others keep going. Disk I/O goes to the
 * guest's own buffers: a guest that rewrites them while in flight only
 * corrupts its own data.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <liburing.h>
#include <linux/falloc.h>
#include <linux/virtio_blk.h>

#include "blk_dev.h"
#include "vsw_time.h"

/* Largest data part of one IN / OUT request (fits the 32-bit used len). */
#define VSW_BLK_MAX_REQ_BYTES (64u << 20)
/* Segments of a popped chain: data + header + status + region crossings. */
#define BLK_IOV_MAX (VSW_BLK_SEG_MAX + 2 + 16)
/* Requests in flight per queue at most (slots allocated at queue start). */
#define BLK_QUEUE_SLOTS 256u
#define BLK_SQ_ENTRIES 256u
/* DISCARD / WRITE_ZEROES: one range per request, 2 GiB per range. */
#define BLK_DWZ_MAX_SECTORS (1u << 22)
#define BLK_DWZ_MAX_SEG 1u
/* Data-path log lines per window, then silence until the next one. */
#define BLK_LOG_BURST 20
#define BLK_LOG_WINDOW_MS 10000
/* Rounds of reap / serve / submit in one run while the kernel completes
 * operations inside the submit. */
#define BLK_RUN_PASSES 4

struct blk_queue;

enum blk_op {
	BLK_OP_NONE,
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FSYNC,
	BLK_OP_FALLOCATE,
};

struct blk_req {
	struct blk_queue *q;
	struct vsw_vq_chain c;
	struct iovec iov[BLK_IOV_MAX];	/* the chain as popped */
	struct iovec data[BLK_IOV_MAX]; /* data part, advanced on short I/O */
	unsigned ndata;
	uint8_t *status; /* guest memory: the last writable byte */
	enum blk_op op;
	uint32_t type;	  /* VIRTIO_BLK_T_* of the header */
	uint64_t off;	  /* disk offset of the next transfer */
	uint64_t left;	  /* bytes still to transfer / fallocate length */
	uint32_t written; /* bytes of data written into the guest (IN) */
	int fa_mode;	  /* fallocate mode */
	bool buffered;	  /* through fd_buffered (O_DIRECT refused it) */
	struct blk_req *next_free;
};

struct blk_queue {
	struct vsw_blk *b;
	uint32_t index;
	bool running, broken, notify;
	struct vsw_vq_dev *vq;
	int kick_fd, call_fd;
	uint64_t features;
	struct blk_req *slots; /* nslots, allocated at queue_start */
	unsigned nslots, inflight;
	struct blk_req *free;
	int poll_slot; /* index in the last vsw_blk_pollfds() array, or -1 */
};

struct vsw_blk {
	struct vsw_vu_device dev;
	int fd, fd_buffered;
	uint64_t size;	   /* bytes */
	uint64_t capacity; /* sectors */
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];
	uint32_t num_queues;
	struct virtio_blk_config cfg; /* little endian, as the guest reads it */
	struct io_uring ring;
	unsigned sq_pending; /* SQEs prepared, not yet submitted */
	struct blk_queue q[VSW_BLK_MAX_QUEUES];
	struct vsw_blk_stats stats;
	vsw_vu_log_fn *log;
	void *log_opaque;
	enum vsw_log_level log_level;
	uint64_t log_window_ms;
	unsigned log_lines;
	uint64_t log_dropped;
};

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

static void blk_vlog(struct vsw_blk *b, enum vsw_log_level level,
		     const char *fmt, va_list ap)
{
	char line[256];

	if (level > b->log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (b->log != NULL)
		b->log(b->log_opaque, level, line);
	else
		fprintf(stderr, "vsw-blk: %s\n", line);
}

__attribute__((format(printf, 3, 4))) static void
blk_log(struct vsw_blk *b, enum vsw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	blk_vlog(b, level, fmt, ap);
	va_end(ap);
}

/* Lines caused by guest requests: at most BLK_LOG_BURST per window. */
__attribute__((format(printf, 2, 3))) static void
blk_log_guest(struct vsw_blk *b, const char *fmt, ...)
{
	uint64_t now = vsw_now_ms();
	va_list ap;

	if (now - b->log_window_ms >= BLK_LOG_WINDOW_MS) {
		if (b->log_dropped > 0)
			blk_log(b, VSW_LOG_WARN,
				"%" PRIu64 " more bad requests not logged",
				b->log_dropped);
		b->log_window_ms = now;
		b->log_lines = 0;
		b->log_dropped = 0;
	}
	if (b->log_lines >= BLK_LOG_BURST) {
		b->log_dropped++;
		return;
	}
	b->log_lines++;
	va_start(ap, fmt);
	blk_vlog(b, VSW_LOG_WARN, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Segments                                                            */
/* ------------------------------------------------------------------ */

/* Copy len bytes starting skip bytes into iov[0 .. n) to dst. */
static void blk_iov_read(const struct iovec *iov, unsigned n, uint64_t skip,
			 void *dst, size_t len)
{
	uint8_t *d = dst;
	unsigned i;

	for (i = 0; i < n && len > 0; i++) {
		size_t seg = iov[i].iov_len, k;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		k = seg - skip < len ? seg - skip : len;
		memcpy(d, (uint8_t *)iov[i].iov_base + skip, k);
		d += k;
		len -= k;
		skip = 0;
	}
}

/*
 * dst[0 .. ret) = the segments of iov[0 .. n) that cover [skip, skip + len)
 * (the caller checked that the range lies inside).
 */
static unsigned blk_iov_sub(const struct iovec *iov, unsigned n, uint64_t skip,
			    uint64_t len, struct iovec *dst)
{
	unsigned i, nd = 0;

	for (i = 0; i < n && len > 0; i++) {
		size_t seg = iov[i].iov_len, k;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		k = seg - skip < len ? seg - skip : len;
		dst[nd].iov_base = (uint8_t *)iov[i].iov_base + skip;
		dst[nd].iov_len = k;
		nd++;
		len -= k;
		skip = 0;
	}
	return nd;
}

/* Drop the first done bytes of r->data after a short transfer. */
static void blk_data_advance(struct blk_req *r, uint64_t done)
{
	unsigned i = 0, j;

	while (i < r->ndata && done >= r->data[i].iov_len) {
		done -= r->data[i].iov_len;
		i++;
	}
	if (i < r->ndata) {
		r->data[i].iov_base = (uint8_t *)r->data[i].iov_base + done;
		r->data[i].iov_len -= done;
	}
	for (j = 0; i + j < r->ndata; j++)
		r->data[j] = r->data[i + j];
	r->ndata = j;
}

/* ------------------------------------------------------------------ */
/* Completion                                                          */
/* ------------------------------------------------------------------ */

static void blk_req_free(struct blk_req *r)
{
	struct blk_queue *q = r->q;

	r->op = BLK_OP_NONE;
	r->next_free = q->free;
	q->free = r;
	q->inflight--;
}

/* Write the status, give the chain back (used len: bytes written). */
static void blk_complete(struct blk_req *r, uint8_t status)
{
	struct blk_queue *q = r->q;
	struct vsw_blk *b = q->b;

	*r->status = status;
	b->stats.requests++;
	if (status == VIRTIO_BLK_S_IOERR)
		b->stats.ioerr++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		b->stats.unsupp++;
	/* a broken queue refuses the push: the driver is reset anyway */
	(void)vsw_vq_dev_push(q->vq, &r->c, r->written + 1);
	q->notify = true;
	blk_req_free(r);
}

/* A request refused before any disk access: say why, fail it. */
__attribute__((format(printf, 3, 4))) static void
blk_refuse(struct blk_req *r, uint8_t status, const char *fmt, ...)
{
	struct vsw_blk *b = r->q->b;
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	blk_log_guest(b, "queue %u: request type %" PRIu32 ": %s", r->q->index,
		      r->type, why);
	blk_complete(r, status);
}

/* ------------------------------------------------------------------ */
/* Submission                                                          */
/* ------------------------------------------------------------------ */

static struct io_uring_sqe *blk_sqe(struct vsw_blk *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (sqe == NULL && io_uring_submit(&b->ring) >= 0) {
		b->sq_pending = 0;
		sqe = io_uring_get_sqe(&b->ring);
	}
	return sqe;
}

/* Queue r's next disk operation (not submitted yet). */
static void blk_issue(struct blk_req *r)
{
	struct vsw_blk *b = r->q->b;
	struct io_uring_sqe *sqe = blk_sqe(b);
	int fd = r->buffered ? b->fd_buffered : b->fd;

	if (sqe == NULL) {
		blk_log(b, VSW_LOG_ERR, "io_uring submission queue stuck");
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	switch (r->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, fd, r->data, r->ndata, r->off);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, fd, r->data, r->ndata, r->off);
		break;
	case BLK_OP_FSYNC:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_FALLOCATE:
		io_uring_prep_fallocate(sqe, b->fd, r->fa_mode, r->off,
					r->left);
		break;
	case BLK_OP_NONE:
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	b->sq_pending++;
}

/* sector + len bytes inside the disk, without overflow. */
static bool blk_in_disk(const struct vsw_blk *b, uint64_t sector, uint64_t len)
{
	return sector <= b->capacity &&
	       len / VSW_BLK_SECTOR <= b->capacity - sector;
}

static void blk_rw(struct blk_req *r, uint64_t sector)
{
	struct vsw_blk *b = r->q->b;
	const struct vsw_vq_chain *c = &r->c;
	bool in = r->type == VIRTIO_BLK_T_IN;
	uint64_t len = in ? c->in_len - 1
			  : c->out_len - sizeof(struct virtio_blk_outhdr);

	if (!in && b->read_only) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR, "read-only disk");
		return;
	}
	if (len % VSW_BLK_SECTOR != 0 || len > VSW_BLK_MAX_REQ_BYTES) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR, "data of %" PRIu64 " bytes",
			   len);
		return;
	}
	if (!blk_in_disk(b, sector, len)) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR,
			   "sector %" PRIu64 " + %" PRIu64
			   " bytes past the end (%" PRIu64 " sectors)",
			   sector, len, b->capacity);
		return;
	}
	if (len == 0) {
		blk_complete(r, VIRTIO_BLK_S_OK);
		return;
	}
	if (in)
		r->ndata = blk_iov_sub(r->iov + c->n_out, c->n_in, 0, len,
				       r->data);
	else
		r->ndata = blk_iov_sub(r->iov, c->n_out,
				       sizeof(struct virtio_blk_outhdr), len,
				       r->data);
	r->op = in ? BLK_OP_READ : BLK_OP_WRITE;
	r->buffered = false;
	r->off = sector * VSW_BLK_SECTOR;
	r->left = len;
	blk_issue(r);
}

static void blk_get_id(struct blk_req *r)
{
	struct vsw_blk *b = r->q->b;
	uint64_t room = r->c.in_len - 1;
	uint32_t n = room < VIRTIO_BLK_ID_BYTES ? (uint32_t)room
						: VIRTIO_BLK_ID_BYTES;
	struct iovec d[BLK_IOV_MAX];
	unsigned nd, i;
	size_t done = 0;

	nd = blk_iov_sub(r->iov + r->c.n_out, r->c.n_in, 0, n, d);
	for (i = 0; i < nd; i++) {
		memcpy(d[i].iov_base, b->serial + done, d[i].iov_len);
		done += d[i].iov_len;
	}
	r->written = n;
	blk_complete(r, VIRTIO_BLK_S_OK);
}

static void blk_discard_wz(struct blk_req *r)
{
	struct vsw_blk *b = r->q->b;
	bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t len = r->c.out_len - sizeof(struct virtio_blk_outhdr);
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t sector;
	uint32_t nsec, flags;

	if (b->read_only) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR, "read-only disk");
		return;
	}
	if (len == 0 || len % sizeof(seg) != 0 ||
	    len / sizeof(seg) > BLK_DWZ_MAX_SEG) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR,
			   "%" PRIu64 " bytes of ranges (%u of 16 at most)",
			   len, BLK_DWZ_MAX_SEG);
		return;
	}
	blk_iov_read(r->iov, r->c.n_out, sizeof(struct virtio_blk_outhdr), &seg,
		     sizeof(seg));
	sector = le64toh(seg.sector);
	nsec = le32toh(seg.num_sectors);
	flags = le32toh(seg.flags);
	/* §5.2.6.2: discard with UNMAP, or unknown flag bits: UNSUPP */
	if ((flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0 ||
	    (!wz && flags != 0)) {
		blk_refuse(r, VIRTIO_BLK_S_UNSUPP, "flags 0x%" PRIx32, flags);
		return;
	}
	if (nsec > BLK_DWZ_MAX_SECTORS ||
	    !blk_in_disk(b, sector, (uint64_t)nsec * VSW_BLK_SECTOR)) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR,
			   "range %" PRIu64 " + %" PRIu32
			   " sectors (disk %" PRIu64 ", max %u)",
			   sector, nsec, b->capacity, BLK_DWZ_MAX_SECTORS);
		return;
	}
	if (nsec == 0) {
		blk_complete(r, VIRTIO_BLK_S_OK);
		return;
	}
	r->op = BLK_OP_FALLOCATE;
	r->off = sector * VSW_BLK_SECTOR;
	r->left = (uint64_t)nsec * VSW_BLK_SECTOR;
	/* both leave zeroes behind on files and block devices alike */
	if (wz && !(flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		r->fa_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	else
		r->fa_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	blk_issue(r);
}

/* The last writable byte of the chain: the status. NULL if none. */
static uint8_t *blk_status_byte(const struct blk_req *r)
{
	unsigned i = r->c.n_out + r->c.n_in;

	while (i > r->c.n_out) {
		i--;
		if (r->iov[i].iov_len > 0)
			return (uint8_t *)r->iov[i].iov_base +
			       r->iov[i].iov_len - 1;
	}
	return NULL;
}

/* A chain just popped: check it and start what it asks for. */
static void blk_req_start(struct blk_req *r)
{
	struct blk_queue *q = r->q;
	struct vsw_blk *b = q->b;
	struct virtio_blk_outhdr h;
	uint64_t sector;

	r->written = 0;
	r->type = UINT32_MAX;
	r->status = blk_status_byte(r);
	if (r->status == NULL) {
		b->stats.no_status++;
		blk_log_guest(b,
			      "queue %u: chain %u has no writable status "
			      "byte (%" PRIu64 " bytes readable)",
			      q->index, r->c.id, r->c.out_len);
		(void)vsw_vq_dev_push(q->vq, &r->c, 0);
		q->notify = true;
		blk_req_free(r);
		return;
	}
	if (r->c.out_len < sizeof(h)) {
		blk_refuse(r, VIRTIO_BLK_S_IOERR, "header of %" PRIu64 " bytes",
			   r->c.out_len);
		return;
	}
	blk_iov_read(r->iov, r->c.n_out, 0, &h, sizeof(h));
	r->type = le32toh(h.type);
	sector = le64toh(h.sector);
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		blk_rw(r, sector);
		return;
	}
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FSYNC;
		{
			blk_issue(r);
			return;
		}
	case VIRTIO_BLK_T_GET_ID: {
		blk_get_id(r);
		return;
	}
	case VIRTIO_BLK_T_DISCARD:
		if (!(q->features & (1ULL << VIRTIO_BLK_F_DISCARD)))
			break;
		{
			blk_discard_wz(r);
			return;
		}
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!(q->features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)))
			break;
		{
			blk_discard_wz(r);
			return;
		}
	default:
		break;
	}
	blk_refuse(r, VIRTIO_BLK_S_UNSUPP, "not supported");
}

/* A disk operation finished with res. */
static void blk_done(struct blk_req *r, int res)
{
	struct vsw_blk *b = r->q->b;

	if (res == -EINTR || res == -EAGAIN) {
		blk_issue(r);
		return;
	}
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (res == -EINVAL && !r->buffered && b->fd_buffered >= 0) {
			/* O_DIRECT: misaligned guest buffer or offset */
			r->buffered = true;
			b->stats.buffered++;
			blk_issue(r);
			return;
		}
		if (res <= 0)
			break;
		if (r->op == BLK_OP_READ)
			r->written += (uint32_t)res;
		if ((uint64_t)res < r->left) { /* short: the rest */
			r->off += (uint64_t)res;
			r->left -= (uint64_t)res;
			blk_data_advance(r, (uint64_t)res);
			{
				blk_issue(r);
				return;
			}
		}
		{
			blk_complete(r, VIRTIO_BLK_S_OK);
			return;
		}
	case BLK_OP_FALLOCATE:
		if (res == -EOPNOTSUPP && (r->fa_mode & FALLOC_FL_ZERO_RANGE)) {
			/* e.g. tmpfs: a hole reads back as zeroes too */
			r->fa_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			{
				blk_issue(r);
				return;
			}
		}
		/* a discard is a hint the disk may ignore */
		if (res == -EOPNOTSUPP && r->type == VIRTIO_BLK_T_DISCARD)
			res = 0;
		if (res < 0)
			break;
		{
			blk_complete(r, VIRTIO_BLK_S_OK);
			return;
		}
	case BLK_OP_FSYNC:
		if (res < 0)
			break;
		{
			blk_complete(r, VIRTIO_BLK_S_OK);
			return;
		}
	case BLK_OP_NONE:
		break;
	}
	blk_log(b, VSW_LOG_WARN,
		"queue %u: disk operation %d at %" PRIu64 ": %s", r->q->index,
		(int)r->op, r->off, res < 0 ? strerror(-res) : "end of file");
	blk_complete(r, VIRTIO_BLK_S_IOERR);
}

/* Complete every finished operation. */
static void blk_reap(struct vsw_blk *b)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		blk_done(r, res);
	}
}

static int blk_submit(struct vsw_blk *b)
{
	int ret;

	if (b->sq_pending == 0)
		return 0;
	ret = io_uring_submit(&b->ring);
	if (ret == -EAGAIN || ret == -EBUSY || ret == -EINTR)
		return 0; /* kept in the SQ: the next run submits them */
	if (ret < 0) {
		blk_log(b, VSW_LOG_ERR, "io_uring_submit: %s", strerror(-ret));
		return ret;
	}
	b->sq_pending = 0;
	return 0;
}

/* Interrupt the driver of each queue that got used entries, if it wants. */
static void blk_notify(struct vsw_blk *b)
{
	uint32_t i;

	for (i = 0; i < b->num_queues; i++) {
		struct blk_queue *q = &b->q[i];

		if (!q->notify || !q->running)
			continue;
		q->notify = false;
		if (q->call_fd >= 0 && vsw_vq_dev_need_notify(q->vq))
			(void)eventfd_write(q->call_fd, 1);
	}
}

/* Pop and start requests while slots are free. */
static void blk_serve(struct blk_queue *q)
{
	struct vsw_blk *b = q->b;
	int ret = 0;

	vsw_vq_dev_disable_notify(q->vq);
	for (;;) {
		while (q->free != NULL) {
			struct blk_req *r = q->free;

			ret = vsw_vq_dev_pop(q->vq, &r->c, r->iov, BLK_IOV_MAX);
			if (ret <= 0)
				break;
			q->free = r->next_free;
			q->inflight++;
			blk_req_start(r);
		}
		if (ret < 0) {
			q->broken = true;
			b->stats.faults++;
			blk_log(b, VSW_LOG_ERR, "queue %u stopped: %s (%s)",
				q->index,
				vsw_vq_fault_str(vsw_vq_dev_fault(q->vq)),
				strerror(-ret));
			return;
		}
		if (q->free == NULL)
			return; /* completions free slots and run us again */
		if (!vsw_vq_dev_enable_notify(q->vq))
			return; /* empty: sleep on the kick */
	}
}

/*
 * Should q's kick eventfd be read? p, n: vsw_blk_pollfds()'s array after
 * poll(), or NULL: then always. A queue not in p as it is now (restarted
 * since) is read too; reading an empty eventfd only costs a system call.
 */
static bool blk_kicked(const struct blk_queue *q, const struct pollfd *p,
		       unsigned n)
{
	if (p == NULL || q->poll_slot < 0 || (unsigned)q->poll_slot >= n ||
	    p[q->poll_slot].fd != q->kick_fd)
		return true;
	return p[q->poll_slot].revents != 0;
}

static int blk_run(struct vsw_blk *b, const struct pollfd *p, unsigned n)
{
	unsigned pass;
	uint32_t i;
	int ret = 0;

	for (pass = 0; pass < BLK_RUN_PASSES; pass++) {
		blk_reap(b);
		for (i = 0; i < b->num_queues; i++) {
			struct blk_queue *q = &b->q[i];
			eventfd_t v;

			if (!q->running || q->broken)
				continue;
			if (pass == 0 && q->kick_fd >= 0 && blk_kicked(q, p, n))
				(void)eventfd_read(q->kick_fd, &v);
			blk_serve(q);
		}
		ret = blk_submit(b);
		/*
		 * Operations the kernel finished inside the submit (page
		 * cache, tmpfs, a fast disk): complete them now, under the
		 * same interrupt, not after another round of poll().
		 */
		if (ret < 0 || !io_uring_cq_ready(&b->ring))
			break;
	}
	blk_notify(b);
	return ret;
}

int vsw_blk_run(struct vsw_blk *b)
{
	return blk_run(b, NULL, 0);
}

int vsw_blk_run_polled(struct vsw_blk *b, const struct pollfd *p, unsigned n)
{
	return blk_run(b, p, n);
}

/* ------------------------------------------------------------------ */
/* vhost-user device callbacks                                          */
/* ------------------------------------------------------------------ */

static int blk_queue_start(void *opaque, const struct vsw_vu_queue *vq)
{
	struct vsw_blk *b = opaque;
	struct blk_queue *q = &b->q[vq->index];
	unsigned i;

	q->nslots = vq->num < BLK_QUEUE_SLOTS ? vq->num : BLK_QUEUE_SLOTS;
	q->slots = calloc(q->nslots, sizeof(q->slots[0]));
	if (q->slots == NULL)
		return -ENOMEM;
	q->free = NULL;
	for (i = q->nslots; i-- > 0;) {
		q->slots[i].q = q;
		q->slots[i].next_free = q->free;
		q->free = &q->slots[i];
	}
	q->inflight = 0;
	q->vq = vq->vq;
	q->kick_fd = vq->kick_fd;
	q->call_fd = vq->call_fd;
	q->features = vq->features;
	q->broken = false;
	q->notify = false;
	q->running = true;
	blk_log(b, VSW_LOG_INFO, "queue %u started (%u entries)", q->index,
		vq->num);
	/* requests posted before the kick fd came: serve them now */
	blk_serve(q);
	blk_notify(b);
	return blk_submit(b);
}

static void blk_queue_stop(void *opaque, const struct vsw_vu_queue *vq)
{
	struct vsw_blk *b = opaque;
	struct blk_queue *q = &b->q[vq->index];

	if (!q->running)
		return;
	/*
	 * The requests in flight point into guest memory that is about to be
	 * unmapped: wait for each (the one place this thread blocks on the
	 * disk), completing them into the ring while it still exists.
	 */
	while (q->inflight > 0) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_submit_and_wait(&b->ring, 1);

		if (ret >= 0)
			b->sq_pending = 0;
		else if (ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			blk_log(b, VSW_LOG_ERR, "draining queue %u: %s",
				q->index, strerror(-ret));
		if (io_uring_wait_cqe(&b->ring, &cqe) == 0)
			blk_reap(b);
	}
	blk_notify(b);
	q->running = false;
	q->vq = NULL;
	q->kick_fd = q->call_fd = -1;
	free(q->slots);
	q->slots = NULL;
	q->free = NULL;
	q->nslots = 0;
	blk_log(b, VSW_LOG_INFO, "queue %u stopped", q->index);
}

static int blk_config_get(void *opaque, uint32_t offset, uint8_t *buf,
			  uint32_t size)
{
	struct vsw_blk *b = opaque;
	uint32_t have = sizeof(b->cfg);

	/* fields past ours (a newer front-end's struct) read as zero */
	memset(buf, 0, size);
	if (offset < have)
		memcpy(buf, (const uint8_t *)&b->cfg + offset,
		       size < have - offset ? size : have - offset);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Object                                                              */
/* ------------------------------------------------------------------ */

static void blk_fill_config(struct vsw_blk *b)
{
	struct virtio_blk_config *c = &b->cfg;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->capacity);
	c->seg_max = htole32(VSW_BLK_SEG_MAX);
	c->blk_size = htole32(VSW_BLK_SECTOR);
	c->num_queues = htole16((uint16_t)b->num_queues);
	c->max_discard_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	c->max_discard_seg = htole32(BLK_DWZ_MAX_SEG);
	c->discard_sector_alignment = htole32(1);
	c->max_write_zeroes_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_DWZ_MAX_SEG);
	c->write_zeroes_may_unmap = 1;
}

int vsw_blk_create(const struct vsw_blk_config *cfg, struct vsw_blk **out)
{
	struct io_uring_params p;
	struct vsw_blk *b;
	uint32_t i;
	int ret;

	*out = NULL;
	if (cfg->num_queues < 1 || cfg->num_queues > VSW_BLK_MAX_QUEUES ||
	    cfg->size < VSW_BLK_SECTOR || cfg->fd < 0 ||
	    (cfg->direct && cfg->fd_buffered < 0) ||
	    (cfg->serial != NULL && strlen(cfg->serial) > VIRTIO_BLK_ID_BYTES))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->fd = cfg->fd;
	b->fd_buffered = cfg->direct ? cfg->fd_buffered : -1;
	b->size = cfg->size;
	b->capacity = cfg->size / VSW_BLK_SECTOR;
	b->read_only = cfg->read_only;
	if (cfg->serial != NULL)
		memcpy(b->serial, cfg->serial, strlen(cfg->serial));
	b->num_queues = cfg->num_queues;
	b->log = cfg->log;
	b->log_opaque = cfg->log_opaque;
	b->log_level = cfg->log_level;
	b->log_window_ms = vsw_now_ms();
	for (i = 0; i < VSW_BLK_MAX_QUEUES; i++) {
		b->q[i].b = b;
		b->q[i].index = i;
		b->q[i].kick_fd = b->q[i].call_fd = -1;
		b->q[i].poll_slot = -1;
	}
	blk_fill_config(b);

	/* every slot of every queue may be in flight: the CQ holds them all */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = BLK_QUEUE_SLOTS * b->num_queues;
	if (p.cq_entries < 2 * BLK_SQ_ENTRIES)
		p.cq_entries = 2 * BLK_SQ_ENTRIES;
	ret = io_uring_queue_init_params(BLK_SQ_ENTRIES, &b->ring, &p);
	if (ret < 0) {
		free(b);
		return ret;
	}

	b->dev.features = (1ULL << VIRTIO_F_VERSION_1) |
			  (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
			  (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			  (1ULL << VIRTIO_F_RING_PACKED) |
			  (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			  (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			  (1ULL << VIRTIO_BLK_F_FLUSH) |
			  (1ULL << VIRTIO_BLK_F_MQ);
	if (b->read_only)
		b->dev.features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		b->dev.features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
				   (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	b->dev.num_queues = b->num_queues;
	b->dev.opaque = b;
	b->dev.queue_start = blk_queue_start;
	b->dev.queue_stop = blk_queue_stop;
	b->dev.config_get = blk_config_get;
	*out = b;
	return 0;
}

void vsw_blk_destroy(struct vsw_blk *b)
{
	uint32_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->num_queues; i++)
		free(b->q[i].slots);
	io_uring_queue_exit(&b->ring);
	free(b);
}

const struct vsw_vu_device *vsw_blk_vu_device(const struct vsw_blk *b)
{
	return &b->dev;
}

unsigned vsw_blk_pollfds(struct vsw_blk *b, struct pollfd *p, unsigned max)
{
	unsigned n = 0;
	uint32_t i;

	if (max == 0)
		return 0;
	p[n].fd = b->ring.ring_fd;
	p[n].events = POLLIN;
	p[n++].revents = 0;
	for (i = 0; i < b->num_queues; i++) {
		struct blk_queue *q = &b->q[i];

		q->poll_slot = -1;
		if (!q->running || q->broken || q->kick_fd < 0 || n >= max)
			continue;
		q->poll_slot = (int)n;
		p[n].fd = q->kick_fd;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	return n;
}

int vsw_blk_timeout_ms(const struct vsw_blk *b)
{
	uint32_t i;

	for (i = 0; i < b->num_queues; i++)
		if (b->q[i].running && !b->q[i].broken && b->q[i].kick_fd < 0)
			return 1;
	return -1;
}

void vsw_blk_get_stats(const struct vsw_blk *b, struct vsw_blk_stats *s)
{
	*s = b->stats;
}
