#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_vxlan_guests.py BUILDDIR WORKDIR

QEMU guests on two hosts joined by VXLAN, the first host's bridge driven
by a real OpenFlow controller (ovs-testcontroller, a learning switch) in
fail mode secure:

  namespace H1  vswd 1: br1 with vhost-user port p-a (guest A, 10.0.70.1)
                and vx0 (type=vxlan remote_ip=fd00:97::2 key=70); fail
                mode secure, listening ptcp:0 for the controller, which
                runs in H1
  namespace H2  vswd 2: br1 with p-b (guest B, 10.0.70.2) and vx0
                (remote_ip=fd00:97::1 key=70); the default NORMAL rule
  underlay      a veth pair, fd00:97::1/64 in H1, fd00:97::2/64 in H2,
                MTU 1600 (room for the 70 bytes of outer headers)

The QEMUs (TCG) run in the test's own namespace: a vhost-user socket is a
path, whatever namespace its vswd runs in.

Checks:
 1. H1 secure, no controller: no rule, A does not reach B.
 2. The controller connected: A and B ping each other (56 and 1400
    bytes) and `seq 1 N` goes each way over TCP with md5 and size
    checked; H1 has no rule of the test's, only the controller's (its
    table-miss rule to CONTROLLER and the flows it learned, which counted
    packets); neither vx0 counts a drop.
 3. The controller killed: the secure bridge keeps its rules and A still
    reaches B.

Runs under `unshare --net` (re-executed); namespaces and interfaces are
named after this process id and removed on any exit.  Root only (77);
77 too without ovs-testcontroller (Debian: openvswitch-testcontroller).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_vxlan as sv  # noqa: E402
import switch_vxlan_pair as svp  # noqa: E402
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

BR = "br1"
UL = ("fd00:97::1", "fd00:97::2")
IPS = ("10.0.70.1", "10.0.70.2")
MACS = ("52:54:00:00:46:01", "52:54:00:00:46:02")
VNI = 70


def flows(vs):
    out = vs.ctl("dump-flows", BR).stdout
    return [ln for ln in out.splitlines() if "actions=" in ln]


def controller(cleanup, netns, target, workdir):
    """ovs-testcontroller in netns connecting to target; its Popen."""
    logf = open(os.path.join(workdir, "testcontroller.log"), "a")
    p = subprocess.Popen(
        ["ip", "netns", "exec", netns, "ovs-testcontroller", "-O",
         "OpenFlow13", "--no-chdir",
         "--unixctl=" + os.path.join(workdir, "tc.ctl"), "-vconsole:info",
         target], stdout=logf, stderr=logf, start_new_session=True)
    logf.close()

    def stop():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=20)
    cleanup.push("ovs-testcontroller", stop)
    return stop


def wait_connected(vs, secs=30):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if "1 connected" in vs.ctl("get-controller", BR).stdout:
            return True
        time.sleep(0.2)
    return False


def body(builddir, workdir, cleanup, dumps):
    pid = os.getpid()
    hs = ["vsw-vxg-%d-%d" % (pid, i) for i in (1, 2)]
    sv.netns_add(cleanup, hs)
    u = ["vxg%s%d" % (c, pid % 10**6) for c in "ab"]
    run(["ip", "link", "add", u[0], "type", "veth", "peer", "name", u[1]])
    for i in (0, 1):
        run(["ip", "link", "set", u[i], "netns", hs[i]])
        sv.ns(hs[i], "ip", "link", "set", u[i], "mtu", "1600")
        sv.ns(hs[i], "ip", "-6", "addr", "add", UL[i] + "/64", "dev", u[i],
              "nodad")
        sv.ns(hs[i], "ip", "link", "set", u[i], "up")

    img = vi.image(workdir)
    sides, guests = [], []
    for i in (0, 1):
        vs = svp.start_vswd(builddir, workdir, "vswd%d" % (i + 1), hs[i],
                            cleanup, dumps)
        vs.ctl("del-br", "br0")         # the first-start defaults
        vs.ctl("add-br", BR)
        sock = os.path.join(vs.dir, "p.vhu")
        vs.ctl("add-port", BR, "p-" + "ab"[i], "type=vhostuser",
               "path=" + sock)
        vs.ctl("add-port", BR, "vx0", "type=vxlan", "remote_ip=" + UL[1 - i],
               "local_ip=" + UL[i], "key=%d" % VNI)
        net = vi.guest.vhost_user_net("n0", MACS[i], sock)
        g = vi.AgentGuest("AB"[i], img, workdir, cleanup, net,
                          ips=[IPS[i] + "/24"])
        dumps.append(g)
        g.start()
        sides.append(vs)
        guests.append(g)
    h1, h2 = sides
    a, b = guests
    for g in guests:
        log("guest %s ready after %.1fs" % (g.name, g.wait_ready()))
    for i, vs in enumerate(sides):
        vs.wait_links(["p-" + "ab"[i], "vx0"])

    # ---- 1. secure without a controller: nothing passes H1 ----
    h1.ctl("set-fail-mode", BR, "secure")
    check(flows(h1) == [], "H1 secure: no rule (%s)" % flows(h1))
    check(vi.ping(a, IPS[1], n=2, w=4) == 0,
          "H1 secure, no controller: A does not reach B")

    # ---- 2. the controller drives H1 ----
    h1.ctl("set-controller", BR, "ptcp:0")
    m = re.search(r"listening on (127\.0\.0\.1:\d+)",
                  h1.ctl("get-controller", BR).stdout)
    check(m is not None, "H1 listens for the controller")
    stop = controller(cleanup, hs[0], "tcp:" + m.group(1), workdir)
    check(wait_connected(h1), "ovs-testcontroller connected to H1")
    log("A reaches B after %.1fs" % vi.wait_reach(a, IPS[1]))
    vi.check_pings(a, IPS[1])
    vi.check_pings(b, IPS[0])
    vi.transfer(a, IPS[0], b)
    fl = flows(h1)
    check(any("actions=CONTROLLER" in ln for ln in fl),
          "H1: the controller's table-miss rule among its %d rules: %s"
          % (len(fl), [ln for ln in fl if "CONTROLLER" in ln] or fl))
    used = [ln for ln in fl if "CONTROLLER" not in ln and
            int(re.search(r"n_packets=(\d+)", ln).group(1)) > 0]
    check(used, "H1: %d of the flows the controller installed carried the "
          "traffic (%s)" % (len(used), fl if not used else used[0].strip()))
    for name, vs in (("H1", h1), ("H2", h2)):
        d = sv.drops(vs, "vx0")
        check(all(v == 0 for v in d.values()),
              "no drops on %s's vx0: %s" % (name, d))

    # ---- 3. the controller gone: secure keeps the rules ----
    stop()
    n = len(flows(h1))
    check(vi.ping(a, IPS[1], n=3) == 3,
          "controller gone, H1 secure: A still reaches B by its %d rules"
          % n)
    log("guests on two hosts over VXLAN, H1 driven by ovs-testcontroller")


if __name__ == "__main__":
    if shutil.which("ovs-testcontroller") is None:
        print("SKIP: no ovs-testcontroller (openvswitch-testcontroller)")
        sys.exit(77)
    sys.exit(sv.main_netns(body))
