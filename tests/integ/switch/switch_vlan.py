#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vlan.py BUILDDIR WORKDIR

VLANs across vswd with two QEMU guests on vhostuser ports of one bridge.
The guest image gets the 802.1Q modules (vswinteg.vlan_image()).

  port p-a: access, tag=10          guest A: eth0 10.0.10.1/24
  port p-b: trunk, trunks=10,20     guest B: eth0.10 10.0.10.2/24,
                                             eth0.20 10.0.20.2/24,
                                             eth0.30 10.0.30.2/24

Checks:
 1. A <-> B over VLAN 10 (A untagged into an access port, B tagged on the
    trunk): pings of 56 and 1400 bytes both ways, no loss, and a TCP
    transfer both ways with the md5 computed here.
 2. B's frames in VLAN 30 (not in the trunk list) are dropped on p-b
    (vlan_filtered grows) and never reach p-a (its tx does not grow).
 3. A's tagged frames (eth0.20) on the access port are dropped on p-a
    (vlan_filtered grows); p-b's tx does not grow.
 4. Different VLANs: B moves to plain eth0 10.0.10.2/24 and p-b becomes an
    access port of VLAN 20; A (VLAN 10) cannot ping B, and p-b transmits
    nothing meanwhile although p-a received A's frames.  Then p-b is put in
    VLAN 10 and the same ping succeeds.
"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vswinteg as vi  # noqa: E402
from vswinteg import check, log  # noqa: E402

BR = "br1"
MACS = {"A": "52:54:00:00:0b:01", "B": "52:54:00:00:0b:02"}

B_VLANS = vi.LOAD_VLAN + """\
for v in 10 20 30; do
	vconfig add eth0 $v || exit 1
	ip addr add 10.0.$v.2/24 dev eth0.$v || exit 1
	ip link set eth0.$v up || exit 1
done
cat /proc/net/vlan/eth0.10
"""

A_VLAN20 = vi.LOAD_VLAN + """\
vconfig add eth0 20 || exit 1
ip addr add 10.0.20.1/24 dev eth0.20 && ip link set eth0.20 up
"""

B_FLAT = """\
for v in 10 20 30; do vconfig rem eth0.$v || exit 1; done
ip addr add 10.0.10.2/24 dev eth0
"""


def delta(before, after, port, way, key=None):
    if key is None:
        return after[port][way]["packets"] - before[port][way]["packets"]
    return (after[port][way]["drops"][key]
            - before[port][way]["drops"][key])


