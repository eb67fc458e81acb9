/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end behind a virtual IOMMU (VIRTIO_F_ACCESS_PLATFORM):
 * the test front-end plays QEMU's IOMMU. Rings and buffers are IOVAs
 * (GPA + IOVA_OFF); the back-end asks for entries with VHOST_IOTLB_MISS on
 * the backend request channel and the test answers (or not, or late, or
 * wrongly) with IOTLB_MSG updates. Hostile entries (overlapping, wrapping,
 * outside memory, wrong permissions), invalidations of buffers and rings,
 * memory table changes, and invalidations racing a data thread.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_vhost_user_fe.h"
#include "th_virtq.h"
#include "vsw_compiler.h"

#define GPA_BASE 0x100000ULL
#define MEM_SIZE (1024 * 1024)
#define IOVA_OFF 0x40000000ULL
#define QSIZE 64
#define PAGE 4096ULL
#define F_IOMMU (1ULL << VIRTIO_F_ACCESS_PLATFORM)
#define PF_ALL (FE_PF | (1ULL << VSW_VU_PF_BACKEND_REQ))

/* The grace period of the test device: one optional data thread. */
struct gp {
	uint64_t gen;  /* bumped by sync (control thread) */
	uint64_t seen; /* the data thread's last quiescent gen; MAX: none */
	unsigned nsync;
};

struct fx {
	struct th_mem m;
	struct tdev td;
	struct gp gp;
	struct vsw_vu *vu;
	int fe;	 /* the front-end's end of the connection */
	int req; /* the front-end's end of the backend channel */
	uint64_t features;
	bool log; /* fx_init_log: LOG_ALL + LOG_SHMFD, rings with the log flag */
	struct vsw_vq_drv *drv[TD_QUEUES];
	uint64_t ring_gpa[TD_QUEUES];
	size_t ring_bytes;
	int kick[TD_QUEUES], call[TD_QUEUES];
};

static void t_sync(void *o)
{
	struct tdev *td = o;
	struct fx *f = (struct fx *)((char *)td - offsetof(struct fx, td));
	uint64_t g;

	f->gp.nsync++;
	/* pairs with the acquire load of gen in dp_quiesce() below */
	g = __atomic_add_fetch(&f->gp.gen, 1, __ATOMIC_SEQ_CST);
	/* pairs with the release store of seen in dp_quiesce() */
	while (__atomic_load_n(&f->gp.seen, __ATOMIC_ACQUIRE) < g)
		sched_yield();
}

static void dp_quiesce(struct fx *f)
{
	uint64_t g = __atomic_load_n(&f->gp.gen, __ATOMIC_ACQUIRE);

	__atomic_store_n(&f->gp.seen, g, __ATOMIC_RELEASE);
}

static bool td_ro(void *o, uint32_t index, uint64_t features)
{
	(void)o;
	(void)features;
	return index & 1; /* queue 1 is the transmitq */
}

static uint64_t iova(uint64_t gpa)
{
	return gpa + IOVA_OFF;
}

/* IOTLB_MSG with NEED_REPLY: the REPLY_ACK value (0 ok, 1 refused). */
static uint64_t fe_iotlb(struct fx *f, uint8_t type, uint64_t io,
			 uint64_t size, uint64_t uaddr, uint8_t perm)
{
	struct vhost_iotlb_msg m = {.iova = io,
				    .size = size,
				    .uaddr = uaddr,
				    .perm = perm,
				    .type = type};
	uint64_t ack = 99;

	fe_send(f->fe, VSW_VU_REQ_IOTLB_MSG, VSW_VU_FLAG_NEED_REPLY, &m,
		sizeof(m), NULL, 0);
	assert_int_equal(vsw_vu_handle(f->vu), 0);
	fe_reply(f->fe, VSW_VU_REQ_IOTLB_MSG, &ack, sizeof(ack));
	return ack;
}

/* Map [gpa, gpa + size) at its IOVA with perm: must be accepted. */
static void fe_map(struct fx *f, uint64_t gpa, uint64_t size, uint8_t perm)
{
	assert_int_equal(fe_iotlb(f, VHOST_IOTLB_UPDATE, iova(gpa), size,
				  fe_uva(&f->m, gpa), perm),
			 0);
}

static void fe_unmap(struct fx *f, uint64_t gpa, uint64_t size)
{
	assert_int_equal(
		fe_iotlb(f, VHOST_IOTLB_INVALIDATE, iova(gpa), size, 0, 0), 0);
}

