/* SPDX-License-Identifier: MIT */
/*
 * vsw_pkt: packet buffers and their pool.
 *
 * A pool is allocated once (metadata and data rooms in two allocations) and
 * never grows: the data path only moves pointers on a free stack, in bursts.
 *
 * Two size classes, one frame = one contiguous buffer:
 *  - small: VSW_PKT_SMALL_ROOM bytes, for every frame up to a jumbo-less MTU;
 *  - large: VSW_PKT_LARGE_ROOM bytes, for jumbo and 64 KiB TSO/GSO frames.
 * Why not chained segments: every consumer of a frame (header parsing, the
 * software checksum and segmentation, a VLAN push, the copy into a guest)
 * then works on one flat byte array, with no segment walk and no corner case
 * where a header straddles two buffers. The price is memory: a large buffer
 * is taken whole even for a 3000-byte frame, so the large class is kept
 * small (its count is a pool parameter) and is only used when a frame does
 * not fit a small one.
 *
 * Every buffer has VSW_PKT_HEADROOM bytes in front of the frame so a header
 * (VLAN tag, tunnel) can be pushed without a copy.
 *
 * Ownership and threads: a pool has no lock and no atomic. It belongs to one
 * data-plane thread, the only one that may call vsw_pkt_alloc*() on it and
 * vsw_pkt_free*() for its packets. A packet handed to another thread must come
 * back to the owner (e.g. through a single-producer ring) to be freed. Each
 * packet records its pool, so a burst may mix packets of several pools of the
 * same thread.
 */
#ifndef VSW_PKT_H
#define VSW_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

/* Room in front of the frame for headers pushed later. */
#define VSW_PKT_HEADROOM 192
/* Frame bytes a small buffer holds after the headroom. */
#define VSW_PKT_SMALL_ROOM 2048
/* Frame bytes a large buffer holds: a 64 KiB GSO frame plus L2 headers. */
#define VSW_PKT_LARGE_ROOM (65536 + 1024)
/* Longest frame any packet can hold. */
#define VSW_PKT_MAX_LEN VSW_PKT_LARGE_ROOM

enum vsw_pkt_class { VSW_PKT_SMALL = 0, VSW_PKT_LARGE = 1, VSW_PKT__NCLASS };

struct vsw_pkt_pool;

/*
 * One packet: 64 bytes of metadata on its own cache line; the frame lives at
 * buf + off. The offload fields are the virtio ones, in CPU byte order
 * (converted where a header crosses the virtio boundary).
 */
struct vsw_pkt {
	uint8_t *buf;		       /* buffer start (headroom begins here) */
	uint32_t buf_len;	       /* headroom + room */
	uint32_t off;		       /* first frame byte: buf + off */
	uint32_t len;		       /* frame bytes */
	uint16_t in_port;	       /* port the frame came in on */
	uint8_t cls;		       /* enum vsw_pkt_class */
	uint8_t flags;		       /* VSW_PKT_F_*; others free */
	struct virtio_net_hdr_v1 vnet; /* offload metadata, CPU byte order */
	struct vsw_pkt_pool *pool;     /* owner */
	uint64_t user;		       /* free for the caller's use */
} __attribute__((aligned(64)));

/*
 * Tunnel metadata (OVS's flow->tunnel): what a vxlan / geneve port read
 * from the outer headers of a received frame, or what flow actions
 * (set_field:...->tun_dst) set for a flow-based tunnel output. It lives at
 * the start of the packet's buffer, in the headroom, and is valid only
 * while pkt->flags has VSW_PKT_F_TUN: packets without tunnel metadata pay
 * nothing but the flag test. Whoever sets the flag checks that the frame
 * starts at least VSW_PKT_TUN_ROOM bytes into the buffer (the headroom left
 * for pushed headers is then still VSW_PKT_HEADROOM - VSW_PKT_TUN_ROOM).
 */
#define VSW_PKT_F_TUN 0x01
/* tun_metadata0 .. 7, each a geneve option of up to 8 data bytes */
#define VSW_PKT_TUN_META 8
#define VSW_PKT_TUN_META_LEN 8
#define VSW_PKT_TUN_EXT_WORDS 12
/*
 * The part of the tunnel metadata that is not in the flow key itself (the
 * key holds a token of it, vsw/flow.h): the outer IPv6 addresses and the
 * geneve option values. Zero when the frame has none of them.
 */
struct vsw_pkt_tun_ext {
	union {
		uint64_t w[VSW_PKT_TUN_EXT_WORDS];
		struct {
			uint8_t ipv6_src[16]; /* outer IPv6 source; 0: none */
			uint8_t ipv6_dst[16];
			/*
			 * Option data, as a big-endian number of the option's
			 * length (4 or 8 bytes) in CPU order; 0 when absent.
			 */
			uint64_t meta[VSW_PKT_TUN_META];
		};
	};
};
struct vsw_pkt_tun {
	uint64_t id;	/* tun_id: the VNI */
	uint8_t src[4]; /* outer IPv4 source, network order; 0: none */
	uint8_t dst[4]; /* outer IPv4 destination */
	uint8_t meta_set; /* bit i: ext.meta[i] present */
	struct vsw_pkt_tun_ext ext;
};
#define VSW_PKT_TUN_ROOM 128
_Static_assert(sizeof(struct vsw_pkt_tun) <= VSW_PKT_TUN_ROOM,
	       "the tunnel metadata fits its room");
