/* SPDX-License-Identifier: MIT */
/*
 * lib/ofp: the OpenFlow 1.3 connection and decoders against hand-built
 * messages, with a fake switch recording what reaches it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vsw_ofp.h"

/* ---- building messages ---- */

struct mb {
	uint8_t b[4096];
	size_t n;
};

static void put(struct mb *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void u8(struct mb *m, uint8_t v)
{
	put(m, &v, 1);
}

static void u16(struct mb *m, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(m, b, 2);
}

static void u32(struct mb *m, uint32_t v)
{
	u16(m, (uint16_t)(v >> 16));
	u16(m, (uint16_t)v);
}

static void u64(struct mb *m, uint64_t v)
{
	u32(m, (uint32_t)(v >> 32));
	u32(m, (uint32_t)v);
}

static void zero(struct mb *m, size_t n)
{
	static const uint8_t z[64];

	put(m, z, n);
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)g16(p) << 16 | g16(p + 2);
}

/* header with length patched by fin() */
static void hdr(struct mb *m, uint8_t ver, uint8_t type, uint32_t xid)
{
	m->n = 0;
	u8(m, ver);
	u8(m, type);
	u16(m, 0);
	u32(m, xid);
}

static void fin(struct mb *m)
{
	m->b[2] = (uint8_t)(m->n >> 8);
	m->b[3] = (uint8_t)m->n;
}

static void oxm(struct mb *m, unsigned field, const void *v, size_t n,
		const void *mask)
{
	u16(m, 0x8000);
	u8(m, (uint8_t)(field << 1 | (mask ? 1 : 0)));
	u8(m, (uint8_t)(mask ? 2 * n : n));
	put(m, v, n);
	if (mask)
		put(m, mask, n);
}

/* An NXM_1 (class 0x0001) field: Open vSwitch's tunnel fields. */
static void nxm(struct mb *m, unsigned field, const void *v, size_t n,
		const void *mask)
{
	u16(m, 0x0001);
	u8(m, (uint8_t)(field << 1 | (mask ? 1 : 0)));
	u8(m, (uint8_t)(mask ? 2 * n : n));
	put(m, v, n);
	if (mask)
		put(m, mask, n);
}

/* ofp_match over the OXM bytes of @f (n bytes), padded */
static void match(struct mb *m, const struct mb *f)
{
	size_t len = 4 + f->n;

	u16(m, 1);
	u16(m, (uint16_t)len);
	put(m, f->b, f->n);
	zero(m, (8 - len % 8) % 8);
}

static void flow_mod_head(struct mb *m, uint8_t cmd, uint16_t prio,
			  uint8_t table)
{
	hdr(m, 4, VSW_OFPT_FLOW_MOD, 42);
	u64(m, 0x77); /* cookie */
	u64(m, 0);    /* cookie mask */
	u8(m, table); /* table */
	u8(m, cmd);
	u16(m, 0);  /* idle */
	u16(m, 30); /* hard */
	u16(m, prio);
	u32(m, 0xffffffff); /* buffer */
	u32(m, 0xffffffff); /* out_port */
	u32(m, 0xffffffff); /* out_group */
	u16(m, 0);	    /* flags */
	zero(m, 2);
}

/* a GOTO_TABLE instruction */
static void inst_goto(struct mb *m, uint8_t table)
{
	u16(m, 1);
	u16(m, 8);
	u8(m, table);
	zero(m, 3);
}

static void apply_output(struct mb *m, uint32_t port)
{
	u16(m, 4);
	u16(m, 24);
	zero(m, 4);
	u16(m, 0);
	u16(m, 16);
	u32(m, port);
	u16(m, 0);
	zero(m, 6);
}

/* ---- the fake switch ---- */

struct fake {
	struct vsw_ofp_flow_mod last;
	bool got;
	struct vsw_flow_actions *acts;
	struct vsw_flow_match m;
	uint8_t table;
	uint16_t flags;
	struct vsw_ofp_role_gen gen;
	const struct vsw_ofp_port *port; /* port_dump's, NULL: 3 "vm1" */
	/* packet_out: calls, the last one's in_port / actions / frame */
	unsigned n_po;
	uint16_t po_in_port;
	unsigned po_n_acts;
	uint16_t po_out;
	size_t po_len;
	int po_rc; /* what packet_out returns */
};

static int fake_flow_mod(void *arg, const struct vsw_ofp_flow_mod *fm,
			 struct vsw_ofp_err *err)
{
	struct fake *f = arg;

	(void)err;
	f->last = *fm;
	f->last.spec.actions = NULL;
	f->got = true;
	return 0;
}

static int fake_flow_dump(void *arg,
			  int (*emit)(void *ctx,
				      const struct vsw_ofp_flow_entry *e),
			  void *ctx)
{
	struct fake *f = arg;
	struct vsw_ofp_flow_entry e = {
		.match = &f->m,
		.actions = f->acts,
		.priority = 7,
		.cookie = 0x99,
		.n_packets = 5,
		.n_bytes = 300,
		.duration_ms = 2500,
		.table_id = f->table,
		.flags = f->flags,
	};

	return emit(ctx, &e);
}

static int fake_port_dump(void *arg,
			  int (*emit)(void *ctx, const struct vsw_ofp_port *p),
			  void *ctx)
{
	struct fake *f = arg;
	struct vsw_ofp_port p = {.port_no = 3, .name = "vm1"};

	return emit(ctx, f->port != NULL ? f->port : &p);
}

static const struct vsw_ofp_ops fake_ops = {
	.flow_mod = fake_flow_mod,
	.flow_dump = fake_flow_dump,
	.port_dump = fake_port_dump,
	.datapath_id = 0x1234,
	.dp_desc = "test",
};

/* A connection past HELLO, our HELLO consumed. */
static struct vsw_ofp_conn *ready(struct fake *f)
{
	struct vsw_ofp_conn *c;
	struct mb m;
	size_t len;
	const uint8_t *out;

	assert_int_equal(vsw_ofp_conn_create(&fake_ops, f, &c), 0);
	out = vsw_ofp_conn_output(c, &len);
	assert_non_null(out);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], VSW_OFPT_HELLO);
	vsw_ofp_conn_consume(c, len);
	hdr(&m, 4, VSW_OFPT_HELLO, 1);
	u16(&m, 1); /* versionbitmap: 1.0 and 1.3 */
	u16(&m, 8);
	u32(&m, 1u << 1 | 1u << 4);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_true(vsw_ofp_conn_ready(c));
	return c;
}

/* The next queued message: its type, and the output consumed. */
static const uint8_t *next_msg(struct vsw_ofp_conn *c, uint8_t *buf,
			       size_t *mlen)
{
	size_t len;
	const uint8_t *out = vsw_ofp_conn_output(c, &len);

	assert_non_null(out);
	assert_true(len >= 8);
	*mlen = g16(out + 2);
	assert_true(*mlen <= len);
	memcpy(buf, out, *mlen);
	vsw_ofp_conn_consume(c, *mlen);
	return buf;
}

static void expect_error(struct vsw_ofp_conn *c, uint32_t xid, uint16_t type,
			 uint16_t code)
{
	uint8_t buf[VSW_OFP_MAX_MSG];
	size_t n;
	const uint8_t *r = next_msg(c, buf, &n);

	assert_int_equal(r[1], VSW_OFPT_ERROR);
	assert_int_equal(g32(r + 4), xid);
	assert_int_equal(g16(r + 8), type);
	assert_int_equal(g16(r + 10), code);
	assert_true(n >= 12);
}

/* Send @m (finished here); the answer must be the error @type / @code. */
static void refused(struct vsw_ofp_conn *c, struct mb *m, uint16_t type,
		    uint16_t code)
{
	fin(m);
	assert_int_equal(vsw_ofp_conn_input(c, m->b, m->n), 0);
	expect_error(c, g32(m->b + 4), type, code);
}

