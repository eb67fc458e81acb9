/* SPDX-License-Identifier: MIT */
/*
 * afxdp: a port on an existing interface through an AF_XDP socket (libxdp's
 * xsk API), in copy mode with the generic (skb) XDP hook, so that it works
 * on any driver, veth included. When AF_XDP cannot be used (vsw built
 * without libxdp, the kernel or driver refuses the program or the socket,
 * the queue does not exist) the port falls back to an AF_PACKET socket
 * (afpacket.c) on the same interface and logs why.
 *
 * UMEM: one anonymous mapping of AFXDP_NFRAMES frames of AFXDP_FRAME
 * bytes. The first half feeds the fill ring (RX), the second half is the
 * TX frame stack; a frame returns to the fill ring as soon as recv copied
 * it out, a TX frame returns to the stack from the completion ring.
 *
 * Offloads: AF_XDP carries no metadata, so send completes checksums and
 * segments GSO frames in software (vsw_port_sw_offload); received frames
 * have complete checksums.
 *
 * The interface going away: the socket is unbound by the kernel (it polls
 * as nothing, its kick fails with ENXIO). gone.c notices (rtnetlink, or
 * that ENXIO once), takes the queue away, and the socket, UMEM and XDP
 * program (or the fallback socket) are released; when an interface of
 * that name is there again the port attaches to it as open did (AF_XDP,
 * or the fallback).
 *
 * Threads: recv owns the RX and fill rings, send the TX and completion
 * rings and the TX stack; the rings are single-producer single-consumer
 * with the kernel (libxdp's inline helpers carry the barriers).
 */
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
#include <unistd.h>

#include <linux/if_ether.h>

#ifdef VSW_HAVE_LIBXDP
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>
#endif

#include "tap_priv.h"

#ifdef VSW_HAVE_LIBXDP
#define AFXDP_FRAME 4096u
#define AFXDP_NFRAMES 4096u
#define AFXDP_RING 2048u /* each ring; AFXDP_NFRAMES / 2 */
#define AFXDP_BUSY_RETRY_MS 1000u

struct afxdp_xsk {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	uint8_t *area;
	struct xsk_ring_cons rx, cq;
	struct xsk_ring_prod tx, fq;
	int fd;
	/* send: free TX frames (addresses), a stack */
	uint64_t tx_free[AFXDP_NFRAMES / 2];
	unsigned n_tx_free;
	uint8_t *scratch; /* software offloads */
	/* send_sw: frames queued by the current burst */
	unsigned sw_queued;
	uint32_t tx_idx;
};
#endif

struct afxdp_port {
	struct vsw_gone g; /* first: its ctl ops take the port's priv */
	struct vsw_port *port;
	char ifname[IFNAMSIZ];
	unsigned queue;
	struct vsw_afp *afp; /* fallback: non-NULL when AF_XDP is not used */
#ifdef VSW_HAVE_LIBXDP
	struct afxdp_xsk x;
#endif
};

/* vsw_gone_ctl_*() take the port's priv for its struct vsw_gone */
_Static_assert(offsetof(struct afxdp_port, g) == 0, "g first");

#ifdef VSW_HAVE_LIBXDP
static void afxdp_xsk_destroy(struct afxdp_xsk *x)
{
	if (x->xsk != NULL)
		xsk_socket__delete(x->xsk); /* detaches the XDP program */
	if (x->umem != NULL)
		(void)xsk_umem__delete(x->umem);
	if (x->area != NULL)
		munmap(x->area, (size_t)AFXDP_FRAME * AFXDP_NFRAMES);
	free(x->scratch);
	memset(x, 0, sizeof(*x));
}

