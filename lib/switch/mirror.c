/* SPDX-License-Identifier: MIT */
/*
 * Port mirrors (see vsw/switch.h for what they select and where the copies
 * go, as Open vSwitch's Mirror table does it).
 *
 * Control side: a bridge keeps its mirrors by name (br->mirrors, control
 * thread); ports are named, so a mirror survives its ports going and
 * coming. Whenever the bridge's port set is published (sw_flood_publish:
 * a port added or deleted, an ofport changed) or a mirror is added or
 * deleted, the mirrors are resolved against the ports of that moment into
 * a struct sw_mset in the same allocation as the port set, and published
 * with it (release store of br->flood, acquire load in sw_forward; freed
 * after a grace period like every port set). A bridge without an active
 * mirror has fl->mir NULL: the data path tests that pointer once per
 * burst, nothing else.
 *
 * Data side (sw_mirror_burst, once per burst, before the outputs are
 * flushed): a mask of mirrors per frame (the in port's select-src mask,
 * or-ed with the select-dst mask of each output group the frame is in,
 * filtered by each mirror's VLAN set), then per selected mirror each
 * frame as the output wants it: the frame itself when its tag state is
 * right already (ports copy what they send, as a flood does), else a copy
 * from the thread's pool with the 802.1Q tag written during the copy; and
 * one send per output port. No lock (but a shared txq's), no system call,
 * no allocation beyond the pool.
 *
 * Counters: per mirror, one cache line per data thread (single writer,
 * relaxed stores), summed by the control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switch_priv.h"

struct sw_mirror_ctr {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;
} __attribute__((aligned(VSW_CACHE_LINE)));

struct sw_mirror {
	struct sw_mirror_ctr ctr[VSW_SWITCH_MAX_THREADS]; /* [pmd idx] */
	/* control thread only */
	struct sw_mirror *next;
	char name[VSW_MIRROR_NAME_MAX];
	bool select_all;
	uint16_t out_vlan;
	char out[VSW_PORT_NAME_MAX]; /* "" : out_vlan */
	unsigned n_src, n_dst, n_vlans;
	char (*src)[VSW_PORT_NAME_MAX];
	char (*dst)[VSW_PORT_NAME_MAX];
	uint16_t *vlans;
};

/* One active mirror as resolved for one port set. */
struct sw_mset_ent {
	struct sw_mirror *m;  /* its counters */
	struct vsw_port *out; /* output port, or NULL: out_vlan */
	uint16_t out_vlan;
	bool all_vlans;
	uint64_t vlans[SW_VLAN_MAX / 64];
};

/* The mirrors of a bridge for one port set (immutable once published). */
struct sw_mset {
	unsigned n;
	uint32_t vlan_limited;			/* mirrors with a VLAN set */
	uint32_t src[VSW_SWITCH_MAX_PORTS + 1]; /* by port id: mirror bits */
	uint32_t dst[VSW_SWITCH_MAX_PORTS + 1];
	uint8_t is_out[VSW_SWITCH_MAX_PORTS + 1];
	struct sw_mset_ent e[VSW_MIRROR_MAX];
};

/* ---- resolution (control thread) ---- */

size_t sw_mset_bytes(const struct sw_bridge *br)
{
	return br->mirrors != NULL ? sizeof(struct sw_mset) : 0;
}

/* The port named so in br (not skip), or NULL. */
static struct vsw_port *sw_mirror_port(struct vsw_switch *sw,
				       const struct sw_bridge *br,
				       const char *name,
				       const struct vsw_port *skip)
{
	struct vsw_port *p = vsw_switch_port_find(sw, name);

	return p != NULL && p->br == br && p != skip ? p : NULL;
}

bool sw_mset_is_out(const struct sw_mset *ms, unsigned port_id)
{
	return ms->is_out[port_id] != 0;
}

