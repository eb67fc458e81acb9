/* SPDX-License-Identifier: MIT */
/*
 * Packet capture of lib/switch (capture.c) on dummy ports: the frames as
 * each port saw them in each direction, the offload state, the snap
 * length, the bounded ring's drops, one capture per port, a port deleted
 * under its capture, and the errors.
 */
#include "test_switch_th.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct vsw_capture *cap_start(struct ts *t, const char *port,
				     unsigned dir, size_t ring,
				     uint32_t snaplen)
{
	struct vsw_capture *c = NULL;
	char err[128];

	assert_int_equal(vsw_capture_start(t->sw, port, dir, ring, snaplen, &c,
					   err, sizeof(err)),
			 0);
	assert_non_null(c);
	return c;
}

static void drain_tx(struct vsw_port *p)
{
	uint8_t buf[4096];

	while (vsw_port_dummy_collect(p, buf, sizeof(buf), NULL, NULL) >= 0)
		;
}

/* In on a, out on b: the bytes, the length, the direction. */
static void test_directions(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_capture *ca, *cb;
	struct vsw_capture_rec r;
	uint8_t f[256], got[256], src[6];
	size_t len;
	int i;

	ts_mac(src, 1);
	len = ts_frame(f, bcast, src, false, 0, 100, 7);
	ca = cap_start(t, "a", VSW_CAPTURE_IN | VSW_CAPTURE_OUT, 0, 0);
	cb = cap_start(t, "b", VSW_CAPTURE_OUT, 0, 0);
	for (i = 0; i < 3; i++)
		ts_inject(a, f, len);
	ts_settle(t);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vsw_capture_next(ca, &r, got, sizeof(got)), 1);
		assert_int_equal(r.dir, VSW_CAPTURE_IN);
		assert_int_equal(r.len, len);
		assert_int_equal(r.caplen, len);
		assert_int_equal(r.offload, 0);
		assert_memory_equal(got, f, len);
		assert_true(r.ts_ns > 1000000000ull * 1600000000ull);
		assert_int_equal(vsw_capture_next(cb, &r, got, sizeof(got)), 1);
		assert_int_equal(r.dir, VSW_CAPTURE_OUT);
		assert_int_equal(r.len, len);
		assert_memory_equal(got, f, len);
	}
	/* a sent nothing: no OUT record; b received nothing */
	assert_int_equal(vsw_capture_next(ca, &r, got, sizeof(got)), 0);
	assert_int_equal(vsw_capture_next(cb, &r, got, sizeof(got)), 0);
	assert_int_equal(vsw_capture_drops(ca), 0);
	/* the traffic itself is untouched */
	for (i = 0; i < 3; i++)
		ts_expect(b, f, len);
	vsw_capture_stop(ca);
	vsw_capture_stop(cb);
	/* stopped: nothing is copied any more, forwarding goes on */
	ts_inject(a, f, len);
	ts_settle(t);
	ts_expect(b, f, len);
}

