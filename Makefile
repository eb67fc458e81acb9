# vsw: a thin layer over Meson. The two commands a newcomer needs are
#   make run    build and run the switch daemon vswd in the foreground
#   make test   every test suite, a bounded fuzz run, a pass/fail summary
# Everything else is plain Meson: see README.md.

# Debian packages the build, the tests and the tools need. The one list:
# add new needs here (deps installs only what is missing).
# Extra packages for the side-by-side benchmark only (make bench-compare).
BENCH_PKGS := dpdk dpdk-dev openvswitch-switch-dpdk gnuplot-nox sysstat

DEB_PKGS := meson ninja-build gcc clang libclang-rt-14-dev llvm \
	clang-format pkg-config libcmocka-dev python3 \
	libsqlite3-dev libjansson-dev libxdp-dev libbpf-dev libcap-dev iproute2 \
	dpdk-dev librte-net-vhost23 librte-net-virtio23 libc6-dev \
	liburing-dev python3-scapy

MESON ?= meson
PYTHON ?= python3
BUILD_DIR ?= build
TEST_DIR ?= build-test
# ThreadSanitizer build of make test (clang: gcc's TSan refuses
# atomic_thread_fence under -Werror), its suites and settings.
TSAN_DIR ?= build-tsan
TSAN_CC ?= clang
TSAN_SUITES := func stress
TSAN_ENV := VSW_STRESS_COUNT=50000 VSW_STRESS_ROUNDS=3
# The man pages (docs/man, scdoc) and their test (man -l).
DEB_PKGS += scdoc man-db
# vswd's capture filters (libpcap's BPF compiler) and the readers the
# capture test opens its files with.
DEB_PKGS += libpcap-dev tshark tcpdump
# OpenFlow peers of tests/interop/test_ofp_ovs_ofctl.py: ovs-ofctl and
# Open vSwitch itself (started by the test in a temp dir, in a netns).
DEB_PKGS += openvswitch-common openvswitch-switch
# the OpenFlow controller of the ofp-controller interop test
DEB_PKGS += openvswitch-testcontroller
# fio, copied into the guest of the vhost-user-blk benchmark (make bench-blk)
DEB_PKGS += fio
BENCH_DIR ?= build-bench
FUZZ_SECONDS ?= 60
TEST_SUITES := unit func integ interop fuzz-regress
RUN_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
BLK_ARGS ?=

.PHONY: all build run demo test bench bench-compare bench-tunnel bench-blk clean \
	format deps

all: build

# Install the missing packages only (apt-get update first: a fresh machine
# has no package lists). Root runs apt-get directly, others through sudo.
# A variable, not a sub-make, so that `make -n test` only prints.
define DEPS_SH
missing=""; \
if ! command -v dpkg-query >/dev/null 2>&1; then \
	echo "deps: no dpkg-query (not Debian?): install by hand:" \
		"$(DEB_PKGS)" >&2; exit 1; \
fi; \
for p in $(DEB_PKGS); do \
	dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | \
		grep -q ' installed$$' || missing="$$missing $$p"; \
done; \
if [ -z "$$missing" ]; then exit 0; fi; \
if [ "$$(id -u)" = 0 ]; then sudo=""; \
elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
else \
	echo "deps: missing:$$missing; run as root:" \
		"apt-get update && apt-get install -y$$missing" >&2; \
	exit 1; \
fi; \
echo "deps: installing$$missing"; \
$$sudo apt-get update -q && \
$$sudo env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends $$missing
endef

deps:
	@$(DEPS_SH)

# Configure once; later runs let ninja re-run meson when a meson.build changes.
build:
	@[ -f $(BUILD_DIR)/build.ninja ] || \
		$(MESON) setup $(BUILD_DIR) -Dbuildtype=debugoptimized
	@$(MESON) compile -C $(BUILD_DIR)

# The switch in the foreground: a default bridge br0 with a TAP port to the
# host (vsw0) and a vhost-user port (vhu0) on first start; Ctrl-C stops it.
run: deps build
	@$(BUILD_DIR)/programs/vswd/vswd $(RUN_ARGS)

# The two-process ring demo (what `make run` ran before the switch existed).
demo: deps build
	@$(BUILD_DIR)/programs/ringdemo/vsw-ringdemo $(DEMO_ARGS)

# The ThreadSanitizer step of make test: a second build (TSAN_DIR) running
# the func suite and the concurrency stress tests. Every report, also one
# from a daemon a test started (vswd), goes to a file under the build dir
# (log_path); any such file fails the step and is printed. The tests run
# with address-space randomisation off (setarch -R) where that is
# available: TSan's shadow memory needs fixed ranges and dies with
# "unexpected memory mapping" on kernels with a large vm.mmap_rnd_bits.
# Sets trc (meson's status) and adds tsan-build / tsan-reports steps.
define TSAN_SH
norand=""; \
if setarch "$$(uname -m)" -R true 2>/dev/null; then \
	norand="setarch $$(uname -m) -R"; fi; \
