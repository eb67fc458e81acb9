/* SPDX-License-Identifier: MIT */
/*
 * The "dummy" port provider: frames a test injects go through
 * single-producer / single-consumer rings into the switch, frames the
 * switch sends land in per-txq rings the test collects from. Each rxq has
 * an eventfd for idle sleep, with the arm / re-check protocol of a virtio
 * queue (docs/concurrency.md rule 6), so the whole switch, sleeping threads
 * included, is testable without guests.
 *
 * Ring protocol: the producer writes a slot, then publishes head with a
 * release store (pairs with the consumer's acquire load of head); the
 * consumer reads the slot, then publishes tail with a release store (pairs
 * with the producer's acquire load of tail before it reuses the slot).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <vsw/port.h>

#include "vsw_atomic.h"
#include "vsw_compiler.h"

#define DUMMY_MAXQ 8
#define DUMMY_MAGIC 0x64756d6d79ULL
/* a slot holds an injected frame plus a pushed VLAN tag, and some more */
#define DUMMY_SLOT_DATA (VSW_PKT_SMALL_ROOM + 64)

struct dummy_slot {
	uint32_t len;
	struct virtio_net_hdr_v1 vnet;
	uint8_t data[DUMMY_SLOT_DATA];
};

struct dummy_ring {
	uint32_t head __attribute__((aligned(VSW_CACHE_LINE)));
	uint32_t tail __attribute__((aligned(VSW_CACHE_LINE)));
	uint32_t armed __attribute__((aligned(VSW_CACHE_LINE)));
	uint32_t mask;
	int efd; /* rx rings: the wait fd; -1 for tx */
	int64_t kicks;
	struct dummy_slot *slots;
};

struct dummy_port {
	uint64_t magic;
	unsigned n_rxq, n_txq;
	unsigned ring_size;
	bool wait;
	int ctl_fd; /* timerfd, -1 if none */
	int64_t ctl_fired;
	struct dummy_ring *rx[DUMMY_MAXQ];
	struct dummy_ring *tx[DUMMY_MAXQ];
};

static struct dummy_port *dummy_of(struct vsw_port *port)
{
	struct dummy_port *d;

	/* the type string is the one of our ops: a pointer compare */
	if (vsw_port_type(port) != vsw_port_dummy_ops.type)
		return NULL;
	d = vsw_port_priv(port);
	return d != NULL && d->magic == DUMMY_MAGIC ? d : NULL;
}

static void dummy_ring_free(struct dummy_ring *r)
{
	if (r == NULL)
		return;
	if (r->efd >= 0)
		close(r->efd);
	free(r->slots);
	free(r);
}