/* The next miss on the backend channel, or false if none is waiting. */
static bool fe_miss(struct fx *f, struct vhost_iotlb_msg *m)
{
	struct {
		struct vsw_vu_hdr h;
		struct vhost_iotlb_msg m;
	} __attribute__((packed)) msg;
	ssize_t n = recv(f->req, &msg, sizeof(msg), MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return false;
	assert_int_equal(n, sizeof(msg));
	assert_int_equal(msg.h.request, VSW_VU_BACKEND_IOTLB_MSG);
	assert_int_equal(msg.h.flags, VSW_VU_FLAG_VERSION);
	assert_int_equal(msg.h.size, sizeof(msg.m));
	assert_int_equal(msg.m.type, VHOST_IOTLB_MISS);
	*m = msg.m;
	return true;
}

static void fe_no_miss(struct fx *f)
{
	struct vhost_iotlb_msg m;

	assert_false(fe_miss(f, &m));
}

static void fe_expect_miss(struct fx *f, uint64_t io, uint8_t perm)
{
	struct vhost_iotlb_msg m;

	assert_true(fe_miss(f, &m));
	assert_int_equal(m.iova, io);
	assert_int_equal(m.perm, perm);
}

/*
 * QEMU's start with an IOMMU: features (with VIRTIO_F_ACCESS_PLATFORM if
 * iommu), the channel, memory, two drivers.
 */
static void fx_init3(struct fx *f, uint64_t features, bool iommu, bool log,
		     unsigned miss_timeout_ms)
{
	const uint64_t pf = PF_ALL | (log ? 1ULL << VSW_VU_PF_LOG_SHMFD : 0);
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX], sv[2];
	uint32_t size;
	unsigned i;

	memset(f, 0, sizeof(*f));
	f->gp.seen = UINT64_MAX;
	f->log = log;
	assert_int_equal(th_mem_create(&f->m, MEM_SIZE, GPA_BASE, 2), 0);
	tdev_init(&f->td, false);
	f->td.dev.features |= F_IOMMU | (log ? 1ULL << VHOST_F_LOG_ALL : 0);
	f->td.iotlb_miss_timeout_ms = miss_timeout_ms;
	f->td.dev.sync = t_sync;
	f->td.dev.queue_read_only = td_ro;
	f->vu = fe_backend_pair(&f->td, &f->fe);
	assert_true(fe_get_u64(f->vu, f->fe, VSW_VU_REQ_GET_FEATURES) &
		    F_IOMMU);
	assert_int_equal(
		fe_get_u64(f->vu, f->fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES) & pf,
		pf);
	fe_set_u64(f->vu, f->fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES, pf);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv),
			 0);
	assert_int_equal(fe_do(f->vu, f->fe, VSW_VU_REQ_SET_BACKEND_REQ_FD,
			       NULL, 0, &sv[1], 1),
			 0);
	close(sv[1]);
	f->req = sv[0];
	f->features = features | (iommu ? F_IOMMU : 0) |
		      (log ? 1ULL << VHOST_F_LOG_ALL : 0) |
		      (1ULL << VSW_VU_F_PROTOCOL_FEATURES);
	fe_set_u64(f->vu, f->fe, VSW_VU_REQ_SET_FEATURES, f->features);
	size = fe_mem_table(&f->m, &t, fds);
	assert_int_equal(fe_do(f->vu, f->fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size,
			       fds, f->m.nregions),
			 0);
	f->ring_bytes = vsw_vq_ring_bytes(f->features, QSIZE);
	for (i = 0; i < TD_QUEUES; i++) {
		struct vsw_vq_drv_config dc = {0};

		f->ring_gpa[i] = th_alloc(&f->m, f->ring_bytes, PAGE);
		dc.features = f->features;
		dc.num = QSIZE;
		dc.ring = th_ptr(&f->m, f->ring_gpa[i], f->ring_bytes);
		dc.ring_gpa = iova(f->ring_gpa[i]); /* the driver's view */
		assert_int_equal(vsw_vq_drv_create(&dc, &f->drv[i]), 0);
		f->kick[i] = f->call[i] = -1;
	}
	/* buffers start on a fresh page */
	(void)th_alloc(&f->m, 1, PAGE);
}

static void fx_init2(struct fx *f, uint64_t features, bool iommu)
{
	fx_init3(f, features, iommu, false, 0);
}

static void fx_init(struct fx *f, uint64_t features)
{
	fx_init2(f, features, true);
}

