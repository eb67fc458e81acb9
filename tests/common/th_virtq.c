/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "th_virtq.h"

void th_rng_seed(struct th_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t th_rng_next(struct th_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

uint32_t th_rng_below(struct th_rng *r, uint32_t bound)
{
	uint64_t x = th_rng_next(r);

	return bound ? (uint32_t)(x % bound) : 0;
}

/* Host address of the page after region i's mapping. */
static uint8_t *region_canary(const struct th_vq *f, unsigned i)
{
	return (uint8_t *)f->m.maps[i] + f->m.size / f->m.nregions;
}

void th_vq_canaries_check(const struct th_vq *f)
{
	const uint8_t *end =
		th_ptr((struct th_mem *)&f->m, f->canary_gpa, TH_PAGE);
	unsigned i, j;

	for (i = 0; i < f->m.nregions; i++) {
		const uint8_t *p = region_canary(f, i);

		for (j = 0; j < TH_PAGE; j++)
			if (p[j] != TH_VQ_CANARY)
				fail_msg("canary after region %u byte %u hit",
					 i, j);
	}
	assert_non_null(end);
	for (j = 0; j < TH_PAGE; j++)
		if (end[j] != TH_VQ_CANARY)
			fail_msg("canary at the end of guest memory: byte %u "
				 "changed",
				 j);
}

uint64_t th_vq_alloc(struct th_vq *f, size_t len, size_t align)
{
	uint64_t per = f->m.size / f->m.nregions;
	uint64_t gpa = (f->m.brk + align - 1) & ~((uint64_t)align - 1);
	uint64_t end = f->m.gpa_base + ((gpa - f->m.gpa_base) / per + 1) * per;

	/* would cross into the next region: start at that region instead */
	if (gpa + len > end)
		f->m.brk = end;
	gpa = th_alloc(&f->m, len, align);
	assert_true(gpa + len <= f->canary_gpa);
	assert_non_null(th_ptr(&f->m, gpa, len));
	return gpa;
}

void th_vq_dev_config(const struct th_vq *f, struct vsw_vq_dev_config *vc)
{
	memset(vc, 0, sizeof(*vc));
	vc->features = f->features;
	vc->num = f->num;
	vc->addrs = f->a;
	vc->mem = &f->devmem;
}

void th_vq_init(struct th_vq *f, uint64_t features, uint32_t num,
		unsigned nregions, uint16_t ind_max, bool with_driver)
{
	struct vsw_vq_dev_config vc;
	size_t bytes;
	unsigned i;

	memset(f, 0, sizeof(*f));
	th_rng_seed(&f->rng, 0);
	assert_int_equal(th_mem_create(&f->m, TH_VQ_MEM_SIZE, TH_VQ_GPA_BASE,
				       nregions),
			 0);
	for (i = 0; i < nregions; i++) {
		void *p = mmap(region_canary(f, i), TH_PAGE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		assert_true(p == region_canary(f, i));
		memset(p, TH_VQ_CANARY, TH_PAGE);
	}
	f->devmem = f->m.mem;
	f->devmem.regions[f->devmem.nregions - 1].size -= TH_PAGE;
	f->canary_gpa = th_end(&f->m) - TH_PAGE;
	memset(th_ptr(&f->m, f->canary_gpa, TH_PAGE), TH_VQ_CANARY, TH_PAGE);

	f->features = features;
	f->num = num;
	f->ind_max = ind_max;
	bytes = vsw_vq_ring_bytes(features, num);
	assert_true(bytes > 0);
	f->ring_gpa = th_vq_alloc(f, bytes, 64);
	f->ring = th_ptr(&f->m, f->ring_gpa, bytes);
	memset(f->ring, 0, bytes);
	vsw_vq_ring_layout(features, num, f->ring_gpa, &f->a);
	if (features & (1ULL << VIRTIO_F_RING_PACKED)) {
		f->pdesc = f->ring;
		f->drv_ev = th_ptr(&f->m, f->a.driver, sizeof(*f->drv_ev));
		f->dev_ev = th_ptr(&f->m, f->a.device, sizeof(*f->dev_ev));
	} else {
		f->desc = th_ptr(&f->m, f->a.desc, 16);
		f->avail = th_ptr(&f->m, f->a.driver, 4);
		f->used = th_ptr(&f->m, f->a.device, 4);
	}
	if (ind_max > 0) {
		size_t ib = (size_t)num * ind_max * 16;

		f->ind_gpa = th_vq_alloc(f, ib, 16);
		f->ind = th_ptr(&f->m, f->ind_gpa, ib);
	}
	f->buf = th_vq_alloc(f, TH_VQ_BUF_LEN, TH_PAGE);

	if (with_driver) {
		struct vsw_vq_drv_config dc = {
			.features = features,
			.num = num,
			.ring = f->ring,
			.ring_gpa = f->ring_gpa,
			.indirect = f->ind,
			.indirect_gpa = f->ind_gpa,
			.indirect_max = ind_max,
		};
		struct vsw_vq_addrs da;

		assert_int_equal(vsw_vq_drv_create(&dc, &f->drv), 0);
		/* the driver puts the areas where the layout says */
		vsw_vq_drv_addrs(f->drv, &da);
		assert_int_equal(da.desc, f->a.desc);
		assert_int_equal(da.driver, f->a.driver);
		assert_int_equal(da.device, f->a.device);
	}
	th_vq_dev_config(f, &vc);
	assert_int_equal(vsw_vq_dev_create(&vc, &f->dev), 0);
}

void th_vq_fini(struct th_vq *f)
{
	th_vq_canaries_check(f);
	vsw_vq_dev_destroy(f->dev);
	vsw_vq_drv_destroy(f->drv);
	th_mem_destroy(&f->m);
}

void th_vq_dev_flags(struct th_vq *f, uint32_t flags)
{
	struct vsw_vq_dev_config vc;

	vsw_vq_dev_destroy(f->dev);
	f->dev = NULL;
	th_vq_dev_config(f, &vc);
	vc.flags = flags;
	assert_int_equal(vsw_vq_dev_create(&vc, &f->dev), 0);
}

void th_vq_expect_dev_flags_refused(const struct th_vq *f, uint32_t flags)
{
	struct vsw_vq_dev_config vc;
	struct vsw_vq_dev *dev = NULL;

	th_vq_dev_config(f, &vc);
	vc.flags = flags;
	assert_int_equal(vsw_vq_dev_create(&vc, &dev), -EINVAL);
	assert_null(dev);
}

void th_vq_add1(struct th_vq *f, void *token, uint32_t len, bool writable)
{
	struct vsw_sg sg = {.addr = f->buf, .len = len};

	assert_true(len <= TH_VQ_BUF_LEN);
	assert_int_equal(vsw_vq_drv_add(f->drv, &sg, writable ? 0 : 1,
					writable ? 1 : 0, token),
			 0);
}

void th_vq_pop1(struct th_vq *f, struct vsw_vq_chain *c)
{
	struct iovec iov[16];

	assert_int_equal(vsw_vq_dev_pop(f->dev, c, iov, 16), 1);
}

void th_vq_push1(struct th_vq *f, const struct vsw_vq_chain *c, uint32_t len)
{
	assert_int_equal(vsw_vq_dev_push(f->dev, c, len), 0);
}

void th_vq_get1(struct th_vq *f, void *token, uint32_t len)
{
	uint32_t l = 0xdeadbeef;

	assert_ptr_equal(vsw_vq_drv_get_used(f->drv, &l), token);
	assert_int_equal(l, len);
}

void th_vq_expect_one_buf(struct th_vq *f, uint16_t id, struct vsw_vq_buf *out)
{
	struct vsw_vq_buf b[8];

	assert_int_equal(vsw_vq_dev_pop_bufs(f->dev, b, 8), 1);
	assert_int_equal(b[0].id, id);
	if (out != NULL)
		*out = b[0];
}

void th_vq_expect_left_for_pop(struct th_vq *f, struct vsw_vq_chain *c)
{
	struct vsw_vq_buf b[8];
	struct iovec iov[8];

	assert_int_equal(vsw_vq_dev_pop_bufs(f->dev, b, 8), 0);
	assert_int_equal(vsw_vq_dev_pop(f->dev, c, iov, 8), 1);
}

void th_vq_check_span_regions(struct th_vq *f, uint32_t before,
			      uint32_t out_len, uint64_t in_gap,
			      uint32_t in_len, uint16_t base)
{
	uint64_t boundary = f->m.gpa_base + f->m.size / f->m.nregions;
	struct vsw_sg sg[2] = {{boundary - before, out_len},
			       {boundary + in_gap, in_len}};
	uint8_t data[512], back[512];
	struct vsw_vq_chain c;
	struct iovec iov[8];
	uint32_t i, len;
	int tok;

	assert_true(f->m.nregions >= 2);
	assert_true(before > 0 && before < out_len);
	assert_true(out_len <= sizeof(data) && in_len <= sizeof(data));
	for (i = 0; i < out_len; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(th_write(&f->m, sg[0].addr, data, out_len), 0);
	assert_int_equal(vsw_vq_drv_add(f->drv, sg, 1, 1, &tok), 0);
	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, 8), 1);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(c.n_out, 2); /* split at the region boundary */
	assert_int_equal(c.n_in, 1);
	assert_int_equal(c.out_len, out_len);
	assert_int_equal(c.in_len, in_len);
	assert_int_equal(iov[0].iov_len, before);
	assert_int_equal(iov[1].iov_len, out_len - before);
	assert_true((uint8_t *)iov[0].iov_base + before != iov[1].iov_base);
	assert_memory_equal(iov[0].iov_base, data, before);
	assert_memory_equal(iov[1].iov_base, data + before, out_len - before);
	/* too few iovecs for the split readable buffer + 1: a fault */
	vsw_vq_dev_unpop(f->dev, &c);
	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, 2), -ENOBUFS);
	assert_int_equal(vsw_vq_dev_fault(f->dev), VSW_VQ_FAULT_SEGMENTS);
	assert_int_equal(vsw_vq_dev_set_base(f->dev, base), 0);
	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, 3), 1);
	assert_int_equal(iov[2].iov_len, in_len);
	for (i = 0; i < in_len; i++)
		data[i] = (uint8_t)(0x77 + i);
	memcpy(iov[2].iov_base, data, in_len);
	th_vq_push1(f, &c, in_len);
	len = 0xdeadbeef;
	assert_ptr_equal(vsw_vq_drv_get_used(f->drv, &len), &tok);
	assert_int_equal(len, in_len);
	assert_int_equal(th_read(&f->m, sg[1].addr, back, in_len), 0);
	assert_memory_equal(back, data, in_len);
}

