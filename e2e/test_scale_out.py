"""Scale-out on PostgreSQL (issue 16): nodes started with the same `--database` and `--object-store` form one
deployment. Two nodes, each with its own data directory, on one scratch PostgreSQL server and one shared object
folder: they start at the same moment, a token or key from one works on the other, a revocation on one takes effect
on the other, and uploads spread over both fire their trigger once each."""
import requests

from conftest import Server, wait_for
from postgres_support import ScratchPostgres

UPLOADS = 24


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
        listing = requests.get(f"{a.url}/v1/invocations", params={"function": "wordcount", "limit": 1000}, headers=bearer, timeout=10)
        assert listing.status_code == 200, listing.text
        records = listing.json()["items"]
        assert len(records) == UPLOADS, f"one invocation per upload, not {len(records)}: {[r['status'] for r in records]}"
        assert all(r["status"] == "succeeded" for r in records), records

        # A key revoked on node a stops working on node b (it had been cached there).
        assert requests.delete(f"{a.url}/v1/keys/{created.json()['id']}", headers=bearer, timeout=10).status_code == 204
        wait_for(lambda: requests.get(b.url + "/v1/buckets/quickstart/objects", headers=key, timeout=10).status_code == 401,
                 timeout=10, what="node b refusing the key revoked on node a")
        assert requests.get(a.url + "/v1/buckets/quickstart/objects", headers=key, timeout=10).status_code == 401
    finally:
        for node in nodes:
            node.stop()
        postgres.stop()
