/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the packed virtqueue (lib/virtq/virtq_packed.c), driver and
 * device in one process over the same memfd guest memory (tests/common).
 *
 * The fixture is tests/common/th_virtq.h; its canaries (the last page of
 * guest memory, outside the device's memory table, and the page after each
 * region's mapping) are checked after every test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsw/virtq.h>

#include "th_virtq.h"
#include "vsw_compiler.h"

#define F_BASE ((1ULL << VIRTIO_F_RING_PACKED) | (1ULL << VIRTIO_F_VERSION_1))
#define F_EI (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_IND (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_IO (1ULL << VIRTIO_F_IN_ORDER)

#define AVAIL_BIT (1U << VRING_PACKED_DESC_F_AVAIL)
#define USED_BIT (1U << VRING_PACKED_DESC_F_USED)

/* Driver: add a single readable buffer of 8 bytes of the scratch page. */
static void add1(struct th_vq *e, void *token)
{
	th_vq_add1(e, token, 8, false);
}

/* Driver: add n buffers with tokens &tok[i]; device: pop them into c[i]. */
static void add_pop(struct th_vq *e, int *tok, struct vsw_vq_chain *c,
		    unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		add1(e, &tok[i]);
		th_vq_pop1(e, &c[i]);
	}
}

/* One complete round trip of a single-descriptor chain. */
static void cycle1(struct th_vq *e)
{
	struct vsw_vq_chain c;
	uint32_t len;
	int tok;

	add1(e, &tok);
	th_vq_pop1(e, &c);
	assert_int_equal(vsw_vq_dev_push(e->dev, &c, 0), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(e->drv, &len), &tok);
}

/* ------------------------------------------------------------------ */
/* Random round trips                                                  */
/* ------------------------------------------------------------------ */

#define MAX_SEG 6
#define SEG_MAX_LEN 64

struct rec {
	uint64_t gpa[MAX_SEG];
	uint32_t len[MAX_SEG];
	unsigned n_out, n_in;
	uint8_t seed;
	unsigned slots;
	bool live;
};

static uint8_t out_byte(uint8_t seed, size_t j)
{
	return (uint8_t)(seed + j * 7);
}

static uint8_t in_byte(uint8_t seed, size_t j)
{
	return (uint8_t)((seed ^ 0x5a) + j * 3);
}

/*
 * Device: check the readable bytes against the pattern (seed is the first
 * byte), write the pattern into the writable ones. Returns bytes written.
 */
static uint32_t dev_serve(const struct vsw_vq_chain *c, const struct iovec *iov)
{
	uint8_t seed = 0;
	size_t j = 0, k;
	unsigned i;

	for (i = 0; i < c->n_out; i++) {
		const uint8_t *p = iov[i].iov_base;

		assert_true(iov[i].iov_len > 0);
		for (k = 0; k < iov[i].iov_len; k++, j++) {
			if (j == 0)
				seed = p[0];
			assert_int_equal(p[k], out_byte(seed, j));
		}
	}
	assert_int_equal(j, c->out_len);
	j = 0;
	for (i = c->n_out; i < c->n_out + c->n_in; i++) {
		uint8_t *p = iov[i].iov_base;

		assert_true(iov[i].iov_len > 0);
		for (k = 0; k < iov[i].iov_len; k++, j++)
			p[k] = in_byte(seed, j);
	}
	assert_int_equal(j, c->in_len);
	return (uint32_t)j;
}

static void rec_fill(struct th_vq *e, struct rec *r, uint32_t maxn)
{
	unsigned n, i;
	size_t j = 0;

	do {
		r->n_out = th_vq_rnd(e, 4);
		r->n_in = th_vq_rnd(e, 4);
		n = r->n_out + r->n_in;
	} while (n == 0 || n > maxn);
	r->seed = (uint8_t)th_vq_rnd(e, 256);
	for (i = 0; i < n; i++) {
		/* now and then an empty segment */
		r->len[i] = th_vq_rnd(e, 8) == 0
				    ? 0
				    : 1 + th_vq_rnd(e, SEG_MAX_LEN);
		if (i < r->n_out) {
			uint8_t buf[SEG_MAX_LEN];
			size_t k;

			for (k = 0; k < r->len[i]; k++, j++)
				buf[k] = out_byte(r->seed, j);
			assert_int_equal(
				th_write(&e->m, r->gpa[i], buf, r->len[i]), 0);
		} else {
			uint8_t zero[SEG_MAX_LEN] = {0};

			assert_int_equal(
				th_write(&e->m, r->gpa[i], zero, r->len[i]), 0);
		}
	}
	r->slots = (e->ind_max > 0 && (e->features & F_IND) && n > 1 &&
		    n <= e->ind_max)
			   ? 1
			   : n;
}

/* Driver: check what the device wrote into a completed buffer. */
static void rec_check(struct th_vq *e, const struct rec *r, uint32_t len)
{
	uint8_t seed = 0, buf[SEG_MAX_LEN];
	size_t j = 0, k;
	uint32_t in_total = 0;
	unsigned i;

	for (i = 0; i < r->n_out; i++)
		if (r->len[i] > 0) {
			seed = r->seed;
			break;
		}
	for (i = r->n_out; i < r->n_out + r->n_in; i++)
		in_total += r->len[i];
	if (len == 0)
		return; /* the device reported nothing written */
	assert_int_equal(len, in_total);
	for (i = r->n_out; i < r->n_out + r->n_in; i++) {
		assert_int_equal(th_read(&e->m, r->gpa[i], buf, r->len[i]), 0);
		for (k = 0; k < r->len[i]; k++, j++)
			assert_int_equal(buf[k], in_byte(seed, j));
	}
}

struct pend {
	struct vsw_vq_chain c;
	uint32_t len;
};

