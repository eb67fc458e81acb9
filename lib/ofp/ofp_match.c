/* SPDX-License-Identifier: MIT */
/*
 * OpenFlow 1.3 matches (OXM), actions and instructions <-> vsw's flow
 * table terms (vsw/flow.h), and the FLOW_MOD decoder.
 *
 * Security model: every byte decoded here comes from a peer on a TCP or
 * Unix socket (a controller, or anyone who can reach a listener). Nothing
 * is trusted: each TLV's length is checked against what is left of its
 * container before it is read, the container lengths against the message,
 * field sizes against the field's type, prerequisites as OpenFlow 1.3
 * section 7.2.3.6 lists them, and values against what vsw's table can
 * hold. A bad message gets the OpenFlow error that names the fault and
 * changes nothing; no input reaches an assert.
 *
 * What vsw cannot do is refused, not approximated: instructions other than
 * APPLY_ACTIONS and GOTO_TABLE (to a later table), actions other than OUTPUT (to a
 * port, IN_PORT, NORMAL, FLOOD, ALL, LOCAL), POP_VLAN and SET_FIELD of
 * vlan_vid / vlan_pcp / eth_src / eth_dst / ipv4_src / ipv4_dst /
 * tunnel_id / NXM tun_ipv4_src / tun_ipv4_dst / tun_ipv6_src /
 * tun_ipv6_dst / tun_metadata0 .. 7 (the one non-basic class taken: what
 * ovs-ofctl sends for tun_src, tun_dst, tun_ipv6_*, tun_metadataN). A
 * tun_metadataN field has a variable length (1 .. 124 bytes on the wire,
 * a big-endian number, as Open vSwitch's NXM_NX_TUN_METADATAn): vsw takes
 * up to 8 significant bytes (longer ones only with leading zero bytes),
 * and sends the fewest bytes that hold the value and mask. vsw's
 * SET_VLAN_VID pushes a tag on an untagged frame and rewrites an existing
 * one, so PUSH_VLAN (which always adds one) is refused too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofp_priv.h"

#define OFPMT_OXM 1
#define OFPXMC_OPENFLOW_BASIC 0x8000

enum oxm_field {
	OXM_IN_PORT = 0,
	OXM_ETH_DST = 3,
	OXM_ETH_SRC = 4,
	OXM_ETH_TYPE = 5,
	OXM_VLAN_VID = 6,
	OXM_VLAN_PCP = 7,
	OXM_IP_DSCP = 8,
	OXM_IP_PROTO = 10,
	OXM_IPV4_SRC = 11,
	OXM_IPV4_DST = 12,
	OXM_TCP_SRC = 13,
	OXM_TCP_DST = 14,
	OXM_UDP_SRC = 15,
	OXM_UDP_DST = 16,
	OXM_SCTP_SRC = 17,
	OXM_SCTP_DST = 18,
	OXM_ICMPV4_TYPE = 19,
	OXM_ICMPV4_CODE = 20,
	OXM_ARP_OP = 21,
	OXM_ARP_SPA = 22,
	OXM_ARP_TPA = 23,
	OXM_IPV6_SRC = 26,
	OXM_IPV6_DST = 27,
	OXM_ICMPV6_TYPE = 29,
	OXM_ICMPV6_CODE = 30,
	OXM_TUNNEL_ID = 38,
	/*
	 * Open vSwitch's NXM_NX_TUN_IPV4_SRC / _DST (class 0x0001, fields
	 * 31 / 32), numbered here past the basic fields so that one index
	 * space (oxm_sizes, the seen bits) covers both classes.
	 */
	OXM_NX_TUN_IPV4_SRC = 41,
	OXM_NX_TUN_IPV4_DST = 42,
	OXM_NX_TUN_IPV6_SRC = 43,  /* NXM 109 */
	OXM_NX_TUN_IPV6_DST = 44,  /* NXM 110 */
	OXM_NX_TUN_METADATA0 = 45, /* .. 52: NXM 40 .. 47 */
	OXM__MAX = OXM_NX_TUN_METADATA0 + VSW_PKT_TUN_META,
};
_Static_assert(OXM__MAX <= 64, "the seen bits of a match are a uint64_t");

#define OFPXMC_NXM_1 0x0001
#define NXM_TUN_IPV4_SRC 31
#define NXM_TUN_IPV4_DST 32
#define NXM_TUN_METADATA0 40
#define NXM_TUN_IPV6_SRC 109
#define NXM_TUN_IPV6_DST 110
/* Open vSwitch's longest tun_metadata value (bytes) */
#define NXM_TUN_METADATA_MAX 124

static bool oxm_is_meta(unsigned f)
{
	return f >= OXM_NX_TUN_METADATA0 && f < OXM__MAX;
}

#define OFPVID_PRESENT 0x1000

#define ETH_IP 0x0800
#define ETH_ARP 0x0806
#define ETH_IPV6 0x86dd

enum {
	OFPIT_GOTO_TABLE = 1,
	OFPIT_WRITE_METADATA = 2,
	OFPIT_WRITE_ACTIONS = 3,
	OFPIT_APPLY_ACTIONS = 4,
	OFPIT_CLEAR_ACTIONS = 5,
	OFPIT_METER = 6,
};

enum {
	OFPAT_OUTPUT = 0,
	OFPAT_PUSH_VLAN = 17,
	OFPAT_POP_VLAN = 18,
	OFPAT_SET_FIELD = 25,
};

#define OFPFF_SEND_FLOW_REM 0x1
#define OFPFF_CHECK_OVERLAP 0x2
#define OFPFF_RESET_COUNTS 0x4
#define OFPFF_NO_PKT_COUNTS 0x8
#define OFPFF_NO_BYT_COUNTS 0x10

int ofp_fail(struct vsw_ofp_err *err, uint16_t type, uint16_t code,
	     const char *why)
{
	err->type = type;
	err->code = code;
	snprintf(err->why, sizeof(err->why), "%s", why);
	return -EPROTO;
}

uint32_t ofp_port_to_of(uint16_t port)
{
	switch (port) {
	case VSW_FLOW_PORT_IN_PORT:
		return OFPP_IN_PORT;
	case VSW_FLOW_PORT_NORMAL:
		return OFPP_NORMAL;
	case VSW_FLOW_PORT_FLOOD:
		return OFPP_FLOOD;
	case VSW_FLOW_PORT_ALL:
		return OFPP_ALL;
	case VSW_FLOW_PORT_LOCAL:
		return OFPP_LOCAL;
	case VSW_FLOW_PORT_CONTROLLER:
		return OFPP_CONTROLLER;
	case VSW_FLOW_PORT_NONE:
		return OFPP_ANY;
	default:
		return port;
	}
}

