/* SPDX-License-Identifier: MIT */
/*
 * vhost-user front-end (vsw_vufe) against the vsw back-end (vsw_vu) in a
 * second thread: the test device is a loopback built on vsw_vnet, every
 * frame the front-end transmits comes back on the same pair's receive
 * queue. Thousands of frames of assorted sizes with split and packed rings
 * (MRG_RXBUF, big buffers, IN_ORDER, indirect), every byte checked; two
 * pairs with the control queue; front-end server mode; the back-end going
 * away mid-run; and a scripted lying back-end whose replies are refused.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vsw/pkt.h>
#include <vsw/vhost_user.h>
#include <vsw/vhost_user_fe.h>
#include <vsw/virtio_net.h>

#define MAX_QP 2
#define BURST 32

/* ------------------------------------------------------------------ */
/* Loopback back-end                                                   */
/* ------------------------------------------------------------------ */

struct lb {
	struct vsw_vu_device dev;
	struct vsw_vu *vu;
	struct vsw_vnet *vnet;
	struct vsw_pkt_pool *pool;
	unsigned qp, qsize;
	bool started[2 * MAX_QP + 1];
	struct vsw_vq_dev *ctrl_vq;
	int ctrl_call;
	struct vsw_pkt *backlog[MAX_QP][BURST];
	unsigned nback[MAX_QP], back_off[MAX_QP];
	atomic_uint curr_qp; /* copied from the control state */
	atomic_int stop, kill_conn, ran;
	pthread_t thr;
	char path[108];
};

static int lb_start(void *o, const struct vsw_vu_queue *q)
{
	struct lb *lb = o;
	struct vsw_vnet_config c = {
		.features = q->features,
		.max_qp = (uint16_t)lb->qp,
		.pool = lb->pool,
		.mac = {2, 0, 0, 0, 0, 1},
	};
	int ret;

	if (lb->vnet == NULL) {
		ret = vsw_vnet_create(&c, &lb->vnet);
		if (ret < 0)
			return ret;
	}
	if (q->index == 2 * lb->qp) {
		lb->ctrl_vq = q->vq;
		lb->ctrl_call = q->call_fd;
	} else {
		ret = vsw_vnet_queue_attach(lb->vnet, q->index, q->vq,
					    lb->qsize, q->call_fd);
		if (ret < 0)
			return ret;
	}
	lb->started[q->index] = true;
	return 0;
}

static void lb_drop_backlog(struct lb *lb)
{
	unsigned i;

	for (i = 0; i < MAX_QP; i++) {
		vsw_pkt_free_burst(lb->backlog[i] + lb->back_off[i],
				   lb->nback[i] - lb->back_off[i]);
		lb->nback[i] = lb->back_off[i] = 0;
	}
}

static void lb_stop(void *o, const struct vsw_vu_queue *q)
{
	struct lb *lb = o;

	if (q->index == 2 * lb->qp)
		lb->ctrl_vq = NULL;
	else
		vsw_vnet_queue_detach(lb->vnet, q->index);
	lb->started[q->index] = false;
}

static void lb_disconnected(void *o)
{
	struct lb *lb = o;

	lb_drop_backlog(lb);
	vsw_vnet_destroy(lb->vnet);
	lb->vnet = NULL;
}

static void lb_quiet(void *o, enum vsw_log_level l, const char *line)
{
	(void)o;
	(void)l;
	(void)line;
}

