#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Count what `make test` ran and print "N passed, N failed" as the last line.

Usage: summary.py [--meson-rc RC] [--log LABEL:TESTLOG_JSON:RC ...]
                  TESTLOG_JSON [STEP=pass|fail ...]

TESTLOG_JSON is Meson's meson-logs/testlog.json (one JSON object per test).
A cmocka program counts as its test cases: the "[  PASSED  ] N test(s)." and
"[  FAILED  ] N test(s)" lines it printed (cmocka writes them to stdout or
stderr depending on its version, so both are read). A cmocka program that
died before its totals (a sanitizer abort, a timeout) counts the cases that
printed "[       OK ]" as passed and the rest of "Running N test(s)" as
failed, at least one. Any other test (stress, corpus replay, the demo) counts
as one by its result. Each STEP=... argument (the bounded fuzz run, a failed
build) counts as one more. A non-zero Meson exit status that no test explains
counts as one failure, so a broken run can never print "0 failed".
Each --log adds another build's testlog (make test's ThreadSanitizer
build), its tests named LABEL/name, with its own Meson exit status RC.

Exit status: 0 if nothing failed, 1 otherwise.
"""

import argparse
import json
import re
import sys

RE_RUNNING = re.compile(r"^\[=+\] (?:.*: )?Running (\d+) test\(s\)\.", re.M)
RE_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)\.", re.M)
RE_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)", re.M)
RE_OK = re.compile(r"^\[       OK \] ", re.M)

GOOD = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def count_test(entry):
    """(passed, failed, skipped, kind) for one testlog.json entry."""
    out = (entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")
    result = entry.get("result", "ERROR")
    if result in SKIPPED:
        return 0, 0, 1, "skipped"
    running = [int(n) for n in RE_RUNNING.findall(out)]
    if not running:
        return (1, 0, 0, "test") if result in GOOD else (0, 1, 0, "test")
    passed = sum(int(n) for n in RE_PASSED.findall(out))
    failed = sum(int(n) for n in RE_FAILED.findall(out))
    total = sum(running)
    if passed + failed < total:
        # died mid-run: trust the per-case OK lines for what finished
        passed = max(passed, len(RE_OK.findall(out)))
        failed = max(failed, total - passed)
    if result not in GOOD and failed == 0:
        failed = 1  # exit status says it failed, whatever it printed
    return passed, failed, 0, "cmocka"


def read_log(path):
    """The entries of one testlog.json (none if it does not exist)."""
    rows = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows


def count_log(rows, label, meson_rc):
    """Print one line per test; (passed, failed, skipped) of the log."""
    passed = failed = skipped = 0
    for entry in rows:
        p, fl, s, kind = count_test(entry)
        passed, failed, skipped = passed + p, failed + fl, skipped + s
        name = label + entry.get("name", "?")
        if kind == "skipped":
            print(f"  SKIP {name}")
        elif kind == "cmocka":
            mark = "ok  " if fl == 0 else "FAIL"
            print(f"  {mark} {name}: {p} passed, {fl} failed (cmocka cases)")
        else:
            mark = "ok  " if fl == 0 else "FAIL"
            print(f"  {mark} {name} ({entry.get('result', '?')})")
    if meson_rc != 0 and failed == 0:
        print(f"  FAIL {label}meson test exited non-zero with no failing test")
        failed += 1
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meson-rc", type=int, default=0)
    ap.add_argument("--log", action="append", default=[],
                    metavar="LABEL:TESTLOG_JSON:RC")
    ap.add_argument("testlog")
    ap.add_argument("steps", nargs="*", metavar="STEP=pass|fail")
    args = ap.parse_args()

    print("\n== summary ==")
    passed, failed, skipped = count_log(read_log(args.testlog), "",
                                        args.meson_rc)
    for spec in args.log:
        label, _, rest = spec.partition(":")
        path, _, rc = rest.rpartition(":")
        p, fl, s = count_log(read_log(path), label + "/",
                             int(rc) if rc.lstrip("-").isdigit() else 1)
        passed, failed, skipped = passed + p, failed + fl, skipped + s
    for step in args.steps:
        name, _, res = step.partition("=")
        if res == "pass":
            passed += 1
            print(f"  ok   {name}")
        else:
            failed += 1
            print(f"  FAIL {name}")
    if skipped:
        print(f"  ({skipped} skipped, not counted)")
    sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
