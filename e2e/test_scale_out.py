"""Scale-out on PostgreSQL (issue 16): nodes started with the same `--database` and `--object-store` form one
deployment. Two nodes, each with its own data directory, on one scratch PostgreSQL server and one shared object
folder: they start at the same moment, a token or key from one works on the other, a revocation on one takes effect
on the other, and uploads spread over both fire their trigger once each."""
import requests

from conftest import REPO, Server, wait_for
from test_runtimes import zip_dir
from postgres_support import ScratchPostgres, seaweedfs

UPLOADS = 24
RUNTIMES = REPO / "e2e" / "runtimes"
KILLED_UPLOADS = 40


def test_two_nodes_form_one_deployment(workdir):
    postgres = ScratchPostgres()
    nodes = []
    try:
        url = postgres.create_database("deployment")
        objects = workdir / "scale-out" / "objects"
        objects.mkdir(parents=True)
        for name in ("a", "b"):
            node = Server(workdir / "scale-out" / name, extra_env={"AERIE_DATABASE_URL": url},
                          extra_args=["--object-store", f"file://{objects}", "--apps", "quickstart", "--rate-limit", "0"])
            nodes.append(node)
        # Both at once: migrations, the token secret and the admin user are created once, by whichever wins.
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready(timeout=90)
        a, b = nodes

        token = a.login()
        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(b.url + "/v1/buckets", headers=bearer, timeout=10).status_code == 200, "a token from node a works on b"
        assert b.login()  # and the admin's password, stored once, works on both

        # The console's nodes panel, on either node, lists the whole deployment from the heartbeats.
        def listed(node):
            response = requests.get(node.url + "/v1/nodes", headers=bearer, timeout=10)
            assert response.status_code == 200, response.text
            return sorted(n["address"] for n in response.json()["items"] if n["alive"])
        wait_for(lambda: listed(b) == sorted([a.url, b.url]), timeout=15, what="both nodes in GET /v1/nodes")

        created = requests.post(a.url + "/v1/keys", json={"name": "spread", "scopes": ["objects:read", "objects:write"]},
                                headers=bearer, timeout=10)
        assert created.status_code == 201, created.text
        key = {"Authorization": f"Bearer {created.json()['key']}"}
        assert requests.get(b.url + "/v1/buckets/quickstart/objects", headers=key, timeout=10).status_code == 200

        # Uploads spread over both nodes: each fires the word count once, and every result is readable on both.
        for n in range(UPLOADS):
            node = nodes[n % 2]
            text = ("word " * (n + 1)).encode()
            put = requests.put(f"{node.url}/v1/buckets/quickstart/objects/incoming/spread-{n}.txt", data=text,
                               headers={**key, "Content-Type": "text/plain"}, timeout=30)
            assert put.status_code == 201, put.text
        for n in range(UPLOADS):
            result_url = f"{nodes[(n + 1) % 2].url}/v1/buckets/quickstart/objects/results/spread-{n}.json"
            result = wait_for(lambda: (lambda r: r.json() if r.status_code == 200 else None)(
                requests.get(result_url, headers=key, timeout=10)), timeout=60, what=f"the word count of spread-{n}.txt")
            assert result["total"] == n + 1, result
        # The result is written during the invocation; its record ends a moment later.
        records = wait_for(lambda: (lambda items: items if all(r["status"] == "succeeded" for r in items) else None)(
            requests.get(f"{a.url}/v1/invocations", params={"function": "wordcount", "limit": 1000}, headers=bearer, timeout=10).json()["items"]),
            timeout=60, what="every word count's record to end succeeded")
        assert len(records) == UPLOADS, f"one invocation per upload, not {len(records)}"

        # Vector collections are kept in step through the event log: made on a, written on b, found on a.
        collection = "/v1/vectors/scale-out-notes"
        assert requests.put(a.url + collection, json={"dimensions": 3, "metric": "cosine"}, headers=bearer, timeout=10).status_code == 201
        for item, vector in (("red", [1, 0, 0]), ("blue", [0, 0, 1])):
            stored = requests.put(f"{b.url}{collection}/items/{item}", json={"vector": vector}, headers=bearer, timeout=10)
            assert stored.status_code == 200, stored.text
        found = wait_for(lambda: (lambda items: items if len(items) == 2 else None)(requests.post(
            f"{a.url}{collection}/query", json={"vector": [1, 0.1, 0], "k": 2}, headers=bearer, timeout=10).json()["items"]),
            timeout=10, what="node a to find node b's vectors")
        assert [item["id"] for item in found] == ["red", "blue"]

        # A key revoked on node a stops working on node b (it had been cached there).
        assert requests.delete(f"{a.url}/v1/keys/{created.json()['id']}", headers=bearer, timeout=10).status_code == 204
        wait_for(lambda: requests.get(b.url + "/v1/buckets/quickstart/objects", headers=key, timeout=10).status_code == 401,
                 timeout=10, what="node b refusing the key revoked on node a")
        assert requests.get(a.url + "/v1/buckets/quickstart/objects", headers=key, timeout=10).status_code == 401

        # A function deployed through node a runs on node b; versions, aliases and a delete through either hold on both.
        package = zip_dir(RUNTIMES / "shell")
        deployed = requests.put(f"{a.url}/v1/functions/everywhere", params={"runtime": "provided"}, data=package, headers={**bearer, "Content-Type": "application/zip"}, timeout=120)
        assert deployed.status_code in (200, 201), deployed.text
        answer = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(requests.post(
            f"{b.url}/v1/functions/everywhere/invoke", json={"n": 1}, headers=bearer, timeout=30)), timeout=20, what="node b to run a's deploy")
        assert answer.json()["echo"] == {"n": 1}
        assert requests.put(f"{b.url}/v1/functions/everywhere", params={"runtime": "provided"}, data=package, headers={**bearer, "Content-Type": "application/zip"},
                            timeout=120).json()["version"] == 2
        wait_for(lambda: [v["version"] for v in requests.get(f"{a.url}/v1/functions/everywhere/versions", headers=bearer, timeout=10).json()["items"]] == [1, 2],
                 timeout=20, what="node a to list b's version 2")
        assert requests.delete(f"{b.url}/v1/functions/everywhere", headers=bearer, timeout=30).status_code == 204
        wait_for(lambda: requests.post(f"{a.url}/v1/functions/everywhere/invoke", json={}, headers=bearer, timeout=30).status_code == 404,
                 timeout=20, what="node a to drop the function deleted on b")

        # A node stopped cleanly leaves the list at once.
        b.stop()
        assert [n["address"] for n in requests.get(a.url + "/v1/nodes", headers=bearer, timeout=10).json()["items"]] == [a.url]
    finally:
        for node in nodes:
            node.stop()
        postgres.stop()


