/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end against a hostile front-end: one test per validation
 * rule. Each case runs next to a healthy connection object; the harness
 * asserts that the bad message closes the hostile connection (and only it),
 * that exactly one ERR line names the request and the reason, that no fd and
 * no mapping is left behind, and that the healthy connection still works.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vhost_user_fe.h"
#include "vsw_compiler.h"

#define GPA_BASE 0x100000ULL
#define MEM_SIZE (256 * 1024)

struct hctx {
	struct vsw_vu *vu;
	int fe;
	struct th_mem *m;
};

typedef int hostile_fn(struct hctx *h);

struct hcase {
	const char *name;
	hostile_fn *fn;
	const char *expect; /* substring of the ERR line */
};

/* ---- prefixes a case may need ---- */

static void h_pf(struct hctx *h)
{
	fe_set_u64(h->vu, h->fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES, FE_PF);
}

static void h_feat(struct hctx *h, uint64_t extra)
{
	fe_set_u64(h->vu, h->fe, VSW_VU_REQ_SET_FEATURES,
		   (1ULL << VIRTIO_F_VERSION_1) | extra);
}

static void h_mem(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	uint32_t size = fe_mem_table(h->m, &t, fds);

	assert_int_equal(fe_do(h->vu, h->fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size,
			       fds, h->m->nregions),
			 0);
}

static int h_u64(struct hctx *h, uint32_t req, uint64_t v, const int *fds,
		 unsigned nfds)
{
	return fe_do(h->vu, h->fe, req, &v, sizeof(v), fds, nfds);
}

static int h_state(struct hctx *h, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vhost_vring_state s = {.index = idx, .num = num};

	return fe_do(h->vu, h->fe, req, &s, sizeof(s), NULL, 0);
}

static int h_table(struct hctx *h, const struct vsw_vu_mem_table *t,
		   uint32_t size, int fd, unsigned nfds)
{
	int fds[16];
	unsigned i;

	for (i = 0; i < nfds; i++)
		fds[i] = fd >= 0 ? fd : h->m->fd;
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_MEM_TABLE, t, size, fds,
		     nfds);
}

/* A two-region table over h->m, adjustable by the case. */
static uint32_t h_two(struct hctx *h, struct vsw_vu_mem_table *t)
{
	int fds[VSW_VU_MEM_TABLE_MAX];

	return fe_mem_table(h->m, t, fds);
}

/* ---- size ---- */

static int c_short_payload(struct hctx *h)
{
	uint32_t v = 1;

	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_FEATURES, &v, sizeof(v), NULL,
		     0);
}

static int c_oversized_size(struct hctx *h)
{
	struct vsw_vu_hdr hdr = {VSW_VU_REQ_SET_VRING_NUM, VSW_VU_FLAG_VERSION,
				 100000};

	fe_send_raw(h->fe, &hdr, NULL, 0, NULL, 0);
	return vsw_vu_handle(h->vu);
}

static int c_oversized_mem_table(struct hctx *h)
{
	uint8_t big[8 + 9 * 32] = {0};
	struct vsw_vu_hdr hdr = {VSW_VU_REQ_SET_MEM_TABLE, VSW_VU_FLAG_VERSION,
				 sizeof(big)};

	big[0] = 9;
	fe_send_raw(h->fe, &hdr, big, sizeof(big), NULL, 0);
	return vsw_vu_handle(h->vu);
}

static int c_payload_for_get(struct hctx *h)
{
	return h_u64(h, VSW_VU_REQ_GET_FEATURES, 0, NULL, 0);
}

/* ---- fds ---- */

static int c_fd_on_fdless_request(struct hctx *h)
{
	int efd = eventfd(0, EFD_CLOEXEC), ret;
	struct vhost_vring_state s = {0, 64};

	ret = fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_NUM, &s, sizeof(s), &efd,
		    1);
	close(efd);
	return ret;
}

static int c_two_fds_on_call(struct hctx *h)
{
	int efd[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)}, ret;

	ret = h_u64(h, VSW_VU_REQ_SET_VRING_CALL, 0, efd, 2);
	close(efd[0]);
	close(efd[1]);
	return ret;
}

static int c_fd_overflow(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	return h_table(h, &t, size, -1, 12);
}

static int c_fd_with_nofd_flag(struct hctx *h)
{
	int efd = eventfd(0, EFD_CLOEXEC), ret;

	ret = h_u64(h, VSW_VU_REQ_SET_VRING_KICK, VSW_VU_VRING_NOFD_MASK, &efd,
		    1);
	close(efd);
	return ret;
}

