/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: flow syntax (parse / print), flow key extraction and the
 * packet edits of flow actions (lib/flow).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <linux/virtio_net.h>

#include <vsw/flow.h>
#include <vsw/pkt.h>

/* ---- helpers ---- */

static int map_by_name(void *arg, const char *name, uint16_t *ofport)
{
	(void)arg;
	if (strcmp(name, "vm1") == 0) {
		*ofport = 5;
		return 0;
	}
	if (strcmp(name, "uplink") == 0) {
		*ofport = 1;
		return 0;
	}
	return -ENOENT;
}

static const struct vsw_flow_port_map test_map = {.by_name = map_by_name};

/* "MATCH actions=ACTS" as dump-flows prints it after n_bytes. */
static void format_spec(const struct vsw_flow_spec *s, char *buf, size_t len)
{
	int n = vsw_flow_format_match(&s->match, s->priority, buf, len);

	assert_true(n >= 0 && (size_t)n < len);
	if (n > 0)
		buf[n++] = ' ';
	n += snprintf(buf + n, len - (size_t)n, "actions=");
	vsw_flow_format_actions(s->actions, buf + n, len - (size_t)n);
}

static void rd_spec(const char *in, struct vsw_flow_spec *s)
{
	char err[256];
	int ret = vsw_flow_parse(in, VSW_FLOW_PARSE_ADD, &test_map, s, err,
				 sizeof(err));

	if (ret != 0)
		fail_msg("parse '%s': %d %s", in, ret, err);
	assert_string_equal(err, "");
}

/* ---- syntax ---- */

struct rt_case {
	const char *in;
	const char *out;
};

static const struct rt_case rt_cases[] = {
	{"priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=output:2",
	 "priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80 actions=output:2"},
	{"in_port=1,actions=normal", "in_port=1 actions=NORMAL"},
	{"tp_dst=80,tcp,in_port=3,priority=5,actions=drop",
	 "priority=5,tcp,in_port=3,tp_dst=80 actions=drop"},
	{"ip,nw_src=10.1.2.3/16,actions=flood",
	 "ip,nw_src=10.1.0.0/16 actions=FLOOD"},
	{"udp6,ipv6_src=2001:db8::/32,tp_src=53,actions=output:1,output:2",
	 "udp6,ipv6_src=2001:db8::/32,tp_src=53 actions=output:1,output:2"},
	{"arp,arp_spa=192.168.1.1,arp_tpa=192.168.1.0/24,arp_op=1,"
	 "actions=local",
	 "arp,arp_spa=192.168.1.1,arp_tpa=192.168.1.0/24,arp_op=1 "
	 "actions=LOCAL"},
	{"icmp,icmp_type=8,icmp_code=0,actions=in_port",
	 "icmp,icmp_type=8,icmp_code=0 actions=IN_PORT"},
	{"dl_vlan=10,dl_vlan_pcp=3,actions=strip_vlan,output:4",
	 "dl_vlan=10,dl_vlan_pcp=3 actions=strip_vlan,output:4"},
	{"dl_vlan=0xffff,actions=mod_vlan_vid:20,output:1",
	 "vlan_tci=0x0000 actions=mod_vlan_vid:20,output:1"},
	{"dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/"
	 "01:00:00:00:00:00,actions=drop",
	 "dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/"
	 "01:00:00:00:00:00 actions=drop"},
	{"dl_type=0x88cc,actions=drop", "dl_type=0x88cc actions=drop"},
	{"ip,nw_proto=47,nw_tos=184,actions=mod_nw_src:1.2.3.4,"
	 "mod_nw_dst:5.6.7.8,output:1",
	 "ip,nw_proto=47,nw_tos=184 actions=mod_nw_src:1.2.3.4,"
	 "mod_nw_dst:5.6.7.8,output:1"},
	{"tcp,tp_src=0x400/0xfc00,actions=mod_dl_src:AA:bb:cc:dd:ee:ff,"
	 "mod_dl_dst:00:00:00:00:00:01,output:LOCAL",
	 "tcp,tp_src=0x400/0xfc00 actions=mod_dl_src:aa:bb:cc:dd:ee:ff,"
	 "mod_dl_dst:00:00:00:00:00:01,LOCAL"},
	{"priority=0,actions=normal", "priority=0 actions=NORMAL"},
	{"actions=", "actions=drop"},
	{"icmp6,icmp_type=135,actions=flood",
	 "icmp6,icmp_type=135 actions=FLOOD"},
	{"ip,nw_dst=10.0.0.0/255.0.255.0,actions=drop",
	 "ip,nw_dst=10.0.0.0/255.0.255.0 actions=drop"},
	{"ip, nw_src=1.1.1.1 actions=output:3",
	 "ip,nw_src=1.1.1.1 actions=output:3"},
	{"in_port=LOCAL,actions=all", "in_port=LOCAL actions=ALL"},
	{"ipv6,ipv6_dst=fe80::1,nw_tos=4,actions=drop",
	 "ipv6,ipv6_dst=fe80::1,nw_tos=4 actions=drop"},
	{"tcp_dst=443,tcp,actions=drop", "tcp,tp_dst=443 actions=drop"},
	{"dl_vlan_pcp=5,actions=mod_vlan_pcp:1,output:2",
	 "dl_vlan_pcp=5 actions=mod_vlan_pcp:1,output:2"},
	{"ip,nw_proto=6,actions=3", "tcp actions=output:3"},
	{"in_port=vm1,actions=output:vm1,output:uplink",
	 "in_port=5 actions=output:5,output:1"},
	{"sctp6,tp_dst=9,actions=drop", "sctp6,tp_dst=9 actions=drop"},
	{"vlan_tci=0x1005/0x1fff,actions=drop", "dl_vlan=5 actions=drop"},
	{"vlan_tci=0x0005/0x0fff,actions=drop",
	 "vlan_tci=0x0005/0x0fff actions=drop"},
	{"arp,nw_src=1.2.3.4,actions=drop", "arp,arp_spa=1.2.3.4 actions=drop"},
	{"ip,nw_src=0.0.0.0/0,actions=drop", "ip actions=drop"},
	{"eth_type=0x0800,ip_proto=17,udp_src=68,udp_dst=67,"
	 "actions=output:1",
	 "udp,tp_src=68,tp_dst=67 actions=output:1"},
	{"ip,ip,actions=drop", "ip actions=drop"},
	/* tunnel metadata, printed the way ovs-ofctl prints it */
	{"in_port=1,tun_id=42,tun_src=192.0.2.1,tun_dst=192.0.2.0/24,"
	 "actions=output:2",
	 "tun_id=0x2a,tun_src=192.0.2.1,tun_dst=192.0.2.0/24,in_port=1 "
	 "actions=output:2"},
	{"tcp,tun_id=0x100/0xff00,tun_metadata0=0x1234,"
	 "tun_metadata1=0x10/0xf0,actions=drop",
	 "tcp,tun_id=0x100/0xff00,tun_metadata0=0x1234,"
	 "tun_metadata1=0x10/0xf0 actions=drop"},
	{"tunnel_id=7,actions=set_field:192.0.2.2->tun_dst,"
	 "set_field:42->tun_id,output:3",
	 "tun_id=0x7 actions=set_field:192.0.2.2->tun_dst,"
	 "set_field:0x2a->tun_id,output:3"},
	{"actions=set_tunnel:42,set_field:10.0.0.1->tun_src,"
	 "set_field:0xabcd->tun_metadata0,set_tunnel64:0x100000000,output:1",
	 "actions=set_tunnel:0x2a,set_field:10.0.0.1->tun_src,"
	 "set_field:0xabcd->tun_metadata0,set_tunnel64:0x100000000,"
	 "output:1"},
	/* IPv6 underlay and the longer tun_metadata (ovs-ofctl's order) */
	{"tun_ipv6_dst=2001:db8::1,tun_ipv6_src=2001:db8::/64,"
	 "actions=set_field:2001:db8::2->tun_ipv6_dst,"
	 "set_field:fd00::1->tun_ipv6_src,output:1",
	 "tun_ipv6_src=2001:db8::/64,tun_ipv6_dst=2001:db8::1 "
	 "actions=set_field:2001:db8::2->tun_ipv6_dst,"
	 "set_field:fd00::1->tun_ipv6_src,output:1"},
	{"tun_ipv6_src=fd00::/ffff::ffff,actions=drop",
	 "tun_ipv6_src=fd00::/ffff::ffff actions=drop"},
	{"tun_metadata7=0x1122334455667788,tun_metadata2=0x5/0xff00000000ff,"
	 "tun_id=1,actions=set_field:0x8877665544332211->tun_metadata7,"
	 "output:2",
	 "tun_id=0x1,tun_metadata2=0x5/0xff00000000ff,"
	 "tun_metadata7=0x1122334455667788 "
	 "actions=set_field:0x8877665544332211->tun_metadata7,output:2"},
	/* a value bit outside its mask is cleared, as ovs-ofctl does */
	{"tun_metadata4=0x1234/0xff,actions=drop",
	 "tun_metadata4=0x34/0xff actions=drop"},
};

