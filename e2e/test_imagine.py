"""The Imagine app against a real `aerie serve`: README's Imagine block word for word, and 503 without models."""
import os
import re
import subprocess

import requests

from conftest import REPO, Server, aerie_binary


def readme_imagine_script() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Imagine", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README's Imagine section has no ```sh block"
    return match.group(1)


def link_models(data_dir):
    """The models `make test` installs in ./aerie-data (MiniLM, ONNX Runtime), plus the tiny diffusion model."""
    models = data_dir / "models"
    models.mkdir(parents=True)
    source = REPO / "aerie-data" / "models"
    for name in ("minilm", "onnxruntime"):
        assert (source / name).exists(), f"{source / name} is missing: run `make neural-models`"
        os.symlink((source / name).resolve(), models / name)
    # `make imagine-models` (part of `make test`) generates the tiny pipeline there; register it with the CLI.
    tiny = source / "imagine-tiny"
    assert (tiny / "model_index.json").exists(), f"{tiny} is missing: run `make imagine-models`"
    subprocess.run([aerie_binary(), "models", "use", "imagine", str(tiny), "--data", str(data_dir)], check=True, capture_output=True,
                   timeout=60)


def test_readme_imagine_runs_word_for_word(workdir):
    data = workdir / "imagine" / "aerie-data"
    link_models(data)
    server = Server(data).start(timeout=120)
    try:
        token = server.login()
        env = dict(os.environ, AERIE_URL=server.url, TOKEN=token)
        completed = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_imagine_script()], cwd=data.parent, env=env,
                                   capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        lines = [line.strip().lower() for line in completed.stdout.splitlines()]
        assert "x-cache: miss" in lines, completed.stdout
        assert "x-cache: hit" in lines, completed.stdout
        assert "200 image/png" in lines, completed.stdout
        assert '"matched_prompt":"a photo of a cat sitting on a sofa"' in completed.stdout
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert "imagine_cache_hits_total 1" in metrics
        assert "imagine_cache_misses_total 1" in metrics
    finally:
        server.stop()


def test_imagine_without_models_answers_503_naming_the_command(server, admin_token):
    response = requests.post(f"{server.url}/v1/apps/imagine/images", json={"prompt": "a cat"},
                             headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "make imagine-models" in response.json()["detail"]


def test_imagine_without_wordnet_answers_503_naming_the_package(workdir):
    """The learned matcher needs WordNet (Debian's wordnet-base): without it Imagine answers 503 with the package's
    name, and the rest of the server runs."""
    data = workdir / "imagine-no-wordnet" / "aerie-data"
    link_models(data)
    server = Server(data, extra_env={"AERIE_WORDNET": str(workdir / "no-wordnet-here")}).start(timeout=120)
    try:
        token = server.login()
        response = requests.post(f"{server.url}/v1/apps/imagine/images", json={"prompt": "a cat on a sofa"},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "wordnet-base" in response.json()["detail"]
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
    finally:
        server.stop()
