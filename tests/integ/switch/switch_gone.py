#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real vswd whose ports' devices go away, no guest needed.

One bridge with a tap port (p-tap) and an afpacket (p-af) and an afxdp
(p-xdp) port, each on a veth whose other end sits in a namespace of its
own.  A thread floods broadcast frames into the TAP from the host side, so
vswd sends to the veth ports all the time.  Then both peer namespaces are
deleted (which deletes the veths):

 - `vswctl show` has p-af and p-xdp at "link: down, interface gone, ..."
   while p-tap stays up;
 - with the flood stopped (it costs vswd CPU of its own), vswd uses less
   than 20 % of a core over 2 s (/proc/PID/stat): no data thread polls a
   dead socket or is woken by its POLLERR in a loop;
 - the log says each port is gone once, with no send error per burst
   ("afpacket send: No such device or address" was the symptom);
 - re-created under the same names, both ports come back by themselves
   and vswd sends to them again (their tx counters move).

Runs in a network namespace of its own (re-executed under unshare), as
root; exit 77 (skipped) otherwise.
"""

import os
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

BR = "br0"
TAP = "vgt0"


def own_netns():
    if os.environ.get("VSW_GONE_NETNS") == "1":
        return
    os.environ["VSW_GONE_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "--net", sys.executable] + sys.argv)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ports(vs):
    return {p["name"]: p for b in vs.show()["bridges"] for p in b["ports"]}


def wait(vs, pred, secs, what):
    deadline = time.monotonic() + secs
    while True:
        p = ports(vs)
        if pred(p):
            return p
        if time.monotonic() > deadline:
            raise vi.Fail("%s within %ds: %s" % (what, secs, p))
        time.sleep(0.1)


def tx_packets(vs, name):
    return vs.port_stats(BR)[name]["tx"]["packets"]


class Flood:
    """Broadcast frames into the TAP from the host, every 5 ms."""

    def __init__(self):
        self.stop = False
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((TAP, 0))
        self.thr = threading.Thread(target=self.main, daemon=True)
        self.thr.start()

    def main(self):
        frame = (b"\xff" * 6 + b"\x02\x00\x00\x00\x77\x01" + b"\x88\xb5" +
                 bytes(range(64)))
        while not self.stop:
            try:
                self.sock.send(frame)
            except OSError:
                pass
            time.sleep(0.005)

    def end(self):
        self.stop = True
        self.thr.join()
        self.sock.close()


def veths(pid):
    """(ns, host end, peer end) of both veth ports."""
    return [("vsw-gone-%d-%s" % (pid, k), "vg%s%d" % (k, pid % 10000),
             "vp%s%d" % (k, pid % 10000)) for k in ("a", "x")]


def veth_make(cleanup, ns, a, b):
    run(["ip", "netns", "add", ns])
    cleanup.push("netns " + ns,
                 lambda: run(["ip", "netns", "del", ns], check_rc=False))
    run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
    run(["ip", "link", "set", b, "netns", ns])
    run(["ip", "-n", ns, "link", "set", b, "up"])
    run(["ip", "link", "set", a, "up"])


def body(cleanup, dumps):
    work = tempfile.mkdtemp(prefix="vsw-gone-")
    cleanup.push("work dir", lambda: shutil.rmtree(work, ignore_errors=True))
    vs = vi.Vswd(sys.argv[1], work, cleanup)
    dumps.append(vs)
    (ns_a, va, pa), (ns_x, vx, px) = veths(os.getpid())
    for ns, a, b in veths(os.getpid()):
        veth_make(cleanup, ns, a, b)
    vs.start()
    vs.ctl("add-port", BR, "p-tap", "type=tap", "ifname=" + TAP)
    vs.ctl("add-port", BR, "p-af", "type=afpacket", "ifname=" + va)
    vs.ctl("add-port", BR, "p-xdp", "type=afxdp", "ifname=" + vx)
    vs.wait_links(["p-tap", "p-af", "p-xdp"])
    flood = Flood()
    cleanup.push("flood", flood.end)
    t0 = {n: tx_packets(vs, n) for n in ("p-af", "p-xdp")}
    time.sleep(0.5)
    for n in ("p-af", "p-xdp"):
        check(tx_packets(vs, n) > t0[n], "%s sends the TAP's frames" % n)

    # the peers' namespaces go, and the veths with them
    run(["ip", "netns", "del", ns_a])
    run(["ip", "netns", "del", ns_x])
    p = wait(vs, lambda p: all(p[n]["link"] == "down" and
                               "interface gone" in p[n]["status"]
                               for n in ("p-af", "p-xdp")), 10,
             "p-af and p-xdp reported gone")
    for n in ("p-af", "p-xdp"):
        check(p[n]["rxq"] == 0, "%s has no queue while gone" % n)
        log("%s: link %s, %s" % (n, p[n]["link"], p[n]["status"]))
    check(p["p-tap"]["link"] == "up", "p-tap still up")
    out = vs.ctl("show").stdout
    for n in ("p-af", "p-xdp"):
        sect = out.split("Port " + n + "\n")[1].split("Port ")[0]
        check("link: down, interface gone" in sect,
              "vswctl show for %s:\n%s" % (n, sect))

    # the flood itself costs vswd a good part of a core (a data thread
    # spins a while after each frame): measured without it
    flood.end()
    time.sleep(0.3)
    c0, w0 = cpu_s(vs.proc.pid), time.monotonic()
    time.sleep(2)
    used = (cpu_s(vs.proc.pid) - c0) / (time.monotonic() - w0)
    log("vswd CPU while two ports are gone: %.1f%%" % (used * 100))
    check(used < 0.20, "vswd under 20%% of a core: %.0f%%" % (used * 100))
    text = open(vs.log_path).read()
    for n, ifname in (("p-af", va), ("p-xdp", vx)):
        gone = [x for x in text.splitlines()
                if "port %s: interface %s is gone" % (n, ifname) in x]
        check(len(gone) == 1, "%s logged gone once: %s" % (n, gone))
    check("afpacket send" not in text and "afxdp kick" not in text,
          "no send error per burst in the log")

    # the same names again: the ports attach by themselves
    flood = Flood()
    cleanup.push("flood", flood.end)
    for ns, a, b in veths(os.getpid()):
        veth_make(cleanup, ns, a, b)
    wait(vs, lambda p: all(p[n]["link"] == "up" and p[n]["rxq"] == 1
                           for n in ("p-af", "p-xdp")), 10,
         "p-af and p-xdp back")
    t0 = {n: tx_packets(vs, n) for n in ("p-af", "p-xdp")}
    time.sleep(0.5)
    for n in ("p-af", "p-xdp"):
        check(tx_packets(vs, n) > t0[n], "%s sends again" % n)
    flood.end()
    check(vs.terminate() == 0, "vswd exits 0 on SIGTERM")


def main():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("needs root and unshare: skipped")
        return 77
    own_netns()
    return vi.main_wrapper(body)


if __name__ == "__main__":
    sys.exit(main())
