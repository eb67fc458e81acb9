/* SPDX-License-Identifier: MIT */
/*
 * Packet capture: a bounded byte ring per capture, filled by the data
 * threads, drained by the control thread (see vsw/switch.h).
 *
 * The ring holds records (a struct cap_hdr, then the frame bytes, padded
 * to 8) at monotonic byte positions; a record may wrap around the end of
 * the buffer (copied in two parts). Producers (every data thread that
 * receives on or sends to the port) are serialized by cap->lock, held
 * for the copy of one burst; the single consumer takes no lock.
 *
 *  - producer: load head (acquire, pairs with the consumer's release
 *    store of head: the consumer's reads of the space are done before it
 *    is reused), copy, store tail (release, pairs with the consumer's
 *    acquire load of tail: the bytes are written before they are read).
 *  - consumer: load tail (acquire), copy a record out, store head
 *    (release).
 *
 * Attachment: vsw_capture_start publishes the capture in port->cap with a
 * release store (pairs with the acquire load in sw_capture_burst: the
 * ring is initialised before a producer uses it); the data path tests the
 * pointer with a relaxed load first, which is all a port without a
 * capture pays. vsw_capture_stop clears it, waits for a grace period
 * (sw_sync) and only then frees the ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switch_priv.h"

struct cap_hdr {
	uint64_t ts_ns;
	uint32_t len;
	uint32_t caplen;
	uint8_t dir;
	uint8_t offload;
	uint8_t gso_type;
	uint8_t pad;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t pad2[3];
};

struct vsw_capture {
	struct vsw_switch *sw;
	struct vsw_port *port; /* NULL once deleted; control thread */
	unsigned dir;
	uint32_t snaplen;
	uint8_t *ring;
	uint64_t mask; /* ring size - 1 */
	/* producers, under lock */
	uint32_t lock __attribute__((aligned(VSW_CACHE_LINE)));
	uint64_t tail;	/* release (producer) / acquire (consumer) */
	uint64_t drops; /* relaxed, read by the control thread */
	/* consumer */
	uint64_t head __attribute__((aligned(VSW_CACHE_LINE)));
};

static void cap_put(struct vsw_capture *c, uint64_t pos, const void *src,
		    size_t n)
{
	size_t off = pos & c->mask, first = c->mask + 1 - off;

	if (first > n)
		first = n;
	memcpy(c->ring + off, src, first);
	memcpy(c->ring, (const uint8_t *)src + first, n - first);
}

static void cap_get(const struct vsw_capture *c, uint64_t pos, void *dst,
		    size_t n)
{
	size_t off = pos & c->mask, first = c->mask + 1 - off;

	if (first > n)
		first = n;
	memcpy(dst, c->ring + off, first);
	memcpy((uint8_t *)dst + first, c->ring, n - first);
}

static inline size_t cap_rec_size(uint32_t caplen)
{
	return sizeof(struct cap_hdr) + (((size_t)caplen + 7) & ~(size_t)7);
}

void sw_capture_burst(struct vsw_port *port, unsigned dir,
		      struct vsw_pkt *const *pkts, unsigned n)
{
	/* Acquire pairs with the release store in vsw_capture_start(). */
	struct vsw_capture *c = vsw_load_acquire(&port->cap);
	struct timespec ts;
	uint64_t head, tail, now, dropped = 0;
	unsigned i;

	if (c == NULL || !(c->dir & dir))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	sw_lock(&c->lock);
	tail = c->tail;
	/* Acquire pairs with the release store of head in vsw_capture_next. */
	head = vsw_load_acquire(&c->head);
	for (i = 0; i < n; i++) {
		const struct vsw_pkt *p = pkts[i];
		struct cap_hdr h = {0};
		size_t need;

		h.ts_ns = now;
		h.len = p->len;
		h.caplen = c->snaplen != 0 && p->len > c->snaplen ? c->snaplen
								  : p->len;
		h.dir = (uint8_t)dir;
		h.gso_type = p->vnet.gso_type;
		h.gso_size = p->vnet.gso_size;
		h.csum_start = p->vnet.csum_start;
		h.csum_offset = p->vnet.csum_offset;
		if ((p->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) !=
		    VIRTIO_NET_HDR_GSO_NONE)
			h.offload |= VSW_CAPTURE_GSO;
		if (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			h.offload |= VSW_CAPTURE_CSUM_PARTIAL;
		need = cap_rec_size(h.caplen);
		if (need > c->mask + 1 - (tail - head)) {
			dropped++;
			continue;
		}
		cap_put(c, tail, &h, sizeof(h));
		cap_put(c, tail + sizeof(h), vsw_pkt_data(p), h.caplen);
		tail += need;
	}
	/* Release pairs with the acquire load of tail in vsw_capture_next. */
	vsw_store_release(&c->tail, tail);
	if (dropped != 0)
		vsw_ctr_add(&c->drops, dropped);
	sw_unlock(&c->lock);
}

int vsw_capture_start(struct vsw_switch *sw, const char *port, unsigned dir,
		      size_t ring_bytes, uint32_t snaplen,
		      struct vsw_capture **out, char *err, size_t err_len)
{
	struct vsw_capture *c;
	struct vsw_port *p;
	size_t size = VSW_CAPTURE_RING_MIN;

