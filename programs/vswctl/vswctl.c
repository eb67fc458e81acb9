/* SPDX-License-Identifier: MIT */
/*
 * vswctl: command-line client of vswd (JSON-RPC over its control socket).
 *
 *   vswctl [--ctl SOCKET] [--json] [--timeout SEC] COMMAND [ARG...]
 *
 * Exit codes (docs/control.md): 0 success, 1 vswd refused the command (its
 * message on stderr), 2 usage error (nothing was sent), 3 vswd could not be
 * reached or gave no valid answer.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsw_rpc.h"
#include "vswctl.h"

struct ctl_cmd {
	const char *name;
	const char *args; /* for usage */
	int min_args, max_args; /* -1: no limit */
	const char *method;
	/* Build the params from argv; 0 or VSWCTL_USAGE (message printed). */
	int (*params)(char **argv, int argc, json_t **out);
	/* Human output of the result. */
	void (*print)(json_t *result);
};

static void ctl_usage_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void ctl_usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("vswctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see vswctl --help)\n", stderr);
}

/* ---- params builders -------------------------------------------------- */

static int p_none(char **argv, int argc, json_t **out)
{
	(void)argv;
	(void)argc;
	*out = NULL;
	return 0;
}

static int p_bridge(char **argv, int argc, json_t **out)
{
	(void)argc;
	*out = json_pack("{s:s}", "bridge", argv[0]);
	return 0;
}

static int p_bridge_port(char **argv, int argc, json_t **out)
{
	(void)argc;
	*out = json_pack("{s:s, s:s}", "bridge", argv[0], "port", argv[1]);
	return 0;
}

static int p_bridge_mirror(char **argv, int argc, json_t **out)
{
	(void)argc;
	*out = json_pack("{s:s, s:s}", "bridge", argv[0], "mirror", argv[1]);
	return 0;
}

/* Split "key=value" in place; VSWCTL_USAGE if there is no '='. */
static int ctl_kv(char *arg, char **key, char **value, const char *what)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg) {
		ctl_usage_err("%s: expected KEY=VALUE, got '%s'", what, arg);
		return VSWCTL_USAGE;
	}
	*eq = '\0';
	*key = arg;
	*value = eq + 1;
	return 0;
}

static int p_add_port(char **argv, int argc, json_t **out)
{
	json_t *opts = json_object();
	const char *type = NULL;
	int i;

	*out = NULL;
	for (i = 2; i < argc; i++) {
		char *k, *v;

		if (ctl_kv(argv[i], &k, &v, "add-port") != 0)
			goto usage;
		if (strcmp(k, "type") == 0) {
			if (type != NULL) {
				ctl_usage_err("add-port: type given twice");
				goto usage;
			}
			type = v;
			continue;
		}
		if (json_object_get(opts, k) != NULL) {
			ctl_usage_err("add-port: option '%s' given twice", k);
			goto usage;
		}
		json_object_set_new(opts, k, json_string(v));
	}
	if (type == NULL || type[0] == '\0') {
		ctl_usage_err("add-port: missing type=TYPE (e.g. type=tap)");
		goto usage;
	}
	*out = json_pack("{s:s, s:s, s:s, s:o}", "bridge", argv[0], "port",
			 argv[1], "type", type, "options", opts);
	return 0;
usage:
	json_decref(opts);
	return VSWCTL_USAGE;
}

/*
 * PORT KEY=VALUE...: tag and trunks as themselves, every other key into
 * "options" (KEY= removes the option: null).
 */
static int p_set_port(char **argv, int argc, json_t **out)
{
	json_t *p = json_pack("{s:s}", "port", argv[0]);
	json_t *opts = NULL;
	int i;

	*out = NULL;
	for (i = 1; i < argc; i++) {
		char *k, *v;

		if (ctl_kv(argv[i], &k, &v, "set-port") != 0)
			goto usage;
		if (strcmp(k, "type") == 0) {
			ctl_usage_err("set-port: the type of a port cannot "
				      "change: del-port and add-port it");
			goto usage;
		}
		if (strcmp(k, "tag") != 0 && strcmp(k, "trunks") != 0) {
			if (opts == NULL)
				opts = json_object();
			if (json_object_get(opts, k) != NULL) {
				ctl_usage_err("set-port: '%s' given twice", k);
				goto usage;
			}
			json_object_set_new(opts, k,
					    *v ? json_string(v) : json_null());
			continue;
		}
		if (json_object_get(p, k) != NULL) {
			ctl_usage_err("set-port: '%s' given twice", k);
			goto usage;
		}
		if (*v == '\0') {
			json_object_set_new(p, k, json_null());
		} else if (strcmp(k, "tag") == 0) {
			char *end;
			long t;

			errno = 0;
			t = strtol(v, &end, 10);
			if (errno || *end || end == v || t < 0 || t > 65535) {
				ctl_usage_err("set-port: tag must be a VLAN "
					      "id (1..4094), got '%s'",
					      v);
				goto usage;
			}
			json_object_set_new(p, k, json_integer(t));
		} else {
			json_object_set_new(p, k, json_string(v));
		}
	}
	if (opts != NULL)
		json_object_set_new(p, "options", opts);
	*out = p;
	return 0;
usage:
	json_decref(opts);
	json_decref(p);
	return VSWCTL_USAGE;
}

