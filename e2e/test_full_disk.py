"""A full disk: writes are refused with 507 and a clear problem, reads go on, nothing acknowledged is lost or
half-written, and writes succeed again, without a restart, once space is freed.

The server's data directory is on a small tmpfs mounted for the test (Linux, as root: the CI sandbox runs as root;
elsewhere the test is skipped and says why). The test fills it with 1 MiB objects until the server refuses one,
then with a file of its own until nothing more fits, so every later write finds the disk completely full.
"""
import hashlib
import os
import sqlite3
import subprocess

import pytest
import requests

from conftest import Server

MIB = 1024 * 1024


@pytest.fixture()
def small_disk(workdir):
    mount = workdir / "small-disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip() or 'not root'}): the full-disk test needs one")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def is_full_disk_problem(response):
    assert response.status_code == 507, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/insufficient-storage")
    assert "full" in problem["detail"] and "Free some space" in problem["detail"], problem["detail"]
    assert "NSError" not in problem["detail"] and "Domain=" not in problem["detail"], problem["detail"]


def fill_the_rest(handle):
    """Writes to `handle` (unbuffered, opened beforehand: a full tmpfs refuses even to open a file) until the file
    system takes no more bytes."""
    for size in (65536, 4096, 1):
        try:
            while handle.write(b"\0" * size):
                pass
        except OSError:
            pass


def test_a_full_disk_refuses_writes_clearly_loses_nothing_and_recovers(small_disk):
    # A ballast file taken up now and removed at the end gives the writes after the full disk room to succeed.
    ballast = small_disk / "ballast.bin"
    ballast.write_bytes(b"\0" * (4 * MIB))
    filler = small_disk / "filler.bin"
    filling = open(filler, "wb", buffering=0)
    server = Server(small_disk / "data", extra_args=["--apps", "quickstart", "--rate-limit", "0"]).start()
    try:
        auth = {"Authorization": f"Bearer {server.login()}"}
        objects = f"{server.url}/v1/buckets/fill/objects"
        assert requests.put(f"{server.url}/v1/buckets/fill", headers=auth, timeout=10).status_code in (200, 201)
        created = requests.post(f"{server.url}/v1/tables", json={"name": "notes", "partition_key": "id"}, headers=auth, timeout=10)
        assert created.status_code == 201, created.text

        acknowledged = {}
        refused = None
        for index in range(60):
            body = os.urandom(MIB)
            response = requests.put(f"{objects}/o{index}", data=body, headers=auth, timeout=30)
            if response.status_code != 201:
                refused = response
                break
            acknowledged[f"o{index}"] = hashlib.md5(body).hexdigest()
        assert refused is not None, "a 40 MiB disk took 60 MiB of objects"
        is_full_disk_problem(refused)
        assert len(acknowledged) >= 20

        fill_the_rest(filling)
        # Completely full now: an object is refused with the same problem; a small table write either finds room in
        # pages the database already has or is refused the same way, never a 500.
        is_full_disk_problem(requests.put(f"{objects}/late", data=os.urandom(MIB), headers=auth, timeout=30))
        notes = {}
        for index in range(20):
            note = {"id": f"n{index}", "text": "x" * 2000}
            response = requests.put(f"{server.url}/v1/tables/notes/items", json=note, headers=auth, timeout=30)
            if response.status_code == 200:
                notes[note["id"]] = note["text"]
            else:
                is_full_disk_problem(response)
        # Reads go on.
        assert requests.get(f"{server.url}/health", timeout=10).status_code == 200
        some = next(iter(acknowledged))
        read = requests.get(f"{objects}/{some}", headers=auth, timeout=30)
        assert read.status_code == 200 and hashlib.md5(read.content).hexdigest() == acknowledged[some]

        # Space returns: writes succeed again, with no restart.
        filling.close()
        filler.unlink()
        ballast.unlink()
        body = os.urandom(MIB)
        after = requests.put(f"{objects}/after", data=body, headers=auth, timeout=30)
        assert after.status_code == 201, after.text
        acknowledged["after"] = hashlib.md5(body).hexdigest()
        note = {"id": "after", "text": "written once space returned"}
        written = requests.put(f"{server.url}/v1/tables/notes/items", json=note, headers=auth, timeout=30)
        assert written.status_code == 200, written.text
        notes["after"] = note["text"]
    finally:
        server.stop()

    # Nothing corrupted: the database checks clean, and after a restart every acknowledged write is there, whole,
    # and nothing else is listed (no half-written object of the refused writes).
    with sqlite3.connect(small_disk / "data" / "aerie.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restarted = Server(small_disk / "data", extra_args=["--apps", "quickstart", "--rate-limit", "0"]).start()
    try:
        auth = {"Authorization": f"Bearer {restarted.login()}"}
        listing = requests.get(f"{restarted.url}/v1/buckets/fill/objects", params={"limit": 1000}, headers=auth, timeout=30).json()
        assert sorted(item["key"] for item in listing["items"]) == sorted(acknowledged)
        for key, digest in acknowledged.items():
            got = requests.get(f"{restarted.url}/v1/buckets/fill/objects/{key}", headers=auth, timeout=30)
            assert got.status_code == 200 and hashlib.md5(got.content).hexdigest() == digest, key
        for key, text in notes.items():
            got = requests.get(f"{restarted.url}/v1/tables/notes/items/{key}", headers=auth, timeout=30)
            assert got.status_code == 200 and got.json()["item"]["text"] == text, key
        # The refused writes' temporary files are gone, and every object file belongs to an acknowledged object.
        objects_dir = small_disk / "data" / "objects"
        leftovers = [p for p in (objects_dir / ".tmp").rglob("*") if p.is_file()]
        assert leftovers == [], f"temporary files left behind: {leftovers}"
        stored = [p for p in (objects_dir / "fill").rglob("*") if p.is_file()]
        assert len(stored) == len(acknowledged), f"{len(stored)} object files for {len(acknowledged)} objects"
    finally:
        restarted.stop()
