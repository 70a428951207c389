#!/usr/bin/env python3
"""Generates a Stable Diffusion 1.x-shaped pipeline in the diffusers ONNX layout with random weights.

    scripts/make-diffusion-model.py --preset tiny|bench OUT_DIR

The graphs are built with the `onnx` helper API (no torch) and have the input and output names and
dtypes of real SD 1.x ONNX exports:
  text_encoder/model.onnx  input_ids int32 [batch, 77] -> last_hidden_state float32 [batch, 77, D], pooler_output
  unet/model.onnx          sample float32 [batch, 4, h, w], timestep float32 [batch] (or int64 with
                           --timestep-dtype int64), encoder_hidden_states float32 [batch, 77, D] -> out_sample
  vae_decoder/model.onnx   latent_sample float32 [batch, 4, h, w] -> sample float32 [batch, 3, 8h, 8w]
The UNet keeps its weights in an external-data file (unet/weights.pb), as large exports do.
The tokenizer is CLIP's: vocab.json and merges.txt built from `bpe_simple_vocab_16e6.txt.gz` of the
`open-clip-torch` wheel (downloaded with pip, no dependencies), 49408 tokens.

Weights are drawn from numpy's RandomState(--seed), so the same preset and seed give the same files.
The models draw noise, not pictures.
"""
import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from clip_bytes import bytes_to_unicode  # scripts/ is on sys.path: the script's own folder

OPSET = 17
OPEN_CLIP = "open-clip-torch==3.3.0"

PRESETS = {
    # milliseconds per step: 64x64 images
    "tiny": dict(sample_size=8, hidden=32, text_layers=1, channels=[16], res_blocks=1, vae_channels=[16, 8, 8, 8]),
    # roughly 0.3-1 s per step on 2 cores: 512x512 images, a two-level UNet with cross-attention at both levels
    "bench": dict(sample_size=64, hidden=128, text_layers=2, channels=[96, 192], res_blocks=2, vae_channels=[32, 16, 8, 8]),
}


