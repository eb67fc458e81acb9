/* SPDX-License-Identifier: MIT */
/*
 * vswctl's mirror verbs: add-mirror's arguments into mirror.add's
 * params, and list-mirrors' output. The checks against the configuration
 * (ports, names, ranges) are vswd's; here only the syntax.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswctl.h"

static void mir_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void mir_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("vswctl: add-mirror: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see vswctl help add-mirror)\n", stderr);
}

/* "a,b,c" into a JSON array of strings; empty items refused. */
static json_t *mir_list(const char *key, char *v)
{
	json_t *a = json_array();
	char *save = NULL, *tok;

	if (*v == '\0' || v[strlen(v) - 1] == ',' || strstr(v, ",,") ||
	    *v == ',') {
		mir_usage("%s: a comma-separated list of port names, got '%s'",
			  key, v);
		json_decref(a);
		return NULL;
	}
	for (tok = strtok_r(v, ",", &save); tok != NULL && a != NULL;
	     tok = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(tok));
	return a;
}

/* One number 0..4095 (to *out), or -1. */
static int mir_vid(const char *s, char **end, long *out)
{
	errno = 0;
	*out = strtol(s, end, 10);
	return errno != 0 || *end == s || *out < 0 || *out > 4095 ? -1 : 0;
}

/* "10,20,30-40" into a JSON array of integers. */
static json_t *mir_vlans(char *v)
{
	json_t *a = json_array();
	char *save = NULL, *tok, *end;
	long lo, hi;

	for (tok = strtok_r(v, ",", &save); tok != NULL && a != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (mir_vid(tok, &end, &lo) < 0)
			goto bad;
		hi = lo;
		if (*end == '-' && mir_vid(end + 1, &end, &hi) < 0)
			goto bad;
		if (*end != '\0' || hi < lo)
			goto bad;
		for (; lo <= hi; lo++)
			json_array_append_new(a, json_integer(lo));
	}
	if (a != NULL && json_array_size(a) == 0)
		goto bad;
	return a;
bad:
	mir_usage("select-vlan: VLAN ids 0..4095 and ascending ranges "
		  "(10,20,30-40)");
	json_decref(a);
	return NULL;
}

int vswctl_p_add_mirror(char **argv, int argc, json_t **out)
{
	json_t *p =
		json_pack("{s:s, s:s}", "bridge", argv[0], "mirror", argv[1]);
	int i;

	*out = NULL;
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *k = argv[i], *v, *c;
		json_t *val = NULL;

		if (eq == NULL || eq == argv[i]) {
			mir_usage("expected KEY=VALUE, got '%s'", argv[i]);
			goto usage;
		}
		*eq = '\0';
		v = eq + 1;
		for (c = k; *c != '\0'; c++)
			if (*c == '-')
				*c = '_'; /* select-src-port -> select_src_port */
		if (json_object_get(p, k) != NULL) {
			mir_usage("'%s' given twice", argv[i]);
			goto usage;
		}
		if (strcmp(k, "select_src_port") == 0 ||
		    strcmp(k, "select_dst_port") == 0) {
			val = mir_list(argv[i], v);
		} else if (strcmp(k, "select_vlan") == 0) {
			val = mir_vlans(v);
		} else if (strcmp(k, "select_all") == 0) {
			if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
				val = json_boolean(v[0] == 't');
			else
				mir_usage("select-all: true or false, got '%s'",
					  v);
		} else if (strcmp(k, "output_port") == 0) {
			val = json_string(v);
		} else if (strcmp(k, "output_vlan") == 0) {
			char *end;
			long n;

			if (mir_vid(v, &end, &n) == 0 && *end == '\0')
				val = json_integer(n);
			else
				mir_usage("output-vlan: a VLAN id (1..4094), "
					  "got '%s'",
					  v);
		} else {
			mir_usage("unknown setting '%s' (known: "
				  "select-src-port, select-dst-port, "
				  "select-vlan, select-all, output-port, "
				  "output-vlan)",
				  argv[i]);
		}
		if (val == NULL)
			goto usage;
		json_object_set_new(p, k, val);
	}
	if (json_object_get(p, "output_port") == NULL &&
	    json_object_get(p, "output_vlan") == NULL) {
		mir_usage("no output: give output-port=PORT or "
			  "output-vlan=VLAN");
		goto usage;
	}
	*out = p;
	return 0;
usage:
	json_decref(p);
	return VSWCTL_USAGE;
}

/* "a,b" of a JSON array (of strings or integers); "" if empty. */
static void mir_print_list(const char *label, json_t *a)
{
	json_t *v;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	printf("    %s: ", label);
	json_array_foreach(a, i, v)
	{
		if (json_is_integer(v))
			printf("%s%lld", i ? "," : "",
			       (long long)json_integer_value(v));
		else
			printf("%s%s", i ? "," : "", json_string_value(v));
	}
	printf("\n");
}

void vswctl_print_mirrors(json_t *result)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(result, "mirrors"), i, m)
	{
		json_t *op = json_object_get(m, "output_port");
		json_t *ov = json_object_get(m, "output_vlan");
		json_t *st = json_object_get(m, "status");

		printf("Mirror %s (bridge %s): %s\n",
		       json_string_value(json_object_get(m, "name")),
		       json_string_value(json_object_get(m, "bridge")),
		       st != NULL ? json_string_value(st) : "?");
		mir_print_list("select-src-port",
			       json_object_get(m, "select_src_port"));
		mir_print_list("select-dst-port",
			       json_object_get(m, "select_dst_port"));
		mir_print_list("select-vlan",
			       json_object_get(m, "select_vlan"));
		if (json_is_true(json_object_get(m, "select_all")))
			printf("    select-all: true\n");
		if (op != NULL)
			printf("    output-port: %s\n", json_string_value(op));
		else
			printf("    output-vlan: %lld\n",
			       (long long)json_integer_value(ov));
		printf("    mirrored: packets=%lld bytes=%lld drops=%lld\n",
		       (long long)json_integer_value(
			       json_object_get(m, "packets")),
		       (long long)json_integer_value(
			       json_object_get(m, "bytes")),
		       (long long)json_integer_value(
			       json_object_get(m, "drops")));
	}
}
