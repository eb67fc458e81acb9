/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over vhost-user: the vsw_vu device callbacks that attach and
 * detach vsw_vnet queues, the control queue, and the handover of queues
 * between the control thread and the data-plane thread (see
 * vsw/vnet_vhost_user.h for the protocol; docs/concurrency.md).
 *
 * Security model: nothing here parses guest or front-end bytes. vsw_vu has
 * validated every message, vsw_vq_dev every ring access, vsw_vnet every
 * frame; this file only refuses queue indices and feature changes that do
 * not fit the device it built (which closes the connection).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <vsw/vnet_vhost_user.h>

#include "vsw_atomic.h"
#include "vsw_compiler.h"
#include "vsw_time.h"

/* vnvu.rarp: a RARP waits to be sent. */
#define VNVU_RARP_PENDING (1ULL << 48)
/* A RARP frame (QEMU's announce_self_create): 60 bytes, padding included. */
#define VNVU_RARP_LEN 60

/* seen: the data thread is offline (quiescent until it comes back). */
#define VNVU_OFFLINE UINT64_MAX

struct vnvu_q {
	/*
	 * 1 while attached to the vsw_vnet. Written by the control thread
	 * (release after attach, relaxed clear before the grace period),
	 * read by the data thread with acquire before each use.
	 */
	uint32_t running;
	/*
	 * Data thread only: notifications enabled by dp_sleep or dp_tx_arm;
	 * cleared again before the next quiescent point.
	 */
	bool notify_on;
	/* data thread: this queue's break was logged (reset at start) */
	bool fault_logged;
	int kick_fd;	/* set before running, read by the data thread */
	struct vsw_vq_dev *vq;
	/*
	 * Transmitqs: the pool the data thread last gave this attachment
	 * (dp_tx_set_pool). Reset by queue_start before running is set,
	 * then written by the data thread only.
	 */
	struct vsw_pkt_pool *dp_pool;
} __attribute__((aligned(64)));

struct vsw_vnet_vu {
	/* control thread */
	struct vsw_vu *vu;
	struct vsw_vu_device dev;
	struct vsw_vnet *vnet;
	uint64_t offered, vnet_features;
	struct vsw_pkt_pool *pool;
	uint16_t max_qp, port_id, mtu;
	uint8_t mac[6], status;
	bool fresh; /* the next driver gets a new vsw_vnet */
	unsigned nattached;
	vsw_vu_log_fn *log;
	void *log_opaque;
	enum vsw_log_level log_level;
	struct vsw_vq_dev *ctrl_vq; /* control queue, control thread only */
	int ctrl_kick, ctrl_call;
	bool ctrl_broken_logged;
	int wake_fd; /* written by the control thread, read by dp_sleep */
	/*
	 * SEND_RARP: the MAC (bytes 0-5 in bits 0-47) | VNVU_RARP_PENDING,
	 * stored with release by the control thread, taken (exchanged to 0)
	 * by the data thread's next tx_burst of pair 0; 0 when none waits.
	 */
	uint64_t rarp;

	/* grace period: gen written by the control thread only ... */
	uint64_t gen __attribute__((aligned(64)));
	/* ... seen (and dp_gen, its private copy) by the data thread only */
	uint64_t seen __attribute__((aligned(64)));
	uint64_t dp_gen;
	struct pollfd *pfd; /* dp_sleep: wake, kicks, extras */

	struct vnvu_q q[]; /* 2 * max_qp data queues */
};

