/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the switch core (lib/switch only).
 *
 * Publication protocol (RCU-like, no lock on the packet path):
 *
 *  - Everything a data thread reads that the control thread changes at run
 *    time is an immutable object reached through one pointer: a thread's
 *    polling list (sw_pmd.list), a bridge's flood set (sw_bridge.flood), a
 *    port's VLAN filter (vsw_port.vlan), the port table (sw->ports[id]).
 *    The control thread builds the new object, publishes the pointer with a
 *    release store (pairs with the data thread's acquire load of that
 *    pointer), then calls sw_sync() and only then frees the old object.
 *
 *  - sw_sync(): the control thread bumps the grace-period counter sw->gp
 *    with a release RMW and wakes every data thread through its eventfd.
 *    At the end of each loop iteration (after the batch, and after any
 *    sleep) a data thread loads sw->gp with acquire and stores it into its
 *    own pmd->qs with release. The control thread waits until every
 *    pmd->qs >= the new gp (acquire load). So: (a) every access a data
 *    thread made to an old object happens before its qs store, which the
 *    control thread observed before freeing; (b) the thread's next
 *    iteration reads pointers after it loaded the new gp, which the control
 *    thread stored after publishing, so it sees the new objects. A thread
 *    asleep in poll() is woken by the eventfd write and reports on waking;
 *    it holds its old list while asleep, which stays valid because the
 *    control thread is still waiting for it.
 *
 *  - The wait is bounded (cfg.sync_timeout_ms). A thread that does not
 *    report in time is "stuck": sw_sync() returns -ETIMEDOUT and names it
 *    (sw->stuck_msg), and until every thread has reported that grace
 *    period (sw->stuck_gp) every later sw_sync() fails at once. What was
 *    unpublished before a failed grace period is handed to sw_retire(),
 *    which frees it only once every thread has passed a later quiescent
 *    point (the limbo list, reclaimed by sw_sync() and the control loop):
 *    nothing a stuck thread may still hold is freed.
 *
 *  - Counters are single-writer (the rxq's owner thread; the txq's current
 *    sender, serialized by ownership or the txq spinlock) and written with
 *    relaxed atomic stores, so the control thread reads untorn values.
 */
#ifndef SWITCH_PRIV_H
#define SWITCH_PRIV_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vsw/flow.h>
#include <vsw/pkt.h>
#include <vsw/port.h>
#include <vsw/switch.h>

#include "spin.h"
#include "tb.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"

#define SW_VLAN_MAX 4096
#define SW_TXQ_LOCK 0x80000000u /* vsw_port.txq_info: take the txq lock */
#define SW_TXQ_NMASK 0xffffu

/* sw_pmd.doing: phase << 24 | rxq << 16 | port id */
#define SW_DOING_NONE 0u
#define SW_DOING_RECV 1u
#define SW_DOING_FWD 2u
#define SW_DOING_SLEEP 3u
#define SW_DOING(phase, rxq, id)                                               \
	((uint32_t)(phase) << 24 | (uint32_t)((rxq) & 0xff) << 16 |             \
	 (uint32_t)((id) & 0xffff))

/* An object whose free waits for a grace period a stuck thread holds up. */
struct sw_limbo {
	struct sw_limbo *next;
	uint64_t gp; /* free once every pmd->qs >= gp */
	void (*fn)(void *arg);
	void *arg;
};

/* Immutable VLAN filter of a port (published by pointer). */
struct sw_vlan {
	uint8_t access;	 /* 1: access port with tag, 0: trunk */
	uint16_t tag;	 /* access VLAN */
	uint16_t native; /* trunk native VLAN, 0 none */
	uint64_t allowed[SW_VLAN_MAX / 64];
};

static inline bool vlan_allowed(const struct sw_vlan *v, uint16_t vlan)
{
	return (v->allowed[vlan >> 6] >> (vlan & 63)) & 1;
}

