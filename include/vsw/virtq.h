/* SPDX-License-Identifier: MIT */
/*
 * vsw_vq: VIRTIO 1.2 virtqueues, split (§2.6) and packed (§2.7), both sides.
 *
 *  - the driver side (vsw_vq_drv_*) is what a guest's virtio driver does:
 *    expose buffer chains, kick when the device asked for it, collect used
 *    buffers, suppress and re-enable used-buffer notifications;
 *  - the device side (vsw_vq_dev_*) is what vhost does: pop available chains
 *    into host iovecs through a vsw_mem table, push used entries, decide when
 *    the driver must be interrupted.
 *
 * The ring layout is the kernel uapi's (<linux/virtio_ring.h>). The ring type
 * is chosen by VIRTIO_F_RING_PACKED in the negotiated features; the other
 * feature bits honoured are VIRTIO_RING_F_INDIRECT_DESC,
 * VIRTIO_RING_F_EVENT_IDX and VIRTIO_F_IN_ORDER.
 *
 * Security model: the device side treats every byte of ring memory as input
 * from an attacker who may change it at any moment, also while it is being
 * read. Each field is read once into a local, validated, and only then used.
 * A violation marks the queue broken (sticky): every later call fails with the
 * same error until vsw_vq_dev_reset(), and nothing is read or written outside
 * the regions of the vsw_mem table. The driver side likewise validates what
 * the device returns (used ids and counts) and marks itself broken on a lie.
 *
 * Threads: one queue object is used by one thread at a time (one driver
 * thread, one device thread); the two sides may live in different processes
 * sharing the ring memory (memfd), and synchronise only through the ring.
 */
#ifndef VSW_VIRTQ_H
#define VSW_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <vsw/iotlb.h>
#include <vsw/mem.h>

/* Largest queue size of either ring type (§2.6 / §2.7: 32768). */
#define VSW_VQ_MAX_SIZE 32768

/* Feature bits this module implements; others are ignored by it. */
#define VSW_VQ_FEATURES                                                        \
	((1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                               \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_RING_PACKED) |  \
	 (1ULL << VIRTIO_F_IN_ORDER) | (1ULL << VIRTIO_F_VERSION_1))

/* Guest-physical addresses of a queue's three areas. */
struct vsw_vq_addrs {
	uint64_t desc;   /* descriptor table / packed descriptor ring */
	uint64_t driver; /* split: available ring; packed: driver event area */
	uint64_t device; /* split: used ring; packed: device event area */
};

/*
 * Bytes of one contiguous ring for these features and size, areas laid out by
 * vsw_vq_ring_layout(). 0 if num is not a valid size (split: power of two,
 * packed: any) or above VSW_VQ_MAX_SIZE.
 */
size_t vsw_vq_ring_bytes(uint64_t features, uint32_t num);

/*
 * The three areas of a contiguous ring at base: descriptors first, then the
 * driver area, then the device area on its own cache line so the two sides
 * never write the same line.
 */
void vsw_vq_ring_layout(uint64_t features, uint32_t num, uint64_t base,
			struct vsw_vq_addrs *a);

/* One buffer segment as the driver describes it: device-visible address. */
struct vsw_sg {
	uint64_t addr;
	uint32_t len;
};

/* ------------------------------------------------------------------ */
/* Driver side                                                         */
/* ------------------------------------------------------------------ */

struct vsw_vq_drv;

struct vsw_vq_drv_config {
	uint64_t features; /* negotiated; VIRTIO_F_RING_PACKED picks the type */
	uint32_t num;      /* queue size */
	void *ring;        /* vsw_vq_ring_bytes() bytes; create zeroes them */
	uint64_t ring_gpa; /* the device's address of ring */
	/*
	 * Optional indirect tables: num * indirect_max descriptors (16 bytes
	 * each), readable by the device at indirect_gpa. Used only when
	 * VIRTIO_RING_F_INDIRECT_DESC is negotiated, the chain has more than
	 * one segment and at most indirect_max. NULL / 0 to never use them.
	 */
	void *indirect;
	uint64_t indirect_gpa;
	uint16_t indirect_max;
};

