/* API-READY */
/* SPDX-License-Identifier: MIT */
/*
 * vsw_switch: the virtual switch core.
 *
 * A switch holds bridges; a bridge holds ports (vsw/port.h); port names are
 * unique in the whole switch. Each bridge forwards like a learning Ethernet
 * switch ("normal"): MAC learning per (VLAN, MAC) with ageing, flooding of
 * broadcast, multicast and unknown unicast within the VLAN, 802.1Q access
 * and trunk ports.
 *
 * VLAN semantics (those of Open vSwitch):
 *  - none (default): the port is a trunk of every VLAN; an untagged frame
 *    is in VLAN 0 and leaves untagged; a tagged frame keeps its tag.
 *  - access tag T: untagged frames go into VLAN T; 802.1Q-tagged frames
 *    (other than priority tags, VID 0) are dropped (vlan_filtered); frames
 *    leave untagged.
 *  - trunk: the allowed list (empty = every VLAN) filters both ways. An
 *    untagged frame is in the native VLAN if one is set, else in VLAN 0,
 *    which must then be allowed (an empty list allows it; a list [10, 20]
 *    drops untagged frames). Frames in the native VLAN or in VLAN 0 leave
 *    untagged, all others tagged.
 *  - A priority-tagged frame (802.1Q header with VID 0) is treated as
 *    untagged: its tag is removed on input.
 *
 * Threads: every function here is called from one control thread (the
 * daemon's main loop), which also runs every provider's control ops. The
 * forwarding itself runs on data threads "vsw-pmd<N>" the switch starts;
 * the log callback may be called from them (rate-limited), so it must be
 * thread-safe.
 *
 * Errors: 0 or a negative errno; functions taking err / err_len also write
 * a one-line message for the user there (always NUL-terminated, empty on
 * success).
 */
#ifndef VSW_SWITCH_H
#define VSW_SWITCH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/flow.h>
#include <vsw/port.h>

struct vsw_switch;

/* Ports in one switch (all bridges) at most. */
#define VSW_SWITCH_MAX_PORTS 1024
/* Data threads at most. */
#define VSW_SWITCH_MAX_THREADS 64
/* Bridge name length, including the NUL. */
#define VSW_BRIDGE_NAME_MAX 64
/* Default and limits of the MAC ageing time, seconds. */
#define VSW_SWITCH_AGEING_DEFAULT 300
#define VSW_SWITCH_AGEING_MAX 1000000
/*
 * Default and limit of the adaptive spin of an idle data thread
 * (vsw_switch_set_spin), microseconds; VSW_SWITCH_SPIN_OFF in
 * vsw_switch_config.spin_us: none.
 */
#define VSW_SWITCH_SPIN_DEFAULT_US 2000
#define VSW_SWITCH_SPIN_MAX_US 1000000
#define VSW_SWITCH_SPIN_OFF 0xffffffffu

struct vsw_switch_config {
	unsigned n_threads;  /* data threads; 0 means 1 */
	bool force_poll;     /* never sleep, even when idle */
	unsigned ageing_s;   /* MAC ageing; 0 means the default (300 s) */
	unsigned fdb_size;   /* MAC entries per bridge; 0 means 8192 */
	unsigned pool_small; /* small packets per thread pool; 0: 4096 */
	unsigned pool_large; /* large packets per thread pool; 0: 64 */
	/*
	 * Empty polls (a pass over every owned rxq that found nothing) before
	 * a thread tries to sleep; 0 means 1000.
	 */
	unsigned idle_polls;
	/*
	 * Longest adaptive spin before sleeping, microseconds (see
	 * vsw_switch_set_spin): 0 means VSW_SWITCH_SPIN_DEFAULT_US,
	 * VSW_SWITCH_SPIN_OFF none. vsw_switch_get_config() reports the value
	 * in use, 0 for none.
	 */
	unsigned spin_us;
	/* Log sink (NULL: stderr); called from any thread. */
	void (*log)(void *arg, enum vsw_log_level level, const char *msg);
	void *log_arg;
	/*
	 * Clock for MAC ageing, milliseconds on any monotonic scale (NULL:
	 * CLOCK_MONOTONIC_COARSE). For tests; called from data threads too.
	 */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
	/*
	 * Longest wait for the data threads in a grace period, milliseconds;
	 * 0 means 5000. A thread that does not come round in time is
	 * "stuck": see vsw_switch_sync().
	 */
	unsigned sync_timeout_ms;
};

