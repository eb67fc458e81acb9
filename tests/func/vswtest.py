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


class Daemon:
    """vswd on TMP/conf.db with its control socket TMP/vswd.ctl and run
    dir TMP/run, logging to TMP/vswd.log (appended: restarts share it);
    returns once `vswctl version` answers."""

    def __init__(self, vswd, vswctl, tmp):
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
            if subprocess.run([vswctl, "--ctl", ctl, "version"],
                              capture_output=True,
                              timeout=60).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("vswd did not answer in time")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=30)
        self.log.close()
        return rc


def veth(name):
    """A veth pair NAME / NAMEp, both up, without IPv6."""
    for c in ("ip link add %s type veth peer name %sp" % (name, name),
              "sysctl -qw net.ipv6.conf.%s.disable_ipv6=1" % name,
              "sysctl -qw net.ipv6.conf.%sp.disable_ipv6=1" % name,
              "ip link set %s up" % name, "ip link set %sp up" % name):
        if subprocess.run(c, shell=True, capture_output=True).returncode:
            raise RuntimeError("failed: " + c)


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