/* 0, -EINVAL (size, features or layout), -ENOMEM. */
int vsw_vq_drv_create(const struct vsw_vq_drv_config *cfg,
		      struct vsw_vq_drv **out);
/* Accepts NULL. Does not touch the ring memory. */
void vsw_vq_drv_destroy(struct vsw_vq_drv *vq);

/* The areas the device must be told about (vhost-user SET_VRING_ADDR). */
void vsw_vq_drv_addrs(const struct vsw_vq_drv *vq, struct vsw_vq_addrs *a);

/*
 * Expose a chain: sg[0 .. n_out) device-readable, then sg[n_out .. n_out +
 * n_in) device-writable. token (non-NULL) comes back from get_used.
 * The chain is visible to the device when this returns.
 * Returns 0; -ENOSPC (not enough free descriptors: collect used buffers);
 * -EINVAL (no segments, NULL token, or longer than the queue size);
 * -EIO (queue broken).
 */
int vsw_vq_drv_add(struct vsw_vq_drv *vq, const struct vsw_sg *sg,
		   unsigned n_out, unsigned n_in, void *token);

/*
 * After one or more adds: true if the device asked to be notified of them
 * (VRING_USED_F_NO_NOTIFY / avail_event / packed device event suppression).
 * The caller then kicks (eventfd write). Call once per batch.
 */
bool vsw_vq_drv_kick_prepare(struct vsw_vq_drv *vq);

/*
 * Collect one used buffer: its token, and in *len the bytes the device wrote.
 * NULL when none is pending or the queue is broken (a device that returns an
 * id not in flight breaks the queue). With VIRTIO_F_IN_ORDER, buffers that
 * the device completed implicitly by a later used entry return *len 0.
 */
void *vsw_vq_drv_get_used(struct vsw_vq_drv *vq, uint32_t *len);

/* Ask the device not to interrupt (a hint: it still may). */
void vsw_vq_drv_disable_cb(struct vsw_vq_drv *vq);

/*
 * Re-enable used-buffer notifications. Returns false if used buffers arrived
 * meanwhile (the caller must poll again instead of sleeping), true if it is
 * safe to sleep until the next notification. Race-free like the kernel's
 * virtqueue_enable_cb: the enable is published before the re-check.
 */
bool vsw_vq_drv_enable_cb(struct vsw_vq_drv *vq);

/* True if a used buffer is waiting (no side effect). */
bool vsw_vq_drv_has_used(struct vsw_vq_drv *vq);

unsigned vsw_vq_drv_num_free(const struct vsw_vq_drv *vq);
bool vsw_vq_drv_is_broken(const struct vsw_vq_drv *vq);

/*
 * Teardown after the device stopped: the token of one buffer still in flight
 * (it is forgotten), or NULL when none is left.
 */
void *vsw_vq_drv_detach_unused(struct vsw_vq_drv *vq);

/* ------------------------------------------------------------------ */
/* Device side                                                         */
/* ------------------------------------------------------------------ */

struct vsw_vq_dev;

