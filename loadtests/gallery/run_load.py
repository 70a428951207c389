#!/usr/bin/env python3
"""Runs the Gallery load test in the seed's three phases against `aerie serve` on loopback and writes
bench/results/gallery-load/ (report.md, PNG charts, summary.json; Locust's raw CSVs stay local).

Steps: a varied set of JPEGs generated with Pillow (cached in <out>/photos, not committed); a fresh data directory
whose models/ links the classifier, MiniLM and ONNX Runtime; `aerie serve --allow-signup --rate-limit 0` on a free
port; --accounts users signed up, each gallery seeded with --seed-photos photos (which also warms the models up);
Locust headless with the three-phase shape of loadtests/gallery/locustfile.py (ramp-up to --users, steady,
ramp-down to 0), while the server's CPU and memory are sampled every second; then the invocation records of
`gallery-process` (trigger queue wait and processing time) and the report: per phase, the seed's tables (virtual
users created / completed, session length min / median / p95 / p99 / max, http response time median / p95 / p99 per
request type, failures) and upload → ready p50 / p95 / p99.

    .venv/bin/python loadtests/gallery/run_load.py --bin .build/release/aerie
    .venv/bin/python loadtests/gallery/run_load.py --bin .build/debug/aerie --users 4 --ramp-up 15 --steady 30 --ramp-down 15
"""
import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from aerie_server import AerieServer, ResourceSampler, binary_description, load_average  # noqa: E402  (shared with the other runners)
from photos import photo_set, unique  # noqa: E402

PHOTOS = "/v1/apps/gallery/photos"
MODELS = ("classifier", "minilm", "onnxruntime")
PHASES = ("ramp-up", "steady", "ramp-down")


class Unavailable(Exception):
    """The Gallery app or its models are not there; the message says what to do."""


# ---- server ---------------------------------------------------------------------------------------------------------

def prepare_data(data: Path, models: Path) -> Path:
    """A data directory whose models/ links the classifier, MiniLM and ONNX Runtime installed in `models`."""
    missing = [name for name in MODELS if not (models / name).is_dir()]
    if missing:
        raise Unavailable(f"{', '.join(str(models / m) for m in missing)} missing: install with `aerie models install "
                          f"{' / '.join(missing)} --data {models.parent}` (make neural-models; the classifier: aerie models install classifier)")
    (data / "models").mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        link = data / "models" / name
        if not link.exists():
            link.symlink_to((models / name).resolve(), target_is_directory=True)
    return data


class Server(AerieServer):
    """`aerie serve --data DATA --allow-signup --rate-limit 0` on a free loopback port, with a known admin password."""

    def __init__(self, binary: str, data: Path, apps: str = "", env=None):
        args = ["--rate-limit", "0", "--allow-signup", "--log-level", "warning"] + (["--apps", apps] if apps else [])
        super().__init__(binary, data, env=env, args=args)


def check_gallery(url: str, session: requests.Session) -> None:
    """Raises Unavailable unless the Gallery API answers (404: no such app in this binary; 503: models missing)."""
    response = session.get(url + PHOTOS, params={"limit": 1}, timeout=30)
    if response.status_code == 404:
        raise Unavailable(f"GET {PHOTOS} is 404: this aerie binary has no Gallery app (issue 13) or it is not enabled")
    if response.status_code == 503:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise Unavailable(f"the Gallery app is unavailable: {detail}")
    response.raise_for_status()


def sign_up(server: Server, count: int) -> list:
    """`count` new users (POST /v1/auth/signup), each with a token."""
    accounts = []
    stamp = time.strftime("%H%M%S")
    for index in range(count):
        username, password = f"load{stamp}u{index}", f"load-password-{index}-{stamp}"
        response = requests.post(server.url + "/v1/auth/signup", json={"username": username, "password": password}, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"sign-up of {username} answered {response.status_code}: {response.text[:300]}")
        accounts.append({"username": username, "password": password, "token": server.login(username, password)})
    return accounts