/* Returns the number of active mirrors (0: the set is not used). */
unsigned sw_mset_build(struct vsw_switch *sw, struct sw_bridge *br,
		       const struct vsw_port *skip, struct sw_mset *ms)
{
	const struct sw_mirror *m;
	unsigned i, id;

	memset(ms, 0, sizeof(*ms));
	for (m = br->mirrors; m != NULL; m = m->next) {
		struct sw_mset_ent *e = &ms->e[ms->n];
		uint32_t bit = 1u << ms->n;
		struct vsw_port *p = NULL;

		if (m->out[0] != '\0') {
			p = sw_mirror_port(sw, br, m->out, skip);
			if (p == NULL)
				continue; /* inactive until it exists */
		}
		e->m = (struct sw_mirror *)m;
		e->out = p;
		e->out_vlan = m->out_vlan;
		e->all_vlans = m->n_vlans == 0;
		for (i = 0; i < m->n_vlans; i++)
			e->vlans[m->vlans[i] >> 6] |= 1ull
						      << (m->vlans[i] & 63);
		if (!e->all_vlans)
			ms->vlan_limited |= bit;
		if (p != NULL)
			ms->is_out[p->id] = 1;
		for (id = 1; m->select_all && id <= VSW_SWITCH_MAX_PORTS; id++)
			ms->src[id] |= bit;
		for (i = 0; i < m->n_src; i++) {
			p = sw_mirror_port(sw, br, m->src[i], skip);
			if (p != NULL)
				ms->src[p->id] |= bit;
		}
		for (i = 0; i < m->n_dst; i++) {
			p = sw_mirror_port(sw, br, m->dst[i], skip);
			if (p != NULL)
				ms->dst[p->id] |= bit;
		}
		ms->n++;
	}
	return ms->n;
}

/* ---- the data path ---- */

/*
 * A copy of pkt from pool, tagged with VLAN vid (the priority bits of a
 * tag it had kept) or, vid < 0, untagged. NULL: pool empty.
 */
static struct vsw_pkt *sw_mirror_copy(struct vsw_pkt_pool *pool,
				      const struct vsw_pkt *pkt, int vid)
{
	const uint8_t *s = vsw_pkt_data(pkt);
	bool had = pkt->len >= 18 && s[12] == 0x81 && s[13] == 0x00;
	uint32_t rest = had ? 16 : 12, tag = vid >= 0 ? 4 : 0;
	uint32_t len = 12 + tag + (pkt->len - rest);
	struct vsw_pkt *c = vsw_pkt_alloc_len(pool, len);
	uint8_t *d;
	unsigned tci;

	if (c == NULL)
		return NULL;
	d = vsw_pkt_append(c, len);
	memcpy(d, s, 12);
	if (vid >= 0) {
		tci = (had ? ((unsigned)s[14] << 8 | s[15]) & 0xf000u : 0) |
		      (unsigned)vid;
		d[12] = 0x81;
		d[13] = 0x00;
		d[14] = (uint8_t)(tci >> 8);
		d[15] = (uint8_t)tci;
	}
	memcpy(d + 12 + tag, s + rest, pkt->len - rest);
	c->vnet = pkt->vnet;
	c->in_port = pkt->in_port;
	sw_offload_shift(c, (int)tag - (had ? 4 : 0));
	return c;
}

/* Send frames[0..k) of bytes to port; the taken ones counted on ctr. */
static void sw_mirror_send(struct sw_pmd *pmd, struct vsw_port *port,
			   struct vsw_pkt *const *frames, unsigned k,
			   uint64_t bytes, struct sw_mirror_ctr *ctr)
{
	unsigned took, i;

	if (k == 0)
		return;
	took = sw_tx_n(pmd, port, frames, k, bytes, -1);
	if (took < k)
		for (bytes = 0, i = 0; i < took; i++)
			bytes += frames[i]->len;
	vsw_ctr_add(&ctr->packets, took);
	vsw_ctr_add(&ctr->bytes, bytes);
	if (took < k)
		vsw_ctr_add(&ctr->drops, k - took);
}

