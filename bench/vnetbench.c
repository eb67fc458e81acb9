/* SPDX-License-Identifier: MIT */
/*
 * vsw-vnetbench: the virtio-net + virtqueue half of the vhost-user data path,
 * deterministic, in one thread: for instruction counts under callgrind and
 * for TSC cycles per packet of the real lib/virtio-net and lib/virtq code
 * with warm caches (not a throughput benchmark: bench/compare is that).
 *
 * Guest A (a vsw_vq_drv transmitq, split ring) posts 64-byte frames behind
 * a zero virtio-net header in one descriptor each, as DPDK's virtio-user
 * does; guest B (a vsw_vq_drv receiveq) posts 2 KiB writable buffers, one
 * descriptor each. Features are those virtio-user negotiates with vsw:
 * VERSION_1, IN_ORDER, MRG_RXBUF (EVENT_IDX with --event-idx). Per round:
 * both guests refill their rings, then the device side runs
 * vsw_vnet_tx_burst(A) and vsw_vnet_rx_burst(B) on bursts of --burst, and
 * frees the packets. Guest memory is --regions regions (QEMU hands over 1 to
 * 8), the rings and buffers spread over all of them.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *       vsw-vnetbench --count 200000
 *   callgrind_annotate --inclusive=yes cg.out | grep vsw_vnet_
 *
 * Inclusive instructions of vsw_vnet_tx_burst / vsw_vnet_rx_burst divided
 * by --count are the per-packet cost of each direction. Without valgrind the
 * program prints TSC cycles per packet of the device side.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <vsw/mem.h>
#include <vsw/pkt.h>
#include <vsw/virtio_net.h>
#include <vsw/virtq.h>

#define VB_NUM 256U
#define VB_BUF 2048U
#define VB_HDR 12U
#define VB_MAX_BURST 64U
#define VB_MAX_REGIONS 8U

struct vb_guest {
	struct vsw_vq_drv *drv;
	struct vsw_vq_dev *dev;
	uint8_t *bufs; /* VB_NUM slots of VB_BUF bytes */
	uint64_t bufs_gpa;
	uint32_t *free_slots, n_free;
};

struct vb_ctx {
	struct vsw_mem mem;
	uint8_t *base;
	uint64_t gpa0, size;
	unsigned regions;
	uint64_t features;
	uint32_t frame;
	struct vb_guest tx, rx;
	struct vsw_vnet *a, *b;
	struct vsw_pkt_pool *pool;
	uint64_t irqs;
};

static void vb_notify(void *arg, unsigned qidx)
{
	struct vb_ctx *c = arg;

	(void)qidx;
	c->irqs++;
}

static uint64_t vb_gpa(const struct vb_ctx *c, const void *p)
{
	return c->gpa0 + (uint64_t)((const uint8_t *)p - c->base);
}

/* Carve [off, off + len) of guest memory: aligned, inside one region. */
static void *vb_carve(struct vb_ctx *c, uint64_t *off, uint64_t len)
{
	uint64_t rsz = c->size / c->regions, o = (*off + 4095) & ~4095ULL;

	if (o / rsz != (o + len - 1) / rsz)
		o = (o / rsz + 1) * rsz; /* next region */
	*off = o + len;
	return c->base + o;
}