static void vnvu_log(struct vsw_vnet_vu *v, enum vsw_log_level lvl,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void vnvu_log(struct vsw_vnet_vu *v, enum vsw_log_level lvl,
		     const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (lvl > v->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (v->log != NULL)
		v->log(v->log_opaque, lvl, line);
	else
		fprintf(stderr, "vsw-vnet-vu: %s\n", line);
}

/*
 * Wait until the data thread no longer uses anything it reached through a
 * running flag cleared before this call (a grace period).
 */
static void vnvu_sync(struct vsw_vnet_vu *v)
{
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = 20000};
	uint64_t g = v->gen + 1;
	long long t0 = 0, next = 0, now;
	unsigned spins = 0;

	/*
	 * Pairs with the load-acquire of gen in dp_quiesce(): a data thread
	 * that reads g also sees the running flags cleared before it.
	 */
	vsw_store_release(&v->gen, g);
	/*
	 * Store (running, gen) -> load (seen): pairs with the fence in
	 * dp_online(). Either that thread's later loads see the cleared
	 * flags, or this load sees it online and waits for it.
	 */
	vsw_fence_seq_cst();
	/*
	 * Pairs with the store-release of seen in dp_quiesce() / dp_offline():
	 * every queue access of the data thread before that store happens
	 * before the detach that follows our return.
	 */
	if (vsw_load_acquire(&v->seen) >= g)
		return;
	/* wake a data thread asleep in dp_sleep (counter saturation is ok) */
	(void)eventfd_write(v->wake_fd, 1);
	while (vsw_load_acquire(&v->seen) < g) { /* pairs as above */
		nanosleep(&pause, NULL);
		/*
		 * The wait cannot be cut short: vsw_vu destroys the queue
		 * (and may unmap guest memory) once queue_stop returns, and
		 * the data thread may still be using it. A stall is named in
		 * the log, every second (docs/concurrency.md, Q7).
		 */
		if (++spins % 1024 != 0)
			continue;
		now = vsw_now_ms();
		if (t0 == 0) {
			t0 = now;
			next = now + 1000;
		} else if (now >= next) {
			vnvu_log(v, VSW_LOG_ERR,
				 "the data thread has not reached a quiescent "
				 "point for %lld ms (inside one round?); "
				 "queue_stop waits for it",
				 now - t0);
			next += 1000;
		}
	}
}

static unsigned vnvu_ctrl_index(uint64_t features, uint16_t max_qp)
{
	/* §5.1.2: controlq is 2N, N = max_virtqueue_pairs with MQ, else 1 */
	return (features & VSW_VNET_BIT(VIRTIO_NET_F_MQ)) ? 2U * max_qp : 2U;
}

/* Make v->vnet match the negotiated features (a new driver: a new one). */
static int vnvu_vnet_ready(struct vsw_vnet_vu *v, uint64_t features)
{
	struct vsw_vnet_config c = {0};
	struct vsw_vnet *nv;
	int ret;

	if (v->nattached > 0 || v->ctrl_vq != NULL) {
		if (features != v->vnet_features) {
			vnvu_log(v, VSW_LOG_ERR,
				 "features changed under running queues");
			return -EPROTO;
		}
		return 0;
	}
	if (v->vnet != NULL && !v->fresh && features == v->vnet_features)
		return 0;
	c.features = features;
	c.max_qp = (features & VSW_VNET_BIT(VIRTIO_NET_F_MQ)) ? v->max_qp : 1;
	c.port_id = v->port_id;
	memcpy(c.mac, v->mac, sizeof(c.mac));
	c.pool = v->pool;
	ret = vsw_vnet_create(&c, &nv);
	if (ret < 0)
		return ret;
	/* no queue is attached: the data thread cannot reach the old one */
	vsw_vnet_destroy(v->vnet);
	v->vnet = nv;
	v->vnet_features = features;
	v->fresh = false;
	return 0;
}

/*
 * The transmitqs (odd indices, §5.1.2) carry only buffers the device reads:
 * their WRITE flags are ignored, as every vhost does (DPDK's virtio PMD sets
 * WRITE on its packed TX indirect entries). The receiveqs and the control
 * queue (an even index, see vnvu_ctrl_index) are written to.
 */
static bool vnvu_queue_read_only(void *opaque, uint32_t index,
				 uint64_t features)
{
	struct vsw_vnet_vu *v = opaque;

	return (index & 1) && index < 2U * v->max_qp &&
	       index != vnvu_ctrl_index(features, v->max_qp);
}

static int vnvu_queue_start(void *opaque, const struct vsw_vu_queue *q)
{
	struct vsw_vnet_vu *v = opaque;
	unsigned ctrl = vnvu_ctrl_index(q->features, v->max_qp);
	struct vnvu_q *dq;
	int ret;

	/* the dirty log is the transport's: the vsw_vnet stays the same */
	ret = vnvu_vnet_ready(v, q->features & ~(1ULL << VHOST_F_LOG_ALL));
	if (ret < 0)
		return ret;
	if ((q->features & VSW_VNET_BIT(VIRTIO_NET_F_CTRL_VQ)) &&
	    q->index == ctrl) {
		v->ctrl_vq = q->vq;
		v->ctrl_kick = q->kick_fd;
		v->ctrl_call = q->call_fd;
		v->ctrl_broken_logged = false;
		return 0;
	}
	if (q->index >= 2U * v->max_qp ||
	    (!(q->features & VSW_VNET_BIT(VIRTIO_NET_F_MQ)) && q->index >= 2)) {
		vnvu_log(v, VSW_LOG_ERR, "queue %u is not a data queue",
			 q->index);
		return -EINVAL;
	}
	/*
	 * The data thread polls this queue: the driver need not kick for
	 * every buffer it adds (a system call on its side each time).
	 * dp_sleep re-enables kicks, with the re-check, only before it
	 * sleeps. The data thread does not see the queue yet (running is 0).
	 */
	vsw_vq_dev_disable_notify(q->vq);
	/* per-queue arrays sized for this ring (SET_VRING_NUM) */
	ret = vsw_vnet_queue_attach(v->vnet, q->index, q->vq, q->num,
				    q->call_fd);
	if (ret < 0)
		return ret;
	dq = &v->q[q->index];
	dq->vq = q->vq;
	dq->kick_fd = q->kick_fd;
	dq->fault_logged = false;
	/*
	 * notify_on is not reset here: it is the data thread's alone (dp_sleep
	 * and dp_tx_disarm read it for queues that are not running, so a
	 * write here would race with them), and false at every quiescent
	 * point, so already false when the queue stopped.
	 */
	dq->dp_pool = NULL; /* the vsw_vnet queue may be new: set it again */
	v->nattached++;
	/*
	 * Pairs with the load-acquire of running in the data thread: it sees
	 * the attached vsw_vnet queue, v->vnet and kick_fd written above.
	 */
	vsw_store_release(&dq->running, 1);
	/* a sleeping data thread adds the new queue to its wait */
	(void)eventfd_write(v->wake_fd, 1);
	return 0;
}

static void vnvu_queue_stop(void *opaque, const struct vsw_vu_queue *q)
{
	struct vsw_vnet_vu *v = opaque;
	struct vnvu_q *dq;

	if (v->ctrl_vq != NULL && q->vq == v->ctrl_vq) {
		/* the control queue is ours alone: nothing to wait for */
		v->ctrl_vq = NULL;
		v->ctrl_kick = v->ctrl_call = -1;
		return;
	}
	if (q->index >= 2U * v->max_qp)
		return;
	dq = &v->q[q->index];
	if (!vsw_load_relaxed(&dq->running) || dq->vq != q->vq)
		return; /* its start failed */
	/* ordered before the data thread's next read by vnvu_sync() */
	vsw_store_relaxed(&dq->running, 0);
	vnvu_sync(v);
	vsw_vnet_queue_detach(v->vnet, q->index);
	dq->vq = NULL;
	dq->kick_fd = -1;
	v->nattached--;
}

static int vnvu_status_set(void *opaque, uint8_t status)
{
	struct vsw_vnet_vu *v = opaque;

	v->status = status;
	if (status == 0)
		v->fresh = true; /* device reset: the next driver starts anew */
	return 0;
}

static int vnvu_mtu_set(void *opaque, uint16_t mtu)
{
	struct vsw_vnet_vu *v = opaque;

	/* a frame of that MTU must fit one packet */
	if ((uint32_t)mtu + 18 > VSW_PKT_MAX_LEN)
		return -EINVAL;
	v->mtu = mtu;
	return 0;
}

/* vsw_vu's grace period (the IOTLB replaces its table): see vnvu_sync. */
static void vnvu_dev_sync(void *opaque)
{
	vnvu_sync(opaque);
}

/*
 * SEND_RARP (control thread): the data thread sends the frame, as if the
 * guest had, on its next transmit burst. A second request before it did
 * replaces the first (one announcement of the newest MAC).
 */
static int vnvu_send_rarp(void *opaque, const uint8_t mac[6])
{
	struct vsw_vnet_vu *v = opaque;
	uint64_t w = VNVU_RARP_PENDING;
	unsigned i;

	for (i = 0; i < 6; i++)
		w |= (uint64_t)mac[i] << (8 * i);
	/* pairs with the exchange in vnvu_rarp_take() */
	vsw_store_release(&v->rarp, w);
	(void)eventfd_write(v->wake_fd, 1); /* a sleeping data thread */
	return 0;
}

static void vnvu_disconnected(void *opaque)
{
	struct vsw_vnet_vu *v = opaque;

	v->fresh = true;
	v->status = 0;
}

int vsw_vnet_vu_create(const struct vsw_vnet_vu_config *cfg,
		       struct vsw_vnet_vu **out)
{
	struct vsw_vu_config vc = {0};
	struct vsw_vnet_vu *v = NULL;
	unsigned i, nq;
	size_t bytes;
	int ret;

	if (cfg == NULL || out == NULL || cfg->max_qp == 0 ||
	    cfg->max_qp > VSW_VNET_MAX_QP || cfg->pool == NULL ||
	    (cfg->features & ~VSW_VNET_VU_FEATURES) != 0) {
		ret = -EINVAL;
		goto fail_fd;
	}
	nq = 2U * cfg->max_qp;
	bytes = VSW_ALIGN_UP(sizeof(*v) + nq * sizeof(v->q[0]),
			     (size_t)VSW_CACHE_LINE);
	v = aligned_alloc(VSW_CACHE_LINE, bytes);
	if (v == NULL) {
		ret = -ENOMEM;
		goto fail_fd;
	}
	memset(v, 0, bytes);
	v->wake_fd = -1;
	v->pfd = calloc(1 + nq + VSW_VNET_VU_SLEEP_EXTRA, sizeof(*v->pfd));
	if (v->pfd == NULL) {
		ret = -ENOMEM;
		goto fail_free;
	}
	v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->wake_fd < 0) {
		ret = -errno;
		goto fail_free;
	}
	v->offered = cfg->features ? cfg->features : VSW_VNET_VU_FEATURES;
	if (cfg->max_qp > 1 && !(v->offered & VSW_VNET_BIT(VIRTIO_NET_F_MQ))) {
		ret = -EINVAL;
		goto fail_free;
	}
	v->pool = cfg->pool;
	v->max_qp = cfg->max_qp;
	v->port_id = cfg->port_id;
	memcpy(v->mac, cfg->mac, sizeof(v->mac));
	v->log = cfg->log;
	v->log_opaque = cfg->log_opaque;
	v->log_level = cfg->log_level;
	v->ctrl_kick = v->ctrl_call = -1;
	v->seen = VNVU_OFFLINE;
	for (i = 0; i < nq; i++)
		v->q[i].kick_fd = -1;

	v->dev.features = v->offered;
	v->dev.num_queues =
		nq + ((v->offered & VSW_VNET_BIT(VIRTIO_NET_F_CTRL_VQ)) ? 1 : 0);
	v->dev.net_mtu = (v->offered & VSW_VNET_BIT(VIRTIO_NET_F_MTU)) != 0;
	v->dev.opaque = v;
	v->dev.queue_start = vnvu_queue_start;
	v->dev.queue_stop = vnvu_queue_stop;
	v->dev.queue_read_only = vnvu_queue_read_only;
	v->dev.status_set = vnvu_status_set;
	v->dev.mtu_set = vnvu_mtu_set;
	v->dev.disconnected = vnvu_disconnected;
	v->dev.sync = vnvu_dev_sync;
	v->dev.send_rarp = vnvu_send_rarp;
	/* every guest write of vsw_vnet is logged while migrating */
	v->dev.features |= 1ULL << VHOST_F_LOG_ALL;

	vc.mode = cfg->mode;
	vc.path = cfg->path;
	vc.fd = cfg->fd;
	vc.dev = &v->dev;
	vc.log = cfg->log;
	vc.log_opaque = cfg->log_opaque;
	vc.log_level = cfg->log_level;
	vc.retry_min_ms = cfg->retry_min_ms;
	vc.retry_max_ms = cfg->retry_max_ms;
	vc.sock_mode = cfg->sock_mode;
	vc.sock_gid_set = cfg->sock_gid_set;
	vc.sock_gid = cfg->sock_gid;
	ret = vsw_vu_create(&vc, &v->vu); /* owns cfg->fd from here */
	if (ret < 0)
		goto fail_nofd;
	*out = v;
	return 0;

fail_free:
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	free(v->pfd);
	free(v);
fail_fd:
	if (cfg != NULL && cfg->mode == VSW_VU_FD && cfg->fd >= 0)
		close(cfg->fd);
	return ret;
fail_nofd:
	close(v->wake_fd);
	free(v->pfd);
	free(v);
	return ret;
}

