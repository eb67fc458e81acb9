/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the vhost-user front end (lib/vhost-user/vu_frontend.c
 * and its packet path, lib/virtio-net/vnet_frontend.c)
 * against a hostile back end: the replies it sends during the session
 * set-up, then the used rings it writes.
 *
 * A peer thread plays the back end on a Unix socket in a private temporary
 * folder: it reads every request of the front end (keeping the memfd of
 * SET_MEM_TABLE and the ring addresses of SET_VRING_ADDR) and answers each
 * request that wants an answer (GET_*, NEED_REPLY) with the next record of
 * the reply script. When the script is used up it closes the connection at
 * the next request that wants an answer, so no input waits for a timeout.
 * If vsw_vufe_connect() succeeds, the rest of the input is a data-path
 * script run on the main thread: the back end writes ring memory, the
 * front end receives, sends and checks its socket.
 *
 * Input format:
 *   [0]    config: bits 0-1 queue pairs - 1 (MQ asked when > 1), bit 2
 *          RING_PACKED, bit 3 INDIRECT_DESC, bit 4 EVENT_IDX, bit 5
 *          MRG_RXBUF, bit 6 CTRL_VQ (one pair only), bit 7 IN_ORDER
 *   [1..2] reply script length L (little-endian), then L bytes of records:
 *          [0] mode: bits 0-1 0 a well-formed header, 1 another request
 *              number, 2 no REPLY flag, 3 a size of [payload byte 0]
 *              (when that is more than the payload, the write side is
 *              shut after it);
 *              bit 2 an fd rides along; bit 3 close instead of answering;
 *              bit 4 one unsolicited byte after the reply
 *          [1] payload length, then the payload
 *   then the data-path script, records of:
 *          [0] op % 4: 0 write ring memory: [1] queue index, [2] area
 *              (0 descriptors, 1 driver / avail, 2 device / used), [3..4]
 *              offset, [5] length, the bytes; 1 rx_burst of pair [1];
 *              2 tx_burst on pair [1] of a frame of [2] bytes; 3 check
 *
 * Invariants, checked with abort():
 *   - connect returns 0 or one of its documented errors, with a message;
 *     it never waits for a timeout (the script always answers or closes);
 *   - rx_burst / tx_burst return a count within the burst or a negative
 *     errno, the packets received have a length within the pool's buffers;
 *   - nothing the back end writes makes the front end read or write
 *     outside its memory (ASan), and destroy releases everything.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <vsw/pkt.h>
#include <vsw/vhost_user.h>
#include <vsw/vhost_user_fe.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_QS 8
#define FZ_MAXQ (2 * 4 + 1)
#define FZ_BURST 8

struct fz_ring {
	uint64_t desc, drv, dev; /* offsets in the memfd; 0 with !set */
	bool set;
};

struct fz_peer {
	int listen_fd, stop_fd;
	const uint8_t *script;
	size_t len, pos;
	pthread_mutex_t lock;
	/* what the front end told us, under lock */
	uint8_t *mem;
	size_t mem_len;
	uint64_t uva, off;
	struct fz_ring rings[FZ_MAXQ];
};

static char fz_dir[64];
static char fz_path[108];

static void fz_cleanup(void)
{
	unlink(fz_path);
	rmdir(fz_dir);
}

/* One private folder per process for the back end's socket. */
static void fz_init(void)
{
	if (fz_dir[0] != '\0')
		return;
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/vsw-fuzz-fe.XXXXXX");
	if (mkdtemp(fz_dir) == NULL)
		abort();
	snprintf(fz_path, sizeof(fz_path), "%s/be.sock", fz_dir);
	atexit(fz_cleanup);
}

