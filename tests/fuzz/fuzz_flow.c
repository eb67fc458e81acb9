/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the flow-rule parser and the flow-file loader.
 *
 * The input is a file of rules as `vswctl add-flows BRIDGE FILE` reads it.
 * It is written to a temporary file and read by vswctl's own loader
 * (addf_read: one rule a line, '#' comments, blank lines, UTF-8 checked by
 * jansson); vswctl.c is compiled into this target with its main renamed.
 * Every rule it keeps is then parsed by vsw_flow_parse() in the mode the
 * line number picks (add-flow, mod-flows, del-flows), with a port map that
 * knows p1..p9, and the parsed rules go through a flow table (add, mod,
 * del, lookup of the keys the rules match).
 *
 * Invariants, checked with abort():
 *   - the loader keeps a line number for every rule, in increasing order,
 *     and every rule is a non-empty string without a newline;
 *   - the parser returns 0, -EINVAL (with a message) or -ENOMEM; on 0 the
 *     match is normalised (key & mask == key), add / mod have actions;
 *   - what the parser accepts prints (vsw_flow_format_match/_actions) to a
 *     string that parses again to the same match, priority and actions;
 *   - the table's answers are in range and a rule added matches its own
 *     key in its own table (or a rule of higher or equal priority does);
 *     an add refused is one of check_overlap's (-EEXIST), a mod refused
 *     one whose goto_table does not lead beyond a selected rule's table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vsw/flow.h>

/* vswctl's add-flows loader, main renamed so this target has its own. */
int vswctl_main(int argc, char **argv);
#define main vswctl_main
#include "../../programs/vswctl/vswctl.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (256 * 1024)
#define FZ_TEXT 8192

static int fz_by_name(void *arg, const char *name, uint16_t *ofport)
{
	(void)arg;
	if (name[0] == 'p' && name[1] >= '1' && name[1] <= '9' &&
	    name[2] == '\0') {
		*ofport = (uint16_t)(name[1] - '0');
		return 0;
	}
	return -ENOENT;
}

static bool fz_acts_eq(const struct vsw_flow_actions *a,
		       const struct vsw_flow_actions *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->n == b->n && a->flags == b->flags &&
	       memcmp(a->a, b->a, a->n * sizeof(a->a[0])) == 0;
}

static void fz_check_match(const struct vsw_flow_match *m)
{
	unsigned i;

	for (i = 0; i < VSW_FLOW_KEY_WORDS; i++)
		if ((m->key.w[i] & m->mask.w[i]) != m->key.w[i])
			abort();
}

/* Print what was parsed and parse the text again. */
static void fz_round_trip(const struct vsw_flow_spec *s,
			  enum vsw_flow_parse_mode mode,
			  const struct vsw_flow_port_map *pm)
{
	struct vsw_flow_spec again;
	char text[FZ_TEXT], err[256];
	int n, k;

	n = vsw_flow_format_match(&s->match, s->priority, text, sizeof(text));
	if (n < 0 || (size_t)n >= sizeof(text) - 16)
		return;
	if (s->actions != NULL) {
		k = snprintf(text + n, sizeof(text) - (size_t)n, "%sactions=",
			     n > 0 ? "," : "");
		n += k;
		k = vsw_flow_format_actions(s->actions, text + n,
					    sizeof(text) - (size_t)n);
		if (k < 0 || (size_t)(n + k) >= sizeof(text))
			return;
	}
	if (vsw_flow_parse(text, mode, pm, &again, err, sizeof(err)) != 0) {
		fprintf(stderr, "round trip: '%s' does not parse: %s\n", text,
			err);
		abort();
	}
	if (!vsw_flow_key_eq(&again.match.key, &s->match.key) ||
	    !vsw_flow_key_eq(&again.match.mask, &s->match.mask) ||
	    again.priority != s->priority ||
	    !fz_acts_eq(again.actions, s->actions)) {
		fprintf(stderr, "round trip: '%s' parses differently\n", text);
		abort();
	}
	vsw_flow_spec_fini(&again);
}

static void fz_table(struct vsw_flow_table *t, struct vsw_flow_spec *s,
		     enum vsw_flow_parse_mode mode, uint64_t now)
{
	struct vsw_flow_rule *r;
	int ret;