/* A FLOW_MOD add with match @x only: refused with BAD_MATCH @code. */
static void match_refused(struct vsw_ofp_conn *c, const struct mb *x,
			  uint16_t code)
{
	struct mb m;

	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, x);
	refused(c, &m, VSW_OFPET_BAD_MATCH, code);
}

/* OFPMP_FLOW for every rule of every table */
static void flow_stats_request(struct mb *m, uint32_t xid)
{
	struct mb none = {.n = 0};

	hdr(m, 4, VSW_OFPT_MULTIPART_REQUEST, xid);
	u16(m, 1); /* OFPMP_FLOW */
	u16(m, 0);
	zero(m, 4);
	u8(m, 0xff); /* all tables */
	zero(m, 3);
	u32(m, 0xffffffff); /* out_port, out_group: any */
	u32(m, 0xffffffff);
	zero(m, 4);
	u64(m, 0); /* cookie, mask */
	u64(m, 0);
	match(m, &none);
	fin(m);
}

/* ---- tests ---- */

static void test_hello_old_peer(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c;
	struct mb m;
	uint8_t buf[256];
	size_t len, n;
	const uint8_t *r;

	(void)state;
	assert_int_equal(vsw_ofp_conn_create(&fake_ops, &f, &c), 0);
	vsw_ofp_conn_output(c, &len);
	vsw_ofp_conn_consume(c, len);
	hdr(&m, 1, VSW_OFPT_HELLO, 9); /* an OpenFlow 1.0 only peer */
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), -EPROTO);
	r = next_msg(c, buf, &n);
	/* in the peer's version, so that it can read it */
	assert_int_equal(r[0], 1);
	assert_int_equal(r[1], VSW_OFPT_ERROR);
	assert_int_equal(g16(r + 8), VSW_OFPET_HELLO_FAILED);
	assert_int_equal(g16(r + 10), VSW_OFPHFC_INCOMPATIBLE);
	assert_false(vsw_ofp_conn_ready(c));
	vsw_ofp_conn_destroy(c);
}

static void test_echo_features_barrier_bytewise(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	uint8_t buf[256];
	struct mb m, all = {.n = 0};
	size_t i, n;
	const uint8_t *r;

	(void)state;
	hdr(&m, 4, VSW_OFPT_ECHO_REQUEST, 5);
	put(&m, "abc", 3);
	fin(&m);
	put(&all, m.b, m.n);
	hdr(&m, 4, VSW_OFPT_FEATURES_REQUEST, 6);
	fin(&m);
	put(&all, m.b, m.n);
	hdr(&m, 4, VSW_OFPT_BARRIER_REQUEST, 7);
	fin(&m);
	put(&all, m.b, m.n);
	/* one byte at a time: framing across reads */
	for (i = 0; i < all.n; i++)
		assert_int_equal(vsw_ofp_conn_input(c, all.b + i, 1), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_ECHO_REPLY);
	assert_int_equal(n, 11);
	assert_memory_equal(r + 8, "abc", 3);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_FEATURES_REPLY);
	assert_int_equal(g32(r + 4), 6);
	assert_int_equal(n, 32);
	assert_int_equal(g32(r + 12), 0x1234); /* low half of the dpid */
	assert_int_equal(r[20], 255);	       /* tables 0 .. 254 */
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_BARRIER_REPLY);
	assert_int_equal(g32(r + 4), 7);
	vsw_ofp_conn_destroy(c);
}

static void test_bad_messages(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	struct mb m;
	size_t len;

	(void)state;
	hdr(&m, 4, 29, 11); /* a type vsw does not handle */
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_TYPE);
	hdr(&m, 4, VSW_OFPT_MULTIPART_REQUEST, 12);
	u16(&m, 99); /* unknown multipart */
	u16(&m, 0);
	zero(&m, 4);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_MULTIPART);
	hdr(&m, 4, VSW_OFPT_FEATURES_REQUEST, 13);
	zero(&m, 4); /* features with a body */
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	hdr(&m, 1, VSW_OFPT_ECHO_REQUEST, 14); /* wrong version after HELLO */
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_VERSION);
	/* still usable */
	assert_false(f.got);
	/* a length below 8: no way to find the next message, closed */
	hdr(&m, 4, VSW_OFPT_ECHO_REQUEST, 15);
	m.b[3] = 4;
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), -EPROTO);
	assert_non_null(vsw_ofp_conn_output(c, &len));
	vsw_ofp_conn_destroy(c);
}

static void test_flow_mod_add(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	struct mb m, x = {.n = 0};
	uint8_t port[4] = {0, 0, 0, 1}, et[2] = {8, 0}, proto = 6;
	uint8_t dst[4] = {10, 0, 0, 0}, msk[4] = {255, 255, 255, 0};
	uint8_t tp[2] = {0, 80};
	size_t len;

	(void)state;
	oxm(&x, 0, port, 4, NULL);
	oxm(&x, 5, et, 2, NULL);
	oxm(&x, 10, &proto, 1, NULL);
	oxm(&x, 12, dst, 4, msk);
	oxm(&x, 14, tp, 2, NULL);
	flow_mod_head(&m, VSW_OFPFC_ADD, 100, 0);
	match(&m, &x);
	apply_output(&m, 2);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len)); /* no error */
	assert_true(f.got);
	assert_int_equal(f.last.command, VSW_OFPFC_ADD);
	assert_int_equal(f.last.spec.priority, 100);
	assert_int_equal(f.last.spec.hard_timeout, 30);
	assert_int_equal(f.last.spec.cookie, 0x77);
	assert_int_equal(f.last.spec.match.key.in_port, 1);
	assert_int_equal(f.last.spec.match.key.dl_type, 0x0800);
	assert_int_equal(f.last.spec.match.key.nw_proto, 6);
	assert_int_equal(f.last.spec.match.key.tp_dst, 80);
	assert_int_equal(f.last.spec.match.mask.nw_dst[3], 0);
	assert_int_equal(f.last.spec.match.mask.nw_dst[2], 255);
	vsw_ofp_conn_destroy(c);
}

static void test_flow_mod_refused(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	struct mb m, x = {.n = 0};
	uint8_t tp[2] = {0, 80}, et[2] = {8, 0};

	(void)state;
	/* tcp_dst without ip_proto: prerequisite missing */
	oxm(&x, 5, et, 2, NULL);
	oxm(&x, 14, tp, 2, NULL);
	match_refused(c, &x, VSW_OFPBMC_BAD_PREREQ);
	/* the same field twice */
	x.n = 0;
	oxm(&x, 5, et, 2, NULL);
	oxm(&x, 5, et, 2, NULL);
	match_refused(c, &x, VSW_OFPBMC_DUP_FIELD);
	/* an OXM field running past its match */
	x.n = 0;
	oxm(&x, 5, et, 2, NULL);
	x.b[3] = 200;
	match_refused(c, &x, VSW_OFPBMC_BAD_LEN);
	/* an add to table 255 (all) */
	x.n = 0;
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0xff);
	match(&m, &x);
	refused(c, &m, VSW_OFPET_FLOW_MOD_FAILED, VSW_OFPFMFC_BAD_TABLE_ID);
	/* goto_table to the rule's own table, and to an earlier one */
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 3);
	match(&m, &x);
	inst_goto(&m, 3);
	refused(c, &m, VSW_OFPET_BAD_INSTRUCTION, VSW_OFPBIC_BAD_TABLE_ID);
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 3);
	match(&m, &x);
	inst_goto(&m, 2);
	refused(c, &m, VSW_OFPET_BAD_INSTRUCTION, VSW_OFPBIC_BAD_TABLE_ID);
	/* to 255, which is no table */
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, &x);
	inst_goto(&m, 255);
	refused(c, &m, VSW_OFPET_BAD_INSTRUCTION, VSW_OFPBIC_BAD_TABLE_ID);
	/* goto_table of 16 bytes, and twice */
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, &x);
	u16(&m, 1);
	u16(&m, 16);
	u8(&m, 1);
	zero(&m, 11);
	refused(c, &m, VSW_OFPET_BAD_INSTRUCTION, VSW_OFPBIC_BAD_LEN);
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, &x);
	inst_goto(&m, 1);
	inst_goto(&m, 2);
	refused(c, &m, VSW_OFPET_BAD_INSTRUCTION, VSW_OFPBIC_UNSUP_INST);
	/* goto_table cut short: 4 bytes left */
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, &x);
	u16(&m, 1);
	u16(&m, 8);
	refused(c, &m, VSW_OFPET_BAD_INSTRUCTION, VSW_OFPBIC_BAD_LEN);
	/* output to TABLE: a packet-out's only, never a rule's */
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, &x);
	apply_output(&m, 0xfffffff9);
	refused(c, &m, VSW_OFPET_BAD_ACTION, VSW_OFPBAC_BAD_OUT_PORT);
	/* a match length past the message */
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	u16(&m, 1);
	u16(&m, 400);
	zero(&m, 4);
	refused(c, &m, VSW_OFPET_BAD_MATCH, VSW_OFPBMC_BAD_LEN);
	assert_false(f.got);
	vsw_ofp_conn_destroy(c);
}

