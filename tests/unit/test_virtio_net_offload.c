/* SPDX-License-Identifier: MIT */
/* Unit tests: software checksum and segmentation (lib/virtio-net/offload). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsw/virtio_net.h>

/* The checksum as stored in a packet, read back as big-endian bytes. */
static uint16_t csum_bytes(uint32_t partial)
{
	uint16_t c = vsw_vnet_csum_fold(partial);
	uint8_t b[2];

	memcpy(b, &c, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Reference: RFC 1071 over big-endian 16-bit words, one at a time. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_csum_known_answers(void **state)
{
	/* RFC 1071 §3 example: sum ddf2, checksum 220d */
	static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03,
				      0xf4, 0xf5, 0xf6, 0xf7};
	/* an IPv4 header whose checksum is b861 */
	static const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
				     0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
				     0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	static const uint8_t odd[] = {0x01, 0x02, 0x03};
	uint8_t buf[300];
	size_t len, a;

	(void)state;
	assert_int_equal(csum_bytes(vsw_vnet_csum_partial(rfc, 8, 0)), 0x220d);
	assert_int_equal(csum_bytes(vsw_vnet_csum_partial(ip, 20, 0)), 0xb861);
	assert_int_equal(csum_bytes(vsw_vnet_csum_partial(odd, 3, 0)), 0xfbfd);
	/* pieces at even offsets add up to the whole */
	assert_int_equal(csum_bytes(vsw_vnet_csum_partial(
				 ip + 12, 8, vsw_vnet_csum_partial(ip, 12, 0))),
			 0xb861);
	assert_int_equal(csum_bytes(vsw_vnet_csum_partial(ip, 0, 0)), 0xffff);
	/* every length and alignment against the reference */
	srand(7);
	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t)rand();
	for (a = 0; a < 8; a++)
		for (len = 0; len + a <= sizeof(buf); len += 1 + len / 8)
			assert_int_equal(csum_bytes(vsw_vnet_csum_partial(
						 buf + a, len, 0)),
					 ref_csum(buf + a, len));
	/* all ones (carries everywhere) */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(csum_bytes(vsw_vnet_csum_partial(buf, 256, 0)),
			 ref_csum(buf, 256));
}

/* ---- frame builders ---- */

#define MAC_HDR 14

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/*
 * Ethernet (+ nvlan tags) + IPv4/IPv6 + TCP (20 bytes) or UDP + payload of
 * plen pattern bytes. Returns the frame length; *l4 the L4 offset.
 */
static uint32_t build(uint8_t *f, bool v6, bool udp, unsigned nvlan,
		      uint32_t plen, uint8_t tcp_flags, uint32_t *l4)
{
	uint32_t l3, i, hl = udp ? 8 : 20, len;
	uint8_t *ip, *th;

	memset(f, 0, 200);
	for (i = 0; i < 12; i++)
		f[i] = (uint8_t)(0x10 + i);
	l3 = 12;
	for (i = 0; i < nvlan; i++) {
		put16(f + l3, i == 0 && nvlan == 2 ? 0x88a8 : 0x8100);
		put16(f + l3 + 2, (uint16_t)(100 + i));
		l3 += 4;
	}
	put16(f + l3, v6 ? 0x86dd : 0x0800);
	l3 += 2;
	ip = f + l3;
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(hl + plen));
		ip[6] = udp ? 17 : 6;
		ip[7] = 64;
		for (i = 0; i < 32; i++)
			ip[8 + i] = (uint8_t)(0xa0 + i);
		*l4 = l3 + 40;
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + hl + plen));
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = udp ? 17 : 6;
		ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
		*l4 = l3 + 20;
	}
	th = f + *l4;
	put16(th, 1000);
	put16(th + 2, 2000);
	if (udp) {
		put16(th + 4, (uint16_t)(8 + plen));
	} else {
		th[4] = 0x11, th[5] = 0x22, th[6] = 0x33, th[7] = 0x44;
		th[12] = 5 << 4;
		th[13] = tcp_flags;
		put16(th + 14, 65535);
	}
	len = *l4 + hl + plen;
	for (i = 0; i < plen; i++)
		f[*l4 + hl + i] = (uint8_t)(i * 7 + i / 251);
	return len;
}

