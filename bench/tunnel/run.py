#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/tunnel/run.py [--build-dir DIR] [--seconds S] [--size N]

VXLAN encap + decap between two hosts (network namespaces) over a veth
underlay, three ways on the same path, each measured the same way:

  vsw     two vswd, each: internal port in0 + vx0 (type=vxlan)
  kernel  two Linux vxlan devices (the host stacks sit on them directly)
  ovs     two Open vSwitch userspace datapaths (netdev bridges: br-int
          with in0's place taken by br-int's own interface and a vxlan
          port, br-phy holding the underlay veth), if ovs-vswitchd is
          installed

Load: one Python UDP sender in host A blasting SIZE-byte datagrams at host
B's inner address for S seconds, a receiver in B counting them.  Reported
per row: datagrams received per second, and for vsw / ovs the CPU time the
datapath processes of both sides used (utime + stime from /proc) per
received datagram, in ns and in cycles at the TSC rate (/proc/cpuinfo
"cpu MHz").  The kernel's own encap / decap runs in softirq context of
whatever process is current and cannot be charged the same way: its row
has no CPU figure.  On a shared 2-core VM the sender, the receiver and
both datapaths share the cores, so throughput is bounded by the Python
sender as much as by the datapath; compare the CPU-per-packet column.

Root only; about 20 s per row.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "integ", "switch"))
import switch_vxlan as sv  # noqa: E402
import switch_vxlan_ovs as svo  # noqa: E402
import switch_vxlan_pair as svp  # noqa: E402
import vswinteg as vi  # noqa: E402

UL = ("10.95.0.1", "10.95.0.2")
IN = ("10.0.95.1", "10.0.95.2")
VNI = 95

SENDER = """\
import socket, sys, time
dst, size, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = b"x" * size
end = time.monotonic() + secs
n = 0
while time.monotonic() < end:
    for _ in range(64):
        try:
            s.sendto(b, (dst, 9999))
            n += 1
        except OSError:
            pass
print(n)
"""

RECEIVER = """\
import socket, sys, time
ip, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((ip, 9999))
s.settimeout(1.0)
print("READY", flush=True)
n, first, last = 0, None, None
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        s.recv(65536)
    except socket.timeout:
        if n:
            break
        continue
    last = time.monotonic()
    if first is None:
        first = last
    n += 1
print(n, (last - first) if n > 1 else 0.0)
"""


def tsc_hz():
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("cpu MHz"):
                return float(ln.split(":")[1]) * 1e6
    return 0.0


def cpu_s(pids):
    tick = os.sysconf("SC_CLK_TCK")
    t = 0
    for p in pids:
        with open("/proc/%d/stat" % p) as f:
            f = f.read().rsplit(")", 1)[1].split()
        t += int(f[11]) + int(f[12])
    return t / tick


def underlay(cleanup, tag, ip_on_b=True):
    pid = os.getpid()
    ns = ["vsw-bt-%d-%s-a" % (pid, tag), "vsw-bt-%d-%s-b" % (pid, tag)]
    u = ["bt%sa%d" % (tag[0], pid % 10**5), "bt%sb%d" % (tag[0], pid % 10**5)]
    sv.netns_add(cleanup, ns)
    vi.run(["ip", "link", "add", u[0], "type", "veth", "peer", "name", u[1]])
    for i in (0, 1):
        vi.run(["ip", "link", "set", u[i], "netns", ns[i]])
        sv.ns(ns[i], "ip", "link", "set", u[i], "up")
        if i == 0 or ip_on_b:
            sv.ns(ns[i], "ip", "addr", "add", UL[i] + "/24", "dev", u[i])
    return ns, u


def setup_vsw(args, cleanup, dumps, work):
    ns, _ = underlay(cleanup, "vsw")
    pids = []
    for i in (0, 1):
        vs = svp.start_vswd(args.build_dir, work, "vswd%d" % i, ns[i],
                            cleanup, dumps)
        vs.ctl("add-port", sv.BR, "in0", "type=internal", "mtu=1450")
        cleanup.push("in0", lambda vs=vs: vs.ctl("del-port", sv.BR, "in0",
                                                 check_rc=False))
        vs.ctl("add-port", sv.BR, "vx0", "type=vxlan",
               "remote_ip=" + UL[1 - i], "local_ip=" + UL[i],
               "key=%d" % VNI)
        vs.wait_links(["in0", "vx0"])
        sv.ns(ns[i], "ip", "addr", "add", IN[i] + "/24", "dev", "in0")
        sv.ns(ns[i], "ip", "link", "set", "in0", "up")
        pids.append(vs.proc.pid)
    return ns, pids


