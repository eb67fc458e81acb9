/* SPDX-License-Identifier: MIT */
/*
 * vsw_vnet_vu (lib/virtio-net/vnet_vhost_user.c): a vhost-user front-end
 * written by the test (test_vhost_user_fe.c over a socketpair, rings driven
 * with vsw_vq_drv on a memfd) against the glue, with a real data-plane
 * thread that echoes every frame the "guest" transmits back into its
 * receive queue. Checks: offered features, every echoed byte, queue stop
 * (GET_VRING_BASE) and restart while the data thread polls, the control
 * queue answered on the control thread, a disconnect with the data
 * thread still online, no fd leak.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vsw/vnet_vhost_user.h>

#include "test_vhost_user_fe.h"

#define GPA_BASE 0x100000ULL
#define MEM_SIZE (4 << 20)
#define QSIZE 256
#define NBUF 64	      /* rx buffers / tx frames per round */
#define BUF_SIZE 2048 /* one rx buffer */
#define FRAME_LEN 200 /* bytes of each test frame */
#define HDR 12	      /* virtio_net_hdr_v1 */

struct fe_q {
	struct vsw_vq_drv *drv;
	struct vsw_vq_addrs addrs;
	uint64_t ring_gpa;
	int kick, call;
};

struct echo {
	struct vsw_vnet_vu *v;
	atomic_bool stop;
	atomic_uint echoed;
	atomic_uint rounds; /* poll rounds, to see the thread is alive */
};

static void *echo_thread(void *arg)
{
	struct echo *e = arg;
	struct vsw_pkt *pkts[32];
	unsigned n = 0, done = 0, k;

	vsw_vnet_vu_dp_online(e->v);
	while (!atomic_load(&e->stop)) {
		/* one round = one burst: never wait inside a round */
		vsw_vnet_vu_dp_quiesce(e->v);
		atomic_fetch_add(&e->rounds, 1);
		if (done < n) {
			/* frames waiting for guest buffers */
			k = vsw_vnet_vu_rx_burst(e->v, 0, pkts + done,
						 n - done);
			done += k;
			if (done == n) {
				atomic_fetch_add(&e->echoed, n);
				vsw_pkt_free_burst(pkts, n);
				n = done = 0;
			} else if (k == 0) {
				vsw_vnet_vu_dp_sleep(e->v, 1, NULL, 0, 20);
			}
			continue;
		}
		n = vsw_vnet_vu_tx_burst(e->v, 0, pkts, 32);
		done = 0;
		if (n == 0)
			vsw_vnet_vu_dp_sleep(e->v, 0, NULL, 0, 20);
	}
	vsw_pkt_free_burst(pkts, n);
	vsw_vnet_vu_dp_offline(e->v);
	return NULL;
}

/* Log lines of the endpoint, from the control and the data thread. */
struct logcap {
	pthread_mutex_t lock;
	char buf[8192];
	size_t len;
};

static void logcap_fn(void *opaque, enum vsw_log_level level,
		      const char *line)
{
	struct logcap *lc = opaque;
	int n;

	(void)level;
	pthread_mutex_lock(&lc->lock);
	n = snprintf(lc->buf + lc->len, sizeof(lc->buf) - lc->len, "%s\n",
		     line);
	if (n > 0 && (size_t)n < sizeof(lc->buf) - lc->len)
		lc->len += (size_t)n;
	pthread_mutex_unlock(&lc->lock);
}

/* Occurrences of needle in the captured log. */
static unsigned logcap_count(struct logcap *lc, const char *needle)
{
	const char *p;
	unsigned n = 0;

	pthread_mutex_lock(&lc->lock);
	for (p = lc->buf; (p = strstr(p, needle)) != NULL; p++)
		n++;
	pthread_mutex_unlock(&lc->lock);
	return n;
}

/*
 * A vsw_vnet_vu of one pair in FD mode on one end of a fresh socketpair
 * (*fe: the other end), logging into lc (NULL: WARN lines to stderr).
 */
static struct vsw_vnet_vu *vnvu_pair(struct vsw_pkt_pool *pool,
				     const uint8_t mac[6], struct logcap *lc,
				     enum vsw_log_level level, int *fe)
{
	struct vsw_vnet_vu_config vc = {0};
	struct vsw_vnet_vu *v;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	vc.mode = VSW_VU_FD;
	vc.fd = sv[0];
	vc.max_qp = 1;
	vc.pool = pool;
	vc.log_level = level;
	if (lc != NULL) {
		vc.log = logcap_fn;
		vc.log_opaque = lc;
	}
	memcpy(vc.mac, mac, 6);
	assert_int_equal(vsw_vnet_vu_create(&vc, &v), 0);
	*fe = sv[1];
	return v;
}