static int c_too_few_fds_table(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	return h_table(h, &t, size, -1, 1);
}

static int c_no_fd_on_kick(struct hctx *h)
{
	return h_u64(h, VSW_VU_REQ_SET_VRING_KICK, 0, NULL, 0);
}

static int c_no_fd_on_add_mem_reg(struct hctx *h)
{
	struct vsw_vu_mem_single one = {0};

	h_pf(h);
	one.region.gpa = GPA_BASE;
	one.region.size = 4096;
	one.region.uva = (uint64_t)(uintptr_t)h->m->maps[0];
	return fe_do(h->vu, h->fe, VSW_VU_REQ_ADD_MEM_REG, &one, sizeof(one),
		     NULL, 0);
}

/* ---- queue index ---- */

static int c_queue_index_num(struct hctx *h)
{
	return h_state(h, VSW_VU_REQ_SET_VRING_NUM, TD_QUEUES, 64);
}

static int c_queue_index_kick(struct hctx *h)
{
	return h_u64(h, VSW_VU_REQ_SET_VRING_KICK, 255 | VSW_VU_VRING_NOFD_MASK,
		     NULL, 0);
}

static int c_queue_index_get_base(struct hctx *h)
{
	return h_state(h, VSW_VU_REQ_GET_VRING_BASE, 1000, 0);
}

static int c_queue_index_addr(struct hctx *h)
{
	struct vhost_vring_addr a = {.index = 7};

	h_mem(h);
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_ADDR, &a, sizeof(a),
		     NULL, 0);
}

/* ---- memory regions ---- */

static int c_regions_overlap_gpa(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.regions[1].gpa -= 4096;
	return h_table(h, &t, size, -1, 2);
}

static int c_regions_overlap_uva(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.regions[1].uva = t.regions[0].uva + 4096;
	return h_table(h, &t, size, -1, 2);
}

static int c_region_count_zero(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.nregions = 0;
	return h_table(h, &t, size, -1, 2);
}

static int c_region_count_nine(struct hctx *h)
{
	struct vsw_vu_mem_table t = {0};

	t.nregions = 9;
	return h_table(h, &t, sizeof(t), -1, 8);
}

static int c_region_size_mismatch(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.nregions = 1; /* but two regions of payload */
	return h_table(h, &t, size, -1, 1);
}

static int c_region_zero_size(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.regions[1].size = 0;
	return h_table(h, &t, size, -1, 2);
}

static int c_region_wraps(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.regions[1].gpa = UINT64_MAX - 100;
	return h_table(h, &t, size, -1, 2);
}

static int c_region_past_file_end(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);

	t.regions[1].mmap_offset = h->m->size; /* one region past the end */
	return h_table(h, &t, size, -1, 2);
}

static int c_region_mmap_fails(struct hctx *h)
{
	struct vsw_vu_mem_table t;
	uint32_t size = h_two(h, &t);
	int p[2], ret;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	t.nregions = 1;
	size = 8 + 32;
	ret = h_table(h, &t, size, p[0], 1);
	close(p[0]);
	close(p[1]);
	return ret;
}

static int c_mem_slots_full(struct hctx *h)
{
	struct vsw_vu_mem_single one = {0};
	struct th_mem big;
	uint64_t ack;
	int ret;
	unsigned i;

	h_pf(h);
	assert_int_equal(th_mem_create(&big, (VSW_MEM_MAX_REGIONS + 1) * 4096,
				       0x10000000, 1),
			 0);
	for (i = 0; i <= VSW_MEM_MAX_REGIONS; i++) {
		one.region.gpa = 0x10000000 + i * 4096ULL;
		one.region.size = 4096;
		one.region.uva = (uint64_t)(uintptr_t)big.maps[0] + i * 4096;
		one.region.mmap_offset = i * 4096ULL;
		fe_send(h->fe, VSW_VU_REQ_ADD_MEM_REG, VSW_VU_FLAG_NEED_REPLY,
			&one, sizeof(one), &big.fd, 1);
		ret = vsw_vu_handle(h->vu);
		if (i < VSW_MEM_MAX_REGIONS) {
			assert_int_equal(ret, 0);
			fe_reply(h->fe, VSW_VU_REQ_ADD_MEM_REG, &ack,
				 sizeof(ack));
			assert_int_equal(ack, 0);
		}
	}
	/* the refusal was nacked before the close */
	fe_reply(h->fe, VSW_VU_REQ_ADD_MEM_REG, &ack, sizeof(ack));
	assert_int_not_equal(ack, 0);
	th_mem_destroy(&big);
	return ret;
}

