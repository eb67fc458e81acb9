/* SPDX-License-Identifier: MIT */
/*
 * vswctl capture: pull a port's frames from vswd (capture.start, then
 * capture.read until done, then capture.stop) and write them as pcapng
 * (-w FILE, or -w - for standard output) or as one line a frame.
 *
 * pcapng is written here by hand, in this machine's byte order (the
 * section header's byte-order magic says which): one Section Header
 * Block, one Interface Description Block (Ethernet, nanosecond
 * timestamps, the port's name), an Enhanced Packet Block a frame (its
 * direction in epb_flags, virtio-net offload state in a comment) and, at
 * the end, an Interface Statistics Block with the frames the ring dropped
 * (isb_ifdrop). Format: draft-ietf-opsawg-pcapng.
 *
 * The frames come from vswd hex-encoded; every field of an answer is
 * checked before it is written (a frame longer than the snap length or
 * with bad hex ends the capture with an error).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vswctl.h"

/* The longest frame vswd sends (VSW_PKT_MAX_LEN). */
#define CAP_FRAME_MAX (65536 + 1024)
/* Pause between two reads that found nothing, ms. */
#define CAP_IDLE_MS 50

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 1u
#define PCAPNG_ISB 5u
#define PCAPNG_EPB 6u
#define PCAPNG_MAGIC 0x1A2B3C4Du
#define LINKTYPE_ETHERNET 1u

struct cap_opts {
	const char *port;
	const char *dir;
	const char *file; /* NULL: text lines */
	long long count;  /* 0: until interrupted */
	long snaplen;
	char *filter; /* malloc'd, or NULL */
};

struct cap_out {
	FILE *f;
	const char *name;
	bool pcapng;
	uint8_t *frame;
};

static void cap_usage(const char *fmt, const char *arg)
{
	fputs("vswctl: capture: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nusage: vswctl capture " VSWCTL_CAPTURE_ARGS "\n", stderr);
}

static int cap_parse(char **argv, int argc, struct cap_opts *o)
{
	static const struct option longopts[] = {
		{"direction", required_argument, NULL, 'd'},
		{"count", required_argument, NULL, 'c'},
		{"write", required_argument, NULL, 'w'},
		{"snaplen", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	/*
	 * argv[0] is the verb; optind 0 starts getopt afresh (main's parse
	 * stopped at the verb). Options may follow PORT: the filter's words
	 * never begin with '-'.
	 */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "d:c:w:s:", longopts, NULL)) !=
	       -1) {
		char *end;

		switch (opt) {
		case 'd':
			if (strcmp(optarg, "in") != 0 &&
			    strcmp(optarg, "out") != 0 &&
			    strcmp(optarg, "both") != 0) {
				cap_usage("--direction: in, out or both, "
					  "got '%s'",
					  optarg);
				return VSWCTL_USAGE;
			}
			o->dir = optarg;
			break;
		case 'c':
			errno = 0;
			o->count = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || o->count < 1) {
				cap_usage("--count: a number of frames "
					  "from 1, got '%s'",
					  optarg);
				return VSWCTL_USAGE;
			}
			break;
		case 'w':
			o->file = optarg;
			break;
		case 's':
			o->snaplen = strtol(optarg, &end, 10);
			if (*end || end == optarg || o->snaplen < 14 ||
			    o->snaplen > CAP_FRAME_MAX) {
				cap_usage("--snaplen: bytes 14..66560, got "
					  "'%s'",
					  optarg);
				return VSWCTL_USAGE;
			}
			break;
		default:
			cap_usage("%s", "unknown option");
			return VSWCTL_USAGE;
		}
	}
	if (optind >= argc) {
		cap_usage("%s", "missing PORT");
		return VSWCTL_USAGE;
	}
	o->port = argv[optind];
	if (optind + 1 < argc) {
		o->filter = ctl_join(argv + optind + 1, argc - optind - 1);
		if (o->filter == NULL) {
			fprintf(stderr, "vswctl: out of memory\n");
			return VSWCTL_ERR;
		}
	}
	return VSWCTL_OK;
}

/* ---- pcapng ------------------------------------------------------------ */

/* One option (code, value, padding to 4) into @b at @off; new offset. */
static size_t png_opt(uint8_t *b, size_t off, uint16_t code, const void *v,
		      uint16_t len)
{
	memcpy(b + off, &code, 2);
	memcpy(b + off + 2, &len, 2);
	if (len != 0)
		memcpy(b + off + 4, v, len);
	off += 4 + len;
	while (off % 4)
		b[off++] = 0;
	return off;
}

/*
 * Write a block of @type whose body (after type and length) is
 * @body[0..@n), padded to 4: the trailing length added. 0 or -errno.
 */
