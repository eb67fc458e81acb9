/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: 802.1Q in the switch (1 and 2 data threads): access and trunk
 * ingress filtering, tag push / pop on egress (bytes checked), native VLAN,
 * priority tags, isolation of VLANs, offload offsets moved with the tag.
 */
#include "test_switch_th.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void set_access(struct ts *t, const char *port, uint16_t tag)
{
	struct vsw_vlan_config v = {.mode = VSW_VLAN_ACCESS, .tag = tag};
	char err[128];

	assert_int_equal(
		vsw_switch_set_port_vlan(t->sw, port, &v, err, sizeof(err)), 0);
}

static void set_trunk(struct ts *t, const char *port, uint16_t native,
		      const uint16_t *list, unsigned n)
{
	struct vsw_vlan_config v = {
		.mode = VSW_VLAN_TRUNK,
		.native = native,
		.trunks = list,
		.n_trunks = n,
	};
	char err[128];

	assert_int_equal(
		vsw_switch_set_port_vlan(t->sw, port, &v, err, sizeof(err)), 0);
}

/* a10, b10: access 10; a20: access 20; tr: trunk [10, 20] */
static void setup_ports(struct ts *t)
{
	static const uint16_t list[] = {10, 20};

	ts_add(t, "a10", NULL);
	ts_add(t, "b10", NULL);
	ts_add(t, "a20", NULL);
	ts_add(t, "tr", NULL);
	set_access(t, "a10", 10);
	set_access(t, "b10", 10);
	set_access(t, "a20", 20);
	set_trunk(t, "tr", 0, list, 2);
}

static void test_access_to_trunk(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], f[256], tagged[256];
	size_t n, m;
	struct vsw_port_stats st;

	setup_ports(t);
	ts_mac(A, 1);
	/* untagged broadcast on a10: b10 untagged, tr tagged 10, not a20 */
	n = ts_frame(f, bcast, A, false, 0, 80, 1);
	m = ts_frame(tagged, bcast, A, true, 10, 80, 1);
	assert_int_equal(m, n + 4);
	/* same payload bytes after the tag */
	assert_memory_equal(tagged + 16, f + 12, n - 12);
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[3], tagged, m);
	ts_expect_none(t->p[2]);
	ts_expect_none(t->p[0]);
	ts_expect_none(t->p[3]);
	st = ts_stats(t, "tr");
	assert_int_equal(st.tx.packets, 1);
	assert_int_equal(st.tx.bytes, m);

	/* tagged 20 on the trunk: a20 gets it untagged (popped) */
	n = ts_frame(f, bcast, A, false, 0, 100, 2);
	m = ts_frame(tagged, bcast, A, true, 20, 100, 2);
	ts_inject(t->p[3], tagged, m);
	ts_settle(t);
	ts_expect(t->p[2], f, n);
	ts_expect_none(t->p[0]);
	ts_expect_none(t->p[1]);

	/* tagged 10 on the trunk, unicast to A (learned on a10): popped */
	uint8_t B[6];
	ts_mac(B, 2);
	n = ts_frame(f, A, B, false, 0, 70, 3);
	m = ts_frame(tagged, A, B, true, 10, 70, 3);
	ts_inject(t->p[3], tagged, m);
	ts_settle(t);
	ts_expect(t->p[0], f, n);
	ts_expect_none(t->p[1]);
	ts_expect_none(t->p[2]);
	/* and back: a10 -> B is known on tr in VLAN 10: tagged unicast */
	n = ts_frame(f, B, A, false, 0, 75, 4);
	m = ts_frame(tagged, B, A, true, 10, 75, 4);
	ts_inject(t->p[0], f, n);
	ts_settle(t);
	ts_expect(t->p[3], tagged, m);
	ts_expect_none(t->p[1]);
}

