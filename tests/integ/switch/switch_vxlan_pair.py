#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vxlan_pair.py BUILDDIR WORKDIR

Two vswd, each in a network namespace of its own (two hosts), joined by a
VXLAN tunnel over a veth underlay, no guest:

  namespace H1  vswd 1: bridge br0 with internal port `in0` (10.0.50.1/24)
                and vx0 (type=vxlan remote_ip=fd00:98::2 key=77)
  namespace H2  vswd 2: the same, in0 10.0.50.2/24, remote_ip=fd00:98::1
  underlay      veth U1 (fd00:98::1/64, 10.98.0.1/24) in H1, U2 in H2

Over the IPv6 underlay: H1 pings H2 (56 and 1300 bytes) and `seq 1 N`
goes each way over TCP with the md5 compared (the internal ports hand
partial checksums and TSO frames to vsw, which completes them before
encapsulating); then both ports are re-added over the IPv4 underlay with
csum=true and a ping and the TCP streams are checked again.  Neither
vxlan port counts a drop, and idle, each vswd uses under 10 % of a core
(the data threads sleep on the tunnel sockets).

Runs under `unshare --net` (re-executed); namespaces and interfaces are
named after this process id and removed on any exit.  Root only (77).
"""

import ctypes
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_gone as sg  # noqa: E402
import switch_host_ports as shp  # noqa: E402
import switch_vxlan as sv  # noqa: E402
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

CLONE_NEWNET = 0x40000000


class InNetns:
    """Run the body (e.g. starting a vswd) in the named namespace."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.old = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            self._setns(fd)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        try:
            self._setns(self.old)
        finally:
            os.close(self.old)

    @staticmethod
    def _setns(fd):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns: " + os.strerror(e))


def start_vswd(builddir, workdir, name, netns, cleanup, dumps):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    vs = vi.Vswd(builddir, d, cleanup)
    dumps.append(vs)
    with InNetns(netns):
        vs.start()
    return vs


def tunnel(sides, fam):
    """(Re-)add vx0 on both sides over the IPv4 or IPv6 underlay."""
    ips = sv.U6 if fam == "6" else sv.U4
    for i, (vs, _) in enumerate(sides):
        vs.ctl("del-port", sv.BR, "vx0", check_rc=False)
        vs.ctl("add-port", sv.BR, "vx0", "type=vxlan",
               "remote_ip=" + ips[1 - i], "local_ip=" + ips[i], "key=77",
               "csum=true")
    for vs, _ in sides:
        vs.wait_links(["in0", "vx0"])


def reach(ns_a, what):
    deadline = time.monotonic() + 30
    while True:
        r = sv.ns(ns_a, sys.executable, "-c", shp.NS_PING, sv.B_IP, "1",
                  "56", check_rc=False)
        if "1 received" in r.stdout:
            return
        if time.monotonic() > deadline:
            raise vi.Fail("%s: H1 does not reach H2: %s" % (what, r.stdout))


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    h1, h2 = "vsw-vxp-%d-1" % pid, "vsw-vxp-%d-2" % pid
    u1, u2 = "vxp1u%d" % (pid % 10**6), "vxp2u%d" % (pid % 10**6)
    sv.netns_add(cleanup, (h1, h2))
    run(["ip", "link", "add", u1, "type", "veth", "peer", "name", u2])
    for n, u, i in ((h1, u1, 0), (h2, u2, 1)):
        run(["ip", "link", "set", u, "netns", n])
        sv.ns(n, "ip", "addr", "add", sv.U4[i] + "/24", "dev", u)
        sv.ns(n, "ip", "addr", "add", sv.U6[i] + "/64", "dev", u, "nodad")
        sv.ns(n, "ip", "link", "set", u, "up")

    sides = []
    for i, (n, ip) in enumerate(((h1, sv.A_IP), (h2, sv.B_IP))):
        vs = start_vswd(builddir, workdir, "vswd%d" % (i + 1), n, cleanup,
                        dumps)
        # the interface appears in vswd's namespace, n
        vs.ctl("add-port", sv.BR, "in0", "type=internal", "mtu=1400")
        cleanup.push("port in0 of vswd%d" % (i + 1),
                     lambda vs=vs: vs.ctl("del-port", sv.BR, "in0",
                                          check_rc=False))
        sv.ns(n, "ip", "addr", "add", ip + "/24", "dev", "in0")
        sides.append((vs, n))

    for fam in ("6", "4"):
        what = "vswd to vswd, IPv%s underlay" % fam
        tunnel(sides, fam)
        s0 = [vs.port_stats(sv.BR)["vx0"] for vs, _ in sides]
        reach(h1, what)
        for size in (56, 1300):
            shp.ns_ping_ok(h1, sv.B_IP, size)
        sv.tcp_both_ways(h1, h2, what)
        for (vs, n), before in zip(sides, s0):
            now = vs.port_stats(sv.BR)["vx0"]
            d = now["tx"]["packets"] - before["tx"]["packets"]
            check(d >= 100, "%s: vx0 in %s tx +%d packets" % (what, n, d))
            d = sv.drops(vs, "vx0")
            check(all(v == 0 for v in d.values()),
                  "%s: no drops on vx0 in %s: %s" % (what, n, d))
    log("both underlays carried both TCP streams")

    # Idle tunnels sleep on their sockets: no data thread polls them.
    t0 = [sg.cpu_s(vs.proc.pid) for vs, _ in sides]
    time.sleep(2)
    for (vs, n), c0 in zip(sides, t0):
        pct = (sg.cpu_s(vs.proc.pid) - c0) * 50
        check(pct < 10, "idle vswd in %s with a vxlan port: %.1f %% of a "
              "core" % (n, pct))


if __name__ == "__main__":
    sys.exit(sv.main_netns(body))
