/* SPDX-License-Identifier: MIT */
/*
 * vhost-user front-end (the driver side, like DPDK's virtio-user): session
 * set-up over the socket, shared memory and queues. Its virtio-net packet
 * path is lib/virtio-net/vnet_frontend.c (vufe_priv.h between them).
 *
 * Security model: the back-end is a peer we do not trust. A reply is read
 * header first; its flags (version 1, REPLY), request number and size must
 * be exactly what the request calls for before a payload byte is read, and a
 * reply carrying file descriptors is refused (they are closed). Any such lie
 * fails the request with -EPROTO and ends the session (the stream can no
 * longer be trusted to be in step). Unsolicited bytes on the socket (no
 * back-end channel is negotiated here) are treated the same way. On the data
 * path, used entries are checked by vsw_vq_drv (an id not in flight breaks
 * the queue), the used length against the buffer it names, num_buffers
 * against the queue size and the entries actually there; buffer contents are
 * copied once into the packet and only that copy is parsed.
 *
 * Memory: one memfd region, GPA = offset in it. Per queue: the ring, then
 * (transmit queues with INDIRECT_DESC) two-entry indirect tables, then
 * queue-size buffer slots. A transmit slot holds the 12-byte header and the
 * frame back to back; a receive slot is one device-writable buffer.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include <vsw/vhost_user.h>
#include <vsw/vhost_user_fe.h>
#include <vsw/virtq.h>

#include "vsw_atomic.h"
#include "vsw_compiler.h"
#include "vu_msg.h"
#include "vufe_priv.h"
#include "vsw_time.h"
#include "vsw_unix.h"

#define VUFE_TIMEOUT_MS 5000
#define VUFE_QSIZE 256
#define VUFE_CTRL_QSIZE 64
#define VUFE_SMALL_FRAME 2048
/* receive buffer without MRG_RXBUF for guest TSO/USO: §5.1.6.3.1 */
#define VUFE_BIG_RX_BUF (VSW_VUFE_HDR_SIZE + 65550)
#define VUFE_HUGE_PAGE (2u << 20)

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

VSW_COLD __attribute__((format(printf, 3, 4))) static int
vufe_fail(struct vsw_vufe *fe, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fe->err, sizeof(fe->err), fmt, ap);
	va_end(ap);
	return err;
}

static const char *vufe_req_name(uint32_t req)
{
	const char *n = vsw_vu_request_name(req);

	return n != NULL ? n : "request";
}

/*
 * The session is over. The flag is written by whichever thread noticed and
 * read by every data-plane thread; it orders nothing else (the socket fd is
 * only closed by destroy), so relaxed accesses are enough.
 */
static void vufe_set_dead(struct vsw_vufe *fe)
{
	vsw_store_relaxed(&fe->dead, 1);
}


static void vufe_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}




/* ------------------------------------------------------------------ */
/* Socket                                                              */
/* ------------------------------------------------------------------ */

static int vufe_wait(struct vsw_vufe *fe, int fd, short ev, uint64_t deadline,
		     const char *what)
{
	struct pollfd p = {.fd = fd, .events = ev};
	uint64_t now;
	int ret;

	for (;;) {
		now = vsw_now_ms();
		if (now >= deadline)
			return vufe_fail(fe, -ETIMEDOUT,
					 "%s: no answer within %u ms", what,
					 fe->cfg.timeout_ms);
		ret = poll(&p, 1, (int)(deadline - now));
		if (ret > 0)
			return 0;
		if (ret < 0 && errno != EINTR)
			return vufe_fail(fe, -errno, "%s: poll: %s", what,
					 strerror(errno));
	}
}

static int vufe_connect_client(struct vsw_vufe *fe)
{
	uint64_t deadline = vsw_now_ms() + fe->cfg.timeout_ms;
	int fd, err;

	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vufe_fail(fe, -errno, "socket: %s",
					 strerror(errno));
		if (connect(fd, (struct sockaddr *)&fe->addr,
			    sizeof(fe->addr)) == 0)
			break;
		err = errno;
		close(fd);
		if (err != ENOENT && err != ECONNREFUSED && err != EINTR &&
		    err != EAGAIN)
			return vufe_fail(fe, -err, "connect %s: %s",
					 fe->addr.sun_path, strerror(err));
		if (vsw_now_ms() >= deadline)
			return vufe_fail(fe, -ETIMEDOUT,
					 "connect %s: no back-end within %u "
					 "ms (%s)",
					 fe->addr.sun_path, fe->cfg.timeout_ms,
					 strerror(err));
		usleep(20 * 1000);
	}
	fe->sock = fd;
	return 0;
}

