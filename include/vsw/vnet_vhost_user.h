/* SPDX-License-Identifier: MIT */
/*
 * vsw_vnet_vu: a virtio-net device (vsw_vnet) served over vhost-user
 * (vsw_vu). This is what a vhost-user port of the switch uses: one control
 * thread answers the front-end, one data-plane thread moves frames.
 *
 * Threads and the queue handover
 * ------------------------------
 * Control thread: create / destroy, vsw_vnet_vu_ctl_*() and every accessor
 * not marked "data thread". The vsw_vu callbacks (queue_start, queue_stop,
 * ...) run there, and so does the control queue (vsw_vnet_ctrl_process).
 *
 * Data thread (one at a time): vsw_vnet_vu_dp_*(), tx_burst, rx_burst.
 * It must not hold any queue across a call of vsw_vnet_vu_dp_quiesce(),
 * which it calls once per poll round (a "quiescent point", as in RCU), and
 * it calls vsw_vnet_vu_dp_online() before its first round and
 * vsw_vnet_vu_dp_offline() when it stops polling this device for good.
 *
 * Each data queue has a running flag. queue_start attaches the queue to the
 * vsw_vnet, then sets the flag (release). A burst reads the flag (acquire)
 * and touches the queue only when it is set: no lock, no fence, no atomic
 * read-modify-write on the packet path. queue_stop clears the flag, bumps a
 * generation counter and waits until the data thread reported that
 * generation from a quiescent point (or is offline), writing a wake-up
 * eventfd so that a data thread asleep in vsw_vnet_vu_dp_sleep() comes
 * round; only then is the queue detached and handed back to vsw_vu.
 * queue_stop therefore blocks while the data thread is inside one round: a
 * data thread that stops calling quiesce (and is not offline) stalls the
 * control thread. docs/concurrency.md lists the pairings.
 */
#ifndef VSW_VNET_VHOST_USER_H
#define VSW_VNET_VHOST_USER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <vsw/pkt.h>
#include <vsw/vhost_user.h>
#include <vsw/virtio_net.h>

/*
 * Features offered by default: everything vsw_vnet implements, plus MTU,
 * plus VIRTIO_F_ACCESS_PLATFORM (guests behind a virtual IOMMU: vsw_vu's
 * IOTLB; it costs nothing when the front-end does not take it).
 */
#define VSW_VNET_VU_FEATURES                                                   \
	(VSW_VNET_FEATURES | VSW_VNET_BIT(VIRTIO_NET_F_MTU) |                 \
	 VSW_VNET_BIT(VIRTIO_F_ACCESS_PLATFORM))

/* Most extra fds vsw_vnet_vu_dp_sleep() watches besides the queues. */
#define VSW_VNET_VU_SLEEP_EXTRA 8
/* Most fds the control thread watches (vsw_vnet_vu_ctl_fds()). */
#define VSW_VNET_VU_CTL_FDS 2

struct vsw_vnet_vu;

struct vsw_vnet_vu_config {
	enum vsw_vu_mode mode; /* as for vsw_vu_create() */
	const char *path;
	int fd;
	/* Offered features: 0 means VSW_VNET_VU_FEATURES; else a subset. */
	uint64_t features;
	uint16_t max_qp;	   /* 1 .. VSW_VNET_MAX_QP */
	uint16_t port_id;	   /* vsw_pkt.in_port of received frames */
	uint8_t mac[6];		   /* initial address of the control state */
	struct vsw_pkt_pool *pool; /* the data thread's packet pool */
	vsw_vu_log_fn *log;	   /* NULL: stderr */
	void *log_opaque;
	enum vsw_log_level log_level;
	unsigned retry_min_ms, retry_max_ms; /* CLIENT mode backoff */
	unsigned sock_mode;	/* SERVER socket file: as vsw_vu_config */
	bool sock_gid_set;
	gid_t sock_gid;
};

/*
 * Create the device and its vhost-user endpoint. 0, -EINVAL (config),
 * -ENOMEM, or vsw_vu_create()'s error. FD mode: cfg->fd is owned from now
 * on, also on failure. Control thread.
 */
int vsw_vnet_vu_create(const struct vsw_vnet_vu_config *cfg,
		       struct vsw_vnet_vu **out);
/*
 * Stop every queue, close the endpoint, free. The data thread must have
 * stopped using v for good (dp_offline, no call after it). Accepts NULL.
 */
void vsw_vnet_vu_destroy(struct vsw_vnet_vu *v);

/* ------------------------------------------------------------------ */
/* Control thread                                                      */
/* ------------------------------------------------------------------ */

/*
 * The fds to watch for readability now (the vhost-user socket, the control
 * queue's kick fd): up to VSW_VNET_VU_CTL_FDS written to fds, count returned.
 * Re-read after every vsw_vnet_vu_ctl_handle().
 */
unsigned vsw_vnet_vu_ctl_fds(const struct vsw_vnet_vu *v, int *fds);
/* Milliseconds until ctl_handle is due anyway, or -1 (never). */
int vsw_vnet_vu_ctl_timeout_ms(const struct vsw_vnet_vu *v);
/*
 * One non-blocking step: answer pending control-queue commands, then one
 * vsw_vu_handle() step. Returns vsw_vu_handle()'s value (0 or the negative
 * errno of a connection it closed; the object stays usable).
 */
int vsw_vnet_vu_ctl_handle(struct vsw_vnet_vu *v);
/*
 * Wait up to timeout_ms (-1: forever) for one of the fds above (or the
 * endpoint's timeout), then ctl_handle(). Returns what ctl_handle returned,
 * 0 on timeout, or -errno of poll (-EINTR when a signal arrived).
 */
