/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the adaptive spin window of idle data threads
 * (lib/switch/spin.h), without timing: growth after short sleeps, shrink
 * after long ones, the bounds, and cap 0 (no spin, the old behaviour).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spin.h"

#define BASE 50
#define CAP 2000

/* The first window is the base (the thread starts with next(0, 0)). */
static void test_start(void **state)
{
	(void)state;
	assert_int_equal(sw_spin_next(0, 0, BASE, CAP), BASE);
	/* a cap below the base: the cap */
	assert_int_equal(sw_spin_next(0, 0, BASE, 20), 20);
}

/* Traffic soon after the last packet (within the cap): double. */
static void test_grow(void **state)
{
	uint64_t w = BASE;

	(void)state;
	w = sw_spin_next(w, BASE + 1, BASE, CAP);
	assert_int_equal(w, 2 * BASE);
	/* a sleep of 1 ms (1000/s): grows until it covers the gap */
	while (w < 1000)
		w = sw_spin_next(w, 1000, BASE, CAP);
	assert_int_equal(w, 1600);
	/* then no sleep happens; a gap inside the window changes nothing */
	assert_int_equal(sw_spin_next(w, 1000, BASE, CAP), 1600);
	/* at the cap: a gap exactly the cap still grows, clamped */
	assert_int_equal(sw_spin_next(w, CAP, BASE, CAP), CAP);
	assert_int_equal(sw_spin_next(CAP, CAP, BASE, CAP), CAP);
	/* from 0 (after cap was 0, then raised) */
	assert_int_equal(sw_spin_next(0, 10, BASE, CAP), BASE);
}

/*
 * Traffic after a sleep longer than the cap: shrink by 1/8 (not 1/2, see
 * spin.h), down to the base.
 */
static void test_shrink(void **state)
{
	uint64_t w = CAP;
	unsigned n = 0;

	(void)state;
	assert_int_equal(sw_spin_next(w, CAP + 1, BASE, CAP), CAP - CAP / 8);
	while (w > BASE) {
		w = sw_spin_next(w, 50000, BASE, CAP);
		n++;
		assert_true(n < 40);
	}
	assert_int_equal(w, BASE);
	assert_true(n >= 25 && n <= 30); /* ln(40) / ln(8/7) = 27.6 */
	assert_int_equal(sw_spin_next(w, 50000, BASE, CAP), BASE);
	/* a window above a lowered cap comes down to it */
	assert_int_equal(sw_spin_next(1600, 100, BASE, 500), 500);
	assert_int_equal(sw_spin_next(1600, 100000, BASE, 500), 500);
}

/* cap 0: never a window, whatever happened (sleep after idle_polls). */
static void test_cap0(void **state)
{
	(void)state;
	assert_int_equal(sw_spin_next(0, 0, BASE, 0), 0);
	assert_int_equal(sw_spin_next(0, 10, BASE, 0), 0);
	assert_int_equal(sw_spin_next(0, 100000, BASE, 0), 0);
	assert_int_equal(sw_spin_next(1600, 10, BASE, 0), 0);
}

/* 1000/s then 20/s, like bench/compare's probes: up, then back down. */
static void test_rate_change(void **state)
{
	uint64_t w = sw_spin_next(0, 0, BASE, CAP);
	unsigned i;

	(void)state;
	for (i = 0; i < 10; i++)
		if (w < 990)
			w = sw_spin_next(w, 990, BASE, CAP);
	assert_true(w >= 990 && w <= CAP);
	for (i = 0; i < 40; i++)
		w = sw_spin_next(w, w + 50000, BASE, CAP);
	assert_int_equal(w, BASE);
}

/*
 * 1000/s with a stall of the sender now and then (a gap > cap, then gaps
 * of 990 again): the window that covered 990 survives most stalls.
 */
static void test_stalls(void **state)
{
	uint64_t w = 1600;
	unsigned i, sleeps = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		/* a stall every 5th gap; a sleep only where w < gap */
		uint64_t gap = i % 5 == 0 ? 4000 : 990;

		if (gap <= w)
			continue;
		w = sw_spin_next(w, gap, BASE, CAP);
		sleeps += gap == 990;
	}
	/* 20 stalls; a probe slept after every ~4th of them, not every one */
	assert_true(sleeps <= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_cap0),
		cmocka_unit_test(test_rate_change),
		cmocka_unit_test(test_stalls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
