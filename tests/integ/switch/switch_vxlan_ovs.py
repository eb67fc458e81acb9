#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vxlan_ovs.py BUILDDIR WORKDIR

Open vSwitch's userspace datapath as the VXLAN peer of vswd, no guest:

  namespace H1  vswd: br0 with internal port in0 (10.0.50.1/24, mtu 1400)
                and vx0 (type=vxlan remote_ip=10.96.0.2 local_ip=10.96.0.1
                key=88); underlay veth end U1 10.96.0.1/24
  namespace H2  ovsdb-server + ovs-vswitchd (own run / db / log dirs in
                WORKDIR), two netdev bridges as OVS's userspace-tunneling
                guide sets them up: br-phy holding the underlay veth end
                U2, with 10.96.0.2/24 on br-phy's own interface (OVS routes
                and ARPs the outer header itself), and br-int with the
                tunnel port vx0 (type=vxlan remote_ip=10.96.0.1 key=88) and
                10.0.50.2/24 (mtu 1400) on br-int's own interface

Checks: H1 pings H2's host stack behind OVS (56 and 1300 bytes), `seq 1 N`
goes each way over TCP with the md5 compared, vswd's vx0 counts no drop,
OVS's underlay port counts the datagrams both ways and OVS's datapath flows
show its own tnl_push / tnl_pop (OVS keeps no counters on a userspace
tunnel port).

