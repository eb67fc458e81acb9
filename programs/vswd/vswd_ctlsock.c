/* SPDX-License-Identifier: MIT */
/*
 * vswd's control socket options: who may connect (file mode and group),
 * whose credentials get full or read-only access (checked by the server
 * with SO_PEERCRED at accept), and how many clients it takes.
 *
 *   --ctl-mode MODE            socket file mode, octal (default 0660)
 *   --ctl-group GROUP          socket file group (default: vswd's)
 *   --ctl-allow-users LIST     users (names or uids) with full access
 *   --ctl-allow-groups LIST    groups (names or gids) with full access
 *   --ctl-ro-groups LIST       groups with read-only access
 *   --ctl-max-clients N        connections at once (default 4096)
 *
 * LIST is comma-separated; each option may be given more than once. Names
 * are resolved when the option is read (before any thread exists).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "vswd.h"

/* File descriptors kept for everything but control clients. */
#define VSWD_CTL_FD_RESERVE 256

void vswd_ctlsock_init(struct vswd_ctlsock *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = 0660;
	o->group = (gid_t)-1;
}

/* A number, or the id of name @s: 0, or -1 with a message. */
static int vswd_ctlsock_id(const char *opt, const char *s, bool user,
			   unsigned int *id)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0 && v < (unsigned int)-1) {
		*id = (unsigned int)v;
		return 0;
	}
	if (user) {
		struct passwd *pw = getpwnam(s);

		if (pw != NULL) {
			*id = pw->pw_uid;
			return 0;
		}
	} else {
		struct group *gr = getgrnam(s);

		if (gr != NULL) {
			*id = gr->gr_gid;
			return 0;
		}
	}
	fprintf(stderr, "vswd: %s: no %s '%s'\n", opt, user ? "user" : "group",
		s);
	return -1;
}

/* Append the ids of comma-separated @arg to @list (@n of VSWD_CTL_IDS). */
static int vswd_ctlsock_list(const char *opt, const char *arg, bool user,
			     unsigned int *list, size_t *n)
{
	char buf[1024], *tok, *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf)) {
		fprintf(stderr, "vswd: %s: list too long\n", opt);
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*n == VSWD_CTL_IDS) {
			fprintf(stderr, "vswd: %s: at most %d entries\n", opt,
				VSWD_CTL_IDS);
			return -1;
		}
		if (vswd_ctlsock_id(opt, tok, user, &list[*n]) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

int vswd_ctlsock_option(struct vswd_ctlsock *o, int opt, const char *arg)
{
	unsigned long v;
	char *end;

	switch (opt) {
	case VSWD_OPT_CTL_MODE:
		errno = 0;
		v = strtoul(arg, &end, 8);
		if (*arg == '\0' || *end != '\0' || errno != 0 || v > 0777) {
			fprintf(stderr,
				"vswd: --ctl-mode: an octal mode 0..0777, "
				"got '%s'\n",
				arg);
			return -1;
		}
		o->mode = (mode_t)v;
		return 0;
	case VSWD_OPT_CTL_GROUP:
		return vswd_ctlsock_id("--ctl-group", arg, false, &o->group);
	case VSWD_OPT_CTL_USERS:
		return vswd_ctlsock_list("--ctl-allow-users", arg, true,
					 o->uids, &o->n_uids);
	case VSWD_OPT_CTL_GROUPS:
		return vswd_ctlsock_list("--ctl-allow-groups", arg, false,
					 o->gids, &o->n_gids);
	case VSWD_OPT_CTL_RO_GROUPS:
		return vswd_ctlsock_list("--ctl-ro-groups", arg, false, o->ro,
					 &o->n_ro);
	case VSWD_OPT_CTL_MAX_CLIENTS:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || errno != 0 || v < 1 ||
		    v > VSWD_CTL_MAX_CLIENTS_MAX) {
			fprintf(stderr,
				"vswd: --ctl-max-clients: 1..%d, got '%s'\n",
				VSWD_CTL_MAX_CLIENTS_MAX, arg);
			return -1;
		}
		o->max_clients = (unsigned int)v;
		return 0;
	default:
		return -1;
	}
}

