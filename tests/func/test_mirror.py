#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Functional test of port mirrors (suite func): vswctl add-mirror,
del-mirror, list-mirrors against a running vswd with real traffic.

In a network namespace of its own: vswd with bridge br1 and five
afpacket ports on veth pairs (pa, pb, pc: the traffic; pm: a mirror
output; pt: a trunk of VLAN 99 for output-vlan). Raw frames of a test
EtherType, each with a unique number, are sent into the veth peers and
read back (802.1Q tags restored from PACKET_AUXDATA) on every peer.
Checks that a mirror's output receives exactly the selected frames (by
source port, destination port, VLAN, select-all, output-vlan tagged),
that the output port gets no normal traffic and what it sends is dropped,
the counters, the store across a restart, a deleted output port (kept,
inactive, active again when it is back), and every error.

usage: test_mirror.py VSWD VSWCTL
Root only (namespaces, veth); exit 77 (skipped) otherwise.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import vswtest
from vswtest import check

VSWD, VSWCTL = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="vsw-func-mir-")
CTL = os.path.join(TMP, "vswd.ctl")
ETYPE = 0x88b5  # IEEE local experimental: nothing else sends it
BCAST = b"\xff" * 6
PORTS = {"pa": "vmir0", "pb": "vmir1", "pc": "vmir2", "pm": "vmir3",
         "pt": "vmir4"}
MAC = {p: bytes([2, 0, 0, 0, 0x0b, i + 1]) for i, p in enumerate(PORTS)}
SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 0x10, 0x40


def ctl(*args, **kw):
    return subprocess.run([VSWCTL, "--ctl", CTL, "--timeout", "20"] +
                          list(args), capture_output=True, text=True,
                          timeout=60, **kw)


def ok(*args):
    p = ctl(*args)
    check(p.returncode == 0, "vswctl %s: %s" % (" ".join(args), p.stderr))
    return p


def Daemon():
    return vswtest.Daemon(VSWD, VSWCTL, TMP, CTL)


veth = vswtest.veth


class Peer:
    """The far end of a port's veth: send frames, read them back."""

    def __init__(self, port):
        self.port = port
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                               socket.htons(3))
        self.s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.s.bind((PORTS[port] + "p", 0))
        self.s.settimeout(0.02)

    def send(self, f):
        self.s.send(f)

    def recv_all(self):
        """Every test frame waiting, as (vlan or None, number)."""
        got = []
        while True:
            try:
                data, anc, _, addr = self.s.recvmsg(65536, 256)
            except socket.timeout:
                return got
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            vlan = None
            for lvl, typ, val in anc:
                if lvl == SOL_PACKET and typ == PACKET_AUXDATA:
                    st, _, _, _, _, tci, _ = struct.unpack("IIIHHHH",
                                                           val[:20])
                    if st & TP_STATUS_VLAN_VALID:
                        vlan = tci & 0xfff
            if len(data) >= 16 and data[12:14] == b"\x81\x00":
                vlan = struct.unpack("!H", data[14:16])[0] & 0xfff
                data = data[:12] + data[16:]
            if len(data) < 18 or struct.unpack("!H", data[12:14])[0] != \
                    ETYPE:
                continue
            got.append((vlan, struct.unpack("!I", data[14:18])[0]))


SEQ = [0]


def frame(dst, src, vlan=None):
    """A test frame with a new number; returns (bytes, number)."""
    SEQ[0] += 1
    tag = b"" if vlan is None else struct.pack("!HH", 0x8100, vlan)
    return (dst + src + tag + struct.pack("!HI", ETYPE, SEQ[0]) +
            b"\x5a" * 50, SEQ[0])


def exchange(peers, sends):
    """Send (port, frame) pairs, then what each peer received: read until
    nothing came for 0.6 s (8 s at most: a loaded machine is slow, never
    a reason to miss a frame or count one twice)."""
    for p in peers.values():
        p.recv_all()
    for port, f in sends:
        peers[port].send(f)
    got = {name: [] for name in peers}
    t0 = last = time.time()
    while time.time() - last < 0.6 and time.time() - t0 < 8:
        for name, p in peers.items():
            r = p.recv_all()
            if r:
                got[name] += r
                last = time.time()
    return got


