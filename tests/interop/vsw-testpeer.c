/* SPDX-License-Identifier: MIT */
/*
 * vsw-testpeer: a vhost-user back-end (vsw_vnet_vu) that plays a host on the
 * other side of a guest's virtio-net NIC, for interop tests.
 *
 *  - answers ARP requests for its IPv4 address and ICMP echo requests;
 *  - UDP sink: datagrams to --sink-port carry one byte stream whose byte i
 *    is (i * 7 + 3) & 0xff (period 256); every byte is checked in order,
 *    IPv4 fragments are reassembled first;
 *  - UDP source: a datagram "SEND n" to --ctl-port makes it send n bytes of
 *    the same pattern (a stream starting at i = 0) from --ctl-port back to
 *    the sender's address and port, in datagrams of at most MTU - 28 bytes;
 *  - --echo: every frame from the guest goes back with the Ethernet, IPv4
 *    addresses and TCP/UDP ports swapped (checksums stay valid).
 * Every enabled queue pair is served; replies leave on the pair the request
 * came in on.
 *
 * Output (stdout): "TESTPEER listening ..." once the socket exists, event
 * lines, and on SIGTERM / SIGINT a summary: one line of key=value counters
 * and one line per queue pair, all starting with "TESTPEER ".
 *
 * Threads: main is the control thread (vsw_vnet_vu_ctl_run), one data
 * thread polls the queues and owns the packet pool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vsw/vnet_vhost_user.h>

#define BURST 32
#define OUTQ_MAX 256
#define ETH_HLEN 14
#define PAT(i) ((uint8_t)((i) * 7u + 3u))

struct outq {
	struct vsw_pkt *p[OUTQ_MAX];
	unsigned n;
};

struct qp_stats {
	uint64_t from_guest, to_guest;
};

struct peer {
	/* configuration */
	const char *path;
	bool client, echo, quiet, verbose;
	uint8_t mac[6];
	uint32_t ip; /* network order */
	uint16_t sink_port, ctl_port, mtu, max_qp;
	uint64_t features;

	struct vsw_vnet_vu *v;
	struct vsw_pkt_pool *pool;
	atomic_bool stop;

	/* data thread only (read by main after the join) */
	struct outq oq[VSW_VNET_MAX_QP];
	struct qp_stats qs[VSW_VNET_MAX_QP];
	uint64_t from_guest_frames, from_guest_bytes;
	uint64_t to_guest_frames, to_guest_bytes;
	uint64_t arp_replies, icmp_replies, icmp_bytes, echo_frames;
	uint64_t drops, ignored, frag_errors;
	uint64_t sink_dgrams, sink_bytes, sink_bad;
	int64_t sink_first_bad;
	uint64_t tx_requests, tx_bytes;
	struct {
		uint64_t left, off;
		uint8_t mac[6];
		uint32_t ip;
		uint16_t port, ip_id;
		unsigned qp;
	} st;
	struct {
		bool active;
		uint32_t src;
		uint16_t id;
		uint32_t have;
		int32_t total;
		uint8_t eth_src[6];
		unsigned qp;
		uint8_t buf[65536];
	} frag;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static uint16_t ip_csum(const void *p, size_t len)
{
	return vsw_vnet_csum_fold(vsw_vnet_csum_partial(p, len, 0));
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/* Queue pkt for the guest on pair qp (the peer owns it until consumed). */
static void out_push(struct peer *pr, unsigned qp, struct vsw_pkt *pkt)
{
	struct outq *q = &pr->oq[qp];

	if (q->n == OUTQ_MAX) {
		pr->drops++;
		vsw_pkt_free(pkt);
		return;
	}
	q->p[q->n++] = pkt;
}

/* Returns how many left for the guest. */
static unsigned out_flush(struct peer *pr, unsigned qp)
{
	struct outq *q = &pr->oq[qp];
	unsigned i, k;

	if (q->n == 0)
		return 0;
	if (!vsw_vnet_vu_queue_running(pr->v, 2 * qp)) {
		/* nobody to deliver to (yet / any more) */
		pr->drops += q->n;
		vsw_pkt_free_burst(q->p, q->n);
		q->n = 0;
		return 0;
	}
	k = vsw_vnet_vu_rx_burst(pr->v, qp, q->p, q->n);
	for (i = 0; i < k; i++)
		pr->to_guest_bytes += q->p[i]->len;
	pr->to_guest_frames += k;
	pr->qs[qp].to_guest += k;
	vsw_pkt_free_burst(q->p, k);
	memmove(q->p, q->p + k, (q->n - k) * sizeof(q->p[0]));
	q->n -= k;
	return k;
}

static void sink_check(struct peer *pr, const uint8_t *p, uint32_t n)
{
	uint32_t j;

	for (j = 0; j < n; j++) {
		if (p[j] != PAT(pr->sink_bytes + j)) {
			if (pr->sink_bad++ == 0)
				pr->sink_first_bad = (int64_t)(pr->sink_bytes + j);
		}
	}
	pr->sink_bytes += n;
	pr->sink_dgrams++;
}

static void ctl_request(struct peer *pr, const uint8_t *p, uint32_t n,
			const uint8_t *eth_src, uint32_t src, uint16_t sport,
			unsigned qp)
{
	char cmd[64];
	unsigned long long bytes;

	if (n >= sizeof(cmd))
		n = sizeof(cmd) - 1;
	memcpy(cmd, p, n);
	cmd[n] = 0;
	if (sscanf(cmd, "SEND %llu", &bytes) != 1) {
		pr->ignored++;
		return;
	}
	pr->tx_requests++;
	pr->st.left = bytes;
	pr->st.off = 0;
	memcpy(pr->st.mac, eth_src, 6);
	pr->st.ip = src;
	pr->st.port = sport;
	pr->st.qp = qp;
	printf("TESTPEER send-request bytes=%llu port=%u qp=%u\n", bytes,
	       sport, qp);
	fflush(stdout);
}

/* A whole UDP datagram (header included) from src. */
static void udp_input(struct peer *pr, const uint8_t *l4, uint32_t len,
		      const uint8_t *eth_src, uint32_t src, unsigned qp)
{
	uint16_t ulen;

	if (len < 8 || (ulen = get16(l4 + 4)) < 8 || ulen > len) {
		pr->ignored++;
		return;
	}
	if (get16(l4 + 2) == pr->sink_port)
		sink_check(pr, l4 + 8, ulen - 8u);
	else if (get16(l4 + 2) == pr->ctl_port)
		ctl_request(pr, l4 + 8, ulen - 8u, eth_src, src, get16(l4),
			    qp);
	else
		pr->ignored++;
}

/* An IPv4 fragment of a UDP datagram: reassemble (one at a time). */
static void frag_input(struct peer *pr, const uint8_t *ip, uint32_t ihl,
		       uint32_t tot, const uint8_t *eth_src, unsigned qp)
{
	uint16_t fo = get16(ip + 6);
	uint32_t off = (fo & 0x1fffu) * 8u, n = tot - ihl;
	uint32_t src;
	uint16_t id = get16(ip + 4);

	memcpy(&src, ip + 12, 4);
	if (!pr->frag.active || pr->frag.src != src || pr->frag.id != id) {
		if (pr->frag.active)
			pr->frag_errors++; /* the previous one never completed */
		pr->frag.active = true;
		pr->frag.src = src;
		pr->frag.id = id;
		pr->frag.have = 0;
		pr->frag.total = -1;
	}
	if (off + n > sizeof(pr->frag.buf)) {
		pr->frag_errors++;
		pr->frag.active = false;
		return;
	}
	memcpy(pr->frag.buf + off, ip + ihl, n);
	pr->frag.have += n;
	if (off == 0) {
		memcpy(pr->frag.eth_src, eth_src, 6);
		pr->frag.qp = qp;
	}
	if (!(fo & 0x2000u))
		pr->frag.total = (int32_t)(off + n);
	if (pr->frag.total >= 0 && pr->frag.have >= (uint32_t)pr->frag.total) {
		pr->frag.active = false;
		if (pr->frag.have != (uint32_t)pr->frag.total) {
			pr->frag_errors++; /* overlapping fragments */
			return;
		}
		udp_input(pr, pr->frag.buf, pr->frag.have, pr->frag.eth_src,
			  src, pr->frag.qp);
	}
}

static void echo_frame(struct peer *pr, struct vsw_pkt *pkt, unsigned qp)
{
	uint8_t *f = vsw_pkt_data(pkt);

	swap_bytes(f, f + 6, 6);
	if (pkt->len >= ETH_HLEN + 20 && get16(f + 12) == 0x0800) {
		uint8_t *ip = f + ETH_HLEN;
		uint32_t ihl = (ip[0] & 0xfu) * 4u;

		swap_bytes(ip + 12, ip + 16, 4);
		if ((ip[9] == 6 || ip[9] == 17) &&
		    (get16(ip + 6) & 0x1fffu) == 0 &&
		    pkt->len >= ETH_HLEN + ihl + 4)
			swap_bytes(ip + ihl, ip + ihl + 2, 2);
	}
	pr->echo_frames++;
	out_push(pr, qp, pkt);
}

/* One frame from the guest; consumes pkt. */
static void frame_input(struct peer *pr, struct vsw_pkt *pkt, unsigned qp)
{
	uint8_t *f = vsw_pkt_data(pkt);
	uint32_t len = pkt->len, ihl, tot;
	uint8_t *ip;

	if (pr->echo) {
		echo_frame(pr, pkt, qp);
		return;
	}
	if (len >= ETH_HLEN + 28 && get16(f + 12) == 0x0806) {
		uint8_t *a = f + ETH_HLEN;

		/* Ethernet/IPv4 request for our address */
		if (get16(a) == 1 && get16(a + 2) == 0x0800 && a[4] == 6 &&
		    a[5] == 4 && get16(a + 6) == 1 &&
		    memcmp(a + 24, &pr->ip, 4) == 0) {
			put16(a + 6, 2);
			memcpy(a + 18, a + 8, 10); /* tha, tpa = sha, spa */
			memcpy(a + 8, pr->mac, 6);
			memcpy(a + 14, &pr->ip, 4);
			memcpy(f, a + 18, 6);
			memcpy(f + 6, pr->mac, 6);
			memset(&pkt->vnet, 0, sizeof(pkt->vnet));
			pr->arp_replies++;
			out_push(pr, qp, pkt);
			return;
		}
		goto ignore;
	}
	if (len < ETH_HLEN + 20 || get16(f + 12) != 0x0800)
		goto ignore;
	ip = f + ETH_HLEN;
	ihl = (ip[0] & 0xfu) * 4u;
	tot = get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl ||
	    tot > len - ETH_HLEN || memcmp(ip + 16, &pr->ip, 4) != 0)
		goto ignore;
	if ((get16(ip + 6) & 0x3fffu) != 0) { /* MF or an offset */
		if (ip[9] == 17)
			frag_input(pr, ip, ihl, tot, f + 6, qp);
		else
			pr->ignored++;
		vsw_pkt_free(pkt);
		return;
	}
	if (ip[9] == 1 && tot >= ihl + 8 && ip[ihl] == 8) {
		/* echo request -> reply, in place */
		uint8_t *icmp = ip + ihl;

		swap_bytes(f, f + 6, 6);
		memcpy(f + 6, pr->mac, 6);
		swap_bytes(ip + 12, ip + 16, 4);
		ip[8] = 64;
		put16(ip + 10, 0);
		put16(ip + 10, ntohs(ip_csum(ip, ihl)));
		icmp[0] = 0;
		put16(icmp + 2, 0);
		put16(icmp + 2, ntohs(ip_csum(icmp, tot - ihl)));
		pkt->len = ETH_HLEN + tot;
		memset(&pkt->vnet, 0, sizeof(pkt->vnet));
		pr->icmp_replies++;
		pr->icmp_bytes += tot - ihl - 8;
		out_push(pr, qp, pkt);
		return;
	}
	if (ip[9] == 17) {
		uint32_t src;

		memcpy(&src, ip + 12, 4);
		udp_input(pr, ip + ihl, tot - ihl, f + 6, src, qp);
		vsw_pkt_free(pkt);
		return;
	}
ignore:
	if (pr->verbose && pr->ignored < 32) {
		/* what arrived instead (stale guest buffers show up here) */
		uint32_t j, n = len < 64 ? len : 64;

		printf("TESTPEER ignored len=%" PRIu32 " data=", len);
		for (j = 0; j < n; j++)
			printf("%02x", f[j]);
		printf("\n");
		fflush(stdout);
	}
	pr->ignored++;
	vsw_pkt_free(pkt);
}