static void test_flow_stats_roundtrip(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	struct vsw_flow_match back;
	struct vsw_ofp_err err;
	uint8_t buf[VSW_OFP_MAX_MSG];
	struct mb m;
	size_t n, used;
	const uint8_t *r;

	(void)state;
	/* a rule: vlan 10, ipv4 dst 10.1.0.0/16 -> mod_vlan_vid:20,output:4 */
	f.m.key.dl_type = 0x0800;
	f.m.mask.dl_type = 0xffff;
	f.m.key.vlan_tci = 0x1000 | 10;
	f.m.mask.vlan_tci = 0x1fff;
	f.m.key.nw_dst[0] = 10;
	f.m.key.nw_dst[1] = 1;
	f.m.mask.nw_dst[0] = 255;
	f.m.mask.nw_dst[1] = 255;
	f.acts = calloc(1, sizeof(*f.acts) + 2 * sizeof(f.acts->a[0]));
	assert_non_null(f.acts);
	f.acts->n = 2;
	f.acts->a[0].type = VSW_FLOW_ACT_SET_VLAN_VID;
	f.acts->a[0].arg = 20;
	f.acts->a[1].type = VSW_FLOW_ACT_OUTPUT;
	f.acts->a[1].arg = 4;
	flow_stats_request(&m, 21);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
	assert_int_equal(g16(r + 8), 1);
	r += 16;			      /* the flow_stats entry */
	assert_int_equal(g16(r + 12), 7);     /* priority */
	assert_int_equal(g32(r + 4), 2);      /* duration s */
	assert_int_equal(g32(r + 32 + 4), 5); /* packets */
	assert_int_equal(vsw_ofp_decode_match(r + 48, n - 16 - 48, &back, &used,
					      &err),
			 0);
	assert_memory_equal(&back, &f.m, sizeof(back));
	/* then APPLY_ACTIONS: set_field vlan_vid 4096|20, output 4 */
	r += 48 + used;
	assert_int_equal(g16(r), 4);
	assert_int_equal(g16(r + 8), 25);
	assert_int_equal(g16(r + 16), 0x1000 | 20);
	assert_int_equal(g16(r + 24), 0);
	assert_int_equal(g32(r + 28), 4);
	free(f.acts);
	vsw_ofp_conn_destroy(c);
}

/* goto_table and the flags decoded; goto_table encoded back in flow stats */
static void test_goto_table_and_flags(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	uint8_t buf[VSW_OFP_MAX_MSG];
	struct mb m, x = {.n = 0};
	size_t len, n;
	const uint8_t *r;

	(void)state;
	flow_mod_head(&m, VSW_OFPFC_ADD, 9, 4);
	m.b[8 + 36] = 0;
	m.b[8 + 37] = 0x7; /* send_flow_rem, check_overlap, reset_counts */
	match(&m, &x);
	/* goto first: OpenFlow runs it after apply_actions anyway */
	inst_goto(&m, 9);
	apply_output(&m, 2);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_true(f.got);
	assert_int_equal(f.last.spec.table_id, 4);
	assert_int_equal(f.last.spec.flags, VSW_FLOW_F_SEND_FLOW_REM |
						    VSW_FLOW_F_CHECK_OVERLAP |
						    VSW_FLOW_F_RESET_COUNTS);
	/* a delete of every table */
	f.got = false;
	flow_mod_head(&m, VSW_OFPFC_DELETE, 0, 0xff);
	match(&m, &x);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_true(f.last.table_all);
	assert_int_equal(f.last.spec.table_id, VSW_FLOW_TABLE_ALL);
	/* a goto-only rule in table 4 comes back as GOTO_TABLE 9 */
	f.acts = calloc(1, sizeof(*f.acts) + 2 * sizeof(f.acts->a[0]));
	assert_non_null(f.acts);
	f.acts->n = 2;
	f.acts->a[0].type = VSW_FLOW_ACT_OUTPUT;
	f.acts->a[0].arg = 2;
	f.acts->a[1].type = VSW_FLOW_ACT_GOTO_TABLE;
	f.acts->a[1].arg = 9;
	f.table = 4;
	f.flags = 1;
	flow_stats_request(&m, 22);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
	r += 16;
	assert_int_equal(r[2], 4);	  /* table_id */
	assert_int_equal(g16(r + 18), 1); /* flags */
	/* empty match (8), APPLY_ACTIONS(output 2) (24), GOTO_TABLE 9 (8) */
	assert_int_equal(g16(r), 48 + 8 + 24 + 8);
	assert_int_equal(g16(r + 56), 4);
	assert_int_equal(g16(r + 58), 24);
	assert_int_equal(g16(r + 80), 1);
	assert_int_equal(g16(r + 82), 8);
	assert_int_equal(r[84], 9);
	/* a flow stats request for table 7 only: the rule is in 4 */
	flow_stats_request(&m, 23);
	m.b[16] = 7;
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(n, 16); /* no entry */
	free(f.acts);
	vsw_ofp_conn_destroy(c);
}

static void role_request(struct mb *m, uint32_t xid, uint32_t role,
			 uint64_t gen)
{
	hdr(m, 4, VSW_OFPT_ROLE_REQUEST, xid);
	u32(m, role);
	zero(m, 4);
	u64(m, gen);
	fin(m);
}

static int fake_role(void *arg, struct vsw_ofp_conn *c, enum vsw_ofp_role role,
		     uint64_t gen, uint64_t *current, struct vsw_ofp_err *err)
{
	struct fake *f = arg;

	(void)c;
	if (role != VSW_OFPCR_ROLE_MASTER && role != VSW_OFPCR_ROLE_SLAVE) {
		*current = f->gen.id;
		return 0;
	}
	if (vsw_ofp_role_gen_stale(&f->gen, gen)) {
		err->type = VSW_OFPET_ROLE_REQUEST_FAILED;
		err->code = VSW_OFPRRFC_STALE;
		return -EPROTO;
	}
	return 0;
}

