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
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VSWD, VSWCTL = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="vsw-func-ctl-")
DB = os.path.join(TMP, "conf.db")
CTL = os.path.join(TMP, "vswd.ctl")
RUN = os.path.join(TMP, "run")
IS_ROOT = os.geteuid() == 0

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)


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
    (["set-port", "d0", "color=red"], 2, "unknown setting 'color'"),
    (["set-port", "nope", "tag=3"], 1, "no port 'nope'"),
    (["set-option", "threads=0"], 1, "threads=0: expected a number"),
    (["set-option", "speed=9"], 1, "unknown option 'speed'"),
    (["set-option", "poll=maybe"], 1, "expected on or off"),
    (["set-option", "ageing=100", "threads=x"], 1, "threads=x"),
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


def test_restart(d):
    before = config_of(show())
    rc = d.stop(signal.SIGTERM)
    check(rc == 0, "SIGTERM: clean exit, got %d" % rc)
    check(not os.path.exists(CTL), "control socket removed")
    check(not os.path.exists(os.path.join(RUN, "vhu0.sock")),
          "vhost-user socket removed")
    d = Daemon()
    after = config_of(show())
    check(after == before, "restart after SIGTERM restores:\n%s\n%s" %
          (json.dumps(before), json.dumps(after)))
    ok("add-port", "br1", "d9", "type=dummy")
    ok("set-port", "d9", "trunks=5")
    before = config_of(show())
    d.stop(signal.SIGKILL)
    d = Daemon()
    after = config_of(show())
    check(after == before, "restart after kill -9 restores:\n%s\n%s" %
          (json.dumps(before), json.dumps(after)))
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
            ("text", b"bridge br0\n", "not an SQLite database")):
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


def main():
    d = None
    try:
        d = Daemon()
        test_defaults_and_commands()
        test_errors()
        test_raw_protocol()
        test_second_daemon()
        d = test_restart(d)
        check(d.stop() == 0, "final stop")
        d = None
        test_corrupt()
    finally:
        if d is not None and d.p.poll() is None:
            d.p.kill()
            d.p.wait()
        if failed:
            print(open(os.path.join(TMP, "vswd.log")).read()[-6000:])
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
