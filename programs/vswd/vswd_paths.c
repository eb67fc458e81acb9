/* SPDX-License-Identifier: MIT */
/*
 * Which files a port may make vswd touch.
 *
 * A vhostuser port makes vswd bind a socket at a path that a control
 * client chose, and a vhostuserclient port makes it connect to one. The
 * binding side is the dangerous one: vswd replaces a stale socket file
 * there and removes the socket when the port goes. So server sockets live
 * in folders that are vswd's own: the run dir and the folders the operator
 * named with --vhost-sock-dir on vswd's command line (never per call). A
 * path is checked as the kernel will resolve it: its folder is resolved
 * with realpath() (every symlink followed) and must be one of those folders
 * or below one; "." and ".." components are refused before that, so that
 * what the operator reads in `show` is where the socket is. The socket
 * file itself is never followed: vsw_vu_create() refuses anything there
 * that is not a socket, and a socket that answers a connect.
 *
 * Neither kind of port may name vswd's control socket or its database
 * (with its -wal, -shm and -journal companions): both are compared by
 * resolved folder and name, and by device and inode where they exist.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vswd.h"

const char *const vswd_db_suffix[VSWD_DB_FILES] = { "", "-wal", "-shm",
						     "-journal" };

int vswd_sock_dir_add(struct vswd *d, const char *dir, char *err, size_t len)
{
	char *r;

	if (d->n_sock_dirs == VSWD_MAX_SOCK_DIRS + 1) {
		snprintf(err, len, "at most %d --vhost-sock-dir folders",
			 VSWD_MAX_SOCK_DIRS);
		return -E2BIG;
	}
	if (dir[0] != '/') {
		snprintf(err, len, "socket folder '%s' is relative: give an "
			 "absolute path", dir);
		return -EINVAL;
	}
	r = realpath(dir, NULL);
	if (r == NULL) {
		int rc = -errno;

		snprintf(err, len, "socket folder %s: %s", dir,
			 strerror(errno));
		return rc;
	}
	d->sock_dirs[d->n_sock_dirs++] = r;
	return 0;
}

void vswd_sock_dirs_free(struct vswd *d)
{
	while (d->n_sock_dirs > 0)
		free(d->sock_dirs[--d->n_sock_dirs]);
}

/* Is folder @dir @top or below it (both resolved)? */
static bool path_below(const char *dir, const char *top)
{
	size_t n = strlen(top);

	if (strcmp(top, "/") == 0)
		return true;
	return strncmp(dir, top, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

/*
 * @path as "resolved folder" + "/" + last component into @out (the last
 * component is not followed). -ENOENT etc. from realpath, -ENAMETOOLONG.
 */
static int path_resolve_dir(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX], *slash, *r;
	int n;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return -EINVAL;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	r = realpath(dir, NULL);
	if (r == NULL)
		return -errno;
	n = snprintf(out, len, "%s/%s", strcmp(r, "/") == 0 ? "" : r,
		     strrchr(path, '/') + 1);
	free(r);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Same file: same resolved name, or same device and inode. */
static bool path_same(const char *a_resolved, const struct stat *a_st,
		      bool a_exists, const char *b)
{
	char rb[PATH_MAX];
	struct stat st;

	if (path_resolve_dir(b, rb, sizeof(rb)) == 0 &&
	    strcmp(a_resolved, rb) == 0)
		return true;
	return a_exists && stat(b, &st) == 0 && st.st_dev == a_st->st_dev &&
	       st.st_ino == a_st->st_ino;
}

/* One of vswd's own files: the control socket, the database, its journals. */
static const char *path_vswd_own(const struct vswd *d, const char *resolved)
{
	char name[PATH_MAX + 16];
	struct stat st;
	bool exists = stat(resolved, &st) == 0;
	unsigned int i;

	if (path_same(resolved, &st, exists, d->ctl_path))
		return "vswd's control socket";
	for (i = 0; i < VSWD_DB_FILES; i++) {
		snprintf(name, sizeof(name), "%s%s", d->db_path, vswd_db_suffix[i]);
		if (path_same(resolved, &st, exists, name))
			return "vswd's database";
	}
	return NULL;
}

int vswd_path_check(const struct vswd *d, const char *path, bool client,
		    char *err, size_t len)
{
	const char *kind = client ? "vhostuserclient" : "vhostuser";
	char resolved[PATH_MAX];
	const char *p, *own;
	unsigned int i;
	int rc;

	if (path[0] != '/') {
		snprintf(err, len, "%s: socket path '%s' is relative; give an "
			 "absolute path", kind, path);
		return -EINVAL;
	}
	/* every component: not empty at the end, not "." nor ".." */
	for (p = path; *p != '\0';) {
		const char *c = p + 1, *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.') ||
		    (n == 0 && end == NULL)) {
			snprintf(err, len, "%s: socket path '%s': no '.', "
				 "'..' or trailing '/' allowed", kind, path);
			return -EINVAL;
		}
		p = c + n;
	}
	rc = path_resolve_dir(path, resolved, sizeof(resolved));
	if (rc < 0) {
		snprintf(err, len, "%s: socket path %s: its folder: %s", kind,
			 path, strerror(-rc));
		return rc;
	}
	own = path_vswd_own(d, resolved);
	if (own != NULL) {
		snprintf(err, len, "%s: %s is %s; refusing it", kind, path, own);
		return -EPERM;
	}
	if (client)
		return 0;
	/* the folder of the resolved name: cut at its last '/' */
	*strrchr(resolved, '/') = '\0';
	for (i = 0; i < d->n_sock_dirs; i++)
		if (path_below(resolved[0] ? resolved : "/", d->sock_dirs[i]))
			return 0;
	rc = snprintf(err, len, "%s: socket path %s is outside the folders "
		      "allowed for sockets (%s", kind, path,
		      d->n_sock_dirs ? d->sock_dirs[0] : "none");
	for (i = 1; i < d->n_sock_dirs && rc > 0 && (size_t)rc < len; i++)
		rc += snprintf(err + rc, len - (size_t)rc, ", %s",
			       d->sock_dirs[i]);
	if (rc > 0 && (size_t)rc < len)
		snprintf(err + rc, len - (size_t)rc,
			 "); vswd --vhost-sock-dir DIR allows another");
	return -EPERM;
}