void vsw_vnet_vu_destroy(struct vsw_vnet_vu *v)
{
	if (v == NULL)
		return;
	vsw_vu_destroy(v->vu); /* stops every queue through queue_stop */
	vsw_vnet_destroy(v->vnet);
	close(v->wake_fd);
	free(v->pfd);
	free(v);
}

/* ------------------------------------------------------------------ */
/* Control thread                                                      */
/* ------------------------------------------------------------------ */

unsigned vsw_vnet_vu_ctl_fds(const struct vsw_vnet_vu *v, int *fds)
{
	unsigned n = 0;
	int fd = vsw_vu_fd(v->vu);

	if (fd >= 0)
		fds[n++] = fd;
	if (v->ctrl_vq != NULL && v->ctrl_kick >= 0)
		fds[n++] = v->ctrl_kick;
	return n;
}

int vsw_vnet_vu_ctl_timeout_ms(const struct vsw_vnet_vu *v)
{
	int t = vsw_vu_timeout_ms(v->vu);

	/* a control queue without a kick fd is polled every 10 ms */
	if (v->ctrl_vq != NULL && v->ctrl_kick < 0 && (t < 0 || t > 10))
		t = 10;
	return t;
}

int vsw_vnet_vu_ctl_handle(struct vsw_vnet_vu *v)
{
	struct pollfd p;
	eventfd_t cnt;
	int ret;

	if (v->ctrl_vq != NULL) {
		if (v->ctrl_kick >= 0) {
			p.fd = v->ctrl_kick;
			p.events = POLLIN;
			/* read only a signalled counter: never blocks */
			if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
				(void)eventfd_read(v->ctrl_kick, &cnt);
		}
		ret = vsw_vnet_ctrl_process(v->vnet, v->ctrl_vq, v->ctrl_call);
		if (ret < 0 && !v->ctrl_broken_logged) {
			v->ctrl_broken_logged = true;
			vnvu_log(v, VSW_LOG_WARN, "control queue broken: %s",
				 vsw_vq_fault_str(vsw_vq_dev_fault(v->ctrl_vq)));
		}
	}
	return vsw_vu_handle(v->vu);
}

