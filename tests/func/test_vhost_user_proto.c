/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end, well-behaved front-ends: QEMU's start sequence and the
 * replies, REPLY_ACK, memory table changes, traffic through started queues,
 * server-mode reconnect (EOF and kill -9 of the peer), client mode with
 * backoff.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vhost_user_fe.h"

#define GPA_BASE 0x100000ULL
#define MEM_SIZE (512 * 1024)
#define QSIZE 64

static const uint64_t all_pf =
	(1ULL << VSW_VU_PF_MQ) | (1ULL << VSW_VU_PF_REPLY_ACK) |
	(1ULL << VSW_VU_PF_RESET_DEVICE) |
	(1ULL << VSW_VU_PF_CONFIGURE_MEM_SLOTS) | (1ULL << VSW_VU_PF_STATUS);

/* One queue as the test front-end (the guest driver) sees it. */
struct fe_q {
	struct vsw_vq_drv *drv;
	struct vsw_vq_addrs addrs; /* GPAs */
	uint64_t ring_gpa;
	int kick, call; /* the front-end's ends (same eventfds) */
};

static void fe_q_addrs(struct th_mem *m, uint64_t features, uint32_t num,
		       struct fe_q *q)
{
	size_t bytes = vsw_vq_ring_bytes(features, num);

	assert_true(bytes > 0);
	q->ring_gpa = th_alloc(m, bytes, 4096);
	vsw_vq_ring_layout(features, num, q->ring_gpa, &q->addrs);
}

/* SET_VRING_NUM, BASE, ADDR, KICK, CALL for one queue (QEMU's order). */
static void fe_q_setup(struct vsw_vu *vu, int fd, struct th_mem *m,
		       uint32_t idx, uint32_t num, uint32_t base,
		       struct fe_q *q)
{
	struct vhost_vring_addr a = {0};
	uint64_t v;

	fe_vring(vu, fd, VSW_VU_REQ_SET_VRING_NUM, idx, num);
	fe_vring(vu, fd, VSW_VU_REQ_SET_VRING_BASE, idx, base);
	a.index = idx;
	a.desc_user_addr = fe_uva(m, q->addrs.desc);
	a.avail_user_addr = fe_uva(m, q->addrs.driver);
	a.used_user_addr = fe_uva(m, q->addrs.device);
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_ADDR, &a, sizeof(a),
			       NULL, 0),
			 0);
	q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(q->kick >= 0 && q->call >= 0);
	v = idx;
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_KICK, &v, sizeof(v),
			       &q->kick, 1),
			 0);
	assert_int_equal(fe_do(vu, fd, VSW_VU_REQ_SET_VRING_CALL, &v, sizeof(v),
			       &q->call, 1),
			 0);
}

static void fe_q_close(struct fe_q *q)
{
	vsw_vq_drv_destroy(q->drv);
	q->drv = NULL;
	if (q->kick >= 0)
		close(q->kick);
	if (q->call >= 0)
		close(q->call);
	q->kick = q->call = -1;
}

/* QEMU's start sequence, the replies, and the ring state machine up to
 * the point that needs lib/virtq's rings. */
