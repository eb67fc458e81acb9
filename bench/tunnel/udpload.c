/* SPDX-License-Identifier: MIT */
/*
 * vsw-udpload: the load of bench/tunnel/run.py, batched so that the
 * generator is not the slowest element of the path it measures.
 *
 *   vsw-udpload send DST PORT SIZE SECONDS RATE
 *	SIZE-byte datagrams to DST:PORT for SECONDS, sendmmsg() bursts of
 *	32; RATE datagrams/s (0: as fast as it can). Prints "SENT ERRORS"
 *	(datagrams the kernel took, and refused ones: ENOBUFS, ...).
 *   vsw-udpload recv IP PORT SECONDS
 *	Binds IP:PORT (receive buffer 4 MiB), prints READY, counts datagrams
 *	with recvmmsg() bursts of 64 until SECONDS passed or 1 s went by
 *	without one after the first. Prints "COUNT SPAN DROPS": SPAN the
 *	seconds from the first to the last, DROPS the datagrams the kernel
 *	dropped because this socket's buffer was full (SO_MEMINFO).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#define UL_TX_BURST 32
#define UL_RX_BURST 64
#define UL_MAX_SIZE 1472
#define UL_RCVBUF (4 << 20)

static double ul_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ul_addr(const char *ip, const char *port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
		fprintf(stderr, "vsw-udpload: %s: not an IPv4 address\n", ip);
		return -EINVAL;
	}
	return 0;
}

static int ul_send(char **argv)
{
	static uint8_t buf[UL_MAX_SIZE];
	struct mmsghdr msg[UL_TX_BURST];
	struct iovec iov = {buf, 0};
	struct sockaddr_in dst;
	unsigned long long sent = 0, err = 0;
	double secs = atof(argv[3]), rate = atof(argv[4]), t0, end;
	int size = atoi(argv[2]), fd, i;

	if (ul_addr(argv[0], argv[1], &dst) < 0)
		return 2;
	if (size < 1 || size > UL_MAX_SIZE || secs <= 0 || rate < 0) {
		fprintf(stderr, "vsw-udpload: bad size, seconds or rate\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("vsw-udpload: socket");
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	iov.iov_len = (size_t)size;
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < UL_TX_BURST; i++) {
		msg[i].msg_hdr.msg_name = &dst;
		msg[i].msg_hdr.msg_namelen = sizeof(dst);
		msg[i].msg_hdr.msg_iov = &iov;
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = ul_now();
	end = t0 + secs;
	for (;;) {
		double now = ul_now();
		int r;

		if (now >= end)
			break;
		if (rate > 0 && (double)sent > (now - t0) * rate) {
			/* ahead of the schedule: wait for it */
			double w = ((double)sent - (now - t0) * rate) / rate;
			struct timespec d = {
				(time_t)w,
				(long)((w - (double)(time_t)w) * 1e9)};

			nanosleep(&d, NULL);
			continue;
		}
		r = sendmmsg(fd, msg, UL_TX_BURST, 0);
		if (r > 0)
			sent += (unsigned long long)r;
		else if (errno != EINTR)
			err++; /* ENOBUFS, ...: the first of the burst refused */
	}
	printf("%llu %llu\n", sent, err);
	close(fd);
	return 0;
}

static int ul_recv(char **argv)
{
	static uint8_t buf[UL_RX_BURST][2048];
	struct mmsghdr msg[UL_RX_BURST];
	struct iovec iov[UL_RX_BURST];
	uint32_t mi[SK_MEMINFO_VARS] = {0};
	socklen_t ml = sizeof(mi);
	struct sockaddr_in a;
	unsigned long long n = 0;
	double secs = atof(argv[2]), first = 0, last = 0, end;
	int fd, i;

	if (ul_addr(argv[0], argv[1], &a) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("vsw-udpload: socket");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){UL_RCVBUF},
			 sizeof(int));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("vsw-udpload: bind");
		return 1;
	}
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < UL_RX_BURST; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	printf("READY\n");
	fflush(stdout);
	end = ul_now() + secs;
	while (ul_now() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 1000);

		if (r == 0 && n != 0)
			break; /* a second without a datagram: the end */
		if (r <= 0)
			continue;
		r = recvmmsg(fd, msg, UL_RX_BURST, MSG_DONTWAIT, NULL);
		if (r <= 0)
			continue;
		last = ul_now();
		if (n == 0)
			first = last;
		n += (unsigned long long)r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) < 0)
		mi[SK_MEMINFO_DROPS] = 0;
	printf("%llu %.6f %u\n", n, n > 1 ? last - first : 0.0,
	       mi[SK_MEMINFO_DROPS]);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "send") == 0)
		return ul_send(argv + 2);
	if (argc == 5 && strcmp(argv[1], "recv") == 0)
		return ul_recv(argv + 2);
	fprintf(stderr, "usage: vsw-udpload send DST PORT SIZE SECONDS RATE\n"
			"       vsw-udpload recv IP PORT SECONDS\n");
	return 2;
}
