#!/usr/bin/env python3
"""Writes the photos of the AerieFaces tests (Tests/AerieFacesTests/Fixtures), small JPEGs taken from packages:

- astronaut.jpg: scikit-image's `astronaut` (Eileen Collins, from NASA's Great Images database: "No known copyright
  restrictions, released into the public domain", per its docstring in skimage/data/_fetchers.py; scikit-image is
  BSD-3-Clause), 512×512, one face (and a mission patch).
- coffee.jpg: scikit-image's `coffee` (Rachel Michetti, courtesy of Pikolo Espresso Bar; CC0 per its docstring),
  600×400, no face.
- group.jpg: `insightface/data/images/t1.jpg` from the source archive of PyPI `insightface` 0.7.3 (the package is
  MIT; the photo ships with it as its sample, no separate licence is stated), a group of six, scaled to 640 px wide.
- obama.jpg, obama2.jpg, biden.jpg: `tests/test_images/` from the source archive of PyPI `face_recognition` 1.3.0
  (MIT; official photographs of Barack Obama and Joe Biden, US-government works as far as can be told — the
  package states no separate licence for them), scaled so the longer side is 640 px.

The two source archives are downloaded from PyPI and checked against their pinned SHA-256. scikit-image is not in
the repository's venv (the tests read only the JPEGs); run this from a throwaway one:

    python3 -m venv /tmp/faces-venv
    /tmp/faces-venv/bin/pip install scikit-image pillow numpy
    /tmp/faces-venv/bin/python scripts/make-face-fixtures.py
"""

import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

import skimage.data
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "Tests/AerieFacesTests/Fixtures"

ARCHIVES = {
    "insightface": (
        "https://files.pythonhosted.org/packages/0b/8d/0f4af90999ca96cf8cb846eb5ae27c5ef5b390f9c090dd19e4fa76364c13/"
        "insightface-0.7.3.tar.gz",
        "f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7",
    ),
    "face_recognition": (
        "https://files.pythonhosted.org/packages/6c/49/75dda409b94841f01cbbc34114c9b67ec618265084e4d12d37ab838f4fd3/"
        "face_recognition-1.3.0.tar.gz",
        "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    ),
}

# (archive, path inside it, fixture name)
PHOTOS = [
    ("insightface", "insightface-0.7.3/insightface/data/images/t1.jpg", "group.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg", "obama.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg", "obama2.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg", "biden.jpg"),
]


def download(name):
    url, sha256 = ARCHIVES[name]
    data = urllib.request.urlopen(url).read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{url} has SHA-256 {digest}, expected {sha256}")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def save(image, name, longest=640):
    image = image.convert("RGB")
    scale = longest / max(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    image.save(OUT / name, "JPEG", quality=88)
    print(f"{name}: {image.width}×{image.height}, {(OUT / name).stat().st_size} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    save(Image.fromarray(skimage.data.astronaut()), "astronaut.jpg")
    save(Image.fromarray(skimage.data.coffee()), "coffee.jpg")
    archives = {}
    for archive, path, name in PHOTOS:
        if archive not in archives:
            archives[archive] = download(archive)
        save(Image.open(archives[archive].extractfile(path)), name)


if __name__ == "__main__":
    main()
