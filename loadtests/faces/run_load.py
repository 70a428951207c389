#!/usr/bin/env python3
"""Runs the Faces load test (the seed's Locust scenarios: login, upload, recognize) against `aerie serve` on loopback
and writes bench/results/faces-load/ (report.md with the seed's two tables, a PNG chart, summary.json).

Steps: a fresh data directory whose models/ links dlib's face models; a local SMTP sink (aiosmtpd) for the watches'
email; `aerie serve --apps faces --smtp-url smtp://127.0.0.1:PORT?tls=none`; --accounts users signed up, each with one
enrolled person and an email watch on them; Locust headless (--users, --spawn-rate, --duration), the server's CPU and
memory sampled every second; then the notification function's records (recognized → email sent).

Deployments: `all-in-one` (one `aerie serve`). The seed's second deployment, split roles (`aerie serve --role gateway`
and `--role worker` behind nginx), needs the process roles of the scale-out issue and is not measured yet.

    .venv/bin/python loadtests/faces/run_load.py --bin .build/release/aerie
"""
import argparse
import csv
import json
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
from aerie_server import AerieServer, ResourceSampler, binary_description, free_port, load_average  # noqa: E402

BASE = "/v1/apps/faces"
PHOTOS = REPO / "Tests" / "AerieFacesTests" / "Fixtures"
SEED = {  # the seed's serverless run (Lambda + Rekognition), ms: 50 / 95 / 99 %ile
    "/login": (530, 860, 3400), "/upload (enrol)": (1100, 2100, 11000), "/facerec (recognize)": (2500, 3400, 6100)}


def parse_time(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--models", default=str(REPO / "aerie-data" / "models"))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "faces-load"))
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--spawn-rate", type=float, default=2)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--accounts", type=int, default=4)
    args = parser.parse_args()
    if not (Path(args.models) / "faces").is_dir():
        print(f"error: {Path(args.models) / 'faces'} is missing: run `aerie models install faces` (make neural-models)", file=sys.stderr)
        return 2
    from aiosmtpd.controller import Controller

    class Sink:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.received += 1
            return "250 OK"

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    before = load_average()
    work = Path(tempfile.mkdtemp(prefix="aerie-faces-load-"))
    smtp_port = free_port()
    mail = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    mail.start()
    try:
        data = work / "data"
        (data / "models").mkdir(parents=True)
        (data / "models" / "faces").symlink_to((Path(args.models) / "faces").resolve(), target_is_directory=True)
        server_args = ["--apps", "faces", "--rate-limit", "0", "--allow-signup", "--log-level", "warning",
                       "--smtp-url", f"smtp://127.0.0.1:{smtp_port}?tls=none", "--smtp-from", "faces@aerie.test"]
        with AerieServer(args.bin, data, args=server_args) as server:
            accounts = []
            for index in range(args.accounts):
                username, password = f"faces-load-{index}", f"faces-load-password-{index}"
                requests.post(server.url + "/v1/auth/signup", json={"username": username, "password": password}, timeout=30).raise_for_status()
                session = requests.Session()
                token = server.login(username, password)
                session.headers["Authorization"] = f"Bearer {token}"
                person = session.post(server.url + BASE + "/people", json={"name": f"Person {index}"}, timeout=30)
                if person.status_code == 503:
                    print(f"error: the Faces app is unavailable: {person.json().get('detail')}", file=sys.stderr)
                    return 2
                person.raise_for_status()
                person_id = person.json()["id"]
                session.post(server.url + BASE + f"/people/{person_id}/faces", data=(PHOTOS / "obama.jpg").read_bytes(),
                             headers={"Content-Type": "image/jpeg"}, timeout=60).raise_for_status()
                session.post(server.url + BASE + "/watches", json={"person_id": person_id, "email": f"{username}@example.com"}, timeout=30).raise_for_status()
                accounts.append({"username": username, "password": password, "token": token, "person": person_id})
            (work / "accounts.json").write_text(json.dumps(accounts))
            sampler = ResourceSampler(server.process.pid)
            sampler.start()
            since = time.time()
            print(f"==> Locust: {args.users} users (spawn {args.spawn_rate}/s) for {args.duration} s against {server.url}", flush=True)
            env = {"FACES_ACCOUNTS": str(work / "accounts.json"), "FACES_PHOTOS": str(PHOTOS), "PATH": "/usr/bin:/bin"}
            result = subprocess.run([sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", server.url,
                                     "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--csv", str(work / "faces"),
                                     "--only-summary", "--stop-timeout", "10"], env={**__import__("os").environ, **env},
                                    capture_output=True, text=True, timeout=args.duration + 300)
            time.sleep(3)  # the last notifications
            resources = sampler.stop()
            admin = server.admin()
            records = admin.get(server.url + "/v1/invocations", params={"function": "faces-notify", "limit": 1000}, timeout=60).json().get("items", [])
        stats = list(csv.DictReader(open(work / "faces_stats.csv")))
        failures = list(csv.DictReader(open(work / "faces_failures.csv"))) if (work / "faces_failures.csv").exists() else []
    finally:
        mail.stop()
        shutil.rmtree(work, ignore_errors=True)
    if result.returncode not in (0, 1) or not stats:
        print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
        raise RuntimeError(f"locust exited with {result.returncode}")
    after = load_average()
    notify = []
    for record in records:
        created, finished = parse_time(record.get("created_at")), parse_time(record.get("finished_at"))
        if created and finished and created >= since and record.get("status") == "succeeded":
            notify.append((finished - created) * 1000)
    notify.sort()
    percentile = lambda values, q: values[min(len(values) - 1, int(q * len(values)))] if values else None  # noqa: E731
    summary = {"deployment": "all-in-one", "users": args.users, "duration_s": args.duration, "accounts": args.accounts, "binary": binary_description(args.bin),
               "load_average_before": before, "load_average_after": after, "stats": stats, "failures": failures,
               "emails_received": Sink.received, "notify_ms": {"n": len(notify), "p50": percentile(notify, 0.5), "p95": percentile(notify, 0.95)},
               "server_rss_mib_max": max((s["server_rss_mib"] for s in resources), default=None),
               "server_cpu_pct_mean": sum(s["server_cpu_pct"] for s in resources) / len(resources) if resources else None}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    chart(out / "faces-load.png", stats)
    report(out / "report.md", summary, stats)
    print((out / "report.md").read_text())
    return 0


