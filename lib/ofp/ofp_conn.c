/* SPDX-License-Identifier: MIT */
/*
 * One OpenFlow 1.3 connection: framing, HELLO and version negotiation, and
 * the answer to every message (vsw_ofp.h).
 *
 * Security model: the peer is anyone who reached a listener or the
 * controller vswd dialled; every message may be hostile. Framing trusts
 * only the 16-bit length, which must be at least 8 (a smaller one leaves
 * no way to find the next message: the connection is closed). Each body
 * is checked against its type's fixed size before a field is read; the
 * decoders of ofp_match.c check what is variable. Anything not understood
 * gets a well-formed OFPT_ERROR carrying the first 64 bytes of the
 * request, as OpenFlow 1.3 section 7.4.4 asks, and the connection goes on.
 * Output is bounded (VSW_OFP_TX_MAX): a peer that asks for dumps and never
 * reads is disconnected instead of growing vswd's memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofp_priv.h"

#define OFPHET_VERSIONBITMAP 1

enum {
	OFPMP_DESC = 0,
	OFPMP_FLOW = 1,
	OFPMP_AGGREGATE = 2,
	OFPMP_TABLE = 3,
	OFPMP_PORT_STATS = 4,
	OFPMP_TABLE_FEATURES = 12,
	OFPMP_PORT_DESC = 13,
};
#define OFPET_TABLE_FEATURES_FAILED 13
#define OFPTFFC_EPERM 5
#define OFPMPF_REPLY_MORE 1
/* replies are cut into messages of at most this much body */
#define MP_CHUNK 60000

#define OFPC_FLOW_STATS 1
#define OFPC_TABLE_STATS 2
#define OFPC_PORT_STATS 4

#define OFPPS_LINK_DOWN 1
#define OFPPS_LIVE 4

enum conn_state {
	CONN_HELLO_WAIT, /* ours sent, the peer's not yet received */
	CONN_READY,
	CONN_FAILED, /* an error is queued; the caller closes */
};

struct vsw_ofp_conn {
	const struct vsw_ofp_ops *ops;
	void *arg;
	enum conn_state state;
	uint8_t rx[VSW_OFP_MAX_MSG];
	size_t rx_len;
	struct ofp_buf tx;
	size_t tx_off; /* consumed bytes at the head of tx */
	uint32_t next_xid;
	uint16_t config_flags;
	uint16_t miss_send_len;
	uint64_t n_rx, n_errors;
	enum vsw_ofp_role role;
	/* SET_ASYNC: [0] master / equal, [1] slave; per enum vsw_ofp_async */
	uint32_t async[2][3];
};

/* OpenFlow 1.3's defaults (section 6.1.1 / A.3.10). */
static const uint32_t async_default[2][3] = {
	/* packet-in: no_match, action; port status: all; removed: all */
	{0x3, 0x7, 0xf},
	/* a slave: port status only */
	{0x0, 0x7, 0x0},
};

uint8_t *ofp_buf_put(struct ofp_buf *b, size_t n)
{
	uint8_t *p;

	if (b->failed)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > VSW_OFP_TX_MAX + VSW_OFP_MAX_MSG) {
			b->failed = true;
			return NULL;
		}
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	p = b->p + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