def seed_galleries(server: Server, accounts: list, photos: list, per_account: int, timeout: float = 600) -> dict:
    """Uploads `per_account` photos to each account (multipart, six at a time) and waits until all are processed, so
    the browsing users find full galleries and the models are loaded before the measured run. Returns timings."""
    started = time.monotonic()
    ids = []
    for index, account in enumerate(accounts):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {account['token']}"
        chosen = [photos[(index * per_account + i) % len(photos)] for i in range(per_account)]
        for first in range(0, len(chosen), 6):
            files = [("file", (p.name, unique(p.read_bytes(), f"seed-{account['username']}-{first + i}"), "image/jpeg"))
                     for i, p in enumerate(chosen[first:first + 6])]
            response = session.post(server.url + PHOTOS, files=files, timeout=120)
            if response.status_code != 201:
                raise RuntimeError(f"seeding {account['username']}: POST {PHOTOS} answered {response.status_code}: {response.text[:300]}")
            ids += [(session, item["id"]) for item in response.json()["items"]]
    uploaded = time.monotonic()
    statuses = {}
    while ids and time.monotonic() - started < timeout:
        remaining = []
        for session, photo_id in ids:
            status = session.get(f"{server.url}{PHOTOS}/{photo_id}", timeout=30).json().get("status")
            if status == "processing":
                remaining.append((session, photo_id))
            else:
                statuses[status] = statuses.get(status, 0) + 1
        ids = remaining
        if ids:
            time.sleep(0.2)
    if ids:
        raise RuntimeError(f"{len(ids)} seeded photos were still processing after {timeout:.0f} s")
    return {"photos": sum(statuses.values()), "statuses": statuses, "upload_s": uploaded - started,
            "ready_s": time.monotonic() - started}


def invocation_records(server: Server, session: requests.Session, since: float) -> list:
    """The records of `gallery-process` created at or after `since` (unix seconds), all pages."""
    records, cursor = [], None
    for _ in range(200):
        params = {"function": "gallery-process", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        response = session.get(server.url + "/v1/invocations", params=params, timeout=60)
        if response.status_code != 200:
            break
        body = response.json()
        page = body.get("items", [])
        records += page
        cursor = body.get("next_cursor")
        if not cursor or not page or min((parse_time(r.get("created_at")) or 0) for r in page) < since:
            break
    return [r for r in records if (parse_time(r.get("created_at")) or 0) >= since]


def function_stats(server: Server, session: requests.Session):
    response = session.get(server.url + "/v1/functions/gallery-process", timeout=30)
    return response.json() if response.status_code == 200 else None


def parse_time(text):
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# ---- Locust ---------------------------------------------------------------------------------------------------------

def run_locust(url: str, out: Path, accounts_file: Path, photos_dir: Path, settings: dict, python: str = sys.executable,
               name: str = "gallery", timeout=None) -> subprocess.CompletedProcess:
    samples = out / f"{name}_samples.csv"
    samples.unlink(missing_ok=True)
    env = {**os.environ, "GALLERY_ACCOUNTS": str(accounts_file), "GALLERY_PHOTOS": str(photos_dir), "GALLERY_SAMPLES": str(samples),
           "GALLERY_USERS": str(settings["users"]), "GALLERY_RAMP_UP": str(settings["ramp_up"]), "GALLERY_STEADY": str(settings["steady"]),
           "GALLERY_RAMP_DOWN": str(settings["ramp_down"]), "GALLERY_MIX": settings["mix"], "GALLERY_POLL_MS": str(settings["poll_ms"])}
    command = [python, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", url,
               "--csv", str(out / name), "--csv-full-history", "--only-summary", "--stop-timeout", str(settings["stop_timeout"]),
               "--loglevel", "WARNING"]
    return subprocess.run(command, env=env, cwd=HERE, capture_output=True, text=True, timeout=timeout)


def read_samples(path: Path) -> list:
    """[{unix, offset, kind, name, ms, ok, detail}] written by the locustfile."""
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        parts = line.split(",", 6)
        if len(parts) < 6:
            continue
        try:
            rows.append({"unix": float(parts[0]), "offset": float(parts[1]), "kind": parts[2], "name": parts[3], "ms": float(parts[4]),
                         "ok": parts[5] == "1", "detail": parts[6] if len(parts) > 6 else ""})
        except ValueError:
            continue
    return rows


def read_history(path: Path) -> list:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]


# ---- numbers --------------------------------------------------------------------------------------------------------

