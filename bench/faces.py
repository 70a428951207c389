#!/usr/bin/env python3
"""Faces benchmark (`make bench-faces`), each figure beside its reference in one run.

1. Recognize over HTTP: a release `aerie serve` with the Faces app, one user with one enrolled person (obama.jpg), then
   --requests sequential `POST /v1/apps/faces/recognize` of obama2.jpg (334 × 640, one face) after --warmup uncounted
   ones; p50 / p95 / p99 at the client, against the target (150 ms), the seed's serverless facerec (p50 2,500 ms) and
   CompreFace's claimed < 300 ms.
2. The engine alone on the repository's real photos: HOG detection with one upsampling and the 128-d embedding per
   face, Swift (`aerie bench faces`, dlib 19 from Debian through AerieFaces' shim) beside the `face_recognition`
   Python package 1.3.0 on PyPI's prebuilt `dlib-bin` 20.0.1 (face_locations(…, 1, "hog"), face_encodings(…,
   model="small"): the same 5-point alignment and ResNet), each image's median of --repetitions runs.
3. 1:N search: one user's enrolled faces (and as many of another user's, which the owner filter skips) in the embedded
   vector store at 10k and 100k, exact k=1 as recognize runs it; numpy's brute force on the same shape beside it.

Writes bench/results/faces.json, faces.md and faces.png (the engine's times side by side), with the load average
before and after. Never part of `make test`.

    .venv/bin/python bench/faces.py --bin .build/release/aerie --models aerie-data/models
"""
import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "loadtests"))
from aerie_server import AerieServer  # noqa: E402

PHOTOS = REPO / "Tests" / "AerieFacesTests" / "Fixtures"
BASE = "/v1/apps/faces"
TARGET_MS, SEED_MS, COMPREFACE_MS = 150, 2500, 300


def progress(message):
    print(f"[bench-faces] {message}", file=sys.stderr, flush=True)


def load_average():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else None


def summary(values):
    return {"n": len(values), "p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95), "p99_ms": percentile(values, 0.99),
            "mean_ms": statistics.fmean(values) if values else None, "min_ms": min(values, default=None), "max_ms": max(values, default=None)}


def prepare_data(data: Path, models: Path) -> Path:
    if not (models / "faces").is_dir():
        raise SystemExit(f"{models / 'faces'} is missing: run `aerie models install faces --data {models.parent}` (make neural-models)")
    (data / "models").mkdir(parents=True, exist_ok=True)
    (data / "models" / "faces").symlink_to((models / "faces").resolve(), target_is_directory=True)
    return data


def recognize_over_http(binary: str, models: Path, requests_count: int, warmup: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="aerie-bench-faces-"))
    try:
        data = prepare_data(work / "data", models)
        with AerieServer(binary, data, args=["--apps", "faces", "--rate-limit", "0", "--allow-signup", "--log-level", "warning"]) as server:
            password = "bench-faces-password"
            created = requests.post(server.url + "/v1/auth/signup", json={"username": "bencher", "password": password}, timeout=30)
            created.raise_for_status()
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {server.login('bencher', password)}"
            person = session.post(server.url + BASE + "/people", json={"name": "Barack Obama"}, timeout=30)
            if person.status_code == 503:
                raise SystemExit(f"the Faces app is unavailable: {person.json().get('detail')}")
            person.raise_for_status()
            enrolled = session.post(server.url + BASE + f"/people/{person.json()['id']}/faces", data=(PHOTOS / "obama.jpg").read_bytes(),
                                    headers={"Content-Type": "image/jpeg"}, timeout=60)
            enrolled.raise_for_status()
            photo = (PHOTOS / "obama2.jpg").read_bytes()
            progress(f"recognize: {warmup} warm-up + {requests_count} requests of obama2.jpg ({len(photo) // 1024} KiB, 334 × 640)")
            times = []
            for index in range(warmup + requests_count):
                start = time.perf_counter()
                response = session.post(server.url + BASE + "/recognize", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=60)
                elapsed = (time.perf_counter() - start) * 1000
                response.raise_for_status()
                faces = response.json()["faces"]
                if [face["person"] and face["person"]["name"] for face in faces] != ["Barack Obama"]:
                    raise RuntimeError(f"recognize answered {faces}")
                if index >= warmup:
                    times.append(elapsed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"photo": "obama2.jpg", "width": 334, "height": 640, **summary(times)}


def swift_engine(binary: str, models: Path, photos: list, repetitions: int, sizes: str, searches: int) -> list:
    command = [binary, "bench", "faces", "--data", str(models.parent), "--repetitions", str(repetitions), "--search-sizes", sizes,
               "--searches", str(searches), *map(str, photos)]
    progress("Swift: " + " ".join(command[1:4]) + " …")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def python_engine(photos: list, repetitions: int):
    try:
        import face_recognition  # noqa: F401
        import dlib
    except ImportError as error:
        return None, f"face_recognition is not installed ({error}); make bench-faces installs it"
    import face_recognition
    rows = []
    for path in photos:
        image = face_recognition.load_image_file(path)
        detect, embed = [], []
        locations = []
        for _ in range(repetitions):
            start = time.perf_counter()
            locations = face_recognition.face_locations(image, number_of_times_to_upsample=1, model="hog")
            detect.append((time.perf_counter() - start) * 1000)
        for _ in range(repetitions if locations else 0):
            start = time.perf_counter()
            face_recognition.face_encodings(image, known_face_locations=locations, num_jitters=1, model="small")
            embed.append((time.perf_counter() - start) * 1000 / len(locations))
        rows.append({"image": Path(path).name, "faces": len(locations), "ms_detect": statistics.median(detect),
                     "ms_embed_per_face": statistics.median(embed) if embed else None})
    return {"rows": rows, "dlib": dlib.__version__, "face_recognition": face_recognition.__version__}, None


