#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Functional test of vswd + vswctl (suite func).

Starts vswd on a temporary database, control socket and run dir, drives
every vswctl command (human and --json output), checks that every wrong
command fails with a clear message and the documented exit code and changes
nothing, that a restart after SIGTERM and after kill -9 restores the
configuration exactly, and that a damaged database is refused untouched.

usage: test_vswctl.py VSWD VSWCTL
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import vswtest
from vswtest import check

VSWD, VSWCTL = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="vsw-func-ctl-")
DB = os.path.join(TMP, "conf.db")
CTL = os.path.join(TMP, "vswd.ctl")
RUN = os.path.join(TMP, "run")
IS_ROOT = os.geteuid() == 0


def ctl(*args, json_out=False):
    cmd = [VSWCTL, "--ctl", CTL, "--timeout", "20"]
    if json_out:
        cmd.append("--json")
    p = subprocess.run(cmd + list(args), capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def ok(*args):
    rc, out, err = ctl(*args)
    check(rc == 0, "vswctl %s: rc %d, stderr %r" % (" ".join(args), rc, err))
    return out


def show():
    rc, out, err = ctl("show", json_out=True)
    check(rc == 0, "show --json: rc %d %s" % (rc, err))
    return json.loads(out)


def config_of(s):
    """What the store holds and the switch runs, without the paths."""
    return {"options": s["options"], "bridges": s["bridges"]}


class Daemon:
    def __init__(self, extra=()):
        self.log = open(os.path.join(TMP, "vswd.log"), "a")
        self.p = subprocess.Popen(
            [VSWD, "--db", DB, "--ctl", CTL, "--run-dir", RUN,
             "--log-level", "debug"] + list(extra),
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("vswd exited with %d" % self.p.returncode)
            if ctl("version")[0] == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("vswd did not answer in time")

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        rc = self.p.wait(timeout=30)
        self.log.close()
        return rc


def port(s, bridge, name):
    for b in s["bridges"]:
        if b["name"] == bridge:
            for p in b["ports"]:
                if p["name"] == name:
                    return p
    return None


def known_types():
    """The port types this build has, from vswd's own error message."""
    rc, _, err = ctl("add-port", "br0", "probe", "type=no-such-type")
    check(rc == 1 and "(known: " in err, "unknown type lists the known")
    return err.split("(known: ")[1].rstrip().rstrip(")").split(", ")


def test_defaults_and_commands():
    s = show()
    types = known_types()
    check("dummy" in types, "dummy port type present: %s" % types)
    br0 = [b for b in s["bridges"] if b["name"] == "br0"]
    check(len(br0) == 1, "default bridge br0 exists")
    log = open(os.path.join(TMP, "vswd.log")).read()
    check(CTL in log and RUN in log, "banner prints socket and run dir")
    if "vhostuser" in types:
        vhu0 = port(s, "br0", "vhu0")
        check(vhu0 is not None and vhu0["type"] == "vhostuser",
              "default vhostuser port vhu0")
        check(vhu0 and vhu0["options"].get("path") ==
              os.path.join(RUN, "vhu0.sock"), "vhu0 socket in the run dir")
        check("qemu-system-x86_64" in log and "vhu0.sock" in log,
              "banner prints the QEMU command line")
    else:
        print("note: no vhostuser provider in this build: vhu0 not checked")
    if "tap" in types and IS_ROOT and os.path.exists("/dev/net/tun"):
        check(port(s, "br0", "vsw0") is not None, "default tap port vsw0")

    ok("add-br", "br1")
    ok("add-port", "br1", "d0", "type=dummy")
    ok("add-port", "br1", "d1", "type=dummy", "rxq=2", "txq=2")
    ok("add-port", "br1", "d2", "type=dummy")
    ok("set-port", "d0", "tag=10")
    ok("set-port", "d1", "trunks=10,20-22")
    ok("set-port", "d2", "tag=20", "trunks=20,30")
    if "tap" in types and IS_ROOT and os.path.exists("/dev/net/tun"):
        rc, _, err = ctl("add-port", "br1", "t0", "type=tap",
                         "ifname=vswtest%d" % (os.getpid() % 10000))
        check(rc == 0, "tap port as root: %s" % err)
    out = ok("show")
    for needle in ("Bridge br1", "Port d0", "type: dummy", "tag: 10",
                   "trunks: 10,20-22", "options: {rxq=2, txq=2}",
                   "link: up"):
        check(needle in out, "show has %r:\n%s" % (needle, out))
    s = show()
    d0, d1, d2 = (port(s, "br1", n) for n in ("d0", "d1", "d2"))
    check(d0["tag"] == 10 and d0["trunks"] is None, "d0 json vlan")
    check(d1["tag"] is None and d1["trunks"] == "10,20-22", "d1 json vlan")
    check(d2["tag"] == 20 and d2["trunks"] == "20,30", "d2 native+trunks")
    check(d1["rxq"] == 2 and d1["link"] == "up", "d1 runtime fields")

    out = ok("dump-ports", "br1")
    check("port d0 (dummy, up)" in out and "rx pkts=0" in out,
          "dump-ports human:\n" + out)
    rc, out, _ = ctl("dump-ports", "br1", json_out=True)
    j = json.loads(out)
    check(rc == 0 and [p["name"] for p in j["ports"]][:3] ==
          ["d0", "d1", "d2"], "dump-ports json")
    check(j["ports"][0]["rx"]["packets"] == 0 and
          "tx_full" in j["ports"][0]["tx"]["drops"], "dump-ports counters")
    check("counters" not in j["ports"][0], "dummy: no provider counters")
    if "vhostuser" in types:
        # a vhostuser port's IOTLB counters (a guest behind a vIOMMU;
        # nonzero values: tests/func/test_vhost_user_iotlb.c)
        out = ok("dump-ports", "br0")
        check("counters iotlb_updates=0 iotlb_invalidations=0 "
              "iotlb_misses=0 iotlb_miss_timeouts=0 iotlb_ring_faults=0 "
              "iotlb_refused=0 iotlb_entries=0" in out,
              "dump-ports vhostuser IOTLB counters:\n" + out)
        rc, out, _ = ctl("dump-ports", "br0", json_out=True)
        vj = [p for p in json.loads(out)["ports"] if p["name"] == "vhu0"]
        check(len(vj) == 1 and vj[0].get("counters", {}).get(
            "iotlb_misses") == 0, "dump-ports json counters: %s" % vj)

    out = ok("fdb-show", "br1")
    check("MAC" in out and "VLAN" in out, "fdb-show header")
    rc, out, _ = ctl("fdb-show", "br1", json_out=True)
    # nothing was sent on the dummy ports; only the tap port may have
    # learned what the host kernel sends on a new interface (IPv6 DAD, RS)
    check(rc == 0 and all(e["port"] == "t0"
                          for e in json.loads(out)["entries"]),
          "fdb-show json: " + out)
    ok("fdb-flush", "br1")

    ok("set-option", "ageing=100", "poll=on")
    out = ok("get-option")
    check("ageing=100" in out and "poll=on" in out, "get-option:\n" + out)
    ok("set-option", "poll=off")
    rc, out, _ = ctl("get-option", json_out=True)
    j = json.loads(out)
    check(j["ageing"] == 100 and j["poll"] == "off", "get-option json")
    check(j["spin"] == 2000, "spin default: %s" % j)
    ok("set-option", "spin=0")
    check(show()["options"]["spin"] == 0, "spin=0 applied")
    ok("set-option", "spin=500")
    check("spin=500" in ok("get-option"), "spin=500 applied")
    ok("set-option", "threads=2")
    check(show()["options"]["threads"] == 2, "threads=2 applied")

    ok("set-port", "d0", "tag=")
    check(port(show(), "br1", "d0")["tag"] is None, "tag cleared")
    ok("set-port", "d0", "tag=10")

    ok("add-br", "br2")
    ok("add-port", "br2", "x0", "type=dummy")
    ok("del-port", "br2", "x0")
    ok("add-port", "br2", "x1", "type=dummy")
    ok("del-br", "br2")
    s = show()
    check(all(b["name"] != "br2" for b in s["bridges"]), "br2 deleted")
    check(port(s, "br2", "x1") is None, "its port too")


BAD = [
    # (args, exit code, stderr must contain)
    (["add-br"], 2, "usage: vswctl add-br BRIDGE"),
    (["frobnicate"], 2, "unknown command 'frobnicate'"),
    ([], 2, "missing command"),
    (["add-br", "br1"], 1, "bridge 'br1' exists"),
    (["add-br", "bad/name"], 1, "invalid bridge name 'bad/name'"),
    (["add-br", "a-very-long-bridge-name"], 1, "invalid bridge name"),
    (["del-br", "nobr"], 1, "no bridge 'nobr'"),
    (["add-port", "br1", "x", "type=tapp"], 1,
     "unknown port type 'tapp' (known: "),
    (["add-port", "br1", "x"], 2, "usage"),
    (["add-port", "br1", "x", "ifname=y"], 2, "missing type=TYPE"),
    (["add-port", "br1", "x", "type"], 2, "expected KEY=VALUE"),
    (["add-port", "nobr", "x", "type=dummy"], 1, "no bridge 'nobr'"),
    (["add-port", "br1", "d0", "type=dummy"], 1, "port 'd0' exists"),
    (["add-port", "br1", "x", "type=dummy", "bogus=1"], 1, "bogus"),
    (["add-port", "br1", "x", "type=dummy", "rxq=1", "rxq=2"], 2,
     "given twice"),
    (["add-port", "br1", "x", "type=dummy", "rxq=100"], 1, "rxq"),
    (["add-port", "br1", "x", "type=dummy", "Bad=1"], 1,
     "invalid option key 'Bad'"),
    (["del-port", "br1", "nope"], 1, "no port 'nope'"),
    (["del-port", "br0", "d0"], 1, "port 'd0' is on bridge 'br1'"),
    (["del-port", "br1"], 2, "usage"),
    (["set-port", "d0", "tag=5000"], 1, "out of range"),
    (["set-port", "d0", "tag=abc"], 2, "tag must be a VLAN id"),
    (["set-port", "d0", "trunks=1,x"], 1, "bad VLAN list"),
    (["set-port", "d0", "trunks=4095"], 1, "4095"),
    (["set-port", "d0", "tag=5", "trunks=6"], 1, "native VLAN 5"),
    (["set-port", "d0", "color=red"], 1,
     "unknown option 'color' for type dummy"),
    (["set-port", "d0", "ring=512"], 1,
     "option ring of type dummy cannot change on a running port"),
    (["set-port", "d0", "type=tap"], 2, "type of a port cannot change"),
    (["set-port", "d0", "ingress_policing_rate=x"], 1,
     "ingress_policing_rate=x: expected an integer"),
    (["set-port", "d0", "max-rate=1", "max-rate=2"], 2, "given twice"),
    (["set-port", "nope", "tag=3"], 1, "no port 'nope'"),
    (["set-option", "threads=0"], 1, "threads=0: expected a number"),
    (["set-option", "speed=9"], 1, "unknown option 'speed'"),
    (["set-option", "poll=maybe"], 1, "expected on or off"),
    (["set-option", "ageing=100", "threads=x"], 1, "threads=x"),
    (["set-option", "spin=1000001"], 1, "spin=1000001: expected a number"),
    (["set-option", "spin=-1"], 1, "spin=-1: expected a number"),
    (["set-option"], 2, "usage"),
    (["fdb-show", "nobr"], 1, "no bridge 'nobr'"),
    (["fdb-flush", "nobr"], 1, "no bridge 'nobr'"),
    (["dump-ports", "nobr"], 1, "no bridge 'nobr'"),
    (["show", "extra"], 2, "usage"),
    (["--timeout", "0", "show"], 2, "--timeout"),
]


def test_errors():
    before = show()
    for args, code, needle in BAD:
        rc, out, err = ctl(*args)
        check(rc == code, "%s: exit %d, want %d (%s)" % (args, rc, code,
                                                         err.strip()))
        check(needle in err, "%s: stderr %r lacks %r" % (args, err, needle))
        check(err.startswith("vswctl: "), "%s: message prefix" % args)
    rc, out, err = ctl("add-br", "br1", json_out=True)
    j = json.loads(out)
    check(rc == 1 and j["error"]["errno"] == 17 and
          "exists" in j["error"]["message"], "--json error object")
    check(show() == before, "failed commands changed nothing")
    rc, _, err = subprocess.run(
        [VSWCTL, "--ctl", os.path.join(TMP, "nope.ctl"), "show"],
        capture_output=True, text=True).returncode, None, None
    check(rc == 3, "unreachable vswd: exit 3, got %d" % rc)


def test_raw_protocol():
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(CTL)
    s.sendall(b'{"jsonrpc":"2.0","method":"version","id":1}\n'
              b'not json\n'
              b'{"jsonrpc":"2.0","method":"bridge.add","params":'
              b'{"bridge":7},"id":2}\n')
    buf = b""
    while buf.count(b"\n") < 3:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    lines = [json.loads(x) for x in buf.split(b"\n") if x]
    check(len(lines) == 3, "three answers")
    check(lines[0].get("result", {}).get("version") is not None, "version")
    check(lines[1]["error"]["code"] == -32700, "parse error")
    check(lines[2]["error"]["code"] == -32602 and lines[2]["id"] == 2,
          "invalid params")


def cpu_s(pid):
    """User + system CPU seconds of process pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(name, pred, secs):
    """The port's show entry once pred(entry) holds, or the last one."""
    deadline = time.time() + secs
    while True:
        p = port(show(), "br1", name)
        if (p is not None and pred(p)) or time.time() >= deadline:
            return p
        time.sleep(0.1)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True,
                          text=True).returncode


def test_tap_gone(d):
    """The interface of a tap port is deleted under it: link down, no busy
    data thread, one log line, re-created when the name is free, del-port
    works."""
    if not ("tap" in known_types() and IS_ROOT and
            os.path.exists("/dev/net/tun")):
        print("note: not root or no TAP: interface loss not checked")
        return
    ifname = "vswg%d" % (os.getpid() % 100000)
    ns = "vsw-func-gone-%d" % os.getpid()
    log = os.path.join(TMP, "vswd.log")
    ok("add-port", "br1", "tg", "type=tap", "ifname=" + ifname)
    check(wait_port("tg", lambda p: p["link"] == "up", 5)["rxq"] == 1,
          "tap port up with its queue")
    check(sh("ip netns add %s && ip link set %s netns %s && "
             "ip netns del %s" % (ns, ifname, ns, ns)) == 0,
          "interface moved to a namespace, namespace deleted")
    # keep the name taken (by a veth) so the port stays down for a while
    check(sh("ip link add %s type veth peer name %sp" % (ifname, ifname))
          == 0, "name taken by a veth")
    p = wait_port("tg", lambda p: p["link"] == "down" and
                  "interface gone" in p["status"], 10)
    check(p["link"] == "down" and p["rxq"] == 0 and p["txq"] == 0,
          "link down, no queues: %s" % p)
    check("interface gone" in p["status"], "status: %s" % p["status"])
    # no busy loop: vswd (all threads) idles while the port is dead; the
    # vhostuser port vhu0 goes first, as a data thread polls it without
    # sleeping while no guest is connected
    if port(show(), "br0", "vhu0") is not None:
        ok("del-port", "br0", "vhu0")
    t0, c0 = time.time(), cpu_s(d.p.pid)
    time.sleep(1.5)
    used = (cpu_s(d.p.pid) - c0) / (time.time() - t0)
    check(used < 0.25, "vswd CPU use while the port is dead: %.0f%%" %
          (used * 100))
    out = ok("show")
    check("link: down" in out.split("Port tg")[1].split("Port ")[0],
          "vswctl show: tg link down:\n" + out)
    gone = [x for x in open(log).read().splitlines()
            if "tap interface %s is gone" % ifname in x]
    check(len(gone) == 1, "one log line for the loss: %s" % gone)
    check(open(log).read().count("tap read") == 0, "no read warnings")
    # the name is free again: re-created by the next retry (every 2 s)
    check(sh("ip link del %s" % ifname) == 0, "veth removed")
    p = wait_port("tg", lambda p: p["link"] == "up", 6)
    check(p["link"] == "up" and p["rxq"] == 1 and p["txq"] == 1,
          "tap port back: %s" % p)
    check(os.path.exists("/sys/class/net/%s/tun_flags" % ifname),
          "interface re-created as a TAP")
    # gone again (ip link del here), then deleted while down
    check(sh("ip link del %s" % ifname) == 0, "ip link del")
    p = wait_port("tg", lambda p: p["link"] == "down", 5)
    check(p["link"] == "down", "down again after ip link del: %s" % p)
    ok("del-port", "br1", "tg")
    check(port(show(), "br1", "tg") is None, "del-port of a dead tap port")
    time.sleep(2.5)  # a retry would have re-created it by now
    check(not os.path.exists("/sys/class/net/%s" % ifname),
          "no interface left after del-port")


FLOW_LINE = re.compile(r"^ cookie=0x[0-9a-f]+, duration=\d+\.\d{3}s, "
                       r"table=(\d+), n_packets=\d+, n_bytes=\d+, (.*)$")


def flows(bridge):
    """dump-flows BRIDGE --json as (priority, match, actions) tuples."""
    rc, out, err = ctl("dump-flows", bridge, json_out=True)
    check(rc == 0, "dump-flows %s --json: %s" % (bridge, err))
    return [(f["priority"], f["match"], f["actions"])
            for f in json.loads(out)["flows"]]


def flow_lines(bridge):
    """The human dump-flows lines without duration and counters."""
    out = ok("dump-flows", bridge)
    rest = []
    for line in out.splitlines():
        m = FLOW_LINE.match(line)
        check(m is not None, "ovs-ofctl format: %r" % line)
        if m:
            # table 0's rules as before; the others with their table
            rest.append(m.group(2) if m.group(1) == "0" else
                        "table=%s %s" % (m.group(1), m.group(2)))
    return rest


BAD_FLOWS = [
    # (args, exit code, stderr must contain)
    (["add-flow", "br1", "in_prt=1,actions=drop"], 1,
     "in_prt: unknown field"),
    (["add-flow", "br1", "in_port=nope,actions=drop"], 1, "nope"),
    (["add-flow", "br1", "tp_dst=80,actions=drop"], 1, "tp_dst"),
    (["add-flow", "br1", "in_port=1"], 1, "actions"),
    (["add-flow", "br1", "actions=output:frob"], 1, "frob"),
    (["add-flow", "br1", "actions=mod_vlan_vid:5000"], 1, "5000"),
    (["add-flow", "nobr", "actions=drop"], 1, "no bridge 'nobr'"),
    (["add-flow", "br1"], 2, "usage"),
    (["add-flow", "br1", "--bogus", "actions=drop"], 2, "--bogus"),
    (["mod-flows", "br1", "in_port=1"], 1, "actions"),
    (["del-flows", "br1", "--strict"], 1, "--strict needs a match"),
    (["del-flows", "br1", "in_port=1,actions=drop"], 1, "actions"),
    (["dump-flows", "nobr"], 1, "no bridge 'nobr'"),
    (["add-flow", "br1", "table=255,actions=drop"], 1, "table"),
    (["add-flow", "br1", "table=4,actions=goto_table:4"], 1, "greater"),
    (["add-flow", "br1", "actions=goto_table:2,output:1"], 1, "last"),
    (["mod-flows", "br1", "table=6,actions=goto_table:5"], 1, "greater"),
    (["del-flows", "br1", "cookie=0x1/zz"], 1, "mask"),
    (["dpif-stats", "nobr"], 1, "no bridge 'nobr'"),
    (["dpif-stats", "br0", "br1"], 2, "usage"),
    (["pmd-stats", "x"], 2, "usage"),
]


def test_flows():
    s = show()
    ofs = {p["name"]: p["ofport"] for b in s["bridges"]
           for p in b["ports"]}
    check(ofs.get("d0") == 1 and ofs.get("d1") == 2 and ofs.get("d2") == 3,
          "ofports in creation order: %s" % ofs)
    check("ofport: 1" in ok("show"), "show prints ofports")
    check("port d0 (dummy, up), ofport 1:" in ok("dump-ports", "br1"),
          "dump-ports prints ofports")
    # the default table
    check(flow_lines("br1") == ["priority=0 actions=NORMAL"],
          "default table: %s" % flow_lines("br1"))
    ok("add-flow", "br1", "priority=100,in_port=d0,actions=output:d1")
    ok("add-flow", "br1", "priority=90,in_port=d1,dl_vlan=10,"
       "actions=strip_vlan,output:1,output:3")
    ok("add-flow", "br1", "tcp,nw_dst=10.0.0.0/24,tp_dst=80,"
       "idle_timeout=600,actions=mod_nw_dst:10.0.0.9,normal")
    ok("add-flow", "br1", "priority=80", "in_port=3", "actions=drop")
    want = ["tcp,nw_dst=10.0.0.0/24,tp_dst=80 actions=mod_nw_dst:10.0.0.9,"
            "NORMAL",
            "priority=100,in_port=1 actions=output:2",
            "priority=90,in_port=2,dl_vlan=10 actions=strip_vlan,output:1,"
            "output:3",
            "priority=80,in_port=3 actions=drop",
            "priority=0 actions=NORMAL"]
    got = flow_lines("br1")
    got[0] = got[0].replace("idle_timeout=600, ", "")
    check(got == want, "dump-flows after add:\n%s" % "\n".join(got))
    check("idle_timeout=600, tcp" in ok("dump-flows", "br1"),
          "idle_timeout shown")
    j = flows("br1")
    check(j[1] == (100, "in_port=1", "output:2"), "json flow: %s" % (j,))
    # a filter
    check(flow_lines("br1", ) and
          len(json.loads(ctl("dump-flows", "br1", "in_port=2",
                             json_out=True)[1])["flows"]) == 1,
          "dump-flows with a match")
    # mod-flows strict and not
    out = ok("mod-flows", "br1", "--strict",
             "priority=100,in_port=d0,actions=drop")
    check(out == "", "mod of one flow prints nothing: %r" % out)
    check(flows("br1")[1] == (100, "in_port=1", "drop"), "strict mod")
    out = ok("mod-flows", "br1", "in_port=1,actions=output:3")
    check(out == "", "non-strict mod of one flow: %r" % out)
    check(flows("br1")[1] == (100, "in_port=1", "output:3"), "mod")
    rc, out, _ = ctl("mod-flows", "br1", "priority=5,in_port=9,actions=drop",
                     json_out=True)
    check(rc == 0 and json.loads(out)["count"] == 1, "mod adds: %s" % out)
    # del-flows strict (priority must match) and not
    out = ok("del-flows", "br1", "--strict", "priority=99,in_port=1")
    check(out == "0 flows\n", "strict del with another priority: %r" % out)
    out = ok("del-flows", "br1", "--strict", "priority=5,in_port=9")
    check(len(flows("br1")) == 5, "strict del removed one")
    # bad flows: rejected with the parser's message, nothing changed
    before = flows("br1")
    for args, code, needle in BAD_FLOWS:
        rc, out, err = ctl(*args)
        check(rc == code and needle in err,
              "vswctl %s: rc %d (want %d), stderr %r (want %r)" %
              (" ".join(args), rc, code, err, needle))
        if code == 1:
            rc, out, _ = ctl(*args, json_out=True)
            e = json.loads(out)["error"] if out else {}
            check(rc == 1 and needle in e.get("message", ""),
                  "--json error for %s: %s" % (args, out))
    check(flows("br1") == before, "bad flows changed nothing")
    # statistics
    out = ok("dpif-stats", "br1")
    for needle in ("br1:", "5 rules", "subtables", "exact match cache",
                   "hits: ", "misses: ", "upcalls: ", "hit rate"):
        check(needle in out, "dpif-stats has %r:\n%s" % (needle, out))
    rc, out, _ = ctl("dpif-stats", json_out=True)
    j = json.loads(out)
    b1 = [b for b in j["bridges"] if b["bridge"] == "br1"]
    check(rc == 0 and len(b1) == 1 and b1[0]["rules"] == 5 and
          b1[0]["emc_size"] == 8192 and not b1[0]["fast_path"] and
          b1[0]["emc_caches"] == 2, "dpif-stats json: %s" % out)
    b0 = [b for b in j["bridges"] if b["bridge"] == "br0"]
    check(len(b0) == 1 and b0[0]["fast_path"] and b0[0]["rules"] == 1,
          "br0 on the fast path: %s" % b0)
    out = ok("pmd-stats")
    for needle in ("pmd thread 0", "pmd thread 1", "packets received:",
                   "emc hits:", "emc misses", "idle cycles:",
                   "processing cycles:", "avg cycles per packet:",
                   "of which asleep:", "spin window:"):
        check(needle in out, "pmd-stats has %r:\n%s" % (needle, out))
    rc, out, _ = ctl("pmd-stats", json_out=True)
    j = json.loads(out)
    check(rc == 0 and len(j["threads"]) == 2 and
          {"packets", "emc_hits", "emc_misses", "busy_cycles",
           "idle_cycles", "sleep_cycles", "spin_us",
           "cycles_per_packet"} <= set(j["threads"][0]),
          "pmd-stats json: %s" % out)
    idle0 = j["threads"][0]["idle_cycles"]
    ok("pmd-stats-clear")
    j = json.loads(ctl("pmd-stats", json_out=True)[1])
    check(j["threads"][0]["idle_cycles"] < idle0,
          "pmd-stats-clear restarts the counters")
    # an idle timeout expires through vswd's control loop
    ok("add-flow", "br1", "priority=7,in_port=2,idle_timeout=1,"
       "actions=drop")
    check(any(f[0] == 7 for f in flows("br1")), "timed flow added")
    deadline = time.time() + 10
    while time.time() < deadline and any(f[0] == 7 for f in flows("br1")):
        time.sleep(0.2)
    check(not any(f[0] == 7 for f in flows("br1")), "idle flow expired")
    # del-flows BR without a match: empty table, then the default again
    ok("add-br", "br3")
    ok("add-flow", "br3", "priority=1,actions=drop")
    out = ok("del-flows", "br3")
    check(out == "2 flows\n" and flows("br3") == [], "del-flows all")
    ok("add-flow", "br3", "priority=0,actions=normal")
    check(flows("br3") == [(0, "", "NORMAL")], "default back: %s" % flows("br3"))
    ok("del-br", "br3")


def test_restart(d):
    before = config_of(show())
    flows_before = flow_lines("br1")
    rc = d.stop(signal.SIGTERM)
    check(rc == 0, "SIGTERM: clean exit, got %d" % rc)
    check(not os.path.exists(CTL), "control socket removed")
    check(not os.path.exists(os.path.join(RUN, "vhu0.sock")),
          "vhost-user socket removed")
    d = Daemon()
    after = config_of(show())
    check(after == before, "restart after SIGTERM restores:\n%s\n%s" %
          (json.dumps(before), json.dumps(after)))
    check(flow_lines("br1") == flows_before,
          "restart keeps the flows:\n%s\n%s" % (flows_before,
                                                 flow_lines("br1")))
    ok("add-flow", "br1", "priority=33,dl_dst=02:00:00:00:00:01,"
       "actions=mod_dl_src:02:00:00:00:00:02,output:2")
    # rules in other tables and their flags are stored too
    ok("add-flow", "br1", "priority=34,udp,actions=goto_table:6")
    ok("add-flow", "br1", "table=6,send_flow_rem,cookie=0x9,priority=3,"
       "udp,actions=output:1")
    flows_before = flow_lines("br1")
    check("table=6 send_flow_rem priority=3,udp actions=output:1" in
          flows_before and
          "priority=34,udp actions=goto_table:6" in flows_before,
          "table=6 and goto_table in dump-flows: %s" % flows_before)
    ok("add-port", "br1", "d9", "type=dummy")
    ok("set-port", "d9", "trunks=5")
    ofport_d9 = port(show(), "br1", "d9")["ofport"]
    before = config_of(show())
    d.stop(signal.SIGKILL)
    d = Daemon()
    after = config_of(show())
    check(after == before, "restart after kill -9 restores:\n%s\n%s" %
          (json.dumps(before), json.dumps(after)))
    check(flow_lines("br1") == flows_before,
          "kill -9 keeps the flows:\n%s\n%s" % (flows_before,
                                                 flow_lines("br1")))
    check(port(show(), "br1", "d9")["ofport"] == ofport_d9,
          "ofport stable across restarts")
    return d


def test_add_flows(d):
    """add-flows: 1,000 rules from a file in one call, all or nothing."""
    ok("add-br", "bf")
    ok("add-port", "bf", "f0", "type=dummy")
    ok("add-port", "bf", "f1", "type=dummy")
    path = os.path.join(TMP, "flows.txt")
    want = set()
    with open(path, "w") as f:
        f.write("# 1,000 rules, both directions\n\n")
        for i in range(1000):
            src, dst = (1, 2) if i % 2 == 0 else (2, 1)
            f.write("  priority=10,in_port=%d,udp,nw_src=10.0.%d.%d,"
                    "tp_src=%d,actions=output:%d  \n" %
                    (src, i >> 8, i & 255, 1000 + i, dst))
            if i % 100 == 0:
                f.write("# comment %d\n" % i)
            want.add((10, "udp,in_port=%d,nw_src=10.0.%d.%d,tp_src=%d" %
                      (src, i >> 8, i & 255, 1000 + i), "output:%d" % dst))
    rc, out, err = ctl("add-flows", "bf", path, json_out=True)
    check(rc == 0 and json.loads(out)["count"] == 1000,
          "add-flows 1,000: rc %d %r %r" % (rc, out, err))
    got = flows("bf")
    check(len(got) == 1001 and set(got) - {(0, "", "NORMAL")} == want,
          "add-flows round trip: %d rules, %d unexpected" %
          (len(got), len(set(got) - want)))
    # a bad line (line 7 of the file) rejects the whole file
    before = flow_lines("bf")
    bad = os.path.join(TMP, "bad.txt")
    with open(bad, "w") as f:
        f.write("priority=5,in_port=1,actions=drop\n# c\n\n"
                "in_port=2,actions=output:1\n\n\n"
                "in_prt=1,actions=drop\npriority=6,actions=drop\n")
    rc, out, err = ctl("add-flows", "bf", bad)
    check(rc == 1 and "line 7" in err and "in_prt: unknown field" in err,
          "bad line named: rc %d %r" % (rc, err))
    check(flow_lines("bf") == before, "a bad file changes nothing")
    # stdin, and the errors that are not the file's lines
    p = subprocess.run([VSWCTL, "--ctl", CTL, "add-flows", "bf", "-"],
                       input="priority=7,in_port=1,actions=output:2\n",
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "add-flows from stdin: %r" % p.stderr)
    check((7, "in_port=1", "output:2") in flows("bf"), "stdin rule added")
    rc, out, err = ctl("add-flows", "bf", os.path.join(TMP, "nofile"))
    check(rc == 1 and "nofile" in err, "missing file: rc %d %r" % (rc, err))
    rc, out, err = ctl("add-flows", "nobr", path)
    check(rc == 1 and "no bridge 'nobr'" in err,
          "add-flows, no bridge: rc %d %r" % (rc, err))
    rc, out, err = ctl("add-flows", "bf")
    check(rc == 2, "add-flows without FILE: usage, rc %d" % rc)
    # restart keeps them
    before = flow_lines("bf")
    check(len(before) == 1002, "1,002 rules before restart: %d" %
          len(before))
    check(d.stop(signal.SIGTERM) == 0, "SIGTERM after add-flows")
    d = Daemon()
    check(flow_lines("bf") == before, "restart keeps the add-flows rules")
    ok("del-br", "bf")
    return d


def test_second_daemon():
    other_ctl = os.path.join(TMP, "other.ctl")
    p = subprocess.run([VSWD, "--db", DB, "--ctl", other_ctl, "--run-dir",
                        os.path.join(TMP, "run2")],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0, "second vswd on the same db refused")
    check("another" in p.stderr, "says why: %r" % p.stderr)
    p = subprocess.run([VSWD, "--db", os.path.join(TMP, "other.db"),
                        "--ctl", CTL, "--run-dir", os.path.join(TMP, "run3")],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "another vswd" in p.stderr,
          "second vswd on the same socket refused: %r" % p.stderr)


def test_corrupt():
    for name, data, needle in (
            ("garbage", bytes((i * 37 + 11) & 0xff for i in range(8192)),
             "not an SQLite database"),
            ("text", b"bridge br0\n", "not an SQLite database"),
            ("zero-length", b"", "zero-length")):
        with open(DB, "wb") as f:
            f.write(data)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(DB + suffix):
                os.unlink(DB + suffix)
        p = subprocess.run([VSWD, "--db", DB, "--ctl", CTL, "--run-dir",
                            RUN], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode == 1, "%s db: exit %d" % (name, p.returncode))
        check(needle in p.stderr and DB in p.stderr,
              "%s db: stderr %r" % (name, p.stderr))
        with open(DB, "rb") as f:
            check(f.read() == data, "%s db left untouched" % name)
        check(not os.path.exists(CTL), "no socket left behind")
    # asked for explicitly: the empty file becomes a new store
    d = Daemon(extra=("--new-db",))
    s = show()
    check([b["name"] for b in s["bridges"]] == ["br0"],
          "--new-db: a first start in the empty file: %s" % s)
    check(d.stop() == 0, "--new-db: clean stop")
    check(os.path.getsize(DB) > 0, "--new-db: the store was written")


def test_paths():
    """A vhostuser path never takes over a live socket (vswd's control
    socket, another port's, another program's) and is absolute; a stale
    socket file is still replaced; deleting the port removes only its own
    socket file."""
    import socket
    if "vhostuser" not in known_types():
        print("note: no vhostuser provider: paths not checked")
        return
    before = show()
    # in the run dir: the one folder vswd allows for its sockets here
    # (test_vswd_security.py checks that confinement itself)
    other = os.path.join(RUN, "other.sock")
    lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsn.bind(other)
    lsn.listen(1)
    vhu0 = os.path.join(RUN, "vhu0.sock")
    live = {CTL: "control socket", other: "somebody listens"}
    if port(before, "br0", "vhu0"):
        live[vhu0] = "port 'vhu0' has path"
    for path, why in live.items():
        rc, out, err = ctl("add-port", "br0", "steal", "type=vhostuser",
                           "path=" + path)
        check(rc == 1 and why in err,
              "vhostuser path=%s refused (%s): rc %d %r" %
              (path, why, rc, err))
        check(os.path.exists(path) and
              os.stat(path).st_mode & 0o170000 == 0o140000,
              "%s still a socket" % path)
    rc, out, err = ctl("add-port", "br0", "steal", "type=vhostuser",
                       "path=rel.sock")
    check(rc == 1 and "relative" in err,
          "relative path refused: rc %d %r" % (rc, err))
    check(ctl("version")[0] == 0, "control socket still answers")
    check(show() == before, "refused paths changed nothing")
    lsn.close()
    # the other program is gone: its socket file is stale, and replaced
    ok("add-port", "br0", "took", "type=vhostuser", "path=" + other)
    st = os.stat(other)
    ok("del-port", "br0", "took")
    check(not os.path.exists(other), "own socket removed at del-port")
    # a file put in its place meanwhile is not vswd's to remove
    ok("add-port", "br0", "took", "type=vhostuser", "path=" + other)
    os.unlink(other)
    repl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    repl.bind(other)
    ok("del-port", "br0", "took")
    check(os.path.exists(other), "a replacement socket is left alone")
    repl.close()
    os.unlink(other)
    check(show() == before, "paths test leaves the configuration as it was")
    del st


def test_oversized():
    """A request over vswd's 1 MiB limit: vswctl prints vswd's own answer,
    a raw client gets that answer and then a clean end of file, and vswd
    goes on serving with nothing changed."""
    import socket
    before = show()
    big = ["k%d=%s" % (i, "x" * 100000) for i in range(12)]
    rc, out, err = ctl("add-port", "br0", "big0", "type=tap", *big)
    check(rc == 1, "oversized request: exit %d, want 1 (%s)"
          % (rc, err.strip()[:200]))
    check("longer than 1048576 bytes" in err,
          "oversized request: vswd's answer printed, got %r" % err[:300])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(CTL)
    s.sendall(b'{"x":"' + b" " * ((1 << 20) + 4096))
    buf, reset = b"", False
    s.settimeout(10)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except ConnectionResetError:
        reset = True
    s.close()
    check(not reset, "oversized raw request: connection reset")
    lines = [json.loads(x) for x in buf.split(b"\n") if x]
    check(len(lines) == 1 and lines[0]["error"]["code"] == -32600 and
          "longer than" in lines[0]["error"]["message"],
          "oversized raw request: one error answer, got %r" % buf[:300])
    check(show() == before, "oversized requests changed nothing")


def main():
    vswtest.own_netns(TMP)
    d = None
    try:
        d = Daemon()
        test_defaults_and_commands()
        test_errors()
        test_flows()
        test_raw_protocol()
        test_oversized()
        test_paths()
        test_second_daemon()
        d = test_restart(d)
        d = test_add_flows(d)
        test_tap_gone(d)
        check(d.stop() == 0, "final stop")
        d = None
        test_corrupt()
    finally:
        if d is not None and d.p.poll() is None:
            d.p.kill()
            d.p.wait()
        if vswtest.failed:
            print(open(os.path.join(TMP, "vswd.log")).read()[-6000:])
        shutil.rmtree(TMP, ignore_errors=True)
    return vswtest.summary()


if __name__ == "__main__":
    sys.exit(main())