/* The L4 checksum over pseudo header + segment verifies (folds to 0). */
static void check_l4(const uint8_t *f, uint32_t len, uint32_t l3, uint32_t l4,
		     bool v6)
{
	uint8_t ph[4] = {0, v6 ? f[l3 + 6] : f[l3 + 9], 0, 0};
	uint32_t s;

	put16(ph + 2, (uint16_t)(len - l4));
	s = vsw_vnet_csum_partial(v6 ? f + l3 + 8 : f + l3 + 12, v6 ? 32 : 8,
				  0);
	s = vsw_vnet_csum_partial(ph, 4, s);
	assert_int_equal(
		vsw_vnet_csum_fold(vsw_vnet_csum_partial(f + l4, len - l4, s)),
		0);
}

static void test_csum_apply(void **state)
{
	uint8_t f[2048], ph[4] = {0, 17, 0, 0};
	uint32_t l4, len = build(f, false, true, 0, 333, 0, &l4);
	uint16_t pseudo;

	(void)state;
	/* the driver leaves the folded pseudo-header sum in the field */
	put16(ph + 2, (uint16_t)(len - l4));
	pseudo = (uint16_t)~vsw_vnet_csum_fold(vsw_vnet_csum_partial(
		ph, 4, vsw_vnet_csum_partial(f + MAC_HDR + 12, 8, 0)));
	memcpy(f + l4 + 6, &pseudo, 2);
	assert_int_equal(vsw_vnet_csum_apply(f, len, (uint16_t)l4, 6), 0);
	check_l4(f, len, MAC_HDR, l4, false);
	assert_int_not_equal(get16(f + l4 + 6), 0);
	/* the field must lie inside the frame */
	assert_int_equal(vsw_vnet_csum_apply(f, len, (uint16_t)(len - 1), 0),
			 -EINVAL);
	assert_int_equal(vsw_vnet_csum_apply(f, len, (uint16_t)l4,
					     (uint16_t)(len - l4 - 1)),
			 -EINVAL);
	assert_int_equal(vsw_vnet_csum_apply(f, len, (uint16_t)l4,
					     (uint16_t)(len - l4 - 2)),
			 0);
}

struct gso_case {
	bool v6, udp;
	unsigned nvlan;
	uint32_t plen, mss;
	uint8_t flags;
};

static void run_gso(const struct gso_case *gc)
{
	static uint8_t f[70000], seg[70000], re[70000];
	struct virtio_net_hdr_v1 h = {0};
	struct vsw_vnet_gso g;
	uint32_t l4, len, l3, hl, slen, got = 0, n = 0, expect_n;
	uint32_t seq0 = 0x11223344;

	len = build(f, gc->v6, gc->udp, gc->nvlan, gc->plen, gc->flags, &l4);
	l3 = MAC_HDR + 4 * gc->nvlan;
	hl = gc->udp ? 8 : 20;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = gc->udp  ? VIRTIO_NET_HDR_GSO_UDP_L4
		     : gc->v6 ? VIRTIO_NET_HDR_GSO_TCPV6
			      : VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = (uint16_t)gc->mss;
	h.csum_start = (uint16_t)l4;
	h.csum_offset = gc->udp ? 6 : 16;
	h.hdr_len = (uint16_t)(l4 + hl);
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), 0);
	assert_int_equal(g.hdr_len, l4 + hl);
	expect_n = gc->plen == 0 ? 1 : (gc->plen + gc->mss - 1) / gc->mss;
	while ((slen = vsw_vnet_gso_next(&g, seg)) > 0) {
		uint32_t pl = slen - l4 - hl;
		bool first = n == 0, last = n + 1 == expect_n;

		assert_true(pl <= gc->mss);
		/* L2 and addresses unchanged */
		assert_memory_equal(seg, f, l3);
		if (gc->v6) {
			assert_int_equal(get16(seg + l3 + 4), slen - l3 - 40);
		} else {
			assert_int_equal(get16(seg + l3 + 2), slen - l3);
			assert_int_equal(get16(seg + l3 + 4), 0x1234 + n);
			assert_int_equal(
				vsw_vnet_csum_fold(
					vsw_vnet_csum_partial(seg + l3, 20, 0)),
				0);
		}
		if (gc->udp) {
			assert_int_equal(get16(seg + l4 + 4), slen - l4);
		} else {
			uint8_t fl = seg[l4 + 13];

			assert_int_equal(get32(seg + l4 + 4), seq0 + got);
			assert_int_equal(!!(fl & 0x80),
					 first && (gc->flags & 0x80));
			assert_int_equal(!!(fl & 0x01),
					 last && (gc->flags & 0x01));
			assert_int_equal(!!(fl & 0x08),
					 last && (gc->flags & 0x08));
			assert_int_equal(fl & 0x10, gc->flags & 0x10);
		}
		check_l4(seg, slen, l3, l4, gc->v6);
		memcpy(re + got, seg + l4 + hl, pl);
		got += pl;
		n++;
	}
	assert_int_equal(n, expect_n);
	assert_int_equal(got, gc->plen);
	/* the byte stream reassembles to the original payload */
	assert_memory_equal(re, f + l4 + hl, gc->plen);
	assert_int_equal(vsw_vnet_gso_next(&g, seg), 0);
}