/* Set up the UMEM and the socket; on failure why in err. */
static int afxdp_xsk_create(struct afxdp_port *ap, char *why, size_t why_len)
{
	struct xsk_umem_config ucfg = {
		.fill_size = AFXDP_RING,
		.comp_size = AFXDP_RING,
		.frame_size = AFXDP_FRAME,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = AFXDP_RING,
		.tx_size = AFXDP_RING,
		.xdp_flags = XDP_FLAGS_SKB_MODE,
		.bind_flags = XDP_COPY,
	};
	struct afxdp_xsk *x = &ap->x;
	uint32_t idx, i;
	int ret;

	x->scratch = malloc(VSW_PKT_MAX_LEN);
	if (x->scratch == NULL)
		return -ENOMEM;
	x->area = mmap(NULL, (size_t)AFXDP_FRAME * AFXDP_NFRAMES,
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		ret = -errno;
		x->area = NULL;
		vsw_port_errf(why, why_len, "umem mmap: %s", strerror(-ret));
		goto err;
	}
	ret = xsk_umem__create(&x->umem, x->area,
			       (uint64_t)AFXDP_FRAME * AFXDP_NFRAMES, &x->fq,
			       &x->cq, &ucfg);
	if (ret < 0) {
		x->umem = NULL;
		vsw_port_errf(why, why_len, "umem: %s", strerror(-ret));
		goto err;
	}
	/*
	 * The kernel lets go of a queue a just-closed socket used from a
	 * deferred work item: a port re-added at once may see -EBUSY for a
	 * moment. Retry for up to AFXDP_BUSY_RETRY_MS (control path).
	 */
	for (i = 0;; i++) {
		ret = xsk_socket__create(&x->xsk, ap->ifname, ap->queue,
					 x->umem, &x->rx, &x->tx, &scfg);
		if (ret != -EBUSY || i * 10 >= AFXDP_BUSY_RETRY_MS)
			break;
		usleep(10000);
	}
	if (ret < 0) {
		x->xsk = NULL;
		vsw_port_errf(why, why_len, "xsk socket on queue %u: %s",
			  ap->queue, strerror(-ret));
		goto err;
	}
	x->fd = xsk_socket__fd(x->xsk);
	/* the first half of the frames waits in the fill ring */
	if (xsk_ring_prod__reserve(&x->fq, AFXDP_RING, &idx) != AFXDP_RING) {
		ret = -ENOSPC;
		vsw_port_errf(why, why_len, "fill ring too small");
		goto err;
	}
	for (i = 0; i < AFXDP_RING; i++)
		*xsk_ring_prod__fill_addr(&x->fq, idx + i) =
			(uint64_t)i * AFXDP_FRAME;
	xsk_ring_prod__submit(&x->fq, AFXDP_RING);
	for (i = 0; i < AFXDP_NFRAMES / 2; i++)
		x->tx_free[i] = (uint64_t)(AFXDP_RING + i) * AFXDP_FRAME;
	x->n_tx_free = AFXDP_NFRAMES / 2;
	return 0;

err:
	afxdp_xsk_destroy(x);
	return ret;
}

static unsigned afxdp_xsk_recv(struct afxdp_port *ap,
			       struct vsw_pkt_pool *pool,
			       struct vsw_pkt **pkts, unsigned n)
{
	struct afxdp_xsk *x = &ap->x;
	uint32_t idx_rx, idx_fq, i, got;
	unsigned out = 0;

	got = xsk_ring_cons__peek(&x->rx, n, &idx_rx);
	if (got == 0)
		return 0;
	/*
	 * Every frame taken goes back to the fill ring in this call. The
	 * fill ring has a slot for every RX frame, so the room is there;
	 * should it not be, the frames stay in the RX ring for later.
	 */
	if (xsk_ring_prod__reserve(&x->fq, got, &idx_fq) != got) {
		xsk_ring_cons__cancel(&x->rx, got);
		return 0;
	}
	for (i = 0; i < got; i++) {
		const struct xdp_desc *d =
			xsk_ring_cons__rx_desc(&x->rx, idx_rx + i);
		uint64_t addr = xsk_umem__extract_addr(d->addr);
		uint64_t off = xsk_umem__extract_offset(d->addr);
		uint64_t base = addr - addr % AFXDP_FRAME;
		struct vsw_pkt *p;

		*xsk_ring_prod__fill_addr(&x->fq, idx_fq + i) = base;
		if (addr + off + d->len > (uint64_t)AFXDP_FRAME * AFXDP_NFRAMES ||
		    d->len < ETH_HLEN) {
			vsw_port_rxq_drop(ap->port, 0, VSW_DROP_BAD_FRAME, 1);
			continue;
		}
		p = vsw_pkt_alloc_len(pool, d->len);
		if (p == NULL) {
			vsw_port_rxq_drop(ap->port, 0, VSW_DROP_RX_NOMEM, 1);
			continue;
		}
		memcpy(vsw_pkt_data(p), xsk_umem__get_data(x->area, d->addr),
		       d->len);
		p->len = d->len;
		p->in_port = (uint16_t)vsw_port_id(ap->port);
		pkts[out++] = p;
	}
	xsk_ring_cons__release(&x->rx, got);
	xsk_ring_prod__submit(&x->fq, got);
	return out;
}

