/* SPDX-License-Identifier: MIT */
/*
 * internal: the bridge's own interface in the host, as Open vSwitch has
 * it: a TAP interface named after the port, brought up when the port is
 * added and removed with it. Same data path as tap (tap.c); the only
 * option is the MTU (changeable on the running port).
 */
#include <errno.h>
#include <stddef.h>

#include "tap_priv.h"

static int internal_open(struct vsw_port *port,
			 const struct vsw_port_opt *opts, unsigned n_opts,
			 char *err, size_t err_len)
{
	static const char *const known[] = {"mtu", NULL};
	struct vsw_tap_params tp;
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	ret = vsw_port_opt_uint(opts, n_opts, "mtu", 0, 68, 65535, &tp.mtu,
				err, err_len);
	if (ret < 0)
		return ret;
	tp.ifname = vsw_port_name(port);
	return vsw_tap_open_params(port, &tp, err, err_len);
}

static int internal_reconfigure(struct vsw_port *port,
				const struct vsw_port_opt *old, unsigned n_old,
				const struct vsw_port_opt *opts,
				unsigned n_opts, char *err, size_t err_len)
{
	static const char *const known[] = {"mtu", NULL};
	static const char *const fixed[] = {NULL};

	return vsw_tap_reconfigure(port, old, n_old, opts, n_opts, known, fixed,
				   err, err_len);
}

const struct vsw_port_ops vsw_port_internal_ops = {
	.type = "internal",
	.open = internal_open,
	.close = vsw_tap_close,
	.n_rxq = vsw_tap_n_queues,
	.n_txq = vsw_tap_n_queues,
	.ctl_fd = vsw_gone_ctl_fd,
	.ctl_timeout_ms = vsw_gone_ctl_timeout_ms,
	.ctl_handle = vsw_gone_ctl_handle,
	.status = vsw_tap_status,
	.hwaddr = vsw_gone_hwaddr,
	.reconfigure = internal_reconfigure,
	.recv = vsw_tap_recv,
	.send = vsw_tap_send,
	.rxq_wait_fd = vsw_tap_rxq_wait_fd,
	.rxq_arm = vsw_tap_rxq_arm,
	.rxq_disarm = vsw_tap_rxq_disarm,
};
