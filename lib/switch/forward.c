/* SPDX-License-Identifier: MIT */
/*
 * Forwarding of one burst (sw_forward, called by the data threads of
 * pmd.c). While the bridge's flow table is only "actions=normal"
 * (sw_bridge.normal_rule, see flows.c) a burst goes through three stages:
 *   1. parse: each frame once into a struct sw_key (MACs, VLAN, tag state);
 *   2. decide: sw_normal(key, in_port) -> struct sw_action (drop with a
 *      reason, output to one port, or flood);
 *   3. execute: outputs are grouped per output port and sent as one burst
 *      per port; egress VLAN tags are pushed / popped in place (headroom),
 *      each frame changing tag state at most once per burst;
 * and the burst is counted on the rule once. Otherwise (sw_forward_flows)
 * stage 2 is: a flow key per frame, the thread's exact-match cache for the
 * bridge (the classifier on a miss; a frame whose key is that of the frame
 * before it takes that frame's rule), the rule counted once per burst, and
 * the rule's actions per frame: edits in place, then the outputs added to
 * the same per-port groups (NORMAL's with their VLAN processing, the others
 * leave the frame as the actions made it), sent by stage 3. A frame whose
 * actions need several versions of it (an edit after an output, or NORMAL
 * after another output) is sent action by action instead (send copies).
 * No lock (except a txq spinlock when txqs are shared), no allocation, no
 * system call per packet. The packets are freed after every send (send
 * copies).
 *
 * Security model: frames come from guests and the network and are
 * untrusted. Only their length and the 12 + 2 (+ 4) header bytes are read;
 * a runt is dropped as bad_frame; any MAC / VLAN value is handled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "switch_priv.h"

#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4
#define TPID_8021Q 0x8100

/* The parsed header of one frame. */
struct sw_key {
	const uint8_t *dst;
	const uint8_t *src;
	uint16_t vlan;	/* VLAN the frame belongs to on this bridge */
	uint8_t tagged; /* the frame carries an 802.1Q header now */
};

enum sw_action_kind { SW_ACT_DROP, SW_ACT_OUTPUT, SW_ACT_FLOOD };

struct sw_action {
	uint8_t kind;	/* enum sw_action_kind */
	uint8_t reason; /* DROP: enum vsw_drop_reason */
	uint16_t port;	/* OUTPUT: port id */
};

static inline void vlan_pop(struct vsw_pkt *pkt)
{
	uint8_t *d = vsw_pkt_data(pkt);

	memmove(d + VLAN_HLEN_, d, 12);
	vsw_pkt_adj(pkt, VLAN_HLEN_);
	sw_offload_shift(pkt, -VLAN_HLEN_);
}

static inline bool vlan_push(struct vsw_pkt *pkt, uint16_t vlan)
{
	uint8_t *d = vsw_pkt_prepend(pkt, VLAN_HLEN_);

	if (d == NULL)
		return false;
	memmove(d, d + VLAN_HLEN_, 12);
	d[12] = TPID_8021Q >> 8;
	d[13] = TPID_8021Q & 0xff;
	d[14] = (uint8_t)(vlan >> 8);
	d[15] = (uint8_t)vlan;
	sw_offload_shift(pkt, VLAN_HLEN_);
	return true;
}

/*
 * Parse the Ethernet / 802.1Q header and apply the in port's VLAN filter.
 * Returns a drop reason, or -1 when the frame is to be forwarded.
 */
static inline int sw_parse(struct vsw_pkt *pkt, const struct sw_vlan *vin,
			   struct sw_key *key)
{
	const uint8_t *d = vsw_pkt_data(pkt);
	uint16_t vid = 0;
	uint16_t vlan;

	if (vsw_unlikely(pkt->len < ETH_HLEN_))
		return VSW_DROP_BAD_FRAME;
	key->tagged = 0;
	if (((unsigned)d[12] << 8 | d[13]) == TPID_8021Q) {
		if (vsw_unlikely(pkt->len < ETH_HLEN_ + VLAN_HLEN_))
			return VSW_DROP_BAD_FRAME;
		vid = ((unsigned)d[14] << 8 | d[15]) & 0xfff;
		if (vid == 0) {
			/* priority tag: the frame is untagged for us */
			vlan_pop(pkt);
			d = vsw_pkt_data(pkt);
		} else {
			key->tagged = 1;
		}
	}
	key->dst = d;
	key->src = d + 6;
	if (vin->access) {
		if (key->tagged)
			return VSW_DROP_VLAN_FILTERED;
		vlan = vin->tag;
	} else {
		vlan = key->tagged ? vid : vin->native;
		if (!vlan_allowed(vin, vlan))
			return VSW_DROP_VLAN_FILTERED;
	}
	key->vlan = vlan;
	return -1;
}

/*
 * The MAC table work of the previous frame of one burst (one in port, one
 * bridge, one clock value): the frames of a burst mostly share their
 * addresses, and repeating a learn or lookup of the same key would find
 * what the previous one left. 0 (no valid key has it) means none.
 */
