/* SPDX-License-Identifier: MIT */
/*
 * afpacket: a port on an existing Linux interface through an AF_PACKET
 * socket.
 *
 * RX: a TPACKET_V3 ring shared with the kernel (mmap). The kernel fills
 * blocks of frames and hands a block over when it is full or when the
 * block timer (1 ms) retires it; recv walks the frames of the handed-over
 * blocks without any system call and gives each block back as soon as its
 * last frame is copied out. A thread going to sleep polls the socket fd,
 * which becomes readable when a block is handed over. The price of V3 is
 * latency: at low rates a frame waits for the block timer.
 *
 * TX: sendmmsg(), one system call per burst.
 *
 * Offloads: with PACKET_VNET_HDR every frame carries a (legacy, 10-byte)
 * virtio-net header both ways, so checksum and GSO metadata pass between
 * the kernel and vsw_pkt.vnet; the kernel completes what the device cannot
 * do. Without it (an old kernel refusing the option) offloads are
 * completed in software before sending, and received frames carry no
 * metadata.
 *
 * The socket sets PACKET_IGNORE_OUTGOING, so what we transmit is not read
 * back; frames marked PACKET_OUTGOING are skipped anyway. The interface is
 * put in promiscuous mode for as long as the socket lives.
 *
 * The interface going away (`ip link del`, its veth peer's namespace
 * deleted): the socket stays bound to an ifindex that no longer exists,
 * polls as POLLERR for ever and every send fails with ENXIO. The port
 * uses gone.c: rtnetlink's RTM_DELLINK (or a send failing with ENXIO /
 * ENODEV, once) takes its queue away and the socket is closed; every
 * VSW_GONE_RETRY_MS, and at once when an interface of that name appears,
 * a new socket is opened on it. An interface taken down (and a socket
 * bound to one that is down) leaves ENETDOWN in the socket's error, which
 * polls as POLLERR as well until read: it is read after bind and on every
 * link message about the interface, so that a sleeping data thread does
 * not wake in a loop.
 *
 * VLAN: the kernel strips a received 802.1Q/802.1ad tag into the frame
 * header (TP_STATUS_VLAN_VALID); recv puts it back into the frame.
 *
 * Security model: the ring is written by the kernel only (trusted); frame
 * lengths are still checked against the block so that a corrupt ring
 * cannot make recv read outside the mapping.
 *
 * Threads: one rxq and one txq; recv state belongs to the rxq owner, the
 * tx arrays to the thread sending (the switch serialises senders).
 */
#include <endian.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <vsw/virtio_net.h>

#include "tap_priv.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"

#define AFP_BLOCK_SIZE (256u << 10) /* holds a 64 KiB GSO frame */
#define AFP_BLOCK_NR 16u
#define AFP_FRAME_SIZE 2048u /* only for the kernel's frame count */
#define AFP_BLOCK_TMO_MS 1u

struct vsw_afp {
	struct vsw_port *port;
	struct vsw_gone *gone; /* told when a send shows the device gone */
	int fd;
	int ifindex;
	char ifname[IFNAMSIZ];
	bool vnet; /* PACKET_VNET_HDR is on */
	uint8_t *ring;
	size_t ring_len;

	/* rx, owner of the rxq */
	unsigned blk;		     /* block being read */
	unsigned left;		     /* its frames not read yet (0: none) */
	struct tpacket3_hdr *frm;    /* next frame of that block */

	/* tx, the sending thread */
	struct mmsghdr msg[VSW_PORT_BURST];
	struct iovec iov[VSW_PORT_BURST][2];
	struct virtio_net_hdr hdr[VSW_PORT_BURST];
	uint8_t *scratch; /* software offloads (no PACKET_VNET_HDR) */
};

/* ------------------------------------------------------------------ */
/* Software offloads                                                   */
/* ------------------------------------------------------------------ */

int vsw_port_sw_offload(const struct vsw_pkt *pkt, uint8_t *scratch,
			vsw_port_frame_fn fn, void *arg)
{
	const uint8_t *data = vsw_pkt_data(pkt);
	struct vsw_vnet_gso g;
	uint32_t len;
	int ret, nseg = 0;

	if ((pkt->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) !=
	    VIRTIO_NET_HDR_GSO_NONE) {
		ret = vsw_vnet_gso_init(&g, data, pkt->len, &pkt->vnet);
		if (ret < 0)
			return ret;
		while ((len = vsw_vnet_gso_next(&g, scratch)) != 0) {
			ret = fn(arg, scratch, len);
			if (ret < 0)
				return ret;
			nseg++;
		}
		return nseg;
	}
	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		memcpy(scratch, data, pkt->len);
		ret = vsw_vnet_csum_apply(scratch, pkt->len,
					  pkt->vnet.csum_start,
					  pkt->vnet.csum_offset);
		if (ret < 0)
			return ret;
		data = scratch;
	}
	ret = fn(arg, data, pkt->len);
	return ret < 0 ? ret : 1;
}

