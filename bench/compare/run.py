#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vsw side by side with dpdk-testpmd and Open vSwitch with DPDK.

Every device under test (DUT) is a vhost-user back-end with two ports, A and
B. A generator attaches to both as the front-end and counts what comes back.
All rows run in one invocation on the same machine, interleaved (repetition 1
of every row, then repetition 2, ...), so that a slow minute of the machine
spreads over every row; only ratios within one run are meant to be compared.

Generators (pinned to GEN_CPU, the device's data-plane core is DUT_CPU):
  testpmd   dpdk-testpmd, two net_virtio_user ports, io forwarding, primed
            with "start tx_first 16": a fixed population of frames circulates
            gen A -> DUT -> gen B -> DUT ... (the DPDK loopback method).
            The DUT's forwarding rate is the sum of the generator's rx rates.
  pktgen    vsw-pktgen: "--mode tx" on A and "--mode rx" on B, one direction;
            two processes share the generator core (there are only two).
  flowgen   dpdk-testpmd as for "testpmd" but in flowgen mode: it builds new
            UDP frames of N flows (the IPv4 destination varies) on both
            ports and counts and frees what comes back; N is the row's flow
            count (100,000 for rows without one). Throughput = the sum of
            the generator's rx rates; the share of its tx attempts that
            the device's full ring refused shows whether it kept up.

Devices (rows):
  testpmd       dpdk-testpmd, two net_vhost ports, io forwarding (the upper
                bound of any vhost-user forwarder)
  ovs           ovs-vswitchd (openvswitch-switch-dpdk), netdev bridge, two
                dpdkvhostuser ports, the NORMAL action, one PMD thread
  vsw           vswd, bridge br0, two vhostuser ports, default behaviour
  vsw-poll      the same with "vswctl set-option poll=on" (never sleeps)
  vsw-flows-N   vswd with flow rules loaded by "vswctl add-flows".
                With the flowgen generator: N distinct flows in the
                traffic and 2N rules (in_port,udp,nw_dst exact -> the other
                port, one per flow and in port), every one hit. With the
                testpmd generator: N rules (in_port,udp,nw_src exact) and
                --txonly-multi-flow traffic, 256 distinct flows at most (an
                8-bit source-address counter), so for N > 256 only 256
                rules are hit (the row's note says how many)

Besides throughput: round-trip latency (vsw-pktgen ping on A, vsw-pktgen
echo on B), CPU of each device with idle but connected ports
(/proc/PID/stat utime+stime over --idle-seconds), resident memory with 2 and
with 32 ports (/proc/PID/status VmRSS, and HugetlbPages separately: DPDK's
hugepage memory is not part of VmRSS).

Every process is started in its own session and its process group is killed
on every exit path; hugepages are reserved for the run and the old count is
put back. Run as root. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GEN_CPU = 1
DUT_CPU = 0
BURSTS = 16          # "start tx_first 16"
HUGEPAGES = 1300     # 2 MB pages: 2 x 256 MB testpmd + 1 GB OVS + slack
OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
PROMPT = b"testpmd> "
DEVICES = ("testpmd", "ovs", "vsw", "vsw-poll")
FLOW_COUNTS = (1, 1000, 100000)
T0 = time.monotonic()
HZ = None            # TSC rate, set by main() (tsc_hz)


class BenchError(Exception):
    pass


class Skip(Exception):
    """A row that cannot run on this tree or machine, with the reason."""


def log(msg):
    print("[compare %7.1f] %s" % (time.monotonic() - T0, msg), flush=True)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

class Proc:
    """A child in its own session; stdout+stderr collected and logged."""

    def __init__(self, reg, name, argv, cpus=None, env=None, stdin=True):
        self.name = name
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.logpath = os.path.join(reg.logdir, "%s-%d.log"
                                    % (name, len(reg.procs)))
        self.logf = open(self.logpath, "wb")
        if cpus is not None:
            argv = ["taskset", "-c", cpus] + list(argv)
        self.argv = argv
        self.logf.write((" ".join(argv) + "\n").encode())
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, env=env)
        reg.procs.append(self)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self):
        return self.p.pid

    def _read(self):
        while True:
            chunk = self.p.stdout.read1(65536)
            if not chunk:
                break
            with self.lock:
                self.buf += chunk
            self.logf.write(chunk)
            self.logf.flush()

    def offset(self):
        with self.lock:
            return len(self.buf)

    def text(self, start=0):
        with self.lock:
            return bytes(self.buf[start:]).decode(errors="replace")

    def wait_for(self, needle, start, timeout, what):
        """Offset just past needle (bytes or compiled regex) after start."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if isinstance(needle, bytes):
                    i = self.buf.find(needle, start)
                    end = i + len(needle) if i >= 0 else -1
                else:
                    m = needle.search(self.buf, start)
                    end = m.end() if m else -1
            if end >= 0:
                return end
            if self.p.poll() is not None:
                self.reader.join(1)
                raise BenchError("%s exited (status %s) waiting for %s; "
                                 "log %s" % (self.name, self.p.returncode,
                                             what, self.logpath))
            if time.monotonic() > deadline:
                raise BenchError("%s: no %s within %d s; log %s"
                                 % (self.name, what, timeout, self.logpath))
            time.sleep(0.02)

    def send(self, line):
        try:
            self.p.stdin.write(line.encode() + b"\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise BenchError("%s: stdin closed (exited?); log %s"
                             % (self.name, self.logpath))

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """SIGTERM the process group, SIGKILL after 5 s."""
        if self.p.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.p.pid, sig)
                except ProcessLookupError:
                    break
                if self.wait_exit(wait) is not None:
                    break
        else:
            # the leader is gone; its group may not be
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            if self.p.stdin:
                self.p.stdin.close()
        except OSError:
            pass
        self.reader.join(2)
        self.logf.close()


class Registry:
    """Every process the run starts; kill_all() on every exit path."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def kill(self, procs):
        for p in reversed(list(procs)):
            p.kill()
            if p in self.procs:
                self.procs.remove(p)

    def kill_all(self):
        self.kill(list(self.procs))


def run_cmd(argv, timeout=60, check=True, env=None):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, env=env)
    out = r.stdout.decode(errors="replace")
    if check and r.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                              out.strip()))
    return r.returncode, out


