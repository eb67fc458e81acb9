/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the split virtqueue (lib/virtq/virtq_split.c), driver and
 * device in one process over the same memfd guest memory.
 *
 * The fixture is tests/common/th_virtq.h: th_mem guest memory in several
 * regions (not contiguous in host memory), a canary page after each region
 * and one at the end of guest memory, checked after every test.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsw/virtq.h>

#include "th_virtq.h"

#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_IND (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_ORDER (1ULL << VIRTIO_F_IN_ORDER)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* the feature combinations most tests run under */
static const uint64_t combos[] = {
	F_V1,
	F_V1 | F_EVENT,
	F_V1 | F_IND,
	F_V1 | F_EVENT | F_IND,
};

static uint16_t le16_at(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static uint16_t *used_event(struct th_vq *f)
{
	return (uint16_t *)&f->avail->ring[f->num];
}

static uint16_t *avail_event(struct th_vq *f)
{
	return (uint16_t *)&f->used->ring[f->num];
}

/* ------------------------------------------------------------------ */
/* Random round trips with byte checks                                 */
/* ------------------------------------------------------------------ */

#define MAX_SEG 6
#define SEG_STRIDE 4096u

struct slot {
	uint64_t gpa[MAX_SEG];
	uint32_t len[MAX_SEG];
	unsigned n_out, n_in;
	uint8_t seed;
	bool busy;
	uint32_t pushed_len;
};

static uint8_t out_byte(const struct slot *s, uint64_t j)
{
	return (uint8_t)(s->seed + j * 31 + (j >> 8));
}

static uint8_t in_byte(const struct slot *s, uint64_t j)
{
	return (uint8_t)(~s->seed + j * 17);
}

/* iovec entries a guest range maps to: one per region it touches */
static unsigned expect_segs(struct th_vq *f, uint64_t gpa, uint32_t len)
{
	uint64_t per = f->m.size / f->m.nregions;

	if (len == 0)
		return 0;
	return (unsigned)((gpa + len - 1 - TH_VQ_GPA_BASE) / per -
			  (gpa - TH_VQ_GPA_BASE) / per + 1);
}

static void iov_check(const struct iovec *iov, unsigned n, const struct slot *s,
		      bool out, uint64_t total)
{
	uint64_t j = 0;
	unsigned k;
	size_t b;

	for (k = 0; k < n; k++) {
		const uint8_t *p = iov[k].iov_base;

		for (b = 0; b < iov[k].iov_len; b++, j++)
			if (p[b] != (out ? out_byte(s, j) : 0))
				fail_msg("byte %llu of the %s part wrong",
					 (unsigned long long)j,
					 out ? "out" : "in");
	}
	assert_int_equal(j, total);
}

static void iov_fill(const struct iovec *iov, unsigned n, const struct slot *s,
		     uint32_t len)
{
	uint64_t j = 0;
	unsigned k;
	size_t b;

	for (k = 0; k < n && j < len; k++) {
		uint8_t *p = iov[k].iov_base;

		for (b = 0; b < iov[k].iov_len && j < len; b++, j++)
			p[b] = in_byte(s, j);
	}
}

static void slot_check_in(struct th_vq *f, const struct slot *s, uint32_t len)
{
	uint64_t j = 0;
	unsigned k;
	uint32_t b;
	uint8_t buf[SEG_STRIDE];

	for (k = s->n_out; k < s->n_out + s->n_in; k++) {
		assert_int_equal(th_read(&f->m, s->gpa[k], buf, s->len[k]), 0);
		for (b = 0; b < s->len[k]; b++, j++) {
			uint8_t want = j < len ? in_byte(s, j) : 0;

			if (buf[b] != want)
				fail_msg("in byte %llu: %u, want %u",
					 (unsigned long long)j, buf[b], want);
		}
	}
}

static int slot_add(struct th_vq *f, struct slot *s)
{
	struct vsw_sg sg[MAX_SEG];
	uint8_t buf[SEG_STRIDE];
	uint64_t j = 0;
	unsigned k, b;

	for (k = 0; k < s->n_out + s->n_in; k++) {
		for (b = 0; b < s->len[k]; b++)
			buf[b] = k < s->n_out ? out_byte(s, j++) : 0;
		assert_int_equal(th_write(&f->m, s->gpa[k], buf, s->len[k]), 0);
		sg[k].addr = s->gpa[k];
		sg[k].len = s->len[k];
	}
	return vsw_vq_drv_add(f->drv, sg, s->n_out, s->n_in, s);
}

struct popped {
	struct vsw_vq_chain c;
	struct slot *s;
};

static void roundtrip(uint64_t features, uint32_t num, unsigned nregions,
		      unsigned rounds, uint64_t seed)
{
	struct th_vq f;
	struct slot *slots, **fifo;
	struct popped *pop;
	struct iovec iov[MAX_SEG * 2];
	unsigned fifo_h = 0, fifo_t = 0, npop, i, k, done = 0;
	unsigned next_id = 0; /* IN_ORDER: descriptors used in ring order */
	uint16_t used0;
	uint64_t pool;
	bool in_order = features & F_ORDER;

	th_vq_init(&f, features, num, nregions, (features & F_IND) ? 4 : 0,
		   true);
	th_rng_seed(&f.rng, seed);
	slots = calloc(num, sizeof(*slots));
	fifo = calloc(num, sizeof(*fifo));
	pop = calloc(num, sizeof(*pop));
	assert_non_null(slots);
	assert_non_null(fifo);
	assert_non_null(pop);
	/* segments start mid-page so some of them cross a region boundary */
	pool = th_alloc(&f.m, (size_t)num * MAX_SEG * SEG_STRIDE + TH_PAGE,
			TH_PAGE) +
	       2048;
	for (i = 0; i < num; i++)
		for (k = 0; k < MAX_SEG; k++)
			slots[i].gpa[k] =
				pool + ((uint64_t)i * MAX_SEG + k) * SEG_STRIDE;

	while (done < rounds) {
		/* driver: expose a random number of random chains */
		unsigned want = 1 + th_vq_rnd(&f, num);

		for (i = 0; i < num && want > 0; i++) {
			struct slot *s = &slots[i];
			unsigned n, need;
			int ret;

			if (s->busy)
				continue;
			s->n_out = th_vq_rnd(&f, 4);
			s->n_in = th_vq_rnd(&f, 4);
			if (s->n_out + s->n_in == 0)
				s->n_out = 1;
			n = s->n_out + s->n_in;
			for (k = 0; k < n; k++)
				s->len[k] = th_vq_rnd(&f, 5) == 0
						    ? 0
						    : 1 + th_vq_rnd(&f, 4096);
			s->seed = (uint8_t)th_vq_rnd(&f, 256);
			need = (f.ind_max && n > 1 && n <= f.ind_max) ? 1 : n;
			ret = slot_add(&f, s);
			if (ret == -ENOSPC) {
				assert_true(vsw_vq_drv_num_free(f.drv) < need);
				break;
			}
			assert_int_equal(ret, 0);
			s->busy = true;
			fifo[fifo_t++ % num] = s;
			want--;
		}
		vsw_vq_drv_kick_prepare(f.drv);

		/* device: pop what is there, check and fill the buffers */
		npop = 0;
		for (;;) {
			struct popped *p = &pop[npop];
			struct slot *s;
			unsigned eo = 0, ei = 0, ndesc;
			uint64_t ol = 0, il = 0;
			int ret = vsw_vq_dev_pop(f.dev, &p->c, iov,
						 ARRAY_SIZE(iov));

			if (ret == 0)
				break;
			assert_int_equal(ret, 1);
			assert_true(fifo_h != fifo_t);
			s = p->s = fifo[fifo_h++ % num];
			for (k = 0; k < s->n_out + s->n_in; k++) {
				unsigned e =
					expect_segs(&f, s->gpa[k], s->len[k]);

				if (k < s->n_out) {
					eo += e;
					ol += s->len[k];
				} else {
					ei += e;
					il += s->len[k];
				}
			}
			ndesc = (f.ind_max && s->n_out + s->n_in > 1 &&
				 s->n_out + s->n_in <= f.ind_max)
					? 1
					: s->n_out + s->n_in;
			assert_int_equal(p->c.ndesc, ndesc);
			if (in_order) {
				assert_int_equal(p->c.id, next_id);
				next_id = (next_id + ndesc) % num;
			}
			assert_int_equal(p->c.n_out, eo);
			assert_int_equal(p->c.n_in, ei);
			assert_int_equal(p->c.out_len, ol);
			assert_int_equal(p->c.in_len, il);
			iov_check(iov, eo, s, true, ol);
			iov_check(iov + eo, ei, s, false, il);
			s->pushed_len = il ? th_vq_rnd(&f, (uint32_t)il + 1)
					   : 0;
			if (in_order && th_vq_rnd(&f, 3) == 0)
				s->pushed_len = 0; /* must not be folded */
			iov_fill(iov + eo, ei, s, s->pushed_len);
			npop++;
		}
		assert_int_equal(vsw_vq_dev_inflight(f.dev), npop);

		/* device: push in random order (in order with IN_ORDER) */
		if (!in_order)
			for (i = npop; i > 1; i--) {
				unsigned j = th_vq_rnd(&f, i);
				struct popped t = pop[i - 1];

				pop[i - 1] = pop[j];
				pop[j] = t;
			}
		used0 = le16_at(&f.used->idx);
		for (i = 0; i < npop;) {
			struct vsw_vq_used u[8];
			unsigned b = 1 + th_vq_rnd(&f, 8);

			for (k = 0; k < b && i < npop; k++, i++) {
				u[k].id = pop[i].c.id;
				u[k].ndesc = pop[i].c.ndesc;
				u[k].len = pop[i].s->pushed_len;
			}
			assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, k), 0);
		}
		vsw_vq_dev_need_notify(f.dev);
		assert_int_equal(vsw_vq_dev_inflight(f.dev), 0);
		/* one used entry per chain, with IN_ORDER too */
		assert_int_equal(le16_at(&f.used->idx),
				 (uint16_t)(used0 + npop));

		/* driver: collect and check; IN_ORDER returns in add order */
		for (i = 0; i < npop; i++) {
			uint32_t len = 0xdeadbeef;
			struct slot *s = vsw_vq_drv_get_used(f.drv, &len);

			assert_non_null(s);
			assert_true(s->busy);
			if (in_order)
				assert_ptr_equal(s, pop[i].s);
			assert_int_equal(len, s->pushed_len);
			slot_check_in(&f, s, len);
			s->busy = false;
			done++;
		}
		assert_null(vsw_vq_drv_get_used(f.drv, &k));
		assert_false(vsw_vq_drv_is_broken(f.drv));
		assert_int_equal(vsw_vq_dev_error(f.dev), 0);
	}
	assert_int_equal(vsw_vq_drv_num_free(f.drv), num);
	free(slots);
	free(fifo);
	free(pop);
	th_vq_fini(&f);
}

