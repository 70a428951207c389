"""Limits that need a running server (issue 17): open server-sent event streams per user."""
import time

import requests

from conftest import Server
from test_runtimes import shell_zip


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
