/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the vhost-user back end (lib/vhost-user/vu_backend.c)
 * against a hostile front end, one message sequence per input.
 *
 * The back end runs in fd mode on one end of a socketpair; this harness
 * plays the front end on the other, sending each message of the input with
 * the file descriptors the message asks for: memfds for SET_MEM_TABLE and
 * ADD_MEM_REG (one per region, sized from the region's mmap_offset + size
 * in the payload, optionally a page short so the EOF check is met), an
 * eventfd for SET_VRING_KICK / CALL / ERR unless the payload's no-fd bit
 * is set, one end of a socketpair for SET_BACKEND_REQ_FD (the backend
 * request channel, where IOTLB misses go; drained after each message).
 * The device offers VIRTIO_F_ACCESS_PLATFORM: a front end that
 * negotiates it sends IOTLB_MSG updates and invalidations, and every ring
 * and buffer address is then an IOVA translated through them (a missing
 * entry waits for a miss, a wrong permission faults the queue). After
 * each message vsw_vu_handle() runs until the socket is drained, and the replies are read and checked. A started queue is used
 * as a device would: chains popped, their readable bytes read and their
 * writable bytes written, pushed back and the driver notified.
 *
 * Input format:
 *   [0]  device: bits 0-1 queues - 1, bit 2 NET_MTU, bit 3 RING_PACKED,
 *        bit 4 INDIRECT_DESC, bit 5 EVENT_IDX, bit 6 IN_ORDER offered,
 *        bit 7 odd queues read-only (a transmit queue)
 *   then records until the input ends:
 *   [0]  request number (modulo FZ_REQ_SPAN, so unknown ones occur)
 *   [1]  control: bit 0 NEED_REPLY, bit 1 wrong version, bit 2 REPLY flag,
 *        bit 3 one fd more than asked, bit 4 one fd fewer, bit 5 memfds a
 *        page short, bit 6 not a message: write the payload into guest
 *        memory (region [0], offset [1..4], the bytes after), bit 7 the
 *        header's size is the payload length + [payload byte 0] (a lie)
 *   [2..3] payload length (little-endian, at most FZ_PAYLOAD_MAX)
 *   [4..]  payload
 *
 * Invariants, checked with abort():
 *   - vsw_vu_handle() returns 0 or a negative errno, and never blocks;
 *   - every reply has the REPLY flag, version 1, the number of a request
 *     that was sent and a size within the largest payload (a full
 *     GET_CONFIG window);
 *   - config_get / config_set see only windows inside the 256 bytes;
 *   - queue_start is called only for a stopped queue with an index below
 *     the queue count, a ring size of 1..VSW_VQ_MAX_SIZE and a vq;
 *     queue_stop only for a started one; none is running once the
 *     connection is closed (and after destroy);
 *   - every popped segment lies in mapped guest memory (ASan and the
 *     memfd bounds catch a stray access).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <vsw/vhost_user.h>
#include <vsw/virtq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_REQ_SPAN 48
#define FZ_PAYLOAD_MAX 512
#define FZ_MEM_MAX (64ULL << 20)
#define FZ_MAX_MEMFDS 16
#define FZ_MAX_EVFDS 32
#define FZ_POP_MAX 8
#define FZ_IOV 64
#define FZ_HANDLE_MAX 64

#define FZ_C_NEED_REPLY 0x01
#define FZ_C_BAD_VERSION 0x02
#define FZ_C_REPLY_FLAG 0x04
#define FZ_C_FD_MORE 0x08
#define FZ_C_FD_FEWER 0x10
#define FZ_C_SHORT 0x20
#define FZ_C_WRITE 0x40
#define FZ_C_SIZE_LIE 0x80

struct fz_dev {
	struct vsw_vu_device dev;
	uint32_t nq;
	bool odd_ro;
	uint8_t started[VSW_VU_MAX_QUEUES];
	unsigned running;
};

/* The front end's side: the fds it keeps to write guest memory. */
struct fz_fe {
	int sock;
	int memfds[FZ_MAX_MEMFDS];
	uint64_t memsz[FZ_MAX_MEMFDS];
	unsigned nmem;
	int evfds[FZ_MAX_EVFDS];
	unsigned nev;
	int chan; /* our end of the last backend request channel, or -1 */
};

static void fz_log(void *opaque, enum vsw_log_level level,
		   const char *line)
{
	(void)opaque;
	(void)level;
	(void)line;
}