int vsw_vnet_vu_ctl_run(struct vsw_vnet_vu *v, int timeout_ms)
{
	struct pollfd p[VSW_VNET_VU_CTL_FDS];
	int fds[VSW_VNET_VU_CTL_FDS];
	int t = vsw_vnet_vu_ctl_timeout_ms(v);
	unsigned i, n = vsw_vnet_vu_ctl_fds(v, fds);
	int ret;

	if (t < 0 || (timeout_ms >= 0 && timeout_ms < t))
		t = timeout_ms;
	for (i = 0; i < n; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	ret = poll(p, n, t);
	if (ret < 0)
		return -errno;
	return vsw_vnet_vu_ctl_handle(v);
}

struct vsw_vu *vsw_vnet_vu_endpoint(const struct vsw_vnet_vu *v)
{
	return v->vu;
}

const struct vsw_vnet *vsw_vnet_vu_device(const struct vsw_vnet_vu *v)
{
	return v->vnet;
}

uint16_t vsw_vnet_vu_mtu(const struct vsw_vnet_vu *v)
{
	return v->mtu;
}

uint8_t vsw_vnet_vu_status(const struct vsw_vnet_vu *v)
{
	return v->status;
}

uint16_t vsw_vnet_vu_max_qp(const struct vsw_vnet_vu *v)
{
	return v->max_qp;
}

bool vsw_vnet_vu_queue_running(const struct vsw_vnet_vu *v, unsigned qidx)
{
	if (qidx >= 2U * v->max_qp)
		return false;
	/* a snapshot: pairs with the store-release in queue_start */
	return vsw_load_acquire(&v->q[qidx].running) != 0;
}

/* ------------------------------------------------------------------ */
/* Data thread                                                         */
/* ------------------------------------------------------------------ */

void vsw_vnet_vu_dp_online(struct vsw_vnet_vu *v)
{
	v->dp_gen = 0; /* below every generation a queue_stop waits for */
	vsw_store_relaxed(&v->seen, 0);
	/*
	 * Store (seen) -> load (gen, running): pairs with the fence in
	 * vnvu_sync(); see there.
	 */
	vsw_fence_seq_cst();
	vsw_vnet_vu_dp_quiesce(v);
}

void vsw_vnet_vu_dp_offline(struct vsw_vnet_vu *v)
{
	/* pairs with the load-acquire in vnvu_sync(): our accesses before */
	vsw_store_release(&v->seen, VNVU_OFFLINE);
}

void vsw_vnet_vu_dp_quiesce(struct vsw_vnet_vu *v)
{
	/* pairs with the store-release of gen in vnvu_sync() */
	uint64_t g = vsw_load_acquire(&v->gen);

	if (vsw_likely(g == v->dp_gen))
		return; /* no stop waiting: the shared line stays clean */
	v->dp_gen = g;
	/* pairs with the load-acquire of seen in vnvu_sync() */
	vsw_store_release(&v->seen, g);
}

/*
 * Data thread: a data queue broke (the guest wrote something its ring may
 * not hold). vsw_vnet counts it in the queue's stats; the reason is logged
 * here once per queue start (the queue stays broken until the front-end
 * restarts it), so a hostile guest cannot flood the log. This is the one
 * call of the log callback from the data thread.
 */
static VSW_COLD void vnvu_q_fault(struct vsw_vnet_vu *v, unsigned qidx)
{
	struct vnvu_q *dq = &v->q[qidx];

	dq->fault_logged = true;
	vnvu_log(v, VSW_LOG_WARN, "queue %u (%s %u) broken: %s", qidx,
		 (qidx & 1) ? "transmitq" : "receiveq", qidx / 2,
		 vsw_vq_fault_str(vsw_vq_dev_fault(dq->vq)));
}

/*
 * Data thread: the RARP frame SEND_RARP asked for, from the guest's MAC
 * (RFC 903 request reverse, as QEMU sends it for a guest without
 * GUEST_ANNOUNCE), into pkts[0]. 1 if made, 0 if the pool is empty (the
 * request is dropped: the guest's own traffic teaches the switch soon).
 */
static VSW_COLD unsigned vnvu_rarp_take(struct vsw_vnet_vu *v,
					struct vnvu_q *dq,
					struct vsw_pkt **pkts)
{
	static const uint8_t tmpl[22] = {
		0x80, 0x35,		/* ethertype RARP */
		0x00, 0x01, 0x08, 0x00, /* Ethernet, IPv4 */
		0x06, 0x04, 0x00, 0x03, /* sizes, op: request reverse */
	};
	/* pairs with the store-release in vnvu_send_rarp() */
	uint64_t w = __atomic_exchange_n(&v->rarp, 0, __ATOMIC_ACQUIRE);
	struct vsw_pkt_pool *pool = dq->dp_pool ? dq->dp_pool : v->pool;
	struct vsw_pkt *pkt;
	uint8_t mac[6], *f;
	unsigned i;

	if (!(w & VNVU_RARP_PENDING))
		return 0;
	pkt = vsw_pkt_alloc_len(pool, VNVU_RARP_LEN);
	if (pkt == NULL)
		return 0;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)(w >> (8 * i));
	f = vsw_pkt_data(pkt);
	memset(f, 0, VNVU_RARP_LEN);
	memset(f, 0xff, 6);		 /* broadcast */
	memcpy(f + 6, mac, 6);		 /* from the guest */
	memcpy(f + 12, tmpl, 10);	 /* type .. op */
	memcpy(f + 22, mac, 6);		 /* sender hardware address */
	memcpy(f + 32, mac, 6);		 /* target hardware address */
	pkt->len = VNVU_RARP_LEN;	 /* protocol addresses stay 0 */
	pkt->in_port = v->port_id;
	pkts[0] = pkt;
	return 1;
}