static int vufe_connect_server(struct vsw_vufe *fe)
{
	uint64_t deadline = vsw_now_ms() + fe->cfg.timeout_ms;
	int fd, ret;

	/* replace a stale socket of an earlier run, never a live one */
	ret = vsw_unix_clear_stale(&fe->addr);
	if (ret == -EEXIST)
		return vufe_fail(fe, ret, "%s exists and is not a socket",
				 fe->addr.sun_path);
	if (ret == -EADDRINUSE)
		return vufe_fail(fe, ret, "%s: somebody listens there",
				 fe->addr.sun_path);
	if (ret < 0)
		return vufe_fail(fe, ret, "%s: %s", fe->addr.sun_path,
				 strerror(-ret));
	fe->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fe->listen_fd < 0)
		return vufe_fail(fe, -errno, "socket: %s", strerror(errno));
	if (bind(fe->listen_fd, (struct sockaddr *)&fe->addr,
		 sizeof(fe->addr)) < 0)
		return vufe_fail(fe, -errno, "bind %s: %s", fe->addr.sun_path,
				 strerror(errno));
	fe->bound = true;
	if (listen(fe->listen_fd, 1) < 0)
		return vufe_fail(fe, -errno, "listen %s: %s",
				 fe->addr.sun_path, strerror(errno));
	ret = vufe_wait(fe, fe->listen_fd, POLLIN, deadline, "accept");
	if (ret < 0)
		return ret;
	fd = accept4(fe->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return vufe_fail(fe, -errno, "accept %s: %s", fe->addr.sun_path,
				 strerror(errno));
	/* one back-end per front-end: stop listening */
	vufe_close(&fe->listen_fd);
	fe->sock = fd;
	return 0;
}

/* Send one request; the socket is blocking, sends are small. */
static int vufe_send(struct vsw_vufe *fe, uint32_t req, uint32_t flags,
		     const void *payload, uint32_t size, const int *fds,
		     unsigned nfds)
{
	struct vsw_vu_hdr h = {
		.request = req,
		.flags = VSW_VU_FLAG_VERSION | flags,
		.size = size,
	};
	size_t total = sizeof(h) + size;
	ssize_t n;

	if (vufe_dead(fe))
		return vufe_fail(fe, -ENOTCONN, "%s: not connected",
				 vufe_req_name(req));
	n = vu_msg_send(fe->sock, &h, payload, size, fds, nfds, MSG_NOSIGNAL);
	if (n < 0) {
		int err = n == -EPIPE || n == -ECONNRESET ? -ENOTCONN : (int)n;

		vufe_set_dead(fe);
		return vufe_fail(fe, err, "%s: send: %s", vufe_req_name(req),
				 strerror((int)-n));
	}
	if ((size_t)n != total) {
		/* a blocking stream socket only writes short on a signal */
		vufe_set_dead(fe);
		return vufe_fail(fe, -EPIPE, "%s: short send (%zd of %zu)",
				 vufe_req_name(req), n, total);
	}
	return 0;
}

/*
 * Read exactly len bytes of a reply. Any fd riding along is closed and
 * refused: no reply of the requests sent here carries one.
 */
static int vufe_recv_exact(struct vsw_vufe *fe, uint32_t req, void *buf,
			   size_t len, uint64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VSW_VU_MAX_FDS)];
		struct cmsghdr align;
	} c;
	size_t have = 0;
	bool fds = false;
	ssize_t n;
	int ret;

	while (have < len) {
		struct iovec iov = {.iov_base = (uint8_t *)buf + have,
				    .iov_len = len - have};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = c.buf,
				    .msg_controllen = sizeof(c.buf)};
		int got[VSW_VU_MAX_FDS];
		unsigned n_got = 0;

		ret = vufe_wait(fe, fe->sock, POLLIN, deadline,
				vufe_req_name(req));
		if (ret < 0)
			return ret;
		n = recvmsg(fe->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* no reply of ours carries one: close them, refuse below */
		if (n >= 0 &&
		    (vu_msg_take_fds(&mh, got, &n_got, VSW_VU_MAX_FDS) ||
		     n_got > 0)) {
			while (n_got > 0)
				close(got[--n_got]);
			fds = true;
		}
		if (n < 0) {
			vufe_set_dead(fe);
			return vufe_fail(fe, -ENOTCONN, "%s: recv: %s",
					 vufe_req_name(req), strerror(errno));
		}
		if (n == 0) {
			vufe_set_dead(fe);
			return vufe_fail(fe, -ECONNRESET,
					 "%s: the back-end closed the "
					 "connection",
					 vufe_req_name(req));
		}
		if (fds) {
			vufe_set_dead(fe);
			return vufe_fail(fe, -EPROTO,
					 "%s: reply carries file descriptors",
					 vufe_req_name(req));
		}
		have += (size_t)n;
	}
	return 0;
}

