/* API-READY */
/* SPDX-License-Identifier: MIT */
/*
 * vsw_port: the port provider interface of the switch.
 *
 * One struct vsw_port_ops per port type (tap, internal, afpacket, afxdp,
 * vhostuser, vhostuserclient, dummy), the way OVS has netdev providers and
 * testpmd has forwarding engines. The switch owns the generic struct
 * vsw_port (name, id, counters, link flag, queue mapping); a provider hangs
 * its own state on it with vsw_port_set_priv().
 *
 * Threads.
 *  - Control thread: the one thread that calls the vsw_switch_* control API
 *    (vsw/switch.h). open, close, n_rxq, n_txq, ctl_fd, ctl_timeout_ms,
 *    ctl_handle and status only ever run there, and so do
 *    vsw_port_changed() and vsw_port_quiesce().
 *  - Data threads ("vsw-pmd<N>"): recv, rxq_wait_fd, rxq_arm and rxq_disarm
 *    for one rxq are called by the one data thread that owns that rxq at the
 *    time; the owner only changes across a quiescent point (see
 *    vsw_port_quiesce()), which orders everything the old owner did before
 *    everything the new owner does. send for one txq is called by one data
 *    thread at a time: the switch takes a per-txq spinlock when several
 *    threads share a txq, so a provider never locks. recv and send of the
 *    same port may run concurrently on different threads.
 *  - No data-thread op may block, sleep or allocate per packet; they
 *    return what they could do now.
 *
 * Packets. recv takes packets from the pool it is given (the calling
 * thread's own, vsw/pkt.h) and hands them to the switch, which owns them
 * from then on. send COPIES: the caller keeps ownership of every packet, so
 * one packet can go to many ports without a clone; a provider must neither
 * modify nor free nor keep a pointer to a packet after send returns. The
 * offload metadata (pkt->vnet, CPU byte order) travels with the frame:
 * a provider that can pass it on (tap with IFF_VNET_HDR, vhost-user) does,
 * one that cannot must complete the offload (checksum, segmentation) in
 * software before handing the frame on, or not accept it.
 *
 * Queue counts. n_rxq / n_txq are read by the switch when the port is added
 * and again each time the provider calls vsw_port_changed(). Until that
 * call returns, recv / send / rxq_* may still be called with any index
 * below the counts read before; a provider that shrinks keeps the removed
 * queues safe to call (returning 0) until then.
 *
 * Counters: the switch keeps per-rxq and per-txq packets, bytes and drops by
 * reason (struct vsw_queue_stats); a provider adds its own drops with
 * vsw_port_rxq_drop() / vsw_port_txq_drop().
 */
#ifndef VSW_PORT_H
#define VSW_PORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include <vsw/log.h>
#include <vsw/pkt.h>

/* Packets per recv / send call at most: the switch's batch size. */
#define VSW_PORT_BURST 32
/* Queues per direction a port may have. */
#define VSW_PORT_MAX_QUEUES 64
/* Longest port name, including the terminating NUL (IFNAMSIZ-friendly). */
#define VSW_PORT_NAME_MAX 64

struct vsw_port;

/* Why a packet was dropped; counted per rxq or per txq as noted. */
enum vsw_drop_reason {
	VSW_DROP_RX_NOMEM = 0,	/* rxq: the thread's packet pool was empty */
	VSW_DROP_RX_ERROR = 1,	/* rxq: provider-level receive error */
	VSW_DROP_BAD_FRAME = 2, /* rxq: runt or malformed frame */
	VSW_DROP_VLAN_FILTERED = 3, /* rxq: VLAN not allowed on the in port */
	VSW_DROP_NO_DEST = 4,	    /* rxq: nowhere to send (hairpin, empty
				    * flood set) */
	VSW_DROP_TX_FULL = 5,	    /* txq: offered, not taken by send */
	VSW_DROP_TX_DOWN = 6,	    /* txq: output link down */
	VSW_DROP_TX_ERROR = 7,	    /* txq: taken by the provider but discarded
				    * (e.g. larger than the peer's buffers),
				    * or egress VLAN push impossible */
	VSW_DROP_RX_POLICED = 8,    /* rxq: over ingress_policing_rate */
	VSW_DROP_TX_RATE = 9,	    /* txq: over the port's max-rate */
	VSW_DROP__COUNT
};

/* Name of a drop reason ("tx_full"), or NULL. */
const char *vsw_drop_reason_name(enum vsw_drop_reason r);
/* true for a reason counted on txqs, false for one counted on rxqs. */
bool vsw_drop_reason_tx(enum vsw_drop_reason r);

/*
 * Per-queue counters. rx: packets / bytes received by recv (before the
 * forwarding decision); tx: packets / bytes taken by send. Drops are
 * counted separately, by reason; a packet dropped at rx is still in rx
 * packets.
 */
