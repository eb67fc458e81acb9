/* SPDX-License-Identifier: MIT */
/*
 * vswd's JSON-RPC methods for bridges, ports, show, the MAC table and the
 * global options, and the method table of every method (flows:
 * vswd_flow.c; datapath counters: vswd_stats.c; control.stats:
 * vswd_ctlsock.c). Start-up is vswd_start.c, a stored port into the
 * switch and the pending list vswd_port.c, shared request helpers
 * vswd_params.c.
 *
 * One change, one transaction. Every method that changes something does,
 * in this order:
 *   1. check the request completely (names, type, options, VLANs);
 *   2. BEGIN a store transaction and write the change into it;
 *   3. apply the change to the running switch; if that fails, ROLLBACK
 *      the store: nothing changed anywhere, the switch's message is the
 *      answer;
 *   4. COMMIT (durable, synchronous=FULL); if that fails, undo the switch
 *      change (the inverse operation, built from the old configuration).
 * A crash (kill -9) before the COMMIT leaves the old configuration in the
 * store, after it the new one; the switch itself lives only in the process,
 * so after a restart the switch is what the store says.
 *
 * Requests come from any local client allowed on the socket: every
 * parameter is checked here (type, range, characters) before it reaches the
 * store or the switch, and every error says what to fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"


/* The known port types, "tap, internal, ..." into @buf. */
static void ctl_known_types(char *buf, size_t len)
{
	const struct vsw_port_ops *ops;
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; (ops = vsw_port_ops_at(i)) != NULL; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 ops->type);

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

/* ---- bridges ------------------------------------------------------------- */

static int m_bridge_add(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", NULL };
	struct vswd *d = opaque;
	char err[VSWD_ERR_MAX] = "";
	const char *br;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_name_param(params, &br, e);
	if (rc < 0)
		return rc;
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_bridge_add(d->cfg, br);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	rc = vsw_switch_add_bridge(d->sw, br, err, sizeof(err));
	if (rc < 0) {
		vsw_cfg_rollback(d->cfg);
		return vsw_rpc_fail(e, 0, -rc, "cannot add bridge '%s': %s",
				    br, err[0] ? err : strerror(-rc));
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		vsw_switch_del_bridge(d->sw, br, err, sizeof(err));
		return rc;
	}
	vswd_log(d, VSW_LOG_DEBUG, "bridge %s added", br);
	return 0;
}

struct ctl_port_list {
	struct vsw_cfg_port *ports;
	unsigned int n;
};

static int ctl_collect_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct ctl_port_list *l = opaque;
	struct vsw_cfg_port *np;

	np = realloc(l->ports, (l->n + 1) * sizeof(*np));
	if (np == NULL)
		return -ENOMEM;
	l->ports = np;
	l->ports[l->n++] = *p;
	return 0;
}

static int m_bridge_del(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", NULL };
	struct ctl_port_list old = { 0 };
	struct vswd *d = opaque;
	char err[VSWD_ERR_MAX] = "";
	const char *br;
	unsigned int i;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc < 0)
		return rc;
	/* The old ports, to put back if the commit fails. */
	rc = vsw_cfg_port_foreach(d->cfg, br, ctl_collect_port, &old);
	if (rc < 0) {
		free(old.ports);
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	}
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_bridge_del(d->cfg, br);
	if (rc < 0) {
		free(old.ports);
		return vswd_cfg_fail(d, e, rc);
	}
	rc = vsw_switch_del_bridge(d->sw, br, err, sizeof(err));
	if (rc < 0) {
		vsw_cfg_rollback(d->cfg);
		free(old.ports);
		return vsw_rpc_fail(e, 0, -rc, "cannot delete bridge '%s': %s",
				    br, err[0] ? err : strerror(-rc));
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		vsw_switch_add_bridge(d->sw, br, err, sizeof(err));
		for (i = 0; i < old.n; i++)
			if (vswd_pending_find(d, old.ports[i].name) == NULL &&
			    vswd_port_open(d, &old.ports[i], err,
					   sizeof(err)) < 0 &&
			    vswd_pending_add(d, &old.ports[i], err) < 0)
				vswd_log(d, VSW_LOG_ERR,
					 "port %s lost until restart",
					 old.ports[i].name);
		free(old.ports);
		return rc;
	}
	for (i = 0; i < old.n; i++)
		vswd_pending_remove(d, old.ports[i].name);
	free(old.ports);
	vswd_log(d, VSW_LOG_DEBUG, "bridge %s deleted", br);
	return 0;
}

/* ---- ports ------------------------------------------------------------------ */

