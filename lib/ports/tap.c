/* SPDX-License-Identifier: MIT */
/*
 * tap: a port backed by a Linux TAP interface (/dev/net/tun).
 *
 * The interface is opened with IFF_VNET_HDR and a 12-byte header (struct
 * virtio_net_hdr_v1, little endian, TUNSETVNETLE): every frame read or
 * written carries its offload metadata, so checksum offload and TSO pass
 * between the host stack and vsw untouched (TUNSETOFFLOAD announces
 * TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN). The header maps
 * one to one onto vsw_pkt.vnet (CPU byte order).
 *
 * The tap interface is not persistent: closing the port removes it.
 *
 * One queue each way. A tap fd delivers one frame per read() and takes one
 * per write(): there is no batched system call for a tap character device
 * (no recvmmsg / sendmmsg on it), so recv and send make one system call
 * per frame. What is batched is everything around it: packets are taken
 * from the pool in one burst and unused ones returned in one burst.
 *
 * The interface going away under the port (`ip link del`, or the network
 * namespace it was moved to is deleted) leaves the fd detached: reads and
 * writes fail with EBADFD and poll reports POLLERR for ever. The data
 * thread that sees it first records it in `gone`, sets the link down and
 * kicks `ctl_ev` (the port's ctl_fd), once. The control thread then
 * logs it, drops the port to zero queues with vsw_port_changed() (no data
 * thread polls, sleeps on or sends to the dead fd after that returns),
 * closes the fd, and every TAP_REOPEN_MS creates / attaches the interface
 * of that name again (the same setup as open); when that works the port
 * gets its queue back and the link goes up.
 *
 * Security model: the kernel is trusted to write sane headers; a frame
 * shorter than an Ethernet header is still dropped (bad_frame).
 *
 * Threads: as in vsw/port.h. recv touches only the rx scratch, send only
 * the tx header array; the fd is shared (the kernel serialises). fd,
 * n_q and the reopen state are written by the control thread only, either
 * while no data op can run (zero queues) or before vsw_port_changed(),
 * whose grace period orders the write before every later data op.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_tun.h>

#include "tap_priv.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"

/* How often a port whose interface went away tries to get it back. */
#define TAP_REOPEN_MS 2000

struct tap_port {
	int fd;	      /* -1 while the interface is gone */
	unsigned n_q; /* queues each way: 1, or 0 while gone */
	/*
	 * 0, or the errno (EBADFD) with which the fd was found detached
	 * from its interface. Set once by the first data thread that sees
	 * it, cleared by the control thread when the interface is back.
	 */
	int gone;
	int ctl_ev;	    /* eventfd, ctl_fd: kicked when gone is set */
	uint64_t reopen_ms; /* CLOCK_MONOTONIC ms of the next reopen try */
	int reopen_err;	    /* errno of the last failed try, 0 if none */
	char why[128];	    /* its message, for status */
	char ifname[IFNAMSIZ];
	unsigned mtu;
	/*
	 * recv: the part of a frame that did not fit a small packet lands
	 * here (readv's last segment); only frames above VSW_PKT_SMALL_ROOM
	 * are copied once more, into a large packet.
	 */
	uint8_t *rx_spill;
	/* send: the little-endian header of each frame of a burst */
	struct virtio_net_hdr_v1 tx_hdr[VSW_PORT_BURST];
};

/* Bring the interface up and set its MTU through an AF_INET socket. */
static int tap_ifconfig(const char *ifname, unsigned mtu, char *err,
			size_t err_len)
{
	struct ifreq ifr;
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: socket: %s", strerror(-ret));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (mtu != 0) {
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
			ret = -errno;
			vsw_port_errf(err, err_len, "tap: %s: cannot set mtu %u: %s",
				ifname, mtu, strerror(-ret));
			goto out;
		}
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: %s: SIOCGIFFLAGS: %s", ifname,
			strerror(-ret));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: %s: cannot bring up: %s", ifname,
			strerror(-ret));
	}
out:
	close(s);
	return ret;
}

/*
 * Create the TAP interface ifname, or attach to the existing one of that
 * name, with the vnet header and offloads set up, and bring it up. The fd,
 * or a negative errno with a message in err; *actual gets the name the
 * kernel used.
 */