static void test_roundtrip_random(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(combos); i++) {
		roundtrip(combos[i], 16, 4, 3000, 0x9e3779b97f4a7c15ULL + i);
		roundtrip(combos[i], 256, 8, 3000, 0x5851f42d4c957f2dULL + i);
	}
	roundtrip(F_V1 | F_ORDER, 16, 4, 3000, 1);
	roundtrip(F_V1 | F_ORDER | F_EVENT | F_IND, 64, 4, 3000, 2);
}

/* ------------------------------------------------------------------ */
/* Small helpers for the scripted tests                                */
/* ------------------------------------------------------------------ */

/* a writable buffer of 64 bytes of the scratch page */
static void add1(struct th_vq *f, void *token)
{
	th_vq_add1(f, token, 64, true);
}

static void fx_small(struct th_vq *f, uint64_t features)
{
	th_vq_init(f, features, 8, 2, (features & F_IND) ? 4 : 0, true);
}

static int tok[32];
#define T(i) ((void *)&tok[i])

/* ------------------------------------------------------------------ */
/* Notification suppression                                            */
/* ------------------------------------------------------------------ */

static void test_notify_flags(void **state)
{
	struct vsw_vq_chain ca, cb, cc;
	struct th_vq f;

	(void)state;
	fx_small(&f, F_V1);
	/* kicks */
	add1(&f, T(0));
	assert_true(vsw_vq_drv_kick_prepare(f.drv));
	assert_false(vsw_vq_drv_kick_prepare(f.drv)); /* nothing new */
	vsw_vq_dev_disable_notify(f.dev);
	assert_int_equal(le16_at(&f.used->flags), VRING_USED_F_NO_NOTIFY);
	add1(&f, T(1));
	assert_false(vsw_vq_drv_kick_prepare(f.drv));
	assert_true(vsw_vq_dev_enable_notify(f.dev)); /* two pending */
	assert_int_equal(le16_at(&f.used->flags), 0);
	th_vq_pop1(&f, &ca);
	th_vq_pop1(&f, &cb);
	assert_false(vsw_vq_dev_has_avail(f.dev));
	assert_false(vsw_vq_dev_enable_notify(f.dev));
	add1(&f, T(2));
	assert_true(vsw_vq_dev_has_avail(f.dev));
	assert_true(vsw_vq_drv_kick_prepare(f.drv));
	/* interrupts */
	th_vq_push1(&f, &ca, 1);
	assert_true(vsw_vq_dev_need_notify(f.dev));
	assert_false(vsw_vq_dev_need_notify(f.dev)); /* nothing new */
	vsw_vq_drv_disable_cb(f.drv);
	assert_int_equal(le16_at(&f.avail->flags), VRING_AVAIL_F_NO_INTERRUPT);
	th_vq_push1(&f, &cb, 2);
	assert_false(vsw_vq_dev_need_notify(f.dev));
	assert_true(vsw_vq_drv_has_used(f.drv));
	assert_false(vsw_vq_drv_enable_cb(f.drv)); /* two used pending */
	assert_int_equal(le16_at(&f.avail->flags), 0);
	th_vq_get1(&f, T(0), 1);
	th_vq_get1(&f, T(1), 2);
	assert_false(vsw_vq_drv_has_used(f.drv));
	assert_true(vsw_vq_drv_enable_cb(f.drv));
	th_vq_pop1(&f, &cc);
	th_vq_push1(&f, &cc, 3);
	assert_true(vsw_vq_dev_need_notify(f.dev));
	th_vq_get1(&f, T(2), 3);
	/* EVENT_IDX fields are left alone without the feature */
	assert_int_equal(le16_at(used_event(&f)), 0);
	assert_int_equal(le16_at(avail_event(&f)), 0);
	th_vq_fini(&f);
}

static void test_notify_event_idx(void **state)
{
	struct vsw_vq_chain c[6];
	struct th_vq f;
	unsigned i;

	(void)state;
	fx_small(&f, F_V1 | F_EVENT);
	/* kicks: avail_event starts at 0 */
	add1(&f, T(0));
	assert_true(vsw_vq_drv_kick_prepare(f.drv)); /* crosses 0 */
	add1(&f, T(1));
	add1(&f, T(2));
	assert_false(vsw_vq_drv_kick_prepare(f.drv)); /* 0 already passed */
	assert_true(vsw_vq_dev_enable_notify(f.dev)); /* three pending */
	for (i = 0; i < 3; i++)
		th_vq_pop1(&f, &c[i]);
	assert_false(vsw_vq_dev_enable_notify(f.dev));
	assert_int_equal(le16_at(avail_event(&f)), 3);
	assert_int_equal(le16_at(&f.used->flags), 0);
	add1(&f, T(3));
	assert_true(vsw_vq_drv_kick_prepare(f.drv)); /* entry 3 added */
	add1(&f, T(4));
	assert_false(vsw_vq_drv_kick_prepare(f.drv));
	vsw_vq_dev_disable_notify(f.dev);
	assert_int_equal(le16_at(avail_event(&f)), 2);
	assert_int_equal(le16_at(&f.used->flags), 0); /* §2.6.10 */
	th_vq_pop1(&f, &c[3]);
	th_vq_pop1(&f, &c[4]);
	add1(&f, T(5));
	assert_false(vsw_vq_drv_kick_prepare(f.drv)); /* disabled */
	assert_true(vsw_vq_dev_enable_notify(f.dev)); /* entry 5 pending */
	assert_int_equal(le16_at(avail_event(&f)), 5);
	th_vq_pop1(&f, &c[5]);

	/* interrupts: used_event starts at 0 */
	th_vq_push1(&f, &c[0], 10);
	assert_true(vsw_vq_dev_need_notify(f.dev));
	th_vq_push1(&f, &c[1], 11);
	assert_false(vsw_vq_dev_need_notify(f.dev)); /* 0 already passed */
	th_vq_get1(&f, T(0), 10);
	th_vq_get1(&f, T(1), 11);
	assert_int_equal(le16_at(used_event(&f)), 2);
	th_vq_push1(&f, &c[2], 12);
	assert_true(vsw_vq_dev_need_notify(f.dev)); /* entry 2 written */
	vsw_vq_drv_disable_cb(f.drv);
	assert_int_equal(le16_at(&f.avail->flags), 0); /* §2.6.7 */
	assert_int_equal(le16_at(used_event(&f)), 1);
	th_vq_push1(&f, &c[3], 13);
	assert_false(vsw_vq_dev_need_notify(f.dev));
	assert_false(vsw_vq_drv_enable_cb(f.drv)); /* 2 and 3 pending */
	assert_int_equal(le16_at(used_event(&f)), 2);
	th_vq_get1(&f, T(2), 12);
	th_vq_get1(&f, T(3), 13);
	assert_true(vsw_vq_drv_enable_cb(f.drv));
	assert_int_equal(le16_at(used_event(&f)), 4);
	/* a batch of two pushes: one interrupt */
	th_vq_push1(&f, &c[4], 14);
	th_vq_push1(&f, &c[5], 15);
	assert_true(vsw_vq_dev_need_notify(f.dev));
	assert_false(vsw_vq_dev_need_notify(f.dev));
	th_vq_get1(&f, T(4), 14);
	th_vq_get1(&f, T(5), 15);
	assert_null(vsw_vq_drv_get_used(f.drv, &i));
	th_vq_fini(&f);
}

