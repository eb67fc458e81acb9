#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vhost_user.py BUILDDIR WORKDIR server|client

Two QEMU guests on two vhost-user ports of one vswd bridge.

  server: ports of type vhostuser (vswd listens; QEMU connects with
          reconnect=1);
  client: ports of type vhostuserclient (QEMU listens, server=on; vswd
          connects and reconnects).

Checks, with the same two guests (booted once):
 1. A and B ping each other (56 and 1400 byte payloads, 5 each, no loss);
    `seq 1 N` goes A -> B and B -> A over TCP and arrives with the md5 and
    size computed here; vswd's counters saw those bytes on the right ports
    and its MAC table holds each guest's MAC on its port.
 2. Restart: vswd is stopped with SIGTERM (exit 0) and started again on the
    same database: `vswctl --json show` equals the one before (once the
    guests are reattached) and the guests ping each other again without a
    reboot.  Then the same with kill -9.
"""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vswinteg as vi  # noqa: E402
from vswinteg import check, log  # noqa: E402

BR = "br1"
MACS = {"A": "52:54:00:00:0a:01", "B": "52:54:00:00:0a:02"}
IPS = {"A": "10.0.0.1", "B": "10.0.0.2"}


def test(builddir, workdir, mode, cleanup, dumps):
    t0 = time.monotonic()
    img = vi.image(workdir)
    log("image ready in %.1fs" % (time.monotonic() - t0))
    vs = vi.Vswd(builddir, workdir, cleanup)
    dumps.append(vs)
    vs.start()
    vs.ctl("del-br", "br0")     # first-start defaults: not used here
    vs.ctl("add-br", BR)
    ptype = "vhostuser" if mode == "server" else "vhostuserclient"
    ports = {"A": "p-a", "B": "p-b"}
    guests = {}
    for n in ("A", "B"):
        sock = os.path.join(workdir, "%s.vhu" % n)
        if os.path.exists(sock):
            os.unlink(sock)
        if mode == "server":
            vs.ctl("add-port", BR, ports[n], "type=vhostuser",
                   "path=" + sock)
        net = vi.guest.vhost_user_net("n0", MACS[n], sock,
                                      server=(mode == "client"))
        g = vi.AgentGuest(n, img, workdir, cleanup, net,
                          ips=[IPS[n] + "/24"])
        dumps.append(g)
        guests[n] = g
        g.start()
        if mode == "client":
            deadline = time.monotonic() + 20
            while not os.path.exists(sock):
                if time.monotonic() > deadline:
                    raise vi.Fail("QEMU made no socket " + sock)
                time.sleep(0.05)
            vs.ctl("add-port", BR, ports[n], "type=vhostuserclient",
                   "path=" + sock)
    a, b = guests["A"], guests["B"]
    for g in (a, b):
        log("guest %s ready after %.1fs" % (g.name, g.wait_ready()))
    vs.wait_links(ports.values())
    check(all(p["type"] == ptype for p in vs.show()["bridges"][0]["ports"]),
          "both ports are of type %s" % ptype)

    # ---- 1. connectivity and data ----
    t1 = time.monotonic()
    log("B reaches A after %.1fs" % vi.wait_reach(b, IPS["A"]))
    vi.check_pings(b, IPS["A"])
    vi.check_pings(a, IPS["B"])
    before = vs.port_stats(BR)
    vi.transfer(a, IPS["A"], b)
    after = vs.port_stats(BR)
    md5, size = vi.seq_expect()
    for src, dst in (("A", "B"), ("B", "A")):
        d_rx = (after[ports[src]]["rx"]["bytes"]
                - before[ports[src]]["rx"]["bytes"])
        d_tx = (after[ports[dst]]["tx"]["bytes"]
                - before[ports[dst]]["tx"]["bytes"])
        check(d_rx >= size and d_tx >= size,
              "counters: port %s rx +%d and port %s tx +%d bytes >= %d"
              % (ports[src], d_rx, ports[dst], d_tx, size))
    fdb = vs.json("fdb-show", BR)["entries"]
    for n in ("A", "B"):
        check(any(e["mac"] == MACS[n] and e["port"] == ports[n]
                  for e in fdb),
              "MAC table: %s on %s" % (MACS[n], ports[n]))
    log("check 1 took %.1fs" % (time.monotonic() - t1))

    # ---- 2. restarts ----
    for how, sig, want_rc in (("SIGTERM", signal.SIGTERM, 0),
                              ("kill -9", signal.SIGKILL, -9)):
        t2 = time.monotonic()
        shown = vs.wait_links(ports.values())
        rc = vs.terminate(sig)
        check(rc == want_rc, "%s: vswd exit status %d" % (how, rc))
        # Both guests see their link go away; give QEMU a moment.
        time.sleep(1)
        vs.start()
        again = vs.wait_links(ports.values(), timeout=90)
        if again != shown:
            log("before: %s\nafter:  %s" % (shown, again))
        check(again == shown, "%s: vswctl --json show after the restart "
              "equals the one before" % how)
        dt = vi.wait_reach(b, IPS["A"], timeout=90)
        log("%s: B reaches A %.1fs after vswd came back" % (how, dt))
        vi.check_pings(b, IPS["A"], sizes=(56, 1400))
        vi.check_pings(a, IPS["B"], sizes=(1400,))
        log("%s: restart check took %.1fs" % (how, time.monotonic() - t2))
    # The data path after two restarts, with a smaller transfer.
    vi.transfer(a, IPS["A"], b, port=5101, n=100000)


def main():
    return vi.variant_main(__doc__, test,
                           lambda v: v in ("server", "client"))


if __name__ == "__main__":
    sys.exit(main())
