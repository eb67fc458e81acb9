/* SPDX-License-Identifier: MIT */
/*
 * vxlan and geneve: ports that carry Ethernet frames in VXLAN (RFC 7348,
 * UDP 4789) or Geneve (RFC 8926, UDP 6081) over UDP through the host's
 * own stack; one provider, the type name picks the header. Geneve options
 * are walked with every length checked; those the tlv_map option names
 * ({class=C,type=T,len=4 or 8}->tun_metadataN, N 0 .. 7) become tunnel
 * metadata, the
 * others are skipped (an unmapped critical one, or the C bit without a
 * map, drops the packet, as does an OAM packet, a version other than 0 or
 * a protocol other than Ethernet; reserved bits are ignored, as RFC 8926
 * says). Sent: the options of the tun_metadata fields a rule set.
 *
 * Tunnel metadata (vsw/pkt.h): every received frame gets tun_id (the VNI)
 * and the outer addresses: tun_src / tun_dst over IPv4, tun_ipv6_src /
 * tun_ipv6_dst over IPv6 (the destination from IP_PKTINFO / IPV6_PKTINFO
 * when the socket is bound to any address). Flow-based ports:
 * remote_ip=flow sends each frame to its tun_dst or tun_ipv6_dst and takes
 * datagrams from any sender; without a fixed local_ip it has one
 * dual-stack IPv6 socket (IPv4 peers as v4-mapped addresses), so both
 * underlays work through one port, as in Open vSwitch. key=flow sends its
 * tun_id as VNI and takes any VNI. local_ip=flow sends from the frame's
 * tun_src / tun_ipv6_src (IP_PKTINFO / IPV6_PKTINFO per datagram; a frame
 * without one leaves from the route's source address). Such ports (and
 * geneve ports with a tlv_map) build a header and a destination per staged
 * datagram; fixed ports keep the one shared header and peer.
 * Below, "VXLAN" stands for both where the header makes no difference.
 *
 * vxlan: through the host's own stack: the kernel routes the outer packet,
 * resolves its next hop (ARP / ND) and writes the outer IP header, so no
 * kernel module and no raw socket are needed.
 *
 * Options (the Open vSwitch names): remote_ip (IPv4 or IPv6, or flow;
 * mandatory), local_ip (same family, or flow; the address to bind and send
 * from),
 * key (the VNI, 0 .. 2^24-1 or flow, default 0), tlv_map (geneve), dst_port
 * (default 4789), ttl (default 64), tos
 * (default 0), csum (outer UDP checksum: default true for IPv6, false for
 * IPv4).
 *
 * RX: one UDP socket bound to [local_ip]:dst_port. recvmmsg() takes a
 * whole burst in one system call, straight into the pool's packets: the
 * 8-byte VXLAN header into a side buffer, the inner frame into the packet.
 * The socket is the rxq's wait fd (level-triggered: nothing to arm). Its
 * receive buffer is set past net.core.rmem_max (SO_RCVBUFFORCE); status
 * shows its size and the datagrams the kernel dropped because it was full
 * (SO_MEMINFO), the one loss on this port's path no reason counter sees.
 *
 * TX: the UDP source port comes from a hash of the inner flow (Ethernet
 * addresses and type, IP addresses, protocol, TCP/UDP ports), so the
 * underlay's ECMP and RSS spread the flows. A UDP socket has one source
 * port, so the port has VXLAN_LANES send sockets ("lanes"), each bound to
 * its own port in 49152..65535 (the kernel vxlan device's default range);
 * the flow hash picks the lane, so one flow always leaves from one source
 * port and stays in order. A burst is staged per lane and sent with one
 * sendmmsg() per lane used. The lanes set IP_PMTUDISC_DO: a datagram
 * larger than the path MTU fails with EMSGSIZE and is dropped and counted
 * (tx_too_big), never fragmented. A lane never reads: a drop-all socket
 * filter keeps stray datagrams to its port from queueing.
 *
 * Offloads: the underlay is a UDP socket, which takes no virtio-net
 * metadata, so a frame with a partial checksum is completed and a TSO/USO
 * frame segmented in software (vsw_port_sw_offload()) before it is
 * encapsulated; the finished frames are copied into staging slots and go
 * out in the same sendmmsg() as the rest of the burst.
 *
 * Security model: every datagram on the socket is untrusted (anyone who
 * can reach dst_port can send one). It is checked completely before its
 * inner frame is used: sender address equal to remote_ip (any sender for
 * remote_ip=flow: the rules judge tun_src), length (a VXLAN header and at
 * least an Ethernet header, not truncated), flags exactly the I bit with
 * every reserved bit zero, VNI equal to key (any for key=flow). A failing
 * datagram is dropped and counted by reason (status) and as bad_frame in
 * the rxq's counters; nothing is logged per packet.
 *
 * Threads: one rxq (the rx socket and arrays belong to its owner) and one
 * txq (lanes and staging belong to the sending thread; the switch
 * serialises senders). The reason counters have one writer each (rx ones
 * the rxq owner, tx ones the sender) and are read by status on the
 * control thread: vsw_ctr_add() / vsw_load_relaxed().
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/sock_diag.h>

#include <vsw/port.h>
#include <vsw/virtio_net.h>

#include "tap_priv.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"

#define VXLAN_HLEN 8
#define VXLAN_FLAG_I 0x08
#define VXLAN_DEFAULT_PORT 4789
#define GENEVE_DEFAULT_PORT 6081
#define GENEVE_PROTO_ETH 0x6558	 /* Transparent Ethernet Bridging */
#define GENEVE_FLAG_O 0x80	 /* in byte 1: a control (OAM) packet */
#define GENEVE_FLAG_C 0x40	 /* in byte 1: critical options present */
#define GENEVE_OPT_CRITICAL 0x80 /* in an option's type */
#define VXLAN_LANES 8
/* Frames staged per lane before a flush: a burst plus a TSO frame's segments. */
#define VXLAN_STAGE 64
/* Bytes of a staging slot for a frame finished in software. */
#define VXLAN_SLOT_LEN 2048
#define VXLAN_SPORT_MIN 49152
#define VXLAN_SOCK_BUF (4 << 20)
#define VXLAN_SPORT_N 16384
/* geneve options mapped to tun_metadata (tlv_map), 4 or 8 data bytes each */
#define GENEVE_TLV_MAX VSW_PKT_TUN_META
#define GENEVE_OPT_HLEN 4
#define GENEVE_TLV_LEN VSW_PKT_TUN_META_LEN
/* Longest header sent: geneve with every mapped option. */
#define VXLAN_HMAX                                                             \
	(VXLAN_HLEN + GENEVE_TLV_MAX * (GENEVE_OPT_HLEN + GENEVE_TLV_LEN))
/* Room for the one pktinfo control message of a datagram (either family). */
#define VXLAN_CTL_LEN CMSG_SPACE(sizeof(struct in6_pktinfo))

#ifndef UDP_NO_CHECK6_TX
#define UDP_NO_CHECK6_TX 101
#endif
#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif

