#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vxlan_flow6.py BUILDDIR WORKDIR

Flow-based tunnels over an IPv6 underlay: remote_ip=flow key=flow
local_ip=flow, the peer and the source chosen by set_field of
tun_ipv6_dst / tun_ipv6_src, the receive side matched on tun_ipv6_src /
tun_ipv6_dst.  Two vswd, each in a network namespace of its own:

  namespace H1  vswd 1: br0 with internal port in0 (10.0.50.1/24) and vx0
                (type=vxlan remote_ip=flow key=flow local_ip=flow: one
                dual-stack socket); underlay veth with fd00:96::1/64 AND
                fd00:96::11/64
  namespace H2  vswd 2: in0 10.0.50.2, vx0 remote_ip=fd00:96::11
                local_ip=fd00:96::2 key=42 (a fixed IPv6 tunnel: it takes
                datagrams from fd00:96::11 only)

H1's rules: in0 -> `set_field:fd00:96::2->tun_ipv6_dst,set_field:
fd00:96::11->tun_ipv6_src,set_field:42->tun_id,output:vx0`; back by
`tun_id=42,tun_ipv6_src=fd00:96::2,tun_ipv6_dst=fd00:96::11,in_port=vx0`.
The route's source towards H2 is fd00:96::1, so H2 accepting H1's
datagrams (no `source` drop) shows local_ip=flow picked ::11; the answers
arriving for fd00:96::11 and matching the receive rule show the decap
filled tun_ipv6_src / tun_ipv6_dst (the destination from IPV6_PKTINFO).
Checked: pings of 56 and 1300 bytes, a TCP stream each way, the rules'
counters, a rule on another tun_ipv6_src that counts nothing, no drops on
either side.

Runs under `unshare --net` (re-executed); namespaces and interfaces are
named after this process id and removed on any exit.  Root only (77).
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_host_ports as shp  # noqa: E402
import switch_vxlan as sv  # noqa: E402
import switch_vxlan_flow as svf  # noqa: E402
import switch_vxlan_pair as svp  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

IPS = (sv.A_IP, sv.B_IP)
H1_UL, H1_SRC, H2_UL = "fd00:96::1", "fd00:96::11", "fd00:96::2"

H1_FLOWS = [
    "priority=20,in_port=in0,actions=set_field:%s->tun_ipv6_dst,"
    "set_field:%s->tun_ipv6_src,set_field:42->tun_id,output:vx0"
    % (H2_UL, H1_SRC),
    "priority=30,in_port=vx0,tun_id=42,tun_ipv6_src=%s,tun_ipv6_dst=%s,"
    "actions=output:in0" % (H2_UL, H1_SRC),
    "priority=40,in_port=vx0,tun_ipv6_src=fd00:96::99,actions=drop",
]


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    hs = ["vsw-vx6-%d-%d" % (pid, i) for i in (1, 2)]
    sv.netns_add(cleanup, hs)
    u1, u2 = "vx6a%d" % (pid % 10**6), "vx6b%d" % (pid % 10**6)
    run(["ip", "link", "add", u1, "type", "veth", "peer", "name", u2])
    for n, u, ips in ((hs[0], u1, (H1_UL, H1_SRC)), (hs[1], u2, (H2_UL,))):
        run(["ip", "link", "set", u, "netns", n])
        for ip in ips:
            sv.ns(n, "ip", "-6", "addr", "add", ip + "/64", "dev", u,
                  "nodad")
        sv.ns(n, "ip", "link", "set", u, "up")

    sides = svf.start_sides(
        builddir, workdir, hs, IPS,
        [("remote_ip=flow", "key=flow", "local_ip=flow"),
         ("remote_ip=" + H1_SRC, "local_ip=" + H2_UL, "key=42")],
        cleanup, dumps)
    h1, h2 = sides
    st = sv.port_status(h1, "vx0")
    check("to flow:4789 vni flow" in st, "vx0 status: %s" % st)

    h1.ctl("del-flows", sv.BR)
    for f in H1_FLOWS:
        h1.ctl("add-flow", sv.BR, f)
    dumped = svf.flows(h1)
    for want in ("tun_id=0x2a,tun_ipv6_src=%s,tun_ipv6_dst=%s,in_port="
                 % (H2_UL, H1_SRC),
                 "actions=set_field:%s->tun_ipv6_dst,set_field:%s->"
                 "tun_ipv6_src,set_field:0x2a->tun_id,output:"
                 % (H2_UL, H1_SRC)):
        check(any(want in ln for ln in dumped),
              "dump-flows prints %r: %s" % (want, dumped))
    # Before these rules the bridge flooded whatever in0 sent when it
    # came up (IPv6 router solicitations, MLD) to vx0 without a tun_dst:
    # counted as no_tun_dst then, so only what comes after counts here.
    base = {vs: sv.drops(vs, "vx0") for vs in sides}

    # the first ping waits for the links and ND
    svp.reach(hs[0], "H1 -> H2, remote_ip=flow over IPv6")
    shp.ns_ping_ok(hs[0], IPS[1], 56)
    shp.ns_ping_ok(hs[0], IPS[1], 1300)
    sv.tcp_both_ways(hs[0], hs[1], "H1 <-> H2 through remote_ip=flow, IPv6")
    dumped = svf.flows(h1)
    for prio, want in (("priority=20", True), ("priority=30", True),
                       ("priority=40", False)):
        ln = [x for x in dumped if prio + "," in x]
        check(len(ln) == 1 and (svf.n_packets(ln[0]) > 0) == want,
              "rule %s %s: %s" % (prio, "counted packets" if want
                                  else "matched nothing", ln))
    for name, vs in (("H1", h1), ("H2", h2)):
        d = {k: v - base[vs][k] for k, v in sv.drops(vs, "vx0").items()}
        check(all(v == 0 for v in d.values()),
              "no drops on %s's vx0 since the rules (no source drop on H2: "
              "H1 sent from %s): %s (before them: %s)"
              % (name, H1_SRC, d, base[vs]))
    log("remote_ip=flow local_ip=flow over IPv6 by set_field tun_ipv6_*")


if __name__ == "__main__":
    sys.exit(sv.main_netns(body))