struct sw_fdb_memo {
	uint64_t src;	   /* key learned (or refreshed) on the in port */
	uint64_t dst;	   /* key looked up ... */
	uint32_t dst_port; /* ... and its result */
};

/*
 * The "normal" learning-switch decision for one frame. Learns the source
 * as a side effect.
 */
static inline struct sw_action
sw_normal(struct sw_pmd *pmd, struct sw_bridge *br, const struct sw_key *key,
	  const struct vsw_port *in, uint32_t now, struct sw_fdb_memo *m)
{
	struct sw_action a = {.kind = SW_ACT_FLOOD};
	uint64_t k;
	uint32_t out;

	if (!(key->src[0] & 1)) {
		k = sw_fdb_key(key->vlan, key->src);
		if (k != m->src) {
			int r = sw_fdb_learn(&br->fdb, k, in->id, now);

			if (vsw_unlikely(r != 0))
				vsw_ctr_add(r > 0 ? &pmd->st.fdb_learned
						 : &pmd->st.fdb_full,
					   1);
			/* a full bucket is retried (and counted) per frame */
			m->src = r >= 0 ? k : 0;
			/* the learn may have moved the remembered dst */
			if (k == m->dst)
				m->dst = 0;
		}
	}
	if (key->dst[0] & 1)
		return a;
	k = sw_fdb_key(key->vlan, key->dst);
	if (k != m->dst) {
		m->dst = k;
		m->dst_port = sw_fdb_lookup(&br->fdb, k);
	}
	out = m->dst_port;
	if (out == 0)
		return a;
	if (out == in->id) {
		a.kind = SW_ACT_DROP;
		a.reason = VSW_DROP_NO_DEST;
		return a;
	}
	a.kind = SW_ACT_OUTPUT;
	a.port = (uint16_t)out;
	return a;
}

static inline void sw_out_add(struct sw_pmd *pmd, struct vsw_port *port,
			      unsigned idx, int tag)
{
	uint16_t s = pmd->slot_of[port->id];
	struct sw_out *o;

	if (s == 0xffff) {
		s = (uint16_t)pmd->n_outs++;
		pmd->slot_of[port->id] = s;
		o = &pmd->outs[s];
		o->port = port;
		o->n = 0;
	} else {
		o = &pmd->outs[s];
	}
	o->ent[o->n++] = (uint8_t)(idx | (tag ? SW_OUT_TAG : 0));
}

/* See switch_priv.h. */
unsigned sw_tx_n(struct sw_pmd *pmd, struct vsw_port *port,
		 struct vsw_pkt *const *pkts, unsigned n, uint64_t bytes,
		 int reason)
{
	uint32_t info = vsw_load_relaxed(&port->txq_info);
	unsigned nq = info & SW_TXQ_NMASK;
	struct vsw_pkt *ok[VSW_PORT_BURST];
	unsigned q, k = 0, i;
	uint64_t offered;
	struct sw_txq *t;
	bool lock;

	if (vsw_unlikely(nq == 0)) {
		/* no txq at all: count on txq 0, shared by every thread */
		q = 0;
		lock = true;
		reason = VSW_DROP_TX_DOWN;
	} else {
		q = pmd->idx % nq;
		lock = info & SW_TXQ_LOCK;
	}
	t = &port->txq[q];
	if (lock)
		sw_lock(&t->lock);
	if (reason < 0 && !vsw_load_relaxed(&port->link))
		reason = VSW_DROP_TX_DOWN;
	if (reason < 0) {
		/* Relaxed: the test only; sw_shape_burst() acquires. */
		if (vsw_unlikely(vsw_load_relaxed(&port->shape) != NULL)) {
			unsigned m = sw_shape_burst(pmd, port, pkts, n, ok,
						    &bytes);

			if (m < n)
				vsw_ctr_add(&t->st.drops[VSW_DROP_TX_RATE],
					    n - m);
			pkts = ok;
			n = m;
		}
		offered = bytes;
		/* Relaxed: the test only; sw_capture_burst() acquires. */
		if (vsw_unlikely(vsw_load_relaxed(&port->cap) != NULL))
			sw_capture_burst(port, VSW_CAPTURE_OUT, pkts, n);
		k = n != 0 ? port->ops->send(port, q, pkts, n) : 0;
		if (k > n)
			k = n;
		if (vsw_unlikely(k < n)) {
			for (bytes = 0, i = 0; i < k; i++)
				bytes += pkts[i]->len;
			if (pkts == ok)
				sw_shape_refund(pmd, port, offered - bytes);
		}
		vsw_ctr_add(&t->st.packets, k);
		vsw_ctr_add(&t->st.bytes, bytes);
		reason = VSW_DROP_TX_FULL;
	}
	if (k < n)
		vsw_ctr_add(&t->st.drops[reason], n - k);
	if (lock)
		sw_unlock(&t->lock);
	return k;
}

/* sw_tx_n() for frames whose bytes are not summed yet. */
static void sw_tx(struct sw_pmd *pmd, struct vsw_port *port,
		  struct vsw_pkt *const *pkts, unsigned n, int reason)
{
	uint64_t bytes = 0;
	unsigned i;