/* Why a datagram or frame was dropped; one counter each, see status. */
enum vxlan_drop {
	VXD_RX_SHORT,	 /* shorter than VXLAN + Ethernet headers */
	VXD_RX_TRUNC,	 /* larger than a packet buffer */
	VXD_RX_FLAGS,	 /* I bit clear or a reserved flag bit set */
	VXD_RX_RESERVED, /* a reserved field not zero */
	VXD_RX_VNI,	 /* VNI other than key */
	VXD_RX_SOURCE,	 /* sender is not remote_ip */
	VXD_RX_VERSION,	 /* geneve: a version other than 0 */
	VXD_RX_PROTO,	 /* geneve: a protocol other than Ethernet */
	VXD_RX_OAM,	 /* geneve: a control packet (O bit) */
	VXD_RX_OPTIONS,	 /* geneve: options malformed, or a critical one */
	VXD_TX_TOO_BIG,	 /* larger than the path MTU (EMSGSIZE) */
	VXD_TX_OFFLOAD,	 /* offload metadata that cannot be completed */
	VXD_TX_ERROR,	 /* any other send error */
	VXD_TX_NO_DST,	 /* remote_ip=flow, the packet has no tun_dst */
	VXD__COUNT
};

/* As status shows them (it has 128 bytes: short names, non-zero only). */
static const char *const vxlan_drop_names[VXD__COUNT] = {
	[VXD_RX_SHORT] = "short",     [VXD_RX_TRUNC] = "rx_big",
	[VXD_RX_FLAGS] = "flags",     [VXD_RX_RESERVED] = "reserved",
	[VXD_RX_VNI] = "vni",	      [VXD_RX_SOURCE] = "source",
	[VXD_TX_TOO_BIG] = "mtu",     [VXD_TX_OFFLOAD] = "offload",
	[VXD_TX_ERROR] = "tx_error",  [VXD_RX_VERSION] = "version",
	[VXD_RX_PROTO] = "proto",     [VXD_RX_OAM] = "oam",
	[VXD_RX_OPTIONS] = "options", [VXD_TX_NO_DST] = "no_tun_dst",
};

union vxlan_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct vxlan_lane {
	int fd;
	uint16_t sport;
	unsigned n; /* staged */
	struct mmsghdr msg[VXLAN_STAGE];
	struct iovec iov[VXLAN_STAGE][2];
	/* per-packet header and destination (vxlan_port.per_pkt only) */
	uint8_t hdr[VXLAN_STAGE][VXLAN_HMAX];
	union vxlan_addr dst[VXLAN_STAGE];
	/* per-packet source (local_ip=flow only) */
	uint8_t ctl[VXLAN_STAGE][VXLAN_CTL_LEN] __attribute__((aligned(8)));
};

/* One tlv_map entry: {class=C,type=T,len=L}->tun_metadataN. */
struct geneve_tlv {
	uint16_t cls;
	uint8_t type;  /* including the critical bit */
	uint8_t field; /* N */
	uint8_t len;   /* data bytes: 4 or 8 */
};

/* What one frame is sent with (the header, where to, from where). */
struct vxlan_txh {
	const uint8_t *hdr;
	unsigned hlen;
	const union vxlan_addr *dst;
	const uint8_t *ctl; /* a pktinfo message choosing the source, or NULL */
	size_t ctl_len;
};

struct vxlan_port {
	struct vsw_port *port;
	int family;
	socklen_t alen;
	union vxlan_addr remote; /* remote_ip:dst_port */
	union vxlan_addr local;	 /* [local_ip]:dst_port */
	bool has_local;
	bool geneve; /* RFC 8926 instead of RFC 7348 */
	bool remote_flow; /* remote_ip=flow: tun_dst picks the peer */
	bool local_flow;  /* local_ip=flow: tun_src picks the source */
	bool dual;	  /* AF_INET6 socket taking IPv4 too (v4-mapped) */
	bool key_flow;	  /* key=flow: any VNI in, tun_id out */
	bool per_pkt;	  /* a header per packet (flow, or options) */
	bool pktinfo;	  /* tun_dst of received packets from IP_PKTINFO */
	unsigned n_tlv;
	struct geneve_tlv tlv[GENEVE_TLV_MAX];
	uint32_t vni;
	unsigned dst_port, ttl, tos;
	bool csum;
	uint8_t hdr[VXLAN_HLEN]; /* what every sent datagram begins with */
	int rx_fd;

	/* rx, owner of the rxq */
	struct mmsghdr rmsg[VSW_PORT_BURST];
	struct iovec riov[VSW_PORT_BURST][2];
	uint8_t rhdr[VSW_PORT_BURST][VXLAN_HLEN];
	union vxlan_addr rsrc[VSW_PORT_BURST];
	/* IP(V6)_PKTINFO: the destination of each datagram (pktinfo) */
	uint8_t rctl[VSW_PORT_BURST][VXLAN_CTL_LEN] __attribute__((aligned(8)));

	/* tx, the sending thread */
	struct vxlan_lane lane[VXLAN_LANES];
	unsigned slots_used;
	uint8_t (*slot)[VXLAN_SLOT_LEN]; /* VXLAN_STAGE slots */
	uint8_t *scratch;		 /* VSW_PKT_MAX_LEN, sw offloads */

	uint64_t drops[VXD__COUNT];
};

/* ------------------------------------------------------------------ */
/* Flow hash                                                           */
/* ------------------------------------------------------------------ */

static inline uint32_t vxlan_mix(uint32_t h, const uint8_t *p, size_t n)
{
	size_t i;

	/* FNV-1a: cheap, and good enough to pick a lane */
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/*
 * Hash of the inner flow: MAC addresses and EtherType (after one VLAN
 * tag), IPv4 / IPv6 addresses and protocol, and the TCP / UDP / SCTP ports
 * of an unfragmented packet. Both directions of a flow need not hash the
 * same: only the sending side's spreading matters.
 */
static uint32_t vxlan_flow_hash(const uint8_t *f, uint32_t len)
{
	uint32_t h = 2166136261u, off = 12, l4 = 0;
	uint16_t type;
	uint8_t proto = 0;

	if (len < ETH_HLEN)
		return h;
	h = vxlan_mix(h, f, 12);
	type = (uint16_t)(f[12] << 8 | f[13]);
	if ((type == ETH_P_8021Q || type == ETH_P_8021AD) && len >= 18) {
		off = 16;
		type = (uint16_t)(f[16] << 8 | f[17]);
	}
	h = vxlan_mix(h, f + off, 2);
	off += 2;
	if (type == ETH_P_IP && len >= off + 20) {
		uint32_t ihl = (f[off] & 15u) * 4;
		bool frag = ((f[off + 6] & 0x3f) | f[off + 7]) != 0;

		proto = f[off + 9];
		h = vxlan_mix(h, f + off + 9, 1);
		h = vxlan_mix(h, f + off + 12, 8);
		if (!frag && ihl >= 20)
			l4 = off + ihl;
	} else if (type == ETH_P_IPV6 && len >= off + 40) {
		proto = f[off + 6];
		h = vxlan_mix(h, f + off + 6, 1);
		h = vxlan_mix(h, f + off + 8, 32);
		l4 = off + 40;
	}
	if (l4 != 0 && len >= l4 + 4 &&
	    (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	     proto == IPPROTO_SCTP))
		h = vxlan_mix(h, f + l4, 4);
	return h ^ (h >> 16);
}

/* ------------------------------------------------------------------ */
/* Options and sockets                                                 */
/* ------------------------------------------------------------------ */

static int vxlan_parse_ip(const char *s, unsigned port, union vxlan_addr *a,
			  socklen_t *alen)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->in4.sin_addr) == 1) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons((uint16_t)port);
		*alen = sizeof(a->in4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		*alen = sizeof(a->in6);
		return AF_INET6;
	}
	return -EINVAL;
}