/* Why a device-side queue broke. */
enum vsw_vq_fault {
	VSW_VQ_FAULT_NONE = 0,
	VSW_VQ_FAULT_HEAD_RANGE,      /* -ERANGE: split head index >= num */
	VSW_VQ_FAULT_NEXT_RANGE,      /* -ERANGE: next index >= num (or table) */
	VSW_VQ_FAULT_LOOP,            /* -ELOOP: chain longer than queue size */
	VSW_VQ_FAULT_ADDR,            /* -EFAULT: buffer outside guest memory */
	VSW_VQ_FAULT_INDIRECT_LEN,    /* -EINVAL: table len 0 or not n * 16 */
	VSW_VQ_FAULT_INDIRECT_ADDR,   /* -EFAULT: table outside guest memory */
	VSW_VQ_FAULT_INDIRECT_NESTED, /* -EINVAL: indirect in indirect table */
	VSW_VQ_FAULT_INDIRECT_FEATURE,/* -EPROTO: INDIRECT not negotiated */
	VSW_VQ_FAULT_INDIRECT_NEXT,   /* -EINVAL: split INDIRECT with NEXT */
	VSW_VQ_FAULT_WRITE_ORDER,     /* -EPROTO: readable after writable */
	VSW_VQ_FAULT_AVAIL_IDX,       /* -EOVERFLOW: avail idx jumped > num */
	VSW_VQ_FAULT_ID_RANGE,        /* -ERANGE: packed buffer id >= num */
	VSW_VQ_FAULT_ID_INUSE,        /* -EBUSY: id/head already in flight */
	VSW_VQ_FAULT_SEGMENTS,        /* -ENOBUFS: more segments than iov_max */
	VSW_VQ_FAULT_IOTLB_PERM,      /* -EACCES: IOTLB entry lacks R or W */
	VSW_VQ_FAULT_IOTLB_MISS,      /* -ETIMEDOUT: a miss stayed unanswered */
	VSW_VQ_FAULT_STALE_BASE,      /* -ESTALE: packed base already used */
	VSW_VQ_FAULT__COUNT
};

/* Short human text for a fault ("head index out of range", ...). */
const char *vsw_vq_fault_str(enum vsw_vq_fault f);

/*
 * The device only reads this queue's buffers (e.g. a virtio-net transmit
 * queue): pop reports every segment readable (n_in 0, in_len 0) and ignores
 * VRING_DESC_F_WRITE in ring descriptors and indirect tables alike, the way
 * vhost implementations treat transmit queues (some drivers set WRITE on
 * their TX indirect entries). A driver therefore cannot make the device
 * write through such a queue, and VSW_VQ_FAULT_WRITE_ORDER never occurs.
 */
#define VSW_VQ_DEV_F_READ_ONLY (1U << 0)

struct vsw_vq_dev_config {
	uint64_t features;          /* negotiated */
	uint32_t num;               /* queue size */
	struct vsw_vq_addrs addrs;  /* guest-physical */
	const struct vsw_mem *mem;  /* must outlive the queue */
	uint32_t flags;             /* VSW_VQ_DEV_F_*, 0 for none */
	/*
	 * NULL: descriptor addresses are guest-physical (through mem).
	 * Else (VIRTIO_F_ACCESS_PLATFORM) they are IOVAs translated through
	 * the domain's current table, with R for readable and W for writable
	 * segments, R for indirect tables; must outlive the queue. addrs stay
	 * guest-physical (the caller translated the ring areas). A buffer
	 * without an entry is reported to the domain's miss function and the
	 * chain is left available (pop returns 0 until an entry arrives, or
	 * faults with VSW_VQ_FAULT_IOTLB_MISS when the miss function gives
	 * up); one lacking the permission faults (VSW_VQ_FAULT_IOTLB_PERM).
	 */
	const struct vsw_iotlb_dom *iotlb;
};

/*
 * 0; -EINVAL (size, features or unknown flags); -EFAULT (an area is not
 * inside one region of mem, or misaligned); -ENOMEM. The queue starts at
 * base 0 (split: the used index is taken from the ring, as vhost does).
 */
int vsw_vq_dev_create(const struct vsw_vq_dev_config *cfg,
		      struct vsw_vq_dev **out);
void vsw_vq_dev_destroy(struct vsw_vq_dev *vq); /* accepts NULL */

/*
 * vhost-user SET_VRING_BASE / GET_VRING_BASE. Split: the next avail index to
 * read. Packed: next avail ring position | avail wrap counter << 15; the used
 * position restarts at the same place (every in-flight buffer is dropped).
 * set_base also clears the broken state and the in-flight set (a reset).
 * -EINVAL if a packed position is >= num. A packed base whose descriptor the
 * device already marked used in that lap cannot be the device's position
 * (QEMU sends such a stale base after a back-end restart: it keeps no
 * packed-ring position across a disconnect): the base is taken, and the
 * queue faults with VSW_VQ_FAULT_STALE_BASE instead of waiting forever.
 */
