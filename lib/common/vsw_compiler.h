/* SPDX-License-Identifier: MIT */
/* Small compiler helpers shared by every layer of libvsw (never installed). */
#ifndef VSW_COMPILER_H
#define VSW_COMPILER_H

#define vsw_likely(x) __builtin_expect(!!(x), 1)
#define vsw_unlikely(x) __builtin_expect(!!(x), 0)
#define VSW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VSW_CACHE_LINE 64
#define VSW_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define VSW_COLD __attribute__((cold, noinline))

#endif /* VSW_COMPILER_H */
