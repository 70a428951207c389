"""Security basics that need a whole running server (issue 17): no secret ever reaches the server's log, and every
page is sent with the secure headers."""
import json
import re
import secrets

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ADMIN_PASSWORD, Server, data_with_models, free_port
from test_runtimes import shell_zip



def page_login(server, username, password):
    """Signs in through the page form (with its CSRF cookie and field); returns the session's requests.Session."""
    session = requests.Session()
    form = session.get(server.url + "/console/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signed_in = session.post(server.url + "/console/login", data={"username": username, "password": password, "csrf_token": token},
                             allow_redirects=False, timeout=10)
    assert signed_in.status_code == 303, signed_in.text
    return session


def test_secrets_never_reach_the_log(workdir):
    """A server logging at `trace` goes through everything that carries a secret: passwords (right, wrong, changed,
    signed up), tokens, API keys (good and forged), S3 secrets (good and bad signatures), page sessions and their CSRF
    tokens, and a deployed function's secret environment. Not one of them appears in any log line."""
    s3_port = free_port()
    server = Server(workdir / "secrets", extra_args=["--log-level", "trace", "--apps", "quickstart", "--allow-signup",
                                                    "--s3-port", str(s3_port)]).start()
    watched = {"admin password": ADMIN_PASSWORD}
    try:
        token = server.login()
        watched["admin token"] = token
        admin = {"Authorization": f"Bearer {token}"}
        wrong = "wrong-" + secrets.token_hex(8)
        watched["wrong password"] = wrong
        assert requests.post(server.url + "/v1/auth/login", json={"username": "admin", "password": wrong}, timeout=10).status_code == 401

        first, second, signup = (f"pw-{secrets.token_hex(10)}" for _ in range(3))
        watched.update({"user password": first, "changed password": second, "sign-up password": signup})
        assert requests.post(server.url + "/v1/users", json={"username": "carol", "password": first}, headers=admin, timeout=10).status_code == 201
        carol = server.login("carol", first)
        watched["user token"] = carol
        changed = requests.post(server.url + "/v1/auth/password", json={"current": first, "new": second},
                                headers={"Authorization": f"Bearer {carol}"}, timeout=10)
        assert changed.status_code == 200, changed.text
        watched["token after the change"] = changed.json()["token"]
        assert requests.post(server.url + "/v1/auth/signup", json={"username": "dave", "password": signup}, timeout=10).status_code == 201

        key = requests.post(server.url + "/v1/keys", json={"name": "ci", "scopes": ["objects:write"]}, headers=admin, timeout=10).json()["key"]
        watched["API key"] = key
        watched["API key's secret part"] = key.rsplit("_", 1)[1]
        assert requests.get(server.url + "/v1/buckets", headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200
        forged = key[:-4] + "AAAA"
        watched["forged API key"] = forged
        assert requests.get(server.url + "/v1/buckets", headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401

        created = requests.post(server.url + "/v1/s3/credentials", json={}, headers=admin, timeout=10).json()
        watched["S3 secret"] = created["secret_access_key"]
        config = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", region_name="us-east-1", config=config,
                          aws_access_key_id=created["access_key_id"], aws_secret_access_key=created["secret_access_key"])
        s3.put_object(Bucket="quickstart", Key="incoming/secret-test.txt", Body=b"one two two")
        assert s3.get_object(Bucket="quickstart", Key="incoming/secret-test.txt")["Body"].read() == b"one two two"
        bad_secret = secrets.token_hex(20)
        watched["wrong S3 secret"] = bad_secret
        bad = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", region_name="us-east-1", config=config,
                           aws_access_key_id=created["access_key_id"], aws_secret_access_key=bad_secret)
        with pytest.raises(ClientError):
            bad.list_buckets()

        page = page_login(server, "admin", ADMIN_PASSWORD)
        for cookie in page.cookies:
            if cookie.name.startswith("aerie_"):
                watched[f"cookie {cookie.name}"] = cookie.value
        assert page.get(server.url + "/console", timeout=10).status_code == 200

        secret_value = "s3cr3t-" + secrets.token_hex(12)
        watched["function's secret env"] = secret_value
        deployed = requests.put(server.url + "/v1/functions/secretive", data=shell_zip(), timeout=300,
                                headers={**admin, "Content-Type": "application/zip",
                                         "X-Aerie-Function-Config": json.dumps({"runtime": "provided", "secret_env": {"TOKEN": secret_value}})})
        assert deployed.status_code == 201, deployed.text
        assert secret_value not in deployed.text
        assert requests.post(server.url + "/v1/functions/secretive/invoke", json={"n": 1}, headers=admin, timeout=60).status_code == 200
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    # The log did record all this (so the search below means something): requests, the S3 calls, the function.
    for expected in ("/v1/keys", "/v1/auth/password", "/console/login", "secretive"):
        assert expected in log, f"the log has no line about {expected}"
    assert len(log.splitlines()) > 50
    leaked = [name for name, value in watched.items() if value in log]
    assert not leaked, f"in the server log: {leaked}"


