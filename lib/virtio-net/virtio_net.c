/* SPDX-License-Identifier: MIT */
/*
 * virtio-net data path: transmitq (guest -> vsw_pkt) and receiveq (vsw_pkt ->
 * guest), the virtio header and its offloads (VIRTIO 1.2 §5.1.6).
 *
 * Security model: see vsw/virtio_net.h. In short, the guest's header is read
 * once into a local and validated before anything depends on it; the frame
 * is copied once into a private packet; only private copies are parsed. Guest
 * buffers we write into are never read back.
 *
 * Hot path: per burst one push_burst and at most one interrupt; per packet
 * one pop, one header copy, one frame copy, no allocation (packets come from
 * a per-thread pool stack), no lock, no system call.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vnet_priv.h"
#include "vsw_atomic.h"

#define VNET_ETH_HLEN 14
/* chains popped at once by the fast paths */
#define VNET_FAST_BURST 32U

/* vnet_rx_write() / vnet_rx_pkt() outcomes besides 0 (delivered) */
#define VNET_DROPPED 1

struct vnet_acc {
	uint64_t packets, bytes;
};

int vsw_vnet_create(const struct vsw_vnet_config *cfg, struct vsw_vnet **out)
{
	struct vsw_vnet *dev;
	unsigned i, nq;
	size_t bytes;

	if (cfg == NULL || out == NULL || cfg->max_qp == 0 ||
	    cfg->max_qp > VSW_VNET_MAX_QP)
		return -EINVAL;
	if (cfg->max_qp > 1 && !(cfg->features & (1ULL << VIRTIO_NET_F_MQ)))
		return -EINVAL;
	nq = 2U * cfg->max_qp;
	bytes = VSW_ALIGN_UP(sizeof(*dev) + nq * sizeof(dev->q[0]),
			     (size_t)VSW_CACHE_LINE);
	dev = aligned_alloc(VSW_CACHE_LINE, bytes);
	if (dev == NULL)
		return -ENOMEM;
	memset(dev, 0, bytes);
	dev->features = cfg->features & VSW_VNET_FEATURES;
	dev->max_qp = cfg->max_qp;
	dev->port_id = cfg->port_id;
	dev->notify = cfg->notify;
	dev->notify_arg = cfg->notify_arg;
	dev->mrg = vnet_has(dev, VIRTIO_NET_F_MRG_RXBUF);
	/* §5.1.6: 12 bytes with VERSION_1 or MRG_RXBUF, else the legacy 10 */
	dev->hdr_size = (vnet_has(dev, VIRTIO_F_VERSION_1) || dev->mrg)
				? sizeof(struct virtio_net_hdr_v1)
				: sizeof(struct virtio_net_hdr);
	/* §5.1.6.4: num_buffers is 1 also without MRG_RXBUF */
	dev->rx_hdr.num_buffers = htole16(1);
	/* the TSO/USO features depend on the checksum one (§5.1.3.1) */
	dev->guest_csum = vnet_has(dev, VIRTIO_NET_F_GUEST_CSUM);
	dev->guest_tso4 = dev->guest_csum &&
			  vnet_has(dev, VIRTIO_NET_F_GUEST_TSO4);
	dev->guest_tso6 = dev->guest_csum &&
			  vnet_has(dev, VIRTIO_NET_F_GUEST_TSO6);
	dev->guest_ecn = vnet_has(dev, VIRTIO_NET_F_GUEST_ECN);
	/* one USO bit per IP version: take UDP GSO only with both */
	dev->guest_uso = dev->guest_csum &&
			 vnet_has(dev, VIRTIO_NET_F_GUEST_USO4) &&
			 vnet_has(dev, VIRTIO_NET_F_GUEST_USO6);
	dev->host_csum = vnet_has(dev, VIRTIO_NET_F_CSUM);
	dev->host_tso4 = dev->host_csum &&
			 vnet_has(dev, VIRTIO_NET_F_HOST_TSO4);
	dev->host_tso6 = dev->host_csum &&
			 vnet_has(dev, VIRTIO_NET_F_HOST_TSO6);
	dev->host_ecn = vnet_has(dev, VIRTIO_NET_F_HOST_ECN);
	dev->host_uso = dev->host_csum && vnet_has(dev, VIRTIO_NET_F_HOST_USO);
	for (i = 0; i < nq; i++) {
		dev->q[i].qidx = i;
		dev->q[i].call_fd = -1;
		if (i & 1)
			dev->q[i].pool = cfg->pool;
	}
	dev->cs.curr_qp = 1;
	dev->cs.promisc = true;
	memcpy(dev->cs.mac, cfg->mac, 6);
	*out = dev;
	return 0;
}