static int p_set_option(char **argv, int argc, json_t **out)
{
	json_t *opts = json_object();
	int i;

	*out = NULL;
	for (i = 0; i < argc; i++) {
		char *k, *v;

		if (ctl_kv(argv[i], &k, &v, "set-option") != 0) {
			json_decref(opts);
			return VSWCTL_USAGE;
		}
		json_object_set_new(opts, k, json_string(v));
	}
	*out = json_pack("{s:o}", "options", opts);
	return 0;
}

/* The FLOW / MATCH words of a flow command, joined by spaces ("" if none). */
char *ctl_join(char **argv, int argc)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/*
 * BRIDGE [--strict] WORDS...: "bridge", "strict" (if @strict_ok), and the
 * joined words as @member (left out when there are none and !@need).
 */
static int p_flow_common(char **argv, int argc, json_t **out,
			 const char *cmd, const char *member, bool strict_ok,
			 bool need)
{
	char *words[64];
	bool strict = false;
	int i, n = 0;
	char *s;

	*out = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--strict") == 0 && strict_ok) {
			strict = true;
			continue;
		}
		if (strncmp(argv[i], "--", 2) == 0) {
			ctl_usage_err("%s: unknown option '%s'", cmd, argv[i]);
			return VSWCTL_USAGE;
		}
		if (n == 64) {
			ctl_usage_err("%s: too many words (quote the flow)",
				      cmd);
			return VSWCTL_USAGE;
		}
		words[n++] = argv[i];
	}
	if (n == 0 && need) {
		ctl_usage_err("%s: missing the flow (e.g. "
			      "'priority=10,in_port=1,actions=output:2')",
			      cmd);
		return VSWCTL_USAGE;
	}
	*out = json_pack("{s:s}", "bridge", argv[0]);
	if (strict_ok)
		json_object_set_new(*out, "strict", json_boolean(strict));
	if (n > 0) {
		s = ctl_join(words, n);
		if (s == NULL) {
			json_decref(*out);
			*out = NULL;
			ctl_usage_err("%s: out of memory", cmd);
			return VSWCTL_USAGE;
		}
		json_object_set_new(*out, member, json_string(s));
		free(s);
	}
	return 0;
}

static int p_add_flow(char **argv, int argc, json_t **out)
{
	return p_flow_common(argv, argc, out, "add-flow", "flow", false, true);
}

static int p_mod_flows(char **argv, int argc, json_t **out)
{
	return p_flow_common(argv, argc, out, "mod-flows", "flow", true, true);
}

static int p_del_flows(char **argv, int argc, json_t **out)
{
	return p_flow_common(argv, argc, out, "del-flows", "match", true,
			     false);
}

static int p_dump_flows(char **argv, int argc, json_t **out)
{
	return p_flow_common(argv, argc, out, "dump-flows", "match", false,
			     false);
}

/* set-controller BRIDGE TARGET...: every target as given */
static int p_set_controller(char **argv, int argc, json_t **out)
{
	json_t *t = json_array();
	int i;

	for (i = 1; t != NULL && i < argc; i++)
		json_array_append_new(t, json_string(argv[i]));
	*out = json_pack("{s:s, s:o}", "bridge", argv[0], "targets", t);
	return 0;
}

/* set-fail-mode BRIDGE standalone|secure */
static int p_set_fail_mode(char **argv, int argc, json_t **out)
{
	(void)argc;
	*out = json_pack("{s:s, s:s}", "bridge", argv[0], "mode", argv[1]);
	return 0;
}

/* ---- add-flows: a file of rules ------------------------------------------ */

