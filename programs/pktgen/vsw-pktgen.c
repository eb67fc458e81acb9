/* SPDX-License-Identifier: MIT */
/*
 * vsw-pktgen: a traffic generator and checker on the vhost-user front-end
 * (vsw_vufe): this process is the "guest", any vhost-user back-end (a vsw
 * switch port, vsw-testpeer, DPDK vhost) the device.
 *
 *  tx    send UDP/IPv4 frames: a sequence number, a timestamp and a counter
 *        pattern, at --rate (0: as fast as the ring takes them);
 *  rx    receive those frames, check every byte, count loss and reorder;
 *  echo  return every frame with Ethernet and IPv4 addresses and UDP ports
 *        swapped (checksums stay valid);
 *  ping  send timestamped frames and measure the round trip of those that
 *        come back through an echoing peer (p50 .. p99.9, max).
 *
 * One thread polls every queue pair in turn. Exit status 0 only when the
 * run met its checks: tx sent --count frames; rx got --count good frames
 * (or, without --count, some) and no bad one; echo saw no bad frame; ping
 * got every frame back (with --count) and no bad one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vsw/pkt.h>
#include <vsw/vhost_user_fe.h>

#include "vsw_time.h"

#define PG_MAGIC 0x56535750u /* "VSWP" */
#define PG_HDRS (14 + 20 + 8)
#define PG_MIN_SIZE (PG_HDRS + 20) /* magic, seq, timestamp */
#define PG_MAX_SIZE 9000
#define PG_MAX_BURST 256
#define PG_PORT_BASE 5000
#define PG_DST_PORT 9 /* discard */

enum pg_mode { PG_TX, PG_RX, PG_ECHO, PG_PING };

struct pg_opts {
	const char *socket;
	bool server, packed, hugepages, quiet;
	enum pg_mode mode;
	uint32_t size, burst, queues;
	uint64_t rate, count;
	double seconds, interval;
	double linger; /* ping: how long to wait for stragglers */
};

/* Latency histogram: exact below 64 ns, then 64 steps per power of two. */
#define PG_LAT_SUB 64
#define PG_LAT_BUCKETS (PG_LAT_SUB + 58 * PG_LAT_SUB)

struct pg_qstate {
	uint64_t next_seq; /* next to send */
	uint64_t rx_seq;   /* next expected to arrive */
};

struct pg {
	struct pg_opts o;
	struct vsw_vufe *fe;
	struct vsw_pkt_pool *pool;
	uint8_t tmpl[PG_MAX_SIZE]; /* the frame every tx packet starts as */
	struct pg_qstate q[VSW_VUFE_MAX_QP];
	uint64_t t0;
	/* counters */
	uint64_t tx_pkts, tx_bytes, tx_full; /* tx_full: ring-full retries */
	uint64_t rx_pkts, rx_bytes, good, bad, loss, reorder;
	uint64_t lat_n, lat_max, lat[PG_LAT_BUCKETS];
};

static volatile sig_atomic_t pg_stop;

static void pg_on_signal(int sig)
{
	(void)sig;
	pg_stop = 1;
}

static void pg_usage(FILE *f)
{
	fprintf(f,
		"usage: vsw-pktgen --socket PATH [--server] "
		"[--mode tx|rx|echo|ping]\n"
		"         [--size N] [--rate PPS] [--count N] [--seconds N] "
		"[--queues N]\n"
		"         [--packed] [--burst N] [--stats-interval S] "
		"[--linger S] [--hugepages] [--quiet]\n"
		"  --size       frame bytes, %d..%d (default 64)\n"
		"  --rate       packets per second over all queues, 0 = "
		"unlimited (default;\n"
		"               ping: 1000)\n"
		"  --count      frames to send (tx, ping) / expect (rx) / "
		"echo (echo)\n"
		"  --seconds    run time limit (default 10; 0 = none with "
		"--count)\n"
		"  --queues     queue pairs, 1..%d (default 1)\n"
		"  --burst      frames per burst, 1..%d (default 32)\n"
		"  --linger     ping: seconds to wait for the frames still out "
		"once\n"
		"               --count are sent (default 1; within --seconds)\n",
		PG_MIN_SIZE, PG_MAX_SIZE, VSW_VUFE_MAX_QP, PG_MAX_BURST);
}

static int pg_parse_u64(const char *opt, const char *s, uint64_t min,
			uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s == '\0' || *s == '-')
		goto bad;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr,
		"vsw-pktgen: %s: '%s' is not a number in %" PRIu64 "..%" PRIu64
		"\n",
		opt, s, min, max);
	return -1;
}

