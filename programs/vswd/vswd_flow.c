/* SPDX-License-Identifier: MIT */
/*
 * vswd: the bridges' flow tables (add / del / mod / dump), their store,
 * restore at start and timeouts. Their counters: vswd_stats.c.
 *
 * What is stored: each rule as the add-flow string that recreates it, with
 * numeric ports ("cookie=0x0, table=0, idle_timeout=5, priority=10,
 * in_port=1 actions=output:2"; send_flow_rem kept), in dump order. Rows
 * stored before tables existed have no table= and land in table 0. After every change the bridge's rows
 * are rewritten from the switch's table, in the same transaction, so the
 * store holds exactly what the switch does (counters and ages excepted:
 * they restart with vswd). A change follows vswd_ctl.c's order: check,
 * BEGIN, change the switch, write, COMMIT; if the write or the commit
 * fails, the switch's table is put back from the rows it had.
 *
 * Every FLOW string comes from a client: it goes through vsw_flow_parse(),
 * whose message is the answer when it is wrong, before anything changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"


/* ---- helpers ------------------------------------------------------------- */

/* "strict": absent or a boolean. */
static int fl_strict(json_t *params, bool *strict, struct vsw_rpc_err *e)
{
	json_t *v = json_object_get(params, "strict");

	*strict = false;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"strict\" must be true or false");
	*strict = json_is_true(v);
	return 0;
}

struct fl_pm {
	struct vswd *d;
	const char *bridge;
};

/* Port names in rules: the stored ports of the bridge (open or not). */
static int fl_by_name(void *arg, const char *name, uint16_t *ofport)
{
	struct fl_pm *pm = arg;
	struct vsw_cfg_port *p = malloc(sizeof(*p));
	int rc = -ENOENT;

	if (p == NULL)
		return -ENOMEM;
	if (vsw_cfg_name_valid(name) &&
	    vsw_cfg_port_get(pm->d->cfg, name, p) == 0 &&
	    strcmp(p->bridge, pm->bridge) == 0 && p->ofport != 0) {
		*ofport = (uint16_t)p->ofport;
		rc = 0;
	}
	free(p);
	return rc;
}

/* Parse member "name" (a FLOW string) of params; NULL allowed if !required. */
static int fl_parse(struct vswd *d, json_t *params, const char *bridge,
		    const char *name, bool required,
		    enum vsw_flow_parse_mode mode, struct vsw_flow_spec *spec,
		    bool *given, struct vsw_rpc_err *e)
{
	struct fl_pm pma = { .d = d, .bridge = bridge };
	struct vsw_flow_port_map pm = { .by_name = fl_by_name, .arg = &pma };
	char err[VSWD_ERR_MAX] = "";
	const char *s;
	int rc;

	*given = false;
	rc = vsw_rpc_param_str(params, name, required, &s, e);
	if (rc < 0)
		return rc;
	if (s == NULL)
		return 0;
	rc = vsw_flow_parse(s, mode, &pm, spec, err, sizeof(err));
	if (rc == -EINVAL)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "bad flow '%.200s': %s", s, err);
	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "flow '%.200s': %s", s,
				    err[0] ? err : strerror(-rc));
	*given = true;
	return 0;
}

/* ---- store ---------------------------------------------------------------- */

struct fl_rows {
	struct vsw_cfg_flow *v;
	unsigned int n, cap;
};

