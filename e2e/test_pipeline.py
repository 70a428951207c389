"""The Pipeline app end to end: the curl flow with requests, README's Pipeline block word for word, and the page in
headless Chromium (upload a CSV, watch it reach ready, predict with the generated form)."""
import os
import re
import subprocess
import uuid

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import REPO, Server, wait_for
from test_console import browser, sign_in, wait  # noqa: F401  (fixtures and helpers)

IRIS = REPO / "Tests" / "PipelineTests" / "Fixtures" / "iris.csv"
API = "/v1/apps/pipeline"


def finished(server, headers, name, timeout=60):
    def done():
        response = requests.get(f"{server.url}{API}/datasets/{name}", headers=headers, timeout=10)
        if response.status_code != 200:
            return None
        record = response.json()
        return record if record["stage"] in ("ready", "failed") else None
    return wait_for(done, timeout=timeout, interval=0.2, what=f"dataset {name} to be ready or failed")


def test_pipeline_with_requests(server, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    name = f"iris-{uuid.uuid4().hex[:8]}"
    with open(IRIS, "rb") as csv:
        upload = requests.post(f"{server.url}{API}/datasets", headers=auth, timeout=30,
                               files={"file": ("iris.csv", csv, "text/csv")},
                               data={"name": name, "model": "random-forest", "n_estimators": "30"})
    assert upload.status_code == 202, upload.text
    assert upload.json()["version"] == 1

    record = finished(server, auth, name)
    assert record["stage"] == "ready", record
    assert record["report"]["rows_in"] == 150 and record["report"]["target"] == "species"
    assert record["timings"]["train_seconds"] >= 0

    models = requests.get(f"{server.url}{API}/models", headers=auth, timeout=10).json()["items"]
    model = next(item for item in models if item["name"] == name)
    assert model["metrics"]["accuracy"] >= 0.85
    assert len(model["metrics"]["confusion"]) == 3
    assert [f["name"] for f in model["features"]] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]

    predict = requests.post(f"{server.url}{API}/models/{name}/predict", headers=auth, timeout=10, json={"rows": [
        {"sepal_length": 5.0, "sepal_width": 3.4, "petal_length": 1.5, "petal_width": 0.2}]})
    assert predict.status_code == 200, predict.text
    body = predict.json()
    assert body["predictions"] == ["setosa"]
    assert abs(sum(body["probabilities"][0].values()) - 1) < 1e-9

    bad = requests.post(f"{server.url}{API}/models/{name}/predict", headers=auth, timeout=10,
                        json={"rows": [{"sepal_length": "long", "sepal_width": 3.4, "petal_length": 1.5, "petal_width": 0.2}]})
    assert bad.status_code == 400
    assert bad.headers["Content-Type"] == "application/problem+json"
    assert bad.json()["errors"][0]["pointer"] == "/rows/0/sepal_length"

    # The model file is in the bucket, readable by the CLI's format.
    head = requests.head(f"{server.url}/v1/buckets/pipeline/objects/models/admin/{name}/v1.model", headers=auth, timeout=10)
    assert head.status_code == 200

    # Ragged rows end failed with the reason.
    ragged = requests.post(f"{server.url}{API}/datasets?name={name}-ragged", headers={**auth, "Content-Type": "text/csv"},
                           data=b"a,b,c\n1,2,x\n3,4\n", timeout=10)
    assert ragged.status_code == 202, ragged.text
    failed = finished(server, auth, f"{name}-ragged")
    assert failed["stage"] == "failed" and "fields where the header has" in failed["error"]

    # Another user sees none of it.
    other = f"pipe{uuid.uuid4().hex[:6]}"
    created = requests.post(f"{server.url}/v1/users", headers=auth, json={"username": other, "password": "pipeline-pass-1"}, timeout=10)
    assert created.status_code == 201, created.text
    token = server.login(other, "pipeline-pass-1")
    theirs = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{server.url}{API}/datasets/{name}", headers=theirs, timeout=10).status_code == 404
    assert requests.post(f"{server.url}{API}/models/{name}/predict", headers=theirs, json={"rows": [{}]}, timeout=10).status_code == 404
    assert requests.get(f"{server.url}{API}/models", headers=theirs, timeout=10).json()["items"] == []


def readme_pipeline_script() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Pipeline", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README's Pipeline section has no ```sh block"
    return match.group(1)


def test_readme_pipeline_runs_word_for_word(workdir):
    """Runs README's Pipeline block with bash against a fresh server; only the port differs."""
    folder = workdir / "pipeline-readme"
    folder.mkdir()
    server = Server(folder / "aerie-data", extra_env={"AERIE_ADMIN_PASSWORD": ""}).start()
    try:
        script = readme_pipeline_script().replace("http://127.0.0.1:8080", server.url)
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=folder, env=dict(os.environ),
                                   capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        out = completed.stdout
        assert '{"name":"fruit","version":1,"stage":"queued"}' in out or '"version":1' in out, out
        assert "\nready\n" in out, out
        assert '"predictions":["lemon"]' in out, out
        assert '"pointer":"/rows/0/color"' in out, out
    finally:
        server.stop()


def test_page_uploads_trains_and_predicts(browser, server):
    sign_in(browser, server, path="/pipeline/")
    wait(browser, lambda b: b.current_url.rstrip("/").endswith("/pipeline"))

    name = f"page-iris-{uuid.uuid4().hex[:6]}"
    browser.find_element(By.ID, "file").send_keys(str(IRIS))
    browser.find_element(By.ID, "name").send_keys(name)
    Select(browser.find_element(By.ID, "model")).select_by_value("decision-tree")
    browser.find_element(By.ID, "upload-button").click()

    # Live stages: the status shows the dataset and ends ready.
    wait(browser, lambda b: b.find_element(By.ID, "upload-name").text == name)
    wait(browser, lambda b: b.find_element(By.ID, "upload-stage").text == "ready", timeout=60)
    assert "done" in browser.find_element(By.CSS_SELECTOR, '#stages li[data-stage="training"]').get_attribute("class")

    # The model is listed with its metrics and a confusion-matrix picture.
    card = wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, f'.model[data-model="{name}"]')))
    assert "accuracy" in card.text
    assert len(card.find_elements(By.CSS_SELECTOR, "svg.confusion rect")) == 9

    # The predict form is built from the schema of the model just trained.
    wait(browser, lambda b: Select(b.find_element(By.ID, "predict-model")).first_selected_option.get_attribute("value") == name)
    values = {"sepal_length": "6.9", "sepal_width": "3.1", "petal_length": "5.4", "petal_width": "2.1"}
    for feature, value in values.items():
        field = wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, f'#predict-form [data-feature="{feature}"]')))
        field.clear()
        field.send_keys(value)
    browser.find_element(By.ID, "predict-button").click()
    result = wait(browser, lambda b: b.find_element(By.ID, "prediction-result").text or None)
    assert result == "virginica"
    assert "probability" in browser.find_element(By.ID, "probabilities").text.lower()  # (kit.css capitalises headers)
