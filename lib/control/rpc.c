/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC 2.0 framing and messages (see vsw_rpc.h).
 *
 * Security model: a control client may be buggy or hostile (any local
 * process allowed to open the socket). Nothing it sends is trusted: a
 * message is bounded before it is parsed (the reader refuses a line longer
 * than its maximum instead of growing without end), parsed by jansson in
 * strict mode (bounded nesting, no duplicate keys, no NUL in strings, no
 * trailing bytes), and every member of a request is checked for presence and
 * type before a handler sees it. Errors are answered, never asserted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsw_rpc.h"

#define RPC_READ_CHUNK 65536

int vsw_rpc_fail(struct vsw_rpc_err *e, int code, int errnum,
		 const char *fmt, ...)
{
	va_list ap;

	e->code = code ? code : VSW_RPC_APP_ERROR;
	e->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return errnum ? -errnum : -EINVAL;
}

/* ---- framing ----------------------------------------------------------- */

void vsw_rpc_rbuf_init(struct vsw_rpc_rbuf *rb, size_t max)
{
	memset(rb, 0, sizeof(*rb));
	rb->max = max;
}

void vsw_rpc_rbuf_fini(struct vsw_rpc_rbuf *rb)
{
	free(rb->buf);
	memset(rb, 0, sizeof(*rb));
}

/* Drop the message handed out last. */
static void rbuf_compact(struct vsw_rpc_rbuf *rb)
{
	if (rb->done == 0)
		return;
	memmove(rb->buf, rb->buf + rb->done, rb->len - rb->done);
	rb->len -= rb->done;
	rb->scan = 0;
	rb->done = 0;
}

/* Room for @more bytes plus a NUL after them. */
static int rbuf_reserve(struct vsw_rpc_rbuf *rb, size_t more)
{
	size_t need = rb->len + more + 1, cap;
	char *p;

	if (need <= rb->cap)
		return 0;
	cap = rb->cap ? rb->cap : 4096;
	while (cap < need)
		cap *= 2;
	p = realloc(rb->buf, cap);
	if (p == NULL)
		return -ENOMEM;
	rb->buf = p;
	rb->cap = cap;
	return 0;
}

int vsw_rpc_rbuf_feed(struct vsw_rpc_rbuf *rb, const void *data, size_t len)
{
	int rc;

	rbuf_compact(rb);
	rc = rbuf_reserve(rb, len);
	if (rc < 0)
		return rc;
	memcpy(rb->buf + rb->len, data, len);
	rb->len += len;
	return 0;
}

ssize_t vsw_rpc_rbuf_fill(struct vsw_rpc_rbuf *rb, int fd)
{
	ssize_t n;
	int rc;

	rbuf_compact(rb);
	rc = rbuf_reserve(rb, RPC_READ_CHUNK);
	if (rc < 0)
		return rc;
	do {
		n = read(fd, rb->buf + rb->len, RPC_READ_CHUNK);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	rb->len += (size_t)n;
	return n;
}

static bool rbuf_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int vsw_rpc_rbuf_next(struct vsw_rpc_rbuf *rb, const char **msg,
		      size_t *len)
{
	for (;;) {
		char *nl;
		size_t n;

		rbuf_compact(rb);
		nl = rb->len > rb->scan ?
			     memchr(rb->buf + rb->scan, '\n',
				    rb->len - rb->scan) :
			     NULL;
		if (nl == NULL) {
			rb->scan = rb->len;
			return rb->len > rb->max ? -EMSGSIZE : 0;
		}
		n = (size_t)(nl - rb->buf);
		if (n > rb->max)
			return -EMSGSIZE;
		rb->done = n + 1;
		if (rbuf_blank(rb->buf, n))
			continue;
		/* Accept "\r\n" line ends (telnet, socat crlf). */
		if (rb->buf[n - 1] == '\r')
			n--;
		rb->buf[n] = '\0';
		*msg = rb->buf;
		*len = n;
		return 1;
	}
}

size_t vsw_rpc_rbuf_pending(const struct vsw_rpc_rbuf *rb)
{
	return rb->len - rb->done;
}

/* ---- messages ------------------------------------------------------------ */

json_t *vsw_rpc_parse(const char *msg, size_t len, struct vsw_rpc_err *e)
{
	json_error_t jerr;
	json_t *root;

	root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		vsw_rpc_fail(e, VSW_RPC_PARSE_ERROR, 0,
			     "parse error at byte %d: %s", jerr.position,
			     jerr.text);
	return root;
}

static bool rpc_id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id) || json_is_null(id);
}