def wait_path(path, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc is not None and proc.p.poll() is not None:
            raise BenchError("%s exited before %s appeared; log %s"
                             % (proc.name, path, proc.logpath))
        if time.monotonic() > deadline:
            raise BenchError("%s did not appear within %d s" % (path, timeout))
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime + stime of every thread of pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def mem_kb(pid):
    res = {"VmRSS": 0, "HugetlbPages": 0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in res:
                res[k] = int(v.split()[0])
    return res


def thread_list(pid):
    """[(tid, comm)] of every thread of pid."""
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                out.append((int(tid), f.read().strip()))
        except OSError:
            pass
    return out


def pin_threads(pid, on_dut):
    """Put every thread of pid on GEN_CPU, except the data-plane threads
    (on_dut(comm) true), which go on DUT_CPU: housekeeping (main threads,
    DPDK control threads, OVS handlers and revalidators, vswd's control
    thread) never shares the device's data-plane core, for every row
    alike. Threads a process creates later are caught by the next call
    (each measurement calls it again). Returns a short placement note."""
    dut, other = [], 0
    for tid, comm in thread_list(pid):
        cpu = DUT_CPU if on_dut(comm) else GEN_CPU
        try:
            os.sched_setaffinity(tid, {cpu})
        except OSError:
            continue   # the thread is gone
        if cpu == DUT_CPU:
            dut.append(comm)
        else:
            other += 1
    return "%s on core %d, %d other threads on core %d" % (
        "+".join(dut) or "nothing", DUT_CPU, other, GEN_CPU)


def tsc_hz():
    """The TSC rate every DUT's cycle counters use (constant_tsc)."""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"cpu MHz\s*:\s*([\d.]+)", f.read())
        return float(m.group(1)) * 1e6 if m else None
    except OSError:
        return None


# ---------------------------------------------------------------------------
# testpmd
# ---------------------------------------------------------------------------

PORT_RE = re.compile(
    r"NIC statistics for port (\d+).*?RX-packets:\s*(\d+).*?RX-bytes:\s*(\d+)"
    r".*?TX-packets:\s*(\d+).*?TX-bytes:\s*(\d+)", re.S)


class Testpmd(Proc):
    """dpdk-testpmd in interactive mode; one forwarding lcore (the one that
    is not the main lcore). stdbuf -oL keeps its output in order."""

    def __init__(self, reg, name, vdevs, main_cpu, fwd_cpu, extra=(),
                 mem=256, mode="io"):
        # lcore 0 (main: the command line) and lcore 1 (forwarding) each
        # on its own CPU, which may be the same one for a generator
        argv = ["stdbuf", "-oL", "dpdk-testpmd", "--lcores",
                "0@%d,1@%d" % (main_cpu, fwd_cpu), "--no-pci", "--in-memory",
                "--single-file-segments", "-m", str(mem),
                "--log-level", "lib.eal:notice"]
        for v in vdevs:
            argv += ["--vdev", v]
        argv += ["--", "-i", "--forward-mode=" + mode, "--nb-cores=1",
                 "--total-num-mbufs=32768"] + list(extra)
        super().__init__(reg, name, argv)
        self.fwd_cpu = fwd_cpu
        self.pos = self.wait_for(PROMPT, 0, 60, "first prompt")
        self.pin()

    def pin(self):
        """The forwarding lcore's thread (DPDK 22.11: rte-worker-1) stays
        on its CPU; the main thread and DPDK's control threads (interrupt,
        telemetry, vhost-events...) go on GEN_CPU."""
        if self.fwd_cpu == DUT_CPU:
            return pin_threads(self.pid,
                               lambda c: c.startswith(("rte-worker", "lcore-worker")))
        return pin_threads(self.pid, lambda c: False)

    def cmd(self, line, timeout=20):
        start = self.offset()
        self.send(line)
        echo = self.wait_for(line.encode() + b"\r\n", start, timeout,
                             "echo of '%s'" % line)
        end = self.wait_for(PROMPT, echo, timeout, "prompt after " + line)
        return self.text(echo)[: end - echo - len(PROMPT)]

    def port_stats(self):
        """{port: (rx_pkts, rx_bytes, tx_pkts, tx_bytes)}"""
        out = self.cmd("show port stats all")
        return {int(m.group(1)): tuple(int(x) for x in m.groups()[1:])
                for m in PORT_RE.finditer(out)}

    def wait_links(self, nports, timeout=20):
        deadline = time.monotonic() + timeout
        for port in range(nports):
            while True:
                out = self.cmd("show port info %d" % port)
                if re.search(r"Link status:\s*up", out):
                    break
                if time.monotonic() > deadline:
                    raise BenchError("%s: port %d link never came up"
                                     % (self.name, port))
                time.sleep(0.2)

    def quit(self):
        if self.p.poll() is None:
            try:
                self.send("quit")
            except BenchError:
                pass
            self.wait_exit(10)


# ---------------------------------------------------------------------------
# Devices under test
# ---------------------------------------------------------------------------

class Device:
    """A vhost-user back-end with N ports whose sockets it creates."""
    name = "?"
    flows = 0

    def __init__(self, h):
        self.h = h
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="dut-", dir=h.tmp)

    def socks(self, n):
        return [os.path.join(self.dir, "p%d.sock" % i) for i in range(n)]

    def start(self, nports=2):
        raise NotImplementedError

    def pids(self):
        """Processes whose CPU and memory are the device's."""
        return [self.procs[-1].pid]

    def counters(self):
        """Device-side evidence for the log (text)."""
        return ""

    def pin(self):
        """Re-place the device's threads (see pin_threads); a note."""
        return ""

    def measure_begin(self):
        """Start of the measured interval: reset the device's own cycle
        counters."""

    def measure_end(self):
        """End of the measured interval: the device's own processing
        cycles per packet over it (None if it has no such counter) and
        the raw text it came from."""
        return None, ""

    def stop(self):
        self.h.reg.kill(self.procs)
        self.procs = []


class TestpmdDevice(Device):
    name = "testpmd"

    def start(self, nports=2):
        socks = self.socks(nports)
        vdevs = ["net_vhost%d,iface=%s" % (i, s) for i, s in enumerate(socks)]
        # main lcore GEN_CPU (reads stdin), forwarding lcore DUT_CPU;
        # --record-core-cycles: its own cycles per packet
        mem = 256 if nports <= 2 else 1024
        self.tp = Testpmd(self.h.reg, "dut-testpmd", vdevs, GEN_CPU,
                          DUT_CPU, extra=["--record-core-cycles"], mem=mem)
        self.procs.append(self.tp)
        self.tp.cmd("start")
        for s in socks:
            wait_path(s, 10, self.tp)
        return socks

    def counters(self):
        try:
            return self.tp.cmd("show port stats all")
        except BenchError as e:
            return str(e)

    def pin(self):
        return self.tp.pin()

    def measure_begin(self):
        self.tp.cmd("clear fwd stats all")

    def measure_end(self):
        out = self.tp.cmd("show fwd stats all")
        m = re.search(r"CPU cycles/packet=([\d.]+)", out)
        return (float(m.group(1)) if m else None), out