static void run_random(uint64_t feat, uint32_t num, unsigned iters)
{
	bool in_order = feat & F_IO;
	uint16_t ind_max = (feat & F_IND) ? (uint16_t)(num < 4 ? num : 4) : 0;
	struct iovec iov[MAX_SEG * 2 + 8];
	struct rec *recs, **order;
	struct pend *pend;
	unsigned *free_recs, nfree, npend = 0, i, it;
	unsigned order_head = 0, order_n = 0, live = 0;
	uint64_t consumed = 0;
	uint32_t model_free = num;
	struct th_vq e;

	th_vq_init(&e, feat, num, 4, ind_max, true);
	recs = calloc(num, sizeof(*recs));
	order = calloc(num, sizeof(*order));
	pend = calloc(num, sizeof(*pend));
	free_recs = calloc(num, sizeof(*free_recs));
	assert_non_null(recs);
	assert_non_null(order);
	assert_non_null(pend);
	assert_non_null(free_recs);
	/* buffers straddle the boundary of regions 0 and 1 for some recs */
	e.m.brk =
		TH_VQ_GPA_BASE + TH_VQ_MEM_SIZE / 4 - (num < 8 ? num : 8) * 200;
	for (i = 0; i < num; i++) {
		unsigned s;

		for (s = 0; s < MAX_SEG; s++)
			recs[i].gpa[s] = th_alloc(&e.m, SEG_MAX_LEN, 1);
		free_recs[i] = num - 1 - i;
	}
	nfree = num;

	for (it = 0; it < iters; it++) {
		unsigned nadd = th_vq_rnd(&e, 4), npop = th_vq_rnd(&e, 4),
			 nget = th_vq_rnd(&e, 4);
		struct vsw_vq_used burst[64];
		unsigned nb;
		uint32_t len;
		void *tok;

		/* driver: expose chains */
		while (nadd-- > 0 && nfree > 0) {
			struct rec *r = &recs[free_recs[nfree - 1]];
			struct vsw_sg sg[MAX_SEG];
			int ret;

			rec_fill(&e, r, num);
			for (i = 0; i < r->n_out + r->n_in; i++) {
				sg[i].addr = r->gpa[i];
				sg[i].len = r->len[i];
			}
			ret = vsw_vq_drv_add(e.drv, sg, r->n_out, r->n_in, r);
			if (r->slots > model_free) {
				assert_int_equal(ret, -ENOSPC);
				break;
			}
			assert_int_equal(ret, 0);
			nfree--;
			r->live = true;
			live++;
			model_free -= r->slots;
			order[(order_head + order_n++) % num] = r;
			assert_int_equal(vsw_vq_drv_num_free(e.drv),
					 model_free);
		}
		(void)vsw_vq_drv_kick_prepare(e.drv);

		/* device: pop and serve */
		while (npop-- > 0) {
			struct vsw_vq_chain *c = &pend[npend].c;
			int ret = vsw_vq_dev_pop(e.dev, c, iov,
						 VSW_ARRAY_SIZE(iov));

			if (ret == 0)
				break;
			assert_int_equal(ret, 1);
			assert_true(c->ndesc >= 1 && c->ndesc <= MAX_SEG);
			pend[npend].len = dev_serve(c, iov);
			npend++;
		}
		assert_int_equal(vsw_vq_dev_inflight(e.dev), npend);

		/* device: complete a burst, out of order unless IN_ORDER */
		nb = th_vq_rnd(&e, (npend < 64 ? npend : 64) + 1);
		for (i = 0; i < nb; i++) {
			unsigned k = in_order ? i
					      : i + th_vq_rnd(&e, npend - i);
			struct pend t = pend[k];

			pend[k] = pend[i];
			pend[i] = t;
			burst[i].id = t.c.id;
			burst[i].ndesc = t.c.ndesc;
			burst[i].len =
				in_order && th_vq_rnd(&e, 3) == 0 ? 0 : t.len;
		}
		if (nb > 0) {
			assert_int_equal(
				vsw_vq_dev_push_burst(e.dev, burst, nb), 0);
			memmove(pend, pend + nb, (npend - nb) * sizeof(*pend));
			npend -= nb;
			(void)vsw_vq_dev_need_notify(e.dev);
		}

		/* driver: collect */
		while (nget-- > 0 && (tok = vsw_vq_drv_get_used(e.drv, &len))) {
			struct rec *r = tok;

			assert_true(r >= recs && r < recs + num);
			assert_true(r->live);
			if (in_order) {
				assert_ptr_equal(r, order[order_head]);
				order_head = (order_head + 1) % num;
			}
			order_n--;
			rec_check(&e, r, len);
			r->live = false;
			live--;
			model_free += r->slots;
			consumed += r->slots;
			free_recs[nfree++] = (unsigned)(r - recs);
			assert_int_equal(vsw_vq_drv_num_free(e.drv),
					 model_free);
		}
		assert_false(vsw_vq_drv_is_broken(e.drv));
		assert_int_equal(vsw_vq_dev_error(e.dev), 0);
	}

	/* drain: everything exposed comes back exactly once */
	for (;;) {
		struct vsw_vq_chain c;
		int ret = vsw_vq_dev_pop(e.dev, &c, iov, VSW_ARRAY_SIZE(iov));

		assert_true(ret >= 0);
		if (ret == 0)
			break;
		pend[npend].c = c;
		pend[npend++].len = dev_serve(&c, iov);
	}
	for (i = 0; i < npend; i++)
		assert_int_equal(
			vsw_vq_dev_push(e.dev, &pend[i].c, pend[i].len), 0);
	for (;;) {
		uint32_t len;
		struct rec *r = vsw_vq_drv_get_used(e.drv, &len);

		if (r == NULL)
			break;
		assert_true(r->live);
		if (in_order) {
			assert_ptr_equal(r, order[order_head]);
			order_head = (order_head + 1) % num;
		}
		rec_check(&e, r, len);
		r->live = false;
		live--;
		consumed += r->slots;
	}
	assert_int_equal(live, 0);
	assert_int_equal(vsw_vq_drv_num_free(e.drv), num);
	assert_int_equal(vsw_vq_dev_inflight(e.dev), 0);
	assert_null(vsw_vq_drv_detach_unused(e.drv));
	/* many laps: both wrap counters flipped many times */
	assert_true(consumed >= 8ULL * num);

	free(recs);
	free(order);
	free(pend);
	free(free_recs);
	th_vq_fini(&e);
}

static const uint64_t feat_sets[] = {0, F_EI, F_IND, F_EI | F_IND};

/* Every feature set and queue size, with extra features on top. */
static void run_random_all(uint64_t extra)
{
	static const uint32_t sizes[] = {1, 5, 256};
	unsigned f, n;

	for (f = 0; f < VSW_ARRAY_SIZE(feat_sets); f++)
		for (n = 0; n < VSW_ARRAY_SIZE(sizes); n++)
			run_random(F_BASE | extra | feat_sets[f], sizes[n],
				   sizes[n] == 256 ? 3000 : 600);
}

static void test_random_roundtrips(void **state)
{
	(void)state;
	run_random_all(0);
}

static void test_random_in_order(void **state)
{
	(void)state;
	run_random_all(F_IO);
}

/* ------------------------------------------------------------------ */
/* Directed driver/device tests                                        */
/* ------------------------------------------------------------------ */

static void test_out_of_order(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c[4];
	int tok[4];
	uint32_t len;

	(void)state;
	th_vq_init(&e, F_BASE, 8, 1, 0, true);
	add_pop(&e, tok, c, 4);
	/* complete 2, 0, 3, 1 */
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[2], 12), 0);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[0], 10), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[2]);
	assert_int_equal(len, 12);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
	assert_int_equal(len, 10);
	assert_null(vsw_vq_drv_get_used(e.drv, &len));
	assert_int_equal(vsw_vq_drv_num_free(e.drv), 6);
	/* pushing an id twice, or one not in flight, is a caller bug */
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[0], 1), -EINVAL);
	{
		struct vsw_vq_used u[2] = {
			{.id = c[3].id, .ndesc = 1, .len = 13},
			{.id = c[3].id, .ndesc = 1, .len = 13},
		};

		assert_int_equal(vsw_vq_dev_push_burst(e.dev, u, 2), -EINVAL);
		u[1].id = c[1].id;
		u[1].len = 11;
		assert_int_equal(vsw_vq_dev_error(e.dev), 0);
		assert_int_equal(vsw_vq_dev_push_burst(e.dev, u, 2), 0);
	}
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[3]);
	assert_int_equal(len, 13);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
	assert_int_equal(len, 11);
	assert_int_equal(vsw_vq_drv_num_free(e.drv), 8);
	assert_int_equal(vsw_vq_dev_inflight(e.dev), 0);
	th_vq_fini(&e);
}

static void test_buffer_spans_regions(void **state)
{
	struct th_vq e;

	(void)state;
	th_vq_init(&e, F_BASE, 4, 2, 0, true);
	th_vq_check_span_regions(&e, 10, 30, 100, 8, 0 | 1U << 15);
	th_vq_fini(&e);
}

static void test_enospc(void **state)
{
	struct th_vq e;
	struct vsw_sg sg[3] = {
		{.addr = 0, .len = 4},
		{.addr = 0, .len = 4},
		{.addr = 0, .len = 4},
	};
	int tok[8];
	unsigned i;

	(void)state;
	th_vq_init(&e, F_BASE, 5, 1, 0, true);
	for (i = 0; i < 3; i++)
		sg[i].addr = e.buf + 16 * i;
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 2, 1, &tok[0]), 0);
	assert_int_equal(vsw_vq_drv_num_free(e.drv), 2);
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 3, 0, &tok[1]), -ENOSPC);
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 1, 1, &tok[1]), 0);
	assert_int_equal(vsw_vq_drv_num_free(e.drv), 0);
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 1, 0, &tok[2]), -ENOSPC);
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 0, 6, &tok[2]), -EINVAL);
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 1, 0, NULL), -EINVAL);
	assert_false(vsw_vq_drv_is_broken(e.drv));
	/* teardown returns every buffer once */
	{
		void *t1 = vsw_vq_drv_detach_unused(e.drv);
		void *t2 = vsw_vq_drv_detach_unused(e.drv);

		assert_true((t1 == &tok[0] && t2 == &tok[1]) ||
			    (t1 == &tok[1] && t2 == &tok[0]));
		assert_null(vsw_vq_drv_detach_unused(e.drv));
	}
	th_vq_fini(&e);

	/* indirect: a 2-segment chain takes one ring slot */
	th_vq_init(&e, F_BASE | F_IND, 4, 1, 2, true);
	for (i = 0; i < 3; i++)
		sg[i].addr = e.buf + 16 * i;
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 1, 1, &tok[0]), 0);
	assert_int_equal(vsw_vq_drv_num_free(e.drv), 3);
	/* 3 > indirect_max: direct, needs 3 slots */
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 2, 1, &tok[1]), 0);
	assert_int_equal(vsw_vq_drv_num_free(e.drv), 0);
	assert_int_equal(vsw_vq_drv_add(e.drv, sg, 1, 0, &tok[2]), -ENOSPC);
	th_vq_fini(&e);
}

static void test_unpop(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c1, c2, c3;
	int tok[2];
	uint32_t len;

	(void)state;
	th_vq_init(&e, F_BASE, 5, 1, 0, true);
	add1(&e, &tok[0]);
	add1(&e, &tok[1]);
	th_vq_pop1(&e, &c1);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 1 | 1U << 15);
	th_vq_pop1(&e, &c2);
	assert_int_equal(vsw_vq_dev_inflight(e.dev), 2);
	vsw_vq_dev_unpop(e.dev, &c2);
	assert_int_equal(vsw_vq_dev_inflight(e.dev), 1);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 1 | 1U << 15);
	assert_true(vsw_vq_dev_has_avail(e.dev));
	th_vq_pop1(&e, &c3);
	assert_int_equal(c3.id, c2.id);
	assert_int_equal(c3.ndesc, c2.ndesc);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c3, 3), 0);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c1, 4), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
	assert_int_equal(len, 3);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
	assert_int_equal(len, 4);
	th_vq_fini(&e);
}