static bool fz_read_all(int fd, void *buf, size_t len, int *fds, int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VSW_VU_MAX_FDS)];
		struct cmsghdr align;
	} c;
	size_t have = 0;

	while (have < len) {
		struct iovec iov = {.iov_base = (uint8_t *)buf + have,
				    .iov_len = len - have};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = c.buf,
				    .msg_controllen = sizeof(c.buf)};
		struct cmsghdr *cm;
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return false;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		     cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			size_t i;

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
				if (fds != NULL && *nfds < VSW_VU_MAX_FDS)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		have += (size_t)n;
	}
	return true;
}

static void fz_peer_mem(struct fz_peer *p, const uint8_t *pl, uint32_t size,
			int fd)
{
	struct vsw_vu_mem_region r;
	void *m;

	if (size < 8 + sizeof(r))
		return;
	memcpy(&r, pl + 8, sizeof(r));
	if (r.size == 0 || r.size > (1ULL << 30))
		return;
	m = mmap(NULL, r.size + r.mmap_offset, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->mem != NULL)
		munmap(p->mem, p->mem_len);
	p->mem = m;
	p->mem_len = r.size + r.mmap_offset;
	p->uva = r.uva;
	p->off = r.mmap_offset;
	pthread_mutex_unlock(&p->lock);
}

static void fz_peer_addr(struct fz_peer *p, const uint8_t *pl, uint32_t size)
{
	struct vhost_vring_addr a;

	if (size != sizeof(a))
		return;
	memcpy(&a, pl, sizeof(a));
	pthread_mutex_lock(&p->lock);
	if (a.index < FZ_MAXQ && p->mem != NULL) {
		struct fz_ring *r = &p->rings[a.index];

		r->desc = a.desc_user_addr - p->uva + p->off;
		r->drv = a.avail_user_addr - p->uva + p->off;
		r->dev = a.used_user_addr - p->uva + p->off;
		r->set = true;
	}
	pthread_mutex_unlock(&p->lock);
}

/* Answer req from the script; false: the connection is to be closed. */
static bool fz_peer_reply(struct fz_peer *p, int sock, uint32_t req)
{
	struct vsw_vu_hdr h;
	uint8_t mode, len, buf[sizeof(h) + 255 + 1];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	struct iovec iov = {.iov_base = buf};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int efd = -1;

	if (p->pos + 2 > p->len)
		return false;
	mode = p->script[p->pos];
	len = p->script[p->pos + 1];
	p->pos += 2;
	if (len > p->len - p->pos)
		len = (uint8_t)(p->len - p->pos);
	if (mode & 0x08)
		return false;
	h.request = req;
	h.flags = VSW_VU_FLAG_VERSION | VSW_VU_FLAG_REPLY;
	h.size = len;
	switch (mode & 3) {
	case 1:
		h.request = req + 1;
		break;
	case 2:
		h.flags = VSW_VU_FLAG_VERSION;
		break;
	case 3:
		h.size = len > 0 ? p->script[p->pos] : 0;
		break;
	}
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p->script + p->pos, len);
	p->pos += len;
	iov.iov_len = sizeof(h) + len;
	if (mode & 0x10)
		buf[iov.iov_len++] = 0;
	if (mode & 0x04) {
		struct cmsghdr *cm;

		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0)
			abort();
		memset(&c, 0, sizeof(c));
		mh.msg_control = c.buf;
		mh.msg_controllen = sizeof(c.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &efd, sizeof(int));
	}
	(void)sendmsg(sock, &mh, MSG_NOSIGNAL);
	if (efd >= 0)
		close(efd);
	/*
	 * A header that promises more than was sent would leave the front end
	 * waiting for its timeout: the rest never comes, say so with EOF.
	 */
	if (h.size > len)
		shutdown(sock, SHUT_WR);
	return true;
}

static bool fz_wants_reply(uint32_t req, uint32_t flags)
{
	switch (req) {
	case VSW_VU_REQ_GET_FEATURES:
	case VSW_VU_REQ_GET_PROTOCOL_FEATURES:
	case VSW_VU_REQ_GET_VRING_BASE:
	case VSW_VU_REQ_GET_QUEUE_NUM:
	case VSW_VU_REQ_GET_MAX_MEM_SLOTS:
	case VSW_VU_REQ_GET_STATUS:
		return true;
	default:
		return flags & VSW_VU_FLAG_NEED_REPLY;
	}
}