/*
 * Create a switch with no bridge and start its data threads. 0, -EINVAL
 * (n_threads > VSW_SWITCH_MAX_THREADS, ageing_s > VSW_SWITCH_AGEING_MAX,
 * spin_us > VSW_SWITCH_SPIN_MAX_US and not VSW_SWITCH_SPIN_OFF), -ENOMEM,
 * or the errno of thread / eventfd creation. Takes ~2 ms: it measures the
 * TSC rate once.
 */
int vsw_switch_create(const struct vsw_switch_config *cfg,
		      struct vsw_switch **out);

/* Stop the threads, delete every bridge and port. NULL ok. */
void vsw_switch_destroy(struct vsw_switch *sw);

/* ---- run-time settings ---- */

/* Restart the data threads with n (1..MAX) threads; queues redistributed. */
int vsw_switch_set_threads(struct vsw_switch *sw, unsigned n, char *err,
			   size_t err_len);
/* 1 .. VSW_SWITCH_AGEING_MAX seconds; applies to existing entries too. */
int vsw_switch_set_ageing(struct vsw_switch *sw, unsigned ageing_s, char *err,
			  size_t err_len);
/* true: pure polling; false: sleep when idle. Wakes sleeping threads. */
void vsw_switch_set_force_poll(struct vsw_switch *sw, bool force_poll);
/*
 * The adaptive spin of idle threads (what cpuidle-haltpoll does for a
 * vCPU): after its last packet a thread keeps polling for a window, then
 * (and after idle_polls empty polls) sleeps until a kick. The window
 * starts at 50 us (or spin_us if smaller), doubles each time traffic
 * woke the thread within spin_us of its last packet (a longer spin would
 * have saved the wake-up), shrinks by 1/8 (not below the start) each time
 * the thread slept longer than spin_us. spin_us 0 .. VSW_SWITCH_SPIN_MAX_US;
 * 0: no spin, sleep after idle_polls empty polls. With no traffic at all a
 * thread sleeps for good after at most one window. Threads apply it at
 * their next wake-up or window change. -EINVAL.
 */
int vsw_switch_set_spin(struct vsw_switch *sw, unsigned spin_us, char *err,
			size_t err_len);
/* Current settings (n_threads, force_poll, ageing_s, fdb_size...). */
void vsw_switch_get_config(const struct vsw_switch *sw,
			   struct vsw_switch_config *out);

/* ---- bridges and ports ---- */

/* -EEXIST, -EINVAL (empty / too long name), -ENOMEM. */
int vsw_switch_add_bridge(struct vsw_switch *sw, const char *name, char *err,
			  size_t err_len);
/* Deletes the bridge's ports first. -ENOENT. */
int vsw_switch_del_bridge(struct vsw_switch *sw, const char *name, char *err,
			  size_t err_len);

/*
 * Add a port of a registered type (vsw_port_ops_find) to a bridge and start
 * polling its rxqs. The provider's open message is passed through in err.
 * -ENOENT (no bridge), -EEXIST (name taken), -EINVAL (bad name, unknown
 * type, bad option), -ENOSPC (VSW_SWITCH_MAX_PORTS), or the provider's
 * error. The port starts with VLAN mode none.
 */
int vsw_switch_add_port(struct vsw_switch *sw, const char *bridge,
			const char *name, const char *type,
			const struct vsw_port_opt *opts, unsigned n_opts,
			char *err, size_t err_len);
/*
 * Same with an explicit provider (for ports whose ops are not in the
 * registry, e.g. a test's).
 */
int vsw_switch_add_port_ops(struct vsw_switch *sw, const char *bridge,
			    const char *name, const struct vsw_port_ops *ops,
			    const struct vsw_port_opt *opts, unsigned n_opts,
			    char *err, size_t err_len);