static void test_qemu_start_sequence(void **state)
{
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) |
			    (1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	unsigned fds0 = count_fds(), maps0;
	struct vhost_vring_state s = {0};
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	struct fe_q q[TD_QUEUES] = {{0}};
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	uint32_t size, i;
	uint64_t ack, v;
	int fe;

	(void)state;
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	maps0 = count_maps("memfd:th_mem");
	tdev_init(&td, false);
	vu = fe_backend_pair(&td, &fe);

	/* vhost_user_backend_init() */
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_FEATURES),
			 TD_FEATURES | (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES),
			 all_pf);
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES, FE_PF);
	assert_int_equal(vsw_vu_protocol_features(vu), FE_PF);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_QUEUE_NUM),
			 TD_QUEUES);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_MAX_MEM_SLOTS),
			 VSW_MEM_MAX_REGIONS);
	/* vhost_dev_init(): owner, features again, masked call notifiers */
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_OWNER, NULL, 0, NULL, 0),
			 0);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_FEATURES),
			 TD_FEATURES | (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
	/*
	 * QEMU 7.2 (vhost_net with MQ) disables the rings of the extra pairs
	 * before SET_FEATURES: allowed once SET_PROTOCOL_FEATURES was seen.
	 */
	s.index = 0;
	s.num = 0;
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_VRING_ENABLE, &s,
			       sizeof(s), NULL, 0),
			 0);
	assert_true(vsw_vu_connected(vu));
	for (i = 0; i < TD_QUEUES; i++) {
		int efd = eventfd(0, EFD_CLOEXEC);

		v = i;
		assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_VRING_CALL, &v,
				       sizeof(v), &efd, 1),
				 0);
		close(efd);
	}

	/* vhost_dev_start() at DRIVER_OK: features with REPLY_ACK */
	v = features;
	fe_send(fe, VSW_VU_REQ_SET_FEATURES, VSW_VU_FLAG_NEED_REPLY, &v,
		sizeof(v), NULL, 0);
	assert_int_equal(vsw_vu_handle(vu), 0);
	fe_reply(fe, VSW_VU_REQ_SET_FEATURES, &ack, sizeof(ack));
	assert_int_equal(ack, 0);
	assert_int_equal(vsw_vu_features(vu), features);

	size = fe_mem_table(&m, &t, fds);
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size, fds,
			       m.nregions),
			 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 2);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 2);
	/* the back-end's mapping is the same memory */
	strcpy(th_ptr(&m, GPA_BASE + 300000, 16), "shared-bytes");
	assert_string_equal(vsw_mem_translate(vsw_vu_mem(vu), GPA_BASE + 300000,
					      16),
			    "shared-bytes");

	for (i = 0; i < TD_QUEUES; i++) {
		fe_q_addrs(&m, features, QSIZE, &q[i]);
		fe_q_setup(vu, fe, &m, i, QSIZE, 7 * i, &q[i]);
	}
	/* PROTOCOL_FEATURES negotiated: the rings wait for ENABLE */
	assert_int_equal(td.nstart, 0);

	/* SET_STATUS / GET_STATUS */
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_STATUS, 0x0f);
	assert_int_equal(td.status, 0x0f);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_STATUS), 0x0f);

	/* GET_VRING_BASE of a ring never started returns what was set */
	s.index = 1;
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s),
			       NULL, 0),
			 0);
	fe_reply(fe, VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s));
	assert_int_equal(s.index, 1);
	assert_int_equal(s.num, 7);

	if (rings_available()) {
		/* queue 0 still has its kick: enabling it starts it */
		fe_vring(vu, fe, VSW_VU_REQ_SET_VRING_ENABLE, 0, 1);
		assert_int_equal(td.nstart, 1);
		assert_true(td.running[0]);
		assert_int_equal(td.q[0].features, features);
		assert_true(td.q[0].kick_fd >= 0 && td.q[0].call_fd >= 0);
		/* queue 1 lost its kick in GET_VRING_BASE: no start yet */
		fe_vring(vu, fe, VSW_VU_REQ_SET_VRING_ENABLE, 1, 1);
		assert_int_equal(td.nstart, 1);
		v = 1;
		assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_VRING_KICK, &v,
				       sizeof(v), &q[1].kick, 1),
				 0);
		assert_int_equal(td.nstart, 2);
		/* disable stops, GET_VRING_BASE reports the base */
		fe_vring(vu, fe, VSW_VU_REQ_SET_VRING_ENABLE, 0, 0);
		assert_int_equal(td.nstop, 1);
		assert_false(td.running[0]);
	}

	vsw_vu_destroy(vu);
	assert_int_equal(count_maps("memfd:th_mem"), maps0);
	for (i = 0; i < TD_QUEUES; i++)
		fe_q_close(&q[i]);
	close(fe);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0);
}