void ofp_buf_free(struct ofp_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void conn_log(struct vsw_ofp_conn *c, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_log(struct vsw_ofp_conn *c, bool error, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->ops->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ops->log(c->arg, error, msg);
}

/* Start a message; its offset in tx (the length is set by msg_end). */
static size_t msg_start(struct vsw_ofp_conn *c, uint8_t version, uint8_t type,
			uint32_t xid)
{
	size_t off = c->tx.len;
	uint8_t *h = ofp_buf_put(&c->tx, VSW_OFP_HEADER_LEN);

	if (h != NULL) {
		h[0] = version;
		h[1] = type;
		ofp_put32(h + 4, xid);
	}
	return off;
}

static void msg_end(struct vsw_ofp_conn *c, size_t off)
{
	if (!c->tx.failed)
		ofp_put16(c->tx.p + off + 2, (uint16_t)(c->tx.len - off));
}

static void send_error(struct vsw_ofp_conn *c, uint8_t version, uint32_t xid,
		       uint16_t type, uint16_t code, const uint8_t *req,
		       size_t req_len)
{
	size_t off = msg_start(c, version, VSW_OFPT_ERROR, xid);
	size_t n = req_len < 64 ? req_len : 64;
	uint8_t *p = ofp_buf_put(&c->tx, 4 + n);

	if (p != NULL) {
		ofp_put16(p, type);
		ofp_put16(p + 2, code);
		memcpy(p + 4, req, n);
	}
	msg_end(c, off);
	c->n_errors++;
}

static void send_hello(struct vsw_ofp_conn *c)
{
	size_t off =
		msg_start(c, VSW_OFP_VERSION, VSW_OFPT_HELLO, c->next_xid++);
	uint8_t *p = ofp_buf_put(&c->tx, 8);

	/* one version bitmap element: 1.3 only */
	if (p != NULL) {
		ofp_put16(p, OFPHET_VERSIONBITMAP);
		ofp_put16(p + 2, 8);
		ofp_put32(p + 4, 1u << VSW_OFP_VERSION);
	}
	msg_end(c, off);
}

int vsw_ofp_conn_create(const struct vsw_ofp_ops *ops, void *arg,
			struct vsw_ofp_conn **out)
{
	struct vsw_ofp_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->ops = ops;
	c->arg = arg;
	c->next_xid = 1;
	c->miss_send_len = 128;
	c->role = VSW_OFPCR_ROLE_EQUAL;
	memcpy(c->async, async_default, sizeof(c->async));
	send_hello(c);
	if (c->tx.failed) {
		vsw_ofp_conn_destroy(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void vsw_ofp_conn_destroy(struct vsw_ofp_conn *c)
{
	if (c == NULL)
		return;
	ofp_buf_free(&c->tx);
	free(c);
}

bool vsw_ofp_conn_ready(const struct vsw_ofp_conn *c)
{
	return c->state == CONN_READY;
}

uint64_t vsw_ofp_conn_n_rx(const struct vsw_ofp_conn *c)
{
	return c->n_rx;
}

uint64_t vsw_ofp_conn_n_errors(const struct vsw_ofp_conn *c)
{
	return c->n_errors;
}

int vsw_ofp_conn_echo(struct vsw_ofp_conn *c)
{
	size_t off = msg_start(c, VSW_OFP_VERSION, VSW_OFPT_ECHO_REQUEST,
			       c->next_xid++);

	msg_end(c, off);
	return c->tx.failed ? -ENOBUFS : 0;
}

const uint8_t *vsw_ofp_conn_output(const struct vsw_ofp_conn *c, size_t *len)
{
	*len = c->tx.len - c->tx_off;
	return *len ? c->tx.p + c->tx_off : NULL;
}

void vsw_ofp_conn_consume(struct vsw_ofp_conn *c, size_t n)
{
	if (n > c->tx.len - c->tx_off)
		n = c->tx.len - c->tx_off;
	c->tx_off += n;
	if (c->tx_off == c->tx.len) {
		c->tx.len = 0;
		c->tx_off = 0;
	} else if (c->tx_off > c->tx.cap / 2) {
		memmove(c->tx.p, c->tx.p + c->tx_off, c->tx.len - c->tx_off);
		c->tx.len -= c->tx_off;
		c->tx_off = 0;
	}
}

/* ---- HELLO ---------------------------------------------------------------- */

/* Does the peer's HELLO (@msg, @len bytes) offer 1.3? */
static bool hello_has_13(const uint8_t *msg, size_t len)
{
	size_t off = VSW_OFP_HEADER_LEN;
	bool bitmap = false;

	while (len - off >= 4) {
		uint16_t type = ofp_get16(msg + off);
		size_t elen = ofp_get16(msg + off + 2);

		if (elen < 4 || elen > len - off)
			break;
		if (type == OFPHET_VERSIONBITMAP && elen >= 8) {
			bitmap = true;
			/* bit 4 of the first 32-bit word */
			if (ofp_get32(msg + off + 4) & (1u << VSW_OFP_VERSION))
				return true;
		}
		off += (elen + 7) & ~(size_t)7;
		if (off > len)
			break;
	}
	/* without a bitmap: the highest version the peer speaks */
	return !bitmap && msg[0] >= VSW_OFP_VERSION;
}

static void on_hello(struct vsw_ofp_conn *c, const uint8_t *msg, size_t len)
{
	if (hello_has_13(msg, len)) {
		c->state = CONN_READY;
		return;
	}
	/* in the peer's own version, so that it can read the error */
	conn_log(c, true, "peer speaks OpenFlow version 0x%02x, not 1.3",
		 msg[0]);
	send_error(c, msg[0] < VSW_OFP_VERSION ? msg[0] : VSW_OFP_VERSION,
		   ofp_get32(msg + 4), VSW_OFPET_HELLO_FAILED,
		   VSW_OFPHFC_INCOMPATIBLE, msg, len);
	c->state = CONN_FAILED;
}

/* ---- multipart ------------------------------------------------------------ */

struct mp {
	struct vsw_ofp_conn *c;
	uint32_t xid;
	uint16_t type;
	size_t off; /* current reply message */
};

static void mp_begin(struct mp *m)
{
	uint8_t *p;

	m->off = msg_start(m->c, VSW_OFP_VERSION, VSW_OFPT_MULTIPART_REPLY,
			   m->xid);
	p = ofp_buf_put(&m->c->tx, 8);
	if (p != NULL)
		ofp_put16(p, m->type);
}

/* Room for @n more bytes of body, cutting the reply where needed. */
static void mp_room(struct mp *m, size_t n)
{
	if (m->c->tx.len - m->off + n <= MP_CHUNK)
		return;
	if (!m->c->tx.failed)
		ofp_put16(m->c->tx.p + m->off + 10, OFPMPF_REPLY_MORE);
	msg_end(m->c, m->off);
	mp_begin(m);
}

static void mp_desc(struct mp *m)
{
	static const char *const fixed[] = {
		"vsw project", "vsw userspace switch", "vswd", "None"};
	static const size_t sizes[] = {256, 256, 256, 32, 256};
	uint8_t *p = ofp_buf_put(&m->c->tx, 1056);
	size_t off = 0;
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < 5; i++) {
		const char *s =
			i < 4 ? fixed[i]
			      : (m->c->ops->dp_desc ? m->c->ops->dp_desc : "");

		strncpy((char *)p + off, s, sizes[i] - 1);
		off += sizes[i];
	}
}

struct mp_flow_ctx {
	struct mp *m;
	const struct vsw_ofp_flow_filter *f;
	uint64_t packets, bytes;
	uint32_t n;
};

static int mp_flow_emit(void *arg, const struct vsw_ofp_flow_entry *e)
{
	struct mp_flow_ctx *x = arg;
	struct ofp_buf *b = &x->m->c->tx;
	size_t start;
	uint8_t *p;

	if (!vsw_ofp_filter_match(x->f, e))
		return 0;
	if (x->m->type == OFPMP_AGGREGATE) {
		x->packets += e->n_packets;
		x->bytes += e->n_bytes;
		x->n++;
		return 0;
	}
	/* 48 fixed, the match (at most ~200), actions (24 each at most) */
	mp_room(x->m,
		48 + 256 + 8 + (e->actions ? (size_t)e->actions->n * 24 : 0));
	start = b->len;
	p = ofp_buf_put(b, 48);
	if (p == NULL)
		return -ENOBUFS;
	p[2] = e->table_id;
	ofp_put32(p + 4, (uint32_t)(e->duration_ms / 1000));
	ofp_put32(p + 8, (uint32_t)(e->duration_ms % 1000) * 1000000u);
	ofp_put16(p + 12, e->priority);
	ofp_put16(p + 14, e->idle_timeout);
	ofp_put16(p + 16, e->hard_timeout);
	ofp_put16(p + 18, e->flags);
	ofp_put64(p + 24, e->cookie);
	ofp_put64(p + 32, e->n_packets);
	ofp_put64(p + 40, e->n_bytes);
	ofp_encode_match(b, e->match);
	ofp_encode_instructions(b, e->match, e->actions);
	if (b->failed)
		return -ENOBUFS;
	if (b->len - start > MP_CHUNK) {
		/* more actions (from vswctl) than an OpenFlow message holds */
		b->len = start;
		conn_log(x->m->c, true,
			 "a rule of priority %u has too many actions for "
			 "OpenFlow: not listed",
			 e->priority);
		return 0;
	}
	ofp_put16(b->p + start, (uint16_t)(b->len - start));
	return 0;
}

/* flow / aggregate request body: 40 bytes then the match. */
static int mp_flow(struct mp *m, const uint8_t *body, size_t len,
		   struct vsw_ofp_err *err)
{
	struct vsw_ofp_flow_filter f;
	struct mp_flow_ctx x = {.m = m, .f = &f};
	size_t used;
	uint8_t *p;
	int rc;

	memset(&f, 0, sizeof(f));
	if (len < 40) {
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"flow request too short");
	}
	if (body[0] >= VSW_FLOW_N_TABLES && body[0] != OFPTT_ALL) {
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST,
				VSW_OFPBRC_BAD_TABLE_ID, "no such table");
	}
	f.table_id = body[0];
	if (ofp_port_from_of(ofp_get32(body + 4), &f.out_port) < 0 ||
	    ofp_get32(body + 8) != OFPG_ANY) {
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_PORT,
				"out_port / out_group vsw does not have");
	}
	f.cookie = ofp_get64(body + 16);
	f.cookie_mask = ofp_get64(body + 24);
	rc = vsw_ofp_decode_match(body + 32, len - 32, &f.match, &used, err);
	if (rc < 0)
		return rc;
	mp_begin(m);
	rc = m->c->ops->flow_dump(m->c->arg, mp_flow_emit, &x);
	if (rc < 0 && rc != -ENOBUFS)
		conn_log(m->c, true, "flow dump failed: %s", strerror(-rc));
	if (m->type == OFPMP_AGGREGATE) {
		p = ofp_buf_put(&m->c->tx, 24);
		if (p != NULL) {
			ofp_put64(p, x.packets);
			ofp_put64(p + 8, x.bytes);
			ofp_put32(p + 16, x.n);
		}
	}
	msg_end(m->c, m->off);
	return 0;
}

/* An ofp_port (64 bytes, zeroed) at @p. */
static void port_fill(uint8_t *p, const struct vsw_ofp_port *port)
{
	ofp_put32(p, port->port_no);
	memcpy(p + 8, port->hw_addr, 6);
	memcpy(p + 16, port->name, 15); /* the 16th stays NUL */
	/* LIVE as Open vSwitch sets it: a port whose link is up */
	ofp_put32(p + 36, port->link_down ? OFPPS_LINK_DOWN : OFPPS_LIVE);
}

static int mp_port_emit(void *arg, const struct vsw_ofp_port *port)
{
	struct mp *m = arg;
	uint8_t *p;

	mp_room(m, 64);
	p = ofp_buf_put(&m->c->tx, 64);
	if (p == NULL)
		return -ENOBUFS;
	port_fill(p, port);
	return 0;
}

struct mp_ports {
	struct mp *m;
	uint32_t port_no; /* OFPP_ANY: all */
};

/* ofp_port_stats: 112 bytes; counters vsw lacks are all ones (7.3.5.6) */
static int mp_port_stats_emit(void *arg, const struct vsw_ofp_port *port)
{
	struct mp_ports *x = arg;
	uint8_t *p;
	unsigned i;

	if (x->port_no != OFPP_ANY && x->port_no != port->port_no)
		return 0;
	mp_room(x->m, 112);
	p = ofp_buf_put(&x->m->c->tx, 112);
	if (p == NULL)
		return -ENOBUFS;
	ofp_put32(p, port->port_no);
	for (i = 0; i < 12; i++)
		ofp_put64(p + 8 + i * 8, UINT64_MAX);
	if (port->has_stats) {
		ofp_put64(p + 8, port->rx_packets);
		ofp_put64(p + 16, port->tx_packets);
		ofp_put64(p + 24, port->rx_bytes);
		ofp_put64(p + 32, port->tx_bytes);
		ofp_put64(p + 40, port->rx_dropped);
		ofp_put64(p + 48, port->tx_dropped);
	}
	ofp_put32(p + 104, UINT32_MAX); /* duration: unknown */
	ofp_put32(p + 108, UINT32_MAX);
	return 0;
}

/* Table 0, and every other table holding rules. */
static void mp_table(struct mp *m)
{
	unsigned t;

	for (t = 0; t < VSW_FLOW_N_TABLES; t++) {
		uint32_t active = 0;
		uint64_t lookups = 0, matched = 0;
		uint8_t *p;

		if (m->c->ops->table_stats != NULL)
			m->c->ops->table_stats(m->c->arg, (uint8_t)t, &active,
					       &lookups, &matched);
		if (t != 0 && active == 0)
			continue;
		mp_room(m, 24);
		p = ofp_buf_put(&m->c->tx, 24);
		if (p == NULL)
			return;
		p[0] = (uint8_t)t;
		ofp_put32(p + 4, active);
		ofp_put64(p + 8, lookups);
		ofp_put64(p + 16, matched);
	}
}

/* One table-features property: @n 8-, 16- or 32-bit items (@w bytes each). */
static void tf_prop(struct ofp_buf *b, uint16_t type, const uint32_t *v,
		    size_t n, size_t w)
{
	size_t len = 4 + n * w, i;
	uint8_t *p = ofp_buf_put(b, (len + 7) & ~(size_t)7);

	if (p == NULL)
		return;
	ofp_put16(p, type);
	ofp_put16(p + 2, (uint16_t)len);
	for (i = 0; i < n; i++) {
		if (w == 4)
			ofp_put32(p + 4 + i * 4, v[i]);
		else if (w == 2)
			ofp_put16(p + 4 + i * 2, (uint16_t)v[i]);
		else
			p[4 + i] = (uint8_t)v[i];
	}
}

/* An action-list property: each action type as an 4-byte header. */
static void tf_actions(struct ofp_buf *b, uint16_t type)
{
	/* OUTPUT, POP_VLAN, SET_FIELD: type and a length of 4 */
	static const uint32_t acts[] = {0x00000004, 0x00120004, 0x00190004};

	tf_prop(b, type, acts, 3, 4);
}

/*
 * The features of table @t, every table alike: what ofp_match.c decodes, as
 * OXM headers (class 0x8000, field << 9, length); goto_table to any later
 * table.
 */
static void mp_table_features_one(struct mp *m, unsigned t)
{
	static const uint32_t match[] = {
		0x80000004, 0x80000606, 0x80000806, 0x80000a02, 0x80000c02,
		0x80000e01, 0x80001001, 0x80001401, 0x80001604, 0x80001804,
		0x80001a02, 0x80001c02, 0x80001e02, 0x80002002, 0x80002202,
		0x80002402, 0x80002601, 0x80002801, 0x80002a02, 0x80002c04,
		0x80002e04, 0x80003410, 0x80003610, 0x80003a01, 0x80003c01,
	};
	static const uint32_t wild[] = {
		0x80000004, 0x80000606, 0x80000806, 0x80000a02, 0x80000c02,
		0x80000e01, 0x80001001, 0x80001401, 0x80001604, 0x80001804,
		0x80001a02, 0x80001c02, 0x80001e02, 0x80002002, 0x80002202,
		0x80002402, 0x80002601, 0x80002801, 0x80002a02, 0x80002c04,
		0x80002e04, 0x80003410, 0x80003610, 0x80003a01, 0x80003c01,
	};
	static const uint32_t setf[] = {0x80000606, 0x80000806, 0x80000c02,
					0x80000e01, 0x80001604, 0x80001804};
	/* GOTO_TABLE, APPLY_ACTIONS */
	static const uint32_t inst[] = {0x00010008, 0x00040004};
	struct ofp_buf *b = &m->c->tx;
	uint32_t next[VSW_FLOW_N_TABLES];
	size_t start, n_next = 0, k;
	unsigned last = t == VSW_FLOW_N_TABLES - 1;
	uint8_t *p;

	for (k = t + 1; k < VSW_FLOW_N_TABLES; k++)
		next[n_next++] = (uint32_t)k;
	/* 64 fixed, the properties below: under 600 bytes with NEXT_TABLES */
	mp_room(m, 600 + n_next);
	start = b->len;
	p = ofp_buf_put(b, 64);
	if (p == NULL)
		return;
	p[2] = (uint8_t)t; /* table_id */
	memcpy(p + 8, "classifier", 10);
	/* metadata match / write: none; config 0; max_entries */
	ofp_put32(p + 60, 1000000);
	/* every property OpenFlow 1.3 requires; write-actions: none */
	/* INSTRUCTIONS: the last table has no goto_table */
	tf_prop(b, 0, inst + last, 2 - last, 4);
	tf_prop(b, 2, next, n_next, 1);		    /* NEXT_TABLES */
	tf_prop(b, 4, NULL, 0, 4);		    /* WRITE_ACTIONS */
	tf_actions(b, 6);			    /* APPLY_ACTIONS */
	tf_prop(b, 8, match, sizeof(match) / 4, 4); /* MATCH */
	tf_prop(b, 10, wild, sizeof(wild) / 4, 4);  /* WILDCARDS */
	tf_prop(b, 12, NULL, 0, 4);		    /* WRITE_SETFIELD */
	tf_prop(b, 14, setf, sizeof(setf) / 4, 4);  /* APPLY_SETFIELD */
	if (!b->failed)
		ofp_put16(b->p + start, (uint16_t)(b->len - start));
}

static void mp_table_features(struct mp *m)
{
	unsigned t;

	for (t = 0; t < VSW_FLOW_N_TABLES && !m->c->tx.failed; t++)
		mp_table_features_one(m, t);
}

static int on_multipart(struct vsw_ofp_conn *c, const uint8_t *msg, size_t len,
			struct vsw_ofp_err *err)
{
	struct mp m = {.c = c, .xid = ofp_get32(msg + 4)};
	const uint8_t *body = msg + 16;
	size_t blen;

	if (len < 16) {
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"multipart too short");
	}
	blen = len - 16;
	m.type = ofp_get16(msg + 8);
	if (ofp_get16(msg + 10) & OFPMPF_REPLY_MORE) {
		/* vsw's requests all fit in one message */
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST,
				VSW_OFPBRC_MULTIPART_BUFFER_OVERFLOW,
				"multipart request in parts");
	}
	switch (m.type) {
	case OFPMP_DESC:
	case OFPMP_TABLE:
	case OFPMP_PORT_DESC:
		if (blen != 0) {
			return ofp_fail(err, VSW_OFPET_BAD_REQUEST,
					VSW_OFPBRC_BAD_LEN,
					"multipart request with a body");
		}
		mp_begin(&m);
		if (m.type == OFPMP_DESC)
			mp_desc(&m);
		else if (m.type == OFPMP_TABLE)
			mp_table(&m);
		else
			c->ops->port_dump(c->arg, mp_port_emit, &m);
		msg_end(c, m.off);
		return 0;
	case OFPMP_PORT_STATS: {
		struct mp_ports x = {.m = &m};

		if (blen != 8)
			return ofp_fail(err, VSW_OFPET_BAD_REQUEST,
					VSW_OFPBRC_BAD_LEN,
					"port stats request not 8 bytes");
		x.port_no = ofp_get32(body);
		mp_begin(&m);
		c->ops->port_dump(c->arg, mp_port_stats_emit, &x);
		msg_end(c, m.off);
		return 0;
	}
	case OFPMP_TABLE_FEATURES:
		if (blen != 0) {
			/* a controller setting features: vsw's are fixed */
			return ofp_fail(err, OFPET_TABLE_FEATURES_FAILED,
					OFPTFFC_EPERM,
					"table features are fixed");
		}
		mp_begin(&m);
		mp_table_features(&m);
		msg_end(c, m.off);
		return 0;
	case OFPMP_FLOW:
	case OFPMP_AGGREGATE:
		return mp_flow(&m, body, blen, err);
	default:
		err->type = VSW_OFPET_BAD_REQUEST;
		err->code = VSW_OFPBRC_BAD_MULTIPART;
		snprintf(err->why, sizeof(err->why),
			 "multipart type %u not in vsw", m.type);
		return -EPROTO;
	}
}

