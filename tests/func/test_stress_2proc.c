/* SPDX-License-Identifier: MIT */
/*
 * Two-process virtqueue stress test.
 *
 * The driver runs in this process, the device in a forked child. They share
 * one memfd (ring, indirect tables and buffers) and nothing else: the child
 * maps the memfd again at other addresses, drops the parent's mappings and
 * builds its own vsw_mem table, so any pointer leaking from one side to the
 * other would fault. Kick and call are eventfds, used the way a real driver
 * and device use them: a side sleeps only after re-enabling notifications
 * and seeing nothing pending, and the peer signals only when the queue says
 * so. A wrong notification decision therefore shows up as a sleep that never
 * ends, which the poll() timeout turns into a failure.
 *
 * Chain shapes, lengths and payloads are a pure function of a sequence
 * number, so each side checks the other's bytes without further talking:
 * the device checks that chains arrive in sequence and that every readable
 * byte matches; the driver checks the used length and every written byte,
 * and that the device wrote nothing past it.
 *
 * VSW_STRESS_COUNT sets the chains per configuration, VSW_STRESS_SEED the
 * random seed (printed, to replay a failure), VSW_STRESS_ONLY=name runs one
 * configuration (a glob: "packed*" runs the packed ones).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <vsw/mem.h>
#include <vsw/virtq.h>

#include "th_mem.h"
#include "vsw_compiler.h"

#define ST_MEM_SIZE (8UL << 20)
#define ST_NREGIONS 8 /* 1 MiB each: seven boundaries to cross */
#define ST_GPA_BASE 0x40000000ULL
#define ST_MAX_SEGS 8
#define ST_SEG_MAX 2048
/* a slot holds one chain; 4 KiB slack so region boundaries fall mid-slot */
#define ST_SLOT_BYTES (ST_MAX_SEGS * ST_SEG_MAX + 4096)
#define ST_POOL_OFF 0x10000 /* pool starts after ring + indirect tables */
#define ST_IOV_MAX 64
#define ST_BURST 16
#define ST_HOLD_MAX 6
/*
 * A side asleep for ST_TIMEOUT_MS looks at the ring. If the peer's work is
 * there (an available chain for the device, a used buffer for the driver),
 * the peer owed a signal: after ST_GRACE_MS more (the peer may sit between
 * its publish and its kick_prepare / need_notify) that is a lost
 * notification. If nothing is there, the peer is only slow (a loaded or
 * paused machine stops both processes for seconds): keep sleeping, up to
 * ST_STALL_MS in all.
 */
#define ST_TIMEOUT_MS 10000
#define ST_GRACE_MS 2000
#define ST_STALL_MS 120000
#define ST_STALL_TEXT "120 s"
#define ST_PAT_SIZE 65536
#define ST_POISON 0xa5
#define ST_DEFAULT_COUNT 2000000

#define F(b) (1ULL << (b))

struct st_config {
	const char *name;
	uint64_t features;
	uint32_t num;
};

/* Per-sequence-number shape, computed identically by both processes. */
struct st_shape {
	unsigned n_out, n_in;
	uint32_t len[ST_MAX_SEGS];
	uint64_t out_len, in_len;
	uint32_t written; /* bytes the device writes (<= in_len) */
};

/* Everything both sides know before the fork. */
struct st_ctx {
	const struct st_config *cfg;
	uint64_t count;
	uint64_t seed;
	struct th_mem mem;
	struct vsw_vq_addrs addrs;
	int kick_fd, call_fd;
	/* 2 * ST_PAT_SIZE so any run of <= ST_PAT_SIZE bytes is contiguous */
	uint8_t pat[2 * ST_PAT_SIZE];
};

/* Driver-private chain bookkeeping; the token handed to the queue. */
struct st_slot {
	uint64_t seq;
	uint64_t gpa;      /* start of the slot area */
	uint64_t boundary; /* region boundary inside the area, or 0 */
	uint64_t in_gpa;   /* where the writable bytes start */
	struct st_shape shape;
	struct st_slot *next_free;
};

struct st_stats {
	uint64_t kicks, calls, sleeps, crossings, held, bursts;
};