int ofp_port_from_of(uint32_t of, uint16_t *port)
{
	if (of >= 1 && of < VSW_FLOW_PORT_MAX) {
		*port = (uint16_t)of;
		return 0;
	}
	switch (of) {
	case OFPP_IN_PORT:
		*port = VSW_FLOW_PORT_IN_PORT;
		return 0;
	case OFPP_NORMAL:
		*port = VSW_FLOW_PORT_NORMAL;
		return 0;
	case OFPP_FLOOD:
		*port = VSW_FLOW_PORT_FLOOD;
		return 0;
	case OFPP_ALL:
		*port = VSW_FLOW_PORT_ALL;
		return 0;
	case OFPP_LOCAL:
		*port = VSW_FLOW_PORT_LOCAL;
		return 0;
	case OFPP_CONTROLLER:
		*port = VSW_FLOW_PORT_CONTROLLER;
		return 0;
	case OFPP_ANY:
		*port = VSW_FLOW_PORT_NONE;
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- match ---------------------------------------------------------------- */

struct oxm_sizes {
	uint8_t len; /* value bytes */
	bool maskable;
};

static const struct oxm_sizes oxm_sizes[OXM__MAX] = {
	[OXM_IN_PORT] = {4, false},	   [OXM_ETH_DST] = {6, true},
	[OXM_ETH_SRC] = {6, true},	   [OXM_ETH_TYPE] = {2, false},
	[OXM_VLAN_VID] = {2, true},	   [OXM_VLAN_PCP] = {1, false},
	[OXM_IP_DSCP] = {1, false},	   [OXM_IP_PROTO] = {1, false},
	[OXM_IPV4_SRC] = {4, true},	   [OXM_IPV4_DST] = {4, true},
	[OXM_TCP_SRC] = {2, true},	   [OXM_TCP_DST] = {2, true},
	[OXM_UDP_SRC] = {2, true},	   [OXM_UDP_DST] = {2, true},
	[OXM_SCTP_SRC] = {2, true},	   [OXM_SCTP_DST] = {2, true},
	[OXM_ICMPV4_TYPE] = {1, false},	   [OXM_ICMPV4_CODE] = {1, false},
	[OXM_ARP_OP] = {2, false},	   [OXM_ARP_SPA] = {4, true},
	[OXM_ARP_TPA] = {4, true},	   [OXM_IPV6_SRC] = {16, true},
	[OXM_IPV6_DST] = {16, true},	   [OXM_ICMPV6_TYPE] = {1, false},
	[OXM_ICMPV6_CODE] = {1, false},	   [OXM_TUNNEL_ID] = {8, true},
	[OXM_NX_TUN_IPV4_SRC] = {4, true}, [OXM_NX_TUN_IPV4_DST] = {4, true},
	[OXM_NX_TUN_IPV6_SRC] = {16, true}, [OXM_NX_TUN_IPV6_DST] = {16, true},
	/* variable: 1 .. NXM_TUN_METADATA_MAX bytes (oxm_is_meta) */
	[OXM_NX_TUN_METADATA0] = {8, true},  [OXM_NX_TUN_METADATA0 + 1] = {8, true},
	[OXM_NX_TUN_METADATA0 + 2] = {8, true},
	[OXM_NX_TUN_METADATA0 + 3] = {8, true},
	[OXM_NX_TUN_METADATA0 + 4] = {8, true},
	[OXM_NX_TUN_METADATA0 + 5] = {8, true},
	[OXM_NX_TUN_METADATA0 + 6] = {8, true},
	[OXM_NX_TUN_METADATA0 + 7] = {8, true},
};
_Static_assert(VSW_PKT_TUN_META == 8, "tun_metadata0 .. 7 above");

/* The L4 protocol a port / ICMP field needs (0: not an L4 field). */
static int oxm_l4_proto(unsigned f, uint16_t *eth)
{
	switch (f) {
	case OXM_TCP_SRC:
	case OXM_TCP_DST:
		return 6;
	case OXM_UDP_SRC:
	case OXM_UDP_DST:
		return 17;
	case OXM_SCTP_SRC:
	case OXM_SCTP_DST:
		return 132;
	case OXM_ICMPV4_TYPE:
	case OXM_ICMPV4_CODE:
		*eth = ETH_IP;
		return 1;
	case OXM_ICMPV6_TYPE:
		*eth = ETH_IPV6;
		return 58;
	default:
		return 0;
	}
}

static void mask_bytes(uint8_t *k, uint8_t *m, const uint8_t *v,
		       const uint8_t *vm, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		m[i] = vm ? vm[i] : 0xff;
		k[i] = v[i] & m[i];
	}
}

static uint16_t mval16(const uint8_t *v, const uint8_t *vm, uint16_t *mask)
{
	*mask = vm ? ofp_get16(vm) : 0xffff;
	return ofp_get16(v) & *mask;
}

/* The index of an OXM header's (class, field), or OXM__MAX if unknown. */
static unsigned oxm_index(const uint8_t *h)
{
	unsigned f = h[2] >> 1;

	if (ofp_get16(h) == OFPXMC_OPENFLOW_BASIC)
		return f < OXM__MAX && f < OXM_NX_TUN_IPV4_SRC ? f : OXM__MAX;
	if (ofp_get16(h) != OFPXMC_NXM_1)
		return OXM__MAX;
	if (f == NXM_TUN_IPV4_SRC)
		return OXM_NX_TUN_IPV4_SRC;
	if (f == NXM_TUN_IPV4_DST)
		return OXM_NX_TUN_IPV4_DST;
	if (f == NXM_TUN_IPV6_SRC)
		return OXM_NX_TUN_IPV6_SRC;
	if (f == NXM_TUN_IPV6_DST)
		return OXM_NX_TUN_IPV6_DST;
	if (f >= NXM_TUN_METADATA0 && f < NXM_TUN_METADATA0 + VSW_PKT_TUN_META)
		return OXM_NX_TUN_METADATA0 + (f - NXM_TUN_METADATA0);
	return OXM__MAX;
}

/* An OXM header's class and field for index f. */
static void oxm_wire(uint8_t *p, unsigned f, bool hasmask)
{
	unsigned cls = OFPXMC_OPENFLOW_BASIC, wf = f;

	if (f == OXM_NX_TUN_IPV4_SRC || f == OXM_NX_TUN_IPV4_DST) {
		cls = OFPXMC_NXM_1;
		wf = f == OXM_NX_TUN_IPV4_SRC ? NXM_TUN_IPV4_SRC
					      : NXM_TUN_IPV4_DST;
	} else if (f == OXM_NX_TUN_IPV6_SRC || f == OXM_NX_TUN_IPV6_DST) {
		cls = OFPXMC_NXM_1;
		wf = f == OXM_NX_TUN_IPV6_SRC ? NXM_TUN_IPV6_SRC
					      : NXM_TUN_IPV6_DST;
	} else if (oxm_is_meta(f)) {
		cls = OFPXMC_NXM_1;
		wf = NXM_TUN_METADATA0 + (f - OXM_NX_TUN_METADATA0);
	}
	ofp_put16(p, (uint16_t)cls);
	p[2] = (uint8_t)(wf << 1 | (hasmask ? 1 : 0));
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)ofp_get32(p) << 32 | ofp_get32(p + 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	ofp_put32(p, (uint32_t)(v >> 32));
	ofp_put32(p + 4, (uint32_t)v);
}

/*
 * A tun_metadata value of n wire bytes (1 .. NXM_TUN_METADATA_MAX) as the
 * 64-bit number vsw keeps: -1 if more than 8 bytes are significant.
 */
static int meta_get(const uint8_t *p, unsigned n, uint64_t *out)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (i + 8 < n) {
			if (p[i] != 0)
				return -1;
			continue;
		}
		v = v << 8 | p[i];
	}
	*out = v;
	return 0;
}

/* Bytes a tun_metadata value needs on the wire (1 .. 8), big-endian. */
static unsigned meta_put(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return n;
}

static unsigned meta_len(uint64_t v)
{
	unsigned n = 1;

	while (n < 8 && (v >> (8 * n)) != 0)
		n++;
	return n;
}

/* One OXM field @f (value @v, mask @vm or NULL) into @m. */
static int oxm_apply(unsigned f, const uint8_t *v, const uint8_t *vm,
		     struct vsw_flow_match *m, struct vsw_ofp_err *err)
{
	struct vsw_flow_key *k = &m->key, *mk = &m->mask;
	uint16_t port, mask, x;