/* ---- the other messages --------------------------------------------------- */

static void on_features(struct vsw_ofp_conn *c, uint32_t xid)
{
	size_t off =
		msg_start(c, VSW_OFP_VERSION, VSW_OFPT_FEATURES_REPLY, xid);
	uint8_t *p = ofp_buf_put(&c->tx, 24);

	if (p != NULL) {
		ofp_put64(p, c->ops->datapath_id);
		ofp_put32(p + 8, 0);	   /* n_buffers: vsw buffers nothing */
		p[12] = VSW_FLOW_N_TABLES; /* n_tables: 0 .. 254 */
		ofp_put32(p + 16,
			  OFPC_FLOW_STATS | OFPC_TABLE_STATS | OFPC_PORT_STATS);
	}
	msg_end(c, off);
}

static void on_get_config(struct vsw_ofp_conn *c, uint32_t xid)
{
	size_t off =
		msg_start(c, VSW_OFP_VERSION, VSW_OFPT_GET_CONFIG_REPLY, xid);
	uint8_t *p = ofp_buf_put(&c->tx, 4);

	if (p != NULL) {
		ofp_put16(p, c->config_flags);
		ofp_put16(p + 2, c->miss_send_len);
	}
	msg_end(c, off);
}

/* ---- roles and asynchronous messages --------------------------------------- */

