/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the token bucket of ingress policing and egress max-rate
 * (lib/switch/tb.h) with a fake clock: starts full, drops what exceeds it,
 * refills at the rate without rounding loss, caps at the burst, ignores a
 * clock going back, does not overflow at 100 Gbit/s over a long gap, and
 * holds a long offered overload to the rate exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tb.h"

#define MS 1000000ull
#define S 1000000000ull

static void test_full_then_drop(void **state)
{
	struct sw_tb tb;
	unsigned i;

	(void)state;
	/* 1 Mbit/s, burst 12000 bits: ten 150-byte frames */
	sw_tb_init(&tb, 1000000, 12000, 5 * S);
	for (i = 0; i < 10; i++)
		assert_true(sw_tb_take(&tb, 150));
	assert_false(sw_tb_take(&tb, 150));
	assert_int_equal(tb.tokens, 0);
	/* a frame larger than the burst never passes */
	sw_tb_init(&tb, 1000000, 12000, 0);
	assert_false(sw_tb_take(&tb, 1501));
	assert_int_equal(tb.tokens, 12000);
	assert_true(sw_tb_take(&tb, 1500));
}

static void test_refill(void **state)
{
	struct sw_tb tb;

	(void)state;
	sw_tb_init(&tb, 1000000, 12000, 0);
	assert_true(sw_tb_take(&tb, 1500));
	assert_int_equal(tb.tokens, 0);
	/* 1 ms at 1 Mbit/s: 1000 bits */
	sw_tb_refill(&tb, 1 * MS);
	assert_int_equal(tb.tokens, 1000);
	/* the same time again, or earlier: nothing */
	sw_tb_refill(&tb, 1 * MS);
	sw_tb_refill(&tb, 0);
	assert_int_equal(tb.tokens, 1000);
	/* a long gap: full, not more */
	sw_tb_refill(&tb, 100 * S);
	assert_int_equal(tb.tokens, 12000);
	assert_int_equal(tb.frac, 0);
}

/* 3 bits/s refilled every 100 ms: 0.3 bit each, none lost. */
static void test_fractions(void **state)
{
	struct sw_tb tb;
	uint64_t t = 0;
	unsigned i;

	(void)state;
	sw_tb_init(&tb, 3, 1000, 0);
	tb.tokens = 0;
	for (i = 0; i < 100; i++) {
		t += 100 * MS;
		sw_tb_refill(&tb, t);
	}
	/* 10 s at 3 bit/s */
	assert_int_equal(tb.tokens, 30);
}

/* 100 Gbit/s, a burst of 2^40 bits, an hour's gap: no overflow. */
static void test_no_overflow(void **state)
{
	struct sw_tb tb;

	(void)state;
	sw_tb_init(&tb, 100000000000ull, 1ull << 40, 0);
	tb.tokens = 0;
	sw_tb_refill(&tb, 3600 * S);
	assert_true(tb.tokens == 1ull << 40);
	tb.tokens = 0;
	sw_tb_refill(&tb, 3600 * S + 1);
	assert_int_equal(tb.tokens, 100);
}

static void test_refund(void **state)
{
	struct sw_tb tb;

	(void)state;
	sw_tb_init(&tb, 1000, 8000, 0);
	assert_true(sw_tb_take(&tb, 600));
	sw_tb_refund(&tb, 100);
	assert_int_equal(tb.tokens, 8000 - 4800 + 800);
	sw_tb_refund(&tb, 100000);
	assert_int_equal(tb.tokens, 8000);
}

/*
 * Offered 4x the rate: a 1500-byte frame every 30 us of fake time, for
 * 10 s: what passed is the rate times the time plus the burst, within one
 * frame.
 */
static void test_overload(void **state)
{
	const uint64_t rate = 100000000; /* 100 Mbit/s */
	const uint64_t burst = 8000000;	 /* OVS's default: 8000 kbit */
	uint64_t t, passed = 0, offered = 0;
	struct sw_tb tb;

	(void)state;
	sw_tb_init(&tb, rate, burst, 0);
	for (t = 0; t < 10 * S; t += 30 * 1000) {
		sw_tb_refill(&tb, t);
		offered += 1500 * 8;
		if (sw_tb_take(&tb, 1500))
			passed += 1500 * 8;
	}
	assert_true(offered > 3 * rate * 10);
	assert_true(passed <= rate * 10 + burst);
	assert_true(passed + 1500 * 8 >= rate * 10 + burst - 30 * 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_then_drop),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_overload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
