/* SPDX-License-Identifier: MIT */
/*
 * vhostuser / vhostuserclient: a port that is a virtio-net device served
 * over vhost-user (vsw_vnet_vu) to a guest (QEMU, DPDK virtio-user, ...).
 *  - vhostuser: vsw listens on a socket (path, default
 *    <run_dir>/<port>.sock; the daemon passes run_dir) and the guest's
 *    front-end connects (QEMU "-chardev socket,path=...").
 *  - vhostuserclient: the front-end listens (QEMU "server=on") and vsw
 *    connects, retrying with backoff while it is not there and again
 *    whenever it goes away (a QEMU restart).
 * Option queues=N: queue pairs offered (default 1). vhostuser only:
 * socket_mode=OCTAL (at most 0777) and socket_group=GID, the socket file's
 * mode and group, set before it listens (the daemon passes its own
 * settings here, never a client's).
 *
 * Queues: port rxq q is the guest's transmitq of pair q, txq q its
 * receiveq. The port shows as many queue pairs as the guest has running
 * (at least one) and calls vsw_port_changed() when that changes; the link
 * is up while one of the guest's receive queues runs.
 *
 * Handover with the data threads. vsw_vnet_vu's own grace period expects
 * a single data thread that calls its dp_quiesce; the switch has several
 * threads and its own grace period (vsw_port_quiesce). So the port keeps
 * vsw_vnet_vu's data side "offline" for good and excludes the data threads
 * itself around every control step: ctl_handle sets `paused`, waits with
 * vsw_port_quiesce() until no recv / send of this port runs (later ones
 * see `paused` and return 0 at once), lets vsw_vnet_vu run the vhost-user
 * message (which may start or stop queues, remap memory, replace the
 * device), then clears `paused`. A control step therefore briefly stops
 * this port's traffic, which only matters while the guest reconfigures.
 *
 * Idle sleep (rxq_wait_fd / rxq_arm / rxq_disarm): rxq q sleeps on the
 * kick fd of the guest's transmitq q while that queue runs (arm enables the
 * guest's kicks and re-checks the ring, disarm suppresses them again and
 * drains the fd). While the transmitq does not run (no guest connected, or
 * the guest does not use that pair) the rxq's wait fd is `quiet_fd`, an
 * eventfd nobody writes: the thread sleeps until the switch wakes it. It
 * does when a guest comes: every control step begins with
 * vsw_port_quiesce(), which wakes every sleeping data thread and waits until
 * each has left its sleep (and every op of this port). The kick fd is only
 * closed or replaced inside a control step (vsw_vu stops the queue first),
 * so no thread polls a closed fd: a sleep that began before the step has
 * ended when the step starts, and while the step runs rxq_wait_fd returns
 * -1 (`paused`: the thread keeps polling for that short while and reads
 * the new fd when it next sleeps). A queue running without a kick fd
 * (VHOST_USER_VRING_NOFD_MASK) also gives -1: the ring must be polled.
 *
 * Packet pools: frames the guest transmits are allocated from the pool of
 * the thread calling recv; recv hands vsw_vnet_vu that pool before each
 * burst (vsw_vnet_vu_dp_tx_set_pool(), a compare when unchanged), as the
 * rxq's owner may change and every queue start begins with the device's
 * default pool.
 *
 * A peer that vanishes (QEMU killed, the front-end's socket closed):
 * vsw_vu sees the connection close on the control thread and stops every
 * queue, so the link goes down and each rxq's wait fd becomes quiet_fd
 * (the data threads sleep, nothing is polled); a vhostuser port accepts
 * the next connection on its socket, a vhostuserclient port reconnects
 * with vsw_vu's backoff. `show` says "peer gone" (once a front-end had
 * the link up) until a peer is connected again.
 *
 * Control fds: vsw_vnet_vu watches up to two fds (the socket, the control
 * queue's kick); the port API has one, so they are gathered in an epoll
 * set whose fd is the port's ctl_fd, rebuilt after every control step.
 *
 * Security model: the guest and its front-end are not trusted; every
 * message, ring access and frame is validated in vsw_vu, vsw_vq_dev and
 * vsw_vnet. This file reads nothing from the peer itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <vsw/vnet_vhost_user.h>

#include "tap_priv.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"

#define VHU_DEFAULT_RUN_DIR "/run/vsw"

struct vhu_port {
	struct vsw_port *port;
	struct vsw_vnet_vu *vu;
	struct vsw_pkt_pool *idle_pool; /* the device's default; see open */
	bool client;
	unsigned max_qp;
	unsigned n_qp; /* pairs shown to the switch */
	int epfd; /* ctl_fd: readable when one of reg[] is */
	int reg[VSW_VNET_VU_CTL_FDS];
	unsigned n_reg;
	/*
	 * A front-end brought the link up since open (a connection that only
	 * probed the socket does not count); control thread.
	 */
	bool had_peer;
	int quiet_fd; /* rxq_wait_fd of a rxq whose transmitq is not running */
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	/*
	 * 1 while the control thread runs a vhost-user step. Written by the
	 * control thread (ordered for the data threads by vsw_port_quiesce()
	 * on set, release on clear), read with acquire by recv / send.
	 */
	uint32_t paused;
};

