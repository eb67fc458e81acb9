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
import calendar
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from ofptest import FAILS, Ovs, Vswd, check, ofctl, run


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
    # NXM tun_ipv6_src / _dst, masked, and set_field of tun_ipv6_dst
    ("add-flow", "priority=61,tun_ipv6_dst=2001:db8::1,"
     "tun_ipv6_src=2001:db8::/64,"
     "actions=set_field:2001:db8::2->tun_ipv6_dst,output:1"),
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
          "n_tables:255" in out, "ovs-ofctl show: %s" % (out + err)[:300])
    rc, out, err = ofctl("dump-ports-desc", target)
    check(rc == 0 and "1(vsw0)" in out and "2(vhu0)" in out,
          "dump-ports-desc lists the bridge's ports with their ofports: %s"
          % out[:300])
    # hw_addr: the tap's kernel MAC (as Open vSwitch shows a tap or
    # internal port's); a vhost-user port has no interface: zero
    # (ip, not /sys: sysfs shows the namespace it was mounted in)
    rc, link, _ = run("ip", "-o", "link", "show", "vsw0")
    m = re.search(r"link/ether ([0-9a-f:]{17})", link)
    mac = m.group(1) if m else "(vsw0: %s)" % link.strip()
    check("1(vsw0): addr:%s" % mac in out and
          "2(vhu0): addr:00:00:00:00:00:00" in out,
          "dump-ports-desc: vsw0 with its interface's MAC %s, vhu0 with "
          "none: %s" % (mac, out[:300]))
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
        "cookie=0x0, table=0, priority=61,tun_ipv6_src=2001:db8::/64,"
        "tun_ipv6_dst=2001:db8::1 "
        "actions=set_field:2001:db8::2->tun_ipv6_dst,output:1",
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
    # NXM tun_metadataN (vsw only: Open vSwitch needs add-tlv-map first):
    # ovs-ofctl sends the fewest bytes, vsw sends them back the same way
    rule = ("priority=62,tun_metadata2=0x1234,"
            "tun_metadata7=0x1122334455667788/0xffff0000ffff0000 "
            "actions=set_field:0xab->tun_metadata1,output:1")
    rc, _, err = ofctl("add-flow", target, rule.replace(" ", ","))
    check(rc == 0, "add-flow with tun_metadata2 / 7: %s" % err.strip())
    # the filter is a match on the extension too (non-strict)
    rc, out, err = ofctl("dump-flows", target, "tun_metadata2=0x1234")
    check(rc == 0 and len(norm(out)) == 1 and "priority=62,tun_metadata2=0x1234,tun_metadata7="
          "0x1122000055660000/0xffff0000ffff0000 actions=set_field:0xab->"
          "tun_metadata1,output:1" in out,
          "ovs-ofctl dump-flows prints them back: rc %d %s %s" %
          (rc, out.strip(), err.strip()))
    rc, out, _ = d.ctl("dump-flows", "br0")
    check("tun_metadata7=0x1122000055660000/0xffff0000ffff0000" in out,
          "vswctl dump-flows shows the same rule: %s" % out.strip())
    # a rule differing in tun_metadata7 only: a strict delete spares it
    rc, _, err = ofctl("add-flow", target, "priority=62,tun_metadata2=0x1234,"
                       "actions=drop")
    check(rc == 0, "add-flow without tun_metadata7: %s" % err.strip())
    rc, _, err = ofctl("del-flows", target, "--strict", "priority=62,"
                       "tun_metadata2=0x1234,tun_metadata7=0x1122000055660000"
                       "/0xffff0000ffff0000")
    rc2, out, _ = ofctl("dump-flows", target, "tun_metadata2=0x1234")
    check(rc == 0 and rc2 == 0 and "tun_metadata7" not in out and
          len(norm(out)) == 1,
          "del-flows --strict removes that rule only: %s %s" %
          (err.strip(), out))
    rc, _, err = ofctl("del-flows", target, "--strict", "priority=62,"
                       "tun_metadata2=0x1234")
    rc2, out, _ = ofctl("dump-flows", target, "tun_metadata2=0x1234")
    check(rc == 0 and rc2 == 0 and "tun_metadata" not in out,
          "...and the other one by its own match: %s %s" %
          (err.strip(), out))
    rc, _, err = ofctl("add-flow", target, "tun_metadata3=0x112233445566778899,"
                       "actions=drop")
    check(rc != 0 and "OFPBMC_BAD_VALUE" in err,
          "a 9-byte tun_metadata value refused: %s" % err.strip())
    # refusals: an error the client prints, nothing changed
    rc, out, err = ofctl("add-flow", target,
                         "table=4,actions=goto_table:2")
    check(rc != 0 and "OFPBIC_BAD_TABLE_ID" in err,
          "goto_table to an earlier table refused: %s" % err.strip())
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


