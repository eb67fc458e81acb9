/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the JSON-RPC layer (lib/control): framing with partial and
 * oversized reads, request and response checks, and a server on a real Unix
 * socket fed malformed, huge, split and batched input; the server's limits
 * (timeouts, a full table, batch size, answers never read, fair slices)
 * and its access control (peer credentials, read-only clients).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vsw_rpc.h"

/* ---- framing --------------------------------------------------------------- */

static void test_rbuf_partial(void **state)
{
	static const char stream[] = "{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\"";
	struct vsw_rpc_rbuf rb;
	const char *msg;
	size_t len, i;
	int got = 0;

	(void)state;
	vsw_rpc_rbuf_init(&rb, 64);
	/* One byte at a time: messages appear exactly when their '\n' does. */
	for (i = 0; i < sizeof(stream) - 1; i++) {
		int rc;

		assert_int_equal(vsw_rpc_rbuf_feed(&rb, &stream[i], 1), 0);
		while ((rc = vsw_rpc_rbuf_next(&rb, &msg, &len)) == 1) {
			if (got == 0) {
				assert_int_equal(i, 7);
				assert_string_equal(msg, "{\"a\":1}");
			} else {
				assert_int_equal(i, 21);
				assert_int_equal(len, 7);
				assert_string_equal(msg, "{\"b\":2}");
			}
			got++;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(got, 2);
	assert_int_equal(vsw_rpc_rbuf_pending(&rb), 4); /* {"c" */
	vsw_rpc_rbuf_fini(&rb);
}

static void test_rbuf_many_in_one(void **state)
{
	struct vsw_rpc_rbuf rb;
	const char *msg;
	char buf[4096];
	size_t len, off = 0;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"[%d]\n", i);
	vsw_rpc_rbuf_init(&rb, 16);
	assert_int_equal(vsw_rpc_rbuf_feed(&rb, buf, off), 0);
	for (i = 0; i < 100; i++) {
		char want[16];

		snprintf(want, sizeof(want), "[%d]", i);
		assert_int_equal(vsw_rpc_rbuf_next(&rb, &msg, &len), 1);
		assert_string_equal(msg, want);
	}
	assert_int_equal(vsw_rpc_rbuf_next(&rb, &msg, &len), 0);
	vsw_rpc_rbuf_fini(&rb);
}

static void test_rbuf_oversize(void **state)
{
	struct vsw_rpc_rbuf rb;
	char big[40];
	const char *msg;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* Exactly the maximum passes. */
	vsw_rpc_rbuf_init(&rb, 16);
	assert_int_equal(vsw_rpc_rbuf_feed(&rb, big, 16), 0);
	assert_int_equal(vsw_rpc_rbuf_next(&rb, &msg, &len), 0);
	assert_int_equal(vsw_rpc_rbuf_feed(&rb, "\n", 1), 0);
	assert_int_equal(vsw_rpc_rbuf_next(&rb, &msg, &len), 1);
	assert_int_equal(len, 16);
	/* One more byte without a newline is refused before the newline. */
	assert_int_equal(vsw_rpc_rbuf_feed(&rb, big, 17), 0);
	assert_int_equal(vsw_rpc_rbuf_next(&rb, &msg, &len), -EMSGSIZE);
	vsw_rpc_rbuf_fini(&rb);
	/* And with its newline in the same read. */
	vsw_rpc_rbuf_init(&rb, 16);
	assert_int_equal(vsw_rpc_rbuf_feed(&rb, big, 20), 0);
	assert_int_equal(vsw_rpc_rbuf_feed(&rb, "\n{}\n", 4), 0);
	assert_int_equal(vsw_rpc_rbuf_next(&rb, &msg, &len), -EMSGSIZE);
	vsw_rpc_rbuf_fini(&rb);
}

/* ---- messages ------------------------------------------------------------- */

static int tj_check(const char *text, struct vsw_rpc_request *req,
		    struct vsw_rpc_err *e, json_t **root)
{
	*root = vsw_rpc_parse(text, strlen(text), e);
	if (*root == NULL)
		return e->code;
	return vsw_rpc_check_request(*root, req, e);
}

static void test_request_checks(void **state)
{
	static const struct {
		const char *text;
		int code;
	} cases[] = {
		{ "{", VSW_RPC_PARSE_ERROR },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\"} trailing",
		  VSW_RPC_PARSE_ERROR },
		{ "{\"a\":1,\"a\":2}", VSW_RPC_PARSE_ERROR },
		{ "\"just a string\"", VSW_RPC_PARSE_ERROR },
		{ "[1", VSW_RPC_PARSE_ERROR },
		{ "{\"method\":\"x\",\"id\":1}", VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"1.0\",\"method\":\"x\",\"id\":1}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":1}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":1}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":1.5}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":{}}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":3,\"id\":1}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":[1],\"id\":1}",
		  VSW_RPC_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"parmas\":{},\"id\":1}",
		  VSW_RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\\u0000y\",\"id\":1}",
		  VSW_RPC_PARSE_ERROR },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{},\"id\":\"a\"}",
		  0 },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", 0 },
	};
	struct vsw_rpc_request req;
	struct vsw_rpc_err e;
	json_t *root;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tj_check(cases[i].text, &req, &e, &root);

		if (rc != cases[i].code)
			fail_msg("case %zu (%s): got %d want %d (%s)", i,
				 cases[i].text, rc, cases[i].code, e.message);
		if (rc == 0)
			assert_string_equal(req.method, "x");
		else
			assert_true(strlen(e.message) > 5);
		json_decref(root);
	}
	/* Notification: no id. The id of a bad request is kept. */
	assert_int_equal(tj_check("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", &req,
				  &e, &root),
			 0);
	assert_null(req.id);
	assert_null(req.params);
	json_decref(root);
	assert_int_equal(tj_check("{\"jsonrpc\":\"9\",\"method\":\"x\",\"id\":42}",
				  &req, &e, &root),
			 VSW_RPC_INVALID_REQUEST);
	assert_int_equal(json_integer_value(req.id), 42);
	json_decref(root);
}

