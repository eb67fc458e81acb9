/* SPDX-License-Identifier: MIT */
/*
 * vswd: OpenFlow 1.3 controllers per bridge (vswctl set-controller), in
 * vswd's poll loop. The protocol is lib/ofp's; this file owns the sockets,
 * the targets, reconnection and the glue to the bridge's flow table.
 *
 * Targets (Open vSwitch's syntax):
 *   ptcp:PORT[:IP]  listen; IP defaults to 127.0.0.1 (never all addresses
 *                   unless asked: ptcp:6653:0.0.0.0); PORT 0 picks a free
 *                   one (get-controller shows it)
 *   punix:PATH      listen on a Unix socket; PATH as a vhostuser server
 *                   socket's (the run dir or a --vhost-sock-dir), mode 0700
 *   tcp:IP:PORT     connect, again after 1, 2, 4, 8, 8... s when it fails
 *   unix:PATH       the same over a Unix socket
 *
 * One table set: every FLOW_MOD goes through vswd_flow_change(), the path
 * of vswctl add-flow / mod-flows / del-flows, so the switch, the store and
 * every client see the same rules whoever changed them. OpenFlow 1.3's
 * MODIFY adds nothing when it selects no rule (vsw's mod-flows does, as
 * OpenFlow 1.0 did): the selection is checked here first.
 *
 * Roles: the bridge keeps the last generation id of a master / slave
 * request (OFPRRFC_STALE below it) and a new master makes every other
 * master of the bridge a slave. A rule added with send_flow_rem that the
 * table deletes or expires is reported (FLOW_REMOVED) to every connection
 * of its bridge that wants it (vsw_ofp_conn_async_wanted: not a slave,
 * unless SET_ASYNC said so).
 *
 * Port status: each bridge keeps the ports (ofp_port, as PORT_DESC lists
 * them) its controllers were last told of. The control thread compares
 * the bridge's ports with them after a port is added, deleted or changed
 * (vswd_ofp_ports_changed(), from the paths of vswctl add-port, del-port,
 * set-port and a pending port opening) and once a second for the link
 * states the providers change (a vhost-user guest's driver, a TAP's
 * interface going down or away); each difference is a PORT_STATUS (ADD,
 * DELETE, MODIFY) to every connection of the bridge that wants it (a
 * slave too, by OpenFlow 1.3's defaults). Never from a data thread.
 *
 * Security model: what a peer sends is lib/ofp's to check (ofp_conn.c).
 * Here: a listener binds loopback unless an address is given; each bridge
 * takes at most OFPD_MAX_SESS connections (more are closed at accept); a
 * peer that neither reads nor answers keepalives is disconnected; a
 * failing peer never stops the loop, the other connections or the control
 * socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsw_unix.h"
#include "vswd.h"
#include "vsw_ofp.h"

#define OFPD_MAX_TARGETS 8
#define OFPD_TARGET_MAX 127 /* bytes of one target */
#define OFPD_MAX_SESS 32    /* connections per bridge */
#define OFPD_BACKOFF_MIN_MS 1000
#define OFPD_BACKOFF_MAX_MS 8000
#define OFPD_PROBE_MS 5000 /* idle this long: ECHO_REQUEST */
#define OFPD_DEAD_MS 15000 /* silent this long: disconnected */
/*
 * standalone: no controller connected this long, the bridge fails open
 * (normal forwarding). Open vSwitch: 3 probe intervals.
 */
#define OFPD_FAIL_OPEN_MS (3 * OFPD_PROBE_MS)
/*
 * Packet-ins per bridge: a token bucket of OFPD_PIN_RATE a second, bursts
 * of OFPD_PIN_BURST (Open vSwitch's controller_rate_limit /
 * controller_burst_limit, the burst a quarter of the rate).
 */
#define OFPD_PIN_RATE 1000
#define OFPD_PIN_BURST 250
#define OFPD_PIN_BUDGET 256 /* packet-ins handled per loop iteration */
/* link states the providers change: looked at this often */
#define OFPD_PORTS_MS 1000

enum ofpd_kind { OFPD_PTCP, OFPD_PUNIX, OFPD_TCP, OFPD_UNIX };

struct ofpd_bridge;

struct ofpd_target {
	char text[OFPD_TARGET_MAX + 1];
	enum ofpd_kind kind;
	struct sockaddr_storage addr;
	socklen_t alen;
	int lfd;		  /* listener, -1 */
	dev_t dev;		  /* punix: the socket file bound, to remove */
	ino_t ino;		  /* only it, never a replacement */
	char bound[64];		  /* ptcp: the address it listens on */
	struct ofpd_sess *active; /* tcp / unix: the connection */
	uint64_t next_try_ms;	  /* tcp / unix: reconnect time */
	unsigned int backoff_ms;
	char why[160]; /* the last failure */
};

struct ofpd_sess {
	struct ofpd_sess *next;
	struct ofpd_bridge *br;
	char target[OFPD_TARGET_MAX + 1]; /* the target it came from */
	bool active;			  /* we dialled it */
	int fd;
	bool connecting;
	struct vsw_ofp_conn *conn;
	uint64_t last_rx_ms;
	uint64_t echo_ms; /* an ECHO_REQUEST is out since, 0 none */
};

struct ofpd_bridge {
	struct ofpd_bridge *next;
	struct vswd *d;
	char name[VSW_CFG_NAME_MAX + 1];
	char dp_desc[64];
	struct vsw_ofp_ops ops;
	struct ofpd_target t[OFPD_MAX_TARGETS];
	unsigned int n_t;
	struct ofpd_sess *sess;
	unsigned int n_sess;
	struct vsw_ofp_role_gen role_gen;
	struct ofpd_tables *tables; /* ofpd_table_stats(), one request */
	/* fail mode and fail-open */
	bool secure;
	bool fail_open;		/* the switch forwards as normal */
	uint64_t down_since_ms; /* no controller connected since, 0: one is */
	/* packet-ins: token bucket (milli-tokens) and counters */
	uint64_t pin_tokens;
	uint64_t pin_last_ms;
	uint64_t pin_sent, pin_limited, pin_full;
	/* the ports as the controllers were last told (PORT_STATUS) */
	struct vsw_ofp_port *ports;
	unsigned int n_ports;
};

/* What each pollfd entry of the last vswd_ofp_pollfds() belongs to. */
struct ofpd_slot {
	struct ofpd_target *t; /* a listener or a connect in progress... */
	struct ofpd_sess *s;   /* ...or a session */
};

struct vswd_ofp {
	struct ofpd_bridge *bridges;
	struct ofpd_slot *slots;
	unsigned int n_slots, cap_slots;
	uint64_t next_check_ms; /* bridges deleted under us */
	bool mute_removed;	/* a table being put back: no FLOW_REMOVED */
	bool pin_more;		/* packet-ins left for the next iteration */
	bool ports_dirty;	/* a port changed: compare before sleeping */
	uint64_t next_ports_ms; /* the next look at the link states */
	uint64_t pin_nobody;	/* packet-ins of bridges without controllers */
};

static void ofpd_log_cb(void *arg, bool error, const char *msg)
{
	struct ofpd_bridge *b = arg;

	vswd_log(b->d, error ? VSW_LOG_WARN : VSW_LOG_DEBUG, "openflow %s: %s",
		 b->name, msg);
}

/* ---- targets -------------------------------------------------------------- */

/* "IP" (IPv4, or IPv6 with or without brackets) and @port into @t. */
static int ofpd_inet(struct ofpd_target *t, const char *ip, unsigned long port)
{
	char buf[64];
	size_t n = strlen(ip);

	if (n >= sizeof(buf))
		return -EINVAL;
	if (ip[0] == '[' && n >= 2 && ip[n - 1] == ']') {
		memcpy(buf, ip + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, ip, n + 1);
	}
	memset(&t->addr, 0, sizeof(t->addr));
	if (strchr(buf, ':') == NULL) {
		struct sockaddr_in *a = (struct sockaddr_in *)&t->addr;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, buf, &a->sin_addr) != 1)
			return -EINVAL;
		t->alen = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&t->addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, buf, &a->sin6_addr) != 1)
			return -EINVAL;
		t->alen = sizeof(*a);
	}
	return 0;
}

static int ofpd_port(const char *s, bool zero_ok, unsigned long *port)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	*port = strtoul(s, &end, 10);
	if (errno || (*end != '\0' && *end != ':') || *port > 65535 ||
	    (*port == 0 && !zero_ok))
		return -EINVAL;
	return (int)(end - s);
}

/* Parse @text into @t (no socket yet). 0 or -EINVAL with @err. */
static int ofpd_target_parse(struct vswd *d, const char *text,
			     struct ofpd_target *t, char *err, size_t len)
{
	unsigned long port;
	const char *rest;
	int n;

