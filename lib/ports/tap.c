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
 * Security model: the kernel is trusted to write sane headers; a frame
 * shorter than an Ethernet header is still dropped (bad_frame).
 *
 * Threads: as in vsw/port.h. recv touches only the rx scratch, send only
 * the tx header array; the fd is shared (the kernel serialises).
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_tun.h>

#include "tap_priv.h"
#include "vsw_compiler.h"

struct tap_port {
	int fd;
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

static void tap_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tap_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* Bring the interface up and set its MTU through an AF_INET socket. */
static int tap_ifconfig(const char *ifname, unsigned mtu, char *err,
			size_t err_len)
{
	struct ifreq ifr;
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: socket: %s", strerror(-ret));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (mtu != 0) {
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
			ret = -errno;
			tap_err(err, err_len, "tap: %s: cannot set mtu %u: %s",
				ifname, mtu, strerror(-ret));
			goto out;
		}
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: %s: SIOCGIFFLAGS: %s", ifname,
			strerror(-ret));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: %s: cannot bring up: %s", ifname,
			strerror(-ret));
	}
out:
	close(s);
	return ret;
}

int vsw_tap_open_params(struct vsw_port *port, const struct vsw_tap_params *tp,
			char *err, size_t err_len)
{
	const int hdr_sz = sizeof(struct virtio_net_hdr_v1);
	const unsigned offloads =
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	struct tap_port *t;
	struct ifreq ifr;
	int le = 1, ret;

	if (tp->ifname[0] == '\0' || strlen(tp->ifname) >= IFNAMSIZ) {
		tap_err(err, err_len,
			"tap: interface name '%s' must have 1 to %d characters",
			tp->ifname, IFNAMSIZ - 1);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->rx_spill = malloc(VSW_PKT_LARGE_ROOM);
	if (t->rx_spill == NULL) {
		ret = -ENOMEM;
		goto err_free;
	}
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: open /dev/net/tun: %s",
			strerror(-ret));
		goto err_free;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tp->ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: TUNSETIFF %s: %s", tp->ifname,
			strerror(-ret));
		goto err_close;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_sz) < 0 ||
	    ioctl(t->fd, TUNSETVNETLE, &le) < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: %s: vnet header setup: %s",
			t->ifname, strerror(-ret));
		goto err_close;
	}
	if (ioctl(t->fd, TUNSETOFFLOAD, offloads) < 0) {
		ret = -errno;
		tap_err(err, err_len, "tap: %s: TUNSETOFFLOAD: %s", t->ifname,
			strerror(-ret));
		goto err_close;
	}
	ret = tap_ifconfig(t->ifname, tp->mtu, err, err_len);
	if (ret < 0)
		goto err_close;
	t->mtu = tp->mtu;
	vsw_port_set_priv(port, t);
	vsw_port_set_link(port, true);
	vsw_port_log(port, VSW_LOG_INFO, "tap interface %s up", t->ifname);
	return 0;

err_close:
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
	close(t->fd); /* removes the (non-persistent) interface */
	free(t->rx_spill);
	free(t);
	vsw_port_set_priv(port, NULL);
}

unsigned vsw_tap_n_queues(const struct vsw_port *port)
{
	(void)port;
	return 1;
}

void vsw_tap_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct tap_port *t = vsw_port_priv(port);

	if (t->mtu != 0)
		snprintf(buf, len, "ifname %s, mtu %u", t->ifname, t->mtu);
	else
		snprintf(buf, len, "ifname %s", t->ifname);
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
			if (errno != EAGAIN && errno != EINTR)
				vsw_port_log_rl(port, VSW_LOG_WARN,
						"tap read: %s", strerror(errno));
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
				vsw_port_rxq_drop(port, rxq,
						  VSW_DROP_RX_NOMEM, 1);
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
		/* refused (bad GSO metadata, interface gone): taken, lost */
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
	return t->fd; /* readable while a frame is queued: no arming needed */
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
	ret = vsw_port_opt_uint(opts, n_opts, "mtu", 0, 68, 65535, &tp.mtu,
				err, err_len);
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
	.status = vsw_tap_status,
	.recv = vsw_tap_recv,
	.send = vsw_tap_send,
	.rxq_wait_fd = vsw_tap_rxq_wait_fd,
	.rxq_arm = vsw_tap_rxq_arm,
	.rxq_disarm = vsw_tap_rxq_disarm,
};
