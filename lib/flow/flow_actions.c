/* SPDX-License-Identifier: MIT */
/*
 * Packet edits of flow actions: VLAN push / modify / pop, MAC and IPv4
 * address rewrites with incremental checksum updates (RFC 1624).
 *
 * Security model: the frame is peer input. Each edit re-checks the header
 * lengths it touches against pkt->len and does nothing to a frame too
 * short for it (a rewrite of a header that is not there is a no-op, as in
 * Open vSwitch).
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "flow_priv.h"

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define ETH_P_IP_ 0x0800
#define VLAN_HLEN_ 4

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool is_tagged(const uint8_t *d, uint32_t len)
{
	uint16_t tpid;

	if (len < 14 + VLAN_HLEN_)
		return false;
	tpid = rd16(d + 12);
	return tpid == ETH_P_8021Q_ || tpid == ETH_P_8021AD_;
}

/* Keep the virtio offload offsets pointing at the same headers. */
static void vnet_shift(struct vsw_pkt *pkt, int delta)
{
	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		pkt->vnet.csum_start = (uint16_t)(pkt->vnet.csum_start + delta);
	if (pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    pkt->vnet.hdr_len != 0)
		pkt->vnet.hdr_len = (uint16_t)(pkt->vnet.hdr_len + delta);
}

static int vlan_push(struct vsw_pkt *pkt, uint16_t tci)
{
	uint8_t *d;

	if (pkt->len < 14)
		return 0;
	d = vsw_pkt_prepend(pkt, VLAN_HLEN_);
	if (d == NULL)
		return -ENOSPC;
	memmove(d, d + VLAN_HLEN_, 12);
	wr16(d + 12, ETH_P_8021Q_);
	wr16(d + 14, tci);
	vnet_shift(pkt, VLAN_HLEN_);
	return 0;
}

static void vlan_pop(struct vsw_pkt *pkt)
{
	uint8_t *d = vsw_pkt_data(pkt);

	memmove(d + VLAN_HLEN_, d, 12);
	vsw_pkt_adj(pkt, VLAN_HLEN_);
	vnet_shift(pkt, -VLAN_HLEN_);
}

static uint16_t csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * A checksum field covering a 32-bit value that changes from old to new.
 * complemented: a final Internet checksum (~sum); else a partial sum
 * (what a NEEDS_CSUM packet carries in the L4 field).
 */
static uint16_t csum_replace4(uint16_t field, const uint8_t *old,
			      const uint8_t *new, bool complemented)
{
	uint32_t s = complemented ? (uint16_t)~field : field;

	s += (uint16_t)~rd16(old);
	s += (uint16_t)~rd16(old + 2);
	s += rd16(new);
	s += rd16(new + 2);
	s = csum_fold(s);
	return complemented ? (uint16_t)~s : (uint16_t)s;
}