/* What one output of a mirror sends for a burst. */
struct sw_mirror_out {
	struct vsw_pkt *p[VSW_PORT_BURST];   /* sent: the frame or a copy */
	struct vsw_pkt *own[VSW_PORT_BURST]; /* the copy, NULL: the frame */
	unsigned k;
	unsigned copies; /* non-NULL entries of own */
	uint64_t bytes;
};

/* Free the copies o made. */
static void sw_mirror_out_free(struct sw_mirror_out *o)
{
	if (o->copies != 0)
		vsw_pkt_free_burst(o->own, o->k);
}

/*
 * The frames of sel with bit, each tagged with vid (fixed_vid, or for an
 * output port ov its egress rule for the frame's VLAN), or untagged
 * (vid < 0): the frame itself where it is so already (ports copy what
 * they send, so one packet goes to several), else a copy.
 */
static void sw_mirror_frames(struct sw_pmd *pmd, struct vsw_pkt *const *pkts,
			     unsigned n, const uint32_t *sel, uint32_t bit,
			     const uint16_t *vlans, int fixed_vid,
			     const struct sw_vlan *ov, struct sw_mirror_out *o,
			     unsigned *fail)
{
	unsigned i;

	o->k = 0;
	o->copies = 0;
	o->bytes = 0;
	for (i = 0; i < n; i++) {
		struct vsw_pkt *c = NULL, *f = pkts[i];
		const uint8_t *d = vsw_pkt_data(f);
		bool had = f->len >= 18 && d[12] == 0x81 && d[13] == 0x00;
		int vid = fixed_vid;

		if (!(sel[i] & bit))
			continue;
		if (ov != NULL)
			/* an output port: its egress rule for the VLAN */
			vid = !ov->access && vlans[i] != 0 &&
					      vlans[i] != ov->native
				      ? vlans[i]
				      : -1;
		if (vid >= 0 ? !had || (((unsigned)d[14] << 8 | d[15]) &
					0xfffu) != (unsigned)vid
			     : had) {
			c = sw_mirror_copy(pmd->pool, f, vid);
			if (vsw_unlikely(c == NULL)) {
				(*fail)++;
				continue;
			}
			f = c;
			o->copies++;
		}
		o->bytes += f->len;
		o->own[o->k] = c;
		o->p[o->k++] = f;
	}
}

/* Mirror e: the frames of sel with bit, to its port or its VLAN. */
static void sw_mirror_one(struct sw_pmd *pmd, const struct sw_flood *fl,
			  const struct vsw_port *in,
			  const struct sw_mset_ent *e, uint32_t bit,
			  struct vsw_pkt *const *pkts, unsigned n,
			  const uint32_t *sel, const uint16_t *vlans)
{
	struct sw_mirror_ctr *ctr = &e->m->ctr[pmd->idx];
	struct sw_mirror_out t = {.k = 0, .copies = 0}, u = t;
	unsigned fail = 0, j, ports = 0;
	bool want_t = false, want_u = false;

	if (e->out != NULL) {
		/* Acquire pairs with the release store in switch.c. */
		const struct sw_vlan *ov = vsw_load_acquire(&e->out->vlan);

		sw_mirror_frames(pmd, pkts, n, sel, bit, vlans, -1, ov, &t,
				 &fail);
		sw_mirror_send(pmd, e->out, t.p, t.k, t.bytes, ctr);
		sw_mirror_out_free(&t);
		if (fail != 0)
			vsw_ctr_add(&ctr->drops, fail);
		return;
	}
	/* output VLAN: which ports carry it, and how */
	for (j = 0; j < fl->n; j++) {
		const struct vsw_port *p = fl->ports[j];
		int tg;

		if (p == in)
			continue;
		/* Acquire pairs with the release store in switch.c. */
		tg = vlan_out(vsw_load_acquire(&p->vlan), e->out_vlan);
		want_t |= tg > 0;
		want_u |= tg == 0;
	}
	if (want_t)
		sw_mirror_frames(pmd, pkts, n, sel, bit, vlans, e->out_vlan,
				 NULL, &t, &fail);
	if (want_u)
		sw_mirror_frames(pmd, pkts, n, sel, bit, vlans, -1, NULL, &u,
				 &fail);
	for (j = 0; j < fl->n; j++) {
		struct vsw_port *p = fl->ports[j];
		const struct sw_mirror_out *o;
		int tg;

		if (p == in)
			continue;
		tg = vlan_out(vsw_load_acquire(&p->vlan), e->out_vlan);
		if (tg < 0)
			continue;
		o = tg > 0 ? &t : &u;
		/* per port drops are the port's tx drops */
		if (o->k != 0)
			(void)sw_tx_n(pmd, p, o->p, o->k, o->bytes, -1);
		ports++;
	}
	if (ports == 0) {
		for (j = 0; j < n; j++)
			fail += (sel[j] & bit) != 0;
	} else {
		/* a frame is mirrored once, whatever the number of ports */
		const struct sw_mirror_out *o = t.k >= u.k ? &t : &u;

		vsw_ctr_add(&ctr->packets, o->k);
		vsw_ctr_add(&ctr->bytes, o->bytes);
	}
	if (fail != 0)
		vsw_ctr_add(&ctr->drops, fail);
	sw_mirror_out_free(&t);
	sw_mirror_out_free(&u);
}