static int vb_guest_init(struct vb_ctx *c, struct vb_guest *g, uint64_t *off,
			 bool device_reads)
{
	struct vsw_vq_drv_config dc = {0};
	struct vsw_vq_dev_config vc = {0};
	size_t rb = vsw_vq_ring_bytes(c->features, VB_NUM);
	void *ring = vb_carve(c, off, rb);
	uint32_t i;
	int ret;

	g->bufs = vb_carve(c, off, (uint64_t)VB_NUM * VB_BUF);
	g->bufs_gpa = vb_gpa(c, g->bufs);
	dc.features = c->features;
	dc.num = VB_NUM;
	dc.ring = ring;
	dc.ring_gpa = vb_gpa(c, ring);
	ret = vsw_vq_drv_create(&dc, &g->drv);
	if (ret < 0)
		return ret;
	vc.features = c->features;
	vc.num = VB_NUM;
	vsw_vq_drv_addrs(g->drv, &vc.addrs);
	vc.mem = &c->mem;
	vc.flags = device_reads ? VSW_VQ_DEV_F_READ_ONLY : 0;
	ret = vsw_vq_dev_create(&vc, &g->dev);
	if (ret < 0)
		return ret;
	vsw_vq_drv_disable_cb(g->drv); /* polling guests */
	g->free_slots = calloc(VB_NUM, sizeof(*g->free_slots));
	if (g->free_slots == NULL)
		return -ENOMEM;
	for (i = 0; i < VB_NUM; i++)
		g->free_slots[g->n_free++] = VB_NUM - 1 - i;
	return 0;
}

/* Collect used buffers, then post every free slot. */
static int vb_guest_refill(struct vb_ctx *c, struct vb_guest *g, bool tx)
{
	uint32_t len, slot;
	void *tok;

	while ((tok = vsw_vq_drv_get_used(g->drv, &len)) != NULL)
		g->free_slots[g->n_free++] = (uint32_t)(uintptr_t)tok - 1;
	if (vsw_vq_drv_is_broken(g->drv))
		return -EIO;
	while (g->n_free > 0) {
		struct vsw_sg sg;

		slot = g->free_slots[g->n_free - 1];
		sg.addr = g->bufs_gpa + (uint64_t)slot * VB_BUF;
		sg.len = tx ? VB_HDR + c->frame : VB_BUF;
		if (vsw_vq_drv_add(g->drv, &sg, tx ? 1 : 0, tx ? 0 : 1,
				   (void *)(uintptr_t)(slot + 1)) < 0)
			break;
		g->n_free--;
	}
	(void)vsw_vq_drv_kick_prepare(g->drv);
	return 0;
}

static void vb_frames(struct vb_ctx *c)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 2};
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 1};
	uint32_t s, i;

	for (s = 0; s < VB_NUM; s++) {
		uint8_t *b = c->tx.bufs + (size_t)s * VB_BUF;

		memset(b, 0, VB_HDR);
		memcpy(b + VB_HDR, dst, 6);
		memcpy(b + VB_HDR + 6, src, 6);
		b[VB_HDR + 12] = 0x08;
		b[VB_HDR + 13] = 0x00;
		for (i = 14; i < c->frame; i++)
			b[VB_HDR + i] = (uint8_t)(i + s);
	}
}

