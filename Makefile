# The two commands of the README: `make run` and `make test`. Everything else is a convenience.
.PHONY: run test deps deps-build build build-asan build-fuzz unit integration fault fuzz soak \
	package format clean bench bench-plot

PORT ?= 3109
JOBS ?= $(shell nproc)
# Tests in flight at once: most of them wait on sockets, timers and child processes, so twice the
# cores. The load, fault, package and browser tests run alone (RUN_SERIAL in their CMakeLists).
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))

deps:
	@scripts/install-deps

# Only what building the server needs: no browser, Postgres or Node for a first `make run`.
deps-build:
	@scripts/install-deps build

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# The libFuzzer targets (clang, ASan + UBSan): tests/fuzz/README.md.
FUZZ_TEST_SECONDS ?= 10
build-fuzz: deps
	@cmake --preset fuzz -DREALTIME_FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS) >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

# The server alone (no tests, no bench): the quickest first start.
run: deps-build
	@echo "make run: configuring (build/release)..."
	@# Quiet unless it fails (it warns that the JS tests need Node, which `make test` installs).
	@cmake --preset release >/dev/null 2>&1 || cmake --preset release
	@echo "make run: building the server..."
	@cmake --build --preset release -j $(JOBS) --target nself-realtime
	@scripts/run-dev $(PORT)

# Every test (unit, integration, fault, JS) on the release build, then again under ASan +
# UBSan, then each fuzz target for FUZZ_TEST_SECONDS from its seeds (docs/development.md).
test: build build-asan build-fuzz
	ctest --preset release -j $(TEST_JOBS)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --preset asan -j $(TEST_JOBS)
	ctest --preset fuzz

unit: build
	ctest --preset release -j $(TEST_JOBS) -L unit

integration: build
	ctest --preset release -j $(TEST_JOBS) -L integration

# nself-realtime_<version>_amd64.deb in build/release (the test label `package` checks it).
package: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target nself-realtime
	@cd build/release && cpack

fault: build
	ctest --preset release -L fault

# Every fuzz target for FUZZ_SECONDS (default 300) each, one after the other; what they find
# accumulates in build/fuzz/corpus.
fuzz: build-fuzz
	@scripts/fuzz-all

# The soak (not part of `make test`): SOAK_MINUTES (default 30), then docs/perf/soak.png.
soak: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target nself-realtime rt-soak
	@scripts/soak

# Load generator vs our server (and the uWS reference when it can be installed): docs/performance.md.
bench: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target nself-realtime rt-bench rt-nodes
	@scripts/bench

# Latency at several rates (fanout, memory and Redis engines), then docs/perf/latency.png.
BENCH_RATES ?= 100000,400000,1600000,3200000
bench-plot: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target nself-realtime rt-bench
	@BENCH_SCENARIOS=$${BENCH_SCENARIOS:-fanout} BENCH_LATENCY_RATES=$(BENCH_RATES) scripts/bench
	@scripts/bench-plot

format:
	@find src tests -name '*.hpp' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
