/* SPDX-License-Identifier: MIT */
/*
 * vsw-ringbench: virtqueue throughput between a driver thread and a device
 * thread, each pinned to its own core, both busy polling (no eventfds).
 *
 * Per run: the driver adds a batch of 64-byte device-readable buffers, calls
 * kick_prepare once (a kick it would send is only counted), and collects
 * used buffers; the device pops up to a batch, reads every byte of each
 * buffer, and returns the batch with one push_burst (need_notify is called
 * once per burst and counted). The figure is buffers completed per second as
 * the driver sees them, over a measured interval after a short warm-up.
 *
 * Rows: split / packed x with / without VIRTIO_RING_F_EVENT_IDX x batch
 * 1 / 8 / 32. Each row runs --reps times, the repetitions interleaved (every
 * row once, then every row again) so a slow phase of the machine spreads
 * over all rows instead of hitting one. Prints min / median / max.
 * No assertion on time: this measures, it does not test.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vsw/mem.h>
#include <vsw/virtq.h>

#define RB_BUF_LEN 64U
#define RB_MAX_BATCH 32U
#define RB_IOV_MAX 4U
#define RB_WARMUP_S 0.2

enum rb_phase { RB_WARMUP, RB_MEASURE, RB_STOP };

struct rb_row {
	bool packed, event_idx;
	unsigned batch;
	double *mbps;		    /* per repetition, Mbuf/s */
	uint64_t bufs, kicks, irqs; /* summed over measured intervals */
	int err;
};

/* One run: state shared by the main, driver and device threads. */
struct rb_run {
	struct vsw_vq_drv *drv;
	struct vsw_vq_dev *dev;
	uint8_t *bufs;
	uint32_t num;
	unsigned batch;
	int cpu_drv, cpu_dev;
	int phase; /* enum rb_phase, written by main, polled by both */
	/* results, each written by its own thread before it exits */
	uint64_t done, kicks, irqs, sink;
	double seconds;
	int drv_err, dev_err;
};

static double rb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int rb_phase(const struct rb_run *r)
{
	/* a flag only: no data is handed over through it */
	return __atomic_load_n(&r->phase, __ATOMIC_RELAXED);
}

static int rb_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *rb_driver(void *arg)
{
	struct rb_run *r = arg;
	uint32_t *free_slots, n_free = 0, slot, len, i;
	uint64_t done = 0, kicks = 0, done0 = 0, kicks0 = 0;
	double t0 = 0;
	int seen = RB_WARMUP, ph;
	unsigned n;
	void *tok;

	r->drv_err = rb_pin(r->cpu_drv);
	free_slots = calloc(r->num, sizeof(*free_slots));
	if (free_slots == NULL || r->drv_err < 0) {
		r->drv_err = r->drv_err < 0 ? r->drv_err : -ENOMEM;
		free(free_slots);
		return NULL;
	}
	for (i = 0; i < r->num; i++)
		free_slots[n_free++] = r->num - 1 - i;
	vsw_vq_drv_disable_cb(r->drv); /* polling: no interrupts wanted */
	for (;;) {
		for (n = 0; n < r->batch && n_free > 0; n++) {
			struct vsw_sg sg;

			slot = free_slots[--n_free];
			/* the driver writes what the device will read */
			memcpy(r->bufs + (size_t)slot * RB_BUF_LEN, &done,
			       sizeof(done));
			sg.addr = (uint64_t)(uintptr_t)(r->bufs +
							(size_t)slot *
								RB_BUF_LEN);
			sg.len = RB_BUF_LEN;
			if (vsw_vq_drv_add(r->drv, &sg, 1, 0,
					   (void *)(uintptr_t)(slot + 1)) < 0) {
				free_slots[n_free++] = slot; /* ring full */
				break;
			}
		}
		if (n > 0 && vsw_vq_drv_kick_prepare(r->drv))
			kicks++;
		while ((tok = vsw_vq_drv_get_used(r->drv, &len)) != NULL) {
			free_slots[n_free++] = (uint32_t)(uintptr_t)tok - 1;
			done++;
		}
		if (vsw_vq_drv_is_broken(r->drv)) {
			r->drv_err = -EIO;
			break;
		}
		ph = rb_phase(r);
		if (ph == seen)
			continue;
		if (ph == RB_MEASURE) {
			t0 = rb_now();
			done0 = done;
			kicks0 = kicks;
			seen = ph;
		} else {
			r->seconds = rb_now() - t0;
			break;
		}
	}
	r->done = done - done0;
	r->kicks = kicks - kicks0;
	free(free_slots);
	return NULL;
}

