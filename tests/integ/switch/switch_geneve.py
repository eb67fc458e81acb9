#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_geneve.py BUILDDIR WORKDIR

A geneve port of vswd against scapy's Geneve layer (this kernel has no
geneve module), no guest:

  namespace A   10.0.50.1/24 on the tap interface of port p-tap
  (vswd's own)  bridge br0: p-tap + gn0 (type=geneve remote_ip=10.99.0.2
                key=99), underlay end VU 10.99.0.1/24
  namespace B   underlay end VB 10.99.0.2/24; a Python UDP socket on port
                6081 that parses what vswd sends with scapy's GENEVE and
                answers ARP and ICMP echo for 10.0.50.2, every answer
                carrying a (non-critical) TLV option

Checks: A pings 10.0.50.2 (56 and 1300 bytes); every datagram vswd sent
parses as Geneve version 0, protocol 0x6558, VNI 99, no options, with its
UDP source port in 49152..65535.  Then scapy-built bad datagrams (a
critical option, the C bit, a malformed option length, the O bit, version
1, protocol IPv4, VNI 100) are dropped and counted by reason in `show`
while pings keep working.  Last, gn0 is re-added with
tlv_map={class=0x0102,type=0x02,len=4}->tun_metadata0,{class=0x0102,
type=0x03,len=8}->tun_metadata5 and rules that set tun_metadata0=0xabcd
and the 8-byte tun_metadata5=0x0102030405060708 on the way out and match
tun_metadata0=0x1234 with tun_metadata5=0x1122334455667788 (what the peer
sends) on the way in: pings pass, the receive rule counts them, a rule
wanting another 8-byte value counts nothing, scapy sees both options vswd
added.