def test_every_page_is_sent_with_the_secure_headers(workdir):
    """Every HTML page in /openapi.json, signed in through the page form: a Content-Security-Policy without
    'unsafe-inline' that forbids framing, and X-Content-Type-Options: nosniff."""
    data = workdir / "headers" / "data"
    data_with_models(data)
    server = Server(data).start()
    try:
        document = requests.get(server.url + "/openapi.json", timeout=10).json()
        pages = [path for path, operations in document["paths"].items()
                 if "get" in operations and "{" not in path
                 and "text/html" in operations["get"].get("responses", {}).get("200", {}).get("content", {})]
        for expected in ("/console", "/console/login", "/pipeline", "/imagine", "/gallery", "/faces", "/lab", "/lab/admin"):
            assert expected in pages, f"{expected} is not an HTML page in /openapi.json: {pages}"
        session = page_login(server, "admin", ADMIN_PASSWORD)
        for path in pages:
            response = session.get(server.url + path, timeout=30)
            assert response.status_code == 200, f"{path}: {response.status_code}"
            policy = response.headers.get("Content-Security-Policy", "")
            assert policy, f"{path} has no Content-Security-Policy"
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, f"{path}: {policy}"
            assert "frame-ancestors 'none'" in policy or "frame-ancestors 'self'" in policy, f"{path}: {policy}"
            assert response.headers.get("X-Content-Type-Options") == "nosniff", f"{path}"
    finally:
        server.stop()


def test_every_unsafe_request_on_a_page_session_needs_the_csrf_token(workdir):
    """For every signed-in POST, PUT, PATCH and DELETE in /openapi.json (path parameters filled in), a request that carries
    only the page-session cookie is refused with 403 before it does anything; with the `X-CSRF-Token` header (or,
    for form routes, the `csrf_token` field) the same request is not refused for CSRF."""
    server = Server(workdir / "csrf", extra_args=["--apps", "quickstart"]).start()
    try:
        session = page_login(server, "admin", ADMIN_PASSWORD)
        csrf = session.cookies.get("aerie_csrf")
        assert csrf
        document = requests.get(server.url + "/openapi.json", timeout=10).json()
        checked = 0
        for path, operations in document["paths"].items():
            for method in ("post", "put", "patch", "delete"):
                # Operations open to anyone (sign-in, sign-up) act on no session.
                if method not in operations or "security" not in operations[method]:
                    continue
                url = server.url + re.sub(r"\{[^}]+\}", "csrf-probe", path)
                refused = session.request(method.upper(), url, data=b"{}", headers={"Content-Type": "application/json"},
                                          allow_redirects=False, timeout=30)
                assert refused.status_code == 403, f"{method.upper()} {path} without the CSRF token: {refused.status_code} {refused.text[:200]}"
                assert "CSRF" in refused.text or "csrf" in refused.text, f"{method.upper()} {path}: {refused.text[:200]}"
                checked += 1
                if path == "/console/logout":
                    continue  # with the token it would end the session the rest of the test uses
                accepted = session.request(method.upper(), url, data=b"{}", allow_redirects=False, timeout=30,
                                           headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
                assert "CSRF" not in accepted.text, f"{method.upper()} {path} with the token: {accepted.text[:200]}"
        assert checked >= 30, checked
        # Nothing was done by the refused requests: the quickstart bucket and its trigger are still there.
        assert session.get(server.url + "/v1/buckets/quickstart/objects", timeout=10).status_code == 200
    finally:
        server.stop()