bool vsw_ofp_role_gen_stale(struct vsw_ofp_role_gen *g, uint64_t generation_id)
{
	/* a wrapping comparison, as 6.3.5 asks */
	if (g->set && (int64_t)(generation_id - g->id) < 0)
		return true;
	g->set = true;
	g->id = generation_id;
	return false;
}

enum vsw_ofp_role vsw_ofp_conn_role(const struct vsw_ofp_conn *c)
{
	return c->role;
}

void vsw_ofp_conn_set_role(struct vsw_ofp_conn *c, enum vsw_ofp_role role)
{
	if (role >= VSW_OFPCR_ROLE_EQUAL && role <= VSW_OFPCR_ROLE_SLAVE)
		c->role = role;
}

bool vsw_ofp_conn_async_wanted(const struct vsw_ofp_conn *c,
			       enum vsw_ofp_async kind, unsigned reason)
{
	unsigned who = c->role == VSW_OFPCR_ROLE_SLAVE;

	if (c->state != CONN_READY || (unsigned)kind > 2 || reason > 31)
		return false;
	return (c->async[who][kind] >> reason) & 1;
}

int vsw_ofp_conn_flow_removed(struct vsw_ofp_conn *c,
			      const struct vsw_ofp_flow_entry *e,
			      unsigned reason)
{
	size_t off;
	uint8_t *p;

	if (!vsw_ofp_conn_async_wanted(c, VSW_OFP_ASYNC_FLOW_REMOVED, reason))
		return 0;
	off = msg_start(c, VSW_OFP_VERSION, VSW_OFPT_FLOW_REMOVED,
			c->next_xid++);
	p = ofp_buf_put(&c->tx, 40);
	if (p != NULL) {
		ofp_put64(p, e->cookie);
		ofp_put16(p + 8, e->priority);
		p[10] = (uint8_t)reason;
		p[11] = e->table_id;
		ofp_put32(p + 12, (uint32_t)(e->duration_ms / 1000));
		ofp_put32(p + 16, (uint32_t)(e->duration_ms % 1000) * 1000000u);
		ofp_put16(p + 20, e->idle_timeout);
		ofp_put16(p + 22, e->hard_timeout);
		ofp_put64(p + 24, e->n_packets);
		ofp_put64(p + 32, e->n_bytes);
		ofp_encode_match(&c->tx, e->match);
	}
	msg_end(c, off);
	return c->tx.failed ? -ENOBUFS : 0;
}

