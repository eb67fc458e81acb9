/* SPDX-License-Identifier: MIT */
/*
 * vsw-swbench: a deterministic forwarding workload for instruction counts
 * (valgrind --tool=callgrind), not a throughput benchmark.
 *
 * One switch, one data thread, one bridge ("actions=normal"), two ports of
 * a provider defined here: each port's rxq hands out exactly `burst` 64-byte
 * frames per recv (copied into the thread's packets, as a real provider
 * does) until it has produced `count`; port 0's frames go to port 1's MAC
 * and back. send only counts. Nothing is produced until every port is in
 * place and the data thread sleeps, so every run takes the same path:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *       vsw-swbench --count 100000 --burst 32
 *   callgrind_annotate --inclusive=yes cg.out
 *
 * and instructions / (2 * count) is the per-packet cost of the loop, the
 * normal path and the two provider calls. The frames are IPv4/UDP (port 9
 * to 9, 198.18.0.1 <-> 198.18.0.2). --flow RULE replaces the bridge's
 * rules by that one (ovs-ofctl syntax; the ports are 1 and 2), to measure
 * the flow-table path instead: e.g. --flow "priority=10,udp,actions=flood".
 * Several --flow add several rules (a pipeline: --flow "udp,actions=
 * goto_table:1" --flow "table=1,udp,actions=flood").
 * --capture captures port sb0 in both directions (vsw_capture_start, a
 * 64 MiB ring, drained at the end): the cost of a running capture.
 * --mirror adds a third port sb2 (a sink: it receives nothing) and a
 * mirror of what sb0 receives to it (select-src-port=sb0
 * output-port=sb2): the cost of a running mirror, one copy per frame of
 * sb0.
 *
 * Rate limits (a throughput figure, not for callgrind): --police KBPS
 * gives sb0 ingress_policing_rate=KBPS (--police-burst KB, default OVS's),
 * --max-rate BPS gives sb1 max-rate=BPS; then only sb0 produces, as fast
 * as the thread can, for --seconds S (default 5), and the rate sb1 sent at
 * is printed against the configured one (bits of the 64-byte frames, as
 * the bucket counts them):
 *
 *   vsw-swbench --police 100000 --seconds 5
 *   -> rate configured 100000000 offered ... passed ... ratio 1.00x
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <vsw/flow.h>
#include <vsw/pkt.h>
#include <vsw/port.h>
#include <vsw/switch.h>

#define SB_FRAME 64

struct sb_ctx;

struct sb_port {
	struct sb_ctx *ctx;
	unsigned id;
	int efd;
	uint64_t produced;	/* data thread only */
	uint64_t sent;		/* data thread writes, main reads (atomic) */
	uint8_t frame[SB_FRAME];
};

struct sb_ctx {
	uint64_t count;
	uint64_t seconds; /* rate mode: run this long, only port 0 sends */
	unsigned burst;
	uint32_t go; /* main writes, data thread reads (atomic) */
	struct sb_port port[3]; /* [2]: the --mirror sink */
};

static void sb_mac(uint8_t *m, unsigned id)
{
	static const uint8_t base[6] = {0x02, 0, 0, 0, 0, 0};

	memcpy(m, base, 6);
	m[5] = (uint8_t)(id + 1);
}

/* Ethertype, IPv4 and UDP headers (no options, checksum right) at @f. */
static void sb_ipv4_udp(uint8_t *f, unsigned id)
{
	static const uint8_t ip[20] = {
		0x45, 0, 0, SB_FRAME - 14, 0, 0, 0x40, 0, 64, 17, 0, 0,
		198, 18, 0, 1, 198, 18, 0, 2,
	};
	uint32_t sum = 0;
	unsigned i;

	f[12] = 0x08;
	f[13] = 0x00;
	memcpy(f + 14, ip, sizeof(ip));
	f[14 + 15] = (uint8_t)(1 + id);	 /* source 198.18.0.(1 + id) */
	f[14 + 19] = (uint8_t)(2 - id); /* destination: the other one */
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)f[14 + i] << 8 | f[14 + i + 1];
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	f[14 + 10] = (uint8_t)(~sum >> 8);
	f[14 + 11] = (uint8_t)~sum;
	/* UDP 9 -> 9, length, checksum 0 (none) */
	memset(f + 34, 0, 8);
	f[35] = 9;
	f[37] = 9;
	f[39] = SB_FRAME - 34;
}

