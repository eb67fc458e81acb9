/* SPDX-License-Identifier: MIT */
/*
 * vsw-blk's device (programs/blk/blk_dev.c) behind the vhost-user back end,
 * driven by a test front-end over a socketpair (test_vhost_user_fe.c) and
 * lib/virtq's driver side on memfd guest memory; the disk is a file in a
 * fresh mkdtemp directory. Every request type, several requests in flight,
 * the config space, and the hostile cases: short header, status byte
 * missing or read-only, data not whole sectors, sector + length past the
 * end (also wrapping 64 bits), unknown types and flags, writes to a
 * read-only disk, and a ring fault that stops one queue while the other
 * keeps serving. All of it on split rings, then on packed rings.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>

#include "blk_dev.h"
#include "test_vhost_user_fe.h"

#define GPA_BASE 0x100000ULL
#define MEM_SIZE (2 * 1024 * 1024)
#define QSIZE 64
#define NQ 2
#define DISK_SECTORS 2048 /* 1 MiB */
#define SERIAL "vsw-test-serial"
/* 64 KiB of data area from 1.5 KiB below the boundary of the regions */
#define DATA_GPA (GPA_BASE + MEM_SIZE / 2 - 1536)

/* The ring type of this round: 0 (split) or VIRTIO_F_RING_PACKED. */
static uint64_t ring_bit;
/* env_open: the device's fd opened with O_DIRECT (config direct). */
static bool env_direct;