/* Add up to BURST datagrams of the requested stream to its pair's queue. */
static void stream_fill(struct peer *pr)
{
	const uint32_t maxp = (uint32_t)pr->mtu - 28u;
	struct outq *q = &pr->oq[pr->st.qp];
	unsigned k;

	for (k = 0; k < BURST && pr->st.left > 0 && q->n < OUTQ_MAX; k++) {
		uint32_t n = pr->st.left < maxp ? (uint32_t)pr->st.left : maxp;
		uint32_t flen = ETH_HLEN + 28 + n, sum, j;
		struct vsw_pkt *pkt = vsw_pkt_alloc_len(pr->pool, flen);
		uint8_t *f, *ip, *udp;

		if (pkt == NULL)
			return;
		f = vsw_pkt_append(pkt, flen);
		if (f == NULL) { /* alloc_len gave room for flen: never */
			vsw_pkt_free(pkt);
			return;
		}
		ip = f + ETH_HLEN;
		udp = ip + 20;
		memcpy(f, pr->st.mac, 6);
		memcpy(f + 6, pr->mac, 6);
		put16(f + 12, 0x0800);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(28 + n));
		put16(ip + 4, pr->st.ip_id++);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, &pr->ip, 4);
		memcpy(ip + 16, &pr->st.ip, 4);
		put16(ip + 10, ntohs(ip_csum(ip, 20)));
		put16(udp, pr->ctl_port);
		put16(udp + 2, pr->st.port);
		put16(udp + 4, (uint16_t)(8 + n));
		for (j = 0; j < n; j++)
			udp[8 + j] = PAT(pr->st.off + j);
		/*
		 * Leave the UDP checksum to the receiver side of vsw_vnet: the
		 * field holds the pseudo-header sum (not complemented).
		 */
		sum = vsw_vnet_csum_partial(ip + 12, 8, 0);
		sum += htons(17);
		sum += htons((uint16_t)(8 + n));
		put16(udp + 6, 0);
		{
			uint16_t ph = (uint16_t)~vsw_vnet_csum_fold(sum);

			memcpy(udp + 6, &ph, 2);
		}
		pkt->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		pkt->vnet.csum_start = ETH_HLEN + 20;
		pkt->vnet.csum_offset = 6;
		pr->st.off += n;
		pr->st.left -= n;
		pr->tx_bytes += n;
		q->p[q->n++] = pkt;
		if (pr->st.left == 0) {
			printf("TESTPEER send-done bytes=%" PRIu64 "\n",
			       pr->st.off);
			fflush(stdout);
		}
	}
}