static void test_deep_nesting(void **state)
{
	size_t depth = 100000, i;
	struct vsw_rpc_err e;
	char *s = malloc(2 * depth + 1);

	(void)state;
	assert_non_null(s);
	for (i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth + i] = ']';
	}
	s[2 * depth] = '\0';
	/* Bounded by the parser's depth limit: an error, not a crash. */
	assert_null(vsw_rpc_parse(s, 2 * depth, &e));
	assert_int_equal(e.code, VSW_RPC_PARSE_ERROR);
	free(s);
}

static void test_response_checks(void **state)
{
	struct vsw_rpc_err e;
	json_t *m, *result;
	char *text;
	size_t len;

	(void)state;
	json_t *id = json_integer(5);

	m = vsw_rpc_result_new(id, json_pack("{s:i}", "n", 3));
	json_decref(id); /* borrowed: m holds its own reference */
	assert_non_null(m);
	text = vsw_rpc_encode(m, 1000, &len);
	assert_non_null(text);
	assert_string_equal(text, "{\"jsonrpc\":\"2.0\",\"id\":5,"
				  "\"result\":{\"n\":3}}\n");
	assert_int_equal(len, strlen(text));
	assert_null(vsw_rpc_encode(m, 10, &len)); /* over the maximum */
	free(text);
	assert_int_equal(vsw_rpc_check_response(m, 5, &result, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(result, "n")), 3);
	json_decref(result);
	assert_true(vsw_rpc_check_response(m, 6, &result, &e) < 0);
	assert_null(result);
	json_decref(m);

	vsw_rpc_fail(&e, 0, EEXIST, "bridge '%s' exists", "br0");
	m = vsw_rpc_error_new(NULL, &e);
	text = vsw_rpc_encode(m, 1000, &len);
	assert_string_equal(text,
			    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{"
			    "\"code\":-32000,\"message\":\"bridge 'br0' "
			    "exists\",\"data\":{\"errno\":17,\"name\":"
			    "\"EEXIST\"}}}\n");
	free(text);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vsw_rpc_check_response(m, 9, &result, &e), 1);
	assert_int_equal(e.code, VSW_RPC_APP_ERROR);
	assert_int_equal(e.errnum, EEXIST);
	assert_string_equal(e.message, "bridge 'br0' exists");
	json_decref(m);

	m = json_pack("{s:s, s:i, s:i, s:{}}", "jsonrpc", "2.0", "id", 1,
		      "result", 1, "error");
	assert_true(vsw_rpc_check_response(m, 1, &result, &e) < 0);
	json_decref(m);
	m = json_pack("{s:s, s:i, s:{s:s}}", "jsonrpc", "2.0", "id", 1,
		      "error", "code", "x");
	assert_true(vsw_rpc_check_response(m, 1, &result, &e) < 0);
	json_decref(m);
}

static void test_params(void **state)
{
	static const char *const known[] = { "bridge", NULL };
	json_t *p = json_pack("{s:s, s:i}", "bridge", "br0", "n", 1);
	struct vsw_rpc_err e;
	const char *s;

	(void)state;
	assert_int_equal(vsw_rpc_param_str(p, "bridge", true, &s, &e), 0);
	assert_string_equal(s, "br0");
	assert_int_equal(vsw_rpc_param_str(p, "n", true, &s, &e), -EINVAL);
	assert_int_equal(e.code, VSW_RPC_INVALID_PARAMS);
	assert_non_null(strstr(e.message, "must be a string"));
	assert_int_equal(vsw_rpc_param_str(p, "port", true, &s, &e), -EINVAL);
	assert_non_null(strstr(e.message, "missing parameter \"port\""));
	assert_int_equal(vsw_rpc_param_str(p, "port", false, &s, &e), 0);
	assert_null(s);
	assert_int_equal(vsw_rpc_params_only(p, known, &e), -EINVAL);
	assert_non_null(strstr(e.message, "unknown parameter \"n\""));
	json_decref(p);
}

/* ---- server on a real socket --------------------------------------------- */

struct ts_env {
	char dir[64];
	char path[128];
	struct vsw_rpc_server *srv;
	pthread_t thread;
	int stop; /* eventfd */
	int calls;
	int slow_calls; /* server thread only: "slow" calls run */
	char log[8192]; /* server thread only: its log lines, '\n' after each */
};

static void ts_log(void *arg, const char *msg)
{
	struct ts_env *env = arg;
	size_t n = strlen(env->log);

	snprintf(env->log + n, sizeof(env->log) - n, "%s\n", msg);
}

static int ts_echo(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e)
{
	struct ts_env *env = opaque;

	(void)e;
	env->calls++;
	*result = json_incref(params);
	return 0;
}

static int ts_fail(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e)
{
	(void)opaque;
	(void)params;
	(void)result;
	return vsw_rpc_fail(e, 0, ENOENT, "no bridge '%s'", "brX");
}

static int ts_big(void *opaque, json_t *params, json_t **result,
		  struct vsw_rpc_err *e)
{
	size_t n = (size_t)json_integer_value(json_object_get(params, "n"));
	char *s = malloc(n + 1);

	(void)opaque;
	(void)e;
	memset(s, 'y', n);
	s[n] = '\0';
	*result = json_string(s);
	free(s);
	return 0;
}

/* A call that takes 1 ms of the server's time. */
static int ts_slow(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e)
{
	struct ts_env *env = opaque;

	(void)params;
	(void)e;
	usleep(1000);
	env->slow_calls++;
	*result = json_integer(env->slow_calls);
	return 0;
}

/* The server's counters, read on its own thread. */
static int ts_stats(void *opaque, json_t *params, json_t **result,
		    struct vsw_rpc_err *e)
{
	struct ts_env *env = opaque;
	struct vsw_rpc_server_stats st;

	(void)params;
	(void)e;
	vsw_rpc_server_stats(env->srv, &st);
	*result = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, "
			    "s:s}",
			    "conns", (json_int_t)st.conns, "out_bytes",
			    (json_int_t)st.out_bytes, "busy",
			    (json_int_t)st.busy, "refused",
			    (json_int_t)st.refused, "evicted",
			    (json_int_t)st.evicted, "idle_closed",
			    (json_int_t)st.idle_closed, "read_timeouts",
			    (json_int_t)st.read_timeouts, "slow_readers",
			    (json_int_t)st.slow_readers, "slow_calls",
			    env->slow_calls, "log", env->log);
	return 0;
}

