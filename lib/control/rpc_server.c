/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC server on a Unix stream socket (see vsw_rpc.h).
 *
 * Security model: any process that may open the socket (its mode and
 * group, by default 0660 and vswd's group) can connect; its credentials
 * (SO_PEERCRED, SO_PEERGROUPS) then decide, at accept, whether it gets full
 * access, read-only access (methods flagged VSW_RPC_READONLY) or an error
 * answer and a close. A client may be hostile, and no client may keep
 * another from being served:
 *
 *  - connections: at most max_clients. When the table is full a newcomer
 *    takes the place of the connection idle the longest (idle at least
 *    SRV_EVICT_MIN_MS), else of the one with the oldest unfinished
 *    request (begun at least SRV_EVICT_MIN_MS ago); with neither it gets
 *    a "server busy" error answer, then a close (never a bare reset).
 *  - time: a connection with nothing in progress is closed after idle_ms,
 *    a request begun but not finished is answered with an error after
 *    read_ms, answers not taken for write_ms close the connection.
 *  - work: calls run in slices, at most slice_calls per connection and
 *    round_us per vsw_rpc_server_run, connections served round robin, so
 *    a batch of max_batch calls never holds up the loop (which also serves
 *    vhost-user messages in vswd) nor another client for long. A longer
 *    batch is refused as a whole.
 *  - memory: a request is at most VSW_RPC_MAX_REQUEST bytes; nothing more
 *    is read from a connection while its answers are queued or its batch
 *    runs, and a batch goes on only while less than SRV_SLICE_OUT bytes of
 *    its answer wait, so a client that does not read stops costing work;
 *    over out_max bytes queued it is disconnected and its memory freed,
 *    and over out_total on all connections the blocked connections with
 *    the most queued go first.
 *
 * A batch's answer is streamed: "[" and each element as it is computed,
 * "]\n" at the end (a client reads up to the '\n' anyway).
 *
 * A connection dropped for breaking the framing (a request over the limit,
 * or not finished in time) first gets its error answer, then a shut-down
 * write side, then its input read and thrown away until the client closes,
 * for at most SRV_DRAIN_MS and SRV_DRAIN_MAX bytes. Closing a Unix socket
 * with unread input resets the peer (ECONNRESET), and the client would see
 * that instead of our answer. A busy or refused newcomer holds no slot: its
 * answer is sent at once, then its write side shut and what it already
 * sent discarded before the close.
 *
 * Connections closed during a run are only marked dead (fd closed, out of
 * epoll) and freed at its end, so no pointer held by the run dangles.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include "vsw_unix.h"

#define SRV_DRAIN_MS 500
#define SRV_DRAIN_MAX (4 * (size_t)VSW_RPC_MAX_REQUEST)
#define SRV_SLICE_OUT (256u << 10) /* a batch waits while this is queued */
#define SRV_EVICT_MIN_MS 1000
#define SRV_ERR_MAX (2 * VSW_RPC_MSG_MAX) /* an encoded error answer */
/* A batch's answer: elements up to this, then only errors (each under
 * SRV_ERR_MAX, max_batch of them) so that the whole stays readable. */
#define SRV_BATCH_ANSWER_MAX ((size_t)VSW_RPC_MAX_RESPONSE - (1u << 20))
#define SRV_ACCEPT_PER_RUN 256
#define SRV_PEER_GROUPS 256 /* a peer's groups read on the stack (more: heap) */

struct srv_conn {
	int fd;
	bool dead;     /* closed; freed at the end of the run */
	bool readonly; /* VSW_RPC_READONLY methods only */
	uid_t uid;
	struct vsw_rpc_rbuf in;
	bool more;     /* in may hold a complete request */
	char *out;
	size_t out_len, out_off, out_cap;
	json_t *batch; /* a batch in progress */
	size_t batch_i, batch_bytes;
	bool batch_open; /* its "[" is out */
	bool closing;	 /* the client's end of file: close once answered */
	bool reject;	 /* drain instead, once the output is flushed */
	bool draining;	 /* write side shut, discarding input */
	size_t drained;
	long long drain_end_ms;
	long long last_ms; /* last progress: bytes in or out, a call */
	long long part_ms; /* the partial request in @in began */
	uint32_t events;   /* registered with epoll */
};

enum srv_log_kind {
	SRV_LOG_REFUSED,
	SRV_LOG_BUSY,
	SRV_LOG_EVICTED,
	SRV_LOG_READ_TIMEOUT,
	SRV_LOG_SLOW_READER,
	SRV_LOG_DENIED,
	SRV_LOG_KINDS
};

struct vsw_rpc_server {
	int lfd, epfd;
	int spare_fd; /* given up to accept a client when out of fds */
	const struct vsw_rpc_method *methods;
	size_t n_methods;
	void *opaque;
	dev_t dev;
	ino_t ino;
	struct sockaddr_un addr;
	struct vsw_rpc_limits lim;
	/* access lists (copies); restricted: any list given */
	bool restricted;
	uid_t *uids;
	gid_t *gids, *ro_gids;
	size_t n_uids, n_gids, n_ro_gids;
	/* connections, in no order; dead ones freed at the end of a run */
	struct srv_conn **conns;
	size_t n_conns, cap_conns;
	size_t rr; /* where the next run starts serving */
	size_t out_total;
	struct vsw_rpc_server_stats st;
	vsw_rpc_log_fn log;
	void *log_arg;
	long long log_ms[SRV_LOG_KINDS];      /* last line of each kind */
	unsigned long log_quiet[SRV_LOG_KINDS]; /* events not said since */
};

static void srv_log(struct vsw_rpc_server *srv, enum srv_log_kind kind,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line, unless one of @kind was said less than a second ago. */
static void srv_log(struct vsw_rpc_server *srv, enum srv_log_kind kind,
		    const char *fmt, ...)
{
	long long now = vsw_now_ms();
	char line[768];
	va_list ap;
	int n;

	if (srv->log == NULL)
		return;
	if (srv->log_ms[kind] != 0 && now - srv->log_ms[kind] < 1000) {
		srv->log_quiet[kind]++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= 0 && srv->log_quiet[kind] > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n,
			 " (and %lu more like it)", srv->log_quiet[kind]);
	srv->log_ms[kind] = now;
	srv->log_quiet[kind] = 0;
	srv->log(srv->log_arg, line);
}

void vsw_rpc_server_set_log(struct vsw_rpc_server *srv, vsw_rpc_log_fn fn,
			    void *arg)
{
	srv->log = fn;
	srv->log_arg = arg;
}

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
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	srv->methods = methods;
	srv->n_methods = n;
	srv->opaque = opaque;
	vsw_rpc_server_set_limits(srv, NULL);
	srv->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(srv->addr.sun_path)) {
		rc = srv_errf(err, errlen, -ENAMETOOLONG,
			      "%s: socket path too long (max %zu bytes)",
			      path, sizeof(srv->addr.sun_path) - 1);
		goto fail;
	}
	strcpy(srv->addr.sun_path, path);

	rc = vsw_unix_clear_stale(&srv->addr);
	if (rc == -EEXIST) {
		rc = srv_errf(err, errlen, rc,
			      "%s exists and is not a socket; refusing to "
			      "replace it",
			      path);
		goto fail;
	}
	if (rc == -EADDRINUSE) {
		rc = srv_errf(err, errlen, rc,
			      "%s: another vswd is listening there", path);
		goto fail;
	}
	if (rc < 0) {
		rc = srv_errf(err, errlen, rc, "%s: cannot remove stale "
			      "socket: %s", path, strerror(-rc));
		goto fail;
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
		rc = listen(srv->lfd, 256);
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
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->lfd >= 0)
		close(srv->lfd);
	free(srv);
	return rc;
}