static void test_ingress_filter(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], f[256];
	struct vsw_port_stats st;
	size_t n;
	unsigned i;

	setup_ports(t);
	ts_mac(A, 1);
	/* tagged frame on an access port */
	n = ts_frame(f, bcast, A, true, 10, 60, 1);
	ts_inject(t->p[0], f, n);
	/* untagged on a trunk without native VLAN and with a list */
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(t->p[3], f, n);
	/* VLAN 30 not in the trunk list; 4095 reserved */
	n = ts_frame(f, bcast, A, true, 30, 60, 1);
	ts_inject(t->p[3], f, n);
	n = ts_frame(f, bcast, A, true, 4095, 60, 1);
	ts_inject(t->p[3], f, n);
	/* a tagged runt (16 bytes) */
	ts_inject(t->p[3], f, 16);
	ts_settle(t);
	for (i = 0; i < 4; i++)
		ts_expect_none(t->p[i]);
	st = ts_stats(t, "a10");
	assert_int_equal(st.rx.packets, 1);
	assert_int_equal(st.rx.drops[VSW_DROP_VLAN_FILTERED], 1);
	st = ts_stats(t, "tr");
	assert_int_equal(st.rx.packets, 4);
	assert_int_equal(st.rx.drops[VSW_DROP_VLAN_FILTERED], 3);
	assert_int_equal(st.rx.drops[VSW_DROP_BAD_FRAME], 1);
}

static void test_native_and_priority(void **state)
{
	struct ts *t = *state;
	static const uint16_t list[] = {10, 20};
	uint8_t A[6], f[256], g[256];
	size_t n, m;

	setup_ports(t);
	set_trunk(t, "tr", 10, list, 2);
	ts_mac(A, 1);
	/* untagged on the trunk -> native 10 -> a10, b10 untagged */
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(t->p[3], f, n);
	ts_settle(t);
	ts_expect(t->p[0], f, n);
	ts_expect(t->p[1], f, n);
	ts_expect_none(t->p[2]);
	/* VLAN 10 leaves the trunk untagged now */
	ts_inject(t->p[1], f, n);
	ts_settle(t);
	ts_expect(t->p[3], f, n);
	ts_expect(t->p[0], f, n);
	/* priority-tagged (VID 0) on an access port: accepted, untagged */
	m = ts_frame(g, bcast, A, true, 0, 60, 1);
	g[14] = 0xa0; /* PCP 5, VID 0 */
	ts_inject(t->p[2], g, m);
	ts_settle(t);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	m = ts_frame(g, bcast, A, true, 20, 60, 1);
	ts_expect(t->p[3], g, m);
	ts_expect_none(t->p[0]);
	ts_expect_none(t->p[1]);

	/* native not in the list, bad tags: refused with a message */
	struct vsw_vlan_config v = {.mode = VSW_VLAN_TRUNK,
				    .native = 30,
				    .trunks = list,
				    .n_trunks = 2};
	char err[128];
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "tr", &v, err,
						  sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "native"));
	v.mode = VSW_VLAN_ACCESS;
	v.tag = 4095;
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "tr", &v, err,
						  sizeof(err)),
			 -EINVAL);
	v.tag = 0;
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "tr", &v, err,
						  sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "zz", &v, err,
						  sizeof(err)),
			 -ENOENT);
	assert_int_equal(vsw_switch_set_port_vlan(t->sw, "tr", NULL, err,
						  sizeof(err)),
			 -EINVAL);
}

/* the default mode (none) trunks every VLAN, untagged = VLAN 0 */
static void test_mode_none(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], f[256], g[256];
	size_t n, m;

	ts_add(t, "n1", NULL);
	ts_add(t, "n2", NULL);
	ts_add(t, "a10", NULL);
	set_access(t, "a10", 10);
	ts_mac(A, 1);
	m = ts_frame(g, bcast, A, true, 10, 60, 1);
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(t->p[0], g, m);
	ts_settle(t);
	ts_expect(t->p[1], g, m); /* tag kept */
	ts_expect(t->p[2], f, n); /* popped */
	ts_inject(t->p[0], f, n); /* VLAN 0: not to a10 */
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect_none(t->p[2]);
	ts_inject(t->p[2], f, n); /* VLAN 10 from the access port */
	ts_settle(t);
	ts_expect(t->p[0], g, m);
	ts_expect(t->p[1], g, m);
}