/* Move frames from each transmitq back to its receiveq. */
static bool lb_forward(struct lb *lb)
{
	bool moved = false;
	unsigned p;

	for (p = 0; p < lb->qp; p++) {
		unsigned k;

		if (!lb->started[2 * p] || !lb->started[2 * p + 1])
			continue;
		if (lb->back_off[p] == lb->nback[p]) {
			lb->nback[p] = vsw_vnet_tx_burst(lb->vnet, p,
							 lb->backlog[p], BURST);
			lb->back_off[p] = 0;
		}
		if (lb->nback[p] == lb->back_off[p])
			continue;
		k = vsw_vnet_rx_burst(lb->vnet, p,
				      lb->backlog[p] + lb->back_off[p],
				      lb->nback[p] - lb->back_off[p]);
		vsw_pkt_free_burst(lb->backlog[p] + lb->back_off[p], k);
		lb->back_off[p] += k;
		moved = true;
	}
	if (lb->ctrl_vq != NULL && lb->vnet != NULL &&
	    vsw_vnet_ctrl_process(lb->vnet, lb->ctrl_vq, lb->ctrl_call) > 0)
		atomic_store(&lb->curr_qp,
			     vsw_vnet_ctrl_state(lb->vnet)->curr_qp);
	return moved;
}

static void *lb_thread(void *arg)
{
	struct lb *lb = arg;

	while (!atomic_load(&lb->stop)) {
		struct pollfd pfd = {.fd = vsw_vu_fd(lb->vu), .events = POLLIN};
		bool moved = lb_forward(lb);

		if (atomic_exchange(&lb->kill_conn, 0))
			vsw_vu_disconnect(lb->vu);
		if (pfd.fd < 0 || poll(&pfd, 1, moved ? 0 : 1) != 0 ||
		    vsw_vu_timeout_ms(lb->vu) == 0)
			vsw_vu_handle(lb->vu);
		atomic_store(&lb->ran, 1);
	}
	return NULL;
}

static void test_path(char *buf, size_t len, const char *what)
{
	static unsigned seq; /* one path per use: a failed test leaks its own */

	snprintf(buf, len, "/tmp/vsw-vufe-%s-%d-%u.sock", what, (int)getpid(),
		 seq++);
}

static void lb_init(struct lb *lb, unsigned qp, bool ctrl,
		    enum vsw_vu_mode mode, unsigned qsize)
{
	struct vsw_pkt_pool_config pc = {.n_small = 1024, .n_large = 64};
	struct vsw_vu_config vc = {0};

	memset(lb, 0, sizeof(*lb));
	lb->qp = qp;
	lb->qsize = qsize;
	lb->dev.features = VSW_VNET_FEATURES;
	lb->dev.num_queues = 2 * qp + (ctrl ? 1 : 0);
	lb->dev.opaque = lb;
	lb->dev.queue_start = lb_start;
	lb->dev.queue_stop = lb_stop;
	lb->dev.disconnected = lb_disconnected;
	lb->ctrl_call = -1;
	assert_int_equal(vsw_pkt_pool_create(&pc, &lb->pool), 0);
	test_path(lb->path, sizeof(lb->path),
		  mode == VSW_VU_SERVER ? "be" : "fe");
	vc.mode = mode;
	vc.path = lb->path;
	vc.dev = &lb->dev;
	vc.log = lb_quiet;
	vc.retry_min_ms = 10;
	vc.retry_max_ms = 20;
	assert_int_equal(vsw_vu_create(&vc, &lb->vu), 0);
	assert_int_equal(pthread_create(&lb->thr, NULL, lb_thread, lb), 0);
}