/* Several chains given back newest first, across the ring's wrap. */
static void test_unpop_several(void **state)
{
	struct th_vq e;
	int i;

	(void)state;
	th_vq_init(&e, F_BASE, 5, 1, 0, true);
	for (i = 0; i < 4; i++)
		cycle1(&e); /* positions 4, then 0 after the wrap */
	th_vq_check_unpop_several(&e, 8, false, 4 | 1U << 15);
	th_vq_fini(&e);
}

static void test_set_get_base(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c;
	unsigned i;
	int tok;

	(void)state;
	th_vq_init(&e, F_BASE | F_EI, 5, 1, 0, true);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 1U << 15);
	for (i = 0; i < 7; i++)
		cycle1(&e);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 2); /* wrap 0 */
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 5), -EINVAL);
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 0x7fff), -EINVAL);
	add1(&e, &tok);
	/* the wrong wrap counter: the chain at position 2 is not visible */
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 2 | 1U << 15), 0);
	assert_false(vsw_vq_dev_has_avail(e.dev));
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 2), 0);
	assert_true(vsw_vq_dev_has_avail(e.dev));
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 3);
	/* set_base drops what was in flight */
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 2), 0);
	assert_int_equal(vsw_vq_dev_inflight(e.dev), 0);
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	{
		uint32_t len;

		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok);
	}
	/* 8 descriptors so far; 14 = position 4 of lap 2 (wrap 1) */
	for (i = 0; i < 6; i++)
		cycle1(&e);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 4 | 1U << 15);
	cycle1(&e);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 0);
	for (i = 0; i < 5; i++)
		cycle1(&e);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 0 | 1U << 15);
	th_vq_fini(&e);
}

/*
 * A base behind the device's position (what QEMU sends after a back-end
 * restart: it keeps no packed-ring position): its descriptor is used in
 * its lap, so the queue faults at once instead of waiting forever; the
 * right base clears that. A base at a descriptor used in the previous lap
 * (the true position with nothing made available) is not stale.
 */
static void test_set_base_stale(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c;
	unsigned i;
	int tok;

	(void)state;
	th_vq_init(&e, F_BASE | F_EI, 5, 1, 0, true);
	for (i = 0; i < 3; i++)
		cycle1(&e); /* 0..2 used in lap 1: the device is at 3, wrap 1 */
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 3 | 1U << 15);
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 0 | 1U << 15), 0);
	assert_int_equal(vsw_vq_dev_error(e.dev), -ESTALE);
	assert_int_equal(vsw_vq_dev_fault(e.dev), VSW_VQ_FAULT_STALE_BASE);
	add1(&e, &tok);
	assert_int_equal(vsw_vq_dev_pop(e.dev, &c, NULL, 0), -ESTALE);
	/* the true position: the chain just added is found */
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 3 | 1U << 15), 0);
	assert_int_equal(vsw_vq_dev_error(e.dev), 0);
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	{
		uint32_t len;

		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok);
	}
	/* into lap 2 (wrap 0): position 0 was used in lap 1, not stale */
	cycle1(&e);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 0);
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 0), 0);
	assert_int_equal(vsw_vq_dev_error(e.dev), 0);
	cycle1(&e);
	/* but position 0 with wrap 0 is stale once used in lap 2 */
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 0), 0);
	assert_int_equal(vsw_vq_dev_fault(e.dev), VSW_VQ_FAULT_STALE_BASE);
	/* an invalid base keeps the fault */
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 5), -EINVAL);
	assert_int_equal(vsw_vq_dev_fault(e.dev), VSW_VQ_FAULT_STALE_BASE);
	assert_int_equal(vsw_vq_dev_set_base(e.dev, 1), 0);
	assert_int_equal(vsw_vq_dev_error(e.dev), 0);
	cycle1(&e);
	th_vq_fini(&e);
}

/* Device side of kick suppression, through the API. */
static void test_kick_suppression(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c;
	int tok[4];
	uint32_t len;

	(void)state;
	/* without EVENT_IDX: ENABLE / DISABLE */
	th_vq_init(&e, F_BASE, 8, 1, 0, true);
	assert_false(vsw_vq_drv_kick_prepare(e.drv)); /* nothing added */
	add1(&e, &tok[0]);
	assert_true(vsw_vq_drv_kick_prepare(e.drv)); /* ring starts ENABLE */
	vsw_vq_dev_disable_notify(e.dev);
	assert_int_equal(le16toh(e.dev_ev->flags),
			 VRING_PACKED_EVENT_FLAG_DISABLE);
	add1(&e, &tok[1]);
	assert_false(vsw_vq_drv_kick_prepare(e.drv));
	/* enable re-checks: chains are there, keep polling */
	assert_true(vsw_vq_dev_enable_notify(e.dev));
	assert_int_equal(le16toh(e.dev_ev->flags),
			 VRING_PACKED_EVENT_FLAG_ENABLE);
	th_vq_pop1(&e, &c);
	th_vq_pop1(&e, &c);
	assert_false(vsw_vq_dev_enable_notify(e.dev));
	add1(&e, &tok[2]);
	assert_true(vsw_vq_drv_kick_prepare(e.drv));
	th_vq_fini(&e);

	/* with EVENT_IDX: DESC at the device's position */
	th_vq_init(&e, F_BASE | F_EI, 8, 1, 0, true);
	assert_false(vsw_vq_dev_enable_notify(e.dev));
	assert_int_equal(le16toh(e.dev_ev->flags),
			 VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(le16toh(e.dev_ev->off_wrap), 0 | 1U << 15);
	add1(&e, &tok[0]);
	assert_true(vsw_vq_drv_kick_prepare(e.drv));
	add1(&e, &tok[1]); /* the device did not catch up: no kick */
	assert_false(vsw_vq_drv_kick_prepare(e.drv));
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	assert_true(vsw_vq_dev_enable_notify(e.dev)); /* one still there */
	assert_int_equal(le16toh(e.dev_ev->off_wrap), 1 | 1U << 15);
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	assert_false(vsw_vq_dev_enable_notify(e.dev));
	assert_int_equal(le16toh(e.dev_ev->off_wrap), 2 | 1U << 15);
	add1(&e, &tok[2]);
	add1(&e, &tok[3]);
	assert_true(vsw_vq_drv_kick_prepare(e.drv)); /* batch of 2 crosses */
	vsw_vq_dev_disable_notify(e.dev);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
	add1(&e, &tok[0]);
	assert_false(vsw_vq_drv_kick_prepare(e.drv));
	th_vq_fini(&e);
}

/* Driver side of interrupt suppression, through the API. */
static void test_interrupt_suppression(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c[4];
	int tok[4];
	uint32_t len;

	(void)state;
	th_vq_init(&e, F_BASE, 8, 1, 0, true);
	add_pop(&e, tok, c, 4);
	assert_false(vsw_vq_dev_need_notify(e.dev)); /* nothing pushed */
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[0], 0), 0);
	assert_true(vsw_vq_dev_need_notify(e.dev));  /* ring starts ENABLE */
	assert_false(vsw_vq_dev_need_notify(e.dev)); /* already told */
	vsw_vq_drv_disable_cb(e.drv);
	assert_int_equal(le16toh(e.drv_ev->flags),
			 VRING_PACKED_EVENT_FLAG_DISABLE);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[1], 0), 0);
	assert_false(vsw_vq_dev_need_notify(e.dev));
	/* the enable_cb race: used buffers arrived while disabled */
	assert_false(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(le16toh(e.drv_ev->flags),
			 VRING_PACKED_EVENT_FLAG_ENABLE);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
	assert_false(vsw_vq_drv_enable_cb(e.drv));
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
	assert_true(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[2], 0), 0);
	assert_true(vsw_vq_dev_need_notify(e.dev));
	th_vq_fini(&e);

	th_vq_init(&e, F_BASE | F_EI, 8, 1, 0, true);
	add_pop(&e, tok, c, 4);
	assert_true(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(le16toh(e.drv_ev->flags),
			 VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(le16toh(e.drv_ev->off_wrap), 0 | 1U << 15);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[0], 0), 0);
	assert_true(vsw_vq_dev_need_notify(e.dev));
	/* the driver has not looked yet: its event stays at position 0 */
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[1], 0), 0);
	assert_false(vsw_vq_dev_need_notify(e.dev));
	assert_false(vsw_vq_drv_enable_cb(e.drv)); /* used pending */
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
	assert_true(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(le16toh(e.drv_ev->off_wrap), 2 | 1U << 15);
	vsw_vq_drv_disable_cb(e.drv);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[2], 0), 0);
	assert_false(vsw_vq_dev_need_notify(e.dev));
	assert_false(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(le16toh(e.drv_ev->off_wrap), 2 | 1U << 15);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c[3], 0), 0);
	/* event at 2 was crossed by an earlier push: no repeat */
	assert_false(vsw_vq_dev_need_notify(e.dev));
	th_vq_fini(&e);
}

