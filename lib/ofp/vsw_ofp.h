/* SPDX-License-Identifier: MIT */
/*
 * vsw_ofp: OpenFlow 1.3 (wire version 0x04) for vswd: the messages a
 * controller or ovs-ofctl sends, decoded into vsw's flow table terms
 * (vsw/flow.h), and one connection's state machine.
 *
 * The library does no I/O and owns no event loop: the caller reads bytes
 * from its socket into vsw_ofp_conn_input(), writes what
 * vsw_ofp_conn_output() holds and calls vsw_ofp_conn_consume() with what
 * it wrote. Everything the switch must do or tell (a flow change, the
 * table's rules, the ports) goes through struct vsw_ofp_ops.
 *
 * Tables: OpenFlow tables 0 .. 254 are vsw's (vsw/flow.h), goto_table the
 * instruction between them. Roles (ROLE_REQUEST): each connection is
 * equal, master or slave; the switch side (struct vsw_ofp_ops.role)
 * keeps the generation id and demotes the other masters. A slave's
 * FLOW_MOD / PACKET_OUT get BAD_REQUEST / IS_SLAVE and it receives no
 * asynchronous message but PORT_STATUS (as SET_ASYNC's defaults say).
 * The switch side tells every connection of a port added, deleted or
 * changed with vsw_ofp_conn_port_status(), which applies those masks.
 *
 * Threads: one connection is used by one thread at a time (vswd's control
 * thread).
 */
#ifndef VSW_OFP_H
#define VSW_OFP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/flow.h>

#define VSW_OFP_VERSION 0x04 /* OpenFlow 1.3 */
#define VSW_OFP_HEADER_LEN 8
#define VSW_OFP_MAX_MSG 65535

/* Message types (ofp_type) vsw uses. */
enum {
	VSW_OFPT_HELLO = 0,
	VSW_OFPT_ERROR = 1,
	VSW_OFPT_ECHO_REQUEST = 2,
	VSW_OFPT_ECHO_REPLY = 3,
	VSW_OFPT_EXPERIMENTER = 4,
	VSW_OFPT_FEATURES_REQUEST = 5,
	VSW_OFPT_FEATURES_REPLY = 6,
	VSW_OFPT_GET_CONFIG_REQUEST = 7,
	VSW_OFPT_GET_CONFIG_REPLY = 8,
	VSW_OFPT_SET_CONFIG = 9,
	VSW_OFPT_PACKET_IN = 10,
	VSW_OFPT_PORT_STATUS = 12,
	VSW_OFPT_PACKET_OUT = 13,
	VSW_OFPT_FLOW_MOD = 14,
	VSW_OFPT_MULTIPART_REQUEST = 18,
	VSW_OFPT_MULTIPART_REPLY = 19,
	VSW_OFPT_BARRIER_REQUEST = 20,
	VSW_OFPT_BARRIER_REPLY = 21,
	VSW_OFPT_FLOW_REMOVED = 11,
	VSW_OFPT_ROLE_REQUEST = 24,
	VSW_OFPT_ROLE_REPLY = 25,
	VSW_OFPT_GET_ASYNC_REQUEST = 26,
	VSW_OFPT_GET_ASYNC_REPLY = 27,
	VSW_OFPT_SET_ASYNC = 28,
};

/* Controller roles (ofp_controller_role). */
enum vsw_ofp_role {
	VSW_OFPCR_ROLE_NOCHANGE = 0,
	VSW_OFPCR_ROLE_EQUAL = 1,
	VSW_OFPCR_ROLE_MASTER = 2,
	VSW_OFPCR_ROLE_SLAVE = 3,
};

/* Asynchronous message kinds (the index into SET_ASYNC's mask pairs). */
enum vsw_ofp_async {
	VSW_OFP_ASYNC_PACKET_IN = 0,
	VSW_OFP_ASYNC_PORT_STATUS = 1,
	VSW_OFP_ASYNC_FLOW_REMOVED = 2,
};

