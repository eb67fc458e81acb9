/* SPDX-License-Identifier: MIT */
/*
 * virtio-net control queue (VIRTIO 1.2 §5.1.6.5).
 *
 * Security model: a command is guest input. Each field is read once from the
 * readable segments into a local and checked (class, command, exact data
 * size, value range) before the state changes; tables are collected in a
 * local copy and committed whole. A malformed command changes nothing and is
 * answered VIRTIO_NET_ERR when a writable byte exists.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vnet_priv.h"

#define VNET_MAC_LEN 6

enum vnet_ctrl_res { CTRL_OK, CTRL_ERR, CTRL_MALFORMED };

/* Read one MAC table (le32 count, then count addresses) into t. */
static enum vnet_ctrl_res vnet_ctrl_mac_table(struct vnet_cur *cur,
					      uint64_t *left,
					      struct vsw_vnet_mac_table *t)
{
	uint32_t n, i;

	if (*left < 4 || vnet_cur_read(cur, &n, 4) != 4)
		return CTRL_MALFORMED;
	*left -= 4;
	n = le32toh(n);
	if ((uint64_t)n * VNET_MAC_LEN > *left)
		return CTRL_MALFORMED;
	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		if (i < VSW_VNET_MAC_TABLE_MAX) {
			vnet_cur_read(cur, t->mac[i], VNET_MAC_LEN);
			t->n++;
		} else {
			vnet_cur_skip(cur, VNET_MAC_LEN);
			t->overflow = true;
		}
	}
	*left -= (uint64_t)n * VNET_MAC_LEN;
	return CTRL_OK;
}

static enum vnet_ctrl_res vnet_ctrl_cmd(struct vsw_vnet *dev, uint8_t cls,
					uint8_t cmd, struct vnet_cur *cur,
					uint64_t left)
{
	struct vsw_vnet_ctrl_state *s = &dev->cs;
	struct vsw_vnet_mac_table uc, mc;
	enum vnet_ctrl_res r;
	uint8_t mac[VNET_MAC_LEN], on;
	uint16_t pairs;
	bool *rx_flag[] = {
		[VIRTIO_NET_CTRL_RX_PROMISC] = &s->promisc,
		[VIRTIO_NET_CTRL_RX_ALLMULTI] = &s->allmulti,
		[VIRTIO_NET_CTRL_RX_ALLUNI] = &s->alluni,
		[VIRTIO_NET_CTRL_RX_NOMULTI] = &s->nomulti,
		[VIRTIO_NET_CTRL_RX_NOUNI] = &s->nouni,
		[VIRTIO_NET_CTRL_RX_NOBCAST] = &s->nobcast,
	};

	switch (cls) {
	case VIRTIO_NET_CTRL_RX:
		if (!vnet_has(dev, VIRTIO_NET_F_CTRL_RX) ||
		    cmd >= VSW_ARRAY_SIZE(rx_flag))
			return CTRL_ERR;
		if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
		    !vnet_has(dev, VIRTIO_NET_F_CTRL_RX_EXTRA))
			return CTRL_ERR;
		if (left != 1 || vnet_cur_read(cur, &on, 1) != 1)
			return CTRL_MALFORMED;
		*rx_flag[cmd] = on != 0;
		break;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
			if (!vnet_has(dev, VIRTIO_NET_F_CTRL_MAC_ADDR))
				return CTRL_ERR;
			if (left != VNET_MAC_LEN ||
			    vnet_cur_read(cur, mac, VNET_MAC_LEN) !=
				    VNET_MAC_LEN)
				return CTRL_MALFORMED;
			memcpy(s->mac, mac, VNET_MAC_LEN);
			break;
		}
		if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET ||
		    !vnet_has(dev, VIRTIO_NET_F_CTRL_RX))
			return CTRL_ERR;
		r = vnet_ctrl_mac_table(cur, &left, &uc);
		if (r == CTRL_OK)
			r = vnet_ctrl_mac_table(cur, &left, &mc);
		if (r != CTRL_OK)
			return r;
		if (left != 0)
			return CTRL_MALFORMED;
		s->uc = uc;
		s->mc = mc;
		break;
	case VIRTIO_NET_CTRL_ANNOUNCE:
		if (!vnet_has(dev, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
		    cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK)
			return CTRL_ERR;
		if (left != 0)
			return CTRL_MALFORMED;
		s->announce_pending = false;
		break;
	case VIRTIO_NET_CTRL_MQ:
		if (!vnet_has(dev, VIRTIO_NET_F_MQ) ||
		    cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET)
			return CTRL_ERR;
		if (left != 2 || vnet_cur_read(cur, &pairs, 2) != 2)
			return CTRL_MALFORMED;
		pairs = le16toh(pairs);
		/* well formed, but a count the device cannot do */
		if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN ||
		    pairs > dev->max_qp)
			return CTRL_ERR;
		s->curr_qp = pairs;
		break;
	default:
		return CTRL_ERR;
	}
	s->generation++;
	return CTRL_OK;
}