/* SET_VRING_NUM, BASE, ADDR (IOVAs), KICK, CALL, ENABLE of queue idx. */
static void fx_queue(struct fx *f, uint32_t idx)
{
	struct vhost_vring_addr a = {0};
	struct vsw_vq_addrs ad;
	uint64_t v = idx;

	vsw_vq_drv_addrs(f->drv[idx], &ad);
	fe_vring(f->vu, f->fe, VSW_VU_REQ_SET_VRING_NUM, idx, QSIZE);
	fe_vring(f->vu, f->fe, VSW_VU_REQ_SET_VRING_BASE, idx,
		 (f->features & (1ULL << VIRTIO_F_RING_PACKED)) ? 0x80008000u
								 : 0);
	a.index = idx;
	a.desc_user_addr = ad.desc;
	a.avail_user_addr = ad.driver;
	a.used_user_addr = ad.device;
	if (f->log) { /* QEMU: the used ring's address, an IOVA here */
		a.flags = 1u << VHOST_VRING_F_LOG;
		a.log_guest_addr = ad.device;
	}
	assert_int_equal(fe_do(f->vu, f->fe, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
	f->kick[idx] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call[idx] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(fe_do(f->vu, f->fe, VSW_VU_REQ_SET_VRING_KICK, &v,
			       sizeof(v), &f->kick[idx], 1),
			 0);
	assert_int_equal(fe_do(f->vu, f->fe, VSW_VU_REQ_SET_VRING_CALL, &v,
			       sizeof(v), &f->call[idx], 1),
			 0);
	fe_vring(f->vu, f->fe, VSW_VU_REQ_SET_VRING_ENABLE, idx, 1);
}

/* Both queues configured and their rings mapped: both running. */
static void fx_start(struct fx *f)
{
	unsigned i;

	for (i = 0; i < TD_QUEUES; i++) {
		fx_queue(f, i);
		fe_map(f, f->ring_gpa[i], VSW_ALIGN_UP(f->ring_bytes, PAGE),
		       VHOST_ACCESS_RW);
		assert_true(f->td.running[i]);
	}
	/* the misses the ring setup caused, answered above */
	while (fe_miss(f, &(struct vhost_iotlb_msg){0}))
		;
}

static void fx_fini(struct fx *f)
{
	unsigned fds = 0, i;

	vsw_vu_destroy(f->vu);
	for (i = 0; i < TD_QUEUES; i++) {
		vsw_vq_drv_destroy(f->drv[i]);
		if (f->kick[i] >= 0)
			close(f->kick[i]);
		if (f->call[i] >= 0)
			close(f->call[i]);
	}
	/* the back-end closed its end of the channel (after any misses) */
	while (recv(f->req, &fds, sizeof(fds), MSG_DONTWAIT) > 0)
		;
	assert_int_equal(recv(f->req, &fds, sizeof(fds), MSG_DONTWAIT), 0);
	close(f->req);
	close(f->fe);
	th_mem_destroy(&f->m);
}

static struct vsw_vu_iotlb_stats fx_stats(const struct fx *f)
{
	struct vsw_vu_iotlb_stats st;

	assert_int_equal(vsw_vu_iotlb_stats(f->vu, &st), 0);
	return st;
}

static const uint64_t split = (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_RING_F_EVENT_IDX);
static const uint64_t packed = (1ULL << VIRTIO_F_VERSION_1) |
			       (1ULL << VIRTIO_F_RING_PACKED);

/* ------------------------------------------------------------------ */

/*
 * The rings are IOVAs: a queue starts only once its three areas have
 * entries with the access they need, asking for each with a miss.
 */
static void rings(uint64_t features)
{
	struct vsw_vq_addrs ad;
	struct vsw_vu_iotlb_stats st;
	struct fx f;

	fx_init(&f, features);
	fx_queue(&f, 0);
	assert_false(f.td.running[0]);
	vsw_vq_drv_addrs(f.drv[0], &ad);
	fe_expect_miss(&f, ad.desc,
		       (features & (1ULL << VIRTIO_F_RING_PACKED))
			       ? VHOST_ACCESS_RW
			       : VHOST_ACCESS_RO);
	/* read-only rings: the used ring cannot be written, no start */
	fe_map(&f, f.ring_gpa[0], VSW_ALIGN_UP(f.ring_bytes, PAGE),
	       VHOST_ACCESS_RO);
	assert_false(f.td.running[0]);
	st = fx_stats(&f);
	assert_true(st.ring_faults >= 1);
	assert_true(tdev_logged(&f.td, "lacks the access needed"));
	/* the right entry replaces it: the queue starts */
	fe_map(&f, f.ring_gpa[0], VSW_ALIGN_UP(f.ring_bytes, PAGE),
	       VHOST_ACCESS_RW);
	assert_true(f.td.running[0]);
	assert_int_equal(f.td.nstart, 1);
	/* the other queue: misses until its rings are mapped */
	fx_queue(&f, 1);
	assert_false(f.td.running[1]);
	fe_map(&f, f.ring_gpa[1], VSW_ALIGN_UP(f.ring_bytes, PAGE),
	       VHOST_ACCESS_RW);
	assert_true(f.td.running[1]);
	st = fx_stats(&f);
	assert_true(st.misses >= 2);
	assert_true(st.updates == 3);
	assert_true(f.gp.nsync >= 3); /* each replaced table waited */
	fx_fini(&f);
}

static void test_rings_split(void **state)
{
	(void)state;
	rings(split);
}

static void test_rings_packed(void **state)
{
	(void)state;
	rings(packed);
}

/* Add one buffer to queue idx (a token per call). */
static void fx_add(struct fx *f, unsigned idx, uint64_t gpa, uint32_t len,
		   bool writable, void *token)
{
	struct vsw_sg sg = {.addr = iova(gpa), .len = len};

	assert_int_equal(vsw_vq_drv_add(f->drv[idx], &sg, writable ? 0 : 1,
					writable ? 1 : 0, token),
			 0);
}

/*
 * Buffers: a miss answered late, no flood of misses while waiting, a
 * buffer across two entries, the newest overlapping entry wins, a write
 * through a read-only entry faults that queue only.
 */
static void buffers(uint64_t features)
{
	struct vsw_vq_dev *tx, *rx;
	struct vsw_vq_chain c;
	struct vsw_vq_buf b;
	struct iovec iov[8];
	uint64_t buf, other;
	char tok[4];
	uint32_t len;
	struct fx f;
	int i;

	fx_init(&f, features);
	fx_start(&f);
	tx = f.td.q[1].vq;
	rx = f.td.q[0].vq;
	buf = th_alloc(&f.m, 2 * PAGE, PAGE);
	assert_int_equal(th_write(&f.m, buf, "hello-through-the-iommu", 24),
			 0);

	/* no entry: nothing to pop yet, one miss however often it polls */
	fx_add(&f, 1, buf, 24, false, &tok[0]);
	for (i = 0; i < 5; i++) {
		assert_int_equal(vsw_vq_dev_pop_bufs(tx, &b, 1), 0);
		assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 8), 0);
	}
	assert_int_equal(vsw_vq_dev_error(tx), 0);
	fe_expect_miss(&f, iova(buf), VHOST_ACCESS_RO);
	fe_no_miss(&f);
	/* the answer, late: the same chain pops now */
	fe_map(&f, buf, PAGE, VHOST_ACCESS_RO);
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 8), 1);
	assert_int_equal(c.n_out, 1);
	assert_memory_equal(iov[0].iov_base, "hello-through-the-iommu", 24);
	assert_int_equal(vsw_vq_dev_push(tx, &c, 0), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok[0]);

	/*
	 * Overlap: the page is remapped to another guest page (the newest
	 * entry wins); a buffer that crosses into the next IOVA page, mapped
	 * from the other region, comes out in two segments.
	 */
	other = GPA_BASE + MEM_SIZE / 2 + 8 * PAGE; /* region 1 */
	assert_int_equal(th_write(&f.m, other + PAGE - 4, "ABCD", 4), 0);
	assert_int_equal(th_write(&f.m, other + 2 * PAGE, "EFGH", 4), 0);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, iova(buf), PAGE,
				  fe_uva(&f.m, other), VHOST_ACCESS_RW),
			 0);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, iova(buf) + PAGE,
				  PAGE, fe_uva(&f.m, other + 2 * PAGE),
				  VHOST_ACCESS_RO),
			 0);
	fx_add(&f, 1, buf + PAGE - 4, 8, false, &tok[1]);
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 8), 1);
	assert_int_equal(c.n_out, 2);
	assert_memory_equal(iov[0].iov_base, "ABCD", 4);
	assert_memory_equal(iov[1].iov_base, "EFGH", 4);
	assert_int_equal(vsw_vq_dev_push(tx, &c, 0), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok[1]);

	/* the guest's receive buffer is mapped read-only: that queue faults */
	fx_add(&f, 0, buf + PAGE, 64, true, &tok[2]);
	assert_int_equal(vsw_vq_dev_pop_bufs(rx, &b, 1), 0);
	assert_int_equal(vsw_vq_dev_pop(rx, &c, iov, 8), -EACCES);
	assert_int_equal(vsw_vq_dev_fault(rx), VSW_VQ_FAULT_IOTLB_PERM);
	/* ... and only that one: the transmitq goes on, the process too */
	fx_add(&f, 1, buf + 16, 8, false, &tok[3]);
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 8), 1);
	assert_int_equal(vsw_vq_dev_push(tx, &c, 0), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok[3]);
	assert_true(vsw_vu_connected(f.vu));

	/* an invalidated buffer page misses again */
	fe_unmap(&f, buf, PAGE);
	fx_add(&f, 1, buf + 16, 8, false, &tok[0]);
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 8), 0);
	fe_expect_miss(&f, iova(buf + 16), VHOST_ACCESS_RO);
	fe_map(&f, buf, PAGE, VHOST_ACCESS_RW);
	assert_int_equal(vsw_vq_dev_pop_bufs(tx, &b, 1), 1);
	assert_int_equal(vsw_vq_dev_push(
				 tx,
				 &(struct vsw_vq_chain){.id = b.id, .ndesc = 1},
				 0),
			 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok[0]);

	/*
	 * The guest unmaps the page and maps the same IOVA to another page
	 * (strict IOMMU mode does this per packet): the queue must read the
	 * new page, never through what it cached from the old entry, even
	 * when the new table lands at the old one's address.
	 */
	for (i = 0; i < 8; i++) {
		uint64_t to = other + (uint64_t)(i & 1) * 4 * PAGE;
		char want[8];

		snprintf(want, sizeof(want), "page-%d", i);
		assert_int_equal(th_write(&f.m, to + 16, want, 8), 0);
		fe_unmap(&f, buf, PAGE);
		assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, iova(buf),
					  PAGE, fe_uva(&f.m, to),
					  VHOST_ACCESS_RO),
				 0);
		fx_add(&f, 1, buf + 16, 8, false, &tok[0]);
		if (i & 2) {
			assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 8), 1);
			assert_memory_equal(iov[0].iov_base, want, 8);
		} else {
			assert_int_equal(vsw_vq_dev_pop_bufs(tx, &b, 1), 1);
			assert_memory_equal(b.addr, want, 8);
			c = (struct vsw_vq_chain){.id = b.id, .ndesc = 1};
		}
		assert_int_equal(vsw_vq_dev_push(tx, &c, 0), 0);
		assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok[0]);
	}
	fx_fini(&f);
}