static void set_nw(struct vsw_pkt *pkt, const uint8_t *addr, bool src)
{
	uint8_t *d = vsw_pkt_data(pkt), *ip, *l4, *field;
	uint32_t len = pkt->len, l3 = 14, ihl, l4off;
	uint8_t old[4];
	uint16_t csum;
	bool partial;

	if (is_tagged(d, len))
		l3 += VLAN_HLEN_;
	if (len < l3 + 20 || rd16(d + l3 - 2) != ETH_P_IP_)
		return;
	ip = d + l3;
	ihl = (ip[0] & 0xfu) * 4u;
	if ((ip[0] >> 4) != 4 || ihl < 20 || l3 + ihl > len)
		return;
	field = ip + (src ? 12 : 16);
	memcpy(old, field, 4);
	if (memcmp(old, addr, 4) == 0)
		return;
	memcpy(field, addr, 4);
	wr16(ip + 10, csum_replace4(rd16(ip + 10), old, addr, true));
	/* the pseudo-header of TCP / UDP covers the addresses */
	if ((rd16(ip + 6) & 0x1fff) != 0)
		return; /* not a first fragment: no L4 header here */
	l4off = l3 + ihl;
	l4 = d + l4off;
	partial = (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		  pkt->vnet.csum_start == l4off;
	if (ip[9] == 6 && len >= l4off + 18) {
		csum = rd16(l4 + 16);
		wr16(l4 + 16, csum_replace4(csum, old, addr, !partial));
	} else if (ip[9] == 17 && len >= l4off + 8) {
		csum = rd16(l4 + 6);
		if (csum == 0 && !partial)
			return; /* no UDP checksum: stays none */
		csum = csum_replace4(csum, old, addr, !partial);
		if (csum == 0 && !partial)
			csum = 0xffff; /* 0 would mean "none" */
		wr16(l4 + 6, csum);
	}
}

/*
 * Tunnel metadata for a flow-based tunnel output (vsw/pkt.h): it travels
 * with the packet, so a later output to a vxlan / geneve port with
 * remote_ip=flow or key=flow encapsulates with it.
 */
static int set_tun(struct vsw_pkt *pkt, const struct vsw_flow_act *a)
{
	struct vsw_pkt_tun *t = vsw_pkt_tun_get(pkt);

	if (t == NULL)
		return -ENOSPC;
	switch (a->type) {
	case VSW_FLOW_ACT_SET_TUN_ID:
		t->id = a->u64;
		break;
	case VSW_FLOW_ACT_SET_TUN_SRC:
		memcpy(t->src, a->ip4, 4);
		break;
	case VSW_FLOW_ACT_SET_TUN_DST:
		memcpy(t->dst, a->ip4, 4);
		break;
	case VSW_FLOW_ACT_SET_TUN_IPV6_SRC:
		memcpy(t->ext.ipv6_src, a->ip6, 16);
		break;
	case VSW_FLOW_ACT_SET_TUN_IPV6_DST:
		memcpy(t->ext.ipv6_dst, a->ip6, 16);
		break;
	default:
		if (a->arg >= VSW_PKT_TUN_META)
			return -EINVAL;
		t->ext.meta[a->arg] = a->u64;
		t->meta_set |= (uint8_t)(1u << a->arg);
		break;
	}
	return 0;
}

int vsw_flow_act_edit(struct vsw_pkt *pkt, const struct vsw_flow_act *a)
{
	uint8_t *d = vsw_pkt_data(pkt);
	bool tagged = is_tagged(d, pkt->len);

	switch (a->type) {
	case VSW_FLOW_ACT_SET_VLAN_VID:
		if (!tagged)
			return vlan_push(pkt, a->arg & 0x0fff);
		wr16(d + 14,
		     (uint16_t)((rd16(d + 14) & 0xf000) | (a->arg & 0x0fff)));
		return 0;
	case VSW_FLOW_ACT_SET_VLAN_PCP:
		if (!tagged)
			return vlan_push(pkt, (uint16_t)((a->arg & 7) << 13));
		wr16(d + 14, (uint16_t)((rd16(d + 14) & 0x1fff) |
					((a->arg & 7) << 13)));
		return 0;
	case VSW_FLOW_ACT_STRIP_VLAN:
		if (tagged)
			vlan_pop(pkt);
		return 0;
	case VSW_FLOW_ACT_SET_DL_SRC:
	case VSW_FLOW_ACT_SET_DL_DST:
		if (pkt->len >= 14)
			memcpy(d + (a->type == VSW_FLOW_ACT_SET_DL_SRC ? 6 : 0),
			       a->mac, 6);
		return 0;
	case VSW_FLOW_ACT_SET_NW_SRC:
	case VSW_FLOW_ACT_SET_NW_DST:
		set_nw(pkt, a->ip4, a->type == VSW_FLOW_ACT_SET_NW_SRC);
		return 0;
	case VSW_FLOW_ACT_SET_TUN_ID:
	case VSW_FLOW_ACT_SET_TUN_SRC:
	case VSW_FLOW_ACT_SET_TUN_DST:
	case VSW_FLOW_ACT_SET_TUN_METADATA:
	case VSW_FLOW_ACT_SET_TUN_IPV6_SRC:
	case VSW_FLOW_ACT_SET_TUN_IPV6_DST:
		return set_tun(pkt, a);
	default:
		return -EINVAL;
	}
}
