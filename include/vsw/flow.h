/* SPDX-License-Identifier: MIT */
/*
 * vsw_flow: an OpenFlow-style flow table: tables 0 .. 254 of one pipeline
 * ("table=N"), a packet entering at table 0 and moving on with
 * goto_table:N (always to a higher table, as OpenFlow 1.3 requires).
 * Keys include the tunnel metadata of frames out of vxlan / geneve ports.
 *
 * Pieces, from the packet path up:
 *  - a flow key (struct vsw_flow_key): every header field a rule can match,
 *    parsed once per packet by vsw_flow_key_extract();
 *  - a classifier (tuple space search): one hash table per distinct mask
 *    ("subtable"), visited in descending order of the highest priority it
 *    holds, stopping as soon as no remaining subtable can beat the best
 *    match found;
 *  - an exact-match cache (struct vsw_flow_emc), one per (data thread,
 *    table): full key -> rule, in front of the classifier;
 *  - the ovs-ofctl syntax: FLOW strings are parsed into a struct
 *    vsw_flow_spec and rules are printed the way `ovs-ofctl dump-flows`
 *    prints them; add / del (strict or not) / mod (strict or not) follow
 *    ovs-ofctl's OpenFlow 1.0 semantics.
 *
 * Ports are OpenFlow port numbers ("ofports", 1 .. 0xfeff) the caller
 * assigns; VSW_FLOW_PORT_LOCAL is the bridge's internal port. Names are
 * accepted in rules through a caller-supplied resolver.
 *
 * Threads and memory (RCU-like):
 *  - Every vsw_flow_table_* function that changes the table is called from
 *    one control thread. Data threads only call vsw_flow_lookup(),
 *    vsw_flow_emc_*(), vsw_flow_rule_actions() and vsw_flow_rule_account(),
 *    without locks.
 *  - A rule, its actions and the classifier's internal objects stay valid
 *    for a data thread until it passes a quiescent point (a moment where it
 *    holds no pointer it got from the table). The control thread frees
 *    nothing before the table's sync hook (struct vsw_flow_table_config)
 *    has returned 0; the hook must wait until every data thread has passed
 *    a quiescent point (the switch's grace period), or fail. One sync per changing
 *    call at most, however many rules it removes.
 *
 * Errors: 0 / a count, or a negative errno; functions taking err / err_len
 * write a one-line message there (NUL-terminated, empty on success).
 *
 * Plugging it into a switch (one table per bridge):
 *  - control thread: vsw_flow_table_create() with cfg.sync = the switch's
 *    grace-period wait; add / del / mod / dump from the RPC handlers
 *    (vsw_flow_parse() turns the ovs-ofctl text into a spec, with a port
 *    map resolving port names to ofports); vsw_flow_table_expire() from
 *    the control loop about once a second.
 *  - data thread, per received burst: vsw_flow_key_extract() of each frame
 *    as received (in_port = its ofport); vsw_flow_emc_lookup_burst() with
 *    the thread's cache for that bridge; vsw_flow_rule_account() once per
 *    distinct rule of the burst; then each packet's actions in order:
 *    edits through vsw_flow_act_edit(), OUTPUT to an ofport (LOCAL: the
 *    bridge's internal port; OpenFlow drops an OUTPUT to the packet's own
 *    in port, IN_PORT is the way back), NORMAL through the learning switch,
 *    FLOOD / ALL to every port but the in port. A NULL rule drops. When
 *    VSW_FLOW_ACTS_EDIT_AFTER_OUT is set, outputs see different versions of
 *    the packet: hand it to each output before applying the next edit.
 *  - quiescent point: the end of the data thread's loop iteration, where it
 *    already reports to the switch's grace period.
 */
#ifndef VSW_FLOW_H
#define VSW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/pkt.h>

/* ---- ports ---- */