def send_msg(sock, t, body=b"", xid=1):
    sock.sendall(struct.pack("!BBHI", 4, t, 8 + len(body), xid) + body)


def recv_until(sock, want, timeout):
    """Messages until one for which @want(msg) is true: (it, the ones
    before it); (None, those) when the connection closes or time is up."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        sock.settimeout(max(0.1, deadline - time.time()))
        try:
            m = recv_msg(sock)
        except socket.timeout:
            break
        if m is None:
            break
        if want(m):
            return m, seen
        seen.append(m)
    return None, seen


def recv_type(sock, t, timeout):
    """The next message of type @t (others skipped), or None."""
    return recv_until(sock, lambda m: m[1] == t, timeout)[0]


def of_client(target):
    """A bare OpenFlow 1.3 connection to @target (tcp:IP:PORT or
    unix:PATH), past HELLO."""
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(target[5:])
    else:
        host, port = target[4:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
    recv_msg(s)
    hello(s)
    # a barrier round trip: the switch has our HELLO
    send_msg(s, 20, xid=2)
    recv_type(s, 21, 10)
    return s


def role(sock, r, gen, xid):
    """ROLE_REQUEST; ("reply", role) or ("error", type, code)."""
    send_msg(sock, 24, struct.pack("!I4xQ", r, gen), xid)
    deadline = time.time() + 10
    while time.time() < deadline:
        m = recv_msg(sock)
        if m is None:
            return None
        if m[1] == 25:
            return ("reply",) + struct.unpack("!I4xQ", m[8:24])
        if m[1] == 1:
            return ("error",) + struct.unpack("!HH", m[8:12])
    return None


# several tables: applied to vsw and Open vSwitch alike
TABLES_SCRIPT = [
    ("del-flows",),
    ("add-flow", "table=0,priority=500,udp,tp_dst=9999,actions=goto_table:3"),
    ("add-flow", "table=0,priority=0,actions=NORMAL"),
    ("add-flow", "table=3,priority=10,udp,actions=goto_table:7"),
    ("add-flow", "table=3,priority=20,udp,tp_src=7777,actions=drop"),
    ("add-flow", "table=3,send_flow_rem,priority=30,udp,tp_src=5,"
     "actions=drop"),
    ("add-flow", "table=7,priority=1,udp,actions=drop"),
    ("add-flow", "table=9,priority=1,tcp,actions=drop"),
    ("mod-flows", "table=9,tcp,actions=output:2"),
    ("del-flows", "table=9"),
]


def apply_tables(target):
    for step in TABLES_SCRIPT:
        rc, out, err = ofctl(step[0], target, *step[1:])
        check(rc == 0, "%s %s on %s: %s" % (step[0], " ".join(step[1:]),
                                           target, err.strip()))


def table_active(dump):
    """dump-tables output -> {table: active} for tables with rules."""
    res = {}
    for m in re.finditer(r"table (\d+):?[^\n]*\n?\s*active=(\d+)", dump):
        if int(m.group(2)) > 0:
            res[int(m.group(1))] = int(m.group(2))
    return res


def udp_frames(ifname, sport, count):
    """@count UDP frames to port 9999 from @sport, sent out of @ifname
    (the kernel side of vsw0: they enter br0 at ofport 1)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src = bytes.fromhex("020000000077")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    udp = struct.pack("!HHHH", sport, 9999, 8, 0)
    frame = b"\xff" * 6 + src + b"\x08\x00" + ip + udp
    for _ in range(count):
        s.send(frame + b"\0" * (60 - len(frame)))
    s.close()


def n_packets(dump, what):
    for line in dump.splitlines():
        if what in line:
            m = re.search(r"n_packets=(\d+)", line)
            return int(m.group(1)) if m else None
    return None