void sw_mirror_burst(struct sw_pmd *pmd, const struct sw_flood *fl,
		     const struct vsw_port *in, struct vsw_pkt *const *pkts,
		     unsigned n, const uint16_t *vlans)
{
	const struct sw_mset *ms = fl->mir;
	uint32_t sel[VSW_PORT_BURST], any = 0, src = ms->src[in->id];
	unsigned i, s, m;

	for (i = 0; i < n; i++)
		sel[i] = vlans[i] == SW_MIRROR_NOVLAN ? 0 : src;
	for (s = 0; s < pmd->n_outs; s++) {
		const struct sw_out *o = &pmd->outs[s];
		uint32_t dm = ms->dst[o->port->id];

		if (dm == 0)
			continue;
		for (i = 0; i < o->n; i++) {
			unsigned idx = o->ent[i] & ~SW_OUT_TAG;

			if (vlans[idx] != SW_MIRROR_NOVLAN)
				sel[idx] |= dm;
		}
	}
	for (i = 0; i < n; i++) {
		uint32_t lim = sel[i] & ms->vlan_limited;

		while (lim != 0) {
			m = (unsigned)__builtin_ctz(lim);
			lim &= lim - 1;
			if (!((ms->e[m].vlans[vlans[i] >> 6] >>
			       (vlans[i] & 63)) &
			      1))
				sel[i] &= ~(1u << m);
		}
		any |= sel[i];
	}
	while (any != 0) {
		m = (unsigned)__builtin_ctz(any);
		any &= any - 1;
		sw_mirror_one(pmd, fl, in, &ms->e[m], 1u << m, pkts, n, sel,
			      vlans);
	}
}

/* ---- control API ---- */

static void sw_mirror_free(void *arg)
{
	struct sw_mirror *m = arg;

	free(m->src);
	free(m->dst);
	free(m->vlans);
	free(m);
}

void sw_mirrors_free(struct sw_bridge *br)
{
	while (br->mirrors != NULL) {
		struct sw_mirror *m = br->mirrors;

		br->mirrors = m->next;
		sw_mirror_free(m);
	}
	br->n_mirrors = 0;
}

static struct sw_mirror *sw_mirror_find(struct sw_bridge *br, const char *name,
					struct sw_mirror ***pp)
{
	struct sw_mirror **p;

	for (p = &br->mirrors; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->name, name) == 0) {
			if (pp != NULL)
				*pp = p;
			return *p;
		}
	return NULL;
}

/* sw_fdb_sweep predicate: the entry points at an output of the set. */
static bool sw_fdb_pred_out(const struct sw_fdb_ent *e, void *arg)
{
	uint32_t id = vsw_load_relaxed(&e->port);

	return id <= VSW_SWITCH_MAX_PORTS &&
	       sw_mset_is_out((const struct sw_mset *)arg, id);
}