	if (reason < 0)
		for (i = 0; i < n; i++)
			bytes += pkts[i]->len;
	sw_tx_n(pmd, port, pkts, n, bytes, reason);
}

/* Send each output's entries whose wanted tag state is `tagged`. */
static void sw_flush_pass(struct sw_pmd *pmd, struct vsw_pkt **pkts,
			  const uint8_t *orig, const uint8_t *bad, bool second)
{
	struct vsw_pkt *tmp[VSW_PORT_BURST];
	unsigned s, i;

	for (s = 0; s < pmd->n_outs; s++) {
		struct sw_out *o = &pmd->outs[s];
		unsigned k = 0, nbad = 0;
		uint64_t bytes = 0;

		for (i = 0; i < o->n; i++) {
			unsigned idx = o->ent[i] & ~SW_OUT_TAG;
			bool want = o->ent[i] & SW_OUT_TAG;

			if ((want == orig[idx]) == second)
				continue;
			if (second && bad[idx])
				nbad++;
			else
				bytes += (tmp[k++] = pkts[idx])->len;
		}
		if (k != 0)
			sw_tx_n(pmd, o->port, tmp, k, bytes, -1);
		if (nbad != 0)
			sw_tx(pmd, o->port, NULL, nbad, VSW_DROP_TX_ERROR);
	}
}

/*
 * Stage 3: send every output group (frames as they are, then the ones
 * changing tag state), forget the groups, free the burst.
 */
static void sw_flush_burst(struct sw_pmd *pmd, struct vsw_pkt **pkts,
			   unsigned n, const uint8_t *orig, const uint8_t *flip,
			   uint8_t *bad, const uint16_t *vlans, bool any_flip)
{
	unsigned i, s;

	/* pass 1: every output that wants the frame as it is */
	sw_flush_pass(pmd, pkts, orig, bad, false);
	if (any_flip) {
		for (i = 0; i < n; i++) {
			if (!flip[i])
				continue;
			if (orig[i])
				vlan_pop(pkts[i]);
			else if (!vlan_push(pkts[i], vlans[i]))
				bad[i] = 1;
		}
		/* pass 2: the outputs that wanted the other tag state */
		sw_flush_pass(pmd, pkts, orig, bad, true);
	}
	for (s = 0; s < pmd->n_outs; s++)
		pmd->slot_of[pmd->outs[s].port->id] = 0xffff;
	vsw_pkt_free_burst(pkts, n);
}

static void sw_count_rx(struct sw_rxq *rq, unsigned n, uint64_t bytes,
			const uint64_t *drops)
{
	unsigned i;

	vsw_ctr_add(&rq->st.packets, n);
	vsw_ctr_add(&rq->st.bytes, bytes);
	for (i = 0; i < VSW_DROP__COUNT; i++)
		if (drops[i] != 0)
			vsw_ctr_add(&rq->st.drops[i], drops[i]);
}

/*
 * The VLAN frame pkt belongs to on the bridge, as the in port's filter
 * reads it (for the mirrors of the flow path); SW_MIRROR_NOVLAN for a
 * runt.
 */
static uint16_t sw_frame_vlan(const struct vsw_pkt *pkt,
			      const struct sw_vlan *vin)
{
	const uint8_t *d = vsw_pkt_data(pkt);
	uint16_t vid;

	if (pkt->len < ETH_HLEN_)
		return SW_MIRROR_NOVLAN;
	if (((unsigned)d[12] << 8 | d[13]) == TPID_8021Q) {
		if (pkt->len < ETH_HLEN_ + VLAN_HLEN_)
			return SW_MIRROR_NOVLAN;
		vid = ((unsigned)d[14] << 8 | d[15]) & 0xfff;
		if (vid != 0)
			return vid;
	}
	return vin->access ? vin->tag : vin->native;
}

/*
 * A burst received on a mirror's output port: counted, dropped (no_dest),
 * as Open vSwitch discards what arrives on one.
 */
static void sw_drop_mirror_out(struct sw_rxq *rq, struct vsw_pkt **pkts,
			       unsigned n)
{
	uint64_t drops[VSW_DROP__COUNT] = {0}, bytes = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		bytes += pkts[i]->len;
	drops[VSW_DROP_NO_DEST] = n;
	sw_count_rx(rq, n, bytes, drops);
	vsw_pkt_free_burst(pkts, n);
}

/* ---- the flow table path ---- */

/* The frame carries an 802.1Q header now. */
static inline uint8_t sw_is_tagged(const struct vsw_pkt *pkt)
{
	const uint8_t *d = vsw_pkt_data(pkt);

	return pkt->len >= ETH_HLEN_ + VLAN_HLEN_ &&
	       ((unsigned)d[12] << 8 | d[13]) == TPID_8021Q;
}

/*
 * Send one frame to port right now, in the tag state `want` (it is in
 * `tagged`; vlan is what a pushed tag carries), and put it back as it was.
 */
