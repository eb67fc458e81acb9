# SPDX-License-Identifier: MIT
"""What the OpenFlow interop tests (test_ofp_ovs_ofctl.py,
test_ofp_controller.py) share: a check that records failures, a command
runner, vswd in a temporary folder, Open vSwitch in one, ovs-ofctl.

    from ofptest import FAILS, check, run, Vswd, Ovs, ofctl
    ...
    print("%d failed" % len(FAILS))
"""
import os
import re
import signal
import subprocess
import time

FAILS = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what), flush=True)
    if not cond:
        FAILS.append(what)


def run(*args, timeout=20):
    p = subprocess.run(list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Vswd:
    def __init__(self, vswd, vswctl, tmp):
        self.vswd, self.vswctl, self.tmp = vswd, vswctl, tmp
        self.start()

    def start(self):
        t = self.tmp
        self.log = open(os.path.join(t, "vswd.log"), "a")
        self.p = subprocess.Popen(
            [self.vswd, "--db", os.path.join(t, "conf.db"),
             "--ctl", os.path.join(t, "vswd.ctl"),
             "--run-dir", os.path.join(t, "run"), "--log-level", "debug"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("vswd exited with %d" % self.p.returncode)
            if self.ctl("version")[0] == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("vswd did not answer")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=30)
        self.log.close()
        return rc

    def ctl(self, *args):
        return run(self.vswctl, "--ctl", os.path.join(self.tmp, "vswd.ctl"),
                   *args)

    def ptcp(self):
        """The address of br0's ptcp: listener, from get-controller."""
        rc, out, err = self.ctl("get-controller", "br0")
        m = re.search(r"listening on (127\.0\.0\.1:\d+)", out)
        return "tcp:" + m.group(1) if rc == 0 and m else None


class Ovs:
    """Open vSwitch in @tmp: ovsdb-server, ovs-vswitchd, bridge br0
    (netdev datapath: no kernel module)."""

    def __init__(self, tmp):
        self.tmp = tmp
        env = dict(os.environ, OVS_RUNDIR=tmp, OVS_LOGDIR=tmp,
                   OVS_DBDIR=tmp, OVS_SYSCONFDIR=tmp)
        self.env = env
        db = os.path.join(tmp, "conf.db")
        sock = "unix:" + os.path.join(tmp, "db.sock")
        subprocess.run(["ovsdb-tool", "create", db,
                        "/usr/share/openvswitch/vswitch.ovsschema"],
                       check=True, env=env)
        self.procs = [subprocess.Popen(
            ["ovsdb-server", db, "--remote=p" + sock,
             "--unixctl=" + os.path.join(tmp, "ovsdb.ctl"),
             "--log-file=" + os.path.join(tmp, "ovsdb.log")], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        self.wait_for(os.path.join(tmp, "db.sock"))
        subprocess.run(["ovs-vsctl", "--db=" + sock, "--no-wait", "init"],
                       check=True, env=env, timeout=20)
        self.procs.append(subprocess.Popen(
            ["ovs-vswitchd", sock,
             "--unixctl=" + os.path.join(tmp, "vswitchd.ctl"),
             "--log-file=" + os.path.join(tmp, "vswitchd.log")], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        subprocess.run(["ovs-vsctl", "--db=" + sock, "--timeout=20",
                        "add-br", "br0", "--", "set", "bridge", "br0",
                        "datapath_type=netdev"], check=True, env=env,
                       timeout=30)
        self.target = "unix:" + os.path.join(tmp, "br0.mgmt")
        self.wait_for(os.path.join(tmp, "br0.mgmt"))

    @staticmethod
    def wait_for(path):
        deadline = time.time() + 20
        while not os.path.exists(path):
            if time.time() > deadline:
                raise RuntimeError("%s did not appear" % path)
            time.sleep(0.05)

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(timeout=20)


def ofctl(*args):
    return run("ovs-ofctl", "-O", "OpenFlow13", *args)
