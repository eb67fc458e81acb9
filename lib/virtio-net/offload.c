/* SPDX-License-Identifier: MIT */
/*
 * Offloads done in software when the receiving guest did not negotiate them:
 * the Internet checksum (RFC 1071) and TCP / UDP segmentation of GSO frames.
 *
 * Input: frames that already sit in private memory (a vsw_pkt): the guest can
 * no longer change them. Every offset read from a frame or a virtio header is
 * checked against the frame length before use.
 */
#include <errno.h>
#include <string.h>

#include <vsw/virtio_net.h>

#include "vsw_compiler.h"

#define ETH_HLEN_ 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static inline uint16_t rd16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t vsw_vnet_csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	/*
	 * 64-bit words with end-around carry: the ones' complement sum is the
	 * same at any word width once folded (RFC 1071 §2(C)).
	 */
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		acc += v;
		acc += acc < v;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		acc += v;
		acc += acc < v;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		acc += v;
		acc += acc < v;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* the odd byte is the first byte of a zero-padded word */
		uint8_t b[2] = {p[0], 0};
		uint16_t v;

		memcpy(&v, b, 2);
		acc += v;
		acc += acc < v;
	}
	acc = (acc & 0xffffffffULL) + (acc >> 32);
	acc = (acc & 0xffffffffULL) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t vsw_vnet_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int vsw_vnet_csum_apply(uint8_t *frame, uint32_t len, uint16_t start,
			uint16_t offset)
{
	uint16_t c;

	if ((uint32_t)start + offset + 2 > len)
		return -EINVAL;
	c = vsw_vnet_csum_fold(
		vsw_vnet_csum_partial(frame + start, len - start, 0));
	/*
	 * 0 and 0xffff are the same ones' complement value; UDP reserves 0
	 * for "no checksum", so always store the other one.
	 */
	if (c == 0)
		c = 0xffff;
	memcpy(frame + start + offset, &c, 2);
	return 0;
}

int vsw_vnet_gso_init(struct vsw_vnet_gso *g, const uint8_t *frame,
		      uint32_t len, const struct virtio_net_hdr_v1 *h)
{
	uint32_t l3, l4, hdr, seg_l3_max;
	uint16_t et;
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint8_t proto;
	bool ipv6;
	unsigned i;

	if (type != VIRTIO_NET_HDR_GSO_TCPV4 &&
	    type != VIRTIO_NET_HDR_GSO_TCPV6 &&
	    type != VIRTIO_NET_HDR_GSO_UDP_L4)
		return -EINVAL;
	if (h->gso_size == 0 || len < ETH_HLEN_)
		return -EINVAL;
	et = rd16be(frame + 12);
	l3 = ETH_HLEN_;
	for (i = 0; i < 2 && (et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ);
	     i++) {
		if (len < l3 + 4)
			return -EINVAL;
		et = rd16be(frame + l3 + 2);
		l3 += 4;
	}
	if (et == ETHERTYPE_IPV4) {
		uint32_t ihl;

		if (type == VIRTIO_NET_HDR_GSO_TCPV6 || len < l3 + 20 ||
		    frame[l3] >> 4 != 4)
			return -EINVAL;
		ihl = (frame[l3] & 0xfu) * 4;
		/* no fragment offset, no MF: a fragment cannot be resegmented */
		if (ihl < 20 || len < l3 + ihl ||
		    (rd16be(frame + l3 + 6) & 0x3fff) != 0)
			return -EINVAL;
		proto = frame[l3 + 9];
		l4 = l3 + ihl;
		ipv6 = false;
	} else if (et == ETHERTYPE_IPV6) {
		if (type == VIRTIO_NET_HDR_GSO_TCPV4 || len < l3 + 40 ||
		    frame[l3] >> 4 != 6)
			return -EINVAL;
		proto = frame[l3 + 6];
		l4 = l3 + 40;
		ipv6 = true;
	} else {
		return -EINVAL;
	}
	if (type == VIRTIO_NET_HDR_GSO_UDP_L4) {
		if (proto != IPPROTO_UDP_ || len < l4 + 8)
			return -EINVAL;
		hdr = l4 + 8;
	} else {
		uint32_t doff;

		if (proto != IPPROTO_TCP_ || len < l4 + 20)
			return -EINVAL;
		doff = (uint32_t)(frame[l4 + 12] >> 4) * 4;
		if (doff < 20 || len < l4 + doff)
			return -EINVAL;
		hdr = l4 + doff;
	}
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h->csum_start != l4)
		return -EINVAL;
	/* every segment's IP length field must fit 16 bits */
	seg_l3_max =
		hdr - l3 + (h->gso_size < len - hdr ? h->gso_size : len - hdr);
	if (seg_l3_max - (ipv6 ? 40 : 0) > 0xffff)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->frame = frame;
	g->len = len;
	g->l3_off = l3;
	g->l4_off = l4;
	g->hdr_len = hdr;
	g->mss = h->gso_size;
	g->pos = hdr;
	g->type = type;
	g->ipv6 = ipv6;
	if (type != VIRTIO_NET_HDR_GSO_UDP_L4)
		g->seq = rd32be(frame + l4 + 4);
	if (!ipv6)
		g->ip_id = rd16be(frame + l3 + 4);
	return 0;
}