/* Fill @p from the params of port.add; 0 or a negative errno with @e. */
static int ctl_port_from_params(struct vswd *d, json_t *params,
				struct vsw_cfg_port *p, struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", "port", "type",
					     "options", NULL };
	const char *br, *name, *type, *key;
	json_t *opts, *val;
	char types[256];
	int rc;

	memset(p, 0, sizeof(*p));
	p->tag = -1;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_name_param(params, &br, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "port", true, &name, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "type", true, &type, e);
	if (rc < 0)
		return rc;
	if (!vsw_cfg_name_valid(name))
		return vswd_bad_name(e, "port", name);
	if (strlen(type) > VSW_CFG_TYPE_MAX || vsw_port_ops_find(type) == NULL) {
		ctl_known_types(types, sizeof(types));
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "unknown port type '%.32s' (known: %s)",
				    type, types);
	}
	strcpy(p->bridge, br);
	strcpy(p->name, name);
	strcpy(p->type, type);
	opts = json_object_get(params, "options");
	if (opts != NULL && !json_is_object(opts))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"options\" must be an object of "
				    "strings");
	json_object_foreach(opts, key, val) {
		const char *v = json_string_value(val);

		if (v == NULL || strlen(v) != json_string_length(val))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "option '%.32s' must be a string",
					    key);
		if (!vsw_cfg_key_valid(key))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "invalid option key '%.32s': use "
					    "1..%d of a-z, 0-9, '_', '-'",
					    key, VSW_CFG_KEY_MAX);
		if (!vsw_cfg_value_valid(v))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "invalid value for option '%s': at "
					    "most %d printable characters",
					    key, VSW_CFG_VALUE_MAX);
		if (p->n_opts == VSW_CFG_MAX_OPTS)
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "too many options (at most %d)",
					    VSW_CFG_MAX_OPTS);
		strcpy(p->opts[p->n_opts].key, key);
		strcpy(p->opts[p->n_opts].value, v);
		p->n_opts++;
	}
	/* A vhostuser port's socket defaults to RUN_DIR/PORT.sock. */
	if (strcmp(type, "vhostuser") == 0 && !vsw_cfg_port_opt(p, "path")) {
		struct vsw_cfg_opt *o = &p->opts[p->n_opts];
		int n;

		if (p->n_opts == VSW_CFG_MAX_OPTS)
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "too many options (at most %d)",
					    VSW_CFG_MAX_OPTS);
		n = snprintf(o->value, sizeof(o->value), "%s/%s.sock",
			     d->run_dir, name);
		if (n < 0 || (size_t)n >= sizeof(o->value))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS,
					    ENAMETOOLONG,
					    "run dir too long for a default "
					    "path: give path=SOCK");
		strcpy(o->key, "path");
		p->n_opts++;
	}
	return 0;
}

struct ctl_path_user {
	const char *path;
	char name[VSW_CFG_NAME_MAX + 1];
};

static int ctl_path_user_cb(void *opaque, const struct vsw_cfg_port *p)
{
	struct ctl_path_user *u = opaque;
	const char *path = vsw_cfg_port_opt(p, "path");

	if (strncmp(p->type, "vhostuser", 9) != 0 || path == NULL ||
	    strcmp(path, u->path) != 0)
		return 0;
	snprintf(u->name, sizeof(u->name), "%s", p->name);
	return 1;
}

static int m_port_add(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	struct vswd *d = opaque;
	struct vsw_cfg_port p;
	char err[VSWD_ERR_MAX] = "";
	int rc;

	(void)result;
	rc = ctl_port_from_params(d, params, &p, e);
	if (rc == 0)
		rc = vswd_need_bridge(d, p.bridge, e);
	if (rc < 0)
		return rc;
	/* also a stored port that is down (pending): not only live sockets */
	if (strncmp(p.type, "vhostuser", 9) == 0 &&
	    vsw_cfg_port_opt(&p, "path") != NULL) {
		struct ctl_path_user u = { .path = vsw_cfg_port_opt(&p, "path") };

		if (vsw_cfg_port_foreach(d->cfg, NULL, ctl_path_user_cb, &u) >
		    0)
			return vsw_rpc_fail(e, 0, EADDRINUSE,
					    "cannot add port '%s': port '%s' "
					    "has path %s",
					    p.name, u.name, u.path);
	}
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_port_add(d->cfg, &p);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	rc = vswd_port_open(d, &p, err, sizeof(err));
	if (rc < 0) {
		vsw_cfg_rollback(d->cfg);
		return vsw_rpc_fail(e, 0, -rc, "cannot add port '%s': %s",
				    p.name, err);
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		vsw_switch_del_port(d->sw, p.name, err, sizeof(err));
		return rc;
	}
	vswd_log(d, VSW_LOG_DEBUG, "port %s (%s) added to %s", p.name, p.type,
		 p.bridge);
	return 0;
}