void vsw_rpc_server_set_limits(struct vsw_rpc_server *srv,
			       const struct vsw_rpc_limits *lim)
{
	static const struct vsw_rpc_limits def = {
		.max_clients = VSW_RPC_MAX_CLIENTS,
		.idle_ms = 60000,
		.read_ms = 10000,
		.write_ms = 10000,
		.max_batch = 1024,
		.out_max = (size_t)VSW_RPC_MAX_RESPONSE + (1u << 20),
		.out_total = (size_t)256 << 20,
		.slice_calls = 16,
		.round_us = 2000,
	};
	struct vsw_rpc_limits l = lim ? *lim : def;

#define SRV_DEF(f) (l.f = l.f ? l.f : def.f)
	SRV_DEF(max_clients);
	SRV_DEF(idle_ms);
	SRV_DEF(read_ms);
	SRV_DEF(write_ms);
	SRV_DEF(max_batch);
	SRV_DEF(out_max);
	SRV_DEF(out_total);
	SRV_DEF(slice_calls);
	SRV_DEF(round_us);
#undef SRV_DEF
	srv->lim = l;
}

void vsw_rpc_server_get_limits(const struct vsw_rpc_server *srv,
			       struct vsw_rpc_limits *lim)
{
	*lim = srv->lim;
}

static int srv_copy_ids(const unsigned int *from, size_t n,
			unsigned int **to)
{
	*to = NULL;
	if (n == 0)
		return 0;
	*to = malloc(n * sizeof(**to));
	if (*to == NULL)
		return -ENOMEM;
	memcpy(*to, from, n * sizeof(**to));
	return 0;
}

