#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerate the seed corpus of fuzz_virtq_dev (tests/fuzz/corpus/virtq_dev).

Usage: gen_seeds.py [OUTDIR]   (default: corpus/virtq_dev next to this file)

Each seed is the header, a memory image starting at the ring's GPA and a
script of operations, in the format documented at the top of
fuzz_virtq_dev.c; the constants below must follow that file. The seeds cover
valid chains of several shapes for both ring types (direct, indirect, across
a region boundary, wrapping) and one input per device fault, followed by the
operations that must fail the same way and then recover through set_base.

The corpus also holds found_* files: inputs the fuzzer found that reach
code the seeds do not (libFuzzer -merge=1 -use_counters=0 -use_cmp=0 of a
fuzzing run into the seeds). When the input format changes, delete them and
regenerate them the same way.
"""
import os
import struct
import sys

# --- must match fuzz_virtq_dev.c -------------------------------------------
F_INDIRECT, F_EVENT_IDX, F_PACKED, F_IN_ORDER = 1, 2, 4, 8
SPLIT_NUM = [1, 2, 4, 8, 16, 32, 64, 256]
PACKED_NUM = [1, 2, 3, 5, 8, 17, 64, 255]
L_TWO, L_MEMFD, L_GAP = 1, 2, 4
RING_START, RING_END, RING_STRADDLE, RING_REGION1 = 0, 1, 2, 3
REGION = 8 * 4096
GPA0 = 0x10000
GAP = 0x10000
(POP_SMALL, POP_LARGE, PUSH, PUSH_BURST, UNPOP, NEED_NOTIFY, ENABLE_NOTIFY,
 DISABLE_NOTIFY, HAS_AVAIL, SET_BASE, WRITE, GET_BASE, POP_ALL,
 PUSH_ALL) = range(14)

# --- <linux/virtio_ring.h> ---------------------------------------------------
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4
P_AVAIL, P_USED = 1 << 7, 1 << 15

BUF = GPA0 + 0x5000  # buffers, in region 0 after ring + indirect tables


def align(x, a):
    return (x + a - 1) & ~(a - 1)


def layout(packed, num, base):
    """(desc, driver, device, ring_bytes) as vsw_vq_ring_layout()."""
    drv = base + 16 * num
    drv_bytes = 4 if packed else 2 * (3 + num)
    dev = align(drv + drv_bytes, 64)
    dev_bytes = 4 if packed else 4 + 8 * num + 2
    return base, drv, dev, align(dev + dev_bytes, 64) - base


def ring_gpa(layout_byte, place, ring_bytes):
    end0 = GPA0 + REGION
    if place == RING_END:
        return end0 - ring_bytes
    if place == RING_STRADDLE:
        return end0 - align(ring_bytes // 2, 64)
    if place == RING_REGION1:
        if layout_byte & L_TWO:
            return end0 + (GAP if layout_byte & L_GAP else 0)
        return GPA0 + 4096
    return GPA0


def desc(addr, ln, flags, nxt_or_id):
    return struct.pack('<QIHH', addr, ln, flags, nxt_or_id)


def pdesc(addr, ln, buf_id, flags):
    return struct.pack('<QIHH', addr, ln, buf_id, flags)


class Seed:
    def __init__(self, feats, num, lay=0, place=RING_START, small_iov=4):
        self.place = place
        self.packed = bool(feats & F_PACKED)
        sizes = PACKED_NUM if self.packed else SPLIT_NUM
        self.feats, self.num, self.lay = feats, num, lay
        self.small_iov = small_iov
        self.hdr_num = sizes.index(num)
        d, drv, dev, rb = layout(self.packed, num, 0)
        self.ring = ring_gpa(lay, place, rb)
        self.desc_off, self.drv_off, self.dev_off = d, drv, dev
        self.ring_bytes = rb
        self.img = bytearray(rb)
        self.ops = bytearray()
        self.ind_next = rb  # indirect tables follow the ring

    def put(self, off, data):
        if len(self.img) < off + len(data):
            self.img.extend(bytes(off + len(data) - len(self.img)))
        self.img[off:off + len(data)] = data

    # split helpers
    def sdesc(self, i, addr, ln, flags=0, nxt=0):
        self.put(self.desc_off + 16 * i, desc(addr, ln, flags, nxt))

    def avail(self, heads, idx=None, flags=0, used_event=0):
        self.put(self.drv_off, struct.pack('<HH', flags,
                                           len(heads) if idx is None else idx))
        for k, h in enumerate(heads):
            self.put(self.drv_off + 4 + 2 * (k % self.num),
                     struct.pack('<H', h))
        self.put(self.drv_off + 4 + 2 * self.num,
                 struct.pack('<H', used_event))

    def table(self, descs):
        """An indirect table after the ring: returns (gpa, byte length)."""
        off = align(self.ind_next, 16)
        raw = b''.join(descs)
        self.put(off, raw)
        self.ind_next = off + len(raw)
        return self.ring + off, len(raw)

    # packed helpers
    def pk(self, i, addr, ln, buf_id, flags, wrap=1):
        flags |= (P_AVAIL if wrap else P_USED)
        self.put(self.desc_off + 16 * i, pdesc(addr, ln, buf_id, flags))

    def pk_raw(self, i, addr, ln, buf_id, flags, wrap):
        """Descriptor bytes for a WRITE op (the guest adding later)."""
        flags |= (P_AVAIL if wrap else P_USED)
        return self.desc_off + 16 * i, pdesc(addr, ln, buf_id, flags)

    def driver_event(self, off_wrap, flags):
        self.put(self.drv_off, struct.pack('<HH', off_wrap, flags))

    # script
    def op(self, code, *args):
        self.ops.append(code)
        for a in args:
            self.ops += a
        return self

    def write(self, off, data):
        return self.op(WRITE, struct.pack('<HB', off, len(data)), data)

    def push(self, idx, ln):
        return self.op(PUSH, struct.pack('<BH', idx, ln))

    def set_base(self, b):
        return self.op(SET_BASE, struct.pack('<H', b))

    def tail(self):
        """Exercise the notification paths and a reset after the script."""
        for c in (GET_BASE, NEED_NOTIFY, ENABLE_NOTIFY, HAS_AVAIL,
                  DISABLE_NOTIFY, PUSH_ALL, NEED_NOTIFY):
            self.op(c)
        return self

    def fault_tail(self):
        """After a fault: the same error again, then recovery."""
        self.op(POP_LARGE).op(POP_SMALL).op(NEED_NOTIFY).op(HAS_AVAIL)
        self.op(PUSH_ALL).op(ENABLE_NOTIFY)
        self.set_base(0).op(GET_BASE)
        return self

    def bytes(self):
        hdr = bytes([self.feats, self.hdr_num, self.lay | self.place << 3,
                     self.small_iov - 1])
        return hdr + struct.pack('<H', len(self.img)) + bytes(self.img) + \
            bytes(self.ops)


SEEDS = {}


def seed(name, s):
    SEEDS[name] = s.bytes()


def split_seeds():
    # three direct chains: out only, out+in, in only; then notifications
    s = Seed(0, 8)
    s.sdesc(0, BUF, 64)
    s.sdesc(1, BUF + 0x100, 16, D_NEXT, 2)
    s.sdesc(2, BUF + 0x200, 128, D_WRITE)
    s.sdesc(3, BUF + 0x400, 1500, D_WRITE)
    s.avail([0, 1, 3])
    s.op(POP_ALL).push(1, 100).push(0, 0).op(NEED_NOTIFY).tail()
    seed('split_basic', s)

    # event idx: used_event asks for an interrupt after the first used
    s = Seed(F_EVENT_IDX, 16)
    for i in range(6):
        s.sdesc(i, BUF + 0x100 * i, 32 + i, D_WRITE if i & 1 else 0)
    s.avail(list(range(6)), used_event=0)
    s.op(POP_LARGE).push(0, 0).op(NEED_NOTIFY).op(POP_ALL).push(2, 7)
    s.op(NEED_NOTIFY).op(ENABLE_NOTIFY).op(DISABLE_NOTIFY).tail()
    seed('split_event_idx', s)

    # indirect: one table of 2 out + 2 in, one direct chain after it
    s = Seed(F_INDIRECT | F_EVENT_IDX, 8)
    t, tl = s.table([desc(BUF, 10, D_NEXT, 1), desc(BUF + 0x40, 20, D_NEXT, 2),
                     desc(BUF + 0x80, 30, D_WRITE | D_NEXT, 3),
                     desc(BUF + 0xc0, 40, D_WRITE, 0)])
    s.sdesc(5, t, tl, D_INDIRECT)
    s.sdesc(6, BUF + 0x200, 99)
    s.avail([5, 6])
    s.op(POP_SMALL).op(POP_LARGE).op(PUSH_ALL).tail()
    seed('split_indirect', s)

    # indirect table whose descriptors chain out of order
    s = Seed(F_INDIRECT, 4)
    t, tl = s.table([desc(BUF, 8, D_NEXT, 2),
                     desc(BUF + 0x80, 8, D_WRITE, 0),
                     desc(BUF + 0x40, 8, D_NEXT | D_WRITE, 1)])
    s.sdesc(3, t, tl, D_INDIRECT)
    s.avail([3])
    s.op(HAS_AVAIL).op(PUSH_ALL).tail()
    seed('split_indirect_order', s)

    # in-order: batched used entries with len 0
    s = Seed(F_IN_ORDER, 8)
    for i in range(4):
        s.sdesc(i, BUF + 0x100 * i, 64, D_WRITE)
    s.avail([0, 1, 2, 3])
    s.op(POP_ALL).op(PUSH_BURST, bytes([0x82])).op(NEED_NOTIFY)
    s.op(PUSH_BURST, bytes([0x00])).tail()
    seed('split_in_order', s)

    # a buffer across the boundary of two adjacent regions, small iov
    s = Seed(0, 4, lay=L_TWO | L_MEMFD, small_iov=2)
    s.sdesc(0, GPA0 + REGION - 100, 300, D_WRITE)
    s.sdesc(1, GPA0 + REGION - 8, 16, D_NEXT, 2)
    s.sdesc(2, GPA0 + REGION + 64, 64, D_WRITE)
    s.avail([0, 1])
    s.op(POP_SMALL).op(POP_LARGE).op(POP_SMALL).op(PUSH_ALL).tail()
    seed('split_cross_region', s)

    # ring in region 1, behind a GPA gap, largest split size
    s = Seed(F_EVENT_IDX | F_INDIRECT, 256, lay=L_TWO | L_GAP | L_MEMFD,
             place=RING_REGION1)
    for i in range(0, 256, 37):
        s.sdesc(i, BUF + i * 16, 16, D_WRITE if i & 1 else 0)
    s.avail(list(range(0, 256, 37)))
    s.op(POP_ALL).op(PUSH_ALL).op(NEED_NOTIFY).tail()
    seed('split_region1_n256', s)

    # ring ending at the end of region 0 (guard page right after it)
    s = Seed(F_EVENT_IDX, 64, place=RING_END)
    s.sdesc(63, BUF, 64, D_WRITE)
    s.avail([63])
    s.op(POP_LARGE).push(0, 64).op(ENABLE_NOTIFY).tail()
    seed('split_ring_end', s)

    # ring across the region end: create must refuse or accept cleanly
    s = Seed(0, 64, lay=L_TWO, place=RING_STRADDLE)
    s.avail([0])
    s.op(POP_ALL)
    seed('split_ring_straddle', s)

    # unpop, pop again, and the 16-bit avail index wrap through set_base
    s = Seed(0, 4)
    for i in range(4):
        s.sdesc(i, BUF + 0x40 * i, 8)
    s.avail([0, 1, 2, 3], idx=(0xfffe + 3) & 0xffff)
    s.set_base(0xfffe).op(POP_LARGE).op(UNPOP).op(POP_LARGE).op(POP_ALL)
    s.op(PUSH_ALL).op(GET_BASE).tail()
    seed('split_wrap_unpop', s)

    # the guest rewrites a descriptor and the avail index between pops
    s = Seed(0, 8)
    s.sdesc(0, BUF, 8)
    s.avail([0])
    s.op(POP_LARGE).op(PUSH_ALL)
    s.write(s.desc_off + 16, desc(BUF + 0x10, 24, D_WRITE, 0))
    s.write(s.drv_off + 4 + 2, struct.pack('<H', 1))
    s.write(s.drv_off + 2, struct.pack('<H', 2))
    s.op(HAS_AVAIL).op(PUSH_ALL).tail()
    seed('split_guest_rewrite', s)

    s = Seed(0, 1)
    s.sdesc(0, BUF, 1)
    s.avail([0])
    s.op(POP_LARGE).op(PUSH_ALL).op(POP_LARGE).tail()
    seed('split_n1', s)

    # --- hostile -----------------------------------------------------------
    def hostile(name, s):
        s.op(POP_ALL).fault_tail()
        seed(name, s)

    s = Seed(0, 8)
    s.avail([8])
    hostile('split_bad_head', s)

    s = Seed(0, 8)
    s.sdesc(0, BUF, 8, D_NEXT, 9)
    s.avail([0])
    hostile('split_bad_next', s)

    s = Seed(0, 8)
    s.sdesc(0, BUF, 8, D_NEXT, 1)
    s.sdesc(1, BUF, 8, D_NEXT, 0)
    s.avail([0])
    hostile('split_loop', s)

    s = Seed(0, 8)
    s.sdesc(0, 0x1000, 8)
    s.avail([0])
    hostile('split_addr_outside', s)

    s = Seed(0, 8)
    s.sdesc(0, 0xffffffffffffff00, 0x200, D_WRITE)
    s.avail([0])
    hostile('split_addr_wrap', s)

    s = Seed(0, 8, lay=L_TWO | L_GAP)
    s.sdesc(0, GPA0 + REGION - 16, 32)
    s.avail([0])
    hostile('split_addr_gap', s)

    s = Seed(F_INDIRECT, 8)
    s.sdesc(0, BUF, 24, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_len', s)

    s = Seed(F_INDIRECT, 8)
    s.sdesc(0, BUF, 0, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_len0', s)

    s = Seed(F_INDIRECT, 8)
    s.sdesc(0, GPA0 + REGION - 16, 64, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_addr', s)

    s = Seed(F_INDIRECT, 8)
    t, tl = s.table([desc(BUF, 16, D_INDIRECT, 0)])
    s.sdesc(0, t, tl, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_nested', s)

    s = Seed(0, 8)
    t, tl = s.table([desc(BUF, 16, 0, 0)])
    s.sdesc(0, t, tl, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_feature', s)

    s = Seed(F_INDIRECT, 8)
    t, tl = s.table([desc(BUF, 16, 0, 0)])
    s.sdesc(0, t, tl, D_INDIRECT | D_NEXT, 1)
    s.sdesc(1, BUF, 8)
    s.avail([0])
    hostile('split_indirect_next', s)

    s = Seed(F_INDIRECT, 8)
    t, tl = s.table([desc(BUF, 16, D_NEXT, 1), desc(BUF, 16, D_NEXT, 0)])
    s.sdesc(0, t, tl, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_loop', s)

    s = Seed(F_INDIRECT, 8)
    t, tl = s.table([desc(BUF, 16, D_NEXT, 2), desc(BUF, 16, 0, 0)])
    s.sdesc(0, t, tl, D_INDIRECT)
    s.avail([0])
    hostile('split_indirect_next_range', s)

    s = Seed(0, 8)
    s.sdesc(0, BUF, 8, D_WRITE | D_NEXT, 1)
    s.sdesc(1, BUF + 8, 8)
    s.avail([0])
    hostile('split_write_order', s)

    s = Seed(0, 8)
    s.sdesc(0, BUF, 8)
    s.avail([0], idx=9)
    hostile('split_avail_jump', s)

    s = Seed(0, 8, small_iov=2)
    for i in range(5):
        s.sdesc(i, BUF + 0x10 * i, 8, D_NEXT, i + 1)
    s.sdesc(5, BUF + 0x60, 8)
    s.avail([0])
    s.op(POP_SMALL)
    hostile('split_segments', s)


def packed_seeds():
    P = F_PACKED

    s = Seed(P, 8)
    s.pk(0, BUF, 64, 3, 0)
    s.pk(1, BUF + 0x100, 16, 1, D_NEXT)
    s.pk(2, BUF + 0x200, 128, 1, D_WRITE)
    s.pk(3, BUF + 0x400, 1500, 6, D_WRITE)
    s.op(POP_ALL).push(1, 100).push(0, 0).op(NEED_NOTIFY).tail()
    seed('packed_basic', s)

    # non power of two size; the ring wraps and the guest adds with the
    # flipped wrap counter
    s = Seed(P | F_EVENT_IDX, 5)
    for i in range(5):
        s.pk(i, BUF + 0x40 * i, 32, i, D_WRITE if i & 1 else 0)
    s.driver_event(2 | 1 << 15, 2)
    s.op(POP_ALL).op(PUSH_BURST, bytes([2])).op(NEED_NOTIFY).op(PUSH_ALL)
    s.op(NEED_NOTIFY)
    for i in range(3):
        off, raw = s.pk_raw(i, BUF + 0x40 * i, 16, i, 0, wrap=0)
        s.write(off, raw)
    s.op(HAS_AVAIL).op(POP_ALL).op(PUSH_ALL).op(GET_BASE).tail()
    seed('packed_wrap_n5', s)

    # packed indirect tables hold packed descriptors (§2.7.5.3)
    s = Seed(P | F_INDIRECT, 17)
    t, tl = s.table([pdesc(BUF, 10, 0, 0), pdesc(BUF + 0x40, 20, 0, 0),
                     pdesc(BUF + 0x80, 30, 0, D_WRITE)])
    s.pk(0, t, tl, 7, D_INDIRECT)
    s.pk(1, BUF + 0x200, 99, 8, D_WRITE)
    s.op(POP_SMALL).op(POP_LARGE).op(PUSH_ALL).tail()
    seed('packed_indirect', s)

    s = Seed(P | F_IN_ORDER, 8)
    for i in range(4):
        s.pk(i, BUF + 0x100 * i, 64, i, D_WRITE)
    s.op(POP_ALL).op(PUSH_BURST, bytes([0x82])).op(NEED_NOTIFY)
    s.op(PUSH_BURST, bytes([0x00])).tail()
    seed('packed_in_order', s)

    s = Seed(P, 3, lay=L_TWO, small_iov=2)
    s.pk(0, GPA0 + REGION - 100, 300, 0, D_WRITE)
    s.pk(1, GPA0 + REGION - 8, 16, 1, D_NEXT)
    s.pk(2, GPA0 + REGION + 64, 64, 1, D_WRITE)
    s.op(POP_SMALL).op(POP_LARGE).op(POP_SMALL).op(PUSH_ALL).tail()
    seed('packed_cross_region', s)

    s = Seed(P | F_EVENT_IDX | F_INDIRECT, 255, lay=L_TWO | L_MEMFD,
             place=RING_REGION1)
    for i in range(39):  # chains of three, the buffer id in the last
        s.pk(i, BUF + i * 16, 16, 254 - i // 3, D_NEXT if i % 3 < 2 else 0)
    s.driver_event(0, 1)
    s.op(POP_ALL).op(PUSH_ALL).op(NEED_NOTIFY).tail()
    seed('packed_region1_n255', s)

    s = Seed(P | F_EVENT_IDX, 64, place=RING_END)
    s.pk(0, BUF, 64, 63, D_WRITE)
    s.op(POP_LARGE).op(UNPOP).op(POP_LARGE).push(0, 64).op(ENABLE_NOTIFY)
    s.tail()
    seed('packed_ring_end_unpop', s)

    # set_base into the middle with the wrap counter clear
    s = Seed(P, 8)
    for i in range(8):
        s.pk(i, BUF + 0x10 * i, 8, i, 0, wrap=0 if i >= 4 else 1)
    s.set_base(4).op(POP_ALL).op(PUSH_ALL).set_base(9).op(GET_BASE).tail()
    seed('packed_set_base', s)

    s = Seed(P, 1)
    s.pk(0, BUF, 1, 0, 0)
    s.op(POP_LARGE).op(PUSH_ALL).op(POP_LARGE).tail()
    seed('packed_n1', s)

    def hostile(name, s):
        s.op(POP_ALL).fault_tail()
        seed(name, s)

    s = Seed(P, 8)
    s.pk(0, BUF, 8, 8, 0)
    hostile('packed_bad_id', s)

    s = Seed(P, 8)
    s.pk(0, BUF, 8, 2, 0)
    s.pk(1, BUF, 8, 2, 0)
    hostile('packed_id_inuse', s)

    s = Seed(P, 3)
    for i in range(3):
        s.pk(i, BUF, 8, 0, D_NEXT)
    hostile('packed_loop', s)

    s = Seed(P, 8)
    s.pk(0, 0x1000, 8, 0, 0)
    hostile('packed_addr_outside', s)

    s = Seed(P | F_INDIRECT, 8)
    s.pk(0, BUF, 40, 0, D_INDIRECT)
    hostile('packed_indirect_len', s)

    s = Seed(P | F_INDIRECT, 8)
    s.pk(0, 0x2000, 32, 0, D_INDIRECT)
    hostile('packed_indirect_addr', s)

    s = Seed(P | F_INDIRECT, 8)
    t, tl = s.table([pdesc(BUF, 16, 0, D_INDIRECT)])
    s.pk(0, t, tl, 0, D_INDIRECT)
    hostile('packed_indirect_nested', s)

    s = Seed(P, 8)
    t, tl = s.table([pdesc(BUF, 16, 0, 0)])
    s.pk(0, t, tl, 0, D_INDIRECT)
    hostile('packed_indirect_feature', s)

    s = Seed(P | F_INDIRECT, 8)
    t, tl = s.table([pdesc(BUF, 16, 0, D_WRITE),
                     pdesc(BUF + 16, 16, 0, 0)])
    s.pk(0, t, tl, 0, D_INDIRECT)
    hostile('packed_indirect_write_order', s)

    s = Seed(P, 8)
    s.pk(0, BUF, 8, 0, D_WRITE | D_NEXT)
    s.pk(1, BUF + 8, 8, 0, 0)
    hostile('packed_write_order', s)

    s = Seed(P, 8, small_iov=2)
    for i in range(4):
        s.pk(i, BUF + 0x10 * i, 8, 0, D_NEXT if i < 3 else 0)
    s.op(POP_SMALL)
    hostile('packed_segments', s)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, 'corpus', 'virtq_dev')
    os.makedirs(out, exist_ok=True)
    split_seeds()
    packed_seeds()
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, 'seed_' + name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(SEEDS), out))


if __name__ == '__main__':
    main()