/* The stored port named by params "port" (and "bridge" if @bridge_too). */
static int ctl_port_param(struct vswd *d, json_t *params, bool bridge_too,
			  struct vsw_cfg_port *p, struct vsw_rpc_err *e)
{
	const char *name, *br = NULL;
	int rc;

	rc = vsw_rpc_param_str(params, "port", true, &name, e);
	if (rc == 0 && bridge_too)
		rc = vswd_bridge_name_param(params, &br, e);
	if (rc < 0)
		return rc;
	if (!vsw_cfg_name_valid(name))
		return vswd_bad_name(e, "port", name);
	if (br != NULL) {
		rc = vswd_need_bridge(d, br, e);
		if (rc < 0)
			return rc;
	}
	rc = vsw_cfg_port_get(d->cfg, name, p);
	if (rc == -ENOENT)
		return vsw_rpc_fail(e, 0, ENOENT, "no port '%s'", name);
	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	if (br != NULL && strcmp(br, p->bridge) != 0)
		return vsw_rpc_fail(e, 0, ENOENT,
				    "port '%s' is on bridge '%s', not '%s'",
				    name, p->bridge, br);
	return 0;
}

static int m_port_del(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", "port", NULL };
	struct vswd *d = opaque;
	struct vsw_cfg_port p;
	char err[VSWD_ERR_MAX] = "";
	bool pending;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = ctl_port_param(d, params, true, &p, e);
	if (rc < 0)
		return rc;
	pending = vswd_pending_find(d, p.name) != NULL;
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_port_del(d->cfg, p.name);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	if (!pending) {
		rc = vsw_switch_del_port(d->sw, p.name, err, sizeof(err));
		if (rc < 0) {
			vsw_cfg_rollback(d->cfg);
			return vsw_rpc_fail(e, 0, -rc,
					    "cannot delete port '%s': %s",
					    p.name,
					    err[0] ? err : strerror(-rc));
		}
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		if (!pending && vswd_port_open(d, &p, err, sizeof(err)) < 0)
			vswd_pending_add(d, &p, err);
		return rc;
	}
	vswd_pending_remove(d, p.name);
	vswd_log(d, VSW_LOG_DEBUG, "port %s deleted from %s", p.name, p.bridge);
	return 0;
}

/* "tag" of port.set: null clears, else an integer 1..4094. */
static int ctl_tag_param(json_t *v, struct vsw_cfg_port *p,
			 struct vsw_rpc_err *e)
{
	json_int_t t;

	if (json_is_null(v)) {
		p->tag = -1;
		return 0;
	}
	if (!json_is_integer(v))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"tag\" must be a VLAN id 1..4094 or "
				    "null");
	t = json_integer_value(v);
	if (t < 1 || t > 4094)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "tag %lld out of range: a VLAN id is "
				    "1..4094",
				    (long long)t);
	p->tag = (int)t;
	return 0;
}

/* "trunks": null or "" clears, "10,20,30-40", or an array of ids. */
static int ctl_trunks_param(json_t *v, struct vsw_cfg_port *p,
			    struct vsw_rpc_err *e)
{
	char why[200];
	size_t i;
	json_t *x;

	memset(&p->trunks, 0, sizeof(p->trunks));
	p->has_trunks = false;
	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (vsw_cfg_vlans_parse(json_string_value(v), &p->trunks, why,
					sizeof(why)) < 0)
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "%s", why);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (!json_is_integer(x) || json_integer_value(x) < 0 ||
			    json_integer_value(x) > VSW_CFG_VLAN_MAX)
				return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS,
						    EINVAL,
						    "\"trunks\" must hold VLAN "
						    "ids 0..4094");
			vsw_cfg_vlan_set(&p->trunks,
					 (unsigned int)json_integer_value(x));
		}
	} else {
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"trunks\" must be a list like "
				    "\"10,20,30-40\", an array, or null");
	}
	if (vsw_cfg_vlan_test(&p->trunks, 4095))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "VLAN 4095 is reserved: trunks are "
				    "0..4094");
	p->has_trunks = vsw_cfg_vlans_count(&p->trunks) > 0;
	return 0;
}

/*
 * "options" of port.set: an object of KEY: "VALUE" (set) or KEY: null
 * (remove), merged into @p's options.
 */
static int ctl_opts_param(json_t *v, struct vsw_cfg_port *p,
			  struct vsw_rpc_err *e)
{
	const char *key;
	unsigned int i;
	json_t *val;

