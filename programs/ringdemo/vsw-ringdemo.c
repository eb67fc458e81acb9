/* SPDX-License-Identifier: MIT */
/*
 * vsw-ringdemo: a virtio-net driver and a virtio device exchanging packets
 * through two virtqueues in shared memory, in two processes.
 *
 * One memfd holds the "guest memory" (both rings, the indirect tables and
 * the packet buffers) followed by one control page that is NOT part of guest
 * memory (stop flag, the device's counters). The parent process is the
 * driver, as a guest's virtio-net driver: it sends UDP frames, each a
 * struct virtio_net_hdr_v1 plus an Ethernet/IPv4/UDP frame carrying a
 * sequence number, on the TX queue and keeps the RX queue filled with empty
 * buffers. The child process is the device, as vhost: it maps the same memfd
 * at another address, reaches the buffers only through a vsw_mem table,
 * checks every frame, and echoes it back (addresses swapped) into an RX
 * buffer. Kicks and interrupts are eventfds, written only when the ring's
 * notification suppression asks for them (kick_prepare / need_notify); a
 * side with nothing to do re-enables notifications (enable_cb /
 * enable_notify) and sleeps in poll().
 *
 * Ctrl-C (SIGINT) or SIGTERM, or --seconds, stop both processes cleanly; the
 * exit status is 0 only if no frame was lost or damaged.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/virtio_net.h>

#include <vsw/mem.h>
#include <vsw/virtq.h>

#define RD_GPA_BASE 0x40000000ULL /* where "guest RAM" starts */
#define RD_PAGE 4096UL
#define RD_BUF_SIZE 2048U   /* one TX slot / one RX buffer */
#define RD_TX_FRAME_OFF 64U /* TX slot: header at 0, frame at 64 */
#define RD_BATCH 32U
#define RD_IOV_MAX 16U /* demo chains have 1 or 2 segments */
#define RD_PAYLOAD 18U /* 8-byte sequence number + 10 pattern bytes */
#define RD_DEFAULT_SIZE 256U

#define RD_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define RD_FRAME_LEN                                                           \
	((uint32_t)(sizeof(struct ethhdr) + sizeof(struct iphdr) +             \
		    sizeof(struct udphdr) + RD_PAYLOAD))

static const uint8_t rd_drv_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t rd_dev_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
#define RD_DRV_IP 0x0a000001U /* 10.0.0.1 */
#define RD_DEV_IP 0x0a000002U /* 10.0.0.2 */
#define RD_DRV_PORT 40000U
#define RD_DEV_PORT 7U /* echo */

struct rd_opts {
	bool packed, quiet, event_idx, indirect;
	uint32_t num;
	unsigned seconds; /* 0: until SIGINT / SIGTERM */
};

/* Offsets into the memfd. Guest memory is [0, guest_size). */
struct rd_layout {
	uint64_t features;
	uint32_t num;
	size_t tx_ring, rx_ring, tx_ind, tx_bufs, rx_bufs;
	size_t guest_size; /* registered in the device's vsw_mem table */
	size_t ctl;	   /* control page, outside guest memory */
	size_t total;
};

/*
 * The control page. stop is written by the driver (parent) and read by the
 * device (child); the counters are written by the device only, with relaxed
 * atomic stores, and read by the driver for the live line.
 */
struct rd_ctl {
	uint32_t stop;
	uint8_t pad0[60];
	uint64_t tx_pkts; /* frames the device received intact */
	uint64_t tx_errs; /* frames the device found damaged / out of order */
	uint64_t rx_pkts; /* frames the device echoed */
	uint64_t irqs;	  /* interrupts the device sent (both queues) */
	int32_t error;	  /* device queue error (negative errno) or 0 */
	int32_t fault;	  /* enum vsw_vq_fault of that error */
};

struct rd_fds {
	int tx_kick, rx_kick; /* driver -> device */
	int tx_call, rx_call; /* device -> driver */
	int stop;	      /* driver -> device: look at ctl->stop */
};

/* Per-frame pattern byte: depends on seq and position, never constant. */
static uint8_t rd_pattern(uint64_t seq, unsigned i)
{
	return (uint8_t)(seq * 31 + i * 7 + 1);
}

static double rd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void rd_notify(int fd)
{
	uint64_t one = 1;

	/* An eventfd write only fails if the counter would overflow. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("vsw-ringdemo: eventfd write");
}

static void rd_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("vsw-ringdemo: eventfd read");
}

static uint16_t rd_ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum; /* in host order: store with htobe16 */
}

/*
 * Write one frame: from (mac_src, ip_src, port_src) to the other end,
 * carrying seq. f must have RD_FRAME_LEN bytes.
 */
