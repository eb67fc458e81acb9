/* SPDX-License-Identifier: MIT */
/*
 * vswd's port mirrors: the JSON-RPC methods mirror.add, mirror.del and
 * mirror.list, and their restore at start. The switch does the mirroring
 * (lib/switch/mirror.c); the store keeps each mirror as its request's
 * settings in canonical JSON (vsw_cfg_mirror_set), so that a restart
 * adds exactly what was added. One change, one transaction, in the order
 * vswd_ctl.c describes.
 *
 * Requests come from any local client allowed on the socket: every member
 * is checked (type, range, names, that the ports are stored on the bridge)
 * before it reaches the store or the switch. A stored mirror naming a port
 * deleted since is kept (and shown inactive or its port missing), as Open
 * vSwitch does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

#define MIR_PORTS_MAX 256 /* names in one select list */

/* A mirror's settings, pointing into the JSON they came from. */
struct mir {
	const char *src[MIR_PORTS_MAX], *dst[MIR_PORTS_MAX];
	uint16_t vlans[VSW_CFG_VLAN_MAX + 1];
	struct vsw_mirror_config c;
};

/* The settings' members (those of mirror.add but bridge and mirror). */
static const char *const mir_keys[] = {
	"select_src_port", "select_dst_port", "select_vlan", "select_all",
	"output_port",	   "output_vlan",     NULL,
};

/* A port list member; check_store: each a port stored on @bridge. */
static int mir_ports(struct vswd *d, const char *bridge, json_t *o,
		     const char *key, bool check_store, const char **out,
		     unsigned *n, struct vsw_rpc_err *e)
{
	json_t *a = json_object_get(o, key), *v;
	struct vsw_cfg_port p;
	size_t i;
	int rc;

	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MIR_PORTS_MAX)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "%s: a list of at most %d port names", key,
				    MIR_PORTS_MAX);
	json_array_foreach(a, i, v)
	{
		const char *name = json_string_value(v);

		if (name == NULL || !vsw_cfg_name_valid(name))
			return vswd_bad_name(e, "port", name ? name : "");
		if (check_store) {
			rc = vsw_cfg_port_get(d->cfg, name, &p);
			if (rc == -ENOENT)
				return vsw_rpc_fail(e, 0, ENOENT,
						    "%s: no port '%s'", key,
						    name);
			if (rc < 0)
				return vsw_rpc_fail(e, 0, -rc, "%s",
						    vsw_cfg_why(d->cfg));
			if (strcmp(p.bridge, bridge) != 0)
				return vsw_rpc_fail(
					e, 0, ENOENT,
					"%s: port '%s' is on bridge "
					"'%s', not '%s'",
					key, name, p.bridge, bridge);
		}
		out[(*n)++] = name;
	}
	return 0;
}

/* An integer member in lo..hi (0 when absent). */
static int mir_int(json_t *v, const char *key, json_int_t lo, json_int_t hi,
		   json_int_t *out, struct vsw_rpc_err *e)
{
	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "%s: an integer %lld..%lld", key,
				    (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return 0;
}

/*
 * Check mirror @name's settings @o (the mirror.add members) into @m.
 * check_store: the ports must be stored on @bridge (a request; a stored
 * mirror may name ports deleted since).
 */
static int mir_parse(struct vswd *d, const char *bridge, const char *name,
		     json_t *o, bool check_store, struct mir *m,
		     struct vsw_rpc_err *e)
{
	json_t *vl = json_object_get(o, "select_vlan"), *v;
	json_t *all = json_object_get(o, "select_all");
	const char *out = NULL;
	struct vsw_cfg_port p;
	json_int_t x;
	size_t i;
	int rc;

	memset(&m->c, 0, sizeof(m->c));
	if (!vsw_cfg_name_valid(name))
		return vswd_bad_name(e, "mirror", name);
	m->c.name = name;
	rc = mir_ports(d, bridge, o, "select_src_port", check_store, m->src,
		       &m->c.n_src, e);
	if (rc == 0)
		rc = mir_ports(d, bridge, o, "select_dst_port", check_store,
			       m->dst, &m->c.n_dst, e);
	if (rc < 0)
		return rc;
	m->c.src = m->src;
	m->c.dst = m->dst;
	if (all != NULL && !json_is_boolean(all))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "select_all: true or false");
	m->c.select_all = all != NULL && json_is_true(all);
	if (vl != NULL &&
	    (!json_is_array(vl) || json_array_size(vl) > VSW_CFG_VLAN_MAX + 1))
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "select_vlan: a list of VLAN ids");
	json_array_foreach(vl, i, v)
	{
		rc = mir_int(v, "select_vlan", 0, VSW_CFG_VLAN_MAX, &x, e);
		if (rc < 0)
			return rc;
		m->vlans[m->c.n_vlans++] = (uint16_t)x;
	}
	m->c.vlans = m->vlans;
	if (json_object_get(o, "output_port") != NULL) {
		rc = vsw_rpc_param_str(o, "output_port", true, &out, e);
		if (rc < 0)
			return rc;
		if (!vsw_cfg_name_valid(out))
			return vswd_bad_name(e, "port", out);
		rc = check_store ? vsw_cfg_port_get(d->cfg, out, &p) : 0;
		if (rc == -ENOENT)
			return vsw_rpc_fail(e, 0, ENOENT,
					    "output_port: no port '%s'", out);
		if (rc < 0)
			return vsw_rpc_fail(e, 0, -rc, "%s",
					    vsw_cfg_why(d->cfg));
		if (check_store && strcmp(p.bridge, bridge) != 0)
			return vsw_rpc_fail(e, 0, ENOENT,
					    "output_port: port '%s' is on "
					    "bridge '%s', not '%s'",
					    out, p.bridge, bridge);
		m->c.output_port = out;
	}
	rc = mir_int(json_object_get(o, "output_vlan"), "output_vlan", 1, 4094,
		     &x, e);
	if (rc < 0)
		return rc;
	m->c.output_vlan = (uint16_t)x;
	return 0;
}

