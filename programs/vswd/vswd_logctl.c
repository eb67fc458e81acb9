/* SPDX-License-Identifier: MIT */
/*
 * set-log-level: the method "log.set" {module?, level} changes the level
 * of one log module of vswd (vswd, switch, control) or of all, at run
 * time; not stored (the next start takes --log-level again). Answers
 * every module's level. Parameters checked against the names of
 * vswd_log.c; any client with full access.
 */
#include <errno.h>
#include <string.h>

#include "vsw_atomic.h"
#include "vswd.h"

void vswd_log_set_all(struct vswd *d, enum vsw_log_level level)
{
	unsigned int i;

	d->log_level = level;
	for (i = 0; i < VSWD_LOG__NMOD; i++)
		vsw_store_relaxed(&d->log_mod[i], (int)level);
}

int vswd_m_log_set(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e)
{
	static const char *const known[] = {"module", "level", NULL};
	struct vswd *d = opaque;
	const char *mod, *lvl;
	unsigned int i;
	json_t *levels;
	int rc, level, m = -1;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "level", true, &lvl, e);
	if (rc == 0)
		rc = vsw_rpc_param_str(params, "module", false, &mod, e);
	if (rc < 0)
		return rc;
	level = vswd_log_level_parse(lvl);
	if (level < 0)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "log level \"%.32s\": error, warning, "
				    "info or debug",
				    lvl);
	for (i = 0; mod != NULL && i < VSWD_LOG__NMOD; i++)
		if (strcmp(mod, vswd_log_module_name((int)i)) == 0)
			m = (int)i;
	if (mod != NULL && m < 0 && strcmp(mod, "all") != 0)
		return vsw_rpc_fail(e, VSW_RPC_INVALID_PARAMS, EINVAL,
				    "log module \"%.32s\": vswd, switch, "
				    "control or all",
				    mod);
	if (m < 0) {
		vswd_log_set_all(d, (enum vsw_log_level)level);
	} else {
		vsw_store_relaxed(&d->log_mod[m], level);
		if (m == VSWD_LOG_VSWD)
			d->log_level = (enum vsw_log_level)level;
	}
	vswd_log(d, VSW_LOG_INFO, "log level of %s: %s", mod ? mod : "all",
		 vswd_log_level_name(level));
	levels = json_object();
	for (i = 0; levels != NULL && i < VSWD_LOG__NMOD; i++)
		json_object_set_new(levels, vswd_log_module_name((int)i),
				    json_string(vswd_log_level_name(
					    vsw_load_relaxed(&d->log_mod[i]))));
	*result = json_pack("{s:o}", "levels", levels);
	return *result ? 0 : vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
}
