/* SPDX-License-Identifier: MIT */
/*
 * vsw-blk: a vhost-user-blk back end. One raw file or block device is the
 * disk of one guest (QEMU -device vhost-user-blk-pci,chardev=...): vsw-blk
 * listens on --socket, serves the virtio-blk queues with io_uring
 * (programs/blk/blk_dev.c) and takes the next front-end after a
 * disconnect. One thread: the vhost-user socket, the kicks and the io_uring
 * completions are watched by one poll(). SIGINT / SIGTERM end it cleanly
 * (queues drained, socket removed); SIGUSR1 prints the request counters
 * (also printed at exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h> /* BLKGETSIZE64 */

#include <vsw/vhost_user.h>

#include "blk_dev.h"

struct opts {
	const char *socket;
	const char *disk;
	const char *serial;
	unsigned queues;
	bool read_only;
	bool direct;
	enum vsw_log_level level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vsw-blk --socket PATH --disk FILE [--queues N] "
		"[--read-only] [--direct] [--serial ID] [--verbose]\n"
		"  --socket PATH  vhost-user socket to listen on (replaced "
		"if a stale socket)\n"
		"  --disk FILE    raw image file or block device\n"
		"  --queues N     virtqueues, 1..%d (default 1)\n"
		"  --read-only    offer VIRTIO_BLK_F_RO, refuse writes\n"
		"  --direct       open the disk with O_DIRECT (no host page "
		"cache)\n"
		"  --serial ID    GET_ID answer, at most 20 bytes\n"
		"  --verbose      log every vhost-user message\n",
		VSW_BLK_MAX_QUEUES);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 's'},
		{"disk", required_argument, NULL, 'd'},
		{"queues", required_argument, NULL, 'q'},
		{"read-only", no_argument, NULL, 'r'},
		{"direct", no_argument, NULL, 'D'},
		{"serial", required_argument, NULL, 'i'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->queues = 1;
	o->level = VSW_LOG_INFO;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'd':
			o->disk = optarg;
			break;
		case 'q':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 ||
			    v > VSW_BLK_MAX_QUEUES) {
				fprintf(stderr,
					"vsw-blk: --queues %s: not 1..%d\n",
					optarg, VSW_BLK_MAX_QUEUES);
				return -EINVAL;
			}
			o->queues = (unsigned)v;
			break;
		case 'r':
			o->read_only = true;
			break;
		case 'D':
			o->direct = true;
			break;
		case 'i':
			if (strlen(optarg) > 20) {
				fprintf(stderr,
					"vsw-blk: --serial: longer than 20 "
					"bytes\n");
				return -EINVAL;
			}
			o->serial = optarg;
			break;
		case 'v':
			o->level = VSW_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || o->socket == NULL || o->disk == NULL) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/*
 * Open the disk (with O_DIRECT if direct); its size in bytes in *size. fd
 * or -errno (printed).
 */
static int open_disk(const struct opts *o, bool direct, uint64_t *size)
{
	struct stat st;
	int fd, ret;

	fd = open(o->disk, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC |
				   (direct ? O_DIRECT : 0));
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "vsw-blk: %s: %s\n", o->disk, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			ret = -errno;
			goto err;
		}
	} else {
		ret = -ENOTBLK;
		fprintf(stderr,
			"vsw-blk: %s: not a regular file or block device\n",
			o->disk);
		close(fd);
		return ret;
	}
	if (*size < VSW_BLK_SECTOR) {
		fprintf(stderr, "vsw-blk: %s: smaller than one sector\n",
			o->disk);
		close(fd);
		return -EINVAL;
	}
	if (*size % VSW_BLK_SECTOR != 0)
		fprintf(stderr,
			"vsw-blk: %s: %" PRIu64 " bytes, the last %" PRIu64
			" (part of a sector) are not used\n",
			o->disk, *size, *size % VSW_BLK_SECTOR);
	return fd;
err:
	fprintf(stderr, "vsw-blk: %s: %s\n", o->disk, strerror(-ret));
	close(fd);
	return ret;
}

static void log_line(void *opaque, enum vsw_log_level level, const char *line)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};

	(void)opaque;
	fprintf(stderr, "vsw-blk: %s: %s\n", names[level], line);
}

