/* SPDX-License-Identifier: MIT */
/*
 * The switch's side of vsw/port.h, reduced to what a provider test needs.
 * See test_ports_harness.h (the namespace and frame helpers are in
 * test_ports_net.c).
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
