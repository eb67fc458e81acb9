#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""switch_migrate.py BUILDDIR WORKDIR VARIANT

Live migration of a QEMU guest (TCG) between two vhost-user ports of one
vswd bridge, while a host endpoint streams TCP to it in both directions.

  guest M (source QEMU)   10.0.60.2/24  port p-src (vhostuser)
  guest M (destination)   same MAC/IP   port p-dst (vhostuser), QEMU
                                        started with -incoming tcp:...
  namespace H             10.0.60.1/24  port p-tap (tap moved into H)

VARIANT: split | packed, then -mrg or -nomrg, then -announce (the guest
announces itself: GUEST_ANNOUNCE) or -rarp (guest_announce=off: QEMU asks
vswd for SEND_RARP), e.g. split-mrg-announce, packed-nomrg-rarp.

Checks:
 1. M pings H; the MAC table has M on p-src.
 2. H sends a paced pseudo-random stream to M (M stores it in its RAM, so
    a dirty page vswd wrote and did not log reaches the destination stale)
    and reads, paced, a random file M sends; `migrate` over QMP moves M to
    the destination QEMU meanwhile, at 16 MiB/s (VSW_MIG_BW), so that
    the copy takes seconds and rounds and M's receive buffers are written
    while their pages are copied.  The migration completes; vswd's log
    shows the dirty log and, for -rarp, the RARP request.
 3. Right after the switch-over the MAC table has M on p-dst (within 3 s,
    long before M's own traffic would have taught it: H only receives).
 4. Both streams complete; md5 and size match on both ends (M's side
    read through the destination QEMU's agent), no TCP checksum errors in
    M; the loss window (longest
    stall of each stream) and QEMU's downtime are reported.
Namespaces and interfaces are named after this process id.

Migration across a vswd restart: switch_migrate_restart.py.

Guest RAM is a file on tmpfs for both QEMUs and the destination starts
paused (-S): after the move both copies are compared page by page (each
differing page is listed, with the ring area it holds, and both RAM files
are kept in the work folder), then the destination is resumed.
VSW_MIG_BW=BYTES_PER_S sets max-bandwidth (default 16 MiB/s; 0: QEMU's
default, a sub-second copy); the streams are paced slower in proportion.

Guest RAM is 8 KiB past a multiple of 256 KiB (MEM_TAIL_KIB below): with
QEMU < 9.0 under TCG an aligned size loses pages the guest's CPU writes
during the copy, a QEMU bug (MEM_TAIL_KIB, docs/vhost-user.md).  Note:
x-query-virtio-queue-status on a running vhost-user device sends
GET_VRING_BASE, which stops the ring; query the paused destination only.
"""

import json
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vswinteg as vi  # noqa: E402
from vswinteg import check, log, run  # noqa: E402

BR = "br1"
M_IP, H_IP = "10.0.60.2", "10.0.60.1"
MAC = "52:54:00:00:0d:02"
# Sizes and pacing: each stream runs about 8-13 s at pace 1 (15-26 s at
# 16 MiB/s, pace 2), the move starts at 3 s.
SRC_KIB = 6144          # M -> H
H_BYTES = 16 << 20      # H -> M
MEM_MB = 128
# Guest RAM 8 KiB past 128 MiB, for QEMU < 9.0 under TCG: when a RAM
# block's size is a multiple of 64 pages, its dirty-bitmap sync takes a
# word-at-a-time path that clears the dirty bits without re-arming TCG's
# TLB write trap ("notdirty"), so stores the guest CPU then makes through
# TLB entries it already holds are never marked, and the destination gets
# stale copies of those pages (fixed upstream by "physmem: Fix migration
# dirty bitmap coherency with TCG memory access", QEMU 9.0). A size that
# is not such a multiple takes the page-by-page path, which re-arms the
# trap. VSW_MIG_MEM_TAIL_KIB=0 shows the bug (docs/vhost-user.md).
MEM_TAIL_KIB = int(os.environ.get("VSW_MIG_MEM_TAIL_KIB", 8))

# Runs in namespace H: both streams, paced so they span the migration.
# Prints one JSON line: md5 / size of each direction, longest stalls.
NS_PEER = r"""
import hashlib, json, random, socket, sys, threading, time
ip, nbytes = sys.argv[1], int(sys.argv[2])
pace = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
res = {}

def connect(port):
    for i in range(60):
        try:
            return socket.create_connection((ip, port), timeout=120)
        except OSError:
            time.sleep(0.5)
    sys.exit("connect %s:%d failed" % (ip, port))

def send():
    s = connect(5001)
    rnd, h, left, gap = random.Random(13), hashlib.md5(), nbytes, 0
    t_start = time.monotonic()
    while left:
        b = rnd.randbytes(min(32768, left))
        t0 = time.monotonic()
        s.sendall(b)
        gap = max(gap, time.monotonic() - t0)
        h.update(b)
        left -= len(b)
        time.sleep(0.025 * pace)
    s.close()
    res["to_m"] = {"md5": h.hexdigest(), "bytes": nbytes,
                   "stall": round(gap, 3), "t0": t_start,
                   "t1": time.monotonic()}

def recv():
    s = connect(5002)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    h, size, gap, last = hashlib.md5(), 0, 0, time.monotonic()
    t_start = last
    while True:
        b = s.recv(8192)
        now = time.monotonic()
        if not b:
            break
        gap = max(gap, now - last)
        last = now
        h.update(b)
        size += len(b)
        time.sleep(0.01 * pace)
    res["from_m"] = {"md5": h.hexdigest(), "bytes": size,
                     "stall": round(gap, 3), "t0": t_start, "t1": last}

ts = [threading.Thread(target=f) for f in (send, recv)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(res), flush=True)
if len(res) != 2:
    sys.exit("a stream failed")
"""

# In M before the move: a random file to send, both nc servers.
M_SERVE = """\
dd if=/dev/urandom of=/tmp/src bs=1024 count=%(kib)d 2>/dev/null
mkfifo /tmp/hold 2>/dev/null
(exec 3<>/tmp/hold
 nc -l -p 5001 <&3 >/tmp/rx; echo "RX rc=$?" >/tmp/rxrc) >/dev/null 2>&1 &
(nc -l -p 5002 </tmp/src; echo "TX rc=$?" >/tmp/txrc) >/dev/null 2>&1 &
sleep 0.5
echo "SRC md5=$(md5sum </tmp/src | cut -d' ' -f1) bytes=$(wc -c </tmp/src)"
"""

# In M after the move (through the destination's agent).
M_COLLECT = """\
i=0
until [ -f /tmp/rxrc ] && [ -f /tmp/txrc ]; do
	i=$((i + 1)); [ $i -lt 120 ] || exit 1; sleep 1
done
cat /tmp/rxrc /tmp/txrc
echo "GOT md5=$(md5sum </tmp/rx | cut -d' ' -f1) bytes=$(wc -c </tmp/rx)"
# a frame vswd wrote into a page it did not log arrives stale: it fails
# the guest's checksums (or, if it passes, corrupts the file above)
awk '/^Tcp:/ { if (h) { for (i = 1; i <= NF; i++) if (h[i] == "InCsumErrors") t = $i } else split($0, h) }
     END { print "CSUMERR tcp=" t+0 }' /proc/net/snmp
"""


class Qmp:
    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise vi.Fail("no QMP socket " + path)
                time.sleep(0.1)
        self.f = self.s.makefile("rw")
        self._read()                       # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise vi.Fail("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        msg = self._read()
        if "error" in msg:
            raise vi.Fail("QMP %s: %s" % (name, msg["error"]))
        return msg["return"]

    def close(self):
        self.s.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ns(name, *args, check_rc=True):
    return run(["ip", "netns", "exec", name] + list(args),
               check_rc=check_rc)


def fdb_port(vs, mac):
    for e in vs.json("fdb-show", BR)["entries"]:
        if e["mac"] == mac:
            return e["port"]
    return None


def finish_streams(peer, src, dst, src_sum, t_mig, t_done, downtime):
    """The end of a migration under the NS_PEER streams (exported for
    switch_migrate_restart.py): wait for the host peer, take over the
    agent in the destination dst (src: the source's AgentGuest), check
    that both streams ran across the move [t_mig, t_done] and arrived
    whole (src_sum: M_SERVE's SRC line), no TCP checksum errors in M; log
    the loss window."""
    try:
        pout, perr = peer.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        raise vi.Fail("the host streams did not finish")
    check(peer.returncode == 0, "host peer exit %d: %s"
          % (peer.returncode, perr.strip()))
    res = json.loads(pout.strip().splitlines()[-1])
    for d in ("to_m", "from_m"):
        check(res[d]["t0"] < t_mig and res[d]["t1"] > t_done,
              "stream %s ran across the move (%.1fs before it started, "
              "%.1fs after it ended)"
              % (d, t_mig - res[d]["t0"], res[d]["t1"] - t_done))
    dst.attach(src)
    out = dst.ok(M_COLLECT, "collect in M (destination)", timeout=180)
    check("RX rc=0" in out and "TX rc=0" in out,
          "M's nc servers ended cleanly (%s)" % out)
    got = "GOT md5=%s bytes=%d" % (res["to_m"]["md5"], H_BYTES)
    check(got in out, "H -> M: %d bytes, md5 %s, across the move (M has "
          "%s)" % (H_BYTES, res["to_m"]["md5"], out))
    want = "SRC md5=%s bytes=%d" % (res["from_m"]["md5"],
                                    res["from_m"]["bytes"])
    check(src_sum == [want] and res["from_m"]["bytes"] == SRC_KIB * 1024,
          "M -> H: %d bytes, md5 matches M's file (%s vs %s)"
          % (res["from_m"]["bytes"], src_sum, want))
    csum = [line for line in out if line.startswith("CSUMERR ")]
    check(csum == ["CSUMERR tcp=0"], "M saw no TCP checksum errors (%s)"
          % csum)
    log("loss window: H -> M longest send stall %.2fs, M -> H longest "
        "receive gap %.2fs (QEMU downtime %s ms)"
        % (res["to_m"]["stall"], res["from_m"]["stall"], downtime))


PAGE = 4096


def ram_diff(path_a, path_b, chunk=1 << 20):
    """Guest pages (4 KiB, by offset = guest-physical address on a pc
    machine under 3.5 GiB) whose bytes differ between two RAM files, with
    the first and last differing byte of each: [(gpa, first, last)]."""
    out = []
    with open(path_a, "rb") as fa, open(path_b, "rb") as fb:
        off = 0
        while True:
            a, b = fa.read(chunk), fb.read(chunk)
            if not a and not b:
                break
            if a != b:
                for p in range(0, max(len(a), len(b)), PAGE):
                    pa, pb = a[p:p + PAGE], b[p:p + PAGE]
                    if pa == pb:
                        continue
                    d = [i for i in range(min(len(pa), len(pb)))
                         if pa[i] != pb[i]] or [0]
                    out.append((off + p, d[0], d[-1]))
            off += chunk
    return out


def ring_areas(q):
    """{name: (gpa, bytes)} of the virtio-net rings of a QEMU (QMP q),
    from x-query-virtio-queue-status (QEMU 7.2)."""
    areas = {}
    try:
        devs = q.cmd("x-query-virtio")
    except vi.Fail as e:
        log("no ring addresses: %s" % e)
        return areas
    for dev in devs:
        if dev.get("name") != "virtio-net":
            continue
        for i in range(3):
            try:
                st = q.cmd("x-query-virtio-queue-status",
                           path=dev["path"], queue=i)
            except vi.Fail:
                break
            num = st.get("vring-num", 256)
            areas["q%d desc" % i] = (st["vring-desc"], 16 * num)
            areas["q%d driver" % i] = (st["vring-avail"], 6 + 2 * num)
            areas["q%d device" % i] = (st["vring-used"], 6 + 8 * num)
    return areas


def describe_pages(diff, areas):
    """One line per differing page, naming the ring area it holds."""
    lines = []
    for gpa, first, last in diff:
        what = [n for n, (a, ln) in areas.items()
                if a < gpa + PAGE and gpa < a + ln]
        lines.append("page 0x%x bytes %d..%d differ%s"
                     % (gpa, first, last,
                        (" (" + ", ".join(what) + ")") if what else ""))
    return lines


def test(builddir, workdir, variant, cleanup, dumps):
    ring, mrg, announce = variant.split("-")
    dev_opts = []
    if ring == "packed":
        dev_opts.append("packed=on")
    if mrg == "nomrg":
        dev_opts.append("mrg_rxbuf=off")
    if announce == "rarp":
        dev_opts.append("guest_announce=off")
    img = vi.image(workdir)
    pid = os.getpid()
    ns_h = "vsw-mig-%d" % pid
    tap = "vsmt%d" % (pid % 10**7)

    vs = vi.Vswd(builddir, workdir, cleanup)
    dumps.append(vs)
    vs.start()
    vs.ctl("del-br", "br0")
    vs.ctl("add-br", BR)
    socks = {}
    for p in ("p-src", "p-dst"):
        socks[p] = os.path.join(workdir, "%s.vhu" % p)
        if os.path.exists(socks[p]):
            os.unlink(socks[p])
        vs.ctl("add-port", BR, p, "type=vhostuser", "path=" + socks[p])
    port = free_port()
    qmp_path = {n: os.path.join(workdir, "%s.qmp" % n) for n in ("M", "MD")}
    guests = {}
    # guest RAM in files on tmpfs: after the move, with both QEMUs
    # stopped, the two copies must be equal page for page
    ram = {n: "/dev/shm/vsw-mig-%d-%s.ram" % (pid, n) for n in ("M", "MD")}
    for n, p in (("M", "p-src"), ("MD", "p-dst")):
        net = vi.guest.vhost_user_net("n0", MAC, socks[p],
                                      device_opts=",".join(dev_opts))
        g = vi.AgentGuest(n, img, workdir, cleanup, net,
                          ips=[M_IP + "/24"], mem_mb=MEM_MB,
                          mem_path=ram[n])
        cleanup.push("ram " + n, lambda f=ram[n]: os.path.exists(f) and
                     os.unlink(f))
        g.g.mem_tail_kib = MEM_TAIL_KIB
        g.g.extra_args += ["-qmp", "unix:%s,server=on,wait=off"
                           % qmp_path[n]]
        if n == "MD":
            # paused after the move (as libvirt does), so its memory can
            # be compared with the source's before it runs
            g.g.extra_args += ["-S", "-incoming",
                               "tcp:127.0.0.1:%d" % port]
        dumps.append(g)
        guests[n] = g
    src, dst = guests["M"], guests["MD"]
    src.start()

    run(["ip", "netns", "add", ns_h])
    cleanup.push("netns " + ns_h, lambda: run(["ip", "netns", "del", ns_h]))
    ns(ns_h, "ip", "link", "set", "lo", "up")
    vs.ctl("add-port", BR, "p-tap", "type=tap", "ifname=" + tap)
    cleanup.push("port p-tap", lambda: vs.ctl("del-port", BR, "p-tap",
                                              check_rc=False))
    run(["ip", "link", "set", tap, "netns", ns_h])
    ns(ns_h, "ip", "addr", "add", H_IP + "/24", "dev", tap)
    ns(ns_h, "ip", "link", "set", tap, "up")

    log("guest M ready after %.1fs" % src.wait_ready())
    vs.wait_links(["p-src", "p-tap"])
    # the destination QEMU waits for the migration stream
    dst.start()
    deadline = time.monotonic() + 60
    while not vi.guest.tcp_port_listening(port):
        if time.monotonic() > deadline or dst.g.proc.poll() is not None:
            raise vi.Fail("destination QEMU does not listen on %d" % port)
        time.sleep(0.1)

    # ---- 1. before ----
    log("M reaches H after %.1fs" % vi.wait_reach(src, H_IP))
    check(fdb_port(vs, MAC) == "p-src", "MAC table: %s on p-src" % MAC)

    # ---- 2. streams, and the move under them ----
    # 16 MiB/s: a copy of several seconds and rounds, with the guest
    # writing pages all along (0: QEMU's default, sub-second); the streams
    # are paced slower in proportion so that they span it.
    bw = int(os.environ.get("VSW_MIG_BW", 16 << 20))
    pace = max(1.0, (32 << 20) / bw) if bw > 0 else 1.0
    out = src.ok(M_SERVE % {"kib": SRC_KIB}, "start the servers in M")
    src_sum = [line for line in out if line.startswith("SRC ")]
    peer = subprocess.Popen(
        ["ip", "netns", "exec", ns_h, sys.executable, "-c", NS_PEER, M_IP,
         str(H_BYTES), str(pace)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    cleanup.push("peer", lambda: peer.poll() is None and peer.kill())
    time.sleep(3)                       # the streams run
    q_src = Qmp(qmp_path["M"])
    q_dst = Qmp(qmp_path["MD"])
    if bw > 0:
        q_src.cmd("migrate-set-parameters", **{"max-bandwidth": bw})
    t_mig = time.monotonic()
    q_src.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
    while True:
        st = q_src.cmd("query-migrate")
        if st.get("status") in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() - t_mig > 300:
            raise vi.Fail("migration still %s after 300 s" % st.get("status"))
        time.sleep(0.05)
    check(st["status"] == "completed", "migration %s (%s)"
          % (st["status"], st.get("error-desc", "")))
    t_paused = time.monotonic()
    deadline = t_paused + 60
    while q_dst.cmd("query-status").get("status") != "paused":
        if time.monotonic() > deadline:
            raise vi.Fail("destination not paused after the move: %s"
                          % q_dst.cmd("query-status"))
        time.sleep(0.05)
    diff = ram_diff(ram["M"], ram["MD"])
    # not before: on a running vhost device this query stops the rings
    # (QEMU sends GET_VRING_BASE); the paused destination answers from
    # the migrated state
    areas = ring_areas(q_dst)
    log("rings: " + ", ".join("%s 0x%x+%d" % (n, a, ln)
                              for n, (a, ln) in sorted(areas.items())))
    for line in describe_pages(diff, areas)[:50]:
        log(line)
    log("query-migrate: %s" % json.dumps(st))
    if diff:
        import shutil
        for n in ram:
            shutil.copy(ram[n], os.path.join(workdir, n + ".ram"))
    check(not diff, "guest memory equal on both sides after the move "
          "(%d pages differ)" % len(diff))
    q_dst.cmd("cont")
    t_done = time.monotonic()
    log("destination paused for the memory check: %.2fs"
        % (t_done - t_paused))
    # ---- 3. the MAC table follows at once ----
    moved = None
    while time.monotonic() - t_done < 3:
        if fdb_port(vs, MAC) == "p-dst":
            moved = time.monotonic() - t_done
            break
        time.sleep(0.02)
    check(moved is not None, "MAC table: %s on p-dst within 3 s of the "
          "switch-over (now on %s)" % (MAC, fdb_port(vs, MAC)))
    log("migration: %.1fs total (QEMU: total %s ms, downtime %s ms, "
        "%s MiB transferred); MAC on p-dst after %.2fs"
        % (t_done - t_mig, st.get("total-time"), st.get("downtime"),
           st.get("ram", {}).get("transferred", 0) >> 20, moved))
    dst_status = q_dst.cmd("query-status")
    check(dst_status.get("status") == "running",
          "destination runs (%s)" % dst_status.get("status"))
    q_src.close()
    q_dst.close()
    with open(vs.log_path) as f:
        vlog = f.read()
    check("dirty log:" in vlog, "vswd mapped QEMU's dirty log")
    if announce == "rarp":
        check("SEND_RARP: announcing " + MAC in vlog,
              "vswd got SEND_RARP for %s" % MAC)

    # ---- 4. both streams complete and match ----
    finish_streams(peer, src, dst, src_sum, t_mig, t_done, st.get("downtime"))
    src.stop()


def main():
    return vi.variant_main(__doc__, test,
                           lambda v: len(v.split("-")) == 3,
                           "namespaces, tap")


if __name__ == "__main__":
    sys.exit(main())