static void q_setup(struct vsw_vu *vu, int fd, struct th_mem *m,
		    uint64_t features, uint32_t idx, uint32_t base,
		    struct fe_q *q, bool new_ring)
{
	struct vsw_vq_drv_config dc = {0};
	struct vhost_vring_addr a = {0};
	uint64_t v;

	if (new_ring) {
		q->ring_gpa = th_alloc(m, vsw_vq_ring_bytes(features, QSIZE),
				       4096);
		vsw_vq_ring_layout(features, QSIZE, q->ring_gpa, &q->addrs);
		dc.features = features;
		dc.num = QSIZE;
		dc.ring = th_ptr(m, q->ring_gpa,
				 vsw_vq_ring_bytes(features, QSIZE));
		dc.ring_gpa = q->ring_gpa;
		assert_int_equal(vsw_vq_drv_create(&dc, &q->drv), 0);
		q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(q->kick >= 0 && q->call >= 0);
	}
	fe_vring(vu, fd, VSW_VU_REQ_SET_VRING_NUM, idx, QSIZE);
	fe_vring(vu, fd, VSW_VU_REQ_SET_VRING_BASE, idx, base);
	a.index = idx;
	a.desc_user_addr = fe_uva(m, q->addrs.desc);
	a.avail_user_addr = fe_uva(m, q->addrs.driver);
	a.used_user_addr = fe_uva(m, q->addrs.device);
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
	v = idx;
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_KICK, &v,
			       sizeof(v), &q->kick, 1),
			 0);
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_CALL, &v,
			       sizeof(v), &q->call, 1),
			 0);
	fe_vring(vu, fd, VSW_VU_REQ_SET_VRING_ENABLE, idx, 1);
}

static void q_close(struct fe_q *q)
{
	vsw_vq_drv_destroy(q->drv);
	close(q->kick);
	close(q->call);
}

static uint8_t frame_byte(unsigned frame, unsigned i)
{
	return (uint8_t)(frame * 31u + i * 7u + 1u);
}