static void test_enable_cb_race(void **state)
{
	struct vsw_vq_chain c;
	struct th_vq f;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(combos); i++) {
		fx_small(&f, combos[i]);
		add1(&f, T(0));
		th_vq_pop1(&f, &c);
		vsw_vq_drv_disable_cb(f.drv);
		/* the device completes between disable and enable */
		th_vq_push1(&f, &c, 7);
		assert_false(vsw_vq_dev_need_notify(f.dev));
		assert_false(vsw_vq_drv_enable_cb(f.drv));
		th_vq_get1(&f, T(0), 7);
		assert_true(vsw_vq_drv_enable_cb(f.drv));
		/* and after a real enable the next push interrupts */
		add1(&f, T(1));
		th_vq_pop1(&f, &c);
		th_vq_push1(&f, &c, 8);
		assert_true(vsw_vq_dev_need_notify(f.dev));
		th_vq_get1(&f, T(1), 8);
		th_vq_fini(&f);
	}
}

/* ------------------------------------------------------------------ */
/* Index wrap-around                                                   */
/* ------------------------------------------------------------------ */

static void wrap_run(uint64_t features, uint64_t seed)
{
	struct vsw_vq_chain c[8];
	struct iovec iov[4];
	struct th_vq f;
	unsigned total = 0, i, n, kicks = 0, irqs = 0;
	uint32_t len;

	fx_small(&f, features);
	th_rng_seed(&f.rng, seed);
	while (total < 70000) {
		n = 1 +
		    th_vq_rnd(&f,
			      4); /* two descriptors each without indirect */
		for (i = 0; i < n; i++) {
			struct vsw_sg sg[2] = {{f.buf, 8}, {f.buf + 64, 8}};

			assert_int_equal(vsw_vq_drv_add(f.drv, sg, 1, 1,
							T((total + i) % 32)),
					 0);
		}
		kicks += vsw_vq_drv_kick_prepare(f.drv);
		for (i = 0; i < n; i++) {
			assert_int_equal(vsw_vq_dev_pop(f.dev, &c[i], iov, 4),
					 1);
			assert_int_equal(c[i].out_len, 8);
			assert_int_equal(c[i].in_len, 8);
		}
		assert_int_equal(vsw_vq_dev_pop(f.dev, &c[0], iov, 4), 0);
		assert_false(vsw_vq_dev_enable_notify(f.dev));
		for (i = 0; i < n; i++)
			th_vq_push1(&f, &c[i], i % 2 ? 8 : 0);
		irqs += vsw_vq_dev_need_notify(f.dev);
		for (i = 0; i < n; i++)
			th_vq_get1(&f, T((total + i) % 32), i % 2 ? 8 : 0);
		assert_null(vsw_vq_drv_get_used(f.drv, &len));
		assert_true(vsw_vq_drv_enable_cb(f.drv));
		total += n;
	}
	/* every batch was announced and answered exactly once */
	assert_int_equal(kicks, irqs);
	assert_true(kicks > 70000 / 8);
	assert_int_equal(vsw_vq_dev_get_base(f.dev), total & 0xffff);
	assert_int_equal(le16_at(&f.avail->idx), total & 0xffff);
	if (!(features & F_ORDER))
		assert_int_equal(le16_at(&f.used->idx), total & 0xffff);
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 8);
	th_vq_fini(&f);
}

static void test_wrap(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(combos); i++)
		wrap_run(combos[i], 12345 + i);
	wrap_run(F_V1 | F_ORDER | F_EVENT, 54321);
}

/* ------------------------------------------------------------------ */
/* IN_ORDER                                                            */
/* ------------------------------------------------------------------ */

/*
 * IN_ORDER, device side: one used entry per chain, also for len 0 entries
 * (never folded into the next one: DPDK's driver counts one per buffer).
 */
static void test_in_order_push(void **state)
{
	struct vsw_vq_chain c[4];
	struct vsw_vq_used u[4];
	struct th_vq f;
	unsigned i;
	uint32_t len;
	uint16_t used0;

	(void)state;
	fx_small(&f, F_V1 | F_ORDER);
	for (i = 0; i < 4; i++)
		add1(&f, T(i));
	for (i = 0; i < 4; i++) {
		th_vq_pop1(&f, &c[i]);
		assert_int_equal(c[i].id, i); /* §2.6.9: ring order */
		u[i].id = c[i].id;
		u[i].ndesc = c[i].ndesc;
		u[i].len = i == 3 ? 40 : 0;
	}
	/* out of order: refused, nothing published, queue not broken */
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, &u[1], 1), -EINVAL);
	assert_int_equal(vsw_vq_dev_error(f.dev), 0);
	assert_int_equal(le16_at(&f.used->idx), 0);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 4);
	/* 0, 0, 0, 40: four used entries, in order */
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, 4), 0);
	assert_int_equal(le16_at(&f.used->idx), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(le32toh(f.used->ring[i].id), c[i].id);
		assert_int_equal(le32toh(f.used->ring[i].len), u[i].len);
	}
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 0);
	assert_true(vsw_vq_drv_has_used(f.drv));
	th_vq_get1(&f, T(0), 0);
	assert_true(vsw_vq_drv_has_used(f.drv));
	assert_false(vsw_vq_drv_enable_cb(f.drv)); /* 1..3 still to hand out */
	th_vq_get1(&f, T(1), 0);
	th_vq_get1(&f, T(2), 0);
	th_vq_get1(&f, T(3), 40);
	assert_null(vsw_vq_drv_get_used(f.drv, &len));
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 8);

	/* 0, 50, 0, 0: four entries again, the trailing len 0 ones too */
	for (i = 0; i < 4; i++)
		add1(&f, T(4 + i));
	for (i = 0; i < 4; i++) {
		th_vq_pop1(&f, &c[i]);
		assert_int_equal(c[i].id, 4 + i);
		u[i].id = c[i].id;
		u[i].ndesc = c[i].ndesc;
		u[i].len = i == 1 ? 50 : 0;
	}
	used0 = le16_at(&f.used->idx);
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, 4), 0);
	assert_int_equal(le16_at(&f.used->idx), (uint16_t)(used0 + 4));
	for (i = 0; i < 4; i++) {
		const vring_used_elem_t *e = &f.used->ring[(used0 + i) & 7];

		assert_int_equal(le32toh(e->id), c[i].id);
		assert_int_equal(le32toh(e->len), u[i].len);
	}
	th_vq_get1(&f, T(4), 0);
	th_vq_get1(&f, T(5), 50);
	th_vq_get1(&f, T(6), 0);
	th_vq_get1(&f, T(7), 0);
	assert_null(vsw_vq_drv_get_used(f.drv, &len));
	/* single pushes */
	add1(&f, T(8));
	add1(&f, T(9));
	th_vq_pop1(&f, &c[0]);
	th_vq_pop1(&f, &c[1]);
	assert_int_equal(c[0].id, 0); /* wrapped to the table start */
	assert_int_equal(c[1].id, 1);
	th_vq_push1(&f, &c[0], 0);
	th_vq_push1(&f, &c[1], 9);
	assert_int_equal(le16_at(&f.used->idx), (uint16_t)(used0 + 6));
	th_vq_get1(&f, T(8), 0);
	th_vq_get1(&f, T(9), 9);
	assert_false(vsw_vq_drv_is_broken(f.drv));
	th_vq_fini(&f);
}