#define FEATURES (base_features | ring_bit)
static const uint64_t base_features =
	(1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
	(1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_BLK_F_FLUSH) |
	(1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) |
	(1ULL << VIRTIO_BLK_F_MQ) | (1ULL << VIRTIO_BLK_F_SEG_MAX);

struct env {
	char dir[64], path[96];
	int disk;   /* buffered: what the checks pread */
	int direct; /* -1, or the disk again with O_DIRECT (env_direct) */
	struct th_mem m;
	struct vsw_blk *b;
	struct vsw_vu *vu;
	int fe;
	struct vsw_vq_drv *drv[NQ];
	int kick[NQ], call[NQ];
	uint64_t hdr, data, status; /* GPAs of one request's buffers */
	char log[8192];
	size_t loglen;
};

static void env_log(void *opaque, enum vsw_log_level level, const char *line)
{
	struct env *e = opaque;
	int n;

	(void)level;
	n = snprintf(e->log + e->loglen, sizeof(e->log) - e->loglen, "%s\n",
		     line);
	if (n > 0 && e->loglen + (size_t)n < sizeof(e->log))
		e->loglen += (size_t)n;
}

/* Queue qi as QEMU sets it up: size, base, addresses, kick, call, enable. */
static void env_queue(struct env *e, uint64_t feat, uint32_t qi)
{
	size_t bytes = vsw_vq_ring_bytes(feat, QSIZE);
	struct vsw_vq_drv_config dc = {0};
	struct vhost_vring_addr a = {0};
	struct vsw_vq_addrs addrs;
	uint64_t v = qi;

	dc.features = feat;
	dc.num = QSIZE;
	dc.ring_gpa = th_alloc(&e->m, bytes, 4096);
	dc.ring = th_ptr(&e->m, dc.ring_gpa, bytes);
	dc.indirect_max = 8;
	dc.indirect_gpa = th_alloc(&e->m, QSIZE * 8 * 16, 16);
	dc.indirect = th_ptr(&e->m, dc.indirect_gpa, QSIZE * 8 * 16);
	assert_int_equal(vsw_vq_drv_create(&dc, &e->drv[qi]), 0);
	vsw_vq_drv_addrs(e->drv[qi], &addrs);
	fe_vring(e->vu, e->fe, VSW_VU_REQ_SET_VRING_NUM, qi, QSIZE);
	/* QEMU's base of a fresh ring; packed: avail and used position 0
	 * with their wrap counters at 1 */
	fe_vring(e->vu, e->fe, VSW_VU_REQ_SET_VRING_BASE, qi,
		 feat & (1ULL << VIRTIO_F_RING_PACKED) ? 0x80008000u : 0);
	a.index = qi;
	a.desc_user_addr = fe_uva(&e->m, addrs.desc);
	a.avail_user_addr = fe_uva(&e->m, addrs.driver);
	a.used_user_addr = fe_uva(&e->m, addrs.device);
	assert_int_equal(fe_do(e->vu, e->fe, VSW_VU_REQ_SET_VRING_ADDR, &a,
			       sizeof(a), NULL, 0),
			 0);
	e->kick[qi] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->call[qi] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(fe_do(e->vu, e->fe, VSW_VU_REQ_SET_VRING_KICK, &v,
			       sizeof(v), &e->kick[qi], 1),
			 0);
	assert_int_equal(fe_do(e->vu, e->fe, VSW_VU_REQ_SET_VRING_CALL, &v,
			       sizeof(v), &e->call[qi], 1),
			 0);
	fe_vring(e->vu, e->fe, VSW_VU_REQ_SET_VRING_ENABLE, qi, 1);
}

static void env_open(struct env *e, bool read_only, uint64_t feat)
{
	struct vsw_blk_config bc = {0};
	struct vsw_vu_config vc = {0};
	struct vsw_vu_mem_table t;
	int fds[VSW_VU_MEM_TABLE_MAX], sv[2];
	uint64_t pf = FE_PF | (1ULL << VSW_VU_PF_CONFIG), offered;
	uint32_t size, i;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/vsw-blk-test-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/disk.img", e->dir);
	e->disk = open(e->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(e->disk >= 0);
	assert_int_equal(ftruncate(e->disk, DISK_SECTORS * 512), 0);
	e->direct = -1;
	if (env_direct) {
		e->direct = open(e->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (e->direct < 0) { /* a file system without O_DIRECT */
			assert_int_equal(errno, EINVAL);
			close(e->disk);
			unlink(e->path);
			rmdir(e->dir);
			skip();
		}
	}
	/* only the fd is needed: nothing is left behind, also on failure */
	assert_int_equal(unlink(e->path), 0);
	assert_int_equal(rmdir(e->dir), 0);
	assert_int_equal(th_mem_create(&e->m, MEM_SIZE, GPA_BASE, 2), 0);
	bc.fd = e->direct >= 0 ? e->direct : e->disk;
	bc.direct = e->direct >= 0;
	bc.fd_buffered = e->disk;
	bc.size = DISK_SECTORS * 512;
	bc.read_only = read_only;
	bc.serial = SERIAL;
	bc.num_queues = NQ;
	bc.log = env_log;
	bc.log_opaque = e;
	bc.log_level = VSW_LOG_DEBUG;
	assert_int_equal(vsw_blk_create(&bc, &e->b), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	vc.mode = VSW_VU_FD;
	vc.fd = sv[1];
	vc.dev = vsw_blk_vu_device(e->b);
	vc.log = env_log;
	vc.log_opaque = e;
	vc.log_level = VSW_LOG_DEBUG;
	assert_int_equal(vsw_vu_create(&vc, &e->vu), 0);
	e->fe = sv[0];

	offered = fe_get_u64(e->vu, e->fe, VSW_VU_REQ_GET_FEATURES);
	assert_int_equal(offered & feat, feat);
	assert_int_equal(!!(offered & (1ULL << VIRTIO_BLK_F_RO)), read_only);
	assert_int_equal(
		fe_get_u64(e->vu, e->fe, VSW_VU_REQ_GET_PROTOCOL_FEATURES) & pf,
		pf);
	fe_set_u64(e->vu, e->fe, VSW_VU_REQ_SET_PROTOCOL_FEATURES, pf);
	assert_int_equal(fe_get_u64(e->vu, e->fe, VSW_VU_REQ_GET_QUEUE_NUM),
			 NQ);
	assert_int_equal(
		fe_do(e->vu, e->fe, VSW_VU_REQ_SET_OWNER, NULL, 0, NULL, 0), 0);
	fe_set_u64(e->vu, e->fe, VSW_VU_REQ_SET_FEATURES,
		   feat | (1ULL << VSW_VU_F_PROTOCOL_FEATURES));
	size = fe_mem_table(&e->m, &t, fds);
	assert_int_equal(fe_do(e->vu, e->fe, VSW_VU_REQ_SET_MEM_TABLE, &t, size,
			       fds, e->m.nregions),
			 0);
	for (i = 0; i < NQ; i++)
		env_queue(e, feat, i);
	e->hdr = th_alloc(&e->m, 64, 64);
	e->status = th_alloc(&e->m, 64, 64);
	/* the data buffer straddles the two regions: two host segments */
	e->data = DATA_GPA;
	assert_true(e->m.brk < DATA_GPA);
}

static void env_close(struct env *e)
{
	unsigned i;

	vsw_vu_destroy(e->vu);
	vsw_blk_destroy(e->b);
	for (i = 0; i < NQ; i++) {
		vsw_vq_drv_destroy(e->drv[i]);
		close(e->kick[i]);
		close(e->call[i]);
	}
	close(e->fe);
	th_mem_destroy(&e->m);
	close(e->disk);
	if (e->direct >= 0)
		close(e->direct);
}

/*
 * Run the device until qi's driver gets token back (5 s at most): first
 * vsw_blk_run(), then vsw_blk_run_polled() with what poll() found.
 */
static uint32_t env_wait(struct env *e, unsigned qi, void *token)
{
	struct pollfd p[1 + NQ];
	uint32_t len = 0;
	unsigned n = 0;
	void *got;
	int i;

	for (i = 0; i < 5000; i++) {
		if (n == 0)
			assert_int_equal(vsw_blk_run(e->b), 0);
		else
			assert_int_equal(vsw_blk_run_polled(e->b, p, n), 0);
		got = vsw_vq_drv_get_used(e->drv[qi], &len);
		if (got != NULL) {
			assert_ptr_equal(got, token);
			return len;
		}
		n = vsw_blk_pollfds(e->b, p, 1 + NQ);
		assert_true(n >= 1);
		(void)poll(p, n, 1);
	}
	fail_msg("request on queue %u never completed", qi);
	return 0;
}

/* Expose a chain on queue qi and kick. */
static void env_post(struct env *e, unsigned qi, const struct vsw_sg *sg,
		     unsigned n_out, unsigned n_in, void *token)
{
	assert_int_equal(vsw_vq_drv_add(e->drv[qi], sg, n_out, n_in, token), 0);
	if (vsw_vq_drv_kick_prepare(e->drv[qi]))
		assert_int_equal(eventfd_write(e->kick[qi], 1), 0);
}

static void env_hdr(struct env *e, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type),
		.sector = htole64(sector),
	};

	assert_int_equal(th_write(&e->m, e->hdr, &h, sizeof(h)), 0);
	assert_int_equal(th_write(&e->m, e->status, "\xee", 1), 0);
}

static uint8_t env_status(struct env *e)
{
	uint8_t st;

	assert_int_equal(th_read(&e->m, e->status, &st, 1), 0);
	return st;
}

/*
 * One request: header, len bytes of data (device-readable for
 * OUT / DISCARD / WRITE_ZEROES, else writable), status. Returns the status;
 * *used the used length. Writable data is read back into buf.
 */
static uint8_t env_req(struct env *e, unsigned qi, uint32_t type,
		       uint64_t sector, void *buf, uint32_t len, uint32_t *used)
{
	bool out = type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
		   type == VIRTIO_BLK_T_WRITE_ZEROES;
	struct vsw_sg sg[3];
	unsigned n = 0;
	uint32_t u;
	int token;

	env_hdr(e, type, sector);
	sg[n].addr = e->hdr;
	sg[n++].len = sizeof(struct virtio_blk_outhdr);
	if (len > 0) {
		/* written for IN too: what the device did not overwrite shows */
		assert_int_equal(th_write(&e->m, e->data, buf, len), 0);
		sg[n].addr = e->data;
		sg[n++].len = len;
	}
	sg[n].addr = e->status;
	sg[n++].len = 1;
	env_post(e, qi, sg, out || len == 0 ? n - 1 : 1,
		 out || len == 0 ? 1 : n - 1, &token);
	u = env_wait(e, qi, &token);
	if (used != NULL)
		*used = u;
	if (!out && len > 0)
		assert_int_equal(th_read(&e->m, e->data, buf, len), 0);
	return env_status(e);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

/* OUT then IN through two host segments, on both queues; the file holds
 * what was written. */
static void test_read_write(void **state)
{
	static uint8_t w[8192], r[8192], f[8192];
	unsigned fds0 = count_fds(), qi;
	struct env e;
	uint32_t used;

	(void)state;
	env_open(&e, false, FEATURES);
	for (qi = 0; qi < NQ; qi++) {
		fill(w, sizeof(w), qi + 1);
		assert_int_equal(env_req(&e, qi, VIRTIO_BLK_T_OUT,
					 100 + qi * 16, w, sizeof(w), &used),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(used, 1);
		assert_int_equal(pread(e.disk, f, sizeof(f),
				       (100 + qi * 16) * 512),
				 (ssize_t)sizeof(f));
		assert_memory_equal(f, w, sizeof(w));
		memset(r, 0, sizeof(r));
		assert_int_equal(env_req(&e, qi, VIRTIO_BLK_T_IN, 100 + qi * 16,
					 r, sizeof(r), &used),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(used, sizeof(r) + 1);
		assert_memory_equal(r, w, sizeof(w));
	}
	/* the last sector of the disk is reachable, and a 0-byte read */
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, r,
				 512, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_IN, DISK_SECTORS, r, 0,
				 &used),
			 VIRTIO_BLK_S_OK);
	env_close(&e);
	assert_int_equal(count_fds(), fds0);
}

/* Many requests in flight at once, completed out of the poll loop. */
static void test_many_in_flight(void **state)
{
	enum { N = 48 };
	static uint8_t w[4096], f[4096];
	struct vsw_sg sg[N][3];
	struct vsw_blk_stats st;
	int tokens[N];
	unsigned i, done = 0;
	uint64_t base;
	struct env e;

	(void)state;
	env_open(&e, false, FEATURES);
	base = th_alloc(&e.m, N * (4096 + 64), 4096);
	for (i = 0; i < N; i++) {
		uint64_t hdr = base + i * (4096 + 64);
		struct virtio_blk_outhdr h = {.type = htole32(VIRTIO_BLK_T_OUT),
					      .sector = htole64(i * 8)};

		fill(w, sizeof(w), 100 + i);
		assert_int_equal(th_write(&e.m, hdr, &h, sizeof(h)), 0);
		assert_int_equal(th_write(&e.m, hdr + 64, w, sizeof(w)), 0);
		sg[i][0] = (struct vsw_sg){hdr, sizeof(h)};
		sg[i][1] = (struct vsw_sg){hdr + 64, sizeof(w)};
		sg[i][2] = (struct vsw_sg){hdr + 32, 1};
		assert_int_equal(vsw_vq_drv_add(e.drv[i % NQ], sg[i], 2, 1,
						&tokens[i]),
				 0);
	}
	for (i = 0; i < NQ; i++)
		assert_int_equal(eventfd_write(e.kick[i], 1), 0);
	for (i = 0; i < 5000 && done < N; i++) {
		uint32_t len;
		unsigned qi;

		assert_int_equal(vsw_blk_run(e.b), 0);
		for (qi = 0; qi < NQ; qi++)
			while (vsw_vq_drv_get_used(e.drv[qi], &len) != NULL) {
				assert_int_equal(len, 1);
				done++;
			}
		usleep(1000);
	}
	assert_int_equal(done, N);
	for (i = 0; i < N; i++) {
		uint8_t s;

		assert_int_equal(th_read(&e.m, sg[i][2].addr, &s, 1), 0);
		assert_int_equal(s, VIRTIO_BLK_S_OK);
		fill(w, sizeof(w), 100 + i);
		assert_int_equal(pread(e.disk, f, sizeof(f), i * 8 * 512),
				 (ssize_t)sizeof(f));
		assert_memory_equal(f, w, sizeof(w));
	}
	vsw_blk_get_stats(e.b, &st);
	assert_int_equal(st.requests, N);
	assert_int_equal(st.ioerr + st.unsupp + st.no_status + st.faults, 0);
	env_close(&e);
}

/* FLUSH, GET_ID (whole and truncated). */
static void test_flush_get_id(void **state)
{
	char id[VIRTIO_BLK_ID_BYTES + 4];
	struct env e;
	uint32_t used;

	(void)state;
	env_open(&e, false, FEATURES);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	memset(id, 'x', sizeof(id));
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_GET_ID, 0, id,
				 VIRTIO_BLK_ID_BYTES, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(id, SERIAL, sizeof(SERIAL)); /* NUL padded */
	assert_int_equal(id[VIRTIO_BLK_ID_BYTES - 1], 0);
	memset(id, 'x', sizeof(id));
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_GET_ID, 0, id, 4, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 5);
	assert_memory_equal(id, "vsw-x", 5);
	env_close(&e);
}

static uint8_t env_range(struct env *e, uint32_t type, uint64_t sector,
			 uint32_t nsec, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes seg = {
		.sector = htole64(sector),
		.num_sectors = htole32(nsec),
		.flags = htole32(flags),
	};

	return env_req(e, 0, type, 0, &seg, sizeof(seg), NULL);
}

/* WRITE_ZEROES (with and without UNMAP), DISCARD, and their refusals. */
static void test_discard_write_zeroes(void **state)
{
	static uint8_t w[16 * 512], f[16 * 512], z[16 * 512];
	struct virtio_blk_discard_write_zeroes two[2] = {{0}};
	struct env e;

	(void)state;
	env_open(&e, false, FEATURES);
	fill(w, sizeof(w), 7);
	assert_int_equal(pwrite(e.disk, w, sizeof(w), 64 * 512),
			 (ssize_t)sizeof(w));
	assert_int_equal(pwrite(e.disk, w, sizeof(w), 128 * 512),
			 (ssize_t)sizeof(w));
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 66, 4, 0),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(pread(e.disk, f, sizeof(f), 64 * 512),
			 (ssize_t)sizeof(f));
	assert_memory_equal(f, w, 2 * 512);
	assert_memory_equal(f + 2 * 512, z, 4 * 512);
	assert_memory_equal(f + 6 * 512, w + 6 * 512, 10 * 512);
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 128, 16,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(pread(e.disk, f, sizeof(f), 128 * 512),
			 (ssize_t)sizeof(f));
	assert_memory_equal(f, z, sizeof(z));
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_DISCARD, 64, 16, 0),
			 VIRTIO_BLK_S_OK);
	/* DISCARD with UNMAP, unknown flag bits: UNSUPP */
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_DISCARD, 64, 1,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 64, 1, 4),
			 VIRTIO_BLK_S_UNSUPP);
	/* past the end, wrapping, more segments than offered, bad length */
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_WRITE_ZEROES,
				   DISK_SECTORS - 1, 2, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_range(&e, VIRTIO_BLK_T_DISCARD, UINT64_MAX - 1, 4,
				   0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_DISCARD, 0, two,
				 sizeof(two), NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, two, 8,
				 NULL),
			 VIRTIO_BLK_S_IOERR);
	env_close(&e);
}