	switch (f) {
	case OXM_IN_PORT:
		if (ofp_port_from_of(ofp_get32(v), &port) < 0 ||
		    port == VSW_FLOW_PORT_NONE ||
		    (port >= VSW_FLOW_PORT_MAX && port != VSW_FLOW_PORT_LOCAL))
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"in_port out of range");
		k->in_port = port;
		mk->in_port = 0xffff;
		return 0;
	case OXM_ETH_DST:
		mask_bytes(k->dl_dst, mk->dl_dst, v, vm, 6);
		return 0;
	case OXM_ETH_SRC:
		mask_bytes(k->dl_src, mk->dl_src, v, vm, 6);
		return 0;
	case OXM_ETH_TYPE:
		k->dl_type = ofp_get16(v);
		mk->dl_type = 0xffff;
		return 0;
	case OXM_VLAN_VID:
		x = mval16(v, vm, &mask);
		if (vm == NULL && x == 0) {
			/* OFPVID_NONE: no 802.1Q header */
			k->vlan_tci = 0;
			mk->vlan_tci = 0xffff;
			return 0;
		}
		if (vm == NULL && !(x & OFPVID_PRESENT))
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"vlan_vid without OFPVID_PRESENT");
		if (vm == NULL)
			mask = 0x1fff;
		if (ofp_get16(v) > 0x1fff || mask > 0x1fff)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"vlan_vid above 0x1fff");
		k->vlan_tci = (uint16_t)((k->vlan_tci & 0xe000) | x);
		mk->vlan_tci = (uint16_t)((mk->vlan_tci & 0xe000) | mask);
		return 0;
	case OXM_VLAN_PCP:
		if (v[0] > 7)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"vlan_pcp above 7");
		k->vlan_tci = (uint16_t)((k->vlan_tci & 0x1fff) | v[0] << 13 |
					 OFPVID_PRESENT);
		mk->vlan_tci |= 0xe000 | OFPVID_PRESENT;
		return 0;
	case OXM_IP_DSCP:
		if (v[0] > 63)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"ip_dscp above 63");
		k->nw_tos = (uint8_t)(v[0] << 2);
		mk->nw_tos = 0xfc;
		return 0;
	case OXM_IP_PROTO:
		k->nw_proto = v[0];
		mk->nw_proto = 0xff;
		return 0;
	case OXM_ARP_OP:
		if (ofp_get16(v) > 0xff)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"arp_op above 255");
		k->nw_proto = v[1];
		mk->nw_proto = 0xff;
		return 0;
	case OXM_IPV4_SRC:
	case OXM_ARP_SPA:
		mask_bytes(k->nw_src, mk->nw_src, v, vm, 4);
		return 0;
	case OXM_IPV4_DST:
	case OXM_ARP_TPA:
		mask_bytes(k->nw_dst, mk->nw_dst, v, vm, 4);
		return 0;
	case OXM_IPV6_SRC:
		mask_bytes(k->nw_src, mk->nw_src, v, vm, 16);
		return 0;
	case OXM_IPV6_DST:
		mask_bytes(k->nw_dst, mk->nw_dst, v, vm, 16);
		return 0;
	case OXM_TCP_SRC:
	case OXM_UDP_SRC:
	case OXM_SCTP_SRC:
		k->tp_src = mval16(v, vm, &mk->tp_src);
		return 0;
	case OXM_TCP_DST:
	case OXM_UDP_DST:
	case OXM_SCTP_DST:
		k->tp_dst = mval16(v, vm, &mk->tp_dst);
		return 0;
	case OXM_ICMPV4_TYPE:
	case OXM_ICMPV6_TYPE:
		k->tp_src = v[0];
		mk->tp_src = 0xffff;
		return 0;
	case OXM_ICMPV4_CODE:
	case OXM_ICMPV6_CODE:
		k->tp_dst = v[0];
		mk->tp_dst = 0xffff;
		return 0;
	case OXM_TUNNEL_ID:
		mk->tun_id = vm ? get64(vm) : ~0ULL;
		k->tun_id = get64(v) & mk->tun_id;
		return 0;
	case OXM_NX_TUN_IPV4_SRC:
		mask_bytes(k->tun_src, mk->tun_src, v, vm, 4);
		return 0;
	case OXM_NX_TUN_IPV4_DST:
		mask_bytes(k->tun_dst, mk->tun_dst, v, vm, 4);
		return 0;
	case OXM_NX_TUN_IPV6_SRC:
		mask_bytes(m->ext.ipv6_src, m->ext_mask.ipv6_src, v, vm, 16);
		return 0;
	case OXM_NX_TUN_IPV6_DST:
		mask_bytes(m->ext.ipv6_dst, m->ext_mask.ipv6_dst, v, vm, 16);
		return 0;
	default:
		return ofp_fail(err, VSW_OFPET_BAD_MATCH, VSW_OFPBMC_BAD_FIELD,
				"match field vsw does not have");
	}
}

/* A tun_metadataN field of n value bytes (mask vm or NULL) into m. */
static int oxm_apply_meta(unsigned f, const uint8_t *v, const uint8_t *vm,
			  unsigned n, struct vsw_flow_match *m,
			  struct vsw_ofp_err *err)
{
	unsigned i = f - OXM_NX_TUN_METADATA0;
	uint64_t x, xm = ~0ULL;
	unsigned b;

	/* bits beyond 8 bytes: a mask may cover them if the value is 0 */
	for (b = 0; vm != NULL && b + 8 < n; b++)
		if ((v[b] & vm[b]) != 0)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_VALUE,
					"tun_metadata value longer than 8 "
					"bytes");
	if (vm != NULL) {
		uint8_t lo[8];

		/* only the low 8 bytes count */
		for (b = 0; b < 8; b++)
			lo[b] = b + n >= 8 ? vm[b + n - 8] : 0;
		(void)meta_get(lo, 8, &xm);
		for (b = 0; b < 8; b++)
			lo[b] = b + n >= 8 ? v[b + n - 8] : 0;
		(void)meta_get(lo, 8, &x);
	} else if (meta_get(v, n, &x) < 0) {
		return ofp_fail(err, VSW_OFPET_BAD_MATCH, VSW_OFPBMC_BAD_VALUE,
				"tun_metadata value longer than 8 bytes");
	}
	m->ext_mask.meta[i] = xm;
	m->ext.meta[i] = x & xm;
	return 0;
}

/* Prerequisites of the fields in @seen (OpenFlow 1.3, 7.2.3.6). */
static int oxm_prereqs(uint64_t seen, const struct vsw_flow_match *m,
		       struct vsw_ofp_err *err)
{
	uint16_t eth = (m->mask.dl_type == 0xffff) ? m->key.dl_type : 0;
	bool proto = m->mask.nw_proto == 0xff;
	unsigned f;

	for (f = 0; f < OXM__MAX; f++) {
		uint16_t need_eth = 0;
		int l4;
		bool ok = true;

		if (!(seen & (1ull << f)))
			continue;
		l4 = oxm_l4_proto(f, &need_eth);
		switch (f) {
		case OXM_VLAN_PCP:
			ok = (seen & (1ull << OXM_VLAN_VID)) == 0 ||
			     (m->key.vlan_tci & OFPVID_PRESENT);
			break;
		case OXM_IP_DSCP:
		case OXM_IP_PROTO:
			ok = eth == ETH_IP || eth == ETH_IPV6;
			break;
		case OXM_IPV4_SRC:
		case OXM_IPV4_DST:
			ok = eth == ETH_IP;
			break;
		case OXM_ARP_OP:
		case OXM_ARP_SPA:
		case OXM_ARP_TPA:
			ok = eth == ETH_ARP;
			break;
		case OXM_IPV6_SRC:
		case OXM_IPV6_DST:
			ok = eth == ETH_IPV6;
			break;
		default:
			if (l4 != 0) {
				ok = proto && m->key.nw_proto == l4 &&
				     (need_eth ? eth == need_eth
					       : (eth == ETH_IP ||
						  eth == ETH_IPV6));
			}
			break;
		}
		if (!ok)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_PREREQ,
					"match field without its "
					"prerequisite");
	}
	return 0;
}