/* The device of traffic(): queue 1 is its transmit queue, read only. */
static bool td_queue_read_only(void *opaque, uint32_t index,
			       uint64_t features)
{
	struct tdev *td = opaque;

	/* asked with the negotiated features, before queue_start */
	assert_true(features & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(features & (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
	assert_true(index < TD_QUEUES);
	assert_false(td->running[index]);
	return index == 1;
}

/* Traffic through started queues, checked byte for byte, with kick and
 * call eventfds; then a memory table change restarts the rings. */
static void traffic(uint64_t features)
{
	unsigned fds0 = count_fds();
	struct vhost_vring_state s = {0};
	struct vsw_vq_drv_config dc = {0};
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	struct fe_q q[TD_QUEUES] = {{0}};
	struct iovec iov[8];
	struct vsw_vq_chain c;
	struct vsw_sg sg;
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	uint64_t buf_gpa, cnt;
	uint32_t len, size, i, round;
	char token, data[64];
	int fe;

	if (!rings_available())
		skip();
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	tdev_init(&td, false);
	td.dev.queue_read_only = td_queue_read_only;
	vu = fe_backend_pair(&td, &fe);
	fe_setup(vu, fe, &m, features);
	features |= 1ULL << VSW_VU_F_PROTOCOL_FEATURES;
	for (i = 0; i < TD_QUEUES; i++) {
		fe_q_addrs(&m, features, QSIZE, &q[i]);
		dc.features = features;
		dc.num = QSIZE;
		dc.ring = th_ptr(&m, q[i].ring_gpa,
				 vsw_vq_ring_bytes(features, QSIZE));
		dc.ring_gpa = q[i].ring_gpa;
		assert_int_equal(vsw_vq_drv_create(&dc, &q[i].drv), 0);
		/* QEMU's base of a fresh ring; packed: avail and used
		 * position 0 with their wrap counters at 1 */
		fe_q_setup(vu, fe, &m, i, QSIZE,
			   features & (1ULL << VIRTIO_F_RING_PACKED)
				   ? 0x80008000u
				   : 0,
			   &q[i]);
		fe_vring(vu, fe, VSW_VU_REQ_SET_VRING_ENABLE, i, 1);
	}
	assert_int_equal(td.nstart, 2);
	buf_gpa = th_alloc(&m, 4096, 64);

	for (round = 0; round < 2; round++) {
		/* guest TX on queue 1: the device sleeps on its kick fd,
		 * the driver kicks, the device reads the bytes */
		assert_false(vsw_vq_dev_enable_notify(td.q[1].vq));
		snprintf(data, sizeof(data), "frame-%u-from-guest", round);
		assert_int_equal(th_write(&m, buf_gpa, data, sizeof(data)), 0);
		sg.addr = buf_gpa;
		sg.len = sizeof(data);
		assert_int_equal(vsw_vq_drv_add(q[1].drv, &sg, 1, 0, &token),
				 0);
		if (vsw_vq_drv_kick_prepare(q[1].drv))
			assert_int_equal(eventfd_write(q[1].kick, 1), 0);
		assert_int_equal(eventfd_read(td.q[1].kick_fd, &cnt), 0);
		assert_int_equal(cnt, 1);
		assert_int_equal(vsw_vq_dev_pop(td.q[1].vq, &c, iov, 8), 1);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.out_len, sizeof(data));
		assert_memory_equal(iov[0].iov_base, data, sizeof(data));
		assert_int_equal(vsw_vq_dev_push(td.q[1].vq, &c, 0), 0);
		if (vsw_vq_dev_need_notify(td.q[1].vq))
			assert_int_equal(eventfd_write(td.q[1].call_fd, 1), 0);
		assert_int_equal(eventfd_read(q[1].call, &cnt), 0);
		assert_int_equal(cnt, 1);
		assert_ptr_equal(vsw_vq_drv_get_used(q[1].drv, &len), &token);

		/*
		 * queue 1 is read only (also after the restart of round 1):
		 * a segment the driver marked writable is reported readable
		 */
		assert_int_equal(vsw_vq_drv_add(q[1].drv, &sg, 0, 1, &token),
				 0);
		assert_int_equal(vsw_vq_dev_pop(td.q[1].vq, &c, iov, 8), 1);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 0);
		assert_int_equal(c.out_len, sizeof(data));
		assert_int_equal(c.in_len, 0);
		assert_memory_equal(iov[0].iov_base, data, sizeof(data));
		assert_int_equal(vsw_vq_dev_push(td.q[1].vq, &c, 0), 0);
		assert_ptr_equal(vsw_vq_drv_get_used(q[1].drv, &len), &token);
		assert_int_equal(len, 0);

		/* guest RX on queue 0: the device writes the bytes */
		assert_int_equal(th_write(&m, buf_gpa, "\0\0\0\0\0\0\0\0", 8),
				 0);
		assert_int_equal(vsw_vq_drv_add(q[0].drv, &sg, 0, 1, &token),
				 0);
		assert_int_equal(vsw_vq_dev_pop(td.q[0].vq, &c, iov, 8), 1);
		assert_int_equal(c.n_in, 1);
		memcpy(iov[0].iov_base, "to-guest", 8);
		assert_int_equal(vsw_vq_dev_push(td.q[0].vq, &c, 8), 0);
		assert_ptr_equal(vsw_vq_drv_get_used(q[0].drv, &len), &token);
		assert_int_equal(len, 8);
		assert_int_equal(th_read(&m, buf_gpa, data, 8), 0);
		assert_memory_equal(data, "to-guest", 8);

		if (round == 0) {
			/* memory hot-plug style resend: rings restart */
			size = fe_mem_table(&m, &t, fds);
			assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_MEM_TABLE,
					       &t, size, fds, m.nregions),
					 0);
			assert_int_equal(td.nstop, 2);
			assert_int_equal(td.nstart, 4);
		}
	}
	/* GET_VRING_BASE stops the ring and returns the next avail index */
	s.index = 1;
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s),
			       NULL, 0),
			 0);
	fe_reply(fe, VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s));
	if (features & (1ULL << VIRTIO_F_RING_PACKED)) /* avail | used << 16 */
		assert_int_equal(s.num, (4 | 1u << 15) * 0x10001u);
	else
		assert_int_equal(s.num, 4);
	assert_false(td.running[1]);
	assert_true(td.running[0]);

	vsw_vu_destroy(vu);
	assert_false(td.running[0]);
	for (i = 0; i < TD_QUEUES; i++)
		fe_q_close(&q[i]);
	close(fe);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0);
}

