/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC client on a Unix stream socket (see vsw_rpc.h): what vswctl uses.
 * One call at a time; every wait is bounded by the timeout given at connect.
 * The answer is checked like any peer input (framing bound, strict parse,
 * id and shape of the response).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vsw_rpc.h"
#include "vsw_time.h"

struct vsw_rpc_client {
	int fd;
	int timeout_ms;
	json_int_t next_id;
	struct vsw_rpc_rbuf in;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Wait for @events on the socket until @deadline; -ETIMEDOUT. */
static int cli_wait(struct vsw_rpc_client *cli, short events,
		    long long deadline)
{
	struct pollfd pfd = { .fd = cli->fd, .events = events };

	for (;;) {
		long long left = deadline - vsw_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int vsw_rpc_client_connect(const char *path, int timeout_ms,
			   struct vsw_rpc_client **out, char *err,
			   size_t errlen)
{
	struct vsw_rpc_client *cli;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	cli = calloc(1, sizeof(*cli));
	if (cli == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	strcpy(cli->path, path);
	cli->timeout_ms = timeout_ms;
	cli->next_id = 1;
	vsw_rpc_rbuf_init(&cli->in, VSW_RPC_MAX_RESPONSE);
	/* Blocking connect: a Unix socket connects or fails at once. */
	cli->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cli->fd < 0 ||
	    connect(cli->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot reach vswd at %s: %s%s", path,
			 strerror(-rc),
			 rc == -ENOENT || rc == -ECONNREFUSED ?
				 " (is vswd running? see --ctl)" :
				 "");
		if (cli->fd >= 0)
			close(cli->fd);
		vsw_rpc_rbuf_fini(&cli->in);
		free(cli);
		return rc;
	}
	*out = cli;
	return 0;
}

static int cli_send(struct vsw_rpc_client *cli, const char *buf, size_t len,
		    long long deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(cli->fd, buf + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = cli_wait(cli, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int cli_send_failed(const struct vsw_rpc_client *cli, int rc,
			   struct vsw_rpc_err *e)
{
	return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR, -rc,
			    "sending to vswd at %s: %s", cli->path,
			    strerror(-rc));
}

int vsw_rpc_client_call(struct vsw_rpc_client *cli, const char *method,
			json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	long long deadline = vsw_now_ms() + cli->timeout_ms;
	json_int_t id = cli->next_id++;
	const char *text;
	json_t *req, *msg;
	int rc, send_rc;
	size_t len;
	char *buf;

	*result = NULL;
	req = vsw_rpc_request_new(method, params, id);
	if (req == NULL)
		return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR, ENOMEM,
				    "out of memory");
	/*
	 * The server enforces its own request limit and says so in its
	 * answer; this bound only keeps the encoding finite.
	 */
	buf = vsw_rpc_encode(req, VSW_RPC_MAX_RESPONSE, &len);
	json_decref(req);
	if (buf == NULL)
		return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR, EMSGSIZE,
				    "request too large (max %u bytes)",
				    VSW_RPC_MAX_RESPONSE);
	send_rc = cli_send(cli, buf, len, deadline);
	free(buf);
	/*
	 * A server that refused the request part-way closes its end: read
	 * the answer it left before the close, report the send error only
	 * if there is none.
	 */
	if (send_rc < 0 && send_rc != -EPIPE && send_rc != -ECONNRESET)
		return cli_send_failed(cli, send_rc, e);
	for (;;) {
		ssize_t n;

		rc = vsw_rpc_rbuf_next(&cli->in, &text, &len);
		if (rc == 1)
			break;
		if (rc < 0)
			return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR, EMSGSIZE,
					    "answer from vswd longer than %u "
					    "bytes",
					    VSW_RPC_MAX_RESPONSE);
		rc = cli_wait(cli, POLLIN, deadline);
		if (rc < 0 && send_rc < 0)
			return cli_send_failed(cli, send_rc, e);
		if (rc < 0)
			return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR, -rc,
					    "waiting for vswd at %s: %s",
					    cli->path,
					    rc == -ETIMEDOUT ?
						    "no answer in time" :
						    strerror(-rc));
		n = vsw_rpc_rbuf_fill(&cli->in, cli->fd);
		if (n <= 0 && n != -EAGAIN && send_rc < 0)
			return cli_send_failed(cli, send_rc, e);
		if (n == 0)
			return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR,
					    ECONNRESET,
					    "vswd at %s closed the connection "
					    "without answering",
					    cli->path);
		if (n < 0 && n != -EAGAIN)
			return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR,
					    (int)-n, "reading from vswd: %s",
					    strerror((int)-n));
	}
	msg = vsw_rpc_parse(text, len, e);
	if (msg == NULL) {
		char why[VSW_RPC_MSG_MAX];

		snprintf(why, sizeof(why), "%s", e->message);
		return vsw_rpc_fail(e, VSW_RPC_INTERNAL_ERROR, EPROTO,
				    "malformed answer from vswd: %.400s", why);
	}
	rc = vsw_rpc_check_response(msg, id, result, e);
	json_decref(msg);
	return rc;
}

void vsw_rpc_client_close(struct vsw_rpc_client *cli)
{
	if (cli == NULL)
		return;
	close(cli->fd);
	vsw_rpc_rbuf_fini(&cli->in);
	free(cli);
}
