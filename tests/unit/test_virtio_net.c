/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the virtio-net device data path (lib/virtio-net) driven by the
 * vsw_vq driver side playing the guest, over th_mem guest memory, on split
 * and packed rings.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsw/pkt.h>
#include <vsw/virtio_net.h>
#include <vsw/virtq.h>

#include "th_mem.h"

#define NUM 256
#define HSZ 12
#define F(b) (1ULL << (b))


/* The counters of queue q, as a stats reader on another thread sees them. */
static struct vsw_vnet_q_stats qst(const struct vsw_vnet *vn, unsigned q)
{
	struct vsw_vnet_q_stats st;

	assert_int_equal(vsw_vnet_queue_stats(vn, q, &st), 0);
	return st;
}
static bool SPLIT = false, PACKED = true;

struct gq {
	struct vsw_vq_drv *drv;
	struct vsw_vq_dev *dev;
};

struct env {
	struct th_mem m;
	struct vsw_pkt_pool *pool;
	struct vsw_vnet *vn;
	struct gq rx, tx, ctrl;
	unsigned kicks[16];
	uint64_t ring_feat;
};

static void kick_cb(void *arg, unsigned qidx)
{
	struct env *e = arg;

	assert_true(qidx < 16);
	e->kicks[qidx]++;
}

static void gq_init(struct env *e, struct gq *q)
{
	size_t rb = vsw_vq_ring_bytes(e->ring_feat, NUM);
	uint64_t gpa = th_alloc(&e->m, rb, 4096);
	struct vsw_vq_drv_config dc = {
		.features = e->ring_feat,
		.num = NUM,
		.ring = th_ptr(&e->m, gpa, rb),
		.ring_gpa = gpa,
	};
	struct vsw_vq_dev_config vc = {
		.features = e->ring_feat,
		.num = NUM,
		.mem = &e->m.mem,
	};

	assert_non_null(dc.ring);
	assert_int_equal(vsw_vq_drv_create(&dc, &q->drv), 0);
	vsw_vq_drv_addrs(q->drv, &vc.addrs);
	assert_int_equal(vsw_vq_dev_create(&vc, &q->dev), 0);
}

static void gq_fini(struct gq *q)
{
	vsw_vq_dev_destroy(q->dev);
	vsw_vq_drv_destroy(q->drv);
}

static struct env *env_new(void **state, uint64_t net_feat, uint16_t max_qp)
{
	struct vsw_pkt_pool_config pc = {.n_small = 512, .n_large = 8};
	struct vsw_vnet_config cfg = {0};
	struct env *e = calloc(1, sizeof(*e));
	bool packed = *(bool *)*state;

	assert_non_null(e);
	assert_int_equal(th_mem_create(&e->m, 64 << 20, 0x100000, 2), 0);
	e->ring_feat = F(VIRTIO_F_VERSION_1) |
		       (packed ? F(VIRTIO_F_RING_PACKED) : 0);
	gq_init(e, &e->rx);
	gq_init(e, &e->tx);
	gq_init(e, &e->ctrl);
	assert_int_equal(vsw_pkt_pool_create(&pc, &e->pool), 0);
	cfg.features = net_feat | e->ring_feat;
	cfg.max_qp = max_qp;
	cfg.port_id = 5;
	memcpy(cfg.mac, "\x52\x54\x00\x12\x34\x56", 6);
	cfg.pool = e->pool;
	cfg.notify = kick_cb;
	cfg.notify_arg = e;
	assert_int_equal(vsw_vnet_create(&cfg, &e->vn), 0);
	assert_int_equal(vsw_vnet_hdr_size(e->vn), HSZ);
	assert_int_equal(vsw_vnet_queue_attach(e->vn, 0, e->rx.dev, NUM, -1),
			 0);
	assert_int_equal(vsw_vnet_queue_attach(e->vn, 1, e->tx.dev, NUM, -1),
			 0);
	assert_int_equal(vsw_vnet_queue_attach(e->vn, 1, e->tx.dev, NUM, -1),
			 -EBUSY);
	return e;
}

static void env_free(struct env *e)
{
	vsw_vnet_destroy(e->vn);
	gq_fini(&e->rx);
	gq_fini(&e->tx);
	gq_fini(&e->ctrl);
	assert_int_equal(vsw_pkt_pool_avail(e->pool, VSW_PKT_SMALL), 512);
	assert_int_equal(vsw_pkt_pool_avail(e->pool, VSW_PKT_LARGE), 8);
	vsw_pkt_pool_destroy(e->pool);
	th_mem_destroy(&e->m);
	free(e);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + i / 253);
}

static void put_hdr(struct virtio_net_hdr_v1 *h, uint8_t flags, uint8_t gso,
		    uint16_t hdr_len, uint16_t gso_size, uint16_t cs,
		    uint16_t co)
{
	memset(h, 0, sizeof(*h));
	h->flags = flags;
	h->gso_type = gso;
	h->hdr_len = htole16(hdr_len);
	h->gso_size = htole16(gso_size);
	h->csum_start = htole16(cs);
	h->csum_offset = htole16(co);
}