/* "big" changes nothing either, but is left writable for the ro tests. */
static const struct vsw_rpc_method ts_methods[] = {
	{ "echo", ts_echo, VSW_RPC_READONLY },
	{ "fail", ts_fail, VSW_RPC_READONLY },
	{ "big", ts_big },
	{ "slow", ts_slow, VSW_RPC_READONLY },
	{ "stats", ts_stats, VSW_RPC_READONLY },
};
#define TS_N_METHODS (sizeof(ts_methods) / sizeof(ts_methods[0]))

static void *ts_thread(void *arg)
{
	struct ts_env *env = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = vsw_rpc_server_fd(env->srv), .events = POLLIN },
			{ .fd = env->stop, .events = POLLIN },
		};

		if (poll(p, 2, vsw_rpc_server_timeout_ms(env->srv)) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		vsw_rpc_server_run(env->srv);
	}
}

/* A server with @lim and @acc (NULL: defaults) in its own thread. */
static int ts_start(void **state, const struct vsw_rpc_limits *lim,
		    const struct vsw_rpc_access *acc)
{
	struct ts_env *env = calloc(1, sizeof(*env));
	char err[256];

	assert_non_null(env);
	strcpy(env->dir, "/tmp/vsw-test-rpc-XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	snprintf(env->path, sizeof(env->path), "%s/ctl", env->dir);
	assert_int_equal(vsw_rpc_server_create(env->path, ts_methods,
					       TS_N_METHODS, env, &env->srv,
					       err, sizeof(err)),
			 0);
	if (lim != NULL)
		vsw_rpc_server_set_limits(env->srv, lim);
	vsw_rpc_server_set_log(env->srv, ts_log, env);
	if (acc != NULL) {
		/* others than root must reach the socket in its folder */
		assert_int_equal(chmod(env->dir, 0755), 0);
		assert_int_equal(vsw_rpc_server_set_access(env->srv, acc, err,
							   sizeof(err)),
				 0);
	}
	env->stop = eventfd(0, EFD_CLOEXEC);
	assert_true(env->stop >= 0);
	assert_int_equal(pthread_create(&env->thread, NULL, ts_thread, env),
			 0);
	*state = env;
	return 0;
}

static int ts_setup(void **state)
{
	return ts_start(state, NULL, NULL);
}

static int ts_teardown(void **state)
{
	struct ts_env *env = *state;
	uint64_t one = 1;
	struct stat sb;

	assert_int_equal(write(env->stop, &one, sizeof(one)), sizeof(one));
	pthread_join(env->thread, NULL);
	vsw_rpc_server_destroy(env->srv);
	/* The socket file is gone with the server. */
	assert_int_not_equal(stat(env->path, &sb), 0);
	close(env->stop);
	rmdir(env->dir);
	free(env);
	return 0;
}

static int ts_raw_connect(struct ts_env *env)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, env->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One raw connection and its reader (answers may arrive together). */
struct ts_conn {
	int fd;
	struct vsw_rpc_rbuf rb;
};

static void ts_conn_open(struct ts_env *env, struct ts_conn *c)
{
	c->fd = ts_raw_connect(env);
	vsw_rpc_rbuf_init(&c->rb, VSW_RPC_MAX_RESPONSE);
}

static void ts_conn_close(struct ts_conn *c)
{
	close(c->fd);
	vsw_rpc_rbuf_fini(&c->rb);
}

/* Read one answer; NULL at end of file. */
static json_t *ts_read_answer(struct ts_conn *c)
{
	struct vsw_rpc_err e;
	const char *msg;
	json_t *j = NULL;
	size_t len;

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (vsw_rpc_rbuf_next(&c->rb, &msg, &len) == 1) {
			j = vsw_rpc_parse(msg, len, &e);
			assert_non_null(j);
			break;
		}
		assert_int_equal(poll(&p, 1, 10000), 1);
		n = vsw_rpc_rbuf_fill(&c->rb, c->fd);
		if (n == 0)
			break;
		assert_true(n > 0);
	}
	return j;
}

static void ts_send(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static int ts_err_code(json_t *ans)
{
	return (int)json_integer_value(
		json_object_get(json_object_get(ans, "error"), "code"));
}

static void test_server_client(void **state)
{
	struct ts_env *env = *state;
	struct vsw_rpc_client *cli;
	struct vsw_rpc_err e;
	json_t *result;
	char err[256];
	int i;

	assert_int_equal(vsw_rpc_client_connect(env->path, 5000, &cli, err,
						sizeof(err)),
			 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vsw_rpc_client_call(cli, "echo",
						     json_pack("{s:i}", "i", i),
						     &result, &e),
				 0);
		assert_int_equal(json_integer_value(json_object_get(result,
								    "i")),
				 i);
		json_decref(result);
	}
	assert_int_equal(vsw_rpc_client_call(cli, "fail", NULL, &result, &e),
			 1);
	assert_int_equal(e.code, VSW_RPC_APP_ERROR);
	assert_int_equal(e.errnum, ENOENT);
	assert_string_equal(e.message, "no bridge 'brX'");
	assert_int_equal(vsw_rpc_client_call(cli, "nope", NULL, &result, &e),
			 1);
	assert_int_equal(e.code, VSW_RPC_METHOD_NOT_FOUND);
	assert_non_null(strstr(e.message, "unknown method \"nope\""));
	/* A large answer (4 MiB) arrives whole. */
	assert_int_equal(vsw_rpc_client_call(cli, "big",
					     json_pack("{s:i}", "n", 4 << 20),
					     &result, &e),
			 0);
	assert_int_equal(json_string_length(result), 4 << 20);
	json_decref(result);
	vsw_rpc_client_close(cli);

	/* Nobody there. */
	assert_int_equal(vsw_rpc_client_connect("/tmp/vsw-no-such-socket",
						1000, &cli, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "is vswd running"));
}