static void vnet_q_free(struct vnet_q *q)
{
	free(q->iov);
	free(q->used);
	free(q->chains);
	free(q->scratch);
	q->iov = NULL;
	q->used = NULL;
	q->chains = NULL;
	q->scratch = NULL;
	q->vq = NULL;
}

void vsw_vnet_destroy(struct vsw_vnet *dev)
{
	unsigned i;

	if (dev == NULL)
		return;
	for (i = 0; i < 2U * dev->max_qp; i++)
		vnet_q_free(&dev->q[i]);
	free(dev);
}

uint64_t vsw_vnet_features(const struct vsw_vnet *dev)
{
	return dev->features;
}

unsigned vsw_vnet_hdr_size(const struct vsw_vnet *dev)
{
	return dev->hdr_size;
}

int vsw_vnet_queue_attach(struct vsw_vnet *dev, unsigned qidx,
			  struct vsw_vq_dev *vq, uint32_t num, int call_fd)
{
	struct vnet_q *q;

	if (qidx >= 2U * dev->max_qp || vq == NULL || num == 0 ||
	    num > VSW_VQ_MAX_SIZE)
		return -EINVAL;
	q = &dev->q[qidx];
	if (q->vq != NULL)
		return -EBUSY;
	q->iov_max = num + VSW_MEM_MAX_REGIONS;
	q->iov = calloc(q->iov_max, sizeof(*q->iov));
	q->used = calloc(num, sizeof(*q->used));
	if (q->iov == NULL || q->used == NULL)
		goto nomem;
	if ((qidx & 1) == 0) {
		q->chains = calloc(num, sizeof(*q->chains));
		q->scratch = malloc(VSW_PKT_MAX_LEN);
		if (q->chains == NULL || q->scratch == NULL)
			goto nomem;
	}
	q->num = num;
	q->call_fd = call_fd;
	q->broken_seen = false;
	q->log = vsw_vq_dev_log(vq) != NULL;
	memset(&q->st, 0, sizeof(q->st));
	q->vq = vq;
	return 0;
nomem:
	vnet_q_free(q);
	return -ENOMEM;
}

int vsw_vnet_queue_detach(struct vsw_vnet *dev, unsigned qidx)
{
	if (qidx >= 2U * dev->max_qp)
		return -EINVAL;
	vnet_q_free(&dev->q[qidx]);
	return 0;
}

int vsw_vnet_queue_stats(const struct vsw_vnet *dev, unsigned qidx,
			 struct vsw_vnet_q_stats *out)
{
	const uint64_t *c;
	uint64_t *o = (uint64_t *)out;
	size_t i;

	if (qidx >= 2U * dev->max_qp)
		return -EINVAL;
	_Static_assert(sizeof(*out) % sizeof(uint64_t) == 0,
		       "vsw_vnet_q_stats is uint64_t counters only");
	c = (const uint64_t *)&dev->q[qidx].st;
	/* Relaxed: each pairs with its writer's vsw_ctr_add (untorn only). */
	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		o[i] = vsw_load_relaxed(&c[i]);
	return 0;
}

int vsw_vnet_qp_set_pool(struct vsw_vnet *dev, unsigned qp,
			 struct vsw_pkt_pool *pool)
{
	if (qp >= dev->max_qp)
		return -EINVAL;
	dev->q[2 * qp + 1].pool = pool;
	return 0;
}

void vnet_kick_guest(struct vsw_vnet *dev, unsigned qidx, int call_fd)
{
	if (dev->notify != NULL)
		dev->notify(dev->notify_arg, qidx);
	else if (call_fd >= 0)
		/* EAGAIN means the counter is saturated: the guest is woken */
		(void)eventfd_write(call_fd, 1);
}

