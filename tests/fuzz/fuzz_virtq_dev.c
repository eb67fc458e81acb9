/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the device side of both virtqueue types against a
 * hostile driver.
 *
 * Input format (all multi-byte fields little-endian):
 *   [0]    features: bit0 INDIRECT_DESC, bit1 EVENT_IDX, bit2 RING_PACKED,
 *          bit3 IN_ORDER (VERSION_1 always); bit4 VSW_VQ_DEV_F_READ_ONLY
 *   [1]    queue size: index (low 3 bits) into fz_split_num / fz_packed_num
 *   [2]    layout: bit0 two regions, bit1 memfd-backed (else anonymous),
 *          bit2 a GPA gap between the regions, bits 3-4 ring placement
 *          (FZ_RING_*)
 *   [3]    small iov_max - 1 (low 4 bits)
 *   [4..5] image length N
 *   [6..6+N) image: copied into guest memory from the ring's GPA on (ring,
 *          then whatever the seed puts after it: indirect tables ...)
 *   then a script of operations until the input ends: one opcode byte
 *   (enum fz_op, modulo FZ_OP__COUNT) and its arguments.
 *
 * Guest memory is one or two regions of FZ_REGION bytes, each surrounded by
 * PROT_NONE guard pages, so an access outside them faults even without ASan.
 *
 * Invariants, checked with abort():
 *   - pop returns 0, 1 or a negative errno;
 *   - a popped chain: id < num, 1 <= ndesc <= num, n_out + n_in <= iov_max,
 *     the segment lengths add up to out_len / in_len, and every segment lies
 *     wholly inside one region (and is read, so a bad one faults);
 *   - once pop fails, vsw_vq_dev_error() is that error, the fault is set and
 *     every later pop returns the same error until a successful set_base;
 *   - after unpop, the next pop (ring unchanged) returns the same chain;
 *   - has_avail false means pop returns 0; a broken queue never asks for a
 *     notification or reports buffers;
 *   - set_base / get_base round-trip, and packed set_base refuses exactly the
 *     positions >= num; it clears the fault, except that a packed base at a
 *     descriptor used in that lap (AVAIL = USED = the wrap bit) faults the
 *     queue with VSW_VQ_FAULT_STALE_BASE;
 *   - a ring placed wholly inside one region is accepted by create;
 *   - a read-only queue pops no writable segment and never faults on the
 *     order of readable and writable ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vsw/mem.h>
#include <vsw/virtq.h>

#define FZ_PAGE 4096UL
#define FZ_REGION (8 * FZ_PAGE)
#define FZ_GPA0 0x10000ULL
#define FZ_GAP 0x10000ULL
#define FZ_IOV_LARGE 1024
#define FZ_MAX_POPPED 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fz_ring_place {
	FZ_RING_START,    /* at the start of region 0 */
	FZ_RING_END,      /* ending at the end of region 0 (guard page next) */
	FZ_RING_STRADDLE, /* across the end of region 0 (create may refuse) */
	FZ_RING_REGION1,  /* at the start of region 1 (or inside region 0) */
};

enum fz_op {
	FZ_OP_POP_SMALL,   /* pop with the header's small iov_max */
	FZ_OP_POP_LARGE,   /* pop with FZ_IOV_LARGE */
	FZ_OP_PUSH,        /* [idx][len16]: push popped chain idx */
	FZ_OP_PUSH_BURST,  /* [n]: push the n oldest popped chains at once */
	FZ_OP_UNPOP,       /* give back the most recent pop */
	FZ_OP_NEED_NOTIFY,
	FZ_OP_ENABLE_NOTIFY,
	FZ_OP_DISABLE_NOTIFY,
	FZ_OP_HAS_AVAIL,   /* and check it against a pop */
	FZ_OP_SET_BASE,    /* [base16] */
	FZ_OP_WRITE,       /* [off16][len8][bytes]: the guest changes memory */
	FZ_OP_GET_BASE,
	FZ_OP_POP_ALL,     /* pop until empty or broken (bounded) */
	FZ_OP_PUSH_ALL,    /* push every popped chain, in pop order */
	FZ_OP__COUNT
};

static const uint32_t fz_split_num[8] = {1, 2, 4, 8, 16, 32, 64, 256};
static const uint32_t fz_packed_num[8] = {1, 2, 3, 5, 8, 17, 64, 255};