static void fl_rows_free(struct fl_rows *r)
{
	unsigned int i;

	for (i = 0; i < r->n; i++)
		free((char *)r->v[i].flow);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int fl_rows_add(struct fl_rows *r, unsigned int prio, char *flow)
{
	if (r->n == r->cap) {
		unsigned int cap = r->cap ? r->cap * 2 : 16;
		struct vsw_cfg_flow *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].priority = prio;
	r->v[r->n++].flow = flow;
	return 0;
}

/*
 * The add-flow string of a dump line: " cookie=C, duration=..., table=T,
 * n_packets=N, n_bytes=N, REST" -> "cookie=C, table=T, REST".
 */
static char *fl_line_to_flow(const char *line)
{
	const char *c = strstr(line, "cookie="), *nb, *rest, *comma, *tb;
	const char *tcomma;
	size_t clen, tlen;
	char *out;

	nb = strstr(line, "n_bytes=");
	tb = strstr(line, ", table=");
	if (c == NULL || nb == NULL || tb == NULL)
		return NULL;
	tb += 2;
	comma = strchr(c, ',');
	tcomma = strchr(tb, ',');
	rest = strstr(nb, ", ");
	if (comma == NULL || tcomma == NULL || rest == NULL)
		return NULL;
	rest += 2;
	clen = (size_t)(comma - c);
	tlen = (size_t)(tcomma - tb);
	out = malloc(clen + 2 + tlen + 2 + strlen(rest) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, c, clen);
	memcpy(out + clen, ", ", 2);
	memcpy(out + clen + 2, tb, tlen);
	memcpy(out + clen + 2 + tlen, ", ", 2);
	strcpy(out + clen + 2 + tlen + 2, rest);
	return out;
}

static int fl_save_cb(const struct vsw_flow_rule *r,
		      const struct vsw_flow_stats *st, const char *line,
		      void *arg)
{
	char *flow = fl_line_to_flow(line);

	(void)st;
	if (flow == NULL)
		return -ENOMEM;
	if (fl_rows_add(arg, vsw_flow_rule_priority(r), flow) < 0) {
		free(flow);
		return -ENOMEM;
	}
	return 0;
}

/* Write the switch's table of @br into the open transaction. */
static int fl_save(struct vswd *d, const char *br)
{
	struct fl_rows rows = { 0 };
	int rc;

	rc = vsw_switch_flow_dump(d->sw, br, NULL, fl_save_cb, &rows);
	if (rc == 0)
		rc = vsw_cfg_flows_set(d->cfg, br, rows.v, rows.n);
	fl_rows_free(&rows);
	return rc;
}

static int fl_load_cb(void *opaque, const struct vsw_cfg_flow *f)
{
	struct fl_rows *r = opaque;
	char *s = strdup(f->flow);

	if (s == NULL || fl_rows_add(r, f->priority, s) < 0) {
		free(s);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Make the switch's table of @br exactly @rows. A row that does not parse
 * (a hand-edited store) is skipped with a log line. 0 or negative errno.
 */
static int fl_apply(struct vswd *d, const char *br, const struct fl_rows *rows)
{
	char err[VSWD_ERR_MAX];
	unsigned int i;
	int rc;

	/* the rules go back as they were: no controller hears of it */
	vswd_ofp_mute_removed(d, true);
	rc = vsw_switch_flow_del(d->sw, br, NULL, false, err, sizeof(err));
	vswd_ofp_mute_removed(d, false);
	if (rc < 0)
		return rc;
	for (i = 0; i < rows->n; i++) {
		struct vsw_flow_spec spec;

		rc = vsw_flow_parse(rows->v[i].flow, VSW_FLOW_PARSE_ADD, NULL,
				    &spec, err, sizeof(err));
		if (rc == 0) {
			rc = vsw_switch_flow_add(d->sw, br, &spec, err,
						 sizeof(err));
			vsw_flow_spec_fini(&spec);
		}
		if (rc < 0) {
			vswd_log(d, VSW_LOG_ERR,
				 "bridge %s: stored flow '%s' not restored: %s",
				 br, rows->v[i].flow, err);
			if (rc != -EINVAL)
				return rc;
		}
	}
	return 0;
}

static int fl_load(struct vswd *d, const char *br, struct fl_rows *rows)
{
	int rc = vsw_cfg_flow_foreach(d->cfg, br, fl_load_cb, rows);

	if (rc < 0)
		fl_rows_free(rows);
	return rc;
}

static int fl_restore_bridge(void *opaque, const char *name)
{
	struct vswd *d = opaque;
	struct fl_rows rows = { 0 };
	int rc;

	rc = fl_load(d, name, &rows);
	if (rc == 0)
		rc = fl_apply(d, name, &rows);
	if (rc < 0)
		vswd_log(d, VSW_LOG_ERR, "bridge %s: flows not restored: %s",
			 name, vsw_cfg_why(d->cfg)[0] ? vsw_cfg_why(d->cfg) :
							 strerror(-rc));
	fl_rows_free(&rows);
	return rc;
}

int vswd_flows_restore(struct vswd *d)
{
	return vsw_cfg_bridge_foreach(d->cfg, fl_restore_bridge, d);
}

static int fl_expire_bridge(void *opaque, const char *name)
{
	struct vswd *d = opaque;
	int n, rc;

	n = vsw_switch_flow_expire(d->sw, name);
	if (n <= 0)
		return 0;
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = fl_save(d, name);
	if (rc == 0)
		rc = vsw_cfg_commit(d->cfg);
	if (rc < 0) {
		/* the store keeps them: they come back after a restart */
		vsw_cfg_rollback(d->cfg);
		vswd_log(d, VSW_LOG_ERR,
			 "bridge %s: %d expired flows still stored: %s", name,
			 n, vsw_cfg_why(d->cfg));
		return 0;
	}
	vswd_log(d, VSW_LOG_DEBUG, "bridge %s: %d flows expired", name, n);
	return 0;
}

void vswd_flows_expire(struct vswd *d)
{
	if (vsw_cfg_bridge_foreach(d->cfg, fl_expire_bridge, d) < 0)
		vswd_log(d, VSW_LOG_ERR, "flow expiry: %s",
			 vsw_cfg_why(d->cfg));
}

/* ---- changes --------------------------------------------------------------- */

enum fl_op { FL_ADD, FL_DEL, FL_MOD };

/*
 * One change of @br's table, durable: the switch, then the store, one
 * transaction; on a store failure the switch's table is put back.
 */
static int fl_change(struct vswd *d, const char *br, enum fl_op op,
		     const struct vsw_flow_spec *spec, bool strict,
		     int *count, struct vsw_rpc_err *e)
{
	struct fl_rows old = { 0 };
	char err[VSWD_ERR_MAX] = "";
	int rc, n;

	rc = fl_load(d, br, &old);
	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	rc = vsw_cfg_begin(d->cfg);
	if (rc < 0) {
		fl_rows_free(&old);
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	}
	if (op == FL_ADD)
		n = vsw_switch_flow_add(d->sw, br, spec, err, sizeof(err));
	else if (op == FL_DEL)
		n = vsw_switch_flow_del(d->sw, br, spec, strict, err,
					sizeof(err));
	else
		n = vsw_switch_flow_mod(d->sw, br, spec, strict, err,
					sizeof(err));
	if (n < 0) {
		vsw_cfg_rollback(d->cfg);
		fl_rows_free(&old);
		return vsw_rpc_fail(e, 0, -n, "%s",
				    err[0] ? err : strerror(-n));
	}
	rc = fl_save(d, br);
	if (rc == 0)
		rc = vsw_cfg_commit(d->cfg);
	if (rc < 0) {
		vsw_cfg_rollback(d->cfg);
		vswd_log(d, VSW_LOG_ERR, "flows of %s not saved: %s", br,
			 vsw_cfg_why(d->cfg));
		vsw_rpc_fail(e, 0, -rc,
			     "configuration not saved (%s); the change was "
			     "undone",
			     vsw_cfg_why(d->cfg)[0] ? vsw_cfg_why(d->cfg) :
						      strerror(-rc));
		if (fl_apply(d, br, &old) < 0)
			vswd_log(d, VSW_LOG_ERR,
				 "bridge %s: flow table not put back", br);
		fl_rows_free(&old);
		return -e->errnum;
	}
	fl_rows_free(&old);
	*count = op == FL_ADD ? 1 : n;
	return 0;
}

int vswd_flow_change(struct vswd *d, const char *br, enum vswd_flow_op op,
		     const struct vsw_flow_spec *spec, bool strict,
		     int *count, char *err, size_t len)
{
	struct vsw_rpc_err e = { 0 };
	int rc = fl_change(d, br, (enum fl_op)op, spec, strict, count, &e);

	if (rc < 0)
		snprintf(err, len, "%s", e.message);
	return rc;
}

/* ---- add-flows: many rules, one transaction -------------------------------- */

/*
 * The label of rule @i in an error: "line N" from the optional "lines"
 * array the client sent (its file's line numbers), else "flow N" (1-based).
 */
static void fl_where(json_t *lines, size_t i, char *buf, size_t len)
{
	json_t *v = json_array_get(lines, i);

	if (json_is_integer(v))
		snprintf(buf, len, "line %" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else
		snprintf(buf, len, "flow %zu", i + 1);
}

static void fl_specs_free(struct vsw_flow_spec *specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vsw_flow_spec_fini(&specs[i]);
	free(specs);
}

/*
 * Parse every string of @flows; the first bad one is the answer (with its
 * line), and nothing else happens.
 */
static int fl_parse_all(struct vswd *d, const char *br, json_t *flows,
			json_t *lines, struct vsw_flow_spec **out,
			struct vsw_rpc_err *e)
{
	struct fl_pm pma = { .d = d, .bridge = br };
	struct vsw_flow_port_map pm = { .by_name = fl_by_name, .arg = &pma };
	size_t i, n = json_array_size(flows);
	struct vsw_flow_spec *specs;
	char err[VSWD_ERR_MAX], where[48];
	int rc;

	specs = calloc(n ? n : 1, sizeof(*specs));
	if (specs == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(flows, i);
		const char *s;

		fl_where(lines, i, where, sizeof(where));
		if (!json_is_string(v)) {
			fl_specs_free(specs, i);
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "%s: \"flows\" must hold strings",
					    where);
		}
		s = json_string_value(v);
		err[0] = '\0';
		rc = vsw_flow_parse(s, VSW_FLOW_PARSE_ADD, &pm, &specs[i], err,
				    sizeof(err));
		if (rc < 0) {
			fl_specs_free(specs, i);
			return vsw_rpc_fail(e, rc == -EINVAL ?
					    VSW_RPC_INVALID_PARAMS : 0, -rc,
					    "%s: bad flow '%.160s': %s", where,
					    s, err[0] ? err : strerror(-rc));
		}
	}
	*out = specs;
	return 0;
}

/*
 * Add @n rules to @br: BEGIN, add each to the switch, rewrite the rows,
 * COMMIT. The switch syncs with its data threads only when its reclaim
 * batch fills (vsw/flow.h), not once per rule. Any failure puts the
 * switch's table back from the rows it had and rolls back: all or nothing.
 */
static int fl_add_all(struct vswd *d, const char *br,
		      const struct vsw_flow_spec *specs, size_t n,
		      json_t *lines, struct vsw_rpc_err *e)
{
	struct fl_rows old = { 0 };
	char err[VSWD_ERR_MAX] = "", where[48];
	size_t i;
	int rc;

	rc = fl_load(d, br, &old);
	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	rc = vsw_cfg_begin(d->cfg);
	if (rc < 0) {
		fl_rows_free(&old);
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	}
	for (i = 0; i < n; i++) {
		rc = vsw_switch_flow_add(d->sw, br, &specs[i], err,
					 sizeof(err));
		if (rc < 0) {
			fl_where(lines, i, where, sizeof(where));
			vsw_rpc_fail(e, 0, -rc, "%s: %s; no flow was added",
				     where, err[0] ? err : strerror(-rc));
			goto undo;
		}
	}
	rc = fl_save(d, br);
	if (rc == 0)
		rc = vsw_cfg_commit(d->cfg);
	if (rc < 0) {
		vswd_log(d, VSW_LOG_ERR, "flows of %s not saved: %s", br,
			 vsw_cfg_why(d->cfg));
		vsw_rpc_fail(e, 0, -rc,
			     "configuration not saved (%s); the change was "
			     "undone",
			     vsw_cfg_why(d->cfg)[0] ? vsw_cfg_why(d->cfg) :
						      strerror(-rc));
		goto undo;
	}
	fl_rows_free(&old);
	return 0;
undo:
	vsw_cfg_rollback(d->cfg);
	if (fl_apply(d, br, &old) < 0)
		vswd_log(d, VSW_LOG_ERR, "bridge %s: flow table not put back",
			 br);
	fl_rows_free(&old);
	return -e->errnum;
}

/*
 * flow.add with "flows": [FLOW...] (optionally "lines": [N...], and
 * "check": true to parse them only, changing nothing).
 */
static int fl_add_many(struct vswd *d, json_t *params, const char *br,
		       json_t **result, struct vsw_rpc_err *e)
{
	json_t *flows = json_object_get(params, "flows");
	json_t *lines = json_object_get(params, "lines"), *check;
	struct vsw_flow_spec *specs = NULL;
	size_t n;
	int rc;

	if (json_object_get(params, "flow") != NULL)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "give \"flow\" or \"flows\", not both");
	if (!json_is_array(flows) ||
	    (lines != NULL && (!json_is_array(lines) ||
			       json_array_size(lines) !=
				       json_array_size(flows))))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"flows\" must be an array of FLOW "
				    "strings (\"lines\": as many integers)");
	n = json_array_size(flows);
	check = json_object_get(params, "check");
	if (check != NULL && !json_is_boolean(check))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"check\" must be true or false");
	rc = fl_parse_all(d, br, flows, lines, &specs, e);
	if (rc < 0)
		return rc;
	if (json_is_true(check))
		rc = 0;
	else
		rc = fl_add_all(d, br, specs, n, lines, e);
	fl_specs_free(specs, n);
	if (rc < 0)
		return rc;
	*result = json_pack("{s:s, s:I}", "bridge", br, "count",
			    (json_int_t)n);
	return 0;
}