/* The ring broke: count it once per break. */
static VSW_COLD void vnet_q_broken(struct vnet_q *q)
{
	if (!q->broken_seen) {
		q->broken_seen = true;
		vsw_ctr_add(&q->st.queue_broken, 1);
	}
}

void vnet_log_iov(struct vsw_vq_dev *vq, const struct iovec *iov, unsigned n,
		  uint64_t len)
{
	unsigned i;

	for (i = 0; i < n && len > 0; i++) {
		uint64_t l = iov[i].iov_len < len ? iov[i].iov_len : len;

		vsw_vq_dev_log_write(vq, iov[i].iov_base, l);
		len -= l;
	}
}

/* Publish a burst of used entries and interrupt the guest if it wants. */
static int vnet_q_flush(struct vsw_vnet *dev, struct vnet_q *q, unsigned nu)
{
	int ret;

	if (nu == 0)
		return 0;
	ret = vsw_vq_dev_push_burst(q->vq, q->used, nu);
	if (vsw_unlikely(ret < 0))
		return ret;
	if (vsw_vq_dev_need_notify(q->vq)) {
		vsw_ctr_add(&q->st.notifies, 1);
		vnet_kick_guest(dev, q->qidx, q->call_fd);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* transmitq: guest -> packets                                         */
/* ------------------------------------------------------------------ */

/*
 * Validate the header the guest wrote (w, already a private copy) for a
 * frame of flen bytes; fill m in CPU order. -EINVAL for a header to drop.
 */
static int vnet_tx_hdr_parse(const struct vsw_vnet *dev,
			     const struct virtio_net_hdr_v1 *w, uint32_t flen,
			     struct virtio_net_hdr_v1 *m)
{
	uint8_t flags = w->flags & (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	uint8_t gso = w->gso_type;
	uint8_t type = gso & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint16_t hdr_len = le16toh(w->hdr_len);
	uint16_t gso_size = le16toh(w->gso_size);
	uint16_t cs = le16toh(w->csum_start), co = le16toh(w->csum_offset);
	bool ok;

	/* DATA_VALID means nothing from a driver: ignored, as Linux does */
	if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;
	if (hdr_len > flen)
		return -EINVAL;
	if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!dev->host_csum || (uint32_t)cs + co + 2 > flen)
			return -EINVAL;
	} else {
		cs = 0;
		co = 0;
	}
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (gso & VIRTIO_NET_HDR_GSO_ECN)
			return -EINVAL;
		gso_size = 0;
	} else {
		switch (type) {
		case VIRTIO_NET_HDR_GSO_TCPV4:
			ok = dev->host_tso4;
			break;
		case VIRTIO_NET_HDR_GSO_TCPV6:
			ok = dev->host_tso6;
			break;
		case VIRTIO_NET_HDR_GSO_UDP_L4:
			ok = dev->host_uso && !(gso & VIRTIO_NET_HDR_GSO_ECN);
			break;
		default: /* UFO (deprecated, never offered) and unknown */
			ok = false;
			break;
		}
		if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !dev->host_ecn)
			ok = false;
		/* GSO needs a segment size and the L4 position */
		if (!ok || gso_size == 0 ||
		    !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return -EINVAL;
	}
	m->flags = flags;
	m->gso_type = gso;
	m->hdr_len = hdr_len;
	m->gso_size = gso_size;
	m->csum_start = cs;
	m->csum_offset = co;
	m->num_buffers = 0;
	return 0;
}

/*
 * The fast path: chains of one descriptor (header and frame together, as
 * drivers post them), popped a burst at a time, their buffers prefetched
 * before the first copy so the cache misses overlap. A zero header (no
 * offload asked for: flags, gso_type and hdr_len 0) needs no parse. Returns
 * the chains consumed (0: the next one needs vnet_tx_one), -1 when the
 * packet pool ran out (the rest of the burst went back to the ring).
 */