/* Wait (up to 10 s) for one used buffer of q. */
static void *wait_used(struct fe_q *q, uint32_t *len)
{
	const struct timespec pause = {0, 100000};
	void *tok;
	unsigned i;

	for (i = 0; i < 100000; i++) {
		tok = vsw_vq_drv_get_used(q->drv, len);
		if (tok != NULL)
			return tok;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/*
 * One round: NBUF receive buffers, NBUF frames transmitted, every frame
 * must come back intact in order.
 */
static void round_trip(struct th_mem *m, struct fe_q *q, uint64_t rx_gpa,
		       uint64_t tx_gpa, unsigned first)
{
	uint8_t f[HDR + FRAME_LEN], got[HDR + FRAME_LEN];
	struct vsw_sg sg;
	uintptr_t tok;
	uint32_t len;
	unsigned i, j;

	for (i = 0; i < NBUF; i++) {
		sg.addr = rx_gpa + (uint64_t)i * BUF_SIZE;
		sg.len = BUF_SIZE;
		assert_int_equal(vsw_vq_drv_add(q[0].drv, &sg, 0, 1,
						(void *)(uintptr_t)(i + 1)),
				 0);
	}
	if (vsw_vq_drv_kick_prepare(q[0].drv))
		assert_int_equal(eventfd_write(q[0].kick, 1), 0);
	for (i = 0; i < NBUF; i++) {
		memset(f, 0, HDR);
		for (j = 0; j < FRAME_LEN; j++)
			f[HDR + j] = frame_byte(first + i, j);
		sg.addr = tx_gpa + (uint64_t)i * BUF_SIZE;
		sg.len = sizeof(f);
		assert_int_equal(th_write(m, sg.addr, f, sizeof(f)), 0);
		assert_int_equal(vsw_vq_drv_add(q[1].drv, &sg, 1, 0,
						(void *)(uintptr_t)(i + 1)),
				 0);
	}
	if (vsw_vq_drv_kick_prepare(q[1].drv))
		assert_int_equal(eventfd_write(q[1].kick, 1), 0);
	for (i = 0; i < NBUF; i++) {
		tok = (uintptr_t)wait_used(&q[0], &len);
		assert_int_equal(tok, i + 1); /* one queue: in order */
		assert_int_equal(len, HDR + FRAME_LEN);
		assert_int_equal(th_read(m, rx_gpa + (uint64_t)i * BUF_SIZE,
					 got, len),
				 0);
		/* num_buffers 1 (MRG_RXBUF), no offload flags */
		assert_int_equal(got[0], 0);
		assert_int_equal(got[10] | got[11] << 8, 1);
		for (j = 0; j < FRAME_LEN; j++)
			assert_int_equal(got[HDR + j], frame_byte(first + i, j));
	}
	for (i = 0; i < NBUF; i++)
		assert_non_null(wait_used(&q[1], &len));
}

static void traffic(bool packed)
{
	const uint64_t pfeat = FE_PF;
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			    (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			    (1ULL << VIRTIO_NET_F_CTRL_VQ) |
			    (1ULL << VIRTIO_NET_F_CTRL_RX) |
			    (1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	uint32_t base0 = packed ? 0x80008000u : 0;
	unsigned fds0 = count_fds();
	struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 4};
	struct vhost_vring_state s = {0};
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX], sv[2];
	struct fe_q q[3];
	struct logcap lc = {.len = 0};
	struct echo e;
	struct th_mem m;
	struct vsw_pkt_pool *pool;
	struct vsw_vu *vu;
	pthread_t th;
	uint64_t rx_gpa, tx_gpa, cmd_gpa;
	uint32_t size, len;
	unsigned r0;

	if (packed)
		features |= 1ULL << VIRTIO_F_RING_PACKED;
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	assert_int_equal(pthread_mutex_init(&lc.lock, NULL), 0);
	e.v = vnvu_pair(pool, (const uint8_t *)"\x52\x54\x00\x00\x00\x01",
			&lc, VSW_LOG_WARN, &sv[1]);
	vu = vsw_vnet_vu_endpoint(e.v);
	atomic_init(&e.stop, false);
	atomic_init(&e.echoed, 0);
	atomic_init(&e.rounds, 0);
	assert_int_equal(pthread_create(&th, NULL, echo_thread, &e), 0);

	/* the offer: everything vsw_vnet does, MTU, protocol features */
	assert_int_equal(fe_get_u64(vu, sv[1], VSW_VU_REQ_GET_FEATURES),
			 VSW_VNET_VU_FEATURES |
				 (1ULL << VSW_VU_F_PROTOCOL_FEATURES) |
				 (1ULL << VHOST_F_LOG_ALL));
	assert_int_equal(fe_get_u64(vu, sv[1],
				    VSW_VU_REQ_GET_PROTOCOL_FEATURES) &
				 (1ULL << VSW_VU_PF_NET_MTU),
			 1ULL << VSW_VU_PF_NET_MTU);
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_PROTOCOL_FEATURES,
		   pfeat | (1ULL << VSW_VU_PF_NET_MTU));
	/* data queues of one pair plus the control queue */
	assert_int_equal(fe_get_u64(vu, sv[1], VSW_VU_REQ_GET_QUEUE_NUM), 3);
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_OWNER, NULL, 0, NULL,
			       0),
			 0);
	fe_set_u64(vu, sv[1], VSW_VU_REQ_NET_SET_MTU, 9000);
	assert_int_equal(vsw_vnet_vu_mtu(e.v), 9000);
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_FEATURES, features);
	size = fe_mem_table(&m, &t, fds);
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_MEM_TABLE, &t, size,
			       fds, m.nregions),
			 0);
	assert_null(vsw_vnet_vu_device(e.v));
	q_setup(vu, sv[1], &m, features, 0, base0, &q[0], true);
	q_setup(vu, sv[1], &m, features, 1, base0, &q[1], true);
	/* without MQ the control queue is queue 2 */
	q_setup(vu, sv[1], &m, features, 2, base0, &q[2], true);
	assert_true(vsw_vnet_vu_queue_running(e.v, 0));
	assert_true(vsw_vnet_vu_queue_running(e.v, 1));
	assert_non_null(vsw_vnet_vu_device(e.v));
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_STATUS, 0xf);
	assert_int_equal(vsw_vnet_vu_status(e.v), 0xf);

	rx_gpa = th_alloc(&m, (size_t)NBUF * BUF_SIZE, 64);
	tx_gpa = th_alloc(&m, (size_t)NBUF * BUF_SIZE, 64);
	round_trip(&m, q, rx_gpa, tx_gpa, 0);
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF);
	assert_int_equal(atomic_load(&e.echoed), 2 * NBUF);

	/*
	 * The transmitq is read only: a frame whose segments are all marked
	 * device-writable (DPDK's virtio PMD does that on its TX indirect
	 * entries, the header's included) is read and echoed, not refused.
	 */
	{
		uint8_t f[HDR + FRAME_LEN] = {0}, got[HDR + FRAME_LEN];
		struct vsw_sg sg[2];
		unsigned j;

		for (j = 0; j < FRAME_LEN; j++)
			f[HDR + j] = frame_byte(500, j);
		assert_int_equal(th_write(&m, tx_gpa, f, sizeof(f)), 0);
		sg[0].addr = tx_gpa;
		sg[0].len = HDR;
		sg[1].addr = tx_gpa + HDR;
		sg[1].len = FRAME_LEN;
		assert_int_equal(vsw_vq_drv_add(q[1].drv, sg, 0, 2, &e), 0);
		if (vsw_vq_drv_kick_prepare(q[1].drv))
			assert_int_equal(eventfd_write(q[1].kick, 1), 0);
		sg[0].addr = rx_gpa;
		sg[0].len = BUF_SIZE;
		assert_int_equal(vsw_vq_drv_add(q[0].drv, sg, 0, 1, &e), 0);
		if (vsw_vq_drv_kick_prepare(q[0].drv))
			assert_int_equal(eventfd_write(q[0].kick, 1), 0);
		assert_ptr_equal(wait_used(&q[0], &len), &e);
		assert_int_equal(len, sizeof(f));
		assert_int_equal(th_read(&m, rx_gpa, got, len), 0);
		assert_memory_equal(got + HDR, f + HDR, FRAME_LEN);
		assert_ptr_equal(wait_used(&q[1], &len), &e);
		assert_int_equal(len, 0); /* nothing written into it */
		assert_false(vsw_vq_drv_is_broken(q[1].drv));
	}

	/* stop the transmitq under the polling thread, read its base */
	s.index = 1;
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_GET_VRING_BASE, &s,
			       sizeof(s), NULL, 0),
			 0);
	fe_reply(sv[1], VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s));
	if (packed) /* 128 + 2 descriptors used: position 130, wrap 1 */
		assert_int_equal(s.num, (130u | 1u << 15) * 0x10001u);
	else
		assert_int_equal(s.num, 2 * NBUF + 1);
	assert_false(vsw_vnet_vu_queue_running(e.v, 1));
	assert_true(vsw_vnet_vu_queue_running(e.v, 0));
	/* a frame sent now stays in the ring: nobody takes it */
	{
		uint8_t f[HDR + 60] = {0};
		struct vsw_sg sg = {.addr = tx_gpa, .len = sizeof(f)};

		assert_int_equal(th_write(&m, tx_gpa, f, sizeof(f)), 0);
		assert_int_equal(vsw_vq_drv_add(q[1].drv, &sg, 1, 0, &e), 0);
		assert_int_equal(eventfd_write(q[1].kick, 1), 0);
		r0 = atomic_load(&e.rounds);
		while (atomic_load(&e.rounds) < r0 + 3)
			usleep(1000);
		assert_false(vsw_vq_drv_has_used(q[1].drv));
		/* restart at the reported base: the frame is echoed */
		sg.addr = rx_gpa;
		sg.len = BUF_SIZE;
		assert_int_equal(vsw_vq_drv_add(q[0].drv, &sg, 0, 1, &e), 0);
		if (vsw_vq_drv_kick_prepare(q[0].drv))
			assert_int_equal(eventfd_write(q[0].kick, 1), 0);
		q_setup(vu, sv[1], &m, features, 1, s.num, &q[1], false);
		assert_ptr_equal(wait_used(&q[1], &len), &e);
		assert_ptr_equal(wait_used(&q[0], &len), &e);
		assert_int_equal(len, sizeof(f));
	}

	/* the control queue: RX_PROMISC off, answered on ctl_handle */
	{
		struct vsw_sg sg[2];
		uint8_t cmd[3] = {VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, 0};
		uint8_t ack = 0xff;
		const struct vsw_vnet_ctrl_state *cs;

		cmd_gpa = th_alloc(&m, 64, 64);
		assert_int_equal(th_write(&m, cmd_gpa, cmd, sizeof(cmd)), 0);
		assert_int_equal(th_write(&m, cmd_gpa + 32, &ack, 1), 0);
		sg[0].addr = cmd_gpa;
		sg[0].len = sizeof(cmd);
		sg[1].addr = cmd_gpa + 32;
		sg[1].len = 1;
		assert_int_equal(vsw_vq_drv_add(q[2].drv, sg, 1, 1, &e), 0);
		if (vsw_vq_drv_kick_prepare(q[2].drv))
			assert_int_equal(eventfd_write(q[2].kick, 1), 0);
		assert_int_equal(vsw_vnet_vu_ctl_handle(e.v), 0);
		assert_ptr_equal(vsw_vq_drv_get_used(q[2].drv, &len), &e);
		assert_int_equal(len, 1);
		assert_int_equal(th_read(&m, cmd_gpa + 32, &ack, 1), 0);
		assert_int_equal(ack, VIRTIO_NET_OK);
		cs = vsw_vnet_ctrl_state(vsw_vnet_vu_device(e.v));
		assert_false(cs->promisc);
	}

	/*
	 * A transmitq the guest breaks (a buffer outside its memory) is
	 * logged with the reason, once, from the data thread: a second bad
	 * buffer and more kicks add no line.
	 */
	{
		struct vsw_sg sg = {.addr = GPA_BASE - 4096, .len = 64};
		const char *want = "queue 1 (transmitq 0) broken: "
				   "buffer outside guest memory";
		unsigned i;

		assert_int_equal(logcap_count(&lc, "broken"), 0);
		assert_int_equal(vsw_vq_drv_add(q[1].drv, &sg, 1, 0, &lc), 0);
		assert_int_equal(eventfd_write(q[1].kick, 1), 0);
		for (i = 0; i < 10000 && logcap_count(&lc, want) == 0; i++)
			usleep(1000);
		assert_int_equal(logcap_count(&lc, want), 1);
		assert_int_equal(vsw_vq_drv_add(q[1].drv, &sg, 1, 0, &lc), 0);
		assert_int_equal(eventfd_write(q[1].kick, 1), 0);
		r0 = atomic_load(&e.rounds);
		while (atomic_load(&e.rounds) < r0 + 5)
			usleep(1000);
		assert_int_equal(logcap_count(&lc, "broken"), 1);
		assert_false(vsw_vq_drv_has_used(q[1].drv));
	}

	/* disconnect while the data thread still polls: it is waited for */
	vsw_vu_disconnect(vu);
	assert_false(vsw_vnet_vu_queue_running(e.v, 0));
	assert_false(vsw_vnet_vu_queue_running(e.v, 1));
	atomic_store(&e.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	vsw_vnet_vu_destroy(e.v); /* the data thread is gone */
	assert_int_equal(atomic_load(&e.echoed), 2 * NBUF + 2);
	q_close(&q[0]);
	q_close(&q[1]);
	q_close(&q[2]);
	close(sv[1]);
	vsw_pkt_pool_destroy(pool);
	th_mem_destroy(&m);
	pthread_mutex_destroy(&lc.lock);
	assert_int_equal(count_fds(), fds0);
}