class Graph:
    """Collects nodes and initializers, naming every tensor uniquely."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.initializers = []
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def weight(self, shape, scale=None, prefix="w"):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])
        scale = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
        array = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return self.const(array, prefix)

    def const(self, array, prefix="c"):
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, prefix=None, **attributes):
        output = self.name(prefix or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def silu(self, x):
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def conv(self, x, cin, cout, kernel=3, stride=1):
        w = self.weight([cout, cin, kernel, kernel])
        b = self.const(np.zeros(cout, np.float32), "b")
        pad = kernel // 2
        return self.op("Conv", [x, w, b], kernel_shape=[kernel, kernel], pads=[pad] * 4, strides=[stride, stride])

    def linear(self, x, cin, cout, bias=True):
        y = self.op("MatMul", [x, self.weight([cin, cout])])
        if bias:
            y = self.op("Add", [y, self.const(np.zeros(cout, np.float32), "b")])
        return y

    def layer_norm(self, x, width):
        return self.op(
            "LayerNormalization", [x, self.const(np.ones(width, np.float32)), self.const(np.zeros(width, np.float32))], axis=-1, epsilon=1e-5
        )

    def instance_norm(self, x, channels):
        return self.op(
            "InstanceNormalization", [x, self.const(np.ones(channels, np.float32)), self.const(np.zeros(channels, np.float32))], epsilon=1e-5
        )

    def upsample(self, x):
        return self.op("Resize", [x, "", self.const(np.array([1, 1, 2, 2], np.float32), "scales")], mode="nearest")

    def model(self, inputs, outputs, name):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="aerie-make-diffusion-model")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def text_encoder(rng, hidden, layers, vocab_size=49408, length=77):
    g = Graph(rng)
    ids = g.op("Cast", ["input_ids"], to=TensorProto.INT64)
    x = g.op("Gather", [g.weight([vocab_size, hidden], scale=0.5), ids], axis=0)
    x = g.op("Add", [x, g.weight([length, hidden], scale=0.1)])
    for _ in range(layers):
        h = g.layer_norm(x, hidden)
        q = g.linear(h, hidden, hidden)
        k = g.linear(h, hidden, hidden)
        v = g.linear(h, hidden, hidden)
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])]), g.const(np.float32(1 / np.sqrt(hidden)))])
        attention = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        x = g.op("Add", [x, g.linear(attention, hidden, hidden)])
        h = g.layer_norm(x, hidden)
        x = g.op("Add", [x, g.linear(g.op("Tanh", [g.linear(h, hidden, 2 * hidden)]), 2 * hidden, hidden)])
    g.nodes.append(helper.make_node("LayerNormalization", [x, g.const(np.ones(hidden, np.float32)), g.const(np.zeros(hidden, np.float32))],
                                    ["last_hidden_state"], axis=-1, epsilon=1e-5))
    g.nodes.append(helper.make_node("ReduceMean", ["last_hidden_state"], ["pooler_output"], axes=[1], keepdims=0))
    return g.model(
        [helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["batch", "sequence"])],
        [
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden]),
            helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", hidden]),
        ],
        "text_encoder",
    )


def unet(rng, hidden, channels, res_blocks, timestep_dtype):
    g = Graph(rng)
    base = channels[0]
    temb_width = 4 * base
    # sinusoidal timestep embedding -> MLP
    t = g.op("Cast", ["timestep"], to=TensorProto.FLOAT)
    t = g.op("Unsqueeze", [t, g.const(np.array([1], np.int64))])
    half = base // 2
    frequencies = np.exp(-np.log(10000.0) * np.arange(half, dtype=np.float64) / half).astype(np.float32).reshape(1, half)
    angles = g.op("Mul", [t, g.const(frequencies)])
    temb = g.op("Concat", [g.op("Sin", [angles]), g.op("Cos", [angles])], axis=1)
    temb = g.linear(g.silu(g.linear(temb, base, temb_width)), temb_width, temb_width)

    def res_block(x, c):
        h = g.conv(g.silu(g.instance_norm(x, c)), c, c)
        step = g.linear(g.silu(temb), temb_width, c)
        h = g.op("Add", [h, g.op("Unsqueeze", [step, g.const(np.array([2, 3], np.int64))])])
        h = g.conv(g.silu(g.instance_norm(h, c)), c, c)
        return g.op("Add", [x, h])

    def cross_attention(x, c):
        shape = g.op("Shape", [x])
        tokens = g.op("Transpose", [g.op("Reshape", [g.instance_norm(x, c), g.const(np.array([0, 0, -1], np.int64))])], perm=[0, 2, 1])
        q = g.linear(tokens, c, c, bias=False)
        k = g.linear("encoder_hidden_states", hidden, c, bias=False)
        v = g.linear("encoder_hidden_states", hidden, c, bias=False)
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])]), g.const(np.float32(1 / np.sqrt(c)))])
        attended = g.linear(g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v]), c, c)
        back = g.op("Reshape", [g.op("Transpose", [attended], perm=[0, 2, 1]), shape])
        return g.op("Add", [x, back])

    x = g.conv("sample", 4, base)
    skips = []
    for level, c in enumerate(channels):
        if level > 0:
            x = g.conv(x, channels[level - 1], c, stride=2)
        for _ in range(res_blocks):
            x = res_block(x, c)
        x = cross_attention(x, c)
        skips.append(x)
    for level in reversed(range(len(channels))):
        c = channels[level]
        if level < len(channels) - 1:
            x = g.conv(g.upsample(x), channels[level + 1], c)
            x = g.op("Add", [x, skips[level]])
            x = res_block(x, c)
    h = g.conv(g.silu(g.instance_norm(x, base)), base, 4)
    g.nodes.append(helper.make_node("Identity", [h], ["out_sample"]))
    return g.model(
        [
            helper.make_tensor_value_info("sample", TensorProto.FLOAT, ["batch", 4, "height", "width"]),
            helper.make_tensor_value_info("timestep", timestep_dtype, ["steps"]),
            helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT, ["batch", "sequence", hidden]),
        ],
        [helper.make_tensor_value_info("out_sample", TensorProto.FLOAT, ["batch", 4, "height", "width"])],
        "unet",
    )


def vae_decoder(rng, channels):
    g = Graph(rng)
    # undo the pipeline's 1 / 0.18215 and normalise, so the noise lands in the middle of the pixel range
    x = g.instance_norm(g.op("Mul", ["latent_sample", g.const(np.float32(0.18215))]), 4)
    x = g.conv(x, 4, channels[0])
    for level in range(3):
        x = g.silu(g.conv(g.upsample(x), channels[level], channels[level + 1]))
    h = g.op("Tanh", [g.op("Mul", [g.instance_norm(g.conv(x, channels[3], 3), 3), g.const(np.float32(0.6))])])
    g.nodes.append(helper.make_node("Identity", [h], ["sample"]))
    return g.model(
        [helper.make_tensor_value_info("latent_sample", TensorProto.FLOAT, ["batch", 4, "height", "width"])],
        [helper.make_tensor_value_info("sample", TensorProto.FLOAT, ["batch", 3, "image_height", "image_width"])],
        "vae_decoder",
    )


def clip_bpe_text(cache):
    """The text of bpe_simple_vocab_16e6.txt.gz from the open-clip-torch wheel (pip download, cached)."""
    os.makedirs(cache, exist_ok=True)
    wheels = [f for f in os.listdir(cache) if f.startswith("open_clip_torch-") and f.endswith(".whl")]
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, OPEN_CLIP], check=True)
        wheels = [f for f in os.listdir(cache) if f.startswith("open_clip_torch-") and f.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(cache, sorted(wheels)[-1])) as wheel:
        return gzip.decompress(wheel.read("open_clip/bpe_simple_vocab_16e6.txt.gz")).decode("utf-8")


def clip_vocab_and_merges(bpe_text):
    """CLIP's encoder: 256 byte symbols, the same with </w>, one token per merge, then the two specials."""
    merges = bpe_text.split("\n")[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(line.split()) for line in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408, len(vocab)
    return {token: index for index, token in enumerate(vocab)}, merges


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scheduler", default="PNDMScheduler", help="_class_name of scheduler_config.json")
    parser.add_argument("--timestep-dtype", choices=["float32", "int64"], default="float32")
    parser.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "aerie", "wheels"))
    args = parser.parse_args()
    preset = PRESETS[args.preset]
    rng = np.random.RandomState(args.seed)
    out = args.out_dir
    for sub in ["text_encoder", "unet", "vae_decoder", "tokenizer", "scheduler"]:
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    vocab, merges = clip_vocab_and_merges(clip_bpe_text(args.cache))
    write_json(os.path.join(out, "tokenizer", "vocab.json"), vocab)
    with open(os.path.join(out, "tokenizer", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for pair in merges:
            f.write(" ".join(pair) + "\n")
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    write_json(os.path.join(out, "tokenizer", "special_tokens_map.json"), special)
    write_json(os.path.join(out, "tokenizer", "tokenizer_config.json"), dict(special, model_max_length=77, do_lower_case=True, tokenizer_class="CLIPTokenizer"))

    onnx.save_model(text_encoder(rng, preset["hidden"], preset["text_layers"]), os.path.join(out, "text_encoder", "model.onnx"))
    timestep_dtype = TensorProto.FLOAT if args.timestep_dtype == "float32" else TensorProto.INT64
    unet_path = os.path.join(out, "unet", "model.onnx")
    if os.path.exists(os.path.join(out, "unet", "weights.pb")):
        os.remove(os.path.join(out, "unet", "weights.pb"))
    onnx.save_model(unet(rng, preset["hidden"], preset["channels"], preset["res_blocks"], timestep_dtype), unet_path,
                    save_as_external_data=True, all_tensors_to_one_file=True, location="weights.pb", size_threshold=256)
    onnx.save_model(vae_decoder(rng, preset["vae_channels"]), os.path.join(out, "vae_decoder", "model.onnx"))
    write_json(os.path.join(out, "unet", "config.json"), {"sample_size": preset["sample_size"], "in_channels": 4, "out_channels": 4,
                                                          "cross_attention_dim": preset["hidden"]})
    write_json(os.path.join(out, "vae_decoder", "config.json"), {"sample_size": preset["sample_size"] * 8, "latent_channels": 4, "out_channels": 3})
    write_json(os.path.join(out, "scheduler", "scheduler_config.json"), {
        "_class_name": args.scheduler, "_diffusers_version": "0.30.0", "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "epsilon",
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None,
    })
    write_json(os.path.join(out, "model_index.json"), {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "feature_extractor": [None, None], "safety_checker": [None, None], "requires_safety_checker": False,
        "scheduler": ["diffusers", args.scheduler], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "aerie": {"generator": "scripts/make-diffusion-model.py", "preset": args.preset, "seed": args.seed,
                  "note": "random weights: the images are noise, not pictures"},
    })
    digest = hashlib.sha256()
    for path in ["text_encoder/model.onnx", "unet/model.onnx", "unet/weights.pb", "vae_decoder/model.onnx"]:
        with open(os.path.join(out, path), "rb") as f:
            digest.update(f.read())
    print(f"{args.preset} pipeline in {out} (weights sha256 {digest.hexdigest()[:16]})")


if __name__ == "__main__":
    main()
