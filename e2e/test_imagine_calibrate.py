"""`aerie imagine calibrate` on the shipped labelled pairs with the installed MiniLM: the table, JSON and the PNG chart."""
import json
import struct
import subprocess
import zlib

import pytest

from conftest import REPO, aerie_binary
from imagine_support import MODELS

PAIRS = REPO / "data" / "imagine" / "calibration-pairs.csv"


@pytest.fixture(scope="module")
def models_dir():
    if not (MODELS / "minilm" / "model.safetensors").exists():
        pytest.skip(f"MiniLM is not installed in {MODELS}: run `make neural-models`")
    return MODELS.parent


def test_pairs_file_is_labelled_and_large_enough():
    import csv
    rows = list(csv.DictReader(PAIRS.open()))
    assert len(rows) >= 200
    assert {"a", "b", "same"} <= set(rows[0])
    assert {r["same"] for r in rows} == {"0", "1"}
    kinds = {r["kind"] for r in rows if r["same"] == "0"}
    assert {"negation", "colour", "role", "count", "style"} <= kinds


def test_calibrate_json_and_chart(models_dir, tmp_path):
    chart = tmp_path / "calibration.png"
    result = subprocess.run([aerie_binary(), "imagine", "calibrate", str(PAIRS), "--data", str(models_dir), "--json", "--chart", str(chart)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["pairs"] >= 200
    thresholds = [row["threshold"] for row in report["thresholds"]]
    assert thresholds[0] == 0.7 and thresholds[-1] == 0.99 and len(thresholds) == 30
    at_default = next(row for row in report["thresholds"] if row["threshold"] == 0.9)
    # The guard only vetoes hits: never more false hits, never more recall.
    assert at_default["guarded"]["false_hit_rate"] <= at_default["similarity"]["false_hit_rate"]
    assert at_default["guarded"]["recall"] <= at_default["similarity"]["recall"]
    # Role swaps are the embedding's blind spot; the guard must catch them.
    role = next(k for k in report["false_hits_by_kind"]["guarded"] if k["kind"] == "role")
    assert role["false_hits"] == 0

    png = chart.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind, width, height, depth, colour = struct.unpack(">I4sIIBB", png[8:26])
    assert (kind, width, height, depth, colour) == (b"IHDR", 800, 500, 8, 2)
    # The image data inflates to one filter byte plus width × 3 bytes per row.
    data, offset = b"", 8
    while offset < len(png):
        size, name = struct.unpack(">I4s", png[offset:offset + 8])
        if name == b"IDAT":
            data += png[offset + 8:offset + 8 + size]
        offset += 12 + size
    assert len(zlib.decompress(data)) == height * (1 + width * 3)


def test_calibrate_table_and_a_missing_file(models_dir):
    result = subprocess.run([aerie_binary(), "imagine", "calibrate", str(PAIRS), "--data", str(models_dir)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "threshold  precision  recall  false-hit" in result.stdout
    assert "At 0.90 with PromptGuard" in result.stdout
    missing = subprocess.run([aerie_binary(), "imagine", "calibrate", "no-such.csv", "--data", str(models_dir)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0
    assert "no-such.csv does not exist" in missing.stderr
