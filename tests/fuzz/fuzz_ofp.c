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
 * del, dump), so what a FLOW_MOD decodes to is used as vswd would.
 *
 * Invariants, checked with abort():
 *   - vsw_ofp_conn_input returns 0 or -EPROTO; once it returned -EPROTO
 *     the harness stops feeding (as vswd closes);
 *   - the output is a whole sequence of messages, each at least 8 bytes,
 *     version 1.3 (or the peer's own in a HELLO_FAILED error);
 *   - a decoded FLOW_MOD's match is normalised (key & mask == key) and
 *     encodes to an ofp_match that decodes back to the same match.
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
};

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
		.datapath_id = 1,
		.dp_desc = "fuzz",
	};
	struct vsw_ofp_conn *c;
	size_t piece, off;
	int rc = 0;

	if (size < 1 || size > 256 * 1024)
		return 0;
	if (vsw_flow_table_create(&cfg, 0, &sw.t) < 0)
		return 0;
	sw.c = NULL;
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
		fz_check_output(c);
	}
	sw.c = NULL;
	vsw_ofp_conn_destroy(c);
	vsw_flow_table_destroy(sw.t);
	if (size > 9)
		fz_flow_mod_direct(data + 9, size - 9);
	return 0;
}
