/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vswd's JSON-RPC methods (programs/vswd/vswd_ctl.c,
 * vswd_flow.c, vswd_stats.c and the files they use) behind the real
 * control server (lib/control/rpc_server.c),
 * one client's byte stream per input.
 *
 * A vswd is built in memory for each input: a fresh conf.db in a private
 * temporary folder, a switch with one data thread, the control socket in
 * that folder. Only the dummy port provider is registered (this file
 * defines vsw_port_ops_find / vsw_port_ops_at, so lib/ports/registry.c is
 * not linked): no call can create a host device. The harness sets up br0
 * with two dummy ports through the same socket, then sends the input,
 * closes its write side and runs the server until every answer is out.
 *
 * Invariants, checked with abort():
 *   - the server never fails (vsw_rpc_server_run returns 0) and answers
 *     with complete lines, each a JSON-RPC 2.0 response object or a batch
 *     (array) of them, with either a result or an error (code, message);
 *   - afterwards a second client still gets answers: "show" and
 *     "flow.dump" of every bridge succeed, and the store reopens and
 *     holds the same bridges (the daemon survives any client);
 *   - flow expiry and pending-port retries run on what the input left.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vsw/port.h>
#include <vsw/switch.h>

#include "vswd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (256 * 1024)
#define FZ_ROUNDS 20000
#define FZ_ANSWERS_MAX (64u << 20)

/* ---- what vswd_log.c provides to the method files (quiet here) ---- */

void vswd_log(const struct vswd *d, enum vsw_log_level level,
	      const char *fmt, ...)
{
	(void)d;
	(void)level;
	(void)fmt;
}

void vswd_log_mod(const struct vswd *d, enum vswd_log_module mod,
		  enum vsw_log_level level, const char *fmt, ...)
{
	(void)d;
	(void)mod;
	(void)level;
	(void)fmt;
}

const char *vswd_log_level_name(int level)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	return level >= 0 && level < 4 ? names[level] : "?";
}

int vswd_log_level_parse(const char *name)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(name, vswd_log_level_name(i)) == 0)
			return i;
	return -1;
}

const char *vswd_log_module_name(int mod)
{
	static const char *const names[] = { "vswd", "switch", "control" };

	return mod >= 0 && mod < 3 ? names[mod] : NULL;
}