static void test_roles(void **state)
{
	static struct vsw_ofp_ops ops;
	struct fake f = {0};
	struct vsw_ofp_conn *c;
	uint8_t buf[VSW_OFP_MAX_MSG];
	struct mb m, x = {.n = 0};
	struct vsw_flow_match any = {0};
	struct vsw_ofp_flow_entry e = {.match = &any,
				       .priority = 5,
				       .cookie = 0xab,
				       .n_packets = 3,
				       .n_bytes = 180,
				       .duration_ms = 1500,
				       .table_id = 2,
				       .hard_timeout = 1};
	size_t len, n;
	const uint8_t *r;

	(void)state;
	ops = fake_ops;
	ops.role = fake_role;
	assert_int_equal(vsw_ofp_conn_create(&ops, &f, &c), 0);
	vsw_ofp_conn_output(c, &len);
	vsw_ofp_conn_consume(c, len);
	/* not ready: no asynchronous message */
	assert_false(
		vsw_ofp_conn_async_wanted(c, VSW_OFP_ASYNC_PORT_STATUS, 0));
	hdr(&m, 4, VSW_OFPT_HELLO, 1);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_int_equal(vsw_ofp_conn_role(c), VSW_OFPCR_ROLE_EQUAL);
	/* an equal controller gets FLOW_REMOVED */
	assert_int_equal(vsw_ofp_conn_flow_removed(c, &e, 1), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_FLOW_REMOVED);
	assert_int_equal(n, 8 + 40 + 8);
	assert_int_equal(g32(r + 12), 0xab);	  /* cookie (low half) */
	assert_int_equal(g16(r + 16), 5);	  /* priority */
	assert_int_equal(r[18], 1);		  /* reason: hard timeout */
	assert_int_equal(r[19], 2);		  /* table */
	assert_int_equal(g32(r + 20), 1);	  /* duration s */
	assert_int_equal(g32(r + 24), 500000000); /* ns */
	assert_int_equal(g16(r + 30), 1);	  /* hard_timeout */
	assert_int_equal(g32(r + 36), 3);	  /* packets */
	assert_int_equal(g32(r + 44), 180);	  /* bytes */
	assert_int_equal(g16(r + 48), 1);	  /* OXM match */
	/* slave with generation 10 */
	role_request(&m, 30, VSW_OFPCR_ROLE_SLAVE, 10);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_ROLE_REPLY);
	assert_int_equal(n, 24);
	assert_int_equal(g32(r + 8), VSW_OFPCR_ROLE_SLAVE);
	assert_int_equal(g32(r + 20), 10);
	assert_int_equal(vsw_ofp_conn_role(c), VSW_OFPCR_ROLE_SLAVE);
	/* a slave: no FLOW_REMOVED, port status yes, flow mods refused */
	assert_int_equal(vsw_ofp_conn_flow_removed(c, &e, 2), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_true(vsw_ofp_conn_async_wanted(c, VSW_OFP_ASYNC_PORT_STATUS, 0));
	assert_false(vsw_ofp_conn_async_wanted(c, VSW_OFP_ASYNC_PACKET_IN, 0));
	flow_mod_head(&m, VSW_OFPFC_ADD, 1, 0);
	match(&m, &x);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_IS_SLAVE);
	assert_false(f.got);
	/* a packet-out too, whatever its body */
	hdr(&m, 4, 13, 29); /* PACKET_OUT */
	zero(&m, 16);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_IS_SLAVE);
	/* nochange: the role stays, reply says slave and generation 10 */
	role_request(&m, 31, VSW_OFPCR_ROLE_NOCHANGE, 0);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(g32(r + 8), VSW_OFPCR_ROLE_SLAVE);
	assert_int_equal(g32(r + 20), 10);
	/* stale generation */
	role_request(&m, 32, VSW_OFPCR_ROLE_MASTER, 9);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	expect_error(c, 32, VSW_OFPET_ROLE_REQUEST_FAILED, VSW_OFPRRFC_STALE);
	assert_int_equal(vsw_ofp_conn_role(c), VSW_OFPCR_ROLE_SLAVE);
	/* wrapping: 2^64 - 1 then 0 is newer */
	f.gen.id = UINT64_MAX;
	role_request(&m, 33, VSW_OFPCR_ROLE_MASTER, 0);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(g32(r + 8), VSW_OFPCR_ROLE_MASTER);
	/* an unknown role, bad lengths */
	role_request(&m, 34, 7, 50);
	refused(c, &m, VSW_OFPET_ROLE_REQUEST_FAILED, VSW_OFPRRFC_BAD_ROLE);
	role_request(&m, 35, 1, 50);
	m.n -= 1;
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	role_request(&m, 36, 1, 50);
	zero(&m, 8);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	/* equal: no generation check, any id */
	role_request(&m, 37, VSW_OFPCR_ROLE_EQUAL, 1);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(g32(r + 8), VSW_OFPCR_ROLE_EQUAL);
	/* SET_ASYNC: no flow_removed for hard timeouts; GET_ASYNC shows it */
	hdr(&m, 4, VSW_OFPT_SET_ASYNC, 38);
	u32(&m, 3);
	u32(&m, 0);
	u32(&m, 7);
	u32(&m, 7);
	u32(&m, 0xd); /* idle, delete, group delete */
	u32(&m, 0);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_int_equal(vsw_ofp_conn_flow_removed(c, &e, 1), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_int_equal(vsw_ofp_conn_flow_removed(c, &e, 2), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_FLOW_REMOVED);
	hdr(&m, 4, VSW_OFPT_GET_ASYNC_REQUEST, 39);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_GET_ASYNC_REPLY);
	assert_int_equal(n, 32);
	assert_int_equal(g32(r + 24), 0xd);
	/* hostile lengths */
	hdr(&m, 4, VSW_OFPT_SET_ASYNC, 40);
	zero(&m, 20);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	hdr(&m, 4, VSW_OFPT_GET_ASYNC_REQUEST, 41);
	zero(&m, 1);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	vsw_ofp_conn_destroy(c);
}

/* A rule whose actions do not fit a message is left out, not cut. */
static void test_flow_stats_too_big(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	uint8_t buf[VSW_OFP_MAX_MSG];
	struct mb m;
	size_t n, i;
	const uint8_t *r;

	(void)state;
	f.acts = calloc(1, sizeof(*f.acts) + 5000 * sizeof(f.acts->a[0]));
	assert_non_null(f.acts);
	f.acts->n = 5000; /* 5000 outputs: 80,000 bytes of actions */
	for (i = 0; i < 5000; i++) {
		f.acts->a[i].type = VSW_FLOW_ACT_OUTPUT;
		f.acts->a[i].arg = 1;
	}
	flow_stats_request(&m, 22);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	/* the reply(ies): well-formed, no entry */
	do {
		r = next_msg(c, buf, &n);
		assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
		assert_int_equal(n, 16);
	} while (g16(r + 10) & 1);
	free(f.acts);
	vsw_ofp_conn_destroy(c);
}

static void test_port_stats(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	uint8_t buf[VSW_OFP_MAX_MSG];
	struct mb m;
	size_t n;
	const uint8_t *r;

	(void)state;
	hdr(&m, 4, VSW_OFPT_MULTIPART_REQUEST, 31);
	u16(&m, 4); /* OFPMP_PORT_STATS */
	u16(&m, 0);
	zero(&m, 4);
	u32(&m, 0xffffffff); /* all ports */
	zero(&m, 4);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
	assert_int_equal(n, 16 + 112);
	assert_int_equal(g32(r + 16), 3);
	/* the fake port has no counters: all ones, "unavailable" */
	assert_int_equal(g32(r + 24), 0xffffffff);
	/* a body of the wrong size */
	hdr(&m, 4, VSW_OFPT_MULTIPART_REQUEST, 32);
	u16(&m, 4);
	u16(&m, 0);
	zero(&m, 4);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	vsw_ofp_conn_destroy(c);
}

/*
 * Tunnel fields: OXM TUNNEL_ID and Open vSwitch's NXM tun_ipv4_src /
 * tun_ipv4_dst, in a match (a flow_mod, then flow stats encoding and
 * decoding back) and in set_field actions.
 */
