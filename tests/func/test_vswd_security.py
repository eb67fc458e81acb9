#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vswd's files and privileges (suite func; root, exit 77 otherwise).

- vhostuser socket paths: only in the run dir or a --vhost-sock-dir folder,
  checked with symlinks resolved, no "." / "..", never vswd's control socket
  or database (nor for vhostuserclient), never a path another port has, and
  the daemon-only options refused from a client;
- a stored port whose path is no longer allowed (or is the control socket)
  is reported down at restore, never fatal, and the control socket stays;
- vswd --user UID:GID: the process keeps CAP_NET_ADMIN and CAP_NET_RAW only
  (permitted, effective and bounding sets), no_new_privs, owns its files,
  a world-readable conf.db is made 0600, vhost-user sockets are 0660 with
  the --vhost-sock-group group, tap and afpacket ports still open; a QEMU
  running as another user in that group attaches, one outside it cannot;
- started the way the systemd unit starts it (as an unprivileged user with
  ambient CAP_NET_ADMIN / CAP_NET_RAW) vswd works the same;
- the unit's `systemd-analyze security` exposure stays below 3.0.

usage: test_vswd_security.py VSWD VSWCTL UNIT
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import vswtest
from vswtest import check

VSWD, VSWCTL, UNIT = sys.argv[1], sys.argv[2], sys.argv[3]
TMP = None
# ids no account on the machine needs to have: numeric --user works
UID, GID, SOCK_GID = 4242, 4243, 4244
QEMU_UID, OUT_GID = 4250, 4299
CAP_NET_ADMIN, CAP_NET_RAW = 12, 13
KEPT = (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)


class Daemon:
    def __init__(self, name, extra=(), pre=()):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.db = os.path.join(self.dir, "db", "conf.db")
        self.run = os.path.join(self.dir, "run")
        self.ctl_path = os.path.join(self.run, "vswd.ctl")
        self.logf = os.path.join(self.dir, "vswd.log")
        self.args = list(pre) + [VSWD, "--db", self.db, "--ctl",
                                 self.ctl_path, "--run-dir", self.run,
                                 "--log-level", "debug"] + list(extra)
        self.p = None

    def start(self):
        log = open(self.logf, "a")
        self.p = subprocess.Popen(self.args, stdout=log, stderr=log,
                                  stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("vswd exited with %d:\n%s" %
                                   (self.p.returncode, self.log()))
            if self.ctl("version")[0] == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("vswd did not answer in time")

    def stop(self):
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else 0
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=30)

    def log(self):
        with open(self.logf) as f:
            return f.read()

    def ctl(self, *args):
        r = subprocess.run([VSWCTL, "--ctl", self.ctl_path] + list(args),
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args):
        rc, out, err = self.ctl(*args)
        check(rc == 0, "vswctl %s: rc %d %s" % (" ".join(args), rc, err))
        return out

    def show(self):
        rc, out, err = self.ctl("--json", "show")
        check(rc == 0, "show: rc %d %s" % (rc, err))
        return json.loads(out) if rc == 0 else {}

    def port(self, name):
        for b in self.show().get("bridges", []):
            for p in b["ports"]:
                if p["name"] == name:
                    return p
        return None


def proc_status(pid):
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return st


def test_usage():
    """Wrong options: exit 2 (usage) or 1 (a folder that is not there),
    each with a message naming the option."""
    cases = [
        (["--user", "no-such-user-vsw"], 2, "no user"),
        (["--user", "0:no-such-group-vsw"], 2, "no group"),
        (["--user", ":1"], 2, "USER[:GROUP]"),
        (["--vhost-sock-mode", "999"], 2, "octal"),
        (["--vhost-sock-mode", "0"], 2, "octal"),
        (["--vhost-sock-group", "no-such-group-vsw"], 2, "no group"),
        (["--vhost-sock-dir", "relative/dir"], 1, "relative"),
        (["--vhost-sock-dir", os.path.join(TMP, "absent")], 1,
         "No such file"),
    ]
    for extra, code, what in cases:
        d = Daemon("usage", extra)
        r = subprocess.run(d.args, capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == code and what in r.stderr,
              "vswd %s: exit %d with '%s', got %d %r" %
              (" ".join(extra), code, what, r.returncode, r.stderr[-300:]))
    # as a user that is not root, --user another is refused
    d = Daemon("usage2", ["--user", "0"],
               pre=["setpriv", "--reuid=%d" % UID, "--regid=%d" % GID,
                    "--clear-groups"])
    os.chmod(d.dir, 0o777)
    r = subprocess.run(d.args, capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "only root" in r.stderr,
          "--user as non-root refused: %d %r" % (r.returncode,
                                                   r.stderr[-300:]))