static void fz_switch_log(void *arg, enum vsw_log_level level,
			  const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

/* ---- the port registry: dummy ports only ---- */

const struct vsw_port_ops *vsw_port_ops_find(const char *type)
{
	if (type != NULL && strcmp(type, vsw_port_dummy_ops.type) == 0)
		return &vsw_port_dummy_ops;
	return NULL;
}

const struct vsw_port_ops *vsw_port_ops_at(unsigned i)
{
	return i == 0 ? &vsw_port_dummy_ops : NULL;
}

/* ---- the client ---- */

struct fz_client {
	int fd;
	char *in; /* answers received */
	size_t in_len, in_cap;
	const uint8_t *out;
	size_t out_len, out_pos;
	bool eof;
};

static void fz_client_io(struct fz_client *c)
{
	ssize_t n;

	if (c->out_pos < c->out_len) {
		n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			c->out_pos += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			c->out_pos = c->out_len; /* the server hung up */
		if (c->out_pos == c->out_len)
			shutdown(c->fd, SHUT_WR);
	}
	for (;;) {
		if (c->in_cap - c->in_len < 65536) {
			c->in_cap = c->in_cap ? 2 * c->in_cap : 131072;
			c->in = realloc(c->in, c->in_cap);
			if (c->in == NULL || c->in_cap > FZ_ANSWERS_MAX)
				abort();
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1,
			 MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->eof = true;
		if (n <= 0)
			return;
		c->in_len += (size_t)n;
	}
}

static void fz_check_one(json_t *a)
{
	json_t *err = json_object_get(a, "error");

	if (!json_is_object(a) ||
	    !json_is_string(json_object_get(a, "jsonrpc")) ||
	    (json_object_get(a, "result") == NULL) == (err == NULL))
		abort();
	if (err != NULL &&
	    (!json_is_integer(json_object_get(err, "code")) ||
	     !json_is_string(json_object_get(err, "message"))))
		abort();
}

/* Every answer line is a response or a batch of them. */
static void fz_check_answers(const struct fz_client *c)
{
	size_t pos = 0;

	while (pos < c->in_len) {
		const char *nl = memchr(c->in + pos, '\n', c->in_len - pos);
		json_error_t jerr;
		json_t *a;
		size_t i;

		if (nl == NULL)
			abort(); /* a partial answer */
		a = json_loadb(c->in + pos, (size_t)(nl - (c->in + pos)), 0,
			       &jerr);
		if (a == NULL) {
			fprintf(stderr, "answer does not parse: %s\n",
				jerr.text);
			abort();
		}
		if (json_is_array(a)) {
			for (i = 0; i < json_array_size(a); i++)
				fz_check_one(json_array_get(a, i));
		} else {
			fz_check_one(a);
		}
		json_decref(a);
		pos = (size_t)(nl - c->in) + 1;
	}
}

/* Send bytes as a client of srv and collect every answer. */
static void fz_session(struct vswd *d, const char *path, const uint8_t *out,
		       size_t len, struct fz_client *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned round;

	memset(c, 0, sizeof(*c));
	c->out = out;
	c->out_len = len;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	if (len == 0)
		shutdown(c->fd, SHUT_WR);
	for (round = 0; round < FZ_ROUNDS && !c->eof; round++) {
		struct pollfd p = {.fd = vsw_rpc_server_fd(d->rpc),
				   .events = POLLIN};

		fz_client_io(c);
		(void)poll(&p, 1, round > 4 ? 1 : 0);
		if (vsw_rpc_server_run(d->rpc) != 0)
			abort();
	}
	fz_client_io(c);
	close(c->fd);
	fz_check_answers(c);
}

static const char fz_setup[] =
	"{\"jsonrpc\":\"2.0\",\"method\":\"bridge.add\",\"params\":"
	"{\"bridge\":\"br0\"},\"id\":1}\n"
	"{\"jsonrpc\":\"2.0\",\"method\":\"port.add\",\"params\":{\"bridge\":"
	"\"br0\",\"port\":\"d1\",\"type\":\"dummy\"},\"id\":2}\n"
	"{\"jsonrpc\":\"2.0\",\"method\":\"port.add\",\"params\":{\"bridge\":"
	"\"br0\",\"port\":\"d2\",\"type\":\"dummy\"},\"id\":3}\n";

static int fz_bridge_dump(void *opaque, const char *name)
{
	struct vswd *d = opaque;
	struct vsw_rpc_err e = {0};
	json_t *p = json_pack("{s:s}", "bridge", name), *res = NULL;

	if (p == NULL || vswd_m_flow_dump(d, p, &res, &e) != 0)
		abort();
	json_decref(res);
	json_decref(p);
	return 0;
}

static int fz_count(void *opaque, const char *name)
{
	(void)name;
	(*(unsigned *)opaque)++;
	return 0;
}

static void fz_still_serving(struct vswd *d)
{
	static const char show[] =
		"{\"jsonrpc\":\"2.0\",\"method\":\"show\",\"id\":7}\n";
	struct fz_client c;
	json_t *a;

	fz_session(d, d->ctl_path, (const uint8_t *)show, sizeof(show) - 1,
		   &c);
	a = json_loadb(c.in, c.in_len, JSON_DISABLE_EOF_CHECK, NULL);
	if (a == NULL || json_object_get(a, "result") == NULL)
		abort();
	json_decref(a);
	free(c.in);
	if (vsw_cfg_bridge_foreach(d->cfg, fz_bridge_dump, d) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[40], err[512];
	char side[sizeof(((struct vswd *)0)->db_path) + 16];
	struct vsw_switch_config sc = {0};
	struct vswd d;
	struct fz_client c;
	static const char *const sides[] = {"-wal", "-shm", "-journal"};
	unsigned before = 0, after = 0, i;
	bool created;

	if (size > FZ_MAX_INPUT)
		return 0;
	/* tmpfs where there is one: the store's fsyncs cost nothing there */
	snprintf(dir, sizeof(dir), "/dev/shm/vsw-fuzz-vswd.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/vsw-fuzz-vswd.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	memset(&d, 0, sizeof(d));
	d.log_level = VSW_LOG_ERR;
	snprintf(d.db_path, sizeof(d.db_path), "%s/conf.db", dir);
	snprintf(d.ctl_path, sizeof(d.ctl_path), "%s/ctl", dir);
	snprintf(d.run_dir, sizeof(d.run_dir), "%s", dir);
	if (vsw_cfg_open(d.db_path, 0, &d.cfg, &created, err, sizeof(err)))
		abort();
	sc.log = fz_switch_log;
	sc.n_threads = 1;
	sc.spin_us = VSW_SWITCH_SPIN_OFF;
	sc.pool_small = 256;
	sc.pool_large = 4;
	if (vsw_switch_create(&sc, &d.sw) != 0 || vswd_restore(&d) != 0)
		abort();
	if (vsw_rpc_server_create(d.ctl_path, vswd_methods, vswd_n_methods, &d,
				  &d.rpc, err, sizeof(err)) != 0)
		abort();
	fz_session(&d, d.ctl_path, (const uint8_t *)fz_setup,
		   sizeof(fz_setup) - 1, &c);
	free(c.in);
	fz_session(&d, d.ctl_path, data, size, &c);
	free(c.in);

	vswd_flows_expire(&d);
	vswd_retry_pending(&d);
	fz_still_serving(&d);
	if (vsw_cfg_bridge_foreach(d.cfg, fz_count, &before) < 0)
		abort();

	vsw_rpc_server_destroy(d.rpc);
	vsw_switch_destroy(d.sw);
	vsw_cfg_close(d.cfg);
	vswd_free_pending(&d);
	/* what was committed is in the file */
	if (vsw_cfg_open(d.db_path, 0, &d.cfg, &created, err, sizeof(err)) ||
	    vsw_cfg_bridge_foreach(d.cfg, fz_count, &after) < 0 ||
	    before != after)
		abort();
	vsw_cfg_close(d.cfg);
	/* nothing but the store and the socket (rmdir fails otherwise) */
	unlink(d.db_path);
	for (i = 0; i < 3; i++) {
		snprintf(side, sizeof(side), "%s%s", d.db_path, sides[i]);
		unlink(side);
	}
	unlink(d.ctl_path);
	if (rmdir(dir) != 0) {
		fprintf(stderr, "%s: vswd left files behind\n", dir);
		abort();
	}
	return 0;
}