static void test_split(void **state)
{
	(void)state;
	traffic(false);
}

static void test_packed(void **state)
{
	(void)state;
	traffic(true);
}

/* ---- live migration: dirty log, vring base, RARP ---------------------- */

#define LOG_BYTES 4096 /* covers 128 MiB of guest memory */

static bool log_bit(const uint8_t *log, uint64_t gpa)
{
	uint64_t page = gpa / 4096;

	return log[page / 8] & (1u << (page % 8));
}

/* Every page of [gpa, gpa + len) marked. */
static bool log_all(const uint8_t *log, uint64_t gpa, uint64_t len)
{
	uint64_t p;

	for (p = gpa & ~4095ULL; p < gpa + len; p += 4096)
		if (!log_bit(log, p))
			return false;
	return true;
}

static unsigned log_count(const uint8_t *log)
{
	unsigned i, n = 0;

	for (i = 0; i < LOG_BYTES; i++)
		n += (unsigned)__builtin_popcount(log[i]);
	return n;
}

/* SET_VRING_ADDR again with VHOST_VRING_F_LOG (or without), as QEMU does
 * on a running ring when migration starts / ends. */
static void q_log_addr(struct vsw_vu *vu, int fd, struct th_mem *m,
		       uint32_t idx, const struct fe_q *q, bool on)
{
	struct vhost_vring_addr a = {0};

	a.index = idx;
	a.flags = on ? 1u << VHOST_VRING_F_LOG : 0;
	a.desc_user_addr = fe_uva(m, q->addrs.desc);
	a.avail_user_addr = fe_uva(m, q->addrs.driver);
	a.used_user_addr = fe_uva(m, q->addrs.device);
	a.log_guest_addr = q->addrs.device;
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
}