/* Egress: -1 not a member, 0 leave untagged, 1 leave tagged. */
static inline int vlan_out(const struct sw_vlan *v, uint16_t vlan)
{
	if (v->access)
		return vlan == v->tag ? 0 : -1;
	if (!vlan_allowed(v, vlan))
		return -1;
	return vlan != 0 && vlan != v->native;
}

/* The offload offsets of a frame whose header grew or shrank by @delta. */
static inline void sw_offload_shift(struct vsw_pkt *pkt, int delta)
{
	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		pkt->vnet.csum_start = (uint16_t)(pkt->vnet.csum_start + delta);
	if (pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    pkt->vnet.hdr_len != 0)
		pkt->vnet.hdr_len = (uint16_t)(pkt->vnet.hdr_len + delta);
}

struct sw_rxq {
	struct vsw_queue_stats st;
} __attribute__((aligned(VSW_CACHE_LINE)));

struct sw_txq {
	struct vsw_queue_stats st;
	uint32_t lock; /* spinlock, used when txq_info has SW_TXQ_LOCK */
} __attribute__((aligned(VSW_CACHE_LINE)));

struct sw_bridge;
struct sw_mset;

/* A rate limit of a port (rate.c): a token bucket behind its lock. */
struct sw_rate {
	uint32_t lock; /* sw_lock(), held for one burst's refill and takes */
	struct sw_tb tb;
} __attribute__((aligned(VSW_CACHE_LINE)));

/* The rate options of a port, bits and bits/s; rates 0: off (rate.c). */
struct sw_rate_cfg {
	uint64_t in_rate, in_burst;
	uint64_t out_rate, out_burst;
};

struct vsw_port {
	/* read by data threads, written only before publication */
	const struct vsw_port_ops *ops;
	struct sw_bridge *br;
	struct vsw_switch *sw;
	void *priv;
	uint16_t id;
	uint16_t ofport; /* relaxed (set_ofport changes it, then syncs) */
	/* run-time state read by data threads */
	uint32_t link;	      /* relaxed flag */
	uint32_t txq_info;    /* n_txq | SW_TXQ_LOCK; relaxed */
	struct sw_vlan *vlan; /* release / acquire */
	/* capture.c: relaxed test per burst, then acquire (capture.c) */
	struct vsw_capture *cap;
	/* rate.c: relaxed test per burst, then acquire; NULL: no limit */
	struct sw_rate *police; /* ingress */
	struct sw_rate *shape;	/* egress */
	/* control thread only */
	struct vsw_port_opt *opts; /* what the provider runs with (rate.c) */
	unsigned n_opts;
	struct sw_rate_cfg rate_cfg;
	unsigned n_rxq, n_txq;
	struct vsw_vlan_config vlan_cfg;
	uint16_t *trunks; /* copy of vlan_cfg.trunks */
	char name[VSW_PORT_NAME_MAX];
	/* log rate limit (any thread, relaxed) */
	uint64_t rl_window;
	uint32_t rl_count;
	struct sw_rxq rxq[VSW_PORT_MAX_QUEUES];
	struct sw_txq txq[VSW_PORT_MAX_QUEUES];
};

/* ---- MAC learning table ---- */

#define SW_FDB_WAYS 8
#define SW_FDB_EMPTY 0ULL
#define SW_FDB_TOMB 1ULL  /* removed by a data thread (duplicate) */
#define SW_FDB_TOMB2 2ULL /* removed by the control thread, grace pending */
#define SW_FDB_BUSY 3ULL  /* being filled by an inserting data thread */
#define SW_FDB_KEY_BIT (1ULL << 63)

struct sw_fdb_ent {
	uint64_t key;  /* SW_FDB_KEY_BIT | vlan << 48 | mac, or a state */
	uint32_t port; /* port id; relaxed */
	uint32_t seen; /* clock ms (truncated); relaxed */
};

