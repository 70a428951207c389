# Gallery load test and benchmark (issue 13; included by the main Makefile; never part of make test).
#   make loadtest-gallery   → bench/results/gallery-load/report.md and PNG charts: Locust in the seed's three phases
#                             (ramp-up to GALLERY_USERS, steady, ramp-down to 0), browsing and uploading users
#   make loadtest-gallery GALLERY_USERS=16 GALLERY_RAMP_UP=60 GALLERY_STEADY=120 GALLERY_RAMP_DOWN=60
#   make bench-gallery      → bench/results/gallery.{json,md}: upload → ready of a 1-megapixel JPEG (p50, p99) and the
#                             classifier on 1 thread, Swift beside onnxruntime Python on the same graph
# Both use the release build and the models in $(NEURAL_DATA)/models (classifier, minilm, onnxruntime).
.PHONY: loadtest-gallery bench-gallery

GALLERY_USERS ?= 8
GALLERY_RAMP_UP ?= 20
GALLERY_STEADY ?= 30
GALLERY_RAMP_DOWN ?= 10
GALLERY_MIX ?= 3,1
GALLERY_ACCOUNTS ?= 4
GALLERY_SEED_PHOTOS ?= 12
GALLERY_LOAD_OUT ?= bench/results/gallery-load
GALLERY_LOAD_ARGS ?=
BENCH_GALLERY_UPLOADS ?= 30
BENCH_GALLERY_ARGS ?=

# The classifier, by the same `aerie models install` as a user (a no-op once installed and intact); minilm and
# onnxruntime come from neural-models.
GALLERY_CLASSIFIER = $(RELEASE_BIN) models install classifier --data $(NEURAL_DATA)

loadtest-gallery: deps-load neural-models
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	$(GALLERY_CLASSIFIER)
	.venv/bin/python loadtests/gallery/run_load.py --bin $(RELEASE_BIN) --models $(NEURAL_DATA)/models --out $(GALLERY_LOAD_OUT) \
		--users $(GALLERY_USERS) --ramp-up $(GALLERY_RAMP_UP) --steady $(GALLERY_STEADY) --ramp-down $(GALLERY_RAMP_DOWN) \
		--mix $(GALLERY_MIX) --accounts $(GALLERY_ACCOUNTS) --seed-photos $(GALLERY_SEED_PHOTOS) $(GALLERY_LOAD_ARGS)

bench-gallery: deps-load neural-models
	@.venv/bin/python -c "import onnxruntime" 2>/dev/null || .venv/bin/pip install -q onnxruntime==1.32.0
	swift build -c release -j $(SWIFT_JOBS) --product aerie
	$(GALLERY_CLASSIFIER)
	.venv/bin/python bench/gallery.py --bin $(RELEASE_BIN) --models $(NEURAL_DATA)/models --uploads $(BENCH_GALLERY_UPLOADS) $(BENCH_GALLERY_ARGS)
