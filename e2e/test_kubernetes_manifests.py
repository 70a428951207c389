"""Kubernetes manifests of the scale-out (issue 16, deploy/kubernetes): every document validates offline against the
Kubernetes JSON schemas that the kubernetes-validate package ships (strict: unknown fields fail too), and the facts
the deployment relies on hold: roles, /health probes, secrets only through secretKeyRef, an HPA and a PDB for each
Deployment (the workers' HPA also on queue depth), and a kustomization that lists every manifest.
Needs neither the aerie binary nor a cluster."""
import copy
from pathlib import Path

import pytest
import yaml

try:
    import kubernetes_validate
except ModuleNotFoundError as error:  # a clear failure, never a skip: `make test` installs it
    raise ModuleNotFoundError(
        "kubernetes-validate is missing: `make test` installs it from scripts/requirements-test.txt "
        "(or: .venv/bin/pip install -r scripts/requirements-test.txt)") from error

DIRECTORY = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"
# The newest Kubernetes version kubernetes-validate 1.37.0 has schemas for.
KUBERNETES_VERSION = "1.37.0"
SECRET = "aerie-secrets"
# The variables that carry credentials (or URLs with them): they must come from the Secret, never a literal.
SECRET_VARIABLES = {"AERIE_DATABASE_URL", "AERIE_OBJECT_STORE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AERIE_ADMIN_PASSWORD"}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "DATABASE_URL", "CREDENTIAL")
# What each role's node needs to join the deployment.
REQUIRED_SECRET_VARIABLES = {"AERIE_DATABASE_URL", "AERIE_OBJECT_STORE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                             "AERIE_ADMIN_PASSWORD"}


def manifest_files():
    return sorted(path for path in DIRECTORY.glob("*.yaml") if path.name != "kustomization.yaml")


def load(path):
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


DOCUMENTS = [(path.name, document) for path in manifest_files() for document in load(path)]


def documents(kind):
    return [document for _, document in DOCUMENTS if document["kind"] == kind]


def deployment(component):
    found = [d for d in documents("Deployment") if d["metadata"]["name"] == f"aerie-{component}"]
    assert len(found) == 1, f"one Deployment aerie-{component}"
    return found[0]


def main_container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def all_containers(deployment):
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def selects(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def test_the_folder_holds_every_object():
    kinds = sorted((document["kind"], document["metadata"]["name"]) for _, document in DOCUMENTS)
    assert kinds == sorted([
        ("Namespace", "aerie"), ("Secret", SECRET),
        ("Deployment", "aerie-gateway"), ("Service", "aerie-gateway"),
        ("HorizontalPodAutoscaler", "aerie-gateway"), ("PodDisruptionBudget", "aerie-gateway"),
        ("Deployment", "aerie-worker"), ("Service", "aerie-worker"),
        ("HorizontalPodAutoscaler", "aerie-worker"), ("PodDisruptionBudget", "aerie-worker"),
    ])
    for _, document in DOCUMENTS:
        if document["kind"] != "Namespace":
            assert document["metadata"].get("namespace") == "aerie", document["metadata"]["name"]
        assert document["metadata"]["labels"]["app.kubernetes.io/name"] == "aerie"


@pytest.mark.parametrize("document", [d for _, d in DOCUMENTS],
                         ids=[f"{name}:{d['kind']}/{d['metadata']['name']}" for name, d in DOCUMENTS])
def test_document_validates_against_the_kubernetes_schema(document):
    assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == "1.37"


@pytest.mark.parametrize("breakage", ["wrong type", "unknown field", "unknown nested field"])
def test_the_validator_rejects_a_broken_deployment(breakage):
    broken = copy.deepcopy(deployment("gateway"))
    if breakage == "wrong type":
        broken["spec"]["replicas"] = "two"
        expected_path = ["spec", "replicas"]
    elif breakage == "unknown field":
        broken["spec"]["replica"] = 2
        expected_path = ["spec"]
    else:
        main_container(broken)["livenessProbes"] = main_container(broken).pop("livenessProbe")
        expected_path = ["spec", "template", "spec", "containers", 0]
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    assert list(caught.value.path) == expected_path, caught.value.message


@pytest.mark.parametrize("component", ["gateway", "worker"])
def test_role_probes_and_stop(component):
    pod = deployment(component)["spec"]["template"]
    container = main_container(deployment(component))
    assert container["command"] == ["aerie"]
    args = container["args"]
    assert args[0] == "serve"
    roles = [args[i + 1] for i, arg in enumerate(args) if arg == "--role"]
    assert roles == [component], args
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert args[args.index("--port") + 1] == "8080"
    assert args[args.index("--data") + 1] == "/var/lib/aerie"
    assert ("--s3-port" in args) == (component == "gateway"), "only a gateway serves the S3 API"

    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == 8080
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/health", probe
        assert ports.get(get["port"], get["port"]) == 8080, probe

    assert 25 <= pod["spec"]["terminationGracePeriodSeconds"] <= 60
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] >= 3
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8080"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert pod["metadata"]["labels"] == {"app.kubernetes.io/name": "aerie", "app.kubernetes.io/component": component}
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"cpu": "2", "memory": "2Gi"}}