def percentile(values, q):
    """Nearest-rank percentile (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def distribution(values) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "min": min(values), "max": max(values), "mean": sum(values) / len(values),
            "median": percentile(values, 0.5), "p95": percentile(values, 0.95), "p99": percentile(values, 0.99)}


def phase_of(offset: float, settings: dict) -> str:
    ends = [settings["ramp_up"], settings["ramp_up"] + settings["steady"], settings["ramp_up"] + settings["steady"] + settings["ramp_down"]]
    for name, end in zip(PHASES, ends):
        if offset < end:
            return name
    return "ramp-down"  # sessions that users finish during the stop timeout belong to the last phase


def is_http(row) -> bool:
    return row["kind"] not in ("SESSION", "SESSION_START", "UPLOAD", "USER")


def summarize(samples: list, history: list, resources: list, records: list, settings: dict) -> dict:
    """Per phase (and the whole run): users, sessions, HTTP, upload → ready and the trigger's part."""
    # The shape's start in unix seconds (each sample knows both clocks).
    origin = percentile([r["unix"] - r["offset"] for r in samples], 0.5) if samples else time.time()
    for row in samples:
        row["phase"] = phase_of(row["offset"], settings)
    phases = {}
    lengths = {"ramp-up": settings["ramp_up"], "steady": settings["steady"], "ramp-down": settings["ramp_down"]}
    last_offset = max((r["offset"] + r["ms"] / 1000 for r in samples), default=0)
    lengths["all"] = max(sum(lengths.values()), last_offset)
    for phase in (*PHASES, "all"):
        rows = samples if phase == "all" else [r for r in samples if r["phase"] == phase]
        result = {"seconds": lengths[phase]}
        # Locust users (the closed model's concurrency) and the seed's virtual users: sessions.
        result["users_started"] = sum(1 for r in rows if r["kind"] == "USER" and r["name"].startswith("start"))
        result["users_stopped"] = sum(1 for r in rows if r["kind"] == "USER" and r["name"].startswith("stop"))
        sessions = {}
        for kind in ("browse", "upload", "all"):
            match = (lambda r: True) if kind == "all" else (lambda r, k=kind: r["name"] == k)
            started = [r for r in rows if r["kind"] == "SESSION_START" and match(r)]
            done = [r for r in rows if r["kind"] == "SESSION" and match(r)]
            completed = [r["ms"] for r in done if r["ok"]]
            sessions[kind] = {"created": len(started), "completed": len(completed), "failed": sum(1 for r in done if not r["ok"]),
                              "interrupted": max(0, len(started) - len(done)), "session_length_ms": distribution(completed)}
        result["sessions"] = sessions
        http = [r for r in rows if is_http(r)]
        codes = {}
        for r in http:
            code = (r["detail"].split(" ", 1)[0] or "error")
            key = f"{code[0]}xx" if code[:1].isdigit() else "no answer"
            codes[key] = codes.get(key, 0) + 1
        result["http"] = {"requests": len(http), "failures": sum(1 for r in http if not r["ok"]), "codes": codes,
                          "request_rate": len(http) / lengths[phase] if lengths[phase] else None,
                          "response_time_ms": distribution([r["ms"] for r in http])}
        by_name = {}
        for r in http:
            by_name.setdefault(r["name"] if r["name"].startswith(r["kind"] + " ") else f"{r['kind']} {r['name']}", []).append(r)
        result["requests"] = {name: {"failures": sum(1 for r in rs if not r["ok"]), **distribution([r["ms"] for r in rs])}
                              for name, rs in sorted(by_name.items())}
        uploads = [r for r in rows if r["kind"] == "UPLOAD"]
        result["upload_to_ready_ms"] = {"failed": sum(1 for r in uploads if not r["ok"]), **distribution([r["ms"] for r in uploads if r["ok"]])}
        result["failure_details"] = sorted({f"{r['kind']} {r['name']}: {r['detail']}" for r in rows if not r["ok"] and r["kind"] != "USER"})[:10]
        # The trigger's part, from the invocation records (created = the object event's message sent).
        mine = []
        for record in records:
            created, started, finished = (parse_time(record.get(k)) for k in ("created_at", "started_at", "finished_at"))
            if created is None:
                continue
            if phase != "all" and phase_of(created - origin, settings) != phase:
                continue
            mine.append((created, started, finished, record))
        result["trigger"] = {
            "invocations": len(mine),
            "failed": sum(1 for *_, record in mine if record.get("status") not in ("succeeded", None)),
            "queue_wait_ms": distribution([(s - c) * 1000 for c, s, f, _ in mine if s]),
            "processing_ms": distribution([(f - s) * 1000 for c, s, f, _ in mine if s and f]),
            "cold_starts": sum(1 for *_, record in mine if record.get("cold_start")),
        }
        in_phase = [s for s in resources if phase == "all" or phase_of(s["t"] - origin, settings) == phase]
        result["resources"] = {
            "server_cpu_pct_mean": sum(s["server_cpu_pct"] for s in in_phase) / len(in_phase) if in_phase else None,
            "server_cpu_pct_max": max((s["server_cpu_pct"] for s in in_phase), default=None),
            "machine_cpu_pct_mean": sum(s["machine_cpu_pct"] for s in in_phase) / len(in_phase) if in_phase else None,
            "server_rss_mib_max": max((s["server_rss_mib"] for s in in_phase), default=None),
        }
        stamp_users = [(int(h["Timestamp"]) - origin, float(h.get("User Count") or 0)) for h in history]
        users = [u for t, u in stamp_users if phase == "all" or phase_of(t, settings) == phase]
        result["users_peak"] = max(users, default=None)
        phases[phase] = result
    return {"origin": origin, "phases": phases}


