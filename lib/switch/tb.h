/* SPDX-License-Identifier: MIT */
/*
 * A token bucket in bits (lib/switch only; pure: the caller gives the
 * time, so tests/unit/test_switch_tb.c checks it with a fake clock).
 *
 * Used for a port's ingress policing (ingress_policing_rate / _burst, in
 * Open vSwitch's units: kilobits of 1000 bits) and its egress max-rate
 * (bits per second). The bucket holds at most burst bits and starts full;
 * it fills at rate bits per second; a frame of len bytes passes if the
 * bucket holds at least 8 * len bits, which it then takes, else it is
 * dropped and takes nothing (a single-rate two-colour policer, as tc's
 * police action and OVS's DPDK policer are).
 *
 * The refill runs once per burst (sw_tb_refill), the take once per frame
 * (sw_tb_take: a compare and a subtraction). Fractions of a bit earned
 * between two refills are kept (frac), so a refill every microsecond at
 * any rate loses nothing to rounding. Callers serialize refill and take of
 * one bucket (a spinlock per burst, forward.c); the bucket itself has no
 * atomics.
 */
#ifndef SW_TB_H
#define SW_TB_H

#include <stdbool.h>
#include <stdint.h>

#define SW_TB_NS 1000000000ull

struct sw_tb {
	uint64_t rate;	  /* bits per second, > 0; immutable */
	uint64_t burst;	  /* bits, > 0; immutable */
	uint64_t tokens;  /* bits, 0 .. burst */
	uint64_t frac;	  /* bit-nanoseconds not yet a whole bit (< 1e9) */
	uint64_t last_ns; /* the time of the last refill */
};

/* A full bucket of rate bits/s and burst bits at time now_ns. */
static inline void sw_tb_init(struct sw_tb *tb, uint64_t rate, uint64_t burst,
			      uint64_t now_ns)
{
	tb->rate = rate;
	tb->burst = burst;
	tb->tokens = burst;
	tb->frac = 0;
	tb->last_ns = now_ns;
}

/*
 * Add what was earned since the last refill. A clock that went back (or
 * did not move) adds nothing; a gap long enough to fill the bucket fills
 * it without the multiplication overflowing.
 */
static inline void sw_tb_refill(struct sw_tb *tb, uint64_t now_ns)
{
	unsigned __int128 earned;
	uint64_t dt, room, add;

	if (now_ns <= tb->last_ns)
		return;
	dt = now_ns - tb->last_ns;
	tb->last_ns = now_ns;
	room = tb->burst - tb->tokens;
	earned = (unsigned __int128)tb->rate * dt + tb->frac;
	if (earned >= (unsigned __int128)room * SW_TB_NS) {
		tb->tokens = tb->burst;
		tb->frac = 0;
		return;
	}
	add = (uint64_t)(earned / SW_TB_NS);
	tb->frac = (uint64_t)(earned % SW_TB_NS);
	tb->tokens += add;
}

/* A frame of len bytes: true (taken from the bucket) or false (drop). */
static inline bool sw_tb_take(struct sw_tb *tb, uint32_t len)
{
	uint64_t need = (uint64_t)len * 8;

	if (need > tb->tokens)
		return false;
	tb->tokens -= need;
	return true;
}

/* Give back what frames taken but not sent took (at most to burst). */
static inline void sw_tb_refund(struct sw_tb *tb, uint64_t bytes)
{
	uint64_t bits = bytes * 8;

	tb->tokens = bits >= tb->burst - tb->tokens ? tb->burst
						    : tb->tokens + bits;
}

#endif /* SW_TB_H */
