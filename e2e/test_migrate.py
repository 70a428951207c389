"""`aerie migrate --to postgres://… --object-store …` (issue 16): an embedded deployment moves onto PostgreSQL and an
object store with everything a user put in it (users, keys, objects with their metadata, tables, queued messages,
topics, vector collections, invocation records) and its triggers carry on where they were: nothing fires twice."""
import hashlib
import os
import subprocess
import time

import pytest
import requests

from conftest import REPO, Server, aerie_binary, wait_for
from test_runtimes import zip_dir
from postgres_support import ScratchPostgres, seaweedfs

UPLOADS = 6


def migrate(*args, env=None):
    return subprocess.run([aerie_binary(), "migrate", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def word_count_records(url, headers):
    response = requests.get(f"{url}/v1/invocations", params={"function": "wordcount", "limit": 1000}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("store", ["folder", "seaweedfs"])
def test_an_embedded_deployment_moves_to_postgres(workdir, store):
    postgres = ScratchPostgres()
    folder = workdir / f"migrate-{store}"
    folder.mkdir(parents=True, exist_ok=True)
    embedded = Server(folder / "embedded", extra_args=["--apps", "quickstart", "--rate-limit", "0"])
    node = weed = None
    try:
        url = postgres.create_database("moved")
        if store == "folder":
            target_env, object_store = {}, f"file://{folder / 'objects'}"
        else:
            weed = seaweedfs(folder / "seaweedfs")
            target_env = weed.environment(prefix="moved")
            object_store = target_env.pop("AERIE_OBJECT_STORE")
        embedded.start()
        admin = {"Authorization": f"Bearer {embedded.login()}"}

        # What a user put in the embedded deployment.
        assert requests.post(embedded.url + "/v1/users", json={"username": "carol", "password": "carol-password-1"},
                             headers=admin, timeout=10).status_code == 201
        created = requests.post(embedded.url + "/v1/keys", json={"name": "moving", "scopes": ["objects:read", "objects:write"]},
                                headers=admin, timeout=10)
        assert created.status_code == 201, created.text
        key = {"Authorization": f"Bearer {created.json()['key']}"}
        for n in range(UPLOADS):
            put = requests.put(f"{embedded.url}/v1/buckets/quickstart/objects/incoming/move-{n}.txt", data=("word " * (n + 1)).encode(),
                               headers={**key, "Content-Type": "text/plain"}, timeout=30)
            assert put.status_code == 201, put.text
        wait_for(lambda: len(word_count_records(embedded.url, admin)) == UPLOADS
                 and all(r["status"] == "succeeded" for r in word_count_records(embedded.url, admin)),
                 timeout=60, what="every upload's word count to succeed")
        photo = bytes(range(256)) * 4099  # about 1 MiB, not text
        assert requests.put(f"{embedded.url}/v1/buckets/quickstart/objects/photos/cat.bin", data=photo,
                            headers={**key, "Content-Type": "application/octet-stream", "X-Aerie-Meta-Camera": "x100"}, timeout=30).status_code == 201
        assert requests.post(embedded.url + "/v1/tables", json={"name": "orders", "partition_key": "id"}, headers=admin, timeout=10).status_code == 201
        assert requests.put(embedded.url + "/v1/tables/orders/items", json={"id": "o-1", "amount": 42}, headers=admin, timeout=10).status_code in (200, 201)
        assert requests.post(embedded.url + "/v1/queues", json={"name": "jobs"}, headers=admin, timeout=10).status_code == 201
        assert requests.post(embedded.url + "/v1/queues/jobs/messages", json={"messages": [{"body": {"job": 1}}, {"body": {"job": 2}}]},
                             headers=admin, timeout=10).status_code == 201
        assert requests.post(embedded.url + "/v1/topics/audit/events", json={"events": [{"key": "a", "payload": {"n": 1}}]},
                             headers=admin, timeout=10).status_code in (200, 201)
        assert requests.put(embedded.url + "/v1/vectors/notes", json={"dimensions": 3, "metric": "cosine"}, headers=admin, timeout=10).status_code == 201
        for item, vector in (("red", [1, 0, 0]), ("blue", [0, 0, 1])):
            assert requests.put(f"{embedded.url}/v1/vectors/notes/items/{item}", json={"vector": vector, "metadata": {"colour": item}},
                                headers=admin, timeout=10).status_code == 200
        deployed = requests.put(f"{embedded.url}/v1/functions/moving", params={"runtime": "provided"}, data=zip_dir(REPO / "e2e" / "runtimes" / "shell"),
                                headers={**admin, "Content-Type": "application/zip"}, timeout=120)
        assert deployed.status_code in (200, 201), deployed.text
        before = requests.get(f"{embedded.url}/v1/buckets/quickstart/objects/results/move-3.json", headers=key, timeout=10)
        assert before.status_code == 200

        # Refused while the server runs: nothing is copied from a deployment that is still being written to.
        refused = migrate("--data", str(embedded.data_dir), "--to", url, "--object-store", object_store, env=target_env)
        assert refused.returncode != 0 and "Stop it first" in refused.stderr, refused.stderr
        embedded.stop()

        moved = migrate("--data", str(embedded.data_dir), "--to", url, "--object-store", object_store, env=target_env)
        assert moved.returncode == 0, moved.stderr
        assert f"{UPLOADS * 2 + 2} objects" in moved.stdout and "1 vector collections (2 vectors)" in moved.stdout, moved.stdout
        # Twice is refused: the target now holds a deployment.
        again = migrate("--data", str(embedded.data_dir), "--to", url, "--object-store", object_store, env=target_env)
        assert again.returncode != 0 and "already holds a deployment" in again.stderr, again.stderr

        # A node of the new deployment, with a data directory of its own.
        node = Server(folder / "node", extra_env={"AERIE_DATABASE_URL": url, **target_env},
                      extra_args=["--object-store", object_store, "--apps", "quickstart", "--rate-limit", "0"])
        node.start(timeout=90)
        admin = {"Authorization": f"Bearer {node.login()}"}
        assert node.login("carol", "carol-password-1")
        assert requests.get(node.url + "/v1/buckets/quickstart/objects", headers=key, timeout=10).status_code == 200, "the key moved"

        got = requests.get(f"{node.url}/v1/buckets/quickstart/objects/photos/cat.bin", headers=key, timeout=30)
        assert got.status_code == 200 and got.content == photo
        assert got.headers["ETag"] == f'"{hashlib.md5(photo).hexdigest()}"'
        assert got.headers.get("X-Aerie-Meta-Camera") == "x100" and got.headers["Content-Type"] == "application/octet-stream"
        after = requests.get(f"{node.url}/v1/buckets/quickstart/objects/results/move-3.json", headers=key, timeout=10)
        assert after.content == before.content and after.headers["ETag"] == before.headers["ETag"]

        assert requests.get(node.url + "/v1/tables/orders/items/o-1", headers=admin, timeout=10).json()["item"] == {"id": "o-1", "amount": 42}
        received = requests.post(node.url + "/v1/queues/jobs/receive", json={"max": 10}, headers=admin, timeout=10).json()["items"]
        assert [m["body"] for m in received] == [{"job": 1}, {"job": 2}], "queued messages moved, in order"
        events = requests.get(node.url + "/v1/topics/audit/events", params={"from": 0}, headers=admin, timeout=10).json()["items"]
        assert [(e["offset"], e["key"], e["payload"]) for e in events] == [(0, "a", {"n": 1})]
        found = requests.post(f"{node.url}/v1/vectors/notes/query", json={"vector": [1, 0.1, 0], "k": 2}, headers=admin, timeout=10)
        assert found.status_code == 200, found.text
        assert [(i["id"], i["metadata"]) for i in found.json()["items"]] == [("red", {"colour": "red"}), ("blue", {"colour": "blue"})]

        # The deployed function moved too: the new node installs it from the functions log and the package's object.
        ran = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(requests.post(
            f"{node.url}/v1/functions/moving/invoke", json={"n": 7}, headers=admin, timeout=30)), timeout=30, what="the moved function to run")
        assert ran.json()["echo"] == {"n": 7}

        # The triggers carry on where they were: the moved uploads do not fire again, a new one fires once.
        assert requests.put(f"{node.url}/v1/buckets/quickstart/objects/incoming/after-move.txt", data=b"one two",
                            headers={**key, "Content-Type": "text/plain"}, timeout=30).status_code == 201
        wait_for(lambda: requests.get(f"{node.url}/v1/buckets/quickstart/objects/results/after-move.json", headers=key, timeout=10).status_code == 200,
                 timeout=60, what="the new upload's word count")
        time.sleep(2)
        records = word_count_records(node.url, admin)
        assert len(records) == UPLOADS + 1, f"the moved records and one new one, not {len(records)}"
    finally:
        embedded.stop()
        if node:
            node.stop()
        if weed:
            weed.stop()
        postgres.stop()


def test_migrate_refuses_bad_targets(workdir):
    data = workdir / "migrate-bad"
    data.mkdir(parents=True, exist_ok=True)
    missing = migrate("--data", str(data), "--to", "postgres://u:p@127.0.0.1:1/x", "--object-store", "file:///tmp/aerie-migrate-x")
    assert missing.returncode != 0 and "holds no Aerie database" in missing.stderr, missing.stderr
    no_store = migrate("--data", str(data), "--to", "postgres://u:p@127.0.0.1:1/x")
    assert no_store.returncode != 0 and "--object-store" in no_store.stderr, no_store.stderr
    same_folder = migrate("--data", str(data), "--to", "postgres://u:p@127.0.0.1:1/x", "--object-store", f"file://{data}/objects")
    assert same_folder.returncode != 0 and "own objects folder" in same_folder.stderr, same_folder.stderr
    not_postgres = migrate("--data", str(data), "--to", "mysql://u:p@h/x", "--object-store", "file:///tmp/x")
    assert not_postgres.returncode != 0 and "postgres://" in not_postgres.stderr, not_postgres.stderr
