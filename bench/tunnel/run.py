#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/tunnel/run.py [--build-dir DIR] [--seconds S] [--size N]
                       [--rates LIST] [--peers LIST] [--txqueuelen N]
                       [--ovs-phy afxdp|system] [--load c|python]
                       [--no-pin] [-v]

VXLAN encap + decap between two hosts (network namespaces A and B) over a
veth underlay, three ways on the same path, each measured the same way:

  vsw     two vswd, each: internal port in0 + vx0 (type=vxlan), nothing
          else on the bridge
  kernel  two Linux vxlan devices (the host stacks sit on them directly)
  ovs     two Open vSwitch userspace datapaths as its userspace-tunneling
          howto builds them (netdev bridges: br-int, whose own interface
          takes in0's place, with a vxlan port; br-phy holding the
          underlay veth), tuned as its AF_XDP and PMD documentation says:
          the veth an afxdp port (xdp-mode best-effort) polled by one PMD
          thread per side pinned with pmd-cpu-mask; if ovs-vswitchd is
          installed. (DPDK is not used: a veth has no DPDK driver of its
          own, and the af_xdp / af_packet vdevs would only wrap what the
          afxdp netdev does natively.)

Load: one UDP sender in A sending SIZE-byte datagrams to B's inner
address for S seconds, a receiver in B counting them (vsw-udpload of the
build directory, bench/tunnel/udpload.c: sendmmsg / recvmmsg bursts, so
that the load generator is not the slowest element; --load python: one
datagram per system call in Python); once as fast as the
sender can (rate 0: saturation) and once paced at each other rate of
--rates (default 0,50000: a rate every peer forwards without loss on this
2-core VM, so that the CPU columns compare at the same load).

Every run reads, before and after, every counter on the path that can
name a drop: the sender's failed sends, each interface's rx/tx dropped in
both namespaces (`ip -s link`), the per-socket drops of /proc/net/udp
(the receiver reports its own socket's before it closes; vswd's tunnel
socket), the AF_PACKET sockets' drops (`ss -0 -m`: OVS's system ports),
the UDP / IP SNMP error counters of both namespaces, the softnet
backlog drops (the whole machine), and the datapath's own: vswd's
dump-ports drops by reason, vx0's socket overflow and pmd-stats, OVS's
ofctl dump-ports, pmd-stats-show and coverage/show. The lost datagrams
(sent - received) are then split by those counters (a datapath counter
that only repeats a kernel one is shown, not summed); what no counter
explains is printed as "unaccounted". Per datapath process also the time
its threads ran and waited for a CPU (schedstat): on a shared machine the
second explains most losses.

The internal interfaces (vsw's in0, OVS's br-int) get a transmit queue of
--txqueuelen frames (default 10000; a TAP's default is 500): the datapath
reads them one frame per system call, and 500 frames are 2 ms of the
sender's rate, less than a scheduling delay on a busy host (both
datapaths lost 60-80 % there with 500).