/* The packed ring base after count chains of one descriptor from 0x8000. */
static uint32_t pk_base(unsigned count)
{
	uint32_t pos = count % QSIZE, wrap = 1u ^ ((count / QSIZE) & 1u);

	return pos | wrap << 15;
}

static void migration(bool packed)
{
	const uint64_t pfeat = FE_PF | (1ULL << VSW_VU_PF_LOG_SHMFD) |
			       (1ULL << VSW_VU_PF_RARP);
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			    (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			    (1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	uint32_t base0 = packed ? 0x80008000u : 0;
	unsigned fds0 = count_fds(), rounds = 0, i;
	struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 4};
	struct vhost_vring_state s = {0};
	struct vsw_vu_log l = {.mmap_size = LOG_BYTES, .mmap_offset = 4096};
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX], sv[2], lfd, efd;
	struct fe_q q[2];
	struct echo e;
	struct th_mem m;
	struct vsw_pkt_pool *pool;
	struct vsw_vu *vu;
	pthread_t th;
	uint64_t rx_gpa, tx_gpa, v;
	uint8_t *logmap, *log;
	uint32_t size, len;

	if (packed)
		features |= 1ULL << VIRTIO_F_RING_PACKED;
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	e.v = vnvu_pair(pool, mac, NULL, VSW_LOG_WARN, &sv[1]);
	vu = vsw_vnet_vu_endpoint(e.v);
	atomic_init(&e.stop, false);
	atomic_init(&e.echoed, 0);
	atomic_init(&e.rounds, 0);
	assert_int_equal(pthread_create(&th, NULL, echo_thread, &e), 0);

	/* LOG_ALL, LOG_SHMFD and RARP are offered */
	assert_true(fe_get_u64(vu, sv[1], VSW_VU_REQ_GET_FEATURES) &
		    (1ULL << VHOST_F_LOG_ALL));
	assert_int_equal(fe_get_u64(vu, sv[1],
				    VSW_VU_REQ_GET_PROTOCOL_FEATURES) &
				 pfeat,
			 pfeat);
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_PROTOCOL_FEATURES, pfeat);
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_OWNER, NULL, 0, NULL,
			       0),
			 0);
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_FEATURES, features);
	size = fe_mem_table(&m, &t, fds);
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_MEM_TABLE, &t, size,
			       fds, m.nregions),
			 0);
	q_setup(vu, sv[1], &m, features, 0, base0, &q[0], true);
	q_setup(vu, sv[1], &m, features, 1, base0, &q[1], true);
	rx_gpa = th_alloc(&m, (size_t)NBUF * BUF_SIZE, 64);
	tx_gpa = th_alloc(&m, (size_t)NBUF * BUF_SIZE, 64);

	/* the log: a memfd, the bitmap at an offset as QEMU may place it */
	lfd = memfd_create("vsw-test-log", MFD_CLOEXEC);
	assert_true(lfd >= 0);
	assert_int_equal(ftruncate(lfd, 4096 + LOG_BYTES), 0);
	logmap = mmap(NULL, 4096 + LOG_BYTES, PROT_READ | PROT_WRITE,
		      MAP_SHARED, lfd, 0);
	assert_true(logmap != MAP_FAILED);
	log = logmap + 4096;

	/* no logging before migration starts, even with a log mapped */
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF * rounds++);
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_LOG_BASE, &l,
			       sizeof(l), &lfd, 1),
			 0);
	fe_reply(sv[1], VSW_VU_REQ_SET_LOG_BASE, NULL, 0); /* no payload */
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF * rounds++);
	assert_int_equal(log_count(log), 0);

	/* migration starts: LOG_ALL, then the log flag on every ring */
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_FEATURES,
		   features | (1ULL << VHOST_F_LOG_ALL));
	q_log_addr(vu, sv[1], &m, 0, &q[0], true);
	q_log_addr(vu, sv[1], &m, 1, &q[1], true);
	assert_true(vsw_vnet_vu_queue_running(e.v, 0));
	assert_true(vsw_vnet_vu_queue_running(e.v, 1));
	memset(log, 0, LOG_BYTES); /* what restarting the rings marked */
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF * rounds++);
	/* every received frame's bytes, header included */
	for (i = 0; i < NBUF; i++)
		assert_true(log_all(log, rx_gpa + (uint64_t)i * BUF_SIZE,
				    HDR + FRAME_LEN));
	/* both rings' used side: split used ring, packed descriptors */
	for (i = 0; i < 2; i++) {
		if (packed)
			assert_true(log_all(log, q[i].addrs.desc, 16 * QSIZE));
		else
			assert_true(log_all(log, q[i].addrs.device,
					    6 + 8 * QSIZE));
	}
	/* the transmitted frames were only read: their pages stay clean */
	for (v = (tx_gpa + 4095) & ~4095ULL;
	     v + 4096 <= tx_gpa + (uint64_t)NBUF * BUF_SIZE; v += 4096)
		assert_false(log_bit(log, v));

	/* the vring bases: the exact resume point, nothing in flight */
	for (i = 0; i < 2; i++) {
		s.index = i;
		s.num = 0;
		assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_GET_VRING_BASE,
				       &s, sizeof(s), NULL, 0),
				 0);
		fe_reply(sv[1], VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s));
		if (packed)
			assert_int_equal(s.num,
					 pk_base(NBUF * rounds) * 0x10001u);
		else
			assert_int_equal(s.num, NBUF * rounds);
		assert_false(vsw_vnet_vu_queue_running(e.v, i));
	}
	/* the stops published nothing new: the last marks are complete */
	assert_int_equal(vsw_vq_drv_has_used(q[0].drv), false);
	/* "the destination": resume both rings from those bases */
	q_setup(vu, sv[1], &m, features | (1ULL << VHOST_F_LOG_ALL), 0, s.num,
		&q[0], false);
	q_setup(vu, sv[1], &m, features | (1ULL << VHOST_F_LOG_ALL), 1, s.num,
		&q[1], false);
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF * rounds++);

	/* a second log replaces the first under running rings */
	memset(log, 0, LOG_BYTES);
	l.mmap_offset = 0;
	l.mmap_size = 4096;
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_LOG_BASE, &l,
			       sizeof(l), &lfd, 1),
			 0);
	fe_reply(sv[1], VSW_VU_REQ_SET_LOG_BASE, NULL, 0);
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF * rounds++);
	assert_int_equal(log_count(log), 0);
	assert_true(log_all(logmap, rx_gpa, HDR + FRAME_LEN));
	/* SET_LOG_FD: kept, closed with the connection */
	efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(fe_do(vu, sv[1], VSW_VU_REQ_SET_LOG_FD, NULL, 0, &efd,
			       1),
			 0);
	close(efd);

	/* migration over: LOG_ALL off, nothing is marked any more */
	fe_set_u64(vu, sv[1], VSW_VU_REQ_SET_FEATURES, features);
	memset(logmap, 0, 4096 + LOG_BYTES);
	round_trip(&m, q, rx_gpa, tx_gpa, NBUF * rounds++);
	assert_int_equal(log_count(logmap), 0);

	/* SEND_RARP: a broadcast RARP from the guest's MAC, sent into the
	 * switch side (here echoed back into the receive queue) */
	{
		uint8_t got[HDR + 60];
		struct vsw_sg sg = {.addr = rx_gpa, .len = BUF_SIZE};
		uint64_t w = 0;

		memcpy(&w, "\x01\x00\x5e\x00\x00\x01", 6); /* multicast */
		fe_set_u64(vu, sv[1], VSW_VU_REQ_SEND_RARP, w); /* ignored */
		memcpy(&w, mac, 6);
		fe_set_u64(vu, sv[1], VSW_VU_REQ_SEND_RARP, w);
		assert_int_equal(vsw_vq_drv_add(q[0].drv, &sg, 0, 1, &e), 0);
		if (vsw_vq_drv_kick_prepare(q[0].drv))
			assert_int_equal(eventfd_write(q[0].kick, 1), 0);
		assert_ptr_equal(wait_used(&q[0], &len), &e);
		assert_int_equal(len, HDR + 60);
		assert_int_equal(th_read(&m, rx_gpa, got, len), 0);
		assert_memory_equal(got + HDR, "\xff\xff\xff\xff\xff\xff", 6);
		assert_memory_equal(got + HDR + 6, mac, 6);
		assert_memory_equal(got + HDR + 12,
				    "\x80\x35\x00\x01\x08\x00\x06\x04\x00\x03",
				    10);
		assert_memory_equal(got + HDR + 22, mac, 6);
		assert_memory_equal(got + HDR + 32, mac, 6);
		/* one frame only: the multicast request sent nothing */
		usleep(20000);
		assert_false(vsw_vq_drv_has_used(q[0].drv));
	}

	vsw_vu_disconnect(vu);
	atomic_store(&e.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	vsw_vnet_vu_destroy(e.v);
	q_close(&q[0]);
	q_close(&q[1]);
	close(sv[1]);
	munmap(logmap, 4096 + LOG_BYTES);
	close(lfd);
	vsw_pkt_pool_destroy(pool);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0); /* the log fds too */
}

