/* SPDX-License-Identifier: MIT */
/*
 * Shell, network namespace, raw socket and frame helpers of the port tests
 * (test_ports_net.c), usable with the harness and with the real switch.
 */
#ifndef TEST_PORTS_NET_H
#define TEST_PORTS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

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

#endif /* TEST_PORTS_NET_H */
