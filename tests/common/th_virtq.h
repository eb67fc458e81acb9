/* SPDX-License-Identifier: MIT */
/*
 * Test harness: one virtqueue, driver and device in one process over th_mem
 * guest memory, for either ring format (VIRTIO_F_RING_PACKED in the features
 * picks it, as in the library).
 *
 * Canaries, checked by th_vq_canaries_check() and at th_vq_fini():
 * - the page after each region's host mapping (th_mem leaves a PROT_NONE
 *   guard there; the fixture maps a page of CANARY bytes over it), so that a
 *   host pointer run past the end of a region is seen when it writes rather
 *   than only crashing when it reads;
 * - the last page of guest memory, which is left out of the memory table the
 *   device is given (devmem): a GPA the device must refuse, right next to
 *   memory it may use. Its address is canary_gpa.
 *
 * The fixture owns a deterministic RNG (xorshift64), seeded at init with a
 * fixed value; a test that wants its own sequence seeds it again.
 *
 * Not thread-safe: one test thread owns a fixture; the device or driver
 * handle alone may be handed to a second thread as the library allows.
 */
#ifndef TH_VIRTQ_H
#define TH_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/mem.h>
#include <vsw/virtq.h>

#include "th_mem.h"

#define TH_PAGE 4096u
#define TH_VQ_MEM_SIZE (16u << 20)
#define TH_VQ_GPA_BASE 0x100000000ULL
#define TH_VQ_CANARY 0xa5
#define TH_VQ_BUF_LEN TH_PAGE

/* Deterministic pseudo-random numbers (xorshift64). */
struct th_rng {
	uint64_t s;
};

/* seed 0 is replaced by a fixed non-zero value (xorshift needs one). */
void th_rng_seed(struct th_rng *r, uint64_t seed);
uint64_t th_rng_next(struct th_rng *r);
/* A number in [0, bound), 0 if bound is 0. */
uint32_t th_rng_below(struct th_rng *r, uint32_t bound);

struct th_vq {
	struct th_mem m;
	struct vsw_mem devmem; /* m.mem minus the last page (the canary) */
	uint64_t canary_gpa;   /* that last page */
	uint64_t features;
	uint32_t num;
	uint16_t ind_max;
	void *ring;
	uint64_t ring_gpa;
	void *ind; /* num * ind_max indirect descriptors, or NULL */
	uint64_t ind_gpa;
	uint64_t buf; /* a page-aligned TH_VQ_BUF_LEN scratch buffer */
	struct vsw_vq_addrs a;
	/* split ring: host views of the three areas (NULL when packed) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* packed ring: the descriptor ring and the event areas (NULL: split) */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_ev, *dev_ev;
	struct vsw_vq_drv *drv; /* NULL without a driver: rings written raw */
	struct vsw_vq_dev *dev;
	struct th_rng rng;
};

/* The fixture's RNG: a number in [0, bound), 0 if bound is 0. */
static inline uint32_t th_vq_rnd(struct th_vq *f, uint32_t bound)
{
	return th_rng_below(&f->rng, bound);
}

/*
 * Guest memory of TH_VQ_MEM_SIZE at TH_VQ_GPA_BASE in nregions regions, with
 * the canaries; a ring of num for features laid out with
 * vsw_vq_ring_layout() inside one region; ind_max > 0: indirect tables for
 * the driver; with_driver: a driver on the ring (else the ring stays zero
 * for the test to write); a device on devmem; the scratch buffer. Fails the
 * test (cmocka) on any error.
 */
void th_vq_init(struct th_vq *f, uint64_t features, uint32_t num,
		unsigned nregions, uint16_t ind_max, bool with_driver);
/* Checks the canaries, then frees everything. */
void th_vq_fini(struct th_vq *f);
/* Fails the test if any canary byte changed. */
void th_vq_canaries_check(const struct th_vq *f);

/* len bytes aligned to align inside one region and below the canary. */
uint64_t th_vq_alloc(struct th_vq *f, size_t len, size_t align);

/* A device config for f's queue: features, num, addrs, devmem, no flags. */
void th_vq_dev_config(const struct th_vq *f, struct vsw_vq_dev_config *vc);
/* Replace the device by one created with flags. */
void th_vq_dev_flags(struct th_vq *f, uint32_t flags);

/* A device for f's queue with these (unknown) flags is refused: -EINVAL. */
void th_vq_expect_dev_flags_refused(const struct th_vq *f, uint32_t flags);

/* Driver: add one buffer of len bytes of the scratch buffer. */
void th_vq_add1(struct th_vq *f, void *token, uint32_t len, bool writable);
/* Device: pop one chain that must be there. */
void th_vq_pop1(struct th_vq *f, struct vsw_vq_chain *c);
/* Device: push c with len, must succeed. */
void th_vq_push1(struct th_vq *f, const struct vsw_vq_chain *c, uint32_t len);
/* Driver: the next used buffer must be token, with len. */
void th_vq_get1(struct th_vq *f, void *token, uint32_t len);

/* Device: the fast pop takes exactly one buffer, id; into *out if not NULL. */
void th_vq_expect_one_buf(struct th_vq *f, uint16_t id, struct vsw_vq_buf *out);
/* Device: the fast pop takes nothing; pop takes the chain into c. */
void th_vq_expect_left_for_pop(struct th_vq *f, struct vsw_vq_chain *c);