/*
 * Guest transmit: header h and frame f laid out contiguously in guest memory
 * and described by segments of the given lengths (summing to HSZ + flen).
 */
static void guest_tx(struct env *e, const struct virtio_net_hdr_v1 *h,
		     const uint8_t *f, uint32_t flen, const uint32_t *seglen,
		     unsigned nseg, unsigned n_in, uintptr_t token)
{
	uint64_t gpa = th_alloc(&e->m, HSZ + flen + 64, 64);
	struct vsw_sg sg[64];
	uint64_t at = gpa;
	unsigned i;

	assert_int_equal(th_write(&e->m, gpa, h, HSZ), 0);
	assert_int_equal(th_write(&e->m, gpa + HSZ, f, flen), 0);
	for (i = 0; i < nseg; i++) {
		sg[i].addr = at;
		sg[i].len = seglen[i];
		at += seglen[i];
	}
	for (i = 0; i < n_in; i++) {
		sg[nseg + i].addr = at;
		sg[nseg + i].len = 64;
	}
	assert_int_equal(
		vsw_vq_drv_add(e->tx.drv, sg, nseg, n_in, (void *)token), 0);
}

/* Collect n used TX buffers: tokens in order of use, all with length 0. */
static void guest_tx_reap(struct env *e, unsigned n)
{
	uint32_t len;
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_non_null(vsw_vq_drv_get_used(e->tx.drv, &len));
		assert_int_equal(len, 0);
	}
	assert_null(vsw_vq_drv_get_used(e->tx.drv, &len));
}

static void test_tx_chain_shapes(void **state)
{
	struct env *e = env_new(state, F(VIRTIO_NET_F_CSUM), 1);
	static uint8_t fa[60], fb[1514], fc[3000], fd[200];
	const uint32_t sa[] = {HSZ, 60};
	const uint32_t sb[] = {HSZ + 1514};
	const uint32_t sc[] = {5, 7, 100, 1, 1000, 900, 999};
	const uint32_t sd[] = {HSZ + 50, 150};
	struct virtio_net_hdr_v1 h, hd;
	struct vsw_pkt *p[32];

	fill(fa, sizeof(fa), 1);
	fill(fb, sizeof(fb), 2);
	fill(fc, sizeof(fc), 3);
	fill(fd, sizeof(fd), 4);
	put_hdr(&h, 0, 0, 0, 0, 0, 0);
	put_hdr(&hd, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 6);
	/* header alone + data; combined; header split over 2 of 7 segments;
	 * NEEDS_CSUM and a writable segment the device must ignore */
	guest_tx(e, &h, fa, sizeof(fa), sa, 2, 0, 1);
	guest_tx(e, &h, fb, sizeof(fb), sb, 1, 0, 2);
	guest_tx(e, &h, fc, sizeof(fc), sc, 7, 0, 3);
	guest_tx(e, &hd, fd, sizeof(fd), sd, 2, 1, 4);
	assert_true(vsw_vq_drv_kick_prepare(e->tx.drv));

	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p, 32), 4);
	assert_int_equal(p[0]->len, 60);
	assert_memory_equal(vsw_pkt_data(p[0]), fa, 60);
	assert_int_equal(p[1]->len, 1514);
	assert_memory_equal(vsw_pkt_data(p[1]), fb, 1514);
	assert_int_equal(p[2]->len, 3000);
	assert_int_equal(p[2]->cls, VSW_PKT_LARGE);
	assert_memory_equal(vsw_pkt_data(p[2]), fc, 3000);
	assert_int_equal(p[3]->len, 200);
	assert_memory_equal(vsw_pkt_data(p[3]), fd, 200);
	assert_int_equal(p[0]->in_port, 5);
	assert_int_equal(p[0]->vnet.flags, 0);
	assert_int_equal(p[3]->vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(p[3]->vnet.csum_start, 34);
	assert_int_equal(p[3]->vnet.csum_offset, 6);
	assert_int_equal(qst(e->vn, 1).packets, 4);
	assert_int_equal(qst(e->vn, 1).bytes, 60 + 1514 + 3000 + 200);
	/* one interrupt for the whole burst */
	assert_int_equal(e->kicks[1], 1);
	assert_int_equal(qst(e->vn, 1).notifies, 1);
	guest_tx_reap(e, 4);
	/* nothing more: no push, no interrupt */
	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p + 4, 32), 0);
	assert_int_equal(e->kicks[1], 1);
	vsw_pkt_free_burst(p, 4);
	env_free(e);
}

