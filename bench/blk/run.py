#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/blk/run.py [--build-dir DIR] [--reps N] [--runtime S] [--quick]

vsw-blk beside qemu-storage-daemon, fio in one Linux guest (QEMU TCG, the
harness of tests/integ/guest): one guest with two vhost-user-blk-pci disks
on the same raw image file, vda served by vsw-blk, vdb by
qemu-storage-daemon's vhost-user-blk export, both started for performance:

  vsw-blk  --direct (O_DIRECT) --queues Q
  qsd      --object iothread,id=iot0
           --blockdev file,aio=io_uring,cache.direct=on
           --export type=vhost-user-blk,iothread=iot0,num-queues=Q

The guest runs the same fio jobs (--ioengine=libaio --direct=1) against
each disk in turn: 4 KiB random read at iodepth 32, 1 MiB sequential read
and write at iodepth 8. Repetition r runs every job on every disk, the
order of the disks rotated each repetition (ABBA for two); the table shows
the median and the range over the repetitions.

Each back end's own counters are read in the same run, at the start and
end of each job (the guest prints a marker and waits 1 s before fio so the
host can sample): CPU time of the process (utime + stime of all threads,
/proc/PID/stat, io_uring workers included) and requests it served
(vsw-blk: its `stats: requests=` line on SIGUSR1; qemu-storage-daemon:
QMP query-blockstats of its export, or fio's I/O count when that stays
zero), and its system calls (`perf stat -e raw_syscalls:sys_enter -p`,
if perf is installed). CPU and system calls are divided by fio's I/O count
(the same for every back end). CPU ns and system calls per I/O are the honest
comparison of the back ends: under TCG the guest is the bottleneck (the
QEMU process's own CPU is shown too). --also NAME=EXE adds one more
vsw-blk disk (another build) to the same guest.

Host-side rows (host-*): after the guest is gone, bench/blk/vsw-blkload
(vsw's own vhost-user-blk front end on lib/virtq, one queue) keeps 32
random 4 KiB reads (8 of 1 MiB) in flight against each back end in turn
for --host-seconds, waiting for the back end's interrupt when nothing is
used, like a guest: no TCG in the path, so these rows do rank the back
ends by IOPS; CPU and system calls per request as above.

The image (--size-mb, default 1024, filled with random data first) lives
in --image-dir, default /dev/shm (tmpfs, which supports O_DIRECT): the
back ends' own path is measured, not this VM's disk; pass a directory on a
real disk to include it. Nothing is asserted; about 10 min with the
defaults (--quick: 1 repetition, 5 s jobs).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "integ", "guest"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integ", "blk"))
import guest  # noqa: E402
import test_guest_blk  # noqa: E402

# qsd answers GET_ID with "vhost_user_blk"; each vsw-blk with its name
QSD_SERIAL = "vhost_user_blk"
# name, fio arguments
JOBS = [
    ("randread-4k-qd32", "--rw=randread --bs=4k --iodepth=32"),
    ("read-1m-qd8", "--rw=read --bs=1M --iodepth=8"),
    ("write-1m-qd8", "--rw=write --bs=1M --iodepth=8"),
]
# host-side rows (bench/blk/vsw-blkload.c, no guest): name, bytes, depth
HOST_JOBS = [
    ("host-randread-4k-qd32", 4096, 32),
    ("host-randread-1m-qd8", 1 << 20, 8),
]

# the modules and /dev/vda as the blk test loads them, then the other disks
GUEST = test_guest_blk.LOAD + r"""
i=0
while [ $i -lt 100 ] && [ ! -b /dev/vd%(last)s ]; do usleep 100000; i=$((i + 1)); done
for d in /sys/block/vd*; do
	s=$(cat $d/serial)
	echo "G-DISK ${d##*/} $s $(ls $d/mq | wc -l) $(cat $d/queue/max_sectors_kb)"
	case $s in
%(cases)s
	esac
done
%(checks)s
/usr/bin/fio --version || fail "fio does not run"
run() {
	echo "G-START $1 $2 $3"
	sleep 1
	/usr/bin/fio --name=$2 --filename=$4 --ioengine=libaio --direct=1 \
		--time_based --runtime=%(runtime)d --size=%(size)dM \
		--minimal $5 >/tmp/out 2>/tmp/err || { cat /tmp/err; fail "fio $2 $3"; }
	echo "G-END $1 $2 $3 $(cat /tmp/out)"
}
rep=0
while [ $rep -lt %(reps)d ]; do
	case $((rep %% %(nback)d)) in
%(body)s
	esac
	rep=$((rep + 1))
done
echo G-OK
"""


def guest_script(args, backs):
    """backs: [(name, serial)] in the guests's disk order. Repetition r
    runs every job on every disk, the disk order rotated by r."""
    var = lambda i: "d%d" % i  # noqa: E731
    cases = "\n".join("\t%s) %s=/dev/${d##*/} ;;" % (ser, var(i))
                      for i, (_, ser) in enumerate(backs))
    checks = "\n".join('[ -n "$%s" ] || fail "no disk %s"' % (var(i), ser)
                       for i, (_, ser) in enumerate(backs))
    body = []
    for r in range(len(backs)):
        order = [(i + r) % len(backs) for i in range(len(backs))]
        lines = []
        for name, fargs in JOBS:
            if name not in args.jobs:
                continue
            for i in order:
                lines.append('\t\trun $rep %s %s $%s "%s"' %
                             (name, backs[i][0], var(i), fargs))
        body.append("\t%d)\n%s\n\t\t;;" % (r, "\n".join(lines)))
    return GUEST % {"last": chr(ord("a") + len(backs) - 1), "cases": cases,
                    "checks": checks, "runtime": args.runtime,
                    "size": args.size_mb, "reps": args.reps,
                    "nback": len(backs), "body": "\n".join(body)}


def cpu_s(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def daemon(argv, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)
    log.close()
    return proc


def wait_for(what, cond, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.05)


class VswBlk:
    """vsw-blk; requests() asks for its counters with SIGUSR1."""

    def __init__(self, name, exe, disk, queues, work):
        self.name, self.serial = name, name
        self.log = os.path.join(work, name + ".log")
        self.sock = sock = os.path.join(work, name + ".sock")
        self.proc = daemon([exe, "--socket", sock, "--disk", disk,
                            "--queues", str(queues), "--direct",
                            "--serial", name], self.log)
        wait_for("vsw-blk socket", lambda: os.path.exists(sock))

    def _stats(self):
        with open(self.log) as f:
            return re.findall(r"stats: requests=(\d+)", f.read())

    def requests(self):
        n = len(self._stats())
        self.proc.send_signal(signal.SIGUSR1)
        wait_for("vsw-blk stats", lambda: len(self._stats()) > n, 10)
        return int(self._stats()[-1])


class Qsd:
    """qemu-storage-daemon with a QMP monitor for query-blockstats."""

    def __init__(self, disk, queues, work):
        self.name, self.serial = "qsd", QSD_SERIAL
        self.log = os.path.join(work, "qsd.log")
        self.sock = sock = os.path.join(work, "qsd.sock")
        qmp = os.path.join(work, "qmp.sock")
        self.proc = daemon([
            "qemu-storage-daemon",
            "--object", "iothread,id=iot0",
            "--blockdev", "driver=file,node-name=disk,filename=%s,"
            "aio=io_uring,cache.direct=on" % disk,
            "--export", "type=vhost-user-blk,id=exp0,node-name=disk,"
            "addr.type=unix,addr.path=%s,writable=on,num-queues=%d,"
            "iothread=iot0" % (sock, queues),
            "--chardev", "socket,id=qmp,path=%s,server=on,wait=off" % qmp,
            "--monitor", "chardev=qmp"], self.log)
        wait_for("qsd sockets",
                 lambda: os.path.exists(sock) and os.path.exists(qmp))
        self.qmp = socket.socket(socket.AF_UNIX)
        self.qmp.connect(qmp)
        self.rf = self.qmp.makefile("r")
        self.rf.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **a):
        self.qmp.sendall(json.dumps({"execute": name,
                                     "arguments": a}).encode() + b"\n")
        while True:
            r = json.loads(self.rf.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))

    def requests(self):
        n = 0
        for dev in self.cmd("query-blockstats", **{"query-nodes": True}):
            s = dev["stats"]
            n += (s["rd_operations"] + s["wr_operations"] +
                  s["flush_operations"])
        return n


class Syscalls:
    """System calls of one process over a job: `perf stat -e
    raw_syscalls:sys_enter -p PID` (every thread), or None without perf."""

    def __init__(self, pid, work):
        self.out = os.path.join(work, "perf-%d.csv" % pid)
        self.proc = None
        if shutil.which("perf"):
            self.proc = subprocess.Popen(
                ["perf", "stat", "-x", ",", "-o", self.out, "-e",
                 "raw_syscalls:sys_enter", "-p", str(pid)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)

    def count(self):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        with open(self.out) as f:
            for ln in f:
                v = ln.split(",")
                if len(v) > 2 and "sys_enter" in v[2] and v[0].isdigit():
                    return int(v[0])
        return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fill(path, size_mb):
    with open("/dev/urandom", "rb") as src, open(path, "wb") as dst:
        chunk = 1 << 20
        for _ in range(size_mb):
            dst.write(src.read(chunk))


def build_image(args):
    """The test guest (cached), + virtio_blk (blk-image.sh), + fio."""
    img = guest.build_image(os.path.join(args.img_dir, "img"))
    for script, dst in (
            (os.path.join(ROOT, "tests", "integ", "blk", "blk-image.sh"),
             "blkimg"),
            (os.path.join(HERE, "fio-image.sh"), "fioimg")):
        r = subprocess.run([script, img, os.path.join(args.img_dir, dst)],
                           stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed (rc=%d)" % (script, r.returncode))
        img = r.stdout.strip().splitlines()[-1]
    return img


def med(xs):
    return statistics.median(xs) if xs else 0.0


def rng(xs, fmt):
    if len(xs) < 2:
        return fmt % med(xs)
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med(xs), min(xs), max(xs))


def table(results, names):
    """results[(job, back)] = list of per-repetition dicts. CPU and system
    calls are per fio I/O, the same denominator for every back end (a 1 MiB
    I/O may reach a back end as several virtio requests: the column before
    says how many, where the back end counts them)."""
    out = ["| job | back end | IOPS | MB/s | clat us (fio) | back-end "
           "requests / fio I/O | back-end CPU, % of a core | back-end CPU "
           "ns / I/O | back-end system calls / I/O | guest (QEMU) CPU, % "
           "of a core |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name, _ in JOBS + [(n, None) for n, _, _ in HOST_JOBS]:
        for back in names:
            rs = [r for r in results.get((name, back), []) if r["ios"]]
            if not rs:
                continue
            sys_rs = [r["syscalls"] / r["ios"] for r in rs
                      if r["syscalls"] is not None]
            own = all(r["own"] for r in rs)
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                       % (
                           name, back,
                           rng([r["iops"] for r in rs], "%.0f"),
                           rng([r["mbs"] for r in rs], "%.1f"),
                           "%.0f" % med([r["clat"] for r in rs])
                           if rs[0]["clat"] is not None else "-",
                           "%.2f" % med([r["req"] / r["ios"] for r in rs])
                           if own else "-",
                           "%.0f" % med([r["cpu"] * 100 / r["secs"]
                                         for r in rs]),
                           rng([r["cpu"] * 1e9 / r["ios"] for r in rs],
                               "%.0f"),
                           rng(sys_rs, "%.1f") if sys_rs else "-",
                           "%.0f" % med([r["qcpu"] * 100 / r["secs"]
                                         for r in rs])
                           if rs[0]["qcpu"] is not None else "-"))
    return "\n".join(out)


def host_rows(args, order, disk, work, results, samples):
    """vsw-blkload against each back end in turn (the guest is gone: the
    back ends take the next front end), the order rotated per repetition;
    the requests are the generator's count."""
    exe = os.path.join(args.build_dir, "bench", "vsw-blkload")
    sectors = os.path.getsize(disk) // 512
    for rep in range(args.reps):
        for name, bs, depth in HOST_JOBS:
            for k in range(len(order)):
                b = order[(k + rep) % len(order)]
                c0 = cpu_s(b.proc.pid)
                sc = Syscalls(b.proc.pid, work)
                t0 = time.monotonic()
                r = subprocess.run(
                    [exe, "--socket", b.sock, "--sectors", str(sectors),
                     "--seconds", str(args.host_seconds), "--bs", str(bs),
                     "--depth", str(depth)],
                    stdout=subprocess.PIPE, text=True,
                    timeout=args.host_seconds + 60)
                secs = time.monotonic() - t0
                c1 = cpu_s(b.proc.pid)
                nsys = sc.count()
                m = re.match(r"done (\d+) errors (\d+) seconds ([\d.]+)",
                             r.stdout)
                if r.returncode != 0 or m is None:
                    raise RuntimeError("vsw-blkload against %s: rc=%d %s" %
                                       (b.name, r.returncode, r.stdout))
                done, took = int(m.group(1)), float(m.group(3))
                s = {"rep": rep, "job": name, "back": b.name,
                     "iops": done / took, "mbs": done * bs / took / 1e6,
                     "clat": None, "ios": done, "req": done, "own": False,
                     "cpu": c1 - c0, "qcpu": None, "secs": secs,
                     "syscalls": nsys}
                samples.append(s)
                results.setdefault((name, b.name), []).append(s)
                print("rep %d %-21s %-8s %8.0f IOPS  back-end CPU %.2f s "
                      "-> %.0f ns/req; %s system calls" % (
                          rep, name, b.name, s["iops"], s["cpu"],
                          s["cpu"] * 1e9 / done if done else 0, nsys),
                      flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runtime", type=int, default=10,
                    help="seconds per fio job")
    ap.add_argument("--queues", type=int, default=2,
                    help="virtqueues of both back ends = guest vCPUs")
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--image-dir", default="/dev/shm",
                    help="where the raw image file goes")
    ap.add_argument("--img-dir", help="guest image cache "
                    "(default BUILD_DIR/bench-blk)")
    ap.add_argument("--jobs", default=",".join(j for j, _ in JOBS),
                    help="comma-separated subset of: " +
                    ", ".join(j for j, _ in JOBS))
    ap.add_argument("--also", action="append", default=[],
                    metavar="NAME=EXE", help="one more vsw-blk disk in the "
                    "same guest (e.g. a build before a change), NAME at "
                    "most 20 bytes; repeatable")
    ap.add_argument("--quick", action="store_true",
                    help="1 repetition of 5 s jobs")
    ap.add_argument("--host-seconds", type=float, default=5,
                    help="seconds of each host-side row (vsw-blkload, no "
                    "guest); 0: none")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--table", metavar="JSON", help="only print the table "
                    "of the samples a --json run saved")
    args = ap.parse_args()
    if args.table:
        with open(args.table) as f:
            samples = json.load(f)
        results, names = {}, []
        for s in samples:
            results.setdefault((s["job"], s["back"]), []).append(s)
            if s["back"] not in names:
                names.append(s["back"])
        print(table(results, names))
        return 0
    if args.quick:
        args.reps, args.runtime, args.host_seconds = 1, 5, 2
    args.jobs = args.jobs.split(",")
    for j in args.jobs:
        if j not in [n for n, _ in JOBS]:
            ap.error("--jobs: unknown job %r" % j)
    vsws = [("vsw-blk", None)]
    for a in args.also:
        name, _, path = a.partition("=")
        if not path or len(name) > 20 or name in ("vsw-blk", "qsd"):
            ap.error("--also %r: NAME=EXE, NAME new and <= 20 bytes" % a)
        vsws.append((name, os.path.abspath(path)))
    args.build_dir = os.path.abspath(args.build_dir)
    args.img_dir = os.path.abspath(args.img_dir or os.path.join(
        args.build_dir, "bench-blk"))
    exe = os.path.join(args.build_dir, "programs", "blk", "vsw-blk")
    vsws[0] = ("vsw-blk", exe)
    tools = [e for _, e in vsws] + [guest.QEMU, "qemu-storage-daemon", "fio"]
    if args.host_seconds > 0:
        tools.append(os.path.join(args.build_dir, "bench", "vsw-blkload"))
    for tool in tools:
        if shutil.which(tool) is None:
            print("missing: %s" % tool, file=sys.stderr)
            return 2
    image = build_image(args)
    work = tempfile.mkdtemp(prefix="vsw-bench-blk-")
    disk = os.path.join(args.image_dir, "vsw-bench-blk-%d.img" % os.getpid())
    print("logs in %s; image %s (%d MiB, random data)" %
          (work, disk, args.size_mb), flush=True)
    procs = []
    g = None
    results = {}
    samples = []
    load0 = os.getloadavg()
    try:
        fill(disk, args.size_mb)
        order = []
        for name, path in vsws[:1] + [("qsd", None)] + vsws[1:]:
            if path is None:
                b = Qsd(disk, args.queues, work)
            else:
                b = VswBlk(name, path, disk, args.queues, work)
            procs.append(b.proc)
            order.append(b)
        backs = {b.name: b for b in order}
        extra = []
        for i, b in enumerate(order):
            extra += ["-chardev", "socket,id=c%d,path=%s" % (i, b.sock),
                      "-device", "vhost-user-blk-pci,chardev=c%d,vectors=0,"
                      "num-queues=%d" % (i, args.queues)]
        g = guest.Guest("bench", image, os.path.join(work, "guest.log"),
                        memfd=True, mem_mb=1024, smp=args.queues,
                        script=guest_script(args, [(b.name, b.serial)
                                                   for b in order]),
                        script_via="fw_cfg", extra_args=extra)
        g.start()
        i = 0
        per_job = args.runtime + 60
        while True:
            m = g.wait_for(r"G-(START|END|OK|FAIL|DISK)(.*)", 300 + per_job,
                           i)
            i = g.lines.index(m.string, i) + 1
            kind, rest = m.group(1), m.group(2).split()
            if kind == "OK":
                break
            if kind == "FAIL":
                raise RuntimeError("guest: " + m.string)
            if kind == "DISK":
                print("guest disk %s" % " ".join(rest), flush=True)
                continue
            rep, job, back = rest[0], rest[1], rest[2]
            b = backs[back]
            if kind == "START":
                t0 = time.monotonic()
                c0, q0, r0 = cpu_s(b.proc.pid), cpu_s(g.proc.pid), \
                    b.requests()
                sc = Syscalls(b.proc.pid, work)
                continue
            c1, q1, r1 = cpu_s(b.proc.pid), cpu_s(g.proc.pid), b.requests()
            nsys = sc.count()
            secs = time.monotonic() - t0
            f = rest[3].split(";")
            rd = job.startswith(("rand", "read"))
            kb, bw, iops = (float(f[5]), float(f[6]), float(f[7])) if rd \
                else (float(f[46]), float(f[47]), float(f[48]))
            clat = float(f[15]) if rd else float(f[56])
            bs = 4 if "4k" in job else 1024
            ios = kb / bs
            own = r1 - r0 > 0
            s = {"rep": int(rep), "job": job, "back": back, "iops": iops,
                 "mbs": bw * 1024 / 1e6, "clat": clat, "ios": ios,
                 "req": (r1 - r0) if own else ios, "own": own,
                 "cpu": c1 - c0, "qcpu": q1 - q0, "secs": secs,
                 "syscalls": nsys}
            samples.append(s)
            results.setdefault((job, back), []).append(s)
            print("rep %s %-17s %-8s %8.0f IOPS %7.1f MB/s  back-end CPU "
                  "%.2f s over %.1f s, %d requests (%s) -> %.0f ns/req; "
                  "QEMU CPU %.1f s; %s system calls" % (
                      rep, job, back, iops, s["mbs"], s["cpu"], secs,
                      s["req"], "own" if own else "fio",
                      s["cpu"] * 1e9 / s["req"] if s["req"] else 0,
                      s["qcpu"], nsys), flush=True)
        g.wait_exit(60)
        g.stop()
        g = None
        if args.host_seconds > 0:
            host_rows(args, order, disk, work, results, samples)
    finally:
        if g is not None:
            g.stop()
        for p in procs:
            stop(p)
        if os.path.exists(disk):
            os.unlink(disk)
    load1 = os.getloadavg()
    print()
    print("%d repetitions of %d s jobs, %d queues, image %d MiB in %s; "
          "load average %.2f before, %.2f after" % (
              args.reps, args.runtime, args.queues, args.size_mb,
              args.image_dir, load0[0], load1[0]))
    print()
    print(table(results, [b.name for b in order]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(samples, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
