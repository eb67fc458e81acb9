/* SPDX-License-Identifier: MIT */
/* The generic struct vsw_port: accessors, logging, counters, options. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switch_priv.h"

#define PORT_RL_BURST 10

const char *vsw_drop_reason_name(enum vsw_drop_reason r)
{
	static const char *const names[VSW_DROP__COUNT] = {
		[VSW_DROP_RX_NOMEM] = "rx_nomem",
		[VSW_DROP_RX_ERROR] = "rx_error",
		[VSW_DROP_BAD_FRAME] = "bad_frame",
		[VSW_DROP_VLAN_FILTERED] = "vlan_filtered",
		[VSW_DROP_NO_DEST] = "no_dest",
		[VSW_DROP_TX_FULL] = "tx_full",
		[VSW_DROP_TX_DOWN] = "tx_down",
		[VSW_DROP_TX_ERROR] = "tx_error",
	};

	return (unsigned)r < VSW_DROP__COUNT ? names[r] : NULL;
}

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
	/* Relaxed: a flag the send path may see late (see port.h). */
	vsw_store_relaxed(&port->link, up ? 1 : 0);
}

bool vsw_port_link(const struct vsw_port *port)
{
	return vsw_load_relaxed(&port->link) != 0;
}

static void port_vlog(const struct vsw_port *port, enum vsw_log_level level,
		      const char *fmt, va_list ap)
{
	char msg[448];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	sw_log(port->sw, level, "port %s: %s", port->name, msg);
}

void vsw_port_log(const struct vsw_port *port, enum vsw_log_level level,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	port_vlog(port, level, fmt, ap);
	va_end(ap);
}

/*
 * Token bucket: PORT_RL_BURST tokens, one more per second. Relaxed CAS
 * loops: concurrent callers may at worst lose a refill, never go negative.
 */
void vsw_port_log_rl(struct vsw_port *port, enum vsw_log_level level,
		     const char *fmt, ...)
{
	struct timespec ts;
	uint64_t now, last;
	uint32_t tok, add;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec;
	last = vsw_load_relaxed(&port->rl_window);
	if (last == 0) {
		__atomic_compare_exchange_n(&port->rl_window, &last, now, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	} else if (now > last && __atomic_compare_exchange_n(
					 &port->rl_window, &last, now, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		add = now - last > PORT_RL_BURST ? PORT_RL_BURST
						 : (uint32_t)(now - last);
		tok = vsw_load_relaxed(&port->rl_count);
		while (!__atomic_compare_exchange_n(
			&port->rl_count, &tok,
			tok + add > PORT_RL_BURST ? PORT_RL_BURST : tok + add,
			false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
	tok = vsw_load_relaxed(&port->rl_count);
	do {
		if (tok == 0)
			return;
	} while (!__atomic_compare_exchange_n(&port->rl_count, &tok, tok - 1,
					      false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	va_start(ap, fmt);
	port_vlog(port, level, fmt, ap);
	va_end(ap);
}

void vsw_port_rxq_drop(struct vsw_port *port, unsigned rxq,
		       enum vsw_drop_reason reason, unsigned n)
{
	if (rxq < VSW_PORT_MAX_QUEUES && (unsigned)reason < VSW_DROP__COUNT)
		sw_ctr_add(&port->rxq[rxq].st.drops[reason], n);
}

void vsw_port_txq_drop(struct vsw_port *port, unsigned txq,
		       enum vsw_drop_reason reason, unsigned n)
{
	if (txq < VSW_PORT_MAX_QUEUES && (unsigned)reason < VSW_DROP__COUNT)
		sw_ctr_add(&port->txq[txq].st.drops[reason], n);
}

int vsw_port_changed(struct vsw_port *port)
{
	struct vsw_switch *sw = port->sw;
	unsigned nr = port->ops->n_rxq(port);
	unsigned nt = port->ops->n_txq(port);

	if (nr > VSW_PORT_MAX_QUEUES || nt > VSW_PORT_MAX_QUEUES) {
		vsw_port_log(port, VSW_LOG_ERR,
			     "%u/%u queues, using at most %u", nr, nt,
			     VSW_PORT_MAX_QUEUES);
		nr = nr > VSW_PORT_MAX_QUEUES ? VSW_PORT_MAX_QUEUES : nr;
		nt = nt > VSW_PORT_MAX_QUEUES ? VSW_PORT_MAX_QUEUES : nt;
	}
	sw_port_set_txq(sw, port, nt);
	port->n_rxq = nr;
	/* rebuilds the lists even if unchanged: wakes threads, syncs */
	return sw_republish_lists(sw);
}

void vsw_port_quiesce(struct vsw_port *port)
{
	sw_sync(port->sw);
}

/* ---- options ---- */

const char *vsw_port_opt_get(const struct vsw_port_opt *opts, unsigned n_opts,
			     const char *key)
{
	const char *v = NULL;
	unsigned i;

	for (i = 0; i < n_opts; i++)
		if (opts[i].key != NULL && strcmp(opts[i].key, key) == 0)
			v = opts[i].value;
	return v;
}

int vsw_port_opts_check(const struct vsw_port *port,
			const struct vsw_port_opt *opts, unsigned n_opts,
			const char *const *known, char *err, size_t err_len)
{
	unsigned i, k;

	for (i = 0; i < n_opts; i++) {
		bool found = false;

		for (k = 0; known != NULL && known[k] != NULL; k++)
			if (opts[i].key != NULL &&
			    strcmp(opts[i].key, known[k]) == 0)
				found = true;
		if (!found || opts[i].value == NULL) {
			if (err != NULL && err_len != 0)
				snprintf(err, err_len,
					 "%s option '%s' for type %s",
					 found ? "no value for" : "unknown",
					 opts[i].key ? opts[i].key : "(null)",
					 port->ops->type);
			return -EINVAL;
		}
	}
	return 0;
}

int vsw_port_opt_uint(const struct vsw_port_opt *opts, unsigned n_opts,
		      const char *key, unsigned def, unsigned min, unsigned max,
		      unsigned *out, char *err, size_t err_len)
{
	const char *v = vsw_port_opt_get(opts, n_opts, key);
	unsigned long x;
	char *end;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	x = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || x < min ||
	    x > max) {
		if (err != NULL && err_len != 0)
			snprintf(err, err_len,
				 "option %s=%s: expected an integer in %u..%u",
				 key, v, min, max);
		return -EINVAL;
	}
	*out = (unsigned)x;
	return 0;
}