	if (!json_is_object(v))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"options\" must be an object of strings "
				    "(or null to remove a key)");
	json_object_foreach(v, key, val) {
		const char *s = json_string_value(val);

		if (!vsw_cfg_key_valid(key))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "invalid option key '%.32s': use "
					    "1..%d of a-z, 0-9, '_', '-'",
					    key, VSW_CFG_KEY_MAX);
		if (!json_is_null(val) &&
		    (s == NULL || strlen(s) != json_string_length(val) ||
		     !vsw_cfg_value_valid(s)))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "option '%s' must be a string of at "
					    "most %d printable characters, or "
					    "null",
					    key, VSW_CFG_VALUE_MAX);
		for (i = 0; i < p->n_opts; i++)
			if (strcmp(p->opts[i].key, key) == 0)
				break;
		if (json_is_null(val)) {
			if (i < p->n_opts)
				p->opts[i] = p->opts[--p->n_opts];
			continue;
		}
		if (i == p->n_opts) {
			if (p->n_opts == VSW_CFG_MAX_OPTS)
				return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS,
						    EINVAL,
						    "too many options (at most "
						    "%d)",
						    VSW_CFG_MAX_OPTS);
			strcpy(p->opts[p->n_opts++].key, key);
		}
		strcpy(p->opts[i].value, s);
	}
	return 0;
}

/* The rate options of a pending port's new set (vswd_port_set_opts's). */
static int ctl_pending_opts(const struct vsw_cfg_port *p,
			    struct vsw_rpc_err *e)
{
	struct vsw_port_opt o[VSW_CFG_MAX_OPTS];
	char err[VSWD_ERR_MAX] = "";
	unsigned int i;

	for (i = 0; i < p->n_opts; i++) {
		o[i].key = p->opts[i].key;
		o[i].value = p->opts[i].value;
	}
	if (vsw_switch_port_opts_check(o, p->n_opts, err, sizeof(err)) < 0)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "cannot set options of port '%s': %s",
				    p->name, err);
	return 0;
}

/* port.set's changes into the switch (not for a pending port). */
static int ctl_port_apply(struct vswd *d, const struct vsw_cfg_port *old,
			  const struct vsw_cfg_port *p, bool opts, bool vlan,
			  struct vsw_rpc_err *e)
{
	char err[VSWD_ERR_MAX] = "";
	int rc;

	if (opts) {
		rc = vswd_port_set_opts(d, p, err, sizeof(err));
		if (rc < 0)
			return vsw_rpc_fail(e, 0, -rc,
					    "cannot set options of port '%s': "
					    "%s",
					    p->name, err);
	}
	if (vlan) {
		rc = vswd_port_set_vlan(d, p, err, sizeof(err));
		if (rc < 0) {
			char why[VSWD_ERR_MAX];

			if (opts)
				vswd_port_set_opts(d, old, why, sizeof(why));
			return vsw_rpc_fail(e, 0, -rc,
					    "cannot set VLANs of port '%s': %s",
					    p->name,
					    err[0] ? err : strerror(-rc));
		}
	}
	return 0;
}

static int m_port_set(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = { "port", "tag", "trunks",
					     "options", NULL };
	struct vswd *d = opaque;
	struct vsw_cfg_port old, p;
	struct vswd_pending *pend;
	char err[VSWD_ERR_MAX] = "";
	bool opts, vlan;
	json_t *v;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = ctl_port_param(d, params, false, &old, e);
	if (rc < 0)
		return rc;
	p = old;
	v = json_object_get(params, "options");
	opts = v != NULL;
	if (opts && (rc = ctl_opts_param(v, &p, e)) < 0)
		return rc;
	vlan = json_object_get(params, "tag") != NULL ||
	       json_object_get(params, "trunks") != NULL;
	v = json_object_get(params, "tag");
	if (v != NULL && (rc = ctl_tag_param(v, &p, e)) < 0)
		return rc;
	v = json_object_get(params, "trunks");
	if (v != NULL && (rc = ctl_trunks_param(v, &p, e)) < 0)
		return rc;
	if (p.has_trunks && p.tag > 0 &&
	    !vsw_cfg_vlan_test(&p.trunks, (unsigned int)p.tag))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "native VLAN %d (tag) is not in the trunks "
				    "list: add it or clear the tag",
				    p.tag);
	if (!opts && !vlan)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "nothing to set: give \"options\", "
				    "\"tag\" or \"trunks\"");
	pend = vswd_pending_find(d, p.name);
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0 && vlan)
		rc = vsw_cfg_port_set_vlan(d->cfg, &p);
	if (rc == 0 && opts)
		rc = vsw_cfg_port_set_opts(d->cfg, &p);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	/*
	 * A pending port gets them when it opens: the rate options are
	 * checked now, its type's when it opens (the open says if bad).
	 */
	if (pend != NULL && opts)
		rc = ctl_pending_opts(&p, e);
	if (rc < 0) {
		vsw_cfg_rollback(d->cfg);
		return rc;
	}
	if (pend == NULL) {
		rc = ctl_port_apply(d, &old, &p, opts, vlan, e);
		if (rc < 0) {
			vsw_cfg_rollback(d->cfg);
			return rc;
		}
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		if (pend == NULL && vlan)
			vswd_port_set_vlan(d, &old, err, sizeof(err));
		if (pend == NULL && opts)
			vswd_port_set_opts(d, &old, err, sizeof(err));
		return rc;
	}
	if (pend != NULL)
		pend->port = p;
	vswd_log(d, VSW_LOG_INFO, "port %s %s changed", p.name,
		 opts ? (vlan ? "options and VLANs" : "options") : "VLANs");
	return 0;
}