/* Use the queue as a device would, once, bounded. */
static void fz_use_queue(const struct vsw_vu_queue *q)
{
	struct iovec iov[FZ_IOV];
	struct vsw_vq_chain c;
	volatile uint8_t sink = 0;
	unsigned n, i;
	size_t j;

	for (n = 0; n < FZ_POP_MAX; n++) {
		if (vsw_vq_dev_pop(q->vq, &c, iov, FZ_IOV) != 1)
			break;
		if ((unsigned)c.n_out + c.n_in > FZ_IOV)
			abort();
		for (i = 0; i < c.n_out; i++)
			for (j = 0; j < iov[i].iov_len; j += 512)
				sink ^= ((const uint8_t *)iov[i].iov_base)[j];
		for (i = c.n_out; i < (unsigned)c.n_out + c.n_in; i++)
			memset(iov[i].iov_base, 0x5a,
			       iov[i].iov_len < 256 ? iov[i].iov_len : 256);
		vsw_vq_dev_push(q->vq, &c,
				c.in_len > 256 ? 256 : (uint32_t)c.in_len);
	}
	(void)sink;
	if (q->call_fd >= 0 && vsw_vq_dev_need_notify(q->vq))
		(void)eventfd_write(q->call_fd, 1);
}

static int fz_queue_start(void *opaque, const struct vsw_vu_queue *q)
{
	struct fz_dev *d = opaque;

	if (q->index >= d->nq || d->started[q->index] || q->vq == NULL ||
	    q->num == 0 || q->num > VSW_VQ_MAX_SIZE)
		abort();
	d->started[q->index] = 1;
	d->running++;
	fz_use_queue(q);
	return 0;
}

static void fz_queue_stop(void *opaque, const struct vsw_vu_queue *q)
{
	struct fz_dev *d = opaque;

	if (q->index >= d->nq || !d->started[q->index])
		abort();
	d->started[q->index] = 0;
	d->running--;
}

static bool fz_queue_ro(void *opaque, uint32_t index, uint64_t features)
{
	const struct fz_dev *d = opaque;

	(void)features;
	return d->odd_ro && (index & 1);
}

/*
 * The IOTLB's grace period: queues are used on this thread only, between
 * messages, so no reader can hold a table the library replaces.
 */
static void fz_sync(void *opaque)
{
	(void)opaque;
}

static int fz_mtu_set(void *opaque, uint16_t mtu)
{
	(void)opaque;
	return mtu >= 68 ? 0 : -EINVAL;
}

/* GET/SET_CONFIG: the library must pass only windows inside 256 bytes. */
static int fz_config_get(void *opaque, uint32_t offset, uint8_t *buf,
			 uint32_t size)
{
	(void)opaque;
	if (size > VSW_VU_CONFIG_MAX || offset > VSW_VU_CONFIG_MAX - size)
		abort();
	memset(buf, 0x5a, size);
	return (offset & 1) ? -EINVAL : 0; /* refusals too */
}

static int fz_config_set(void *opaque, uint32_t offset, const uint8_t *buf,
			 uint32_t size, uint32_t flags)
{
	(void)opaque;
	(void)flags;
	if (size > VSW_VU_CONFIG_MAX || offset > VSW_VU_CONFIG_MAX - size)
		abort();
	return (size > 0 && buf[0] & 1) ? -EPERM : 0;
}

static uint64_t fz_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int fz_memfd(struct fz_fe *fe, uint64_t size, bool short_one)
{
	int fd;

	if (size > FZ_MEM_MAX)
		size = FZ_MEM_MAX;
	if (short_one)
		size = size > 4096 ? size - 4096 : 0;
	fd = memfd_create("fz-guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		abort();
	if (fe->nmem == FZ_MAX_MEMFDS) {
		close(fe->memfds[0]);
		memmove(fe->memfds, fe->memfds + 1,
			sizeof(fe->memfds[0]) * (FZ_MAX_MEMFDS - 1));
		memmove(fe->memsz, fe->memsz + 1,
			sizeof(fe->memsz[0]) * (FZ_MAX_MEMFDS - 1));
		fe->nmem--;
	}
	fe->memfds[fe->nmem] = fd;
	fe->memsz[fe->nmem++] = size;
	return fd;
}

/* A socketpair for SET_BACKEND_REQ_FD: one end sent, one kept. */
static int fz_chan(struct fz_fe *fe)
{
	int sv[2];

	if (fe->nev + 2 > FZ_MAX_EVFDS)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       sv) != 0)
		abort();
	fe->evfds[fe->nev++] = sv[0];
	fe->evfds[fe->nev++] = sv[1];
	fe->chan = sv[0];
	return sv[1];
}