int vsw_ofp_decode_match(const uint8_t *p, size_t avail,
			 struct vsw_flow_match *m, size_t *used,
			 struct vsw_ofp_err *err)
{
	size_t mlen, off, padded;
	uint64_t seen = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (avail < 4)
		return ofp_fail(err, VSW_OFPET_BAD_MATCH, VSW_OFPBMC_BAD_LEN,
				"match header truncated");
	if (ofp_get16(p) != OFPMT_OXM)
		return ofp_fail(err, VSW_OFPET_BAD_MATCH, VSW_OFPBMC_BAD_TYPE,
				"match is not OXM");
	mlen = ofp_get16(p + 2);
	padded = (mlen + 7) & ~(size_t)7;
	if (mlen < 4 || padded > avail)
		return ofp_fail(err, VSW_OFPET_BAD_MATCH, VSW_OFPBMC_BAD_LEN,
				"match length out of range");
	for (off = 4; off < mlen;) {
		const uint8_t *h = p + off;
		unsigned f, plen;
		bool hasmask;

		if (mlen - off < 4)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_LEN,
					"OXM header truncated");
		f = oxm_index(h);
		hasmask = h[2] & 1;
		plen = h[3];
		if (plen > mlen - off - 4)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_LEN,
					"OXM field past the match");
		if (f >= OXM__MAX || oxm_sizes[f].len == 0)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_FIELD,
					"match field vsw does not have");
		if (hasmask && !oxm_sizes[f].maskable)
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_MASK,
					"mask on a field without one");
		if (oxm_is_meta(f)
			    ? plen == 0 || (hasmask && (plen & 1)) ||
				      plen > NXM_TUN_METADATA_MAX *
						     (hasmask ? 2u : 1u)
			    : plen != oxm_sizes[f].len * (hasmask ? 2u : 1u))
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_LEN,
					"OXM field of the wrong length");
		if (seen & (1ull << f))
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_DUP_FIELD,
					"match field twice");
		/* ARP and IP addresses share the key's fields */
		if ((f == OXM_ARP_SPA &&
		     (seen & (1ull << OXM_IPV4_SRC | 1ull << OXM_IPV6_SRC))) ||
		    (f == OXM_ARP_TPA &&
		     (seen & (1ull << OXM_IPV4_DST | 1ull << OXM_IPV6_DST))))
			return ofp_fail(err, VSW_OFPET_BAD_MATCH,
					VSW_OFPBMC_BAD_PREREQ,
					"ARP and IP fields together");
		seen |= 1ull << f;
		if (oxm_is_meta(f)) {
			unsigned n = hasmask ? plen / 2 : plen;

			rc = oxm_apply_meta(f, h + 4, hasmask ? h + 4 + n : NULL,
					    n, m, err);
		} else {
			rc = oxm_apply(f, h + 4,
				       hasmask ? h + 4 + oxm_sizes[f].len
					       : NULL,
				       m, err);
		}
		if (rc < 0)
			return rc;
		off += 4 + plen;
	}
	rc = oxm_prereqs(seen, m, err);
	if (rc < 0)
		return rc;
	*used = padded;
	return 0;
}

static void oxm_put(struct ofp_buf *b, unsigned f, const void *v,
		    const void *vm, size_t n)
{
	uint8_t *p = ofp_buf_put(b, 4 + n * (vm ? 2 : 1));

	if (p == NULL)
		return;
	oxm_wire(p, f, vm != NULL);
	p[3] = (uint8_t)(n * (vm ? 2 : 1));
	memcpy(p + 4, v, n);
	if (vm)
		memcpy(p + 4 + n, vm, n);
}

