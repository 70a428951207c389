#!/usr/bin/env python3
"""Scale-out benchmarks (`make bench-scale`), each beside its reference in one run.

1. The queue on PostgreSQL (`aerie bench queue --database …`: 32 senders at batch 1, then 32 consumers receiving and
   acking one message at a time; every commit durable, PostgreSQL with its default fsync) beside RabbitMQ from Debian
   as its users run it (persistent messages, publisher confirms, basic_consume with manual acks), 32 and 32.
2. Object bodies through Aerie's S3 driver (`aerie bench bodies`: 1 MiB bodies written, read back whole, 8 at once)
   beside boto3 doing the same PutObject / GetObject calls with 8 threads, on the same SeaweedFS, after a warm-up
   round (SeaweedFS allocates its volumes on the first writes, which would otherwise burden whoever runs first).
3. Gateway requests per second (authenticated GET of a 1 KiB object, wrk -t1 -c32 -d8s, median of 3) with 1, 2 and
   3 nodes on PostgreSQL and SeaweedFS behind nginx, and one node without nginx. On this machine every node, nginx,
   PostgreSQL and wrk share the same CPUs, so this bounds what nginx and the shared engines cost, not how far more
   machines scale.

Writes bench/results/scale.json and bench/results/scale.md, with the load average before and after.
"""
import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))
import bench_platform  # noqa: E402
import cluster  # noqa: E402

PASSWORD = "bench-scale-admin-password"
progress = bench_platform.progress


