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

from pathlib import Path

import skimage.data
from face_archives import download
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "Tests/AerieFacesTests/Fixtures"


# (archive, path inside it, fixture name)
PHOTOS = [
    ("insightface", "insightface-0.7.3/insightface/data/images/t1.jpg", "group.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg", "obama.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg", "obama2.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg", "biden.jpg"),
]




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
