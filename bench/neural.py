#!/usr/bin/env python3
"""make bench-neural: Aerie's Swift embedding backends and vector index next to numpy, ONNX Runtime Python
and faiss, in one run. Writes bench/results/neural.json and bench/results/neural.md.

    .venv/bin/python bench/neural.py --swift-bin PATH/aerie-bench-neural --data ./aerie-data [--vectors 100000] [--synthetic N]

Needs: aerie models install minilm / onnxruntime (the minilm install builds model.onnx), and in .venv:
numpy tokenizers safetensors onnxruntime faiss-cpu.
Vector data: MiniLM embeddings of distinct man-page sentences (scripts/neural_corpus.py; the Debian packages'
English pages under /usr/share/man), embedded once and cached under DATA/bench/; optionally a synthetic
Gaussian mixture (64 centres, unit-normalised, d=384, seeded).
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


def manpage_embeddings(data, model_dir, count, queries=200, threads=2):
    """MiniLM embeddings of `count` + `queries` distinct sentences from the man pages (scripts/neural_corpus.py):
    the first `count` are the database, the rest the queries (not in the database). Computed once with
    ONNX Runtime on model.onnx and cached under DATA/bench/ so reruns skip the embedding."""
    cache = Path(data) / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    text = cache / f"manpages-{count}.txt"
    base_file, query_file = cache / f"manpages-{count}.f32", cache / f"manpages-{count}-queries.f32"
    if not text.exists() or len(text.read_text(encoding="utf-8").splitlines()) < count + queries:
        subprocess.run([sys.executable, str(ROOT / "scripts/neural_corpus.py"), str(text), "--count", str(count + queries)], check=True)
    sentences = text.read_text(encoding="utf-8").splitlines()[: count + queries]
    base = cached_embeddings(sentences[:count], base_file, model_dir, threads)
    query = cached_embeddings(sentences[count:], query_file, model_dir, threads)
    return base, query


def cached_embeddings(sentences, path, model_dir, threads):
    if path.exists() and path.stat().st_size == len(sentences) * 384 * 4:
        return np.fromfile(path, dtype=np.float32).reshape(len(sentences), 384)
    import onnxruntime
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()  # tokenizer.json pads to 128; batches here are padded to their longest sentence
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
    encoded = tokenizer.encode_batch(sentences)
    order = sorted(range(len(sentences)), key=lambda i: len(encoded[i].ids))
    out = np.zeros((len(sentences), 384), dtype=np.float32)
    started = time.perf_counter()
    for start in range(0, len(order), 128):
        rows = order[start:start + 128]
        length = max(len(encoded[i].ids) for i in rows)
        ids = np.zeros((len(rows), length), dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        for j, i in enumerate(rows):
            n = len(encoded[i].ids)
            ids[j, :n] = encoded[i].ids
            mask[j, :n] = 1
        out[rows] = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
    print(f"embedded {len(sentences)} man-page sentences in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    out.tofile(path)
    return out


def mixture(count, dims, rng, centres, bases):
    """Unit vectors from a mixture of flat Gaussians: a centre plus a Gaussian in the centre's own rank-r
    subspace (`bases`, r × dims) plus a little isotropic noise, normalised. Like real embeddings, the points
    have a low intrinsic dimension, so nearest neighbours mean something (isotropic 384-d noise makes every
    point about as far from all others). Generated in chunks so a million need no float64 copies."""
    out = np.empty((count, dims), dtype=np.float32)
    for start in range(0, count, 65536):
        n = min(65536, count - start)
        labels = rng.integers(0, len(centres), size=n)
        z = rng.standard_normal((n, bases.shape[1]), dtype=np.float32)
        x = (centres[labels] + 0.5 * np.einsum("nr,nrd->nd", z, bases[labels])
             + 0.05 * rng.standard_normal((n, dims), dtype=np.float32) / np.sqrt(dims))
        out[start:start + n] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def percentiles(times):
    times = sorted(times)
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


EF_SEARCH = [16, 24, 32, 48, 64, 96, 128, 192, 256]
# HNSW latencies are taken over this many passes of the queries (Swift's harness does the same): one pass
# of 200 queries moved p50 by ±20 % between identical runs on this shared machine.
PASSES = 5


def vector_bench(swift_bin, base, query, dataset, threads_list=(1, 2), k=10):
    """Exact top-k (Swift, numpy, faiss IndexFlatIP; one query at a time and all queries as one batch) and
    HNSW (Swift, faiss IndexHNSWFlat; M=16, efConstruction=100, one thread) over an efSearch sweep, each
    efSearch timed over PASSES passes of the queries (recall from the first)."""
    count, dims = base.shape
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base.tofile(f"{tmp}/base.f32")
        query.tofile(f"{tmp}/query.f32")
        for threads in threads_list:
            efs = ",".join(map(str, EF_SEARCH)) if threads == threads_list[0] else ""
            # The Swift index threads the search itself; OpenBLAS stays on one thread per call.
            lines = swift([swift_bin, "vectors", f"{tmp}/base.f32", f"{tmp}/query.f32", str(dims), str(k), str(threads), efs or "none", dataset], 1)
            for line in lines:
                if line.get("engine") == "swift-hnsw" and not efs:
                    continue
                rows.append(line)
    swift_exact = next(r for r in rows if r["engine"] == "swift-exact")
    swift_ids = [[int(i) for i in ids.split(",")] for ids in swift_exact["ids"]]
    for r in rows:
        r.pop("ids", None)
    # numpy brute force (its BLAS on its default threads): one query at a time, then the batch.
    times, numpy_ids = [], []
    for q in query:
        a = time.perf_counter()
        scores = base @ q
        top = np.argpartition(-scores, k)[:k]
        numpy_ids.append(top[np.argsort(-scores[top])])
        times.append((time.perf_counter() - a) * 1000)
    p50, p99 = percentiles(times)
    a = time.perf_counter()
    scores = query @ base.T
    np.argpartition(-scores, k, axis=1)[:, :k]
    batch = (time.perf_counter() - a) * 1000 / len(query)
    rows.append({"kind": "vectors", "engine": "numpy-exact", "dataset": dataset, "threads": os.cpu_count(), "count": count,
                 "p50_ms": p50, "p99_ms": p99, "ms_per_query": batch})
    import faiss
    truth = None
    for threads in threads_list:
        faiss.omp_set_num_threads(threads)
        flat = faiss.IndexFlatIP(dims)
        flat.add(base)
        times, ids_all = [], []
        for q in query:
            a = time.perf_counter(); _, ids = flat.search(q[None], k); times.append((time.perf_counter() - a) * 1000)
            ids_all.append(ids[0])
        truth = truth or ids_all
        p50, p99 = percentiles(times)
        a = time.perf_counter(); flat.search(query, k); batch = (time.perf_counter() - a) * 1000 / len(query)
        rows.append({"kind": "vectors", "engine": "faiss-flat-ip", "dataset": dataset, "threads": threads, "count": count,
                     "p50_ms": p50, "p99_ms": p99, "ms_per_query": batch})
    faiss.omp_set_num_threads(1)
    hnsw = faiss.IndexHNSWFlat(dims, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 100
    a = time.perf_counter(); hnsw.add(base); build = time.perf_counter() - a
    for ef in EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        times, found = [], 0
        for rep in range(PASSES):
            for q, t in zip(query, truth):
                a = time.perf_counter(); _, ids = hnsw.search(q[None], k); times.append((time.perf_counter() - a) * 1000)
                if rep == 0:
                    found += len(set(ids[0]) & set(t))
        p50, p99 = percentiles(times)
        rows.append({"kind": "vectors", "engine": "faiss-hnsw", "dataset": dataset, "threads": 1, "count": count, "ef_search": ef,
                     "build_s": build, "p50_ms": p50, "p99_ms": p99, "recall_at_k": found / (len(query) * k), "passes": PASSES})
    overlap = lambda a, b: sum(len(set(x) & set(y)) for x, y in zip(a, b)) / (len(query) * k)
    rows.append({"kind": "check", "dataset": dataset, "swift_exact_vs_faiss_flat_overlap": overlap(swift_ids, truth),
                 "swift_exact_vs_numpy_overlap": overlap(swift_ids, numpy_ids)})
    return rows


def fmt(value, spec):
    return "" if value is None or (isinstance(value, float) and value != value) else format(value, spec)


def markdown(rows, notes):
    out = ["# Neural benchmark", "", *notes, "", "## Sentence embeddings (all-MiniLM-L6-v2)", "",
           "| engine | threads | single p50 ms | single p99 ms | batch-64 sentences/s | batch vs numpy |", "|---|---|---|---|---|---|"]
    embeds = [r for r in rows if r["kind"] == "embed"]
    for r in embeds:
        numpy_row = next((n for n in embeds if n["engine"] == "numpy" and n["threads"] == r["threads"]), None)
        ratio = r["batch64_sentences_per_s"] / numpy_row["batch64_sentences_per_s"] if numpy_row else float("nan")
        out.append(f"| {r['engine']} | {r['threads']} | {r['single_p50_ms']:.2f} | {r['single_p99_ms']:.2f} | {r['batch64_sentences_per_s']:.1f} | {ratio:.2f}× |")
    for dataset in sorted({r["dataset"] for r in rows if r["kind"] == "vectors"}):
        vec = [r for r in rows if r["kind"] == "vectors" and r["dataset"] == dataset]
        count = vec[0]["count"]
        out += ["", f"## Exact top-10 ({dataset}, {count} vectors, d=384)", "",
                "| engine | threads | single query p50 ms | p99 ms | batch ms/query | single p50 vs faiss (same threads) |", "|---|---|---|---|---|---|"]
        for r in vec:
            if r["engine"] in ("swift-exact", "numpy-exact", "faiss-flat-ip"):
                faiss_row = next((f for f in vec if f["engine"] == "faiss-flat-ip" and f["threads"] == r["threads"]), None)
                batch = r.get("ms_per_query")
                if r["engine"] == "swift-exact":
                    batch = next((b["ms_per_query"] for b in vec if b["engine"] == "swift-exact-batch" and b["threads"] == r["threads"]), None)
                ratio = f"{r['p50_ms'] / faiss_row['p50_ms']:.2f}×" if faiss_row else ""
                out.append(f"| {r['engine']} | {r['threads']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {fmt(batch, '.3f')} | {ratio} |")
        out += ["", f"## HNSW ({dataset}, M=16, efConstruction=100, 1 thread, recall@10 against exact, latency over {PASSES} passes of the queries)", "",
                "| engine | efSearch | recall@10 | p50 ms | p99 ms | build s |", "|---|---|---|---|---|---|"]
        for r in vec:
            if r["engine"] in ("swift-hnsw", "faiss-hnsw"):
                out.append(f"| {r['engine']} | {r['ef_search']} | {r['recall_at_k']:.3f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['build_s']:.1f} |")
        out += ["", "At equal recall (the smallest efSearch reaching recall@10 ≥ 0.95 for each):", "",
                "| engine | efSearch | recall@10 | p50 ms | p99 ms | build s |", "|---|---|---|---|---|---|"]
        for engine in ("swift-hnsw", "faiss-hnsw"):
            ok = [r for r in vec if r["engine"] == engine and r["recall_at_k"] >= 0.95]
            if ok:
                r = min(ok, key=lambda r: r["ef_search"])
                out.append(f"| {engine} | {r['ef_search']} | {r['recall_at_k']:.3f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['build_s']:.1f} |")
            else:
                out.append(f"| {engine} | – | below 0.95 at every efSearch | | | |")
        peak = max((r.get("peak_rss_mib", -1) for r in vec if r["engine"] == "swift-hnsw"), default=-1)
        if peak > 0:
            raw = count * 384 * 4 / 2**20
            out.append(f"\nSwift benchmark process peak RSS (VmHWM, after the exact and HNSW runs): {peak:.0f} MiB ({peak / 1024:.2f} GiB) "
                       f"for {count} vectors ({raw:.0f} MiB of raw Float32). The harness streams the vectors into the index in "
                       "chunks of 2048, so this is the index (vectors, graph, ids) plus the process itself.")
        for r in rows:
            if r["kind"] == "check" and r["dataset"] == dataset:
                out.append(f"\nSwift exact top-10 overlap with faiss IndexFlatIP: {r['swift_exact_vs_faiss_flat_overlap']:.4f}, with numpy: {r['swift_exact_vs_numpy_overlap']:.4f}.")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swift-bin", required=True)
    parser.add_argument("--data", default=str(ROOT / "aerie-data"))
    parser.add_argument("--vectors", type=int, default=100_000, help="man-page sentences in the database (0 skips vectors)")
    parser.add_argument("--synthetic", type=int, default=0, help="also a Gaussian mixture of this many vectors")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--skip-embed", action="store_true")
    parser.add_argument("--out", default=None,
                        help="results name under bench/results (default: neural, or vectors with --skip-embed, so a run "
                             "without the embedding table never replaces neural.{json,md})")
    args = parser.parse_args()
    model_dir = Path(args.data) / "models/minilm"
    threads_list = [int(t) for t in args.threads.split(",")]
    load = os.getloadavg()
    notes = [f"One run on {os.cpu_count()} CPUs ({os.uname().machine}); load average at the start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
             "(a load near 1 is the benchmark itself; more means other work shared the machine)."]
    rows = []
    if not args.skip_embed:
        for threads in threads_list:
            rows += swift([args.swift_bin, "embed", args.data, str(threads)], threads)
            rows.append(python_embed("numpy", model_dir, threads))
            rows.append(python_embed("onnxruntime-python", model_dir, threads))
    if args.vectors > 0:
        base, query = manpage_embeddings(args.data, model_dir, args.vectors)
        notes.append(f"Real vectors: MiniLM embeddings of {len(base)} distinct English sentences from the man pages that Debian packages "
                     f"install under /usr/share/man/man1..8 (scripts/neural_corpus.py), {len(query)} further sentences as queries; "
                     "cached under DATA/bench/.")
        rows += vector_bench(args.swift_bin, base, query, "manpages", threads_list)
    if args.synthetic > 0:
        rng = np.random.default_rng(42)
        centres = rng.standard_normal((64, 384)).astype(np.float32) / np.sqrt(384)
        bases = rng.standard_normal((64, 16, 384)).astype(np.float32) / np.sqrt(384)
        notes.append(f"Synthetic vectors: a Gaussian mixture of {args.synthetic} unit vectors, d=384: 64 centres drawn N(0, I/d); each "
                     "vector a centre plus 0.5·Bz (B the centre's 16 random directions, N(0, I/d) each; z ~ N(0, I16)) plus "
                     "N(0, 0.0025·I/d) noise, normalised (numpy seed 42); 200 more from the same mixture as queries.")
        base = mixture(args.synthetic, 384, rng, centres, bases)
        rows += vector_bench(args.swift_bin, base, mixture(200, 384, rng, centres, bases), "gaussian-mixture", threads_list)
        del base
    load = os.getloadavg()
    notes.append(f"Load average at the end {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}.")
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    name = args.out or ("vectors" if args.skip_embed else "neural")
    (results / f"{name}.json").write_text(json.dumps({"rows": rows, "notes": notes, "machine": os.uname().machine, "cpus": os.cpu_count()}, indent=1) + "\n")
    (results / f"{name}.md").write_text(markdown(rows, notes))
    print(markdown(rows, notes))


if __name__ == "__main__":
    main()