/*
 * Stop forwarding to and from the port, forget its MAC entries, wait for
 * the data threads to let go of it, close it. -ENOENT.
 */
int vsw_switch_del_port(struct vsw_switch *sw, const char *name, char *err,
			size_t err_len);

/*
 * Options the switch handles itself for every port type, in Open vSwitch's
 * units: ingress policing (ingress_policing_rate in kbit/s, 1000 bits;
 * ingress_policing_burst in kbit, 0: 8000 kbit) and an egress limit
 * (max-rate in bits/s; max-burst in bits, 0: 10 ms of max-rate, at least
 * 64 KiB). Frames over a limit are dropped (rx_policed, tx_rate). Given
 * with the provider's options to add_port and set_port_opts; a provider
 * never sees them.
 */
#define VSW_PORT_OPT_POLICE_RATE "ingress_policing_rate"
#define VSW_PORT_OPT_POLICE_BURST "ingress_policing_burst"
#define VSW_PORT_OPT_MAX_RATE "max-rate"
#define VSW_PORT_OPT_MAX_BURST "max-burst"
/* key is one of those. */
bool vsw_switch_port_opt_own(const char *key);
/*
 * Check the values of those keys in opts[0..n_opts) (the others are the
 * provider's, not looked at): 0, or -EINVAL with a message in err. For a
 * caller that stores options of a port not open now.
 */
int vsw_switch_port_opts_check(const struct vsw_port_opt *opts,
			       unsigned n_opts, char *err, size_t err_len);

/*
 * Change a running port's options: opts[0..n_opts) is the complete new set
 * (what add_port would get). The rate options take effect for the next
 * burst; the provider's, if any changed, through its reconfigure op. All
 * or nothing: on failure the port runs as before. -ENOENT, -EINVAL (bad
 * value, unknown key), -EOPNOTSUPP (an option of the type that cannot
 * change live; the message names it), -ENOMEM, -ETIMEDOUT (a stuck data
 * thread). Control thread.
 */
int vsw_switch_set_port_opts(struct vsw_switch *sw, const char *port,
			     const struct vsw_port_opt *opts, unsigned n_opts,
			     char *err, size_t err_len);

/* The port of that name, or NULL. Valid until it is deleted. */
struct vsw_port *vsw_switch_port_find(struct vsw_switch *sw, const char *name);

enum vsw_vlan_mode {
	VSW_VLAN_NONE = 0, /* trunk of every VLAN, untagged = VLAN 0 */
	VSW_VLAN_ACCESS = 1,
	VSW_VLAN_TRUNK = 2,
};

struct vsw_vlan_config {
	enum vsw_vlan_mode mode;
	uint16_t tag;		/* ACCESS: 1..4094 */
	uint16_t native;	/* TRUNK: native VLAN 1..4094, 0 = none */
	const uint16_t *trunks; /* TRUNK: allowed VLANs 0..4094 */
	unsigned n_trunks;	/* 0 = every VLAN */
};

/*
 * Set a port's VLAN mode. Takes effect for the next batch of every thread;
 * MAC entries of the port are flushed (its VLAN membership changed).
 * -ENOENT, -EINVAL (tag out of range, native not in a non-empty list).
 */
int vsw_switch_set_port_vlan(struct vsw_switch *sw, const char *port,
			     const struct vsw_vlan_config *vlan, char *err,
			     size_t err_len);

/* ---- show ---- */

struct vsw_port_info {
	const char *name;
	const char *type;
	const char *bridge;
	unsigned id;
	unsigned ofport; /* OpenFlow port number in its bridge */
	bool link_up;
	unsigned n_rxq;
	unsigned n_txq;
	struct vsw_vlan_config vlan; /* trunks valid during the callback */
	char status[128];	     /* provider status, may be empty */
	uint8_t hw_addr[6];	     /* provider's hwaddr op; zero without */
};

/*
 * Call cb for each bridge (in creation order) / each port of a bridge (in
 * id order); stop early and return cb's value if it is non-zero. The
 * callbacks must not change the switch. port_iter: -ENOENT if no bridge.
 */
