"""kill -9 in the middle of processing uploads: after a restart every upload is processed, exactly once in effect."""
import json
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import Server, wait_for

UPLOADS = 32
# Large enough that counting takes longer than uploading, so the kill lands while work is queued or running.
FILLER_WORDS = 120_000


def put(server, token, key, body: bytes):
    response = requests.put(
        f"{server.url}/v1/buckets/quickstart/objects/{key}",
        data=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}, timeout=30,
    )
    assert response.status_code == 201, response.text
    return response


def list_keys(server, token, prefix):
    keys, cursor = [], None
    while True:
        params = {"prefix": prefix, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        response = requests.get(f"{server.url}/v1/buckets/quickstart/objects", params=params,
                                headers={"Authorization": f"Bearer {token}"}, timeout=30)
        response.raise_for_status()
        page = response.json()
        keys += [item["key"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return keys


def test_kill_9_mid_processing_loses_nothing_and_duplicates_nothing(workdir):
    data_dir = workdir / "crash"
    server = Server(data_dir).start()
    try:
        token = server.login()
        expected = {}
        filler = " ".join(f"w{n % 997}" for n in range(FILLER_WORDS))

        def upload(index):
            words = " ".join(["crash"] * (index + 1) + [f"doc{index}", filler])
            put(server, token, f"incoming/batch/doc{index}.txt", words.encode())

        # Parallel uploads outpace the counting, so work is still queued or running at the kill.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(upload, range(UPLOADS)))
        for index in range(UPLOADS):
            expected[f"results/batch/doc{index}.json"] = (index + 2 + FILLER_WORDS, index + 1)
        # Every upload was acknowledged (201); kill before the triggers can have finished them all.
        done_before_kill = len(list_keys(server, token, "results/batch/"))
        print(f"results before the kill: {done_before_kill} of {UPLOADS}")
        server.kill()
        assert done_before_kill < UPLOADS, "processing finished before the kill; the test must kill mid-processing"
    finally:
        server.stop()

    restarted = Server(data_dir).start()
    try:
        token = restarted.login()
        keys = wait_for(lambda: (k := list_keys(restarted, token, "results/batch/")) and len(k) >= UPLOADS and k,
                        timeout=120, what="every upload to be processed after the restart")
        assert sorted(keys) == sorted(expected)
        for key, (total, crash_count) in expected.items():
            response = requests.get(f"{restarted.url}/v1/buckets/quickstart/objects/{key}",
                                    headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert response.status_code == 200
            result = json.loads(response.content)
            assert result["source"] == key.replace("results/", "incoming/").replace(".json", ".txt")
            assert result["total"] == total
            assert result["counts"]["crash"] == crash_count
        # One table row per source: the function's effect on the table happened once per object.
        response = requests.post(f"{restarted.url}/v1/tables/quickstart_wordcounts/query",
                                 json={"index": "by_folder", "partition": "incoming/batch", "limit": 1000},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 200, response.text
        rows = response.json()["items"]
        sources = [row["item"]["source"] for row in rows]
        assert len(sources) == len(set(sources)) == UPLOADS
    finally:
        restarted.stop()