static int sb_open(struct vsw_port *port, const struct vsw_port_opt *opts,
		   unsigned n_opts, char *err, size_t err_len)
{
	struct sb_ctx *ctx = NULL;
	struct sb_port *p;
	unsigned id = 0, i;

	for (i = 0; i < n_opts; i++) {
		if (strcmp(opts[i].key, "ctx") == 0)
			ctx = (struct sb_ctx *)(uintptr_t)strtoull(
				opts[i].value, NULL, 16);
		else if (strcmp(opts[i].key, "id") == 0)
			id = (unsigned)strtoul(opts[i].value, NULL, 10);
	}
	if (ctx == NULL || id > 2) {
		snprintf(err, err_len, "swbench: bad options");
		return -EINVAL;
	}
	p = &ctx->port[id];
	p->ctx = ctx;
	p->id = id;
	if (id == 2)
		p->produced = ctx->count; /* the sink: never receives */
	sb_mac(p->frame, id ^ 1);
	sb_mac(p->frame + 6, id);
	sb_ipv4_udp(p->frame, id);
	for (i = 42; i < SB_FRAME; i++)
		p->frame[i] = (uint8_t)i;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0)
		return -errno;
	vsw_port_set_priv(port, p);
	vsw_port_set_link(port, true);
	return 0;
}

/* Add @text to br0's rules; the first call removes the others. */
static int sb_flow(struct vsw_switch *sw, const char *text, bool first)
{
	struct vsw_flow_spec spec;
	char err[256];
	int rc;

	rc = vsw_flow_parse(text, VSW_FLOW_PARSE_ADD, NULL, &spec, err,
			    sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "swbench: --flow: %s\n", err);
		return rc;
	}
	rc = first ? vsw_switch_flow_del(sw, "br0", NULL, false, err,
					 sizeof(err))
		   : 0;
	if (rc >= 0)
		rc = vsw_switch_flow_add(sw, "br0", &spec, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "swbench: --flow: %s\n", err);
	vsw_flow_spec_fini(&spec);
	return rc < 0 ? rc : 0;
}

static void sb_close(struct vsw_port *port)
{
	struct sb_port *p = vsw_port_priv(port);

	if (p != NULL && p->efd >= 0)
		close(p->efd);
}

static unsigned sb_nq(const struct vsw_port *port)
{
	(void)port;
	return 1;
}

static unsigned sb_recv(struct vsw_port *port, unsigned rxq,
			struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
			unsigned n)
{
	struct sb_port *p = vsw_port_priv(port);
	unsigned k = 0;

	(void)rxq;
	/* Acquire pairs with the release store of go in main(). */
	if (!__atomic_load_n(&p->ctx->go, __ATOMIC_ACQUIRE))
		return 0;
	if (n > p->ctx->burst)
		n = p->ctx->burst;
	while (k < n && p->produced < p->ctx->count) {
		struct vsw_pkt *pkt = vsw_pkt_alloc_len(pool, SB_FRAME);

		if (pkt == NULL)
			break;
		memcpy(vsw_pkt_append(pkt, SB_FRAME), p->frame, SB_FRAME);
		pkts[k++] = pkt;
		p->produced++;
	}
	return k;
}

static unsigned sb_send(struct vsw_port *port, unsigned txq,
			struct vsw_pkt *const *pkts, unsigned n)
{
	struct sb_port *p = vsw_port_priv(port);

	(void)txq;
	(void)pkts;
	/* Relaxed: main only polls the total. */
	__atomic_fetch_add(&p->sent, n, __ATOMIC_RELAXED);
	return n;
}

static int sb_wait_fd(struct vsw_port *port, unsigned rxq)
{
	struct sb_port *p = vsw_port_priv(port);

	(void)rxq;
	return p->efd;
}

static bool sb_arm(struct vsw_port *port, unsigned rxq)
{
	struct sb_port *p = vsw_port_priv(port);

	(void)rxq;
	/* Acquire pairs with the release store of go in main(). */
	return __atomic_load_n(&p->ctx->go, __ATOMIC_ACQUIRE) &&
	       p->produced < p->ctx->count;
}

static void sb_disarm(struct vsw_port *port, unsigned rxq)
{
	struct sb_port *p = vsw_port_priv(port);
	uint64_t v;

	(void)rxq;
	if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("swbench: eventfd read");
}