def scratch_folder(prefix):
    """A folder the `postgres` account can enter (PostgreSQL runs as it under root)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def queue(binary, messages):
    folder = scratch_folder("aerie-bench-pg-")
    postgres = cluster.Postgres(folder / "postgres")
    try:
        url = postgres.database("bench")
        progress("Aerie queue on PostgreSQL: 32 senders, then 32 consumers, batch 1")
        out = subprocess.run([binary, "bench", "queue", "--data", str(folder / "data"), "--database", url, "--messages", str(messages),
                              "--batch", "1", "--concurrency", "32"], capture_output=True, text=True, check=True, timeout=1800).stdout
        results = {"aerie_postgres": json.loads(out.strip().splitlines()[-1])}
    finally:
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    try:
        with bench_platform.RabbitMQ() as rabbit:
            progress("RabbitMQ: 32 confirmed publishers, then 32 basic_consume consumers")
            results["rabbitmq"] = bench_platform.rabbitmq_queue(rabbit.port, messages, 32)
    except Exception as error:  # the table says n/a, the JSON says why
        results["rabbitmq_error"] = str(error)
        progress(f"RabbitMQ failed: {error}")
    return results


def bodies(binary, size, count, concurrency):
    folder = scratch_folder("aerie-bench-weed-")
    weed = cluster.SeaweedFS(folder / "seaweedfs", bucket="bench")
    try:
        env = {**os.environ, **weed.environment("aerie")}
        # SeaweedFS grows its volumes on the first writes; whoever wrote first would pay for it. Warm it up first.
        progress("warming SeaweedFS up (boto3 writes and deletes the same number of bodies)")
        boto3_bodies(weed, size, count, concurrency)
        progress(f"Aerie's S3 driver: {count} bodies of {size} bytes, {concurrency} at once")
        out = subprocess.run([binary, "bench", "bodies", "--object-store", "s3://bench/aerie", "--size", str(size), "--count", str(count),
                              "--concurrency", str(concurrency)], capture_output=True, text=True, check=True, timeout=1800, env=env).stdout
        results = {"aerie": json.loads(out.strip().splitlines()[-1])}
        progress(f"boto3: the same PutObject / GetObject calls, {concurrency} threads")
        results["boto3"] = boto3_bodies(weed, size, count, concurrency)
        return results
    finally:
        weed.stop()
        shutil.rmtree(folder, ignore_errors=True)


def boto3_bodies(weed, size, count, concurrency):
    import boto3
    from botocore.config import Config
    client = boto3.client("s3", endpoint_url=weed.endpoint, aws_access_key_id=weed.key, aws_secret_access_key=weed.secret,
                          region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, max_pool_connections=concurrency * 2))
    body = bytes((i * 7) & 0xFF for i in range(size))
    keys = [f"boto3/{n}" for n in range(count)]
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        start = time.perf_counter()
        list(pool.map(lambda key: client.put_object(Bucket=weed.bucket, Key=key, Body=body), keys))
        put_seconds = time.perf_counter() - start
        start = time.perf_counter()
        sizes = list(pool.map(lambda key: len(client.get_object(Bucket=weed.bucket, Key=key)["Body"].read()), keys))
        get_seconds = time.perf_counter() - start
        list(pool.map(lambda key: client.delete_object(Bucket=weed.bucket, Key=key), keys))
    assert sizes == [size] * count, "boto3 read back short bodies"
    megabytes = size * count / 1e6
    return {"size": size, "count": count, "concurrency": concurrency, "put_seconds": put_seconds, "put_mb_per_s": megabytes / put_seconds,
            "put_per_s": count / put_seconds, "get_seconds": get_seconds, "get_mb_per_s": megabytes / get_seconds, "get_per_s": count / get_seconds}


def gateway(binary, counts=(1, 2, 3)):
    results = {}
    for count in counts:
        folder = scratch_folder(f"aerie-bench-cluster{count}-")
        deployment = cluster.Cluster(binary, folder, count=count, admin_password=PASSWORD, apps="none")
        try:
            token = requests.post(deployment.url + "/v1/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=10).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            requests.put(deployment.url + "/v1/buckets/bench", headers=auth, timeout=10)
            requests.put(deployment.url + "/v1/buckets/bench/objects/get-1kib", data=b"k" * 1024, headers=auth, timeout=10).raise_for_status()
            env = {"AERIE_TOKEN": token}
            target = deployment.url + "/v1/buckets/bench/objects/get-1kib"
            bench_platform.wrk(target, "get-auth.lua", 2, 32, env)  # warm every node's caches
            progress(f"{count} node(s) behind nginx: authenticated GET of a 1 KiB object")
            results[f"nginx_{count}"] = bench_platform.wrk_median(target, "get-auth.lua", env)
            if count == 1:
                direct = deployment.nodes[0].url + "/v1/buckets/bench/objects/get-1kib"
                progress("1 node without nginx")
                results["direct_1"] = bench_platform.wrk_median(direct, "get-auth.lua", env)
        finally:
            deployment.stop()
            shutil.rmtree(folder, ignore_errors=True)
    return results


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"


def markdown(results):
    lines = [f"Load average before {results['load_before']}, after {results['load_after']}; {results['machine']['cpus']} CPUs "
             "(every process of a row shares them).", "",
             "| benchmark | Aerie | reference | ratio (Aerie / reference) |", "|---|---|---|---|"]
    q = results.get("queue")
    if q:
        a, r = q["aerie_postgres"], q.get("rabbitmq")
        for key, label in (("send_per_s", "queue send, 32 senders, batch 1, durable, msg/s (PostgreSQL vs RabbitMQ confirms)"),
                           ("receive_ack_per_s", "queue receive+ack, 32 consumers, one at a time, msg/s (PostgreSQL vs RabbitMQ basic_consume)")):
            lines.append(f"| {label} | {a[key]:.0f} | {r[key]:.0f} | {ratio(a[key], r[key])} |" if r else f"| {label} | {a[key]:.0f} | n/a | n/a |")
    b = results.get("bodies")
    if b:
        a, r = b["aerie"], b["boto3"]
        for key, label in (("put_mb_per_s", "1 MiB bodies PUT, 8 at once, MB/s (Aerie's S3 driver vs boto3, same SeaweedFS)"),
                           ("get_mb_per_s", "1 MiB bodies GET, 8 at once, MB/s (Aerie's S3 driver vs boto3, same SeaweedFS)")):
            lines.append(f"| {label} | {a[key]:.0f} | {r[key]:.0f} | {ratio(a[key], r[key])} |")
    g = results.get("gateway")
    if g:
        one = g["nginx_1"]["rps"]
        lines.append(f"| authenticated 1 KiB GET, 1 node behind nginx vs without, rps | {one:.0f} | {g['direct_1']['rps']:.0f} | {ratio(one, g['direct_1']['rps'])} |")
        for count in (2, 3):
            if f"nginx_{count}" in g:
                rps = g[f"nginx_{count}"]["rps"]
                lines.append(f"| authenticated 1 KiB GET, {count} nodes vs 1 node behind nginx, rps | {rps:.0f} | {one:.0f} | {ratio(rps, one)} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/aerie")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--bodies", type=int, default=200)
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--only", choices=["queue", "bodies", "gateway"], help="run one section (results printed, not written)")
    args = parser.parse_args()
    binary = str(Path(args.bin).resolve())
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_before": bench_platform.load_average()}
    if args.only in (None, "queue"):
        results["queue"] = queue(binary, args.messages)
    if args.only in (None, "bodies"):
        results["bodies"] = bodies(binary, 1 << 20, args.bodies, 8)
    if args.only in (None, "gateway"):
        results["gateway"] = gateway(binary)
    results["load_after"] = bench_platform.load_average()
    table = markdown(results)
    if args.only:
        print(json.dumps(results, indent=2))
        print(table)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "scale.md").write_text("# Scale-out benchmark\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
