#!/usr/bin/env python3
"""Runs the Imagine load scenarios against `aerie serve` on loopback and writes bench/results/imagine-load/.

For each scenario: a fresh data directory (the models linked in), `aerie serve` on a free loopback port, an admin
signed in, /metrics scraped, Locust run headless with CSV stats (loadtests/imagine/locustfile.py), /metrics
scraped again, the server stopped. Then report.md and PNG charts: latency percentiles over time, requests/s, cache
hit ratio, and the server-side generation time from /metrics.

    .venv/bin/python loadtests/imagine/run_load.py --bin .build/release/aerie --preset bench
    .venv/bin/python loadtests/imagine/run_load.py --scenarios cache-effectiveness --duration 30 --users 4

The models: MiniLM and ONNX Runtime from --models (default ./aerie-data/models, installed by `make neural-models`);
the diffusion model of --preset generated once into --cache by scripts/make-diffusion-model.py.
"""
import argparse
import csv
import json
import math
import os
import re
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
from aerie_server import AerieServer  # noqa: E402  (shared with Gallery's runner)

SCENARIOS = ["baseline", "constant", "ramp-up", "peak", "cache-effectiveness"]
IMAGES = "/v1/apps/imagine/images"


class Unavailable(Exception):
    """The Imagine app or its models are not there; the message says what to do."""


# ---- models and server --------------------------------------------------------------------------------------------

def diffusion_model(preset: str, cache: Path, python: str = sys.executable) -> Path:
    """The diffusion model of `preset`, generated into cache/imagine-<preset> on first use."""
    target = cache / f"imagine-{preset}"
    if (target / "model_index.json").exists():
        return target
    script = REPO / "scripts" / "make-diffusion-model.py"
    if not script.exists():
        raise Unavailable(f"{script} is missing: the diffusion model generator (issue 6, AerieDiffusion) is not in this checkout")
    partial = cache / f"imagine-{preset}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([python, str(script), "--preset", preset, str(partial)], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise Unavailable(f"scripts/make-diffusion-model.py --preset {preset} failed:\n{result.stderr[-2000:]}")
    partial.rename(target)
    return target


