"""Faces against a real `aerie serve` with dlib's real models: users sign up, enrol and recognize real photos with
`requests`, watches notify through a real SMTP server (aiosmtpd with STARTTLS and AUTH, a self-signed certificate
Aerie is told to trust) and a webhook receiver checking the HMAC signature; a mail server that is down loses
nothing; and the page in headless Chromium (add a person, enrol, recognize with boxes, name a cluster)."""
import hashlib
import hmac
import json
import ssl
import subprocess
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from selenium.webdriver.common.by import By

from conftest import REPO, Server, data_with_models, free_port, wait_for
from test_console import browser, sign_in, wait  # noqa: F401  (fixtures and helpers)

PHOTOS = REPO / "Tests" / "AerieFacesTests" / "Fixtures"
BASE = "/v1/apps/faces"


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


class MailSink:
    """aiosmtpd on loopback: STARTTLS required, AUTH required over TLS, every accepted message kept."""

    def __init__(self, folder: Path, port: int):
        self.cert, self.key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
        if not self.cert.exists():
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(self.key), "-out", str(self.cert)],
                           check=True, capture_output=True)
        self.port = port
        self.messages = []
        self.logins = []
        self.controller = None

    def start(self):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
                return "250 OK queued"

        def authenticate(server, session, envelope, mechanism, auth_data):
            sink.logins.append((mechanism, auth_data.login))
            return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == b"mail-pass")

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context, require_starttls=True,
                                     authenticator=authenticate, auth_require_tls=True)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


class Webhooks:
    """An HTTP receiver that answers 503 to the first `failures` calls, then 200, keeping every call."""

    def __init__(self, failures=1):
        self.calls = []
        self.failures = failures
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hooks.calls.append((dict(self.headers), body))
                status = 503 if len(hooks.calls) <= hooks.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def link_models(data: Path) -> Path:
    return data_with_models(data, names=("faces",))


@pytest.fixture(scope="module")
def faces(workdir):
    folder = workdir / "faces"
    folder.mkdir()
    mail = MailSink(folder, free_port()).start()
    server = Server(link_models(folder / "data"), extra_args=[
        "--allow-signup", "--rate-limit", "0", "--apps", "faces",
        "--smtp-url", f"smtp://mailer:mail-pass@127.0.0.1:{mail.port}?tls=starttls&ca_file={mail.cert}", "--smtp-from", "faces@aerie.test",
    ]).start()
    sessions = {}
    for user in ("fay", "finn"):
        created = requests.post(server.url + "/v1/auth/signup", json={"username": user, "password": f"{user}-long-password"}, timeout=10)
        assert created.status_code == 201, created.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {server.login(user, f'{user}-long-password')}"
        sessions[user] = session
    yield server, sessions, mail
    server.stop()
    mail.stop()


def test_enrol_recognize_and_notify_by_email_and_webhook(faces):
    server, sessions, mail = faces
    fay, finn = sessions["fay"], sessions["finn"]
    person = fay.post(server.url + BASE + "/people", json={"name": "Barack Obama"}, timeout=10).json()
    enrolled = fay.post(server.url + BASE + f"/people/{person['id']}/faces", data=photo("obama.jpg"), headers={"Content-Type": "image/jpeg"}, timeout=30)
    assert enrolled.status_code == 201, enrolled.text

    hooks = Webhooks(failures=1)
    try:
        email = fay.post(server.url + BASE + "/watches", json={"person_id": person["id"], "email": "fay@example.com"}, timeout=10)
        assert email.status_code == 201, email.text
        hook = fay.post(server.url + BASE + "/watches", json={"person_id": person["id"], "webhook_url": hooks.url}, timeout=10)
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]

        # A multipart upload, as a browser form sends it.
        seen = fay.post(server.url + BASE + "/recognize", files={"file": ("obama2.jpg", photo("obama2.jpg"), "image/jpeg")}, timeout=30)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert [face["person"]["name"] for face in body["faces"]] == ["Barack Obama"]
        assert body["faces"][0]["distance"] < body["threshold"] == 0.6

        # The email went through STARTTLS and AUTH to the real SMTP server.
        wait_for(lambda: mail.messages, timeout=30, what="the email")
        recipients, message = mail.messages[0]
        assert recipients == ["fay@example.com"]
        assert message["Subject"] == "Faces: Barack Obama was recognized"
        assert message["From"] == "<faces@aerie.test>"
        assert body["photo"] in message.get_payload(decode=True).decode("utf-8")
        assert mail.logins and mail.logins[0][1] == b"mailer"

        # The webhook: refused once (503), retried with backoff, then accepted; each call signed.
        wait_for(lambda: len(hooks.calls) >= 2, timeout=30, what="the webhook's retry")
        for headers, payload in hooks.calls:
            timestamp, mac = (part.split("=", 1)[1] for part in headers["X-Aerie-Signature"].split(","))
            expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(mac, expected)
            event = json.loads(payload)
            assert event["event"] == "faces.recognized" and event["person"]["name"] == "Barack Obama" and event["photo"] == body["photo"]
        assert len({headers["X-Aerie-Delivery"] for headers, _ in hooks.calls}) == 1
    finally:
        hooks.stop()

    # Finn has no people: Fay's are never matched for him, and her ids are not found.
    theirs = finn.post(server.url + BASE + "/recognize", data=photo("obama2.jpg"), headers={"Content-Type": "image/jpeg"}, timeout=30).json()
    assert theirs["faces"][0]["person"] is None and theirs["faces"][0]["distance"] is None
    assert finn.get(server.url + BASE + f"/people/{person['id']}", timeout=10).status_code == 404
    assert finn.post(server.url + BASE + "/watches", json={"person_id": person["id"], "webhook_url": "http://127.0.0.1:9/x"}, timeout=10).status_code == 404
    # Unhappy paths answer problem+json.
    for response, status in [
        (fay.post(server.url + BASE + "/recognize", data=b"%PDF-1.4 not a photo", headers={"Content-Type": "application/pdf"}, timeout=10), 415),
        (fay.post(server.url + BASE + "/recognize", data=photo("obama.jpg")[:3000], headers={"Content-Type": "image/jpeg"}, timeout=10), 422),
        (fay.post(server.url + BASE + "/people", data="{not json", headers={"Content-Type": "application/json"}, timeout=10), 400),
        (requests.post(server.url + BASE + "/recognize", data=photo("obama.jpg"), headers={"Content-Type": "image/jpeg"}, timeout=10), 401),
    ]:
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/problem+json"


