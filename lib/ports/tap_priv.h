/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/ports: code shared between providers.
 *  - tap.c / internal.c: one TAP implementation, two option sets.
 *  - afpacket.c / afxdp.c: the AF_PACKET socket that afxdp falls back to,
 *    and the software completion of offloads for providers that cannot
 *    pass virtio-net metadata on.
 */
#ifndef VSW_PORTS_TAP_PRIV_H
#define VSW_PORTS_TAP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/pkt.h>
#include <vsw/port.h>

/* ---- TAP (tap.c) ---- */

struct vsw_tap_params {
	const char *ifname; /* interface name, < IFNAMSIZ */
	unsigned mtu;	    /* 0: leave the kernel's default */
};

/* Create / attach the TAP interface, bring it up, set port priv. */
int vsw_tap_open_params(struct vsw_port *port, const struct vsw_tap_params *tp,
			char *err, size_t err_len);
void vsw_tap_close(struct vsw_port *port);
/* 1 queue each way; 0 while the interface is gone (being re-created). */
unsigned vsw_tap_n_queues(const struct vsw_port *port);
/* Notice an interface gone under the port, re-create it (control). */
int vsw_tap_ctl_fd(struct vsw_port *port);
int vsw_tap_ctl_timeout_ms(struct vsw_port *port);
void vsw_tap_ctl_handle(struct vsw_port *port);
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
 * only used for log messages and drop counters. 0 or negative errno with a
 * message in err.
 */
int vsw_afp_create(struct vsw_port *port, const char *ifname, char *err,
		   size_t err_len, struct vsw_afp **out);
void vsw_afp_destroy(struct vsw_afp *a); /* accepts NULL */
unsigned vsw_afp_recv(struct vsw_afp *a, struct vsw_pkt_pool *pool,
		      struct vsw_pkt **pkts, unsigned n);
unsigned vsw_afp_send(struct vsw_afp *a, struct vsw_pkt *const *pkts,
		      unsigned n);
int vsw_afp_fd(const struct vsw_afp *a);
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