static void test_roundtrip(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++) {
		struct vsw_flow_spec s, s2;
		char out[512], out2[512];

		rd_spec(rt_cases[i].in, &s);
		format_spec(&s, out, sizeof(out));
		if (strcmp(out, rt_cases[i].out) != 0)
			fail_msg("'%s' printed as '%s', want '%s'",
				 rt_cases[i].in, out, rt_cases[i].out);
		/* what we print parses back to the same rule */
		rd_spec(out, &s2);
		assert_memory_equal(&s.match, &s2.match, sizeof(s.match));
		assert_int_equal(s.priority, s2.priority);
		format_spec(&s2, out2, sizeof(out2));
		assert_string_equal(out, out2);
		assert_int_equal(s.actions->n, s2.actions->n);
		vsw_flow_spec_fini(&s);
		vsw_flow_spec_fini(&s2);
	}
}

static void test_parse_fields(void **state)
{
	struct vsw_flow_spec s;
	static const uint8_t ip10[4] = {10, 0, 0, 0};
	static const uint8_t m24[4] = {255, 255, 255, 0};

	(void)state;
	rd_spec("cookie=0x10,idle_timeout=10,hard_timeout=20,priority=7,"
		"tcp,nw_dst=10.0.0.9/24,tp_dst=80,actions=output:2,"
		"mod_vlan_vid:3,output:4",
		&s);
	assert_int_equal(s.cookie, 0x10);
	assert_int_equal(s.idle_timeout, 10);
	assert_int_equal(s.hard_timeout, 20);
	assert_int_equal(s.priority, 7);
	assert_true(s.has_priority);
	assert_int_equal(s.match.key.dl_type, 0x0800);
	assert_int_equal(s.match.mask.dl_type, 0xffff);
	assert_int_equal(s.match.key.nw_proto, 6);
	assert_memory_equal(s.match.key.nw_dst, ip10, 4);
	assert_memory_equal(s.match.mask.nw_dst, m24, 4);
	assert_int_equal(s.match.key.tp_dst, 80);
	assert_int_equal(s.match.mask.tp_src, 0);
	assert_int_equal(s.actions->n, 3);
	assert_int_equal(s.actions->a[0].type, VSW_FLOW_ACT_OUTPUT);
	assert_int_equal(s.actions->a[0].arg, 2);
	assert_int_equal(s.actions->a[1].type, VSW_FLOW_ACT_SET_VLAN_VID);
	assert_int_equal(s.actions->a[1].arg, 3);
	assert_int_equal(s.actions->flags,
			 VSW_FLOW_ACTS_EDITS | VSW_FLOW_ACTS_EDIT_AFTER_OUT);
	vsw_flow_spec_fini(&s);

	rd_spec("actions=drop", &s);
	assert_int_equal(s.priority, VSW_FLOW_PRIORITY_DEFAULT);
	assert_false(s.has_priority);
	assert_int_equal(s.actions->n, 0);
	vsw_flow_spec_fini(&s);

	/* del-flows match: out_port allowed, no actions */
	assert_int_equal(vsw_flow_parse("tcp,out_port=3", VSW_FLOW_PARSE_MATCH,
					NULL, &s, NULL, 0),
			 0);
	assert_null(s.actions);
	assert_int_equal(s.out_port, 3);
	vsw_flow_spec_fini(&s);
	assert_int_equal(
		vsw_flow_parse("", VSW_FLOW_PARSE_MATCH, NULL, &s, NULL, 0), 0);
	assert_int_equal(s.out_port, VSW_FLOW_PORT_NONE);
	vsw_flow_spec_fini(&s);
}

struct err_case {
	enum vsw_flow_parse_mode mode;
	const char *in;
	const char *msg; /* a substring of the message */
};

