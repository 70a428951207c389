"""Limits that need a running server (issue 17): open server-sent event streams per user, and a burst of requests
over each limit, each answered with its own 4xx or 429 problem+json while the server stays healthy."""
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import REPO, Server, data_with_models
from test_runtimes import shell_zip

BURST = 24


def burst(request, count=BURST):
    """Sends `count` requests at once (`request` makes one); returns the responses."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: request(), range(count)))


def assert_problems(responses, statuses, what):
    for response in responses:
        assert response.status_code in statuses, f"{what}: {response.status_code} {response.text[:200]}"
        assert response.headers["Content-Type"].startswith("application/problem+json"), f"{what}: {response.headers}"


def assert_healthy(server, headers):
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
    ok = requests.put(server.url + "/v1/buckets/limits-check/objects/after.txt", data=b"still here", headers=headers, timeout=10)
    assert ok.status_code == 201, ok.text


def test_event_streams_per_user_are_limited(workdir):
    """With --max-event-streams-per-user 2: a user's third stream is 429 problem+json with Retry-After, another
    user is not affected, and a closed stream gives its place back."""
    server = Server(workdir / "limits", extra_args=["--apps", "none", "--max-event-streams-per-user", "2"]).start()
    streams = []
    try:
        admin = {"Authorization": "Bearer " + server.login()}
        deployed = requests.put(server.url + "/v1/functions/hanging", params={"runtime": "provided", "timeout": "60", "concurrency": "4"},
                                data=shell_zip(), headers={**admin, "Content-Type": "application/zip"}, timeout=300)
        assert deployed.status_code == 201, deployed.text
        assert requests.post(server.url + "/v1/users", json={"username": "erin", "password": "erin-long-password"}, headers=admin,
                             timeout=10).status_code == 201
        erin = {"Authorization": "Bearer " + server.login("erin", "erin-long-password")}

        def hang(headers):
            started = requests.post(server.url + "/v1/functions/hanging/invocations", json="hang", headers=headers, timeout=10)
            assert started.status_code == 202, started.text
            return started.json()["id"]

        def follow(headers, invocation):
            return requests.get(f"{server.url}/v1/invocations/{invocation}/events", headers={**headers, "Accept": "text/event-stream"},
                                stream=True, timeout=30)

        mine = hang(admin)
        for _ in range(2):
            stream = follow(admin, mine)
            assert stream.status_code == 200, stream.text
            streams.append(stream)
        refused = follow(admin, mine)
        assert refused.status_code == 429
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert int(refused.headers["Retry-After"]) >= 1
        assert "event streams open" in refused.json()["detail"]
        # Another user's streams are counted apart.
        hers = follow(erin, hang(erin))
        assert hers.status_code == 200, hers.text
        streams.append(hers)
        # Closing one gives its place back (the server notices the closed connection).
        streams.pop(0).close()
        for _ in range(50):
            again = follow(admin, mine)
            if again.status_code == 200:
                streams.append(again)
                break
            again.close()
            time.sleep(0.2)
        else:
            raise AssertionError("a closed stream did not give its place back")
        requests.delete(f"{server.url}/v1/invocations/{mine}", headers=admin, timeout=10)
        # The server stays healthy.
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
    finally:
        for stream in streams:
            stream.close()
        server.stop()


def test_a_burst_over_each_limit_gets_its_problem_and_the_server_stays_healthy(workdir):
    """Bodies over --max-body-mib (413), JSON nested past the parser's depth (400) or over the JSON size limit (413),
    a function's concurrency and waiting line full (429 with Retry-After), and decompression bombs on Gallery's upload
    (413): 24 at once of each, on the embedded default with Gallery's real models."""
    data = data_with_models(workdir / "bursts" / "data", names=("minilm", "onnxruntime", "classifier"))
    server = Server(data, extra_args=["--apps", "gallery", "--rate-limit", "0", "--max-body-mib", "1"]).start()
    try:
        admin = {"Authorization": "Bearer " + server.login()}
        assert requests.put(server.url + "/v1/buckets/limits-check", headers=admin, timeout=10).status_code == 201
        assert_healthy(server, admin)

        big = b"x" * (2 << 20)
        assert_problems(burst(lambda: requests.put(server.url + "/v1/buckets/limits-check/objects/big.bin", data=big, headers=admin, timeout=60)),
                        {413}, "an object over --max-body-mib")
        assert_healthy(server, admin)

        deep = "[" * 100_000 + "]" * 100_000
        assert_problems(burst(lambda: requests.post(server.url + "/v1/tables", data=deep, timeout=60,
                                                    headers={**admin, "Content-Type": "application/json"})),
                        {400}, "JSON nested 100,000 deep")
        wide = '{"name": "t", "partition_key": "id", "pad": "' + "y" * (2 << 20) + '"}'
        assert_problems(burst(lambda: requests.post(server.url + "/v1/tables", data=wide, timeout=60,
                                                    headers={**admin, "Content-Type": "application/json"})),
                        {413}, "a JSON body over the JSON size limit")
        assert_healthy(server, admin)

        deployed = requests.put(server.url + "/v1/functions/narrow", params={"runtime": "provided", "timeout": "3", "concurrency": "1"},
                                data=shell_zip(), headers={**admin, "Content-Type": "application/zip"}, timeout=300)
        assert deployed.status_code == 201, deployed.text
        calls = burst(lambda: requests.post(server.url + "/v1/functions/narrow/invoke", json="hang", headers=admin, timeout=60))
        refused = [call for call in calls if call.status_code == 429]
        assert len(refused) >= BURST - 2, [call.status_code for call in calls]
        assert_problems(refused, {429}, "a function's concurrency and waiting line")
        assert all(int(call.headers["Retry-After"]) >= 1 for call in refused)
        assert {call.status_code for call in calls} <= {429, 504}, [call.status_code for call in calls]
        assert_healthy(server, admin)

        bomb = (REPO / "Tests" / "AerieImagingTests" / "Fixtures" / "bomb.png").read_bytes()
        assert_problems(burst(lambda: requests.post(server.url + "/v1/apps/gallery/photos", data=bomb, timeout=60,
                                                    headers={**admin, "Content-Type": "image/png"})),
                        {413}, "a decompression bomb")
        assert requests.get(server.url + "/v1/apps/gallery/photos", headers=admin, timeout=10).json()["items"] == []
        assert_healthy(server, admin)
    finally:
        server.stop()