static void lb_fini(struct lb *lb)
{
	atomic_store(&lb->stop, 1);
	pthread_join(lb->thr, NULL);
	vsw_vu_destroy(lb->vu);
	lb_drop_backlog(lb);
	vsw_vnet_destroy(lb->vnet);
	vsw_pkt_pool_destroy(lb->pool);
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ */
/* Traffic                                                             */
/* ------------------------------------------------------------------ */

static uint32_t frame_len(uint32_t seq, uint32_t max)
{
	uint32_t l = 60 + (seq * 37) % 1455;

	if (max > 1514 && seq % 7 == 3)
		l = 1515 + (seq * 613) % (max - 1514);
	return l;
}

static void frame_fill(uint8_t *f, uint32_t len, uint32_t seq, unsigned qp)
{
	uint32_t i;

	if (f == NULL) /* a failed append, reported by the caller */
		return;
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental ethertype */
	memcpy(f + 14, &seq, 4);
	f[18] = (uint8_t)qp;
	for (i = 19; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

static void frame_check(const struct vsw_pkt *pkt, uint32_t seq, unsigned qp,
			uint32_t max)
{
	uint8_t want[9100];
	uint32_t len = frame_len(seq, max);

	assert_int_equal(pkt->len, len);
	frame_fill(want, len, seq, qp);
	assert_memory_equal(vsw_pkt_data(pkt), want, len);
	assert_int_equal(pkt->vnet.flags, 0);
	assert_int_equal(pkt->vnet.gso_type, 0);
}

/*
 * Send count frames on every pair and check that each comes back in order,
 * byte for byte. Returns when all arrived (the test fails on a timeout).
 */
static void traffic(struct vsw_vufe *fe, struct vsw_pkt_pool *pool,
		    unsigned npairs, uint32_t count, uint32_t max)
{
	uint32_t sent[MAX_QP] = {0}, got[MAX_QP] = {0};
	time_t deadline = time(NULL) + 20;
	unsigned p, done = 0, i;

	while (done < npairs) {
		if (time(NULL) >= deadline) {
			struct vsw_vufe_q_stats st;

			vsw_vufe_stats(fe, 0, &st);
			fail_msg("stalled: sent %u got %u (tx %lu rx %lu bad "
				 "%lu empty %lu nomem %lu)",
				 sent[0], got[0], (unsigned long)st.tx_packets,
				 (unsigned long)st.rx_packets,
				 (unsigned long)st.rx_bad,
				 (unsigned long)st.rx_empty,
				 (unsigned long)st.rx_nomem);
		}
		done = 0;
		for (p = 0; p < npairs; p++) {
			struct vsw_pkt *pk[BURST];
			unsigned n = 0;
			int r;

			while (n < BURST && sent[p] + n < count) {
				uint32_t s = sent[p] + n;
				uint32_t l = frame_len(s, max);
				uint8_t *f;

				pk[n] = vsw_pkt_alloc_len(pool, l);
				assert_non_null(pk[n]);
				f = vsw_pkt_append(pk[n], l);
				assert_non_null(f);
				frame_fill(f, l, s, p);
				n++;
			}
			r = vsw_vufe_tx_burst(fe, p, pk, n);
			assert_true(r >= 0);
			sent[p] += (uint32_t)r;
			vsw_pkt_free_burst(pk + r, n - (unsigned)r);
			r = vsw_vufe_rx_burst(fe, p, pk, BURST);
			assert_true(r >= 0);
			for (i = 0; i < (unsigned)r; i++)
				frame_check(pk[i], got[p]++, p, max);
			vsw_pkt_free_burst(pk, (unsigned)r);
			if (got[p] == count)
				done++;
		}
	}
	for (p = 0; p < npairs; p++) {
		struct vsw_vufe_q_stats st;

		assert_int_equal(vsw_vufe_stats(fe, p, &st), 0);
		assert_int_equal(st.tx_packets, count);
		assert_int_equal(st.rx_packets, count);
		assert_int_equal(st.rx_bad + st.rx_nomem + st.tx_oversize, 0);
	}
}

struct run {
	uint64_t features;
	unsigned qp;
	bool ctrl;
	uint32_t rx_buf, max_frame;
	uint32_t count;
};

static void run_loopback(const struct run *r)
{
	struct vsw_pkt_pool_config pc = {.n_small = 2048, .n_large = 256};
	struct vsw_vufe_config c = {0};
	struct vsw_pkt_pool *pool;
	struct vsw_vufe *fe;
	struct lb lb;
	unsigned fds = count_fds(), p;

	lb_init(&lb, r->qp, r->ctrl, VSW_VU_SERVER, 256);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	c.path = lb.path;
	c.features = r->features;
	c.queue_pairs = (uint16_t)r->qp;
	c.rx_buf_size = r->rx_buf;
	c.tx_max_frame = r->max_frame;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	if (vsw_vufe_connect(fe) != 0)
		fail_msg("connect: %s", vsw_vufe_error(fe));
	assert_int_equal(vsw_vufe_features(fe),
			 r->features | VSW_VUFE_BIT(VIRTIO_F_VERSION_1));
	for (p = 0; p < r->qp; p++)
		assert_int_equal(vsw_vufe_set_pool(fe, p, pool), 0);
	if (r->ctrl && r->qp > 1) {
		/* acknowledged before the back-end thread records it */
		for (p = 0; p < 1000 && atomic_load(&lb.curr_qp) != r->qp; p++)
			usleep(1000);
		assert_int_equal(atomic_load(&lb.curr_qp), r->qp);
	}
	traffic(fe, pool, r->qp, r->count, r->max_frame ? r->max_frame : 1514);
	vsw_vufe_destroy(fe);
	lb_fini(&lb);
	assert_int_equal(vsw_pkt_pool_avail(pool, VSW_PKT_SMALL), 2048);
	assert_int_equal(vsw_pkt_pool_avail(pool, VSW_PKT_LARGE), 256);
	vsw_pkt_pool_destroy(pool);
	assert_int_equal(count_fds(), fds);
}

#define F(b) VSW_VUFE_BIT(b)

static void t_split_mrg(void **state)
{
	struct run r = {
		.features = F(VIRTIO_RING_F_INDIRECT_DESC) |
			    F(VIRTIO_RING_F_EVENT_IDX) |
			    F(VIRTIO_NET_F_MRG_RXBUF),
		.qp = 1,
		.max_frame = 9000,
		.count = 4000,
	};

	(void)state;
	run_loopback(&r);
}

static void t_split_plain(void **state)
{
	struct run r = {.qp = 1, .count = 3000};

	(void)state;
	run_loopback(&r);
}

static void t_packed_big(void **state)
{
	struct run r = {
		.features = F(VIRTIO_F_RING_PACKED) | F(VIRTIO_F_IN_ORDER) |
			    F(VIRTIO_RING_F_INDIRECT_DESC) |
			    F(VIRTIO_RING_F_EVENT_IDX),
		.qp = 1,
		.rx_buf = 12 + 9000,
		.max_frame = 9000,
		.count = 4000,
	};

	(void)state;
	run_loopback(&r);
}

static void t_packed_mrg(void **state)
{
	struct run r = {
		.features = F(VIRTIO_F_RING_PACKED) |
			    F(VIRTIO_NET_F_MRG_RXBUF),
		.qp = 1,
		.max_frame = 9000,
		.count = 3000,
	};

	(void)state;
	run_loopback(&r);
}

static void t_mq_ctrl(void **state)
{
	struct run r = {
		.features = F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_VQ) |
			    F(VIRTIO_NET_F_MRG_RXBUF) |
			    F(VIRTIO_RING_F_EVENT_IDX),
		.qp = 2,
		.ctrl = true,
		.count = 2000,
	};

	(void)state;
	run_loopback(&r);
}

/* The front-end listens, the back-end connects (virtio-user server=1). */
static void t_server_mode(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 512};
	struct vsw_vufe_config c = {0};
	struct vsw_pkt_pool *pool;
	struct vsw_vufe *fe;
	struct lb lb;

	(void)state;
	lb_init(&lb, 1, false, VSW_VU_CLIENT, 64);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	c.path = lb.path;
	c.server = true;
	c.queue_pairs = 1;
	c.queue_size = 64;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	if (vsw_vufe_connect(fe) != 0)
		fail_msg("connect: %s", vsw_vufe_error(fe));
	assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
	traffic(fe, pool, 1, 500, 1514);
	vsw_vufe_destroy(fe);
	assert_int_equal(access(lb.path, F_OK), -1); /* socket unlinked */
	lb_fini(&lb);
	vsw_pkt_pool_destroy(pool);
}

/*
 * Server mode on a path a back-end listens on: refused, the socket left
 * alone (the same rule as every other socket vsw binds, vsw_unix.h).
 */
static void t_server_live_path(void **state)
{
	struct vsw_vufe_config c = {0};
	struct vsw_vufe *fe;
	struct stat st;
	struct lb lb;

	(void)state;
	lb_init(&lb, 1, false, VSW_VU_SERVER, 64);
	c.path = lb.path;
	c.server = true;
	c.queue_pairs = 1;
	c.queue_size = 64;
	c.timeout_ms = 200;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	assert_int_equal(vsw_vufe_connect(fe), -EADDRINUSE);
	assert_non_null(strstr(vsw_vufe_error(fe), "somebody listens"));
	vsw_vufe_destroy(fe);
	assert_int_equal(lstat(lb.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	/* still the back-end's: a client front-end reaches it */
	c.server = false;
	c.timeout_ms = 0;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	if (vsw_vufe_connect(fe) != 0)
		fail_msg("connect: %s", vsw_vufe_error(fe));
	vsw_vufe_destroy(fe);
	lb_fini(&lb);
}

/* The back-end drops the connection mid-run: bursts end in -ENOTCONN. */
static void t_backend_gone(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 1024};
	struct vsw_vufe_config c = {0};
	struct vsw_pkt_pool *pool;
	struct vsw_vufe *fe;
	struct lb lb;
	unsigned fds = count_fds(), i;
	int r = 0, sock;

	(void)state;
	lb_init(&lb, 1, false, VSW_VU_SERVER, 256);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	c.path = lb.path;
	c.queue_pairs = 1;
	c.features = F(VIRTIO_NET_F_MRG_RXBUF);
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	if (vsw_vufe_connect(fe) != 0)
		fail_msg("connect: %s", vsw_vufe_error(fe));
	assert_int_equal(vsw_vufe_set_pool(fe, 0, pool), 0);
	traffic(fe, pool, 1, 200, 1514);
	sock = vsw_vufe_sock_fd(fe);
	assert_true(sock >= 0);
	assert_int_equal(vsw_vufe_check(fe), 0);
	atomic_store(&lb.kill_conn, 1);
	/* keep sending until the front-end notices */
	for (i = 0; i < 1000000 && r >= 0; i++) {
		struct vsw_pkt *pk[BURST];
		unsigned n = vsw_pkt_alloc_burst(pool, pk, BURST), k;

		for (k = 0; k < n; k++)
			frame_fill(vsw_pkt_append(pk[k], 100), 100, k, 0);
		r = vsw_vufe_tx_burst(fe, 0, pk, n);
		vsw_pkt_free_burst(pk + (r > 0 ? r : 0),
				   n - (unsigned)(r > 0 ? r : 0));
		if (r >= 0) {
			int g = vsw_vufe_rx_burst(fe, 0, pk, BURST);

			if (g > 0)
				vsw_pkt_free_burst(pk, (unsigned)g);
		}
	}
	assert_int_equal(r, -ENOTCONN);
	assert_int_equal(vsw_vufe_check(fe), -ENOTCONN);
	assert_int_equal(vsw_vufe_rx_burst(fe, 0, NULL, 0), -ENOTCONN);
	assert_int_equal(vsw_vufe_sock_fd(fe), -1);
	vsw_vufe_destroy(fe);
	lb_fini(&lb);
	assert_int_equal(vsw_pkt_pool_avail(pool, VSW_PKT_SMALL), 1024);
	vsw_pkt_pool_destroy(pool);
	assert_int_equal(count_fds(), fds);
}

/* ------------------------------------------------------------------ */
/* Lying back-end                                                      */
/* ------------------------------------------------------------------ */

enum lie {
	LIE_NONE,
	LIE_SIZE,	/* reply with 4 payload bytes instead of 8 */
	LIE_REQUEST,	/* reply names another request */
	LIE_NO_REPLY,	/* REPLY flag missing */
	LIE_FD,		/* reply carries an fd */
	LIE_HANGUP,	/* close instead of replying */
	LIE_NACK,	/* REPLY_ACK with a non-zero value */
	LIE_NO_VERSION1 /* features without VERSION_1 */
};

struct fake {
	int lfd;
	uint32_t lie_req;
	enum lie lie;
	pthread_t thr;
	char path[108];
	unsigned nreq;
};

static bool fake_read(int fd, void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	size_t have = 0;

	while (have < len) {
		struct iovec iov = {(char *)buf + have, len - have};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *cm;
		ssize_t n = recvmsg(fd, &mh, 0);

		if (n <= 0)
			return false;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int f;

			while (k-- > 0) {
				memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), 4);
				close(f);
			}
		}
		have += (size_t)n;
	}
	return true;
}