static int tap_attach(const char *ifname, unsigned mtu, char actual[IFNAMSIZ],
		      char *err, size_t err_len)
{
	const int hdr_sz = sizeof(struct virtio_net_hdr_v1);
	const unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
				  TUN_F_TSO_ECN;
	struct ifreq ifr;
	int fd, le = 1, ret;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: open /dev/net/tun: %s",
			strerror(-ret));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: TUNSETIFF %s: %s", ifname,
			strerror(-ret));
		goto err_close;
	}
	snprintf(actual, IFNAMSIZ, "%s", ifr.ifr_name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_sz) < 0 ||
	    ioctl(fd, TUNSETVNETLE, &le) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: %s: vnet header setup: %s", actual,
			strerror(-ret));
		goto err_close;
	}
	if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: %s: TUNSETOFFLOAD: %s", actual,
			strerror(-ret));
		goto err_close;
	}
	ret = tap_ifconfig(actual, mtu, err, err_len);
	if (ret < 0)
		goto err_close;
	return fd;

err_close:
	close(fd);
	return ret;
}

int vsw_tap_open_params(struct vsw_port *port, const struct vsw_tap_params *tp,
			char *err, size_t err_len)
{
	struct tap_port *t;
	int ret;

	if (tp->ifname[0] == '\0' || strlen(tp->ifname) >= IFNAMSIZ) {
		vsw_port_errf(err, err_len,
			"tap: interface name '%s' must have 1 to %d characters",
			tp->ifname, IFNAMSIZ - 1);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->fd = -1;
	t->rx_spill = malloc(VSW_PKT_LARGE_ROOM);
	if (t->rx_spill == NULL) {
		ret = -ENOMEM;
		goto err_free;
	}
	t->ctl_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->ctl_ev < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "tap: eventfd: %s", strerror(-ret));
		goto err_free;
	}
	ret = tap_attach(tp->ifname, tp->mtu, t->ifname, err, err_len);
	if (ret < 0)
		goto err_ev;
	t->fd = ret;
	t->n_q = 1;
	t->mtu = tp->mtu;
	vsw_port_set_priv(port, t);
	vsw_port_set_link(port, true);
	vsw_port_log(port, VSW_LOG_INFO, "tap interface %s up", t->ifname);
	return 0;

err_ev:
	close(t->ctl_ev);
err_free:
	free(t->rx_spill);
	free(t);
	return ret;
}

void vsw_tap_close(struct vsw_port *port)
{
	struct tap_port *t = vsw_port_priv(port);

	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd); /* removes the (non-persistent) interface */
	close(t->ctl_ev);
	free(t->rx_spill);
	free(t);
	vsw_port_set_priv(port, NULL);
}

unsigned vsw_tap_n_queues(const struct vsw_port *port)
{
	const struct tap_port *t = vsw_port_priv(port);

	return t->n_q;
}

void vsw_tap_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct tap_port *t = vsw_port_priv(port);
	char mtu[24] = "";

	if (t->mtu != 0)
		snprintf(mtu, sizeof(mtu), ", mtu %u", t->mtu);
	if (t->fd >= 0)
		snprintf(buf, len, "ifname %s%s", t->ifname, mtu);
	else if (t->reopen_err == 0)
		snprintf(buf, len, "ifname %s%s, interface gone, retrying",
			 t->ifname, mtu);
	else
		snprintf(buf, len, "ifname %s%s, interface gone, retrying: %s",
			 t->ifname, mtu, t->why);
}

/*
 * Data thread: the fd has lost its interface (err is the errno of the
 * failed read or write). The first caller takes the link down and wakes
 * the control thread; later ones do nothing. Out of line: it happens once.
 */