/* Return completed TX frames to the stack. */
static void afxdp_reclaim(struct afxdp_xsk *x)
{
	uint32_t idx, i, n;

	n = xsk_ring_cons__peek(&x->cq, AFXDP_RING, &idx);
	for (i = 0; i < n; i++)
		x->tx_free[x->n_tx_free++] =
			*xsk_ring_cons__comp_addr(&x->cq, idx + i);
	xsk_ring_cons__release(&x->cq, n);
}

/* Queue one frame on the TX ring (reserved slot x->tx_idx + sw_queued). */
static int afxdp_queue_frame(void *arg, const uint8_t *frame, uint32_t len)
{
	struct afxdp_xsk *x = arg;
	struct xdp_desc *d;
	uint64_t addr;
	uint32_t idx;

	if (len > AFXDP_FRAME)
		return -EMSGSIZE;
	if (x->n_tx_free == 0)
		afxdp_reclaim(x);
	if (x->n_tx_free == 0 || xsk_ring_prod__reserve(&x->tx, 1, &idx) != 1)
		return -EAGAIN;
	addr = x->tx_free[--x->n_tx_free];
	memcpy(xsk_umem__get_data(x->area, addr), frame, len);
	d = xsk_ring_prod__tx_desc(&x->tx, idx);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	xsk_ring_prod__submit(&x->tx, 1);
	x->sw_queued++;
	return 0;
}

static unsigned afxdp_xsk_send(struct afxdp_port *ap,
			       struct vsw_pkt *const *pkts, unsigned n)
{
	struct afxdp_xsk *x = &ap->x;
	unsigned i;
	int ret;

