/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the port tests that do not depend on who implements
 * vsw/port.h (the harness or the real switch): shell commands, network
 * namespaces, raw sockets, frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "test_ports_net.h"

int th_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return st;
}

int th_in_netns(const char *ns, int (*fn)(void *arg), void *arg)
{
	char path[128];
	int self, target, ret;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		ret = -errno;
		close(self);
		return ret;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		ret = -errno;
		goto out;
	}
	ret = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* the test cannot go on in the wrong namespace */
out:
	close(target);
	close(self);
	return ret;
}

int th_raw_socket(const char *ifname, bool vnet)
{
	struct sockaddr_ll sll = {0};
	int fd, one = 1, ret;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
			       sizeof(one)) < 0)
		goto err;
	/* we only want what arrives, not what we send */
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) < 0)
		goto err;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0) {
		errno = ENODEV;
		goto err;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto err;
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

int th_wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, ms);

	return r < 0 ? -errno : r;
}

uint64_t th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t th_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6],
		uint16_t ethertype, size_t payload_len, unsigned seed)
{
	uint16_t et = htons(ethertype);
	size_t i;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	memcpy(buf + 12, &et, 2);
	for (i = 0; i < payload_len; i++)
		buf[14 + i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	return 14 + payload_len;
}

static uint32_t th_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t th_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

size_t th_tcp4_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6],
		     uint32_t sip, uint32_t dip, size_t payload_len,
		     unsigned seed, uint16_t mss, struct virtio_net_hdr_v1 *h)
{
	uint8_t *ip = buf + 14, *tcp = ip + 20;
	uint16_t tot = (uint16_t)(20 + 20 + payload_len), v;
	uint32_t sum;
	size_t i;

	th_frame(buf, dst, src, ETH_P_IP, 40 + payload_len, seed);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	v = htons(tot);
	memcpy(ip + 2, &v, 2);
	v = htons((uint16_t)seed);
	memcpy(ip + 4, &v, 2);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6; /* TCP */
	sip = htonl(sip);
	dip = htonl(dip);
	memcpy(ip + 12, &sip, 4);
	memcpy(ip + 16, &dip, 4);
	v = htons((uint16_t)~th_fold(th_sum(ip, 20, 0)));
	memcpy(ip + 10, &v, 2);
	tcp[0] = 0x30; /* source port 12345 */
	tcp[1] = 0x39;
	tcp[2] = 0x00; /* destination port 80 */
	tcp[3] = 80;
	tcp[4] = 0x01; /* sequence number 0x01020304 */
	tcp[5] = 0x02;
	tcp[6] = 0x03;
	tcp[7] = 0x04;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* ACK | PSH */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	for (i = 0; i < payload_len; i++)
		tcp[20 + i] = (uint8_t)(seed + i * 13);
	/* pseudo header: addresses, protocol, TCP length */
	sum = th_sum(ip + 12, 8, 0) + 6 + (uint32_t)(20 + payload_len);
	v = htons(th_fold(sum));
	memcpy(tcp + 16, &v, 2);
	memset(h, 0, sizeof(*h));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = 34;
	h->csum_offset = 16;
	if (mss != 0) {
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = mss;
		h->hdr_len = 54;
	}
	return 14 + tot;
}