static uint64_t st_mix(uint64_t x)
{
	/* splitmix64 finaliser: a cheap bijective hash */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t st_rand(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return st_mix(*s);
}

/* Mostly short segments, some long ones up to ST_SEG_MAX. */
static uint32_t st_seg_len(uint64_t r)
{
	switch (r & 7) {
	case 0:
		return 1 + (uint32_t)((r >> 8) % ST_SEG_MAX);
	case 1:
	case 2:
		return 1 + (uint32_t)((r >> 8) % 600);
	default:
		return 1 + (uint32_t)((r >> 8) % 64);
	}
}

static void st_shape_of(uint64_t seed, uint64_t seq, struct st_shape *s)
{
	uint64_t r = st_mix(seed ^ st_mix(seq));
	unsigned total = 1 + (unsigned)(r % ST_MAX_SEGS), i;

	r = st_mix(r);
	s->n_out = (unsigned)(r % (total + 1));
	s->n_in = total - s->n_out;
	s->out_len = s->in_len = 0;
	for (i = 0; i < total; i++) {
		r = st_mix(r + i);
		s->len[i] = st_seg_len(r);
		if (i < s->n_out)
			s->out_len += s->len[i];
		else
			s->in_len += s->len[i];
	}
	r = st_mix(r);
	/* a device often fills the whole buffer, sometimes part, rarely none */
	if (s->in_len == 0 || (r & 15) == 0)
		s->written = 0;
	else if (r & 1)
		s->written = (uint32_t)s->in_len;
	else
		s->written = 1 + (uint32_t)((r >> 8) % s->in_len);
}

/* Pattern offsets for what the driver writes and what the device writes. */
static const uint8_t *st_out_pat(const struct st_ctx *c, uint64_t seq)
{
	return c->pat + st_mix(seq * 2 + c->seed) % ST_PAT_SIZE;
}

static const uint8_t *st_in_pat(const struct st_ctx *c, uint64_t seq)
{
	return c->pat + st_mix(seq * 2 + 1 + c->seed) % ST_PAT_SIZE;
}

/*
 * Wait up to ms for fd to become readable and drain it. 0, or -ETIMEDOUT,
 * or -EPIPE when peer_fd (if >= 0) reports the peer gone.
 */
static int st_wait_ms(int fd, int peer_fd, int ms)
{
	struct pollfd p[2] = {
		{.fd = fd, .events = POLLIN},
		{.fd = peer_fd, .events = POLLIN},
	};
	uint64_t v;
	int n;

	do {
		n = poll(p, peer_fd >= 0 ? 2 : 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (peer_fd >= 0 && (p[1].revents & (POLLHUP | POLLIN)) &&
	    !(p[0].revents & POLLIN))
		return -EPIPE;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/*
 * Sleep until the peer signals fd (see ST_TIMEOUT_MS). pending() tells
 * whether the peer's work is already on the ring. 0 when woken; -ENOLINK
 * for a lost notification; -ETIMEDOUT when the peer made no progress for
 * ST_STALL_MS; -EPIPE when the peer is gone.
 */
static int st_sleep(int fd, int peer_fd, bool (*pending)(void *), void *arg)
{
	int waited = 0, ret;

	for (;;) {
		ret = st_wait_ms(fd, peer_fd, ST_TIMEOUT_MS);
		if (ret != -ETIMEDOUT)
			return ret;
		waited += ST_TIMEOUT_MS;
		if (pending(arg)) {
			ret = st_wait_ms(fd, peer_fd, ST_GRACE_MS);
			return ret == -ETIMEDOUT ? -ENOLINK : ret;
		}
		if (waited >= ST_STALL_MS)
			return -ETIMEDOUT;
	}
}

static int st_signal(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

/*
 * After a timeout: the ring state as one side sees it, for the report (who
 * waits at which position, what the peer asked for in its event area).
 */
static void st_dump_ring(const char *who, const struct st_config *cfg,
			 const void *ring)
{
	struct vsw_vq_addrs a;
	uint32_t i;

	vsw_vq_ring_layout(cfg->features, cfg->num, 0, &a);
	if (cfg->features & F(VIRTIO_F_RING_PACKED)) {
		const struct vring_packed_desc *d = ring;
		const struct vring_packed_desc_event *de =
			(const void *)((const char *)ring + a.driver);
		const struct vring_packed_desc_event *ve =
			(const void *)((const char *)ring + a.device);

		fprintf(stderr,
			"stress %s: driver event flags %u off_wrap 0x%04x, "
			"device event flags %u off_wrap 0x%04x; flags/id:",
			who, le16toh(de->flags), le16toh(de->off_wrap),
			le16toh(ve->flags), le16toh(ve->off_wrap));
		for (i = 0; i < cfg->num; i++) {
			uint16_t f = le16toh(d[i].flags);

			fprintf(stderr, "%s%u:%c%c/%u", i % 8 ? " " : "\n  ", i,
				f & (1U << VRING_PACKED_DESC_F_AVAIL) ? 'A'
								      : '-',
				f & (1U << VRING_PACKED_DESC_F_USED) ? 'U'
								     : '-',
				le16toh(d[i].id));
		}
		fputc('\n', stderr);
	} else {
		const struct vring_avail *av =
			(const void *)((const char *)ring + a.driver);
		const struct vring_used *us =
			(const void *)((const char *)ring + a.device);
		const uint16_t *avail_event = (const void *)&us->ring[cfg->num];

		fprintf(stderr,
			"stress %s: avail flags %u idx %u used_event %u, "
			"used flags %u idx %u avail_event %u\n",
			who, le16toh(av->flags), le16toh(av->idx),
			le16toh(av->ring[cfg->num]), le16toh(us->flags),
			le16toh(us->idx), le16toh(*avail_event));
	}
}

/* ------------------------------------------------------------------ */
/* Device (child process)                                              */
/* ------------------------------------------------------------------ */

/* The child's own view of the guest memory: fresh mappings elsewhere. */
struct st_devmem {
	struct vsw_mem mem;
	void *reserve;
	size_t reserve_len;
};

#define st_die(...)                                                            \
	do {                                                                   \
		fprintf(stderr, "stress device: " __VA_ARGS__);                \
		fputc('\n', stderr);                                           \
		_exit(1);                                                      \
	} while (0)

static void st_dev_map(struct st_ctx *c, struct st_devmem *dm)
{
	size_t per = c->mem.size / c->mem.nregions;
	unsigned i;
	int ret;

	/*
	 * Reserve the new range while the parent's mappings still exist, so
	 * the kernel cannot hand back their addresses; regions go in reverse
	 * host order with a guard page around each.
	 */
	dm->reserve_len = c->mem.nregions * (per + 4096) + 4096;
	dm->reserve = mmap(NULL, dm->reserve_len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dm->reserve == MAP_FAILED)
		st_die("reserve: %s", strerror(errno));
	vsw_mem_init(&dm->mem);
	for (i = 0; i < c->mem.nregions; i++) {
		unsigned slot = c->mem.nregions - 1 - i;
		char *at = (char *)dm->reserve + 4096 + slot * (per + 4096);
		void *p = mmap(at, per, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, c->mem.fd,
			       (off_t)(i * per));

		if (p == MAP_FAILED)
			st_die("map region %u: %s", i, strerror(errno));
		if (p == c->mem.maps[i])
			st_die("region %u mapped at the parent's address", i);
		ret = vsw_mem_add(&dm->mem, c->mem.gpa_base + i * per, per, p,
				  i * per);
		if (ret < 0)
			st_die("vsw_mem_add: %d", ret);
	}
	/* from here on a parent address used by the device faults */
	for (i = 0; i < c->mem.nregions; i++)
		munmap(c->mem.maps[i], per + 4096);
}

struct st_dev {
	struct st_ctx *c;
	struct vsw_vq_dev *vq;
	bool in_order;
	uint64_t rng;
	uint64_t next_seq; /* expected sequence number of the next pop */
	uint64_t done;     /* chains pushed */
	struct vsw_vq_used burst[ST_BURST];
	unsigned nburst;
	struct vsw_vq_used held[ST_HOLD_MAX];
	unsigned nheld;
	struct iovec iov[ST_IOV_MAX];
};

static void st_dev_flush(struct st_dev *d)
{
	int ret;

	if (d->nburst == 0)
		return;
	ret = vsw_vq_dev_push_burst(d->vq, d->burst, d->nburst);
	if (ret < 0)
		st_die("push_burst of %u: %d", d->nburst, ret);
	d->done += d->nburst;
	d->nburst = 0;
	if (vsw_vq_dev_need_notify(d->vq) && st_signal(d->c->call_fd) < 0)
		st_die("call: %s", strerror(errno));
}

static void st_dev_complete(struct st_dev *d, const struct vsw_vq_used *u)
{
	d->burst[d->nburst++] = *u;
	if (d->nburst == ST_BURST)
		st_dev_flush(d);
}

/* Complete the held chains, in a random order. */
static void st_dev_release_held(struct st_dev *d)
{
	while (d->nheld > 0) {
		unsigned k = (unsigned)(st_rand(&d->rng) % d->nheld);

		st_dev_complete(d, &d->held[k]);
		d->held[k] = d->held[--d->nheld];
	}
}

/* Check the readable bytes, write the reply; returns the used length. */
static uint32_t st_dev_process(struct st_dev *d, const struct vsw_vq_chain *ch)
{
	struct st_ctx *c = d->c;
	uint64_t seq = d->next_seq++;
	struct st_shape s;
	const uint8_t *pat;
	uint64_t off = 0, left;
	unsigned i;

	st_shape_of(c->seed, seq, &s);
	if (ch->out_len != s.out_len || ch->in_len != s.in_len)
		st_die("seq %" PRIu64 ": lengths out %" PRIu64 " in %" PRIu64
		       ", expected %" PRIu64 " / %" PRIu64,
		       seq, ch->out_len, ch->in_len, s.out_len, s.in_len);
	if (ch->n_out + ch->n_in > ST_IOV_MAX ||
	    (ch->n_out == 0) != (s.n_out == 0) ||
	    (ch->n_in == 0) != (s.n_in == 0))
		st_die("seq %" PRIu64 ": %u+%u segments for a %u+%u chain",
		       seq, ch->n_out, ch->n_in, s.n_out, s.n_in);
	pat = st_out_pat(c, seq);
	for (i = 0; i < ch->n_out; i++) {
		if (memcmp(d->iov[i].iov_base, pat + off, d->iov[i].iov_len))
			st_die("seq %" PRIu64 ": readable bytes differ in "
			       "segment %u (offset %" PRIu64 ")",
			       seq, i, off);
		off += d->iov[i].iov_len;
	}
	if (off != s.out_len)
		st_die("seq %" PRIu64 ": readable iovs hold %" PRIu64
		       " bytes, expected %" PRIu64, seq, off, s.out_len);
	pat = st_in_pat(c, seq);
	left = s.written;
	off = 0;
	for (i = ch->n_out; i < ch->n_out + ch->n_in; i++) {
		size_t n = d->iov[i].iov_len < left ? d->iov[i].iov_len : left;

		memcpy(d->iov[i].iov_base, pat + off, n);
		off += d->iov[i].iov_len;
		left -= n;
	}
	if (off != s.in_len)
		st_die("seq %" PRIu64 ": writable iovs hold %" PRIu64
		       " bytes, expected %" PRIu64, seq, off, s.in_len);
	return s.written;
}

static bool st_dev_pending(void *vq)
{
	return vsw_vq_dev_has_avail(vq);
}

static void st_dev_run(struct st_ctx *c, int peer_fd)
{
	struct st_devmem dm;
	struct vsw_vq_dev_config dc = {0};
	struct st_dev *d = calloc(1, sizeof(*d));
	struct vsw_vq_chain ch;
	int ret;

	if (d == NULL)
		st_die("out of memory");
	st_dev_map(c, &dm);
	dc.features = c->cfg->features;
	dc.num = c->cfg->num;
	dc.addrs = c->addrs;
	dc.mem = &dm.mem;
	ret = vsw_vq_dev_create(&dc, &d->vq);
	if (ret < 0)
		st_die("vsw_vq_dev_create: %d", ret);
	d->c = c;
	d->in_order = c->cfg->features & F(VIRTIO_F_IN_ORDER);
	d->rng = c->seed ^ 0xdeadbeef;

	while (d->done < c->count) {
		ret = vsw_vq_dev_pop(d->vq, &ch, d->iov, ST_IOV_MAX);
		if (ret < 0)
			st_die("pop after %" PRIu64 " chains: %d (%s)",
			       d->next_seq, ret,
			       vsw_vq_fault_str(vsw_vq_dev_fault(d->vq)));
		if (ret == 1) {
			struct vsw_vq_used u = {.id = ch.id, .ndesc = ch.ndesc};
			uint64_t r = st_rand(&d->rng);

			u.len = st_dev_process(d, &ch);
			/* out of order: hold some, let them overtake later */
			if (!d->in_order && (r & 7) == 0 &&
			    d->nheld < ST_HOLD_MAX) {
				d->held[d->nheld++] = u;
			} else {
				st_dev_complete(d, &u);
				if (!d->in_order && (r & 0x30) == 0)
					st_dev_release_held(d);
			}
			continue;
		}
		/* idle: everything popped goes back before sleeping */
		st_dev_release_held(d);
		st_dev_flush(d);
		if (d->done == c->count)
			break;
		if (vsw_vq_dev_enable_notify(d->vq))
			continue; /* raced with an add: poll again */
		ret = st_sleep(c->kick_fd, peer_fd, st_dev_pending, d->vq);
		if (ret == -ENOLINK || ret == -ETIMEDOUT) {
			size_t bytes = vsw_vq_ring_bytes(c->cfg->features,
							 c->cfg->num);

			st_dump_ring("device", c->cfg,
				     vsw_mem_translate(&dm.mem, c->addrs.desc,
						       bytes));
			st_die("%s after %" PRIu64 " chains, base 0x%x",
			       ret == -ENOLINK
				       ? "lost notification: a chain is "
					 "available and no kick came"
				       : "no kick and no chain for " ST_STALL_TEXT,
			       d->next_seq, vsw_vq_dev_get_base(d->vq));
		}
		if (ret < 0)
			st_die("wait for kick: %d", ret);
		vsw_vq_dev_disable_notify(d->vq);
	}
	if (vsw_vq_dev_error(d->vq) != 0 || vsw_vq_dev_inflight(d->vq) != 0)
		st_die("end: error %d, %u chains in flight",
		       vsw_vq_dev_error(d->vq), vsw_vq_dev_inflight(d->vq));
	if (d->next_seq != c->count)
		st_die("popped %" PRIu64 " chains, expected %" PRIu64,
		       d->next_seq, c->count);
	vsw_vq_dev_destroy(d->vq);
	free(d);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* Driver (this process)                                               */
/* ------------------------------------------------------------------ */

struct st_drv {
	struct st_ctx *c;
	struct vsw_vq_drv *vq;
	struct st_slot *slots;
	struct st_slot *free_head, *free_tail;
	uint64_t rng;
	uint64_t added, completed;
	struct st_stats st;
	uint8_t *scratch;
	void *ring; /* for the dump after a timeout */
};

static void st_slot_put(struct st_drv *d, struct st_slot *s)
{
	s->next_free = NULL;
	if (d->free_tail != NULL)
		d->free_tail->next_free = s;
	else
		d->free_head = s;
	d->free_tail = s;
}

static struct st_slot *st_slot_get(struct st_drv *d)
{
	struct st_slot *s = d->free_head;

	if (s != NULL) {
		d->free_head = s->next_free;
		if (d->free_head == NULL)
			d->free_tail = NULL;
	}
	return s;
}

/* Lay out, fill and add the chain of sequence number d->added. */
static int st_drv_add_one(struct st_drv *d, struct st_slot *s)
{
	struct st_ctx *c = d->c;
	struct vsw_sg sg[ST_MAX_SEGS];
	uint64_t total, start, gpa;
	unsigned i, n;
	int ret;

	s->seq = d->added;
	st_shape_of(c->seed, s->seq, &s->shape);
	n = s->shape.n_out + s->shape.n_in;
	total = s->shape.out_len + s->shape.in_len;
	/* with a boundary in the slot, make the chain straddle it */
	if (s->boundary != 0 && total > 1)
		start = s->boundary - 1 - st_rand(&d->rng) % (total - 1);
	else
		start = s->gpa + st_rand(&d->rng) % (ST_SLOT_BYTES - total);
	if (start < s->gpa)
		start = s->gpa;
	if (start + total > s->gpa + ST_SLOT_BYTES)
		start = s->gpa + ST_SLOT_BYTES - total;
	gpa = start;
	for (i = 0; i < n; i++) {
		sg[i].addr = gpa;
		sg[i].len = s->shape.len[i];
		if (th_ptr(&c->mem, gpa, sg[i].len) == NULL)
			d->st.crossings++;
		gpa += sg[i].len;
	}
	s->in_gpa = start + s->shape.out_len;
	if (th_write(&c->mem, start, st_out_pat(c, s->seq),
		     s->shape.out_len) < 0 ||
	    th_write(&c->mem, s->in_gpa, d->scratch, s->shape.in_len) < 0) {
		fprintf(stderr, "stress driver: slot outside memory\n");
		return -EFAULT;
	}
	ret = vsw_vq_drv_add(d->vq, sg, s->shape.n_out, s->shape.n_in, s);
	if (ret == 0)
		d->added++;
	return ret;
}

static int st_drv_check_used(struct st_drv *d, struct st_slot *s, uint32_t len)
{
	struct st_ctx *c = d->c;
	uint8_t *buf = d->scratch + ST_MAX_SEGS * ST_SEG_MAX;
	uint32_t w = s->shape.written;
	uint64_t i;

	if (len != w) {
		fprintf(stderr, "stress driver: seq %" PRIu64 " used len %" PRIu32
			", expected %" PRIu32 "\n", s->seq, len, w);
		return -EPROTO;
	}
	if (s->shape.in_len == 0)
		return 0;
	if (th_read(&c->mem, s->in_gpa, buf, s->shape.in_len) < 0)
		return -EFAULT;
	if (memcmp(buf, st_in_pat(c, s->seq), w) != 0) {
		for (i = 0; i < w && buf[i] == st_in_pat(c, s->seq)[i]; i++)
			;
		fprintf(stderr, "stress driver: seq %" PRIu64 " written byte %"
			PRIu64 " of %" PRIu32 " differs\n", s->seq, i, w);
		return -EPROTO;
	}
	for (i = w; i < s->shape.in_len; i++) {
		if (buf[i] != ST_POISON) {
			fprintf(stderr, "stress driver: seq %" PRIu64 " byte %"
				PRIu64 " past the used length %" PRIu32
				" was written\n", s->seq, i, w);
			return -EPROTO;
		}
	}
	return 0;
}

/* Collect everything used; returns how many or a negative errno. */
static int st_drv_reap(struct st_drv *d)
{
	struct st_slot *s;
	uint32_t len;
	int n = 0, ret;

	while ((s = vsw_vq_drv_get_used(d->vq, &len)) != NULL) {
		if (s < d->slots || s >= d->slots + d->c->cfg->num) {
			fprintf(stderr, "stress driver: bogus token %p\n",
				(void *)s);
			return -EPROTO;
		}
		ret = st_drv_check_used(d, s, len);
		if (ret < 0)
			return ret;
		d->completed++;
		st_slot_put(d, s);
		n++;
	}
	if (vsw_vq_drv_is_broken(d->vq)) {
		fprintf(stderr, "stress driver: queue broken after %" PRIu64
			" chains\n", d->completed);
		return -EIO;
	}
	return n;
}

static bool st_drv_pending(void *vq)
{
	return vsw_vq_drv_has_used(vq);
}

static int st_drv_run(struct st_drv *d, int peer_fd)
{
	struct st_ctx *c = d->c;
	int ret;

	vsw_vq_drv_disable_cb(d->vq);
	while (d->completed < c->count) {
		unsigned batch = 1 + (unsigned)(st_rand(&d->rng) % 48), k = 0;
		struct st_slot *s;
		int reaped;

		while (k < batch && d->added < c->count &&
		       (s = st_slot_get(d)) != NULL) {
			ret = st_drv_add_one(d, s);
			if (ret == -ENOSPC) {
				/* out of descriptors: keep the slot for later */
				s->next_free = d->free_head;
				d->free_head = s;
				if (d->free_tail == NULL)
					d->free_tail = s;
				break;
			}
			if (ret < 0) {
				fprintf(stderr, "stress driver: add: %d\n",
					ret);
				return ret;
			}
			k++;
		}
		if (k > 0 && vsw_vq_drv_kick_prepare(d->vq)) {
			d->st.kicks++;
			ret = st_signal(c->kick_fd);
			if (ret < 0)
				return ret;
		}
		reaped = st_drv_reap(d);
		if (reaped < 0)
			return reaped;
		if (k > 0 || reaped > 0)
			continue;
		/* nothing to add and nothing used: sleep if the queue agrees */
		if (!vsw_vq_drv_enable_cb(d->vq)) {
			vsw_vq_drv_disable_cb(d->vq);
			continue;
		}
		d->st.sleeps++;
		ret = st_sleep(c->call_fd, peer_fd, st_drv_pending, d->vq);
		if (ret == -ENOLINK || ret == -ETIMEDOUT) {
			fprintf(stderr,
				"stress driver: %s, %" PRIu64
				" chains in flight, %u descriptors free\n",
				ret == -ENOLINK
					? "lost notification: a buffer is "
					  "used and no interrupt came"
					: "no interrupt and no used buffer "
					  "for " ST_STALL_TEXT,
				d->added - d->completed,
				vsw_vq_drv_num_free(d->vq));
			st_dump_ring("driver", c->cfg, d->ring);
			return ret;
		}
		if (ret == -EPIPE) {
			fprintf(stderr,
				"stress driver: the device exited while we "
				"slept, %" PRIu64 " of %" PRIu64 " chains "
				"added, %" PRIu64 " in flight, %u descriptors "
				"free, has_used %d\n",
				d->added, c->count, d->added - d->completed,
				vsw_vq_drv_num_free(d->vq),
				vsw_vq_drv_has_used(d->vq));
			st_dump_ring("driver", c->cfg, d->ring);
			return ret;
		}
		if (ret < 0)
			return ret;
		d->st.calls++;
		vsw_vq_drv_disable_cb(d->vq);
	}
	if (vsw_vq_drv_num_free(d->vq) != c->cfg->num) {
		fprintf(stderr,
			"stress driver: %u descriptors free at the end, "
			"expected %u\n",
			vsw_vq_drv_num_free(d->vq), c->cfg->num);
		return -EPROTO;
	}
	if (vsw_vq_drv_detach_unused(d->vq) != NULL) {
		fprintf(stderr, "stress driver: a buffer is still in flight\n");
		return -EPROTO;
	}
	return 0;
}

static uint64_t st_env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (v == NULL || *v == '\0')
		return dflt;
	x = strtoull(v, &end, 0);
	return *end == '\0' ? x : dflt;
}

/* Sets up memory and the driver queue, forks the device, runs the driver. */
static int st_run(const struct st_config *cfg, struct st_stats *stats,
		  uint64_t *count_out)
{
	struct st_ctx *c = calloc(1, sizeof(*c));
	struct st_drv d = {0};
	struct vsw_vq_drv_config dc = {0};
	uint64_t ring_gpa, pool, i;
	int pipefd[2] = {-1, -1};
	struct timespec t0, t1;
	pid_t pid = -1;
	int ret, status;

	if (c == NULL)
		return -ENOMEM;
	c->cfg = cfg;
	c->kick_fd = c->call_fd = -1;
	c->count = st_env_u64("VSW_STRESS_COUNT", ST_DEFAULT_COUNT);
	c->seed = st_env_u64("VSW_STRESS_SEED", 0x5eed) ^ cfg->features;
	*count_out = c->count;
	for (i = 0; i < ST_PAT_SIZE; i++)
		c->pat[i] = c->pat[i + ST_PAT_SIZE] =
			(uint8_t)st_mix(c->seed + i);
	ret = th_mem_create(&c->mem, ST_MEM_SIZE, ST_GPA_BASE, ST_NREGIONS);
	if (ret < 0)
		goto out;

	d.c = c;
	d.rng = c->seed;
	d.scratch = malloc(2 * ST_MAX_SEGS * ST_SEG_MAX);
	d.slots = calloc(cfg->num, sizeof(*d.slots));
	if (d.scratch == NULL || d.slots == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	memset(d.scratch, ST_POISON, ST_MAX_SEGS * ST_SEG_MAX);
	ring_gpa = th_alloc(&c->mem, vsw_vq_ring_bytes(cfg->features, cfg->num),
			    4096);
	dc.features = cfg->features;
	dc.num = cfg->num;
	dc.ring = th_ptr(&c->mem, ring_gpa,
			 vsw_vq_ring_bytes(cfg->features, cfg->num));
	dc.ring_gpa = ring_gpa;
	if (cfg->features & F(VIRTIO_RING_F_INDIRECT_DESC)) {
		size_t ib = (size_t)cfg->num * ST_MAX_SEGS * 16;

		dc.indirect_gpa = th_alloc(&c->mem, ib, 4096);
		dc.indirect = th_ptr(&c->mem, dc.indirect_gpa, ib);
		dc.indirect_max = ST_MAX_SEGS;
	}
	if (c->mem.brk > ST_GPA_BASE + ST_POOL_OFF) {
		ret = -ENOSPC;
		goto out;
	}
	/* an odd offset so slots and region boundaries never line up */
	pool = ST_GPA_BASE + ST_POOL_OFF + 1000;
	for (i = 0; i < cfg->num; i++) {
		struct st_slot *s = &d.slots[i];
		const struct vsw_mem_region *r;

		s->gpa = pool + i * ST_SLOT_BYTES;
		r = vsw_mem_find(&c->mem.mem, s->gpa);
		if (r == NULL || s->gpa + ST_SLOT_BYTES > th_end(&c->mem)) {
			ret = -ENOSPC;
			goto out;
		}
		if (r->gpa + r->size < s->gpa + ST_SLOT_BYTES)
			s->boundary = r->gpa + r->size;
		st_slot_put(&d, s);
	}
	d.ring = dc.ring;
	ret = vsw_vq_drv_create(&dc, &d.vq);
	if (ret < 0)
		goto out;
	vsw_vq_drv_addrs(d.vq, &c->addrs);
	c->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->kick_fd < 0 || c->call_fd < 0 || pipe(pipefd) < 0) {
		ret = -errno;
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0) {
		/* the device: pipefd[1] stays open until it exits */
		close(pipefd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		vsw_vq_drv_destroy(d.vq);
		st_dev_run(c, -1);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	ret = st_drv_run(&d, pipefd[0]);
	if (ret < 0) {
		/* do not wait for a device that may be asleep forever */
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) != pid) {
		ret = ret < 0 ? ret : -ECHILD;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (ret == 0 || !WIFSIGNALED(status) ||
		    WTERMSIG(status) != SIGKILL)
			fprintf(stderr, "stress: device %s %d\n",
				WIFEXITED(status) ? "exited with status"
						  : "killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status)
						  : WTERMSIG(status));
		if (ret == 0)
			ret = -EPROTO;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*stats = d.st;
	printf("stress %-24s num %5u: %" PRIu64 " chains in %.2f s, %" PRIu64
	       " kicks, %" PRIu64 " driver sleeps, %" PRIu64
	       " region crossings%s\n",
	       cfg->name, cfg->num, d.completed,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       d.st.kicks, d.st.sleeps, d.st.crossings,
	       ret == 0 ? "" : " FAILED");
	fflush(stdout);
out:
	if (ret < 0)
		fprintf(stderr,
			"stress %s: failed with %d (replay: "
			"VSW_STRESS_SEED=0x%" PRIx64 " VSW_STRESS_ONLY=%s)\n",
			cfg->name, ret, c->seed ^ cfg->features, cfg->name);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	if (c->call_fd >= 0)
		close(c->call_fd);
	vsw_vq_drv_destroy(d.vq);
	free(d.slots);
	free(d.scratch);
	th_mem_destroy(&c->mem);
	free(c);
	return ret;
}

#define EV F(VIRTIO_RING_F_EVENT_IDX)
#define IND F(VIRTIO_RING_F_INDIRECT_DESC)
#define PK F(VIRTIO_F_RING_PACKED)
#define INO F(VIRTIO_F_IN_ORDER)
#define V1 F(VIRTIO_F_VERSION_1)

static const struct st_config st_configs[] = {
	{"split", V1, 128},
	{"split+event_idx", V1 | EV, 128},
	{"split+indirect", V1 | IND, 128},
	{"split+event_idx+indirect", V1 | EV | IND, 256},
	{"split+in_order", V1 | INO | EV, 64},
	{"packed", V1 | PK, 120},
	{"packed+event_idx", V1 | PK | EV, 100},
	{"packed+indirect", V1 | PK | IND, 128},
	{"packed+event_idx+indirect", V1 | PK | EV | IND, 250},
	{"packed+in_order", V1 | PK | INO | EV, 61},
};

static void test_stress(void **state)
{
	const struct st_config *cfg = *state;
	struct st_stats stats = {0};
	uint64_t count = 0;

	assert_int_equal(st_run(cfg, &stats, &count), 0);
	/* the chains really straddled regions */
	if (count >= 10000)
		assert_true(stats.crossings > 0);
}

int main(void)
{
	struct CMUnitTest stress_2proc[VSW_ARRAY_SIZE(st_configs)];
	const char *only = getenv("VSW_STRESS_ONLY");
	unsigned i;

	for (i = 0; i < VSW_ARRAY_SIZE(st_configs); i++) {
		struct CMUnitTest t = {
			.name = st_configs[i].name,
			.test_func = test_stress,
			.initial_state = (void *)&st_configs[i],
		};

		stress_2proc[i] = t;
	}
	/* VSW_STRESS_ONLY=name (a cmocka glob) runs those configurations */
	if (only != NULL && *only != '\0')
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(stress_2proc, NULL, NULL);
}
