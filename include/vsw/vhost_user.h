/* SPDX-License-Identifier: MIT */
/*
 * vsw_vu: the vhost-user back-end protocol layer.
 *
 * A vsw_vu object is one back-end endpoint: it listens on a Unix socket path
 * (server mode, one front-end at a time, a new one accepted after each
 * disconnect), connects to a front-end's listening socket with retry and
 * backoff (client mode, e.g. QEMU's "server=on" chardev), or adopts an
 * already connected socket (fd mode: socketpair(), --fd=N).
 *
 * It turns the front-end's messages into mapped guest memory (a struct
 * vsw_mem) and, per queue, a struct vsw_vq_dev plus kick / call eventfds,
 * handed to a device layer (virtio-net, ...) through struct vsw_vu_device.
 * It is device-agnostic: the device supplies its feature bits, queue count
 * and callbacks.
 *
 * The library owns no event loop and no thread: the caller watches
 * vsw_vu_fd() for readability (re-reading it after every call, it changes on
 * accept / disconnect), honours vsw_vu_timeout_ms(), and calls
 * vsw_vu_handle(), which does at most one step (accept, connect attempt, or
 * one message) without blocking.
 *
 * Threads: every function and every device callback runs on the caller's
 * control thread. A data-plane thread may use a started queue (vq, fds,
 * the vsw_mem) between queue_start and queue_stop; queue_stop must not
 * return before that thread has stopped using them.
 *
 * The wire format (QEMU docs/interop/vhost-user.rst) reuses the kernel uapi
 * structs vhost_vring_state and vhost_vring_addr; only what the uapi lacks
 * is declared here.
 */
#ifndef VSW_VHOST_USER_H
#define VSW_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h> /* gid_t */

#include <linux/vhost_types.h> /* vhost_vring_state, vhost_vring_addr */

#include <vsw/log.h>
#include <vsw/mem.h>
#include <vsw/virtq.h>

/* ------------------------------------------------------------------ */
/* Wire format                                                         */
/* ------------------------------------------------------------------ */

enum vsw_vu_request {
	VSW_VU_REQ_GET_FEATURES = 1,
	VSW_VU_REQ_SET_FEATURES = 2,
	VSW_VU_REQ_SET_OWNER = 3,
	VSW_VU_REQ_RESET_OWNER = 4,
	VSW_VU_REQ_SET_MEM_TABLE = 5,
	VSW_VU_REQ_SET_LOG_BASE = 6,
	VSW_VU_REQ_SET_LOG_FD = 7,
	VSW_VU_REQ_SET_VRING_NUM = 8,
	VSW_VU_REQ_SET_VRING_ADDR = 9,
	VSW_VU_REQ_SET_VRING_BASE = 10,
	VSW_VU_REQ_GET_VRING_BASE = 11,
	VSW_VU_REQ_SET_VRING_KICK = 12,
	VSW_VU_REQ_SET_VRING_CALL = 13,
	VSW_VU_REQ_SET_VRING_ERR = 14,
	VSW_VU_REQ_GET_PROTOCOL_FEATURES = 15,
	VSW_VU_REQ_SET_PROTOCOL_FEATURES = 16,
	VSW_VU_REQ_GET_QUEUE_NUM = 17,
	VSW_VU_REQ_SET_VRING_ENABLE = 18,
	VSW_VU_REQ_SEND_RARP = 19,
	VSW_VU_REQ_NET_SET_MTU = 20,
	VSW_VU_REQ_SET_BACKEND_REQ_FD = 21, /* SET_SLAVE_REQ_FD in old specs */
	VSW_VU_REQ_IOTLB_MSG = 22,
	VSW_VU_REQ_GET_CONFIG = 24,
	VSW_VU_REQ_SET_CONFIG = 25,
	VSW_VU_REQ_RESET_DEVICE = 34,
	VSW_VU_REQ_GET_MAX_MEM_SLOTS = 36,
	VSW_VU_REQ_ADD_MEM_REG = 37,
	VSW_VU_REQ_REM_MEM_REG = 38,
	VSW_VU_REQ_SET_STATUS = 39,
	VSW_VU_REQ_GET_STATUS = 40,
	VSW_VU_REQ__MAX = 41 /* one past the highest request number known */
};