/* Error types and the codes vsw sends (ofp_error_type, ..._code). */
enum {
	VSW_OFPET_HELLO_FAILED = 0,
	VSW_OFPET_BAD_REQUEST = 1,
	VSW_OFPET_BAD_ACTION = 2,
	VSW_OFPET_BAD_INSTRUCTION = 3,
	VSW_OFPET_BAD_MATCH = 4,
	VSW_OFPET_FLOW_MOD_FAILED = 5,
	VSW_OFPET_SWITCH_CONFIG_FAILED = 10,
	VSW_OFPET_ROLE_REQUEST_FAILED = 11,
};
enum {
	VSW_OFPHFC_INCOMPATIBLE = 0,
	VSW_OFPBRC_BAD_VERSION = 0,
	VSW_OFPBRC_BAD_TYPE = 1,
	VSW_OFPBRC_BAD_MULTIPART = 2,
	VSW_OFPBRC_BAD_LEN = 6,
	VSW_OFPBRC_BUFFER_EMPTY = 7,
	VSW_OFPBRC_BUFFER_UNKNOWN = 8,
	VSW_OFPBRC_BAD_TABLE_ID = 9,
	VSW_OFPBRC_IS_SLAVE = 10,
	VSW_OFPBRC_BAD_PORT = 11,
	VSW_OFPBRC_MULTIPART_BUFFER_OVERFLOW = 13,
	VSW_OFPBAC_BAD_TYPE = 0,
	VSW_OFPBAC_BAD_LEN = 1,
	VSW_OFPBAC_BAD_OUT_PORT = 4,
	VSW_OFPBAC_BAD_ARGUMENT = 5,
	VSW_OFPBAC_BAD_SET_TYPE = 13,
	VSW_OFPBAC_BAD_SET_LEN = 14,
	VSW_OFPBAC_BAD_SET_ARGUMENT = 15,
	VSW_OFPBIC_UNKNOWN_INST = 0,
	VSW_OFPBIC_UNSUP_INST = 1,
	VSW_OFPBIC_BAD_TABLE_ID = 2,
	VSW_OFPBIC_BAD_LEN = 6,
	VSW_OFPBMC_BAD_TYPE = 0,
	VSW_OFPBMC_BAD_LEN = 1,
	VSW_OFPBMC_BAD_FIELD = 6,
	VSW_OFPBMC_BAD_VALUE = 7,
	VSW_OFPBMC_BAD_MASK = 8,
	VSW_OFPBMC_BAD_PREREQ = 9,
	VSW_OFPBMC_DUP_FIELD = 10,
	VSW_OFPFMFC_UNKNOWN = 0,
	VSW_OFPFMFC_TABLE_FULL = 1,
	VSW_OFPFMFC_BAD_TABLE_ID = 2,
	VSW_OFPFMFC_OVERLAP = 3,
	VSW_OFPFMFC_BAD_COMMAND = 6,
	VSW_OFPFMFC_BAD_FLAGS = 7,
	VSW_OFPSCFC_BAD_FLAGS = 0,
	VSW_OFPRRFC_STALE = 0,
	VSW_OFPRRFC_UNSUP = 1,
	VSW_OFPRRFC_BAD_ROLE = 2,
};

/* An OpenFlow error to answer a request with. */
struct vsw_ofp_err {
	uint16_t type;
	uint16_t code;
	char why[128]; /* for the log */
};

/* FLOW_MOD commands. */
enum vsw_ofp_fm_cmd {
	VSW_OFPFC_ADD = 0,
	VSW_OFPFC_MODIFY = 1,
	VSW_OFPFC_MODIFY_STRICT = 2,
	VSW_OFPFC_DELETE = 3,
	VSW_OFPFC_DELETE_STRICT = 4,
};

