"""Generated test photos for the Gallery load test and benchmark: varied JPEGs made with Pillow and numpy.

Each photo differs in size (about 0.3 to 2 megapixels, several aspect ratios), in content (a landscape with a sun and
hills, overlapping shapes, a smooth colour field, stripes, a tiled pattern) and in colours, with sensor-like noise so
the JPEGs are about as large as camera photos of that size. The set is deterministic for a seed and cached in a folder
(with a .gitignore of its own, so a cache under bench/results is never committed).

    from photos import photo_set, jpeg_photo, unique
    paths = photo_set(Path("bench/results/gallery-load/photos"), count=24)
    body = unique(paths[0].read_bytes(), "upload-17")   # same picture, different bytes (not an exact duplicate)
"""
import io
import json
import math
import random
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

VERSION = 1
ASPECTS = [(4, 3), (3, 2), (16, 9), (1, 1), (3, 4), (2, 3)]
KINDS = ["landscape", "shapes", "field", "stripes", "tiles"]


def _colour(rng):
    return tuple(rng.randrange(256) for _ in range(3))


def _size(rng, megapixels=None):
    aspect = rng.choice(ASPECTS)
    mp = megapixels if megapixels is not None else rng.uniform(0.3, 2.0)
    height = math.sqrt(mp * 1_000_000 * aspect[1] / aspect[0])
    return max(16, round(height * aspect[0] / aspect[1])), max(16, round(height))


def _landscape(rng, width, height):
    image = Image.new("RGB", (width, height))
    sky_top, sky_bottom = np.array(_colour(rng), float), np.array(_colour(rng), float)
    t = np.linspace(0, 1, height)[:, None, None]
    pixels = (sky_top * (1 - t) + sky_bottom * t) * np.ones((1, width, 1))
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    r = rng.uniform(0.04, 0.12) * min(width, height)
    cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.4) * height
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_colour(rng))
    for layer in range(rng.randint(2, 4)):
        base = height * (0.45 + 0.15 * layer)
        amplitude = rng.uniform(0.03, 0.12) * height
        frequency = rng.uniform(1, 5)
        phase = rng.uniform(0, 6.3)
        xs = np.linspace(0, width, 64)
        ys = base + amplitude * np.sin(xs / width * frequency * 6.28 + phase)
        draw.polygon([(0, height)] + list(zip(xs.tolist(), ys.tolist())) + [(width, height)], fill=_colour(rng))
    return image


def _shapes(rng, width, height):
    image = Image.new("RGB", (width, height), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(8, 40)):
        x0, y0 = rng.uniform(-0.2, 1) * width, rng.uniform(-0.2, 1) * height
        w, h = rng.uniform(0.05, 0.5) * width, rng.uniform(0.05, 0.5) * height
        shape = rng.choice(["ellipse", "rectangle", "polygon"])
        if shape == "ellipse":
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=_colour(rng))
        elif shape == "rectangle":
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=_colour(rng))
        else:
            draw.polygon([(x0 + rng.uniform(0, w), y0 + rng.uniform(0, h)) for _ in range(rng.randint(3, 6))], fill=_colour(rng))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2)))


def _field(rng, width, height):
    grid = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 256, (rng.randint(3, 9), rng.randint(3, 9), 3), dtype=np.uint8)
    return Image.fromarray(grid).resize((width, height), Image.BICUBIC)


def _stripes(rng, width, height):
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(0.02, 0.2) * max(width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    wave = 0.5 + 0.5 * np.sin((xs * math.cos(angle) + ys * math.sin(angle)) / period * 6.283)
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    return Image.fromarray((a * wave[..., None] + b * (1 - wave[..., None])).astype(np.uint8))


def _tiles(rng, width, height):
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    step = max(8, int(rng.uniform(0.03, 0.15) * min(width, height)))
    palette = [_colour(rng) for _ in range(rng.randint(2, 6))]
    for y in range(0, height, step):
        for x in range(0, width, step):
            draw.rectangle([x, y, x + step, y + step], fill=rng.choice(palette))
    return image


def render(seed: int, megapixels=None, kind=None) -> Image.Image:
    """One generated photo: a random kind, size and colours for `seed`, with sensor-like noise."""
    rng = random.Random(seed)
    width, height = _size(rng, megapixels)
    kind = kind or rng.choice(KINDS)
    image = {"landscape": _landscape, "shapes": _shapes, "field": _field, "stripes": _stripes, "tiles": _tiles}[kind](rng, width, height)
    noise = np.random.default_rng(seed).normal(0, rng.uniform(2, 8), (height, width, 1)).astype(np.float32)
    pixels = np.asarray(image, np.float32) + noise
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def jpeg_photo(seed: int, megapixels=None, kind=None, quality=None) -> bytes:
    """A generated photo as JPEG bytes (quality 82–92 unless given)."""
    rng = random.Random(seed * 7919 + 1)
    buffer = io.BytesIO()
    render(seed, megapixels, kind).save(buffer, "JPEG", quality=quality or rng.randint(82, 92))
    return buffer.getvalue()


def photo_set(folder: Path, count: int = 24, seed: int = 2024) -> list:
    """`count` varied JPEGs in `folder` (generated on first use, reused after); returns their paths."""
    folder = Path(folder)
    manifest = folder / "manifest.json"
    expected = {"version": VERSION, "count": count, "seed": seed}
    if manifest.exists():
        try:
            saved = json.loads(manifest.read_text())
            paths = [folder / name for name in saved.get("files", [])]
            if {k: saved.get(k) for k in expected} == expected and all(p.exists() for p in paths):
                return paths
        except (ValueError, OSError):
            pass
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".gitignore").write_text("# generated by loadtests/gallery/photos.py\n*\n")
    files, details = [], []
    for index in range(count):
        data = jpeg_photo(seed + index)
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
        name = f"photo-{index:03d}-{size[0]}x{size[1]}.jpg"
        (folder / name).write_bytes(data)
        files.append(name)
        details.append({"file": name, "width": size[0], "height": size[1], "bytes": len(data)})
    manifest.write_text(json.dumps({**expected, "files": files, "photos": details}, indent=1))
    return [folder / name for name in files]


def unique(jpeg: bytes, tag: str) -> bytes:
    """The same JPEG with a comment segment naming `tag` after the start-of-image marker: the same picture (a
    near-duplicate at most) but other bytes, so the Gallery does not store it as an exact duplicate of an earlier upload."""
    if jpeg[:2] != b"\xff\xd8":
        return jpeg
    comment = f"aerie-load {tag}".encode()[:60000]
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


if __name__ == "__main__":  # a quick look: python loadtests/gallery/photos.py /tmp/photos 8
    import sys
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/gallery-photos")
    for path in photo_set(target, int(sys.argv[2]) if len(sys.argv) > 2 else 8):
        print(path, path.stat().st_size)
