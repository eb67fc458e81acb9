/* SPDX-License-Identifier: MIT */
/*
 * vsw_rpc: JSON-RPC 2.0 over a Unix stream socket, vswd's control channel.
 *
 * Framing: every message is one JSON text in compact form followed by one
 * '\n' (JSON escapes newlines inside strings, so a raw '\n' only ever ends a
 * message). A request is at most VSW_RPC_MAX_REQUEST bytes, a response at
 * most VSW_RPC_MAX_RESPONSE; a longer message is an error and ends the
 * connection, since what follows it cannot be framed. JSON texts are parsed
 * with jansson (strict: no duplicate keys, no trailing bytes, no NUL).
 *
 * Requests are objects {"jsonrpc":"2.0","method":M,"params":P,"id":I} with
 * P an object (named parameters) or absent, I a string, an integer or null;
 * without "id" a request is a notification and gets no answer. A batch (an
 * array of requests) is answered with an array. Errors use the codes of the
 * specification plus VSW_RPC_APP_ERROR for an operation that failed, with
 * {"errno": N, "name": "EEXIST"} as data.
 *
 * Everything here runs on one thread (vswd's control thread, or vswctl).
 */
#ifndef VSW_RPC_H
#define VSW_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define VSW_RPC_MAX_REQUEST (1u << 20)	/* 1 MiB */
#define VSW_RPC_MAX_RESPONSE (64u << 20) /* 64 MiB */
#define VSW_RPC_MAX_CLIENTS 4096 /* default of vsw_rpc_limits.max_clients */
#define VSW_RPC_MSG_MAX 512 /* an error message, with its NUL */

/* JSON-RPC 2.0 error codes. */
#define VSW_RPC_PARSE_ERROR (-32700)
#define VSW_RPC_INVALID_REQUEST (-32600)
#define VSW_RPC_METHOD_NOT_FOUND (-32601)
#define VSW_RPC_INVALID_PARAMS (-32602)
#define VSW_RPC_INTERNAL_ERROR (-32603)
#define VSW_RPC_APP_ERROR (-32000) /* the operation failed; data: errno */

/* An error as a handler reports it and a client receives it. */
struct vsw_rpc_err {
	int code;    /* one of the codes above */
	int errnum;  /* positive errno for VSW_RPC_APP_ERROR, else 0 */
	char message[VSW_RPC_MSG_MAX];
};

/*
 * Fill @e and return -@errnum (so that a handler can `return
 * vsw_rpc_fail(...)`). @code 0 means VSW_RPC_APP_ERROR.
 */