/* The address of a (no port) into buf of INET6_ADDRSTRLEN bytes. */
static void vxlan_ntop(const union vxlan_addr *a, char *buf)
{
	const void *ip = a->sa.sa_family == AF_INET
				 ? (const void *)&a->in4.sin_addr
				 : (const void *)&a->in6.sin6_addr;

	if (inet_ntop(a->sa.sa_family, ip, buf, INET6_ADDRSTRLEN) == NULL)
		snprintf(buf, INET6_ADDRSTRLEN, "?");
}

static bool vxlan_addr_unusable(const union vxlan_addr *a)
{
	if (a->sa.sa_family == AF_INET) {
		uint32_t v = ntohl(a->in4.sin_addr.s_addr);

		return v == 0 || v == 0xffffffffu || (v >> 28) == 0xe;
	}
	/* link-local would need a scope (interface) option: not offered */
	return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr) ||
	       IN6_IS_ADDR_MULTICAST(&a->in6.sin6_addr) ||
	       IN6_IS_ADDR_LINKLOCAL(&a->in6.sin6_addr);
}

static int vxlan_opt_bool(const struct vsw_port_opt *opts, unsigned n_opts,
			  const char *key, bool def, bool *out, char *err,
			  size_t err_len)
{
	const char *v = vsw_port_opt_get(opts, n_opts, key);

	if (v == NULL)
		*out = def;
	else if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else {
		vsw_port_errf(err, err_len,
			      "option %s=%s: expected true or false", key, v);
		return -EINVAL;
	}
	return 0;
}

/*
 * tlv_map: the geneve options carried as tun_metadata0 .. 7, in the syntax
 * of ovs-ofctl add-tlv-map: "{class=0xffff,type=0,len=4}->tun_metadata0"
 * entries separated by commas. len is 4 or 8 (the fields hold 64 bits;
 * Open vSwitch's go up to 124 bytes and tun_metadata63).
 */
static int geneve_parse_tlv_map(struct vxlan_port *vx, const char *v, char *err,
				size_t err_len)
{
	const char *p = v;

	if (v == NULL)
		return 0;
	if (!vx->geneve) {
		vsw_port_errf(err, err_len,
			      "option tlv_map: only for type=geneve");
		return -EINVAL;
	}
	while (*p != '\0') {
		int cls, type, len, used = -1;
		unsigned field, k;

		if (sscanf(p, "{class=%i,type=%i,len=%i}->tun_metadata%u%n",
			   &cls, &type, &len, &field, &used) != 4 ||
		    used < 0)
			goto bad;
		if (cls < 0 || cls > 0xffff || type < 0 || type > 0xff ||
		    (len != 4 && len != GENEVE_TLV_LEN) ||
		    field >= GENEVE_TLV_MAX || vx->n_tlv == GENEVE_TLV_MAX)
			goto bad;
		for (k = 0; k < vx->n_tlv; k++)
			if (vx->tlv[k].field == field ||
			    (vx->tlv[k].cls == (unsigned)cls &&
			     vx->tlv[k].type == (unsigned)type))
				goto bad;
		vx->tlv[vx->n_tlv++] = (struct geneve_tlv){
			(uint16_t)cls, (uint8_t)type, (uint8_t)field,
			(uint8_t)len};
		p += used;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	return 0;
bad:
	vsw_port_errf(err, err_len,
		      "tlv_map=%s: expected {class=C,type=T,len=L}->"
		      "tun_metadataN[,...] with C <= 0xffff, T <= 0xff, L 4 or "
		      "%u, N 0 .. %u, each class/type and field once",
		      v, GENEVE_TLV_LEN, GENEVE_TLV_MAX - 1);
	return -EINVAL;
}

static int vxlan_parse(struct vxlan_port *vx, const struct vsw_port_opt *opts,
		       unsigned n_opts, char *err, size_t err_len)
{
	static const char *const known[] = {"remote_ip", "local_ip", "key",
					    "dst_port",	 "ttl",	     "tos",
					    "csum",	 "tlv_map",  NULL};
	const char *remote, *local;
	unsigned key;
	socklen_t alen;
	int ret = 0;

	ret = vsw_port_opts_check(vx->port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	vx->geneve = strcmp(vsw_port_type(vx->port), "geneve") == 0;
	vx->key_flow = vsw_port_opt_get(opts, n_opts, "key") != NULL &&
		       strcmp(vsw_port_opt_get(opts, n_opts, "key"), "flow") ==
			       0;
	if (vx->key_flow)
		key = 0;
	else
		ret = vsw_port_opt_uint(opts, n_opts, "key", 0, 0, 0xffffff,
					&key, err, err_len);
	if (ret == 0)
		ret = vsw_port_opt_uint(opts, n_opts, "dst_port",
					vx->geneve ? GENEVE_DEFAULT_PORT
						   : VXLAN_DEFAULT_PORT,
					1, 65535, &vx->dst_port, err, err_len);
	if (ret == 0)
		ret = vsw_port_opt_uint(opts, n_opts, "ttl", 64, 1, 255,
					&vx->ttl, err, err_len);
	if (ret == 0)
		ret = vsw_port_opt_uint(opts, n_opts, "tos", 0, 0, 255,
					&vx->tos, err, err_len);
	if (ret < 0)
		return ret;
	vx->vni = key;
	remote = vsw_port_opt_get(opts, n_opts, "remote_ip");
	if (remote == NULL) {
		vsw_port_errf(err, err_len,
			      "option remote_ip (an IPv4 or IPv6 "
			      "address) is required");
		return -EINVAL;
	}
	local = vsw_port_opt_get(opts, n_opts, "local_ip");
	if (local != NULL && strcmp(local, "flow") == 0) {
		/* the source of each frame: its tun_src / tun_ipv6_src */
		vx->local_flow = true;
		local = NULL;
	}
	if (strcmp(remote, "flow") == 0) {
		/*
		 * The peer comes from each packet's tun_dst / tun_ipv6_dst
		 * and any sender is taken. A fixed local_ip sets the
		 * underlay's family; without one, a dual-stack socket
		 * takes both.
		 */
		union vxlan_addr la;
		socklen_t ll;
		int lf = local != NULL
				 ? vxlan_parse_ip(local, vx->dst_port, &la, &ll)
				 : AF_INET6;

		vx->remote_flow = true;
		vx->dual = local == NULL;
		vx->family = lf == AF_INET ? AF_INET : AF_INET6;
		if (vx->family == AF_INET) {
			vx->alen = sizeof(vx->remote.in4);
			vx->remote.in4.sin_family = AF_INET;
			vx->remote.in4.sin_port = htons((uint16_t)vx->dst_port);
		} else {
			vx->alen = sizeof(vx->remote.in6);
			vx->remote.in6.sin6_family = AF_INET6;
			vx->remote.in6.sin6_port =
				htons((uint16_t)vx->dst_port);
		}
	} else {
		vx->family = vxlan_parse_ip(remote, vx->dst_port, &vx->remote,
					    &vx->alen);
	}
	if (vx->family < 0 ||
	    (!vx->remote_flow && vxlan_addr_unusable(&vx->remote))) {
		vsw_port_errf(err, err_len,
			      "remote_ip=%s: expected a unicast IPv4 or "
			      "IPv6 address, not link-local, or flow",
			      remote);
		return -EINVAL;
	}
	if (local != NULL) {
		if (vxlan_parse_ip(local, vx->dst_port, &vx->local, &alen) !=
			    vx->family ||
		    vxlan_addr_unusable(&vx->local)) {
			vsw_port_errf(err, err_len,
				      vx->remote_flow
					      ? "local_ip=%s: expected a unicast "
						"IPv4 or IPv6 address, or flow%.0s"
					      : "local_ip=%s: expected a unicast "
						"%s address (the family of "
						"remote_ip), or flow",
				      local,
				      vx->family == AF_INET ? "IPv4" : "IPv6");
			return -EINVAL;
		}
		vx->has_local = true;
	} else {
		vx->local.sa.sa_family = (sa_family_t)vx->family;
		if (vx->family == AF_INET)
			vx->local.in4.sin_port = htons((uint16_t)vx->dst_port);
		else
			vx->local.in6.sin6_port = htons((uint16_t)vx->dst_port);
	}
	ret = vxlan_opt_bool(opts, n_opts, "csum", vx->family == AF_INET6,
			     &vx->csum, err, err_len);
	if (ret == 0)
		ret = geneve_parse_tlv_map(
			vx, vsw_port_opt_get(opts, n_opts, "tlv_map"), err,
			err_len);
	if (ret < 0)
		return ret;
	vx->per_pkt = vx->remote_flow || vx->key_flow || vx->local_flow ||
		      vx->n_tlv != 0;
	/* tun_dst of what arrives: the bound address, or per datagram */
	vx->pktinfo = !vx->has_local;
	if (vx->geneve) {
		/* version 0, no options, O and C clear */
		vx->hdr[2] = GENEVE_PROTO_ETH >> 8;
		vx->hdr[3] = GENEVE_PROTO_ETH & 0xff;
	} else {
		vx->hdr[0] = VXLAN_FLAG_I;
	}
	vx->hdr[4] = (uint8_t)(vx->vni >> 16);
	vx->hdr[5] = (uint8_t)(vx->vni >> 8);
	vx->hdr[6] = (uint8_t)vx->vni;
	return 0;
}

/* A setsockopt that must work; its name for the message. */
static int vxlan_sockopt(int fd, int level, int name, int val, const char *what,
			 char *err, size_t err_len)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) == 0)
		return 0;
	vsw_port_errf(err, err_len, "setsockopt %s: %s", what, strerror(errno));
	return -errno;
}

