#!/usr/bin/env python3
"""Gallery benchmark (`make bench-gallery`), each figure beside its reference in one run.

1. Upload → ready for a 1-megapixel JPEG on an idle `aerie serve` (release build): --uploads sequential uploads
   (default 30, after --warmup uncounted ones that load the models), each a different file (a JPEG comment makes the
   bytes differ, so none is an exact duplicate). At the client: the upload's 201 answered → the GET that shows
   `status: ready` answered, polling every --poll-ms (default 5 ms); p50 and p99 against the target (150 ms) and the
   seed's 1,100 ms. The trigger's part from the invocation records of `gallery-process`: upload answered → function
   started, the event's queue wait (message sent → started) and the function's own time (started → finished).
2. The classifier (EfficientNet-Lite0, `<models>/classifier/model.onnx`) alone, on 1 thread, side by side: the
   Swift path (`aerie bench classifier`, when the binary has it) and onnxruntime Python on the same graph, over the
   same images (PNG, so both decode the same pixels): ms per image (each image's median of --repetitions runs, mean
   over the images), the network alone and with preprocessing (decoding excluded), and top-1 agreement; on the Swift side's
   own input tensors (--dump-inputs) also the agreement and the largest probability difference on the very same input.

Writes bench/results/gallery.json and bench/results/gallery.md, with the load average before and after.
Never part of `make test`.

    .venv/bin/python bench/gallery.py --bin .build/release/aerie
    .venv/bin/python bench/gallery.py --bin .build/debug/aerie --uploads 10 --only upload    # a quick look; nothing written
"""
import argparse
import io
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
sys.path.insert(0, str(REPO / "loadtests" / "gallery"))
from photos import jpeg_photo, render, unique  # noqa: E402
from run_load import (PHOTOS, Server, Unavailable, check_gallery, parse_time,  # noqa: E402
                      prepare_data)

TARGET_MS = 150
SEED_MS = 1100
def progress(message):
    print(f"[bench-gallery] {message}", file=sys.stderr, flush=True)