/* Reserved OpenFlow 1.0 port numbers (ofp_port). */
#define VSW_FLOW_PORT_MAX 0xff00     /* last usable ofport + 1 */
#define VSW_FLOW_PORT_IN_PORT 0xfff8 /* "in_port" */
#define VSW_FLOW_PORT_TABLE 0xfff9 /* packet-out: through the table */
#define VSW_FLOW_PORT_NORMAL 0xfffa
#define VSW_FLOW_PORT_FLOOD 0xfffb
#define VSW_FLOW_PORT_ALL 0xfffc
#define VSW_FLOW_PORT_CONTROLLER 0xfffd /* OpenFlow controllers */
#define VSW_FLOW_PORT_LOCAL 0xfffe
#define VSW_FLOW_PORT_NONE 0xffff

/* ---- flow key ---- */

#define VSW_FLOW_KEY_WORDS 10
/* Words of the key that hold tunnel metadata (zero for other frames). */
#define VSW_FLOW_KEY_TUN_WORD 7
/* vlan_tci: set when the frame carries an 802.1Q header (OVS's CFI bit). */
#define VSW_FLOW_TCI_PRESENT 0x1000

/*
 * Every field a rule can match, in network byte order for addresses and
 * CPU order for numbers. Unused fields are zero, so the key can be hashed
 * and compared as VSW_FLOW_KEY_WORDS 64-bit words. As in OVS, the ARP
 * opcode (low byte) lives in nw_proto, ARP addresses in nw_src / nw_dst,
 * and ICMP type / code in tp_src / tp_dst. IPv4 addresses use the first 4
 * bytes of nw_src / nw_dst.
 *
 * The tunnel extension (outer IPv6 addresses, geneve options as
 * tun_metadata0 .. 7: struct vsw_pkt_tun_ext) is not in the words: the
 * key points at the packet's copy (tun_ext, valid while the packet is) and
 * holds a token of it (tun_ext_token, a hash, never 0 when the extension
 * is not all zero). Hash and equality of keys cover the token; a match
 * compares the extension itself (vsw_flow_match_key()), and a cache that
 * only has the token must not take it for the extension (the EMC does not
 * cache keys with a token, see docs/performance.md).
 */
struct vsw_flow_key {
	union {
		uint64_t w[VSW_FLOW_KEY_WORDS];
		struct {
			uint16_t in_port;
			uint16_t vlan_tci; /* VID | PCP << 13 | TCI_PRESENT */
			uint16_t dl_type;
			uint8_t nw_proto;
			uint8_t nw_tos; /* DSCP << 2 (ECN bits zero) */
			uint8_t dl_dst[6];
			uint8_t dl_src[6];
			uint16_t tp_src;
			uint16_t tp_dst;
			uint8_t nw_src[16];
			uint8_t nw_dst[16];
			/*
			 * Tunnel metadata of a frame received on a vxlan /
			 * geneve port (struct vsw_pkt_tun), else zero:
			 * tun_id (the VNI), the outer IPv4 source and
			 * destination (network order; zero with an IPv6
			 * underlay), the token of the extension.
			 */
			uint64_t tun_id;
			uint8_t tun_src[4];
			uint8_t tun_dst[4];
			uint64_t tun_ext_token;
		};
	};
	/* NULL: an all-zero extension; always NULL in a match */
	const struct vsw_pkt_tun_ext *tun_ext;
};

/*
 * Parse a frame (len bytes) into key. Never fails: what cannot be parsed
 * (a truncated header, an IPv4 non-first fragment's ports) is left zero.
 * Reads at most the L2-L4 headers; peer input, any bytes are safe. Any
 * thread. Returns the key's hash (vsw_flow_key_hash()).
 */
uint32_t vsw_flow_key_extract(const uint8_t *frame, uint32_t len,
			      uint16_t in_port, struct vsw_flow_key *key);
/* The token of a non-zero tunnel extension (never 0). */
uint64_t vsw_flow_tun_ext_token(const struct vsw_pkt_tun_ext *e);
/*
 * Copy a packet's tunnel metadata (if it has any, VSW_PKT_F_TUN) into a
 * key vsw_flow_key_parse() filled; a packet without leaves the key's
 * tunnel words zero. The key then points at the packet's extension: it
 * must not outlive the packet. Any thread, on a packet it owns.
 */
static inline void vsw_flow_key_tun(const struct vsw_pkt *pkt,
				    struct vsw_flow_key *key)
{
	const struct vsw_pkt_tun *t;
	uint64_t any = 0;
	unsigned i;