static void *rb_device(void *arg)
{
	struct rb_run *r = arg;
	struct vsw_vq_used u[RB_MAX_BATCH];
	struct iovec iov[RB_IOV_MAX];
	struct vsw_vq_chain c;
	uint64_t irqs = 0, irqs0 = 0, sum = 0, w;
	int seen = RB_WARMUP, ph, ret = 0;
	unsigned n, i;

	r->dev_err = rb_pin(r->cpu_dev);
	if (r->dev_err < 0)
		return NULL;
	vsw_vq_dev_disable_notify(r->dev); /* polling: no kicks wanted */
	for (;;) {
		n = 0;
		while (n < r->batch &&
		       (ret = vsw_vq_dev_pop(r->dev, &c, iov, RB_IOV_MAX)) ==
			       1) {
			/* touch the data: read every byte of the buffer */
			for (i = 0; i + sizeof(w) <= iov[0].iov_len; i += 8) {
				memcpy(&w, (uint8_t *)iov[0].iov_base + i,
				       sizeof(w));
				sum += w;
			}
			u[n++] = (struct vsw_vq_used){.id = c.id,
						      .ndesc = c.ndesc};
		}
		if (ret < 0) {
			r->dev_err = ret;
			break;
		}
		if (n > 0) {
			ret = vsw_vq_dev_push_burst(r->dev, u, n);
			if (ret < 0) {
				r->dev_err = ret;
				break;
			}
			if (vsw_vq_dev_need_notify(r->dev))
				irqs++;
		}
		ph = rb_phase(r);
		if (ph == seen)
			continue;
		if (ph == RB_MEASURE) {
			irqs0 = irqs;
			seen = ph;
		} else {
			break;
		}
	}
	r->irqs = irqs - irqs0;
	r->sink = sum;
	return NULL;
}