CPU per packet: the utime + stime of every thread of both datapath
processes over the run, per received datagram (ns, and cycles at the TSC
rate), including the time they spin or busy-poll; and the busy TSC cycles
by the datapath's own counters per received datagram, summed over both
sides (vswd pmd-stats busy_cycles; OVS: pmd-stats-show processing cycles
of the PMD threads plus the CPU time of the main thread, which polls the
internal port, encapsulates what it sends and counts no cycles). Both
include the system calls the datapath makes (for vsw the tap read / write
and the UDP sendmmsg / recvmmsg, which run the host stack's part of the
path in vswd's context). The kernel's encap / decap runs in the sender's
system call and in softirq and cannot be charged to a process: its row
has no CPU figure. Hardware counters (perf stat -e cycles,instructions)
are not available in this VM.

Placement (--no-pin: left to the scheduler): each "host" gets one core, as
two real hosts would: A's sender and A's datapath on CPU 0, B's datapath
and receiver on CPU 1 (taskset -a for the processes, pmd-cpu-mask for
OVS's PMD threads, which are pinned either way).

Root only; about 10 s per row.
"""

import argparse
import json
import os
import re
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
RX_PORT = 9999
VXLAN_PORT = 4789
# host A on CPU 0, host B on CPU 1 (--no-pin: anywhere)
CPU = (0, 1)

SENDER = """\
import socket, sys, time
dst, size, secs, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
    float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = b"x" * size
t0 = time.monotonic()
end = t0 + secs
n = err = 0
while True:
    now = time.monotonic()
    if now >= end:
        break
    if rate > 0 and n > (now - t0) * rate:
        # paced: ahead of the schedule, wait for it (batches of 64)
        time.sleep(min(end - now, (n - (now - t0) * rate) / rate))
        continue
    for _ in range(64):
        try:
            s.sendto(b, (dst, %d))
            n += 1
        except OSError:
            err += 1
print(n, err)
""" % RX_PORT

RECEIVER = """\
import socket, sys, time
ip, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((ip, %d))
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
# this socket's drops (receive buffer full), before it closes
drops = 0
with open("/proc/net/udp") as f:
    for ln in f.readlines()[1:]:
        c = ln.split()
        if int(c[1].split(":")[1], 16) == %d:
            drops += int(c[-1])
print(n, (last - first) if n > 1 else 0.0, drops)
""" % (RX_PORT, RX_PORT)


def tsc_hz():
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("cpu MHz"):
                return float(ln.split(":")[1]) * 1e6
    return 0.0


def proc_tree(pids):
    """pids and all their descendants (ip netns exec forks nothing, but
    a wrapper might)."""
    out = set(pids)
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid in out:
            out.add(int(p))
    return sorted(out)


def cpu_s(pids):
    """utime + stime of every thread of pids (seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    t = 0
    for p in pids:
        try:
            with open("/proc/%s/stat" % p) as f:
                f = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t += int(f[11]) + int(f[12])
    return t / tick


def sched_wait(pids):
    """{pid: (ns run, ns waiting on a runqueue)} over every thread."""
    out = {}
    for p in pids:
        run = wait = 0
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/schedstat" % (p, t)) as f:
                    c = f.read().split()
                run += int(c[0])
                wait += int(c[1])
        except OSError:
            pass
        out[p] = (run, wait)
    return out


def pin(pid, cpu):
    """All threads of pid onto cpu."""
    vi.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)])


# ------------------------------------------------------------------ #
# Kernel counters (per namespace, and the machine's softnet)           #
# ------------------------------------------------------------------ #

def ns_cat(ns, path):
    return sv.ns(ns, "cat", path).stdout


def snmp(ns):
    """{"Udp.RcvbufErrors": n, ...} of namespace ns."""
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = ns_cat(ns, path).splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            names, nums = head.split(), vals.split()
            for k, v in zip(names[1:], nums[1:]):
                out[names[0].rstrip(":") + "." + k] = int(v)
    return out


def udp_drops(ns):
    """{local UDP port: drops} of the sockets of namespace ns."""
    out = {}
    for ln in ns_cat(ns, "/proc/net/udp").splitlines()[1:]:
        f = ln.split()
        port = int(f[1].split(":")[1], 16)
        out[port] = out.get(port, 0) + int(f[-1])
    return out


def packet_drops(ns):
    """The drops of every packet (AF_PACKET) socket of namespace ns (ss's
    skmem d: receive buffer full), summed: OVS's system ports read so."""
    out = sv.ns(ns, "ss", "-0", "-a", "-m", "-n", check_rc=False).stdout
    return sum(int(m) for m in re.findall(r"skmem:\(.*?\bd(\d+)\)", out))


def links(ns):
    """{ifname: {rx_packets, rx_dropped, tx_packets, tx_dropped}}."""
    out = {}
    for ln in json.loads(sv.ns(ns, "ip", "-s", "-j", "link").stdout):
        s = ln.get("stats64", ln.get("stats", {}))
        out[ln["ifname"]] = {
            "rx_packets": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
            "tx_packets": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}
    return out


def softnet():
    """Backlog drops (column 2) and time squeezes (3) of every CPU."""
    d = sq = 0
    with open("/proc/net/softnet_stat") as f:
        for ln in f:
            c = ln.split()
            d += int(c[1], 16)
            sq += int(c[2], 16)
    return d, sq


def kernel_snap(ns):
    return {"snmp": [snmp(n) for n in ns], "udp": [udp_drops(n) for n in ns],
            "links": [links(n) for n in ns], "softnet": softnet(),
            "packet": [packet_drops(n) for n in ns]}


# the SNMP counters that count a datagram or packet lost
SNMP_DROPS = ("Udp.NoPorts", "Udp.InErrors", "Udp.SndbufErrors",
              "Ip.InDiscards", "Ip.InHdrErrors", "Ip.InAddrErrors",
              "Ip.OutDiscards", "Ip.OutNoRoutes", "IpExt.InNoRoutes")