	if (!(pkt->flags & VSW_PKT_F_TUN))
		return;
	t = vsw_pkt_tun_md(pkt);
	key->tun_id = t->id;
	for (i = 0; i < 4; i++) {
		key->tun_src[i] = t->src[i];
		key->tun_dst[i] = t->dst[i];
	}
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		any |= t->ext.w[i];
	if (any != 0) {
		key->tun_ext = &t->ext;
		key->tun_ext_token = vsw_flow_tun_ext_token(&t->ext);
	}
}
/* The same without the hash. */
void vsw_flow_key_parse(const uint8_t *frame, uint32_t len, uint16_t in_port,
			struct vsw_flow_key *key);

/* Hash of the whole key (what the EMC uses). */
uint32_t vsw_flow_key_hash(const struct vsw_flow_key *key);

static inline bool vsw_flow_key_eq(const struct vsw_flow_key *a,
				   const struct vsw_flow_key *b)
{
	uint64_t d = 0;
	unsigned i;

	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		d |= a->w[i] ^ b->w[i];
	return d == 0;
}

/*
 * vsw_flow_key_eq() and, when both have a token, the same extension: two
 * frames of a burst that may share one lookup. Data threads.
 */
static inline bool vsw_flow_key_eq_ext(const struct vsw_flow_key *a,
				       const struct vsw_flow_key *b)
{
	unsigned i;

	if (!vsw_flow_key_eq(a, b))
		return false;
	if (a->tun_ext_token == 0 || a->tun_ext == b->tun_ext)
		return true;
	for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
		if (a->tun_ext->w[i] != b->tun_ext->w[i])
			return false;
	return true;
}

/*
 * vsw_flow_key_eq() for two keys whose tunnel words are both known to be
 * zero (neither packet had tunnel metadata): the packet fields only.
 */
static inline bool vsw_flow_key_eq_notun(const struct vsw_flow_key *a,
					 const struct vsw_flow_key *b)
{
	uint64_t d = 0;
	unsigned i;

	for (i = 0; i < VSW_FLOW_KEY_TUN_WORD; i++)
		d |= a->w[i] ^ b->w[i];
	return d == 0;
}

/* A match: the bits of key that matter are those set in mask. */
struct vsw_flow_match {
	struct vsw_flow_key key; /* key & mask == key always */
	struct vsw_flow_key mask;
	/* the tunnel extension's bits that matter (ext & ext_mask == ext) */
	struct vsw_pkt_tun_ext ext;
	struct vsw_pkt_tun_ext ext_mask;
};

/* true if key matches m. */
bool vsw_flow_match_key(const struct vsw_flow_match *m,
			const struct vsw_flow_key *key);

/* ---- actions ---- */

enum vsw_flow_act_type {
	VSW_FLOW_ACT_OUTPUT = 0,   /* port: an ofport or LOCAL */
	VSW_FLOW_ACT_IN_PORT,	   /* back out of the in port */
	VSW_FLOW_ACT_NORMAL,	   /* the learning switch */
	VSW_FLOW_ACT_FLOOD,	   /* every port but the in port */
	VSW_FLOW_ACT_ALL,	   /* every port but the in port (no STP) */
	VSW_FLOW_ACT_SET_VLAN_VID, /* vid; pushes a tag if there is none */
	VSW_FLOW_ACT_SET_VLAN_PCP, /* pcp; pushes a tag if there is none */
	VSW_FLOW_ACT_STRIP_VLAN,
	VSW_FLOW_ACT_SET_DL_SRC, /* mac */
	VSW_FLOW_ACT_SET_DL_DST, /* mac */
	VSW_FLOW_ACT_SET_NW_SRC, /* ip4 (IPv4 only; others untouched) */
	VSW_FLOW_ACT_SET_NW_DST, /* ip4 */
	/*
	 * arg: the table to continue in (greater than the rule's own);
	 * always the last action of a list (OpenFlow's goto_table
	 * instruction, run after the apply-actions).
	 */
	VSW_FLOW_ACT_GOTO_TABLE,
	/* tunnel metadata for a flow-based vxlan / geneve output */
	VSW_FLOW_ACT_SET_TUN_ID,       /* u64 (set_field:N->tun_id) */
	VSW_FLOW_ACT_SET_TUN_SRC,      /* ip4 */
	VSW_FLOW_ACT_SET_TUN_DST,      /* ip4 */
	VSW_FLOW_ACT_SET_TUN_METADATA, /* arg: index, u64: value */
	/*
	 * To the bridge's OpenFlow controllers as a PACKET_IN (reason
	 * "action"); arg: max_len, bytes of the frame sent (65535: all).
	 */
	VSW_FLOW_ACT_CONTROLLER,
	VSW_FLOW_ACT_SET_TUN_IPV6_SRC, /* ip6 */
	VSW_FLOW_ACT_SET_TUN_IPV6_DST, /* ip6 */
	VSW_FLOW_ACT__COUNT
};