/* Only @known; "bridge" a stored bridge, "mirror" a valid name. */
static int mir_params(struct vswd *d, json_t *params, const char *const *known,
		      const char **br, const char **name, struct vsw_rpc_err *e)
{
	int rc = vsw_rpc_params_only(params, known, e);

	if (rc == 0)
		rc = vswd_bridge_param(d, params, true, br, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "mirror", true, name, e);
	if (rc == 0 && !vsw_cfg_name_valid(*name))
		rc = vswd_bad_name(e, "mirror", *name);
	return rc;
}

/* The switch's words as the answer (-EINVAL: bad params). */
static int mir_switch_fail(struct vsw_rpc_err *e, int rc, const char *name,
			   const char *err)
{
	return vsw_rpc_fail(e, rc == -EINVAL ? VSW_RPC_INVALID_PARAMS : 0, -rc,
			    "cannot add mirror '%s': %s", name,
			    err[0] ? err : strerror(-rc));
}

int vswd_m_mirror_add(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = {
		"bridge",	   "mirror",	  "select_src_port",
		"select_dst_port", "select_vlan", "select_all",
		"output_port",	   "output_vlan", NULL,
	};
	struct vswd *d = opaque;
	char err[VSWD_ERR_MAX] = "", *text = NULL;
	const char *br, *name;
	json_t *set = NULL;
	struct mir *m;
	size_t i;
	int rc;

	(void)result;
	rc = mir_params(d, params, known, &br, &name, e);
	if (rc < 0)
		return rc;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	rc = mir_parse(d, br, name, params, true, m, e);
	if (rc < 0)
		goto out;
	/* the stored form: the settings members only, canonical */
	set = json_object();
	for (i = 0; set != NULL && mir_keys[i] != NULL; i++) {
		json_t *v = json_object_get(params, mir_keys[i]);

		if (v != NULL)
			json_object_set(set, mir_keys[i], v);
	}
	text = set != NULL ? json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS)
			   : NULL;
	if (text == NULL) {
		rc = vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
		goto out;
	}
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_mirror_set(d->cfg, br, name, text);
	if (rc < 0) {
		rc = vswd_cfg_fail(d, e, rc);
		goto out;
	}
	rc = vsw_switch_mirror_add(d->sw, br, &m->c, err, sizeof(err));
	if (rc < 0) {
		vsw_cfg_rollback(d->cfg);
		rc = mir_switch_fail(e, rc, name, err);
		goto out;
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		vsw_switch_mirror_del(d->sw, br, name, err, sizeof(err));
		goto out;
	}
	vswd_log(d, VSW_LOG_INFO, "bridge %s: mirror %s added", br, name);
out:
	free(text);
	json_decref(set);
	free(m);
	return rc;
}

