/* SPDX-License-Identifier: MIT */
/*
 * vswd's packet capture methods: capture.start, capture.read and
 * capture.stop (vswctl capture).
 *
 * The data threads copy a port's frames into the capture's ring
 * (lib/switch/capture.c); the client pulls them with capture.read, which
 * drains the ring on this (the control) thread, applies the BPF filter and
 * answers with the frames that passed, hex-encoded. The filter runs here,
 * not on the data threads (a BPF program per frame would be a cost the
 * forwarding pays) and not in vswctl (every frame would then cross the
 * socket, and a capture's --count could not stop at the Nth match): the
 * ring has to hold unfiltered frames, so a narrow filter on a busy port
 * sees drops sooner than the same filter in the kernel would.
 *
 * Security model: capture.* are not read-only methods (a capture shows
 * every tenant's traffic on the port and costs the data path a copy), so
 * only a client with full access reaches them. Every parameter is checked;
 * the filter text goes to libpcap's compiler only, bounded in length. A
 * client that stops reading (gone, killed) does not keep its capture:
 * one not read for VSWD_CAPTURE_IDLE_MS is stopped and freed, and at most
 * VSWD_MAX_CAPTURES exist at once (one per port in any case).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "vswd.h"

/* Longest filter expression accepted. */
#define CAP_FILTER_MAX 4096
/* Frame bytes one capture.read answers with at most (hex doubles it). */
#define CAP_READ_BYTES (2u << 20)
#define CAP_READ_FRAMES 4096

struct vswd_capture {
	uint32_t id;
	struct vsw_capture *cap;
	char port[VSW_PORT_NAME_MAX];
	bool has_filter;
	struct bpf_program prog;
	uint64_t last_read_ms;
	uint64_t seen, passed; /* frames taken from the ring, and sent */
	uint8_t *buf;	       /* one frame, VSW_PKT_MAX_LEN */
};

static struct vswd_capture *cap_find(struct vswd *d, json_t *params,
				     struct vsw_rpc_err *e)
{
	json_t *v = json_object_get(params, "id");
	unsigned int i;

	if (!json_is_integer(v)) {
		vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
			     "parameter \"id\" (an integer) is required");
		return NULL;
	}
	for (i = 0; i < d->n_captures; i++)
		if ((json_int_t)d->captures[i].id == json_integer_value(v))
			return &d->captures[i];
	vsw_rpc_fail(e, 0, ENOENT,
		     "no capture %lld (stopped, or idle for "
		     "more than %d s)",
		     (long long)json_integer_value(v),
		     VSWD_CAPTURE_IDLE_MS / 1000);
	return NULL;
}

static void cap_free(struct vswd *d, struct vswd_capture *c)
{
	unsigned int i = (unsigned int)(c - d->captures);

	vsw_capture_stop(c->cap);
	if (c->has_filter)
		pcap_freecode(&c->prog);
	free(c->buf);
	d->captures[i] = d->captures[--d->n_captures];
}

/* Compile @filter for Ethernet frames into @prog. 0 or -EINVAL, @e says. */
static int cap_compile(const char *filter, uint32_t snaplen,
		       struct bpf_program *prog, struct vsw_rpc_err *e)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	int rc = 0;

	if (p == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "pcap_open_dead failed");
	if (pcap_compile(p, prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
		rc = vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				  "filter \"%.200s\": %s", filter,
				  pcap_geterr(p));
	pcap_close(p);
	return rc;
}

static int cap_dir_param(json_t *params, unsigned int *dir,
			 struct vsw_rpc_err *e)
{
	const char *s;
	int rc = vsw_rpc_param_str(params, "direction", false, &s, e);

	if (rc < 0)
		return rc;
	if (s == NULL || strcmp(s, "both") == 0)
		*dir = VSW_CAPTURE_IN | VSW_CAPTURE_OUT;
	else if (strcmp(s, "in") == 0)
		*dir = VSW_CAPTURE_IN;
	else if (strcmp(s, "out") == 0)
		*dir = VSW_CAPTURE_OUT;
	else
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "direction \"%.64s\": in, out or both", s);
	return 0;
}