static void test_migration_split(void **state)
{
	(void)state;
	migration(false);
}

static void test_migration_packed(void **state)
{
	(void)state;
	migration(true);
}

/* A log the back end must refuse (the connection closes), one per case. */
static void test_log_hostile(void **state)
{
	struct {
		uint64_t file, size, off;
		bool pipe;
	} c[] = {
		{4096, 0, 0, false},		  /* empty */
		{4096, 8192, 0, false},		  /* beyond the file */
		{8192, 4096, 8192, false},	  /* offset at EOF */
		{4096, 16, UINT64_MAX - 8, false}, /* wraps */
		{4096, 1ULL << 31, 0, false},	  /* absurd size */
		{0, 4096, 0, true},		  /* not a memfd / file */
	};
	const uint64_t pfeat = FE_PF | (1ULL << VSW_VU_PF_LOG_SHMFD);
	struct vsw_pkt_pool_config pc = {.n_small = 8};
	unsigned fds0 = count_fds(), i;
	struct vsw_pkt_pool *pool;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct vsw_vu_log l = {.mmap_size = c[i].size,
				       .mmap_offset = c[i].off};
		struct logcap lc = {.len = 0};
		struct vsw_vnet_vu *v;
		int sv[2], fd, p[2] = {-1, -1};

		assert_int_equal(pthread_mutex_init(&lc.lock, NULL), 0);

		v = vnvu_pair(pool, (const uint8_t *)"\x52\x54\x00\x00\x00\x02",
			      &lc, VSW_LOG_ERR, &sv[1]);
		fe_set_u64(vsw_vnet_vu_endpoint(v), sv[1],
			   VSW_VU_REQ_SET_PROTOCOL_FEATURES, pfeat);
		if (c[i].pipe) {
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
			fd = p[0];
		} else {
			fd = memfd_create("vsw-test-log", MFD_CLOEXEC);
			assert_true(fd >= 0);
			assert_int_equal(ftruncate(fd, (off_t)c[i].file), 0);
		}
		assert_true(fe_do(vsw_vnet_vu_endpoint(v), sv[1],
				  VSW_VU_REQ_SET_LOG_BASE, &l, sizeof(l), &fd,
				  1) < 0);
		assert_false(vsw_vu_connected(vsw_vnet_vu_endpoint(v)));
		/* one line saying why */
		assert_int_equal(
			logcap_count(&lc, "closing connection: SET_LOG_BASE: "),
			1);
		pthread_mutex_destroy(&lc.lock);
		close(fd);
		if (p[1] >= 0)
			close(p[1]);
		close(sv[1]);
		vsw_vnet_vu_destroy(v);
	}
	vsw_pkt_pool_destroy(pool);
	assert_int_equal(count_fds(), fds0);
}