/* Read the reply to req: exactly size payload bytes. */
static int vufe_reply(struct vsw_vufe *fe, uint32_t req, void *payload,
		      uint32_t size)
{
	uint64_t deadline = vsw_now_ms() + fe->cfg.timeout_ms;
	struct vsw_vu_hdr h;
	int ret;

	ret = vufe_recv_exact(fe, req, &h, sizeof(h), deadline);
	if (ret < 0)
		return ret;
	if (h.request != req || (h.flags & VSW_VU_FLAG_VERSION_MASK) !=
					VSW_VU_FLAG_VERSION ||
	    !(h.flags & VSW_VU_FLAG_REPLY) || h.size != size) {
		vufe_set_dead(fe);
		return vufe_fail(fe, -EPROTO,
				 "%s: bad reply (request %" PRIu32
				 ", flags 0x%" PRIx32 ", size %" PRIu32
				 "; expected request %" PRIu32
				 " with REPLY and size %" PRIu32 ")",
				 vufe_req_name(req), h.request, h.flags,
				 h.size, req, size);
	}
	return vufe_recv_exact(fe, req, payload, size, deadline);
}

static bool vufe_pf(const struct vsw_vufe *fe, unsigned bit)
{
	return (fe->pfeatures >> bit) & 1;
}

/*
 * A request without a reply of its own. With ack (and REPLY_ACK
 * negotiated) NEED_REPLY is set and the back-end's verdict awaited.
 */
static int vufe_req(struct vsw_vufe *fe, uint32_t req, const void *payload,
		    uint32_t size, const int *fds, unsigned nfds, bool ack)
{
	bool need = ack && vufe_pf(fe, VSW_VU_PF_REPLY_ACK);
	uint64_t v;
	int ret;

	ret = vufe_send(fe, req, need ? VSW_VU_FLAG_NEED_REPLY : 0, payload,
			size, fds, nfds);
	if (ret < 0 || !need)
		return ret;
	ret = vufe_reply(fe, req, &v, sizeof(v));
	if (ret < 0)
		return ret;
	if (v != 0)
		return vufe_fail(fe, -EIO,
				 "%s: the back-end refused it (ack %" PRIu64
				 ")",
				 vufe_req_name(req), v);
	return 0;
}

static int vufe_get_u64(struct vsw_vufe *fe, uint32_t req, uint64_t *v)
{
	int ret = vufe_send(fe, req, 0, NULL, 0, NULL, 0);

	return ret < 0 ? ret : vufe_reply(fe, req, v, sizeof(*v));
}

static int vufe_set_u64(struct vsw_vufe *fe, uint32_t req, uint64_t v,
			bool ack)
{
	return vufe_req(fe, req, &v, sizeof(v), NULL, 0, ack);
}

static int vufe_set_state(struct vsw_vufe *fe, uint32_t req, uint32_t idx,
			  uint32_t num, bool ack)
{
	struct vhost_vring_state s = {.index = idx, .num = num};

	return vufe_req(fe, req, &s, sizeof(s), NULL, 0, ack);
}