/* ROLE_REQUEST: 16 bytes of body (role, pad, generation_id). */
static int on_role(struct vsw_ofp_conn *c, const uint8_t *msg, size_t len,
		   struct vsw_ofp_err *err)
{
	uint32_t role;
	uint64_t gen, cur;
	size_t off;
	uint8_t *p;
	int rc;

	if (len != 24)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN,
				"role request not 24 bytes");
	role = ofp_get32(msg + 8);
	gen = ofp_get64(msg + 16);
	if (role > VSW_OFPCR_ROLE_SLAVE)
		return ofp_fail(err, VSW_OFPET_ROLE_REQUEST_FAILED,
				VSW_OFPRRFC_BAD_ROLE, "unknown role");
	cur = gen;
	if (c->ops->role != NULL) {
		rc = c->ops->role(c->arg, c, (enum vsw_ofp_role)role, gen, &cur,
				  err);
		if (rc < 0)
			return rc;
	}
	if (role != VSW_OFPCR_ROLE_NOCHANGE)
		c->role = (enum vsw_ofp_role)role;
	off = msg_start(c, VSW_OFP_VERSION, VSW_OFPT_ROLE_REPLY,
			ofp_get32(msg + 4));
	p = ofp_buf_put(&c->tx, 16);
	if (p != NULL) {
		ofp_put32(p, c->role);
		ofp_put64(p + 8, cur);
	}
	msg_end(c, off);
	return 0;
}