unsigned vsw_vnet_vu_tx_burst(struct vsw_vnet_vu *v, unsigned qp,
			      struct vsw_pkt **pkts, unsigned n)
{
	struct vnvu_q *dq;
	unsigned got, pre = 0;

	/* pairs with the store-release of running in queue_start */
	if (vsw_unlikely(qp >= v->max_qp ||
			 !vsw_load_acquire(&v->q[2 * qp + 1].running)))
		return 0;
	dq = &v->q[2 * qp + 1];
	/* relaxed peek: the exchange in vnvu_rarp_take orders the rest */
	if (vsw_unlikely(qp == 0 && n > 0 && vsw_load_relaxed(&v->rarp) != 0))
		pre = vnvu_rarp_take(v, dq, pkts);
	got = pre + vsw_vnet_tx_burst(v->vnet, qp, pkts + pre, n - pre);
	if (vsw_unlikely(!dq->fault_logged && vsw_vq_dev_error(dq->vq) != 0))
		vnvu_q_fault(v, 2 * qp + 1);
	return got;
}

unsigned vsw_vnet_vu_rx_burst(struct vsw_vnet_vu *v, unsigned qp,
			      struct vsw_pkt *const *pkts, unsigned n)
{
	struct vnvu_q *dq;
	unsigned got;

