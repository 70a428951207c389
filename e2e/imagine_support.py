"""Fixtures for the Imagine end-to-end tests: a server with the tiny diffusion model, MiniLM and ONNX Runtime.

They skip, saying why, while the Imagine app or its models are absent from the build: the app (Sources/Apps/Imagine)
and the diffusion model generator (scripts/make-diffusion-model.py) land in separate branches of issue 6.
"""
import os
import sys
from pathlib import Path

import pytest
import requests

from conftest import REPO, Server, aerie_binary

sys.path.insert(0, str(REPO / "loadtests" / "imagine"))
import run_load  # noqa: E402  (the load runner's model and /metrics helpers)

MODELS = Path(os.environ.get("AERIE_MODELS", REPO / "aerie-data" / "models"))
# `make imagine-models` (part of `make test`) generates the tiny model in aerie-data/models; reuse it.
MODEL_CACHE = Path(os.environ.get("AERIE_LOAD_MODELS", MODELS))


def _imagine_data(workdir: Path, name: str) -> Path:
    try:
        model = run_load.diffusion_model("tiny", MODEL_CACHE)
        return run_load.prepare_data(workdir / name, MODELS, model, aerie_binary())
    except run_load.Unavailable as error:
        pytest.skip(f"Imagine needs its models: {error}")


def _check_app(server: Server, token: str) -> None:
    page = requests.get(server.url + "/imagine/", allow_redirects=False, timeout=10)
    if page.status_code == 404:
        pytest.skip("/imagine/ is 404: this aerie build has no Imagine app yet (issue 6, Sources/Apps/Imagine)")
    try:
        run_load.check_imagine(server.url, token)
    except run_load.Unavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def imagine_server(workdir, request):
    """A server of its own (fresh cache) with the Imagine app ready, and an admin token: (server, token)."""
    data = _imagine_data(workdir, f"imagine-{request.module.__name__.rsplit('.', 1)[-1]}")
    server = Server(data).start()
    try:
        token = server.login()
        _check_app(server, token)
        yield server, token
    finally:
        server.stop()
