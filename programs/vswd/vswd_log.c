/* SPDX-License-Identifier: MIT */
/*
 * vswd's log: one line per message on stderr, with an sd-daemon priority
 * prefix when stderr is not a terminal (the journal files each line at its
 * level). Any thread may log: the switch logs from its data threads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vsw_atomic.h"
#include "vswd.h"

static const char *const vswd_level_names[] = {
	[VSW_LOG_ERR] = "error",
	[VSW_LOG_WARN] = "warning",
	[VSW_LOG_INFO] = "info",
	[VSW_LOG_DEBUG] = "debug",
};

/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int vswd_level_prio[] = {3, 4, 6, 7};

static const char *const vswd_mod_names[VSWD_LOG__NMOD] = {
	[VSWD_LOG_VSWD] = "vswd",
	[VSWD_LOG_SWITCH] = "switch",
	[VSWD_LOG_CONTROL] = "control",
};

/*
 * Any thread (the switch logs from its data threads): one fprintf per line,
 * which stdio locks; the levels are read relaxed (set-log-level changes
 * them on the control thread; a message may still see the old level).
 */
static void vswd_vlog(const struct vswd *d, enum vswd_log_module mod,
		      enum vsw_log_level level, const char *fmt, va_list ap)
{
	char line[1024];

	if ((int)level > vsw_load_relaxed(&d->log_mod[mod]) ||
	    level > VSW_LOG_DEBUG)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (d->log_prio)
		fprintf(stderr, "<%d>%s: %s\n", vswd_level_prio[level],
			vswd_level_names[level], line);
	else
		fprintf(stderr, "vswd: %s: %s\n", vswd_level_names[level],
			line);
}

void vswd_log(const struct vswd *d, enum vsw_log_level level, const char *fmt,
	      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vswd_vlog(d, VSWD_LOG_VSWD, level, fmt, ap);
	va_end(ap);
}

void vswd_log_mod(const struct vswd *d, enum vswd_log_module mod,
		  enum vsw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vswd_vlog(d, mod, level, fmt, ap);
	va_end(ap);
}

const char *vswd_log_level_name(int level)
{
	return level >= 0 && level <= VSW_LOG_DEBUG ? vswd_level_names[level] :
						      "?";
}

const char *vswd_log_module_name(int mod)
{
	return mod >= 0 && mod < VSWD_LOG__NMOD ? vswd_mod_names[mod] : NULL;
}

int vswd_log_level_parse(const char *name)
{
	unsigned int i;

	for (i = 0; i <= VSW_LOG_DEBUG; i++)
		if (!strcmp(name, vswd_level_names[i]) ||
		    !strncmp(name, vswd_level_names[i], 3))
			return (int)i;
	return -1;
}