static int vxlan_socket(const struct vxlan_port *vx, char *err, size_t err_len)
{
	int fd = socket(vx->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_UDP);
	int ret;

	if (fd < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "socket: %s", strerror(-ret));
		return ret;
	}
	if (vx->family == AF_INET6) {
		ret = vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, !vx->dual,
				    "IPV6_V6ONLY", err, err_len);
		if (ret < 0)
			goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

static int vxlan_rx_open(struct vxlan_port *vx, char *err, size_t err_len)
{
	char a[INET6_ADDRSTRLEN];
	int fd, ret;

	fd = vxlan_socket(vx, err, err_len);
	if (fd < 0)
		return fd;
	/*
	 * Room for bursts while the data thread is away (descheduled on a
	 * busy host: at 500k datagrams/s, 10 ms is 5000 of them). Plain
	 * SO_RCVBUF is capped by net.core.rmem_max (208 KiB on a stock
	 * kernel: some 270 small datagrams), so ask with SO_RCVBUFFORCE
	 * first (vswd keeps CAP_NET_ADMIN); best effort either way. What
	 * overflows anyway is counted by the kernel and shown in status.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){VXLAN_SOCK_BUF},
		       sizeof(int)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
				 &(int){VXLAN_SOCK_BUF}, sizeof(int));
	/* peers that send zero UDP checksums over IPv6 (RFC 6935) */
	if (vx->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_UDP, UDP_NO_CHECK6_RX, &(int){1},
				 sizeof(int));
	if (vx->pktinfo) {
		ret = vx->family == AF_INET
			      ? vxlan_sockopt(fd, IPPROTO_IP, IP_PKTINFO, 1,
					      "IP_PKTINFO", err, err_len)
			      : vxlan_sockopt(fd, IPPROTO_IPV6,
					      IPV6_RECVPKTINFO, 1,
					      "IPV6_RECVPKTINFO", err, err_len);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	if (bind(fd, &vx->local.sa, vx->alen) < 0) {
		ret = -errno;
		vxlan_ntop(&vx->local, a);
		vsw_port_errf(err, err_len, "bind UDP %s port %u: %s%s", a,
			      vx->dst_port, strerror(-ret),
			      ret == -EADDRINUSE
				      ? " (another tunnel or a kernel vxlan "
					"device has it)"
				      : "");
		close(fd);
		return ret;
	}
	vx->rx_fd = fd;
	return 0;
}

static int vxlan_lane_open(struct vxlan_port *vx, unsigned i, char *err,
			   size_t err_len)
{
	static struct sock_filter drop_all[] = {
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = 1, .filter = drop_all};
	struct vxlan_lane *l = &vx->lane[i];
	union vxlan_addr a = vx->local;
	unsigned k, start;
	int fd, ret;

	fd = vxlan_socket(vx, err, err_len);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) <
	    0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "SO_ATTACH_FILTER: %s",
			      strerror(-ret));
		goto err;
	}
	ret = 0;
	/* a dual-stack socket sends IPv4 too: both sets of options */
	if (vx->family == AF_INET || vx->dual) {
		ret = vxlan_sockopt(fd, IPPROTO_IP, IP_TTL, (int)vx->ttl,
				    "IP_TTL", err, err_len);
		if (ret == 0)
			ret = vxlan_sockopt(fd, IPPROTO_IP, IP_TOS,
					    (int)vx->tos, "IP_TOS", err,
					    err_len);
		if (ret == 0)
			ret = vxlan_sockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER,
					    IP_PMTUDISC_DO, "IP_MTU_DISCOVER",
					    err, err_len);
		if (ret == 0)
			ret = vxlan_sockopt(fd, SOL_SOCKET, SO_NO_CHECK,
					    !vx->csum, "SO_NO_CHECK", err,
					    err_len);
	}
	if (ret == 0 && vx->family == AF_INET6) {
		ret = vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS,
				    (int)vx->ttl, "IPV6_UNICAST_HOPS", err,
				    err_len);
		if (ret == 0)
			ret = vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_TCLASS,
					    (int)vx->tos, "IPV6_TCLASS", err,
					    err_len);
		if (ret == 0)
			ret = vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
					    IPV6_PMTUDISC_DO,
					    "IPV6_MTU_DISCOVER", err, err_len);
		if (ret == 0 && !vx->csum)
			ret = vxlan_sockopt(fd, IPPROTO_UDP, UDP_NO_CHECK6_TX,
					    1, "UDP_NO_CHECK6_TX", err,
					    err_len);
	}
	if (ret < 0)
		goto err;
	/* a free port of the range, from a start that differs per lane */
	start = (vxlan_flow_hash((const uint8_t *)vsw_port_name(vx->port),
				 (uint32_t)strlen(vsw_port_name(vx->port))) +
		 i * (VXLAN_SPORT_N / VXLAN_LANES) + (unsigned)getpid()) %
		VXLAN_SPORT_N;
	ret = -EADDRINUSE;
	for (k = 0; k < 256 && ret == -EADDRINUSE; k++) {
		uint16_t p = (uint16_t)(VXLAN_SPORT_MIN +
					(start + k * 61u) % VXLAN_SPORT_N);

		if (vx->family == AF_INET)
			a.in4.sin_port = htons(p);
		else
			a.in6.sin6_port = htons(p);
		if (bind(fd, &a.sa, vx->alen) == 0) {
			l->sport = p;
			ret = 0;
		} else {
			ret = -errno;
		}
	}
	if (ret < 0) {
		vsw_port_errf(err, err_len, "no source port free in %u..%u: %s",
			      VXLAN_SPORT_MIN,
			      VXLAN_SPORT_MIN + VXLAN_SPORT_N - 1,
			      strerror(-ret));
		goto err;
	}
	l->fd = fd;
	for (k = 0; k < VXLAN_STAGE; k++) {
		l->msg[k].msg_hdr.msg_name = &vx->remote;
		l->msg[k].msg_hdr.msg_namelen = vx->alen;
		l->msg[k].msg_hdr.msg_iov = l->iov[k];
		l->msg[k].msg_hdr.msg_iovlen = 2;
		l->iov[k][0].iov_base = vx->hdr;
		l->iov[k][0].iov_len = VXLAN_HLEN;
	}
	return 0;