/* Room for the request's envelope besides the flows (bridge, lines...). */
#define ADDF_ENVELOPE 4096

struct addf {
	json_t *flows; /* FLOW strings, in file order */
	json_t *lines; /* their line numbers */
};

/* The bytes @s takes as a JSON string (quotes, escapes). */
static size_t addf_json_len(const char *s)
{
	size_t n = 2;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			n += 2;
		else if (c < 0x20)
			n += 6;
		else
			n += 1;
	}
	return n;
}

/* Strip trailing spaces / CR / LF and leading spaces; NULL if nothing. */
static char *addf_trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			   s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return (*s == '\0' || *s == '#') ? NULL : s;
}

/* Read FILE ("-": stdin): one flow a line, '#' comments, blank lines. */
static int addf_read(const char *path, struct addf *a)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	long long lineno = 0;
	int rc = 0;

	a->flows = json_array();
	a->lines = json_array();
	if (f == NULL) {
		fprintf(stderr, "vswctl: add-flows: %s: %s\n", path,
			strerror(errno));
		return VSWCTL_ERR;
	}
	while (getline(&buf, &cap, f) >= 0) {
		char *s = addf_trim(buf);

		lineno++;
		if (s == NULL)
			continue;
		if (json_array_append_new(a->flows, json_string(s)) < 0 ||
		    json_array_append_new(a->lines,
					  json_integer(lineno)) < 0) {
			fprintf(stderr, "vswctl: add-flows: %s: line %lld: "
				"not valid UTF-8 or out of memory\n",
				path, lineno);
			rc = VSWCTL_ERR;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "vswctl: add-flows: reading %s: %s\n", path,
			strerror(errno));
		rc = VSWCTL_ERR;
	}
	free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
}

/*
 * Send rules [*pos, end of chunk) of @a; the chunk ends before the request
 * would exceed VSW_RPC_MAX_REQUEST. 0, 1 (refused: @e), -1 (unreachable).
 */
static int addf_call(struct vsw_rpc_client *cli, const char *br,
		     const struct addf *a, size_t *pos, bool check,
		     long long *count, struct vsw_rpc_err *e)
{
	size_t i, n = json_array_size(a->flows);
	size_t room = VSW_RPC_MAX_REQUEST - ADDF_ENVELOPE - strlen(br);
	json_t *flows = json_array(), *lines = json_array(), *params, *res;
	int rc;

	for (i = *pos; i < n; i++) {
		json_t *fl = json_array_get(a->flows, i);
		size_t need = addf_json_len(json_string_value(fl)) + 24;

		if (need > room && i > *pos)
			break;
		room = need > room ? 0 : room - need;
		json_array_append(flows, fl);
		json_array_append(lines, json_array_get(a->lines, i));
	}
	*pos = i;
	params = json_pack("{s:s, s:o, s:o, s:b}", "bridge", br, "flows",
			   flows, "lines", lines, "check", check);
	rc = vsw_rpc_client_call(cli, "flow.add", params, &res, e);
	if (rc == 0) {
		*count += json_integer_value(json_object_get(res, "count"));
		json_decref(res);
	}
	return rc;
}

/* Whether the whole file goes in one request. */
static bool addf_fits(const struct addf *a, const char *br)
{
	size_t i, total = ADDF_ENVELOPE + strlen(br);

	for (i = 0; i < json_array_size(a->flows); i++)
		total += addf_json_len(json_string_value(
				 json_array_get(a->flows, i))) +
			 24;
	return total <= VSW_RPC_MAX_REQUEST;
}

/*
 * add-flows BRIDGE FILE: every rule in one flow.add call (one transaction:
 * all or nothing). A file too big for one request goes in several calls,
 * each atomic; all of them are first sent with "check" so that a line that
 * does not parse changes nothing.
 */