static bool all_ones(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void oxm_bytes(struct ofp_buf *b, unsigned f, const uint8_t *k,
		      const uint8_t *mk, size_t n)
{
	if (all_zero(mk, n))
		return;
	oxm_put(b, f, k, all_ones(mk, n) ? NULL : mk, n);
}

static void oxm_16(struct ofp_buf *b, unsigned f, uint16_t k, uint16_t mk)
{
	uint8_t v[2], m[2];

	if (mk == 0)
		return;
	ofp_put16(v, k);
	ofp_put16(m, mk);
	oxm_put(b, f, v, mk == 0xffff ? NULL : m, 2);
}

static void oxm_8(struct ofp_buf *b, unsigned f, uint8_t k)
{
	oxm_put(b, f, &k, NULL, 1);
}

size_t ofp_encode_match(struct ofp_buf *b, const struct vsw_flow_match *m)
{
	const struct vsw_flow_key *k = &m->key, *mk = &m->mask;
	size_t start = b->len, len, pad;
	uint16_t eth = mk->dl_type == 0xffff ? k->dl_type : 0;
	uint8_t *h = ofp_buf_put(b, 4);
	uint8_t v[4];
	unsigned i;

	if (h == NULL)
		return 0;
	if (mk->in_port) {
		ofp_put32(v, ofp_port_to_of(k->in_port));
		oxm_put(b, OXM_IN_PORT, v, NULL, 4);
	}
	if (mk->tun_id) {
		uint8_t t[8], tm[8];

		put64(t, k->tun_id);
		put64(tm, mk->tun_id);
		oxm_put(b, OXM_TUNNEL_ID, t, mk->tun_id == ~0ULL ? NULL : tm,
			8);
	}
	oxm_bytes(b, OXM_NX_TUN_IPV4_SRC, k->tun_src, mk->tun_src, 4);
	oxm_bytes(b, OXM_NX_TUN_IPV4_DST, k->tun_dst, mk->tun_dst, 4);
	oxm_bytes(b, OXM_NX_TUN_IPV6_SRC, m->ext.ipv6_src,
		  m->ext_mask.ipv6_src, 16);
	oxm_bytes(b, OXM_NX_TUN_IPV6_DST, m->ext.ipv6_dst,
		  m->ext_mask.ipv6_dst, 16);
	for (i = 0; i < VSW_PKT_TUN_META; i++) {
		uint64_t xm = m->ext_mask.meta[i];
		uint8_t mv[8], mm[8];
		unsigned n;

		if (xm == 0)
			continue;
		/* the fewest bytes holding the mask, as ovs-ofctl sends */
		n = xm == ~0ULL ? meta_len(m->ext.meta[i]) : meta_len(xm);
		meta_put(mv, m->ext.meta[i], n);
		meta_put(mm, xm, n);
		oxm_put(b, OXM_NX_TUN_METADATA0 + i, mv,
			xm == ~0ULL ? NULL : mm, n);
	}
	oxm_bytes(b, OXM_ETH_DST, k->dl_dst, mk->dl_dst, 6);
	oxm_bytes(b, OXM_ETH_SRC, k->dl_src, mk->dl_src, 6);
	oxm_16(b, OXM_ETH_TYPE, k->dl_type, mk->dl_type);
	if (mk->vlan_tci == 0xffff && k->vlan_tci == 0) {
		oxm_16(b, OXM_VLAN_VID, 0, 0xffff);
	} else {
		uint16_t vm = mk->vlan_tci & 0x1fff;

		oxm_16(b, OXM_VLAN_VID, k->vlan_tci & 0x1fff,
		       vm == 0x1fff ? 0xffff : vm);
		if ((mk->vlan_tci & 0xe000) == 0xe000)
			oxm_8(b, OXM_VLAN_PCP, (uint8_t)(k->vlan_tci >> 13));
	}
	if (mk->nw_tos)
		oxm_8(b, OXM_IP_DSCP, k->nw_tos >> 2);
	if (mk->nw_proto) {
		if (eth == ETH_ARP)
			oxm_16(b, OXM_ARP_OP, k->nw_proto, 0xffff);
		else
			oxm_8(b, OXM_IP_PROTO, k->nw_proto);
	}
	if (eth == ETH_IP || eth == ETH_ARP) {
		oxm_bytes(b, eth == ETH_IP ? OXM_IPV4_SRC : OXM_ARP_SPA,
			  k->nw_src, mk->nw_src, 4);
		oxm_bytes(b, eth == ETH_IP ? OXM_IPV4_DST : OXM_ARP_TPA,
			  k->nw_dst, mk->nw_dst, 4);
	} else if (eth == ETH_IPV6) {
		oxm_bytes(b, OXM_IPV6_SRC, k->nw_src, mk->nw_src, 16);
		oxm_bytes(b, OXM_IPV6_DST, k->nw_dst, mk->nw_dst, 16);
	}
	if (mk->nw_proto == 0xff && (eth == ETH_IP || eth == ETH_IPV6)) {
		switch (k->nw_proto) {
		case 6:
			oxm_16(b, OXM_TCP_SRC, k->tp_src, mk->tp_src);
			oxm_16(b, OXM_TCP_DST, k->tp_dst, mk->tp_dst);
			break;
		case 17:
			oxm_16(b, OXM_UDP_SRC, k->tp_src, mk->tp_src);
			oxm_16(b, OXM_UDP_DST, k->tp_dst, mk->tp_dst);
			break;
		case 132:
			oxm_16(b, OXM_SCTP_SRC, k->tp_src, mk->tp_src);
			oxm_16(b, OXM_SCTP_DST, k->tp_dst, mk->tp_dst);
			break;
		case 1:
		case 58:
			if (mk->tp_src)
				oxm_8(b,
				      k->nw_proto == 1 ? OXM_ICMPV4_TYPE
						       : OXM_ICMPV6_TYPE,
				      (uint8_t)k->tp_src);
			if (mk->tp_dst)
				oxm_8(b,
				      k->nw_proto == 1 ? OXM_ICMPV4_CODE
						       : OXM_ICMPV6_CODE,
				      (uint8_t)k->tp_dst);
			break;
		default:
			break;
		}
	}
	if (b->failed)
		return 0;
	len = b->len - start;
	h = b->p + start;
	ofp_put16(h, OFPMT_OXM);
	ofp_put16(h + 2, (uint16_t)len);
	pad = ((len + 7) & ~(size_t)7) - len;
	if (pad)
		ofp_buf_put(b, pad);
	return b->failed ? 0 : len + pad;
}

/* ---- actions and instructions --------------------------------------------- */

static int act_set_field(const uint8_t *a, size_t alen, struct vsw_flow_act *x,
			 struct vsw_ofp_err *err)
{
	const uint8_t *h = a + 4;
	unsigned f, plen;

	if (alen < 8 || oxm_index(h) == OXM__MAX)
		return ofp_fail(err, VSW_OFPET_BAD_ACTION,
				VSW_OFPBAC_BAD_SET_TYPE,
				"set_field of a field vsw does not have");
	f = oxm_index(h);
	plen = h[3];
	if (h[2] & 1)
		return ofp_fail(err, VSW_OFPET_BAD_ACTION,
				VSW_OFPBAC_BAD_SET_ARGUMENT,
				"set_field with a mask");
	if (plen > alen - 8)
		return ofp_fail(err, VSW_OFPET_BAD_ACTION,
				VSW_OFPBAC_BAD_SET_LEN,
				"set_field value past the action");
	if (f < OXM__MAX && oxm_is_meta(f)) {
		if (plen == 0 || plen > NXM_TUN_METADATA_MAX)
			return ofp_fail(err, VSW_OFPET_BAD_ACTION,
					VSW_OFPBAC_BAD_SET_LEN,
					"set_field tun_metadata of a bad "
					"length");
		if (meta_get(h + 4, plen, &x->u64) < 0)
			return ofp_fail(err, VSW_OFPET_BAD_ACTION,
					VSW_OFPBAC_BAD_SET_ARGUMENT,
					"set_field tun_metadata longer than "
					"8 bytes");
		x->type = VSW_FLOW_ACT_SET_TUN_METADATA;
		x->arg = (uint16_t)(f - OXM_NX_TUN_METADATA0);
		return 0;
	}
	if (f >= OXM__MAX || oxm_sizes[f].len == 0 || plen != oxm_sizes[f].len)
		return ofp_fail(err, VSW_OFPET_BAD_ACTION,
				f < OXM__MAX && oxm_sizes[f].len
					? VSW_OFPBAC_BAD_SET_LEN
					: VSW_OFPBAC_BAD_SET_TYPE,
				"set_field of a field vsw does not have");
	h += 4;
	switch (f) {
	case OXM_VLAN_VID:
		if (!(ofp_get16(h) & OFPVID_PRESENT) || ofp_get16(h) > 0x1fff)
			return ofp_fail(err, VSW_OFPET_BAD_ACTION,
					VSW_OFPBAC_BAD_SET_ARGUMENT,
					"set_field vlan_vid: not 4096|VID");
		x->type = VSW_FLOW_ACT_SET_VLAN_VID;
		x->arg = ofp_get16(h) & 0xfff;
		return 0;
	case OXM_VLAN_PCP:
		if (h[0] > 7)
			return ofp_fail(err, VSW_OFPET_BAD_ACTION,
					VSW_OFPBAC_BAD_SET_ARGUMENT,
					"set_field vlan_pcp above 7");
		x->type = VSW_FLOW_ACT_SET_VLAN_PCP;
		x->arg = h[0];
		return 0;
	case OXM_ETH_SRC:
	case OXM_ETH_DST:
		x->type = f == OXM_ETH_SRC ? VSW_FLOW_ACT_SET_DL_SRC
					   : VSW_FLOW_ACT_SET_DL_DST;
		memcpy(x->mac, h, 6);
		return 0;
	case OXM_IPV4_SRC:
	case OXM_IPV4_DST:
		x->type = f == OXM_IPV4_SRC ? VSW_FLOW_ACT_SET_NW_SRC
					    : VSW_FLOW_ACT_SET_NW_DST;
		memcpy(x->ip4, h, 4);
		return 0;
	case OXM_TUNNEL_ID:
		x->type = VSW_FLOW_ACT_SET_TUN_ID;
		x->u64 = get64(h);
		return 0;
	case OXM_NX_TUN_IPV4_SRC:
	case OXM_NX_TUN_IPV4_DST:
		x->type = f == OXM_NX_TUN_IPV4_SRC ? VSW_FLOW_ACT_SET_TUN_SRC
						   : VSW_FLOW_ACT_SET_TUN_DST;
		memcpy(x->ip4, h, 4);
		return 0;
	case OXM_NX_TUN_IPV6_SRC:
	case OXM_NX_TUN_IPV6_DST:
		x->type = f == OXM_NX_TUN_IPV6_SRC
				  ? VSW_FLOW_ACT_SET_TUN_IPV6_SRC
				  : VSW_FLOW_ACT_SET_TUN_IPV6_DST;
		memcpy(x->ip6, h, 16);
		return 0;
	default:
		return ofp_fail(err, VSW_OFPET_BAD_ACTION,
				VSW_OFPBAC_BAD_SET_TYPE,
				"set_field of a field vsw cannot rewrite");
	}
}

static int act_output(const uint8_t *a, size_t alen, struct vsw_flow_act *x,
		      bool packet_out, struct vsw_ofp_err *err)
{
	uint16_t port;

	if (alen != 16)
		return ofp_fail(err, VSW_OFPET_BAD_ACTION, VSW_OFPBAC_BAD_LEN,
				"output action not 16 bytes");
	if (packet_out && ofp_get32(a + 4) == OFPP_TABLE) {
		/* only a packet-out's: the frame through the flow table */
		x->type = VSW_FLOW_ACT_OUTPUT;
		x->arg = VSW_FLOW_PORT_TABLE;
		return 0;
	}
	if (ofp_port_from_of(ofp_get32(a + 4), &port) < 0 ||
	    port == VSW_FLOW_PORT_NONE)
		return ofp_fail(err, VSW_OFPET_BAD_ACTION,
				VSW_OFPBAC_BAD_OUT_PORT,
				"output to a port vsw cannot send to");
	switch (port) {
	case VSW_FLOW_PORT_IN_PORT:
		x->type = VSW_FLOW_ACT_IN_PORT;
		break;
	case VSW_FLOW_PORT_NORMAL:
		x->type = VSW_FLOW_ACT_NORMAL;
		break;
	case VSW_FLOW_PORT_FLOOD:
		x->type = VSW_FLOW_ACT_FLOOD;
		break;
	case VSW_FLOW_PORT_ALL:
		x->type = VSW_FLOW_ACT_ALL;
		break;
	case VSW_FLOW_PORT_CONTROLLER:
		x->type = VSW_FLOW_ACT_CONTROLLER;
		x->arg = ofp_get16(a + 8); /* max_len */
		break;
	default:
		x->type = VSW_FLOW_ACT_OUTPUT;
		x->arg = port;
		break;
	}
	return 0;
}

/*
 * What an action list knows of the frame's VLAN tag. vsw's SET_VLAN_VID /
 * _PCP push a tag only when there is none; OpenFlow 1.3's PUSH_VLAN always
 * pushes. The two agree where the frame is known to be untagged (the
 * match says so): there PUSH_VLAN followed by set_field vlan_vid /
 * vlan_pcp is vsw's SET_VLAN_*, which is also how ovs-ofctl writes
 * mod_vlan_vid for such a rule. Anywhere else PUSH_VLAN is refused.
 */
enum vlan_state { VLAN_UNKNOWN, VLAN_NONE, VLAN_TAGGED };

static enum vlan_state vlan_start(const struct vsw_flow_match *m)
{
	return (m->mask.vlan_tci & OFPVID_PRESENT) &&
			       !(m->key.vlan_tci & OFPVID_PRESENT)
		       ? VLAN_NONE
		       : VLAN_UNKNOWN;
}

static bool act_sets_vlan(const struct vsw_flow_act *x)
{
	return x->type == VSW_FLOW_ACT_SET_VLAN_VID ||
	       x->type == VSW_FLOW_ACT_SET_VLAN_PCP;
}

/* An action list (@len bytes at @p) into a new vsw_flow_actions. */
static int decode_actions(const uint8_t *p, size_t len,
			  const struct vsw_flow_match *m, bool packet_out,
			  struct vsw_flow_actions **out,
			  struct vsw_ofp_err *err)
{
	enum vlan_state vlan = vlan_start(m);
	struct vsw_flow_actions *acts;
	bool out_seen = false, pushed = false;
	size_t off;
	int rc;

	acts = calloc(1, sizeof(*acts) + (len / 8) * sizeof(acts->a[0]));
	if (acts == NULL)
		return -ENOMEM;
	for (off = 0; off < len;) {
		struct vsw_flow_act *x = &acts->a[acts->n];
		const uint8_t *a = p + off;
		size_t alen;
		bool edit = true;

		if (len - off < 8) {
			rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
				      VSW_OFPBAC_BAD_LEN, "action truncated");
			goto fail;
		}
		alen = ofp_get16(a + 2);
		if (alen < 8 || alen % 8 != 0 || alen > len - off) {
			rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
				      VSW_OFPBAC_BAD_LEN,
				      "action length out of range");
			goto fail;
		}
		memset(x, 0, sizeof(*x));
		switch (ofp_get16(a)) {
		case OFPAT_OUTPUT:
			rc = act_output(a, alen, x, packet_out, err);
			edit = false;
			break;
		case OFPAT_POP_VLAN:
			x->type = VSW_FLOW_ACT_STRIP_VLAN;
			rc = alen == 8 ? 0
				       : ofp_fail(err, VSW_OFPET_BAD_ACTION,
						  VSW_OFPBAC_BAD_LEN,
						  "pop_vlan not 8 bytes");
			break;
		case OFPAT_PUSH_VLAN:
			if (alen != 8 || ofp_get16(a + 4) != 0x8100 ||
			    vlan != VLAN_NONE || pushed) {
				rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
					      VSW_OFPBAC_BAD_ARGUMENT,
					      "push_vlan: only 0x8100, on a "
					      "rule matching untagged frames");
				goto fail;
			}
			pushed = true;
			off += alen;
			continue; /* the set_field that follows pushes */
		case OFPAT_SET_FIELD:
			rc = act_set_field(a, alen, x, err);
			break;
		default:
			rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
				      VSW_OFPBAC_BAD_TYPE,
				      "action vsw does not have");
			break;
		}
		if (rc < 0)
			goto fail;
		if (pushed && !act_sets_vlan(x)) {
			rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
				      VSW_OFPBAC_BAD_ARGUMENT,
				      "push_vlan not followed by set_field "
				      "vlan_vid or vlan_pcp");
			goto fail;
		}
		if (act_sets_vlan(x)) {
			/* vsw's set on an untagged frame without push: no */
			if (vlan == VLAN_NONE && !pushed) {
				rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
					      VSW_OFPBAC_BAD_ARGUMENT,
					      "set_field vlan on an untagged "
					      "frame without push_vlan");
				goto fail;
			}
			vlan = VLAN_TAGGED;
		} else if (x->type == VSW_FLOW_ACT_STRIP_VLAN) {
			vlan = VLAN_UNKNOWN; /* an inner tag may show */
		}
		pushed = false;
		if (edit) {
			acts->flags |= VSW_FLOW_ACTS_EDITS;
			if (out_seen)
				acts->flags |= VSW_FLOW_ACTS_EDIT_AFTER_OUT;
		} else {
			out_seen = true;
		}
		acts->n++;
		off += alen;
	}
	if (pushed) {
		rc = ofp_fail(err, VSW_OFPET_BAD_ACTION,
			      VSW_OFPBAC_BAD_ARGUMENT,
			      "push_vlan not followed by set_field vlan_vid "
			      "or vlan_pcp");
		goto fail;
	}
	*out = acts;
	return 0;
