#!/usr/bin/env python3
"""Platform benchmarks (`make bench`), each beside its reference in one run.

1. Sync invocation of a trivial function through the gateway vs a bare Hummingbird route in the same process (wrk).
2. Queue send+receive+ack throughput on the embedded SQLite queue at batch 1 and 10 vs RabbitMQ from Debian on the
   same machine (persistent messages, publisher confirms, manual acks).
3. Object PUT and GET of 1 MiB objects through the gateway (wrk), MB/s.

Writes bench/results/platform.json and bench/results/platform.md. Never part of `make test`.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-admin-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def wrk(url, scenario, seconds, connections, env, threads=2):
    """Runs wrk with a scenario script plus the shared JSON reporter; returns the parsed summary."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text((HERE / "wrk" / scenario).read_text() + "\n" + (HERE / "wrk" / "report.lua").read_text())
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                             capture_output=True, text=True, env={**os.environ, **env}, timeout=seconds + 60, check=True).stdout
    finally:
        script.unlink()
    line = next(l for l in out.splitlines() if l.startswith("WRKJSON "))
    return json.loads(line[len("WRKJSON "):])


def progress(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def gateway_and_objects(binary, seconds):
    work = Path(tempfile.mkdtemp(prefix="aerie-bench-"))
    port, bare_port = free_port(), free_port()
    log = open(work / "server.log", "wb")
    server = subprocess.Popen([binary, "serve", "--data", str(work / "data"), "--port", str(port), "--rate-limit", "0",
                               "--bench-port", str(bare_port), "--log-level", "error", "--max-body-mib", "8"],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "AERIE_ADMIN_PASSWORD": PASSWORD})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health")
        wait_http(f"http://127.0.0.1:{bare_port}/noop")
        token = requests.post(base + "/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        env = {"AERIE_TOKEN": token}
        results = {}
        progress("warming up")
        wrk(f"{base}/v1/functions/bench-noop/invoke", "post-json.lua", 2, 16, env)
        wrk(f"http://127.0.0.1:{bare_port}/noop", "post-json.lua", 2, 16, env)
        progress("sync invocation through the gateway")
        results["invoke_gateway"] = wrk(f"{base}/v1/functions/bench-noop/invoke", "post-json.lua", seconds, 16, env)
        progress("bare Hummingbird route")
        results["bare_route"] = wrk(f"http://127.0.0.1:{bare_port}/noop", "post-json.lua", seconds, 16, env)
        requests.put(base + "/v1/buckets/bench", headers={"Authorization": f"Bearer {token}"}).raise_for_status()
        progress("object PUT 1 MiB")
        results["object_put_1mib"] = wrk(f"{base}/v1/buckets/bench/objects", "put-object.lua", seconds, 4, env)
        requests.put(base + "/v1/buckets/bench/objects/get-1mib", data=b"b" * (1 << 20),
                     headers={"Authorization": f"Bearer {token}"}).raise_for_status()
        progress("object GET 1 MiB")
        results["object_get_1mib"] = wrk(f"{base}/v1/buckets/bench/objects/get-1mib", "get-auth.lua", seconds, 4, env)
        for name in ("object_put_1mib", "object_get_1mib"):
            results[name]["mb_per_s"] = results[name]["rps"] * 1.048576
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def aerie_queue(binary, messages, batch):
    work = Path(tempfile.mkdtemp(prefix="aerie-queue-"))
    try:
        out = subprocess.run([binary, "bench", "queue", "--data", str(work), "--messages", str(messages), "--batch", str(batch)],
                             capture_output=True, text=True, check=True, timeout=600).stdout
        return json.loads(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class RabbitMQ:
    """A throwaway RabbitMQ node on loopback with its own port, name and data folder."""

    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix="aerie-rabbit-"))
        shutil.chown(self.work, "rabbitmq", "rabbitmq") if os.geteuid() == 0 else None
        self.port = free_port()
        self.env = {**os.environ,
                    "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                    "RABBITMQ_DIST_PORT": str(free_port()), "RABBITMQ_NODENAME": f"aeriebench{self.port}@localhost",
                    "RABBITMQ_MNESIA_BASE": str(self.work / "mnesia"), "RABBITMQ_LOG_BASE": str(self.work / "log"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.work / "enabled_plugins"), "RABBITMQ_PID_FILE": str(self.work / "pid"),
                    "HOME": str(self.work)}

    def __enter__(self):
        (self.work / "enabled_plugins").write_text("[].\n")
        if os.geteuid() == 0:
            for path in (self.work, self.work / "enabled_plugins"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.process = subprocess.Popen(["rabbitmq-server"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("RabbitMQ did not start in 120 s")

    def __exit__(self, *exc):
        subprocess.run(["rabbitmqctl", "-n", self.env["RABBITMQ_NODENAME"], "stop"], env=self.env, capture_output=True, timeout=60)
        self.process.wait(timeout=60)
        shutil.rmtree(self.work, ignore_errors=True)


def rabbitmq_queue(port, messages, batch):
    """Persistent messages with publisher confirms per batch, then basic_get + manual ack (multiple) per batch."""
    import pika
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    channel = connection.channel()
    name = f"bench-{batch}-{time.time_ns()}"
    channel.queue_declare(queue=name, durable=True)
    channel.confirm_delivery()
    body = json.dumps({"n": 0, "payload": "x" * 64}).encode()
    properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
    channel.basic_qos(prefetch_count=batch)
    start = time.perf_counter()
    sent = received = 0
    while received < messages:
        # A confirmed channel waits for the broker's confirm of each publish; batch the sends like the Swift side.
        for _ in range(min(batch, messages - sent)):
            channel.basic_publish("", name, body, properties, mandatory=False)
            sent += 1
        last = None
        got = 0
        while got < batch and received < messages:
            method, _, _ = channel.basic_get(name, auto_ack=False)
            if method is None:
                break
            last = method.delivery_tag
            got += 1
            received += 1
        if last is not None:
            channel.basic_ack(last, multiple=True)
    elapsed = time.perf_counter() - start
    channel.queue_delete(name)
    connection.close()
    return {"messages": messages, "batch": batch, "seconds": elapsed, "messages_per_s": messages / elapsed}


def markdown(results):
    g, b = results["gateway"]["invoke_gateway"], results["gateway"]["bare_route"]
    lines = ["| benchmark | Aerie | reference | ratio (Aerie / reference) |", "|---|---|---|---|"]
    lines.append(f"| sync invoke vs bare route, rps | {g['rps']:.0f} | {b['rps']:.0f} | {g['rps'] / b['rps']:.2f} |")
    lines.append(f"| sync invoke vs bare route, p50 ms | {g['p50_ms']:.2f} | {b['p50_ms']:.2f} | {g['p50_ms'] / b['p50_ms']:.2f} |")
    lines.append(f"| sync invoke vs bare route, p99 ms | {g['p99_ms']:.2f} | {b['p99_ms']:.2f} | {g['p99_ms'] / b['p99_ms']:.2f} |")
    for batch in (1, 10):
        a, r = results["queue"][f"aerie_batch_{batch}"], results["queue"].get(f"rabbitmq_batch_{batch}")
        ref = f"{r['messages_per_s']:.0f}" if r else "n/a"
        ratio = f"{a['messages_per_s'] / r['messages_per_s']:.2f}" if r else "n/a"
        lines.append(f"| queue send+receive+ack, batch {batch}, msg/s (SQLite vs RabbitMQ) | {a['messages_per_s']:.0f} | {ref} | {ratio} |")
    for name, label in (("object_put_1mib", "object PUT 1 MiB, MB/s"), ("object_get_1mib", "object GET 1 MiB, MB/s")):
        lines.append(f"| {label} | {results['gateway'][name]['mb_per_s']:.0f} | | |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/aerie")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["gateway"] = gateway_and_objects(args.bin, args.seconds)
    results["queue"] = {}
    for batch in (1, 10):
        progress(f"Aerie SQLite queue, batch {batch}")
        results["queue"][f"aerie_batch_{batch}"] = aerie_queue(args.bin, args.messages if batch == 10 else args.messages // 4, batch)
    try:
        with RabbitMQ() as rabbit:
            for batch in (1, 10):
                progress(f"RabbitMQ, batch {batch}")
                results["queue"][f"rabbitmq_batch_{batch}"] = rabbitmq_queue(rabbit.port, args.messages if batch == 10 else args.messages // 4, batch)
    except Exception as error:  # the table says n/a, the JSON says why
        results["queue"]["rabbitmq_error"] = str(error)
        progress(f"RabbitMQ failed: {error}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "platform.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (out / "platform.md").write_text("# Platform benchmark\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