static const struct vsw_port_ops sb_ops = {
	.type = "swbench",
	.open = sb_open,
	.close = sb_close,
	.n_rxq = sb_nq,
	.n_txq = sb_nq,
	.recv = sb_recv,
	.send = sb_send,
	.rxq_wait_fd = sb_wait_fd,
	.rxq_arm = sb_arm,
	.rxq_disarm = sb_disarm,
};

static uint64_t sb_clock(void *arg)
{
	(void)arg;
	return 1000000; /* fixed: no ageing during a run */
}

static void sb_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Rate mode: sb0 sends for ctx->seconds; the rate sb1 got, against the
 * configured one (police KBPS x 1000, or max_rate BPS).
 */
static int sb_rate_run(struct vsw_switch *sw, struct sb_ctx *ctx,
		       const char *police, const char *max_rate)
{
	struct timespec t0, t1;
	double secs, rate, offered, passed;
	uint64_t sent, produced;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sb_sleep_ms((unsigned)(ctx->seconds * 1000));
	/* Relaxed: recv only tests it; the sync below orders the rest. */
	__atomic_store_n(&ctx->go, 0, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vsw_switch_sync(sw);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	sent = __atomic_load_n(&ctx->port[1].sent, __ATOMIC_RELAXED);
	produced = __atomic_load_n(&ctx->port[0].produced, __ATOMIC_RELAXED);
	rate = police != NULL ? strtod(police, NULL) * 1000
			      : strtod(max_rate, NULL);
	if (police != NULL && max_rate != NULL && strtod(max_rate, NULL) < rate)
		rate = strtod(max_rate, NULL);
	offered = (double)produced * SB_FRAME * 8 / secs;
	passed = (double)sent * SB_FRAME * 8 / secs;
	printf("rate configured %.0f offered %.0f passed %.0f bit/s over "
	       "%.2f s: ratio %.4fx%s\n",
	       rate, offered, passed, secs, rate > 0 ? passed / rate : 0.0,
	       offered < rate * 1.2 ? " (offered load not above the rate)"
				    : "");
	return offered < rate * 1.2 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"count", required_argument, NULL, 'c'},
		{"burst", required_argument, NULL, 'b'},
		{"flow", required_argument, NULL, 'f'},
		{"capture", no_argument, NULL, 'C'},
		{"police", required_argument, NULL, 'P'},
		{"police-burst", required_argument, NULL, 'B'},
		{"max-rate", required_argument, NULL, 'M'},
		{"seconds", required_argument, NULL, 'S'},
		{"mirror", no_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	struct vsw_switch_config cfg = {
		.n_threads = 1,
		.idle_polls = 4,
		.clock_ms = sb_clock,
	};
	struct sb_ctx ctx = {.count = 100000, .burst = 32};
	struct vsw_pmd_stats st;
	struct vsw_switch *sw;
	char err[256], ptr[32], name[8];
	const char *flow[8];
	unsigned n_flow = 0;
	const char *police = NULL, *pburst = NULL;
	const char *max_rate = NULL;
	struct vsw_capture *cap = NULL;
	bool capture = false, mirror = false;
	uint64_t one = 1, got;
	unsigned i;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "c:b:f:CmP:B:M:S:", lopts,
				 NULL)) != -1) {
		switch (c) {
		case 'c':
			ctx.count = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			ctx.burst = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			if (n_flow == 8) {
				fprintf(stderr, "swbench: 8 --flow at most\n");
				return 2;
			}
			flow[n_flow++] = optarg;
			break;
		case 'C':
			capture = true;
			break;
		case 'P':
			police = optarg;
			break;
		case 'B':
			pburst = optarg;
			break;
		case 'M':
			max_rate = optarg;
			break;
		case 'S':
			ctx.seconds = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			mirror = true;
			break;
		default:
			fprintf(stderr,
				"usage: %s [--count N] [--burst B] "
				"[--flow RULE] [--capture] [--police KBPS "
				"[--police-burst KB]] [--max-rate BPS] "
				"[--seconds S] [--mirror]\n",
				argv[0]);
			return 2;
		}
	}
	if (ctx.burst < 1 || ctx.burst > VSW_PORT_BURST || ctx.count == 0) {
		fprintf(stderr, "swbench: burst 1..%u, count > 0\n",
			VSW_PORT_BURST);
		return 2;
	}
	if (vsw_switch_create(&cfg, &sw) < 0 ||
	    vsw_switch_add_bridge(sw, "br0", err, sizeof(err)) < 0) {
		fprintf(stderr, "swbench: switch setup failed\n");
		return 1;
	}
	if (police != NULL || max_rate != NULL) {
		if (ctx.seconds == 0)
			ctx.seconds = 5;
		ctx.count = UINT64_MAX;
		ctx.port[1].produced = UINT64_MAX; /* sb1 only receives */
	}
	snprintf(ptr, sizeof(ptr), "%" PRIxPTR, (uintptr_t)&ctx);
	for (i = 0; i < (mirror ? 3u : 2u); i++) {
		static const char *const ids[] = {"0", "1", "2"};
		struct vsw_port_opt o[4] = {{"ctx", ptr}, {"id", NULL}};
		unsigned n = 2;

		o[1].value = ids[i];
		if (i == 0 && police != NULL) {
			o[n].key = VSW_PORT_OPT_POLICE_RATE;
			o[n++].value = police;
			if (pburst != NULL) {
				o[n].key = VSW_PORT_OPT_POLICE_BURST;
				o[n++].value = pburst;
			}
		}
		if (i == 1 && max_rate != NULL) {
			o[n].key = VSW_PORT_OPT_MAX_RATE;
			o[n++].value = max_rate;
		}
		snprintf(name, sizeof(name), "sb%u", i);
		if (vsw_switch_add_port_ops(sw, "br0", name, &sb_ops, o, n, err,
					    sizeof(err)) < 0) {
			fprintf(stderr, "swbench: %s\n", err);
			goto out;
		}
	}
	for (i = 0; i < n_flow; i++)
		if (sb_flow(sw, flow[i], i == 0) < 0)
			goto out;
	if (mirror) {
		static const char *const src[] = {"sb0"};
		struct vsw_mirror_config m = {.name = "m",
					      .src = src,
					      .n_src = 1,
					      .output_port = "sb2"};

		if (vsw_switch_mirror_add(sw, "br0", &m, err, sizeof(err)) <
		    0) {
			fprintf(stderr, "swbench: %s\n", err);
			goto out;
		}
	}
	if (capture && vsw_capture_start(sw, "sb0",
					 VSW_CAPTURE_IN | VSW_CAPTURE_OUT,
					 64u << 20, 0, &cap, err,
					 sizeof(err)) < 0) {
		fprintf(stderr, "swbench: %s\n", err);
		goto out;
	}
	/* let the data thread run out of idle polls and sleep */
	sb_sleep_ms(200);
	vsw_switch_pmd_stats_clear(sw);
	/* Release: the ports' setup, to sb_recv()'s acquire of go. */
	__atomic_store_n(&ctx.go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		if (write(ctx.port[i].efd, &one, sizeof(one)) < 0)
			perror("swbench: eventfd write");
	if (ctx.seconds != 0) {
		ret = sb_rate_run(sw, &ctx, police, max_rate);
		goto out;
	}
	do {
		sb_sleep_ms(10);
		got = __atomic_load_n(&ctx.port[0].sent, __ATOMIC_RELAXED) +
		      __atomic_load_n(&ctx.port[1].sent, __ATOMIC_RELAXED);
	} while (got < 2 * ctx.count);
	vsw_switch_sync(sw);
	if (vsw_switch_pmd_stats(sw, 0, &st) == 0)
		printf("frames %" PRIu64 " packets %" PRIu64 " batches %" PRIu64
		       " busy_cycles/packet %.1f sleeps %" PRIu64 "\n",
		       got, st.packets, st.batches,
		       st.packets ? (double)st.busy_cycles / st.packets : 0.0,
		       st.sleeps);
	ret = got == 2 * ctx.count ? 0 : 1;
	if (mirror)
		printf("mirrored %" PRIu64 "\n",
		       __atomic_load_n(&ctx.port[2].sent, __ATOMIC_RELAXED));
	if (cap != NULL) {
		struct vsw_capture_rec r;
		uint8_t f[SB_FRAME];
		uint64_t n = 0;

		while (vsw_capture_next(cap, &r, f, sizeof(f)) == 1)
			n++;
		printf("captured %" PRIu64 " dropped %" PRIu64 "\n", n,
		       vsw_capture_drops(cap));
	}
out:
	vsw_capture_stop(cap);
	vsw_switch_destroy(sw);
	return ret;
}