def test_tables(d, ovs, target):
    apply_tables(target)
    rc, vsw_dump, err = ofctl("dump-flows", target)
    vsw_rules = norm(vsw_dump)
    expect = [
        "cookie=0x0, table=0, priority=500,udp,tp_dst=9999 "
        "actions=goto_table:3",
        "cookie=0x0, table=0, priority=0 actions=NORMAL",
        "cookie=0x0, table=3, priority=10,udp actions=goto_table:7",
        "cookie=0x0, table=3, priority=20,udp,tp_src=7777 actions=drop",
        "cookie=0x0, table=3, send_flow_rem priority=30,udp,tp_src=5 "
        "actions=drop",
        "cookie=0x0, table=7, priority=1,udp actions=drop",
    ]
    check(vsw_rules == sorted(expect),
          "rules in tables 0, 3, 7 as written: %r" % vsw_rules)
    rc, vsw_tables, _ = ofctl("dump-tables", target)
    check(table_active(vsw_tables) == {0: 2, 3: 3, 7: 1},
          "dump-tables: active per table: %r" % table_active(vsw_tables))
    rc, out, err = ofctl("dump-table-features", target)
    check(rc == 0 and re.search(r"table 254\b", out) and
          "goto_table" in out,
          "dump-table-features: tables 0..254 with goto_table: %s" %
          (out[-300:] + err))
    rc, out, _ = d.ctl("dump-flows", "br0")
    check(len(norm(out)) == len(vsw_rules) and "table=3," in out,
          "vswctl dump-flows shows the tables too")
    rc, out, _ = d.ctl("dump-flows", "br0", "table=3")
    check(len(norm(out)) == 3, "vswctl dump-flows table=3: %d rules" %
          len(norm(out)))
    if ovs is not None:
        apply_tables(ovs.target)
        rc, ovs_dump, _ = ofctl("dump-flows", ovs.target)
        ovs_rules = norm(ovs_dump)
        check(ovs_rules == vsw_rules,
              "tables: Open vSwitch holds the same rules: %r vs %r" %
              (ovs_rules, vsw_rules))
        rc, ovs_tables, _ = ofctl("dump-tables", ovs.target)
        check(table_active(ovs_tables) == table_active(vsw_tables),
              "dump-tables: the same active counts as Open vSwitch: %r" %
              table_active(ovs_tables))
    # packets through the pipeline: table 0 -> 3 -> 7, or 0 -> 3 (drop)
    subprocess.run(["ip", "link", "set", "vsw0", "up"], check=False)
    udp_frames("vsw0", 1234, 3)
    udp_frames("vsw0", 7777, 2)
    deadline = time.time() + 20
    while time.time() < deadline:
        rc, dump, _ = ofctl("dump-flows", target)
        if n_packets(dump, "table=7,") == 3:
            break
        time.sleep(0.2)
    check(n_packets(dump, "priority=500") == 5 and
          n_packets(dump, "priority=10,udp ") == 3 and
          n_packets(dump, "priority=20,udp") == 2 and
          n_packets(dump, "table=7,") == 3,
          "the pipeline counted each frame on the rules it went "
          "through: %s" % norm(re.sub(r"duration=[0-9.]+s, ", "", dump)))
    # check_overlap: the same error as Open vSwitch gives
    ovl = "table=3,check_overlap,priority=20,udp,actions=drop"
    rc, _, err = ofctl("add-flow", target, ovl)
    check(rc != 0 and "OFPFMFC_OVERLAP" in err,
          "check_overlap: OFPFMFC_OVERLAP: %s" % err.strip())
    if ovs is not None:
        rc, _, oerr = ofctl("add-flow", ovs.target, ovl)
        check(rc != 0 and "OFPFMFC_OVERLAP" in oerr,
              "...as Open vSwitch: %s" % oerr.strip())
    rc, _, err = ofctl("add-flow", target, "table=3,check_overlap,"
                       "priority=21,udp,actions=drop")
    check(rc == 0, "check_overlap at another priority: added: %s" % err)
    # FLOW_REMOVED: hard timeout and delete, to a controller listening
    c = of_client(target)
    rc, _, err = ofctl("add-flow", target, "table=2,send_flow_rem,"
                       "hard_timeout=1,priority=5,cookie=0x42,udp,"
                       "actions=drop")
    check(rc == 0, "add-flow send_flow_rem,hard_timeout=1: %s" % err)
    t0 = time.time()
    m = recv_type(c, 11, 15)
    check(m is not None, "FLOW_REMOVED for the hard timeout (%.1f s)" %
          (time.time() - t0))
    if m is not None:
        cookie, prio, reason, table = struct.unpack("!QHBB", m[8:20])
        dur = struct.unpack("!I", m[20:24])[0]
        check((cookie, prio, reason, table) == (0x42, 5, 1, 2) and
              dur >= 1, "FLOW_REMOVED: cookie 0x%x, priority %d, reason %d "
              "(hard), table %d, %d s" % (cookie, prio, reason, table, dur))
    rc, _, err = ofctl("del-flows", target, "table=3,udp,tp_src=5")
    m = recv_type(c, 11, 10)
    check(m is not None and m[18] == 2 and m[19] == 3,
          "FLOW_REMOVED with reason delete for del-flows")
    rc, dump, _ = ofctl("dump-flows", target, "table=2")
    check(norm(dump) == [], "the expired rule is gone: %r" % norm(dump))
    c.close()
    # ovs-ofctl monitor sees FLOW_REMOVED too
    # (its unixctl socket in our folder, not /var/run/openvswitch)
    mon = subprocess.Popen(["ovs-ofctl", "-O", "OpenFlow13", "monitor",
                            target], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           env=dict(os.environ, OVS_RUNDIR=d.tmp))
    time.sleep(1)
    ofctl("add-flow", target, "table=4,send_flow_rem,priority=9,ip,"
          "actions=drop")
    ofctl("del-flows", target, "table=4")
    time.sleep(1)
    mon.terminate()
    out = mon.communicate(timeout=10)[0]
    check("OFPT_FLOW_REMOVED" in out and "reason=delete" in out and
          "table_id=4" in out,
          "ovs-ofctl monitor prints the FLOW_REMOVED: %s" %
          out.strip()[-300:])