static void test_server_garbage(void **state)
{
	struct ts_env *env = *state;
	static const char reqs[] =
		"this is not json\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1,"
		"\"params\":[]}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}\n" /* notification */
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"s\","
		"\"params\":{\"k\":\"v\"}}\n";
	struct ts_conn c;
	json_t *a;

	ts_conn_open(env, &c);
	ts_send(c.fd, reqs, sizeof(reqs) - 1);
	a = ts_read_answer(&c);
	assert_int_equal(ts_err_code(a), VSW_RPC_PARSE_ERROR);
	assert_true(json_is_null(json_object_get(a, "id")));
	json_decref(a);
	a = ts_read_answer(&c);
	assert_int_equal(ts_err_code(a), VSW_RPC_INVALID_PARAMS);
	assert_int_equal(json_integer_value(json_object_get(a, "id")), 1);
	json_decref(a);
	/* The notification got no answer: next is the "s" request. */
	a = ts_read_answer(&c);
	assert_string_equal(json_string_value(json_object_get(a, "id")), "s");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(a, "result"), "k")),
			    "v");
	json_decref(a);
	assert_int_equal(env->calls, 2);
	ts_conn_close(&c);
}

static void test_server_split_and_batch(void **state)
{
	struct ts_env *env = *state;
	static const char req[] =
		"[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1},"
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\"},"
		"{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":2},5]\n";
	struct ts_conn c;
	json_t *a;
	size_t i;

	ts_conn_open(env, &c);
	/* One byte per send: the server waits for the whole line. */
	for (i = 0; i < sizeof(req) - 1; i++) {
		ts_send(c.fd, &req[i], 1);
		if (i % 16 == 0)
			usleep(100);
	}
	a = ts_read_answer(&c);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(a, 0), "id")),
			 1);
	assert_int_equal(ts_err_code(json_array_get(a, 1)), VSW_RPC_APP_ERROR);
	assert_int_equal(ts_err_code(json_array_get(a, 2)),
			 VSW_RPC_INVALID_REQUEST);
	json_decref(a);
	ts_send(c.fd, "[]\n", 3);
	a = ts_read_answer(&c);
	assert_int_equal(ts_err_code(a), VSW_RPC_INVALID_REQUEST);
	json_decref(a);
	/* The last request of a connection may lack its newline. */
	ts_send(c.fd, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":7}",
		40);
	shutdown(c.fd, SHUT_WR);
	a = ts_read_answer(&c);
	assert_int_equal(json_integer_value(json_object_get(a, "id")), 7);
	json_decref(a);
	assert_null(ts_read_answer(&c));
	ts_conn_close(&c);
}

/*
 * Send @n bytes of one unterminated request (a JSON string that never
 * ends); stop at the first error, which is EPIPE / ECONNRESET once the
 * server has closed. Returns the bytes sent.
 */
static size_t ts_send_huge(int fd, size_t n)
{
	char *big = malloc(n);
	size_t off = 0;

	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"x\":\"", 6);
	while (off < n) {
		ssize_t w = send(fd, big + off, n - off, MSG_NOSIGNAL);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	free(big);
	return off;
}

static void ts_assert_too_long(json_t *a)
{
	assert_non_null(a);
	assert_int_equal(ts_err_code(a), VSW_RPC_INVALID_REQUEST);
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_object_get(a, "error"), "message")),
			       "longer than"));
	json_decref(a);
}

/* The server still serves others. */
static void ts_assert_serves(struct ts_env *env)
{
	struct ts_conn c;
	json_t *a;

	ts_conn_open(env, &c);
	ts_send(c.fd, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":3}\n",
		41);
	a = ts_read_answer(&c);
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "id")), 3);
	json_decref(a);
	ts_conn_close(&c);
}

/*
 * A request over the limit: the server answers, shuts its write side and
 * reads on until the client stops, so the whole request goes out, the
 * answer arrives and then a clean end of file (no reset).
 */
static void test_server_huge(void **state)
{
	struct ts_env *env = *state;
	size_t n = VSW_RPC_MAX_REQUEST + 4096;
	struct ts_conn c;

	ts_conn_open(env, &c);
	assert_int_equal(ts_send_huge(c.fd, n), n);
	ts_assert_too_long(ts_read_answer(&c));
	assert_null(ts_read_answer(&c));
	ts_conn_close(&c);
	ts_assert_serves(env);
}

/*
 * A client that sends far more than the server discards: the server
 * closes, the send fails, and the answer is still there to read.
 */
static void test_server_huge_flood(void **state)
{
	struct ts_env *env = *state;
	size_t n = 8 * (size_t)VSW_RPC_MAX_REQUEST;
	struct ts_conn c;

	ts_conn_open(env, &c);
	assert_true(ts_send_huge(c.fd, n) < n);
	ts_assert_too_long(ts_read_answer(&c));
	ts_conn_close(&c);
	ts_assert_serves(env);
}

/* A client that stops sending but never closes is dropped in bounded time. */
static void test_server_huge_stall(void **state)
{
	struct ts_env *env = *state;
	struct pollfd p;
	struct ts_conn c;
	char ch;

	ts_conn_open(env, &c);
	assert_int_equal(ts_send_huge(c.fd, VSW_RPC_MAX_REQUEST + 4096),
			 VSW_RPC_MAX_REQUEST + 4096);
	ts_assert_too_long(ts_read_answer(&c));
	assert_null(ts_read_answer(&c)); /* the write side is shut */
	/* Keep the connection open: the server gives up on it (0.5 s). */
	p = (struct pollfd){ .fd = c.fd, .events = POLLOUT };
	for (;;) {
		assert_int_equal(poll(&p, 1, 10000), 1);
		if (send(c.fd, "", 0, MSG_NOSIGNAL) < 0 ||
		    (p.revents & (POLLHUP | POLLERR)))
			break;
		usleep(50 * 1000);
	}
	assert_true(recv(c.fd, &ch, 1, MSG_DONTWAIT) <= 0);
	ts_conn_close(&c);
	ts_assert_serves(env);
}

/* Through the client library, as vswctl calls: the server's own answer. */
static void test_server_huge_client(void **state)
{
	struct ts_env *env = *state;
	size_t n = VSW_RPC_MAX_REQUEST + 1024;
	struct vsw_rpc_client *cli;
	struct vsw_rpc_err e;
	json_t *params, *result;
	char err[256], *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	params = json_pack("{s:s}", "x", s);
	free(s);
	assert_non_null(params);
	assert_int_equal(vsw_rpc_client_connect(env->path, 5000, &cli, err,
						sizeof(err)),
			 0);
	assert_int_equal(vsw_rpc_client_call(cli, "echo", params, &result, &e),
			 1);
	assert_null(result);
	assert_int_equal(e.code, VSW_RPC_INVALID_REQUEST);
	assert_non_null(strstr(e.message, "longer than"));
	vsw_rpc_client_close(cli);
	ts_assert_serves(env);
}

