"""Object-level authorization, generated from the route table (issue 17): on a real `aerie serve` with every app and
its models, user "owner" creates one resource of every kind (an invocation, a Pipeline dataset, an Imagine image, a
Gallery photo with a share link, a Faces person with a face, a watch and a cluster, a Lab experiment, an S3 credential); then, for every operation of
`/openapi.json`:

- without credentials, every operation that needs them answers 401;
- every admin-only operation answers 403 to user "other";
- every operation on a per-user resource (a path parameter under /v1/apps/ or /v1/invocations/), filled with the
  owner's ids, answers "other" 404 (operations that take signed links instead of credentials: 401/403/404), with a
  body that would otherwise be accepted, so validation cannot answer first;
- every list "other" can read leaks none of the owner's ids;
and the owner's resources are all still there afterwards. A new route with a path parameter under those prefixes
fails the test until it is given an id here: a new app's routes are covered when they land."""
import io
import re
import time

import pytest
import requests

from conftest import REPO, Server, data_with_models, wait_for

FACES = REPO / "Tests" / "AerieFacesTests" / "Fixtures"
IRIS = REPO / "Tests" / "PipelineTests" / "Fixtures" / "iris.csv"
PER_USER = ("/v1/apps/", "/v1/invocations", "/v1/s3/credentials")
# Public by design: a share link works for anyone who has it, until it expires or is revoked.
PUBLIC = {("GET", "/v1/apps/gallery/shared/{token}")}
# Meant to be invoked by anyone too: the Quickstart word counter (its input is the caller's own text).
PUBLIC_FUNCTIONS = {"wordcount"}


@pytest.fixture(scope="module")
def world(workdir):
    data = workdir / "authz" / "data"
    data_with_models(data)
    server = Server(data, extra_args=["--rate-limit", "0", "--allow-signup"]).start()
    sessions = {}
    for user in ("owner", "other"):
        created = requests.post(server.url + "/v1/auth/signup", json={"username": user, "password": f"{user}-long-password"}, timeout=10)
        assert created.status_code == 201, created.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {server.login(user, f'{user}-long-password')}"
        sessions[user] = session
    owner, url = sessions["owner"], server.url
    ids = {}

    def ok(response, *statuses):
        assert response.status_code in (statuses or (200, 201, 202)), f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content and response.headers.get("Content-Type", "").startswith("application/json") else None

    ids["invocation"] = ok(owner.post(url + "/v1/functions/wordcount/invocations", json={"text": "one two two"}, timeout=30))["id"]
    with open(IRIS, "rb") as csv:
        ok(owner.post(url + "/v1/apps/pipeline/datasets?name=authz", data=csv.read(), headers={"Content-Type": "text/csv"}, timeout=60))
    ids["dataset"] = "authz"
    ids["image"] = ok(owner.post(url + "/v1/apps/imagine/images", json={"prompt": "a red fox in the snow"}, timeout=300))["id"]
    photo = (FACES / "obama.jpg").read_bytes()
    ids["photo"] = ok(owner.post(url + "/v1/apps/gallery/photos?filename=a.jpg", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=60))["id"]
    ids["share"] = ok(owner.post(url + f"/v1/apps/gallery/photos/{ids['photo']}/share", json={"expires_in": 3600}, timeout=30))["token"]
    ids["person"] = ok(owner.post(url + "/v1/apps/faces/people", json={"name": "Barack"}, timeout=30))["id"]
    ids["face"] = ok(owner.post(url + f"/v1/apps/faces/people/{ids['person']}/faces", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=60))["face"]["id"]
    ids["watch"] = ok(owner.post(url + "/v1/apps/faces/watches", json={"person_id": ids["person"], "webhook_url": "http://127.0.0.1:9/hook"}, timeout=30))["id"]
    ok(owner.post(url + "/v1/apps/faces/recognize", data=(FACES / "biden.jpg").read_bytes(), headers={"Content-Type": "image/jpeg"}, timeout=60))
    ids["cluster"] = ok(owner.get(url + "/v1/apps/faces/clusters", timeout=30))["groups"][0]["id"]
    ids["s3_credential"] = ok(owner.post(url + "/v1/s3/credentials", json={}, timeout=30))["access_key_id"]
    ids["experiment"] = ok(owner.post(url + "/v1/apps/lab/experiments", json={"dataset": "iris", "model": "svm"}, timeout=30))["id"]
    wait_for(lambda: owner.get(url + f"/v1/apps/pipeline/models/{ids['dataset']}", timeout=10).status_code == 200, timeout=120, what="the owner's model")
    yield server, sessions, ids
    server.stop()