static void fake_send(int fd, const struct vsw_vu_hdr *h, const void *p,
		      int pass_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov[2] = {{(void *)h, sizeof(*h)},
			       {(void *)p, h->size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	(void)!sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	uint8_t payload[512];
	struct vsw_vu_hdr h;

	if (fd < 0)
		return NULL;
	while (fake_read(fd, &h, sizeof(h)) && h.size <= sizeof(payload) &&
	       fake_read(fd, payload, h.size)) {
		struct vsw_vu_hdr r = {.request = h.request,
				       .flags = VSW_VU_FLAG_VERSION |
						VSW_VU_FLAG_REPLY,
				       .size = 8};
		uint64_t v = 0;
		bool reply = true, lie = h.request == f->lie_req;
		int efd = -1;

		f->nreq++;
		switch (h.request) {
		case VSW_VU_REQ_GET_FEATURES:
			v = VSW_VUFE_BIT(VIRTIO_F_VERSION_1) |
			    VSW_VUFE_BIT(VSW_VU_F_PROTOCOL_FEATURES);
			if (lie && f->lie == LIE_NO_VERSION1)
				v = VSW_VUFE_BIT(VSW_VU_F_PROTOCOL_FEATURES);
			break;
		case VSW_VU_REQ_GET_PROTOCOL_FEATURES:
			v = 1ULL << VSW_VU_PF_REPLY_ACK;
			break;
		default:
			reply = h.flags & VSW_VU_FLAG_NEED_REPLY;
			if (lie && f->lie == LIE_NACK)
				v = 1;
			break;
		}
		if (lie && f->lie == LIE_HANGUP)
			break;
		if (lie && f->lie == LIE_SIZE)
			r.size = 4;
		if (lie && f->lie == LIE_REQUEST)
			r.request = VSW_VU_REQ_GET_QUEUE_NUM;
		if (lie && f->lie == LIE_NO_REPLY)
			r.flags = VSW_VU_FLAG_VERSION;
		if (lie && f->lie == LIE_FD)
			efd = eventfd(0, EFD_CLOEXEC);
		if (reply)
			fake_send(fd, &r, &v, efd);
		if (efd >= 0)
			close(efd);
	}
	close(fd);
	return NULL;
}

static void run_liar(uint32_t req, enum lie lie, int want_err,
		     const char *want_text)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct vsw_vufe_config c = {0};
	struct vsw_vufe *fe;
	struct fake f = {.lie_req = req, .lie = lie};
	unsigned fds = count_fds();
	int ret;

	test_path(f.path, sizeof(f.path), "liar");
	unlink(f.path);
	strcpy(a.sun_path, f.path);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f.lfd, 1), 0);
	assert_int_equal(pthread_create(&f.thr, NULL, fake_thread, &f), 0);
	c.path = f.path;
	c.queue_pairs = 1;
	c.queue_size = 64;
	c.timeout_ms = 2000;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	ret = vsw_vufe_connect(fe);
	if (ret != want_err || strstr(vsw_vufe_error(fe), want_text) == NULL)
		fail_msg("got %d \"%s\", want %d \"%s\"", ret,
			 vsw_vufe_error(fe), want_err, want_text);
	/* the session is over: the data path says so */
	if (want_err != 0)
		assert_true(vsw_vufe_tx_burst(fe, 0, NULL, 0) < 0);
	else
		assert_int_equal(vsw_vufe_tx_burst(fe, 0, NULL, 0), 0);
	assert_int_equal(vsw_vufe_connect(fe), -EALREADY);
	vsw_vufe_destroy(fe);
	pthread_join(f.thr, NULL);
	close(f.lfd);
	unlink(f.path);
	assert_int_equal(count_fds(), fds);
}