static void test_server_socket_file(void **state)
{
	struct vsw_rpc_server *a, *b;
	char dir[] = "/tmp/vsw-test-rpc2-XXXXXX", path[128], err[256];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl", dir);
	assert_int_equal(vsw_rpc_server_create(path, ts_methods, 3, NULL, &a,
					       err, sizeof(err)),
			 0);
	/* A live socket is not stolen. */
	assert_int_equal(vsw_rpc_server_create(path, ts_methods, 3, NULL, &b,
					       err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "another vswd"));
	vsw_rpc_server_destroy(a);
	/* A stale socket (nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
	}
	close(fd);
	assert_int_equal(vsw_rpc_server_create(path, ts_methods, 3, NULL, &a,
					       err, sizeof(err)),
			 0);
	vsw_rpc_server_destroy(a);
	/* Any other file is left alone. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vsw_rpc_server_create(path, ts_methods, 3, NULL, &a,
					       err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- the server's limits ------------------------------------------------- */

static long long ts_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One of the server's counters, through a call of its own. */
static long long ts_stat(struct ts_env *env, const char *name)
{
	struct vsw_rpc_client *cli;
	struct vsw_rpc_err e;
	json_t *result;
	char err[256];
	long long v;

	assert_int_equal(vsw_rpc_client_connect(env->path, 5000, &cli, err,
						sizeof(err)),
			 0);
	assert_int_equal(vsw_rpc_client_call(cli, "stats", NULL, &result, &e),
			 0);
	v = json_integer_value(json_object_get(result, name));
	json_decref(result);
	vsw_rpc_client_close(cli);
	return v;
}

/* How many lines of the server's log contain @what. */
static int ts_log_count(struct ts_env *env, const char *what)
{
	struct vsw_rpc_client *cli;
	struct vsw_rpc_err e;
	json_t *result;
	const char *p;
	char err[256];
	int n = 0;

	assert_int_equal(vsw_rpc_client_connect(env->path, 5000, &cli, err,
						sizeof(err)),
			 0);
	assert_int_equal(vsw_rpc_client_call(cli, "stats", NULL, &result, &e),
			 0);
	p = json_string_value(json_object_get(result, "log"));
	while (p != NULL && (p = strstr(p, what)) != NULL) {
		n++;
		p += strlen(what);
	}
	json_decref(result);
	vsw_rpc_client_close(cli);
	return n;
}

/* Wait until counter @name is at least @min (5 s at most). */
static void ts_wait_stat(struct ts_env *env, const char *name, long long min)
{
	long long end = ts_now_ms() + 5000;

	while (ts_stat(env, name) < min) {
		assert_true(ts_now_ms() < end);
		usleep(20 * 1000);
	}
}

static const char *ts_err_msg(json_t *ans)
{
	return json_string_value(
		json_object_get(json_object_get(ans, "error"), "message"));
}

static int ts_err_errno(json_t *ans)
{
	return (int)json_integer_value(json_object_get(
		json_object_get(json_object_get(ans, "error"), "data"),
		"errno"));
}

static void ts_echo_ok(struct ts_conn *c, int id)
{
	char req[80];
	json_t *a;

	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":%d}\n", id);
	ts_send(c->fd, req, strlen(req));
	a = ts_read_answer(c);
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "id")), id);
	assert_null(json_object_get(a, "error"));
	json_decref(a);
}

/* A server with @lim, and one raw connection @c to it. */
static struct ts_env *ts_start_conn(void **state,
				    const struct vsw_rpc_limits *lim,
				    struct ts_conn *c)
{
	ts_start(state, lim, NULL);
	ts_conn_open(*state, c);
	return *state;
}

/* An idle connection is served until idle_ms, then closed (no reset). */
static void test_limit_idle(void **state)
{
	struct vsw_rpc_limits lim = { .idle_ms = 300 };
	struct ts_env *env;
	struct ts_conn c;
	long long t0;

	env = ts_start_conn(state, &lim, &c);
	usleep(150 * 1000);
	ts_echo_ok(&c, 1); /* idle 150 ms: still there, the clock restarts */
	usleep(150 * 1000);
	ts_echo_ok(&c, 2);
	t0 = ts_now_ms();
	assert_null(ts_read_answer(&c)); /* end of file, not ECONNRESET */
	assert_true(ts_now_ms() - t0 >= 250);
	assert_true(ts_now_ms() - t0 < 5000);
	ts_conn_close(&c);
	assert_true(ts_stat(env, "idle_closed") >= 1);
	ts_teardown(state);
}

/* Half a request: an error answer after read_ms, then end of file. */
static void test_limit_read(void **state)
{
	struct vsw_rpc_limits lim = { .read_ms = 300 };
	static const char half[] = "{\"jsonrpc\":\"2.0\",\"meth";
	struct ts_env *env;
	struct ts_conn c;
	long long t0;
	json_t *a;

	env = ts_start_conn(state, &lim, &c);
	t0 = ts_now_ms();
	ts_send(c.fd, half, strlen(half));
	a = ts_read_answer(&c);
	assert_non_null(a);
	assert_true(ts_now_ms() - t0 >= 250);
	assert_int_equal(ts_err_code(a), VSW_RPC_INVALID_REQUEST);
	assert_int_equal(ts_err_errno(a), ETIMEDOUT);
	assert_non_null(strstr(ts_err_msg(a), "not complete after 300 ms"));
	json_decref(a);
	assert_null(ts_read_answer(&c));
	ts_conn_close(&c);
	assert_int_equal(ts_stat(env, "read_timeouts"), 1);
	assert_int_equal(ts_log_count(env, "request not complete after 300 ms"),
			 1);
	ts_assert_serves(env);
	ts_teardown(state);
}

/*
 * A full table: the newcomer gets "server busy" and a clean end of file,
 * raw and through the client library; once a connection has been idle a
 * while, a newcomer takes its place instead.
 */