def mirrors(bridge=None):
    p = ctl("--json", "list-mirrors", *([bridge] if bridge else []))
    check(p.returncode == 0, "list-mirrors: %s" % p.stderr)
    try:
        return {m["name"]: m for m in json.loads(p.stdout)["mirrors"]}
    except (ValueError, KeyError):
        check(False, "list-mirrors --json output: %r" % p.stdout)
        return {}


def learn(peers, *ports):
    """Each port's MAC learned (a broadcast from it)."""
    exchange(peers, [(p, frame(BCAST, MAC[p])[0]) for p in ports])


def test_src(peers):
    ok("add-mirror", "br1", "m1", "select-src-port=pa", "output-port=pm")
    fa, na = frame(BCAST, MAC["pa"])
    fb, nb = frame(BCAST, MAC["pb"])
    got = exchange(peers, [("pa", fa), ("pb", fb)])
    check(got["pm"] == [(None, na)],
          "select-src-port: the output gets pa's frame only: %r" % got["pm"])
    check((None, na) in got["pb"] and (None, nb) in got["pa"] and
          (None, na) in got["pc"] and (None, nb) in got["pc"],
          "forwarding goes on: %r" % got)
    m = mirrors("br1")["m1"]
    check(m["active"] and m["packets"] == 1 and m["drops"] == 0 and
          m["bytes"] == len(fa), "counters of m1: %r" % m)
    # what the output port sends goes nowhere
    fm, nm = frame(BCAST, MAC["pm"])
    got = exchange(peers, [("pm", fm)])
    check(all(got[p] == [] for p in ("pa", "pb", "pc", "pt")),
          "frames from the output port are dropped: %r" % got)
    out = ok("list-mirrors").stdout
    check("Mirror m1 (bridge br1): active" in out and
          "select-src-port: pa" in out and "output-port: pm" in out and
          "packets=1 bytes=%d drops=0" % len(fa) in out,
          "list-mirrors text: %r" % out)
    met = ok("metrics").stdout
    check('vsw_mirror_packets_total{bridge="br1",mirror="m1"} 1\n' in met
          and 'vsw_mirror_bytes_total{bridge="br1",mirror="m1"} %d\n' %
          len(fa) in met and
          'vsw_mirror_active{bridge="br1",mirror="m1"} 1\n' in met and
          "# TYPE vsw_mirror_drops_total counter" in met,
          "metrics of m1")
    ok("del-mirror", "br1", "m1")
    got = exchange(peers, [("pb", fb)])
    check((None, nb) in got["pm"], "after del-mirror pm is a port again")


def test_dst(peers):
    learn(peers, "pb", "pc")
    ok("add-mirror", "br1", "m2", "select-dst-port=pb", "output-port=pm")
    f1, n1 = frame(MAC["pb"], MAC["pa"])
    f2, n2 = frame(MAC["pc"], MAC["pa"])
    f3, n3 = frame(BCAST, MAC["pc"])
    f4, n4 = frame(MAC["pa"], MAC["pb"])
    got = exchange(peers, [("pa", f1), ("pa", f2), ("pc", f3), ("pb", f4)])
    check(sorted(got["pm"]) == [(None, n1), (None, n3)],
          "select-dst-port: unicast and flooded to pb only: %r (want %d %d)"
          % (got["pm"], n1, n3))
    check(mirrors()["m2"]["packets"] == 2, "m2 counted 2")
    ok("del-mirror", "br1", "m2")


def test_vlan(peers):
    ok("add-mirror", "br1", "m3", "select-all=true", "select-vlan=10,30-31",
       "output-port=pm")
    sends, want = [], []
    for v in (10, 20, None, 31):
        f, n = frame(BCAST, MAC["pa"], v)
        sends.append(("pa", f))
        if v in (10, 31):
            want.append((v, n))
    f, n = frame(BCAST, MAC["pb"], 30)
    sends.append(("pb", f))
    want.append((30, n))
    got = exchange(peers, sends)
    check(sorted(got["pm"], key=lambda x: x[1]) == want,
          "select-vlan: only VLANs 10, 30, 31, tagged: %r want %r" %
          (got["pm"], want))
    check(mirrors()["m3"]["packets"] == 3, "m3 counted 3")
    ok("del-mirror", "br1", "m3")