err:
	close(fd);
	return ret;
}

static void vxlan_free(struct vxlan_port *vx)
{
	unsigned i;

	if (vx == NULL)
		return;
	if (vx->rx_fd >= 0)
		close(vx->rx_fd);
	for (i = 0; i < VXLAN_LANES; i++)
		if (vx->lane[i].fd >= 0)
			close(vx->lane[i].fd);
	free(vx->slot);
	free(vx->scratch);
	free(vx);
}

static int vxlan_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		      unsigned n_opts, char *err, size_t err_len)
{
	char a[INET6_ADDRSTRLEN], sp[VXLAN_LANES * 6 + 1];
	struct vxlan_port *vx;
	unsigned i;
	int ret, n;

	vx = calloc(1, sizeof(*vx));
	if (vx == NULL)
		return -ENOMEM;
	vx->port = port;
	vx->rx_fd = -1;
	for (i = 0; i < VXLAN_LANES; i++)
		vx->lane[i].fd = -1;
	ret = vxlan_parse(vx, opts, n_opts, err, err_len);
	if (ret < 0)
		goto err;
	vx->slot = malloc(sizeof(*vx->slot) * VXLAN_STAGE);
	vx->scratch = malloc(VSW_PKT_MAX_LEN);
	if (vx->slot == NULL || vx->scratch == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	ret = vxlan_rx_open(vx, err, err_len);
	for (i = 0; ret == 0 && i < VXLAN_LANES; i++)
		ret = vxlan_lane_open(vx, i, err, err_len);
	if (ret < 0)
		goto err;
	for (i = 0; i < VSW_PORT_BURST; i++) {
		if (vx->pktinfo) {
			vx->rmsg[i].msg_hdr.msg_control = vx->rctl[i];
		}
		vx->rmsg[i].msg_hdr.msg_iov = vx->riov[i];
		vx->rmsg[i].msg_hdr.msg_iovlen = 2;
		vx->riov[i][0].iov_base = vx->rhdr[i];
		vx->riov[i][0].iov_len = VXLAN_HLEN;
	}
	vsw_port_set_priv(port, vx);
	if (vx->remote_flow)
		snprintf(a, sizeof(a), "flow");
	else
		vxlan_ntop(&vx->remote, a);
	n = 0;
	for (i = 0; i < VXLAN_LANES && n >= 0 && (size_t)n < sizeof(sp); i++)
		n += snprintf(sp + n, sizeof(sp) - (size_t)n, "%s%u",
			      i ? " " : "", vx->lane[i].sport);
	vsw_port_log(
		port, VSW_LOG_INFO,
		"%s to %s port %u, vni %s%.0u, source ports by flow hash: %s",
		vsw_port_type(port), a, vx->dst_port,
		vx->key_flow ? "flow" : "", vx->key_flow ? 0 : vx->vni, sp);
	return 0;
err:
	vxlan_free(vx);
	return ret;
}

static void vxlan_close(struct vsw_port *port)
{
	vxlan_free(vsw_port_priv(port));
	vsw_port_set_priv(port, NULL);
}

static unsigned vxlan_n_queues(const struct vsw_port *port)
{
	(void)port;
	return 1;
}

/*
 * " rcvbuf NK overflow M, drops:" into buf: the receive buffer the kernel
 * gave the tunnel socket and the datagrams it dropped because that buffer
 * was full (SK_MEMINFO_DROPS: they never reached vsw, so no reason counter
 * of the port sees them). Control thread; the fd lives as long as the port.
 */
static int vxlan_status_socket(const struct vxlan_port *vx, char *buf,
			       size_t len)
{
	uint32_t mi[SK_MEMINFO_VARS] = {0};
	socklen_t ml = sizeof(mi), il = sizeof(int);
	int rcvbuf = 0;

	(void)getsockopt(vx->rx_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &il);
	if (getsockopt(vx->rx_fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) < 0 ||
	    ml <= SK_MEMINFO_DROPS * sizeof(mi[0]))
		return snprintf(buf, len, " rcvbuf %dK, drops:", rcvbuf / 1024);
	return snprintf(buf, len,
			" rcvbuf %dK overflow %u, drops:", rcvbuf / 1024,
			mi[SK_MEMINFO_DROPS]);
}

static void vxlan_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct vxlan_port *vx = vsw_port_priv(port);
	char a[INET6_ADDRSTRLEN];
	bool none = true;
	unsigned i;
	int n;

	if (vx->remote_flow)
		snprintf(a, sizeof(a), "flow");
	else
		vxlan_ntop(&vx->remote, a);
	if (vx->key_flow)
		n = snprintf(buf, len,
			     vx->family == AF_INET || vx->remote_flow
				     ? "to %s:%u vni flow,"
				     : "to [%s]:%u vni flow,",
			     a, vx->dst_port);
	else
		n = snprintf(buf, len,
			     vx->family == AF_INET || vx->remote_flow
				     ? "to %s:%u vni %u,"
				     : "to [%s]:%u vni %u,",
			     a, vx->dst_port, vx->vni);
	if (n >= 0 && (size_t)n < len)
		n += vxlan_status_socket(vx, buf + n, len - (size_t)n);
	for (i = 0; i < VXD__COUNT && n >= 0 && (size_t)n < len; i++) {
		uint64_t c = vsw_load_relaxed(&vx->drops[i]);

		if (c != 0) {
			n += snprintf(buf + n, len - (size_t)n, " %s %llu",
				      vxlan_drop_names[i],
				      (unsigned long long)c);
			none = false;
		}
	}
	if (none && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " none");
}

/* ------------------------------------------------------------------ */
/* Receive                                                             */
/* ------------------------------------------------------------------ */