	/* pairs with the store-release of running in queue_start */
	if (vsw_unlikely(qp >= v->max_qp ||
			 !vsw_load_acquire(&v->q[2 * qp].running)))
		return 0;
	dq = &v->q[2 * qp];
	got = vsw_vnet_rx_burst(v->vnet, qp, pkts, n);
	if (vsw_unlikely(!dq->fault_logged && vsw_vq_dev_error(dq->vq) != 0))
		vnvu_q_fault(v, 2 * qp);
	return got;
}

int vsw_vnet_vu_dp_tx_set_pool(struct vsw_vnet_vu *v, unsigned qp,
			       struct vsw_pkt_pool *pool)
{
	struct vnvu_q *dq;

	if (qp >= v->max_qp)
		return -EINVAL;
	dq = &v->q[2 * qp + 1];
	/* pairs with the store-release of running in queue_start */
	if (vsw_unlikely(!vsw_load_acquire(&dq->running)))
		return -ENODEV;
	if (vsw_likely(dq->dp_pool == pool))
		return 0;
	/*
	 * The transmitq is attached to v->vnet (running) and only this
	 * thread polls it: the one writer of the pair's pool pointer.
	 */
	(void)vsw_vnet_qp_set_pool(v->vnet, qp, pool);
	dq->dp_pool = pool;
	return 0;
}

