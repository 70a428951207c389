# Imagine's diffusion models, fixtures and per-step benchmark (included by the main Makefile).
#   make imagine-models        → <data>/models/imagine-tiny (generated, random weights) registered as `imagine`
#   make imagine-models-bench  → <data>/models/imagine-bench (the bench preset, ~0.3–1 s per step)
#   make fixtures              → Tests/AerieDiffusionTests/Fixtures from the Python reference (not part of make test)
#   make bench-imagine-steps   → bench/results/imagine-steps.json and .md (Swift vs ONNX Runtime Python per step;
#                                BENCH_IMAGINE_ARGS="--threads 0 --rounds 8" passes options to bench/imagine_steps.py)
.PHONY: imagine-models imagine-models-bench imagine-venv fixtures imagine-fixtures bench-imagine-steps

IMAGINE_VENV ?= .venv
IMAGINE_DATA ?= ./aerie-data
IMAGINE_FIXTURES = Tests/AerieDiffusionTests/Fixtures

imagine-venv:
	@test -x $(IMAGINE_VENV)/bin/python || python3 -m venv $(IMAGINE_VENV)
	@$(IMAGINE_VENV)/bin/python -c "import onnx, numpy" 2>/dev/null || $(IMAGINE_VENV)/bin/pip install -q onnx==1.23.2 numpy

# The tiny pipeline the tests and `make run` use; an `imagine` registered earlier (a real model) is kept.
imagine-models: imagine-venv
	@test -f $(IMAGINE_DATA)/models/imagine-tiny/model_index.json || $(IMAGINE_VENV)/bin/python scripts/make-diffusion-model.py --preset tiny $(IMAGINE_DATA)/models/imagine-tiny
	@test -f $(IMAGINE_DATA)/models/imagine/.aerie-model.json || { swift build --product aerie && .build/debug/aerie models use imagine $(IMAGINE_DATA)/models/imagine-tiny --data $(IMAGINE_DATA); }

imagine-models-bench: imagine-venv
	@test -f $(IMAGINE_DATA)/models/imagine-bench/model_index.json || $(IMAGINE_VENV)/bin/python scripts/make-diffusion-model.py --preset bench $(IMAGINE_DATA)/models/imagine-bench

fixtures: imagine-fixtures

imagine-fixtures: imagine-venv
	@$(IMAGINE_VENV)/bin/python -c "import onnxruntime, regex" 2>/dev/null || $(IMAGINE_VENV)/bin/pip install -q onnxruntime==1.32.0 regex
	@test -f $(IMAGINE_DATA)/models/imagine-tiny/model_index.json || $(IMAGINE_VENV)/bin/python scripts/make-diffusion-model.py --preset tiny $(IMAGINE_DATA)/models/imagine-tiny
	$(IMAGINE_VENV)/bin/python scripts/imagine_reference.py fixtures $(IMAGINE_DATA)/models/imagine-tiny $(IMAGINE_FIXTURES)

bench-imagine-steps: imagine-models-bench
	@$(IMAGINE_VENV)/bin/python -c "import onnxruntime, regex" 2>/dev/null || $(IMAGINE_VENV)/bin/pip install -q onnxruntime==1.32.0 regex
	swift build -c release --product aerie-bench-imagine
	swift build --product aerie
	.build/debug/aerie models install onnxruntime --data $(IMAGINE_DATA)
	$(IMAGINE_VENV)/bin/python bench/imagine_steps.py --swift-bin "$$(swift build -c release --show-bin-path)/aerie-bench-imagine" \
		--model $(IMAGINE_DATA)/models/imagine-bench --data $(IMAGINE_DATA) $(BENCH_IMAGINE_ARGS)