struct vsw_queue_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops[VSW_DROP__COUNT];
};

/* One key=value option of a port ("socket=/run/vsw/vm1.sock"). */
struct vsw_port_opt {
	const char *key;
	const char *value;
};

/* One provider counter (vsw_port_ops.counters). */
struct vsw_port_counter {
	const char *name;
	uint64_t value;
};

/* Most counters a provider reports. */
#define VSW_PORT_MAX_COUNTERS 16

struct vsw_port_ops {
	/* Port type name as the user writes it ("vhostuser"). */
	const char *type;

	/* ---- control thread ---- */

	/*
	 * Set the port up from its options. The port is not yet visible to
	 * any data thread. On failure return a negative errno and write a
	 * one-line human message to err (err_len bytes, NUL-terminated);
	 * close is then not called. Unknown option keys must be refused
	 * (vsw_port_opts_check()). Mandatory.
	 */
	int (*open)(struct vsw_port *port, const struct vsw_port_opt *opts,
		    unsigned n_opts, char *err, size_t err_len);
	/*
	 * Release everything. Called after every data thread has stopped
	 * using the port (no op of this port runs or will run). Mandatory.
	 */
	void (*close)(struct vsw_port *port);
	/* Current queue counts, 0 .. VSW_PORT_MAX_QUEUES. Mandatory. */
	unsigned (*n_rxq)(const struct vsw_port *port);
	unsigned (*n_txq)(const struct vsw_port *port);

	/*
	 * Optional control-loop hooks (a vhost-user socket, reconnect timers).
	 * ctl_fd: the fd to watch for readability now, or -1; re-read before
	 * every poll (it may change after ctl_handle).
	 * ctl_timeout_ms: milliseconds from now until ctl_handle must run even
	 * without readability, 0 for now, -1 for never.
	 * ctl_handle: do the pending work without blocking. It may be called
	 * spuriously (nothing readable, deadline not reached) and must then
	 * return having done nothing harmful.
	 */
	int (*ctl_fd)(struct vsw_port *port);
	int (*ctl_timeout_ms)(struct vsw_port *port);
	void (*ctl_handle)(struct vsw_port *port);

	/*
	 * Optional one-line state for `show` ("connected, 2 queue pairs"),
	 * written NUL-terminated into buf.
	 */
	void (*status)(const struct vsw_port *port, char *buf, size_t len);

	/*
	 * Optional provider counters beyond the switch's per-queue ones
	 * (vhostuser: its IOTLB), for `dump-ports`: up to max name / value
	 * pairs into c (names are static strings), returns how many.
	 * Control thread.
	 */
	unsigned (*counters)(const struct vsw_port *port,
			     struct vsw_port_counter *c, unsigned max);

	/*
	 * Optional: the Ethernet address of the host interface the port is
	 * (tap, internal) or is bound to (afpacket, afxdp) into mac; 0, or
	 * -ENODEV while it has none (the interface gone). OpenFlow's
	 * ofp_port.hw_addr. Control thread.
	 */
	int (*hwaddr)(struct vsw_port *port, uint8_t mac[6]);

	/*
	 * Optional: change options of the running port (vswctl set-port).
	 * old[0..n_old) are the options it runs with (those of open or of
	 * the last reconfigure), opts[0..n_opts) the complete new set, as
	 * open would get it; the switch calls this only when they differ.
	 * Apply what changed, all or nothing: on failure the port runs as
	 * before, and the return is -EINVAL (unknown key, bad value) or
	 * -EOPNOTSUPP (an option that cannot change on a running port,
	 * vsw_port_opts_fixed()), with a one-line message in err. Without
	 * this op every change is refused with -EOPNOTSUPP.
	 */
	int (*reconfigure)(struct vsw_port *port, const struct vsw_port_opt *old,
			   unsigned n_old, const struct vsw_port_opt *opts,
			   unsigned n_opts, char *err, size_t err_len);

	/* ---- data thread owning the queue ---- */

	/*
	 * Receive up to n (<= VSW_PORT_BURST) frames of rxq into pkts[0..ret),
	 * taking buffers from pool. Ownership passes to the caller. A frame
	 * dropped for lack of buffers is counted with
	 * vsw_port_rxq_drop(port, rxq, VSW_DROP_RX_NOMEM, 1). Mandatory.
	 */
	unsigned (*recv)(struct vsw_port *port, unsigned rxq,
			 struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			 unsigned n);
	/*
	 * Copy pkts[0..n) (n <= VSW_PORT_BURST) out on txq, in order. Returns
	 * how many it took, always a prefix: pkts[ret..n) are dropped and
	 * counted by the switch (tx_full, or tx_down if the link is down).
	 * Mandatory.
	 */
	unsigned (*send)(struct vsw_port *port, unsigned txq,
			 struct vsw_pkt *const *pkts, unsigned n);

