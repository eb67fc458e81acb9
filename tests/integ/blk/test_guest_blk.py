#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_guest_blk.py --blk EXE --workdir DIR [--qsd] [--packed]

vsw-blk under a real Linux guest (Debian kernel + busybox, QEMU TCG, the
harness of tests/integ/guest) on -device vhost-user-blk-pci:

  1. boot 1: the guest checks what virtio_blk read from the config space
     (capacity, serial via GET_ID, two queues, discard), makes an ext2
     filesystem (busybox mke2fs; the ext4 driver mounts it), writes files
     of random data, a directory of small ones, syncs, fstrims (DISCARD),
     prints each file's sha256 and unmounts;
  2. boot 2 (a new QEMU against the same vsw-blk: a reconnect): the guest
     mounts the filesystem and checks every sum;
  3. the host stops vsw-blk (SIGTERM: exit 0), runs `e2fsck -fn` on the
     image and compares the sums of the files read with debugfs;
  4. --qsd (peer): qemu-storage-daemon's vhost-user-blk export of the same
     image, the same guest check as boot 2 plus one more file, then the
     host's e2fsck again.

--packed: the device with packed=on (VIRTIO_F_RING_PACKED), which the
guest checks it negotiated (bit 34 of the features in sysfs).

Exit status: 0 pass, 1 fail, 77 skip (no QEMU).
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))
import guest  # noqa: E402

DISK_MB = 64
SERIAL = "vsw-blk-test"

LOAD = r"""
fail() { echo "G-FAIL $*"; exit 1; }
while read -r m; do
	[ -d /sys/module/$(echo "$m" | tr - _) ] && continue
	insmod /lib/modules/blk/$m.ko || echo "G-WARN insmod $m"
done </etc/blk.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
[ -b /dev/vda ] || fail "no /dev/vda"
mkdir -p /mnt
"""

WRITE = LOAD + r"""
echo "G-SIZE $(cat /sys/block/vda/size)"
echo "G-SERIAL $(cat /sys/block/vda/serial)"
echo "G-MQ $(ls /sys/block/vda/mq | wc -l)"
echo "G-RO $(cat /sys/block/vda/ro)"
echo "G-PACKED $(cut -c35 /sys/block/vda/device/features)"
echo "G-DISCARD $(cat /sys/block/vda/queue/discard_max_bytes)"
echo "G-WZ $(cat /sys/block/vda/queue/write_zeroes_max_bytes)"
mke2fs -F /dev/vda >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out; fail mke2fs; }
mount -t ext2 /dev/vda /mnt || fail mount
dd if=/dev/urandom of=/mnt/big bs=65536 count=64 2>/dev/null || fail dd big
dd if=/dev/urandom of=/mnt/odd bs=1000 count=77 2>/dev/null || fail dd odd
mkdir /mnt/dir || fail mkdir
n=0
while [ $n -lt 100 ]; do
	echo "small file $n of vsw-blk" >/mnt/dir/f$n || fail "small $n"
	n=$((n + 1))
done
cat /mnt/dir/f* >/mnt/cat
sync || fail sync
fstrim -v /mnt || echo "G-WARN fstrim"
cd /mnt && sha256sum big odd cat dir/f0 dir/f99 | sed 's/^/G-SUM /'
cd /
umount /mnt || fail umount
echo G-OK
"""

VERIFY = LOAD + r"""
mount -t ext2 /dev/vda /mnt || fail mount
cd /mnt
cat >/tmp/sums <<'SUMS'
%(sums)s
SUMS
sha256sum -c /tmp/sums || fail "sums differ"
[ "$(ls /mnt/dir | wc -l)" = 100 ] || fail "dir has $(ls /mnt/dir | wc -l)"
%(extra)s
cd /
umount /mnt || fail umount
echo G-OK
"""


def boot(name, img, workdir, sock, script, queues, devopts=""):
    dev = "vhost-user-blk-pci,chardev=blk0,vectors=0"
    if devopts:
        dev += "," + devopts
    if queues > 1:
        dev += ",num-queues=%d" % queues
    g = guest.Guest(
        name, img, os.path.join(workdir, "guest-%s.log" % name),
        memfd=True, script=script, script_via="fw_cfg", smp=queues,
        extra_args=["-chardev", "socket,id=blk0,path=" + sock,
                    "-device", dev])
    # virtio_blk uses min(queues, vCPUs) queues: one vCPU per queue
    g.start()
    try:
        rc = g.wait_exit(600)
    finally:
        g.stop()
    out = g.output()
    for line in out:
        print("  [%s] %s" % (name, line))
    return rc, out


def daemon(args, log_path):
    """Start a daemon, its stderr into log_path (never a pipe it could
    fill up while nobody reads)."""
    log = open(log_path, "w")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    return proc


def wait_log(proc, log_path, rx, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log_path) as f:
            if re.search(rx, f.read(), re.M):
                return True
        time.sleep(0.1)
    return False


def stop(proc, what, log_path):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    with open(log_path) as f:
        for line in f.read().splitlines():
            print("  [%s] %s" % (what, line))
    return rc


