# Fuzzing, the long runs (issue 17; included by the main Makefile; never part of make test, whose bounded runs are
# e2e/test_fuzz_api.py with 3 examples per operation and e2e/test_fuzz_parsers.py, a replay of the seed corpora).
#   make fuzz                      → both below
#   make fuzz-api                  → docs/fuzzing.{md,json}: schemathesis as a user and as the admin, 30 examples each
#   make fuzz-api FUZZ_EXAMPLES=100
#   make fuzz-parsers              → libFuzzer on the CSV reader, JSON, object keys, SigV4, aws-chunked bodies, images and
#                                    multipart forms, FUZZ_SECONDS each
.PHONY: fuzz fuzz-api fuzz-parsers

FUZZ_EXAMPLES ?= 30
FUZZ_SECONDS ?= 60

fuzz: fuzz-api fuzz-parsers

fuzz-api: deps-test
	swift build -j $(SWIFT_JOBS) --product aerie
	$(MAKE) --no-print-directory neural-models imagine-models
	.venv/bin/python scripts/fuzz_api.py --bin $(abspath $(DEBUG_BIN)) --examples $(FUZZ_EXAMPLES)

# The sigv4 target links the package's debug build of swift-crypto: build it first.
fuzz-parsers:
	swift build -j $(SWIFT_JOBS) --product aerie
	scripts/fuzz_parsers.sh $(FUZZ_SECONDS)
