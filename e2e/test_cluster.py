"""Three nodes behind nginx on one PostgreSQL and one SeaweedFS (scripts/cluster.py, what `make run-cluster` starts):
tokens work across nodes; 200 uploads through nginx with one node killed half-way each leave their result exactly
once; a rolling restart of every node passes without a failed request through nginx."""
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import ADMIN_PASSWORD, aerie_binary, wait_for
from postgres_support import cluster

UPLOADS = 200


@pytest.fixture(scope="module")
def deployment():
    # A folder the `postgres` account can reach (PostgreSQL runs as it under root); pytest's own is private to root.
    directory = Path(tempfile.mkdtemp(prefix="aerie-cluster-"))
    directory.chmod(0o755)
    try:
        started = cluster.Cluster(aerie_binary(), directory, count=3, admin_password=ADMIN_PASSWORD)
    except cluster.Unavailable as error:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(str(error))
    yield started
    started.stop()
    shutil.rmtree(directory, ignore_errors=True)


def login(url):
    response = requests.post(url + "/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_token_from_any_node_works_on_every_node(deployment):
    bearer = login(deployment.url)
    for node in deployment.nodes:
        assert requests.get(node.url + "/v1/auth/me", headers=bearer, timeout=10).status_code == 200, node.url
    listed = requests.get(deployment.url + "/v1/nodes", headers=bearer, timeout=10).json()["items"]
    assert sorted(n["address"] for n in listed if n["alive"]) == sorted(node.url for node in deployment.nodes)


def test_uploads_through_nginx_survive_a_node_killed_half_way(deployment):
    bearer = login(deployment.url)
    victim = deployment.nodes[1]
    failures = []
    for n in range(UPLOADS):
        if n == UPLOADS // 2:
            victim.kill()  # kill -9: its leases expire and the other nodes finish its work
        response = requests.put(f"{deployment.url}/v1/buckets/quickstart/objects/incoming/cluster-{n}.txt", data=("w " * (n % 17 + 1)).encode(),
                                headers={**bearer, "Content-Type": "text/plain"}, timeout=60)
        if response.status_code != 201:
            failures.append((n, response.status_code, response.text[:200]))
    assert failures == [], "nginx sends a request a dead node cannot take to the next node"
    victim.launch().wait_ready()

    def results():
        listing, cursor = [], None
        while True:
            page = requests.get(f"{deployment.url}/v1/buckets/quickstart/objects", params={"prefix": "results/cluster-", **({"cursor": cursor} if cursor else {})},
                                headers=bearer, timeout=30).json()
            listing += [item["key"] for item in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                return listing
    keys = wait_for(lambda: (lambda keys: keys if len(keys) >= UPLOADS else None)(results()), timeout=180, what="every upload's word count")
    assert sorted(keys) == sorted(f"results/cluster-{n}.json" for n in range(UPLOADS))
    for n in (0, UPLOADS // 2 - 1, UPLOADS // 2, UPLOADS - 1):
        result = requests.get(f"{deployment.url}/v1/buckets/quickstart/objects/results/cluster-{n}.json", headers=bearer, timeout=10).json()
        assert result["total"] == n % 17 + 1, result

    def records():
        found, cursor = [], None
        while True:
            page = requests.get(f"{deployment.url}/v1/invocations", params={"function": "wordcount", "limit": 1000, **({"cursor": cursor} if cursor else {})},
                                headers=bearer, timeout=30).json()
            found += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return found
    finished = wait_for(lambda: (lambda items: items if all(r["status"] == "succeeded" for r in items) else None)(records()),
                        timeout=120, what="every word count's record to end succeeded")
    assert len(finished) == UPLOADS, "each upload ran to completion once: a reclaimed attempt reuses its record"


def test_rolling_restart_without_a_failed_request(deployment):
    bearer = login(deployment.url)
    stop = threading.Event()
    outcomes = []

    def client():
        n = 0
        while not stop.is_set():
            try:
                put = requests.put(f"{deployment.url}/v1/buckets/quickstart/objects/rolling/{n % 20}.bin", data=b"x" * 1024,
                                   headers=bearer, timeout=30)
                get = requests.get(f"{deployment.url}/v1/buckets/quickstart/objects/rolling/{n % 20}.bin", headers=bearer, timeout=30)
                outcomes.append((put.status_code, get.status_code))
            except requests.RequestException as error:
                outcomes.append((str(error), None))
            n += 1

    thread = threading.Thread(target=client)
    thread.start()
    try:
        for node in deployment.nodes:
            time.sleep(1)
            node.stop()  # SIGTERM: in-flight requests finish; nginx sends new ones to the others
            node.launch().wait_ready()
        time.sleep(1)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert len(outcomes) > 20, "the client kept sending during the restarts"
    failed = [outcome for outcome in outcomes if outcome != (201, 200)]
    assert failed == [], f"{len(failed)} of {len(outcomes)} requests failed during the rolling restart: {failed[:5]}"
