/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/vhost-user: the endpoint object, its connection state and
 * the socket helpers (vu_socket.c) the protocol code (vu_backend.c) uses.
 */
#ifndef VSW_VU_PRIV_H
#define VSW_VU_PRIV_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include <linux/vhost_types.h>

#include <vsw/iotlb.h>
#include <vsw/vhost_user.h>

#include "vsw_compiler.h"

#define VU_HDR_SIZE sizeof(struct vsw_vu_hdr)
/*
 * Largest payload of any accepted request: a full GET/SET_CONFIG window
 * (268 bytes), then a full SET_MEM_TABLE (264).
 */
#define VU_PAYLOAD_MAX sizeof(struct vsw_vu_config_msg)

/* A message being received: bytes so far and the fds that came with them. */
struct vu_rx {
	union {
		struct vsw_vu_hdr hdr;
		uint8_t buf[VU_HDR_SIZE + VU_PAYLOAD_MAX];
	};
	size_t have; /* bytes of buf filled */
	int fds[VSW_VU_MAX_FDS];
	unsigned nfds;
	bool fds_overflow; /* more fds than VSW_VU_MAX_FDS arrived */
};

/* One mapped region of guest memory. */
struct vu_region {
	struct vsw_vu_mem_region r; /* as the front-end described it */
	void *map;		    /* mmap() base */
	size_t map_len;
	void *hva; /* host address of r.gpa, inside map */
	/* ADD_MEM_REG of this same region seen this many times: QEMU sends
	 * one per vhost device, i.e. per queue pair, over one connection */
	unsigned refs;
};

struct vu_queue {
	uint32_t num; /* 0: SET_VRING_NUM not seen */
	bool addr_set;
	uint64_t desc_uva, avail_uva, used_uva; /* front-end addresses */
	uint32_t base; /* next avail index, kept across stops */
	bool kick_set; /* SET_VRING_KICK seen (with fd or NOFD) */
	int kick_fd, call_fd, err_fd;
	bool enabled;
	bool log_ring;	   /* SET_VRING_ADDR had VHOST_VRING_F_LOG */
	uint64_t log_gpa;  /* its log_guest_addr (used ring, guest-physical) */
	struct vsw_vq_dev *vq; /* non-NULL while started (device owns it) */
};

/* The dirty log of a connection (vu_log.c). */
struct vu_dirty_log {
	void *map; /* NULL: no SET_LOG_BASE yet */
	size_t map_len;
	struct vsw_vq_log log; /* the bitmap inside map, given to queues */
	int fd;		       /* SET_LOG_FD's eventfd, -1 if none */
};

struct vsw_vu {
	enum vsw_vu_mode mode;
	struct sockaddr_un addr;
	const struct vsw_vu_device *dev;
	uint64_t offered;    /* virtio features we offer */
	uint64_t pf_offered; /* protocol features we offer */
	vsw_vu_log_fn *log;
	void *log_opaque;
	enum vsw_log_level log_level;

	int listen_fd; /* SERVER */
	dev_t listen_dev; /* SERVER: the socket file bound, to remove */
	ino_t listen_ino; /* only it at destroy, never a replacement */
	unsigned sock_mode; /* SERVER: chmod after bind (0: leave) */
	bool sock_gid_set;  /* SERVER: chown to sock_gid after bind */
	gid_t sock_gid;
	int conn_fd;   /* -1 when not connected */
	unsigned retry_min_ms, retry_max_ms, retry_ms; /* CLIENT backoff */
	uint64_t next_try_ms; /* CLIENT: CLOCK_MONOTONIC of next connect */

	/* per connection, reset by vu_conn_reset() */
	struct vu_rx rx;
	uint64_t features; /* negotiated (SET_FEATURES) */
	bool features_set;
	uint64_t pfeatures; /* negotiated (SET_PROTOCOL_FEATURES) */
	bool pf_set;	    /* SET_PROTOCOL_FEATURES seen */
	bool owner;
	uint8_t status;
	unsigned nregions;
	struct vu_region regions[VSW_MEM_MAX_REGIONS];
	struct vsw_mem mem;
	struct vu_queue *queues; /* dev->num_queues entries */
	struct vu_iotlb *iotlb;	 /* NULL: ACCESS_PLATFORM not offered */
	struct vu_dirty_log dlog;

	char why[160]; /* why the current message was refused */
};

/*
 * The device IOTLB (vu_iotlb.c). Handlers of the vu_msgs[] table take a
 * struct vu_msg (vu_backend.c); the rest is called by vu_backend.c on the
 * control thread.
 */