/* the same MACs in two VLANs do not see each other */
static void test_isolation(void **state)
{
	struct ts *t = *state;
	uint8_t A[6], B[6], f[256];
	size_t n;

	ts_add(t, "x10", NULL);
	ts_add(t, "y10", NULL);
	ts_add(t, "x20", NULL);
	ts_add(t, "y20", NULL);
	set_access(t, "x10", 10);
	set_access(t, "y10", 10);
	set_access(t, "x20", 20);
	set_access(t, "y20", 20);
	ts_mac(A, 1);
	ts_mac(B, 2);
	/* A on x10 and on x20, B on y10 and y20 */
	n = ts_frame(f, bcast, A, false, 0, 60, 1);
	ts_inject(t->p[0], f, n);
	ts_inject(t->p[2], f, n);
	ts_settle(t);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[3], f, n);
	ts_expect_none(t->p[1]);
	ts_expect_none(t->p[3]);
	n = ts_frame(f, A, B, false, 0, 60, 2);
	ts_inject(t->p[1], f, n);
	ts_settle(t);
	ts_expect(t->p[0], f, n);
	ts_expect_none(t->p[2]);
	n = ts_frame(f, A, B, false, 0, 61, 3);
	ts_inject(t->p[3], f, n);
	ts_settle(t);
	ts_expect(t->p[2], f, n);
	ts_expect_none(t->p[0]);
	/* changing a port's VLAN forgets its MACs */
	set_access(t, "x10", 20);
	n = ts_frame(f, A, B, false, 0, 62, 4);
	ts_inject(t->p[1], f, n); /* A unknown in VLAN 10 now: flood */
	ts_settle(t);
	ts_expect_none(t->p[0]); /* x10 is in VLAN 20 now */
	ts_expect_none(t->p[2]);
	struct vsw_port_stats st = ts_stats(t, "y10");
	assert_int_equal(st.rx.drops[VSW_DROP_NO_DEST], 1);
}

/* mixed egress in one burst, and the checksum offset follows the tag */
static void test_mixed_burst_offload(void **state)
{
	struct ts *t = *state;
	static const uint16_t list[] = {10};
	struct virtio_net_hdr_v1 h = {0}, got;
	uint8_t A[6], f[256], g[256], buf[256];
	size_t n, m;
	unsigned i;
	int len;

	ts_add(t, "a10", NULL);
	ts_add(t, "b10", NULL);
	ts_add(t, "tr", NULL);
	ts_add(t, "tr2", NULL);
	set_access(t, "a10", 10);
	set_access(t, "b10", 10);
	set_trunk(t, "tr", 0, list, 1);
	set_trunk(t, "tr2", 0, list, 1);
	ts_mac(A, 1);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 6;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = 54;
	h.gso_size = 1400;
	for (i = 0; i < 20; i++) {
		n = ts_frame(f, bcast, A, false, 0, 60 + i, (uint8_t)i);
		assert_int_equal(vsw_port_dummy_inject(t->p[0], 0, f, n, &h),
				 0);
	}
	ts_settle(t);
	for (i = 0; i < 20; i++) {
		n = ts_frame(f, bcast, A, false, 0, 60 + i, (uint8_t)i);
		m = ts_frame(g, bcast, A, true, 10, 60 + i, (uint8_t)i);
		len = vsw_port_dummy_collect(t->p[1], buf, sizeof(buf), &got,
					     NULL);
		assert_int_equal(len, (int)n);
		assert_memory_equal(buf, f, n);
		assert_int_equal(got.csum_start, 34);
		assert_int_equal(got.hdr_len, 54);
		len = vsw_port_dummy_collect(t->p[2], buf, sizeof(buf), &got,
					     NULL);
		assert_int_equal(len, (int)m);
		assert_memory_equal(buf, g, m);
		assert_int_equal(got.csum_start, 38);
		assert_int_equal(got.csum_offset, 6);
		assert_int_equal(got.hdr_len, 58);
		assert_int_equal(got.gso_size, 1400);
		ts_expect(t->p[3], g, m);
	}
	/* and the other way: tagged in, popped on access ports */
	h.csum_start = 38;
	h.hdr_len = 58;
	m = ts_frame(g, bcast, A, true, 10, 90, 7);
	n = ts_frame(f, bcast, A, false, 0, 90, 7);
	assert_int_equal(vsw_port_dummy_inject(t->p[2], 0, g, m, &h), 0);
	ts_settle(t);
	len = vsw_port_dummy_collect(t->p[0], buf, sizeof(buf), &got, NULL);
	assert_int_equal(len, (int)n);
	assert_memory_equal(buf, f, n);
	assert_int_equal(got.csum_start, 34);
	assert_int_equal(got.hdr_len, 54);
	ts_expect(t->p[1], f, n);
	ts_expect(t->p[3], g, m);
}

#define BOTH(fn)                                                               \
	cmocka_unit_test_setup_teardown(fn, ts_setup1, ts_teardown),           \
		cmocka_unit_test_setup_teardown(fn, ts_setup2, ts_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_access_to_trunk),	BOTH(test_ingress_filter),
		BOTH(test_native_and_priority), BOTH(test_mode_none),
		BOTH(test_isolation),		BOTH(test_mixed_burst_offload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