int vsw_switch_bridge_iter(struct vsw_switch *sw,
			   int (*cb)(const char *bridge, void *arg), void *arg);
int vsw_switch_port_iter(struct vsw_switch *sw, const char *bridge,
			 int (*cb)(const struct vsw_port_info *info, void *arg),
			 void *arg);

/* ---- counters ---- */

struct vsw_port_stats {
	struct vsw_queue_stats rx; /* sum over every rxq ever used */
	struct vsw_queue_stats tx; /* sum over every txq ever used */
};

/*
 * Counters of a port, or of one of its queues (q < VSW_PORT_MAX_QUEUES;
 * queues beyond the current count keep their old values). Values are read
 * without stopping the threads: each counter is exact, a set of counters
 * may be a few packets apart. -ENOENT, -EINVAL.
 */
int vsw_switch_port_stats(struct vsw_switch *sw, const char *port,
			  struct vsw_port_stats *out);
int vsw_switch_queue_stats(struct vsw_switch *sw, const char *port, bool tx,
			   unsigned q, struct vsw_queue_stats *out);
/*
 * The provider counters of a port (vsw_port_ops.counters) into c[0..max):
 * how many, 0 if its type has none, -ENOENT. Control thread.
 */
int vsw_switch_port_counters(struct vsw_switch *sw, const char *port,
			     struct vsw_port_counter *c, unsigned max);

/* Per data thread, for pmd-stats. Cycles are TSC ticks. */
struct vsw_pmd_stats {
	unsigned n_rxq;	       /* rxqs it polls now */
	uint64_t packets;      /* received */
	uint64_t batches;      /* recv calls that returned packets */
	uint64_t busy_cycles;  /* iterations that found packets */
	uint64_t idle_cycles;  /* iterations that found none, and sleep */
	uint64_t sleeps;       /* times it blocked in poll() */
	uint64_t wakeups_ctl;  /* of which ended by the control thread */
	uint64_t sleep_cycles; /* of idle_cycles: asleep (the rest: polling) */
	unsigned spin_us;      /* its adaptive spin window now, microseconds */
	uint64_t fdb_learned;  /* MAC entries inserted */
	uint64_t fdb_full;     /* MACs not learned: bucket full */
	uint64_t emc_hits;     /* exact-match cache hits (all bridges) */
	uint64_t emc_misses;   /* classifier lookups ("upcalls") */
	uint64_t fast_normal;  /* packets of bridges whose table is only
			       * actions=normal: no lookup at all */
};

unsigned vsw_switch_n_threads(const struct vsw_switch *sw);
/*
 * -EINVAL if thread >= vsw_switch_n_threads(). Counted since the thread
 * started or the last vsw_switch_pmd_stats_clear().
 */
int vsw_switch_pmd_stats(const struct vsw_switch *sw, unsigned thread,
			 struct vsw_pmd_stats *out);
/*
 * Restart every thread's counters from zero (pmd-stats-clear). The
 * threads keep counting; the switch remembers a baseline. Control thread.
 */
void vsw_switch_pmd_stats_clear(struct vsw_switch *sw);

/* ---- OpenFlow ports and flow tables ---- */

/*
 * Every port has an OpenFlow port number ("ofport", 1 ..
 * VSW_FLOW_PORT_MAX - 1), unique in its bridge: at add, the lowest free one.
 * Set a given one (e.g. the stored one, so that it is stable across
 * restarts): -ENOENT, -EINVAL (out of range), -EEXIST (taken in the bridge).
 * Rules keep naming the number, whatever port holds it.
 */
int vsw_switch_set_port_ofport(struct vsw_switch *sw, const char *port,
			       unsigned ofport, char *err, size_t err_len);

