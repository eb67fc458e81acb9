/* SPDX-License-Identifier: MIT */
/*
 * vsw-guestudp: the guest side of the interop bulk transfers (linked
 * statically, handed to the test guest through fw_cfg; busybox has no UDP
 * client). The stream pattern is vsw-testpeer's: byte i = (i * 7 + 3) & 0xff.
 *
 *   vsw-guestudp send IP PORT BYTES [DGRAM]
 *       send BYTES of the stream to IP:PORT in datagrams of DGRAM bytes
 *       (default 1472; larger ones leave the guest as IPv4 fragments)
 *   vsw-guestudp recv IP CTLPORT LPORT BYTES TIMEOUT_S
 *       from local port LPORT, ask IP:CTLPORT for BYTES ("SEND n") and
 *       check every byte that comes back, in order
 *
 * Prints one line "GUDP ..." with the counts; exits 0 only when every byte
 * arrived (recv) or was sent (send) and none differed from the pattern.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAT(i) ((uint8_t)((i) * 7u + 3u))

static int udp_connect(const char *ip, const char *port, int lport)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 32 << 20;

	if (fd < 0)
		return -1;
	/* root in the guest: room for the whole transfer, no socket drops */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (lport > 0) {
		a.sin_port = htons((uint16_t)lport);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return -1;
	}
	a.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int do_send(int argc, char **argv)
{
	unsigned long long total, off = 0;
	static uint8_t buf[65536];
	size_t dg = 1472, n, j;
	double t0 = now();
	int fd;

	if (argc < 5)
		return 2;
	total = strtoull(argv[4], NULL, 0);
	if (argc > 5)
		dg = strtoul(argv[5], NULL, 0);
	if (dg == 0 || dg > 65507)
		return 2;
	fd = udp_connect(argv[2], argv[3], 0);
	if (fd < 0) {
		perror("GUDP socket");
		return 1;
	}
	while (off < total) {
		n = total - off < dg ? (size_t)(total - off) : dg;
		for (j = 0; j < n; j++)
			buf[j] = PAT(off + j);
		if (send(fd, buf, n, 0) != (ssize_t)n) {
			if (errno == ENOBUFS || errno == EINTR)
				continue; /* qdisc full for a moment */
			perror("GUDP send");
			return 1;
		}
		off += n;
	}
	printf("GUDP send bytes=%llu dgram=%zu secs=%.2f\n", off, dg,
	       now() - t0);
	return 0;
}

static int do_recv(int argc, char **argv)
{
	unsigned long long total, got = 0, bad = 0, dgrams = 0;
	long long first_bad = -1;
	static uint8_t buf[65536];
	struct pollfd p;
	double t0 = now(), limit;
	char req[64];
	ssize_t r, j;
	int fd;

	if (argc < 7)
		return 2;
	total = strtoull(argv[5], NULL, 0);
	limit = atof(argv[6]);
	fd = udp_connect(argv[2], argv[3], atoi(argv[4]));
	if (fd < 0) {
		perror("GUDP socket");
		return 1;
	}
	snprintf(req, sizeof(req), "SEND %llu", total);
	if (send(fd, req, strlen(req), 0) < 0) {
		perror("GUDP request");
		return 1;
	}
	p.fd = fd;
	p.events = POLLIN;
	while (got < total && now() - t0 < limit) {
		if (poll(&p, 1, 500) <= 0)
			continue;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			perror("GUDP recv");
			return 1;
		}
		for (j = 0; j < r; j++) {
			if (buf[j] != PAT(got + (unsigned long long)j) &&
			    bad++ == 0)
				first_bad = (long long)(got + j);
		}
		got += (unsigned long long)r;
		dgrams++;
	}
	printf("GUDP recv bytes=%llu want=%llu bad=%llu first_bad=%lld "
	       "dgrams=%llu secs=%.2f\n",
	       got, total, bad, first_bad, dgrams, now() - t0);
	return got == total && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int ret = 2;

	if (argc > 1 && strcmp(argv[1], "send") == 0)
		ret = do_send(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "recv") == 0)
		ret = do_recv(argc, argv);
	if (ret == 2)
		fprintf(stderr, "usage: vsw-guestudp send IP PORT BYTES "
				"[DGRAM] | recv IP CTLPORT LPORT BYTES SECS\n");
	fflush(stdout);
	return ret;
}
