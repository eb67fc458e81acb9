#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vxlan.py BUILDDIR WORKDIR

A vxlan port of vswd against the Linux kernel's own vxlan device, no guest:

  namespace A   10.0.50.1/24 on the tap interface of port p-tap
  (vswd's own)  bridge br0: p-tap + vx0 (type=vxlan), underlay end VU
                10.99.0.1/24, fd00:99::1/64
  namespace B   underlay end VB 10.99.0.2/24, fd00:99::2/64; kernel
                device `vx` (type vxlan, id 42 / 43, dstport 4789 / 4790)
                with 10.0.50.2/24

Once over an IPv4 underlay (local_ip given, csum default), once over IPv6
(no local_ip, csum=true): A pings B (56 and 1300 bytes), `seq 1 N` moves
B -> A and A -> B over TCP with the md5 compared to what is computed here,
the outer UDP source ports seen in B are in 49152..65535.  Then, on the
IPv4 run, datagrams sent to the port from B with a raw Python UDP socket
(wrong VNI, too short, I flag clear, a reserved byte set, and a wrong
sender address) are dropped and each counted under its own reason in
`show`, while pings keep working; a frame larger than the underlay's MTU
is dropped and counted as tx_too_big.

vswd runs in a network namespace of its own (the test re-executes itself
under `unshare --net`); the other namespaces and interfaces are named after
this process id and removed on any exit.  Root only (exit 77 otherwise).
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_host_ports as shp  # noqa: E402
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

BR = "br0"
# the vxlan port's drop reasons as its status in `show` names them
DROP_NAMES = ("short", "rx_big", "flags", "reserved", "vni", "source", "mtu",
              "offload", "tx_error", "version", "proto", "oam", "options",
              "no_tun_dst")
A_IP, B_IP = "10.0.50.1", "10.0.50.2"
U4 = ("10.99.0.1", "10.99.0.2")
U6 = ("fd00:99::1", "fd00:99::2")

# Runs in namespace B: serve `seq 1 N` on port p, then take a stream on
# port q and print its md5 and size.
NS_SERVER = """\
import hashlib, socket, sys
ip, p, q, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ls = [socket.socket() for _ in range(2)]
for s, port in zip(ls, (p, q)):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(1)
    s.settimeout(120)
print("LISTEN", flush=True)
c, _ = ls[0].accept()
c.sendall(b"".join(b"%d\\n" % i for i in range(1, n + 1)))
c.close()
c, _ = ls[1].accept()
c.settimeout(120)
h, size = hashlib.md5(), 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    size += len(b)
print("GOT md5=%s bytes=%d" % (h.hexdigest(), size), flush=True)
"""

# Runs in namespace B: capture the outer UDP source ports of VXLAN
# datagrams arriving on the underlay (from vswd) until SIGTERM.
NS_SPORTS = """\
import signal, socket, sys, time
dev, secs, dport = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((dev, 0))
s.settimeout(0.2)
ports, end = set(), time.monotonic() + secs
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
print("READY", flush=True)
while time.monotonic() < end and not stop:
    try:
        f, addr = s.recvfrom(65536)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    t = f[12:14]
    if t == b"\\x08\\x00" and f[23] == 17:
        l4 = 14 + (f[14] & 15) * 4
    elif t == b"\\x86\\xdd" and f[20] == 17:
        l4 = 54
    else:
        continue
    if int.from_bytes(f[l4 + 2:l4 + 4], "big") == dport:
        ports.add(int.from_bytes(f[l4:l4 + 2], "big"))
print("SPORTS " + " ".join(str(p) for p in sorted(ports)), flush=True)
"""

# Runs in namespace B: bad datagrams to the vxlan port.
NS_BAD = """\
import socket, struct, sys
dst, dport, vni, src2, fam = (sys.argv[1], int(sys.argv[2]),
                              int(sys.argv[3]), sys.argv[4], sys.argv[5])
af = socket.AF_INET6 if fam == "6" else socket.AF_INET
inner = (b"\\xff" * 6 + b"\\x02\\x00\\x00\\x00\\x88\\x01" + b"\\x88\\xb5" +
         bytes(64))
def hdr(flags, vni, r1=b"\\0\\0\\0", r2=b"\\0"):
    return bytes([flags]) + r1 + vni.to_bytes(3, "big") + r2
bad = {
    "vni": hdr(8, vni + 1) + inner,
    "short": hdr(8, vni) + inner[:10],
    "flags": hdr(0, vni) + inner,
    "reserved": hdr(8, vni, r1=b"\\0\\1\\0") + inner,
}
s = socket.socket(af, socket.SOCK_DGRAM)
for name, d in sorted(bad.items()):
    for _ in range(3):
        s.sendto(d, (dst, dport))
s2 = socket.socket(af, socket.SOCK_DGRAM)
s2.bind((src2, 0))
for _ in range(3):
    s2.sendto(hdr(8, vni) + inner, (dst, dport))
print("SENT", flush=True)
"""


# Runs in namespace B: N datagrams of a VXLAN header alone (dropped as
# "short" by whoever reads them) to DST:DPORT, as fast as possible.
NS_FLOOD = """\
import socket, sys
dst, dport, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d = bytes([8, 0, 0, 0, 0, 0, 0, 0])
for _ in range(n):
    s.sendto(d, (dst, dport))
print("SENT", flush=True)
"""


# Runs in namespace B: turn off TX checksum offload on the underlay end
# (ETHTOOL_STXCSUM; there is no ethtool binary here).  Over a veth the
# kernel vxlan device leaves the inner TCP checksum partial (only the
# pseudo-header sum) and marks the skb CHECKSUM_PARTIAL, which a UDP socket
# cannot carry to user space: vsw would get an inner frame whose checksum
# nobody ever completes.  A real NIC completes it before the wire.
NS_NO_TXCSUM = """\
import array, fcntl, socket, struct, sys
ev = array.array("I", [0x17, 0])  # ETHTOOL_STXCSUM, off
ifr = struct.pack("16sP", sys.argv[1].encode(), ev.buffer_info()[0])
fcntl.ioctl(socket.socket(), 0x8946, ifr)  # SIOCETHTOOL
"""


def own_netns():
    if os.environ.get("VSW_VXLAN_NETNS") == "1":
        return
    os.environ["VSW_VXLAN_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "--net", sys.executable] + sys.argv)


def ns(name, *args, check_rc=True):
    return shp.ns(name, *args, check_rc=check_rc)


def port_status(vs, name):
    for b in vs.show()["bridges"]:
        for p in b["ports"]:
            if p["name"] == name:
                return p.get("status", "")
    raise vi.Fail("no port %s in show" % name)


def drops(vs, name):
    """The vxlan port's drop counters by reason, from its show status."""
    st = port_status(vs, name)
    words = st.split("drops:", 1)[1].split()
    d = dict.fromkeys(DROP_NAMES, 0)
    if words != ["none"]:
        d.update({words[i]: int(words[i + 1])
                  for i in range(0, len(words), 2)})
    return d


def sock_status(vs, name):
    """(receive buffer KiB, overflows) of the port's tunnel socket, from
    its show status, or None if the status does not show them."""
    m = re.search(r"rcvbuf (\d+)K overflow (\d+)", port_status(vs, name))
    return (int(m.group(1)), int(m.group(2))) if m else None


def udp_sock_drops(port):
    """The drops of the UDP sockets bound to port in this namespace."""
    n = 0
    with open("/proc/net/udp") as f:
        for ln in f.readlines()[1:]:
            c = ln.split()
            if int(c[1].split(":")[1], 16) == port:
                n += int(c[-1])
    return n


def tcp_both_ways(ns_a, ns_b, what):
    md5, size = vi.seq_expect()
    srv = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, sys.executable, "-c", NS_SERVER,
         B_IP, "5001", "5002", str(vi.SEQ_N)],
        stdout=subprocess.PIPE, text=True)
    try:
        check(srv.stdout.readline().strip() == "LISTEN",
              "TCP server in B listening")
        res = ns(ns_a, sys.executable, "-c", shp.NS_CLIENT, B_IP, "5001",
                 "5002", str(vi.SEQ_N))
        out = srv.communicate(timeout=120)[0]
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    check("FETCH md5=%s bytes=%d" % (md5, size) in res.stdout,
          "%s: B -> A over TCP, %d bytes, md5 %s (got %s)"
          % (what, size, md5, res.stdout.strip()))
    check("GOT md5=%s bytes=%d" % (md5, size) in out,
          "%s: A -> B over TCP, %d bytes, md5 %s (got %s)"
          % (what, size, md5, out.strip()))