def test_nodes_on_seaweedfs_survive_a_node_killed_mid_way(workdir):
    """Objects on SeaweedFS (`--object-store s3://…` with the AWS variables): uploads spread over two nodes, one of
    them killed with `kill -9` half-way and started again; every upload's word count is present exactly once, and each
    upload leaves one succeeded invocation."""
    postgres = ScratchPostgres()
    nodes = []
    weed = None
    try:
        weed = seaweedfs(workdir / "scale-out-s3" / "seaweedfs")
        environment = {"AERIE_DATABASE_URL": postgres.create_database("deployment_s3"), **weed.environment()}
        for name in ("a", "b"):
            nodes.append(Server(workdir / "scale-out-s3" / name, extra_env=environment, extra_args=["--apps", "quickstart", "--rate-limit", "0"]))
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready(timeout=90)
        a, b = nodes
        bearer = {"Authorization": f"Bearer {a.login()}"}

        def upload(node, n):
            put = requests.put(f"{node.url}/v1/buckets/quickstart/objects/incoming/killed-{n}.txt", data=("word " * (n + 1)).encode(),
                               headers={**bearer, "Content-Type": "text/plain"}, timeout=30)
            assert put.status_code == 201, put.text

        for n in range(KILLED_UPLOADS // 2):
            upload(nodes[n % 2], n)
        b.kill()  # mid-way: b may hold queued or running word counts
        for n in range(KILLED_UPLOADS // 2, KILLED_UPLOADS):
            upload(a, n)
        b.launch().wait_ready(timeout=90)
        for n in range(KILLED_UPLOADS):
            result_url = f"{b.url}/v1/buckets/quickstart/objects/results/killed-{n}.json"
            result = wait_for(lambda: (lambda r: r.json() if r.status_code == 200 else None)(
                requests.get(result_url, headers=bearer, timeout=10)), timeout=90, what=f"the word count of killed-{n}.txt")
            assert result["total"] == n + 1, result
        listing = requests.get(f"{a.url}/v1/buckets/quickstart/objects", params={"prefix": "results/killed-"}, headers=bearer, timeout=10)
        assert sorted(o["key"] for o in listing.json()["items"]) == sorted(f"results/killed-{n}.json" for n in range(KILLED_UPLOADS))
        records = wait_for(lambda: (lambda items: items if all(r["status"] == "succeeded" for r in items) else None)(
            requests.get(f"{a.url}/v1/invocations", params={"function": "wordcount", "limit": 1000}, headers=bearer, timeout=10).json()["items"]),
            timeout=60, what="every word count's record to end succeeded")
        assert len(records) == KILLED_UPLOADS, f"one invocation per upload (a reclaimed one reuses its record), not {len(records)}"
        # The bytes are on SeaweedFS, not in either node's data directory.
        body = requests.get(f"{a.url}/v1/buckets/quickstart/objects/incoming/killed-3.txt", headers=bearer, timeout=10)
        assert body.status_code == 200 and body.content == b"word " * 4
        assert [path for node in nodes for path in (node.data_dir / "objects").rglob("*")] == []
    finally:
        for node in nodes:
            node.stop()
        if weed is not None:
            weed.stop()
        postgres.stop()