/* Write used entry idx by hand and publish used->idx = idx + 1. */
static void raw_used(struct th_vq *f, uint16_t idx, uint32_t id, uint32_t len)
{
	f->used->ring[idx & (f->num - 1)].id = htole32(id);
	f->used->ring[idx & (f->num - 1)].len = htole32(len);
	__atomic_store_n(&f->used->idx, htole16((uint16_t)(idx + 1)),
			 __ATOMIC_RELEASE);
}

/*
 * IN_ORDER, driver side: another device may write one used entry for the
 * last buffer of a batch (§2.6.9). Written by hand here (our device never
 * does it); every token must come back in order, the earlier ones with
 * len 0, and every descriptor must be free again, across the ring's end.
 */
static void test_in_order_driver_folded(void **state)
{
	static const unsigned shape[3] = {1, 2, 1};
	struct vsw_sg sg[2];
	struct th_vq f;
	unsigned r, i;
	uint32_t len;
	uint16_t head = 0, used = 0;

	(void)state;
	fx_small(&f, F_V1 | F_ORDER);
	sg[0].addr = f.buf;
	sg[0].len = 64;
	sg[1].addr = f.buf + 64;
	sg[1].len = 64;
	for (r = 0; r < 5; r++) {
		/* three chains of 4 descriptors: the table of 8 wraps */
		for (i = 0; i < 3; i++) {
			assert_int_equal(vsw_vq_drv_add(f.drv, sg, 0, shape[i],
							T(3 * r + i)),
					 0);
			head = le16toh(f.avail->ring[(3 * r + i) & 7]);
		}
		/* one entry for the last head; then two in one batch */
		if (r % 2 == 0) {
			raw_used(&f, used++, head, 33);
		} else {
			raw_used(&f, used++,
				 le16toh(f.avail->ring[(3 * r + 1) & 7]), 0);
			raw_used(&f, used++, head, 60);
		}
		assert_true(vsw_vq_drv_has_used(f.drv));
		for (i = 0; i < 3; i++) {
			len = 0xdead;
			assert_ptr_equal(vsw_vq_drv_get_used(f.drv, &len),
					 T(3 * r + i));
			assert_int_equal(len, i < 2 ? 0 : r % 2 ? 60 : 33);
		}
		assert_false(vsw_vq_drv_has_used(f.drv));
		assert_null(vsw_vq_drv_get_used(f.drv, &len));
		assert_int_equal(vsw_vq_drv_num_free(f.drv), 8);
		assert_false(vsw_vq_drv_is_broken(f.drv));
	}
	th_vq_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Device-side bookkeeping                                             */
/* ------------------------------------------------------------------ */

static void test_unpop(void **state)
{
	struct vsw_vq_chain a, a2, b, b2;
	struct iovec iov[4], iov2[4];
	struct th_vq f;

	(void)state;
	fx_small(&f, F_V1);
	add1(&f, T(0));
	add1(&f, T(1));
	assert_int_equal(vsw_vq_dev_pop(f.dev, &a, iov, 4), 1);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 1);
	assert_int_equal(vsw_vq_dev_get_base(f.dev), 1);
	vsw_vq_dev_unpop(f.dev, &a);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 0);
	assert_int_equal(vsw_vq_dev_get_base(f.dev), 0);
	assert_int_equal(vsw_vq_dev_pop(f.dev, &a2, iov2, 4), 1);
	assert_memory_equal(&a, &a2, sizeof(a));
	assert_ptr_equal(iov[0].iov_base, iov2[0].iov_base);
	assert_int_equal(iov[0].iov_len, iov2[0].iov_len);
	assert_int_equal(vsw_vq_dev_pop(f.dev, &b, iov, 4), 1);
	/* only the most recent pop can be undone */
	vsw_vq_dev_unpop(f.dev, &a2);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 2);
	vsw_vq_dev_unpop(f.dev, &b);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 1);
	assert_int_equal(vsw_vq_dev_pop(f.dev, &b2, iov, 4), 1);
	assert_int_equal(b2.id, b.id);
	/* a pushed chain cannot be unpopped */
	th_vq_push1(&f, &b2, 0);
	vsw_vq_dev_unpop(f.dev, &b2);
	assert_int_equal(vsw_vq_dev_get_base(f.dev), 2);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 1);
	th_vq_push1(&f, &a2, 5);
	th_vq_get1(&f, T(1), 0);
	th_vq_get1(&f, T(0), 5);
	th_vq_fini(&f);
}

/* Several chains given back newest first, as mergeable RX does. */
static void test_unpop_several(void **state)
{
	struct th_vq f;

	(void)state;
	fx_small(&f, F_V1);
	th_vq_check_unpop_several(&f, 64, true, 0);
	th_vq_fini(&f);
}

static void test_push_bad_id(void **state)
{
	struct vsw_vq_chain c;
	struct vsw_vq_used u[2];
	struct th_vq f;

	(void)state;
	fx_small(&f, F_V1);
	add1(&f, T(0));
	th_vq_pop1(&f, &c);
	u[0] = (struct vsw_vq_used){.id = (uint16_t)((c.id + 1) % 8)};
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, 1), -EINVAL);
	u[0] = (struct vsw_vq_used){.id = 8};
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, 1), -EINVAL);
	/* the same id twice in one burst: nothing published */
	u[0] = (struct vsw_vq_used){.id = c.id, .ndesc = 1, .len = 1};
	u[1] = u[0];
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, 2), -EINVAL);
	assert_int_equal(le16_at(&f.used->idx), 0);
	assert_int_equal(vsw_vq_dev_error(f.dev), 0);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 1);
	th_vq_push1(&f, &c, 1);
	assert_int_equal(vsw_vq_dev_push(f.dev, &c, 1), -EINVAL); /* twice */
	th_vq_get1(&f, T(0), 1);
	th_vq_fini(&f);
}

static void test_set_get_base(void **state)
{
	struct vsw_vq_dev_config vc = {0};
	struct vsw_vq_chain c[3];
	struct vsw_vq_dev *dev2;
	struct th_vq f;
	unsigned i;

	(void)state;
	fx_small(&f, F_V1 | F_EVENT);
	for (i = 0; i < 3; i++)
		add1(&f, T(i));
	for (i = 0; i < 3; i++)
		th_vq_pop1(&f, &c[i]);
	for (i = 0; i < 3; i++)
		th_vq_push1(&f, &c[i], i);
	for (i = 0; i < 3; i++)
		th_vq_get1(&f, T(i), i);
	assert_int_equal(vsw_vq_dev_get_base(f.dev), 3);
	/* a new device (reconnect): used idx from the ring, avail from base */
	th_vq_dev_config(&f, &vc);
	assert_int_equal(vsw_vq_dev_create(&vc, &dev2), 0);
	assert_int_equal(vsw_vq_dev_get_base(dev2), 0);
	assert_int_equal(vsw_vq_dev_set_base(dev2, 0x10000), -EINVAL);
	assert_int_equal(vsw_vq_dev_set_base(dev2, 3), 0);
	assert_int_equal(vsw_vq_dev_get_base(dev2), 3);
	vsw_vq_dev_destroy(f.dev);
	f.dev = dev2;
	add1(&f, T(3));
	th_vq_pop1(&f, &c[0]);
	th_vq_push1(&f, &c[0], 33);
	assert_int_equal(le16_at(&f.used->idx), 4);
	th_vq_get1(&f, T(3), 33);
	/* set_base drops the in-flight set */
	add1(&f, T(4));
	th_vq_pop1(&f, &c[0]);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 1);
	assert_int_equal(vsw_vq_dev_set_base(f.dev, 4), 0);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 0);
	assert_int_equal(vsw_vq_dev_push(f.dev, &c[0], 1), -EINVAL);
	th_vq_pop1(&f, &c[1]); /* popped again */
	assert_int_equal(c[1].id, c[0].id);
	th_vq_push1(&f, &c[1], 44);
	th_vq_get1(&f, T(4), 44);
	/* set_base also clears a broken queue */
	f.avail->ring[5 & 7] = htole16(100);
	__atomic_store_n(&f.avail->idx, htole16(6), __ATOMIC_RELEASE);
	assert_int_equal(vsw_vq_dev_pop(f.dev, &c[0], NULL, 0), -ERANGE);
	assert_int_equal(vsw_vq_dev_set_base(f.dev, 6), 0);
	assert_int_equal(vsw_vq_dev_error(f.dev), 0);
	assert_int_equal(vsw_vq_dev_fault(f.dev), VSW_VQ_FAULT_NONE);
	assert_int_equal(vsw_vq_dev_pop(f.dev, &c[0], NULL, 0), 0);
	th_vq_fini(&f);
}