def test(builddir, workdir, cleanup, dumps):
    t0 = time.monotonic()
    img = vi.vlan_image(vi.image(workdir),
                        os.path.join(os.path.dirname(workdir), "img-vlan"))
    log("image ready in %.1fs" % (time.monotonic() - t0))
    vs = vi.Vswd(builddir, workdir, cleanup)
    dumps.append(vs)
    vs.start()
    vs.ctl("del-br", "br0")
    vs.ctl("add-br", BR)
    guests = {}
    for n, ips in (("A", ["10.0.10.1/24"]), ("B", [])):
        sock = os.path.join(workdir, "%s.vhu" % n)
        port = "p-" + n.lower()
        vs.ctl("add-port", BR, port, "type=vhostuser", "path=" + sock)
        g = vi.AgentGuest(n, img, workdir, cleanup,
                          vi.guest.vhost_user_net("n0", MACS[n], sock),
                          ips=ips)
        dumps.append(g)
        guests[n] = g
    vs.ctl("set-port", "p-a", "tag=10")
    vs.ctl("set-port", "p-b", "trunks=10,20")
    sh = {p["name"]: p for p in vs.show()["bridges"][0]["ports"]}
    check(sh["p-a"]["tag"] == 10 and sh["p-b"]["trunks"] in ("10,20",
                                                           [10, 20]),
          "show: p-a tag 10 (%s), p-b trunks 10,20 (%s)"
          % (sh["p-a"]["tag"], sh["p-b"]["trunks"]))
    a, b = guests["A"], guests["B"]
    for g in (a, b):
        g.start()
    for g in (a, b):
        log("guest %s ready after %.1fs" % (g.name, g.wait_ready()))
    vs.wait_links(["p-a", "p-b"])
    out = b.ok(B_VLANS, "VLAN subinterfaces")
    check(any(line.startswith("eth0.10") and "VID: 10" in line
              for line in out),
          "B: eth0.10 is an 802.1Q interface of VLAN 10 (%s)" % out[:1])

    # 1. VLAN 10: access <-> trunk.
    log("B reaches A after %.1fs" % vi.wait_reach(b, "10.0.10.1"))
    vi.check_pings(b, "10.0.10.1")
    vi.check_pings(a, "10.0.10.2")
    vi.transfer(a, "10.0.10.1", b, n=200000)
    fdb = vs.json("fdb-show", BR)["entries"]
    check(any(e["mac"] == MACS["B"] and e["vlan"] == 10
              and e["port"] == "p-b" for e in fdb)
          and any(e["mac"] == MACS["A"] and e["vlan"] == 10
                  and e["port"] == "p-a" for e in fdb),
          "MAC table: both MACs learned in VLAN 10 on their ports")

    # 2. VLAN 30 is not in p-b's trunk list.
    s0 = vs.port_stats(BR)
    got = vi.ping(b, "10.0.30.1", n=3, w=6)
    s1 = vs.port_stats(BR)
    check(got == 0, "B -> VLAN 30: no reply")
    d = delta(s0, s1, "p-b", "rx", "vlan_filtered")
    check(d >= 2, "p-b dropped %d frames of VLAN 30 (vlan_filtered)" % d)
    d = delta(s0, s1, "p-a", "tx")
    check(d == 0, "p-a transmitted %d frames meanwhile" % d)

    # 3. Tagged frames on the access port.
    a.ok(A_VLAN20, "A: eth0.20")
    s0 = vs.port_stats(BR)
    got = vi.ping(a, "10.0.20.2", n=3, w=6)
    s1 = vs.port_stats(BR)
    check(got == 0, "A (access port) -> 10.0.20.2 tagged VLAN 20: no reply")
    d = delta(s0, s1, "p-a", "rx", "vlan_filtered")
    check(d >= 2, "p-a dropped %d tagged frames (vlan_filtered)" % d)
    d = delta(s0, s1, "p-b", "tx")
    check(d == 0, "p-b transmitted %d frames meanwhile" % d)
    a.ok("vconfig rem eth0.20", "A: del eth0.20")

    # 4. Access ports in different VLANs.
    b.ok(B_FLAT, "B: flat eth0")
    vs.ctl("set-port", "p-b", "tag=20", "trunks=")
    sh = {p["name"]: p for p in vs.show()["bridges"][0]["ports"]}
    check(sh["p-b"]["tag"] == 20 and not sh["p-b"]["trunks"],
          "show: p-b access VLAN 20")
    s0 = vs.port_stats(BR)
    got = vi.ping(a, "10.0.10.2", n=3, w=6)
    s1 = vs.port_stats(BR)
    check(got == 0, "A (VLAN 10) -> B (VLAN 20): no reply")
    d_rx = delta(s0, s1, "p-a", "rx")
    d_tx = delta(s0, s1, "p-b", "tx")
    check(d_rx >= 2 and d_tx == 0,
          "p-a received %d frames, p-b transmitted %d" % (d_rx, d_tx))
    vs.ctl("set-port", "p-b", "tag=10")
    dt = vi.wait_reach(a, "10.0.10.2", timeout=30)
    log("p-b in VLAN 10: A reaches B after %.1fs" % dt)
    vi.check_pings(a, "10.0.10.2", sizes=(56, 1400))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    builddir = os.path.abspath(sys.argv[1])
    workdir = os.path.abspath(sys.argv[2])
    os.makedirs(workdir, exist_ok=True)
    return vi.main_wrapper(lambda c, d: test(builddir, workdir, c, d))


if __name__ == "__main__":
    sys.exit(main())