fail:
	free(acts);
	return rc;
}

/*
 * The instructions of a FLOW_MOD for table @table (VSW_FLOW_TABLE_ALL: a
 * modify of every table): APPLY_ACTIONS and GOTO_TABLE at most once each;
 * the goto becomes the last action (OpenFlow runs it after the others).
 */
static int decode_instructions(const uint8_t *p, size_t len,
			       const struct vsw_flow_match *m, unsigned table,
			       struct vsw_flow_actions **out,
			       struct vsw_ofp_err *err)
{
	struct vsw_flow_actions *acts = NULL, *grown;
	int goto_table = -1;
	size_t off;
	int rc;

	for (off = 0; off < len;) {
		const uint8_t *in = p + off;
		size_t ilen;
		uint16_t type;

		if (len - off < 4) {
			rc = ofp_fail(err, VSW_OFPET_BAD_INSTRUCTION,
				      VSW_OFPBIC_BAD_LEN,
				      "instruction truncated");
			goto fail;
		}
		type = ofp_get16(in);
		ilen = ofp_get16(in + 2);
		if (ilen < 8 || ilen % 8 != 0 || ilen > len - off) {
			rc = ofp_fail(err, VSW_OFPET_BAD_INSTRUCTION,
				      VSW_OFPBIC_BAD_LEN,
				      "instruction length out of range");
			goto fail;
		}
		if (type == OFPIT_GOTO_TABLE) {
			if (ilen != 8 || goto_table >= 0) {
				rc = ofp_fail(err, VSW_OFPET_BAD_INSTRUCTION,
					      ilen != 8 ? VSW_OFPBIC_BAD_LEN
							: VSW_OFPBIC_UNSUP_INST,
					      "goto_table not 8 bytes, or "
					      "twice");
				goto fail;
			}
			goto_table = in[4];
			if (goto_table >= VSW_FLOW_N_TABLES ||
			    (table != VSW_FLOW_TABLE_ALL &&
			     (unsigned)goto_table <= table)) {
				rc = ofp_fail(err, VSW_OFPET_BAD_INSTRUCTION,
					      VSW_OFPBIC_BAD_TABLE_ID,
					      "goto_table: not a later table");
				goto fail;
			}
			off += ilen;
			continue;
		}
		if (type != OFPIT_APPLY_ACTIONS) {
			rc = ofp_fail(err, VSW_OFPET_BAD_INSTRUCTION,
				      type >= OFPIT_GOTO_TABLE &&
						      type <= OFPIT_METER
					      ? VSW_OFPBIC_UNSUP_INST
					      : VSW_OFPBIC_UNKNOWN_INST,
				      "instruction other than apply_actions");
			goto fail;
		}
		if (acts != NULL) {
			rc = ofp_fail(err, VSW_OFPET_BAD_INSTRUCTION,
				      VSW_OFPBIC_UNSUP_INST,
				      "apply_actions twice");
			goto fail;
		}
		rc = decode_actions(in + 8, ilen - 8, m, false, &acts, err);
		if (rc < 0)
			goto fail;
		off += ilen;
	}
	if (acts == NULL) {
		/* no instruction: drop */
		acts = calloc(1, sizeof(*acts));
		if (acts == NULL)
			return -ENOMEM;
	}
	if (goto_table >= 0) {
		grown = realloc(acts,
				sizeof(*acts) +
					(acts->n + 1u) * sizeof(acts->a[0]));
		if (grown == NULL) {
			free(acts);
			return -ENOMEM;
		}
		acts = grown;
		memset(&acts->a[acts->n], 0, sizeof(acts->a[0]));
		acts->a[acts->n].type = VSW_FLOW_ACT_GOTO_TABLE;
		acts->a[acts->n++].arg = (uint16_t)goto_table;
	}
	*out = acts;
	return 0;
fail:
	free(acts);
	return rc;
}