	/*
	 * Optional idle-sleep support. Without rxq_wait_fd (or when it
	 * returns -1) a thread owning this rxq never sleeps.
	 * rxq_wait_fd: an fd that becomes readable when rxq has work after
	 * rxq_arm; the thread only polls it, never reads it (a provider whose
	 * fd needs draining, e.g. an eventfd, drains it in rxq_disarm or
	 * recv). Re-read every time the thread goes to sleep; a provider that
	 * replaces the fd calls vsw_port_changed() before closing the old one.
	 * rxq_arm: enable notifications, then re-check the queue: return true
	 * if work is already pending (the thread then keeps polling).
	 * rxq_disarm: disable notifications again (after the wake-up).
	 */
	int (*rxq_wait_fd)(struct vsw_port *port, unsigned rxq);
	bool (*rxq_arm)(struct vsw_port *port, unsigned rxq);
	void (*rxq_disarm)(struct vsw_port *port, unsigned rxq);
};

/* ---- generic port accessors (any thread unless noted) ---- */

const char *vsw_port_name(const struct vsw_port *port);
const char *vsw_port_type(const struct vsw_port *port);
/* Switch-wide port number; what pkt->in_port holds for received packets. */
unsigned vsw_port_id(const struct vsw_port *port);
/* The provider's private state (NULL until set). */
void *vsw_port_priv(const struct vsw_port *port);
/* Set the private state; control thread, normally in open. */
void vsw_port_set_priv(struct vsw_port *port, void *priv);

/*
 * Link state. A port is up after open unless the provider set it down
 * (e.g. vhost-user until the guest's driver is ready). Frames sent to a
 * down port are dropped and counted as tx_down without calling send. Any
 * thread; a relaxed flag (the send path tolerates a stale value).
 */
void vsw_port_set_link(struct vsw_port *port, bool up);
bool vsw_port_link(const struct vsw_port *port);

/*
 * Log through the switch's log callback, prefixed with the port name. The
 * _rl variant is rate-limited per port (a burst of 10, then one message per
 * second) and is the only one to call from a data thread.
 */
