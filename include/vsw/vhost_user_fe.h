/* SPDX-License-Identifier: MIT */
/*
 * vsw_vufe: a vhost-user front-end with a virtio-net packet API: this process
 * plays the guest driver (like DPDK's virtio-user), a vhost-user back-end
 * (vsw_vu, DPDK vhost, ...) plays the device.
 *
 * The front-end allocates one shareable memory region (a memfd, optionally
 * on hugepages) that holds every ring, indirect table and packet buffer;
 * guest-physical addresses are offsets into it. It negotiates features and
 * protocol features, sends the memory table and the rings, and then moves
 * frames with vsw_vufe_tx_burst() / vsw_vufe_rx_burst(), copying between
 * vsw_pkt packets and fixed per-queue buffer slots (no allocation per
 * packet).
 *
 * Queue numbering is virtio-net's: pair p has receiveq 2p and transmitq
 * 2p + 1; with VIRTIO_NET_F_CTRL_VQ the control queue is 2 * pairs and is
 * handed to the back-end (a vsw_vu back-end with vsw_vnet answers it;
 * QEMU-style back-ends leave the control queue to the front-end, so do not
 * ask for CTRL_VQ with those).
 *
 * Security model: the back-end is not trusted. Every reply is checked
 * (REPLY flag, version, request number, exact size, no stray fds) and a lie
 * fails the call with -EPROTO and closes the connection; used ring entries
 * are checked by vsw_vq_drv (a bad id breaks the queue: -EIO), used lengths
 * and num_buffers here (bad frames are dropped and counted). The back-end
 * can always write garbage into the shared buffers; what rx_burst returns is
 * what the back-end wrote, nothing more.
 *
 * Threads: create / connect / destroy / check run on one control thread.
 * After connect, each queue pair may be used by one data-plane thread at a
 * time (tx_burst, rx_burst, interrupts, stats of that pair). Packets are
 * allocated from and freed to pools owned by the calling thread.
 */
#ifndef VSW_VHOST_USER_FE_H
#define VSW_VHOST_USER_FE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <vsw/pkt.h>

/* Most queue pairs one front-end sets up. */
#define VSW_VUFE_MAX_QP 16

struct vsw_vufe;

struct vsw_vufe_config {
	const char *path; /* the back-end's (or, with server, our) socket */
	bool server;	  /* listen on path and accept one back-end */
	/*
	 * Milliseconds to wait for the connection (client: retrying connect;
	 * server: accept) and, separately, for each reply. 0: 5000.
	 */
	unsigned timeout_ms;
	/*
	 * Virtio feature bits wanted (VIRTIO_F_* ring bits, VIRTIO_NET_F_*).
	 * VIRTIO_F_VERSION_1 is always asked for and required; the result is
	 * wanted & offered (see vsw_vufe_features()). Bits this front-end
	 * does not implement are refused by vsw_vufe_create() (-EINVAL):
	 * VSW_VUFE_FEATURES.
	 */
	uint64_t features;
	uint16_t queue_pairs; /* 1 .. VSW_VUFE_MAX_QP; > 1 needs MQ */
	uint16_t queue_size;  /* 0: 256; split rings need a power of two */
	bool hugepages;	      /* memfd with MFD_HUGETLB (no fallback) */
	/*
	 * Bytes of one receive buffer, virtio header included. 0: 2048 with
	 * MRG_RXBUF; without it the largest frame that may arrive (65562
	 * with guest TSO/USO, else 2048 + 12).
	 */
	uint32_t rx_buf_size;
	/*
	 * Largest frame tx_burst sends (header excluded). 0: 65536 + 1024
	 * (VSW_PKT_MAX_LEN) with HOST_TSO4/6 or HOST_USO, else 2048.
	 */
	uint32_t tx_max_frame;
};

#define VSW_VUFE_BIT(b) (1ULL << (b))
/* The feature bits a caller may ask for. */
#define VSW_VUFE_FEATURES                                                      \
	(VSW_VUFE_BIT(VIRTIO_F_VERSION_1) |                                    \
	 VSW_VUFE_BIT(VIRTIO_F_RING_PACKED) |                                  \
	 VSW_VUFE_BIT(VIRTIO_RING_F_INDIRECT_DESC) |                           \
	 VSW_VUFE_BIT(VIRTIO_RING_F_EVENT_IDX) |                               \
	 VSW_VUFE_BIT(VIRTIO_F_IN_ORDER) |                                     \
	 VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF) |                                \
	 VSW_VUFE_BIT(VIRTIO_NET_F_CSUM) |                                     \
	 VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_CSUM) |                               \
	 VSW_VUFE_BIT(VIRTIO_NET_F_HOST_TSO4) |                                \
	 VSW_VUFE_BIT(VIRTIO_NET_F_HOST_TSO6) |                                \
	 VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_TSO4) |                               \
	 VSW_VUFE_BIT(VIRTIO_NET_F_GUEST_TSO6) |                               \
	 VSW_VUFE_BIT(VIRTIO_NET_F_MAC) | VSW_VUFE_BIT(VIRTIO_NET_F_MTU) |     \
	 VSW_VUFE_BIT(VIRTIO_NET_F_STATUS) | VSW_VUFE_BIT(VIRTIO_NET_F_MQ) |   \
	 VSW_VUFE_BIT(VIRTIO_NET_F_CTRL_VQ))

/* Bytes of the virtio-net header on every queue (VERSION_1). */
#define VSW_VUFE_HDR_SIZE 12