/* Answer one chain; returns the bytes written into it (0 or 1). */
static uint32_t vnet_ctrl_one(struct vsw_vnet *dev, struct vsw_vq_dev *vq,
			      const struct vsw_vq_chain *c)
{
	struct vnet_cur cur;
	enum vnet_ctrl_res r;
	uint8_t hdr[2], ack;

	if (c->n_out == 0 || c->n_in == 0 || c->in_len == 0 ||
	    c->out_len < sizeof(hdr)) {
		r = CTRL_MALFORMED;
	} else {
		vnet_cur_init(&cur, dev->ctrl_iov, c->n_out);
		vnet_cur_read(&cur, hdr, sizeof(hdr));
		r = vnet_ctrl_cmd(dev, hdr[0], hdr[1], &cur,
				  c->out_len - sizeof(hdr));
	}
	dev->cst.commands++;
	if (r == CTRL_OK) {
		dev->cst.ok++;
		ack = VIRTIO_NET_OK;
	} else {
		dev->cst.err++;
		if (r == CTRL_MALFORMED)
			dev->cst.malformed++;
		ack = VIRTIO_NET_ERR;
	}
	if (c->n_in == 0 || c->in_len == 0)
		return 0;
	vnet_cur_init(&cur, dev->ctrl_iov + c->n_out, c->n_in);
	vnet_cur_write(&cur, &ack, 1);
	vnet_log_iov(vq, dev->ctrl_iov + c->n_out, c->n_in, 1);
	return 1;
}

int vsw_vnet_ctrl_process(struct vsw_vnet *dev, struct vsw_vq_dev *vq,
			  int call_fd)
{
	struct vsw_vq_chain c;
	int done = 0, ret;

	for (;;) {
		ret = vsw_vq_dev_pop(vq, &c, dev->ctrl_iov, VNET_CTRL_IOV_MAX);
		if (ret == 0)
			break;
		if (ret < 0)
			return ret;
		ret = vsw_vq_dev_push(vq, &c, vnet_ctrl_one(dev, vq, &c));
		if (ret < 0)
			return ret;
		done++;
	}
	if (done > 0 && vsw_vq_dev_need_notify(vq))
		vnet_kick_guest(dev, 2U * dev->max_qp, call_fd);
	return done;
}

const struct vsw_vnet_ctrl_state *vsw_vnet_ctrl_state(const struct vsw_vnet *d)
{
	return &d->cs;
}

const struct vsw_vnet_ctrl_stats *vsw_vnet_ctrl_stats(const struct vsw_vnet *d)
{
	return &d->cst;
}

int vsw_vnet_announce(struct vsw_vnet *dev)
{
	if (!vnet_has(dev, VIRTIO_NET_F_GUEST_ANNOUNCE))
		return -ENOTSUP;
	dev->cs.announce_pending = true;
	dev->cs.generation++;
	return 0;
}
