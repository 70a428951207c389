#!/usr/bin/env python3
"""Runs the Faces load test (the seed's Locust scenarios: login, upload, recognize) against Aerie's two deployments of
one binary, as the seed compared its serverless and microservice builds, and writes bench/results/faces-load/
(report.md with the seed's two tables per deployment and a comparison, a PNG chart, summary.json).

Deployments (--deployment, default both, one after the other on the same machine):
- `all-in-one`: one `aerie serve` on the embedded storage.
- `split`: the process roles as separate processes, each scaled by count: --gateways `aerie serve --role gateway`
  behind nginx (Debian) and --workers `aerie serve --role worker`, all on one scratch PostgreSQL server (Debian) and one
  shared object folder, with one settings file (`--config`). Gateways take the HTTP requests and run recognize and
  enrol in-process; workers run the notification function from the queue. PostgreSQL, not a shared data directory,
  because every gateway keeps its own vector index, kept in step through the event log only on PostgreSQL.

For each: a fresh data directory per process whose models/ links dlib's face models; a local SMTP sink (aiosmtpd) for
the watches' email; --accounts users signed up, each with one enrolled person and an email watch on them; Locust
headless (--users, --spawn-rate, --duration), the Aerie processes' CPU and memory and the machine's CPU sampled every
second; then the notification function's records (recognized → email sent).

    .venv/bin/python loadtests/faces/run_load.py --bin .build/release/aerie [--deployment split --gateways 2 --workers 1]
"""
import argparse
import contextlib
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
sys.path.insert(0, str(REPO / "scripts"))
from aerie_server import ADMIN_PASSWORD, AerieServer, ResourceSampler, binary_description, free_port, load_average  # noqa: E402
import cluster  # noqa: E402

BASE = "/v1/apps/faces"
PHOTOS = REPO / "Tests" / "AerieFacesTests" / "Fixtures"
SEED = {  # the seed's serverless run (Lambda + Rekognition), ms: 50 / 95 / 99 %ile
    "/login": (530, 860, 3400), "/upload (enrol)": (1100, 2100, 11000), "/facerec (recognize)": (2500, 3400, 6100)}
# The seed's microservice run (EKS, gRPC, HPA, Linkerd) had no login; its /upload stored a photo and recognized it.
SEED_MICROSERVICES = {"/facerec (recognize)": (21000, 48000, 60000)}


def parse_time(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


class Target:
    """A running deployment: the URL Locust calls, the Aerie processes to sample, and what it is."""

    def __init__(self, url, pids, description):
        self.url, self.pids, self.description = url, pids, description

    def login(self, username="admin", password=ADMIN_PASSWORD):
        response = requests.post(self.url + "/v1/auth/login", json={"username": username, "password": password}, timeout=30)
        response.raise_for_status()
        return response.json()["token"]

    def admin(self):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.login()}"
        return session


def data_directory(path: Path, models: Path) -> Path:
    (path / "models").mkdir(parents=True)
    (path / "models" / "faces").symlink_to((models / "faces").resolve(), target_is_directory=True)
    return path


@contextlib.contextmanager
def all_in_one(args, work: Path, settings: dict):
    data = data_directory(work / "data", Path(args.models))
    server_args = []
    for key, value in settings.items():
        server_args += [f"--{key}"] if value is True else [f"--{key}", str(value)]
    with AerieServer(args.bin, data, args=server_args) as server:
        yield Target(server.url, [server.process.pid], "one `aerie serve` (all-in-one) on the embedded storage")