/*
 * A decoded FLOW_MOD. spec.table_id is the table (VSW_FLOW_TABLE_ALL for a
 * modify / delete of OFPTT_ALL); spec.flags the OFPFF_* flags vsw keeps.
 */
struct vsw_ofp_flow_mod {
	enum vsw_ofp_fm_cmd command;
	bool table_all;	      /* modify / delete: table_id OFPTT_ALL */
	uint64_t cookie_mask; /* modify / delete: select by cookie too */
	uint16_t flags;	      /* OFPFF_* */
	/* match, priority, timeouts, cookie, out_port (delete) and actions */
	struct vsw_flow_spec spec;
};

/*
 * Decode the body of a FLOW_MOD (after the 8-byte header, @len bytes).
 * Peer input: every length is checked. 0 and @fm filled (release with
 * vsw_flow_spec_fini(&fm->spec)); -EPROTO with @err the OpenFlow error to
 * answer; -ENOMEM.
 */
int vsw_ofp_decode_flow_mod(const uint8_t *body, size_t len,
			    struct vsw_ofp_flow_mod *fm,
			    struct vsw_ofp_err *err);

/*
 * Decode an ofp_match (OXM) at @p (@avail bytes there) into @m; *used is
 * its padded length. 0, or -EPROTO with @err.
 */
int vsw_ofp_decode_match(const uint8_t *p, size_t avail,
			 struct vsw_flow_match *m, size_t *used,
			 struct vsw_ofp_err *err);

/* A decoded PACKET_OUT (the frame is not buffered: OFP_NO_BUFFER only). */
struct vsw_ofp_packet_out {
	uint16_t in_port; /* an ofport, LOCAL or VSW_FLOW_PORT_CONTROLLER */
	/*
	 * owned (free()); OUTPUT to VSW_FLOW_PORT_TABLE is OpenFlow's
	 * OFPP_TABLE, allowed here only
	 */
	struct vsw_flow_actions *actions;
	const uint8_t *data; /* the frame, in the message */
	size_t len;	     /* >= 14 */
};

/*
 * Decode the body of a PACKET_OUT (@len bytes after the header). Peer
 * input: every length checked. 0 (free po->actions), -EPROTO with @err.
 */
int vsw_ofp_decode_packet_out(const uint8_t *body, size_t len,
			      struct vsw_ofp_packet_out *po,
			      struct vsw_ofp_err *err);

/* A frame for the controller (PACKET_IN, OFP_NO_BUFFER). */
struct vsw_ofp_packet_in {
	uint8_t reason; /* 0 no_match, 1 action */
	uint8_t table_id;
	uint64_t cookie;
	uint32_t in_port;   /* vsw ofport */
	uint32_t total_len; /* the frame's length (cut at 65535) */
	const uint8_t *data;
	size_t len; /* bytes sent: at most what fits one message */
};

/* One rule as the switch reports it (multipart flow / aggregate). */
struct vsw_ofp_flow_entry {
	const struct vsw_flow_match *match;
	const struct vsw_flow_actions *actions;
	uint16_t priority;
	uint16_t idle_timeout;
	uint16_t hard_timeout;
	uint64_t cookie;
	uint64_t n_packets;
	uint64_t n_bytes;
	uint64_t duration_ms;
	uint8_t table_id;
	uint16_t flags; /* OFPFF_* */
};

/* A port (features / port-desc). */
struct vsw_ofp_port {
	uint32_t port_no;
	uint8_t hw_addr[6];
	char name[16]; /* NUL-padded; longer names are cut */
	bool link_down;
	/* port stats; has_stats false: the counters are unknown */
	bool has_stats;
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
	uint64_t rx_dropped, tx_dropped;
};

/* What a flow / aggregate request selects. */
struct vsw_ofp_flow_filter {
	struct vsw_flow_match match;
	uint8_t table_id;  /* VSW_FLOW_TABLE_ALL: any (zero: table 0) */
	uint16_t out_port; /* VSW_FLOW_PORT_NONE: any */
	uint64_t cookie, cookie_mask;
};