struct fz_in {
	const uint8_t *p;
	size_t left;
};

struct fz_popped {
	struct vsw_vq_chain c;
};

struct fz_state {
	struct vsw_mem mem;
	void *reserve;
	size_t reserve_len;
	int memfd;
	uint32_t num;
	bool packed;
	bool read_only;
	unsigned iov_small;
	uint64_t ring_gpa;
	struct vsw_vq_dev *vq;
	int broken; /* the error pop reported, 0 if none since set_base */
	struct fz_popped popped[FZ_MAX_POPPED];
	unsigned npopped;
	bool can_unpop;     /* the last op was a successful, recorded pop */
	bool check_repop;   /* after unpop with the ring unchanged */
	struct vsw_vq_chain unpopped;
	struct iovec iov[FZ_IOV_LARGE];
};

#define fz_check(cond)                                                         \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static bool fz_take(struct fz_in *in, void *dst, size_t n)
{
	if (in->left < n)
		return false;
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

static unsigned fz_u8(struct fz_in *in)
{
	uint8_t v = 0;

	fz_take(in, &v, 1);
	return v;
}

static unsigned fz_u16(struct fz_in *in)
{
	uint8_t v[2] = {0, 0};

	fz_take(in, v, 2);
	return v[0] | (unsigned)v[1] << 8;
}

/* Copy into guest memory; bytes that fall outside every region are lost. */
static void fz_guest_write(struct fz_state *s, uint64_t gpa, const uint8_t *src,
			   size_t len)
{
	while (len > 0) {
		const struct vsw_mem_region *r = vsw_mem_find(&s->mem, gpa);
		size_t n = 1;

		if (r != NULL) {
			n = r->gpa + r->size - gpa;
			if (n > len)
				n = len;
			memcpy((uint8_t *)(uintptr_t)r->hva + (gpa - r->gpa),
			       src, n);
		}
		gpa += n;
		src += n;
		len -= n;
	}
}

static int fz_map(struct fz_state *s, unsigned layout)
{
	unsigned nregions = (layout & 1) ? 2 : 1, i;
	bool use_memfd = layout & 2;
	uint64_t gpa = FZ_GPA0;

	s->memfd = -1;
	/* guard, region, guard, region, guard */
	s->reserve_len = FZ_PAGE + nregions * (FZ_REGION + FZ_PAGE);
	s->reserve = mmap(NULL, s->reserve_len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->reserve == MAP_FAILED)
		return -errno;
	if (use_memfd) {
		s->memfd = memfd_create("fuzz_virtq", MFD_CLOEXEC);
		if (s->memfd < 0 ||
		    ftruncate(s->memfd, (off_t)(nregions * FZ_REGION)) < 0)
			return -errno;
	}
	vsw_mem_init(&s->mem);
	for (i = 0; i < nregions; i++) {
		char *at = (char *)s->reserve + FZ_PAGE +
			   i * (FZ_REGION + FZ_PAGE);
		void *p;

		if (use_memfd)
			p = mmap(at, FZ_REGION, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, s->memfd,
				 (off_t)(i * FZ_REGION));
		else
			p = mmap(at, FZ_REGION, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0);
		if (p == MAP_FAILED)
			return -errno;
		if (vsw_mem_add(&s->mem, gpa, FZ_REGION, p, i * FZ_REGION) < 0)
			abort();
		gpa += FZ_REGION;
		if (layout & 4)
			gpa += FZ_GAP;
	}
	return 0;
}

static void fz_unmap(struct fz_state *s)
{
	if (s->reserve != NULL && s->reserve != MAP_FAILED)
		munmap(s->reserve, s->reserve_len);
	if (s->memfd >= 0)
		close(s->memfd);
}

static uint64_t fz_ring_gpa(const struct fz_state *s, unsigned place,
			    size_t ring_bytes)
{
	const struct vsw_mem_region *r0 = &s->mem.regions[0];
	uint64_t end0 = r0->gpa + r0->size;

	switch (place) {
	case FZ_RING_END:
		return ring_bytes <= r0->size ? end0 - ring_bytes : r0->gpa;
	case FZ_RING_STRADDLE:
		return end0 - ((ring_bytes / 2 + 63) & ~63ULL);
	case FZ_RING_REGION1:
		if (s->mem.nregions > 1)
			return s->mem.regions[1].gpa;
		return r0->gpa + FZ_PAGE;
	default:
		return r0->gpa;
	}
}

static void fz_pop_failed(struct fz_state *s, int ret)
{
	enum vsw_vq_fault f = vsw_vq_dev_fault(s->vq);

	fz_check(ret >= -4095);
	fz_check(vsw_vq_dev_error(s->vq) == ret);
	fz_check(f != VSW_VQ_FAULT_NONE && f < VSW_VQ_FAULT__COUNT);
	fz_check(!s->read_only || f != VSW_VQ_FAULT_WRITE_ORDER);
	s->broken = ret;
}

/* Check a chain pop returned and read every byte of it. */
static void fz_check_chain(struct fz_state *s, const struct vsw_vq_chain *c,
			   unsigned iov_max)
{
	uint64_t out = 0, in = 0, gpa;
	volatile uint8_t sink = 0;
	unsigned i;
	size_t k;

	fz_check(c->id < s->num);
	fz_check(c->ndesc >= 1 && c->ndesc <= s->num);
	fz_check((unsigned)c->n_out + c->n_in <= iov_max);
	fz_check(!s->read_only || (c->n_in == 0 && c->in_len == 0));
	for (i = 0; i < (unsigned)c->n_out + c->n_in; i++) {
		const struct iovec *v = &s->iov[i];

		if (i < c->n_out)
			out += v->iov_len;
		else
			in += v->iov_len;
		if (v->iov_len == 0)
			continue;
		fz_check(vsw_mem_hva_to_gpa(&s->mem, v->iov_base, v->iov_len,
					    &gpa) == 0);
		for (k = 0; k < v->iov_len; k += 512)
			sink ^= ((const uint8_t *)v->iov_base)[k];
		sink ^= ((const uint8_t *)v->iov_base)[v->iov_len - 1];
	}
	(void)sink;
	fz_check(out == c->out_len);
	fz_check(in == c->in_len);
}

/* One pop with all its checks; returns what pop returned. */
static int fz_pop(struct fz_state *s, unsigned iov_max)
{
	struct vsw_vq_chain c;
	int ret = vsw_vq_dev_pop(s->vq, &c, s->iov, iov_max);
	bool repop = s->check_repop;

	s->can_unpop = false;
	s->check_repop = false;
	if (s->broken != 0) {
		fz_check(ret == s->broken);
		return ret;
	}
	if (ret < 0) {
		fz_pop_failed(s, ret);
		return ret;
	}
	fz_check(ret == 0 || ret == 1);
	fz_check(vsw_vq_dev_error(s->vq) == 0);
	if (ret == 0) {
		/* an unpopped chain is still there */
		fz_check(!repop);
		return 0;
	}
	fz_check_chain(s, &c, iov_max);
	if (repop)
		fz_check(c.id == s->unpopped.id &&
			 c.ndesc == s->unpopped.ndesc &&
			 c.out_len == s->unpopped.out_len &&
			 c.in_len == s->unpopped.in_len);
	if (s->npopped < FZ_MAX_POPPED) {
		s->popped[s->npopped++].c = c;
		s->can_unpop = true;
	}
	return 1;
}

static void fz_forget(struct fz_state *s, unsigned idx)
{
	memmove(&s->popped[idx], &s->popped[idx + 1],
		(s->npopped - idx - 1) * sizeof(s->popped[0]));
	s->npopped--;
}

static void fz_after_push(struct fz_state *s, int ret)
{
	if (s->broken != 0) {
		fz_check(ret == s->broken);
		return;
	}
	/* -EINVAL: an id the driver made us pop twice */
	fz_check(ret == 0 || ret == -EINVAL);
}

static void fz_push_n(struct fz_state *s, unsigned n, bool zero_len)
{
	struct vsw_vq_used u[FZ_MAX_POPPED];
	unsigned i;
	int ret;

	if (n > s->npopped)
		n = s->npopped;
	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		u[i].id = s->popped[i].c.id;
		u[i].ndesc = s->popped[i].c.ndesc;
		u[i].len = zero_len ? 0 : (uint32_t)s->popped[i].c.in_len;
	}
	ret = vsw_vq_dev_push_burst(s->vq, u, n);
	fz_after_push(s, ret);
	if (ret == 0) {
		s->npopped -= n;
		memmove(&s->popped[0], &s->popped[n],
			s->npopped * sizeof(s->popped[0]));
	}
}