struct vsw_flow_act {
	uint16_t type; /* enum vsw_flow_act_type */
	uint16_t arg;  /* OUTPUT: port; SET_VLAN_VID: vid; _PCP: pcp */
	union {
		uint8_t mac[6];
		uint8_t ip4[4]; /* network order */
		uint8_t ip6[16];
		uint64_t u64;	/* SET_TUN_ID, SET_TUN_METADATA */
	};
};

/*
 * An immutable action list. n == 0 is "drop". Flags summarise it so the
 * data path can pick a fast path without walking it.
 */
#define VSW_FLOW_ACTS_EDITS 0x1		 /* has packet edits */
#define VSW_FLOW_ACTS_EDIT_AFTER_OUT 0x2 /* an edit follows an output */
#define VSW_FLOW_ACTS_GOTO 0x4 /* ends with GOTO_TABLE (set by the table) */
struct vsw_flow_actions {
	uint16_t n;
	uint16_t flags;
	struct vsw_flow_act a[];
};

/*
 * Apply one edit action (SET_* / STRIP_VLAN) to a packet in place. IPv4
 * rewrites fix the IP header checksum and the TCP / UDP checksum
 * incrementally (a UDP checksum of 0 stays 0; with VIRTIO_NET_HDR_F_
 * NEEDS_CSUM set the L4 field holds the pseudo-header sum and is adjusted as
 * such); VLAN push / pop keep pkt->vnet's offsets right. The packet must be
 * the frame the key was extracted from (edits before this one included).
 * Returns 0, or -ENOSPC (no headroom for a tag: packet unchanged), -EINVAL
 * (not an edit action). Any thread, on a packet it owns.
 */
int vsw_flow_act_edit(struct vsw_pkt *pkt, const struct vsw_flow_act *a);

/* ---- rules and tables ---- */

#define VSW_FLOW_PRIORITY_DEFAULT 32768
#define VSW_FLOW_PRIORITY_MAX 65535

/* Tables 0 .. VSW_FLOW_N_TABLES - 1; VSW_FLOW_TABLE_ALL selects them all. */
#define VSW_FLOW_N_TABLES 255
#define VSW_FLOW_TABLE_ALL 0xff

/* Rule flags (OpenFlow 1.3's OFPFF_* values). */
#define VSW_FLOW_F_SEND_FLOW_REM 0x1 /* report its removal (FLOW_REMOVED) */
#define VSW_FLOW_F_CHECK_OVERLAP 0x2 /* add: refuse an overlapping rule */
#define VSW_FLOW_F_RESET_COUNTS 0x4  /* add / mod: zero the counters */
#define VSW_FLOW_F_ALL 0x7

/* Why a rule left the table (OpenFlow 1.3's OFPRR_* values). */
enum vsw_flow_removed_reason {
	VSW_FLOW_REM_IDLE = 0,
	VSW_FLOW_REM_HARD = 1,
	VSW_FLOW_REM_DELETE = 2,
};

/* A parsed FLOW string (add-flow / mod-flows / del-flows). */
struct vsw_flow_spec {
	struct vsw_flow_match match;
	uint16_t priority;     /* default 32768 */
	bool has_priority;     /* priority= was given */
	uint16_t idle_timeout; /* seconds, 0 = none */
	uint16_t hard_timeout; /* seconds, 0 = none */
	uint64_t cookie;
	uint16_t out_port; /* del-flows filter, VSW_FLOW_PORT_NONE = any */
	struct vsw_flow_actions *actions; /* owned; NULL for a bare match */
	/*
	 * add: the table (0 .. 254); del / mod / dump: the table selected,
	 * VSW_FLOW_TABLE_ALL for all (what vsw_flow_parse() sets when no
	 * table= is given in those modes; an add defaults to 0).
	 */
	uint8_t table_id;
	uint16_t flags; /* VSW_FLOW_F_* */
	/* del / mod / dump: only rules with (cookie & mask) == spec's */
	uint64_t cookie_mask;
};

