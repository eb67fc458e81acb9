/* SPDX-License-Identifier: MIT */
/*
 * vsw-blkload: a vhost-user-blk front end that keeps DEPTH random reads (or
 * writes) of BS bytes in flight on one virtqueue for SECONDS, for
 * bench/blk/run.py's host-side row (no TCG guest in the path). It plays the
 * guest driver the way QEMU's vhost-user-blk does: one memfd region for the
 * ring and the buffers, GET/SET_FEATURES (VERSION_1, EVENT_IDX if offered),
 * SET_OWNER, SET_MEM_TABLE, the vring messages, SET_VRING_ENABLE; then
 * lib/virtq's driver side on that memory. It waits for the back end's
 * interrupt (call eventfd) when nothing is used, like a guest.
 *
 * Prints one line: "done N errors E seconds S iops I". A bench tool: the
 * back end is trusted to speak the protocol; a reply that does not match
 * ends the run with an error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <vsw/vhost_user.h>
#include <vsw/virtq.h>

#define GPA_BASE 0x100000ULL
#define QSIZE 256u
#define MAX_DEPTH 128u

struct load {
	int sock, mem_fd, kick, call;
	uint8_t *mem;
	size_t mem_size;
	struct vsw_vq_drv *vq;
	uint64_t sectors;
	uint32_t bs;
	unsigned depth;
	bool write;
	uint64_t rng;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int vu_send(struct load *l, uint32_t req, const void *p, uint32_t size,
		   int fd)
{
	struct vsw_vu_hdr h = {req, VSW_VU_FLAG_VERSION, size};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, size}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	n = sendmsg(l->sock, &m, MSG_NOSIGNAL);
	if (n != (ssize_t)(sizeof(h) + size)) {
		fprintf(stderr, "vsw-blkload: send request %" PRIu32 ": %s\n",
			req, n < 0 ? strerror(errno) : "short");
		return -EIO;
	}
	return 0;
}

static int vu_get_u64(struct load *l, uint32_t req, uint64_t *v)
{
	struct vsw_vu_hdr h;
	int ret = vu_send(l, req, NULL, 0, -1);

	if (ret < 0)
		return ret;
	if (recv(l->sock, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
	    h.request != req || !(h.flags & VSW_VU_FLAG_REPLY) ||
	    h.size != sizeof(*v) ||
	    recv(l->sock, v, sizeof(*v), MSG_WAITALL) != sizeof(*v)) {
		fprintf(stderr,
			"vsw-blkload: bad reply to request %" PRIu32 "\n", req);
		return -EPROTO;
	}
	return 0;
}

static int vu_state(struct load *l, uint32_t req, uint32_t num)
{
	struct vhost_vring_state s = {0, num};

	return vu_send(l, req, &s, sizeof(s), -1);
}

static uint64_t uva(const struct load *l, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)(l->mem + (gpa - GPA_BASE));
}

/* Session set-up, the order QEMU uses. */
static int setup(struct load *l)
{
	const uint64_t pf_bit = 1ULL << VSW_VU_F_PROTOCOL_FEATURES;
	uint64_t offered, feat, pf = 0, idx = 0;
	struct vsw_vq_drv_config dc = {0};
	struct vsw_vu_mem_table t = {0};
	struct vhost_vring_addr va = {0};
	struct vsw_vq_addrs a;
	int ret;

	ret = vu_get_u64(l, VSW_VU_REQ_GET_FEATURES, &offered);
	if (ret < 0)
		return ret;
	if (!(offered & (1ULL << VIRTIO_F_VERSION_1))) {
		fprintf(stderr, "vsw-blkload: no VIRTIO_F_VERSION_1\n");
		return -ENOTSUP;
	}
	feat = (1ULL << VIRTIO_F_VERSION_1) |
	       (offered & ((1ULL << VIRTIO_RING_F_EVENT_IDX) | pf_bit));
	if (feat & pf_bit) {
		ret = vu_get_u64(l, VSW_VU_REQ_GET_PROTOCOL_FEATURES, &pf);
		if (ret < 0)
			return ret;
		pf = 0; /* none needed: no replies to wait for */
		ret = vu_send(l, VSW_VU_REQ_SET_PROTOCOL_FEATURES, &pf,
			      sizeof(pf), -1);
		if (ret < 0)
			return ret;
	}
	ret = vu_send(l, VSW_VU_REQ_SET_OWNER, NULL, 0, -1);
	if (ret == 0)
		ret = vu_send(l, VSW_VU_REQ_SET_FEATURES, &feat, sizeof(feat),
			      -1);
	if (ret < 0)
		return ret;
	t.nregions = 1;
	t.regions[0].gpa = GPA_BASE;
	t.regions[0].size = l->mem_size;
	t.regions[0].uva = uva(l, GPA_BASE);
	ret = vu_send(l, VSW_VU_REQ_SET_MEM_TABLE, &t, 8 + sizeof(t.regions[0]),
		      l->mem_fd);
	if (ret < 0)
		return ret;

	dc.features = feat & ~pf_bit;
	dc.num = QSIZE;
	dc.ring = l->mem;
	dc.ring_gpa = GPA_BASE;
	ret = vsw_vq_drv_create(&dc, &l->vq);
	if (ret < 0)
		return ret;
	vsw_vq_drv_addrs(l->vq, &a);
	va.index = 0;
	va.desc_user_addr = uva(l, a.desc);
	va.avail_user_addr = uva(l, a.driver);
	va.used_user_addr = uva(l, a.device);
	ret = vu_state(l, VSW_VU_REQ_SET_VRING_NUM, QSIZE);
	if (ret == 0)
		ret = vu_state(l, VSW_VU_REQ_SET_VRING_BASE, 0);
	if (ret == 0)
		ret = vu_send(l, VSW_VU_REQ_SET_VRING_ADDR, &va, sizeof(va),
			      -1);
	if (ret == 0)
		ret = vu_send(l, VSW_VU_REQ_SET_VRING_KICK, &idx, sizeof(idx),
			      l->kick);
	if (ret == 0)
		ret = vu_send(l, VSW_VU_REQ_SET_VRING_CALL, &idx, sizeof(idx),
			      l->call);
	if (ret == 0 && (feat & pf_bit))
		ret = vu_state(l, VSW_VU_REQ_SET_VRING_ENABLE, 1);
	return ret;
}