int vswd_m_flow_add(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", "flow", "flows",
					     "lines", "check", NULL };
	struct vswd *d = opaque;
	struct vsw_flow_spec spec;
	const char *br;
	bool given;
	int rc, n = 0;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc == 0 && (json_object_get(params, "flows") != NULL ||
			json_object_get(params, "lines") != NULL ||
			json_object_get(params, "check") != NULL))
		return fl_add_many(d, params, br, result, e);
	if (rc == 0)
		rc = fl_parse(d, params, br, "flow", true, VSW_FLOW_PARSE_ADD,
			      &spec, &given, e);
	if (rc < 0)
		return rc;
	rc = fl_change(d, br, FL_ADD, &spec, false, &n, e);
	vsw_flow_spec_fini(&spec);
	if (rc < 0)
		return rc;
	*result = json_pack("{s:s, s:i}", "bridge", br, "count", n);
	return 0;
}

int vswd_m_flow_del(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", "match", "strict",
					     NULL };
	struct vswd *d = opaque;
	struct vsw_flow_spec spec;
	const char *br;
	bool given = false, strict = false;
	int rc, n = 0;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc == 0)
		rc = fl_strict(params, &strict, e);
	if (rc == 0)
		rc = fl_parse(d, params, br, "match", false,
			      VSW_FLOW_PARSE_MATCH, &spec, &given, e);
	if (rc < 0)
		return rc;
	if (strict && !given)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "--strict needs a match (with its "
				    "priority, e.g. 'priority=0')");
	rc = fl_change(d, br, FL_DEL, given ? &spec : NULL, strict, &n, e);
	if (given)
		vsw_flow_spec_fini(&spec);
	if (rc < 0)
		return rc;
	*result = json_pack("{s:s, s:i}", "bridge", br, "count", n);
	return 0;
}

