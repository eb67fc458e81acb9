/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the JSON-RPC framing and message checks of the control
 * protocol (lib/control/rpc.c), as the server and the client use them on
 * bytes from a peer.
 *
 * Input format:
 *   [0]  the longest message accepted: 1 << (4 + low 4 bits) bytes, at most
 *        VSW_RPC_MAX_REQUEST
 *   [1]  seed of the chunk sizes the stream is fed in (1..64 bytes, or all
 *        at once when 0)
 *   [2..] the byte stream a client sends
 *
 * Invariants, checked with abort():
 *   - the read buffer hands out exactly the lines a reference splitter
 *     finds (newline-terminated, blank lines skipped, a CR before the
 *     newline dropped), whatever the chunking, and reports -EMSGSIZE
 *     exactly at the first line longer than the limit;
 *   - vsw_rpc_parse() returns a value or sets a parse error;
 *     vsw_rpc_check_request() returns 0 with a method and params of the
 *     right types, or an error code with a message;
 *   - the answer the server would build (result or error, with the
 *     request's id) encodes to one line that parses back and that
 *     vsw_rpc_check_response() accepts as the answer to that id;
 *   - vsw_rpc_check_response() on the client's side returns 0 with a
 *     result, 1 with an error message, or a negative errno.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsw_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line as the reference splitter sees it. */
struct fz_ref {
	const uint8_t *p;
	size_t len, pos, max;
};

/* 1: a message [*off, *off + *n); 0: no more; -EMSGSIZE. */
static int fz_ref_next(struct fz_ref *r, size_t *off, size_t *n)
{
	for (;;) {
		const uint8_t *nl;
		size_t start = r->pos, l, i;
		bool blank = true;

		nl = memchr(r->p + start, '\n', r->len - start);
		if (nl == NULL)
			return r->len - start > r->max ? -EMSGSIZE : 0;
		l = (size_t)(nl - (r->p + start));
		if (l > r->max)
			return -EMSGSIZE;
		r->pos = start + l + 1;
		for (i = 0; i < l; i++)
			if (r->p[start + i] != ' ' && r->p[start + i] != '\t' &&
			    r->p[start + i] != '\r')
				blank = false;
		if (blank)
			continue;
		if (r->p[start + l - 1] == '\r')
			l--;
		*off = start;
		*n = l;
		return 1;
	}
}

/* The answer to id: result (taken, as vsw_rpc_result_new does) or e. */
static void fz_answer(json_t *id, json_t *result, const struct vsw_rpc_err *e)
{
	struct vsw_rpc_err back = {0};
	json_t *ans, *again, *res = NULL;
	size_t len;
	char *line;
	int ret;

	ans = result != NULL ? vsw_rpc_result_new(id, result)
			     : vsw_rpc_error_new(id, e);
	if (ans == NULL)
		abort();
	line = vsw_rpc_encode(ans, VSW_RPC_MAX_RESPONSE, &len);
	if (line == NULL || len == 0 || line[len - 1] != '\n' ||
	    memchr(line, '\n', len - 1) != NULL)
		abort();
	again = vsw_rpc_parse(line, len - 1, &back);
	if (again == NULL)
		abort();
	if (json_is_integer(id)) {
		ret = vsw_rpc_check_response(again, json_integer_value(id),
					     &res, &back);
		if (ret != (result != NULL ? 0 : 1))
			abort();
		if (result != NULL && !json_equal(res, result))
			abort();
		if (result == NULL && back.code != e->code)
			abort();
		json_decref(res);
	}
	json_decref(again);
	json_decref(ans);
	free(line);
}

static void fz_message(const char *msg, size_t len)
{
	struct vsw_rpc_request req;
	struct vsw_rpc_err e = {0};
	json_t *root, *res = NULL, *echo;
	int ret;

	root = vsw_rpc_parse(msg, len, &e);
	if (root == NULL) {
		if (e.code != VSW_RPC_PARSE_ERROR || e.message[0] == '\0')
			abort();
		fz_answer(json_null(), NULL, &e);
		return;
	}
	/* as the server sees it */
	ret = vsw_rpc_check_request(root, &req, &e);
	if (ret == 0) {
		if (req.method == NULL || req.method[0] == '\0' ||
		    (req.params != NULL && !json_is_object(req.params)))
			abort();
		/* an echo of the params stands for a method's result */
		echo = json_pack("{s:s, s:O}", "method", req.method, "params",
				 req.params != NULL ? req.params : json_null());
		if (echo == NULL)
			abort();
		if (req.id != NULL)
			fz_answer(req.id, echo, NULL); /* takes echo */
		else
			json_decref(echo);
	} else {
		if ((ret != VSW_RPC_INVALID_REQUEST &&
		     ret != VSW_RPC_INVALID_PARAMS) ||
		    e.message[0] == '\0')
			abort();
		fz_answer(req.id != NULL ? req.id : json_null(), NULL, &e);
	}
	/* as a client reading an answer to request 1 */
	memset(&e, 0, sizeof(e));
	ret = vsw_rpc_check_response(root, 1, &res, &e);
	if (ret == 0 && res == NULL)
		abort();
	if (ret != 0 && (res != NULL || e.message[0] == '\0'))
		abort();
	json_decref(res);
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsw_rpc_rbuf rb;
	struct fz_ref ref;
	const uint8_t *s;
	size_t len, fed = 0, max;
	uint32_t seed;
	int ret, want;

	if (size < 2 || size > (1u << 20))
		return 0;
	max = (size_t)1 << (4 + (data[0] & 0xf));
	if (max > VSW_RPC_MAX_REQUEST)
		max = VSW_RPC_MAX_REQUEST;
	seed = data[1];
	s = data + 2;
	len = size - 2;
	ref = (struct fz_ref){.p = s, .len = len, .max = max};
	vsw_rpc_rbuf_init(&rb, max);
	for (;;) {
		size_t off = 0, n = 0, got_len;
		const char *got;

		want = fz_ref_next(&ref, &off, &n);
		/* feed until the buffer answers (or everything is in) */
		for (;;) {
			ret = vsw_rpc_rbuf_next(&rb, &got, &got_len);
			if (ret != 0 || fed == len)
				break;
			size_t chunk = len - fed;

			if (seed != 0) {
				seed = seed * 1103515245u + 12345u;
				chunk = 1 + (seed >> 16) % 64;
				if (chunk > len - fed)
					chunk = len - fed;
			}
			if (vsw_rpc_rbuf_feed(&rb, s + fed, chunk) != 0)
				abort();
			fed += chunk;
		}
		if (ret != want && !(want == -EMSGSIZE && ret == 0))
			abort();
		if (want == -EMSGSIZE && ret == 0)
			abort(); /* all fed and the long line not reported */
		if (ret <= 0)
			break;
		if (got_len != n || memcmp(got, s + off, n) != 0 ||
		    got[n] != '\0')
			abort();
		fz_message(got, got_len);
	}
	if (ret == 0 && vsw_rpc_rbuf_pending(&rb) != len - ref.pos)
		abort();
	vsw_rpc_rbuf_fini(&rb);
	return 0;
}