def test_paths():
    extra_dir = os.path.join(TMP, "paths-extra")
    outside = os.path.join(TMP, "paths-outside")
    os.makedirs(os.path.join(extra_dir, "inner"))
    os.makedirs(outside)
    d = Daemon("paths", ["--vhost-sock-dir", extra_dir]).start()
    try:
        os.makedirs(os.path.join(d.run, "sub"))
        os.symlink(outside, os.path.join(d.run, "esc"))
        os.symlink(os.path.join(extra_dir, "inner"),
                   os.path.join(d.run, "in"))
        before = d.show()
        refused = [
            ("path=" + os.path.join(outside, "x.sock"), "outside"),
            ("path=" + os.path.join(TMP, "x.sock"), "outside"),
            ("path=" + d.run + "/../x.sock", "'..'"),
            ("path=" + d.run + "/./x.sock", "'.'"),
            ("path=" + d.run + "/sub/", "trailing"),
            ("path=" + os.path.join(d.run, "esc", "x.sock"), "outside"),
            ("path=" + os.path.join(d.run, "nodir", "x.sock"),
             "No such file"),
            ("path=" + d.ctl_path, "control socket"),
            ("path=" + os.path.join(d.run, "..", "run", "vswd.ctl"), "'..'"),
            ("path=" + d.db, "database"),
            ("path=" + d.db + "-wal", "database"),
            ("path=x.sock", "relative"),
        ]
        for opt, why in refused:
            rc, out, err = d.ctl("add-port", "br0", "bad", "type=vhostuser",
                                 opt)
            check(rc == 1 and why in err,
                  "vhostuser %s refused (%s): rc %d %r" % (opt, why, rc, err))
        for opt in ("run_dir=" + d.run, "socket_mode=0777",
                    "socket_group=0"):
            rc, out, err = d.ctl("add-port", "br0", "bad", "type=vhostuser",
                                 "path=" + os.path.join(d.run, "b.sock"), opt)
            check(rc == 1 and "vswd's own" in err,
                  "client-set %s refused: rc %d %r" % (opt, rc, err))
        rc, out, err = d.ctl("add-port", "br0", "bad",
                             "type=vhostuserclient", "path=" + d.ctl_path)
        check(rc == 1 and "control socket" in err,
              "vhostuserclient to the control socket refused: %d %r" %
              (rc, err))
        check(d.show() == before, "refused paths changed nothing")
        # an OpenFlow punix: listener follows the same rules
        vhu0 = os.path.join(d.run, "vhu0.sock")
        ino = os.stat(vhu0).st_ino
        rc, out, err = d.ctl("set-controller", "br0", "punix:" + vhu0)
        check(rc == 1 and "somebody listens" in err,
              "punix: on a live vhostuser socket refused: %d %r" % (rc, err))
        check(os.stat(vhu0).st_ino == ino, "vhu0.sock left alone")
        rc, out, err = d.ctl("set-controller", "br0",
                             "punix:" + os.path.join(outside, "of.sock"))
        check(rc == 1 and "outside" in err,
              "punix: outside the socket folders refused: %d %r" % (rc, err))
        ofs = os.path.join(d.run, "of.sock")
        d.ok("set-controller", "br0", "punix:" + ofs)
        check(os.path.exists(ofs), "punix: listener bound")
        os.unlink(ofs)
        import socket
        repl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        repl.bind(ofs)
        d.ok("del-controller", "br0")
        check(os.path.exists(ofs), "a socket put in the listener's place "
              "is not removed by del-controller")
        repl.close()
        os.unlink(ofs)
        check(os.stat(d.ctl_path).st_mode & 0o170000 == 0o140000 and
              d.ctl("version")[0] == 0, "control socket intact")
        good = {"g1": os.path.join(d.run, "g1.sock"),
                "g2": os.path.join(d.run, "sub", "g2.sock"),
                "g3": os.path.join(extra_dir, "g3.sock"),
                "g4": os.path.join(d.run, "in", "g4.sock")}
        for name, path in good.items():
            d.ok("add-port", "br0", name, "type=vhostuser", "path=" + path)
            st = os.stat(path)
            check(st.st_mode & 0o777 == 0o660,
                  "%s mode 0660, got %o" % (path, st.st_mode & 0o777))
        # a path another port has: refused even while that port is down
        d.ok("del-port", "br0", "g1")
        os.makedirs(os.path.join(d.run, "gone"))
        d.ok("add-port", "br0", "g5", "type=vhostuser",
             "path=" + os.path.join(d.run, "gone", "g5.sock"))
        for name in ("g2", "g3"):
            rc, out, err = d.ctl("add-port", "br0", "dup", "type=vhostuser",
                                 "path=" + good[name])
            check(rc == 1 and ("port '%s' has path" % name) in err,
                  "second port on %s's path refused: %d %r" %
                  (name, rc, err))
        check(d.port("dup") is None, "no port dup")
        check(d.stop() == 0, "vswd stops cleanly")
        for name in ("g2", "g3", "g4"):
            check(not os.path.exists(good[name]),
                  "%s removed at stop" % good[name])

        # the store now says g2 is at the control socket and g3 outside
        # (g3's folder is no longer allowed once --vhost-sock-dir is gone)
        db = sqlite3.connect(d.db)
        db.execute("UPDATE port_options SET value = ? WHERE port = 'g2' "
                   "AND key = 'path'", (d.ctl_path,))
        db.commit()
        db.close()
        d.args = [a for a in d.args if a not in ("--vhost-sock-dir",
                                                 extra_dir)]
        d.start()
        check(os.stat(d.ctl_path).st_mode & 0o170000 == 0o140000,
              "restart: the control socket is a socket")
        # g4: a symlink in the run dir into the folder no longer allowed
        for name, why in (("g2", "control socket"), ("g3", "outside"),
                          ("g4", "outside")):
            p = d.port(name)
            check(p is not None and p["link"] == "down" and
                  why in p.get("status", ""),
                  "restored %s reported down (%s): %r" % (name, why, p))
        p = d.port("g5")
        check(p is not None and "not open" not in p.get("status", ""),
              "g5 back: %r" % p)
        check(d.stop() == 0, "vswd with refused stored ports stops cleanly")
    finally:
        d.stop()