int vswd_m_flow_mod(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", "flow", "strict",
					     NULL };
	struct vswd *d = opaque;
	struct vsw_flow_spec spec;
	const char *br;
	bool given, strict = false;
	int rc, n = 0;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc == 0)
		rc = fl_strict(params, &strict, e);
	if (rc == 0)
		rc = fl_parse(d, params, br, "flow", true, VSW_FLOW_PARSE_MOD,
			      &spec, &given, e);
	if (rc < 0)
		return rc;
	rc = fl_change(d, br, FL_MOD, &spec, strict, &n, e);
	vsw_flow_spec_fini(&spec);
	if (rc < 0)
		return rc;
	*result = json_pack("{s:s, s:i}", "bridge", br, "count", n);
	return 0;
}

/* ---- show ------------------------------------------------------------------ */

static int fl_dump_cb(const struct vsw_flow_rule *r,
		      const struct vsw_flow_stats *st, const char *line,
		      void *arg)
{
	const struct vsw_flow_actions *a = vsw_flow_rule_actions(r);
	char match[512], *acts;
	size_t alen = 64 + (size_t)a->n * 48;
	json_t *o;

	acts = malloc(alen);
	if (acts == NULL)
		return -ENOMEM;
	vsw_flow_format_match(vsw_flow_rule_match(r), VSW_FLOW_PRIORITY_DEFAULT,
			      match, sizeof(match));
	vsw_flow_format_actions(a, acts, alen);
	o = json_pack("{s:i, s:i, s:s, s:s, s:I, s:I, s:f, s:f, s:s}",
		      "table", (int)vsw_flow_rule_table(r), "priority",
		      (int)vsw_flow_rule_priority(r), "match", match,
		      "actions", acts, "n_packets", (json_int_t)st->n_packets,
		      "n_bytes", (json_int_t)st->n_bytes, "duration",
		      (double)st->duration_ms / 1000.0, "idle_age",
		      (double)st->idle_ms / 1000.0, "line", line);
	free(acts);
	if (o == NULL || json_array_append_new(arg, o) < 0)
		return -ENOMEM;
	return 0;
}

int vswd_m_flow_dump(void *opaque, json_t *params, json_t **result,
		       struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", "match", NULL };
	struct vswd *d = opaque;
	struct vsw_flow_spec spec;
	const char *br;
	json_t *flows;
	bool given = false;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc == 0)
		rc = fl_parse(d, params, br, "match", false,
			      VSW_FLOW_PARSE_MATCH, &spec, &given, e);
	if (rc < 0)
		return rc;
	flows = json_array();
	rc = flows ? vsw_switch_flow_dump(d->sw, br, given ? &spec : NULL,
					  fl_dump_cb, flows) :
		     -ENOMEM;
	if (given)
		vsw_flow_spec_fini(&spec);
	if (rc < 0) {
		json_decref(flows);
		return vsw_rpc_fail(e, 0, -rc, "cannot dump the flows of "
				    "'%s': %s", br, strerror(-rc));
	}
	*result = json_pack("{s:s, s:o}", "bridge", br, "flows", flows);
	return 0;
}