static int cap_uint_param(json_t *params, const char *name, uint32_t max,
			  uint32_t *out, struct vsw_rpc_err *e)
{
	json_t *v = json_object_get(params, name);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "parameter \"%s\": an integer from 0 to %u",
				    name, (unsigned int)max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

int vswd_m_capture_start(void *opaque, json_t *params, json_t **result,
			 struct vsw_rpc_err *e)
{
	static const char *const known[] = {"port",    "direction", "filter",
					    "snaplen", "ring",	    NULL};
	struct vswd *d = opaque;
	struct vswd_capture c = {0};
	char err[VSWD_ERR_MAX] = "";
	const char *port, *filter;
	uint32_t snaplen = 0, ring_kib = 0;
	unsigned int dir = 0;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "port", true, &port, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "filter", false, &filter, e);
	if (rc == 0)
		rc = cap_dir_param(params, &dir, e);
	if (rc == 0)
		rc = cap_uint_param(params, "snaplen", VSW_PKT_MAX_LEN,
				    &snaplen, e);
	if (rc == 0)
		rc = cap_uint_param(params, "ring", VSW_CAPTURE_RING_MAX >> 10,
				    &ring_kib, e);
	if (rc < 0)
		return rc;
	if (vsw_switch_port_find(d->sw, port) == NULL)
		return vsw_rpc_fail(e, 0, ENOENT, "no port %.64s", port);
	if (d->captures == NULL) {
		d->captures = calloc(VSWD_MAX_CAPTURES, sizeof(*d->captures));
		if (d->captures == NULL)
			return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	}
	if (d->n_captures >= VSWD_MAX_CAPTURES)
		return vsw_rpc_fail(e, 0, EBUSY, "%d captures running already",
				    VSWD_MAX_CAPTURES);
	if (filter != NULL && strlen(filter) > CAP_FILTER_MAX)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "filter longer than %d bytes",
				    CAP_FILTER_MAX);
	if (filter != NULL && filter[0] != '\0') {
		rc = cap_compile(filter, snaplen ? snaplen : VSW_PKT_MAX_LEN,
				 &c.prog, e);
		if (rc < 0)
			return rc;
		c.has_filter = true;
	}
	c.buf = malloc(VSW_PKT_MAX_LEN);
	if (c.buf == NULL) {
		rc = vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
		goto fail;
	}
	rc = vsw_capture_start(d->sw, port, dir, (size_t)ring_kib << 10,
			       snaplen, &c.cap, err, sizeof(err));
	if (rc < 0) {
		vsw_rpc_fail(e, 0, -rc, "%s", err);
		goto fail;
	}
	c.id = ++d->next_capture_id;
	snprintf(c.port, sizeof(c.port), "%s", port);
	c.last_read_ms = vsw_now_ms();
	d->captures[d->n_captures++] = c;
	*result = json_pack("{s:I, s:I, s:i}", "id", (json_int_t)c.id,
			    "snaplen",
			    (json_int_t)(snaplen ? snaplen : VSW_PKT_MAX_LEN),
			    "linktype", DLT_EN10MB);
	return 0;
fail:
	if (c.has_filter)
		pcap_freecode(&c.prog);
	free(c.buf);
	return rc;
}

