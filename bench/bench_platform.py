#!/usr/bin/env python3
"""Platform benchmarks (`make bench`), each beside its reference in one run.

1. The hot path, every figure the median of 3 runs of `wrk -t1 -c32 -d8s` with the rate limit off: a bare Hummingbird
   server in its own process (`aerie bench http`), the bare route POST /noop inside the Aerie server (--bench-port),
   an authenticated sync invoke of the no-op function bench-noop, and an authenticated GET of a 1 KiB object.
2. Triggers: the Quickstart word counter, PUT incoming/<name>.txt done at the client → results/<name>.json readable
   at the client, over 15 sequential uploads; and PUT → function start from the invocation records; with triggers
   woken by the write (now) and polled only (before, `--poll-triggers-only`).
3. The queue, durable (`--durability strict`: every commit synced to disk): 32 concurrent senders at batch 1, then 32
   concurrent consumers receiving and acking one message at a time; beside RabbitMQ from Debian on the same machine,
   used as its users run it: persistent messages, 32 publishers each waiting for its publisher confirm, 32
   consumers with basic_consume, a prefetch window and manual acks.
4. Object PUT and GET of 1 MiB objects through the gateway (wrk -c4), MB/s.

Writes bench/results/platform.json and bench/results/platform.md, with the load average before and after.
Never part of `make test`.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import statistics
import tempfile
import threading
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


def wrk(url, scenario, seconds, connections, env, threads=1):
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


def wrk_median(url, scenario, env, runs=3, seconds=8, connections=32):
    """The settled load shape: wrk -t1 -c32 -d8s, three runs; the run with the median requests/s, and all runs."""
    results = [wrk(url, scenario, seconds, connections, env) for _ in range(runs)]
    median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
    return {**median, "runs": results}


def progress(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load_average():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class AerieServer:
    """`aerie serve` on its own data folder, with the bench route and function, the rate limit off."""

    def __init__(self, binary, *extra):
        self.work = Path(tempfile.mkdtemp(prefix="aerie-bench-"))
        self.port, self.bare_port = free_port(), free_port()
        self.log = open(self.work / "server.log", "wb")
        self.process = subprocess.Popen(
            [binary, "serve", "--data", str(self.work / "data"), "--port", str(self.port), "--rate-limit", "0",
             "--bench-port", str(self.bare_port), "--log-level", "error", "--max-body-mib", "8", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "AERIE_ADMIN_PASSWORD": PASSWORD})
        self.base = f"http://127.0.0.1:{self.port}"
        wait_http(self.base + "/health")
        wait_http(f"http://127.0.0.1:{self.bare_port}/noop")
        self.token = requests.post(self.base + "/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


def hot_path(binary):
    results = {}
    bare_port = free_port()
    bare = subprocess.Popen([binary, "bench", "http", "--port", str(bare_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{bare_port}/noop")
        progress("bare Hummingbird server in its own process")
        wrk(f"http://127.0.0.1:{bare_port}/noop", "post-json.lua", 2, 32, {})
        results["bare_process"] = wrk_median(f"http://127.0.0.1:{bare_port}/noop", "post-json.lua", {})
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    server = AerieServer(binary)
    try:
        env = {"AERIE_TOKEN": server.token}
        bare_url = f"http://127.0.0.1:{server.bare_port}/noop"
        invoke_url = f"{server.base}/v1/functions/bench-noop/invoke"
        requests.put(server.base + "/v1/buckets/bench", headers=server.auth).raise_for_status()
        requests.put(server.base + "/v1/buckets/bench/objects/get-1kib", data=b"k" * 1024, headers=server.auth).raise_for_status()
        object_url = f"{server.base}/v1/buckets/bench/objects/get-1kib"
        progress("warming up")
        for url, scenario in ((bare_url, "post-json.lua"), (invoke_url, "post-json.lua"), (object_url, "get-auth.lua")):
            wrk(url, scenario, 2, 32, env)
        progress("bare route in the Aerie server")
        results["bare_route"] = wrk_median(bare_url, "post-json.lua", env)
        progress("authenticated sync invoke of bench-noop")
        results["invoke"] = wrk_median(invoke_url, "post-json.lua", env)
        progress("authenticated GET of a 1 KiB object")
        results["object_get_1kib"] = wrk_median(object_url, "get-auth.lua", env)
        progress("object PUT 1 MiB")
        results["object_put_1mib"] = wrk(f"{server.base}/v1/buckets/bench/objects", "put-object.lua", 8, 4, env)
        requests.put(server.base + "/v1/buckets/bench/objects/get-1mib", data=b"b" * (1 << 20), headers=server.auth).raise_for_status()
        progress("object GET 1 MiB")
        results["object_get_1mib"] = wrk(f"{server.base}/v1/buckets/bench/objects/get-1mib", "get-auth.lua", 8, 4, env)
        for name in ("object_put_1mib", "object_get_1mib"):
            results[name]["mb_per_s"] = results[name]["rps"] * 1.048576
        return results
    finally:
        server.close()


def parse_time(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def triggers(binary, uploads=15, *extra):
    """15 sequential Quickstart uploads: client PUT done → result readable, and PUT done → function start."""
    server = AerieServer(binary, *extra)
    try:
        session = requests.Session()
        session.headers.update(server.auth)
        wait_http(server.base + "/health")
        to_result, to_start = [], []
        for index in range(uploads + 2):  # the first two warm the function up and are not counted
            name = f"bench-{index}-{time.time_ns()}"
            text = ("the quick brown fox jumps over the lazy dog " * 20).encode()
            response = session.put(f"{server.base}/v1/buckets/quickstart/objects/incoming/{name}.txt", data=text,
                                   headers={"Content-Type": "text/plain"})
            put_done = time.time()
            response.raise_for_status()
            started = time.perf_counter()
            deadline = started + 30
            while time.perf_counter() < deadline:
                if session.get(f"{server.base}/v1/buckets/quickstart/objects/results/{name}.json").status_code == 200:
                    break
                time.sleep(0.001)
            else:
                raise RuntimeError(f"no result for {name} in 30 s")
            elapsed_ms = (time.perf_counter() - started) * 1000
            records = session.get(f"{server.base}/v1/invocations", params={"function": "wordcount", "limit": 5}).json()["items"]
            record = next((r for r in records if name in json.dumps(r.get("trigger", {}))), None)
            if index >= 2:
                to_result.append(elapsed_ms)
                if record and record.get("started_at"):
                    to_start.append((parse_time(record["started_at"]) - put_done) * 1000)
        def summary(values):
            values = sorted(values)
            if not values:
                return {"n": 0}
            return {"n": len(values), "p50_ms": statistics.median(values), "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                    "max_ms": values[-1]}
        return {"put_to_result": summary(to_result), "put_to_start": summary(to_start)}
    finally:
        server.close()


def aerie_queue(binary, messages, batch, concurrency):
    work = Path(tempfile.mkdtemp(prefix="aerie-queue-"))
    try:
        out = subprocess.run([binary, "bench", "queue", "--data", str(work), "--messages", str(messages), "--batch", str(batch),
                              "--concurrency", str(concurrency), "--durability", "strict"],
                             capture_output=True, text=True, check=True, timeout=900).stdout
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


def rabbitmq_queue(port, messages, concurrency, prefetch=32):
    """Persistent messages published by `concurrency` publishers, each waiting for the broker's confirm of every
    publish (a confirmed channel per publisher); then `concurrency` consumers with basic_consume, a prefetch window
    and one manual ack per message, until every message is consumed."""
    import pika
    name = f"bench-{time.time_ns()}"
    setup = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    setup.channel().queue_declare(queue=name, durable=True)
    body = json.dumps({"n": 0, "payload": "x" * 64}).encode()
    properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
    share = [messages // concurrency + (1 if i < messages % concurrency else 0) for i in range(concurrency)]
    errors = []

    def publisher(count):
        try:
            connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
            channel = connection.channel()
            channel.confirm_delivery()
            for _ in range(count):
                channel.basic_publish("", name, body, properties, mandatory=False)
            connection.close()
        except Exception as error:  # reported in the JSON
            errors.append(repr(error))

    start = time.perf_counter()
    threads = [threading.Thread(target=publisher, args=(count,)) for count in share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    publish_seconds = time.perf_counter() - start

    consumed = [0]
    lock = threading.Lock()
    done = threading.Event()

    def consumer():
        try:
            connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
            channel = connection.channel()
            channel.basic_qos(prefetch_count=prefetch)

            def on_message(ch, method, _properties, _body):
                ch.basic_ack(method.delivery_tag)
                with lock:
                    consumed[0] += 1
                    if consumed[0] >= messages:
                        done.set()

            channel.basic_consume(name, on_message, auto_ack=False)
            while not done.is_set():
                connection.process_data_events(time_limit=0.05)
            connection.close()
        except Exception as error:
            errors.append(repr(error))
            done.set()

    start = time.perf_counter()
    threads = [threading.Thread(target=consumer) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    done.wait(timeout=900)
    consume_seconds = time.perf_counter() - start
    for thread in threads:
        thread.join(timeout=30)
    setup.channel().queue_delete(name)
    setup.close()
    return {"messages": messages, "concurrency": concurrency, "prefetch": prefetch, "errors": errors,
            "send_seconds": publish_seconds, "send_per_s": messages / publish_seconds,
            "receive_ack_seconds": consume_seconds, "receive_ack_per_s": consumed[0] / consume_seconds}


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"


def markdown(results):
    h = results["hot_path"]
    lines = [f"Load average before {results['load_before']}, after {results['load_after']}; "
             f"{results['machine']['cpus']} CPUs. Hot-path rows: median of 3 runs of wrk -t1 -c32 -d8s.", "",
             "| benchmark | Aerie | reference | ratio (Aerie / reference) |", "|---|---|---|---|"]
    lines.append(f"| in-server bare route vs bare Hummingbird process, rps | {h['bare_route']['rps']:.0f} | {h['bare_process']['rps']:.0f} | {ratio(h['bare_route']['rps'], h['bare_process']['rps'])} |")
    for key, label in (("invoke", "authenticated sync invoke of bench-noop"), ("object_get_1kib", "authenticated GET of a 1 KiB object")):
        lines.append(f"| {label} vs bare route, rps | {h[key]['rps']:.0f} | {h['bare_route']['rps']:.0f} | {ratio(h[key]['rps'], h['bare_route']['rps'])} |")
        lines.append(f"| {label}, p50 / p99 ms | {h[key]['p50_ms']:.2f} / {h[key]['p99_ms']:.2f} | {h['bare_route']['p50_ms']:.2f} / {h['bare_route']['p99_ms']:.2f} | |")
    t = results["triggers"]
    for key, label in (("put_to_result", "upload → word-count result readable (client), p50 / p99 ms"),
                       ("put_to_start", "upload → function start (records), p50 / p99 ms")):
        now, before = t["woken"][key], t["polled"][key]
        if now.get("n") and before.get("n"):
            lines.append(f"| {label}, woken vs polled | {now['p50_ms']:.1f} / {now['p99_ms']:.1f} | {before['p50_ms']:.1f} / {before['p99_ms']:.1f} | {ratio(now['p50_ms'], before['p50_ms'])} |")
    q = results["queue"]
    a, r = q["aerie"], q.get("rabbitmq")
    lines.append(f"| queue send, 32 senders, batch 1, durable, msg/s (SQLite vs RabbitMQ confirms) | {a['send_per_s']:.0f} | {r['send_per_s']:.0f} | {ratio(a['send_per_s'], r['send_per_s'])} |" if r else
                 f"| queue send, 32 senders, batch 1, durable, msg/s | {a['send_per_s']:.0f} | n/a | n/a |")
    lines.append(f"| queue receive+ack, 32 consumers, one at a time, msg/s (SQLite vs RabbitMQ basic_consume) | {a['receive_ack_per_s']:.0f} | {r['receive_ack_per_s']:.0f} | {ratio(a['receive_ack_per_s'], r['receive_ack_per_s'])} |" if r else
                 f"| queue receive+ack, 32 consumers, msg/s | {a['receive_ack_per_s']:.0f} | n/a | n/a |")
    for name, label in (("object_put_1mib", "object PUT 1 MiB, MB/s"), ("object_get_1mib", "object GET 1 MiB, MB/s")):
        lines.append(f"| {label} | {h[name]['mb_per_s']:.0f} | | |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/aerie")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--only", choices=["hot_path", "triggers", "queue"], help="run one section (for a quick look; results not written)")
    args = parser.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_before": load_average()}
    if args.only in (None, "hot_path"):
        results["hot_path"] = hot_path(args.bin)
    if args.only in (None, "triggers"):
        progress("triggers: woken by the write")
        woken = triggers(args.bin)
        progress("triggers: polled only (before)")
        results["triggers"] = {"woken": woken, "polled": triggers(args.bin, 15, "--poll-triggers-only")}
    if args.only in (None, "queue"):
        progress("Aerie SQLite queue: 32 senders, then 32 consumers, batch 1, durable")
        results["queue"] = {"aerie": aerie_queue(args.bin, args.messages, 1, 32)}
        try:
            with RabbitMQ() as rabbit:
                progress("RabbitMQ: 32 confirmed publishers, then 32 basic_consume consumers")
                results["queue"]["rabbitmq"] = rabbitmq_queue(rabbit.port, args.messages, 32)
        except Exception as error:  # the table says n/a, the JSON says why
            results["queue"]["rabbitmq_error"] = str(error)
            progress(f"RabbitMQ failed: {error}")
    results["load_after"] = load_average()
    if args.only:
        print(json.dumps(results, indent=2))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "platform.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (out / "platform.md").write_text("# Platform benchmark\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