/* Packed: is the descriptor at base's position used in base's lap? */
static bool fz_pk_stale(const struct fz_state *s, unsigned base)
{
	/* the ring lies in one region (create checked); flags at byte 14 */
	uint64_t gpa = s->ring_gpa + (uint64_t)(base & 0x7fff) * 16 + 14;
	const struct vsw_mem_region *r = vsw_mem_find(&s->mem, gpa);
	const uint8_t *f = (const uint8_t *)(uintptr_t)r->hva + (gpa - r->gpa);
	bool wrap = (base >> 15) & 1;

	return !!(f[0] & 0x80) == wrap && !!(f[1] & 0x80) == wrap;
}

static void fz_set_base(struct fz_state *s, unsigned base)
{
	int ret = vsw_vq_dev_set_base(s->vq, base);
	bool stale;

	if (s->packed && (base & 0x7fff) >= s->num) {
		fz_check(ret == -EINVAL);
		return;
	}
	fz_check(ret == 0);
	stale = s->packed && fz_pk_stale(s, base);
	fz_check(vsw_vq_dev_error(s->vq) == (stale ? -ESTALE : 0));
	fz_check(vsw_vq_dev_fault(s->vq) ==
		 (stale ? VSW_VQ_FAULT_STALE_BASE : VSW_VQ_FAULT_NONE));
	fz_check(vsw_vq_dev_inflight(s->vq) == 0);
	fz_check(vsw_vq_dev_get_base(s->vq) == base);
	s->broken = stale ? -ESTALE : 0;
	s->npopped = 0;
}