/* true if @e is selected by @f (non-strict match, out_port, cookie). */
bool vsw_ofp_filter_match(const struct vsw_ofp_flow_filter *f,
			  const struct vsw_ofp_flow_entry *e);

struct vsw_ofp_conn;

struct vsw_ofp_ops {
	/*
	 * Apply @fm to the table. 0, or a negative errno with @err set
	 * (-ENOSPC: the table is full).
	 */
	int (*flow_mod)(void *arg, const struct vsw_ofp_flow_mod *fm,
			struct vsw_ofp_err *err);
	/*
	 * Call @emit for every rule (any order, the caller's); stop on and
	 * return a non-zero @emit value.
	 */
	int (*flow_dump)(void *arg,
			 int (*emit)(void *ctx,
				     const struct vsw_ofp_flow_entry *e),
			 void *ctx);
	/* Call @emit for every port; as flow_dump. */
	int (*port_dump)(void *arg,
			 int (*emit)(void *ctx, const struct vsw_ofp_port *p),
			 void *ctx);
	/*
	 * Number of rules, lookups and matches of table @table_id; the
	 * table stats reply lists table 0 and every table with rules. One
	 * request calls it for tables 0, 1, ... 254 in that order (so the
	 * switch side may count them all at table 0).
	 */
	void (*table_stats)(void *arg, uint8_t table_id, uint32_t *active,
			    uint64_t *lookups, uint64_t *matched);
	/*
	 * A ROLE_REQUEST from @c (@role, @generation_id): for master or
	 * slave, 0 if accepted (the caller then sets @c's role; for a new
	 * master the switch side has already made every other master a
	 * slave), or -EPROTO with @err (ROLE_REQUEST_FAILED / STALE); equal
	 * and nochange are always accepted. *@current: the generation id the
	 * reply carries (the switch's last one; preset to the request's).
	 * NULL: every request accepted, no generation check.
	 */
	int (*role)(void *arg, struct vsw_ofp_conn *c, enum vsw_ofp_role role,
		    uint64_t generation_id, uint64_t *current,
		    struct vsw_ofp_err *err);
	/*
	 * Send a PACKET_OUT's frame. 0, or a negative errno with @err set.
	 * NULL: PACKET_OUT is refused (BAD_REQUEST / BAD_TYPE).
	 */
	int (*packet_out)(void *arg, const struct vsw_ofp_packet_out *po,
			  struct vsw_ofp_err *err);
	/* A line for the log (errors a peer caused, at debug/info). */
	void (*log)(void *arg, bool error, const char *msg);
	uint64_t datapath_id;
	const char *dp_desc; /* "bridge br0" */
};

/*
 * The generation id rule of OpenFlow 1.3 section 6.3.5, for the switch
 * side of ops.role: @g holds the last one seen (set false: none yet).
 * true if @generation_id is stale (older than the last, in the wrapping
 * sense); else it becomes the last and false is returned.
 */
struct vsw_ofp_role_gen {
	bool set;
	uint64_t id;
};
bool vsw_ofp_role_gen_stale(struct vsw_ofp_role_gen *g, uint64_t generation_id);

/*
 * A connection whose transport just came up: it queues our HELLO. 0,
 * -ENOMEM.
 */
int vsw_ofp_conn_create(const struct vsw_ofp_ops *ops, void *arg,
			struct vsw_ofp_conn **out);
void vsw_ofp_conn_destroy(struct vsw_ofp_conn *c); /* NULL ok */

/*
 * Bytes from the peer. Handles every whole message they complete, queueing
 * the answers. 0; -EPROTO when the connection must be closed (a length
 * below 8, no common version, the output over its limit): after queueing
 * an error where one applies, so flush the output before closing.
 */
