/* SPDX-License-Identifier: MIT */
/*
 * ovs-ofctl FLOW syntax: parser and printer.
 *
 * Security model: FLOW strings come from the control socket (any local
 * user allowed to drive the switch). Every value is range-checked, every
 * copy is bounded, the parser works on a private copy of the string and
 * reports errors as messages; nothing in a string can make it read or
 * write out of bounds or allocate more than a small multiple of its length.
 *
 * Semantics follow ovs-ofctl(8) / ovs-fields(7) for the fields and actions
 * supported: the field names (and a few OXM-style aliases), the protocol
 * shorthands, prefix and mask notations, prerequisites (a field whose
 * protocol is not pinned by the match is refused, as Open vSwitch refuses
 * such a flow_mod with "bad prerequisite"), and the dump-flows print order.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow_priv.h"

#define ETH_IP 0x0800
#define ETH_ARP 0x0806
#define ETH_IPV6 0x86dd

enum fld {
	F_IN_PORT,
	F_DL_SRC,
	F_DL_DST,
	F_DL_TYPE,
	F_DL_VLAN,
	F_DL_VLAN_PCP,
	F_VLAN_TCI,
	F_NW_SRC,
	F_NW_DST,
	F_NW_PROTO,
	F_NW_TOS,
	F_TP_SRC,
	F_TP_DST,
	F_IPV6_SRC,
	F_IPV6_DST,
	F_ARP_SPA,
	F_ARP_TPA,
	F_ARP_OP,
	F_ICMP_TYPE,
	F_ICMP_CODE,
	F_TUN_ID,
	F_TUN_SRC,
	F_TUN_DST,
	F_TUN_META, /* tun_metadata0 .. 7: fld_name.proto is N */
	F_TUN_IPV6_SRC,
	F_TUN_IPV6_DST,
};

struct fld_name {
	const char *name;
	uint8_t f;     /* enum fld */
	/* tp_*: the L4 protocol the alias implies, 0 any; tun_metadataN: N */
	uint8_t proto;
};

static const struct fld_name fld_names[] = {
	{"in_port", F_IN_PORT, 0},	   {"dl_src", F_DL_SRC, 0},
	{"eth_src", F_DL_SRC, 0},	   {"dl_dst", F_DL_DST, 0},
	{"eth_dst", F_DL_DST, 0},	   {"dl_type", F_DL_TYPE, 0},
	{"eth_type", F_DL_TYPE, 0},	   {"dl_vlan", F_DL_VLAN, 0},
	{"dl_vlan_pcp", F_DL_VLAN_PCP, 0}, {"vlan_tci", F_VLAN_TCI, 0},
	{"nw_src", F_NW_SRC, 0},	   {"ip_src", F_NW_SRC, 0},
	{"nw_dst", F_NW_DST, 0},	   {"ip_dst", F_NW_DST, 0},
	{"nw_proto", F_NW_PROTO, 0},	   {"ip_proto", F_NW_PROTO, 0},
	{"nw_tos", F_NW_TOS, 0},	   {"tp_src", F_TP_SRC, 0},
	{"tcp_src", F_TP_SRC, 6},	   {"udp_src", F_TP_SRC, 17},
	{"sctp_src", F_TP_SRC, 132},	   {"tp_dst", F_TP_DST, 0},
	{"tcp_dst", F_TP_DST, 6},	   {"udp_dst", F_TP_DST, 17},
	{"sctp_dst", F_TP_DST, 132},	   {"ipv6_src", F_IPV6_SRC, 0},
	{"ipv6_dst", F_IPV6_DST, 0},	   {"arp_spa", F_ARP_SPA, 0},
	{"arp_tpa", F_ARP_TPA, 0},	   {"arp_op", F_ARP_OP, 0},
	{"icmp_type", F_ICMP_TYPE, 0},	   {"icmpv6_type", F_ICMP_TYPE, 58},
	{"icmp_code", F_ICMP_CODE, 0},	   {"icmpv6_code", F_ICMP_CODE, 58},
	{"tun_id", F_TUN_ID, 0},	   {"tunnel_id", F_TUN_ID, 0},
	{"tun_src", F_TUN_SRC, 0},	   {"tun_dst", F_TUN_DST, 0},
	{"tun_ipv6_src", F_TUN_IPV6_SRC, 0}, {"tun_ipv6_dst", F_TUN_IPV6_DST, 0},
	{"tun_metadata0", F_TUN_META, 0},    {"tun_metadata1", F_TUN_META, 1},
	{"tun_metadata2", F_TUN_META, 2},    {"tun_metadata3", F_TUN_META, 3},
	{"tun_metadata4", F_TUN_META, 4},    {"tun_metadata5", F_TUN_META, 5},
	{"tun_metadata6", F_TUN_META, 6},    {"tun_metadata7", F_TUN_META, 7},
};
_Static_assert(VSW_PKT_TUN_META == 8, "tun_metadata0 .. 7 above");

struct shorthand {
	const char *name;
	uint16_t dl_type;
	int16_t proto; /* -1: none */
};

static const struct shorthand shorthands[] = {
	{"ip", ETH_IP, -1},	  {"ipv6", ETH_IPV6, -1},
	{"arp", ETH_ARP, -1},	  {"tcp", ETH_IP, 6},
	{"udp", ETH_IP, 17},	  {"icmp", ETH_IP, 1},
	{"sctp", ETH_IP, 132},	  {"tcp6", ETH_IPV6, 6},
	{"udp6", ETH_IPV6, 17},	  {"icmp6", ETH_IPV6, 58},
	{"sctp6", ETH_IPV6, 132},
};

struct pctx {
	struct vsw_flow_spec *spec;
	const struct vsw_flow_port_map *pm;
	char *err;
	size_t err_len;
	uint32_t used;	    /* bit per enum fld given */
	uint8_t l4proto;    /* protocol a tcp_ / udp_ alias demands, 0 none */
	uint8_t icmp_proto; /* 58 if an icmpv6_ name was used */
	const char *l4name;
};

static int perr(struct pctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err != NULL && c->err_len != 0) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Decimal or 0x-hex unsigned up to max; the whole string. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		v = strtoul(s + 2, &end, 16);
	else
		v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v > max)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && end == s + 2)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Decimal or 0x-hex unsigned 64-bit; the whole string. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned i;

	for (i = 0; i < 6; i++) {
		int hi, lo;

		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		hi = isdigit((unsigned char)s[0]) ? s[0] - '0'
						  : tolower(s[0]) - 'a' + 10;
		lo = isdigit((unsigned char)s[1]) ? s[1] - '0'
						  : tolower(s[1]) - 'a' + 10;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s == '\0' ? 0 : -EINVAL;
}