static void test_buffers_split(void **state)
{
	(void)state;
	buffers(split);
}

static void test_buffers_packed(void **state)
{
	(void)state;
	buffers(packed);
}

/* Updates that must be refused: NACKed, nothing stored, connection up. */
static void test_hostile_entries(void **state)
{
	struct vsw_vu_iotlb_stats st;
	uint64_t gpa = GPA_BASE + 16 * PAGE, uva, end_uva;
	struct vhost_iotlb_msg m = {0};
	struct fx f;

	(void)state;
	fx_init(&f, split);
	uva = fe_uva(&f.m, gpa);
	end_uva = fe_uva(&f.m, GPA_BASE + MEM_SIZE / 2 - PAGE) + PAGE;
	/* size 0 */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x1000, 0, uva,
				  VHOST_ACCESS_RW),
			 1);
	/* IOVA range wraps */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, UINT64_MAX - 0x800,
				  PAGE, uva, VHOST_ACCESS_RW),
			 1);
	/* user range wraps */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x1000, PAGE,
				  UINT64_MAX - 0x800, VHOST_ACCESS_RW),
			 1);
	/* no permission, unknown permission bits */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x1000, PAGE, uva,
				  0),
			 1);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x1000, PAGE, uva,
				  7),
			 1);
	/* user address outside every region */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x1000, PAGE,
				  0x1000, VHOST_ACCESS_RW),
			 1);
	/* starts inside region 0, runs past its end (into the guard) */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0x1000, 2 * PAGE,
				  end_uva - PAGE, VHOST_ACCESS_RW),
			 1);
	/* a huge entry that covers all memory and more */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_UPDATE, 0, 1ULL << 40, uva,
				  VHOST_ACCESS_RW),
			 1);
	/* a miss or an access failure is not the front-end's to send */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_MISS, 0x1000, PAGE, uva,
				  VHOST_ACCESS_RW),
			 1);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_ACCESS_FAIL, 0x1000, PAGE,
				  uva, VHOST_ACCESS_RW),
			 1);
	assert_int_equal(fe_iotlb(&f, 0, 0x1000, PAGE, uva, VHOST_ACCESS_RW),
			 1);
	st = fx_stats(&f);
	assert_int_equal(st.refused, 11);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.updates, 0);
	assert_true(tdev_logged(&f.td, "user range not inside one region"));
	/* invalidations of nothing, of everything (size 0, wrapping): fine */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, 0, 0, 0, 0), 0);
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, UINT64_MAX,
				  UINT64_MAX, 0, 0),
			 0);
	/* a good one still works, overlapping entries still fine */
	fe_map(&f, gpa, 4 * PAGE, VHOST_ACCESS_RW);
	fe_map(&f, gpa + PAGE, PAGE, VHOST_ACCESS_RO);
	assert_int_equal(fx_stats(&f).entries, 3);
	assert_true(vsw_vu_connected(f.vu));
	/* a short payload: the message is malformed, the connection goes */
	fe_send(f.fe, VSW_VU_REQ_IOTLB_MSG, 0, &m, 24, NULL, 0);
	assert_true(vsw_vu_handle(f.vu) < 0);
	assert_false(vsw_vu_connected(f.vu));
	assert_int_equal(fx_stats(&f).entries, 0);
	fx_fini(&f);
}

