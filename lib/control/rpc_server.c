/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC server on a Unix stream socket (see vsw_rpc.h).
 *
 * Security model: any process that may open the socket (mode 0660, so root
 * and the socket's group) is a client, and a client may be hostile. It is
 * held to VSW_RPC_MAX_CLIENTS connections, VSW_RPC_MAX_REQUEST bytes per
 * request and a bounded output queue; a client that breaks the framing or
 * does not read its answers is disconnected. Requests of one connection are
 * answered in order; while answers are queued, nothing more is read from
 * that connection (back-pressure instead of an unbounded queue).
 *
 * A connection dropped for breaking the framing (a request over the limit)
 * first gets its error answer, then a shut-down write side, then its input
 * read and thrown away until the client closes, for at most SRV_DRAIN_MS
 * and SRV_DRAIN_MAX bytes. Closing a Unix socket with unread input resets
 * the peer (ECONNRESET), and the client would see that instead of our
 * answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsw_rpc.h"
#include "vsw_time.h"

#define SRV_OUT_MAX (2 * (size_t)VSW_RPC_MAX_RESPONSE)
#define SRV_DRAIN_MS 500
#define SRV_DRAIN_MAX (4 * (size_t)VSW_RPC_MAX_REQUEST)

struct srv_conn {
	int fd;
	struct vsw_rpc_rbuf in;
	char *out;
	size_t out_len, out_off;
	bool closing;  /* close once the output is flushed */
	bool reject;   /* drain instead, once the output is flushed */
	bool draining; /* write side shut, discarding input */
	size_t drained;
	long long drain_end_ms;
};

struct vsw_rpc_server {
	int lfd, epfd;
	const struct vsw_rpc_method *methods;
	size_t n_methods;
	void *opaque;
	dev_t dev;
	ino_t ino;
	struct sockaddr_un addr;
	struct srv_conn *conns[VSW_RPC_MAX_CLIENTS];
};

static int srv_errf(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int srv_errf(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* Is somebody listening on @addr? Stale files are safe to replace. */
static int srv_probe(const struct sockaddr_un *addr)
{
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	rc = rc == 0 ? 1 : (errno == ECONNREFUSED ? 0 : -errno);
	close(fd);
	return rc;
}

int vsw_rpc_server_create(const char *path,
			  const struct vsw_rpc_method *methods, size_t n,
			  void *opaque, struct vsw_rpc_server **out,
			  char *err, size_t errlen)
{
	struct vsw_rpc_server *srv;
	struct epoll_event ev;
	struct stat sb;
	int rc;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return srv_errf(err, errlen, -ENOMEM, "out of memory");
	srv->lfd = -1;
	srv->epfd = -1;
	srv->methods = methods;
	srv->n_methods = n;
	srv->opaque = opaque;
	srv->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(srv->addr.sun_path)) {
		rc = srv_errf(err, errlen, -ENAMETOOLONG,
			      "%s: socket path too long (max %zu bytes)",
			      path, sizeof(srv->addr.sun_path) - 1);
		goto fail;
	}
	strcpy(srv->addr.sun_path, path);

	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			rc = srv_errf(err, errlen, -EEXIST,
				      "%s exists and is not a socket; "
				      "refusing to replace it",
				      path);
			goto fail;
		}
		rc = srv_probe(&srv->addr);
		if (rc == 1) {
			rc = srv_errf(err, errlen, -EADDRINUSE,
				      "%s: another vswd is listening there",
				      path);
			goto fail;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = srv_errf(err, errlen, -errno,
				      "%s: cannot remove stale socket: %s",
				      path, strerror(errno));
			goto fail;
		}
	}
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0);
	if (srv->lfd < 0) {
		rc = srv_errf(err, errlen, -errno, "socket: %s",
			      strerror(errno));
		goto fail;
	}
	if (bind(srv->lfd, (struct sockaddr *)&srv->addr,
		 sizeof(srv->addr)) < 0) {
		rc = srv_errf(err, errlen, -errno, "%s: bind: %s", path,
			      strerror(errno));
		goto fail;
	}
	rc = chmod(path, 0660);
	if (rc == 0)
		rc = lstat(path, &sb);
	if (rc == 0)
		rc = listen(srv->lfd, 16);
	if (rc < 0) {
		int e = errno;

		rc = srv_errf(err, errlen, -e, "%s: %s", srv->addr.sun_path,
			      strerror(e));
		unlink(path);
		goto fail;
	}
	srv->dev = sb.st_dev;
	srv->ino = sb.st_ino;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		rc = srv_errf(err, errlen, -errno, "epoll: %s",
			      strerror(errno));
		unlink(path);
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* NULL: the listening socket */
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev) < 0) {
		rc = srv_errf(err, errlen, -errno, "epoll: %s",
			      strerror(errno));
		unlink(path);
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->lfd >= 0)
		close(srv->lfd);
	free(srv);
	return rc;
}

