#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vsw front end <-> vsw back end in two processes (suite interop).

vsw-testpeer (the vsw vhost-user back end with the virtio-net device, in
echo mode) in one process, vsw-pktgen (the vsw vhost-user front end) in
another: pktgen sends COUNT frames with a counter pattern and a timestamp,
the peer reflects each one, pktgen checks every returned byte. The test
then checks both sides' counters agree exactly: frames and bytes each way.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def wait_for(path, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--pktgen", required=True)
    ap.add_argument("--packed", action="store_true")
    ap.add_argument("--queues", type=int, default=1)
    ap.add_argument("--count", type=int, default=3000)
    args = ap.parse_args()

    failures = 0
    with tempfile.TemporaryDirectory(prefix="vsw-pair-") as tmp:
        for size in (64, 1500, 9000):
            sock = os.path.join(tmp, "pair-%d.sock" % size)
            peer = subprocess.Popen(
                [args.peer, "--socket", sock, "--echo", "--qp",
                 str(args.queues)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                if not wait_for(sock, 10):
                    raise RuntimeError("vsw-testpeer did not create " + sock)
                cmd = [args.pktgen, "--socket", sock, "--mode", "ping",
                       "--count", str(args.count), "--size", str(size),
                       "--rate", "0", "--seconds", "120",
                       "--queues", str(args.queues)]
                if args.packed:
                    cmd.append("--packed")
                gen = subprocess.run(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     timeout=180)
            finally:
                peer.send_signal(signal.SIGTERM)
                try:
                    pout, _ = peer.communicate(timeout=20)
                except subprocess.TimeoutExpired:
                    peer.kill()
                    pout, _ = peer.communicate()
            # --count is per queue pair
            want = args.count * args.queues
            want_bytes = want * size
            m = re.search(r"tx (\d+) pkts (\d+) bytes, rx (\d+) pkts (\d+) "
                          r"bytes.*good (\d+) bad (\d+) loss (\d+)",
                          gen.stdout)
            p = re.search(r"TESTPEER from_guest_frames=(\d+) "
                          r"from_guest_bytes=(\d+) to_guest_frames=(\d+) "
                          r"to_guest_bytes=(\d+)", pout)
            ok = (gen.returncode == 0 and m is not None and p is not None)
            if ok:
                tx, txb, rx, rxb, good, bad, loss = map(int, m.groups())
                pf, pfb, pt, ptb = map(int, p.groups())
                ok = (tx == rx == good == pf == pt == want and
                      txb == rxb == pfb == ptb == want_bytes and
                      bad == 0 and loss == 0)
            print("%s size %d: %s" % ("PASS" if ok else "FAIL", size,
                                      m.group(0) if m else "no summary"))
            if not ok:
                failures += 1
                print("--- vsw-pktgen (rc %d)\n%s--- vsw-testpeer\n%s" %
                      (gen.returncode, gen.stdout, pout))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
