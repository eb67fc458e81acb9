/* SPDX-License-Identifier: MIT */
/* Private to lib/virtq: state of the split ring variant. */
#ifndef VSW_VIRTQ_SPLIT_H
#define VSW_VIRTQ_SPLIT_H

#include <stdint.h>

#include <linux/virtio_ring.h>

struct vq_split_drv {
	int placeholder_until_written;
};

struct vq_split_dev {
	int placeholder_until_written;
};

#endif