/* Did a run of k positions starting at absolute count t pass event x? */
static bool model_crossed(uint64_t t, unsigned k, uint32_t num, uint16_t x)
{
	uint64_t j;

	for (j = t; j < t + k; j++) {
		uint16_t ow = (uint16_t)((j % num) |
					 (((j / num) % 2 == 0) ? 1U << 15 : 0));

		if (ow == x)
			return true;
	}
	return false;
}

/* Candidate event values around absolute position t, plus random ones. */
static uint16_t pick_event(struct th_vq *e, uint64_t t, uint32_t num)
{
	uint64_t j;

	if (th_vq_rnd(e, 4) == 0)
		return (uint16_t)(th_vq_rnd(e, num) | th_vq_rnd(e, 2) << 15);
	j = t + num * 2 - 2 + th_vq_rnd(e, 6); /* t - 2 .. t + 3 */
	return (uint16_t)((j % num) | (((j / num) % 2 == 0) ? 1U << 15 : 0));
}

/*
 * The off_wrap arithmetic on both sides against a model that lists the
 * positions passed, including around position 32767 / off_wrap 0xffff.
 */
static void event_model(uint32_t num, uint64_t start, unsigned rounds)
{
	struct vsw_vq_chain c[4];
	struct th_vq e;
	uint64_t t;
	uint32_t len;
	unsigned r, i;
	int tok;

	th_vq_init(&e, F_BASE | F_EI, num, 1, 0, true);
	for (t = 0; t < start; t++)
		cycle1(&e);
	/* the warm-up's kick and notification decisions */
	(void)vsw_vq_drv_kick_prepare(e.drv);
	(void)vsw_vq_dev_need_notify(e.dev);
	for (r = 0; r < rounds; r++) {
		unsigned k = 1 + th_vq_rnd(&e, num < 3 ? num : 3);
		uint16_t x = pick_event(&e, t, num);

		/* the driver side: device event area says DESC at x */
		e.dev_ev->off_wrap = htole16(x);
		e.dev_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
		for (i = 0; i < k; i++)
			add1(&e, &tok);
		assert_int_equal(vsw_vq_drv_kick_prepare(e.drv),
				 model_crossed(t, k, num, x));
		for (i = 0; i < k; i++)
			th_vq_pop1(&e, &c[i]);
		/* the device side: driver event area says DESC at x */
		x = pick_event(&e, t, num);
		e.drv_ev->off_wrap = htole16(x);
		e.drv_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
		for (i = 0; i < k; i++)
			assert_int_equal(vsw_vq_dev_push(e.dev, &c[i], 0), 0);
		assert_int_equal(vsw_vq_dev_need_notify(e.dev),
				 model_crossed(t, k, num, x));
		for (i = 0; i < k; i++)
			assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len),
					 &tok);
		t += k;
	}
	th_vq_fini(&e);
}

static void test_event_offwrap(void **state)
{
	(void)state;
	event_model(1, 0, 200);
	event_model(5, 0, 400);
	event_model(256, 250, 400);
	/* start 3 before the end of the first lap: off_wrap 0xffff */
	event_model(32768, 32765, 20);
	/* and 3 before the end of the second lap: off_wrap 0x7fff */
	event_model(32768, 65533, 20);
}

static void test_event_offwrap_api_65535(void **state)
{
	struct th_vq e;
	struct vsw_vq_chain c;
	uint32_t len;
	unsigned i;
	int tok[2];

	(void)state;
	th_vq_init(&e, F_BASE | F_EI, 32768, 1, 0, true);
	for (i = 0; i < 32767; i++)
		cycle1(&e);
	(void)vsw_vq_drv_kick_prepare(e.drv);
	(void)vsw_vq_dev_need_notify(e.dev);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 0xffff);
	assert_false(vsw_vq_dev_enable_notify(e.dev));
	assert_int_equal(le16toh(e.dev_ev->off_wrap), 0xffff);
	assert_true(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(le16toh(e.drv_ev->off_wrap), 0xffff);
	add1(&e, &tok[0]);
	add1(&e, &tok[1]); /* wraps to position 0, wrap 0 */
	assert_true(vsw_vq_drv_kick_prepare(e.drv));
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	assert_true(vsw_vq_dev_need_notify(e.dev));
	th_vq_pop1(&e, &c);
	assert_int_equal(vsw_vq_dev_get_base(e.dev), 1);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	assert_false(vsw_vq_dev_need_notify(e.dev));
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
	assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
	assert_true(vsw_vq_drv_enable_cb(e.drv));
	assert_int_equal(le16toh(e.drv_ev->off_wrap), 1);
	th_vq_fini(&e);
}

/* Assert a used descriptor at pos: id, len, AVAIL = USED = wrap. */
static void assert_used_desc(const struct th_vq *e, unsigned pos, bool wrap,
			     uint16_t id, uint32_t len)
{
	uint16_t f = le16toh(e->pdesc[pos].flags);

	assert_int_equal(!!(f & AVAIL_BIT), wrap);
	assert_int_equal(!!(f & USED_BIT), wrap);
	assert_int_equal(le16toh(e->pdesc[pos].id), id);
	assert_int_equal(le32toh(e->pdesc[pos].len), len);
}

/*
 * IN_ORDER, device side: one used descriptor per chain, also for len 0
 * entries (never folded into the next: DPDK's driver counts one per buffer),
 * each at the position where its chain started.
 */
static void test_in_order_push(void **state)
{
	static const unsigned shape[4] = {1, 2, 3, 1};
	struct vsw_vq_chain c[4];
	struct vsw_vq_used u[4];
	struct vsw_sg sg[3];
	struct th_vq e;
	uint32_t len;
	unsigned i, lap;
	int tok[4];

	(void)state;
	th_vq_init(&e, F_BASE | F_IO | F_EI, 5, 1, 0, true);
	for (i = 0; i < 3; i++) {
		sg[i].addr = e.buf + 64 * i;
		sg[i].len = 16;
	}
	for (lap = 0; lap < 7; lap++) {
		/* 8 descriptors per lap: where chain 0 starts, in which wrap */
		unsigned start = (lap * 8) % 5, pos;
		bool wrap = ((lap * 8) / 5) % 2 == 0, w;

		for (i = 0; i < 2; i++) {
			assert_int_equal(vsw_vq_drv_add(e.drv, sg, shape[i], 0,
							&tok[i]),
					 0);
			th_vq_pop1(&e, &c[i]);
			assert_int_equal(c[i].ndesc, shape[i]);
			u[i].id = c[i].id;
			u[i].ndesc = c[i].ndesc;
			u[i].len = 0;
		}
		/* 3 + 2 would not fit in 5: use chains 2 and 3 next lap */
		u[1].len = 77;
		/* out of pop order is refused, the queue stays good */
		{
			struct vsw_vq_used bad[2] = {u[1], u[0]};

			assert_int_equal(vsw_vq_dev_push_burst(e.dev, bad, 2),
					 -EINVAL);
			assert_int_equal(vsw_vq_dev_error(e.dev), 0);
		}
		assert_true(vsw_vq_drv_enable_cb(e.drv));
		assert_int_equal(vsw_vq_dev_push_burst(e.dev, u, 2), 0);
		assert_true(vsw_vq_dev_need_notify(e.dev));
		/* chain 0 (len 0) at its own position, chain 1 right after */
		assert_used_desc(&e, start, wrap, c[0].id, 0);
		pos = start + 1;
		w = wrap;
		if (pos == 5) {
			pos = 0;
			w = !w;
		}
		assert_used_desc(&e, pos, w, c[1].id, 77);
		assert_true(vsw_vq_drv_has_used(e.drv));
		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
		assert_int_equal(len, 0);
		assert_true(vsw_vq_drv_has_used(e.drv));
		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
		assert_int_equal(len, 77);
		assert_false(vsw_vq_drv_has_used(e.drv));
		assert_null(vsw_vq_drv_get_used(e.drv, &len));

		/* 3 + 1 + 1: lens 0, 0, 5 as bursts of 2 and 1 */
		start = (start + 3) % 5;
		wrap = (lap * 8 + 3) / 5 % 2 == 0;
		for (i = 0; i < 3; i++) {
			unsigned n = i < 2 ? shape[i + 2] : 1;

			assert_int_equal(
				vsw_vq_drv_add(e.drv, sg, n, 0, &tok[i]), 0);
			th_vq_pop1(&e, &c[i]);
			u[i].id = c[i].id;
			u[i].ndesc = c[i].ndesc;
			u[i].len = i == 2 ? 5 : 0;
		}
		assert_int_equal(vsw_vq_drv_num_free(e.drv), 0);
		assert_int_equal(vsw_vq_dev_push_burst(e.dev, u, 2), 0);
		assert_int_equal(vsw_vq_dev_push_burst(e.dev, u + 2, 1), 0);
		/* three used descriptors at 0, +3, +4 from start */
		for (i = 0, pos = start, w = wrap; i < 3; i++) {
			assert_used_desc(&e, pos, w, c[i].id, u[i].len);
			pos += c[i].ndesc;
			if (pos >= 5) {
				pos -= 5;
				w = !w;
			}
		}
		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[0]);
		assert_int_equal(len, 0);
		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[1]);
		assert_int_equal(len, 0);
		assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len), &tok[2]);
		assert_int_equal(len, 5);
		assert_null(vsw_vq_drv_get_used(e.drv, &len));
		assert_int_equal(vsw_vq_drv_num_free(e.drv), 5);
		assert_int_equal(vsw_vq_dev_inflight(e.dev), 0);
	}
	assert_false(vsw_vq_drv_is_broken(e.drv));
	th_vq_fini(&e);
}