static int png_block(struct cap_out *out, uint32_t type, const uint8_t *body,
		     size_t n)
{
	uint32_t total = (uint32_t)(12 + n);

	if (fwrite(&type, 4, 1, out->f) != 1 ||
	    fwrite(&total, 4, 1, out->f) != 1 ||
	    (n && fwrite(body, n, 1, out->f) != 1) ||
	    fwrite(&total, 4, 1, out->f) != 1)
		return -(errno ? errno : EIO);
	return 0;
}

static int png_header(struct cap_out *out, const char *port, uint32_t snaplen)
{
	uint8_t b[512];
	uint32_t magic = PCAPNG_MAGIC;
	uint16_t ver[2] = {1, 0}, lt[2] = {LINKTYPE_ETHERNET, 0};
	int64_t section_len = -1;
	uint8_t tsresol = 9; /* nanoseconds */
	size_t off = 0, n = strlen(port);
	int rc;

	memcpy(b, &magic, 4);
	memcpy(b + 4, ver, 4);
	memcpy(b + 8, &section_len, 8);
	off = png_opt(b, 16, 4 /* shb_userappl */, "vswctl capture", 14);
	off = png_opt(b, off, 0, NULL, 0);
	rc = png_block(out, PCAPNG_SHB, b, off);
	if (rc < 0)
		return rc;
	memcpy(b, lt, 4);
	memcpy(b + 4, &snaplen, 4);
	if (n > 255)
		n = 255;
	off = png_opt(b, 8, 2 /* if_name */, port, (uint16_t)n);
	off = png_opt(b, off, 9 /* if_tsresol */, &tsresol, 1);
	off = png_opt(b, off, 0, NULL, 0);
	return png_block(out, PCAPNG_IDB, b, off);
}

static int png_packet(struct cap_out *out, uint64_t ts, uint32_t caplen,
		      uint32_t len, bool in, const char *comment)
{
	size_t cl = comment ? strlen(comment) : 0;
	size_t off, n = 20 + ((caplen + 3u) & ~3u) + 12 + 4 + cl + 8;
	uint32_t hdr[5] = {0, (uint32_t)(ts >> 32), (uint32_t)ts, caplen, len};
	uint32_t flags = in ? 1u : 2u; /* epb_flags: direction */
	uint8_t *b = malloc(n);
	int rc;

	if (b == NULL)
		return -ENOMEM;
	memcpy(b, hdr, 20);
	memcpy(b + 20, out->frame, caplen);
	off = 20 + caplen;
	while (off % 4)
		b[off++] = 0;
	off = png_opt(b, off, 2 /* epb_flags */, &flags, 4);
	if (cl > 0)
		off = png_opt(b, off, 1 /* opt_comment */, comment,
			      (uint16_t)(cl > 1000 ? 1000 : cl));
	off = png_opt(b, off, 0, NULL, 0);
	rc = png_block(out, PCAPNG_EPB, b, off);
	free(b);
	return rc;
}

static int png_stats(struct cap_out *out, uint64_t drops)
{
	struct timespec now;
	uint8_t b[64];
	uint32_t hdr[3];
	uint64_t ts;
	size_t off;

	clock_gettime(CLOCK_REALTIME, &now);
	ts = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	hdr[0] = 0;
	hdr[1] = (uint32_t)(ts >> 32);
	hdr[2] = (uint32_t)ts;
	memcpy(b, hdr, 12);
	off = png_opt(b, 12, 5 /* isb_ifdrop */, &drops, 8);
	off = png_opt(b, off, 0, NULL, 0);
	return png_block(out, PCAPNG_ISB, b, off);
}

