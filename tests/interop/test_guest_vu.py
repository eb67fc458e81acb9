#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_guest_vu.py --peer EXE --guestudp EXE --workdir DIR --variant V

A real Linux guest (Debian kernel + busybox, QEMU TCG, the harness of
tests/integ/guest) on a vhost-user virtio-net NIC served by vsw-testpeer
(lib/virtio-net's vsw_vnet_vu).  The guest:

  1. pings the peer with 56- and 1472-byte payloads (3 each, all answered);
  2. sends BYTES of the counter pattern to the peer's UDP sink
     (vsw-guestudp send; the peer checks every byte, in order);
  3. asks the peer for BYTES of the pattern and checks every byte
     (vsw-guestudp recv).

Variants: split (split ring, 4000-byte datagrams: IPv4 fragments), packed
(packed=on), mrgoff (mrg_rxbuf=off), mq2 (2 queue pairs, 2 vCPUs; traffic
is driven from both vCPUs so both pairs carry it, checked per pair), iommu
(a q35 guest behind QEMU's intel-iommu with a device IOTLB, the NIC with
iommu_platform=on,ats=on, the kernel with intel_iommu=on: every ring and
buffer address is an IOVA the peer translates through its IOTLB; the guest
shows its DMA remapping unit and the NIC's IOMMU group, the peer's IOTLB
counters show misses answered by updates and nothing refused; the guest's
IOMMU flushes strictly, forced by caching-mode=on), iommu-strict (the same
without caching-mode, the guest booted with iommu.strict=1).
Diagnostics (not in the suite): --iommu-opts / --append change the vIOMMU
and the guest's kernel line (e.g. the default lazy flush mode, which breaks
the guest's transmit stream, docs/vhost-user.md), --via-dpdk TESTPMD puts
DPDK's vhost in vsw's place (it drops frames on IOTLB misses, so only the
guest's transmit direction compares), --peer-verbose logs every IOTLB_MSG
and the frames the peer ignored.
The negotiated virtio features are read back in the guest and checked.

Exit status: 0 pass, 1 fail, 77 skip (no QEMU).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ", "guest"))
import guest  # noqa: E402

PEER_IP = "10.0.0.1"
GUEST_IP = "10.0.0.2/24"
GUEST_MAC = "52:54:00:12:34:02"
SINK_PORT = 7000
CTL_PORT = 7001

F_MRG_RXBUF = 15
F_MQ = 22
F_VERSION_1 = 32
F_RING_PACKED = 34

VARIANTS = {
    # name: (queue pairs, device options, guest datagram size, vCPUs)
    "split": (1, "", 4000, 1),
    "packed": (1, "packed=on", 1472, 1),
    "mrgoff": (1, "mrg_rxbuf=off", 1472, 1),
    "mq2": (2, "", 1472, 2),
    # iommu_platform needs a modern-only device
    "iommu": (1, "iommu_platform=on,ats=on,disable-legacy=on", 4000, 1),
    # the same without caching-mode, the guest in strict IOMMU mode
    "iommu-strict": (1, "iommu_platform=on,ats=on,disable-legacy=on", 4000,
                     1),
}

# The iommu variants' machine: QEMU's vIOMMU with interrupt remapping
# (which wants the split irqchip) and a device IOTLB for vhost.
# The guest must invalidate before it reuses a buffer: with caching-mode=on
# Linux turns its lazy (batched) IOTLB flushing off ("IOMMU batching
# disallowed due to virtualization"); without it the guest must boot with
# iommu.strict=1 (variant iommu-strict). In the default lazy mode (QEMU 7.2,
# Debian 6.1 guest, no caching-mode) the guest's transmit buffers arrive
# stale at vsw and at DPDK's vhost alike (docs/vhost-user.md).
IOMMU_MACHINE = "q35,kernel-irqchip=split"
IOMMU_DEVICE = ["-device",
                "intel-iommu,intremap=on,device-iotlb=on,caching-mode=on"]
IOMMU_STRICT_DEVICE = ["-device", "intel-iommu,intremap=on,device-iotlb=on"]
# what the guest's kernel says about its flushing, per variant
IOMMU_MODE_LINE = {"iommu": "IOMMU batching disallowed due to virtualization",
                   "iommu-strict": "DMA domain TLB invalidation policy: "
                   "strict mode"}
F_ACCESS_PLATFORM = 33

# Guest lines of the iommu variant: the DMA remapping unit, and the NIC
# (virtio's PCI parent) in an IOMMU group, so its DMA goes through IOVAs.
IOMMU_SCRIPT = r"""
echo "G-IOMMU units=$(ls /sys/class/iommu | tr '\n' ' ')"
d=$(readlink -f /sys/class/net/eth0/device/..)
[ -e $d/iommu_group ] || fail "no iommu_group at $d"
echo "G-IOMMU-GROUP $(basename $(readlink -f $d/iommu_group))"
dmesg | grep -i -E 'iommu|dmar|ats' | sed 's/^/G-DMESG /'
"""


def guest_script(nbytes, dgram, mq, iommu=False):
    # Runs under busybox sh; vsw-guestudp arrives through fw_cfg.
    s = """\
P=%(peer)s
N=%(n)d
fail() { echo "G-FAIL $*"; exit 1; }
cat /sys/firmware/qemu_fw_cfg/by_name/opt/vsw/guestudp/raw >/tmp/gudp ||
	fail fw_cfg
chmod +x /tmp/gudp
echo "G-FEATURES $(cat /sys/class/net/eth0/device/features)"
echo "G-QUEUES $(ls /sys/class/net/eth0/queues | tr '\\n' ' ')"
pings() {
	for s in 56 1472; do
		$1 ping -c 3 -W 5 -s $s $P >/tmp/ping.out 2>&1
		cat /tmp/ping.out
		grep -q ' 3 packets received' /tmp/ping.out ||
			fail "ping -s $s $1"
	done
}
""" % {"peer": PEER_IP, "n": nbytes}
    if iommu:
        s += IOMMU_SCRIPT.lstrip("\n")
    if mq:
        # one flow per vCPU: XPS maps vCPU i to transmitq i, and the
        # peer answers on the pair a request came in on
        s += """\
pings "taskset 1"
pings "taskset 2"
T="taskset 2"
"""
    else:
        s += 'pings ""\nT=""\n'
    s += """\
$T /tmp/gudp send $P %(sink)d $N %(dgram)d || fail send
$T /tmp/gudp recv $P %(ctl)d 5555 $N 240 || fail recv
echo G-OK
""" % {"sink": SINK_PORT, "ctl": CTL_PORT, "dgram": dgram}
    return s


class Peer:
    def __init__(self, exe, sock, qp, log_path, extra=()):
        self.lines = []
        self.cond = threading.Condition()
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [exe, "--socket", sock, "--qp", str(qp), "--ip", PEER_IP] +
            list(extra),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, rx, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if re.search(rx, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError("peer: no %r" % rx)
                self.cond.wait(min(left, 0.5))

    def stop(self):
        """SIGTERM; returns (summary dict, per-pair dicts, exit code)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.reader.join(10)
        self.log.close()
        summ, pairs = {}, {}
        for line in self.lines:
            if not line.startswith("TESTPEER "):
                continue
            kv = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
            if "from_guest_frames" in kv:
                summ = {k: int(v) for k, v in kv.items()}
            elif "qp" in kv and "from_guest" in kv:
                pairs[int(kv["qp"])] = {k: int(v) for k, v in kv.items()}
        return summ, pairs, rc


class DpdkRelay:
    """dpdk-testpmd between the guest and the peer: DPDK's vhost library
    (net_vhost, iommu-support=1) serves the guest's socket, io forwarding
    relays to a net_virtio_user port (server) the peer joins as --client.
    The guest's IOMMU is then handled by DPDK, not vsw: the same checks
    compare the two back ends."""

    def __init__(self, exe, guest_sock, peer_sock, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", exe, "-l", "0,1", "--main-lcore", "0",
             "--no-pci", "--no-huge", "-m", "256", "--no-shconf",
             "--no-telemetry", "--file-prefix", "vsw-gvu-%d" % os.getpid(),
             "--vdev", "net_vhost0,iface=%s,iommu-support=1" % guest_sock,
             "--vdev", "net_virtio_user0,path=%s,server=1,queue_size=1024"
             % peer_sock,
             "--", "-i", "--forward-mode=io", "--nb-cores=1",
             "--total-num-mbufs=16384"],
            stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)

    def start(self):
        self.proc.stdin.write(b"start\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"stop\nquit\n")
                self.proc.stdin.flush()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--guestudp", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--bytes", type=int, default=4 << 20)
    ap.add_argument("--image", help="image dir (default WORKDIR/img)")
    ap.add_argument("--iommu-opts",
                    help="intel-iommu options (default: %s)"
                    % IOMMU_DEVICE[1])
    ap.add_argument("--append", default="",
                    help="more guest kernel arguments")
    ap.add_argument("--via-dpdk", metavar="TESTPMD",
                    help="relay through dpdk-testpmd's vhost (DPDK handles "
                    "the guest's IOTLB)")
    ap.add_argument("--peer-verbose", action="store_true",
                    help="the peer logs at debug level (every IOTLB_MSG)")
    a = ap.parse_args()

    if shutil.which(guest.QEMU) is None:
        print("SKIP: %s not found" % guest.QEMU)
        return 77
    qp, devopts, dgram, smp = VARIANTS[a.variant]
    iommu = a.variant.startswith("iommu")
    os.makedirs(a.workdir, exist_ok=True)
    t0 = time.monotonic()
    img = guest.build_image(a.image or os.path.join(a.workdir, "img"))
    t_img = time.monotonic() - t0
    sock = os.path.join(a.workdir, "vu-%s.sock" % a.variant)
    if os.path.exists(sock):
        os.unlink(sock)
    relay = None
    peer_sock, peer_extra = sock, ["--verbose"] if a.peer_verbose else []
    if a.via_dpdk:
        peer_sock = sock + ".peer"
        for p in (peer_sock,):
            if os.path.exists(p):
                os.unlink(p)
        relay = DpdkRelay(a.via_dpdk, sock, peer_sock,
                          os.path.join(a.workdir, "dpdk-%s.log" % a.variant))
        deadline = time.monotonic() + 120
        while not os.path.exists(peer_sock) and \
                time.monotonic() < deadline and relay.proc.poll() is None:
            time.sleep(0.2)
        peer_extra.append("--client")
    peer = Peer(a.peer, peer_sock, qp,
                os.path.join(a.workdir, "peer-%s.log" % a.variant),
                peer_extra)
    iommu_dev = IOMMU_STRICT_DEVICE if a.variant == "iommu-strict" \
        else IOMMU_DEVICE
    if a.iommu_opts is not None:
        iommu_dev = ["-device", a.iommu_opts]
    append = a.append
    if a.variant == "iommu-strict":
        append = ("iommu.strict=1 " + append).strip()
    g = None
    failures = []
    try:
        peer.wait_for(r"^TESTPEER listening", 10)
        if relay is not None:
            time.sleep(2)
            relay.start()
        g = guest.Guest(
            a.variant, img, os.path.join(a.workdir,
                                         "guest-%s.log" % a.variant),
            ips=[GUEST_IP], memfd=True, smp=smp,
            script=guest_script(a.bytes, dgram, qp > 1, iommu),
            net_args=(iommu_dev if iommu else []) +
            guest.vhost_user_net("n0", GUEST_MAC, sock, queues=qp,
                                 device_opts=devopts),
            machine=IOMMU_MACHINE if iommu else "pc",
            append=" ".join(x for x in ["intel_iommu=on" if iommu else "",
                                        append] if x),
            extra_args=["-fw_cfg",
                        "name=opt/vsw/guestudp,file=" + a.guestudp])
        t1 = time.monotonic()
        g.start()
        rc = g.wait_exit(600)
        t_guest = time.monotonic() - t1
        if rc != 0:
            failures.append("guest script exit %d" % rc)
    except (guest.GuestError, RuntimeError) as e:
        failures.append(str(e))
        t_guest = -1
    finally:
        if g is not None:
            g.stop()
        summ, pairs, prc = peer.stop()
        if relay is not None:
            relay.stop()

    out = g.output() if g is not None else []
    feats = 0
    for line in out:
        m = re.match(r"G-FEATURES ([01]+)", line)
        if m:
            # sysfs: one character per bit, bit 0 first
            feats = sum(1 << i for i, c in enumerate(m.group(1)) if c == "1")
    want = {F_VERSION_1: True,
            F_RING_PACKED: a.variant == "packed",
            F_MRG_RXBUF: a.variant != "mrgoff",
            F_MQ: qp > 1,
            F_ACCESS_PLATFORM: iommu}
    for bit, on in want.items():
        if bool(feats & (1 << bit)) != on:
            failures.append("feature bit %d is %s" % (bit, "off" if on
                                                      else "on"))
    if not any(line == "G-OK" for line in out):
        failures.append("guest did not finish its script")
    gr = [ln for ln in out if ln.startswith("GUDP recv")]
    if not gr or " bytes=%d " % a.bytes not in gr[0] or \
            " bad=0 " not in gr[0]:
        failures.append("guest receive: %s" % (gr or "no result"))

    exp = {"udp_rx_bytes": a.bytes, "udp_rx_bad": 0,
           "udp_rx_first_bad": -1, "udp_tx_bytes": a.bytes,
           "udp_tx_left": 0, "udp_tx_requests": 1, "frag_errors": 0}
    for k, v in exp.items():
        if summ.get(k) != v:
            failures.append("peer %s=%s, want %d" % (k, summ.get(k), v))
    if iommu:
        if not any(ln.startswith("G-IOMMU units=dmar") for ln in out):
            failures.append("no DMA remapping unit in the guest")
        mode = IOMMU_MODE_LINE.get(a.variant)
        if a.iommu_opts is None and not a.append and \
                not any(mode in ln for ln in out):
            failures.append("guest IOMMU not in strict mode (no %r)" % mode)
    if iommu and relay is None:
        it = {}
        for line in peer.lines:
            if line.startswith("TESTPEER iotlb "):
                it = {k: int(v) for k, v in
                      (w.split("=", 1) for w in line.split()[2:])}
        # the rings and the buffers came through misses and updates
        if it.get("misses", 0) < 3 or it.get("updates", 0) < 3:
            failures.append("peer IOTLB barely used: %s" % it)
        for k in ("refused", "ring_faults", "miss_timeouts"):
            if it.get(k, -1) != 0:
                failures.append("peer IOTLB %s=%s" % (k, it.get(k)))
        print("peer iotlb: %s" % it)
    n_ping = 6 * (2 if qp > 1 else 1)
    if summ.get("icmp_replies", 0) < n_ping:
        failures.append("peer answered %s pings, want >= %d"
                        % (summ.get("icmp_replies"), n_ping))
    if summ.get("arp_replies", 0) < 1:
        failures.append("peer answered no ARP request")
    if prc != 0:
        failures.append("peer exit %d" % prc)
    if qp > 1:
        for p in range(qp):
            st = pairs.get(p, {})
            if st.get("from_guest", 0) == 0 or st.get("to_guest", 0) == 0:
                failures.append("pair %d idle: %s" % (p, st))

    print("variant=%s image=%.1fs guest=%.1fs bytes=%d features=%#x"
          % (a.variant, t_img, t_guest, a.bytes, feats))
    print("\n".join(out))
    print("peer: %s" % summ)
    for p in sorted(pairs):
        print("peer pair %d: %s" % (p, pairs[p]))
    if failures:
        for f in failures:
            print("FAIL: " + f)
        if g is not None:
            g.dump(sys.stdout)
        print("----- peer -----")
        print("\n".join(peer.lines))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