/* Add stored mirror @name of @bridge (@spec) to the switch; logs. */
static int mir_apply(struct vswd *d, const char *bridge, const char *name,
		     const char *spec)
{
	char err[VSWD_ERR_MAX] = "";
	struct vsw_rpc_err e = {0};
	json_t *o = json_loads(spec, 0, NULL);
	struct mir *m = calloc(1, sizeof(*m));
	const char *why = err;
	int rc = -EILSEQ;

	if (m == NULL) {
		rc = -ENOMEM;
		why = strerror(ENOMEM);
	} else if (o == NULL || !json_is_object(o)) {
		why = "the stored settings are not a JSON object";
	} else if (vsw_rpc_params_only(o, mir_keys, &e) < 0 ||
		   mir_parse(d, bridge, name, o, false, m, &e) < 0) {
		why = e.message;
	} else {
		rc = vsw_switch_mirror_add(d->sw, bridge, &m->c, err,
					   sizeof(err));
	}
	if (rc < 0)
		vswd_log(d, VSW_LOG_ERR,
			 "mirror %s of bridge %s not restored: %s", name,
			 bridge, why);
	json_decref(o);
	free(m);
	return rc;
}

int vswd_m_mirror_del(void *opaque, json_t *params, json_t **result,
		      struct vsw_rpc_err *e)
{
	static const char *const known[] = {"bridge", "mirror", NULL};
	struct vswd *d = opaque;
	/* the stored settings, for the undo */
	char err[VSWD_ERR_MAX] = "", spec[VSW_CFG_MIRROR_MAX + 1];
	const char *br, *name;
	int rc;

	(void)result;
	rc = mir_params(d, params, known, &br, &name, e);
	if (rc < 0)
		return rc;
	rc = vsw_cfg_mirror_get(d->cfg, br, name, spec, sizeof(spec));
	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	if (spec[0] == '\0')
		return vsw_rpc_fail(e, 0, ENOENT,
				    "bridge '%s' has no mirror '%s'", br, name);
	rc = vsw_cfg_begin(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_mirror_del(d->cfg, br, name);
	if (rc < 0)
		return vswd_cfg_fail(d, e, rc);
	/* -ENOENT: stored but never restored (logged then); just forget it */
	rc = vsw_switch_mirror_del(d->sw, br, name, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT) {
		vsw_cfg_rollback(d->cfg);
		return vsw_rpc_fail(e, 0, -rc, "cannot delete mirror '%s': %s",
				    name, err[0] ? err : strerror(-rc));
	}
	rc = vswd_commit(d, e);
	if (rc < 0) {
		(void)mir_apply(d, br, name, spec);
		return rc;
	}
	vswd_log(d, VSW_LOG_INFO, "bridge %s: mirror %s deleted", br, name);
	return 0;
}

static int mir_restore_cb(void *opaque, const char *bridge, const char *name,
			  const char *spec)
{
	(void)mir_apply(opaque, bridge, name, spec);
	return 0; /* one bad mirror never stops the others */
}

int vswd_mirrors_restore(struct vswd *d)
{
	return vsw_cfg_mirror_foreach(d->cfg, NULL, mir_restore_cb, d);
}

/* A list of names as a JSON array. */
static json_t *mir_names(const char *const *names, unsigned n)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

static int mir_list_cb(const struct vsw_mirror_info *info, void *arg)
{
	const struct vsw_mirror_config *c = info->cfg;
	json_t *vl = json_array(), *o;
	unsigned i;

	for (i = 0; vl != NULL && i < c->n_vlans; i++)
		json_array_append_new(vl, json_integer(c->vlans[i]));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:s, s:I, s:I, "
		      "s:I}",
		      "name", c->name, "bridge", info->bridge,
		      "select_src_port", mir_names(c->src, c->n_src),
		      "select_dst_port", mir_names(c->dst, c->n_dst),
		      "select_vlan", vl, "select_all", c->select_all, "active",
		      info->active, "status", info->status, "packets",
		      (json_int_t)info->packets, "bytes",
		      (json_int_t)info->bytes, "drops",
		      (json_int_t)info->drops);
	if (o == NULL)
		return -ENOMEM;
	if (c->output_port != NULL)
		json_object_set_new(o, "output_port",
				    json_string(c->output_port));
	else
		json_object_set_new(o, "output_vlan",
				    json_integer(c->output_vlan));
	return json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int vswd_m_mirror_list(void *opaque, json_t *params, json_t **result,
		       struct vsw_rpc_err *e)
{
	static const char *const known[] = {"bridge", NULL};
	struct vswd *d = opaque;
	const char *br = NULL;
	json_t *arr;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vswd_bridge_param(d, params, false, &br, e);
	if (rc < 0)
		return rc;
	arr = json_array();
	if (arr == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	rc = vsw_switch_mirror_iter(d->sw, br, mir_list_cb, arr);
	if (rc < 0) {
		json_decref(arr);
		return vsw_rpc_fail(e, 0, -rc, "listing mirrors: %s",
				    strerror(-rc));
	}
	*result = json_pack("{s:o}", "mirrors", arr);
	return 0;
}