/* @n bytes of @src as lower-case hex into @dst (2n + 1 bytes). */
static void cap_hex(char *dst, const uint8_t *src, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

/* The frame as a JSON object; NULL on allocation failure. */
static json_t *cap_frame_json(const struct vsw_capture_rec *r,
			      const uint8_t *data)
{
	char *hex = malloc(2 * (size_t)r->caplen + 1);
	json_t *o;

	if (hex == NULL)
		return NULL;
	cap_hex(hex, data, r->caplen);
	o = json_pack("{s:I, s:I, s:s, s:s}", "ts_ns", (json_int_t)r->ts_ns,
		      "len", (json_int_t)r->len, "dir",
		      r->dir == VSW_CAPTURE_IN ? "in" : "out", "data", hex);
	free(hex);
	if (o != NULL && r->offload != 0) {
		char note[160];
		int n = 0;

		if (r->offload & VSW_CAPTURE_GSO)
			n = snprintf(note, sizeof(note),
				     "TSO/GSO super-frame: gso_type %u "
				     "gso_size %u",
				     (unsigned int)r->gso_type,
				     (unsigned int)r->gso_size);
		if (r->offload & VSW_CAPTURE_CSUM_PARTIAL)
			snprintf(note + n, sizeof(note) - (size_t)n,
				 "%spartial checksum: csum_start %u "
				 "csum_offset %u",
				 n ? "; " : "", (unsigned int)r->csum_start,
				 (unsigned int)r->csum_offset);
		json_object_set_new(o, "comment", json_string(note));
	}
	return o;
}

int vswd_m_capture_read(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = {"id", "max", NULL};
	struct vswd *d = opaque;
	struct vswd_capture *c;
	struct vsw_capture_rec r;
	json_t *frames;
	size_t bytes = 0;
	uint32_t max;
	unsigned int n = 0;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = cap_uint_param(params, "max", CAP_READ_FRAMES, &max, e);
	if (rc < 0)
		return rc;
	c = cap_find(d, params, e);
	if (c == NULL)
		return -e->errnum;
	if (max == 0)
		max = CAP_READ_FRAMES;
	c->last_read_ms = vsw_now_ms();
	frames = json_array();
	if (frames == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	while (n < max && bytes < CAP_READ_BYTES &&
	       vsw_capture_next(c->cap, &r, c->buf, VSW_PKT_MAX_LEN) == 1) {
		struct pcap_pkthdr h = {.caplen = r.caplen, .len = r.len};
		json_t *o;

		c->seen++;
		if (c->has_filter &&
		    pcap_offline_filter(&c->prog, &h, c->buf) == 0)
			continue;
		o = cap_frame_json(&r, c->buf);
		if (o == NULL || json_array_append_new(frames, o) < 0) {
			json_decref(frames);
			return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
		}
		c->passed++;
		bytes += r.caplen;
		n++;
	}
	*result = json_pack("{s:o, s:I, s:I, s:I, s:b}", "frames", frames,
			    "drops", (json_int_t)vsw_capture_drops(c->cap),
			    "seen", (json_int_t)c->seen, "passed",
			    (json_int_t)c->passed, "port_gone",
			    vsw_capture_port_gone(c->cap));
	return 0;
}

int vswd_m_capture_stop(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = {"id", NULL};
	struct vswd *d = opaque;
	struct vswd_capture *c;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	c = cap_find(d, params, e);
	if (c == NULL)
		return -e->errnum;
	*result = json_pack("{s:I, s:I, s:I}", "drops",
			    (json_int_t)vsw_capture_drops(c->cap), "seen",
			    (json_int_t)c->seen, "passed",
			    (json_int_t)c->passed);
	cap_free(d, c);
	return 0;
}

void vswd_captures_expire(struct vswd *d)
{
	uint64_t now = vsw_now_ms();
	unsigned int i = 0;

	while (i < d->n_captures) {
		struct vswd_capture *c = &d->captures[i];

		if (now - c->last_read_ms < VSWD_CAPTURE_IDLE_MS) {
			i++;
			continue;
		}
		vswd_log(d, VSW_LOG_INFO,
			 "capture %u of port %s not read for %d s: stopped",
			 (unsigned int)c->id, c->port,
			 VSWD_CAPTURE_IDLE_MS / 1000);
		cap_free(d, c); /* the last one moved into slot i */
	}
}

void vswd_captures_free(struct vswd *d)
{
	while (d->n_captures > 0)
		cap_free(d, &d->captures[d->n_captures - 1]);
	free(d->captures);
	d->captures = NULL;
}
