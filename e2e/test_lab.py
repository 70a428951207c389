"""The Lab app against a real `aerie serve`: the catalog, validation, train → evaluate → commit over HTTP and through
the CLI, opaque ids, the admin's records, rewind and re-emit, the human log format, and both pages in headless Chromium."""
import json
import os
import re
import subprocess

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import Server, aerie_binary, wait_for
from test_console import browser, click, sign_in, wait  # noqa: F401  (fixtures and helpers)

LAB = "/v1/apps/lab"


@pytest.fixture(scope="module")
def lab(workdir):
    server = Server(workdir / "lab", extra_args=["--apps", "lab", "--allow-signup", "--rate-limit", "0", "--log-format", "human"]).start()
    sessions = {}
    for user in ("lena", "omar"):
        created = requests.post(server.url + "/v1/auth/signup", json={"username": user, "password": f"{user}-long-password"}, timeout=10)
        assert created.status_code == 201, created.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {server.login(user, f'{user}-long-password')}"
        sessions[user] = session
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {server.login()}"
    sessions["admin"] = admin
    yield server, sessions
    server.stop()


def settled(server, session, experiment_id, statuses=("trained", "evaluated", "failed")):
    def check():
        body = session.get(f"{server.url}{LAB}/experiments/{experiment_id}", timeout=10).json()
        return body if body["status"] in statuses else None
    return wait_for(check, timeout=120, what=f"experiment to reach {statuses}")


def test_train_evaluate_commit_over_http(lab):
    server, sessions = lab
    lena, omar, admin = sessions["lena"], sessions["omar"], sessions["admin"]
    catalog = lena.get(server.url + LAB + "/catalog", timeout=10).json()
    assert [d["name"] for d in catalog["datasets"]] == ["iris", "height_weight"]
    assert {m["name"] for m in catalog["models"]} == {"svm", "logistic_regression", "decision_tree", "random_forest", "naive_bayes"}

    broken = lena.post(server.url + LAB + "/experiments", json={"dataset": "iris", "model": "svm", "test_split": 0,
                                                                "hyperparameters": {"C": "big", "degree": 3}}, timeout=10)
    assert broken.status_code == 422 and broken.headers["Content-Type"] == "application/problem+json"
    errors = broken.json()["errors"]
    assert sorted(e["rule"] for e in errors) == ["hyperparameters", "hyperparameters", "test_split"]
    assert all({"field", "rule", "detail", "pointer"} <= set(e) for e in errors)
    malformed = lena.post(server.url + LAB + "/experiments", data="{", headers={"Content-Type": "application/json"}, timeout=10)
    assert malformed.status_code == 400
    wrong_type = lena.post(server.url + LAB + "/experiments", json={"dataset": "iris", "model": "svm", "test_split": "0.2"}, timeout=10)
    assert wrong_type.status_code == 400

    created = lena.post(server.url + LAB + "/experiments", json={"dataset": "iris", "model": "svm"}, timeout=10)
    assert created.status_code == 202 and created.json()["status"] == "queued" and created.json()["state"] == "draft"
    experiment_id = created.json()["id"]
    trained = settled(server, lena, experiment_id)
    assert trained["status"] == "trained" and trained["metrics"] is None
    assert lena.post(f"{server.url}{LAB}/experiments/{experiment_id}/evaluate", timeout=10).status_code == 202
    evaluated = settled(server, lena, experiment_id, ("evaluated", "failed"))
    assert evaluated["metrics"]["accuracy"] >= 0.85, evaluated
    print("e2e svm/iris accuracy", evaluated["metrics"]["accuracy"])

    for method, path in (("get", ""), ("post", "/evaluate"), ("post", "/commit"), ("delete", "")):
        assert getattr(omar, method)(f"{server.url}{LAB}/experiments/{experiment_id}{path}", timeout=10).status_code == 404
    forged = experiment_id[:-2] + ("AA" if not experiment_id.endswith("AA") else "BB")
    assert lena.get(f"{server.url}{LAB}/experiments/{forged}", timeout=10).status_code == 404
    assert admin.get(f"{server.url}{LAB}/experiments/{experiment_id}", timeout=10).json()["owner"] == "lena"

    committed = lena.post(f"{server.url}{LAB}/experiments/{experiment_id}/commit", timeout=30)
    assert committed.status_code == 200 and committed.json()["state"] == "committed" and committed.json()["id"] == experiment_id
    assert lena.patch(f"{server.url}{LAB}/experiments/{experiment_id}", json={"test_split": 0.3}, timeout=10).status_code == 409
    assert lena.delete(f"{server.url}{LAB}/experiments/{experiment_id}", timeout=10).status_code == 409
    assert lena.post(f"{server.url}{LAB}/experiments/{experiment_id}/evaluate", timeout=10).status_code == 409
    listed = lena.get(f"{server.url}{LAB}/experiments?state=committed", timeout=10).json()["items"]
    assert [e["id"] for e in listed] == [experiment_id]

    # The admin's view of the log: records on the seed's aggregators, consumer offsets, rewind and re-emit live.
    assert lena.get(server.url + LAB + "/records", timeout=10).status_code == 403
    records = admin.get(server.url + LAB + "/records?topic=storageRecord", timeout=10).json()["items"]
    assert {(r["source_service"], r["destination_service"], r["payload"]) for r in records} == {("session", "storage", "archive_data")}
    groups = admin.get(server.url + LAB + "/consumers", timeout=10).json()["groups"]
    assert any(g["group"] == "lab-projection" and g["topic"] == "session" and g["lag"] == 0 for g in groups)
    before = admin.get(server.url + LAB + "/experiments", timeout=10).json()
    rewound = admin.post(server.url + LAB + "/consumers/lab-projection/rewind", json={"topic": "session", "offset": 0}, timeout=30)
    assert rewound.status_code == 200 and rewound.json()["lag"] == 0
    reemitted = admin.post(server.url + LAB + "/records/session/0/reemit", timeout=30)
    assert reemitted.status_code == 201 and reemitted.json()["reemitted_from"] == "session@0"
    assert admin.get(server.url + LAB + "/experiments", timeout=10).json() == before

    paths = requests.get(server.url + "/openapi.json", timeout=10).json()["paths"]
    assert "422" in paths[LAB + "/experiments"]["post"]["responses"]
    assert "409" in paths[LAB + "/experiments/{id}/commit"]["post"]["responses"]