def variant(vs, ns_a, ns_b, vb, fam, cleanup):
    v6 = fam == "6"
    local, remote = U6 if v6 else U4
    vni, dport = (43, 4790) if v6 else (42, 4789)
    what = "IPv%s underlay" % fam
    kdev = "vx"
    opts = ["remote_ip=" + remote, "key=%d" % vni, "dst_port=%d" % dport]
    opts += ["csum=true"] if v6 else ["local_ip=" + local]
    vs.ctl("add-port", BR, "vx0", "type=vxlan", *opts)
    ns(ns_b, "ip", "link", "add", kdev, "type", "vxlan", "id", str(vni),
       "remote", local, "local", remote, "dstport", str(dport), "dev", vb)
    ns(ns_b, "ip", "link", "set", kdev, "address", "02:00:00:00:50:02")
    ns(ns_b, "ip", "addr", "add", B_IP + "/24", "dev", kdev)
    ns(ns_b, "ip", "link", "set", kdev, "mtu", "1400", "up")
    vs.wait_links(["p-tap", "vx0"])
    s0 = vs.port_stats(BR)

    deadline = time.monotonic() + 30
    while True:
        r = ns(ns_a, sys.executable, "-c", shp.NS_PING, B_IP, "1", "56",
               check_rc=False)
        if "1 received" in r.stdout:
            break
        if time.monotonic() > deadline:
            raise vi.Fail("%s: A does not reach B: %s" % (what, r.stdout))
    for size in (56, 1300):
        shp.ns_ping_ok(ns_a, B_IP, size)

    sp = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, sys.executable, "-c", NS_SPORTS, vb,
         "60", str(dport)], stdout=subprocess.PIPE, text=True)
    check(sp.stdout.readline().strip() == "READY", "capture in B ready")
    try:
        tcp_both_ways(ns_a, ns_b, what)
    finally:
        sp.terminate()
    out = sp.communicate(timeout=30)[0]
    ports = [int(p) for p in out.split()[1:]] if out.startswith("SPORTS") \
        else []
    check(ports and all(49152 <= p <= 65535 for p in ports),
          "%s: outer UDP source ports %s in 49152..65535" % (what, ports))
    s1 = vs.port_stats(BR)
    for way in ("rx", "tx"):
        d = s1["vx0"][way]["packets"] - s0["vx0"][way]["packets"]
        check(d >= 100, "%s: vx0 %s +%d packets" % (what, way, d))
    d = drops(vs, "vx0")
    check(all(v == 0 for v in d.values()),
          "%s: no drops on the good traffic: %s" % (what, d))

    if not v6:
        bad_traffic(vs, ns_a, ns_b, vb, local, vni, dport)

    vs.ctl("del-port", BR, "vx0")
    ns(ns_b, "ip", "link", "del", kdev)