/* A TSO frame with a partial checksum is noted as such. */
static void test_offload_and_snaplen(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct virtio_net_hdr_v1 vnet = {0};
	struct vsw_capture *c;
	struct vsw_capture_rec r;
	uint8_t f[256], got[256], src[6];
	size_t len;

	ts_mac(src, 1);
	len = ts_frame(f, bcast, src, false, 0, 200, 3);
	vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vnet.gso_size = 1448;
	vnet.csum_start = 34;
	vnet.csum_offset = 16;
	c = cap_start(t, "a", VSW_CAPTURE_IN, 0, 64);
	assert_int_equal(vsw_port_dummy_inject(a, 0, f, len, &vnet), 0);
	ts_settle(t);
	assert_int_equal(vsw_capture_next(c, &r, got, sizeof(got)), 1);
	assert_int_equal(r.offload, VSW_CAPTURE_GSO | VSW_CAPTURE_CSUM_PARTIAL);
	assert_int_equal(r.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(r.gso_size, 1448);
	assert_int_equal(r.csum_start, 34);
	assert_int_equal(r.csum_offset, 16);
	assert_int_equal(r.len, len);
	assert_int_equal(r.caplen, 64); /* snaplen */
	assert_memory_equal(got, f, 64);
	vsw_capture_stop(c);
	drain_tx(b);
}

/* A ring that is not drained drops, counts, and keeps what it holds. */
static void test_ring_full(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_capture *c;
	struct vsw_capture_rec r;
	uint8_t f[2048], got[2048], src[6];
	unsigned i, n = 0, sent = 0;
	size_t len;

	ts_mac(src, 1);
	len = ts_frame(f, bcast, src, false, 0, 1500, 9);
	c = cap_start(t, "a", VSW_CAPTURE_IN, VSW_CAPTURE_RING_MIN, 0);
	for (i = 0; i < 8; i++) {
		unsigned k;

		for (k = 0; k < 16; k++) {
			ts_inject(a, f, len);
			sent++;
		}
		ts_settle(t);
		drain_tx(b);
	}
	while (vsw_capture_next(c, &r, got, sizeof(got)) == 1) {
		assert_int_equal(r.len, len);
		assert_memory_equal(got, f, len);
		n++;
	}
	/* 64 KiB hold about 42 frames of 1514 bytes with their headers */
	assert_true(n > 30 && n < 64);
	assert_int_equal(n + vsw_capture_drops(c), sent);
	/* drained: room again */
	ts_inject(a, f, len);
	ts_settle(t);
	assert_int_equal(vsw_capture_next(c, &r, got, sizeof(got)), 1);
	vsw_capture_stop(c);
	drain_tx(b);
}

static void test_errors(void **state)
{
	struct ts *t = *state;
	struct vsw_capture *c, *c2 = NULL;
	char err[128];

	ts_add(t, "a", NULL);
	assert_int_equal(vsw_capture_start(t->sw, "nope", VSW_CAPTURE_IN, 0, 0,
					   &c2, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no port nope"));
	assert_int_equal(vsw_capture_start(t->sw, "a", 0, 0, 0, &c2, err,
					   sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsw_capture_start(t->sw, "a", 4, 0, 0, &c2, err,
					   sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsw_capture_start(t->sw, "a", VSW_CAPTURE_IN,
					   VSW_CAPTURE_RING_MAX + 1ul, 0, &c2,
					   err, sizeof(err)),
			 -EINVAL);
	c = cap_start(t, "a", VSW_CAPTURE_IN, 0, 0);
	assert_int_equal(vsw_capture_start(t->sw, "a", VSW_CAPTURE_OUT, 0, 0,
					   &c2, err, sizeof(err)),
			 -EBUSY);
	assert_null(c2);
	vsw_capture_stop(c);
	/* the port is free again */
	c = cap_start(t, "a", VSW_CAPTURE_OUT, 0, 0);
	vsw_capture_stop(c);
	vsw_capture_stop(NULL);
}

/* The port goes away under its capture: what was captured stays. */
static void test_port_deleted(void **state)
{
	struct ts *t = *state;
	struct vsw_port *a = ts_add(t, "a", NULL), *b = ts_add(t, "b", NULL);
	struct vsw_capture *c;
	struct vsw_capture_rec r;
	uint8_t f[256], got[256], src[6];
	char err[128];
	size_t len;

	ts_mac(src, 1);
	len = ts_frame(f, bcast, src, false, 0, 80, 1);
	c = cap_start(t, "a", VSW_CAPTURE_IN, 0, 0);
	ts_inject(a, f, len);
	ts_settle(t);
	assert_false(vsw_capture_port_gone(c));
	assert_int_equal(vsw_switch_del_port(t->sw, "a", err, sizeof(err)), 0);
	t->p[0] = NULL;
	assert_true(vsw_capture_port_gone(c));
	assert_int_equal(vsw_capture_next(c, &r, got, sizeof(got)), 1);
	assert_memory_equal(got, f, len);
	assert_int_equal(vsw_capture_next(c, &r, got, sizeof(got)), 0);
	vsw_capture_stop(c); /* frees; ASan says if anything is left */
	/* a new port of that name has no capture attached */
	a = ts_add(t, "a", NULL);
	c = cap_start(t, "a", VSW_CAPTURE_IN, 0, 0);
	vsw_capture_stop(c);
	drain_tx(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_directions, ts_setup2,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_offload_and_snaplen,
						ts_setup1, ts_teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_errors, ts_setup1,
						ts_teardown),
		cmocka_unit_test_setup_teardown(test_port_deleted, ts_setup2,
						ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
