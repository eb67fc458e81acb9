/* SPDX-License-Identifier: MIT */
/*
 * vsw_blk: a virtio-blk device (VIRTIO 1.2 §5.2) behind the vhost-user back
 * end (struct vsw_vu_device), serving a raw file or block device with
 * io_uring.
 *
 * Requests: VIRTIO_BLK_T_IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES;
 * anything else is answered VIRTIO_BLK_S_UNSUPP. Feature bits offered:
 * VERSION_1, INDIRECT_DESC, EVENT_IDX, RING_PACKED, SEG_MAX, BLK_SIZE,
 * FLUSH, MQ, and DISCARD + WRITE_ZEROES (read-write disks) or RO.
 * The config space (capacity, seg_max, blk_size, num_queues, the discard and
 * write-zeroes limits) reaches the front-end through GET_CONFIG; SET_CONFIG
 * is refused (CONFIG_WCE is not offered: the cache mode is always
 * write-back, a guest's FLUSH is an fdatasync of the disk).
 *
 * The object owns no thread: the caller's one loop watches the fds of
 * vsw_blk_pollfds() beside vsw_vu_fd(), and calls vsw_blk_run() after each
 * wake-up. Every disk access is an io_uring operation: the loop never waits
 * for the disk, except in queue_stop, which must drain the queue's requests
 * in flight before the vhost-user layer unmaps the memory they point into.
 * All functions and the device callbacks run on that one thread.
 */
#ifndef VSW_BLK_DEV_H
#define VSW_BLK_DEV_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <vsw/vhost_user.h>

#define VSW_BLK_MAX_QUEUES 64
#define VSW_BLK_SECTOR 512

/* Data segments a request may carry (config seg_max). */
#define VSW_BLK_SEG_MAX 126

struct vsw_blk;

struct vsw_blk_config {
	int fd; /* the disk, open; not owned, must outlive */
	/*
	 * direct: fd was opened with O_DIRECT, and fd_buffered (not owned,
	 * must outlive) is the same disk opened without it: a read or write
	 * that O_DIRECT refuses (EINVAL: guest buffers not aligned to the
	 * disk's logical block) is done again through fd_buffered instead of
	 * failing. Without direct, fd_buffered is not used.
	 */
	bool direct;
	int fd_buffered;
	uint64_t size;	     /* bytes; the capacity is size / 512 */
	bool read_only;	     /* offer VIRTIO_BLK_F_RO, refuse writes */
	const char *serial;  /* GET_ID answer, at most 20 bytes; NULL: "" */
	uint32_t num_queues; /* 1 .. VSW_BLK_MAX_QUEUES */
	vsw_vu_log_fn *log;  /* NULL: stderr */
	void *log_opaque;
	enum vsw_log_level log_level;
};

struct vsw_blk_stats {
	uint64_t requests;  /* completed with a status byte */
	uint64_t ioerr;	    /* of which VIRTIO_BLK_S_IOERR */
	uint64_t unsupp;    /* of which VIRTIO_BLK_S_UNSUPP */
	uint64_t no_status; /* chains without a writable status byte */
	uint64_t faults;    /* queues stopped by a ring fault */
	uint64_t buffered;  /* O_DIRECT refused: done through fd_buffered */
};

/*
 * 0; -EINVAL (queue count, serial longer than 20 bytes, size below one
 * sector, direct without fd_buffered); -ENOMEM; the errno of io_uring
 * setup.
 */
int vsw_blk_create(const struct vsw_blk_config *cfg, struct vsw_blk **out);

/* Accepts NULL. Every queue must have been stopped (vsw_vu_destroy first). */
void vsw_blk_destroy(struct vsw_blk *b);

/* The device to put in struct vsw_vu_config.dev; lives as long as b. */
const struct vsw_vu_device *vsw_blk_vu_device(const struct vsw_blk *b);

/*
 * Fill p[0 .. ret) with the fds to watch for POLLIN now (the io_uring
 * completion fd, the kick fds of running queues). max must be at least
 * 1 + the queue count. Remembers where each queue's kick fd went, for
 * vsw_blk_run_polled().
 */
unsigned vsw_blk_pollfds(struct vsw_blk *b, struct pollfd *p, unsigned max);

/* 1 while a running queue has no kick fd (it is polled), else -1. */
int vsw_blk_timeout_ms(const struct vsw_blk *b);

/*
 * Without blocking: collect finished disk operations, complete their
 * requests, read the kicks, pop and submit new requests, interrupt the
 * driver where needed. Returns 0, or the negative errno of io_uring itself
 * (the rings and the process are then in trouble, not one guest request).
 */
int vsw_blk_run(struct vsw_blk *b);

/*
 * vsw_blk_run() after a poll() of p[0 .. n), the array vsw_blk_pollfds()
 * last filled, revents set: reads only the kick eventfds poll() found
 * readable (every queue is still served), one system call per idle queue
 * less per wake-up.
 */
int vsw_blk_run_polled(struct vsw_blk *b, const struct pollfd *p, unsigned n);

void vsw_blk_get_stats(const struct vsw_blk *b, struct vsw_blk_stats *s);

#endif /* VSW_BLK_DEV_H */