static void test_traffic_split(void **state)
{
	(void)state;
	traffic((1ULL << VIRTIO_F_VERSION_1) |
		(1ULL << VIRTIO_RING_F_EVENT_IDX));
}

static void test_traffic_packed(void **state)
{
	(void)state;
	traffic((1ULL << VIRTIO_F_VERSION_1) |
		(1ULL << VIRTIO_RING_F_EVENT_IDX) |
		(1ULL << VIRTIO_F_RING_PACKED));
}

/* REPLY_ACK on requests without a reply; NET_SET_MTU refusals keep the
 * connection. */
static void test_reply_ack_and_mtu(void **state)
{
	unsigned fds0 = count_fds();
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	uint64_t v, ack;
	int fe;

	(void)state;
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 1), 0);
	tdev_init(&td, true);
	vu = fe_backend_pair(&td, &fe);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES),
			 all_pf | (1ULL << VSW_VU_PF_NET_MTU));
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES,
		   FE_PF | (1ULL << VSW_VU_PF_NET_MTU));
	v = 1500;
	fe_send(fe, VSW_VU_REQ_NET_SET_MTU, VSW_VU_FLAG_NEED_REPLY, &v,
		sizeof(v), NULL, 0);
	assert_int_equal(vsw_vu_handle(vu), 0);
	fe_reply(fe, VSW_VU_REQ_NET_SET_MTU, &ack, sizeof(ack));
	assert_int_equal(ack, 0);
	assert_int_equal(td.mtu, 1500);
	v = 9500; /* the device refuses it */
	fe_send(fe, VSW_VU_REQ_NET_SET_MTU, VSW_VU_FLAG_NEED_REPLY, &v,
		sizeof(v), NULL, 0);
	assert_int_equal(vsw_vu_handle(vu), 0);
	fe_reply(fe, VSW_VU_REQ_NET_SET_MTU, &ack, sizeof(ack));
	assert_int_not_equal(ack, 0);
	v = 20; /* below the minimum */
	fe_send(fe, VSW_VU_REQ_NET_SET_MTU, VSW_VU_FLAG_NEED_REPLY, &v,
		sizeof(v), NULL, 0);
	assert_int_equal(vsw_vu_handle(vu), 0);
	fe_reply(fe, VSW_VU_REQ_NET_SET_MTU, &ack, sizeof(ack));
	assert_int_not_equal(ack, 0);
	assert_int_equal(td.mtu, 1500);
	assert_true(vsw_vu_connected(vu));
	/* a request with its own reply gets only that reply */
	fe_send(fe, VSW_VU_REQ_GET_QUEUE_NUM, VSW_VU_FLAG_NEED_REPLY, NULL, 0,
		NULL, 0);
	assert_int_equal(vsw_vu_handle(vu), 0);
	fe_reply(fe, VSW_VU_REQ_GET_QUEUE_NUM, &v, sizeof(v));
	assert_int_equal(v, TD_QUEUES);
	assert_int_equal(recv(fe, &v, sizeof(v), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	vsw_vu_destroy(vu);
	close(fe);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0);
}