def prepare_data(data: Path, models: Path, imagine_model: Path, binary: str) -> Path:
    """A data directory whose models/ links MiniLM and ONNX Runtime and registers the diffusion model as `imagine`
    (with `aerie models use`, as a user would)."""
    for name in ("minilm", "onnxruntime"):
        if not (models / name).is_dir():
            raise Unavailable(f"{models / name} is missing: run `make neural-models` (aerie models install {name})")
    (data / "models").mkdir(parents=True, exist_ok=True)
    for name in ("minilm", "onnxruntime"):
        link = data / "models" / name
        if not link.exists():
            link.symlink_to((models / name).resolve(), target_is_directory=True)
    if not (data / "models" / "imagine").exists():
        result = subprocess.run([binary, "models", "use", "imagine", str(imagine_model.resolve()), "--data", str(data)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise Unavailable(f"aerie models use imagine {imagine_model} failed: {result.stderr.strip()}")
    return data


class Server(AerieServer):
    """`aerie serve --data DATA` on a free loopback port, with a known admin password."""

    def __init__(self, binary: str, data: Path, env=None):
        super().__init__(binary, data, env=env, timeout=120)


def check_imagine(url: str, token: str) -> None:
    """Raises Unavailable unless the Imagine API answers (404: the app is absent; 503: its models are missing)."""
    response = requests.get(url + IMAGES, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if response.status_code == 404:
        raise Unavailable(f"GET {IMAGES} is 404: this aerie binary has no Imagine app (issue 6) yet")
    if response.status_code == 503:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise Unavailable(f"the Imagine app is unavailable: {detail}")
    response.raise_for_status()


def warm_up(url: str, token: str, steps: int) -> None:
    """One generation so model loading (the cold start) is not part of the first scenario's numbers."""
    response = requests.post(url + IMAGES, json={"prompt": "warm-up: a plain grey square", "steps": steps},
                             headers={"Authorization": f"Bearer {token}", "Cache-Control": "no-cache"}, timeout=600)
    if response.status_code != 200:
        raise RuntimeError(f"the warm-up generation failed: {response.status_code} {response.text[:500]}")


# ---- /metrics -----------------------------------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfINFNa]+)')


def scrape(url: str) -> dict:
    """The Prometheus samples of /metrics whose name starts with imagine_, keyed by 'name{labels}'."""
    text = requests.get(url + "/metrics", timeout=10).text
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if match and match.group(1).startswith("imagine_"):
            samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def delta(before: dict, after: dict) -> dict:
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def histogram(samples: dict, name: str):
    """(count, sum, [(upper bound, cumulative count)]) of a histogram in scraped samples (a delta works too)."""
    buckets = []
    for key, value in samples.items():
        if key.startswith(name + "_bucket"):
            match = re.search(r'le="([^"]+)"', key)
            if match:
                bound = math.inf if match.group(1) in ("+Inf", "Inf") else float(match.group(1))
                buckets.append((bound, value))
    buckets.sort()
    count = sum(v for k, v in samples.items() if k.split("{")[0] == name + "_count")
    total = sum(v for k, v in samples.items() if k.split("{")[0] == name + "_sum")
    return count, total, buckets


def quantile(buckets, q: float):
    """A quantile from cumulative buckets by linear interpolation inside the bucket (as Prometheus does)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            if count == previous_count:
                return bound
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / (count - previous_count)
        previous_bound, previous_count = bound, count
    return previous_bound


def counter(samples: dict, name: str) -> float:
    return sum(v for k, v in samples.items() if k.split("{")[0] == name)


# ---- Locust -------------------------------------------------------------------------------------------------------

def run_locust(url: str, token: str, scenario: str, out: Path, duration: float, users: int, steps: int,
               size=None, python: str = sys.executable, timeout=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "IMAGINE_SCENARIO": scenario, "IMAGINE_TOKEN": token, "IMAGINE_DURATION": str(duration),
           "IMAGINE_USERS": str(users), "IMAGINE_STEPS": str(steps)}
    if size:
        env["IMAGINE_SIZE"] = str(size)
    samples = out / f"{scenario}_samples.csv"
    samples.unlink(missing_ok=True)
    env["IMAGINE_SAMPLES"] = str(samples)
    command = [python, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", url,
               "--csv", str(out / scenario), "--csv-full-history", "--only-summary", "--stop-timeout", "120",
               "--loglevel", "WARNING"]
    return subprocess.run(command, env=env, cwd=HERE, capture_output=True, text=True, timeout=timeout)


def read_stats(out: Path, scenario: str) -> list:
    with open(out / f"{scenario}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_optional_csv(out: Path, scenario: str, suffix: str) -> list:
    """Rows of Locust's `<scenario>_<suffix>.csv`, or none when Locust did not write it."""
    path = out / f"{scenario}_{suffix}.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def read_history(out: Path, scenario: str) -> list:
    return read_optional_csv(out, scenario, "stats_history")


def read_failures(out: Path, scenario: str) -> list:
    return read_optional_csv(out, scenario, "failures")


def read_samples(out: Path, scenario: str) -> list:
    """[(unix time, kind, cache, status, ms)] written by the locustfile, one per request."""
    path = out / f"{scenario}_samples.csv"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) == 5:
            rows.append((float(parts[0]), parts[1], parts[2], int(parts[3]), float(parts[4])))
    return rows


def percentile(values, q):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def latency(values):
    if not values:
        return None
    return {"requests": len(values), "mean_ms": sum(values) / len(values), "p50_ms": percentile(values, 0.5),
            "p95_ms": percentile(values, 0.95), "p99_ms": percentile(values, 0.99)}


def summarize(out: Path, scenario: str, metrics: dict) -> dict:
    """The numbers of one scenario from Locust's CSVs and the /metrics delta."""
    rows = read_stats(out, scenario)
    posts = [r for r in rows if r["Name"].startswith("POST images")]
    aggregated = next((r for r in rows if r["Name"] == "Aggregated"), {})
    count = lambda rs: sum(int(r["Request Count"]) for r in rs)  # noqa: E731
    failures = sum(int(r["Failure Count"]) for r in posts)
    hits = count([r for r in posts if r["Name"].endswith(" hit")])
    misses = count([r for r in posts if r["Name"].endswith(" miss")])
    backpressure = count([r for r in posts if "429" in r["Name"]])
    served = [r for r in posts if r["Name"].endswith(" hit") or r["Name"].endswith(" miss")]

    samples = [s for s in read_samples(out, scenario) if s[3] == 200]
    # A hit on a prompt first asked as new or seed waited for a generation in flight (coalesced): kept apart.
    stored_hits = [s[4] for s in samples if s[2] == "hit" and s[1] in ("repeat", "paraphrase")]
    coalesced = [s[4] for s in samples if s[2] == "hit" and s[1] in ("new", "seed")]
    miss_times = [s[4] for s in samples if s[2] == "miss"]

    generation = histogram(metrics, "imagine_generation_seconds")
    queue = histogram(metrics, "imagine_queue_wait_seconds")
    step = histogram(metrics, "imagine_step_seconds")
    duration = None
    history = read_history(out, scenario)
    stamps = [int(r["Timestamp"]) for r in history if r["Name"] == "Aggregated"]
    if len(stamps) > 1:
        duration = stamps[-1] - stamps[0]
    return {
        "scenario": scenario,
        "requests": count(posts),
        "failures": failures,
        "backpressure_429": backpressure,
        "hits": hits,
        "misses": misses,
        "hit_ratio": hits / (hits + misses) if hits + misses else None,
        "rps": float(aggregated.get("Requests/s") or 0),
        "duration_s": duration,
        "latency_ms": {
            "all": {"p50": _num(aggregated.get("50%")), "p95": _num(aggregated.get("95%")), "p99": _num(aggregated.get("99%")),
                    "mean": _num(aggregated.get("Average Response Time"))},
            "hit": latency(stored_hits), "coalesced": latency(coalesced), "miss": latency(miss_times),
        },
        "served": count(served),
        "server": {
            "hits": counter(metrics, "imagine_cache_hits_total"),
            "misses": counter(metrics, "imagine_cache_misses_total"),
            "generations": generation[0],
            "generation_mean_s": generation[1] / generation[0] if generation[0] else None,
            "generation_p50_s": quantile(generation[2], 0.5), "generation_p95_s": quantile(generation[2], 0.95),
            "step_mean_s": step[1] / step[0] if step[0] else None,
            "queue_wait_mean_s": queue[1] / queue[0] if queue[0] else None,
            "queue_wait_p95_s": quantile(queue[2], 0.95),
            "generation_buckets": [[b if not math.isinf(b) else "+Inf", c] for b, c in generation[2]],
        },
    }


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ---- report -------------------------------------------------------------------------------------------------------

def charts(out: Path, scenarios: list, summaries: list) -> list:
    """Writes the PNG charts; returns their file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    histories = {s: read_history(out, s) for s in scenarios}

    def aggregated(rows):
        rows = [r for r in rows if r["Name"] == "Aggregated"]
        if not rows:
            return [], rows
        t0 = int(rows[0]["Timestamp"])
        return [int(r["Timestamp"]) - t0 for r in rows], rows

    # Latency percentiles over time, one panel per scenario.
    figure, axes = plt.subplots(len(scenarios), 1, figsize=(10, 2.6 * len(scenarios)), squeeze=False)
    for axis, scenario in zip(axes[:, 0], scenarios):
        times, rows = aggregated(histories[scenario])
        for column, style in (("50%", "-"), ("95%", "--"), ("99%", ":")):
            # Before the first answer Locust writes 0: leave those points out.
            values = [_num(r[column]) if r.get("Total Request Count") not in ("0", None) else None for r in rows]
            axis.plot(times, [v if v is not None else float("nan") for v in values], style, label=f"p{column[:-1]}")
        axis.set_title(scenario)
        axis.set_ylabel("latency (ms)")
        axis.grid(alpha=.3)
        axis.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(out / "latency.png", dpi=110)
    plt.close(figure)
    names.append("latency.png")

    # Requests per second and users over time.
    figure, axes = plt.subplots(len(scenarios), 1, figsize=(10, 2.4 * len(scenarios)), squeeze=False)
    for axis, scenario in zip(axes[:, 0], scenarios):
        times, rows = aggregated(histories[scenario])
        axis.plot(times, [_num(r["Requests/s"]) or 0 for r in rows], label="requests/s")
        axis.plot(times, [_num(r["Failures/s"]) or 0 for r in rows], label="failures/s", color="tab:red")
        twin = axis.twinx()
        twin.plot(times, [_num(r["User Count"]) or 0 for r in rows], color="tab:gray", alpha=.5, label="users")
        twin.set_ylabel("users")
        axis.set_title(scenario)
        axis.set_ylabel("req/s")
        axis.grid(alpha=.3)
        axis.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(out / "throughput.png", dpi=110)
    plt.close(figure)
    names.append("throughput.png")

    # Hit ratio: per scenario, and over time (cumulative) for each.
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    ratios = [s["hit_ratio"] or 0 for s in summaries]
    left.bar([s["scenario"] for s in summaries], ratios, color="tab:green")
    left.set_ylim(0, 1)
    left.set_ylabel("hit ratio")
    left.set_title("cache hit ratio by scenario")
    left.tick_params(axis="x", rotation=20)
    for scenario in scenarios:
        rows = histories[scenario]
        stamps = sorted({int(r["Timestamp"]) for r in rows})
        if not stamps:
            continue
        series = []
        for stamp in stamps:
            at = [r for r in rows if int(r["Timestamp"]) == stamp]
            hits = sum(int(r["Total Request Count"]) for r in at if r["Name"].endswith(" hit"))
            misses = sum(int(r["Total Request Count"]) for r in at if r["Name"].endswith(" miss"))
            series.append(hits / (hits + misses) if hits + misses else float("nan"))
        right.plot([s - stamps[0] for s in stamps], series, label=scenario)
    right.set_ylim(0, 1)
    right.set_xlabel("seconds")
    right.set_title("cumulative hit ratio over time")
    right.grid(alpha=.3)
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "hit-ratio.png", dpi=110)
    plt.close(figure)
    names.append("hit-ratio.png")

    # Server-side generation time (from /metrics histograms).
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    labels = [s["scenario"] for s in summaries]
    left.bar(labels, [s["server"]["generation_mean_s"] or 0 for s in summaries], label="mean", color="tab:blue")
    left.plot(labels, [s["server"]["generation_p95_s"] or 0 for s in summaries], "o", color="tab:red", label="p95")
    left.plot(labels, [s["server"]["queue_wait_mean_s"] or 0 for s in summaries], "s", color="tab:gray", label="queue wait (mean)")
    left.set_ylabel("seconds")
    left.set_title("server-side generation time (/metrics)")
    left.tick_params(axis="x", rotation=20)
    left.legend(fontsize=8)
    for summary in summaries:
        buckets = [(float("inf") if b == "+Inf" else b, c) for b, c in summary["server"]["generation_buckets"]]
        finite = [(b, c) for b, c in buckets if not math.isinf(b)]
        if finite:
            right.step([b for b, _ in finite], [c for _, c in finite], where="post", label=summary["scenario"])
    right.set_xscale("log")
    right.set_xlabel("generation seconds (bucket upper bound)")
    right.set_ylabel("generations ≤ bound")
    right.set_title("generation time distribution")
    right.grid(alpha=.3)
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "generation.png", dpi=110)
    plt.close(figure)
    names.append("generation.png")
    return names


def fmt(value, digits=0, scale=1.0, unit=""):
    if value is None:
        return "–"
    return f"{value * scale:.{digits}f}{unit}"


def report(out: Path, summaries: list, settings: dict, chart_names: list) -> Path:
    lines = [
        "# Imagine load test",
        "",
        f"Generated by `loadtests/imagine/run_load.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"Model preset `{settings['preset']}`, {settings['steps']} steps per image, up to {settings['users']} users, "
        f"{settings['duration']:.0f} s per scenario, `aerie serve` on loopback, a fresh data directory per scenario "
        f"(empty cache). Machine: {os.cpu_count()} cores.",
        "",
        *([f"Conditions: {settings['note']}", ""] if settings.get("note") else []),
        "Scenarios: **baseline** one user, new prompts only; **constant** a steady number of users; **ramp-up** one more "
        "user at a time; **peak** a quarter of the users, then a burst of twice as many, then back; **cache-effectiveness** "
        "repeated, paraphrased and new prompts (5:3:2). Users wait 0.5–2 s between requests. 429 with Retry-After is the "
        "server's back-pressure (not a failure); any other non-200 answer is a failure.",
        "",
        "| scenario | requests | failures | 429 | req/s | hit ratio | p50 ms | p95 ms | p99 ms | hit p50 / p99 ms | miss p50 / p99 ms | server gen. mean s | gen. p95 s | queue wait mean s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        latency = s["latency_ms"]
        hit = latency["hit"] or {}
        miss = latency["miss"] or {}
        server = s["server"]
        lines.append(
            f"| {s['scenario']} | {s['requests']} | {s['failures']} | {s['backpressure_429']} | {s['rps']:.2f} | "
            f"{fmt(s['hit_ratio'], 2)} | {fmt(latency['all']['p50'])} | {fmt(latency['all']['p95'])} | {fmt(latency['all']['p99'])} | "
            f"{fmt(hit.get('p50_ms'))} / {fmt(hit.get('p99_ms'))} | {fmt(miss.get('p50_ms'))} / {fmt(miss.get('p99_ms'))} | "
            f"{fmt(server['generation_mean_s'], 2)} | "
            f"{fmt(server['generation_p95_s'], 2)} | {fmt(server['queue_wait_mean_s'], 2)} |")
    lines += [
        "",
        "Latencies are client side (whole request). *hit* = a repeated or paraphrased prompt answered from the "
        "cache; a new prompt that arrives while an equivalent one is being generated is coalesced and also answered "
        "`X-Cache: hit`, after waiting for that generation (" + ", ".join(
            f"{s['scenario']} {s['latency_ms']['coalesced']['requests']} coalesced, p50 {fmt(s['latency_ms']['coalesced']['p50_ms'])} ms"
            for s in summaries if s["latency_ms"].get("coalesced")) + "). Server columns come from the difference of `/metrics` "
        "before and after each scenario (`imagine_generation_seconds`, `imagine_queue_wait_seconds`; p95 interpolated "
        "in the histogram's buckets). Server-side cache counters per scenario: " + ", ".join(
            f"{s['scenario']} {s['server']['hits']:.0f} hits / {s['server']['misses']:.0f} misses" for s in summaries) + ".",
        "",
    ]
    for name in chart_names:
        lines += [f"![{name[:-4]}]({name})", ""]
    lines += ["Raw data: `summary.json`; Locust's `<scenario>_stats*.csv` stay beside it locally (not committed).", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


# ---- main ---------------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"), help="the aerie binary")
    parser.add_argument("--preset", default="bench", help="diffusion model preset: tiny or bench")
    parser.add_argument("--models", default=str(REPO / "aerie-data" / "models"), help="where minilm and onnxruntime are installed")
    parser.add_argument("--cache", default=str(REPO / "aerie-data" / "load-models"), help="where generated diffusion models are kept")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "imagine-load"), help="report directory")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--duration", type=float, default=60, help="seconds per scenario")
    parser.add_argument("--users", type=int, default=6, help="the most concurrent users")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps per image")
    parser.add_argument("--size", type=int, default=None, help="width and height (default: the model's)")
    parser.add_argument("--concurrency", type=int, default=None, help="AERIE_IMAGINE_CONCURRENCY for the server")
    parser.add_argument("--note", default="", help="a sentence on the run's conditions for the report (build, machine load)")
    args = parser.parse_args(argv)

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {SCENARIOS}")
    if not os.access(args.bin, os.X_OK):
        parser.error(f"{args.bin} is not an executable aerie binary; build it (swift build -c release --product aerie)")
    out = Path(args.out).resolve()  # Locust runs in this script's folder
    out.mkdir(parents=True, exist_ok=True)
    try:
        model = diffusion_model(args.preset, Path(args.cache))
    except Unavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    env = {}
    if args.concurrency:
        env["AERIE_IMAGINE_CONCURRENCY"] = str(args.concurrency)
    summaries = []
    work = Path(tempfile.mkdtemp(prefix="aerie-load-"))
    try:
        for scenario in scenarios:
            data = prepare_data(work / scenario, Path(args.models), model, args.bin)
            with Server(args.bin, data, env) as server:
                token = server.token()
                try:
                    check_imagine(server.url, token)
                except Unavailable as error:
                    print(f"error: {error}", file=sys.stderr)
                    return 2
                warm_up(server.url, token, args.steps)
                before = scrape(server.url)
                print(f"==> {scenario}: {args.duration:.0f} s, up to {args.users} users", flush=True)
                result = run_locust(server.url, token, scenario, out, args.duration, args.users, args.steps, args.size)
                after = scrape(server.url)
                if result.returncode not in (0, 1):
                    print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
                    raise RuntimeError(f"locust exited with {result.returncode} in {scenario}")
                summary = summarize(out, scenario, delta(before, after))
                summaries.append(summary)
                print(f"    {summary['requests']} requests, {summary['failures']} failures, {summary['backpressure_429']} × 429, "
                      f"hit ratio {fmt(summary['hit_ratio'], 2)}, p50 {fmt(summary['latency_ms']['all']['p50'])} ms", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (out / "summary.json").write_text(json.dumps({"settings": vars(args), "scenarios": summaries}, indent=2))
    names = charts(out, scenarios, summaries)
    path = report(out, summaries, {"preset": args.preset, "steps": args.steps, "users": args.users, "duration": args.duration,
                                          "note": args.note}, names)
    print(f"==> {path}")
    failed = sum(s["failures"] for s in summaries)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