static void fz_op(struct fz_state *s, struct fz_in *in)
{
	unsigned op = fz_u8(in) % FZ_OP__COUNT, a, b, i;
	uint8_t buf[256];
	bool can_unpop = s->can_unpop, repop = s->check_repop;
	int ret;

	s->can_unpop = false;
	switch (op) {
	case FZ_OP_POP_SMALL:
		s->check_repop = repop;
		fz_pop(s, s->iov_small);
		break;
	case FZ_OP_POP_LARGE:
		s->check_repop = repop;
		fz_pop(s, FZ_IOV_LARGE);
		break;
	case FZ_OP_PUSH:
		a = fz_u8(in);
		b = fz_u16(in);
		if (s->npopped == 0)
			break;
		a %= s->npopped;
		{
			struct vsw_vq_used u = {
				.id = s->popped[a].c.id,
				.ndesc = s->popped[a].c.ndesc,
				.len = b,
			};

			ret = vsw_vq_dev_push_burst(s->vq, &u, 1);
		}
		fz_after_push(s, ret);
		if (ret == 0)
			fz_forget(s, a);
		s->check_repop = false;
		break;
	case FZ_OP_PUSH_BURST:
		a = fz_u8(in);
		fz_push_n(s, 1 + (a & 15), a & 0x80);
		s->check_repop = false;
		break;
	case FZ_OP_UNPOP:
		if (!can_unpop || s->broken != 0)
			break;
		s->unpopped = s->popped[s->npopped - 1].c;
		vsw_vq_dev_unpop(s->vq, &s->unpopped);
		s->npopped--;
		s->check_repop = true;
		break;
	case FZ_OP_NEED_NOTIFY:
		if (vsw_vq_dev_need_notify(s->vq))
			fz_check(s->broken == 0);
		s->check_repop = repop;
		break;
	case FZ_OP_ENABLE_NOTIFY:
		if (vsw_vq_dev_enable_notify(s->vq))
			fz_check(s->broken == 0);
		s->check_repop = repop;
		break;
	case FZ_OP_DISABLE_NOTIFY:
		vsw_vq_dev_disable_notify(s->vq);
		s->check_repop = repop;
		break;
	case FZ_OP_HAS_AVAIL:
		if (vsw_vq_dev_has_avail(s->vq)) {
			fz_check(s->broken == 0);
			s->check_repop = repop;
			/* a driver reusing ids may leave nothing poppable */
			ret = fz_pop(s, FZ_IOV_LARGE);
			if (vsw_vq_dev_inflight(s->vq) < s->num)
				fz_check(ret != 0 || s->broken != 0);
		} else if (s->broken == 0) {
			fz_check(!repop);
			fz_check(fz_pop(s, FZ_IOV_LARGE) == 0);
		}
		break;
	case FZ_OP_SET_BASE:
		fz_set_base(s, fz_u16(in));
		s->check_repop = false;
		break;
	case FZ_OP_WRITE:
		a = fz_u16(in);
		b = fz_u8(in);
		if (b > in->left)
			b = (unsigned)in->left;
		fz_take(in, buf, b);
		fz_guest_write(s, s->ring_gpa + a, buf, b);
		s->check_repop = false;
		break;
	case FZ_OP_GET_BASE:
		a = vsw_vq_dev_get_base(s->vq);
		if (s->packed)
			fz_check((a & 0x7fff) < s->num && a <= 0xffff);
		s->check_repop = repop;
		break;
	case FZ_OP_POP_ALL:
		s->check_repop = repop;
		for (i = 0; i < 2 * s->num + 2; i++)
			if (fz_pop(s, FZ_IOV_LARGE) != 1)
				break;
		break;
	case FZ_OP_PUSH_ALL:
		fz_push_n(s, s->npopped, false);
		s->check_repop = false;
		break;
	}
	fz_check(vsw_vq_dev_inflight(s->vq) <= s->num);
	if (s->broken != 0)
		fz_check(vsw_vq_dev_error(s->vq) == s->broken);
	else if (vsw_vq_dev_error(s->vq) != 0)
		/* only pop may break the queue: it reads the rings */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct fz_state *s;
	struct vsw_vq_dev_config cfg = {0};
	const struct vsw_mem_region *r;
	uint8_t hdr[6];
	size_t ring_bytes, img;
	unsigned place;
	int ret;

	if (!fz_take(&in, hdr, sizeof(hdr)))
		return 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return 0;
	if (fz_map(s, hdr[2]) < 0)
		goto out;
	cfg.features = 1ULL << VIRTIO_F_VERSION_1;
	if (hdr[0] & 1)
		cfg.features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (hdr[0] & 2)
		cfg.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (hdr[0] & 4)
		cfg.features |= 1ULL << VIRTIO_F_RING_PACKED;
	if (hdr[0] & 8)
		cfg.features |= 1ULL << VIRTIO_F_IN_ORDER;
	s->packed = hdr[0] & 4;
	s->read_only = hdr[0] & 16;
	if (s->read_only)
		cfg.flags = VSW_VQ_DEV_F_READ_ONLY;
	s->num = s->packed ? fz_packed_num[hdr[1] & 7]
			   : fz_split_num[hdr[1] & 7];
	s->iov_small = 1 + (hdr[3] & 15);
	ring_bytes = vsw_vq_ring_bytes(cfg.features, s->num);
	fz_check(ring_bytes > 0);
	place = (hdr[2] >> 3) & 3;
	s->ring_gpa = fz_ring_gpa(s, place, ring_bytes);
	img = hdr[4] | (size_t)hdr[5] << 8;
	if (img > in.left)
		img = in.left;
	fz_guest_write(s, s->ring_gpa, in.p, img);
	in.p += img;
	in.left -= img;

	cfg.num = s->num;
	cfg.mem = &s->mem;
	vsw_vq_ring_layout(cfg.features, s->num, s->ring_gpa, &cfg.addrs);
	ret = vsw_vq_dev_create(&cfg, &s->vq);
	r = vsw_mem_find(&s->mem, s->ring_gpa);
	if (r != NULL && s->ring_gpa + ring_bytes <= r->gpa + r->size)
		fz_check(ret == 0);
	if (ret < 0) {
		fz_check(ret == -EFAULT || ret == -ENOMEM);
		goto out;
	}
	fz_check(vsw_vq_dev_error(s->vq) == 0 && vsw_vq_dev_inflight(s->vq) == 0);
	while (in.left > 0)
		fz_op(s, &in);
	vsw_vq_dev_destroy(s->vq);
out:
	fz_unmap(s);
	free(s);
	return 0;
}
