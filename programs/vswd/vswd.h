/* SPDX-License-Identifier: MIT */
/*
 * vswd internals shared by its files (the list and their direction
 * follow below the structures).
 */
#ifndef VSWD_H
#define VSWD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <vsw/switch.h>

#include "vsw_config.h"
#include "vsw_rpc.h"
#include "vsw_time.h"

#define VSWD_VERSION "0.1.0"
/*
 * Who logs (set-log-level MODULE): vswd itself, the switch and its port
 * providers (lib/switch, lib/ports, through the switch's log callback),
 * the control socket's server (refused, evicted, timed-out clients).
 */
enum vswd_log_module {
	VSWD_LOG_VSWD = 0,
	VSWD_LOG_SWITCH = 1,
	VSWD_LOG_CONTROL = 2,
	VSWD_LOG__NMOD
};

/* Ports that failed to open at restore are retried this often. */
#define VSWD_RETRY_MS 2000

/* Folders where vhostuser server sockets may be (--vhost-sock-dir). */
#define VSWD_MAX_SOCK_DIRS 8

/* Who vswd runs as after set-up (--user USER[:GROUP]), and its groups. */
struct vswd_user {
	bool set;
	uid_t uid;
	gid_t gid;
	gid_t groups[64]; /* supplementary: USER's, plus --vhost-sock-group */
	int n_groups;
	char name[64];
};

/* A stored port the switch could not open (its peer is missing). */
struct vswd_pending {
	struct vsw_cfg_port port;
	char why[256];
};

struct vswd {
	struct vsw_switch *sw;
	struct vsw_cfg *cfg;
	struct vsw_rpc_server *rpc;
	/*
	 * Log levels by module (enum vswd_log_module), --log-level at start,
	 * set-log-level at run time: relaxed, read by any thread that logs.
	 */
	int log_mod[VSWD_LOG__NMOD];
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
	/*
	 * vhostuser server sockets: the run dir and the --vhost-sock-dir
	 * folders, resolved (realpath) at start; the mode and group every
	 * such socket gets (vswd_paths.c).
	 */
	char *sock_dirs[VSWD_MAX_SOCK_DIRS + 1];
	unsigned int n_sock_dirs;
	unsigned int vhost_sock_mode;
	bool vhost_sock_gid_set;
	gid_t vhost_sock_gid;
	struct vswd_user user;
	/* Packet captures running (vswd_capture.c). */
	struct vswd_capture *captures; /* VSWD_MAX_CAPTURES, on first use */
	unsigned int n_captures;
	uint32_t next_capture_id;
	struct vswd_ofp *ofp; /* OpenFlow controllers (vswd_ofp.c) */
};