/* GET_ASYNC_REPLY / SET_ASYNC body: 3 pairs of (master, slave) masks. */
static void on_get_async(struct vsw_ofp_conn *c, uint32_t xid)
{
	size_t off =
		msg_start(c, VSW_OFP_VERSION, VSW_OFPT_GET_ASYNC_REPLY, xid);
	uint8_t *p = ofp_buf_put(&c->tx, 24);
	unsigned k;

	if (p == NULL)
		return;
	for (k = 0; k < 3; k++) {
		ofp_put32(p + k * 8, c->async[0][k]);
		ofp_put32(p + k * 8 + 4, c->async[1][k]);
	}
	msg_end(c, off);
}

static void on_set_async(struct vsw_ofp_conn *c, const uint8_t *msg)
{
	unsigned k;

	for (k = 0; k < 3; k++) {
		c->async[0][k] = ofp_get32(msg + 8 + k * 8);
		c->async[1][k] = ofp_get32(msg + 8 + k * 8 + 4);
	}
}

static int on_flow_mod(struct vsw_ofp_conn *c, const uint8_t *msg, size_t len,
		       struct vsw_ofp_err *err)
{
	struct vsw_ofp_flow_mod fm;
	int rc;

	rc = vsw_ofp_decode_flow_mod(msg + VSW_OFP_HEADER_LEN,
				     len - VSW_OFP_HEADER_LEN, &fm, err);
	if (rc == -ENOMEM)
		return ofp_fail(err, VSW_OFPET_FLOW_MOD_FAILED,
				VSW_OFPFMFC_UNKNOWN, "out of memory");
	if (rc < 0)
		return rc;
	rc = c->ops->flow_mod(c->arg, &fm, err);
	vsw_flow_spec_fini(&fm.spec);
	return rc < 0 ? -EPROTO : 0;
}

/*
 * The messages a slave controller may not send (OpenFlow 1.3 section
 * 6.3.5): PACKET_OUT, FLOW_MOD, GROUP_MOD, PORT_MOD, TABLE_MOD, METER_MOD.
 */
static bool msg_changes_switch(uint8_t type)
{
	enum {
		PACKET_OUT = 13,
		GROUP_MOD = 15,
		PORT_MOD = 16,
		TABLE_MOD = 17,
		METER_MOD = 29,
	};

	return type == PACKET_OUT || type == VSW_OFPT_FLOW_MOD ||
	       type == GROUP_MOD || type == PORT_MOD || type == TABLE_MOD ||
	       type == METER_MOD;
}

