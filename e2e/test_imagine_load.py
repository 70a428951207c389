"""The short Imagine load run of make test: Locust's cache-effectiveness mix for about 20 s with the tiny model,
under capacity. 429 with Retry-After is expected back-pressure; any other failure fails the test. Skips while the
Imagine app is absent."""
import importlib.util
import sys

import pytest

from imagine_support import imagine_server, run_load  # noqa: F401  (fixture; the runner's helpers)

# Only look for Locust: importing it here would monkey-patch this process with gevent (it runs in a subprocess).
if importlib.util.find_spec("locust") is None:
    pytest.skip("Locust is not installed: scripts/install-deps.sh test installs it", allow_module_level=True)


def test_short_load_run_has_no_failures(imagine_server, workdir):  # noqa: F811
    server, token = imagine_server
    out = workdir / "load-ci"
    out.mkdir(exist_ok=True)
    run_load.warm_up(server.url, token, steps=2)
    before = run_load.scrape(server.url)
    result = run_load.run_locust(server.url, token, "ci", out, duration=20, users=3, steps=2, python=sys.executable, timeout=180)
    after = run_load.scrape(server.url)
    failures = run_load.read_failures(out, "ci")
    assert result.returncode == 0 and not failures, (
        f"locust exited with {result.returncode}; failures: {failures}\n{result.stderr[-3000:]}")
    summary = run_load.summarize(out, "ci", run_load.delta(before, after))
    assert summary["failures"] == 0
    assert summary["served"] > 0, summary
    # Repeats of generated prompts hit the cache, and the server counted what the clients saw.
    assert summary["hits"] > 0, summary
    assert summary["server"]["hits"] >= summary["hits"]
    assert summary["server"]["misses"] >= 1
