"""The CLI against a real server and data directory: users, keys, objects, invocations, backup and restore under writes."""
import hashlib
import json
import os
import subprocess
import threading
import time

import requests

from conftest import Server, aerie_binary


def aerie(*args, env=None, check=True, input=None):
    completed = subprocess.run([aerie_binary(), *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                               timeout=120, input=input)
    if check:
        assert completed.returncode == 0, f"aerie {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


def test_users_and_keys_made_on_the_data_directory_work_over_http(server):
    data = ["--data", str(server.data_dir)]
    aerie("users", "create", "carol", "--password", "carol-password-1", *data)
    assert "carol\tuser\tactive" in aerie("users", "list", *data).stdout
    token = server.login("carol", "carol-password-1")

    # A plain user cannot use admin routes.
    assert requests.get(server.url + "/v1/buckets", headers={"Authorization": f"Bearer {token}"}).status_code == 403

    created = aerie("keys", "create", "uploader", "--owner", "admin", "--scope", "objects:read", "--scope", "objects:write", *data)
    key = created.stdout.strip()
    assert key and "not shown again" in created.stderr
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.get(server.url + "/v1/buckets", headers=headers).status_code == 200
    # The key's scopes do not include functions or queues.
    assert requests.get(server.url + "/v1/queues", headers=headers).status_code == 403

    key_id = next(line.split("\t")[0] for line in aerie("keys", "list", *data).stdout.splitlines() if "\tuploader\t" in line)
    aerie("keys", "revoke", key_id, *data)
    assert requests.get(server.url + "/v1/buckets", headers=headers).status_code == 401

    aerie("users", "disable", "carol", *data)
    assert requests.post(server.url + "/v1/auth/login", json={"username": "carol", "password": "carol-password-1"}).status_code == 401


def test_passwords_that_start_with_a_dash_go_through_password_equals(server, tmp_path):
    """README writes `--password="$(cat …)"`: with "=", a value starting with "-" is not taken for an option."""
    aerie("users", "create", "dash", "--password=-dash-password-1", "--data", str(server.data_dir))
    # An empty AERIE_TOKEN reads as unset: login sends no credential, so it cannot spoil the login with "Bearer ".
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "AERIE_TOKEN": ""}
    spaced = aerie("login", "--server", server.url, "--username", "dash", "--password", "-dash-password-1", env=env, check=False)
    assert spaced.returncode != 0 and "Missing value for '--password" in spaced.stderr
    logged_in = aerie("login", "--server", server.url, "--username", "dash", "--password=-dash-password-1", env=env)
    assert "as dash" in logged_in.stdout


def test_client_commands(server, admin_token, tmp_path):
    env = {"AERIE_URL": server.url, "AERIE_TOKEN": admin_token}
    source = tmp_path / "poem.txt"
    source.write_text("Rose is a rose is a rose is a rose.")
    assert "uploaded quickstart/incoming/cli/poem.txt" in aerie("objects", "put", "quickstart/incoming/cli/poem.txt", str(source), env=env).stdout
    listing = aerie("objects", "ls", "quickstart/incoming/cli/", env=env).stdout
    assert "incoming/cli/poem.txt" in listing

    output = json.loads(aerie("invoke", "wordcount", "--data", '{"text": "a rose is a rose"}', env=env).stdout)
    assert output["total"] == 5 and output["counts"]["rose"] == 2

    followed = aerie("invoke", "wordcount", "--data", '{"key": "incoming/cli/poem.txt"}', "--async", "--follow", env=env)
    assert json.loads(followed.stdout)["counts"]["rose"] == 4
    assert "100%" in followed.stderr

    invocation_id = followed.stderr.split("invocation ", 1)[1].split()[0]
    shown = json.loads(aerie("invocations", "show", invocation_id, env=env).stdout)
    assert shown["status"] == "succeeded" and shown["function"] == "wordcount"
    assert "counted 10 words" in aerie("invocations", "logs", invocation_id, env=env).stdout
    assert invocation_id in aerie("invocations", "ls", "--function", "wordcount", env=env).stdout

    fetched = tmp_path / "copy.txt"
    aerie("objects", "get", "quickstart/incoming/cli/poem.txt", str(fetched), env=env)
    assert fetched.read_text() == source.read_text()
    aerie("objects", "rm", "quickstart/incoming/cli/poem.txt", env=env)
    assert "poem.txt" not in aerie("objects", "ls", "quickstart/incoming/cli/", env=env).stdout