def numpy_search(sizes: list, searches: int) -> list:
    import numpy as np
    rows = []
    for size in sizes:
        rng = np.random.default_rng(size)
        vectors = (rng.random((2 * size, 128), dtype=np.float32) - 0.5) * 0.18
        owners = np.arange(2 * size) % 2 == 0
        times = []
        for _ in range(searches):
            query = (rng.random(128, dtype=np.float32) - 0.5) * 0.18
            start = time.perf_counter()
            mine = vectors[owners]
            distances = np.linalg.norm(mine - query, axis=1)
            int(np.argmin(distances))
            times.append((time.perf_counter() - start) * 1000)
        rows.append({"enrolled": size, "ms_p50": percentile(times, 0.5), "ms_p99": percentile(times, 0.99), "numpy": np.__version__})
    return rows


def chart(path: Path, swift_rows: list, python_rows: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [row["image"] for row in swift_rows]
    python = {row["image"]: row for row in python_rows}
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, key, title in ((axes[0], "ms_detect", "HOG detection, 1 upsampling (ms)"), (axes[1], "ms_embed_per_face", "Embedding per face (ms)")):
        xs = range(len(names))
        axis.bar([x - 0.2 for x in xs], [row[key] or 0 for row in swift_rows], width=0.4, label="Aerie (Swift, Debian dlib)")
        axis.bar([x + 0.2 for x in xs], [(python.get(n) or {}).get(key) or 0 for n in names], width=0.4, label="face_recognition (dlib-bin)")
        axis.set_xticks(list(xs), names, rotation=20)
        axis.set_title(title)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--models", default=str(REPO / "aerie-data" / "models"))
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--search-sizes", default="10000,100000")
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    models = Path(args.models)
    before = load_average()
    photos = [PHOTOS / name for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "group.jpg", "astronaut.jpg")]
    http = recognize_over_http(args.bin, models, args.requests, args.warmup)
    swift = swift_engine(args.bin, models, photos, args.repetitions, args.search_sizes, args.searches)
    python, missing = python_engine([str(p) for p in photos], args.repetitions)
    sizes = [int(s) for s in args.search_sizes.split(",") if s]
    reference_search = numpy_search(sizes, args.searches)
    after = load_average()
    swift_images = [row for row in swift if row["kind"] == "image"]
    swift_search = [row for row in swift if row["kind"] == "search"]
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "load_average_before": before, "load_average_after": after,
              "recognize_http": http, "engine": {"swift": swift_images, "python": python, "python_missing": missing},
              "search": {"swift": swift_search, "numpy": reference_search}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "faces.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Faces benchmark", "", f"Machine: {os.cpu_count()} cores, {platform.platform()}. Load average before {before}, after {after}.", "",
             "## Recognize over HTTP (one face, 334 × 640 JPEG, one enrolled person)", "",
             "| requests | p50 ms | p95 ms | p99 ms | target | seed serverless p50 | CompreFace claim |", "|---|---|---|---|---|---|---|",
             f"| {http['n']} | {http['p50_ms']:.1f} | {http['p95_ms']:.1f} | {http['p99_ms']:.1f} | ≤ {TARGET_MS} | {SEED_MS} | < {COMPREFACE_MS} |", "",
             "## The engine: Aerie (Swift) beside face_recognition (Python), same photos, median of runs", ""]
    if python:
        lines += [f"face_recognition {python['face_recognition']} on dlib {python['dlib']} (dlib-bin); Aerie on Debian's libdlib.", "",
                  "| photo | faces | detect ms Aerie | detect ms Python | ratio | embed ms/face Aerie | embed ms/face Python | ratio |", "|---|---|---|---|---|---|---|---|"]
        reference = {row["image"]: row for row in python["rows"]}
        for row in swift_images:
            other = reference.get(row["image"], {})
            def ratio(key):
                return f"{other[key] / row[key]:.2f}×" if other.get(key) and row.get(key) else "–"
            fmt = lambda value: f"{value:.1f}" if value is not None else "–"  # noqa: E731
            lines.append(f"| {row['image']} | {row['faces']} / {other.get('faces', '–')} | {fmt(row['ms_detect'])} | {fmt(other.get('ms_detect'))} | {ratio('ms_detect')} "
                         f"| {fmt(row.get('ms_embed_per_face'))} | {fmt(other.get('ms_embed_per_face'))} | {ratio('ms_embed_per_face')} |")
        lines += ["", "Ratio: Python's time over Aerie's (above 1: Aerie is faster).", "", "![engine](faces.png)"]
        chart(out / "faces.png", swift_images, python["rows"])
    else:
        lines.append(f"Python reference not run: {missing}")
    lines += ["", "## 1:N search (exact, k=1, the owner filter skipping as many faces of another user)", "",
              "| enrolled | Aerie p50 ms | Aerie p99 ms | numpy p50 ms | ratio (numpy / Aerie) |", "|---|---|---|---|---|"]
    for row, other in zip(swift_search, reference_search):
        lines.append(f"| {row['enrolled']:,} | {row['ms_p50']:.2f} | {row['ms_p99']:.2f} | {other['ms_p50']:.2f} | {other['ms_p50'] / row['ms_p50']:.2f}× |")
    (out / "faces.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