def load_average():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def percentile(values, q):
    """Nearest-rank percentile (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(values) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": percentile(values, 0.5), "p99_ms": percentile(values, 0.99), "mean_ms": statistics.fmean(values),
            "min_ms": min(values), "max_ms": max(values)}


# ---- 1. upload → ready ----------------------------------------------------------------------------------------------

def upload_to_ready(binary: str, models: Path, uploads: int, warmup: int, poll_ms: float, megapixels: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="aerie-bench-gallery-"))
    try:
        data = prepare_data(work / "data", models)
        with Server(binary, data, "gallery") as server:
            admin = server.admin()
            check_gallery(server.url, admin)
            password = "bench-gallery-password"
            created = requests.post(server.url + "/v1/auth/signup", json={"username": "bencher", "password": password}, timeout=30)
            if created.status_code != 201:
                raise RuntimeError(f"sign-up answered {created.status_code}: {created.text[:300]}")
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {server.login('bencher', password)}"
            photo = jpeg_photo(31, megapixels=megapixels, kind="landscape", quality=90)
            from PIL import Image
            with Image.open(io.BytesIO(photo)) as image:
                size = image.size
            progress(f"upload → ready: {warmup} warm-up + {uploads} uploads of a {size[0]}×{size[1]} JPEG ({len(photo) / 1024:.0f} KiB), "
                     f"polling every {poll_ms:g} ms")
            rows = []
            for index in range(warmup + uploads):
                body = unique(photo, f"bench-{index}-{time.time_ns()}")
                sent = time.perf_counter()
                response = session.post(server.url + PHOTOS, params={"filename": f"bench-{index}.jpg"}, data=body,
                                        headers={"Content-Type": "image/jpeg"}, timeout=120)
                answered, answered_unix = time.perf_counter(), time.time()
                if response.status_code != 201:
                    raise RuntimeError(f"POST {PHOTOS} answered {response.status_code}: {response.text[:300]}")
                photo_id, status = response.json()["id"], response.json()["status"]
                polls, last_sent = 0, answered
                seen = answered
                while status == "processing":
                    if time.perf_counter() - answered > 120:
                        raise RuntimeError(f"photo {photo_id} not ready after 120 s")
                    time.sleep(poll_ms / 1000)
                    last_sent = time.perf_counter()
                    got = session.get(f"{server.url}{PHOTOS}/{photo_id}", timeout=30)
                    seen = time.perf_counter()
                    polls += 1
                    got.raise_for_status()
                    status = got.json()["status"]
                if status != "ready":
                    raise RuntimeError(f"photo {photo_id} ended {status}: {got.json().get('error')}")
                rows.append({"id": photo_id, "warmup": index < warmup, "post_ms": (answered - sent) * 1000,
                             "ready_ms": (seen - answered) * 1000, "ready_lower_ms": (last_sent - answered) * 1000 if polls else 0.0,
                             "answered_unix": answered_unix, "polls": polls})
            records = admin.get(server.url + "/v1/invocations", params={"function": "gallery-process", "limit": 1000}, timeout=60)
            records = records.json().get("items", []) if records.status_code == 200 else []
            function = admin.get(server.url + "/v1/functions/gallery-process", timeout=30)
            function = function.json() if function.status_code == 200 else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in rows:
        record = next((r for r in records if row["id"] in json.dumps(r.get("trigger", {}))), None)
        if not record:
            continue
        created, started, finished = (parse_time(record.get(k)) for k in ("created_at", "started_at", "finished_at"))
        if started:
            row["answered_to_started_ms"] = (started - row["answered_unix"]) * 1000
        if created and started:
            row["queue_wait_ms"] = (started - created) * 1000
        if started and finished:
            row["function_ms"] = (finished - started) * 1000
        row["cold_start"] = record.get("cold_start")
    counted = [r for r in rows if not r["warmup"]]
    result = {"photo": {"width": size[0], "height": size[1], "bytes": len(photo), "megapixels": size[0] * size[1] / 1e6},
              "uploads": uploads, "warmup": warmup, "poll_ms": poll_ms,
              "upload_to_ready": summary([r["ready_ms"] for r in counted]),
              "upload_to_ready_lower_bound": summary([r["ready_lower_ms"] for r in counted]),
              "post": summary([r["post_ms"] for r in counted]),
              "answered_to_started": summary([r["answered_to_started_ms"] for r in counted if "answered_to_started_ms" in r]),
              "queue_wait": summary([r["queue_wait_ms"] for r in counted if "queue_wait_ms" in r]),
              "function": summary([r["function_ms"] for r in counted if "function_ms" in r]),
              "first_upload_ready_ms": rows[0]["ready_ms"] if rows else None,
              "function_stats": function, "rows": rows}
    return result


# ---- 2. the classifier ----------------------------------------------------------------------------------------------

def real_photos() -> list:
    """Photos with real content in the repository: the classifier tests' fixtures (scikit-image samples)."""
    skip = {"bomb", "truncated", "not-an-image"}
    found = []
    for pattern in ("Tests/*/Fixtures/*.ppm", "Tests/*/Fixtures/*.jpg", "Tests/*/Fixtures/*.png", "Tests/*/Fixtures/*.webp"):
        for path in sorted(REPO.glob(pattern)):
            if path.stem in skip or path.parent.parent.name in ("AerieDiffusionTests",):
                continue
            found.append(path)
    return found