def test_cli_errors_are_messages_with_nonzero_exit(server, admin_token):
    env = {"AERIE_URL": server.url, "AERIE_TOKEN": admin_token}
    missing = aerie("invoke", "no-such-function", "--data", "{}", env=env, check=False)
    assert missing.returncode != 0 and missing.stderr.startswith("error: ") and "404" in missing.stderr
    bad_json = aerie("invoke", "wordcount", "--data", "{not json", env=env, check=False)
    assert bad_json.returncode != 0 and "not valid JSON" in bad_json.stderr
    bad_input = aerie("invoke", "wordcount", "--data", '{"text": 5}', env=env, check=False)
    assert bad_input.returncode != 0 and "/text" in bad_input.stderr
    no_token = aerie("objects", "ls", env={"AERIE_URL": server.url, "AERIE_TOKEN": "", "XDG_CONFIG_HOME": "/nonexistent"}, check=False)
    assert no_token.returncode != 0 and "error:" in no_token.stderr
    unreachable = aerie("objects", "ls", "--server", "http://127.0.0.1:9", "--token", "x", check=False)
    assert unreachable.returncode != 0 and "cannot reach" in unreachable.stderr


def test_models_list_shows_installed_models_with_source_directory_and_size(tmp_path):
    data = tmp_path / "data"
    assert "No models installed" in aerie("models", "list", "--data", str(data)).stdout
    assert json.loads(aerie("models", "ls", "--json", "--data", str(data)).stdout) == []

    # A model as `aerie models install` leaves it (files, then the manifest), and an unfinished one without a manifest.
    model = data / "models" / "weights"
    (model / "models").mkdir(parents=True)
    (model / "a.bin").write_bytes(b"\0" * 2048)
    (model / "models" / "b.bin").write_bytes(b"\0" * (3 << 20))
    (model / ".aerie-model.json").write_text(json.dumps({
        "name": "weights", "displayName": "Test weights", "package": "weights", "version": "0.3.0",
        "source": "weights==0.3.0 (sdist)", "files": ["a.bin", "models/b.bin"]}))
    (data / "models" / "half-installed").mkdir()

    listed = json.loads(aerie("models", "ls", "--json", "--data", str(data)).stdout)
    assert listed == [{
        "name": "weights", "displayName": "Test weights", "package": "weights", "version": "0.3.0",
        "source": "weights==0.3.0 (sdist)", "directory": str(model), "bytes": 2048 + (3 << 20), "size": "3.0 MiB"}]
    table = aerie("models", "list", "--data", str(data)).stdout.splitlines()
    assert len(table) == 2 and table[0].startswith("NAME")
    assert all(column in table[1] for column in ("weights", "0.3.0", "weights==0.3.0 (sdist)", "3.0 MiB", str(model)))


def test_backup_while_writing_then_restore(workdir):
    data_dir = workdir / "backup-source"
    server = Server(data_dir).start()
    stop = threading.Event()
    written = {}
    errors = []

    def writer():
        token = server.login()
        index = 0
        while not stop.is_set():
            body = os.urandom(2048 + index)
            key = f"incoming/bk/obj{index}.bin"
            response = requests.put(f"{server.url}/v1/buckets/quickstart/objects/{key}", data=body,
                                    headers={"Authorization": f"Bearer {token}"}, timeout=30)
            if response.status_code == 201:
                written[key] = hashlib.md5(body).hexdigest()
            else:
                errors.append(response.text)
            index += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backup_dir = workdir / "backup-copy"
        # Let some writes land, then back up while the writer keeps going.
        while len(written) < 20 and not errors:
            time.sleep(0.05)
        aerie("backup", str(backup_dir), "--data", str(data_dir))
    finally:
        stop.set()
        thread.join()
        server.stop()
    assert not errors

    restored_dir = workdir / "backup-restored"
    aerie("restore", str(backup_dir), "--data", str(restored_dir))
    restored = Server(restored_dir).start()
    try:
        token = restored.login()
        headers = {"Authorization": f"Bearer {token}"}
        page = requests.get(f"{restored.url}/v1/buckets/quickstart/objects", params={"prefix": "incoming/bk/", "limit": 1000},
                            headers=headers).json()
        keys = [item["key"] for item in page["items"]]
        assert len(keys) >= 20, "the backup holds the objects written before it started"
        for key in keys:
            response = requests.get(f"{restored.url}/v1/buckets/quickstart/objects/{key}", headers=headers)
            assert response.status_code == 200
            # Every object in the snapshot is whole and is what was written.
            assert hashlib.md5(response.content).hexdigest() == written[key]
            assert response.headers["ETag"] == f'"{written[key]}"'
    finally:
        restored.stop()