/* ADD_MEM_REG / REM_MEM_REG (CONFIGURE_MEM_SLOTS) and table replacement. */
static void test_mem_slots(void **state)
{
	unsigned fds0 = count_fds(), maps0;
	struct vsw_vu_mem_single one = {0};
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	uint64_t ack, per;
	uint32_t size, i;
	int fe;

	(void)state;
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 4), 0);
	maps0 = count_maps("memfd:th_mem");
	per = m.size / m.nregions;
	tdev_init(&td, false);
	vu = fe_backend_pair(&td, &fe);
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES, FE_PF);
	for (i = 0; i < 4; i++) {
		one.region.gpa = GPA_BASE + i * per;
		one.region.size = per;
		one.region.uva = (uint64_t)(uintptr_t)m.maps[i];
		one.region.mmap_offset = i * per;
		fe_send(fe, VSW_VU_REQ_ADD_MEM_REG, VSW_VU_FLAG_NEED_REPLY,
			&one, sizeof(one), &m.fd, 1);
		assert_int_equal(vsw_vu_handle(vu), 0);
		fe_reply(fe, VSW_VU_REQ_ADD_MEM_REG, &ack, sizeof(ack));
		assert_int_equal(ack, 0);
	}
	assert_int_equal(vsw_vu_mem(vu)->nregions, 4);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 4);
	/*
	 * QEMU with MQ sends every region once per queue pair (one vhost
	 * device each) over the same connection: the same region again is
	 * accepted without a new mapping, and needs as many removals.
	 */
	one.region.gpa = GPA_BASE + per;
	one.region.size = per;
	one.region.uva = (uint64_t)(uintptr_t)m.maps[1];
	one.region.mmap_offset = per;
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_ADD_MEM_REG, &one,
			       sizeof(one), &m.fd, 1),
			 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 4);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 4);
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_REM_MEM_REG, &one,
			       sizeof(one), NULL, 0),
			 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 4);
	assert_non_null(vsw_mem_translate(vsw_vu_mem(vu), GPA_BASE + per, 1));
	/* remove region 1: one mapping fewer, its GPAs no longer translate */
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_REM_MEM_REG, &one,
			       sizeof(one), NULL, 0),
			 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 3);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 3);
	assert_null(vsw_mem_translate(vsw_vu_mem(vu), GPA_BASE + per, 1));
	assert_non_null(vsw_mem_translate(vsw_vu_mem(vu), GPA_BASE, 1));
	/* SET_MEM_TABLE replaces everything (old mappings released) */
	size = fe_mem_table(&m, &t, fds);
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size, fds,
			       m.nregions),
			 0);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 4);
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size, fds,
			       m.nregions),
			 0);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 4);
	/* RESET_DEVICE without its protocol feature: refused, closed, and
	 * every mapping released */
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_RESET_DEVICE, NULL, 0, NULL,
			       0),
			 -EPROTO); /* not negotiated: FE_PF lacks it */
	assert_false(vsw_vu_connected(vu));
	assert_int_equal(count_maps("memfd:th_mem"), maps0);
	vsw_vu_destroy(vu);
	close(fe);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0);
}

/* A message arriving in pieces (header, payload, fds later) is kept across
 * vsw_vu_handle() calls: the back-end never blocks on a slow peer. */
static void test_partial_message(void **state)
{
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	struct vsw_vu_hdr h = {VSW_VU_REQ_SET_FEATURES, VSW_VU_FLAG_VERSION,
			       sizeof(features)};
	unsigned fds0 = count_fds();
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	uint32_t size;
	int fe;

	(void)state;
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	tdev_init(&td, false);
	vu = fe_backend_pair(&td, &fe);
	assert_int_equal(vsw_vu_handle(vu), 0); /* nothing there yet */
	assert_int_equal(write(fe, &h, 5), 5);
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(write(fe, (char *)&h + 5, sizeof(h) - 5),
			 (ssize_t)(sizeof(h) - 5));
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(write(fe, &features, 3), 3);
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(vsw_vu_features(vu), 0); /* not complete yet */
	assert_int_equal(write(fe, (char *)&features + 3, 5), 5);
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(vsw_vu_features(vu), features);
	/* a table whose fds come with the first part, payload later */
	size = fe_mem_table(&m, &t, fds);
	h.request = VSW_VU_REQ_SET_MEM_TABLE;
	h.size = size;
	fe_send_raw(fe, &h, &t, 16, fds, 2);
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 0);
	assert_int_equal(write(fe, (char *)&t + 16, size - 16),
			 (ssize_t)(size - 16));
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 2);
	/* EOF in the middle of a message */
	assert_int_equal(write(fe, &h, 7), 7);
	assert_int_equal(vsw_vu_handle(vu), 0);
	close(fe);
	assert_int_equal(vsw_vu_handle(vu), -ECONNRESET);
	assert_int_equal(td.ndisconnect, 1);
	vsw_vu_destroy(vu);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0);
}