static void test_tx_bad_headers(void **state)
{
	struct env *e = env_new(
		state, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4), 1);
	static uint8_t f[1000];
	const uint32_t s[] = {HSZ + sizeof(f)};
	const uint32_t s_short[] = {8};
	const uint8_t N = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	const struct {
		uint8_t flags, gso;
		uint16_t hdr_len, gso_size, cs, co;
	} bad[] = {
		{N, 0, 0, 0, 990, 9},  /* csum field past the end */
		{N, 0, 0, 0, 1000, 0}, /* csum_start at the end */
		{0, 0, 1001, 0, 0, 0}, /* hdr_len past the end */
		{N, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16}, /* size 0 */
		{N, 2, 54, 1448, 34, 16}, /* unknown gso type */
		{N, VIRTIO_NET_HDR_GSO_UDP, 42, 1448, 34, 6},	 /* UFO */
		{N, VIRTIO_NET_HDR_GSO_TCPV6, 74, 1448, 54, 16}, /* not
								      * negotiated */
		{N, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54, 1448,
		 34, 16}, /* ECN not negotiated */
		{0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0}, /* no csum */
		{VIRTIO_NET_HDR_F_RSC_INFO, 0, 0, 0, 0, 0},    /* bad flag */
	};
	const unsigned NBAD = sizeof(bad) / sizeof(bad[0]);
	struct virtio_net_hdr_v1 h;
	struct vsw_pkt *p[32];
	unsigned i;

	fill(f, sizeof(f), 9);
	for (i = 0; i < NBAD; i++) {
		put_hdr(&h, bad[i].flags, bad[i].gso, bad[i].hdr_len,
			bad[i].gso_size, bad[i].cs, bad[i].co);
		guest_tx(e, &h, f, sizeof(f), s, 1, 0, i + 1);
	}
	/* a chain shorter than the header */
	guest_tx(e, &h, f, 0, s_short, 1, 0, 100);
	/* valid: GSO TCPv4 with DATA_VALID (ignored) and a good frame */
	put_hdr(&h, N | VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_GSO_TCPV4,
		54, 1448, 34, 16);
	guest_tx(e, &h, f, sizeof(f), s, 1, 0, 101);
	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p, 32), 1);
	assert_int_equal(qst(e->vn, 1).drop_bad_hdr, NBAD + 1);
	assert_int_equal(qst(e->vn, 1).packets, 1);
	assert_int_equal(p[0]->vnet.flags, N);
	assert_int_equal(p[0]->vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(p[0]->vnet.gso_size, 1448);
	assert_int_equal(p[0]->vnet.hdr_len, 54);
	assert_memory_equal(vsw_pkt_data(p[0]), f, sizeof(f));
	/* every chain, dropped or not, went back to the guest */
	guest_tx_reap(e, NBAD + 2);
	vsw_pkt_free(p[0]);
	env_free(e);
}

static void test_tx_pool_empty(void **state)
{
	struct env *e = env_new(state, 0, 1);
	struct vsw_pkt_pool_config pc = {.n_small = 2};
	struct vsw_pkt_pool *small;
	static uint8_t f[100];
	const uint32_t s[] = {HSZ + sizeof(f)};
	struct virtio_net_hdr_v1 h;
	struct vsw_pkt *p[4];
	unsigned i;

	assert_int_equal(vsw_pkt_pool_create(&pc, &small), 0);
	assert_int_equal(vsw_vnet_qp_set_pool(e->vn, 0, small), 0);
	assert_int_equal(vsw_vnet_qp_set_pool(e->vn, 1, small), -EINVAL);
	put_hdr(&h, 0, 0, 0, 0, 0, 0);
	for (i = 0; i < 3; i++) {
		fill(f, sizeof(f), i);
		guest_tx(e, &h, f, sizeof(f), s, 1, 0, i + 1);
	}
	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p, 4), 2);
	assert_int_equal(qst(e->vn, 1).pool_empty, 1);
	guest_tx_reap(e, 2);
	vsw_pkt_free_burst(p, 2);
	/* the third frame waited in the ring */
	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p, 4), 1);
	assert_memory_equal(vsw_pkt_data(p[0]), f, sizeof(f));
	guest_tx_reap(e, 1);
	vsw_pkt_free(p[0]);
	assert_int_equal(vsw_vnet_qp_set_pool(e->vn, 0, e->pool), 0);
	vsw_pkt_pool_destroy(small);
	env_free(e);
}

/* ---- receive side ---- */

/* Post n receive chains of size bytes, token = GPA; nseg 1 or 2. */
static void post_rx(struct env *e, unsigned n, uint32_t size, unsigned nseg)
{
	struct vsw_sg sg[2];
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t gpa = th_alloc(&e->m, size, 64);

		if (nseg == 2) {
			sg[0].addr = gpa;
			sg[0].len = HSZ;
			sg[1].addr = gpa + HSZ;
			sg[1].len = size - HSZ;
		} else {
			sg[0].addr = gpa;
			sg[0].len = size;
		}
		assert_int_equal(vsw_vq_drv_add(e->rx.drv, sg, 0, nseg,
						(void *)(uintptr_t)gpa),
				 0);
	}
}