static void *data_thread(void *arg)
{
	struct peer *pr = arg;
	struct vsw_pkt *pkts[BURST];
	unsigned qp, i, n, idle = 0, work;
	uint64_t rx_wait;

	vsw_vnet_vu_dp_online(pr->v);
	while (!atomic_load_explicit(&pr->stop, memory_order_relaxed)) {
		vsw_vnet_vu_dp_quiesce(pr->v);
		work = 0;
		rx_wait = 0;
		for (qp = 0; qp < pr->max_qp; qp++) {
			n = vsw_vnet_vu_tx_burst(pr->v, qp, pkts, BURST);
			for (i = 0; i < n; i++) {
				pr->from_guest_bytes += pkts[i]->len;
				frame_input(pr, pkts[i], qp);
			}
			pr->from_guest_frames += n;
			pr->qs[qp].from_guest += n;
			work += n;
			if (pr->st.left > 0 && pr->st.qp == qp)
				stream_fill(pr);
			work += out_flush(pr, qp);
			if (pr->oq[qp].n > 0)
				rx_wait |= 1ULL << qp;
		}
		if (work > 0) {
			idle = 0;
			continue;
		}
		if (++idle < 16)
			continue;
		idle = 0;
		/* nothing moved: sleep until a kick (or 100 ms for stop) */
		vsw_vnet_vu_dp_sleep(pr->v, rx_wait, NULL, 0, 100);
	}
	vsw_vnet_vu_dp_offline(pr->v);
	return NULL;
}