	memset(t, 0, sizeof(*t));
	t->lfd = -1;
	if (strlen(text) > OFPD_TARGET_MAX) {
		snprintf(err, len,
			 "controller target too long (at most %d "
			 "bytes)",
			 OFPD_TARGET_MAX);
		return -EINVAL;
	}
	strcpy(t->text, text);
	if (strncmp(text, "ptcp:", 5) == 0) {
		t->kind = OFPD_PTCP;
		rest = text + 5;
		n = ofpd_port(rest, true, &port);
		if (n < 0 ||
		    ofpd_inet(t, rest[n] == ':' ? rest + n + 1 : "127.0.0.1",
			      port) < 0)
			goto bad;
		return 0;
	}
	if (strncmp(text, "tcp:", 4) == 0) {
		char ip[64];
		const char *colon = strrchr(text + 4, ':');

		t->kind = OFPD_TCP;
		if (colon == NULL || (size_t)(colon - text - 4) >= sizeof(ip) ||
		    ofpd_port(colon + 1, false, &port) < 0 ||
		    colon[1 + strspn(colon + 1, "0123456789")] != '\0')
			goto bad;
		memcpy(ip, text + 4, (size_t)(colon - text - 4));
		ip[colon - text - 4] = '\0';
		if (ofpd_inet(t, ip, port) < 0)
			goto bad;
		return 0;
	}
	if (strncmp(text, "punix:", 6) == 0 || strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *a = (struct sockaddr_un *)&t->addr;
		bool passive = text[0] == 'p';
		const char *path = text + (passive ? 6 : 5);

		t->kind = passive ? OFPD_PUNIX : OFPD_UNIX;
		if (path[0] != '/' || strlen(path) >= sizeof(a->sun_path)) {
			snprintf(err, len,
				 "%s: give an absolute path of at "
				 "most %zu bytes",
				 text, sizeof(a->sun_path) - 1);
			return -EINVAL;
		}
		{
			char why[VSWD_ERR_MAX];

			if (vswd_path_check(d, path, !passive, why,
					    sizeof(why)) < 0) {
				snprintf(err, len, "%.40s: %.200s", text, why);
				return -EINVAL;
			}
		}
		a->sun_family = AF_UNIX;
		strcpy(a->sun_path, path);
		t->alen = sizeof(*a);
		return 0;
	}
bad:
	snprintf(err, len,
		 "bad controller target '%s': use ptcp:PORT[:IP], "
		 "punix:PATH, tcp:IP:PORT or unix:PATH",
		 text);
	return -EINVAL;
}

static void ofpd_bound(struct ofpd_target *t)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";

	if (getsockname(t->lfd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(t->bound, sizeof(t->bound), "%s:%u", ip,
			 ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(t->bound, sizeof(t->bound), "[%s]:%u", ip,
			 ntohs(a->sin6_port));
	}
}

/* Open @t's listener. 0 or -errno with @err. */
static int ofpd_listen(struct ofpd_target *t, char *err, size_t len)
{
	int fd, one = 1, rc;

	fd = socket(t->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (t->kind == OFPD_PTCP) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	} else {
		/*
		 * a stale socket left by an earlier vswd is replaced; a socket
		 * somebody answers on (a vhostuser port's, another program's)
		 * and any other file are not
		 */
		rc = vsw_unix_clear_stale((struct sockaddr_un *)&t->addr);
		if (rc < 0) {
			close(fd);
			snprintf(err, len, "%s: %s", t->text,
				 rc == -EADDRINUSE ? "somebody listens there" :
				 rc == -EEXIST	   ? "exists and is not a socket" :
						     strerror(-rc));
			return rc;
		}
	}
	if (bind(fd, (struct sockaddr *)&t->addr, t->alen) < 0)
		goto fail;
	if (t->kind == OFPD_PUNIX) {
		struct stat st;

		if (lstat(((struct sockaddr_un *)&t->addr)->sun_path, &st) < 0)
			goto fail;
		t->dev = st.st_dev;
		t->ino = st.st_ino;
	}
	if (listen(fd, 16) < 0)
		goto fail;
	t->lfd = fd;
	if (t->kind == OFPD_PTCP)
		ofpd_bound(t);
	else
		snprintf(t->bound, sizeof(t->bound), "%s", "");
	t->why[0] = '\0';
	return 0;
fail:
	rc = -errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, len, "%s: %s", t->text, strerror(-rc));
	return rc;
}

static void ofpd_target_close(struct ofpd_target *t)
{
	if (t->lfd >= 0) {
		const char *path = ((struct sockaddr_un *)&t->addr)->sun_path;
		struct stat st;

		close(t->lfd);
		/* only the file this listener bound, not one put there since */
		if (t->kind == OFPD_PUNIX && lstat(path, &st) == 0 &&
		    st.st_dev == t->dev && st.st_ino == t->ino)
			unlink(path);
	}
	t->lfd = -1;
}

/* ---- sessions ------------------------------------------------------------- */