struct sw_fdb_bucket {
	struct sw_fdb_ent e[SW_FDB_WAYS];
} __attribute__((aligned(128)));

struct sw_fdb {
	struct sw_fdb_bucket *b;
	uint32_t mask; /* buckets - 1 */
};

/*
 * Port set of a bridge, immutable (published by pointer): every port (the
 * flood set), the ports by ofport (by_of[0 .. n_of), NULL holes) and the
 * LOCAL port (the one named like the bridge, or NULL).
 */
struct sw_flood {
	unsigned n;
	unsigned n_of;
	struct vsw_port *local;
	struct vsw_port **by_of;
	/*
	 * ofport by port id (0: not in the bridge), from the same moment as
	 * by_of: a burst numbers its in port as its outputs are numbered.
	 */
	uint16_t *of_by_id;
	/*
	 * The bridge's mirrors resolved to this port set (mirror.c), in the
	 * same allocation; NULL when the bridge has none (all a burst tests).
	 */
	const struct sw_mset *mir;
	struct vsw_port *ports[];
};

struct sw_bridge {
	struct sw_bridge *next;
	struct sw_flood *flood; /* release / acquire */
	struct sw_fdb fdb;
	/* flows.c: the flow table and one exact-match cache per thread */
	struct vsw_flow_table *flows;
	/*
	 * The table's only rule while it is a catch-all with actions=normal
	 * (the fast path: no key, no lookup), else NULL. Release / acquire;
	 * cleared before any change of the table (see flows.c).
	 */
	struct vsw_flow_rule *normal_rule;
	struct vsw_flow_emc *emc[VSW_SWITCH_MAX_THREADS]; /* [pmd idx] */
	/* mirror.c: the configured mirrors, control thread (counters aside) */
	struct sw_mirror *mirrors;
	unsigned n_mirrors;
	/* no controller: forward as normal whatever the table (relaxed) */
	uint32_t fail_open;
	char name[VSW_BRIDGE_NAME_MAX];
	struct vsw_switch *sw; /* flows.c: the removal report's way back */
};

/* ---- data threads ---- */

struct sw_pmd_rxq {
	struct vsw_port *port;
	unsigned rxq;
};

/*
 * Polling list of a thread, immutable (published by pointer) except pfds,
 * the owner thread's scratch for sleeping (n + 1 entries).
 */
struct sw_pmd_list {
	unsigned n;
	struct pollfd *pfds;
	struct sw_pmd_rxq q[];
};

/*
 * A single-producer single-consumer byte ring (ofctl.c): packet-ins from a
 * data thread, packet-outs to one.
 */
struct sw_ring {
	uint8_t *buf;
	uint32_t size;	   /* a power of two */
	uint32_t tail;	   /* producer: release; consumer: acquire */
	uint32_t ptail;	   /* producer's copy of tail */
	uint32_t head __attribute__((aligned(VSW_CACHE_LINE))); /* consumer:
								   release */
	uint32_t chead;	   /* consumer's copy of head */
	uint64_t pushed;   /* producer, relaxed */
	uint64_t drops;	   /* producer, relaxed: full */
};
#define SW_PIN_RING_SIZE (256u << 10)
#define SW_POUT_RING_SIZE (256u << 10)

/* One output port's share of a batch. */
struct sw_out {
	struct vsw_port *port;
	unsigned n;
	uint8_t ent[VSW_PORT_BURST]; /* packet index | SW_OUT_TAG */
};
#define SW_OUT_TAG 0x80 /* the port wants this packet 802.1Q-tagged */

/*
 * Tokens a data thread took from one egress bucket for the frames of the
 * burst it forwards frame by frame (rate.c): taken under the bucket's lock
 * once, spent per frame without it, the rest given back at the burst's end.
 */
#define SW_CREDIT_MAX 4 /* shaped ports per burst; more: frame by frame */
struct sw_credit {
	struct sw_rate *r;
	uint64_t bits; /* a multiple of 8 */
};