static const struct err_case err_cases[] = {
	{VSW_FLOW_PARSE_ADD, "foo=1,actions=drop", "foo: unknown field"},
	{VSW_FLOW_PARSE_ADD, "tun_id=x,actions=drop", "tun_id: invalid"},
	{VSW_FLOW_PARSE_ADD, "tun_src=fd00::1,actions=drop", "IPv4"},
	{VSW_FLOW_PARSE_ADD, "tun_metadata0=0x10000000000000000,actions=drop",
	 "up to 8 bytes"},
	{VSW_FLOW_PARSE_ADD, "tun_metadata8=1,actions=drop",
	 "tun_metadata0 .. 7 only"},
	{VSW_FLOW_PARSE_ADD, "tun_metadata63=1,actions=drop",
	 "tun_metadata0 .. 7 only"},
	{VSW_FLOW_PARSE_ADD, "tun_metadata64=1,actions=drop", "unknown field"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:1->tun_metadata9",
	 "tun_metadata0 .. 7 only"},
	{VSW_FLOW_PARSE_ADD,
	 "actions=set_field:0x10000000000000000->tun_metadata1",
	 "up to 8 bytes"},
	{VSW_FLOW_PARSE_ADD, "tun_ipv6_src=10.0.0.1,actions=drop",
	 "invalid IPv6 address"},
	{VSW_FLOW_PARSE_ADD, "tun_ipv6_dst=fd00::/129,actions=drop", "prefix"},
	{VSW_FLOW_PARSE_ADD, "tun_ipv6_dst=fd00::1,tun_ipv6_dst=fd00::2,"
			     "actions=drop",
	 "conflicts"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:10.0.0.1->tun_ipv6_dst",
	 "invalid tun_ipv6_dst"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:fd00::1/64->tun_ipv6_dst",
	 "masked"},
	{VSW_FLOW_PARSE_ADD, "tun_id=1,tun_id=2,actions=drop", "conflicts"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:1->tun_dst", "invalid tun_dst"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:1->nw_ttl", "not supported"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:1/1->tun_id", "masked"},
	{VSW_FLOW_PARSE_ADD, "actions=set_field:42", "VALUE->FIELD"},
	{VSW_FLOW_PARSE_ADD, "actions=set_tunnel:0x100000000", "set_tunnel"},
	{VSW_FLOW_PARSE_ADD, "bar,actions=drop", "bar: unknown"},
	{VSW_FLOW_PARSE_ADD, "ip,nw_src=10.0.0.0/33,actions=drop", "prefix"},
	{VSW_FLOW_PARSE_ADD, "ip,nw_src=10.0.0.256,actions=drop", "nw_src"},
	{VSW_FLOW_PARSE_ADD, "ipv6,ipv6_src=::1/129,actions=drop", "prefix"},
	{VSW_FLOW_PARSE_ADD, "tp_dst=80,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "ip,tp_dst=80,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "udp,tcp_dst=80,actions=drop", "tcp"},
	{VSW_FLOW_PARSE_ADD, "nw_src=1.2.3.4,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "ipv6,nw_src=1.2.3.4,actions=drop",
	 "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "ip,ipv6_src=::1,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "arp_op=1,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "ip,arp_tpa=1.2.3.4,actions=drop",
	 "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "nw_tos=4,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "icmp_type=8,actions=drop", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "icmp,icmpv6_type=1,actions=drop",
	 "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "ip,arp,actions=drop", "arp: conflicts"},
	{VSW_FLOW_PARSE_ADD, "tcp,udp,actions=drop", "udp: conflicts"},
	{VSW_FLOW_PARSE_ADD, "in_port=1,in_port=2,actions=drop", "conflicts"},
	{VSW_FLOW_PARSE_ADD, "tcp,actions=bogus", "unknown action bogus"},
	{VSW_FLOW_PARSE_ADD, "tcp,actions=output:1,,output:2", "empty action"},
	{VSW_FLOW_PARSE_ADD, "actions=output:0", "invalid port"},
	{VSW_FLOW_PARSE_ADD, "actions=output:70000", "unknown port"},
	{VSW_FLOW_PARSE_ADD, "actions=output:vm9", "unknown port vm9"},
	{VSW_FLOW_PARSE_ADD, "in_port=vm9,actions=drop", "unknown port vm9"},
	{VSW_FLOW_PARSE_ADD, "actions=drop,output:1", "only action"},
	{VSW_FLOW_PARSE_ADD, "actions=output:1,drop", "only action"},
	{VSW_FLOW_PARSE_ADD, "in_port=1", "must specify an action"},
	{VSW_FLOW_PARSE_MOD, "tcp", "must specify an action"},
	{VSW_FLOW_PARSE_ADD, "actions=mod_nw_src:1.2.3.4", "prerequisites"},
	{VSW_FLOW_PARSE_ADD, "ip,actions=mod_nw_dst:1.2.3", "invalid IP"},
	{VSW_FLOW_PARSE_ADD, "actions=mod_vlan_vid:4096", "mod_vlan_vid"},
	{VSW_FLOW_PARSE_ADD, "actions=mod_vlan_pcp:8", "mod_vlan_pcp"},
	{VSW_FLOW_PARSE_ADD, "actions=mod_dl_src:1:2:3", "mod_dl_src"},
	{VSW_FLOW_PARSE_ADD, "dl_vlan=4096,actions=drop", "dl_vlan"},
	{VSW_FLOW_PARSE_ADD, "dl_vlan_pcp=8,actions=drop", "dl_vlan_pcp"},
	{VSW_FLOW_PARSE_ADD, "ip,nw_tos=3,actions=drop", "nw_tos"},
	{VSW_FLOW_PARSE_ADD, "dl_src=00:11:22:33:44,actions=drop", "dl_src"},
	{VSW_FLOW_PARSE_ADD, "dl_src=00:11:22:33:44:55:66,actions=drop",
	 "dl_src"},
	{VSW_FLOW_PARSE_ADD, "priority=65536,actions=drop", "priority"},
	{VSW_FLOW_PARSE_ADD, "priority=-1,actions=drop", "priority"},
	{VSW_FLOW_PARSE_ADD, "tcp,tp_dst=0x,actions=drop", "tp_dst"},
	{VSW_FLOW_PARSE_ADD, "tcp,tp_dst=70000,actions=drop", "tp_dst"},
	{VSW_FLOW_PARSE_ADD, "table=255,actions=drop", "table"},
	{VSW_FLOW_PARSE_ADD, "table=x,actions=drop", "table"},
	{VSW_FLOW_PARSE_ADD, "table=2,actions=goto_table:2", "greater"},
	{VSW_FLOW_PARSE_ADD, "table=3,actions=goto_table:1", "greater"},
	{VSW_FLOW_PARSE_ADD, "actions=goto_table:255", "invalid table"},
	{VSW_FLOW_PARSE_ADD, "actions=goto_table:1,output:2", "last action"},
	{VSW_FLOW_PARSE_ADD, "cookie=1/1,actions=drop", "no mask"},
	{VSW_FLOW_PARSE_MATCH, "cookie=1/x", "invalid mask"},
	{VSW_FLOW_PARSE_MATCH, "send_flow_rem", "not allowed"},
	{VSW_FLOW_PARSE_ADD, "out_port=1,actions=drop", "not allowed"},
	{VSW_FLOW_PARSE_MATCH, "tcp,actions=drop", "not allowed"},
	{VSW_FLOW_PARSE_MATCH, "idle_timeout=5", "not allowed"},
};

static void test_parse_errors(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		struct vsw_flow_spec s;
		char err[256];
		int ret;

		ret = vsw_flow_parse(err_cases[i].in, err_cases[i].mode,
				     &test_map, &s, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("'%s': %d, want -EINVAL", err_cases[i].in,
				 ret);
		if (strstr(err, err_cases[i].msg) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'",
				 err_cases[i].in, err, err_cases[i].msg);
		/* nothing is left allocated on failure */
		assert_null(s.actions);
	}
	/* a tiny error buffer is NUL-terminated, NULL is fine */
	{
		struct vsw_flow_spec s;
		char err[4];

		assert_int_equal(vsw_flow_parse("x=1,actions=drop",
						VSW_FLOW_PARSE_ADD, NULL, &s,
						err, sizeof(err)),
				 -EINVAL);
		assert_int_equal(strlen(err), 3);
		assert_int_equal(vsw_flow_parse("x=1,actions=drop",
						VSW_FLOW_PARSE_ADD, NULL, &s,
						NULL, 0),
				 -EINVAL);
	}
}

static void test_format_truncation(void **state)
{
	struct vsw_flow_spec s;
	char small[8], full[256];
	int n;

	(void)state;
	rd_spec("priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=drop",
		&s);
	n = vsw_flow_format_match(&s.match, s.priority, full, sizeof(full));
	assert_int_equal(n, (int)strlen("priority=100,tcp,nw_dst=10.0.0.0/24,"
					"tp_dst=80"));
	assert_int_equal(vsw_flow_format_match(&s.match, s.priority, small,
					       sizeof(small)),
			 n);
	assert_string_equal(small, "priorit");
	assert_int_equal(vsw_flow_format_actions(s.actions, small, 3), 4);
	assert_string_equal(small, "dr");
	vsw_flow_spec_fini(&s);
}

/* ---- frames ---- */

struct fb {
	uint8_t b[256];
	unsigned n;
};

static void fb_eth(struct fb *f, const char *dst, const char *src, int vlan,
		   uint16_t type)
{
	unsigned i;

	f->n = 0;
	for (i = 0; i < 6; i++) {
		unsigned x, y;

		sscanf(dst + 3 * i, "%2x", &x);
		sscanf(src + 3 * i, "%2x", &y);
		f->b[i] = (uint8_t)x;
		f->b[6 + i] = (uint8_t)y;
	}
	f->n = 12;
	if (vlan >= 0) {
		f->b[f->n++] = 0x81;
		f->b[f->n++] = 0x00;
		f->b[f->n++] = (uint8_t)(vlan >> 8);
		f->b[f->n++] = (uint8_t)vlan;
	}
	f->b[f->n++] = (uint8_t)(type >> 8);
	f->b[f->n++] = (uint8_t)type;
}

static void fb_put(struct fb *f, const void *p, unsigned n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static uint16_t csum(const uint8_t *p, unsigned n, uint32_t s)
{
	unsigned i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* IPv4 header (checksum filled) for proto, payload len, src, dst. */
static void fb_ip4(struct fb *f, uint8_t proto, unsigned plen, const char *src,
		   const char *dst, uint8_t tos, uint16_t frag)
{
	uint8_t h[20] = {0x45, tos};
	uint16_t c;

	h[2] = (uint8_t)((20 + plen) >> 8);
	h[3] = (uint8_t)(20 + plen);
	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	h[8] = 64;
	h[9] = proto;
	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
	c = (uint16_t)~csum(h, 20, 0);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	fb_put(f, h, 20);
}

/* Pseudo-header sum of the IPv4 header at ip for an L4 of len bytes. */
static uint32_t pseudo4(const uint8_t *ip, unsigned len)
{
	uint32_t s = 0;

	s += csum(ip + 12, 8, 0);
	s += ip[9];
	s += len;
	return s;
}

/* TCP (20 bytes + payload) or UDP (8 + payload) with a valid checksum. */
static void fb_l4(struct fb *f, unsigned ip_off, uint8_t proto, uint16_t sport,
		  uint16_t dport, unsigned payload)
{
	unsigned hl = proto == 6 ? 20 : 8, off = f->n, i, len = hl + payload;
	uint8_t *p = f->b + off;
	uint16_t c;

	memset(p, 0, len);
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	if (proto == 6) {
		p[12] = 5 << 4;
	} else {
		p[4] = (uint8_t)(len >> 8);
		p[5] = (uint8_t)len;
	}
	for (i = 0; i < payload; i++)
		p[hl + i] = (uint8_t)(i * 7 + 1);
	c = (uint16_t)~csum(p, len, pseudo4(f->b + ip_off, len));
	if (proto == 17 && c == 0)
		c = 0xffff;
	p[proto == 6 ? 16 : 6] = (uint8_t)(c >> 8);
	p[proto == 6 ? 17 : 7] = (uint8_t)c;
	f->n += len;
}

static void test_key_tcp_vlan(void **state)
{
	struct vsw_flow_key k, k2;
	struct vsw_flow_spec s;
	struct fb f;
	uint32_t h;
	static const uint8_t dst[6] = {0x52, 0x54, 0, 0, 0, 2};
	static const uint8_t src[6] = {0x52, 0x54, 0, 0, 0, 1};
	static const uint8_t ipd[4] = {10, 0, 0, 5};
	static const uint8_t ips[4] = {192, 168, 0, 1};

	(void)state;
	fb_eth(&f, "52:54:00:00:00:02", "52:54:00:00:00:01", 0x6000 | 100,
	       0x0800);
	fb_ip4(&f, 6, 20, "192.168.0.1", "10.0.0.5", 0xb9, 0);
	fb_l4(&f, 18, 6, 40000, 80, 0);
	h = vsw_flow_key_extract(f.b, f.n, 3, &k);
	assert_int_equal(h, vsw_flow_key_hash(&k));
	assert_int_equal(k.in_port, 3);
	assert_memory_equal(k.dl_dst, dst, 6);
	assert_memory_equal(k.dl_src, src, 6);
	assert_int_equal(k.vlan_tci, 0x6000 | 100 | VSW_FLOW_TCI_PRESENT);
	assert_int_equal(k.dl_type, 0x0800);
	assert_int_equal(k.nw_proto, 6);
	assert_int_equal(k.nw_tos, 0xb8); /* ECN bits dropped */
	assert_memory_equal(k.nw_src, ips, 4);
	assert_memory_equal(k.nw_dst, ipd, 4);
	assert_int_equal(k.tp_src, 40000);
	assert_int_equal(k.tp_dst, 80);
	/* unused bytes are zero, so equal packets give equal keys */
	assert_int_equal(k.nw_src[4] | k.nw_dst[15], 0);
	vsw_flow_key_extract(f.b, f.n, 3, &k2);
	assert_memory_equal(&k, &k2, sizeof(k));
	vsw_flow_key_extract(f.b, f.n, 4, &k2);
	assert_int_not_equal(vsw_flow_key_hash(&k), vsw_flow_key_hash(&k2));

	rd_spec("priority=100,tcp,dl_vlan=100,dl_vlan_pcp=3,"
		"nw_dst=10.0.0.0/24,tp_dst=80,actions=drop",
		&s);
	assert_true(vsw_flow_match_key(&s.match, &k));
	k2 = k;
	k2.tp_dst = 81;
	assert_false(vsw_flow_match_key(&s.match, &k2));
	vsw_flow_spec_fini(&s);
	rd_spec("dl_vlan=0xffff,actions=drop", &s);
	assert_false(vsw_flow_match_key(&s.match, &k));
	vsw_flow_spec_fini(&s);

	/* the same frame untagged */
	fb_eth(&f, "52:54:00:00:00:02", "52:54:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 6, 20, "192.168.0.1", "10.0.0.5", 0, 0);
	fb_l4(&f, 14, 6, 40000, 80, 0);
	vsw_flow_key_extract(f.b, f.n, 3, &k);
	assert_int_equal(k.vlan_tci, 0);
	assert_int_equal(k.tp_dst, 80);
	rd_spec("dl_vlan=0xffff,actions=drop", &s);
	assert_true(vsw_flow_match_key(&s.match, &k));
	vsw_flow_spec_fini(&s);
	/* truncated TCP header: no ports, the rest is there */
	vsw_flow_key_extract(f.b, 14 + 20 + 3, 3, &k);
	assert_int_equal(k.nw_proto, 6);
	assert_int_equal(k.tp_src, 0);
	assert_int_equal(k.tp_dst, 0);
}

static void test_key_udp_icmp_frag(void **state)
{
	struct vsw_flow_key k;
	struct fb f;
	uint8_t icmp[8] = {8, 0};

	(void)state;
	fb_eth(&f, "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 17, 8 + 10, "0.0.0.0", "255.255.255.255", 0, 0);
	fb_l4(&f, 14, 17, 68, 67, 10);
	vsw_flow_key_extract(f.b, f.n, 1, &k);
	assert_int_equal(k.nw_proto, 17);
	assert_int_equal(k.tp_src, 68);
	assert_int_equal(k.tp_dst, 67);

	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 1, 8, "10.0.0.1", "10.0.0.2", 0, 0);
	icmp[0] = 3;
	icmp[1] = 4;
	fb_put(&f, icmp, 8);
	vsw_flow_key_extract(f.b, f.n, 1, &k);
	assert_int_equal(k.nw_proto, 1);
	assert_int_equal(k.tp_src, 3); /* type */
	assert_int_equal(k.tp_dst, 4); /* code */

	/* non-first fragment: no L4 fields */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 17, 16, "10.0.0.1", "10.0.0.2", 0, 0x0010);
	fb_l4(&f, 14, 17, 1000, 2000, 8);
	vsw_flow_key_extract(f.b, f.n, 1, &k);
	assert_int_equal(k.nw_proto, 17);
	assert_int_equal(k.tp_src, 0);
	assert_int_equal(k.tp_dst, 0);
	/* first fragment (MF set, offset 0): ports present */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 17, 16, "10.0.0.1", "10.0.0.2", 0, 0x2000);
	fb_l4(&f, 14, 17, 1000, 2000, 8);
	vsw_flow_key_extract(f.b, f.n, 1, &k);
	assert_int_equal(k.tp_src, 1000);

	/* IPv4 options (ihl 6) shift the L4 header */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 17, 8, "10.0.0.1", "10.0.0.2", 0, 0);
	f.b[14] = 0x46;
	memset(f.b + f.n, 1, 4); /* NOP options */
	f.n += 4;
	fb_l4(&f, 14, 17, 7, 9, 0);
	vsw_flow_key_extract(f.b, f.n, 1, &k);
	assert_int_equal(k.tp_src, 7);
	assert_int_equal(k.tp_dst, 9);
}

static void test_key_ipv6(void **state)
{
	struct vsw_flow_key k;
	struct vsw_flow_spec s;
	struct fb f;
	uint8_t h[40] = {0x6b, 0x80}, hbh[8] = {6, 0, 1, 4}, tcp[20] = {0};
	uint8_t a6[16];

	(void)state;
	/* traffic class 0xb8 (DSCP 46) */
	h[4] = 0;
	h[5] = 28;
	h[6] = 0; /* hop-by-hop */
	h[7] = 64;
	inet_pton(AF_INET6, "2001:db8::1", h + 8);
	inet_pton(AF_INET6, "2001:db8:1::2", h + 24);
	tcp[0] = 0x1f;
	tcp[1] = 0x90; /* 8080 */
	tcp[3] = 22;
	fb_eth(&f, "33:33:00:00:00:01", "02:00:00:00:00:01", 7, 0x86dd);
	fb_put(&f, h, 40);
	fb_put(&f, hbh, 8);
	fb_put(&f, tcp, 20);
	vsw_flow_key_extract(f.b, f.n, 2, &k);
	assert_int_equal(k.dl_type, 0x86dd);
	assert_int_equal(k.vlan_tci, 7 | VSW_FLOW_TCI_PRESENT);
	assert_int_equal(k.nw_tos, 0xb8);
	assert_int_equal(k.nw_proto, 6);
	inet_pton(AF_INET6, "2001:db8::1", a6);
	assert_memory_equal(k.nw_src, a6, 16);
	inet_pton(AF_INET6, "2001:db8:1::2", a6);
	assert_memory_equal(k.nw_dst, a6, 16);
	assert_int_equal(k.tp_src, 8080);
	assert_int_equal(k.tp_dst, 22);
	rd_spec("tcp6,ipv6_dst=2001:db8:1::/48,tp_dst=22,actions=drop", &s);
	assert_true(vsw_flow_match_key(&s.match, &k));
	vsw_flow_spec_fini(&s);
	rd_spec("tcp6,ipv6_dst=2001:db8:2::/48,actions=drop", &s);
	assert_false(vsw_flow_match_key(&s.match, &k));
	vsw_flow_spec_fini(&s);

	/* ICMPv6 neighbour solicitation, no extension header */
	h[6] = 58;
	fb_eth(&f, "33:33:00:00:00:01", "02:00:00:00:00:01", -1, 0x86dd);
	fb_put(&f, h, 40);
	tcp[0] = 135;
	tcp[1] = 0;
	fb_put(&f, tcp, 8);
	vsw_flow_key_extract(f.b, f.n, 2, &k);
	assert_int_equal(k.nw_proto, 58);
	assert_int_equal(k.tp_src, 135);
	assert_int_equal(k.tp_dst, 0);
	rd_spec("icmp6,icmp_type=135,actions=drop", &s);
	assert_true(vsw_flow_match_key(&s.match, &k));
	vsw_flow_spec_fini(&s);
	/* truncated IPv6 header: L3 left empty */
	vsw_flow_key_extract(f.b, 14 + 39, 2, &k);
	assert_int_equal(k.dl_type, 0x86dd);
	assert_int_equal(k.nw_proto, 0);
	assert_int_equal(k.nw_src[0], 0);
}

static void test_key_arp_l2(void **state)
{
	struct vsw_flow_key k;
	struct vsw_flow_spec s;
	struct fb f;
	uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 2};
	static const uint8_t spa[4] = {192, 168, 1, 1};

	(void)state;
	memcpy(arp + 14, spa, 4);
	inet_pton(AF_INET, "192.168.1.77", arp + 24);
	fb_eth(&f, "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", -1, 0x0806);
	fb_put(&f, arp, 28);
	vsw_flow_key_extract(f.b, f.n, 9, &k);
	assert_int_equal(k.dl_type, 0x0806);
	assert_int_equal(k.nw_proto, 2); /* reply */
	assert_memory_equal(k.nw_src, spa, 4);
	rd_spec("arp,arp_op=2,arp_tpa=192.168.1.0/24,in_port=9,"
		"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop",
		&s);
	assert_true(vsw_flow_match_key(&s.match, &k));
	vsw_flow_spec_fini(&s);
	/* not Ethernet / IPv4 ARP: L3 fields stay empty */
	arp[5] = 16;
	fb_eth(&f, "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", -1, 0x0806);
	fb_put(&f, arp, 28);
	vsw_flow_key_extract(f.b, f.n, 9, &k);
	assert_int_equal(k.nw_proto, 0);
	assert_int_equal(k.nw_src[0], 0);

	/* 802.3 length field */
	fb_eth(&f, "01:80:c2:00:00:00", "02:00:00:00:00:01", -1, 38);
	memset(f.b + f.n, 0x42, 38);
	f.n += 38;
	vsw_flow_key_extract(f.b, f.n, 1, &k);
	assert_int_equal(k.dl_type, 0x05ff);
	/* runts */
	vsw_flow_key_extract(f.b, 13, 1, &k);
	assert_int_equal(k.in_port, 1);
	assert_int_equal(k.dl_type, 0);
	assert_int_equal(k.dl_dst[0], 0);
	fb_eth(&f, "01:80:c2:00:00:00", "02:00:00:00:00:01", 5, 0x0800);
	vsw_flow_key_extract(f.b, 17, 1, &k);
	assert_int_equal(k.vlan_tci, 0);
	assert_int_equal(k.dl_dst[0], 0x01);
}

/* ---- packet edits ---- */

static struct vsw_pkt *mkpkt(struct vsw_pkt_pool *pool, const struct fb *f)
{
	struct vsw_pkt *p;

	assert_int_equal(vsw_pkt_alloc_burst(pool, &p, 1), 1);
	memcpy(vsw_pkt_append(p, f->n), f->b, f->n);
	return p;
}

static void edit(struct vsw_pkt *p, const char *acts_str)
{
	struct vsw_flow_spec s;
	char buf[256];
	unsigned i;

	snprintf(buf, sizeof(buf), "ip,actions=%s", acts_str);
	rd_spec(buf, &s);
	for (i = 0; i < s.actions->n; i++)
		assert_int_equal(vsw_flow_act_edit(p, &s.actions->a[i]), 0);
	vsw_flow_spec_fini(&s);
}

static void test_edit_vlan(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 8};
	struct vsw_pkt_pool *pool;
	struct vsw_pkt *p;
	struct vsw_flow_act strip = {.type = VSW_FLOW_ACT_STRIP_VLAN};
	struct vsw_flow_act out = {.type = VSW_FLOW_ACT_OUTPUT, .arg = 1};
	struct fb f, g;
	uint8_t *d;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 17, 8, "10.0.0.1", "10.0.0.2", 0, 0);
	fb_l4(&f, 14, 17, 1, 2, 0);

	/* push with mod_vlan_vid on an untagged frame (PCP 0) */
	p = mkpkt(pool, &f);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = 34;
	edit(p, "mod_vlan_vid:100");
	assert_int_equal(p->len, f.n + 4);
	assert_int_equal(p->vnet.csum_start, 38);
	fb_eth(&g, "02:00:00:00:00:02", "02:00:00:00:00:01", 100, 0x0800);
	memcpy(g.b + 18, f.b + 14, f.n - 14);
	assert_memory_equal(vsw_pkt_data(p), g.b, f.n + 4);
	/* modify the VID: PCP kept; then the PCP: VID kept */
	d = vsw_pkt_data(p);
	d[14] |= 0xa0;
	edit(p, "mod_vlan_vid:4095");
	assert_int_equal(d[14], 0xaf);
	assert_int_equal(d[15], 0xff);
	edit(p, "mod_vlan_pcp:1");
	assert_int_equal(d[14], 0x2f);
	assert_int_equal(d[15], 0xff);
	assert_int_equal(p->len, f.n + 4);
	/* pop: back to the original bytes and offsets */
	assert_int_equal(vsw_flow_act_edit(p, &strip), 0);
	assert_int_equal(p->len, f.n);
	assert_int_equal(p->vnet.csum_start, 34);
	assert_memory_equal(vsw_pkt_data(p), f.b, f.n);
	/* strip on an untagged frame: nothing */
	assert_int_equal(vsw_flow_act_edit(p, &strip), 0);
	assert_memory_equal(vsw_pkt_data(p), f.b, f.n);
	/* mod_vlan_pcp pushes a tag with VID 0 */
	edit(p, "mod_vlan_pcp:5");
	d = vsw_pkt_data(p);
	assert_int_equal(p->len, f.n + 4);
	assert_int_equal(d[12], 0x81);
	assert_int_equal(d[14], 0xa0);
	assert_int_equal(d[15], 0);
	/* not an edit */
	assert_int_equal(vsw_flow_act_edit(p, &out), -EINVAL);
	vsw_pkt_free(p);

	/* no headroom: -ENOSPC and the frame unchanged */
	p = mkpkt(pool, &f);
	d = vsw_pkt_data(p);
	vsw_pkt_prepend(p, p->off);
	memmove(vsw_pkt_data(p), d, f.n);
	p->len = f.n;
	{
		struct vsw_flow_act vid = {.type = VSW_FLOW_ACT_SET_VLAN_VID,
					   .arg = 5};

		assert_int_equal(vsw_flow_act_edit(p, &vid), -ENOSPC);
	}
	assert_int_equal(p->len, f.n);
	assert_memory_equal(vsw_pkt_data(p), f.b, f.n);
	vsw_pkt_free(p);
	vsw_pkt_pool_destroy(pool);
}