static void rb_sleep(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
			      .tv_nsec = (long)((s - (time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One measured run of one row; adds to row's totals, returns Mbuf/s. */
static int rb_run_row(struct rb_row *row, uint32_t num, double seconds,
		      const int cpus[2], double *mbps)
{
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	struct vsw_vq_drv_config dcfg = {0};
	struct vsw_vq_dev_config vcfg = {0};
	struct rb_run r = {0};
	struct vsw_mem mem;
	pthread_t td, tv;
	size_t ring, total;
	uint8_t *area;
	int ret;

	if (row->packed)
		features |= 1ULL << VIRTIO_F_RING_PACKED;
	if (row->event_idx)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	ring = vsw_vq_ring_bytes(features, num);
	if (ring == 0)
		return -EINVAL;
	ring = (ring + 4095) & ~(size_t)4095;
	total = ring + (size_t)num * RB_BUF_LEN;
	area = aligned_alloc(4096, (total + 4095) & ~(size_t)4095);
	if (area == NULL)
		return -ENOMEM;
	memset(area, 0, total);
	/* one process: guest physical address == host virtual address */
	vsw_mem_init(&mem);
	ret = vsw_mem_add(&mem, (uint64_t)(uintptr_t)area, total, area, 0);
	if (ret < 0)
		goto out_free;

	dcfg.features = features;
	dcfg.num = num;
	dcfg.ring = area;
	dcfg.ring_gpa = (uint64_t)(uintptr_t)area;
	ret = vsw_vq_drv_create(&dcfg, &r.drv);
	if (ret < 0)
		goto out_free;
	vcfg.features = features;
	vcfg.num = num;
	vcfg.mem = &mem;
	vsw_vq_drv_addrs(r.drv, &vcfg.addrs);
	ret = vsw_vq_dev_create(&vcfg, &r.dev);
	if (ret < 0)
		goto out_drv;

	r.bufs = area + ring;
	r.num = num;
	r.batch = row->batch;
	r.cpu_drv = cpus[0];
	r.cpu_dev = cpus[1];
	r.phase = RB_WARMUP;
	ret = -pthread_create(&tv, NULL, rb_device, &r);
	if (ret < 0)
		goto out_dev;
	ret = -pthread_create(&td, NULL, rb_driver, &r);
	if (ret < 0) {
		__atomic_store_n(&r.phase, RB_STOP, __ATOMIC_RELAXED);
		pthread_join(tv, NULL);
		goto out_dev;
	}
	rb_sleep(RB_WARMUP_S);
	__atomic_store_n(&r.phase, RB_MEASURE, __ATOMIC_RELAXED);
	rb_sleep(seconds);
	__atomic_store_n(&r.phase, RB_STOP, __ATOMIC_RELAXED);
	pthread_join(td, NULL);
	pthread_join(tv, NULL);

	ret = r.drv_err < 0 ? r.drv_err : r.dev_err;
	if (ret == 0 && r.seconds <= 0)
		ret = -EIO; /* the driver never saw the measured phase */
	if (ret == 0) {
		*mbps = r.done / r.seconds / 1e6;
		row->bufs += r.done;
		row->kicks += r.kicks;
		row->irqs += r.irqs;
	}
out_dev:
	vsw_vq_dev_destroy(r.dev);
out_drv:
	vsw_vq_drv_destroy(r.drv);
out_free:
	free(area);
	return ret;
}

static int rb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The first two CPUs this process may run on; -1 where there is none. */
static void rb_pick_cpus(int cpus[2])
{
	cpu_set_t set;
	int i, n = 0;

	cpus[0] = cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
}

static void rb_usage(FILE *f)
{
	fprintf(f, "usage: vsw-ringbench [--seconds S] [--reps N] [--size N]\n"
		   "  --seconds S  measured time per run (default 2)\n"
		   "  --reps N     repetitions of each row (default 3)\n"
		   "  --size N     queue size (default 256, a power of two)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"seconds", required_argument, NULL, 't'},
		{"reps", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const unsigned batches[] = {1, 8, 32};
	struct rb_row rows[2 * 2 * 3];
	double seconds = 2, m, *v;
	unsigned reps = 3, num = 256, nrows = 0, i, k, p, e, b;
	int cpus[2], c, ret, failed = 0;
	bool tty = isatty(STDERR_FILENO);

	while ((c = getopt_long(argc, argv, "t:r:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			seconds = atof(optarg);
			break;
		case 'r':
			reps = (unsigned)atoi(optarg);
			break;
		case 's':
			num = (unsigned)atoi(optarg);
			break;
		case 'h':
			rb_usage(stdout);
			return 0;
		default:
			rb_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || seconds <= 0 || seconds > 3600 || reps < 1 ||
	    reps > 100 || num < 1 || num > VSW_VQ_MAX_SIZE ||
	    (num & (num - 1)) != 0) {
		rb_usage(stderr);
		return 2;
	}
	for (p = 0; p < 2; p++)
		for (e = 0; e < 2; e++)
			for (b = 0; b < 3; b++) {
				rows[nrows] = (struct rb_row){
					.packed = p,
					.event_idx = !e,
					.batch = batches[b],
					.mbps = calloc(reps, sizeof(double)),
				};
				if (rows[nrows].mbps == NULL)
					return 1;
				nrows++;
			}
	rb_pick_cpus(cpus);
	printf("vsw-ringbench: queue size %u, %u-byte buffers, %.1f s x %u "
	       "reps per row, driver on CPU %d, device on CPU %d%s\n",
	       num, RB_BUF_LEN, seconds, reps, cpus[0], cpus[1],
	       cpus[1] < 0 ? " (one CPU only: numbers are meaningless)" : "");
	fflush(stdout);
	for (k = 0; k < reps; k++) {
		for (i = 0; i < nrows; i++) {
			if (rows[i].err < 0)
				continue;
			ret = rb_run_row(&rows[i], num, seconds, cpus,
					 &rows[i].mbps[k]);
			if (ret < 0) {
				rows[i].err = ret;
				failed = 1;
			}
			if (tty)
				fprintf(stderr, "\rrep %u/%u row %u/%u ", k + 1,
					reps, i + 1, nrows);
		}
	}
	if (tty)
		fprintf(stderr, "\r%30s\r", "");
	printf("\n%-7s %5s %9s  %10s %10s %10s  %10s %10s\n", "ring", "batch",
	       "event_idx", "Mbuf/s min", "median", "max", "kicks/kbuf",
	       "irqs/kbuf");
	for (i = 0; i < nrows; i++) {
		if (rows[i].err < 0) {
			printf("%-7s %5u %9s  error: %s\n",
			       rows[i].packed ? "packed" : "split",
			       rows[i].batch, rows[i].event_idx ? "yes" : "no",
			       strerror(-rows[i].err));
			continue;
		}
		v = rows[i].mbps;
		qsort(v, reps, sizeof(*v), rb_cmp);
		m = reps % 2 ? v[reps / 2]
			     : (v[reps / 2 - 1] + v[reps / 2]) / 2;
		printf("%-7s %5u %9s  %10.2f %10.2f %10.2f  %10.2f %10.2f\n",
		       rows[i].packed ? "packed" : "split", rows[i].batch,
		       rows[i].event_idx ? "yes" : "no", v[0], m, v[reps - 1],
		       rows[i].bufs ? 1000.0 * rows[i].kicks / rows[i].bufs : 0,
		       rows[i].bufs ? 1000.0 * rows[i].irqs / rows[i].bufs : 0);
	}
	for (i = 0; i < nrows; i++)
		free(rows[i].mbps);
	return failed;
}
