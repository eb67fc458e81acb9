/* SPDX-License-Identifier: MIT */
/*
 * What every JSON-RPC method file of vswd shares: checking a bridge
 * parameter, turning a store error into the answer, and the commit that
 * ends a change (see vswd_ctl.c, "one change, one transaction").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

/* ---- helpers ------------------------------------------------------------- */

int vswd_bad_name(struct vsw_rpc_err *e, const char *what, const char *name)
{
	return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
			    "invalid %s name '%.64s': use 1..%d letters, "
			    "digits, '_', '.' or '-' (not first)",
			    what, name, VSW_CFG_NAME_MAX);
}

/* Store error into the answer: -EEXIST/-ENOENT/... keep their errno. */
int vswd_cfg_fail(struct vswd *d, struct vsw_rpc_err *e, int rc)
{
	vsw_cfg_rollback(d->cfg);
	return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
}

int vswd_commit(struct vswd *d, struct vsw_rpc_err *e)
{
	int rc = vsw_cfg_commit(d->cfg);

	if (rc < 0) {
		vswd_log(d, VSW_LOG_ERR, "configuration not saved: %s",
			 vsw_cfg_why(d->cfg));
		return vsw_rpc_fail(e, 0, -rc,
				    "configuration not saved (%s); the "
				    "change was undone",
				    vsw_cfg_why(d->cfg));
	}
	return 0;
}

int vswd_bridge_name_param(json_t *params, const char **bridge,
			   struct vsw_rpc_err *e)
{
	int rc = vsw_rpc_param_str(params, "bridge", true, bridge, e);

	if (rc < 0)
		return rc;
	if (!vsw_cfg_name_valid(*bridge))
		return vswd_bad_name(e, "bridge", *bridge);
	return 0;
}

int vswd_need_bridge(struct vswd *d, const char *bridge, struct vsw_rpc_err *e)
{
	int rc = vsw_cfg_bridge_exists(d->cfg, bridge);

	if (rc < 0)
		return vsw_rpc_fail(e, 0, -rc, "%s", vsw_cfg_why(d->cfg));
	if (rc == 0)
		return vsw_rpc_fail(e, 0, ENOENT, "no bridge '%s'", bridge);
	return 0;
}

int vswd_bridge_param(struct vswd *d, json_t *params, bool required,
		      const char **br, struct vsw_rpc_err *e)
{
	int rc = vsw_rpc_param_str(params, "bridge", required, br, e);

	if (rc < 0 || *br == NULL)
		return rc;
	if (!vsw_cfg_name_valid(*br))
		return vswd_bad_name(e, "bridge", *br);
	return vswd_need_bridge(d, *br, e);
}
