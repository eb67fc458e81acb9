# SPDX-License-Identifier: MIT
"""What the Python func tests share: a counted check and a namespace.

    import vswtest
    from vswtest import check
    vswtest.own_netns(TMP)   # first thing in main(), as root
    ...
    return vswtest.summary() # prints "N passed, N failed", the exit code
"""
import os
import shutil
import signal
import subprocess
import sys
import time

passed = 0
failed = 0


def check(cond, what):
    """Count one check; print the failed ones. Returns cond."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)
    return cond


def summary():
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def own_netns(tmp=None):
    """As root, run this test again in a network namespace and a mount
    namespace of its own (with a /sys that shows that namespace's
    interfaces): vswd's first start creates the fixed host interface vsw0,
    and tests create interfaces; another test beside this one must not
    see them. Unix sockets are paths, so vswctl still reaches vswd. Once
    only (VSW_TEST_NETNS); @tmp (made before the re-exec) is removed, the
    new process makes its own."""
    if os.geteuid() != 0 or os.environ.get("VSW_TEST_NETNS") == "1" or \
            shutil.which("unshare") is None:
        return
    os.environ["VSW_TEST_NETNS"] = "1"
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    os.execvp("unshare", ["unshare", "--net", "--mount", "sh", "-c",
                          'mount -t sysfs none /sys && exec "$0" "$@"',
                          sys.executable] + sys.argv)


COMPLETION = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "dist", "vswctl.bash-completion")


def complete(vswctl, ctl, words):
    """What dist/vswctl.bash-completion offers after the words (the last
    one being completed) of a vswctl command line, with the vswctl binary
    @vswctl first in PATH and --ctl @ctl."""
    line = ["vswctl", "--ctl", ctl] + words
    script = ('. "%s"; COMP_WORDS=(%s); COMP_CWORD=%d; _vswctl; '
              'printf "%%s\\n" "${COMPREPLY[@]}"' %
              (COMPLETION, " ".join("'%s'" % w for w in line),
               len(line) - 1))
    env = dict(os.environ,
               PATH=os.path.dirname(os.path.abspath(vswctl)) + ":" +
               os.environ.get("PATH", ""))
    p = subprocess.run(["bash", "-c", script], capture_output=True,
                       text=True, env=env, timeout=30)
    check(p.returncode == 0, "completion of %r: %s" % (words, p.stderr))
    return set(p.stdout.split())


def completer(vswctl, ctl):
    """complete() bound to @vswctl and @ctl, for a test's completion
    checks; None (with a note) when there is no bash to run them."""
    if shutil.which("bash") is None:
        print("note: no bash: completion not checked")
        return None
    return lambda words: complete(vswctl, ctl, words)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True,
                          text=True).returncode


def veth(name):
    """A veth pair NAME / NAMEp, both up, without IPv6 (no stray frames)."""
    for c in ("ip link add %s type veth peer name %sp" % (name, name),
              "sysctl -qw net.ipv6.conf.%s.disable_ipv6=1" % name,
              "sysctl -qw net.ipv6.conf.%sp.disable_ipv6=1" % name,
              "ip link set %s up" % name, "ip link set %sp up" % name):
        if sh(c) != 0:
            raise RuntimeError("failed: " + c)


class Daemon:
    """vswd on @tmp's conf.db, run dir and control socket @ctl (default
    tmp/vswd.ctl), debug log appended to tmp/vswd.log (restarts share it),
    once it answers `vswctl version`."""

    def __init__(self, vswd, vswctl, tmp, ctl=None):
        if ctl is None:
            ctl = os.path.join(tmp, "vswd.ctl")
        self.log = open(os.path.join(tmp, "vswd.log"), "a")
        self.p = subprocess.Popen(
            [vswd, "--db", os.path.join(tmp, "conf.db"), "--ctl", ctl,
             "--run-dir", os.path.join(tmp, "run"), "--log-level", "debug"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("vswd exited with %d" % self.p.returncode)
            if subprocess.run([vswctl, "--ctl", ctl, "--timeout", "20",
                               "version"], capture_output=True,
                              timeout=60).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("vswd did not answer in time")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=30)
        self.log.close()
        return rc


def finish(d, tmp):
    """End of a test with a Daemon: kill @d if it still runs, print the
    log's tail if a check failed, remove @tmp; the exit code."""
    if d is not None and d.p.poll() is None:
        d.p.kill()
        d.p.wait()
    if failed:
        print(open(os.path.join(tmp, "vswd.log")).read()[-6000:])
    shutil.rmtree(tmp, ignore_errors=True)
    return summary()