static void vhu_log(void *opaque, enum vsw_log_level level,
		    const char *line)
{
	struct vhu_port *h = opaque;

	vsw_port_log(h->port, level, "%s", line);
}

/* Make the epoll set the fds vsw_vnet_vu watches now. */
static void vhu_epoll_sync(struct vhu_port *h)
{
	struct epoll_event ev = {.events = EPOLLIN};
	unsigned i;

	/*
	 * Remove every fd registered before, then add the current ones: an
	 * fd closed and reopened under the same number is then registered
	 * again (epoll dropped the closed file by itself; the delete of the
	 * number fails harmlessly).
	 */
	for (i = 0; i < h->n_reg; i++)
		(void)epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->reg[i], NULL);
	h->n_reg = vsw_vnet_vu_ctl_fds(h->vu, h->reg);
	for (i = 0; i < h->n_reg; i++) {
		ev.data.fd = h->reg[i];
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->reg[i], &ev) < 0)
			vsw_port_log(h->port, VSW_LOG_ERR, "epoll_ctl: %s",
				     strerror(errno));
	}
}

/* Pairs running now and the link; tells the switch when they changed. */
static void vhu_refresh(struct vhu_port *h, bool *changed)
{
	unsigned qp, n = 1;
	bool up = false;

	for (qp = 0; qp < h->max_qp; qp++) {
		bool rx = vsw_vnet_vu_queue_running(h->vu, 2 * qp);

		if (rx || vsw_vnet_vu_queue_running(h->vu, 2 * qp + 1))
			n = qp + 1;
		up |= rx;
	}
	h->had_peer |= up;
	if (up != vsw_port_link(h->port)) {
		vsw_port_set_link(h->port, up);
		vsw_port_log(h->port, VSW_LOG_INFO, "link %s",
			     up ? "up" : "down");
	}
	*changed = n != h->n_qp;
	h->n_qp = n;
}

