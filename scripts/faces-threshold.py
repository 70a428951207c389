#!/usr/bin/env python3
"""Measures Faces' match threshold on labelled real photos: the false-accept / false-reject table of docs/faces.md.

The photos come from packages, pinned by SHA-256 (the same archives as scripts/make-face-fixtures.py):
- face_recognition 1.3.0's tests/test_images: five photos of Barack Obama (obama, obama2, obama3, two partial faces)
  and one of Joe Biden;
- insightface 0.7.3's data/images: Tom_Hanks_54745.png and t1.jpg (a group of six people, each a different
  identity, none of them in another photo);
- scikit-image's astronaut (Eileen Collins), from Tests/AerieFacesTests/Fixtures.
Every face `aerie bench faces --embeddings` finds gets its photo's identity (t1's faces one identity each); every
pair of faces is scored: same identity below the threshold is a true accept, different identities below it a false
accept. Prints the table (markdown) and writes it as JSON to --out.

    .venv/bin/python scripts/faces-threshold.py --bin .build/release/aerie --data aerie-data
"""
import argparse
import itertools
import json
import math
import subprocess
import tempfile
from pathlib import Path

from face_archives import download

REPO = Path(__file__).resolve().parent.parent

LABELLED = [
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg", "obama"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg", "obama"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama3.jpg", "obama"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama_partial_face.jpg", "obama"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama_partial_face2.jpg", "obama"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg", "biden"),
    ("insightface", "insightface-0.7.3/insightface/data/images/Tom_Hanks_54745.png", "hanks"),
    ("insightface", "insightface-0.7.3/insightface/data/images/t1.jpg", None),  # six people, one identity per face
]
THRESHOLDS = [0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "aerie"))
    parser.add_argument("--data", default=str(REPO / "aerie-data"))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "faces-threshold.json"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aerie-faces-threshold-"))
    labels = {}
    archives = {}
    for archive, member, identity in LABELLED:
        if archive not in archives:
            archives[archive] = download(archive)
        path = folder / Path(member).name
        path.write_bytes(archives[archive].extractfile(member).read())
        labels[path.name] = identity
    astronaut = folder / "astronaut.jpg"
    astronaut.write_bytes((REPO / "Tests" / "AerieFacesTests" / "Fixtures" / "astronaut.jpg").read_bytes())
    labels[astronaut.name] = "collins"
    output = subprocess.run([args.bin, "bench", "faces", "--data", args.data, "--repetitions", "1", "--search-sizes", "", "--embeddings",
                             *[str(folder / name) for name in labels]], check=True, capture_output=True, text=True).stdout
    faces = []
    for row in (json.loads(line) for line in output.splitlines() if line.startswith("{")):
        found = row.get("found", [])
        if labels[row["image"]] == "collins":
            found = sorted(found, key=lambda face: -face["box"][2] * face["box"][3])[:1]  # HOG also fires on her mission patch
        for index, face in enumerate(found):
            identity = labels[row["image"]] or f"t1-person-{index}"
            faces.append({"image": row["image"], "identity": identity, "embedding": face["embedding"]})
    pairs = []
    for a, b in itertools.combinations(faces, 2):
        distance = math.dist(a["embedding"], b["embedding"])
        pairs.append((a["identity"] == b["identity"], distance, f"{a['image']}~{b['image']}"))
    positives = [p for p in pairs if p[0]]
    negatives = [p for p in pairs if not p[0]]
    rows = []
    for threshold in THRESHOLDS:
        false_rejects = sum(1 for p in positives if p[1] >= threshold)
        false_accepts = sum(1 for p in negatives if p[1] < threshold)
        rows.append({"threshold": threshold, "false_accepts": false_accepts, "negatives": len(negatives), "false_rejects": false_rejects,
                     "positives": len(positives)})
    identities = sorted({face["identity"] for face in faces})
    summary = {"faces": len(faces), "identities": len(identities), "positive_pairs": len(positives), "negative_pairs": len(negatives),
               "largest_same_person_distance": max((p[1] for p in positives), default=None),
               "smallest_different_people_distance": min((p[1] for p in negatives), default=None),
               "closest_different_pair": min(negatives, key=lambda p: p[1])[2] if negatives else None, "table": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(faces)} faces of {len(identities)} identities; {len(positives)} same-person pairs, {len(negatives)} different-people pairs.")
    print(f"Same person: largest distance {summary['largest_same_person_distance']:.3f}. Different people: smallest distance "
          f"{summary['smallest_different_people_distance']:.3f} ({summary['closest_different_pair']}).\n")
    print("| threshold | false accepts | false rejects |\n|---|---|---|")
    for row in rows:
        print(f"| {row['threshold']:.2f} | {row['false_accepts']} / {row['negatives']} | {row['false_rejects']} / {row['positives']} |")


if __name__ == "__main__":
    main()