/*
 * Check the configuration and allocate the object; no I/O yet.
 * 0, -EINVAL (config), -ENAMETOOLONG (path), -ENOMEM.
 */
int vsw_vufe_create(const struct vsw_vufe_config *cfg, struct vsw_vufe **out);

/*
 * Connect (or accept), negotiate, share memory, start every ring, fill the
 * receive rings; with CTRL_VQ and more than one pair, set the pair count
 * through the control queue. Blocks up to the timeouts. Once only.
 * 0, or a negative errno with the reason in vsw_vufe_error():
 * -ETIMEDOUT (no back-end, no reply), -ENOTCONN / -ECONNRESET / -EPIPE (the
 * back-end went away), -EPROTO (a malformed reply), -ENOTSUP (VERSION_1,
 * MQ or a protocol feature the config needs is not offered, or too few
 * queues), -EIO (the back-end refused a request), -ENOMEM (memory; for
 * hugepages: none reserved), -EALREADY (called twice).
 */
int vsw_vufe_connect(struct vsw_vufe *fe);

/* Close the connection, unmap, close every fd, unlink a server socket.
 * Packets still in flight are forgotten (their buffers are ours). NULL ok. */
void vsw_vufe_destroy(struct vsw_vufe *fe);

/* Why the last failing call failed ("" if none). */
const char *vsw_vufe_error(const struct vsw_vufe *fe);

/* Negotiated virtio / protocol features (valid after connect). */
uint64_t vsw_vufe_features(const struct vsw_vufe *fe);
uint64_t vsw_vufe_protocol_features(const struct vsw_vufe *fe);
unsigned vsw_vufe_queue_pairs(const struct vsw_vufe *fe);

/*
 * Is the back-end still there? Non-blocking look at the socket: 0, or
 * -ENOTCONN (it hung up, or sent something it may not send: then the
 * connection is closed here). The bursts call this themselves now and then
 * when they make no progress.
 */
int vsw_vufe_check(struct vsw_vufe *fe);

/* The socket, to watch for readability (then call vsw_vufe_check()); -1. */
int vsw_vufe_sock_fd(const struct vsw_vufe *fe);

/*
 * Send pkts[0 .. n) on pair qp. Buffers the back-end finished with are
 * reclaimed first; each packet's vnet header (CPU order) and frame are
 * copied into a free buffer slot and exposed; one kick at most per burst.
 * Returns how many packets from the front were taken (and freed); frames
 * longer than tx_max_frame are taken, freed and counted in tx_oversize. The
 * rest stay the caller's (ring full). -EINVAL (qp), -ENOTCONN (no back-end),
 * -EIO (the ring broke: the back-end returned a bad used entry).
 */
int vsw_vufe_tx_burst(struct vsw_vufe *fe, unsigned qp, struct vsw_pkt **pkts,
		      unsigned n);

/*
 * Pool rx_burst allocates from on pair qp (owned by that pair's thread).
 * 0 or -EINVAL.
 */
int vsw_vufe_set_pool(struct vsw_vufe *fe, unsigned qp,
		      struct vsw_pkt_pool *pool);

/*
 * Receive up to n frames from pair qp into pkts[0 .. ret): each copied into
 * a packet of the pair's pool, vnet set from the virtio header (CPU order),
 * MRG_RXBUF chains merged. The buffers go straight back to the ring (one
 * kick at most). Frames that cannot be delivered are dropped and counted
 * (bad length or num_buffers, pool empty). Returns the number of packets,
 * -EINVAL (qp, no pool), -ENOTCONN, -EIO (ring broken).
 */
int vsw_vufe_rx_burst(struct vsw_vufe *fe, unsigned qp, struct vsw_pkt **pkts,
		      unsigned n);

enum vsw_vufe_dir { VSW_VUFE_RX = 0, VSW_VUFE_TX = 1 };

/*
 * Interrupts, for a caller that wants to sleep instead of polling (they
 * start disabled). call_fd: the eventfd the back-end writes (read it to
 * clear it), -EINVAL for a bad qp. intr_enable: 1 if it is safe to sleep on
 * the fd now, 0 if used buffers arrived meanwhile (poll again), -EINVAL.
 */
int vsw_vufe_call_fd(const struct vsw_vufe *fe, unsigned qp,
		     enum vsw_vufe_dir d);
int vsw_vufe_intr_enable(struct vsw_vufe *fe, unsigned qp,
			 enum vsw_vufe_dir d);
int vsw_vufe_intr_disable(struct vsw_vufe *fe, unsigned qp,
			  enum vsw_vufe_dir d);

struct vsw_vufe_q_stats {
	uint64_t tx_packets, tx_bytes; /* frames exposed, header excluded */
	uint64_t tx_oversize;	       /* frames above tx_max_frame */
	uint64_t tx_kicks;
	uint64_t rx_packets, rx_bytes; /* frames delivered */
	uint64_t rx_bad;	       /* bad used length / num_buffers */
	uint64_t rx_empty;	       /* buffers returned unused (length 0) */
	uint64_t rx_nomem;	       /* pool empty or frame too long */
	uint64_t rx_kicks;
};

/* Counters of pair qp (racy if another thread uses it): 0 or -EINVAL. */
int vsw_vufe_stats(const struct vsw_vufe *fe, unsigned qp,
		   struct vsw_vufe_q_stats *out);

#endif /* VSW_VHOST_USER_FE_H */
