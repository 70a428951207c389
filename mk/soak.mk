# The soak (issue 17; included by the main Makefile; never part of make test).
#   make soak   → bench/results/soak/{report.md,soak.png,summary.json}: SOAK_USERS Locust users for SOAK_DURATION
#                 seconds against the release build on the embedded default (Quickstart, Pipeline, Imagine), a mix of
#                 uploads with triggers, sync and async invocations, Imagine hits and misses, Pipeline predictions and
#                 console reads; fails on any failed request (429 with Retry-After excepted) or on memory or
#                 descriptors still growing after SOAK_WARMUP seconds
#   make soak SOAK_USERS=20 SOAK_DURATION=60 SOAK_WARMUP=20   (a quick look)
.PHONY: soak

SOAK_USERS ?= 200
SOAK_SPAWN_RATE ?= 10
SOAK_DURATION ?= 600
SOAK_WARMUP ?= 120
SOAK_OUT ?= bench/results/soak

soak: deps-load run-models
	.venv/bin/python loadtests/soak/run_soak.py --bin $(RELEASE_BIN) --models $(DATA)/models --users $(SOAK_USERS) \
		--spawn-rate $(SOAK_SPAWN_RATE) --duration $(SOAK_DURATION) --warmup $(SOAK_WARMUP) --out $(SOAK_OUT)
