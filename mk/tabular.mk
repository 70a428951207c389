# Tabular ML benchmark: Aerie's Swift engine next to scikit-learn (included by the main Makefile).
#   make bench-tabular   → bench/results/tabular.json and bench/results/tabular.md
.PHONY: bench-tabular

BENCH_TABULAR_VENV ?= .venv

bench-tabular:
	@dpkg -s libopenblas-dev >/dev/null 2>&1 || (apt-get update && apt-get install -y libopenblas-dev)
	@test -x $(BENCH_TABULAR_VENV)/bin/python || python3 -m venv $(BENCH_TABULAR_VENV)
	@$(BENCH_TABULAR_VENV)/bin/python -c "import sklearn, numpy" 2>/dev/null || $(BENCH_TABULAR_VENV)/bin/pip install -q scikit-learn numpy
	swift build -c release --product aerie-bench-tabular
	$(BENCH_TABULAR_VENV)/bin/python bench/tabular.py --swift-bin "$$(swift build -c release --show-bin-path)/aerie-bench-tabular"
