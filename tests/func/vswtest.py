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
import sys

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