int vsw_vq_dev_set_base(struct vsw_vq_dev *vq, uint32_t base);
uint32_t vsw_vq_dev_get_base(const struct vsw_vq_dev *vq);

/* A chain popped from the available ring. */
struct vsw_vq_chain {
	uint16_t id;      /* hand back in push: split head / packed buffer id */
	uint16_t ndesc;   /* ring descriptors the chain took */
	uint16_t n_out;   /* readable segments: iov[0 .. n_out) */
	uint16_t n_in;    /* writable segments: iov[n_out .. n_out + n_in) */
	uint64_t out_len; /* bytes readable */
	uint64_t in_len;  /* bytes writable */
};

/*
 * Pop the next available chain into iov (host addresses, each segment inside
 * one region). Returns 1 with *c filled, 0 if nothing is available, or a
 * negative errno when the queue is (or just became) broken: see
 * enum vsw_vq_fault. iov_max should be at least num plus the number of
 * regions a buffer may cross; a chain needing more is a fault.
 */
int vsw_vq_dev_pop(struct vsw_vq_dev *vq, struct vsw_vq_chain *c,
		   struct iovec *iov, unsigned iov_max);

/* A chain of exactly one ring descriptor, mapped: see vsw_vq_dev_pop_bufs. */
struct vsw_vq_buf {
	void *addr;   /* host address of the whole buffer (one region) */
	uint32_t len; /* bytes: readable on a READ_ONLY queue, else writable */
	uint16_t id;  /* hand back in push (ndesc is 1) */
};

/*
 * The fast path for what drivers post almost always: pop up to n chains
 * that each are one descriptor (no NEXT, no INDIRECT) lying in one memory
 * region, and that are writable (VRING_DESC_F_WRITE) unless the queue is
 * READ_ONLY, into b[0 .. ret). The available index is read once. It stops
 * at the first chain that is anything else without consuming it: the next
 * vsw_vq_dev_pop() takes that one, with every check and fault it reports.
 * Returns how many it popped, 0 on a broken queue. Popped chains are in
 * flight like those of vsw_vq_dev_pop() (push, unpop newest first).
 */
unsigned vsw_vq_dev_pop_bufs(struct vsw_vq_dev *vq, struct vsw_vq_buf *b,
			     unsigned n);

/*
 * Give back a popped, not yet pushed chain (e.g. no room for a packet): the
 * next pop returns it again. Several chains may be given back, newest first;
 * a chain that is not the newest remaining pop is ignored.
 */
void vsw_vq_dev_unpop(struct vsw_vq_dev *vq, const struct vsw_vq_chain *c);

/* A used entry: the chain's id and ndesc as popped, bytes written. */
struct vsw_vq_used {
	uint16_t id;
	uint16_t ndesc;
	uint32_t len;
};

/*
 * Return chains to the driver, published together (one index/flag store
 * last). With VIRTIO_F_IN_ORDER they must come in pop order. Each chain gets
 * its own used entry (split) / used descriptor (packed), also with IN_ORDER:
 * §2.6.9 / §2.7.9 would let a run of len 0 entries be folded into the next
 * one, but drivers exist that count one used entry per buffer (DPDK 22.11's
 * virtio PMD in-order TX cleanup never gets folded buffers back), so the
 * device side never folds. The driver side still accepts folded entries
 * from other devices. Returns 0; -EINVAL if an id is not in flight (a bug
 * of the caller, the queue is not marked broken); the queue's error if
 * broken.
 */
int vsw_vq_dev_push_burst(struct vsw_vq_dev *vq, const struct vsw_vq_used *u,
			  unsigned n);