def caps_of(pid):
    st = proc_status(pid)
    return (int(st["CapPrm"], 16), int(st["CapEff"], 16),
            int(st["CapBnd"], 16), st["NoNewPrivs"], st["Uid"], st["Gid"],
            st["Groups"])


def qemu_attach(sock, uid, gid, groups, logf):
    """A QEMU (stopped at the first instruction: no guest needed) as
    another user: it connects and negotiates at start."""
    cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
           "--groups=%s" % ",".join(str(g) for g in groups),
           "--inh-caps=-all", "--bounding-set=-all",
           "qemu-system-x86_64", "-accel", "tcg", "-m", "128",
           "-object", "memory-backend-memfd,id=mem,size=128M,share=on",
           "-machine", "memory-backend=mem",
           "-chardev", "socket,id=c0,path=" + sock,
           "-netdev", "vhost-user,id=n0,chardev=c0",
           "-device", "virtio-net-pci,netdev=n0,vectors=0",
           "-S", "-nodefaults", "-display", "none", "-monitor", "none"]
    log = open(logf, "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL)
    log.close()
    return p


def wait_status(d, port, pred, secs):
    deadline = time.time() + secs
    p = None
    while time.time() < deadline:
        p = d.port(port)
        if p is not None and pred(p):
            return p
        time.sleep(0.1)
    return p


def check_unprivileged(d, label, qemu):
    """What a vswd without root must still do; d runs as UID."""
    pid = d.p.pid
    prm, eff, bnd, nnp, uid, gid, groups = caps_of(pid)
    check(prm == KEPT and eff == KEPT,
          "%s: permitted/effective = NET_ADMIN|NET_RAW, got %x/%x" %
          (label, prm, eff))
    check(bnd & ~KEPT == 0, "%s: bounding set %x" % (label, bnd))
    check(uid.split() == [str(UID)] * 4, "%s: uid %s" % (label, uid))
    check(gid.split() == [str(GID)] * 4, "%s: gid %s" % (label, gid))
    for tid in os.listdir("/proc/%d/task" % pid):
        t = proc_status(int(tid))
        check(int(t["CapEff"], 16) == KEPT and
              t["Uid"].split()[0] == str(UID),
              "%s: thread %s %s caps %s" % (label, tid, t["Name"],
                                            t["CapEff"]))
    vhu = os.path.join(d.run, "vhu0.sock")
    st = os.stat(vhu)
    check(st.st_mode & 0o777 == 0o660 and st.st_uid == UID and
          st.st_gid == SOCK_GID,
          "%s: vhu0.sock 0660 %d:%d, got %o %d:%d" %
          (label, UID, SOCK_GID, st.st_mode & 0o777, st.st_uid, st.st_gid))
    st = os.stat(d.db)
    check(st.st_mode & 0o777 == 0o600 and st.st_uid == UID,
          "%s: conf.db 0600 owned by %d, got %o %d" %
          (label, UID, st.st_mode & 0o777, st.st_uid))
    p = d.port("vsw0")
    check(p is not None and p["link"] == "up",
          "%s: default tap port up: %r" % (label, p))
    # ports added at run time still open with the two capabilities
    d.ok("add-port", "br0", "t1", "type=tap")
    p = d.port("t1")
    check(p is not None and p["link"] == "up", "%s: tap t1: %r" % (label, p))
    veth = "vsa%d" % os.getpid()
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer",
                    "name", veth + "p"], check=True)
    subprocess.run(["ip", "link", "set", veth, "up"], check=True)
    subprocess.run(["ip", "link", "set", veth + "p", "up"], check=True)
    try:
        d.ok("add-port", "br0", "af", "type=afpacket", "ifname=" + veth)
        p = wait_status(d, "af", lambda p: p["link"] == "up", 5)
        check(p is not None and p["link"] == "up",
              "%s: afpacket port: %r" % (label, p))
        d.ok("del-port", "br0", "af")
    finally:
        subprocess.run(["ip", "link", "del", veth])
    d.ok("del-port", "br0", "t1")
    if not qemu:
        return
    # a QEMU as its own user, in the socket group: attaches
    q = qemu_attach(vhu, QEMU_UID, QEMU_UID, [SOCK_GID],
                    os.path.join(d.dir, "qemu-in.log"))
    p = wait_status(d, "vhu0", lambda p: ", connected" in p["status"], 15)
    check(p is not None and ", connected" in p["status"],
          "%s: QEMU as uid %d in group %d attached: %r" %
          (label, QEMU_UID, SOCK_GID, p))
    q.terminate()
    q.wait(timeout=20)
    # outside the group: refused by the socket's mode, vswd unaffected
    q = qemu_attach(vhu, QEMU_UID, QEMU_UID, [OUT_GID],
                    os.path.join(d.dir, "qemu-out.log"))
    try:
        q.wait(timeout=20)
    except subprocess.TimeoutExpired:
        q.kill()
        q.wait()
    with open(os.path.join(d.dir, "qemu-out.log")) as f:
        out = f.read()
    check("Permission denied" in out,
          "%s: QEMU outside group %d refused: %r" % (label, SOCK_GID,
                                                    out[-300:]))
    check(d.ctl("version")[0] == 0, "%s: vswd still answers" % label)