static void ofpd_sess_free(struct ofpd_bridge *b, struct ofpd_sess *s,
			   const char *why)
{
	struct ofpd_sess **pp;
	unsigned int i;

	for (pp = &b->sess; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	b->n_sess--;
	for (i = 0; i < b->n_t; i++) {
		struct ofpd_target *t = &b->t[i];

		if (t->active != s)
			continue;
		t->active = NULL;
		t->next_try_ms = vsw_now_ms() + t->backoff_ms;
		snprintf(t->why, sizeof(t->why), "%s", why);
		t->backoff_ms = t->backoff_ms * 2 > OFPD_BACKOFF_MAX_MS
					? OFPD_BACKOFF_MAX_MS
					: t->backoff_ms * 2;
	}
	if (why[0] != '\0')
		vswd_log(b->d, VSW_LOG_INFO,
			 "openflow %s: %s: disconnected "
			 "(%s)",
			 b->name, s->target, why);
	vsw_ofp_conn_destroy(s->conn);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static struct ofpd_sess *ofpd_sess_new(struct ofpd_bridge *b, int fd,
				       const char *target, bool active)
{
	struct ofpd_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->br = b;
	s->fd = fd;
	s->active = active;
	snprintf(s->target, sizeof(s->target), "%s", target);
	s->last_rx_ms = vsw_now_ms();
	s->next = b->sess;
	b->sess = s;
	b->n_sess++;
	return s;
}

/* The transport is up: start the OpenFlow side. */
static int ofpd_sess_up(struct ofpd_sess *s)
{
	int rc = vsw_ofp_conn_create(&s->br->ops, s->br, &s->conn);

	s->connecting = false;
	s->last_rx_ms = vsw_now_ms();
	return rc;
}

/* Write what is queued; -errno when the connection is gone. */
static int ofpd_flush(struct ofpd_sess *s)
{
	for (;;) {
		size_t len;
		const uint8_t *p = vsw_ofp_conn_output(s->conn, &len);
		ssize_t n;

		if (p == NULL)
			return 0;
		n = send(s->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		vsw_ofp_conn_consume(s->conn, (size_t)n);
	}
}

static void ofpd_sess_input(struct ofpd_sess *s)
{
	struct ofpd_bridge *b = s->br;
	uint8_t buf[16384];
	unsigned int i;

	/* a few reads a wake-up: one peer cannot hold the loop */
	for (i = 0; i < 8; i++) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		bool was_ready;

		if (n == 0) {
			ofpd_sess_free(b, s, "closed by the peer");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			ofpd_sess_free(b, s, strerror(errno));
			return;
		}
		s->last_rx_ms = vsw_now_ms();
		s->echo_ms = 0;
		was_ready = vsw_ofp_conn_ready(s->conn);
		if (vsw_ofp_conn_input(s->conn, buf, (size_t)n) < 0) {
			ofpd_flush(s);
			ofpd_sess_free(b, s, "protocol error");
			return;
		}
		if (!was_ready && vsw_ofp_conn_ready(s->conn)) {
			unsigned int j;

			vswd_log(b->d, VSW_LOG_INFO,
				 "openflow %s: %s: connected (OpenFlow 1.3)",
				 b->name, s->target);
			for (j = 0; j < b->n_t; j++)
				if (b->t[j].active == s)
					b->t[j].backoff_ms =
						OFPD_BACKOFF_MIN_MS;
		}
	}
	if (ofpd_flush(s) < 0)
		ofpd_sess_free(b, s, "write failed");
}

/* ---- connecting ----------------------------------------------------------- */

static void ofpd_connect(struct ofpd_bridge *b, struct ofpd_target *t)
{
	struct ofpd_sess *s;
	int fd, one = 1;

	fd = socket(t->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (t->kind == OFPD_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&t->addr, t->alen) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	s = ofpd_sess_new(b, fd, t->text, true);
	if (s == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	s->connecting = true;
	t->active = s;
	return;
fail:
	snprintf(t->why, sizeof(t->why), "connect: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	t->next_try_ms = vsw_now_ms() + t->backoff_ms;
	t->backoff_ms = t->backoff_ms * 2 > OFPD_BACKOFF_MAX_MS
				? OFPD_BACKOFF_MAX_MS
				: t->backoff_ms * 2;
}

static void ofpd_connected(struct ofpd_sess *s)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr != 0) {
		char why[96];

		snprintf(why, sizeof(why), "connect: %s", strerror(soerr));
		ofpd_sess_free(s->br, s, why);
		return;
	}
	if (ofpd_sess_up(s) < 0 || ofpd_flush(s) < 0)
		ofpd_sess_free(s->br, s, "out of memory");
}

static void ofpd_accept(struct ofpd_bridge *b, struct ofpd_target *t)
{
	int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ofpd_sess *s;

	if (fd < 0)
		return;
	if (b->n_sess >= OFPD_MAX_SESS) {
		vswd_log(b->d, VSW_LOG_WARN,
			 "openflow %s: %s: connection refused (at most %d)",
			 b->name, t->text, OFPD_MAX_SESS);
		close(fd);
		return;
	}
	s = ofpd_sess_new(b, fd, t->text, false);
	if (s == NULL) {
		close(fd);
		return;
	}
	if (ofpd_sess_up(s) < 0 || ofpd_flush(s) < 0)
		ofpd_sess_free(b, s, "out of memory");
}

/* ---- the switch side (struct vsw_ofp_ops) --------------------------------- */

struct ofpd_sel {
	const struct vsw_ofp_flow_mod *fm;
	bool strict;
	struct vsw_ofp_flow_filter f;
	struct vsw_flow_match *m; /* selected rules' matches... */
	uint16_t *prio;		  /* ...priorities... */
	uint8_t *table;		  /* ...and tables */
	unsigned int n, cap;
	int (*emit)(void *ctx, const struct vsw_ofp_flow_entry *e);
	void *ctx;
};

static void ofpd_entry(const struct vsw_flow_rule *r,
		       const struct vsw_flow_stats *st,
		       struct vsw_ofp_flow_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->match = vsw_flow_rule_match(r);
	e->actions = vsw_flow_rule_actions(r);
	e->priority = (uint16_t)vsw_flow_rule_priority(r);
	vsw_flow_rule_timeouts(r, &e->cookie, &e->idle_timeout,
			       &e->hard_timeout);
	e->n_packets = st->n_packets;
	e->n_bytes = st->n_bytes;
	e->duration_ms = st->duration_ms;
	e->table_id = (uint8_t)vsw_flow_rule_table(r);
	e->flags = (uint16_t)vsw_flow_rule_flags(r);
}

static int ofpd_dump_cb(const struct vsw_flow_rule *r,
			const struct vsw_flow_stats *st, const char *line,
			void *arg)
{
	struct ofpd_sel *x = arg;
	struct vsw_ofp_flow_entry e;

	(void)line;
	ofpd_entry(r, st, &e);
	return x->emit(x->ctx, &e);
}

static int ofpd_flow_dump(void *arg,
			  int (*emit)(void *ctx,
				      const struct vsw_ofp_flow_entry *e),
			  void *ctx)
{
	struct ofpd_bridge *b = arg;
	struct ofpd_sel x = {.emit = emit, .ctx = ctx};

	return vsw_switch_flow_dump(b->d->sw, b->name, NULL, ofpd_dump_cb, &x);
}

/* Collect the rules a MODIFY / DELETE selects. */
static int ofpd_select_cb(void *arg, const struct vsw_ofp_flow_entry *e)
{
	struct ofpd_sel *x = arg;

	if (x->strict && (e->priority != x->fm->spec.priority ||
			  memcmp(&e->match->mask, &x->fm->spec.match.mask,
				 sizeof(e->match->mask)) != 0 ||
			  memcmp(&e->match->key, &x->fm->spec.match.key,
				 sizeof(e->match->key)) != 0 ||
			  /* the tunnel extension is part of the match too */
			  memcmp(&e->match->ext, &x->fm->spec.match.ext,
				 sizeof(e->match->ext)) != 0 ||
			  memcmp(&e->match->ext_mask,
				 &x->fm->spec.match.ext_mask,
				 sizeof(e->match->ext_mask)) != 0))
		return 0;
	if (!vsw_ofp_filter_match(&x->f, e))
		return 0;
	if (x->n == x->cap) {
		unsigned int cap = x->cap ? x->cap * 2 : 16;
		struct vsw_flow_match *m = realloc(x->m, cap * sizeof(*m));
		uint16_t *p;
		uint8_t *tb;

		if (m == NULL)
			return -ENOMEM;
		x->m = m;
		p = realloc(x->prio, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		x->prio = p;
		tb = realloc(x->table, cap * sizeof(*tb));
		if (tb == NULL)
			return -ENOMEM;
		x->table = tb;
		x->cap = cap;
	}
	x->m[x->n] = *e->match;
	x->table[x->n] = e->table_id;
	x->prio[x->n++] = e->priority;
	return 0;
}

static int ofpd_flow_mod(void *arg, const struct vsw_ofp_flow_mod *fm,
			 struct vsw_ofp_err *err)
{
	struct ofpd_bridge *b = arg;
	struct ofpd_sel x = {.fm = fm};
	bool del = fm->command == VSW_OFPFC_DELETE ||
		   fm->command == VSW_OFPFC_DELETE_STRICT;
	char why[VSWD_ERR_MAX] = "";
	unsigned int i;
	int rc = 0, n;

	if (fm->command == VSW_OFPFC_ADD) {
		rc = vswd_flow_change(b->d, b->name, VSWD_FLOW_ADD, &fm->spec,
				      false, &n, why, sizeof(why));
		goto out;
	}
	x.strict = fm->command == VSW_OFPFC_MODIFY_STRICT ||
		   fm->command == VSW_OFPFC_DELETE_STRICT;
	x.f.match = fm->spec.match;
	x.f.table_id = fm->spec.table_id;
	x.f.out_port = del ? fm->spec.out_port : VSW_FLOW_PORT_NONE;
	x.f.cookie = fm->spec.cookie;
	x.f.cookie_mask = fm->cookie_mask;
	rc = ofpd_flow_dump(b, ofpd_select_cb, &x);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", strerror(-rc));
		goto out;
	}
	/* OpenFlow 1.3: selecting nothing changes nothing, adds nothing */
	if (x.n == 0)
		goto out;
	if (fm->cookie_mask == 0) {
		rc = vswd_flow_change(b->d, b->name,
				      del ? VSWD_FLOW_DEL : VSWD_FLOW_MOD,
				      &fm->spec, x.strict, &n, why,
				      sizeof(why));
		goto out;
	}
	/* by cookie: each selected rule, strictly */
	for (i = 0; i < x.n && rc == 0; i++) {
		struct vsw_flow_spec s = fm->spec;

		s.match = x.m[i];
		s.priority = x.prio[i];
		s.table_id = x.table[i];
		s.out_port = VSW_FLOW_PORT_NONE;
		rc = vswd_flow_change(b->d, b->name,
				      del ? VSWD_FLOW_DEL : VSWD_FLOW_MOD, &s,
				      true, &n, why, sizeof(why));
	}
out:
	free(x.m);
	free(x.prio);
	free(x.table);
	if (rc < 0) {
		err->type = VSW_OFPET_FLOW_MOD_FAILED;
		err->code = rc == -ENOSPC   ? VSW_OFPFMFC_TABLE_FULL
			    : rc == -EEXIST ? VSW_OFPFMFC_OVERLAP
					    : VSW_OFPFMFC_UNKNOWN;
		snprintf(err->why, sizeof(err->why), "%s",
			 why[0] ? why : strerror(-rc));
	}
	return rc;
}

/* A bridge's ports' link states (vsw_switch_port_iter), by name. */
struct ofpd_link {
	char name[VSW_CFG_NAME_MAX + 1];
	bool up;
	uint8_t hw_addr[6];
};

struct ofpd_links {
	struct ofpd_link *v;
	unsigned int n, cap;
};

static int ofpd_links_cb(const struct vsw_port_info *info, void *arg)
{
	struct ofpd_links *l = arg;

	if (l->n == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 16;
		struct ofpd_link *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", info->name);
	memcpy(l->v[l->n].hw_addr, info->hw_addr, 6);
	l->v[l->n++].up = info->link_up;
	return 0;
}

/* Port @name as the switch has it; NULL: not open in the switch. */
static const struct ofpd_link *ofpd_link_find(const struct ofpd_links *l,
					      const char *name)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

struct ofpd_ports {
	struct ofpd_bridge *b;
	int (*emit)(void *ctx, const struct vsw_ofp_port *p);
	void *ctx;
	int rc;
	bool no_stats; /* the description only (PORT_STATUS) */
	struct ofpd_links links;
};

static int ofpd_port_cb(void *opaque, const struct vsw_cfg_port *p)
{
	struct ofpd_ports *x = opaque;
	const struct ofpd_link *lk = ofpd_link_find(&x->links, p->name);
	struct vsw_port_stats st;
	struct vsw_ofp_port op;

	memset(&op, 0, sizeof(op));
	op.port_no = p->ofport;
	snprintf(op.name, sizeof(op.name), "%s", p->name);
	/* a pending port (not open) and a port whose provider says down */
	op.link_down = vswd_pending_find(x->b->d, p->name) != NULL ||
		       lk == NULL || !lk->up;
	if (lk != NULL)
		memcpy(op.hw_addr, lk->hw_addr, 6);
	if (!x->no_stats && vswd_pending_find(x->b->d, p->name) == NULL &&
	    vsw_switch_port_stats(x->b->d->sw, p->name, &st) == 0) {
		unsigned int i;

		op.has_stats = true;
		op.rx_packets = st.rx.packets;
		op.tx_packets = st.tx.packets;
		op.rx_bytes = st.rx.bytes;
		op.tx_bytes = st.tx.bytes;
		for (i = 0; i < VSW_DROP__COUNT; i++) {
			op.rx_dropped += st.rx.drops[i];
			op.tx_dropped += st.tx.drops[i];
		}
	}
	x->rc = x->emit(x->ctx, &op);
	return x->rc;
}

/* Every port of @b (the stored ones, pending too) to @emit. */
static int ofpd_ports_walk(struct ofpd_bridge *b, bool no_stats,
			   int (*emit)(void *ctx, const struct vsw_ofp_port *p),
			   void *ctx)
{
	struct ofpd_ports x = {
		.b = b, .emit = emit, .ctx = ctx, .no_stats = no_stats};
	int rc;

	rc = vsw_switch_port_iter(b->d->sw, b->name, ofpd_links_cb, &x.links);
	if (rc == 0 || rc == -ENOENT) /* a bridge without ports yet */
		rc = vsw_cfg_port_foreach(b->d->cfg, b->name, ofpd_port_cb, &x);
	free(x.links.v);
	return x.rc ? x.rc : rc;
}

static int ofpd_port_dump(void *arg,
			  int (*emit)(void *ctx, const struct vsw_ofp_port *p),
			  void *ctx)
{
	return ofpd_ports_walk(arg, false, emit, ctx);
}

/* ---- port status ------------------------------------------------------------ */

struct ofpd_portlist {
	struct vsw_ofp_port *p;
	unsigned int n, cap;
};

static int ofpd_portlist_cb(void *ctx, const struct vsw_ofp_port *p)
{
	struct ofpd_portlist *l = ctx;

	if (l->n == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 16;
		struct vsw_ofp_port *v = realloc(l->p, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->p = v;
		l->cap = cap;
	}
	l->p[l->n++] = *p;
	return 0;
}

/* @b's ports now, into @l (free l->p). 0 or negative errno. */
static int ofpd_ports_now(struct ofpd_bridge *b, struct ofpd_portlist *l)
{
	int rc;

	memset(l, 0, sizeof(*l));
	rc = ofpd_ports_walk(b, true, ofpd_portlist_cb, l);
	if (rc < 0) {
		free(l->p);
		memset(l, 0, sizeof(*l));
	}
	return rc;
}

static const struct vsw_ofp_port *ofpd_port_in(const struct vsw_ofp_port *v,
					       unsigned int n, uint32_t no)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (v[i].port_no == no)
			return &v[i];
	return NULL;
}

/* One PORT_STATUS to every connection of @b that wants it. */
static void ofpd_port_tell(struct ofpd_bridge *b,
			   enum vsw_ofp_port_reason reason,
			   const struct vsw_ofp_port *p)
{
	static const char *const names[] = {"add", "delete", "modify"};
	struct ofpd_sess *s;

	vswd_log(b->d, VSW_LOG_DEBUG, "openflow %s: port %u (%s): %s%s",
		 b->name, p->port_no, p->name, names[reason],
		 p->link_down ? ", link down" : "");
	for (s = b->sess; s != NULL; s = s->next) {
		/* not ready: it learns the ports with PORT_DESC; 0 also when
		 * SET_ASYNC / the role masks it off */
		if (s->conn != NULL && vsw_ofp_conn_ready(s->conn) &&
		    vsw_ofp_conn_port_status(s->conn, reason, p) < 0)
			vswd_log(b->d, VSW_LOG_WARN,
				 "openflow %s: %s: port_status not queued "
				 "(output full)",
				 b->name, s->target);
	}
}

/*
 * Compare @b's ports with what its controllers were told; tell them each
 * difference (deleted first, so that a port number reused by another port
 * reads as a delete then an add) and remember the new set.
 */
static void ofpd_ports_sync(struct ofpd_bridge *b)
{
	struct ofpd_portlist now;
	const struct vsw_ofp_port *o;
	unsigned int i;

	if (ofpd_ports_now(b, &now) < 0)
		return; /* tried again at the next look */
	for (i = 0; i < b->n_ports; i++) {
		o = ofpd_port_in(now.p, now.n, b->ports[i].port_no);
		if (o == NULL || strcmp(o->name, b->ports[i].name) != 0)
			ofpd_port_tell(b, VSW_OFPPR_DELETE, &b->ports[i]);
	}
	for (i = 0; i < now.n; i++) {
		o = ofpd_port_in(b->ports, b->n_ports, now.p[i].port_no);
		if (o == NULL || strcmp(o->name, now.p[i].name) != 0)
			ofpd_port_tell(b, VSW_OFPPR_ADD, &now.p[i]);
		else if (!vsw_ofp_port_desc_eq(o, &now.p[i]))
			ofpd_port_tell(b, VSW_OFPPR_MODIFY, &now.p[i]);
	}
	free(b->ports);
	b->ports = now.p;
	b->n_ports = now.n;
}

static void ofpd_flush_all(struct vswd *d);

/*
 * Every bridge with controllers: its port changes told, then written. A
 * bridge without a connection has its set brought up to date too, so that
 * a controller connecting later (PORT_DESC) is not told them again.
 */
static void ofpd_ports_run(struct vswd *d)
{
	struct ofpd_bridge *b;

	d->ofp->ports_dirty = false;
	d->ofp->next_ports_ms = vsw_now_ms() + OFPD_PORTS_MS;
	for (b = d->ofp->bridges; b != NULL; b = b->next)
		ofpd_ports_sync(b);
	ofpd_flush_all(d);
}

void vswd_ofp_ports_changed(struct vswd *d)
{
	if (d->ofp != NULL)
		d->ofp->ports_dirty = true;
}

struct ofpd_tables {
	uint32_t active[VSW_FLOW_N_TABLES];
	uint64_t packets[VSW_FLOW_N_TABLES];
};

static int ofpd_count_cb(void *ctx, const struct vsw_ofp_flow_entry *e)
{
	struct ofpd_tables *x = ctx;

	if (e->table_id < VSW_FLOW_N_TABLES) {
		x->active[e->table_id]++;
		x->packets[e->table_id] += e->n_packets;
	}
	return 0;
}

static void ofpd_table_stats(void *arg, uint8_t table, uint32_t *active,
			     uint64_t *lookups, uint64_t *matched)
{
	struct ofpd_bridge *b = arg;
	struct ofpd_tables *x;

	/* one dump per request: table 0 is asked first, the rest reuse it */
	if (table == 0 || b->tables == NULL) {
		free(b->tables);
		b->tables = calloc(1, sizeof(*b->tables));
		if (b->tables == NULL)
			return;
		ofpd_flow_dump(b, ofpd_count_cb, b->tables);
	}
	x = b->tables;
	if (table >= VSW_FLOW_N_TABLES)
		return;
	*active = x->active[table];
	/*
	 * vsw counts packets per rule, not lookups per table: a table miss
	 * is a drop counted on the port. Both are the rules' packets.
	 */
	*lookups = x->packets[table];
	*matched = x->packets[table];
	if (table == VSW_FLOW_N_TABLES - 1) {
		free(b->tables);
		b->tables = NULL;
	}
}

static int ofpd_role(void *arg, struct vsw_ofp_conn *c, enum vsw_ofp_role role,
		     uint64_t generation_id, uint64_t *current,
		     struct vsw_ofp_err *err)
{
	struct ofpd_bridge *b = arg;
	struct ofpd_sess *s;

	/* as Open vSwitch: the reply carries the bridge's generation id */
	if (role != VSW_OFPCR_ROLE_MASTER && role != VSW_OFPCR_ROLE_SLAVE) {
		if (b->role_gen.set)
			*current = b->role_gen.id;
		return 0;
	}
	if (vsw_ofp_role_gen_stale(&b->role_gen, generation_id)) {
		err->type = VSW_OFPET_ROLE_REQUEST_FAILED;
		err->code = VSW_OFPRRFC_STALE;
		snprintf(err->why, sizeof(err->why),
			 "generation id %" PRIu64 " older than %" PRIu64,
			 generation_id, b->role_gen.id);
		return -EPROTO;
	}
	*current = b->role_gen.id;
	if (role != VSW_OFPCR_ROLE_MASTER)
		return 0;
	for (s = b->sess; s != NULL; s = s->next) {
		if (s->conn == NULL || s->conn == c ||
		    vsw_ofp_conn_role(s->conn) != VSW_OFPCR_ROLE_MASTER)
			continue;
		vsw_ofp_conn_set_role(s->conn, VSW_OFPCR_ROLE_SLAVE);
		vswd_log(b->d, VSW_LOG_INFO,
			 "openflow %s: %s: now a slave (another master)",
			 b->name, s->target);
	}
	return 0;
}

static struct ofpd_bridge *ofpd_find(struct vswd *d, const char *name);

/* The switch removed a rule (vsw_switch_set_flow_removed_cb). */
static void ofpd_flow_removed(void *arg, const char *bridge,
			      const struct vsw_flow_rule *r,
			      const struct vsw_flow_stats *st,
			      enum vsw_flow_removed_reason reason)
{
	struct vswd *d = arg;
	struct ofpd_bridge *b;
	struct vsw_ofp_flow_entry e;
	struct ofpd_sess *s;

	if (!(vsw_flow_rule_flags(r) & VSW_FLOW_F_SEND_FLOW_REM) ||
	    d->ofp == NULL || d->ofp->mute_removed)
		return;
	b = ofpd_find(d, bridge);
	if (b == NULL)
		return;
	ofpd_entry(r, st, &e);
	/* queued: each session's output is written by the poll loop */
	for (s = b->sess; s != NULL; s = s->next)
		if (s->conn != NULL &&
		    vsw_ofp_conn_flow_removed(s->conn, &e, reason) < 0)
			vswd_log(d, VSW_LOG_WARN,
				 "openflow %s: %s: flow_removed not queued",
				 b->name, s->target);
}

void vswd_ofp_mute_removed(struct vswd *d, bool mute)
{
	if (d->ofp != NULL)
		d->ofp->mute_removed = mute;
}

static int ofpd_packet_out(void *arg, const struct vsw_ofp_packet_out *po,
			   struct vsw_ofp_err *err)
{
	struct ofpd_bridge *b = arg;
	char why[VSWD_ERR_MAX];
	int rc;

	rc = vsw_switch_packet_out(b->d->sw, b->name, po->in_port,
				   po->actions->a, po->actions->n, po->data,
				   (uint32_t)po->len, why, sizeof(why));
	if (rc < 0) {
		err->type = VSW_OFPET_BAD_REQUEST;
		err->code = rc == -EINVAL ? VSW_OFPBRC_BAD_LEN
					  : VSW_OFPBRC_BUFFER_EMPTY;
		snprintf(err->why, sizeof(err->why), "%.120s", why);
	}
	return rc;
}

static struct ofpd_bridge *ofpd_find(struct vswd *d, const char *name);

/* The bridge's stored fail mode is secure. */
static bool ofpd_is_secure(struct vswd *d, const char *bridge)
{
	char mode[32];

	return vsw_cfg_fail_mode_get(d->cfg, bridge, mode, sizeof(mode)) == 0 &&
	       strcmp(mode, "secure") == 0;
}

static bool ofpd_any_ready(const struct ofpd_bridge *b)
{
	const struct ofpd_sess *s;

	for (s = b->sess; s != NULL; s = s->next)
		if (s->conn != NULL && vsw_ofp_conn_ready(s->conn))
			return true;
	return false;
}

/*
 * Fail-open (standalone): no controller connected for OFPD_FAIL_OPEN_MS,
 * the bridge forwards as normal; a controller connected, or secure: by
 * the table.
 */
static void ofpd_fail_check(struct ofpd_bridge *b, uint64_t now)
{
	bool want;
	char why[VSWD_ERR_MAX];

	if (ofpd_any_ready(b)) {
		b->down_since_ms = 0;
		want = false;
	} else {
		if (b->down_since_ms == 0)
			b->down_since_ms = now;
		want = !b->secure &&
		       now >= b->down_since_ms + OFPD_FAIL_OPEN_MS;
	}
	if (want == b->fail_open)
		return;
	if (vsw_switch_set_fail_open(b->d->sw, b->name, want, why,
				     sizeof(why)) < 0) {
		vswd_log(b->d, VSW_LOG_WARN, "openflow %s: fail-open: %s",
			 b->name, why);
		return;
	}
	b->fail_open = want;
	vswd_log(b->d, VSW_LOG_INFO,
		 want ? "openflow %s: no controller for %d s: standalone, "
			"forwarding as a learning switch"
		      : "openflow %s: controller connected: forwarding by "
			"the flow table",
		 b->name, OFPD_FAIL_OPEN_MS / 1000);
}

/* One packet-in from the data path: to every connected controller. */
static void ofpd_pin_cb(void *arg, const struct vsw_packet_in *pi)
{
	struct vswd *d = arg;
	struct ofpd_bridge *b = ofpd_find(d, pi->bridge);
	struct vsw_ofp_packet_in m = {
		.reason = pi->reason,
		.table_id = 0,
		.cookie = pi->cookie,
		.in_port = pi->in_port,
		.total_len = pi->total_len,
		.data = pi->data,
		.len = pi->len,
	};
	struct ofpd_sess *s;
	uint64_t now;

	if (b == NULL) {
		d->ofp->pin_nobody++;
		return;
	}
	now = vsw_now_ms();
	b->pin_tokens += (now - b->pin_last_ms) * OFPD_PIN_RATE;
	if (b->pin_tokens > OFPD_PIN_BURST * 1000ull)
		b->pin_tokens = OFPD_PIN_BURST * 1000ull;
	b->pin_last_ms = now;
	if (b->pin_tokens < 1000) {
		b->pin_limited++;
		return;
	}
	b->pin_tokens -= 1000;
	for (s = b->sess; s != NULL; s = s->next) {
		int rc;

		/* ready, and not a slave (or masked off by SET_ASYNC) */
		if (s->conn == NULL ||
		    !vsw_ofp_conn_async_wanted(s->conn, VSW_OFP_ASYNC_PACKET_IN,
					       m.reason))
			continue;
		rc = vsw_ofp_conn_packet_in(s->conn, &m);
		if (rc == 0)
			b->pin_sent++;
		else if (rc == -ENOBUFS)
			b->pin_full++;
	}
}

/* Hand the data path's packet-ins to the controllers, then write. */
static void ofpd_pin_run(struct vswd *d)
{
	unsigned int n;

	n = vsw_switch_packet_in_poll(d->sw, ofpd_pin_cb, d, OFPD_PIN_BUDGET);
	d->ofp->pin_more = n >= OFPD_PIN_BUDGET;
	if (n > 0)
		ofpd_flush_all(d);
}

/* Write what every session has queued (asynchronous messages). */
static void ofpd_flush_all(struct vswd *d)
{
	struct ofpd_bridge *b;
	struct ofpd_sess *s, *next;

	for (b = d->ofp->bridges; b != NULL; b = b->next) {
		for (s = b->sess; s != NULL; s = next) {
			next = s->next;
			if (s->conn != NULL && !s->connecting &&
			    ofpd_flush(s) < 0)
				ofpd_sess_free(b, s, "write failed");
		}
	}
}

/* ---- bridges -------------------------------------------------------------- */

static struct ofpd_bridge *ofpd_find(struct vswd *d, const char *name)
{
	struct ofpd_bridge *b;

	for (b = d->ofp ? d->ofp->bridges : NULL; b != NULL; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

static void ofpd_bridge_free(struct ofpd_bridge *b)
{
	unsigned int i;

	/* no controllers any more: the flow table alone again */
	if (b->fail_open &&
	    vsw_switch_set_fail_open(b->d->sw, b->name, false, NULL, 0) < 0)
		vswd_log(b->d, VSW_LOG_WARN, "openflow %s: fail-open not "
			 "cleared", b->name);
	while (b->sess != NULL)
		ofpd_sess_free(b, b->sess, "");
	for (i = 0; i < b->n_t; i++)
		ofpd_target_close(&b->t[i]);
	free(b->tables);
	free(b->ports);
	free(b);
}

static void ofpd_unlink(struct vswd *d, struct ofpd_bridge *b)
{
	struct ofpd_bridge **pp;

	for (pp = &d->ofp->bridges; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			return;
		}
	}
}

/* A stable datapath id from the bridge name (FNV-1a, 48 bits). */
static uint64_t ofpd_dpid(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
	return h & 0xffffffffffffull;
}

/*
 * A new bridge object for @targets (parsed, listeners opened). Listeners
 * and connections of @old whose target stays are moved over, so that a
 * set-controller naming a listener again keeps it (and its port).
 */
static int ofpd_build(struct vswd *d, const char *bridge, char **targets,
		      unsigned int n, struct ofpd_bridge *old,
		      struct ofpd_bridge **out, char *err, size_t len)
{
	struct ofpd_bridge *b = calloc(1, sizeof(*b));
	unsigned int i, j;
	int rc;

	if (b == NULL) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	b->d = d;
	snprintf(b->name, sizeof(b->name), "%s", bridge);
	b->secure = ofpd_is_secure(d, bridge);
	b->down_since_ms = vsw_now_ms();
	b->pin_tokens = OFPD_PIN_BURST * 1000ull;
	b->pin_last_ms = vsw_now_ms();
	/* the ports now: a controller learns them with PORT_DESC */
	{
		struct ofpd_portlist l;

		if (ofpd_ports_now(b, &l) == 0) {
			b->ports = l.p;
			b->n_ports = l.n;
		}
	}
	snprintf(b->dp_desc, sizeof(b->dp_desc), "vsw bridge %s", bridge);
	b->ops = (struct vsw_ofp_ops){
		.flow_mod = ofpd_flow_mod,
		.flow_dump = ofpd_flow_dump,
		.port_dump = ofpd_port_dump,
		.table_stats = ofpd_table_stats,
		.role = ofpd_role,
		.packet_out = ofpd_packet_out,
		.log = ofpd_log_cb,
		.datapath_id = ofpd_dpid(bridge),
		.dp_desc = b->dp_desc,
	};
	for (i = 0; i < n; i++) {
		struct ofpd_target *t = &b->t[i];

		rc = ofpd_target_parse(d, targets[i], t, err, len);
		if (rc < 0)
			goto fail;
		b->n_t = i + 1;
		for (j = 0; j < i; j++) {
			if (strcmp(b->t[j].text, t->text) == 0) {
				snprintf(err, len,
					 "controller target '%s' "
					 "given twice",
					 t->text);
				rc = -EINVAL;
				goto fail;
			}
		}
		t->backoff_ms = OFPD_BACKOFF_MIN_MS;
	}
	/* take over what stays; open the new listeners */
	for (i = 0; i < b->n_t; i++) {
		struct ofpd_target *t = &b->t[i];

		for (j = 0; old != NULL && j < old->n_t; j++) {
			if (strcmp(old->t[j].text, t->text) != 0)
				continue;
			t->lfd = old->t[j].lfd;
			t->dev = old->t[j].dev;
			t->ino = old->t[j].ino;
			old->t[j].lfd = -1;
			memcpy(t->bound, old->t[j].bound, sizeof(t->bound));
		}
		if ((t->kind == OFPD_PTCP || t->kind == OFPD_PUNIX) &&
		    t->lfd < 0) {
			rc = ofpd_listen(t, err, len);
			if (rc < 0)
				goto fail;
		}
	}
	*out = b;
	return 0;
fail:
	/* give back what was taken over */
	for (i = 0; i < b->n_t; i++) {
		for (j = 0; old != NULL && j < old->n_t; j++) {
			if (strcmp(old->t[j].text, b->t[i].text) == 0 &&
			    old->t[j].lfd < 0 && b->t[i].lfd >= 0) {
				old->t[j].lfd = b->t[i].lfd;
				b->t[i].lfd = -1;
			}
		}
	}
	ofpd_bridge_free(b);
	return rc;
}

/*
 * Put @nb in place of @old (NULL: none). The listeners that stay were moved
 * into @nb by ofpd_build(); the connections of @old are closed (a
 * controller dialled again reconnects at once, a listener's peers
 * reconnect as they do after any disconnection).
 */
static void ofpd_install(struct vswd *d, struct ofpd_bridge *old,
			 struct ofpd_bridge *nb)
{
	if (old != NULL) {
		if (nb != NULL) {
			/* the bridge's state goes on */
			nb->fail_open = old->fail_open;
			nb->down_since_ms = old->down_since_ms
						    ? old->down_since_ms
						    : vsw_now_ms();
			nb->pin_sent = old->pin_sent;
			nb->pin_limited = old->pin_limited;
			nb->pin_full = old->pin_full;
			old->fail_open = false;
		}
		ofpd_unlink(d, old);
		ofpd_bridge_free(old);
	}
	if (nb != NULL) {
		nb->next = d->ofp->bridges;
		d->ofp->bridges = nb;
	}
}

/* Split the stored "T1 T2 ..." in place; the number of targets. */
static unsigned int ofpd_split(char *s, char **v, unsigned int max)
{
	unsigned int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, " ", &save); tok != NULL && n < max;
	     tok = strtok_r(NULL, " ", &save))
		v[n++] = tok;
	return n;
}

static int ofpd_restore_cb(void *opaque, const char *name)
{
	struct vswd *d = opaque;
	char buf[VSW_CFG_CONTROLLERS_MAX + 1], err[VSWD_ERR_MAX];
	char *v[OFPD_MAX_TARGETS];
	struct ofpd_bridge *b;
	unsigned int n;

	if (vsw_cfg_controllers_get(d->cfg, name, buf, sizeof(buf)) < 0) {
		vswd_log(d, VSW_LOG_ERR, "openflow %s: %s", name,
			 vsw_cfg_why(d->cfg));
		return 0;
	}
	n = ofpd_split(buf, v, OFPD_MAX_TARGETS);
	if (n == 0)
		return 0;
	if (ofpd_build(d, name, v, n, NULL, &b, err, sizeof(err)) < 0) {
		vswd_log(d, VSW_LOG_ERR,
			 "openflow %s: stored controllers not started: %s",
			 name, err);
		return 0;
	}
	ofpd_install(d, NULL, b);
	vswd_log(d, VSW_LOG_INFO, "openflow %s: %u controller targets", name,
		 n);
	return 0;
}

int vswd_ofp_init(struct vswd *d)
{
	d->ofp = calloc(1, sizeof(*d->ofp));
	if (d->ofp == NULL)
		return -ENOMEM;
	vsw_switch_set_flow_removed_cb(d->sw, ofpd_flow_removed, d);
	return 0;
}

void vswd_ofp_restore(struct vswd *d)
{
	if (vsw_cfg_bridge_foreach(d->cfg, ofpd_restore_cb, d) < 0)
		vswd_log(d, VSW_LOG_ERR, "openflow: %s", vsw_cfg_why(d->cfg));
}

void vswd_ofp_fini(struct vswd *d)
{
	if (d->ofp == NULL)
		return;
	while (d->ofp->bridges != NULL) {
		struct ofpd_bridge *b = d->ofp->bridges;

		d->ofp->bridges = b->next;
		ofpd_bridge_free(b);
	}
	free(d->ofp->slots);
	free(d->ofp);
	d->ofp = NULL;
	if (d->sw != NULL)
		vsw_switch_set_flow_removed_cb(d->sw, NULL, NULL);
}

void vswd_ofp_bridge_gone(struct vswd *d, const char *bridge)
{
	struct ofpd_bridge *b = ofpd_find(d, bridge);

	if (b != NULL) {
		ofpd_unlink(d, b);
		ofpd_bridge_free(b);
	}
}

/* ---- the poll loop -------------------------------------------------------- */

static void ofpd_slot(struct vswd_ofp *o, struct pollfd *fds, unsigned int max,
		      unsigned int *n, int fd, short ev, struct ofpd_target *t,
		      struct ofpd_sess *s)
{
	if (*n < max && *n < o->cap_slots) {
		fds[*n] = (struct pollfd){.fd = fd, .events = ev};
		o->slots[*n] = (struct ofpd_slot){.t = t, .s = s};
	} else if (*n < max) {
		/* no slot to remember it by (out of memory): not polled */
		fds[*n] = (struct pollfd){.fd = -1};
	}
	(*n)++;
}

unsigned int vswd_ofp_pollfds(struct vswd *d, struct pollfd *fds,
			      unsigned int max)
{
	struct vswd_ofp *o = d->ofp;
	struct ofpd_bridge *b;
	struct ofpd_sess *s;
	unsigned int n = 0, i;

	if (o == NULL)
		return 0;
	if (o->cap_slots < max) {
		struct ofpd_slot *p = realloc(o->slots, max * sizeof(*p));

		if (p != NULL) {
			o->slots = p;
			o->cap_slots = max;
		}
	}
	/* the data path's packet-ins (a slot with neither t nor s) */
	ofpd_slot(o, fds, max, &n, vsw_switch_packet_in_fd(d->sw), POLLIN,
		  NULL, NULL);
	for (b = o->bridges; b != NULL; b = b->next) {
		for (i = 0; i < b->n_t; i++)
			if (b->t[i].lfd >= 0)
				ofpd_slot(o, fds, max, &n, b->t[i].lfd, POLLIN,
					  &b->t[i], NULL);
		for (s = b->sess; s != NULL; s = s->next) {
			size_t len = 0;
			short ev = POLLIN;

			if (s->connecting)
				ev = POLLOUT;
			else if (vsw_ofp_conn_output(s->conn, &len) != NULL)
				ev |= POLLOUT;
			ofpd_slot(o, fds, max, &n, s->fd, ev, NULL, s);
		}
	}
	o->n_slots = n <= max ? (n < o->cap_slots ? n : o->cap_slots) : 0;
	return n;
}

int vswd_ofp_timeout_ms(struct vswd *d)
{
	uint64_t now = vsw_now_ms(), next = UINT64_MAX;
	struct ofpd_bridge *b;
	struct ofpd_sess *s;
	unsigned int i;

	if (d->ofp == NULL)
		return -1;
	if (d->ofp->pin_more)
		return 0;
	if (d->ofp->bridges == NULL)
		return -1;
	if (d->ofp->ports_dirty)
		return 0;
	next = d->ofp->next_ports_ms;
	for (b = d->ofp->bridges; b != NULL; b = b->next) {
		for (i = 0; i < b->n_t; i++)
			if ((b->t[i].kind == OFPD_TCP ||
			     b->t[i].kind == OFPD_UNIX) &&
			    b->t[i].active == NULL &&
			    b->t[i].next_try_ms < next)
				next = b->t[i].next_try_ms;
		if (!b->secure && !b->fail_open && b->down_since_ms &&
		    b->down_since_ms + OFPD_FAIL_OPEN_MS < next)
			next = b->down_since_ms + OFPD_FAIL_OPEN_MS;
		for (s = b->sess; s != NULL; s = s->next) {
			bool ready = s->conn && vsw_ofp_conn_ready(s->conn);
			uint64_t at = s->echo_ms || !ready
					      ? s->last_rx_ms + OFPD_DEAD_MS
					      : s->last_rx_ms + OFPD_PROBE_MS;

			if (at < next)
				next = at;
		}
	}
	/* and once a second for bridges deleted under us */
	if (d->ofp->next_check_ms < next)
		next = d->ofp->next_check_ms;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/* Is session @s still linked (an earlier entry may have freed it)? */
static bool ofpd_sess_live(struct vswd_ofp *o, struct ofpd_sess *s, int fd)
{
	struct ofpd_bridge *b;
	struct ofpd_sess *x;

	for (b = o->bridges; b != NULL; b = b->next)
		for (x = b->sess; x != NULL; x = x->next)
			if (x == s && x->fd == fd)
				return true;
	return false;
}

static bool ofpd_target_live(struct vswd_ofp *o, struct ofpd_target *t,
			     struct ofpd_bridge **owner)
{
	struct ofpd_bridge *b;

	for (b = o->bridges; b != NULL; b = b->next)
		if (t >= b->t && t < b->t + b->n_t) {
			*owner = b;
			return true;
		}
	return false;
}

static void ofpd_timers(struct vswd *d)
{
	uint64_t now = vsw_now_ms();
	struct ofpd_bridge *b, *nb;
	struct ofpd_sess *s, *next;
	unsigned int i;

	if (now >= d->ofp->next_check_ms) {
		d->ofp->next_check_ms = now + 1000;
		for (b = d->ofp->bridges; b != NULL; b = nb) {
			nb = b->next;
			if (vsw_cfg_bridge_exists(d->cfg, b->name) == 0) {
				vswd_log(d, VSW_LOG_INFO,
					 "openflow %s: bridge "
					 "deleted, controllers closed",
					 b->name);
				vswd_ofp_bridge_gone(d, b->name);
			}
		}
	}
	for (b = d->ofp->bridges; b != NULL; b = b->next) {
		for (s = b->sess; s != NULL; s = next) {
			next = s->next;
			if (s->conn == NULL || !vsw_ofp_conn_ready(s->conn)) {
				/* no connection or no HELLO in time */
				if (now >= s->last_rx_ms + OFPD_DEAD_MS)
					ofpd_sess_free(
						b, s,
						s->conn ? "no HELLO"
							: "connect timed "
							  "out");
				continue;
			}
			if (s->echo_ms && now >= s->last_rx_ms + OFPD_DEAD_MS) {
				ofpd_sess_free(b, s, "no answer to echo");
				continue;
			}
			if (!s->echo_ms &&
			    now >= s->last_rx_ms + OFPD_PROBE_MS) {
				s->echo_ms = now;
				if (vsw_ofp_conn_echo(s->conn) < 0 ||
				    ofpd_flush(s) < 0)
					ofpd_sess_free(b, s, "write failed");
			}
		}
		for (i = 0; i < b->n_t; i++) {
			struct ofpd_target *t = &b->t[i];

			if ((t->kind == OFPD_TCP || t->kind == OFPD_UNIX) &&
			    t->active == NULL && now >= t->next_try_ms)
				ofpd_connect(b, t);
		}
		ofpd_fail_check(b, now);
	}
}

void vswd_ofp_handle(struct vswd *d, const struct pollfd *fds, unsigned int n)
{
	struct vswd_ofp *o = d->ofp;
	unsigned int i;

	if (o == NULL)
		return;
	for (i = 0; fds != NULL && i < n && i < o->n_slots; i++) {
		struct ofpd_slot *sl = &o->slots[i];
		struct ofpd_bridge *b;

		if (fds[i].revents == 0)
			continue;
		if (sl->t == NULL && sl->s == NULL) {
			ofpd_pin_run(d);
			continue;
		}
		if (sl->t != NULL) {
			if (ofpd_target_live(o, sl->t, &b) &&
			    sl->t->lfd == fds[i].fd)
				ofpd_accept(b, sl->t);
			continue;
		}
		if (!ofpd_sess_live(o, sl->s, fds[i].fd))
			continue;
		if (sl->s->connecting) {
			ofpd_connected(sl->s);
			continue;
		}
		if (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
			ofpd_sess_input(sl->s);
			continue;
		}
		if ((fds[i].revents & POLLOUT) && ofpd_flush(sl->s) < 0)
			ofpd_sess_free(sl->s->br, sl->s, "write failed");
	}
	o->n_slots = 0;
	if (o->pin_more)
		ofpd_pin_run(d);
	ofpd_timers(d);
	if (o->ports_dirty || vsw_now_ms() >= o->next_ports_ms)
		ofpd_ports_run(d);
}

/* ---- JSON-RPC ------------------------------------------------------------- */

int vswd_m_controller_set(void *opaque, json_t *params, json_t **result,
			  struct vsw_rpc_err *e)
{
	static const char *const known[] = {"bridge", "targets", NULL};
	struct vswd *d = opaque;
	char *v[OFPD_MAX_TARGETS], joined[VSW_CFG_CONTROLLERS_MAX + 1];
	char err[VSWD_ERR_MAX];
	struct ofpd_bridge *old, *nb;
	json_t *targets, *t;
	const char *br;
	size_t i, n, off = 0;
	int rc;

	if (d->ofp == NULL) /* only before the loop started */
		return vsw_rpc_fail(e, 0, EAGAIN, "OpenFlow is not started");
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc < 0)
		return rc;
	targets = json_object_get(params, "targets");
	n = json_array_size(targets);
	if (!json_is_array(targets) || n == 0 || n > OFPD_MAX_TARGETS)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"targets\" must be an array of 1 to %d "
				    "controller targets",
				    OFPD_MAX_TARGETS);
	json_array_foreach(targets, i, t)
	{
		const char *s = json_string_value(t);

		if (s == NULL || s[0] == '\0' || strchr(s, ' ') != NULL ||
		    strlen(s) > OFPD_TARGET_MAX)
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "controller target %zu: a string "
					    "of 1 to %d bytes without spaces",
					    i + 1, OFPD_TARGET_MAX);
		v[i] = (char *)s;
		off += (size_t)snprintf(joined + off, sizeof(joined) - off,
					"%s%s", i ? " " : "", s);
	}
	old = ofpd_find(d, br);
	rc = ofpd_build(d, br, v, (unsigned int)n, old, &nb, err, sizeof(err));
	if (rc < 0)
		return vsw_rpc_fail(e,
				    rc == -EINVAL ? VSW_RPC_INVALID_PARAMS : 0,
				    -rc, "%s", err);
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_controllers_set(d->cfg, br, joined);
	if (rc < 0) {
		vswd_cfg_fail(d, e, rc);
		goto undo;
	}
	rc = vswd_commit(d, e);
	if (rc < 0)
		goto undo;
	ofpd_install(d, old, nb);
	vswd_log(d, VSW_LOG_INFO, "openflow %s: controllers %s", br, joined);
	*result = json_pack("{s:s}", "bridge", br);
	return 0;
undo:
	/* the listeners taken over go back to @old */
	for (i = 0; i < nb->n_t; i++) {
		unsigned int j;

		for (j = 0; old != NULL && j < old->n_t; j++) {
			if (strcmp(old->t[j].text, nb->t[i].text) == 0 &&
			    old->t[j].lfd < 0) {
				old->t[j].lfd = nb->t[i].lfd;
				nb->t[i].lfd = -1;
			}
		}
	}
	ofpd_bridge_free(nb);
	return -e->errnum;
}

/* Params: exactly "bridge", an existing one. */
static int ofpd_bridge_only(struct vswd *d, json_t *params, const char **br,
			    struct vsw_rpc_err *e)
{
	static const char *const known[] = {"bridge", NULL};
	int rc = vsw_rpc_params_only(params, known, e);

	return rc < 0 ? rc : vswd_bridge_param(d, params, true, br, e);
}

int vswd_m_controller_del(void *opaque, json_t *params, json_t **result,
			  struct vsw_rpc_err *e)
{
	struct vswd *d = opaque;
	const char *br;
	int rc;

	rc = ofpd_bridge_only(d, params, &br, e);
	if (rc < 0)
		return rc;
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_controllers_set(d->cfg, br, NULL);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	rc = vswd_commit(d, e);
	if (rc < 0)
		return rc;
	vswd_ofp_bridge_gone(d, br);
	vswd_log(d, VSW_LOG_INFO, "openflow %s: no controllers", br);
	*result = json_pack("{s:s}", "bridge", br);
	return 0;
}

int vswd_m_controller_get(void *opaque, json_t *params, json_t **result,
			  struct vsw_rpc_err *e)
{
	struct vswd *d = opaque;
	struct ofpd_bridge *b;
	const char *br;
	json_t *arr;
	unsigned int i;
	int rc;

	rc = ofpd_bridge_only(d, params, &br, e);
	if (rc < 0)
		return rc;
	arr = json_array();
	b = ofpd_find(d, br);
	for (i = 0; arr != NULL && b != NULL && i < b->n_t; i++) {
		struct ofpd_target *t = &b->t[i];
		struct ofpd_sess *s;
		const char *state;
		json_int_t conns = 0;
		json_t *o;

		for (s = b->sess; s != NULL; s = s->next)
			if (strcmp(s->target, t->text) == 0 &&
			    s->conn != NULL && vsw_ofp_conn_ready(s->conn))
				conns++;
		if (t->kind == OFPD_PTCP || t->kind == OFPD_PUNIX)
			state = t->lfd >= 0 ? "listening" : "not listening";
		else if (conns > 0)
			state = "connected";
		else if (t->active != NULL)
			state = "connecting";
		else
			state = "waiting to reconnect";
		o = json_pack("{s:s, s:s, s:I}", "target", t->text, "state",
			      state, "connections", conns);
		if (o != NULL && t->kind == OFPD_PTCP && t->bound[0])
			json_object_set_new(o, "bound", json_string(t->bound));
		if (o != NULL && t->why[0] && conns == 0)
			json_object_set_new(o, "last_error",
					    json_string(t->why));
		json_array_append_new(arr, o);
	}
	*result = json_pack("{s:s, s:o}", "bridge", br, "targets", arr);
	return 0;
}

/* ---- fail mode ------------------------------------------------------------ */

struct ofpd_only {
	int n;
	bool is_default; /* the one rule is priority=0,actions=NORMAL */
};

static int ofpd_only_cb(const struct vsw_flow_rule *r,
			const struct vsw_flow_stats *st, const char *line,
			void *arg)
{
	static const struct vsw_flow_key any;
	struct ofpd_only *x = arg;
	const struct vsw_flow_actions *a = vsw_flow_rule_actions(r);

	(void)st;
	(void)line;
	x->n++;
	x->is_default = vsw_flow_rule_priority(r) == 0 &&
			vsw_flow_key_eq(&vsw_flow_rule_match(r)->mask, &any) &&
			a->n == 1 && a->a[0].type == VSW_FLOW_ACT_NORMAL;
	return x->n > 1;
}

/*
 * The default rule on a change of fail mode (Open vSwitch sets up or
 * removes the same "priority=0 actions=NORMAL"): secure removes it when it
 * is the bridge's only rule; standalone adds it to an empty table of a
 * bridge without controllers. Any other table is left as it is.
 */
static void ofpd_default_rule(struct vswd *d, const char *br, bool secure)
{
	struct ofpd_only x = {0};
	struct vsw_flow_spec spec;
	char err[VSWD_ERR_MAX];
	int n, rc;

	if (vsw_switch_flow_dump(d->sw, br, NULL, ofpd_only_cb, &x) < 0)
		return;
	if (secure ? !(x.n == 1 && x.is_default)
		   : (x.n != 0 || ofpd_find(d, br) != NULL))
		return;
	rc = vsw_flow_parse(secure ? "priority=0" : "priority=0,actions=normal",
			    secure ? VSW_FLOW_PARSE_MATCH : VSW_FLOW_PARSE_ADD,
			    NULL, &spec, err, sizeof(err));
	if (rc == 0) {
		rc = vswd_flow_change(d, br,
				      secure ? VSWD_FLOW_DEL : VSWD_FLOW_ADD,
				      &spec, true, &n, err, sizeof(err));
		vsw_flow_spec_fini(&spec);
	}
	if (rc < 0)
		vswd_log(d, VSW_LOG_WARN, "openflow %s: default rule: %s", br,
			 err);
	else
		vswd_log(d, VSW_LOG_INFO, "openflow %s: %s priority=0,"
			 "actions=NORMAL", br, secure ? "removed" : "added");
}

/* Store @mode (NULL: remove, standalone) and apply it. */
static int ofpd_fail_mode_store(struct vswd *d, const char *br,
				const char *mode, json_t **result,
				struct vsw_rpc_err *e)
{
	bool secure = mode != NULL && strcmp(mode, "secure") == 0;
	bool was = ofpd_is_secure(d, br);
	struct ofpd_bridge *b;
	int rc;

	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_fail_mode_set(d->cfg, br, mode);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	rc = vswd_commit(d, e);
	if (rc < 0)
		return rc;
	b = ofpd_find(d, br);
	if (b != NULL) {
		b->secure = secure;
		ofpd_fail_check(b, vsw_now_ms());
	}
	if (was != secure)
		ofpd_default_rule(d, br, secure);
	vswd_log(d, VSW_LOG_INFO, "openflow %s: fail mode %s", br,
		 secure ? "secure" : "standalone");
	*result = json_pack("{s:s}", "bridge", br);
	return 0;
}

int vswd_m_fail_mode_set(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e)
{
	static const char *const known[] = {"bridge", "mode", NULL};
	struct vswd *d = opaque;
	const char *br, *mode;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc < 0)
		return rc;
	mode = json_string_value(json_object_get(params, "mode"));
	if (mode == NULL ||
	    (strcmp(mode, "secure") != 0 && strcmp(mode, "standalone") != 0))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"mode\" must be \"secure\" or "
				    "\"standalone\"");
	return ofpd_fail_mode_store(d, br, mode, result, e);
}