def setup_kernel(args, cleanup, dumps, work):
    ns, u = underlay(cleanup, "kernel")
    for i in (0, 1):
        sv.ns(ns[i], "ip", "link", "add", "vx0", "type", "vxlan", "id",
              str(VNI), "remote", UL[1 - i], "local", UL[i], "dstport",
              "4789", "dev", u[i])
        sv.ns(ns[i], "ip", "addr", "add", IN[i] + "/24", "dev", "vx0")
        sv.ns(ns[i], "ip", "link", "set", "vx0", "up")
    return ns, None


def setup_ovs(args, cleanup, dumps, work):
    ns, u = underlay(cleanup, "ovs", ip_on_b=False)
    sv.ns(ns[0], "ip", "addr", "del", UL[0] + "/24", "dev", u[0])
    pids = []
    for i in (0, 1):
        ovs = svo.OvsInNetns(ns[i], os.path.join(work, "ovs%d" % i),
                             cleanup)
        ovs.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy",
                  "datapath_type=netdev", "--", "add-port", "br-phy", u[i])
        ovs.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int",
                  "datapath_type=netdev", "--", "add-port", "br-int", "vx0",
                  "--", "set", "interface", "vx0", "type=vxlan",
                  "options:remote_ip=" + UL[1 - i], "options:key=%d" % VNI)
        sv.ns(ns[i], "ip", "addr", "add", UL[i] + "/24", "dev", "br-phy")
        sv.ns(ns[i], "ip", "link", "set", "br-phy", "up")
        sv.ns(ns[i], "ip", "addr", "add", IN[i] + "/24", "dev", "br-int")
        sv.ns(ns[i], "ip", "link", "set", "br-int", "mtu", "1450", "up")
        ovs.appctl("ovs/route/add", UL[1 - i] + "/24", "br-phy")
        # ovs-vswitchd (`ip netns exec` execs it: the same pid)
        pids.append(ovs.procs[1].pid)
    return ns, pids


def measure(ns, pids, args):
    # warm up: ARP and learning, until one datagram gets through
    deadline = time.monotonic() + 30
    while True:
        r = sv.ns(ns[0], sys.executable, "-c", sv.shp.NS_PING, IN[1], "1",
                  "56", check_rc=False)
        if "1 received" in r.stdout or time.monotonic() > deadline:
            break
    rx = subprocess.Popen(["ip", "netns", "exec", ns[1], sys.executable,
                           "-c", RECEIVER, IN[1], str(args.seconds + 10)],
                          stdout=subprocess.PIPE, text=True)
    assert rx.stdout.readline().strip() == "READY"
    c0 = cpu_s(pids) if pids else 0
    tx = sv.ns(ns[0], sys.executable, "-c", SENDER, IN[1], str(args.size),
               str(args.seconds))
    c1 = cpu_s(pids) if pids else 0
    out = rx.communicate(timeout=60)[0].split()
    got, span = int(out[0]), float(out[1])
    sent = int(tx.stdout.split()[0])
    return sent, got, span, c1 - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if os.geteuid() != 0:
        print("needs root (namespaces)", file=sys.stderr)
        return 2
    rows = [("vsw", setup_vsw), ("kernel", setup_kernel)]
    if shutil.which("ovs-vswitchd"):
        rows.append(("ovs", setup_ovs))
    hz = tsc_hz()
    print("| peer | sent/s | received/s | datapath CPU ns / pkt "
          "| cycles / pkt |")
    print("|---|---|---|---|---|")
    for name, setup in rows:
        with tempfile.TemporaryDirectory(prefix="vsw-bt-") as work:
            cleanup = vi.Cleanup()
            dumps = []
            try:
                ns, pids = setup(args, cleanup, dumps, work)
                sent, got, span, cpu = measure(ns, pids, args)
            finally:
                cleanup.run()
        pps = got / span if span > 0 else 0
        if pids and got:
            ns_pp = cpu * 1e9 / got
            cyc = "%.0f" % (ns_pp * hz / 1e9) if hz else "-"
            cpu_col = "%.0f" % ns_pp
        else:
            cpu_col, cyc = "- (softirq)", "-"
        print("| %s | %.0f | %.0f | %s | %s |" % (
            name, sent / args.seconds, pps, cpu_col, cyc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
