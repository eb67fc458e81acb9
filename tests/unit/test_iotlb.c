/* SPDX-License-Identifier: MIT */
/*
 * Device IOTLB tables (lib/mem/iotlb.c): updates that overlap, merge,
 * wrap; invalidations that cut entries; lookups with permissions, misses
 * and segment limits; the size bound.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <vsw/iotlb.h>

#define HVA 0x7f0000000000ULL

static struct vsw_iotlb *upd(struct vsw_iotlb *old, uint64_t iova,
			     uint64_t size, uint64_t hva, uint32_t perm)
{
	struct vsw_iotlb *t = NULL;

	assert_int_equal(vsw_iotlb_update(old, iova, size, hva, perm, &t), 0);
	vsw_iotlb_free(old);
	return t;
}

static struct vsw_iotlb *inval(struct vsw_iotlb *old, uint64_t iova,
			       uint64_t size)
{
	struct vsw_iotlb *t = NULL;
	int ret = vsw_iotlb_invalidate(old, iova, size, &t);

	assert_true(ret == 0 || ret == 1);
	if (ret == 1) {
		assert_null(t);
		return old;
	}
	vsw_iotlb_free(old);
	return t;
}

/* The invariant every lookup relies on. */
static void check_sorted(const struct vsw_iotlb *t)
{
	uint32_t i;

	for (i = 0; t != NULL && i < t->n; i++) {
		assert_true(t->e[i].size > 0);
		assert_true(t->e[i].iova <= UINT64_MAX - t->e[i].size);
		assert_true(t->e[i].perm != 0);
		if (i > 0)
			assert_true(t->e[i - 1].iova + t->e[i - 1].size <=
				    t->e[i].iova);
	}
}

static void test_refused(void **state)
{
	struct vsw_iotlb *t = NULL;

	(void)state;
	assert_int_equal(vsw_iotlb_update(NULL, 0, 0, HVA, 1, &t), -EINVAL);
	assert_int_equal(vsw_iotlb_update(NULL, UINT64_MAX - 10, 4096, HVA,
					  1, &t),
			 -EINVAL);
	assert_int_equal(vsw_iotlb_update(NULL, 0, 4096, UINT64_MAX - 100,
					  1, &t),
			 -EINVAL);
	assert_int_equal(vsw_iotlb_update(NULL, 0, 4096, HVA, 0, &t), -EINVAL);
	assert_int_equal(vsw_iotlb_update(NULL, 0, 4096, HVA, 4, &t), -EINVAL);
	assert_int_equal(vsw_iotlb_update(NULL, 0, 4096, 0, 3, &t), -EINVAL);
	assert_null(t);
}

static void test_lookup_and_perm(void **state)
{
	struct vsw_iotlb *t = upd(NULL, 0x10000, 0x1000, HVA, VSW_IOTLB_R);
	struct iovec iov[4];
	uint64_t miss = 0;
	unsigned n = 0;
	int err = 0;

	(void)state;
	assert_ptr_equal(vsw_iotlb_translate(t, 0x10010, 16, VSW_IOTLB_R,
					     &err, &miss),
			 (void *)(uintptr_t)(HVA + 0x10));
	/* write through a read-only entry */
	assert_null(vsw_iotlb_translate(t, 0x10010, 16, VSW_IOTLB_W, &err,
					&miss));
	assert_int_equal(err, -EACCES);
	/* one byte past the entry: a miss at its end */
	assert_null(vsw_iotlb_translate(t, 0x10ff0, 0x20, VSW_IOTLB_R, &err,
					&miss));
	assert_int_equal(err, -ENOENT);
	assert_int_equal(miss, 0x11000);
	/* below it */
	assert_int_equal(vsw_iotlb_map_iov(t, 0xff00, 16, VSW_IOTLB_R, iov, 4,
					   &n, &miss),
			 -ENOENT);
	assert_int_equal(miss, 0xff00);
	assert_int_equal(n, 0);
	/* a wrapping range */
	assert_int_equal(vsw_iotlb_map_iov(t, UINT64_MAX - 4, 16, VSW_IOTLB_R,
					   iov, 4, &n, &miss),
			 -EFAULT);
	/* an empty table misses everything */
	assert_int_equal(vsw_iotlb_map_iov(NULL, 0x10000, 1, VSW_IOTLB_R, iov,
					   4, &n, &miss),
			 -ENOENT);
	assert_null(vsw_iotlb_find(NULL, 0));
	assert_false(vsw_iotlb_overlaps(NULL, 0, 1));
	vsw_iotlb_free(t);
}

static void test_merge_and_segments(void **state)
{
	struct vsw_iotlb *t;
	struct iovec iov[4];
	uint64_t miss;
	unsigned n = 0;

	(void)state;
	/* three pages, host-contiguous: one entry */
	t = upd(NULL, 0x20000, 0x1000, HVA, VSW_IOTLB_RW);
	t = upd(t, 0x22000, 0x1000, HVA + 0x2000, VSW_IOTLB_RW);
	assert_int_equal(t->n, 2);
	t = upd(t, 0x21000, 0x1000, HVA + 0x1000, VSW_IOTLB_RW);
	assert_int_equal(t->n, 1);
	assert_int_equal(t->e[0].size, 0x3000);
	/* the next page elsewhere in host memory: two segments */
	t = upd(t, 0x23000, 0x1000, HVA + 0x100000, VSW_IOTLB_RW);
	assert_int_equal(t->n, 2);
	assert_int_equal(vsw_iotlb_map_iov(t, 0x22f00, 0x200, VSW_IOTLB_W, iov,
					   4, &n, &miss),
			 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, (void *)(uintptr_t)(HVA + 0x2f00));
	assert_int_equal(iov[0].iov_len, 0x100);
	assert_ptr_equal(iov[1].iov_base, (void *)(uintptr_t)(HVA + 0x100000));
	assert_int_equal(iov[1].iov_len, 0x100);
	/* not contiguous in host memory: translate refuses */
	{
		int err = 0;

		assert_null(vsw_iotlb_translate(t, 0x22f00, 0x200,
						VSW_IOTLB_R, &err, &miss));
		assert_int_equal(err, -EFAULT);
	}
	/* no room for the second segment; *n unchanged */
	n = 3;
	assert_int_equal(vsw_iotlb_map_iov(t, 0x22f00, 0x200, VSW_IOTLB_W, iov,
					   4, &n, &miss),
			 -ENOBUFS);
	assert_int_equal(n, 3);
	/* different permission: no merge */
	t = upd(t, 0x24000, 0x1000, HVA + 0x101000, VSW_IOTLB_R);
	assert_int_equal(t->n, 3);
	check_sorted(t);
	vsw_iotlb_free(t);
}