static int vhu_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		    unsigned n_opts, char *err, size_t err_len, bool client)
{
	static const char *const known_server[] = {"path", "run_dir",
						   "queues", "socket_mode",
						   "socket_group", NULL};
	static const char *const known_client[] = {"path", "queues", NULL};
	const struct vsw_pkt_pool_config pc = {.n_small = 1, .n_large = 0};
	struct vsw_vnet_vu_config vc = {0};
	const char *path, *dir;
	struct vhu_port *h;
	unsigned queues;
	bool changed;
	int ret, len;

	ret = vsw_port_opts_check(port, opts, n_opts,
				  client ? known_client : known_server, err,
				  err_len);
	if (ret < 0)
		return ret;
	ret = vsw_port_opt_uint(opts, n_opts, "queues", 1, 1,
				VSW_VNET_MAX_QP < VSW_PORT_MAX_QUEUES
					? VSW_VNET_MAX_QP
					: VSW_PORT_MAX_QUEUES,
				&queues, err, err_len);
	if (ret < 0)
		return ret;
	if (!client) {
		const char *m = vsw_port_opt_get(opts, n_opts, "socket_mode");
		unsigned gid = 0;
		unsigned long mode = 0;
		char *end = NULL;

		if (m != NULL) {
			errno = 0;
			mode = strtoul(m, &end, 8);
			if (m[0] < '0' || m[0] > '7' || *end != '\0' ||
			    errno != 0 || mode > 0777) {
				vsw_port_errf(err, err_len,
					      "option socket_mode=%s: expected "
					      "an octal mode, at most 0777",
					      m);
				return -EINVAL;
			}
		}
		ret = vsw_port_opt_uint(opts, n_opts, "socket_group", 0, 0,
					0xfffffffeU, &gid, err, err_len);
		if (ret < 0)
			return ret;
		vc.sock_mode = (unsigned)mode;
		vc.sock_gid_set =
			vsw_port_opt_get(opts, n_opts, "socket_group") != NULL;
		vc.sock_gid = (gid_t)gid;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->port = port;
	h->client = client;
	h->max_qp = queues;
	h->n_qp = 1;
	path = vsw_port_opt_get(opts, n_opts, "path");
	if (path == NULL && client) {
		vsw_port_errf(err, err_len,
			"vhostuserclient: option 'path' is required (the "
			"front-end's listening socket)");
		ret = -EINVAL;
		goto err_free;
	}
	if (path != NULL) {
		len = snprintf(h->path, sizeof(h->path), "%s", path);
	} else {
		dir = vsw_port_opt_get(opts, n_opts, "run_dir");
		len = snprintf(h->path, sizeof(h->path), "%s/%s.sock",
			       dir != NULL ? dir : VHU_DEFAULT_RUN_DIR,
			       vsw_port_name(port));
	}
	if (len > 0 && h->path[0] != '/') {
		vsw_port_errf(err, err_len,
			      "%s: socket path '%s' is relative; give an "
			      "absolute path",
			      client ? "vhostuserclient" : "vhostuser", h->path);
		ret = -EINVAL;
		goto err_free;
	}
	if (len <= 0 || (size_t)len >= sizeof(h->path)) {
		vsw_port_errf(err, err_len, "%s: socket path too long (max %zu)",
			client ? "vhostuserclient" : "vhostuser",
			sizeof(h->path) - 1);
		ret = -ENAMETOOLONG;
		goto err_free;
	}
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		ret = -errno;
		goto err_free;
	}
	/* never written: polling it only ever ends through the switch */
	h->quiet_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->quiet_fd < 0) {
		ret = -errno;
		goto err_epoll;
	}
	/*
	 * vsw_vnet_vu wants a default pool for the transmitqs; recv always
	 * sets the caller's before a burst, so this one is never drawn from.
	 */
	ret = vsw_pkt_pool_create(&pc, &h->idle_pool);
	if (ret < 0)
		goto err_quiet;
	vc.mode = client ? VSW_VU_CLIENT : VSW_VU_SERVER;
	vc.path = h->path;
	vc.fd = -1;
	vc.max_qp = (uint16_t)queues;
	vc.port_id = (uint16_t)vsw_port_id(port);
	/* a locally administered address derived from the port id */
	vc.mac[0] = 0x02;
	vc.mac[1] = 0x56;
	vc.mac[2] = 0x53;
	vc.mac[3] = 0x57;
	vc.mac[4] = (uint8_t)(vsw_port_id(port) >> 8);
	vc.mac[5] = (uint8_t)vsw_port_id(port);
	vc.pool = h->idle_pool;
	vc.log = vhu_log;
	vc.log_opaque = h;
	vc.log_level = VSW_LOG_INFO;
	ret = vsw_vnet_vu_create(&vc, &h->vu);
	if (ret == -EADDRINUSE && !client) {
		vsw_port_errf(err, err_len,
			      "vhostuser: %s is a socket that somebody listens "
			      "on (another port, another program, vswd's own "
			      "control socket); refusing to take it over",
			      h->path);
		goto err_pool;
	}
	if (ret < 0) {
		vsw_port_errf(err, err_len, "%s: %s %s: %s",
			client ? "vhostuserclient" : "vhostuser",
			client ? "connect to" : "listen on", h->path,
			strerror(-ret));
		goto err_pool;
	}
	/* the data side is never "online": see the handover above */
	vsw_vnet_vu_dp_offline(h->vu);
	vhu_epoll_sync(h);
	vsw_port_set_priv(port, h);
	vsw_port_set_link(port, false);
	vhu_refresh(h, &changed);
	vsw_port_log(port, VSW_LOG_INFO, "%s %s, %u queue pair(s)",
		     client ? "connecting to" : "listening on", h->path,
		     queues);
	return 0;

err_pool:
	vsw_pkt_pool_destroy(h->idle_pool);
err_quiet:
	close(h->quiet_fd);
err_epoll:
	close(h->epfd);
err_free:
	free(h);
	return ret;
}