class OvsDevice(Device):
    name = "ovs"

    def vsctl(self, *args, timeout=60):
        return run_cmd(["ovs-vsctl", "--db=unix:" + self.dbsock,
                        "--timeout=%d" % timeout] + list(args),
                       timeout=timeout + 5, env=self.env)[1]

    def start(self, nports=2):
        if not os.path.exists(OVS_VSWITCHD):
            raise Skip("%s missing: apt-get install openvswitch-switch-dpdk"
                       % OVS_VSWITCHD)
        d = self.dir
        self.env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d,
                        OVS_SYSCONFDIR=d, OVS_PKGDATADIR="/usr/share/openvswitch")
        db = os.path.join(d, "conf.db")
        self.dbsock = os.path.join(d, "db.sock")
        run_cmd(["ovsdb-tool", "create", db, OVS_SCHEMA])
        self.procs.append(Proc(
            self.h.reg, "ovsdb-server",
            ["ovsdb-server", db, "--remote=punix:" + self.dbsock,
             "--unixctl=" + os.path.join(d, "ovsdb.ctl"),
             "--pidfile=" + os.path.join(d, "ovsdb.pid"), "--no-chdir",
             "-vconsole:off", "-vfile:info",
             "--log-file=" + os.path.join(d, "ovsdb.log")],
            cpus=str(GEN_CPU), env=self.env, stdin=False))
        wait_path(self.dbsock, 10, self.procs[-1])
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true",
                   "other_config:dpdk-lcore-mask=0x%x" % (1 << GEN_CPU),
                   "other_config:pmd-cpu-mask=0x%x" % (1 << DUT_CPU),
                   "other_config:dpdk-socket-mem=1024",
                   'other_config:dpdk-extra="--no-pci --in-memory"')
        self.vswitchd = Proc(
            self.h.reg, "ovs-vswitchd",
            [OVS_VSWITCHD, "unix:" + self.dbsock,
             "--unixctl=" + os.path.join(d, "vswitchd.ctl"),
             "--pidfile=" + os.path.join(d, "vswitchd.pid"), "--no-chdir",
             "-vconsole:warn", "-vfile:info",
             "--log-file=" + os.path.join(d, "vswitchd.log")],
            env=self.env, stdin=False)
        self.procs.append(self.vswitchd)
        self.vsctl("add-br", "br0", "--", "set", "bridge", "br0",
                   "datapath_type=netdev")
        socks = []
        for i in range(nports):
            self.vsctl("add-port", "br0", "p%d" % i, "--", "set",
                       "Interface", "p%d" % i, "type=dpdkvhostuser")
            socks.append(os.path.join(d, "p%d" % i))
        for s in socks:
            wait_path(s, 20, self.vswitchd)
        self.placed = self.pin()
        return socks

    def pin(self):
        # pmd-cpu-mask put the PMD thread (pmd-c00/id:N) on DUT_CPU; the
        # main thread, handlers, revalidators, urcu, vhost and DPDK's
        # control threads go on GEN_CPU (the DPDK main lcore is there
        # already: dpdk-lcore-mask)
        return pin_threads(self.vswitchd.pid, lambda c: c.startswith("pmd"))

    def appctl(self, *args):
        return run_cmd(["ovs-appctl", "-t",
                        os.path.join(self.dir, "vswitchd.ctl")] + list(args),
                       check=False, env=self.env)[1]

    def measure_begin(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def measure_end(self):
        out = self.appctl("dpif-netdev/pmd-stats-show")
        m = re.search(r"avg processing cycles per packet:\s*([\d.]+)", out)
        return (float(m.group(1)) if m else None), out

    def pids(self):
        return [self.vswitchd.pid]

    def counters(self):
        try:
            return run_cmd(["ovs-appctl", "-t",
                            os.path.join(self.dir, "vswitchd.ctl"),
                            "dpif-netdev/pmd-stats-show"], check=False,
                           env=self.env)[1] + \
                run_cmd(["ovs-ofctl", "dump-ports", "br0"], check=False,
                        env=self.env)[1]
        except (subprocess.TimeoutExpired, OSError) as e:
            return str(e)

    def stop(self):
        if self.procs:
            try:
                run_cmd(["ovs-appctl", "-t",
                         os.path.join(self.dir, "vswitchd.ctl"), "exit"],
                        timeout=15, check=False, env=self.env)
            except (subprocess.TimeoutExpired, OSError):
                pass
            self.vswitchd.wait_exit(10)
        super().stop()


class VswDevice(Device):
    name = "vsw"
    poll = False   # vsw-poll: "set-option poll=on" (threads never sleep)

    def vswctl(self, *args, check=True, timeout=30):
        return run_cmd([self.h.vswctl, "--ctl", self.ctl] + list(args),
                       timeout=timeout, check=check)

    def start(self, nports=2):
        d = self.dir
        self.ctl = os.path.join(d, "vswd.ctl")
        self.vswd = Proc(self.h.reg, "vswd",
                         [self.h.vswd, "--db", os.path.join(d, "conf.db"),
                          "--ctl", self.ctl, "--run-dir", d, "--threads", "1",
                          "--log-level", "warn"],
                         stdin=False)
        self.procs.append(self.vswd)
        wait_path(self.ctl, 20, self.vswd)
        self.vswctl("version")
        # first start made br0 with a TAP port and vhu0: keep br0 only
        show = json.loads(self.vswctl("--json", "show")[1])
        for br in show.get("bridges", []):
            for p in br.get("ports", []):
                self.vswctl("del-port", br["name"], p["name"])
        if not any(b["name"] == "br0" for b in show.get("bridges", [])):
            self.vswctl("add-br", "br0")
        if self.poll:
            self.vswctl("set-option", "poll=on")
        socks = self.socks(nports)
        for i, s in enumerate(socks):
            self.vswctl("add-port", "br0", "p%d" % i, "type=vhostuser",
                        "path=" + s)
        for s in socks:
            wait_path(s, 10, self.vswd)
        self.placed = self.pin()
        return socks

    def pin(self):
        # the poll-mode thread (vsw-pmd0) on DUT_CPU, the control thread
        # on GEN_CPU
        return pin_threads(self.vswd.pid, lambda c: c.startswith("vsw-pmd"))

    def measure_begin(self):
        self.vswctl("pmd-stats-clear")

    def measure_end(self):
        rc, out = self.vswctl("--json", "pmd-stats", check=False)
        try:
            t = json.loads(out)["threads"][0]
            return float(t["busy_cycles_per_packet"]), out
        except (ValueError, KeyError, IndexError):
            return None, out

    def pids(self):
        return [self.vswd.pid]

    def counters(self):
        return self.vswctl("dump-ports", "br0", check=False)[1]


def vsw_flow_support(h):
    """None if vswctl has add-flows, else why not."""
    rc, out = run_cmd([h.vswctl, "add-flows"], check=False)
    if rc == 2 and re.search(r"unknown command", out, re.I):
        return "vswctl has no 'add-flows' command"
    return None


# What "dpdk-testpmd --txonly-multi-flow" sends (app/test-pmd/txonly.c,
# DPDK 22.11, checked with this row's hit counts): UDP to 198.18.0.2 port 9
# from port 9, the IPv4 source varied per packet as (dst | n << 8) + lcore
# with n an 8-bit per-lcore counter: 198.18.N.(2 + lcore), 256 sources.
# gen_testpmd's forwarding lcore is lcore 1 (on GEN_CPU);
# "start tx_first 16" sends 16 bursts of 32 on each port from that one
# counter, after which io forwarding keeps the same frames circulating: 256
# distinct flows in all, each port's frames carrying half of them. There is
# no option for more (--tx-ip / --tx-udp only set the fixed addresses).
TXONLY_FLOWS = 256


GEN_FWD_LCORE = 1   # the generator's forwarding lcore id ("--lcores 0@c,1@c")


def txonly_sources():
    return ["198.18.%d.%d" % (n, 2 + GEN_FWD_LCORE)
            for n in range(TXONLY_FLOWS)]


# What "dpdk-testpmd --forward-mode=flowgen" sends (app/test-pmd/flowgen.c,
# DPDK 22.11, the same up to 22.11.11): every burst is made of newly
# allocated mbufs (or, with --flowgen-clones, refcount copies of one) with
# Ethernet 00:01:02:03:04:00 -> 00:01:02:03:04:01, IPv4 10.254.0.0 ->
# 10.253.0.0 + n, UDP port 1000 -> 1001, TTL 64, IP checksum computed, no
# UDP checksum; only the destination address varies: n is a per-lcore
# counter that counts every packet modulo --flowgen-flows (default 1024)
# and is set back by the packets the tx burst refused. Each forwarding
# stream receives a burst on its rx port and frees it (counted, never
# forwarded), then transmits a new burst of 32 on its tx port; with two
# paired ports on one lcore, the bursts alternate between the ports from
# the one counter, so over time every flow is sent on both ports. Frames
# are --txpkts minus 4 bytes long (flowgen takes 4 off for the FCS).
FLOWGEN_SRC = "10.254.0.0"
FLOWGEN_DST = "10.253.0.0"
FLOWGEN_FLOWS = max(FLOW_COUNTS)   # for devices that ask for no count


def flowgen_dst(n):
    """The destination address of flowgen's flow n."""
    a = int.from_bytes(socket.inet_aton(FLOWGEN_DST), "big") + n
    return socket.inet_ntoa((a & 0xffffffff).to_bytes(4, "big"))


class VswFlowsDevice(VswDevice):
    """vsw with flow rules for N flows, shaped to the generator's traffic.

    testpmd and pktgen generators: N rules. N = 1: the single rule
    "udp,actions=flood" (on a two-port bridge, the other port),
    single-flow traffic. N >= 2: exact rules in_port,udp,nw_src=S -> output
    to the other port, one per (in port, source): first the 2 x 256 that
    testpmd's multi-flow traffic can carry (which half arrives on which
    port depends on testpmd's stream order: 256 of them are hit), then
    rules for sources it never sends (10.x.y.z), up to N, in the same
    classifier subtable.

    flowgen generator: N distinct flows in the traffic (N = 1 included),
    and for each flow one rule per in port, in_port,udp,nw_dst=D -> output
    to the other port: 2N rules, every (flow, port) its own rule, since
    flowgen sends every flow on both ports (see FLOWGEN_SRC).

    The default NORMAL rule is deleted: a frame no rule matches is dropped
    (and the row shows it)."""

    def __init__(self, h, nflows, gen=None):
        super().__init__(h)
        self.flowgen = gen == "flowgen"
        if self.flowgen:
            self.rules = 2 * nflows
            self.flows = nflows
        else:
            self.rules = nflows
            # the generator's multi-flow option; one flow for the 1-rule row
            self.flows = nflows if nflows > 1 else 0
        self.name = "vsw-flows-%d" % nflows
        self.notes = []

    def rule_lines(self):
        fmt = "priority=10,in_port=%d,udp,%s=%s,actions=output:%d"
        if self.flowgen:
            return [fmt % (a, "nw_dst", flowgen_dst(n), b)
                    for n in range(self.flows) for a, b in ((1, 2), (2, 1))]
        if self.rules == 1:
            return ["priority=10,udp,actions=flood"]
        lines = []
        for src in txonly_sources():
            for a, b in ((1, 2), (2, 1)):
                lines.append(fmt % (a, "nw_src", src, b))
        i = 0
        while len(lines) < self.rules:
            src = "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)
            for a, b in ((1, 2), (2, 1)):
                lines.append(fmt % (a, "nw_src", src, b))
            i += 1
        return lines[: self.rules]

    def start(self, nports=2):
        why = vsw_flow_support(self.h)
        if why:
            raise Skip(why)
        socks = super().start(nports)
        lines = self.rule_lines()
        rules = os.path.join(self.dir, "flows.txt")
        with open(rules, "w") as f:
            f.write("# %d rules (bench/compare/run.py)\n" % len(lines))
            f.write("\n".join(lines) + "\n")
        self.vswctl("del-flows", "br0")
        t0 = time.monotonic()
        self.vswctl("add-flows", "br0", rules, timeout=600)
        self.notes.append("%d rules loaded by add-flows in %.2f s"
                          % (len(lines), time.monotonic() - t0))
        n = len(json.loads(self.vswctl("--json", "dump-flows",
                                       "br0", timeout=120)[1])["flows"])
        if n != self.rules:
            raise BenchError("br0 has %d rules, %d loaded" % (n, self.rules))
        if self.rules > 1 and not self.flowgen:
            self.notes.append("traffic: testpmd --txonly-multi-flow, "
                              "%d distinct flows (its maximum)"
                              % TXONLY_FLOWS)
        return socks

    def hit_note(self):
        """How many rules the traffic hit (after the measurement)."""
        rc, out = self.vswctl("--json", "dump-flows", "br0", check=False,
                              timeout=120)
        if rc != 0:
            return "dump-flows failed: " + out.strip()[:200]
        fl = json.loads(out)["flows"]
        hit = [f["match"] for f in fl if f["n_packets"] > 0]
        return "%d of %d rules hit%s" % (
            len(hit), len(fl), " (%s)" % ", ".join(hit) if len(hit) <= 4
            else "")


def make_device(h, name, gen=None):
    """The device NAME; GEN, the generator that will drive it, if some
    device's set-up depends on its traffic (vsw-flows-N)."""
    if name == "testpmd":
        return TestpmdDevice(h)
    if name == "ovs":
        return OvsDevice(h)
    if name == "vsw":
        return VswDevice(h)
    if name == "vsw-poll":
        d = VswDevice(h)
        d.name, d.poll = "vsw-poll", True
        return d
    m = re.fullmatch(r"vsw-flows-(\d+)", name)
    if m:
        return VswFlowsDevice(h, int(m.group(1)), gen)
    raise BenchError("unknown device %s" % name)


# ---------------------------------------------------------------------------
# Generators: each returns {"samples": per-second (pps, bps) through the
# DUT, "notes": [text], "cycles_per_packet" and "dut_cycles_raw": the
# device's own counters over the same interval (measure_end), and what else
# the generator knows (flowgen: "gen_refused_pct")}
# ---------------------------------------------------------------------------

def testpmd_sample(tp, dev, seconds):
    """The measured interval of a testpmd generator (its caller has
    re-pinned the device's threads): the device's counters cleared, one
    sample a second of the sum of the generator's rx rates (what the device
    forwarded), the device's counters read. Returns (samples, cycles/packet, raw counter
    text, the generator's port stats at the start and at the end)."""
    dev.measure_begin()
    prev, tprev = tp.port_stats(), time.monotonic()
    first = prev
    samples = []
    while len(samples) < seconds:
        time.sleep(max(0.0, tprev + 1.0 - time.monotonic()))
        cur, tcur = tp.port_stats(), time.monotonic()
        dt = tcur - tprev
        d = {p: [c - o for c, o in zip(cur[p], prev[p])] for p in cur}
        pkts = sum(d[p][0] for p in d)
        byts = sum(d[p][1] for p in d)
        samples.append((pkts / dt, byts * 8 / dt))
        prev, tprev = cur, tcur
    cpp, raw = dev.measure_end()
    return samples, cpp, raw, first, prev


# A start that leaves fewer of the injected frames circulating (some were
# sent before the device's port was up and are gone) is done again, so that
# every row runs with (nearly) the same population.
POP_MIN = 0.75


def gen_testpmd(h, dev, socks, size, seconds, flows=0):
    """testpmd loopback generator; samples are the sum of both rx rates.

    The population of circulating frames is fixed: BURSTS bursts of 32 per
    port, injected once ("start tx_first"). If a direction stays empty, or
    fewer than POP_MIN of the frames circulate (some were sent before the
    device's port was up), the generator is
    started again from scratch rather than injecting more on top, so every
    row runs with the same number of frames in flight; the note records
    how many circulated (tx - rx of the generator, at the start and at the
    end of the measured interval)."""
    vdevs = ["net_virtio_user%d,path=%s" % (i, s) for i, s in enumerate(socks)]
    extra = ["--txpkts=%d" % size]
    if flows:
        extra.append("--txonly-multi-flow")
    notes = []
    for attempt in range(3):
        # main lcore and forwarding lcore both on the generator's core
        tp = Testpmd(h.reg, "gen-testpmd", vdevs, GEN_CPU, GEN_CPU,
                     extra=extra)
        try:
            tp.wait_links(2)
            tp.cmd("start tx_first %d" % BURSTS)
            time.sleep(2)
            first = tp.port_stats()
            time.sleep(1)
            st = tp.port_stats()
            # frames in flight: what the generator sent and did not get back
            pop = sum(st[p][2] - st[p][0] for p in st)
            full = all(st[p][0] > first[p][0] for p in st)
            if full and pop >= POP_MIN * 2 * BURSTS * 32:
                break
            if attempt == 2 and full:
                notes.append("population stayed short after 3 starts: "
                             "%d of %d frames circulate"
                             % (pop, 2 * BURSTS * 32))
                break
            notes.append("generator restarted: %s (rx %s, %d frames "
                         "circulating)"
                         % ("a direction was empty" if not full else
                            "frames were lost at the start",
                            [st[p][0] - first[p][0] for p in sorted(st)],
                            pop))
        except BenchError:
            h.reg.kill([tp])
            raise
        tp.quit()
        h.reg.kill([tp])
    else:
        raise BenchError("a direction stayed empty after 3 starts")
    try:
        notes.append("device threads: " + (dev.pin() or "as started"))
        samples, cpp, raw, st0, st1 = testpmd_sample(tp, dev, seconds)
        pop0 = sum(st0[p][2] - st0[p][0] for p in st0)
        pop1 = sum(st1[p][2] - st1[p][0] for p in st1)
        notes.append("frames circulating %d at the start, %d at the end "
                     "(%d injected)" % (pop0, pop1, 2 * BURSTS * 32))
        tp.cmd("stop")
    finally:
        tp.quit()
        h.reg.kill([tp])
    return {"samples": samples, "notes": notes, "cycles_per_packet": cpp,
            "dut_cycles_raw": raw}


FWD_TX_RE = re.compile(r"Accumulated forward statistics.*?TX-packets:\s*(\d+)"
                       r"\s+TX-dropped:\s*(\d+)", re.S)


def gen_flowgen(h, dev, socks, size, seconds, flows=0):
    """testpmd flowgen generator: new frames of N flows on both ports, what
    comes back is counted and freed; samples are the sum of both rx rates.

    Same process layout and sampling as gen_testpmd, but nothing
    circulates: the generator offers as much as its core can build, and
    the ring refuses what the device has not taken yet. The note gives
    that refused share (testpmd's TX-dropped over its tx attempts) over the
    measured interval: when it is well above zero the generator had frames
    ready that the device had not taken, because it was busy or because it
    did not run (asleep, or its core taken): "counters allow" says which."""
    n = flows or FLOWGEN_FLOWS
    vdevs = ["net_virtio_user%d,path=%s" % (i, s) for i, s in enumerate(socks)]
    # +4: flowgen's frames are --txpkts minus the FCS
    extra = ["--txpkts=%d" % (size + 4), "--flowgen-flows=%d" % n]
    tp = Testpmd(h.reg, "gen-flowgen", vdevs, GEN_CPU, GEN_CPU, extra=extra,
                 mode="flowgen")
    notes = ["traffic: testpmd flowgen, %d distinct flows (UDP %s -> "
             "%s .. %s)" % (n, FLOWGEN_SRC, flowgen_dst(0),
                            flowgen_dst(n - 1))]
    try:
        tp.wait_links(2)
        tp.cmd("start")
        time.sleep(2)
        first = tp.port_stats()
        time.sleep(1)
        st = tp.port_stats()
        if not all(st[p][0] > first[p][0] for p in st):
            raise BenchError("flowgen: a direction is empty after 3 s "
                             "(rx %s)" % [st[p][0] - first[p][0]
                                          for p in sorted(st)])
        notes.append("device threads: " + (dev.pin() or "as started"))
        tp.cmd("clear fwd stats all")
        samples, cpp, raw, st0, st1 = testpmd_sample(tp, dev, seconds)
        res = {"samples": samples, "notes": notes, "cycles_per_packet": cpp,
               "dut_cycles_raw": raw}
        m = FWD_TX_RE.search(tp.cmd("show fwd stats all"))
        if m:
            sent, refused = int(m.group(1)), int(m.group(2))
            res["gen_refused_pct"] = 100.0 * refused / max(1, sent + refused)
            notes.append("generator: %d frames sent, %.0f %% of its tx "
                         "attempts refused by a full ring"
                         % (sent, res["gen_refused_pct"]))
        rxp = sum(st1[p][0] - st0[p][0] for p in st1)
        rxb = sum(st1[p][1] - st0[p][1] for p in st1)
        if rxp:
            notes.append("frames of %.0f bytes" % (rxb / rxp))
        tp.cmd("stop")
    finally:
        tp.quit()
        h.reg.kill([tp])
    return res


PG_RX_RE = re.compile(r"interval: ([\d.]+) s tx \d+ pkts \d+ bytes, rx (\d+) "
                      r"pkts (\d+) bytes")


def gen_pktgen(h, dev, socks, size, seconds, flows=0):
    """vsw-pktgen tx on A, rx on B (both on the generator core)."""
    if flows:
        raise Skip("vsw-pktgen has no multi-flow option")
    total = seconds + 3
    rx = Proc(h.reg, "gen-pktgen-rx",
              [h.pktgen, "--socket", socks[1], "--mode", "rx", "--size",
               str(size), "--seconds", str(total + 1), "--stats-interval", "1"],
              cpus=str(GEN_CPU), stdin=False)
    tx = Proc(h.reg, "gen-pktgen-tx",
              [h.pktgen, "--socket", socks[0], "--mode", "tx", "--size",
               str(size), "--seconds", str(total)],
              cpus=str(GEN_CPU), stdin=False)
    cpp, raw = None, ""
    try:
        # the measured interval: after the warm-up samples dropped below
        time.sleep(3)
        dev.pin()
        dev.measure_begin()
        time.sleep(seconds)
        cpp, raw = dev.measure_end()
        rx.wait_exit(total + 15)
        tx.wait_exit(5)
    finally:
        h.reg.kill([rx, tx])
    pts = [(float(m.group(1)), int(m.group(2)), int(m.group(3)))
           for m in PG_RX_RE.finditer(rx.text())]
    samples = []
    for (t0, p0, b0), (t1, p1, b1) in zip(pts, pts[1:]):
        if t1 <= 3:        # warm-up and the tx side's connect
            continue
        dt = t1 - t0
        samples.append(((p1 - p0) / dt, (b1 - b0) * 8 / dt))
    notes = []
    tot = re.search(r"total: .*", rx.text())
    if tot:
        notes.append("rx " + tot.group(0))
    return {"samples": samples[:seconds], "notes": notes,
            "cycles_per_packet": cpp, "dut_cycles_raw": raw}


GENERATORS = {"testpmd": gen_testpmd, "pktgen": gen_pktgen,
              "flowgen": gen_flowgen}

LAT_RE = re.compile(r"latency ns \((\d+) samples\): p50 (\d+) p90 (\d+) "
                    r"p99 (\d+) p99.9 (\d+) max (\d+)")


def latency(h, dev, socks, rate, seconds, size=64):
    """Round trips A -> device -> B -> device -> A.

    tool "vsw-latency" (default): one process, front-end of both ports, on
    the generator core. tool "pktgen": vsw-pktgen ping on A and echo on B,
    two busy processes sharing the generator core, so the scheduler's time
    slices (milliseconds) show in the figures."""
    procs = []
    if h.args.lat_tool == "vsw-latency":
        ping = Proc(h.reg, "lat-probe",
                    [h.latency_bin, "--a", socks[0], "--b", socks[1],
                     "--rate", str(rate), "--seconds", str(seconds),
                     "--size", str(size)], cpus=str(GEN_CPU), stdin=False)
        procs.append(ping)
    else:
        procs.append(Proc(h.reg, "lat-echo",
                          [h.pktgen, "--socket", socks[1], "--mode", "echo",
                           "--seconds", str(seconds + 4)], cpus=str(GEN_CPU),
                          stdin=False))
        time.sleep(1)
        ping = Proc(h.reg, "lat-ping",
                    [h.pktgen, "--socket", socks[0], "--mode", "ping",
                     "--rate", str(rate), "--count", str(int(rate * seconds)),
                     "--seconds", str(seconds + 2)], cpus=str(GEN_CPU),
                    stdin=False)
        procs.append(ping)
    try:
        ping.wait_exit(seconds + 20)
    finally:
        h.reg.kill(procs)
    m = LAT_RE.search(ping.text())
    if not m:
        raise BenchError("no latency line from %s; log %s"
                         % (ping.name, ping.logpath))
    keys = ("samples", "p50", "p90", "p99", "p99.9", "max")
    res = dict(zip(keys, (int(x) for x in m.groups())))
    lost = re.search(r"lost (\d+)", ping.text())
    res["lost"] = int(lost.group(1)) if lost else 0
    return res


# ---------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------

class Harness:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="vsw-compare-")
        self.reg = Registry(self.tmp)
        self.hp_old = None
        self.hp_mounted = False

    # -- environment ------------------------------------------------------
    def hugepages_setup(self):
        with open("/proc/sys/vm/nr_hugepages") as f:
            self.hp_old = int(f.read())
        if not os.path.ismount("/dev/hugepages"):
            os.makedirs("/dev/hugepages", exist_ok=True)
            run_cmd(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"])
            self.hp_mounted = True
        want = self.hp_old + HUGEPAGES
        with open("/proc/sys/vm/nr_hugepages", "w") as f:
            f.write(str(want))
        with open("/proc/sys/vm/nr_hugepages") as f:
            got = int(f.read())
        if got < want:
            log("warning: asked for %d hugepages, got %d" % (want, got))

    def hugepages_release(self):
        if self.hp_old is not None:
            try:
                with open("/proc/sys/vm/nr_hugepages", "w") as f:
                    f.write(str(self.hp_old))
            except OSError as e:
                log("could not restore nr_hugepages: %s" % e)
        if self.hp_mounted:
            run_cmd(["umount", "/dev/hugepages"], check=False)

    def find_tools(self):
        a = self.args
        bd = a.build_dir
        if bd is None:
            bd = "/tmp/build-bench-compare"
            if not os.path.exists(os.path.join(bd, "build.ninja")):
                log("configuring a release build in %s" % bd)
                run_cmd(["meson", "setup", bd, ROOT, "-Dbuildtype=release",
                         "-Dtests=false"], timeout=300)
            run_cmd(["ninja", "-C", bd, "programs/vswd/vswd",
                     "programs/vswctl/vswctl", "programs/pktgen/vsw-pktgen"],
                    timeout=600)
        self.vswd = os.path.join(bd, "programs/vswd/vswd")
        self.vswctl = os.path.join(bd, "programs/vswctl/vswctl")
        self.pktgen = os.path.join(bd, "programs/pktgen/vsw-pktgen")
        for t in (self.vswd, self.vswctl, self.pktgen):
            if not os.access(t, os.X_OK):
                raise BenchError("%s not built" % t)
        self.latency_bin = os.path.join(bd, "bench/vsw-latency")
        if not os.access(self.latency_bin, os.X_OK):
            # not (yet) in bench/meson.build: build it here
            self.latency_bin = os.path.join(self.tmp, "vsw-latency")
            run_cmd(["cc", "-std=gnu11", "-O2", "-Wall", "-Wextra",
                     "-I", os.path.join(ROOT, "include"),
                     os.path.join(ROOT, "bench/compare/vsw-latency.c"),
                     os.path.join(bd, "lib/libvsw.a"), "-lpthread",
                     "-o", self.latency_bin], timeout=120)
        if shutil.which("dpdk-testpmd") is None:
            raise BenchError("dpdk-testpmd missing: apt-get install dpdk")

    def cleanup(self):
        self.reg.kill_all()
        self.hugepages_release()

    # -- one throughput measurement ----------------------------------------
    def throughput(self, devname, gen, size, rep):
        dev = make_device(self, devname, gen)
        res = {"device": devname, "gen": gen, "size": size, "rep": rep,
               "samples": [], "notes": []}
        try:
            socks = dev.start(2)
            out = GENERATORS[gen](self, dev, socks, size,
                                  self.args.duration, dev.flows)
            out["notes"] = getattr(dev, "notes", []) + out["notes"]
            res.update(out)
            res["device_counters"] = dev.counters()
            if hasattr(dev, "hit_note"):
                res["rules_hit"] = dev.hit_note()
                res["notes"].append(res["rules_hit"])
            samples = res["samples"]
            if not samples or max(s[0] for s in samples) == 0:
                res["error"] = "no traffic through the device"
        except Skip as e:
            res["skip"] = str(e)
        except BenchError as e:
            res["error"] = str(e)
            res["device_counters"] = dev.counters() if dev.procs else ""
        finally:
            dev.stop()
        return res

    def idle_cpu(self, devname):
        """CPU of the device over idle_seconds, ports connected, no traffic:
        a testpmd front-end holds both ports but does not forward."""
        dev = make_device(self, devname)
        try:
            socks = dev.start(2)
            vdevs = ["net_virtio_user%d,path=%s" % (i, s)
                     for i, s in enumerate(socks)]
            tp = Testpmd(self.reg, "idle-frontend", vdevs, GEN_CPU, GEN_CPU)
            tp.wait_links(2)
            time.sleep(2)
            pids = dev.pids()
            t0 = sum(cpu_ticks(p) for p in pids)
            w0 = time.monotonic()
            time.sleep(self.args.idle_seconds)
            t1 = sum(cpu_ticks(p) for p in pids)
            w1 = time.monotonic()
            self.reg.kill([tp])
            return {"cpu_pct": 100.0 * (t1 - t0) / CLK_TCK / (w1 - w0)}
        except Skip as e:
            return {"skip": str(e)}
        except BenchError as e:
            return {"error": str(e)}
        finally:
            dev.stop()

    def memory(self, devname, nports):
        dev = make_device(self, devname)
        try:
            dev.start(nports)
            time.sleep(2)
            m = {"VmRSS": 0, "HugetlbPages": 0}
            for p in dev.pids():
                for k, v in mem_kb(p).items():
                    m[k] += v
            return m
        except Skip as e:
            return {"skip": str(e)}
        except BenchError as e:
            return {"error": str(e)}
        finally:
            dev.stop()

    def latency(self, devname, rate):
        dev = make_device(self, devname)
        try:
            socks = dev.start(2)
            return latency(self, dev, socks, rate, self.args.lat_seconds)
        except Skip as e:
            return {"skip": str(e)}
        except BenchError as e:
            return {"error": str(e)}
        finally:
            dev.stop()


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def rep_value(samples):
    """One repetition: the median of its per-second samples."""
    return (statistics.median(s[0] for s in samples),
            statistics.median(s[1] for s in samples))


def summarize(results):
    rows = {}
    for r in results:
        key = (r["device"], r["gen"], r["size"])
        row = rows.setdefault(key, {"mpps": [], "gbps": [], "cpp": [],
                                    "notes": [], "refused": []})
        if r.get("skip"):
            row["skip"] = r["skip"]
        elif r.get("error") or not r["samples"]:
            row["notes"].append("rep %d: %s" % (r["rep"], r.get("error",
                                                                "no samples")))
        else:
            pps, bps = rep_value(r["samples"])
            row["mpps"].append(pps / 1e6)
            row["gbps"].append(bps / 1e9)
            if r.get("cycles_per_packet"):
                row["cpp"].append(r["cycles_per_packet"])
            if r.get("gen_refused_pct") is not None:
                row["refused"].append(r["gen_refused_pct"])
            if r.get("rules_hit"):
                row["hit"] = r["rules_hit"]   # the last repetition's
    return rows


def mmm(v):
    if not v:
        return None
    return (min(v), statistics.median(v), max(v))


def fmt3(t, f="%.2f"):
    if t is None:
        return "-"
    return " / ".join(f % x for x in t)


def build_table(args, rows, idle, mem, lat, meta):
    L = []
    L.append("Run %s on %s; %d s per measurement, %d repetition(s), "
             "interleaved; generator lcore %d, device data-plane core %d. "
             "Load average before / after: %s / %s."
             % (meta["when"], meta["host"], args.duration, args.reps,
                GEN_CPU, DUT_CPU, meta["load_before"],
                meta.get("load_after", "?")))
    L.append("")
    L.append("### Throughput (min / median / max over repetitions; each "
             "repetition is the median of its per-second samples)")
    L.append("")
    L.append("Cycles/packet are each device's own counters over the same "
             "measured interval (vsw: `vswctl pmd-stats`, processing cycles "
             "per packet; OVS: `dpif-netdev/pmd-stats-show`, avg processing "
             "cycles per packet; testpmd: `--record-core-cycles`, CPU "
             "cycles/packet), median over repetitions. *Counters allow* is "
             "the TSC rate (%.0f MHz) divided by that: the rate the device "
             "would reach with its core 100 %% busy. A measured rate far "
             "below it means the generator (or something else) was the "
             "limit, not the device." % ((HZ or 0) / 1e6))
    L.append("")
    L.append("| device | generator | frame | Mpps | Gbit/s | "
             "vs testpmd | vs ovs | cycles/packet | counters allow |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for (dev, gen, size), row in sorted(
            rows.items(), key=lambda kv: (kv[0][1], kv[0][2],
                                          order_key(kv[0][0]))):
        if row.get("skip"):
            L.append("| %s | %s | %d | skipped: %s | | | | | |"
                     % (dev, gen, size, row["skip"]))
            continue
        m = mmm(row["mpps"])
        g = mmm(row["gbps"])
        ratios = []
        for ref in ("testpmd", "ovs"):
            r = rows.get((ref, gen, size))
            rm = mmm(r["mpps"]) if r else None
            if m and rm and ref != dev and rm[1] > 0:
                ratios.append("%.2fx" % (m[1] / rm[1]))
            else:
                ratios.append("")
        note = ""
        if row["notes"]:
            note = " (" + "; ".join(row["notes"])[:300] + ")"
        cpp = statistics.median(row["cpp"]) if row["cpp"] else None
        allow = ""
        if cpp and HZ and m:
            cap = HZ / cpp / 1e6
            allow = "%.1f Mpps" % cap
            if m[1] < 0.7 * cap:
                allow += " (measured %.0f %%: not device-bound)" % (
                    100 * m[1] / cap)
            elif m[1] > 1.15 * cap:
                allow += " (measured above it: counter covers part of " \
                         "the work?)"
        L.append("| %s | %s | %d | %s%s | %s | %s | %s | %s | %s |"
                 % (dev, gen, size, fmt3(m), note, fmt3(g), ratios[0],
                    ratios[1], "%.0f" % cpp if cpp else "-", allow))
    L += flow_table(rows)
    if idle:
        L.append("")
        L.append("### Idle CPU (ports connected, no traffic, %d s; %% of "
                 "one core, utime+stime of the device's process)"
                 % args.idle_seconds)
        L.append("")
        L.append("| device | CPU |")
        L.append("|---|---|")
        for dev, v in idle.items():
            L.append("| %s | %s |" % (dev, "%.1f %%" % v["cpu_pct"]
                                      if "cpu_pct" in v else
                                      v.get("skip") or v.get("error")))
    if mem:
        L.append("")
        L.append("### Memory (kB: VmRSS + HugetlbPages = total)")
        L.append("")
        L.append("| device | 2 ports | 32 ports |")
        L.append("|---|---|---|")
        for dev, v in mem.items():
            cells = []
            for n in (2, 32):
                x = v.get(n, {})
                if "VmRSS" in x:
                    cells.append("%d + %d = %d" % (
                        x["VmRSS"], x["HugetlbPages"],
                        x["VmRSS"] + x["HugetlbPages"]))
                else:
                    cells.append(x.get("skip") or x.get("error") or "-")
            L.append("| %s | %s | %s |" % (dev, cells[0], cells[1]))
    if lat:
        L.append("")
        L.append("### Round-trip latency (us; A -> device -> B -> device -> "
                 "A, 64-byte frames, one probe at a time; tool: %s on the "
                 "generator core)" % args.lat_tool)
        L.append("")
        L.append("| device | rate pps | samples | lost | p50 | p90 | p99 | "
                 "p99.9 | max | p99 vs testpmd |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for (dev, rate), v in lat.items():
            if "p50" not in v:
                L.append("| %s | %d | %s | | | | | | | |"
                         % (dev, rate, v.get("skip") or v.get("error")))
                continue
            ref = lat.get(("testpmd", rate), {})
            ratio = ("%.2fx" % (v["p99"] / ref["p99"])
                     if ref.get("p99") and dev != "testpmd" else "")
            L.append("| %s | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f "
                     "| %s |" % (dev, rate, v["samples"], v.get("lost", 0),
                               v["p50"] / 1e3,
                               v["p90"] / 1e3, v["p99"] / 1e3,
                               v["p99.9"] / 1e3, v["max"] / 1e3, ratio))
    return "\n".join(L) + "\n"


def flow_table(rows):
    """Lines of the flow-table section: each vsw-flows-N row against the
    one-flow row and the normal path under the same generator and size,
    the rules its traffic hit, and, for generators that report it, the
    share of the generator's tx attempts the device's full ring refused
    (for every row of that generator: the testpmd device's row is the
    generator's own ceiling)."""
    keys = sorted((k for k, row in rows.items()
                   if not row.get("skip") and (row["refused"] or
                                               k[0].startswith("vsw-flows-"))),
                  key=lambda k: (k[1], k[2], order_key(k[0])))
    if not keys:
        return []
    L = ["", "### Flow table, and whether the generator kept up", "",
         "vsw-flows-N against vsw-flows-1 and vsw (normal path) with the "
         "same generator and frame size (medians); *generator refused*: "
         "the share of the generator's tx attempts that the device's full "
         "ring refused (median over repetitions). Above zero, the "
         "generator had frames ready the device had not taken: it was "
         "busy, or it did not run (asleep, or its core taken), which "
         "*counters allow* tells apart.", "",
         "| device | generator | frame | Mpps | vs vsw-flows-1 | vs vsw | "
         "generator refused | rules hit (last repetition) |",
         "|---|---|---|---|---|---|---|---|"]
    for dev, gen, size in keys:
        row = rows[(dev, gen, size)]
        m = mmm(row["mpps"])
        ratios = []
        for ref in ("vsw-flows-1", "vsw"):
            r = rows.get((ref, gen, size))
            rm = mmm(r["mpps"]) if r else None
            ok = m and rm and rm[1] > 0 and ref != dev
            ok = ok and (dev.startswith("vsw-flows-") or ref == "vsw")
            ratios.append("%.2fx" % (m[1] / rm[1]) if ok else "")
        ref_ = ("%.0f %%" % statistics.median(row["refused"])
                if row["refused"] else "-")
        L.append("| %s | %s | %d | %s | %s | %s | %s | %s |"
                 % (dev, gen, size, "%.2f" % m[1] if m else "-", ratios[0],
                    ratios[1], ref_, row.get("hit", "")))
    return L


def order_key(dev):
    order = list(DEVICES) + ["vsw-flows-%d" % n for n in FLOW_COUNTS]
    return order.index(dev) if dev in order else len(order)


def plot(rows, png, gnuplot="gnuplot"):
    """Median Mpps per row, min..max as error bars, one cluster per size."""
    if shutil.which(gnuplot) is None:
        log("gnuplot missing: no plot (apt-get install gnuplot-nox)")
        return False
    data = []
    for (dev, gen, size), row in sorted(
            rows.items(), key=lambda kv: (kv[0][1], kv[0][2],
                                          order_key(kv[0][0]))):
        m = mmm(row["mpps"])
        if m:
            data.append(("%s/%s/%dB" % (dev, gen, size), m))
    if not data:
        return False
    dat = png + ".dat"
    with open(dat, "w") as f:
        for i, (label, (lo, med, hi)) in enumerate(data):
            f.write('%d "%s" %.4f %.4f %.4f\n' % (i, label, med, lo, hi))
    script = """
set terminal pngcairo size 1100,560 font ",10"
set rmargin 16
set bmargin 10
set output '%s'
set title 'vhost-user forwarding, 2 ports (median, min..max over repetitions)'
set ylabel 'Mpps'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -45 nomirror
set grid ytics
set yrange [0:*]
unset key
plot '%s' using 1:3:xtic(2) with boxes lc rgb '#4477aa', \\
     '' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0, \\
     '' using 1:3:(sprintf('%%.2f',$3)) with labels offset 0,1
""" % (png, dat)
    r = subprocess.run([gnuplot], input=script.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.unlink(dat)
    if r.returncode != 0:
        log("gnuplot failed: %s" % r.stdout.decode(errors="replace"))
        return False
    return True


def write_docs(args, table, pngname):
    path = os.path.join(args.docs, "performance.md")
    begin, end = "<!-- compare:begin -->", "<!-- compare:end -->"
    block = "%s\n%s\n![throughput](%s)\n%s\n" % (begin, table, pngname, end)
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if begin in text and end in text:
        pre = text[: text.index(begin)]
        post = text[text.index(end) + len(end):].lstrip("\n")
        text = pre + block + ("\n" + post if post else "")
    else:
        text = ("# Performance\n\n" if not text else text + "\n") + block
    with open(path, "w") as f:
        f.write(text)
    return path


# ---------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(
        description="vsw vs dpdk-testpmd vs OVS-DPDK over vhost-user, "
        "interleaved, in one run (root; takes 25-40 minutes in full).")
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds of per-second samples per measurement "
                    "(after 2 s of warm-up; default 10)")
    ap.add_argument("--reps", type=int, default=3,
                    help="repetitions of every row, interleaved (default 3)")
    ap.add_argument("--devices", default=",".join(
        list(DEVICES) + ["vsw-flows-%d" % n for n in FLOW_COUNTS]),
        help="comma list of: testpmd, ovs, vsw, vsw-poll, vsw-flows-N")
    ap.add_argument("--generators", default="testpmd,pktgen,flowgen",
                    help="comma list of: testpmd, pktgen, flowgen")
    ap.add_argument("--sizes", default="64,1518",
                    help="frame sizes in bytes (default 64,1518)")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--lat-seconds", type=int, default=10)
    ap.add_argument("--lat-tool", choices=("vsw-latency", "pktgen"),
                    default="vsw-latency",
                    help="vsw-latency: one process drives both ports "
                    "(default); pktgen: vsw-pktgen ping + echo, two "
                    "processes on one core")
    ap.add_argument("--lat-rates", default="1000,20",
                    help="ping rates in frames/s (the low one shows the "
                    "wake-up cost of a device that sleeps when idle)")
    ap.add_argument("--no-idle", action="store_true")
    ap.add_argument("--idle-seconds", type=int, default=10)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 s, 1 repetition, 64 bytes, testpmd "
                    "generator, 3 s idle, 3 s latency at 1000/s")
    ap.add_argument("--build-dir", help="a vsw build with vswd, vswctl, "
                    "vsw-pktgen (default: build release in "
                    "/tmp/build-bench-compare)")
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs"),
                    help="where performance.md and perf-compare.png go")
    ap.add_argument("--no-docs", action="store_true",
                    help="print the table only")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--from-json", metavar="FILE",
                    help="measure nothing: redo the table, plot and docs "
                    "from a file written by --json")
    a = ap.parse_args()
    if a.quick:
        # only what was not given explicitly
        given = set(re.sub(r"=.*", "", x) for x in sys.argv[1:])
        for opt, val in (("--duration", 3), ("--reps", 1), ("--sizes", "64"),
                         ("--generators", "testpmd"), ("--idle-seconds", 3),
                         ("--lat-seconds", 3), ("--lat-rates", "1000")):
            if opt not in given:
                setattr(a, opt[2:].replace("-", "_"), val)
    a.devices = [d for d in a.devices.split(",") if d]
    a.generators = [g for g in a.generators.split(",") if g]
    a.sizes = [int(s) for s in a.sizes.split(",") if s]
    a.lat_rates = [int(r) for r in a.lat_rates.split(",") if r]
    for g in a.generators:
        if g not in GENERATORS:
            ap.error("unknown generator %s" % g)
    for d in a.devices:
        if d not in DEVICES and not re.fullmatch(r"vsw-flows-\d+", d):
            ap.error("unknown device %s" % d)
    for s in a.sizes:
        if not 64 <= s <= 1518:
            ap.error("frame size %d not in 64..1518" % s)
    if a.duration < 1 or a.reps < 1:
        ap.error("--duration and --reps must be >= 1")
    return a