int vsw_vnet_vu_dp_tx_kick_fd(const struct vsw_vnet_vu *v, unsigned qp)
{
	const struct vnvu_q *dq;

	if (qp >= v->max_qp)
		return -1;
	dq = &v->q[2 * qp + 1];
	/*
	 * Pairs with the store-release of running in queue_start: kick_fd
	 * is the one of this attachment. It stays open until a queue_stop
	 * got past our next quiescent point (see the header).
	 */
	if (!vsw_load_acquire(&dq->running))
		return -1;
	return dq->kick_fd;
}

bool vsw_vnet_vu_dp_tx_arm(struct vsw_vnet_vu *v, unsigned qp)
{
	struct vnvu_q *dq;

	if (qp >= v->max_qp)
		return false;
	dq = &v->q[2 * qp + 1];
	/* pairs with the store-release of running in queue_start */
	if (!vsw_load_acquire(&dq->running))
		return false;
	dq->notify_on = true;
	return vsw_vq_dev_enable_notify(dq->vq);
}

void vsw_vnet_vu_dp_tx_disarm(struct vsw_vnet_vu *v, unsigned qp)
{
	struct vnvu_q *dq;
	struct pollfd p;
	eventfd_t cnt;

	if (qp >= v->max_qp)
		return;
	dq = &v->q[2 * qp + 1];
	if (!dq->notify_on)
		return;
	/*
	 * Still attached: no quiescent point since dp_tx_arm() saw it
	 * running, so a queue_stop is still waiting for us.
	 */
	dq->notify_on = false;
	vsw_vq_dev_disable_notify(dq->vq);
	if (dq->kick_fd < 0)
		return;
	/*
	 * The front-end owns the kick fd's file flags (it may be blocking):
	 * read only a signalled counter, so the read never blocks.
	 */
	p.fd = dq->kick_fd;
	p.events = POLLIN;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		(void)eventfd_read(dq->kick_fd, &cnt);
}