@pytest.mark.parametrize("component", ["gateway", "worker"])
def test_pods_run_unprivileged_on_a_read_only_root(component):
    spec = deployment(component)["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    mounts_needed = {"/var/lib/aerie", "/tmp"}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for container in all_containers(deployment(component)):
        assert container["image"] == main_container(deployment(component))["image"]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts_needed <= set(mounts), container["name"]
        assert all("emptyDir" in volumes[name] for name in mounts.values())


@pytest.mark.parametrize("component", ["gateway", "worker"])
def test_secrets_come_only_from_the_secret(component):
    secret = documents("Secret")[0]
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    from_secret = set()
    for container in all_containers(deployment(component)):
        for source in container.get("envFrom", []):
            assert set(source) <= {"secretRef", "prefix"}, f"{container['name']}: envFrom only from a Secret"
            assert source["secretRef"]["name"] == SECRET
            from_secret |= keys
        for variable in container.get("env", []):
            name = variable["name"]
            carries_secret = name in SECRET_VARIABLES or any(word in name for word in SECRET_WORDS)
            if not carries_secret:
                continue
            assert "value" not in variable, f"{container['name']}: {name} is a literal"
            reference = variable["valueFrom"]["secretKeyRef"]
            assert reference["name"] == SECRET, name
            assert reference["key"] in keys, f"{name}: key {reference['key']} is not in the example Secret"
            from_secret.add(name)
    assert REQUIRED_SECRET_VARIABLES <= from_secret


def test_the_example_secret_holds_only_placeholders():
    secret = documents("Secret")[0]
    values = secret["stringData"]
    assert SECRET_VARIABLES == set(values)
    for name, value in values.items():
        if name != "AWS_REGION":
            assert "CHANGE-ME" in value, f"{name} must stay a placeholder in the example"


def test_each_deployment_has_an_hpa_and_the_workers_scale_on_queue_depth():
    hpas = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in documents("HorizontalPodAutoscaler")}
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["minReplicas"] >= 2, "with a PDB of minAvailable 1, one replica would block node drains"
    assert set(hpas) == {"aerie-gateway", "aerie-worker"}

    def cpu(hpa):
        return [m["resource"]["target"] for m in hpa["spec"]["metrics"]
                if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]

    assert cpu(hpas["aerie-gateway"]) == [{"type": "Utilization", "averageUtilization": 70}]
    assert cpu(hpas["aerie-worker"]) == [{"type": "Utilization", "averageUtilization": 70}]
    external = [m["external"] for m in hpas["aerie-worker"]["spec"]["metrics"] if m["type"] == "External"]
    assert len(external) == 1
    assert external[0]["metric"]["name"] == "aerie_queue_messages_count"
    assert external[0]["metric"]["selector"]["matchLabels"] == {"state": "visible"}
    assert external[0]["target"]["type"] == "AverageValue"


@pytest.mark.parametrize("component", ["gateway", "worker"])
def test_a_pdb_and_a_service_select_each_deployment(component):
    labels = deployment(component)["spec"]["template"]["metadata"]["labels"]
    assert deployment(component)["spec"]["selector"]["matchLabels"] == labels
    pdbs = [pdb for pdb in documents("PodDisruptionBudget") if selects(pdb["spec"]["selector"]["matchLabels"], labels)]
    assert len(pdbs) == 1
    assert pdbs[0]["spec"]["minAvailable"] == 1
    services = [s for s in documents("Service") if selects(s["spec"]["selector"], labels)]
    assert len(services) == 1
    ports = {port["name"] for port in main_container(deployment(component))["ports"]}
    assert {port["targetPort"] for port in services[0]["spec"]["ports"]} <= ports


def test_the_gateway_service_serves_http_and_s3():
    service = next(s for s in documents("Service") if s["metadata"]["name"] == "aerie-gateway")
    assert service["spec"]["type"] == "ClusterIP"
    assert {(port["name"], port["port"]) for port in service["spec"]["ports"]} == {("http", 8080), ("s3", 9000)}


def test_the_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((DIRECTORY / "kustomization.yaml").read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "aerie"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    assert set(resources) == {path.name for path in manifest_files()}