static void log_line(void *opaque, enum vsw_log_level level,
		     const char *line)
{
	static const char *const names[] = {"err", "warn", "info", "debug"};

	(void)opaque;
	printf("TESTPEER log %s: %s\n", names[level], line);
	fflush(stdout);
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned b[6], i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vsw-testpeer --socket PATH [--client] [--ip A.B.C.D]\n"
		"  [--mac XX:..] [--qp N] [--sink-port P] [--ctl-port P]\n"
		"  [--mtu N] [--echo] [--features HEX] [--quiet] [--verbose]\n");
}

static void summary(const struct peer *pr)
{
	struct vsw_vu_iotlb_stats it;
	unsigned qp;

	printf("TESTPEER from_guest_frames=%" PRIu64
	       " from_guest_bytes=%" PRIu64 " to_guest_frames=%" PRIu64
	       " to_guest_bytes=%" PRIu64 " arp_replies=%" PRIu64
	       " icmp_replies=%" PRIu64 " icmp_bytes=%" PRIu64
	       " udp_rx_dgrams=%" PRIu64 " udp_rx_bytes=%" PRIu64
	       " udp_rx_bad=%" PRIu64 " udp_rx_first_bad=%" PRId64
	       " udp_tx_requests=%" PRIu64 " udp_tx_bytes=%" PRIu64
	       " udp_tx_left=%" PRIu64 " echo_frames=%" PRIu64
	       " drops=%" PRIu64 " ignored=%" PRIu64 " frag_errors=%" PRIu64
	       "\n",
	       pr->from_guest_frames, pr->from_guest_bytes,
	       pr->to_guest_frames, pr->to_guest_bytes, pr->arp_replies,
	       pr->icmp_replies, pr->icmp_bytes, pr->sink_dgrams,
	       pr->sink_bytes, pr->sink_bad, pr->sink_first_bad,
	       pr->tx_requests, pr->tx_bytes, pr->st.left, pr->echo_frames,
	       pr->drops, pr->ignored, pr->frag_errors);
	if (vsw_vu_iotlb_stats(vsw_vnet_vu_endpoint(pr->v), &it) == 0)
		printf("TESTPEER iotlb updates=%" PRIu64 " invalidates=%" PRIu64
		       " misses=%" PRIu64 " refused=%" PRIu64
		       " ring_faults=%" PRIu64 " miss_timeouts=%" PRIu64
		       " entries=%" PRIu32 "\n",
		       it.updates, it.invalidates, it.misses, it.refused,
		       it.ring_faults, it.miss_timeouts, it.entries);
	for (qp = 0; qp < pr->max_qp; qp++)
		printf("TESTPEER qp=%u from_guest=%" PRIu64
		       " to_guest=%" PRIu64 "\n",
		       qp, pr->qs[qp].from_guest, pr->qs[qp].to_guest);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"client", no_argument, NULL, 'c'},
		{"ip", required_argument, NULL, 'i'},
		{"mac", required_argument, NULL, 'm'},
		{"qp", required_argument, NULL, 'q'},
		{"sink-port", required_argument, NULL, 'k'},
		{"ctl-port", required_argument, NULL, 'p'},
		{"mtu", required_argument, NULL, 'M'},
		{"echo", no_argument, NULL, 'e'},
		{"features", required_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'Q'},
		{"verbose", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static struct peer pr; /* large (reassembly buffer, queues) */
	struct vsw_pkt_pool_config pc = {.n_small = 4096, .n_large = 64};
	struct vsw_vnet_vu_config vc = {0};
	struct sigaction sa;
	pthread_t th;
	unsigned qp;
	int c, ret;
	long val;

	pr.ip = htonl(0x0a000001); /* 10.0.0.1 */
	parse_mac("52:54:00:12:34:01", pr.mac);
	pr.max_qp = 1;
	pr.sink_port = 7000;
	pr.ctl_port = 7001;
	pr.mtu = 1500;
	pr.sink_first_bad = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			pr.path = optarg;
			break;
		case 'c':
			pr.client = true;
			break;
		case 'i':
			if (inet_pton(AF_INET, optarg, &pr.ip) != 1)
				goto bad;
			break;
		case 'm':
			if (parse_mac(optarg, pr.mac) < 0)
				goto bad;
			break;
		case 'q':
			val = strtol(optarg, NULL, 0);
			if (val < 1 || val > VSW_VNET_MAX_QP)
				goto bad;
			pr.max_qp = (uint16_t)val;
			break;
		case 'k':
		case 'p':
			val = strtol(optarg, NULL, 0);
			if (val < 1 || val > 65535)
				goto bad;
			if (c == 'k')
				pr.sink_port = (uint16_t)val;
			else
				pr.ctl_port = (uint16_t)val;
			break;
		case 'M':
			val = strtol(optarg, NULL, 0);
			if (val < 68 || val > 65535 - 28)
				goto bad;
			pr.mtu = (uint16_t)val;
			break;
		case 'e':
			pr.echo = true;
			break;
		case 'f':
			pr.features = strtoull(optarg, NULL, 16);
			break;
		case 'Q':
			pr.quiet = true;
			break;
		case 'V':
			pr.verbose = true;
			break;
		default:
			goto bad;
		}
	}
	if (pr.path == NULL || optind != argc)
		goto bad;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = vsw_pkt_pool_create(&pc, &pr.pool);
	if (ret < 0) {
		fprintf(stderr, "vsw-testpeer: pool: %s\n", strerror(-ret));
		return 1;
	}
	vc.mode = pr.client ? VSW_VU_CLIENT : VSW_VU_SERVER;
	vc.path = pr.path;
	vc.fd = -1;
	vc.features = pr.features;
	vc.max_qp = pr.max_qp;
	memcpy(vc.mac, pr.mac, 6);
	vc.pool = pr.pool;
	vc.log = log_line;
	vc.log_level = pr.verbose ? VSW_LOG_DEBUG
		       : pr.quiet ? VSW_LOG_WARN
				  : VSW_LOG_INFO;
	vc.retry_min_ms = 50;
	vc.retry_max_ms = 500;
	ret = vsw_vnet_vu_create(&vc, &pr.v);
	if (ret < 0) {
		fprintf(stderr, "vsw-testpeer: %s: %s\n", pr.path,
			strerror(-ret));
		vsw_pkt_pool_destroy(pr.pool);
		return 1;
	}
	printf("TESTPEER listening path=%s mode=%s qp=%u echo=%d\n", pr.path,
	       pr.client ? "client" : "server", pr.max_qp, pr.echo);
	fflush(stdout);
	ret = pthread_create(&th, NULL, data_thread, &pr);
	if (ret != 0) {
		fprintf(stderr, "vsw-testpeer: thread: %s\n", strerror(ret));
		vsw_vnet_vu_destroy(pr.v);
		vsw_pkt_pool_destroy(pr.pool);
		return 1;
	}
	while (!got_signal) {
		ret = vsw_vnet_vu_ctl_run(pr.v, 200);
		if (ret < 0 && ret != -EINTR && ret != -ECONNRESET)
			printf("TESTPEER connection-closed err=%d\n", ret);
		if (ret == -ECONNRESET)
			printf("TESTPEER disconnected\n");
		fflush(stdout);
	}
	atomic_store(&pr.stop, true);
	pthread_join(th, NULL);
	summary(&pr);
	vsw_vnet_vu_destroy(pr.v); /* the data thread is offline */
	for (qp = 0; qp < pr.max_qp; qp++)
		vsw_pkt_free_burst(pr.oq[qp].p, pr.oq[qp].n);
	vsw_pkt_pool_destroy(pr.pool);
	return 0;
bad:
	usage();
	return 2;
}