struct vu_iotlb;
/* 0 or -ENOMEM; misses given up after giveup_ms (0: the default) */
int vu_iotlb_create(struct vsw_vu *vu, unsigned giveup_ms);
void vu_iotlb_destroy(struct vsw_vu *vu); /* after the connection closed */
/* VIRTIO_F_ACCESS_PLATFORM negotiated: ring addresses are IOVAs. */
bool vu_iotlb_on(const struct vsw_vu *vu);
/* What a device queue translates through (NULL when off). */
const struct vsw_iotlb_dom *vu_iotlb_dom(const struct vsw_vu *vu);
/* Forget every entry (every queue is stopped): memory table changed. */
void vu_iotlb_flush(struct vsw_vu *vu);
/* Connection gone or device reset: flush, close the backend channel. */
void vu_iotlb_reset(struct vsw_vu *vu);
/*
 * A ring area [iova, iova + len) with access perm as a guest-physical
 * address: 0 (*gpa set), 1 (not translatable yet: a miss was sent, or the
 * entry lacks perm; the queue waits), negative errno (closes).
 */
int vu_iotlb_ring(struct vsw_vu *vu, uint32_t idx, const char *what,
		  uint64_t iova, uint64_t len, uint32_t perm, uint64_t *gpa);
/* The areas of queue q: IOVAs / user addresses and their lengths. */
void vu_ring_spans(const struct vsw_vu *vu, const struct vu_queue *q,
		   uint64_t addr[3], uint64_t len[3]);
/* IOTLB_MSG payload (refused: 1, the connection stays) / the channel. */
int vu_iotlb_msg(struct vsw_vu *vu, const struct vhost_iotlb_msg *m);
void vu_iotlb_set_req_fd(struct vsw_vu *vu, int fd);
/* vu_backend.c, for vu_iotlb.c */
void vu_queue_stop(struct vsw_vu *vu, uint32_t idx);
int vu_start_all(struct vsw_vu *vu);
int vu_uva_to_gpa(const struct vsw_vu *vu, uint64_t uva, uint64_t *gpa);

/* Logging (vu_socket.c). */
void vu_log(const struct vsw_vu *vu, enum vsw_log_level level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Socket helpers (vu_socket.c); 0 or negative errno. */
int vu_sock_listen(struct vsw_vu *vu);
int vu_sock_accept(struct vsw_vu *vu);
int vu_sock_connect(struct vsw_vu *vu);
/*
 * Receive more of the current message. 1: complete (header checked by
 * check_hdr once it arrived); 0: need more bytes; negative errno: the peer
 * hung up (-ECONNRESET), a read error, or check_hdr's verdict.
 */
int vu_sock_recv(struct vsw_vu *vu, int (*check_hdr)(struct vsw_vu *vu));
/* Send one reply (header + payload); a short or blocked write fails. */
int vu_sock_send(struct vsw_vu *vu, uint32_t request, const void *payload,
		 uint32_t size);
/* Close every fd still held by rx and forget the message. */
void vu_rx_reset(struct vu_rx *rx);

/* A handler's verdict that refuses the value but keeps the connection. */
#define VU_NACK 1

/* The message as handlers see it. Handlers keep an fd by setting it -1. */
struct vu_msg {
	const struct vsw_vu_hdr *hdr;
	const uint8_t *payload;
	int *fds;
	unsigned nfds;
};

/* Queue start / stop of every queue (vu_backend.c); see there. */
void vu_stop_all(struct vsw_vu *vu);
int vu_start_all(struct vsw_vu *vu);

/*
 * Migration support (vu_log.c): the SET_LOG_BASE / SET_LOG_FD / SEND_RARP
 * handlers (struct vu_msg as in vu_backend.c), the log handed to a queue
 * being started, and the release of a connection's log.
 */
int vu_set_log_base(struct vsw_vu *vu, struct vu_msg *m);
int vu_set_log_fd(struct vsw_vu *vu, struct vu_msg *m);
int vu_send_rarp(struct vsw_vu *vu, struct vu_msg *m);
/* Logging on: LOG_ALL negotiated and a log mapped. */
bool vu_logging(const struct vsw_vu *vu);
/*
 * The guest-physical address queue idx logs its ring writes at (len bytes,
 * the used ring or packed device event area), in *gpa: UINT64_MAX when
 * they are not logged. Behind an IOMMU the ring's log address is an IOVA
 * and is translated like a ring area: 1 if it waits for the IOTLB (a miss
 * was sent), 0 when *gpa is set.
 */
int vu_log_ring_gpa(struct vsw_vu *vu, uint32_t idx, uint64_t len,
		    uint64_t *gpa);
/*
 * Give a created, not yet started queue the log if logging is on; ring
 * writes logged at used_gpa (from vu_log_ring_gpa).
 */
void vu_log_attach(struct vsw_vu *vu, struct vsw_vq_dev *vq, uint64_t used_gpa);
/* Check a SET_VRING_ADDR's log flag / address; 0 or vu_fail's errno. */
int vu_log_check_addr(struct vsw_vu *vu, const struct vhost_vring_addr *a);
void vu_log_init(struct vu_dirty_log *d);
/* Unmap the log and close its fd (the connection's queues are stopped). */
void vu_log_reset(struct vu_dirty_log *d);

/* Record why a message is refused; returns err (negative errno). */
int vu_fail(struct vsw_vu *vu, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VSW_VU_PRIV_H */