int vsw_rpc_check_request(json_t *msg, struct vsw_rpc_request *req,
			  struct vsw_rpc_err *e)
{
	json_t *ver, *method, *params, *id;
	const char *key;
	json_t *val;

	memset(req, 0, sizeof(*req));
	if (!json_is_object(msg)) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, 0,
			     "a request must be a JSON object");
		return VSW_RPC_INVALID_REQUEST;
	}
	id = json_object_get(msg, "id");
	if (id != NULL && !rpc_id_valid(id)) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, 0,
			     "\"id\" must be a string, an integer or null");
		return VSW_RPC_INVALID_REQUEST;
	}
	/* Let the error response carry the id from here on. */
	req->id = id;
	json_object_foreach(msg, key, val) {
		if (strcmp(key, "jsonrpc") && strcmp(key, "method") &&
		    strcmp(key, "params") && strcmp(key, "id")) {
			vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, 0,
				     "unknown member \"%.64s\" in request "
				     "(expected jsonrpc, method, params, id)",
				     key);
			return VSW_RPC_INVALID_REQUEST;
		}
	}
	ver = json_object_get(msg, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0")) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, 0,
			     "\"jsonrpc\" must be \"2.0\"");
		return VSW_RPC_INVALID_REQUEST;
	}
	method = json_object_get(msg, "method");
	if (!json_is_string(method) || json_string_length(method) == 0 ||
	    strlen(json_string_value(method)) != json_string_length(method)) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, 0,
			     "\"method\" must be a non-empty string");
		return VSW_RPC_INVALID_REQUEST;
	}
	params = json_object_get(msg, "params");
	if (json_is_array(params)) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, 0,
			     "\"params\" must be an object (named "
			     "parameters); positional parameters are not "
			     "used");
		return VSW_RPC_INVALID_PARAMS;
	}
	if (params != NULL && !json_is_object(params)) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, 0,
			     "\"params\" must be an object");
		return VSW_RPC_INVALID_REQUEST;
	}
	req->method = json_string_value(method);
	req->params = params;
	return 0;
}