int vsw_rpc_server_set_access(struct vsw_rpc_server *srv,
			      const struct vsw_rpc_access *acc, char *err,
			      size_t errlen)
{
	_Static_assert(sizeof(uid_t) == sizeof(unsigned int) &&
			       sizeof(gid_t) == sizeof(unsigned int),
		       "ids are unsigned int");
	mode_t mode = acc->mode ? acc->mode : 0660;
	uid_t *uids = NULL;
	gid_t *gids = NULL, *ro = NULL;
	struct stat sb;
	int rc;

	if (mode & ~(mode_t)0777)
		return srv_errf(err, errlen, -EINVAL,
				"socket mode %04o: only permission bits "
				"(0..0777)",
				(unsigned int)mode);
	rc = srv_copy_ids(acc->uids, acc->n_uids, &uids);
	if (rc == 0)
		rc = srv_copy_ids(acc->gids, acc->n_gids, &gids);
	if (rc == 0)
		rc = srv_copy_ids(acc->ro_gids, acc->n_ro_gids, &ro);
	if (rc < 0) {
		rc = srv_errf(err, errlen, rc, "out of memory");
		goto fail;
	}
	/* Only the file we bound: somebody may have replaced it. */
	if (lstat(srv->addr.sun_path, &sb) < 0 || sb.st_dev != srv->dev ||
	    sb.st_ino != srv->ino) {
		rc = srv_errf(err, errlen, -ESTALE,
			      "%s is no longer our socket",
			      srv->addr.sun_path);
		goto fail;
	}
	if (acc->group != (gid_t)-1 &&
	    chown(srv->addr.sun_path, (uid_t)-1, acc->group) < 0) {
		rc = srv_errf(err, errlen, -errno, "%s: group %u: %s",
			      srv->addr.sun_path, (unsigned int)acc->group,
			      strerror(errno));
		goto fail;
	}
	if (chmod(srv->addr.sun_path, mode) < 0) {
		rc = srv_errf(err, errlen, -errno, "%s: mode %04o: %s",
			      srv->addr.sun_path, (unsigned int)mode,
			      strerror(errno));
		goto fail;
	}
	free(srv->uids);
	free(srv->gids);
	free(srv->ro_gids);
	srv->uids = uids;
	srv->gids = gids;
	srv->ro_gids = ro;
	srv->n_uids = acc->n_uids;
	srv->n_gids = acc->n_gids;
	srv->n_ro_gids = acc->n_ro_gids;
	srv->restricted = acc->n_uids || acc->n_gids || acc->n_ro_gids;
	return 0;
fail:
	free(uids);
	free(gids);
	free(ro);
	return rc;
}

void vsw_rpc_server_stats(const struct vsw_rpc_server *srv,
			  struct vsw_rpc_server_stats *st)
{
	size_t i;

	*st = srv->st;
	st->conns = 0;
	for (i = 0; i < srv->n_conns; i++)
		st->conns += !srv->conns[i]->dead;
	st->out_bytes = srv->out_total;
}

int vsw_rpc_server_fd(const struct vsw_rpc_server *srv)
{
	return srv->epfd;
}

static size_t srv_out_pending(const struct srv_conn *c)
{
	return c->out_len - c->out_off;
}

/* Give the queued answer memory back. */
static void srv_out_free(struct vsw_rpc_server *srv, struct srv_conn *c)
{
	srv->out_total -= c->out_cap;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
}

/* Close @c now; its memory goes at the end of the run (srv_sweep). */
static void srv_conn_kill(struct vsw_rpc_server *srv, struct srv_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	vsw_rpc_rbuf_fini(&c->in);
	srv_out_free(srv, c);
	json_decref(c->batch);
	c->batch = NULL;
}

static void srv_sweep(struct vsw_rpc_server *srv)
{
	size_t i = 0;

	while (i < srv->n_conns) {
		struct srv_conn *c = srv->conns[i];

		if (!c->dead) {
			i++;
			continue;
		}
		free(c);
		srv->conns[i] = srv->conns[--srv->n_conns];
	}
	if (srv->rr >= srv->n_conns)
		srv->rr = 0;
}

/* Register the events @c waits for now (none while it has calls to run). */
static void srv_conn_arm(struct vsw_rpc_server *srv, struct srv_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	if (c->dead)
		return;
	if (c->draining)
		ev.events = EPOLLIN | EPOLLRDHUP;
	else if (srv_out_pending(c) > 0)
		ev.events = EPOLLOUT;
	else if (c->batch != NULL || c->more || c->closing || c->reject)
		ev.events = 0;
	else
		ev.events = EPOLLIN | EPOLLRDHUP;
	if (ev.events == c->events)
		return;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = ev.events;
}

/*
 * Answer a newcomer that gets no slot with @e, then close without a reset:
 * the write side shut first, what it sent already read away.
 */