/* ------------------------------------------------------------------ */
/* Socket and ring                                                     */
/* ------------------------------------------------------------------ */

int vsw_afp_create(struct vsw_port *port, const char *ifname,
		   struct vsw_gone *gone, char *err, size_t err_len,
		   struct vsw_afp **out)
{
	struct tpacket_req3 req = {
		.tp_block_size = AFP_BLOCK_SIZE,
		.tp_block_nr = AFP_BLOCK_NR,
		.tp_frame_size = AFP_FRAME_SIZE,
		.tp_frame_nr = AFP_BLOCK_SIZE / AFP_FRAME_SIZE * AFP_BLOCK_NR,
		.tp_retire_blk_tov = AFP_BLOCK_TMO_MS,
	};
	struct packet_mreq mr = {0};
	struct sockaddr_ll sll = {0};
	int one = 1, ver = TPACKET_V3, ret;
	struct vsw_afp *a;
	unsigned i;

	if (ifname == NULL || ifname[0] == '\0' ||
	    strlen(ifname) >= IFNAMSIZ) {
		vsw_port_errf(err, err_len,
			"afpacket: option 'ifname' must name an interface "
			"(1 to %d characters)", IFNAMSIZ - 1);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->port = port;
	a->gone = gone;
	a->ring = MAP_FAILED;
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	a->ifindex = (int)if_nametoindex(ifname);
	if (a->ifindex == 0) {
		ret = -ENODEV;
		vsw_port_errf(err, err_len, "afpacket: no interface '%s'", ifname);
		goto err_free;
	}
	/* protocol 0: nothing is queued before the ring exists */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->fd < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "afpacket: socket: %s", strerror(-ret));
		goto err_free;
	}
	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &ver,
		       sizeof(ver)) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "afpacket: TPACKET_V3: %s",
			strerror(-ret));
		goto err_close;
	}
	/* before the ring: the kernel refuses it on a socket with a ring */
	a->vnet = setsockopt(a->fd, SOL_PACKET, PACKET_VNET_HDR, &one,
			     sizeof(one)) == 0;
	if (!a->vnet) {
		vsw_port_log(port, VSW_LOG_WARN,
			     "afpacket: PACKET_VNET_HDR refused (%s): offloads "
			     "completed in software",
			     strerror(errno));
		a->scratch = malloc(VSW_PKT_MAX_LEN);
		if (a->scratch == NULL) {
			ret = -ENOMEM;
			goto err_close;
		}
	}
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req,
		       sizeof(req)) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "afpacket: PACKET_RX_RING: %s",
			strerror(-ret));
		goto err_close;
	}
	a->ring_len = (size_t)AFP_BLOCK_SIZE * AFP_BLOCK_NR;
	a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, a->fd, 0);
	if (a->ring == MAP_FAILED) {
		ret = -errno;
		vsw_port_errf(err, err_len, "afpacket: mmap ring: %s",
			strerror(-ret));
		goto err_close;
	}
	/* best effort: recv also skips PACKET_OUTGOING frames itself */
	(void)setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
			 sizeof(one));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = a->ifindex;
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "afpacket: bind to %s: %s", ifname,
			strerror(-ret));
		goto err_unmap;
	}
	mr.mr_ifindex = a->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
		       sizeof(mr)) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "afpacket: promiscuous mode on %s: %s",
			ifname, strerror(-ret));
		goto err_unmap;
	}
	/* bound to an interface that is down: ENETDOWN, POLLERR until read */
	vsw_afp_clear_error(a);
	for (i = 0; i < VSW_PORT_BURST; i++) {
		a->msg[i].msg_hdr.msg_iov = a->iov[i];
		a->iov[i][0].iov_base = &a->hdr[i];
		a->iov[i][0].iov_len = sizeof(a->hdr[i]);
	}
	*out = a;
	return 0;

err_unmap:
	munmap(a->ring, a->ring_len);
err_close:
	close(a->fd);