/* One used receive buffer copied into out; returns its length. */
static uint32_t reap_rx(struct env *e, uint8_t *out)
{
	uint32_t len;
	void *tok = vsw_vq_drv_get_used(e->rx.drv, &len);

	assert_non_null(tok);
	assert_int_equal(th_read(&e->m, (uint64_t)(uintptr_t)tok, out, len), 0);
	return len;
}

static struct vsw_pkt *mkpkt(struct env *e, uint32_t len, unsigned seed)
{
	struct vsw_pkt *p = vsw_pkt_alloc_len(e->pool, len);

	assert_non_null(p);
	fill(vsw_pkt_append(p, len), len, seed);
	return p;
}

static void test_rx_no_mrg(void **state)
{
	struct env *e = env_new(state, 0, 1);
	static uint8_t buf[4096];
	const struct virtio_net_hdr_v1 *h = (const void *)buf;
	struct vsw_pkt *p[4];
	const uint32_t sizes[] = {60, 1514, 1515, 100};
	unsigned i;

	post_rx(e, 2, HSZ + 1514, 1);
	post_rx(e, 2, HSZ + 1514, 2);
	for (i = 0; i < 4; i++)
		p[i] = mkpkt(e, sizes[i], i);
	/* 1515 bytes do not fit a 1514-byte chain: dropped, chain kept */
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 4), 4);
	assert_int_equal(qst(e->vn, 0).packets, 3);
	assert_int_equal(qst(e->vn, 0).bytes, 60 + 1514 + 100);
	assert_int_equal(qst(e->vn, 0).drop_too_big, 1);
	assert_int_equal(e->kicks[0], 1);
	for (i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		assert_int_equal(reap_rx(e, buf), HSZ + sizes[i]);
		assert_int_equal(h->flags, 0);
		assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(le16toh(h->num_buffers), 1);
		assert_memory_equal(buf + HSZ, vsw_pkt_data(p[i]), sizes[i]);
	}
	assert_false(vsw_vq_drv_has_used(e->rx.drv));
	/* one chain left for two packets: the second stays with us */
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 2), 1);
	assert_int_equal(qst(e->vn, 0).no_buf, 1);
	assert_int_equal(reap_rx(e, buf), HSZ + 60);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p + 1, 1), 0);
	assert_int_equal(qst(e->vn, 0).no_buf, 2);
	assert_int_equal(qst(e->vn, 0).packets, 4);
	vsw_pkt_free_burst(p, 4);
	env_free(e);
}

static void test_rx_mrg_jumbo(void **state)
{
	struct env *e = env_new(state, F(VIRTIO_NET_F_MRG_RXBUF), 1);
	static uint8_t buf[4096], got[9100];
	const struct virtio_net_hdr_v1 *h = (const void *)got;
	struct vsw_pkt *p = mkpkt(e, 9000, 42);
	uint32_t len, at = 0, zero = 0;
	unsigned i;

	post_rx(e, 10, 1500, 1);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, &p, 1), 1);
	/* 9012 bytes over 1500-byte buffers: 7 buffers, the last 12 bytes */
	for (i = 0; i < 7; i++) {
		len = reap_rx(e, buf);
		assert_int_equal(len, i < 6 ? 1500 : 9012 - 6 * 1500);
		memcpy(got + at, buf, len);
		at += len;
	}
	assert_false(vsw_vq_drv_has_used(e->rx.drv));
	assert_int_equal(le16toh(h->num_buffers), 7);
	assert_memory_equal(got + HSZ, vsw_pkt_data(p), 9000);
	assert_int_equal(qst(e->vn, 0).packets, 1);
	assert_int_equal(qst(e->vn, 0).bytes, 9000);

	/* 3 buffers left, 7 needed: not delivered, stays with the caller */
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, &p, 1), 0);
	assert_int_equal(qst(e->vn, 0).no_buf, 1);
	assert_int_equal(qst(e->vn, 0).packets, 1);
	/* chains the ring could not take back came back empty, counted */
	while (vsw_vq_drv_has_used(e->rx.drv)) {
		assert_int_equal(reap_rx(e, buf), 0);
		zero++;
	}
	assert_int_equal(qst(e->vn, 0).bad_buffer, zero);
	assert_true(zero < 3);
	/* more buffers: the same packet now goes through */
	post_rx(e, 8, 1500, 2);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, &p, 1), 1);
	at = 0;
	for (i = 0; i < 7; i++) {
		len = reap_rx(e, buf);
		memcpy(got + at, buf, len);
		at += len;
	}
	assert_int_equal(at, 9012);
	assert_int_equal(le16toh(h->num_buffers), 7);
	assert_memory_equal(got + HSZ, vsw_pkt_data(p), 9000);
	assert_int_equal(qst(e->vn, 0).packets, 2);
	vsw_pkt_free(p);
	env_free(e);
}

/* ---- offloads on the receive side ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ethernet + IPv4 + TCP (or UDP) + plen bytes; L4 at 34. */
static struct vsw_pkt *mkip(struct env *e, bool udp, uint32_t plen)
{
	uint32_t hl = udp ? 8 : 20, len = 34 + hl + plen, i;
	struct vsw_pkt *p = vsw_pkt_alloc_len(e->pool, len);
	uint8_t *f, ph[4] = {0, udp ? 17 : 6, 0, 0};
	uint16_t pseudo;

