/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the switch unit tests: a switch with a fake clock and
 * dummy ports, frame builders, and "settle" (every injected frame has been
 * forwarded: rx rings empty, then one grace period, after which every batch
 * a data thread had started is complete).
 */
#ifndef TEST_SWITCH_TH_H
#define TEST_SWITCH_TH_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <vsw/port.h>
#include <vsw/switch.h>

#define TS_MAX_PORTS 8

struct ts {
	struct vsw_switch *sw;
	uint64_t clock_ms; /* fake clock, atomic */
	unsigned n_threads;
	bool force_poll;
	unsigned idle_polls;
	struct vsw_port *p[TS_MAX_PORTS];
	unsigned n_ports;
	unsigned logs;
};

static inline uint64_t ts_clock(void *arg)
{
	struct ts *t = arg;

	return __atomic_load_n(&t->clock_ms, __ATOMIC_RELAXED);
}

static inline void ts_advance(struct ts *t, uint64_t ms)
{
	__atomic_fetch_add(&t->clock_ms, ms, __ATOMIC_RELAXED);
}

static inline void ts_log(void *arg, enum vsw_log_level level, const char *msg)
{
	struct ts *t = arg;

	(void)level;
	(void)msg;
	__atomic_fetch_add(&t->logs, 1, __ATOMIC_RELAXED);
}

static inline void ts_sleep_us(unsigned us)
{
	struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

static inline int ts_start(struct ts *t)
{
	struct vsw_switch_config cfg = {
		.n_threads = t->n_threads,
		.force_poll = t->force_poll,
		.pool_small = 512,
		.pool_large = 2,
		.idle_polls = t->idle_polls,
		.log = ts_log,
		.log_arg = t,
		.clock_ms = ts_clock,
		.clock_arg = t,
	};
	char err[128];

	t->clock_ms = 1000000;
	assert_int_equal(vsw_switch_create(&cfg, &t->sw), 0);
	assert_int_equal(vsw_switch_add_bridge(t->sw, "br0", err, sizeof(err)),
			 0);
	return 0;
}

static inline int ts_setup1(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));

	t->n_threads = 1;
	*state = t;
	return ts_start(t);
}

static inline int ts_setup2(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));

	t->n_threads = 2;
	*state = t;
	return ts_start(t);
}

static inline int ts_teardown(void **state)
{
	struct ts *t = *state;

	vsw_switch_destroy(t->sw);
	free(t);
	return 0;
}

/* Add dummy port `name` to bridge br0 with "k=v" options; returns it. */
static inline struct vsw_port *ts_add(struct ts *t, const char *name, ...)
{
	struct vsw_port_opt opts[8];
	char buf[8][64];
	unsigned n = 0;
	const char *kv;
	char err[256];
	va_list ap;
	int ret;

	va_start(ap, name);
	while ((kv = va_arg(ap, const char *)) != NULL && n < 8) {
		char *eq;

		snprintf(buf[n], sizeof(buf[n]), "%s", kv);
		eq = strchr(buf[n], '=');
		assert_non_null(eq);
		*eq = '\0';
		opts[n].key = buf[n];
		opts[n].value = eq + 1;
		n++;
	}
	va_end(ap);
	ret = vsw_switch_add_port(t->sw, "br0", name, "dummy", opts, n, err,
				  sizeof(err));
	if (ret != 0)
		fprintf(stderr, "add_port %s: %s\n", name, err);
	assert_int_equal(ret, 0);
	t->p[t->n_ports++] = vsw_switch_port_find(t->sw, name);
	return t->p[t->n_ports - 1];
}

static inline void ts_mac(uint8_t *m, unsigned id)
{
	m[0] = 0x02;
	m[1] = 0;
	m[2] = 0;
	m[3] = 0;
	m[4] = (uint8_t)(id >> 8);
	m[5] = (uint8_t)id;
}

/*
 * A frame dst <- src, 802.1Q-tagged with vid if tag (vid may be 0), with
 * payload bytes derived from seed; total length len (untagged part).
 * Returns the frame length.
 */
static inline size_t ts_frame(uint8_t *f, const uint8_t *dst,
			      const uint8_t *src, bool tag, uint16_t vid,
			      size_t len, uint8_t seed)
{
	size_t o = 12, i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (tag) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = (uint8_t)(vid >> 8);
		f[15] = (uint8_t)vid;
		o = 16;
		len += 4;
	}
	f[o] = 0x08;
	f[o + 1] = 0x00;
	for (i = o + 2; i < len; i++)
		f[i] = (uint8_t)(seed + (i - o));
	return len;
}

static inline void ts_inject(struct vsw_port *p, const void *f, size_t len)
{
	assert_int_equal(vsw_port_dummy_inject(p, 0, f, len, NULL), 0);
}

/* Wait until no injected frame is left, then for one grace period. */
static inline void ts_settle(struct ts *t)
{
	unsigned i, spins = 0;
	bool busy;

	do {
		busy = false;
		for (i = 0; i < t->n_ports; i++)
			if (t->p[i] != NULL &&
			    vsw_port_dummy_rx_pending(t->p[i]) > 0)
				busy = true;
		if (busy)
			ts_sleep_us(100);
		assert_true(++spins < 50000); /* 5 s */
	} while (busy);
	vsw_switch_sync(t->sw);
}

/* Collect one frame from p, expecting exactly exp (len bytes). */
static inline void ts_expect(struct vsw_port *p, const uint8_t *exp, size_t len)
{
	uint8_t buf[4096];
	int n = vsw_port_dummy_collect(p, buf, sizeof(buf), NULL, NULL);

	if (n < 0)
		fprintf(stderr, "%s: nothing collected (%d)\n",
			vsw_port_name(p), n);
	assert_int_equal(n, (int)len);
	assert_memory_equal(buf, exp, len);
}

static inline void ts_expect_none(struct vsw_port *p)
{
	uint8_t buf[4096];

	assert_int_equal(vsw_port_dummy_collect(p, buf, sizeof(buf), NULL,
						NULL),
			 -EAGAIN);
}

static inline struct vsw_port_stats ts_stats(struct ts *t, const char *name)
{
	struct vsw_port_stats st;

	assert_int_equal(vsw_switch_port_stats(t->sw, name, &st), 0);
	return st;
}

#endif /* TEST_SWITCH_TH_H */
