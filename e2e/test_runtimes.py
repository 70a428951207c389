"""Functions in any language (issue 18) against a real `aerie serve`: packages deployed as zips over HTTP, run as
child processes on the AWS Lambda Runtime API — a shell `bootstrap` (curl), a C binary compiled here, a Python
handler run by awslambdaric installed from PyPI by `aerie runtimes install python` — with crashes, init errors,
timeouts, the memory limit, concurrency, cold starts, unsafe zips, and a server killed with -9."""
import io
import json
import os
import signal
import stat
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
import requests

from conftest import REPO, Server, aerie_binary, invocation_events, wait_for

HERE = Path(__file__).parent / "runtimes"
EXAMPLE = REPO / "examples" / "functions" / "wordcount-py"


def make_zip(files):
    """files: {path: (bytes, mode)}; a ZipInfo keeps any path, even a malicious one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, (data, mode) in files.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def zip_dir(path: Path):
    files = {}
    for file in sorted(path.rglob("*")):
        if file.is_file():
            files[str(file.relative_to(path))] = (file.read_bytes(), stat.S_IMODE(file.stat().st_mode) | stat.S_IFREG)
    return make_zip(files)


@pytest.fixture(scope="module")
def rt(workdir):
    """A server of its own: short idle time, so scale-to-zero is observable."""
    server = Server(workdir / "runtimes", extra_args=["--function-idle-seconds", "3", "--apps", "quickstart"]).start()
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + server.login()
    session.base = server.url
    yield server, session
    server.stop()


def deploy(session, name, body, **params):
    env = params.pop("env", [])
    query = [(key, str(value)) for key, value in params.items()] + [("env", item) for item in env]
    return session.put(session.base + f"/v1/functions/{name}", params=query, data=body,
                       headers={"Content-Type": "application/zip"}, timeout=300)


def invoke(session, name, payload, timeout=60):
    return session.post(session.base + f"/v1/functions/{name}/invoke", json=payload, timeout=timeout)


def record(session, response):
    return session.get(session.base + "/v1/invocations/" + response.headers["X-Aerie-Invocation-Id"], timeout=10).json()


def logs(session, invocation_id):
    items = session.get(session.base + f"/v1/invocations/{invocation_id}/logs", timeout=10).json()["items"]
    return [item["data"]["message"] for item in items]


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def shell_zip():
    return zip_dir(HERE / "shell")


def test_shell_bootstrap_cold_then_warm_with_logs_versions_and_aliases(rt):
    server, s = rt
    response = deploy(s, "sh-echo", shell_zip(), runtime="provided", timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1
    first = invoke(s, "sh-echo", {"n": 1})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["echo"] == {"n": 1} and body["fn"] == "sh-echo" and body["key"] == "set"
    assert body["id"] == first.headers["X-Aerie-Invocation-Id"]
    assert record(s, first)["cold_start"] is True
    second = invoke(s, "sh-echo", {"n": 2})
    assert second.json()["echo"] == {"n": 2}
    assert record(s, second)["cold_start"] is False
    lines = logs(s, first.headers["X-Aerie-Invocation-Id"])
    assert "init sh-echo version 1 memory 256" in lines
    assert f"to stderr {body['id']}" in lines
    # A second version; the first stays reachable by number and alias.
    v2 = deploy(s, "sh-echo", shell_zip(), runtime="provided", env=["WHICH=two"])
    assert v2.status_code == 201 and v2.json()["version"] == 2
    versions = s.get(s.base + "/v1/functions/sh-echo/versions").json()
    assert [item["version"] for item in versions["items"]] == [1, 2]
    assert versions["items"][1]["env"] == {"WHICH": "two"}
    assert s.post(s.base + "/v1/functions/sh-echo/aliases/stable", json={"version": 1}).status_code == 200
    assert invoke(s, "sh-echo:stable", {"q": 1}).status_code == 200
    assert invoke(s, "sh-echo:1", {"q": 1}).status_code == 200
    assert invoke(s, "sh-echo:7", {"q": 1}).status_code == 404
    assert s.post(s.base + "/v1/functions/sh-echo/aliases/stable", json={"version": 9}).status_code == 422
    listed = {item["name"] for item in s.get(s.base + "/v1/functions").json()["items"]}
    assert "sh-echo" in listed and "wordcount" in listed


def test_native_c_binary(rt, tmp_path):
    server, s = rt
    binary = tmp_path / "bootstrap"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(HERE / "echo.c")], check=True)
    response = deploy(s, "c-echo", make_zip({"bootstrap": (binary.read_bytes(), 0o100755)}), runtime="provided", memory=64)
    assert response.status_code == 201, response.text
    answer = invoke(s, "c-echo", {"hello": "native"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["native"] is True and answer.json()["request_id"] == answer.headers["X-Aerie-Invocation-Id"]
    # RLIMIT_AS (cgroup v2 is not delegated here): 512 MiB cannot be allocated under a 64 MiB limit.
    limited = invoke(s, "c-echo", {"alloc": True})
    assert limited.status_code == 502 and "MemoryError" in limited.json()["detail"], limited.text
    assert invoke(s, "c-echo", {"after": 1}).status_code == 200


def test_crash_fails_only_that_invocation_and_init_error_is_502(rt):
    server, s = rt
    assert deploy(s, "sh-crash", shell_zip(), runtime="provided").status_code == 201
    crashed = invoke(s, "sh-crash", "crash")
    assert crashed.status_code == 502 and crashed.headers["Content-Type"].startswith("application/problem+json")
    assert "exited" in crashed.json()["detail"]
    after = invoke(s, "sh-crash", "fine")
    assert after.status_code == 200 and record(s, after)["cold_start"] is True
    assert deploy(s, "sh-init", shell_zip(), runtime="provided", env=["INIT_ERROR=1"]).status_code == 201
    failed = invoke(s, "sh-init", "x")
    assert failed.status_code == 502 and "missing setting" in failed.json()["detail"]
    # The server keeps serving.
    assert invoke(s, "sh-crash", "still").status_code == 200


def test_timeout_is_504_and_kills_the_process_group(rt, tmp_path):
    server, s = rt
    pid_file = tmp_path / "child.pid"
    assert deploy(s, "sh-slow", shell_zip(), runtime="provided", timeout=1, env=[f"CHILD_PID_FILE={pid_file}"]).status_code == 201
    started = time.monotonic()
    response = invoke(s, "sh-slow", "hang")
    assert response.status_code == 504, response.text
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    wait_for(lambda: not alive(child), timeout=10, what="the hanging child to be killed with its group")
    assert invoke(s, "sh-slow", "next").status_code == 200


def test_concurrency_limit_429_and_scale_to_zero(rt, tmp_path):
    server, s = rt
    pid_file = tmp_path / "child.pid"
    assert deploy(s, "sh-one", shell_zip(), runtime="provided", timeout=4, concurrency=1, env=[f"CHILD_PID_FILE={pid_file}"]).status_code == 201
    results = {}
    slow = threading.Thread(target=lambda: results.setdefault("slow", invoke(s, "sh-one", "hang")))
    slow.start()
    wait_for(lambda: pid_file.exists(), timeout=20, what="the first invocation to run")
    # One process, one caller may wait for it; the next is turned away.
    waiting = threading.Thread(target=lambda: results.setdefault("waiting", invoke(s, "sh-one", "second")))
    waiting.start()
    wait_for(lambda: s.get(s.base + "/v1/functions/sh-one").json()["stats"]["waiting"] == 1, timeout=10, what="a waiting caller")
    busy = invoke(s, "sh-one", "third")
    assert busy.status_code == 429 and "Retry-After" in busy.headers
    slow.join()
    waiting.join()
    assert results["slow"].status_code == 504
    assert results["waiting"].status_code == 200 and results["waiting"].json()["echo"] == "second"
    assert invoke(s, "sh-one", "warm").status_code == 200
    warm = invoke(s, "sh-one", "warm again")
    assert record(s, warm)["cold_start"] is False
    before = set(children_of(server.process.pid))
    assert before
    wait_for(lambda: not (set(children_of(server.process.pid)) & before), timeout=15, what="idle processes to stop")
    cold = invoke(s, "sh-one", "cold again")
    assert record(s, cold)["cold_start"] is True


def test_unsafe_and_invalid_packages_are_refused(rt):
    server, s = rt
    evil = make_zip({"bootstrap": (b"#!/bin/sh\n", 0o100755), "../../escaped.txt": (b"x", 0o100644)})
    response = deploy(s, "evil", evil, runtime="provided")
    assert response.status_code == 422 and response.headers["Content-Type"].startswith("application/problem+json")
    absolute = make_zip({"bootstrap": (b"#!/bin/sh\n", 0o100755), "/tmp/aerie-e2e-escaped": (b"x", 0o100644)})
    assert deploy(s, "evil", absolute, runtime="provided").status_code == 422
    assert not Path("/tmp/aerie-e2e-escaped").exists()
    link = make_zip({"bootstrap": (b"#!/bin/sh\n", 0o100755), "etc": (b"../../../../etc", 0o120777)})
    assert deploy(s, "evil", link, runtime="provided").status_code == 422
    assert deploy(s, "nobootstrap", make_zip({"main.sh": (b"echo", 0o100755)}), runtime="provided").status_code == 422
    assert deploy(s, "ruby", shell_zip(), runtime="ruby").status_code == 422
    assert deploy(s, "nopy", shell_zip(), runtime="python3").status_code == 422
    assert deploy(s, "notzip", b"definitely not a zip", runtime="provided").status_code == 422
    assert deploy(s, "wordcount", shell_zip(), runtime="provided").status_code == 409
    assert s.get(s.base + "/v1/functions/evil/versions").status_code == 404


def test_python_handler_with_awslambdaric(rt):
    server, s = rt
    installed = subprocess.run([aerie_binary(), "runtimes", "install", "python", "--data", str(server.data_dir)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    response = deploy(s, "py-echo", zip_dir(HERE / "py"), runtime="python3", handler="app.handler", memory=256, env=["GREETING=hej"])
    assert response.status_code == 201, response.text
    first = invoke(s, "py-echo", {"x": 1})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["echo"] == {"x": 1} and body["function"] == "py-echo" and body["version"] == "1"
    assert body["request_id"] == first.headers["X-Aerie-Invocation-Id"] and body["greeting"] == "hej" and body["has_key"]
    assert 0 < body["remaining_ms"] <= 30_000
    assert record(s, first)["cold_start"] is True
    assert record(s, invoke(s, "py-echo", {"x": 2}))["cold_start"] is False
    assert any("handling" in line for line in logs(s, first.headers["X-Aerie-Invocation-Id"]))
    failed = invoke(s, "py-echo", {"action": "fail"})
    assert failed.status_code == 502 and "asked to fail" in failed.json()["detail"]
    # RLIMIT_AS: 300 MiB do not fit in 256 MiB of address space; with 1024 MiB they do.
    limited = invoke(s, "py-echo", {"action": "alloc", "mib": 300})
    assert limited.status_code == 502 and "MemoryError" in limited.json()["detail"], limited.text
    assert deploy(s, "py-big", zip_dir(HERE / "py"), runtime="python3", handler="app.handler", memory=1024).status_code == 201
    roomy = invoke(s, "py-big", {"action": "alloc", "mib": 300})
    assert roomy.status_code == 200 and roomy.json()["allocated"] == 300 << 20
    broken = deploy(s, "py-broken", zip_dir(HERE / "pybroken"), runtime="python3", handler="app.handler")
    assert broken.status_code == 201
    init_failed = invoke(s, "py-broken", {})
    assert init_failed.status_code == 502 and "missing configuration" in init_failed.json()["detail"]
    bad_requirements = make_zip({"app.py": ((HERE / "py" / "app.py").read_bytes(), 0o100644),
                                 "requirements.txt": (b"aerie-no-such-package-e2e==0.0.1\n", 0o100644)})
    refused = deploy(s, "py-req", bad_requirements, runtime="python3", handler="app.handler")
    assert refused.status_code == 422 and "requirements.txt" in refused.json()["detail"]
    assert deploy(s, "py-nomodule", zip_dir(HERE / "py"), runtime="python3", handler="missing.handler").status_code == 422


def test_wordcount_py_example_on_an_object_trigger(rt):
    server, s = rt
    if not (server.data_dir / "runtimes" / "python" / "venv" / "bin" / "python3").exists():
        subprocess.run([aerie_binary(), "runtimes", "install", "python", "--data", str(server.data_dir)], check=True, timeout=600)
    response = deploy(s, "wordcount-py", zip_dir(EXAMPLE), runtime="python3", handler="app.handler", trigger="quickstart/incoming-py/*.txt")
    assert response.status_code == 201, response.text
    text = "To be, or not to be: that is the question. Über straße ÜBER 42"
    for key in ("incoming/e2e-py.txt", "incoming-py/e2e.txt"):
        put = s.put(s.base + f"/v1/buckets/quickstart/objects/{key}", data=text.encode(), headers={"Content-Type": "text/plain"})
        assert put.status_code in (200, 201), put.text

    def result(key):
        got = s.get(s.base + f"/v1/buckets/quickstart/objects/{key}")
        return got.json() if got.status_code == 200 else None

    python_result = wait_for(lambda: result("results-py/e2e.json"), timeout=60, what="the Python word count")
    swift_result = wait_for(lambda: result("results/e2e-py.json"), timeout=60, what="the built-in word count")
    assert python_result["total"] == swift_result["total"] == 14
    assert python_result["counts"] == swift_result["counts"]
    invocations = s.get(s.base + "/v1/invocations", params={"function": "wordcount-py"}).json()["items"]
    assert invocations and invocations[0]["trigger"]["kind"] == "object"


def pid_namespaces_work():
    """What the server tries before giving each function process a PID namespace (RuntimeProcess.swift)."""
    return any(subprocess.run(["unshare", *extra, "--pid", "--fork", "--kill-child", "--", "true"], capture_output=True).returncode == 0
               for extra in ([], ["--user", "--map-current-user"]))


def test_no_process_outlives_the_server_and_functions_persist(workdir):
    server = Server(workdir / "runtimes-kill", extra_args=["--apps", "none"]).start()
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + server.login()
    s.base = server.url
    assert deploy(s, "persist", shell_zip(), runtime="provided", concurrency=3).status_code == 201
    def hang():
        with pytest.raises(requests.ConnectionError):  # the server dies under the call
            invoke(s, "persist", "hang", timeout=120)

    threads = [threading.Thread(target=hang) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(children_of(server.process.pid)) >= 2, timeout=20, what="two function processes")
    children = children_of(server.process.pid)
    grandchildren = [g for c in children for g in children_of(c)]
    assert grandchildren
    server.kill()
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=10, what="function processes to die with the server (kill -9)")
    if pid_namespaces_work():
        # Each process has a PID namespace of its own: the hanging `sleep`s the bootstraps started (grandchildren,
        # which the parent-death signal does not reach) die with it.
        wait_for(lambda: not any(alive(pid) for pid in grandchildren), timeout=10, what="the functions' own children to die with them")
    for thread in threads:
        thread.join(timeout=30)
    # The deployed function survives the restart; without PID namespaces the grandchildren are ended at its start.
    server.start()
    wait_for(lambda: not any(alive(pid) for pid in grandchildren), timeout=10, what="leftover function descendants to be ended at start")
    s.headers["Authorization"] = "Bearer " + server.login()
    assert invoke(s, "persist", "again").status_code == 200
    children = children_of(server.process.pid)
    assert children
    server.stop()
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=10, what="function processes to stop with the server")


def test_cli_deploys_a_folder_and_lists_logs_and_removes_it(rt, tmp_path):
    server, s = rt
    token = s.headers["Authorization"].split()[1]
    env = {**os.environ, "AERIE_URL": server.url, "AERIE_TOKEN": token}

    def aerie(*args, check=True):
        done = subprocess.run([aerie_binary(), *args], capture_output=True, text=True, env=env, timeout=300)
        assert not check or done.returncode == 0, f"aerie {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    folder = tmp_path / "cli-fn"
    folder.mkdir()
    (folder / "bootstrap").write_bytes((HERE / "shell" / "bootstrap").read_bytes())
    (folder / "bootstrap").chmod(0o755)
    (folder / "lib").mkdir()
    (folder / "lib" / "data.txt").write_text("kept")
    (folder / "link").symlink_to("lib/data.txt")
    deployed = aerie("functions", "deploy", "cli-fn", str(folder), "--runtime", "provided", "--timeout", "5", "--env", "GREETING=hi")
    assert "deployed cli-fn version 1" in deployed.stdout
    invoked = aerie("invoke", "cli-fn", "--data", '{"from": "cli"}')
    assert json.loads(invoked.stdout)["echo"] == {"from": "cli"}
    assert "cli-fn" in aerie("functions", "ls").stdout
    logs = aerie("functions", "logs", "cli-fn").stdout
    assert "cold_start=true" in logs and "init cli-fn version 1 memory 256" in logs
    assert aerie("functions", "deploy", "cli-fn", str(folder), "--runtime", "cobol", check=False).returncode != 0
    assert "deleted cli-fn" in aerie("functions", "rm", "cli-fn").stdout
    assert s.post(s.base + "/v1/functions/cli-fn/invoke", json={}).status_code == 404


def test_async_invocation_with_idempotency_and_sse_log_events(rt):
    server, s = rt
    assert deploy(s, "sh-async", shell_zip(), runtime="provided").status_code == 201
    headers = {"Idempotency-Key": "runtimes-e2e-1"}
    first = s.post(s.base + "/v1/functions/sh-async/invocations", json={"a": 1}, headers=headers)
    assert first.status_code == 202, first.text
    again = s.post(s.base + "/v1/functions/sh-async/invocations", json={"a": 1}, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    invocation = first.json()["id"]
    events = invocation_events(s.base + f"/v1/invocations/{invocation}/events", client=s)
    logged = [data["message"] for kind, data in events if kind == "log"]
    assert f"got {invocation}" in logged and f"to stderr {invocation}" in logged
    assert events[-1][0] == "result" and events[-1][1]["echo"] == {"a": 1}
    record = s.get(s.base + f"/v1/invocations/{invocation}").json()
    assert record["status"] == "succeeded" and record["async"] is True and record["cold_start"] is True