def lab_cli(server, session, *args, check=True):
    token = session.headers["Authorization"].split(" ", 1)[1]
    completed = subprocess.run([aerie_binary(), "lab", *args], capture_output=True, text=True, timeout=300,
                               env={**os.environ, "AERIE_URL": server.url, "AERIE_TOKEN": token})
    if check:
        assert completed.returncode == 0, f"aerie lab {' '.join(args)}:\n{completed.stdout}\n{completed.stderr}"
    return completed


def test_cli_trains_evaluates_and_commits(lab):
    server, sessions = lab
    omar = sessions["omar"]
    catalog = lab_cli(server, omar, "catalog").stdout
    assert "iris" in catalog and "height_weight" in catalog and "random_forest" in catalog and "hinge" in catalog

    refused = lab_cli(server, omar, "train", "--dataset", "iris", "--model", "svm", "--param", "C=-1", "--param", "kernel=cubic",
                      "--test-split", "2", check=False)
    assert refused.returncode == 2
    lines = [line for line in refused.stderr.splitlines() if not line.startswith("error:")]
    assert len(lines) == 3 and any(line.startswith("test_split (test_split): ") for line in lines), refused.stderr
    assert any(line.startswith("hyperparameters.C (hyperparameters): ") for line in lines)

    trained = lab_cli(server, omar, "train", "--dataset", "iris", "--model", "svm", "--param", "C=1.0", "--loss", "hinge",
                      "--algorithm", "smo", "--test-split", "0.2", "--follow", "--json")
    experiment = json.loads(trained.stdout.strip().splitlines()[-1])
    assert experiment["status"] == "trained" and experiment["settings"]["hyperparameters"]["C"] == 1
    evaluated = json.loads(lab_cli(server, omar, "evaluate", experiment["id"], "--follow", "--json").stdout.strip().splitlines()[-1])
    assert evaluated["status"] == "evaluated" and evaluated["metrics"]["accuracy"] >= 0.85
    drafts = lab_cli(server, omar, "drafts").stdout
    assert experiment["id"] in drafts and "evaluated" in drafts
    human = lab_cli(server, omar, "commit", experiment["id"]).stdout
    assert "committed" in human and "confusion matrix" in human
    listed = json.loads(lab_cli(server, omar, "experiments", "--json").stdout)["items"]
    assert [e["id"] for e in listed] == [experiment["id"]]

    forest = lab_cli(server, omar, "train", "--dataset", "height_weight", "--model", "random_forest", "--follow")
    forest_id = forest.stdout.split()[0]
    result = lab_cli(server, omar, "evaluate", forest_id, "--follow").stdout
    found = re.search(r"accuracy (\d\.\d+)", result)
    assert found, forest.stdout + result
    accuracy = float(found.group(1))
    print("e2e random_forest/height_weight accuracy", accuracy)
    assert accuracy >= 0.75


