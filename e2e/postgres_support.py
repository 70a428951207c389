"""A scratch PostgreSQL server for the end-to-end tests: Debian's binaries (`make test` installs the postgresql
package), a temporary data directory, a free loopback port, trust authentication, stopped at the end."""
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import free_port


def server_binaries():
    root = Path("/usr/lib/postgresql")
    versions = sorted((int(p.name) for p in root.iterdir() if p.name.isdigit()), reverse=True) if root.is_dir() else []
    for version in versions:
        if (root / str(version) / "bin" / "pg_ctl").exists():
            return root / str(version) / "bin"
    return None


class ScratchPostgres:
    def __init__(self):
        self.binaries = server_binaries()
        if self.binaries is None:
            pytest.skip("PostgreSQL's server binaries are not installed: `make test` installs Debian's postgresql package")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a `postgres` account to run PostgreSQL as")
        self.directory = Path(tempfile.mkdtemp(prefix="aerie-e2e-postgres-"))
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self.port = free_port()
        self.data = self.directory / "data"
        self._run("initdb", "-D", str(self.data), "-U", "aerie", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def _run(self, program, *arguments):
        command = [str(self.binaries / program), *arguments]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create_database(self, name) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "aerie", name)
        return f"postgres://aerie@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self):
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
