/* SPDX-License-Identifier: MIT */
/* Unit tests: packet buffers and their pool (lib/pkt). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vsw/pkt.h>

static void test_create_invalid(void **state)
{
	struct vsw_pkt_pool_config cfg = {.n_small = 0, .n_large = 1};
	struct vsw_pkt_pool *p = NULL;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&cfg, &p), -EINVAL);
	cfg.n_small = (1U << 24) + 1;
	assert_int_equal(vsw_pkt_pool_create(&cfg, &p), -EINVAL);
	assert_int_equal(vsw_pkt_pool_create(NULL, &p), -EINVAL);
	assert_null(p);
	vsw_pkt_pool_destroy(NULL);
}

static void test_burst_alloc_free(void **state)
{
	struct vsw_pkt_pool_config cfg = {.n_small = 40, .n_large = 0};
	struct vsw_pkt_pool *p;
	struct vsw_pkt *pk[64];
	unsigned i, j;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&cfg, &p), 0);
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_SMALL), 40);
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_LARGE), 0);
	assert_int_equal(vsw_pkt_alloc_burst(p, pk, 32), 32);
	/* only 8 left: a partial burst */
	assert_int_equal(vsw_pkt_alloc_burst(p, pk + 32, 32), 8);
	assert_int_equal(vsw_pkt_alloc_burst(p, pk + 40, 1), 0);
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_SMALL), 0);
	for (i = 0; i < 40; i++) {
		assert_int_equal((uintptr_t)pk[i] % 64, 0);
		assert_int_equal(pk[i]->off, VSW_PKT_HEADROOM);
		assert_int_equal(pk[i]->len, 0);
		assert_int_equal(pk[i]->buf_len,
				 VSW_PKT_HEADROOM + VSW_PKT_SMALL_ROOM);
		assert_int_equal(vsw_pkt_tailroom(pk[i]), VSW_PKT_SMALL_ROOM);
		assert_ptr_equal(pk[i]->pool, p);
		/* distinct, non-overlapping buffers */
		for (j = 0; j < i; j++)
			assert_true(pk[i]->buf + pk[i]->buf_len <= pk[j]->buf ||
				    pk[j]->buf + pk[j]->buf_len <= pk[i]->buf);
		memset(pk[i]->buf, (int)i, pk[i]->buf_len);
	}
	/* dirty the metadata: alloc must reset it */
	pk[0]->len = 99;
	pk[0]->vnet.flags = 1;
	pk[0]->in_port = 7;
	pk[5] = NULL; /* NULL entries are skipped */
	vsw_pkt_free_burst(pk, 40);
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_SMALL), 39);
	assert_int_equal(vsw_pkt_alloc_burst(p, pk + 5, 39), 39);
	for (i = 5; i < 44; i++) {
		assert_int_equal(pk[i]->len, 0);
		assert_int_equal(pk[i]->vnet.flags, 0);
		assert_int_equal(pk[i]->in_port, 0);
	}
	vsw_pkt_free_burst(pk + 5, 39);
	/* pk[5] of the first round was never freed: one stays out */
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_SMALL), 39);
	vsw_pkt_pool_destroy(p);
}

static void test_alloc_len_classes(void **state)
{
	struct vsw_pkt_pool_config cfg = {.n_small = 2, .n_large = 1};
	struct vsw_pkt_pool *p;
	struct vsw_pkt *a, *b, *c;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&cfg, &p), 0);
	a = vsw_pkt_alloc_len(p, VSW_PKT_SMALL_ROOM);
	assert_non_null(a);
	assert_int_equal(a->cls, VSW_PKT_SMALL);
	b = vsw_pkt_alloc_len(p, VSW_PKT_SMALL_ROOM + 1);
	assert_non_null(b);
	assert_int_equal(b->cls, VSW_PKT_LARGE);
	assert_int_equal(vsw_pkt_tailroom(b), VSW_PKT_LARGE_ROOM);
	/* 64 KiB frame fits a large buffer and is writable to its end */
	memset(vsw_pkt_append(b, 65536), 0xab, 65536);
	assert_int_equal(b->len, 65536);
	/* large class empty now; too long never fits */
	assert_null(vsw_pkt_alloc_len(p, 9000));
	assert_null(vsw_pkt_alloc_len(p, VSW_PKT_MAX_LEN + 1));
	vsw_pkt_free(b);
	c = vsw_pkt_alloc_len(p, 9000);
	assert_ptr_equal(c, b);
	assert_int_equal(c->len, 0);
	vsw_pkt_free(c);
	vsw_pkt_free(a);
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_SMALL), 2);
	assert_int_equal(vsw_pkt_pool_avail(p, VSW_PKT_LARGE), 1);
	vsw_pkt_pool_destroy(p);
}

static void test_headroom_ops(void **state)
{
	struct vsw_pkt_pool_config cfg = {.n_small = 1};
	struct vsw_pkt_pool *p;
	struct vsw_pkt *k;
	uint8_t *d;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&cfg, &p), 0);
	assert_int_equal(vsw_pkt_alloc_burst(p, &k, 1), 1);
	d = vsw_pkt_append(k, 60);
	assert_ptr_equal(d, k->buf + VSW_PKT_HEADROOM);
	memset(d, 0x11, 60);
	/* VLAN push: 4 bytes in front, the rest unmoved */
	d = vsw_pkt_prepend(k, 4);
	assert_ptr_equal(d, k->buf + VSW_PKT_HEADROOM - 4);
	assert_int_equal(k->len, 64);
	assert_int_equal(vsw_pkt_headroom(k), VSW_PKT_HEADROOM - 4);
	assert_null(vsw_pkt_prepend(k, VSW_PKT_HEADROOM));
	assert_int_equal(k->len, 64);
	assert_ptr_equal(vsw_pkt_adj(k, 4), k->buf + VSW_PKT_HEADROOM);
	assert_null(vsw_pkt_adj(k, 61));
	assert_null(vsw_pkt_append(k, VSW_PKT_SMALL_ROOM - 59));
	assert_non_null(vsw_pkt_append(k, VSW_PKT_SMALL_ROOM - 60));
	assert_int_equal(vsw_pkt_tailroom(k), 0);
	assert_int_equal(vsw_pkt_data(k)[0], 0x11);
	vsw_pkt_free(k);
	vsw_pkt_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_burst_alloc_free),
		cmocka_unit_test(test_alloc_len_classes),
		cmocka_unit_test(test_headroom_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