def test_user(qemu):
    d = Daemon("user", ["--user", "%d:%d" % (UID, GID),
                        "--vhost-sock-group", str(SOCK_GID)])
    # a first run as root, then the database made world-readable
    d0 = Daemon("user").start()
    check(d0.stop() == 0, "first run stops")
    os.chmod(d.db, 0o644)
    d.start()
    try:
        check("made 0600" in d.log(), "world-readable conf.db reported")
        check(os.stat(d.ctl_path).st_uid == UID, "control socket given "
              "to the user")
        check("running as %d" % UID in d.log(), "log says who vswd is")
        check_unprivileged(d, "--user", qemu)
        # a restart keeps everything (the files are the user's now)
        check(d.stop() == 0, "--user vswd stops cleanly")
        d.start()
        check(d.port("vhu0") is not None, "--user restart restores")
    finally:
        check(d.stop() == 0, "--user vswd stops cleanly again")


def test_as_unit(qemu):
    """As systemd starts it (dist/vswd.service): User=, Group=, ambient
    CAP_NET_ADMIN / CAP_NET_RAW, bounding set of those two, folders made
    for the user beforehand (RuntimeDirectory=, StateDirectory=),
    UMask=0077."""
    d = Daemon("unit", ["--vhost-sock-group", str(SOCK_GID)],
               pre=["setpriv", "--reuid=%d" % UID, "--regid=%d" % GID,
                    "--groups=%d,%d" % (GID, SOCK_GID),
                    "--inh-caps=-all,+net_admin,+net_raw",
                    "--ambient-caps=-all,+net_admin,+net_raw",
                    "--bounding-set=-all,+net_admin,+net_raw",
                    "--no-new-privs"])
    for sub, mode in (("run", 0o755), ("db", 0o700)):
        os.makedirs(os.path.join(d.dir, sub), mode)
        os.chown(os.path.join(d.dir, sub), UID, GID)
        os.chmod(os.path.join(d.dir, sub), mode)
    os.chmod(d.dir, 0o755)
    old = os.umask(0o077)
    try:
        d.start()
    finally:
        os.umask(old)
    try:
        check_unprivileged(d, "unit", qemu)
    finally:
        check(d.stop() == 0, "unit-style vswd stops cleanly")


