#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vswd's OpenFlow 1.3 against the real client, ovs-ofctl -O OpenFlow13,
and against Open vSwitch given the same commands.

Usage: test_ofp_ovs_ofctl.py VSWD VSWCTL

Runs in a network and mount namespace of its own (root; it re-executes
itself under unshare), everything in a mkdtemp folder, every TCP port
chosen by the kernel (ptcp:0). Open vSwitch (ovsdb-server, ovs-vswitchd
with a netdev bridge) is started in the same folder when it is installed;
the rules both switches hold after the same ovs-ofctl commands are
compared field by field (duration and counters aside). Without ovs-vswitchd
the comparison is against the rules as written, and the test says so.

Exit: 0 pass, 1 fail, 77 skip (not root, no ovs-ofctl).
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

FAILS = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what), flush=True)
    if not cond:
        FAILS.append(what)


def run(*args, timeout=20):
    p = subprocess.run(list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Vswd:
    def __init__(self, vswd, vswctl, tmp):
        self.vswd, self.vswctl, self.tmp = vswd, vswctl, tmp
        self.start()

    def start(self):
        t = self.tmp
        self.log = open(os.path.join(t, "vswd.log"), "a")
        self.p = subprocess.Popen(
            [self.vswd, "--db", os.path.join(t, "conf.db"),
             "--ctl", os.path.join(t, "vswd.ctl"),
             "--run-dir", os.path.join(t, "run"), "--log-level", "debug"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("vswd exited with %d" % self.p.returncode)
            if self.ctl("version")[0] == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("vswd did not answer")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=30)
        self.log.close()
        return rc

    def ctl(self, *args):
        return run(self.vswctl, "--ctl", os.path.join(self.tmp, "vswd.ctl"),
                   *args)

    def ptcp(self):
        """The address of br0's ptcp: listener, from get-controller."""
        rc, out, err = self.ctl("get-controller", "br0")
        m = re.search(r"listening on (127\.0\.0\.1:\d+)", out)
        return "tcp:" + m.group(1) if rc == 0 and m else None


class Ovs:
    """Open vSwitch in @tmp: ovsdb-server, ovs-vswitchd, bridge br0
    (netdev datapath: no kernel module)."""

    def __init__(self, tmp):
        self.tmp = tmp
        env = dict(os.environ, OVS_RUNDIR=tmp, OVS_LOGDIR=tmp,
                   OVS_DBDIR=tmp, OVS_SYSCONFDIR=tmp)
        self.env = env
        db = os.path.join(tmp, "conf.db")
        sock = "unix:" + os.path.join(tmp, "db.sock")
        subprocess.run(["ovsdb-tool", "create", db,
                        "/usr/share/openvswitch/vswitch.ovsschema"],
                       check=True, env=env)
        self.procs = [subprocess.Popen(
            ["ovsdb-server", db, "--remote=p" + sock,
             "--unixctl=" + os.path.join(tmp, "ovsdb.ctl"),
             "--log-file=" + os.path.join(tmp, "ovsdb.log")], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        self.wait_for(os.path.join(tmp, "db.sock"))
        subprocess.run(["ovs-vsctl", "--db=" + sock, "--no-wait", "init"],
                       check=True, env=env, timeout=20)
        self.procs.append(subprocess.Popen(
            ["ovs-vswitchd", sock,
             "--unixctl=" + os.path.join(tmp, "vswitchd.ctl"),
             "--log-file=" + os.path.join(tmp, "vswitchd.log")], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        subprocess.run(["ovs-vsctl", "--db=" + sock, "--timeout=20",
                        "add-br", "br0", "--", "set", "bridge", "br0",
                        "datapath_type=netdev"], check=True, env=env,
                       timeout=30)
        self.target = "unix:" + os.path.join(tmp, "br0.mgmt")
        self.wait_for(os.path.join(tmp, "br0.mgmt"))

    @staticmethod
    def wait_for(path):
        deadline = time.time() + 20
        while not os.path.exists(path):
            if time.time() > deadline:
                raise RuntimeError("%s did not appear" % path)
            time.sleep(0.05)

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(timeout=20)


def ofctl(*args):
    return run("ovs-ofctl", "-O", "OpenFlow13", *args)


def norm(dump):
    """dump-flows output as a sorted list of rules, without the fields that
    differ by time and traffic."""
    rules = []
    for line in dump.splitlines():
        if "actions=" not in line:
            continue
        line = re.sub(r"duration=[0-9.]+s, ", "", line)
        line = re.sub(r"n_packets=\d+, n_bytes=\d+, ", "", line)
        line = re.sub(r"idle_age=\d+, ", "", line)
        rules.append(line.strip())
    return sorted(rules)


FLOWS_FILE = """\
# the same rules, added with add-flows
priority=200,in_port=1,dl_vlan=10,actions=strip_vlan,output:2
priority=150,arp,arp_tpa=10.0.0.1,actions=NORMAL
cookie=0x5,priority=120,udp,udp_dst=53,actions=mod_dl_dst:00:11:22:33:44:55,output:1
priority=110,ipv6,ipv6_dst=2001:db8::1,actions=output:3
cookie=0x6,priority=105,icmp,dl_vlan=0xffff,icmp_type=8,actions=mod_nw_src:192.0.2.1,mod_vlan_vid:7,output:2
"""

# (command, args...) applied to both switches, in order
SCRIPT = [
    ("add-flow", "priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80,"
     "actions=output:2"),
    ("add-flows", "@FILE"),
    ("add-flow", "priority=90,hard_timeout=300,ip,nw_src=192.168.1.0/24,"
     "actions=LOCAL"),
    ("mod-flows", "tcp,actions=output:1"),
    # OpenFlow 1.3: a mod that selects nothing adds nothing
    ("mod-flows", "priority=9,sctp,actions=output:1"),
    ("mod-flows", "--strict", "priority=150,arp,arp_tpa=10.0.0.1,"
     "actions=FLOOD"),
    ("del-flows", "--strict", "priority=110,ipv6,ipv6_dst=2001:db8::1"),
    ("del-flows", "cookie=0x5/-1"),
    ("add-flow", "priority=80,udp,udp_src=1000,actions=output:2"),
    ("del-flows", "out_port=2,udp"),
    # tunnel fields: OXM tunnel_id, NXM tun_ipv4_src / _dst
    ("add-flow", "priority=60,tun_id=0x100/0xff00,tun_src=192.0.2.1,"
     "tun_dst=192.0.2.0/24,actions=set_field:192.0.2.2->tun_dst,"
     "set_field:42->tun_id,output:1"),
]


def apply_script(target, flows_file):
    for step in SCRIPT:
        args = [a if a != "@FILE" else flows_file for a in step[1:]]
        opts = [a for a in args if a.startswith("--")]
        rest = [a for a in args if not a.startswith("--")]
        rc, out, err = ofctl(step[0], *opts, target, *rest)
        check(rc == 0, "%s %s on %s: rc %d %s" %
              (step[0], " ".join(args), target, rc, err.strip()))


def hello(sock):
    sock.sendall(struct.pack("!BBHIHHI", 4, 0, 16, 1, 1, 8, 1 << 4))


def recv_msg(sock):
    h = b""
    while len(h) < 8:
        c = sock.recv(8 - len(h))
        if not c:
            return None
        h += c
    n = struct.unpack("!H", h[2:4])[0]
    body = b""
    while len(body) < n - 8:
        c = sock.recv(n - 8 - len(body))
        if not c:
            return None
        body += c
    return h + body


def test_ofctl(d, ovs, tmp):
    target = d.ptcp()
    check(target is not None, "set-controller ptcp:0: get-controller shows "
          "the port it listens on")
    rc, out, err = ofctl("show", target)
    check(rc == 0 and "OFPT_FEATURES_REPLY (OF1.3)" in out and
          "n_tables:1" in out, "ovs-ofctl show: %s" % (out + err)[:300])
    rc, out, err = ofctl("dump-ports-desc", target)
    check(rc == 0 and "1(vsw0)" in out and "2(vhu0)" in out,
          "dump-ports-desc lists the bridge's ports with their ofports: %s"
          % out[:300])
    rc, out, err = ofctl("dump-ports", target)
    check(rc == 0 and re.search(r"port +1: rx pkts=\d+", out) and
          re.search(r"port +2: rx pkts=\d+", out),
          "dump-ports: both ports with counters: %s" % (out + err)[:300])
    rc, out, err = ofctl("dump-ports", target, "2")
    check(rc == 0 and "port  2:" in out and "port  1:" not in out,
          "dump-ports PORT: that port only: %s" % (out + err)[:300])
    flows_file = os.path.join(tmp, "flows.txt")
    with open(flows_file, "w") as f:
        f.write(FLOWS_FILE)
    apply_script(target, flows_file)
    rc, vsw_dump, err = ofctl("dump-flows", target)
    check(rc == 0, "dump-flows: %s" % err)
    vsw_rules = norm(vsw_dump)
    # vswctl sees the same table
    rc, out, _ = d.ctl("dump-flows", "br0")
    check(rc == 0 and len(norm(out)) == len(vsw_rules),
          "vswctl dump-flows: as many rules as ovs-ofctl sees (%d, %d)" %
          (len(norm(out)), len(vsw_rules)))
    expect_after = [
        "cookie=0x0, table=0, priority=200,in_port=1,dl_vlan=10 "
        "actions=pop_vlan,output:2",
        "cookie=0x0, table=0, priority=150,arp,arp_tpa=10.0.0.1 "
        "actions=FLOOD",
        "cookie=0x0, table=0, priority=100,tcp,nw_dst=10.0.0.0/24,tp_dst=80 "
        "actions=output:1",
        "cookie=0x0, table=0, hard_timeout=300, priority=90,ip,"
        "nw_src=192.168.1.0/24 actions=LOCAL",
        "cookie=0x0, table=0, priority=60,tun_id=0x100/0xff00,"
        "tun_src=192.0.2.1,tun_dst=192.0.2.0/24 "
        "actions=set_field:192.0.2.2->tun_dst,set_field:0x2a->tun_id,"
        "output:1",
        "cookie=0x0, table=0, priority=0 actions=NORMAL",
        # mod_vlan_vid on a rule for untagged frames: push_vlan + set_field
        "cookie=0x6, table=0, priority=105,icmp,vlan_tci=0x0000/0x1fff,"
        "icmp_type=8 actions=set_field:192.0.2.1->ip_src,"
        "push_vlan:0x8100,set_field:4103->vlan_vid,output:2",
    ]
    if ovs is not None:
        apply_script(ovs.target, flows_file)
        rc, ovs_dump, err = ofctl("dump-flows", ovs.target)
        ovs_rules = norm(ovs_dump)
        check(rc == 0 and len(ovs_rules) == len(vsw_rules),
              "Open vSwitch holds as many rules (%d) as vsw (%d)" %
              (len(ovs_rules), len(vsw_rules)))
        for a, b in zip(vsw_rules, ovs_rules):
            fa = re.split(r"[, ]+", a)
            fb = re.split(r"[, ]+", b)
            check(fa == fb, "rule field by field: vsw %r, OVS %r" % (a, b))
    else:
        print("note: ovs-vswitchd not installed: compared with the rules "
              "as written")
    check(sorted(norm("\n".join(" " + r for r in expect_after))) ==
          vsw_rules, "vsw's rules are the ones written: %r" % vsw_rules)
    # vswctl's rules show in ovs-ofctl
    rc, _, err = d.ctl("add-flow", "br0", "priority=77,udp,tp_src=67,"
                       "actions=NORMAL")
    check(rc == 0, "vswctl add-flow: %s" % err)
    rc, out, _ = ofctl("dump-flows", target, "udp")
    check("priority=77,udp,tp_src=67 actions=NORMAL" in out,
          "a rule vswctl added shows in ovs-ofctl dump-flows: %s" % out)
    rc, out, _ = ofctl("dump-tables", target)
    check(rc == 0 and re.search(r"active=%d\b" % (len(vsw_rules) + 1), out),
          "dump-tables: active = the rules in the table: %s" % out[:200])
    rc, out, _ = ofctl("dump-aggregate", target)
    check(rc == 0 and "flow_count=%d" % (len(vsw_rules) + 1) in out,
          "dump-aggregate: %s" % out.strip())
    # refusals: an error the client prints, nothing changed
    rc, out, err = ofctl("add-flow", target, "table=1,actions=drop")
    check(rc != 0 and "OFPFMFC_BAD_TABLE_ID" in err,
          "table=1 refused with BAD_TABLE_ID: %s" % err.strip())
    rc, out, err = ofctl("add-flow", target, "actions=goto_table:1")
    check(rc != 0 and "OFPBIC_UNSUP_INST" in err,
          "goto_table refused: %s" % err.strip())
    rc, out, err = run("ovs-ofctl", "-O", "OpenFlow10", "show", target)
    check(rc != 0 and "version negotiation failed" in err,
          "an OpenFlow 1.0-only client gets HELLO_FAILED: %s" % err.strip())
    return target


def test_hostile(d, target):
    host, port = target[4:].rsplit(":", 1)
    # a length below 8: closed; the next client is served
    s = socket.create_connection((host, int(port)), timeout=5)
    recv_msg(s)
    hello(s)
    s.sendall(struct.pack("!BBHI", 4, 2, 4, 9))
    m = recv_msg(s)
    check(m is not None and m[1] == 1, "a length below 8: an ERROR")
    check(recv_msg(s) is None, "...then the connection is closed")
    s.close()
    # truncated in the middle of a message, then gone
    s = socket.create_connection((host, int(port)), timeout=5)
    hello(s)
    s.sendall(struct.pack("!BBHI", 4, 14, 200, 1) + b"\0" * 30)
    s.close()
    # garbage bodies: an error each, the connection goes on
    s = socket.create_connection((host, int(port)), timeout=5)
    recv_msg(s)
    hello(s)
    for t in (14, 18, 9, 77):
        s.sendall(struct.pack("!BBHI", 4, t, 12, 100 + t) + b"\xff" * 4)
        m = recv_msg(s)
        check(m is not None and m[1] == 1 and
              struct.unpack("!I", m[4:8])[0] == 100 + t,
              "type %d with a bad body: an ERROR with its xid" % t)
    s.sendall(struct.pack("!BBHI", 4, 2, 8, 5))
    m = recv_msg(s)
    check(m is not None and m[1] == 3, "...and ECHO still answered")
    s.close()
    rc, out, _ = ofctl("show", target)
    check(rc == 0, "ovs-ofctl still served after hostile peers")
    check(d.ctl("version")[0] == 0, "vswctl still served")


def test_active_and_unix(d, tmp):
    # tcp: vswd dials a controller, reconnects when it goes away
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    ls.settimeout(10)
    cport = ls.getsockname()[1]
    punix = os.path.join(tmp, "run", "br0.ofp")
    rc, _, err = d.ctl("set-controller", "br0", "tcp:127.0.0.1:%d" % cport,
                       "ptcp:0", "punix:" + punix)
    check(rc == 0, "set-controller tcp: ptcp: punix: %s" % err)
    # a peer that never says HELLO: dropped (checked at the end)
    silent_at = d.ptcp()[4:].rsplit(":", 1)
    silent = socket.create_connection((silent_at[0], int(silent_at[1])),
                                      timeout=5)
    t_silent = time.time()
    c, _ = ls.accept()
    c.settimeout(10)
    m = recv_msg(c)
    check(m is not None and m[0] == 4 and m[1] == 0,
          "vswd dialled the controller and sent HELLO 1.3")
    hello(c)
    c.sendall(struct.pack("!BBHI", 4, 2, 8, 77))
    m = recv_msg(c)
    check(m is not None and m[1] == 3 and m[4:8] == struct.pack("!I", 77),
          "ECHO_REPLY to the controller's ECHO_REQUEST")
    rc, out, _ = d.ctl("get-controller", "br0")
    check("tcp:127.0.0.1:%d connected" % cport in out,
          "get-controller: connected: %s" % out)
    c.close()
    t0 = time.time()
    c, _ = ls.accept()
    check(time.time() - t0 < 5, "reconnected after the controller closed "
          "(%.1f s)" % (time.time() - t0))
    c.close()
    rc, out, err = ofctl("show", "unix:" + punix)
    check(rc == 0 and "FEATURES_REPLY" in out,
          "punix: ovs-ofctl over the Unix socket: %s" % err)
    rc, _, err = d.ctl("set-controller", "br0", "punix:/etc/x.sock")
    check(rc == 1 and "outside" in err,
          "punix outside the socket folders refused: %s" % err.strip())
    rc, _, err = d.ctl("set-controller", "br0", "ptcp:99999")
    check(rc == 1 and "bad controller target" in err,
          "a bad target refused: %s" % err.strip())
    rc, out, _ = d.ctl("get-controller", "br0")
    check("punix:" + punix in out,
          "a refused set-controller changed nothing: %s" % out)
    ls.close()
    silent.settimeout(25)
    m = recv_msg(silent)  # our HELLO
    closed = recv_msg(silent) is None
    check(closed and time.time() - t_silent < 25,
          "a peer silent after connecting is dropped (%.1f s)" %
          (time.time() - t_silent))
    silent.close()


def test_restart(d, target):
    rc, before, _ = ofctl("dump-flows", target)
    rc, ctl_before, _ = d.ctl("get-controller", "br0")
    check(d.stop() == 0, "vswd stops cleanly")
    d.start()
    rc, ctl_after, _ = d.ctl("get-controller", "br0")
    strip = lambda s: sorted(re.sub(r" \(listening on [^)]*\)| \S+,.*| "
                                    r"(listening|connected|connecting|"
                                    r"waiting to reconnect)$", "", l)
                             for l in s.splitlines())
    check(strip(ctl_after) == strip(ctl_before),
          "controllers restored after a restart: %r" % ctl_after)
    t = d.ptcp()
    rc, after, _ = ofctl("dump-flows", t)
    check(rc == 0 and norm(after) == norm(before),
          "rules restored after a restart")
    rc, _, err = d.ctl("del-controller", "br0")
    check(rc == 0, "del-controller: %s" % err)
    rc, out, _ = d.ctl("get-controller", "br0")
    check(out.strip() == "", "get-controller after del: none")
    rc, _, err = ofctl("show", t)
    check(rc != 0, "the listener is gone after del-controller")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if os.geteuid() != 0 or shutil.which("ovs-ofctl") is None or \
            shutil.which("unshare") is None:
        print("skip: needs root, unshare and ovs-ofctl")
        return 77
    if os.environ.get("VSW_OFP_NETNS") != "1":
        os.environ["VSW_OFP_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--mount", sys.executable]
                  + sys.argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    vswd, vswctl = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="vsw-ofp-")
    ovs = None
    d = None
    try:
        d = Vswd(vswd, vswctl, tmp)
        rc, _, err = d.ctl("set-controller", "br0", "ptcp:0")
        check(rc == 0, "set-controller br0 ptcp:0: %s" % err)
        if shutil.which("ovs-vswitchd") and shutil.which("ovsdb-server"):
            os.mkdir(os.path.join(tmp, "ovs"))
            ovs = Ovs(os.path.join(tmp, "ovs"))
        target = test_ofctl(d, ovs, tmp)
        test_hostile(d, target)
        test_restart(d, target)
        test_active_and_unix(d, tmp)
    finally:
        if ovs is not None:
            ovs.stop()
        if d is not None and d.p.poll() is None:
            d.stop()
        if FAILS:
            print("vswd log: %s" % os.path.join(tmp, "vswd.log"))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