/* A chain as given (no helper): used length, status byte. */
static uint32_t env_chain(struct env *e, unsigned qi, const struct vsw_sg *sg,
			  unsigned n_out, unsigned n_in)
{
	int token;

	env_post(e, qi, sg, n_out, n_in, &token);
	return env_wait(e, qi, &token);
}

/* Requests no disk access may come of: each fails alone, the queue and
 * the disk stay as they were. */
static void test_hostile_requests(void **state)
{
	static uint8_t w[4096], f[4096], z[4096];
	struct vsw_blk_stats st;
	struct vsw_sg sg[3];
	struct env e;
	uint32_t used;

	(void)state;
	env_open(&e, false, FEATURES);
	fill(w, sizeof(w), 3);

	/* header of 8 bytes: IOERR */
	env_hdr(&e, VIRTIO_BLK_T_OUT, 0);
	sg[0] = (struct vsw_sg){e.hdr, 8};
	sg[1] = (struct vsw_sg){e.status, 1};
	assert_int_equal(env_chain(&e, 0, sg, 1, 1), 1);
	assert_int_equal(env_status(&e), VIRTIO_BLK_S_IOERR);

	/* no writable byte at all (the status is readable): used len 0,
	 * nothing written, the status byte untouched */
	env_hdr(&e, VIRTIO_BLK_T_OUT, 0);
	assert_int_equal(th_write(&e.m, e.data, w, sizeof(w)), 0);
	sg[0] = (struct vsw_sg){e.hdr, 16};
	sg[1] = (struct vsw_sg){e.data, sizeof(w)};
	sg[2] = (struct vsw_sg){e.status, 1};
	assert_int_equal(env_chain(&e, 0, sg, 3, 0), 0);
	assert_int_equal(env_status(&e), 0xee);
	/* only a header */
	assert_int_equal(env_chain(&e, 1, sg, 1, 0), 0);
	assert_int_equal(pread(e.disk, f, sizeof(f), 0), (ssize_t)sizeof(f));
	assert_memory_equal(f, z, sizeof(z));

	/* data not a whole number of sectors */
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_OUT, 0, w, 1000, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_IN, 0, f, 513, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* sector + length past the end, and wrapping 64 bits */
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_OUT, DISK_SECTORS, w, 512,
				 NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_OUT, DISK_SECTORS - 7, w,
				 4096, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_IN, UINT64_MAX / 512, f,
				 4096, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_IN, UINT64_MAX, f, 512,
				 NULL),
			 VIRTIO_BLK_S_IOERR);
	/* an unknown type, the legacy barrier bit, SCSI: UNSUPP */
	assert_int_equal(env_req(&e, 0, 99, 0, f, 512, &used),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER,
				 0, w, 512, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_SCSI_CMD, 0, w, 512, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	/* the disk is untouched and both queues still serve */
	assert_int_equal(pread(e.disk, f, sizeof(f), (DISK_SECTORS - 8) * 512),
			 (ssize_t)sizeof(f));
	assert_memory_equal(f, z, sizeof(z));
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_OUT, 8, w, sizeof(w),
				 NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_IN, 8, f, sizeof(f), NULL),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(f, w, sizeof(w));
	vsw_blk_get_stats(e.b, &st);
	assert_int_equal(st.no_status, 2);
	assert_int_equal(st.faults, 0);
	assert_true(vsw_vu_connected(e.vu));
	env_close(&e);
}