int vsw_vufe_check(struct vsw_vufe *fe)
{
	uint8_t b;
	ssize_t n;

	if (vufe_dead(fe) || fe->sock < 0)
		return -ENOTCONN;
	n = recv(fe->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return 0;
	/* EOF, an error, or bytes nobody asked for: the session is over */
	vufe_set_dead(fe);
	return -ENOTCONN;
}

int vsw_vufe_sock_fd(const struct vsw_vufe *fe)
{
	return vufe_dead(fe) ? -1 : fe->sock;
}

/* ------------------------------------------------------------------ */
/* Memory and queues                                                   */
/* ------------------------------------------------------------------ */

/* Place one queue in the region (offsets only) and allocate its arrays. */
static int vufe_q_plan(struct vsw_vufe *fe, struct vufe_q *q, uint32_t index,
		       uint32_t num, uint32_t buf_len, bool indirect,
		       uint64_t *off)
{
	size_t ring = vsw_vq_ring_bytes(fe->features, num);

	if (ring == 0)
		return vufe_fail(fe, -EINVAL,
				 "queue size %" PRIu32 " invalid for the "
				 "ring type",
				 num);
	q->index = index;
	q->num = num;
	q->ring_off = VSW_ALIGN_UP(*off, (uint64_t)4096);
	q->ring_bytes = ring;
	*off = q->ring_off + ring;
	q->ind_off = 0;
	if (indirect) {
		q->ind_off = VSW_ALIGN_UP(*off, (uint64_t)VSW_CACHE_LINE);
		*off = q->ind_off + (uint64_t)num * 2 * sizeof(struct vring_desc);
	}
	q->buf_len = buf_len;
	q->slot_size = VSW_ALIGN_UP(buf_len, (uint32_t)VSW_CACHE_LINE);
	q->slots_off = VSW_ALIGN_UP(*off, (uint64_t)VSW_CACHE_LINE);
	*off = q->slots_off + (uint64_t)num * q->slot_size;
	q->free = calloc(num, sizeof(*q->free));
	q->chain = calloc(2 * (size_t)num, sizeof(*q->chain));
	if (q->free == NULL || q->chain == NULL)
		return vufe_fail(fe, -ENOMEM, "out of memory");
	return 0;
}

static int vufe_q_start(struct vsw_vufe *fe, struct vufe_q *q)
{
	struct vsw_vq_drv_config c = {
		.features = fe->features,
		.num = q->num,
		.ring = vufe_ptr(fe, q->ring_off),
		.ring_gpa = q->ring_off,
	};
	int ret;

	if (q->ind_off != 0) {
		c.indirect = vufe_ptr(fe, q->ind_off);
		c.indirect_gpa = q->ind_off;
		c.indirect_max = 2;
	}
	ret = vsw_vq_drv_create(&c, &q->drv);
	if (ret < 0)
		return vufe_fail(fe, ret, "queue %" PRIu32 ": ring: %s",
				 q->index, strerror(-ret));
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick_fd < 0 || q->call_fd < 0)
		return vufe_fail(fe, -errno, "eventfd: %s", strerror(errno));
	return 0;
}

static void vufe_q_free(struct vufe_q *q)
{
	vsw_vq_drv_destroy(q->drv);
	q->drv = NULL;
	vufe_close(&q->kick_fd);
	vufe_close(&q->call_fd);
	free(q->free);
	free(q->chain);
	q->free = q->chain = NULL;
}

/* Expose every slot on the free list as a receive buffer. */
unsigned vufe_rx_refill(struct vufe_q *q)
{
	unsigned added = 0;

	while (q->nfree > 0) {
		uint32_t slot = q->free[q->nfree - 1];
		struct vsw_sg sg = {
			.addr = q->slots_off + (uint64_t)slot * q->slot_size,
			.len = q->buf_len,
		};

		if (vsw_vq_drv_add(q->drv, &sg, 0, 1, vufe_token(slot)) < 0)
			break; /* full (cannot be: one slot per entry) or
				* broken: the next burst reports it */
		q->nfree--;
		added++;
	}
	return added;
}

void vufe_kick(struct vufe_q *q)
{
	uint64_t one = 1;

	/* eventfd: the counter only overflows after 2^64 - 2 kicks */
	if (write(q->kick_fd, &one, sizeof(one)) < 0)
		return;
}