static void srv_turn_away(int fd, const struct vsw_rpc_err *e)
{
	json_t *msg = vsw_rpc_error_new(NULL, e);
	char sink[4096], *s;
	size_t len;
	int i;

	s = msg ? vsw_rpc_encode(msg, SRV_ERR_MAX, &len) : NULL;
	json_decref(msg);
	/* fits the socket buffer of a fresh connection; a failure means
	 * the peer is gone, and there is nothing more to do */
	if (s != NULL && send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		len = 0;
	free(s);
	shutdown(fd, SHUT_WR);
	for (i = 0; i < 64; i++)
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

static bool srv_id_in(unsigned int id, const unsigned int *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == id)
			return true;
	return false;
}

/*
 * The peer's access: 1 full, 0 read-only, -EACCES refused (with @e
 * saying why).
 */
static int srv_peer_access(const struct vsw_rpc_server *srv, int fd,
			   uid_t *uid, struct vsw_rpc_err *e)
{
	gid_t local[SRV_PEER_GROUPS], *groups = local;
	socklen_t len = sizeof(struct ucred);
	struct ucred cr;
	size_t n = 0, i;
	bool full, ro = false;
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return vsw_rpc_fail(e, 0, EACCES,
				    "permission denied: cannot read the "
				    "client's credentials (%s)",
				    strerror(errno));
	*uid = cr.uid;
	/* the uid of now: vswd --user switches after creating the server */
	if (cr.uid == 0 || cr.uid == geteuid() || !srv->restricted)
		return 1;
	len = sizeof(local);
	rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	if (rc < 0 && errno == ERANGE) {
		/* more groups than fit: @len now says how many bytes */
		groups = malloc(len);
		rc = groups ? getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
					 &len) :
			      -1;
	}
	if (rc == 0)
		n = len / sizeof(gid_t);
	full = srv_id_in(cr.uid, srv->uids, srv->n_uids) ||
	       srv_id_in(cr.gid, srv->gids, srv->n_gids);
	ro = srv_id_in(cr.gid, srv->ro_gids, srv->n_ro_gids);
	for (i = 0; i < n && !full; i++) {
		full = srv_id_in(groups[i], srv->gids, srv->n_gids);
		ro = ro || srv_id_in(groups[i], srv->ro_gids, srv->n_ro_gids);
	}
	if (groups != local)
		free(groups);
	if (full)
		return 1;
	if (ro)
		return 0;
	return vsw_rpc_fail(e, 0, EACCES,
			    "permission denied: uid %u (gid %u) is neither "
			    "allowed nor in a read-only group of this "
			    "control socket",
			    (unsigned int)cr.uid, (unsigned int)cr.gid);
}

/*
 * Make room: close the connection idle longest (idle at least
 * SRV_EVICT_MIN_MS), else the one whose request has been unfinished
 * longest (begun at least SRV_EVICT_MIN_MS ago: an honest client sends
 * a request in one go). 0, or -EBUSY if none qualifies.
 */
static int srv_evict_idle(struct vsw_rpc_server *srv, long long now)
{
	struct srv_conn *idle = NULL, *half = NULL, *victim;
	size_t i;

	for (i = 0; i < srv->n_conns; i++) {
		struct srv_conn *c = srv->conns[i];

		if (c->dead || c->more || c->batch || c->closing ||
		    c->reject || c->draining || srv_out_pending(c) > 0)
			continue;
		if (vsw_rpc_rbuf_pending(&c->in) == 0) {
			if (now - c->last_ms >= SRV_EVICT_MIN_MS &&
			    (idle == NULL || c->last_ms < idle->last_ms))
				idle = c;
		} else if (now - c->part_ms >= SRV_EVICT_MIN_MS &&
			   (half == NULL || c->part_ms < half->part_ms)) {
			half = c;
		}
	}
	victim = idle ? idle : half;
	if (victim == NULL)
		return -EBUSY;
	srv_log(srv, SRV_LOG_EVICTED,
		"control connections full (%u): closed one of uid %u %s %lld "
		"ms to take a new one",
		srv->lim.max_clients, (unsigned int)victim->uid,
		idle ? "idle for" : "with a request unfinished for",
		now - (idle ? victim->last_ms : victim->part_ms));
	srv_conn_kill(srv, victim);
	srv->st.evicted++;
	return 0;
}

static size_t srv_live(const struct vsw_rpc_server *srv)
{
	size_t i, n = 0;

	for (i = 0; i < srv->n_conns; i++)
		n += !srv->conns[i]->dead;
	return n;
}