static void sw_send_now(struct sw_pmd *pmd, struct vsw_port *port,
			struct vsw_pkt *pkt, int want, int tagged,
			uint16_t vlan)
{
	const uint8_t *d;
	uint16_t tci;

	if (want == tagged) {
		sw_tx(pmd, port, &pkt, 1, -1);
	} else if (tagged) {
		d = vsw_pkt_data(pkt);
		tci = (uint16_t)((unsigned)d[14] << 8 | d[15]);
		vlan_pop(pkt);
		sw_tx(pmd, port, &pkt, 1, -1);
		if (!vlan_push(pkt, tci))
			abort(); /* the pop just freed that headroom */
	} else if (vlan_push(pkt, vlan)) {
		sw_tx(pmd, port, &pkt, 1, -1);
		vlan_pop(pkt);
	} else {
		sw_tx(pmd, port, NULL, 1, VSW_DROP_TX_ERROR);
	}
}

/* Per-frame state of the flow path's stage 3 bookkeeping. */
struct sw_fl {
	struct vsw_pkt **pkts;
	uint8_t orig[VSW_PORT_BURST], flip[VSW_PORT_BURST];
	uint8_t bad[VSW_PORT_BURST];
	uint16_t vlans[VSW_PORT_BURST];
	bool any_flip;
	struct sw_fdb_memo memo; /* NORMAL's, for the whole burst */
	const struct vsw_flow_rule *rule; /* the frame's (CONTROLLER) */
	const struct sw_bridge *br;
	uint16_t in_of; /* the in port's ofport (CONTROLLER) */
};

/*
 * Queue frame i for port in tag state want (the frame is in `tagged`); a
 * group already holding a whole burst (a frame sent twice to one port)
 * sends at once.
 */
static void sw_fl_out(struct sw_pmd *pmd, struct sw_fl *b, unsigned i,
		      struct vsw_port *port, int want, int tagged)
{
	uint16_t s = pmd->slot_of[port->id];

	if (vsw_unlikely(s != 0xffff && pmd->outs[s].n == VSW_PORT_BURST)) {
		sw_send_now(pmd, port, b->pkts[i], want, tagged, b->vlans[i]);
		return;
	}
	sw_out_add(pmd, port, i, want);
	b->flip[i] |= want != tagged;
}

/* The port an OUTPUT action names, or NULL (gone, or the in port). */
static inline struct vsw_port *sw_of_port(const struct sw_flood *fl,
					  const struct vsw_port *in,
					  uint16_t of)
{
	struct vsw_port *p;

	if (of == VSW_FLOW_PORT_LOCAL)
		p = fl->local;
	else
		p = of < fl->n_of ? fl->by_of[of] : NULL;
	return p == in ? NULL : p;
}

/*
 * true if the frame can go through the grouped outputs: edits before every
 * output, NORMAL (which may remove a priority tag) first among them.
 */
static bool sw_acts_grouped(const struct vsw_flow_actions *a)
{
	bool out = false;
	unsigned k;

	if (a->flags & (VSW_FLOW_ACTS_EDIT_AFTER_OUT | VSW_FLOW_ACTS_GOTO))
		return false;
	for (k = 0; k < a->n; k++) {
		switch (a->a[k].type) {
		case VSW_FLOW_ACT_NORMAL:
			if (out)
				return false;
			out = true;
			break;
		case VSW_FLOW_ACT_OUTPUT:
		case VSW_FLOW_ACT_IN_PORT:
		case VSW_FLOW_ACT_FLOOD:
		case VSW_FLOW_ACT_ALL:
			out = true;
			break;
		default:
			break;
		}
	}
	return true;
}

/*
 * NORMAL for frame i: VLAN ingress, learning, the decision; each output
 * queued (grouped) or sent now. Returns true if it went anywhere, else
 * *reason says why not.
 */
static bool sw_fl_normal(struct sw_pmd *pmd, struct sw_fl *b, unsigned i,
			 struct vsw_port *in, const struct sw_vlan *vin,
			 const struct sw_flood *fl, uint32_t now, bool grouped,
			 int *reason)
{
	struct vsw_switch *sw = pmd->sw;
	struct vsw_pkt *pkt = b->pkts[i];
	struct sw_key key;
	struct sw_action a;
	struct vsw_port *out;
	bool sent = false;
	unsigned j;
	int r, tag;

	r = sw_parse(pkt, vin, &key);
	if (r >= 0) {
		*reason = r;
		return false;
	}
	b->vlans[i] = key.vlan;
	a = sw_normal(pmd, in->br, &key, in, now, &b->memo);
	if (a.kind == SW_ACT_DROP) {
		*reason = a.reason;
		return false;
	}
	for (j = 0; j < (a.kind == SW_ACT_FLOOD ? fl->n : 1u); j++) {
		if (a.kind == SW_ACT_FLOOD) {
			out = fl->ports[j];
			if (out == in)
				continue;
		} else {
			/* Acquire pairs with the release in port add. */
			out = vsw_load_acquire(&sw->ports[a.port]);
			if (out == NULL || out->br != in->br)
				break;
		}
		tag = vlan_out(vsw_load_acquire(&out->vlan), key.vlan);
		if (tag < 0)
			continue;
		if (grouped)
			sw_fl_out(pmd, b, i, out, tag, key.tagged);
		else
			sw_send_now(pmd, out, pkt, tag, key.tagged, key.vlan);
		sent = true;
	}
	if (!sent)
		*reason = VSW_DROP_NO_DEST;
	return sent;
}