static int pg_parse_secs(const char *opt, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *s == '\0' || *end != '\0' || !(v >= 0) ||
	    v > 1e7) {
		fprintf(stderr, "vsw-pktgen: %s: '%s' is not a duration in "
				"seconds\n",
			opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int pg_parse(int argc, char **argv, struct pg_opts *o)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 's'},
		{"server", no_argument, NULL, 'S'},
		{"mode", required_argument, NULL, 'm'},
		{"size", required_argument, NULL, 'z'},
		{"rate", required_argument, NULL, 'r'},
		{"count", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 't'},
		{"queues", required_argument, NULL, 'q'},
		{"packed", no_argument, NULL, 'p'},
		{"burst", required_argument, NULL, 'b'},
		{"stats-interval", required_argument, NULL, 'i'},
		{"linger", required_argument, NULL, 'L'},
		{"hugepages", no_argument, NULL, 'H'},
		{"quiet", no_argument, NULL, 'Q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool rate_set = false, secs_set = false;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->size = 64;
	o->burst = 32;
	o->queues = 1;
	o->seconds = 10;
	o->linger = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'S':
			o->server = true;
			break;
		case 'm':
			if (strcmp(optarg, "tx") == 0)
				o->mode = PG_TX;
			else if (strcmp(optarg, "rx") == 0)
				o->mode = PG_RX;
			else if (strcmp(optarg, "echo") == 0)
				o->mode = PG_ECHO;
			else if (strcmp(optarg, "ping") == 0)
				o->mode = PG_PING;
			else {
				fprintf(stderr,
					"vsw-pktgen: --mode: '%s' is not one "
					"of tx, rx, echo, ping\n",
					optarg);
				return -1;
			}
			break;
		case 'z':
			if (pg_parse_u64("--size", optarg, PG_MIN_SIZE,
					 PG_MAX_SIZE, &v) < 0)
				return -1;
			o->size = (uint32_t)v;
			break;
		case 'r':
			if (pg_parse_u64("--rate", optarg, 0, 1000000000,
					 &o->rate) < 0)
				return -1;
			rate_set = true;
			break;
		case 'c':
			if (pg_parse_u64("--count", optarg, 1,
					 UINT64_MAX / 2, &o->count) < 0)
				return -1;
			break;
		case 't':
			if (pg_parse_secs("--seconds", optarg, &o->seconds) <
			    0)
				return -1;
			secs_set = true;
			break;
		case 'q':
			if (pg_parse_u64("--queues", optarg, 1,
					 VSW_VUFE_MAX_QP, &v) < 0)
				return -1;
			o->queues = (uint32_t)v;
			break;
		case 'p':
			o->packed = true;
			break;
		case 'b':
			if (pg_parse_u64("--burst", optarg, 1, PG_MAX_BURST,
					 &v) < 0)
				return -1;
			o->burst = (uint32_t)v;
			break;
		case 'i':
			if (pg_parse_secs("--stats-interval", optarg,
					  &o->interval) < 0)
				return -1;
			break;
		case 'L':
			if (pg_parse_secs("--linger", optarg, &o->linger) < 0)
				return -1;
			break;
		case 'H':
			o->hugepages = true;
			break;
		case 'Q':
			o->quiet = true;
			break;
		case 'h':
			pg_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "vsw-pktgen: unknown or incomplete "
					"option '%s'\n",
				argv[optind - 1]);
			pg_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vsw-pktgen: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->socket == NULL) {
		fprintf(stderr, "vsw-pktgen: --socket PATH is required\n");
		pg_usage(stderr);
		return -1;
	}
	if (!rate_set && o->mode == PG_PING)
		o->rate = 1000;
	if (o->seconds == 0 && o->count == 0) {
		fprintf(stderr, "vsw-pktgen: --seconds 0 needs --count\n");
		return -1;
	}
	(void)secs_set;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

/* Byte i of the payload pattern after the fixed fields. */
static inline uint8_t pg_pat(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq + i * 7);
}

