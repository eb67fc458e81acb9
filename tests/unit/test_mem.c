/* SPDX-License-Identifier: MIT */
/* Unit tests: the guest memory region table (lib/mem). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <vsw/mem.h>

#include "th_mem.h"

static char host_a[8192], host_b[8192];

static void test_add_sorted_and_overlap(void **state)
{
	struct vsw_mem m;

	(void)state;
	vsw_mem_init(&m);
	assert_int_equal(vsw_mem_add(&m, 0x20000, 0x1000, host_b, 0), 0);
	assert_int_equal(vsw_mem_add(&m, 0x10000, 0x1000, host_a, 0), 0);
	assert_int_equal(m.nregions, 2);
	assert_true(m.regions[0].gpa < m.regions[1].gpa);
	/* overlaps: inside, straddling start, straddling end, covering */
	assert_int_equal(vsw_mem_add(&m, 0x10800, 0x10, host_a, 0), -EINVAL);
	assert_int_equal(vsw_mem_add(&m, 0xf800, 0x1000, host_a, 0), -EINVAL);
	assert_int_equal(vsw_mem_add(&m, 0x1f800, 0x1000, host_a, 0), -EINVAL);
	assert_int_equal(vsw_mem_add(&m, 0x0, 0x100000, host_a, 0), -EINVAL);
	/* touching is fine */
	assert_int_equal(vsw_mem_add(&m, 0x11000, 0x1000, host_b, 0), 0);
	/* size 0, wrap of gpa and of hva, NULL hva */
	assert_int_equal(vsw_mem_add(&m, 0x50000, 0, host_a, 0), -EINVAL);
	assert_int_equal(vsw_mem_add(&m, UINT64_MAX - 0xff, 0x1000, host_a, 0),
			 -EINVAL);
	assert_int_equal(vsw_mem_add(&m, 0x50000, 0x1000,
				     (void *)(uintptr_t)(UINT64_MAX - 0xff), 0),
			 -EINVAL);
	assert_int_equal(vsw_mem_add(&m, 0x50000, 0x1000, NULL, 0), -EINVAL);
	assert_int_equal(m.nregions, 3);
	assert_int_equal(vsw_mem_remove(&m, 0x11000, 0x1000), 0);
	assert_int_equal(vsw_mem_remove(&m, 0x11000, 0x1000), -ENOENT);
	assert_int_equal(vsw_mem_remove(&m, 0x10000, 0x800), -ENOENT);
	assert_int_equal(m.nregions, 2);
}

static void test_table_full(void **state)
{
	struct vsw_mem m;
	unsigned i;

	(void)state;
	vsw_mem_init(&m);
	for (i = 0; i < VSW_MEM_MAX_REGIONS; i++)
		assert_int_equal(vsw_mem_add(&m, i * 0x1000ULL, 0x1000, host_a,
					     0),
				 0);
	assert_int_equal(vsw_mem_add(&m, 0x1000000, 0x1000, host_a, 0),
			 -ENOSPC);
}

static void test_translate_bounds(void **state)
{
	struct vsw_mem m;

	(void)state;
	vsw_mem_init(&m);
	assert_int_equal(vsw_mem_add(&m, 0x10000, 0x1000, host_a, 0), 0);
	assert_ptr_equal(vsw_mem_translate(&m, 0x10000, 0x1000), host_a);
	assert_ptr_equal(vsw_mem_translate(&m, 0x10ff0, 0x10), host_a + 0xff0);
	assert_null(vsw_mem_translate(&m, 0x10ff0, 0x11));
	assert_null(vsw_mem_translate(&m, 0xffff, 2));
	assert_null(vsw_mem_translate(&m, 0x11000, 1));
	assert_null(vsw_mem_translate(&m, 0x10000, UINT64_MAX));
	assert_null(vsw_mem_translate(&m, UINT64_MAX, 2));
	/* len 0 counts as one byte */
	assert_null(vsw_mem_translate(&m, 0x11000, 0));
	assert_ptr_equal(vsw_mem_translate(&m, 0x10fff, 0), host_a + 0xfff);
}

static void test_map_iov_spans_regions(void **state)
{
	struct th_mem tm;
	struct iovec iov[4];
	unsigned n = 0;
	uint64_t mid;

	(void)state;
	assert_int_equal(th_mem_create(&tm, 2 * 65536, 0x100000, 2), 0);
	mid = 0x100000 + 65536;
	/* a buffer across the boundary: two segments, not host-contiguous */
	assert_int_equal(vsw_mem_map_iov(&tm.mem, mid - 100, 300, iov, 4, &n),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(iov[0].iov_len, 100);
	assert_int_equal(iov[1].iov_len, 200);
	assert_ptr_equal(iov[1].iov_base, tm.maps[1]);
	assert_ptr_not_equal((char *)iov[0].iov_base + 100, iov[1].iov_base);
	/* not enough room */
	n = 3;
	assert_int_equal(vsw_mem_map_iov(&tm.mem, mid - 100, 300, iov, 4, &n),
			 -ENOBUFS);
	assert_int_equal(n, 3);
	/* running off the end of the last region */
	n = 0;
	assert_int_equal(vsw_mem_map_iov(&tm.mem, th_end(&tm) - 10, 11, iov,
					 4, &n),
			 -EFAULT);
	/* starting below the first region, and 64-bit wrap */
	assert_int_equal(vsw_mem_map_iov(&tm.mem, 0x100000 - 1, 2, iov, 4, &n),
			 -EFAULT);
	assert_int_equal(vsw_mem_map_iov(&tm.mem, UINT64_MAX - 5, 100, iov, 4,
					 &n),
			 -EFAULT);
	/* zero length: checks the address only */
	assert_int_equal(vsw_mem_map_iov(&tm.mem, mid, 0, iov, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vsw_mem_map_iov(&tm.mem, 0x10, 0, iov, 4, &n),
			 -EFAULT);
	th_mem_destroy(&tm);
}

static void test_hole_between_regions(void **state)
{
	struct vsw_mem m;
	struct iovec iov[4];
	unsigned n = 0;

	(void)state;
	vsw_mem_init(&m);
	assert_int_equal(vsw_mem_add(&m, 0x10000, 0x1000, host_a, 0), 0);
	assert_int_equal(vsw_mem_add(&m, 0x12000, 0x1000, host_b, 0), 0);
	/* a range over the unmapped hole fails even though both ends map */
	assert_int_equal(vsw_mem_map_iov(&m, 0x10f00, 0x1200, iov, 4, &n),
			 -EFAULT);
	assert_null(vsw_mem_translate(&m, 0x11800, 1));
}

static void test_hva_to_gpa(void **state)
{
	struct vsw_mem m;
	uint64_t gpa = 0;

	(void)state;
	vsw_mem_init(&m);
	assert_int_equal(vsw_mem_add(&m, 0x10000, sizeof(host_a), host_a, 0),
			 0);
	assert_int_equal(vsw_mem_hva_to_gpa(&m, host_a + 16, 16, &gpa), 0);
	assert_int_equal(gpa, 0x10010);
	assert_int_equal(vsw_mem_hva_to_gpa(&m, host_a + sizeof(host_a) - 1, 2,
					    &gpa),
			 -EFAULT);
	assert_int_equal(vsw_mem_hva_to_gpa(&m, host_b, 1, &gpa), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_sorted_and_overlap),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_translate_bounds),
		cmocka_unit_test(test_map_iov_spans_regions),
		cmocka_unit_test(test_hole_between_regions),
		cmocka_unit_test(test_hva_to_gpa),
	};

	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