static int vhostuser_open(struct vsw_port *port,
			  const struct vsw_port_opt *opts, unsigned n_opts,
			  char *err, size_t err_len)
{
	return vhu_open(port, opts, n_opts, err, err_len, false);
}

static int vhostuserclient_open(struct vsw_port *port,
				const struct vsw_port_opt *opts,
				unsigned n_opts, char *err, size_t err_len)
{
	return vhu_open(port, opts, n_opts, err, err_len, true);
}

static void vhu_close(struct vsw_port *port)
{
	struct vhu_port *h = vsw_port_priv(port);

	if (h == NULL)
		return;
	/* no data thread uses the port any more: nothing to wait for */
	vsw_vnet_vu_destroy(h->vu);
	vsw_pkt_pool_destroy(h->idle_pool);
	close(h->quiet_fd);
	close(h->epfd);
	free(h);
	vsw_port_set_priv(port, NULL);
}

static unsigned vhu_n_queues(const struct vsw_port *port)
{
	const struct vhu_port *h = vsw_port_priv(port);

	return h->n_qp;
}

static int vhu_ctl_fd(struct vsw_port *port)
{
	const struct vhu_port *h = vsw_port_priv(port);

	return h->epfd;
}

static int vhu_ctl_timeout_ms(struct vsw_port *port)
{
	const struct vhu_port *h = vsw_port_priv(port);

	return vsw_vnet_vu_ctl_timeout_ms(h->vu);
}

static void vhu_ctl_handle(struct vsw_port *port)
{
	struct vhu_port *h = vsw_port_priv(port);
	bool changed;

	/*
	 * Ordered before every later recv / send by vsw_port_quiesce(): a
	 * data op that starts after the grace period sees paused set.
	 */
	vsw_store_relaxed(&h->paused, 1);
	vsw_port_quiesce(port);
	(void)vsw_vnet_vu_ctl_handle(h->vu);
	vhu_epoll_sync(h);
	vhu_refresh(h, &changed);
	/*
	 * Pairs with the load-acquire of paused in recv / send: they see
	 * the queues, memory and device as this step left them.
	 */
	vsw_store_release(&h->paused, 0);
	if (changed && vsw_port_changed(port) < 0)
		vsw_port_log(port, VSW_LOG_WARN,
			     "queue count change to %u not applied", h->n_qp);
}

static void vhu_status(const struct vsw_port *port, char *buf, size_t len)
{
	const struct vhu_port *h = vsw_port_priv(port);
	bool conn = vsw_vu_connected(vsw_vnet_vu_endpoint(h->vu));

	if (!conn && h->had_peer)
		snprintf(buf, len, "peer gone, %s; %s %s, %u/%u queue pairs",
			 h->client ? "reconnecting" : "waiting for a new one",
			 h->client ? "client of" : "server on", h->path,
			 h->n_qp, h->max_qp);
	else
		snprintf(buf, len, "%s %s, %s, %u/%u queue pairs",
			 h->client ? "client of" : "server on", h->path,
			 conn ? "connected" : "not connected", h->n_qp,
			 h->max_qp);
}

/* The IOTLB of a guest behind a virtual IOMMU (docs/vhost-user.md). */
static unsigned vhu_counters(const struct vsw_port *port,
			     struct vsw_port_counter *c, unsigned max)
{
	const struct vhu_port *h = vsw_port_priv(port);
	struct vsw_vu_iotlb_stats st;
	unsigned n = 0;

	if (vsw_vu_iotlb_stats(vsw_vnet_vu_endpoint(h->vu), &st) < 0)
		return 0;
#define VHU_CTR(nm, v)                                                         \
	do {                                                                   \
		if (n < max)                                                   \
			c[n++] = (struct vsw_port_counter){(nm), (v)};         \
	} while (0)
	VHU_CTR("iotlb_updates", st.updates);
	VHU_CTR("iotlb_invalidations", st.invalidates);
	VHU_CTR("iotlb_misses", st.misses);
	VHU_CTR("iotlb_miss_timeouts", st.miss_timeouts);
	VHU_CTR("iotlb_ring_faults", st.ring_faults);
	VHU_CTR("iotlb_refused", st.refused);
	VHU_CTR("iotlb_entries", st.entries);
#undef VHU_CTR
	return n;
}