Runs under `unshare --net` (re-executed); namespaces and interfaces are
named after this process id and removed on any exit.  Root, ovs-vswitchd
and ovsdb-server (Debian's openvswitch-switch) needed, 77 otherwise.
"""

import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_host_ports as shp  # noqa: E402
import switch_vxlan as sv  # noqa: E402
import switch_vxlan_pair as svp  # noqa: E402
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

UL = ("10.96.0.1", "10.96.0.2")
VNI = 88
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


class OvsInNetns:
    """ovsdb-server and ovs-vswitchd in namespace @netns, all their files
    in @d (OVS_RUNDIR / OVS_DBDIR / OVS_LOGDIR / OVS_SYSCONFDIR)."""

    def __init__(self, netns, d, cleanup):
        self.netns, self.d = netns, d
        os.makedirs(d, exist_ok=True)
        self.env = dict(os.environ, OVS_RUNDIR=d, OVS_LOGDIR=d, OVS_DBDIR=d,
                        OVS_SYSCONFDIR=d, OVS_PKGDATADIR="/usr/share/"
                        "openvswitch")
        self.db = "unix:" + os.path.join(d, "db.sock")
        conf = os.path.join(d, "conf.db")
        # a database (and sockets) of an earlier run in the same WORKDIR
        for f in ("conf.db", "db.sock", "ovsdb.ctl", "vswitchd.ctl"):
            if os.path.exists(os.path.join(d, f)):
                os.unlink(os.path.join(d, f))
        subprocess.run(["ovsdb-tool", "create", conf, SCHEMA], check=True,
                       env=self.env)
        self.procs = []
        cleanup.push("ovs in " + netns, self.stop)
        self._spawn(["ovsdb-server", conf, "--remote=p" + self.db,
                     "--unixctl=" + os.path.join(d, "ovsdb.ctl"),
                     "--log-file=" + os.path.join(d, "ovsdb.log")])
        self._wait_for(os.path.join(d, "db.sock"))
        self.vsctl("--no-wait", "init")
        self._spawn(["ovs-vswitchd", self.db,
                     "--unixctl=" + os.path.join(d, "vswitchd.ctl"),
                     "--log-file=" + os.path.join(d, "vswitchd.log")])

    def _spawn(self, argv):
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.netns] + argv, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    @staticmethod
    def _wait_for(path):
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise vi.Fail("%s did not appear" % path)
            time.sleep(0.05)

    def vsctl(self, *args):
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, "ovs-vsctl",
             "--db=" + self.db, "--timeout=30"] + list(args),
            check=True, env=self.env, capture_output=True, text=True,
            timeout=60).stdout

    def appctl(self, *args):
        return subprocess.run(
            ["ovs-appctl", "-t", os.path.join(self.d, "vswitchd.ctl")] +
            list(args), env=self.env, capture_output=True, text=True,
            timeout=30).stdout

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def ovs_port_stats(ovs, port):
    """rx / tx packets of an OVS interface from its statistics column."""
    st = ovs.vsctl("get", "interface", port, "statistics")
    d = dict(kv.split("=") for kv in st.strip("{}\n").split(", ") if kv)
    return int(d.get("rx_packets", 0)), int(d.get("tx_packets", 0))


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    h1, h2 = "vsw-vxo-%d-1" % pid, "vsw-vxo-%d-2" % pid
    u1, u2 = "vxo1u%d" % (pid % 10**6), "vxo2u%d" % (pid % 10**6)
    sv.netns_add(cleanup, (h1, h2))
    run(["ip", "link", "add", u1, "type", "veth", "peer", "name", u2])
    run(["ip", "link", "set", u1, "netns", h1])
    run(["ip", "link", "set", u2, "netns", h2])
    sv.ns(h1, "ip", "addr", "add", UL[0] + "/24", "dev", u1)
    sv.ns(h1, "ip", "link", "set", u1, "up")
    sv.ns(h2, "ip", "link", "set", u2, "up")

    vs = svp.start_vswd(builddir, workdir, "vswd", h1, cleanup, dumps)
    vs.ctl("add-port", sv.BR, "in0", "type=internal", "mtu=1400")
    cleanup.push("port in0", lambda: vs.ctl("del-port", sv.BR, "in0",
                                            check_rc=False))
    sv.ns(h1, "ip", "addr", "add", sv.A_IP + "/24", "dev", "in0")
    vs.ctl("add-port", sv.BR, "vx0", "type=vxlan", "remote_ip=" + UL[1],
           "local_ip=" + UL[0], "key=%d" % VNI)
    vs.wait_links(["in0", "vx0"])

    ovs = OvsInNetns(h2, os.path.join(workdir, "ovs"), cleanup)
    ovs.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy",
              "datapath_type=netdev", "--", "add-port", "br-phy", u2)
    ovs.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int",
              "datapath_type=netdev", "--", "add-port", "br-int", "vx0",
              "--", "set", "interface", "vx0", "type=vxlan",
              "options:remote_ip=" + UL[0], "options:key=%d" % VNI)
    sv.ns(h2, "ip", "addr", "add", UL[1] + "/24", "dev", "br-phy")
    sv.ns(h2, "ip", "link", "set", "br-phy", "up")
    sv.ns(h2, "ip", "addr", "add", sv.B_IP + "/24", "dev", "br-int")
    sv.ns(h2, "ip", "link", "set", "br-int", "mtu", "1400", "up")
    # OVS reads the kernel's routes at start; the ones added since come
    # by netlink, but say it so the route is there before the first ping
    ovs.appctl("ovs/route/add", UL[0] + "/24", "br-phy")

    what = "vswd <-> Open vSwitch userspace vxlan"
    s0 = vs.port_stats(sv.BR)["vx0"]
    o0 = ovs_port_stats(ovs, u2)
    deadline = time.monotonic() + 60
    while True:
        r = sv.ns(h1, sys.executable, "-c", shp.NS_PING, sv.B_IP, "1", "56",
                  check_rc=False)
        if "1 received" in r.stdout:
            break
        if time.monotonic() > deadline:
            log(ovs.appctl("ovs/route/show"))
            log(ovs.appctl("tnl/arp/show"))
            raise vi.Fail("%s: H1 does not reach H2: %s" % (what, r.stdout))
    for size in (56, 1300):
        shp.ns_ping_ok(h1, sv.B_IP, size)
    sv.tcp_both_ways(h1, h2, what)
    now = vs.port_stats(sv.BR)["vx0"]
    d = now["tx"]["packets"] - s0["tx"]["packets"]
    check(d >= 100, "%s: vswd's vx0 tx +%d packets" % (what, d))
    d = sv.drops(vs, "vx0")
    check(all(v == 0 for v in d.values()),
          "%s: no drops on vswd's vx0: %s" % (what, d))
    # OVS keeps no statistics on a userspace tunnel port: its underlay
    # port counts the datagrams, and its datapath flows show that OVS
    # itself encapsulated (tnl_push) and decapsulated (tnl_pop) them
    # the statistics column is refreshed every 5 s (stats-update-interval)
    dp = ovs.appctl("dpctl/dump-flows")
    deadline = time.monotonic() + 30
    while True:
        o1 = ovs_port_stats(ovs, u2)
        if (o1[0] - o0[0] >= 100 and o1[1] - o0[1] >= 100) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(o1[0] - o0[0] >= 100 and o1[1] - o0[1] >= 100,
          "%s: OVS's underlay port rx +%d tx +%d packets"
          % (what, o1[0] - o0[0], o1[1] - o0[1]))
    check("tnl_push(tnl_port(" in dp and "tnl_pop(" in dp,
          "%s: OVS's datapath flows push and pop the vxlan header: %s"
          % (what, " | ".join(ln for ln in dp.splitlines()
                              if "tnl_" in ln)[:600]))
    log("Open vSwitch's userspace vxlan carried ping and both TCP streams")


def main():
    for tool in ("ovs-vswitchd", "ovsdb-server", "ovsdb-tool", "ovs-vsctl"):
        if shutil.which(tool) is None:
            print("SKIP: no %s (openvswitch-switch)" % tool)
            return 77
    return sv.main_netns(body)


if __name__ == "__main__":
    sys.exit(main())
