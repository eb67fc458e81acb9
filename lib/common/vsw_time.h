/* SPDX-License-Identifier: MIT */
/*
 * Monotonic time for timeouts, deadlines and ageing: the tree's one copy
 * (never on the per-packet path; the coarse clock is cheap enough for a
 * per-burst or per-log-line read).
 */
#ifndef VSW_TIME_H
#define VSW_TIME_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds: only differences mean something. */
static inline uint64_t vsw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The same in microseconds, for budgets shorter than a millisecond. */
static inline uint64_t vsw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The same in nanoseconds (clock calibration, a TSC stand-in). */
static inline uint64_t vsw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC_COARSE in milliseconds (a tick's resolution). */
static inline uint64_t vsw_now_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif /* VSW_TIME_H */
