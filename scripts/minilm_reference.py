#!/usr/bin/env python3
"""A numpy reference implementation of all-MiniLM-L6-v2 sentence embeddings (float32), independent
of the Swift encoder: Hugging Face `tokenizers` for the ids, the weights from model.safetensors through
the `safetensors` package's numpy API, a padded batch with an additive attention mask (as in
transformers' BertModel), mean pooling over the mask and L2 normalisation.

    .venv/bin/python scripts/minilm_reference.py MODEL_DIR fixture   # writes the Swift test fixture
    .venv/bin/python scripts/minilm_reference.py MODEL_DIR embed "some text"
    OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/minilm_reference.py MODEL_DIR bench

MODEL_DIR is an installed model, <data>/models/minilm (`aerie models install minilm`).
"""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

FIXTURE_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The new movie is awesome!",
    "The cat sits outside.",
    "Café au lait, s'il vous plaît — Größe, Straße.",
    "机器学习和自然语言处理。東京は大きい都市です。",
    "Emoji 🍕🚀 and [MASK] tokens typed as text.",
    "",
    "a",
    "How do I reset my password?",
    "I forgot my login credentials and need to change them.",
    "The stock market fell sharply on Tuesday after the interest rate announcement.",
    " ".join(["This sentence is repeated to exceed the maximum sequence length."] * 30),
]


class MiniLM:
    def __init__(self, model_dir):
        model_dir = Path(model_dir)
        self.config = json.loads((model_dir / "config.json").read_text())
        max_length = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.w = load_file(str(model_dir / "model.safetensors"))
        self.eps = np.float32(self.config["layer_norm_eps"])
        self.heads = self.config["num_attention_heads"]

    def layer_norm(self, x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def dense(self, x, prefix):
        return x @ self.w[prefix + ".weight"].T + self.w[prefix + ".bias"]

    def encode_ids(self, ids, mask):
        w = self.w
        batch, length = ids.shape
        hidden = self.config["hidden_size"]
        d = hidden // self.heads
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length][None] \
            + w["embeddings.token_type_embeddings.weight"][0]
        x = self.layer_norm(x.astype(np.float32), "embeddings.LayerNorm")
        additive = ((1.0 - mask[:, None, None, :].astype(np.float32)) * np.finfo(np.float32).min).astype(np.float32)
        for layer in range(self.config["num_hidden_layers"]):
            p = f"encoder.layer.{layer}."

            def split(t):
                return t.reshape(batch, length, self.heads, d).transpose(0, 2, 1, 3)

            q = split(self.dense(x, p + "attention.self.query"))
            k = split(self.dense(x, p + "attention.self.key"))
            v = split(self.dense(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(d)) + additive
            scores = scores - scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = self.layer_norm(self.dense(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inner = self.dense(x, p + "intermediate.dense")
            inner = (0.5 * inner * (1.0 + erf(inner / np.float32(math.sqrt(2.0))))).astype(np.float32)
            x = self.layer_norm(self.dense(inner, p + "output.dense") + x, p + "output.LayerNorm")
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts):
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self.encode_ids(ids, mask).astype(np.float32)


def erf(x):
    """erf on float32 arrays (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7; numpy has no erf)."""
    a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + p * x)
    y = 1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * np.exp(-x * x)
    return (sign * y).astype(np.float32)


def bench(model):
    short = "The quick brown fox jumps over the lazy dog."
    for _ in range(5):
        model.embed([short])
    times = []
    for _ in range(200):
        start = time.perf_counter()
        model.embed([short])
        times.append(time.perf_counter() - start)
    times.sort()
    batch = [FIXTURE_SENTENCES[i % 19] + f" number {i}" for i in range(64)]
    model.embed(batch)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        model.embed(batch)
        runs.append(time.perf_counter() - start)
    print(json.dumps({
        "single_p50_ms": times[len(times) // 2] * 1000,
        "single_p99_ms": times[int(len(times) * 0.99)] * 1000,
        "batch64_sentences_per_s": 64 / min(runs),
    }))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    model = MiniLM(sys.argv[1])
    command = sys.argv[2]
    if command == "fixture":
        embeddings = model.embed(FIXTURE_SENTENCES)
        out = Path(__file__).resolve().parent.parent / "Tests/AerieTextTests/Fixtures/minilm-reference.json"
        out.write_text(json.dumps({
            "model": "all-MiniLM-L6-v2",
            "sentences": FIXTURE_SENTENCES,
            "embeddings": [[round(float(v), 7) for v in row] for row in embeddings],
        }, ensure_ascii=False) + "\n")
        print(f"wrote {len(FIXTURE_SENTENCES)} embeddings to {out}")
    elif command == "embed":
        print(json.dumps(model.embed(sys.argv[3:])[0].tolist()))
    elif command == "bench":
        bench(model)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