/* Buffers of slot i: header, status byte, data (4 KiB aligned). */
static uint64_t slot_hdr(unsigned i)
{
	return GPA_BASE + (1u << 20) + (uint64_t)i * 64;
}

static uint64_t slot_data(const struct load *l, unsigned i)
{
	return GPA_BASE + (2u << 20) + (uint64_t)i * l->bs;
}

static int post(struct load *l, unsigned i)
{
	uint8_t *h = l->mem + (slot_hdr(i) - GPA_BASE);
	struct virtio_blk_outhdr oh = {0};
	uint64_t nblk = l->sectors / (l->bs / 512);
	struct vsw_sg sg[3];

	/* xorshift64: a different block every time, no libc state */
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	oh.type = l->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	oh.sector = (l->rng % nblk) * (l->bs / 512);
	memcpy(h, &oh, sizeof(oh));
	h[32] = 0xff; /* the status byte, written by the device */
	sg[0] = (struct vsw_sg){slot_hdr(i), sizeof(oh)};
	sg[1] = (struct vsw_sg){slot_data(l, i), l->bs};
	sg[2] = (struct vsw_sg){slot_hdr(i) + 32, 1};
	return vsw_vq_drv_add(l->vq, sg, l->write ? 2 : 1, l->write ? 1 : 2,
			      (void *)(uintptr_t)(i + 1));
}