static void test_tunnel_fields(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	struct vsw_flow_match back;
	struct vsw_ofp_err err;
	uint8_t buf[VSW_OFP_MAX_MSG];
	uint8_t id[8] = {0, 0, 0, 0, 0, 0, 0, 42}, idm[8];
	struct mb m, x = {.n = 0};
	size_t n, used, len;
	const uint8_t *r;

	(void)state;
	memset(idm, 0xff, sizeof(idm));
	idm[7] = 0xf0;
	oxm(&x, 38, id, 8, NULL);
	flow_mod_head(&m, VSW_OFPFC_ADD, 100, 0);
	match(&m, &x);
	apply_output(&m, 2);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_true(f.got);
	assert_int_equal(f.last.spec.match.key.tun_id, 42);
	assert_true(f.last.spec.match.mask.tun_id == ~0ULL);
	/* masked, and a wrong length refused */
	f.got = false;
	x.n = 0;
	oxm(&x, 38, id, 8, idm);
	flow_mod_head(&m, VSW_OFPFC_ADD, 100, 0);
	match(&m, &x);
	apply_output(&m, 2);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_true(f.last.spec.match.mask.tun_id == ~0xfULL);
	assert_int_equal(f.last.spec.match.key.tun_id, 32);
	x.n = 0;
	oxm(&x, 38, id, 4, NULL);
	match_refused(c, &x, VSW_OFPBMC_BAD_LEN);

	/* a rule on tun_id, tun_src/24, tun_dst -> set tun_dst, tun_id */
	memset(&f.m, 0, sizeof(f.m));
	f.m.key.tun_id = 0x2a;
	f.m.mask.tun_id = ~0ULL;
	f.m.key.tun_src[0] = 192;
	f.m.mask.tun_src[0] = f.m.mask.tun_src[1] = f.m.mask.tun_src[2] = 255;
	memset(f.m.key.tun_dst, 7, 4);
	memset(f.m.mask.tun_dst, 255, 4);
	f.acts = calloc(1, sizeof(*f.acts) + 3 * sizeof(f.acts->a[0]));
	assert_non_null(f.acts);
	f.acts->n = 3;
	f.acts->a[0].type = VSW_FLOW_ACT_SET_TUN_DST;
	memset(f.acts->a[0].ip4, 9, 4);
	f.acts->a[1].type = VSW_FLOW_ACT_SET_TUN_ID;
	f.acts->a[1].u64 = 0x1234;
	f.acts->a[2].type = VSW_FLOW_ACT_OUTPUT;
	f.acts->a[2].arg = 4;
	flow_stats_request(&m, 21);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
	r += 16;
	assert_int_equal(vsw_ofp_decode_match(r + 48, n - 16 - 48, &back, &used,
					      &err),
			 0);
	assert_memory_equal(&back, &f.m, sizeof(back));
	r += 48 + used;
	assert_int_equal(g16(r), 4);	  /* APPLY_ACTIONS */
	assert_int_equal(g16(r + 8), 25); /* set_field */
	assert_int_equal(g16(r + 12), 1); /* class NXM_1 */
	assert_int_equal(r[14], 32 << 1); /* tun_ipv4_dst */
	assert_int_equal(g32(r + 16), 0x09090909);
	assert_int_equal(g16(r + 24), 25);
	assert_int_equal(g16(r + 28), 0x8000);
	assert_int_equal(r[30], 38 << 1); /* tunnel_id */
	assert_int_equal(g32(r + 36), 0x1234);
	free(f.acts);
	f.acts = NULL;
	vsw_ofp_conn_destroy(c);
}

/* ---- PACKET_IN, PACKET_OUT, PORT_STATUS ---- */

static int fake_packet_out(void *arg, const struct vsw_ofp_packet_out *po,
			   struct vsw_ofp_err *err)
{
	struct fake *f = arg;

	f->n_po++;
	f->po_in_port = po->in_port;
	f->po_n_acts = po->actions->n;
	f->po_out = po->actions->n ? po->actions->a[0].arg : 0;
	f->po_len = po->len;
	if (f->po_rc < 0) {
		err->type = VSW_OFPET_BAD_REQUEST;
		err->code = VSW_OFPBRC_BAD_PORT;
	}
	return f->po_rc;
}

/* The PACKET_IN queued for @pi: its fields checked, its frame bytes. */
static size_t packet_in_msg(struct vsw_ofp_conn *c, uint8_t *buf,
			    uint32_t in_port_of, uint16_t total_len)
{
	size_t n;
	const uint8_t *r = next_msg(c, buf, &n);

	assert_int_equal(r[0], 4);
	assert_int_equal(r[1], VSW_OFPT_PACKET_IN);
	assert_int_equal(g32(r + 4), 0);	  /* xid: asynchronous */
	assert_int_equal(g32(r + 8), 0xffffffff); /* OFP_NO_BUFFER */
	assert_int_equal(g16(r + 12), total_len);
	/* match: OXM in_port only (4 + 8 bytes, padded to 16) */
	assert_int_equal(g16(r + 24), 1);
	assert_int_equal(g16(r + 26), 12);
	assert_int_equal(g32(r + 28), 0x80000004u);
	assert_int_equal(g32(r + 32), in_port_of);
	assert_int_equal(g32(r + 36), 0); /* match padding, then 2 bytes */
	assert_int_equal(g16(r + 40), 0);
	return n - 42; /* the frame, from r + 42 */
}

static void test_packet_in_encode(void **state)
{
	static const uint8_t big_frame[70000];
	struct fake f = {0};
	struct vsw_ofp_conn *c;
	uint8_t frame[100], buf[VSW_OFP_MAX_MSG];
	struct vsw_ofp_packet_in pi = {
		.reason = 1,
		.table_id = 3,
		.cookie = 0x1122334455667788ull,
		.in_port = 5,
		.total_len = sizeof(frame),
		.data = frame,
		.len = sizeof(frame),
	};
	struct mb m;
	size_t len, n;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	/* not ready: nothing queued */
	assert_int_equal(vsw_ofp_conn_create(&fake_ops, &f, &c), 0);
	vsw_ofp_conn_output(c, &len);
	vsw_ofp_conn_consume(c, len);
	assert_int_equal(vsw_ofp_conn_packet_in(c, &pi), -EAGAIN);
	assert_null(vsw_ofp_conn_output(c, &len));
	vsw_ofp_conn_destroy(c);

	c = ready(&f);
	assert_int_equal(vsw_ofp_conn_packet_in(c, &pi), 0);
	n = packet_in_msg(c, buf, 5, sizeof(frame));
	assert_int_equal(buf[14], 1); /* reason: action */
	assert_int_equal(buf[15], 3); /* table */
	assert_int_equal(g32(buf + 16), 0x11223344);
	assert_int_equal(g32(buf + 20), 0x55667788);
	assert_int_equal(n, sizeof(frame));
	assert_memory_equal(buf + 42, frame, sizeof(frame));

	/*
	 * miss_send_len 64 (SET_CONFIG): vsw buffers nothing, so the frame
	 * still goes whole with NO_BUFFER (OpenFlow 1.3 A.4.1)
	 */
	hdr(&m, 4, VSW_OFPT_SET_CONFIG, 9);
	u16(&m, 0);
	u16(&m, 64);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	pi.reason = 0;
	assert_int_equal(vsw_ofp_conn_packet_in(c, &pi), 0);
	n = packet_in_msg(c, buf, 5, sizeof(frame));
	assert_int_equal(buf[14], 0); /* no_match */
	assert_int_equal(n, sizeof(frame));

	/* a frame the data path cut (max_len): total_len says how long */
	pi.total_len = 1500;
	pi.len = 60;
	assert_int_equal(vsw_ofp_conn_packet_in(c, &pi), 0);
	n = packet_in_msg(c, buf, 5, 1500);
	assert_int_equal(n, 60);
	assert_memory_equal(buf + 42, frame, 60);

	/* LOCAL is OpenFlow's 0xfffffffe */
	pi.in_port = VSW_FLOW_PORT_LOCAL;
	pi.total_len = pi.len = 20;
	assert_int_equal(vsw_ofp_conn_packet_in(c, &pi), 0);
	assert_int_equal(packet_in_msg(c, buf, 0xfffffffe, 20), 20);

	/* bigger than a message: cut to 65535 bytes, total_len 65535 */
	pi.in_port = 1;
	pi.data = big_frame;
	pi.total_len = pi.len = sizeof(big_frame);
	assert_int_equal(vsw_ofp_conn_packet_in(c, &pi), 0);
	n = packet_in_msg(c, buf, 1, 0xffff);
	assert_int_equal(n + 42, VSW_OFP_MAX_MSG);
	vsw_ofp_conn_destroy(c);
}