static int dummy_ring_new(unsigned size, bool rx, struct dummy_ring **out)
{
	struct dummy_ring *r;
	int ret;

	r = aligned_alloc(VSW_CACHE_LINE,
			  VSW_ALIGN_UP(sizeof(*r), VSW_CACHE_LINE));
	if (r == NULL)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->efd = -1;
	r->mask = size - 1;
	r->slots = calloc(size, sizeof(*r->slots));
	if (r->slots == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	if (rx) {
		r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (r->efd < 0) {
			ret = -errno;
			goto fail;
		}
	}
	*out = r;
	return 0;
fail:
	dummy_ring_free(r);
	return ret;
}

/* Allocate the rings of queues below n_rxq / n_txq that do not exist. */
static int dummy_rings_grow(struct dummy_port *d, unsigned n_rxq,
			    unsigned n_txq)
{
	unsigned q;
	int ret;

	for (q = 0; q < n_rxq; q++) {
		if (d->rx[q] != NULL)
			continue;
		ret = dummy_ring_new(d->ring_size, true, &d->rx[q]);
		if (ret < 0)
			return ret;
	}
	for (q = 0; q < n_txq; q++) {
		if (d->tx[q] != NULL)
			continue;
		ret = dummy_ring_new(d->ring_size, false, &d->tx[q]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void dummy_close(struct vsw_port *port)
{
	struct dummy_port *d = vsw_port_priv(port);
	unsigned q;

	if (d == NULL)
		return;
	for (q = 0; q < DUMMY_MAXQ; q++) {
		dummy_ring_free(d->rx[q]);
		dummy_ring_free(d->tx[q]);
	}
	if (d->ctl_fd >= 0)
		close(d->ctl_fd);
	free(d);
	vsw_port_set_priv(port, NULL);
}

static int dummy_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		      unsigned n_opts, char *err, size_t err_len)
{
	static const char *const known[] = {
		"rxq", "txq", "ring", "link", "wait", "ctl_timer_ms", NULL};
	struct dummy_port *d;
	unsigned nr, nt, ring, wait, timer;
	const char *link;
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	if (vsw_port_opt_uint(opts, n_opts, "rxq", 1, 0, DUMMY_MAXQ, &nr, err,
			      err_len) < 0 ||
	    vsw_port_opt_uint(opts, n_opts, "txq", 1, 0, DUMMY_MAXQ, &nt, err,
			      err_len) < 0 ||
	    vsw_port_opt_uint(opts, n_opts, "ring", 256, 2, 1U << 16, &ring,
			      err, err_len) < 0 ||
	    vsw_port_opt_uint(opts, n_opts, "wait", 1, 0, 1, &wait, err,
			      err_len) < 0 ||
	    vsw_port_opt_uint(opts, n_opts, "ctl_timer_ms", 0, 0, 3600000,
			      &timer, err, err_len) < 0)
		return -EINVAL;
	if (ring & (ring - 1)) {
		snprintf(err, err_len, "ring=%u is not a power of two", ring);
		return -EINVAL;
	}
	link = vsw_port_opt_get(opts, n_opts, "link");
	if (link != NULL && strcmp(link, "up") != 0 &&
	    strcmp(link, "down") != 0) {
		snprintf(err, err_len, "link=%s: expected up or down", link);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->magic = DUMMY_MAGIC;
	d->n_rxq = nr;
	d->n_txq = nt;
	d->ring_size = ring;
	d->wait = wait != 0;
	d->ctl_fd = -1;
	vsw_port_set_priv(port, d);
	ret = dummy_rings_grow(d, nr, nt);
	if (ret < 0)
		goto fail;
	if (timer != 0) {
		struct itimerspec its = {
			.it_interval = {timer / 1000,
					(long)(timer % 1000) * 1000000},
			.it_value = {timer / 1000,
				     (long)(timer % 1000) * 1000000},
		};

		d->ctl_fd = timerfd_create(CLOCK_MONOTONIC,
					   TFD_NONBLOCK | TFD_CLOEXEC);
		if (d->ctl_fd < 0 ||
		    timerfd_settime(d->ctl_fd, 0, &its, NULL) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	vsw_port_set_link(port, link == NULL || strcmp(link, "up") == 0);
	return 0;
fail:
	snprintf(err, err_len, "dummy: %s", strerror(-ret));
	dummy_close(port);
	return ret;
}

static unsigned dummy_n_rxq(const struct vsw_port *port)
{
	const struct dummy_port *d = vsw_port_priv(port);

	return d->n_rxq;
}

static unsigned dummy_n_txq(const struct vsw_port *port)
{
	const struct dummy_port *d = vsw_port_priv(port);

	return d->n_txq;
}

static int dummy_ctl_fd(struct vsw_port *port)
{
	const struct dummy_port *d = vsw_port_priv(port);

	return d->ctl_fd;
}

static void dummy_ctl_handle(struct vsw_port *port)
{
	struct dummy_port *d = vsw_port_priv(port);
	uint64_t exp;

	if (d->ctl_fd >= 0 &&
	    read(d->ctl_fd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp) &&
	    exp != 0)
		vsw_store_relaxed(&d->ctl_fired, d->ctl_fired + 1);
}

static void dummy_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct dummy_port *d = vsw_port_priv(port);

	snprintf(buf, len, "%u rxq, %u txq, ring %u", d->n_rxq, d->n_txq,
		 d->ring_size);
}

static unsigned dummy_recv(struct vsw_port *port, unsigned rxq,
			   struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			   unsigned n)
{
	struct dummy_port *d = vsw_port_priv(port);
	struct dummy_ring *r = d->rx[rxq];
	uint32_t t = r->tail, h;
	unsigned k = 0;

	/* Acquire pairs with the release store of head in inject. */
	h = vsw_load_acquire(&r->head);
	while (k < n && t != h) {
		const struct dummy_slot *s = &r->slots[t & r->mask];
		struct vsw_pkt *pkt = vsw_pkt_alloc_len(pool, s->len);

		t++;
		if (pkt == NULL) {
			vsw_port_rxq_drop(port, rxq, VSW_DROP_RX_NOMEM, 1);
			continue;
		}
		memcpy(vsw_pkt_append(pkt, s->len), s->data, s->len);
		pkt->vnet = s->vnet;
		pkts[k++] = pkt;
	}
	/* Release: slots read; pairs with the acquire of tail in inject. */
	vsw_store_release(&r->tail, t);
	return k;
}

static unsigned dummy_send(struct vsw_port *port, unsigned txq,
			   struct vsw_pkt *const *pkts, unsigned n)
{
	struct dummy_port *d = vsw_port_priv(port);
	struct dummy_ring *r = d->tx[txq];
	uint32_t h = r->head, t;
	unsigned i;

	/* Acquire pairs with the release store of tail in collect. */
	t = vsw_load_acquire(&r->tail);
	for (i = 0; i < n; i++) {
		struct dummy_slot *s;

		if (h - t > r->mask)
			break;
		if (pkts[i]->len > DUMMY_SLOT_DATA) {
			vsw_port_txq_drop(port, txq, VSW_DROP_TX_ERROR, 1);
			continue;
		}
		s = &r->slots[h & r->mask];
		s->len = pkts[i]->len;
		s->vnet = pkts[i]->vnet;
		memcpy(s->data, vsw_pkt_data(pkts[i]), s->len);
		h++;
	}
	/* Release pairs with the acquire load of head in collect. */
	vsw_store_release(&r->head, h);
	return i;
}

static int dummy_rxq_wait_fd(struct vsw_port *port, unsigned rxq)
{
	struct dummy_port *d = vsw_port_priv(port);

	return d->wait ? d->rx[rxq]->efd : -1;
}

static bool dummy_rxq_arm(struct vsw_port *port, unsigned rxq)
{
	struct dummy_port *d = vsw_port_priv(port);
	struct dummy_ring *r = d->rx[rxq];

	vsw_store_relaxed(&r->armed, 1);
	/*
	 * Store armed, then load head; inject stores head, then loads armed.
	 * The full fences on both sides make at least one see the other: no
	 * frame is left in the ring with nobody to kick.
	 */
	vsw_fence_seq_cst();
	return vsw_load_acquire(&r->head) != r->tail;
}

static void dummy_rxq_disarm(struct vsw_port *port, unsigned rxq)
{
	struct dummy_port *d = vsw_port_priv(port);
	struct dummy_ring *r = d->rx[rxq];
	uint64_t v;

	vsw_store_relaxed(&r->armed, 0);
	/* drain; a kick that races in later only causes one spurious wake */
	if (read(r->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vsw_port_log_rl(port, VSW_LOG_WARN, "eventfd read: %s",
				strerror(errno));
}

/*
 * Live: rxq and txq (1..8, the switch remaps the queues), link. Fixed: the
 * ring size, wait and the control timer (set up once at open).
 */
static int dummy_reconfigure(struct vsw_port *port,
			     const struct vsw_port_opt *old, unsigned n_old,
			     const struct vsw_port_opt *opts, unsigned n_opts,
			     char *err, size_t err_len)
{
	static const char *const known[] = {
		"rxq", "txq", "ring", "link", "wait", "ctl_timer_ms", NULL};
	static const char *const fixed[] = {"ring", "wait", "ctl_timer_ms",
					    NULL};
	struct dummy_port *d = vsw_port_priv(port);
	unsigned nr, nt, old_nr = d->n_rxq, old_nt = d->n_txq;
	const char *link;
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret == 0)
		ret = vsw_port_opts_fixed(port, old, n_old, opts, n_opts, fixed,
					  NULL, err, err_len);
	if (ret == 0)
		ret = vsw_port_opt_uint(opts, n_opts, "rxq", 1, 1, DUMMY_MAXQ,
					&nr, err, err_len);
	if (ret == 0)
		ret = vsw_port_opt_uint(opts, n_opts, "txq", 1, 1, DUMMY_MAXQ,
					&nt, err, err_len);
	if (ret < 0)
		return ret;
	link = vsw_port_opt_get(opts, n_opts, "link");
	if (link != NULL && strcmp(link, "up") != 0 &&
	    strcmp(link, "down") != 0) {
		snprintf(err, err_len, "link=%s: expected up or down", link);
		return -EINVAL;
	}
	if (nr != old_nr || nt != old_nt) {
		ret = vsw_port_dummy_set_queues(port, nr, nt);
		if (ret == -ENOMEM) {
			d->n_rxq = old_nr;
			d->n_txq = old_nt;
			snprintf(err, err_len, "dummy: out of memory");
			return ret;
		}
		/* -ETIMEDOUT: remapped once the stuck thread comes round */
	}
	if (vsw_port_opt_changed(old, n_old, opts, n_opts, "link"))
		vsw_port_set_link(port, link == NULL || strcmp(link, "up") == 0);
	return 0;
}

const struct vsw_port_ops vsw_port_dummy_ops = {
	.type = "dummy",
	.open = dummy_open,
	.close = dummy_close,
	.n_rxq = dummy_n_rxq,
	.n_txq = dummy_n_txq,
	.ctl_fd = dummy_ctl_fd,
	.ctl_handle = dummy_ctl_handle,
	.status = dummy_status,
	.reconfigure = dummy_reconfigure,
	.recv = dummy_recv,
	.send = dummy_send,
	.rxq_wait_fd = dummy_rxq_wait_fd,
	.rxq_arm = dummy_rxq_arm,
	.rxq_disarm = dummy_rxq_disarm,
};

/* ---- test hooks ---- */

int vsw_port_dummy_inject(struct vsw_port *port, unsigned rxq,
			  const void *frame, size_t len,
			  const struct virtio_net_hdr_v1 *vnet)
{
	struct dummy_port *d = dummy_of(port);
	struct dummy_ring *r;
	struct dummy_slot *s;
	uint32_t h;
	uint64_t one = 1;

	if (d == NULL)
		return -ENOTSUP;
	if (rxq >= d->n_rxq || len > VSW_PKT_SMALL_ROOM ||
	    (frame == NULL && len != 0))
		return -EINVAL;
	r = d->rx[rxq];
	h = r->head;
	/* Acquire pairs with the release store of tail in recv. */
	if (h - vsw_load_acquire(&r->tail) > r->mask)
		return -ENOSPC;
	s = &r->slots[h & r->mask];
	s->len = (uint32_t)len;
	if (vnet != NULL)
		s->vnet = *vnet;
	else
		memset(&s->vnet, 0, sizeof(s->vnet));
	if (len != 0)
		memcpy(s->data, frame, len);
	/* Release pairs with the acquire load of head in recv / arm. */
	vsw_store_release(&r->head, h + 1);
	/* store head, load armed: see dummy_rxq_arm() */
	vsw_fence_seq_cst();
	if (vsw_load_relaxed(&r->armed)) {
		if (write(r->efd, &one, sizeof(one)) < 0)
			return -errno;
		vsw_store_relaxed(&r->kicks, r->kicks + 1);
	}
	return 0;
}

int vsw_port_dummy_collect(struct vsw_port *port, void *buf, size_t cap,
			   struct virtio_net_hdr_v1 *vnet, unsigned *txq)
{
	struct dummy_port *d = dummy_of(port);
	uint32_t len;
	unsigned q;

	if (d == NULL)
		return -ENOTSUP;
	for (q = 0; q < DUMMY_MAXQ; q++) {
		struct dummy_ring *r = d->tx[q];
		const struct dummy_slot *s;

		/* Acquire pairs with the release store of head in send. */
		if (r == NULL || vsw_load_acquire(&r->head) == r->tail)
			continue;
		s = &r->slots[r->tail & r->mask];
		len = s->len;
		if (len > cap)
			return -EMSGSIZE;
		memcpy(buf, s->data, len);
		if (vnet != NULL)
			*vnet = s->vnet;
		if (txq != NULL)
			*txq = q;
		/*
		 * Release pairs with the acquire load of tail in send: the
		 * slot may be rewritten from now on.
		 */
		vsw_store_release(&r->tail, r->tail + 1);
		return (int)len;
	}
	return -EAGAIN;
}

static int dummy_pending(struct dummy_ring *const *rings)
{
	unsigned q;
	int n = 0;

	for (q = 0; q < DUMMY_MAXQ; q++)
		if (rings[q] != NULL)
			n += (int)(vsw_load_acquire(&rings[q]->head) -
				   vsw_load_acquire(&rings[q]->tail));
	return n;
}

int vsw_port_dummy_tx_pending(struct vsw_port *port)
{
	struct dummy_port *d = dummy_of(port);

	return d == NULL ? -ENOTSUP : dummy_pending(d->tx);
}

int vsw_port_dummy_rx_pending(struct vsw_port *port)
{
	struct dummy_port *d = dummy_of(port);

	return d == NULL ? -ENOTSUP : dummy_pending(d->rx);
}

int64_t vsw_port_dummy_kicks(struct vsw_port *port)
{
	struct dummy_port *d = dummy_of(port);
	int64_t n = 0;
	unsigned q;

	if (d == NULL)
		return -ENOTSUP;
	for (q = 0; q < DUMMY_MAXQ; q++)
		if (d->rx[q] != NULL)
			n += vsw_load_relaxed(&d->rx[q]->kicks);
	return n;
}

int64_t vsw_port_dummy_ctl_fired(struct vsw_port *port)
{
	struct dummy_port *d = dummy_of(port);

	return d == NULL ? -ENOTSUP : vsw_load_relaxed(&d->ctl_fired);
}

int vsw_port_dummy_set_queues(struct vsw_port *port, unsigned n_rxq,
			      unsigned n_txq)
{
	struct dummy_port *d = dummy_of(port);
	int ret;

	if (d == NULL)
		return -ENOTSUP;
	if (n_rxq < 1 || n_rxq > DUMMY_MAXQ || n_txq < 1 || n_txq > DUMMY_MAXQ)
		return -EINVAL;
	ret = dummy_rings_grow(d, n_rxq, n_txq);
	if (ret < 0)
		return ret;
	/* removed queues keep their rings until close: safe to call */
	d->n_rxq = n_rxq;
	d->n_txq = n_txq;
	return vsw_port_changed(port);
}