struct sw_pmd {
	struct vsw_switch *sw;
	unsigned idx;
	pthread_t tid;
	bool started;
	int wake_fd;		  /* eventfd: control thread -> this thread */
	struct sw_pmd_list *list; /* release / acquire */
	uint64_t qs;		  /* last grace period seen; release */
	uint32_t stop;		  /* relaxed flag, then a wake-up */
	/*
	 * What the thread is doing (SW_DOING_*), written by the thread with
	 * relaxed stores, read by the control thread only to name a stuck
	 * thread; no ordering.
	 */
	uint32_t doing;
	struct vsw_pkt_pool *pool;
	struct vsw_pmd_stats st; /* written by the thread, relaxed */
	struct vsw_pmd_stats base; /* control thread: pmd-stats-clear */
	/* forwarding scratch, thread-private */
	uint16_t *slot_of; /* port id -> index in outs, 0xffff none */
	struct sw_out *outs;
	unsigned n_outs;
	/* ofctl.c: frames to the controllers, frames from them */
	struct sw_ring pin;
	struct sw_ring pout; /* thread 0's only */
	/* rate.c: egress tokens of a burst's frame-by-frame sends */
	struct sw_credit credit[SW_CREDIT_MAX];
	unsigned n_credit;
	bool credit_on;		/* between sw_shape_credit_begin and _end */
	uint64_t credit_budget; /* bits taken at most per port and burst */
} __attribute__((aligned(VSW_CACHE_LINE)));

struct vsw_switch {
	struct vsw_switch_config cfg;
	/* flows.c: vsw_switch_set_flow_removed_cb(); control thread */
	vsw_switch_flow_removed_cb flow_removed_cb;
	void *flow_removed_arg;
	uint32_t force_poll; /* relaxed, read by data threads */
	uint64_t cycles_per_us; /* TSC rate, measured at create; immutable */
	uint64_t spin_cap;	/* cfg.spin_us in cycles; relaxed, read by
				 * data threads after a sleep */
	uint64_t gp;	     /* grace period counter, see above */
	struct sw_pmd *pmds;
	unsigned n_pmds;
	struct sw_bridge *bridges;
	/* port table by id; [0] unused. Release / acquire. */
	struct vsw_port *ports[VSW_SWITCH_MAX_PORTS + 1];
	uint64_t next_sweep;
	unsigned pollfd_cursor;
	/* bounded grace periods (control thread only), see above */
	uint64_t stuck_gp;	 /* the grace period that timed out, 0 none */
	long long stuck_since;	 /* vsw_now_ms() when it began */
	char stuck_msg[192];	 /* "pmd thread vsw-pmd1 stuck for 5 s ..." */
	struct sw_limbo *limbo;	 /* oldest first */
	struct sw_limbo **limbo_tail;
	unsigned n_limbo;	 /* entries waiting */
	unsigned n_leaked;	 /* could not even be queued: leaked, counted */
	bool lists_dirty;	 /* a republish stopped half way: redo it */
	/* ofctl.c: the packet-in consumer's wake-up */
	int pin_fd;		 /* eventfd */
	uint32_t pin_armed;	 /* the consumer sleeps; relaxed + fences */
};

/*
 * The data path's spinlock (a txq several threads send on, a capture
 * ring): held for one burst at most.
 */
static inline void sw_lock(uint32_t *l)
{
	/* Acquire pairs with the release in sw_unlock(). */
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) != 0) {
		while (vsw_load_relaxed(l) != 0) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
	}
}

static inline void sw_unlock(uint32_t *l)
{
	/* Release: what the lock guards, to the next taker. */
	vsw_store_release(l, 0);
}

/* A gauge set by its single writer (same protocol). */
static inline void sw_ctr_set(unsigned *c, unsigned v)
{
	vsw_store_relaxed(c, v);
}

