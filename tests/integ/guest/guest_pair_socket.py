#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""guest_pair_socket.py WORKDIR

Proves the test-guest image and harness without vsw: two guests joined back
to back by QEMU's socket netdev on loopback, once with the split ring and
once with packed=on.

  guest A (10.0.0.1, daemon mode) serves a counter pattern on TCP 5001,
      receives one on TCP 5002 and prints what arrived, then stays up.
  guest B (10.0.0.2) waits until A answers, pings it with 56, 1400 and 1472
      byte payloads (5 each, no loss allowed), fetches the pattern from A,
      then sends the pattern to A.

The pattern is `seq 1 N` (generated in the guests); its md5 and size are
computed here, and both directions must match them exactly.  The negotiated
ring layout is checked from each guest's virtio feature bits.

WORKDIR holds the image (WORKDIR/img, built or reused by build-guest.sh)
and the console logs.  Exits 0 on success, 1 on any failure (with both
consoles printed).
"""

import hashlib
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402

N = 500000              # seq 1 N: 3388895 bytes
VIRTIO_F_VERSION_1 = 32
VIRTIO_F_RING_PACKED = 34

A_SCRIPT = """\
N=%(n)d
mkfifo /tmp/hold
exec 3<>/tmp/hold
(seq 1 $N | nc -l -p 5001; echo "A-TX rc=$?") &
(nc -l -p 5002 <&3 >/tmp/rx; r=$?
 echo "A-RX rc=$r md5=$(md5sum </tmp/rx | cut -d' ' -f1) bytes=$(wc -c </tmp/rx)") &
echo A-LISTENING
wait
""" % {"n": N}

# busybox nc ends the connection when its stdin ends: the receiving side
# reads a FIFO that this shell holds open (fd 3).
B_SCRIPT = """\
A=10.0.0.1
N=%(n)d
fail() { echo "B-FAIL $*"; exit 1; }
i=0
until ping -c 1 -W 1 $A >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 90 ] || fail "no answer from $A"
done
echo "B-REACH tries=$i"
for s in 56 1400 1472; do
	ping -c 5 -i 0.2 -w 20 -s $s $A >/tmp/ping || { cat /tmp/ping; fail "ping -s $s"; }
	grep -q ' 5 packets received' /tmp/ping ||
		{ cat /tmp/ping; fail "loss at -s $s"; }
	echo "B-PING size=$s $(grep round-trip /tmp/ping)"
done
mkfifo /tmp/hold
exec 3<>/tmp/hold
i=0
t0=$(cut -d' ' -f1 /proc/uptime)
until nc $A 5001 <&3 >/tmp/rx && [ -s /tmp/rx ]; do
	i=$((i + 1))
	[ $i -lt 10 ] || fail "A->B transfer"
	sleep 1
done
t1=$(cut -d' ' -f1 /proc/uptime)
echo "B-RX md5=$(md5sum </tmp/rx | cut -d' ' -f1) bytes=$(wc -c </tmp/rx)" \\
	"secs=$(echo "$t1 - $t0" | bc)"
i=0
until seq 1 $N | nc $A 5002; do
	i=$((i + 1))
	[ $i -lt 10 ] || fail "B->A transfer"
	sleep 1
done
echo "B-TX done secs=$(echo "$(cut -d' ' -f1 /proc/uptime) - $t1" | bc)"
""" % {"n": N}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def feature_bits(g):
    """Parse the features string of eth0 from the VSW-GUEST-NET line."""
    m = g.wait_for(r"VSW-GUEST-NET eth0 .*features=([01]+)", 5)
    return m.group(1)


def check(cond, what):
    if not cond:
        raise guest.GuestError("check failed: " + what)
    print("ok: " + what)


def run_pair(img, workdir, variant, device_opts, packed, expect):
    md5, size = expect
    guests = []
    t0 = time.monotonic()
    try:
        for attempt in range(3):
            port = free_port()
            a = guest.Guest(
                "A-" + variant, img,
                os.path.join(workdir, "A-%s.log" % variant),
                ips=["10.0.0.1/24"], script=A_SCRIPT, daemon=True,
                script_via="cmdline",
                net_args=guest.socket_net("n0", "52:54:00:00:00:01",
                                          listen=("127.0.0.1", port),
                                          device_opts=device_opts))
            guests.append(a)
            a.start()
            deadline = time.monotonic() + 20
            while (not guest.tcp_port_listening(port)
                   and a.proc.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            if guest.tcp_port_listening(port):
                break
            a.stop()        # port taken meanwhile, or QEMU failed
            guests.remove(a)
        else:
            raise guest.GuestError("guest A never listened on a port")

        b = guest.Guest(
            "B-" + variant, img, os.path.join(workdir, "B-%s.log" % variant),
            ips=["10.0.0.2/24"], script=B_SCRIPT, script_via="fw_cfg",
            net_args=guest.socket_net("n0", "52:54:00:00:00:02",
                                      connect=("127.0.0.1", port),
                                      device_opts=device_opts))
        guests.append(b)
        b.start()
        b.wait_for("VSW-GUEST-READY", 120)
        boot = b.elapsed()
        rc = b.wait_exit(400)
        out = b.output()
        print("\n".join("  B| " + line for line in out))
        check(rc == 0, "%s: guest B script exit code %d == 0"
              % (variant, rc))
        for s in (56, 1400, 1472):
            check(any(line.startswith("B-PING size=%d " % s)
                      for line in out),
                  "%s: 5/5 pings of %d bytes" % (variant, s))
        rx = [line for line in out if line.startswith("B-RX ")]
        check(len(rx) == 1 and re.search(
            r"md5=%s bytes=%d " % (md5, size), rx[0] + " ") is not None,
            "%s: A->B %d bytes, md5 %s" % (variant, size, md5))
        m = a.wait_for(r"A-RX rc=(\d+) md5=(\w+) bytes=(\d+)", 60)
        check(m.group(1) == "0" and m.group(2) == md5
              and int(m.group(3)) == size,
              "%s: B->A %d bytes, md5 %s (got rc=%s %s %s)"
              % (variant, size, md5, *m.groups()))
        a.wait_for(r"A-TX rc=0", 10)
        for g in (a, b):
            bits = feature_bits(g)
            check(len(bits) >= 64 and bits[VIRTIO_F_VERSION_1] == "1",
                  "%s: %s negotiated VIRTIO_F_VERSION_1" % (variant, g.name))
            check(bits[VIRTIO_F_RING_PACKED] == ("1" if packed else "0"),
                  "%s: %s ring is %s" % (variant, g.name,
                                         "packed" if packed else "split"))
        print("%s: guest B boot %.1fs (to VSW-GUEST-READY), pair total %.1fs"
              % (variant, boot, time.monotonic() - t0))
    except guest.GuestError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        for g in guests:
            g.stop()
            g.dump()
        return False
    finally:
        for g in guests:
            g.stop()
    return True


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    workdir = os.path.abspath(sys.argv[1])
    os.makedirs(workdir, exist_ok=True)
    t0 = time.monotonic()
    try:
        img = guest.build_image(os.path.join(workdir, "img"))
    except guest.GuestError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("image ready in %.1fs" % (time.monotonic() - t0))
    data = b"".join(b"%d\n" % i for i in range(1, N + 1))
    expect = (hashlib.md5(data).hexdigest(), len(data))
    ok = True
    for variant, opts, packed in (("split", "", False),
                                  ("packed", "packed=on", True)):
        ok = run_pair(img, workdir, variant, opts, packed, expect) and ok
    print("total %.1fs: %s" % (time.monotonic() - t0,
                               "PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
