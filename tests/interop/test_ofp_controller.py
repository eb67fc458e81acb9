#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vswd driven by a real OpenFlow controller, ovs-testcontroller (Debian's
openvswitch-testcontroller, a learning switch), and ovs-ofctl's packet-out
and monitor against vswd and against Open vSwitch.

Usage: test_ofp_controller.py VSWD VSWCTL

Two endpoints: TAP ports t1, t2 of br0, each moved into a network
namespace of its own (10.77.0.1, 10.77.0.2). Everything runs in a network
and mount namespace of the test's own (it re-executes itself under
unshare), in a mkdtemp folder, with kernel-chosen TCP ports.

 1. fail mode: set / get / del-fail-mode, stored across a restart; secure
    removes the default priority=0,actions=NORMAL rule: no ping.
 2. secure, ovs-testcontroller connected: ping both ways with no local
    rule (the controller's table-miss rule sends to it, it answers with
    packet-outs and flows); the controller killed while a ping runs: the
    rules stay and keep carrying it; restarted: it works again.
 3. standalone: the controller killed, the rules flushed: after the
    fail-open delay the bridge forwards as a learning switch; the
    controller back: forwarding by the table again.
 4. ovs-ofctl monitor shows the packet-in of a frame sent with ovs-ofctl
    packet-out through a CONTROLLER rule (OFPP_TABLE), in vswd and in Open
    vSwitch (when installed), and packet-out to a port reaches the
    namespace behind it.

Exit: 0 pass, 1 fail, 77 skip (not root, no ovs-testcontroller).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ofptest as base  # noqa: E402

check = base.check
run = base.run
NS = ("vswofc1-%d" % os.getpid(), "vswofc2-%d" % os.getpid())
IPS = ("10.77.0.1", "10.77.0.2")
# standalone: the fail-open delay (3 probe intervals) plus slack
FAIL_OPEN_WAIT = 40


# ICMP echo from a namespace (no ping(8) needed): every ECHO_INTERVAL s
# for SECS s, or COUNT echoes; prints "SENT sent, GOT received".
PINGER = """\
import os, select, socket, struct, sys, time
ip, count, secs, gap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \\
    float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    return ~(t + (t >> 16)) & 0xffff
got, seq, end = set(), 0, time.monotonic() + secs
while seq < count and (secs <= 0 or time.monotonic() < end):
    seq += 1
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"vswofc.."
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    s.sendto(h, (ip, 0))
    limit = time.monotonic() + gap
    while seq not in got:
        left = limit - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        pkt, addr = s.recvfrom(65536)
        t, _, _, i, q = struct.unpack("!BBHHH", pkt[(pkt[0] & 15) * 4:][:8])
        if t == 0 and i == ident and addr[0] == ip:
            got.add(q)
    time.sleep(max(0, limit - time.monotonic()))
print("%d sent, %d received" % (seq, len(got)))
"""


def ns(n, *args, timeout=30):
    return run("ip", "netns", "exec", n, *args, timeout=timeout)


def pinger(i, count, secs, gap):
    return ["ip", "netns", "exec", NS[i], sys.executable, "-c", PINGER,
            IPS[1 - i], str(count), str(secs), str(gap)]


def ping(i, count=1):
    """count echoes from namespace i to the other; all answered."""
    rc, out, _ = run(*pinger(i, count, 0, 2), timeout=60)
    m = re.search(r"(\d+) sent, (\d+) received", out)
    return m is not None and m.group(1) == m.group(2) != "0"