static int c_add_mem_reg_overlap(struct hctx *h)
{
	struct vsw_vu_mem_single one = {0};

	h_pf(h);
	h_mem(h);
	one.region.gpa = GPA_BASE + 8192; /* inside region 0 */
	one.region.size = 4096;
	one.region.uva = 0x7000000000ULL;
	return fe_do(h->vu, h->fe, VSW_VU_REQ_ADD_MEM_REG, &one, sizeof(one),
		     &h->m->fd, 1);
}

static int c_rem_mem_reg_unknown(struct hctx *h)
{
	struct vsw_vu_mem_single one = {0};

	h_pf(h);
	h_mem(h);
	one.region.gpa = GPA_BASE;
	one.region.size = 4096; /* not the size it was added with */
	one.region.uva = (uint64_t)(uintptr_t)h->m->maps[0];
	return fe_do(h->vu, h->fe, VSW_VU_REQ_REM_MEM_REG, &one, sizeof(one),
		     NULL, 0);
}

/* ---- rings ---- */

static int c_ring_addr_outside(struct hctx *h)
{
	struct vhost_vring_addr a = {0};

	h_mem(h);
	a.desc_user_addr = (uint64_t)(uintptr_t)h->m->maps[0];
	a.avail_user_addr = a.desc_user_addr + 4096;
	a.used_user_addr = 0x1000; /* nobody's memory */
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_ADDR, &a, sizeof(a),
		     NULL, 0);
}