int vswd_m_fail_mode_del(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e)
{
	struct vswd *d = opaque;
	const char *br;
	int rc = ofpd_bridge_only(d, params, &br, e);

	return rc < 0 ? rc : ofpd_fail_mode_store(d, br, NULL, result, e);
}

int vswd_m_fail_mode_get(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e)
{
	struct vswd *d = opaque;
	struct ofpd_bridge *b;
	char mode[32];
	const char *br;
	uint64_t queued = 0, full = 0;
	int rc;

	rc = ofpd_bridge_only(d, params, &br, e);
	if (rc < 0)
		return rc;
	if (vsw_cfg_fail_mode_get(d->cfg, br, mode, sizeof(mode)) < 0)
		return vswd_cfg_fail(d, e, -EIO);
	b = ofpd_find(d, br);
	vsw_switch_packet_in_stats(d->sw, &queued, &full);
	/* mode "" when none is set, as ovs-vsctl get-fail-mode prints it */
	*result = json_pack("{s:s, s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I}}",
			    "bridge", br, "mode", mode, "fail_open",
			    b != NULL && b->fail_open, "packet_in", "sent",
			    (json_int_t)(b ? b->pin_sent : 0), "rate_limited",
			    (json_int_t)(b ? b->pin_limited : 0),
			    "controller_queue_full",
			    (json_int_t)(b ? b->pin_full : 0), "switch_queued",
			    (json_int_t)queued, "switch_ring_full",
			    (json_int_t)full);
	return 0;
}
