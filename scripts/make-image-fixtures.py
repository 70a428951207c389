"""Writes the small image fixtures of Tests/AerieImagingTests/Fixtures with Pillow (run once; the files are committed).

- quadrants-orientation-6.jpg: a 64 × 32 picture stored sideways with EXIF orientation 6 and GPS coordinates:
  upright it is 32 × 64, red at the top left, green top right, blue bottom left, white bottom right.
- quadrants.png (with an alpha channel over part of it), quadrants.webp: the upright picture in the other formats.
- truncated.jpg: the first half of a JPEG.
- bomb.png: a valid PNG header claiming 100,000 × 100,000 pixels, followed by a tiny IDAT.
- not-an-image.jpg: a PDF's first bytes under a .jpg name.
- located.png, located.webp: small images with GPS coordinates in their Exif chunk.
"""
import io
import struct
import sys
import zlib
from pathlib import Path

from PIL import Image

out = Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/AerieImagingTests/Fixtures")
out.mkdir(parents=True, exist_ok=True)

upright = Image.new("RGB", (32, 64))
for x in range(32):
    for y in range(64):
        left, top = x < 16, y < 32
        upright.putpixel((x, y), (255, 0, 0) if left and top else (0, 255, 0) if top else (0, 0, 255) if left else (255, 255, 255))

# Stored sideways: orientation 6 means "rotate 90° clockwise to view", so store the picture turned 90° anticlockwise.
stored = upright.transpose(Image.Transpose.ROTATE_90)
exif = Image.Exif()
exif[0x0112] = 6
gps = {1: "N", 2: (45.0, 30.0, 0.0), 3: "E", 4: (9.0, 11.0, 0.0)}
exif[0x8825] = gps
stored.save(out / "quadrants-orientation-6.jpg", quality=95, exif=exif.tobytes())

rgba = upright.convert("RGBA")
for x in range(4):
    for y in range(4):
        rgba.putpixel((x, y), (0, 0, 0, 0))  # transparent corner: decodes onto white
rgba.save(out / "quadrants.png")
upright.save(out / "quadrants.webp", lossless=True)

buffer = io.BytesIO()
Image.new("RGB", (256, 256), (10, 120, 200)).save(buffer, "JPEG", quality=90)
data = buffer.getvalue()
(out / "truncated.jpg").write_bytes(data[: len(data) // 2])


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
bomb += chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b"")
(out / "bomb.png").write_bytes(bomb)
(out / "not-an-image.jpg").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
small = Image.new("RGB", (16, 8), (200, 30, 30))
small.save(out / "located.png", exif=exif.tobytes())
small.save(out / "located.webp", exif=exif.tobytes(), lossless=True)
print("wrote", sorted(p.name for p in out.iterdir()))
