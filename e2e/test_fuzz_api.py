"""A bounded API fuzzing run (the long one is `make fuzz` once it exists): schemathesis against `/openapi.json` of a
real `aerie serve` with every app and its models, signed in as a plain user, a few generated cases per operation,
with the checks not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance. Any failure fails the test with schemathesis' report (each with a curl line to
reproduce it)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import REPO, Server

MODELS = REPO / "aerie-data" / "models"


def test_schemathesis_finds_nothing(workdir):
    data = workdir / "fuzz" / "data"
    (data / "models").mkdir(parents=True)
    for name in ("minilm", "onnxruntime", "classifier", "faces", "imagine"):
        if not (MODELS / name).is_dir():
            pytest.fail(f"{MODELS / name} is missing: `make test` installs the models first")
        (data / "models" / name).symlink_to((MODELS / name).resolve(), target_is_directory=True)
    server = Server(data, extra_args=["--rate-limit", "0", "--allow-signup"]).start()
    try:
        created = requests.post(server.url + "/v1/auth/signup", json={"username": "fuzzer", "password": "fuzzer-long-password"}, timeout=10)
        assert created.status_code == 201, created.text
        token = server.login("fuzzer", "fuzzer-long-password")
        command = [str(Path(sys.executable).parent / "schemathesis"), "run", server.url + "/openapi.json", "-H", f"Authorization: Bearer {token}",
                   "-c", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                   "-n", "3", "--phases", "coverage,fuzzing", "--request-timeout", "60", "--seed", "20261207", "--no-color"]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=workdir, env={**os.environ, "NO_COLOR": "1"})
        summary = completed.stdout[completed.stdout.find("FAILURES"):] if "FAILURES" in completed.stdout else completed.stdout[-3000:]
        assert completed.returncode == 0, summary[:8000]
        assert " passed" in completed.stdout
    finally:
        server.stop()