	switch (mode) {
	case VSW_FLOW_PARSE_ADD:
		ret = vsw_flow_table_add(t, s, now);
		if (ret != 0 && ret != -ENOSPC && ret != -ENOMEM &&
		    !(ret == -EEXIST && (s->flags & VSW_FLOW_F_CHECK_OVERLAP)))
			abort();
		if (ret == 0) {
			struct vsw_flow_key k = s->match.key;
			uint64_t any = 0;
			unsigned i;

			/* a packet with the rule's values: one carrying
			 * the tunnel extension points at it (a match's key
			 * never does) */
			for (i = 0; i < VSW_PKT_TUN_EXT_WORDS; i++)
				any |= s->match.ext.w[i];
			if (any != 0) {
				k.tun_ext = &s->match.ext;
				k.tun_ext_token =
					vsw_flow_tun_ext_token(&s->match.ext);
			}
			r = vsw_flow_lookup_table(t, s->table_id, &k);
			if (r == NULL || vsw_flow_rule_priority(r) < s->priority)
				abort();
		}
		break;
	case VSW_FLOW_PARSE_MOD:
		ret = vsw_flow_table_mod(t, s, s->has_priority, now);
		if (ret < 0 && ret != -ENOSPC && ret != -ENOMEM &&
		    !(ret == -EINVAL && s->actions->n != 0 &&
		      s->actions->a[s->actions->n - 1].type ==
			      VSW_FLOW_ACT_GOTO_TABLE) &&
		    !(ret == -EEXIST && (s->flags & VSW_FLOW_F_CHECK_OVERLAP)))
			abort();
		break;
	case VSW_FLOW_PARSE_MATCH:
		ret = vsw_flow_table_del(t, s, s->has_priority);
		if (ret < 0)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum vsw_flow_parse_mode modes[] = {
		VSW_FLOW_PARSE_ADD, VSW_FLOW_PARSE_MOD, VSW_FLOW_PARSE_MATCH};
	const struct vsw_flow_port_map pm = {.by_name = fz_by_name};
	char path[] = "/tmp/vsw-fuzz-flow.XXXXXX";
	struct vsw_flow_table *t;
	struct addf a = {0};
	json_int_t prev = 0;
	size_t i;
	int fd;

	if (size > FZ_MAX_INPUT)
		return 0;
	fd = mkstemp(path);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (addf_read(path, &a) != VSWCTL_OK) {
		/* refused for bad UTF-8 only; what was read stays valid */
		if (a.flows == NULL || a.lines == NULL)
			abort();
	}
	unlink(path);
	if (json_array_size(a.flows) != json_array_size(a.lines))
		abort();
	if (vsw_flow_table_create(NULL, 0, &t) != 0)
		abort();
	for (i = 0; i < json_array_size(a.flows); i++) {
		const char *s = json_string_value(json_array_get(a.flows, i));
		json_int_t line =
			json_integer_value(json_array_get(a.lines, i));
		enum vsw_flow_parse_mode mode = modes[line % 3];
		struct vsw_flow_spec spec;
		char err[256];
		int ret;

		if (s == NULL || s[0] == '\0' || strchr(s, '\n') != NULL ||
		    line <= prev)
			abort();
		prev = line;
		err[0] = '\0';
		ret = vsw_flow_parse(s, mode, i % 2 ? &pm : NULL, &spec, err,
				     sizeof(err));
		if (ret == -EINVAL && err[0] == '\0')
			abort();
		if (ret != 0 && ret != -EINVAL && ret != -ENOMEM)
			abort();
		if (ret != 0)
			continue;
		fz_check_match(&spec.match);
		if (mode != VSW_FLOW_PARSE_MATCH && spec.actions == NULL)
			abort();
		fz_round_trip(&spec, mode, i % 2 ? &pm : NULL);
		fz_table(t, &spec, mode, (uint64_t)i * 1000);
		vsw_flow_spec_fini(&spec);
	}
	if (vsw_flow_table_expire(t, 1000000) < 0)
		abort();
	vsw_flow_table_destroy(t);
	json_decref(a.flows);
	json_decref(a.lines);
	return 0;
}
