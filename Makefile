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
	dpdk-dev librte-net-vhost23 librte-net-virtio23 libc6-dev

MESON ?= meson
PYTHON ?= python3
BUILD_DIR ?= build
TEST_DIR ?= build-test
BENCH_DIR ?= build-bench
FUZZ_SECONDS ?= 60
TEST_SUITES := unit func integ interop fuzz-regress
RUN_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=

.PHONY: all build run demo test bench bench-compare clean format deps

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

# Each step records its result; a failed step fails the target but the
# summary (tests/summary.py) still runs and prints the last line.
test:
	@rc=0; steps=""; mrc=0; \
	rm -f $(TEST_DIR)/meson-logs/testlog.json; \
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

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR) $(BENCH_DIR) build-*/

# The tree's own C files (never the build directories).
format:
	@find include lib programs bench tests -name '*.[ch]' -print0 | \
		xargs -0 -r clang-format -i