static int ctl_add_flows(struct vsw_rpc_client *cli, char **argv,
			 bool json_out)
{
	struct vsw_rpc_err e = { 0 };
	struct addf a = { 0 };
	size_t pos, n;
	long long count = 0;
	int rc;

	rc = addf_read(argv[1], &a);
	if (rc != 0)
		goto out;
	n = json_array_size(a.flows);
	if (!addf_fits(&a, argv[0])) {
		pos = 0;
		do
			rc = addf_call(cli, argv[0], &a, &pos, true, &count,
				       &e);
		while (rc == 0 && pos < n);
	}
	count = 0;
	pos = 0;
	while (rc == 0) {
		rc = addf_call(cli, argv[0], &a, &pos, false, &count, &e);
		if (pos >= n)
			break;
	}
	if (rc < 0) {
		fprintf(stderr, "vswctl: %s\n", e.message);
		rc = VSWCTL_UNREACHABLE;
	} else if (rc == 1) {
		fprintf(stderr, "vswctl: add-flows: %s\n", e.message);
		rc = VSWCTL_ERR;
	} else if (json_out) {
		json_t *j = json_pack("{s:s, s:I}", "bridge", argv[0], "count",
				      (json_int_t)count);

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	}
out:
	json_decref(a.flows);
	json_decref(a.lines);
	return rc;
}

static int p_opt_bridge(char **argv, int argc, json_t **out)
{
	*out = argc > 0 ? json_pack("{s:s}", "bridge", argv[0]) : NULL;
	return 0;
}

/* ---- human output ----------------------------------------------------- */

static const char *j_str(json_t *o, const char *key, const char *def)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

static long long j_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_nothing(json_t *result)
{
	(void)result;
}

static void print_options(json_t *opts)
{
	const char *k;
	json_t *v;

	json_object_foreach(opts, k, v) {
		if (json_is_string(v))
			printf("%s=%s\n", k, json_string_value(v));
		else if (json_is_boolean(v))
			printf("%s=%s\n", k, json_is_true(v) ? "on" : "off");
		else if (json_is_integer(v))
			printf("%s=%" JSON_INTEGER_FORMAT "\n", k,
			       json_integer_value(v));
	}
}

static void print_get_option(json_t *result)
{
	print_options(result);
}

static void print_port_vlan(json_t *port)
{
	json_t *tag = json_object_get(port, "tag");
	json_t *trunks = json_object_get(port, "trunks");

	if (json_is_integer(tag))
		printf("            tag: %" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(tag));
	if (json_is_string(trunks))
		printf("            trunks: %s\n", json_string_value(trunks));
}

static void print_show(json_t *result)
{
	json_t *bridges = json_object_get(result, "bridges");
	json_t *opts = json_object_get(result, "options");
	json_t *br;
	size_t i, j;

	printf("vswd %s: threads=%lld ageing=%lld poll=%s spin=%lld\n",
	       j_str(result, "version", "?"), j_int(opts, "threads"),
	       j_int(opts, "ageing"),
	       json_is_true(json_object_get(opts, "poll")) ? "on" : "off",
	       j_int(opts, "spin"));
	json_array_foreach(bridges, i, br) {
		json_t *ports = json_object_get(br, "ports"), *p;

		printf("    Bridge %s\n", j_str(br, "name", "?"));
		json_array_foreach(ports, j, p) {
			json_t *o = json_object_get(p, "options"), *v;
			const char *k, *status = j_str(p, "status", "");

			printf("        Port %s\n", j_str(p, "name", "?"));
			printf("            type: %s\n", j_str(p, "type", "?"));
			printf("            ofport: %lld\n", j_int(p, "ofport"));
			if (json_object_size(o) > 0) {
				bool first = true;

				printf("            options: {");
				json_object_foreach(o, k, v) {
					printf("%s%s=%s", first ? "" : ", ", k,
					       json_string_value(v));
					first = false;
				}
				printf("}\n");
			}
			print_port_vlan(p);
			printf("            link: %s%s%s\n",
			       j_str(p, "link", "?"), status[0] ? ", " : "",
			       status);
		}
	}
}

static void print_stats_dir(const char *dir, json_t *s)
{
	json_t *drops = json_object_get(s, "drops"), *v;
	const char *k;
	long long total = 0;

	json_object_foreach(drops, k, v)
		total += json_integer_value(v);
	printf("           %s pkts=%lld bytes=%lld drop=%lld", dir,
	       j_int(s, "packets"), j_int(s, "bytes"), total);
	json_object_foreach(drops, k, v)
		if (json_integer_value(v) != 0)
			printf(" %s=%" JSON_INTEGER_FORMAT, k,
			       json_integer_value(v));
	printf("\n");
}

/* The provider's own counters (vhostuser: IOTLB), if any. */
static void print_counters(json_t *cs)
{
	json_t *v;
	const char *k;

	if (!json_is_object(cs) || json_object_size(cs) == 0)
		return;
	printf("           counters");
	json_object_foreach(cs, k, v)
		printf(" %s=%" JSON_INTEGER_FORMAT, k, json_integer_value(v));
	printf("\n");
}