static void test_config(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 8};
	struct vsw_vnet_vu_config vc = {0};
	struct vsw_pkt_pool *pool;
	struct vsw_vnet_vu *v = NULL;
	unsigned fds0 = count_fds();
	int sv[2];

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	vc.mode = VSW_VU_FD;
	vc.pool = pool;
	vc.max_qp = 2;
	/* more than one pair needs MQ among the offered features */
	vc.features = 1ULL << VIRTIO_F_VERSION_1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	vc.fd = sv[0];
	assert_int_equal(vsw_vnet_vu_create(&vc, &v), -EINVAL);
	close(sv[1]);
	/* a feature vsw_vnet does not implement */
	vc.max_qp = 1;
	vc.features = 1ULL << VIRTIO_NET_F_GUEST_UFO;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	vc.fd = sv[0];
	assert_int_equal(vsw_vnet_vu_create(&vc, &v), -EINVAL);
	/* no pool */
	vc.features = 0;
	vc.pool = NULL;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	vc.fd = sv[0];
	assert_int_equal(vsw_vnet_vu_create(&vc, &v), -EINVAL);
	assert_null(v);
	vsw_vnet_vu_destroy(NULL);
	vsw_pkt_pool_destroy(pool);
	/* FD mode owns the fd also on failure: nothing leaks */
	assert_int_equal(count_fds(), fds0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_migration_split),
		cmocka_unit_test(test_migration_packed),
		cmocka_unit_test(test_log_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
