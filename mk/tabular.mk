# Tabular ML benchmark: Aerie's Swift engine next to scikit-learn (included by the main Makefile).
#   make bench-tabular   → bench/results/tabular.json and bench/results/tabular.md
# BENCH_TABULAR_ARGS passes options to bench/tabular.py (e.g. --samples 5000 for a quick look);
# BENCH_TABULAR_SWIFT_FLAGS to swift build (e.g. --scratch-path .build-x).
.PHONY: bench-tabular

BENCH_TABULAR_VENV ?= .venv
BENCH_TABULAR_ARGS ?=
BENCH_TABULAR_SWIFT_FLAGS ?=

bench-tabular:
	@dpkg -s libopenblas-dev >/dev/null 2>&1 || (apt-get update && apt-get install -y libopenblas-dev)
	@test -x $(BENCH_TABULAR_VENV)/bin/python || python3 -m venv $(BENCH_TABULAR_VENV)
	@$(BENCH_TABULAR_VENV)/bin/python -c "import sklearn, numpy, palmerpenguins" 2>/dev/null || $(BENCH_TABULAR_VENV)/bin/pip install -q scikit-learn numpy palmerpenguins
	swift build -c release $(BENCH_TABULAR_SWIFT_FLAGS) --product aerie-bench-tabular
	$(BENCH_TABULAR_VENV)/bin/python bench/tabular.py $(BENCH_TABULAR_ARGS) \
		--swift-bin "$$(swift build -c release $(BENCH_TABULAR_SWIFT_FLAGS) --show-bin-path)/aerie-bench-tabular"