static void print_dump_ports(json_t *result)
{
	json_t *ports = json_object_get(result, "ports"), *p;
	size_t i;

	printf("%s: %zu ports\n", j_str(result, "bridge", "?"),
	       json_array_size(ports));
	json_array_foreach(ports, i, p) {
		printf("  port %s (%s, %s), ofport %lld:\n",
		       j_str(p, "name", "?"), j_str(p, "type", "?"),
		       j_str(p, "link", "?"), j_int(p, "ofport"));
		print_stats_dir("rx", json_object_get(p, "rx"));
		print_stats_dir("tx", json_object_get(p, "tx"));
		print_counters(json_object_get(p, "counters"));
	}
}

static void print_fdb(json_t *result)
{
	json_t *entries = json_object_get(result, "entries"), *e;
	size_t i;

	printf(" port             VLAN  MAC                Age\n");
	json_array_foreach(entries, i, e)
		printf(" %-15s  %4lld  %s  %4lld\n", j_str(e, "port", "?"),
		       j_int(e, "vlan"), j_str(e, "mac", "?"),
		       j_int(e, "age"));
}

/* dump-flows: the ovs-ofctl lines */
static void print_flows(json_t *result)
{
	json_t *flows = json_object_get(result, "flows"), *f;
	size_t i;

	json_array_foreach(flows, i, f)
		printf("%s\n", j_str(f, "line", "?"));
}

static void print_count(json_t *result)
{
	long long n = j_int(result, "count");

	if (n != 1)
		printf("%lld flows\n", n);
}

static double j_real(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_dpif(json_t *result)
{
	json_t *bridges = json_object_get(result, "bridges"), *b;
	size_t i;

	json_array_foreach(bridges, i, b) {
		printf("%s:\n", j_str(b, "bridge", "?"));
		printf("  flow table: %lld rules, %lld subtables%s\n",
		       j_int(b, "rules"), j_int(b, "subtables"),
		       json_is_true(json_object_get(b, "fast_path"))
			       ? " (only actions=normal: fast path, no "
				 "lookups)"
			       : "");
		printf("  exact match cache: %lld x %lld entries, %lld used\n",
		       j_int(b, "emc_caches"), j_int(b, "emc_size"),
		       j_int(b, "emc_entries"));
		printf("  hits: %lld\n  misses: %lld\n  upcalls: %lld "
		       "(revalidated: %lld)\n  hit rate: %.1f%%\n",
		       j_int(b, "emc_hits"), j_int(b, "emc_misses"),
		       j_int(b, "upcalls"), j_int(b, "revalidated"),
		       j_real(b, "hit_rate"));
	}
}

static void print_pmd(json_t *result)
{
	json_t *threads = json_object_get(result, "threads"), *t;
	size_t i;

	json_array_foreach(threads, i, t) {
		long long busy = j_int(t, "busy_cycles");
		long long idle = j_int(t, "idle_cycles");
		double total = (double)busy + (double)idle;

		printf("pmd thread %lld (vsw-pmd%lld, %lld rxqs):\n",
		       j_int(t, "thread"), j_int(t, "thread"), j_int(t, "rxqs"));
		printf("  packets received: %lld\n", j_int(t, "packets"));
		printf("  batches: %lld\n", j_int(t, "batches"));
		printf("  fast path (table only actions=normal): %lld\n",
		       j_int(t, "fast_path"));
		printf("  emc hits: %lld\n", j_int(t, "emc_hits"));
		printf("  emc misses (classifier lookups): %lld\n",
		       j_int(t, "emc_misses"));
		printf("  idle cycles: %lld (%.2f %%)\n", idle,
		       total > 0 ? 100.0 * (double)idle / total : 0.0);
		printf("  of which asleep: %lld (%lld sleeps)\n",
		       j_int(t, "sleep_cycles"), j_int(t, "sleeps"));
		printf("  spin window: %lld us\n", j_int(t, "spin_us"));
		printf("  processing cycles: %lld (%.2f %%)\n", busy,
		       total > 0 ? 100.0 * (double)busy / total : 0.0);
		printf("  avg cycles per packet: %.2f\n",
		       j_real(t, "cycles_per_packet"));
		printf("  avg processing cycles per packet: %.2f\n",
		       j_real(t, "busy_cycles_per_packet"));
	}
}

/* list-br: the bridges of a show result. */
static void print_list_br(json_t *result)
{
	json_t *br;
	size_t i;

	json_array_foreach(json_object_get(result, "bridges"), i, br)
		printf("%s\n", j_str(br, "name", "?"));
}

/* list-ports: the ports of a port.stats result. */
static void print_list_ports(json_t *result)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(result, "ports"), i, p)
		printf("%s\n", j_str(p, "name", "?"));
}