def from_json(args):
    with open(args.from_json) as f:
        d = json.load(f)
    saved = argparse.Namespace(**d["args"])
    global HZ
    HZ = d["meta"].get("tsc_hz")
    lat = {}
    for k, v in d["latency"].items():
        dev, _, rate = k.rpartition("@")
        lat[(dev, int(rate))] = v
    mem = {dev: {int(n): v for n, v in m.items()}
           for dev, m in d["memory"].items()}
    rows = summarize(d["results"])
    table = build_table(saved, rows, d["idle"], mem, lat, d["meta"])
    print(table)
    if not args.no_docs:
        png = os.path.join(args.docs, "perf-compare.png")
        ok = plot(rows, png)
        path = write_docs(args, table, os.path.basename(png) if ok else "")
        log("wrote %s%s" % (path, " and " + png if ok else ""))
    return 0


def main():
    args = parse_args()
    if args.from_json:
        return from_json(args)
    if os.geteuid() != 0:
        print("compare: run as root (hugepages, OVS)", file=sys.stderr)
        return 2
    if os.cpu_count() < 2:
        print("compare: needs 2 CPUs (generator and device)", file=sys.stderr)
        return 2
    h = Harness(args)
    global HZ
    HZ = tsc_hz()

    def on_signal(sig, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    results, idle, mem, lat = [], {}, {}, {}
    meta = {"when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "host": "%s, %d CPUs, %s" % (platform.node(), os.cpu_count(),
                                         platform.release()),
            "load_before": loadavg(), "tsc_hz": HZ}
    if float(meta["load_before"]) > 0.5:
        log("warning: load average %s: something else runs on this "
            "machine; the figures will show it" % meta["load_before"])
    try:
        h.find_tools()
        h.hugepages_setup()
        log("logs in %s" % h.tmp)
        plan = [(d, g, s) for g in args.generators for s in args.sizes
                for d in args.devices]
        skipped = {}
        for rep in range(1, args.reps + 1):
            for d, g, s in plan:
                if d in skipped:
                    results.append({"device": d, "gen": g, "size": s,
                                    "rep": rep, "samples": [],
                                    "skip": skipped[d]})
                    continue
                r = h.throughput(d, g, s, rep)
                results.append(r)
                if r.get("skip") and g == args.generators[0]:
                    skipped[d] = r["skip"]
                if r.get("skip"):
                    log("rep %d %-14s %-7s %4d B: skipped: %s"
                        % (rep, d, g, s, r["skip"]))
                elif r.get("error"):
                    log("rep %d %-14s %-7s %4d B: ERROR %s"
                        % (rep, d, g, s, r["error"]))
                    if r.get("device_counters"):
                        log("device counters:\n" + r["device_counters"])
                else:
                    pps = [x[0] / 1e6 for x in r["samples"]]
                    log("rep %d %-14s %-7s %4d B: median %.3f Mpps, "
                        "%s cycles/packet (per s: %s)%s"
                        % (rep, d, g, s, statistics.median(pps),
                           "%.0f" % r["cycles_per_packet"]
                           if r.get("cycles_per_packet") else "no",
                           " ".join("%.2f" % x for x in pps),
                           "; " + "; ".join(r["notes"])
                           if r["notes"] else ""))
        base = [d for d in args.devices if d in DEVICES]
        if not args.no_idle:
            for d in base:
                idle[d] = h.idle_cpu(d)
                log("idle %s: %s" % (d, idle[d]))
        if not args.no_memory:
            for d in base:
                mem[d] = {}
                for n in (2, 32):
                    mem[d][n] = h.memory(d, n)
                    log("memory %s %d ports: %s" % (d, n, mem[d][n]))
        if not args.no_latency:
            for rate in args.lat_rates:
                for d in base:
                    lat[(d, rate)] = h.latency(d, rate)
                    log("latency %s %d/s: %s" % (d, rate, lat[(d, rate)]))
    except KeyboardInterrupt:
        log("interrupted: stopping every process")
        h.cleanup()
        return 130
    except BenchError as e:
        log("error: %s" % e)
        h.cleanup()
        return 1
    finally:
        h.cleanup()
    meta["load_after"] = loadavg()
    rows = summarize(results)
    table = build_table(args, rows, idle, mem, lat, meta)
    print()
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "args": vars(args), "results": results,
                       "idle": idle,
                       "memory": {d: {str(n): v for n, v in m.items()}
                                  for d, m in mem.items()},
                       "latency": {"%s@%d" % k: v for k, v in lat.items()}},
                      f, indent=1)
    if not args.no_docs:
        png = os.path.join(args.docs, "perf-compare.png")
        ok = plot(rows, png)
        path = write_docs(args, table, os.path.basename(png) if ok else "")
        log("wrote %s%s" % (path, " and " + png if ok else ""))
    log("logs kept in %s" % h.tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