def fill(method: str, path: str, ids: dict) -> tuple:
    """The owner's ids for a per-user operation's parameters, and a body that the route would accept from its owner."""
    photo = (FACES / "obama2.jpg").read_bytes()
    values = {
        "/v1/invocations/{id}": {"id": ids["invocation"]},
        "/v1/apps/pipeline/datasets/{name}": {"name": ids["dataset"]},
        "/v1/apps/pipeline/models/{name}": {"name": ids["dataset"]},
        "/v1/apps/imagine/images/{id}": {"id": ids["image"]},
        "/v1/apps/gallery/photos/{id}": {"id": ids["photo"], "token": ids["share"], "size": "small"},
        "/v1/apps/faces/people/{id}": {"id": ids["person"], "face": ids["face"]},
        "/v1/apps/faces/crops/{id}": {"id": ids["face"]},
        "/v1/apps/faces/watches/{id}": {"id": ids["watch"]},
        "/v1/apps/faces/clusters/{id}": {"id": ids["cluster"]},
        "/v1/apps/lab/experiments/{id}": {"id": ids["experiment"]},
        "/v1/s3/credentials/{id}": {"id": ids["s3_credential"]},
    }
    chosen = next((v for prefix, v in values.items() if path.startswith(prefix)), None)
    if chosen is None:
        return None, None
    filled = re.sub(r"\{(\w+)\}", lambda m: chosen[m.group(1)], path)
    bodies = {
        "/predict": {"json": {"rows": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}},
        "/faces/people/{id}/faces": {"data": photo, "headers": {"Content-Type": "image/jpeg"}},
        "/name": {"json": {"name": "Someone"}},
        "/share": {"json": {"expires_in": 60}},
        "/lab/experiments/{id}": {"json": {"test_split": 0.3}},
    }
    body = next((b for suffix, b in bodies.items() if path.endswith(suffix)), None)
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = {"json": {"caption": "mine now"} if method == "PATCH" else {}}
    return filled, body or {}


def operations(server):
    document = requests.get(server.url + "/openapi.json", timeout=10).json()
    for path, entries in document["paths"].items():
        for method, operation in entries.items():
            yield method.upper(), path, operation.get("x-aerie-access", "")


def test_no_user_reaches_another_users_resources(world):
    server, sessions, ids = world
    other = sessions["other"]
    checked, problems = [], []
    for method, path, access in operations(server):
        if method == "HEAD" or (method, path) in PUBLIC:
            continue
        url = server.url + re.sub(r"\{(\w+)\}", "x", path)
        if access != "no credentials" and not path.startswith(("/console", "/kit")):
            response = requests.request(method, url, timeout=30)
            if response.status_code != 401:
                problems.append(f"{method} {path} without credentials: {response.status_code}")
        if "the admin role" in access and not path.startswith("/console"):
            response = other.request(method, url, json={}, timeout=30)
            if response.status_code != 403:
                problems.append(f"{method} {path} (admin only) as a user: {response.status_code}")
        if "{" in path and path.startswith(PER_USER) and "the admin role" not in access:
            filled, body = fill(method, path, ids)
            if filled is None:
                problems.append(f"{method} {path}: a per-user route this test cannot fill yet; give it the owner's id in fill()")
                continue
            response = other.request(method, server.url + filled, timeout=120, **body)
            allowed = {401, 403, 404} if access == "no credentials" else {404}
            if response.status_code not in allowed:
                problems.append(f"{method} {filled} as another user: {response.status_code} {response.text[:200]}")
            checked.append(f"{method} {path}")
        elif method == "GET" and path.startswith(PER_USER) and "{" not in path:
            response = other.get(server.url + path, timeout=60)
            leaked = [name for name, value in ids.items() if value in response.text]
            if leaked:
                problems.append(f"GET {path} as another user shows the owner's {', '.join(leaked)}")
            checked.append(f"GET {path} (list)")
    # An app's functions fed by objects, queues or topics take input naming any user's data: only admins invoke them.
    for function in other.get(server.url + "/v1/functions", timeout=30).json()["items"]:
        if function["name"] in PUBLIC_FUNCTIONS or not any(t.startswith(("object:", "queue:", "topic:")) for t in function["triggers"]):
            continue
        if not function.get("admin_only"):
            problems.append(f"function {function['name']} ({', '.join(function['triggers'])}) can be invoked by any user")
        for route in ("invoke", "invocations"):
            response = other.post(server.url + f"/v1/functions/{function['name']}/{route}", json={"owner": "owner"}, timeout=30)
            if response.status_code != 403:
                problems.append(f"POST /v1/functions/{function['name']}/{route} as a user: {response.status_code}")
        checked.append(f"function {function['name']}")
    assert not problems, "\n".join(problems)
    assert len(checked) >= 30, checked
    # Nothing the other user tried changed the owner's resources.
    owner = sessions["owner"]
    for path in (f"/v1/invocations/{ids['invocation']}", f"/v1/apps/pipeline/datasets/{ids['dataset']}", f"/v1/apps/imagine/images/{ids['image']}",
                 f"/v1/apps/gallery/photos/{ids['photo']}", f"/v1/apps/faces/people/{ids['person']}", f"/v1/apps/faces/watches/{ids['watch']}",
                 f"/v1/apps/lab/experiments/{ids['experiment']}"):
        assert owner.get(server.url + path, timeout=30).status_code == 200, path
    assert ids["s3_credential"] in owner.get(server.url + "/v1/s3/credentials", timeout=30).text
    photo = owner.get(server.url + f"/v1/apps/gallery/photos/{ids['photo']}", timeout=30).json()
    assert photo.get("caption") != "mine now"
    assert owner.get(server.url + f"/v1/apps/faces/people/{ids['person']}", timeout=30).json()["faces"] == 1