/* IOTLB_MSG without VIRTIO_F_ACCESS_PLATFORM closes the connection. */
static void test_iotlb_without_feature(void **state)
{
	struct vhost_iotlb_msg m = {.type = VHOST_IOTLB_UPDATE,
				    .size = PAGE,
				    .perm = VHOST_ACCESS_RW};
	struct vsw_vu_iotlb_stats st;
	struct tdev td;
	struct vsw_vu *vu;
	struct fx f;
	int fe;

	(void)state;
	tdev_init(&td, false);
	/* a device that offers no IOTLB has no stats either */
	vu = fe_backend_pair(&td, &fe);
	assert_int_equal(vsw_vu_iotlb_stats(vu, &st), -ENOTSUP);
	assert_false(fe_get_u64(vu, fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES) &
		     (1ULL << VSW_VU_PF_BACKEND_REQ));
	vsw_vu_destroy(vu);
	close(fe);
	/* offered but not negotiated */
	fx_init2(&f, split, false);
	m.uaddr = fe_uva(&f.m, GPA_BASE + 16 * PAGE);
	fe_send(f.fe, VSW_VU_REQ_IOTLB_MSG, 0, &m, sizeof(m), NULL, 0);
	assert_int_equal(vsw_vu_handle(f.vu), -EPROTO);
	assert_true(tdev_logged(&f.td, "ACCESS_PLATFORM not negotiated"));
	fx_fini(&f);
	/* the feature without a grace period to offer it with: refused */
	td.dev.features |= F_IOMMU;
	{
		struct vsw_vu_config cfg = {.mode = VSW_VU_FD,
					    .fd = -1,
					    .dev = &td.dev};

		assert_int_equal(vsw_vu_create(&cfg, &vu), -EINVAL);
	}
}

/*
 * An invalidation that covers a ring stops that queue (its host pointers
 * are cached); it restarts, through a miss, once remapped. A new memory
 * table drops every entry.
 */
static void test_invalidate_ring_and_memtable(void **state)
{
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX];
	struct vsw_vq_addrs ad;
	uint32_t size;
	struct fx f;

	(void)state;
	fx_init(&f, split);
	fx_start(&f);
	assert_int_equal(f.td.nstart, 2);
	vsw_vq_drv_addrs(f.drv[0], &ad);
	/* a page below the rings: nothing stops */
	fe_unmap(&f, f.ring_gpa[0] - PAGE, PAGE);
	assert_true(f.td.running[0]);
	/* one byte of queue 0's used ring */
	assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE, ad.device + 8,
				  1, 0, 0),
			 0);
	assert_false(f.td.running[0]);
	assert_true(f.td.running[1]);
	/* the first byte missing is the one invalidated */
	fe_expect_miss(&f, ad.device + 8, VHOST_ACCESS_RW);
	fe_map(&f, f.ring_gpa[0], VSW_ALIGN_UP(f.ring_bytes, PAGE),
	       VHOST_ACCESS_RW);
	assert_true(f.td.running[0]);
	assert_int_equal(f.td.nstart, 3);
	/* SET_MEM_TABLE again: entries point into the old mappings */
	size = fe_mem_table(&f.m, &t, fds);
	assert_int_equal(fe_do(f.vu, f.fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size,
			       fds, f.m.nregions),
			 0);
	assert_int_equal(fx_stats(&f).entries, 0);
	assert_false(f.td.running[0]);
	assert_false(f.td.running[1]);
	fe_map(&f, f.ring_gpa[0], VSW_ALIGN_UP(f.ring_bytes, PAGE),
	       VHOST_ACCESS_RW);
	fe_map(&f, f.ring_gpa[1], VSW_ALIGN_UP(f.ring_bytes, PAGE),
	       VHOST_ACCESS_RW);
	assert_true(f.td.running[0] && f.td.running[1]);
	fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Invalidations racing the data path                                  */
/* ------------------------------------------------------------------ */

#define RACE_PAGES 8
#define RACE_BUFS 3000
#define RACE_LEN 256

struct race {
	struct fx *f;
	struct vsw_vq_dev *tx;
	uint64_t base; /* RACE_PAGES pages of buffers */
	unsigned stop;
	unsigned done, bad, errors;
};

/* The buffer's bytes for sequence number s. */
static void race_fill(uint8_t *p, uint32_t s)
{
	unsigned i;

	memcpy(p, &s, sizeof(s));
	for (i = sizeof(s); i < RACE_LEN; i++)
		p[i] = (uint8_t)(s * 31 + i);
}

