#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vxlan_flow.py BUILDDIR WORKDIR

Flow-based tunnels (remote_ip=flow key=flow), as Open vSwitch users write
them: three vswd, each in a network namespace of its own (three hosts).

  namespace H1  vswd 1: br0 with internal port in0 (10.0.50.1/24) and ONE
                tunnel port vx0 (type=vxlan remote_ip=flow key=flow, no
                local_ip: tun_dst of received packets from IP_PKTINFO);
                underlay veths to H2 (10.98.0.1/24) and H3 (10.97.0.1/24)
  namespace H2  vswd 2: in0 10.0.50.2, vx0 remote_ip=10.98.0.1 key=42
  namespace H3  vswd 3: in0 10.0.50.3, vx0 remote_ip=10.97.0.1 key=43

H1's table has no NORMAL rule: in0 -> H2 by `set_field:10.98.0.2->tun_dst,
set_field:42->tun_id,output:vx0`, in0 -> H3 by `set_field:10.97.0.2->
tun_dst,set_tunnel:43,output:vx0`, and back by `tun_id=42,tun_src=
10.98.0.2,tun_dst=10.98.0.1,in_port=vx0` / `tun_id=43,...`.  Checked: H1
pings H2 and H3 (so the rules picked both remotes through one port and
matched tun_id / tun_src / tun_dst on receive), a TCP stream each way to
H2, dump-flows prints the tunnel fields as ovs-ofctl does and counts
packets on each tunnel rule, a rule outputting to vx0 without tun_dst
counts a no_tun_dst drop, and a rule that would need tun_id=99 matches
nothing.

Runs under `unshare --net` (re-executed); namespaces and interfaces are
named after this process id and removed on any exit.  Root only (77).
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_host_ports as shp  # noqa: E402
import switch_vxlan as sv  # noqa: E402
import switch_vxlan_pair as svp  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

IPS = ("10.0.50.1", "10.0.50.2", "10.0.50.3")
# underlay: H1 <-> H2 on 10.98.0.0/24, H1 <-> H3 on 10.97.0.0/24
UL = (("10.98.0.1", "10.98.0.2"), ("10.97.0.1", "10.97.0.2"))
VNI = (42, 43)

H1_FLOWS = [
    "priority=20,ip,in_port=in0,nw_dst=10.0.50.2,"
    "actions=set_field:10.98.0.2->tun_dst,set_field:42->tun_id,output:vx0",
    "priority=20,arp,in_port=in0,arp_tpa=10.0.50.2,"
    "actions=set_field:10.98.0.2->tun_dst,set_field:42->tun_id,output:vx0",
    "priority=20,ip,in_port=in0,nw_dst=10.0.50.3,"
    "actions=set_field:10.97.0.2->tun_dst,set_tunnel:43,output:vx0",
    "priority=20,arp,in_port=in0,arp_tpa=10.0.50.3,"
    "actions=set_field:10.97.0.2->tun_dst,set_tunnel:43,output:vx0",
    # no tun_dst: the port cannot send it, counted as no_tun_dst
    "priority=20,ip,in_port=in0,nw_dst=10.0.50.9,actions=output:vx0",
    "priority=30,in_port=vx0,tun_id=42,tun_src=10.98.0.2,tun_dst=10.98.0.1,"
    "actions=output:in0",
    "priority=30,in_port=vx0,tun_id=43,tun_src=10.97.0.2,actions=output:in0",
    "priority=30,in_port=vx0,tun_id=99,actions=output:in0",
]


def flows(vs):
    """dump-flows lines of br0 (strings)."""
    return [ln.strip() for ln in vs.ctl("dump-flows", sv.BR).stdout
            .splitlines() if "actions=" in ln]


def n_packets(line):
    return int(line.split("n_packets=")[1].split(",")[0])


def start_sides(builddir, workdir, hs, ips, vx_opts, cleanup, dumps):
    """A vswd in each namespace of hs: internal port in0 with ips[i] and
    a vxlan port vx0 with the options vx_opts[i]; the vswds, in order."""
    sides = []
    for i, n in enumerate(hs):
        vs = svp.start_vswd(builddir, workdir, "vswd%d" % (i + 1), n,
                            cleanup, dumps)
        vs.ctl("add-port", sv.BR, "in0", "type=internal", "mtu=1400")
        cleanup.push("port in0 of vswd%d" % (i + 1),
                     lambda vs=vs: vs.ctl("del-port", sv.BR, "in0",
                                          check_rc=False))
        sv.ns(n, "ip", "addr", "add", ips[i] + "/24", "dev", "in0")
        vs.ctl("add-port", sv.BR, "vx0", "type=vxlan", *vx_opts[i])
        vs.wait_links(["in0", "vx0"])
        sides.append(vs)
    return sides


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    hs = ["vsw-vxf-%d-%d" % (pid, i) for i in (1, 2, 3)]
    sv.netns_add(cleanup, hs)
    for i, (a, b) in enumerate(UL):
        u1, u2 = "vxf%da%d" % (i, pid % 10**5), "vxf%db%d" % (i, pid % 10**5)
        run(["ip", "link", "add", u1, "type", "veth", "peer", "name", u2])
        for n, u, ip in ((hs[0], u1, a), (hs[i + 1], u2, b)):
            run(["ip", "link", "set", u, "netns", n])
            sv.ns(n, "ip", "addr", "add", ip + "/24", "dev", u)
            sv.ns(n, "ip", "link", "set", u, "up")

    sides = start_sides(builddir, workdir, hs, IPS,
                        [("remote_ip=flow", "key=flow")] +
                        [("remote_ip=" + UL[i][0], "local_ip=" + UL[i][1],
                          "key=%d" % VNI[i]) for i in (0, 1)],
                        cleanup, dumps)
    h1 = sides[0]
    st = sv.port_status(h1, "vx0")
    check("to flow:4789 vni flow" in st, "vx0 status: %s" % st)

    h1.ctl("del-flows", sv.BR)
    for f in H1_FLOWS:
        h1.ctl("add-flow", sv.BR, f)
    dumped = flows(h1)
    for want in ("tun_id=0x2a,tun_src=10.98.0.2,tun_dst=10.98.0.1,"
                 "in_port=",
                 "actions=set_field:10.98.0.2->tun_dst,"
                 "set_field:0x2a->tun_id,output:",
                 "actions=set_field:10.97.0.2->tun_dst,set_tunnel:0x2b,"
                 "output:"):
        check(any(want in ln for ln in dumped),
              "dump-flows prints %r: %s" % (want, dumped))

    # the first ping waits for the links and ARP (sv.B_IP is H2's in0)
    svp.reach(hs[0], "H1 -> H2 through remote_ip=flow")
    for i in (1, 2):
        shp.ns_ping_ok(hs[0], IPS[i], 56)
        shp.ns_ping_ok(hs[0], IPS[i], 1300)
    sv.tcp_both_ways(hs[0], hs[1], "H1 <-> H2 through remote_ip=flow")
    dumped = flows(h1)
    for vni in ("0x2a", "0x2b"):
        ln = [x for x in dumped if "tun_id=%s," % vni in x]
        check(len(ln) == 1 and n_packets(ln[0]) > 0,
              "receive rule tun_id=%s counted packets: %s" % (vni, ln))
    ln = [x for x in dumped if "tun_id=0x63," in x]
    check(len(ln) == 1 and n_packets(ln[0]) == 0,
          "rule tun_id=0x63 matched nothing: %s" % ln)
    for i in (1, 2):
        d = sv.drops(sides[i], "vx0")
        check(all(v == 0 for v in d.values()),
              "no drops on H%d's fixed vx0: %s" % (i + 1, d))

    # A rule without set_field:...->tun_dst: dropped and counted.
    sv.ns(hs[0], "ip", "neigh", "replace", "10.0.50.9", "lladdr",
          "02:00:00:00:00:09", "dev", "in0")
    sv.ns(hs[0], sys.executable, "-c", shp.NS_PING, "10.0.50.9", "3", "56",
          check_rc=False)
    d = sv.drops(h1, "vx0")
    check(d["no_tun_dst"] >= 3, "no_tun_dst drops on H1's vx0: %s" % d)
    log("one remote_ip=flow port reached two remotes by rules")


if __name__ == "__main__":
    sys.exit(sv.main_netns(body))
