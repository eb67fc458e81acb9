/* SPDX-License-Identifier: MIT */
/*
 * Least privilege: vswd --user USER[:GROUP].
 *
 * Started as root with --user, vswd does what needs root first (creates its
 * folders, opens the database, binds the control socket), gives its own
 * files to USER, and then, before any thread exists (capabilities are per
 * thread; the data threads inherit them at creation), becomes USER with
 * only two capabilities left in its permitted and effective sets:
 *   CAP_NET_ADMIN  TAP and internal ports (TUNSETIFF, link set-up), AF_XDP
 *                  (attaching the XDP program)
 *   CAP_NET_RAW    AF_PACKET and AF_XDP sockets
 * Every other capability leaves the bounding set too, no_new_privs is set
 * (vswd never executes anything), and the switch is checked: going back to
 * uid 0 must fail. Ports added later need no more than these two.
 * RLIMIT_MEMLOCK is lifted first (AF_XDP's umem is locked memory).
 *
 * Started by systemd with User= and AmbientCapabilities= instead, vswd is
 * already that user and this file has nothing to do.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vswd.h"

static const cap_value_t priv_keep[] = { CAP_NET_ADMIN, CAP_NET_RAW };

/* A number in 0..0xfffffffe (uid_t / gid_t range without -1), or -EINVAL. */
static int priv_id(const char *s, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end != '\0' || errno != 0 || *out >= 0xffffffffUL ? -EINVAL :
								     0;
}

int vswd_group_parse(const char *spec, gid_t *gid)
{
	struct group *gr;
	unsigned long n;

	if (priv_id(spec, &n) == 0) {
		*gid = (gid_t)n;
		return 0;
	}
	gr = getgrnam(spec);
	if (gr == NULL)
		return -ENOENT;
	*gid = gr->gr_gid;
	return 0;
}

int vswd_user_parse(struct vswd *d, const char *spec, char *err, size_t len)
{
	struct vswd_user *u = &d->user;
	char name[sizeof(u->name)];
	const char *group;
	struct passwd *pw;
	unsigned long n;

	group = strchr(spec, ':');
	if ((size_t)(group ? group - spec : (long)strlen(spec)) >=
		    sizeof(name) ||
	    spec[0] == ':' || spec[0] == '\0') {
		snprintf(err, len, "--user: USER[:GROUP], got '%s'", spec);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s",
		 (int)(group ? group - spec : (long)strlen(spec)), spec);
	pw = getpwnam(name);
	if (pw != NULL) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
	} else if (priv_id(name, &n) == 0) {
		/* a bare uid: its own group unless GROUP says otherwise */
		u->uid = (uid_t)n;
		u->gid = (gid_t)n;
		pw = getpwuid(u->uid);
	} else {
		snprintf(err, len, "--user: no user '%s'", name);
		return -ENOENT;
	}
	if (group != NULL && vswd_group_parse(group + 1, &u->gid) < 0) {
		snprintf(err, len, "--user: no group '%s'", group + 1);
		return -ENOENT;
	}
	u->n_groups = (int)(sizeof(u->groups) / sizeof(u->groups[0]));
	if (pw == NULL) {
		u->groups[0] = u->gid;
		u->n_groups = 1;
	} else if (getgrouplist(pw->pw_name, u->gid, u->groups,
				&u->n_groups) < 0) {
		snprintf(err, len, "--user: %s is in more than %zu groups",
			 pw->pw_name, sizeof(u->groups) / sizeof(u->groups[0]));
		return -E2BIG;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->set = true;
	return 0;
}

/* chown @path to the user if it exists; its group only if it was root's. */
static int priv_give(const struct vswd *d, const char *path, char *err,
		     size_t len)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (lchown(path, d->user.uid, st.st_gid == 0 ? d->user.gid : st.st_gid) <
	    0) {
		int rc = -errno;

		snprintf(err, len, "giving %s to %s: %s", path, d->user.name,
			 strerror(errno));
		return rc;
	}
	return 0;
}

static int priv_give_own_files(const struct vswd *d, char *err, size_t len)
{
	char name[PATH_MAX + 16];
	unsigned int i;
	int rc;

	rc = priv_give(d, d->run_dir, err, len);
	if (rc == 0)
		rc = priv_give(d, d->ctl_path, err, len);
	for (i = 0; rc == 0 && i < VSWD_DB_FILES;
	     i++) {
		snprintf(name, sizeof(name), "%s%s", d->db_path, vswd_db_suffix[i]);
		rc = priv_give(d, name, err, len);
	}
	return rc;
}