# ---- report ---------------------------------------------------------------------------------------------------------

def charts(out: Path, samples: list, history: list, resources: list, summary: dict, settings: dict) -> list:
    """Writes the PNG charts; returns their file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    origin = summary["origin"]
    bounds = [0, settings["ramp_up"], settings["ramp_up"] + settings["steady"], settings["ramp_up"] + settings["steady"] + settings["ramp_down"]]
    shades = ["tab:blue", "tab:green", "tab:orange"]

    def phases(axis):
        for (start, end), colour, name in zip(zip(bounds, bounds[1:]), shades, PHASES):
            axis.axvspan(start, end, color=colour, alpha=.06)
        for bound in bounds[1:-1]:
            axis.axvline(bound, color="gray", lw=.8, ls=":")

    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    # Minor ticks of a log axis: label 2 and 5 of each decade only.
    minor = matplotlib.ticker.FuncFormatter(
        lambda value, _: f"{value:g}" if value > 0 and round(value / 10 ** math.floor(math.log10(value))) in (2, 5) else "")

    def log_if_wide(axis, values, which="y"):
        """A log scale (plain labels) where the values span more than a factor of 20, else linear."""
        values = [v for v in values if v and v > 0]
        if values and max(values) / min(values) > 20:
            (axis.set_yscale if which == "y" else axis.set_xscale)("log")
            scale = axis.yaxis if which == "y" else axis.xaxis
            scale.set_major_formatter(plain)
            scale.set_minor_formatter(minor)

    names = []
    # 1. Response time, users and CPU over time.
    figure, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    http = [r for r in samples if is_http(r)]
    bucket = max(1, int(round(bounds[-1] / 30)))  # about 30 points
    buckets = {}
    for r in http:
        buckets.setdefault(int(r["offset"] // bucket), []).append(r["ms"])
    times = sorted(buckets)
    for q, style in ((0.5, "-"), (0.95, "--"), (0.99, ":")):
        axes[0].plot([t * bucket for t in times], [percentile(buckets[t], q) for t in times], style, label=f"p{int(q * 100)}")
    log_if_wide(axes[0], [r["ms"] for r in http])
    axes[0].set_ylabel("HTTP response time (ms)")
    axes[0].set_title(f"all HTTP requests, per {bucket} s")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].grid(alpha=.3)
    phases(axes[0])
    stamps = [(int(h["Timestamp"]) - origin, h) for h in history]
    axes[1].plot([t for t, _ in stamps], [float(h.get("User Count") or 0) for _, h in stamps], color="tab:gray", label="Locust users")
    axes[1].set_ylabel("users")
    twin = axes[1].twinx()
    rates = {}
    for r in http:
        rates.setdefault(int(r["offset"] // bucket), [0, 0])
        rates[int(r["offset"] // bucket)][0 if r["ok"] else 1] += 1
    twin.plot([t * bucket for t in sorted(rates)], [rates[t][0] / bucket for t in sorted(rates)], color="tab:blue", label="requests/s")
    twin.plot([t * bucket for t in sorted(rates)], [rates[t][1] / bucket for t in sorted(rates)], color="tab:red", label="failures/s")
    twin.set_ylabel("req/s")
    lines = axes[1].get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    axes[1].legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    axes[1].grid(alpha=.3)
    phases(axes[1])
    axes[2].plot([s["t"] - origin for s in resources], [s["server_cpu_pct"] for s in resources], label="aerie serve CPU (% of one core)")
    axes[2].plot([s["t"] - origin for s in resources], [s["machine_cpu_pct"] * (os.cpu_count() or 1) for s in resources],
                 label=f"machine CPU (% of one core, {os.cpu_count()} cores)", alpha=.6)
    axes[2].set_ylabel("CPU %")
    axes[2].set_xlabel("seconds since the start of the ramp-up")
    axes[2].set_ylim(bottom=0, top=max([100 * (os.cpu_count() or 1)] + [s["server_cpu_pct"] for s in resources]) * 1.25)
    axes[2].legend(loc="upper left", fontsize=8, ncol=2)
    axes[2].grid(alpha=.3)
    phases(axes[2])
    figure.tight_layout()
    figure.savefig(out / "response-time.png", dpi=100)
    plt.close(figure)
    names.append("response-time.png")

    # 2. Upload → ready: distribution per phase, and over time.
    uploads = [r for r in samples if r["kind"] == "UPLOAD" and r["ok"]]
    if uploads:
        figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
        low = max(1.0, min(r["ms"] for r in uploads))
        high = max(low * 1.5, max(r["ms"] for r in uploads))
        wide = high / low > 20
        bins = [low * (high / low) ** (i / 30) if wide else low + (high - low) * i / 30 for i in range(31)]
        stacks = [([r["ms"] for r in uploads if r["phase"] == phase], colour, phase) for phase, colour in zip(PHASES, shades)]
        stacks = [(values, colour, f"{phase} (n={len(values)})") for values, colour, phase in stacks if values]
        left.hist([v for v, _, _ in stacks], bins=bins, stacked=True, alpha=.7, color=[c for _, c, _ in stacks], label=[n for _, _, n in stacks])
        for q, style in ((0.5, "-"), (0.95, "--"), (0.99, ":")):
            value = percentile([r["ms"] for r in uploads], q)
            left.axvline(value, color="black", ls=style, lw=.8, label=f"p{int(q * 100)} {value:.0f} ms")
        if wide:
            log_if_wide(left, [low, high], "x")
        left.set_xlabel("upload answered → ready (ms)")
        left.set_ylabel("photos")
        left.set_title("upload → ready distribution")
        left.legend(fontsize=8)
        right.scatter([r["offset"] for r in uploads], [r["ms"] for r in uploads], s=8, alpha=.6)
        log_if_wide(right, [r["ms"] for r in uploads])
        right.set_xlabel("seconds since the start of the ramp-up")
        right.set_ylabel("upload → ready (ms)")
        right.set_title("upload → ready over time")
        right.grid(alpha=.3)
        phases(right)
        figure.tight_layout()
        figure.savefig(out / "upload-ready.png", dpi=100)
        plt.close(figure)
        names.append("upload-ready.png")

    # 3. Session length per phase and kind.
    sessions = [r for r in samples if r["kind"] == "SESSION" and r["ok"]]
    if sessions:
        figure, axes = plt.subplots(1, 2, figsize=(12, 4))
        for axis, kind in zip(axes, ("browse", "upload")):
            data = [[r["ms"] for r in sessions if r["name"] == kind and r["phase"] == phase] for phase in PHASES]
            labels = [f"{phase}\n(n={len(d)})" for phase, d in zip(PHASES, data)]
            kept = [(d, label) for d, label in zip(data, labels) if d]
            if kept:
                axis.boxplot([d for d, _ in kept], whis=(1, 99), showfliers=True)
                axis.set_xticks(range(1, len(kept) + 1), [label for _, label in kept])
            log_if_wide(axis, [v for d in data for v in d])
            axis.set_title(f"session length: {kind}")
            axis.set_ylabel("ms")
            axis.grid(alpha=.3)
        figure.tight_layout()
        figure.savefig(out / "session-length.png", dpi=100)
        plt.close(figure)
        names.append("session-length.png")
    return names


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def report(out: Path, summary: dict, settings: dict, chart_names: list, seeding: dict, binary_note: str) -> Path:
    p = summary["phases"]
    cols = (*PHASES, "all")
    header = "| | " + " | ".join(f"{c} ({fmt(p[c]['seconds'])} s)" if c != "all" else "whole run" for c in cols) + " |"
    rule = "|---|" + "---:|" * len(cols)

    def row(label, getter, digits=0):
        return f"| {label} | " + " | ".join(fmt(getter(p[c]), digits) for c in cols) + " |"

    lines = [
        "# Gallery load test",
        "",
        f"Generated by `loadtests/gallery/run_load.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with {binary_note}. "
        f"The seed's three phases as a Locust shape: ramp-up from 0 to {settings['users']} users in {settings['ramp_up']:.0f} s, "
        f"steady for {settings['steady']:.0f} s, ramp-down to 0 in {settings['ramp_down']:.0f} s. Browsing and uploading users "
        f"{settings['mix'].replace(',', ':')}; {settings['accounts']} accounts, each seeded with {settings['seed_photos']} photos "
        f"({seeding.get('photos', 0)} processed in {seeding.get('ready_s', 0):.1f} s before the run, which also loads the models). "
        f"`aerie serve --rate-limit 0 --allow-signup` on loopback with a fresh data directory; Locust on the same machine "
        f"({os.cpu_count()} cores; load average {settings.get('load_before')} before, {settings.get('load_after')} after). "
        f"Upload → ready is measured at the client, polling every {settings['poll_ms']:.0f} ms.",
        "",
        *([f"Conditions: {settings['note']}", ""] if settings.get("note") else []),
        "A *session* is the seed's virtual user: a browsing session lists the newest photos, fetches the thumbnails in view "
        "through their signed URLs (no credentials, six at a time), sometimes the next page, then searches by meaning and "
        "fetches the results' thumbnails; an uploading session uploads 1–5 photos (one request each, or one multipart "
        "request) and polls each until it is `ready`. Each Locust user runs sessions one after another with a pause "
        "(1–3 s browsing, 2–5 s uploading). Sessions are counted in the phase they started in; *interrupted* ones were "
        "cut off when the run ended.",
        "",
        "## Virtual users",
        "",
        header, rule,
        row("Locust users started", lambda x: x["users_started"]),
        row("Locust users, peak", lambda x: x["users_peak"]),
    ]
    for kind in ("browse", "upload"):
        lines += [
            row(f"vusers.created ({kind})", lambda x, k=kind: x["sessions"][k]["created"]),
            row(f"vusers.completed ({kind})", lambda x, k=kind: x["sessions"][k]["completed"]),
            row(f"vusers.failed ({kind})", lambda x, k=kind: x["sessions"][k]["failed"]),
            row(f"vusers.interrupted ({kind})", lambda x, k=kind: x["sessions"][k]["interrupted"]),
        ]
    for kind in ("browse", "upload"):
        for stat in ("min", "median", "p95", "p99", "max", "mean"):
            lines.append(row(f"vusers.session_length_{stat} ({kind}), ms", lambda x, k=kind, s=stat: x["sessions"][k]["session_length_ms"].get(s)))
    lines += [
        "",
        "## HTTP",
        "",
        header, rule,
        row("http.requests", lambda x: x["http"]["requests"]),
        row("http.request_rate (/s)", lambda x: x["http"]["request_rate"], 1),
        row("http.codes.2xx", lambda x: x["http"]["codes"].get("2xx", 0)),
        row("http.codes.4xx", lambda x: x["http"]["codes"].get("4xx", 0)),
        row("http.codes.5xx", lambda x: x["http"]["codes"].get("5xx", 0)),
        row("failures", lambda x: x["http"]["failures"]),
        row("http.response_time_min, ms", lambda x: x["http"]["response_time_ms"].get("min"), 1),
        row("http.response_time_median, ms", lambda x: x["http"]["response_time_ms"].get("median"), 1),
        row("http.response_time_p95, ms", lambda x: x["http"]["response_time_ms"].get("p95"), 1),
        row("http.response_time_p99, ms", lambda x: x["http"]["response_time_ms"].get("p99"), 1),
        row("http.response_time_max, ms", lambda x: x["http"]["response_time_ms"].get("max"), 1),
        "",
        "Per request type: requests (failures), median / p95 / p99 ms.",
        "",
        "| request | " + " | ".join(c if c != "all" else "whole run" for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    names = sorted({name for c in cols for name in p[c]["requests"]})
    for name in names:
        cells = []
        for c in cols:
            d = p[c]["requests"].get(name)
            if not d or not d.get("n"):
                cells.append("–")
                continue
            failures = f" ({d['failures']})" if d["failures"] else ""
            cells.append(f"{d['n']}{failures}: {fmt(d['median'], 1)} / {fmt(d['p95'], 1)} / {fmt(d['p99'], 1)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Upload → ready",
        "",
        "At the client: the upload's answer (201, status `processing`) → the poll that shows `ready` (tags, both "
        "thumbnails and the search vector done). Server side, from the invocation records of `gallery-process`: queue "
        "wait = the object event's message sent → the function started; processing = started → finished.",
        "",
        header, rule,
        row("photos ready", lambda x: x["upload_to_ready_ms"].get("n", 0)),
        row("photos failed or timed out", lambda x: x["upload_to_ready_ms"]["failed"]),
        row("upload → ready p50, ms", lambda x: x["upload_to_ready_ms"].get("median")),
        row("upload → ready p95, ms", lambda x: x["upload_to_ready_ms"].get("p95")),
        row("upload → ready p99, ms", lambda x: x["upload_to_ready_ms"].get("p99")),
        row("upload → ready max, ms", lambda x: x["upload_to_ready_ms"].get("max")),
        row("gallery-process invocations", lambda x: x["trigger"]["invocations"]),
        row("queue wait p50, ms", lambda x: x["trigger"]["queue_wait_ms"].get("median"), 1),
        row("queue wait p95, ms", lambda x: x["trigger"]["queue_wait_ms"].get("p95"), 1),
        row("processing p50, ms", lambda x: x["trigger"]["processing_ms"].get("median"), 1),
        row("processing p95, ms", lambda x: x["trigger"]["processing_ms"].get("p95"), 1),
        "",
        "## Server resources",
        "",
        header, rule,
        row("aerie serve CPU mean, % of one core", lambda x: x["resources"]["server_cpu_pct_mean"]),
        row("aerie serve CPU max, % of one core", lambda x: x["resources"]["server_cpu_pct_max"]),
        row("machine CPU mean, % of all cores (Locust included)", lambda x: x["resources"]["machine_cpu_pct_mean"]),
        row("aerie serve resident memory max, MiB", lambda x: x["resources"]["server_rss_mib_max"]),
        "",
    ]
    failures = p["all"]["failure_details"]
    if failures:
        lines += ["Failures (first distinct ones):", ""] + [f"- `{f}`" for f in failures] + [""]
    for name in chart_names:
        lines += [f"![{name[:-4]}]({name})", ""]
    lines += ["Raw data: `summary.json`; Locust's `gallery_*.csv` and the per-request samples stay beside it locally (not committed).", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


# ---- main -----------------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"), help="the aerie binary")
    parser.add_argument("--models", default=str(REPO / "aerie-data" / "models"), help="where classifier, minilm and onnxruntime are installed")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "gallery-load"), help="report directory")
    parser.add_argument("--users", type=int, default=8, help="users at the steady phase")
    parser.add_argument("--ramp-up", type=float, default=20, help="seconds of the ramp-up phase")
    parser.add_argument("--steady", type=float, default=30, help="seconds of the steady phase")
    parser.add_argument("--ramp-down", type=float, default=10, help="seconds of the ramp-down phase")
    parser.add_argument("--mix", default="3,1", help="browsing,uploading user weights")
    parser.add_argument("--accounts", type=int, default=4, help="accounts the users share round-robin")
    parser.add_argument("--seed-photos", type=int, default=12, help="photos uploaded to each account before the run")
    parser.add_argument("--photos", type=int, default=24, help="size of the generated photo set")
    parser.add_argument("--poll-ms", type=float, default=50, help="readiness poll interval of uploading users")
    parser.add_argument("--stop-timeout", type=float, default=30, help="seconds a stopping user may take to finish its session")
    parser.add_argument("--apps", default="gallery", help="--apps for aerie serve ('' for its default)")
    parser.add_argument("--note", default="", help="a sentence on the run's conditions for the report (build, machine load)")
    args = parser.parse_args(argv)

    if not os.access(args.bin, os.X_OK):
        parser.error(f"{args.bin} is not an executable aerie binary; build it (swift build -c release --product aerie)")
    out = Path(args.out).resolve()  # Locust runs in this script's folder
    out.mkdir(parents=True, exist_ok=True)
    print(f"==> photos: {args.photos} generated JPEGs in {out / 'photos'}", flush=True)
    photos = photo_set(out / "photos", args.photos)
    settings = {"users": args.users, "ramp_up": args.ramp_up, "steady": args.steady, "ramp_down": args.ramp_down, "mix": args.mix,
                "accounts": args.accounts, "seed_photos": args.seed_photos, "poll_ms": args.poll_ms,
                "stop_timeout": args.stop_timeout, "note": args.note}
    settings["load_before"] = load_average()
    work = Path(tempfile.mkdtemp(prefix="aerie-gallery-load-"))
    try:
        try:
            data = prepare_data(work / "data", Path(args.models))
        except Unavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        with Server(args.bin, data, args.apps) as server:
            admin = server.admin()
            try:
                check_gallery(server.url, admin)
            except Unavailable as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            accounts = sign_up(server, args.accounts)
            accounts_file = work / "accounts.json"
            accounts_file.write_text(json.dumps(accounts))
            print(f"==> seeding {args.accounts} galleries with {args.seed_photos} photos each", flush=True)
            seeding = seed_galleries(server, accounts, photos, args.seed_photos)
            print(f"    {seeding['photos']} photos {seeding['statuses']} in {seeding['ready_s']:.1f} s", flush=True)
            stats_before = function_stats(server, admin)
            since = time.time()
            sampler = ResourceSampler(server.process.pid)
            sampler.start()
            total = args.ramp_up + args.steady + args.ramp_down
            print(f"==> Locust: ramp-up {args.ramp_up:.0f} s to {args.users} users, steady {args.steady:.0f} s, ramp-down {args.ramp_down:.0f} s", flush=True)
            result = run_locust(server.url, out, accounts_file, photos[0].parent, settings, timeout=total + args.stop_timeout + 300)
            resources = sampler.stop()
            records = invocation_records(server, admin, since)
            stats_after = function_stats(server, admin)
        if result.returncode not in (0, 1):
            print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
            raise RuntimeError(f"locust exited with {result.returncode}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    settings["load_after"] = load_average()
    samples = read_samples(out / "gallery_samples.csv")
    if not samples:
        print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
        raise RuntimeError("Locust recorded no requests")
    history = read_history(out / "gallery_stats_history.csv")
    summary = summarize(samples, history, resources, records, settings)
    note = binary_description(args.bin)
    (out / "summary.json").write_text(json.dumps({"settings": {**settings, "bin": args.bin}, "binary": note, "seeding": seeding,
                                                  "function_stats": {"before": stats_before, "after": stats_after},
                                                  **summary}, indent=2, default=str))
    names = charts(out, samples, history, resources, summary, settings)
    path = report(out, summary, settings, names, seeding, note)
    whole = summary["phases"]["all"]
    upload = whole["upload_to_ready_ms"]
    print(f"    {whole['http']['requests']} requests, {whole['http']['failures']} failures; sessions "
          f"{whole['sessions']['all']['completed']} completed, {whole['sessions']['all']['failed']} failed; upload → ready p50 "
          f"{fmt(upload.get('median'))} / p95 {fmt(upload.get('p95'))} / p99 {fmt(upload.get('p99'))} ms over {upload.get('n', 0)} photos")
    print(f"==> {path}")
    return 1 if whole["http"]["failures"] or whole["sessions"]["all"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
