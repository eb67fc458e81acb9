/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the switch's side of vsw/port.h (struct vsw_port, the
 * accessors, option helpers, drop counters, quiesce), so that the port
 * providers can be driven through their ops directly: the test thread is
 * the data thread, a helper thread may be the control thread.
 *
 * Also: network namespace / veth helpers (shell commands, every one
 * checked) and raw-frame helpers shared by the provider tests.
 */
#ifndef TEST_PORTS_HARNESS_H
#define TEST_PORTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/pkt.h>
#include <vsw/port.h>

/* Open a port of ops (id 1); NULL on failure with the message in err. */
struct vsw_port *th_port_open(const struct vsw_port_ops *ops,
			      const char *name,
			      const struct vsw_port_opt *opts, unsigned n_opts,
			      char *err, size_t err_len, int *ret);
void th_port_close(struct vsw_port *port);

/* Data ops, serialised against th_port_quiesce (the test's grace period). */
unsigned th_port_recv(struct vsw_port *port, unsigned rxq,
		      struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
		      unsigned n);
unsigned th_port_send(struct vsw_port *port, unsigned txq,
		      struct vsw_pkt *const *pkts, unsigned n);

/* Drops counted by the provider. */
uint64_t th_port_drops(const struct vsw_port *port, bool tx,
		       enum vsw_drop_reason r);
/* Whether any log line of the port contains s. */
bool th_port_logged(const struct vsw_port *port, const char *s);
/* Calls of vsw_port_changed(). */
unsigned th_port_changes(const struct vsw_port *port);

/* Run a shell command; its exit status (0 = success). */
int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Run fn(arg) with the calling thread in network namespace ns (a name
 * under /run/netns), then come back. Returns fn's value, or -errno.
 */
int th_in_netns(const char *ns, int (*fn)(void *arg), void *arg);

/* A raw AF_PACKET socket on ifname (in the current namespace), with
 * PACKET_VNET_HDR if vnet; -errno on failure. */
int th_raw_socket(const char *ifname, bool vnet);

/* Wait up to ms for fd to be readable: 1, 0 (timeout), -errno. */
int th_wait_readable(int fd, int ms);

/* Monotonic milliseconds. */
uint64_t th_now_ms(void);

/* Build an Ethernet frame: dst, src, ethertype, payload of len bytes of
 * a pattern seeded with seed. Returns the frame length. */
size_t th_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6],
		uint16_t ethertype, size_t payload_len, unsigned seed);

/*
 * A TCP/IPv4 frame (Ethernet, IPv4 with header checksum, TCP with ACK|PSH)
 * of payload_len pattern bytes from 10.x sip to dip. If mss is non-zero,
 * h describes it as a GSO TCPv4 frame of that mss; either way h asks for
 * the TCP checksum (NEEDS_CSUM), whose field holds the pseudo-header sum.
 * Returns the frame length.
 */
size_t th_tcp4_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6],
		     uint32_t sip, uint32_t dip, size_t payload_len,
		     unsigned seed, uint16_t mss, struct virtio_net_hdr_v1 *h);

#endif /* TEST_PORTS_HARNESS_H */