def kernel_drops(a, b, rx_drops):
    """[(where, count)] of the kernel counters that grew from a to b."""
    out = []
    for i, side in enumerate("AB"):
        for k in SNMP_DROPS:
            d = b["snmp"][i].get(k, 0) - a["snmp"][i].get(k, 0)
            if k == "Udp.InErrors":
                # RcvbufErrors are in InErrors and in the socket's drops
                d -= (b["snmp"][i].get("Udp.RcvbufErrors", 0) -
                      a["snmp"][i].get("Udp.RcvbufErrors", 0))
            if d:
                out.append(("%s: %s" % (side, k), d))
        # RcvbufErrors by socket: those open before and after (the
        # receiver reports its own), the rest "another socket"
        rcvbuf = (b["snmp"][i].get("Udp.RcvbufErrors", 0) -
                  a["snmp"][i].get("Udp.RcvbufErrors", 0))
        for port, n in sorted(b["udp"][i].items()):
            d = n - a["udp"][i].get(port, 0)
            if port == RX_PORT and side == "B":
                d = rx_drops
            if d:
                out.append(("%s: UDP socket :%d receive buffer full"
                            % (side, port), d))
                rcvbuf -= d
        if side == "B" and RX_PORT not in b["udp"][i] and rx_drops:
            out.append(("B: UDP socket :%d receive buffer full" % RX_PORT,
                        rx_drops))
            rcvbuf -= rx_drops
        if rcvbuf:
            out.append(("%s: Udp.RcvbufErrors of another socket" % side,
                        rcvbuf))
        d = b["packet"][i] - a["packet"][i]
        if d:
            out.append(("%s: AF_PACKET socket receive buffer full" % side,
                        d))
        for ifn, s in b["links"][i].items():
            o = a["links"][i].get(ifn, {})
            for k in ("rx_dropped", "tx_dropped"):
                d = s[k] - o.get(k, 0)
                if d:
                    out.append(("%s: %s %s" % (side, ifn, k), d))
    d = b["softnet"][0] - a["softnet"][0]
    if d:
        out.append(("softnet backlog full (netdev_max_backlog)", d))
    return out


# ------------------------------------------------------------------ #
# The three peers                                                      #
# ------------------------------------------------------------------ #

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


class Peer:
    """One way of making the tunnel: set up, the datapath's pids, its own
    counters and its own idea of the cycles it spent."""
    name = "?"
    pids = ()

    def dut_snap(self):
        return None

    def dut_drops(self, a, b):
        return []

    def dut_cycles(self, a, b):
        """(busy TSC cycles, packets) by the datapath's counters."""
        return None

    def dut_report(self, a, b):
        return []


