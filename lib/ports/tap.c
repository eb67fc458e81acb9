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
 * writes fail with EBADFD and poll reports POLLERR for ever. The control
 * thread hears of it from rtnetlink (RTM_DELLINK; unless the fd is still
 * attached: the interface was only moved into another namespace, where it
 * keeps working), or the data thread that sees EBADFD first tells it
 * (vsw_gone_set()); the shared mechanism of
 * gone.c then drops the port to zero queues (no data thread polls, sleeps
 * on or sends to the dead fd), closes the fd (tap_detach) and every
 * VSW_GONE_RETRY_MS creates / attaches the interface of that name again
 * (tap_reattach, the same setup as open); when that works the port gets
 * its queue back and the link goes up.
 *
 * Security model: the kernel is trusted to write sane headers; a frame
 * shorter than an Ethernet header is still dropped (bad_frame).
 *
 * Threads: as in vsw/port.h. recv touches only the rx scratch, send only
 * the tx header array; the fd is shared (the kernel serialises). The fd
 * and the gone state are written by the control thread only, while no
 * data op can run (zero queues), before vsw_port_changed(), whose grace
 * period orders the write before every later data op.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_tun.h>

#include "tap_priv.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"

struct tap_port {
	struct vsw_gone g; /* first: its ctl ops take the port's priv */
	int fd;		   /* -1 while the interface is gone */
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

/* vsw_gone_ctl_*() take the port's priv for its struct vsw_gone */
_Static_assert(offsetof(struct tap_port, g) == 0, "g first");

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

/* Data thread: the fd lost its interface. Out of line: it happens once. */
static VSW_COLD void tap_set_gone(struct tap_port *t, int err)
{
	vsw_gone_set(&t->g, err);
}

static void tap_detach(struct vsw_port *port)
{
	struct tap_port *t = vsw_port_priv(port);

	close(t->fd);
	t->fd = -1;
}

/* The interface's index, or -ENODEV (deleted again meanwhile). */
static int tap_ifindex(const char *ifname)
{
	unsigned idx = if_nametoindex(ifname);

	return idx != 0 ? (int)idx : -ENODEV;
}

static int tap_reattach(struct vsw_port *port, char *why, size_t why_len)
{
	struct tap_port *t = vsw_port_priv(port);
	char actual[IFNAMSIZ];
	int fd, idx;

	fd = tap_attach(t->ifname, t->mtu, actual, why, why_len);
	if (fd < 0)
		return fd;
	idx = tap_ifindex(actual);
	if (idx < 0) {
		vsw_port_errf(why, why_len, "tap: %s vanished again", actual);
		close(fd);
		return idx;
	}
	t->fd = fd;
	return idx;
}

/*
 * Moved into another namespace (RTM_DELLINK here): the fd is still
 * attached (a deleted interface detaches it first: TUNGETIFF -> EBADFD).
 */
static bool tap_held(struct vsw_port *port)
{
	const struct tap_port *t = vsw_port_priv(port);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	return ioctl(t->fd, TUNGETIFF, &ifr) == 0;
}

static const struct vsw_gone_ops tap_gone_ops = {
	.detach = tap_detach,
	.attach = tap_reattach,
	.held = tap_held,
};

int vsw_tap_open_params(struct vsw_port *port, const struct vsw_tap_params *tp,
			char *err, size_t err_len)
{
	struct tap_port *t;
	int ret, idx;

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
	ret = tap_attach(tp->ifname, tp->mtu, t->ifname, err, err_len);
	if (ret < 0)
		goto err_free;
	t->fd = ret;
	t->mtu = tp->mtu;
	idx = tap_ifindex(t->ifname);
	if (idx < 0) {
		ret = idx;
		vsw_port_errf(err, err_len, "tap: %s vanished at once",
			      t->ifname);
		goto err_fd;
	}
	ret = vsw_gone_init(&t->g, port, "tap interface", t->ifname, idx,
			    &tap_gone_ops, err, err_len);
	if (ret < 0)
		goto err_fd;
	vsw_port_set_priv(port, t);
	vsw_port_set_link(port, true);
	vsw_port_log(port, VSW_LOG_INFO, "tap interface %s up", t->ifname);
	return 0;

err_fd:
	close(t->fd);
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
	vsw_gone_fini(&t->g);
	free(t->rx_spill);
	free(t);
	vsw_port_set_priv(port, NULL);
}

int vsw_tap_reconfigure(struct vsw_port *port, const struct vsw_port_opt *old,
			unsigned n_old, const struct vsw_port_opt *opts,
			unsigned n_opts, const char *const *known,
			const char *const *fixed, char *err, size_t err_len)
{
	struct tap_port *t = vsw_port_priv(port);
	unsigned mtu;
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret == 0)
		ret = vsw_port_opts_fixed(port, old, n_old, opts, n_opts, fixed,
					  "the interface is created with it",
					  err, err_len);
	if (ret == 0)
		ret = vsw_port_opt_uint(opts, n_opts, "mtu", 0, 68, 65535, &mtu,
					err, err_len);
	if (ret < 0 || mtu == t->mtu || mtu == 0 || t->g.detached ||
	    vsw_gone_is(&t->g)) {
		/* gone: the re-attach (gone.c) sets t->mtu */
		if (ret == 0)
			t->mtu = mtu;
		return ret;
	}
	/* the kernel refuses what the device cannot take: nothing changed */
	ret = tap_ifconfig(t->ifname, mtu, err, err_len);
	if (ret < 0)
		return ret;
	t->mtu = mtu; /* what a re-attach (gone.c) sets again */
	vsw_port_log(port, VSW_LOG_INFO, "mtu %u", mtu);
	return 0;
}

