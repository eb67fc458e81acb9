/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the switch's side of vsw/port.h (struct vsw_port, the
 * accessors, option helpers, drop counters, quiesce), so that the port
 * providers can be driven through their ops directly: the test thread is
 * the data thread, a helper thread may be the control thread.
 *
 * Also (test_ports_net.h): network namespace / veth helpers (shell
 * commands, every one checked) and raw-frame helpers shared by the
 * provider tests.
 */
#ifndef TEST_PORTS_HARNESS_H
#define TEST_PORTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/pkt.h>
#include <vsw/port.h>

#include "test_ports_net.h"

/* Open a port of ops (id 1); NULL on failure with the message in err. */
struct vsw_port *th_port_open(const struct vsw_port_ops *ops,
			      const char *name,
			      const struct vsw_port_opt *opts, unsigned n_opts,
			      char *err, size_t err_len, int *ret);
void th_port_close(struct vsw_port *port);

/* Data ops, serialised against th_port_quiesce (the test's grace period). */
unsigned th_port_recv(struct vsw_port *port, unsigned rxq,
		      struct vsw_pkt_pool *pool, struct vsw_pkt **pkts,
		      unsigned n);
unsigned th_port_send(struct vsw_port *port, unsigned txq,
		      struct vsw_pkt *const *pkts, unsigned n);

/* Drops counted by the provider. */
uint64_t th_port_drops(const struct vsw_port *port, bool tx,
		       enum vsw_drop_reason r);
/* Whether any log line of the port contains s. */
bool th_port_logged(const struct vsw_port *port, const char *s);
/* Calls of vsw_port_changed(). */
unsigned th_port_changes(const struct vsw_port *port);

#endif /* TEST_PORTS_HARNESS_H */
