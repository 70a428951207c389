# Neural benchmark: Swift embeddings (native, ONNX Runtime) and vector search next to numpy,
# ONNX Runtime Python and faiss (included by the main Makefile).
#   make bench-neural   → bench/results/neural.json and bench/results/neural.md
#   NEURAL_SYNTHETIC=0 make bench-neural skips the 1M-vector Gaussian mixture (about 18 of the run's 25 minutes here).
.PHONY: bench-neural neural-models

NEURAL_VENV ?= .venv
NEURAL_DATA ?= ./aerie-data
NEURAL_SYNTHETIC ?= 1000000

# The model files the neural tests and benchmark use (the tests install them too when missing): the same
# `aerie models install` as `make run` and a user, which also builds MiniLM's and the classifier's model.onnx (in Swift, no venv);
# dlib's face models for AerieFacesTests.
neural-models:
	swift build --product aerie
	.build/debug/aerie models install minilm --data $(NEURAL_DATA)
	.build/debug/aerie models install onnxruntime --data $(NEURAL_DATA)
	.build/debug/aerie models install classifier --data $(NEURAL_DATA)
	.build/debug/aerie models install faces --data $(NEURAL_DATA)

bench-neural: neural-models
	@test -x $(NEURAL_VENV)/bin/python || python3 -m venv $(NEURAL_VENV)
	@$(NEURAL_VENV)/bin/python -c "import numpy, safetensors, tokenizers, onnxruntime, faiss" 2>/dev/null || $(NEURAL_VENV)/bin/pip install -q numpy safetensors tokenizers onnxruntime==1.32.0 faiss-cpu
	swift build -c release --product aerie-bench-neural
	$(NEURAL_VENV)/bin/python bench/neural.py --swift-bin "$$(swift build -c release --show-bin-path)/aerie-bench-neural" --data $(NEURAL_DATA) --synthetic $(NEURAL_SYNTHETIC)
