"""A bounded API fuzzing run (the long one is `make fuzz`, report in docs/fuzzing.md): schemathesis against `/openapi.json` of a
real `aerie serve` with every app and its models, signed in as a plain user and (a second run) as the admin, a few
generated cases per operation,
with the checks not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance. Any failure fails the test with schemathesis' report (each with a curl line to
reproduce it)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import Server, data_with_models



@pytest.mark.parametrize("role", ["user", "admin"])
def test_schemathesis_finds_nothing(workdir, role):
    """As a plain user, and as the admin: the admin run reaches the admin-only operations (users, keys, deploys,
    buckets, queues) and cannot lock itself out or break the apps under test, because disabling yourself, deleting a
    built-in function and deleting what an app holds (its buckets, queues, collections) are refused with 409."""
    data = workdir / f"fuzz-{role}" / "data"
    data_with_models(data)
    server = Server(data, extra_args=["--rate-limit", "0", "--allow-signup"]).start()
    try:
        if role == "user":
            created = requests.post(server.url + "/v1/auth/signup", json={"username": "fuzzer", "password": "fuzzer-long-password"}, timeout=10)
            assert created.status_code == 201, created.text
            token = server.login("fuzzer", "fuzzer-long-password")
        else:
            token = server.login()
        command = [str(Path(sys.executable).parent / "schemathesis"), "run", server.url + "/openapi.json", "-H", f"Authorization: Bearer {token}",
                   "-c", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                   "-n", "3", "--phases", "coverage,fuzzing", "--request-timeout", "60", "--seed", "20261207", "--no-color"]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=workdir, env={**os.environ, "NO_COLOR": "1"})
        summary = completed.stdout[completed.stdout.find("FAILURES"):] if "FAILURES" in completed.stdout else completed.stdout[-3000:]
        assert completed.returncode == 0, summary[:8000]
        assert " passed" in completed.stdout
        # The fuzzer's own credentials still work, and so do the apps it ran against.
        health = requests.get(server.url + "/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert health.status_code == 200, health.text
        if role == "admin":
            for bucket in ("quickstart", "pipeline", "imagine", "gallery", "faces", "lab"):
                listed = requests.get(f"{server.url}/v1/buckets/{bucket}/objects", headers={"Authorization": f"Bearer {token}"}, timeout=10)
                assert listed.status_code == 200, f"the {bucket} app's bucket: {listed.text}"
    finally:
        server.stop()
