/* SPDX-License-Identifier: MIT */
/*
 * The switch's side of an OpenFlow controller: frames the data path hands
 * to the controllers (PACKET_IN), frames a controller sends (PACKET_OUT),
 * and a bridge's fail-open state.
 *
 * Two single-producer single-consumer byte rings per data thread, no lock
 * and no system call per packet:
 *  - pin: producer the data thread (a CONTROLLER action), consumer the
 *    control thread (vsw_switch_packet_in_poll). Full: the frame is
 *    dropped and counted (sw_pmd.pin.drops). The control thread sleeps in
 *    poll() on sw->pin_fd; a producer writes it only when the consumer said
 *    it would sleep (sw->pin_armed), so at most once per wake-up.
 *  - pout (thread 0's only): producer the control thread
 *    (vsw_switch_packet_out), consumer the data thread, which runs the
 *    actions on its own pool and txqs (forward.c:sw_pout_run); woken by its
 *    wake_fd.
 *
 * A ring: head (consumer position) and tail (producer position) run free
 * (mod 2^32), the buffer is a power of two; records are 8-byte aligned
 * with a header; a record that does not fit before the end is preceded by
 * a wrap record filling the rest. Orderings (docs/concurrency.md, W11):
 * the producer writes the record, then release-stores tail; the consumer
 * acquire-loads tail, reads, then release-stores head; the producer's
 * acquire load of head says which bytes the consumer is done with.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "switch_priv.h"
#include "vsw_time.h"

#define SW_REC_DATA 0u
#define SW_REC_WRAP 1u

struct sw_rec {
	uint32_t len;  /* the whole record, aligned to 8 */
	uint32_t kind; /* SW_REC_* */
};

/* A packet-in record, after struct sw_rec; then the frame's bytes. */
struct sw_pin_rec {
	char bridge[VSW_BRIDGE_NAME_MAX];
	uint64_t cookie;
	uint32_t total_len;
	uint32_t len;
	uint16_t in_port;
	uint8_t reason;
	uint8_t pad[5];
};

/* A packet-out record; then n_acts actions, then the frame. */
struct sw_pout_rec {
	struct sw_bridge *br; /* drained before a bridge is freed */
	uint32_t len;
	uint16_t in_port; /* ofport, or VSW_FLOW_PORT_CONTROLLER */
	uint16_t n_acts;
};

#define SW_ALIGN8(x) (((x) + 7u) & ~7u)

int sw_ring_init(struct sw_ring *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	r->buf = aligned_alloc(VSW_CACHE_LINE, size);
	if (r->buf == NULL)
		return -ENOMEM;
	r->size = size;
	return 0;
}

