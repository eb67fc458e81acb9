/* SPDX-License-Identifier: MIT */
/*
 * vsw_vnet: the virtio-net device data path (VIRTIO 1.2 §5.1), independent of
 * the transport. The transport (vhost-user) negotiates features, creates the
 * device-side queues (vsw_vq_dev) and attaches them here; this layer moves
 * frames between those queues and vsw_pkt packets, handles the offload
 * header and answers the control queue.
 *
 * Queue numbering is the spec's: receiveq N = 2 (N - 1) (device -> guest),
 * transmitq N = 2 (N - 1) + 1 (guest -> device), controlq = 2 max_qp.
 * "tx" and "rx" below are named from the guest's point of view, as in the
 * spec: vsw_vnet_tx_burst() takes what the guest transmitted.
 *
 * Security model: every byte the guest wrote (virtio header, frame, control
 * command) is read once into private memory and validated there; what the
 * guest may change afterwards is never read again. A bad header drops that
 * frame and is counted; a broken ring (vsw_vq_dev fault) stops that queue
 * only, counted once per break.
 *
 * Threads: a queue pair is polled by one thread at a time (its counters are
 * written by that thread only, with relaxed atomic stores, and copied by
 * vsw_vnet_queue_stats() with relaxed loads from any thread). The control
 * queue, attach/detach and the control state belong to the control thread;
 * attach/detach only while no data-plane thread polls that queue.
 */
#ifndef VSW_VIRTIO_NET_H
#define VSW_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include <vsw/pkt.h>
#include <vsw/virtq.h>

/* VIRTIO 1.2 UDP segmentation, missing from older uapi headers. */
#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#endif
#ifndef VIRTIO_NET_F_GUEST_USO6
#define VIRTIO_NET_F_GUEST_USO6 55
#endif
#ifndef VIRTIO_NET_F_HOST_USO
#define VIRTIO_NET_F_HOST_USO 56
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define VSW_VNET_MAX_QP 64
/* Addresses kept per MAC filter table; more sets the table's overflow flag */
#define VSW_VNET_MAC_TABLE_MAX 64

#define VSW_VNET_BIT(b) (1ULL << (b))
/* Device features this layer implements (plus the ring's VSW_VQ_FEATURES). */
#define VSW_VNET_FEATURES                                                      \
	(VSW_VNET_BIT(VIRTIO_NET_F_CSUM) |                                     \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_CSUM) |                               \
	 VSW_VNET_BIT(VIRTIO_NET_F_MAC) |                                      \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_TSO4) |                               \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_TSO6) |                               \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_ECN) |                                \
	 VSW_VNET_BIT(VIRTIO_NET_F_HOST_TSO4) |                                \
	 VSW_VNET_BIT(VIRTIO_NET_F_HOST_TSO6) |                                \
	 VSW_VNET_BIT(VIRTIO_NET_F_HOST_ECN) |                                 \
	 VSW_VNET_BIT(VIRTIO_NET_F_MRG_RXBUF) |                                \
	 VSW_VNET_BIT(VIRTIO_NET_F_STATUS) |                                   \
	 VSW_VNET_BIT(VIRTIO_NET_F_CTRL_VQ) |                                  \
	 VSW_VNET_BIT(VIRTIO_NET_F_CTRL_RX) |                                  \
	 VSW_VNET_BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |                            \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |                           \
	 VSW_VNET_BIT(VIRTIO_NET_F_MQ) |                                       \
	 VSW_VNET_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |                            \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_USO4) |                               \
	 VSW_VNET_BIT(VIRTIO_NET_F_GUEST_USO6) |                               \
	 VSW_VNET_BIT(VIRTIO_NET_F_HOST_USO) | VSW_VQ_FEATURES)

struct vsw_vnet;

/*
 * Interrupt the guest for queue qidx (instead of writing the queue's call
 * fd). Called at most once per burst, from the polling thread.
 */
typedef void (*vsw_vnet_notify_fn)(void *arg, unsigned qidx);

struct vsw_vnet_config {
	uint64_t features;	   /* negotiated; masked by VSW_VNET_FEATURES */
	uint16_t max_qp;	   /* 1 .. VSW_VNET_MAX_QP (1 without MQ) */
	uint16_t port_id;	   /* written into vsw_pkt.in_port */
	uint8_t mac[6];		   /* initial address (config space) */
	struct vsw_pkt_pool *pool; /* default pool of every transmitq */
	vsw_vnet_notify_fn notify; /* NULL: eventfd write on the call fd */
	void *notify_arg;
};