@contextlib.contextmanager
def split(args, work: Path, settings: dict):
    postgres = cluster.Postgres(work / "postgres")
    nodes, nginx = [], None
    try:
        objects = work / "objects"
        objects.mkdir()
        config = work / "aerie.yaml"
        config.write_text(json.dumps({**settings, "database": postgres.database("faces"), "object-store": f"file://{objects}"}, indent=2))
        environment = {"AERIE_ADMIN_PASSWORD": ADMIN_PASSWORD}
        for role, count in (("gateway", args.gateways), ("worker", args.workers)):
            for n in range(count):
                directory = data_directory(work / f"{role}-{n + 1}", Path(args.models))
                nodes.append(cluster.Node(args.bin, directory, environment, args=["--config", str(config), "--role", role]))
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready(timeout=180)
        gateways = [node for node in nodes if "gateway" in node.args]
        nginx = cluster.Nginx(work / "nginx", gateways)
        yield Target(nginx.url, [node.process.pid for node in nodes],
                     f"split roles: {args.gateways} × `aerie serve --role gateway` behind nginx, {args.workers} × `--role worker`, "
                     "on PostgreSQL and a shared object folder")
    finally:
        if nginx:
            nginx.stop()
        for node in nodes:
            node.stop()
        postgres.stop()


def measure(target: Target, args, work: Path, deployment: str) -> dict:
    """Signs up the accounts, runs Locust against `target` and reads the notifications' records."""
    accounts = []
    for index in range(args.accounts):
        username, password = f"faces-load-{index}", f"faces-load-password-{index}"
        requests.post(target.url + "/v1/auth/signup", json={"username": username, "password": password}, timeout=30).raise_for_status()
        session = requests.Session()
        token = target.login(username, password)
        session.headers["Authorization"] = f"Bearer {token}"
        person = session.post(target.url + BASE + "/people", json={"name": f"Person {index}"}, timeout=30)
        if person.status_code == 503:
            raise RuntimeError(f"the Faces app is unavailable: {person.json().get('detail')}")
        person.raise_for_status()
        person_id = person.json()["id"]
        session.post(target.url + BASE + f"/people/{person_id}/faces", data=(PHOTOS / "obama.jpg").read_bytes(),
                     headers={"Content-Type": "image/jpeg"}, timeout=60).raise_for_status()
        session.post(target.url + BASE + "/watches", json={"person_id": person_id, "email": f"{username}@example.com"}, timeout=30).raise_for_status()
        accounts.append({"username": username, "password": password, "token": token, "person": person_id})
    (work / "accounts.json").write_text(json.dumps(accounts))
    samplers = [ResourceSampler(pid) for pid in target.pids]
    for sampler in samplers:
        sampler.start()
    since = time.time()
    before_mail = Sink.received
    print(f"==> {deployment}: Locust, {args.users} users (spawn {args.spawn_rate}/s) for {args.duration} s against {target.url}", flush=True)
    env = {"FACES_ACCOUNTS": str(work / "accounts.json"), "FACES_PHOTOS": str(PHOTOS)}
    result = subprocess.run([sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", target.url,
                             "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--csv", str(work / "faces"),
                             "--only-summary", "--stop-timeout", "10"], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=args.duration + 300)
    time.sleep(3)  # the last notifications
    samples = [sampler.stop() for sampler in samplers]
    records = target.admin().get(target.url + "/v1/invocations", params={"function": "faces-notify", "limit": 1000}, timeout=60).json().get("items", [])
    stats = list(csv.DictReader(open(work / "faces_stats.csv"))) if (work / "faces_stats.csv").exists() else []
    failures = list(csv.DictReader(open(work / "faces_failures.csv"))) if (work / "faces_failures.csv").exists() else []
    if result.returncode not in (0, 1) or not stats:
        print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
        raise RuntimeError(f"locust exited with {result.returncode}")
    notify = sorted((parse_time(r["finished_at"]) - parse_time(r["created_at"])) * 1000 for r in records
                    if r.get("status") == "succeeded" and parse_time(r.get("created_at")) and parse_time(r.get("finished_at"))
                    and parse_time(r.get("created_at")) >= since)
    percentile = lambda values, q: values[min(len(values) - 1, int(q * len(values)))] if values else None  # noqa: E731
    machine = [s["machine_cpu_pct"] for s in samples[0]] if samples and samples[0] else []
    return {"deployment": deployment, "description": target.description, "processes": len(target.pids), "stats": stats, "failures": failures,
            "emails_received": Sink.received - before_mail, "notify_ms": {"n": len(notify), "p50": percentile(notify, 0.5), "p95": percentile(notify, 0.95)},
            # Summed over the deployment's Aerie processes (PostgreSQL and nginx are in the machine's CPU only).
            "aerie_cpu_pct_mean": sum(sum(x["server_cpu_pct"] for x in s) / len(s) for s in samples if s),
            "aerie_rss_mib_max": sum(max(x["server_rss_mib"] for x in s) for s in samples if s),
            "machine_cpu_pct_mean": sum(machine) / len(machine) if machine else None}