static int vnet_tx_fast(struct vsw_vnet *dev, struct vnet_q *q,
			struct vsw_pkt **pkts, unsigned n, unsigned *npkt,
			unsigned *nu, uint64_t *bytes)
{
	const unsigned hsz = dev->hdr_size;
	struct vsw_vq_buf b[VNET_FAST_BURST];
	unsigned want = n - *npkt, k, i;

	if (want > VNET_FAST_BURST)
		want = VNET_FAST_BURST;
	if (want > q->num - *nu)
		want = q->num - *nu;
	k = vsw_vq_dev_pop_bufs(q->vq, b, want);
	for (i = 0; i < k; i++) {
		__builtin_prefetch(b[i].addr);
		__builtin_prefetch((uint8_t *)b[i].addr + b[i].len - 1);
	}
	for (i = 0; i < k; i++) {
		const uint8_t *src = b[i].addr;
		struct virtio_net_hdr_v1 w;
		struct vsw_pkt *pkt;
		uint32_t flen, head;

		q->used[*nu].id = b[i].id;
		q->used[*nu].ndesc = 1;
		q->used[*nu].len = 0;
		if (vsw_unlikely(b[i].len < hsz + VNET_ETH_HLEN)) {
			vsw_ctr_add(&q->st.drop_bad_hdr, 1);
			(*nu)++;
			continue;
		}
		flen = b[i].len - hsz;
		if (vsw_unlikely(flen > VSW_PKT_MAX_LEN)) {
			vsw_ctr_add(&q->st.drop_too_big, 1);
			(*nu)++;
			continue;
		}
		pkt = vsw_pkt_alloc_len(q->pool, flen);
		if (vsw_unlikely(pkt == NULL)) {
			/* the frames wait in the ring for free packets */
			while (k > i) {
				struct vsw_vq_chain c = {.id = b[--k].id};

				vsw_vq_dev_unpop(q->vq, &c);
			}
			vsw_ctr_add(&q->st.pool_empty, 1);
			return -1;
		}
		(*nu)++;
		/* num_buffers means nothing on transmit: 10 bytes suffice */
		memcpy(&w, src, sizeof(struct virtio_net_hdr));
		/* every check below sees this copy, never the guest's bytes */
		__asm__ __volatile__("" ::: "memory");
		memcpy(&head, &w, sizeof(head));
		/* flags, gso_type, hdr_len: non-zero only to ask for offloads */
		if (vsw_unlikely(head != 0) &&
		    vnet_tx_hdr_parse(dev, &w, flen, &pkt->vnet) < 0) {
			vsw_pkt_free(pkt);
			vsw_ctr_add(&q->st.drop_bad_hdr, 1);
			continue;
		}
		vnet_copy(vsw_pkt_data(pkt), src + hsz, flen);
		pkt->len = flen;
		pkt->in_port = dev->port_id;
		pkts[(*npkt)++] = pkt;
		*bytes += flen;
	}
	return (int)k;
}

/*
 * Any other chain, one at a time, through an iovec: 1 consumed, 0 none
 * available, -1 stop (ring broken or pool empty).
 */
static int vnet_tx_one(struct vsw_vnet *dev, struct vnet_q *q,
		       struct vsw_pkt **pkts, unsigned *npkt, unsigned *nu,
		       uint64_t *bytes)
{
	const unsigned hsz = dev->hdr_size;
	struct virtio_net_hdr_v1 w;
	struct vsw_vq_chain c;
	struct vnet_cur cur;
	struct vsw_pkt *pkt;
	uint32_t flen;
	int ret;

	ret = vsw_vq_dev_pop(q->vq, &c, q->iov, q->iov_max);
	if (ret <= 0) {
		if (vsw_unlikely(ret < 0)) {
			vnet_q_broken(q);
			return -1;
		}
		return 0;
	}
	q->used[*nu].id = c.id;
	q->used[*nu].ndesc = c.ndesc;
	q->used[*nu].len = 0; /* nothing written into a TX chain */
	/* writable segments, if any, are ignored: only n_out counts */
	if (vsw_unlikely(c.out_len < hsz + VNET_ETH_HLEN)) {
		vsw_ctr_add(&q->st.drop_bad_hdr, 1);
		(*nu)++;
		return 1;
	}
	if (vsw_unlikely(c.out_len - hsz > VSW_PKT_MAX_LEN)) {
		vsw_ctr_add(&q->st.drop_too_big, 1);
		(*nu)++;
		return 1;
	}
	flen = (uint32_t)(c.out_len - hsz);
	memset(&w, 0, sizeof(w));
	vnet_cur_init(&cur, q->iov, c.n_out);
	vnet_cur_read(&cur, &w, hsz);
	pkt = vsw_pkt_alloc_len(q->pool, flen);
	if (vsw_unlikely(pkt == NULL)) {
		/* the frame waits in the ring for a free packet */
		vsw_vq_dev_unpop(q->vq, &c);
		vsw_ctr_add(&q->st.pool_empty, 1);
		return -1;
	}
	(*nu)++;
	if (vsw_unlikely(vnet_tx_hdr_parse(dev, &w, flen, &pkt->vnet) < 0 ||
			 vnet_cur_read(&cur, vsw_pkt_data(pkt), flen) != flen)) {
		vsw_pkt_free(pkt);
		vsw_ctr_add(&q->st.drop_bad_hdr, 1);
		return 1;
	}
	pkt->len = flen;
	pkt->in_port = dev->port_id;
	pkts[(*npkt)++] = pkt;
	*bytes += flen;
	return 1;
}