void vswd_log(const struct vswd *d, enum vsw_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Files and what they depend on: vswd.c (main, the loop) on everything;
 * vswd_ctl.c (the method table, bridge / port / show / fdb / option
 * methods) on vswd_flow.c, vswd_stats.c, vswd_ctlsock.c, vswd_port.c and
 * vswd_params.c; vswd_start.c on vswd_port.c and vswd_flow.c; the leaves
 * vswd_log.c, vswd_params.c, vswd_port.c, vswd_paths.c, vswd_priv.c.
 */

/* Packet captures (vswd_capture.c): the methods, the idle expiry. */
#define VSWD_MAX_CAPTURES 64
/* A capture nobody reads for this long is stopped (its client is gone). */
#define VSWD_CAPTURE_IDLE_MS 10000
struct vswd_capture;
int vswd_m_capture_start(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e);
int vswd_m_capture_read(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e);
int vswd_m_capture_stop(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e);
/* Stop the captures idle for VSWD_CAPTURE_IDLE_MS (the loop, each s). */
void vswd_captures_expire(struct vswd *d);
/* Stop every capture (before the switch is destroyed). */
void vswd_captures_free(struct vswd *d);

/* vswctl metrics: the method "metrics" (vswd_metrics.c). */
int vswd_m_metrics(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e);

/* Longest error message of a switch or store call. */
#define VSWD_ERR_MAX 256

/* Log levels by name (vswd_log.c): "err", "warning", ... or -1. */
int vswd_log_level_parse(const char *name);
/* vswd_log() for a message of @mod, at that module's level. */
void vswd_log_mod(const struct vswd *d, enum vswd_log_module mod,
		  enum vsw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Every module at @level (--log-level). */
void vswd_log_set_all(struct vswd *d, enum vsw_log_level level);
/* "error", ... for a level; "vswd", ... for a module (NULL past it). */
const char *vswd_log_level_name(int level);
const char *vswd_log_module_name(int mod);
/* set-log-level: the method "log.set" (vswd_logctl.c). */
int vswd_m_log_set(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e);

/* The JSON-RPC methods (vswd_ctl.c). */
extern const struct vsw_rpc_method vswd_methods[];
extern const size_t vswd_n_methods;

/* Start (vswd_start.c). */
/*
 * Put the stored configuration into the switch: options, bridges, ports (a
 * port that fails to open goes to the pending list). 0 or negative errno.
 */
int vswd_restore(struct vswd *d);
/* On a store never initialized: br0 with a tap and a vhostuser port. */
int vswd_defaults(struct vswd *d);
/* Print the socket paths and the QEMU command line of each vhostuser port. */
void vswd_print_banner(struct vswd *d);

/* Stored ports in the switch (vswd_port.c). */
/*
 * Open @p in the switch with its options (and vswd's vhost-user socket
 * settings, its path checked), its OpenFlow number and VLANs; all or
 * nothing. 0 or -errno with @err set.
 */
int vswd_port_open(struct vswd *d, const struct vsw_cfg_port *p, char *err,
		   size_t len);
/*
 * The running port @p->name gets @p's options (set-port): all or nothing,
 * 0 or -errno with @err set (vsw_switch_set_port_opts).
 */
int vswd_port_set_opts(struct vswd *d, const struct vsw_cfg_port *p,
		       char *err, size_t len);
/* The switch's VLAN settings of @p from the stored ones. */
int vswd_port_set_vlan(struct vswd *d, const struct vsw_cfg_port *p,
		       char *err, size_t len);
struct vswd_pending *vswd_pending_find(struct vswd *d, const char *name);
void vswd_pending_remove(struct vswd *d, const char *name);
/* Keep @port (and why it failed) for a retry. 0 or -ENOMEM. */
int vswd_pending_add(struct vswd *d, const struct vsw_cfg_port *port,
		     const char *why);
/* Retry the pending ports whose time has come. */
void vswd_retry_pending(struct vswd *d);
void vswd_free_pending(struct vswd *d);

/* Request helpers of the method files (vswd_params.c). */
int vswd_bad_name(struct vsw_rpc_err *e, const char *what, const char *name);
/* Store error into the answer (rolled back): its errno is kept. */
int vswd_cfg_fail(struct vswd *d, struct vsw_rpc_err *e, int rc);
/* COMMIT; on failure the answer says the change was undone. */
int vswd_commit(struct vswd *d, struct vsw_rpc_err *e);
/* Required parameter "bridge": a valid name (not checked to exist). */
int vswd_bridge_name_param(json_t *params, const char **bridge,
			   struct vsw_rpc_err *e);
/* An error answer unless bridge @bridge is stored. */
int vswd_need_bridge(struct vswd *d, const char *bridge,
		     struct vsw_rpc_err *e);
/*
 * Request parameter "bridge": a valid name of an existing bridge. Absent
 * is an error when required, else 0 with *br NULL.
 */
int vswd_bridge_param(struct vswd *d, json_t *params, bool required,
		      const char **br, struct vsw_rpc_err *e);


/* Paths and privileges (vswd_paths.c, vswd_priv.c). */
/* The database's files: --db, then sqlite's journals beside it. */
#define VSWD_DB_FILES 4
extern const char *const vswd_db_suffix[VSWD_DB_FILES];
/*
 * May a vhostuser (@client false) or vhostuserclient port use @path? 0, or
 * -errno with the reason in @err: a server socket must be an absolute path
 * without "." or ".." components whose folder, symlinks resolved, is one of
 * d->sock_dirs or below one; neither kind may name vswd's control socket
 * or database.
 */
int vswd_path_check(const struct vswd *d, const char *path, bool client,
		    char *err, size_t len);
/* Resolve and add an allowed folder (the run dir first). 0 or -errno. */
int vswd_sock_dir_add(struct vswd *d, const char *dir, char *err,
		      size_t len);
void vswd_sock_dirs_free(struct vswd *d);
/* "USER[:GROUP]" or "UID[:GID]" into d->user. 0 or -errno, @err says. */
int vswd_user_parse(struct vswd *d, const char *spec, char *err, size_t len);
/* "GROUP" or "GID" into @gid. 0 or -ENOENT. */
int vswd_group_parse(const char *spec, gid_t *gid);
/*
 * Give vswd's own files (run dir, control socket, database and its
 * journal files) to d->user, then become it, keeping only CAP_NET_ADMIN
 * and CAP_NET_RAW. Before any thread exists. 0 or -errno, @err says.
 */
int vswd_user_switch(struct vswd *d, char *err, size_t len);
/* conf.db and its journals: 0600 unless as closed as 0640 already. */
void vswd_db_private(const struct vswd *d);

/* Flow tables (vswd_flow.c). */
/* Put each bridge's stored flow table into the switch (after the ports). */
int vswd_flows_restore(struct vswd *d);
/* Expire idle / hard timeouts, removing the flows from the store too. */
void vswd_flows_expire(struct vswd *d);
/*
 * One durable change of @br's table (switch and store, one transaction,
 * undone on a store failure) for callers other than JSON-RPC (OpenFlow).
 * *count: rules added (1), deleted or modified. 0 or -errno, @err says.
 */
enum vswd_flow_op { VSWD_FLOW_ADD, VSWD_FLOW_DEL, VSWD_FLOW_MOD };
int vswd_flow_change(struct vswd *d, const char *br, enum vswd_flow_op op,
		     const struct vsw_flow_spec *spec, bool strict,
		     int *count, char *err, size_t len);
/* JSON-RPC flow.add, flow.del, flow.mod, flow.dump (vswd_flow.c). */
int vswd_m_flow_add(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e);
int vswd_m_flow_del(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e);
int vswd_m_flow_mod(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e);
int vswd_m_flow_dump(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e);
/* vswd_stats.c */
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

/* OpenFlow (vswd_ofp.c): controllers per bridge in vswd's poll loop. */
struct pollfd;
/* Create d->ofp (empty). 0 or -ENOMEM. */
int vswd_ofp_init(struct vswd *d);
/* Close every listener and connection; free d->ofp. */
void vswd_ofp_fini(struct vswd *d);
/* Start each bridge's stored controllers (failures are logged). */
void vswd_ofp_restore(struct vswd *d);
/* Stop and forget @bridge's controllers (the bridge is going away). */
void vswd_ofp_bridge_gone(struct vswd *d, const char *bridge);
/* true: rules the switch removes are not reported (a table put back). */
void vswd_ofp_mute_removed(struct vswd *d, bool mute);
/*
 * A port of some bridge was added, deleted or changed (options, pending
 * or open): the controllers get PORT_STATUS before the loop sleeps.
 */
void vswd_ofp_ports_changed(struct vswd *d);
/* Fill fds[0..max) with what to poll; returns how many it needs. */
unsigned int vswd_ofp_pollfds(struct vswd *d, struct pollfd *fds,
			      unsigned int max);
/* ms until the next reconnect or keepalive; -1 none. */
int vswd_ofp_timeout_ms(struct vswd *d);
/* After poll: @fds as filled by vswd_ofp_pollfds (NULL, 0: timers). */
void vswd_ofp_handle(struct vswd *d, const struct pollfd *fds,
		     unsigned int n);
/* JSON-RPC controller.set, controller.del, controller.get. */
int vswd_m_controller_set(void *opaque, json_t *params, json_t **result,
			  struct vsw_rpc_err *e);
int vswd_m_controller_del(void *opaque, json_t *params, json_t **result,
			  struct vsw_rpc_err *e);
int vswd_m_controller_get(void *opaque, json_t *params, json_t **result,
			  struct vsw_rpc_err *e);
/* JSON-RPC fail_mode.set, fail_mode.del, fail_mode.get (vswd_ofp.c). */
int vswd_m_fail_mode_set(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e);
int vswd_m_fail_mode_del(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e);
int vswd_m_fail_mode_get(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e);

/* Port mirrors (vswd_mirror.c). */
/* The stored mirrors into the switch (failures are logged). */
int vswd_mirrors_restore(struct vswd *d);
/* JSON-RPC mirror.add, mirror.del, mirror.list. */
int vswd_m_mirror_add(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e);
int vswd_m_mirror_del(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e);
int vswd_m_mirror_list(void *opaque, json_t *params, json_t **result,
		       struct vsw_rpc_err *e);

#endif /* VSWD_H */