def test_a_burst_over_the_rate_limit_is_429_and_health_stays_open(workdir):
    """--rate-limit 5: of 60 requests at once from one caller most are 429 problem+json with Retry-After; /health is
    exempt; another caller is not affected."""
    server = Server(workdir / "rate", extra_args=["--apps", "none", "--rate-limit", "5"]).start()
    try:
        admin = {"Authorization": "Bearer " + server.login()}
        key = requests.post(server.url + "/v1/keys", json={"name": "other", "scopes": ["objects:read"]}, headers=admin, timeout=10).json()["key"]
        calls = burst(lambda: requests.get(server.url + "/v1/buckets", headers=admin, timeout=30), count=60)
        limited = [call for call in calls if call.status_code == 429]
        assert len(limited) >= 30, [call.status_code for call in calls]
        assert_problems(limited, {429}, "the rate limit")
        assert all(int(call.headers["Retry-After"]) >= 1 for call in limited)
        assert {call.status_code for call in calls} <= {200, 429}
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
        assert requests.get(server.url + "/v1/buckets", headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200
    finally:
        server.stop()


def test_malformed_multipart_uploads_are_400s_and_never_take_the_server_down(workdir):
    """Each upload route that reads a multipart form (Pipeline's datasets here), sent bodies the parser must refuse:
    the first one, a byte over 0x7F in a part's header name, crashed the whole server while the form was read by
    MultipartKit (found by the multipart fuzz target). 24 at once of each, then the server still answers."""
    server = Server(workdir / "multipart", extra_args=["--apps", "pipeline", "--rate-limit", "0"]).start()
    try:
        admin = {"Authorization": "Bearer " + server.login()}
        assert requests.put(server.url + "/v1/buckets/limits-check", headers=admin, timeout=10).status_code == 201
        bodies = [
            b'--B0und4ry\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Typ\xf1: text/csv\r\n\r\na,b\n1,2\r\n--B0und4ry--\r\n',
            b'--B0und4ry\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2 and never closed',
            b'--B0und4ry\r\n\xff\xfe: x\r\n\r\nbody\r\n--B0und4ry--\r\n',
        ]
        headers = {**admin, "Content-Type": "multipart/form-data; boundary=B0und4ry"}
        for body in bodies:
            responses = burst(lambda: requests.post(server.url + "/v1/apps/pipeline/datasets", data=body, headers=headers, timeout=30))
            assert_problems(responses, {400}, f"multipart body {body[:60]!r}")
            assert responses[0].json()["detail"].startswith("The multipart body does not parse")
        assert_healthy(server, admin)
    finally:
        server.stop()
