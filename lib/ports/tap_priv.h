/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/ports: code shared between providers.
 *  - tap.c / internal.c: one TAP implementation, two option sets.
 *  - afpacket.c / afxdp.c: the AF_PACKET socket that afxdp falls back to,
 *    and the software completion of offloads for providers that cannot
 *    pass virtio-net metadata on.
 *  - gone.c: a device that goes away under a port and comes back (tap,
 *    internal, afpacket, afxdp).
 */
#ifndef VSW_PORTS_TAP_PRIV_H
#define VSW_PORTS_TAP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include <vsw/pkt.h>
#include <vsw/port.h>

/* ---- a device that goes away and comes back (gone.c) ---- */

/* How often a port whose device is gone tries to get it back. */
#define VSW_GONE_RETRY_MS 1000
/* At least this long between two tries, whatever the link events say. */
#define VSW_GONE_MIN_RETRY_MS 100

/* What the provider does for vsw_gone; control thread, zero queues. */
struct vsw_gone_ops {
	/* Release the device (fds, rings, XDP program): it is gone. */
	void (*detach)(struct vsw_port *port);
	/*
	 * Set the device up again as open did: its ifindex (> 0), or a
	 * negative errno with a one-line reason in why.
	 */
	int (*attach)(struct vsw_port *port, char *why, size_t why_len);
	/*
	 * Optional: a link message about the attached device arrived (it
	 * went down or up; e.g. clear a socket error it left behind).
	 */
	void (*event)(struct vsw_port *port);
	/*
	 * Optional: the device left this namespace's view (RTM_DELLINK, or
	 * its name no longer leads to it). true if the port still holds it
	 * (a TAP moved to another namespace keeps working through its fd);
	 * it is then watched no more here and only the data path can find
	 * it gone. Without this op, or when it returns false, it is gone.
	 */
	bool (*held)(struct vsw_port *port);
};

/* Embedded in the provider's state; see gone.c. */
struct vsw_gone {
	struct vsw_port *port;
	const struct vsw_gone_ops *ops;
	const char *what; /* "tap interface", "interface" */
	char ifname[IFNAMSIZ];
	/*
	 * 0, or the errno with which the device was found gone. Set once
	 * by the first thread that sees it (vsw_gone_set()), cleared by the
	 * control thread when the device is back.
	 */
	int gone;
	/* control thread only */
	int ifindex;	 /* of the device attached; 0 while detached */
	bool queues_off; /* the provider shows zero queues */
	bool detached;	 /* ops->detach ran, ops->attach did not yet work */
	bool admin_up;	 /* the attached interface was IFF_UP last time */
	bool away;	 /* held but moved out of this namespace (ops->held) */
	uint8_t mac[6];	 /* the device's MAC as last read (vsw_gone_hwaddr) */
	bool has_mac;
	int ev;		 /* eventfd kicked by vsw_gone_set() */
	int nl;		 /* rtnetlink link events, or -1 */
	int epfd;	 /* the port's ctl_fd: ev and nl */
	uint64_t retry_ms; /* CLOCK_MONOTONIC ms of the next step */
	uint64_t tried_ms; /* ... of the last attach */
	uint64_t check_ms; /* without nl: next if_nametoindex() look */
	int retry_err;	   /* errno of the last failed attach, 0 if none */
	char why[128];	   /* its message, for status */
};

/*
 * Set g up for a port attached to ifname (ifindex); what names the
 * device in log lines. 0 or negative errno with a message in err.
 */
int vsw_gone_init(struct vsw_gone *g, struct vsw_port *port,
		  const char *what, const char *ifname, int ifindex,
		  const struct vsw_gone_ops *ops, char *err, size_t err_len);
void vsw_gone_fini(struct vsw_gone *g);
/*
 * Any thread: the device is gone (err: the errno that showed it). The
 * first call takes the link down and wakes the control thread; later
 * ones do nothing.
 */
void vsw_gone_set(struct vsw_gone *g, int err);
/* Data thread: a cheap check before touching the device. */
static inline bool vsw_gone_is(const struct vsw_gone *g)
{
	/* Relaxed: see vsw_gone_set(). */
	return __builtin_expect(__atomic_load_n(&g->gone, __ATOMIC_RELAXED) != 0,
				0);
}
/* Queues the provider has now: n, or 0 while the device is gone. */
static inline unsigned vsw_gone_queues(const struct vsw_gone *g, unsigned n)
{
	return g->queues_off ? 0 : n;
}
/*
 * The port's ctl_fd / ctl_timeout_ms / ctl_handle, for a provider whose
 * private state (vsw_port_priv()) begins with its struct vsw_gone.
 */