static unsigned vhu_recv(struct vsw_port *port, unsigned rxq,
			 struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			 unsigned n)
{
	struct vhu_port *h = vsw_port_priv(port);

	/* pairs with the store-release in vhu_ctl_handle() */
	if (vsw_unlikely(vsw_load_acquire(&h->paused)) || rxq >= h->max_qp)
		return 0;
	/*
	 * Not paused: the control thread changes no queue or device until
	 * our op has returned (vsw_port_quiesce). This thread owns the rxq,
	 * so it is the one data thread of the pair's transmitq.
	 */
	if (vsw_unlikely(vsw_vnet_vu_dp_tx_set_pool(h->vu, rxq, pool) < 0))
		return 0; /* the transmitq is not running */
	return vsw_vnet_vu_tx_burst(h->vu, rxq, pkts, n);
}

static unsigned vhu_send(struct vsw_port *port, unsigned txq,
			 struct vsw_pkt *const *pkts, unsigned n)
{
	struct vhu_port *h = vsw_port_priv(port);

	/* pairs with the store-release in vhu_ctl_handle() */
	if (vsw_unlikely(vsw_load_acquire(&h->paused)))
		return 0;
	return vsw_vnet_vu_rx_burst(h->vu, txq, pkts, n);
}

static int vhu_rxq_wait_fd(struct vsw_port *port, unsigned rxq)
{
	struct vhu_port *h = vsw_port_priv(port);
	int fd;

	/*
	 * Pairs with the store-release in vhu_ctl_handle(). A control step
	 * runs: its fds may be closed meanwhile, so no sleep (the step is
	 * short); the next sleep after it reads the fds it left.
	 */
	if (vsw_unlikely(vsw_load_acquire(&h->paused)) || rxq >= h->max_qp)
		return -1;
	fd = vsw_vnet_vu_dp_tx_kick_fd(h->vu, rxq);
	if (fd < 0 && !vsw_vnet_vu_queue_running(h->vu, 2 * rxq + 1))
		return h->quiet_fd; /* the next control step wakes us */
	return fd;
}

static bool vhu_rxq_arm(struct vsw_port *port, unsigned rxq)
{
	struct vhu_port *h = vsw_port_priv(port);

	/*
	 * The switch arms only after rxq_wait_fd gave an fd in the same
	 * round, which saw paused clear: no control step can start before
	 * our quiescent point. The check keeps a caller that skipped it
	 * polling. Pairs with the store-release in vhu_ctl_handle().
	 */
	if (vsw_unlikely(vsw_load_acquire(&h->paused)) || rxq >= h->max_qp)
		return true;
	return vsw_vnet_vu_dp_tx_arm(h->vu, rxq);
}

static void vhu_rxq_disarm(struct vsw_port *port, unsigned rxq)
{
	struct vhu_port *h = vsw_port_priv(port);

	/*
	 * No paused check: we are still before the quiescent point that
	 * follows the arm, so a control step that set paused meanwhile has
	 * not started yet and the queue arm enabled is still attached.
	 */
	if (rxq < h->max_qp)
		vsw_vnet_vu_dp_tx_disarm(h->vu, rxq);
}

const struct vsw_port_ops vsw_port_vhostuser_ops = {
	.type = "vhostuser",
	.open = vhostuser_open,
	.close = vhu_close,
	.n_rxq = vhu_n_queues,
	.n_txq = vhu_n_queues,
	.ctl_fd = vhu_ctl_fd,
	.ctl_timeout_ms = vhu_ctl_timeout_ms,
	.ctl_handle = vhu_ctl_handle,
	.status = vhu_status,
	.counters = vhu_counters,
	.recv = vhu_recv,
	.send = vhu_send,
	.rxq_wait_fd = vhu_rxq_wait_fd,
	.rxq_arm = vhu_rxq_arm,
	.rxq_disarm = vhu_rxq_disarm,
};

const struct vsw_port_ops vsw_port_vhostuserclient_ops = {
	.type = "vhostuserclient",
	.open = vhostuserclient_open,
	.close = vhu_close,
	.n_rxq = vhu_n_queues,
	.n_txq = vhu_n_queues,
	.ctl_fd = vhu_ctl_fd,
	.ctl_timeout_ms = vhu_ctl_timeout_ms,
	.ctl_handle = vhu_ctl_handle,
	.status = vhu_status,
	.counters = vhu_counters,
	.recv = vhu_recv,
	.send = vhu_send,
	.rxq_wait_fd = vhu_rxq_wait_fd,
	.rxq_arm = vhu_rxq_arm,
	.rxq_disarm = vhu_rxq_disarm,
};
