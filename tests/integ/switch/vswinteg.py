# SPDX-License-Identifier: MIT
"""Shared pieces of the switch integration tests (tests/integ/switch/).

 - Vswd: one vswd with a private --db / --ctl / --run-dir under a work
   folder, driven with vswctl; start, SIGTERM, kill -9, restart.
 - AgentGuest: a test guest (tests/integ/guest/guest.py) in daemon mode
   whose script is a small command agent: the test sends shell commands
   over a second serial port (ttyS1, a Unix socket on the host) and reads
   each command's output and exit status from the console (ttyS0).  So one
   boot serves many checks, and the test can act in the guest after
   something changed on the host (a vswd restart).
 - Cleanup: a stack of undo actions (processes, namespaces, interfaces)
   that runs on success and on any failure.
 - vlan_image(): the guest image for VLAN tests (the standard one, which
   loads the 802.1Q modules at boot), checked to carry them.

Every check prints "ok: ..." or raises Fail; main() wrappers print the
vswd log and the guest consoles on failure.
"""

import base64
import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))
import guest  # noqa: E402

# seq 1 N, generated in the guests; 3388895 bytes.
SEQ_N = 500000


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail("check failed: " + what)
    print("ok: " + what, flush=True)


def log(msg):
    print(msg, flush=True)


def seq_expect(n=SEQ_N):
    """md5 and size of `seq 1 n` output, computed here on the host."""
    data = b"".join(b"%d\n" % i for i in range(1, n + 1))
    return hashlib.md5(data).hexdigest(), len(data)


def run(args, check_rc=True, **kw):
    res = subprocess.run(args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, **kw)
    if check_rc and res.returncode != 0:
        raise Fail("%s: rc=%d %s %s" % (" ".join(args), res.returncode,
                                        res.stdout.strip(),
                                        res.stderr.strip()))
    return res


class Cleanup:
    """Undo actions, run last-in first-out; each failure is reported and
    the rest still run."""

    def __init__(self):
        self.actions = []

    def push(self, what, fn):
        self.actions.append((what, fn))

    def run(self):
        while self.actions:
            what, fn = self.actions.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - keep cleaning
                print("cleanup %s: %s" % (what, e), file=sys.stderr)