static bool vxlan_src_ok(const struct vxlan_port *vx, const struct mmsghdr *m,
			 const union vxlan_addr *s)
{
	if (m->msg_hdr.msg_namelen != vx->alen || s->sa.sa_family != vx->family)
		return false;
	if (vx->remote_flow)
		return true; /* any peer: tun_src tells the rules which */
	if (vx->family == AF_INET)
		return s->in4.sin_addr.s_addr == vx->remote.in4.sin_addr.s_addr;
	return memcmp(&s->in6.sin6_addr, &vx->remote.in6.sin6_addr,
		      sizeof(s->in6.sin6_addr)) == 0;
}

static inline uint32_t vxlan_vni_of(const uint8_t *h)
{
	return (uint32_t)h[4] << 16 | (uint32_t)h[5] << 8 | h[6];
}

/*
 * Geneve: the options (optlen bytes at the start of the inner data) are
 * walked, every length checked; none is understood, so a critical one
 * (or the C bit) drops the packet as RFC 8926 asks, the others are
 * skipped. Reserved bits are ignored on receipt (RFC 8926, 3.4).
 */
static enum vxlan_drop geneve_check(const struct vxlan_port *vx,
				    const uint8_t *h, const uint8_t *opt,
				    uint32_t len, uint32_t *optlen,
				    struct vsw_pkt_tun *t)
{
	uint32_t n = (h[0] & 0x3fu) * 4, off = 0;
	unsigned k;

	if (h[0] >> 6 != 0)
		return VXD_RX_VERSION;
	if (len < n + ETH_HLEN)
		return VXD_RX_SHORT;
	if ((h[1] & GENEVE_FLAG_O) != 0)
		return VXD_RX_OAM;
	if ((uint16_t)(h[2] << 8 | h[3]) != GENEVE_PROTO_ETH)
		return VXD_RX_PROTO;
	if (!vx->key_flow && vxlan_vni_of(h) != vx->vni)
		return VXD_RX_VNI;
	if ((h[1] & GENEVE_FLAG_C) != 0 && vx->n_tlv == 0)
		return VXD_RX_OPTIONS;
	while (off < n) {
		uint32_t l;
		bool known = false;

		if (n - off < 4)
			return VXD_RX_OPTIONS;
		l = 4 + (opt[off + 3] & 0x1fu) * 4;
		if (l > n - off)
			return VXD_RX_OPTIONS;
		/* a tlv_map option is understood: kept as tun_metadataN */
		for (k = 0; k < vx->n_tlv; k++) {
			const struct geneve_tlv *g = &vx->tlv[k];

			uint64_t v = 0;
			unsigned b;

			if ((uint16_t)(opt[off] << 8 | opt[off + 1]) !=
				    g->cls ||
			    opt[off + 2] != g->type ||
			    l != GENEVE_OPT_HLEN + (uint32_t)g->len)
				continue;
			for (b = 0; b < g->len; b++)
				v = v << 8 | opt[off + GENEVE_OPT_HLEN + b];
			t->ext.meta[g->field] = v;
			t->meta_set |= (uint8_t)(1u << g->field);
			known = true;
		}
		if (!known && (opt[off + 2] & GENEVE_OPT_CRITICAL) != 0)
			return VXD_RX_OPTIONS;
		off += l;
	}
	*optlen = n;
	return VXD__COUNT;
}

/*
 * The reason datagram i is not usable, or VXD__COUNT if it is; then
 * *skip bytes of options lead its inner frame (geneve).
 */
static enum vxlan_drop vxlan_check(const struct vxlan_port *vx, unsigned i,
				   const uint8_t *data, uint32_t *skip,
				   struct vsw_pkt_tun *t)
{
	const struct mmsghdr *m = &vx->rmsg[i];
	const uint8_t *h = vx->rhdr[i];

	*skip = 0;
	if (!vxlan_src_ok(vx, m, &vx->rsrc[i]))
		return VXD_RX_SOURCE;
	if (m->msg_hdr.msg_flags & MSG_TRUNC)
		return VXD_RX_TRUNC;
	if (m->msg_len < VXLAN_HLEN + ETH_HLEN)
		return VXD_RX_SHORT;
	if (vx->geneve)
		return geneve_check(vx, h, data, m->msg_len - VXLAN_HLEN, skip,
				    t);
	if (h[0] != VXLAN_FLAG_I)
		return VXD_RX_FLAGS;
	if (h[1] != 0 || h[2] != 0 || h[3] != 0 || h[7] != 0)
		return VXD_RX_RESERVED;
	if (!vx->key_flow && vxlan_vni_of(h) != vx->vni)
		return VXD_RX_VNI;
	return VXD__COUNT;
}

/* An IPv6 outer address into t: v4-mapped ones (dual) as IPv4. */
static void vxlan_md6(const struct in6_addr *a, uint8_t *v4, uint8_t *v6)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		memcpy(v4, a->s6_addr + 12, 4);
	else
		memcpy(v6, a->s6_addr, 16);
}

/*
 * The tunnel metadata of good datagram i (tun_metadata already filled by
 * geneve_check): tun_id, and the outer source and destination: tun_src /
 * tun_dst (IPv4) or tun_ipv6_src / tun_ipv6_dst.
 */
static void vxlan_rx_md(const struct vxlan_port *vx, unsigned i,
			struct vsw_pkt_tun *t)
{
	const struct msghdr *mh = &vx->rmsg[i].msg_hdr;
	struct cmsghdr *c;

	t->id = vxlan_vni_of(vx->rhdr[i]);
	if (vx->family == AF_INET) {
		memcpy(t->src, &vx->rsrc[i].in4.sin_addr, 4);
		if (!vx->pktinfo)
			memcpy(t->dst, &vx->local.in4.sin_addr, 4);
	} else {
		vxlan_md6(&vx->rsrc[i].in6.sin6_addr, t->src,
			  t->ext.ipv6_src);
		if (!vx->pktinfo)
			vxlan_md6(&vx->local.in6.sin6_addr, t->dst,
				  t->ext.ipv6_dst);
	}
	if (!vx->pktinfo)
		return;
	for (c = CMSG_FIRSTHDR(mh); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		struct in_pktinfo pi;
		struct in6_pktinfo pi6;

		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(t->dst, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(pi6))) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			vxlan_md6(&pi6.ipi6_addr, t->dst, t->ext.ipv6_dst);
		}
	}
}

