/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the packet parsers a guest or a wire frame reaches —
 * the flow key parser (Ethernet, up to two VLAN tags, ARP, IPv4 with
 * options and fragments, IPv6, TCP / UDP / ICMP ports), the virtio-net
 * offload fix-ups (checksum completion, software TSO / USO segmentation)
 * and the packet edits a flow rule applies (VLAN push / pop / rewrite, MAC
 * and IPv4 rewrites with their incremental checksum updates).
 *
 * Input format (little-endian):
 *   [0..9]  a struct virtio_net_hdr_v1 as a driver writes it: flags,
 *           gso_type, hdr_len, gso_size, csum_start, csum_offset
 *   [10]    in_port (low byte)
 *   [11]    edits: bits 0-3 how many edit actions follow the frame
 *   [12..]  the frame, up to the edit actions: the last 8 * n bytes are
 *           the actions: type (modulo VSW_FLOW_ACT__COUNT), arg16 at [1..2],
 *           the MAC / IPv4 address at [2..7] (sharing arg's high byte)
 *
 * Invariants, checked with abort():
 *   - the key parser is deterministic and the returned hash is
 *     vsw_flow_key_hash() of the key; it reads nothing outside the frame
 *     (the frame is copied into a buffer of exactly its size, ASan checks);
 *   - csum_apply refuses exactly the fields not inside the frame and
 *     changes no byte but the two of the field;
 *   - a frame gso_init accepts is cut into segments of at most hdr_len + mss
 *     bytes whose payloads add up to the frame's payload, each carrying the
 *     frame's headers, with a valid IPv4 header checksum and a valid L4
 *     checksum over the pseudo-header;
 *   - an edit returns 0, -ENOSPC or -EINVAL and keeps the frame inside its
 *     buffer, and the frame still parses afterwards.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include <vsw/flow.h>
#include <vsw/pkt.h>
#include <vsw/virtio_net.h>

#define FZ_HDR 12
#define FZ_ACT 8
#define FZ_MAX_SEGS 70000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t fz_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint16_t fz_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void fz_key(const uint8_t *frame, uint32_t len, uint16_t in_port,
		   struct vsw_flow_key *key)
{
	struct vsw_flow_key again;
	uint8_t *copy = malloc(len ? len : 1);
	uint32_t h;

	if (copy == NULL)
		abort();
	memcpy(copy, frame, len);
	h = vsw_flow_key_extract(copy, len, in_port, key);
	if (h != vsw_flow_key_hash(key))
		abort();
	vsw_flow_key_parse(copy, len, in_port, &again);
	if (!vsw_flow_key_eq(key, &again) || key->in_port != in_port)
		abort();
	free(copy);
}

static void fz_csum(const uint8_t *frame, uint32_t len,
		    const struct virtio_net_hdr_v1 *h)
{
	uint8_t *copy = malloc(len ? len : 1);
	uint32_t i, field = (uint32_t)h->csum_start + h->csum_offset;
	int ret;

	if (copy == NULL)
		abort();
	memcpy(copy, frame, len);
	ret = vsw_vnet_csum_apply(copy, len, h->csum_start, h->csum_offset);
	if ((ret == 0) != (field + 2 <= len))
		abort();
	for (i = 0; i < len; i++)
		if ((ret != 0 || i < field || i >= field + 2) &&
		    copy[i] != frame[i])
			abort();
	free(copy);
}

/* The ones' complement sum of a segment's IPv4 header / L4 part is 0. */
static void fz_seg_check(const struct vsw_vnet_gso *g, const uint8_t *seg,
			 uint32_t slen)
{
	uint32_t l4len = slen - g->l4_off, sum;
	uint8_t ph[4];

	if (!g->ipv6) {
		const uint8_t *ip = seg + g->l3_off;

		if (vsw_vnet_csum_fold(vsw_vnet_csum_partial(
			    ip, (ip[0] & 0xfu) * 4u, 0)) != 0)
			abort();
		if (fz_be16(ip + 2) != slen - g->l3_off)
			abort();
		sum = vsw_vnet_csum_partial(ip + 12, 8, 0);
		ph[1] = ip[9];
	} else {
		const uint8_t *ip = seg + g->l3_off;

		if (fz_be16(ip + 4) != slen - g->l3_off - 40)
			abort();
		sum = vsw_vnet_csum_partial(ip + 8, 32, 0);
		ph[1] = ip[6];
	}
	ph[0] = 0;
	ph[2] = (uint8_t)(l4len >> 8);
	ph[3] = (uint8_t)l4len;
	sum = vsw_vnet_csum_partial(ph, 4, sum);
	if (vsw_vnet_csum_fold(vsw_vnet_csum_partial(seg + g->l4_off, l4len,
						     sum)) != 0)
		abort();
}