/* Republish br's port set with its mirrors; the old one after a sync. */
static int sw_mirror_republish(struct vsw_switch *sw, struct sw_bridge *br)
{
	struct sw_flood *old;
	int ret = sw_flood_publish(sw, br, NULL, &old);

	if (ret < 0)
		return ret;
	(void)sw_sync(sw);
	sw_retire(sw, sw_free_fn, old);
	/* MAC entries that would still send normal traffic to an output */
	if (br->flood->mir != NULL)
		sw_fdb_sweep(sw, &br->fdb, sw_fdb_pred_out,
			     (void *)br->flood->mir);
	return 0;
}

/* Check cfg completely; 0 or -EINVAL with err. */
static int sw_mirror_check(const struct vsw_mirror_config *c, char *err,
			   size_t err_len)
{
	unsigned i;

	if (!sw_name_ok(c->name, VSW_MIRROR_NAME_MAX)) {
		sw_err(err, err_len, "invalid mirror name");
		return -EINVAL;
	}
	if (c->n_src > VSW_SWITCH_MAX_PORTS ||
	    c->n_dst > VSW_SWITCH_MAX_PORTS || c->n_vlans > SW_VLAN_MAX ||
	    (c->n_src && c->src == NULL) || (c->n_dst && c->dst == NULL) ||
	    (c->n_vlans && c->vlans == NULL)) {
		sw_err(err, err_len, "mirror %s: bad selection", c->name);
		return -EINVAL;
	}
	if (!c->select_all && c->n_src == 0 && c->n_dst == 0) {
		sw_err(err, err_len,
		       "mirror %s selects nothing: give select-src-port, "
		       "select-dst-port or select-all",
		       c->name);
		return -EINVAL;
	}
	if ((c->output_port == NULL) == (c->output_vlan == 0)) {
		sw_err(err, err_len,
		       "mirror %s: give exactly one of output-port and "
		       "output-vlan",
		       c->name);
		return -EINVAL;
	}
	if (c->output_port == NULL && c->output_vlan > 4094) {
		sw_err(err, err_len, "mirror %s: output VLAN %u not in 1..4094",
		       c->name, c->output_vlan);
		return -EINVAL;
	}
	if (c->output_port != NULL &&
	    !sw_name_ok(c->output_port, VSW_PORT_NAME_MAX)) {
		sw_err(err, err_len, "mirror %s: invalid output port name",
		       c->name);
		return -EINVAL;
	}
	for (i = 0; i < c->n_src + c->n_dst; i++) {
		const char *p = i < c->n_src ? c->src[i] : c->dst[i - c->n_src];

		if (!sw_name_ok(p, VSW_PORT_NAME_MAX)) {
			sw_err(err, err_len, "mirror %s: invalid port name",
			       c->name);
			return -EINVAL;
		}
		if (c->output_port != NULL && strcmp(p, c->output_port) == 0) {
			sw_err(err, err_len,
			       "mirror %s: output port %s is also selected "
			       "(the output port's own traffic is not "
			       "mirrored)",
			       c->name, p);
			return -EINVAL;
		}
	}
	for (i = 0; i < c->n_vlans; i++)
		if (c->vlans[i] > 4095) {
			sw_err(err, err_len,
			       "mirror %s: VLAN %u not in 0..4095", c->name,
			       c->vlans[i]);
			return -EINVAL;
		}
	return 0;
}