_Static_assert(sizeof(struct vsw_pkt_tun_ext) == VSW_PKT_TUN_EXT_WORDS * 8,
	       "the extension's named fields fill its words");
_Static_assert(VSW_PKT_HEADROOM >= VSW_PKT_TUN_ROOM + 64,
	       "a received frame has room for tunnel metadata and pushes");

static inline struct vsw_pkt_tun *vsw_pkt_tun_md(const struct vsw_pkt *pkt)
{
	return (struct vsw_pkt_tun *)(void *)pkt->buf;
}

/*
 * The packet's tunnel metadata, set up (zeroed) if it had none; NULL if
 * the frame sits too close to the buffer start for it.
 */
static inline struct vsw_pkt_tun *vsw_pkt_tun_get(struct vsw_pkt *pkt)
{
	struct vsw_pkt_tun *t = vsw_pkt_tun_md(pkt);

	if (pkt->flags & VSW_PKT_F_TUN)
		return t;
	if (pkt->off < VSW_PKT_TUN_ROOM)
		return NULL;
	*t = (struct vsw_pkt_tun){0};
	pkt->flags |= VSW_PKT_F_TUN;
	return t;
}

struct vsw_pkt_pool_config {
	uint32_t n_small; /* small buffers, >= 1 */
	uint32_t n_large; /* large buffers, may be 0 */
};

/*
 * Allocate a pool and all its buffers. Returns 0, -EINVAL (n_small 0 or a
 * count above 1 << 24), -ENOMEM. Control path.
 */
int vsw_pkt_pool_create(const struct vsw_pkt_pool_config *cfg,
			struct vsw_pkt_pool **out);

/*
 * Free the pool. Every packet must have been freed back; accepts NULL.
 */
void vsw_pkt_pool_destroy(struct vsw_pkt_pool *p);

/* Buffers of a class currently free in the pool. */
unsigned vsw_pkt_pool_avail(const struct vsw_pkt_pool *p,
			    enum vsw_pkt_class cls);

/*
 * Take up to n small packets into pkts[0 .. ret): each has off =
 * VSW_PKT_HEADROOM, len 0, a zeroed vnet header and in_port 0. Returns how
 * many it took (fewer than n only when the pool runs out).
 */
unsigned vsw_pkt_alloc_burst(struct vsw_pkt_pool *p, struct vsw_pkt **pkts,
			     unsigned n);

/*
 * One packet able to hold len frame bytes: small if it fits, else large.
 * NULL if len > VSW_PKT_MAX_LEN or that class is empty.
 */
struct vsw_pkt *vsw_pkt_alloc_len(struct vsw_pkt_pool *p, uint32_t len);

/*
 * Return packets (of any pool owned by this thread); NULL entries skipped.
 * Freeing more packets than a class holds (a double free) aborts.
 */
void vsw_pkt_free_burst(struct vsw_pkt **pkts, unsigned n);

static inline void vsw_pkt_free(struct vsw_pkt *pkt)
{
	vsw_pkt_free_burst(&pkt, 1);
}

static inline uint8_t *vsw_pkt_data(const struct vsw_pkt *pkt)
{
	return pkt->buf + pkt->off;
}

static inline uint32_t vsw_pkt_headroom(const struct vsw_pkt *pkt)
{
	return pkt->off;
}

static inline uint32_t vsw_pkt_tailroom(const struct vsw_pkt *pkt)
{
	return pkt->buf_len - pkt->off - pkt->len;
}

/*
 * Grow the frame at its front by n bytes (from the headroom): the new start,
 * or NULL if the headroom is too small (nothing changed).
 */
static inline uint8_t *vsw_pkt_prepend(struct vsw_pkt *pkt, uint32_t n)
{
	if (n > pkt->off)
		return NULL;
	pkt->off -= n;
	pkt->len += n;
	return pkt->buf + pkt->off;
}

/* Shrink the frame at its front by n bytes: the new start, or NULL. */
static inline uint8_t *vsw_pkt_adj(struct vsw_pkt *pkt, uint32_t n)
{
	if (n > pkt->len)
		return NULL;
	pkt->off += n;
	pkt->len -= n;
	return pkt->buf + pkt->off;
}

/*
 * Grow the frame at its end by n bytes: a pointer to the first new byte, or
 * NULL if the tailroom is too small (nothing changed).
 */
static inline uint8_t *vsw_pkt_append(struct vsw_pkt *pkt, uint32_t n)
{
	uint8_t *tail;

	if (n > vsw_pkt_tailroom(pkt))
		return NULL;
	tail = pkt->buf + pkt->off + pkt->len;
	pkt->len += n;
	return tail;
}

#endif /* VSW_PKT_H */