static void t_lies(void **state)
{
	(void)state;
	run_liar(VSW_VU_REQ_GET_FEATURES, LIE_SIZE, -EPROTO, "bad reply");
	run_liar(VSW_VU_REQ_GET_PROTOCOL_FEATURES, LIE_REQUEST, -EPROTO,
		 "GET_PROTOCOL_FEATURES: bad reply (request 17");
	run_liar(VSW_VU_REQ_GET_FEATURES, LIE_NO_REPLY, -EPROTO, "flags 0x1");
	run_liar(VSW_VU_REQ_GET_FEATURES, LIE_FD, -EPROTO,
		 "file descriptors");
	run_liar(VSW_VU_REQ_SET_MEM_TABLE, LIE_SIZE, -EPROTO,
		 "SET_MEM_TABLE: bad reply");
	run_liar(VSW_VU_REQ_SET_VRING_ADDR, LIE_HANGUP, -ECONNRESET,
		 "SET_VRING_ADDR: the back-end closed");
	run_liar(VSW_VU_REQ_SET_FEATURES, LIE_NACK, -EIO,
		 "SET_FEATURES: the back-end refused");
	run_liar(VSW_VU_REQ_GET_FEATURES, LIE_NO_VERSION1, -ENOTSUP,
		 "VERSION_1");
	/* and the fake, truthful, is a complete session */
	run_liar(0, LIE_NONE, 0, "");
}

