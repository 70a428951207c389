"""`make bench-runtimes`: out-of-process functions (issue 18) beside the in-process no-op, in one run.

Warm invocation over HTTP (sequential, keep-alive): `bench-noop` (in process) vs a native `provided` bootstrap (C,
compiled here) vs a Python handler run by awslambdaric; the overhead is each one's p50 minus the no-op's (target
≤ 1 ms for the native one). Cold start: the first invocation of a fresh process (the server runs with a short idle
time, and each cold call waits until the previous process was stopped), native vs Python, with the record's init_ms.
Writes bench/results/runtimes.{json,md} with the machine's load average.
"""
import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-runtimes-password"


def loadavg():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zip_files(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, (data, mode) in files.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round((len(ordered) - 1) * fraction)))]


def summary(values):
    return {"n": len(values), "p50_ms": round(percentile(values, 0.5), 3), "p90_ms": round(percentile(values, 0.9), 3),
            "p99_ms": round(percentile(values, 0.99), 3), "mean_ms": round(statistics.fmean(values), 3)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    parser.add_argument("--warm", type=int, default=500)
    parser.add_argument("--cold", type=int, default=10)
    args = parser.parse_args()

    load_before = loadavg()
    work = Path(tempfile.mkdtemp(prefix="aerie-bench-runtimes-"))
    data = work / "data"
    port, bench_port = free_port(), free_port()
    log = open(work / "server.log", "wb")
    idle = 0.5
    server = subprocess.Popen([args.bin, "serve", "--data", str(data), "--port", str(port), "--bench-port", str(bench_port),
                               "--apps", "none", "--rate-limit", "0", "--function-idle-seconds", str(idle), "--log-level", "warning"],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "AERIE_ADMIN_PASSWORD": PASSWORD})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        session = requests.Session()
        token = session.post(base + "/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        session.headers["Authorization"] = "Bearer " + token
        subprocess.run([args.bin, "runtimes", "install", "python", "--data", str(data)], check=True, capture_output=True)
        native = work / "bootstrap"
        subprocess.run(["gcc", "-O2", "-o", str(native), str(REPO / "e2e" / "runtimes" / "echo.c")], check=True)
        packages = {
            "native-echo": (zip_files({"bootstrap": (native.read_bytes(), 0o100755)}), {"runtime": "provided"}),
            "python-echo": (zip_files({"app.py": (b"def handler(event, context):\n    return event\n", 0o100644)}),
                            {"runtime": "python3", "handler": "app.handler"}),
        }
        for name, (body, params) in packages.items():
            response = session.put(base + f"/v1/functions/{name}", params={**params, "concurrency": 2}, data=body,
                                   headers={"Content-Type": "application/zip"})
            response.raise_for_status()

        def invoke(name):
            started = time.perf_counter()
            response = session.post(base + f"/v1/functions/{name}/invoke", data=b"{}", headers={"Content-Type": "application/json"})
            elapsed = (time.perf_counter() - started) * 1000
            if not response.ok:
                raise RuntimeError(f"{name}: {response.status_code} {response.text}")
            return elapsed, response.headers.get("X-Aerie-Invocation-Id")

        # Warm: the three side by side, interleaved in rounds so drift in load hits all alike.
        warm = {"bench-noop": [], "native-echo": [], "python-echo": []}
        for name in warm:
            for _ in range(20):
                invoke(name)
        for _ in range(args.warm):
            for name in warm:
                warm[name].append(invoke(name)[0])
        warm_summary = {name: summary(values) for name, values in warm.items()}
        noop = warm_summary["bench-noop"]["p50_ms"]
        for name in ("native-echo", "python-echo"):
            warm_summary[name]["added_p50_ms"] = round(warm_summary[name]["p50_ms"] - noop, 3)

        # Cold: wait until the idle process is stopped (the reaper runs every second), then one call.
        cold = {"native-echo": [], "python-echo": []}
        init = {"native-echo": [], "python-echo": []}
        for _ in range(args.cold):
            for name in cold:
                time.sleep(idle + 1.6)
                elapsed, invocation = invoke(name)
                record = session.get(base + f"/v1/invocations/{invocation}").json()
                if record.get("cold_start"):
                    cold[name].append(elapsed)
                    if record.get("init_ms") is not None:
                        init[name].append(record["init_ms"])
        cold_summary = {name: {**summary(values), "init_ms_p50": round(percentile(init[name], 0.5), 3) if init[name] else None}
                        for name, values in cold.items() if values}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_before": load_before, "loadavg_after": loadavg(), "binary": args.bin},
        "warm": warm_summary, "cold": cold_summary,
        "target": "native warm p50 ≤ 1 ms above the in-process no-op",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "runtimes.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Out-of-process functions: warm overhead and cold starts",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average before {load_before}, after {result['machine']['loadavg_after']}; "
        f"binary `{args.bin}` ({'a DEBUG build: not the figure for the target' if '/debug/' in args.bin else 'release build'}).",
        "Sequential HTTP invocations with keep-alive (`POST /v1/functions/NAME/invoke`, body `{}`).",
        "",
        "| warm | n | p50 ms | p90 ms | p99 ms | added p50 vs no-op |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in warm_summary.items():
        lines.append(f"| {name} | {row['n']} | {row['p50_ms']} | {row['p90_ms']} | {row['p99_ms']} | {row.get('added_p50_ms', '—')} |")
    lines += ["", "| cold start | n | p50 ms (client) | p90 ms | init_ms p50 (process start → first /next) |", "|---|---|---|---|---|"]
    for name, row in cold_summary.items():
        lines.append(f"| {name} | {row['n']} | {row['p50_ms']} | {row['p90_ms']} | {row['init_ms_p50']} |")
    (out / "runtimes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
