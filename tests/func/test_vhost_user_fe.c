/* SPDX-License-Identifier: MIT */
/* Test front-end and recording device for the vhost-user tests. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vhost_user_fe.h"

static int td_queue_start(void *o, const struct vsw_vu_queue *q)
{
	struct tdev *td = o;

	assert_true(q->index < TD_QUEUES);
	assert_non_null(q->vq);
	assert_false(td->running[q->index]);
	if (td->start_ret < 0)
		return td->start_ret;
	td->q[q->index] = *q;
	td->running[q->index] = true;
	td->nstart++;
	return 0;
}

static void td_queue_stop(void *o, const struct vsw_vu_queue *q)
{
	struct tdev *td = o;

	assert_true(q->index < TD_QUEUES);
	assert_true(td->running[q->index]);
	assert_ptr_equal(td->q[q->index].vq, q->vq);
	td->running[q->index] = false;
	td->nstop++;
}

static int td_status_set(void *o, uint8_t status)
{
	struct tdev *td = o;

	td->status = status;
	td->nstatus++;
	return 0;
}

static int td_mtu_set(void *o, uint16_t mtu)
{
	struct tdev *td = o;

	if (mtu > 9000)
		return -EINVAL;
	td->mtu = mtu;
	return 0;
}

static void td_disconnected(void *o)
{
	struct tdev *td = o;
	unsigned i;

	for (i = 0; i < TD_QUEUES; i++)
		assert_false(td->running[i]);
	td->ndisconnect++;
}

static void td_log(void *o, enum vsw_log_level level, const char *line)
{
	struct tdev *td = o;
	int n;

	n = snprintf(td->log + td->loglen, sizeof(td->log) - td->loglen,
		     "%d %s\n", (int)level, line);
	if (n > 0 && (size_t)n < sizeof(td->log) - td->loglen)
		td->loglen += (size_t)n;
	if (getenv("VU_TEST_VERBOSE") != NULL)
		fprintf(stderr, "[log %d] %s\n", (int)level, line);
}

void tdev_init(struct tdev *td, bool net_mtu)
{
	memset(td, 0, sizeof(*td));
	td->dev.features = TD_FEATURES;
	td->dev.num_queues = TD_QUEUES;
	td->dev.net_mtu = net_mtu;
	td->dev.opaque = td;
	td->dev.queue_start = td_queue_start;
	td->dev.queue_stop = td_queue_stop;
	td->dev.status_set = td_status_set;
	td->dev.mtu_set = td_mtu_set;
	td->dev.disconnected = td_disconnected;
}

bool tdev_logged(const struct tdev *td, const char *needle)
{
	return strstr(td->log, needle) != NULL;
}

struct vsw_vu *fe_backend_pair(struct tdev *td, int *fe)
{
	struct vsw_vu_config cfg = {0};
	struct vsw_vu *vu = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	cfg.mode = VSW_VU_FD;
	cfg.fd = sv[1];
	cfg.dev = &td->dev;
	cfg.log = td_log;
	cfg.log_opaque = td;
	cfg.log_level = VSW_LOG_DEBUG;
	cfg.iotlb_miss_timeout_ms = td->iotlb_miss_timeout_ms;
	assert_int_equal(vsw_vu_create(&cfg, &vu), 0);
	assert_true(vsw_vu_connected(vu));
	*fe = sv[0];
	return vu;
}

void fe_send_raw(int fd, const struct vsw_vu_hdr *h, const void *p,
		 size_t sent_len, const int *fds, unsigned nfds)
{
	uint8_t buf[sizeof(*h) + 512];
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr msg = {0};

	assert_true(sent_len <= 512 && nfds <= 16);
	memcpy(buf, h, sizeof(*h));
	if (sent_len > 0)
		memcpy(buf + sizeof(*h), p, sent_len);
	iov.iov_base = buf;
	iov.iov_len = sizeof(*h) + sent_len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)iov.iov_len);
}

void fe_send(int fd, uint32_t req, uint32_t extra_flags, const void *p,
	     uint32_t size, const int *fds, unsigned nfds)
{
	struct vsw_vu_hdr h = {
		.request = req,
		.flags = VSW_VU_FLAG_VERSION | extra_flags,
		.size = size,
	};

	fe_send_raw(fd, &h, p, size, fds, nfds);
}

int fe_do(struct vsw_vu *vu, int fd, uint32_t req, const void *p, uint32_t size,
	  const int *fds, unsigned nfds)
{
	fe_send(fd, req, 0, p, size, fds, nfds);
	return vsw_vu_handle(vu);
}

void fe_reply(int fd, uint32_t req, void *p, uint32_t size)
{
	struct vsw_vu_hdr h;

	assert_int_equal(recv(fd, &h, sizeof(h), MSG_DONTWAIT),
			 (ssize_t)sizeof(h));
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VSW_VU_FLAG_VERSION | VSW_VU_FLAG_REPLY);
	assert_int_equal(h.size, size);
	if (size > 0)
		assert_int_equal(recv(fd, p, size, MSG_DONTWAIT),
				 (ssize_t)size);
}

uint64_t fe_get_u64(struct vsw_vu *vu, int fd, uint32_t req)
{
	uint64_t v = 0;

	assert_int_equal(fe_do(vu, fd, req, NULL, 0, NULL, 0), 0);
	fe_reply(fd, req, &v, sizeof(v));
	return v;
}

void fe_set_u64(struct vsw_vu *vu, int fd, uint32_t req, uint64_t v)
{
	assert_int_equal(fe_do(vu, fd, req, &v, sizeof(v), NULL, 0), 0);
}

void fe_vring(struct vsw_vu *vu, int fd, uint32_t req, uint32_t idx,
	      uint32_t num)
{
	struct vhost_vring_state s = {.index = idx, .num = num};

	assert_int_equal(fe_do(vu, fd, req, &s, sizeof(s), NULL, 0), 0);
}

bool fe_peer_closed(int fd)
{
	uint8_t buf[64];
	ssize_t n;

	/* skip a final nack, then expect EOF */
	do {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	} while (n > 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

uint32_t fe_mem_table(const struct th_mem *m, struct vsw_vu_mem_table *t,
		      int *fds)
{
	uint64_t per = m->size / m->nregions;
	unsigned i;

	memset(t, 0, sizeof(*t));
	t->nregions = m->nregions;
	for (i = 0; i < m->nregions; i++) {
		t->regions[i].gpa = m->gpa_base + i * per;
		t->regions[i].size = per;
		t->regions[i].uva = (uint64_t)(uintptr_t)m->maps[i];
		t->regions[i].mmap_offset = i * per;
		fds[i] = m->fd;
	}
	return 8 + m->nregions * (uint32_t)sizeof(t->regions[0]);
}

void fe_setup(struct vsw_vu *vu, int fd, const struct th_mem *m,
	      uint64_t features)
{
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	uint32_t size;

	assert_int_equal(fe_get_u64(vu, fd, VSW_VU_REQ_GET_FEATURES),
			 TD_FEATURES | (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
	assert_int_equal(fe_get_u64(vu, fd, VSW_VU_REQ_GET_PROTOCOL_FEATURES) &
				 FE_PF,
			 FE_PF);
	fe_set_u64(vu, fd, VSW_VU_REQ_SET_PROTOCOL_FEATURES, FE_PF);
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_OWNER, NULL, 0, NULL, 0),
			 0);
	fe_set_u64(vu, fd, VSW_VU_REQ_SET_FEATURES,
		   features | (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
	size = fe_mem_table(m, &t, fds);
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_MEM_TABLE, &t, size, fds,
			       m->nregions),
			 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, m->nregions);
}

uint64_t fe_uva(struct th_mem *m, uint64_t gpa)
{
	void *p = th_ptr(m, gpa, 1);

	assert_non_null(p);
	return (uint64_t)(uintptr_t)p;
}

unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

unsigned count_maps(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

bool rings_available(void)
{
	struct vsw_vq_dev_config cfg = {0};
	struct vsw_vq_dev *vq = NULL;
	struct th_mem m;
	uint64_t ring;
	int ret;

	assert_int_equal(th_mem_create(&m, 65536, 0x100000, 1), 0);
	cfg.features = 1ULL << VIRTIO_F_VERSION_1;
	cfg.num = 8;
	cfg.mem = &m.mem;
	ring = th_alloc(&m, vsw_vq_ring_bytes(cfg.features, cfg.num), 64);
	vsw_vq_ring_layout(cfg.features, cfg.num, ring, &cfg.addrs);
	ret = vsw_vq_dev_create(&cfg, &vq);
	vsw_vq_dev_destroy(vq);
	th_mem_destroy(&m);
	return ret != -ENOSYS;
}