static int on_packet_out(struct vsw_ofp_conn *c, const uint8_t *msg,
			 size_t len, struct vsw_ofp_err *err)
{
	struct vsw_ofp_packet_out po;
	int rc;

	if (c->ops->packet_out == NULL)
		return ofp_fail(err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_TYPE,
				"packet_out not handled");
	rc = vsw_ofp_decode_packet_out(msg + VSW_OFP_HEADER_LEN,
				       len - VSW_OFP_HEADER_LEN, &po, err);
	if (rc < 0)
		return rc;
	rc = c->ops->packet_out(c->arg, &po, err);
	free(po.actions);
	return rc < 0 ? -EPROTO : 0;
}

/*
 * An asynchronous message (started at @off) that left more than
 * VSW_OFP_ASYNC_MAX bytes unread, or failed: taken back, -ENOBUFS (a slow
 * controller loses packet-ins, not its connection).
 */
static int msg_check(struct vsw_ofp_conn *c, size_t off)
{
	if (!c->tx.failed && c->tx.len - c->tx_off <= VSW_OFP_ASYNC_MAX)
		return 0;
	c->tx.len = off;
	c->tx.failed = false;
	return -ENOBUFS;
}

int vsw_ofp_conn_packet_in(struct vsw_ofp_conn *c,
			   const struct vsw_ofp_packet_in *pi)
{
	struct vsw_flow_match m;
	size_t off, room, n;
	uint8_t *p;

	if (!vsw_ofp_conn_ready(c))
		return -EAGAIN;
	if (c->tx.failed)
		return -ENOBUFS;
	memset(&m, 0, sizeof(m));
	m.key.in_port = (uint16_t)pi->in_port;
	m.mask.in_port = 0xffff;
	off = msg_start(c, VSW_OFP_VERSION, VSW_OFPT_PACKET_IN, 0);
	/* buffer_id, total_len, reason, table_id, cookie */
	p = ofp_buf_put(&c->tx, 16);
	if (p != NULL) {
		ofp_put32(p, OFP_NO_BUFFER);
		ofp_put16(p + 4, (uint16_t)(pi->total_len > 0xffff
						    ? 0xffff
						    : pi->total_len));
		p[6] = pi->reason;
		p[7] = pi->table_id;
		ofp_put64(p + 8, pi->cookie);
	}
	ofp_encode_match(&c->tx, &m);
	ofp_buf_put(&c->tx, 2); /* pad */
	/* one message carries at most 65535 bytes */
	room = c->tx.len - off < VSW_OFP_MAX_MSG
		       ? VSW_OFP_MAX_MSG - (c->tx.len - off)
		       : 0;
	n = pi->len < room ? pi->len : room;
	p = ofp_buf_put(&c->tx, n);
	if (p != NULL && n > 0)
		memcpy(p, pi->data, n);
	msg_end(c, off);
	return msg_check(c, off);
}

int vsw_ofp_conn_port_status(struct vsw_ofp_conn *c,
			     enum vsw_ofp_port_reason reason,
			     const struct vsw_ofp_port *port)
{
	size_t off;
	uint8_t *p;

	if ((unsigned)reason > VSW_OFPPR_MODIFY)
		return -EINVAL;
	if (!vsw_ofp_conn_ready(c))
		return -EAGAIN;
	if (!vsw_ofp_conn_async_wanted(c, VSW_OFP_ASYNC_PORT_STATUS, reason))
		return 0;
	if (c->tx.failed)
		return -ENOBUFS;
	off = msg_start(c, VSW_OFP_VERSION, VSW_OFPT_PORT_STATUS, 0);
	p = ofp_buf_put(&c->tx, 8 + 64); /* reason, pad[7], ofp_port */
	if (p != NULL) {
		p[0] = (uint8_t)reason;
		port_fill(p + 8, port); /* as PORT_DESC lists it */
	}
	msg_end(c, off);
	return msg_check(c, off);
}

bool vsw_ofp_port_desc_eq(const struct vsw_ofp_port *a,
			  const struct vsw_ofp_port *b)
{
	uint8_t pa[64] = {0}, pb[64] = {0};

	/* compared as encoded: what port_fill() leaves out does not count */
	port_fill(pa, a);
	port_fill(pb, b);
	return memcmp(pa, pb, sizeof(pa)) == 0;
}

