#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Functional test of the operator's verbs (suite func): `vswctl capture`,
help, set-log-level, metrics, list-br and list-ports.

In a network namespace of its own: vswd with bridge br1 and two afpacket
ports on veth pairs; raw frames sent into one veth peer are forwarded by
vswd to the other port. Checks that the pcapng file vswctl writes is read
by tshark and tcpdump and holds the frames sent, with the BPF filter
applied and each frame's direction; -w - to a pipe; and the errors: an
unknown port, a bad filter, a port deleted mid-capture, a client killed
(its capture is reclaimed), a full disk (/dev/full) -- while forwarding
goes on.

usage: test_capture.py VSWD VSWCTL
Root only (namespaces, veth); exit 77 (skipped) otherwise or without
tshark / tcpdump.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import vswtest
from vswtest import check

VSWD, VSWCTL = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="vsw-func-cap-")
CTL = os.path.join(TMP, "vswd.ctl")
MAC_A = b"\x02\x00\x00\x00\x0a\x01"
BCAST = b"\xff" * 6


def ctl(*args, **kw):
    return subprocess.run([VSWCTL, "--ctl", CTL, "--timeout", "20"] +
                          list(args), capture_output=True, timeout=60, **kw)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True,
                          text=True).returncode


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def frame(proto, dport, seq):
    """A broadcast Ethernet / IPv4 / UDP or TCP frame from MAC_A."""
    payload = b"vsw-capture-%06d" % seq
    if proto == "udp":
        l4 = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0)
        pnum = 17
    else:
        l4 = struct.pack("!HHIIBBHHH", 40000, dport, seq, 0, 5 << 4, 0x02,
                         1024, 0, 0)
        pnum = 6
    l4 += payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), seq & 0xffff,
                     0, 64, pnum, 0, bytes([10, 9, 0, 1]),
                     bytes([10, 9, 0, 255]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return BCAST + MAC_A + b"\x08\x00" + ip + l4


def Daemon():
    return vswtest.Daemon(VSWD, VSWCTL, TMP, CTL)


veth = vswtest.veth


def raw(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    s.settimeout(0.05)
    return s


class Sender:
    """Sends rounds of one TCP port 80 and one UDP port 5000 frame."""

    def __init__(self):
        self.s = raw("vcap0p")
        self.seq = 0

    def round(self):
        self.seq += 1
        self.s.send(frame("tcp", 80, self.seq))
        self.s.send(frame("udp", 5000, self.seq))


def capture_while_sending(snd, args, secs=15):
    """Run vswctl capture ARGS, sending rounds until it exits."""
    p = subprocess.Popen([VSWCTL, "--ctl", CTL, "capture"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + secs
    while p.poll() is None and time.time() < deadline:
        snd.round()
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    err = err.decode(errors="replace")
    check("runtime error" not in err and "Sanitizer" not in err,
          "no sanitizer report from vswctl: %r" % err)
    return p.returncode, out, err


def tshark(path, fields, flt=None):
    cmd = ["tshark", "-r", path, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    if flt:
        cmd += ["-Y", flt]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p.returncode, [l.split("\t") for l in p.stdout.splitlines()], \
        p.stderr


def test_filter_in(snd):
    path = os.path.join(TMP, "in.pcapng")
    rc, _, err = capture_while_sending(
        snd, ["pa", "--direction", "in", "--count", "5", "-w", path,
              "udp", "port", "5000"])
    check(rc == 0, "capture --count 5 udp port 5000: rc %d %s" % (rc, err))
    check("5 frames written" in err, "summary on stderr: %r" % err)
    trc, rows, terr = tshark(path, ["udp.dstport", "tcp.dstport",
                                    "frame.packet_flags_direction",
                                    "eth.src", "data.data"])
    check(trc == 0, "tshark reads the file: %s" % terr)
    check(len(rows) == 5, "5 frames in the file, got %d" % len(rows))
    check(all(r[0] == "5000" and r[1] == "" for r in rows),
          "only UDP port 5000 frames: %r" % rows)
    check(all(r[2] in ("1", "0x00000001", "0x1") for r in rows),
          "direction inbound in epb_flags: %r" % [r[2] for r in rows])
    check(all(r[3] == "02:00:00:00:0a:01" for r in rows),
          "the frames sent (source MAC): %r" % rows)
    check(all(bytes.fromhex(r[4]).startswith(b"vsw-capture-") for r in rows
              if len(r) > 4), "payload as sent")
    p = subprocess.run(["tcpdump", "-nr", path], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and len(p.stdout.splitlines()) == 5 and
          all("5000" in l for l in p.stdout.splitlines()),
          "tcpdump -r: %r %r" % (p.stdout, p.stderr))
    p = subprocess.run(["tcpdump", "-nr", path, "tcp"], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and p.stdout == "",
          "no TCP frame in the file: %r" % p.stdout)


def test_out_stdout(snd):
    """Frames vswd floods out of pb, to standard output (a pipe)."""
    path = os.path.join(TMP, "out.pcapng")
    rc, out, err = capture_while_sending(
        snd, ["pb", "--direction", "out", "--count", "4", "-w", "-", "tcp"])
    check(rc == 0, "capture -w - out tcp: rc %d %s" % (rc, err))
    with open(path, "wb") as f:
        f.write(out)
    trc, rows, terr = tshark(path, ["tcp.dstport",
                                    "frame.packet_flags_direction"])
    check(trc == 0 and len(rows) == 4, "4 frames from stdout: %r %s" %
          (rows, terr))
    check(all(r[0] == "80" and r[1] in ("2", "0x00000002", "0x2")
              for r in rows), "TCP, direction outbound: %r" % rows)


def test_text(snd):
    rc, out, err = capture_while_sending(snd, ["pa", "--count", "2"])
    lines = out.decode().splitlines()
    check(rc == 0 and len(lines) == 2 and
          all(" in " in l and "ethertype 0x0800" in l for l in lines),
          "text lines without -w: %r %s" % (lines, err))


def test_errors(snd):
    p = ctl("capture", "nosuch", "-w", os.path.join(TMP, "x.pcapng"))
    check(p.returncode == 1 and b"no port nosuch" in p.stderr,
          "unknown port: rc %d %r" % (p.returncode, p.stderr))
    p = ctl("capture", "pa", "-w", os.path.join(TMP, "x.pcapng"),
            "udp", "port", "nope")
    check(p.returncode == 1 and b"filter" in p.stderr,
          "bad filter: rc %d %r" % (p.returncode, p.stderr))
    p = ctl("capture", "pa", "--direction", "sideways")
    check(p.returncode == 2, "bad direction: usage error, rc %d" %
          p.returncode)
    p = ctl("capture")
    check(p.returncode == 2, "no port: usage error, rc %d" % p.returncode)
    # a full disk: the capture ends with the reason, vswd frees it
    rc, _, err = capture_while_sending(snd, ["pa", "-w", "/dev/full"])
    check(rc == 1 and "No space left on device" in err,
          "disk full: rc %d %r" % (rc, err))
    rc, _, err = capture_while_sending(snd, ["pa", "--count", "1"])
    check(rc == 0, "capture again after the disk-full one: %d %s" %
          (rc, err))
    # the reader of -w - goes away: EPIPE, the capture is stopped at once
    p = subprocess.Popen([VSWCTL, "--ctl", CTL, "capture", "pa", "-w", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(64)
    p.stdout.close()
    deadline = time.time() + 10
    while p.poll() is None and time.time() < deadline:
        snd.round()
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    err = p.stderr.read().decode(errors="replace")
    p.wait()
    check(p.returncode == 1 and "Broken pipe" in err,
          "reader gone: rc %s %r" % (p.returncode, err))
    rc, _, err = capture_while_sending(snd, ["pa", "--count", "1"])
    check(rc == 0, "capture again after the broken pipe: %d %s" % (rc, err))


def test_client_killed(snd):
    """A killed client's capture is reclaimed after the idle time."""
    p = subprocess.Popen([VSWCTL, "--ctl", CTL, "capture", "pa", "-w",
                          os.path.join(TMP, "killed.pcapng")],
                         stderr=subprocess.PIPE)
    time.sleep(0.5)
    p.kill()
    p.wait()
    q = ctl("capture", "pa", "--count", "1")
    check(q.returncode == 1 and b"already being captured" in q.stderr,
          "port busy while the dead client's capture lasts: %r" % q.stderr)
    time.sleep(12)  # VSWD_CAPTURE_IDLE_MS is 10 s
    rc, _, err = capture_while_sending(snd, ["pa", "--count", "1"])
    check(rc == 0, "the dead client's capture reclaimed: %d %s" % (rc, err))


def test_port_deleted(snd):
    path = os.path.join(TMP, "gone.pcapng")
    p = subprocess.Popen([VSWCTL, "--ctl", CTL, "capture", "pb", "-w", path],
                         stderr=subprocess.PIPE)
    for _ in range(20):
        snd.round()
        time.sleep(0.02)
    d = ctl("del-port", "br1", "pb")
    check(d.returncode == 0, "del-port during the capture: %r" % d.stderr)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check(p.returncode == 1 and b"was deleted" in err,
          "capture ends when its port is deleted: rc %s %r" %
          (p.returncode, err))
    trc, rows, terr = tshark(path, ["frame.len"])
    check(trc == 0 and len(rows) > 0,
          "the file up to the deletion is readable: %d frames %s" %
          (len(rows), terr))


def test_still_forwards(snd):
    r = raw("vcap2p")
    while True:
        try:
            r.recv(9000)
        except socket.timeout:
            break
    got = 0
    deadline = time.time() + 5
    while got == 0 and time.time() < deadline:
        snd.round()
        try:
            while True:
                if r.recv(9000)[6:12] == MAC_A:
                    got += 1
        except socket.timeout:
            pass
    check(got > 0, "pa to pc still forwards after every capture")


def test_help():
    """vswctl help, help VERB and VERB --help for every verb listed."""
    p = subprocess.run([VSWCTL, "help"], capture_output=True, text=True)
    cmds = []
    if p.returncode == 0 and "Commands:\n" in p.stdout:
        block = p.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        cmds = [ln.split()[0] for ln in block.splitlines() if ln.strip()]
    check(len(cmds) >= 20 and "capture" in cmds and "metrics" in cmds,
          "vswctl help lists the commands: %r" % cmds)
    for c in cmds:
        for argv in ([c, "--help"], ["help", c]):
            q = subprocess.run([VSWCTL] + argv, capture_output=True,
                               text=True)
            check(q.returncode == 0 and
                  q.stdout.startswith("usage: vswctl " + c) and
                  "(no description)" not in q.stdout and
                  len(q.stdout.splitlines()) >= 3,
                  "vswctl %s: rc %d %r" % (" ".join(argv), q.returncode,
                                           q.stdout))
    q = subprocess.run([VSWCTL, "help", "nosuch"], capture_output=True,
                       text=True)
    check(q.returncode == 2 and "unknown command" in q.stderr,
          "help of an unknown command: rc %d" % q.returncode)


def test_log_level():
    """set-log-level switch warning hides the switch's info lines."""
    log = os.path.join(TMP, "vswd.log")
    p = ctl("set-log-level", "switch", "warning")
    check(p.returncode == 0 and b"switch: warning" in p.stdout and
          b"vswd: debug" in p.stdout, "set-log-level switch warning: %r" %
          (p.stdout + p.stderr))
    ctl("add-br", "brq1")
    p = ctl("set-log-level", "info")
    check(p.returncode == 0 and b"switch: info" in p.stdout and
          b"control: info" in p.stdout, "set-log-level info (all): %r" %
          p.stdout)
    ctl("add-br", "brq2")
    time.sleep(0.2)
    text = open(log).read()
    check("info: bridge brq1 added" not in text and
          "info: bridge brq2 added" in text,
          "the switch's info lines follow its level: %r" %
          [ln for ln in text.splitlines() if "brq" in ln])
    for bad in (["set-log-level", "loud"], ["set-log-level", "nope", "info"]):
        p = ctl(*bad)
        check(p.returncode == 1, "%r refused: rc %d" % (bad, p.returncode))
    p = ctl("set-log-level")
    check(p.returncode == 2, "set-log-level without LEVEL: usage error")
    ctl("del-br", "brq1")
    ctl("del-br", "brq2")
    ctl("set-log-level", "debug")


METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)?\})?'
                    r' (-?[0-9.eE+]+|NaN|[+-]Inf)$')


def metrics():
    """The samples of vswctl metrics {(name, labels): value}, the text
    checked against the exposition format's rules."""
    p = ctl("metrics")
    check(p.returncode == 0, "vswctl metrics: %r" % p.stderr)
    text = p.stdout.decode()
    check(text.endswith("\n"), "metrics end with a newline")
    helped, typed, done, cur = set(), {}, set(), None
    samples = {}
    for ln in text.splitlines():
        if ln.startswith("# HELP "):
            name = ln.split()[2]
            check(name not in helped, "one HELP for %s" % name)
            helped.add(name)
            continue
        if ln.startswith("# TYPE "):
            _, _, name, kind = ln.split()
            check(name in helped and name not in typed and
                  kind in ("counter", "gauge"), "TYPE of %s" % name)
            typed[name] = kind
            if cur is not None:
                done.add(cur)
            cur = name
            continue
        m = METRIC.match(ln)
        if not check(m is not None, "sample line %r" % ln):
            continue
        name = m.group(1)
        check(name == cur and name not in done,
              "%s's samples together, after its TYPE" % name)
        if typed.get(name) == "counter":
            check(name.endswith("_total"), "counter %s ends in _total" % name)
        labels = tuple(sorted(re.findall(r'([a-z_]+)="([^"]*)"',
                                         m.group(2) or "")))
        check((name, labels) not in samples, "one sample %s%r" %
              (name, labels))
        samples[(name, labels)] = float(m.group(3))
    return samples


def test_metrics(snd):
    p = ctl("list-br")
    check(p.returncode == 0 and b"br1" in p.stdout.split(), "list-br")
    p = ctl("list-ports", "br1")
    check(p.returncode == 0 and set(p.stdout.split()) >= {b"pa", b"pb"},
          "list-ports br1: %r" % p.stdout)
    key = ("vsw_port_rx_packets_total", (("bridge", "br1"), ("port", "pa")))
    qkey = ("vsw_queue_rx_packets_total",
            (("bridge", "br1"), ("port", "pa"), ("queue", "0")))
    before = metrics()
    for _ in range(10):
        snd.round()
    time.sleep(0.3)
    after = metrics()
    check(key in before and after.get(key, 0) >= before[key] + 20,
          "pa's rx packets counted: %r -> %r" % (before.get(key),
                                                 after.get(key)))
    check(qkey in after and after[qkey] >= 20, "per-queue rx of pa")
    check(("vsw_pmd_packets_total", (("thread", "0"),)) in after,
          "per-thread counters")
    check(after.get(("vsw_port_link_up", (("bridge", "br1"), ("port", "pa"),
                                          ("type", "afpacket")))) == 1,
          "link gauge of pa")
    check(any(k[0] == "vsw_port_tx_drops_total" and
              ("reason", "tx_full") in k[1] for k in after),
          "tx drops by reason")
    check(after.get(("vsw_control_accepted_total", ()), 0) > 0,
          "the control socket's counters")


def test_completion():
    complete = vswtest.completer(VSWCTL, CTL)
    if complete is None:
        return
    check(complete(["ca"]) == {"capture"}, "completes a verb")
    check({"set-log-level", "metrics", "help"} <= complete([""]),
          "offers every verb")
    check("br1" in complete(["del-port", ""]), "completes a bridge name")
    check(complete(["del-port", "br1", "p"]) >= {"pa", "pb", "pc"},
          "completes port names")
    check(complete(["capture", "p"]) >= {"pa", "pb", "pc"},
          "capture completes a port")
    check(complete(["capture", "pa", "--direction", ""]) ==
          {"in", "out", "both"}, "capture --direction values")
    check(complete(["set-log-level", "sw"]) == {"switch"},
          "set-log-level modules")
    check(complete(["set-port", "p"]) >= {"pa", "pb", "pc"},
          "set-port completes a port")
    check(complete(["set-port", "pa", "ingress_p"]) ==
          {"ingress_policing_rate=", "ingress_policing_burst="},
          "set-port completes its keys")


def test_offload_note():
    """TCP between two namespaces through pa and pc: the kernel hands the
    afpacket port (PACKET_VNET_HDR) TSO super-frames with a partial
    checksum, which the capture file notes in a comment."""
    ns = ["vsw-cap-a-%d" % os.getpid(), "vsw-cap-c-%d" % os.getpid()]
    try:
        for n, (dev, ip) in zip(ns, (("vcap0p", "10.9.1.1"),
                                     ("vcap2p", "10.9.1.2"))):
            for c in ("ip netns add %s" % n,
                      "ip link set %s netns %s" % (dev, n),
                      "ip -n %s addr add %s/24 dev %s" % (n, ip, dev),
                      "ip -n %s link set %s up" % (n, dev),
                      "ip -n %s link set lo up" % n):
                if not check(sh(c) == 0, "set-up: " + c):
                    return
        srv = subprocess.Popen(
            ["ip", "netns", "exec", ns[1], sys.executable, "-c",
             "import socket\n"
             "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
             "socket.SO_REUSEADDR, 1)\n"
             "s.bind(('10.9.1.2', 5001)); s.listen(1)\n"
             "c, _ = s.accept()\n"
             "while c.recv(65536): pass\n"])
        path = os.path.join(TMP, "tso.pcapng")
        cap = subprocess.Popen([VSWCTL, "--ctl", CTL, "capture", "pa",
                                "--direction", "in", "--count", "20",
                                "-w", path, "tcp", "port", "5001"],
                               stderr=subprocess.PIPE)
        time.sleep(0.5)
        cli = subprocess.run(
            ["ip", "netns", "exec", ns[0], sys.executable, "-c",
             "import socket, time\n"
             "for i in range(50):\n"
             "    try:\n"
             "        s = socket.create_connection(('10.9.1.2', 5001), 2)\n"
             "        break\n"
             "    except OSError:\n"
             "        time.sleep(0.1)\n"
             "for i in range(400): s.sendall(b'x' * 65536)\n"
             "s.close()\n"], capture_output=True, text=True, timeout=60)
        check(cli.returncode == 0, "TCP through vswd: %s" % cli.stderr)
        try:
            _, err = cap.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            cap.send_signal(signal.SIGINT)
            _, err = cap.communicate()
        srv.kill()
        srv.wait()
        trc, rows, terr = tshark(path, ["frame.len", "frame.comment"])
        check(trc == 0 and len(rows) > 0, "TCP frames captured: %s %r" %
              (terr, err))
        notes = [r for r in rows if len(r) > 1 and
                 "TSO/GSO super-frame" in r[1] and
                 "partial checksum" in r[1]]
        check(len(notes) > 0 and all(int(r[0]) > 1514 for r in notes),
              "TSO super-frames noted in comments: %r" % rows[:5])
    finally:
        for n in ns:
            sh("ip netns del %s" % n)


def main():
    if os.geteuid() != 0 or shutil.which("unshare") is None or \
            shutil.which("tshark") is None or \
            shutil.which("tcpdump") is None:
        print("skipped: needs root, unshare, tshark and tcpdump")
        shutil.rmtree(TMP, ignore_errors=True)
        return 77
    vswtest.own_netns(TMP)
    d = None
    try:
        sh("ip link set lo up")
        veth("vcap0")
        veth("vcap1")
        veth("vcap2")
        d = Daemon()
        for c in (["add-br", "br1"],
                  ["add-port", "br1", "pa", "type=afpacket", "ifname=vcap0"],
                  ["add-port", "br1", "pb", "type=afpacket", "ifname=vcap1"],
                  ["add-port", "br1", "pc", "type=afpacket",
                   "ifname=vcap2"]):
            p = ctl(*c)
            if p.returncode != 0:
                raise RuntimeError("vswctl %s: %r" % (c, p.stderr))
        time.sleep(0.5)
        snd = Sender()
        test_help()
        test_log_level()
        test_metrics(snd)
        test_completion()
        test_errors(snd)
        test_filter_in(snd)
        test_out_stdout(snd)
        test_text(snd)
        test_client_killed(snd)
        test_port_deleted(snd)
        snd.s.close()
        snd.s = raw("vcap0p")
        test_still_forwards(snd)
        snd.s.close()
        test_offload_note()
        check(d.stop() == 0, "vswd stops cleanly")
        d = None
        text = open(os.path.join(TMP, "vswd.log")).read()
        check("runtime error" not in text and "Sanitizer" not in text,
              "no sanitizer report from vswd")
    finally:
        rc = vswtest.finish(d, TMP)
    return rc


if __name__ == "__main__":
    sys.exit(main())