/* Header flags. */
#define VSW_VU_FLAG_VERSION 0x1u /* bits 0-1: protocol version 1 */
#define VSW_VU_FLAG_VERSION_MASK 0x3u
#define VSW_VU_FLAG_REPLY 0x4u	    /* set on every back-end reply */
#define VSW_VU_FLAG_NEED_REPLY 0x8u /* REPLY_ACK requested */

/* The virtio feature bit that gates protocol-feature negotiation. */
#define VSW_VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VSW_VU_PF_MQ 0
#define VSW_VU_PF_LOG_SHMFD 1
#define VSW_VU_PF_RARP 2
#define VSW_VU_PF_REPLY_ACK 3
#define VSW_VU_PF_NET_MTU 4
#define VSW_VU_PF_BACKEND_REQ 5 /* VHOST_USER_PROTOCOL_F_SLAVE_REQ */
#define VSW_VU_PF_CONFIG 9
#define VSW_VU_PF_RESET_DEVICE 13
#define VSW_VU_PF_CONFIGURE_MEM_SLOTS 15
#define VSW_VU_PF_STATUS 16

/* SET_VRING_KICK / CALL / ERR payload: bits 0-7 queue index, bit 8 no fd. */
#define VSW_VU_VRING_IDX_MASK 0xffu
#define VSW_VU_VRING_NOFD_MASK 0x100u

/* Every message starts with this header; size bytes of payload follow. */
struct vsw_vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

/* A memory region as sent by the front-end (the uapi one has no offset). */
struct vsw_vu_mem_region {
	uint64_t gpa; /* guest physical address */
	uint64_t size;
	uint64_t uva;	      /* the front-end's virtual address of gpa */
	uint64_t mmap_offset; /* where gpa lies in the region's fd */
};

/* SET_MEM_TABLE payload: nregions, padding, then nregions regions. */
#define VSW_VU_MEM_TABLE_MAX 8
struct vsw_vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vsw_vu_mem_region regions[VSW_VU_MEM_TABLE_MAX];
};

/* ADD_MEM_REG / REM_MEM_REG payload. */
struct vsw_vu_mem_single {
	uint64_t padding;
	struct vsw_vu_mem_region region;
};

/*
 * GET_CONFIG / SET_CONFIG payload: the device config space window
 * [offset, offset + size) of at most VSW_VU_CONFIG_MAX bytes.
 */
#define VSW_VU_CONFIG_MAX 256
#define VSW_VU_CONFIG_HDR 12 /* offset, size, flags */
struct vsw_vu_config_msg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags; /* SET_CONFIG: 0 front-end write, 1 migration */
	uint8_t region[VSW_VU_CONFIG_MAX];
};

/*
 * Requests the back-end sends on the backend request channel
 * (SET_BACKEND_REQ_FD); IOTLB_MSG carries a struct vhost_iotlb_msg
 * (<linux/vhost_types.h>, 32 bytes) of type VHOST_IOTLB_MISS.
 */
#define VSW_VU_BACKEND_IOTLB_MSG 1

/* SET_LOG_BASE payload (with VSW_VU_PF_LOG_SHMFD; the fd comes along). */
struct vsw_vu_log {
	uint64_t mmap_size;   /* bytes of dirty bitmap */
	uint64_t mmap_offset; /* where it starts in the fd */
};

/* Most file descriptors one message may carry. */
#define VSW_VU_MAX_FDS 8

/* Queue indices travel in 8 bits (SET_VRING_KICK/CALL/ERR). */
#define VSW_VU_MAX_QUEUES 256

/* ------------------------------------------------------------------ */
/* Back-end API                                                        */
/* ------------------------------------------------------------------ */

struct vsw_vu;

/*
 * One formatted line, no trailing newline. VSW_LOG_ERR: a connection was
 * closed because of the peer; INFO: connect / disconnect; DEBUG: every
 * message.
 */
typedef void vsw_vu_log_fn(void *opaque, enum vsw_log_level level,
			   const char *line);

/* A queue the device may use, as passed to queue_start / queue_stop. */
struct vsw_vu_queue {
	uint32_t index;
	struct vsw_vq_dev *vq; /* created with the negotiated features */
	int kick_fd;	       /* -1: no fd, the device must poll the ring */
	int call_fd;	       /* -1: the driver does not want interrupts */
	int err_fd;	       /* -1 if none */
	uint64_t features;     /* negotiated virtio features */
	uint32_t num;	       /* queue size (SET_VRING_NUM) */
};