/* One whole message (@len >= 8 bytes, its own length). */
static void conn_handle(struct vsw_ofp_conn *c, const uint8_t *msg, size_t len)
{
	struct vsw_ofp_err err = {0};
	uint32_t xid = ofp_get32(msg + 4);
	uint8_t type = msg[1];
	size_t off;
	int rc = 0;

	c->n_rx++;
	if (c->state == CONN_HELLO_WAIT) {
		if (type == VSW_OFPT_HELLO) {
			on_hello(c, msg, len);
			return;
		}
		/* anything before HELLO: no version agreed */
		conn_log(c, true, "message type %u before HELLO", type);
		send_error(c, VSW_OFP_VERSION, xid, VSW_OFPET_HELLO_FAILED,
			   VSW_OFPHFC_INCOMPATIBLE, msg, len);
		c->state = CONN_FAILED;
		return;
	}
	if (msg[0] != VSW_OFP_VERSION) {
		rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
			      VSW_OFPBRC_BAD_VERSION,
			      "message not in version 1.3");
		goto out;
	}
	if (c->role == VSW_OFPCR_ROLE_SLAVE && msg_changes_switch(type)) {
		rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_IS_SLAVE,
			      "a slave may not change the switch");
		goto out;
	}
	switch (type) {
	case VSW_OFPT_HELLO:
	case VSW_OFPT_ECHO_REPLY:
		break;
	case VSW_OFPT_ERROR:
		if (len >= 12)
			conn_log(c, false, "peer sent error type %u code %u",
				 ofp_get16(msg + 8), ofp_get16(msg + 10));
		break;
	case VSW_OFPT_ECHO_REQUEST:
		off = msg_start(c, VSW_OFP_VERSION, VSW_OFPT_ECHO_REPLY, xid);
		{
			uint8_t *p = ofp_buf_put(&c->tx, len - 8);

			if (p != NULL && len > 8)
				memcpy(p, msg + 8, len - 8);
		}
		msg_end(c, off);
		break;
	case VSW_OFPT_FEATURES_REQUEST:
		if (len != 8)
			rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
				      VSW_OFPBRC_BAD_LEN,
				      "features with a body");
		else
			on_features(c, xid);
		break;
	case VSW_OFPT_GET_CONFIG_REQUEST:
		if (len != 8)
			rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
				      VSW_OFPBRC_BAD_LEN,
				      "get_config with a body");
		else
			on_get_config(c, xid);
		break;
	case VSW_OFPT_SET_CONFIG:
		if (len != 12) {
			rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
				      VSW_OFPBRC_BAD_LEN,
				      "set_config not 12 bytes");
		} else if (ofp_get16(msg + 8) & ~3u) {
			rc = ofp_fail(&err, VSW_OFPET_SWITCH_CONFIG_FAILED,
				      VSW_OFPSCFC_BAD_FLAGS,
				      "unknown set_config flags");
		} else {
			c->config_flags = ofp_get16(msg + 8);
			c->miss_send_len = ofp_get16(msg + 10);
		}
		break;
	case VSW_OFPT_FLOW_MOD:
		rc = on_flow_mod(c, msg, len, &err);
		break;
	case VSW_OFPT_ROLE_REQUEST:
		rc = on_role(c, msg, len, &err);
		break;
	case VSW_OFPT_GET_ASYNC_REQUEST:
		if (len != 8)
			rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
				      VSW_OFPBRC_BAD_LEN,
				      "get_async with a body");
		else
			on_get_async(c, xid);
		break;
	case VSW_OFPT_SET_ASYNC:
		if (len != 32)
			rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
				      VSW_OFPBRC_BAD_LEN,
				      "set_async not 32 bytes");
		else
			on_set_async(c, msg);
		break;
	case VSW_OFPT_MULTIPART_REQUEST:
		rc = on_multipart(c, msg, len, &err);
		break;
	case VSW_OFPT_PACKET_OUT:
		rc = on_packet_out(c, msg, len, &err);
		break;
	case VSW_OFPT_BARRIER_REQUEST:
		/* every message before it is done: vsw answers in order */
		if (len != 8) {
			rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST,
				      VSW_OFPBRC_BAD_LEN,
				      "barrier with a body");
		} else {
			off = msg_start(c, VSW_OFP_VERSION,
					VSW_OFPT_BARRIER_REPLY, xid);
			msg_end(c, off);
		}
		break;
	default:
		rc = ofp_fail(&err, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_TYPE,
			      "message type vsw does not handle");
		break;
	}
out:
	if (rc < 0) {
		conn_log(c, false, "type %u xid %u: error %u/%u: %s", type, xid,
			 err.type, err.code, err.why);
		send_error(c, VSW_OFP_VERSION, xid, err.type, err.code, msg,
			   len);
	}
}

int vsw_ofp_conn_input(struct vsw_ofp_conn *c, const uint8_t *data, size_t len)
{
	while (len > 0 && c->state != CONN_FAILED) {
		size_t want, n;

		/* the header first, then the rest of the message */
		want = c->rx_len < VSW_OFP_HEADER_LEN ? VSW_OFP_HEADER_LEN
						      : ofp_get16(c->rx + 2);
		n = want - c->rx_len < len ? want - c->rx_len : len;
		memcpy(c->rx + c->rx_len, data, n);
		c->rx_len += n;
		data += n;
		len -= n;
		if (c->rx_len < VSW_OFP_HEADER_LEN)
			break;
		if (ofp_get16(c->rx + 2) < VSW_OFP_HEADER_LEN) {
			conn_log(c, true, "message length %u below 8",
				 ofp_get16(c->rx + 2));
			send_error(c,
				   c->state == CONN_READY ? VSW_OFP_VERSION
							  : c->rx[0],
				   ofp_get32(c->rx + 4), VSW_OFPET_BAD_REQUEST,
				   VSW_OFPBRC_BAD_LEN, c->rx, c->rx_len);
			c->state = CONN_FAILED;
			break;
		}
		if (c->rx_len == ofp_get16(c->rx + 2)) {
			conn_handle(c, c->rx, c->rx_len);
			c->rx_len = 0;
		}
	}
	if (c->tx.failed || c->tx.len - c->tx_off > VSW_OFP_TX_MAX) {
		conn_log(c, true, "peer does not read its answers: closing");
		return -EPROTO;
	}
	return c->state == CONN_FAILED ? -EPROTO : 0;
}