/* The supplementary groups: USER's, and the vhost-user socket group. */
static int priv_groups(struct vswd *d)
{
	struct vswd_user *u = &d->user;
	int i;

	if (d->vhost_sock_gid_set) {
		for (i = 0; i < u->n_groups; i++)
			if (u->groups[i] == d->vhost_sock_gid)
				break;
		if (i == u->n_groups &&
		    u->n_groups < (int)(sizeof(u->groups) / sizeof(u->groups[0])))
			u->groups[u->n_groups++] = d->vhost_sock_gid;
	}
	return setgroups((size_t)u->n_groups, u->groups) < 0 ? -errno : 0;
}

int vswd_user_switch(struct vswd *d, char *err, size_t len)
{
	const unsigned int n_keep = sizeof(priv_keep) / sizeof(priv_keep[0]);
	cap_t caps = NULL;
	cap_value_t c;
	int rc;

	if (!d->user.set)
		return 0;
	if (geteuid() == d->user.uid && getegid() == d->user.gid)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, len, "--user %s: only root can switch to "
			 "another user", d->user.name);
		return -EPERM;
	}
	rc = priv_give_own_files(d, err, len);
	if (rc < 0)
		return rc;
	/*
	 * AF_XDP's umem pages are locked memory, charged against
	 * RLIMIT_MEMLOCK once CAP_IPC_LOCK is gone: lift the limit while root
	 * may (the unit's LimitMEMLOCK=infinity does the same).
	 */
	if (setrlimit(RLIMIT_MEMLOCK,
		      &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }) < 0)
		vswd_log(d, VSW_LOG_WARN,
			 "RLIMIT_MEMLOCK stays as it is (%s): AF_XDP ports "
			 "may fall back to AF_PACKET",
			 strerror(errno));
	/* the bounding set first: dropping from it needs CAP_SETPCAP */
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		if (c == CAP_NET_ADMIN || c == CAP_NET_RAW)
			continue;
		if (cap_drop_bound(c) < 0 && errno != EINVAL) {
			rc = -errno;
			snprintf(err, len, "dropping capability %d: %s", c,
				 strerror(errno));
			return rc;
		}
	}
	rc = priv_groups(d);
	if (rc < 0) {
		snprintf(err, len, "setgroups: %s", strerror(-rc));
		return rc;
	}
	/* keep the permitted set across the uid change, then trim it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setresgid(d->user.gid, d->user.gid, d->user.gid) < 0 ||
	    setresuid(d->user.uid, d->user.uid, d->user.uid) < 0) {
		rc = -errno;
		snprintf(err, len, "becoming %s (uid %u gid %u): %s",
			 d->user.name, (unsigned int)d->user.uid,
			 (unsigned int)d->user.gid, strerror(errno));
		return rc;
	}
	caps = cap_init();
	if (caps == NULL ||
	    cap_set_flag(caps, CAP_PERMITTED, (int)n_keep, priv_keep,
			 CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, (int)n_keep, priv_keep,
			 CAP_SET) < 0 ||
	    cap_set_proc(caps) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, len, "keeping CAP_NET_ADMIN and CAP_NET_RAW: %s",
			 strerror(errno));
		cap_free(caps);
		return rc;
	}
	cap_free(caps);
	/* no way back: a uid 0 that could be regained was never given up */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, len, "still able to become root after --user");
		return -EPERM;
	}
	return 0;
}

void vswd_db_private(const struct vswd *d)
{
	char name[PATH_MAX + 16];
	struct stat st;
	unsigned int i;

	for (i = 0; i < VSWD_DB_FILES; i++) {
		snprintf(name, sizeof(name), "%s%s", d->db_path, vswd_db_suffix[i]);
		if (lstat(name, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & 0137) == 0)
			continue;
		if (chmod(name, 0600) == 0)
			vswd_log(d, VSW_LOG_WARN,
				 "%s was mode %04o: made 0600 (the "
				 "configuration is vswd's alone)",
				 name, (unsigned int)(st.st_mode & 07777));
	}
}