/* Counters of one queue. */
struct vsw_vnet_q_stats {
	uint64_t packets;      /* frames taken (tx) / delivered (rx) */
	uint64_t bytes;	       /* their bytes, virtio header excluded */
	uint64_t drop_bad_hdr; /* tx: bad virtio header, runt frame */
	uint64_t drop_too_big; /* tx: > VSW_PKT_MAX_LEN; rx: no MRG, chain
				* too small for the frame */
	uint64_t drop_no_buf;  /* rx: GSO segments lost when buffers ran out */
	uint64_t drop_offload; /* rx: checksum/segmentation impossible */
	uint64_t drop_broken;  /* frames lost because the queue broke */
	uint64_t bad_buffer;   /* rx: chains returned to the guest with
				* length 0: less room than the header, or
				* popped for a frame that then ran out of
				* buffers and not taken back by unpop */
	uint64_t no_buf;       /* rx: bursts cut short: guest out of buffers */
	uint64_t pool_empty;   /* tx: bursts cut short: packet pool empty */
	uint64_t queue_broken; /* the ring broke (counted once per break) */
	uint64_t sw_csum;      /* checksums completed in software */
	uint64_t sw_gso;       /* frames segmented in software */
	uint64_t notifies;     /* guest interrupts sent */
};

struct vsw_vnet_ctrl_stats {
	uint64_t commands;  /* chains answered */
	uint64_t ok;	    /* answered VIRTIO_NET_OK */
	uint64_t err;	    /* answered VIRTIO_NET_ERR (malformed included) */
	uint64_t malformed; /* too short/long, wrong directions, bad sizes */
};

struct vsw_vnet_mac_table {
	uint32_t n;    /* addresses kept in mac[] */
	bool overflow; /* the guest sent more than VSW_VNET_MAC_TABLE_MAX:
			  * accept every address of this kind */
	uint8_t mac[VSW_VNET_MAC_TABLE_MAX][6];
};

/*
 * What the guest configured through the control queue. Starts promiscuous
 * (a driver without CTRL_RX expects to receive everything) with one pair.
 * generation changes on every update, so a reader can cache derived tables.
 */
struct vsw_vnet_ctrl_state {
	uint32_t generation;
	uint16_t curr_qp;
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	bool announce_pending;
	uint8_t mac[6];
	struct vsw_vnet_mac_table uc, mc;
};

/* 0, -EINVAL (bad max_qp, MQ missing with max_qp > 1), -ENOMEM. */
int vsw_vnet_create(const struct vsw_vnet_config *cfg, struct vsw_vnet **out);
void vsw_vnet_destroy(struct vsw_vnet *dev); /* accepts NULL */

uint64_t vsw_vnet_features(const struct vsw_vnet *dev);
/* Bytes of the virtio header on this device's queues: 12, or 10 (legacy). */
unsigned vsw_vnet_hdr_size(const struct vsw_vnet *dev);

/*
 * Attach a started device queue (num: its size) as queue qidx; call_fd (or
 * -1) is written when the guest must be interrupted and no notify callback
 * was configured. Counters restart at zero. 0, -EINVAL (qidx not a data
 * queue, num 0), -EBUSY (attached), -ENOMEM. The queue stays the caller's.
 */
int vsw_vnet_queue_attach(struct vsw_vnet *dev, unsigned qidx,
			  struct vsw_vq_dev *vq, uint32_t num, int call_fd);
/* Forget queue qidx (its counters stay readable). 0 or -EINVAL. */
int vsw_vnet_queue_detach(struct vsw_vnet *dev, unsigned qidx);
/*
 * Copy the counters of queue qidx into *out; any thread (each counter is
 * read untorn while its data thread writes it). 0 or -EINVAL (qidx out of
 * range).
 */
int vsw_vnet_queue_stats(const struct vsw_vnet *dev, unsigned qidx,
			 struct vsw_vnet_q_stats *out);
/* Pool the transmitq of pair qp allocates from (its poller's). 0/-EINVAL. */
int vsw_vnet_qp_set_pool(struct vsw_vnet *dev, unsigned qp,
			 struct vsw_pkt_pool *pool);

/*
 * Take up to n frames the guest transmitted on pair qp (0-based) into
 * pkts[0 .. ret), allocated from the pair's pool, in_port and vnet set. Bad
 * headers are dropped and counted; their chains are returned as used. The
 * used entries go back in one burst, followed by at most one interrupt.
 * Stops early when the pool is empty (the chain stays in the ring) or the
 * ring is broken (counted, the queue stays broken). Returns how many packets
 * it filled; the caller owns them.
 */
unsigned vsw_vnet_tx_burst(struct vsw_vnet *dev, unsigned qp,
			   struct vsw_pkt **pkts, unsigned n);