int vsw_gone_ctl_fd(struct vsw_port *port);
int vsw_gone_ctl_timeout_ms(struct vsw_port *port);
void vsw_gone_ctl_handle(struct vsw_port *port);
/*
 * The port's hwaddr op (same providers): the device's MAC, read now if the
 * device attached is in this namespace under its name (so that `ip link
 * set ... address` shows), else as last read (moved into another
 * namespace, where this one cannot look); -ENODEV while gone.
 */
int vsw_gone_hwaddr(struct vsw_port *port, uint8_t mac[6]);
/* While gone: "interface gone, retrying ..." into buf, true; else false. */
bool vsw_gone_status(const struct vsw_gone *g, char *buf, size_t len);

/* ---- TAP (tap.c) ---- */

struct vsw_tap_params {
	const char *ifname; /* interface name, < IFNAMSIZ */
	unsigned mtu;	    /* 0: leave the kernel's default */
};

/* Create / attach the TAP interface, bring it up, set port priv. */
int vsw_tap_open_params(struct vsw_port *port, const struct vsw_tap_params *tp,
			char *err, size_t err_len);
void vsw_tap_close(struct vsw_port *port);
/*
 * reconfigure of tap and internal: the MTU changes live (SIOCSIFMTU on the
 * interface; removing the option leaves the MTU as it is), every other
 * option of fixed (NULL-terminated) is refused; known as for open.
 */
int vsw_tap_reconfigure(struct vsw_port *port, const struct vsw_port_opt *old,
			unsigned n_old, const struct vsw_port_opt *opts,
			unsigned n_opts, const char *const *known,
			const char *const *fixed, char *err, size_t err_len);
/* 1 queue each way; 0 while the interface is gone (being re-created). */
unsigned vsw_tap_n_queues(const struct vsw_port *port);
/* ctl ops: vsw_gone_ctl_*() (an interface gone under the port). */
void vsw_tap_status(const struct vsw_port *port, char *buf, size_t len);
unsigned vsw_tap_recv(struct vsw_port *port, unsigned rxq,
		      struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
		      unsigned n);
unsigned vsw_tap_send(struct vsw_port *port, unsigned txq,
		      struct vsw_pkt *const *pkts, unsigned n);
int vsw_tap_rxq_wait_fd(struct vsw_port *port, unsigned rxq);
bool vsw_tap_rxq_arm(struct vsw_port *port, unsigned rxq);
void vsw_tap_rxq_disarm(struct vsw_port *port, unsigned rxq);

/* ---- AF_PACKET socket (afpacket.c) ---- */

struct vsw_afp;

/*
 * Open an AF_PACKET socket on ifname with its TPACKET_V3 RX ring. port is
 * only used for log messages and drop counters; gone is told (from the
 * data thread) when a send shows the interface gone. 0 or negative errno
 * with a message in err.
 */
int vsw_afp_create(struct vsw_port *port, const char *ifname,
		   struct vsw_gone *gone, char *err, size_t err_len,
		   struct vsw_afp **out);
void vsw_afp_destroy(struct vsw_afp *a); /* accepts NULL */
unsigned vsw_afp_recv(struct vsw_afp *a, struct vsw_pkt_pool *pool,
		      struct vsw_pkt **pkts, unsigned n);
unsigned vsw_afp_send(struct vsw_afp *a, struct vsw_pkt *const *pkts,
		      unsigned n);
int vsw_afp_fd(const struct vsw_afp *a);
int vsw_afp_ifindex(const struct vsw_afp *a);
/*
 * Control thread: read (and so clear) the socket's pending error, which
 * the kernel sets to ENETDOWN when the interface goes down and which would
 * otherwise keep the fd polling as POLLERR.
 */
void vsw_afp_clear_error(struct vsw_afp *a);
/* A frame is waiting in the RX ring (no system call). */
bool vsw_afp_rx_pending(const struct vsw_afp *a);
void vsw_afp_status(const struct vsw_afp *a, char *buf, size_t len);

/* ---- software offloads (afpacket.c) ---- */

/*
 * Called for each finished frame of vsw_port_sw_offload(); returns 0 to go
 * on, negative to stop.
 */
typedef int (*vsw_port_frame_fn)(void *arg, const uint8_t *frame,
				 uint32_t len);

/*
 * Hand pkt on as plain frames, completing its offload in software: a GSO
 * frame is segmented (each segment with full checksums), a NEEDS_CSUM
 * frame gets its checksum; the packet itself is not modified (scratch
 * holds VSW_PKT_MAX_LEN bytes). Returns the number of frames handed to fn,
 * or -EINVAL for metadata that cannot be completed, or fn's error.
 */
int vsw_port_sw_offload(const struct vsw_pkt *pkt, uint8_t *scratch,
			vsw_port_frame_fn fn, void *arg);

/* Bytes of the legacy virtio-net header AF_PACKET uses (PACKET_VNET_HDR). */
#define VSW_AFP_VNET_HDR_LEN 10

#endif /* VSW_PORTS_TAP_PRIV_H */