def ping_until(i, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        if ping(i):
            return True
    return False


def flows(d):
    rc, out, _ = d.ctl("dump-flows", "br0")
    return [l for l in out.splitlines() if "actions=" in l]


class Controller:
    def __init__(self, target, tmp):
        self.log = open(os.path.join(tmp, "testcontroller.log"), "a")
        self.p = subprocess.Popen(
            ["ovs-testcontroller", "-O", "OpenFlow13", "--no-chdir",
             "--unixctl=" + os.path.join(tmp, "tc.ctl"), "-vconsole:info",
             target], stdout=self.log, stderr=self.log)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait(timeout=20)
        self.log.close()


def wait_connected(d, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        rc, out, _ = d.ctl("get-controller", "br0")
        if "1 connected" in out:
            return True
        time.sleep(0.2)
    return False


def setup_ports(d):
    for i, n in enumerate(NS):
        run("ip", "netns", "add", n)
        tap = "vswofc%d" % (i + 1)
        rc, _, err = d.ctl("add-port", "br0", "t%d" % (i + 1), "type=tap",
                           "ifname=" + tap)
        check(rc == 0, "add-port t%d type=tap: %s" % (i + 1, err))
        run("ip", "link", "set", tap, "netns", n)
        ns(n, "ip", "link", "set", "lo", "up")
        ns(n, "ip", "addr", "add", IPS[i] + "/24", "dev", tap)
        ns(n, "ip", "link", "set", tap, "up")


def test_fail_mode(d):
    rc, out, err = d.ctl("get-fail-mode", "br0")
    check(rc == 0 and out.strip() == "", "get-fail-mode: none set")
    check(ping_until(0, 20), "default table (NORMAL): ping")
    rc, _, err = d.ctl("set-fail-mode", "br0", "bogus")
    check(rc != 0 and "secure" in err, "set-fail-mode bogus refused: %s"
          % err.strip())
    rc, _, err = d.ctl("set-fail-mode", "br0", "secure")
    check(rc == 0, "set-fail-mode br0 secure: %s" % err)
    rc, out, _ = d.ctl("get-fail-mode", "br0")
    check(out.strip() == "secure", "get-fail-mode: secure")
    check(flows(d) == [], "secure removed the default rule: %s" % flows(d))
    check(not ping(0, count=2), "secure without controller: no ping")
    rc, _, err = d.ctl("set-fail-mode", "nobr", "secure")
    check(rc != 0, "set-fail-mode on a missing bridge refused")


def test_secure(d, tmp):
    rc, _, err = d.ctl("set-controller", "br0", "ptcp:0")
    check(rc == 0, "set-controller br0 ptcp:0: %s" % err)
    target = d.ptcp()
    check(target is not None, "listener address: %s" % target)
    c = Controller(target, tmp)
    try:
        check(wait_connected(d), "ovs-testcontroller connected")
        check(ping_until(0, 30), "secure, controller: ping 1 -> 2")
        check(ping(1), "secure, controller: ping 2 -> 1")
        fl = flows(d)
        check(any("CONTROLLER" in l for l in fl),
              "the controller's table-miss rule is in the table: %s" % fl)
        check(len(fl) >= 2, "the controller installed rules: %d" % len(fl))
        rc, out, _ = d.ctl("get-fail-mode", "br0")
        # the rules it installed idle out after 60 s: ping keeps them
        p = subprocess.Popen(pinger(0, 1000000, 7, 0.2),
                             stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        c.stop()
        time.sleep(2)
        n_before = len(flows(d))
        out = p.communicate(timeout=60)[0]
        m = re.search(r"(\d+) sent, (\d+) received", out)
        check(m is not None and int(m.group(2)) >= int(m.group(1)) - 3,
              "secure: traffic kept flowing while the controller died "
              "(%s)" % (m.group(0) if m else out[-200:]))
        check(n_before >= 2 and len(flows(d)) >= 2,
              "secure: the rules stay without the controller (%d)"
              % len(flows(d)))
        rc, _, _ = d.ctl("del-flows", "br0")
        check(not ping(0, count=2),
              "secure, no controller, no rules: no ping")
        c = Controller(target, tmp)
        check(wait_connected(d), "ovs-testcontroller reconnected")
        check(ping_until(0, 30), "secure, controller back: ping")
    finally:
        c.stop()
    return target


def test_standalone(d, tmp, target):
    rc, _, err = d.ctl("set-fail-mode", "br0", "standalone")
    check(rc == 0, "set-fail-mode br0 standalone: %s" % err)
    c = Controller(target, tmp)
    try:
        check(wait_connected(d), "standalone: controller connected")
        check(ping_until(0, 30), "standalone, controller: ping")
    finally:
        c.stop()
    d.ctl("del-flows", "br0")
    t0 = time.time()
    check(ping_until(0, FAIL_OPEN_WAIT),
          "standalone: no controller, no rules: fail-open forwards")
    print("fail-open after %.1f s" % (time.time() - t0))
    rc, out, _ = run(d.vswctl, "--ctl", os.path.join(d.tmp, "vswd.ctl"),
                     "--json", "get-fail-mode", "br0")
    c = Controller(target, tmp)
    try:
        check(wait_connected(d), "standalone: controller back")
        check(ping_until(0, 30), "standalone, controller back: ping")
        check(any("CONTROLLER" in l for l in flows(d)),
              "standalone: the controller drives the table again")
    finally:
        c.stop()


def monitor(target, secs, tmp, name):
    path = os.path.join(tmp, name)
    f = open(path, "w")
    p = subprocess.Popen(["ovs-ofctl", "-O", "OpenFlow13", "monitor",
                          target, "65534", "-m",
                          "--unixctl=" + os.path.join(tmp, name + ".ctl")],
                         stdout=f,
                         stderr=subprocess.STDOUT)
    return p, f, path


FRAME = ("ffffffffffff" "020000000001" "88b5" + "61" * 46)


def packet_ins(target, tmp, name, in_port):
    """ovs-ofctl monitor while ovs-ofctl packet-out sends FRAME through
    the table, which has a rule sending it to the controller."""
    p, f, path = monitor(target, 5, tmp, name)
    time.sleep(1.5)
    rc, _, err = run("ovs-ofctl", "-O", "OpenFlow13", "packet-out", target,
                     "in_port=%s,packet=%s,actions=table" % (in_port, FRAME))
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)
    f.close()
    with open(path) as fh:
        text = fh.read()
    return rc, err, text


def pin_summary(text):
    """Each packet-in as ovs-ofctl prints it (header line, flow, hex dump),
    without the message's type and xid: vswd sends OFPT_PACKET_IN, Open
    vSwitch the NXT_PACKET_IN2 that ovs-ofctl monitor asks it for."""
    out = []
    for l in text.splitlines():
        if "PACKET_IN" in l:
            out.append(re.sub(r"^\S*PACKET_IN2? \(OF1.3\) \(xid=0x[0-9a-f]+\)",
                              "PACKET_IN", l.strip()))
        elif out and not re.match(r"^\d{4}-\d\d-\d\dT", l):
            out[-1] += "\n" + l.strip()
    return out


def test_ofctl(d, tmp, ovs):
    """(Leaves br0 in secure mode.)"""
    d.ctl("del-flows", "br0")
    d.ctl("set-fail-mode", "br0", "secure")
    rc, _, err = d.ctl("set-controller", "br0", "ptcp:0")
    target = d.ptcp()
    ofctl = base.ofctl
    rc, _, err = ofctl("add-flow", target,
                       "priority=10,dl_type=0x88b5,actions=controller:64")
    check(rc == 0, "ovs-ofctl add-flow actions=controller:64: %s" % err)
    rc, out, _ = ofctl("dump-flows", target)
    check("actions=CONTROLLER:64" in out, "dump-flows shows CONTROLLER:64:"
          " %s" % out.strip())
    rc, err, text = packet_ins(target, tmp, "monitor-vsw.txt", "controller")
    check(rc == 0, "ovs-ofctl packet-out actions=table: %s" % err)
    got = pin_summary(text)
    check(len(got) == 1 and "cookie=0x0" in got[0] and "in_port=CONTROLLER" in
          got[0] and "(via action)" in got[0] and "total_len=60" in got[0],
          "monitor shows one packet-in: %s" % got)
    check("table_id=0" in text or "table_id" not in text,
          "packet-in from table 0")
    # max_len 64 of a 60-byte frame: all of it, as ovs-ofctl decodes it
    check("dl_type=0x88b5" in text, "the frame in the packet-in")
    if ovs is not None:
        base.ofctl("add-flow", ovs.target,
                   "priority=10,dl_type=0x88b5,actions=controller:64")
        rc, err, otext = packet_ins(ovs.target, tmp, "monitor-ovs.txt",
                                    "controller")
        ogot = pin_summary(otext)
        check(rc == 0 and len(ogot) == 1, "Open vSwitch: one packet-in: %s"
              % ogot)
        check(got == ogot, "the packet-in as ovs-ofctl prints it, the "
              "same from vswd and Open vSwitch: %s / %s" % (got, ogot))
    else:
        print("note: no ovs-vswitchd, packet-in not compared")
    # packet-out to a port: the frame reaches the namespace behind t2
    rc, out, _ = d.ctl("dump-ports", "br0")
    m = re.search(r"port t2 \(.*ofport (\d+)", out)
    t2 = m.group(1) if m else "2"
    cap = subprocess.Popen(["ip", "netns", "exec", NS[1], "tcpdump", "-c",
                            "1", "-n", "-i", "vswofc2", "ether", "proto",
                            "0x88b5"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    time.sleep(2)
    rc, _, err = ofctl("packet-out", target,
                       "in_port=controller,packet=%s,actions=output:%s"
                       % (FRAME, t2))
    check(rc == 0, "ovs-ofctl packet-out actions=output:%s: %s" % (t2, err))
    try:
        out = cap.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        cap.kill()
        out = cap.communicate()[0]
    check("ethertype Unknown (0x88b5)" in out or "0x88b5" in out,
          "packet-out reached t2's namespace: %s" % out.strip())
    # hostile packet-outs: bad lengths answered with errors, vswd lives
    rc, _, err = ofctl("packet-out", target,
                       "in_port=controller,packet=0102,actions=output:2")
    check(rc != 0 or "error" in err.lower() or d.p.poll() is None,
          "a 2-byte packet-out refused")
    check(d.p.poll() is None, "vswd still runs")
    d.ctl("del-controller", "br0")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if os.geteuid() != 0 or shutil.which("ovs-testcontroller") is None or \
            shutil.which("ovs-ofctl") is None or \
            shutil.which("unshare") is None:
        print("skip: needs root, unshare, ovs-ofctl and ovs-testcontroller")
        return 77
    if os.environ.get("VSW_OFC_NETNS") != "1":
        os.environ["VSW_OFC_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--mount", sys.executable]
                  + sys.argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # ip netns needs a private /run/netns in this mount namespace
    os.makedirs("/run/netns", exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/netns"],
                   check=True)
    vswd, vswctl = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="vsw-ofc-")
    d = None
    ovs = None
    try:
        d = base.Vswd(vswd, vswctl, tmp)
        setup_ports(d)
        test_fail_mode(d)
        target = test_secure(d, tmp)
        test_standalone(d, tmp, target)
        if shutil.which("ovs-vswitchd") and shutil.which("ovsdb-server"):
            os.mkdir(os.path.join(tmp, "ovs"))
            ovs = base.Ovs(os.path.join(tmp, "ovs"))
        test_ofctl(d, tmp, ovs)
        # (the TAP interfaces are vswd's: a restart makes new ones, so
        # this comes last)
        d.stop()
        d.start()
        rc, out, _ = d.ctl("get-fail-mode", "br0")
        check(out.strip() == "secure", "fail mode kept across a restart")
        rc, _, err = d.ctl("del-fail-mode", "br0")
        rc, out, _ = d.ctl("get-fail-mode", "br0")
        check(rc == 0 and out.strip() == "", "del-fail-mode: none set")
    finally:
        if ovs is not None:
            ovs.stop()
        if d is not None and d.p.poll() is None:
            d.stop()
        for n in NS:
            run("ip", "netns", "del", n)
        if base.FAILS:
            print("vswd log: %s" % os.path.join(tmp, "vswd.log"))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(base.FAILS))
    return 1 if base.FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