Needs root and /usr/bin/python3 with scapy (Debian's python3-scapy);
exit 77 otherwise.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_host_ports as shp  # noqa: E402
import switch_vxlan as sv  # noqa: E402
from vswinteg import check, run  # noqa: E402
import vswinteg as vi  # noqa: E402

SCAPY_PY = "/usr/bin/python3"
VNI = 99

# Runs in namespace B under /usr/bin/python3: the Geneve peer.
NS_PEER = """\
import signal, socket, sys
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.layers.l2 import ARP, Ether
from scapy.layers.inet import ICMP, IP
from scapy.packet import Raw, raw
lip, dport, vni = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ME, MAC = "10.0.50.2", "02:00:00:00:50:02"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((lip, dport))
s.settimeout(0.2)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
opt = GeneveOptions(classid=0x0102, type=0x01, data=b"vsw!TLV.")
# what the tlv_map phase maps to tun_metadata0 (both ways)
meta = GeneveOptions(classid=0x0102, type=0x02, data=b"\\x00\\x00\\x12\\x34")
# ... and to tun_metadata5: an 8-byte option
meta8 = GeneveOptions(classid=0x0102, type=0x03,
                      data=bytes.fromhex("1122334455667788"))
OUT4 = (0x0102, 0x02, b"\\x00\\x00\\xab\\xcd")
OUT8 = (0x0102, 0x03, bytes.fromhex("0102030405060708"))
got = bad = answered = withmeta = withlong = 0
sports = set()
print("READY", flush=True)
while not stop:
    try:
        d, src = s.recvfrom(65536)
    except socket.timeout:
        continue
    g = GENEVE(d)
    # the options walked by hand: this scapy's GENEVE parses only the
    # first one (its own two-option datagrams too)
    opts, ob = [], d[8:8 + 4 * g.optionlen]
    while len(ob) >= 4:
        ln = 4 * (ob[3] & 0x1f)
        opts.append((ob[0] << 8 | ob[1], ob[2], ob[4:4 + ln]))
        ob = ob[4 + ln:]
    if (g.version != 0 or g.proto != 0x6558 or g.vni != vni
            or opts not in ([], [OUT4], [OUT4, OUT8])
            or g.oam or g.critical):
        bad += 1
        continue
    withmeta += OUT4 in opts
    withlong += OUT8 in opts
    got += 1
    d = d[:8] + d[8 + 4 * g.optionlen:]
    sports.add(src[1])
    e = Ether(d[8:])
    if ARP in e and e[ARP].op == 1 and e[ARP].pdst == ME:
        r = (Ether(dst=e.src, src=MAC) /
             ARP(op=2, hwsrc=MAC, psrc=ME, hwdst=e[ARP].hwsrc,
                 pdst=e[ARP].psrc))
    elif IP in e and ICMP in e and e[IP].dst == ME and e[ICMP].type == 8:
        r = (Ether(dst=e.src, src=MAC) / IP(src=ME, dst=e[IP].src) /
             ICMP(type=0, id=e[ICMP].id, seq=e[ICMP].seq) /
             Raw(raw(e[ICMP].payload)))
    else:
        continue
    s.sendto(raw(GENEVE(vni=vni, proto=0x6558, options=[opt, meta, meta8]) /
                 r),
             (src[0], dport))
    answered += 1
print("PEER got=%d bad=%d answered=%d withmeta=%d withlong=%d sports=%s" % (
    got, bad, answered, withmeta, withlong,
    ",".join(str(p) for p in sorted(sports))), flush=True)
"""

# Runs in namespace B under /usr/bin/python3: bad datagrams, 2 of each.
NS_BAD = """\
import socket, sys
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.layers.l2 import Ether
from scapy.packet import raw
dst, dport, vni = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
inner = raw(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:88:01",
                  type=0x88b5) / (b"x" * 46))
crit = GeneveOptions(classid=0x0102, type=0x81, data=b"crit")
ok = GeneveOptions(classid=0x0102, type=0x01, data=b"fine")
bad = [
    raw(GENEVE(vni=vni, proto=0x6558, options=[ok, crit])) + inner,
    raw(GENEVE(vni=vni, proto=0x6558, critical=1, options=[ok])) + inner,
    # an option claiming 8 data bytes in a 4-byte options field
    raw(GENEVE(vni=vni, proto=0x6558, optionlen=1)) + b"\\x01\\x02\\x01\\x02"
    + inner,
    raw(GENEVE(vni=vni, proto=0x6558, oam=1)) + inner,
    raw(GENEVE(version=1, vni=vni, proto=0x6558)) + inner,
    raw(GENEVE(vni=vni, proto=0x0800)) + inner,
    raw(GENEVE(vni=vni + 1, proto=0x6558)) + inner,
]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in bad:
    for _ in range(2):
        s.sendto(d, (dst, dport))
print("SENT", flush=True)
"""


TLV_MAP = ("tlv_map={class=0x0102,type=0x02,len=4}->tun_metadata0,"
           "{class=0x0102,type=0x03,len=8}->tun_metadata5")


def tlv_phase(vs, ns_a, remote):
    """gn0 again with a tlv_map: rules match and set tun_metadata0."""
    vs.ctl("del-port", sv.BR, "gn0")
    vs.ctl("add-port", sv.BR, "gn0", "type=geneve", "remote_ip=" + remote,
           "key=%d" % VNI, TLV_MAP)
    vs.wait_links(["p-tap", "gn0"])
    vs.ctl("del-flows", sv.BR)
    vs.ctl("add-flow", sv.BR, "priority=10,in_port=p-tap,"
           "actions=set_field:0xabcd->tun_metadata0,"
           "set_field:0x0102030405060708->tun_metadata5,output:gn0")
    vs.ctl("add-flow", sv.BR, "priority=10,in_port=gn0,"
           "tun_metadata0=0x1234,tun_metadata5=0x1122334455667788,"
           "actions=output:p-tap")
    # the same 4-byte option, another 8-byte value: must not match
    vs.ctl("add-flow", sv.BR, "priority=20,in_port=gn0,"
           "tun_metadata0=0x1234,tun_metadata5=0x1122334455667789,"
           "actions=drop")
    vs.ctl("add-flow", sv.BR, "priority=5,in_port=gn0,actions=drop")
    shp.ns_ping_ok(ns_a, sv.B_IP, 56)
    dumped = vs.ctl("dump-flows", sv.BR).stdout.splitlines()

    def n_of(want):
        lines = [ln for ln in dumped if want in ln]
        return (int(lines[0].split("n_packets=")[1].split(",")[0])
                if lines else -1), lines

    n, lines = n_of("tun_metadata5=0x1122334455667788")
    check(n >= 5, "rule tun_metadata0=0x1234,tun_metadata5="
          "0x1122334455667788 took the answers: %s" % lines)
    n, lines = n_of("tun_metadata5=0x1122334455667789")
    check(n == 0, "rule on another 8-byte value matched nothing: %s" % lines)
    check(any(TLV_MAP.split("=", 1)[1] in str(p.get("options", ""))
              for b in vs.show()["bridges"] for p in b["ports"]),
          "show lists gn0's tlv_map option")


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    ns_a, ns_b = "vsw-gn-%d-a" % pid, "vsw-gn-%d-b" % pid
    tap = "gnt%d" % (pid % 10**7)
    vu, vb = "gnu%d" % (pid % 10**7), "gnb%d" % (pid % 10**7)
    local, remote = sv.U4

    vs = vi.Vswd(builddir, workdir, cleanup)
    dumps.append(vs)
    vs.start()
    sv.netns_add(cleanup, (ns_a, ns_b))
    run(["ip", "link", "set", "lo", "up"])
    vs.ctl("add-port", sv.BR, "p-tap", "type=tap", "ifname=" + tap)
    cleanup.push("port p-tap", lambda: vs.ctl("del-port", sv.BR, "p-tap",
                                              check_rc=False))
    run(["ip", "link", "set", tap, "netns", ns_a])
    sv.ns(ns_a, "ip", "addr", "add", sv.A_IP + "/24", "dev", tap)
    sv.ns(ns_a, "ip", "link", "set", tap, "mtu", "1400", "up")
    run(["ip", "link", "add", vu, "type", "veth", "peer", "name", vb])
    run(["ip", "link", "set", vb, "netns", ns_b])
    run(["ip", "addr", "add", local + "/24", "dev", vu])
    run(["ip", "link", "set", vu, "up"])
    sv.ns(ns_b, "ip", "addr", "add", remote + "/24", "dev", vb)
    sv.ns(ns_b, "ip", "link", "set", vb, "up")

    # tlv_map beyond vsw's limits: refused, saying the limit
    for bad in ("{class=1,type=2,len=12}->tun_metadata0",
                "{class=1,type=2,len=4}->tun_metadata8"):
        r = vs.ctl("add-port", sv.BR, "gnbad", "type=geneve",
                   "remote_ip=" + remote, "tlv_map=" + bad, check_rc=False)
        check(r.returncode != 0 and "L 4 or 8, N 0 .. 7" in r.stderr,
              "tlv_map=%s refused: %s" % (bad, r.stderr.strip()))
    vs.ctl("add-port", sv.BR, "gn0", "type=geneve", "remote_ip=" + remote,
           "key=%d" % VNI)
    vs.wait_links(["p-tap", "gn0"])
    peer = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, SCAPY_PY, "-c", NS_PEER, remote,
         "6081", str(VNI)], stdout=subprocess.PIPE, text=True)
    try:
        check(peer.stdout.readline().strip() == "READY",
              "scapy Geneve peer in B ready")
        for size in (56, 1300):
            shp.ns_ping_ok(ns_a, sv.B_IP, size)
        d0 = sv.drops(vs, "gn0")
        check(all(v == 0 for v in d0.values()),
              "no drops on gn0 with options on every datagram: %s" % d0)
        r = sv.ns(ns_b, SCAPY_PY, "-c", NS_BAD, local, "6081", str(VNI))
        check("SENT" in r.stdout, "bad Geneve datagrams sent from B")
        want = {"options": 6, "oam": 2, "version": 2, "proto": 2, "vni": 2}
        got = {}
        for _ in range(100):
            d1 = sv.drops(vs, "gn0")
            got = {k: d1[k] - d0[k] for k in want}
            if got == want:
                break
            time.sleep(0.1)
        check(got == want, "bad Geneve datagrams counted by reason: %s"
              % got)
        shp.ns_ping_ok(ns_a, sv.B_IP, 56)
        tlv_phase(vs, ns_a, remote)
    finally:
        peer.terminate()
        out = peer.communicate(timeout=30)[0]
    words = dict(w.split("=", 1) for w in out.split()[1:]) \
        if out.startswith("PEER") else {}
    check(int(words.get("withmeta", 0)) >= 5,
          "scapy got tun_metadata0 0xabcd as option 0x0102/0x02: %s"
          % out.strip())
    check(int(words.get("withlong", 0)) >= 5,
          "scapy got tun_metadata5 0x0102030405060708 as the 8-byte option "
          "0x0102/0x03: %s" % out.strip())
    check(int(words.get("got", 0)) >= 15 and words.get("bad") == "0",
          "scapy parsed vswd's datagrams as Geneve, VNI %d: %s"
          % (VNI, out.strip()))
    sports = [int(p) for p in words.get("sports", "").split(",") if p]
    check(sports and all(49152 <= p <= 65535 for p in sports),
          "outer UDP source ports %s in 49152..65535" % sports)


def main():
    if subprocess.run([SCAPY_PY, "-c", "import scapy.contrib.geneve"],
                      capture_output=True).returncode != 0:
        print("SKIP: %s has no scapy (python3-scapy)" % SCAPY_PY)
        return 77
    return sv.main_netns(body)


if __name__ == "__main__":
    sys.exit(main())