/* set-log-level [MODULE] LEVEL */
static int p_set_log_level(char **argv, int argc, json_t **out)
{
	*out = argc == 2 ? json_pack("{s:s, s:s}", "module", argv[0], "level",
				     argv[1]) :
			   json_pack("{s:s}", "level", argv[0]);
	return 0;
}

static void print_log_levels(json_t *result)
{
	const char *mod;
	json_t *v;

	json_object_foreach(json_object_get(result, "levels"), mod, v)
		printf("%s: %s\n", mod, json_string_value(v));
}

/* metrics: the exposition text as vswd made it. */
static void print_metrics(json_t *result)
{
	fputs(j_str(result, "text", ""), stdout);
}

/* get-fail-mode: the mode, or nothing when none is set (ovs-vsctl) */
static void print_fail_mode(json_t *result)
{
	const char *m = j_str(result, "mode", "");

	if (m[0] != '\0')
		printf("%s\n", m);
}

/* get-controller: one target a line, as ovs-vsctl prints them */
static void print_controllers(json_t *result)
{
	json_t *targets = json_object_get(result, "targets"), *t;
	size_t i;

	json_array_foreach(targets, i, t) {
		printf("%s", j_str(t, "target", "?"));
		if (json_object_get(t, "bound") != NULL)
			printf(" (listening on %s)", j_str(t, "bound", "?"));
		printf(" %s", j_str(t, "state", "?"));
		if (j_int(t, "connections") > 0)
			printf(", %lld connected", j_int(t, "connections"));
		printf("\n");
	}
}

static void print_version(json_t *result)
{
	printf("vswd %s\n", j_str(result, "version", "?"));
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "add-br", "BRIDGE", 1, 1, "bridge.add", p_bridge, print_nothing },
	{ "del-br", "BRIDGE", 1, 1, "bridge.del", p_bridge, print_nothing },
	{ "add-port", "BRIDGE PORT type=TYPE [KEY=VALUE...]", 3, -1,
	  "port.add", p_add_port, print_nothing },
	{ "del-port", "BRIDGE PORT", 2, 2, "port.del", p_bridge_port,
	  print_nothing },
	{ "set-port", "PORT KEY=VALUE... (tag=N, trunks=N,M-O, an option of "
	  "the port's type, ingress_policing_rate=KBPS, "
	  "ingress_policing_burst=KB, max-rate=BPS, max-burst=BITS; KEY= "
	  "clears)", 2, -1,
	  "port.set", p_set_port, print_nothing },
	{ "show", "", 0, 0, "show", p_none, print_show },
	{ "dump-ports", "BRIDGE", 1, 1, "port.stats", p_bridge,
	  print_dump_ports },
	{ "fdb-show", "BRIDGE", 1, 1, "fdb.show", p_bridge, print_fdb },
	{ "fdb-flush", "BRIDGE", 1, 1, "fdb.flush", p_bridge, print_nothing },
	{ "set-option", "threads=N|ageing=SEC|poll=on|off|spin=US...", 1, -1,
	  "option.set", p_set_option, print_nothing },
	{ "get-option", "", 0, 0, "option.get", p_none, print_get_option },
	{ "add-flow", "BRIDGE FLOW", 2, -1, "flow.add", p_add_flow,
	  print_nothing },
	{ "add-flows", "BRIDGE FILE", 2, 2, "flow.add", p_none,
	  print_nothing },
	{ "del-flows", "BRIDGE [--strict] [MATCH]", 1, -1, "flow.del",
	  p_del_flows, print_count },
	{ "mod-flows", "BRIDGE [--strict] FLOW", 2, -1, "flow.mod",
	  p_mod_flows, print_count },
	{ "dump-flows", "BRIDGE [MATCH]", 1, -1, "flow.dump", p_dump_flows,
	  print_flows },
	{ "set-controller", "BRIDGE TARGET... (ptcp:PORT[:IP], punix:PATH, "
	  "tcp:IP:PORT, unix:PATH)", 2, -1, "controller.set",
	  p_set_controller, print_nothing },
	{ "del-controller", "BRIDGE", 1, 1, "controller.del", p_bridge,
	  print_nothing },
	{ "get-controller", "BRIDGE", 1, 1, "controller.get", p_bridge,
	  print_controllers },
	{ "add-mirror", "BRIDGE NAME [select-src-port=PORT,...] "
	  "[select-dst-port=PORT,...] [select-vlan=VLAN,...] "
	  "[select-all=true] output-port=PORT|output-vlan=VLAN", 3, -1,
	  "mirror.add", vswctl_p_add_mirror, print_nothing },
	{ "del-mirror", "BRIDGE NAME", 2, 2, "mirror.del", p_bridge_mirror,
	  print_nothing },
	{ "list-mirrors", "[BRIDGE]", 0, 1, "mirror.list", p_opt_bridge,
	  vswctl_print_mirrors },
	{ "set-fail-mode", "BRIDGE standalone|secure", 2, 2, "fail_mode.set",
	  p_set_fail_mode, print_nothing },
	{ "get-fail-mode", "BRIDGE", 1, 1, "fail_mode.get", p_bridge,
	  print_fail_mode },
	{ "del-fail-mode", "BRIDGE", 1, 1, "fail_mode.del", p_bridge,
	  print_nothing },
	{ "dpif-stats", "[BRIDGE]", 0, 1, "dpif.stats", p_opt_bridge,
	  print_dpif },
	{ "pmd-stats", "", 0, 0, "pmd.stats", p_none, print_pmd },
	{ "pmd-stats-clear", "", 0, 0, "pmd.stats.clear", p_none,
	  print_nothing },
	{ "version", "", 0, 0, "version", p_none, print_version },
	{ "list-br", "", 0, 0, "show", p_none, print_list_br },
	{ "list-ports", "BRIDGE", 1, 1, "port.stats", p_bridge,
	  print_list_ports },
	{ "set-log-level", "[MODULE] LEVEL", 1, 2, "log.set",
	  p_set_log_level, print_log_levels },
	{ "metrics", "", 0, 0, "metrics", p_none, print_metrics },
	/* answered by vswctl itself: no call */
	{ "help", "[COMMAND]", 0, 1, "", p_none, print_nothing },
	/* runs its own loop (vswctl_capture.c); params/print unused */
	{ "capture", VSWCTL_CAPTURE_ARGS, 1, -1, "capture.start", p_none,
	  print_nothing },
};