static void check_ip_csums(const uint8_t *ip, bool udp_zero_ok)
{
	unsigned ihl = (ip[0] & 0xfu) * 4u, tot = (unsigned)ip[2] << 8 | ip[3];
	unsigned l4len = tot - ihl;
	const uint8_t *l4 = ip + ihl;

	assert_int_equal(csum(ip, ihl, 0), 0xffff);
	if (ip[9] == 17 && l4[6] == 0 && l4[7] == 0) {
		assert_true(udp_zero_ok);
		return;
	}
	assert_int_equal(csum(l4, l4len, pseudo4(ip, l4len)), 0xffff);
}

/* A small UDP frame (10.0.0.1:1 -> 10.0.0.2:2), the tunnel tests' payload. */
static void fb_udp_small(struct fb *f)
{
	fb_eth(f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(f, 17, 20 + 8, "10.0.0.1", "10.0.0.2", 0, 0);
	fb_l4(f, 14 + 20, 17, 1, 2, 8);
}

/*
 * Tunnel metadata: set_field edits write the packet's metadata (and only
 * set the flag then), the key picks it up; a packet without the flag
 * leaves the key's tunnel words zero.
 */
static void test_tun_metadata(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 4};
	struct vsw_pkt_pool *pool;
	struct vsw_pkt *p;
	struct vsw_flow_key k0, k1;
	const struct vsw_pkt_tun *t;
	struct fb f;
	static const uint8_t dst[4] = {192, 0, 2, 2};
	uint32_t h0;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	fb_udp_small(&f);
	p = mkpkt(pool, &f);
	assert_int_equal(p->flags & VSW_PKT_F_TUN, 0);
	h0 = vsw_flow_key_extract(vsw_pkt_data(p), p->len, 1, &k0);
	vsw_flow_key_tun(p, &k0);
	assert_int_equal(vsw_flow_key_hash(&k0), h0);
	assert_true(k0.tun_id == 0 && k0.tun_ext_token == 0 &&
		    k0.tun_ext == NULL);

	edit(p, "set_field:192.0.2.2->tun_dst,set_tunnel:42,"
		"set_field:0x1234->tun_metadata1");
	assert_int_not_equal(p->flags & VSW_PKT_F_TUN, 0);
	t = vsw_pkt_tun_md(p);
	assert_int_equal(t->id, 42);
	assert_memory_equal(t->dst, dst, 4);
	assert_int_equal(t->meta_set, 2);
	/* the frame itself is untouched */
	assert_memory_equal(vsw_pkt_data(p), f.b, f.n);
	vsw_flow_key_parse(vsw_pkt_data(p), p->len, 1, &k1);
	vsw_flow_key_tun(p, &k1);
	assert_int_equal(k1.tun_id, 42);
	assert_memory_equal(k1.tun_dst, dst, 4);
	assert_ptr_equal(k1.tun_ext, &t->ext);
	assert_int_not_equal(k1.tun_ext_token, 0);
	assert_int_equal(k1.tun_ext->meta[1], 0x1234);
	assert_int_equal(k1.tun_ext->meta[0], 0);
	assert_false(vsw_flow_key_eq(&k0, &k1));
	assert_int_not_equal(vsw_flow_key_hash(&k1), h0);
	/* a rule on tun_id matches the key with it, not the one without */
	{
		struct vsw_flow_spec s;

		rd_spec("tun_id=42,tun_dst=192.0.2.2,actions=drop", &s);
		assert_true(vsw_flow_match_key(&s.match, &k1));
		assert_false(vsw_flow_match_key(&s.match, &k0));
		vsw_flow_spec_fini(&s);
	}
	/* no room in front of the frame: refused, nothing written */
	vsw_pkt_free(p);
	p = mkpkt(pool, &f);
	p->off = VSW_PKT_TUN_ROOM - 1;
	{
		struct vsw_flow_spec s;

		rd_spec("actions=set_tunnel:1", &s);
		assert_int_equal(vsw_flow_act_edit(p, &s.actions->a[0]),
				 -ENOSPC);
		assert_int_equal(p->flags & VSW_PKT_F_TUN, 0);
		vsw_flow_spec_fini(&s);
	}
	vsw_pkt_free(p);
	vsw_pkt_pool_destroy(pool);
}