static void encode_action(struct ofp_buf *b, const struct vsw_flow_act *x)
{
	static const uint16_t port_of[] = {
		[VSW_FLOW_ACT_IN_PORT] = VSW_FLOW_PORT_IN_PORT,
		[VSW_FLOW_ACT_NORMAL] = VSW_FLOW_PORT_NORMAL,
		[VSW_FLOW_ACT_FLOOD] = VSW_FLOW_PORT_FLOOD,
		[VSW_FLOW_ACT_ALL] = VSW_FLOW_PORT_ALL,
		[VSW_FLOW_ACT_CONTROLLER] = VSW_FLOW_PORT_CONTROLLER,
	};
	uint8_t *p;

	switch (x->type) {
	case VSW_FLOW_ACT_OUTPUT:
	case VSW_FLOW_ACT_IN_PORT:
	case VSW_FLOW_ACT_NORMAL:
	case VSW_FLOW_ACT_FLOOD:
	case VSW_FLOW_ACT_ALL:
	case VSW_FLOW_ACT_CONTROLLER:
		p = ofp_buf_put(b, 16);
		if (p == NULL)
			return;
		ofp_put16(p, OFPAT_OUTPUT);
		ofp_put16(p + 2, 16);
		ofp_put32(p + 4, ofp_port_to_of(x->type == VSW_FLOW_ACT_OUTPUT
							? x->arg
							: port_of[x->type]));
		/* max_len: the controller's bytes; 0 for the others */
		ofp_put16(p + 8, x->type == VSW_FLOW_ACT_CONTROLLER ? x->arg : 0);
		return;
	case VSW_FLOW_ACT_STRIP_VLAN:
		p = ofp_buf_put(b, 8);
		if (p == NULL)
			return;
		ofp_put16(p, OFPAT_POP_VLAN);
		ofp_put16(p + 2, 8);
		return;
	default:
		break;
	}
	/* set_field: 4 + OXM (4 + value), padded to 8 */
	{
		unsigned f;
		size_t n;
		uint8_t v[16];

		switch (x->type) {
		case VSW_FLOW_ACT_SET_VLAN_VID:
			f = OXM_VLAN_VID;
			n = 2;
			ofp_put16(v, (uint16_t)(x->arg | OFPVID_PRESENT));
			break;
		case VSW_FLOW_ACT_SET_VLAN_PCP:
			f = OXM_VLAN_PCP;
			n = 1;
			v[0] = (uint8_t)x->arg;
			break;
		case VSW_FLOW_ACT_SET_DL_SRC:
		case VSW_FLOW_ACT_SET_DL_DST:
			f = x->type == VSW_FLOW_ACT_SET_DL_SRC ? OXM_ETH_SRC
							       : OXM_ETH_DST;
			n = 6;
			memcpy(v, x->mac, 6);
			break;
		case VSW_FLOW_ACT_SET_NW_SRC:
		case VSW_FLOW_ACT_SET_NW_DST:
			f = x->type == VSW_FLOW_ACT_SET_NW_SRC ? OXM_IPV4_SRC
							       : OXM_IPV4_DST;
			n = 4;
			memcpy(v, x->ip4, 4);
			break;
		case VSW_FLOW_ACT_SET_TUN_ID:
			f = OXM_TUNNEL_ID;
			n = 8;
			put64(v, x->u64);
			break;
		case VSW_FLOW_ACT_SET_TUN_SRC:
		case VSW_FLOW_ACT_SET_TUN_DST:
			f = x->type == VSW_FLOW_ACT_SET_TUN_SRC
				    ? OXM_NX_TUN_IPV4_SRC
				    : OXM_NX_TUN_IPV4_DST;
			n = 4;
			memcpy(v, x->ip4, 4);
			break;
		case VSW_FLOW_ACT_SET_TUN_IPV6_SRC:
		case VSW_FLOW_ACT_SET_TUN_IPV6_DST:
			f = x->type == VSW_FLOW_ACT_SET_TUN_IPV6_SRC
				    ? OXM_NX_TUN_IPV6_SRC
				    : OXM_NX_TUN_IPV6_DST;
			n = 16;
			memcpy(v, x->ip6, 16);
			break;
		case VSW_FLOW_ACT_SET_TUN_METADATA:
			f = OXM_NX_TUN_METADATA0 + x->arg;
			n = meta_put(v, x->u64, meta_len(x->u64));
			break;
		default:
			return;
		}
		{
			size_t alen = (8 + n + 7) & ~(size_t)7;

			p = ofp_buf_put(b, alen);
			if (p == NULL)
				return;
			ofp_put16(p, OFPAT_SET_FIELD);
			ofp_put16(p + 2, (uint16_t)alen);
			oxm_wire(p + 4, f, false);
			p[7] = (uint8_t)n;
			memcpy(p + 8, v, n);
		}
	}
}

void ofp_encode_instructions(struct ofp_buf *b, const struct vsw_flow_match *m,
			     const struct vsw_flow_actions *a)
{
	enum vlan_state vlan = vlan_start(m);
	size_t start = b->len;
	unsigned i, n;
	uint8_t *p;

	if (a == NULL || a->n == 0)
		return;
	n = a->n;
	if (a->a[n - 1].type == VSW_FLOW_ACT_GOTO_TABLE)
		n--;
	if (n == 0)
		goto goto_inst;
	p = ofp_buf_put(b, 8);
	if (p == NULL)
		return;
	ofp_put16(p, OFPIT_APPLY_ACTIONS);
	for (i = 0; i < n; i++) {
		if (act_sets_vlan(&a->a[i]) && vlan == VLAN_NONE) {
			/* the tag vsw pushes, as OpenFlow 1.3 says it */
			p = ofp_buf_put(b, 8);
			if (p == NULL)
				return;
			ofp_put16(p, OFPAT_PUSH_VLAN);
			ofp_put16(p + 2, 8);
			ofp_put16(p + 4, 0x8100);
		}
		if (act_sets_vlan(&a->a[i]))
			vlan = VLAN_TAGGED;
		else if (a->a[i].type == VSW_FLOW_ACT_STRIP_VLAN)
			vlan = VLAN_UNKNOWN;
		encode_action(b, &a->a[i]);
	}
	if (b->failed)
		return;
	ofp_put16(b->p + start + 2, (uint16_t)(b->len - start));
goto_inst:
	if (n == a->n)
		return;
	p = ofp_buf_put(b, 8);
	if (p == NULL)
		return;
	ofp_put16(p, OFPIT_GOTO_TABLE);
	ofp_put16(p + 2, 8);
	p[4] = (uint8_t)a->a[n].arg;
}

