#!/usr/bin/env python3
"""make bench-neural: Aerie's Swift embedding backends and vector index next to numpy, ONNX Runtime Python
and faiss, in one run. Writes bench/results/neural.json and bench/results/neural.md.

    .venv/bin/python bench/neural.py --swift-bin PATH/aerie-bench-neural --data ./aerie-data [--vectors 100000]

Needs: aerie models install minilm / onnxruntime, model.onnx (scripts/minilm_onnx.py), and in .venv:
numpy tokenizers safetensors onnxruntime faiss-cpu.
Vector data: a synthetic Gaussian mixture (64 centres, unit-normalised, d=384, seeded), not real sentences.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/platform.py would shadow the standard library's platform module (numpy imports it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def python_embed(engine, model_dir, threads):
    """Runs one Python engine in a subprocess so the BLAS thread count applies from the start."""
    code = f"""
import json, sys, time, numpy as np
sys.path.insert(0, {str(ROOT / 'scripts')!r})
from tokenizers import Tokenizer
engine, model_dir, threads = {engine!r}, {str(model_dir)!r}, {threads}
if engine == "numpy":
    from minilm_reference import MiniLM
    m = MiniLM(model_dir); embed = m.embed
else:
    import onnxruntime
    t = Tokenizer.from_file(model_dir + "/tokenizer.json"); t.enable_truncation(256); t.enable_padding(pad_id=0, pad_token="[PAD]")
    o = onnxruntime.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
    s = onnxruntime.InferenceSession(model_dir + "/model.onnx", o, providers=["CPUExecutionProvider"])
    def embed(texts):
        enc = t.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64); mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return s.run(["sentence_embedding"], {{"input_ids": ids, "attention_mask": mask}})[0]
short = "The quick brown fox jumps over the lazy dog."
batch = [f"Sentence number {{i}} talks about a cat, a dog and the weather in town today." for i in range(64)]
for _ in range(10): embed([short])
ts = []
for _ in range(300):
    a = time.perf_counter(); embed([short]); ts.append((time.perf_counter() - a) * 1000)
ts.sort(); embed(batch); best = 1e9
for _ in range(5):
    a = time.perf_counter(); embed(batch); best = min(best, time.perf_counter() - a)
print(json.dumps({{"kind": "embed", "engine": engine, "threads": threads, "single_p50_ms": ts[150], "single_p99_ms": ts[297], "batch64_sentences_per_s": 64 / best}}))
"""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def swift(args, threads=1):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def mixture(count, dims, rng, centres):
    labels = rng.integers(0, len(centres), size=count)
    x = centres[labels] + 0.5 * rng.standard_normal((count, dims)).astype(np.float32) / np.sqrt(dims)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def vector_bench(swift_bin, count, dims=384, queries=200, k=10):
    rng = np.random.default_rng(42)
    centres = rng.standard_normal((64, dims)).astype(np.float32) / np.sqrt(dims)
    base = mixture(count, dims, rng, centres)
    query = mixture(queries, dims, rng, centres)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base.tofile(f"{tmp}/base.f32")
        query.tofile(f"{tmp}/query.f32")
        lines = swift([swift_bin, "vectors", f"{tmp}/base.f32", f"{tmp}/query.f32", str(dims), str(k)])
    exact_ids = None
    for line in lines:
        if line.get("engine") == "swift-exact":
            exact_ids = [[int(i) for i in ids.split(",")] for ids in line.pop("ids")]
        rows.append(line)
    # numpy brute force, one query at a time.
    times = []
    for q in query:
        a = time.perf_counter()
        scores = base @ q
        top = np.argpartition(-scores, k)[:k]
        top[np.argsort(-scores[top])]
        times.append((time.perf_counter() - a) * 1000)
    times.sort()
    rows.append({"kind": "vectors", "engine": "numpy-exact", "count": count, "p50_ms": times[len(times) // 2], "p99_ms": times[int(len(times) * 0.99)]})
    try:
        import faiss
        faiss.omp_set_num_threads(1)
        flat = faiss.IndexFlatIP(dims)
        flat.add(base)
        times = []
        truth = []
        for q in query:
            a = time.perf_counter(); _, ids = flat.search(q[None], k); times.append((time.perf_counter() - a) * 1000)
            truth.append(ids[0])
        times.sort()
        rows.append({"kind": "vectors", "engine": "faiss-flat-ip", "count": count, "p50_ms": times[len(times) // 2], "p99_ms": times[int(len(times) * 0.99)]})
        hnsw = faiss.IndexHNSWFlat(dims, 16, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 100
        a = time.perf_counter(); hnsw.add(base); build = time.perf_counter() - a
        hnsw.hnsw.efSearch = 64
        times = []
        found = 0
        for q, t in zip(query, truth):
            a = time.perf_counter(); _, ids = hnsw.search(q[None], k); times.append((time.perf_counter() - a) * 1000)
            found += len(set(ids[0]) & set(t))
        times.sort()
        rows.append({"kind": "vectors", "engine": "faiss-hnsw", "count": count, "build_s": build, "p50_ms": times[len(times) // 2],
                     "p99_ms": times[int(len(times) * 0.99)], "recall_at_k": found / (len(query) * k)})
        if exact_ids is not None:
            agree = sum(len(set(a) & set(b)) for a, b in zip(exact_ids, truth)) / (len(query) * k)
            rows.append({"kind": "check", "swift_exact_vs_faiss_flat_overlap": agree})
    except ImportError:
        rows.append({"kind": "note", "message": "faiss-cpu not installed; faiss rows skipped"})
    return rows


def markdown(rows):
    out = ["# Neural benchmark", "", "## Sentence embeddings (all-MiniLM-L6-v2)", "",
           "| engine | threads | single p50 ms | single p99 ms | batch-64 sentences/s | batch vs numpy |", "|---|---|---|---|---|---|"]
    embeds = [r for r in rows if r["kind"] == "embed"]
    for r in embeds:
        numpy_row = next((n for n in embeds if n["engine"] == "numpy" and n["threads"] == r["threads"]), None)
        ratio = r["batch64_sentences_per_s"] / numpy_row["batch64_sentences_per_s"] if numpy_row else float("nan")
        out.append(f"| {r['engine']} | {r['threads']} | {r['single_p50_ms']:.2f} | {r['single_p99_ms']:.2f} | {r['batch64_sentences_per_s']:.1f} | {ratio:.2f}× |")
    out += ["", "## Vector search (d=384, synthetic Gaussian mixture, top-10, one query at a time, 1 thread)", "",
            "| engine | vectors | p50 ms | p99 ms | build s | recall@10 |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] == "vectors":
            out.append(f"| {r['engine']} | {r['count']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r.get('build_s', float('nan')):.1f} | {r.get('recall_at_k', float('nan')):.3f} |")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swift-bin", required=True)
    parser.add_argument("--data", default=str(ROOT / "aerie-data"))
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    model_dir = Path(args.data) / "models/minilm"
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        rows += swift([args.swift_bin, "embed", args.data, str(threads)], threads)
        rows.append(python_embed("numpy", model_dir, threads))
        rows.append(python_embed("onnxruntime-python", model_dir, threads))
    if args.vectors > 0:
        rows += vector_bench(args.swift_bin, args.vectors)
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "neural.json").write_text(json.dumps({"rows": rows, "machine": os.uname().machine, "cpus": os.cpu_count()}, indent=1) + "\n")
    (results / "neural.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