int vsw_vnet_vu_dp_sleep(struct vsw_vnet_vu *v, uint64_t rx_wait,
			 struct pollfd *extra, unsigned n_extra,
			 int timeout_ms)
{
	struct pollfd *pfd = v->pfd;
	unsigned i, n = 0, nq = 2U * v->max_qp;
	bool work = false, nofd = false;
	eventfd_t cnt;
	int ret = 1;

	if (n_extra > VSW_VNET_VU_SLEEP_EXTRA)
		return -EINVAL;
	pfd[n].fd = v->wake_fd;
	pfd[n++].events = POLLIN;
	for (i = 0; i < nq && !work; i++) {
		struct vnvu_q *q = &v->q[i];

		/* pairs with the store-release of running in queue_start */
		if (!vsw_load_acquire(&q->running))
			continue;
		if (!(i & 1) && (i / 2 >= 64 || !(rx_wait & (1ULL << (i / 2)))))
			continue;
		q->notify_on = true;
		if (vsw_vq_dev_enable_notify(q->vq))
			work = true; /* buffers came meanwhile: no sleep */
		else if (q->kick_fd < 0)
			nofd = true; /* no fd: the ring must be polled */
		else {
			pfd[n].fd = q->kick_fd;
			pfd[n++].events = POLLIN;
		}
	}
	if (!work) {
		for (i = 0; i < n_extra; i++)
			pfd[n + i] = extra[i];
		if (nofd && (timeout_ms < 0 || timeout_ms > 1))
			timeout_ms = 1;
		ret = poll(pfd, n + n_extra, timeout_ms);
		if (ret < 0)
			ret = -errno;
		for (i = 0; i < n && ret > 0; i++)
			/* only signalled counters are read: never blocks */
			if (pfd[i].revents & POLLIN)
				(void)eventfd_read(pfd[i].fd, &cnt);
		for (i = 0; i < n_extra; i++)
			extra[i].revents = ret > 0 ? pfd[n + i].revents : 0;
	}
	/*
	 * Still not quiescent: every queue enabled above is still attached
	 * (a queue_stop waits for our next dp_quiesce).
	 */
	for (i = 0; i < nq; i++) {
		if (v->q[i].notify_on) {
			v->q[i].notify_on = false;
			vsw_vq_dev_disable_notify(v->q[i].vq);
		}
	}
	return ret;
}
