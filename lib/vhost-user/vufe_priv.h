/* SPDX-License-Identifier: MIT */
/*
 * Private to the vhost-user front end (vsw/vhost_user_fe.h): its session,
 * memory and queues live in lib/vhost-user/vu_frontend.c, its virtio-net
 * packet path beside the device side's in lib/virtio-net/vnet_frontend.c.
 * This is what both see; the data path calls into vu_frontend.c, never
 * the reverse.
 */
#ifndef VUFE_PRIV_H
#define VUFE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include <vsw/pkt.h>
#include <vsw/vhost_user.h>
#include <vsw/vhost_user_fe.h>
#include <vsw/virtq.h>

#include "vsw_atomic.h"
#include "vsw_compiler.h"

/* Protocol features this front-end knows how to use. */
#define VUFE_PF_WANTED                                                         \
	((1ULL << VSW_VU_PF_MQ) | (1ULL << VSW_VU_PF_REPLY_ACK) |              \
	 (1ULL << VSW_VU_PF_CONFIGURE_MEM_SLOTS) |                             \
	 (1ULL << VSW_VU_PF_STATUS))

#define VUFE_HAS(fe, bit) (((fe)->features >> (bit)) & 1)

/* One virtqueue with its buffer slots. */
struct vufe_q {
	struct vsw_vq_drv *drv;
	uint32_t index; /* vhost-user queue index */
	uint32_t num;
	int kick_fd, call_fd;
	uint64_t ring_off;
	size_t ring_bytes;
	uint64_t ind_off; /* indirect tables, 0 if none */
	uint64_t slots_off;
	uint32_t slot_size; /* stride of the slots */
	uint32_t buf_len;   /* bytes of a slot exposed to the device */
	/*
	 * tx: the free slots (a stack); rx: the slots taken off the ring by
	 * this burst, to be exposed again.
	 */
	uint32_t *free;
	uint32_t nfree;
	uint32_t *chain; /* rx: slot, len pairs of one MRG_RXBUF frame */
	uint32_t idle;	 /* bursts without progress since the last check */
};

struct vufe_qp {
	struct vufe_q rx, tx;
	struct vsw_pkt_pool *pool;
	struct vsw_vufe_q_stats st;
} __attribute__((aligned(VSW_CACHE_LINE)));

struct vsw_vufe {
	struct vsw_vufe_config cfg;
	struct sockaddr_un addr;
	int sock, listen_fd;
	bool bound;	  /* we created the socket file at addr */
	bool started;	  /* connect was called */
	int dead;	  /* the session ended; relaxed atomic, see vufe_dead */
	uint64_t offered; /* back-end's virtio features */
	uint64_t features;
	uint64_t pfeatures;
	uint32_t tx_max_frame;
	int mem_fd;
	uint8_t *mem;
	size_t mem_size;
	unsigned npairs;
	struct vufe_qp *qp;
	struct vufe_q ctrl; /* drv == NULL without CTRL_VQ */
	char err[256];
};

/*
 * The session is over (vufe_set_dead in vu_frontend.c: relaxed, it orders
 * nothing else).
 */
static inline bool vufe_dead(const struct vsw_vufe *fe)
{
	return vsw_load_relaxed(&fe->dead) != 0;
}

static inline void *vufe_ptr(const struct vsw_vufe *fe, uint64_t gpa)
{
	return fe->mem + gpa; /* GPA = offset in the region */
}

static inline void *vufe_token(uint32_t slot)
{
	return (void *)(uintptr_t)(slot + 1);
}

static inline uint32_t vufe_slot(void *token)
{
	return (uint32_t)((uintptr_t)token - 1);
}

/* Expose every slot on the free list as a receive buffer; how many. */
unsigned vufe_rx_refill(struct vufe_q *q);
/* Tell the back-end (the queue's kick eventfd). */
void vufe_kick(struct vufe_q *q);

#endif /* VUFE_PRIV_H */