def test_output_vlan(peers):
    ok("set-port", "pt", "trunks=99")
    ok("add-mirror", "br1", "m4", "select-src-port=pa", "output-vlan=99")
    fa, na = frame(BCAST, MAC["pa"])
    f7, n7 = frame(BCAST, MAC["pa"], 7)
    fb, nb = frame(BCAST, MAC["pb"])
    got = exchange(peers, [("pa", fa), ("pa", f7), ("pb", fb)])
    check(sorted(got["pt"]) == [(99, na), (99, n7)],
          "output-vlan: the trunk of 99 gets pa's frames tagged 99: %r" %
          got["pt"])
    check((99, na) in got["pb"] and (None, na) in got["pb"] and
          (7, n7) in got["pb"] and (99, n7) in got["pb"],
          "a trunk of every VLAN gets the frame and the copy: %r" %
          got["pb"])
    check(all(n != nb or v is None for v, n in got["pa"] + got["pc"]),
          "pb's frames are not mirrored")
    check(not any(v == 99 for v, n in got["pa"]), "no copy back to pa")
    m = mirrors()["m4"]
    check(m["packets"] == 2 and "output_vlan" in m and
          m["output_vlan"] == 99, "m4: %r" % m)
    ok("del-mirror", "br1", "m4")
    ok("set-port", "pt", "trunks=")


def test_errors():
    cases = [
        (["add-mirror", "nobr", "x", "select-all=true", "output-port=pm"],
         1, "nobr"),
        (["add-mirror", "br1", "x", "select-src-port=nope",
          "output-port=pm"], 1, "no port 'nope'"),
        (["add-mirror", "br1", "x", "select-src-port=po",
          "output-port=pm"], 1, "is on bridge 'br2'"),
        (["add-mirror", "br1", "x", "select-all=true", "output-port=po"],
         1, "is on bridge 'br2'"),
        (["add-mirror", "br1", "x", "select-all=true", "output-port=zz"],
         1, "no port 'zz'"),
        (["add-mirror", "br1", "x", "select-all=true"], 2, "no output"),
        (["add-mirror", "br1", "x", "select-all=true", "output-port=pm",
          "output-vlan=5"], 1, "exactly one of"),
        (["add-mirror", "br1", "x", "select-src-port=pm",
          "output-port=pm"], 1, "also selected"),
        (["add-mirror", "br1", "x", "output-port=pm"], 1,
         "selects nothing"),
        (["add-mirror", "br1", "x", "select-all=true", "select-vlan=4096",
          "output-port=pm"], 2, "select-vlan"),
        (["add-mirror", "br1", "x", "select-all=true", "output-vlan=0"],
         1, "output_vlan"),
        (["add-mirror", "br1", "x", "select-all=yes", "output-port=pm"],
         2, "true or false"),
        (["add-mirror", "br1", "x", "color=red", "output-port=pm"], 2,
         "unknown setting"),
        (["add-mirror", "br1", "x", "select-src-port=pa,,pb",
          "output-port=pm"], 2, "comma-separated"),
        (["add-mirror", "br1", "bad:name", "select-all=true",
          "output-port=pm"], 1, "invalid mirror name"),
        (["del-mirror", "br1", "nope"], 1, "has no mirror 'nope'"),
        (["del-mirror", "nobr", "nope"], 1, "nobr"),
        (["list-mirrors", "nobr"], 1, "nobr"),
    ]
    for args, rc, words in cases:
        p = ctl(*args)
        check(p.returncode == rc and words in p.stderr,
              "%s: rc %d (want %d), %r (want %r)" %
              (" ".join(args), p.returncode, rc, p.stderr, words))
    ok("add-mirror", "br1", "dup", "select-all=true", "output-port=pm")
    p = ctl("add-mirror", "br1", "dup", "select-src-port=pa",
            "output-port=pm")
    check(p.returncode == 1 and "already has a mirror dup" in p.stderr,
          "a duplicate name: %r" % p.stderr)
    check(mirrors()["dup"]["select_all"], "the first one kept")
    ok("del-mirror", "br1", "dup")
    check(mirrors() == {}, "no mirror left after the errors")


