"""Large objects stream both ways: a 1 GiB upload and download each raise the server's peak memory by little.

The server's peak resident set (VmHWM in /proc/<pid>/status) is reset before each transfer by writing 5 to
/proc/<pid>/clear_refs (Linux; the test runs as the server's owner), so each figure is that transfer's own peak.
The transfers run with every core busy, where a download that does not wait for the connection shows.
"""
import hashlib
import time
from pathlib import Path

import pytest
import requests

from conftest import Server, busy_cpus, peak, reset_peak

GIB = 1024 * 1024 * 1024
CHUNK = 1024 * 1024
# A transfer keeps a few 256 KiB chunks in flight (well under 2 MiB); the bound leaves room for the allocator and
# the connection's buffers. Unpaced, a download under busy CPUs queued 15 to 75 MiB of unsent chunks here.
BOUND = 16 * 1024 * 1024


def pattern_chunks(total: int):
    """`total` bytes of a non-repeating-per-chunk pattern, one MiB at a time."""
    block = bytes(range(256)) * (CHUNK // 256)
    for index in range(total // CHUNK):
        yield index.to_bytes(8, "big") + block[8:]


@pytest.fixture()
def big_server(workdir):
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc to measure the server's peak memory")
    instance = Server(workdir / "streaming", extra_args=["--max-body-mib", "2048", "--rate-limit", "0"]).start()
    yield instance
    instance.stop()


def test_a_1_gib_object_streams_up_and_down_in_bounded_memory(big_server):
    token = big_server.login()
    auth = {"Authorization": f"Bearer {token}"}
    pid = big_server.process.pid
    base = f"{big_server.url}/v1/buckets/big"
    assert requests.put(base, headers=auth, timeout=30).status_code in (200, 201)

    expected = hashlib.md5()
    for chunk in pattern_chunks(GIB):
        expected.update(chunk)

    with busy_cpus():
        before_upload = reset_peak(pid)
        uploaded = requests.put(f"{base}/objects/one.bin", data=pattern_chunks(GIB),
                                headers={**auth, "Content-Type": "application/octet-stream"}, timeout=600)
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["size"] == GIB
        upload_rise = peak(pid) - before_upload

        before_download = reset_peak(pid)
        digest = hashlib.md5()
        received = 0
        with requests.get(f"{base}/objects/one.bin", headers=auth, stream=True, timeout=600) as response:
            assert response.status_code == 200
            assert int(response.headers["Content-Length"]) == GIB
            for chunk in response.iter_content(CHUNK):
                digest.update(chunk)
                received += len(chunk)
        download_rise = peak(pid) - before_download
    assert received == GIB
    assert digest.hexdigest() == expected.hexdigest()
    assert f'"{expected.hexdigest()}"' == uploaded.json()["etag"]

    # A ranged read of the last 100 MiB streams too, and carries exactly those bytes.
    with busy_cpus():
        before_range = reset_peak(pid)
        with requests.get(f"{base}/objects/one.bin", headers={**auth, "Range": f"bytes={GIB - 100 * CHUNK}-"},
                          stream=True, timeout=600) as response:
            assert response.status_code == 206
            assert response.headers["Content-Range"] == f"bytes {GIB - 100 * CHUNK}-{GIB - 1}/{GIB}"
            tail = hashlib.md5()
            for chunk in response.iter_content(CHUNK):
                tail.update(chunk)
        range_rise = peak(pid) - before_range
    expected_tail = hashlib.md5()
    for index, chunk in enumerate(pattern_chunks(GIB)):
        if index >= GIB // CHUNK - 100:
            expected_tail.update(chunk)
    assert tail.hexdigest() == expected_tail.hexdigest()

    print(f"peak RSS rise: upload {upload_rise / 2**20:.1f} MiB, download {download_rise / 2**20:.1f} MiB, "
          f"ranged {range_rise / 2**20:.1f} MiB")
    assert upload_rise < BOUND, f"upload raised peak RSS by {upload_rise / 2**20:.1f} MiB"
    assert download_rise < BOUND, f"download raised peak RSS by {download_rise / 2**20:.1f} MiB"
    assert range_rise < BOUND, f"ranged download raised peak RSS by {range_rise / 2**20:.1f} MiB"


def test_a_slow_reader_holds_the_server_back(big_server):
    """A client that reads a few MiB of a large object and stalls costs the server little memory, and the server
    still answers others meanwhile."""
    token = big_server.login()
    auth = {"Authorization": f"Bearer {token}"}
    pid = big_server.process.pid
    base = f"{big_server.url}/v1/buckets/slow"
    requests.put(base, headers=auth, timeout=30)
    size = 256 * CHUNK
    assert requests.put(f"{base}/objects/o.bin", data=pattern_chunks(size), headers=auth, timeout=300).status_code == 201
    before = reset_peak(pid)
    with requests.get(f"{base}/objects/o.bin", headers=auth, stream=True, timeout=60) as stalled:
        first = stalled.raw.read(4 * CHUNK)
        assert len(first) == 4 * CHUNK
        # The stalled download is still open; the server serves another request meanwhile.
        assert requests.get(f"{big_server.url}/health", timeout=10).status_code == 200

        time.sleep(1.0)
        rise = peak(pid) - before
    assert rise < BOUND, f"a stalled 256 MiB download raised peak RSS by {rise / 2**20:.1f} MiB"