/* The names of c into m; -ENOMEM. */
static int sw_mirror_fill(struct sw_mirror *m,
			  const struct vsw_mirror_config *c)
{
	unsigned i;

	snprintf(m->name, sizeof(m->name), "%s", c->name);
	m->select_all = c->select_all;
	m->out_vlan = c->output_port == NULL ? c->output_vlan : 0;
	if (c->output_port != NULL)
		snprintf(m->out, sizeof(m->out), "%s", c->output_port);
	m->src = calloc(c->n_src + 1, sizeof(*m->src));
	m->dst = calloc(c->n_dst + 1, sizeof(*m->dst));
	m->vlans = calloc(c->n_vlans + 1, sizeof(*m->vlans));
	if (m->src == NULL || m->dst == NULL || m->vlans == NULL)
		return -ENOMEM;
	for (i = 0; i < c->n_src; i++)
		snprintf(m->src[i], sizeof(m->src[i]), "%s", c->src[i]);
	for (i = 0; i < c->n_dst; i++)
		snprintf(m->dst[i], sizeof(m->dst[i]), "%s", c->dst[i]);
	if (c->n_vlans != 0)
		memcpy(m->vlans, c->vlans, c->n_vlans * sizeof(*m->vlans));
	m->n_src = c->n_src;
	m->n_dst = c->n_dst;
	m->n_vlans = c->n_vlans;
	return 0;
}

/* The bridge named so, or NULL with err (cleared first). */
static struct sw_bridge *sw_mirror_bridge(struct vsw_switch *sw,
					  const char *bridge, char *err,
					  size_t err_len)
{
	struct sw_bridge *br;

	sw_err_clear(err, err_len);
	br = bridge != NULL ? sw_bridge_find(sw, bridge) : NULL;
	if (br == NULL)
		sw_err(err, err_len, "no bridge %s",
		       bridge ? bridge : "(null)");
	return br;
}