/*
 * Run the actions of frame i. grouped: outputs join the burst's groups
 * (sw_acts_grouped() said so); else each is sent as the frame is at that
 * point. Returns true if a copy went somewhere, else *reason.
 */
static bool sw_fl_exec(struct sw_pmd *pmd, struct sw_fl *b, unsigned i,
		       const struct vsw_flow_actions *acts, struct vsw_port *in,
		       const struct sw_vlan *vin, const struct sw_flood *fl,
		       uint32_t now, bool grouped, int *reason)
{
	struct vsw_pkt *pkt = b->pkts[i];
	bool sent = false;
	int tagged = -1;
	unsigned k, j;

	for (k = 0; k < acts->n; k++) {
		const struct vsw_flow_act *a = &acts->a[k];
		struct vsw_port *out = NULL;

		switch (a->type) {
		case VSW_FLOW_ACT_NORMAL:
			/* a packet-out without an in port: NORMAL floods */
			if (vsw_unlikely(in == NULL))
				goto flood;
			if (sw_fl_normal(pmd, b, i, in, vin, fl, now, grouped,
					 reason))
				sent = true;
			tagged = -1;
			continue;
		case VSW_FLOW_ACT_OUTPUT:
			out = sw_of_port(fl, in, a->arg);
			break;
		case VSW_FLOW_ACT_IN_PORT:
			out = in;
			break;
		case VSW_FLOW_ACT_CONTROLLER:
			/* a copy as it is now; the frame goes on */
			sw_pin_push(pmd, b->br, b->in_of, b->rule, pkt,
				    a->arg);
			sent = true;
			continue;
		case VSW_FLOW_ACT_FLOOD:
		case VSW_FLOW_ACT_ALL:
		flood:
			if (tagged < 0)
				tagged = sw_is_tagged(pkt);
			for (j = 0; j < fl->n; j++) {
				if (fl->ports[j] == in)
					continue;
				if (grouped)
					sw_fl_out(pmd, b, i, fl->ports[j],
						  tagged, tagged);
				else
					sw_tx(pmd, fl->ports[j], &pkt, 1, -1);
				sent = true;
			}
			continue;
		case VSW_FLOW_ACT_GOTO_TABLE:
			continue; /* the caller's (sw_fl_pipeline) */
		default:
			/* an edit; -ENOSPC leaves the frame unchanged */
			(void)vsw_flow_act_edit(pkt, a);
			tagged = -1;
			continue;
		}
		if (out == NULL)
			continue;
		if (tagged < 0)
			tagged = sw_is_tagged(pkt);
		if (grouped)
			sw_fl_out(pmd, b, i, out, tagged, tagged);
		else
			sw_tx(pmd, out, &pkt, 1, -1);
		sent = true;
	}
	/* tagged >= 0: nothing changed the frame since it was read */
	if (grouped)
		b->orig[i] = tagged >= 0 ? tagged : sw_is_tagged(pkt);
	return sent;
}

/*
 * Frame i's walk through the tables after its table 0 rule's actions
 * @acts ended in goto_table (slow path, frame by frame, outputs sent as
 * they come): each next table's classifier on the key of the frame as the
 * actions so far left it, its rule counted, its actions run. A table with
 * no matching rule ends the walk (OpenFlow 1.3's table miss: drop). The
 * table only rises (vsw_flow_table_add checks it), so the walk ends.
 */
static bool sw_fl_pipeline(struct sw_pmd *pmd, struct sw_fl *b, unsigned i,
			   const struct vsw_flow_actions *acts,
			   struct vsw_port *in, const struct sw_vlan *vin,
			   const struct sw_flood *fl, uint16_t ofport,
			   uint64_t now64, int *reason)
{
	const struct vsw_flow_table *t = in->br->flows;
	struct vsw_pkt *pkt = b->pkts[i];
	unsigned table = 0;
	bool sent = false;

	for (;;) {
		struct vsw_flow_key key;
		struct vsw_flow_rule *r;
		unsigned next;

		if (sw_fl_exec(pmd, b, i, acts, in, vin, fl, (uint32_t)now64,
			       false, reason))
			sent = true;
		if (!(acts->flags & VSW_FLOW_ACTS_GOTO))
			break;
		next = acts->a[acts->n - 1].arg;
		if (vsw_unlikely(next <= table))
			break; /* never: the table refuses such a rule */
		table = next;
		vsw_flow_key_parse(vsw_pkt_data(pkt), pkt->len, ofport, &key);
		if (pkt->flags & VSW_PKT_F_TUN) /* as table 0's key has them */
			vsw_flow_key_tun(pkt, &key);
		r = vsw_flow_lookup_table(t, table, &key);
		if (r == NULL)
			break;
		vsw_flow_rule_account(r, 1, pkt->len, now64);
		b->rule = r; /* a packet-in's cookie and reason: this rule's */
		acts = vsw_flow_rule_actions(r);
	}
	return sent;
}

