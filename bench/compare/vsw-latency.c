/* SPDX-License-Identifier: MIT */
/*
 * vsw-latency: round-trip time through a two-port vhost-user device, from
 * one thread (so that the generator needs one core, not two).
 *
 * The program is the front-end of both ports A and B of the device. Each
 * probe is one UDP/IPv4 frame: sent on A (02:00:00:00:00:01 to
 * 02:00:00:00:00:02), received on B, sent back on B with the addresses
 * swapped, received on A. The round trip is the time from the first send
 * to the last receive: two passes through the device. Probes go one at a
 * time, at --rate per second; between probes the thread spins on the clock
 * (the device sees an idle port, which is what shows its wake-up cost at
 * low rates). A probe that does not come back within 100 ms is lost.
 *
 * Output (the format of vsw-pktgen's ping, for the same parser):
 *   latency ns (N samples): p50 X p90 X p99 X p99.9 X max X
 *   lost N
 * Exit 0 if at least one probe came back, 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vsw/pkt.h>
#include <vsw/vhost_user_fe.h>

#define LAT_MAGIC 0x56534c54u /* "VSLT" */
#define LAT_BURST 32
#define LAT_LOST_NS 100000000ull
#define LAT_MAX_SAMPLES 10000000ull

struct lat {
	struct vsw_vufe *fe[2];
	struct vsw_pkt_pool *pool;
	uint32_t size;
	uint64_t rate, count;
	double seconds;
	uint64_t *ns, n, lost, foreign;
};

static volatile sig_atomic_t lat_stop;

static void lat_on_signal(int sig)
{
	(void)sig;
	lat_stop = 1;
}

static uint64_t lat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void lat_frame(uint8_t *f, uint32_t size, uint64_t seq)
{
	uint32_t magic = LAT_MAGIC;

	memset(f, 0, size);
	memcpy(f, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((size - 14) >> 8);
	f[17] = (uint8_t)(size - 14);
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[35] = 9; /* UDP port 0 to 9, length, no checksum */
	f[38] = (uint8_t)((size - 34) >> 8);
	f[39] = (uint8_t)(size - 34);
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &seq, 8);
}

/* Is pkt probe seq? (Anything else a device floods to us is dropped.) */
static bool lat_is_probe(const struct vsw_pkt *pkt, uint64_t seq)
{
	const uint8_t *f = vsw_pkt_data(pkt);
	uint32_t magic;
	uint64_t s;

	if (pkt->len < 54)
		return false;
	memcpy(&magic, f + 42, 4);
	memcpy(&s, f + 46, 8);
	return magic == LAT_MAGIC && s == seq;
}

static int lat_send(struct lat *l, unsigned side, struct vsw_pkt *pkt)
{
	uint64_t t0 = lat_now();
	int r;

	do {
		r = vsw_vufe_tx_burst(l->fe[side], 0, &pkt, 1);
		if (r < 0) {
			vsw_pkt_free(pkt);
			return r;
		}
	} while (r == 0 && lat_now() - t0 < LAT_LOST_NS && !lat_stop);
	if (r == 0) {
		vsw_pkt_free(pkt);
		return -EAGAIN;
	}
	return 0;
}

/* Poll side until probe seq arrives (returned) or the deadline passes. */
static int lat_wait(struct lat *l, unsigned side, uint64_t seq,
		    uint64_t deadline, struct vsw_pkt **out)
{
	struct vsw_pkt *pk[LAT_BURST];
	int r, i;

	*out = NULL;
	while (!lat_stop) {
		r = vsw_vufe_rx_burst(l->fe[side], 0, pk, LAT_BURST);
		if (r < 0)
			return r;
		for (i = 0; i < r; i++) {
			if (*out == NULL && lat_is_probe(pk[i], seq)) {
				*out = pk[i];
				pk[i] = NULL;
			} else {
				l->foreign++;
			}
		}
		vsw_pkt_free_burst(pk, (unsigned)r);
		if (*out != NULL)
			return 0;
		if (lat_now() > deadline)
			return -ETIMEDOUT;
	}
	return -EINTR;
}

/* One probe; 0 with its round trip in *ns, -ETIMEDOUT if lost. */
static int lat_probe(struct lat *l, uint64_t seq, uint64_t *ns)
{
	struct vsw_pkt *pkt = vsw_pkt_alloc_len(l->pool, l->size);
	uint8_t frame[1518], *f, mac[6];
	uint64_t t0, deadline;
	int r;

	if (pkt == NULL)
		return -ENOMEM;
	lat_frame(frame, l->size, seq);
	memcpy(vsw_pkt_append(pkt, l->size), frame, l->size);
	t0 = lat_now();
	deadline = t0 + LAT_LOST_NS;
	r = lat_send(l, 0, pkt);
	if (r < 0)
		return r;
	r = lat_wait(l, 1, seq, deadline, &pkt);
	if (r < 0)
		return r;
	f = vsw_pkt_data(pkt);
	memcpy(mac, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, mac, 6);
	r = lat_send(l, 1, pkt);
	if (r < 0)
		return r;
	r = lat_wait(l, 0, seq, deadline, &pkt);
	if (r < 0)
		return r;
	*ns = lat_now() - t0;
	vsw_pkt_free(pkt);
	return 0;
}