class Sink:
    """The SMTP sink's handler: counts the emails it is sent."""
    received = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.received += 1
        return "250 OK"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--models", default=str(REPO / "aerie-data" / "models"))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "faces-load"))
    parser.add_argument("--deployment", choices=["both", "all-in-one", "split"], default="both")
    parser.add_argument("--gateways", type=int, default=2, help="split: gateway processes behind nginx")
    parser.add_argument("--workers", type=int, default=1, help="split: worker processes")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--spawn-rate", type=float, default=2)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--accounts", type=int, default=4)
    args = parser.parse_args()
    if not (Path(args.models) / "faces").is_dir():
        print(f"error: {Path(args.models) / 'faces'} is missing: run `aerie models install faces` (make neural-models)", file=sys.stderr)
        return 2
    from aiosmtpd.controller import Controller

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    before = load_average()
    smtp_port = free_port()
    mail = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    mail.start()
    settings = {"apps": "faces", "rate-limit": 0, "allow-signup": True, "log-level": "warning",
                "smtp-url": f"smtp://127.0.0.1:{smtp_port}?tls=none", "smtp-from": "faces@aerie.test"}
    runs = []
    try:
        for deployment, start in (("all-in-one", all_in_one), ("split", split)):
            if args.deployment not in ("both", deployment):
                continue
            work = Path(tempfile.mkdtemp(prefix=f"aerie-faces-load-{deployment}-"))
            os.chmod(work, 0o755)  # PostgreSQL runs as its own user when this runs as root
            try:
                with start(args, work, settings) as target:
                    runs.append(measure(target, args, work, deployment))
            except cluster.Unavailable as error:
                print(f"error: {error}. Run `make loadtest-faces` (it installs what is missing).", file=sys.stderr)
                return 2
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        mail.stop()
    summary = {"users": args.users, "duration_s": args.duration, "accounts": args.accounts, "binary": binary_description(args.bin),
               "load_average_before": before, "load_average_after": load_average(), "cores": os.cpu_count(), "runs": runs}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    chart(out / "faces-load.png", runs)
    report(out / "report.md", summary)
    print((out / "report.md").read_text())
    return 0


def rows_of(run):
    return {row["Name"]: row for row in run["stats"]}


