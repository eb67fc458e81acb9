/* SPDX-License-Identifier: MIT */
/*
 * vhost-user socket plumbing: listen / accept / connect on a Unix socket,
 * incremental non-blocking receive of one message with its SCM_RIGHTS fds,
 * replies, and the logger; and the message I/O both sides share
 * (vu_msg.h: vu_msg_send, vu_msg_take_fds).
 *
 * Security model: the receive path trusts nothing the peer sends. It never
 * reads past the current message (so fds are never attributed to the wrong
 * message), hands the header to the protocol layer's check before reading a
 * payload (so an unknown request or an oversized size is refused before its
 * bytes are read), accepts at most VSW_VU_MAX_FDS descriptors per message and
 * keeps track of every one it received so that the caller closes them all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vsw_unix.h"
#include "vu_msg.h"
#include "vu_priv.h"

void vu_log(const struct vsw_vu *vu, enum vsw_log_level level,
	    const char *fmt, ...)
{
	char line[320];
	int n;
	va_list ap;

	if (level > vu->log_level)
		return;
	n = snprintf(line, sizeof(line), "vhost-user %s: ",
		     vu->mode == VSW_VU_FD ? "fd" : vu->addr.sun_path);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (vu->log != NULL)
		vu->log(vu->log_opaque, level, line);
	else
		fprintf(stderr, "%s\n", line);
}

int vu_fail(struct vsw_vu *vu, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vu->why, sizeof(vu->why), fmt, ap);
	va_end(ap);
	return err;
}

int vu_sock_listen(struct vsw_vu *vu)
{
	struct stat st, st2;
	int fd, ret;

	/*
	 * Replace a stale socket from an earlier run, never any other file
	 * and never a socket somebody listens on (another port's, another
	 * program's, vswd's own control socket): -EADDRINUSE.
	 */
	ret = vsw_unix_clear_stale(&vu->addr);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&vu->addr, sizeof(vu->addr)) <
	    0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/*
	 * Mode and group before listen: nobody can connect before both hold
	 * (the umask should leave the fresh file closed to others meanwhile).
	 */
	if (lstat(vu->addr.sun_path, &st) < 0 ||
	    (vu->sock_mode != 0 && chmod(vu->addr.sun_path, vu->sock_mode) < 0) ||
	    (vu->sock_gid_set && chown(vu->addr.sun_path, (uid_t)-1,
				       vu->sock_gid) < 0) ||
	    listen(fd, 1) < 0) {
		ret = -errno;
		/* ours: bound by this call a moment ago */
		if (lstat(vu->addr.sun_path, &st2) == 0 &&
		    st2.st_dev == st.st_dev && st2.st_ino == st.st_ino)
			unlink(vu->addr.sun_path);
		close(fd);
		return ret;
	}
	vu->listen_fd = fd;
	vu->listen_dev = st.st_dev;
	vu->listen_ino = st.st_ino;
	return 0;
}

int vu_sock_accept(struct vsw_vu *vu)
{
	int fd = accept4(vu->listen_fd, NULL, NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	vu->conn_fd = fd;
	return 0;
}

int vu_sock_connect(struct vsw_vu *vu)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a Unix stream connect completes at once or fails at once (EAGAIN
	 * when the listener's backlog is full): no EINPROGRESS to track */
	if (connect(fd, (const struct sockaddr *)&vu->addr, sizeof(vu->addr)) <
	    0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	vu->conn_fd = fd;
	return 0;
}

void vu_rx_reset(struct vu_rx *rx)
{
	unsigned i;

	for (i = 0; i < rx->nfds; i++)
		if (rx->fds[i] >= 0)
			close(rx->fds[i]);
	rx->nfds = 0;
	rx->have = 0;
	rx->fds_overflow = false;
}

bool vu_msg_take_fds(struct msghdr *msg, int *fds, unsigned *n, unsigned max)
{
	struct cmsghdr *c;
	bool lost = false;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		size_t k, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (*n < max) {
				fds[(*n)++] = fd;
			} else {
				close(fd);
				lost = true;
			}
		}
	}
	/* the kernel dropped (and closed) fds that did not fit */
	return lost || (msg->msg_flags & MSG_CTRUNC);
}

ssize_t vu_msg_send(int fd, const struct vsw_vu_hdr *hdr, const void *payload,
		    uint32_t size, const int *fds, unsigned nfds, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VSW_VU_MAX_FDS)];
		struct cmsghdr align;
	} c;
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (nfds > VSW_VU_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&c, 0, sizeof(c));
		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int vu_sock_recv(struct vsw_vu *vu, int (*check_hdr)(struct vsw_vu *vu))
{
	struct vu_rx *rx = &vu->rx;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VSW_VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;

	for (;;) {
		size_t need = rx->have < VU_HDR_SIZE
				      ? VU_HDR_SIZE
				      : VU_HDR_SIZE + rx->hdr.size;
		struct iovec iov;
		struct msghdr msg;
		ssize_t n;
		int ret;

		if (rx->have == need)
			return 1;
		iov.iov_base = rx->buf + rx->have;
		iov.iov_len = need - rx->have;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(vu->conn_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return vu_fail(vu, -errno, "recvmsg: %s",
				       strerror(errno));
		}
		if (vu_msg_take_fds(&msg, rx->fds, &rx->nfds, VSW_VU_MAX_FDS))
			rx->fds_overflow = true;
		if (n == 0)
			return -ECONNRESET;
		rx->have += (size_t)n;
		if (rx->have == VU_HDR_SIZE) {
			/* refuse before reading a payload we would not use */
			ret = check_hdr(vu);
			if (ret < 0)
				return ret;
		}
	}
}

int vu_sock_send(struct vsw_vu *vu, uint32_t request, const void *payload,
		 uint32_t size)
{
	struct vsw_vu_hdr h = {
		.request = request,
		.flags = VSW_VU_FLAG_VERSION | VSW_VU_FLAG_REPLY,
		.size = size,
	};
	ssize_t n;

	if (size > VU_PAYLOAD_MAX)
		return vu_fail(vu, -EMSGSIZE, "reply of %u bytes", size);
	n = vu_msg_send(vu->conn_fd, &h, payload, size, NULL, 0,
			MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return vu_fail(vu, (int)n, "sending reply: %s",
			       strerror((int)-n));
	/* replies are tiny: a short write means the peer stopped reading */
	if ((size_t)n != sizeof(h) + size)
		return vu_fail(vu, -EAGAIN, "short reply write (%zd bytes)", n);
	return 0;
}