static int c_ring_area_past_end(struct hctx *h)
{
	struct vhost_vring_addr a = {0};
	uint64_t last = (uint64_t)(uintptr_t)h->m->maps[1];
	uint64_t per = h->m->size / h->m->nregions;

	h_feat(h, 1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	h_mem(h);
	assert_int_equal(h_state(h, VSW_VU_REQ_SET_VRING_NUM, 0, 256), 0);
	/* starts inside the last region, 4 KiB table runs past its end */
	a.desc_user_addr = last + per - 64;
	a.avail_user_addr = last;
	a.used_user_addr = last + 4096;
	assert_int_equal(fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
	assert_int_equal(h_u64(h, VSW_VU_REQ_SET_VRING_KICK,
			       VSW_VU_VRING_NOFD_MASK, NULL, 0),
			 0);
	return h_state(h, VSW_VU_REQ_SET_VRING_ENABLE, 0, 1);
}

static int c_ring_addr_flags(struct hctx *h)
{
	struct vhost_vring_addr a = {0};

	h_mem(h);
	a.flags = 1u << VHOST_VRING_F_LOG;
	a.desc_user_addr = a.avail_user_addr = a.used_user_addr =
		(uint64_t)(uintptr_t)h->m->maps[0];
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_ADDR, &a, sizeof(a),
		     NULL, 0);
}

static int c_ring_size_three(struct hctx *h)
{
	h_feat(h, 0);
	return h_state(h, VSW_VU_REQ_SET_VRING_NUM, 0, 3);
}

static int c_ring_size_zero(struct hctx *h)
{
	return h_state(h, VSW_VU_REQ_SET_VRING_NUM, 1, 0);
}

static int c_ring_size_huge(struct hctx *h)
{
	h_feat(h, 0);
	return h_state(h, VSW_VU_REQ_SET_VRING_NUM, 0, 65536);
}

static int c_kick_reserved_bits(struct hctx *h)
{
	return h_u64(h, VSW_VU_REQ_SET_VRING_KICK,
		     (1ULL << 20) | VSW_VU_VRING_NOFD_MASK, NULL, 0);
}

static int c_enable_value(struct hctx *h)
{
	h_feat(h, 1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	return h_state(h, VSW_VU_REQ_SET_VRING_ENABLE, 0, 2);
}

/* ---- features ---- */

static int c_unoffered_feature(struct hctx *h)
{
	return h_u64(h, VSW_VU_REQ_SET_FEATURES,
		     (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 40), NULL, 0);
}

static int c_unoffered_protocol_feature(struct hctx *h)
{
	return h_u64(h, VSW_VU_REQ_SET_PROTOCOL_FEATURES, FE_PF | (1ULL << 8),
		     NULL, 0);
}

static int c_status_too_big(struct hctx *h)
{
	h_pf(h);
	return h_u64(h, VSW_VU_REQ_SET_STATUS, 0x100, NULL, 0);
}

/* ---- state ---- */

static int c_addr_before_mem(struct hctx *h)
{
	struct vhost_vring_addr a = {0};

	a.desc_user_addr = (uint64_t)(uintptr_t)h->m->maps[0];
	a.avail_user_addr = a.used_user_addr = a.desc_user_addr;
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_ADDR, &a, sizeof(a),
		     NULL, 0);
}

static int c_num_while_running(struct hctx *h)
{
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	struct vhost_vring_addr a = {0};
	struct vsw_vq_addrs ra;
	uint64_t ring;

	if (!rings_available())
		skip();
	h_feat(h, 0); /* no PROTOCOL_FEATURES: rings enabled from the start */
	h_mem(h);
	ring = th_alloc(h->m, vsw_vq_ring_bytes(features, 64), 4096);
	vsw_vq_ring_layout(features, 64, ring, &ra);
	assert_int_equal(h_state(h, VSW_VU_REQ_SET_VRING_NUM, 0, 64), 0);
	a.desc_user_addr = fe_uva(h->m, ra.desc);
	a.avail_user_addr = fe_uva(h->m, ra.driver);
	a.used_user_addr = fe_uva(h->m, ra.device);
	assert_int_equal(fe_do(h->vu, h->fe, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
	assert_int_equal(h_u64(h, VSW_VU_REQ_SET_VRING_KICK,
			       VSW_VU_VRING_NOFD_MASK, NULL, 0),
			 0);
	return h_state(h, VSW_VU_REQ_SET_VRING_NUM, 0, 128);
}

static int c_enable_without_pf(struct hctx *h)
{
	h_feat(h, 0);
	return h_state(h, VSW_VU_REQ_SET_VRING_ENABLE, 0, 1);
}

static int c_gated_before_negotiation(struct hctx *h)
{
	return fe_do(h->vu, h->fe, VSW_VU_REQ_GET_QUEUE_NUM, NULL, 0, NULL, 0);
}

static int c_mtu_not_offered(struct hctx *h)
{
	h_pf(h);
	return h_u64(h, VSW_VU_REQ_NET_SET_MTU, 1500, NULL, 0);
}

static int c_second_owner(struct hctx *h)
{
	assert_int_equal(
		fe_do(h->vu, h->fe, VSW_VU_REQ_SET_OWNER, NULL, 0, NULL, 0), 0);
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_OWNER, NULL, 0, NULL, 0);
}

/* ---- header ---- */

static int c_unknown_request(struct hctx *h)
{
	return fe_do(h->vu, h->fe, 99, NULL, 0, NULL, 0);
}

static int c_unsupported_request(struct hctx *h)
{
	/* CREATE_CRYPTO_SESSION: not a request of a network back end */
	return h_u64(h, 26, 0, NULL, 0);
}

/* The dirty log needs LOG_SHMFD, which this device (no LOG_ALL) lacks. */
static int c_log_base_without_pf(struct hctx *h)
{
	struct vsw_vu_log l = {.mmap_size = 4096, .mmap_offset = 0};

	h_pf(h);
	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_LOG_BASE, &l, sizeof(l),
		     &h->m->fd, 1);
}

static int c_log_base_no_fd(struct hctx *h)
{
	struct vsw_vu_log l = {.mmap_size = 4096, .mmap_offset = 0};

	return fe_do(h->vu, h->fe, VSW_VU_REQ_SET_LOG_BASE, &l, sizeof(l),
		     NULL, 0);
}

static int c_rarp_without_pf(struct hctx *h)
{
	h_pf(h);
	return h_u64(h, VSW_VU_REQ_SEND_RARP, 0x010000545202ULL, NULL, 0);
}

static int c_bad_version(struct hctx *h)
{
	struct vsw_vu_hdr hdr = {VSW_VU_REQ_GET_FEATURES, 0x2, 0};

	fe_send_raw(h->fe, &hdr, NULL, 0, NULL, 0);
	return vsw_vu_handle(h->vu);
}

static int c_reply_flag(struct hctx *h)
{
	fe_send(h->fe, VSW_VU_REQ_GET_FEATURES, VSW_VU_FLAG_REPLY, NULL, 0,
		NULL, 0);
	return vsw_vu_handle(h->vu);
}

/* ------------------------------------------------------------------ */

#define CASE(fn, text)                                                         \
	{                                                                      \
#fn, fn, text                                                  \
	}
static const struct hcase cases[] = {
	CASE(c_short_payload, "SET_FEATURES: payload of 4 bytes (8..8"),
	CASE(c_oversized_size, "SET_VRING_NUM: payload of 100000 bytes"),
	CASE(c_oversized_mem_table, "SET_MEM_TABLE: payload of 296 bytes"),
	CASE(c_payload_for_get, "GET_FEATURES: payload of 8 bytes (0..0"),
	CASE(c_fd_on_fdless_request, "SET_VRING_NUM: 1 fds (0..0 expected)"),
	CASE(c_two_fds_on_call, "SET_VRING_CALL: 2 fds (0..1 expected)"),
	CASE(c_fd_overflow, "SET_MEM_TABLE: more than 8 fds"),
	CASE(c_fd_with_nofd_flag, "SET_VRING_KICK: fd sent with the no-fd"),
	CASE(c_too_few_fds_table, "SET_MEM_TABLE: 1 fds for 2 regions"),
	CASE(c_no_fd_on_kick, "SET_VRING_KICK: no fd and no no-fd flag"),
	CASE(c_no_fd_on_add_mem_reg, "ADD_MEM_REG: 0 fds (1..1 expected)"),
	CASE(c_queue_index_num,
	     "SET_VRING_NUM: queue index 2 out of range (2 queues)"),
	CASE(c_queue_index_kick, "SET_VRING_KICK: queue index 255 out of"),
	CASE(c_queue_index_get_base, "GET_VRING_BASE: queue index 1000 out"),
	CASE(c_queue_index_addr, "SET_VRING_ADDR: queue index 7 out of"),
	CASE(c_regions_overlap_gpa, "SET_MEM_TABLE: regions at gpa"),
	CASE(c_regions_overlap_uva, "SET_MEM_TABLE: regions at uva"),
	CASE(c_region_count_zero, "SET_MEM_TABLE: 0 regions (1..8 allowed)"),
	CASE(c_region_count_nine, "SET_MEM_TABLE: 9 regions (1..8 allowed)"),
	CASE(c_region_size_mismatch,
	     "SET_MEM_TABLE: payload of 72 bytes for 1 regions"),
	CASE(c_region_zero_size, "has size 0"),
	CASE(c_region_wraps, "wraps 64 bits"),
	CASE(c_region_past_file_end, "beyond the end of its file"),
	CASE(c_region_mmap_fails,
	     "SET_MEM_TABLE: region at gpa 0x100000: mmap"),
	CASE(c_mem_slots_full, "ADD_MEM_REG: memory table full (64 regions)"),
	CASE(c_add_mem_reg_overlap, "ADD_MEM_REG: regions at gpa 0x102000"),
	CASE(c_rem_mem_reg_unknown, "REM_MEM_REG: no region at gpa 0x100000"),
	CASE(c_ring_addr_outside,
	     "SET_VRING_ADDR: queue 0: ring address outside guest memory"),
	CASE(c_ring_area_past_end,
	     "SET_VRING_ENABLE: queue 0: descriptor ring at"),
	CASE(c_ring_addr_flags,
	     "SET_VRING_ADDR: queue 0: log flag, but LOG_ALL not offered"),
	CASE(c_ring_size_three, "SET_VRING_NUM: queue 0: ring size 3 invalid"),
	CASE(c_ring_size_zero, "SET_VRING_NUM: queue 1: ring size 0 invalid"),
	CASE(c_ring_size_huge, "ring size 65536 invalid"),
	CASE(c_kick_reserved_bits, "SET_VRING_KICK: reserved bits set"),
	CASE(c_enable_value, "SET_VRING_ENABLE: queue 0: enable value 2"),
	CASE(c_unoffered_feature,
	     "SET_FEATURES: feature bits 0x10000000000 were not offered"),
	CASE(c_unoffered_protocol_feature,
	     "SET_PROTOCOL_FEATURES: protocol feature bits 0x100 were not"),
	CASE(c_status_too_big, "SET_STATUS: status 0x100 does not fit"),
	CASE(c_addr_before_mem,
	     "SET_VRING_ADDR: queue 0: ring addresses before any memory"),
	CASE(c_num_while_running, "SET_VRING_NUM: queue 0 is running"),
	CASE(c_enable_without_pf,
	     "SET_VRING_ENABLE: PROTOCOL_FEATURES not negotiated"),
	CASE(c_gated_before_negotiation,
	     "GET_QUEUE_NUM: protocol feature 0 not negotiated"),
	CASE(c_mtu_not_offered, "NET_SET_MTU: protocol feature 4 not"),
	CASE(c_second_owner, "SET_OWNER: session already owned"),
	CASE(c_unknown_request, "request 99: unknown request"),
	CASE(c_unsupported_request, "request 26: unknown request"),
	CASE(c_log_base_without_pf,
	     "SET_LOG_BASE: protocol feature 1 not negotiated"),
	CASE(c_log_base_no_fd, "SET_LOG_BASE: 0 fds (1..1 expected)"),
	CASE(c_rarp_without_pf, "SEND_RARP: protocol feature 2 not negotiated"),
	CASE(c_bad_version, "GET_FEATURES: protocol version 2"),
	CASE(c_reply_flag, "GET_FEATURES: reply flag set on a request"),
};

static unsigned count_substr(const char *s, const char *needle)
{
	unsigned n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void run_case(void **state)
{
	const struct hcase *c = *state;
	struct th_mem m;
	struct tdev hd, xd;
	struct hctx h = {.m = &m};
	struct vsw_vu *healthy;
	unsigned fds0, maps0;
	int hfe, ret;

	assert_int_equal(th_mem_create(&m, MEM_SIZE, GPA_BASE, 2), 0);
	/* the healthy connection, mid-session */
	tdev_init(&hd, false);
	healthy = fe_backend_pair(&hd, &hfe);
	fe_setup(healthy, hfe, &m, 1ULL << VIRTIO_F_VERSION_1);
	fe_vring(healthy, hfe, VSW_VU_REQ_SET_VRING_NUM, 0, 256);

	fds0 = count_fds();
	maps0 = count_maps("memfd:th_mem");
	tdev_init(&xd, false);
	h.vu = fe_backend_pair(&xd, &h.fe);
	ret = c->fn(&h);

	/* refused and closed, for the stated reason, once */
	assert_true(ret < 0);
	assert_int_not_equal(ret, -ECONNRESET);
	assert_false(vsw_vu_connected(h.vu));
	assert_int_equal(vsw_vu_handle(h.vu), -ENOTCONN);
	if (!tdev_logged(&xd, c->expect))
		fail_msg("expected \"%s\" in log:\n%s", c->expect, xd.log);
	assert_int_equal(count_substr(xd.log, "closing connection"), 1);
	assert_true(tdev_logged(&xd, "0 vhost-user fd: closing connection: "));
	assert_true(fe_peer_closed(h.fe));
	assert_int_equal(xd.nstart, xd.nstop);
	/* every mapping and fd of that connection released */
	assert_int_equal(vsw_vu_mem(h.vu)->nregions, 0);
	assert_int_equal(count_maps("memfd:th_mem"), maps0);
	vsw_vu_destroy(h.vu);
	close(h.fe);
	assert_int_equal(count_fds(), fds0);

	/* the healthy connection is untouched */
	assert_true(vsw_vu_connected(healthy));
	assert_int_equal(fe_get_u64(healthy, hfe, VSW_VU_REQ_GET_QUEUE_NUM),
			 TD_QUEUES);
	fe_vring(healthy, hfe, VSW_VU_REQ_SET_VRING_BASE, 0, 3);
	assert_int_equal(vsw_vu_mem(healthy)->nregions, 2);
	strcpy(th_ptr(&m, GPA_BASE + 200000, 8), "alive");
	assert_string_equal(vsw_mem_translate(vsw_vu_mem(healthy),
					      GPA_BASE + 200000, 8),
			    "alive");
	assert_null(strstr(hd.log, "closing connection"));
	vsw_vu_destroy(healthy);
	close(hfe);
	th_mem_destroy(&m);
}

int main(void)
{
	struct CMUnitTest tests[VSW_ARRAY_SIZE(cases)];
	unsigned i;

	for (i = 0; i < VSW_ARRAY_SIZE(cases); i++) {
		tests[i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.initial_state = (void *)&cases[i],
		};
	}
	return _cmocka_run_group_tests("vhost_user_hostile", tests,
				       VSW_ARRAY_SIZE(cases), NULL, NULL);
}
