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
#define VSW_RPC_MAX_CLIENTS 64
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

struct vsw_rpc_method {
	const char *name;
	vsw_rpc_handler fn;
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
 * A file descriptor that polls readable when vsw_rpc_server_run has work;
 * call it also once vsw_rpc_server_timeout_ms has passed.
 */
int vsw_rpc_server_fd(const struct vsw_rpc_server *srv);
/* Milliseconds until the server has a deadline to keep, -1 if none. */
int vsw_rpc_server_timeout_ms(const struct vsw_rpc_server *srv);
/* Handle everything pending without blocking. 0 or a negative errno. */
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