static int tap_reconfigure(struct vsw_port *port,
			   const struct vsw_port_opt *old, unsigned n_old,
			   const struct vsw_port_opt *opts, unsigned n_opts,
			   char *err, size_t err_len)
{
	static const char *const known[] = {"ifname", "mtu", NULL};
	static const char *const fixed[] = {"ifname", NULL};

	return vsw_tap_reconfigure(port, old, n_old, opts, n_opts, known, fixed,
				   err, err_len);
}

unsigned vsw_tap_n_queues(const struct vsw_port *port)
{
	const struct tap_port *t = vsw_port_priv(port);

	return vsw_gone_queues(&t->g, 1);
}

void vsw_tap_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct tap_port *t = vsw_port_priv(port);
	char mtu[24] = "", gone[200];

	if (t->mtu != 0)
		snprintf(mtu, sizeof(mtu), ", mtu %u", t->mtu);
	if (vsw_gone_status(&t->g, gone, sizeof(gone)))
		snprintf(buf, len, "%s; ifname %s%s", gone, t->ifname, mtu);
	else
		snprintf(buf, len, "ifname %s%s", t->ifname, mtu);
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

	if (vsw_gone_is(&t->g))
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
				tap_set_gone(t, errno);
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

	if (vsw_gone_is(&t->g))
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
			tap_set_gone(t, errno);
			break;
		}
		if (errno == EIO) {
			/*
			 * The interface is down (tun refuses writes then):
			 * the link follows within a control step (gone.c);
			 * the rest of the burst is lost, not worth a line.
			 */
			vsw_port_txq_drop(port, txq, VSW_DROP_TX_DOWN, n - i);
			return n;
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
	.ctl_fd = vsw_gone_ctl_fd,
	.ctl_timeout_ms = vsw_gone_ctl_timeout_ms,
	.ctl_handle = vsw_gone_ctl_handle,
	.status = vsw_tap_status,
	.hwaddr = vsw_gone_hwaddr,
	.reconfigure = tap_reconfigure,
	.recv = vsw_tap_recv,
	.send = vsw_tap_send,
	.rxq_wait_fd = vsw_tap_rxq_wait_fd,
	.rxq_arm = vsw_tap_rxq_arm,
	.rxq_disarm = vsw_tap_rxq_disarm,
};