int vsw_switch_mirror_add(struct vsw_switch *sw, const char *bridge,
			  const struct vsw_mirror_config *cfg, char *err,
			  size_t err_len)
{
	struct sw_mirror *m, **tail;
	struct sw_bridge *br;
	int ret;

	br = sw_mirror_bridge(sw, bridge, err, err_len);
	if (br == NULL)
		return -ENOENT;
	if (cfg == NULL) {
		sw_err(err, err_len, "no mirror");
		return -EINVAL;
	}
	ret = sw_mirror_check(cfg, err, err_len);
	if (ret < 0)
		return ret;
	if (sw_mirror_find(br, cfg->name, NULL) != NULL) {
		sw_err(err, err_len, "bridge %s already has a mirror %s",
		       br->name, cfg->name);
		return -EEXIST;
	}
	if (br->n_mirrors >= VSW_MIRROR_MAX) {
		sw_err(err, err_len,
		       "bridge %s has %u mirrors, the most it can", br->name,
		       VSW_MIRROR_MAX);
		return -ENOSPC;
	}
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	m = aligned_alloc(VSW_CACHE_LINE,
			  VSW_ALIGN_UP(sizeof(*m), VSW_CACHE_LINE));
	if (m == NULL)
		goto nomem;
	memset(m, 0, sizeof(*m));
	if (sw_mirror_fill(m, cfg) < 0) {
		sw_mirror_free(m);
		goto nomem;
	}
	for (tail = &br->mirrors; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = m;
	br->n_mirrors++;
	ret = sw_mirror_republish(sw, br);
	if (ret < 0) {
		/* nothing published references it */
		*tail = NULL;
		br->n_mirrors--;
		sw_mirror_free(m);
		goto nomem;
	}
	sw_log(sw, VSW_LOG_INFO, "bridge %s: mirror %s added", br->name,
	       m->name);
	return 0;
nomem:
	sw_err(err, err_len, "mirror %s: %s", cfg->name, strerror(ENOMEM));
	return -ENOMEM;
}

int vsw_switch_mirror_del(struct vsw_switch *sw, const char *bridge,
			  const char *name, char *err, size_t err_len)
{
	struct sw_mirror *m, **pp = NULL;
	struct sw_bridge *br;
	int ret;

	br = sw_mirror_bridge(sw, bridge, err, err_len);
	if (br == NULL)
		return -ENOENT;
	m = name != NULL ? sw_mirror_find(br, name, &pp) : NULL;
	if (m == NULL) {
		sw_err(err, err_len, "bridge %s has no mirror %s", br->name,
		       name ? name : "(null)");
		return -ENOENT;
	}
	ret = sw_sync_err(sw, err, err_len);
	if (ret < 0)
		return ret;
	*pp = m->next;
	br->n_mirrors--;
	ret = sw_mirror_republish(sw, br);
	if (ret < 0) {
		m->next = *pp;
		*pp = m;
		br->n_mirrors++;
		sw_err(err, err_len, "mirror %s: %s", name, strerror(-ret));
		return ret;
	}
	/* the old set (which named it) is unpublished and synced */
	sw_retire(sw, sw_mirror_free, m);
	sw_log(sw, VSW_LOG_INFO, "bridge %s: mirror %s deleted", br->name,
	       name);
	return 0;
}

/* "active", or what keeps m from working / selecting all it names. */
static bool sw_mirror_status(struct vsw_switch *sw, const struct sw_bridge *br,
			     const struct sw_mirror *m, char *buf, size_t len)
{
	size_t off = 0;
	bool active = true;
	unsigned i;

	buf[0] = '\0';
	if (m->out[0] != '\0' && sw_mirror_port(sw, br, m->out, NULL) == NULL) {
		active = false;
		off += (size_t)snprintf(buf, len,
					"inactive: output port %s is not in "
					"the bridge",
					m->out);
	} else {
		off += (size_t)snprintf(buf, len, "active");
	}
	for (i = 0; i < m->n_src + m->n_dst && off < len; i++) {
		const char *p = i < m->n_src ? m->src[i] : m->dst[i - m->n_src];

		if (sw_mirror_port(sw, br, p, NULL) == NULL)
			off += (size_t)snprintf(
				buf + off, len - off,
				"; port %s is not in the bridge", p);
	}
	return active;
}

/* cb for each mirror of one bridge. */
static int sw_mirror_iter_br(struct vsw_switch *sw, struct sw_bridge *br,
			     int (*cb)(const struct vsw_mirror_info *info,
				       void *arg),
			     void *arg)
{
	const struct sw_mirror *m;
	int ret = 0;

	for (m = br->mirrors; m != NULL && ret == 0; m = m->next) {
		const char **names =
			calloc(m->n_src + m->n_dst + 1, sizeof(*names));
		struct vsw_mirror_config c = {0};
		struct vsw_mirror_info info = {0};
		unsigned i;

		if (names == NULL)
			return -ENOMEM;
		for (i = 0; i < m->n_src; i++)
			names[i] = m->src[i];
		for (i = 0; i < m->n_dst; i++)
			names[m->n_src + i] = m->dst[i];
		c.name = m->name;
		c.src = names;
		c.n_src = m->n_src;
		c.dst = names + m->n_src;
		c.n_dst = m->n_dst;
		c.select_all = m->select_all;
		c.vlans = m->vlans;
		c.n_vlans = m->n_vlans;
		c.output_port = m->out[0] != '\0' ? m->out : NULL;
		c.output_vlan = m->out_vlan;
		info.bridge = br->name;
		info.cfg = &c;
		info.active = sw_mirror_status(sw, br, m, info.status,
					       sizeof(info.status));
		for (i = 0; i < VSW_SWITCH_MAX_THREADS; i++) {
			info.packets += vsw_load_relaxed(&m->ctr[i].packets);
			info.bytes += vsw_load_relaxed(&m->ctr[i].bytes);
			info.drops += vsw_load_relaxed(&m->ctr[i].drops);
		}
		ret = cb(&info, arg);
		free(names);
	}
	return ret;
}

int vsw_switch_mirror_iter(struct vsw_switch *sw, const char *bridge,
			   int (*cb)(const struct vsw_mirror_info *info,
				     void *arg),
			   void *arg)
{
	struct sw_bridge *br;
	int ret = 0;

	if (bridge != NULL) {
		br = sw_bridge_find(sw, bridge);
		return br != NULL ? sw_mirror_iter_br(sw, br, cb, arg)
				  : -ENOENT;
	}
	for (br = sw->bridges; br != NULL && ret == 0; br = br->next)
		ret = sw_mirror_iter_br(sw, br, cb, arg);
	return ret;
}