static void print_stats(const struct vsw_blk *blk)
{
	struct vsw_blk_stats st;

	vsw_blk_get_stats(blk, &st);
	fprintf(stderr,
		"vsw-blk: stats: requests=%" PRIu64 " ioerr=%" PRIu64
		" unsupp=%" PRIu64 " no_status=%" PRIu64 " faults=%" PRIu64
		" buffered=%" PRIu64 "\n",
		st.requests, st.ioerr, st.unsupp, st.no_status, st.faults,
		st.buffered);
}

/*
 * SIGINT / SIGTERM / SIGUSR1 as an fd (the loop polls it); SIGPIPE
 * ignored.
 */
static int signals_fd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int run(struct vsw_vu *vu, struct vsw_blk *blk, int sfd)
{
	struct pollfd p[3 + VSW_BLK_MAX_QUEUES];
	int ret;

	for (;;) {
		int t1 = vsw_vu_timeout_ms(vu), t2 = vsw_blk_timeout_ms(blk);
		int timeout = t1 < 0 ? t2 : (t2 < 0 || t1 < t2 ? t1 : t2);
		unsigned n = 2;

		p[0].fd = sfd;
		p[0].events = POLLIN;
		p[1].fd = vsw_vu_fd(vu);
		p[1].events = POLLIN;
		n += vsw_blk_pollfds(blk, p + 2, 1 + VSW_BLK_MAX_QUEUES);
		if (poll(p, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo == SIGUSR1)
				print_stats(blk);
			else
				return 0;
		}
		if (p[1].fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
			(void)vsw_vu_handle(vu); /* refusals are logged */
		else if (t1 >= 0)
			(void)vsw_vu_handle(vu);
		ret = vsw_blk_run_polled(blk, p + 2, n - 2);
		if (ret < 0)
			return ret;
	}
}

int main(int argc, char **argv)
{
	struct vsw_vu_config vcfg = {0};
	struct vsw_blk_config bcfg = {0};
	struct vsw_blk *blk = NULL;
	struct vsw_vu *vu = NULL;
	struct opts o;
	uint64_t size = 0;
	int fd = -1, fdb = -1, sfd = -1, ret;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	fd = open_disk(&o, o.direct, &size);
	if (fd < 0)
		return 1;
	if (o.direct) {
		/* for what O_DIRECT refuses (misaligned guest buffers) */
		fdb = open_disk(&o, false, &size);
		if (fdb < 0) {
			close(fd);
			return 1;
		}
	}
	bcfg.fd = fd;
	bcfg.direct = o.direct;
	bcfg.fd_buffered = fdb;
	bcfg.size = size;
	bcfg.read_only = o.read_only;
	bcfg.serial = o.serial;
	bcfg.num_queues = o.queues;
	bcfg.log = log_line;
	bcfg.log_level = o.level;
	ret = vsw_blk_create(&bcfg, &blk);
	if (ret < 0) {
		fprintf(stderr, "vsw-blk: device: %s\n", strerror(-ret));
		goto out;
	}
	sfd = signals_fd();
	if (sfd < 0) {
		ret = sfd;
		fprintf(stderr, "vsw-blk: signals: %s\n", strerror(-ret));
		goto out;
	}
	vcfg.mode = VSW_VU_SERVER;
	vcfg.path = o.socket;
	vcfg.dev = vsw_blk_vu_device(blk);
	vcfg.log = log_line;
	vcfg.log_level = o.level;
	ret = vsw_vu_create(&vcfg, &vu);
	if (ret < 0) {
		fprintf(stderr, "vsw-blk: %s: %s\n", o.socket, strerror(-ret));
		goto out;
	}
	fprintf(stderr,
		"vsw-blk: serving %s (%" PRIu64 " sectors%s%s, %u queues) on "
		"%s\n",
		o.disk, size / VSW_BLK_SECTOR, o.read_only ? ", read-only" : "",
		o.direct ? ", O_DIRECT" : "", o.queues, o.socket);
	ret = run(vu, blk, sfd);
	if (ret < 0)
		fprintf(stderr, "vsw-blk: %s\n", strerror(-ret));
out:
	vsw_vu_destroy(vu); /* stops the queues: drains their requests */
	if (blk != NULL)
		print_stats(blk);
	vsw_blk_destroy(blk);
	if (sfd >= 0)
		close(sfd);
	if (fdb >= 0)
		close(fdb);
	close(fd);
	return ret < 0 ? 1 : 0;
}