/*
 * IN_ORDER, driver side: another device may fold a batch into one used
 * descriptor carrying the last buffer's id (§2.7.9). Written by hand here
 * (our device never does it); every token must come back, in order, the
 * earlier ones with len 0, and every descriptor must be free again.
 */
static void test_in_order_driver_folded(void **state)
{
	static const unsigned shape[2][3] = {{1, 2, 1}, {2, 1, 1}};
	struct vsw_sg sg[2];
	struct th_vq e;
	uint32_t len;
	unsigned r, i, pos = 0, last_pos;
	bool wrap = true;
	int tok[3];

	(void)state;
	th_vq_init(&e, F_BASE | F_IO, 5, 1, 0, true);
	for (i = 0; i < 2; i++) {
		sg[i].addr = e.buf + 64 * i;
		sg[i].len = 16;
	}
	for (r = 0; r < 2; r++) {
		unsigned first = pos;
		bool first_wrap = wrap;
		uint16_t last_id;

		/* round 0 takes positions 0-3; round 1 wraps: 4, 0, 1, 2 */
		for (i = 0; i < 3; i++) {
			assert_int_equal(vsw_vq_drv_add(e.drv, sg, 0,
							shape[r][i], &tok[i]),
					 0);
			last_pos = pos;
			pos += shape[r][i];
			if (pos >= 5) {
				pos -= 5;
				wrap = !wrap;
			}
		}
		/* the id the driver gave the last chain */
		last_id = le16toh(e.pdesc[last_pos].id);
		e.pdesc[first].id = htole16(last_id);
		e.pdesc[first].len = htole32(9);
		__atomic_store_n(&e.pdesc[first].flags,
				 htole16(first_wrap ? AVAIL_BIT | USED_BIT : 0),
				 __ATOMIC_RELEASE);
		assert_true(vsw_vq_drv_has_used(e.drv));
		for (i = 0; i < 3; i++) {
			len = 0xdead;
			assert_ptr_equal(vsw_vq_drv_get_used(e.drv, &len),
					 &tok[i]);
			assert_int_equal(len, i == 2 ? 9 : 0);
		}
		assert_false(vsw_vq_drv_has_used(e.drv));
		assert_null(vsw_vq_drv_get_used(e.drv, &len));
		assert_int_equal(vsw_vq_drv_num_free(e.drv), 5);
		assert_false(vsw_vq_drv_is_broken(e.drv));
	}
	th_vq_fini(&e);
}

/* A device that lies about used ids breaks the driver queue. */
static void test_driver_bogus_used_id(void **state)
{
	static const uint16_t bad_ids[] = {8, 0xffff, 3};
	struct th_vq e;
	unsigned b;
	uint32_t len;
	int tok;

	(void)state;
	for (b = 0; b < VSW_ARRAY_SIZE(bad_ids); b++) {
		th_vq_init(&e, F_BASE, 8, 1, 0, true);
		add1(&e, &tok); /* takes id 0; id 3 is not in flight */
		e.pdesc[0].id = htole16(bad_ids[b]);
		e.pdesc[0].len = htole32(4);
		e.pdesc[0].flags = htole16(AVAIL_BIT | USED_BIT);
		assert_true(vsw_vq_drv_has_used(e.drv));
		assert_null(vsw_vq_drv_get_used(e.drv, &len));
		assert_true(vsw_vq_drv_is_broken(e.drv));
		assert_int_equal(vsw_vq_drv_add(e.drv,
						&(struct vsw_sg){e.buf, 4}, 1,
						0, &tok),
				 -EIO);
		assert_null(vsw_vq_drv_get_used(e.drv, &len));
		assert_false(vsw_vq_drv_kick_prepare(e.drv));
		th_vq_fini(&e);
	}
}

/* ------------------------------------------------------------------ */
/* Hostile driver: raw descriptors                                     */
/* ------------------------------------------------------------------ */

/* Write descriptor pos of the first lap (wrap 1) as available. */
static void raw_desc(struct th_vq *e, unsigned pos, uint64_t addr, uint32_t len,
		     uint16_t id, uint16_t flags)
{
	e->pdesc[pos].addr = htole64(addr);
	e->pdesc[pos].len = htole32(len);
	e->pdesc[pos].id = htole16(id);
	e->pdesc[pos].flags = htole16(flags | AVAIL_BIT);
}

static void raw_table(struct th_vq *e, uint64_t gpa, unsigned i, uint64_t addr,
		      uint32_t len, uint16_t flags)
{
	struct vring_packed_desc d = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
	};

	assert_int_equal(th_write(&e->m, gpa + 16 * i, &d, sizeof(d)), 0);
}

#define HOSTILE_NUM 8

static void hostile_setup(struct th_vq *e, uint64_t feat)
{
	th_vq_init(e, F_BASE | feat, HOSTILE_NUM, 4, 0, false);
}

/*
 * Table-driven hostile rings: each case writes descriptors of the first lap
 * into the ring or into an indirect table at buf + 256 and expects pop to
 * break the queue with a given error and fault.
 */