static uint16_t pg_ip_csum(const uint8_t *h)
{
	uint32_t s = 0;
	unsigned i;

	for (i = 0; i < 20; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void pg_template(struct pg *g)
{
	uint8_t *f = g->tmpl, *ip = f + 14, *udp = ip + 20;
	uint16_t iplen = (uint16_t)(g->o.size - 14);
	uint16_t udplen = (uint16_t)(iplen - 20), cs;

	memset(f, 0, sizeof(g->tmpl));
	memcpy(f, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x00\x00\x01", 4);
	memcpy(ip + 16, "\x0a\x00\x00\x02", 4);
	cs = pg_ip_csum(ip);
	ip[10] = (uint8_t)(cs >> 8);
	ip[11] = (uint8_t)cs;
	udp[2] = 0;
	udp[3] = PG_DST_PORT;
	udp[4] = (uint8_t)(udplen >> 8);
	udp[5] = (uint8_t)udplen;
	/* UDP checksum 0: none (IPv4) */
}

/* Fill a frame: the template, the queue's source port, seq, timestamp. */
static void pg_build(const struct pg *g, uint8_t *f, unsigned qp, uint64_t seq,
		     uint64_t ts)
{
	uint32_t magic = htonl(PG_MAGIC), i;
	uint16_t sport = htons((uint16_t)(PG_PORT_BASE + qp));
	uint8_t *pl = f + PG_HDRS;

	memcpy(f, g->tmpl, PG_HDRS);
	memcpy(f + 14 + 20, &sport, 2);
	memcpy(pl, &magic, 4);
	memcpy(pl + 4, &seq, 8);
	memcpy(pl + 12, &ts, 8);
	for (i = PG_MIN_SIZE; i < g->o.size; i++)
		f[i] = pg_pat(seq, i);
}

/*
 * Check a frame of ours (either direction: echo swaps addresses and
 * ports). Returns true and its queue, sequence and timestamp.
 */
static bool pg_check(const struct pg *g, const struct vsw_pkt *pkt,
		     unsigned *qp, uint64_t *seq, uint64_t *ts)
{
	const uint8_t *f = vsw_pkt_data(pkt), *ip = f + 14, *udp = ip + 20;
	uint16_t sport, dport, port;
	uint32_t magic, i;

	if (pkt->len != g->o.size || f[12] != 0x08 || f[13] != 0 ||
	    ip[0] != 0x45 || ip[9] != 17 || pg_ip_csum(ip) != 0 ||
	    ((uint32_t)ip[2] << 8 | ip[3]) != pkt->len - 14)
		return false;
	memcpy(&magic, f + PG_HDRS, 4);
	if (ntohl(magic) != PG_MAGIC)
		return false;
	memcpy(&sport, udp, 2);
	memcpy(&dport, udp + 2, 2);
	sport = ntohs(sport);
	dport = ntohs(dport);
	port = sport == PG_DST_PORT ? dport : sport;
	if (port < PG_PORT_BASE || port >= PG_PORT_BASE + g->o.queues)
		return false;
	*qp = port - PG_PORT_BASE;
	memcpy(seq, f + PG_HDRS + 4, 8);
	memcpy(ts, f + PG_HDRS + 12, 8);
	for (i = PG_MIN_SIZE; i < pkt->len; i++)
		if (f[i] != pg_pat(*seq, i))
			return false;
	return true;
}

static void pg_swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[6];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/* Return the frame to its sender: checksums are sums, order-free. */
static void pg_reflect(struct vsw_pkt *pkt)
{
	uint8_t *f = vsw_pkt_data(pkt);

	if (pkt->len < 14)
		return;
	pg_swap(f, f + 6, 6);
	if (pkt->len >= 14 + 20 + 8 && f[12] == 0x08 && f[13] == 0x00 &&
	    (f[14] & 0xf0) == 0x40) {
		unsigned ihl = (f[14] & 0x0f) * 4u;

		pg_swap(f + 14 + 12, f + 14 + 16, 4);
		if ((f[14 + 9] == 17 || f[14 + 9] == 6) &&
		    pkt->len >= 14 + ihl + 4)
			pg_swap(f + 14 + ihl, f + 14 + ihl + 2, 2);
	}
	/* an offload request travels back as it came */
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

static unsigned pg_lat_bucket(uint64_t ns)
{
	unsigned e;

	if (ns < PG_LAT_SUB)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns); /* >= 6 */
	if (e > 63)
		e = 63;
	return PG_LAT_SUB + (e - 6) * PG_LAT_SUB +
	       (unsigned)((ns >> (e - 6)) & (PG_LAT_SUB - 1));
}

/* Lower bound of a bucket (under 1.6 % below any value in it). */
static uint64_t pg_lat_value(unsigned b)
{
	unsigned e;

	if (b < PG_LAT_SUB)
		return b;
	e = (b - PG_LAT_SUB) / PG_LAT_SUB + 6;
	return ((uint64_t)PG_LAT_SUB + (b % PG_LAT_SUB)) << (e - 6);
}

static void pg_lat_add(struct pg *g, uint64_t ns)
{
	g->lat[pg_lat_bucket(ns)]++;
	g->lat_n++;
	if (ns > g->lat_max)
		g->lat_max = ns;
}

static uint64_t pg_lat_pct(const struct pg *g, double pct)
{
	uint64_t want = (uint64_t)((double)g->lat_n * pct / 100.0 + 0.5), acc = 0;
	unsigned b;

	if (want == 0)
		want = 1;
	for (b = 0; b < PG_LAT_BUCKETS; b++) {
		acc += g->lat[b];
		if (acc >= want)
			return pg_lat_value(b);
	}
	return g->lat_max;
}

static void pg_report(const struct pg *g, const char *tag, double secs)
{
	uint64_t pkts = g->o.mode == PG_RX ? g->rx_pkts : g->tx_pkts;
	uint64_t bytes = g->o.mode == PG_RX ? g->rx_bytes : g->tx_bytes;
	struct vsw_vufe_q_stats st, sum = {0};
	unsigned q;

	if (secs <= 0)
		secs = 1e-9;
	for (q = 0; q < g->o.queues; q++) {
		vsw_vufe_stats(g->fe, q, &st);
		sum.rx_bad += st.rx_bad;
		sum.rx_nomem += st.rx_nomem;
		sum.tx_oversize += st.tx_oversize;
	}
	printf("%s: %.3f s tx %" PRIu64 " pkts %" PRIu64 " bytes, rx %" PRIu64
	       " pkts %" PRIu64 " bytes, %.3f Mpps %.3f Gbit/s, "
	       "good %" PRIu64 " bad %" PRIu64 " loss %" PRIu64
	       " reorder %" PRIu64 ", drops: ring-full "
	       "retries %" PRIu64 " rx-bad %" PRIu64 " rx-nomem %" PRIu64
	       "\n",
	       tag, secs, g->tx_pkts, g->tx_bytes, g->rx_pkts, g->rx_bytes,
	       (double)pkts / secs / 1e6, (double)bytes * 8 / secs / 1e9,
	       g->good, g->bad, g->loss, g->reorder, g->tx_full,
	       sum.rx_bad, sum.rx_nomem);
	if (g->lat_n > 0)
		printf("%s: latency ns (%" PRIu64 " samples): p50 %" PRIu64
		       " p90 %" PRIu64 " p99 %" PRIu64 " p99.9 %" PRIu64
		       " max %" PRIu64 "\n",
		       tag, g->lat_n, pg_lat_pct(g, 50), pg_lat_pct(g, 90),
		       pg_lat_pct(g, 99), pg_lat_pct(g, 99.9), g->lat_max);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

/* Frames the rate allows now (all queues together). */
static uint64_t pg_budget(const struct pg *g, uint64_t now)
{
	uint64_t allowed;

	if (g->o.rate == 0)
		return UINT64_MAX;
	allowed = (uint64_t)((double)(now - g->t0) * 1e-9 *
			     (double)g->o.rate) + 1;
	return allowed > g->tx_pkts ? allowed - g->tx_pkts : 0;
}

static int pg_send(struct pg *g, unsigned qp, uint64_t now)
{
	struct vsw_pkt *pk[PG_MAX_BURST];
	uint64_t want = g->o.burst, budget = pg_budget(g, now);
	unsigned n, i;
	int r;

	if (g->o.count != 0 && g->q[qp].next_seq >= g->o.count)
		return 0;
	if (g->o.count != 0 && want > g->o.count - g->q[qp].next_seq)
		want = g->o.count - g->q[qp].next_seq;
	if (want > budget)
		want = budget;
	if (want == 0)
		return 0;
	if (g->o.size <= VSW_PKT_SMALL_ROOM) {
		n = vsw_pkt_alloc_burst(g->pool, pk, (unsigned)want);
	} else {
		for (n = 0; n < want; n++) {
			pk[n] = vsw_pkt_alloc_len(g->pool, g->o.size);
			if (pk[n] == NULL)
				break;
		}
	}
	for (i = 0; i < n; i++)
		pg_build(g, vsw_pkt_append(pk[i], g->o.size), qp,
			 g->q[qp].next_seq + i, now);
	r = vsw_vufe_tx_burst(g->fe, qp, pk, n);
	if (r < 0) {
		vsw_pkt_free_burst(pk, n);
		return r;
	}
	vsw_pkt_free_burst(pk + r, n - (unsigned)r);
	if ((unsigned)r < n)
		g->tx_full++;
	g->q[qp].next_seq += (unsigned)r;
	g->tx_pkts += (unsigned)r;
	g->tx_bytes += (uint64_t)r * g->o.size;
	return r;
}

/* rx / ping: account for one received frame. */
static void pg_account(struct pg *g, const struct vsw_pkt *pkt, uint64_t now)
{
	struct pg_qstate *s;
	uint64_t seq, ts;
	unsigned qp;

	if (!pg_check(g, pkt, &qp, &seq, &ts)) {
		g->bad++;
		return;
	}
	s = &g->q[qp];
	g->good++;
	if (g->o.mode == PG_PING && ts <= now)
		pg_lat_add(g, now - ts);
	if (seq == s->rx_seq) {
		s->rx_seq++;
	} else if (seq > s->rx_seq) {
		g->loss += seq - s->rx_seq;
		s->rx_seq = seq + 1;
	} else {
		/* late: counted lost when skipped, so take that back */
		g->reorder++;
		if (g->loss > 0)
			g->loss--;
	}
}

static int pg_receive(struct pg *g, unsigned qp, uint64_t now)
{
	struct vsw_pkt *pk[PG_MAX_BURST];
	int r, i, t;

	r = vsw_vufe_rx_burst(g->fe, qp, pk, g->o.burst);
	if (r <= 0)
		return r;
	now = vsw_now_ns(); /* arrival time of this burst (vDSO, no syscall) */
	for (i = 0; i < r; i++) {
		g->rx_pkts++;
		g->rx_bytes += pk[i]->len;
	}
	if (g->o.mode != PG_ECHO) {
		for (i = 0; i < r; i++)
			pg_account(g, pk[i], now);
		vsw_pkt_free_burst(pk, (unsigned)r);
		return r;
	}
	for (i = 0; i < r; i++) {
		uint64_t seq, ts;
		unsigned q;

		if (!pg_check(g, pk[i], &q, &seq, &ts))
			g->bad++; /* foreign frames are echoed all the same */
		else
			g->good++;
		pg_reflect(pk[i]);
	}
	/* every frame goes back: wait for ring room rather than drop */
	for (i = 0; i < r;) {
		t = vsw_vufe_tx_burst(g->fe, qp, pk + i, (unsigned)(r - i));
		if (t < 0) {
			vsw_pkt_free_burst(pk + i, (unsigned)(r - i));
			return t;
		}
		if (t == 0)
			g->tx_full++;
		g->tx_pkts += (unsigned)t;
		g->tx_bytes += (uint64_t)t * g->o.size;
		i += t;
		if (pg_stop)
			break;
	}
	vsw_pkt_free_burst(pk + i, (unsigned)(r - i));
	return r;
}

static bool pg_done(const struct pg *g)
{
	unsigned q;

	if (g->o.count == 0)
		return false;
	switch (g->o.mode) {
	case PG_TX:
		for (q = 0; q < g->o.queues; q++)
			if (g->q[q].next_seq < g->o.count)
				return false;
		return true;
	case PG_RX:
		return g->good + g->bad >= g->o.count * g->o.queues;
	case PG_ECHO:
		return g->tx_pkts >= g->o.count;
	case PG_PING:
		return g->good >= g->o.count * g->o.queues;
	}
	return false;
}

static int pg_run(struct pg *g)
{
	uint64_t end, next_stat, now, ping_tail = 0;
	double stat_ns = g->o.interval * 1e9;
	unsigned q;
	int r;

	g->t0 = vsw_now_ns();
	end = g->o.seconds > 0 ? g->t0 + (uint64_t)(g->o.seconds * 1e9)
			       : UINT64_MAX;
	next_stat = stat_ns > 0 ? g->t0 + (uint64_t)stat_ns : UINT64_MAX;
	while (!pg_stop && !pg_done(g)) {
		now = vsw_now_ns();
		if (now >= end)
			break;
		if (now >= next_stat) {
			pg_report(g, "interval", (double)(now - g->t0) * 1e-9);
			next_stat += (uint64_t)stat_ns;
		}
		for (q = 0; q < g->o.queues; q++) {
			if (g->o.mode == PG_TX || g->o.mode == PG_PING) {
				r = pg_send(g, q, now);
				if (r < 0)
					return r;
			}
			if (g->o.mode != PG_TX) {
				r = pg_receive(g, q, now);
				if (r < 0)
					return r;
			}
		}
		/* ping: once everything is sent, wait --linger for stragglers */
		if (g->o.mode == PG_PING && g->o.count != 0 && ping_tail == 0 &&
		    g->tx_pkts >= g->o.count * g->o.queues) {
			ping_tail = now + (uint64_t)(g->o.linger * 1e9);
			if (ping_tail < end)
				end = ping_tail;
		}
	}
	/* tx: let the back-end take what is still in the ring */
	return 0;
}

static bool pg_verdict(const struct pg *g)
{
	uint64_t want = g->o.count * g->o.queues;

	switch (g->o.mode) {
	case PG_TX:
		return g->o.count == 0 ? g->tx_pkts > 0 : g->tx_pkts == want;
	case PG_RX:
		if (g->bad != 0 || g->loss != 0)
			return false;
		return g->o.count == 0 ? g->good > 0 : g->good == want;
	case PG_ECHO:
		return g->bad == 0 && (g->o.count == 0 || g->tx_pkts >= g->o.count);
	case PG_PING:
		if (g->bad != 0)
			return false;
		return g->o.count == 0 ? g->good > 0 : g->good == want;
	}
	return false;
}

int main(int argc, char **argv)
{
	static struct pg g; /* large (histogram, template): not on the stack */
	struct vsw_pkt_pool_config pc = {.n_small = 4096, .n_large = 0};
	struct vsw_vufe_config c = {0};
	struct sigaction sa = {.sa_handler = pg_on_signal};
	static const char *const mode_name[] = {"tx", "rx", "echo", "ping"};
	bool ok;
	unsigned q;
	int ret;

	if (pg_parse(argc, argv, &g.o) < 0)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pg_template(&g);
	if (g.o.size > VSW_PKT_SMALL_ROOM)
		pc.n_large = 512;
	c.path = g.o.socket;
	c.server = g.o.server;
	c.queue_pairs = (uint16_t)g.o.queues;
	c.hugepages = g.o.hugepages;
	c.tx_max_frame = PG_MAX_SIZE;
	c.features = VSW_VUFE_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		     VSW_VUFE_BIT(VIRTIO_RING_F_EVENT_IDX) |
		     VSW_VUFE_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (g.o.packed)
		c.features |= VSW_VUFE_BIT(VIRTIO_F_RING_PACKED);
	if (g.o.queues > 1)
		c.features |= VSW_VUFE_BIT(VIRTIO_NET_F_MQ);
	c.timeout_ms = 10000;
	ret = vsw_pkt_pool_create(&pc, &g.pool);
	if (ret < 0) {
		fprintf(stderr, "vsw-pktgen: packet pool: %s\n",
			strerror(-ret));
		return 1;
	}
	ret = vsw_vufe_create(&c, &g.fe);
	if (ret < 0) {
		fprintf(stderr, "vsw-pktgen: %s\n", strerror(-ret));
		vsw_pkt_pool_destroy(g.pool);
		return 1;
	}
	ret = vsw_vufe_connect(g.fe);
	if (ret < 0) {
		fprintf(stderr, "vsw-pktgen: %s: %s\n", g.o.socket,
			vsw_vufe_error(g.fe));
		goto out;
	}
	for (q = 0; q < g.o.queues; q++)
		vsw_vufe_set_pool(g.fe, q, g.pool);
	if (!g.o.quiet)
		printf("vsw-pktgen: %s on %s, %u pair(s), %s ring, %u-byte "
		       "frames, features 0x%" PRIx64 "\n",
		       mode_name[g.o.mode], g.o.socket, g.o.queues,
		       g.o.packed ? "packed" : "split", g.o.size,
		       vsw_vufe_features(g.fe));
	ret = pg_run(&g);
	if (ret < 0)
		fprintf(stderr, "vsw-pktgen: %s\n",
			ret == -ENOTCONN ? "the back-end went away"
					 : strerror(-ret));
out:
	if (g.t0 != 0)
		pg_report(&g, "total", (double)(vsw_now_ns() - g.t0) * 1e-9);
	ok = ret == 0 && pg_verdict(&g);
	if (g.t0 != 0 && !g.o.quiet)
		printf("vsw-pktgen: %s\n", ok ? "PASS" : "FAIL");
	vsw_vufe_destroy(g.fe);
	vsw_pkt_pool_destroy(g.pool);
	return ok ? 0 : 1;
}