def bad_traffic(vs, ns_a, ns_b, vb, local, vni, dport):
    src2 = "10.99.0.3"
    ns(ns_b, "ip", "addr", "add", src2 + "/24", "dev", vb)
    d0 = drops(vs, "vx0")
    b0 = vs.port_stats(BR)["vx0"]["rx"]["drops"]["bad_frame"]
    r = ns(ns_b, sys.executable, "-c", NS_BAD, local, str(dport), str(vni),
           src2, "4")
    check("SENT" in r.stdout, "bad datagrams sent from B")
    want = {"vni": 3, "short": 3, "flags": 3, "reserved": 3, "source": 3}
    deadline = time.monotonic() + 10
    while True:
        d1 = drops(vs, "vx0")
        got = {k: d1[k] - d0[k] for k in want}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(got == want, "bad datagrams counted by reason: %s" % got)
    b1 = vs.port_stats(BR)["vx0"]["rx"]["drops"]["bad_frame"]
    check(b1 - b0 == 15, "and as rx bad_frame: +%d" % (b1 - b0))
    shp.ns_ping_ok(ns_a, B_IP, 56)

    # A frame that cannot fit the underlay: 1500-byte IP packets from A
    # (tap MTU raised for it) need 1564 bytes on a 1500-byte veth.
    tap = vs.tap
    ns(ns_a, "ip", "link", "set", tap, "mtu", "1500")
    ns(ns_a, sys.executable, "-c", shp.NS_PING, B_IP, "3", "1472",
       check_rc=False)
    ns(ns_a, "ip", "link", "set", tap, "mtu", "1400")
    d2 = drops(vs, "vx0")
    check(d2["mtu"] - d1["mtu"] == 3,
          "frames over the path MTU counted as mtu: +%d"
          % (d2["mtu"] - d1["mtu"]))
    shp.ns_ping_ok(ns_a, B_IP, 1300)
    socket_overflow(vs, ns_a, ns_b, local, dport)