class VswPeer(Peer):
    name = "vsw"
    what = "vsw (two vswd: internal port + vx0)"

    def __init__(self, args, cleanup, work):
        self.ns, _ = underlay(cleanup, "vsw")
        self.vs = []
        dumps = []
        for i in (0, 1):
            vs = svp.start_vswd(args.build_dir, work, "vswd%d" % i,
                                self.ns[i], cleanup, dumps)
            # vswd's first-start configuration has a tap vsw0 and a
            # vhostuser vhu0 on br0: off the path (a second interface of
            # the host on the bridge answers ARP with its own MAC, and
            # every flood went to both)
            for p in ("vsw0", "vhu0"):
                vs.ctl("del-port", sv.BR, p, check_rc=False)
            vs.ctl("add-port", sv.BR, "in0", "type=internal", "mtu=1450")
            cleanup.push("in0", lambda vs=vs: vs.ctl("del-port", sv.BR,
                                                     "in0", check_rc=False))
            vs.ctl("add-port", sv.BR, "vx0", "type=vxlan",
                   "remote_ip=" + UL[1 - i], "local_ip=" + UL[i],
                   "key=%d" % VNI)
            vs.wait_links(["in0", "vx0"])
            sv.ns(self.ns[i], "ip", "addr", "add", IN[i] + "/24", "dev",
                  "in0")
            sv.ns(self.ns[i], "ip", "link", "set", "in0", "txqueuelen",
                  str(args.txqueuelen), "up")
            if args.pin:
                pin(vs.proc.pid, CPU[i])
            self.vs.append(vs)
        self.pids = [vs.proc.pid for vs in self.vs]

    def dut_snap(self):
        return [(vs.port_stats(sv.BR), vs.json("pmd-stats")["threads"],
                 self.overflow(vs)) for vs in self.vs]

    @staticmethod
    def overflow(vs):
        """vx0's tunnel socket drops as vswd shows them (status)."""
        m = re.search(r"overflow (\d+)", sv.port_status(vs, "vx0"))
        return int(m.group(1)) if m else 0

    def dut_drops(self, a, b):
        out = []
        for i, side in enumerate("AB"):
            for port, st in b[i][0].items():
                for d in ("rx", "tx"):
                    for why, n in st[d]["drops"].items():
                        n -= a[i][0][port][d]["drops"].get(why, 0)
                        if n:
                            out.append(("%s: vswd %s %s %s" % (
                                side, port, d, why), n, True))
            n = b[i][2] - a[i][2]
            if n:
                out.append(("%s: vswd vx0 status: socket overflow (= the "
                            "socket's drops)" % side, n, False))
        return out

    def dut_cycles(self, a, b):
        busy = pk = 0
        for i in (0, 1):
            for t0, t1 in zip(a[i][1], b[i][1]):
                busy += t1["busy_cycles"] - t0["busy_cycles"]
                pk += t1["packets"] - t0["packets"]
        return busy, pk

    def dut_report(self, a, b):
        out = []
        for i, side in enumerate("AB"):
            st0, st1 = a[i][0], b[i][0]
            pk = ["%s %s %d" % (p, d, st1[p][d]["packets"] -
                                st0[p][d]["packets"])
                  for p in ("in0", "vx0") for d in ("rx", "tx")]
            for t0, t1 in zip(a[i][1], b[i][1]):
                busy = t1["busy_cycles"] - t0["busy_cycles"]
                idle = t1["idle_cycles"] - t0["idle_cycles"]
                sl = t1["sleep_cycles"] - t0["sleep_cycles"]
                tot = busy + idle or 1
                pk.append("pmd%d busy %.0f%% asleep %.0f%% (%d sleeps)" % (
                    t1["thread"], 100.0 * busy / tot, 100.0 * sl / tot,
                    t1["sleeps"] - t0["sleeps"]))
            out.append("%s: %s" % (side, ", ".join(pk)))
        return out


class KernelPeer(Peer):
    name = "kernel"
    what = "kernel (two vxlan devices)"

    def __init__(self, args, cleanup, work):
        self.ns, u = underlay(cleanup, "kernel")
        for i in (0, 1):
            sv.ns(self.ns[i], "ip", "link", "add", "vx0", "type", "vxlan",
                  "id", str(VNI), "remote", UL[1 - i], "local", UL[i],
                  "dstport", str(VXLAN_PORT), "dev", u[i])
            sv.ns(self.ns[i], "ip", "addr", "add", IN[i] + "/24", "dev",
                  "vx0")
            sv.ns(self.ns[i], "ip", "link", "set", "vx0", "up")