/* ---- show -------------------------------------------------------------------- */

static int ctl_info_cb(const struct vsw_port_info *info, void *arg)
{
	json_t *map = arg;
	json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "link",
			      info->link_up ? "up" : "down", "status",
			      info->status, "rxq", (int)info->n_rxq, "txq",
			      (int)info->n_txq, "id", (int)info->id, "ofport",
			      (int)info->ofport);

	if (o == NULL || json_object_set_new(map, info->name, o) < 0)
		return -ENOMEM;
	return 0;
}

/* name -> {link, status, rxq, txq, id} for the ports of @bridge. */
static json_t *ctl_runtime(struct vswd *d, const char *bridge)
{
	json_t *map = json_object();

	if (map != NULL &&
	    vsw_switch_port_iter(d->sw, bridge, ctl_info_cb, map) < 0) {
		json_decref(map);
		return NULL;
	}
	return map;
}

struct ctl_show {
	struct vswd *d;
	json_t *ports;	 /* array being filled */
	json_t *runtime; /* ctl_runtime() of the bridge */
};

static json_t *ctl_port_json(struct vswd *d, const struct vsw_cfg_port *p,
			     json_t *runtime)
{
	char trunks[5 * (VSW_CFG_VLAN_MAX + 1)];
	struct vswd_pending *pend = vswd_pending_find(d, p->name);
	json_t *o, *opts, *rt;
	unsigned int i;

	opts = json_object();
	for (i = 0; opts != NULL && i < p->n_opts; i++)
		json_object_set_new(opts, p->opts[i].key,
				    json_string(p->opts[i].value));
	vsw_cfg_vlans_format(&p->trunks, trunks, sizeof(trunks));
	o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:o}", "name", p->name,
		      "type", p->type, "ofport", (int)p->ofport, "options",
		      opts ? opts : json_object(), "tag",
		      p->tag >= 0 ? json_integer(p->tag) : json_null(),
		      "trunks",
		      p->has_trunks ? json_string(trunks) : json_null());
	if (o == NULL)
		return NULL;
	rt = json_object_get(runtime, p->name);
	if (rt != NULL) {
		json_object_update(o, rt);
	} else {
		char status[300];

		snprintf(status, sizeof(status), "not open: %s (retrying)",
			 pend ? pend->why : "not in the switch");
		json_object_set_new(o, "link", json_string("down"));
		json_object_set_new(o, "status", json_string(status));
		json_object_set_new(o, "rxq", json_integer(0));
		json_object_set_new(o, "txq", json_integer(0));
	}
	return o;
}

static int ctl_show_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct ctl_show *s = opaque;
	json_t *o = ctl_port_json(s->d, p, s->runtime);

	if (o == NULL || json_array_append_new(s->ports, o) < 0)
		return -ENOMEM;
	return 0;
}

static int ctl_show_bridge(void *opaque, const char *name)
{
	json_t *bridges = opaque, *br;

	br = json_pack("{s:s, s:[]}", "name", name, "ports");
	if (br == NULL || json_array_append_new(bridges, br) < 0)
		return -ENOMEM;
	return 0;
}

static json_t *ctl_options_json(struct vswd *d)
{
	struct vsw_switch_config c;

	vsw_switch_get_config(d->sw, &c);
	return json_pack("{s:i, s:i, s:b, s:i}", "threads",
			 (int)vsw_switch_n_threads(d->sw), "ageing",
			 (int)c.ageing_s, "poll", c.force_poll, "spin",
			 (int)c.spin_us);
}

