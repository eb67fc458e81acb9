/* SPDX-License-Identifier: MIT */
/*
 * What vswctl's files share: vswctl.c (main, the one-call verbs) and
 * vswctl_capture.c (the capture verb's loop and pcapng writer).
 */
#ifndef VSWCTL_H
#define VSWCTL_H

#include "vsw_rpc.h"

/* Exit codes (docs/control.md). */
#define VSWCTL_OK 0
#define VSWCTL_ERR 1
#define VSWCTL_USAGE 2
#define VSWCTL_UNREACHABLE 3

/* @argc words of @argv joined by spaces ("" if none); NULL: no memory. */
char *ctl_join(char **argv, int argc);

/* What VERB does (vswctl_help.c), or NULL if it has no text. */
const char *ctl_help_text(const char *verb);

#define VSWCTL_CAPTURE_ARGS                                                    \
	"PORT [--direction in|out|both] [--count N] [--snaplen BYTES] "        \
	"[-w FILE|-] [FILTER]"

/*
 * Run `vswctl capture` with @argv[0] the verb and its @argc - 1 arguments
 * after it, against the control socket @ctl. Returns vswctl's exit code.
 */
int vswctl_capture(const char *ctl, int timeout_ms, char **argv, int argc);

/* add-mirror's params (vswctl_mirror.c); 0 or VSWCTL_USAGE. */
int vswctl_p_add_mirror(char **argv, int argc, json_t **out);
/* list-mirrors' output. */
void vswctl_print_mirrors(json_t *result);

#endif /* VSWCTL_H */