static void vswd_ctlsock_log(void *arg, const char *msg)
{
	vswd_log_mod(arg, VSWD_LOG_CONTROL, VSW_LOG_WARN, "%s", msg);
}

int vswd_ctlsock_apply(struct vswd *d, const struct vswd_ctlsock *o)
{
	struct vsw_rpc_access acc = {
		.mode = o->mode,
		.group = o->group,
		.uids = o->uids,
		.n_uids = o->n_uids,
		.gids = o->gids,
		.n_gids = o->n_gids,
		.ro_gids = o->ro,
		.n_ro_gids = o->n_ro,
	};
	struct vsw_rpc_limits lim;
	struct rlimit rl;
	char err[512];
	int rc;

	vsw_rpc_server_get_limits(d->rpc, &lim);
	if (o->max_clients)
		lim.max_clients = o->max_clients;
	/*
	 * Every client is a file descriptor: take the hard limit (a unit's
	 * soft default is often 1024), and hold the table under what is left
	 * after the ports' share, so that a full table answers "busy" rather
	 * than failing accept(2).
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			struct rlimit want = { rl.rlim_max, rl.rlim_max };

			if (setrlimit(RLIMIT_NOFILE, &want) == 0)
				rl = want;
		}
		if (rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)lim.max_clients + 2 *
						    VSWD_CTL_FD_RESERVE) {
			unsigned int n = rl.rlim_cur > 3 * VSWD_CTL_FD_RESERVE ?
					 (unsigned int)(rl.rlim_cur -
							2 * VSWD_CTL_FD_RESERVE) :
					 VSWD_CTL_FD_RESERVE / 4;

			vswd_log(d, VSW_LOG_WARN,
				 "control socket: %u clients at most (open "
				 "files limit %llu)",
				 n, (unsigned long long)rl.rlim_cur);
			lim.max_clients = n;
		}
	}
	vsw_rpc_server_set_limits(d->rpc, &lim);
	vsw_rpc_server_set_log(d->rpc, vswd_ctlsock_log, d);
	rc = vsw_rpc_server_set_access(d->rpc, &acc, err, sizeof(err));
	if (rc < 0) {
		vswd_log(d, VSW_LOG_ERR, "control socket: %s", err);
		return rc;
	}
	vswd_log(d, VSW_LOG_INFO,
		 "control socket %s: mode %04o, %s; %u clients at most",
		 d->ctl_path, (unsigned int)o->mode,
		 o->n_uids || o->n_gids || o->n_ro ?
			 "access by the uid / gid lists" :
			 "full access for whoever can connect",
		 lim.max_clients);
	return 0;
}

int vswd_m_ctl_stats(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e)
{
	static const char *const known[] = { NULL };
	struct vswd *d = opaque;
	struct vsw_rpc_server_stats st;
	struct vsw_rpc_limits lim;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	vsw_rpc_server_stats(d->rpc, &st);
	vsw_rpc_server_get_limits(d->rpc, &lim);
	*result = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"conns", (json_int_t)st.conns, "out_bytes",
		(json_int_t)st.out_bytes, "accepted", (json_int_t)st.accepted,
		"busy", (json_int_t)st.busy, "refused", (json_int_t)st.refused,
		"evicted", (json_int_t)st.evicted, "idle_closed",
		(json_int_t)st.idle_closed, "read_timeouts",
		(json_int_t)st.read_timeouts, "slow_readers",
		(json_int_t)st.slow_readers, "batches_refused",
		(json_int_t)st.batches_refused, "denied_calls",
		(json_int_t)st.denied_calls, "limits", "max_clients",
		(json_int_t)lim.max_clients, "idle_ms", (json_int_t)lim.idle_ms,
		"read_ms", (json_int_t)lim.read_ms, "write_ms",
		(json_int_t)lim.write_ms, "max_batch",
		(json_int_t)lim.max_batch, "out_max", (json_int_t)lim.out_max,
		"out_total", (json_int_t)lim.out_total);
	return *result ? 0 : vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
}