static void test_limit_busy(void **state)
{
	struct vsw_rpc_limits lim = { .max_clients = 3 };
	struct vsw_rpc_client *cli;
	struct ts_conn c[4];
	struct vsw_rpc_err e;
	struct ts_env *env;
	json_t *a, *result;
	char err[256];
	int i;

	ts_start(state, &lim, NULL);
	env = *state;
	for (i = 0; i < 3; i++) {
		ts_conn_open(env, &c[i]);
		ts_echo_ok(&c[i], i + 1); /* accepted */
	}
	ts_conn_open(env, &c[3]);
	a = ts_read_answer(&c[3]);
	assert_non_null(a);
	assert_int_equal(ts_err_code(a), VSW_RPC_APP_ERROR);
	assert_int_equal(ts_err_errno(a), EBUSY);
	assert_non_null(strstr(ts_err_msg(a), "server busy: 3 connections"));
	json_decref(a);
	assert_null(ts_read_answer(&c[3]));
	ts_conn_close(&c[3]);

	assert_int_equal(vsw_rpc_client_connect(env->path, 5000, &cli, err,
						sizeof(err)),
			 0);
	assert_int_equal(vsw_rpc_client_call(cli, "echo", NULL, &result, &e),
			 1);
	assert_int_equal(e.errnum, EBUSY);
	assert_non_null(strstr(e.message, "server busy"));
	vsw_rpc_client_close(cli);

	/* idle over a second: the oldest gives way (this call is the 4th) */
	usleep(1100 * 1000);
	ts_wait_stat(env, "evicted", 1);
	assert_null(ts_read_answer(&c[0]));
	ts_echo_ok(&c[1], 7);
	ts_echo_ok(&c[2], 8);
	/* the two turned away within a second: said once (c[1], c[2] just
	 * used: the stats call may not take their place) */
	assert_int_equal(ts_log_count(env, "turned away: server busy"), 1);
	for (i = 0; i < 3; i++)
		ts_conn_close(&c[i]);
	assert_true(ts_stat(env, "busy") >= 2);
	assert_int_equal(ts_log_count(env, "closed one of uid 0 idle for"), 1);
	ts_teardown(state);
}

/*
 * A table full of half requests: a newcomer is turned away while they are
 * fresh, and takes the place of the oldest once it is over a second old.
 */
static void test_limit_busy_half(void **state)
{
	struct vsw_rpc_limits lim = { .max_clients = 2 };
	static const char half[] = "{\"jsonrpc\":\"2.0\",";
	struct ts_conn c[3];
	struct ts_env *env;
	struct pollfd p;
	json_t *a;
	int i;

	ts_start(state, &lim, NULL);
	env = *state;
	ts_conn_open(env, &c[0]);
	ts_send(c[0].fd, half, strlen(half));
	usleep(300 * 1000); /* c[0]'s request is the older one */
	ts_conn_open(env, &c[1]);
	ts_send(c[1].fd, half, strlen(half));
	usleep(100 * 1000);
	ts_conn_open(env, &c[2]);
	a = ts_read_answer(&c[2]);
	assert_non_null(a);
	assert_int_equal(ts_err_errno(a), EBUSY);
	json_decref(a);
	ts_conn_close(&c[2]);
	usleep(800 * 1000); /* c[0]: 1.2 s, c[1]: 0.9 s */
	ts_conn_open(env, &c[2]);
	ts_echo_ok(&c[2], 5);
	/* c[0] was closed, c[1] still waits for the rest of its request */
	assert_null(ts_read_answer(&c[0]));
	p = (struct pollfd){ .fd = c[1].fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	for (i = 0; i < 3; i++)
		ts_conn_close(&c[i]);
	ts_teardown(state);
}

static char *ts_batch(const char *method, const char *params, int n)
{
	size_t cap = (size_t)n * (strlen(method) + strlen(params) + 64) + 4;
	char *s = malloc(cap);
	size_t off = 0;
	int i;

	assert_non_null(s);
	s[off++] = '[';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off,
					"%s{\"jsonrpc\":\"2.0\",\"method\":"
					"\"%s\",\"params\":%s,\"id\":%d}",
					i ? "," : "", method, params, i + 1);
	s[off++] = ']';
	s[off++] = '\n';
	s[off] = '\0';
	return s;
}

static void ts_send_batch(struct ts_conn *c, const char *method,
			  const char *params, int n)
{
	char *b = ts_batch(method, params, n);

	ts_send(c->fd, b, strlen(b));
	free(b);
}

/* max_batch calls are served; one more is refused as a whole. */
static void test_limit_batch(void **state)
{
	struct vsw_rpc_limits lim = { .max_batch = 10 };
	struct ts_env *env;
	struct ts_conn c;
	json_t *a;
	size_t i;

	env = ts_start_conn(state, &lim, &c);
	ts_send_batch(&c, "echo", "{}", 11);
	a = ts_read_answer(&c);
	assert_non_null(a);
	assert_int_equal(ts_err_code(a), VSW_RPC_INVALID_REQUEST);
	assert_non_null(strstr(ts_err_msg(a), "batch of 11 calls; at most 10"));
	json_decref(a);
	assert_int_equal(env->calls, 0); /* (read after the answer) */
	ts_send_batch(&c, "echo", "{\"k\":1}", 10);
	a = ts_read_answer(&c);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(json_integer_value(json_object_get(
					 json_array_get(a, i), "id")),
				 (json_int_t)i + 1);
	json_decref(a);
	ts_conn_close(&c);
	ts_teardown(state);
}

/*
 * A batch whose answers pass what a client accepts in all: the elements
 * over the bound become errors, the array stays whole and readable.
 */
static void test_limit_batch_answer(void **state)
{
	struct ts_conn c;
	size_t i, errs = 0;
	json_t *a;

	ts_start_conn(state, NULL, &c);
	ts_send_batch(&c, "big", "{\"n\":1048576}", 70); /* 70 MiB */
	a = ts_read_answer(&c);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 70);
	for (i = 0; i < 70; i++) {
		json_t *one = json_array_get(a, i);

		assert_int_equal(json_integer_value(json_object_get(one, "id")),
				 (json_int_t)i + 1);
		if (json_object_get(one, "error") == NULL)
			continue;
		assert_int_equal(ts_err_errno(one), EMSGSIZE);
		errs++;
	}
	print_message("%zu of 70 answers over the bound\n", errs);
	assert_true(errs >= 7 && errs < 70);
	assert_null(json_object_get(json_array_get(a, 0), "error"));
	json_decref(a);
	ts_echo_ok(&c, 99);
	ts_conn_close(&c);
	ts_teardown(state);
}