class OvsPeer(Peer):
    """Open vSwitch's userspace datapath as its documentation sets it up
    for performance without DPDK (Documentation/intro/install/afxdp.rst,
    topics/dpdk/pmd.rst): netdev bridges, PMD threads pinned with
    pmd-cpu-mask, the underlay veth as an afxdp port (polled by the PMD
    thread; xdp-mode best-effort: native on veth if the kernel offers it,
    else generic)."""
    name = "ovs"

    def __init__(self, args, cleanup, work):
        self.ns, u = underlay(cleanup, "ovs", ip_on_b=False)
        sv.ns(self.ns[0], "ip", "addr", "del", UL[0] + "/24", "dev", u[0])
        self.ovs = []
        self.phy_type = args.ovs_phy
        self.what = "ovs (two ovs-vswitchd 3.1, netdev, %s underlay)" % (
            "afxdp" if self.phy_type == "afxdp" else "system")
        pids = []
        for i in (0, 1):
            ovs = svo.OvsInNetns(self.ns[i], os.path.join(work, "ovs%d" % i),
                                 cleanup)
            # one PMD thread per side, on its own core (otherwise both
            # instances would put theirs on core 0)
            ovs.vsctl("set", "Open_vSwitch", ".",
                      "other_config:pmd-cpu-mask=0x%x" % (1 << CPU[i]))
            phy = [u[i]]
            if self.phy_type == "afxdp":
                # (ethtool -L) one queue: a veth has one rx queue
                phy += ["--", "set", "interface", u[i], "type=afxdp",
                        "options:n_rxq=1", "options:xdp-mode=best-effort"]
            ovs.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy",
                      "datapath_type=netdev", "--", "add-port", "br-phy",
                      *phy)
            ovs.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int",
                      "datapath_type=netdev", "--", "add-port", "br-int",
                      "vx0", "--", "set", "interface", "vx0", "type=vxlan",
                      "options:remote_ip=" + UL[1 - i],
                      "options:key=%d" % VNI)
            sv.ns(self.ns[i], "ip", "addr", "add", UL[i] + "/24", "dev",
                  "br-phy")
            sv.ns(self.ns[i], "ip", "link", "set", "br-phy", "up")
            sv.ns(self.ns[i], "ip", "addr", "add", IN[i] + "/24", "dev",
                  "br-int")
            sv.ns(self.ns[i], "ip", "link", "set", "br-int", "mtu", "1450",
                  "txqueuelen", str(args.txqueuelen), "up")
            ovs.appctl("ovs/route/add", UL[1 - i] + "/24", "br-phy")
            # ovs-vswitchd (`ip netns exec` execs it: the same pid)
            pid = ovs.procs[1].pid
            if args.pin:
                pin(pid, CPU[i])
            pids.append(pid)
            self.ovs.append(ovs)
        self.pids = pids
        if self.phy_type == "afxdp":
            for i, o in enumerate(self.ovs):
                e = o.vsctl("--if-exists", "get", "interface", u[i],
                            "error").strip()
                if e not in ("", "[]"):
                    raise vi.Fail("ovs afxdp port %s: %s" % (u[i], e))

    def ofctl_ports(self, o, br):
        """{port: {rx_pkts, rx_drop, tx_pkts, tx_drop}} of ovs-ofctl."""
        r = subprocess.run(
            ["ovs-ofctl", "dump-ports", "unix:" + os.path.join(
                o.d, br + ".mgmt")], env=o.env, capture_output=True,
            text=True, timeout=30).stdout
        out, cur = {}, None
        for ln in r.splitlines():
            m = re.match(r"\s*port\s+(\S+):\s*rx pkts=(\d+).*drop=(\d+)", ln)
            if m:
                cur = m.group(1).strip('"')
                out[cur] = {"rx_pkts": int(m.group(2)),
                            "rx_drop": int(m.group(3))}
                continue
            m = re.match(r"\s*tx pkts=(\d+).*drop=(\d+)", ln)
            if m and cur is not None:
                out[cur].update(tx_pkts=int(m.group(1)),
                                tx_drop=int(m.group(2)))
        return out

    @staticmethod
    def pmd_stats(text):
        """[(thread, packets, processing cycles, idle cycles)]."""
        out = []
        for blk in re.split(r"\n(?=\S)", text):
            m = re.search(r"packets received: (\d+)", blk)
            if not m:
                continue
            busy = re.search(r"processing cycles: (\d+)", blk)
            idle = re.search(r"idle cycles: (\d+)", blk)
            out.append((blk.split(":")[0].strip(), int(m.group(1)),
                        int(busy.group(1)) if busy else 0,
                        int(idle.group(1)) if idle else 0))
        return out

    @staticmethod
    def coverage(text):
        """{counter: total} of the drop-like coverage counters."""
        out = {}
        for ln in text.splitlines():
            m = re.match(r"(\S+)\s+.*total:\s+(\d+)", ln)
            if m and re.search(r"drop|overflow|error|fail", m.group(1)):
                out[m.group(1)] = int(m.group(2))
        return out

    def dut_snap(self):
        return [({br: self.ofctl_ports(o, br) for br in ("br-int", "br-phy")},
                 self.pmd_stats(o.appctl("dpif-netdev/pmd-stats-show")),
                 self.coverage(o.appctl("coverage/show")),
                 cpu_s(["%d/task/%d" % (p, p)]))
                for o, p in zip(self.ovs, self.pids)]

    def dut_drops(self, a, b):
        out = []
        for i, side in enumerate("AB"):
            for br, ports in b[i][0].items():
                for p, st in ports.items():
                    for k in ("rx_drop", "tx_drop"):
                        d = st.get(k, 0) - a[i][0][br].get(p, {}).get(k, 0)
                        if d:
                            # netdev-linux / afxdp report the kernel's
                            # device counters: the same drops again
                            out.append(("%s: ovs %s port %s %s (= the "
                                        "kernel's device counter)" % (
                                            side, br, p, k), d, False))
            for k, n in b[i][2].items():
                d = n - a[i][2].get(k, 0)
                if d:
                    out.append(("%s: ovs coverage %s" % (side, k), d,
                                True))
        return out

    def dut_cycles(self, a, b):
        # the PMD threads count their processing cycles; the main thread,
        # which polls the internal (tap) ports and does the encap of what
        # they send, counts none: its CPU time stands in
        busy = pk = 0
        for i in (0, 1):
            for t0, t1 in zip(a[i][1], b[i][1]):
                pk += t1[1] - t0[1]
                busy += t1[2] - t0[2]
            busy += (b[i][3] - a[i][3]) * tsc_hz()
        return busy, pk

    def dut_report(self, a, b):
        out = []
        for i, side in enumerate("AB"):
            parts = []
            for br in ("br-int", "br-phy"):
                for p, st in b[i][0][br].items():
                    o = a[i][0][br].get(p, {})
                    parts.append("%s rx %d tx %d" % (
                        p, st["rx_pkts"] - o.get("rx_pkts", 0),
                        st.get("tx_pkts", 0) - o.get("tx_pkts", 0)))
            for t0, t1 in zip(a[i][1], b[i][1]):
                busy, idle = t1[2] - t0[2], t1[3] - t0[3]
                parts.append("%s: %d pkts, busy %.0f%%" % (
                    t1[0], t1[1] - t0[1], 100.0 * busy / ((busy + idle) or 1)))
            out.append("%s: %s" % (side, ", ".join(parts)))
        return out


