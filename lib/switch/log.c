/* SPDX-License-Identifier: MIT */
/*
 * The switch's log lines (through cfg.log, a default to stderr) and its
 * error messages for the caller (err, err_len): leaves every other file
 * of lib/switch uses.
 */
#include <stdarg.h>
#include <stdio.h>

#include "switch_priv.h"

void sw_default_log(void *arg, enum vsw_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	(void)arg;
	fprintf(stderr, "vsw %s: %s\n",
		(unsigned)level < VSW_ARRAY_SIZE(names) ? names[level] : "?",
		msg);
}

void sw_log(const struct vsw_switch *sw, enum vsw_log_level level,
	    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sw->cfg.log(sw->cfg.log_arg, level, msg);
}

void sw_err_clear(char *err, size_t err_len)
{
	if (err != NULL && err_len != 0)
		err[0] = '\0';
}
