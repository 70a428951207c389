# Imagine load tests (issue 6): Locust scenarios against `aerie serve` with the `bench` diffusion model on loopback
# (included by the main Makefile; not part of make test, which runs a short CI version in e2e).
#   make loadtest-imagine                      → bench/results/imagine-load/report.md and PNG charts
#   make loadtest-imagine LOAD_DURATION=30 LOAD_SCENARIOS=cache-effectiveness LOAD_PRESET=tiny
.PHONY: loadtest-imagine deps-load

LOAD_PRESET ?= bench
LOAD_SCENARIOS ?= baseline,constant,ramp-up,peak,cache-effectiveness
LOAD_DURATION ?= 60
LOAD_USERS ?= 6
LOAD_STEPS ?= 4
LOAD_OUT ?= bench/results/imagine-load

deps-load:
	@scripts/install-deps.sh load

loadtest-imagine: deps-load neural-models
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python loadtests/imagine/run_load.py --bin $(RELEASE_BIN) --preset $(LOAD_PRESET) \
		--models $(NEURAL_DATA)/models --cache $(NEURAL_DATA)/load-models --out $(LOAD_OUT) \
		--scenarios $(LOAD_SCENARIOS) --duration $(LOAD_DURATION) --users $(LOAD_USERS) --steps $(LOAD_STEPS)