static void *race_dp(void *arg)
{
	struct race *r = arg;
	uint8_t got[RACE_LEN], want[RACE_LEN];
	struct vsw_vq_chain c;
	struct iovec iov[8];
	uint32_t s;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct vsw_vq_buf b;
		size_t off = 0;
		unsigned k;
		int ret;

		/* the fast path (hint) and the full walk, in turn */
		if ((r->done & 1) && vsw_vq_dev_pop_bufs(r->tx, &b, 1) == 1) {
			ret = 1;
			c = (struct vsw_vq_chain){
				.id = b.id, .ndesc = 1, .n_out = 1};
			iov[0].iov_base = b.addr;
			iov[0].iov_len = b.len;
		} else {
			ret = vsw_vq_dev_pop(r->tx, &c, iov, 8);
		}

		if (ret < 0) {
			r->errors++;
			break;
		}
		if (ret == 1) {
			for (k = 0; k < c.n_out; k++) {
				memcpy(got + off, iov[k].iov_base,
				       iov[k].iov_len);
				off += iov[k].iov_len;
			}
			memcpy(&s, got, sizeof(s));
			race_fill(want, s);
			/* chains come in the order they were added: a stale
			 * page would hold an older, self-consistent buffer */
			if (off != RACE_LEN || memcmp(got, want, RACE_LEN) ||
			    s != r->done)
				r->bad++;
			if (vsw_vq_dev_push(r->tx, &c, 0) < 0)
				r->errors++;
			__atomic_add_fetch(&r->done, 1, __ATOMIC_RELEASE);
		}
		/* a quiescent point: nothing popped is held across it */
		dp_quiesce(r->f);
	}
	/* offline: every later grace period passes at once */
	__atomic_store_n(&r->f->gp.seen, UINT64_MAX, __ATOMIC_RELEASE);
	return NULL;
}