static void srv_accept(struct vsw_rpc_server *srv, long long now)
{
	int k;

	for (k = 0; k < SRV_ACCEPT_PER_RUN; k++) {
		struct vsw_rpc_err e = { 0 };
		struct epoll_event ev;
		struct srv_conn *c;
		uid_t uid = (uid_t)-1;
		int fd, acc;

		fd = accept4(srv->lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
		    srv->spare_fd >= 0) {
			/*
			 * Out of file descriptors: the newcomer would stay in
			 * the backlog and the socket poll readable for ever.
			 * Take it with the spare one; if the spare cannot be
			 * opened again we really are out: answer, close.
			 * Otherwise descriptors were freed meanwhile (accept
			 * fails with EMFILE even on an empty backlog) and the
			 * newcomer is served like any other.
			 */
			close(srv->spare_fd);
			fd = accept4(srv->lfd, NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
			srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && srv->spare_fd < 0) {
				vsw_rpc_fail(&e, 0, EBUSY,
					     "server busy: out of file "
					     "descriptors; try again later");
				srv->st.busy++;
				srv_log(srv, SRV_LOG_BUSY,
					"control client turned away: %s",
					e.message);
				srv_turn_away(fd, &e);
				srv->spare_fd = open("/dev/null",
						     O_RDONLY | O_CLOEXEC);
				continue;
			}
		}
		if (fd < 0)
			return; /* EAGAIN, or a client gone away */
		acc = srv_peer_access(srv, fd, &uid, &e);
		if (acc < 0) {
			srv->st.refused++;
			srv_log(srv, SRV_LOG_REFUSED, "control client refused: %s",
				e.message);
			srv_turn_away(fd, &e);
			continue;
		}
		if (srv_live(srv) >= srv->lim.max_clients &&
		    srv_evict_idle(srv, now) < 0) {
			vsw_rpc_fail(&e, 0, EBUSY,
				     "server busy: %u connections open, the "
				     "most this server takes; try again "
				     "later",
				     srv->lim.max_clients);
			srv->st.busy++;
			srv_log(srv, SRV_LOG_BUSY,
				"control client uid %u turned away: %s",
				(unsigned int)uid, e.message);
			srv_turn_away(fd, &e);
			continue;
		}
		if (srv->n_conns == srv->cap_conns) {
			size_t cap = srv->cap_conns ? 2 * srv->cap_conns : 64;
			struct srv_conn **p =
				realloc(srv->conns, cap * sizeof(*p));

			if (p == NULL) {
				close(fd);
				continue;
			}
			srv->conns = p;
			srv->cap_conns = cap;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = uid;
		c->readonly = acc == 0;
		c->last_ms = now;
		vsw_rpc_rbuf_init(&c->in, VSW_RPC_MAX_REQUEST);
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->events = ev.events;
		srv->conns[srv->n_conns++] = c;
		srv->st.accepted++;
	}
}

/* @c does not read its answers: close it and say so. */
static void srv_slow_reader(struct vsw_rpc_server *srv, struct srv_conn *c,
			    const char *why)
{
	srv->st.slow_readers++;
	srv_log(srv, SRV_LOG_SLOW_READER,
		"control client uid %u disconnected: %s (%zu bytes of "
		"answers queued)",
		(unsigned int)c->uid, why, srv_out_pending(c));
	srv_conn_kill(srv, c);
}

/*
 * Over the total answer memory: disconnect the blocked connections (output
 * waiting for the peer) with the most queued, other than @keep.
 */
static void srv_out_shed(struct vsw_rpc_server *srv, struct srv_conn *keep)
{
	while (srv->out_total > srv->lim.out_total) {
		struct srv_conn *victim = NULL;
		size_t i;

		for (i = 0; i < srv->n_conns; i++) {
			struct srv_conn *c = srv->conns[i];

			if (c == keep || c->dead || !(c->events & EPOLLOUT))
				continue;
			if (victim == NULL ||
			    srv_out_pending(c) > srv_out_pending(victim))
				victim = c;
		}
		if (victim == NULL)
			return;
		srv_slow_reader(srv, victim,
				"all clients' answers over the memory bound");
	}
}

/*
 * Append @len bytes to @c's output. -ENOBUFS when that would pass out_max:
 * the caller closes @c (a client that does not read its answers).
 */
static int srv_put(struct vsw_rpc_server *srv, struct srv_conn *c,
		   const char *s, size_t len)
{
	size_t need;

	if (srv_out_pending(c) + len > srv->lim.out_max)
		return -ENOBUFS;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, srv_out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL)
			return -ENOMEM;
		srv->out_total += cap - c->out_cap;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	srv_out_shed(srv, c);
	return 0;
}

/*
 * Encode @msg (stolen; NULL: out of memory); an answer over @max becomes
 * an error naming its size. The text ends with '\n'.
 */
static char *srv_encode(json_t *msg, json_t *id, size_t max, size_t *len)
{
	struct vsw_rpc_err e;
	char *s;

	if (msg == NULL)
		return NULL;
	s = vsw_rpc_encode(msg, max, len);
	if (s == NULL) {
		vsw_rpc_fail(&e, VSW_RPC_INTERNAL_ERROR, EMSGSIZE,
			     "the answer is too large to send (over %zu "
			     "bytes)",
			     max);
		json_decref(msg);
		msg = vsw_rpc_error_new(id, &e);
		s = msg ? vsw_rpc_encode(msg, SRV_ERR_MAX, len) : NULL;
	}
	json_decref(msg);
	return s;
}