static int lat_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t lat_pct(const struct lat *l, double p)
{
	uint64_t i = (uint64_t)((double)l->n * p / 100.0);

	return l->ns[i < l->n ? i : l->n - 1];
}

static int lat_run(struct lat *l)
{
	uint64_t start = lat_now(), gap = 1000000000ull / l->rate, next = start;
	uint64_t end = start + (uint64_t)(l->seconds * 1e9), seq, ns;
	int r;

	for (seq = 0; seq < l->count && !lat_stop; seq++) {
		while (lat_now() < next)
			; /* spin: the generator owns its core */
		if (next > end)
			break;
		next += gap;
		r = lat_probe(l, seq, &ns);
		if (r == -ETIMEDOUT) {
			l->lost++;
			continue;
		}
		if (r == -EINTR)
			break;
		if (r < 0)
			return r;
		l->ns[l->n++] = ns;
	}
	return 0;
}

static int lat_connect(struct lat *l, unsigned side, const char *path)
{
	struct vsw_vufe_config c = {0};
	int r;

	c.path = path;
	c.queue_pairs = 1;
	c.features = VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		     VSW_VUFE_BIT(VIRTIO_RING_F_EVENT_IDX) |
		     VSW_VUFE_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	c.timeout_ms = 10000;
	r = vsw_vufe_create(&c, &l->fe[side]);
	if (r < 0) {
		fprintf(stderr, "vsw-latency: %s: %s\n", path, strerror(-r));
		return r;
	}
	r = vsw_vufe_connect(l->fe[side]);
	if (r < 0) {
		fprintf(stderr, "vsw-latency: %s: %s\n", path,
			vsw_vufe_error(l->fe[side]));
		return r;
	}
	return vsw_vufe_set_pool(l->fe[side], 0, l->pool);
}

static void lat_usage(FILE *f)
{
	fprintf(f, "usage: vsw-latency --a SOCK --b SOCK [--size 60..1518] "
		   "[--rate PPS] [--seconds S] [--count N]\n");
}

static int lat_num(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"a", required_argument, NULL, 'a'},
		{"b", required_argument, NULL, 'b'},
		{"size", required_argument, NULL, 'z'},
		{"rate", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct vsw_pkt_pool_config pc = {.n_small = 1024, .n_large = 0};
	struct sigaction sa = {.sa_handler = lat_on_signal};
	struct lat l = {.size = 64, .rate = 1000, .seconds = 10};
	const char *path[2] = {NULL, NULL};
	uint64_t v;
	int c, r = 1;

	l.count = UINT64_MAX;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			path[0] = optarg;
			break;
		case 'b':
			path[1] = optarg;
			break;
		case 'z':
			if (lat_num(optarg, 60, 1518, &v) < 0)
				goto usage;
			l.size = (uint32_t)v;
			break;
		case 'r':
			if (lat_num(optarg, 1, 1000000, &l.rate) < 0)
				goto usage;
			break;
		case 't':
			if (lat_num(optarg, 1, 3600, &v) < 0)
				goto usage;
			l.seconds = (double)v;
			break;
		case 'c':
			if (lat_num(optarg, 1, LAT_MAX_SAMPLES, &l.count) < 0)
				goto usage;
			break;
		case 'h':
			lat_usage(stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc || path[0] == NULL || path[1] == NULL)
		goto usage;
	v = (uint64_t)(l.seconds * (double)l.rate) + 1;
	if (v > l.count)
		v = l.count;
	if (v > LAT_MAX_SAMPLES)
		v = LAT_MAX_SAMPLES;
	if (l.count > v)
		l.count = v;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	l.ns = calloc(v, sizeof(*l.ns));
	if (l.ns == NULL || vsw_pkt_pool_create(&pc, &l.pool) < 0) {
		fprintf(stderr, "vsw-latency: out of memory\n");
		goto out;
	}
	if (lat_connect(&l, 0, path[0]) < 0 || lat_connect(&l, 1, path[1]) < 0)
		goto out;
	r = lat_run(&l);
	if (r < 0) {
		fprintf(stderr, "vsw-latency: %s\n", strerror(-r));
		r = 1;
		goto out;
	}
	if (l.n > 0) {
		qsort(l.ns, l.n, sizeof(*l.ns), lat_cmp);
		printf("latency ns (%" PRIu64 " samples): p50 %" PRIu64
		       " p90 %" PRIu64 " p99 %" PRIu64 " p99.9 %" PRIu64
		       " max %" PRIu64 "\n",
		       l.n, lat_pct(&l, 50), lat_pct(&l, 90), lat_pct(&l, 99),
		       lat_pct(&l, 99.9), l.ns[l.n - 1]);
	}
	printf("lost %" PRIu64 " foreign %" PRIu64 "\n", l.lost, l.foreign);
	r = l.n > 0 ? 0 : 1;
out:
	vsw_vufe_destroy(l.fe[1]);
	vsw_vufe_destroy(l.fe[0]);
	vsw_pkt_pool_destroy(l.pool);
	free(l.ns);
	return r;
usage:
	lat_usage(stderr);
	return 2;
}