def chart(path: Path, stats: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [row for row in stats if row["Name"] != "Aggregated"]
    figure, axis = plt.subplots(figsize=(9, 4))
    width = 0.25
    for offset, (column, label) in enumerate((("50%", "p50"), ("95%", "p95"), ("99%", "p99"))):
        axis.bar([i + (offset - 1) * width for i in range(len(rows))], [float(row[column]) for row in rows], width=width, label=f"Aerie {label}")
    seed = [SEED.get(row["Name"], (0, 0, 0))[0] for row in rows]
    axis.scatter(range(len(rows)), seed, color="black", marker="_", s=600, label="seed serverless p50", zorder=3)
    axis.set_xticks(range(len(rows)), [row["Name"] for row in rows])
    axis.set_yscale("log")
    axis.set_ylabel("ms (log scale)")
    axis.set_title("Faces under load: response times per request (all-in-one)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def report(path: Path, summary: dict, stats: list) -> None:
    lines = ["# Faces load test", "",
             f"{summary['users']} Locust users for {summary['duration_s']} s on one `aerie serve` (all-in-one), {summary['accounts']} accounts each with one "
             f"enrolled person and an email watch; {summary['binary']}. Load average before {summary['load_average_before']}, after "
             f"{summary['load_average_after']}. Server CPU mean {summary['server_cpu_pct_mean'] or 0:.0f}% of one core, resident memory max "
             f"{summary['server_rss_mib_max'] or 0:.0f} MiB. Emails delivered to the SMTP sink: {summary['emails_received']} (recognized → sent p50 "
             f"{summary['notify_ms']['p50'] or 0:.0f} ms, p95 {summary['notify_ms']['p95'] or 0:.0f} ms over {summary['notify_ms']['n']}).", "",
             "The split deployment the seed compares (gateway and worker roles as separate processes behind nginx) waits for the process roles "
             "of the scale-out issue.", "",
             "### Request Statistics", "", "| Method | Name | # Requests | # Fails | Average (ms) | Min (ms) | Max (ms) | Average size (bytes) | RPS | Failures/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in stats:
        lines.append(f"| {row['Type'] or ''} | {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {float(row['Average Response Time']):.0f} | "
                     f"{float(row['Min Response Time']):.0f} | {float(row['Max Response Time']):.0f} | {float(row['Average Content Size']):.0f} | "
                     f"{float(row['Requests/s']):.1f} | {float(row['Failures/s']):.1f} |")
    columns = ["50%", "66%", "75%", "80%", "90%", "95%", "99%", "100%"]
    lines += ["", "### Response Time Statistics", "", "(Locust's CSV has the 66th and 75th percentiles where the seed's HTML report had the 60th and 70th.)", "",
              "| Method | Name | " + " | ".join(f"{c}ile (ms)" for c in columns) + " | seed serverless 50 / 95 / 99 |", "|---|---|" + "---|" * (len(columns) + 1)]
    for row in stats:
        seed = SEED.get(row["Name"])
        lines.append(f"| {row['Type'] or ''} | {row['Name']} | " + " | ".join(row[c] for c in columns) + f" | {' / '.join(map(str, seed)) if seed else ''} |")
    if summary["failures"]:
        lines += ["", "Failures:", ""] + [f"- {f['Method']} {f['Name']}: {f['Error']} ({f['Occurrences']}×)" for f in summary["failures"]]
    lines += ["", "![response times](faces-load.png)", ""]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