static void rd_frame_build(uint8_t *f, uint64_t seq, bool from_driver)
{
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	uint8_t *pl;
	unsigned i;

	memcpy(eth.h_dest, from_driver ? rd_dev_mac : rd_drv_mac, ETH_ALEN);
	memcpy(eth.h_source, from_driver ? rd_drv_mac : rd_dev_mac, ETH_ALEN);
	eth.h_proto = htobe16(ETH_P_IP);

	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = htobe16(RD_FRAME_LEN - sizeof(struct ethhdr));
	ip.id = htobe16((uint16_t)seq);
	ip.ttl = 64;
	ip.protocol = 17; /* UDP */
	ip.saddr = htobe32(from_driver ? RD_DRV_IP : RD_DEV_IP);
	ip.daddr = htobe32(from_driver ? RD_DEV_IP : RD_DRV_IP);
	ip.check = htobe16(rd_ip_csum((const uint8_t *)&ip, sizeof(ip)));

	udp.source = htobe16(from_driver ? RD_DRV_PORT : RD_DEV_PORT);
	udp.dest = htobe16(from_driver ? RD_DEV_PORT : RD_DRV_PORT);
	udp.len = htobe16(sizeof(udp) + RD_PAYLOAD);
	udp.check = 0; /* optional over IPv4 */

	memcpy(f, &eth, sizeof(eth));
	memcpy(f + sizeof(eth), &ip, sizeof(ip));
	memcpy(f + sizeof(eth) + sizeof(ip), &udp, sizeof(udp));
	pl = f + sizeof(eth) + sizeof(ip) + sizeof(udp);
	seq = htobe64(seq);
	memcpy(pl, &seq, sizeof(seq));
	seq = be64toh(seq);
	for (i = sizeof(seq); i < RD_PAYLOAD; i++)
		pl[i] = rd_pattern(seq, i);
}

/*
 * Check a frame (RD_FRAME_LEN bytes) sent by the other side: 0 and *seq set
 * if it is exactly what rd_frame_build(seq, from_driver) wrote, else -EBADMSG.
 */
static int rd_frame_check(const uint8_t *f, bool from_driver, uint64_t *seq)
{
	uint8_t want[RD_FRAME_LEN];
	uint64_t s;

	if (rd_ip_csum(f + sizeof(struct ethhdr), sizeof(struct iphdr)) != 0)
		return -EBADMSG;
	memcpy(&s,
	       f + sizeof(struct ethhdr) + sizeof(struct iphdr) +
		       sizeof(struct udphdr),
	       sizeof(s));
	s = be64toh(s);
	rd_frame_build(want, s, from_driver);
	if (memcmp(f, want, RD_FRAME_LEN) != 0)
		return -EBADMSG;
	*seq = s;
	return 0;
}

/* Copy len bytes out of / into an iovec array (host segments). */
static size_t rd_iov_read(const struct iovec *iov, unsigned n, void *dst,
			  size_t len)
{
	size_t done = 0, k;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy((uint8_t *)dst + done, iov[i].iov_base, k);
		done += k;
	}
	return done;
}

static size_t rd_iov_write(const struct iovec *iov, unsigned n, const void *src,
			   size_t len)
{
	size_t done = 0, k;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy(iov[i].iov_base, (const uint8_t *)src + done, k);
		done += k;
	}
	return done;
}

static size_t rd_align(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static int rd_layout_init(struct rd_layout *l, const struct rd_opts *o)
{
	size_t ring;

	l->features = 1ULL << VIRTIO_F_VERSION_1;
	if (o->packed)
		l->features |= 1ULL << VIRTIO_F_RING_PACKED;
	if (o->event_idx)
		l->features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (o->indirect)
		l->features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	l->num = o->num;
	ring = vsw_vq_ring_bytes(l->features, l->num);
	if (ring == 0 || l->num < 2) /* a TX chain takes two descriptors */
		return -EINVAL;
	ring = rd_align(ring, RD_PAGE);
	l->tx_ring = 0;
	l->rx_ring = l->tx_ring + ring;
	l->tx_ind = l->rx_ring + ring;
	/* two descriptors (header, frame) per TX chain, one table per slot */
	l->tx_bufs = l->tx_ind + rd_align((size_t)l->num * 2 * 16, RD_PAGE);
	l->rx_bufs = l->tx_bufs + (size_t)l->num * RD_BUF_SIZE;
	l->guest_size =
		rd_align(l->rx_bufs + (size_t)l->num * RD_BUF_SIZE, RD_PAGE);
	l->ctl = l->guest_size;
	l->total = l->ctl + RD_PAGE;
	return 0;
}

static void rd_print_features(const struct rd_layout *l)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{VIRTIO_F_VERSION_1, "VERSION_1"},
		{VIRTIO_F_RING_PACKED, "RING_PACKED"},
		{VIRTIO_RING_F_EVENT_IDX, "RING_EVENT_IDX"},
		{VIRTIO_RING_F_INDIRECT_DESC, "RING_INDIRECT_DESC"},
		{VIRTIO_F_IN_ORDER, "IN_ORDER"},
	};
	size_t i;

	printf("vsw-ringdemo: %s ring, %" PRIu32 " entries per queue, "
	       "features 0x%" PRIx64 " (",
	       (l->features >> VIRTIO_F_RING_PACKED) & 1 ? "packed" : "split",
	       l->num, l->features);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((l->features >> names[i].bit) & 1)
			printf("%s%s", i ? " " : "", names[i].name);
	printf(")\nvsw-ringdemo: %u-byte frames (virtio_net_hdr_v1 + "
	       "Ethernet/IPv4/UDP), TX queue driver->device, RX queue "
	       "device->driver (echo), %zu KiB shared memory\n",
	       RD_FRAME_LEN, l->total / 1024);
}