def classifier_images(folder: Path, count: int) -> list:
    """At least `count` PNGs in `folder`: each real photo and four variants of it (mirrored, two crops, a smaller
    copy), then generated photos (loadtests/gallery/photos.py) to fill up. PNG, so every reader decodes the same
    pixels."""
    from PIL import Image, ImageOps
    folder.mkdir(parents=True, exist_ok=True)
    images = []

    def save(image, name):
        path = folder / f"{name}.png"
        image.convert("RGB").save(path)
        images.append(path)

    for path in real_photos():
        try:
            with Image.open(path) as opened:
                image = ImageOps.exif_transpose(opened).convert("RGB")
        except OSError:
            continue
        if min(image.size) < 64:
            continue
        w, h = image.size
        save(image, path.stem)
        save(ImageOps.mirror(image), f"{path.stem}-mirrored")
        save(image.crop((w // 10, h // 10, w - w // 10, h - h // 10)), f"{path.stem}-crop80")
        save(image.crop((0, 0, w * 3 // 4, h)), f"{path.stem}-left75")
        save(image.resize((max(64, w * 2 // 3), max(64, h * 2 // 3)), Image.BICUBIC), f"{path.stem}-small")
    index = 0
    while len(images) < count:
        save(render(500 + index, megapixels=0.3 + 0.05 * (index % 10)), f"generated-{index:02d}")
        index += 1
    return images


def load_labels(directory: Path) -> list:
    """The classifier's class names, from whichever labels file its install wrote (a JSON list or one per line)."""
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".txt", ".json") or path.name.startswith("."):
            continue
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        labels = None
        if path.suffix == ".json":
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, list):
                labels = [v if isinstance(v, str) else (v[-1] if isinstance(v, list) else str(v)) for v in value]
            elif isinstance(value, dict) and all(str(k).isdigit() for k in value):
                labels = [value[k] if isinstance(value[k], str) else value[k][-1] for k in sorted(value, key=int)]
        else:
            labels = [line.strip() for line in text.splitlines() if line.strip()]
        if labels and len(labels) == 1000:
            return labels
    return []


def decode(path: Path):
    """An image file's RGB pixels (height × width × 3, uint8), decoded by Pillow."""
    import numpy as np
    from PIL import Image
    with Image.open(path) as opened:
        return np.asarray(opened.convert("RGB"))


def preprocess(path_or_pixels):
    """The classifier's input as the issue settles it, computed independently of the Swift code: a centre crop of
    224/256 of the shorter side (rounded half away from zero; integer corner), then resized to 224 × 224 by bilinear
    interpolation at half-pixel centres (clamped to the crop, no antialiasing, as AerieVision's ImagePreprocessor
    documents), then (x − 127) / 128, NCHW float32. Takes a file or decoded pixels."""
    import numpy as np
    pixels = decode(path_or_pixels) if isinstance(path_or_pixels, (str, Path)) else path_or_pixels
    pixels = pixels.astype(np.float32)
    height, width = pixels.shape[:2]
    side = max(1, min(min(width, height), int(math.floor(min(width, height) * 224 / 256 + 0.5))))  # half away from zero
    left, top = (width - side) // 2, (height - side) // 2
    crop = pixels[top:top + side, left:left + side]
    position = np.clip((np.arange(224) + 0.5) * (side / 224) - 0.5, 0, side - 1)
    low = position.astype(np.int64)
    high = np.minimum(low + 1, side - 1)
    weight = (position - low).astype(np.float32)
    rows_low, rows_high = crop[low], crop[high]  # 224 × side × 3
    upper = rows_low[:, low] + (rows_low[:, high] - rows_low[:, low]) * weight[None, :, None]
    lower = rows_high[:, low] + (rows_high[:, high] - rows_high[:, low]) * weight[None, :, None]
    value = upper + (lower - upper) * weight[:, None, None]
    array = (value - 127.0) / 128.0
    return np.ascontiguousarray(array.transpose(2, 0, 1)[None], dtype=np.float32)


def probabilities(output):
    import numpy as np
    values = np.asarray(output, np.float64).reshape(-1)
    if values.min() >= 0 and abs(values.sum() - 1) < 1e-3:
        return values
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def onnxruntime_python(model: Path, images: list, repetitions: int, threads: int) -> dict:
    """onnxruntime Python on the graph, timed as `aerie bench classifier` times the Swift path: per image, the median
    of `repetitions` runs of the network alone, and of the preprocessing (decoding excluded, as there); then the mean
    over the images."""
    import numpy as np
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: preprocess(images[0])})  # warm-up
    entries = []
    for path in images:
        prepare, infer = [], []
        pixels = decode(path)
        for _ in range(repetitions):
            started = time.perf_counter()
            tensor = preprocess(pixels)
            prepare.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            output = session.run(None, {name: tensor})[0]
            infer.append((time.perf_counter() - started) * 1000)
        p = probabilities(output)
        best = np.argsort(-p)[:5]
        entries.append({"image": path.name, "ms_infer": statistics.median(infer), "ms_preprocess": statistics.median(prepare),
                        "top": [{"index": int(i), "score": float(p[i])} for i in best]})
    return {"version": ort.__version__, "threads": threads, "repetitions": repetitions, "input": name,
            **timing(entries), "images": entries, "session": session}


def timing(entries: list) -> dict:
    """ms per image over a set: the mean over the images of each one's network time, and of preprocessing + network."""
    infer = [e["ms_infer"] for e in entries]
    total = [e["ms_infer"] + e["ms_preprocess"] for e in entries]
    return {"inference_ms_per_image": {"mean": statistics.fmean(infer), "median": statistics.median(infer)} if infer else None,
            "ms_per_image": {"mean": statistics.fmean(total), "median": statistics.median(total)} if total else None}


def swift_has_classifier_bench(binary: str) -> bool:
    try:
        text = subprocess.run([binary, "bench", "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.strip().startswith("classifier") for line in text.splitlines())


def swift_classifier(binary: str, data: Path, images: list, repetitions: int, threads: int, tensors: Path) -> dict:
    """`aerie bench classifier`: one JSON line per image ({"image", "index", "label", "score", "ms_infer",
    "ms_preprocess", "threads"}, each time the median of --repetitions runs); --dump-inputs writes the input tensors."""
    command = [binary, "bench", "classifier", "--data", str(data), "--threads", str(threads), "--repetitions", str(repetitions),
               "--dump-inputs", str(tensors), *map(str, images)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:11])} … exited with {result.returncode}: {result.stderr[-1500:]}")
    entries = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            entries.append({"image": Path(row["image"]).name, "ms_infer": row["ms_infer"], "ms_preprocess": row["ms_preprocess"],
                            "top": [{"index": row["index"], "label": row.get("label"), "score": row["score"]}]})
    if len(entries) != len(images):
        raise RuntimeError(f"aerie bench classifier printed {len(entries)} results for {len(images)} images:\n{result.stdout[-1500:]}")
    return {"command": "aerie bench classifier", "threads": threads, "repetitions": repetitions, **timing(entries), "images": entries}


def classifier(binary: str, models: Path, repetitions: int, threads: int, count: int) -> dict:
    model = models / "classifier" / "model.onnx"
    if not model.exists():
        raise Unavailable(f"{model} is missing: install it with `aerie models install classifier --data {models.parent}`")
    labels = load_labels(models / "classifier")
    work = Path(tempfile.mkdtemp(prefix="aerie-bench-classifier-"))
    try:
        images = classifier_images(work / "images", count)
        real = sum(1 for p in images if not p.name.startswith("generated-"))
        result = {"model": str(model), "images": len(images), "real_images": real, "swift": None}
        if not swift_has_classifier_bench(binary):
            result["swift_missing"] = f"{binary} has no `aerie bench classifier`"
            progress(result["swift_missing"])
        else:
            progress(f"classifier: the Swift path (aerie bench classifier), {len(images)} images ({real} from real photos), "
                     f"{threads} thread(s), median of {repetitions} runs each")
            # A data directory of its own whose models/ links the installed ones (the CLI reads <data>/models/classifier).
            data = work / "data"
            (data / "models").mkdir(parents=True)
            for name in ("classifier", "onnxruntime"):
                if (models / name).is_dir():
                    (data / "models" / name).symlink_to((models / name).resolve(), target_is_directory=True)
            result["swift"] = swift_classifier(binary, data, images, repetitions, threads, work / "tensors")
        progress("classifier: onnxruntime Python on the same graph and images")
        python = onnxruntime_python(model, images, repetitions, threads)
        session = python.pop("session")
        result["python"] = python
        if result["swift"]:
            result["agreement"] = agreement(python["images"], result["swift"]["images"], session, python["input"], work / "tensors")
        for entry in python["images"]:
            for top in entry["top"]:
                if labels:
                    top["label"] = labels[top["index"]]
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def agreement(python_images: list, swift_images: list, session, input_name: str, tensors: Path) -> dict:
    """Top-1 agreement of the Swift path with onnxruntime Python (each decoding and preprocessing on its own), and
    onnxruntime Python run on the Swift side's own input tensors: agreement and the largest difference of the top-1
    probability (the same graph on the same input: what is left is the runtime's arithmetic)."""
    import numpy as np
    swift_by_name = {entry["image"]: entry for entry in swift_images}
    same, compared, same_input, compared_input, max_difference = 0, 0, 0, 0, 0.0
    real_same, real_compared = 0, 0
    disagreements = []
    for entry in python_images:
        name = entry["image"]
        theirs = swift_by_name.get(name)
        if not theirs or not theirs.get("top"):
            continue
        compared += 1
        real = not name.startswith("generated-")
        real_compared += real
        if theirs["top"][0]["index"] == entry["top"][0]["index"]:
            same += 1
            real_same += real
        else:
            disagreements.append({"image": name, "python": entry["top"][:2], "swift": theirs["top"][0]})
        tensor_path = tensors / (Path(name).stem + ".f32")
        if tensor_path.exists():
            tensor = np.fromfile(tensor_path, dtype="<f4")
            if tensor.size == 3 * 224 * 224:
                p = probabilities(session.run(None, {input_name: tensor.reshape(1, 3, 224, 224)})[0])
                compared_input += 1
                if int(np.argmax(p)) == theirs["top"][0]["index"]:
                    same_input += 1
                for top in theirs["top"]:
                    max_difference = max(max_difference, abs(float(p[top["index"]]) - float(top["score"])))
    return {"compared": compared, "top1_same": same, "top1_agreement": same / compared if compared else None,
            "real_photos": {"compared": real_compared, "top1_same": real_same},
            "disagreements": disagreements[:20],
            "same_input": {"compared": compared_input, "top1_same": same_input,
                           "max_probability_difference": max_difference if compared_input else None}}


# ---- report ---------------------------------------------------------------------------------------------------------

def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def markdown(results: dict) -> str:
    lines = [f"Load average before {results['load_before']}, after {results['load_after']}; {results['machine']['cpus']} CPUs; "
             f"binary `{results['binary']}`.", "",
             "| benchmark | Aerie | reference | ratio (Aerie / reference) |", "|---|---|---|---|"]
    upload = results.get("upload")
    if upload:
        ready = upload["upload_to_ready"]
        photo = upload["photo"]
        what = f"{photo['width']}×{photo['height']} JPEG ({photo['bytes'] / 1024:.0f} KiB), {ready['n']} sequential uploads, polling every {upload['poll_ms']:g} ms"
        lines.append(f"| upload answered → ready at the client, p50 ms ({what}) | {fmt(ready.get('p50_ms'))} | target {TARGET_MS} | {ratio(ready.get('p50_ms'), TARGET_MS)} |")
        lines.append(f"| upload answered → ready, p50 ms, vs the seed (S3 → Lambda → DynamoDB) | {fmt(ready.get('p50_ms'))} | seed {SEED_MS:,} | {ratio(ready.get('p50_ms'), SEED_MS)} |")
        lines.append(f"| upload answered → ready, p99 ms | {fmt(ready.get('p99_ms'))} | target {TARGET_MS} | {ratio(ready.get('p99_ms'), TARGET_MS)} |")
        lower = upload["upload_to_ready_lower_bound"]
        lines.append(f"| … lower bound (the ready poll sent, not answered), p50 / p99 ms | {fmt(lower.get('p50_ms'))} / {fmt(lower.get('p99_ms'))} | | |")
        for key, label in (("post", "POST /photos answered (check + store), p50 / p99 ms"),
                           ("answered_to_started", "upload answered → gallery-process started (records), p50 / p99 ms"),
                           ("queue_wait", "object event sent → function started (records), p50 / p99 ms"),
                           ("function", "gallery-process run (thumbnails, tags, vector), p50 / p99 ms")):
            s = upload[key]
            lines.append(f"| {label} | {fmt(s.get('p50_ms'))} / {fmt(s.get('p99_ms'))} | | |")
        lines.append(f"| first upload → ready (models loading), ms | {fmt(upload['first_upload_ready_ms'], 0)} | | |")
    c = results.get("classifier")
    if c:
        py, sw = c["python"], c.get("swift")
        how = (f"{c['images']} images ({c['real_images']} from real photos), {py['threads']} thread, each image's median of "
               f"{py['repetitions']} runs, mean over the images")
        swift_infer = sw["inference_ms_per_image"]["mean"] if sw else None
        swift_total = sw["ms_per_image"]["mean"] if sw else None
        lines.append(f"| classifier, the network alone, ms per image ({how}): Swift (aerie bench classifier) vs onnxruntime "
                     f"{py['version']} Python on the same graph | {fmt(swift_infer, 2)} | {fmt(py['inference_ms_per_image']['mean'], 2)} | "
                     f"{ratio(swift_infer, py['inference_ms_per_image']['mean'])} |")
        lines.append(f"| classifier with preprocessing (crop, bilinear resize, normalise; decoding excluded), ms per image "
                     f"(Swift: AerieVision; Python: numpy; each the median of the runs) | "
                     f"{fmt(swift_total, 2)} | {fmt(py['ms_per_image']['mean'], 2)} | {ratio(swift_total, py['ms_per_image']['mean'])} |")
        if sw:
            a = c["agreement"]
            lines.append(f"| top-1 agreement, each side decoding (libpng / Pillow) and preprocessing on its own | {a['top1_same']}/{a['compared']} "
                         f"(real photos {a['real_photos']['top1_same']}/{a['real_photos']['compared']}) | | {fmt(a['top1_agreement'], 3)} |")
            same = a["same_input"]
            if same["compared"]:
                lines.append(f"| top-1 agreement on the Swift side's input tensors (--dump-inputs); largest top-1 probability difference | "
                             f"{same['top1_same']}/{same['compared']}; {same['max_probability_difference']:.1e} | | |")
        else:
            lines += ["", f"No Swift figure: {c.get('swift_missing', 'aerie bench classifier is missing')}."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--models", default=str(REPO / "aerie-data" / "models"), help="where classifier, minilm and onnxruntime are installed")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    parser.add_argument("--uploads", type=int, default=30, help="counted sequential uploads")
    parser.add_argument("--warmup", type=int, default=3, help="uploads before them, not counted (the models load)")
    parser.add_argument("--poll-ms", type=float, default=5)
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--repetitions", type=int, default=10, help="classifier runs per image (the median counts)")
    parser.add_argument("--images", type=int, default=40, help="at least this many classifier images")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=["upload", "classifier"], help="run one section (for a quick look; results not written)")
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        parser.error(f"{args.bin} is not an executable aerie binary; build it (swift build -c release --product aerie)")
    models = Path(args.models).resolve()
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "binary": os.path.relpath(os.path.abspath(args.bin), REPO),
               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_before": load_average()}
    try:
        if args.only in (None, "upload"):
            results["upload"] = upload_to_ready(args.bin, models, args.uploads, args.warmup, args.poll_ms, args.megapixels)
        if args.only in (None, "classifier"):
            results["classifier"] = classifier(args.bin, models, args.repetitions, args.threads, args.images)
    except Unavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results["load_after"] = load_average()
    table = markdown(results)
    if args.only:
        print(json.dumps({k: v for k, v in results.items() if k != "upload"} | (
            {"upload": {k: v for k, v in results["upload"].items() if k != "rows"}} if "upload" in results else {}), indent=2))
        print(table)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gallery.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "gallery.md").write_text("# Gallery benchmark\n\n" + table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