#define N_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void ctl_help(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: vswctl [--ctl SOCKET] [--json] [--timeout SEC] "
		"COMMAND [ARG...]\n\n"
		"Commands:\n");
	for (i = 0; i < N_CMDS; i++)
		fprintf(f, "  %-15s %s\n", ctl_cmds[i].name, ctl_cmds[i].args);
	fprintf(f,
		"\nPort types: vhostuser [path=SOCK] [queues=N], "
		"vhostuserclient path=SOCK,\n"
		"  tap [ifname=NAME], afpacket ifname=NAME, afxdp "
		"ifname=NAME, internal, dummy.\n"
		"FLOW: ovs-ofctl syntax, e.g. 'priority=10,in_port=1,"
		"actions=output:2'.\n"
		"Exit codes: 0 ok, 1 vswd reported an error, 2 usage "
		"error, 3 cannot reach vswd.\n"
		"Default socket: $VSW_CTL, else /run/vsw/vswd.ctl (root) or "
		"$XDG_RUNTIME_DIR/vsw/vswd.ctl.\n"
		"What a command does: vswctl help COMMAND, or vswctl COMMAND "
		"--help.\n");
}

/* vswctl help COMMAND, vswctl COMMAND --help */
static void ctl_cmd_help(const struct ctl_cmd *cmd)
{
	const char *text = ctl_help_text(cmd->name);

	printf("usage: vswctl %s%s%s\n\n%s\n", cmd->name,
	       cmd->args[0] ? " " : "", cmd->args,
	       text ? text : "(no description)");
}

