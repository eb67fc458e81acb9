/* SPDX-License-Identifier: MIT */
/*
 * Flow keys and matches: extraction in one pass over a frame's L2-L4
 * headers, the key hash, a match against a key, one match within another.
 *
 * Security model: the frame comes from a guest or the network. Every read
 * is bounds-checked against len before it happens; a truncated or odd
 * header stops the parse with the fields found so far (the rest stay
 * zero), it never fails and never reads past len. IPv6 extension headers
 * are followed at most FLOW_V6_EXT_MAX deep, so a crafted chain costs a
 * bounded amount of work.
 */
#include <stddef.h>
#include <string.h>

#include "flow_priv.h"

#define ETH_P_IP_ 0x0800
#define ETH_P_ARP_ 0x0806
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define ETH_P_IPV6_ 0x86dd
#define FLOW_V6_EXT_MAX 4

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static void flow_l4(const uint8_t *p, uint32_t left, uint8_t proto,
		    struct vsw_flow_key *key)
{
	switch (proto) {
	case 6:	  /* TCP */
	case 17:  /* UDP */
	case 132: /* SCTP */
		if (left >= 4) {
			key->tp_src = rd16(p);
			key->tp_dst = rd16(p + 2);
		}
		break;
	case 1:	 /* ICMP */
	case 58: /* ICMPv6 */
		if (left >= 2) {
			key->tp_src = p[0];
			key->tp_dst = p[1];
		}
		break;
	default:
		break;
	}
}

static void flow_ipv4(const uint8_t *p, uint32_t left, struct vsw_flow_key *key)
{
	unsigned ihl;

	if (left < 20 || (p[0] >> 4) != 4)
		return;
	ihl = (p[0] & 0xfu) * 4u;
	if (ihl < 20 || ihl > left)
		return;
	key->nw_tos = p[1] & 0xfc;
	key->nw_proto = p[9];
	memcpy(key->nw_src, p + 12, 4);
	memcpy(key->nw_dst, p + 16, 4);
	/* only the first fragment carries the L4 header */
	if ((rd16(p + 6) & 0x1fff) != 0)
		return;
	flow_l4(p + ihl, left - ihl, p[9], key);
}

static void flow_ipv6(const uint8_t *p, uint32_t left, struct vsw_flow_key *key)
{
	uint8_t nh;
	unsigned i;

	if (left < 40 || (p[0] >> 4) != 6)
		return;
	key->nw_tos = (uint8_t)(((p[0] << 4) | (p[1] >> 4)) & 0xfc);
	memcpy(key->nw_src, p + 8, 16);
	memcpy(key->nw_dst, p + 24, 16);
	nh = p[6];
	p += 40;
	left -= 40;
	for (i = 0; i < FLOW_V6_EXT_MAX; i++) {
		uint32_t hl;

		if (nh == 0 || nh == 43 || nh == 60) {
			/* hop-by-hop, routing, destination options */
			if (left < 8)
				break;
			hl = ((uint32_t)p[1] + 1) * 8;
		} else if (nh == 44) {
			/* fragment: only the first has the L4 header */
			if (left < 8)
				break;
			if ((rd16(p + 2) & 0xfff8) != 0) {
				key->nw_proto = p[0];
				return;
			}
			hl = 8;
		} else {
			break;
		}
		if (hl > left)
			break;
		nh = p[0];
		p += hl;
		left -= hl;
	}
	key->nw_proto = nh;
	flow_l4(p, left, nh, key);
}

static void flow_arp(const uint8_t *p, uint32_t left, struct vsw_flow_key *key)
{
	/* Ethernet / IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4 */
	if (left < 28 || rd16(p) != 1 || rd16(p + 2) != ETH_P_IP_ ||
	    p[4] != 6 || p[5] != 4)
		return;
	if (rd16(p + 6) <= 0xff)
		key->nw_proto = p[7];
	memcpy(key->nw_src, p + 14, 4);
	memcpy(key->nw_dst, p + 24, 4);
}

void vsw_flow_key_parse(const uint8_t *d, uint32_t len, uint16_t in_port,
			struct vsw_flow_key *key)
{
	uint32_t off = 12;
	uint16_t type;

	/* the words and the extension pointer: 80 + 8 bytes */
	memset(key->w, 0, sizeof(key->w));
	key->tun_ext = NULL;
	key->in_port = in_port;
	if (vsw_unlikely(len < 14))
		goto out;
	memcpy(key->dl_dst, d, 6);
	memcpy(key->dl_src, d + 6, 6);
	type = rd16(d + 12);
	if (type == ETH_P_8021Q_ || type == ETH_P_8021AD_) {
		if (vsw_unlikely(len < 18))
			goto out;
		key->vlan_tci = rd16(d + 14) | VSW_FLOW_TCI_PRESENT;
		off = 16;
		type = rd16(d + 16);
		/* an inner tag of a QinQ frame stays in the payload */
	}
	off += 2;
	if (type < 0x600) {
		/* 802.3 length field: OVS's dl_type for non-Ethernet-II */
		type = 0x05ff;
	}
	key->dl_type = type;
	if (type == ETH_P_IP_)
		flow_ipv4(d + off, len - off, key);
	else if (type == ETH_P_IPV6_)
		flow_ipv6(d + off, len - off, key);
	else if (type == ETH_P_ARP_)
		flow_arp(d + off, len - off, key);
out:
	return;
}

