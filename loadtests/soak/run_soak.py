#!/usr/bin/env python3
"""The soak (issue 17): Locust users against one `aerie serve` on the embedded default for a long run, with a mix
across the apps (loadtests/soak/locustfile.py: uploads with triggers, sync and async invocations, Imagine hits and
misses, Pipeline predictions, console reads), while the server's resident memory, open file descriptors and CPU are
sampled every few seconds. Writes bench/results/soak/ (report.md, soak.png, summary.json; Locust's CSVs stay local)
and exits non-zero when a request failed (a 429 with Retry-After is documented back-pressure, not a failure) or when
memory or descriptors kept growing after the warm-up.

    .venv/bin/python loadtests/soak/run_soak.py --bin .build/release/aerie --models aerie-data/models
    .venv/bin/python loadtests/soak/run_soak.py --bin .build/debug/aerie --users 20 --duration 60 --warmup 20
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from aerie_server import ADMIN_PASSWORD, AerieServer, ResourceSampler, binary_description, load_average  # noqa: E402

APPS = "quickstart,pipeline,imagine"
MODELS = ("minilm", "onnxruntime", "imagine", "imagine-tiny")
IRIS = REPO / "Tests" / "PipelineTests" / "Fixtures" / "iris.csv"
PROMPTS = ("a lighthouse on a cliff at dusk", "a red bicycle leaning on a brick wall", "a bowl of lemons on a wooden table",
           "a snowy mountain cabin at night", "a sailboat on a calm lake")
# After the warm-up, the mean of the last fifth of the run may exceed the mean of the first fifth by this much.
RSS_GROWTH_LIMIT = 0.10
RSS_GROWTH_FLOOR_MIB = 24
FD_GROWTH_LIMIT = 16


def progress(message):
    print(f"[soak] {message}", flush=True)


def prepare_data(data: Path, models: Path) -> Path:
    missing = [name for name in MODELS if not (models / name).exists()]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing under {models}: run `make run-models` first (make soak does)")
    (data / "models").mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        (data / "models" / name).symlink_to((models / name).resolve(), target_is_directory=True)
    return data


def soak_samples(samples: list, start: float) -> list:
    """ResourceSampler's samples as the report uses them: seconds since the load began, RSS, descriptors, CPU."""
    return [{"t": s["t"] - start, "rss_mib": s["server_rss_mib"], "fds": s["server_fds"], "cpu_pct": s["server_cpu_pct"]}
            for s in samples]


def set_up(server: AerieServer, session: requests.Session) -> dict:
    """An iris model for the predictions and each prompt generated once, so asking again is a cache hit."""
    with open(IRIS, "rb") as handle:
        upload = session.post(server.url + "/v1/apps/pipeline/datasets", files={"file": ("iris.csv", handle, "text/csv")},
                              data={"name": "iris", "model": "random-forest", "n_estimators": "20"}, timeout=60)
    upload.raise_for_status()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        stage = session.get(server.url + "/v1/apps/pipeline/datasets/iris", timeout=30).json().get("stage")
        if stage in ("ready", "failed"):
            break
        time.sleep(0.5)
    if stage != "ready":
        raise SystemExit(f"the iris dataset ended {stage}, not ready")
    for prompt in PROMPTS:
        response = session.post(server.url + "/v1/apps/imagine/images", json={"prompt": prompt, "steps": 2}, timeout=300)
        response.raise_for_status()
    return {"model": "iris", "prompts": list(PROMPTS)}


def run_locust(url: str, out: Path, users: int, spawn_rate: float, duration: int, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", url,
               "-u", str(users), "-r", str(spawn_rate), "-t", f"{duration}s", "--csv", str(out / "soak"), "--csv-full-history",
               "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING"]
    return subprocess.run(command, env={**os.environ, **env}, cwd=HERE, capture_output=True, text=True, timeout=duration + 600)


def read_csv(path: Path) -> list:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def mean(values):
    return sum(values) / len(values) if values else 0.0


