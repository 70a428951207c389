#!/usr/bin/env python3
"""Builds the small ONNX models the AerieONNX tests run, with the `onnx` package's helper API (no torch),
and records what ONNX Runtime's Python package computes for fixed inputs.

    .venv/bin/pip install onnx==1.23.2 onnxruntime==1.32.0 numpy
    .venv/bin/python scripts/make-onnx-fixtures.py

Writes Tests/AerieONNXTests/Fixtures/{mlp,conv,types}.onnx and expected.json.
"""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent.parent / "Tests/AerieONNXTests/Fixtures"
rng = np.random.default_rng(7)


def save(graph, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="aerie")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = OUT / f"{name}.onnx"
    onnx.save(model, str(path))
    return str(path)


def init(name, array):
    return numpy_helper.from_array(array.astype(np.float32), name)


def mlp():
    w1, b1 = rng.normal(size=(4, 8)), rng.normal(size=(8,))
    w2, b2 = rng.normal(size=(8, 3)), rng.normal(size=(3,))
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"]),
        helper.make_node("Add", ["h3", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)],
    )
    return save(graph, "mlp")


def conv():
    w, b = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(3,))
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["features"]),
    ]
    graph = helper.make_graph(
        nodes, "conv",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 3])],
        [init("w", w), init("b", b)],
    )
    return save(graph, "conv")


def types():
    nodes = [
        helper.make_node("Add", ["half", "half"], ["half_doubled"]),
        helper.make_node("Mul", ["ids", "two"], ["ids_doubled"]),
    ]
    graph = helper.make_graph(
        nodes, "types",
        [helper.make_tensor_value_info("half", TensorProto.FLOAT16, [3]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("half_doubled", TensorProto.FLOAT16, [3]),
         helper.make_tensor_value_info("ids_doubled", TensorProto.INT64, [3])],
        [numpy_helper.from_array(np.array([2], dtype=np.int64), "two")],
    )
    return save(graph, "types")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {"onnxruntime": onnxruntime.__version__}
    x = rng.normal(size=(5, 4)).astype(np.float32)
    session = onnxruntime.InferenceSession(mlp(), providers=["CPUExecutionProvider"])
    expected["mlp"] = {"x": x.flatten().tolist(), "x_shape": list(x.shape),
                       "y": session.run(["y"], {"x": x})[0].flatten().tolist()}
    image = rng.normal(size=(1, 2, 6, 6)).astype(np.float32)
    session = onnxruntime.InferenceSession(conv(), providers=["CPUExecutionProvider"])
    expected["conv"] = {"image": image.flatten().tolist(),
                        "features": session.run(["features"], {"image": image})[0].flatten().tolist()}
    half = np.array([0.5, -1.25, 3.0], dtype=np.float16)
    ids = np.array([1, -7, 40000000000], dtype=np.int64)
    session = onnxruntime.InferenceSession(types(), providers=["CPUExecutionProvider"])
    doubled, ids_doubled = session.run(["half_doubled", "ids_doubled"], {"half": half, "ids": ids})
    expected["types"] = {"half_bits": half.view(np.uint16).tolist(), "ids": ids.tolist(),
                         "half_doubled_bits": doubled.view(np.uint16).tolist(), "ids_doubled": ids_doubled.tolist()}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote models and expected.json to {OUT}")


if __name__ == "__main__":
    main()