/* Resolves a port name of a rule ("in_port=vm1", "output:vm1"). */
struct vsw_flow_port_map {
	/* 0 and *ofport set, or -ENOENT. */
	int (*by_name)(void *arg, const char *name, uint16_t *ofport);
	void *arg;
};

enum vsw_flow_parse_mode {
	VSW_FLOW_PARSE_ADD,   /* add-flow: actions= required */
	VSW_FLOW_PARSE_MOD,   /* mod-flows: actions= required */
	VSW_FLOW_PARSE_MATCH, /* del-flows: no actions=, out_port= allowed */
};

/*
 * Parse an ovs-ofctl FLOW string ("priority=100,tcp,nw_dst=10.0.0.0/24,
 * tp_dst=80,actions=output:2") into out (zeroed first; release with
 * vsw_flow_spec_fini). Fields are separated by commas or spaces; actions=
 * takes the rest of the string. pm may be NULL (numbers only). -EINVAL
 * with a message: unknown field, bad value, a field set twice to different
 * values, prerequisites not met (tp_dst without tcp / udp...), bad action.
 * -ENOMEM. Any thread.
 */
int vsw_flow_parse(const char *s, enum vsw_flow_parse_mode mode,
		   const struct vsw_flow_port_map *pm,
		   struct vsw_flow_spec *out, char *err, size_t err_len);
void vsw_flow_spec_fini(struct vsw_flow_spec *spec);

/*
 * Print a match the way ovs-ofctl does ("priority=100,tcp,in_port=1,
 * nw_dst=10.0.0.0/24,tp_dst=80"; priority omitted when 32768; "" for
 * a catch-all at the default priority) / an action list ("output:2,
 * mod_vlan_vid:10", "drop"). snprintf-style: returns the length the full
 * text needs; the output is truncated to len - 1 bytes.
 */
int vsw_flow_format_match(const struct vsw_flow_match *m, unsigned priority,
			  char *buf, size_t len);
int vsw_flow_format_actions(const struct vsw_flow_actions *acts, char *buf,
			    size_t len);

struct vsw_flow_table;
struct vsw_flow_rule;

/* What dump-flows shows of one rule. */
struct vsw_flow_stats {
	uint64_t n_packets;
	uint64_t n_bytes;
	uint64_t duration_ms; /* since added */
	uint64_t idle_ms;     /* since last hit (or added) */
};

struct vsw_flow_table_config {
	/*
	 * Wait until every data thread has passed a quiescent point (see the
	 * top): 0. Negative if that could not be made sure (the switch's
	 * bounded wait found a data thread stuck): the table then frees
	 * nothing and keeps it for its next reclaim. NULL: there are no
	 * concurrent readers. (Named sync_try, not sync: a hook that may
	 * return without a grace period must not meet code written for one
	 * that always waits.)
	 */
	int (*sync_try)(void *arg);
	void *sync_arg;
	/* Rules at most (0: 1,000,000); add beyond it fails with -ENOSPC. */
	unsigned max_rules;
};

/*
 * Create a table holding the default rule "priority=0,actions=normal".
 * now_ms: any monotonic millisecond clock, the same one every later call
 * uses. 0, -ENOMEM. Control thread.
 */
int vsw_flow_table_create(const struct vsw_flow_table_config *cfg,
			  uint64_t now_ms, struct vsw_flow_table **out);
/* Free the table; no data thread may use it any more. NULL ok. */
void vsw_flow_table_destroy(struct vsw_flow_table *t);

/*
 * add-flow: insert the rule into table spec->table_id (a copy of spec; its
 * actions are copied too).
 * A rule with the same match and priority is replaced (new counters and
 * timers, as OpenFlow 1.0 requires). 0, -EINVAL (no actions), -ENOSPC,
 * -ENOMEM.
 */