unsigned vsw_vnet_tx_burst(struct vsw_vnet *dev, unsigned qp,
			   struct vsw_pkt **pkts, unsigned n)
{
	struct vnet_q *q;
	unsigned npkt = 0, nu = 0;
	uint64_t bytes = 0;
	int ret;

	if (vsw_unlikely(qp >= dev->max_qp))
		return 0;
	q = &dev->q[2 * qp + 1];
	if (vsw_unlikely(q->vq == NULL || q->pool == NULL))
		return 0;
	if (vsw_unlikely(vsw_vq_dev_error(q->vq) != 0)) {
		vnet_q_broken(q);
		return 0;
	}
	while (npkt < n && nu < q->num) {
		ret = vnet_tx_fast(dev, q, pkts, n, &npkt, &nu, &bytes);
		if (ret > 0)
			continue;
		if (ret < 0 ||
		    vnet_tx_one(dev, q, pkts, &npkt, &nu, &bytes) <= 0)
			break;
	}
	if (vsw_unlikely(vnet_q_flush(dev, q, nu) < 0))
		vnet_q_broken(q); /* frames copied out stay valid */
	vsw_ctr_add(&q->st.packets, npkt);
	vsw_ctr_add(&q->st.bytes, bytes);
	return npkt;
}

/* ------------------------------------------------------------------ */
/* receiveq: packets -> guest                                          */
/* ------------------------------------------------------------------ */

