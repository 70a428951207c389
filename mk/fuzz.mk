# API fuzzing, the long run (issue 17; included by the main Makefile; never part of make test, whose bounded run is
# e2e/test_fuzz_api.py with 3 examples per operation).
#   make fuzz                      → docs/fuzzing.{md,json}: schemathesis as a user and as the admin, 30 examples each
#   make fuzz FUZZ_EXAMPLES=100
.PHONY: fuzz

FUZZ_EXAMPLES ?= 30

fuzz: deps-test
	swift build -j $(SWIFT_JOBS) --product aerie
	$(MAKE) --no-print-directory neural-models imagine-models
	.venv/bin/python scripts/fuzz_api.py --bin $(abspath $(DEBUG_BIN)) --examples $(FUZZ_EXAMPLES)