static void test_span_regions(void **state)
{
	struct th_vq f;

	(void)state;
	fx_small(&f, F_V1);
	th_vq_check_span_regions(&f, 100, 300, 1000, 300, 0);
	th_vq_fini(&f);
}

static void test_dev_create_bad_addrs(void **state)
{
	static const struct th_vq_bad_area bad[] = {
		{"used ring past the end", 2, TH_AT_MEM_END, TH_BACK(16)},
		{"misaligned used ring", 2, TH_AT_SELF, 2},
		{"misaligned descriptor table", 0, TH_AT_SELF, 8},
		{"available ring below guest memory", 1, TH_AT_ABS, 0x1000},
	};
	struct th_vq f;

	(void)state;
	fx_small(&f, F_V1);
	th_vq_expect_bad_areas(&f, bad, ARRAY_SIZE(bad));
	th_vq_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Driver side                                                         */
/* ------------------------------------------------------------------ */

static void test_drv_enospc(void **state)
{
	struct vsw_sg sg[5];
	struct vsw_vq_chain c;
	struct th_vq f;
	unsigned i;

	(void)state;
	fx_small(&f, F_V1);
	for (i = 0; i < 5; i++)
		sg[i] = (struct vsw_sg){.addr = f.buf + i * 64, .len = 64};
	for (i = 0; i < 8; i++)
		add1(&f, T(i));
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 0);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 1, 0, T(9)), -ENOSPC);
	th_vq_pop1(&f, &c);
	th_vq_push1(&f, &c, 0);
	th_vq_get1(&f, T(0), 0);
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 1);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 1, 1, T(9)), -ENOSPC);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 1, 0, T(9)), 0);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 9, 0, T(9)), -EINVAL);
	th_vq_fini(&f);

	/* indirect: one ring descriptor per chain of 2..ind_max segments */
	fx_small(&f, F_V1 | F_IND);
	for (i = 0; i < 5; i++)
		sg[i] = (struct vsw_sg){.addr = f.buf + i * 64, .len = 64};
	for (i = 0; i < 8; i++)
		assert_int_equal(vsw_vq_drv_add(f.drv, sg, 2, 2, T(i)), 0);
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 0);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 2, 2, T(9)), -ENOSPC);
	for (i = 0; i < 2; i++) {
		th_vq_pop1(&f, &c);
		assert_int_equal(c.ndesc, 1);
		assert_int_equal(c.n_out, 2);
		assert_int_equal(c.n_in, 2);
		th_vq_push1(&f, &c, 0);
		th_vq_get1(&f, T(i), 0);
	}
	/* five segments exceed ind_max 4: direct, five descriptors */
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 5, 0, T(9)), -ENOSPC);
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 2);
	th_vq_fini(&f);
}

static void test_drv_detach_unused(void **state)
{
	struct vsw_sg sg[3] = {{TH_VQ_GPA_BASE, 8},
			       {TH_VQ_GPA_BASE + 8, 8},
			       {TH_VQ_GPA_BASE + 16, 8}};
	struct th_vq f;
	unsigned i, seen = 0;
	void *t;

	(void)state;
	fx_small(&f, F_V1 | F_IND);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 1, 0, T(0)), 0);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 2, 1, T(1)), 0);
	assert_int_equal(vsw_vq_drv_add(f.drv, sg, 1, 2, T(2)), 0);
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 5);
	for (i = 0; i < 3; i++) {
		t = vsw_vq_drv_detach_unused(f.drv);
		assert_non_null(t);
		seen |= 1u << ((int *)t - tok);
	}
	assert_int_equal(seen, 7);
	assert_null(vsw_vq_drv_detach_unused(f.drv));
	assert_int_equal(vsw_vq_drv_num_free(f.drv), 8);
	th_vq_fini(&f);
}

/* The device lies: each case must break the driver queue. */
static void test_drv_bogus_used(void **state)
{
	struct vsw_vq_chain c;
	struct th_vq f;
	unsigned k;
	uint32_t len;

	(void)state;
	for (k = 0; k < 4; k++) {
		uint16_t id, l = 0, idx = 1;

		fx_small(&f, F_V1);
		add1(&f, T(0));
		th_vq_pop1(&f, &c);
		id = c.id;
		if (k == 0)
			id = (uint16_t)((c.id + 1) % 8); /* not in flight */
		else if (k == 1)
			id = 8; /* out of range */
		else if (k == 2)
			l = 65; /* more than the 64 writable bytes */
		else
			idx = 9; /* more entries than the queue holds */
		f.used->ring[0].id = htole32(id);
		f.used->ring[0].len = htole32(l);
		__atomic_store_n(&f.used->idx, htole16(idx), __ATOMIC_RELEASE);
		assert_null(vsw_vq_drv_get_used(f.drv, &len));
		assert_true(vsw_vq_drv_is_broken(f.drv));
		{
			struct vsw_sg sg = {.addr = f.buf, .len = 8};

			assert_int_equal(vsw_vq_drv_add(f.drv, &sg, 1, 0, T(1)),
					 -EIO);
		}
		assert_null(vsw_vq_drv_get_used(f.drv, &len));
		assert_false(vsw_vq_drv_kick_prepare(f.drv));
		th_vq_fini(&f);
	}
	/* and an honest push of the same shape is accepted */
	fx_small(&f, F_V1);
	add1(&f, T(0));
	th_vq_pop1(&f, &c);
	th_vq_push1(&f, &c, 64);
	th_vq_get1(&f, T(0), 64);
	assert_false(vsw_vq_drv_is_broken(f.drv));
	th_vq_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Hostile driver: raw ring contents                                   */
/* ------------------------------------------------------------------ */

static void raw_desc(struct vring_desc *t, unsigned i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].flags = htole16(flags);
	t[i].next = htole16(next);
}

static void raw_avail(struct th_vq *f, uint16_t slot, uint16_t head,
		      uint16_t idx)
{
	f->avail->ring[slot & (f->num - 1)] = htole16(head);
	__atomic_store_n(&f->avail->idx, htole16(idx), __ATOMIC_RELEASE);
}

/* a fixture whose driver side is written by hand */
static struct vring_desc *fx_hostile(struct th_vq *f, uint64_t features,
				     uint64_t *buf, uint64_t *table_gpa)
{
	th_vq_init(f, features, 8, 2, 0, true);
	*buf = f->buf;
	*table_gpa = th_vq_alloc(f, 64 * 16, 16);
	return th_ptr(&f->m, *table_gpa, 64 * 16);
}

/*
 * Table-driven hostile rings: each case writes descriptors into the ring or
 * into the indirect table, publishes one avail entry and expects pop to
 * break the queue with a given error and fault.
 */