int vsw_rpc_server_fd(const struct vsw_rpc_server *srv)
{
	return srv->epfd;
}

static void srv_conn_close(struct vsw_rpc_server *srv, struct srv_conn *c)
{
	size_t i;

	for (i = 0; i < VSW_RPC_MAX_CLIENTS; i++)
		if (srv->conns[i] == c)
			srv->conns[i] = NULL;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	vsw_rpc_rbuf_fini(&c->in);
	free(c->out);
	free(c);
}

static void srv_accept(struct vsw_rpc_server *srv)
{
	for (;;) {
		struct epoll_event ev;
		struct srv_conn *c;
		size_t i;
		int fd;

		fd = accept4(srv->lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a client that went away */
		for (i = 0; i < VSW_RPC_MAX_CLIENTS; i++)
			if (srv->conns[i] == NULL)
				break;
		c = i < VSW_RPC_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			/* Too many clients: the newcomer sees EOF. */
			close(fd);
			continue;
		}
		c->fd = fd;
		vsw_rpc_rbuf_init(&c->in, VSW_RPC_MAX_REQUEST);
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		srv->conns[i] = c;
	}
}

/* Queue @msg (stolen) on @c; a message too large becomes an error. */
static int srv_queue(struct srv_conn *c, json_t *msg, json_t *id)
{
	size_t len;
	char *s, *p;

	if (msg == NULL)
		return -ENOMEM;
	s = vsw_rpc_encode(msg, VSW_RPC_MAX_RESPONSE, &len);
	json_decref(msg);
	if (s == NULL) {
		struct vsw_rpc_err e;

		vsw_rpc_fail(&e, VSW_RPC_INTERNAL_ERROR, EMSGSIZE,
			     "the answer is too large to send");
		msg = vsw_rpc_error_new(id, &e);
		if (msg == NULL)
			return -ENOMEM;
		s = vsw_rpc_encode(msg, VSW_RPC_MAX_RESPONSE, &len);
		json_decref(msg);
		if (s == NULL)
			return -ENOMEM;
	}
	if (c->out_len - c->out_off + len > SRV_OUT_MAX) {
		free(s);
		return -ENOBUFS;
	}
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	p = realloc(c->out, c->out_len + len);
	if (p == NULL) {
		free(s);
		return -ENOMEM;
	}
	memcpy(p + c->out_len, s, len);
	c->out = p;
	c->out_len += len;
	free(s);
	return 0;
}