	sw_err_clear(err, err_len);
	p = vsw_switch_port_find(sw, port);
	if (p == NULL) {
		sw_err(err, err_len, "no port %s", port ? port : "(null)");
		return -ENOENT;
	}
	if (dir == 0 || (dir & ~(VSW_CAPTURE_IN | VSW_CAPTURE_OUT)) != 0) {
		sw_err(err, err_len,
		       "capture direction must be in, out or both");
		return -EINVAL;
	}
	if (ring_bytes == 0)
		ring_bytes = VSW_CAPTURE_RING_DEFAULT;
	if (ring_bytes > VSW_CAPTURE_RING_MAX) {
		sw_err(err, err_len, "capture ring of %zu bytes: at most %u",
		       ring_bytes, VSW_CAPTURE_RING_MAX);
		return -EINVAL;
	}
	while (size < ring_bytes)
		size <<= 1;
	/* a full-size frame must fit: the ring never truncates silently */
	if (snaplen == 0 || snaplen > VSW_PKT_MAX_LEN)
		snaplen = VSW_PKT_MAX_LEN;
	if (cap_rec_size(snaplen) > size)
		snaplen = (uint32_t)(size - sizeof(struct cap_hdr));
	if (p->cap != NULL) {
		sw_err(err, err_len, "port %s is already being captured", port);
		return -EBUSY;
	}
	c = aligned_alloc(VSW_CACHE_LINE, sizeof(*c));
	if (c == NULL)
		goto nomem;
	memset(c, 0, sizeof(*c));
	c->ring = malloc(size);
	if (c->ring == NULL) {
		free(c);
		goto nomem;
	}
	c->sw = sw;
	c->port = p;
	c->dir = dir;
	c->snaplen = snaplen;
	c->mask = size - 1;
	/* Release pairs with the acquire load in sw_capture_burst(). */
	vsw_store_release(&p->cap, c);
	sw_log(sw, VSW_LOG_INFO, "port %s: capture started", p->name);
	*out = c;
	return 0;
nomem:
	sw_err(err, err_len, "capture ring: %s", strerror(ENOMEM));
	return -ENOMEM;
}

int vsw_capture_next(struct vsw_capture *c, struct vsw_capture_rec *rec,
		     uint8_t *buf, size_t buf_len)
{
	uint64_t head = c->head, tail;
	struct cap_hdr h;

	/* Acquire pairs with the release store of tail in sw_capture_burst. */
	tail = vsw_load_acquire(&c->tail);
	if (head == tail)
		return 0;
	cap_get(c, head, &h, sizeof(h));
	rec->ts_ns = h.ts_ns;
	rec->len = h.len;
	rec->caplen = h.caplen < buf_len ? h.caplen : (uint32_t)buf_len;
	rec->dir = h.dir;
	rec->offload = h.offload;
	rec->gso_type = h.gso_type;
	rec->gso_size = h.gso_size;
	rec->csum_start = h.csum_start;
	rec->csum_offset = h.csum_offset;
	cap_get(c, head + sizeof(h), buf, rec->caplen);
	/* Release pairs with the acquire load of head in sw_capture_burst. */
	vsw_store_release(&c->head, head + cap_rec_size(h.caplen));
	return 1;
}

uint64_t vsw_capture_drops(const struct vsw_capture *c)
{
	return vsw_load_relaxed(&c->drops);
}

bool vsw_capture_port_gone(const struct vsw_capture *c)
{
	return c->port == NULL;
}

void sw_capture_port_gone(struct vsw_port *port)
{
	struct vsw_capture *c = port->cap;

	if (c == NULL)
		return;
	/*
	 * The port is out of every published list and a grace period has
	 * passed (or a stuck thread holds it: then its free waits, and the
	 * capture's own stop syncs again before freeing the ring).
	 */
	vsw_store_relaxed(&port->cap, NULL);
	c->port = NULL;
}

void vsw_capture_stop(struct vsw_capture *c)
{
	if (c == NULL)
		return;
	if (c->port != NULL) {
		/*
		 * Relaxed: the grace period below orders it for the data
		 * threads (they pass a quiescent point after seeing NULL).
		 */
		vsw_store_relaxed(&c->port->cap, NULL);
		sw_log(c->sw, VSW_LOG_INFO, "port %s: capture stopped",
		       c->port->name);
		c->port = NULL;
	}
	if (sw_sync(c->sw) < 0) {
		/* a stuck thread may still be copying: free after it */
		sw_retire(c->sw, sw_free_fn, c->ring);
		sw_retire(c->sw, sw_free_fn, c);
		return;
	}
	free(c->ring);
	free(c);
}
