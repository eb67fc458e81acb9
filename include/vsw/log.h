/* SPDX-License-Identifier: MIT */
/*
 * vsw/log.h: the one set of log levels, shared by every module that hands
 * lines to its caller (the switch and its ports, the vhost-user back end,
 * the virtio-net device over vhost-user). The numbers follow syslog's
 * order; a program maps them to its own output (vswd: sd-daemon
 * priorities).
 */
#ifndef VSW_LOG_H
#define VSW_LOG_H

enum vsw_log_level {
	VSW_LOG_ERR = 0,   /* something was refused or closed */
	VSW_LOG_WARN = 1,
	VSW_LOG_INFO = 2,  /* state changes: connect, link, ports */
	VSW_LOG_DEBUG = 3, /* every message */
};

#endif /* VSW_LOG_H */