/* ring descriptor i; table entry i; n equal ones from i (see raw_write) */
/* clang-format off */
#define RD(i, b, o, len, id, fl) \
	{TH_RAW_RING, i, TH_AT_##b, 1, o, len, fl, 0, id}
#define TD(i, b, o, len, fl) \
	{TH_RAW_TABLE, i, TH_AT_##b, 1, o, len, fl, 0, 0}
#define RD_RUN(i, n, b, o, len, id, fl) \
	{TH_RAW_RING, i, TH_AT_##b, n, o, len, fl, 0, id}
#define TD_RUN(i, n, b, o, len, fl) \
	{TH_RAW_TABLE, i, TH_AT_##b, n, o, len, fl, 0, 0}
/* clang-format on */

struct hostile_case {
	struct th_vq_fault x; /* features on top of F_BASE */
	struct th_raw d[8];   /* up to the first TH_RAW_END */
};

static void raw_write(struct th_vq *e, const struct th_raw *d)
{
	unsigned j;

	for (; d->where != TH_RAW_END; d++)
		for (j = d->i; j < d->i + (d->run > 1 ? d->run : 1u); j++) {
			if (d->where == TH_RAW_RING)
				raw_desc(e, j,
					 th_vq_raw_addr(e, e->buf + 256, d),
					 d->len, d->id, d->flags);
			else
				raw_table(e, e->buf + 256, j,
					  th_vq_raw_addr(e, e->buf + 256, d),
					  d->len, d->flags);
		}
}

static void hostile_run(const void *cases, size_t n)
{
	const struct hostile_case *hc = cases;
	size_t k;

	for (k = 0; k < n; k++, hc++) {
		struct th_vq e;

		hostile_setup(&e, hc->x.features);
		raw_write(&e, hc->d);
		th_vq_expect_fault_case(&e, &hc->x);
		th_vq_fini(&e);
	}
}

/* A cmocka test named test_hostile_NAME running the table hostile_NAME. */
#define HOSTILE_TEST(name)                                                     \
	TH_VQ_TABLE_TEST("test_hostile_" #name, hostile_##name, hostile_run)

static const struct hostile_case hostile_loop[] = {
	{{"every descriptor NEXT", 0, 64, -ELOOP, VSW_VQ_FAULT_LOOP},
	 {RD_RUN(0, HOSTILE_NUM, BUF, 0, 16, 0, TH_NEXT)}},
	{{"indirect entries count too: a table of num + 1 entries", F_IND, 64,
	  -ELOOP, VSW_VQ_FAULT_LOOP},
	 {TD_RUN(0, HOSTILE_NUM + 1, BUF, 0, 16, 0),
	  RD(0, TABLE, 0, 16 * (HOSTILE_NUM + 1), 0, TH_IND)}},
};

static const struct hostile_case hostile_addr[] = {
	{{"a writable buffer right on the canary", 0, 8, -EFAULT,
	  VSW_VQ_FAULT_ADDR},
	 {RD(0, CANARY, 0, 16, 0, TH_WRITE)}},
	{{"the last byte inside, one outside", 0, 8, -EFAULT,
	  VSW_VQ_FAULT_ADDR},
	 {RD(0, CANARY, TH_BACK(15), 16, 0, TH_WRITE)}},
	{{"below all memory, in the second descriptor of a chain", 0, 8,
	  -EFAULT, VSW_VQ_FAULT_ADDR},
	 {RD(0, BUF, 0, 16, 0, TH_NEXT), RD(1, MEM, TH_BACK(4096), 0, 0, 0)}},
};

static const struct hostile_case hostile_overflow[] = {
	{{"addr + len wraps 64 bits", 0, 8, -EFAULT, VSW_VQ_FAULT_ADDR},
	 {RD(0, ABS, UINT64_MAX - 8, 16, 0, TH_WRITE)}},
	{{"a length running past the end of guest memory", 0, 8, -EFAULT,
	  VSW_VQ_FAULT_ADDR},
	 {RD(0, BUF, 0, 0xffffffff, 0, 0)}},
};

static const struct hostile_case hostile_indirect_len[] = {
	{{"24: not a multiple of 16", F_IND, 8, -EINVAL,
	  VSW_VQ_FAULT_INDIRECT_LEN},
	 {TD_RUN(0, 2, BUF, 0, 16, 0), RD(0, TABLE, 0, 24, 0, TH_IND)}},
	{{"0: empty", F_IND, 8, -EINVAL, VSW_VQ_FAULT_INDIRECT_LEN},
	 {TD_RUN(0, 2, BUF, 0, 16, 0), RD(0, TABLE, 0, 0, 0, TH_IND)}},
	{{"17: not a multiple of 16", F_IND, 8, -EINVAL,
	  VSW_VQ_FAULT_INDIRECT_LEN},
	 {TD_RUN(0, 2, BUF, 0, 16, 0), RD(0, TABLE, 0, 17, 0, TH_IND)}},
};

static const struct hostile_case hostile_indirect_addr[] = {
	{{"on the canary", F_IND, 8, -EFAULT, VSW_VQ_FAULT_INDIRECT_ADDR},
	 {RD(0, CANARY, 0, 32, 0, TH_IND)}},
	{{"across a region boundary: not one region", F_IND, 8, -EFAULT,
	  VSW_VQ_FAULT_INDIRECT_ADDR},
	 {RD(0, REGION0_END, TH_BACK(16), 32, 0, TH_IND)}},
	{{"addr + len wraps 64 bits", F_IND, 8, -EFAULT,
	  VSW_VQ_FAULT_INDIRECT_ADDR},
	 {RD(0, ABS, UINT64_MAX - 15, 32, 0, TH_IND)}},
};

static const struct hostile_case hostile_indirect_nested[] = {
	{{"an indirect entry in an indirect table", F_IND, 8, -EINVAL,
	  VSW_VQ_FAULT_INDIRECT_NESTED},
	 {TD(0, BUF, 0, 16, 0), TD(1, TABLE, 0, 32, TH_IND),
	  RD(0, TABLE, 0, 32, 0, TH_IND)}},
};

static const struct hostile_case hostile_indirect_feature[] = {
	{{"INDIRECT without the feature", 0, 8, -EPROTO,
	  VSW_VQ_FAULT_INDIRECT_FEATURE},
	 {TD(0, BUF, 0, 16, 0), RD(0, TABLE, 0, 16, 0, TH_IND)}},
};

static const struct hostile_case hostile_indirect_next[] = {
	{{"INDIRECT with NEXT", F_IND, 8, -EINVAL, VSW_VQ_FAULT_INDIRECT_NEXT},
	 {TD(0, BUF, 0, 16, 0), RD(0, TABLE, 0, 16, 0, TH_IND | TH_NEXT),
	  RD(1, BUF, 0, 16, 0, 0)}},
	{{"INDIRECT reached through NEXT", F_IND, 8, -EINVAL,
	  VSW_VQ_FAULT_INDIRECT_NEXT},
	 {TD(0, BUF, 0, 16, 0), RD(0, BUF, 0, 16, 0, TH_NEXT),
	  RD(1, TABLE, 0, 16, 0, TH_IND)}},
};

static const struct hostile_case hostile_write_order[] = {
	{{"readable after writable", 0, 8, -EPROTO, VSW_VQ_FAULT_WRITE_ORDER},
	 {RD(0, BUF, 0, 16, 0, TH_WRITE | TH_NEXT), RD(1, BUF, 16, 16, 0, 0)}},
	{{"the same inside an indirect table", F_IND, 8, -EPROTO,
	  VSW_VQ_FAULT_WRITE_ORDER},
	 {TD(0, BUF, 0, 16, TH_WRITE), TD(1, BUF, 16, 16, 0),
	  RD(0, TABLE, 0, 32, 0, TH_IND)}},
};

static void test_hostile_id_range(void **state)
{
	static const uint16_t ids[] = {HOSTILE_NUM, 0xffff};
	struct th_vq e;
	unsigned i;

	(void)state;
	for (i = 0; i < VSW_ARRAY_SIZE(ids); i++) {
		hostile_setup(&e, 0);
		raw_desc(&e, 0, e.buf, 16, ids[i], VRING_DESC_F_WRITE);
		th_vq_expect_fault(&e, 8, -ERANGE, VSW_VQ_FAULT_ID_RANGE);
		/* set_base is the reset */
		assert_int_equal(vsw_vq_dev_set_base(e.dev, 1 | 1U << 15), 0);
		assert_int_equal(vsw_vq_dev_error(e.dev), 0);
		th_vq_fini(&e);
	}
}

static void test_hostile_id_inuse(void **state)
{
	struct vsw_vq_chain c;
	struct iovec iov[4];
	struct th_vq e;

	(void)state;
	hostile_setup(&e, 0);
	raw_desc(&e, 0, e.buf, 16, 1, 0);
	raw_desc(&e, 1, e.buf, 16, 1, 0);
	assert_int_equal(vsw_vq_dev_pop(e.dev, &c, iov, 4), 1);
	assert_int_equal(c.id, 1);
	th_vq_expect_fault(&e, 4, -EBUSY, VSW_VQ_FAULT_ID_INUSE);
	th_vq_fini(&e);
}

/* The fast pop takes single-descriptor chains and leaves the rest to pop. */
static void test_pop_bufs(void **state)
{
	struct vsw_vq_buf b[8];
	struct vsw_vq_chain c;
	struct th_vq e;

	(void)state;
	hostile_setup(&e, 0);
	raw_desc(&e, 0, e.buf, 64, 3, VRING_DESC_F_WRITE);
	raw_desc(&e, 1, e.buf + 64, 16, 0,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	raw_desc(&e, 2, e.buf + 128, 16, 1, VRING_DESC_F_WRITE);
	raw_desc(&e, 3, e.buf + 256, 16, 2, 0); /* readable */
	raw_desc(&e, 4, e.buf + 512, 16, 4, VRING_DESC_F_WRITE);
	raw_desc(&e, 5, e.canary_gpa, 16, 5, VRING_DESC_F_WRITE);
	th_vq_expect_one_buf(&e, 3, &b[0]);
	assert_int_equal(b[0].len, 64);
	assert_ptr_equal(b[0].addr, th_ptr(&e.m, e.buf, 64));
	th_vq_expect_left_for_pop(&e, &c);
	assert_int_equal(c.id, 1);
	assert_int_equal(c.ndesc, 2);
	th_vq_expect_left_for_pop(&e, &c);
	assert_int_equal(c.n_out, 1);
	th_vq_expect_one_buf(&e, 4, NULL);
	/* the canary page is outside the device's memory: pop reports */
	assert_int_equal(vsw_vq_dev_pop_bufs(e.dev, b, 8), 0);
	assert_int_equal(vsw_vq_dev_error(e.dev), 0);
	/* the fast pops are in flight and go back newest first */
	c = (struct vsw_vq_chain){.id = 4, .ndesc = 1};
	vsw_vq_dev_unpop(e.dev, &c);
	assert_int_equal(vsw_vq_dev_inflight(e.dev), 3);
	th_vq_expect_one_buf(&e, 4, NULL);
	assert_int_equal(vsw_vq_dev_push(e.dev, &c, 0), 0);
	th_vq_expect_fault(&e, 8, -EFAULT, VSW_VQ_FAULT_ADDR);
	th_vq_fini(&e);

	/* an id in flight, posted again; an id out of range */
	hostile_setup(&e, 0);
	raw_desc(&e, 0, e.buf, 16, 1, VRING_DESC_F_WRITE);
	raw_desc(&e, 1, e.buf, 16, 1, VRING_DESC_F_WRITE);
	assert_int_equal(vsw_vq_dev_pop_bufs(e.dev, b, 8), 1);
	assert_int_equal(vsw_vq_dev_pop_bufs(e.dev, b, 8), 0);
	th_vq_expect_fault(&e, 4, -EBUSY, VSW_VQ_FAULT_ID_INUSE);
	th_vq_fini(&e);
	hostile_setup(&e, 0);
	raw_desc(&e, 0, e.buf, 16, HOSTILE_NUM, VRING_DESC_F_WRITE);
	assert_int_equal(vsw_vq_dev_pop_bufs(e.dev, b, 8), 0);
	th_vq_expect_fault(&e, 4, -ERANGE, VSW_VQ_FAULT_ID_RANGE);
	th_vq_fini(&e);

	/* read-only: WRITE or not, both taken; INDIRECT left to pop */
	hostile_setup(&e, F_IND);
	th_vq_dev_flags(&e, VSW_VQ_DEV_F_READ_ONLY);
	raw_desc(&e, 0, e.buf, 16, 0, VRING_DESC_F_WRITE);
	raw_desc(&e, 1, e.buf + 16, 16, 1, 0);
	raw_desc(&e, 2, e.buf + 1024, 16, 2, VRING_DESC_F_INDIRECT);
	raw_table(&e, e.buf + 1024, 0, e.buf + 32, 16, 0);
	assert_int_equal(vsw_vq_dev_pop_bufs(e.dev, b, 8), 2);
	th_vq_expect_left_for_pop(&e, &c);
	assert_int_equal(c.id, 2);
	assert_int_equal(c.out_len, 16);
	th_vq_fini(&e);
}

/*
 * VSW_VQ_DEV_F_READ_ONLY: WRITE flags are ignored in ring descriptors and
 * in indirect tables (DPDK's packed TX sets WRITE on every indirect entry,
 * the header's included); without the flag the same chains break the queue.
 */
/* without the read-only flag these chains break the queue */
static const struct hostile_case read_only_shapes[] = {
	{{"direct: writable, readable, writable", 0, 8, -EPROTO,
	  VSW_VQ_FAULT_WRITE_ORDER},
	 {RD(0, BUF, 0, 16, 0, TH_WRITE | TH_NEXT),
	  RD(1, BUF, 16, 16, 0, TH_NEXT), RD(2, BUF, 32, 16, 4, TH_WRITE)}},
	{{"indirect, as DPDK's TX: every entry WRITE, then a readable one",
	  F_IND, 8, -EPROTO, VSW_VQ_FAULT_WRITE_ORDER},
	 {TD(0, BUF, 0, 16, TH_WRITE), TD(1, BUF, 16, 16, TH_WRITE),
	  TD(2, BUF, 32, 16, 0), RD(0, TABLE, 0, 48, 6, TH_IND)}},
};

static void test_read_only(void **state)
{
	/* with it: one chain of that id and number of descriptors */
	static const uint16_t id[] = {4, 6};
	static const unsigned ndesc[] = {3, 1};
	struct th_vq e;
	unsigned i;

	(void)state;
	hostile_run(read_only_shapes, VSW_ARRAY_SIZE(read_only_shapes));
	for (i = 0; i < VSW_ARRAY_SIZE(read_only_shapes); i++) {
		hostile_setup(&e, read_only_shapes[i].x.features);
		th_vq_dev_flags(&e, VSW_VQ_DEV_F_READ_ONLY);
		raw_write(&e, read_only_shapes[i].d);
		th_vq_expect_read_only_chain(&e, e.buf, id[i], ndesc[i], 3);
		th_vq_fini(&e);
	}

	/* the flag changes nothing else: other faults still break it */
	hostile_setup(&e, 0);
	th_vq_dev_flags(&e, VSW_VQ_DEV_F_READ_ONLY);
	raw_desc(&e, 0, e.buf, 16, HOSTILE_NUM, VRING_DESC_F_WRITE);
	th_vq_expect_fault(&e, 8, -ERANGE, VSW_VQ_FAULT_ID_RANGE);
	th_vq_expect_dev_flags_refused(&e, VSW_VQ_DEV_F_READ_ONLY << 1);
	th_vq_fini(&e);
}

static const struct hostile_case hostile_segments[] = {
	{{"four segments, room for three", 0, 3, -ENOBUFS,
	  VSW_VQ_FAULT_SEGMENTS},
	 {RD(0, BUF, 0, 16, 0, TH_NEXT), RD(1, BUF, 16, 16, 0, TH_NEXT),
	  RD(2, BUF, 32, 16, 0, TH_NEXT), RD(3, BUF, 48, 16, 0, 0)}},
};

static void test_hostile_segments(void **state)
{
	struct th_vq e;
	unsigned i;

	(void)state;
	hostile_run(hostile_segments, VSW_ARRAY_SIZE(hostile_segments));

	/* zero-length descriptors take no segment */
	hostile_setup(&e, 0);
	for (i = 0; i < 4; i++)
		raw_desc(&e, i, e.buf + 16 * i, i == 2 ? 0 : 16, 5,
			 i < 3 ? VRING_DESC_F_NEXT : 0);
	{
		struct vsw_vq_chain c;
		struct iovec iov[3];

		assert_int_equal(vsw_vq_dev_pop(e.dev, &c, iov, 3), 1);
		assert_int_equal(c.id, 5);
		assert_int_equal(c.ndesc, 4);
		assert_int_equal(c.n_out, 3);
		assert_int_equal(c.out_len, 48);
	}
	th_vq_fini(&e);
}

/* Only AVAIL == wrap && USED != wrap makes a descriptor available. */
static void test_avail_used_bits(void **state)
{
	static const uint16_t not_avail[] = {0, USED_BIT, AVAIL_BIT | USED_BIT};
	struct vsw_vq_chain c;
	struct iovec iov[4];
	struct th_vq e;
	uint32_t len;
	unsigned i;
	int tok;

	(void)state;
	hostile_setup(&e, 0);
	raw_desc(&e, 0, e.buf, 16, 2, 0);
	for (i = 0; i < VSW_ARRAY_SIZE(not_avail); i++) {
		e.pdesc[0].flags = htole16(not_avail[i]);
		assert_false(vsw_vq_dev_has_avail(e.dev));
		assert_int_equal(vsw_vq_dev_pop(e.dev, &c, iov, 4), 0);
		assert_false(vsw_vq_dev_enable_notify(e.dev));
	}
	e.pdesc[0].flags = htole16(AVAIL_BIT);
	assert_true(vsw_vq_dev_has_avail(e.dev));
	assert_int_equal(vsw_vq_dev_pop(e.dev, &c, iov, 4), 1);
	assert_int_equal(c.id, 2);
	assert_int_equal(vsw_vq_dev_error(e.dev), 0);
	th_vq_fini(&e);

	/* the driver never takes its own available descriptor as used */
	th_vq_init(&e, F_BASE, 4, 1, 0, true);
	add1(&e, &tok);
	assert_false(vsw_vq_drv_has_used(e.drv));
	assert_null(vsw_vq_drv_get_used(e.drv, &len));
	assert_true(vsw_vq_drv_enable_cb(e.drv));
	e.pdesc[0].flags = htole16(USED_BIT); /* used, for the other wrap */
	assert_false(vsw_vq_drv_has_used(e.drv));
	assert_null(vsw_vq_drv_get_used(e.drv, &len));
	assert_false(vsw_vq_drv_is_broken(e.drv));
	th_vq_fini(&e);
}

/* A ring the device may not map is refused at create. */
static void test_dev_create_bad_areas(void **state)
{
	static const struct th_vq_bad_area bad[] = {
		{"ring runs into the canary", 0, TH_AT_CANARY, TH_BACK(16)},
		{"misaligned ring", 0, TH_AT_SELF, 8},
		{"device event area on the canary", 2, TH_AT_CANARY, 0},
		{"misaligned driver event area", 1, TH_AT_SELF, 2},
	};
	struct th_vq e;

	(void)state;
	hostile_setup(&e, 0);
	th_vq_expect_bad_areas(&e, bad, VSW_ARRAY_SIZE(bad));
	th_vq_fini(&e);
}

/* ------------------------------------------------------------------ */
/* Notification protocol, driver and device interleaved call by call   */
/* ------------------------------------------------------------------ */

/*
 * Both sides run the loop of tests/func/test_stress_2proc.c (and of any real
 * driver / device): add a batch, kick if kick_prepare says so, reap; sleep
 * only after enable_cb / enable_notify said it is safe, wake on the peer's
 * signal, disable again. Here one scheduler interleaves the two loops one
 * API call at a time, in random runs, with the eventfds as counters. A lost
 * kick or interrupt shows as both sides asleep with no signal pending.
 */
enum ni_drv_state { NI_ADD, NI_KICK, NI_REAP, NI_ENABLE_CB, NI_DRV_SLEEP };
enum ni_dev_state { NI_POP, NI_FLUSH, NI_NOTIFY, NI_ENABLE, NI_DEV_SLEEP };

struct ni {
	struct th_vq e;
	enum ni_drv_state ds;
	enum ni_dev_state vs;
	unsigned kicks, calls;	   /* eventfd counters */
	unsigned batch, k, reaped; /* driver: this round's adds and reaps */
	uint64_t added, completed, popped;
	struct vsw_vq_used burst[16];
	unsigned nburst, burst_max;
	bool idle;
	unsigned long sleeps[2];
};

/* One call of the driver's loop. */
static void ni_drv_step(struct ni *t, void **tok)
{
	struct vsw_sg sg[6];
	uint32_t len;
	unsigned n, n_out, i;
	void *got;
	int ret;

	switch (t->ds) {
	case NI_ADD:
		if (t->k == t->batch) {
			t->ds = NI_KICK;
			break;
		}
		n = 1 + th_vq_rnd(&t->e, t->e.num < 6 ? t->e.num : 6);
		n_out = th_vq_rnd(&t->e, n + 1);
		for (i = 0; i < n; i++) {
			sg[i].addr = t->e.buf + 64 * i;
			sg[i].len = 8;
		}
		ret = vsw_vq_drv_add(t->e.drv, sg, n_out, n - n_out,
				     &tok[t->added % t->e.num]);
		if (ret == -ENOSPC) {
			t->ds = NI_KICK;
			break;
		}
		assert_int_equal(ret, 0);
		t->added++;
		t->k++;
		break;
	case NI_KICK:
		if (t->k > 0 && vsw_vq_drv_kick_prepare(t->e.drv))
			t->kicks++;
		t->reaped = 0;
		t->ds = NI_REAP;
		break;
	case NI_REAP:
		got = vsw_vq_drv_get_used(t->e.drv, &len);
		if (got != NULL) {
			/* the device completes in pop order: FIFO */
			assert_ptr_equal(got, &tok[t->completed % t->e.num]);
			t->completed++;
			t->reaped++;
			break;
		}
		assert_false(vsw_vq_drv_is_broken(t->e.drv));
		if (t->k > 0 || t->reaped > 0) {
			t->k = 0;
			t->batch = 1 + th_vq_rnd(&t->e, 48);
			t->ds = NI_ADD;
		} else {
			t->ds = NI_ENABLE_CB;
		}
		break;
	case NI_ENABLE_CB:
		if (vsw_vq_drv_enable_cb(t->e.drv)) {
			t->ds = NI_DRV_SLEEP;
			break;
		}
		vsw_vq_drv_disable_cb(t->e.drv);
		t->k = 0;
		t->ds = NI_ADD;
		break;
	case NI_DRV_SLEEP: /* woken: the scheduler saw calls > 0 */
		t->sleeps[0]++;
		t->calls = 0;
		vsw_vq_drv_disable_cb(t->e.drv);
		t->k = 0;
		t->ds = NI_ADD;
		break;
	}
}

/* One call of the device's loop. */
static void ni_dev_step(struct ni *t)
{
	struct vsw_vq_chain c;
	struct iovec iov[8];
	int ret;

	switch (t->vs) {
	case NI_POP:
		ret = vsw_vq_dev_pop(t->e.dev, &c, iov, 8);
		assert_true(ret == 0 || ret == 1);
		t->idle = ret == 0;
		if (ret == 1) {
			struct vsw_vq_used *u = &t->burst[t->nburst++];

			u->id = c.id;
			u->ndesc = c.ndesc;
			/* len 0 now and then: still one used entry each */
			u->len = th_vq_rnd(&t->e, 4) == 0 ? 0
							  : (uint32_t)c.in_len;
			t->popped++;
		}
		if (t->idle || t->nburst == t->burst_max)
			t->vs = NI_FLUSH;
		break;
	case NI_FLUSH:
		if (t->nburst == 0) {
			t->vs = t->idle ? NI_ENABLE : NI_POP;
			break;
		}
		ret = vsw_vq_dev_push_burst(t->e.dev, t->burst, t->nburst);
		assert_int_equal(ret, 0);
		t->nburst = 0;
		t->burst_max = 1 + th_vq_rnd(&t->e, 16);
		t->vs = NI_NOTIFY;
		break;
	case NI_NOTIFY:
		if (vsw_vq_dev_need_notify(t->e.dev))
			t->calls++;
		t->vs = t->idle ? NI_ENABLE : NI_POP;
		break;
	case NI_ENABLE:
		t->vs = vsw_vq_dev_enable_notify(t->e.dev) ? NI_POP
							   : NI_DEV_SLEEP;
		break;
	case NI_DEV_SLEEP: /* woken: the scheduler saw kicks > 0 */
		t->sleeps[1]++;
		t->kicks = 0;
		vsw_vq_dev_disable_notify(t->e.dev);
		t->vs = NI_POP;
		break;
	}
}

static void ni_run(uint64_t feat, uint32_t num, uint64_t target, uint64_t seed)
{
	struct ni t = {0};
	void **tok = calloc(num, sizeof(*tok));
	unsigned steps = 0, run = 0;
	bool drv_turn = true;

	assert_non_null(tok);
	th_vq_init(&t.e, feat, num, 1, 0, true);
	th_rng_seed(&t.e.rng, seed);
	t.batch = 1 + th_vq_rnd(&t.e, 48);
	t.burst_max = 1 + th_vq_rnd(&t.e, 16);
	vsw_vq_drv_disable_cb(t.e.drv);
	while (t.completed < target) {
		bool drv_ready = t.ds != NI_DRV_SLEEP || t.calls > 0;
		bool dev_ready = t.vs != NI_DEV_SLEEP || t.kicks > 0;

		if (!drv_ready && !dev_ready)
			fail_msg("features 0x%llx num %u: both sides asleep "
				 "after %u calls, %llu added, %llu popped, "
				 "%llu completed, driver has_used %d, device "
				 "has_avail %d",
				 (unsigned long long)feat, num, steps,
				 (unsigned long long)t.added,
				 (unsigned long long)t.popped,
				 (unsigned long long)t.completed,
				 vsw_vq_drv_has_used(t.e.drv),
				 vsw_vq_dev_has_avail(t.e.dev));
		/* runs of 1..12 calls on one side, as preemption gives */
		if (run == 0) {
			drv_turn = th_vq_rnd(&t.e, 2);
			run = 1 + th_vq_rnd(&t.e, 12);
		}
		run--;
		if ((drv_turn && drv_ready) || !dev_ready)
			ni_drv_step(&t, tok);
		else
			ni_dev_step(&t);
		assert_true(++steps < 200 * target);
	}
	/* both sides really slept and were woken, many times */
	assert_true(t.sleeps[0] > target / 50);
	assert_true(t.sleeps[1] > target / 50);
	assert_int_equal(vsw_vq_dev_error(t.e.dev), 0);
	th_vq_fini(&t.e);
	free(tok);
}

static void test_notify_interleavings(void **state)
{
	static const uint64_t feats[] = {0, F_EI, F_IO, F_IO | F_EI};
	static const uint32_t nums[] = {1, 5, 61};
	unsigned f, n, seed;

	(void)state;
	for (f = 0; f < VSW_ARRAY_SIZE(feats); f++)
		for (n = 0; n < VSW_ARRAY_SIZE(nums); n++)
			for (seed = 0; seed < 4; seed++)
				ni_run(F_BASE | feats[f], nums[n], 4000,
				       0x12345678 + seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_roundtrips),
		cmocka_unit_test(test_random_in_order),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_buffer_spans_regions),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_unpop_several),
		cmocka_unit_test(test_set_get_base),
		cmocka_unit_test(test_set_base_stale),
		cmocka_unit_test(test_kick_suppression),
		cmocka_unit_test(test_interrupt_suppression),
		cmocka_unit_test(test_event_offwrap),
		cmocka_unit_test(test_event_offwrap_api_65535),
		cmocka_unit_test(test_in_order_push),
		cmocka_unit_test(test_in_order_driver_folded),
		cmocka_unit_test(test_notify_interleavings),
		cmocka_unit_test(test_driver_bogus_used_id),
		cmocka_unit_test(test_hostile_id_range),
		cmocka_unit_test(test_hostile_id_inuse),
		cmocka_unit_test(test_pop_bufs),
		HOSTILE_TEST(loop),
		HOSTILE_TEST(addr),
		HOSTILE_TEST(overflow),
		HOSTILE_TEST(indirect_len),
		HOSTILE_TEST(indirect_addr),
		HOSTILE_TEST(indirect_nested),
		HOSTILE_TEST(indirect_feature),
		HOSTILE_TEST(indirect_next),
		HOSTILE_TEST(write_order),
		cmocka_unit_test(test_hostile_segments),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_avail_used_bits),
		cmocka_unit_test(test_dev_create_bad_areas),
	};

	return cmocka_run_group_tests_name("virtq_packed", tests, NULL, NULL);
}