static inline int vsw_vq_dev_push(struct vsw_vq_dev *vq,
				  const struct vsw_vq_chain *c, uint32_t len)
{
	struct vsw_vq_used u = {.id = c->id, .ndesc = c->ndesc, .len = len};

	return vsw_vq_dev_push_burst(vq, &u, 1);
}

/*
 * After pushes: true if the driver must be interrupted now
 * (VRING_AVAIL_F_NO_INTERRUPT / used_event / packed driver event
 * suppression). Call once per batch of pushes.
 */
bool vsw_vq_dev_need_notify(struct vsw_vq_dev *vq);

/* Ask the driver not to kick (a hint: it still may). */
void vsw_vq_dev_disable_notify(struct vsw_vq_dev *vq);

/*
 * Ask the driver to kick on new buffers. Returns true if buffers are already
 * available (keep polling), false if it is safe to sleep on the kick fd.
 */
bool vsw_vq_dev_enable_notify(struct vsw_vq_dev *vq);

/* True if a chain is available to pop (no side effect). */
bool vsw_vq_dev_has_avail(struct vsw_vq_dev *vq);

/* 0, or the sticky negative errno of a broken queue. */
int vsw_vq_dev_error(const struct vsw_vq_dev *vq);
enum vsw_vq_fault vsw_vq_dev_fault(const struct vsw_vq_dev *vq);

/* Chains popped and not yet pushed. */
unsigned vsw_vq_dev_inflight(const struct vsw_vq_dev *vq);

/* ------------------------------------------------------------------ */
/* Dirty page log (vhost live migration)                               */
/* ------------------------------------------------------------------ */

/* Guest memory is logged in pages of this size (vhost's VHOST_LOG_PAGE). */
#define VSW_VQ_LOG_PAGE 4096ULL

/*
 * A dirty log shared with the front-end: bit (gpa / VSW_VQ_LOG_PAGE) % 8 of
 * byte (gpa / VSW_VQ_LOG_PAGE) / 8 is set once the device wrote guest page
 * gpa. The front-end reads and clears it concurrently (atomic exchange), so
 * every mark is an atomic OR made after the write it reports. Pages beyond
 * size * 8 are not logged (the front-end sized the log to its memory).
 */
struct vsw_vq_log {
	uint8_t *bits;
	uint64_t size; /* bytes of bits */
};

/*
 * Mark [gpa, gpa + len) dirty. Orders every store of the calling thread
 * before it ahead of the marks (release): pairs with the front-end's
 * atomic exchange of the log word before it copies the page. Any thread.
 */
void vsw_vq_log_mark(const struct vsw_vq_log *log, uint64_t gpa,
		     uint64_t len);

/*
 * Log this queue's writes to its rings into log from now on (NULL: stop).
 * Split: used ring entries, used->idx, used->flags and avail_event, at
 * used_gpa (vhost-user's log_guest_addr; the used ring's own address when
 * the front-end gives that) plus their offset. Packed: used descriptors at
 * the descriptor ring's address, device event suppression writes at
 * used_gpa. used_gpa UINT64_MAX: ring writes are not logged (only
 * vsw_vq_dev_log_write). Call while no other thread uses the queue (before
 * handing it to a data thread); log must outlive that use.
 */
void vsw_vq_dev_set_log(struct vsw_vq_dev *vq, const struct vsw_vq_log *log,
			uint64_t used_gpa);

/* The log set by vsw_vq_dev_set_log (NULL: logging is off). */
const struct vsw_vq_log *vsw_vq_dev_log(const struct vsw_vq_dev *vq);

/*
 * The device wrote len bytes at host address p (inside one buffer it
 * popped from this queue): mark their guest pages, found through the
 * queue's memory table. Nothing if logging is off or p is not guest memory.
 * Call after the write and before pushing the chain.
 */
void vsw_vq_dev_log_write(struct vsw_vq_dev *vq, const void *p, uint64_t len);

#endif /* VSW_VIRTQ_H */