if { [ -f $(TSAN_DIR)/build.ninja ] || \
     CC=$(TSAN_CC) $(MESON) setup $(TSAN_DIR) -Db_sanitize=thread \
		-Db_lundef=false -Dwerror=true -Dbench=false; } && \
   $(MESON) compile -C $(TSAN_DIR); then \
	rm -rf $(TSAN_DIR)/tsan-reports; \
	mkdir -p $(TSAN_DIR)/tsan-reports; \
	env $(TSAN_ENV) \
		TSAN_OPTIONS="log_path=$$(cd $(TSAN_DIR) && pwd)/tsan-reports/r $$TSAN_OPTIONS" \
		$$norand $(MESON) test -C $(TSAN_DIR) \
		$(TSAN_SUITES:%=--suite %) --print-errorlogs || \
		{ rc=1; trc=1; }; \
	if [ -n "$$(ls $(TSAN_DIR)/tsan-reports)" ]; then \
		rc=1; steps="$$steps tsan-reports=fail"; \
		for f in $(TSAN_DIR)/tsan-reports/*; do \
			echo "== $$f"; head -n 60 "$$f"; done; \
	else \
		steps="$$steps tsan-reports=pass"; \
	fi; \
else \
	rc=1; steps="$$steps tsan-build=fail"; \
fi
endef

# Each step records its result; a failed step fails the target but the
# summary (tests/summary.py) still runs and prints the last line.
test:
	@rc=0; steps=""; mrc=0; trc=0; \
	rm -f $(TEST_DIR)/meson-logs/testlog.json \
		$(TSAN_DIR)/meson-logs/testlog.json; \
	( $(DEPS_SH) ) || { rc=1; steps="$$steps deps=fail"; }; \
	if { [ -f $(TEST_DIR)/build.ninja ] || \
	     $(MESON) setup $(TEST_DIR) \
			-Db_sanitize=address,undefined -Dwerror=true; } && \
	   $(MESON) compile -C $(TEST_DIR); then \
		$(MESON) test -C $(TEST_DIR) $(TEST_SUITES:%=--suite %) \
			--print-errorlogs || { rc=1; mrc=1; }; \
	else \
		rc=1; steps="$$steps build=fail"; \
	fi; \
	$(TSAN_SH); \
	if [ -f tests/fuzz/run-fuzz.sh ]; then \
		if sh tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS); then \
			steps="$$steps fuzz-run=pass"; \
		else \
			rc=1; steps="$$steps fuzz-run=fail"; \
		fi; \
	else \
		echo "fuzz: tests/fuzz/run-fuzz.sh does not exist yet:" \
			"bounded fuzz run skipped"; \
	fi; \
	$(PYTHON) tests/summary.py --meson-rc $$mrc \
		--log tsan:$(TSAN_DIR)/meson-logs/testlog.json:$$trc \
		$(TEST_DIR)/meson-logs/testlog.json $$steps || rc=1; \
	exit $$rc

bench: deps
	@[ -f $(BENCH_DIR)/build.ninja ] || \
		$(MESON) setup $(BENCH_DIR) -Dbuildtype=release -Dtests=false
	@$(MESON) compile -C $(BENCH_DIR)
	@$(BENCH_DIR)/bench/vsw-ringbench $(BENCH_ARGS)

# vsw against dpdk-testpmd and Open vSwitch with DPDK, interleaved
# repetitions, table and plot written to docs/performance.md (10-20 min;
# run it on an otherwise idle machine). Options: COMPARE_ARGS="--quick".
bench-compare:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) $(BENCH_PKGS)"
	@[ -f $(BENCH_DIR)/build.ninja ] || \
		$(MESON) setup $(BENCH_DIR) -Dbuildtype=release -Dtests=false
	@$(MESON) compile -C $(BENCH_DIR)
	@$(PYTHON) bench/compare/run.py --build-dir $(BENCH_DIR) $(COMPARE_ARGS)

# VXLAN encap + decap between two hosts (namespaces) over veth: two vswd,
# two kernel vxlan devices, two Open vSwitch userspace datapaths (root,
# about 1.5 minutes; docs/performance.md "Tunnels"). TUNNEL_ARGS="-v".
bench-tunnel: deps
	@[ -f $(BENCH_DIR)/build.ninja ] || \
		$(MESON) setup $(BENCH_DIR) -Dbuildtype=release -Dtests=false
	@$(MESON) compile -C $(BENCH_DIR)
	@$(PYTHON) bench/tunnel/run.py --build-dir $(BENCH_DIR) $(TUNNEL_ARGS)

# vsw-blk beside qemu-storage-daemon, fio in one TCG guest with a disk on
# each (about 10 min; docs/performance.md "vhost-user-blk").
# BLK_ARGS="--quick" or "--reps 5 --runtime 20 --image-dir /var/tmp".
bench-blk: deps
	@[ -f $(BENCH_DIR)/build.ninja ] || \
		$(MESON) setup $(BENCH_DIR) -Dbuildtype=release -Dtests=false
	@$(MESON) compile -C $(BENCH_DIR)
	@$(PYTHON) bench/blk/run.py --build-dir $(BENCH_DIR) $(BLK_ARGS)

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR) $(TSAN_DIR) $(BENCH_DIR) build-*/

# The tree's own C files (never the build directories).
format:
	@find include lib programs bench tests -name '*.[ch]' -print0 | \
		xargs -0 -r clang-format -i