static int m_show(void *opaque, json_t *params, json_t **result,
		  struct vsw_rpc_err *e)
{
	static const char *const known[] = { NULL };
	struct vswd *d = opaque;
	json_t *bridges, *br, *out;
	size_t i;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	bridges = json_array();
	if (bridges == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	rc = vsw_cfg_bridge_foreach(d->cfg, ctl_show_bridge, bridges);
	json_array_foreach(bridges, i, br) {
		struct ctl_show s = { .d = d };
		const char *name = json_string_value(
			json_object_get(br, "name"));

		if (rc < 0)
			break;
		s.ports = json_object_get(br, "ports");
		s.runtime = ctl_runtime(d, name);
		rc = vsw_cfg_port_foreach(d->cfg, name, ctl_show_port, &s);
		json_decref(s.runtime);
	}
	if (rc < 0) {
		json_decref(bridges);
		return vsw_rpc_fail(e, 0, -rc, "cannot read the "
				    "configuration: %s", vsw_cfg_why(d->cfg));
	}
	out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "version",
			VSWD_VERSION, "db", d->db_path, "ctl", d->ctl_path,
			"run_dir", d->run_dir, "options", ctl_options_json(d),
			"bridges", bridges);
	if (out == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	*result = out;
	return 0;
}

static json_t *ctl_qstats_json(const struct vsw_queue_stats *q)
{
	json_t *drops = json_object();
	unsigned int r;

	for (r = 0; drops != NULL && r < VSW_DROP__COUNT; r++) {
		const char *name = vsw_drop_reason_name(r);

		if (name != NULL)
			json_object_set_new(drops, name,
					    json_integer((json_int_t)q->drops[r]));
	}
	return json_pack("{s:I, s:I, s:o}", "packets", (json_int_t)q->packets,
			 "bytes", (json_int_t)q->bytes, "drops",
			 drops ? drops : json_object());
}

/* "counters": the provider's own (vhostuser: IOTLB), when it has any. */
static void ctl_port_counters(struct vswd *d, const char *port, json_t *o)
{
	struct vsw_port_counter c[VSW_PORT_MAX_COUNTERS];
	json_t *cs;
	int i, n;

	n = vsw_switch_port_counters(d->sw, port, c, VSW_PORT_MAX_COUNTERS);
	if (n <= 0 || (cs = json_object()) == NULL)
		return;
	for (i = 0; i < n; i++)
		json_object_set_new(cs, c[i].name,
				    json_integer((json_int_t)c[i].value));
	json_object_set_new(o, "counters", cs);
}

static int ctl_stats_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct ctl_show *s = opaque;
	struct vsw_port_stats st;
	json_t *rt = json_object_get(s->runtime, p->name), *o;

	memset(&st, 0, sizeof(st));
	if (rt != NULL)
		vsw_switch_port_stats(s->d->sw, p->name, &st);
	o = json_pack("{s:s, s:s, s:i, s:s, s:o, s:o}", "name", p->name,
		      "type", p->type, "ofport", (int)p->ofport, "link",
		      rt ? json_string_value(json_object_get(rt, "link")) :
			   "down",
		      "rx", ctl_qstats_json(&st.rx), "tx",
		      ctl_qstats_json(&st.tx));
	if (o != NULL && rt != NULL)
		ctl_port_counters(s->d, p->name, o);
	if (o == NULL || json_array_append_new(s->ports, o) < 0)
		return -ENOMEM;
	return 0;
}

static int m_port_stats(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", NULL };
	struct vswd *d = opaque;
	struct ctl_show s = { .d = d };
	const char *br;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc < 0)
		return rc;
	s.ports = json_array();
	s.runtime = ctl_runtime(d, br);
	rc = s.ports && s.runtime ?
		     vsw_cfg_port_foreach(d->cfg, br, ctl_stats_port, &s) :
		     -ENOMEM;
	json_decref(s.runtime);
	if (rc < 0) {
		json_decref(s.ports);
		return vsw_rpc_fail(e, 0, -rc, "cannot read ports");
	}
	*result = json_pack("{s:s, s:o}", "bridge", br, "ports", s.ports);
	return 0;
}

/* ---- MAC table ------------------------------------------------------------ */

static int ctl_fdb_cb(const struct vsw_fdb_entry *fe, void *arg)
{
	char mac[18];
	json_t *o;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 fe->mac[0], fe->mac[1], fe->mac[2], fe->mac[3], fe->mac[4],
		 fe->mac[5]);
	o = json_pack("{s:s, s:i, s:s, s:i}", "port", fe->port, "vlan",
		      (int)fe->vlan, "mac", mac, "age", (int)fe->age_s);
	if (o == NULL || json_array_append_new(arg, o) < 0)
		return -ENOMEM;
	return 0;
}

