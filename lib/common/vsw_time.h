/* SPDX-License-Identifier: MIT */
/* Monotonic time for timeouts and deadlines (never on the packet path). */
#ifndef VSW_TIME_H
#define VSW_TIME_H

#include <time.h>

/* CLOCK_MONOTONIC in milliseconds: only differences mean something. */
static inline long long vsw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* VSW_TIME_H */
