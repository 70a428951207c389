"""The Vectors primitive, self sign-up and sign-in throttling against a real `aerie serve`, with `requests`."""
import requests

from conftest import Server


def test_vector_collection_round_trip(server, admin):
    base = server.url + "/v1/vectors/e2e-notes"
    created = admin.put(base, json={"dimensions": 3, "metric": "cosine"}, timeout=10)
    assert created.status_code == 201, created.text
    assert admin.put(base, json={"dimensions": 3, "metric": "cosine"}, timeout=10).status_code == 200
    conflict = admin.put(base, json={"dimensions": 4, "metric": "cosine"}, timeout=10)
    assert conflict.status_code == 409
    assert conflict.headers["Content-Type"] == "application/problem+json"

    items = {
        "red": ([1, 0, 0], {"colour": "red", "year": 2001}),
        "pink": ([0.9, 0.2, 0], {"colour": "red", "year": 2012}),
        "blue": ([0, 0, 1], {"colour": "blue", "year": 2005}),
    }
    for item_id, (vector, metadata) in items.items():
        stored = admin.put(f"{base}/items/{item_id}", json={"vector": vector, "metadata": metadata}, timeout=10)
        assert stored.status_code == 200, stored.text

    found = admin.post(f"{base}/query", json={"vector": [1, 0, 0], "k": 2}, timeout=10).json()["items"]
    assert [item["id"] for item in found] == ["red", "pink"]
    assert abs(found[0]["score"] - 1.0) < 1e-5
    assert found[0]["metadata"] == {"colour": "red", "year": 2001}

    filtered = admin.post(f"{base}/query", json={"vector": [1, 0, 0], "filter": {"$and": [{"colour": "red"}, {"year": {"$gte": 2010}}]},
                                                 "exact": True}, timeout=10).json()["items"]
    assert [item["id"] for item in filtered] == ["pink"]

    wrong = admin.put(f"{base}/items/bad", json={"vector": [1, 2]}, timeout=10)
    assert wrong.status_code == 422
    assert wrong.json()["type"] == "/problems/unprocessable"
    malformed = admin.post(f"{base}/query", data="{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert malformed.status_code == 400

    described = admin.get(base, timeout=10).json()
    assert described == {"name": "e2e-notes", "dimensions": 3, "metric": "cosine", "count": 3}
    assert admin.delete(f"{base}/items/blue", timeout=10).status_code == 204
    assert admin.delete(base, timeout=10).status_code == 204
    assert admin.get(base, timeout=10).status_code == 404


def test_vector_routes_need_admin_or_scope(server, admin):
    assert requests.get(server.url + "/v1/vectors", timeout=10).status_code == 401
    admin.post(server.url + "/v1/users", json={"username": "vera", "password": "vera-password"}, timeout=10)
    token = server.login("vera", "vera-password")
    denied = requests.get(server.url + "/v1/vectors", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert denied.status_code == 403


def test_signup_password_change_and_throttle(workdir):
    instance = Server(workdir / "signup", extra_args=["--allow-signup", "--rate-limit", "0"]).start()
    try:
        url = instance.url
        short = requests.post(url + "/v1/auth/signup", json={"username": "sam", "password": "short"}, timeout=10)
        assert short.status_code == 422
        created = requests.post(url + "/v1/auth/signup", json={"username": "sam", "password": "sam-long-password"}, timeout=10)
        assert created.status_code == 201, created.text
        assert created.json()["role"] == "user"
        token = instance.login("sam", "sam-long-password")
        changed = requests.post(url + "/v1/auth/password", json={"current": "sam-long-password", "new": "sam-newer-password"},
                                headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert changed.status_code == 200, changed.text
        assert requests.get(url + "/v1/auth/me", headers={"Authorization": f"Bearer {changed.json()['token']}"}, timeout=10).status_code == 200

        # Ten wrong passwords for one name: the eleventh attempt is throttled even with the right password.
        statuses = [requests.post(url + "/v1/auth/login", json={"username": "sam", "password": "wrong-guess"}, timeout=10).status_code
                    for _ in range(10)]
        assert statuses == [401] * 10
        throttled = requests.post(url + "/v1/auth/login", json={"username": "sam", "password": "sam-newer-password"}, timeout=10)
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        # Another user still signs in.
        assert instance.login() != ""
    finally:
        instance.stop()


def test_signup_is_off_by_default(server):
    refused = requests.post(server.url + "/v1/auth/signup", json={"username": "eve", "password": "eve-long-password"}, timeout=10)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