/*
 * Scenarios both ring formats run the same way through the API. base is
 * what vsw_vq_dev_get_base() / set_base() mean by "where the device is now"
 * for the ring format and position (the packed ring adds its wrap counter).
 */

/*
 * One chain of a readable buffer of out_len bytes starting before bytes
 * below the end of the first region and a writable one of in_len at in_gap
 * above it: pop splits the readable one into two segments at the boundary;
 * with room for two segments only pop breaks the queue (SEGMENTS) and
 * set_base(base) resets it; then the device writes the writable part and the
 * driver reads it back. out_len and in_len at most 512.
 */
void th_vq_check_span_regions(struct th_vq *f, uint32_t before,
			      uint32_t out_len, uint64_t in_gap,
			      uint32_t in_len, uint16_t base);

/*
 * Three single-buffer chains (len bytes of the scratch buffer, writable or
 * not) popped, an unpop of any but the newest ignored, all three given back
 * newest first (get_base is then base), popped again with the same ids and
 * completed with lens 0, 1, 2 that the driver gets back in order.
 */
void th_vq_check_unpop_several(struct th_vq *f, uint32_t len, bool writable,
			       uint16_t base);

/*
 * Pop fails with err and fault, and keeps failing (sticky): pop, push and
 * push_burst return err, has_avail is false, nothing in flight changed, and
 * the canaries are intact.
 */
void th_vq_expect_fault(struct th_vq *f, unsigned iov_max, int err,
			enum vsw_vq_fault fault);

/* What a hostile-ring case expects: pop on a fresh queue breaks it. */
struct th_vq_fault {
	const char *what; /* names the case in the failure message */
	uint64_t features;
	unsigned iov_max;
	int err;
	enum vsw_vq_fault fault;
};

/*
 * The first pop fails as x says (else the test fails naming x->what), then
 * everything th_vq_expect_fault() checks.
 */
void th_vq_expect_fault_case(struct th_vq *f, const struct th_vq_fault *x);

/*
 * Raw descriptors for hostile-ring tables, written by each ring format's own
 * writer: descriptor i of the ring or of an indirect table, its address
 * relative to a base, or with run n > 1 n of them from i on (what a run
 * means, chained or just repeated, is the writer's to say).
 */
enum th_raw_where { TH_RAW_END = 0, TH_RAW_RING, TH_RAW_TABLE };
enum th_raw_base {
	TH_AT_ABS,	   /* off is the address */
	TH_AT_BUF,	   /* the scratch buffer */
	TH_AT_TABLE,	   /* the indirect table the writer was given */
	TH_AT_MEM,	   /* the first byte of guest memory */
	TH_AT_MEM_END,	   /* one past the last byte of guest memory */
	TH_AT_REGION0_END, /* the end of the first region */
	TH_AT_CANARY,	   /* the canary page at the end of memory */
};

struct th_raw {
	uint8_t where, i, base, run;
	uint64_t off; /* added to base, modulo 2^64 */
	uint32_t len;
	uint16_t flags;
	uint16_t next; /* split ring */
	uint16_t id;   /* packed ring */
};

#define TH_NEXT VRING_DESC_F_NEXT
#define TH_WRITE VRING_DESC_F_WRITE
#define TH_IND VRING_DESC_F_INDIRECT
#define TH_BACK(n) ((uint64_t)0 - (n)) /* an offset n below the base */

/* The address r stands for; table_gpa is what TH_AT_TABLE means. */
uint64_t th_vq_raw_addr(const struct th_vq *f, uint64_t table_gpa,
			const struct th_raw *r);

/*
 * A ring area the device must refuse at create: area (0 descriptors, 1
 * driver area, 2 device area) moved to base + off, where base TH_AT_SELF is
 * the area's own address.
 */
#define TH_AT_SELF 0xff
struct th_vq_bad_area {
	const char *what;
	uint8_t area, base;
	uint64_t off;
};

/* Each case: vsw_vq_dev_create() fails with -EFAULT and creates nothing. */
void th_vq_expect_bad_areas(const struct th_vq *f,
			    const struct th_vq_bad_area *c, size_t n);

/*
 * Table-driven cmocka tests: TH_VQ_TABLE_TEST(name, cases, run) is a
 * CMUnitTest named name that calls run(cases, number of cases).
 */
struct th_vq_table {
	const void *cases;
	size_t n;
	void (*run)(const void *cases, size_t n);
};

void th_vq_table_test(void **state);

/* clang-format off */
#define TH_VQ_TABLE_TEST(name, cases, run)                                     \
	{name, th_vq_table_test, NULL, NULL,                                   \
	 (void *)&(const struct th_vq_table){                                  \
		 cases, sizeof(cases) / sizeof((cases)[0]), run}}
/* clang-format on */

/*
 * Pop on a read-only queue: one chain id of ndesc descriptors, n readable
 * segments of 16 bytes at buf + 16 * i, nothing writable; pushed back with
 * len 0 without an error.
 */
void th_vq_expect_read_only_chain(struct th_vq *f, uint64_t buf, uint16_t id,
				  unsigned ndesc, unsigned n);

#endif