def chart(path: Path, runs: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [name for name in SEED if any(name in rows_of(run) for run in runs)]
    figure, axis = plt.subplots(figsize=(10, 4.5))
    bars = [(run["deployment"], column, label) for run in runs for column, label in (("50%", "p50"), ("95%", "p95"))]
    width = 0.8 / max(1, len(bars))
    for offset, (deployment, column, label) in enumerate(bars):
        rows = rows_of(next(run for run in runs if run["deployment"] == deployment))
        axis.bar([i - 0.4 + (offset + 0.5) * width for i in range(len(names))], [float(rows[n][column]) if n in rows else 0 for n in names],
                 width=width, label=f"Aerie {deployment} {label}")
    axis.scatter(range(len(names)), [SEED[n][0] for n in names], color="black", marker="_", s=800, label="seed serverless p50", zorder=3)
    micro = [(i, SEED_MICROSERVICES[n][0]) for i, n in enumerate(names) if n in SEED_MICROSERVICES]
    if micro:
        axis.scatter([i for i, _ in micro], [v for _, v in micro], color="red", marker="_", s=800, label="seed microservices p50 (/upload)", zorder=3)
    axis.set_xticks(range(len(names)), names)
    axis.set_yscale("log")
    axis.set_ylabel("ms (log scale)")
    axis.set_title("Faces under load: response times per request, by deployment")
    axis.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def report(path: Path, summary: dict) -> None:
    runs = summary["runs"]
    lines = ["# Faces load test", "",
             f"{summary['users']} Locust users for {summary['duration_s']} s per deployment, one deployment after the other on the same "
             f"{summary['cores']}-core machine; {summary['accounts']} accounts each with one enrolled person and an email watch; {summary['binary']}. "
             f"Load average before {summary['load_average_before']}, after {summary['load_average_after']}.", "",
             "## Comparison", "",
             "p50 / p95 / p99 in ms. The seed's serverless build ran on Lambda and Rekognition; its microservice build (EKS, gRPC, HPA, "
             "Linkerd) had no login, and its /upload stored a photo and recognized it, so it stands beside recognize.", "",
             "| request | " + " | ".join(f"Aerie {run['deployment']}" for run in runs) + " | seed serverless | seed microservices |",
             "|---|" + "---|" * (len(runs) + 2)]
    for name in SEED:
        cells = []
        for run in runs:
            row = rows_of(run).get(name)
            cells.append(" / ".join(row[c] for c in ("50%", "95%", "99%")) + (f" ({row['Failure Count']} failed)" if row and row["Failure Count"] != "0" else "")
                         if row else "")
        micro = SEED_MICROSERVICES.get(name)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {' / '.join(map(str, SEED[name]))} | {' / '.join(map(str, micro)) if micro else ''} |")
    lines += ["", "| deployment | processes | requests/s | failures | Aerie CPU (mean, % of one core) | Aerie memory (max, MiB) | machine CPU (mean) | emails | recognized → sent p50 / p95 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        total = rows_of(run).get("Aggregated", {})
        lines.append(f"| {run['deployment']} | {run['processes']} | {float(total.get('Requests/s', 0)):.1f} | {total.get('Failure Count', '')} | "
                     f"{run['aerie_cpu_pct_mean']:.0f}% | {run['aerie_rss_mib_max']:.0f} | {run['machine_cpu_pct_mean'] or 0:.0f}% | {run['emails_received']} | "
                     f"{run['notify_ms']['p50'] or 0:.0f} / {run['notify_ms']['p95'] or 0:.0f} ms (n={run['notify_ms']['n']}) |")
    by_name = {run["deployment"]: rows_of(run).get("/facerec (recognize)") for run in runs}
    if by_name.get("all-in-one") and by_name.get("split"):
        ratio = float(by_name["split"]["50%"]) / max(1.0, float(by_name["all-in-one"]["50%"]))
        lines += ["", f"Recognize p50, split / all-in-one: {ratio:.2f}. Both ran on the same {summary['cores']} cores, the split one also "
                  "carrying nginx and PostgreSQL, so this compares the two shapes on one machine, not their capacity: the split "
                  "deployment's point is that each role scales by count on machines of its own."]
    lines += ["", "![response times](faces-load.png)", ""]
    for run in runs:
        lines += [f"## {run['deployment']}", "", run["description"] + ".", "", "### Request Statistics", "",
                  "| Method | Name | # Requests | # Fails | Average (ms) | Min (ms) | Max (ms) | Average size (bytes) | RPS | Failures/s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for row in run["stats"]:
            lines.append(f"| {row['Type'] or ''} | {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {float(row['Average Response Time']):.0f} | "
                         f"{float(row['Min Response Time']):.0f} | {float(row['Max Response Time']):.0f} | {float(row['Average Content Size']):.0f} | "
                         f"{float(row['Requests/s']):.1f} | {float(row['Failures/s']):.1f} |")
        columns = ["50%", "66%", "75%", "80%", "90%", "95%", "99%", "100%"]
        lines += ["", "### Response Time Statistics", "", "(Locust's CSV has the 66th and 75th percentiles where the seed's HTML report had the 60th and 70th.)", "",
                  "| Method | Name | " + " | ".join(f"{c}ile (ms)" for c in columns) + " |", "|---|---|" + "---|" * len(columns)]
        for row in run["stats"]:
            lines.append(f"| {row['Type'] or ''} | {row['Name']} | " + " | ".join(row[c] for c in columns) + " |")
        if run["failures"]:
            lines += ["", "Failures:", ""] + [f"- {f['Method']} {f['Name']}: {f['Error']} ({f['Occurrences']}×)" for f in run["failures"]]
        lines.append("")
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
