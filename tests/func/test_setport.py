#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Functional test of `vswctl set-port` live options and the rate limits
(suite func), with a running vswd and real traffic.

In a network namespace of its own: vswd with bridge br1, two afpacket
ports on veth pairs (pa, pb) and an internal port (pi). Raw frames sent
into pa's veth peer are flooded by vswd out of pb. Checks, live and after
a restart of vswd: an ingress policer on pa drops what exceeds its rate
(rx_policed, at most rate x time + burst passes) and nothing once removed;
an egress max-rate on pb drops (tx_rate); the MTU of the internal port
changes in the kernel; every refusal (unknown port, unknown key, bad
value, an option that cannot change live) leaves the stored and the
running values as they were.

usage: test_setport.py VSWD VSWCTL
Root only (namespaces, veth); exit 77 (skipped) otherwise.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import vswtest
from vswtest import check

VSWD, VSWCTL = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="vsw-func-setport-")
CTL = os.path.join(TMP, "vswd.ctl")
FRAME_LEN = 1000  # bytes: 8000 bits


def ctl(*args):
    p = subprocess.run([VSWCTL, "--ctl", CTL, "--timeout", "20"] +
                       list(args), capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def ok(*args):
    rc, out, err = ctl(*args)
    check(rc == 0, "vswctl %s: rc %d %s" % (" ".join(args), rc, err))
    return out


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True,
                          text=True).returncode


def port_json(name):
    rc, out, _ = ctl("--json", "show")
    for b in json.loads(out)["bridges"]:
        for p in b["ports"]:
            if p["name"] == name:
                return p
    return None


def options(name):
    p = port_json(name)
    return p["options"] if p is not None else None


def stats(name):
    rc, out, _ = ctl("--json", "dump-ports", "br1")
    for p in json.loads(out)["ports"]:
        if p["name"] == name:
            return p
    raise RuntimeError("no port %s in dump-ports" % name)


def mtu(ifname):
    with open("/sys/class/net/%s/mtu" % ifname) as f:
        return int(f.read())


def settle(name, direction="rx"):
    """Wait until the port's counters stop moving (the burst is through)."""
    last, same = None, 0
    deadline = time.time() + 30
    while time.time() < deadline and same < 5:
        s = stats(name)[direction]
        cur = (s["packets"], tuple(sorted(s["drops"].items())))
        same = same + 1 if cur == last else 0
        last = cur
        time.sleep(0.05)


