"""The README tour, twice: step by step with requests, and word for word as the shell block README shows."""
import os
import re
import subprocess
import time

import requests

from conftest import REPO, Server, aerie_binary, wait_for


def readme_tour_script() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Tour", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README's Tour section has no ```sh block"
    return match.group(1)


def test_tour_with_requests(server, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    assert requests.get(server.url + "/health", timeout=5).json() == {"status": "ok"}

    text = b"the quick brown fox jumps over the lazy dog. The end."
    put = requests.put(f"{server.url}/v1/buckets/quickstart/objects/incoming/tour/fox.txt", data=text,
                       headers={**auth, "Content-Type": "text/plain"}, timeout=10)
    assert put.status_code == 201, put.text
    assert put.headers["ETag"].startswith('"')

    def result():
        response = requests.get(f"{server.url}/v1/buckets/quickstart/objects/results/tour/fox.json", headers=auth, timeout=10)
        return response.json() if response.status_code == 200 else None

    document = wait_for(result, timeout=30, what="results/tour/fox.json")
    assert document == {
        "source": "incoming/tour/fox.txt",
        "total": 11,
        "counts": {"the": 3, "quick": 1, "brown": 1, "fox": 1, "jumps": 1, "over": 1, "lazy": 1, "dog": 1, "end": 1},
    }

    sync = requests.post(f"{server.url}/v1/functions/wordcount/invoke", json={"text": "to be or not to be"}, headers=auth, timeout=30)
    assert sync.status_code == 200, sync.text
    assert sync.json()["total"] == 6
    assert sync.headers["X-Aerie-Invocation-Id"]

    started = requests.post(f"{server.url}/v1/functions/wordcount/invocations", json={"key": "incoming/tour/fox.txt"}, headers=auth, timeout=30)
    assert started.status_code == 202, started.text
    invocation_id = started.json()["id"]
    assert started.headers["Location"].endswith(invocation_id)

    def finished():
        record = requests.get(f"{server.url}/v1/invocations/{invocation_id}", headers=auth, timeout=10).json()
        return record if record["status"] in ("succeeded", "failed") else None

    record = wait_for(finished, timeout=30, what="the async invocation to finish")
    assert record["status"] == "succeeded", record
    assert record["function"] == "wordcount"


def test_readme_tour_runs_word_for_word(workdir):
    """Runs README's shell block with bash against a fresh server; only the port and the binary's folder differ."""
    tour_dir = workdir / "tour"
    tour_dir.mkdir()
    # No AERIE_ADMIN_PASSWORD: the server generates one into aerie-data/admin-password, as for a newcomer.
    server = Server(tour_dir / "aerie-data", extra_env={"AERIE_ADMIN_PASSWORD": ""}).start()
    try:
        (tour_dir / ".build" / "release").mkdir(parents=True)
        os.symlink(aerie_binary(), tour_dir / ".build" / "release" / "aerie")
        script = readme_tour_script().replace("http://127.0.0.1:8080", server.url)
        env = dict(os.environ, XDG_CONFIG_HOME=str(tour_dir / "config"))
        env.pop("AERIE_TOKEN", None)
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tour_dir, env=env,
                                   capture_output=True, text=True, timeout=180)
        assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        out = completed.stdout
        assert '"status":"ok"' in out.replace(" ", "")
        assert '"total": 11' in out
        assert "\n6\n" in out
        assert "wordcount" in out and "succeeded" in out
    finally:
        server.stop()
