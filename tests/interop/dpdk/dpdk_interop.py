#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interop tests between vsw and DPDK 22.11's dpdk-testpmd.

Scenarios (one per sub-command, each a Meson test in suite 'interop'):

  selftest   testpmd net_virtio_user <-> testpmd net_vhost, both directions:
             proves this harness against DPDK alone before vsw is involved.
  frontend   DPDK is the vhost-user FRONT-END: testpmd net_virtio_user drives
             vsw-testpeer (a vsw back-end) in echo mode; every frame testpmd
             sends must come back, counted and sized exactly.
  backend    DPDK is the vhost-user BACK-END: testpmd net_vhost in io mode
             reflects what vsw-pktgen (vsw's front-end) sends; pktgen checks
             every byte and the count, testpmd's counters are checked too.

How testpmd runs here (no hugepages needed, checked on DPDK 22.11):
  --no-pci --no-huge -m 256: EAL memory is ordinary memory. --no-huge
  implies legacy memory mode, which --in-memory refuses ("Option
  --legacy-mem is not compatible with --in-memory"); instead each process
  gets --no-shconf (no shared config files) and its own --file-prefix, and
  the empty runtime directory EAL still makes is removed afterwards. In
  no-huge mode EAL backs its memory with one memfd mapped MAP_SHARED, which
  is what virtio_user needs: it passes that fd to the back-end in
  SET_MEM_TABLE. (Not used here: with hugepages, virtio_user needs
  --single-file-segments, because otherwise every hugepage is its own file
  and a vhost-user message carries at most 8 fds.)
  -l 0,1 with --main-lcore 0 or 1: each testpmd has one forwarding lcore
  (the main lcore only reads stdin); two testpmds use opposite lcores.
  --total-num-mbufs: the default pool (~155k mbufs) does not fit in -m 256.
  net_virtio_user queue_size=1024: its rings are 256 otherwise (--rxd and
  --txd do not size them).

testpmd reads commands on stdin and echoes them; its prompt "testpmd> " (no
newline) ends each command's output. Every wait has a timeout; every child
runs in its own session, is killed with its process group on exit and gets
SIGKILL if this driver dies; sockets live in a fresh temporary directory;
all logs are printed on failure (--keep: kept and printed).

Exit status: 0 pass, 1 fail, 77 skip (dpdk-testpmd not installed).
"""

import argparse
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
PROMPT = b"testpmd> "
BURST = 32
RING = 1024


class TestFailure(Exception):
    pass


def log(msg):
    print("[dpdk-interop %7.2f] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


_LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGKILL when this driver dies, even by
    SIGKILL (a Meson timeout), since the children run in their own
    sessions and would otherwise outlive it."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    """A child process in its own session, output captured to a log file."""

    def __init__(self, name, argv, logdir, stdin=True, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        self.buf = bytearray()
        self.eof = False
        self.cond = threading.Condition()
        self.logf = open(self.log_path, "wb")
        self.logf.write(("$ " + " ".join(argv) + "\n").encode())
        self.logf.flush()
        self.p = subprocess.Popen(
            argv,
            preexec_fn=_die_with_parent,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.p.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.buf += data
                self.logf.write(data)
                self.logf.flush()
                self.cond.notify_all()

    def offset(self):
        with self.cond:
            return len(self.buf)

    def text(self, start=0):
        with self.cond:
            return bytes(self.buf[start:]).decode(errors="replace")

    def wait_for(self, needle, start, timeout, what=None):
        """Wait until bytes needle appear at or after start; return the
        offset just past it. Fails on timeout or process exit."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                i = self.buf.find(needle, start)
                if i >= 0:
                    return i + len(needle)
                if self.eof:
                    raise TestFailure("%s exited (rc %s) while waiting for %s"
                                      % (self.name, self.p.poll(),
                                         what or needle))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("%s: timeout (%ss) waiting for %s"
                                      % (self.name, timeout, what or needle))
                self.cond.wait(min(left, 0.5))

    def send(self, line):
        try:
            self.p.stdin.write(line.encode() + b"\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise TestFailure("%s: cannot send %r: %s" % (self.name, line, e))

    def wait_exit(self, timeout):
        """Wait for exit; returns the exit code or None on timeout."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reader.join(2)
        return rc

    def kill(self):
        """Kill the whole process group (stdbuf and its child included)."""
        if self.p.poll() is None:
            for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 3)):
                try:
                    os.killpg(self.p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            # The leader exited; children left in its group die too.
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.reader.join(2)
        try:
            if self.p.stdin:
                self.p.stdin.close()
        except OSError:
            pass
        self.logf.close()


STATS_RE = re.compile(
    r"NIC statistics for port (\d+).*?"
    r"RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)\s+RX-bytes:\s*(\d+).*?"
    r"RX-errors:\s*(\d+).*?RX-nombuf:\s*(\d+).*?"
    r"TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)",
    re.S)


PREFIX_RE = re.compile(r"^vsw-(?:vhost|virtio_user)-(\d+)$")


def runtime_base():
    base = os.environ.get("XDG_RUNTIME_DIR") if os.getuid() else None
    return os.path.join(base or "/var/run", "dpdk")


def remove_runtime_dir(prefix):
    path = os.path.join(runtime_base(), prefix)
    try:
        for name in os.listdir(path):
            # what a killed EAL may leave: its mp and telemetry sockets
            if name in ("mp_socket", "telemetry", "dpdk_telemetry.v2"):
                os.unlink(os.path.join(path, name))
        os.rmdir(path)
    except OSError:
        pass


def remove_stale_runtime_dirs():
    """Runtime directories of earlier runs of this driver that were killed
    (their driver pid is gone): only names this driver makes."""
    try:
        names = os.listdir(runtime_base())
    except OSError:
        return
    for name in names:
        m = PREFIX_RE.match(name)
        if m and not os.path.exists("/proc/" + m.group(1)):
            remove_runtime_dir(name)


class Testpmd(Proc):
    def __init__(self, args, name, logdir, vdev, fwd, main_lcore, queues=1,
                 extra=()):
        self.queues = queues
        self.prefix = "vsw-%s-%d" % (name, os.getpid())
        argv = ["stdbuf", "-oL", args.testpmd,
                "-l", "0,1", "--main-lcore", str(main_lcore),
                "--no-pci", "--no-huge", "-m", "256", "--no-shconf",
                "--no-telemetry",
                "--file-prefix", self.prefix,
                "--log-level", "lib.eal:notice",
                "--vdev", vdev,
                "--", "-i", "--forward-mode=" + fwd,
                "--nb-cores=1", "--burst=%d" % BURST,
                "--rxq=%d" % queues, "--txq=%d" % queues,
                "--rxd=1024", "--txd=1024",
                "--total-num-mbufs=16384"] + list(extra)
        super().__init__(name, argv, logdir)
        self.pos = 0

    def ready(self, timeout=90):
        self.pos = self.wait_for(PROMPT, 0, timeout, "first prompt")

    def cmd(self, line, timeout=30):
        """Run one command; returns its output (text up to the prompt).
        testpmd echoes the command line: waiting for that echo first keeps
        a late prompt of an earlier command from being taken for this
        one's."""
        start = self.offset()
        self.send(line)
        echo = self.wait_for(line.encode() + b"\r\n", start, timeout,
                             "echo of " + line)
        end = self.wait_for(PROMPT, echo, timeout, "prompt after " + line)
        self.pos = end
        return self.text(echo)[: end - echo - len(PROMPT)]

    def stats(self, port=0):
        out = self.cmd("show port stats %d" % port)
        m = STATS_RE.search(out)
        if not m:
            raise TestFailure("%s: cannot parse port stats:\n%s"
                              % (self.name, out))
        keys = ("port", "rx_packets", "rx_missed", "rx_bytes", "rx_errors",
                "rx_nombuf", "tx_packets", "tx_errors", "tx_bytes")
        return dict(zip(keys, (int(x) for x in m.groups())))

    def xstats(self, port=0):
        out = self.cmd("show port xstats %d" % port)
        res = {}
        for m in re.finditer(r"^\s*([A-Za-z0-9_\[\]]+):\s+(\d+)\s*$", out,
                             re.M):
            res[m.group(1)] = int(m.group(2))
        return res

    def link_up(self, port=0):
        out = self.cmd("show port info %d" % port)
        return re.search(r"Link status:\s*up", out) is not None

    def wait_link(self, timeout=60, port=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.link_up(port):
                return
            time.sleep(0.2)
        raise TestFailure("%s: port %d link never came up" % (self.name, port))

    def remove_runtime_dir(self):
        """EAL makes <runtime dir>/dpdk/<file-prefix> (empty with
        --no-shconf and --no-telemetry after a clean exit): remove ours
        once the process is gone."""
        remove_runtime_dir(self.prefix)

    def quit(self, timeout=15):
        if self.p.poll() is not None:
            return self.p.returncode
        try:
            self.send("quit")
        except TestFailure:
            pass
        return self.wait_exit(timeout)


class Harness:
    """Owns the temp dir and every process; cleans up whatever happens."""

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="vsw-dpdk-")
        remove_stale_runtime_dirs()
        self.procs = []
        self.failed = False

    def sock(self, name):
        return os.path.join(self.tmp, name + ".sock")

    def testpmd(self, *a, **kw):
        t = Testpmd(self.args, logdir=self.tmp, *a, **kw)
        self.procs.append(t)
        return t

    def proc(self, name, argv, stdin=True):
        p = Proc(name, argv, self.tmp, stdin=stdin)
        self.procs.append(p)
        return p

    def wait_path(self, path, timeout=60, owner=None):
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if owner is not None and owner.p.poll() is not None:
                raise TestFailure("%s exited (rc %s) before creating %s"
                                  % (owner.name, owner.p.returncode, path))
            if time.monotonic() > deadline:
                raise TestFailure("timeout waiting for socket %s" % path)
            time.sleep(0.05)

    def close(self):
        for p in reversed(self.procs):
            if isinstance(p, Testpmd) and p.p.poll() is None:
                p.quit(10)
            p.kill()
            if isinstance(p, Testpmd):
                p.remove_runtime_dir()
        if self.failed or self.args.keep:
            for p in self.procs:
                print("=" * 20, "log of", p.name, "(" + p.log_path + ")",
                      "=" * 20)
                with open(p.log_path, "rb") as f:
                    data = f.read()
                if len(data) > 60000 and not self.args.keep:
                    print("[... %d bytes cut ...]" % (len(data) - 60000))
                    data = data[-60000:]
                sys.stdout.write(data.decode(errors="replace"))
                print()
        if self.args.keep:
            print("logs kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)
    log("ok: " + msg)


def delta(after, before):
    return {k: after[k] - before[k] for k in after if k != "port"}


def wait_rx(tp, before, want, timeout=60):
    """Poll tp until its RX-packets grew by want (or timeout), then make
    sure nothing more arrives. Returns the final delta."""
    deadline = time.monotonic() + timeout
    while True:
        d = delta(tp.stats(), before)
        if d["rx_packets"] >= want or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    return delta(tp.stats(), before)


def txpkts_len(spec):
    return sum(int(x) for x in spec.split(","))


def burst_round(sender, receiver, bursts, txpkts, label):
    """sender: 'start tx_first bursts' in rxonly mode (txonly for one go,
    then receive). receiver: already forwarding (rxonly, or an echo peer
    for which receiver is sender). Checks counts and bytes exactly."""
    q = sender.queues
    want = bursts * BURST * q
    flen = txpkts_len(txpkts)
    sender.cmd("set txpkts " + txpkts)
    s0 = sender.stats()
    r0 = receiver.stats() if receiver is not sender else s0
    sender.cmd("start tx_first %d" % bursts)
    if receiver is sender:
        d = wait_rx(sender, s0, want)
        sender.cmd("stop", 30)
        d = delta(sender.stats(), s0)
        ds = dr = d
    else:
        dr = wait_rx(receiver, r0, want)
        sender.cmd("stop", 30)
        ds = delta(sender.stats(), s0)
    check(ds["tx_packets"] == want and ds["tx_errors"] == 0,
          "%s: %s sent %d frames of %s bytes (want %d, errors %d)"
          % (label, sender.name, ds["tx_packets"], txpkts, want,
             ds["tx_errors"]))
    check(ds["tx_bytes"] == want * flen,
          "%s: %s TX-bytes %d == %d x %d" % (label, sender.name,
                                             ds["tx_bytes"], want, flen))
    check(dr["rx_packets"] == want,
          "%s: %s received %d frames (want %d)"
          % (label, receiver.name, dr["rx_packets"], want))
    check(dr["rx_bytes"] == want * flen,
          "%s: %s RX-bytes %d == %d x %d" % (label, receiver.name,
                                             dr["rx_bytes"], want, flen))
    check(dr["rx_errors"] == 0 and dr["rx_nombuf"] == 0,
          "%s: %s RX-errors %d RX-nombuf %d are zero"
          % (label, receiver.name, dr["rx_errors"], dr["rx_nombuf"]))
    return want, want * flen


def check_queues_used(tp, label):
    """With several queue pairs, every queue must have carried traffic."""
    if tp.queues < 2:
        return
    xs = tp.xstats()
    for q in range(tp.queues):
        for d in ("rx", "tx"):
            keys = ["%s_q%d_packets" % (d, q), "%s_q%d_good_packets" % (d, q)]
            val = next((xs[k] for k in keys if k in xs), None)
            check(val is not None and val > 0,
                  "%s: %s %s queue %d carried %s frames"
                  % (label, tp.name, d, q, val))


STREAM_RE = re.compile(
    r"Forward Stats for RX Port=\s*(\d+)/Queue=\s*(\d+) -> TX Port=\s*"
    r"(\d+)/Queue=\s*(\d+) -+\s+RX-packets:\s*(\d+)\s+TX-packets:\s*"
    r"(\d+)\s+TX-dropped:\s*(\d+)")


def check_streams(tp, stop_out, total, label):
    """testpmd's "stop" prints one block per stream (queue pair) when there
    are several: each queue must have forwarded its share, none dropped.
    (The vhost PMD has xstats only while a front-end is connected.)"""
    if tp.queues < 2:
        return
    seen = {int(m.group(2)): (int(m.group(5)), int(m.group(6)),
                              int(m.group(7)))
            for m in STREAM_RE.finditer(stop_out)}
    for q in range(tp.queues):
        rx, tx, drop = seen.get(q, (None, None, None))
        check(rx == total // tp.queues and tx == rx and drop == 0,
              "%s: %s queue %d forwarded %s of %s frames (want %d), "
              "dropped %s" % (label, tp.name, q, tx, rx, total // tp.queues,
                              drop))


# Rounds of (testpmd "set txpkts" argument, bursts of 32 per queue):
# single-segment frames of three sizes, then two-segment mbufs (a descriptor
# chain, or an indirect table when VIRTIO_RING_F_INDIRECT_DESC is
# negotiated). Twice: 1280 frames per queue, 1536 to 2048 descriptors, more
# than a ring, so that reuse after the wrap is exercised. One round stays
# within a ring (RING) so nothing depends on the peer keeping up.
ROUNDS = (("64", 8), ("1024", 8), ("1500", 4), ("1000,514", 4)) * 2


def virtio_user_vdev(path, queues, packed, server=False, extra=""):
    # queue_size: virtio_user's rings are 256 entries unless told; --rxd /
    # --txd do not change them. 1024 holds a whole round (<= 256 frames of
    # <= 3 descriptors) even if the peer is not scheduled meanwhile.
    v = "net_virtio_user0,path=%s,queues=%d,queue_size=%d" % (
        path, queues, RING)
    if packed:
        v += ",packed_vq=1"
    if server:
        v += ",server=1"
    if extra:
        v += "," + extra
    return v


# ------------------------------------------------------------------------
def run_selftest(h, args):
    """testpmd virtio_user <-> testpmd vhost, both directions."""
    q = args.queues
    sock = h.sock("selftest")
    vh = h.testpmd("vhost", vdev="net_vhost0,iface=%s,queues=%d" % (sock, q),
                   fwd="rxonly", main_lcore=0, queues=q)
    vh.ready()
    h.wait_path(sock, owner=vh)
    vu = h.testpmd("virtio_user", vdev=virtio_user_vdev(sock, q, args.packed,
                                                    extra=args.vdev_extra),
                   fwd="rxonly", main_lcore=1, queues=q)
    vu.ready()
    vu.wait_link()
    vh.wait_link()
    label = "selftest q=%d %s" % (q, "packed" if args.packed else "split")
    vh.cmd("start")
    for txpkts, bursts in args.rounds:
        burst_round(vu, vh, bursts, txpkts, label + " virtio_user->vhost")
    vh.cmd("stop")
    vu.cmd("start")
    for txpkts, bursts in args.rounds:
        burst_round(vh, vu, bursts, txpkts, label + " vhost->virtio_user")
    vu.cmd("stop")
    check_queues_used(vu, label)
    check(vu.quit() == 0, "virtio_user testpmd quit cleanly")
    check(vh.quit() == 0, "vhost testpmd quit cleanly")


def run_frontend(h, args):
    """testpmd virtio_user (front-end) against vsw-testpeer --echo."""
    q = args.queues
    sock = h.sock("peer")
    argv = [args.testpeer, "--socket", sock, "--echo", "--qp", str(q)]
    argv += args.testpeer_args
    peer = h.proc("vsw-testpeer", argv)
    peer.wait_for(b"TESTPEER listening", 0, 60, "the listening line")
    h.wait_path(sock, owner=peer)
    vu = h.testpmd("virtio_user", vdev=virtio_user_vdev(sock, q, args.packed,
                                                    extra=args.vdev_extra),
                   fwd="rxonly", main_lcore=1, queues=q)
    vu.ready()
    vu.wait_link()
    label = "frontend q=%d %s" % (q, "packed" if args.packed else "split")
    total_pkts, total_bytes = verbose_echo_round(vu, label)
    for txpkts, bursts in args.rounds:
        n, b = burst_round(vu, vu, bursts, txpkts, label + " echo")
        total_pkts += n
        total_bytes += b
    check_queues_used(vu, label)
    check(vu.quit() == 0, "virtio_user testpmd quit cleanly")
    # The peer's own view: it must have seen and echoed exactly this much.
    check_peer_counters(stop_peer(peer), total_pkts, total_bytes, q, label)


RXPKT_RE = re.compile(
    r"src=([0-9A-F:]{17}) - dst=([0-9A-F:]{17}) - pool=\S+ - "
    r"type=(0x[0-9a-f]+) - length=(\d+) - nb_segs=(\d+)", re.M)


def verbose_echo_round(vu, label, size=128):
    """One burst per queue with testpmd's per-frame dump on: every frame
    must come back once, with its Ethernet addresses swapped by the peer
    (txonly sends from the port's MAC to 02:00:00:00:00:00), IPv4, at the
    size it was sent. Returns (frames, bytes).
    The forwarding lcore prints the dump while the main lcore prints its
    prompt, so the prompt of "start" may be torn: this round waits for the
    dump instead, and speaks to testpmd again only once it is complete."""
    info = vu.cmd("show port info 0")
    m = re.search(r"MAC address:\s*([0-9A-F:]{17})", info)
    check(m is not None, "%s: testpmd port MAC is %s"
          % (label, m and m.group(1)))
    mac = m.group(1)
    want = BURST * vu.queues
    vu.cmd("set txpkts %d" % size)
    s0 = vu.stats()
    vu.cmd("set verbose 1")
    start = vu.offset()
    vu.send("start tx_first 1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(RXPKT_RE.findall(vu.text(start))) >= want:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    frames = RXPKT_RE.findall(vu.text(start))
    vu.cmd("set verbose 0")
    vu.cmd("stop", 30)
    d = delta(vu.stats(), s0)
    check(d["tx_packets"] == want and d["tx_bytes"] == want * size,
          "%s: testpmd sent %d frames, %d bytes (want %d, %d)"
          % (label, d["tx_packets"], d["tx_bytes"], want, want * size))
    check(d["rx_packets"] == want and d["rx_bytes"] == want * size,
          "%s: testpmd got back %d frames, %d bytes (want %d, %d)"
          % (label, d["rx_packets"], d["rx_bytes"], want, want * size))
    check(len(frames) == want, "%s: testpmd dumped %d received frames "
          "(want %d)" % (label, len(frames), want))
    ok = ("02:00:00:00:00:00", mac, "0x0800", str(size), "1")
    bad = [f for f in frames if f != ok]
    check(not bad, "%s: every echoed frame is %s -> %s, type %s, %s bytes, "
          "%s segment (first bad: %s)" % ((label,) + ok + (bad[:1],)))
    return want, want * size


def stop_peer(peer):
    """SIGTERM makes vsw-testpeer print its summary and exit 0."""
    if peer.p.poll() is None:
        os.kill(peer.p.pid, signal.SIGTERM)
    rc = peer.wait_exit(10)
    check(rc == 0, "vsw-testpeer exited with 0 on SIGTERM (rc %s)" % rc)
    return peer.text()


def parse_kv(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", line)}


def check_peer_counters(out, pkts, nbytes, queues, label):
    """vsw-testpeer's summary ("TESTPEER from_guest_frames=... " and one
    "TESTPEER qp=N from_guest=.. to_guest=.." per pair) must match what
    testpmd sent and got back."""
    tot = None
    per_qp = {}
    for line in out.splitlines():
        if line.startswith("TESTPEER from_guest_frames="):
            tot = parse_kv(line)
        elif line.startswith("TESTPEER qp="):
            kv = parse_kv(line)
            per_qp[kv["qp"]] = kv
    check(tot is not None, "%s: vsw-testpeer printed its summary" % label)
    for key, want in (("from_guest_frames", pkts), ("to_guest_frames", pkts),
                      ("echo_frames", pkts), ("from_guest_bytes", nbytes),
                      ("to_guest_bytes", nbytes), ("drops", 0),
                      ("frag_errors", 0)):
        check(tot.get(key) == want, "%s: peer %s %s == %d"
              % (label, key, tot.get(key), want))
    for qp in range(queues):
        kv = per_qp.get(qp, {})
        want = pkts // queues
        check(kv.get("from_guest") == want and kv.get("to_guest") == want,
              "%s: peer qp %d from_guest %s to_guest %s == %d"
              % (label, qp, kv.get("from_guest"), kv.get("to_guest"), want))


def run_backend(h, args):
    """testpmd net_vhost (back-end, io forwarding: every frame goes back
    unchanged) with vsw-pktgen --mode ping (vsw's front-end): pktgen sends
    --count frames per queue pair, checks every byte of what returns and
    that all came back; testpmd's counters must say the same."""
    q = args.queues
    sock = h.sock("vhost")
    vh = h.testpmd("vhost", vdev="net_vhost0,iface=%s,queues=%d" % (sock, q),
                   fwd="io", main_lcore=0, queues=q)
    vh.ready()
    h.wait_path(sock, owner=vh)
    # pktgen floods (--rate 0): up to a tx ring plus a burst can be in
    # flight, more than its rx ring holds while it is busy sending. Like a
    # switch port, testpmd then retries instead of dropping (up to 1 s).
    vh.cmd("set fwd io retry")
    vh.cmd("set burst tx delay 100 retry 10000")
    vh.cmd("start")
    label = "backend q=%d %s" % (q, "packed" if args.packed else "split")
    want = args.count * q
    for size in args.sizes:
        lab = "%s size %d" % (label, size)
        argv = [args.pktgen, "--socket", sock, "--mode", "ping",
                "--count", str(args.count), "--size", str(size),
                "--queues", str(q), "--rate", "0",
                "--seconds", str(args.timeout)]
        if args.packed:
            argv.append("--packed")
        argv += args.pktgen_args
        s0 = vh.stats()
        pg = h.proc("vsw-pktgen-%d" % size, argv, stdin=False)
        rc = pg.wait_exit(args.timeout + 15)
        if rc is None:
            raise TestFailure("%s: vsw-pktgen did not finish in %ss"
                              % (lab, args.timeout + 15))
        out = pg.text()
        # testpmd may still be moving the last frames: wait for them.
        d = wait_rx(vh, s0, want, timeout=5)
        check(rc == 0, "%s: vsw-pktgen exit code %d (0 = its checks passed)"
              % (lab, rc))
        check(d["rx_packets"] == want and d["rx_bytes"] == want * size,
              "%s: testpmd received %d frames, %d bytes (want %d, %d)"
              % (lab, d["rx_packets"], d["rx_bytes"], want, want * size))
        check(d["tx_packets"] == want and d["tx_bytes"] == want * size,
              "%s: testpmd reflected %d frames, %d bytes (want %d, %d)"
              % (lab, d["tx_packets"], d["tx_bytes"], want, want * size))
        check(d["rx_errors"] == 0 and d["rx_nombuf"] == 0
              and d["tx_errors"] == 0,
              "%s: testpmd RX-errors %d RX-nombuf %d TX-errors %d are zero"
              % (lab, d["rx_errors"], d["rx_nombuf"], d["tx_errors"]))
        check_pktgen_summary(out, want, size, lab)
    check_streams(vh, vh.cmd("stop", 30), want * len(args.sizes), label)
    check(vh.quit() == 0, "vhost testpmd quit cleanly")


PKTGEN_TOTAL_RE = re.compile(
    r"^total: [\d.]+ s tx (\d+) pkts (\d+) bytes, rx (\d+) pkts (\d+) "
    r"bytes, .*good (\d+) bad (\d+) loss (\d+) reorder (\d+), drops: "
    r"ring-full retries (\d+) rx-bad (\d+) rx-nomem (\d+)$", re.M)


def check_pktgen_summary(out, want, size, label):
    """vsw-pktgen's "total:" line must agree with what testpmd counted."""
    m = PKTGEN_TOTAL_RE.search(out)
    check(m is not None, "%s: vsw-pktgen printed its total line" % label)
    keys = ("tx_pkts", "tx_bytes", "rx_pkts", "rx_bytes", "good", "bad",
            "loss", "reorder", "tx_full", "rx_bad", "rx_nomem")
    v = dict(zip(keys, (int(x) for x in m.groups())))
    check(v["tx_pkts"] == want and v["tx_bytes"] == want * size,
          "%s: pktgen sent %d frames, %d bytes (want %d, %d)"
          % (label, v["tx_pkts"], v["tx_bytes"], want, want * size))
    check(v["rx_pkts"] == want and v["rx_bytes"] == want * size,
          "%s: pktgen got back %d frames, %d bytes (want %d, %d)"
          % (label, v["rx_pkts"], v["rx_bytes"], want, want * size))
    check(v["good"] == want,
          "%s: pktgen checked %d frames good, byte by byte (want %d)"
          % (label, v["good"], want))
    for key in ("bad", "loss", "reorder", "rx_bad", "rx_nomem"):
        check(v[key] == 0, "%s: pktgen %s %d == 0" % (label, key, v[key]))
    check("vsw-pktgen: PASS" in out, "%s: vsw-pktgen says PASS" % label)


def parse_rounds(text):
    res = []
    for item in text.split(","):
        pk, _, n = item.partition(":")
        segs = pk.split("+")
        if not n.isdigit() or not all(x.isdigit() for x in segs):
            raise argparse.ArgumentTypeError("bad round %r" % item)
        res.append((",".join(segs), int(n)))
    return tuple(res)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("scenario", choices=("selftest", "frontend", "backend"))
    ap.add_argument("--testpmd", default=shutil.which("dpdk-testpmd") or "")
    ap.add_argument("--testpeer", help="vsw-testpeer executable")
    ap.add_argument("--testpeer-args", nargs="*", default=[],
                    help="extra arguments (after --socket S --echo --qp Q)")
    ap.add_argument("--pktgen", help="vsw-pktgen executable")
    ap.add_argument("--pktgen-args", nargs="*", default=[],
                    help="extra arguments (after --socket S --mode ping "
                    "--count N --size B --queues Q --rate 0 [--packed])")
    ap.add_argument("--count", type=int, default=5000,
                    help="frames pktgen sends per queue pair and size")
    ap.add_argument("--sizes", default=[64, 1500, 9000],
                    type=lambda t: [int(x) for x in t.split(",")],
                    help="frame sizes, one pktgen run each")
    ap.add_argument("--queues", type=int, default=1)
    ap.add_argument("--packed", action="store_true")
    ap.add_argument("--rounds", type=parse_rounds, default=ROUNDS,
                    help="rounds as TXPKTS:BURSTS,... with + between "
                    "segments, e.g. 64:8,1000+514:4")
    ap.add_argument("--vdev-extra", default="",
                    help="more net_virtio_user devargs, e.g. in_order=0")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir and print every log")
    args = ap.parse_args()

    if not args.testpmd or not os.access(args.testpmd, os.X_OK):
        print("SKIP: dpdk-testpmd not found (apt-get install dpdk-dev "
              "librte-net-vhost23 librte-net-virtio23)")
        return SKIP
    if args.scenario == "frontend" and not args.testpeer:
        ap.error("frontend needs --testpeer")
    if args.scenario == "backend" and not args.pktgen:
        ap.error("backend needs --pktgen")

    h = Harness(args)
    # Also clean up on SIGTERM (meson's timeout) and SIGINT.
    def on_signal(signum, frame):
        # once: the cleanup that follows must not be interrupted again
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise TestFailure("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        {"selftest": run_selftest, "frontend": run_frontend,
         "backend": run_backend}[args.scenario](h, args)
    except TestFailure as e:
        h.failed = True
        log("FAIL: %s" % e)
    except Exception:
        h.failed = True
        import traceback
        traceback.print_exc()
    finally:
        h.close()
    log("%s: %s" % (args.scenario, "FAIL" if h.failed else "PASS"))
    return 1 if h.failed else 0


if __name__ == "__main__":
    sys.exit(main())