/* Record the iovec pieces of the next len bytes at c (len <= 12). */
static unsigned vnet_cur_take(struct vnet_cur *c, size_t len, struct iovec *out)
{
	unsigned n = 0;

	while (len > 0 && c->i < c->n) {
		const struct iovec *v = &c->iov[c->i];
		size_t k = v->iov_len - c->off;

		if (k > len)
			k = len;
		if (k > 0) {
			out[n].iov_base = (uint8_t *)v->iov_base + c->off;
			out[n].iov_len = k;
			n++;
		}
		len -= k;
		c->off += k;
		if (c->off == v->iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	return n;
}

/*
 * A frame spread over k chains (used entries from first_nu) ran out of
 * buffers: give its chains back, newest first. The ring can take back only
 * what vsw_vq_dev_unpop() accepts (the current vsw_vq takes only the most
 * recent pop); chains it keeps in flight are returned to the guest with
 * length 0 instead (in pop order, as IN_ORDER wants), counted in
 * bad_buffer. The frame itself stays with the caller.
 */
static VSW_COLD void vnet_rx_giveback(struct vnet_q *q, unsigned k,
				      unsigned first_nu, unsigned *nu)
{
	unsigned inflight = vsw_vq_dev_inflight(q->vq), i;

	while (k > 0) {
		vsw_vq_dev_unpop(q->vq, &q->chains[k - 1]);
		if (vsw_vq_dev_inflight(q->vq) != inflight - 1)
			break;
		inflight--;
		k--;
	}
	for (i = 0; i < k; i++)
		q->used[first_nu + i].len = 0;
	vsw_ctr_add(&q->st.bad_buffer, k);
	*nu = first_nu + k;
}

/*
 * Write the header w and frame data[0 .. len) into guest chains, appending
 * used entries at q->used[*nu]. 0: delivered; VNET_DROPPED: the frame cannot
 * fit one chain without MRG_RXBUF (counted, chain given back); -ENOBUFS: no
 * buffers, every chain of this frame given back; -EIO: the ring broke.
 */
static int vnet_rx_write(struct vsw_vnet *dev, struct vnet_q *q,
			 struct virtio_net_hdr_v1 *w, const uint8_t *data,
			 uint32_t len, unsigned *nu)
{
	const unsigned hsz = dev->hdr_size;
	struct iovec hiov[sizeof(*w)];
	struct vsw_vq_chain c;
	struct vnet_cur cur;
	unsigned k = 0, nh = 0, first_nu = 0;
	uint32_t rem = len;
	uint64_t wlen;
	int ret;

	for (;;) {
		if (vsw_unlikely(*nu >= q->num))
			goto nobufs; /* a racing guest: finish this burst */
		ret = vsw_vq_dev_pop(q->vq, &c, q->iov, q->iov_max);
		if (ret == 0)
			goto nobufs;
		if (vsw_unlikely(ret < 0))
			return -EIO;
		if (vsw_unlikely(k == 0 && c.in_len < hsz)) {
			/* not even room for a header: return it empty */
			vsw_ctr_add(&q->st.bad_buffer, 1);
			q->used[*nu].id = c.id;
			q->used[*nu].ndesc = c.ndesc;
			q->used[(*nu)++].len = 0;
			continue;
		}
		vnet_cur_init(&cur, q->iov + c.n_out, c.n_in);
		if (!dev->mrg) {
			if (vsw_unlikely(c.in_len < (uint64_t)hsz + len)) {
				vsw_vq_dev_unpop(q->vq, &c);
				vsw_ctr_add(&q->st.drop_too_big, 1);
				return VNET_DROPPED;
			}
			vnet_cur_write(&cur, w, hsz);
			vnet_cur_write(&cur, data, len);
			if (vsw_unlikely(q->log))
				vnet_log_iov(q->vq, q->iov + c.n_out, c.n_in,
					     (uint64_t)hsz + len);
			q->used[*nu].id = c.id;
			q->used[*nu].ndesc = c.ndesc;
			q->used[(*nu)++].len = hsz + len;
			return 0;
		}
		if (k == 0) {
			first_nu = *nu;
			/* the header is written last, once num_buffers is known */
			nh = vnet_cur_take(&cur, hsz, hiov);
			wlen = hsz;
		} else {
			wlen = 0;
		}
		q->chains[k++] = c;
		if (rem > 0) {
			uint64_t room = c.in_len - wlen;
			uint32_t put = room < rem ? (uint32_t)room : rem;

			vnet_cur_write(&cur, data + (len - rem), put);
			rem -= put;
			wlen += put;
		}
		/* the header part (k == 1) is marked again once written */
		if (vsw_unlikely(q->log))
			vnet_log_iov(q->vq, q->iov + c.n_out, c.n_in, wlen);
		q->used[*nu].id = c.id;
		q->used[*nu].ndesc = c.ndesc;
		q->used[(*nu)++].len = (uint32_t)wlen;
		if (rem == 0)
			break;
	}
	w->num_buffers = htole16((uint16_t)k);
	vnet_cur_init(&cur, hiov, nh);
	vnet_cur_write(&cur, w, hsz);
	if (vsw_unlikely(q->log))
		vnet_log_iov(q->vq, hiov, nh, hsz);
	return 0;
nobufs:
	if (k > 0)
		vnet_rx_giveback(q, k, first_nu, nu);
	return -ENOBUFS;
}

static bool vnet_guest_gso_ok(const struct vsw_vnet *dev, uint8_t gso)
{
	bool ok;

	switch (gso & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		ok = dev->guest_tso4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		ok = dev->guest_tso6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		ok = dev->guest_uso;
		break;
	default:
		ok = false;
		break;
	}
	if (gso & VIRTIO_NET_HDR_GSO_ECN)
		ok = ok && dev->guest_ecn;
	return ok;
}

/* Segment a GSO frame the guest cannot take whole; see vnet_rx_pkt. */
static VSW_COLD int vnet_rx_sw_gso(struct vsw_vnet *dev, struct vnet_q *q,
				   const struct vsw_pkt *pkt, unsigned *nu,
				   struct vnet_acc *acc)
{
	struct virtio_net_hdr_v1 w;
	struct vsw_vnet_gso g;
	uint32_t slen;
	unsigned sent = 0;
	int ret;

	if (vsw_vnet_gso_init(&g, vsw_pkt_data(pkt), pkt->len, &pkt->vnet) <
	    0) {
		vsw_ctr_add(&q->st.drop_offload, 1);
		return VNET_DROPPED;
	}
	while ((slen = vsw_vnet_gso_next(&g, q->scratch)) > 0) {
		memset(&w, 0, sizeof(w));
		/* every segment carries a full checksum */
		if (dev->guest_csum)
			w.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		w.num_buffers = htole16(1);
		ret = vnet_rx_write(dev, q, &w, q->scratch, slen, nu);
		if (ret == 0) {
			sent++;
			acc->packets++;
			acc->bytes += slen;
		} else if (ret == -ENOBUFS) {
			if (sent == 0)
				return -ENOBUFS; /* untouched: caller keeps it */
			vsw_ctr_add(&q->st.drop_no_buf, 1);
			break;
		} else if (ret < 0) {
			return ret;
		}
	}
	vsw_ctr_add(&q->st.sw_gso, 1);
	return sent ? 0 : VNET_DROPPED;
}

/*
 * Deliver one packet: 0 delivered, VNET_DROPPED dropped and counted,
 * -ENOBUFS not attempted (no buffers), -EIO ring broken.
 */
static int vnet_rx_pkt(struct vsw_vnet *dev, struct vnet_q *q,
		       struct vsw_pkt *pkt, unsigned *nu, struct vnet_acc *acc)
{
	struct virtio_net_hdr_v1 *m = &pkt->vnet;
	struct virtio_net_hdr_v1 w;
	bool gso = (m->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) !=
		   VIRTIO_NET_HDR_GSO_NONE;
	int ret;

	if (vsw_unlikely(gso && !vnet_guest_gso_ok(dev, m->gso_type)))
		return vnet_rx_sw_gso(dev, q, pkt, nu, acc);
	if (vsw_unlikely((m->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			 !dev->guest_csum)) {
		if (vsw_vnet_csum_apply(vsw_pkt_data(pkt), pkt->len,
					m->csum_start, m->csum_offset) < 0) {
			vsw_ctr_add(&q->st.drop_offload, 1);
			return VNET_DROPPED;
		}
		/* done for good: other receivers see a finished packet */
		m->flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vsw_ctr_add(&q->st.sw_csum, 1);
	}
	memset(&w, 0, sizeof(w));
	/* §5.1.6.4: without GUEST_CSUM flags are 0; without GSO, NONE */
	if (dev->guest_csum) {
		w.flags = m->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM |
				      VIRTIO_NET_HDR_F_DATA_VALID);
		if (w.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			w.csum_start = htole16(m->csum_start);
			w.csum_offset = htole16(m->csum_offset);
		}
	}
	if (gso) {
		w.gso_type = m->gso_type;
		w.gso_size = htole16(m->gso_size);
		w.hdr_len = htole16(m->hdr_len);
	}
	w.num_buffers = htole16(1);
	ret = vnet_rx_write(dev, q, &w, vsw_pkt_data(pkt), pkt->len, nu);
	if (ret == 0) {
		acc->packets++;
		acc->bytes += pkt->len;
	}
	return ret;
}

/* Logging on: mark the n buffers rx_fast filled (used entries from nu0). */
static VSW_COLD void vnet_rx_fast_log(struct vnet_q *q,
				      const struct vsw_vq_buf *b, unsigned n,
				      unsigned nu0)
{
	unsigned i;

	for (i = 0; i < n; i++)
		vsw_vq_dev_log_write(q->vq, b[i].addr, q->used[nu0 + i].len);
}

/*
 * The fast path: one packet per single-descriptor buffer, buffers popped a
 * burst at a time and prefetched for writing, a constant header (no offload
 * to describe: num_buffers 1, the rest 0). Stops at the first packet that
 * needs more (offload flags, a frame larger than its buffer): the buffers
 * not used go back to the ring and vnet_rx_pkt() takes over. Returns the
 * packets delivered.
 */
static unsigned vnet_rx_fast(struct vsw_vnet *dev, struct vnet_q *q,
			     struct vsw_pkt *const *pkts, unsigned n,
			     unsigned *nu, struct vnet_acc *acc)
{
	const unsigned hsz = dev->hdr_size;
	struct vsw_vq_buf b[VNET_FAST_BURST];
	unsigned want = n, k, i;

	if (want > VNET_FAST_BURST)
		want = VNET_FAST_BURST;
	if (want > q->num - *nu)
		want = q->num - *nu;
	k = vsw_vq_dev_pop_bufs(q->vq, b, want);
	for (i = 0; i < k; i++)
		__builtin_prefetch(b[i].addr, 1);
	for (i = 0; i < k; i++) {
		const struct vsw_pkt *pkt = pkts[i];
		uint8_t *dst = b[i].addr;

		if (i + 1 < k)
			__builtin_prefetch(vsw_pkt_data(pkts[i + 1]));
		if (vsw_unlikely((pkt->vnet.flags | pkt->vnet.gso_type) != 0 ||
				 (uint64_t)hsz + pkt->len > b[i].len))
			break;
		/* two sizes only: constant-size copies, no call */
		if (hsz == sizeof(struct virtio_net_hdr_v1))
			memcpy(dst, &dev->rx_hdr, sizeof(dev->rx_hdr));
		else
			memcpy(dst, &dev->rx_hdr, sizeof(struct virtio_net_hdr));
		vnet_copy(dst + hsz, vsw_pkt_data(pkt), pkt->len);
		q->used[*nu].id = b[i].id;
		q->used[*nu].ndesc = 1;
		q->used[(*nu)++].len = hsz + pkt->len;
		acc->packets++;
		acc->bytes += pkt->len;
	}
	/* one branch per burst when not migrating */
	if (vsw_unlikely(q->log))
		vnet_rx_fast_log(q, b, i, *nu - i);
	/* newest first, as unpop wants */
	while (k > i) {
		struct vsw_vq_chain c = {.id = b[--k].id};

		vsw_vq_dev_unpop(q->vq, &c);
	}
	return i;
}

unsigned vsw_vnet_rx_burst(struct vsw_vnet *dev, unsigned qp,
			   struct vsw_pkt *const *pkts, unsigned n)
{
	struct vnet_acc acc = {0, 0};
	struct vnet_q *q;
	unsigned i = 0, nu = 0;
	int ret = 0;

	if (vsw_unlikely(qp >= dev->max_qp))
		return 0;
	q = &dev->q[2 * qp];
	if (vsw_unlikely(q->vq == NULL))
		return 0;
	if (vsw_unlikely(vsw_vq_dev_error(q->vq) != 0)) {
		vnet_q_broken(q);
		vsw_ctr_add(&q->st.drop_broken, n);
		return n;
	}
	while (i < n) {
		i += vnet_rx_fast(dev, q, pkts + i, n - i, &nu, &acc);
		if (i == n)
			break;
		ret = vnet_rx_pkt(dev, q, pkts[i], &nu, &acc);
		if (vsw_unlikely(ret < 0))
			break;
		i++;
	}
	if (vsw_unlikely(ret == -ENOBUFS))
		vsw_ctr_add(&q->st.no_buf, 1);
	if (vsw_unlikely(ret == -EIO || vnet_q_flush(dev, q, nu) < 0)) {
		/* nothing of this burst reaches the guest */
		vnet_q_broken(q);
		vsw_ctr_add(&q->st.drop_broken, acc.packets + (n - i));
		return n;
	}
	vsw_ctr_add(&q->st.packets, acc.packets);
	vsw_ctr_add(&q->st.bytes, acc.bytes);
	return i;
}