static inline uint64_t sw_now_ms(const struct vsw_switch *sw)
{
	return sw->cfg.clock_ms(sw->cfg.clock_arg);
}

/* log.c */
void sw_log(const struct vsw_switch *sw, enum vsw_log_level level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* cfg.log when the caller gives none: stderr. */
void sw_default_log(void *arg, enum vsw_log_level level, const char *msg);
/* The caller's error message (err may be NULL): vsw/port.h's, one copy. */
#define sw_err vsw_port_errf
void sw_err_clear(char *err, size_t err_len);

/* sync.c */
#define SW_SYNC_TIMEOUT_DEFAULT_MS 5000
#define SW_STUCK_POLL_MS 100 /* the control loop's look at a stuck thread */
/* Run what waits for grace periods every thread has passed (all: all). */
void sw_limbo_reclaim(struct vsw_switch *sw, bool all);
/*
 * A stuck thread that has come round: clear the state, free what waited
 * for it. Returns true if no thread is (still) stuck.
 */
bool sw_stuck_check(struct vsw_switch *sw);
/* free(arg), as a sw_retire() callback. */
void sw_free_fn(void *arg);
/*
 * One grace period, bounded by cfg.sync_timeout_ms: 0, or -ETIMEDOUT (a
 * thread is stuck; named in sw->stuck_msg and the log). Control thread.
 */
int sw_sync(struct vsw_switch *sw);
/* sw_sync(), copying the stuck message into err on failure. */
int sw_sync_err(struct vsw_switch *sw, char *err, size_t err_len);
/*
 * sw_sync() without the bound (a caller that cannot defer what it does
 * next): still names a stuck thread in the log every second.
 */
void sw_sync_wait(struct vsw_switch *sw);
/*
 * Call fn(arg) (a free, a close) once no data thread can hold what it
 * releases: now if every thread has passed the current grace period, else
 * after a later one. Call it after the sw_sync() that followed the
 * unpublication, whatever that returned.
 */
void sw_retire(struct vsw_switch *sw, void (*fn)(void *arg), void *arg);
int sw_republish_lists(struct vsw_switch *sw);
/* A polling list of n entries with its pfds scratch, one allocation. */
struct sw_pmd_list *sw_list_alloc(unsigned n);
void sw_port_set_txq(struct vsw_switch *sw, struct vsw_port *port,
		     unsigned n_txq);

/* switch.c */
/* A bridge / port / mirror name: 1 .. max - 1 printable bytes. */
bool sw_name_ok(const char *name, size_t max);
/* sw_fdb_sweep() predicate: the entry's port id is *(uint32_t *)arg. */
bool sw_fdb_pred_port(const struct sw_fdb_ent *e, void *arg);
/* Bridge by name, or NULL. */
struct sw_bridge *sw_bridge_find(struct vsw_switch *sw, const char *name);
/* Republish br's port set (flood, ofports, LOCAL) without skip. */
int sw_flood_publish(struct vsw_switch *sw, struct sw_bridge *br,
		     const struct vsw_port *skip, struct sw_flood **old);

/* flows.c */
/* The bridge's table and caches for the current threads. */
int sw_flows_init(struct vsw_switch *sw, struct sw_bridge *br);
void sw_flows_fini(struct sw_bridge *br);
/* Caches for threads 0 .. n-1 of every bridge (threads restart). */
int sw_flows_threads(struct vsw_switch *sw, unsigned n);

/* forward.c */
/* One burst of rxq @rxq of @in, on @pmd's thread: forwarded and freed. */
void sw_forward(struct sw_pmd *pmd, struct vsw_port *in, unsigned rxq,
		struct vsw_pkt **pkts, unsigned n);

/* rate.c */
/*
 * Split opts into the rate options (into *cfg, validated) and the
 * provider's (*prov, an allocation of pointers into opts: free it). 0,
 * -EINVAL (with err), -ENOMEM.
 */
int sw_rate_split(const struct vsw_port_opt *opts, unsigned n,
		  struct sw_rate_cfg *cfg, struct vsw_port_opt **prov,
		  unsigned *n_prov, char *err, size_t err_len);
/* A deep copy of o[0..n) in one allocation (free()), or NULL. */
struct vsw_port_opt *sw_opts_dup(const struct vsw_port_opt *o, unsigned n);
/* The buckets of cfg, full (NULL where off). 0 or -ENOMEM. */
int sw_rate_build(const struct sw_rate_cfg *cfg, struct sw_rate **police,
		  struct sw_rate **shape);
/*
 * Data thread, when in->police was seen non-NULL: drop (free, count) the
 * frames of pkts[0..n) over the ingress rate; the rest are compacted to
 * the front, their number returned.
 */
unsigned sw_police_burst(struct vsw_port *in, struct sw_rxq *rq,
			 struct vsw_pkt **pkts, unsigned n);
/*
 * Data thread, when port->shape was seen non-NULL: the frames of
 * pkts[0..n) within max-rate into ok[], their number returned, their
 * bytes in *bytes (the caller counts the others as tx_rate).
 */
unsigned sw_shape_burst(struct sw_pmd *pmd, struct vsw_port *port,
			struct vsw_pkt *const *pkts, unsigned n,
			struct vsw_pkt **ok, uint64_t *bytes);
/* Give back the tokens of frames taken by sw_shape_burst, not sent. */
void sw_shape_refund(struct sw_pmd *pmd, struct vsw_port *port,
		     uint64_t bytes);
/*
 * Data thread, around the frame-by-frame sends of one received burst of n
 * frames and bytes: between the two, sw_shape_burst charges each shaped
 * port's bucket once (lock, clock read, refill, take up to the burst's
 * bytes plus a VLAN tag per frame) and the frames from what it took; _end
 * gives back what is left.
 */
void sw_shape_credit_begin(struct sw_pmd *pmd, uint64_t bytes, unsigned n);
void sw_shape_credit_end(struct sw_pmd *pmd);

/*
 * Send pkts[0..n) (bytes in all, if reason < 0) to port on this thread's
 * txq; count what was taken and what was dropped (all of it with reason,
 * if reason >= 0). Returns how many the port took.
 */
unsigned sw_tx_n(struct sw_pmd *pmd, struct vsw_port *port,
		 struct vsw_pkt *const *pkts, unsigned n, uint64_t bytes,
		 int reason);

/* mirror.c */
#define SW_MIRROR_NOVLAN 0xffff /* vlans[i] of a frame not forwarded */
/* Bytes sw_mset_build() needs for br's mirrors (0: none, no set). */
size_t sw_mset_bytes(const struct sw_bridge *br);
/*
 * Resolve br's mirrors against its ports (without skip) into ms; returns
 * how many are active (0: do not publish the set).
 */
unsigned sw_mset_build(struct vsw_switch *sw, struct sw_bridge *br,
		       const struct vsw_port *skip, struct sw_mset *ms);
/* The port is a mirror output of the set (no normal traffic). */
bool sw_mset_is_out(const struct sw_mset *ms, unsigned port_id);
/*
 * The mirror stage of a burst from @in, before its outputs are flushed:
 * pkts[0..n) as they are now, vlans[i] the VLAN of frame i on the bridge
 * (SW_MIRROR_NOVLAN: not selected), pmd->outs the output groups. Data
 * thread; only when fl->mir != NULL.
 */
void sw_mirror_burst(struct sw_pmd *pmd, const struct sw_flood *fl,
		     const struct vsw_port *in, struct vsw_pkt *const *pkts,
		     unsigned n, const uint16_t *vlans);
/* Free every mirror of br (the bridge is freed). */
void sw_mirrors_free(struct sw_bridge *br);

/*
 * One packet-out (ofctl.c's records), on @pmd's thread: a frame of @len
 * bytes copied into a packet of the thread's pool, @acts run on it as a
 * rule's with in port @in_port (an ofport or VSW_FLOW_PORT_CONTROLLER).
 */
void sw_packet_out_exec(struct sw_pmd *pmd, struct sw_bridge *br,
			uint16_t in_port, const struct vsw_flow_act *acts,
			unsigned n_acts, const uint8_t *frame, uint32_t len);

/* capture.c */
/*
 * Copy pkts[0..n) into @cap's ring as seen in direction @dir. Data
 * thread; call only when the port's cap pointer was non-NULL.
 */
void sw_capture_burst(struct vsw_port *port, unsigned dir,
		      struct vsw_pkt *const *pkts, unsigned n);
/* The port is being deleted: detach its capture (control thread). */
void sw_capture_port_gone(struct vsw_port *port);

/* ofctl.c */
int sw_ring_init(struct sw_ring *r, uint32_t size);
void sw_ring_fini(struct sw_ring *r); /* no thread uses it any more */
/* Consumer: a record may be waiting (a hint). */
bool sw_ring_pending(const struct sw_ring *r);
/*
 * Data thread: queue frame @pkt (at most @max_len bytes of it) for the
 * controllers, as sent by @rule's CONTROLLER action (NULL: none). Counted
 * drop when the ring is full.
 */
void sw_pin_push(struct sw_pmd *pmd, const struct sw_bridge *br,
		 uint16_t in_port, const struct vsw_flow_rule *rule,
		 const struct vsw_pkt *pkt, uint16_t max_len);
/* Data thread: run the packet-outs waiting for it; how many. */
unsigned sw_pout_run(struct sw_pmd *pmd);
/* Control thread: wait (bounded) until every packet-out queued ran. */
void sw_pout_drain(struct vsw_switch *sw);

/* pmd.c */
int sw_pmd_start(struct vsw_switch *sw, struct sw_pmd *pmd, unsigned idx);
void sw_pmd_stop(struct sw_pmd *pmd);
/* TSC ticks per microsecond, measured (~2 ms); at switch creation. */
uint64_t sw_cycles_per_us(void);

/* fdb.c */
int sw_fdb_init(struct sw_fdb *fdb, unsigned size);
void sw_fdb_fini(struct sw_fdb *fdb);
/*
 * The key of (vlan, mac): SW_FDB_KEY_BIT | vlan << 48 | mac[0] << 40 ..
 * mac[5]. Inline, and two loads with byte swaps rather than six byte loads
 * and shifts: every frame of the normal path computes two.
 */
static inline uint64_t sw_fdb_key(uint16_t vlan, const uint8_t *mac)
{
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, mac, sizeof(hi));
	memcpy(&lo, mac + 4, sizeof(lo));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	hi = __builtin_bswap32(hi);
	lo = __builtin_bswap16(lo);
#endif
	return SW_FDB_KEY_BIT | (uint64_t)(vlan & 0xfff) << 48 |
	       (uint64_t)hi << 16 | lo;
}
/* Data thread: the port id of key (sw_fdb_key()), or 0. */
uint32_t sw_fdb_lookup(const struct sw_fdb *fdb, uint64_t key);
/* Data thread: learn or refresh; returns 1 inserted, 0 known, -1 full. */
int sw_fdb_learn(struct sw_fdb *fdb, uint64_t key, uint32_t port,
		 uint32_t now);
/*
 * Control thread: remove entries for which pred returns true (all if pred
 * is NULL) and reclaim data-thread tombstones; syncs before reusing slots.
 * Returns entries removed.
 */
unsigned sw_fdb_sweep(struct vsw_switch *sw, struct sw_fdb *fdb,
		      bool (*pred)(const struct sw_fdb_ent *e, void *arg),
		      void *arg);

#endif /* SWITCH_PRIV_H */