void sw_ring_fini(struct sw_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

/*
 * Producer: room for a record of @n bytes (header included, aligned); its
 * address, or NULL when full. Publish it with sw_ring_commit(r, n).
 */
static uint8_t *sw_ring_reserve(struct sw_ring *r, uint32_t n)
{
	/* Acquire pairs with the consumer's release of head. */
	uint32_t head = vsw_load_acquire(&r->head);
	uint32_t tail = r->ptail;
	uint32_t off = tail & (r->size - 1), contig = r->size - off;
	uint32_t need = contig < n ? contig + n : n;
	struct sw_rec *w;

	if (n > r->size / 2 || (uint32_t)(tail - head) + need > r->size)
		return NULL;
	if (contig < n) {
		w = (struct sw_rec *)(r->buf + off);
		w->len = contig;
		w->kind = SW_REC_WRAP;
		r->ptail = tail + contig;
		off = 0;
	}
	return r->buf + off;
}

static void sw_ring_commit(struct sw_ring *r, uint32_t n)
{
	r->ptail += n;
	/* Release pairs with the consumer's acquire of tail: the record. */
	vsw_store_release(&r->tail, r->ptail);
}

/* Consumer: the next data record, or NULL when the ring is empty. */
static const uint8_t *sw_ring_peek(struct sw_ring *r)
{
	/* Acquire pairs with sw_ring_commit()'s release: the record. */
	uint32_t tail = vsw_load_acquire(&r->tail);

	while (r->chead != tail) {
		const struct sw_rec *h =
			(const void *)(r->buf + (r->chead & (r->size - 1)));

		if (h->kind != SW_REC_WRAP)
			return (const uint8_t *)h;
		r->chead += h->len;
	}
	return NULL;
}

static void sw_ring_pop(struct sw_ring *r, const uint8_t *rec)
{
	r->chead += ((const struct sw_rec *)rec)->len;
	/* Release pairs with sw_ring_reserve()'s acquire: space reusable. */
	vsw_store_release(&r->head, r->chead);
}

bool sw_ring_pending(const struct sw_ring *r)
{
	/* Relaxed: a hint; sw_ring_peek() acquires. */
	return vsw_load_relaxed(&r->tail) != r->chead;
}

/* ---- packet-in ---- */

void sw_pin_push(struct sw_pmd *pmd, const struct sw_bridge *br,
		 uint16_t in_port, const struct vsw_flow_rule *rule,
		 const struct vsw_pkt *pkt, uint16_t max_len)
{
	struct vsw_switch *sw = pmd->sw;
	uint32_t len = pkt->len < max_len ? pkt->len : max_len;
	uint32_t n = SW_ALIGN8(sizeof(struct sw_rec) +
			       sizeof(struct sw_pin_rec) + len);
	struct sw_pin_rec *p;
	uint8_t *rec;
	uint16_t t1, t2;

	rec = sw_ring_reserve(&pmd->pin, n);
	if (rec == NULL) {
		vsw_ctr_add(&pmd->pin.drops, 1);
		return;
	}
	((struct sw_rec *)rec)->len = n;
	((struct sw_rec *)rec)->kind = SW_REC_DATA;
	p = (struct sw_pin_rec *)(rec + sizeof(struct sw_rec));
	memcpy(p->bridge, br->name, sizeof(p->bridge));
	p->cookie = 0;
	p->reason = VSW_PIN_ACTION;
	if (rule != NULL) {
		const struct vsw_flow_match *m = vsw_flow_rule_match(rule);
		static const struct vsw_flow_key any;

		vsw_flow_rule_timeouts(rule, &p->cookie, &t1, &t2);
		/* OpenFlow 1.3: the table-miss entry's packet-ins */
		if (vsw_flow_rule_priority(rule) == 0 &&
		    vsw_flow_key_eq(&m->mask, &any))
			p->reason = VSW_PIN_NO_MATCH;
	}
	p->total_len = pkt->len;
	p->len = len;
	p->in_port = in_port;
	memcpy(p + 1, vsw_pkt_data(pkt), len);
	sw_ring_commit(&pmd->pin, n);
	vsw_ctr_add(&pmd->pin.pushed, 1);
	/*
	 * Store-buffering with vsw_switch_packet_in_poll(): the tail store
	 * above, then the load of pin_armed; there, the store of pin_armed,
	 * then the load of tail. One of the two sees the other.
	 */
	vsw_fence_seq_cst();
	if (vsw_load_relaxed(&sw->pin_armed) &&
	    __atomic_exchange_n(&sw->pin_armed, 0, __ATOMIC_RELAXED)) {
		uint64_t one = 1;

		if (write(sw->pin_fd, &one, sizeof(one)) < 0) {
			/* the counter is at its maximum: already readable */
		}
	}
}

int vsw_switch_packet_in_fd(const struct vsw_switch *sw)
{
	return sw->pin_fd;
}

static unsigned sw_pin_drain(struct vsw_switch *sw,
			     void (*cb)(void *arg,
					const struct vsw_packet_in *pi),
			     void *arg, unsigned budget)
{
	unsigned i, n = 0;

	for (i = 0; i < sw->n_pmds; i++) {
		struct sw_ring *r = &sw->pmds[i].pin;
		const uint8_t *rec;

		while (n < budget && (rec = sw_ring_peek(r)) != NULL) {
			const struct sw_pin_rec *p =
				(const void *)(rec + sizeof(struct sw_rec));
			struct vsw_packet_in pi = {
				.bridge = p->bridge,
				.in_port = p->in_port,
				.reason = p->reason,
				.cookie = p->cookie,
				.total_len = p->total_len,
				.len = p->len,
				.data = (const uint8_t *)(p + 1),
			};

			cb(arg, &pi);
			sw_ring_pop(r, rec);
			n++;
		}
	}
	return n;
}

unsigned vsw_switch_packet_in_poll(struct vsw_switch *sw,
				   void (*cb)(void *arg,
					      const struct vsw_packet_in *pi),
				   void *arg, unsigned budget)
{
	uint64_t v;
	unsigned n, i;

	if (read(sw->pin_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was signalled */
	}
	n = sw_pin_drain(sw, cb, arg, budget);
	if (n >= budget)
		return n; /* more to do: the caller comes back at once */
	/* Relaxed store, then the fence: see sw_pin_push(). */
	vsw_store_relaxed(&sw->pin_armed, 1);
	vsw_fence_seq_cst();
	for (i = 0; i < sw->n_pmds; i++) {
		if (sw_ring_pending(&sw->pmds[i].pin)) {
			/* raced with a producer: not asleep after all */
			vsw_store_relaxed(&sw->pin_armed, 0);
			n += sw_pin_drain(sw, cb, arg, budget - n);
			break;
		}
	}
	return n;
}

bool vsw_switch_packet_in_pending(const struct vsw_switch *sw)
{
	unsigned i;

	for (i = 0; i < sw->n_pmds; i++)
		if (sw_ring_pending(&sw->pmds[i].pin))
			return true;
	return false;
}

void vsw_switch_packet_in_stats(const struct vsw_switch *sw, uint64_t *sent,
				uint64_t *dropped)
{
	unsigned i;

	*sent = 0;
	*dropped = 0;
	for (i = 0; i < sw->n_pmds; i++) {
		*sent += vsw_load_relaxed(&sw->pmds[i].pin.pushed);
		*dropped += vsw_load_relaxed(&sw->pmds[i].pin.drops);
	}
}

/* ---- packet-out ---- */

int vsw_switch_packet_out(struct vsw_switch *sw, const char *bridge,
			  uint16_t in_port, const struct vsw_flow_act *acts,
			  unsigned n_acts, const uint8_t *frame, uint32_t len,
			  char *err, size_t err_len)
{
	struct sw_bridge *br = sw_bridge_find(sw, bridge);
	struct sw_pmd *pmd = sw->n_pmds ? &sw->pmds[0] : NULL;
	uint32_t n;
	struct sw_pout_rec *p;
	uint8_t *rec;
	uint64_t one = 1;

	sw_err_clear(err, err_len);
	if (br == NULL) {
		sw_err(err, err_len, "no bridge %s", bridge);
		return -ENOENT;
	}
	if (len < 14 || len > VSW_SWITCH_PACKET_OUT_MAX || n_acts > 64) {
		sw_err(err, err_len,
		       "packet-out: a frame of 14 to %u bytes and at most "
		       "64 actions",
		       VSW_SWITCH_PACKET_OUT_MAX);
		return -EINVAL;
	}
	if (pmd == NULL)
		return -ENODEV;
	n = SW_ALIGN8(sizeof(struct sw_rec) + sizeof(*p) +
		      n_acts * sizeof(*acts) + len);
	rec = sw_ring_reserve(&pmd->pout, n);
	if (rec == NULL) {
		vsw_ctr_add(&pmd->pout.drops, 1);
		sw_err(err, err_len, "packet-out queue full");
		return -ENOBUFS;
	}
	((struct sw_rec *)rec)->len = n;
	((struct sw_rec *)rec)->kind = SW_REC_DATA;
	p = (struct sw_pout_rec *)(rec + sizeof(struct sw_rec));
	p->br = br;
	p->len = len;
	p->in_port = in_port;
	p->n_acts = (uint16_t)n_acts;
	memcpy(p + 1, acts, n_acts * sizeof(*acts));
	memcpy((uint8_t *)(p + 1) + n_acts * sizeof(*acts), frame, len);
	sw_ring_commit(&pmd->pout, n);
	vsw_ctr_add(&pmd->pout.pushed, 1);
	/* W3: a sleeping thread polls its wake_fd too */
	if (write(pmd->wake_fd, &one, sizeof(one)) < 0) {
		/* at its maximum: already readable */
	}
	return 0;
}

unsigned sw_pout_run(struct sw_pmd *pmd)
{
	struct sw_ring *r = &pmd->pout;
	const uint8_t *rec;
	unsigned n = 0;

	while (n < VSW_PORT_BURST && (rec = sw_ring_peek(r)) != NULL) {
		const struct sw_pout_rec *p =
			(const void *)(rec + sizeof(struct sw_rec));
		const struct vsw_flow_act *acts = (const void *)(p + 1);

		sw_packet_out_exec(pmd, p->br, p->in_port, acts, p->n_acts,
				   (const uint8_t *)(acts + p->n_acts), p->len);
		sw_ring_pop(r, rec);
		n++;
	}
	return n;
}

void sw_pout_drain(struct vsw_switch *sw)
{
	uint64_t until = vsw_now_ms() + sw->cfg.sync_timeout_ms;
	struct sw_ring *r;

	if (sw->n_pmds == 0)
		return;
	r = &sw->pmds[0].pout;
	/*
	 * Acquire pairs with sw_ring_pop()'s release: the data thread is
	 * done with every record, so none names a bridge about to go. A
	 * stuck thread runs what it holds before its next quiescent point,
	 * which the bridge's free (sw_retire) waits for.
	 */
	while (vsw_load_acquire(&r->head) != r->ptail && vsw_now_ms() < until)
		sched_yield();
}

/* ---- fail-open ---- */

int vsw_switch_set_fail_open(struct vsw_switch *sw, const char *bridge,
			     bool on, char *err, size_t err_len)
{
	struct sw_bridge *br = sw_bridge_find(sw, bridge);

	sw_err_clear(err, err_len);
	if (br == NULL) {
		sw_err(err, err_len, "no bridge %s", bridge);
		return -ENOENT;
	}
	if (br->fail_open == (uint32_t)on)
		return 0;
	/* W7: a flag; the grace period makes every thread see it */
	vsw_store_relaxed(&br->fail_open, (uint32_t)on);
	sw_log(sw, VSW_LOG_INFO, "bridge %s: fail-open %s", br->name,
	       on ? "on (normal forwarding)" : "off (the flow table)");
	return sw_sync_err(sw, err, err_len);
}