/*
 * What the device type supplies. features and num_queues are read once by
 * vsw_vu_create(); the struct and opaque must outlive the vsw_vu.
 */
struct vsw_vu_device {
	/*
	 * Virtio feature bits offered to the front-end. The library adds
	 * VSW_VU_F_PROTOCOL_FEATURES; it refuses VIRTIO_F_ACCESS_PLATFORM
	 * unless sync is set (then it offers VSW_VU_PF_BACKEND_REQ too and
	 * serves the IOTLB: guests behind a virtual IOMMU). VHOST_F_LOG_ALL
	 * (live migration) may be offered by a device that marks every guest
	 * write it makes outside the rings with vsw_vq_dev_log_write (the
	 * rings' own writes are marked by lib/virtq): the library then offers
	 * VSW_VU_PF_LOG_SHMFD, maps the log (SET_LOG_BASE) and hands it to
	 * each queue it starts while LOG_ALL is negotiated (queue_start sees
	 * vsw_vq_dev_log() set).
	 */
	uint64_t features;
	uint32_t num_queues; /* 1 .. VSW_VU_MAX_QUEUES */
	bool net_mtu;	     /* offer VSW_VU_PF_NET_MTU (then mtu_set needed) */
	void *opaque;	     /* first argument of every callback */

	/*
	 * The queue is started and enabled: q->vq, fds and vsw_vu_mem() may
	 * be used until queue_stop. 0, or a negative errno that closes the
	 * connection. Required.
	 */
	int (*queue_start)(void *opaque, const struct vsw_vu_queue *q);
	/*
	 * The queue stops (GET_VRING_BASE, disable, reconfiguration, memory
	 * change, disconnect). Before returning, stop using q->vq and its fds
	 * and push or forget every chain in flight: the next available index
	 * reported to the front-end is taken from q->vq after this returns.
	 * Required.
	 */
	void (*queue_stop)(void *opaque, const struct vsw_vu_queue *q);
	/*
	 * Whether the device only reads the buffers of queue index (e.g. a
	 * virtio-net transmit queue), with the negotiated features: its
	 * vsw_vq_dev is then created with VSW_VQ_DEV_F_READ_ONLY (WRITE
	 * flags ignored, every segment readable). Asked each time the queue
	 * starts, before queue_start. Optional: NULL means no such queue.
	 */
	bool (*queue_read_only)(void *opaque, uint32_t index,
				uint64_t features);
	/* SET_STATUS (virtio device status byte). Optional; 0 or -errno. */
	int (*status_set)(void *opaque, uint8_t status);
	/*
	 * GET_CONFIG: fill buf with size bytes of the device config space
	 * from offset (offset + size <= VSW_VU_CONFIG_MAX, checked). 0, or
	 * -errno: the reply then carries no config (QEMU fails the read).
	 * Optional: with it the library offers VSW_VU_PF_CONFIG.
	 */
	int (*config_get)(void *opaque, uint32_t offset, uint8_t *buf,
			  uint32_t size);
	/*
	 * SET_CONFIG: the front-end writes size bytes at offset (bounds
	 * checked as above). 0, or -errno to refuse (the connection stays,
	 * REPLY_ACK reports it). NULL: every write is refused.
	 */
	int (*config_set)(void *opaque, uint32_t offset, const uint8_t *buf,
			  uint32_t size, uint32_t flags);
	/* NET_SET_MTU. -errno rejects the value (the connection stays). */
	int (*mtu_set)(void *opaque, uint16_t mtu);
	/*
	 * SEND_RARP (after a live migration, for a guest that cannot announce
	 * itself): make the network learn mac at this port now, e.g. by
	 * sending a RARP broadcast from it. Optional: with it the library
	 * offers VSW_VU_PF_RARP. 0, or -errno (logged, connection stays).
	 */
	int (*send_rarp)(void *opaque, const uint8_t mac[6]);
	/* The front-end went away (after every queue_stop). Optional. */
	void (*disconnected)(void *opaque);
	/*
	 * A grace period: return only after every data-plane thread that
	 * uses a started queue has passed a quiescent point (it no longer
	 * holds anything it read through the queue before the call). The
	 * IOTLB frees a replaced table, and acknowledges an invalidation,
	 * only after it. Required to offer VIRTIO_F_ACCESS_PLATFORM.
	 */
	void (*sync)(void *opaque);
};