	afxdp_reclaim(x);
	x->sw_queued = 0;
	for (i = 0; i < n; i++) {
		const struct vsw_pkt *p = pkts[i];

		if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		    !(p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			ret = afxdp_queue_frame(x, vsw_pkt_data(p), p->len);
		else
			ret = vsw_port_sw_offload(p, x->scratch,
						  afxdp_queue_frame, x);
		if (ret == -EAGAIN)
			break; /* ring or frames full: the rest is tx_full */
		if (ret < 0) {
			vsw_port_txq_drop(ap->port, 0, VSW_DROP_TX_ERROR, 1);
			vsw_port_log_rl(ap->port, VSW_LOG_WARN,
					"afxdp: frame refused: %s",
					strerror(-ret));
		}
	}
	/*
	 * Copy mode transmits from the sendto() context: one kick per burst
	 * (EAGAIN / EBUSY: the kernel is still busy with the ring and will
	 * see the new descriptors on the next kick; ENETDOWN: the interface
	 * was taken down, the link follows within a control step and the
	 * frames stay queued).
	 */
	if (x->sw_queued != 0 &&
	    sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
	    errno != EAGAIN && errno != EBUSY && errno != ENOBUFS &&
	    errno != ENETDOWN) {
		if (errno == ENXIO || errno == ENODEV)
			vsw_gone_set(&ap->g, errno); /* unbound: once */
		else
			vsw_port_log_rl(ap->port, VSW_LOG_WARN,
					"afxdp kick: %s", strerror(errno));
	}
	return i;
}
#endif /* VSW_HAVE_LIBXDP */

/*
 * Attach to the interface: AF_XDP, or the afpacket fallback (logged with
 * the reason). Its ifindex, or a negative errno with a message in err.
 */
static int afxdp_attach(struct afxdp_port *ap, char *err, size_t err_len)
{
	char why[160];
	int ret, idx;

	idx = (int)if_nametoindex(ap->ifname);
	if (idx == 0) {
		vsw_port_errf(err, err_len, "afxdp: no interface '%s'",
			      ap->ifname);
		return -ENODEV;
	}
#ifdef VSW_HAVE_LIBXDP
	ret = afxdp_xsk_create(ap, why, sizeof(why));
	if (ret == 0) {
		vsw_port_log(ap->port, VSW_LOG_INFO,
			     "afxdp on %s queue %u (copy mode, generic XDP)",
			     ap->ifname, ap->queue);
		return idx;
	}
	if (ret == -ENOMEM)
		return ret;
#else
	snprintf(why, sizeof(why), "vsw was built without libxdp");
#endif
	vsw_port_log(ap->port, VSW_LOG_WARN,
		     "afxdp: AF_XDP unavailable on %s (%s): falling back to "
		     "afpacket",
		     ap->ifname, why);
	ret = vsw_afp_create(ap->port, ap->ifname, &ap->g, err, err_len,
			     &ap->afp);
	if (ret < 0)
		return ret;
	return vsw_afp_ifindex(ap->afp);
}

static void afxdp_release(struct afxdp_port *ap)
{
	if (ap->afp != NULL)
		vsw_afp_destroy(ap->afp);
#ifdef VSW_HAVE_LIBXDP
	else
		afxdp_xsk_destroy(&ap->x);
#endif
	ap->afp = NULL;
}

static void afxdp_gone_detach(struct vsw_port *port)
{
	afxdp_release(vsw_port_priv(port));
}

static int afxdp_gone_attach(struct vsw_port *port, char *why,
			     size_t why_len)
{
	return afxdp_attach(vsw_port_priv(port), why, why_len);
}

static void afxdp_gone_event(struct vsw_port *port)
{
	struct afxdp_port *ap = vsw_port_priv(port);

	if (ap->afp != NULL)
		vsw_afp_clear_error(ap->afp);
}

static const struct vsw_gone_ops afxdp_gone_ops = {
	.detach = afxdp_gone_detach,
	.attach = afxdp_gone_attach,
	.event = afxdp_gone_event,
};

static int afxdp_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		      unsigned n_opts, char *err, size_t err_len)
{
	static const char *const known[] = {"ifname", "queue", NULL};
	const char *ifname = vsw_port_opt_get(opts, n_opts, "ifname");
	struct afxdp_port *ap;
	int ret, idx;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	if (ifname == NULL || ifname[0] == '\0' ||
	    strlen(ifname) >= IFNAMSIZ) {
		vsw_port_errf(err, err_len,
			  "afxdp: option 'ifname' must name an interface "
			  "(1 to %d characters)", IFNAMSIZ - 1);
		return -EINVAL;
	}
	ap = calloc(1, sizeof(*ap));
	if (ap == NULL)
		return -ENOMEM;
	ap->port = port;
	snprintf(ap->ifname, sizeof(ap->ifname), "%s", ifname);
	ret = vsw_port_opt_uint(opts, n_opts, "queue", 0, 0, 1023, &ap->queue,
				err, err_len);
	if (ret < 0)
		goto err_free;
	idx = afxdp_attach(ap, err, err_len);
	if (idx < 0) {
		ret = idx;
		goto err_free;
	}
	ret = vsw_gone_init(&ap->g, port, "interface", ap->ifname, idx,
			    &afxdp_gone_ops, err, err_len);
	if (ret < 0)
		goto err_release;
	vsw_port_set_priv(port, ap);
	return 0;

err_release:
	afxdp_release(ap);
err_free:
	free(ap);
	return ret;
}

static void afxdp_close(struct vsw_port *port)
{
	struct afxdp_port *ap = vsw_port_priv(port);

	if (ap == NULL)
		return;
	if (!ap->g.detached)
		afxdp_release(ap);
	vsw_gone_fini(&ap->g);
	free(ap);
	vsw_port_set_priv(port, NULL);
}

static unsigned afxdp_n_queues(const struct vsw_port *port)
{
	const struct afxdp_port *ap = vsw_port_priv(port);

	return vsw_gone_queues(&ap->g, 1);
}

