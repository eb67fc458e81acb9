/* SPDX-License-Identifier: MIT */
/* Private to lib/virtq: state of the packed ring variant. */
#ifndef VSW_VIRTQ_PACKED_H
#define VSW_VIRTQ_PACKED_H

#include <stdint.h>

#include <linux/virtio_ring.h>

struct vq_packed_drv {
	int placeholder_until_written;
};

struct vq_packed_dev {
	int placeholder_until_written;
};

#endif