enum vsw_vu_mode {
	VSW_VU_SERVER, /* listen on path */
	VSW_VU_CLIENT, /* connect to path, retry with backoff */
	VSW_VU_FD,     /* use the connected socket fd (owned from now on) */
};

struct vsw_vu_config {
	enum vsw_vu_mode mode;
	const char *path; /* SERVER / CLIENT: socket path */
	int fd;		  /* FD mode: connected AF_UNIX stream socket */
	const struct vsw_vu_device *dev;
	vsw_vu_log_fn *log; /* NULL: stderr */
	void *log_opaque;
	enum vsw_log_level log_level; /* lines above it are dropped */
	unsigned retry_min_ms; /* CLIENT: first retry delay, 0 = 100 */
	unsigned retry_max_ms; /* CLIENT: backoff cap, 0 = 5000 */
	/*
	 * SERVER: the socket file's mode (0: as the umask made it) and group
	 * (when sock_gid_set), set right after bind, before listen.
	 */
	unsigned sock_mode;
	bool sock_gid_set;
	gid_t sock_gid;
	/*
	 * Behind an IOMMU: an IOTLB miss the front-end has not answered
	 * after this long is given up and faults its queue (0 = 10000). A
	 * pending miss is asked again every second (or after half
	 * this, if less).
	 */
	unsigned iotlb_miss_timeout_ms;
};

/*
 * Create the endpoint. SERVER: binds path (an existing socket file there is
 * replaced, any other file is an error) and listens. CLIENT: tries a first
 * connect at once (failure is not an error: retries follow). FD: takes
 * ownership of cfg->fd, also on failure.
 * Returns 0 or -EINVAL (config, device features), -ENAMETOOLONG, -ENOMEM,
 * or the errno of socket / bind / listen.
 */
int vsw_vu_create(const struct vsw_vu_config *cfg, struct vsw_vu **out);

/* Close the connection (queues stopped first), unmap, unlink. NULL ok. */
void vsw_vu_destroy(struct vsw_vu *vu);

/* The fd to watch for readability now, or -1 (see vsw_vu_timeout_ms). */
int vsw_vu_fd(const struct vsw_vu *vu);

/*
 * Milliseconds after which vsw_vu_handle() must be called even if vsw_vu_fd()
 * did not become readable (CLIENT mode reconnect), or -1 for never.
 */
int vsw_vu_timeout_ms(const struct vsw_vu *vu);

/*
 * One step, never blocking: accept a front-end, try to connect, or read and
 * execute at most one message (a partly received message is kept for the
 * next call). Returns 0, or a negative errno when this call closed the
 * connection: -ECONNRESET (the peer hung up) or the reason a message was
 * refused (logged once at VSW_LOG_ERR). The object stays usable either
 * way: a server listens again, a client schedules a reconnect.
 */
int vsw_vu_handle(struct vsw_vu *vu);

/* Drop the current connection (as if the peer had hung up). */
void vsw_vu_disconnect(struct vsw_vu *vu);

bool vsw_vu_connected(const struct vsw_vu *vu);

/* Negotiated virtio / protocol features of the current connection. */
uint64_t vsw_vu_features(const struct vsw_vu *vu);
uint64_t vsw_vu_protocol_features(const struct vsw_vu *vu);

/* The guest memory table of the current connection (empty if none). */
const struct vsw_mem *vsw_vu_mem(const struct vsw_vu *vu);

/* IOTLB counters of the endpoint (all connections). */
struct vsw_vu_iotlb_stats {
	uint64_t updates;	/* IOTLB_MSG updates stored */
	uint64_t invalidates;	/* IOTLB_MSG invalidations applied */
	uint64_t misses;	/* VHOST_IOTLB_MISS requests sent */
	uint64_t refused;	/* IOTLB_MSG refused (bad range, perm, type) */
	uint64_t ring_faults;	/* a ring area lacked the access it needs */
	uint64_t miss_timeouts; /* misses given up (the queue faulted) */
	uint32_t entries;	/* entries cached now */
};

/*
 * Any thread (counters are relaxed snapshots; entries is exact on the
 * control thread). -ENOTSUP if the device does not offer the IOTLB.
 */
int vsw_vu_iotlb_stats(const struct vsw_vu *vu, struct vsw_vu_iotlb_stats *st);

/* Name of a request number ("SET_MEM_TABLE"), or NULL if unknown. */
const char *vsw_vu_request_name(uint32_t request);

#endif /* VSW_VHOST_USER_H */