err_free:
	free(a->scratch);
	free(a);
	return ret;
}

void vsw_afp_destroy(struct vsw_afp *a)
{
	if (a == NULL)
		return;
	munmap(a->ring, a->ring_len);
	close(a->fd); /* also leaves promiscuous mode */
	free(a->scratch);
	free(a);
}

int vsw_afp_fd(const struct vsw_afp *a)
{
	return a->fd;
}

int vsw_afp_ifindex(const struct vsw_afp *a)
{
	return a->ifindex;
}

void vsw_afp_clear_error(struct vsw_afp *a)
{
	socklen_t len;
	int e;

	len = sizeof(e);
	/* reading SO_ERROR clears it; nothing to do with the value */
	(void)getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &e, &len);
}

/* A send failed with err: is it the interface that went away? */
static inline bool afp_dev_gone(int err)
{
	return err == ENXIO || err == ENODEV;
}

void vsw_afp_status(const struct vsw_afp *a, char *buf, size_t len)
{
	snprintf(buf, len, "ifname %s, %s offloads", a->ifname,
		 a->vnet ? "vnet-header" : "software");
}

static struct tpacket_block_desc *afp_block(const struct vsw_afp *a,
					    unsigned i)
{
	return (struct tpacket_block_desc *)(a->ring +
					     (size_t)i * AFP_BLOCK_SIZE);
}

bool vsw_afp_rx_pending(const struct vsw_afp *a)
{
	/* pairs with the kernel's smp_wmb() before it hands the block over */
	return a->left != 0 ||
	       (vsw_load_acquire(&afp_block(a, a->blk)->hdr.bh1.block_status) &
		TP_STATUS_USER);
}

/* Give the current block back to the kernel and move to the next. */
static void afp_block_done(struct vsw_afp *a)
{
	struct tpacket_block_desc *b = afp_block(a, a->blk);

	/*
	 * Every read of the block's frames happens before the kernel may
	 * refill it: pairs with the kernel's read of block_status (smp_rmb)
	 * before it writes into the block.
	 */
	vsw_store_release(&b->hdr.bh1.block_status, TP_STATUS_KERNEL);
	a->blk = (a->blk + 1) % AFP_BLOCK_NR;
	a->left = 0;
}

static void afp_vnet_to_pkt(struct vsw_pkt *p, const struct virtio_net_hdr *h,
			    uint32_t shift)
{
	p->vnet.flags = h->flags;
	p->vnet.gso_type = h->gso_type;
	p->vnet.hdr_len = le16toh(h->hdr_len);
	p->vnet.gso_size = le16toh(h->gso_size);
	p->vnet.csum_start = le16toh(h->csum_start);
	p->vnet.csum_offset = le16toh(h->csum_offset);
	p->vnet.num_buffers = 0;
	/* a VLAN tag put back in front of the L3 header moves it */
	if (shift != 0) {
		if (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			p->vnet.csum_start += shift;
		if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
		    p->vnet.hdr_len != 0)
			p->vnet.hdr_len += shift;
	}
}

/* Copy one ring frame into a packet; NULL when it is dropped (counted). */
static struct vsw_pkt *afp_rx_frame(struct vsw_afp *a,
				    struct vsw_pkt_pool *pool,
				    const struct tpacket3_hdr *h,
				    uint32_t room)
{
	const struct sockaddr_ll *sll =
		(const void *)((const uint8_t *)h +
			       TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
	uint32_t len = h->tp_snaplen, vlan = 0, total;
	const uint8_t *data;
	struct vsw_pkt *p;
	uint8_t *dst;

	if (sll->sll_pkttype == PACKET_OUTGOING)
		return NULL; /* our own transmission: not a drop */
	if (h->tp_snaplen != h->tp_len || h->tp_mac > room ||
	    len > room - h->tp_mac || len < ETH_HLEN ||
	    (a->vnet && h->tp_mac < sizeof(struct virtio_net_hdr))) {
		vsw_port_rxq_drop(a->port, 0, VSW_DROP_BAD_FRAME, 1);
		return NULL;
	}
	data = (const uint8_t *)h + h->tp_mac;
	if (h->tp_status & TP_STATUS_VLAN_VALID)
		vlan = 4;
	total = len + vlan;
	p = vsw_pkt_alloc_len(pool, total);
	if (p == NULL) {
		vsw_port_rxq_drop(a->port, 0,
				  total > VSW_PKT_MAX_LEN ? VSW_DROP_BAD_FRAME
							  : VSW_DROP_RX_NOMEM,
				  1);
		return NULL;
	}
	dst = vsw_pkt_data(p);
	if (vlan != 0) {
		uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID)
					? h->hv1.tp_vlan_tpid
					: ETH_P_8021Q;
		uint16_t be[2] = {htons(tpid), htons(h->hv1.tp_vlan_tci)};

		memcpy(dst, data, 12); /* destination and source MAC */
		memcpy(dst + 12, be, 4);
		memcpy(dst + 16, data + 12, len - 12);
	} else {
		memcpy(dst, data, len);
	}
	p->len = total;
	p->in_port = (uint16_t)vsw_port_id(a->port);
	if (a->vnet)
		afp_vnet_to_pkt(p,
				(const struct virtio_net_hdr
					 *)(data - sizeof(struct virtio_net_hdr)),
				vlan);
	return p;
}