	assert_non_null(p);
	f = vsw_pkt_append(p, len);
	memset(f, 0, 34 + hl);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + hl + plen));
	put16(f + 18, 0x77);
	f[22] = 64;
	f[23] = udp ? 17 : 6;
	f[26] = 192, f[27] = 168, f[29] = 1, f[30] = 192, f[31] = 168;
	f[33] = 2;
	put16(f + 24, 0);
	pseudo = vsw_vnet_csum_fold(vsw_vnet_csum_partial(f + 14, 20, 0));
	memcpy(f + 24, &pseudo, 2);
	put16(f + 34, 4000);
	put16(f + 36, 80);
	if (udp) {
		put16(f + 38, (uint16_t)(8 + plen));
	} else {
		f[38] = 1; /* seq 0x01000000 */
		f[46] = 5 << 4;
		f[47] = 0x18; /* ACK PSH */
	}
	for (i = 0; i < plen; i++)
		f[34 + hl + i] = (uint8_t)(i ^ (i >> 8));
	/* NEEDS_CSUM: the L4 field holds the folded pseudo-header sum */
	put16(ph + 2, (uint16_t)(hl + plen));
	pseudo = (uint16_t)~vsw_vnet_csum_fold(vsw_vnet_csum_partial(
		ph, 4, vsw_vnet_csum_partial(f + 26, 8, 0)));
	memcpy(f + 34 + (udp ? 6 : 16), &pseudo, 2);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = 34;
	p->vnet.csum_offset = udp ? 6 : 16;
	return p;
}

/* IPv4 header and L4 checksum of a frame in f verify. */
static void check_ip_l4(const uint8_t *f, uint32_t len)
{
	uint8_t ph[4] = {0, f[23], 0, 0};
	uint32_t s;

	assert_int_equal(get16(f + 16), len - 14);
	assert_int_equal(
		vsw_vnet_csum_fold(vsw_vnet_csum_partial(f + 14, 20, 0)), 0);
	put16(ph + 2, (uint16_t)(len - 34));
	s = vsw_vnet_csum_partial(ph, 4, vsw_vnet_csum_partial(f + 26, 8, 0));
	assert_int_equal(
		vsw_vnet_csum_fold(vsw_vnet_csum_partial(f + 34, len - 34, s)),
		0);
}

static void test_rx_sw_offloads(void **state)
{
	/* the guest takes neither checksum nor TSO offloads */
	struct env *e = env_new(state, F(VIRTIO_NET_F_MRG_RXBUF), 1);
	static uint8_t buf[4096], re[5000];
	const struct virtio_net_hdr_v1 *h = (const void *)buf;
	struct vsw_pkt *p[2];
	uint32_t len, i, at = 0;

	p[0] = mkip(e, true, 333);
	p[1] = mkip(e, false, 5000);
	p[1]->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	p[1]->vnet.gso_size = 1448;
	p[1]->vnet.hdr_len = 54;
	post_rx(e, 16, 2048, 1);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 2), 2);
	assert_int_equal(qst(e->vn, 0).sw_csum, 1);
	assert_int_equal(qst(e->vn, 0).sw_gso, 1);
	/* the UDP frame, checksum completed; packet marked finished */
	len = reap_rx(e, buf);
	assert_int_equal(len, HSZ + 34 + 8 + 333);
	assert_int_equal(h->flags, 0);
	check_ip_l4(buf + HSZ, len - HSZ);
	assert_int_equal(p[0]->vnet.flags, 0);
	/* the TSO frame as 4 segments */
	for (i = 0; i < 4; i++) {
		uint32_t pl;

		len = reap_rx(e, buf);
		pl = len - HSZ - 54;
		assert_int_equal(pl, i < 3 ? 1448 : 5000 - 3 * 1448);
		assert_int_equal(h->flags, 0);
		assert_int_equal(h->gso_type, 0);
		assert_int_equal(le16toh(h->num_buffers), 1);
		check_ip_l4(buf + HSZ, len - HSZ);
		/* PSH only on the last one */
		assert_int_equal(buf[HSZ + 47], i < 3 ? 0x10 : 0x18);
		memcpy(re + at, buf + HSZ + 54, pl);
		at += pl;
	}
	assert_false(vsw_vq_drv_has_used(e->rx.drv));
	assert_memory_equal(re, vsw_pkt_data(p[1]) + 54, 5000);
	assert_int_equal(qst(e->vn, 0).packets, 5);
	vsw_pkt_free_burst(p, 2);
	env_free(e);
}

