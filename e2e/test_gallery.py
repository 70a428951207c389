"""Gallery against a real `aerie serve` with the real classifier (EfficientNet-Lite0) and MiniLM: two users sign up,
upload real photos with `requests`, wait for the tags, search by meaning, share without the location, and the page
in headless Chromium (drag-free upload through the file input, grid, search, delete)."""
import io
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from PIL import Image
from selenium.webdriver.common.by import By

from conftest import REPO, Server, data_with_models, wait_for
from test_console import browser, sign_in, wait  # noqa: F401  (fixtures and helpers)

PHOTOS = REPO / "Tests" / "AerieVisionTests" / "Fixtures"


def jpeg(name: str, **save) -> bytes:
    """A scikit-image sample photo (the classifier tests' fixture) as a JPEG."""
    buffer = io.BytesIO()
    Image.open(PHOTOS / f"{name}.ppm").convert("RGB").save(buffer, "JPEG", quality=92, **save)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def gallery(workdir):
    server = Server(link_models(workdir / "gallery"), extra_args=["--allow-signup", "--rate-limit", "0"]).start()
    sessions = {}
    for user in ("gina", "hugo"):
        created = requests.post(server.url + "/v1/auth/signup", json={"username": user, "password": f"{user}-long-password"}, timeout=10)
        assert created.status_code == 201, created.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {server.login(user, f'{user}-long-password')}"
        sessions[user] = session
    yield server, sessions
    server.stop()


def link_models(data: Path) -> Path:
    return data_with_models(data, names=("minilm", "onnxruntime", "classifier"))


def readme_gallery_script() -> str:
    section = (REPO / "README.md").read_text().split("## Gallery", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README's Gallery section has no ```sh block"
    return match.group(1)


def test_readme_gallery_runs_word_for_word(workdir):
    """Runs README's Gallery block with bash against a fresh server (the admin password generated into
    aerie-data/admin-password, as for a newcomer); only the port differs, and cat.jpg is scikit-image's chelsea."""
    folder = workdir / "gallery-readme"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(jpeg("chelsea"))
    server = Server(link_models(folder / "aerie-data"), extra_env={"AERIE_ADMIN_PASSWORD": ""}).start()
    try:
        script = readme_gallery_script().replace("http://127.0.0.1:8080", server.url)
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=folder, env=dict(os.environ),
                                   capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        out = completed.stdout
        assert '"status":"ready","width":451,"height":300' in out, out
        assert "tabby" in out or "tiger cat" in out, out
        assert '"filename":"cat.jpg"' in out, out
        assert '"Chelsea on the sofa"' in out, out
        assert "/v1/apps/gallery/shared/" in out, out
    finally:
        server.stop()


def upload(server, session, data: bytes, filename: str, **params):
    return session.post(server.url + "/v1/apps/gallery/photos", params={"filename": filename, **params}, data=data,
                        headers={"Content-Type": "image/jpeg"}, timeout=60)


def ready(server, session, photo_id: str) -> dict:
    def done():
        body = session.get(f"{server.url}/v1/apps/gallery/photos/{photo_id}", timeout=10).json()
        return body if body["status"] != "processing" else None
    return wait_for(done, timeout=60, what=f"photo {photo_id} to be processed")


def test_real_photos_are_tagged_found_by_meaning_and_isolated(gallery):
    server, sessions = gallery
    gina, hugo = sessions["gina"], sessions["hugo"]
    start = time.monotonic()
    cat = upload(server, gina, jpeg("chelsea"), "chelsea.jpg")
    assert cat.status_code == 201, cat.text
    assert cat.json()["width"] == 451 and cat.json()["height"] == 300
    coffee = upload(server, gina, jpeg("coffee"), "coffee.jpg")
    assert coffee.status_code == 201, coffee.text
    cat_body = ready(server, gina, cat.json()["id"])
    coffee_body = ready(server, gina, coffee.json()["id"])
    print(f"two uploads tagged in {time.monotonic() - start:.2f} s")
    assert cat_body["status"] == "ready", cat_body
    labels = [tag["label"].lower() for tag in cat_body["tags"]]
    assert len(labels) == 3 and any("cat" in label or "tabby" in label for label in labels), labels
    assert "espresso" in coffee_body["tags"][0]["label"].lower(), coffee_body["tags"]
    assert coffee_body["tags"][0]["score"] > 0.5

    found = gina.get(server.url + "/v1/apps/gallery/photos", params={"q": "kitten"}, timeout=10).json()["items"]
    assert found and found[0]["id"] == cat_body["id"], [item["filename"] for item in found]
    drink = gina.get(server.url + "/v1/apps/gallery/photos", params={"q": "a hot drink"}, timeout=10).json()["items"]
    assert drink and drink[0]["id"] == coffee_body["id"]

    # Thumbnails load from their signed URLs without credentials, as an <img> tag would.
    thumbnail = requests.get(server.url + cat_body["thumbnails"]["small"], timeout=10)
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) == 256

    # Hugo sees none of it.
    assert hugo.get(server.url + "/v1/apps/gallery/photos", timeout=10).json()["items"] == []
    assert hugo.get(f"{server.url}/v1/apps/gallery/photos/{cat_body['id']}", timeout=10).status_code == 404
    assert hugo.delete(f"{server.url}/v1/apps/gallery/photos/{cat_body['id']}", timeout=10).status_code == 404