/* ------------------------------------------------------------------ */
/* Device (child process)                                              */
/* ------------------------------------------------------------------ */

struct rd_dev {
	const struct rd_layout *l;
	struct rd_ctl *ctl;
	struct vsw_vq_dev *txq, *rxq;
	uint64_t tx_expect;
	uint64_t tx_pkts, tx_errs, rx_pkts, irqs;
	struct iovec tiov[RD_IOV_MAX];
	struct iovec riov[RD_IOV_MAX];
	uint8_t pkt[RD_BUF_SIZE];
};

/*
 * One TX chain against one RX chain: check the frame, echo it. Returns the
 * bytes written into the RX buffer (> 0); 0 if the RX buffer is unusable
 * (it is returned empty); -EBADMSG if the TX frame was bad (the RX buffer
 * stays unused). Both failures count as errors.
 */
static int rd_dev_echo(struct rd_dev *d, const struct vsw_vq_chain *tc,
		       const struct vsw_vq_chain *rc)
{
	struct virtio_net_hdr_v1 hdr;
	uint8_t out[RD_HDR_LEN + RD_FRAME_LEN];
	uint64_t seq;

	if (tc->n_in != 0 || tc->out_len != RD_HDR_LEN + RD_FRAME_LEN ||
	    rd_iov_read(d->tiov, tc->n_out, d->pkt, tc->out_len) != tc->out_len)
		goto bad;
	memcpy(&hdr, d->pkt, sizeof(hdr));
	if (hdr.flags != 0 || hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
	    hdr.num_buffers != 0)
		goto bad;
	if (rd_frame_check(d->pkt + RD_HDR_LEN, true, &seq) < 0)
		goto bad;
	if (seq != d->tx_expect) {
		d->tx_expect = seq + 1; /* resynchronise, count one error */
		goto bad;
	}
	d->tx_expect++;
	d->tx_pkts++;
	if (rc->n_out != 0 || rc->in_len < sizeof(out)) {
		d->tx_errs++; /* RX buffer unusable: the frame is dropped */
		return 0;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	hdr.num_buffers = htole16(1); /* no MRG_RXBUF: always 1 (§5.1.6.4) */
	memcpy(out, &hdr, sizeof(hdr));
	rd_frame_build(out + RD_HDR_LEN, seq, false);
	return (int)rd_iov_write(d->riov, rc->n_in, out, sizeof(out));
bad:
	d->tx_errs++;
	return -EBADMSG;
}

static void rd_dev_publish(struct rd_dev *d)
{
	/* counters for the driver's live line: no ordering needed */
	__atomic_store_n(&d->ctl->tx_pkts, d->tx_pkts, __ATOMIC_RELAXED);
	__atomic_store_n(&d->ctl->tx_errs, d->tx_errs, __ATOMIC_RELAXED);
	__atomic_store_n(&d->ctl->rx_pkts, d->rx_pkts, __ATOMIC_RELAXED);
	__atomic_store_n(&d->ctl->irqs, d->irqs, __ATOMIC_RELAXED);
}

static int rd_dev_fail(struct rd_dev *d, struct vsw_vq_dev *q, int err)
{
	__atomic_store_n(&d->ctl->fault, (int32_t)vsw_vq_dev_fault(q),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&d->ctl->error, err, __ATOMIC_RELAXED);
	rd_dev_publish(d);
	fprintf(stderr, "\nvsw-ringdemo: device: %s queue broken: %s (%s)\n",
		q == d->txq ? "TX" : "RX",
		vsw_vq_fault_str(vsw_vq_dev_fault(q)), strerror(-err));
	return err;
}

/*
 * One burst: pair up to RD_BATCH TX chains with RX buffers. Returns the
 * frames handled, -EAGAIN if TX chains wait for RX buffers and nothing was
 * handled, or a negative errno if a queue broke.
 */
static int rd_dev_burst(struct rd_dev *d, const struct rd_fds *fds)
{
	struct vsw_vq_used tu[RD_BATCH], ru[RD_BATCH];
	struct vsw_vq_chain tc, rc;
	unsigned n = 0, nr = 0;
	bool rx_empty = false;
	int ret, len;

	while (n < RD_BATCH) {
		ret = vsw_vq_dev_pop(d->txq, &tc, d->tiov, RD_IOV_MAX);
		if (ret < 0)
			return rd_dev_fail(d, d->txq, ret);
		if (ret == 0)
			break;
		ret = vsw_vq_dev_pop(d->rxq, &rc, d->riov, RD_IOV_MAX);
		if (ret < 0)
			return rd_dev_fail(d, d->rxq, ret);
		if (ret == 0) {
			vsw_vq_dev_unpop(d->txq, &tc);
			rx_empty = true;
			break;
		}
		tu[n++] = (struct vsw_vq_used){.id = tc.id, .ndesc = tc.ndesc};
		len = rd_dev_echo(d, &tc, &rc);
		if (len < 0) {
			/* bad frame: the RX buffer stays available */
			vsw_vq_dev_unpop(d->rxq, &rc);
			continue;
		}
		ru[nr++] = (struct vsw_vq_used){
			.id = rc.id, .ndesc = rc.ndesc, .len = (uint32_t)len};
		if (len > 0)
			d->rx_pkts++;
	}
	if (n == 0)
		return rx_empty ? -EAGAIN : 0;
	/* the echoes first, then the TX completions: as a NIC would */
	ret = vsw_vq_dev_push_burst(d->rxq, ru, nr);
	if (ret < 0)
		return rd_dev_fail(d, d->rxq, ret);
	ret = vsw_vq_dev_push_burst(d->txq, tu, n);
	if (ret < 0)
		return rd_dev_fail(d, d->txq, ret);
	if (nr > 0 && vsw_vq_dev_need_notify(d->rxq)) {
		rd_notify(fds->rx_call);
		d->irqs++;
	}
	if (vsw_vq_dev_need_notify(d->txq)) {
		rd_notify(fds->tx_call);
		d->irqs++;
	}
	return (int)n;
}

static int rd_dev_create_queue(const struct rd_layout *l,
			       const struct vsw_mem *mem, size_t ring_off,
			       struct vsw_vq_dev **q)
{
	struct vsw_vq_dev_config cfg = {
		.features = l->features,
		.num = l->num,
		.mem = mem,
	};

	vsw_vq_ring_layout(l->features, l->num, RD_GPA_BASE + ring_off,
			   &cfg.addrs);
	return vsw_vq_dev_create(&cfg, q);
}

static int rd_dev_loop(struct rd_dev *d, const struct rd_fds *fds, int sfd)
{
	struct pollfd pfd[4];
	struct signalfd_siginfo si;
	double next_check = 0, now;
	int ret;

	/* busy polling while there is work: no kicks wanted */
	vsw_vq_dev_disable_notify(d->txq);
	vsw_vq_dev_disable_notify(d->rxq);
	for (;;) {
		if (__atomic_load_n(&d->ctl->stop, __ATOMIC_RELAXED))
			return 0;
		ret = rd_dev_burst(d, fds);
		if (ret > 0) {
			now = rd_now();
			if (now >= next_check) {
				rd_dev_publish(d);
				next_check = now + 0.05;
			}
			continue;
		}
		if (ret < 0 && ret != -EAGAIN)
			return ret;
		rd_dev_publish(d);
		/*
		 * Idle: wait for the queue that blocks us. enable_notify
		 * re-checks after publishing the request, so a buffer that
		 * raced with it is seen here instead of being slept on.
		 */
		{
			struct vsw_vq_dev *q = ret == -EAGAIN ? d->rxq : d->txq;

			if (vsw_vq_dev_enable_notify(q)) {
				vsw_vq_dev_disable_notify(q);
				continue;
			}
			pfd[0] = (struct pollfd){.fd = fds->tx_kick,
						 .events = POLLIN};
			pfd[1] = (struct pollfd){.fd = fds->rx_kick,
						 .events = POLLIN};
			pfd[2] = (struct pollfd){.fd = fds->stop,
						 .events = POLLIN};
			pfd[3] = (struct pollfd){.fd = sfd, .events = POLLIN};
			if (poll(pfd, 4, 1000) < 0 && errno != EINTR)
				return -errno;
			if (pfd[0].revents & POLLIN)
				rd_drain(fds->tx_kick);
			if (pfd[1].revents & POLLIN)
				rd_drain(fds->rx_kick);
			if ((pfd[3].revents & POLLIN) &&
			    read(sfd, &si, sizeof(si)) == sizeof(si))
				return 0; /* SIGTERM: the parent went away */
			vsw_vq_dev_disable_notify(q);
		}
	}
}

static int rd_device(const struct rd_layout *l, int memfd,
		     const struct rd_fds *fds, int ready_fd)
{
	struct vsw_mem mem;
	struct rd_dev *d;
	sigset_t ss;
	uint8_t *base;
	char c;
	int sfd = -1, ret;

	/* the parent stops us; SIGTERM (also sent on its death) ends us */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		ret = -errno;
		goto out_sfd;
	}
	/* wait until the driver set up the rings (like DRIVER_OK) */
	if (read(ready_fd, &c, 1) != 1) {
		ret = 0; /* the driver gave up before starting */
		goto out_sfd;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		ret = -ENOMEM;
		goto out_sfd;
	}
	/* our own mapping, at an address the driver never sees */
	base = mmap(NULL, l->total, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		    0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto out_free;
	}
	d->l = l;
	d->ctl = (struct rd_ctl *)(base + l->ctl);
	vsw_mem_init(&mem);
	ret = vsw_mem_add(&mem, RD_GPA_BASE, l->guest_size, base, 0);
	if (ret < 0)
		goto out_unmap;
	ret = rd_dev_create_queue(l, &mem, l->tx_ring, &d->txq);
	if (ret < 0)
		goto out_unmap;
	ret = rd_dev_create_queue(l, &mem, l->rx_ring, &d->rxq);
	if (ret < 0)
		goto out_txq;
	ret = rd_dev_loop(d, fds, sfd);
	rd_dev_publish(d);
	vsw_vq_dev_destroy(d->rxq);
out_txq:
	vsw_vq_dev_destroy(d->txq);
out_unmap:
	munmap(base, l->total);
out_free:
	free(d);
out_sfd:
	close(sfd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Driver (parent process)                                             */
/* ------------------------------------------------------------------ */

struct rd_drv {
	const struct rd_layout *l;
	const struct rd_opts *o;
	const struct rd_fds *fds;
	uint8_t *base; /* the driver's mapping of the memfd */
	struct rd_ctl *ctl;
	struct vsw_vq_drv *txq, *rxq;
	uint32_t *tx_free; /* stack of free TX slots */
	uint32_t n_free;
	uint64_t tx_seq, rx_expect;
	uint64_t tx_done, rx_pkts, rx_errs, kicks;
};

static uint64_t rd_gpa(size_t off)
{
	return RD_GPA_BASE + off;
}

static int rd_drv_post_rx(struct rd_drv *v, uint32_t slot)
{
	struct vsw_sg sg = {
		.addr = rd_gpa(v->l->rx_bufs + (size_t)slot * RD_BUF_SIZE),
		.len = RD_BUF_SIZE,
	};

	return vsw_vq_drv_add(v->rxq, &sg, 0, 1, (void *)(uintptr_t)(slot + 1));
}

/* Send up to RD_BATCH frames; returns how many were added. */
static unsigned rd_drv_send(struct rd_drv *v)
{
	struct virtio_net_hdr_v1 hdr = {.gso_type = VIRTIO_NET_HDR_GSO_NONE};
	struct vsw_sg sg[2];
	unsigned n = 0;
	uint32_t slot;
	size_t off;
	int ret;

	while (n < RD_BATCH && v->n_free > 0) {
		slot = v->tx_free[--v->n_free];
		off = v->l->tx_bufs + (size_t)slot * RD_BUF_SIZE;
		memcpy(v->base + off, &hdr, sizeof(hdr));
		rd_frame_build(v->base + off + RD_TX_FRAME_OFF, v->tx_seq,
			       true);
		/* header and frame in two descriptors, as Linux does */
		sg[0] = (struct vsw_sg){.addr = rd_gpa(off), .len = RD_HDR_LEN};
		sg[1] = (struct vsw_sg){.addr = rd_gpa(off + RD_TX_FRAME_OFF),
					.len = RD_FRAME_LEN};
		ret = vsw_vq_drv_add(v->txq, sg, 2, 0,
				     (void *)(uintptr_t)(slot + 1));
		if (ret < 0) {
			v->tx_free[v->n_free++] = slot; /* ring full */
			break;
		}
		v->tx_seq++;
		n++;
	}
	if (n > 0 && vsw_vq_drv_kick_prepare(v->txq)) {
		rd_notify(v->fds->tx_kick);
		v->kicks++;
	}
	return n;
}

static bool rd_drv_rx_ok(struct rd_drv *v, uint32_t slot, uint32_t len)
{
	const uint8_t *b = v->base + v->l->rx_bufs + (size_t)slot * RD_BUF_SIZE;
	struct virtio_net_hdr_v1 hdr;
	uint64_t seq;

	if (len != RD_HDR_LEN + RD_FRAME_LEN)
		return false;
	memcpy(&hdr, b, sizeof(hdr));
	if (hdr.flags != 0 || hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
	    le16toh(hdr.num_buffers) != 1)
		return false;
	if (rd_frame_check(b + RD_HDR_LEN, false, &seq) < 0)
		return false;
	if (seq != v->rx_expect) {
		v->rx_expect = seq + 1;
		return false;
	}
	v->rx_expect++;
	return true;
}

/* Collect used buffers of both queues; returns how many there were. */
static unsigned rd_drv_collect(struct rd_drv *v)
{
	unsigned n = 0, nrx = 0;
	uint32_t len, slot;
	void *tok;

	while ((tok = vsw_vq_drv_get_used(v->txq, &len)) != NULL) {
		slot = (uint32_t)(uintptr_t)tok - 1;
		v->tx_free[v->n_free++] = slot;
		v->tx_done++;
		n++;
	}
	while (nrx < RD_BATCH * 4 &&
	       (tok = vsw_vq_drv_get_used(v->rxq, &len)) != NULL) {
		slot = (uint32_t)(uintptr_t)tok - 1;
		if (rd_drv_rx_ok(v, slot, len))
			v->rx_pkts++;
		else
			v->rx_errs++;
		/* the buffer goes straight back: the RX ring stays full */
		if (rd_drv_post_rx(v, slot) < 0)
			v->rx_errs++;
		nrx++;
	}
	if (nrx > 0 && vsw_vq_drv_kick_prepare(v->rxq)) {
		rd_notify(v->fds->rx_kick);
		v->kicks++;
	}
	return n + nrx;
}

struct rd_rate {
	double t;
	uint64_t tx, rx;
};

static void rd_drv_line(struct rd_drv *v, struct rd_rate *last, double now,
			bool final)
{
	uint64_t tx = __atomic_load_n(&v->ctl->tx_pkts, __ATOMIC_RELAXED);
	uint64_t rx = v->rx_pkts;
	uint64_t errs = __atomic_load_n(&v->ctl->tx_errs, __ATOMIC_RELAXED) +
			v->rx_errs;
	uint64_t irqs = __atomic_load_n(&v->ctl->irqs, __ATOMIC_RELAXED);
	double dt = now - last->t > 1e-6 ? now - last->t : 1e-6;
	bool tty = isatty(STDOUT_FILENO);

	printf("%s%s tx %" PRIu64 " pkts %.2f Mpps | rx %" PRIu64
	       " pkts %.2f Mpps | errors %" PRIu64 " | kicks %" PRIu64
	       " irqs %" PRIu64 "%s",
	       tty && !final ? "\r" : "", final ? "total:" : "      ", tx,
	       (tx - last->tx) / dt / 1e6, rx, (rx - last->rx) / dt / 1e6, errs,
	       v->kicks, irqs, tty && !final ? "   " : "\n");
	fflush(stdout);
	last->t = now;
	last->tx = tx;
	last->rx = rx;
}

enum rd_stop {
	RD_RUN = 0,
	RD_STOP_SIGNAL,
	RD_STOP_TIME,
	RD_STOP_CHILD,
	RD_STOP_BROKEN,
};

static enum rd_stop rd_drv_signals(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			return RD_STOP_CHILD;
		return RD_STOP_SIGNAL;
	}
	return RD_RUN;
}

static enum rd_stop rd_drv_loop(struct rd_drv *v, int sfd)
{
	struct rd_rate last = {.t = rd_now()};
	double start = last.t, next_line = start + 1, next_sig = start, now;
	double end = v->o->seconds ? start + v->o->seconds : 0;
	struct pollfd pfd[3];
	enum rd_stop why;
	unsigned work;
	int ms;

	vsw_vq_drv_disable_cb(v->txq); /* we poll while busy */
	vsw_vq_drv_disable_cb(v->rxq);
	for (;;) {
		work = rd_drv_collect(v);
		work += rd_drv_send(v);
		if (vsw_vq_drv_is_broken(v->txq) ||
		    vsw_vq_drv_is_broken(v->rxq))
			return RD_STOP_BROKEN;
		now = rd_now();
		if (now >= next_sig) {
			why = rd_drv_signals(sfd);
			if (why != RD_RUN)
				return why;
			next_sig = now + 0.01;
		}
		if (end && now >= end)
			return RD_STOP_TIME;
		if (now >= next_line) {
			if (!v->o->quiet)
				rd_drv_line(v, &last, now, false);
			next_line += 1;
		}
		if (work > 0)
			continue;
		/*
		 * Nothing to do: every TX slot is in flight and no buffer came
		 * back. Ask for interrupts and sleep; enable_cb re-checks after
		 * publishing, so a used buffer that raced with it is seen.
		 */
		if (!vsw_vq_drv_enable_cb(v->rxq) ||
		    !vsw_vq_drv_enable_cb(v->txq)) {
			vsw_vq_drv_disable_cb(v->rxq);
			vsw_vq_drv_disable_cb(v->txq);
			continue;
		}
		pfd[0] = (struct pollfd){.fd = v->fds->tx_call,
					 .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = v->fds->rx_call,
					 .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = sfd, .events = POLLIN};
		ms = (int)((next_line - now) * 1000) + 1;
		ms = ms < 0 ? 0 : ms > 1000 ? 1000 : ms;
		if (poll(pfd, 3, ms) < 0 && errno != EINTR)
			return RD_STOP_BROKEN;
		if (pfd[0].revents & POLLIN)
			rd_drain(v->fds->tx_call);
		if (pfd[1].revents & POLLIN)
			rd_drain(v->fds->rx_call);
		next_sig = 0; /* look at the signalfd now */
		vsw_vq_drv_disable_cb(v->rxq);
		vsw_vq_drv_disable_cb(v->txq);
	}
}

static int rd_drv_create_queue(struct rd_drv *v, size_t ring_off, bool tx,
			       struct vsw_vq_drv **q)
{
	struct vsw_vq_drv_config cfg = {
		.features = v->l->features,
		.num = v->l->num,
		.ring = v->base + ring_off,
		.ring_gpa = rd_gpa(ring_off),
	};

	if (tx) {
		cfg.indirect = v->base + v->l->tx_ind;
		cfg.indirect_gpa = rd_gpa(v->l->tx_ind);
		cfg.indirect_max = 2;
	}
	return vsw_vq_drv_create(&cfg, q);
}

/* Wait for the device process, SIGKILL after 5 s. Its exit status or -1. */
static int rd_reap(pid_t pid)
{
	int status, i;
	pid_t r;

	for (i = 0; i < 500; i++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	fprintf(stderr, "vsw-ringdemo: device did not stop, killing it\n");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static int rd_driver(struct rd_drv *v, pid_t child, int ready_fd, int sfd)
{
	static const char *const why_text[] = {
		[RD_STOP_SIGNAL] = "signal",
		[RD_STOP_TIME] = "time is up",
		[RD_STOP_CHILD] = "device process exited",
		[RD_STOP_BROKEN] = "driver queue broken",
	};
	struct rd_rate last = {0};
	enum rd_stop why;
	double start;
	uint64_t dev_errs;
	uint32_t i;
	int ret, dev_status, dev_err;

	ret = rd_drv_create_queue(v, v->l->tx_ring, true, &v->txq);
	if (ret < 0)
		return ret;
	ret = rd_drv_create_queue(v, v->l->rx_ring, false, &v->rxq);
	if (ret < 0)
		return ret;
	for (i = 0; i < v->l->num; i++) {
		v->tx_free[v->n_free++] = v->l->num - 1 - i;
		ret = rd_drv_post_rx(v, i);
		if (ret < 0)
			return ret;
	}
	/* rings ready: let the device start */
	if (write(ready_fd, "g", 1) != 1)
		return -errno;
	start = rd_now();
	why = rd_drv_loop(v, sfd);

	/* stop the device, then look at what both sides counted */
	__atomic_store_n(&v->ctl->stop, 1, __ATOMIC_RELAXED);
	rd_notify(v->fds->stop);
	dev_status = rd_reap(child);
	last.t = start;
	if (!v->o->quiet && isatty(STDOUT_FILENO))
		putchar('\n');
	printf("vsw-ringdemo: stopped (%s) after %.1f s\n", why_text[why],
	       rd_now() - start);
	rd_drv_line(v, &last, rd_now(), true);
	dev_err = __atomic_load_n(&v->ctl->error, __ATOMIC_RELAXED);
	dev_errs = __atomic_load_n(&v->ctl->tx_errs, __ATOMIC_RELAXED);
	if (why == RD_STOP_BROKEN)
		fprintf(stderr, "vsw-ringdemo: the driver side found the "
				"device's used ring inconsistent\n");
	if (dev_err != 0)
		fprintf(stderr, "vsw-ringdemo: device queue error: %s (%s)\n",
			vsw_vq_fault_str((enum vsw_vq_fault)__atomic_load_n(
				&v->ctl->fault, __ATOMIC_RELAXED)),
			strerror(-dev_err));
	if (dev_status != 0)
		fprintf(stderr, "vsw-ringdemo: device exited with status %d\n",
			dev_status);
	/* the device is gone: forget what it still held */
	while (vsw_vq_drv_detach_unused(v->txq) != NULL)
		;
	while (vsw_vq_drv_detach_unused(v->rxq) != NULL)
		;
	if (why == RD_STOP_BROKEN || why == RD_STOP_CHILD || dev_status != 0 ||
	    dev_err != 0 || dev_errs != 0 || v->rx_errs != 0)
		return -EIO;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

static void rd_usage(FILE *f)
{
	fprintf(f,
		"usage: vsw-ringdemo [--packed] [--size N] [--seconds N] "
		"[--quiet]\n"
		"                    [--no-event-idx] [--no-indirect]\n"
		"A virtio-net driver (this process) and a device (a child "
		"process)\nexchange frames over virtqueues in a shared memfd "
		"until Ctrl-C.\n"
		"  --packed        packed ring (default: split)\n"
		"  --size N        queue size, 2..32768 (default %u; split: a "
		"power of two)\n"
		"  --seconds N     stop after N seconds (default: never)\n"
		"  --quiet         no live line, only the totals\n"
		"  --no-event-idx  do not negotiate VIRTIO_RING_F_EVENT_IDX\n"
		"  --no-indirect   do not negotiate "
		"VIRTIO_RING_F_INDIRECT_DESC\n",
		RD_DEFAULT_SIZE);
}

static int rd_parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int rd_parse(int argc, char **argv, struct rd_opts *o)
{
	static const struct option lopts[] = {
		{"packed", no_argument, NULL, 'p'},
		{"size", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 't'},
		{"quiet", no_argument, NULL, 'q'},
		{"no-event-idx", no_argument, NULL, 'E'},
		{"no-indirect", no_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned v;
	int c;

	*o = (struct rd_opts){
		.num = RD_DEFAULT_SIZE, .event_idx = true, .indirect = true};
	while ((c = getopt_long(argc, argv, "ps:t:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->packed = true;
			break;
		case 's':
			if (rd_parse_uint(optarg, VSW_VQ_MAX_SIZE, &v) < 0)
				return -EINVAL;
			o->num = v;
			break;
		case 't':
			if (rd_parse_uint(optarg, INT_MAX, &v) < 0)
				return -EINVAL;
			o->seconds = v;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'E':
			o->event_idx = false;
			break;
		case 'I':
			o->indirect = false;
			break;
		case 'h':
			rd_usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static int rd_eventfds(struct rd_fds *f)
{
	int *all[] = {&f->tx_kick, &f->rx_kick, &f->tx_call, &f->rx_call,
		      &f->stop};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		*all[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (*all[i] < 0)
			return -errno;
	}
	return 0;
}

static void rd_close_fds(struct rd_fds *f)
{
	int *all[] = {&f->tx_kick, &f->rx_kick, &f->tx_call, &f->rx_call,
		      &f->stop};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (*all[i] >= 0)
			close(*all[i]);
}

int main(int argc, char **argv)
{
	struct rd_fds fds = {-1, -1, -1, -1, -1};
	struct rd_drv v = {0};
	struct rd_layout l;
	struct rd_opts o;
	int memfd = -1, sfd = -1, ready[2] = {-1, -1}, ret;
	sigset_t ss;
	pid_t child;

	if (rd_parse(argc, argv, &o) < 0) {
		rd_usage(stderr);
		return 2;
	}
	if (rd_layout_init(&l, &o) < 0) {
		fprintf(stderr,
			"vsw-ringdemo: invalid queue size %" PRIu32
			" for the %s ring\n",
			o.num, o.packed ? "packed" : "split");
		return 2;
	}
	/* signals arrive through a signalfd: no handler, no global state */
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0) {
		ret = -errno;
		goto out;
	}
	ret = rd_eventfds(&fds);
	if (ret < 0)
		goto out;
	memfd = memfd_create("vsw-ringdemo", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)l.total) < 0 ||
	    pipe2(ready, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	rd_print_features(&l);
	fflush(stdout);

	child = fork();
	if (child < 0) {
		ret = -errno;
		goto out;
	}
	if (child == 0) {
		close(ready[1]);
		ret = rd_device(&l, memfd, &fds, ready[0]);
		close(ready[0]);
		close(memfd);
		rd_close_fds(&fds);
		if (ret < 0 && ret != -EIO)
			fprintf(stderr, "vsw-ringdemo: device: %s\n",
				strerror(-ret));
		return ret < 0 ? 1 : 0;
	}
	close(ready[0]);
	ready[0] = -1;
	printf("vsw-ringdemo: driver pid %d, device pid %d; Ctrl-C stops\n",
	       (int)getpid(), (int)child);
	fflush(stdout);

	sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	v.base = mmap(NULL, l.total, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		      0);
	v.tx_free = calloc(l.num, sizeof(*v.tx_free));
	if (sfd < 0 || v.base == MAP_FAILED || v.tx_free == NULL) {
		ret = sfd < 0 || v.base == MAP_FAILED ? -errno : -ENOMEM;
		if (v.base == MAP_FAILED)
			v.base = NULL;
		close(ready[1]); /* the device sees EOF and exits */
		ready[1] = -1;
		rd_reap(child);
		goto out_drv;
	}
	v.l = &l;
	v.o = &o;
	v.fds = &fds;
	v.ctl = (struct rd_ctl *)(v.base + l.ctl);
	ret = rd_driver(&v, child, ready[1], sfd);
	if (ret < 0 && ret != -EIO) {
		/* set-up failed before the device started */
		close(ready[1]);
		ready[1] = -1;
		rd_reap(child);
	}
out_drv:
	vsw_vq_drv_destroy(v.txq);
	vsw_vq_drv_destroy(v.rxq);
	free(v.tx_free);
	if (v.base != NULL)
		munmap(v.base, l.total);
out:
	if (ret < 0 && ret != -EIO)
		fprintf(stderr, "vsw-ringdemo: %s\n", strerror(-ret));
	if (sfd >= 0)
		close(sfd);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (memfd >= 0)
		close(memfd);
	rd_close_fds(&fds);
	return ret < 0 ? 1 : 0;
}