/* ring / table descriptor i; a linear chain of n from i (see raw_write) */
/* clang-format off */
#define RD(i, b, o, len, fl, nx) \
	{TH_RAW_RING, i, TH_AT_##b, 1, o, len, fl, nx, 0}
#define TD(i, b, o, len, fl, nx) \
	{TH_RAW_TABLE, i, TH_AT_##b, 1, o, len, fl, nx, 0}
#define RD_RUN(i, n, b, o, len, fl, nx) \
	{TH_RAW_RING, i, TH_AT_##b, n, o, len, fl, nx, 0}
#define TD_RUN(i, n, b, o, len, fl, nx) \
	{TH_RAW_TABLE, i, TH_AT_##b, n, o, len, fl, nx, 0}
/* clang-format on */

struct hostile_case {
	struct th_vq_fault x;
	uint16_t head;	     /* the one avail entry */
	struct th_raw d[12]; /* up to the first TH_RAW_END */
};

/* a case: what, features, head, iov_max, err, fault; then its descriptors */
#define HC(what, features, head, iov_max, err, fault)                          \
	{what, features, iov_max, err, fault}, head

static void raw_write(struct th_vq *f, struct vring_desc *t, uint64_t tg,
		      const struct th_raw *d)
{
	for (; d->where != TH_RAW_END; d++) {
		struct vring_desc *to = d->where == TH_RAW_RING ? f->desc : t;
		unsigned j, last = d->i + (d->run > 1 ? d->run : 1) - 1;

		for (j = d->i; j < last; j++)
			raw_desc(to, j, th_vq_raw_addr(f, tg, d), d->len,
				 d->flags | VRING_DESC_F_NEXT,
				 (uint16_t)(j + 1));
		raw_desc(to, last, th_vq_raw_addr(f, tg, d), d->len, d->flags,
			 d->next);
	}
}

static void hostile_run(const void *cases, size_t n)
{
	const struct hostile_case *hc = cases;
	size_t k;

	for (k = 0; k < n; k++, hc++) {
		struct vring_desc *t;
		struct th_vq f;
		uint64_t buf, tg;

		t = fx_hostile(&f, hc->x.features, &buf, &tg);
		raw_write(&f, t, tg, hc->d);
		raw_avail(&f, 0, hc->head, 1);
		th_vq_expect_fault_case(&f, &hc->x);
		th_vq_fini(&f);
	}
}

/* A cmocka test named test_hostile_NAME running the table hostile_NAME. */
#define HOSTILE_TEST(name)                                                     \
	TH_VQ_TABLE_TEST("test_hostile_" #name, hostile_##name, hostile_run)

static const struct hostile_case hostile_head_range[] = {
	{HC("head out of range", F_V1, 8, 8, -ERANGE, VSW_VQ_FAULT_HEAD_RANGE),
	 {{0}}},
};

static const struct hostile_case hostile_next_loop[] = {
	{HC("0 -> 1 -> 0", F_V1, 0, 64, -ELOOP, VSW_VQ_FAULT_LOOP),
	 {RD(0, BUF, 0, 16, TH_NEXT, 1), RD(1, BUF, 0, 16, TH_NEXT, 0)}},
};

static const struct hostile_case hostile_chain_too_long[] = {
	{HC("an indirect table of 9 linear entries in a queue of 8",
	    F_V1 | F_IND, 3, 64, -ELOOP, VSW_VQ_FAULT_LOOP),
	 {TD_RUN(0, 9, BUF, 0, 8, 0, 9), RD(3, TABLE, 0, 9 * 16, TH_IND, 0)}},
	{HC("seven direct descriptors, then an indirect table of two",
	    F_V1 | F_IND, 0, 64, -ELOOP, VSW_VQ_FAULT_LOOP),
	 {RD_RUN(0, 7, BUF, 0, 8, TH_NEXT, 7), RD(7, TABLE, 0, 32, TH_IND, 0),
	  TD_RUN(0, 2, BUF, 0, 8, 0, 0)}},
};

static void test_hostile_chain_too_long(void **state)
{
	static const struct th_raw eight[] = {
		RD_RUN(0, 7, BUF, 0, 8, TH_NEXT, 7),
		RD(7, TABLE, 0, 16, TH_IND, 0),
		TD(0, BUF, 0, 8, 0, 0),
		{0},
	};
	struct vring_desc *t;
	struct th_vq f;
	uint64_t buf, tg;

	(void)state;
	hostile_run(hostile_chain_too_long, ARRAY_SIZE(hostile_chain_too_long));

	/* the same with a table of one is exactly 8: accepted */
	t = fx_hostile(&f, F_V1 | F_IND, &buf, &tg);
	raw_write(&f, t, tg, eight);
	raw_avail(&f, 0, 0, 1);
	{
		struct vsw_vq_chain c;
		struct iovec iov[8];

		assert_int_equal(vsw_vq_dev_pop(f.dev, &c, iov, 8), 1);
		assert_int_equal(c.ndesc, 8);
		assert_int_equal(c.n_out, 8);
		assert_int_equal(c.out_len, 64);
	}
	th_vq_fini(&f);
}

static const struct hostile_case hostile_next_range[] = {
	{HC("next 8 in a table of 8", F_V1, 0, 64, -ERANGE,
	    VSW_VQ_FAULT_NEXT_RANGE),
	 {RD(0, BUF, 0, 16, TH_NEXT, 8)}},
	{HC("inside an indirect table of two: next 2 is out of it",
	    F_V1 | F_IND, 0, 64, -ERANGE, VSW_VQ_FAULT_NEXT_RANGE),
	 {RD(0, TABLE, 0, 32, TH_IND, 0), TD(0, BUF, 0, 16, TH_NEXT, 2),
	  TD(2, BUF, 0, 16, 0, 0)}},
};

static const struct hostile_case hostile_addr_outside[] = {
	{HC("straddles the end of guest memory, where the canaries live", F_V1,
	    0, 64, -EFAULT, VSW_VQ_FAULT_ADDR),
	 {RD(0, BUF, 0, 16, TH_NEXT, 1),
	  RD(1, MEM_END, TH_BACK(16), 32, TH_WRITE, 0)}},
	{HC("entirely outside", F_V1, 0, 64, -EFAULT, VSW_VQ_FAULT_ADDR),
	 {RD(0, ABS, 0x1000, 16, 0, 0)}},
};

static const struct hostile_case hostile_addr_overflow[] = {
	{HC("addr + len wraps 64 bits", F_V1, 0, 64, -EFAULT,
	    VSW_VQ_FAULT_ADDR),
	 {RD(0, ABS, UINT64_MAX - 7, 64, 0, 0)}},
	{HC("wraps to a low GPA: still refused", F_V1, 0, 64, -EFAULT,
	    VSW_VQ_FAULT_ADDR),
	 {RD(0, BUF, 0, 16, TH_NEXT, 1),
	  RD(1, ABS, UINT64_MAX - 0xfff, 0xffffffff, TH_WRITE, 0)}},
};

static const struct hostile_case hostile_indirect_len[] = {
	{HC("not a multiple of 16", F_V1 | F_IND, 0, 64, -EINVAL,
	    VSW_VQ_FAULT_INDIRECT_LEN),
	 {RD(0, TABLE, 0, 24, TH_IND, 0)}},
	{HC("empty", F_V1 | F_IND, 0, 64, -EINVAL, VSW_VQ_FAULT_INDIRECT_LEN),
	 {RD(0, TABLE, 0, 0, TH_IND, 0)}},
};

static const struct hostile_case hostile_indirect_addr[] = {
	{HC("runs past the end of guest memory", F_V1 | F_IND, 0, 64, -EFAULT,
	    VSW_VQ_FAULT_INDIRECT_ADDR),
	 {RD(0, MEM_END, TH_BACK(16), 32, TH_IND, 0)}},
	{HC("inside memory but across two regions: not one host block",
	    F_V1 | F_IND, 0, 64, -EFAULT, VSW_VQ_FAULT_INDIRECT_ADDR),
	 {RD(0, REGION0_END, TH_BACK(16), 32, TH_IND, 0)}},
};

static const struct hostile_case hostile_indirect_nested[] = {
	{HC("an indirect entry in an indirect table", F_V1 | F_IND, 0, 64,
	    -EINVAL, VSW_VQ_FAULT_INDIRECT_NESTED),
	 {RD(0, TABLE, 0, 32, TH_IND, 0), TD(0, BUF, 0, 16, TH_NEXT, 1),
	  TD(1, TABLE, 0, 32, TH_IND, 0)}},
};

static const struct hostile_case hostile_indirect_feature[] = {
	{HC("INDIRECT without the feature", F_V1, 0, 64, -EPROTO,
	    VSW_VQ_FAULT_INDIRECT_FEATURE),
	 {RD(0, TABLE, 0, 16, TH_IND, 0), TD(0, BUF, 0, 16, 0, 0)}},
};

static const struct hostile_case hostile_indirect_next[] = {
	{HC("INDIRECT with NEXT", F_V1 | F_IND, 0, 64, -EINVAL,
	    VSW_VQ_FAULT_INDIRECT_NEXT),
	 {RD(0, TABLE, 0, 16, TH_IND | TH_NEXT, 1), RD(1, BUF, 0, 16, 0, 0),
	  TD(0, BUF, 0, 16, 0, 0)}},
};

static const struct hostile_case hostile_write_order[] = {
	{HC("readable after writable", F_V1, 0, 64, -EPROTO,
	    VSW_VQ_FAULT_WRITE_ORDER),
	 {RD(0, BUF, 0, 16, TH_WRITE | TH_NEXT, 1), RD(1, BUF, 16, 16, 0, 0)}},
	{HC("the same inside an indirect table, after a direct readable one",
	    F_V1 | F_IND, 0, 64, -EPROTO, VSW_VQ_FAULT_WRITE_ORDER),
	 {RD(0, BUF, 0, 16, TH_NEXT, 1), RD(1, TABLE, 0, 32, TH_IND, 0),
	  TD(0, BUF, 0, 16, TH_WRITE | TH_NEXT, 1), TD(1, BUF, 0, 16, 0, 0)}},
};

/* Pop on a read-only queue: n segments of 16 bytes at buf + 16 * i. */
static void expect_read_only_chain(struct th_vq *f, uint64_t buf, uint16_t head,
				   unsigned ndesc, unsigned n)
{
	th_vq_expect_read_only_chain(f, buf, head, ndesc, n);
	/* and the used ring got one entry for it */
	assert_int_equal(le16_at(&f->used->idx), 1);
	assert_int_equal(le32toh(f->used->ring[0].id), head);
	assert_int_equal(le32toh(f->used->ring[0].len), 0);
}

/*
 * VSW_VQ_DEV_F_READ_ONLY: WRITE flags are ignored in the descriptor table
 * and in indirect tables; without the flag the same chains break the queue.
 */
/* without the read-only flag these chains break the queue */
static const struct hostile_case read_only_shapes[] = {
	{HC("direct: writable, readable, writable", F_V1, 3, 8, -EPROTO,
	    VSW_VQ_FAULT_WRITE_ORDER),
	 {RD(3, BUF, 0, 16, TH_WRITE | TH_NEXT, 5),
	  RD(5, BUF, 16, 16, TH_NEXT, 6), RD(6, BUF, 32, 16, TH_WRITE, 0)}},
	{HC("indirect: a readable ring descriptor, then a table whose "
	    "entries are all WRITE but the last",
	    F_V1 | F_IND, 2, 8, -EPROTO, VSW_VQ_FAULT_WRITE_ORDER),
	 {RD(2, BUF, 0, 16, TH_NEXT, 4), RD(4, TABLE, 0, 48, TH_IND, 0),
	  TD(0, BUF, 16, 16, TH_WRITE | TH_NEXT, 1),
	  TD(1, BUF, 32, 16, TH_WRITE | TH_NEXT, 2), TD(2, BUF, 48, 16, 0, 0)}},
};

static void test_read_only(void **state)
{
	/* with it: one chain of that many descriptors and segments */
	static const unsigned ndesc[] = {3, 2}, nseg[] = {3, 4};
	struct vring_desc *t;
	struct th_vq f;
	uint64_t buf, tg;
	unsigned i;

	(void)state;
	hostile_run(read_only_shapes, ARRAY_SIZE(read_only_shapes));
	for (i = 0; i < ARRAY_SIZE(read_only_shapes); i++) {
		const struct hostile_case *hc = &read_only_shapes[i];

		t = fx_hostile(&f, hc->x.features, &buf, &tg);
		th_vq_dev_flags(&f, VSW_VQ_DEV_F_READ_ONLY);
		raw_write(&f, t, tg, hc->d);
		raw_avail(&f, 0, hc->head, 1);
		expect_read_only_chain(&f, buf, hc->head, ndesc[i], nseg[i]);
		th_vq_fini(&f);
	}

	/* the flag changes nothing else: other faults still break it */
	fx_hostile(&f, F_V1, &buf, &tg);
	th_vq_dev_flags(&f, VSW_VQ_DEV_F_READ_ONLY);
	raw_desc(f.desc, 0, buf, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 8);
	raw_avail(&f, 0, 0, 1);
	th_vq_expect_fault(&f, 8, -ERANGE, VSW_VQ_FAULT_NEXT_RANGE);
	th_vq_expect_dev_flags_refused(&f, VSW_VQ_DEV_F_READ_ONLY << 1);
	th_vq_fini(&f);
}

/* A hostile queue: one readable descriptor as head 0 at avail idx, popped. */
static void fx_hostile_popped(struct th_vq *f, uint16_t idx)
{
	struct vsw_vq_chain c;
	struct iovec iov[4];
	uint64_t buf, tg;

	fx_hostile(f, F_V1, &buf, &tg);
	raw_desc(f->desc, 0, buf, 16, 0, 0);
	raw_avail(f, 0, 0, idx);
	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, 4), 1);
}

static void test_hostile_avail_idx(void **state)
{
	struct th_vq f;

	(void)state;
	fx_hostile_popped(&f, 1);
	/* 1 -> 10: nine new entries in a queue of 8 */
	raw_avail(&f, 1, 0, 10);
	th_vq_expect_fault(&f, 4, -EOVERFLOW, VSW_VQ_FAULT_AVAIL_IDX);
	th_vq_fini(&f);

	/* exactly num ahead is fine */
	fx_hostile_popped(&f, 8);
	th_vq_fini(&f);
}

static const struct hostile_case hostile_segments[] = {
	{HC("three segments, room for two", F_V1, 0, 2, -ENOBUFS,
	    VSW_VQ_FAULT_SEGMENTS),
	 {RD(0, BUF, 0, 16, TH_NEXT, 1), RD(1, BUF, 16, 16, TH_NEXT, 2),
	  RD(2, BUF, 32, 16, TH_WRITE, 0)}},
};

static void test_hostile_head_in_flight(void **state)
{
	struct th_vq f;

	(void)state;
	fx_hostile_popped(&f, 1);
	raw_avail(&f, 1, 0, 2); /* head 0 again while in flight */
	th_vq_expect_fault(&f, 4, -EBUSY, VSW_VQ_FAULT_ID_INUSE);
	th_vq_fini(&f);
}

/*
 * vsw_vq_dev_pop_bufs takes single-descriptor chains only and leaves every
 * other chain, hostile or not, to vsw_vq_dev_pop with its checks.
 */
static void test_pop_bufs(void **state)
{
	uint64_t half = TH_VQ_GPA_BASE + TH_VQ_MEM_SIZE / 2, buf, tg;
	struct vsw_vq_used u[2];
	struct vsw_vq_buf b[8];
	struct vsw_vq_chain c;
	struct th_vq f;

	(void)state;
	fx_hostile(&f, F_V1, &buf, &tg);
	raw_desc(f.desc, 0, buf, 64, VRING_DESC_F_WRITE, 0);
	raw_desc(f.desc, 1, buf + 64, 16,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	raw_desc(f.desc, 2, buf + 128, 16, VRING_DESC_F_WRITE, 0);
	raw_desc(f.desc, 3, buf + 256, 32, 0, 0); /* readable */
	raw_desc(f.desc, 4, buf + 512, 32, VRING_DESC_F_WRITE, 0);
	/* crosses from one region into the next */
	raw_desc(f.desc, 5, half - 8, 16, VRING_DESC_F_WRITE, 0);
	raw_desc(f.desc, 6, 0x1000, 16, VRING_DESC_F_WRITE, 0); /* outside */
	raw_avail(&f, 0, 0, 1);
	raw_avail(&f, 1, 1, 2);
	raw_avail(&f, 2, 3, 3);
	raw_avail(&f, 3, 4, 4);
	raw_avail(&f, 4, 5, 5);
	raw_avail(&f, 5, 6, 6);

	th_vq_expect_one_buf(&f, 0, &b[0]);
	assert_int_equal(b[0].len, 64);
	assert_ptr_equal(b[0].addr, th_ptr(&f.m, buf, 64));
	/* a two-descriptor chain: left for pop */
	th_vq_expect_left_for_pop(&f, &c);
	assert_int_equal(c.id, 1);
	assert_int_equal(c.n_in, 2);
	/* readable on a queue the device writes: left for pop */
	th_vq_expect_left_for_pop(&f, &c);
	assert_int_equal(c.n_out, 1);
	/* one more, then the buffer across two regions stops it */
	th_vq_expect_one_buf(&f, 4, NULL);
	th_vq_expect_left_for_pop(&f, &c);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 5);
	/* pushed like any other chain */
	u[0] = (struct vsw_vq_used){.id = 0, .ndesc = 1, .len = 10};
	u[1] = (struct vsw_vq_used){.id = 4, .ndesc = 1, .len = 0};
	assert_int_equal(vsw_vq_dev_push_burst(f.dev, u, 2), 0);
	assert_int_equal(le16_at(&f.used->idx), 2);
	assert_int_equal(le32toh(f.used->ring[0].len), 10);
	/* outside guest memory: no fault from the fast path, pop reports */
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 0);
	assert_int_equal(vsw_vq_dev_error(f.dev), 0);
	th_vq_expect_fault(&f, 8, -EFAULT, VSW_VQ_FAULT_ADDR);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 0);
	th_vq_fini(&f);

	/* a head already in flight, posted again */
	fx_hostile(&f, F_V1, &buf, &tg);
	raw_desc(f.desc, 0, buf, 16, VRING_DESC_F_WRITE, 0);
	raw_avail(&f, 0, 0, 1);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 1);
	raw_avail(&f, 1, 0, 2);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 0);
	th_vq_expect_fault(&f, 4, -EBUSY, VSW_VQ_FAULT_ID_INUSE);
	th_vq_fini(&f);

	/* an avail index that jumped: left for pop to report */
	fx_hostile(&f, F_V1, &buf, &tg);
	raw_avail(&f, 0, 0, 100);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 0);
	th_vq_expect_fault(&f, 4, -EOVERFLOW, VSW_VQ_FAULT_AVAIL_IDX);
	th_vq_fini(&f);

	/* head out of range, indirect: left for pop */
	fx_hostile(&f, F_V1 | F_IND, &buf, &tg);
	raw_avail(&f, 0, 8, 1);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 0);
	th_vq_expect_fault(&f, 4, -ERANGE, VSW_VQ_FAULT_HEAD_RANGE);
	th_vq_fini(&f);

	/* read-only: WRITE ignored, but NEXT / INDIRECT still left to pop;
	 * unpop takes fast pops back newest first */
	fx_hostile(&f, F_V1 | F_IND, &buf, &tg);
	th_vq_dev_flags(&f, VSW_VQ_DEV_F_READ_ONLY);
	raw_desc(f.desc, 0, buf, 16, VRING_DESC_F_WRITE, 0);
	raw_desc(f.desc, 1, buf + 16, 16, 0, 0);
	raw_desc(f.desc, 2, tg, 16, VRING_DESC_F_INDIRECT, 0);
	raw_desc((struct vring_desc *)th_ptr(&f.m, tg, 16), 0, buf + 32, 16,
		 0, 0);
	raw_avail(&f, 0, 0, 1);
	raw_avail(&f, 1, 1, 2);
	raw_avail(&f, 2, 2, 3);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 8), 2);
	assert_int_equal(b[0].id, 0);
	assert_int_equal(b[1].id, 1);
	c = (struct vsw_vq_chain){.id = 1, .ndesc = 1};
	vsw_vq_dev_unpop(f.dev, &c);
	c.id = 0;
	vsw_vq_dev_unpop(f.dev, &c);
	assert_int_equal(vsw_vq_dev_inflight(f.dev), 0);
	assert_int_equal(vsw_vq_dev_pop_bufs(f.dev, b, 1), 1);
	assert_int_equal(b[0].id, 0);
	th_vq_expect_one_buf(&f, 1, NULL);
	th_vq_expect_left_for_pop(&f, &c);
	assert_int_equal(c.id, 2);
	assert_int_equal(c.out_len, 16);
	th_vq_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Two threads: the orderings under real concurrency                   */