void th_vq_check_unpop_several(struct th_vq *f, uint32_t len, bool writable,
			       uint16_t base)
{
	struct vsw_vq_chain c[3], again;
	int tok[3];
	int i;

	for (i = 0; i < 3; i++)
		th_vq_add1(f, &tok[i], len, writable);
	for (i = 0; i < 3; i++)
		th_vq_pop1(f, &c[i]);
	/* neither is the newest pop: ignored */
	vsw_vq_dev_unpop(f->dev, &c[0]);
	vsw_vq_dev_unpop(f->dev, &c[1]);
	assert_int_equal(vsw_vq_dev_inflight(f->dev), 3);
	for (i = 2; i >= 0; i--)
		vsw_vq_dev_unpop(f->dev, &c[i]);
	assert_int_equal(vsw_vq_dev_inflight(f->dev), 0);
	assert_int_equal(vsw_vq_dev_get_base(f->dev), base);
	for (i = 0; i < 3; i++) {
		th_vq_pop1(f, &again);
		assert_int_equal(again.id, c[i].id);
		th_vq_push1(f, &again, (uint32_t)i);
	}
	for (i = 0; i < 3; i++)
		th_vq_get1(f, &tok[i], (uint32_t)i);
}

void th_vq_expect_fault(struct th_vq *f, unsigned iov_max, int err,
			enum vsw_vq_fault fault)
{
	unsigned inflight = vsw_vq_dev_inflight(f->dev);
	struct vsw_vq_chain c = {0};
	struct vsw_vq_used u = {0};
	struct iovec iov[64];