/* A burst through the flow table (see the top of the file). */
static void sw_forward_flows(struct sw_pmd *pmd, struct vsw_port *in,
			     struct sw_rxq *rq, const struct sw_vlan *vin,
			     const struct sw_flood *fl, struct vsw_pkt **pkts,
			     unsigned n, uint64_t now64)
{
	struct sw_bridge *br = in->br;
	struct vsw_flow_emc *emc = br->emc[pmd->idx];
	/* per distinct key (a run of equal keys is one) */
	struct vsw_flow_key keys[VSW_PORT_BURST];
	uint32_t hashes[VSW_PORT_BURST];
	struct vsw_flow_rule *rules[VSW_PORT_BURST];
	/* per parsed frame: its index in pkts, its key's index in keys */
	uint8_t kidx[VSW_PORT_BURST], kkey[VSW_PORT_BURST];
	struct vsw_flow_rule *dr[VSW_PORT_BURST];
	uint64_t dpk[VSW_PORT_BURST], dby[VSW_PORT_BURST];
	uint64_t drops[VSW_DROP__COUNT] = {0};
	uint64_t bytes = 0;
	struct sw_fl b;
	/* the flood snapshot's number for it, as its outputs are numbered */
	uint16_t ofport = fl->of_by_id[in->id];
	const struct vsw_flow_actions *acts = NULL;
	unsigned i, m = 0, u = 0, k, nd = 0, d = 0, last = ~0u;
	bool grouped = false, tun, prev_tun = false;

	b.pkts = pkts;
	b.any_flip = false;
	b.memo = (struct sw_fdb_memo){0};
	b.in_of = ofport;
	b.br = br;
	/*
	 * Only keys[0..u) and hashes[0..u) are read, but gcc 12 cannot tell
	 * (-Wmaybe-uninitialized on the const arguments, once sw_fdb_key() is
	 * inlined): one element written keeps it quiet.
	 */
	hashes[0] = 0;
	memset(&keys[0], 0, sizeof(keys[0]));
	pmd->n_outs = 0;
	memset(b.flip, 0, n * sizeof(b.flip[0]));
	memset(b.bad, 0, n * sizeof(b.bad[0]));
	memset(b.orig, 0, n * sizeof(b.orig[0]));
	memset(b.vlans, 0, n * sizeof(b.vlans[0]));
	for (i = 0; i < n; i++) {
		struct vsw_pkt *pkt = pkts[i];

		pkt->in_port = in->id;
		bytes += pkt->len;
		if (vsw_unlikely(pkt->len < ETH_HLEN_)) {
			drops[VSW_DROP_BAD_FRAME]++;
			continue;
		}
		/*
		 * A frame with the key of the frame before it gets that
		 * frame's rule: no hash, no cache probe (one flow per
		 * burst is the common case).
		 */
		vsw_flow_key_parse(vsw_pkt_data(pkt), pkt->len, ofport,
				   &keys[u]);
		/*
		 * tun_id, tun_src ... of a frame out of a tunnel port; when
		 * neither this frame nor the one before had any, the tunnel
		 * words of both keys are zero and need no compare.
		 */
		tun = (pkt->flags & VSW_PKT_F_TUN) != 0;
		if (vsw_unlikely(tun))
			vsw_flow_key_tun(pkt, &keys[u]);
		if (u == 0 ||
		    !((tun | prev_tun) ? vsw_flow_key_eq_ext(&keys[u],
							 &keys[u - 1])
				       : vsw_flow_key_eq_notun(&keys[u],
							       &keys[u - 1]))) {
			hashes[u] = vsw_flow_key_hash(&keys[u]);
			u++;
			prev_tun = tun;
		}
		kkey[m] = (uint8_t)(u - 1);
		kidx[m++] = (uint8_t)i;
	}
	vsw_flow_emc_lookup_burst(emc, keys, hashes, u, rules);
	if (m > u)
		vsw_flow_emc_note_hits(emc, m - u);
	/* counters: once per distinct rule of the burst */
	for (k = 0; k < m; k++) {
		struct vsw_flow_rule *r = rules[kkey[k]];

		if (r == NULL)
			continue;
		if (nd == 0 || dr[d] != r) {
			for (d = 0; d < nd && dr[d] != r; d++)
				;
			if (d == nd) {
				dr[nd] = r;
				dpk[nd] = 0;
				dby[nd++] = 0;
			}
		}
		dpk[d]++;
		dby[d] += pkts[kidx[k]]->len;
	}
	for (k = 0; k < nd; k++)
		vsw_flow_rule_account(dr[k], dpk[k], dby[k], now64);
	/* the frame-by-frame sends below pay max-rate once per port */
	sw_shape_credit_begin(pmd, bytes, n);
	for (k = 0; k < m; k++) {
		int reason = VSW_DROP_NO_DEST;

		i = kidx[k];
		if (rules[kkey[k]] == NULL) {
			drops[VSW_DROP_NO_DEST]++;
			continue;
		}
		if (kkey[k] != last) {
			last = kkey[k];
			acts = vsw_flow_rule_actions(rules[last]);
			grouped = sw_acts_grouped(acts);
		}
		b.rule = rules[last];
		if (vsw_unlikely(acts->flags & VSW_FLOW_ACTS_GOTO)) {
			if (!sw_fl_pipeline(pmd, &b, i, acts, in, vin, fl,
					    ofport, now64, &reason))
				drops[reason]++;
			continue;
		}
		if (!sw_fl_exec(pmd, &b, i, acts, in, vin, fl, (uint32_t)now64,
				grouped, &reason))
			drops[reason]++;
		b.any_flip |= b.flip[i];
	}
	sw_shape_credit_end(pmd);
	sw_count_rx(rq, n, bytes, drops);
	if (vsw_unlikely(fl->mir != NULL)) {
		/*
		 * The frames a rule took, in the VLAN they are in now (not in
		 * b.vlans: the flush pushes the tags NORMAL chose from it).
		 */
		uint16_t mv[VSW_PORT_BURST];

		for (i = 0; i < n; i++)
			mv[i] = SW_MIRROR_NOVLAN;
		for (k = 0; k < m; k++)
			if (rules[kkey[k]] != NULL)
				mv[kidx[k]] = sw_frame_vlan(pkts[kidx[k]], vin);
		sw_mirror_burst(pmd, fl, in, pkts, n, mv);
	}
	sw_flush_burst(pmd, pkts, n, b.orig, b.flip, b.bad, b.vlans,
		       b.any_flip);
}

