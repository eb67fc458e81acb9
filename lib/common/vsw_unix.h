/* SPDX-License-Identifier: MIT */
/*
 * A Unix socket path made free for bind(), the tree's one copy (the
 * vhost-user back end and front end, the control server): an earlier run's
 * socket file that nobody answers on is replaced; a socket somebody
 * listens on (another process's, another port's, vswd's own) and any file
 * that is not a socket are never touched.
 */
#ifndef VSW_UNIX_H
#define VSW_UNIX_H

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Does somebody answer on @addr? 1 yes, 0 no (stale), or -errno. */
static inline int vsw_unix_probe(const struct sockaddr_un *addr)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	/* EAGAIN: a listener whose backlog is full is alive too */
	ret = ret == 0 || errno == EAGAIN ? 1 :
	      errno == ECONNREFUSED	   ? 0 :
					     -errno;
	close(fd);
	return ret;
}

/*
 * 0: nothing at @addr's path (any more: a stale socket was unlinked).
 * -EADDRINUSE: a socket somebody answers on. -EEXIST: a file that is not a
 * socket. Else -errno of lstat / the probe / unlink.
 */
static inline int vsw_unix_clear_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	int ret;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	ret = vsw_unix_probe(addr);
	if (ret != 0)
		return ret > 0 ? -EADDRINUSE : ret;
	if (unlink(addr->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

#endif /* VSW_UNIX_H */