static int m_fdb_show(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", NULL };
	struct vswd *d = opaque;
	const char *br;
	json_t *entries;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc < 0)
		return rc;
	entries = json_array();
	if (entries == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	rc = vsw_switch_fdb_dump(d->sw, br, ctl_fdb_cb, entries);
	if (rc < 0) {
		json_decref(entries);
		return vsw_rpc_fail(e, 0, -rc, "cannot read the MAC table of "
				    "'%s': %s", br, strerror(-rc));
	}
	*result = json_pack("{s:s, s:o}", "bridge", br, "entries", entries);
	return 0;
}

static int m_fdb_flush(void *opaque, json_t *params, json_t **result,
		       struct vsw_rpc_err *e)
{
	static const char *const known[] = { "bridge", NULL };
	struct vswd *d = opaque;
	const char *br;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, &br, e);
	if (rc < 0)
		return rc;
	rc = vsw_switch_fdb_flush(d->sw, br);
	if (rc == -ETIMEDOUT && vsw_switch_stuck(d->sw) != NULL)
		return vsw_rpc_fail(e, 0, -rc, "cannot flush '%s': %s", br,
				    vsw_switch_stuck(d->sw));
	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "cannot flush '%s': %s", br,
				    strerror(-rc));
	return 0;
}

/* ---- global options ---------------------------------------------------------- */

struct ctl_opt_val {
	const char *key;
	char text[32];	/* as stored */
	unsigned long num;
	bool given;
};

/* A value of option.set as text: a string, an integer or a boolean. */
static int ctl_opt_text(const char *key, json_t *v, char *buf, size_t len,
			struct vsw_rpc_err *e)
{
	if (json_is_string(v) && json_string_length(v) < len)
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "on" : "off");
	else
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "bad value for option '%s'", key);
	return 0;
}

static int ctl_opt_uint(struct ctl_opt_val *o, unsigned long min,
			unsigned long max, struct vsw_rpc_err *e)
{
	char *end;

	errno = 0;
	o->num = strtoul(o->text, &end, 10);
	if (errno || end == o->text || *end || o->text[0] == '-' ||
	    o->num < min || o->num > max)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "%s=%s: expected a number %lu..%lu",
				    o->key, o->text, min, max);
	snprintf(o->text, sizeof(o->text), "%lu", o->num);
	return 0;
}

static int m_option_set(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = { "options", NULL };
	struct vswd *d = opaque;
	struct ctl_opt_val v[4] = {
		{ .key = "threads" }, { .key = "ageing" }, { .key = "poll" },
		{ .key = "spin" }
	};
	struct vsw_switch_config old;
	unsigned int old_threads, i;
	char err[VSWD_ERR_MAX] = "";
	json_t *opts, *val;
	const char *key;
	int rc;

	(void)result;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	opts = json_object_get(params, "options");
	if (!json_is_object(opts) || json_object_size(opts) == 0)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "\"options\" must be a non-empty object "
				    "(threads, ageing, poll, spin)");
	json_object_foreach(opts, key, val) {
		for (i = 0; i < 4; i++)
			if (strcmp(key, v[i].key) == 0)
				break;
		if (i == 4)
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "unknown option '%.32s' (known: "
					    "threads, ageing, poll, spin)",
					    key);
		rc = ctl_opt_text(key, val, v[i].text, sizeof(v[i].text), e);
		if (rc < 0)
			return rc;
		v[i].given = true;
	}
	if (v[0].given &&
	    (rc = ctl_opt_uint(&v[0], 1, VSW_SWITCH_MAX_THREADS, e)) < 0)
		return rc;
	if (v[1].given &&
	    (rc = ctl_opt_uint(&v[1], 1, VSW_SWITCH_AGEING_MAX, e)) < 0)
		return rc;
	if (v[2].given) {
		if (strcmp(v[2].text, "on") && strcmp(v[2].text, "off"))
			return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
					    "poll=%s: expected on or off",
					    v[2].text);
	}
	if (v[3].given &&
	    (rc = ctl_opt_uint(&v[3], 0, VSW_SWITCH_SPIN_MAX_US, e)) < 0)
		return rc;

	vsw_switch_get_config(d->sw, &old);
	old_threads = vsw_switch_n_threads(d->sw);
	rc = vsw_cfg_begin(d->cfg);
	for (i = 0; rc == 0 && i < 4; i++)
		if (v[i].given)
			rc = vsw_cfg_option_set(d->cfg, v[i].key, v[i].text);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	rc = 0;
	if (v[0].given && v[0].num != old_threads)
		rc = vsw_switch_set_threads(d->sw, (unsigned int)v[0].num, err,
					    sizeof(err));
	if (rc == 0 && v[1].given)
		rc = vsw_switch_set_ageing(d->sw, (unsigned int)v[1].num, err,
					   sizeof(err));
	if (rc == 0 && v[3].given)
		rc = vsw_switch_set_spin(d->sw, (unsigned int)v[3].num, err,
					 sizeof(err));
	if (rc < 0)
		goto undo;
	if (v[2].given)
		vsw_switch_set_force_poll(d->sw, !strcmp(v[2].text, "on"));
	rc = vswd_commit(d, e);
	if (rc < 0)
		goto undo_switch;
	vswd_log(d, VSW_LOG_INFO, "options changed");
	return 0;