static void test_overlap_newest_wins(void **state)
{
	struct vsw_iotlb *t;
	const struct vsw_iotlb_entry *e;

	(void)state;
	t = upd(NULL, 0x10000, 0x4000, HVA, VSW_IOTLB_RW);
	/* inside: the old one is cut in three */
	t = upd(t, 0x11000, 0x1000, HVA + 0x800000, VSW_IOTLB_R);
	assert_int_equal(t->n, 3);
	check_sorted(t);
	e = vsw_iotlb_find(t, 0x11800);
	assert_non_null(e);
	assert_int_equal(e->hva, HVA + 0x800000);
	assert_int_equal(e->perm, VSW_IOTLB_R);
	e = vsw_iotlb_find(t, 0x12000);
	assert_int_equal(e->hva, HVA + 0x2000);
	/* across several: all replaced, the ends trimmed */
	t = upd(t, 0x10800, 0x3000, HVA + 0x900000, VSW_IOTLB_W);
	check_sorted(t);
	assert_int_equal(vsw_iotlb_find(t, 0x10000)->size, 0x800);
	assert_int_equal(vsw_iotlb_find(t, 0x11000)->iova, 0x10800);
	assert_int_equal(vsw_iotlb_find(t, 0x11000)->hva, HVA + 0x900000);
	assert_int_equal(vsw_iotlb_find(t, 0x13900)->iova, 0x13800);
	assert_int_equal(vsw_iotlb_find(t, 0x13900)->hva, HVA + 0x3800);
	/* the same range again: replaced, not duplicated */
	t = upd(t, 0x10800, 0x3000, HVA + 0xa00000, VSW_IOTLB_W);
	assert_int_equal(t->n, 3);
	check_sorted(t);
	vsw_iotlb_free(t);
}

static void test_invalidate(void **state)
{
	struct vsw_iotlb *t, *same;

	(void)state;
	t = upd(NULL, 0x10000, 0x4000, HVA, VSW_IOTLB_RW);
	t = upd(t, 0x40000, 0x1000, HVA + 0x40000, VSW_IOTLB_RW);
	/* nothing there: no new table */
	same = inval(t, 0x30000, 0x1000);
	assert_ptr_equal(same, t);
	/* a hole in the middle */
	t = inval(t, 0x11000, 0x1000);
	assert_int_equal(t->n, 3);
	assert_null(vsw_iotlb_find(t, 0x11000));
	assert_non_null(vsw_iotlb_find(t, 0x10fff));
	assert_non_null(vsw_iotlb_find(t, 0x12000));
	assert_int_equal(vsw_iotlb_find(t, 0x12000)->hva, HVA + 0x2000);
	/* a wrapping size invalidates up to the top */
	t = inval(t, 0x12800, UINT64_MAX);
	assert_int_equal(t->n, 2);
	assert_null(vsw_iotlb_find(t, 0x40000));
	assert_int_equal(vsw_iotlb_find(t, 0x12000)->size, 0x800);
	/* size 0: the same */
	t = inval(t, 0, 0);
	assert_int_equal(t->n, 0);
	vsw_iotlb_free(t);
}

static void test_bounded(void **state)
{
	struct vsw_iotlb *t = NULL;
	uint64_t i, last = 0;

	(void)state;
	/* every other page (nothing merges), well past the bound */
	for (i = 0; i < VSW_IOTLB_MAX + 100; i++) {
		last = i * 0x2000;
		t = upd(t, last, 0x1000, HVA + last, VSW_IOTLB_R);
		assert_true(t->n <= VSW_IOTLB_MAX);
	}
	assert_int_equal(t->n, VSW_IOTLB_MAX);
	/* the newest entry is never the one evicted */
	assert_non_null(vsw_iotlb_find(t, last));
	check_sorted(t);
	vsw_iotlb_free(t);
}

static void test_publish(void **state)
{
	struct vsw_iotlb_dom d = {0};
	struct vsw_iotlb *t = upd(NULL, 0, 0x1000, HVA, VSW_IOTLB_R);

	(void)state;
	assert_null(vsw_iotlb_current(&d));
	assert_null(vsw_iotlb_publish(&d, t));
	assert_ptr_equal(vsw_iotlb_current(&d), t);
	assert_int_equal(t->gen, 1);
	assert_ptr_equal(vsw_iotlb_publish(&d, NULL), t);
	/* the same memory published again is a new generation */
	assert_null(vsw_iotlb_publish(&d, t));
	assert_int_equal(t->gen, 2);
	assert_ptr_equal(vsw_iotlb_publish(&d, NULL), t);
	vsw_iotlb_free(t);
	vsw_iotlb_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lookup_and_perm),
		cmocka_unit_test(test_merge_and_segments),
		cmocka_unit_test(test_overlap_newest_wins),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