/* A buffer outside guest memory faults queue 0 only. */
static void test_ring_fault(void **state)
{
	static uint8_t w[4096], f[4096];
	struct vsw_blk_stats st;
	struct vsw_sg sg[3];
	struct env e;
	int token;
	unsigned i;

	(void)state;
	env_open(&e, false, FEATURES);
	env_hdr(&e, VIRTIO_BLK_T_IN, 0);
	sg[0] = (struct vsw_sg){e.hdr, 16};
	sg[1] = (struct vsw_sg){th_end(&e.m) - 100, 512}; /* past the end */
	sg[2] = (struct vsw_sg){e.status, 1};
	env_post(&e, 0, sg, 1, 2, &token);
	for (i = 0; i < 10; i++)
		assert_int_equal(vsw_blk_run(e.b), 0);
	vsw_blk_get_stats(e.b, &st);
	assert_int_equal(st.faults, 1);
	assert_null(vsw_vq_drv_get_used(e.drv[0], NULL));
	assert_non_null(strstr(e.log, "queue 0 stopped"));
	/* queue 1 keeps working, and the vhost-user connection too */
	fill(w, sizeof(w), 9);
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_OUT, 24, w, sizeof(w),
				 NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(env_req(&e, 1, VIRTIO_BLK_T_IN, 24, f, sizeof(f),
				 NULL),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(f, w, sizeof(w));
	assert_true(vsw_vu_connected(e.vu));
	/* the front-end restarts queue 0 (GET_VRING_BASE, then again) */
	env_close(&e);
}

/* --read-only: RO offered, DISCARD / WRITE_ZEROES not; writes fail. */
static void test_read_only(void **state)
{
	uint64_t feat = FEATURES & ~((1ULL << VIRTIO_BLK_F_DISCARD) |
				     (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	static uint8_t w[4096], f[4096], z[4096];
	struct virtio_blk_discard_write_zeroes seg = {.num_sectors = 1};
	struct env e;

	(void)state;
	env_open(&e, true, feat | (1ULL << VIRTIO_BLK_F_RO));
	fill(w, sizeof(w), 5);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_OUT, 0, w, sizeof(w),
				 NULL),
			 VIRTIO_BLK_S_IOERR);
	/* not negotiated: UNSUPP */
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg,
				 sizeof(seg), NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(env_req(&e, 0, VIRTIO_BLK_T_IN, 0, f, sizeof(f), NULL),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(f, z, sizeof(z));
	assert_int_equal(pread(e.disk, f, sizeof(f), 0), (ssize_t)sizeof(f));
	assert_memory_equal(f, z, sizeof(z));
	env_close(&e);
}

/* GET_CONFIG: capacity, seg_max, blk_size, queues, limits. SET_CONFIG is
 * refused (no CONFIG_WCE). */
static void test_config(void **state)
{
	struct vsw_vu_config_msg c = {0};
	struct virtio_blk_config bc;
	struct env e;
	uint64_t ack;

	(void)state;
	env_open(&e, false, FEATURES);
	c.size = sizeof(bc);
	assert_int_equal(fe_do(e.vu, e.fe, VSW_VU_REQ_GET_CONFIG, &c,
			       VSW_VU_CONFIG_HDR + c.size, NULL, 0),
			 0);
	fe_reply(e.fe, VSW_VU_REQ_GET_CONFIG, &c,
		 VSW_VU_CONFIG_HDR + sizeof(bc));
	memcpy(&bc, c.region, sizeof(bc));
	assert_int_equal(le64toh(bc.capacity), DISK_SECTORS);
	assert_int_equal(le32toh(bc.seg_max), VSW_BLK_SEG_MAX);
	assert_int_equal(le32toh(bc.blk_size), 512);
	assert_int_equal(le16toh(bc.num_queues), NQ);
	assert_int_equal(le32toh(bc.max_discard_seg), 1);
	assert_int_equal(le32toh(bc.max_write_zeroes_seg), 1);
	assert_true(le32toh(bc.max_write_zeroes_sectors) > 0);
	/* a window past the struct reads as zeroes */
	c.offset = 200;
	c.size = 56;
	assert_int_equal(fe_do(e.vu, e.fe, VSW_VU_REQ_GET_CONFIG, &c,
			       VSW_VU_CONFIG_HDR + c.size, NULL, 0),
			 0);
	fe_reply(e.fe, VSW_VU_REQ_GET_CONFIG, &c, VSW_VU_CONFIG_HDR + 56);
	assert_int_equal(c.region[0] | c.region[55], 0);
	c.offset = 0;
	c.size = 8;
	fe_send(e.fe, VSW_VU_REQ_SET_CONFIG, VSW_VU_FLAG_NEED_REPLY, &c,
		VSW_VU_CONFIG_HDR + 8, NULL, 0);
	assert_int_equal(vsw_vu_handle(e.vu), 0);
	fe_reply(e.fe, VSW_VU_REQ_SET_CONFIG, &ack, sizeof(ack));
	assert_int_not_equal(ack, 0);
	assert_true(vsw_vu_connected(e.vu));
	env_close(&e);
}

/* The front-end goes away with requests in flight: queue_stop drains them
 * into the ring before the memory is unmapped (ASan would see the rest). */
static void test_disconnect_in_flight(void **state)
{
	enum { N = 32 };
	static uint8_t w[4096], f[4096];
	unsigned fds0 = count_fds(), i;
	struct vsw_sg sg[N][3];
	int tokens[N];
	uint64_t base;
	struct env e;

	(void)state;
	env_open(&e, false, FEATURES);
	base = th_alloc(&e.m, N * (4096 + 64), 4096);
	fill(w, sizeof(w), 11);
	for (i = 0; i < N; i++) {
		uint64_t hdr = base + i * (4096 + 64);
		struct virtio_blk_outhdr h = {.type = htole32(VIRTIO_BLK_T_OUT),
					      .sector = htole64(i * 8)};

		assert_int_equal(th_write(&e.m, hdr, &h, sizeof(h)), 0);
		assert_int_equal(th_write(&e.m, hdr + 64, w, sizeof(w)), 0);
		sg[i][0] = (struct vsw_sg){hdr, sizeof(h)};
		sg[i][1] = (struct vsw_sg){hdr + 64, sizeof(w)};
		sg[i][2] = (struct vsw_sg){hdr + 32, 1};
		assert_int_equal(
			vsw_vq_drv_add(e.drv[0], sg[i], 2, 1, &tokens[i]), 0);
	}
	assert_int_equal(eventfd_write(e.kick[0], 1), 0);
	/* one run pops and submits them all; then the peer hangs up */
	assert_int_equal(vsw_blk_run(e.b), 0);
	close(e.fe);
	e.fe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(vsw_vu_handle(e.vu), -ECONNRESET);
	for (i = 0; i < N; i++) {
		uint8_t s;

		assert_int_equal(th_read(&e.m, sg[i][2].addr, &s, 1), 0);
		assert_int_equal(s, VIRTIO_BLK_S_OK);
		assert_int_equal(pread(e.disk, f, sizeof(f), i * 8 * 512),
				 (ssize_t)sizeof(f));
		assert_memory_equal(f, w, sizeof(w));
	}
	env_close(&e);
	assert_int_equal(count_fds(), fds0);
}

/* A queue without a kick fd (SET_VRING_KICK with the no-fd flag) is polled:
 * the loop's timeout says so and requests are served without kicks. */
static void test_polled_queue(void **state)
{
	static uint8_t w[4096], f[4096];
	uint64_t v = 1 | VSW_VU_VRING_NOFD_MASK;
	struct vsw_sg sg[3];
	struct env e;
	int token;

	(void)state;
	env_open(&e, false, FEATURES);
	assert_int_equal(vsw_blk_timeout_ms(e.b), -1);
	assert_int_equal(fe_do(e.vu, e.fe, VSW_VU_REQ_SET_VRING_KICK, &v,
			       sizeof(v), NULL, 0),
			 0);
	assert_int_equal(vsw_blk_timeout_ms(e.b), 1);
	fill(w, sizeof(w), 13);
	env_hdr(&e, VIRTIO_BLK_T_OUT, 40);
	assert_int_equal(th_write(&e.m, e.data, w, sizeof(w)), 0);
	sg[0] = (struct vsw_sg){e.hdr, 16};
	sg[1] = (struct vsw_sg){e.data, sizeof(w)};
	sg[2] = (struct vsw_sg){e.status, 1};
	/* no eventfd_write: the device must find it by itself */
	assert_int_equal(vsw_vq_drv_add(e.drv[1], sg, 2, 1, &token), 0);
	assert_int_equal(env_wait(&e, 1, &token), 1);
	assert_int_equal(env_status(&e), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(e.disk, f, sizeof(f), 40 * 512),
			 (ssize_t)sizeof(f));
	assert_memory_equal(f, w, sizeof(w));
	env_close(&e);
}

/*
 * --direct: the disk fd has O_DIRECT. A request whose guest buffer is not
 * aligned (data one byte past an aligned address) is refused by O_DIRECT
 * where the file system checks alignment (EINVAL, seen here with pread
 * first) and is then done through the buffered fd: the data is right
 * either way and the fallback is counted.
 */
static void test_direct_fallback(void **state)
{
	static uint8_t w[4096], r[4096], f[4096];
	struct vsw_blk_stats st;
	uint8_t *probe = NULL;
	bool refuses;
	struct env e;
	unsigned qi;

	(void)state;
	env_direct = true;
	env_open(&e, false, FEATURES);
	env_direct = false;
	/*
	 * Does this file system refuse a misaligned O_DIRECT buffer? (A
	 * write: a read of a hole may be answered without the check.)
	 */
	assert_int_equal(posix_memalign((void **)&probe, 4096, 8192), 0);
	memset(probe, 0, 8192);
	refuses = pwrite(e.direct, probe + 1, 4096, 0) < 0 && errno == EINVAL;
	free(probe);
	e.data = th_alloc(&e.m, 8192, 4096) + 1;
	for (qi = 0; qi < NQ; qi++) {
		fill(w, sizeof(w), 20 + qi);
		/* the write allocates the blocks the read then checks */
		assert_int_equal(env_req(&e, qi, VIRTIO_BLK_T_OUT, 8 + qi * 8,
					 w, sizeof(w), NULL),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(pread(e.disk, f, sizeof(f),
				       (8 + qi * 8) * 512),
				 (ssize_t)sizeof(f));
		assert_memory_equal(f, w, sizeof(w));
		memset(r, 0, sizeof(r));
		assert_int_equal(env_req(&e, qi, VIRTIO_BLK_T_IN, 8 + qi * 8, r,
					 sizeof(r), NULL),
				 VIRTIO_BLK_S_OK);
		assert_memory_equal(r, w, sizeof(w));
	}
	vsw_blk_get_stats(e.b, &st);
	assert_int_equal(st.ioerr, 0);
	assert_int_equal(st.buffered, refuses ? 2 * NQ : 0);
	env_close(&e);
}

/*
 * vsw_blk_run_polled: a kick poll() did not report (it came after the
 * poll, or the array is stale) does not hold a request back: every queue
 * is served, and the unread kick wakes the next poll().
 */
static void test_run_polled(void **state)
{
	static uint8_t w[4096];
	struct pollfd p[1 + NQ];
	struct vsw_sg sg[3];
	struct env e;
	unsigned n, k;
	uint32_t len;
	int token;

	(void)state;
	env_open(&e, false, FEATURES);
	n = vsw_blk_pollfds(e.b, p, 1 + NQ);
	assert_int_equal(n, 1 + NQ);
	for (k = 0; k < n; k++)
		p[k].revents = 0;
	fill(w, sizeof(w), 5);
	env_hdr(&e, VIRTIO_BLK_T_OUT, 64);
	assert_int_equal(th_write(&e.m, e.data, w, sizeof(w)), 0);
	sg[0] = (struct vsw_sg){e.hdr, 16};
	sg[1] = (struct vsw_sg){e.data, sizeof(w)};
	sg[2] = (struct vsw_sg){e.status, 1};
	env_post(&e, 1, sg, 2, 1, &token);
	/* revents all 0: the kick on queue 1 is not read, the ring is */
	for (k = 0; k < 5000; k++) {
		assert_int_equal(vsw_blk_run_polled(e.b, p, n), 0);
		if (vsw_vq_drv_get_used(e.drv[1], &len) != NULL)
			break;
		(void)poll(p, 1, 1); /* only the io_uring fd */
		p[0].revents = 0;
	}
	assert_true(k < 5000);
	assert_int_equal(env_status(&e), VIRTIO_BLK_S_OK);
	/* the kick is still pending: the next poll() sees it */
	n = vsw_blk_pollfds(e.b, p, 1 + NQ);
	assert_int_equal(poll(p, n, 0), 1);
	assert_true(p[2].revents & POLLIN);
	assert_int_equal(vsw_blk_run_polled(e.b, p, n), 0);
	n = vsw_blk_pollfds(e.b, p, 1 + NQ);
	assert_int_equal(poll(p, n, 0), 0);
	env_close(&e);
}

/* direct without a buffered fd is a configuration error */
static void test_direct_config(void **state)
{
	struct vsw_blk_config bc = {0};
	struct vsw_blk *b = (void *)1;

	(void)state;
	bc.fd = 0;
	bc.size = 4096;
	bc.num_queues = 1;
	bc.direct = true;
	bc.fd_buffered = -1;
	assert_int_equal(vsw_blk_create(&bc, &b), -EINVAL);
	assert_null(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_flush_get_id),
		cmocka_unit_test(test_discard_write_zeroes),
		cmocka_unit_test(test_hostile_requests),
		cmocka_unit_test(test_ring_fault),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_disconnect_in_flight),
		cmocka_unit_test(test_polled_queue),
		cmocka_unit_test(test_direct_fallback),
		cmocka_unit_test(test_direct_config),
		cmocka_unit_test(test_run_polled),
	};
	int failed;

	/* every test on split rings, then on packed rings */
	failed = cmocka_run_group_tests_name("split", tests, NULL, NULL);
	ring_bit = 1ULL << VIRTIO_F_RING_PACKED;
	failed += cmocka_run_group_tests_name("packed", tests, NULL, NULL);
	return failed;
}
