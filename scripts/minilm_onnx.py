#!/usr/bin/env python3
"""Builds an ONNX graph of all-MiniLM-L6-v2 (BERT encoder + mean pooling + L2 normalisation) from the
installed model.safetensors with the `onnx` package's helper API (no torch), for the ONNX Runtime
backend of AerieText's SentenceEncoder.

    .venv/bin/pip install onnx safetensors numpy
    .venv/bin/python scripts/minilm_onnx.py <data>/models/minilm     # writes <data>/models/minilm/model.onnx

Inputs: input_ids and attention_mask (int64, [batch, sequence]); output: sentence_embedding (float32, [batch, 384]).
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file


def build(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    w = load_file(str(model_dir / "model.safetensors"))
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    d = hidden // heads
    eps = float(config["layer_norm_eps"])
    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(array, prefix="c"):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def node(op, inputs, **attrs):
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x, prefix):
        weight = const(w[prefix + ".weight"].T.copy().astype(np.float32), prefix + ".wT")
        bias = const(w[prefix + ".bias"].astype(np.float32), prefix + ".b")
        return node("Add", [node("MatMul", [x, weight]), bias])

    def layer_norm(x, prefix):
        return node("LayerNormalization", [x, const(w[prefix + ".weight"]), const(w[prefix + ".bias"])], axis=-1, epsilon=eps)

    # Embeddings.
    words = node("Gather", [const(w["embeddings.word_embeddings.weight"], "word_embeddings"), "input_ids"])
    length = node("Gather", [node("Shape", ["input_ids"]), const(np.array(1, dtype=np.int64))], axis=0)
    positions = node("Range", [const(np.array(0, dtype=np.int64)), length, const(np.array(1, dtype=np.int64))])
    position_embeddings = node("Gather", [const(w["embeddings.position_embeddings.weight"], "position_embeddings"), positions])
    x = node("Add", [node("Add", [words, position_embeddings]), const(w["embeddings.token_type_embeddings.weight"][0])])
    x = layer_norm(x, "embeddings.LayerNorm")

    # Additive attention mask: 0 for tokens, the float32 minimum for padding; [batch, 1, 1, sequence].
    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    additive = node("Mul", [node("Sub", [const(np.array(1, dtype=np.float32)), mask]),
                            const(np.array(np.finfo(np.float32).min, dtype=np.float32))])
    additive = node("Unsqueeze", [additive, const(np.array([1, 2], dtype=np.int64))])
    split_shape = const(np.array([0, 0, heads, d], dtype=np.int64))
    merge_shape = const(np.array([0, 0, hidden], dtype=np.int64))
    scale = const(np.array(1 / math.sqrt(d), dtype=np.float32))

    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.query"), split_shape])], perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.key"), split_shape])], perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.value"), split_shape])], perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), additive])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(node("Add", [linear(context, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        inner = linear(x, p + "intermediate.dense")
        erf = node("Erf", [node("Mul", [inner, const(np.array(1 / math.sqrt(2), dtype=np.float32))])])
        gelu = node("Mul", [node("Mul", [inner, const(np.array(0.5, dtype=np.float32))]),
                            node("Add", [erf, const(np.array(1, dtype=np.float32))])])
        x = layer_norm(node("Add", [linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm")

    # Mean pooling over the mask, then L2 normalisation.
    mask3 = node("Unsqueeze", [mask, const(np.array([2], dtype=np.int64))])
    summed = node("ReduceSum", [node("Mul", [x, mask3]), const(np.array([1], dtype=np.int64))], keepdims=0)
    counts = node("Clip", [node("ReduceSum", [mask3, const(np.array([1], dtype=np.int64))], keepdims=0),
                           const(np.array(1e-9, dtype=np.float32))])
    mean = node("Div", [summed, counts])
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean]), const(np.array([1], dtype=np.int64))], keepdims=1)])
    norm = node("Clip", [norm, const(np.array(1e-12, dtype=np.float32))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="aerie")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model_dir = Path(sys.argv[1])
    out = model_dir / "model.onnx"
    onnx.save(build(model_dir), str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