static void t_errors(void **state)
{
	struct vsw_vufe_config c = {.path = "/nonexistent/vsw.sock",
				    .queue_pairs = 1,
				    .timeout_ms = 150};
	struct vsw_vufe *fe;

	(void)state;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	assert_int_equal(vsw_vufe_connect(fe), -ETIMEDOUT);
	assert_non_null(strstr(vsw_vufe_error(fe), "no back-end"));
	vsw_vufe_destroy(fe);
	c.queue_pairs = 0;
	assert_int_equal(vsw_vufe_create(&c, &fe), -EINVAL);
	c.queue_pairs = 1;
	c.features = VSW_VUFE_BIT(VIRTIO_NET_F_CTRL_RX); /* not ours */
	assert_int_equal(vsw_vufe_create(&c, &fe), -EINVAL);
	c.features = 0;
	c.tx_max_frame = VSW_PKT_MAX_LEN + 1;
	assert_int_equal(vsw_vufe_create(&c, &fe), -EINVAL);
}

/* Hugepages: works when some are reserved, else a clear -ENOMEM. */
static void t_hugepages(void **state)
{
	struct vsw_vufe_config c = {0};
	struct vsw_vufe *fe;
	struct lb lb;
	int ret;

	(void)state;
	lb_init(&lb, 1, false, VSW_VU_SERVER, 64);
	c.path = lb.path;
	c.queue_pairs = 1;
	c.queue_size = 64;
	c.hugepages = true;
	assert_int_equal(vsw_vufe_create(&c, &fe), 0);
	ret = vsw_vufe_connect(fe);
	if (ret != 0 && strstr(vsw_vufe_error(fe), "hugepages") == NULL &&
	    strstr(vsw_vufe_error(fe), "MFD_HUGETLB") == NULL)
		fail_msg("hugepages: %d %s", ret, vsw_vufe_error(fe));
	vsw_vufe_destroy(fe);
	lb_fini(&lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_split_mrg),	 cmocka_unit_test(t_split_plain),
		cmocka_unit_test(t_packed_big),	 cmocka_unit_test(t_packed_mrg),
		cmocka_unit_test(t_mq_ctrl),	 cmocka_unit_test(t_server_mode),
		cmocka_unit_test(t_server_live_path),
		cmocka_unit_test(t_backend_gone), cmocka_unit_test(t_lies),
		cmocka_unit_test(t_errors),	 cmocka_unit_test(t_hugepages),
	};

	if (getenv("VUFE_TEST") != NULL)
		cmocka_set_test_filter(getenv("VUFE_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