int vsw_ofp_conn_input(struct vsw_ofp_conn *c, const uint8_t *data, size_t len);
/* Queued output (NULL / 0 when none). */
const uint8_t *vsw_ofp_conn_output(const struct vsw_ofp_conn *c, size_t *len);
void vsw_ofp_conn_consume(struct vsw_ofp_conn *c, size_t n);
/* true once both HELLOs were exchanged with version 1.3. */
bool vsw_ofp_conn_ready(const struct vsw_ofp_conn *c);
/*
 * Queue a PACKET_IN. 0; -EAGAIN (not ready yet: nothing queued), -ENOBUFS
 * (output full). The frame goes whole (up to what one message holds) with
 * OFP_NO_BUFFER whatever miss_send_len is: vsw buffers nothing, and
 * OpenFlow 1.3 (A.4.1) sends an unbuffered packet entire.
 */
int vsw_ofp_conn_packet_in(struct vsw_ofp_conn *c,
			   const struct vsw_ofp_packet_in *pi);

/* PORT_STATUS reasons (ofp_port_reason). */
enum vsw_ofp_port_reason {
	VSW_OFPPR_ADD = 0,
	VSW_OFPPR_DELETE = 1,
	VSW_OFPPR_MODIFY = 2,
};
/*
 * Queue a PORT_STATUS for @p (its ofp_port the same as in a PORT_DESC
 * reply) if the peer wants it (vsw_ofp_conn_async_wanted: SET_ASYNC's
 * port-status mask of its role). 0 (queued or not wanted); -EAGAIN (not
 * ready yet: nothing queued), -ENOBUFS (output full), -EINVAL (@reason
 * unknown).
 */
int vsw_ofp_conn_port_status(struct vsw_ofp_conn *c,
			     enum vsw_ofp_port_reason reason,
			     const struct vsw_ofp_port *p);
/*
 * true if @a and @b encode to the same ofp_port (number, address, name,
 * state): a change between them is a PORT_STATUS MODIFY. The counters are
 * not compared.
 */
bool vsw_ofp_port_desc_eq(const struct vsw_ofp_port *a,
			  const struct vsw_ofp_port *b);
/* Queue an ECHO_REQUEST (keepalive). */
int vsw_ofp_conn_echo(struct vsw_ofp_conn *c);
/* Messages received / errors sent so far. */
uint64_t vsw_ofp_conn_n_rx(const struct vsw_ofp_conn *c);
uint64_t vsw_ofp_conn_n_errors(const struct vsw_ofp_conn *c);

/* The connection's role (EQUAL until a ROLE_REQUEST changes it). */
enum vsw_ofp_role vsw_ofp_conn_role(const struct vsw_ofp_conn *c);
/* Set it (the switch side demoting a master to slave). */
void vsw_ofp_conn_set_role(struct vsw_ofp_conn *c, enum vsw_ofp_role role);
/*
 * true if the peer wants asynchronous messages of @kind for @reason (the
 * SET_ASYNC masks of its role; the OpenFlow 1.3 defaults: a master or equal
 * gets everything, a slave PORT_STATUS only), and the connection is ready.
 */
bool vsw_ofp_conn_async_wanted(const struct vsw_ofp_conn *c,
			       enum vsw_ofp_async kind, unsigned reason);
/*
 * Queue a FLOW_REMOVED for @e (its counters, duration, cookie, match,
 * table) with @reason (OFPRR_*: idle 0, hard 1, delete 2), if the peer
 * wants it (vsw_ofp_conn_async_wanted). 0 (sent or not wanted), -ENOBUFS.
 */
int vsw_ofp_conn_flow_removed(struct vsw_ofp_conn *c,
			      const struct vsw_ofp_flow_entry *e,
			      unsigned reason);

/* Most output queued before the peer is cut off as not reading. */
#define VSW_OFP_TX_MAX (16u << 20)
/* Most unread output an asynchronous message (PACKET_IN...) is added to. */
#define VSW_OFP_ASYNC_MAX (1u << 20)

#endif /* VSW_OFP_H */