static VSW_COLD void tap_set_gone(struct vsw_port *port, struct tap_port *t,
				  int err)
{
	const uint64_t one = 1;
	int expected = 0;

	/*
	 * Relaxed: the errno is the only thing handed over; the control
	 * thread reaches the fd only after the grace period of
	 * vsw_port_changed().
	 */
	if (!__atomic_compare_exchange_n(&t->gone, &expected, err, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	vsw_port_set_link(port, false);
	/* one system call, once: an eventfd write cannot block or fail */
	if (write(t->ctl_ev, &one, sizeof(one)) < 0)
		vsw_port_log_rl(port, VSW_LOG_ERR, "eventfd write: %s",
				strerror(errno));
}

static void tap_hdr_to_pkt(struct vsw_pkt *p, const struct virtio_net_hdr_v1 *h)
{
	p->vnet.flags = h->flags;
	p->vnet.gso_type = h->gso_type;
	p->vnet.hdr_len = le16toh(h->hdr_len);
	p->vnet.gso_size = le16toh(h->gso_size);
	p->vnet.csum_start = le16toh(h->csum_start);
	p->vnet.csum_offset = le16toh(h->csum_offset);
	p->vnet.num_buffers = 0;
}

static void tap_hdr_from_pkt(struct virtio_net_hdr_v1 *h,
			     const struct vsw_pkt *p)
{
	h->flags = p->vnet.flags;
	h->gso_type = p->vnet.gso_type;
	h->hdr_len = htole16(p->vnet.hdr_len);
	h->gso_size = htole16(p->vnet.gso_size);
	h->csum_start = htole16(p->vnet.csum_start);
	h->csum_offset = htole16(p->vnet.csum_offset);
	h->num_buffers = 0;
}

/*
 * A frame longer than a small packet: its head is in p, its tail in the
 * spill buffer. Move both into a large packet (p goes back to the pool).
 */
static struct vsw_pkt *tap_rx_large(struct tap_port *t,
				    struct vsw_pkt_pool *pool,
				    struct vsw_pkt *p, size_t len)
{
	struct vsw_pkt *l = vsw_pkt_alloc_len(pool, (uint32_t)len);

	if (l == NULL)
		return NULL;
	memcpy(vsw_pkt_data(l), vsw_pkt_data(p), VSW_PKT_SMALL_ROOM);
	memcpy(vsw_pkt_data(l) + VSW_PKT_SMALL_ROOM, t->rx_spill,
	       len - VSW_PKT_SMALL_ROOM);
	l->len = (uint32_t)len;
	l->vnet = p->vnet;
	return l;
}

unsigned vsw_tap_recv(struct vsw_port *port, unsigned rxq,
		      struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
		      unsigned n)
{
	struct tap_port *t = vsw_port_priv(port);
	struct virtio_net_hdr_v1 hdr;
	unsigned got, i, out = 0;
	struct iovec iov[3];
	ssize_t r;

	/* Relaxed: pairs with nothing, see tap_set_gone(). */
	if (vsw_unlikely(vsw_load_relaxed(&t->gone) != 0))
		return 0;
	got = vsw_pkt_alloc_burst(pool, pkts, n);
	if (got == 0) {
		struct pollfd pfd = {.fd = t->fd, .events = POLLIN};

		/*
		 * Count a frame we cannot take only when one is waiting
		 * (an empty pool on an idle port is not a drop); it stays
		 * in the kernel queue.
		 */
		if (poll(&pfd, 1, 0) == 1)
			vsw_port_rxq_drop(port, rxq, VSW_DROP_RX_NOMEM, 1);
		return 0;
	}
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[2].iov_base = t->rx_spill;
	iov[2].iov_len = VSW_PKT_LARGE_ROOM - VSW_PKT_SMALL_ROOM;
	for (i = 0; i < got; i++) {
		struct vsw_pkt *p = pkts[out];
		size_t len;

		iov[1].iov_base = vsw_pkt_data(p);
		iov[1].iov_len = VSW_PKT_SMALL_ROOM;
		/* one read per frame: a tap fd has no batched read */
		r = readv(t->fd, iov, 3);
		if (r < 0) {
			if (errno == EBADFD)
				tap_set_gone(port, t, errno);
			else if (errno != EAGAIN && errno != EINTR)
				vsw_port_log_rl(port, VSW_LOG_WARN,
						"tap read: %s",
						strerror(errno));
			break;
		}
		if ((size_t)r < sizeof(hdr) + ETH_HLEN) {
			vsw_port_rxq_drop(port, rxq, VSW_DROP_BAD_FRAME, 1);
			continue;
		}
		len = (size_t)r - sizeof(hdr);
		tap_hdr_to_pkt(p, &hdr);
		if (len > VSW_PKT_SMALL_ROOM) {
			struct vsw_pkt *l = tap_rx_large(t, pool, p, len);

			if (l == NULL) {
				vsw_port_rxq_drop(port, rxq, VSW_DROP_RX_NOMEM,
						  1);
				continue;
			}
			vsw_pkt_free(p);
			l->in_port = (uint16_t)vsw_port_id(port);
			pkts[out++] = l;
			continue;
		}
		p->len = (uint32_t)len;
		p->in_port = (uint16_t)vsw_port_id(port);
		out++;
	}
	if (out < got)
		vsw_pkt_free_burst(pkts + out, got - out);
	return out;
}

unsigned vsw_tap_send(struct vsw_port *port, unsigned txq,
		      struct vsw_pkt *const *pkts, unsigned n)
{
	struct tap_port *t = vsw_port_priv(port);
	struct iovec iov[2];
	unsigned i;

	/* Relaxed: pairs with nothing, see tap_set_gone(). */
	if (vsw_unlikely(vsw_load_relaxed(&t->gone) != 0))
		return 0; /* the link is down: counted tx_down */
	for (i = 0; i < n; i++) {
		const struct vsw_pkt *p = pkts[i];

		tap_hdr_from_pkt(&t->tx_hdr[i], p);
		iov[0].iov_base = &t->tx_hdr[i];
		iov[0].iov_len = sizeof(t->tx_hdr[i]);
		iov[1].iov_base = vsw_pkt_data(p);
		iov[1].iov_len = p->len;
		/* one write per frame: a tap fd has no batched write */
		if (writev(t->fd, iov, 2) >= 0)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
			break; /* the rest is counted tx_full by the caller */
		if (errno == EBADFD) {
			tap_set_gone(port, t, errno);
			break;
		}
		/* refused (bad GSO metadata, interface down): taken, lost */
		vsw_port_txq_drop(port, txq, VSW_DROP_TX_ERROR, 1);
		vsw_port_log_rl(port, VSW_LOG_WARN, "tap write: %s",
				strerror(errno));
	}
	return i;
}

int vsw_tap_rxq_wait_fd(struct vsw_port *port, unsigned rxq)
{
	const struct tap_port *t = vsw_port_priv(port);

	(void)rxq;
	/*
	 * Readable while a frame is queued: no arming needed. A detached fd
	 * polls as POLLERR: the thread wakes, recv sees it and the port
	 * loses this rxq as soon as the control thread runs.
	 */
	return t->fd;
}

bool vsw_tap_rxq_arm(struct vsw_port *port, unsigned rxq)
{
	const struct tap_port *t = vsw_port_priv(port);
	struct pollfd pfd = {.fd = t->fd, .events = POLLIN};

	(void)rxq;
	/* level-triggered fd: pending means the sleep would end at once */
	return poll(&pfd, 1, 0) == 1;
}

void vsw_tap_rxq_disarm(struct vsw_port *port, unsigned rxq)
{
	(void)port;
	(void)rxq;
}

static uint64_t tap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vsw_tap_ctl_fd(struct vsw_port *port)
{
	const struct tap_port *t = vsw_port_priv(port);

	return t->ctl_ev;
}

int vsw_tap_ctl_timeout_ms(struct vsw_port *port)
{
	const struct tap_port *t = vsw_port_priv(port);
	uint64_t now;

	/* Relaxed: see tap_set_gone(). */
	if (t->fd >= 0 && vsw_load_relaxed(&t->gone) == 0)
		return -1;
	/* reopen_ms is 0 until the first step after the fd died */
	now = tap_now_ms();
	return t->reopen_ms > now ? (int)(t->reopen_ms - now) : 0;
}

/* The fd lost its interface: no queues, close it, retry later. */
static void tap_drop_fd(struct vsw_port *port, struct tap_port *t, int why)
{
	t->n_q = 0;
	/*
	 * On return no data thread polls, sleeps on or sends to this port
	 * any more (zero queues); recv / send return 0 until then (gone).
	 */
	if (vsw_port_changed(port) < 0) {
		/* a data thread may still own the rxq: keep the fd for now */
		t->reopen_ms = tap_now_ms() + TAP_REOPEN_MS;
		vsw_port_log(port, VSW_LOG_ERR,
			     "tap interface %s is gone but its queue could "
			     "not be removed; retrying",
			     t->ifname);
		return;
	}
	close(t->fd);
	t->fd = -1;
	t->reopen_err = 0;
	t->reopen_ms = tap_now_ms() + TAP_REOPEN_MS;
	vsw_port_log(port, VSW_LOG_WARN,
		     "tap interface %s is gone (%s); link down, re-creating "
		     "it every %d s",
		     t->ifname, strerror(why), TAP_REOPEN_MS / 1000);
}

/* Create / attach the interface again; back to one queue if it worked. */
static void tap_reopen(struct vsw_port *port, struct tap_port *t)
{
	char why[sizeof(t->why)], actual[IFNAMSIZ];
	int fd;

	t->reopen_ms = tap_now_ms() + TAP_REOPEN_MS;
	fd = tap_attach(t->ifname, t->mtu, actual, why, sizeof(why));
	if (fd < 0) {
		/* one line per new reason, not one every try */
		if (-fd != t->reopen_err || strcmp(why, t->why) != 0)
			vsw_port_log(port, VSW_LOG_INFO,
				     "cannot re-create %s yet: %s", t->ifname,
				     why);
		t->reopen_err = -fd;
		snprintf(t->why, sizeof(t->why), "%s", why);
		return;
	}
	t->fd = fd;
	t->n_q = 1;
	t->reopen_err = 0;
	/*
	 * Relaxed: no data op of this port runs now (zero queues); the
	 * grace period of vsw_port_changed() orders this, and the fd above,
	 * before the first recv / send on the queue it gives back.
	 */
	vsw_store_relaxed(&t->gone, 0);
	t->reopen_ms = 0; /* the next death is handled at once */
	vsw_port_set_link(port, true);
	if (vsw_port_changed(port) < 0)
		/* n_rxq is re-read by the next remapping of any port */
		vsw_port_log(port, VSW_LOG_WARN,
			     "tap interface %s is back, its queue not yet "
			     "mapped",
			     t->ifname);
	else
		vsw_port_log(port, VSW_LOG_INFO,
			     "tap interface %s is back, link up", t->ifname);
}

void vsw_tap_ctl_handle(struct vsw_port *port)
{
	struct tap_port *t = vsw_port_priv(port);
	uint64_t v;
	int why;

	if (read(t->ctl_ev, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vsw_port_log(port, VSW_LOG_ERR, "eventfd read: %s",
			     strerror(errno));
	/* Relaxed: see tap_set_gone(). */
	why = vsw_load_relaxed(&t->gone);
	if (why == 0 || tap_now_ms() < t->reopen_ms)
		return; /* spurious call */
	if (t->fd >= 0)
		tap_drop_fd(port, t, why);
	else
		tap_reopen(port, t);
}

static int tap_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		    unsigned n_opts, char *err, size_t err_len)
{
	static const char *const known[] = {"ifname", "mtu", NULL};
	struct vsw_tap_params tp;
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	tp.ifname = vsw_port_opt_get(opts, n_opts, "ifname");
	if (tp.ifname == NULL)
		tp.ifname = vsw_port_name(port);
	ret = vsw_port_opt_uint(opts, n_opts, "mtu", 0, 68, 65535, &tp.mtu, err,
				err_len);
	if (ret < 0)
		return ret;
	return vsw_tap_open_params(port, &tp, err, err_len);
}

const struct vsw_port_ops vsw_port_tap_ops = {
	.type = "tap",
	.open = tap_open,
	.close = vsw_tap_close,
	.n_rxq = vsw_tap_n_queues,
	.n_txq = vsw_tap_n_queues,
	.ctl_fd = vsw_tap_ctl_fd,
	.ctl_timeout_ms = vsw_tap_ctl_timeout_ms,
	.ctl_handle = vsw_tap_ctl_handle,
	.status = vsw_tap_status,
	.recv = vsw_tap_recv,
	.send = vsw_tap_send,
	.rxq_wait_fd = vsw_tap_rxq_wait_fd,
	.rxq_arm = vsw_tap_rxq_arm,
	.rxq_disarm = vsw_tap_rxq_disarm,
};