static int fe_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static struct vsw_vu *mk_path_backend(struct tdev *td, enum vsw_vu_mode mode,
				      const char *path)
{
	struct vsw_vu_config cfg = {0};
	struct vsw_vu *vu = NULL;

	cfg.mode = mode;
	cfg.path = path;
	cfg.dev = &td->dev;
	cfg.log_level = VSW_LOG_WARN; /* default logger: stderr */
	cfg.retry_min_ms = 10;
	cfg.retry_max_ms = 40;
	assert_int_equal(vsw_vu_create(&cfg, &vu), 0);
	return vu;
}

/* Server mode: EOF of one front-end releases everything; the next one is
 * accepted and starts from scratch. */
static void test_server_reconnect(void **state)
{
	char dir[] = "/tmp/vu-test-XXXXXX", path[64];
	unsigned fds0 = count_fds(), fds1, maps0;
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	int fe, lfd, efd;
	uint64_t v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	maps0 = count_maps("memfd:th_mem");
	tdev_init(&td, false);
	vu = mk_path_backend(&td, VSW_VU_SERVER, path);
	lfd = vsw_vu_fd(vu);
	assert_true(lfd >= 0);
	assert_false(vsw_vu_connected(vu));
	assert_int_equal(vsw_vu_timeout_ms(vu), -1);
	/* nothing pending: a handle call is harmless */
	assert_int_equal(vsw_vu_handle(vu), 0);
	fds1 = count_fds();

	fe = fe_connect(path);
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_true(vsw_vu_connected(vu));
	assert_int_not_equal(vsw_vu_fd(vu), lfd);
	fe_setup(vu, fe, &m, 1ULL << VIRTIO_F_VERSION_1);
	efd = eventfd(0, EFD_CLOEXEC);
	v = 0;
	assert_int_equal(fe_do(vu, fe, VSW_VU_REQ_SET_VRING_KICK, &v, sizeof(v),
			       &efd, 1),
			 0);
	close(efd);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 2);

	close(fe);
	assert_int_equal(vsw_vu_handle(vu), -ECONNRESET);
	assert_false(vsw_vu_connected(vu));
	assert_int_equal(vsw_vu_fd(vu), lfd);
	assert_int_equal(td.ndisconnect, 1);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 0);
	assert_int_equal(count_maps("memfd:th_mem"), maps0);
	assert_int_equal(count_fds(), fds1);

	/* a second front-end gets a fresh session */
	fe = fe_connect(path);
	assert_int_equal(vsw_vu_handle(vu), 0);
	assert_true(vsw_vu_connected(vu));
	fe_setup(vu, fe, &m, 1ULL << VIRTIO_F_VERSION_1);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 2);
	close(fe);
	assert_int_equal(vsw_vu_handle(vu), -ECONNRESET);
	vsw_vu_destroy(vu);
	assert_int_equal(access(path, F_OK), -1); /* socket file removed */
	rmdir(dir);
	th_mem_destroy(&m);
	assert_int_equal(count_fds(), fds0);
}