void vsw_port_log(const struct vsw_port *port, enum vsw_log_level level,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vsw_port_log_rl(struct vsw_port *port, enum vsw_log_level level,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Count n drops of reason on rxq (from recv, on the owning thread) or on
 * txq (from send, on the thread currently sending on it).
 */
void vsw_port_rxq_drop(struct vsw_port *port, unsigned rxq,
		       enum vsw_drop_reason reason, unsigned n);
void vsw_port_txq_drop(struct vsw_port *port, unsigned txq,
		       enum vsw_drop_reason reason, unsigned n);

/*
 * The provider's queue counts or rxq wait fds changed: the switch re-reads
 * n_rxq / n_txq, redistributes the rxqs over the data threads, wakes
 * sleeping threads (so they re-read rxq_wait_fd) and returns once every
 * data thread has passed a quiescent point. Control thread only; returns 0,
 * -ENOMEM (the old mapping is kept) or -ETIMEDOUT (a data thread is stuck,
 * vsw_switch_sync(): the remapping completes once it comes round, and
 * until then no quiescent point is promised, so keep what a thread may
 * still use, e.g. an fd, and retry).
 */
int vsw_port_changed(struct vsw_port *port);

/*
 * Wait until every data thread has passed a quiescent point: on return, no
 * op of any port that was running when this was called is still running
 * (e.g. a vhost-user queue_stop can then release the queue, after making
 * recv / send for it return 0). Control thread only.
 */
void vsw_port_quiesce(struct vsw_port *port);

/* ---- option helpers for open ---- */

/* The value of key, or NULL (the last occurrence wins). */
const char *vsw_port_opt_get(const struct vsw_port_opt *opts, unsigned n_opts,
			     const char *key);
/*
 * 0 if every key is in the NULL-terminated list known, else -EINVAL with
 * "unknown option 'x' for type T" in err.
 */
int vsw_port_opts_check(const struct vsw_port *port,
			const struct vsw_port_opt *opts, unsigned n_opts,
			const char *const *known, char *err, size_t err_len);
/*
 * Parse key as an unsigned decimal in [min, max]; *out = def if absent.
 * 0, or -EINVAL with a message in err.
 */
int vsw_port_opt_uint(const struct vsw_port_opt *opts, unsigned n_opts,
		      const char *key, unsigned def, unsigned min, unsigned max,
		      unsigned *out, char *err, size_t err_len);

/* Whether key has another value (or presence) in opts than in old. */
bool vsw_port_opt_changed(const struct vsw_port_opt *old, unsigned n_old,
			  const struct vsw_port_opt *opts, unsigned n_opts,
			  const char *key);
/*
 * For reconfigure: 0 if no key of the NULL-terminated list fixed changed
 * between old and opts, else -EOPNOTSUPP with "option K of type T cannot
 * change on a running port: del-port and add-port it" (why, if not NULL,
 * is added in parentheses) in err.
 */
int vsw_port_opts_fixed(const struct vsw_port *port,
			const struct vsw_port_opt *old, unsigned n_old,
			const struct vsw_port_opt *opts, unsigned n_opts,
			const char *const *fixed, const char *why, char *err,
			size_t err_len);

/*
 * reconfigure of a provider none of whose options can change live: the
 * keys of known are checked (vsw_port_opts_check), then all of them are
 * fixed (vsw_port_opts_fixed with why). 0 only if nothing changed.
 */
int vsw_port_opts_all_fixed(const struct vsw_port *port,
			    const struct vsw_port_opt *old, unsigned n_old,
			    const struct vsw_port_opt *opts, unsigned n_opts,
			    const char *const *known, const char *why,
			    char *err, size_t err_len);

/*
 * Format an error message for the user into err (err_len bytes; nothing
 * when err is NULL or err_len is 0): what providers' open() reports.
 */
void vsw_port_errf(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The Ethernet address of host interface ifname (in this network
 * namespace) into mac: 0 or a negative errno (mac then zeroed).
 */
int vsw_port_ifhwaddr(const char *ifname, uint8_t mac[6]);

/* ---- registry ---- */

/* The built-in provider of that type name, or NULL. */
const struct vsw_port_ops *vsw_port_ops_find(const char *type);
/* The i-th built-in provider (for listing types), NULL past the end. */
const struct vsw_port_ops *vsw_port_ops_at(unsigned i);

/* Built-in providers (lib/ports/). */
extern const struct vsw_port_ops vsw_port_dummy_ops;
extern const struct vsw_port_ops vsw_port_tap_ops;
extern const struct vsw_port_ops vsw_port_internal_ops;
extern const struct vsw_port_ops vsw_port_afpacket_ops;
extern const struct vsw_port_ops vsw_port_afxdp_ops;
extern const struct vsw_port_ops vsw_port_vhostuser_ops;
extern const struct vsw_port_ops vsw_port_vhostuserclient_ops;
extern const struct vsw_port_ops vsw_port_vxlan_ops;
extern const struct vsw_port_ops vsw_port_geneve_ops;

/* ---- the dummy provider's test hooks ---- */

/*
 * "dummy" ports: in-memory single-producer / single-consumer rings, one per
 * queue, with an eventfd per rxq for idle sleep. Options:
 *   rxq=N, txq=N   queue counts (default 1, at most 8)
 *   ring=N         slots per ring, a power of two (default 256)
 *   link=up|down   initial link state (default up)
 *   wait=0         no rxq_wait_fd: a thread owning the port never sleeps
 *   ctl_timer_ms=N a control timer firing every N ms (counted)
 * Every hook fails with -ENOTSUP on a port of another type.
 */

/*
 * Queue one frame (len <= VSW_PKT_SMALL_ROOM) with optional offload
 * metadata on rxq, and kick the rxq's eventfd if it is armed. One producer
 * thread per rxq. 0, -ENOSPC (ring full), -EINVAL.
 */
int vsw_port_dummy_inject(struct vsw_port *port, unsigned rxq,
			  const void *frame, size_t len,
			  const struct virtio_net_hdr_v1 *vnet);
/*
 * Take the oldest frame the switch sent on any txq (lowest txq first) into
 * buf; its metadata into *vnet and its txq into *txq if not NULL. Returns
 * the frame length, -EAGAIN if nothing is queued, -EMSGSIZE if cap is too
 * small (the frame stays). One consumer thread per port.
 */
int vsw_port_dummy_collect(struct vsw_port *port, void *buf, size_t cap,
			   struct virtio_net_hdr_v1 *vnet, unsigned *txq);
/* Frames waiting in the tx rings (sent by the switch, not collected). */
int vsw_port_dummy_tx_pending(struct vsw_port *port);
/* Frames injected and not yet received by the switch, over all rxqs. */
int vsw_port_dummy_rx_pending(struct vsw_port *port);
/* Eventfd writes done by inject (wake-ups of a sleeping thread). */
int64_t vsw_port_dummy_kicks(struct vsw_port *port);
/* Calls of ctl_handle that found the control timer expired. */
int64_t vsw_port_dummy_ctl_fired(struct vsw_port *port);
/*
 * Change the queue counts (1..8) and call vsw_port_changed(). Control
 * thread. 0 or negative errno.
 */
int vsw_port_dummy_set_queues(struct vsw_port *port, unsigned n_rxq,
			      unsigned n_txq);

#endif /* VSW_PORT_H */
