/* SPDX-License-Identifier: MIT */
/*
 * vswd internals shared by vswd.c (process, logging, main loop) and
 * vswd_ctl.c (configuration: restore, defaults, the JSON-RPC methods).
 */
#ifndef VSWD_H
#define VSWD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <vsw/switch.h>

#include "vsw_config.h"
#include "vsw_rpc.h"

#define VSWD_VERSION "0.1.0"
/* Ports that failed to open at restore are retried this often. */
#define VSWD_RETRY_MS 2000

/* A stored port the switch could not open (its peer is missing). */
struct vswd_pending {
	struct vsw_cfg_port port;
	char why[256];
};

struct vswd {
	struct vsw_switch *sw;
	struct vsw_cfg *cfg;
	struct vsw_rpc_server *rpc;
	enum vsw_log_level log_level;
	bool log_prio;		/* "<N>" prefixes for the journal */
	char db_path[PATH_MAX];
	char ctl_path[108];
	char run_dir[PATH_MAX];
	/* Configured ports not in the switch, retried every VSWD_RETRY_MS. */
	struct vswd_pending *pending;
	unsigned int n_pending;
	uint64_t next_retry_ms;
	uint64_t next_expire_ms; /* flow timeouts, checked every second */
};

void vswd_log(const struct vswd *d, enum vsw_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t vswd_now_ms(void);

/* The JSON-RPC methods (vswd_ctl.c). */
extern const struct vsw_rpc_method vswd_methods[];
extern const size_t vswd_n_methods;

/*
 * Put the stored configuration into the switch: options, bridges, ports (a
 * port that fails to open goes to the pending list). 0 or negative errno.
 */
int vswd_restore(struct vswd *d);
/* On a store never initialized: br0 with a tap and a vhostuser port. */
int vswd_defaults(struct vswd *d);
/* Retry the pending ports whose time has come. */
void vswd_retry_pending(struct vswd *d);
/* Print the socket paths and the QEMU command line of each vhostuser port. */
void vswd_print_banner(struct vswd *d);
void vswd_free_pending(struct vswd *d);

/*
 * Request parameter "bridge" (vswd_ctl.c): a valid name of an existing
 * bridge. Absent is an error when required, else 0 with *br NULL.
 */
int vswd_bridge_param(struct vswd *d, json_t *params, bool required,
		      const char **br, struct vsw_rpc_err *e);

/* Flow tables (vswd_flow.c). */
/* Put each bridge's stored flow table into the switch (after the ports). */
int vswd_flows_restore(struct vswd *d);
/* Expire idle / hard timeouts, removing the flows from the store too. */
void vswd_flows_expire(struct vswd *d);
/* JSON-RPC flow.add, flow.del, flow.mod, flow.dump, dpif.stats,
 * pmd.stats, pmd.stats.clear. */
int vswd_m_flow_add(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e);
int vswd_m_flow_del(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e);
int vswd_m_flow_mod(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e);
int vswd_m_flow_dump(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e);
int vswd_m_dpif_stats(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e);
int vswd_m_pmd_stats(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e);
int vswd_m_pmd_stats_clear(void *opaque, json_t *params, json_t **result,
			   struct vsw_rpc_err *e);

/* Control socket options (vswd_ctlsock.c). */
#define VSWD_CTL_IDS 64
#define VSWD_CTL_MAX_CLIENTS_MAX 65536
enum {
	VSWD_OPT_CTL_MODE = 0x100,
	VSWD_OPT_CTL_GROUP,
	VSWD_OPT_CTL_USERS,
	VSWD_OPT_CTL_GROUPS,
	VSWD_OPT_CTL_RO_GROUPS,
	VSWD_OPT_CTL_MAX_CLIENTS,
};
#define VSWD_CTL_LONGOPTS                                                   \
	{ "ctl-mode", required_argument, NULL, VSWD_OPT_CTL_MODE },         \
	{ "ctl-group", required_argument, NULL, VSWD_OPT_CTL_GROUP },       \
	{ "ctl-allow-users", required_argument, NULL, VSWD_OPT_CTL_USERS }, \
	{ "ctl-allow-groups", required_argument, NULL,                     \
	  VSWD_OPT_CTL_GROUPS },                                            \
	{ "ctl-ro-groups", required_argument, NULL,                        \
	  VSWD_OPT_CTL_RO_GROUPS },                                         \
	{ "ctl-max-clients", required_argument, NULL,                      \
	  VSWD_OPT_CTL_MAX_CLIENTS }

struct vswd_ctlsock {
	mode_t mode;
	gid_t group; /* (gid_t)-1: vswd's */
	uid_t uids[VSWD_CTL_IDS];
	gid_t gids[VSWD_CTL_IDS], ro[VSWD_CTL_IDS];
	size_t n_uids, n_gids, n_ro;
	unsigned int max_clients; /* 0: the server's default */
};

void vswd_ctlsock_init(struct vswd_ctlsock *o);
/* One VSWD_OPT_CTL_* option: 0, or -1 after a message (usage error). */
int vswd_ctlsock_option(struct vswd_ctlsock *o, int opt, const char *arg);
/*
 * Once d->rpc exists: raise the open files limit, then the limits, mode,
 * group and access lists of the socket. 0 or a negative errno (logged).
 */
int vswd_ctlsock_apply(struct vswd *d, const struct vswd_ctlsock *o);
/* JSON-RPC control.stats: the control server's counters and limits. */
int vswd_m_ctl_stats(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e);

#endif /* VSWD_H */