/* A PACKET_OUT body after the header: buffer, in_port, actions_len. */
static void po_head(struct mb *m, uint32_t buffer, uint32_t in_port,
		    uint16_t alen)
{
	hdr(m, 4, VSW_OFPT_PACKET_OUT, 50);
	u32(m, buffer);
	u32(m, in_port);
	u16(m, alen);
	zero(m, 6);
}

static void act_output(struct mb *m, uint32_t port)
{
	u16(m, 0);
	u16(m, 16);
	u32(m, port);
	u16(m, 0xffff);
	zero(m, 6);
}

/* Decode @m's body: the error code, or 0 with @po filled. */
static int po_decode(struct mb *m, struct vsw_ofp_packet_out *po,
		     uint16_t *type, uint16_t *code)
{
	struct vsw_ofp_err err = {0};
	int rc;

	fin(m);
	rc = vsw_ofp_decode_packet_out(m->b + 8, m->n - 8, po, &err);
	*type = err.type;
	*code = err.code;
	if (rc < 0) {
		assert_int_equal(rc, -EPROTO);
		assert_null(po->actions);
	}
	return rc;
}

static void po_refused(struct mb *m, uint16_t type, uint16_t code)
{
	struct vsw_ofp_packet_out po;
	uint16_t t, k;

	assert_int_equal(po_decode(m, &po, &t, &k), -EPROTO);
	assert_int_equal(t, type);
	assert_int_equal(k, code);
}

static void test_packet_out_decode(void **state)
{
	static const struct {
		uint32_t of;
		uint16_t vsw;
	} ins[] = {
		{1, 1},
		{0xfeff, 0xfeff},
		{0xfffffffe, VSW_FLOW_PORT_LOCAL},
		{0xfffffffd, VSW_FLOW_PORT_CONTROLLER},
		{0xffffffff, VSW_FLOW_PORT_CONTROLLER}, /* OFPP_ANY */
	};
	static const struct {
		uint32_t buffer;
		uint16_t alen;
		unsigned n_out, frame;
		uint16_t type, code;
	} bad[] = {
		/* a buffer id: vsw buffers nothing */
		{7, 16, 1, 14, VSW_OFPET_BAD_REQUEST,
		 VSW_OFPBRC_BUFFER_UNKNOWN},
		/* actions_len past the message */
		{0xffffffff, 48, 1, 14, VSW_OFPET_BAD_REQUEST,
		 VSW_OFPBRC_BAD_LEN},
		/* actions_len not a multiple of 8 */
		{0xffffffff, 12, 1, 14, VSW_OFPET_BAD_REQUEST,
		 VSW_OFPBRC_BAD_LEN},
		/* data empty, and shorter than an Ethernet header */
		{0xffffffff, 16, 1, 0, VSW_OFPET_BAD_REQUEST,
		 VSW_OFPBRC_BAD_LEN},
		{0xffffffff, 16, 1, 13, VSW_OFPET_BAD_REQUEST,
		 VSW_OFPBRC_BAD_LEN},
		/* an action whose own length runs past actions_len */
		{0xffffffff, 8, 1, 14, VSW_OFPET_BAD_ACTION,
		 VSW_OFPBAC_BAD_LEN},
	};
	static const uint32_t bad_ins[] = {0,	       0xff00,	   0xffffff00,
					   0xfffffff8, 0xfffffffa, 0xfffffffc};
	struct vsw_ofp_packet_out po;
	struct mb m;
	uint16_t t, k;
	unsigned i;

	(void)state;
	/* one output, a 60-byte frame */
	po_head(&m, 0xffffffff, 1, 16);
	act_output(&m, 2);
	zero(&m, 60);
	assert_int_equal(po_decode(&m, &po, &t, &k), 0);
	assert_int_equal(po.in_port, 1);
	assert_non_null(po.actions);
	assert_int_equal(po.actions->n, 1);
	assert_int_equal(po.actions->a[0].type, VSW_FLOW_ACT_OUTPUT);
	assert_int_equal(po.actions->a[0].arg, 2);
	assert_ptr_equal(po.data, m.b + 8 + 16 + 16);
	assert_int_equal(po.len, 60);
	free(po.actions);
	/* OFPP_TABLE: allowed in a packet-out only */
	po_head(&m, 0xffffffff, 1, 16);
	act_output(&m, 0xfffffff9);
	zero(&m, 14);
	assert_int_equal(po_decode(&m, &po, &t, &k), 0);
	assert_int_equal(po.actions->a[0].arg, VSW_FLOW_PORT_TABLE);
	assert_int_equal(po.len, 14);
	free(po.actions);
	/* no actions: a drop, still a valid message */
	po_head(&m, 0xffffffff, 1, 0);
	zero(&m, 20);
	assert_int_equal(po_decode(&m, &po, &t, &k), 0);
	assert_int_equal(po.actions->n, 0);
	free(po.actions);
	/* every in_port form */
	for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		po_head(&m, 0xffffffff, ins[i].of, 16);
		act_output(&m, 2);
		zero(&m, 14);
		assert_int_equal(po_decode(&m, &po, &t, &k), 0);
		assert_int_equal(po.in_port, ins[i].vsw);
		free(po.actions);
	}
	/* in_port invalid: 0, past the ports, reserved ones not a port */
	for (i = 0; i < sizeof(bad_ins) / sizeof(bad_ins[0]); i++) {
		po_head(&m, 0xffffffff, bad_ins[i], 16);
		act_output(&m, 2);
		zero(&m, 14);
		po_refused(&m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_PORT);
	}
	/* each refusal: buffer, actions_len, outputs, frame bytes, error */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned j;

		po_head(&m, bad[i].buffer, 1, bad[i].alen);
		for (j = 0; j < bad[i].n_out; j++)
			act_output(&m, 2);
		zero(&m, bad[i].frame);
		po_refused(&m, bad[i].type, bad[i].code);
	}
	/* shorter than the fixed part */
	hdr(&m, 4, VSW_OFPT_PACKET_OUT, 50);
	u32(&m, 0xffffffff);
	u32(&m, 1);
	u16(&m, 0);
	zero(&m, 5);
	po_refused(&m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	/* an action length of 0 (would never advance) */
	po_head(&m, 0xffffffff, 1, 16);
	u16(&m, 0);
	u16(&m, 0);
	zero(&m, 12 + 14);
	po_refused(&m, VSW_OFPET_BAD_ACTION, VSW_OFPBAC_BAD_LEN);
}

