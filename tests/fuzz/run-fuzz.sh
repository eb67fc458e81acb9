#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the libFuzzer targets with clang in their own build directory and run
# each for SECONDS (default 50) on a copy of its committed corpus, so the
# repository is never modified. The per-target time is capped so that all
# targets together stay within FUZZ_TOTAL_SECONDS (default 420, 0: no cap).
# Exits non-zero on any crash, leak or timeout and prints the reproducer;
# the crash files stay in the work directory.
#
# usage: tests/fuzz/run-fuzz.sh [SECONDS]
# env:   FUZZ_BUILD_DIR (default: $TMPDIR/vsw-build-fuzz-<hash of the source
#        path>, reused by later runs), FUZZ_WORK_DIR (default: a mktemp dir),
#        FUZZ_JOBS (parallel fuzzing processes, default 1), FUZZ_TARGETS
#        (a space-separated subset, default all), FUZZ_TOTAL_SECONDS
set -eu

seconds=${1:-50}
case $seconds in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

src=$(cd "$(dirname "$0")/../.." && pwd)
tag=$(printf '%s' "$src" | cksum | cut -d' ' -f1)
build=${FUZZ_BUILD_DIR:-${TMPDIR:-/tmp}/vsw-build-fuzz-$tag}
work=${FUZZ_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/vsw-fuzz.XXXXXX")}
jobs=${FUZZ_JOBS:-1}
mkdir -p "$work"
all="virtq_dev pkt flow rpc config vu_backend vu_frontend vswd ofp"
targets=${FUZZ_TARGETS:-$all}
total=${FUZZ_TOTAL_SECONDS:-420}
case $total in
''|*[!0-9]*) echo "FUZZ_TOTAL_SECONDS: a number of seconds" >&2; exit 2 ;;
esac
n=$(echo $targets | wc -w)
if [ "$total" -gt 0 ] && [ $((seconds * n)) -gt "$total" ]; then
	seconds=$((total / n))
	[ "$seconds" -ge 1 ] || seconds=1
	echo "fuzz: $n targets in $total s: $seconds s each"
fi

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" \
		-Dfuzz=true -Dbench=false \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debugoptimized >"$work/setup.log" 2>&1 || {
		cat "$work/setup.log" >&2
		echo "fuzz: meson setup failed" >&2
		exit 1
	}
fi
for t in $targets; do
	ninja -C "$build" "tests/fuzz/fuzz_$t" >"$work/build.log" 2>&1 || {
		cat "$work/build.log" >&2
		echo "fuzz: build of fuzz_$t failed" >&2
		exit 1
	}
done

status=0
for t in $targets; do
	corpus="$work/corpus_$t"
	artifacts="$work/artifacts_$t/"
	log="$work/fuzz_$t.log"
	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	cp "$src/tests/fuzz/corpus/$t/"* "$corpus/"

	# with -jobs, libFuzzer writes fuzz-N.log into the current directory
	par=""
	[ "$jobs" -gt 1 ] && par="-jobs=$jobs -workers=$jobs"
	start=$(date +%s)
	rc=0
	# halt_on_error so UBSan reports count as crashes too
	(cd "$work" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1 \
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $par \
		-artifact_prefix="$artifacts" "$corpus") >"$log" 2>&1 || rc=$?
	end=$(date +%s)
	if [ -n "$par" ]; then
		cat "$work"/fuzz-*.log >>"$log" 2>/dev/null || true
		rm -f "$work"/fuzz-*.log
	fi

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		awk '{ s += $1 } END { print s + 0 }')
	crashes=$(find "$artifacts" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		tail -n 60 "$log" >&2
		for f in "$artifacts"*; do
			[ -f "$f" ] && echo "fuzz: $t reproducer: $f" >&2
		done
		echo "fuzz: replay with: $build/tests/fuzz/fuzz_$t <file>" >&2
		echo "fuzz: $t ran $execs execs in $((end - start)) s," \
			"$crashes crashes (exit $rc), log $log"
		status=1
	else
		echo "fuzz: $t ran $execs execs in $((end - start)) s, 0 crashes" \
			"(corpus grew to $(ls "$corpus" | wc -l) inputs in $corpus)"
	fi
done
exit $status
