#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_host_ports.py BUILDDIR WORKDIR

A QEMU guest (vhostuser port) reaches host network namespaces through a
tap port and an afpacket port of the same vswd bridge:

  guest G            10.0.40.2/24  port p-g   (vhostuser)
  namespace T        10.0.40.1/24  port p-tap (type=tap; the tap interface
                                   is moved into T after add-port)
  namespace P        10.0.40.3/24  port p-af  (type=afpacket on veth end
                                   VA in the host; the peer VB is in P)

Checks: G pings T and P (56 and 1400 bytes, 5 each, no loss); T and P ping
G; T pings P (tap <-> afpacket); `seq 1 N` moves G -> T and T -> G over TCP
(busybox nc in G, Python in T) with the md5 computed here; vswd's counters
show the frames on p-tap and p-af.  Namespaces and interfaces are named
after this process id and removed on any exit.
"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

BR = "br1"
G_IP, T_IP, P_IP = "10.0.40.2", "10.0.40.1", "10.0.40.3"

# Runs in namespace T: fetch `seq` from G, print md5 and size; send the
# same pattern to G's second port.
NS_CLIENT = """\
import hashlib, socket, sys, time
ip, p, q, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(20):
    try:
        s = socket.create_connection((ip, p), timeout=60)
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("connect %s:%d failed" % (ip, p))
h, size = hashlib.md5(), 0
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
    size += len(b)
s.close()
print("FETCH md5=%s bytes=%d" % (h.hexdigest(), size))
data = b"".join(b"%d\\n" % i for i in range(1, n + 1))
s = socket.create_connection((ip, q), timeout=60)
s.sendall(data)
s.close()
"""


# Runs in a namespace: ICMP echo (the host may have no ping binary).
NS_PING = """\
import os, select, socket, struct, sys, time
ip, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff


def csum(b):
    if len(b) % 2:
        b += b"\\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff


got = set()
for seq in range(1, n + 1):
    payload = bytes((seq + i) & 0xff for i in range(size))
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    h = struct.pack("!BBHHH", 8, 0, csum(h + payload), ident, seq)
    s.sendto(h + payload, (ip, 0))
    deadline = time.monotonic() + 2
    while seq not in got:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        pkt, addr = s.recvfrom(65536)
        icmp = pkt[(pkt[0] & 15) * 4:]
        t, _, _, i, q = struct.unpack("!BBHHH", icmp[:8])
        if (t == 0 and i == ident and addr[0] == ip
                and icmp[8:] == bytes((q + k) & 0xff for k in range(size))):
            got.add(q)
    time.sleep(0.2)
print("%d packets transmitted, %d received" % (n, len(got)))
"""


def ns(name, *args, check_rc=True):
    return run(["ip", "netns", "exec", name] + list(args),
               check_rc=check_rc)


def ns_ping_ok(name, ip, size=56, n=5):
    res = ns(name, sys.executable, "-c", NS_PING, ip, str(n), str(size),
             check_rc=False)
    got = 0
    for line in res.stdout.splitlines():
        if " received" in line:
            got = int(line.split(",")[1].split()[0])
    check(got == n, "namespace %s -> %s: %d/%d pings of %d bytes"
          % (name, ip, got, n, size))


