/* SPDX-License-Identifier: MIT */
/*
 * Acquire/release helpers for memory shared with another thread or process
 * (virtqueue rings in a memfd mapping). The fields are plain uapi structs,
 * not _Atomic objects, so these use the compiler's __atomic builtins, which
 * the C11 memory model defines for any naturally aligned scalar.
 *
 * Rule: every call site carries a comment naming the access it pairs with on
 * the other side. docs/concurrency.md lists the pairings.
 */
#ifndef VSW_ATOMIC_H
#define VSW_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

/* Load that later loads/stores cannot move above. */
#define vsw_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
/* Store that earlier loads/stores cannot move below. */
#define vsw_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Single-copy-atomic access with no ordering (a value the peer may change). */
#define vsw_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define vsw_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/*
 * Full fence: orders an earlier store before a later load (store-load), the
 * one ordering acquire/release cannot give. Needed where a side publishes an
 * index and then reads the peer's notification-suppression field.
 */
/*
 * A counter's add by its one writer thread; readers on other threads load
 * it with vsw_load_relaxed. Relaxed: readers want untorn values, no order
 * (and no locked instruction is paid for, unlike an atomic add).
 */
static inline void vsw_ctr_add(uint64_t *c, uint64_t v)
{
	vsw_store_relaxed(c, vsw_load_relaxed(c) + v);
}

static inline void vsw_fence_seq_cst(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

#endif /* VSW_ATOMIC_H */