# ------------------------------------------------------------------ #
# One run                                                              #
# ------------------------------------------------------------------ #

def in_ns(ns, cpu, argv):
    pre = ["ip", "netns", "exec", ns]
    if cpu is not None:
        pre += ["taskset", "-c", str(cpu)]
    return pre + argv


def warm_up(peer):
    # ARP and learning, until one datagram gets through
    deadline = time.monotonic() + 30
    while True:
        r = sv.ns(peer.ns[0], sys.executable, "-c", sv.shp.NS_PING, IN[1],
                  "1", "56", check_rc=False)
        if "1 received" in r.stdout or time.monotonic() > deadline:
            return


def load_argv(args, side, rate=0):
    """The receiver (side 1) or sender (side 0) command line."""
    if args.load == "c":
        if side:
            return [args.udpload, "recv", IN[1], str(RX_PORT),
                    str(args.seconds + 10)]
        return [args.udpload, "send", IN[1], str(RX_PORT), str(args.size),
                str(args.seconds), str(rate)]
    if side:
        return [sys.executable, "-c", RECEIVER, IN[1],
                str(args.seconds + 10)]
    return [sys.executable, "-c", SENDER, IN[1], str(args.size),
            str(args.seconds), str(rate)]


def measure(peer, args, rate):
    ns = peer.ns
    rx = subprocess.Popen(in_ns(ns[1], CPU[1] if args.pin else None,
                                load_argv(args, 1)),
                          stdout=subprocess.PIPE, text=True)
    assert rx.stdout.readline().strip() == "READY"
    k0, d0 = kernel_snap(ns), peer.dut_snap()
    pids = proc_tree(peer.pids)
    c0, w0 = cpu_s(pids), sched_wait(peer.pids)
    tx = vi.run(in_ns(ns[0], CPU[0] if args.pin else None,
                      load_argv(args, 0, rate)))
    out = rx.communicate(timeout=60)[0].split()
    # after the receiver's last datagram: every queue has drained
    c1, w1 = cpu_s(pids), sched_wait(peer.pids)
    k1, d1 = kernel_snap(ns), peer.dut_snap()
    got, span, rx_drops = int(out[0]), float(out[1]), int(out[2])
    sent, err = (int(x) for x in tx.stdout.split())
    drops = [(w, n, True) for w, n in kernel_drops(k0, k1, rx_drops)]
    drops += peer.dut_drops(d0, d1)
    if err:
        drops.insert(0, ("A: sender sendto() failed (not counted as sent)",
                         err, False))
    return {"sent": sent, "got": got, "span": span, "cpu": c1 - c0,
            "drops": drops, "cycles": peer.dut_cycles(d0, d1),
            "report": peer.dut_report(d0, d1) + [
                "%s: datapath ran %.0f ms, waited for a CPU %.0f ms" % (
                    side, (w1[p][0] - w0[p][0]) / 1e6,
                    (w1[p][1] - w0[p][1]) / 1e6)
                for side, p in zip("AB", peer.pids)]}