static void *fz_peer_main(void *arg)
{
	struct fz_peer *p = arg;
	uint8_t pl[sizeof(struct vsw_vu_mem_table)];
	struct pollfd pf[2];
	int sock, fds[VSW_VU_MAX_FDS], nfds, i;

	pf[0] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
	pf[1] = (struct pollfd){.fd = p->stop_fd, .events = POLLIN};
	if (poll(pf, 2, -1) < 0 || (pf[1].revents & POLLIN))
		return NULL;
	sock = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		return NULL;
	for (;;) {
		struct vsw_vu_hdr h;

		pf[0] = (struct pollfd){.fd = sock, .events = POLLIN};
		if (poll(pf, 2, -1) < 0 || (pf[1].revents & POLLIN))
			break;
		nfds = 0;
		if (!fz_read_all(sock, &h, sizeof(h), fds, &nfds))
			break;
		if (h.size > sizeof(pl) ||
		    !fz_read_all(sock, pl, h.size, fds, &nfds))
			break;
		if (h.request == VSW_VU_REQ_SET_MEM_TABLE && nfds > 0)
			fz_peer_mem(p, pl, h.size, fds[0]);
		else if (h.request == VSW_VU_REQ_SET_VRING_ADDR)
			fz_peer_addr(p, pl, h.size);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (fz_wants_reply(h.request, h.flags) &&
		    !fz_peer_reply(p, sock, h.request))
			break;
	}
	close(sock);
	return NULL;
}

static void fz_ring_write(struct fz_peer *p, const uint8_t *op, size_t len)
{
	const struct fz_ring *r;
	uint64_t at;
	size_t n;

	if (len < 6)
		return;
	pthread_mutex_lock(&p->lock);
	r = &p->rings[op[1] % FZ_MAXQ];
	at = (op[2] % 3 == 0 ? r->desc : op[2] % 3 == 1 ? r->drv : r->dev) +
	     (uint64_t)(op[3] | op[4] << 8) % 4096;
	n = op[5] < len - 6 ? op[5] : len - 6;
	if (r->set && p->mem != NULL && at < p->mem_len &&
	    n <= p->mem_len - at)
		memcpy(p->mem + at, op + 6, n);
	pthread_mutex_unlock(&p->lock);
}

