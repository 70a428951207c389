"""The package archives the face photos come from, pinned by SHA-256 (scripts/make-face-fixtures.py and
scripts/faces-threshold.py read them)."""
import hashlib
import io
import tarfile
import urllib.request

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


def download(name):
    url, sha256 = ARCHIVES[name]
    data = urllib.request.urlopen(url).read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{url} has SHA-256 {digest}, expected {sha256}")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