static void test_rx_offloads_passed(void **state)
{
	/* a guest with checksum and TSO4 offloads and big (64 KiB) chains */
	struct env *e = env_new(
		state, F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4),
		1);
	static uint8_t buf[70000];
	const struct virtio_net_hdr_v1 *h = (const void *)buf;
	struct vsw_pkt *p;
	uint32_t len;

	p = mkip(e, false, 60000);
	p->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	p->vnet.gso_size = 1448;
	p->vnet.hdr_len = 54;
	post_rx(e, 1, HSZ + 65536, 2);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, &p, 1), 1);
	len = reap_rx(e, buf);
	assert_int_equal(len, HSZ + p->len);
	assert_int_equal(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16toh(h->gso_size), 1448);
	assert_int_equal(le16toh(h->hdr_len), 54);
	assert_int_equal(le16toh(h->csum_start), 34);
	assert_int_equal(le16toh(h->csum_offset), 16);
	assert_int_equal(le16toh(h->num_buffers), 1);
	assert_memory_equal(buf + HSZ, vsw_pkt_data(p), p->len);
	assert_int_equal(qst(e->vn, 0).sw_gso + qst(e->vn, 0).sw_csum, 0);
	/* a GSO type the guest lacks (UDP_L4) is segmented for it */
	vsw_pkt_free(p);
	p = mkip(e, true, 3000);
	p->vnet.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	p->vnet.gso_size = 1400;
	post_rx(e, 3, 2048, 1);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, &p, 1), 1);
	assert_int_equal(qst(e->vn, 0).sw_gso, 1);
	assert_int_equal(reap_rx(e, buf), HSZ + 42 + 1400);
	assert_int_equal(h->flags, VIRTIO_NET_HDR_F_DATA_VALID);
	check_ip_l4(buf + HSZ, 42 + 1400);
	assert_int_equal(reap_rx(e, buf), HSZ + 42 + 1400);
	assert_int_equal(reap_rx(e, buf), HSZ + 42 + 200);
	check_ip_l4(buf + HSZ, 42 + 200);
	vsw_pkt_free(p);
	env_free(e);
}

/*
 * One burst that mixes what the fast path takes (a plain frame, one
 * single-descriptor buffer) with what it hands over: a frame with offload
 * metadata, a frame larger than one buffer (merged), a two-segment buffer.
 * Order, headers and bytes must come out as if one path did it all.
 */
static void test_rx_mixed_burst(void **state)
{
	struct env *e = env_new(state,
				F(VIRTIO_NET_F_MRG_RXBUF) |
					F(VIRTIO_NET_F_GUEST_CSUM),
				1);
	static uint8_t buf[4096];
	const struct virtio_net_hdr_v1 *h = (const void *)buf;
	static const uint32_t lens[5] = {60, 1400, 3000, 64, 100};
	struct vsw_pkt *p[5];
	uint32_t len, want;
	unsigned i;

	for (i = 0; i < 5; i++)
		p[i] = mkpkt(e, lens[i], 20 + i);
	p[1]->vnet.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	/* buffers of 2 KiB: one descriptor each except the fifth */
	post_rx(e, 5, 2048, 1);
	post_rx(e, 1, 2048, 2);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 5), 5);
	for (i = 0; i < 5; i++) {
		want = HSZ + lens[i];
		if (i == 2)
			want = 2048; /* the first of two buffers */
		len = reap_rx(e, buf);
		assert_int_equal(len, want);
		assert_int_equal(le16toh(h->num_buffers), i == 2 ? 2 : 1);
		assert_int_equal(h->flags,
				 i == 1 ? VIRTIO_NET_HDR_F_DATA_VALID : 0);
		assert_int_equal(h->gso_type, 0);
		assert_memory_equal(buf + HSZ, vsw_pkt_data(p[i]),
				    len - HSZ);
		if (i == 2) {
			len = reap_rx(e, buf);
			assert_int_equal(len, 3000 - (2048 - HSZ));
			assert_memory_equal(buf, vsw_pkt_data(p[2]) + 2048 - HSZ,
					    len);
		}
	}
	assert_int_equal(qst(e->vn, 0).packets, 5);
	assert_int_equal(qst(e->vn, 0).bytes, 60 + 1400 + 3000 + 64 + 100);
	/* no buffers left: the next frame stays with the caller */
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 1), 0);
	assert_int_equal(qst(e->vn, 0).no_buf, 1);
	vsw_pkt_free_burst(p, 5);
	env_free(e);
}

static void test_broken_queue(void **state)
{
	struct env *e = env_new(state, 0, 1);
	static uint8_t buf[256];
	struct vsw_sg sg = {.addr = 0x7f000000000ULL, .len = 100};
	struct vsw_pkt *p[2];

	/* a TX buffer outside guest memory breaks the transmit queue */
	assert_int_equal(vsw_vq_drv_add(e->tx.drv, &sg, 1, 0, (void *)1), 0);
	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p, 2), 0);
	assert_int_equal(qst(e->vn, 1).queue_broken, 1);
	assert_int_equal(vsw_vnet_tx_burst(e->vn, 0, p, 2), 0);
	assert_int_equal(qst(e->vn, 1).queue_broken, 1);
	assert_int_equal(qst(e->vn, 1).packets, 0);
	/* the receive queue keeps working */
	p[0] = mkpkt(e, 64, 3);
	post_rx(e, 1, 256, 1);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 1), 1);
	assert_int_equal(reap_rx(e, buf), HSZ + 64);
	assert_memory_equal(buf + HSZ, vsw_pkt_data(p[0]), 64);
	/* out-of-range pair and detached queues do nothing */
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 1, p, 1), 0);
	assert_int_equal(vsw_vnet_queue_detach(e->vn, 0), 0);
	assert_int_equal(vsw_vnet_rx_burst(e->vn, 0, p, 1), 0);
	vsw_pkt_free(p[0]);
	env_free(e);
}