/* ---- FLOW_MOD ------------------------------------------------------------- */

/* ofp_flow_mod after the header: 40 bytes, then the match. */
#define FM_FIXED 40

int vsw_ofp_decode_flow_mod(const uint8_t *body, size_t len,
			    struct vsw_ofp_flow_mod *fm,
			    struct vsw_ofp_err *err)
{
	struct vsw_flow_spec *s = &fm->spec;
	uint32_t buffer_id, out_port;
	uint8_t table_id;
	size_t used;
	int rc;

	memset(fm, 0, sizeof(*fm));
	if (len < FM_FIXED + 4)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"flow_mod too short");
	s->cookie = ofp_get64(body);
	fm->cookie_mask = ofp_get64(body + 8);
	table_id = body[16];
	if (body[17] > VSW_OFPFC_DELETE_STRICT)
		return ofp_fail(err, VSW_OFPET_FLOW_MOD_FAILED,
				VSW_OFPFMFC_BAD_COMMAND,
				"unknown flow_mod command");
	fm->command = body[17];
	s->idle_timeout = ofp_get16(body + 18);
	s->hard_timeout = ofp_get16(body + 20);
	s->priority = ofp_get16(body + 22);
	s->has_priority = true;
	buffer_id = ofp_get32(body + 24);
	out_port = ofp_get32(body + 28);
	fm->flags = ofp_get16(body + 36);
	/*
	 * Tables 0 .. 254; OFPTT_ALL selects every table in a delete and, as
	 * Open vSwitch allows (ovs-ofctl mod-flows without table=), in a
	 * modify. An add needs a real table.
	 */
	s->table_id = table_id;
	fm->table_all = table_id == OFPTT_ALL;
	if (fm->table_all && fm->command == VSW_OFPFC_ADD)
		return ofp_fail(err, VSW_OFPET_FLOW_MOD_FAILED,
				VSW_OFPFMFC_BAD_TABLE_ID,
				"add to table 255 (all)");
	if (fm->command == VSW_OFPFC_DELETE ||
	    fm->command == VSW_OFPFC_DELETE_STRICT) {
		if (ofp_port_from_of(out_port, &s->out_port) < 0)
			return ofp_fail(err, VSW_OFPET_FLOW_MOD_FAILED,
					VSW_OFPFMFC_UNKNOWN,
					"delete: out_port out of range");
		if (ofp_get32(body + 32) != OFPG_ANY)
			return ofp_fail(err, VSW_OFPET_FLOW_MOD_FAILED,
					VSW_OFPFMFC_UNKNOWN,
					"vsw has no groups (out_group)");
	} else {
		s->out_port = VSW_FLOW_PORT_NONE;
		if (buffer_id != OFP_NO_BUFFER)
			return ofp_fail(err, VSW_OFPET_BAD_REQUEST,
					VSW_OFPBRC_BUFFER_UNKNOWN,
					"vsw buffers no packets");
	}
	if (fm->command == VSW_OFPFC_ADD && fm->cookie_mask != 0)
		fm->cookie_mask = 0; /* ignored on add (7.3.4.1) */
	if (fm->flags &
	    ~(OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP | OFPFF_RESET_COUNTS |
	      OFPFF_NO_PKT_COUNTS | OFPFF_NO_BYT_COUNTS))
		return ofp_fail(err, VSW_OFPET_FLOW_MOD_FAILED,
				VSW_OFPFMFC_BAD_FLAGS,
				"unknown flow_mod flags");
	/* NO_PKT / NO_BYT_COUNTS are a hint a switch may ignore (7.3.4.1) */
	s->flags = fm->flags & (OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP |
				OFPFF_RESET_COUNTS);
	rc = vsw_ofp_decode_match(body + FM_FIXED, len - FM_FIXED, &s->match,
				  &used, err);
	if (rc < 0)
		return rc;
	if (fm->command == VSW_OFPFC_DELETE ||
	    fm->command == VSW_OFPFC_DELETE_STRICT)
		return 0; /* instructions ignored */
	return decode_instructions(body + FM_FIXED + used,
				   len - FM_FIXED - used, &s->match,
				   s->table_id, &s->actions, err);
}

bool vsw_ofp_filter_match(const struct vsw_ofp_flow_filter *f,
			  const struct vsw_ofp_flow_entry *e)
{
	unsigned i;

	if (f->table_id != VSW_FLOW_TABLE_ALL && f->table_id != e->table_id)
		return false;
	/* non-strict: the rule is at least as specific as the filter */
	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++) {
		uint64_t fm = f->match.mask.w[i];

		if ((e->match->mask.w[i] & fm) != fm ||
		    (e->match->key.w[i] & fm) != f->match.key.w[i])
			return false;
	}
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++) {
		uint64_t fm = f->match.ext_mask.w[i];

		if ((e->match->ext_mask.w[i] & fm) != fm ||
		    (e->match->ext.w[i] & fm) != f->match.ext.w[i])
			return false;
	}
	if ((e->cookie & f->cookie_mask) != (f->cookie & f->cookie_mask))
		return false;
	if (f->out_port != VSW_FLOW_PORT_NONE) {
		bool hit = false;

		for (i = 0; e->actions != NULL && i < e->actions->n; i++) {
			const struct vsw_flow_act *x = &e->actions->a[i];

			if (x->type == VSW_FLOW_ACT_OUTPUT &&
			    x->arg == f->out_port)
				hit = true;
		}
		if (!hit)
			return false;
	}
	return true;
}

/* ---- packet-out ----------------------------------------------------------- */

int vsw_ofp_decode_packet_out(const uint8_t *body, size_t len,
			      struct vsw_ofp_packet_out *po,
			      struct vsw_ofp_err *err)
{
	struct vsw_flow_match m;
	uint32_t in_of;
	size_t alen;
	int rc;

	memset(po, 0, sizeof(*po));
	/* buffer_id, in_port, actions_len, pad[6] */
	if (len < 16)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"packet_out shorter than 24 bytes");
	if (ofp_get32(body) != OFP_NO_BUFFER)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST,
				VSW_OFPBRC_BUFFER_UNKNOWN,
				"packet_out of a buffer: vsw buffers nothing");
	in_of = ofp_get32(body + 4);
	if (in_of == OFPP_CONTROLLER || in_of == OFPP_ANY) {
		po->in_port = VSW_FLOW_PORT_CONTROLLER;
	} else if (ofp_port_from_of(in_of, &po->in_port) < 0 ||
		   (po->in_port >= VSW_FLOW_PORT_MAX &&
		    po->in_port != VSW_FLOW_PORT_LOCAL)) {
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_PORT,
				"packet_out in_port not a port");
	}
	alen = ofp_get16(body + 8);
	if (alen % 8 != 0 || alen > len - 16)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"packet_out actions_len out of range");
	po->data = body + 16 + alen;
	po->len = len - 16 - alen;
	if (po->len < 14)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"packet_out without an Ethernet frame");
	memset(&m, 0, sizeof(m));
	rc = decode_actions(body + 16, alen, &m, true, &po->actions, err);
	if (rc == -ENOMEM)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"out of memory");
	return rc;
}