def test_restart_and_gone(d, peers):
    ok("add-mirror", "br1", "keep", "select-src-port=pa,pc",
       "select-vlan=0", "output-port=pm")
    ok("add-mirror", "br1", "rspan", "select-dst-port=pc", "output-vlan=99")
    for p in peers.values():
        p.s.close()
    check(d.stop() == 0, "vswd stops cleanly")
    d = Daemon()
    time.sleep(0.5)
    peers = {p: Peer(p) for p in PORTS}
    ms = mirrors("br1")
    check(set(ms) == {"keep", "rspan"}, "both mirrors restored: %r" % ms)
    k = ms.get("keep", {})
    check(k.get("select_src_port") == ["pa", "pc"] and
          k.get("select_vlan") == [0] and k.get("output_port") == "pm" and
          k.get("active") and k.get("packets") == 0,
          "restored as added: %r" % k)
    check(ms.get("rspan", {}).get("output_vlan") == 99 and
          ms.get("rspan", {}).get("select_dst_port") == ["pc"],
          "rspan restored: %r" % ms.get("rspan"))
    fa, na = frame(BCAST, MAC["pa"])
    fv, nv = frame(BCAST, MAC["pa"], 5)
    got = exchange(peers, [("pa", fa), ("pa", fv)])
    check(got["pm"] == [(None, na)], "restored mirror works: %r" % got["pm"])
    # the output port goes: kept, inactive; back: active again
    peers["pm"].s.close()
    del peers["pm"]
    ok("del-port", "br1", "pm")
    k = mirrors()["keep"]
    check(not k["active"] and "output port pm" in k["status"],
          "inactive without its output port: %r" % k)
    check("inactive: output port pm" in ok("list-mirrors", "br1").stdout,
          "list-mirrors says inactive")
    got = exchange(peers, [("pa", frame(BCAST, MAC["pa"])[0])])
    check(got["pb"] != [], "forwarding goes on meanwhile")
    ok("add-port", "br1", "pm", "type=afpacket", "ifname=" + PORTS["pm"])
    time.sleep(0.5)
    peers["pm"] = Peer("pm")
    check(mirrors()["keep"]["active"], "active again with the port back")
    fc, nc = frame(BCAST, MAC["pc"])
    got = exchange(peers, [("pc", fc)])
    check(got["pm"] == [(None, nc)], "and mirrors again: %r" % got["pm"])
    ok("del-mirror", "br1", "keep")
    ok("del-mirror", "br1", "rspan")
    return d, peers


def test_completion():
    complete = vswtest.completer(VSWCTL, CTL)
    if complete is None:
        return
    ok("add-mirror", "br1", "cm", "select-all=true", "output-port=pm")
    check({"add-mirror", "del-mirror", "list-mirrors"} <= complete(["mirr"]) |
          complete(["add-m"]) | complete(["del-m"]) | complete(["list-m"]),
          "completes the mirror verbs")
    check("br1" in complete(["add-mirror", ""]), "add-mirror: a bridge")
    check({"select-src-port=", "output-vlan="} <=
          complete(["add-mirror", "br1", "m", ""]), "add-mirror settings")
    check(complete(["add-mirror", "br1", "m", "select-src-port=pa,p"]) >=
          {"select-src-port=pa,pb", "select-src-port=pa,pm"},
          "port names in a select list")
    check(complete(["add-mirror", "br1", "m", "output-port", "=", "p"]) >=
          {"pa", "pm"}, "port names after a split '='")
    check(complete(["del-mirror", "br1", ""]) == {"cm"},
          "del-mirror: the bridge's mirrors")
    check("br1" in complete(["list-mirrors", ""]), "list-mirrors: a bridge")
    ok("del-mirror", "br1", "cm")


def main():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("skipped: needs root and unshare")
        shutil.rmtree(TMP, ignore_errors=True)
        return 77
    vswtest.own_netns(TMP)
    d = None
    peers = {}
    try:
        vswtest.sh("ip link set lo up")
        for v in PORTS.values():
            veth(v)
        veth("vmir5")
        d = Daemon()
        ok("add-br", "br1")
        ok("add-br", "br2")
        for p, v in PORTS.items():
            ok("add-port", "br1", p, "type=afpacket", "ifname=" + v)
        ok("add-port", "br2", "po", "type=afpacket", "ifname=vmir5")
        time.sleep(0.5)
        peers = {p: Peer(p) for p in PORTS}
        test_errors()
        test_completion()
        test_src(peers)
        test_dst(peers)
        test_vlan(peers)
        test_output_vlan(peers)
        d, peers = test_restart_and_gone(d, peers)
        check(d.stop() == 0, "vswd stops cleanly")
        d = None
        text = open(os.path.join(TMP, "vswd.log")).read()
        check("runtime error" not in text and "Sanitizer" not in text,
              "no sanitizer report from vswd")
    finally:
        for p in peers.values():
            p.s.close()
        rc = vswtest.finish(d, TMP)
    return rc


if __name__ == "__main__":
    sys.exit(main())
