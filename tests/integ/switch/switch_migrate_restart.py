#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_migrate_restart.py BUILDDIR WORKDIR CASE-RING

Live migration of a QEMU guest (TCG) from one vswd to another, with one of
them restarted (SIGTERM or kill -9, started again on its database) on the
way, while a host endpoint streams TCP to the guest in both directions.

  vswd S   br1: p-src (vhostuser, the source QEMU), p-h (afpacket, veth
                into namespace H), p-link (afpacket, veth to vswd D)
  vswd D   br1: p-dst (vhostuser, the destination QEMU, -incoming),
                p-link (afpacket, the other end of that veth)
  guest M  10.0.60.2/24 (same MAC on both QEMUs), namespace H 10.0.60.1/24

Each vswd has its own --db, --ctl, --run-dir and socket folder, as two
hosts would.  The QEMUs connect with reconnect=1 (vswd is the server).

CASE (which vswd is restarted, and when):
  dst-incoming  D, while the destination QEMU waits in -incoming: its port
                comes back from D's database, QEMU reconnects, then the
                migration runs at QEMU's default speed.
  dst-paused    D, during the migration: with pause-before-switchover the
                source stops in pre-switchover (RAM copied), D is killed
                (kill -9) and started again, QEMU reconnects, then
                migrate-continue.
  src-active    S, during the RAM copy while the source guest runs with
                dirty logging on (bandwidth held low until the source
                QEMU has reconnected to the new S, then QEMU's default):
                the new S gets VHOST_F_LOG_ALL and SET_LOG_BASE from QEMU
                at once and logs what it writes from then on.
  src-running   S, under the running source guest after a few pings, no
                migration: split rings carry on; packed rings stall (what
                rules out src-active-packed), and vswd says why.
RING: split | packed; src-active only with split: a packed ring whose
back end restarts under a running guest stalls (QEMU keeps no packed-ring
position across the disconnect, see docs/vhost-user.md), so the restart of
the source's vswd is not possible with packed rings.

Checks: the restarted vswd restores its ports (show lists them) and the
QEMU behind the port reconnects; the migration completes and the
destination runs; within 5 s of that D's MAC table has M on p-dst and S's
has it on p-link (M's announce, or its own traffic: it sends a stream); both
streams (paced, running across the restart and the move) complete with
matching md5 and size, no TCP checksum errors in M.  The loss window
(longest stall of each stream) and QEMU's downtime are reported.
Namespaces and interfaces are named after this process id.
"""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_migrate as sm  # noqa: E402
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

BR = sm.BR
CASES = ("dst-incoming", "dst-paused", "src-active", "src-running")
# QEMU 7.2's default max-bandwidth (MAX_THROTTLE), restored after a hold
DEFAULT_BW = 128 << 20
# src-active: slow enough that the RAM copy outlasts the restart
HOLD_BW = 1 << 20


def port_status(vs, name):
    for b in vs.show()["bridges"]:
        for p in b["ports"]:
            if p["name"] == name:
                return p
    return None


def wait_connected(vs, name, timeout=120):
    """Wait until vhost-user port name has a front end connected (an
    -incoming QEMU is connected with the link down: the device is not
    started before the migration ends)."""
    deadline = time.monotonic() + timeout
    while True:
        p = port_status(vs, name)
        if p is not None and ", connected," in p.get("status", ""):
            return p
        if time.monotonic() > deadline:
            raise vi.Fail("%s: no front end within %ds (%s)"
                          % (name, timeout, p))
        time.sleep(0.2)


def restart(vs, ports, sig=signal.SIGTERM):
    """Stop vs with sig, start it on the same database; its ports must come
    back as they were configured."""
    before = sorted(p["name"] for b in vs.show()["bridges"]
                    for p in b["ports"])
    t0 = time.monotonic()
    rc = vs.terminate(sig)
    want = 0 if sig == signal.SIGTERM else -sig
    check(rc == want, "vswd %s exits %d on signal %d"
          % (os.path.basename(vs.dir), rc, sig))
    vs.start()
    after = sorted(p["name"] for b in vs.show()["bridges"]
                   for p in b["ports"])
    check(after == before, "vswd %s restored its ports %s (has %s)"
          % (os.path.basename(vs.dir), before, after))
    for p in ports:
        wait_connected(vs, p)
    log("vswd %s restarted, %s reconnected after %.1fs"
        % (os.path.basename(vs.dir), ports, time.monotonic() - t0))


def vswd_dir(workdir, name):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    return d


def veth(a, b, cleanup):
    run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
    cleanup.push("veth " + a,
                 lambda: run(["ip", "link", "del", a], check_rc=False))
    for n in (a, b):
        run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % n],
            check_rc=False)


def wait_migration(q, t_mig, timeout=600):
    """Poll query-migrate until it leaves the running states; returns its
    last answer.  pre-switchover is returned too (the caller continues)."""
    while True:
        st = q.cmd("query-migrate")
        if st.get("status") in ("completed", "failed", "cancelled",
                                "pre-switchover"):
            return st
        if time.monotonic() - t_mig > timeout:
            raise vi.Fail("migration still %s after %d s"
                          % (st.get("status"), timeout))
        time.sleep(0.05)


def src_running(vss, src, ring, ns_h):
    """S restarted under the running source guest, no migration, after
    a few pings (far fewer frames than a ring holds, so each ring is
    still in its first lap).  Split: the guest reaches H again.  Packed:
    QEMU gives the restarted vswd the ring positions of the rings' first
    start (it keeps none across a back-end disconnect), whose
    descriptors were used in that lap: vswd faults both queues with a
    warning naming the cause, and the guest stays cut off."""
    n = vi.ping(src, sm.H_IP, n=3)
    check(n == 3, "M pings H before the restart (%d/3)" % n)
    restart(vss, ["p-src"])
    vss.wait_links(["p-src"])
    if ring == "split":
        log("M reaches H after %.1fs" % vi.wait_reach(src, sm.H_IP))
        return
    n = vi.ping(src, sm.H_IP, n=5, w=10)
    check(n == 0, "packed: M cannot reach H after the restart (%d replies)"
          % n)
    # H's ARP requests for M reach p-src: the receiveq is used (M's
    # pings above used the transmitq)
    sm.ns(ns_h, "ping", "-c", "3", "-W", "1", sm.M_IP, check_rc=False)
    want = ["%s broken: vring base behind the driver" % q
            for q in ("queue 0 (receiveq 0)", "queue 1 (transmitq 0)")]
    deadline = time.monotonic() + 30
    while True:
        with open(vss.log_path) as f:
            vlog = f.read().split("----- start ")[-1]
        if all(w in vlog for w in want) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for w in want:
        check(w in vlog, "packed: the restarted vswd logged '%s'" % w)


def test(builddir, workdir, variant, cleanup, dumps):
    case, ring = variant.rsplit("-", 1)
    dev_opts = "packed=on" if ring == "packed" else ""
    img = vi.image(workdir)
    pid = os.getpid()
    ns_h = "vsw-mrs-%d" % pid
    tag = pid % 10**6
    v_h, v_hn = "vsrh%d" % tag, "vsrH%d" % tag      # S <-> namespace H
    v_ls, v_ld = "vsrs%d" % tag, "vsrd%d" % tag     # S <-> D

    vss = vi.Vswd(builddir, vswd_dir(workdir, "S"), cleanup)
    vsd = vi.Vswd(builddir, vswd_dir(workdir, "D"), cleanup)
    socks = {"p-src": os.path.join(vss.dir, "p-src.vhu"),
             "p-dst": os.path.join(vsd.dir, "p-dst.vhu")}
    for vs, p in ((vss, "p-src"), (vsd, "p-dst")):
        dumps.append(vs)
        vs.start()
        vs.ctl("del-br", "br0")
        vs.ctl("add-br", BR)
        if os.path.exists(socks[p]):
            os.unlink(socks[p])
        vs.ctl("add-port", BR, p, "type=vhostuser", "path=" + socks[p])

    run(["ip", "netns", "add", ns_h])
    cleanup.push("netns " + ns_h, lambda: run(["ip", "netns", "del", ns_h]))
    sm.ns(ns_h, "ip", "link", "set", "lo", "up")
    veth(v_h, v_hn, cleanup)
    run(["ip", "link", "set", v_hn, "netns", ns_h])
    sm.ns(ns_h, "ip", "addr", "add", sm.H_IP + "/24", "dev", v_hn)
    sm.ns(ns_h, "ip", "link", "set", v_hn, "up")
    veth(v_ls, v_ld, cleanup)
    for n in (v_h, v_ls, v_ld):
        run(["ip", "link", "set", n, "up"])
    for vs, p, ifn in ((vss, "p-h", v_h), (vss, "p-link", v_ls),
                       (vsd, "p-link", v_ld)):
        vs.ctl("add-port", BR, p, "type=afpacket", "ifname=" + ifn)
        cleanup.push("port " + p, lambda vs=vs, p=p:
                     vs.ctl("del-port", BR, p, check_rc=False))

    port = sm.free_port()
    qmp_path = {n: os.path.join(workdir, "%s.qmp" % n) for n in ("M", "MD")}
    guests = {}
    for n, p in (("M", "p-src"), ("MD", "p-dst")):
        net = vi.guest.vhost_user_net("n0", sm.MAC, socks[p],
                                      device_opts=dev_opts)
        # no_timer_check: under a loaded host the TCG guest's IO-APIC
        # timer check can fail and panic the boot
        g = vi.AgentGuest(n, img, workdir, cleanup, net,
                          ips=[sm.M_IP + "/24"], mem_mb=sm.MEM_MB,
                          append="no_timer_check")
        g.g.mem_tail_kib = sm.MEM_TAIL_KIB  # QEMU < 9.0 TCG dirty bits
        g.g.extra_args += ["-qmp", "unix:%s,server=on,wait=off"
                           % qmp_path[n]]
        if n == "MD":
            g.g.extra_args += ["-incoming", "tcp:127.0.0.1:%d" % port]
        dumps.append(g)
        guests[n] = g
    src, dst = guests["M"], guests["MD"]
    src.start()
    log("guest M ready after %.1fs" % src.wait_ready())
    vss.wait_links(["p-src", "p-h", "p-link"])
    vsd.wait_links(["p-link"])
    dst.start()
    deadline = time.monotonic() + 60
    while not vi.guest.tcp_port_listening(port):
        if time.monotonic() > deadline or dst.g.proc.poll() is not None:
            raise vi.Fail("destination QEMU does not listen on %d" % port)
        time.sleep(0.1)
    wait_connected(vsd, "p-dst")

    log("M reaches H after %.1fs" % vi.wait_reach(src, sm.H_IP))
    check(sm.fdb_port(vss, sm.MAC) == "p-src",
          "S's MAC table: %s on p-src" % sm.MAC)

    if case == "src-running":
        src_running(vss, src, ring, ns_h)
        return
    if case == "dst-incoming":
        restart(vsd, ["p-dst"])

    # ---- streams, and the move under them ----
    out = src.ok(sm.M_SERVE % {"kib": sm.SRC_KIB}, "start the servers in M")
    src_sum = [line for line in out if line.startswith("SRC ")]
    peer = subprocess.Popen(
        ["ip", "netns", "exec", ns_h, sys.executable, "-c", sm.NS_PEER,
         sm.M_IP, str(sm.H_BYTES)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    cleanup.push("peer", lambda: peer.poll() is None and peer.kill())
    time.sleep(3)                       # the streams run
    q_src = sm.Qmp(qmp_path["M"])
    q_dst = sm.Qmp(qmp_path["MD"])
    if case == "dst-paused":
        q_src.cmd("migrate-set-capabilities", capabilities=[
            {"capability": "pause-before-switchover", "state": True}])
    if case == "src-active":
        q_src.cmd("migrate-set-parameters", **{"max-bandwidth": HOLD_BW})
    t_mig = time.monotonic()
    q_src.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
    if case == "src-active":
        # Not in "setup": QEMU turns dirty logging on then (SET_LOG_BASE,
        # then features and every ring's address with the log flag, each
        # waiting for an answer); a back end gone among those leaves QEMU
        # 7.2 with the vhost-user connection dead and no reconnect (seen
        # once). "active" comes after the setup.
        deadline = time.monotonic() + 60
        while True:
            st = q_src.cmd("query-migrate")
            if st.get("status") != "setup" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check(st.get("status") == "active",
              "migration running before the restart of S (%s)"
              % st.get("status"))
        restart(vss, ["p-src"])
        vss.wait_links(["p-src"])
        st = q_src.cmd("query-migrate")
        check(st.get("status") == "active",
              "still migrating after S restarted (%s, %s MiB sent)"
              % (st.get("status"),
                 st.get("ram", {}).get("transferred", 0) >> 20))
        time.sleep(2)                   # the new S writes with logging on
        q_src.cmd("migrate-set-parameters", **{"max-bandwidth": DEFAULT_BW})
    st = wait_migration(q_src, t_mig)
    if case == "dst-paused":
        check(st["status"] == "pre-switchover",
              "source paused before the switch-over (%s)" % st["status"])
        t_pause = time.monotonic()
        restart(vsd, ["p-dst"], signal.SIGKILL)
        q_src.cmd("migrate-continue", state="pre-switchover")
        st = wait_migration(q_src, t_mig)
        log("paused %.1fs for the restart of D"
            % (time.monotonic() - t_pause))
    t_done = time.monotonic()
    check(st["status"] == "completed", "migration %s (%s)"
          % (st["status"], st.get("error-desc", "")))

    # ---- the destination runs, the MAC tables follow at once ----
    # (the window starts when the destination QEMU reports running: on
    # a loaded host loading the device state and starting the rings on
    # the restarted vswd takes a while after the source is done)
    deadline = t_done + 60
    while True:
        dst_status = q_dst.cmd("query-status").get("status")
        if dst_status == "running" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    t_run = time.monotonic()
    check(dst_status == "running", "destination runs (%s, %.1fs after "
          "the source completed)" % (dst_status, t_run - t_done))
    moved = {}
    while time.monotonic() - t_run < 5 and len(moved) < 2:
        for vs, want in ((vsd, "p-dst"), (vss, "p-link")):
            if vs not in moved and sm.fdb_port(vs, sm.MAC) == want:
                moved[vs] = time.monotonic() - t_run
        time.sleep(0.02)
    for vs, want in ((vsd, "p-dst"), (vss, "p-link")):
        check(vs in moved, "%s's MAC table: %s on %s within 5 s of the "
              "destination running (now on %s)"
              % (os.path.basename(vs.dir), sm.MAC, want,
                 sm.fdb_port(vs, sm.MAC)))
    log("migration: %.1fs total (QEMU: total %s ms, downtime %s ms, "
        "%s MiB transferred); destination running %.2fs after the "
        "source completed; MAC on D's p-dst %.2fs, on S's p-link %.2fs "
        "after that"
        % (t_done - t_mig, st.get("total-time"), st.get("downtime"),
           st.get("ram", {}).get("transferred", 0) >> 20, t_run - t_done,
           moved[vsd], moved[vss]))
    q_src.close()
    q_dst.close()
    with open(vss.log_path) as f:
        slog = f.read()
    starts = slog.split("----- start ")
    check("dirty log:" in starts[-1], "vswd S (start %d) mapped QEMU's "
          "dirty log" % vss.starts)

    # ---- both streams complete and match ----
    sm.finish_streams(peer, src, dst, src_sum, t_mig, t_done,
                      st.get("downtime"))
    src.stop()


def valid(variant):
    case, _, ring = variant.rpartition("-")
    return case in CASES and ring in ("split", "packed")


def main():
    if sys.argv[3:4] == ["src-active-packed"]:  # src-running-packed: why
        # QEMU 7.2 keeps no packed-ring position across a back-end
        # disconnect: see docs/vhost-user.md, "Across a vswd restart"
        print("src-active-packed: not possible with QEMU's vhost-user "
              "net (packed ring position lost on reconnect)",
              file=sys.stderr)
        return 2
    return vi.variant_main(__doc__, test, valid, "namespaces, veth")


if __name__ == "__main__":
    sys.exit(main())
