/* SPDX-License-Identifier: MIT */
/*
 * Functional-test harness for the vhost-user back-end: a hand-rolled
 * front-end speaking the wire protocol over a socket, a recording device
 * layer, log capture and fd / mapping counters for leak checks.
 *
 * Everything is single-threaded: the test writes a message on its end of the
 * socket, then runs one vsw_vu_handle() step, then reads the reply, which
 * the back-end has already written.
 */
#ifndef TEST_VHOST_USER_FE_H
#define TEST_VHOST_USER_FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsw/vhost_user.h>

#include "th_mem.h"

#define TD_QUEUES 2

/* A device layer that records what the back-end told it. */
struct tdev {
	struct vsw_vu_device dev;
	struct vsw_vu_queue q[TD_QUEUES]; /* last queue_start info */
	bool running[TD_QUEUES];
	unsigned nstart, nstop, ndisconnect;
	int start_ret; /* what queue_start returns */
	uint8_t status;
	unsigned nstatus;
	uint16_t mtu;
	unsigned iotlb_miss_timeout_ms; /* for fe_backend_pair (0: default) */
	char log[16384]; /* captured log lines, '\n' separated */
	size_t loglen;
};

/* Features the test device offers (without the protocol-features bit). */
#define TD_FEATURES                                                            \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |    \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                               \
	 (1ULL << VIRTIO_F_RING_PACKED) | (1ULL << 5))

/* Protocol features the test front-end asks for (QEMU's usual set). */
#define FE_PF                                                                  \
	((1ULL << VSW_VU_PF_MQ) | (1ULL << VSW_VU_PF_REPLY_ACK) |              \
	 (1ULL << VSW_VU_PF_CONFIGURE_MEM_SLOTS) | (1ULL << VSW_VU_PF_STATUS))

void tdev_init(struct tdev *td, bool net_mtu);
bool tdev_logged(const struct tdev *td, const char *needle);

/* A back-end in FD mode on one end of a fresh socketpair; *fe gets the
 * other end. */
struct vsw_vu *fe_backend_pair(struct tdev *td, int *fe);

/* Send a request (flags: version | extra). Aborts the test on error. */
void fe_send(int fd, uint32_t req, uint32_t extra_flags, const void *p,
	     uint32_t size, const int *fds, unsigned nfds);
/* Send a header claiming size but only sent_len payload bytes. */
void fe_send_raw(int fd, const struct vsw_vu_hdr *h, const void *p,
		 size_t sent_len, const int *fds, unsigned nfds);
/* Send and run one back-end step: its return value. */
int fe_do(struct vsw_vu *vu, int fd, uint32_t req, const void *p, uint32_t size,
	  const int *fds, unsigned nfds);
/* Read a reply already waiting (asserts header, request and size). */
void fe_reply(int fd, uint32_t req, void *p, uint32_t size);
uint64_t fe_get_u64(struct vsw_vu *vu, int fd, uint32_t req);
void fe_set_u64(struct vsw_vu *vu, int fd, uint32_t req, uint64_t v);
void fe_vring(struct vsw_vu *vu, int fd, uint32_t req, uint32_t idx,
	      uint32_t num);
/* True if the peer closed (EOF / reset) and nothing else is pending but
 * maybe a final REPLY_ACK. */
bool fe_peer_closed(int fd);

/* The memory table message for th_mem m (fds all m->fd). */
uint32_t fe_mem_table(const struct th_mem *m, struct vsw_vu_mem_table *t,
		      int *fds);
/* The start of a QEMU session up to SET_MEM_TABLE (SET_FEATURES with
 * features | PROTOCOL_FEATURES). */
void fe_setup(struct vsw_vu *vu, int fd, const struct th_mem *m,
	      uint64_t features);

/* Front-end address (the test's own mapping) of a GPA in m. */
uint64_t fe_uva(struct th_mem *m, uint64_t gpa);

unsigned count_fds(void);
unsigned count_maps(const char *needle);

/* Whether lib/virtq's rings are implemented yet (placeholders: -ENOSYS). */
bool rings_available(void);

#endif