def test_unit_file():
    """The unit: not root, the two capabilities only, and an exposure
    under 3.0 by systemd's own measure."""
    with open(UNIT) as f:
        text = f.read()
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            keys.setdefault(k.strip(), []).append(v.strip())
    check(keys.get("User") == ["vsw"], "unit User=vsw: %r" % keys.get("User"))
    for k in ("CapabilityBoundingSet", "AmbientCapabilities"):
        check(sorted(" ".join(keys.get(k, [])).split()) ==
              ["CAP_NET_ADMIN", "CAP_NET_RAW"], "unit %s: %r" %
              (k, keys.get(k)))
    # every vswd option the unit passes is one vswd knows
    exec_start = keys["ExecStart"][0].split()
    r = subprocess.run([VSWD, "--help"], capture_output=True, text=True)
    for a in exec_start[1:]:
        if a.startswith("--"):
            check(a in r.stdout, "unit's %s in vswd --help" % a)
    if shutil.which("systemd-analyze") is None:
        print("note: no systemd-analyze: exposure not measured")
        return
    r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager", UNIT], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    check(m is not None and float(m.group(1)) < 3.0,
          "systemd-analyze security: exposure < 3.0, got %r" %
          (m.group(1) if m else r.stdout[-300:] + r.stderr[-300:]))
    if m:
        print("unit exposure (systemd-analyze security): %s" % m.group(1))


def main():
    global TMP
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("skip: needs root and setpriv")
        return 77
    vswtest.own_netns()
    TMP = tempfile.mkdtemp(prefix="vsw-func-sec-")
    os.chmod(TMP, 0o755)
    qemu = shutil.which("qemu-system-x86_64") is not None
    if not qemu:
        print("note: no qemu-system-x86_64: the QEMU-as-another-user "
              "checks are not run")
    try:
        for t in (test_usage, test_paths, lambda: test_user(qemu),
                  lambda: test_as_unit(qemu), test_unit_file):
            try:
                t()
            except Exception as e:  # one broken step, the others still run
                check(False, "%s raised %r" % (t, e))
    finally:
        if vswtest.failed:
            for name in ("paths", "user", "unit"):
                f = os.path.join(TMP, name, "vswd.log")
                if os.path.exists(f):
                    print("--- %s ---" % f)
                    print(open(f).read()[-4000:])
        shutil.rmtree(TMP, ignore_errors=True)
    return vswtest.summary()


if __name__ == "__main__":
    sys.exit(main())