/*
 * A client that never reads: over out_max queued it is disconnected and
 * the memory is given back; the others are served meanwhile.
 */
static void test_limit_out_max(void **state)
{
	struct vsw_rpc_limits lim = { .out_max = 64 << 10 };
	struct ts_env *env;
	struct ts_conn c;

	env = ts_start_conn(state, &lim, &c);
	ts_send_batch(&c, "big", "{\"n\":16000}", 200);
	ts_wait_stat(env, "slow_readers", 1);
	assert_int_equal(ts_stat(env, "out_bytes"), 0);
	assert_int_equal(ts_stat(env, "conns"), 1); /* the stats call's */
	assert_int_equal(ts_log_count(env, "answers not read, over its bound"),
			 1);
	ts_conn_close(&c);
	ts_assert_serves(env);
	ts_teardown(state);
}

/* Answers not taken for write_ms: disconnected, memory given back. */
static void test_limit_write(void **state)
{
	struct vsw_rpc_limits lim = { .write_ms = 300 };
	static const char req[] =
		"{\"jsonrpc\":\"2.0\",\"method\":\"big\",\"params\":"
		"{\"n\":2000000},\"id\":1}\n";
	struct ts_env *env;
	struct ts_conn c;
	long long t0;

	env = ts_start_conn(state, &lim, &c);
	t0 = ts_now_ms();
	ts_send(c.fd, req, strlen(req));
	while (ts_stat(env, "out_bytes") == 0)
		assert_true(ts_now_ms() - t0 < 5000);
	ts_wait_stat(env, "slow_readers", 1);
	assert_true(ts_now_ms() - t0 >= 250);
	assert_int_equal(ts_stat(env, "out_bytes"), 0);
	ts_conn_close(&c);
	ts_teardown(state);
}

/*
 * Over out_total on all connections: the blocked connection holding the
 * most goes, the newer one stays. (A batch pauses once 256 KiB of its
 * answer wait: a's buffer stops at 512 KiB, under the cap; b's growing to
 * 512 KiB passes it.)
 */
static void test_limit_out_total(void **state)
{
	struct vsw_rpc_limits lim = { .out_total = 768 << 10 };
	struct ts_env *env;
	struct ts_conn a, b;
	char *batch;

	ts_start(state, &lim, NULL);
	env = *state;
	batch = ts_batch("big", "{\"n\":16000}", 100);
	ts_conn_open(env, &a);
	ts_send(a.fd, batch, strlen(batch));
	while (ts_stat(env, "out_bytes") < (512 << 10))
		usleep(10 * 1000);
	usleep(100 * 1000);
	assert_int_equal(ts_stat(env, "slow_readers"), 0);
	ts_conn_open(env, &b);
	ts_send(b.fd, batch, strlen(batch));
	free(batch);
	ts_wait_stat(env, "slow_readers", 1);
	/* a is gone: what it got, then end of file */
	for (;;) {
		json_t *j = ts_read_answer(&a);

		if (j == NULL)
			break;
		json_decref(j);
	}
	assert_int_equal(ts_stat(env, "conns"), 2); /* b and the stats call */
	ts_conn_close(&b);
	ts_conn_close(&a);
	ts_teardown(state);
}

/*
 * A batch of 1000 calls of 1 ms runs in slices: another client's call is
 * answered while it is in progress, quickly; the batch's answer is whole
 * and in order.
 */
static void test_limit_fair(void **state)
{
	struct vsw_rpc_limits lim = { .slice_calls = 4 };
	struct vsw_rpc_client *cli;
	struct vsw_rpc_err e;
	struct ts_env *env;
	struct ts_conn c;
	json_t *a, *result;
	long long t0, dt;
	char err[256];
	json_int_t slow;
	size_t i;

	env = ts_start_conn(state, &lim, &c);
	ts_send_batch(&c, "slow", "{}", 1000);
	usleep(50 * 1000);
	t0 = ts_now_ms();
	assert_int_equal(vsw_rpc_client_connect(env->path, 5000, &cli, err,
						sizeof(err)),
			 0);
	assert_int_equal(vsw_rpc_client_call(cli, "stats", NULL, &result, &e),
			 0);
	dt = ts_now_ms() - t0;
	slow = json_integer_value(json_object_get(result, "slow_calls"));
	json_decref(result);
	vsw_rpc_client_close(cli);
	print_message("stats answered in %lld ms, %lld of 1000 slow calls "
		      "done\n",
		      dt, (long long)slow);
	assert_true(slow > 0 && slow < 1000);
	assert_true(dt < 1000); /* unfair: the whole batch, over 1 s */
	a = ts_read_answer(&c);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 1000);
	for (i = 0; i < 1000; i++) {
		json_t *one = json_array_get(a, i);

		assert_int_equal(json_integer_value(json_object_get(one, "id")),
				 (json_int_t)i + 1);
		assert_int_equal(
			json_integer_value(json_object_get(one, "result")),
			(json_int_t)i + 1);
	}
	json_decref(a);
	ts_conn_close(&c);
	ts_teardown(state);
}

/*
 * Out of file descriptors: the newcomer still gets "server busy" (through
 * the server's spare descriptor), and the server serves on afterwards.
 */
static void test_limit_nofile(void **state)
{
	struct rlimit old, low;
	struct ts_env *env;
	struct ts_conn c;
	int fds[256], n = 0;
	json_t *a;

	ts_start(state, NULL, NULL);
	env = *state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 256; /* this process has far fewer open */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 256 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	assert_true(n > 0 && n < 256);
	close(fds[--n]); /* room for the client's socket only */
	ts_conn_open(env, &c);
	a = ts_read_answer(&c);
	assert_non_null(a);
	assert_int_equal(ts_err_errno(a), EBUSY);
	assert_non_null(strstr(ts_err_msg(a), "out of file descriptors"));
	json_decref(a);
	assert_null(ts_read_answer(&c));
	ts_conn_close(&c);
	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	ts_assert_serves(env);
	assert_int_equal(ts_stat(env, "busy"), 1);
	ts_teardown(state);
}