static void vb_usage(FILE *f)
{
	fprintf(f, "usage: vsw-vnetbench [--count N] [--burst N] [--frame B]"
		   " [--regions N] [--event-idx]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"count", required_argument, NULL, 'c'},
		{"burst", required_argument, NULL, 'b'},
		{"frame", required_argument, NULL, 'f'},
		{"regions", required_argument, NULL, 'r'},
		{"event-idx", no_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct vsw_pkt_pool_config pc = {.n_small = 1024, .n_large = 0};
	struct vsw_vnet_config nc = {0};
	struct vsw_pkt *pkts[VB_MAX_BURST];
	struct vb_ctx c = {0};
	uint64_t count = 1000000, done = 0, t_dev = 0, t0, off = 0, rsz;
	unsigned burst = 32, got, put, i;
	bool event_idx = false;
	char *end;
	int opt, ret;

	c.frame = 64;
	c.regions = 1;
	while ((opt = getopt_long(argc, argv, "c:b:f:r:eh", lo, NULL)) != -1) {
		unsigned long v = 0;

		if (opt == 'e' || opt == 'h') {
			if (opt == 'h') {
				vb_usage(stdout);
				return 0;
			}
			event_idx = true;
			continue;
		}
		if (opt == '?') {
			vb_usage(stderr);
			return 2;
		}
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || end == optarg) {
			fprintf(stderr, "vsw-vnetbench: bad number '%s'\n",
				optarg);
			return 2;
		}
		if (opt == 'c')
			count = v;
		else if (opt == 'b')
			burst = (unsigned)v;
		else if (opt == 'f')
			c.frame = (uint32_t)v;
		else
			c.regions = (unsigned)v;
	}
	if (count == 0 || burst == 0 || burst > VB_MAX_BURST ||
	    c.frame < 14 || c.frame + VB_HDR > VB_BUF || c.regions == 0 ||
	    c.regions > VB_MAX_REGIONS) {
		fprintf(stderr, "vsw-vnetbench: --burst 1..%u, --frame "
				"14..%u, --regions 1..%u\n",
			VB_MAX_BURST, VB_BUF - VB_HDR, VB_MAX_REGIONS);
		return 2;
	}
	c.features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_IN_ORDER) |
		     (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
		     (event_idx ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0);
	c.size = 8ULL << 20;
	c.base = aligned_alloc(1 << 21, c.size);
	if (c.base == NULL)
		return 1;
	memset(c.base, 0, c.size);
	c.gpa0 = 1ULL << 32; /* guest addresses are not host addresses */
	vsw_mem_init(&c.mem);
	rsz = c.size / c.regions;
	for (i = 0; i < c.regions; i++) {
		ret = vsw_mem_add(&c.mem, c.gpa0 + i * rsz, rsz,
				  c.base + i * rsz, 0);
		if (ret < 0)
			goto fail;
	}
	if ((ret = vb_guest_init(&c, &c.tx, &off, true)) < 0 ||
	    (ret = vb_guest_init(&c, &c.rx, &off, false)) < 0 ||
	    (ret = vsw_pkt_pool_create(&pc, &c.pool)) < 0)
		goto fail;
	vb_frames(&c);
	nc.features = c.features;
	nc.max_qp = 1;
	nc.pool = c.pool;
	nc.notify = vb_notify;
	nc.notify_arg = &c;
	if ((ret = vsw_vnet_create(&nc, &c.a)) < 0 ||
	    (ret = vsw_vnet_create(&nc, &c.b)) < 0 ||
	    (ret = vsw_vnet_queue_attach(c.a, 1, c.tx.dev, VB_NUM, -1)) < 0 ||
	    (ret = vsw_vnet_queue_attach(c.b, 0, c.rx.dev, VB_NUM, -1)) < 0)
		goto fail;
	vsw_vq_dev_disable_notify(c.tx.dev);
	vsw_vq_dev_disable_notify(c.rx.dev);
	while (done < count) {
		if ((ret = vb_guest_refill(&c, &c.tx, true)) < 0 ||
		    (ret = vb_guest_refill(&c, &c.rx, false)) < 0)
			goto fail;
		t0 = __rdtsc();
		got = vsw_vnet_tx_burst(c.a, 0, pkts, burst);
		put = vsw_vnet_rx_burst(c.b, 0, pkts, got);
		vsw_pkt_free_burst(pkts, got);
		t_dev += __rdtsc() - t0;
		if (got == 0 || put != got) {
			fprintf(stderr, "vsw-vnetbench: stalled (%u/%u)\n",
				got, put);
			ret = -EIO;
			goto fail;
		}
		done += got;
	}
	printf("packets %" PRIu64 " burst %u frame %u regions %u%s: "
	       "%.1f TSC cycles/packet (tx_burst + rx_burst + free), "
	       "%" PRIu64 " interrupts\n",
	       done, burst, c.frame, c.regions, event_idx ? " event-idx" : "",
	       (double)t_dev / (double)done, c.irqs);
	return 0;
fail:
	fprintf(stderr, "vsw-vnetbench: %s\n", strerror(-ret));
	return 1;
}