/* Forward one received burst of in's rxq. */
void sw_forward(struct sw_pmd *pmd, struct vsw_port *in, unsigned rxq,
		struct vsw_pkt **pkts, unsigned n)
{
	struct vsw_switch *sw = pmd->sw;
	struct sw_bridge *br = in->br;
	struct sw_rxq *rq = &in->rxq[rxq];
	const struct sw_vlan *vin;
	const struct sw_flood *fl;
	struct vsw_flow_rule *rule0;
	uint8_t orig[VSW_PORT_BURST], flip[VSW_PORT_BURST];
	uint8_t bad[VSW_PORT_BURST];
	uint16_t vlans[VSW_PORT_BURST];
	uint64_t drops[VSW_DROP__COUNT] = {0};
	struct sw_fdb_memo memo = {0};
	uint64_t bytes = 0, runt_bytes = 0, now64;
	bool any_flip = false;
	uint32_t now;
	unsigned i, j;

	/* Relaxed: the test only; sw_capture_burst() acquires. */
	if (vsw_unlikely(vsw_load_relaxed(&in->cap) != NULL))
		sw_capture_burst(in, VSW_CAPTURE_IN, pkts, n);
	/* Relaxed: the test only; sw_police_burst() acquires. */
	if (vsw_unlikely(vsw_load_relaxed(&in->police) != NULL)) {
		n = sw_police_burst(in, rq, pkts, n);
		if (n == 0)
			return;
	}
	/* Acquire pairs with the release stores in switch.c publishing them. */
	vin = vsw_load_acquire(&in->vlan);
	fl = vsw_load_acquire(&br->flood);
	if (vsw_unlikely(fl->mir != NULL) && sw_mset_is_out(fl->mir, in->id)) {
		sw_drop_mirror_out(rq, pkts, n);
		return;
	}
	now64 = sw_now_ms(sw);
	now = (uint32_t)now64;
	/* Acquire pairs with the release stores in flows.c. */
	rule0 = vsw_load_acquire(&br->normal_rule);
	/* Relaxed: a flag (W7); fail-open forwards as normal (ofctl.c). */
	if (vsw_unlikely(rule0 == NULL) &&
	    !vsw_load_relaxed(&br->fail_open)) {
		sw_forward_flows(pmd, in, rq, vin, fl, pkts, n, now64);
		return;
	}
	for (i = 0; i < n; i++) {
		__builtin_prefetch(vsw_pkt_data(pkts[i]));
		bytes += pkts[i]->len;
	}
	pmd->n_outs = 0;
	for (i = 0; i < n; i++) {
		struct vsw_pkt *pkt = pkts[i];
		struct sw_key key;
		struct sw_action a;
		struct vsw_port *out;
		int r, tag;
		bool sent = false;

		pkt->in_port = in->id;
		flip[i] = 0;
		bad[i] = 0;
		r = sw_parse(pkt, vin, &key);
		if (vsw_unlikely(r >= 0)) {
			drops[r]++;
			vlans[i] = SW_MIRROR_NOVLAN;
			if (r == VSW_DROP_BAD_FRAME)
				runt_bytes += pkt->len;
			continue;
		}
		orig[i] = key.tagged;
		vlans[i] = key.vlan;
		a = sw_normal(pmd, br, &key, in, now, &memo);
		if (a.kind == SW_ACT_OUTPUT) {
			/* Acquire pairs with the release in port add. */
			out = vsw_load_acquire(&sw->ports[a.port]);
			if (out != NULL && out->br == br) {
				tag = vlan_out(vsw_load_acquire(&out->vlan),
					       key.vlan);
				if (tag >= 0) {
					sw_out_add(pmd, out, i, tag);
					flip[i] |= tag != key.tagged;
					sent = true;
				}
			}
			if (!sent)
				drops[VSW_DROP_NO_DEST]++;
		} else if (a.kind == SW_ACT_FLOOD) {
			for (j = 0; j < fl->n; j++) {
				out = fl->ports[j];
				if (out == in)
					continue;
				tag = vlan_out(vsw_load_acquire(&out->vlan),
					       key.vlan);
				if (tag < 0)
					continue;
				sw_out_add(pmd, out, i, tag);
				flip[i] |= tag != key.tagged;
				sent = true;
			}
			if (!sent)
				drops[VSW_DROP_NO_DEST]++;
		} else {
			drops[a.reason]++;
		}
		any_flip |= flip[i];
	}
	sw_count_rx(rq, n, bytes, drops);
	/* the rule's counters, as if each frame had been looked up */
	if (vsw_likely(rule0 != NULL))
		vsw_flow_rule_account(rule0, n - drops[VSW_DROP_BAD_FRAME],
				      bytes - runt_bytes, now64);
	vsw_ctr_add(&pmd->st.fast_normal, n);
	if (vsw_unlikely(fl->mir != NULL))
		sw_mirror_burst(pmd, fl, in, pkts, n, vlans);
	sw_flush_burst(pmd, pkts, n, orig, flip, bad, vlans, any_flip);
}