def socket_overflow(vs, ns_a, ns_b, local, dport):
    """Datagrams the kernel drops because the tunnel socket's buffer is
    full never reach vsw's reason counters: the status shows them."""
    st0 = sock_status(vs, "vx0")
    check(st0 is not None and st0[0] >= 8192,
          "vx0 status shows a receive buffer of >= 8192K (SO_RCVBUFFORCE, "
          "past net.core.rmem_max) and its overflows: %s"
          % port_status(vs, "vx0"))
    if st0 is None:
        return
    k0 = udp_sock_drops(dport)
    # vswd stopped: nobody reads the socket while B floods it
    os.kill(vs.proc.pid, signal.SIGSTOP)
    try:
        r = ns(ns_b, sys.executable, "-c", NS_FLOOD, local, str(dport),
               "40000")
    finally:
        os.kill(vs.proc.pid, signal.SIGCONT)
    check("SENT" in r.stdout, "40000 datagrams sent from B")
    st1 = sock_status(vs, "vx0")
    k1 = udp_sock_drops(dport)
    check(st1 is not None and st1[1] - st0[1] > 0 and
          st1[1] - st0[1] == k1 - k0,
          "datagrams the full socket dropped shown in vx0's status: +%s "
          "(the kernel's count: +%d)"
          % (st1[1] - st0[1] if st1 else "?", k1 - k0))
    shp.ns_ping_ok(ns_a, B_IP, 56)


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    ns_a, ns_b = "vsw-vx-%d-a" % pid, "vsw-vx-%d-b" % pid
    tap = "vxt%d" % (pid % 10**7)
    vu, vb = "vxu%d" % (pid % 10**7), "vxb%d" % (pid % 10**7)

    vs = vi.Vswd(builddir, workdir, cleanup)
    vs.tap = tap
    dumps.append(vs)
    vs.start()
    netns_add(cleanup, (ns_a, ns_b))
    run(["ip", "link", "set", "lo", "up"])
    vs.ctl("add-port", BR, "p-tap", "type=tap", "ifname=" + tap)
    cleanup.push("port p-tap", lambda: vs.ctl("del-port", BR, "p-tap",
                                              check_rc=False))
    run(["ip", "link", "set", tap, "netns", ns_a])
    ns(ns_a, "ip", "addr", "add", A_IP + "/24", "dev", tap)
    ns(ns_a, "ip", "link", "set", tap, "mtu", "1400", "up")

    run(["ip", "link", "add", vu, "type", "veth", "peer", "name", vb])
    run(["ip", "link", "set", vb, "netns", ns_b])
    run(["ip", "addr", "add", U4[0] + "/24", "dev", vu])
    run(["ip", "addr", "add", U6[0] + "/64", "dev", vu, "nodad"])
    run(["ip", "link", "set", vu, "up"])
    ns(ns_b, "ip", "addr", "add", U4[1] + "/24", "dev", vb)
    ns(ns_b, "ip", "addr", "add", U6[1] + "/64", "dev", vb, "nodad")
    ns(ns_b, "ip", "link", "set", vb, "up")
    ns(ns_b, sys.executable, "-c", NS_NO_TXCSUM, vb)

    # options refused with a clear message, the bridge still working
    for bad, msg in ((["remote_ip=flow", "local_ip=fe80::1"],
                      "local_ip"),
                     (["remote_ip=flow", "local_ip=224.0.0.1"],
                      "local_ip=224.0.0.1"),
                     (["remote_ip=flow", "key=flowy"], "key"),
                     (["remote_ip=10.99.0.2",
                       "tlv_map={class=0xffff,type=0,len=4}->tun_metadata0"],
                      "tlv_map"),
                     ([], "remote_ip"),
                     (["remote_ip=10.99.0.2", "key=16777216"], "key"),
                     (["remote_ip=fe80::1"], "remote_ip=fe80::1"),
                     (["remote_ip=10.99.0.2", "local_ip=fd00:99::1"],
                      "local_ip"),
                     (["remote_ip=10.99.0.2", "csum=maybe"], "csum"),
                     (["remote_ip=10.99.0.2", "ttl=0"], "ttl"),
                     (["remote_ip=10.99.0.2", "colour=red"], "colour")):
        r = vs.ctl("add-port", BR, "vxbad", "type=vxlan", *bad,
                   check_rc=False)
        check(r.returncode != 0 and msg in r.stderr,
              "add-port vxlan %s refused: %s" % (bad, r.stderr.strip()))

    variant(vs, ns_a, ns_b, vb, "4", cleanup)
    variant(vs, ns_a, ns_b, vb, "6", cleanup)


def main_netns(body):
    """main() of a namespaced test script: body(builddir, workdir, cleanup,
    dumps) in a network namespace of its own."""
    if len(sys.argv) != 3:
        print(sys.modules["__main__"].__doc__, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIP: needs root (namespaces, tap, veth)")
        return 77
    own_netns()
    builddir = os.path.abspath(sys.argv[1])
    workdir = os.path.abspath(sys.argv[2])
    os.makedirs(workdir, exist_ok=True)
    return vi.main_wrapper(lambda c, d: body(builddir, workdir, c, d))


def netns_add(cleanup, names):
    """Named namespaces with lo up, deleted by cleanup."""
    for n in names:
        run(["ip", "netns", "add", n])
        cleanup.push("netns " + n,
                     lambda n=n: run(["ip", "netns", "del", n],
                                     check_rc=False))
        ns(n, "ip", "link", "set", "lo", "up")


if __name__ == "__main__":
    sys.exit(main_netns(body))