static void afxdp_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct afxdp_port *ap = vsw_port_priv(port);
	char sub[200];

	if (vsw_gone_status(&ap->g, sub, sizeof(sub))) {
		snprintf(buf, len, "%s; ifname %s, queue %u", sub, ap->ifname,
			 ap->queue);
	} else if (ap->afp != NULL) {
		vsw_afp_status(ap->afp, sub, sizeof(sub));
		snprintf(buf, len, "afpacket fallback: %s", sub);
	} else {
		snprintf(buf, len, "ifname %s, queue %u, AF_XDP copy mode",
			 ap->ifname, ap->queue);
	}
}

static unsigned afxdp_recv(struct vsw_port *port, unsigned rxq,
			   struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			   unsigned n)
{
	struct afxdp_port *ap = vsw_port_priv(port);

	(void)rxq;
	if (vsw_gone_is(&ap->g))
		return 0;
	if (ap->afp != NULL)
		return vsw_afp_recv(ap->afp, pool, pkts, n);
#ifdef VSW_HAVE_LIBXDP
	return afxdp_xsk_recv(ap, pool, pkts, n);
#else
	return 0;
#endif
}

static unsigned afxdp_send(struct vsw_port *port, unsigned txq,
			   struct vsw_pkt *const *pkts, unsigned n)
{
	struct afxdp_port *ap = vsw_port_priv(port);

	(void)txq;
	if (vsw_gone_is(&ap->g))
		return 0; /* the link is down: counted tx_down */
	if (ap->afp != NULL)
		return vsw_afp_send(ap->afp, pkts, n);
#ifdef VSW_HAVE_LIBXDP
	return afxdp_xsk_send(ap, pkts, n);
#else
	return 0;
#endif
}

static int afxdp_rxq_wait_fd(struct vsw_port *port, unsigned rxq)
{
	const struct afxdp_port *ap = vsw_port_priv(port);

	(void)rxq;
	if (ap->afp != NULL)
		return vsw_afp_fd(ap->afp);
#ifdef VSW_HAVE_LIBXDP
	return ap->x.fd; /* POLLIN while the RX ring holds frames */
#else
	return -1;
#endif
}

static bool afxdp_rxq_arm(struct vsw_port *port, unsigned rxq)
{
	struct afxdp_port *ap = vsw_port_priv(port);

	(void)rxq;
	if (ap->afp != NULL)
		return vsw_afp_rx_pending(ap->afp);
#ifdef VSW_HAVE_LIBXDP
	{
		uint32_t idx;

		/* look without consuming: peek, then give the slot back */
		if (xsk_ring_cons__peek(&ap->x.rx, 1, &idx) == 1) {
			xsk_ring_cons__cancel(&ap->x.rx, 1);
			return true;
		}
	}
#endif
	return false;
}

static void afxdp_rxq_disarm(struct vsw_port *port, unsigned rxq)
{
	(void)port;
	(void)rxq;
}

/* Nothing changes live: the XDP socket is bound to (ifname, queue). */
static int afxdp_reconfigure(struct vsw_port *port,
			     const struct vsw_port_opt *old, unsigned n_old,
			     const struct vsw_port_opt *opts, unsigned n_opts,
			     char *err, size_t err_len)
{
	static const char *const known[] = {"ifname", "queue", NULL};

	return vsw_port_opts_all_fixed(port, old, n_old, opts, n_opts, known,
				       "the XDP socket is bound to the "
				       "interface's queue",
				       err, err_len);
}

const struct vsw_port_ops vsw_port_afxdp_ops = {
	.type = "afxdp",
	.open = afxdp_open,
	.close = afxdp_close,
	.reconfigure = afxdp_reconfigure,
	.n_rxq = afxdp_n_queues,
	.n_txq = afxdp_n_queues,
	.ctl_fd = vsw_gone_ctl_fd,
	.ctl_timeout_ms = vsw_gone_ctl_timeout_ms,
	.ctl_handle = vsw_gone_ctl_handle,
	.status = afxdp_status,
	.hwaddr = vsw_gone_hwaddr,
	.recv = afxdp_recv,
	.send = afxdp_send,
	.rxq_wait_fd = afxdp_rxq_wait_fd,
	.rxq_arm = afxdp_rxq_arm,
	.rxq_disarm = afxdp_rxq_disarm,
};