/* Queue @msg (stolen) as one message on @c. */
static int srv_queue(struct vsw_rpc_server *srv, struct srv_conn *c,
		     json_t *msg)
{
	json_t *id = msg ? json_incref(json_object_get(msg, "id")) : NULL;
	size_t len;
	char *s;
	int rc;

	s = srv_encode(msg, id, VSW_RPC_MAX_RESPONSE, &len);
	json_decref(id);
	if (s == NULL)
		return -ENOMEM;
	rc = srv_put(srv, c, s, len);
	free(s);
	return rc;
}

/* Answer one request object: NULL for a notification. */
static json_t *srv_call(struct vsw_rpc_server *srv, struct srv_conn *c,
			json_t *msg)
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
	if (c->readonly && !(srv->methods[i].flags & VSW_RPC_READONLY)) {
		srv->st.denied_calls++;
		srv_log(srv, SRV_LOG_DENIED,
			"control client uid %u (read-only) called \"%s\": "
			"denied",
			(unsigned int)c->uid, srv->methods[i].name);
		vsw_rpc_fail(&e, 0, EPERM,
			     "permission denied: \"%s\" changes the "
			     "configuration, and uid %u has read-only access "
			     "to this control socket",
			     srv->methods[i].name, (unsigned int)c->uid);
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

/* Run the next call of @c's batch, streaming its answer. */
static int srv_batch_step(struct vsw_rpc_server *srv, struct srv_conn *c)
{
	json_t *req = json_array_get(c->batch, c->batch_i++);
	json_t *ans = srv_call(srv, c, req), *id;
	bool last = c->batch_i == json_array_size(c->batch);
	size_t len = 0;
	char *s = NULL;
	int rc = 0;

	if (ans != NULL) {
		/* the whole array stays under what a client accepts */
		size_t room = c->batch_bytes < SRV_BATCH_ANSWER_MAX ?
				      SRV_BATCH_ANSWER_MAX - c->batch_bytes :
				      0;

		id = json_incref(json_object_get(ans, "id"));
		s = srv_encode(ans, id, room, &len);
		json_decref(id);
		if (s == NULL)
			return -ENOMEM;
		/* "JSON\n" becomes ",JSON" (or "[JSON" first) */
		memmove(s + 1, s, len - 1);
		s[0] = c->batch_open ? ',' : '[';
		rc = srv_put(srv, c, s, len);
		c->batch_open = true;
		c->batch_bytes += len;
		free(s);
	}
	if (rc == 0 && last) {
		if (c->batch_open)
			rc = srv_put(srv, c, "]\n", 2);
		json_decref(c->batch);
		c->batch = NULL;
		c->batch_open = false;
		c->batch_bytes = 0;
		c->batch_i = 0;
	}
	return rc;
}

/* One complete message: answer it, or start its batch. */
static int srv_message(struct vsw_rpc_server *srv, struct srv_conn *c,
		       const char *text, size_t len)
{
	struct vsw_rpc_err e;
	json_t *msg, *ans;

	msg = vsw_rpc_parse(text, len, &e);
	if (msg == NULL)
		return srv_queue(srv, c, vsw_rpc_error_new(NULL, &e));
	if (!json_is_array(msg)) {
		ans = srv_call(srv, c, msg);
		json_decref(msg);
		return ans ? srv_queue(srv, c, ans) : 0;
	}
	if (json_array_size(msg) == 0 ||
	    json_array_size(msg) > srv->lim.max_batch) {
		if (json_array_size(msg) == 0)
			vsw_rpc_fail(&e, VSW_RPC_INVALID_REQUEST, 0,
				     "empty batch");
		else
			vsw_rpc_fail(&e, VSW_RPC_INVALID_REQUEST, E2BIG,
				     "batch of %zu calls; at most %u in one "
				     "batch (split it)",
				     json_array_size(msg), srv->lim.max_batch);
		srv->st.batches_refused += json_array_size(msg) != 0;
		json_decref(msg);
		return srv_queue(srv, c, vsw_rpc_error_new(NULL, &e));
	}
	c->batch = msg;
	c->batch_i = 0;
	return 0;
}

/* Write what is queued; 0 when all is out, -EAGAIN when blocked. */
static int srv_flush(struct vsw_rpc_server *srv, struct srv_conn *c,
		     long long now)
{
	while (srv_out_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 srv_out_pending(c), MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		c->out_off += (size_t)n;
		c->last_ms = now;
	}
	/* All out: a big buffer goes back to the system. */
	if (c->out_cap > 65536)
		srv_out_free(srv, c);
	c->out_off = c->out_len = 0;
	return 0;
}

/* Read what @c sent (one read). A negative return closes @c. */
static int srv_conn_read(struct srv_conn *c, long long now)
{
	size_t before = vsw_rpc_rbuf_pending(&c->in);
	ssize_t n;

	n = vsw_rpc_rbuf_fill(&c->in, c->fd);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	c->last_ms = now;
	if (n == 0) {
		/*
		 * Everything read before was answered (nothing is read while
		 * calls wait), so at end of file only a last request without
		 * its '\n' can be left: answer it, or close at once.
		 */
		c->closing = true;
		if (vsw_rpc_rbuf_pending(&c->in) == 0)
			return 0;
		vsw_rpc_rbuf_feed(&c->in, "\n", 1);
	} else if (before == 0) {
		c->part_ms = now;
	}
	c->more = true;
	return 0;
}

/* Answer with @e, then drain and close (the framing is lost). */
static int srv_reject(struct vsw_rpc_server *srv, struct srv_conn *c,
		      const struct vsw_rpc_err *e)
{
	c->reject = true;
	c->more = false;
	return srv_queue(srv, c, vsw_rpc_error_new(NULL, e));
}

/*
 * Discard what @c sends: -EAGAIN while it may send more, 0 at its end of
 * file, another negative errno to close now (error, or over the bounds).
 */
static int srv_drain(struct srv_conn *c, long long now)
{
	char sink[4096];

	if (now >= c->drain_end_ms)
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

/*
 * Flush @c and move it on: start its drain, close it when done. Returns
 * false if @c is now closed.
 */
static bool srv_conn_settle(struct vsw_rpc_server *srv, struct srv_conn *c,
			    long long now)
{
	int rc;

	if (c->dead)
		return false;
	rc = srv_flush(srv, c, now);
	if (rc == -EAGAIN) {
		srv_conn_arm(srv, c);
		return true;
	}
	if (rc < 0) {
		srv_conn_kill(srv, c);
		return false;
	}
	if (c->reject && !c->draining) {
		c->draining = true;
		c->drain_end_ms = now + SRV_DRAIN_MS;
		/* EOF for the client once it has read the answer */
		if (shutdown(c->fd, SHUT_WR) < 0 ||
		    srv_drain(c, now) != -EAGAIN) {
			srv_conn_kill(srv, c);
			return false;
		}
	}
	if (c->closing && !c->more && c->batch == NULL) {
		srv_conn_kill(srv, c);
		return false;
	}
	srv_conn_arm(srv, c);
	return true;
}

static void srv_conn_event(struct vsw_rpc_server *srv, struct srv_conn *c,
			   uint32_t events, long long now)
{
	int rc = 0;

	if (c->dead)
		return;
	if (c->draining) {
		rc = srv_drain(c, now);
		if (rc != -EAGAIN || (events & (EPOLLERR | EPOLLHUP)))
			srv_conn_kill(srv, c);
		return;
	}
	if (events & EPOLLERR) {
		srv_conn_kill(srv, c);
		return;
	}
	if ((c->events & EPOLLIN) &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
		rc = srv_conn_read(c, now);
	if (rc < 0) {
		srv_conn_kill(srv, c);
		return;
	}
	srv_conn_settle(srv, c, now);
}

/*
 * Run up to @budget calls of @c (fewer once its queued answer passes
 * SRV_SLICE_OUT). Returns the calls run.
 */
static unsigned int srv_conn_work(struct vsw_rpc_server *srv,
				  struct srv_conn *c, unsigned int budget,
				  long long now)
{
	unsigned int done = 0;
	int rc = 0;

	while (rc == 0 && done < budget && !c->dead && !c->reject &&
	       srv_out_pending(c) < SRV_SLICE_OUT) {
		const char *msg;
		size_t len;

		if (c->batch != NULL) {
			rc = srv_batch_step(srv, c);
			done++;
			continue;
		}
		if (!c->more)
			break;
		rc = vsw_rpc_rbuf_next(&c->in, &msg, &len);
		if (rc == 0) {
			c->more = false;
			break;
		}
		if (rc == -EMSGSIZE) {
			struct vsw_rpc_err e;

			vsw_rpc_fail(&e, VSW_RPC_INVALID_REQUEST, EMSGSIZE,
				     "request longer than %u bytes; closing",
				     VSW_RPC_MAX_REQUEST);
			rc = srv_reject(srv, c, &e);
			break;
		}
		c->part_ms = now;
		rc = srv_message(srv, c, msg, len);
		done++;
	}
	if (done > 0)
		c->last_ms = now;
	if (rc == -ENOBUFS) {
		srv_slow_reader(srv, c, "answers not read, over its bound");
		return done;
	}
	if (rc < 0) {
		srv_conn_kill(srv, c); /* out of memory */
		return done;
	}
	srv_conn_settle(srv, c, now);
	return done;
}

static bool srv_has_work(const struct srv_conn *c)
{
	return !c->dead && !c->reject && !c->draining &&
	       (c->batch != NULL || c->more) &&
	       srv_out_pending(c) < SRV_SLICE_OUT;
}

/* When @c must be looked at again, in vsw_now_ms time; -1: never. */
static long long srv_conn_deadline(const struct vsw_rpc_server *srv,
				   const struct srv_conn *c, long long now)
{
	if (c->dead)
		return -1;
	if (c->draining)
		return c->drain_end_ms;
	if (srv_has_work(c))
		return now;
	if (srv_out_pending(c) > 0)
		return c->last_ms + srv->lim.write_ms;
	if (vsw_rpc_rbuf_pending(&c->in) > 0)
		return c->part_ms + srv->lim.read_ms;
	if (c->closing || c->reject)
		return now;
	return c->last_ms + srv->lim.idle_ms;
}

/* Apply the timeouts that have passed. */
static void srv_timeouts(struct vsw_rpc_server *srv, long long now)
{
	size_t i;

	for (i = 0; i < srv->n_conns; i++) {
		struct srv_conn *c = srv->conns[i];
		long long t = srv_conn_deadline(srv, c, now);
		struct vsw_rpc_err e;

		if (t < 0 || t > now || srv_has_work(c))
			continue;
		if (c->draining) {
			srv_conn_kill(srv, c);
		} else if (srv_out_pending(c) > 0) {
			srv_slow_reader(srv, c, "answers not taken in time");
		} else if (vsw_rpc_rbuf_pending(&c->in) > 0 && !c->closing &&
			   !c->reject) {
			srv->st.read_timeouts++;
			srv_log(srv, SRV_LOG_READ_TIMEOUT,
				"control client uid %u: request not complete "
				"after %u ms; closing",
				(unsigned int)c->uid, srv->lim.read_ms);
			vsw_rpc_fail(&e, VSW_RPC_INVALID_REQUEST, ETIMEDOUT,
				     "request not complete after %u ms "
				     "(no '\\n' yet); closing",
				     srv->lim.read_ms);
			if (srv_reject(srv, c, &e) < 0)
				srv_conn_kill(srv, c);
			else
				srv_conn_settle(srv, c, now);
		} else if (c->closing || c->reject) {
			srv_conn_settle(srv, c, now);
		} else {
			srv->st.idle_closed++;
			srv_conn_kill(srv, c);
		}
	}
}

int vsw_rpc_server_timeout_ms(const struct vsw_rpc_server *srv)
{
	long long now = vsw_now_ms(), t = -1;
	size_t i;

	for (i = 0; i < srv->n_conns; i++) {
		long long d = srv_conn_deadline(srv, srv->conns[i], now);

		if (d < 0)
			continue;
		d = d > now ? d - now : 0;
		if (t < 0 || d < t)
			t = d;
	}
	return t > 1000000 ? 1000000 : (int)t;
}

int vsw_rpc_server_run(struct vsw_rpc_server *srv)
{
	struct epoll_event evs[64];
	long long now = vsw_now_ms();
	long long t0 = (long long)vsw_now_us(), budget = srv->lim.round_us;
	size_t k, n_conns;
	int i, n;

	n = epoll_wait(srv->epfd, evs, 64, 0);
	if (n < 0 && errno != EINTR)
		return -errno;
	/* Newcomers last: a client that closed frees its place for them. */
	for (i = 0; i < n; i++)
		if (evs[i].data.ptr != NULL)
			srv_conn_event(srv, evs[i].data.ptr, evs[i].events,
				       now);
	for (i = 0; i < n; i++)
		if (evs[i].data.ptr == NULL)
			srv_accept(srv, now);
	/*
	 * Calls, round robin from where the last run stopped; each connection
	 * at most slice_calls, all of them at most round_us (at least one
	 * slice runs, so every run makes progress).
	 */
	n_conns = srv->n_conns;
	for (k = 0; k < n_conns; k++) {
		struct srv_conn *c = srv->conns[(srv->rr + k) % n_conns];

		if (!srv_has_work(c))
			continue;
		srv_conn_work(srv, c, srv->lim.slice_calls, now);
		if ((long long)vsw_now_us() - t0 >= budget) {
			k++;
			break;
		}
	}
	if (n_conns > 0)
		srv->rr = (srv->rr + k) % n_conns;
	srv_timeouts(srv, vsw_now_ms());
	srv_sweep(srv);
	return 0;
}

void vsw_rpc_server_destroy(struct vsw_rpc_server *srv)
{
	struct stat sb;
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->n_conns; i++)
		srv_conn_kill(srv, srv->conns[i]);
	srv_sweep(srv);
	free(srv->conns);
	free(srv->uids);
	free(srv->gids);
	free(srv->ro_gids);
	/* Remove the socket only if nobody replaced it meanwhile. */
	if (lstat(srv->addr.sun_path, &sb) == 0 && sb.st_dev == srv->dev &&
	    sb.st_ino == srv->ino)
		unlink(srv->addr.sun_path);
	close(srv->lfd);
	close(srv->epfd);
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	free(srv);
}