static int run(struct load *l, double seconds, uint64_t *done, uint64_t *err,
	       double *took)
{
	double t0 = now_s(), end = t0 + seconds;
	unsigned i;

	for (i = 0; i < l->depth; i++)
		if (post(l, i) < 0)
			return -EIO;
	if (vsw_vq_drv_kick_prepare(l->vq))
		(void)eventfd_write(l->kick, 1);
	while (now_s() < end) {
		unsigned got = 0;
		uint32_t len;
		void *tok;

		while ((tok = vsw_vq_drv_get_used(l->vq, &len)) != NULL) {
			unsigned s = (unsigned)(uintptr_t)tok - 1;

			if (l->mem[slot_hdr(s) + 32 - GPA_BASE] != 0)
				(*err)++;
			(*done)++;
			got++;
			if (post(l, s) < 0)
				return -EIO;
		}
		if (vsw_vq_drv_is_broken(l->vq))
			return -EIO;
		if (got > 0) {
			if (vsw_vq_drv_kick_prepare(l->vq))
				(void)eventfd_write(l->kick, 1);
			continue;
		}
		if (vsw_vq_drv_enable_cb(l->vq)) {
			struct pollfd p = {l->call, POLLIN, 0};
			eventfd_t v;

			if (poll(&p, 1, 100) > 0)
				(void)eventfd_read(l->call, &v);
		}
		vsw_vq_drv_disable_cb(l->vq);
	}
	*took = now_s() - t0;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vsw-blkload --socket PATH --sectors N [--seconds S] "
		   "[--depth N] [--bs BYTES] [--write]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 's'},
		{"sectors", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{"depth", required_argument, NULL, 'd'},
		{"bs", required_argument, NULL, 'b'},
		{"write", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct load l = {.sock = -1,
			 .mem_fd = -1,
			 .kick = -1,
			 .call = -1,
			 .bs = 4096,
			 .depth = 32,
			 .rng = 88172645463325252ULL};
	const char *path = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	double seconds = 10, took = 0;
	uint64_t done = 0, err = 0;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'n':
			l.sectors = strtoull(optarg, NULL, 10);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'd':
			l.depth = (unsigned)atoi(optarg);
			break;
		case 'b':
			l.bs = (uint32_t)atoi(optarg);
			break;
		case 'w':
			l.write = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || strlen(path) >= sizeof(sa.sun_path) ||
	    l.depth < 1 || l.depth > MAX_DEPTH || l.bs < 512 ||
	    l.bs % 512 != 0 || l.bs > (1u << 20) || l.sectors < l.bs / 512 ||
	    seconds <= 0) {
		usage(stderr);
		return 2;
	}
	strcpy(sa.sun_path, path);
	l.mem_size = (2u << 20) + (size_t)MAX_DEPTH * l.bs;
	l.mem_fd = memfd_create("vsw-blkload", MFD_CLOEXEC);
	if (l.mem_fd < 0 || ftruncate(l.mem_fd, (off_t)l.mem_size) < 0) {
		perror("vsw-blkload: memfd");
		goto out;
	}
	l.mem = mmap(NULL, l.mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		     l.mem_fd, 0);
	if (l.mem == MAP_FAILED) {
		l.mem = NULL;
		perror("vsw-blkload: mmap");
		goto out;
	}
	l.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l.sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l.kick < 0 || l.call < 0 || l.sock < 0 ||
	    connect(l.sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vsw-blkload: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (setup(&l) < 0 || run(&l, seconds, &done, &err, &took) < 0) {
		fprintf(stderr,
			"vsw-blkload: failed after %" PRIu64 " requests\n",
			done);
		goto out;
	}
	printf("done %" PRIu64 " errors %" PRIu64 " seconds %.3f iops %.0f\n",
	       done, err, took, took > 0 ? (double)done / took : 0.0);
	ret = err > 0 ? 1 : 0;
out:
	if (l.sock >= 0)
		close(l.sock);
	vsw_vq_drv_destroy(l.vq);
	if (l.mem != NULL)
		munmap(l.mem, l.mem_size);
	if (l.mem_fd >= 0)
		close(l.mem_fd);
	if (l.kick >= 0)
		close(l.kick);
	if (l.call >= 0)
		close(l.call);
	return ret;
}