/* ---- access control --------------------------------------------------- */

enum { TS_OK, TS_EPERM, TS_EACCES, TS_OTHER };

/*
 * In a child running as @uid / @gid with the supplementary groups @groups,
 * call @method: TS_OK, TS_EPERM or TS_EACCES (an error answer saying so).
 */
static int ts_call_as(struct ts_env *env, uid_t uid, gid_t gid,
		      const gid_t *groups, size_t n_groups, const char *method)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct vsw_rpc_client *cli;
		struct vsw_rpc_err e;
		json_t *result;
		char err[256];
		int rc;

		if (setgroups(n_groups, groups) < 0 ||
		    setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(TS_OTHER);
		if (vsw_rpc_client_connect(env->path, 5000, &cli, err,
					   sizeof(err)) < 0)
			_exit(TS_OTHER);
		rc = vsw_rpc_client_call(cli, method, NULL, &result, &e);
		if (rc == 0)
			_exit(TS_OK);
		if (rc == 1 && e.errnum == EPERM &&
		    strstr(e.message, "read-only access"))
			_exit(TS_EPERM);
		if (rc == 1 && e.errnum == EACCES &&
		    strstr(e.message, "permission denied: uid"))
			_exit(TS_EACCES);
		_exit(TS_OTHER);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_access(void **state)
{
	static const uid_t uids[] = { 4245 };
	static const gid_t gids[] = { 4250 }, ro[] = { 4242 };
	static const gid_t sup_ro[] = { 4242 }, sup_full[] = { 4250 };
	struct vsw_rpc_access acc = {
		.mode = 0666, .group = 4242,
		.uids = uids, .n_uids = 1,
		.gids = gids, .n_gids = 1,
		.ro_gids = ro, .n_ro_gids = 1,
	};
	gid_t many[300];
	struct ts_env *env;
	struct stat sb;
	int i;

	if (geteuid() != 0) {
		print_message("not root: peer credentials not tested\n");
		skip();
	}
	ts_start(state, NULL, &acc);
	env = *state;
	assert_int_equal(stat(env->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0666);
	assert_int_equal(sb.st_gid, 4242);
	/* read-only group (primary, then supplementary) */
	assert_int_equal(ts_call_as(env, 4243, 4242, NULL, 0, "echo"), TS_OK);
	assert_int_equal(ts_call_as(env, 4243, 4242, NULL, 0, "big"), TS_EPERM);
	assert_int_equal(ts_call_as(env, 4246, 4246, sup_ro, 1, "echo"), TS_OK);
	assert_int_equal(ts_call_as(env, 4246, 4246, sup_ro, 1, "big"),
			 TS_EPERM);
	/* more groups than the server reads at first: the last one counts */
	for (i = 0; i < 300; i++)
		many[i] = (gid_t)(5000 + i);
	many[299] = 4242;
	assert_int_equal(ts_call_as(env, 4249, 4249, many, 300, "echo"), TS_OK);
	assert_int_equal(ts_call_as(env, 4249, 4249, many, 300, "big"),
			 TS_EPERM);
	/* allowed by uid, by primary or supplementary group */
	assert_int_equal(ts_call_as(env, 4245, 4244, NULL, 0, "big"), TS_OK);
	assert_int_equal(ts_call_as(env, 4247, 4250, NULL, 0, "big"), TS_OK);
	assert_int_equal(ts_call_as(env, 4248, 4248, sup_full, 1, "big"),
			 TS_OK);
	/* anybody else: refused, with the reason */
	assert_int_equal(ts_call_as(env, 4244, 4244, NULL, 0, "echo"),
			 TS_EACCES);
	assert_int_equal(ts_call_as(env, 65534, 65534, NULL, 0, "version"),
			 TS_EACCES);
	/* root always */
	assert_int_equal(ts_call_as(env, 0, 0, NULL, 0, "big"), TS_OK);
	assert_int_equal(ts_stat(env, "refused"), 2);
	assert_int_equal(ts_log_count(env, "control client refused: permission "
					   "denied: uid 4244 (gid 4244)"),
			 1);
	assert_int_equal(ts_log_count(env, "uid 4243 (read-only) called "
					   "\"big\": denied"),
			 1);
	ts_teardown(state);
}

/* Without lists the file mode decides alone: any uid that connects. */
static void test_access_open(void **state)
{
	struct vsw_rpc_access acc = { .mode = 0666, .group = (gid_t)-1 };
	struct vsw_rpc_access bad = { .mode = 01777, .group = (gid_t)-1 };
	struct ts_env *env;
	char err[256];

	if (geteuid() != 0) {
		print_message("not root: peer credentials not tested\n");
		skip();
	}
	ts_start(state, NULL, &acc);
	env = *state;
	assert_int_equal(ts_call_as(env, 4244, 4244, NULL, 0, "big"), TS_OK);
	assert_int_equal(vsw_rpc_server_set_access(env->srv, &bad, err,
						   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "only permission bits"));
	ts_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rbuf_partial),
		cmocka_unit_test(test_rbuf_many_in_one),
		cmocka_unit_test(test_rbuf_oversize),
		cmocka_unit_test(test_request_checks),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_response_checks),
		cmocka_unit_test(test_params),
		cmocka_unit_test_setup_teardown(test_server_client, ts_setup,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_server_garbage, ts_setup,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_server_split_and_batch,
						ts_setup, ts_teardown),
		cmocka_unit_test_setup_teardown(test_server_huge, ts_setup,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_server_huge_flood, ts_setup,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_server_huge_stall, ts_setup,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_server_huge_client, ts_setup,
						ts_teardown),
		cmocka_unit_test(test_server_socket_file),
		cmocka_unit_test(test_limit_idle),
		cmocka_unit_test(test_limit_read),
		cmocka_unit_test(test_limit_busy),
		cmocka_unit_test(test_limit_busy_half),
		cmocka_unit_test(test_limit_batch),
		cmocka_unit_test(test_limit_batch_answer),
		cmocka_unit_test(test_limit_out_max),
		cmocka_unit_test(test_limit_write),
		cmocka_unit_test(test_limit_out_total),
		cmocka_unit_test(test_limit_fair),
		cmocka_unit_test(test_limit_nofile),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_access_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