static int vufe_mem_create(struct vsw_vufe *fe, size_t size)
{
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	size_t align = fe->cfg.hugepages ? VUFE_HUGE_PAGE : 4096;

	if (fe->cfg.hugepages)
		flags |= MFD_HUGETLB;
	fe->mem_size = VSW_ALIGN_UP(size, align);
	fe->mem_fd = memfd_create("vsw-vufe", flags);
	if (fe->mem_fd < 0)
		return vufe_fail(fe, -errno, "memfd_create%s: %s",
				 fe->cfg.hugepages ? " (MFD_HUGETLB)" : "",
				 strerror(errno));
	if (ftruncate(fe->mem_fd, (off_t)fe->mem_size) < 0)
		return vufe_fail(fe, -errno, "ftruncate %zu bytes: %s",
				 fe->mem_size, strerror(errno));
	/*
	 * The back-end maps this fd: fix its size so that neither side can
	 * make the other's mapping fault. A kernel without hugetlbfs sealing
	 * refuses; the region still works, so that is not an error.
	 */
	(void)fcntl(fe->mem_fd, F_ADD_SEALS,
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	fe->mem = mmap(NULL, fe->mem_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (fe->cfg.hugepages ? MAP_POPULATE : 0),
		       fe->mem_fd, 0);
	if (fe->mem == MAP_FAILED) {
		fe->mem = NULL;
		if (fe->cfg.hugepages)
			return vufe_fail(fe, -ENOMEM,
					 "mmap of %zu bytes of hugepages "
					 "failed (%s): reserve more in "
					 "/proc/sys/vm/nr_hugepages",
					 fe->mem_size, strerror(errno));
		return vufe_fail(fe, -errno, "mmap %zu bytes: %s",
				 fe->mem_size, strerror(errno));
	}
	return 0;
}

/* Offsets of every queue, then the region, then the rings. */
static int vufe_mem_setup(struct vsw_vufe *fe)
{
	bool ind = VUFE_HAS(fe, VIRTIO_RING_F_INDIRECT_DESC);
	uint32_t num = fe->cfg.queue_size, rx_buf = fe->cfg.rx_buf_size;
	uint64_t off = 0;
	unsigned i;
	int ret;

	if (rx_buf == 0) {
		if (VUFE_HAS(fe, VIRTIO_NET_F_MRG_RXBUF))
			rx_buf = VUFE_SMALL_FRAME;
		else if (VUFE_HAS(fe, VIRTIO_NET_F_GUEST_TSO4) ||
			 VUFE_HAS(fe, VIRTIO_NET_F_GUEST_TSO6))
			rx_buf = VUFE_BIG_RX_BUF;
		else
			rx_buf = VSW_VUFE_HDR_SIZE + VUFE_SMALL_FRAME;
	}
	fe->tx_max_frame = fe->cfg.tx_max_frame;
	if (fe->tx_max_frame == 0)
		fe->tx_max_frame =
			VUFE_HAS(fe, VIRTIO_NET_F_HOST_TSO4) ||
					VUFE_HAS(fe, VIRTIO_NET_F_HOST_TSO6)
				? VSW_PKT_MAX_LEN
				: VUFE_SMALL_FRAME;
	for (i = 0; i < fe->npairs; i++) {
		ret = vufe_q_plan(fe, &fe->qp[i].rx, 2 * i, num, rx_buf, false,
				  &off);
		if (ret == 0)
			ret = vufe_q_plan(fe, &fe->qp[i].tx, 2 * i + 1, num,
					  VSW_VUFE_HDR_SIZE + fe->tx_max_frame,
					  ind, &off);
		if (ret < 0)
			return ret;
	}
	if (VUFE_HAS(fe, VIRTIO_NET_F_CTRL_VQ)) {
		ret = vufe_q_plan(fe, &fe->ctrl, 2 * fe->npairs,
				  VUFE_CTRL_QSIZE, VSW_CACHE_LINE, false, &off);
		if (ret < 0)
			return ret;
	}
	ret = vufe_mem_create(fe, off);
	if (ret < 0)
		return ret;
	for (i = 0; i < fe->npairs; i++) {
		struct vufe_qp *p = &fe->qp[i];
		uint32_t s;

		ret = vufe_q_start(fe, &p->rx);
		if (ret == 0)
			ret = vufe_q_start(fe, &p->tx);
		if (ret < 0)
			return ret;
		/* every slot free; rx: all of them go to the ring */
		for (s = 0; s < num; s++)
			p->tx.free[s] = p->rx.free[s] = num - 1 - s;
		p->tx.nfree = p->rx.nfree = num;
		vufe_rx_refill(&p->rx);
		/* polling by default: interrupts are enabled on request */
		vsw_vq_drv_disable_cb(p->rx.drv);
		vsw_vq_drv_disable_cb(p->tx.drv);
	}
	if (VUFE_HAS(fe, VIRTIO_NET_F_CTRL_VQ)) {
		ret = vufe_q_start(fe, &fe->ctrl);
		if (ret < 0)
			return ret;
		vsw_vq_drv_disable_cb(fe->ctrl.drv);
	}
	return 0;
}

/* SET_VRING_NUM, BASE, ADDR, KICK, CALL (QEMU's order). */
static int vufe_q_send(struct vsw_vufe *fe, const struct vufe_q *q)
{
	struct vhost_vring_addr a = {.index = q->index};
	struct vsw_vq_addrs g;
	uint64_t v = q->index;
	int ret;

	/*
	 * Split: the next avail index, 0. Packed: position | wrap counter
	 * << 15 for avail, the same for used in the upper half (QEMU's
	 * encoding); a fresh ring starts at 0 with both counters at 1.
	 */
	uint32_t base = VUFE_HAS(fe, VIRTIO_F_RING_PACKED)
				? (1u << 15) | (1u << 31)
				: 0;

	ret = vufe_set_state(fe, VSW_VU_REQ_SET_VRING_NUM, q->index, q->num,
			     false);
	if (ret == 0)
		ret = vufe_set_state(fe, VSW_VU_REQ_SET_VRING_BASE, q->index,
				     base, false);
	if (ret < 0)
		return ret;
	/* the back-end translates our virtual addresses via the region */
	vsw_vq_drv_addrs(q->drv, &g);
	a.desc_user_addr = (uintptr_t)vufe_ptr(fe, g.desc);
	a.avail_user_addr = (uintptr_t)vufe_ptr(fe, g.driver);
	a.used_user_addr = (uintptr_t)vufe_ptr(fe, g.device);
	a.log_guest_addr = g.device;
	ret = vufe_req(fe, VSW_VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0,
		       true);
	if (ret == 0)
		ret = vufe_req(fe, VSW_VU_REQ_SET_VRING_KICK, &v, sizeof(v),
			       &q->kick_fd, 1, false);
	if (ret == 0)
		ret = vufe_req(fe, VSW_VU_REQ_SET_VRING_CALL, &v, sizeof(v),
			       &q->call_fd, 1, false);
	return ret;
}

static int vufe_send_mem_table(struct vsw_vufe *fe)
{
	struct vsw_vu_mem_table t = {.nregions = 1};
	uint32_t size = 8 + sizeof(struct vsw_vu_mem_region);

	t.regions[0].gpa = 0;
	t.regions[0].size = fe->mem_size;
	t.regions[0].uva = (uintptr_t)fe->mem;
	t.regions[0].mmap_offset = 0;
	return vufe_req(fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size, &fe->mem_fd, 1,
			true);
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET through the control queue. */
static int vufe_ctrl_set_pairs(struct vsw_vufe *fe)
{
	struct vufe_q *q = &fe->ctrl;
	uint8_t *b = vufe_ptr(fe, q->slots_off);
	uint16_t pairs = htole16((uint16_t)fe->npairs);
	uint64_t deadline = vsw_now_ms() + fe->cfg.timeout_ms;
	struct vsw_sg sg[2] = {
		{.addr = q->slots_off, .len = 4},
		{.addr = q->slots_off + 8, .len = 1},
	};
	uint32_t len;
	uint8_t ack;
	void *tok;
	int ret;

	b[0] = VIRTIO_NET_CTRL_MQ;
	b[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	memcpy(b + 2, &pairs, sizeof(pairs));
	b[8] = 0xff;
	ret = vsw_vq_drv_add(q->drv, sg, 1, 1, vufe_token(0));
	if (ret < 0)
		return vufe_fail(fe, ret, "control queue: %s", strerror(-ret));
	if (vsw_vq_drv_kick_prepare(q->drv))
		vufe_kick(q);
	while ((tok = vsw_vq_drv_get_used(q->drv, &len)) == NULL) {
		if (vsw_vq_drv_is_broken(q->drv))
			return vufe_fail(fe, -EIO,
					 "control queue: bad used entry");
		ret = vsw_vufe_check(fe);
		if (ret < 0)
			return vufe_fail(fe, ret,
					 "control queue: back-end gone");
		if (vsw_now_ms() >= deadline)
			return vufe_fail(fe, -ETIMEDOUT,
					 "control queue: no answer to "
					 "MQ_VQ_PAIRS_SET within %u ms",
					 fe->cfg.timeout_ms);
		usleep(100);
	}
	ack = b[8]; /* read once */
	if (len < 1 || ack != VIRTIO_NET_OK)
		return vufe_fail(fe, -EIO,
				 "control queue: MQ_VQ_PAIRS_SET %u refused "
				 "(ack %u, len %" PRIu32 ")",
				 fe->npairs, ack, len);
	return 0;
}

static int vufe_status(struct vsw_vufe *fe, uint8_t status)
{
	uint64_t got;
	int ret;

	ret = vufe_set_u64(fe, VSW_VU_REQ_SET_STATUS, status, true);
	if (ret == 0)
		ret = vufe_get_u64(fe, VSW_VU_REQ_GET_STATUS, &got);
	if (ret < 0)
		return ret;
	if (got != status)
		return vufe_fail(fe, -EIO,
				 "SET_STATUS 0x%x: the back-end reports 0x%" PRIx64,
				 status, got);
	return 0;
}

static int vufe_negotiate(struct vsw_vufe *fe)
{
	uint64_t want = fe->cfg.features | VSW_VUFE_BIT(VIRTIO_F_VERSION_1);
	uint64_t pf_offered, v;
	int ret;

	ret = vufe_get_u64(fe, VSW_VU_REQ_GET_FEATURES, &fe->offered);
	if (ret < 0)
		return ret;
	if (!(fe->offered & VSW_VUFE_BIT(VIRTIO_F_VERSION_1)))
		return vufe_fail(fe, -ENOTSUP,
				 "the back-end does not offer VERSION_1 "
				 "(features 0x%" PRIx64 ")",
				 fe->offered);
	fe->features = want & fe->offered;
	if (fe->npairs > 1 && !VUFE_HAS(fe, VIRTIO_NET_F_MQ))
		return vufe_fail(fe, -ENOTSUP,
				 "%u queue pairs need MQ, not offered",
				 fe->npairs);
	if (fe->offered & VSW_VUFE_BIT(VSW_VU_F_PROTOCOL_FEATURES)) {
		ret = vufe_get_u64(fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES,
				   &pf_offered);
		if (ret < 0)
			return ret;
		fe->pfeatures = pf_offered & VUFE_PF_WANTED;
		ret = vufe_set_u64(fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES,
				   fe->pfeatures, false);
		if (ret < 0)
			return ret;
	}
	if (fe->npairs > 1) {
		if (!vufe_pf(fe, VSW_VU_PF_MQ))
			return vufe_fail(fe, -ENOTSUP,
					 "%u queue pairs need the MQ protocol "
					 "feature, not offered",
					 fe->npairs);
		/* counted in pairs, as QEMU's net device reads it */
		ret = vufe_get_u64(fe, VSW_VU_REQ_GET_QUEUE_NUM, &v);
		if (ret < 0)
			return ret;
		if (v < fe->npairs)
			return vufe_fail(fe, -ENOTSUP,
					 "the back-end supports %" PRIu64
					 " queues, %u pairs asked",
					 v, fe->npairs);
	}
	if (vufe_pf(fe, VSW_VU_PF_CONFIGURE_MEM_SLOTS)) {
		ret = vufe_get_u64(fe, VSW_VU_REQ_GET_MAX_MEM_SLOTS, &v);
		if (ret < 0)
			return ret;
		if (v < 1)
			return vufe_fail(fe, -EPROTO,
					 "GET_MAX_MEM_SLOTS: 0 slots");
	}
	ret = vufe_req(fe, VSW_VU_REQ_SET_OWNER, NULL, 0, NULL, 0, false);
	if (ret < 0)
		return ret;
	v = fe->features |
	    (fe->offered & VSW_VUFE_BIT(VSW_VU_F_PROTOCOL_FEATURES));
	ret = vufe_set_u64(fe, VSW_VU_REQ_SET_FEATURES, v, true);
	if (ret < 0)
		return ret;
	if (vufe_pf(fe, VSW_VU_PF_STATUS))
		return vufe_status(fe, VIRTIO_CONFIG_S_ACKNOWLEDGE |
					       VIRTIO_CONFIG_S_DRIVER |
					       VIRTIO_CONFIG_S_FEATURES_OK);
	return 0;
}

static int vufe_for_each_q(struct vsw_vufe *fe,
			   int (*fn)(struct vsw_vufe *, const struct vufe_q *))
{
	unsigned i;
	int ret;

	for (i = 0; i < fe->npairs; i++) {
		ret = fn(fe, &fe->qp[i].rx);
		if (ret == 0)
			ret = fn(fe, &fe->qp[i].tx);
		if (ret < 0)
			return ret;
	}
	return fe->ctrl.drv != NULL ? fn(fe, &fe->ctrl) : 0;
}

static int vufe_q_enable(struct vsw_vufe *fe, const struct vufe_q *q)
{
	return vufe_set_state(fe, VSW_VU_REQ_SET_VRING_ENABLE, q->index, 1,
			      true);
}

int vsw_vufe_connect(struct vsw_vufe *fe)
{
	bool pfeat;
	unsigned i;
	int ret;

	if (fe->started)
		return vufe_fail(fe, -EALREADY, "connect called twice");
	fe->started = true;
	fe->err[0] = '\0';
	ret = fe->cfg.server ? vufe_connect_server(fe)
			     : vufe_connect_client(fe);
	if (ret == 0)
		ret = vufe_negotiate(fe);
	if (ret == 0)
		ret = vufe_mem_setup(fe);
	if (ret == 0)
		ret = vufe_send_mem_table(fe);
	if (ret == 0)
		ret = vufe_for_each_q(fe, vufe_q_send);
	if (ret < 0)
		goto fail;
	pfeat = fe->offered & VSW_VUFE_BIT(VSW_VU_F_PROTOCOL_FEATURES);
	if (pfeat) {
		ret = vufe_for_each_q(fe, vufe_q_enable);
		if (ret < 0)
			goto fail;
	}
	if (vufe_pf(fe, VSW_VU_PF_STATUS))
		ret = vufe_status(fe, VIRTIO_CONFIG_S_ACKNOWLEDGE |
					      VIRTIO_CONFIG_S_DRIVER |
					      VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
	else if (!vufe_pf(fe, VSW_VU_PF_REPLY_ACK))
		/* nothing was acknowledged: a round trip proves the
		 * back-end has executed every request before this one */
		ret = vufe_get_u64(fe, VSW_VU_REQ_GET_FEATURES, &(uint64_t){0});
	if (ret < 0)
		goto fail;
	if (fe->ctrl.drv != NULL && VUFE_HAS(fe, VIRTIO_NET_F_MQ) &&
	    fe->npairs > 1) {
		ret = vufe_ctrl_set_pairs(fe);
		if (ret < 0)
			goto fail;
	}
	/* the receive rings were filled before the back-end watched them */
	for (i = 0; i < fe->npairs; i++)
		vufe_kick(&fe->qp[i].rx);
	return 0;
fail:
	/* the session is unusable; destroy releases what was set up */
	vufe_set_dead(fe);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Object                                                              */
/* ------------------------------------------------------------------ */

static void vufe_q_init(struct vufe_q *q)
{
	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = -1;
}

int vsw_vufe_create(const struct vsw_vufe_config *cfg, struct vsw_vufe **out)
{
	struct vsw_vufe *fe;
	unsigned i;

	*out = NULL;
	if (cfg->path == NULL || cfg->queue_pairs == 0 ||
	    cfg->queue_pairs > VSW_VUFE_MAX_QP ||
	    (cfg->features & ~VSW_VUFE_FEATURES) ||
	    (cfg->queue_size != 0 &&
	     (cfg->queue_size < 2 || cfg->queue_size > VSW_VQ_MAX_SIZE)) ||
	    (cfg->rx_buf_size != 0 &&
	     cfg->rx_buf_size <= VSW_VUFE_HDR_SIZE) ||
	    cfg->tx_max_frame > VSW_PKT_MAX_LEN)
		return -EINVAL;
	if (strlen(cfg->path) >= sizeof(fe->addr.sun_path))
		return -ENAMETOOLONG;
	fe = calloc(1, sizeof(*fe));
	if (fe == NULL)
		return -ENOMEM;
	fe->qp = aligned_alloc(VSW_CACHE_LINE,
			       cfg->queue_pairs * sizeof(*fe->qp));
	if (fe->qp == NULL) {
		free(fe);
		return -ENOMEM;
	}
	fe->cfg = *cfg;
	fe->cfg.path = NULL; /* the caller's string need not outlive create */
	if (fe->cfg.timeout_ms == 0)
		fe->cfg.timeout_ms = VUFE_TIMEOUT_MS;
	if (fe->cfg.queue_size == 0)
		fe->cfg.queue_size = VUFE_QSIZE;
	fe->addr.sun_family = AF_UNIX;
	strcpy(fe->addr.sun_path, cfg->path);
	fe->sock = fe->listen_fd = fe->mem_fd = -1;
	fe->npairs = cfg->queue_pairs;
	for (i = 0; i < fe->npairs; i++) {
		memset(&fe->qp[i], 0, sizeof(fe->qp[i]));
		vufe_q_init(&fe->qp[i].rx);
		vufe_q_init(&fe->qp[i].tx);
	}
	vufe_q_init(&fe->ctrl);
	*out = fe;
	return 0;
}

void vsw_vufe_destroy(struct vsw_vufe *fe)
{
	unsigned i;

	if (fe == NULL)
		return;
	/* closing the socket is a disconnect the back-end must handle: it
	 * stops the rings and unmaps its view of the region */
	vufe_close(&fe->sock);
	vufe_close(&fe->listen_fd);
	if (fe->bound)
		unlink(fe->addr.sun_path);
	for (i = 0; i < fe->npairs; i++) {
		vufe_q_free(&fe->qp[i].rx);
		vufe_q_free(&fe->qp[i].tx);
	}
	vufe_q_free(&fe->ctrl);
	if (fe->mem != NULL)
		munmap(fe->mem, fe->mem_size);
	vufe_close(&fe->mem_fd);
	free(fe->qp);
	free(fe);
}

const char *vsw_vufe_error(const struct vsw_vufe *fe)
{
	return fe->err;
}

uint64_t vsw_vufe_features(const struct vsw_vufe *fe)
{
	return fe->features;
}

uint64_t vsw_vufe_protocol_features(const struct vsw_vufe *fe)
{
	return fe->pfeatures;
}

unsigned vsw_vufe_queue_pairs(const struct vsw_vufe *fe)
{
	return fe->npairs;
}
