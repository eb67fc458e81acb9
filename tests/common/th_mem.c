/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "th_mem.h"

int th_mem_create(struct th_mem *m, size_t size, uint64_t gpa_base,
		  unsigned nregions)
{
	size_t per;
	unsigned i;
	int ret;

	memset(m, 0, sizeof(*m));
	if (nregions == 0 || nregions > 8 || size % (nregions * 4096UL))
		return -EINVAL;
	m->fd = memfd_create("th_mem", MFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, (off_t)size) < 0) {
		ret = -errno;
		goto err;
	}
	m->size = size;
	m->gpa_base = gpa_base;
	m->nregions = nregions;
	m->brk = gpa_base;
	vsw_mem_init(&m->mem);
	per = size / nregions;
	for (i = 0; i < nregions; i++) {
		/* reserve a guard page after each mapping so regions are never
		 * contiguous in host memory */
		void *p = mmap(NULL, per + 4096, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			ret = -errno;
			goto err;
		}
		m->maps[i] = mmap(p, per, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, m->fd,
				  (off_t)(i * per));
		if (m->maps[i] == MAP_FAILED) {
			ret = -errno;
			munmap(p, per + 4096);
			m->maps[i] = NULL;
			goto err;
		}
		ret = vsw_mem_add(&m->mem, gpa_base + i * per, per, m->maps[i],
				  i * per);
		if (ret < 0)
			goto err;
	}
	return 0;
err:
	th_mem_destroy(m);
	return ret;
}

void th_mem_destroy(struct th_mem *m)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		if (m->maps[i] != NULL)
			munmap(m->maps[i], m->size / m->nregions + 4096);
	if (m->fd > 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
}

uint64_t th_alloc(struct th_mem *m, size_t len, size_t align)
{
	uint64_t gpa = (m->brk + align - 1) & ~((uint64_t)align - 1);

	if (gpa + len > th_end(m)) {
		fprintf(stderr, "th_alloc: guest memory exhausted\n");
		abort();
	}
	m->brk = gpa + len;
	return gpa;
}

void *th_ptr(struct th_mem *m, uint64_t gpa, size_t len)
{
	return vsw_mem_translate(&m->mem, gpa, len);
}

static int th_copy(struct th_mem *m, uint64_t gpa, void *buf, size_t len,
		   int to_guest)
{
	struct iovec iov[8];
	unsigned n = 0, i;
	char *b = buf;
	int ret = vsw_mem_map_iov(&m->mem, gpa, len, iov, 8, &n);

	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		if (to_guest)
			memcpy(iov[i].iov_base, b, iov[i].iov_len);
		else
			memcpy(b, iov[i].iov_base, iov[i].iov_len);
		b += iov[i].iov_len;
	}
	return 0;
}

int th_write(struct th_mem *m, uint64_t gpa, const void *src, size_t len)
{
	return th_copy(m, gpa, (void *)src, len, 1);
}

int th_read(struct th_mem *m, uint64_t gpa, void *dst, size_t len)
{
	return th_copy(m, gpa, dst, len, 0);
}