static void fz_gso(const uint8_t *frame, uint32_t len,
		   const struct virtio_net_hdr_v1 *h)
{
	struct vsw_vnet_gso g;
	uint8_t *copy, *out;
	uint32_t slen, payload = 0, n = 0;

	copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, frame, len);
	if (vsw_vnet_gso_init(&g, copy, len, h) != 0) {
		free(copy);
		return;
	}
	if (g.hdr_len > len || g.l4_off >= g.hdr_len || g.l3_off >= g.l4_off ||
	    g.mss == 0)
		abort();
	/* exactly the room the API asks for, so ASan sees an overrun */
	out = malloc(g.hdr_len + g.mss);
	if (out == NULL)
		abort();
	while ((slen = vsw_vnet_gso_next(&g, out)) > 0) {
		if (slen > g.hdr_len + g.mss || slen < g.hdr_len ||
		    ++n > FZ_MAX_SEGS)
			abort();
		payload += slen - g.hdr_len;
		/* the payload is the frame's, in order */
		if (memcmp(out + g.hdr_len, copy + g.hdr_len + payload -
						    (slen - g.hdr_len),
			   slen - g.hdr_len) != 0)
			abort();
		/* L2 headers are copied unchanged */
		if (memcmp(out, copy, g.l3_off) != 0)
			abort();
		fz_seg_check(&g, out, slen);
	}
	if (payload != len - g.hdr_len)
		abort();
	free(out);
	free(copy);
}

static void fz_edits(const uint8_t *frame, uint32_t len,
		     const struct virtio_net_hdr_v1 *h, uint16_t in_port,
		     const uint8_t *acts, unsigned nacts)
{
	struct vsw_pkt_pool_config pc = {.n_small = 1, .n_large = 1};
	struct vsw_pkt_pool *pool;
	struct vsw_flow_key key;
	struct vsw_pkt *pkt;
	unsigned i;

	if (vsw_pkt_pool_create(&pc, &pool) != 0)
		abort();
	pkt = vsw_pkt_alloc_len(pool, len);
	if (pkt == NULL)
		abort();
	memcpy(vsw_pkt_data(pkt), frame, len);
	pkt->len = len;
	pkt->vnet = *h;
	for (i = 0; i < nacts; i++) {
		const uint8_t *p = acts + i * FZ_ACT;
		struct vsw_flow_act a;
		int ret;

		memset(&a, 0, sizeof(a));
		a.type = p[0] % VSW_FLOW_ACT__COUNT;
		a.arg = fz_rd16(p + 1);
		if (a.type == VSW_FLOW_ACT_SET_VLAN_VID)
			a.arg &= 0xfff;
		else if (a.type == VSW_FLOW_ACT_SET_VLAN_PCP)
			a.arg &= 7;
		memcpy(a.mac, p + 2, 6);
		ret = vsw_flow_act_edit(pkt, &a);
		if (ret != 0 && ret != -ENOSPC && ret != -EINVAL)
			abort();
		if ((uint64_t)pkt->off + pkt->len > pkt->buf_len)
			abort();
		fz_key(vsw_pkt_data(pkt), pkt->len, in_port, &key);
	}
	vsw_pkt_free(pkt);
	vsw_pkt_pool_destroy(pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr_v1 h;
	struct vsw_flow_key key;
	const uint8_t *frame;
	uint32_t len;
	unsigned nacts;
	uint16_t in_port;

	if (size < FZ_HDR || size > FZ_HDR + VSW_PKT_MAX_LEN)
		return 0;
	memset(&h, 0, sizeof(h));
	h.flags = data[0];
	h.gso_type = data[1];
	h.hdr_len = fz_rd16(data + 2);
	h.gso_size = fz_rd16(data + 4);
	h.csum_start = fz_rd16(data + 6);
	h.csum_offset = fz_rd16(data + 8);
	in_port = data[10];
	nacts = data[11] & 0xfu;
	frame = data + FZ_HDR;
	len = (uint32_t)(size - FZ_HDR);
	if ((size_t)nacts * FZ_ACT > len)
		nacts = len / FZ_ACT;
	len -= nacts * FZ_ACT;

	fz_key(frame, len, in_port, &key);
	fz_csum(frame, len, &h);
	fz_gso(frame, len, &h);
	fz_edits(frame, len, &h, in_port, frame + len, nacts);
	return 0;
}