	assert_true(iov_max <= 64);
	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, iov_max), err);
	assert_int_equal(vsw_vq_dev_error(f->dev), err);
	assert_int_equal(vsw_vq_dev_fault(f->dev), fault);
	assert_non_null(vsw_vq_fault_str(fault));
	/* sticky */
	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, iov_max), err);
	assert_false(vsw_vq_dev_has_avail(f->dev));
	assert_int_equal(vsw_vq_dev_push(f->dev, &c, 0), err);
	assert_int_equal(vsw_vq_dev_push_burst(f->dev, &u, 1), err);
	assert_int_equal(vsw_vq_dev_fault(f->dev), fault);
	assert_int_equal(vsw_vq_dev_inflight(f->dev), inflight);
	th_vq_canaries_check(f);
}

void th_vq_expect_fault_case(struct th_vq *f, const struct th_vq_fault *x)
{
	struct vsw_vq_chain c;
	struct iovec iov[64];
	int ret;

	assert_true(x->iov_max <= 64);
	ret = vsw_vq_dev_pop(f->dev, &c, iov, x->iov_max);
	if (ret != x->err || vsw_vq_dev_fault(f->dev) != x->fault)
		fail_msg("%s: pop %d fault %d, want %d fault %d", x->what, ret,
			 vsw_vq_dev_fault(f->dev), x->err, x->fault);
	/* and the same again, sticky, with everything else */
	th_vq_expect_fault(f, x->iov_max, x->err, x->fault);
}