static void test_invalidate_racing_traffic(void **state)
{
	struct vhost_iotlb_msg miss;
	struct race r = {0};
	struct th_rng rng;
	pthread_t th;
	uint32_t added = 0, got = 0, len;
	unsigned free_slots[QSIZE], nfree = QSIZE;
	uint32_t tokens[QSIZE];
	struct fx f;
	unsigned i;

	(void)state;
	th_rng_seed(&rng, 13);
	fx_init(&f, split);
	fx_start(&f);
	r.f = &f;
	r.tx = f.td.q[1].vq;
	r.base = th_alloc(&f.m, RACE_PAGES * PAGE, PAGE);
	for (i = 0; i < RACE_PAGES; i++)
		fe_map(&f, r.base + i * PAGE, PAGE, VHOST_ACCESS_RO);
	for (i = 0; i < QSIZE; i++)
		free_slots[i] = i;
	f.gp.seen = f.gp.gen; /* online from here */
	assert_int_equal(pthread_create(&th, NULL, race_dp, &r), 0);
	while (got < RACE_BUFS) {
		uint32_t *tok;

		/* the driver: a buffer in a free slot, 8 slots per page */
		if (added < RACE_BUFS && nfree > 0) {
			unsigned slot = free_slots[--nfree];
			uint64_t gpa = r.base + (slot % RACE_PAGES) * PAGE +
				       (slot / RACE_PAGES) * RACE_LEN;

			race_fill(th_ptr(&f.m, gpa, RACE_LEN), added);
			tokens[slot] = added;
			fx_add(&f, 1, gpa, RACE_LEN, false, &tokens[slot]);
			added++;
		}
		while ((tok = vsw_vq_drv_get_used(f.drv[1], &len)) != NULL) {
			got++;
			free_slots[nfree++] = (unsigned)(tok - tokens);
		}
		/* the IOMMU: unmap and remap pages under the data thread */
		switch (th_rng_below(&rng, 4)) {
		case 0:
			fe_unmap(&f, r.base + th_rng_below(&rng, RACE_PAGES) *
						      PAGE,
				 PAGE);
			break;
		case 1:
			fe_map(&f,
			       r.base + th_rng_below(&rng, RACE_PAGES) * PAGE,
			       PAGE, VHOST_ACCESS_RO);
			break;
		default:
			break;
		}
		/* answer what the data thread missed */
		while (fe_miss(&f, &miss))
			fe_map(&f, (miss.iova - IOVA_OFF) & ~(PAGE - 1), PAGE,
			       VHOST_ACCESS_RO);
		if (r.errors)
			break;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(got, RACE_BUFS);
	assert_int_equal(r.done, RACE_BUFS);
	assert_true(fx_stats(&f).invalidates > 0);
	assert_true(fx_stats(&f).misses > 0);
	fx_fini(&f);
}

/*
 * A guest in strict IOMMU mode: every transmit buffer gets an IOVA page of
 * its own, mapped to a fresh data page just before it is posted (half the
 * time the update comes first, half the time only the miss brings it), and
 * unmapped (invalidated) as soon as it comes back used; IOVA pages are
 * reused last-in first-out, so an IOVA points at a different page almost
 * every time. Every byte the data thread reads must be the new page's.
 */
#define STRICT_DATA_PAGES (2 * QSIZE)

static void test_strict_guest_remaps(void **state)
{
	uint64_t pt[QSIZE] = {0}; /* the guest's IOMMU: IOVA page -> gpa */
	unsigned free_io[QSIZE], nfree = QSIZE, i;
	uint32_t added = 0, got = 0, len, tokens[QSIZE];
	struct vhost_iotlb_msg miss;
	uint64_t io_base, data;
	struct race r = {0};
	struct th_rng rng;
	pthread_t th;
	struct fx f;

	(void)state;
	th_rng_seed(&rng, 29);
	fx_init(&f, split);
	fx_start(&f);
	r.f = &f;
	r.tx = f.td.q[1].vq;
	data = th_alloc(&f.m, STRICT_DATA_PAGES * PAGE, PAGE);
	/* IOVA pages far from the identity range of everything else */
	io_base = 0x7000000000ULL;
	for (i = 0; i < QSIZE; i++)
		free_io[i] = i;
	f.gp.seen = f.gp.gen; /* online from here */
	assert_int_equal(pthread_create(&th, NULL, race_dp, &r), 0);
	while (got < RACE_BUFS && !r.errors) {
		uint32_t *tok;

		if (added < RACE_BUFS && nfree > 0) {
			unsigned slot = free_io[--nfree];
			uint64_t page = data + (added % STRICT_DATA_PAGES) * PAGE;
			uint64_t off = th_rng_below(&rng, PAGE - RACE_LEN);
			struct vsw_sg sg = {.addr = io_base + slot * PAGE + off,
					    .len = RACE_LEN};

			race_fill(th_ptr(&f.m, page + off, RACE_LEN), added);
			pt[slot] = page;
			if (th_rng_below(&rng, 2))
				assert_int_equal(
					fe_iotlb(&f, VHOST_IOTLB_UPDATE,
						 io_base + slot * PAGE, PAGE,
						 fe_uva(&f.m, page),
						 VHOST_ACCESS_RO),
					0);
			tokens[slot] = added++;
			assert_int_equal(vsw_vq_drv_add(f.drv[1], &sg, 1, 0,
							&tokens[slot]),
					 0);
		}
		while ((tok = vsw_vq_drv_get_used(f.drv[1], &len)) != NULL) {
			unsigned slot = (unsigned)(tok - tokens);

			/* unmap at once, as strict mode does */
			assert_int_equal(fe_iotlb(&f, VHOST_IOTLB_INVALIDATE,
						  io_base + slot * PAGE, PAGE,
						  0, 0),
					 0);
			pt[slot] = 0;
			free_io[nfree++] = slot;
			got++;
		}
		/* QEMU answers a miss from the IOMMU as it is now */
		while (fe_miss(&f, &miss)) {
			uint64_t slot = (miss.iova - io_base) / PAGE;

			assert_true(miss.iova >= io_base && slot < QSIZE);
			if (pt[slot] != 0)
				assert_int_equal(
					fe_iotlb(&f, VHOST_IOTLB_UPDATE,
						 io_base + slot * PAGE, PAGE,
						 fe_uva(&f.m, pt[slot]),
						 VHOST_ACCESS_RO),
					0);
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(got, RACE_BUFS);
	fx_fini(&f);
}

/*
 * A front-end that never answers a miss: the miss is asked again, then
 * given up (here after 300 ms instead of 10 s): only that queue faults
 * ("IOTLB miss not answered"), counted in miss_timeouts; the other queue
 * and the connection go on. The front-end restarting the queue (as QEMU
 * does on a device reset) brings it back, and an answer then lets the
 * waiting chain through.
 */
static void test_miss_never_answered(void **state)
{
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = 10000000};
	struct vsw_vq_dev *tx, *rx;
	struct vhost_vring_state s = {.index = 1};
	struct vhost_iotlb_msg m;
	struct vsw_vq_chain c;
	struct iovec iov[4];
	unsigned sent = 0, i;
	uint64_t buf, rbuf;
	uint32_t len;
	char tok[2];
	int ret = 0;
	struct fx f;

	(void)state;
	fx_init3(&f, split, true, false, 300);
	fx_start(&f);
	tx = f.td.q[1].vq;
	rx = f.td.q[0].vq;
	buf = th_alloc(&f.m, PAGE, PAGE);
	rbuf = th_alloc(&f.m, PAGE, PAGE);
	fe_map(&f, rbuf, PAGE, VHOST_ACCESS_RW);
	fx_add(&f, 1, buf, 16, false, &tok[0]);
	/* poll as a data thread would, up to a minute (never a timing
	 * assertion: only that it ends, and how) */
	for (i = 0; i < 6000; i++) {
		ret = vsw_vq_dev_pop(tx, &c, iov, 4);
		while (fe_miss(&f, &m)) {
			assert_int_equal(m.iova, iova(buf));
			sent++;
		}
		if (ret != 0)
			break;
		nanosleep(&pause, NULL);
	}
	assert_int_equal(ret, -ETIMEDOUT);
	assert_int_equal(vsw_vq_dev_fault(tx), VSW_VQ_FAULT_IOTLB_MISS);
	assert_string_equal(vsw_vq_fault_str(vsw_vq_dev_fault(tx)),
			    "IOTLB miss not answered");
	assert_true(sent >= 2); /* asked, asked again */
	assert_int_equal(fx_stats(&f).miss_timeouts, 1);
	/* the broken queue stays broken, quietly */
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 4), -ETIMEDOUT);
	/* the other queue and the connection go on */
	fx_add(&f, 0, rbuf, 64, true, &tok[1]);
	assert_int_equal(vsw_vq_dev_pop(rx, &c, iov, 4), 1);
	assert_int_equal(vsw_vq_dev_push(rx, &c, 8), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[0], &len), &tok[1]);
	assert_true(vsw_vu_connected(f.vu));

	/* the front-end restarts the queue at its base: the chain is still
	 * available, misses again, and pops once answered */
	assert_int_equal(fe_do(f.vu, f.fe, VSW_VU_REQ_GET_VRING_BASE, &s,
			       sizeof(s), NULL, 0),
			 0);
	fe_reply(f.fe, VSW_VU_REQ_GET_VRING_BASE, &s, sizeof(s));
	assert_int_equal(s.num, 0);
	assert_false(f.td.running[1]);
	fe_vring(f.vu, f.fe, VSW_VU_REQ_SET_VRING_BASE, 1, s.num);
	assert_int_equal(fe_do(f.vu, f.fe, VSW_VU_REQ_SET_VRING_KICK,
			       &(uint64_t){1}, sizeof(uint64_t), &f.kick[1], 1),
			 0);
	assert_true(f.td.running[1]);
	tx = f.td.q[1].vq;
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 4), 0);
	fe_expect_miss(&f, iova(buf), VHOST_ACCESS_RO);
	fe_map(&f, buf, PAGE, VHOST_ACCESS_RO);
	assert_int_equal(vsw_vq_dev_pop(tx, &c, iov, 4), 1);
	assert_int_equal(vsw_vq_dev_push(tx, &c, 0), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok[0]);
	fx_fini(&f);
}

/* ------------------------------------------------------------------ */

/* The dirty log: 64 KiB of bitmap, pages up to 2 GiB (the IOVAs too). */
#define LOG_BYTES (64 * 1024)

