#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerate the seed corpora of the byte-format fuzz targets.

Usage: gen_corpus.py [TARGET ...]   (default: all of them)

Writes corpus/<target>/seed_* next to this file (found_* files, inputs a
fuzzing run added with -merge=1, are left alone). The formats are
documented at the top of each fuzz_<target>.c; the constants here must
follow those files. corpus/virtq_dev comes from gen_seeds.py and
corpus/config from gen_config_seeds.c.
"""
import os
import itertools
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


# --- frames ------------------------------------------------------------------
MAC_A = bytes.fromhex('020000000001')
MAC_B = bytes.fromhex('020000000002')


def eth(et, vlans=()):
    h = MAC_B + MAC_A
    for tpid, tci in vlans:
        h += struct.pack('!HH', tpid, tci)
    return h + struct.pack('!H', et)


def ipv4(proto, payload, frag=0, opts=b''):
    ihl = 5 + len(opts) // 4
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, 20 + len(opts) +
                    len(payload), 0x1234, frag, 64, proto, 0,
                    bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + opts
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def ipv6(nh, payload):
    return struct.pack('!IHBB16s16s', 0x60000000, len(payload), nh, 64,
                       bytes(15) + b'\1', bytes(15) + b'\2') + payload


def tcp(payload=b'', flags=0x18):
    return struct.pack('!HHIIBBHHH', 1234, 80, 1000, 0, 5 << 4, flags,
                       65535, 0, 0) + payload


def udp(payload=b''):
    return struct.pack('!HHHH', 5353, 53, 8 + len(payload), 0) + payload


def arp():
    return struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, MAC_A,
                       bytes([10, 0, 0, 1]), bytes(6), bytes([10, 0, 0, 2]))


F_NEEDS_CSUM = 1
GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_UDP_L4, GSO_ECN = 1, 3, 4, 5, 0x80
ACT_SET_VLAN_VID, ACT_SET_VLAN_PCP, ACT_STRIP_VLAN = 5, 6, 7
ACT_SET_DL_SRC, ACT_SET_DL_DST, ACT_SET_NW_SRC, ACT_SET_NW_DST = 8, 9, 10, 11


def pkt_seed(frame, flags=0, gso=0, gso_size=0, cstart=0, coff=0, acts=()):
    hdr = struct.pack('<BBHHHHBB', flags, gso, 0, gso_size, cstart, coff, 1,
                      len(acts))
    # type, arg low byte, then 6 bytes: arg high byte and a MAC / IPv4
    # address share the first (as fuzz_pkt.c reads them)
    tail = b''.join(struct.pack('<BB6s', t, arg & 0xff, extra or
                                bytes([arg >> 8]))
                    for t, arg, extra in acts)
    return hdr + frame + tail


def pkt_seeds():
    big = bytes(range(256)) * 12
    e4, e6 = eth(0x0800), eth(0x86dd)
    l4v4 = 14 + 20
    yield 'eth_only', pkt_seed(eth(0x88b5) + b'hello')
    yield 'arp', pkt_seed(eth(0x0806) + arp())
    yield 'tcp4', pkt_seed(e4 + ipv4(6, tcp(b'data')))
    yield 'udp4', pkt_seed(e4 + ipv4(17, udp(b'data')))
    yield 'icmp4', pkt_seed(e4 + ipv4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1])))
    yield 'frag4', pkt_seed(e4 + ipv4(17, udp(b'x' * 16), frag=0x2000))
    yield 'frag4_later', pkt_seed(e4 + ipv4(17, b'x' * 16, frag=0x0010))
    yield 'opts4', pkt_seed(e4 + ipv4(6, tcp(), opts=b'\x01\x01\x01\x00'))
    yield 'tcp6', pkt_seed(e6 + ipv6(6, tcp(b'data')))
    yield 'udp6', pkt_seed(e6 + ipv6(17, udp(b'data')))
    yield 'icmp6', pkt_seed(e6 + ipv6(58, bytes([128, 0, 0, 0, 0, 1, 0, 1])))
    yield 'vlan', pkt_seed(eth(0x0800, [(0x8100, 0x2005)]) +
                           ipv4(17, udp(b'v')))
    yield 'qinq', pkt_seed(eth(0x0800, [(0x88a8, 100), (0x8100, 200)]) +
                           ipv4(6, tcp(b'q')))
    yield 'csum_tcp4', pkt_seed(e4 + ipv4(6, tcp(b'payload')), F_NEEDS_CSUM,
                                cstart=l4v4, coff=16)
    yield 'csum_udp6', pkt_seed(e6 + ipv6(17, udp(b'payload')),
                                F_NEEDS_CSUM, cstart=54, coff=6)
    yield 'csum_outside', pkt_seed(e4 + ipv4(17, udp()), F_NEEDS_CSUM,
                                   cstart=40, coff=6)
    yield 'tso4', pkt_seed(e4 + ipv4(6, tcp(big, 0x19)), F_NEEDS_CSUM,
                           GSO_TCPV4, 1448, l4v4, 16)
    yield 'tso4_ecn', pkt_seed(e4 + ipv4(6, tcp(big, 0x98)), F_NEEDS_CSUM,
                               GSO_TCPV4 | GSO_ECN, 536, l4v4, 16)
    yield 'tso6', pkt_seed(e6 + ipv6(6, tcp(big)), F_NEEDS_CSUM, GSO_TCPV6,
                           1000, 54, 16)
    yield 'uso4', pkt_seed(e4 + ipv4(17, udp(big)), F_NEEDS_CSUM,
                           GSO_UDP_L4, 1200, l4v4, 6)
    yield 'uso6_vlan', pkt_seed(eth(0x86dd, [(0x8100, 7)]) +
                                ipv6(17, udp(big)), 0, GSO_UDP_L4, 777)
    yield 'tso_small_mss', pkt_seed(e4 + ipv4(6, tcp(b'z' * 100)), 0,
                                    GSO_TCPV4, 1)
    yield 'edit_vlan', pkt_seed(e4 + ipv4(6, tcp(b'e')), acts=[
        (ACT_SET_VLAN_VID, 10, b''), (ACT_SET_VLAN_PCP, 3, b''),
        (ACT_STRIP_VLAN, 0, b'')])
    yield 'edit_nw', pkt_seed(e4 + ipv4(6, tcp(b'e')), F_NEEDS_CSUM,
                              cstart=l4v4, coff=16, acts=[
        (ACT_SET_NW_SRC, 0, bytes([192, 168, 0, 1])),
        (ACT_SET_NW_DST, 0, bytes([192, 168, 0, 2]))])
    yield 'edit_udp0', pkt_seed(e4 + ipv4(17, udp(b'e')), acts=[
        (ACT_SET_NW_DST, 0, bytes([1, 2, 3, 4])),
        (ACT_SET_DL_SRC, 0, MAC_B), (ACT_SET_DL_DST, 0, MAC_A)])


# --- flow files --------------------------------------------------------------
FLOWS = [
    'priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=output:2',
    'in_port=p1 actions=mod_vlan_vid:10,output:p2',
    'dl_vlan=5,dl_vlan_pcp=3 actions=strip_vlan,NORMAL',
    'udp6,ipv6_src=2001:db8::/32,udp_dst=53 actions=drop',
    'arp,arp_op=1,arp_tpa=10.0.0.1 actions=FLOOD',
    'icmp,icmp_type=8,icmp_code=0 actions=ALL',
    'dl_src=02:00:00:00:00:01/ff:ff:ff:00:00:00 actions=in_port',
    'ip,nw_tos=16,nw_proto=17 actions=mod_nw_src:1.2.3.4,mod_dl_dst:'
    '02:00:00:00:00:02,local',
    'cookie=0x10,idle_timeout=5,hard_timeout=10,priority=7,'
    'dl_type=0x0800 actions=output:1,output:3',
    'sctp,sctp_src=9 actions=mod_nw_dst:10.1.1.1,output:4',
    'vlan_tci=0x1005/0x1fff,tcp6,tcp_src=22 actions=mod_vlan_pcp:7,normal',
    'eth_type=0x86dd,icmp6,icmpv6_type=135 actions=output:p9',
    'out_port=2',
    'table=0,priority=0 actions=NORMAL',
    'ip,ip_src=10.0.0.1,ip_dst=10.0.0.0/8,ip_proto=6 actions=mod_dl_src:'
    '02:00:00:00:00:09,output:2',
]


def flow_seeds():
    for i, f in enumerate(FLOWS):
        # the line number picks the mode: pad so each rule lands on each
        yield 'rule%02d' % i, (f + '\n').encode()
        yield 'rule%02d_mod' % i, ('\n' + f + '\n').encode()
        yield 'rule%02d_del' % i, ('# comment\n\n' + f + '\r\n').encode()
    yield 'file', ('# a flow file\n' + '\n'.join(FLOWS) +
                   '\n  \t\n').encode()
    yield 'bad', b'priority=70000 actions=drop\ntcp,tp_dst=99999\n' \
        b'tp_dst=80 actions=drop\nactions=drop,output:1\nfoo=bar\n'
    yield 'bad_utf8', b'actions=drop\n\xff\xfe\n'
    # tables, goto_table, flags, cookie masks
    yield 'tables', (b'table=3,priority=5,udp,actions=goto_table:9\n'
                     b'priority=7,actions=output:1,goto_table:3\n'
                     b'table=3,cookie=0x10/0xf0\n'
                     b'check_overlap,table=3,priority=5,ip,actions=drop\n'
                     b'send_flow_rem,hard_timeout=1,actions=drop\n'
                     b'reset_counts,table=9,actions=goto_table:2\n'
                     b'table=254,actions=goto_table:254\n')
    # the tunnel extension: IPv6 outer addresses, tun_metadata0 .. 7
    yield 'tun_ext', (b'tun_ipv6_dst=2001:db8::/64,tun_ipv6_src=fd00::1,'
                      b'tun_metadata7=0x1122334455667788/0xffff,'
                      b'actions=set_field:fd00::2->tun_ipv6_dst,'
                      b'set_field:0xffffffffffffffff->tun_metadata0,'
                      b'output:1\n'
                      b'tun_metadata8=1,actions=drop\n'
                      b'tun_metadata0=0x10000000000000000,actions=drop\n')


# --- JSON-RPC streams --------------------------------------------------------
def rpc_seeds():
    reqs = [
        b'{"jsonrpc":"2.0","method":"show","id":1}',
        b'{"jsonrpc":"2.0","method":"port.add","params":{"bridge":"br0",'
        b'"port":"p1","type":"dummy"},"id":"a"}',
        b'{"jsonrpc":"2.0","method":"x","id":null}',
        b'{"jsonrpc":"2.0","method":"notify"}',
        b'{"jsonrpc":"2.0","method":"m","params":[1,2],"id":2}',
        b'{"jsonrpc":"1.0","method":"m","id":3}',
        b'{"jsonrpc":"2.0","method":"m","id":1.5}',
        b'{"jsonrpc":"2.0","method":"m","extra":1,"id":4}',
        b'{"jsonrpc":"2.0","method":"m\\u0000x","id":5}',
        b'{"jsonrpc":"2.0","result":{"a":1},"id":1}',
        b'{"jsonrpc":"2.0","error":{"code":-32000,"message":"no",'
        b'"data":{"errno":2}},"id":1}',
        b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"},'
        b'"id":null}',
        b'[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0",'
        b'"method":"b","id":2}]',
        b'{"a":1,"a":2}',
        b'{"jsonrpc":"2.0",',
    ]
    for i, r in enumerate(reqs):
        yield 'msg%02d' % i, bytes([0xf, 0]) + r + b'\n'
    yield 'stream_chunked', bytes([0xf, 7]) + b'\n'.join(reqs) + b'\n'
    yield 'crlf_blank', bytes([0xf, 3]) + b'\r\n  \n' + reqs[0] + b'\r\n'
    yield 'too_long', bytes([0x2, 1]) + reqs[1] + b'\n' + reqs[0] + b'\n'
    yield 'tail_too_long', bytes([0x3, 0]) + reqs[0] + b'\n' + b'x' * 200


# --- vhost-user back end: message sequences ----------------------------------
(GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE) = range(1, 6)
(SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE,
 SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR, GET_PROTOCOL_FEATURES,
 SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE, SEND_RARP,
 NET_SET_MTU) = range(8, 21)
RESET_DEVICE, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 34, 36, 37, 38
SET_STATUS, GET_STATUS = 39, 40
C_NEED_REPLY, C_FD_MORE, C_FD_FEWER, C_SHORT, C_WRITE, C_SIZE_LIE = \
    1, 8, 16, 32, 64, 128
F_VERSION_1, F_PROTOCOL, F_PACKED, F_INDIRECT, F_EVENT_IDX = 32, 30, 34, 28, 29
PF_ALL = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 13) | (1 << 15) | (1 << 16)
UVA = 0x7f0000000000
MEMSZ = 0x10000
D_NEXT, D_WRITE = 1, 2
P_AVAIL = 1 << 7


def vu_rec(req, payload=b'', ctl=0):
    return struct.pack('<BBH', req, ctl, len(payload)) + payload


def u64(v):
    return struct.pack('<Q', v)


def state(idx, num):
    return struct.pack('<II', idx, num)


def region(gpa, size, uva, off):
    return struct.pack('<QQQQ', gpa, size, uva, off)


def vu_mem_write(off, data, reg=0):
    return vu_rec(0, struct.pack('<BI', reg, off) + data, C_WRITE)


def vu_hello(features, pf=PF_ALL):
    return (vu_rec(GET_FEATURES) + vu_rec(GET_PROTOCOL_FEATURES) +
            vu_rec(SET_FEATURES, u64(features)) +
            vu_rec(SET_PROTOCOL_FEATURES, u64(pf)) + vu_rec(SET_OWNER))


def vu_mem_table(n=1):
    regs = b''.join(region(i * MEMSZ, MEMSZ, UVA + i * MEMSZ, 0)
                    for i in range(n))
    return vu_rec(SET_MEM_TABLE, struct.pack('<II', n, 0) + regs)


def vu_ring(q, packed, num=8, base=0, iova=None):
    """A ring at guest offset base with two buffers; with iova, every ring
    and buffer address is that IOVA base + the guest offset (IOMMU)."""
    desc, drv, dev = base, base + 0x80, base + 0x100
    ab = 0 if iova is None else iova
    if packed:
        ring = (struct.pack('<QIHH', ab + base + 0x1000, 64, 0,
                            D_NEXT | P_AVAIL) +
                struct.pack('<QIHH', ab + base + 0x2000, 128, 0,
                            D_WRITE | P_AVAIL))
        mem = vu_mem_write(desc, ring)
        vbase = 1 << 15
    else:
        ring = (struct.pack('<QIHH', ab + base + 0x1000, 64, D_NEXT, 1) +
                struct.pack('<QIHH', ab + base + 0x2000, 128, D_WRITE, 0))
        mem = vu_mem_write(desc, ring) + vu_mem_write(
            drv, struct.pack('<HHH', 0, 1, 0))
        vbase = 0
    rb = UVA if iova is None else iova
    addr = struct.pack('<IIQQQQ', q, 0, rb + desc, rb + dev, rb + drv, 0)
    return (mem + vu_rec(SET_VRING_NUM, state(q, num)) +
            vu_rec(SET_VRING_ADDR, addr) +
            vu_rec(SET_VRING_BASE, state(q, vbase)) +
            vu_rec(SET_VRING_KICK, u64(q)) + vu_rec(SET_VRING_CALL, u64(q)) +
            vu_rec(SET_VRING_ENABLE, state(q, 1), C_NEED_REPLY))


def vu_backend_seeds():
    base = (1 << F_VERSION_1) | (1 << F_PROTOCOL)
    split = bytes([0x31]) + vu_hello(base | (1 << F_EVENT_IDX)) + \
        vu_rec(GET_QUEUE_NUM) + vu_rec(GET_MAX_MEM_SLOTS) + vu_mem_table() + \
        vu_ring(0, False) + vu_rec(GET_VRING_BASE, state(0, 0))
    yield 'split', split
    yield 'packed', bytes([0x0d]) + vu_hello(base | (1 << F_PACKED)) + \
        vu_mem_table() + vu_ring(0, True) + vu_ring(1, True, 4, 0x4000) + \
        vu_rec(GET_VRING_BASE, state(1, 0))
    yield 'legacy_no_pf', bytes([0x00]) + vu_rec(GET_FEATURES) + \
        vu_rec(SET_OWNER) + vu_rec(SET_FEATURES, u64(1 << F_VERSION_1)) + \
        vu_mem_table() + vu_ring(0, False)
    yield 'mem_slots', bytes([0x01]) + vu_hello(base) + \
        vu_rec(ADD_MEM_REG, u64(0) + region(0, MEMSZ, UVA, 0)) + \
        vu_rec(ADD_MEM_REG, u64(0) + region(MEMSZ, MEMSZ, UVA + MEMSZ, 0)) + \
        vu_ring(0, False, 8, MEMSZ) + \
        vu_rec(REM_MEM_REG, u64(0) + region(MEMSZ, MEMSZ, UVA + MEMSZ, 0)) + \
        vu_rec(REM_MEM_REG, u64(0) + region(0, MEMSZ, UVA, 0), C_FD_MORE)
    yield 'status_mtu_reset', bytes([0x84]) + vu_hello(base) + \
        vu_rec(SET_STATUS, u64(0x0b), C_NEED_REPLY) + vu_rec(GET_STATUS) + \
        vu_rec(NET_SET_MTU, u64(1500), C_NEED_REPLY) + \
        vu_rec(NET_SET_MTU, u64(10)) + vu_mem_table(2) + vu_ring(0, False) + \
        vu_rec(RESET_DEVICE) + vu_rec(RESET_OWNER)
    yield 'two_regions_ring_straddle', bytes([0x02]) + vu_hello(base) + \
        vu_mem_table(2) + vu_ring(0, False, 8, MEMSZ - 0x80)
    yield 'short_memfd', bytes([0x00]) + vu_hello(base) + \
        vu_rec(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
               region(0, MEMSZ, UVA, 0), C_SHORT)
    yield 'no_fd', bytes([0x00]) + vu_hello(base) + \
        vu_rec(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
               region(0, MEMSZ, UVA, 0), C_FD_FEWER)
    yield 'overlap', bytes([0x00]) + vu_hello(base) + \
        vu_rec(SET_MEM_TABLE, struct.pack('<II', 2, 0) +
               region(0, MEMSZ, UVA, 0) + region(0x8000, MEMSZ, UVA * 2, 0))
    yield 'kick_nofd', bytes([0x00]) + vu_hello(base) + vu_mem_table() + \
        vu_rec(SET_VRING_KICK, u64(0x100)) + vu_rec(SET_VRING_CALL, u64(0x100))
    yield 'size_lie', bytes([0x00]) + vu_rec(SET_FEATURES, u64(1 << 32),
                                              C_SIZE_LIE)
    yield 'unknown', bytes([0x00]) + vu_rec(47) + vu_rec(SEND_RARP)
    yield 'bad_index', bytes([0x00]) + vu_hello(base) + \
        vu_rec(SET_VRING_NUM, state(9, 8)) + vu_rec(SET_VRING_NUM, state(0, 7))


# --- vhost-user back end behind an IOMMU: IOTLB_MSG sequences ----------------
SET_BACKEND_REQ_FD, IOTLB_MSG = 21, 22
F_ACCESS_PLATFORM, PF_BACKEND_REQ = 33, 5
IOTLB_MISS, IOTLB_UPDATE, IOTLB_INVALIDATE, IOTLB_ACCESS_FAIL = 1, 2, 3, 4
IOVA = 0x40000000


def iotlb(iova, size, uaddr, perm, typ=IOTLB_UPDATE, ctl=C_NEED_REPLY):
    return vu_rec(IOTLB_MSG, struct.pack('<QQQBB6x', iova, size, uaddr, perm,
                                         typ), ctl)


def vu_iommu_seeds():
    base = (1 << F_VERSION_1) | (1 << F_PROTOCOL) | (1 << F_ACCESS_PLATFORM)

    def hello(f):
        return vu_hello(f, PF_ALL | (1 << PF_BACKEND_REQ)) + \
            vu_rec(SET_BACKEND_REQ_FD) + vu_mem_table()

    whole = iotlb(IOVA, MEMSZ, UVA, 3)
    # rings wait for their misses, start with the update; buffers pop;
    # a read-only entry under the receive buffer faults that queue; an
    # invalidation of the ring restarts it
    yield 'iommu_split', bytes([0x21]) + \
        hello(base | (1 << F_EVENT_IDX)) + vu_ring(0, False, iova=IOVA) + \
        whole + vu_ring(1, False, 8, 0x4000, iova=IOVA) + \
        iotlb(IOVA + 0x2000, 0x1000, UVA + 0x2000, 1) + \
        vu_rec(SET_VRING_KICK, u64(0)) + \
        iotlb(IOVA, 0x1000, 0, 0, IOTLB_INVALIDATE) + \
        iotlb(IOVA, 0x1000, UVA, 3) + vu_rec(GET_VRING_BASE, state(0, 0))
    yield 'iommu_packed', bytes([0x09]) + hello(base | (1 << F_PACKED)) + \
        vu_ring(0, True, iova=IOVA) + iotlb(IOVA, 0x1000, UVA, 3) + \
        iotlb(IOVA + 0x1000, 0x2000, UVA + 0x1000, 2) + \
        vu_rec(SET_VRING_KICK, u64(0)) + \
        iotlb(0, 0, 0, 0, IOTLB_INVALIDATE) + vu_rec(GET_VRING_BASE,
                                                     state(0, 0))
    # refused: size 0, wrapping, outside memory, across a region's end,
    # bad permission, MISS / ACCESS_FAIL types; short payload; overlaps
    yield 'iommu_hostile', bytes([0x00]) + hello(base) + \
        iotlb(IOVA, 0, UVA, 3) + iotlb(2 ** 64 - 0x1000, 0x2000, UVA, 3) + \
        iotlb(IOVA, 0x1000, UVA + MEMSZ, 3) + \
        iotlb(IOVA, 0x2000, UVA + MEMSZ - 0x1000, 3) + \
        iotlb(IOVA, 0x1000, UVA, 0) + iotlb(IOVA, 0x1000, UVA, 0x83) + \
        iotlb(IOVA, 0x1000, UVA, 3, IOTLB_MISS) + \
        iotlb(IOVA, 0x1000, UVA, 3, IOTLB_ACCESS_FAIL) + \
        iotlb(IOVA, 0x3000, UVA, 3) + iotlb(IOVA + 0x1000, 0x1000, UVA, 1) + \
        iotlb(IOVA + 0x800, 0x1000, 0, 0, IOTLB_INVALIDATE) + \
        vu_rec(IOTLB_MSG, b'\x00' * 16, C_NEED_REPLY) + \
        vu_ring(0, False, iova=IOVA)
    # IOTLB_MSG without the feature negotiated closes the connection
    yield 'iommu_not_negotiated', bytes([0x00]) + \
        hello((1 << F_VERSION_1) | (1 << F_PROTOCOL)) + whole
    # the memory table changes under the entries: every entry dropped
    yield 'iommu_memtable', bytes([0x00]) + hello(base) + whole + \
        vu_ring(0, False, iova=IOVA) + vu_mem_table(2) + \
        vu_rec(SET_VRING_KICK, u64(0)) + whole


# --- vhost-user front end: reply scripts -------------------------------------
F_MQ, F_CSUM, F_GUEST_CSUM, F_MRG = 22, 0, 1, 15
F_HOST_TSO4, F_GUEST_TSO4, F_MAC, F_CTRL_VQ, F_IN_ORDER = 11, 7, 5, 17, 35


def fe_rec(payload, mode=0):
    return bytes([mode, len(payload)]) + payload


def fe_seed(cfg, script, data=b''):
    return bytes([cfg]) + struct.pack('<H', len(script)) + script + data


def fe_used(q, idx, elems, packed=False):
    """Data-path ops: the back end marks buffers used on queue q."""
    if packed:
        out = b''
        for i, (bid, ln) in enumerate(elems):
            d = struct.pack('<QIHH', 0, ln, bid, (1 << 7) | (1 << 15))
            out += bytes([0, q, 0]) + struct.pack('<H', 16 * i) + \
                bytes([len(d)]) + d
        return out
    ring = b''.join(struct.pack('<II', bid, ln) for bid, ln in elems)
    d = struct.pack('<HH', 0, idx) + ring
    return bytes([0, q, 2]) + struct.pack('<H', 0) + bytes([len(d)]) + d


def vu_frontend_seeds():
    net = (1 << F_CSUM) | (1 << F_GUEST_CSUM) | (1 << F_HOST_TSO4) | \
        (1 << F_GUEST_TSO4) | (1 << F_MAC)
    offered = (1 << F_VERSION_1) | (1 << F_PROTOCOL) | net | (1 << F_MQ) | \
        (1 << F_PACKED) | (1 << F_INDIRECT) | (1 << F_EVENT_IDX) | \
        (1 << F_MRG) | (1 << F_CTRL_VQ) | (1 << F_IN_ORDER)
    pf_ack = (1 << 0) | (1 << 3) | (1 << 16)
    ack = fe_rec(u64(0))

    def session(nq, pf=pf_ack, extra=b''):
        """The replies of a whole set-up with REPLY_ACK and STATUS."""
        return (fe_rec(u64(offered)) + fe_rec(u64(pf)) + extra + ack +
                ack + fe_rec(u64(0x0b)) + ack + ack * nq + ack * nq + ack +
                fe_rec(u64(0x0f)))

    rx_tx = fe_used(0, 1, [(0, 100)]) + b'\x01\x00' + b'\x02\x00\x40' + \
        fe_used(1, 1, [(0, 0)]) + b'\x02\x00\x20\x03'
    yield 'split', fe_seed(0x00, session(2), rx_tx)
    yield 'packed', fe_seed(0x04, session(2), fe_used(0, 0, [(0, 100)], True)
                            + b'\x01\x00\x02\x00\x10')
    yield 'mq2', fe_seed(0x01, session(4, extra=fe_rec(u64(2))), rx_tx +
                         fe_used(2, 1, [(0, 60)]) + b'\x01\x01')
    yield 'mem_slots', fe_seed(0x00, session(2, pf_ack | (1 << 15),
                                             fe_rec(u64(8))), rx_tx)
    yield 'no_pf', fe_seed(0x30, fe_rec(u64((1 << F_VERSION_1) | net |
                                            (1 << F_EVENT_IDX) |
                                            (1 << F_MRG))) +
                           fe_rec(u64(0)), rx_tx)
    yield 'ack_only', fe_seed(0x08, fe_rec(u64(offered)) +
                              fe_rec(u64(1 << 3)) + ack * 8, rx_tx)
    yield 'ctrl_inorder', fe_seed(0xc8, session(3), rx_tx + b'\x03')
    yield 'status_mismatch', fe_seed(0x00, fe_rec(u64(offered)) +
                                     fe_rec(u64(pf_ack)) + ack * 2 +
                                     fe_rec(u64(0x0a)))
    yield 'no_version1', fe_seed(0x00, fe_rec(u64(1 << F_PROTOCOL)))
    yield 'nack', fe_seed(0x00, fe_rec(u64(offered)) + fe_rec(u64(pf_ack)) +
                          fe_rec(u64(1)))
    yield 'bad_request', fe_seed(0x00, fe_rec(u64(offered), 1))
    yield 'no_reply_flag', fe_seed(0x00, fe_rec(u64(offered), 2))
    yield 'size_lie', fe_seed(0x00, fe_rec(bytes([200]) + bytes(7), 3))
    yield 'with_fd', fe_seed(0x00, fe_rec(u64(offered), 4))
    yield 'close', fe_seed(0x00, fe_rec(u64(offered)) + fe_rec(b'', 8))
    yield 'unsolicited', fe_seed(0x00, fe_rec(u64(offered), 0x10))
    yield 'short_queues', fe_seed(0x03, fe_rec(u64(offered)) +
                                  fe_rec(u64(pf_ack)) + fe_rec(u64(1)))


# --- vswd: JSON-RPC sessions (br0 with dummy ports d1, d2 exists) -----------
def vswd_seeds():
    import json

    def call(method, params=None, rid=1):
        m = {'jsonrpc': '2.0', 'method': method, 'id': rid}
        if params is not None:
            m['params'] = params
        return json.dumps(m, separators=(',', ':'))

    calls = [
        call('show'), call('version'),
        call('bridge.add', {'bridge': 'br1'}),
        call('bridge.del', {'bridge': 'br1'}),
        call('port.add', {'bridge': 'br0', 'port': 'd3', 'type': 'dummy',
                          'options': {'rxq': '2', 'txq': '2',
                                      'ring': '64'}}),
        call('port.add', {'bridge': 'br0', 'port': 't0', 'type': 'tap'}),
        call('port.del', {'bridge': 'br0', 'port': 'd2'}),
        call('port.set', {'port': 'd1', 'tag': 10}),
        call('port.set', {'port': 'd2', 'trunks': '1,5-7'}),
        call('port.stats', {'bridge': 'br0'}),
        call('fdb.show', {'bridge': 'br0'}),
        call('fdb.flush', {'bridge': 'br0'}),
        call('option.set', {'options': {'ageing': '60', 'poll': 'off'}}),
        call('option.get'),
        call('flow.add', {'bridge': 'br0', 'flow':
                          'priority=100,in_port=d1 actions=output:d2'}),
        call('flow.add', {'bridge': 'br0', 'flows':
                          ['tcp,tp_dst=80 actions=drop',
                           'idle_timeout=5,udp actions=NORMAL'],
                          'lines': [3, 9], 'check': True}),
        call('flow.mod', {'bridge': 'br0', 'flow': 'in_port=1 '
                          'actions=mod_vlan_vid:5,output:2', 'strict': True}),
        call('flow.del', {'bridge': 'br0', 'match': 'tcp'}),
        call('flow.dump', {'bridge': 'br0', 'match': 'in_port=1'}),
        call('dpif.stats'), call('pmd.stats'), call('pmd.stats.clear'),
        call('mirror.add', {'bridge': 'br0', 'mirror': 'm0',
                            'select_src_port': ['d1'],
                            'select_vlan': [0, 10], 'output_port': 'd2'}),
        call('mirror.add', {'bridge': 'br0', 'mirror': 'm1',
                            'select_all': True, 'output_vlan': 99}),
        call('mirror.list', {'bridge': 'br0'}),
        call('mirror.del', {'bridge': 'br0', 'mirror': 'm0'}),
    ]
    for i, c in enumerate(calls):
        yield 'call%02d' % i, (c + '\n').encode()
    yield 'session', ('\n'.join(calls) + '\n').encode()
    yield 'batch', ('[' + ','.join(calls[:6]) + ']\n').encode()
    yield 'bad', b'{"jsonrpc":"2.0","method":"port.add","params":{"bridge":' \
        b'"br0","port":"../x","type":"dummy"},"id":1}\n' \
        b'{"jsonrpc":"2.0","method":"port.set","params":{"port":"d1",' \
        b'"tag":5000},"id":2}\n' \
        b'{"jsonrpc":"2.0","method":"flow.add","params":{"bridge":"br0",' \
        b'"flows":["actions=drop",7],"lines":[1]},"id":3}\n' \
        b'{"jsonrpc":"2.0","method":"nope","id":4}\n[]\n{"x\n'


def ofp_seeds():
    """fuzz_ofp: byte 0 = mode (bit 0: a HELLO first; bits 1-3: piece
    size 1 << n), then the peer's byte stream (OpenFlow 1.3 messages)."""
    def msg(t, body=b'', xid=7, ver=4):
        return struct.pack('!BBHI', ver, t, 8 + len(body), xid) + body

    def oxm(field, val, mask=None):
        v = val + (mask or b'')
        return struct.pack('!HBB', 0x8000, field << 1 | (1 if mask else 0),
                           len(v)) + v

    def match(*fields):
        b = b''.join(fields)
        m = struct.pack('!HH', 1, 4 + len(b)) + b
        return m + b'\0' * (-len(m) % 8)

    def act_out(port):
        return struct.pack('!HHIH6x', 0, 16, port, 0)

    def act_set(field, val):
        o = oxm(field, val)
        a = struct.pack('!HH', 25, (4 + len(o) + 7) // 8 * 8) + o
        return a + b'\0' * (-len(a) % 8)

    def apply(*acts):
        b = b''.join(acts)
        return struct.pack('!HH4x', 4, 8 + len(b)) + b

    def flow_mod(cmd, m, insts=b'', prio=100, cookie=0, cmask=0,
                 out=0xffffffff, table=0, flags=0):
        return msg(14, struct.pack('!QQBBHHHIIIH2x', cookie, cmask, table,
                                   cmd, 0, 0, prio, 0xffffffff, out,
                                   0xffffffff, flags) + m + insts)

    def mp(t, body=b''):
        return msg(18, struct.pack('!HH4x', t, 0) + body)

    def packet_out(in_port, acts, data, buffer_id=0xffffffff, alen=None):
        return msg(13, struct.pack('!IIH6x', buffer_id, in_port,
                                   len(acts) if alen is None else alen) +
                   acts + data)

    frame = (b'\xff' * 6 + bytes.fromhex('020000000001') + b'\x08\x06' +
             bytes(28))
    flow_req = struct.pack('!B3xII4xQQ', 0xff, 0xffffffff, 0xffffffff, 0,
                           0) + match()
    m_tcp = match(oxm(0, struct.pack('!I', 1)), oxm(5, b'\x08\x00'),
                  oxm(10, b'\x06'),
                  oxm(12, bytes([10, 0, 0, 0]), bytes([255, 255, 255, 0])),
                  oxm(14, struct.pack('!H', 80)))
    m_vlan = match(oxm(6, struct.pack('!H', 0x1000 | 10)), oxm(7, b'\x03'))
    m_arp = match(oxm(5, b'\x08\x06'), oxm(21, b'\x00\x01'),
                  oxm(23, bytes([10, 0, 0, 1])))
    m_v6 = match(oxm(5, b'\x86\xdd'), oxm(10, b'\x3a'),
                 oxm(27, bytes(15) + b'\x01'), oxm(29, b'\x80'))
    def nxm(field, val, mask=None):
        v = val + (mask or b'')
        return struct.pack('!HBB', 0x0001, field << 1 | (1 if mask else 0),
                           len(v)) + v

    def act_set_nxm(field, val):
        o = nxm(field, val)
        a = struct.pack('!HH', 25, (4 + len(o) + 7) // 8 * 8) + o
        return a + b'\0' * (-len(a) % 8)

    # Open vSwitch's tunnel fields as ovs-ofctl sends them: tun_ipv6_src /
    # _dst (109 / 110), tun_metadata0 .. 7 (40 .. 47, the fewest bytes)
    a6 = bytes.fromhex('20010db8000000000000000000000001')
    m_tun6 = match(nxm(109, a6), nxm(110, a6, bytes(8 * [255]) + bytes(8)),
                   nxm(40, b'\x05'),
                   nxm(47, bytes.fromhex('1122000055660000'),
                       bytes.fromhex('ffff0000ffff0000')))
    seeds = {
        'add_tun_ext': flow_mod(0, m_tun6, apply(
            act_set_nxm(110, a6), act_set_nxm(42, b'\x12\x34'),
            act_out(2))) + mp(1, flow_req),
        'bad_tun_ext': (flow_mod(0, match(nxm(41, bytes(range(1, 10))))) +
                        flow_mod(0, match(nxm(48, b'\x01'))) +
                        flow_mod(0, match(nxm(42, b''))) +
                        flow_mod(0, match(nxm(43, b'\x01', b'\x01\x02')))),
        'hello': msg(0, struct.pack('!HHI', 1, 8, 0x10)),
        'hello_old': msg(0, ver=1),
        'echo': msg(2, b'ping'),
        'features': msg(5) + msg(7) + msg(9, struct.pack('!HH', 0, 128)),
        'barrier': msg(20),
        'add': flow_mod(0, m_tcp, apply(act_out(2))),
        'add_edits': flow_mod(0, m_vlan, apply(
            struct.pack('!HH4x', 18, 8),
            act_set(4, bytes.fromhex('020000000009')),
            act_set(6, struct.pack('!H', 0x1000 | 20)),
            act_out(0xfffffffa))),
        'add_arp': flow_mod(0, m_arp, apply(act_out(0xfffffffb))),
        'add_v6': flow_mod(0, m_v6, apply(act_out(0xfffffffe))),
        'modify': flow_mod(1, m_tcp, apply(act_out(3))),
        'delete': flow_mod(3, match(), out=2, table=0xff),
        'delete_strict': flow_mod(4, m_tcp, cookie=5, cmask=0xff),
        'dumps': (mp(0) + mp(1, flow_req) + mp(2, flow_req) + mp(3) +
                  mp(4, struct.pack('!I4x', 0xffffffff)) + mp(12) +
                  mp(13)),
        'bad_type': msg(29) + msg(4, b'\0' * 8) + mp(99),
        'bad_match': flow_mod(0, match(oxm(14, b'\x00\x50'))),
        'bad_len': msg(5)[:2] + b'\x00\x04' + msg(5)[4:],
        'goto': flow_mod(0, match(), struct.pack('!HHB3x', 1, 8, 1)),
        # tables: a rule in table 2 going on to 5, one in 5, flow stats of
        # table 5, table stats, a modify and a delete of every table
        'tables': (flow_mod(0, m_tcp, apply(act_out(2)) +
                            struct.pack('!HHB3x', 1, 8, 5), table=2) +
                   flow_mod(0, m_vlan, apply(act_out(3)), table=5) +
                   mp(1, struct.pack('!B', 5) + flow_req[1:]) + mp(3) +
                   flow_mod(1, m_tcp, apply(act_out(4)), table=0xff) +
                   flow_mod(3, match(), table=0xff)),
        'goto_bad': (flow_mod(0, match(), struct.pack('!HHB3x', 1, 8, 2),
                              table=3) +
                     flow_mod(0, match(), struct.pack('!HHB11x', 1, 16, 9))),
        'flags': flow_mod(0, m_tcp, apply(act_out(2)), flags=0x7) +
        flow_mod(0, m_tcp, apply(act_out(2)), flags=0x2) +
        flow_mod(1, m_tcp, apply(act_out(1)), flags=0x4),
        'roles': (msg(24, struct.pack('!I4xQ', 2, 5)) +
                  msg(24, struct.pack('!I4xQ', 3, 4)) +
                  msg(24, struct.pack('!I4xQ', 0, 0)) +
                  msg(24, struct.pack('!I4xQ', 9, 0)) +
                  msg(24, struct.pack('!I4x', 1)) +
                  msg(24, struct.pack('!I4xQ', 3, 6)) +
                  flow_mod(0, m_tcp, apply(act_out(2)))),
        'async': (msg(26) + msg(28, struct.pack('!6I', 3, 0, 7, 7, 0xf, 0)) +
                  msg(28, b'\0' * 20) + msg(26, b'\0')),
        # async masks then the switch's own PACKET_IN / PORT_STATUS (the
        # harness queues them between pieces): masked off, then as a slave
        'async_slave': (msg(28, struct.pack('!6I', 0, 0, 0, 0, 0, 0)) +
                        msg(9, struct.pack('!HH', 0, 64)) + msg(20) +
                        msg(24, struct.pack('!I4xQ', 3, 1)) + msg(20) +
                        msg(28, struct.pack('!6I', 3, 3, 7, 7, 15, 15)) +
                        msg(20) + msg(2)),
        'packet_out': (packet_out(0xfffffffd, act_out(2), frame) +
                       packet_out(1, act_out(0xfffffff9), frame) +
                       packet_out(0xfffffffe, act_set(
                           4, bytes.fromhex('020000000009')) +
                           act_out(0xfffffffb), frame) +
                       packet_out(3, act_out(0xfffffff8) + act_out(9),
                                  frame)),
        # every length and field a PACKET_OUT can get wrong
        'packet_out_bad': (
            packet_out(1, act_out(2), frame, buffer_id=7) +
            packet_out(0xffffff01, act_out(2), frame) +
            packet_out(1, act_out(2), b'') +
            packet_out(1, act_out(2), frame[:13]) +
            packet_out(1, act_out(2), frame, alen=4096) +
            packet_out(1, act_out(2), frame, alen=12) +
            packet_out(1, b'', frame) +
            packet_out(1, struct.pack('!HHIH6x', 0, 8, 2, 0), frame) +
            msg(13, struct.pack('!II', 0xffffffff, 1))),
        # every multipart type, good and bad
        'multipart': b''.join(
            [mp(t) for t in range(0, 16)] +
            [mp(1, flow_req[:20]), mp(2, flow_req + b'\0' * 8),
             mp(4, struct.pack('!I4x', 1)), mp(4, b'\0' * 4),
             mp(12, b'\0' * 64), mp(13, b'\0' * 8), mp(0xffff),
             msg(18, struct.pack('!HH4x', 0, 1)), msg(18, b'\0' * 4)]),
    }
    for name, body in sorted(seeds.items()):
        mode = b'\x01' if name not in ('hello', 'hello_old') else b'\x00'
        yield name, mode + body
        # the same cut into 2-byte pieces: framing across reads
        yield name + '_p2', bytes([mode[0] | 2]) + body


GENERATORS = {
    'pkt': pkt_seeds,
    'flow': flow_seeds,
    'rpc': rpc_seeds,
    'vu_backend': lambda: itertools.chain(vu_backend_seeds(),
                                          vu_iommu_seeds()),
    'vu_frontend': vu_frontend_seeds,
    'vswd': vswd_seeds,
    'ofp': ofp_seeds,
}


def main(argv):
    targets = argv[1:] or sorted(GENERATORS)
    for t in targets:
        out = os.path.join(HERE, 'corpus', t)
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if f.startswith('seed_'):
                os.unlink(os.path.join(out, f))
        n = 0
        for name, data in GENERATORS[t]():
            with open(os.path.join(out, 'seed_' + name), 'wb') as f:
                f.write(data)
            n += 1
        print('%s: %d seeds' % (t, n))


if __name__ == '__main__':
    main(sys.argv)