int vsw_flow_table_add(struct vsw_flow_table *t,
		       const struct vsw_flow_spec *spec, uint64_t now_ms);
/*
 * (The add, above, also returns -EINVAL for a table_id above 254 or a
 * goto_table not to a higher table, and -EEXIST when spec has
 * VSW_FLOW_F_CHECK_OVERLAP and a rule of the same table and priority
 * could match a packet spec's match also matches.)
 */
/*
 * del-flows (in spec->table_id, or every table for VSW_FLOW_TABLE_ALL, and
 * by cookie under spec->cookie_mask): strict deletes the rule with exactly
 * this match and priority;
 * non-strict every rule whose match is at least as specific as spec's
 * (priority ignored). Both honour spec->out_port (only rules with an
 * output action to that port). Returns the number deleted. Deleting
 * everything leaves the table empty (then every packet is dropped), as
 * `ovs-ofctl del-flows BR` does.
 */
int vsw_flow_table_del(struct vsw_flow_table *t,
		       const struct vsw_flow_spec *spec, bool strict);
/*
 * mod-flows: replace the actions of the rules del would select (counters
 * and timers kept; zeroed with VSW_FLOW_F_RESET_COUNTS). If none is
 * selected, the flow is added (OpenFlow 1.0), in table 0 when spec selects
 * every table. -EINVAL also for a goto_table not beyond a selected rule's
 * table (nothing changed then).
 * Returns the number modified (1 when added), -EINVAL, -ENOMEM, -ENOSPC.
 */
int vsw_flow_table_mod(struct vsw_flow_table *t,
		       const struct vsw_flow_spec *spec, bool strict,
		       uint64_t now_ms);
/*
 * Remove the rules whose idle or hard timeout expired at now_ms. Returns
 * the number removed. Call it periodically (every second is plenty).
 */
int vsw_flow_table_expire(struct vsw_flow_table *t, uint64_t now_ms);

/*
 * Removal report: cb is called by del (reason DELETE) and expire (IDLE /
 * HARD) for each rule they remove, before it is unlinked, with its final
 * counters (the rule and its actions are valid during the call). Not for
 * a rule an add replaces. The callback must not change the table. NULL cb:
 * none. Control thread.
 */
typedef void (*vsw_flow_removed_cb)(void *arg, const struct vsw_flow_rule *r,
				    const struct vsw_flow_stats *st,
				    enum vsw_flow_removed_reason reason);
void vsw_flow_table_set_removed_cb(struct vsw_flow_table *t,
				   vsw_flow_removed_cb cb, void *arg);
/*
 * The clock of the next del's removal reports (del takes none; add, mod
 * and expire set it too).
 */
void vsw_flow_table_set_now(struct vsw_flow_table *t, uint64_t now_ms);

/* Rules in the table. */
unsigned vsw_flow_table_n_rules(const struct vsw_flow_table *t);
/* Distinct masks (subtables) in the classifier. */
unsigned vsw_flow_table_n_subtables(const struct vsw_flow_table *t);

/*
 * dump-flows: cb once per rule by table, then in descending priority (ties in
 * insertion order) with the rule, its counters and the line ovs-ofctl
 * would print (" cookie=0x0, duration=1.234s, table=0, n_packets=0,
 * n_bytes=0, priority=100,tcp,... actions=output:2", no newline). Rules
 * matching filter (non-strict; NULL: all) only. Stops at and returns a
 * non-zero cb value. Control thread.
 */
int vsw_flow_table_dump(struct vsw_flow_table *t,
			const struct vsw_flow_spec *filter, uint64_t now_ms,
			int (*cb)(const struct vsw_flow_rule *r,
				  const struct vsw_flow_stats *st,
				  const char *line, void *arg),
			void *arg);

/* Rule accessors (control thread, or a data thread holding the rule). */
unsigned vsw_flow_rule_priority(const struct vsw_flow_rule *r);
/* The rule's table (0 .. 254) and flags (VSW_FLOW_F_*). */
unsigned vsw_flow_rule_table(const struct vsw_flow_rule *r);
unsigned vsw_flow_rule_flags(const struct vsw_flow_rule *r);
/* The rule's cookie and timeouts (seconds, 0 none), as added. */
void vsw_flow_rule_timeouts(const struct vsw_flow_rule *r, uint64_t *cookie,
			    uint16_t *idle_timeout, uint16_t *hard_timeout);