unsigned vsw_afp_recv(struct vsw_afp *a, struct vsw_pkt_pool *pool,
		      struct vsw_pkt **pkts, unsigned n)
{
	unsigned out = 0;

	while (out < n) {
		struct tpacket_block_desc *b = afp_block(a, a->blk);
		const struct tpacket3_hdr *h;
		uint8_t *end = (uint8_t *)b + AFP_BLOCK_SIZE;
		uint32_t room;
		struct vsw_pkt *p;

		if (a->left == 0) {
			/* pairs with the kernel's smp_wmb() before it sets
			 * TP_STATUS_USER: the frames are written */
			if (!(vsw_load_acquire(&b->hdr.bh1.block_status) &
			      TP_STATUS_USER))
				break;
			a->left = b->hdr.bh1.num_pkts;
			a->frm = (struct tpacket3_hdr
					  *)((uint8_t *)b +
					     b->hdr.bh1.offset_to_first_pkt);
			if (a->left == 0 ||
			    b->hdr.bh1.offset_to_first_pkt >= AFP_BLOCK_SIZE) {
				afp_block_done(a);
				continue;
			}
		}
		h = a->frm;
		room = (uint32_t)(end - (uint8_t *)h);
		if (room < TPACKET_ALIGN(sizeof(*h)) +
				   sizeof(struct sockaddr_ll)) {
			/* a frame header past the block: give it back */
			vsw_port_rxq_drop(a->port, 0, VSW_DROP_RX_ERROR,
					  a->left);
			afp_block_done(a);
			continue;
		}
		p = afp_rx_frame(a, pool, h, room);
		if (p != NULL)
			pkts[out++] = p;
		if (--a->left == 0 || h->tp_next_offset == 0 ||
		    h->tp_next_offset >= room) {
			if (a->left != 0)
				vsw_port_rxq_drop(a->port, 0,
						  VSW_DROP_RX_ERROR, a->left);
			afp_block_done(a);
		} else {
			a->frm = (struct tpacket3_hdr *)((uint8_t *)h +
							 h->tp_next_offset);
		}
	}
	return out;
}

static void afp_vnet_from_pkt(struct virtio_net_hdr *h,
			      const struct vsw_pkt *p)
{
	h->flags = p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = p->vnet.gso_type;
	h->hdr_len = htole16(p->vnet.hdr_len);
	h->gso_size = htole16(p->vnet.gso_size);
	h->csum_start = htole16(p->vnet.csum_start);
	h->csum_offset = htole16(p->vnet.csum_offset);
}

/*
 * sendmmsg msg[0..n): returns how many were taken; a frame the kernel
 * refuses is counted and skipped, a full queue stops the burst.
 */
static unsigned afp_flush(struct vsw_afp *a, unsigned n, bool *full)
{
	unsigned i = 0;
	int r;

	while (i < n) {
		r = sendmmsg(a->fd, a->msg + i, n - i, MSG_DONTWAIT);
		if (r > 0) {
			i += (unsigned)r;
			continue;
		}
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
			*full = true;
			break;
		}
		if (afp_dev_gone(errno)) {
			/* once: the link goes down, no more sends */
			vsw_gone_set(a->gone, errno);
			*full = true;
			break;
		}
		if (errno == ENETDOWN) {
			/*
			 * Taken down under us (the link follows within a
			 * control step, see gone.c): the burst is lost, not
			 * an error worth a line per burst.
			 */
			vsw_port_txq_drop(a->port, 0, VSW_DROP_TX_DOWN, n - i);
			return n;
		}
		vsw_port_txq_drop(a->port, 0, VSW_DROP_TX_ERROR, 1);
		vsw_port_log_rl(a->port, VSW_LOG_WARN, "afpacket send: %s",
				strerror(errno));
		i++;
	}
	return i;
}