/*
 * Deliver pkts[0 .. n) to the guest's receive queue of pair qp: the virtio
 * header (num_buffers with MRG_RXBUF), then the frame; with MRG_RXBUF a frame
 * spreads over as many chains as it needs. Offloads the guest did not
 * negotiate are resolved first: a NEEDS_CSUM checksum is completed in place
 * in the packet (its vnet flags are cleared, so the packet stays correct for
 * other receivers) and a GSO frame is segmented in software.
 *
 * Returns how many packets from the front of pkts were consumed: each was
 * delivered or dropped and counted. pkts[ret .. n) were not touched because
 * the guest had no (more) free buffers; the caller may retry or drop them.
 * (A frame cut short mid-way with MRG_RXBUF gives its chains back with
 * vsw_vq_dev_unpop(); those the ring cannot take back reach the guest empty
 * and are counted in bad_buffer.)
 * The caller keeps ownership of all packets (a flood may deliver one packet
 * to several ports) and frees them. One push burst and at most one interrupt.
 */
unsigned vsw_vnet_rx_burst(struct vsw_vnet *dev, unsigned qp,
			   struct vsw_pkt *const *pkts, unsigned n);

/*
 * Answer every pending command on the control queue vq: VIRTIO_NET_OK or
 * VIRTIO_NET_ERR written into the first writable byte; state recorded in
 * vsw_vnet_ctrl_state(). The guest is interrupted (callback with the
 * controlq index, else call_fd) once if the ring asks for it. Returns the
 * number of commands answered, or the ring's negative errno once broken.
 * Chains of more than 64 segments break the ring (no driver sends those).
 */
int vsw_vnet_ctrl_process(struct vsw_vnet *dev, struct vsw_vq_dev *vq,
			  int call_fd);
const struct vsw_vnet_ctrl_state *vsw_vnet_ctrl_state(const struct vsw_vnet *d);
const struct vsw_vnet_ctrl_stats *vsw_vnet_ctrl_stats(const struct vsw_vnet *d);
/*
 * Mark a gratuitous announcement pending (after migration); the transport
 * sets VIRTIO_NET_S_ANNOUNCE in the config status. Cleared by the guest's
 * VIRTIO_NET_CTRL_ANNOUNCE_ACK. Needs GUEST_ANNOUNCE: -ENOTSUP otherwise.
 */
int vsw_vnet_announce(struct vsw_vnet *dev);

/* ------------------------------------------------------------------ */
/* Offload helpers (lib/virtio-net/offload.c)                          */
/* ------------------------------------------------------------------ */

/*
 * Ones' complement sum of len bytes added to sum, in the byte order of the
 * data (RFC 1071 §2(B): the sum commutes with byte swapping). Pieces must
 * start at even offsets of the summed range, except that the last may be odd.
 */
uint32_t vsw_vnet_csum_partial(const void *data, size_t len, uint32_t sum);
/* Fold a partial sum to 16 bits and complement it: the checksum to store. */
uint16_t vsw_vnet_csum_fold(uint32_t sum);

/*
 * Complete a VIRTIO_NET_HDR_F_NEEDS_CSUM frame: checksum [start, len) and
 * store it at start + offset (the field holds the pseudo-header sum, as the
 * driver left it). 0, or -EINVAL when the field is not inside the frame.
 */
int vsw_vnet_csum_apply(uint8_t *frame, uint32_t len, uint16_t start,
			uint16_t offset);

/*
 * Software segmentation of one GSO frame (TCPv4, TCPv6, UDP_L4) into frames
 * of at most mss payload bytes, each with correct IP length / IPv4 id and
 * header checksum / IPv6 payload length, TCP sequence number and flags (CWR
 * on the first segment only, FIN and PSH on the last only), UDP length, and
 * a full L4 checksum. Ethernet with up to two VLAN tags; IPv4 without
 * fragmentation, IPv6 without extension headers.
 */
struct vsw_vnet_gso {
	const uint8_t *frame;
	uint32_t len;
	uint32_t l3_off, l4_off, hdr_len; /* hdr_len: real L2..L4 headers */
	uint32_t mss;
	uint32_t pos;	/* next payload byte in frame */
	uint32_t seq;	/* TCP sequence number of the next segment */
	uint16_t ip_id; /* IPv4 id of the next segment */
	uint8_t type;	/* VIRTIO_NET_HDR_GSO_*, ECN bit removed */
	bool ipv6;
	uint32_t nseg; /* segments produced so far */
};

/*
 * Check frame against h (gso_type, gso_size, csum_start pointing at the L4
 * header) and prepare g. 0, or -EINVAL for a frame that cannot be segmented.
 * The frame must stay unchanged until the last vsw_vnet_gso_next().
 */
int vsw_vnet_gso_init(struct vsw_vnet_gso *g, const uint8_t *frame,
		      uint32_t len, const struct virtio_net_hdr_v1 *h);
/*
 * Write the next segment into out (room for g->hdr_len + g->mss bytes).
 * Returns its length, or 0 after the last one.
 */
uint32_t vsw_vnet_gso_next(struct vsw_vnet_gso *g, uint8_t *out);

#endif /* VSW_VIRTIO_NET_H */
