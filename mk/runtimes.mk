# Out-of-process functions benchmark (issue 18; included by the main Makefile; never part of make test).
#   make bench-runtimes   → bench/results/runtimes.{json,md}: warm invocation over HTTP of a native `provided` bootstrap
#                           and a Python (awslambdaric) handler beside the in-process no-op (target: native ≤ 1 ms
#                           added at p50), and their cold starts, in one run on the release build
#   make bench-runtimes BENCH_RUNTIMES_ARGS="--warm 1000 --cold 20"
.PHONY: bench-runtimes

BENCH_RUNTIMES_ARGS ?=

bench-runtimes: deps-bench
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python bench/runtimes.py --bin $(RELEASE_BIN) $(BENCH_RUNTIMES_ARGS)