def host_check(disk, sums, failures, what):
    r = subprocess.run(["e2fsck", "-fn", disk], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    print("  [e2fsck %s] rc=%d %s" % (what, r.returncode,
                                      r.stdout.strip().splitlines()[-1:]))
    if r.returncode != 0:
        failures.append("%s: e2fsck -fn rc=%d:\n%s" %
                        (what, r.returncode, r.stdout))
    for name, want in sums.items():
        r = subprocess.run(["debugfs", "-R", "cat /" + name, disk],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        got = hashlib.sha256(r.stdout).hexdigest()
        if got != want:
            failures.append("%s: host reads %s as %s, guest wrote %s" %
                            (what, name, got, want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blk", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--qsd", action="store_true",
                    help="also the qemu-storage-daemon peer")
    ap.add_argument("--packed", action="store_true",
                    help="packed virtqueues (packed=on)")
    ap.add_argument("--image", help="base image dir (default WORKDIR/img)")
    a = ap.parse_args()

    if shutil.which(guest.QEMU) is None:
        print("SKIP: %s not found" % guest.QEMU)
        return 77
    for tool in ("e2fsck", "debugfs"):
        if shutil.which(tool) is None:
            print("SKIP: %s not found (e2fsprogs)" % tool)
            return 77
    os.makedirs(a.workdir, exist_ok=True)
    base = guest.build_image(a.image or os.path.join(a.workdir, "img"))
    tmp = tempfile.mkdtemp(prefix="vsw-blk-guest-", dir=a.workdir)
    r = subprocess.run([os.path.join(HERE, "blk-image.sh"), base,
                        os.path.join(tmp, "img")],
                       stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("FAIL: blk-image.sh rc=%d" % r.returncode)
        return 1
    img = r.stdout.strip().splitlines()[-1]
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(DISK_MB << 20)
    sock = os.path.join(tmp, "blk.sock")
    failures = []

    blk_log = os.path.join(tmp, "vsw-blk.log")
    blk = daemon([a.blk, "--socket", sock, "--disk", disk, "--queues", "2",
                  "--serial", SERIAL], blk_log)
    sums = {}
    lines = ""
    try:
        if not wait_log(blk, blk_log, r"serving", 10):
            failures.append("vsw-blk did not start")
            raise RuntimeError
        devopts = "packed=on" if a.packed else ""
        rc, out = boot("write", img, tmp, sock, WRITE, 2, devopts)
        if rc != 0 or "G-OK" not in out:
            failures.append("boot 1 (mkfs, write) rc=%d" % rc)
        facts = dict(l.split(" ", 1) for l in out if l.startswith("G-") and
                     " " in l and not l.startswith("G-SUM"))
        expect = {"G-SIZE": str(DISK_MB << 11), "G-SERIAL": SERIAL,
                  "G-MQ": "2", "G-RO": "0",
                  "G-PACKED": "1" if a.packed else "0"}
        for k, v in expect.items():
            if facts.get(k, "").strip() != v:
                failures.append("guest %s %r, expected %r" %
                                (k, facts.get(k), v))
        for k in ("G-DISCARD", "G-WZ"):
            if int(facts.get(k, "0").strip() or 0) <= 0:
                failures.append("guest %s %r: not offered" %
                                (k, facts.get(k)))
        for l in out:
            m = re.match(r"G-SUM ([0-9a-f]{64})\s+(\S+)$", l)
            if m:
                sums[m.group(2)] = m.group(1)
        if len(sums) != 5:
            failures.append("guest printed %d sums, not 5" % len(sums))
        lines = "\n".join("%s  %s" % (h, n) for n, h in sums.items())
        rc, out = boot("verify", img, tmp, sock,
                       VERIFY % {"sums": lines, "extra": ""}, 2, devopts)
        if rc != 0 or "G-OK" not in out:
            failures.append("boot 2 (verify after reconnect) rc=%d" % rc)
    except RuntimeError:
        pass
    finally:
        rc = stop(blk, "vsw-blk", blk_log)
    if rc != 0:
        failures.append("vsw-blk exit %d after SIGTERM" % rc)
    if os.path.exists(sock):
        failures.append("vsw-blk left its socket behind")
    if sums:
        host_check(disk, sums, failures, "vsw-blk")

    if a.qsd and sums and not failures:
        qsock = os.path.join(tmp, "qsd.sock")
        qsd_log = os.path.join(tmp, "qsd.log")
        qsd = daemon(
            ["qemu-storage-daemon", "--blockdev",
             "file,node-name=f,filename=" + disk, "--export",
             "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,"
             "addr.path=%s,writable=on,num-queues=2" % qsock], qsd_log)
        for _ in range(100):
            if os.path.exists(qsock) or qsd.poll() is not None:
                break
            time.sleep(0.1)
        extra = ("dd if=/dev/urandom of=/mnt/peer bs=4096 count=100 "
                 "2>/dev/null || fail peer\n"
                 "sha256sum peer | sed 's/^/G-SUM /'\nsync")
        rc, out = boot("qsd", img, tmp, qsock,
                       VERIFY % {"sums": lines, "extra": extra}, 2)
        if rc != 0 or "G-OK" not in out:
            failures.append("qemu-storage-daemon peer boot rc=%d" % rc)
        stop(qsd, "qsd", qsd_log)
        for l in out:
            m = re.match(r"G-SUM ([0-9a-f]{64})\s+(\S+)$", l)
            if m:
                sums[m.group(2)] = m.group(1)
        host_check(disk, sums, failures, "qemu-storage-daemon")

    if failures:
        for f in failures:
            print("FAIL: " + f)
        print("logs in " + tmp)
        return 1
    print("PASS: guest mkfs + %d files through vsw-blk (%s rings), verified "
          "after a reconnect, e2fsck clean, host sums match%s" %
          (len(sums), "packed" if a.packed else "split",
           ", qemu-storage-daemon peer too" if a.qsd else ""))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
