/* SPDX-License-Identifier: MIT */
/*
 * vswd's log: one line per message on stderr, with an sd-daemon priority
 * prefix when stderr is not a terminal (the journal files each line at its
 * level). Any thread may log: the switch logs from its data threads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vswd.h"

static const char *const vswd_level_names[] = {
	[VSW_LOG_ERR] = "error",
	[VSW_LOG_WARN] = "warning",
	[VSW_LOG_INFO] = "info",
	[VSW_LOG_DEBUG] = "debug",
};

/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int vswd_level_prio[] = {3, 4, 6, 7};

/*
 * Any thread (the switch logs from its data threads): one fprintf per line,
 * which stdio locks, and only fields that never change after start.
 */
void vswd_log(const struct vswd *d, enum vsw_log_level level, const char *fmt,
	      ...)
{
	char line[1024];
	va_list ap;

	if (level > d->log_level || level > VSW_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (d->log_prio)
		fprintf(stderr, "<%d>%s: %s\n", vswd_level_prio[level],
			vswd_level_names[level], line);
	else
		fprintf(stderr, "vswd: %s: %s\n", vswd_level_names[level],
			line);
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