PEERS = {"vsw": VswPeer, "kernel": KernelPeer, "ovs": OvsPeer}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rates", default="0,50000",
                    help="datagrams/s the sender offers, 0: as fast as it "
                    "can (default 0,50000)")
    ap.add_argument("--peers", default="vsw,kernel,ovs")
    ap.add_argument("--ovs-phy", choices=("afxdp", "system"),
                    default="afxdp", help="OVS underlay port type")
    ap.add_argument("--txqueuelen", type=int, default=10000,
                    help="of the internal (tap) interfaces of vsw and OVS")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="leave the processes' placement to the scheduler "
                    "(OVS's PMD threads stay pinned by pmd-cpu-mask)")
    ap.add_argument("--load", choices=("c", "python"), default="c",
                    help="the sender / receiver: vsw-udpload (sendmmsg / "
                    "recvmmsg bursts, default) or one datagram per system "
                    "call in Python")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also print the datapaths' own per-port counts")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.udpload = os.path.join(args.build_dir, "bench", "vsw-udpload")
    if args.load == "c" and not os.access(args.udpload, os.X_OK):
        print("%s not built (meson -Dbench=true): --load python"
              % args.udpload, file=sys.stderr)
        args.load = "python"
    rates = [int(float(r)) for r in args.rates.split(",")]
    if os.geteuid() != 0:
        print("needs root (namespaces)", file=sys.stderr)
        return 2
    names = [p for p in args.peers.split(",") if p]
    if "ovs" in names and not shutil.which("ovs-vswitchd"):
        print("ovs-vswitchd not installed: no ovs row", file=sys.stderr)
        names.remove("ovs")
    hz = tsc_hz()
    rows, notes = [], []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="vsw-bt-") as work:
            cleanup = vi.Cleanup()
            try:
                peer = PEERS[name](args, cleanup, work)
                warm_up(peer)
                for rate in rates:
                    r = measure(peer, args, rate)
                    rows.append((peer, rate, r))
            finally:
                cleanup.run()
    print("| peer | offered | sent/s | received/s | lost | by counters "
          "| datapath CPU ns / pkt | busy cycles / pkt (own counters) |")
    print("|---|---|---|---|---|---|---|---|")
    for peer, rate, r in rows:
        pps = r["got"] / r["span"] if r["span"] > 0 else 0
        lost = r["sent"] - r["got"]
        named = sum(n for w, n, add in r["drops"] if add)
        if peer.pids and r["got"]:
            ns_pp = r["cpu"] * 1e9 / r["got"]
            cpu_col = "%.0f (%.0f cycles)" % (ns_pp, ns_pp * hz / 1e9)
        else:
            cpu_col = "- (softirq)"
        cyc = "-"
        if r["cycles"] and r["got"]:
            cyc = "%.0f" % (r["cycles"][0] / r["got"])
        print("| %s | %s | %.0f | %.0f | %.1f %% | %d of %d |"
              " %s | %s |" % (
                  peer.what, "max" if rate == 0 else "%d/s" % rate,
                  r["sent"] / args.seconds, pps,
                  100.0 * lost / r["sent"] if r["sent"] else 0, named, lost,
                  cpu_col, cyc), flush=True)
        notes.append((peer, rate, r, lost - named))
    print()
    for peer, rate, r, unacc in notes:
        print("%s at %s: sent %d, received %d" % (
            peer.name, "max" if rate == 0 else "%d/s" % rate, r["sent"],
            r["got"]))
        for w, n, add in r["drops"]:
            print("    %-62s %d%s" % (w, n, "" if add else " (not summed)"))
        if unacc:
            print("    %-62s %d" % ("unaccounted (no counter names it)"
                                     if unacc > 0 else
                                     "counted drops beyond the loss "
                                     "(other traffic, or counted twice)",
                                     unacc))
        if args.verbose:
            for ln in r["report"]:
                print("    " + ln)
    return 0


if __name__ == "__main__":
    sys.exit(main())
