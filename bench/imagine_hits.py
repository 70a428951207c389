#!/usr/bin/env python3
"""Cache-hit latency of the Imagine app over HTTP: p50/p99 of POST /v1/apps/imagine/images answered from the cache.

    bench/imagine_hits.py --bin .build/release/aerie --data ./aerie-data     # starts its own server (rate limit off)
    bench/imagine_hits.py --url http://127.0.0.1:8080 --password ...          # against a running server

The first request of each prompt generates (a miss); the measured requests are paraphrases that hit, so each one
includes the MiniLM embedding, the vector search, the user's new record and the signed URL. Requests are sequential
on one keep-alive connection. Target: p50 <= 15 ms. Writes bench/results/imagine-hits.json and .md.
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

# (original, paraphrases): every paraphrase is >= 0.90 similar to its original with MiniLM.
PROMPTS = [
    ("a photo of a cat sitting on a sofa", ["a picture of a cat sitting on a couch", "a photo of a cat sitting on a couch"]),
    ("a lighthouse on a rocky coast at sunset", ["a lighthouse on a rocky shore at sunset", "a lighthouse on the rocky coast at sunset"]),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, data):
    """`aerie serve` on a free port with a fresh data directory that links the models of `data`."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="aerie-bench-imagine-"))
    (work / "data" / "models").mkdir(parents=True)
    for name in ("minilm", "onnxruntime", "imagine"):
        source = pathlib.Path(data).resolve() / "models" / name
        if not source.exists():
            sys.exit(f"{source} is missing: run `make neural-models imagine-models` first.")
        # `imagine` holds the manifest and an absolute link to the pipeline, so linking the folder is enough.
        os.symlink(source, work / "data" / "models" / name)
    port = free_port()
    env = dict(os.environ, AERIE_ADMIN_PASSWORD="bench-password")
    log = open(work / "server.log", "wb")
    process = subprocess.Popen([binary, "serve", "--data", str(work / "data"), "--port", str(port), "--rate-limit", "0",
                                "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"aerie serve exited; log:\n{(work / 'server.log').read_text()[-3000:]}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return process, url, "bench-password", work
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    sys.exit("aerie serve did not start in 120 s")


def percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one with --bin)")
    parser.add_argument("--bin", default=".build/release/aerie")
    parser.add_argument("--data", default="./aerie-data", help="where the models are installed")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default=os.environ.get("AERIE_ADMIN_PASSWORD"))
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--unique", action="store_true",
                        help="vary the letter case of each paraphrase so no two requests send the same text: the server "
                             "keeps the embeddings of recent prompts, and this makes every request embed its prompt")
    args = parser.parse_args()

    process = work = None
    if args.url:
        url, password = args.url.rstrip("/"), args.password
        if not password:
            path = pathlib.Path(args.data) / "admin-password"
            password = path.read_text().strip() if path.exists() else sys.exit("pass --password or set AERIE_ADMIN_PASSWORD")
    else:
        process, url, password, work = start_server(args.bin, args.data)
    try:
        session = requests.Session()
        login = session.post(f"{url}/v1/auth/login", json={"username": args.username, "password": password}, timeout=10)
        login.raise_for_status()
        session.headers["Authorization"] = f"Bearer {login.json()['token']}"

        def post(prompt):
            return session.post(f"{url}/v1/apps/imagine/images", json={"prompt": prompt, "steps": args.steps, "seed": 1}, timeout=600)

        for original, _ in PROMPTS:
            first = post(original)
            if first.status_code != 200:
                sys.exit(f"the first request failed: {first.status_code} {first.text}")
        paraphrases = [p for _, ps in PROMPTS for p in ps]
        latencies, misses, errors = [], 0, 0
        for i in range(args.warmup + args.requests):
            prompt = paraphrases[i % len(paraphrases)]
            if args.unique:
                words = prompt.split(" ")
                prompt = " ".join(w.upper() if (i // len(paraphrases)) >> k & 1 else w for k, w in enumerate(words))
            started = time.perf_counter()
            response = post(prompt)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                errors += 1
                continue
            if response.headers.get("X-Cache") != "hit":
                misses += 1
            if i >= args.warmup:
                latencies.append(elapsed)
        result = {
            "requests": len(latencies), "errors": errors, "misses": misses,
            "p50_ms": round(percentile(latencies, 50), 2), "p90_ms": round(percentile(latencies, 90), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "mean_ms": round(statistics.mean(latencies), 2),
            "target_p50_ms": 15, "server": url if args.url else "started by the benchmark (rate limit off)",
            "unique_prompts": args.unique, "matching": os.environ.get("AERIE_IMAGINE_MATCHING", "learned (default)"),
        }
    finally:
        if process:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "imagine-hits.json").write_text(json.dumps(result, indent=2) + "\n")
    table = ("# Imagine cache-hit latency (HTTP, sequential, one connection)\n\n"
             "| requests | errors | misses | p50 ms | p90 ms | p99 ms | mean ms | target p50 |\n|---|---|---|---|---|---|---|---|\n"
             f"| {result['requests']} | {errors} | {misses} | {result['p50_ms']} | {result['p90_ms']} | {result['p99_ms']} | "
             f"{result['mean_ms']} | ≤ 15 ms |\n")
    (RESULTS / "imagine-hits.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