static unsigned vxlan_recv(struct vsw_port *port, unsigned rxq,
			   struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			   unsigned n)
{
	struct vxlan_port *vx = vsw_port_priv(port);
	unsigned got, i, out = 0;
	int r;

	(void)rxq;
	got = vsw_pkt_alloc_burst(pool, pkts, n);
	if (got == 0) {
		/* leave the datagrams queued: the pool refills */
		return 0;
	}
	for (i = 0; i < got; i++) {
		vx->riov[i][1].iov_base = vsw_pkt_data(pkts[i]);
		vx->riov[i][1].iov_len = vsw_pkt_tailroom(pkts[i]);
		vx->rmsg[i].msg_hdr.msg_name = &vx->rsrc[i];
		vx->rmsg[i].msg_hdr.msg_namelen = sizeof(vx->rsrc[i]);
		vx->rmsg[i].msg_hdr.msg_flags = 0;
		if (vx->pktinfo)
			vx->rmsg[i].msg_hdr.msg_controllen =
				sizeof(vx->rctl[i]);
	}
	r = recvmmsg(vx->rx_fd, vx->rmsg, got, MSG_DONTWAIT, NULL);
	if (r <= 0) {
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			vsw_port_rxq_drop(port, 0, VSW_DROP_RX_ERROR, 1);
			vsw_port_log_rl(port, VSW_LOG_WARN, "vxlan recv: %s",
					strerror(errno));
		}
		vsw_pkt_free_burst(pkts, got);
		return 0;
	}
	for (i = 0; i < (unsigned)r; i++) {
		struct vsw_pkt *p = pkts[i];
		/* in the headroom (vsw/pkt.h), valid once the flag is set */
		struct vsw_pkt_tun *t = vsw_pkt_tun_md(p);
		uint32_t skip;
		enum vxlan_drop why;

		*t = (struct vsw_pkt_tun){0};
		why = vxlan_check(vx, i, vsw_pkt_data(p), &skip, t);

		if (why != VXD__COUNT) {
			vsw_ctr_add(&vx->drops[why], 1);
			vsw_port_rxq_drop(port, 0, VSW_DROP_BAD_FRAME, 1);
			vsw_pkt_free(p);
			continue;
		}
		/* geneve options: the frame starts after them */
		p->off += skip;
		p->len = vx->rmsg[i].msg_len - VXLAN_HLEN - skip;
		p->in_port = (uint16_t)vsw_port_id(port);
		vxlan_rx_md(vx, i, t);
		p->flags |= VSW_PKT_F_TUN;
		pkts[out++] = p;
	}
	vsw_pkt_free_burst(pkts + r, got - (unsigned)r);
	return out;
}

static int vxlan_rxq_wait_fd(struct vsw_port *port, unsigned rxq)
{
	const struct vxlan_port *vx = vsw_port_priv(port);

	(void)rxq;
	return vx->rx_fd;
}

static bool vxlan_rxq_arm(struct vsw_port *port, unsigned rxq)
{
	/* the socket polls readable while anything is queued */
	(void)port;
	(void)rxq;
	return false;
}

static void vxlan_rxq_disarm(struct vsw_port *port, unsigned rxq)
{
	(void)port;
	(void)rxq;
}

/* ------------------------------------------------------------------ */
/* Send                                                                */
/* ------------------------------------------------------------------ */

static void vxlan_flush_lane(struct vxlan_port *vx, struct vxlan_lane *l)
{
	unsigned i = 0;
	int r;

	while (i < l->n) {
		r = sendmmsg(l->fd, l->msg + i, l->n - i, MSG_DONTWAIT);
		if (r > 0) {
			i += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			/* the socket's buffer is full: the rest is lost */
			vsw_port_txq_drop(vx->port, 0, VSW_DROP_TX_FULL,
					  l->n - i);
			break;
		}
		if (errno == EMSGSIZE) {
			vsw_ctr_add(&vx->drops[VXD_TX_TOO_BIG], 1);
		} else {
			vsw_ctr_add(&vx->drops[VXD_TX_ERROR], 1);
			vsw_port_log_rl(vx->port, VSW_LOG_WARN,
					"vxlan send: %s", strerror(errno));
		}
		vsw_port_txq_drop(vx->port, 0, VSW_DROP_TX_ERROR, 1);
		i++;
	}
	l->n = 0;
}

static void vxlan_flush(struct vxlan_port *vx)
{
	unsigned i;

	for (i = 0; i < VXLAN_LANES; i++)
		if (vx->lane[i].n != 0)
			vxlan_flush_lane(vx, &vx->lane[i]);
	vx->slots_used = 0;
}

/*
 * Stage frame (which must stay valid until the flush) on lane l, with the
 * port's fixed header and peer, or (per_pkt) a copy of h's.
 */
static void vxlan_stage(struct vxlan_port *vx, struct vxlan_lane *l,
			const uint8_t *frame, uint32_t len,
			const struct vxlan_txh *h)
{
	struct msghdr *mh;

	if (l->n == VXLAN_STAGE)
		vxlan_flush(vx);
	mh = &l->msg[l->n].msg_hdr;
	if (vx->per_pkt) {
		memcpy(l->hdr[l->n], h->hdr, h->hlen);
		l->dst[l->n] = *h->dst;
		l->iov[l->n][0].iov_base = l->hdr[l->n];
		l->iov[l->n][0].iov_len = h->hlen;
		mh->msg_name = &l->dst[l->n];
		if (h->ctl != NULL) {
			memcpy(l->ctl[l->n], h->ctl, h->ctl_len);
			mh->msg_control = l->ctl[l->n];
			mh->msg_controllen = h->ctl_len;
		} else {
			mh->msg_control = NULL;
			mh->msg_controllen = 0;
		}
	}
	l->iov[l->n][1].iov_base = (void *)frame;
	l->iov[l->n][1].iov_len = len;
	l->n++;
}

struct vxlan_sw_ctx {
	struct vxlan_port *vx;
	struct vxlan_lane *l;
	const struct vxlan_txh *h;
};

/* A frame finished by vsw_port_sw_offload(): copy it to a slot, stage it. */
static int vxlan_stage_copy(void *arg, const uint8_t *frame, uint32_t len)
{
	struct vxlan_sw_ctx *c = arg;
	struct vxlan_port *vx = c->vx;
	uint8_t *s;

	if (len > VXLAN_SLOT_LEN) {
		/* a jumbo segment: sent on its own, now (rare) */
		struct iovec iov[2] = {{(void *)c->h->hdr, c->h->hlen},
				       {(void *)frame, len}};
		struct msghdr mh = {.msg_name = (void *)c->h->dst,
				    .msg_namelen = vx->alen,
				    .msg_iov = iov,
				    .msg_iovlen = 2,
				    .msg_control = (void *)c->h->ctl,
				    .msg_controllen = c->h->ctl_len};

		vxlan_flush(vx);
		if (sendmsg(c->l->fd, &mh, MSG_DONTWAIT) < 0) {
			vsw_ctr_add(
				&vx->drops[errno == EMSGSIZE ? VXD_TX_TOO_BIG
							     : VXD_TX_ERROR],
				1);
			vsw_port_txq_drop(vx->port, 0, VSW_DROP_TX_ERROR, 1);
		}
		return 0;
	}
	/* before taking a slot: a flush frees every slot */
	if (vx->slots_used == VXLAN_STAGE || c->l->n == VXLAN_STAGE)
		vxlan_flush(vx);
	s = vx->slot[vx->slots_used++];
	memcpy(s, frame, len);
	vxlan_stage(vx, c->l, s, len, c->h);
	return 0;
}

static bool vxlan_zero(const uint8_t *p, unsigned n)
{
	uint8_t any = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		any |= p[i];
	return any == 0;
}

/*
 * remote_ip=flow: the peer of t, into dst (the port's family; IPv4 as
 * v4-mapped on a dual-stack port). false if t has none the port can
 * reach.
 */