/* Read whatever the back end sent on its request channel (misses). */
static void fz_drain_chan(const struct fz_fe *fe)
{
	uint8_t buf[512];

	if (fe->chan < 0)
		return;
	while (recv(fe->chan, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static int fz_evfd(struct fz_fe *fe)
{
	int fd;

	if (fe->nev == FZ_MAX_EVFDS)
		return -1;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		abort();
	fe->evfds[fe->nev++] = fd;
	return fd;
}

/* The fds a message of this request and payload carries. */
static unsigned fz_fds(struct fz_fe *fe, uint32_t req, uint8_t ctl,
		       const uint8_t *p, size_t len, int *fds)
{
	unsigned n = 0, i, nreg;
	const bool short_one = ctl & FZ_C_SHORT;

	switch (req) {
	case VSW_VU_REQ_SET_MEM_TABLE:
		nreg = len >= 4 ? p[0] : 0;
		if (nreg > VSW_VU_MEM_TABLE_MAX)
			nreg = VSW_VU_MEM_TABLE_MAX;
		for (i = 0; i < nreg && 8 + 32 * (i + 1) <= len; i++) {
			const uint8_t *r = p + 8 + 32 * i;

			fds[n++] = fz_memfd(fe, fz_rd64(r + 8) + fz_rd64(r + 24),
					    short_one);
		}
		break;
	case VSW_VU_REQ_ADD_MEM_REG:
		if (len >= 40)
			fds[n++] = fz_memfd(fe, fz_rd64(p + 16) +
						       fz_rd64(p + 32),
					    short_one);
		else
			fds[n++] = fz_memfd(fe, 4096, false);
		break;
	case VSW_VU_REQ_SET_BACKEND_REQ_FD: {
		int fd = fz_chan(fe);

		if (fd >= 0)
			fds[n++] = fd;
		break;
	}
	case VSW_VU_REQ_SET_VRING_KICK:
	case VSW_VU_REQ_SET_VRING_CALL:
	case VSW_VU_REQ_SET_VRING_ERR:
		if (len < 8 || !(fz_rd64(p) & VSW_VU_VRING_NOFD_MASK)) {
			int fd = fz_evfd(fe);

			if (fd >= 0)
				fds[n++] = fd;
		}
		break;
	default:
		break;
	}
	if ((ctl & FZ_C_FD_FEWER) && n > 0)
		n--;
	if ((ctl & FZ_C_FD_MORE) && n < VSW_VU_MAX_FDS) {
		int fd = fz_evfd(fe);

		if (fd >= 0)
			fds[n++] = fd;
	}
	return n;
}

static void fz_send(struct fz_fe *fe, uint32_t req, uint8_t ctl,
		    const uint8_t *p, size_t len)
{
	struct vsw_vu_hdr h = {
		.request = req,
		.flags = VSW_VU_FLAG_VERSION,
		.size = (uint32_t)len,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VSW_VU_MAX_FDS)];
		struct cmsghdr align;
	} c;
	struct iovec iov[2] = {
		{.iov_base = &h, .iov_len = sizeof(h)},
		{.iov_base = (void *)p, .iov_len = len},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	int fds[VSW_VU_MAX_FDS];
	unsigned nfds;

	if (ctl & FZ_C_NEED_REPLY)
		h.flags |= VSW_VU_FLAG_NEED_REPLY;
	if (ctl & FZ_C_BAD_VERSION)
		h.flags ^= 0x3;
	if (ctl & FZ_C_REPLY_FLAG)
		h.flags |= VSW_VU_FLAG_REPLY;
	if ((ctl & FZ_C_SIZE_LIE) && len > 0)
		h.size += p[0];
	nfds = fz_fds(fe, req, ctl, p, len, fds);
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&c, 0, sizeof(c));
		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* the back end may have closed its end: that is not our failure */
	(void)sendmsg(fe->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Guest memory as the driver writes it: region, offset, bytes. */
static void fz_write_mem(struct fz_fe *fe, const uint8_t *p, size_t len)
{
	uint32_t off;
	unsigned r;

	if (len < 5 || fe->nmem == 0)
		return;
	r = p[0] % fe->nmem;
	memcpy(&off, p + 1, 4);
	if (fe->memsz[r] == 0)
		return;
	off %= fe->memsz[r];
	if (off + (len - 5) > fe->memsz[r])
		len = 5 + (size_t)(fe->memsz[r] - off);
	if (pwrite(fe->memfds[r], p + 5, len - 5, off) < 0)
		abort();
}

/*
 * Read and check every reply waiting on the front end's side. A reply may
 * answer an earlier message than the last one (a header that lied about its
 * size is completed by the bytes of the next messages): sent has a bit for
 * every request number sent so far.
 */
static void fz_replies(struct fz_fe *fe, uint64_t sent)
{
	uint8_t buf[4096];
	size_t have = 0, pos;
	ssize_t n;

	for (;;) {
		n = recv(fe->sock, buf + have, sizeof(buf) - have,
			 MSG_DONTWAIT);
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == sizeof(buf))
			break;
	}
	for (pos = 0; pos + sizeof(struct vsw_vu_hdr) <= have;) {
		struct vsw_vu_hdr h;

		memcpy(&h, buf + pos, sizeof(h));
		if (!(h.flags & VSW_VU_FLAG_REPLY) ||
		    (h.flags & VSW_VU_FLAG_VERSION_MASK) != VSW_VU_FLAG_VERSION ||
		    h.request >= FZ_REQ_SPAN || !((sent >> h.request) & 1) ||
		    h.size > sizeof(struct vsw_vu_config_msg))
			abort();
		pos += sizeof(h) + h.size;
	}
}

static void fz_handle(struct vsw_vu *vu, struct fz_dev *d)
{
	unsigned i;
	int ret;

	for (i = 0; i < FZ_HANDLE_MAX && vsw_vu_connected(vu); i++) {
		struct pollfd pfd = {.fd = vsw_vu_fd(vu), .events = POLLIN};

		if (poll(&pfd, 1, 0) <= 0)
			break;
		ret = vsw_vu_handle(vu);
		if (ret > 0)
			abort();
		if (ret < 0)
			break;
	}
	if (!vsw_vu_connected(vu) && d->running != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_fe fe = {.sock = -1, .chan = -1};
	struct fz_dev d;
	struct vsw_vu_config cfg;
	struct vsw_vu *vu;
	uint64_t sent = 0;
	size_t pos = 1;
	unsigned i;
	int sv[2];

	if (size < 1 || size > 64 * 1024)
		return 0;
	memset(&d, 0, sizeof(d));
	d.nq = (data[0] & 3) + 1;
	d.odd_ro = data[0] & 0x80;
	d.dev.features = 1ULL << VIRTIO_F_VERSION_1;
	if (data[0] & 0x08)
		d.dev.features |= 1ULL << VIRTIO_F_RING_PACKED;
	if (data[0] & 0x10)
		d.dev.features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[0] & 0x20)
		d.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (data[0] & 0x40)
		d.dev.features |= 1ULL << VIRTIO_F_IN_ORDER;
	d.dev.num_queues = d.nq;
	d.dev.net_mtu = data[0] & 0x04;
	d.dev.opaque = &d;
	d.dev.queue_start = fz_queue_start;
	d.dev.queue_stop = fz_queue_stop;
	d.dev.queue_read_only = fz_queue_ro;
	d.dev.mtu_set = fz_mtu_set;
	d.dev.config_get = fz_config_get;
	d.dev.config_set = fz_config_set;
	d.dev.features |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	d.dev.sync = fz_sync;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	fe.sock = sv[0];
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = VSW_VU_FD;
	cfg.fd = sv[1];
	cfg.dev = &d.dev;
	cfg.log = fz_log;
	cfg.log_level = VSW_LOG_DEBUG;
	if (vsw_vu_create(&cfg, &vu) != 0)
		abort();

	while (pos + 4 <= size && vsw_vu_connected(vu)) {
		uint32_t req = data[pos] % FZ_REQ_SPAN;
		uint8_t ctl = data[pos + 1];
		size_t len = (size_t)(data[pos + 2] | data[pos + 3] << 8);

		pos += 4;
		if (len > FZ_PAYLOAD_MAX)
			len = FZ_PAYLOAD_MAX;
		if (len > size - pos)
			len = size - pos;
		if (ctl & FZ_C_WRITE) {
			fz_write_mem(&fe, data + pos, len);
		} else {
			fz_send(&fe, req, ctl, data + pos, len);
			sent |= 1ULL << req;
			fz_handle(vu, &d);
			fz_replies(&fe, sent);
			fz_drain_chan(&fe);
		}
		pos += len;
	}
	/* the front end goes away */
	close(fe.sock);
	fz_handle(vu, &d);
	vsw_vu_destroy(vu);
	if (d.running != 0)
		abort();
	for (i = 0; i < fe.nmem; i++)
		close(fe.memfds[i]);
	for (i = 0; i < fe.nev; i++)
		close(fe.evfds[i]);
	return 0;
}
