/* SPDX-License-Identifier: MIT */
/* lib/ofp internals: byte order helpers and the encoders of ofp_conn.c. */
#ifndef OFP_PRIV_H
#define OFP_PRIV_H

#include <stdint.h>
#include <string.h>

#include "vsw_ofp.h"

static inline uint16_t ofp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t ofp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ofp_get64(const uint8_t *p)
{
	return (uint64_t)ofp_get32(p) << 32 | ofp_get32(p + 4);
}

static inline void ofp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ofp_put32(uint8_t *p, uint32_t v)
{
	ofp_put16(p, (uint16_t)(v >> 16));
	ofp_put16(p + 2, (uint16_t)v);
}

static inline void ofp_put64(uint8_t *p, uint64_t v)
{
	ofp_put32(p, (uint32_t)(v >> 32));
	ofp_put32(p + 4, (uint32_t)v);
}

/* OpenFlow 1.3 port numbers (32 bits) */
#define OFPP_MAX 0xffffff00u
#define OFPP_IN_PORT 0xfffffff8u
#define OFPP_TABLE 0xfffffff9u
#define OFPP_NORMAL 0xfffffffau
#define OFPP_FLOOD 0xfffffffbu
#define OFPP_ALL 0xfffffffcu
#define OFPP_CONTROLLER 0xfffffffdu
#define OFPP_LOCAL 0xfffffffeu
#define OFPP_ANY 0xffffffffu
#define OFPG_ANY 0xffffffffu
#define OFP_NO_BUFFER 0xffffffffu
#define OFPTT_ALL 0xff

/* Set @err (@why for the log); returns -EPROTO. */
int ofp_fail(struct vsw_ofp_err *err, uint16_t type, uint16_t code,
	     const char *why);

/* vsw's 16-bit ofport <-> OpenFlow 1.3's 32-bit port; 0 if none. */
uint32_t ofp_port_to_of(uint16_t port);
int ofp_port_from_of(uint32_t of, uint16_t *port);

/* A growable byte buffer. */
struct ofp_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed; /* an allocation failed or the limit was reached */
};

/* Append @n bytes (zeroed); NULL (and failed set) when out of room. */
uint8_t *ofp_buf_put(struct ofp_buf *b, size_t n);
void ofp_buf_free(struct ofp_buf *b);

/* Append the ofp_match of @m (OXM, padded to 8); its padded length. */
size_t ofp_encode_match(struct ofp_buf *b, const struct vsw_flow_match *m);
/*
 * Append an APPLY_ACTIONS instruction of @a (none when @a->n == 0), the
 * actions of a rule matching @m.
 */
void ofp_encode_instructions(struct ofp_buf *b,
			     const struct vsw_flow_match *m,
			     const struct vsw_flow_actions *a);

#endif /* OFP_PRIV_H */
