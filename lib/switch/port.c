/* SPDX-License-Identifier: MIT */
/* The generic struct vsw_port: accessors, logging, counters, options. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switch_priv.h"
#include "vsw_time.h"

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
		[VSW_DROP_RX_POLICED] = "rx_policed",
		[VSW_DROP_TX_RATE] = "tx_rate",
	};

	return (unsigned)r < VSW_DROP__COUNT ? names[r] : NULL;
}

bool vsw_drop_reason_tx(enum vsw_drop_reason r)
{
	return (r >= VSW_DROP_TX_FULL && r <= VSW_DROP_TX_ERROR) ||
	       r == VSW_DROP_TX_RATE;
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
	uint64_t now, last;
	uint32_t tok, add;
	va_list ap;

	now = vsw_now_coarse_ms() / 1000;
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
		vsw_ctr_add(&port->rxq[rxq].st.drops[reason], n);
}

void vsw_port_txq_drop(struct vsw_port *port, unsigned txq,
		       enum vsw_drop_reason reason, unsigned n)
{
	if (txq < VSW_PORT_MAX_QUEUES && (unsigned)reason < VSW_DROP__COUNT)
		vsw_ctr_add(&port->txq[txq].st.drops[reason], n);
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
	/*
	 * Without a bound: the provider touches the port's queues next. The
	 * control loop calls a provider's handler only after a bounded
	 * sw_sync() found no thread stuck (vsw_switch_handle).
	 */
	sw_sync_wait(port->sw);
}