/* A front-end process killed with SIGKILL mid-session. */
static void test_peer_killed(void **state)
{
	char dir[] = "/tmp/vu-test-XXXXXX", path[64];
	unsigned fds1, maps0, n;
	struct th_mem m;
	struct tdev td;
	struct vsw_vu *vu;
	int sync_pipe[2], status;
	char c;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	maps0 = count_maps("memfd:th_mem");
	tdev_init(&td, false);
	vu = mk_path_backend(&td, VSW_VU_SERVER, path);
	assert_int_equal(pipe2(sync_pipe, O_CLOEXEC), 0);
	fds1 = count_fds();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the front-end: configure memory and a kick, then hang */
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		struct vsw_vu_mem_table t;
		int fds[VSW_VU_MEM_TABLE_MAX], fd, efd;
		uint64_t v = 0;
		uint32_t size;

		strcpy(a.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		size = fe_mem_table(&m, &t, fds);
		fe_send(fd, VSW_VU_REQ_SET_OWNER, 0, NULL, 0, NULL, 0);
		fe_send(fd, VSW_VU_REQ_SET_MEM_TABLE, 0, &t, size, fds,
			m.nregions);
		efd = eventfd(0, 0);
		fe_send(fd, VSW_VU_REQ_SET_VRING_KICK, 0, &v, sizeof(v), &efd,
			1);
		if (write(sync_pipe[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(sync_pipe[1]);
	assert_int_equal(read(sync_pipe[0], &c, 1), 1);
	close(sync_pipe[0]);
	assert_int_equal(vsw_vu_handle(vu), 0); /* accept */
	for (n = 0; n < 3; n++)
		assert_int_equal(vsw_vu_handle(vu), 0);
	assert_int_equal(vsw_vu_mem(vu)->nregions, 2);
	assert_int_equal(count_maps("memfd:th_mem"), maps0 + 2);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(vsw_vu_handle(vu), -ECONNRESET);
	assert_false(vsw_vu_connected(vu));
	assert_int_equal(count_maps("memfd:th_mem"), maps0);
	assert_int_equal(count_fds(), fds1 - 2); /* the pipe is closed */
	vsw_vu_destroy(vu);
	rmdir(dir);
	th_mem_destroy(&m);
}

/* Client mode: retries with backoff until QEMU's socket exists, and
 * reconnects after the front-end closes. */
static void test_client_mode(void **state)
{
	char dir[] = "/tmp/vu-test-XXXXXX", path[64];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	unsigned fds0 = count_fds(), round;
	struct tdev td;
	struct vsw_vu *vu;
	int lfd, fe, to;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qemu.sock", dir);
	tdev_init(&td, false);
	vu = mk_path_backend(&td, VSW_VU_CLIENT, path);
	assert_false(vsw_vu_connected(vu));
	assert_int_equal(vsw_vu_fd(vu), -1);
	to = vsw_vu_timeout_ms(vu);
	assert_true(to >= 0 && to <= 10);
	poll(NULL, 0, to + 1);
	assert_int_equal(vsw_vu_handle(vu), 0); /* second failure: backoff */
	assert_false(vsw_vu_connected(vu));
	to = vsw_vu_timeout_ms(vu);
	assert_true(to > 10 && to <= 20);

	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(a.sun_path, path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	for (round = 0; round < 2; round++) {
		while (!vsw_vu_connected(vu)) {
			to = vsw_vu_timeout_ms(vu);
			assert_true(to >= 0 && to <= 40);
			poll(NULL, 0, to);
			assert_int_equal(vsw_vu_handle(vu), 0);
		}
		assert_true(vsw_vu_fd(vu) >= 0);
		assert_int_equal(vsw_vu_timeout_ms(vu), -1);
		fe = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		assert_true(fe >= 0);
		assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_FEATURES),
				 TD_FEATURES |
					 (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
		close(fe);
		assert_int_equal(vsw_vu_handle(vu), -ECONNRESET);
		assert_false(vsw_vu_connected(vu));
	}
	vsw_vu_destroy(vu);
	close(lfd);
	unlink(path);
	rmdir(dir);
	assert_int_equal(count_fds(), fds0);
}

/* A 24-byte config space of which bytes 8..11 are writable. */
static uint8_t cfg_space[24];

static int cfg_get(void *opaque, uint32_t offset, uint8_t *buf, uint32_t size)
{
	(void)opaque;
	if (offset + size > sizeof(cfg_space))
		return -EINVAL;
	memcpy(buf, cfg_space + offset, size);
	return 0;
}

static int cfg_set(void *opaque, uint32_t offset, const uint8_t *buf,
		   uint32_t size, uint32_t flags)
{
	(void)opaque;
	if (flags != 0 || offset < 8 || offset + size > 12)
		return -EPERM;
	memcpy(cfg_space + offset, buf, size);
	return 0;
}

/* GET_CONFIG of [offset, offset + size), sent bytes of region: the step's
 * return value (the reply stays for fe_reply). */
static int get_config(struct vsw_vu *vu, int fe, uint32_t offset, uint32_t size,
		      uint32_t sent)
{
	struct vsw_vu_config_msg c = {.offset = offset, .size = size};

	return fe_do(vu, fe, VSW_VU_REQ_GET_CONFIG, &c,
		     VSW_VU_CONFIG_HDR + sent, NULL, 0);
}

/* SET_CONFIG of c's window with REPLY_ACK: the ACK value. */
static uint64_t set_config_ack(struct vsw_vu *vu, int fe,
			       const struct vsw_vu_config_msg *c)
{
	uint64_t ack = 2;

	fe_send(fe, VSW_VU_REQ_SET_CONFIG, VSW_VU_FLAG_NEED_REPLY, c,
		VSW_VU_CONFIG_HDR + c->size, NULL, 0);
	assert_int_equal(vsw_vu_handle(vu), 0);
	fe_reply(fe, VSW_VU_REQ_SET_CONFIG, &ack, sizeof(ack));
	return ack;
}

/* GET_CONFIG / SET_CONFIG: offered only with config_get, gated on
 * PF_CONFIG, the window bounds-checked, device refusals NACKed. */
static void test_config_space(void **state)
{
	unsigned fds0 = count_fds();
	struct vsw_vu_config_msg c = {0};
	struct tdev td;
	struct vsw_vu *vu;
	unsigned i;
	int fe;

	(void)state;
	for (i = 0; i < sizeof(cfg_space); i++)
		cfg_space[i] = (uint8_t)(0xa0 + i);
	tdev_init(&td, false);
	td.dev.config_get = cfg_get;
	td.dev.config_set = cfg_set;
	vu = fe_backend_pair(&td, &fe);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES),
			 all_pf | (1ULL << VSW_VU_PF_CONFIG));
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES,
		   FE_PF | (1ULL << VSW_VU_PF_CONFIG));
	/* a read of the whole space, then of a window inside it */
	assert_int_equal(
		get_config(vu, fe, 0, sizeof(cfg_space), sizeof(cfg_space)), 0);
	fe_reply(fe, VSW_VU_REQ_GET_CONFIG, &c,
		 VSW_VU_CONFIG_HDR + sizeof(cfg_space));
	assert_int_equal(c.size, sizeof(cfg_space));
	assert_memory_equal(c.region, cfg_space, sizeof(cfg_space));
	assert_int_equal(get_config(vu, fe, 20, 4, 4), 0);
	fe_reply(fe, VSW_VU_REQ_GET_CONFIG, &c, VSW_VU_CONFIG_HDR + 4);
	assert_int_equal(c.region[0], 0xa0 + 20);
	/* the device refuses a read past its space: a reply without config */
	assert_int_equal(get_config(vu, fe, 16, 16, 16), 0);
	fe_reply(fe, VSW_VU_REQ_GET_CONFIG, NULL, 0);
	/* a write the device accepts, then one it refuses (ACK 1) */
	c.offset = 8;
	c.size = 2;
	c.flags = 0;
	c.region[0] = 0x11;
	c.region[1] = 0x22;
	assert_int_equal(set_config_ack(vu, fe, &c), 0);
	assert_int_equal(cfg_space[8], 0x11);
	assert_int_equal(cfg_space[9], 0x22);
	c.offset = 0;
	assert_int_not_equal(set_config_ack(vu, fe, &c), 0);
	assert_int_equal(cfg_space[0], 0xa0);
	assert_true(vsw_vu_connected(vu));
	/* a window past 256 bytes closes the connection */
	assert_int_equal(get_config(vu, fe, 250, 10, 10), -EINVAL);
	assert_true(tdev_logged(&td, "outside 256 bytes"));
	vsw_vu_destroy(vu);
	close(fe);

	/* a payload that does not match the window's size */
	tdev_init(&td, false);
	td.dev.config_get = cfg_get;
	vu = fe_backend_pair(&td, &fe);
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES,
		   FE_PF | (1ULL << VSW_VU_PF_CONFIG));
	assert_int_equal(get_config(vu, fe, 0, 8, 4), -EMSGSIZE);
	vsw_vu_destroy(vu);
	close(fe);

	/* without config_get: not offered, and refused when not negotiated */
	tdev_init(&td, false);
	vu = fe_backend_pair(&td, &fe);
	assert_int_equal(fe_get_u64(vu, fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES),
			 all_pf);
	fe_set_u64(vu, fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES, FE_PF);
	assert_int_equal(get_config(vu, fe, 0, 4, 4), -EPROTO);
	vsw_vu_destroy(vu);
	close(fe);
	assert_int_equal(count_fds(), fds0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_start_sequence),
		cmocka_unit_test(test_traffic_split),
		cmocka_unit_test(test_traffic_packed),
		cmocka_unit_test(test_reply_ack_and_mtu),
		cmocka_unit_test(test_mem_slots),
		cmocka_unit_test(test_partial_message),
		cmocka_unit_test(test_server_reconnect),
		cmocka_unit_test(test_peer_killed),
		cmocka_unit_test(test_client_mode),
		cmocka_unit_test(test_config_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
