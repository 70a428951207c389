"""`aerie serve` as a child process for the load tests and benchmarks (Imagine's and Gallery's runners): a free loopback
port, its own data directory, a known admin password, a log file beside the data directory, SIGTERM on exit."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import s3servers  # noqa: E402

ADMIN_PASSWORD = "load-admin-password"


free_port = s3servers.free_port


class AerieServer:
    """`aerie serve --data DATA [ARGS…]` on a free loopback port; a context manager that waits for /health."""

    def __init__(self, binary: str, data: Path, env=None, args=(), timeout: float = 180):
        self.binary, self.data = binary, data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.args = list(args)
        self.timeout = timeout
        self.process = None
        self.log_path = data.parent / f"{data.name}-server.log"

    def __enter__(self):
        env = {**os.environ, "AERIE_ADMIN_PASSWORD": ADMIN_PASSWORD, **self.env}
        self.log = open(self.log_path, "ab")
        command = [self.binary, "serve", "--data", str(self.data), "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        try:
            s3servers.wait_healthy(self.process, self.url, "aerie serve", self.timeout, interval=0.2)
        except s3servers.NotHealthy as error:
            self.__exit__(None, None, None)
            raise RuntimeError(f"{error}; see {self.log_path}:\n{self.log_path.read_text()[-2000:]}") from None
        return self

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        response = requests.post(self.url + "/v1/auth/login", json={"username": username, "password": password}, timeout=30)
        response.raise_for_status()
        return response.json()["token"]

    def token(self) -> str:
        """The admin's bearer token."""
        return self.login()

    def admin(self) -> requests.Session:
        """A session signed in as the admin."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.login()}"
        return session


class ResourceSampler(threading.Thread):
    """Samples the server process's CPU (percent of one core), the machine's CPU (percent of all cores), the
    server's resident memory and its open file descriptors every `interval` seconds, from /proc."""

    def __init__(self, pid: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []
        self.stop_event = threading.Event()
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _process(self):
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / self.ticks
        rss = 0
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        return cpu, rss

    @staticmethod
    def _machine():
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    def run(self):
        try:
            last_cpu, _ = self._process()
            last_total, last_idle = self._machine()
            last = time.time()
            while not self.stop_event.wait(self.interval):
                cpu, rss = self._process()
                total, idle = self._machine()
                now = time.time()
                busy = 1 - (idle - last_idle) / max(1, total - last_total)
                self.samples.append({"t": now, "server_cpu_pct": 100 * (cpu - last_cpu) / (now - last), "machine_cpu_pct": 100 * busy,
                                     "server_rss_mib": rss, "server_fds": len(os.listdir(f"/proc/{self.pid}/fd"))})
                last_cpu, last_total, last_idle, last = cpu, total, idle, now
        except (OSError, ValueError, IndexError):
            return  # the server went away

    def stop(self):
        self.stop_event.set()
        self.join(timeout=5)
        return self.samples


def load_average():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def binary_description(binary: str) -> str:
    path = Path(os.path.abspath(binary))
    parts = path.resolve().parts
    kind = "the release build" if "release" in parts else "the debug build" if "debug" in parts else "the binary"
    return f"{kind} (`{os.path.relpath(path, REPO) if str(path).startswith(str(REPO)) else path}`)"