static json_t *rpc_envelope(json_t *id)
{
	json_t *m = json_object();

	if (m == NULL)
		return NULL;
	if (json_object_set_new(m, "jsonrpc", json_string("2.0")) < 0 ||
	    json_object_set(m, "id", id ? id : json_null()) < 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *vsw_rpc_request_new(const char *method, json_t *params,
			    json_int_t id)
{
	json_t *m = json_object();

	if (m == NULL ||
	    json_object_set_new(m, "jsonrpc", json_string("2.0")) < 0 ||
	    json_object_set_new(m, "method", json_string(method)) < 0 ||
	    (params && json_object_set(m, "params", params) < 0) ||
	    json_object_set_new(m, "id", json_integer(id)) < 0) {
		json_decref(m);
		m = NULL;
	}
	json_decref(params);
	return m;
}

json_t *vsw_rpc_result_new(json_t *id, json_t *result)
{
	json_t *m = rpc_envelope(id);

	if (m == NULL ||
	    json_object_set_new(m, "result",
				result ? result : json_null()) < 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 if none. */
static size_t rpc_utf8_seq(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* no overlong forms, no surrogates, nothing above U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * An error message quotes what the peer sent (jansson's "near '...'", a
 * name cut by "%.64s"), which need not be valid UTF-8, and a JSON string
 * must be: every byte of an invalid sequence becomes '?', so the error is
 * still answered.
 */
static void rpc_utf8_clean(char *s)
{
	size_t n;

	while (*s != '\0') {
		n = rpc_utf8_seq((const unsigned char *)s);
		if (n == 0) {
			*s++ = '?';
			continue;
		}
		s += n;
	}
}

json_t *vsw_rpc_error_new(json_t *id, const struct vsw_rpc_err *e)
{
	json_t *m = rpc_envelope(id), *err;
	char text[VSW_RPC_MSG_MAX];

	if (m == NULL)
		return NULL;
	snprintf(text, sizeof(text), "%s", e->message);
	rpc_utf8_clean(text);
	err = json_pack("{s:i, s:s}", "code", e->code, "message", text);
	if (err != NULL && e->errnum > 0) {
		const char *name = strerrorname_np(e->errnum);

		if (json_object_set_new(err, "data",
					json_pack("{s:i, s:s}", "errno",
						  e->errnum, "name",
						  name ? name : "?")) < 0) {
			json_decref(err);
			err = NULL;
		}
	}
	if (err == NULL || json_object_set_new(m, "error", err) < 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

char *vsw_rpc_encode(const json_t *msg, size_t max, size_t *len)
{
	char *s, *t;
	size_t n;

	s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > max) {
		free(s);
		return NULL;
	}
	t = realloc(s, n + 2);
	if (t == NULL) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	*len = n + 1;
	return t;
}

int vsw_rpc_check_response(json_t *msg, json_int_t id, json_t **result,
			   struct vsw_rpc_err *e)
{
	json_t *ver, *rid, *res, *err, *code, *text, *data, *en;

	*result = NULL;
	if (!json_is_object(msg))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, EPROTO,
				    "response is not a JSON object");
	ver = json_object_get(msg, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0"))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, EPROTO,
				    "response without \"jsonrpc\": \"2.0\"");
	res = json_object_get(msg, "result");
	err = json_object_get(msg, "error");
	if ((res == NULL) == (err == NULL))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, EPROTO,
				    "response must hold exactly one of "
				    "\"result\" and \"error\"");
	rid = json_object_get(msg, "id");
	if (err != NULL && json_is_null(rid)) {
		/* The server could not read our id (parse error). */
	} else if (!json_is_integer(rid) || json_integer_value(rid) != id) {
		return vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, EPROTO,
				    "response to another request (id)");
	}
	if (res != NULL) {
		*result = json_incref(res);
		return 0;
	}
	code = json_object_get(err, "code");
	text = json_object_get(err, "message");
	if (!json_is_object(err) || !json_is_integer(code) ||
	    !json_is_string(text))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_REQUEST, EPROTO,
				    "malformed error in response");
	e->code = (int)json_integer_value(code);
	e->errnum = 0;
	data = json_object_get(err, "data");
	en = json_object_get(data, "errno");
	if (json_is_integer(en) && json_integer_value(en) > 0 &&
	    json_integer_value(en) < 4096)
		e->errnum = (int)json_integer_value(en);
	if (json_string_length(text) == 0) /* the caller prints something */
		snprintf(e->message, sizeof(e->message),
			 "error %d without a message", e->code);
	else
		snprintf(e->message, sizeof(e->message), "%s",
			 json_string_value(text));
	return 1;
}

int vsw_rpc_param_str(json_t *params, const char *name, bool required,
		      const char **out, struct vsw_rpc_err *e)
{
	json_t *v = params ? json_object_get(params, name) : NULL;

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "missing parameter \"%s\"", name);
	}
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "parameter \"%s\" must be a string", name);
	*out = json_string_value(v);
	return 0;
}

int vsw_rpc_params_only(json_t *params, const char *const *known,
			struct vsw_rpc_err *e)
{
	const char *key;
	json_t *val;

	if (params == NULL)
		return 0;
	json_object_foreach(params, key, val) {
		const char *const *k;

		for (k = known; *k != NULL; k++)
			if (strcmp(*k, key) == 0)
				break;
		if (*k == NULL)
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "unknown parameter \"%.64s\"",
					    key);
	}
	return 0;
}
