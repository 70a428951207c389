# Neural benchmark: Swift embeddings (native, ONNX Runtime) and vector search next to numpy,
# ONNX Runtime Python and faiss (included by the main Makefile).
#   make bench-neural   → bench/results/neural.json and bench/results/neural.md
#   NEURAL_SYNTHETIC=0 make bench-neural skips the 1M-vector Gaussian mixture (about 18 of the run's 25 minutes here).
.PHONY: bench-neural neural-models

NEURAL_VENV ?= .venv
NEURAL_DATA ?= ./aerie-data
NEURAL_SYNTHETIC ?= 1000000

# The model files the neural tests and benchmark use (the tests install them too when missing).
neural-models:
	@test -x $(NEURAL_VENV)/bin/python || python3 -m venv $(NEURAL_VENV)
	@$(NEURAL_VENV)/bin/python -c "import onnx, safetensors, numpy" 2>/dev/null || $(NEURAL_VENV)/bin/pip install -q onnx==1.23.2 safetensors numpy
	swift build --product aerie
	.build/debug/aerie models install minilm --data $(NEURAL_DATA)
	.build/debug/aerie models install onnxruntime --data $(NEURAL_DATA)
	@test -f $(NEURAL_DATA)/models/minilm/model.onnx || $(NEURAL_VENV)/bin/python scripts/minilm_onnx.py $(NEURAL_DATA)/models/minilm

bench-neural: neural-models
	@$(NEURAL_VENV)/bin/python -c "import tokenizers, onnxruntime, faiss" 2>/dev/null || $(NEURAL_VENV)/bin/pip install -q tokenizers onnxruntime==1.32.0 faiss-cpu
	swift build -c release --product aerie-bench-neural
	$(NEURAL_VENV)/bin/python bench/neural.py --swift-bin "$$(swift build -c release --show-bin-path)/aerie-bench-neural" --data $(NEURAL_DATA) --synthetic $(NEURAL_SYNTHETIC)