/*
 * Each bridge has one flow table (vsw/flow.h), created with the rule
 * "priority=0,actions=normal". The data threads extract a flow key from
 * every frame (in_port = the in port's ofport), look it up in their
 * exact-match cache for the bridge, on a miss in the classifier, and run
 * the rule's actions: OUTPUT to an ofport (a missing port, or the in port,
 * drops that copy), LOCAL (the bridge's port named like the bridge, if any),
 * IN_PORT, FLOOD / ALL (every port of the bridge but the in port, as the
 * frame is), NORMAL (the learning switch with its VLAN processing), and
 * the edits. No rule, or no action: drop (counted as no_dest on the rxq).
 * While the table holds a single catch-all rule whose actions are exactly
 * "normal", the threads skip the key, cache and classifier altogether.
 *
 * The calls below are the ovs-ofctl operations (see vsw_flow_table_*);
 * each takes effect for every packet a data thread receives after it
 * returned. Control thread. -ENOENT (no bridge) plus the table's errors.
 */
int vsw_switch_flow_add(struct vsw_switch *sw, const char *bridge,
			const struct vsw_flow_spec *spec, char *err,
			size_t err_len);
/* spec NULL: every rule. Returns the number deleted. */
int vsw_switch_flow_del(struct vsw_switch *sw, const char *bridge,
			const struct vsw_flow_spec *spec, bool strict,
			char *err, size_t err_len);
/* Returns the number modified (1 when it added the flow). */
int vsw_switch_flow_mod(struct vsw_switch *sw, const char *bridge,
			const struct vsw_flow_spec *spec, bool strict,
			char *err, size_t err_len);
/* Remove the rules of the bridge whose timeout expired; the count. */
int vsw_switch_flow_expire(struct vsw_switch *sw, const char *bridge);
/* vsw_flow_table_dump() of the bridge's table (filter NULL: all). */
int vsw_switch_flow_dump(struct vsw_switch *sw, const char *bridge,
			 const struct vsw_flow_spec *filter,
			 int (*cb)(const struct vsw_flow_rule *r,
				   const struct vsw_flow_stats *st,
				   const char *line, void *arg),
			 void *arg);

/*
 * Called for each rule del / expire removes from any bridge's table (see
 * vsw_flow_table_set_removed_cb: before it goes, not for replacements), on
 * the control thread inside the call that removes it. Must not change
 * flows. cb NULL: none.
 */
typedef void (*vsw_switch_flow_removed_cb)(void *arg, const char *bridge,
					   const struct vsw_flow_rule *r,
					   const struct vsw_flow_stats *st,
					   enum vsw_flow_removed_reason reason);
void vsw_switch_set_flow_removed_cb(struct vsw_switch *sw,
				    vsw_switch_flow_removed_cb cb, void *arg);

/* What dpif-stats shows of one bridge (caches summed over threads). */
struct vsw_dpif_stats {
	unsigned n_rules;
	unsigned n_subtables;
	bool fast_normal;     /* only actions=normal: no lookups */
	unsigned emc_caches;  /* one per data thread */
	unsigned emc_entries; /* capacity of each cache */
	unsigned emc_used;    /* entries holding a flow, all caches */
	uint64_t emc_hits;
	uint64_t emc_misses;	  /* classifier lookups (upcalls) */
	uint64_t emc_revalidated; /* of which: stale after a rule change */
};

/* -ENOENT. */
int vsw_switch_dpif_stats(struct vsw_switch *sw, const char *bridge,
			  struct vsw_dpif_stats *out);

/* ---- MAC table ---- */

struct vsw_fdb_entry {
	uint16_t vlan;
	uint8_t mac[6];
	const char *port;
	unsigned age_s; /* seconds since last seen */
};

/* cb per MAC entry of the bridge; stops on non-zero (returned). -ENOENT. */
int vsw_switch_fdb_dump(struct vsw_switch *sw, const char *bridge,
			int (*cb)(const struct vsw_fdb_entry *e, void *arg),
			void *arg);
/* Forget every MAC entry of the bridge. -ENOENT. */
int vsw_switch_fdb_flush(struct vsw_switch *sw, const char *bridge);

/* ---- control loop ---- */