/* PACKET_OUT through a connection: to the switch, or an ERROR. */
static void test_packet_out_conn(void **state)
{
	static struct vsw_ofp_ops ops;
	struct fake f = {0};
	struct vsw_ofp_conn *c;
	struct mb m;
	size_t len;

	(void)state;
	/* a switch without packet_out: BAD_TYPE */
	c = ready(&f);
	po_head(&m, 0xffffffff, 1, 16);
	act_output(&m, 2);
	zero(&m, 14);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_TYPE);
	vsw_ofp_conn_destroy(c);

	ops = fake_ops;
	ops.packet_out = fake_packet_out;
	assert_int_equal(vsw_ofp_conn_create(&ops, &f, &c), 0);
	vsw_ofp_conn_output(c, &len);
	vsw_ofp_conn_consume(c, len);
	hdr(&m, 4, VSW_OFPT_HELLO, 1);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	po_head(&m, 0xffffffff, 0xfffffffd, 16);
	act_output(&m, 3);
	zero(&m, 64);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len)); /* no answer: done */
	assert_int_equal(f.n_po, 1);
	assert_int_equal(f.po_in_port, VSW_FLOW_PORT_CONTROLLER);
	assert_int_equal(f.po_n_acts, 1);
	assert_int_equal(f.po_out, 3);
	assert_int_equal(f.po_len, 64);
	/* refused by the decoder: the switch never sees it */
	po_head(&m, 0xffffffff, 1, 200);
	zero(&m, 14);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_LEN);
	assert_int_equal(f.n_po, 1);
	/* refused by the switch: its error goes back with the xid */
	f.po_rc = -ENOENT;
	po_head(&m, 0xffffffff, 1, 16);
	act_output(&m, 4);
	zero(&m, 14);
	refused(c, &m, VSW_OFPET_BAD_REQUEST, VSW_OFPBRC_BAD_PORT);
	assert_int_equal(f.n_po, 2);
	vsw_ofp_conn_destroy(c);
}

/* The next message is a PORT_STATUS with @reason; its ofp_port. */
static const uint8_t *port_status_msg(struct vsw_ofp_conn *c, uint8_t *buf,
				      uint8_t reason)
{
	size_t n;
	const uint8_t *r = next_msg(c, buf, &n);
	unsigned i;

	assert_int_equal(r[1], VSW_OFPT_PORT_STATUS);
	assert_int_equal(n, 8 + 8 + 64);
	assert_int_equal(g32(r + 4), 0);
	assert_int_equal(r[8], reason);
	for (i = 9; i < 16; i++)
		assert_int_equal(r[i], 0); /* pad */
	return r + 16;
}

static void test_port_status_encode(void **state)
{
	struct vsw_ofp_port p = {
		.port_no = 7,
		.hw_addr = {0x02, 0, 0, 0, 0, 0x07},
		.name = "a-long-port-nam", /* 15 bytes: all kept */
		.link_down = true,
		.has_stats = true,
		.rx_packets = 9,
	};
	struct vsw_ofp_port q;
	struct fake f = {.port = &p};
	struct vsw_ofp_conn *c;
	uint8_t buf[VSW_OFP_MAX_MSG], mpbuf[VSW_OFP_MAX_MSG];
	const uint8_t *op, *r;
	struct mb m;
	size_t len, n;

	(void)state;
	assert_int_equal(vsw_ofp_conn_create(&fake_ops, &f, &c), 0);
	vsw_ofp_conn_output(c, &len);
	vsw_ofp_conn_consume(c, len);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_ADD, &p),
			 -EAGAIN);
	assert_null(vsw_ofp_conn_output(c, &len));
	vsw_ofp_conn_destroy(c);

	c = ready(&f);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_ADD, &p), 0);
	op = port_status_msg(c, buf, 0);
	assert_int_equal(g32(op), 7);
	assert_memory_equal(op + 8, p.hw_addr, 6);
	assert_memory_equal(op + 16, "a-long-port-nam", 16); /* NUL ended */
	assert_int_equal(g32(op + 32), 0);		     /* config */
	assert_int_equal(g32(op + 36), 1); /* state: LINK_DOWN */
	/* the same bytes as PORT_DESC lists */
	hdr(&m, 4, VSW_OFPT_MULTIPART_REQUEST, 60);
	u16(&m, 13);
	u16(&m, 0);
	zero(&m, 4);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, mpbuf, &n);
	assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
	assert_int_equal(n, 16 + 64);
	assert_memory_equal(r + 16, op, 64);
	/* link up: LIVE; a name too long is cut at 15 bytes */
	p.link_down = false;
	memcpy(p.name, "0123456789abcdef", 16);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_MODIFY, &p), 0);
	op = port_status_msg(c, buf, 2);
	assert_int_equal(g32(op + 36), 4); /* state: LIVE */
	assert_memory_equal(op + 16, "0123456789abcde", 16);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_DELETE, &p), 0);
	port_status_msg(c, buf, 1);
	assert_int_equal(vsw_ofp_conn_port_status(c, 3, &p), -EINVAL);
	assert_null(vsw_ofp_conn_output(c, &len));

	/* SET_ASYNC: port status off for master / equal, on for slave */
	hdr(&m, 4, VSW_OFPT_SET_ASYNC, 61);
	/* (master / equal, slave) masks: packet-in, port status, removed */
	u32(&m, 3);
	u32(&m, 0);
	u32(&m, 0);
	u32(&m, 1u << VSW_OFPPR_DELETE);
	u32(&m, 15);
	u32(&m, 0);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_ADD, &p), 0);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_MODIFY, &p), 0);
	assert_null(vsw_ofp_conn_output(c, &len)); /* masked: nothing */
	/* a slave: only the reasons of its own mask (delete) */
	vsw_ofp_conn_set_role(c, VSW_OFPCR_ROLE_SLAVE);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_ADD, &p), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_DELETE, &p), 0);
	port_status_msg(c, buf, 1);
	vsw_ofp_conn_destroy(c);

	/* a slave with the default masks gets every port status */
	c = ready(&f);
	vsw_ofp_conn_set_role(c, VSW_OFPCR_ROLE_SLAVE);
	assert_int_equal(vsw_ofp_conn_port_status(c, VSW_OFPPR_ADD, &p), 0);
	port_status_msg(c, buf, 0);
	vsw_ofp_conn_destroy(c);

	/* what a MODIFY is: the encoded description, not the counters */
	q = p;
	q.rx_packets = 1000;
	q.has_stats = false;
	assert_true(vsw_ofp_port_desc_eq(&p, &q));
	q.link_down = true;
	assert_false(vsw_ofp_port_desc_eq(&p, &q));
	q = p;
	q.hw_addr[5] = 9;
	assert_false(vsw_ofp_port_desc_eq(&p, &q));
	q = p;
	q.name[2] = 'x';
	assert_false(vsw_ofp_port_desc_eq(&p, &q));
}

/* One flow_mod with the match fields x and output:2; its spec in f. */
static void add_with(struct vsw_ofp_conn *c, struct fake *f,
		     const struct mb *x)
{
	struct mb m;
	size_t len;

	f->got = false;
	flow_mod_head(&m, VSW_OFPFC_ADD, 100, 0);
	match(&m, x);
	apply_output(&m, 2);
	fin(&m);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	assert_null(vsw_ofp_conn_output(c, &len));
	assert_true(f->got);
}

/*
 * The tunnel extension: NXM tun_ipv6_src / tun_ipv6_dst (fields 109 / 110,
 * with masks) and tun_metadata0 .. 7 (fields 40 .. 47, variable length as
 * ovs-ofctl sends them: the fewest bytes), in matches and set_field; 9
 * significant bytes, a field beyond tun_metadata7 and odd masked lengths
 * refused.
 */