/* ---- control queue ---- */

/*
 * Send one command: class, cmd, data (dlen bytes) in separate readable
 * segments, one writable ack byte (unless no_ack). hdr_len 1 sends only the
 * class byte. Returns the ack's GPA.
 */
static uint64_t ctrl_cmd(struct env *e, uint8_t cls, uint8_t cmd,
			 const void *data, uint32_t dlen, uint32_t hdr_len,
			 bool no_ack)
{
	uint8_t ch[2] = {cls, cmd}, ack = 0xee;
	uint64_t gh = th_alloc(&e->m, 2, 8), gd = 0, ga = th_alloc(&e->m, 1, 8);
	struct vsw_sg sg[3];
	unsigned n = 0;

	assert_int_equal(th_write(&e->m, gh, ch, 2), 0);
	assert_int_equal(th_write(&e->m, ga, &ack, 1), 0);
	sg[n].addr = gh;
	sg[n++].len = hdr_len;
	if (dlen > 0) {
		gd = th_alloc(&e->m, dlen, 8);
		assert_int_equal(th_write(&e->m, gd, data, dlen), 0);
		sg[n].addr = gd;
		sg[n++].len = dlen;
	}
	if (!no_ack) {
		sg[n].addr = ga;
		sg[n].len = 1;
	}
	assert_int_equal(vsw_vq_drv_add(e->ctrl.drv, sg, n, no_ack ? 0 : 1,
					(void *)(uintptr_t)ga),
			 0);
	return ga;
}

/* Process one command and return its ack (or -1 when none was written). */
static int ctrl_run(struct env *e, uint8_t cls, uint8_t cmd, const void *data,
		    uint32_t dlen)
{
	uint64_t ga = ctrl_cmd(e, cls, cmd, data, dlen, 2, false);
	uint32_t len;
	uint8_t ack;

	assert_int_equal(vsw_vnet_ctrl_process(e->vn, e->ctrl.dev, -1), 1);
	assert_int_equal((uintptr_t)vsw_vq_drv_get_used(e->ctrl.drv, &len), ga);
	assert_int_equal(th_read(&e->m, ga, &ack, 1), 0);
	assert_int_equal(len, 1);
	return ack;
}