# PORT_STATUS as ovs-ofctl monitor prints it: reason, port, state
PS_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+): "
                   r"OFPT_PORT_STATUS \(OF1\.3\) \(xid=0x0\): (ADD|MOD|DEL): "
                   r"(\d+)\((\S+)\): addr:\S+\n\s+config:\s+(\S+)\n"
                   r"\s+state:\s+([A-Z_ ]+|0)\n", re.M)


def port_status_script(name, tgt, add, dele, tmp):
    """ovs-ofctl monitor on @tgt while port @name is added (@add), its
    interface set up, down, up again, and deleted (@dele). The
    PORT_STATUS messages of each step, as (reason, port, name, config,
    state)."""
    mon = subprocess.Popen(["ovs-ofctl", "-O", "OpenFlow13", "--timestamp",
                            "monitor", tgt, "65534"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=dict(os.environ, OVS_RUNDIR=tmp))
    # connected: the monitor's HELLO exchange done before the first step
    time.sleep(1.5)
    steps = [("add", add),
             ("up", lambda: run("ip", "link", "set", name, "up")),
             ("down", lambda: run("ip", "link", "set", name, "down")),
             ("up again", lambda: run("ip", "link", "set", name, "up")),
             ("del", dele)]
    marks = []
    for what, fn in steps:
        marks.append(time.time())
        rc, out, err = fn()
        check(rc == 0, "%s: %s %s: %s" % (tgt, what, name, err.strip()))
        # the switch looks at link states once a second: 2.5 s is ample
        time.sleep(2.5)
    mon.terminate()
    out = mon.communicate(timeout=10)[0]
    res = [[] for _ in steps]
    for m in PS_RE.finditer(out):
        # ovs-ofctl --timestamp: UTC, milliseconds
        t = calendar.timegm(time.strptime(m.group(1)[:19],
                                          "%Y-%m-%d %H:%M:%S"))
        t += float("0" + m.group(1)[19:])
        i = max([k for k, at in enumerate(marks) if at <= t + 0.001] or [0])
        res[i].append((m.group(2), int(m.group(3)), m.group(4),
                       m.group(5), m.group(6).strip()))
    return res, out


def known_states(steps):
    """What a controller knows of the port after each step: its state
    (the last PORT_STATUS so far), "gone" after a DEL, None before any."""
    res, cur = [], None
    for msgs in steps:
        for m in msgs:
            cur = "gone" if m[0] == "DEL" else m[4]
        res.append(cur)
    return res


def test_port_status(d, ovs, target, tmp):
    vsw, vout = port_status_script(
        "vps1", target,
        lambda: d.ctl("add-port", "br0", "vps1", "type=internal"),
        lambda: d.ctl("del-port", "br0", "vps1"), tmp)
    # internal ports come up when added: the "up" step changes nothing
    want = [[("ADD", "LIVE")], [], [("MOD", "LINK_DOWN")], [("MOD", "LIVE")],
            [("DEL", "LIVE")]]
    got = [[(m[0], m[4]) for m in step] for step in vsw]
    check(got == want, "ovs-ofctl monitor: PORT_STATUS ADD, MOD (link "
          "down), MOD (link up), DEL for add-port, ip link down / up, "
          "del-port: %r\n%s" % (got, vout[-1500:]))
    ports = set(m[1] for step in vsw for m in step)
    names = set(m[2] for step in vsw for m in step)
    check(names == {"vps1"} and len(ports) == 1,
          "PORT_STATUS: one port, its name and number: %r %r" %
          (names, ports))
    rc, out, _ = ofctl("dump-ports-desc", target)
    check(not re.search(r"\(vps1\)", out),
          "dump-ports-desc no longer lists the deleted port")
    if ovs is None:
        print("note: ovs-vswitchd not installed: PORT_STATUS compared with "
              "what OpenFlow 1.3 says")
        return
    sock = "unix:" + os.path.join(ovs.tmp, "db.sock")

    def vsctl(*a):
        return run("ovs-vsctl", "--db=" + sock, "--timeout=20", *a,
                   timeout=30)
    theirs, oout = port_status_script(
        "ops1", ovs.target,
        lambda: vsctl("add-port", "br0", "ops1", "--", "set", "interface",
                      "ops1", "type=internal"),
        lambda: vsctl("del-port", "br0", "ops1"), ovs.tmp)
    # Open vSwitch's internal port starts administratively down (ADD with
    # LINK_DOWN, then a MOD at "up"); vsw's comes up when added. From the
    # "up" step on, what a controller knows after each step must be the
    # same; the port's name and number aside (two interfaces in one
    # namespace), its config too (OVS says PORT_DOWN for an interface set
    # down, vsw knows only that the link is down).
    a, b = known_states(vsw), known_states(theirs)
    check(theirs[0] and theirs[0][0][0] == "ADD" and a[1:] == b[1:],
          "PORT_STATUS: Open vSwitch adds the port too and then tells the "
          "same states step by step: vsw %r, OVS %r\n%s" %
          (a, b, oout[-1500:]))


def until_barrier(sock, xid):
    """Send a BARRIER_REQUEST; the messages before its reply (None: the
    connection went away or no reply in time)."""
    send_msg(sock, 20, xid=xid)
    m, seen = recv_until(sock, lambda m: m[1] == 21 and
                         struct.unpack("!I", m[4:8])[0] == xid, 10)
    return seen if m is not None else None


def port_desc(sock, xid):
    """PORT_DESC multipart: {port_no: 64-byte ofp_port}."""
    send_msg(sock, 18, struct.pack("!HH4x", 13, 0), xid)
    m = recv_type(sock, 19, 10)
    res = {}
    for off in range(16, len(m) if m else 0, 64):
        res[struct.unpack("!I", m[off:off + 4])[0]] = m[off:off + 64]
    return res


def test_port_status_async(d, target):
    """PORT_STATUS to raw connections: the default (equal), a slave (gets
    it by OpenFlow 1.3's defaults) and one whose SET_ASYNC masks
    port-status off."""
    eq, sl, masked = of_client(target), of_client(target), of_client(target)
    r = role(sl, 3, 100, 30)
    check(r is not None and r[:2] == ("reply", 3), "a slave: %r" % (r,))
    # packet-in, port-status, flow-removed masks for (master/equal, slave)
    send_msg(masked, 28, struct.pack("!6I", 3, 0, 0, 0, 15, 0), 31)
    send_msg(masked, 26, xid=32)
    m = recv_type(masked, 27, 10)
    check(m is not None and struct.unpack("!6I", m[8:32]) ==
          (3, 0, 0, 0, 15, 0), "GET_ASYNC reads back SET_ASYNC's masks")
    rc, _, err = d.ctl("add-port", "br0", "dps1", "type=dummy")
    check(rc == 0, "add-port dps1 type=dummy: %s" % err)
    got = {}
    for name, sock in (("equal", eq), ("slave", sl)):
        m = recv_type(sock, 12, 10)
        got[name] = m
        check(m is not None and m[8] == 0 and
              m[32:48].rstrip(b"\0") == b"dps1",
              "the %s connection gets PORT_STATUS ADD for dps1" % name)
    seen = until_barrier(masked, 33)
    check(seen is not None and not [x for x in seen if x[1] == 12],
          "SET_ASYNC with port-status masked off: no PORT_STATUS (%r)" %
          ([x[1] for x in seen] if seen else seen))
    desc = port_desc(eq, 34)
    m = got["equal"]
    no = struct.unpack("!I", m[16:20])[0] if m else None
    check(m is not None and desc.get(no) == m[16:80],
          "the PORT_STATUS ofp_port is byte for byte PORT_DESC's")
    # a link change through set-port, then the delete
    rc, _, err = d.ctl("set-port", "dps1", "link=down")
    check(rc == 0, "set-port dps1 link=down: %s" % err)
    m = recv_type(eq, 12, 10)
    check(m is not None and m[8] == 2 and
          struct.unpack("!I", m[52:56])[0] == 1,
          "PORT_STATUS MODIFY with state LINK_DOWN for set-port link=down")
    rc, _, err = d.ctl("del-port", "br0", "dps1")
    check(rc == 0, "del-port dps1: %s" % err)
    m = recv_type(eq, 12, 10)
    check(m is not None and m[8] == 1 and
          struct.unpack("!I", m[16:20])[0] == no,
          "PORT_STATUS DELETE for del-port")
    # unmasked again: the next change arrives
    send_msg(masked, 28, struct.pack("!6I", 3, 0, 7, 7, 15, 0), 35)
    rc, _, err = d.ctl("add-port", "br0", "dps2", "type=dummy")
    m = recv_type(masked, 12, 10)
    check(m is not None and m[8] == 0,
          "after SET_ASYNC unmasks port-status: PORT_STATUS ADD")
    d.ctl("del-port", "br0", "dps2")
    # the MAC of vsw0's interface changed in the host: MODIFY with it
    rc, _, err = run("ip", "link", "set", "vsw0", "address",
                     "02:00:00:00:5e:01")
    check(rc == 0, "ip link set vsw0 address: %s" % err)
    m, _ = recv_until(eq, lambda m: m[1] == 12 and
                      m[32:48].rstrip(b"\0") == b"vsw0", 10)
    check(m is not None and m[8] == 2 and
          m[24:30] == bytes.fromhex("020000005e01"),
          "PORT_STATUS MODIFY for vsw0 with its new hw_addr (%s)"
          % (m[24:30].hex(":") if m else None))
    for sock in (eq, sl, masked):
        sock.close()


def role_script(target):
    """Roles with two connections; the answers, to compare."""
    a, b = of_client(target), of_client(target)
    res = [role(a, 2, 1, 10),   # a: master, generation 1
           role(b, 2, 2, 11),   # b: master, 2: a becomes a slave
           role(a, 0, 0, 12),   # a asks: slave now
           role(b, 3, 1, 13)]   # b: slave with generation 1: stale
    # a slave's flow mod: BAD_REQUEST / IS_SLAVE
    fm = struct.pack("!QQBBHHHIIIH2x", 0, 0, 0, 0, 0, 0, 1, 0xffffffff,
                     0xffffffff, 0xffffffff, 0) + struct.pack("!HH4x", 1, 4)
    send_msg(a, 14, fm, 14)
    m = recv_type(a, 1, 10)
    res.append(struct.unpack("!HH", m[8:12]) if m else None)
    res.append(role(a, 1, 0, 15))  # back to equal
    a.close()
    b.close()
    return res


def test_roles(d, ovs, target):
    got = role_script(target)
    # (role, generation id) replies: the bridge's generation id
    want = [("reply", 2, 1), ("reply", 2, 2), ("reply", 3, 2),
            ("error", 11, 0), (1, 10), ("reply", 1, 2)]
    check(got == want, "roles with two connections: %r" % got)
    if ovs is not None:
        theirs = role_script(ovs.target)
        check(theirs == got, "...the same answers as Open vSwitch: %r" %
              theirs)


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
        test_tables(d, ovs, target)
        test_roles(d, ovs, target)
        test_port_status(d, ovs, target, tmp)
        test_port_status_async(d, target)
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