uint64_t th_vq_raw_addr(const struct th_vq *f, uint64_t table_gpa,
			const struct th_raw *r)
{
	switch (r->base) {
	case TH_AT_BUF:
		return f->buf + r->off;
	case TH_AT_TABLE:
		return table_gpa + r->off;
	case TH_AT_MEM:
		return f->m.gpa_base + r->off;
	case TH_AT_MEM_END:
		return th_end(&f->m) + r->off;
	case TH_AT_REGION0_END:
		return f->m.gpa_base + f->m.size / f->m.nregions + r->off;
	case TH_AT_CANARY:
		return f->canary_gpa + r->off;
	default:
		return r->off;
	}
}

void th_vq_expect_bad_areas(const struct th_vq *f,
			    const struct th_vq_bad_area *c, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++, c++) {
		struct vsw_vq_dev_config vc;
		struct vsw_vq_dev *dev = NULL;
		uint64_t *area[3];
		int ret;

		th_vq_dev_config(f, &vc);
		area[0] = &vc.addrs.desc;
		area[1] = &vc.addrs.driver;
		area[2] = &vc.addrs.device;
		assert_true(c->area < 3);
		if (c->base == TH_AT_SELF) {
			*area[c->area] += c->off;
		} else {
			const struct th_raw r = {.base = c->base,
						 .off = c->off};

			*area[c->area] = th_vq_raw_addr(f, 0, &r);
		}
		ret = vsw_vq_dev_create(&vc, &dev);
		if (ret != -EFAULT || dev != NULL)
			fail_msg("%s: create %d, want -EFAULT", c->what, ret);
	}
}

void th_vq_table_test(void **state)
{
	const struct th_vq_table *t = *state;

	t->run(t->cases, t->n);
}

void th_vq_expect_read_only_chain(struct th_vq *f, uint64_t buf, uint16_t id,
				  unsigned ndesc, unsigned n)
{
	struct vsw_vq_chain c;
	struct iovec iov[8];
	unsigned i;

	assert_int_equal(vsw_vq_dev_pop(f->dev, &c, iov, 8), 1);
	assert_int_equal(c.id, id);
	assert_int_equal(c.ndesc, ndesc);
	assert_int_equal(c.n_out, n);
	assert_int_equal(c.n_in, 0);
	assert_int_equal(c.out_len, 16 * n);
	assert_int_equal(c.in_len, 0);
	for (i = 0; i < n; i++) {
		assert_ptr_equal(iov[i].iov_base,
				 th_ptr(&f->m, buf + 16 * i, 16));
		assert_int_equal(iov[i].iov_len, 16);
	}
	assert_int_equal(vsw_vq_dev_push(f->dev, &c, 0), 0);
	assert_int_equal(vsw_vq_dev_error(f->dev), 0);
	th_vq_canaries_check(f);
}
