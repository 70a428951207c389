# Imagine cache-hit benchmark (included by the main Makefile; not part of make test).
#   make bench-imagine                                  → starts its own server, bench/results/imagine-hits.{json,md}
#   make bench-imagine BENCH_IMAGINE_URL=http://…:8080  → against a running server (start it with --rate-limit 0)
.PHONY: bench-imagine

BENCH_IMAGINE_URL ?=
BENCH_IMAGINE_ARGS ?=

bench-imagine:
	@test -x .venv/bin/python || python3 -m venv .venv
	@.venv/bin/python -c "import requests" 2>/dev/null || .venv/bin/pip install -q requests
	@$(MAKE) --no-print-directory neural-models imagine-models
	swift build -c release --product aerie
	.venv/bin/python bench/imagine_hits.py --bin .build/release/aerie --data $(DATA) \
		$(if $(BENCH_IMAGINE_URL),--url $(BENCH_IMAGINE_URL)) $(BENCH_IMAGINE_ARGS)