static void fz_data_path(struct vsw_vufe *fe, struct fz_peer *p,
			 struct vsw_pkt_pool *pool, const uint8_t *s,
			 size_t len)
{
	unsigned npairs = vsw_vufe_queue_pairs(fe), qp;
	struct vsw_pkt *pkts[FZ_BURST];
	size_t pos = 0;
	int ret, i;

	for (qp = 0; qp < npairs; qp++)
		if (vsw_vufe_set_pool(fe, qp, pool) != 0)
			abort();
	while (pos < len) {
		size_t rl = len - pos < 2 ? len - pos : 2;
		uint8_t op = s[pos];

		switch (op % 4) {
		case 0:
			rl = len - pos < 6 ? len - pos
					   : 6 + (size_t)s[pos + 5];
			if (rl > len - pos)
				rl = len - pos;
			fz_ring_write(p, s + pos, rl);
			break;
		case 1:
			qp = rl > 1 ? s[pos + 1] % npairs : 0;
			ret = vsw_vufe_rx_burst(fe, qp, pkts, FZ_BURST);
			if (ret > FZ_BURST)
				abort();
			for (i = 0; i < ret; i++)
				if (pkts[i]->len > VSW_PKT_MAX_LEN)
					abort();
			if (ret > 0)
				vsw_pkt_free_burst(pkts, (unsigned)ret);
			break;
		case 2:
			rl = len - pos < 3 ? len - pos : 3;
			qp = rl > 1 ? s[pos + 1] % npairs : 0;
			pkts[0] = vsw_pkt_alloc_len(pool, 60);
			if (pkts[0] == NULL)
				break;
			pkts[0]->len = rl > 2 ? 14u + s[pos + 2] : 60;
			memset(vsw_pkt_data(pkts[0]), 0xab, pkts[0]->len);
			ret = vsw_vufe_tx_burst(fe, qp, pkts, 1);
			if (ret > 1)
				abort();
			if (ret <= 0)
				vsw_pkt_free(pkts[0]);
			break;
		default:
			rl = 1;
			ret = vsw_vufe_check(fe);
			if (ret != 0 && ret != -ENOTCONN)
				abort();
			break;
		}
		pos += rl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsw_pkt_pool_config pc = {.n_small = 64, .n_large = 4};
	struct vsw_vufe_config cfg;
	struct fz_peer p;
	struct vsw_pkt_pool *pool;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsw_vufe *fe;
	pthread_t th;
	size_t slen;
	int ret;

	if (size < 3 || size > 16384)
		return 0;
	fz_init();
	memset(&p, 0, sizeof(p));
	slen = (size_t)(data[1] | data[2] << 8);
	if (slen > size - 3)
		slen = size - 3;
	p.script = data + 3;
	p.len = slen;
	pthread_mutex_init(&p.lock, NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = fz_path;
	cfg.timeout_ms = 2000;
	cfg.queue_pairs = (uint16_t)((data[0] & 3) + 1);
	cfg.queue_size = FZ_QS;
	cfg.features = VSW_VUFE_BIT(VIRTIO_NET_F_CSUM) |
		       VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		       VSW_VUFE_BIT(VIRTIO_NET_F_HOST_TSO4) |
		       VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		       VSW_VUFE_BIT(VIRTIO_NET_F_MAC);
	if (cfg.queue_pairs > 1)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_NET_F_MQ);
	if (data[0] & 0x04)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_F_RING_PACKED);
	if (data[0] & 0x08)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[0] & 0x10)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (data[0] & 0x20)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if ((data[0] & 0x40) && cfg.queue_pairs == 1)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_NET_F_CTRL_VQ);
	if (data[0] & 0x80)
		cfg.features |= VSW_VUFE_BIT(VIRTIO_F_IN_ORDER);

	unlink(fz_path);
	p.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, fz_path, strlen(fz_path) + 1);
	if (p.listen_fd < 0 ||
	    bind(p.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(p.listen_fd, 1) != 0)
		abort();
	p.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (p.stop_fd < 0 || vsw_pkt_pool_create(&pc, &pool) != 0)
		abort();
	if (vsw_vufe_create(&cfg, &fe) != 0)
		abort();
	if (pthread_create(&th, NULL, fz_peer_main, &p) != 0)
		abort();
	ret = vsw_vufe_connect(fe);
	switch (ret) {
	case 0:
		fz_data_path(fe, &p, pool, data + 3 + slen, size - 3 - slen);
		break;
	case -ETIMEDOUT:
		/* every path of the script answers or closes */
		fprintf(stderr, "connect waited for a timeout: %s\n",
			vsw_vufe_error(fe));
		abort();
	case -ENOTCONN:
	case -ECONNRESET:
	case -EPIPE:
	case -EPROTO:
	case -ENOTSUP:
	case -EIO:
	case -ENOMEM:
		if (vsw_vufe_error(fe)[0] == '\0')
			abort();
		break;
	default:
		fprintf(stderr, "connect: unexpected %d: %s\n", ret,
			vsw_vufe_error(fe));
		abort();
	}
	(void)eventfd_write(p.stop_fd, 1);
	vsw_vufe_destroy(fe);
	pthread_join(th, NULL);
	close(p.stop_fd);
	close(p.listen_fd);
	unlink(fz_path);
	if (p.mem != NULL)
		munmap(p.mem, p.mem_len);
	pthread_mutex_destroy(&p.lock);
	vsw_pkt_pool_destroy(pool);
	return 0;
}