class Vswd:
    def __init__(self, builddir, workdir, cleanup):
        self.vswd = os.path.join(builddir, "programs", "vswd", "vswd")
        self.vswctl = os.path.join(builddir, "programs", "vswctl", "vswctl")
        self.dir = workdir
        self.db = os.path.join(workdir, "conf.db")
        self.ctl_path = os.path.join(workdir, "vswd.ctl")
        self.run_dir = os.path.join(workdir, "run")
        self.log_path = os.path.join(workdir, "vswd.log")
        self.proc = None
        self.starts = 0
        for f in (self.db, self.db + "-wal", self.db + "-shm",
                  self.log_path):
            if os.path.exists(f):
                os.unlink(f)
        cleanup.push("vswd", self.stop)

    def start(self, timeout=30):
        self.starts += 1
        logf = open(self.log_path, "a")
        logf.write("----- start %d -----\n" % self.starts)
        logf.flush()
        self.proc = subprocess.Popen(
            [self.vswd, "--db", self.db, "--ctl", self.ctl_path,
             "--run-dir", self.run_dir, "--log-level", "debug",
             # the tests put guests' sockets beside their other files
             "--vhost-sock-dir", self.dir],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise Fail("vswd exited at start, rc=%d"
                           % self.proc.returncode)
            res = self.ctl("version", check_rc=False)
            if res.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise Fail("vswd not answering within %ds" % timeout)
            time.sleep(0.1)

    def ctl(self, *args, check_rc=True, timeout=30):
        return run([self.vswctl, "--ctl", self.ctl_path, "--timeout",
                    str(timeout)] + list(args), check_rc=check_rc)

    def json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def show(self):
        return self.json("show")

    def port_stats(self, bridge):
        """{port name: stats dict} from dump-ports."""
        return {p["name"]: p for p in self.json("dump-ports",
                                                 bridge)["ports"]}

    def wait_links(self, ports, timeout=60):
        """Wait until every named port shows link up; return show."""
        deadline = time.monotonic() + timeout
        while True:
            sh = self.show()
            links = {p["name"]: p["link"] for b in sh["bridges"]
                     for p in b["ports"]}
            if all(links.get(p) == "up" for p in ports):
                return sh
            if time.monotonic() > deadline:
                raise Fail("links not up within %ds: %s" % (timeout, links))
            time.sleep(0.2)

    def terminate(self, sig=signal.SIGTERM, timeout=30):
        """Send sig; return the exit status."""
        os.kill(self.proc.pid, sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise Fail("vswd did not exit %ds after signal %d"
                       % (timeout, sig))
        self.proc = None
        return rc

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.terminate()
        self.proc = None

    def dump(self, out=sys.stderr):
        print("----- vswd log (%s) -----" % self.log_path, file=out)
        try:
            with open(self.log_path) as f:
                out.write(f.read())
        except OSError as e:
            print(e, file=out)
        print("----- end of vswd log -----", file=out)


# The agent, as the guest's daemon-mode script.  Commands arrive on ttyS1
# as "ID BASE64" lines; each runs in its own sh with output to a file, then
# the output goes to the console prefixed "AG<ID>| " between markers.
AGENT_SCRIPT = """\
stty -F /dev/ttyS1 raw -echo || { echo VSW-AGENT-FAIL stty; exit 1; }
exec 4</dev/ttyS1
echo VSW-AGENT-READY
while read -r id b64 <&4; do
	[ -n "$id" ] || continue
	echo "$b64" | base64 -d >/tmp/c.$id
	sh /tmp/c.$id </dev/null >/tmp/o.$id 2>&1
	rc=$?
	echo "VSW-AGENT-BEGIN $id"
	sed "s/^/AG$id| /" /tmp/o.$id
	echo "VSW-AGENT-DONE $id rc=$rc"
done
echo VSW-AGENT-EOF
"""


class AgentGuest:
    """A daemon-mode guest that runs the commands given to cmd()."""

    def __init__(self, name, image, workdir, cleanup, net_args, ips=(),
                 mem_mb=256, append="", mem_path=None):
        self.name = name
        self.sock = os.path.join(workdir, "%s.agent" % name)
        self.g = guest.Guest(
            name, image, os.path.join(workdir, "%s.log" % name), ips=ips,
            script=AGENT_SCRIPT, daemon=True, script_via="fw_cfg",
            net_args=net_args, mem_mb=mem_mb, memfd=True, append=append,
            mem_path=mem_path, extra_args=["-serial", "unix:%s,server=on,wait=off" % self.sock])
        self.conn = None
        self.seq = 0
        self.lock = threading.Lock()
        cleanup.push("guest " + name, self.stop)

    def start(self):
        self.g.start()

    def wait_ready(self, timeout=180):
        self.g.wait_for("VSW-AGENT-READY", timeout)
        deadline = time.monotonic() + 10
        while self.conn is None:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                self.conn = s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # Nothing is expected back on ttyS1 (-echo); drain it anyway so
        # QEMU never blocks on a full socket.
        threading.Thread(target=self._drain, daemon=True).start()
        return self.g.elapsed()

    def attach(self, other, timeout=30):
        """Take over the agent of other's guest after it migrated into
        this (an -incoming QEMU): its command numbering continues and the
        agent answers on this QEMU's serial ports."""
        self.seq = other.seq
        deadline = time.monotonic() + timeout
        while self.conn is None:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                self.conn = s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            while self.conn.recv(4096):
                pass
        except OSError:
            pass

    def cmd(self, script, timeout=120):
        """Run script (sh) in the guest; return (rc, output lines)."""
        with self.lock:
            self.seq += 1
            cid = self.seq
        with self.g.cond:
            start = len(self.g.lines)
        b64 = base64.b64encode(script.encode()).decode()
        self.conn.sendall(("%d %s\n" % (cid, b64)).encode())
        m = self.g.wait_for(r"^VSW-AGENT-DONE %d rc=(\d+)$" % cid, timeout,
                            start)
        prefix = "AG%d| " % cid
        with self.g.cond:
            out = [line[len(prefix):] for line in self.g.lines[start:]
                   if line.startswith(prefix)]
        return int(m.group(1)), out

    def ok(self, script, what, timeout=120):
        """cmd() that must exit 0; return the output lines."""
        rc, out = self.cmd(script, timeout)
        if rc != 0:
            raise Fail("%s: %s (rc=%d): %s" % (self.name, what, rc,
                                               " / ".join(out)))
        return out

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.g.stop()

    def dump(self):
        self.g.dump()


PING = """\
ping -c %(n)d -i 0.2 -W 2 -w %(w)d -s %(s)d %(ip)s >/tmp/ping 2>&1
rc=$?
cat /tmp/ping
exit $rc
"""


def ping(ag, ip, size=56, n=5, w=30):
    """ping from guest ag; return the number of replies."""
    rc, out = ag.cmd(PING % {"n": n, "w": w, "s": size, "ip": ip}, w + 60)
    for line in out:
        if " packets received" in line:
            return int(line.split(",")[1].split()[0])
    return 0


def wait_reach(ag, ip, timeout=60):
    """Ping (one at a time) until ip answers; return seconds, or raise."""
    t0 = time.monotonic()
    rc, out = ag.cmd("i=0\nuntil ping -c 1 -W 1 %s >/dev/null 2>&1; do\n"
                     "\ti=$((i + 1))\n\t[ $i -lt %d ] || exit 1\ndone\n"
                     % (ip, timeout), timeout * 3 + 30)
    if rc != 0:
        raise Fail("%s: %s unreachable for %d pings" % (ag.name, ip,
                                                       timeout))
    return time.monotonic() - t0


def check_pings(ag, ip, sizes=(56, 1400), n=5):
    for s in sizes:
        got = ping(ag, ip, s, n)
        check(got == n, "%s -> %s: %d/%d pings of %d bytes"
              % (ag.name, ip, got, n, s))


SERVE = """\
mkfifo /tmp/hold%(p)d 2>/dev/null
(exec 3<>/tmp/hold%(p)d
 seq 1 %(n)d | nc -l -p %(p)d; echo "TX rc=$?" >/tmp/tx%(p)d) \
 >/dev/null 2>&1 &
(exec 3<>/tmp/hold%(p)d
 nc -l -p %(q)d <&3 >/tmp/rx%(q)d; echo "RX rc=$?" >/tmp/rxrc%(q)d) \
 >/dev/null 2>&1 &
sleep 0.5
"""

FETCH = """\
mkfifo /tmp/hold 2>/dev/null
exec 3<>/tmp/hold
i=0
until nc %(ip)s %(p)d <&3 >/tmp/rx && [ -s /tmp/rx ]; do
	i=$((i + 1)); [ $i -lt 10 ] || exit 1; sleep 1
done
echo "FETCH md5=$(md5sum </tmp/rx | cut -d' ' -f1) bytes=$(wc -c </tmp/rx)"
i=0
until seq 1 %(n)d | nc %(ip)s %(q)d; do
	i=$((i + 1)); [ $i -lt 10 ] || exit 2; sleep 1
done
"""

COLLECT = """\
i=0
until [ -f /tmp/rxrc%(q)d ]; do
	i=$((i + 1)); [ $i -lt 60 ] || exit 1; sleep 1
done
cat /tmp/rxrc%(q)d
f=/tmp/rx%(q)d
echo "GOT md5=$(md5sum <$f | cut -d' ' -f1) bytes=$(wc -c <$f)"
"""


def transfer(a, a_ip, b, port=5001, n=SEQ_N):
    """`seq 1 n` from a to b and from b to a over TCP (busybox nc); both
    must arrive with the md5 and size computed here."""
    md5, size = seq_expect(n)
    t0 = time.monotonic()
    a.ok(SERVE % {"p": port, "q": port + 1, "n": n}, "start nc servers")
    out = b.ok(FETCH % {"ip": a_ip, "p": port, "q": port + 1, "n": n},
               "fetch and send", timeout=600)
    got = [line for line in out if line.startswith("FETCH ")]
    check(got == ["FETCH md5=%s bytes=%d" % (md5, size)],
          "%s -> %s: %d bytes, md5 %s (got %s)"
          % (a.name, b.name, size, md5, got))
    out = a.ok(COLLECT % {"q": port + 1}, "collect", timeout=120)
    check("RX rc=0" in out and "GOT md5=%s bytes=%d" % (md5, size) in out,
          "%s -> %s: %d bytes, md5 %s (got %s)"
          % (b.name, a.name, size, md5, out))
    secs = time.monotonic() - t0
    log("transfer of 2 x %d bytes took %.1fs" % (size, secs))


def image(workdir):
    """The guest image, shared by the tests: beside their work folders."""
    return guest.build_image(os.path.join(os.path.dirname(workdir), "img"))


def vlan_image(base, outdir=None):
    """The image for VLAN tests: the standard one, whose init loads 8021q
    and its dependencies (llc, stp, garp, mrp) at boot (build-guest.sh).
    Checks that base's initrd really carries the module and returns base;
    outdir is not used (kept for callers of the old separate image)."""
    del outdir
    with gzip.open(os.path.join(base, "initrd.img"), "rb") as f:
        initrd = f.read()
    if b"lib/modules/8021q.ko" not in initrd:
        raise Fail("guest image %s lacks 8021q.ko: rebuild it with "
                   "build-guest.sh" % base)
    return base


# Guest shell prefix of the VLAN tests: init.sh loaded 8021q at boot.
LOAD_VLAN = """\
grep -q '^8021q ' /proc/modules || exit 1
"""


def main_wrapper(body):
    """Run body(cleanup, dumps) and return an exit status; dumps is a list
    body appends objects with dump() to, printed on failure."""
    cleanup = Cleanup()
    dumps = []
    t0 = time.monotonic()
    ok = False

    def on_term(signum, frame):
        raise Fail("signal %d (test timeout?)" % signum)

    # meson ends a test that ran out of time with SIGTERM: clean up then
    # too (QEMU runs in its own session and would outlive us).
    signal.signal(signal.SIGTERM, on_term)
    try:
        body(cleanup, dumps)
        ok = True
    except (Fail, guest.GuestError, subprocess.SubprocessError,
            OSError, ValueError, KeyError, KeyboardInterrupt) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    finally:
        if not ok:
            for d in dumps:
                d.dump()
        cleanup.run()
    print("total %.1fs: %s" % (time.monotonic() - t0,
                               "PASS" if ok else "FAIL"), flush=True)
    return 0 if ok else 1


def variant_main(doc, test, valid, root_for=None):
    """main() of a script run as `SCRIPT BUILDDIR WORKDIR VARIANT`: the
    usage (doc, exit 2) unless valid(VARIANT); SKIP (77) when root_for (what
    root is needed for) is given and this is not root; else
    test(builddir, workdir, variant, cleanup, dumps) under main_wrapper."""
    if len(sys.argv) != 4 or not valid(sys.argv[3]):
        print(doc, file=sys.stderr)
        return 2
    if root_for and os.geteuid() != 0:
        print("SKIP: needs root (%s)" % root_for)
        return 77
    builddir = os.path.abspath(sys.argv[1])
    workdir = os.path.abspath(sys.argv[2])
    os.makedirs(workdir, exist_ok=True)
    return main_wrapper(
        lambda c, d: test(builddir, workdir, sys.argv[3], c, d))