static int afp_send_one(void *arg, const uint8_t *frame, uint32_t len)
{
	struct vsw_afp *a = arg;

	if (send(a->fd, frame, len, MSG_DONTWAIT) >= 0)
		return 0;
	if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
		return -EAGAIN;
	return -errno;
}

/* Without PACKET_VNET_HDR: send a frame whose offload is done here. */
static int afp_send_sw(struct vsw_afp *a, const struct vsw_pkt *p)
{
	int ret = vsw_port_sw_offload(p, a->scratch, afp_send_one, a);

	if (ret == -EAGAIN)
		return ret;
	if (afp_dev_gone(-ret)) {
		vsw_gone_set(a->gone, -ret);
		return -EAGAIN;
	}
	if (ret == -ENETDOWN) {
		vsw_port_txq_drop(a->port, 0, VSW_DROP_TX_DOWN, 1);
		return 0;
	}
	if (ret < 0) {
		/* segments already sent stay sent; the frame counts lost */
		vsw_port_txq_drop(a->port, 0, VSW_DROP_TX_ERROR, 1);
		vsw_port_log_rl(a->port, VSW_LOG_WARN,
				"afpacket: offload completion failed: %s",
				strerror(-ret));
	}
	return 0;
}

unsigned vsw_afp_send(struct vsw_afp *a, struct vsw_pkt *const *pkts,
		      unsigned n)
{
	unsigned i, m = 0, done = 0;
	bool full = false;

	for (i = 0; i < n; i++) {
		const struct vsw_pkt *p = pkts[i];

		if (!a->vnet && (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
				 (p->vnet.flags &
				  VIRTIO_NET_HDR_F_NEEDS_CSUM))) {
			/* keep the order: what is batched goes first */
			done += afp_flush(a, m, &full);
			m = 0;
			if (full || afp_send_sw(a, p) == -EAGAIN)
				return done;
			done++;
			continue;
		}
		if (a->vnet) {
			afp_vnet_from_pkt(&a->hdr[m], p);
			a->iov[m][0].iov_len = sizeof(a->hdr[m]);
		} else {
			a->iov[m][0].iov_len = 0;
		}
		a->iov[m][1].iov_base = vsw_pkt_data(p);
		a->iov[m][1].iov_len = p->len;
		a->msg[m].msg_hdr.msg_iovlen = 2;
		m++;
	}
	return done + afp_flush(a, m, &full);
}

/* ------------------------------------------------------------------ */
/* Provider                                                            */
/* ------------------------------------------------------------------ */

/* The port: the socket, or none while its interface is gone. */
struct afpacket_port {
	struct vsw_gone g; /* first: its ctl ops take the port's priv */
	struct vsw_afp *a; /* NULL while the interface is gone */
	char ifname[IFNAMSIZ];
};

/* vsw_gone_ctl_*() take the port's priv for its struct vsw_gone */
_Static_assert(offsetof(struct afpacket_port, g) == 0, "g first");

static void afpacket_detach(struct vsw_port *port)
{
	struct afpacket_port *ap = vsw_port_priv(port);

	vsw_afp_destroy(ap->a);
	ap->a = NULL;
}

static int afpacket_attach(struct vsw_port *port, char *why, size_t why_len)
{
	struct afpacket_port *ap = vsw_port_priv(port);
	int ret;

	ret = vsw_afp_create(port, ap->ifname, &ap->g, why, why_len, &ap->a);
	return ret < 0 ? ret : vsw_afp_ifindex(ap->a);
}

static void afpacket_event(struct vsw_port *port)
{
	struct afpacket_port *ap = vsw_port_priv(port);

	vsw_afp_clear_error(ap->a);
}

static const struct vsw_gone_ops afpacket_gone_ops = {
	.detach = afpacket_detach,
	.attach = afpacket_attach,
	.event = afpacket_event,
};

