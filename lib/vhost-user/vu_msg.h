/* SPDX-License-Identifier: MIT */
/*
 * Message I/O on a connected vhost-user socket, shared by the back end
 * (vu_backend.c through vu_socket.c) and the front end (vu_frontend.c):
 * one sendmsg of header, payload and descriptors, and the descriptors a
 * received message carried. Both in vu_socket.c.
 */
#ifndef VU_MSG_H
#define VU_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <vsw/vhost_user.h>

/*
 * Send @hdr, then @size bytes of @payload, with @nfds descriptors
 * (SCM_RIGHTS, at most VSW_VU_MAX_FDS) in one sendmsg; EINTR is retried.
 * @flags as for sendmsg. Bytes sent (maybe short), or -errno.
 */
ssize_t vu_msg_send(int fd, const struct vsw_vu_hdr *hdr, const void *payload,
		    uint32_t size, const int *fds, unsigned nfds, int flags);

/*
 * The SCM_RIGHTS descriptors of a received @msg appended to fds[*n ..]
 * (at most @max in all; those beyond are closed). True if any were lost:
 * beyond @max, or dropped by the kernel (MSG_CTRUNC).
 */
bool vu_msg_take_fds(struct msghdr *msg, int *fds, unsigned *n, unsigned max);

#endif /* VU_MSG_H */