/*
 * The tunnel extension: set_field of tun_ipv6_* and an 8-byte
 * tun_metadata goes to the packet's extension; the key gets a token and a
 * pointer; matches compare the extension itself (prefixes, masks), and
 * keys equal but for the extension differ by token, or at least by
 * vsw_flow_key_eq_ext().
 */
static void test_tun_ext(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 4};
	struct vsw_pkt_pool *pool;
	struct vsw_pkt *p, *q;
	struct vsw_flow_key k1, k2;
	struct vsw_flow_spec s;
	const struct vsw_pkt_tun *t;
	struct fb f;
	static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	char buf[256];

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);
	fb_udp_small(&f);
	p = mkpkt(pool, &f);
	q = mkpkt(pool, &f);
	edit(p, "set_field:2001:db8::2->tun_ipv6_dst,"
		"set_field:fd00::1->tun_ipv6_src,"
		"set_field:0x1122334455667788->tun_metadata7");
	t = vsw_pkt_tun_md(p);
	assert_memory_equal(t->ext.ipv6_dst, d6, 16);
	assert_true(t->ext.meta[7] == 0x1122334455667788ULL);
	assert_int_equal(t->meta_set, 0x80);
	assert_memory_equal(vsw_pkt_data(p), f.b, f.n);
	vsw_flow_key_parse(vsw_pkt_data(p), p->len, 1, &k1);
	vsw_flow_key_tun(p, &k1);
	assert_ptr_equal(k1.tun_ext, &t->ext);
	assert_int_not_equal(k1.tun_ext_token, 0);

	rd_spec("tun_ipv6_dst=2001:db8::/32,tun_metadata7=0x55660000/"
		"0xffff0000,actions=drop",
		&s);
	assert_true(vsw_flow_match_key(&s.match, &k1));
	vsw_flow_spec_fini(&s);
	rd_spec("tun_ipv6_dst=2001:db9::/32,actions=drop", &s);
	assert_false(vsw_flow_match_key(&s.match, &k1));
	vsw_flow_spec_fini(&s);
	rd_spec("tun_metadata7=0x1122334455667789,actions=drop", &s);
	assert_false(vsw_flow_match_key(&s.match, &k1));
	vsw_flow_spec_fini(&s);
	rd_spec("tun_ipv6_src=fd00::1,tun_metadata0=0,actions=drop", &s);
	assert_true(vsw_flow_match_key(&s.match, &k1));
	vsw_flow_spec_fini(&s);

	/* the same metadata on another packet: the same token */
	edit(q, "set_field:2001:db8::2->tun_ipv6_dst,"
		"set_field:fd00::1->tun_ipv6_src,"
		"set_field:0x1122334455667788->tun_metadata7");
	vsw_flow_key_parse(vsw_pkt_data(q), q->len, 1, &k2);
	vsw_flow_key_tun(q, &k2);
	assert_true(k2.tun_ext != k1.tun_ext);
	assert_true(vsw_flow_key_eq(&k1, &k2));
	assert_true(vsw_flow_key_eq_ext(&k1, &k2));
	assert_int_equal(vsw_flow_key_hash(&k1), vsw_flow_key_hash(&k2));
	/* one bit of the extension differs: another token */
	edit(q, "set_field:0x1122334455667789->tun_metadata7");
	vsw_flow_key_parse(vsw_pkt_data(q), q->len, 1, &k2);
	vsw_flow_key_tun(q, &k2);
	assert_false(vsw_flow_key_eq(&k1, &k2));
	/* a forged equal token: the extensions still tell them apart */
	k2.tun_ext_token = k1.tun_ext_token;
	assert_true(vsw_flow_key_eq(&k1, &k2));
	assert_false(vsw_flow_key_eq_ext(&k1, &k2));

	/* a value up to 8 bytes set, printed back as given */
	rd_spec("actions=set_field:0xffffffffffffffff->tun_metadata3", &s);
	assert_true(vsw_flow_format_actions(s.actions, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
			    "set_field:0xffffffffffffffff->tun_metadata3");
	vsw_flow_spec_fini(&s);
	vsw_pkt_free(p);
	vsw_pkt_free(q);
	vsw_pkt_pool_destroy(pool);
}