/* ------------------------------------------------------------------ */

#define MT_TOTAL 100000u

static int mt_failed; /* set by the device thread, read by the driver */

static void *mt_device(void *arg)
{
	struct th_vq *f = arg;
	struct vsw_vq_chain c;
	struct iovec iov[4];
	unsigned done = 0;

	while (done < MT_TOTAL) {
		int ret = vsw_vq_dev_pop(f->dev, &c, iov, 4);

		if (ret == 0) {
			sched_yield(); /* the machine may have fewer cores */
			continue;
		}
		if (ret != 1 || c.n_out != 1 || c.n_in != 1 ||
		    iov[0].iov_len != 8)
			goto fail;
		/* echo the sequence number the driver wrote */
		memcpy(iov[1].iov_base, iov[0].iov_base, 8);
		if (vsw_vq_dev_push(f->dev, &c, 8) != 0)
			goto fail;
		vsw_vq_dev_need_notify(f->dev);
		done++;
	}
	return NULL;
fail:
	__atomic_store_n(&mt_failed, 1, __ATOMIC_RELAXED);
	return (void *)1;
}

static void test_two_threads(void **state)
{
	uint64_t slots[16];
	unsigned features_i;

	(void)state;
	for (features_i = 0; features_i < 2; features_i++) {
		struct th_vq f;
		pthread_t th;
		void *ret;
		uint64_t sent = 0, got = 0;
		unsigned i;

		th_vq_init(&f, features_i ? F_V1 | F_EVENT | F_ORDER : F_V1, 16,
			   2, 0, true);
		for (i = 0; i < 16; i++)
			slots[i] = th_vq_alloc(&f, 16, 16);
		assert_int_equal(pthread_create(&th, NULL, mt_device, &f), 0);
		mt_failed = 0;
		while (got < MT_TOTAL &&
		       !__atomic_load_n(&mt_failed, __ATOMIC_RELAXED)) {
			uint32_t len;
			uint64_t *s;

			while (sent < MT_TOTAL && sent - got < 8) {
				uint64_t gpa = slots[sent % 16];
				struct vsw_sg sg[2] = {{gpa, 8}, {gpa + 8, 8}};
				uint64_t zero = 0;

				assert_int_equal(th_write(&f.m, gpa, &sent, 8),
						 0);
				assert_int_equal(
					th_write(&f.m, gpa + 8, &zero, 8), 0);
				assert_int_equal(
					vsw_vq_drv_add(f.drv, sg, 1, 1,
						       &slots[sent % 16]),
					0);
				sent++;
			}
			vsw_vq_drv_kick_prepare(f.drv);
			s = vsw_vq_drv_get_used(f.drv, &len);
			if (s == NULL) {
				sched_yield();
				continue;
			}
			/* completions come back in order here */
			assert_ptr_equal(s, &slots[got % 16]);
			assert_int_equal(len, 8);
			{
				uint64_t v;

				assert_int_equal(th_read(&f.m, *s + 8, &v, 8),
						 0);
				assert_int_equal(v, got);
			}
			got++;
		}
		assert_int_equal(pthread_join(th, &ret), 0);
		assert_null(ret);
		assert_false(vsw_vq_drv_is_broken(f.drv));
		assert_int_equal(vsw_vq_dev_error(f.dev), 0);
		th_vq_fini(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_notify_flags),
		cmocka_unit_test(test_notify_event_idx),
		cmocka_unit_test(test_enable_cb_race),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_in_order_push),
		cmocka_unit_test(test_in_order_driver_folded),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_unpop_several),
		cmocka_unit_test(test_push_bad_id),
		cmocka_unit_test(test_set_get_base),
		cmocka_unit_test(test_span_regions),
		cmocka_unit_test(test_dev_create_bad_addrs),
		cmocka_unit_test(test_drv_enospc),
		cmocka_unit_test(test_drv_detach_unused),
		cmocka_unit_test(test_drv_bogus_used),
		HOSTILE_TEST(head_range),
		HOSTILE_TEST(next_loop),
		cmocka_unit_test(test_hostile_chain_too_long),
		HOSTILE_TEST(next_range),
		HOSTILE_TEST(addr_outside),
		HOSTILE_TEST(addr_overflow),
		HOSTILE_TEST(indirect_len),
		HOSTILE_TEST(indirect_addr),
		HOSTILE_TEST(indirect_nested),
		HOSTILE_TEST(indirect_feature),
		HOSTILE_TEST(indirect_next),
		HOSTILE_TEST(write_order),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_hostile_avail_idx),
		HOSTILE_TEST(segments),
		cmocka_unit_test(test_hostile_head_in_flight),
		cmocka_unit_test(test_pop_bufs),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests_name("virtq_split", tests, NULL, NULL);
}
