"""Shared fixtures for the end-to-end tests: one real `aerie serve` process per test session."""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "e2e-admin-password"
sys.path.insert(0, str(REPO / "scripts"))
import s3servers  # noqa: E402


def aerie_binary() -> str:
    path = os.environ.get("AERIE_BIN") or str(REPO / ".build" / "debug" / "aerie")
    if not os.access(path, os.X_OK):
        pytest.exit(f"aerie binary not found at {path}: run `make test` (it builds first)", returncode=2)
    return path


free_port = s3servers.free_port


MODELS = REPO / "aerie-data" / "models"
APP_MODELS = ("minilm", "onnxruntime", "classifier", "faces", "imagine")


def data_with_models(data: Path, names=APP_MODELS) -> Path:
    """A fresh data directory whose `models/` links the models `make test` installed (so every app starts)."""
    (data / "models").mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (MODELS / name).is_dir():
            pytest.fail(f"{MODELS / name} is missing: `make test` installs the models first")
        (data / "models" / name).symlink_to((MODELS / name).resolve(), target_is_directory=True)
    return data


class Server:
    """A running `aerie serve` on a free port and its own data directory."""

    def __init__(self, data_dir: Path, extra_env=None, extra_args=()):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.extra_env = extra_env or {}
        self.extra_args = list(extra_args)
        self.process = None

    def start(self, timeout=60):
        return self.launch().wait_ready(timeout)

    def launch(self):
        """Starts the process without waiting for it (several nodes starting at the same moment)."""
        env = {**os.environ, "AERIE_ADMIN_PASSWORD": ADMIN_PASSWORD, **self.extra_env}
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [aerie_binary(), "serve", "--data", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port), *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
        )
        return self

    def wait_ready(self, timeout=60):
        try:
            s3servers.wait_healthy(self.process, self.url, "aerie serve", timeout)
        except s3servers.NotHealthy as error:
            self.stop()
            raise RuntimeError(f"{error}; log:\n{self.log_path.read_text()[-4000:]}") from None
        return self

    def kill(self):
        """kill -9: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()

    def login(self, username="admin", password=ADMIN_PASSWORD) -> str:
        response = requests.post(self.url + "/v1/auth/login", json={"username": username, "password": password}, timeout=10)
        response.raise_for_status()
        return response.json()["token"]


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="aerie-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server(workdir):
    """The shared server for tests that do not restart it."""
    instance = Server(workdir / "shared").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def admin_token(server) -> str:
    return server.login()


@pytest.fixture()
def admin(server, admin_token):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {admin_token}"
    session.base = server.url
    return session


def invocation_events(url, client=requests, headers=None, timeout=60):
    """Follows an invocation's server-sent events (`GET …/invocations/{id}/events`) up to its `result` or `error`;
    returns the (event, data) pairs in order. `client` may be a `requests.Session` carrying the credentials."""
    events = []
    with client.get(url, headers=headers, stream=True, timeout=timeout) as stream:
        kind = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[len("data: "):])))
                if kind in ("result", "error"):
                    break
    return events


def wait_for(predicate, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> int:
    """Resets the process's peak resident set (VmHWM) to its current one (Linux: write 5 to clear_refs, as its
    owner) and returns that, in bytes; `peak(pid)` after a transfer minus this is the transfer's own peak."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status_kib(pid, "VmRSS") * 1024


def peak(pid: int) -> int:
    return status_kib(pid, "VmHWM") * 1024


@contextlib.contextmanager
def busy_cpus():
    """Every core busy (one spinning process per core, and one more) while the block runs: a server whose event
    loops seldom get a turn is where unpaced streaming shows, as a queue of chunks nobody has sent yet."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range((os.cpu_count() or 1) + 1)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