static void test_edit_mac_ip(void **state)
{
	struct vsw_pkt_pool_config pc = {.n_small = 8};
	struct vsw_pkt_pool *pool;
	struct vsw_pkt *p;
	struct fb f;
	uint8_t *d;
	static const uint8_t mac_s[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t mac_d[6] = {0, 0, 0, 0, 0, 1};
	static const uint8_t n1[4] = {1, 2, 3, 4}, n2[4] = {172, 16, 255, 9};
	unsigned i;

	(void)state;
	assert_int_equal(vsw_pkt_pool_create(&pc, &pool), 0);

	/* TCP, tagged: MACs, then both addresses; checksums stay valid */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", 9, 0x0800);
	fb_ip4(&f, 6, 20 + 33, "10.0.0.1", "10.0.0.2", 0, 0);
	fb_l4(&f, 18, 6, 1234, 80, 33);
	p = mkpkt(pool, &f);
	edit(p, "mod_dl_src:aa:bb:cc:dd:ee:ff,mod_dl_dst:00:00:00:00:00:01");
	d = vsw_pkt_data(p);
	assert_memory_equal(d, mac_d, 6);
	assert_memory_equal(d + 6, mac_s, 6);
	assert_memory_equal(d + 12, f.b + 12, f.n - 12);
	edit(p, "mod_nw_src:1.2.3.4,mod_nw_dst:172.16.255.9");
	assert_memory_equal(d + 18 + 12, n1, 4);
	assert_memory_equal(d + 18 + 16, n2, 4);
	check_ip_csums(d + 18, false);
	/* and back */
	edit(p, "mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2");
	assert_memory_equal(d + 18, f.b + 18, f.n - 18);
	vsw_pkt_free(p);

	/* UDP with a checksum: fixed; many addresses, each checked */
	for (i = 0; i < 200; i++) {
		char a[32];

		fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1,
		       0x0800);
		fb_ip4(&f, 17, 8 + i % 17, "192.168.7.3", "10.9.8.7", 0, 0);
		fb_l4(&f, 14, 17, (uint16_t)(i * 131), 53, i % 17);
		p = mkpkt(pool, &f);
		snprintf(a, sizeof(a), "mod_nw_dst:%u.%u.%u.%u", i, i * 7 % 256,
			 255 - i, i * 13 % 256);
		edit(p, a);
		check_ip_csums(vsw_pkt_data(p) + 14, false);
		vsw_pkt_free(p);
	}

	/* UDP without a checksum (0): stays 0, IP checksum fixed */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 17, 8, "10.0.0.1", "10.0.0.2", 0, 0);
	fb_l4(&f, 14, 17, 5, 6, 0);
	f.b[14 + 20 + 6] = 0;
	f.b[14 + 20 + 7] = 0;
	p = mkpkt(pool, &f);
	edit(p, "mod_nw_src:8.8.8.8");
	d = vsw_pkt_data(p);
	assert_int_equal(d[40] | d[41], 0);
	check_ip_csums(d + 14, true);
	vsw_pkt_free(p);

	/* NEEDS_CSUM: the L4 field is the pseudo-header sum, kept so */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 6, 20 + 100, "10.0.0.1", "10.0.0.2", 0, 0);
	fb_l4(&f, 14, 6, 1, 2, 100);
	{
		uint16_t ps = csum(NULL, 0, pseudo4(f.b + 14, 120));

		f.b[14 + 20 + 16] = (uint8_t)(ps >> 8);
		f.b[14 + 20 + 17] = (uint8_t)ps;
	}
	p = mkpkt(pool, &f);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = 34;
	p->vnet.csum_offset = 16;
	edit(p, "mod_nw_src:100.64.0.1");
	d = vsw_pkt_data(p);
	{
		uint16_t want = csum(NULL, 0, pseudo4(d + 14, 120));

		assert_int_equal((unsigned)d[50] << 8 | d[51], want);
	}
	assert_int_equal(csum(d + 14, 20, 0), 0xffff);
	vsw_pkt_free(p);

	/* non-first fragment: IP checksum only, payload untouched */
	fb_eth(&f, "02:00:00:00:00:02", "02:00:00:00:00:01", -1, 0x0800);
	fb_ip4(&f, 6, 20, "10.0.0.1", "10.0.0.2", 0, 0x0005);
	fb_l4(&f, 14, 6, 1, 2, 0);
	p = mkpkt(pool, &f);
	edit(p, "mod_nw_dst:1.1.1.1");
	d = vsw_pkt_data(p);
	assert_int_equal(csum(d + 14, 20, 0), 0xffff);
	assert_memory_equal(d + 34, f.b + 34, 20);
	vsw_pkt_free(p);

	/* ARP frame: mod_nw_* leaves it alone */
	fb_eth(&f, "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", -1, 0x0806);
	memset(f.b + f.n, 0x11, 28);
	f.n += 28;
	p = mkpkt(pool, &f);
	edit(p, "mod_nw_dst:1.1.1.1");
	assert_memory_equal(vsw_pkt_data(p), f.b, f.n);
	vsw_pkt_free(p);
	vsw_pkt_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_key_tcp_vlan),
		cmocka_unit_test(test_key_udp_icmp_frag),
		cmocka_unit_test(test_key_ipv6),
		cmocka_unit_test(test_key_arp_l2),
		cmocka_unit_test(test_edit_vlan),
		cmocka_unit_test(test_edit_mac_ip),
		cmocka_unit_test(test_tun_metadata),
		cmocka_unit_test(test_tun_ext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