/* Split "v/m" in place: returns the mask part or NULL. */
static char *split_mask(char *v)
{
	char *slash = strchr(v, '/');

	if (slash == NULL)
		return NULL;
	*slash = '\0';
	return slash + 1;
}

/* An IPv4 or IPv6 prefix length or dotted / colon mask into mask[n]. */
static int parse_ip_mask(const char *s, int af, uint8_t *mask, unsigned n)
{
	unsigned long plen;
	unsigned i;

	if (strchr(s, af == AF_INET ? '.' : ':') != NULL)
		return inet_pton(af, s, mask) == 1 ? 0 : -EINVAL;
	if (parse_uint(s, n * 8, &plen) < 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned bits = plen > i * 8 ? (unsigned)plen - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

/*
 * Merge value / mask (n bytes at offset off of the key) into the match.
 * Bits given twice must agree ("ip,arp" does not).
 */
static int fset_in(struct pctx *c, const char *name, uint8_t *k, uint8_t *mk,
		   const void *v, const void *m, size_t n)
{
	const uint8_t *vv = v, *mm = m;
	size_t i;

	for (i = 0; i < n; i++)
		if ((k[i] ^ vv[i]) & mk[i] & mm[i])
			return perr(c, "%s: conflicts with an earlier field",
				    name);
	for (i = 0; i < n; i++) {
		k[i] |= vv[i] & mm[i];
		mk[i] |= mm[i];
	}
	return 0;
}

#define KOFF(f) offsetof(struct vsw_flow_key, f)
#define EOFF(f) offsetof(struct vsw_pkt_tun_ext, f)

/* The same for n bytes at offset off of the key. */
static int fset(struct pctx *c, const char *name, size_t off, const void *v,
		const void *m, size_t n)
{
	return fset_in(c, name, (uint8_t *)&c->spec->match.key + off,
		       (uint8_t *)&c->spec->match.mask + off, v, m, n);
}

/* ... and of the tunnel extension (struct vsw_pkt_tun_ext). */
static int fset_ext(struct pctx *c, const char *name, size_t off,
		    const void *v, const void *m, size_t n)
{
	return fset_in(c, name, (uint8_t *)&c->spec->match.ext + off,
		       (uint8_t *)&c->spec->match.ext_mask + off, v, m, n);
}

static int fset16(struct pctx *c, const char *name, size_t off, uint16_t v,
		  uint16_t m)
{
	return fset(c, name, off, &v, &m, 2);
}

static int fset8(struct pctx *c, const char *name, size_t off, uint8_t v,
		 uint8_t m)
{
	return fset(c, name, off, &v, &m, 1);
}

static int parse_port(struct pctx *c, const char *name, const char *s,
		      uint16_t *port)
{
	unsigned long v;

	if (strcasecmp(s, "LOCAL") == 0) {
		*port = VSW_FLOW_PORT_LOCAL;
		return 0;
	}
	if (parse_uint(s, 0xffff, &v) == 0) {
		if (v == 0 ||
		    (v >= VSW_FLOW_PORT_MAX && v != VSW_FLOW_PORT_LOCAL))
			return perr(c, "%s: invalid port number %s", name, s);
		*port = (uint16_t)v;
		return 0;
	}
	if (c->pm != NULL && c->pm->by_name != NULL &&
	    c->pm->by_name(c->pm->arg, s, port) == 0)
		return 0;
	return perr(c, "%s: unknown port %s", name, s);
}

static int parse_field(struct pctx *c, const struct fld_name *fn, char *val)
{
	const char *name = fn->name;
	char *mstr = NULL;
	unsigned long v, m;
	uint8_t mac[6], mmac[6], ip[16], mip[16];
	uint16_t port;
	int af;
	unsigned n;

	c->used |= 1u << fn->f;
	switch (fn->f) {
	case F_IN_PORT:
		if (parse_port(c, name, val, &port) < 0)
			return -EINVAL;
		return fset16(c, name, KOFF(in_port), port, 0xffff);
	case F_DL_SRC:
	case F_DL_DST:
		mstr = split_mask(val);
		if (parse_mac(val, mac) < 0 ||
		    (mstr != NULL && parse_mac(mstr, mmac) < 0))
			return perr(c, "%s: invalid Ethernet address %s%s%s",
				    name, val, mstr ? "/" : "",
				    mstr ? mstr : "");
		if (mstr == NULL)
			memset(mmac, 0xff, 6);
		return fset(c, name,
			    fn->f == F_DL_SRC ? KOFF(dl_src) : KOFF(dl_dst),
			    mac, mmac, 6);
	case F_DL_TYPE:
		if (parse_uint(val, 0xffff, &v) < 0)
			return perr(c, "%s: invalid value %s", name, val);
		return fset16(c, name, KOFF(dl_type), (uint16_t)v, 0xffff);
	case F_DL_VLAN:
		if (parse_uint(val, 0xffff, &v) < 0 ||
		    (v > 4095 && v != 0xffff))
			return perr(c, "%s: invalid VLAN %s", name, val);
		if (v == 0xffff) /* no 802.1Q header */
			return fset16(c, name, KOFF(vlan_tci), 0, 0xffff);
		return fset16(c, name, KOFF(vlan_tci),
			      (uint16_t)(v | VSW_FLOW_TCI_PRESENT), 0x1fff);
	case F_DL_VLAN_PCP:
		if (parse_uint(val, 7, &v) < 0)
			return perr(c, "%s: invalid priority %s", name, val);
		return fset16(c, name, KOFF(vlan_tci),
			      (uint16_t)(v << 13 | VSW_FLOW_TCI_PRESENT),
			      0xf000);
	case F_VLAN_TCI:
		mstr = split_mask(val);
		if (parse_uint(val, 0xffff, &v) < 0 ||
		    (mstr != NULL && parse_uint(mstr, 0xffff, &m) < 0))
			return perr(c, "%s: invalid value", name);
		if (mstr == NULL)
			m = 0xffff;
		return fset16(c, name, KOFF(vlan_tci), (uint16_t)v,
			      (uint16_t)m);
	case F_NW_SRC:
	case F_NW_DST:
	case F_ARP_SPA:
	case F_ARP_TPA:
	case F_IPV6_SRC:
	case F_IPV6_DST:
		af = fn->f == F_IPV6_SRC || fn->f == F_IPV6_DST ? AF_INET6
								: AF_INET;
		n = af == AF_INET ? 4 : 16;
		mstr = split_mask(val);
		if (inet_pton(af, val, ip) != 1)
			return perr(c, "%s: invalid IP address %s", name, val);
		if (mstr != NULL) {
			if (parse_ip_mask(mstr, af, mip, n) < 0)
				return perr(c, "%s: invalid prefix or mask %s",
					    name, mstr);
		} else {
			memset(mip, 0xff, n);
		}
		return fset(c, name,
			    fn->f == F_NW_SRC || fn->f == F_ARP_SPA ||
					    fn->f == F_IPV6_SRC
				    ? KOFF(nw_src)
				    : KOFF(nw_dst),
			    ip, mip, n);
	case F_NW_PROTO:
	case F_ARP_OP:
		if (parse_uint(val, 0xff, &v) < 0)
			return perr(c, "%s: invalid value %s", name, val);
		return fset8(c, name, KOFF(nw_proto), (uint8_t)v, 0xff);
	case F_NW_TOS:
		if (parse_uint(val, 0xff, &v) < 0 || (v & 3) != 0)
			return perr(c,
				    "%s: invalid DSCP value %s (the low "
				    "2 bits must be 0)",
				    name, val);
		return fset8(c, name, KOFF(nw_tos), (uint8_t)v, 0xfc);
	case F_TP_SRC:
	case F_TP_DST:
		mstr = split_mask(val);
		if (parse_uint(val, 0xffff, &v) < 0 ||
		    (mstr != NULL && parse_uint(mstr, 0xffff, &m) < 0))
			return perr(c, "%s: invalid port %s", name, val);
		if (mstr == NULL)
			m = 0xffff;
		if (fn->proto != 0) {
			if (c->l4proto != 0 && c->l4proto != fn->proto)
				return perr(c,
					    "%s: conflicts with an earlier "
					    "field",
					    name);
			c->l4proto = fn->proto;
			c->l4name = name;
		}
		return fset16(c, name,
			      fn->f == F_TP_SRC ? KOFF(tp_src) : KOFF(tp_dst),
			      (uint16_t)v, (uint16_t)m);
	case F_TUN_ID: {
		uint64_t v64, m64 = ~0ULL;

		mstr = split_mask(val);
		if (parse_u64(val, &v64) < 0 ||
		    (mstr != NULL && parse_u64(mstr, &m64) < 0))
			return perr(c, "%s: invalid value %s%s%s", name, val,
				    mstr ? "/" : "", mstr ? mstr : "");
		return fset(c, name, KOFF(tun_id), &v64, &m64, 8);
	}
	case F_TUN_SRC:
	case F_TUN_DST:
		mstr = split_mask(val);
		if (inet_pton(AF_INET, val, ip) != 1)
			return perr(c,
				    "%s: invalid IPv4 address %s (an IPv6 "
				    "underlay: tun_ipv6_src / tun_ipv6_dst)",
				    name, val);
		if (mstr != NULL) {
			if (parse_ip_mask(mstr, AF_INET, mip, 4) < 0)
				return perr(c, "%s: invalid prefix or mask %s",
					    name, mstr);
		} else {
			memset(mip, 0xff, 4);
		}
		return fset(c, name,
			    fn->f == F_TUN_SRC ? KOFF(tun_src) : KOFF(tun_dst),
			    ip, mip, 4);
	case F_TUN_IPV6_SRC:
	case F_TUN_IPV6_DST:
		mstr = split_mask(val);
		if (inet_pton(AF_INET6, val, ip) != 1)
			return perr(c, "%s: invalid IPv6 address %s", name, val);
		if (mstr != NULL) {
			if (parse_ip_mask(mstr, AF_INET6, mip, 16) < 0)
				return perr(c, "%s: invalid prefix or mask %s",
					    name, mstr);
		} else {
			memset(mip, 0xff, 16);
		}
		return fset_ext(c, name,
				fn->f == F_TUN_IPV6_SRC ? EOFF(ipv6_src)
							: EOFF(ipv6_dst),
				ip, mip, 16);
	case F_TUN_META: {
		uint64_t v64, m64 = ~0ULL;

		mstr = split_mask(val);
		if (parse_u64(val, &v64) < 0 ||
		    (mstr != NULL && parse_u64(mstr, &m64) < 0))
			return perr(c,
				    "%s: invalid value %s%s%s (a number of up "
				    "to %u bytes: a tlv_map option of len=4 or "
				    "8)",
				    name, val, mstr ? "/" : "",
				    mstr ? mstr : "", VSW_PKT_TUN_META_LEN);
		v64 &= m64;
		return fset_ext(c, name,
				EOFF(meta) + fn->proto * sizeof(uint64_t),
				&v64, &m64, 8);
	}
	case F_ICMP_TYPE:
	case F_ICMP_CODE:
		if (parse_uint(val, 0xff, &v) < 0)
			return perr(c, "%s: invalid value %s", name, val);
		/* icmp_type / icmp_code name ICMPv6 too, with icmp6 */
		if (fn->proto != 0)
			c->icmp_proto = fn->proto;
		return fset16(c, name,
			      fn->f == F_ICMP_TYPE ? KOFF(tp_src)
						   : KOFF(tp_dst),
			      (uint16_t)v, 0xffff);
	default:
		break;
	}
	return perr(c, "%s: unknown field", name);
}

/* ---- prerequisites ---- */

#define USED(c, f) ((c)->used & (1u << (f)))

static int check_prereqs(struct pctx *c)
{
	const struct vsw_flow_match *m = &c->spec->match;
	bool type = m->mask.dl_type == 0xffff;
	bool ip = type && m->key.dl_type == ETH_IP;
	bool ip6 = type && m->key.dl_type == ETH_IPV6;
	bool arp = type && m->key.dl_type == ETH_ARP;
	bool proto = m->mask.nw_proto == 0xff;
	uint8_t p = m->key.nw_proto;

	if ((USED(c, F_NW_SRC) || USED(c, F_NW_DST)) && !ip && !arp)
		return perr(c, "nw_src / nw_dst: prerequisites not met "
			       "(needs ip or arp)");
	if ((USED(c, F_ARP_SPA) || USED(c, F_ARP_TPA) || USED(c, F_ARP_OP)) &&
	    !arp)
		return perr(c, "arp_spa / arp_tpa / arp_op: prerequisites not "
			       "met (needs arp)");
	if ((USED(c, F_IPV6_SRC) || USED(c, F_IPV6_DST)) && !ip6)
		return perr(c, "ipv6_src / ipv6_dst: prerequisites not met "
			       "(needs ipv6)");
	if (USED(c, F_NW_PROTO) && !ip && !ip6 && !arp)
		return perr(c, "nw_proto: prerequisites not met (needs ip or "
			       "ipv6)");
	if (USED(c, F_NW_TOS) && !ip && !ip6)
		return perr(c, "nw_tos: prerequisites not met (needs ip or "
			       "ipv6)");
	if (USED(c, F_TP_SRC) || USED(c, F_TP_DST)) {
		if (!(ip || ip6) || !proto || (p != 6 && p != 17 && p != 132) ||
		    (c->l4proto != 0 && p != c->l4proto))
			return perr(c, "%s: prerequisites not met (needs %s)",
				    c->l4name ? c->l4name : "tp_src / tp_dst",
				    c->l4proto == 6	? "tcp"
				    : c->l4proto == 17	? "udp"
				    : c->l4proto == 132 ? "sctp"
							: "tcp, udp or sctp");
	}
	if (USED(c, F_ICMP_TYPE) || USED(c, F_ICMP_CODE)) {
		bool ok4 = ip && proto && p == 1;
		bool ok6 = ip6 && proto && p == 58;

		if (!(ok4 || ok6) || (c->icmp_proto == 58 && !ok6))
			return perr(c, "icmp_type / icmp_code: prerequisites "
				       "not met (needs icmp or icmp6)");
	}
	return 0;
}

/* ---- actions ---- */

static const struct fld_name *find_field(const char *name)
{
	unsigned i;

	for (i = 0; i < VSW_ARRAY_SIZE(fld_names); i++)
		if (strcmp(fld_names[i].name, name) == 0)
			return &fld_names[i];
	return NULL;
}

/*
 * tun_metadata8 .. 63 are Open vSwitch fields vsw does not keep: -EINVAL
 * with a message that says so; 0 for any other name.
 */
static int tun_meta_beyond(struct pctx *c, const char *name)
{
	unsigned long n;

	if (strncmp(name, "tun_metadata", 12) != 0 ||
	    parse_uint(name + 12, 63, &n) < 0)
		return 0;
	return perr(c,
		    "%s: vsw keeps tun_metadata0 .. %u only (geneve options "
		    "of up to %u data bytes each, mapped by the port's "
		    "tlv_map)",
		    name, VSW_PKT_TUN_META - 1, VSW_PKT_TUN_META_LEN);
}

/* set_field:VALUE->FIELD, for the tunnel fields (a flow-based output). */
static int parse_set_field(struct pctx *c, char *arg, struct vsw_flow_act *x)
{
	char *fld = strstr(arg, "->");
	const struct fld_name *fn;

	if (fld == NULL)
		return perr(c, "set_field:%s: expected VALUE->FIELD", arg);
	*fld = '\0';
	fld += 2;
	if (strchr(arg, '/') != NULL)
		return perr(c,
			    "set_field:%s->%s: a masked set_field is not "
			    "supported",
			    arg, fld);
	if (strcmp(fld, "tun_id") == 0 || strcmp(fld, "tunnel_id") == 0) {
		if (parse_u64(arg, &x->u64) < 0)
			return perr(c, "set_field: invalid tun_id %s", arg);
		x->type = VSW_FLOW_ACT_SET_TUN_ID;
		return 0;
	}
	if (strcmp(fld, "tun_dst") == 0 || strcmp(fld, "tun_src") == 0) {
		if (inet_pton(AF_INET, arg, x->ip4) != 1)
			return perr(c,
				    "set_field: invalid %s %s (an IPv4 "
				    "address)",
				    fld, arg);
		x->type = fld[4] == 'd' ? VSW_FLOW_ACT_SET_TUN_DST
					: VSW_FLOW_ACT_SET_TUN_SRC;
		return 0;
	}
	if (strcmp(fld, "tun_ipv6_dst") == 0 || strcmp(fld, "tun_ipv6_src") == 0) {
		if (inet_pton(AF_INET6, arg, x->ip6) != 1)
			return perr(c,
				    "set_field: invalid %s %s (an IPv6 "
				    "address)",
				    fld, arg);
		x->type = fld[9] == 'd' ? VSW_FLOW_ACT_SET_TUN_IPV6_DST
					: VSW_FLOW_ACT_SET_TUN_IPV6_SRC;
		return 0;
	}
	fn = find_field(fld);
	if (fn != NULL && fn->f == F_TUN_META) {
		if (parse_u64(arg, &x->u64) < 0)
			return perr(c,
				    "set_field: invalid %s %s (a number of up "
				    "to %u bytes)",
				    fld, arg, VSW_PKT_TUN_META_LEN);
		x->type = VSW_FLOW_ACT_SET_TUN_METADATA;
		x->arg = fn->proto;
		return 0;
	}
	if (tun_meta_beyond(c, fld) < 0)
		return -EINVAL;
	return perr(c,
		    "set_field:...->%s: not supported (tun_id, tun_src, "
		    "tun_dst, tun_ipv6_src, tun_ipv6_dst, tun_metadata0 .. 7; "
		    "mod_* actions for packet fields)",
		    fld);
}

static int parse_actions(struct pctx *c, char *s)
{
	struct vsw_flow_actions *a;
	const struct vsw_flow_match *m = &c->spec->match;
	unsigned cap = 1, n = 0;
	bool drop = false, out_seen = false;
	char *p, *tok, *save = NULL;

	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			cap++;
	a = calloc(1, sizeof(*a) + cap * sizeof(a->a[0]));
	if (a == NULL)
		return -ENOMEM;
	c->spec->actions = a;
	for (p = s; isspace((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		/* "actions=" with nothing: drop */
		return 0;
	}
	save = s;
	while ((tok = strsep(&save, ",")) != NULL) {
		struct vsw_flow_act *x = &a->a[n];
		char *arg = strchr(tok, ':');
		unsigned long v;
		uint16_t port;
		bool edit = false;

		while (isspace((unsigned char)*tok))
			tok++;
		for (p = tok + strlen(tok);
		     p > tok && isspace((unsigned char)p[-1]);)
			*--p = '\0';
		if (*tok == '\0')
			return perr(c, "actions: empty action");
		if (drop)
			return perr(c, "actions: drop must be the only action");
		if (arg != NULL)
			*arg++ = '\0';
		memset(x, 0, sizeof(*x));
		if (arg == NULL && strcasecmp(tok, "drop") == 0) {
			if (n != 0)
				return perr(c, "actions: drop must be the "
					       "only action");
			drop = true;
			continue;
		} else if (arg == NULL && strcasecmp(tok, "normal") == 0) {
			x->type = VSW_FLOW_ACT_NORMAL;
		} else if (arg == NULL && strcasecmp(tok, "flood") == 0) {
			x->type = VSW_FLOW_ACT_FLOOD;
		} else if (arg == NULL && strcasecmp(tok, "all") == 0) {
			x->type = VSW_FLOW_ACT_ALL;
		} else if (arg == NULL && strcasecmp(tok, "in_port") == 0) {
			x->type = VSW_FLOW_ACT_IN_PORT;
		} else if (strcasecmp(tok, "controller") == 0) {
			/* controller[:max_len], ovs-ofctl's shorthand */
			x->type = VSW_FLOW_ACT_CONTROLLER;
			x->arg = 0xffff;
			if (arg != NULL) {
				if (parse_uint(arg, 0xffff, &v) < 0)
					return perr(c,
						    "controller: invalid "
						    "max_len %s",
						    arg);
				x->arg = (uint16_t)v;
			}
		} else if (arg == NULL && strcasecmp(tok, "local") == 0) {
			x->type = VSW_FLOW_ACT_OUTPUT;
			x->arg = VSW_FLOW_PORT_LOCAL;
		} else if (arg == NULL && strcasecmp(tok, "strip_vlan") == 0) {
			x->type = VSW_FLOW_ACT_STRIP_VLAN;
			edit = true;
		} else if (arg == NULL && parse_uint(tok, 0xffff, &v) == 0) {
			/* a bare port number is output:N */
			if (parse_port(c, "output", tok, &port) < 0)
				return -EINVAL;
			x->type = VSW_FLOW_ACT_OUTPUT;
			x->arg = port;
		} else if (arg != NULL && strcasecmp(tok, "output") == 0) {
			if (strcasecmp(arg, "in_port") == 0) {
				x->type = VSW_FLOW_ACT_IN_PORT;
			} else if (strcasecmp(arg, "normal") == 0) {
				x->type = VSW_FLOW_ACT_NORMAL;
			} else if (strcasecmp(arg, "flood") == 0) {
				x->type = VSW_FLOW_ACT_FLOOD;
			} else if (strcasecmp(arg, "all") == 0) {
				x->type = VSW_FLOW_ACT_ALL;
			} else if (strcasecmp(arg, "controller") == 0) {
				x->type = VSW_FLOW_ACT_CONTROLLER;
				x->arg = 0xffff;
			} else {
				if (parse_port(c, "output", arg, &port) < 0)
					return -EINVAL;
				x->type = VSW_FLOW_ACT_OUTPUT;
				x->arg = port;
			}
		} else if (arg != NULL && strcasecmp(tok, "goto_table") == 0) {
			if (parse_uint(arg, VSW_FLOW_N_TABLES - 1, &v) < 0)
				return perr(c,
					    "goto_table: invalid table %s "
					    "(0 .. 254)",
					    arg);
			if (c->spec->table_id != VSW_FLOW_TABLE_ALL &&
			    v <= c->spec->table_id)
				return perr(c,
					    "goto_table:%lu: the table must "
					    "be greater than the rule's (%u)",
					    v, c->spec->table_id);
			if (save != NULL)
				return perr(c, "goto_table must be the last "
					       "action");
			x->type = VSW_FLOW_ACT_GOTO_TABLE;
			x->arg = (uint16_t)v;
		} else if (arg != NULL &&
			   strcasecmp(tok, "mod_vlan_vid") == 0) {
			if (parse_uint(arg, 4095, &v) < 0)
				return perr(c, "mod_vlan_vid: invalid VLAN %s",
					    arg);
			x->type = VSW_FLOW_ACT_SET_VLAN_VID;
			x->arg = (uint16_t)v;
			edit = true;
		} else if (arg != NULL &&
			   strcasecmp(tok, "mod_vlan_pcp") == 0) {
			if (parse_uint(arg, 7, &v) < 0)
				return perr(c,
					    "mod_vlan_pcp: invalid "
					    "priority %s",
					    arg);
			x->type = VSW_FLOW_ACT_SET_VLAN_PCP;
			x->arg = (uint16_t)v;
			edit = true;
		} else if (arg != NULL &&
			   (strcasecmp(tok, "mod_dl_src") == 0 ||
			    strcasecmp(tok, "mod_dl_dst") == 0)) {
			if (parse_mac(arg, x->mac) < 0)
				return perr(c,
					    "%s: invalid Ethernet address "
					    "%s",
					    tok, arg);
			x->type = tok[7] == 's' || tok[7] == 'S'
					  ? VSW_FLOW_ACT_SET_DL_SRC
					  : VSW_FLOW_ACT_SET_DL_DST;
			edit = true;
		} else if (arg != NULL &&
			   (strcasecmp(tok, "mod_nw_src") == 0 ||
			    strcasecmp(tok, "mod_nw_dst") == 0)) {
			if (inet_pton(AF_INET, arg, x->ip4) != 1)
				return perr(c, "%s: invalid IP address %s", tok,
					    arg);
			if (m->mask.dl_type != 0xffff ||
			    m->key.dl_type != ETH_IP)
				return perr(c,
					    "%s: prerequisites not met "
					    "(the match needs ip)",
					    tok);
			x->type = tok[7] == 's' || tok[7] == 'S'
					  ? VSW_FLOW_ACT_SET_NW_SRC
					  : VSW_FLOW_ACT_SET_NW_DST;
			edit = true;
		} else if (arg != NULL &&
			   (strcasecmp(tok, "set_tunnel") == 0 ||
			    strcasecmp(tok, "set_tunnel64") == 0)) {
			if (parse_u64(arg, &x->u64) < 0 ||
			    (tok[10] == '\0' && x->u64 > 0xffffffffULL))
				return perr(c, "%s: invalid tunnel id %s", tok,
					    arg);
			x->type = VSW_FLOW_ACT_SET_TUN_ID;
			x->arg = 1; /* printed as set_tunnel */
			edit = true;
		} else if (arg != NULL && strcasecmp(tok, "set_field") == 0) {
			if (parse_set_field(c, arg, x) < 0)
				return -EINVAL;
			edit = true;
		} else {
			return perr(c, "actions: unknown action %s%s%s", tok,
				    arg ? ":" : "", arg ? arg : "");
		}
		if (edit) {
			a->flags |= VSW_FLOW_ACTS_EDITS;
			if (out_seen)
				a->flags |= VSW_FLOW_ACTS_EDIT_AFTER_OUT;
		} else {
			out_seen = true;
		}
		n++;
	}
	a->n = (uint16_t)n;
	return 0;
}

/* ---- the FLOW string ---- */

static int parse_spec_field(struct pctx *c, enum vsw_flow_parse_mode mode,
			    char *name, char *val)
{
	struct vsw_flow_spec *s = c->spec;
	const struct fld_name *fn;
	unsigned long v;
	unsigned i;

	if (val == NULL) {
		static const struct {
			const char *name;
			uint16_t flag;
		} flags[] = {
			{"send_flow_rem", VSW_FLOW_F_SEND_FLOW_REM},
			{"check_overlap", VSW_FLOW_F_CHECK_OVERLAP},
			{"reset_counts", VSW_FLOW_F_RESET_COUNTS},
		};

		for (i = 0; i < VSW_ARRAY_SIZE(flags); i++) {
			if (strcmp(flags[i].name, name) != 0)
				continue;
			if (mode == VSW_FLOW_PARSE_MATCH)
				return perr(c, "%s: not allowed here", name);
			s->flags |= flags[i].flag;
			return 0;
		}
		for (i = 0; i < VSW_ARRAY_SIZE(shorthands); i++) {
			const struct shorthand *sh = &shorthands[i];
			int ret;

			if (strcmp(sh->name, name) != 0)
				continue;
			ret = fset16(c, name, KOFF(dl_type), sh->dl_type,
				     0xffff);
			if (ret == 0 && sh->proto >= 0)
				ret = fset8(c, name, KOFF(nw_proto),
					    (uint8_t)sh->proto, 0xff);
			return ret;
		}
		return perr(c, "%s: unknown field or shorthand", name);
	}
	if (strcmp(name, "priority") == 0) {
		if (parse_uint(val, VSW_FLOW_PRIORITY_MAX, &v) < 0)
			return perr(c, "priority: invalid value %s", val);
		s->priority = (uint16_t)v;
		s->has_priority = true;
		return 0;
	}
	if (strcmp(name, "idle_timeout") == 0 ||
	    strcmp(name, "hard_timeout") == 0) {
		if (mode == VSW_FLOW_PARSE_MATCH)
			return perr(c, "%s: not allowed here", name);
		if (parse_uint(val, 0xffff, &v) < 0)
			return perr(c, "%s: invalid value %s", name, val);
		if (name[0] == 'i')
			s->idle_timeout = (uint16_t)v;
		else
			s->hard_timeout = (uint16_t)v;
		return 0;
	}
	if (strcmp(name, "cookie") == 0) {
		char *end, *slash = strchr(val, '/');

		if (slash != NULL) {
			/* cookie=V/M: a selection (del / mod / dump) */
			if (mode == VSW_FLOW_PARSE_ADD)
				return perr(c, "cookie: no mask on add");
			*slash = '\0';
			if (strcmp(slash + 1, "-1") == 0) {
				s->cookie_mask = UINT64_MAX;
			} else {
				errno = 0;
				s->cookie_mask = strtoull(slash + 1, &end, 0);
				if (errno != 0 || *end != '\0' ||
				    end == slash + 1 || slash[1] == '-')
					return perr(c,
						    "cookie: invalid mask %s",
						    slash + 1);
			}
		} else if (mode != VSW_FLOW_PARSE_ADD) {
			/* as ovs-ofctl: a plain cookie selects exactly */
			s->cookie_mask =
				mode == VSW_FLOW_PARSE_MATCH ? UINT64_MAX : 0;
		}
		errno = 0;
		s->cookie = strtoull(val, &end, 0);
		if (errno != 0 || *end != '\0' || end == val || *val == '-')
			return perr(c, "cookie: invalid value %s", val);
		s->cookie &= slash != NULL ? s->cookie_mask : UINT64_MAX;
		return 0;
	}
	if (strcmp(name, "table") == 0) {
		if (parse_uint(val, VSW_FLOW_N_TABLES - 1, &v) < 0)
			return perr(c, "table: invalid table %s (0 .. 254)",
				    val);
		s->table_id = (uint8_t)v;
		return 0;
	}
	if (strcmp(name, "out_port") == 0) {
		uint16_t port;

		if (mode != VSW_FLOW_PARSE_MATCH)
			return perr(c, "out_port: not allowed here");
		if (strcasecmp(val, "in_port") == 0) {
			s->out_port = VSW_FLOW_PORT_IN_PORT;
			return 0;
		}
		if (parse_port(c, name, val, &port) < 0)
			return -EINVAL;
		s->out_port = port;
		return 0;
	}
	fn = find_field(name);
	if (fn == NULL) {
		if (tun_meta_beyond(c, name) < 0)
			return -EINVAL;
		return perr(c, "%s: unknown field", name);
	}
	return parse_field(c, fn, val);
}

int vsw_flow_parse(const char *str, enum vsw_flow_parse_mode mode,
		   const struct vsw_flow_port_map *pm,
		   struct vsw_flow_spec *out, char *err, size_t err_len)
{
	struct pctx c = {
		.spec = out,
		.pm = pm,
		.err = err,
		.err_len = err_len,
	};
	char *buf, *p, *acts = NULL;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->priority = VSW_FLOW_PRIORITY_DEFAULT;
	out->out_port = VSW_FLOW_PORT_NONE;
	/* as ovs-ofctl: an add goes to table 0, the others see every table */
	out->table_id = mode == VSW_FLOW_PARSE_ADD ? 0 : VSW_FLOW_TABLE_ALL;
	if (err != NULL && err_len != 0)
		err[0] = '\0';
	if (str == NULL)
		return perr(&c, "no flow given");
	buf = strdup(str);
	if (buf == NULL)
		return -ENOMEM;
	/* actions= takes the rest of the string, commas included */
	for (p = buf; (p = strstr(p, "actions")) != NULL; p += 7) {
		char *q = p + 7;

		if (p != buf && p[-1] != ',' && !isspace((unsigned char)p[-1]))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '=' && *q != ':')
			continue;
		*p = '\0';
		acts = q + 1;
		break;
	}
	p = buf;
	while (ret == 0) {
		char *name, *val;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		name = p;
		while (*p != '\0' && *p != ',' && *p != '=' &&
		       !isspace((unsigned char)*p))
			p++;
		val = NULL;
		if (*p == '=') {
			*p++ = '\0';
			val = p;
			while (*p != '\0' && *p != ',' &&
			       !isspace((unsigned char)*p))
				p++;
		}
		if (*p != '\0')
			*p++ = '\0';
		ret = parse_spec_field(&c, mode, name, val);
	}
	if (ret == 0)
		ret = check_prereqs(&c);
	if (ret == 0) {
		if (mode == VSW_FLOW_PARSE_MATCH && acts != NULL)
			ret = perr(&c, "actions: not allowed here");
		else if (mode != VSW_FLOW_PARSE_MATCH && acts == NULL)
			ret = perr(&c, "must specify an action (actions=...)");
		else if (acts != NULL)
			ret = parse_actions(&c, acts);
	}
	free(buf);
	if (ret < 0)
		vsw_flow_spec_fini(out);
	return ret;
}

void vsw_flow_spec_fini(struct vsw_flow_spec *spec)
{
	if (spec == NULL)
		return;
	free(spec->actions);
	spec->actions = NULL;
}

/* ---- printing ---- */

struct pbuf {
	char *buf;
	size_t len;
	size_t n; /* length the full text needs */
};

static void pb_add(struct pbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pb_add(struct pbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->n < b->len ? b->len - b->n : 0;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(room ? b->buf + b->n : NULL, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->n += (size_t)k;
}

static bool all_ones(const uint8_t *m, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (m[i] != 0xff)
			return false;
	return true;
}

static bool all_zero(const uint8_t *m, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (m[i] != 0)
			return false;
	return true;
}

/* The prefix length if m is a CIDR mask, else -1. */
static int cidr_len(const uint8_t *m, unsigned n)
{
	unsigned i, bits = 0;
	bool end = false;

	for (i = 0; i < n; i++) {
		uint8_t b = m[i];

		if (end && b != 0)
			return -1;
		if (b == 0xff) {
			bits += 8;
			continue;
		}
		if ((uint8_t)(b | (b >> 1)) != b || (b & 0x80) == 0) {
			if (b != 0)
				return -1; /* holes */
		} else {
			while (b & 0x80) {
				bits++;
				b = (uint8_t)(b << 1);
			}
			if (b != 0)
				return -1;
		}
		end = true;
	}
	return (int)bits;
}

static void pb_ip(struct pbuf *b, const char *name, const uint8_t *v,
		  const uint8_t *m, int af)
{
	unsigned n = af == AF_INET ? 4 : 16;
	char s[INET6_ADDRSTRLEN], ms[INET6_ADDRSTRLEN];
	int plen;

	if (all_zero(m, n))
		return;
	inet_ntop(af, v, s, sizeof(s));
	if (all_ones(m, n)) {
		pb_add(b, "%s=%s,", name, s);
		return;
	}
	plen = cidr_len(m, n);
	if (plen >= 0) {
		pb_add(b, "%s=%s/%d,", name, s, plen);
		return;
	}
	inet_ntop(af, m, ms, sizeof(ms));
	pb_add(b, "%s=%s/%s,", name, s, ms);
}

static void pb_mac(struct pbuf *b, const char *name, const uint8_t *v,
		   const uint8_t *m)
{
	if (all_zero(m, 6))
		return;
	pb_add(b, "%s=%02x:%02x:%02x:%02x:%02x:%02x", name, v[0], v[1], v[2],
	       v[3], v[4], v[5]);
	if (!all_ones(m, 6))
		pb_add(b, "/%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		       m[3], m[4], m[5]);
	pb_add(b, ",");
}

static void pb_u16(struct pbuf *b, const char *name, uint16_t v, uint16_t m)
{
	if (m == 0)
		return;
	if (m == 0xffff)
		pb_add(b, "%s=%u,", name, v);
	else
		pb_add(b, "%s=0x%x/0x%x,", name, v, m);
}

static void pb_port(struct pbuf *b, uint16_t port)
{
	if (port == VSW_FLOW_PORT_LOCAL)
		pb_add(b, "LOCAL");
	else
		pb_add(b, "%u", port);
}

int vsw_flow_format_match(const struct vsw_flow_match *m, unsigned priority,
			  char *buf, size_t len)
{
	struct pbuf b = {.buf = buf, .len = len, .n = 0};
	const struct vsw_flow_key *k = &m->key, *mk = &m->mask;
	bool type = mk->dl_type == 0xffff, proto = mk->nw_proto == 0xff;
	bool ip = type && k->dl_type == ETH_IP;
	bool ip6 = type && k->dl_type == ETH_IPV6;
	bool arp = type && k->dl_type == ETH_ARP;
	bool skip_type = false, skip_proto = false, icmp;
	uint16_t tci = k->vlan_tci, tm = mk->vlan_tci;
	unsigned i;

	if (len != 0)
		buf[0] = '\0';
	if (priority != VSW_FLOW_PRIORITY_DEFAULT)
		pb_add(&b, "priority=%u,", priority);
	if (ip || ip6) {
		const char *sh = NULL;

		skip_type = true;
		if (proto) {
			for (i = 0; i < VSW_ARRAY_SIZE(shorthands); i++)
				if (shorthands[i].dl_type == k->dl_type &&
				    shorthands[i].proto == k->nw_proto)
					sh = shorthands[i].name;
		}
		if (sh != NULL)
			skip_proto = true;
		pb_add(&b, "%s,", sh ? sh : ip ? "ip" : "ipv6");
	} else if (arp) {
		skip_type = true;
		pb_add(&b, "arp,");
	}
	if (mk->tun_id != 0) {
		if (mk->tun_id == ~0ULL)
			pb_add(&b, "tun_id=0x%llx,",
			       (unsigned long long)k->tun_id);
		else
			pb_add(&b, "tun_id=0x%llx/0x%llx,",
			       (unsigned long long)k->tun_id,
			       (unsigned long long)mk->tun_id);
	}
	pb_ip(&b, "tun_src", k->tun_src, mk->tun_src, AF_INET);
	pb_ip(&b, "tun_dst", k->tun_dst, mk->tun_dst, AF_INET);
	pb_ip(&b, "tun_ipv6_src", m->ext.ipv6_src, m->ext_mask.ipv6_src,
	      AF_INET6);
	pb_ip(&b, "tun_ipv6_dst", m->ext.ipv6_dst, m->ext_mask.ipv6_dst,
	      AF_INET6);
	for (i = 0; i < VSW_PKT_TUN_META; i++) {
		if (m->ext_mask.meta[i] == 0)
			continue;
		pb_add(&b, "tun_metadata%u=0x%llx", i,
		       (unsigned long long)m->ext.meta[i]);
		if (m->ext_mask.meta[i] != ~0ULL)
			pb_add(&b, "/0x%llx",
			       (unsigned long long)m->ext_mask.meta[i]);
		pb_add(&b, ",");
	}
	if (mk->in_port != 0) {
		pb_add(&b, "in_port=");
		pb_port(&b, k->in_port);
		pb_add(&b, ",");
	}
	if (tm != 0) {
		uint16_t vid_m = tm & 0x0fff, pcp_m = tm & 0xe000;

		if ((tm & VSW_FLOW_TCI_PRESENT) &&
		    (tci & VSW_FLOW_TCI_PRESENT) &&
		    (vid_m == 0 || vid_m == 0x0fff) &&
		    (pcp_m == 0 || pcp_m == 0xe000) && (vid_m || pcp_m)) {
			if (vid_m)
				pb_add(&b, "dl_vlan=%u,", tci & 0x0fff);
			if (pcp_m)
				pb_add(&b, "dl_vlan_pcp=%u,", tci >> 13);
		} else if (tm == 0xffff) {
			pb_add(&b, "vlan_tci=0x%04x,", tci);
		} else {
			pb_add(&b, "vlan_tci=0x%04x/0x%04x,", tci, tm);
		}
	}
	pb_mac(&b, "dl_src", k->dl_src, mk->dl_src);
	pb_mac(&b, "dl_dst", k->dl_dst, mk->dl_dst);
	if (!skip_type && mk->dl_type != 0)
		pb_add(&b, "dl_type=0x%04x,", k->dl_type);
	if (ip6) {
		pb_ip(&b, "ipv6_src", k->nw_src, mk->nw_src, AF_INET6);
		pb_ip(&b, "ipv6_dst", k->nw_dst, mk->nw_dst, AF_INET6);
	} else if (arp) {
		pb_ip(&b, "arp_spa", k->nw_src, mk->nw_src, AF_INET);
		pb_ip(&b, "arp_tpa", k->nw_dst, mk->nw_dst, AF_INET);
	} else {
		pb_ip(&b, "nw_src", k->nw_src, mk->nw_src, AF_INET);
		pb_ip(&b, "nw_dst", k->nw_dst, mk->nw_dst, AF_INET);
	}
	if (!skip_proto && mk->nw_proto != 0)
		pb_add(&b, "%s=%u,", arp ? "arp_op" : "nw_proto", k->nw_proto);
	if (mk->nw_tos != 0)
		pb_add(&b, "nw_tos=%u,", k->nw_tos);
	icmp = proto &&
	       ((ip && k->nw_proto == 1) || (ip6 && k->nw_proto == 58));
	pb_u16(&b, icmp ? "icmp_type" : "tp_src", k->tp_src, mk->tp_src);
	pb_u16(&b, icmp ? "icmp_code" : "tp_dst", k->tp_dst, mk->tp_dst);
	/* drop the trailing comma */
	if (b.n != 0) {
		b.n--;
		if (b.n < len)
			buf[b.n] = '\0';
	}
	return (int)b.n;
}

int vsw_flow_format_actions(const struct vsw_flow_actions *acts, char *buf,
			    size_t len)
{
	struct pbuf b = {.buf = buf, .len = len, .n = 0};
	unsigned i;

	if (len != 0)
		buf[0] = '\0';
	if (acts == NULL || acts->n == 0) {
		pb_add(&b, "drop");
		return (int)b.n;
	}
	for (i = 0; i < acts->n; i++) {
		const struct vsw_flow_act *a = &acts->a[i];

		if (i != 0)
			pb_add(&b, ",");
		switch (a->type) {
		case VSW_FLOW_ACT_OUTPUT:
			if (a->arg == VSW_FLOW_PORT_LOCAL)
				pb_add(&b, "LOCAL");
			else
				pb_add(&b, "output:%u", a->arg);
			break;
		case VSW_FLOW_ACT_IN_PORT:
			pb_add(&b, "IN_PORT");
			break;
		case VSW_FLOW_ACT_NORMAL:
			pb_add(&b, "NORMAL");
			break;
		case VSW_FLOW_ACT_FLOOD:
			pb_add(&b, "FLOOD");
			break;
		case VSW_FLOW_ACT_ALL:
			pb_add(&b, "ALL");
			break;
		case VSW_FLOW_ACT_CONTROLLER:
			pb_add(&b, "CONTROLLER:%u", a->arg);
			break;
		case VSW_FLOW_ACT_SET_VLAN_VID:
			pb_add(&b, "mod_vlan_vid:%u", a->arg);
			break;
		case VSW_FLOW_ACT_SET_VLAN_PCP:
			pb_add(&b, "mod_vlan_pcp:%u", a->arg);
			break;
		case VSW_FLOW_ACT_STRIP_VLAN:
			pb_add(&b, "strip_vlan");
			break;
		case VSW_FLOW_ACT_SET_DL_SRC:
		case VSW_FLOW_ACT_SET_DL_DST:
			pb_add(&b, "mod_dl_%s:%02x:%02x:%02x:%02x:%02x:%02x",
			       a->type == VSW_FLOW_ACT_SET_DL_SRC ? "src"
								  : "dst",
			       a->mac[0], a->mac[1], a->mac[2], a->mac[3],
			       a->mac[4], a->mac[5]);
			break;
		case VSW_FLOW_ACT_GOTO_TABLE:
			pb_add(&b, "goto_table:%u", a->arg);
			break;
		case VSW_FLOW_ACT_SET_NW_SRC:
		case VSW_FLOW_ACT_SET_NW_DST:
			pb_add(&b, "mod_nw_%s:%u.%u.%u.%u",
			       a->type == VSW_FLOW_ACT_SET_NW_SRC ? "src"
								  : "dst",
			       a->ip4[0], a->ip4[1], a->ip4[2], a->ip4[3]);
			break;
		case VSW_FLOW_ACT_SET_TUN_ID:
			if (a->arg == 1)
				pb_add(&b, "set_tunnel%s:0x%llx",
				       a->u64 > 0xffffffffULL ? "64" : "",
				       (unsigned long long)a->u64);
			else
				pb_add(&b, "set_field:0x%llx->tun_id",
				       (unsigned long long)a->u64);
			break;
		case VSW_FLOW_ACT_SET_TUN_SRC:
		case VSW_FLOW_ACT_SET_TUN_DST:
			pb_add(&b, "set_field:%u.%u.%u.%u->tun_%s", a->ip4[0],
			       a->ip4[1], a->ip4[2], a->ip4[3],
			       a->type == VSW_FLOW_ACT_SET_TUN_SRC ? "src"
								   : "dst");
			break;
		case VSW_FLOW_ACT_SET_TUN_METADATA:
			pb_add(&b, "set_field:0x%llx->tun_metadata%u",
			       (unsigned long long)a->u64, a->arg);
			break;
		case VSW_FLOW_ACT_SET_TUN_IPV6_SRC:
		case VSW_FLOW_ACT_SET_TUN_IPV6_DST: {
			char s6[INET6_ADDRSTRLEN];

			inet_ntop(AF_INET6, a->ip6, s6, sizeof(s6));
			pb_add(&b, "set_field:%s->tun_ipv6_%s", s6,
			       a->type == VSW_FLOW_ACT_SET_TUN_IPV6_SRC ? "src"
									: "dst");
			break;
		}
		default:
			pb_add(&b, "unknown");
			break;
		}
	}
	return (int)b.n;
}
