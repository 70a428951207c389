"""The parser fuzz targets (the long run is `make fuzz-parsers`): each builds with `swiftc -sanitize=fuzzer,address`
and replays its seed corpus, which holds every input that once crashed it, so a regression fails here."""
import subprocess

import pytest

from conftest import REPO


@pytest.mark.parametrize("target", ["csv", "json", "object-keys", "sigv4", "aws-chunked", "images", "multipart"])
def test_fuzz_target_builds_and_replays_its_corpus(target):
    run = subprocess.run([str(REPO / "scripts" / "fuzz_parsers.sh"), "--replay", target], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    seeds = len(list((REPO / "fuzz" / "corpus" / target).iterdir()))
    assert seeds >= 3
    # libFuzzer's summary of the replay: every seed executed, no crash.
    assert "Done" in run.stdout + run.stderr, run.stdout[-2000:] + run.stderr[-2000:]