/*
 * Driving the providers' control fds and the switch's own timers (MAC
 * ageing) from the daemon's poll loop:
 *
 *	n = vsw_switch_pollfds(sw, fds, max);   (fds[0..n) filled)
 *	t = vsw_switch_timeout_ms(sw);
 *	poll(fds + own fds, ..., min(t, own timeout));
 *	vsw_switch_handle(sw, fds, n);
 *
 * pollfds returns how many entries it needs (it fills at most max; call
 * again with a bigger array if the return exceeds max). timeout_ms: -1 for
 * none. handle runs every provider whose fd has revents or whose deadline
 * passed, then the switch's timers; fds may be NULL (n 0) to run timers and
 * deadlines only. Ports added or deleted between pollfds and handle are
 * fine.
 */
unsigned vsw_switch_pollfds(struct vsw_switch *sw, struct pollfd *fds,
			    unsigned max);
int vsw_switch_timeout_ms(struct vsw_switch *sw);
void vsw_switch_handle(struct vsw_switch *sw, const struct pollfd *fds,
		       unsigned n);

/*
 * Wait until every data thread has passed a quiescent point (finished the
 * batch it was in, or is asleep). Control thread. 0, or -ETIMEDOUT when a
 * thread did not come round within sync_timeout_ms (a provider op that
 * blocks): that thread is "stuck". While one is, every operation above
 * that needs a grace period (port and bridge changes, VLAN, ofport,
 * threads, flow changes, fdb flush) fails at once with -ETIMEDOUT and err
 * "pmd thread vsw-pmd<N> stuck for <S> s ..." before changing anything;
 * what was unpublished before the thread got stuck is freed (a removed
 * port closed) only after it has come round; the providers' control
 * events (vsw_switch_handle) wait. Nothing else of the control loop
 * stops.
 */
int vsw_switch_sync(struct vsw_switch *sw);
/* The stuck thread's message ("pmd thread vsw-pmd1 stuck ..."), or NULL. */
const char *vsw_switch_stuck(struct vsw_switch *sw);
/* Objects whose free waits for a stuck thread (a test's view). */
unsigned vsw_switch_deferred(const struct vsw_switch *sw);

/* ---- packet capture ---- */

/*
 * A capture copies the frames a port receives and / or sends, as the port
 * saw them (before VLAN handling on input, after it on output), into a
 * bounded ring the control thread drains. The data threads never block on
 * it: a frame that does not fit is dropped from the capture and counted
 * (never from the traffic). One capture per port at a time.
 *
 * Cost: with no capture on a port, one relaxed load of a per-port pointer
 * per received burst and per transmitted burst. With one, a clock read
 * per burst, a spinlock shared with the other senders of the capture, and
 * a copy of up to snaplen bytes per frame.
 */
struct vsw_capture;

#define VSW_CAPTURE_IN 1u  /* frames the port received */
#define VSW_CAPTURE_OUT 2u /* frames the switch sent to the port */
/* Ring size limits, bytes. */
#define VSW_CAPTURE_RING_MIN (64u << 10)
#define VSW_CAPTURE_RING_MAX (256u << 20)
#define VSW_CAPTURE_RING_DEFAULT (4u << 20)

/* vsw_capture_rec.offload */
#define VSW_CAPTURE_GSO 1u	   /* a TSO/UFO super-frame (vnet gso_type) */
#define VSW_CAPTURE_CSUM_PARTIAL 2u /* checksum left to the receiver */