static bool log_bit(const uint8_t *log, uint64_t gpa)
{
	uint64_t page = gpa / PAGE;

	return page / 8 < LOG_BYTES && (log[page / 8] >> (page % 8)) & 1;
}

/* A memfd bitmap shared with the back-end (SET_LOG_BASE); its mapping. */
static uint8_t *fx_log_base(struct fx *f)
{
	struct vsw_vu_log l = {.mmap_size = LOG_BYTES, .mmap_offset = 0};
	uint8_t *log;
	int fd;

	fd = memfd_create("vsw-test-iotlb-log", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, LOG_BYTES), 0);
	log = mmap(NULL, LOG_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(log != MAP_FAILED);
	assert_int_equal(fe_do(f->vu, f->fe, VSW_VU_REQ_SET_LOG_BASE, &l,
			       sizeof(l), &fd, 1),
			 0);
	fe_reply(f->fe, VSW_VU_REQ_SET_LOG_BASE, NULL, 0);
	close(fd);
	return log;
}

/*
 * Migration of a guest behind an IOMMU: ring, buffer and log addresses
 * are IOVAs, the dirty log is indexed by guest-physical address. What the
 * device writes (a received frame, the used ring or packed descriptors)
 * is marked at its GPA, never at the IOVA; a log address of its own is
 * translated (a miss, the queue waits) and its invalidation restarts the
 * queue.
 */
static void dirty_log(uint64_t features)
{
	bool pk = features & (1ULL << VIRTIO_F_RING_PACKED);
	struct vhost_vring_addr a = {0};
	struct vsw_vq_addrs ad;
	struct vsw_vq_dev *rx;
	struct vsw_vq_chain c;
	struct iovec iov[4];
	uint64_t buf, used_gpa, logio;
	uint8_t *log;
	uint32_t len;
	char tok;
	struct fx f;

	fx_init3(&f, features, true, true, 0);
	log = fx_log_base(&f);
	fx_start(&f);
	rx = f.td.q[0].vq;
	assert_non_null(vsw_vq_dev_log(rx));
	memset(log, 0, LOG_BYTES); /* what starting the rings marked */

	/* a frame received into a buffer the guest mapped at its IOVA */
	buf = th_alloc(&f.m, PAGE, PAGE);
	fe_map(&f, buf, PAGE, VHOST_ACCESS_RW);
	fx_add(&f, 0, buf + 100, 64, true, &tok);
	assert_int_equal(vsw_vq_dev_pop(rx, &c, iov, 4), 1);
	memset(iov[0].iov_base, 0x5a, 64);
	vsw_vq_dev_log_write(rx, iov[0].iov_base, 64);
	assert_int_equal(vsw_vq_dev_push(rx, &c, 64), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[0], &len), &tok);
	assert_int_equal(len, 64);
	assert_true(log_bit(log, buf + 100));
	assert_false(log_bit(log, iova(buf + 100)));
	/* the ring write that published it: at the ring's GPA */
	vsw_vq_drv_addrs(f.drv[0], &ad);
	used_gpa = (pk ? ad.desc : ad.device) - IOVA_OFF;
	assert_true(log_bit(log, used_gpa));
	assert_false(log_bit(log, pk ? ad.desc : ad.device));

	/*
	 * A log address apart from the used ring (QEMU gives the used
	 * ring's; the spec allows any): not in the IOTLB yet, the queue
	 * waits for its miss, starts once it is answered, and restarts when
	 * it is invalidated.
	 */
	logio = th_alloc(&f.m, PAGE, PAGE);
	vsw_vq_drv_addrs(f.drv[1], &ad);
	a.index = 1;
	a.desc_user_addr = ad.desc;
	a.avail_user_addr = ad.driver;
	a.used_user_addr = ad.device;
	a.flags = 1u << VHOST_VRING_F_LOG;
	a.log_guest_addr = iova(logio);
	assert_int_equal(fe_do(f.vu, f.fe, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
	assert_false(f.td.running[1]);
	fe_expect_miss(&f, iova(logio), VHOST_ACCESS_RW);
	fe_map(&f, logio, PAGE, VHOST_ACCESS_RW);
	assert_true(f.td.running[1]);
	memset(log, 0, LOG_BYTES);
	fx_add(&f, 1, buf, 8, false, &tok);
	assert_int_equal(vsw_vq_dev_pop(f.td.q[1].vq, &c, iov, 4), 1);
	assert_int_equal(vsw_vq_dev_push(f.td.q[1].vq, &c, 0), 0);
	assert_ptr_equal(vsw_vq_drv_get_used(f.drv[1], &len), &tok);
	if (!pk) /* split: the used ring writes are logged at the log GPA */
		assert_true(log_bit(log, logio));
	assert_false(log_bit(log, iova(logio)));
	fe_unmap(&f, logio, PAGE);
	assert_false(f.td.running[1]);
	fe_expect_miss(&f, iova(logio), VHOST_ACCESS_RW);
	assert_int_equal(munmap(log, LOG_BYTES), 0);
	fx_fini(&f);
}

static void test_dirty_log_split(void **state)
{
	(void)state;
	dirty_log(split);
}

static void test_dirty_log_packed(void **state)
{
	(void)state;
	dirty_log(packed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rings_split),
		cmocka_unit_test(test_rings_packed),
		cmocka_unit_test(test_buffers_split),
		cmocka_unit_test(test_buffers_packed),
		cmocka_unit_test(test_hostile_entries),
		cmocka_unit_test(test_iotlb_without_feature),
		cmocka_unit_test(test_invalidate_ring_and_memtable),
		cmocka_unit_test(test_invalidate_racing_traffic),
		cmocka_unit_test(test_strict_guest_remaps),
		cmocka_unit_test(test_miss_never_answered),
		cmocka_unit_test(test_dirty_log_split),
		cmocka_unit_test(test_dirty_log_packed),
	};

	if (!rings_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