static int afpacket_open(struct vsw_port *port,
			 const struct vsw_port_opt *opts, unsigned n_opts,
			 char *err, size_t err_len)
{
	static const char *const known[] = {"ifname", NULL};
	struct afpacket_port *ap;
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	ap = calloc(1, sizeof(*ap));
	if (ap == NULL)
		return -ENOMEM;
	ret = vsw_afp_create(port, vsw_port_opt_get(opts, n_opts, "ifname"),
			     &ap->g, err, err_len, &ap->a);
	if (ret < 0)
		goto err_free;
	snprintf(ap->ifname, sizeof(ap->ifname), "%s", ap->a->ifname);
	ret = vsw_gone_init(&ap->g, port, "interface", ap->ifname,
			    vsw_afp_ifindex(ap->a), &afpacket_gone_ops, err,
			    err_len);
	if (ret < 0)
		goto err_afp;
	vsw_port_set_priv(port, ap);
	vsw_port_log(port, VSW_LOG_INFO, "afpacket on %s (%s offloads)",
		     ap->a->ifname, ap->a->vnet ? "vnet-header" : "software");
	return 0;

err_afp:
	vsw_afp_destroy(ap->a);
err_free:
	free(ap);
	return ret;
}

static void afpacket_close(struct vsw_port *port)
{
	struct afpacket_port *ap = vsw_port_priv(port);

	if (ap == NULL)
		return;
	vsw_afp_destroy(ap->a);
	vsw_gone_fini(&ap->g);
	free(ap);
	vsw_port_set_priv(port, NULL);
}

static unsigned afpacket_n_queues(const struct vsw_port *port)
{
	const struct afpacket_port *ap = vsw_port_priv(port);

	return vsw_gone_queues(&ap->g, 1);
}

static void afpacket_status(const struct vsw_port *port, char *buf,
			    size_t len)
{
	const struct afpacket_port *ap = vsw_port_priv(port);
	char gone[200];

	if (vsw_gone_status(&ap->g, gone, sizeof(gone)))
		snprintf(buf, len, "%s; ifname %s", gone, ap->ifname);
	else
		vsw_afp_status(ap->a, buf, len);
}

static unsigned afpacket_recv(struct vsw_port *port, unsigned rxq,
			      struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			      unsigned n)
{
	struct afpacket_port *ap = vsw_port_priv(port);

	(void)rxq;
	if (vsw_gone_is(&ap->g))
		return 0;
	return vsw_afp_recv(ap->a, pool, pkts, n);
}

static unsigned afpacket_send(struct vsw_port *port, unsigned txq,
			      struct vsw_pkt *const *pkts, unsigned n)
{
	struct afpacket_port *ap = vsw_port_priv(port);

	(void)txq;
	if (vsw_gone_is(&ap->g))
		return 0; /* the link is down: counted tx_down */
	return vsw_afp_send(ap->a, pkts, n);
}

static int afpacket_rxq_wait_fd(struct vsw_port *port, unsigned rxq)
{
	const struct afpacket_port *ap = vsw_port_priv(port);

	(void)rxq;
	return vsw_afp_fd(ap->a);
}

static bool afpacket_rxq_arm(struct vsw_port *port, unsigned rxq)
{
	const struct afpacket_port *ap = vsw_port_priv(port);

	(void)rxq;
	return vsw_afp_rx_pending(ap->a);
}

static void afpacket_rxq_disarm(struct vsw_port *port, unsigned rxq)
{
	(void)port;
	(void)rxq;
}

/* Nothing changes live: the socket and its ring are bound to ifname. */
static int afpacket_reconfigure(struct vsw_port *port,
				const struct vsw_port_opt *old, unsigned n_old,
				const struct vsw_port_opt *opts,
				unsigned n_opts, char *err, size_t err_len)
{
	static const char *const known[] = {"ifname", NULL};

	return vsw_port_opts_all_fixed(port, old, n_old, opts, n_opts, known,
				       "the socket is bound to the interface",
				       err, err_len);
}

const struct vsw_port_ops vsw_port_afpacket_ops = {
	.type = "afpacket",
	.open = afpacket_open,
	.close = afpacket_close,
	.reconfigure = afpacket_reconfigure,
	.n_rxq = afpacket_n_queues,
	.n_txq = afpacket_n_queues,
	.ctl_fd = vsw_gone_ctl_fd,
	.ctl_timeout_ms = vsw_gone_ctl_timeout_ms,
	.ctl_handle = vsw_gone_ctl_handle,
	.status = afpacket_status,
	.hwaddr = vsw_gone_hwaddr,
	.recv = afpacket_recv,
	.send = afpacket_send,
	.rxq_wait_fd = afpacket_rxq_wait_fd,
	.rxq_arm = afpacket_rxq_arm,
	.rxq_disarm = afpacket_rxq_disarm,
};