def test_human_log_format(lab):
    server, _ = lab
    lines = [line for line in server.log_path.read_text().splitlines() if line.startswith("| DATE:")]
    assert lines, "no human log lines"
    pattern = re.compile(r"^\| DATE: \d{2}/\d{2}/\d{4} \| TIME: \d{2}:\d{2}:\d{2} \| \[ (REST|TASK|EVENT) @ [^\]]+ \] ")
    assert all(pattern.match(line) for line in lines), [line for line in lines if not pattern.match(line)][:3]
    assert any("lab app ready" in line for line in lines)


def test_pages_train_evaluate_commit_and_administer(lab, browser):  # noqa: F811
    server, sessions = lab
    browser.delete_all_cookies()
    sign_in(browser, server, path="/lab/", username="lena", password="lena-long-password")
    assert browser.current_url.endswith("/lab/")
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#catalog-datasets tr[data-dataset]")) == 2)
    Select(browser.find_element(By.ID, "train-dataset")).select_by_value("iris")
    Select(browser.find_element(By.ID, "train-model")).select_by_value("svm")
    c = wait(browser, lambda b: b.find_element(By.ID, "param-model-C"))
    c.clear()
    c.send_keys("-1")
    wait(browser, lambda b: "invalid" in b.find_element(By.ID, "param-model-C").get_attribute("class"))
    assert not browser.find_element(By.ID, "train-button").is_enabled()
    assert "at least" in browser.find_element(By.ID, "param-model-C-error").text
    c.clear()
    c.send_keys("2")
    wait(browser, lambda b: b.find_element(By.ID, "train-button").is_enabled())
    drafts_before = len(browser.find_elements(By.CSS_SELECTOR, "#drafts tr[data-id]"))
    browser.find_element(By.ID, "train-button").click()
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#drafts tr[data-id]")) == drafts_before + 1)
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '#drafts tr[data-status="trained"] button[data-action="evaluate"]'), timeout=120)
    click(browser, '#drafts tr[data-status="trained"] button[data-action="evaluate"]')
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '#drafts tr[data-status="evaluated"]'), timeout=120)
    click(browser, '#drafts tr[data-status="evaluated"] td')
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#draft-matrix svg.matrix rect")) == 9)
    committed_before = len(browser.find_elements(By.CSS_SELECTOR, "#committed tr[data-id]"))
    click(browser, '#drafts tr[data-status="evaluated"] button[data-action="commit"]')
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#committed tr[data-id]")) == committed_before + 1, timeout=60)
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#committed-chart svg rect"))

    # A user is refused the admin page; the admin sees records, re-emits one and rewinds the projection.
    browser.get(server.url + "/lab/admin")
    assert "Lab admin" not in browser.title
    browser.delete_all_cookies()
    sign_in(browser, server, path="/lab/admin")
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#records tr[data-topic]")) > 0)
    Select(browser.find_element(By.ID, "records-topic")).select_by_value("sessionRecord")
    browser.find_element(By.ID, "records-button").click()
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#records tr[data-topic]")
         and all(r.get_attribute("data-topic") == "sessionRecord" for r in b.find_elements(By.CSS_SELECTOR, "#records tr[data-topic]")))
    click(browser, '#records tr[data-topic="sessionRecord"] button[data-action="reemit"]')
    wait(browser, lambda b: "Re-emitted" in b.find_element(By.ID, "flash").text)
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '#consumers tr[data-group="lab-projection"] button[data-action="rewind"]'))
    click(browser, '#consumers tr[data-group="lab-projection"][data-topic="session"] button[data-action="rewind"]')
    wait(browser, lambda b: "Rewound lab-projection" in b.find_element(By.ID, "flash").text)
