"""Process roles (`aerie serve --role gateway|worker`): two processes on one data directory, the gateway taking the
requests and the worker doing the queued work (async invocations, object triggers)."""
import subprocess
import time

import requests

from conftest import Server, aerie_binary, invocation_events, wait_for

TEXT = b"roles split the work: the gateway takes it, the worker does it."


def test_gateway_queues_and_the_worker_runs(workdir):
    data_dir = workdir / "roles" / "data"
    data_dir.parent.mkdir(parents=True)
    gateway = Server(data_dir, extra_args=["--role", "gateway", "--apps", "quickstart", "--rate-limit", "0"]).start()
    try:
        headers = {"Authorization": f"Bearer {gateway.login()}"}
        # A gateway alone runs a sync invocation itself...
        sync = requests.post(f"{gateway.url}/v1/functions/wordcount/invoke", json={"text": "a b a"}, headers=headers, timeout=30)
        assert sync.status_code == 200 and sync.json()["total"] == 3, sync.text
        # ...but leaves queued work to workers: an upload's trigger and an async invocation wait.
        put = requests.put(f"{gateway.url}/v1/buckets/quickstart/objects/incoming/roles.txt", data=TEXT,
                           headers={**headers, "Content-Type": "text/plain"}, timeout=30)
        assert put.status_code == 201, put.text
        started = requests.post(f"{gateway.url}/v1/functions/wordcount/invocations", json={"text": "x y"}, headers=headers, timeout=30)
        assert started.status_code == 202, started.text
        invocation = started.json()["id"]
        time.sleep(2)  # ten poll intervals: a worker would have taken both by now
        result_url = f"{gateway.url}/v1/buckets/quickstart/objects/results/roles.json"
        assert requests.get(result_url, headers=headers, timeout=10).status_code == 404
        record_url = f"{gateway.url}/v1/invocations/{invocation}"
        assert requests.get(record_url, headers=headers, timeout=10).json()["status"] == "queued"

        # A worker on the same data directory takes both; it serves only /health and /metrics.
        worker = Server(data_dir, extra_args=["--role", "worker", "--apps", "quickstart"])
        worker.log_path = data_dir.parent / "worker-server.log"
        worker.start()
        try:
            assert requests.get(worker.url + "/health", timeout=5).json() == {"status": "ok", "role": "worker"}
            assert requests.get(worker.url + "/v1/buckets", headers=headers, timeout=5).status_code == 404
            result = wait_for(lambda: (lambda r: r.json() if r.status_code == 200 else None)(
                requests.get(result_url, headers=headers, timeout=10)), timeout=30, what="the worker's word count")
            assert result["source"] == "incoming/roles.txt" and result["total"] == 12
            record = wait_for(lambda: (lambda r: r if r["status"] in ("succeeded", "failed") else None)(
                requests.get(record_url, headers=headers, timeout=10).json()), timeout=30, what="the async invocation")
            assert record["status"] == "succeeded", record
            assert "aerie_invocations_total" in requests.get(worker.url + "/metrics", timeout=5).text

            # Following, through the gateway, an invocation the worker runs: its stored events, then its result.
            followed = requests.post(f"{gateway.url}/v1/functions/wordcount/invocations", json={"key": "incoming/roles.txt"},
                                     headers=headers, timeout=30).json()["id"]
            events = invocation_events(f"{gateway.url}/v1/invocations/{followed}/events", headers=headers)
            assert events[-1][0] == "result" and events[-1][1]["total"] == 12, events
        finally:
            worker.stop()
    finally:
        gateway.stop()


def test_an_unknown_role_is_a_usage_error():
    completed = subprocess.run([aerie_binary(), "serve", "--role", "janitor"], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 64, completed
    assert "--role" in completed.stderr and "gateway" in completed.stderr
    worker_s3 = subprocess.run([aerie_binary(), "serve", "--role", "worker", "--s3-port", "9000"], capture_output=True, text=True, timeout=30)
    assert worker_s3.returncode == 64 and "--s3-port needs the gateway role" in worker_s3.stderr, worker_s3