const struct vsw_flow_match *vsw_flow_rule_match(const struct vsw_flow_rule *r);
/*
 * The rule's current actions; mod-flows may replace them, the old list
 * stays valid until the caller's next quiescent point. Data threads.
 */
const struct vsw_flow_actions *
vsw_flow_rule_actions(const struct vsw_flow_rule *r);
/*
 * Count packets / bytes for a rule and mark it used at now_ms (for the
 * idle timeout). Relaxed atomics: call it once per rule per batch, with the
 * batch's totals, not per packet. Data threads.
 */
void vsw_flow_rule_account(struct vsw_flow_rule *r, uint64_t packets,
			   uint64_t bytes, uint64_t now_ms);

/*
 * Classifier lookup in table 0: the highest-priority rule matching key, or NULL
 * (table miss: drop). Among rules of equal priority that both match, which
 * one wins is unspecified (as in OpenFlow). Data threads.
 */
struct vsw_flow_rule *vsw_flow_lookup(const struct vsw_flow_table *t,
				      const struct vsw_flow_key *key);
/*
 * The same in table table_id (0 .. 254; NULL for a table never used or out
 * of range): goto_table's lookup. Data threads.
 */
struct vsw_flow_rule *vsw_flow_lookup_table(const struct vsw_flow_table *t,
					    unsigned table_id,
					    const struct vsw_flow_key *key);

/* ---- exact-match cache ---- */

/*
 * One per (data thread, table); only its owner thread uses it. Revalidation
 * (the trade-off): the table has a generation number, bumped by every add
 * and delete (mod-flows only swaps a rule's actions and bumps nothing, as
 * entries point at rules, not actions). An entry filled at an older
 * generation is not trusted: a hit on it re-runs the classifier and
 * refreshes the entry. So a rule change costs each active flow one
 * classifier lookup on its next packet, instead of a per-entry overlap test
 * on the control thread; correct by construction (no entry can survive a
 * change that would alter its decision), and cheap because changes are
 * rare next to packets.
 */
struct vsw_flow_emc;

/* Default entries per cache: 8192 (104 bytes each: 832 KiB). */
#define VSW_FLOW_EMC_DEFAULT 8192

/*
 * Create a cache of n_entries (a power of two, 2 .. 1 << 20; 0: default)
 * bound to t. 0, -EINVAL, -ENOMEM. Any thread.
 */
int vsw_flow_emc_create(const struct vsw_flow_table *t, unsigned n_entries,
			struct vsw_flow_emc **out);
/* NULL ok. */
void vsw_flow_emc_destroy(struct vsw_flow_emc *emc);

/*
 * Look n keys up (hashes[i] = vsw_flow_key_hash(&keys[i]), as returned by
 * vsw_flow_key_extract) through the cache, falling back to the classifier
 * on a miss and filling the cache: rules[i] is the decision (NULL: drop).
 * Owner thread.
 */
void vsw_flow_emc_lookup_burst(struct vsw_flow_emc *emc,
			       const struct vsw_flow_key *keys,
			       const uint32_t *hashes, unsigned n,
			       struct vsw_flow_rule **rules);
/*
 * Count n hits that the caller resolved without a lookup: frames whose key
 * equals that of a frame looked up just before in the same burst. Owner
 * thread.
 */
void vsw_flow_emc_note_hits(struct vsw_flow_emc *emc, unsigned n);

struct vsw_flow_emc_stats {
	unsigned n_entries; /* capacity */
	unsigned n_used;    /* entries holding a flow */
	uint64_t hits;
	uint64_t misses;      /* classifier lookups (incl. revalidations) */
	uint64_t revalidated; /* of which: entry found but stale */
};
/* Any thread (relaxed reads of the owner's counters). */
void vsw_flow_emc_stats(const struct vsw_flow_emc *emc,
			struct vsw_flow_emc_stats *out);

#endif /* VSW_FLOW_H */
