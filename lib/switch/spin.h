/* SPDX-License-Identifier: MIT */
/*
 * The adaptive spin window of an idle data thread (lib/switch only; pure,
 * so tests/unit/test_switch_spin.c checks it without timing).
 *
 * After its last packet a thread keeps polling for a window w before it
 * sleeps (and only after idle_polls empty polls, the older rule). The
 * window adapts like Linux cpuidle-haltpoll / KVM halt polling: a sleep
 * that traffic ended soon after the last packet means a longer spin would
 * have caught the traffic without paying for a wake-up (tens of us in a
 * VM); a sleep longer than the cap means no spin we allow would have.
 */
#ifndef SW_SPIN_H
#define SW_SPIN_H

#include <stdint.h>

/* The window a thread starts with and never shrinks below, us. */
#define SW_SPIN_BASE_US 50
/*
 * A long sleep takes 1/SW_SPIN_SHRINK_DIV off the window. Not /2 (the
 * haltpoll default): one scheduler stall of the peer (milliseconds on a
 * busy host) would then halve a window that covers steady 1 ms gaps, and
 * the next probe would pay a wake-up; with 1/8 it takes ~5 stalls in a row
 * without a short sleep in between. Sparse traffic still gets back to the
 * base in ~28 sleeps (1.4 s at 20 packets/s), and at such rates the window
 * costs CPU, not latency.
 */
#define SW_SPIN_SHRINK_DIV 8

/*
 * The window after a sleep that traffic ended (rxq kicked, or had work when
 * armed). All values in the same unit (TSC cycles in pmd.c). w: the window
 * before; gap: from the last packet to the wake-up (the spin plus the
 * sleep); base: the smallest window; cap: the largest, 0 for no spin.
 *  - gap > cap: no allowed window would have caught it: shrink w by
 *    1/SW_SPIN_SHRINK_DIV;
 *  - w < gap <= cap: a longer spin would have: double w;
 *  - gap <= w (the window changed meanwhile): keep it;
 * the result clamped to base .. cap (base is cut to cap).
 */
static inline uint64_t sw_spin_next(uint64_t w, uint64_t gap, uint64_t base,
				    uint64_t cap)
{
	if (base > cap)
		base = cap;
	if (gap > cap)
		w -= w / SW_SPIN_SHRINK_DIV;
	else if (gap > w)
		w *= 2;
	if (w < base)
		w = base;
	if (w > cap)
		w = cap;
	return w;
}

#endif /* SW_SPIN_H */
