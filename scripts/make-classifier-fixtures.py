#!/usr/bin/env python3
"""Writes the fixtures of the AerieVision classifier tests (Tests/AerieVisionTests/Fixtures):

- chelsea.ppm, coffee.ppm: scikit-image's `chelsea` (a tabby cat) and `coffee` (a cup of espresso) sample photos
  as binary PPM (P6), so the tests read them without an image codec. From scikit-image's data directory
  (the package is BSD-3-Clause; both photos are CC0, "no copyright restrictions", per their docstrings in
  skimage/data/_fetchers.py: chelsea by Stefan van der Walt, coffee by Rachel Michetti, courtesy of Pikolo
  Espresso Bar).
- parity.json: what ONNX Runtime's Python package computes on the installed `model.onnx` (built in Swift by
  `aerie models install classifier`) for a fixed input tensor, with the model's SHA-256 so the test can tell
  when the graph changed and this script must run again.

scikit-image and onnxruntime are not in the repository's venv (the tests read only these files); run it from
a throwaway one:

    python3 -m venv /tmp/fixtures-venv
    /tmp/fixtures-venv/bin/pip install scikit-image numpy onnxruntime==1.32.0
    /tmp/fixtures-venv/bin/python scripts/make-classifier-fixtures.py --data ./aerie-data
"""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime
import skimage.data

OUT = Path(__file__).resolve().parent.parent / "Tests/AerieVisionTests/Fixtures"


def parity_input():
    """The fixed [1, 3, 224, 224] input both sides build: pixel-like values (k − 127) / 128, exact in float32."""
    index = np.arange(3 * 224 * 224, dtype=np.int64)
    return (((index * 7919) % 256 - 127) / 128).astype(np.float32).reshape(1, 3, 224, 224)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="aerie-data", help="the data directory the classifier is installed in")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    for name in ("chelsea", "coffee"):
        image = getattr(skimage.data, name)()
        height, width, _ = image.shape
        (OUT / f"{name}.ppm").write_bytes(b"P6\n%d %d\n255\n" % (width, height) + image.astype(np.uint8).tobytes())

    model = Path(args.data) / "models/classifier/model.onnx"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"pixels": parity_input()})[0][0]
    parity = {
        "onnxruntime": onnxruntime.__version__,
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "logits": [float(v) for v in logits],
    }
    (OUT / "parity.json").write_text(json.dumps(parity) + "\n")
    print(f"wrote {OUT}/chelsea.ppm, coffee.ppm and parity.json (model {parity['model_sha256'][:12]})")


if __name__ == "__main__":
    main()