uint32_t vsw_flow_key_extract(const uint8_t *d, uint32_t len, uint16_t in_port,
			      struct vsw_flow_key *key)
{
	vsw_flow_key_parse(d, len, in_port, key);
	return vsw_flow_key_hash(key);
}

uint32_t vsw_flow_key_hash(const struct vsw_flow_key *key)
{
	/* two independent lanes: half the multiply latency chain */
	uint64_t a = 0x5bd1e9955bd1e995ULL, b = 0x27d4eb2f165667c5ULL;
	uint64_t t7 = key->w[7], t8 = key->w[8], t9 = key->w[9];

	_Static_assert(VSW_FLOW_KEY_WORDS == 10, "lanes below cover 10 words");
	_Static_assert(offsetof(struct vsw_flow_key, tun_id) ==
			       VSW_FLOW_KEY_TUN_WORD * 8,
		       "the tunnel words follow the packet's fields");
	a = flow_mix(a, key->w[0]);
	b = flow_mix(b, key->w[1]);
	a = flow_mix(a, key->w[2]);
	b = flow_mix(b, key->w[3]);
	a = flow_mix(a, key->w[4]);
	b = flow_mix(b, key->w[5]);
	a = flow_mix(a, key->w[6]);
	/*
	 * The tunnel words are zero for every frame that did not come out of
	 * a tunnel: one test instead of three more rounds for those.
	 */
	if (vsw_unlikely((t7 | t8 | t9) != 0)) {
		b = flow_mix(b, t7);
		a = flow_mix(a, t8);
		b = flow_mix(b, t9);
	}
	return flow_fin(a ^ (b << 31 | b >> 33));
}

uint64_t vsw_flow_tun_ext_token(const struct vsw_pkt_tun_ext *e)
{
	uint64_t a = 0x2545f4914f6cdd1dULL, b = 0x9e6c63d0676a9a99ULL;
	unsigned i;

	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i += 2) {
		a = flow_mix(a, e->w[i]);
		b = flow_mix(b, e->w[i + 1]);
	}
	return (a ^ (b << 29 | b >> 35)) | 1;
}

static const struct vsw_pkt_tun_ext flow_ext_zero;

const struct vsw_pkt_tun_ext *flow_key_ext(const struct vsw_flow_key *key)
{
	return key->tun_ext != NULL ? key->tun_ext : &flow_ext_zero;
}

bool flow_ext_masked(const struct vsw_flow_match *m)
{
	uint64_t any = 0;
	unsigned i;

	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		any |= m->ext_mask.w[i];
	return any != 0;
}

bool vsw_flow_match_key(const struct vsw_flow_match *m,
			const struct vsw_flow_key *key)
{
	const struct vsw_pkt_tun_ext *e;
	uint64_t diff = 0;
	unsigned i;

	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		diff |= (key->w[i] & m->mask.w[i]) ^ m->key.w[i];
	if (diff != 0)
		return false;
	/* the token is never in a mask: the extension itself is compared */
	e = flow_key_ext(key);
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		diff |= (e->w[i] & m->ext_mask.w[i]) ^ m->ext.w[i];
	return diff == 0;
}

bool flow_mask_is_subset(const struct vsw_flow_match *narrow,
			 const struct vsw_flow_match *wide)
{
	unsigned i;

	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++) {
		uint64_t wm = wide->mask.w[i];

		if ((narrow->mask.w[i] & wm) != wm)
			return false;
		if ((narrow->key.w[i] & wm) != wide->key.w[i])
			return false;
	}
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++) {
		uint64_t wm = wide->ext_mask.w[i];

		if ((narrow->ext_mask.w[i] & wm) != wm)
			return false;
		if ((narrow->ext.w[i] & wm) != wide->ext.w[i])
			return false;
	}
	return true;
}

bool flow_match_overlap(const struct vsw_flow_match *a,
			const struct vsw_flow_match *b)
{
	unsigned i;

	/* a bit both care about must agree; any other bit can be chosen */
	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		if ((a->key.w[i] ^ b->key.w[i]) & a->mask.w[i] & b->mask.w[i])
			return false;
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		if ((a->ext.w[i] ^ b->ext.w[i]) & a->ext_mask.w[i] &
		    b->ext_mask.w[i])
			return false;
	return true;
}

_Static_assert(offsetof(struct vsw_flow_key, tun_ext) ==
		       VSW_FLOW_KEY_WORDS * 8,
	       "the named fields must fill the key words exactly");
