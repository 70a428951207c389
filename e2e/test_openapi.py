"""The OpenAPI document of a real `aerie serve` with every app enabled: every `$ref` names a schema the document
defines (a missing one hides a response's shape from clients and fuzzers), and every error status of every operation
says its content type (problem+json, or HTML for pages)."""
import requests


def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)
    return found


def test_every_reference_resolves(server):
    document = requests.get(server.url + "/openapi.json", timeout=10).json()
    schemas = document["components"]["schemas"]
    missing = sorted(ref for ref in refs(document, set()) if ref.removeprefix("#/components/schemas/") not in schemas)
    assert missing == [], f"references to schemas the document does not define: {missing}"
    paths = document["paths"]
    for app in ("pipeline", "imagine", "gallery", "faces"):
        assert any(path.startswith(f"/v1/apps/{app}/") for path in paths), f"no {app} routes in /openapi.json"
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status == "default" or status.startswith(("4", "5")):
                    assert response.get("content"), f"{method.upper()} {path} {status} has no content type"