def blast(n):
    """n broadcast frames into pa's peer; returns (seconds it took, the
    frames flooded out of pb, rx drops of pa, tx drops of pb) as the
    counters grew."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind(("vsp0p", 0))
    a0, b0 = stats("pa"), stats("pb")
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x0b\x01" + b"\x88\xb5" + \
        b"vsw-setport".ljust(FRAME_LEN - 14, b".")
    t0 = time.time()
    for _ in range(n):
        s.send(frame)
    s.close()
    settle("pa")
    settle("pb", "tx")
    dt = time.time() - t0
    a1, b1 = stats("pa"), stats("pb")
    return (dt, b1["tx"]["packets"] - b0["tx"]["packets"],
            a1["rx"]["packets"] - a0["rx"]["packets"],
            a1["rx"]["drops"]["rx_policed"] - a0["rx"]["drops"]["rx_policed"],
            b1["tx"]["drops"]["tx_rate"] - b0["tx"]["drops"]["tx_rate"])


def check_policed(what, rate_kbps, burst_kb):
    dt, out, rx, policed, _ = blast(3000)
    # what the bucket allows over the time measured, plus one frame
    bound = (rate_kbps * 1000 * dt + burst_kb * 1000) / (FRAME_LEN * 8) + 1
    check(policed > 0, "%s: rx_policed counted (%d of %d)" %
          (what, policed, rx))
    check(rx - policed <= bound, "%s: %d passed, at most %.0f" %
          (what, rx - policed, bound))
    check(out <= rx - policed, "%s: pb sent %d <= %d passed" %
          (what, out, rx - policed))


def test_live():
    # no limit: everything received is forwarded, nothing policed
    dt, out, rx, policed, shaped = blast(200)
    check(rx > 0 and policed == 0 and shaped == 0,
          "no limit: %d received, %d policed" % (rx, policed))
    check(0 < out <= rx, "no limit: pb sent %d of %d" % (out, rx))
    # ingress policing, live: 2 Mbit/s, burst 100 kbit (12 frames)
    ok("set-port", "pa", "ingress_policing_rate=2000",
       "ingress_policing_burst=100")
    o = options("pa")
    check(o.get("ingress_policing_rate") == "2000" and
          o.get("ingress_policing_burst") == "100", "stored: %s" % o)
    check_policed("policer 2 Mbit/s", 2000, 100)
    # removed: nothing policed any more
    ok("set-port", "pa", "ingress_policing_rate=", "ingress_policing_burst=")
    check("ingress_policing_rate" not in options("pa"), "policer removed")
    dt, out, rx, policed, _ = blast(200)
    check(rx > 0 and policed == 0, "removed: %d policed" % policed)
    # egress max-rate on pb
    ok("set-port", "pb", "max-rate=2000000", "max-burst=100000")
    dt, out, rx, policed, shaped = blast(3000)
    bound = (2000000 * dt + 100000) / (FRAME_LEN * 8) + 1
    check(shaped > 0 and out <= bound,
          "max-rate: %d dropped tx_rate, %d sent, at most %.0f" %
          (shaped, out, bound))
    ok("set-port", "pb", "max-rate=", "max-burst=")
    # MTU of the internal port, in the kernel
    check(mtu("pi") == 1500, "pi starts at mtu 1500 (%d)" % mtu("pi"))
    ok("set-port", "pi", "mtu=1400")
    check(mtu("pi") == 1400, "mtu 1400 live (%d)" % mtu("pi"))
    check(options("pi").get("mtu") == "1400", "mtu stored")
    # both kinds in one call
    ok("set-port", "pi", "mtu=1300", "ingress_policing_rate=5000")
    check(mtu("pi") == 1300 and options("pi") ==
          {"mtu": "1300", "ingress_policing_rate": "5000"},
          "mtu and policer in one call: %d %s" % (mtu("pi"), options("pi")))


def test_errors():
    before = {n: options(n) for n in ("pa", "pb", "pi")}
    for args, what in (
            (["set-port", "nope", "mtu=1400"], "no port 'nope'"),
            (["set-port", "pi", "foo=1"],
             "unknown option 'foo' for type internal"),
            (["set-port", "pi", "mtu=10"], "expected an integer in 68..65535"),
            (["set-port", "pi", "mtu=1200", "ingress_policing_rate=abc"],
             "ingress_policing_rate=abc: expected an integer"),
            (["set-port", "pa", "max-rate=-5"], "max-rate=-5"),
            (["set-port", "pa", "ifname=vsp1"],
             "option ifname of type afpacket cannot change on a running "
             "port (the socket is bound to the interface): del-port and "
             "add-port it"),
            (["set-port", "pi", "mtu=1200", "tag=5000"], "out of range")):
        rc, out, err = ctl(*args)
        check(rc == 1 and what in err,
              "%s: rc %d, %r (want %r)" % (args, rc, err, what))
    rc, _, err = ctl("set-port", "pa", "type=tap")
    check(rc == 2 and "type of a port cannot change" in err,
          "set-port type=: usage error (%d %s)" % (rc, err))
    after = {n: options(n) for n in ("pa", "pb", "pi")}
    check(after == before, "refusals changed nothing stored: %s -> %s" %
          (before, after))
    check(mtu("pi") == 1300, "refusals left the mtu (%d)" % mtu("pi"))
    # the running policer of pi is still the stored one: not set on pa
    dt, out, rx, policed, _ = blast(100)
    check(policed == 0, "no policer on pa after the refusals")


def test_pending():
    """pq's interface was deleted while vswd was stopped: the port is not
    open. set-port checks the rate options now and stores; the port opens
    with them when the interface is back."""
    p = port_json("pq")
    check(p is not None and "not open" in p["status"],
          "pq is not open: %s" % p)
    before = options("pq")
    rc, _, err = ctl("set-port", "pq", "ingress_policing_rate=abc")
    check(rc == 1 and "ingress_policing_rate=abc" in err,
          "pending port: bad value refused (%d %s)" % (rc, err))
    check(options("pq") == before, "pending port: nothing stored")
    ok("set-port", "pq", "ingress_policing_rate=500")
    check(options("pq").get("ingress_policing_rate") == "500",
          "pending port: stored")
    vswtest.veth("vsp2")
    deadline = time.time() + 30
    while time.time() < deadline and port_json("pq")["link"] != "up":
        time.sleep(0.2)
    p = port_json("pq")
    check(p["link"] == "up" and p["options"].get("ingress_policing_rate") ==
          "500", "pq opens with the option: %s" % p)


def setup(d):
    for c in (["add-br", "br1"],
              ["add-port", "br1", "pa", "type=afpacket", "ifname=vsp0"],
              ["add-port", "br1", "pb", "type=afpacket", "ifname=vsp1"],
              ["add-port", "br1", "pi", "type=internal"]):
        rc, _, err = ctl(*c)
        if rc != 0:
            raise RuntimeError("vswctl %s: %r" % (c, err))
    time.sleep(0.5)


def main():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("skipped: needs root and unshare")
        shutil.rmtree(TMP, ignore_errors=True)
        return 77
    vswtest.own_netns(TMP)
    d = None
    try:
        sh("ip link set lo up")
        # no IPv6 chatter of the kernel on the veths or pi (counted frames)
        sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=1")
        sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
        vswtest.veth("vsp0")
        vswtest.veth("vsp1")
        d = vswtest.Daemon(VSWD, VSWCTL, TMP)
        setup(d)
        test_live()
        test_errors()
        # a policer on pa and an mtu on pi, kept across a restart
        ok("set-port", "pa", "ingress_policing_rate=2000",
           "ingress_policing_burst=100")
        vswtest.veth("vsp2")
        ok("add-port", "br1", "pq", "type=afpacket", "ifname=vsp2")
        check(d.stop() == 0, "vswd stops cleanly")
        sh("ip link del vsp2")
        d = vswtest.Daemon(VSWD, VSWCTL, TMP)
        time.sleep(0.5)
        test_pending()
        check(options("pa").get("ingress_policing_rate") == "2000",
              "policer stored across the restart")
        check(mtu("pi") == 1300, "mtu 1300 after the restart (%d)" %
              mtu("pi"))
        check_policed("policer after the restart", 2000, 100)
        check(d.stop() == 0, "vswd stops cleanly again")
        d = None
        text = open(os.path.join(TMP, "vswd.log")).read()
        check("runtime error" not in text and "Sanitizer" not in text,
              "no sanitizer report from vswd")
    finally:
        rc = vswtest.finish(d, TMP)
    return rc


if __name__ == "__main__":
    sys.exit(main())