/* Answer one request object: NULL for a notification. */
static json_t *srv_call(struct vsw_rpc_server *srv, json_t *msg)
{
	struct vsw_rpc_request req;
	struct vsw_rpc_err e = {0};
	json_t *result = NULL, *params, *ans;
	size_t i;
	int rc;

	rc = vsw_rpc_check_request(msg, &req, &e);
	if (rc < 0)
		return vsw_rpc_error_new(req.id, &e);
	for (i = 0; i < srv->n_methods; i++)
		if (strcmp(srv->methods[i].name, req.method) == 0)
			break;
	if (i == srv->n_methods) {
		vsw_rpc_fail(&e, VSW_RPC_METHOD_NOT_FOUND, 0,
			     "unknown method \"%.64s\"", req.method);
		return req.id ? vsw_rpc_error_new(req.id, &e) : NULL;
	}
	params = req.params ? json_incref(req.params) : json_object();
	if (params == NULL)
		return NULL;
	rc = srv->methods[i].fn(srv->opaque, params, &result, &e);
	json_decref(params);
	if (rc < 0) {
		json_decref(result);
		if (e.message[0] == '\0')
			vsw_rpc_fail(&e, 0, -rc, "%s", strerror(-rc));
		if (e.code == 0)
			e.code = VSW_RPC_APP_ERROR;
		ans = vsw_rpc_error_new(req.id, &e);
	} else {
		ans = vsw_rpc_result_new(req.id, result);
	}
	if (req.id == NULL) {
		json_decref(ans);
		return NULL;
	}
	return ans;
}

static int srv_message(struct vsw_rpc_server *srv, struct srv_conn *c,
		       const char *text, size_t len)
{
	struct vsw_rpc_err e;
	json_t *msg, *ans;
	size_t i;

	msg = vsw_rpc_parse(text, len, &e);
	if (msg == NULL)
		return srv_queue(c, vsw_rpc_error_new(NULL, &e), NULL);
	if (!json_is_array(msg)) {
		ans = srv_call(srv, msg);
		json_decref(msg);
		if (ans == NULL)
			return 0;
		return srv_queue(c, ans, json_object_get(ans, "id"));
	}
	/* A batch: an array of answers, notifications left out. */
	if (json_array_size(msg) == 0) {
		json_decref(msg);
		vsw_rpc_fail(&e, VSW_RPC_INVALID_REQUEST, 0, "empty batch");
		return srv_queue(c, vsw_rpc_error_new(NULL, &e), NULL);
	}
	ans = json_array();
	for (i = 0; ans != NULL && i < json_array_size(msg); i++) {
		json_t *one = srv_call(srv, json_array_get(msg, i));

		if (one != NULL && json_array_append_new(ans, one) < 0) {
			json_decref(ans);
			ans = NULL;
		}
	}
	json_decref(msg);
	if (ans == NULL)
		return -ENOMEM;
	if (json_array_size(ans) == 0) {
		json_decref(ans);
		return 0;
	}
	return srv_queue(c, ans, NULL);
}