static bool vxlan_flow_dst(const struct vxlan_port *vx,
			   const struct vsw_pkt_tun *t, union vxlan_addr *dst)
{
	if (t == NULL)
		return false;
	if (!vxlan_zero(t->dst, 4)) {
		if (vx->family == AF_INET) {
			memcpy(&dst->in4.sin_addr, t->dst, 4);
			return true;
		}
		if (!vx->dual)
			return false;
		memset(&dst->in6.sin6_addr, 0, 16);
		dst->in6.sin6_addr.s6_addr[10] = 0xff;
		dst->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(dst->in6.sin6_addr.s6_addr + 12, t->dst, 4);
		return true;
	}
	if (vx->family != AF_INET6 || vxlan_zero(t->ext.ipv6_dst, 16))
		return false;
	memcpy(&dst->in6.sin6_addr, t->ext.ipv6_dst, 16);
	return true;
}

/*
 * local_ip=flow: a pktinfo message with t's source for a datagram to dst,
 * into ctl (VXLAN_CTL_LEN bytes); its length, 0 when t has no source of
 * dst's family (the route's source is used then).
 */
static size_t vxlan_flow_src(const struct vxlan_port *vx,
			     const struct vsw_pkt_tun *t,
			     const union vxlan_addr *dst, uint8_t *ctl)
{
	struct msghdr mh = {.msg_control = ctl,
			    .msg_controllen = VXLAN_CTL_LEN};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	if (t == NULL)
		return 0;
	memset(ctl, 0, VXLAN_CTL_LEN);
	if (vx->family == AF_INET) {
		struct in_pktinfo pi = {0};

		if (vxlan_zero(t->src, 4))
			return 0;
		memcpy(&pi.ipi_spec_dst, t->src, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi6 = {0};

		if (IN6_IS_ADDR_V4MAPPED(&dst->in6.sin6_addr)) {
			/* the kernel takes a v4-mapped source for these */
			if (vxlan_zero(t->src, 4))
				return 0;
			pi6.ipi6_addr.s6_addr[10] = 0xff;
			pi6.ipi6_addr.s6_addr[11] = 0xff;
			memcpy(pi6.ipi6_addr.s6_addr + 12, t->src, 4);
		} else {
			if (vxlan_zero(t->ext.ipv6_src, 16))
				return 0;
			memcpy(pi6.ipi6_addr.s6_addr, t->ext.ipv6_src, 16);
		}
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi6));
		memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
		return CMSG_SPACE(sizeof(pi6));
	}
}

/*
 * The header, peer and source of a packet on a per_pkt port, into hdr /
 * dst / ctl: tun_dst or tun_ipv6_dst (remote_ip=flow), tun_src or
 * tun_ipv6_src (local_ip=flow), tun_id (key=flow), the geneve options of
 * its tun_metadata fields (tlv_map). false: it cannot be sent (no
 * destination).
 */
static bool vxlan_pkt_header(const struct vxlan_port *vx,
			     const struct vsw_pkt *p, uint8_t *hdr,
			     union vxlan_addr *dst, uint8_t *ctl,
			     struct vxlan_txh *h)
{
	const struct vsw_pkt_tun *t =
		(p->flags & VSW_PKT_F_TUN) ? vsw_pkt_tun_md(p) : NULL;
	unsigned hlen = VXLAN_HLEN, k, b;
	uint32_t vni = vx->vni;

	*dst = vx->remote;
	if (vx->remote_flow && !vxlan_flow_dst(vx, t, dst))
		return false;
	h->ctl = NULL;
	h->ctl_len = 0;
	if (vx->local_flow) {
		h->ctl_len = vxlan_flow_src(vx, t, dst, ctl);
		if (h->ctl_len != 0)
			h->ctl = ctl;
	}
	if (vx->key_flow)
		vni = t != NULL ? (uint32_t)(t->id & 0xffffff) : 0;
	memcpy(hdr, vx->hdr, VXLAN_HLEN);
	hdr[4] = (uint8_t)(vni >> 16);
	hdr[5] = (uint8_t)(vni >> 8);
	hdr[6] = (uint8_t)vni;
	for (k = 0; t != NULL && k < vx->n_tlv; k++) {
		const struct geneve_tlv *g = &vx->tlv[k];
		uint64_t v = t->ext.meta[g->field];
		uint8_t *o = hdr + hlen;

		if (!((t->meta_set >> g->field) & 1))
			continue;
		o[0] = (uint8_t)(g->cls >> 8);
		o[1] = (uint8_t)g->cls;
		o[2] = g->type;
		o[3] = g->len / 4;
		/* the low g->len bytes of the value, big-endian */
		for (b = 0; b < g->len; b++)
			o[GENEVE_OPT_HLEN + b] =
				(uint8_t)(v >> (8 * (g->len - 1 - b)));
		hlen += GENEVE_OPT_HLEN + g->len;
		if (g->type & GENEVE_OPT_CRITICAL)
			hdr[1] |= GENEVE_FLAG_C;
	}
	/* geneve: Opt Len counts 4-byte words */
	if (vx->geneve)
		hdr[0] = (uint8_t)((hlen - VXLAN_HLEN) / 4);
	h->hdr = hdr;
	h->hlen = hlen;
	h->dst = dst;
	return true;
}

static unsigned vxlan_send(struct vsw_port *port, unsigned txq,
			   struct vsw_pkt *const *pkts, unsigned n)
{
	struct vxlan_port *vx = vsw_port_priv(port);
	uint8_t hdr[VXLAN_HMAX];
	uint8_t ctl[VXLAN_CTL_LEN] __attribute__((aligned(8)));
	union vxlan_addr dst;
	struct vxlan_txh h = {vx->hdr, VXLAN_HLEN, &vx->remote, NULL, 0};
	unsigned i;

	(void)txq;
	for (i = 0; i < n; i++) {
		const struct vsw_pkt *p = pkts[i];
		const uint8_t *d = vsw_pkt_data(p);
		struct vxlan_lane *l =
			&vx->lane[vxlan_flow_hash(d, p->len) % VXLAN_LANES];

		if (vx->per_pkt &&
		    !vxlan_pkt_header(vx, p, hdr, &dst, ctl, &h)) {
			vsw_ctr_add(&vx->drops[VXD_TX_NO_DST], 1);
			vsw_port_txq_drop(port, 0, VSW_DROP_TX_ERROR, 1);
			continue;
		}
		if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
		    (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
			struct vxlan_sw_ctx c = {vx, l, &h};

			if (vsw_port_sw_offload(p, vx->scratch,
						vxlan_stage_copy, &c) < 0) {
				vsw_ctr_add(&vx->drops[VXD_TX_OFFLOAD], 1);
				vsw_port_txq_drop(port, 0, VSW_DROP_TX_ERROR,
						  1);
			}
			continue;
		}
		vxlan_stage(vx, l, d, p->len, &h);
	}
	vxlan_flush(vx);
	return n;
}

#define VXLAN_OPS(name)                                                        \
	{                                                                      \
		.type = name, .open = vxlan_open, .close = vxlan_close,        \
		.n_rxq = vxlan_n_queues, .n_txq = vxlan_n_queues,              \
		.status = vxlan_status, .recv = vxlan_recv,                    \
		.send = vxlan_send, .rxq_wait_fd = vxlan_rxq_wait_fd,          \
		.rxq_arm = vxlan_rxq_arm, .rxq_disarm = vxlan_rxq_disarm,      \
	}

/* One provider, two encapsulations: the type name selects it in open. */
const struct vsw_port_ops vsw_port_vxlan_ops = VXLAN_OPS("vxlan");
const struct vsw_port_ops vsw_port_geneve_ops = VXLAN_OPS("geneve");
