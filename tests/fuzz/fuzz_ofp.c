/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the OpenFlow 1.3 decoder and connection (lib/ofp), the
 * parser a controller or anyone reaching a ptcp: listener feeds.
 *
 * Input: byte 0 picks the mode: bit 0 set, the connection first gets a
 * valid HELLO (so the fuzzer reaches the messages after it); bits 1-3, the
 * size of the pieces the stream is cut into (1 << n bytes, so framing
 * across reads is exercised). The rest is the byte stream of the peer. It
 * is also decoded directly as a FLOW_MOD body.
 *
 * The switch behind the connection is a real vsw flow table (add, mod,
 * del, dump), so what a FLOW_MOD decodes to is used as vswd would; a fake
 * switch takes PACKET_OUT (ports 1 .. 4 exist, output to any other is
 * refused with an error as vswd's is) and ROLE (the generation-id rule);
 * between pieces of input the switch side queues a PACKET_IN and a
 * PORT_STATUS, as vswd does for its controllers, in whatever state
 * (SET_CONFIG, SET_ASYNC, role) the peer has put the connection.
 *
 * Invariants, checked with abort():
 *   - vsw_ofp_conn_input returns 0 or -EPROTO; once it returned -EPROTO
 *     the harness stops feeding (as vswd closes);
 *   - the output is a whole sequence of messages, each at least 8 bytes,
 *     version 1.3 (or the peer's own in a HELLO_FAILED error);
 *   - a decoded FLOW_MOD's match is normalised (key & mask == key) and
 *     encodes to an ofp_match that decodes back to the same match;
 *   - a decoded PACKET_OUT has a frame of at least 14 bytes inside the
 *     message, after its actions, and an in_port that is a port, LOCAL
 *     or CONTROLLER.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ofp_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_sw {
	struct vsw_flow_table *t;
	struct vsw_ofp_conn *c;
	struct vsw_ofp_role_gen gen;
	unsigned frame_sum; /* PACKET_OUT's bytes, all read */
};

/* A decoded PACKET_OUT of the body @body (@len bytes): within it. */
static void fz_check_packet_out(const struct vsw_ofp_packet_out *po,
				const uint8_t *body, size_t len)
{
	if (po->actions == NULL || po->len < 14 || po->data < body + 16 ||
	    po->data + po->len != body + len)
		abort();
	if (po->in_port >= VSW_FLOW_PORT_MAX &&
	    po->in_port != VSW_FLOW_PORT_LOCAL &&
	    po->in_port != VSW_FLOW_PORT_CONTROLLER)
		abort();
}

/* The fake switch: ports 1 .. 4; a frame's bytes are all read. */
static int fz_packet_out(void *arg, const struct vsw_ofp_packet_out *po,
			 struct vsw_ofp_err *err)
{
	struct fz_sw *sw = arg;
	unsigned i;
	size_t k;

	if (po->actions == NULL || po->len < 14)
		abort();
	for (k = 0; k < po->len; k++)
		sw->frame_sum += po->data[k]; /* ASan: inside the input */
	for (i = 0; i < po->actions->n; i++) {
		const struct vsw_flow_act *a = &po->actions->a[i];

		if (a->type == VSW_FLOW_ACT_OUTPUT && a->arg > 4 &&
		    a->arg != VSW_FLOW_PORT_TABLE) {
			err->type = VSW_OFPET_BAD_ACTION;
			err->code = VSW_OFPBAC_BAD_OUT_PORT;
			return -ENOENT;
		}
	}
	return 0;
}

static int fz_role(void *arg, struct vsw_ofp_conn *c, enum vsw_ofp_role role,
		   uint64_t generation_id, uint64_t *current,
		   struct vsw_ofp_err *err)
{
	struct fz_sw *sw = arg;

	(void)c;
	if (role != VSW_OFPCR_ROLE_MASTER && role != VSW_OFPCR_ROLE_SLAVE)
		return 0;
	if (vsw_ofp_role_gen_stale(&sw->gen, generation_id)) {
		err->type = VSW_OFPET_ROLE_REQUEST_FAILED;
		err->code = VSW_OFPRRFC_STALE;
		return -EPROTO;
	}
	*current = sw->gen.id;
	return 0;
}

/* What vswd queues on its own: a PACKET_IN and a PORT_STATUS. */
static void fz_async(struct vsw_ofp_conn *c, const uint8_t *data, size_t n,
		     unsigned k)
{
	struct vsw_ofp_packet_in pi = {
		.reason = (uint8_t)(k & 1),
		.table_id = (uint8_t)k,
		.cookie = k,
		.in_port = 1 + k % 4,
		.total_len = (uint32_t)n,
		.data = data,
		.len = n,
	};
	struct vsw_ofp_port p = {.port_no = 1 + k % 4, .link_down = k & 2};
	int rc;

	memcpy(p.name, "fz", 3);
	rc = vsw_ofp_conn_packet_in(c, &pi);
	if (rc != 0 && rc != -EAGAIN && rc != -ENOBUFS)
		abort();
	rc = vsw_ofp_conn_port_status(c, (enum vsw_ofp_port_reason)(k % 3), &p);
	if (rc != 0 && rc != -EAGAIN && rc != -ENOBUFS)
		abort();
}

static int fz_flow_mod(void *arg, const struct vsw_ofp_flow_mod *fm,
		       struct vsw_ofp_err *err)
{
	struct fz_sw *sw = arg;
	int rc;

	switch (fm->command) {
	case VSW_OFPFC_ADD:
		rc = vsw_flow_table_add(sw->t, &fm->spec, 0);
		break;
	case VSW_OFPFC_MODIFY:
	case VSW_OFPFC_MODIFY_STRICT:
		rc = vsw_flow_table_mod(sw->t, &fm->spec,
					fm->command == VSW_OFPFC_MODIFY_STRICT,
					0);
		break;
	default:
		rc = vsw_flow_table_del(sw->t, &fm->spec,
					fm->command == VSW_OFPFC_DELETE_STRICT);
		break;
	}
	if (rc < 0) {
		err->type = VSW_OFPET_FLOW_MOD_FAILED;
		err->code = VSW_OFPFMFC_UNKNOWN;
	}
	return rc < 0 ? rc : 0;
}

struct fz_dump {
	int (*emit)(void *ctx, const struct vsw_ofp_flow_entry *e);
	void *ctx;
};

static int fz_dump_cb(const struct vsw_flow_rule *r,
		      const struct vsw_flow_stats *st, const char *line,
		      void *arg)
{
	struct fz_dump *x = arg;
	struct vsw_ofp_flow_entry e = {0};

	(void)line;
	e.match = vsw_flow_rule_match(r);
	e.actions = vsw_flow_rule_actions(r);
	e.priority = (uint16_t)vsw_flow_rule_priority(r);
	vsw_flow_rule_timeouts(r, &e.cookie, &e.idle_timeout, &e.hard_timeout);
	e.n_packets = st->n_packets;
	e.table_id = (uint8_t)vsw_flow_rule_table(r);
	e.flags = (uint16_t)vsw_flow_rule_flags(r);
	return x->emit(x->ctx, &e);
}

/* Rules a delete removes: FLOW_REMOVED on the connection, as vswd does. */
static void fz_removed(void *arg, const struct vsw_flow_rule *r,
		       const struct vsw_flow_stats *st,
		       enum vsw_flow_removed_reason reason)
{
	struct fz_sw *sw = arg;
	struct vsw_ofp_flow_entry e = {0};

	e.match = vsw_flow_rule_match(r);
	e.priority = (uint16_t)vsw_flow_rule_priority(r);
	e.table_id = (uint8_t)vsw_flow_rule_table(r);
	e.n_packets = st->n_packets;
	if (sw->c != NULL &&
	    (vsw_flow_rule_flags(r) & VSW_FLOW_F_SEND_FLOW_REM))
		(void)vsw_ofp_conn_flow_removed(sw->c, &e, reason);
}

static void fz_table_stats(void *arg, uint8_t table, uint32_t *active,
			   uint64_t *lookups, uint64_t *matched)
{
	(void)arg;
	*active = table % 7 == 0;
	*lookups = table;
	*matched = table;
}

static int fz_flow_dump(void *arg,
			int (*emit)(void *ctx,
				    const struct vsw_ofp_flow_entry *e),
			void *ctx)
{
	struct fz_sw *sw = arg;
	struct fz_dump x = {emit, ctx};

	return vsw_flow_table_dump(sw->t, NULL, 0, fz_dump_cb, &x);
}

static int fz_port_dump(void *arg,
			int (*emit)(void *ctx, const struct vsw_ofp_port *p),
			void *ctx)
{
	struct vsw_ofp_port p = {.port_no = 1, .name = "p1"};

	(void)arg;
	return emit(ctx, &p);
}

static void fz_check_output(struct vsw_ofp_conn *c)
{
	size_t len, off = 0;
	const uint8_t *p = vsw_ofp_conn_output(c, &len);

	while (off < len) {
		size_t mlen;

		if (len - off < 8)
			abort();
		mlen = ofp_get16(p + off + 2);
		if (mlen < 8 || mlen > len - off)
			abort();
		if (p[off] != VSW_OFP_VERSION && p[off + 1] != VSW_OFPT_ERROR)
			abort();
		off += mlen;
	}
	vsw_ofp_conn_consume(c, len);
}

static void fz_packet_out_direct(const uint8_t *data, size_t size)
{
	struct vsw_ofp_packet_out po;
	struct vsw_ofp_err err;
	int rc;

	rc = vsw_ofp_decode_packet_out(data, size, &po, &err);
	if (rc != 0 && rc != -EPROTO)
		abort();
	if (rc == 0)
		fz_check_packet_out(&po, data, size);
	free(po.actions);
}

static void fz_flow_mod_direct(const uint8_t *data, size_t size)
{
	struct vsw_ofp_flow_mod fm;
	struct vsw_ofp_err err;
	struct ofp_buf b = {0};
	struct vsw_flow_match m2;
	size_t used, i;
	int rc;

	rc = vsw_ofp_decode_flow_mod(data, size, &fm, &err);
	if (rc != 0 && rc != -EPROTO && rc != -ENOMEM)
		abort();
	if (rc != 0)
		return;
	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		if ((fm.spec.match.key.w[i] & fm.spec.match.mask.w[i]) !=
		    fm.spec.match.key.w[i])
			abort();
	ofp_encode_match(&b, &fm.spec.match);
	if (!b.failed) {
		if (vsw_ofp_decode_match(b.p, b.len, &m2, &used, &err) != 0 ||
		    used != b.len ||
		    memcmp(&m2, &fm.spec.match, sizeof(m2)) != 0)
			abort();
	}
	ofp_buf_free(&b);
	vsw_flow_spec_fini(&fm.spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hello[] = {4, 0, 0, 16, 0, 0, 0, 1,
					0, 1, 0, 8,  0, 0, 0, 0x10};
	struct vsw_flow_table_config cfg = {0};
	struct fz_sw sw;
	struct vsw_ofp_ops ops = {
		.flow_mod = fz_flow_mod,
		.flow_dump = fz_flow_dump,
		.port_dump = fz_port_dump,
		.table_stats = fz_table_stats,
		.role = fz_role,
		.packet_out = fz_packet_out,
		.datapath_id = 1,
		.dp_desc = "fuzz",
	};
	struct vsw_flow_table *t;
	struct vsw_ofp_conn *c;
	size_t piece, off;
	unsigned k = 0;
	int rc = 0;

	if (size < 1 || size > 256 * 1024)
		return 0;
	if (vsw_flow_table_create(&cfg, 0, &t) < 0)
		return 0;
	memset(&sw, 0, sizeof(sw));
	sw.t = t;
	vsw_flow_table_set_removed_cb(sw.t, fz_removed, &sw);
	if (vsw_ofp_conn_create(&ops, &sw, &c) < 0) {
		vsw_flow_table_destroy(sw.t);
		return 0;
	}
	sw.c = c;
	fz_check_output(c);
	if (data[0] & 1)
		rc = vsw_ofp_conn_input(c, hello, sizeof(hello));
	piece = (size_t)1 << ((data[0] >> 1) & 7);
	for (off = 1; rc == 0 && off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;

		rc = vsw_ofp_conn_input(c, data + off, n);
		if (rc != 0 && rc != -EPROTO)
			abort();
		if (rc == 0 && (k++ & 7) == 0)
			fz_async(c, data + off, n, k);
		fz_check_output(c);
	}
	sw.c = NULL;
	vsw_ofp_conn_destroy(c);
	vsw_flow_table_destroy(sw.t);
	if (size > 9) {
		fz_flow_mod_direct(data + 9, size - 9);
		fz_packet_out_direct(data + 9, size - 9);
	}
	return 0;
}