/* One captured frame. */
struct vsw_capture_rec {
	uint64_t ts_ns;	  /* CLOCK_REALTIME, ns, when its burst was seen */
	uint32_t len;	  /* frame length on the wire (before snaplen) */
	uint32_t caplen;  /* bytes copied into the caller's buffer */
	uint8_t dir;	  /* VSW_CAPTURE_IN or VSW_CAPTURE_OUT */
	uint8_t offload;  /* VSW_CAPTURE_GSO | VSW_CAPTURE_CSUM_PARTIAL */
	uint8_t gso_type; /* virtio-net header fields, CPU byte order */
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/*
 * Start capturing @dir (VSW_CAPTURE_IN and / or _OUT) of @port into a ring
 * of @ring_bytes (0: the default; rounded up to a power of two), keeping
 * at most @snaplen bytes of each frame (0: all). -ENOENT (no such port),
 * -EBUSY (the port has a capture), -EINVAL, -ENOMEM. Control thread.
 */
int vsw_capture_start(struct vsw_switch *sw, const char *port, unsigned dir,
		      size_t ring_bytes, uint32_t snaplen,
		      struct vsw_capture **out, char *err, size_t err_len);
/*
 * The oldest frame of the ring: 1 with @rec filled and its first
 * min(caplen, @buf_len) bytes in @buf, 0 if the ring is empty. Control
 * thread.
 */
int vsw_capture_next(struct vsw_capture *cap, struct vsw_capture_rec *rec,
		     uint8_t *buf, size_t buf_len);
/* Frames dropped from the capture because the ring was full. */
uint64_t vsw_capture_drops(const struct vsw_capture *cap);
/* True once the port was deleted (the ring keeps what it had). */
bool vsw_capture_port_gone(const struct vsw_capture *cap);
/*
 * Detach from the port (if it still exists), wait for the data threads,
 * free. Accepts NULL. Every capture must be stopped before
 * vsw_switch_destroy(). Control thread.
 */
void vsw_capture_stop(struct vsw_capture *cap);

/* ---- port mirrors ---- */

/*
 * Mirrors as Open vSwitch's Mirror table has them. A mirror of a bridge
 * selects frames: those received on its select-src ports, those the
 * bridge's forwarding sends to its select-dst ports, every frame with
 * select_all; a non-empty VLAN list keeps only the frames in those VLANs
 * (the VLAN the frame belongs to on the bridge). A selected frame is
 * copied once per mirror:
 *  - output_port: to that port, tagged with its VLAN unless the port is an
 *    access port or the VLAN is 0 / the port's native VLAN. The output port
 *    is the mirror's alone: the bridge's learning, flooding and FLOOD /
 *    ALL actions leave it out and the frames it receives are dropped
 *    (counted no_dest); a flow's explicit output to its ofport still goes.
 *  - output_vlan N (RSPAN): to every port of the bridge carrying VLAN N
 *    (as an access port of N, untagged, or a trunk allowing N, tagged with
 *    N, replacing the frame's tag) except the frame's in port.
 * Ports are named: a name that is not a port of the bridge (yet, or any
 * more) selects nothing, and a mirror whose output port is missing is kept
 * but inactive (vsw_mirror_info.active); the mirror follows the ports as
 * they come and go.
 *
 * Cost: a bridge without mirrors pays one pointer test per received burst
 * (in the port set the burst already reads). With mirrors: a mask per frame
 * and per output group; per selected frame and mirror the frame itself if
 * its tag state suits the output, else a copy from the thread's pool; one
 * send per output port per burst. Copies that cannot be made or sent are
 * the mirror's drops. Frames a flow sends action by
 * action (an edit after an output) are selected by source port only.
 */
#define VSW_MIRROR_MAX 32 /* mirrors per bridge */
#define VSW_MIRROR_NAME_MAX 64

struct vsw_mirror_config {
	const char *name;
	const char *const *src; /* select-src-port names */
	unsigned n_src;
	const char *const *dst; /* select-dst-port names */
	unsigned n_dst;
	bool select_all;
	const uint16_t *vlans; /* select-vlan 0..4095; n_vlans 0: every VLAN */
	unsigned n_vlans;
	const char *output_port; /* or NULL: output_vlan */
	uint16_t output_vlan;	 /* 1..4094 when output_port is NULL */
};

/*
 * Add a mirror to a bridge. -ENOENT (no bridge), -EEXIST (name taken in
 * the bridge), -ENOSPC (VSW_MIRROR_MAX), -EINVAL (bad name, nothing
 * selected, no output or both, output port also selected, VLAN out of
 * range), -ETIMEDOUT (a stuck thread), -ENOMEM. Control thread.
 */
int vsw_switch_mirror_add(struct vsw_switch *sw, const char *bridge,
			  const struct vsw_mirror_config *cfg, char *err,
			  size_t err_len);
/* -ENOENT (no bridge or no such mirror), -ETIMEDOUT. */
int vsw_switch_mirror_del(struct vsw_switch *sw, const char *bridge,
			  const char *name, char *err, size_t err_len);

struct vsw_mirror_info {
	const char *bridge;
	const struct vsw_mirror_config *cfg; /* valid during the callback */
	bool active;	  /* its output port is in the bridge (or a VLAN) */
	char status[192]; /* "active", or what is missing */
	uint64_t packets; /* copies sent (output_vlan: frames copied) */
	uint64_t bytes;
	uint64_t drops; /* copies not made (pool empty) or not taken */
};

/*
 * cb for each mirror of @bridge (NULL: of every bridge) in creation order;
 * stops on non-zero (returned). -ENOENT (no bridge).
 */
int vsw_switch_mirror_iter(struct vsw_switch *sw, const char *bridge,
			   int (*cb)(const struct vsw_mirror_info *info,
				     void *arg),
			   void *arg);

/* ---- OpenFlow controllers (ofctl.c) ---- */

/* Packet-in reasons (OpenFlow 1.3's ofp_packet_in_reason). */
#define VSW_PIN_NO_MATCH 0 /* the table-miss rule (priority 0, match all) */
#define VSW_PIN_ACTION 1   /* another rule's CONTROLLER action */

/* A frame a CONTROLLER action sent; valid during the callback only. */
struct vsw_packet_in {
	const char *bridge;
	uint16_t in_port; /* ofport */
	uint8_t reason;	  /* VSW_PIN_* */
	uint64_t cookie;  /* of the rule */
	uint32_t total_len;
	uint32_t len; /* bytes at data: min(total_len, max_len) */
	const uint8_t *data;
};

/*
 * An eventfd that becomes readable when packet-ins wait; poll it, then
 * call vsw_switch_packet_in_poll(). Control thread.
 */
int vsw_switch_packet_in_fd(const struct vsw_switch *sw);
/*
 * Call @cb for at most @budget waiting packet-ins (every data thread's).
 * Returns how many; @budget of them: more may wait (call again before
 * sleeping). Control thread.
 */
unsigned vsw_switch_packet_in_poll(struct vsw_switch *sw,
				   void (*cb)(void *arg,
					      const struct vsw_packet_in *pi),
				   void *arg, unsigned budget);
/* true if packet-ins wait (a hint). Control thread. */
bool vsw_switch_packet_in_pending(const struct vsw_switch *sw);
/* Packet-ins queued and dropped (a data thread's ring full) so far. */
void vsw_switch_packet_in_stats(const struct vsw_switch *sw, uint64_t *sent,
				uint64_t *dropped);

#define VSW_SWITCH_PACKET_OUT_MAX 65535u /* frame bytes */
/*
 * Send @frame (@len bytes, a copy is taken) with @acts as a rule's actions
 * would (OUTPUT, IN_PORT, FLOOD, ALL, NORMAL, edits, CONTROLLER), coming
 * from @in_port: an ofport of @bridge or VSW_FLOW_PORT_CONTROLLER (no in
 * port: NORMAL floods then). An OUTPUT to VSW_FLOW_PORT_TABLE runs the
 * frame through the bridge's flow table. Queued to a data thread, which
 * sends it: returns before it is sent. 0; -ENOENT (no bridge), -EINVAL
 * (length), -ENOBUFS (the queue is full). Control thread.
 */
int vsw_switch_packet_out(struct vsw_switch *sw, const char *bridge,
			  uint16_t in_port, const struct vsw_flow_act *acts,
			  unsigned n_acts, const uint8_t *frame, uint32_t len,
			  char *err, size_t err_len);

/*
 * Fail-open (OpenFlow's standalone fail mode without a controller): @on,
 * the bridge forwards every frame with the learning switch whatever its
 * flow table says (the table and its counters are kept); off, by the
 * table again. Returns after every data thread sees it. Control thread.
 */
int vsw_switch_set_fail_open(struct vsw_switch *sw, const char *bridge,
			     bool on, char *err, size_t err_len);

#endif /* VSW_SWITCH_H */