undo:
	vsw_cfg_rollback(d->cfg);
	vsw_rpc_fail(e, 0, -rc, "cannot set options: %s",
		     err[0] ? err : strerror(-rc));
undo_switch:
	if (vsw_switch_n_threads(d->sw) != old_threads)
		vsw_switch_set_threads(d->sw, old_threads, err, sizeof(err));
	vsw_switch_set_ageing(d->sw, old.ageing_s, err, sizeof(err));
	vsw_switch_set_spin(d->sw, old.spin_us, err, sizeof(err));
	vsw_switch_set_force_poll(d->sw, old.force_poll);
	return -e->errnum;
}

static int m_option_get(void *opaque, json_t *params, json_t **result,
			struct vsw_rpc_err *e)
{
	static const char *const known[] = { NULL };
	struct vswd *d = opaque;
	struct vsw_switch_config c;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	vsw_switch_get_config(d->sw, &c);
	*result = json_pack("{s:i, s:i, s:s, s:i}", "threads",
			    (int)vsw_switch_n_threads(d->sw), "ageing",
			    (int)c.ageing_s, "poll",
			    c.force_poll ? "on" : "off", "spin",
			    (int)c.spin_us);
	return 0;
}

static int m_version(void *opaque, json_t *params, json_t **result,
		     struct vsw_rpc_err *e)
{
	static const char *const known[] = { NULL };
	int rc;

	(void)opaque;
	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	*result = json_pack("{s:s}", "version", VSWD_VERSION);
	return 0;
}

/* VSW_RPC_READONLY: changes nothing; a read-only client may call it. */
#define RO VSW_RPC_READONLY
const struct vsw_rpc_method vswd_methods[] = {
	{ "bridge.add", m_bridge_add },
	{ "bridge.del", m_bridge_del },
	{ "port.add", m_port_add },
	{ "port.del", m_port_del },
	{ "port.set", m_port_set },
	{ "port.stats", m_port_stats, RO },
	{ "show", m_show, RO },
	{ "fdb.show", m_fdb_show, RO },
	{ "fdb.flush", m_fdb_flush },
	{ "option.set", m_option_set },
	{ "option.get", m_option_get, RO },
	{ "version", m_version, RO },
	{ "flow.add", vswd_m_flow_add },
	{ "flow.del", vswd_m_flow_del },
	{ "flow.mod", vswd_m_flow_mod },
	{ "flow.dump", vswd_m_flow_dump, RO },
	{ "dpif.stats", vswd_m_dpif_stats, RO },
	{ "pmd.stats", vswd_m_pmd_stats, RO },
	{ "pmd.stats.clear", vswd_m_pmd_stats_clear },
	{ "control.stats", vswd_m_ctl_stats, RO },
	{ "capture.start", vswd_m_capture_start },
	{ "capture.read", vswd_m_capture_read },
	{ "capture.stop", vswd_m_capture_stop },
	{ "log.set", vswd_m_log_set },
	{ "metrics", vswd_m_metrics, RO },
	{ "controller.set", vswd_m_controller_set },
	{ "controller.del", vswd_m_controller_del },
	{ "controller.get", vswd_m_controller_get, RO },
	{ "mirror.add", vswd_m_mirror_add },
	{ "mirror.del", vswd_m_mirror_del },
	{ "mirror.list", vswd_m_mirror_list, RO },
	{ "fail_mode.set", vswd_m_fail_mode_set },
	{ "fail_mode.del", vswd_m_fail_mode_del },
	{ "fail_mode.get", vswd_m_fail_mode_get, RO },
};
#undef RO
const size_t vswd_n_methods = sizeof(vswd_methods) / sizeof(vswd_methods[0]);