def test_a_mail_server_that_is_down_loses_nothing(faces):
    server, sessions, mail = faces
    fay = sessions["fay"]
    person = fay.post(server.url + BASE + "/people", json={"name": "Joe Biden"}, timeout=10).json()
    assert fay.post(server.url + BASE + f"/people/{person['id']}/faces", data=photo("biden.jpg"), headers={"Content-Type": "image/jpeg"}, timeout=30).status_code == 201
    assert fay.post(server.url + BASE + "/watches", json={"person_id": person["id"], "email": "desk@example.com"}, timeout=10).status_code == 201
    mail.stop()
    try:
        seen = fay.post(server.url + BASE + "/recognize", data=photo("biden.jpg"), headers={"Content-Type": "image/jpeg"}, timeout=30).json()
        assert seen["faces"][0]["person"]["name"] == "Joe Biden"
        admin = requests.Session()
        admin.headers["Authorization"] = f"Bearer {server.login()}"

        def failed_attempt():
            records = admin.get(server.url + "/v1/invocations", params={"function": "faces-notify", "limit": 50}, timeout=10).json()["items"]
            return [record for record in records if record.get("error")]
        wait_for(failed_attempt, timeout=30, what="a failed attempt while the mail server is down")
        assert not [rcpts for rcpts, _ in mail.messages if rcpts == ["desk@example.com"]]
    finally:
        mail.start()
    wait_for(lambda: [rcpts for rcpts, _ in mail.messages if rcpts == ["desk@example.com"]], timeout=60, what="the email after the mail server came back")


def test_the_page_enrols_recognizes_and_names_clusters(faces, browser, tmp_path):  # noqa: F811
    server, sessions, _ = faces
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "coffee.jpg"):
        (tmp_path / name).write_bytes(photo(name))
    browser.delete_all_cookies()
    sign_in(browser, server, path="/faces/", username="finn", password="finn-long-password")
    assert browser.current_url.endswith("/faces/")

    browser.find_element(By.ID, "person-name").send_keys("Barack")
    browser.find_element(By.ID, "add-person").click()
    card = wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, "article.person[data-name='Barack']"))
    card.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(tmp_path / "obama.jpg"))
    wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, "article.person[data-name='Barack'] .faces-count").text == "1 face", timeout=60)
    crop = browser.find_element(By.CSS_SELECTOR, "article.person[data-name='Barack'] .faces-row img")
    wait(browser, lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", crop))

    browser.find_element(By.ID, "recognize-file").send_keys(str(tmp_path / "obama2.jpg"))
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#recognize-result rect.known"), timeout=60)
    rect = browser.find_element(By.CSS_SELECTOR, "#recognize-result rect.known")
    assert rect.get_attribute("data-person") == "Barack"
    assert "1 recognized" in browser.find_element(By.ID, "recognize-summary").text

    # An unknown face becomes a cluster; naming it enrols it as a new person.
    browser.find_element(By.ID, "recognize-file").send_keys(str(tmp_path / "biden.jpg"))
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#recognize-result rect.unknown"), timeout=60)
    cluster = wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, ".cluster"), timeout=30)
    cluster.find_element(By.CSS_SELECTOR, "input[type=text]").send_keys("Joe")
    cluster.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "article.person[data-name='Joe']"), timeout=30)
    people = sessions["finn"].get(server.url + BASE + "/people", timeout=10).json()["items"]
    assert sorted(person["name"] for person in people) == ["Barack", "Joe"]

    browser.find_element(By.ID, "recognize-file").send_keys(str(tmp_path / "coffee.jpg"))
    wait(browser, lambda b: "No face found" in b.find_element(By.ID, "recognize-result").text, timeout=60)