static void test_ctrl(void **state)
{
	struct env *e = env_new(
		state,
		F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
			F(VIRTIO_NET_F_CTRL_RX_EXTRA) |
			F(VIRTIO_NET_F_CTRL_MAC_ADDR) | F(VIRTIO_NET_F_MQ) |
			F(VIRTIO_NET_F_GUEST_ANNOUNCE),
		4);
	const struct vsw_vnet_ctrl_state *cs = vsw_vnet_ctrl_state(e->vn);
	const struct vsw_vnet_ctrl_stats *cst = vsw_vnet_ctrl_stats(e->vn);
	const uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
	uint8_t tbl[4 + 12 + 4 + 18], on = 0, two[2] = {1, 1};
	uint16_t pairs;
	uint32_t n, len;
	unsigned i;

	assert_true(cs->promisc);
	assert_int_equal(cs->curr_qp, 1);
	assert_memory_equal(cs->mac, "\x52\x54\x00\x12\x34\x56", 6);
	/* MQ: 1 .. max_qp */
	pairs = htole16(3);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			 VIRTIO_NET_OK);
	assert_int_equal(cs->curr_qp, 3);
	pairs = htole16(5);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			 VIRTIO_NET_ERR);
	pairs = 0;
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_RSS_CONFIG, &pairs, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(cs->curr_qp, 3);
	/* RX modes */
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 VIRTIO_NET_OK);
	assert_false(cs->promisc);
	on = 1;
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1),
			 VIRTIO_NET_OK);
	assert_true(cs->allmulti);
	assert_true(cs->nobcast);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_RX, 6, &on, 1),
			 VIRTIO_NET_ERR);
	/* MAC address and tables */
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
			 VIRTIO_NET_OK);
	assert_memory_equal(cs->mac, mac, 6);
	n = htole32(2);
	memcpy(tbl, &n, 4);
	for (i = 0; i < 12; i++)
		tbl[4 + i] = (uint8_t)(0x10 + i);
	n = htole32(3);
	memcpy(tbl + 16, &n, 4);
	for (i = 0; i < 18; i++)
		tbl[20 + i] = (uint8_t)(0x40 + i);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl,
				  sizeof(tbl)),
			 VIRTIO_NET_OK);
	assert_int_equal(cs->uc.n, 2);
	assert_int_equal(cs->mc.n, 3);
	assert_false(cs->uc.overflow);
	assert_memory_equal(cs->uc.mac[1], tbl + 10, 6);
	assert_memory_equal(cs->mc.mac[2], tbl + 32, 6);
	/* announce ack */
	assert_int_equal(vsw_vnet_announce(e->vn), 0);
	assert_true(cs->announce_pending);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_ANNOUNCE,
				  VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
			 VIRTIO_NET_OK);
	assert_false(cs->announce_pending);
	assert_int_equal(cst->ok, 7);
	assert_int_equal(cst->malformed, 0);

	/* unknown class, a class not negotiated (VLAN) */
	assert_int_equal(ctrl_run(e, 99, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_VLAN,
				  VIRTIO_NET_CTRL_VLAN_ADD, two, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(cst->malformed, 0);
	/* malformed: wrong sizes; a table count larger than the data */
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, two, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 5),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_ANNOUNCE,
				  VIRTIO_NET_CTRL_ANNOUNCE_ACK, two, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl,
				  sizeof(tbl) - 1),
			 VIRTIO_NET_ERR);
	n = htole32(1000);
	memcpy(tbl + 16, &n, 4);
	assert_int_equal(ctrl_run(e, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl,
				  sizeof(tbl)),
			 VIRTIO_NET_ERR);
	assert_int_equal(cst->malformed, 6);
	/* state unchanged by all of those */
	assert_int_equal(cs->mc.n, 3);
	assert_false(cs->promisc);
	assert_memory_equal(cs->mac, mac, 6);
	/* too short: only the class byte */
	ctrl_cmd(e, VIRTIO_NET_CTRL_RX, 0, NULL, 0, 1, false);
	/* no writable segment: nothing to answer into */
	ctrl_cmd(e, VIRTIO_NET_CTRL_RX, 0, &on, 1, 2, true);
	assert_int_equal(vsw_vnet_ctrl_process(e->vn, e->ctrl.dev, -1), 2);
	assert_non_null(vsw_vq_drv_get_used(e->ctrl.drv, &len));
	assert_int_equal(len, 1);
	assert_non_null(vsw_vq_drv_get_used(e->ctrl.drv, &len));
	assert_int_equal(len, 0);
	assert_int_equal(cst->malformed, 8);
	assert_int_equal(cst->commands, 21);
	assert_int_equal(cst->ok + cst->err, 21);
	/* the guest was interrupted on the controlq index */
	assert_true(e->kicks[8] >= 1);
	env_free(e);
}

static void test_create_checks(void **state)
{
	struct vsw_vnet_config cfg = {.max_qp = 2};
	struct vsw_vnet *vn;

	(void)state;
	/* more than one pair needs MQ */
	assert_int_equal(vsw_vnet_create(&cfg, &vn), -EINVAL);
	cfg.max_qp = 0;
	assert_int_equal(vsw_vnet_create(&cfg, &vn), -EINVAL);
	cfg.max_qp = VSW_VNET_MAX_QP + 1;
	cfg.features = F(VIRTIO_NET_F_MQ);
	assert_int_equal(vsw_vnet_create(&cfg, &vn), -EINVAL);
	/* legacy header without VERSION_1 / MRG_RXBUF; unknown bits dropped */
	cfg.max_qp = 1;
	cfg.features = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HASH_REPORT);
	assert_int_equal(vsw_vnet_create(&cfg, &vn), 0);
	assert_int_equal(vsw_vnet_hdr_size(vn), 10);
	assert_int_equal(vsw_vnet_features(vn), F(VIRTIO_NET_F_CSUM));
	assert_int_equal(vsw_vnet_announce(vn), -ENOTSUP);
	assert_int_equal(vsw_vnet_queue_attach(vn, 2, (void *)1, 8, -1),
			 -EINVAL);
	vsw_vnet_destroy(vn);
	cfg.features = F(VIRTIO_NET_F_MRG_RXBUF);
	assert_int_equal(vsw_vnet_create(&cfg, &vn), 0);
	assert_int_equal(vsw_vnet_hdr_size(vn), 12);
	vsw_vnet_destroy(vn);
}

#define BOTH(t)                                                                \
	cmocka_unit_test_prestate(t, &SPLIT),                                  \
		cmocka_unit_test_prestate(t, &PACKED)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_checks),
		BOTH(test_tx_chain_shapes),
		BOTH(test_tx_bad_headers),
		BOTH(test_tx_pool_empty),
		BOTH(test_rx_no_mrg),
		BOTH(test_rx_mrg_jumbo),
		BOTH(test_rx_sw_offloads),
		BOTH(test_rx_offloads_passed),
		BOTH(test_rx_mixed_burst),
		BOTH(test_broken_queue),
		BOTH(test_ctrl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
