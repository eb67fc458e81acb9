/* SPDX-License-Identifier: MIT */
/*
 * The switch's side of vsw/port.h, reduced to what a provider test needs.
 * See test_ports_harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
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

#include "test_ports_harness.h"

#define TH_LOG_LINES 64

struct vsw_port {
	const struct vsw_port_ops *ops;
	char name[VSW_PORT_NAME_MAX];
	unsigned id;
	void *priv;
	bool link;
	unsigned changes;
	pthread_mutex_t data_lock; /* held by every data op */
	pthread_mutex_t log_lock;
	uint64_t rx_drops[VSW_DROP__COUNT], tx_drops[VSW_DROP__COUNT];
	char log[TH_LOG_LINES][256];
	unsigned n_log;
};

/* ---- the accessors of vsw/port.h ---- */

const char *vsw_port_name(const struct vsw_port *port)
{
	return port->name;
}

const char *vsw_port_type(const struct vsw_port *port)
{
	return port->ops->type;
}

unsigned vsw_port_id(const struct vsw_port *port)
{
	return port->id;
}

void *vsw_port_priv(const struct vsw_port *port)
{
	return port->priv;
}

void vsw_port_set_priv(struct vsw_port *port, void *priv)
{
	port->priv = priv;
}

void vsw_port_set_link(struct vsw_port *port, bool up)
{
	__atomic_store_n(&port->link, up, __ATOMIC_RELAXED);
}

bool vsw_port_link(const struct vsw_port *port)
{
	return __atomic_load_n(&port->link, __ATOMIC_RELAXED);
}

static void th_vlog(const struct vsw_port *cport, enum vsw_log_level level,
		    const char *fmt, va_list ap)
{
	struct vsw_port *port = (struct vsw_port *)cport;
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "[%s] %d: %s\n", port->name, (int)level, line);
	pthread_mutex_lock(&port->log_lock);
	snprintf(port->log[port->n_log % TH_LOG_LINES], sizeof(port->log[0]),
		 "%s", line);
	port->n_log++;
	pthread_mutex_unlock(&port->log_lock);
}

void vsw_port_log(const struct vsw_port *port, enum vsw_log_level level,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vlog(port, level, fmt, ap);
	va_end(ap);
}

void vsw_port_log_rl(struct vsw_port *port, enum vsw_log_level level,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vlog(port, level, fmt, ap);
	va_end(ap);
}

void vsw_port_rxq_drop(struct vsw_port *port, unsigned rxq,
		       enum vsw_drop_reason reason, unsigned n)
{
	(void)rxq;
	__atomic_fetch_add(&port->rx_drops[reason], n, __ATOMIC_RELAXED);
}

void vsw_port_txq_drop(struct vsw_port *port, unsigned txq,
		       enum vsw_drop_reason reason, unsigned n)
{
	(void)txq;
	__atomic_fetch_add(&port->tx_drops[reason], n, __ATOMIC_RELAXED);
}

int vsw_port_changed(struct vsw_port *port)
{
	vsw_port_quiesce(port);
	__atomic_fetch_add(&port->changes, 1, __ATOMIC_RELAXED);
	return 0;
}

void vsw_port_quiesce(struct vsw_port *port)
{
	/* every data op holds data_lock: once we get it, none is running */
	pthread_mutex_lock(&port->data_lock);
	pthread_mutex_unlock(&port->data_lock);
}

/* Options: lib/ports/opts.c, linked from libvsw. */

/* ---- harness ---- */

struct vsw_port *th_port_open(const struct vsw_port_ops *ops,
			      const char *name,
			      const struct vsw_port_opt *opts, unsigned n_opts,
			      char *err, size_t err_len, int *ret)
{
	struct vsw_port *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		*ret = -ENOMEM;
		return NULL;
	}
	p->ops = ops;
	p->id = 1;
	p->link = true;
	snprintf(p->name, sizeof(p->name), "%s", name);
	pthread_mutex_init(&p->data_lock, NULL);
	pthread_mutex_init(&p->log_lock, NULL);
	err[0] = '\0';
	*ret = ops->open(p, opts, n_opts, err, err_len);
	if (*ret < 0) {
		pthread_mutex_destroy(&p->data_lock);
		pthread_mutex_destroy(&p->log_lock);
		free(p);
		return NULL;
	}
	return p;
}

void th_port_close(struct vsw_port *port)
{
	if (port == NULL)
		return;
	port->ops->close(port);
	pthread_mutex_destroy(&port->data_lock);
	pthread_mutex_destroy(&port->log_lock);
	free(port);
}

unsigned th_port_recv(struct vsw_port *port, unsigned rxq,
		      struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
		      unsigned n)
{
	unsigned r;

	pthread_mutex_lock(&port->data_lock);
	r = port->ops->recv(port, rxq, pool, pkts, n);
	pthread_mutex_unlock(&port->data_lock);
	return r;
}

unsigned th_port_send(struct vsw_port *port, unsigned txq,
		      struct vsw_pkt *const *pkts, unsigned n)
{
	unsigned r;

	pthread_mutex_lock(&port->data_lock);
	r = port->ops->send(port, txq, pkts, n);
	pthread_mutex_unlock(&port->data_lock);
	return r;
}

uint64_t th_port_drops(const struct vsw_port *port, bool tx,
		       enum vsw_drop_reason r)
{
	return __atomic_load_n(tx ? &port->tx_drops[r] : &port->rx_drops[r],
			       __ATOMIC_RELAXED);
}

bool th_port_logged(const struct vsw_port *cport, const char *s)
{
	struct vsw_port *port = (struct vsw_port *)cport;
	bool found = false;
	unsigned i;

	pthread_mutex_lock(&port->log_lock);
	for (i = 0; i < TH_LOG_LINES && i < port->n_log && !found; i++)
		found = strstr(port->log[i], s) != NULL;
	pthread_mutex_unlock(&port->log_lock);
	return found;
}

unsigned th_port_changes(const struct vsw_port *port)
{
	return __atomic_load_n(&port->changes, __ATOMIC_RELAXED);
}

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