static void test_gso_tcp4(void **state)
{
	struct gso_case c = {
		.plen = 5000, .mss = 1448, .flags = 0x80 | 0x10 | 0x08 | 0x01};

	(void)state;
	run_gso(&c);
	c.plen = 65000; /* a full 64 KiB TSO frame */
	c.mss = 1460;
	run_gso(&c);
	c.plen = 1000; /* fits one segment: still finished */
	run_gso(&c);
	c.plen = 0;
	run_gso(&c);
	c.plen = 2896; /* exact multiple */
	c.mss = 1448;
	run_gso(&c);
}

static void test_gso_tcp6_vlan(void **state)
{
	struct gso_case c = {.v6 = true,
			     .nvlan = 1,
			     .plen = 9000,
			     .mss = 1000,
			     .flags = 0x10 | 0x08};

	(void)state;
	run_gso(&c);
	c.nvlan = 2;
	c.flags = 0x80 | 0x10;
	run_gso(&c);
}

static void test_gso_udp(void **state)
{
	struct gso_case c = {.udp = true, .plen = 3001, .mss = 1000};

	(void)state;
	run_gso(&c);
	c.v6 = true;
	run_gso(&c);
}

static void test_gso_invalid(void **state)
{
	static uint8_t f[4096];
	struct virtio_net_hdr_v1 h = {0};
	struct vsw_vnet_gso g;
	uint32_t l4, len = build(f, false, false, 0, 3000, 0x10, &l4);

	(void)state;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1000;
	h.csum_start = (uint16_t)l4;
	h.csum_offset = 16;
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), 0);
	h.gso_size = 0;
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	h.gso_size = 1000;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* IPv4 frame */
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* UFO: never done */
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4; /* TCP frame */
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.csum_start = (uint16_t)(l4 + 2);
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	h.csum_start = (uint16_t)l4;
	/* truncated inside the TCP header */
	assert_int_equal(vsw_vnet_gso_init(&g, f, l4 + 10, &h), -EINVAL);
	/* a fragment */
	f[MAC_HDR + 6] |= 0x20;
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	f[MAC_HDR + 6] &= (uint8_t)~0x20;
	/* data offset below 5 words */
	f[l4 + 12] = 4 << 4;
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	f[l4 + 12] = 5 << 4;
	/* not IP */
	put16(f + 12, 0x0806);
	assert_int_equal(vsw_vnet_gso_init(&g, f, len, &h), -EINVAL);
	assert_int_equal(vsw_vnet_gso_init(&g, f, 10, &h), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_known_answers),
		cmocka_unit_test(test_csum_apply),
		cmocka_unit_test(test_gso_tcp4),
		cmocka_unit_test(test_gso_tcp6_vlan),
		cmocka_unit_test(test_gso_udp),
		cmocka_unit_test(test_gso_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