static void test_tunnel_ext_fields(void **state)
{
	struct fake f = {0};
	struct vsw_ofp_conn *c = ready(&f);
	struct vsw_flow_match back;
	struct vsw_ofp_err err;
	uint8_t buf[VSW_OFP_MAX_MSG];
	static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const uint8_t p64[16] = {0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff};
	static const uint8_t v1[1] = {5};
	static const uint8_t v8[8] = {0x11, 0x22, 0, 0, 0x55, 0x66, 0, 0};
	static const uint8_t m8[8] = {0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0};
	static const uint8_t v9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const uint8_t v10[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	struct mb m, x = {.n = 0};
	size_t n, used;
	const uint8_t *r;

	(void)state;
	/* what ovs-ofctl sends for tun_ipv6_src=2001:db8::1,
	 * tun_ipv6_dst=2001:db8::/64,tun_metadata0=0x5,
	 * tun_metadata7=0x1122334455667788/0xffff0000ffff0000 */
	nxm(&x, 109, a6, 16, NULL);
	nxm(&x, 110, a6, 16, p64);
	nxm(&x, 40, v1, 1, NULL);
	nxm(&x, 47, v8, 8, m8);
	add_with(c, &f, &x);
	assert_memory_equal(f.last.spec.match.ext.ipv6_src, a6, 16);
	assert_memory_equal(f.last.spec.match.ext_mask.ipv6_dst, p64, 16);
	assert_int_equal(f.last.spec.match.ext.ipv6_dst[15], 0); /* masked */
	assert_true(f.last.spec.match.ext.meta[0] == 5);
	assert_true(f.last.spec.match.ext_mask.meta[0] == ~0ULL);
	assert_true(f.last.spec.match.ext.meta[7] == 0x1122000055660000ULL);
	assert_true(f.last.spec.match.ext_mask.meta[7] ==
		    0xffff0000ffff0000ULL);
	/* 10 bytes with leading zeros: fine; 9 significant ones: refused */
	x.n = 0;
	nxm(&x, 41, v10, 10, NULL);
	add_with(c, &f, &x);
	assert_true(f.last.spec.match.ext.meta[1] == 7);
	x.n = 0;
	nxm(&x, 41, v9, 9, NULL);
	match_refused(c, &x, VSW_OFPBMC_BAD_VALUE);
	/* tun_metadata8 (field 48): not a field vsw has */
	x.n = 0;
	nxm(&x, 48, v1, 1, NULL);
	match_refused(c, &x, VSW_OFPBMC_BAD_FIELD);
	/* an IPv6 address of the wrong length */
	x.n = 0;
	nxm(&x, 109, a6, 8, NULL);
	match_refused(c, &x, VSW_OFPBMC_BAD_LEN);
	/* a zero-length tun_metadata */
	x.n = 0;
	nxm(&x, 42, v1, 0, NULL);
	match_refused(c, &x, VSW_OFPBMC_BAD_LEN);

	/* encoded back (flow stats): the same match, the same bytes */
	memset(&f.m, 0, sizeof(f.m));
	memcpy(f.m.ext.ipv6_dst, a6, 16);
	memset(f.m.ext_mask.ipv6_dst, 0xff, 16);
	f.m.ext.meta[2] = 0x1234;
	f.m.ext_mask.meta[2] = ~0ULL;
	f.m.ext.meta[5] = 0x100;
	f.m.ext_mask.meta[5] = 0xff00;
	f.acts = calloc(1, sizeof(*f.acts) + 3 * sizeof(f.acts->a[0]));
	assert_non_null(f.acts);
	f.acts->n = 3;
	f.acts->a[0].type = VSW_FLOW_ACT_SET_TUN_IPV6_DST;
	memcpy(f.acts->a[0].ip6, a6, 16);
	f.acts->a[1].type = VSW_FLOW_ACT_SET_TUN_METADATA;
	f.acts->a[1].arg = 2;
	f.acts->a[1].u64 = 0x1234;
	f.acts->a[2].type = VSW_FLOW_ACT_OUTPUT;
	f.acts->a[2].arg = 4;
	flow_stats_request(&m, 22);
	assert_int_equal(vsw_ofp_conn_input(c, m.b, m.n), 0);
	r = next_msg(c, buf, &n);
	assert_int_equal(r[1], VSW_OFPT_MULTIPART_REPLY);
	r += 16;
	assert_int_equal(vsw_ofp_decode_match(r + 48, n - 16 - 48, &back, &used,
					      &err),
			 0);
	assert_memory_equal(&back, &f.m, sizeof(back));
	/* the match's fields: tun_ipv6_dst, tun_metadata2 (2 bytes),
	 * tun_metadata5 (2 + 2 bytes, masked) */
	assert_int_equal(g16(r + 48 + 4), 1);
	assert_int_equal(r[48 + 6], 110 << 1);
	assert_int_equal(r[48 + 7], 16);
	assert_int_equal(r[48 + 24 + 2], 42 << 1);
	assert_int_equal(r[48 + 24 + 3], 2);
	assert_int_equal(g16(r + 48 + 24 + 4), 0x1234);
	assert_int_equal(r[48 + 30 + 2], 45 << 1 | 1);
	assert_int_equal(r[48 + 30 + 3], 4);
	r += 48 + used;
	assert_int_equal(g16(r), 4);	  /* APPLY_ACTIONS */
	assert_int_equal(g16(r + 8), 25); /* set_field */
	assert_int_equal(g16(r + 10), 24);
	assert_int_equal(g16(r + 12), 1); /* class NXM_1 */
	assert_int_equal(r[14], 110 << 1); /* tun_ipv6_dst */
	assert_memory_equal(r + 16, a6, 16);
	assert_int_equal(g16(r + 32), 25);
	assert_int_equal(g16(r + 34), 16);
	assert_int_equal(r[38], 42 << 1); /* tun_metadata2 */
	assert_int_equal(r[39], 2);
	assert_int_equal(g16(r + 40), 0x1234);
	free(f.acts);
	f.acts = NULL;

	/* set_field decoding: tun_ipv6_src; tun_metadata3 of 9 bytes */
	{
		struct vsw_ofp_flow_mod fm;
		struct mb a;

		x.n = 0;
		flow_mod_head(&a, VSW_OFPFC_ADD, 1, 0);
		match(&a, &x);
		u16(&a, 4); /* APPLY_ACTIONS: one set_field of 24 bytes */
		u16(&a, 8 + 24);
		zero(&a, 4);
		u16(&a, 25);
		u16(&a, 24);
		nxm(&a, 109, a6, 16, NULL);
		fin(&a);
		assert_int_equal(vsw_ofp_decode_flow_mod(a.b + 8, a.n - 8, &fm,
							 &err),
				 0);
		assert_int_equal(fm.spec.actions->n, 1);
		assert_int_equal(fm.spec.actions->a[0].type,
				 VSW_FLOW_ACT_SET_TUN_IPV6_SRC);
		assert_memory_equal(fm.spec.actions->a[0].ip6, a6, 16);
		vsw_flow_spec_fini(&fm.spec);
		flow_mod_head(&a, VSW_OFPFC_ADD, 1, 0);
		match(&a, &x);
		u16(&a, 4);
		u16(&a, 8 + 24);
		zero(&a, 4);
		u16(&a, 25);
		u16(&a, 24);
		nxm(&a, 43, v9, 9, NULL);
		zero(&a, 7);
		fin(&a);
		assert_int_equal(vsw_ofp_decode_flow_mod(a.b + 8, a.n - 8, &fm,
							 &err),
				 -EPROTO);
		assert_int_equal(err.type, VSW_OFPET_BAD_ACTION);
	}
	vsw_ofp_conn_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_old_peer),
		cmocka_unit_test(test_echo_features_barrier_bytewise),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_flow_mod_add),
		cmocka_unit_test(test_flow_mod_refused),
		cmocka_unit_test(test_flow_stats_roundtrip),
		cmocka_unit_test(test_tunnel_fields),
		cmocka_unit_test(test_tunnel_ext_fields),
		cmocka_unit_test(test_goto_table_and_flags),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_flow_stats_too_big),
		cmocka_unit_test(test_port_stats),
		cmocka_unit_test(test_packet_in_encode),
		cmocka_unit_test(test_packet_out_decode),
		cmocka_unit_test(test_packet_out_conn),
		cmocka_unit_test(test_port_status_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