/* ---- the frames -------------------------------------------------------- */

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode @hex into out->frame; its length, or -1 if it is not hex. */
static long cap_unhex(struct cap_out *out, const char *hex)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > CAP_FRAME_MAX)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_val(hex[2 * i]), lo = hex_val(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out->frame[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static void cap_text(struct cap_out *out, uint64_t ts, long caplen,
		     uint32_t len, const char *dir, const char *comment)
{
	const uint8_t *f = out->frame;
	time_t sec = (time_t)(ts / 1000000000u);
	struct tm tm;
	char when[32];

	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(out->f, "%s.%06u %-3s len %u", when,
		(unsigned int)(ts % 1000000000u / 1000u), dir,
		(unsigned int)len);
	if (caplen >= 14)
		fprintf(out->f,
			" %02x:%02x:%02x:%02x:%02x:%02x > "
			"%02x:%02x:%02x:%02x:%02x:%02x ethertype 0x%04x",
			f[6], f[7], f[8], f[9], f[10], f[11], f[0], f[1], f[2],
			f[3], f[4], f[5], (unsigned int)(f[12] << 8 | f[13]));
	if (comment != NULL)
		fprintf(out->f, " (%s)", comment);
	fputc('\n', out->f);
}

/*
 * Write the frames of one capture.read answer; how many, or -EPROTO (an
 * answer not as documented), or -errno of a failed write.
 */
static long cap_write(struct cap_out *out, json_t *frames, uint32_t snaplen,
		      long long room)
{
	size_t i;
	json_t *fr;
	long n = 0;

	json_array_foreach(frames, i, fr)
	{
		json_t *ts = json_object_get(fr, "ts_ns");
		json_t *len = json_object_get(fr, "len");
		const char *dir = json_string_value(json_object_get(fr, "dir"));
		const char *hex =
			json_string_value(json_object_get(fr, "data"));
		const char *comment =
			json_string_value(json_object_get(fr, "comment"));
		long caplen;
		int rc = 0;

		if (room > 0 && n >= room)
			break;
		if (!json_is_integer(ts) || !json_is_integer(len) ||
		    dir == NULL || hex == NULL ||
		    (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0))
			return -EPROTO;
		caplen = cap_unhex(out, hex);
		if (caplen < 0 || caplen > (long)snaplen ||
		    json_integer_value(len) < caplen ||
		    json_integer_value(len) > CAP_FRAME_MAX)
			return -EPROTO;
		if (out->pcapng)
			rc = png_packet(out, (uint64_t)json_integer_value(ts),
					(uint32_t)caplen,
					(uint32_t)json_integer_value(len),
					dir[0] == 'i', comment);
		else
			cap_text(out, (uint64_t)json_integer_value(ts), caplen,
				 (uint32_t)json_integer_value(len), dir,
				 comment);
		if (rc < 0)
			return rc;
		n++;
	}
	if (fflush(out->f) != 0 || ferror(out->f))
		return -(errno ? errno : EIO);
	return n;
}

/* SIGINT / SIGTERM arrived (they are blocked; waited for here). */
static bool cap_wait_signal(const sigset_t *set, int ms)
{
	struct timespec t = {.tv_sec = ms / 1000,
			     .tv_nsec = (long)(ms % 1000) * 1000000L};

	return sigtimedwait(set, NULL, &t) > 0;
}

static int cap_stop(struct vsw_rpc_client *cli, json_int_t id, bool quiet,
		    long long written)
{
	struct vsw_rpc_err e = {0};
	json_t *res = NULL;
	int rc;

	rc = vsw_rpc_client_call(cli, "capture.stop",
				 json_pack("{s:I}", "id", id), &res, &e);
	if (rc != 0) {
		if (!quiet)
			fprintf(stderr, "vswctl: capture.stop: %s\n",
				e.message);
		return rc < 0 ? VSWCTL_UNREACHABLE : VSWCTL_ERR;
	}
	fprintf(stderr,
		"vswctl: %lld frames written, %lld seen, %lld dropped by the "
		"capture ring\n",
		written,
		(long long)json_integer_value(json_object_get(res, "seen")),
		(long long)json_integer_value(json_object_get(res, "drops")));
	json_decref(res);
	return VSWCTL_OK;
}

static int cap_run(struct vsw_rpc_client *cli, const struct cap_opts *o,
		   struct cap_out *out, const sigset_t *sigs)
{
	struct vsw_rpc_err e = {0};
	json_t *params, *res = NULL;
	long long written = 0;
	uint64_t drops = 0;
	json_int_t id;
	uint32_t snaplen;
	int rc, ret = VSWCTL_OK;

	params = json_pack("{s:s, s:s}", "port", o->port, "direction",
			   o->dir ? o->dir : "both");
	if (params != NULL && o->filter != NULL)
		json_object_set_new(params, "filter", json_string(o->filter));
	if (params != NULL && o->snaplen > 0)
		json_object_set_new(params, "snaplen",
				    json_integer(o->snaplen));
	rc = vsw_rpc_client_call(cli, "capture.start", params, &res, &e);
	if (rc != 0) {
		fprintf(stderr, "vswctl: capture: %s\n", e.message);
		return rc < 0 ? VSWCTL_UNREACHABLE : VSWCTL_ERR;
	}
	id = json_integer_value(json_object_get(res, "id"));
	snaplen = (uint32_t)json_integer_value(json_object_get(res, "snaplen"));
	json_decref(res);
	if (snaplen == 0 || snaplen > CAP_FRAME_MAX)
		snaplen = CAP_FRAME_MAX;
	if (out->pcapng) {
		rc = png_header(out, o->port, snaplen);
		if (rc == 0 && fflush(out->f) != 0)
			rc = -errno;
		if (rc < 0)
			goto write_err;
	}
	for (;;) {
		json_t *frames;
		long n;
		bool gone;

		res = NULL;
		rc = vsw_rpc_client_call(cli, "capture.read",
					 json_pack("{s:I}", "id", id), &res,
					 &e);
		if (rc != 0) {
			fprintf(stderr, "vswctl: capture: %s\n", e.message);
			return rc < 0 ? VSWCTL_UNREACHABLE : VSWCTL_ERR;
		}
		frames = json_object_get(res, "frames");
		gone = json_is_true(json_object_get(res, "port_gone"));
		drops = (uint64_t)json_integer_value(
			json_object_get(res, "drops"));
		if (!json_is_array(frames)) {
			json_decref(res);
			fprintf(stderr, "vswctl: capture: bad answer\n");
			(void)cap_stop(cli, id, true, written);
			return VSWCTL_UNREACHABLE;
		}
		n = cap_write(out, frames, snaplen,
			      o->count ? o->count - written : 0);
		if (n == -EPROTO) {
			json_decref(res);
			fprintf(stderr, "vswctl: capture: bad frame in the "
					"answer\n");
			(void)cap_stop(cli, id, true, written);
			return VSWCTL_UNREACHABLE;
		}
		if (n < 0) {
			json_decref(res);
			rc = (int)n;
			goto write_err;
		}
		written += n;
		if (o->count && written >= o->count) {
			json_decref(res);
			break;
		}
		if (gone && json_array_size(frames) == 0) {
			json_decref(res);
			fprintf(stderr,
				"vswctl: capture: port %s was deleted\n",
				o->port);
			ret = VSWCTL_ERR;
			break;
		}
		if (json_array_size(frames) == 0 &&
		    cap_wait_signal(sigs, CAP_IDLE_MS)) {
			json_decref(res);
			break;
		}
		json_decref(res);
		if (cap_wait_signal(sigs, 0))
			break;
	}
	if (out->pcapng) {
		rc = png_stats(out, drops);
		if (rc == 0 && fflush(out->f) != 0)
			rc = -errno;
		if (rc < 0)
			goto write_err;
	}
	rc = cap_stop(cli, id, false, written);
	return ret != VSWCTL_OK ? ret : rc;
write_err:
	fprintf(stderr, "vswctl: capture: writing %s: %s\n", out->name,
		strerror(-rc));
	(void)cap_stop(cli, id, true, written);
	return VSWCTL_ERR;
}

int vswctl_capture(const char *ctl, int timeout_ms, char **argv, int argc)
{
	struct cap_opts o = {0};
	struct cap_out out = {0};
	struct vsw_rpc_client *cli = NULL;
	sigset_t sigs, old;
	char err[512];
	int rc;

	rc = cap_parse(argv, argc, &o);
	if (rc != VSWCTL_OK)
		return rc;
	out.frame = malloc(CAP_FRAME_MAX);
	if (out.frame == NULL) {
		fprintf(stderr, "vswctl: out of memory\n");
		rc = VSWCTL_ERR;
		goto out;
	}
	if (o.file == NULL || strcmp(o.file, "-") == 0) {
		out.f = stdout;
		out.name = "standard output";
		out.pcapng = o.file != NULL;
	} else {
		out.f = fopen(o.file, "wb");
		out.name = o.file;
		out.pcapng = true;
		if (out.f == NULL) {
			fprintf(stderr, "vswctl: capture: %s: %s\n", o.file,
				strerror(errno));
			rc = VSWCTL_ERR;
			goto out;
		}
	}
	rc = vsw_rpc_client_connect(ctl, timeout_ms, &cli, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "vswctl: %s\n", err);
		rc = VSWCTL_UNREACHABLE;
		goto out;
	}
	/*
	 * Ctrl-C ends the capture cleanly: waited for, never handled. A
	 * reader of -w - that goes away (| head) is a write error (EPIPE)
	 * like a full disk, so that vswd's capture is stopped at once.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGPIPE);
	sigprocmask(SIG_BLOCK, &sigs, &old);
	rc = cap_run(cli, &o, &out, &sigs);
	{
		/* a SIGPIPE of a failed write must not kill us on unblocking */
		struct timespec zero = {0};
		sigset_t pipe_set;

		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
			;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	vsw_rpc_client_close(cli);
	if (out.f != NULL && out.f != stdout && fclose(out.f) != 0 &&
	    rc == VSWCTL_OK) {
		fprintf(stderr, "vswctl: capture: writing %s: %s\n", out.name,
			strerror(errno));
		rc = VSWCTL_ERR;
	}
	free(out.frame);
	free(o.filter);
	return rc;
}
