#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot vsw test guests in QEMU (TCG) and follow their serial console.

The image comes from build-guest.sh (vmlinuz + initrd.img); its /init
(init.sh) reads vsw.* options from the kernel command line, configures
ethN, runs a script and prints markers on ttyS0:

    VSW-GUEST-READY, VSW-GUEST-BEGIN, VSW-GUEST-END, VSW-GUEST-EXIT rc=N

Library use:

    import guest
    img = guest.build_image("/tmp/img")
    g = guest.Guest("b", img, "/tmp/b.log", ips=["10.0.0.2/24"],
                    script="ping -c 3 10.0.0.1",
                    net_args=guest.socket_net("n0", "52:54:00:00:00:02",
                                              connect=("127.0.0.1", 5555)))
    g.start()
    rc = g.wait_exit(120)        # the script's exit code
    g.stop()

Command line (exit status = the guest script's, 124 on timeout, 125 when
the guest's setup failed; the console log is printed on any failure):

    guest.py build OUTDIR
    guest.py run --image OUTDIR --ip 10.0.0.1/24 --cmd 'ping -c1 ...' \
        [--daemon] [--timeout S] [--log FILE] -- QEMU NETDEV/DEVICE ARGS...

vhost-user (for tests against vsw; QEMU is the frontend, vsw the backend).
Guest memory must be shareable, so pass memfd=True (adds
`-object memory-backend-memfd,id=mem,size=<m>M,share=on
-machine pc,memory-backend=mem`) and use vhost_user_net():

    -chardev socket,id=c0,path=SOCK[,server=on,wait=off | ,reconnect=1]
    -netdev vhost-user,id=n0,chardev=c0[,queues=N]
    -device virtio-net-pci,netdev=n0,mac=..,vectors=0
            [,mq=on][,packed=on][,mrg_rxbuf=off]

vectors=0 (legacy INTx) is required: QEMU 7.2 under TCG crashes in the
irqfd path when a vhost-user device uses MSI-X.  Multiqueue still works
with vectors=0 (see /work/shared/ENVIRONMENT.md).
"""

import argparse
import base64
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = os.environ.get("VSW_QEMU", "qemu-system-x86_64")

EXIT_RE = re.compile(r"VSW-GUEST-EXIT rc=(\d+)")
ERROR_RE = re.compile(r"VSW-GUEST-ERROR (.*)")

# Firmware: qboot boots a -kernel guest a few seconds sooner than SeaBIOS
# under TCG; VSW_GUEST_BIOS= (empty) selects QEMU's default (SeaBIOS).
BIOS = os.environ.get("VSW_GUEST_BIOS", "qboot.rom")

# Kernel command-line budget: x86 COMMAND_LINE_SIZE is 2048.
CMDLINE_MAX = 2048


class GuestError(Exception):
    pass


class GuestTimeout(GuestError):
    pass


def build_image(outdir):
    """Run build-guest.sh OUTDIR (cached); return the image directory."""
    res = subprocess.run([os.path.join(HERE, "build-guest.sh"), outdir],
                         stdout=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise GuestError("build-guest.sh failed (rc=%d)" % res.returncode)
    return res.stdout.strip().splitlines()[-1]


def socket_net(netid, mac, listen=None, connect=None, device_opts=""):
    """QEMU args for a virtio-net-pci NIC on a socket netdev (guest to guest
    over one TCP connection).  listen/connect: (host, port)."""
    if (listen is None) == (connect is None):
        raise ValueError("exactly one of listen / connect")
    mode, (host, port) = (("listen", listen) if listen
                          else ("connect", connect))
    dev = "virtio-net-pci,netdev=%s,mac=%s,vectors=0" % (netid, mac)
    if device_opts:
        dev += "," + device_opts
    return ["-netdev", "socket,id=%s,%s=%s:%d" % (netid, mode, host, port),
            "-device", dev]


def vhost_user_net(netid, mac, sock, queues=1, server=False,
                   device_opts=""):
    """QEMU args for a virtio-net-pci NIC on a vhost-user netdev.  The
    Guest must be created with memfd=True.  server=True: QEMU listens on
    sock (the backend connects); otherwise QEMU connects and reconnects."""
    chr_id = "c" + netid
    chardev = "socket,id=%s,path=%s" % (chr_id, sock)
    chardev += ",server=on,wait=off" if server else ",reconnect=1"
    netdev = "vhost-user,id=%s,chardev=%s" % (netid, chr_id)
    dev = "virtio-net-pci,netdev=%s,mac=%s,vectors=0" % (netid, mac)
    if queues > 1:
        netdev += ",queues=%d" % queues
        dev += ",mq=on"
    if device_opts:
        dev += "," + device_opts
    return ["-chardev", chardev, "-netdev", netdev, "-device", dev]


def tcp_port_listening(port, host="127.0.0.1"):
    """True when some socket listens on host:port (IPv4), per /proc."""
    want = "%08X:%04X" % (int.from_bytes(bytes(map(int, host.split("."))),
                                         "little"), port)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


class Guest:
    """One QEMU guest; its console goes line by line to a log file and to
    memory, where wait_for() / wait_exit() look for markers."""

    def __init__(self, name, image, log_path, ips=(), mtu=None, script=None,
                 daemon=False, net_args=(), mem_mb=256, memfd=False,
                 append="", script_via="auto", smp=1, extra_args=(),
                 bios=None, machine="pc", mem_path=None, mem_tail_kib=0):
        self.name = name
        self.image = image
        self.log_path = log_path
        self.ips = list(ips)
        self.mtu = mtu
        self.script = script
        self.daemon = daemon
        self.net_args = list(net_args)
        self.mem_mb = mem_mb
        self.memfd = memfd
        self.append = append
        self.script_via = script_via
        self.smp = smp
        self.extra_args = list(extra_args)
        self.bios = BIOS if bios is None else bios
        self.machine = machine  # QEMU -machine type (memfd: with its mem)
        # memfd=True with a file: guest RAM in that file (on tmpfs), so a
        # test can read it after QEMU stopped (migration memory checks)
        self.mem_path = mem_path
        # RAM of mem_mb MiB plus this many KiB (a multiple of 8: QEMU
        # rounds -m up to 8 KiB)
        self.mem_tail_kib = mem_tail_kib
        self.proc = None
        self.args = []
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.start_time = None
        self._reader = None
        self._logf = None
        self._tmpdir = None

    def _cmdline(self):
        opts = ["console=ttyS0", "quiet", "panic=-1"]
        for i, ip in enumerate(self.ips):
            if ip:
                opts.append("vsw.ip%s=%s" % (i if i else "", ip))
        if self.mtu:
            opts.append("vsw.mtu=%d" % self.mtu)
        if self.daemon:
            opts.append("vsw.mode=daemon")
        if self.append:
            opts.append(self.append)
        return opts

    def qemu_args(self):
        """The full QEMU command line (writes the script file if needed)."""
        append = self._cmdline()
        fw = []
        if self.script is not None:
            b64 = base64.b64encode(self.script.encode()).decode()
            via = self.script_via
            if via == "auto":
                room = CMDLINE_MAX - 256 - len(" ".join(append))
                via = "cmdline" if len(b64) < room else "fw_cfg"
            if via == "cmdline":
                append.append("vsw.cmd=" + b64)
            elif via == "fw_cfg":
                self._tmpdir = tempfile.mkdtemp(prefix="vsw-guest-")
                path = os.path.join(self._tmpdir, "cmd.sh")
                with open(path, "w") as f:
                    f.write(self.script)
                fw = ["-fw_cfg", "name=opt/vsw/cmd,file=" + path]
            else:
                raise ValueError("script_via: " + via)
        mem = "%dK" % (self.mem_mb * 1024 + self.mem_tail_kib)
        args = [QEMU, "-accel", "tcg", "-m", mem,
                "-smp", str(self.smp), "-nodefaults", "-no-user-config",
                "-display", "none", "-no-reboot", "-serial", "stdio",
                "-kernel", os.path.join(self.image, "vmlinuz"),
                "-initrd", os.path.join(self.image, "initrd.img"),
                "-append", " ".join(append)]
        if self.bios:
            args += ["-bios", self.bios]
        if self.memfd and self.mem_path:
            args += ["-object", "memory-backend-file,id=mem,size=%s,"
                     "mem-path=%s,share=on" % (mem, self.mem_path),
                     "-machine", "%s,memory-backend=mem" % self.machine]
        elif self.memfd:
            args += ["-object", "memory-backend-memfd,id=mem,size=%s,"
                     "share=on" % mem,
                     "-machine", "%s,memory-backend=mem" % self.machine]
        elif self.machine != "pc":
            args += ["-machine", self.machine]
        return args + fw + self.net_args + self.extra_args

    def start(self):
        args = self.qemu_args()
        self.args = args
        self._logf = open(self.log_path, "w")
        self._logf.write("# " + shlex.join(args) + "\n")
        self._logf.flush()
        self.start_time = time.monotonic()
        # -serial stdio with stdin at EOF: QEMU just stops reading it.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            line = line.replace("\r", "")
            self._logf.write(line + "\n")
            self._logf.flush()
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def elapsed(self):
        return time.monotonic() - self.start_time

    def wait_for(self, regex, timeout, start=0):
        """Wait for a console line matching regex (searched, not anchored)
        at index >= start; return the match.  Raises GuestTimeout, or
        GuestError when QEMU exits first."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                if self.eof:
                    raise GuestError("%s: QEMU exited (rc=%s) before %r"
                                     % (self.name, self.proc.poll(), regex))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestTimeout("%s: no %r within %ds"
                                       % (self.name, regex, timeout))
                self.cond.wait(left)

    def wait_exit(self, timeout):
        """Wait for the script's exit marker; return its exit code (125
        when the guest setup failed).  In run mode also waits for QEMU to
        power off."""
        m = self.wait_for(EXIT_RE.pattern, timeout)
        rc = int(m.group(1))
        if not self.daemon:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                raise GuestTimeout("%s: no power-off after exit marker"
                                   % self.name)
        return rc

    def output(self):
        """The script's output: lines between BEGIN and END markers."""
        with self.cond:
            lines = list(self.lines)
        out, inside = [], False
        for line in lines:
            if "VSW-GUEST-BEGIN" in line:
                inside = True
            elif "VSW-GUEST-END" in line:
                break
            elif inside:
                out.append(line)
        return out

    def log_text(self):
        with self.cond:
            return "\n".join(self.lines)

    def stop(self):
        """Kill QEMU (if still running) and close the log."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(10)
        if self._logf is not None:
            self._logf.close()
            self._logf = None
        if self._tmpdir is not None:
            for f in os.listdir(self._tmpdir):
                os.unlink(os.path.join(self._tmpdir, f))
            os.rmdir(self._tmpdir)
            self._tmpdir = None

    def dump(self, out=sys.stderr):
        print("----- console of guest %s (%s) -----" % (self.name,
                                                        self.log_path),
              file=out)
        print("# " + shlex.join(self.args), file=out)
        print(self.log_text(), file=out)
        print("----- end of %s -----" % self.name, file=out)


def _main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="op", required=True)
    b = sub.add_parser("build", help="build (or reuse) the image")
    b.add_argument("outdir")
    r = sub.add_parser("run", help="boot one guest, run a script")
    r.add_argument("--image", required=True)
    r.add_argument("--ip", action="append", default=[],
                   help="ADDR/LEN for eth0, eth1, ... (repeat)")
    r.add_argument("--mtu", type=int)
    g = r.add_mutually_exclusive_group()
    g.add_argument("--cmd", help="shell script text")
    g.add_argument("--script", help="shell script file")
    r.add_argument("--daemon", action="store_true",
                   help="stay up after the script until killed")
    r.add_argument("--memfd", action="store_true",
                   help="shareable guest memory (vhost-user)")
    r.add_argument("--timeout", type=float, default=120)
    r.add_argument("--log", help="console log file")
    r.add_argument("qemu_args", nargs="*",
                   help="netdev/device arguments, after --")
    a = ap.parse_args()

    if a.op == "build":
        print(build_image(a.outdir))
        return 0

    script = a.cmd
    if a.script:
        with open(a.script) as f:
            script = f.read()
    log = a.log or os.path.join(tempfile.gettempdir(),
                                "vsw-guest-%d.log" % os.getpid())
    gst = Guest("guest", a.image, log, ips=a.ip, mtu=a.mtu, script=script,
                daemon=a.daemon, net_args=a.qemu_args, memfd=a.memfd)
    gst.start()
    rc = 0
    try:
        if a.daemon:
            gst.wait_for("VSW-GUEST-READY", a.timeout)
            print("guest up after %.1fs; log %s; Ctrl-C stops it"
                  % (gst.elapsed(), log), file=sys.stderr)
            gst.proc.wait()
            rc = gst.proc.returncode
        else:
            rc = gst.wait_exit(a.timeout)
    except GuestTimeout as e:
        print("guest.py: %s" % e, file=sys.stderr)
        rc = 124
    except GuestError as e:
        print("guest.py: %s" % e, file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    finally:
        gst.stop()
    if not a.daemon:
        print("\n".join(gst.output()))
    if rc != 0:
        gst.dump()
    return rc


if __name__ == "__main__":
    sys.exit(_main())