/* The default control socket, as vswd chooses it (docs/control.md). */
static void ctl_default_path(char *buf, size_t len)
{
	const char *env = getenv("VSW_CTL");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (env != NULL && env[0] != '\0')
		snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, len, "/run/vsw/vswd.ctl");
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/vsw/vswd.ctl", xdg);
	else
		snprintf(buf, len, "/tmp/vsw-%u/vswd.ctl",
			 (unsigned int)geteuid());
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ctl", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *cmd = NULL;
	struct vsw_rpc_client *cli;
	struct vsw_rpc_err e = { 0 };
	char ctl[256], err[512];
	json_t *params, *result;
	bool json_out = false;
	long timeout_s = 30;
	int opt, rc, nargs;
	size_t i;

	ctl_default_path(ctl, sizeof(ctl));
	/* '+': stop at the command, so its arguments are never options. */
	while ((opt = getopt_long(argc, argv, "+c:jt:h", longopts, NULL)) !=
	       -1) {
		char *end;

		switch (opt) {
		case 'c':
			snprintf(ctl, sizeof(ctl), "%s", optarg);
			break;
		case 'j':
			json_out = true;
			break;
		case 't':
			timeout_s = strtol(optarg, &end, 10);
			if (*end || end == optarg || timeout_s < 1 ||
			    timeout_s > 3600) {
				ctl_usage_err("--timeout: seconds 1..3600, "
					      "got '%s'",
					      optarg);
				return VSWCTL_USAGE;
			}
			break;
		case 'h':
			ctl_help(stdout);
			return VSWCTL_OK;
		default:
			ctl_help(stderr);
			return VSWCTL_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_usage_err("missing command");
		return VSWCTL_USAGE;
	}
	for (i = 0; i < N_CMDS; i++)
		if (strcmp(argv[optind], ctl_cmds[i].name) == 0)
			cmd = &ctl_cmds[i];
	if (cmd == NULL) {
		fprintf(stderr, "vswctl: unknown command '%s' (known:",
			argv[optind]);
		for (i = 0; i < N_CMDS; i++)
			fprintf(stderr, "%s %s", i ? "," : "",
				ctl_cmds[i].name);
		fprintf(stderr, ")\n");
		return VSWCTL_USAGE;
	}
	nargs = argc - optind - 1;
	for (i = 1; i <= (size_t)nargs; i++)
		if (strcmp(argv[optind + i], "--help") == 0) {
			ctl_cmd_help(cmd);
			return VSWCTL_OK;
		}
	if (strcmp(cmd->name, "help") == 0 && nargs <= 1) {
		if (nargs == 0) {
			ctl_help(stdout);
			return VSWCTL_OK;
		}
		for (i = 0; i < N_CMDS; i++)
			if (strcmp(argv[optind + 1], ctl_cmds[i].name) == 0) {
				ctl_cmd_help(&ctl_cmds[i]);
				return VSWCTL_OK;
			}
		ctl_usage_err("help: unknown command '%s'", argv[optind + 1]);
		return VSWCTL_USAGE;
	}
	if (nargs < cmd->min_args ||
	    (cmd->max_args >= 0 && nargs > cmd->max_args)) {
		ctl_usage_err("usage: vswctl %s %s", cmd->name, cmd->args);
		return VSWCTL_USAGE;
	}
	if (strcmp(cmd->name, "capture") == 0)
		return vswctl_capture(ctl, (int)timeout_s * 1000, argv + optind,
				      nargs + 1);
	rc = cmd->params(argv + optind + 1, nargs, &params);
	if (rc != 0)
		return rc;

	rc = vsw_rpc_client_connect(ctl, (int)timeout_s * 1000, &cli, err,
				    sizeof(err));
	if (rc < 0) {
		json_decref(params);
		fprintf(stderr, "vswctl: %s\n", err);
		return VSWCTL_UNREACHABLE;
	}
	if (strcmp(cmd->name, "add-flows") == 0) {
		rc = ctl_add_flows(cli, argv + optind + 1, json_out);
		vsw_rpc_client_close(cli);
		return rc;
	}
	rc = vsw_rpc_client_call(cli, cmd->method, params, &result, &e);
	vsw_rpc_client_close(cli);
	if (rc < 0) {
		fprintf(stderr, "vswctl: %s\n", e.message);
		return VSWCTL_UNREACHABLE;
	}
	if (rc == 1) {
		if (json_out) {
			json_t *j = json_pack("{s:{s:i, s:s, s:i}}", "error",
					      "code", e.code, "message",
					      e.message, "errno", e.errnum);

			json_dumpf(j, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(j);
		}
		fprintf(stderr, "vswctl: %s: %s\n", cmd->name, e.message);
		return VSWCTL_ERR;
	}
	if (json_out) {
		json_dumpf(result, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	} else {
		cmd->print(result);
	}
	json_decref(result);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vswctl: writing the output: %s\n",
			strerror(errno));
		return VSWCTL_ERR;
	}
	return VSWCTL_OK;
}