def test_bad_uploads_are_problems_and_store_nothing(gallery):
    server, sessions = gallery
    hugo = sessions["hugo"]
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    refused = upload(server, hugo, pdf, "scan.jpg")
    assert refused.status_code == 415 and refused.headers["Content-Type"] == "application/problem+json"
    photo = jpeg("coffee")
    truncated = upload(server, hugo, photo[: len(photo) // 2], "half.jpg")
    assert truncated.status_code == 422, truncated.text
    # A decompression bomb: a valid PNG header claiming 100,000 × 100,000 pixels.
    bomb = (REPO / "Tests" / "AerieImagingTests" / "Fixtures" / "bomb.png").read_bytes()
    too_large = hugo.post(server.url + "/v1/apps/gallery/photos", data=bomb, headers={"Content-Type": "image/png"}, timeout=30)
    assert too_large.status_code == 413, too_large.text
    assert hugo.get(server.url + "/v1/apps/gallery/photos", timeout=10).json()["items"] == []


def test_the_page_uploads_shows_searches_and_deletes(gallery, browser, tmp_path):  # noqa: F811
    server, sessions = gallery
    files = []
    for name in ("chelsea", "coffee"):
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(jpeg(name, exif=b""))
        files.append(str(path))
    browser.delete_all_cookies()
    sign_in(browser, server, path="/gallery/", username="hugo", password="hugo-long-password")
    assert browser.current_url.endswith("/gallery/")
    browser.find_element(By.ID, "files").send_keys("\n".join(files))
    # Both uploads show their progress rows, then the grid shows both thumbnails once tagged.
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, ".upload-row .ok")) == 2, timeout=60)
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "figure.photo img")) == 2, timeout=90)
    images = browser.find_elements(By.CSS_SELECTOR, "figure.photo img")
    assert all(image.get_attribute("loading") == "lazy" for image in images)
    wait(browser, lambda b: all(b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image) for image in images))
    assert "espresso" in browser.find_element(By.ID, "grid").text.lower()

    query = browser.find_element(By.ID, "query")
    query.send_keys("kitten")
    browser.find_element(By.ID, "search-button").click()
    wait(browser, lambda b: "kitten" in b.find_element(By.ID, "result-summary").text)
    first = browser.find_elements(By.CSS_SELECTOR, "figure.photo")[0]
    assert "chelsea" in first.text

    count = len(browser.find_elements(By.CSS_SELECTOR, "figure.photo"))
    first.find_element(By.CSS_SELECTOR, "button.delete").click()
    browser.switch_to.alert.accept()
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "figure.photo")) == count - 1)
    remaining = sessions["hugo"].get(server.url + "/v1/apps/gallery/photos", timeout=10).json()["items"]
    assert [item["filename"] for item in remaining if item["filename"] == "chelsea.jpg"] == []
