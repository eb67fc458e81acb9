/* SPDX-License-Identifier: MIT */
/*
 * vswd: the vsw switch daemon.
 *
 *   vswd [--db FILE] [--ctl SOCKET] [--run-dir DIR] [--threads N]
 *        [--log-level err|warn|info|debug] [--new-db] [--user USER[:GROUP]]
 *        [--vhost-sock-dir DIR]... [--vhost-sock-mode MODE]
 *        [--vhost-sock-group GROUP]
 *        [--ctl-* (vswd_ctlsock.c)]
 *
 * Runs in the foreground. Opens the configuration store (refusing a damaged
 * or foreign file), starts the switch with the stored configuration (or,
 * the first time, a default bridge br0 with a tap port and a vhostuser
 * port), serves JSON-RPC on the control socket, and on SIGTERM / SIGINT
 * stops the data threads, removes its sockets and closes the store.
 *
 * One control thread runs everything here: the poll loop over the signalfd,
 * the control socket and the switch's provider fds. Exit status: 0 after a
 * clean shutdown, 1 if it could not start, 2 for a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vswd.h"

static void vswd_switch_log(void *arg, enum vsw_log_level level,
			    const char *msg)
{
	vswd_log_mod(arg, VSWD_LOG_SWITCH, level, "%s", msg);
}

/* mkdir -p for the folder that will hold @path (@is_dir: @path itself). */
static int vswd_mkdirs(const char *path, bool is_dir, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	if (!is_dir) {
		p = strrchr(buf, '/');
		if (p == NULL)
			return 0;
		*p = '\0';
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		/* the umask is 0077: a folder vswd makes gets @mode itself */
		if (mkdir(buf, mode) == 0)
			chmod(buf, mode);
		else if (errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (buf[0] != '\0') {
		if (mkdir(buf, mode) == 0)
			chmod(buf, mode);
		else if (errno != EEXIST)
			return -errno;
	}
	return 0;
}

static void vswd_usage(FILE *f)
{
	fprintf(f,
		"usage: vswd [--db FILE] [--ctl SOCKET] [--run-dir DIR] "
		"[--threads N]\n"
		"            [--log-level err|warn|info|debug] [--new-db]\n"
		"            [--user USER[:GROUP]] [--vhost-sock-dir DIR]...\n"
		"            [--vhost-sock-mode MODE] [--vhost-sock-group "
		"GROUP]\n"
		"            [--ctl-mode MODE] [--ctl-group GROUP] "
		"[--ctl-allow-users LIST]\n"
		"            [--ctl-allow-groups LIST] [--ctl-ro-groups LIST] "
		"[--ctl-max-clients N]\n\n"
		"--new-db: an existing zero-length --db file becomes a new "
		"configuration\n  (without it such a file is refused as "
		"damaged; a missing file is always\n  created).\n"
		"--user: after opening its files as root, run as USER "
		"with only\n  CAP_NET_ADMIN and CAP_NET_RAW.\n"
		"--vhost-sock-dir: vhostuser sockets may also be in DIR "
		"(default: only\n  in the run dir); repeatable.\n"
		"--vhost-sock-mode, --vhost-sock-group: of every vhostuser "
		"socket\n  (default 0660, vswd's group).\n"
		"Defaults as root: --db /var/lib/vsw/conf.db, "
		"--ctl /run/vsw/vswd.ctl,\n"
		"  --run-dir /run/vsw; otherwise under $XDG_STATE_HOME/vsw "
		"(db) and\n  $XDG_RUNTIME_DIR/vsw (socket, run dir). "
		"See docs/control.md.\n");
}

static int vswd_defaults_paths(struct vswd *d, const char *db,
			       const char *ctl, const char *run_dir)
{
	const char *xdg_run = getenv("XDG_RUNTIME_DIR");
	const char *xdg_state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char rundef[PATH_MAX], dbdef[PATH_MAX];

	if (geteuid() == 0) {
		snprintf(rundef, sizeof(rundef), "/run/vsw");
		snprintf(dbdef, sizeof(dbdef), "/var/lib/vsw/conf.db");
	} else {
		int n;

		if (xdg_run != NULL && xdg_run[0] == '/')
			n = snprintf(rundef, sizeof(rundef), "%s/vsw",
				     xdg_run);
		else
			n = snprintf(rundef, sizeof(rundef), "/tmp/vsw-%u",
				     (unsigned int)geteuid());
		if (n < 0 || (size_t)n >= sizeof(rundef))
			return -ENAMETOOLONG;
		if (xdg_state != NULL && xdg_state[0] == '/')
			n = snprintf(dbdef, sizeof(dbdef), "%s/vsw/conf.db",
				     xdg_state);
		else if (home != NULL && home[0] == '/')
			n = snprintf(dbdef, sizeof(dbdef),
				     "%s/.local/state/vsw/conf.db", home);
		else
			n = snprintf(dbdef, sizeof(dbdef), "%s/conf.db",
				     rundef);
		if (n < 0 || (size_t)n >= sizeof(dbdef))
			return -ENAMETOOLONG;
	}
	/*
	 * A relative run dir is made absolute now: vhostuser socket paths
	 * derived from it are stored, and must mean the same after a restart
	 * from another folder.
	 */
	if (run_dir != NULL && run_dir[0] != '/') {
		char cwd[PATH_MAX];
		int n;

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		n = snprintf(d->run_dir, sizeof(d->run_dir), "%s/%s", cwd,
			     run_dir);
		if (n < 0 || (size_t)n >= sizeof(d->run_dir))
			return -ENAMETOOLONG;
	} else if ((size_t)snprintf(d->run_dir, sizeof(d->run_dir), "%s",
				    run_dir ? run_dir : rundef) >=
		   sizeof(d->run_dir)) {
		return -ENAMETOOLONG;
	}
	if ((size_t)snprintf(d->db_path, sizeof(d->db_path), "%s",
			     db ? db : dbdef) >= sizeof(d->db_path))
		return -ENAMETOOLONG;
	if (ctl != NULL) {
		if (strlen(ctl) >= sizeof(d->ctl_path))
			return -ENAMETOOLONG;
		strcpy(d->ctl_path, ctl);
	} else if ((size_t)snprintf(d->ctl_path, sizeof(d->ctl_path),
				    "%s/vswd.ctl",
				    rundef) >= sizeof(d->ctl_path)) {
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Stored global options into the switch configuration. */
static void vswd_stored_options(struct vswd *d, struct vsw_switch_config *sc)
{
	char v[VSW_CFG_VALUE_MAX + 1];
	unsigned long n;
	char *end;

	if (vsw_cfg_option_get(d->cfg, "threads", v, sizeof(v)) == 0) {
		n = strtoul(v, &end, 10);
		if (*end == '\0' && n >= 1 && n <= VSW_SWITCH_MAX_THREADS)
			sc->n_threads = (unsigned int)n;
		else
			vswd_log(d, VSW_LOG_WARN,
				 "stored option threads=%s ignored", v);
	}
	if (vsw_cfg_option_get(d->cfg, "ageing", v, sizeof(v)) == 0) {
		n = strtoul(v, &end, 10);
		if (*end == '\0' && n >= 1 && n <= VSW_SWITCH_AGEING_MAX)
			sc->ageing_s = (unsigned int)n;
		else
			vswd_log(d, VSW_LOG_WARN,
				 "stored option ageing=%s ignored", v);
	}
	if (vsw_cfg_option_get(d->cfg, "poll", v, sizeof(v)) == 0)
		sc->force_poll = strcmp(v, "on") == 0;
	if (vsw_cfg_option_get(d->cfg, "spin", v, sizeof(v)) == 0) {
		n = strtoul(v, &end, 10);
		if (*end == '\0' && end != v && n <= VSW_SWITCH_SPIN_MAX_US)
			sc->spin_us = n ? (unsigned int)n : VSW_SWITCH_SPIN_OFF;
		else
			vswd_log(d, VSW_LOG_WARN,
				 "stored option spin=%s ignored", v);
	}
}

/* The poll loop; returns when a stop signal arrives. */
static int vswd_loop(struct vswd *d, int sigfd)
{
	struct pollfd *fds = NULL;
	unsigned int cap = 0;

	for (;;) {
		unsigned int n, m;
		int t, rt, ot, rc;

		n = vsw_switch_pollfds(d->sw, cap > 2 ? fds + 2 : NULL,
				       cap > 2 ? cap - 2 : 0);
		/* OpenFlow's fds after the switch's */
		m = vswd_ofp_pollfds(d, cap > n + 2 ? fds + n + 2 : NULL,
				     cap > n + 2 ? cap - n - 2 : 0);
		if (n + m + 2 > cap) {
			struct pollfd *p = realloc(fds,
						   (n + m + 18) * sizeof(*p));

			if (p == NULL) {
				free(fds);
				return -ENOMEM;
			}
			fds = p;
			cap = n + m + 18;
			continue;
		}
		fds[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = vsw_rpc_server_fd(d->rpc),
					  .events = POLLIN };
		t = vsw_switch_timeout_ms(d->sw);
		rt = vsw_rpc_server_timeout_ms(d->rpc);
		if (rt >= 0 && (t < 0 || rt < t))
			t = rt;
		if (d->n_pending > 0) {
			uint64_t now = vsw_now_ms();
			int r = d->next_retry_ms > now ?
					(int)(d->next_retry_ms - now) :
					0;

			if (t < 0 || r < t)
				t = r;
		}
		ot = vswd_ofp_timeout_ms(d);
		if (ot >= 0 && (t < 0 || ot < t))
			t = ot;
		rc = poll(fds, n + m + 2, t);
		if (rc < 0 && errno != EINTR) {
			vswd_log(d, VSW_LOG_ERR, "poll: %s", strerror(errno));
			free(fds);
			return -errno;
		}
		if (rc > 0 && (fds[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				vswd_log(d, VSW_LOG_INFO,
					 "%s received, shutting down",
					 strsignal((int)si.ssi_signo));
			free(fds);
			return 0;
		}
		vsw_switch_handle(d->sw, rc > 0 ? fds + 2 : NULL,
				  rc > 0 ? n : 0);
		vswd_ofp_handle(d, rc > 0 ? fds + n + 2 : NULL, rc > 0 ? m : 0);
		/* a drain's deadline (rt) needs a run even without input */
		if ((rc > 0 && (fds[1].revents & POLLIN)) || rt >= 0)
			vsw_rpc_server_run(d->rpc);
		if (d->n_pending > 0 && vsw_now_ms() >= d->next_retry_ms)
			vswd_retry_pending(d);
		/* the switch's own timeout wakes the loop at least every s */
		if (vsw_now_ms() >= d->next_expire_ms) {
			vswd_flows_expire(d);
			vswd_captures_expire(d);
			d->next_expire_ms = vsw_now_ms() + 1000;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "ctl", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "new-db", no_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "vhost-sock-dir", required_argument, NULL, 'S' },
		{ "vhost-sock-mode", required_argument, NULL, 'M' },
		{ "vhost-sock-group", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		VSWD_CTL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct vswd d = { .log_level = VSW_LOG_INFO,
			  .log_mod = { VSW_LOG_INFO, VSW_LOG_INFO,
				       VSW_LOG_INFO },
			  .vhost_sock_mode = 0660 };
	const char *sock_dirs[VSWD_MAX_SOCK_DIRS];
	unsigned int n_sock_dirs = 0, i;
	struct vsw_switch_config sc = { 0 };
	struct vswd_ctlsock ctlsock;
	const char *db = NULL, *ctl = NULL, *run_dir = NULL;
	unsigned long threads = 0;
	char err[1024];
	unsigned int cfg_flags = 0;
	bool created;
	sigset_t sigs;
	int opt, rc, lvl, sigfd = -1, status = 1;

	d.log_prio = !isatty(STDERR_FILENO);
	vswd_ctlsock_init(&ctlsock);
	while ((opt = getopt_long(argc, argv, "d:c:r:t:l:nu:S:M:G:hV",
				  longopts, NULL)) != -1) {
		unsigned long mode;
		char *end;

		switch (opt) {
		case 'd':
			db = optarg;
			break;
		case 'c':
			ctl = optarg;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 't':
			threads = strtoul(optarg, &end, 10);
			if (*end || end == optarg || threads < 1 ||
			    threads > VSW_SWITCH_MAX_THREADS) {
				fprintf(stderr,
					"vswd: --threads: 1..%d, got '%s'\n",
					VSW_SWITCH_MAX_THREADS, optarg);
				return 2;
			}
			break;
		case 'l':
			lvl = vswd_log_level_parse(optarg);
			if (lvl < 0) {
				fprintf(stderr,
					"vswd: --log-level: err, warn, info "
					"or debug, got '%s'\n",
					optarg);
				return 2;
			}
			vswd_log_set_all(&d, (enum vsw_log_level)lvl);
			break;
		case 'n':
			cfg_flags |= VSW_CFG_OPEN_EMPTY_OK;
			break;
		case 'u':
			if (vswd_user_parse(&d, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "vswd: %s\n", err);
				return 2;
			}
			break;
		case 'S':
			if (n_sock_dirs == VSWD_MAX_SOCK_DIRS) {
				fprintf(stderr, "vswd: --vhost-sock-dir: at "
					"most %d\n", VSWD_MAX_SOCK_DIRS);
				return 2;
			}
			sock_dirs[n_sock_dirs++] = optarg;
			break;
		case 'M':
			errno = 0;
			mode = strtoul(optarg, &end, 8);
			if (optarg[0] < '0' || optarg[0] > '7' || *end ||
			    errno || mode == 0 || mode > 0777) {
				fprintf(stderr, "vswd: --vhost-sock-mode: an "
					"octal mode 1..0777, got '%s'\n",
					optarg);
				return 2;
			}
			d.vhost_sock_mode = (unsigned int)mode;
			break;
		case 'G':
			if (vswd_group_parse(optarg, &d.vhost_sock_gid) < 0) {
				fprintf(stderr, "vswd: --vhost-sock-group: no "
					"group '%s'\n", optarg);
				return 2;
			}
			d.vhost_sock_gid_set = true;
			break;
		case 'h':
			vswd_usage(stdout);
			return 0;
		case 'V':
			printf("vswd %s\n", VSWD_VERSION);
			return 0;
		case VSWD_OPT_CTL_MODE ... VSWD_OPT_CTL_MAX_CLIENTS:
			if (vswd_ctlsock_option(&ctlsock, opt, optarg) < 0)
				return 2;
			break;
		default:
			vswd_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vswd: unexpected argument '%s'\n",
			argv[optind]);
		vswd_usage(stderr);
		return 2;
	}
	if (vswd_defaults_paths(&d, db, ctl, run_dir) < 0) {
		fprintf(stderr, "vswd: a path is too long (the control "
				"socket: at most 107 bytes)\n");
		return 2;
	}

	/*
	 * Block the stop signals before any thread exists, so that every
	 * data thread inherits the mask and only the signalfd sees them.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Files vswd creates are its own: the database 0600, sockets closed
	 * until their mode is set (vhostuser: --vhost-sock-mode; the control
	 * socket: its own), folders chmod'ed to their mode (vswd_mkdirs).
	 */
	umask(0077);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sigfd < 0) {
		vswd_log(&d, VSW_LOG_ERR, "signalfd: %s", strerror(errno));
		return 1;
	}

	rc = vswd_mkdirs(d.db_path, false, 0755);
	if (rc == 0)
		rc = vswd_mkdirs(d.run_dir, true, 0755);
	if (rc == 0)
		rc = vswd_mkdirs(d.ctl_path, false, 0755);
	if (rc < 0) {
		vswd_log(&d, VSW_LOG_ERR, "creating folders: %s",
			 strerror(-rc));
		goto out;
	}
	rc = vswd_sock_dir_add(&d, d.run_dir, err, sizeof(err));
	for (i = 0; rc == 0 && i < n_sock_dirs; i++)
		rc = vswd_sock_dir_add(&d, sock_dirs[i], err, sizeof(err));
	if (rc < 0) {
		vswd_log(&d, VSW_LOG_ERR, "--vhost-sock-dir: %s", err);
		goto out;
	}
	rc = vsw_cfg_open(d.db_path, cfg_flags, &d.cfg, &created, err,
			  sizeof(err));
	if (rc < 0) {
		vswd_log(&d, VSW_LOG_ERR, "%s", err);
		goto out;
	}
	vswd_log(&d, VSW_LOG_INFO, "configuration %s %s", d.db_path,
		 created ? "created" : "opened");
	vswd_db_private(&d);

	/*
	 * The control socket before anything is restored: a stored port can
	 * then never take its path, and a port that fails is reported while
	 * vswd runs (the pending list), never fatal.
	 */
	rc = vsw_rpc_server_create(d.ctl_path, vswd_methods, vswd_n_methods,
				   &d, &d.rpc, err, sizeof(err));
	if (rc < 0) {
		vswd_log(&d, VSW_LOG_ERR, "control socket: %s", err);
		goto out;
	}
	rc = vswd_ctlsock_apply(&d, &ctlsock);
	if (rc < 0)
		goto out;
	/* before any thread: capabilities are per thread */
	rc = vswd_user_switch(&d, err, sizeof(err));
	if (rc < 0) {
		vswd_log(&d, VSW_LOG_ERR, "%s", err);
		goto out;
	}
	if (d.user.set)
		vswd_log(&d, VSW_LOG_INFO,
			 "running as %s (uid %u, gid %u) with CAP_NET_ADMIN "
			 "and CAP_NET_RAW only",
			 d.user.name, (unsigned int)getuid(),
			 (unsigned int)getgid());

	vswd_stored_options(&d, &sc);
	if (threads)
		sc.n_threads = (unsigned int)threads;
	sc.log = vswd_switch_log;
	sc.log_arg = &d;
	rc = vsw_switch_create(&sc, &d.sw);
	if (rc < 0) {
		vswd_log(&d, VSW_LOG_ERR, "starting the switch: %s",
			 strerror(-rc));
		goto out;
	}
	rc = vswd_restore(&d);
	if (rc == 0)
		rc = vswd_defaults(&d);
	if (rc == 0)
		rc = vswd_ofp_init(&d);
	if (rc < 0)
		goto out;
	vswd_ofp_restore(&d);
	vswd_print_banner(&d);
	rc = vswd_loop(&d, sigfd);
	status = rc < 0 ? 1 : 0;
out:
	/* Control socket first (no new requests), then threads and ports. */
	vsw_rpc_server_destroy(d.rpc);
	vswd_ofp_fini(&d);
	vswd_captures_free(&d);
	vsw_switch_destroy(d.sw);
	vsw_cfg_close(d.cfg);
	vswd_free_pending(&d);
	vswd_sock_dirs_free(&d);
	if (sigfd >= 0)
		close(sigfd);
	if (status == 0)
		vswd_log(&d, VSW_LOG_INFO, "stopped");
	return status;
}