int vsw_rpc_fail(struct vsw_rpc_err *e, int code, int errnum,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- framing: one reader per connection --------------------------------- */

struct vsw_rpc_rbuf {
	char *buf;
	size_t len;  /* bytes held */
	size_t cap;
	size_t scan; /* bytes already searched for '\n' */
	size_t max;  /* longest message accepted, without its '\n' */
	size_t done; /* bytes of the message handed out last, to drop */
};

void vsw_rpc_rbuf_init(struct vsw_rpc_rbuf *rb, size_t max);
void vsw_rpc_rbuf_fini(struct vsw_rpc_rbuf *rb);
/* Append @len bytes (what a read returned). -ENOMEM. */
int vsw_rpc_rbuf_feed(struct vsw_rpc_rbuf *rb, const void *data, size_t len);
/*
 * One read(2) from @fd into @rb: bytes read (> 0), 0 at end of file,
 * -EAGAIN if nothing is there, another negative errno on error.
 */
ssize_t vsw_rpc_rbuf_fill(struct vsw_rpc_rbuf *rb, int fd);
/*
 * The next complete message: 1 with *@msg / *@len (NUL-terminated, without
 * the '\n', valid until the next call), 0 if none is complete yet,
 * -EMSGSIZE if the message being received is longer than the maximum.
 * Empty lines are skipped.
 */
int vsw_rpc_rbuf_next(struct vsw_rpc_rbuf *rb, const char **msg,
		      size_t *len);
/* Bytes held that are not yet a complete message. */
size_t vsw_rpc_rbuf_pending(const struct vsw_rpc_rbuf *rb);

/* ---- messages ---------------------------------------------------------- */

/* Parse @len bytes as one JSON text; NULL with @e filled on error. */
json_t *vsw_rpc_parse(const char *msg, size_t len, struct vsw_rpc_err *e);

struct vsw_rpc_request {
	const char *method; /* in @msg */
	json_t *params;	    /* borrowed; an empty object if absent */
	json_t *id;	    /* borrowed; NULL for a notification */
};

/*
 * Check that @msg is a valid request object. 0 with @req filled (pointers
 * borrowed from @msg), or a negative JSON-RPC code with @e filled; *@id is
 * then the request's id if it could be read (for the error response).
 */
int vsw_rpc_check_request(json_t *msg, struct vsw_rpc_request *req,
			  struct vsw_rpc_err *e);

/* Build messages; NULL only on allocation failure. @result is stolen. */
json_t *vsw_rpc_request_new(const char *method, json_t *params,
			    json_int_t id);
json_t *vsw_rpc_result_new(json_t *id, json_t *result);
json_t *vsw_rpc_error_new(json_t *id, const struct vsw_rpc_err *e);

/*
 * Encode @msg compactly followed by '\n' into a malloc'd buffer; NULL on
 * allocation failure or if it is longer than @max.
 */
char *vsw_rpc_encode(const json_t *msg, size_t max, size_t *len);

/*
 * Check that @msg is the response to request @id: 0 with *@result (a new
 * reference) on success, 1 with @e filled if the server answered with an
 * error, a negative errno with @e filled if @msg is not a valid response.
 */
int vsw_rpc_check_response(json_t *msg, json_int_t id, json_t **result,
			   struct vsw_rpc_err *e);

/* Parameters of a request. All return 0 or -EINVAL with @e filled. */
/* A string member; with @required false, absent gives *@out = NULL. */
int vsw_rpc_param_str(json_t *params, const char *name, bool required,
		      const char **out, struct vsw_rpc_err *e);
/* Reject members other than the NULL-terminated list @known. */
int vsw_rpc_params_only(json_t *params, const char *const *known,
			struct vsw_rpc_err *e);

/* ---- server -------------------------------------------------------------- */

/*
 * A method: on success return 0 and set *@result to a new reference (NULL
 * means null); on error return a negative errno and fill @e.
 */
typedef int (*vsw_rpc_handler)(void *opaque, json_t *params, json_t **result,
			       struct vsw_rpc_err *e);

/* vsw_rpc_method.flags: the method changes nothing (a read-only client
 * may call it). */
#define VSW_RPC_READONLY 1u

struct vsw_rpc_method {
	const char *name;
	vsw_rpc_handler fn;
	unsigned int flags; /* VSW_RPC_READONLY */
};

struct vsw_rpc_server;

/*
 * Listen on @path (mode 0660). A stale socket file (nobody listening) is
 * replaced; a live one gives -EADDRINUSE, any other file -EEXIST. @methods
 * (@n of them) must outlive the server.
 */
int vsw_rpc_server_create(const char *path,
			  const struct vsw_rpc_method *methods, size_t n,
			  void *opaque, struct vsw_rpc_server **out,
			  char *err, size_t errlen);
/*
 * How much one client may hold of the server. A zero field means its
 * default (in brackets).
 */
struct vsw_rpc_limits {
	unsigned int max_clients; /* connections at once [VSW_RPC_MAX_CLIENTS] */
	unsigned int idle_ms;	  /* nothing in progress: close [60000] */
	unsigned int read_ms;	  /* a request begun, not complete [10000] */
	unsigned int write_ms;	  /* answers queued, none taken [10000] */
	unsigned int max_batch;	  /* calls in one batch [1024] */
	size_t out_max;		  /* answer bytes queued per connection
				   * [VSW_RPC_MAX_RESPONSE + 1 MiB] */
	size_t out_total;	  /* ... over all connections [256 MiB] */
	unsigned int slice_calls; /* calls per connection per run [16] */
	unsigned int round_us;	  /* time spent calling per run [2000] */
};

/*
 * Set the limits (see struct vsw_rpc_limits); they apply to what happens
 * next (open connections are not closed for a lower max_clients).
 */
void vsw_rpc_server_set_limits(struct vsw_rpc_server *srv,
			       const struct vsw_rpc_limits *lim);
/* The limits in force (defaults filled in). */
void vsw_rpc_server_get_limits(const struct vsw_rpc_server *srv,
			       struct vsw_rpc_limits *lim);

/*
 * Who may use the socket. The file mode and group gate connect(2); the
 * peer's credentials (SO_PEERCRED, SO_PEERGROUPS) are checked at accept.
 * Root and the server's own effective uid always have full access. With
 * all three lists empty every client that could connect has full access;
 * otherwise a client has full access if its uid is in @uids or one of its
 * groups (primary or supplementary) in @gids, read-only access (methods
 * flagged VSW_RPC_READONLY) if one of its groups is in @ro_gids, and is
 * refused (an error answer saying why, then close) otherwise.
 */
struct vsw_rpc_access {
	mode_t mode;  /* of the socket file; 0 means 0660 */
	gid_t group;  /* of the socket file; (gid_t)-1 leaves it */
	const uid_t *uids;
	size_t n_uids;
	const gid_t *gids;
	size_t n_gids;
	const gid_t *ro_gids;
	size_t n_ro_gids;
};

/*
 * Apply @acc (copied): chmod / chown the socket file, then check each new
 * client against the lists. 0, or a negative errno with @err filled
 * (the socket file keeps its previous mode and group then).
 */
int vsw_rpc_server_set_access(struct vsw_rpc_server *srv,
			      const struct vsw_rpc_access *acc, char *err,
			      size_t errlen);

/*
 * Where the server says what it did to a client: refused, turned away
 * busy, evicted, timed out, disconnected for not reading, a call denied.
 * One line per event, at most one per second of each kind (then "(N more
 * like it)"). NULL: say nothing.
 */
typedef void (*vsw_rpc_log_fn)(void *arg, const char *msg);
void vsw_rpc_server_set_log(struct vsw_rpc_server *srv, vsw_rpc_log_fn fn,
			    void *arg);

/* Counters since creation, and the state now. */
struct vsw_rpc_server_stats {
	unsigned int conns;	 /* open now */
	size_t out_bytes;	 /* answer bytes queued now, all connections */
	unsigned long long accepted, busy, refused, evicted, idle_closed,
		read_timeouts, slow_readers, batches_refused, denied_calls;
};
void vsw_rpc_server_stats(const struct vsw_rpc_server *srv,
			  struct vsw_rpc_server_stats *st);

/*
 * A file descriptor that polls readable when vsw_rpc_server_run has work;
 * call it also once vsw_rpc_server_timeout_ms has passed.
 */
int vsw_rpc_server_fd(const struct vsw_rpc_server *srv);
/*
 * Milliseconds until the server has a deadline to keep (a timeout, or 0
 * while calls wait for their slice), -1 if none.
 */
int vsw_rpc_server_timeout_ms(const struct vsw_rpc_server *srv);
/*
 * Handle what is pending without blocking, for a bounded time: at most
 * slice_calls calls per connection and round_us in all, connections taken
 * round robin; the rest waits for the next run (timeout_ms is then 0).
 * 0 or a negative errno.
 */
int vsw_rpc_server_run(struct vsw_rpc_server *srv);
/* Close every connection, remove the socket file if it is still ours. */
void vsw_rpc_server_destroy(struct vsw_rpc_server *srv);

/* ---- client -------------------------------------------------------------- */

struct vsw_rpc_client;

/* Connect to @path. -ENOENT / -ECONNREFUSED / ... with @err filled. */
int vsw_rpc_client_connect(const char *path, int timeout_ms,
			   struct vsw_rpc_client **out, char *err,
			   size_t errlen);
/*
 * Call @method with @params (stolen; NULL for none) and wait at most the
 * connect timeout for the answer. 0 with *@result (new reference) on
 * success; 1 with @e filled when the server answered with an error; a
 * negative errno with @e filled on a transport or protocol failure.
 */
int vsw_rpc_client_call(struct vsw_rpc_client *cli, const char *method,
			json_t *params, json_t **result,
			struct vsw_rpc_err *e);
void vsw_rpc_client_close(struct vsw_rpc_client *cli);

#endif /* VSW_RPC_H */