/* Write what is queued; 0 when all is out, -EAGAIN when blocked. */
static int srv_flush(struct srv_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* Read and answer what @c sent; a negative return closes @c. */
static int srv_conn_input(struct vsw_rpc_server *srv, struct srv_conn *c)
{
	const char *msg;
	size_t len;
	ssize_t n;
	int rc;

	n = vsw_rpc_rbuf_fill(&c->in, c->fd);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	if (n == 0) {
		c->closing = true;
		if (vsw_rpc_rbuf_pending(&c->in) > 0)
			/* A last request without its '\n': answer it. */
			vsw_rpc_rbuf_feed(&c->in, "\n", 1);
	}
	while ((rc = vsw_rpc_rbuf_next(&c->in, &msg, &len)) == 1) {
		rc = srv_message(srv, c, msg, len);
		if (rc < 0)
			return rc;
	}
	if (rc == -EMSGSIZE) {
		struct vsw_rpc_err e;

		vsw_rpc_fail(&e, VSW_RPC_INVALID_REQUEST, EMSGSIZE,
			     "request longer than %u bytes; closing",
			     VSW_RPC_MAX_REQUEST);
		c->reject = true;
		return srv_queue(c, vsw_rpc_error_new(NULL, &e), NULL);
	}
	return rc;
}

/*
 * Discard what @c sends: -EAGAIN while it may send more, 0 at its end of
 * file, another negative errno to close now (error, or over the bounds).
 */
static int srv_drain(struct srv_conn *c)
{
	char sink[4096];

	if (vsw_now_ms() >= c->drain_end_ms)
		return -ETIMEDOUT;
	for (;;) {
		ssize_t n = read(c->fd, sink, sizeof(sink));

		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		c->drained += (size_t)n;
		if (c->drained > SRV_DRAIN_MAX)
			return -EMSGSIZE;
	}
}

/* The answer is out: stop writing, start discarding input. */
static int srv_drain_start(struct srv_conn *c)
{
	c->draining = true;
	c->drain_end_ms = vsw_now_ms() + SRV_DRAIN_MS;
	/* EOF for the client once it has read the answer */
	if (shutdown(c->fd, SHUT_WR) < 0)
		return -errno;
	return srv_drain(c);
}

static void srv_conn_event(struct vsw_rpc_server *srv, struct srv_conn *c,
			   uint32_t events)
{
	struct epoll_event ev;
	int rc = 0;

	if (c->draining) {
		rc = srv_drain(c);
		if (rc != -EAGAIN || (events & (EPOLLERR | EPOLLHUP)))
			srv_conn_close(srv, c);
		return;
	}
	if (c->out_len == 0 && !c->closing && !c->reject &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
		rc = srv_conn_input(srv, c);
	if (rc == 0)
		rc = srv_flush(c);
	if (rc == 0 && c->reject && !(events & (EPOLLERR | EPOLLHUP))) {
		rc = srv_drain_start(c);
		if (rc != -EAGAIN) {
			srv_conn_close(srv, c);
			return;
		}
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	if (rc == -EAGAIN) {
		/* Answers pending: wait for room, read nothing more. */
		ev.events = EPOLLOUT;
		ev.data.ptr = c;
		epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	if (rc < 0 || c->closing || c->reject ||
	    (events & (EPOLLERR | EPOLLHUP))) {
		srv_conn_close(srv, c);
		return;
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

int vsw_rpc_server_timeout_ms(const struct vsw_rpc_server *srv)
{
	long long now = vsw_now_ms(), t = -1;
	size_t i;

	for (i = 0; i < VSW_RPC_MAX_CLIENTS; i++) {
		const struct srv_conn *c = srv->conns[i];
		long long left;

		if (c == NULL || !c->draining)
			continue;
		left = c->drain_end_ms > now ? c->drain_end_ms - now : 0;
		if (t < 0 || left < t)
			t = left;
	}
	return (int)t;
}

int vsw_rpc_server_run(struct vsw_rpc_server *srv)
{
	struct epoll_event evs[16];
	long long now;
	int i, n;
	size_t k;

	n = epoll_wait(srv->epfd, evs, 16, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL)
			srv_accept(srv);
		else
			srv_conn_event(srv, evs[i].data.ptr, evs[i].events);
	}
	/* Drains out of time (after the events: evs is done with them). */
	now = vsw_now_ms();
	for (k = 0; k < VSW_RPC_MAX_CLIENTS; k++) {
		struct srv_conn *c = srv->conns[k];

		if (c != NULL && c->draining && now >= c->drain_end_ms)
			srv_conn_close(srv, c);
	}
	return 0;
}

void vsw_rpc_server_destroy(struct vsw_rpc_server *srv)
{
	struct stat sb;
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < VSW_RPC_MAX_CLIENTS; i++)
		if (srv->conns[i] != NULL)
			srv_conn_close(srv, srv->conns[i]);
	/* Remove the socket only if nobody replaced it meanwhile. */
	if (lstat(srv->addr.sun_path, &sb) == 0 && sb.st_dev == srv->dev &&
	    sb.st_ino == srv->ino)
		unlink(srv->addr.sun_path);
	close(srv->lfd);
	close(srv->epfd);
	free(srv);
}