uint32_t vsw_vnet_gso_next(struct vsw_vnet_gso *g, uint8_t *out)
{
	uint32_t l3 = g->l3_off, l4 = g->l4_off, plen, seg, l4len;
	uint8_t ph[4], *ip = out + l3, *th = out + l4, proto;
	uint32_t sum;
	uint16_t c;
	bool first = g->nseg == 0, last;

	if (g->nseg > 0 && g->pos >= g->len)
		return 0;
	plen = g->len - g->pos;
	if (plen > g->mss)
		plen = g->mss;
	last = g->pos + plen >= g->len;
	memcpy(out, g->frame, g->hdr_len);
	memcpy(out + g->hdr_len, g->frame + g->pos, plen);
	seg = g->hdr_len + plen;
	l4len = seg - l4;

	if (g->ipv6) {
		wr16be(ip + 4, (uint16_t)(seg - l3 - 40));
		proto = ip[6];
		sum = vsw_vnet_csum_partial(ip + 8, 32, 0);
	} else {
		uint32_t ihl = (ip[0] & 0xfu) * 4;

		wr16be(ip + 2, (uint16_t)(seg - l3));
		wr16be(ip + 4, (uint16_t)(g->ip_id + g->nseg));
		memset(ip + 10, 0, 2);
		c = vsw_vnet_csum_fold(vsw_vnet_csum_partial(ip, ihl, 0));
		memcpy(ip + 10, &c, 2);
		proto = ip[9];
		sum = vsw_vnet_csum_partial(ip + 12, 8, 0);
	}
	/* pseudo-header tail: zero, protocol, L4 length (< 64 KiB) */
	ph[0] = 0;
	ph[1] = proto;
	wr16be(ph + 2, (uint16_t)l4len);
	sum = vsw_vnet_csum_partial(ph, 4, sum);

	if (g->type == VIRTIO_NET_HDR_GSO_UDP_L4) {
		wr16be(th + 4, (uint16_t)l4len);
		memset(th + 6, 0, 2);
		c = vsw_vnet_csum_fold(vsw_vnet_csum_partial(th, l4len, sum));
		if (c == 0)
			c = 0xffff;
		memcpy(th + 6, &c, 2);
	} else {
		wr32be(th + 4, g->seq);
		if (!first)
			th[13] &= (uint8_t)~TCP_CWR;
		if (!last)
			th[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		memset(th + 16, 0, 2);
		c = vsw_vnet_csum_fold(vsw_vnet_csum_partial(th, l4len, sum));
		memcpy(th + 16, &c, 2);
	}
	g->seq += plen;
	g->pos += plen;
	g->nseg++;
	return seg;
}