/* ---- packet-out (ofctl.c queues them, the thread runs them here) ---- */

void sw_packet_out_exec(struct sw_pmd *pmd, struct sw_bridge *br,
			uint16_t in_port, const struct vsw_flow_act *acts,
			unsigned n_acts, const uint8_t *frame, uint32_t len)
{
	/* Acquire pairs with the release stores in switch.c publishing it. */
	const struct sw_flood *fl = vsw_load_acquire(&br->flood);
	struct vsw_flow_actions *run;
	struct vsw_port *in = NULL;
	const struct sw_vlan *vin = NULL;
	struct vsw_flow_key key;
	struct vsw_pkt *pkt;
	struct sw_fl b;
	uint8_t *d;
	unsigned k;
	int reason = VSW_DROP_NO_DEST;
	union {
		struct vsw_flow_actions h;
		uint8_t raw[sizeof(struct vsw_flow_actions) +
			    64 * sizeof(struct vsw_flow_act)];
	} u;

	if (in_port != VSW_FLOW_PORT_CONTROLLER) {
		in = sw_of_port(fl, NULL, in_port);
		if (in == NULL)
			return; /* the port went away: nothing to send */
		/* Acquire pairs with vsw_switch_set_port_vlan()'s release. */
		vin = vsw_load_acquire(&in->vlan);
	}
	pkt = vsw_pkt_alloc_len(pmd->pool, len);
	if (pkt == NULL) {
		vsw_ctr_add(&pmd->pout.drops, 1);
		return;
	}
	d = vsw_pkt_append(pkt, len);
	if (d == NULL) {
		vsw_pkt_free(pkt);
		vsw_ctr_add(&pmd->pout.drops, 1);
		return;
	}
	memcpy(d, frame, len);
	pkt->in_port = in != NULL ? in->id : 0;
	memset(&b, 0, sizeof(b));
	b.pkts = &pkt;
	b.in_of = in_port;
	b.br = br;
	run = &u.h;
	run->n = 0;
	run->flags = 0;
	for (k = 0; k < n_acts && k < 64; k++) {
		struct vsw_flow_act a = acts[k];

		/* no in port: NORMAL has nothing to learn, it floods */
		if (in == NULL && a.type == VSW_FLOW_ACT_NORMAL)
			a.type = VSW_FLOW_ACT_FLOOD;
		if (a.type == VSW_FLOW_ACT_OUTPUT &&
		    a.arg == VSW_FLOW_PORT_TABLE) {
			/* what came before, then the table's rule for it */
			if (run->n != 0)
				(void)sw_fl_exec(pmd, &b, 0, run, in, vin, fl,
						 (uint32_t)sw_now_ms(pmd->sw),
						 false, &reason);
			run->n = 0;
			vsw_flow_key_parse(vsw_pkt_data(pkt), pkt->len,
					   in != NULL ? in_port : 0, &key);
			b.rule = vsw_flow_lookup(br->flows, &key);
			if (b.rule != NULL) {
				vsw_flow_rule_account(
					(struct vsw_flow_rule *)b.rule, 1,
					pkt->len, sw_now_ms(pmd->sw));
				(void)sw_fl_exec(pmd, &b, 0,
						 vsw_flow_rule_actions(b.rule),
						 in, vin, fl,
						 (uint32_t)sw_now_ms(pmd->sw),
						 false, &reason);
			}
			b.rule = NULL;
			continue;
		}
		run->a[run->n++] = a;
	}
	if (run->n != 0)
		(void)sw_fl_exec(pmd, &b, 0, run, in, vin, fl,
				 (uint32_t)sw_now_ms(pmd->sw), false, &reason);
	vsw_pkt_free(pkt);
}