int vsw_vnet_vu_ctl_run(struct vsw_vnet_vu *v, int timeout_ms);

/* The endpoint (for vsw_vu_connected(), vsw_vu_features(), ...). */
struct vsw_vu *vsw_vnet_vu_endpoint(const struct vsw_vnet_vu *v);
/*
 * The virtio-net device of the current connection (stats, control state),
 * or NULL before its first queue started. Replaced when a new driver starts
 * (new connection, reset, other features).
 */
const struct vsw_vnet *vsw_vnet_vu_device(const struct vsw_vnet_vu *v);
/* MTU from NET_SET_MTU (0: none received) and the last SET_STATUS. */
uint16_t vsw_vnet_vu_mtu(const struct vsw_vnet_vu *v);
uint8_t vsw_vnet_vu_status(const struct vsw_vnet_vu *v);
uint16_t vsw_vnet_vu_max_qp(const struct vsw_vnet_vu *v);

/* Any thread: whether data queue qidx is running now (a snapshot). */
bool vsw_vnet_vu_queue_running(const struct vsw_vnet_vu *v, unsigned qidx);

/* ------------------------------------------------------------------ */
/* Data thread                                                         */
/* ------------------------------------------------------------------ */

/* Start polling this device (see the handover above). */
void vsw_vnet_vu_dp_online(struct vsw_vnet_vu *v);
/* Stop polling it: a quiescent point that lasts until the next online. */
void vsw_vnet_vu_dp_offline(struct vsw_vnet_vu *v);
/* Between rounds, holding no queue: let a waiting queue_stop go on. */
void vsw_vnet_vu_dp_quiesce(struct vsw_vnet_vu *v);

/*
 * Frames the guest transmitted on pair qp, as vsw_vnet_tx_burst(); 0 when
 * that transmitq is not running.
 */
unsigned vsw_vnet_vu_tx_burst(struct vsw_vnet_vu *v, unsigned qp,
			      struct vsw_pkt **pkts, unsigned n);
/*
 * Deliver to the guest's receiveq of pair qp, as vsw_vnet_rx_burst();
 * 0 (nothing consumed) when that receiveq is not running.
 */
unsigned vsw_vnet_vu_rx_burst(struct vsw_vnet_vu *v, unsigned qp,
			      struct vsw_pkt *const *pkts, unsigned n);

/*
 * Data thread: frames of pair qp's transmitq are allocated from pool (the
 * calling thread's own) from now on. Cheap when nothing changed (one load
 * and a compare): call it before every burst. Each queue start, and each
 * new vsw_vnet (a new driver), begins with cfg->pool again, so a caller
 * that calls this before each burst never draws from cfg->pool. 0,
 * -EINVAL (qp), -ENODEV (the transmitq is not running: nothing to do).
 */
int vsw_vnet_vu_dp_tx_set_pool(struct vsw_vnet_vu *v, unsigned qp,
			       struct vsw_pkt_pool *pool);

/*
 * Idle sleep in the caller's own poll loop (a switch thread that also
 * polls other ports) on the transmitq of pair qp. One round goes
 * dp_tx_kick_fd(), dp_tx_arm(), poll() on the fd, dp_tx_disarm(), with no
 * dp_quiesce() in between: a queue_stop meanwhile (which precedes every
 * close or replacement of the kick fd, vsw_vu) waits for the next
 * quiescent point, so the queue and its kick fd stay attached and open
 * until disarm has returned. The fd changes with every queue start:
 * re-read it every round, never keep it across a quiescent point.
 *
 * dp_tx_kick_fd: the kick fd of the running transmitq; -1 if that queue is
 * not running (vsw_vnet_vu_queue_running() tells) or has no kick fd (the
 * front-end set VHOST_USER_VRING_NOFD_MASK: the ring must be polled).
 * Poll it, do not read it: dp_tx_disarm() drains it.
 */
int vsw_vnet_vu_dp_tx_kick_fd(const struct vsw_vnet_vu *v, unsigned qp);
/*
 * Ask the guest to kick (vsw_vq_dev_enable_notify()), then re-check the
 * ring: true if frames are already there (do not sleep); false if it is
 * safe to sleep on the kick fd, and also when the transmitq is not
 * running (nothing was enabled then).
 */
bool vsw_vnet_vu_dp_tx_arm(struct vsw_vnet_vu *v, unsigned qp);
/*
 * After the wake-up: suppress kicks again and drain the kick fd (one
 * non-blocking check and read, per wake-up, never per frame). Does
 * nothing if dp_tx_arm() enabled nothing.
 */
void vsw_vnet_vu_dp_tx_disarm(struct vsw_vnet_vu *v, unsigned qp);

/*
 * Sleep until there is work: the guest kicks a running transmitq, or the
 * receiveq of a pair whose bit is set in rx_wait (frames wait for guest
 * buffers), a queue starts or stops, an extra fd (up to
 * VSW_VNET_VU_SLEEP_EXTRA; revents filled in) is ready, or timeout_ms
 * passes. Guest notifications are enabled for the wait and suppressed
 * again before returning; if work is already there it returns at once.
 * Not a quiescent point: a queue_stop meanwhile wakes it. Returns > 0
 * (woken or work pending), 0 (timeout), or -errno (poll; -EINTR).
 */
int vsw_vnet_vu_dp_sleep(struct vsw_vnet_vu *v, uint64_t rx_wait,
			 struct pollfd *extra, unsigned n_extra,
			 int timeout_ms);

#endif /* VSW_VNET_VHOST_USER_H */