def flatness(samples: list, warmup: float, key: str) -> dict:
    """The first and last fifth of the run after the warm-up, their means, and the least-squares slope per minute."""
    after = [s for s in samples if s["t"] >= warmup]
    if len(after) < 4:
        raise SystemExit(f"only {len(after)} samples after the warm-up: run longer than --warmup plus a few --interval")
    fifth = max(2, len(after) // 5)
    first, last = mean([s[key] for s in after[:fifth]]), mean([s[key] for s in after[-fifth:]])
    ts, ys = [s["t"] for s in after], [s[key] for s in after]
    mt, my = mean(ts), mean(ys)
    slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / max(1e-9, sum((t - mt) ** 2 for t in ts))
    return {"samples": len(after), "first": first, "last": last, "growth": last - first, "slope_per_min": slope * 60,
            "min": min(ys), "max": max(ys)}


def chart(samples: list, history: list, warmup: float, path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    start = min((float(row["Timestamp"]) for row in history), default=0)
    times = [float(row["Timestamp"]) - start for row in history]
    axes[0].plot(times, [float(row["Requests/s"]) for row in history], label="requests/s")
    axes[0].plot(times, [float(row["Failures/s"]) for row in history], label="failures/s", color="crimson")
    axes[0].set_ylabel("per second")
    axes[0].legend(loc="upper left")
    axes[0].set_title("Soak: throughput, failures, and the server's memory, descriptors and CPU")
    axes[1].plot([s["t"] for s in samples], [s["rss_mib"] for s in samples], color="tab:green")
    axes[1].set_ylabel("resident MiB")
    axes[2].plot([s["t"] for s in samples], [s["fds"] for s in samples], color="tab:purple")
    axes[2].set_ylabel("open descriptors")
    axes[3].plot([s["t"] for s in samples], [s["cpu_pct"] for s in samples], color="tab:orange")
    axes[3].set_ylabel("CPU % of one core")
    axes[3].set_xlabel("seconds")
    for axis in axes:
        axis.axvline(warmup, color="grey", linestyle="--", linewidth=1)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def report(summary: dict, stats: list, failures: list, path: Path):
    s = summary
    lines = [
        "# Soak",
        "",
        f"`make soak`: {s['users']} Locust users (spawned {s['spawn_rate']}/s) for {s['duration_s']} s against one "
        f"`aerie serve` ({s['binary']}) on the embedded default with the apps {APPS}, rate limit off, on this machine "
        f"({os.cpu_count()} CPUs); the mix is in `loadtests/soak/locustfile.py`. Load average before {s['load_before']}, "
        f"after {s['load_after']}. Samples every {s['interval_s']} s; the warm-up is the first {s['warmup_s']} s.",
        "",
        f"**Verdict: {'passed' if s['passed'] else 'FAILED'}** — {s['requests']} requests, {s['failures']} failed "
        f"(429s with Retry-After, documented back-pressure: {s['throttled']}); resident memory after the warm-up "
        f"{s['rss']['first']:.0f} → {s['rss']['last']:.0f} MiB (slope {s['rss']['slope_per_min']:+.2f} MiB/min), open "
        f"descriptors {s['fds']['first']:.0f} → {s['fds']['last']:.0f} (slope {s['fds']['slope_per_min']:+.2f}/min).",
        "",
        "![throughput, failures, memory, descriptors and CPU over the run](soak.png)",
        "",
        "| request | count | failures | median ms | p95 ms | p99 ms | max ms | req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in stats:
        lines.append(f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | {row['95%']} | "
                     f"{row['99%']} | {float(row['Max Response Time']):.0f} | {float(row['Requests/s']):.1f} |")
    if failures:
        lines += ["", "## Failures", "", "| request | error | count |", "|---|---|---|"]
        for row in failures:
            lines.append(f"| {row['Method']} {row['Name']} | {row['Error'][:160]} | {row['Occurrences']} |")
    lines += ["", f"Verdict rules: no failed request; after the warm-up, the mean resident memory of the last fifth within "
              f"{int(RSS_GROWTH_LIMIT * 100)} % (or {RSS_GROWTH_FLOOR_MIB} MiB) of the first fifth's, and the open "
              f"descriptors within {FD_GROWTH_LIMIT}.", ""]
    path.write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/aerie")
    parser.add_argument("--models", default="aerie-data/models")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=120, help="seconds left out of the flatness check")
    parser.add_argument("--interval", type=float, default=3)
    parser.add_argument("--out", default="bench/results/soak")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="aerie-soak-"))
    load_before = load_average()
    try:
        data = prepare_data(work / "data", Path(args.models))
        server = AerieServer(args.bin, data, args=["--apps", APPS, "--rate-limit", "0", "--log-level", "warning"])
        with server:
            session = server.admin()
            progress("setting up: an iris model and the cached prompts")
            setup = set_up(server, session)
            sampler = ResourceSampler(server.process.pid, args.interval)
            started = time.time()
            sampler.start()
            progress(f"{args.users} users for {args.duration} s")
            env = {"SOAK_TOKEN": server.token(), "SOAK_PASSWORD": ADMIN_PASSWORD, "SOAK_PROMPTS": "|".join(setup["prompts"]),
                   "SOAK_MODEL": setup["model"]}
            result = run_locust(server.url, work, args.users, args.spawn_rate, args.duration, env)
            samples = soak_samples(sampler.stop(), started)
            alive = server.process.poll() is None
        if result.returncode not in (0, 1):
            raise SystemExit(f"locust exited with {result.returncode}:\n{result.stderr[-3000:]}")
        stats = [row for row in read_csv(work / "soak_stats.csv") if row["Name"] != "Aggregated"]
        total = next((row for row in read_csv(work / "soak_stats.csv") if row["Name"] == "Aggregated"), None)
        failures = read_csv(work / "soak_failures.csv")
        history = [row for row in read_csv(work / "soak_stats_history.csv") if row.get("Name") == "Aggregated"]
        rss, fds = flatness(samples, args.warmup, "rss_mib"), flatness(samples, args.warmup, "fds")
        requests_total = int(total["Request Count"]) if total else 0
        failed = int(total["Failure Count"]) if total else 0
        throttled = sum(int(row["Request Count"]) for row in stats if row["Name"].endswith(" 429"))
        rss_ok = "growth" in rss and rss["growth"] <= max(RSS_GROWTH_FLOOR_MIB, RSS_GROWTH_LIMIT * rss["first"])
        fds_ok = "growth" in fds and fds["growth"] <= FD_GROWTH_LIMIT
        summary = {"users": args.users, "spawn_rate": args.spawn_rate, "duration_s": args.duration, "warmup_s": args.warmup,
                   "interval_s": args.interval, "binary": binary_description(args.bin), "load_before": load_before,
                   "load_after": load_average(), "requests": requests_total, "failures": failed, "throttled": throttled,
                   "server_alive": alive, "rss": rss, "fds": fds, "rss_flat": rss_ok, "fds_flat": fds_ok,
                   "passed": failed == 0 and alive and rss_ok and fds_ok and requests_total > 0, "samples": samples}
        chart(samples, history, args.warmup, out / "soak.png")
        report(summary, stats, failures, out / "report.md")
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        progress(f"{requests_total} requests, {failed} failed, {throttled} throttled; RSS {rss.get('first', 0):.0f} → "
                 f"{rss.get('last', 0):.0f} MiB, descriptors {fds.get('first', 0):.0f} → {fds.get('last', 0):.0f}; "
                 f"report in {out / 'report.md'}")
        sys.exit(0 if summary["passed"] else 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