def test_readme_faces_runs_word_for_word(workdir):
    """Runs README's Faces block with bash against a fresh server (the admin password generated into
    aerie-data/admin-password, as for a newcomer); only the port differs."""
    import os
    import re
    folder = workdir / "faces-readme"
    folder.mkdir()
    for name in ("obama.jpg", "obama2.jpg"):
        (folder / name).write_bytes(photo(name))
    section = (REPO / "README.md").read_text().split("## Faces", 1)[1]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    server = Server(link_models(folder / "aerie-data"), extra_env={"AERIE_ADMIN_PASSWORD": ""}).start()
    try:
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8080", server.url)], cwd=folder,
                                   env=dict(os.environ), capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        lines = completed.stdout.splitlines()
        assert json.loads(lines[0])["faces"] == 1 and json.loads(lines[0])["name"] == "Barack Obama", lines
        recognized = json.loads(lines[1])
        assert recognized["person"] == "Barack Obama" and recognized["distance"] < 0.6, lines
        assert json.loads(lines[2])["same"] is True, lines
        assert set(json.loads(lines[3])) == {"x", "y", "width", "height"}, lines
    finally:
        server.stop()


def test_split_deployment_on_postgres(workdir):
    """The seed's second deployment: roles as separate processes on the scale-out engines, sharing one settings file.
    Two gateways and one worker on one PostgreSQL: a face enrolled through one gateway is recognized through the
    other (the vector index is kept in step through the event log), and the watch's email is sent by the worker (a
    gateway runs no queue work)."""
    from postgres_support import ScratchPostgres
    postgres = ScratchPostgres()
    folder = workdir / "faces-split"
    folder.mkdir()
    mail = MailSink(folder, free_port()).start()
    nodes = []
    try:
        config = folder / "aerie.yaml"
        config.write_text("\n".join([
            f"database: {postgres.create_database('faces_split')}",
            f"object-store: file://{folder / 'objects'}",
            "apps: faces", "allow-signup: true", "rate-limit: 0",
            f"smtp-url: smtp://mailer:mail-pass@127.0.0.1:{mail.port}?tls=starttls&ca_file={mail.cert}",
            "smtp-from: faces@aerie.test", ""]))
        for name, role in (("gateway-1", "gateway"), ("gateway-2", "gateway"), ("worker", "worker")):
            nodes.append(Server(link_models(folder / name), extra_args=["--config", str(config), "--role", role]))
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready(timeout=120)
        one, two, _ = nodes
        assert requests.post(one.url + "/v1/auth/signup", json={"username": "sam", "password": "sam-long-password"}, timeout=10).status_code == 201
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {two.login('sam', 'sam-long-password')}"
        person = session.post(one.url + BASE + "/people", json={"name": "Barack Obama"}, timeout=10).json()
        enrolled = session.post(one.url + BASE + f"/people/{person['id']}/faces", data=photo("obama.jpg"),
                                headers={"Content-Type": "image/jpeg"}, timeout=60)
        assert enrolled.status_code == 201, enrolled.text
        watch = session.post(two.url + BASE + "/watches", json={"person_id": person["id"], "email": "sam@example.com"}, timeout=10)
        assert watch.status_code == 201, watch.text

        seen = wait_for(lambda: (lambda body: body if body["faces"] and body["faces"][0]["person"] else None)(
            session.post(two.url + BASE + "/recognize", data=photo("obama2.jpg"), headers={"Content-Type": "image/jpeg"}, timeout=60).json()),
            timeout=15, what="the other gateway to recognize the enrolled face")
        assert seen["faces"][0]["person"]["name"] == "Barack Obama"
        wait_for(lambda: mail.messages, timeout=30, what="the worker's email")
        recipients, message = mail.messages[0]
        assert recipients == ["sam@example.com"] and message["Subject"] == "Faces: Barack Obama was recognized"
    finally:
        for node in nodes:
            node.stop()
        mail.stop()
        postgres.stop()