def test(builddir, workdir, cleanup, dumps):
    t0 = time.monotonic()
    img = vi.image(workdir)
    log("image ready in %.1fs" % (time.monotonic() - t0))
    pid = os.getpid()
    ns_t, ns_p = "vsw-integ-%d-t" % pid, "vsw-integ-%d-p" % pid
    tap = "vsit%d" % (pid % 10**7)
    va, vb = "vsia%d" % (pid % 10**7), "vsib%d" % (pid % 10**7)

    vs = vi.Vswd(builddir, workdir, cleanup)
    dumps.append(vs)
    vs.start()
    vs.ctl("del-br", "br0")
    vs.ctl("add-br", BR)
    sock = os.path.join(workdir, "G.vhu")
    vs.ctl("add-port", BR, "p-g", "type=vhostuser", "path=" + sock)
    g = vi.AgentGuest("G", img, workdir, cleanup,
                      vi.guest.vhost_user_net("n0", "52:54:00:00:0c:02",
                                              sock),
                      ips=[G_IP + "/24"])
    dumps.append(g)
    g.start()

    # Namespaces and interfaces while the guest boots.
    for n in (ns_t, ns_p):
        run(["ip", "netns", "add", n])
        cleanup.push("netns " + n,
                     lambda n=n: run(["ip", "netns", "del", n]))
        ns(n, "ip", "link", "set", "lo", "up")
    vs.ctl("add-port", BR, "p-tap", "type=tap", "ifname=" + tap)
    # Close the tap port before its namespace goes (a tap interface deleted
    # under vswd only takes the port down, see ports_gone; this keeps the
    # log of the test about the test).
    cleanup.push("port p-tap", lambda: vs.ctl("del-port", BR, "p-tap",
                                              check_rc=False))
    run(["ip", "link", "set", tap, "netns", ns_t])
    ns(ns_t, "ip", "addr", "add", T_IP + "/24", "dev", tap)
    ns(ns_t, "ip", "link", "set", tap, "up")
    run(["ip", "link", "add", va, "type", "veth", "peer", "name", vb])
    cleanup.push("veth " + va,
                 lambda: run(["ip", "link", "del", va], check_rc=False))
    run(["ip", "link", "set", vb, "netns", ns_p])
    run(["ip", "link", "set", va, "up"])
    ns(ns_p, "ip", "addr", "add", P_IP + "/24", "dev", vb)
    ns(ns_p, "ip", "link", "set", vb, "up")
    vs.ctl("add-port", BR, "p-af", "type=afpacket", "ifname=" + va)
    cleanup.push("port p-af", lambda: vs.ctl("del-port", BR, "p-af",
                                             check_rc=False))

    log("guest G ready after %.1fs" % g.wait_ready())
    vs.wait_links(["p-g", "p-tap", "p-af"])
    s0 = vs.port_stats(BR)
    log("G reaches T after %.1fs" % vi.wait_reach(g, T_IP))
    vi.check_pings(g, T_IP)
    log("G reaches P after %.1fs" % vi.wait_reach(g, P_IP))
    vi.check_pings(g, P_IP)
    for size in (56, 1400):
        ns_ping_ok(ns_t, G_IP, size)
        ns_ping_ok(ns_p, G_IP, size)
    ns_ping_ok(ns_t, P_IP)
    s1 = vs.port_stats(BR)
    for p in ("p-tap", "p-af"):
        for way in ("rx", "tx"):
            d = s1[p][way]["packets"] - s0[p][way]["packets"]
            check(d >= 20, "counters: %s %s +%d packets" % (p, way, d))

    # TCP through the tap port, both ways.
    md5, size = vi.seq_expect()
    g.ok(vi.SERVE % {"p": 5001, "q": 5002, "n": vi.SEQ_N},
         "start nc servers")
    t1 = time.monotonic()
    res = ns(ns_t, sys.executable, "-c", NS_CLIENT, G_IP, "5001", "5002",
             str(vi.SEQ_N))
    check("FETCH md5=%s bytes=%d" % (md5, size) in res.stdout,
          "G -> namespace T over the tap port: %d bytes, md5 %s (got %s)"
          % (size, md5, res.stdout.strip()))
    out = g.ok(vi.COLLECT % {"q": 5002}, "collect")
    check("RX rc=0" in out and "GOT md5=%s bytes=%d" % (md5, size) in out,
          "namespace T -> G over the tap port: %d bytes, md5 %s (got %s)"
          % (size, md5, out))
    log("transfer of 2 x %d bytes took %.1fs" % (size,
                                                 time.monotonic() - t1))

    # Deleting the ports: the tap interface goes with its port, the veth
    # (not vswd's) stays.
    vs.ctl("del-port", BR, "p-tap")
    res = ns(ns_t, "ip", "link", "show", tap, check_rc=False)
    check(res.returncode != 0, "del-port p-tap removed %s from namespace T"
          % tap)
    vs.ctl("del-port", BR, "p-af")
    res = run(["ip", "link", "show", va], check_rc=False)
    check(res.returncode == 0, "del-port p-af left %s in place" % va)
    ports = [p["name"] for p in vs.show()["bridges"][0]["ports"]]
    check(ports == ["p-g"], "ports left on %s: %s" % (BR, ports))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIP: needs root (namespaces, tap, veth)")
        return 77
    builddir = os.path.abspath(sys.argv[1])
    workdir = os.path.abspath(sys.argv[2])
    os.makedirs(workdir, exist_ok=True)
    return vi.main_wrapper(lambda c, d: test(builddir, workdir, c, d))


if __name__ == "__main__":
    sys.exit(main())
