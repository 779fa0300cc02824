"""deploy/k8s: every overlay renders, every object validates against the Kubernetes schemas
(offline, ``kubernetes-validate``), and the objects say what the seed says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from deploy.k8s.render import RenderError, apply_operation, load_yaml, render, split_image
from services.cli.run import SERVICES
from tests.conftest import REPO

K8S = REPO / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir())
KUBERNETES_VERSION = "1.30.0"

# The seed's tables (cores, memory) per instance; the base follows the minimum
# (self-hosted) one, production the acoustid.org one.
MINIMUM = {"api": ("2", "2Gi"), "worker": ("2", "2Gi"), "index": ("2", "2Gi")}
PRODUCTION = {
    "api": ("4", "8Gi"),
    "web": ("2", "4Gi"),
    "worker": ("4", "8Gi"),
    "cron": ("2", "4Gi"),
    "index": ("8", "16Gi"),
}
PORTS = {"api": 5000, "web": 5001, "worker": 5002, "cron": 5003, "index": 6081}
LIVENESS = {
    "initialDelaySeconds": 30,
    "periodSeconds": 10,
    "timeoutSeconds": 5,
    "failureThreshold": 3,
}
READINESS = {
    "initialDelaySeconds": 10,
    "periodSeconds": 5,
    "timeoutSeconds": 3,
    "failureThreshold": 2,
}


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    [only] = workload["spec"]["template"]["spec"]["containers"]
    return only


def service_of(workload: dict[str, Any]) -> str:
    return str(workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"])


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(K8S / "overlays" / request.param)


def test_there_are_dev_and_production_overlays() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


def test_every_object_validates_against_the_kubernetes_schemas(rendered) -> None:
    name, objects = rendered
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {exc.message}")


def test_the_jobs_validate_and_read_the_same_settings() -> None:
    for path in sorted((K8S / "jobs").glob("*.yaml")):
        [job] = load_yaml(path)
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
        [c] = job["spec"]["template"]["spec"]["containers"]
        refs = {next(iter(ref.values()))["name"] for ref in c["envFrom"]}
        assert refs == {"acoustid-settings", "acoustid-secrets"}
        assert split_image(c["image"])[0] == "acoustid-py/tools"


def test_every_service_runs_with_probes_from_the_seed(rendered) -> None:
    _, objects = rendered
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {"api", "web", "worker", "cron"}
    assert {service_of(w) for w in workloads(objects)} == set(SERVICES)
    for workload in workloads(objects):
        c = container(workload)
        service = service_of(workload)
        assert c["args"] == ["run", service]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        live, ready = c["livenessProbe"], c["readinessProbe"]
        assert live["httpGet"]["path"] == "/_health_docker"
        assert ready["httpGet"]["path"] == "/_health_ro"
        assert ports[live["httpGet"]["port"]] == PORTS[service]
        assert ports[ready["httpGet"]["port"]] == PORTS[service]
        assert {k: live[k] for k in LIVENESS} == LIVENESS
        assert {k: ready[k] for k in READINESS} == READINESS


def test_api_and_worker_scale_on_cpu_and_cron_stays_single(rendered) -> None:
    _, objects = rendered
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {"api", "worker"}
    for hpa in hpas.values():
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert by_kind(objects, "Deployment")["cron"]["spec"]["replicas"] == 1


def test_one_statefulset_with_a_volume_per_index_shard(rendered) -> None:
    _, objects = rendered
    settings = by_kind(objects, "ConfigMap")["acoustid-settings"]["data"]
    urls = settings["ACOUSTID_INDEX_URLS"].split(",")
    sets = by_kind(objects, "StatefulSet")
    services = by_kind(objects, "Service")
    assert sorted(sets) == [f"index-{n}" for n in range(len(urls))]
    for shard, url in enumerate(urls):
        sts = sets[f"index-{shard}"]
        env = {e["name"]: e["value"] for e in container(sts)["env"]}
        assert env["ACOUSTID_INDEX_SHARD"] == str(shard)
        assert url == f"http://index-{shard}:6081"
        assert env["ACOUSTID_INDEX_PEERS"] == url
        assert sts["spec"]["serviceName"] in services
        [claim] = sts["spec"]["volumeClaimTemplates"]
        [mount] = container(sts)["volumeMounts"]
        assert mount["name"] == claim["metadata"]["name"]
        assert mount["mountPath"] == env["ACOUSTID_INDEX_DATA_DIR"]


def test_settings_come_from_the_configmap_and_the_secret(rendered) -> None:
    name, objects = rendered
    secrets = by_kind(objects, "Secret")
    assert ("acoustid-secrets" in secrets) == (name == "dev")
    for workload in workloads(objects):
        refs = {next(iter(ref.values()))["name"] for ref in container(workload)["envFrom"]}
        assert "acoustid-settings" in refs
        if service_of(workload) != "index":
            assert "acoustid-secrets" in refs


def test_production_requests_follow_the_seeds_production_table() -> None:
    objects = render(K8S / "overlays" / "production")
    for workload in workloads(objects):
        requests = container(workload)["resources"]["requests"]
        assert (requests["cpu"], requests["memory"]) == PRODUCTION[service_of(workload)]


def test_base_requests_follow_the_seeds_minimum_table() -> None:
    objects = render(K8S / "base")
    for workload in workloads(objects):
        service = service_of(workload)
        requests = container(workload)["resources"]["requests"]
        if service in MINIMUM:
            assert (requests["cpu"], requests["memory"]) == MINIMUM[service]


def test_images_are_the_dockerfile_targets(rendered) -> None:
    _, objects = rendered
    dockerfile = (REPO / "deploy" / "compose" / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, re.MULTILINE | re.IGNORECASE))
    for workload in workloads(objects):
        image, tag = split_image(container(workload)["image"])
        assert image == f"acoustid-py/{service_of(workload)}"
        assert service_of(workload) in targets
        assert tag


# The renderer itself.


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: app, image: "registry:5000/app:1"}]
"""


def test_renderer_applies_namespace_images_replicas_and_patches(tmp_path) -> None:
    write(tmp_path / "base/app.yaml", DEPLOYMENT)
    write(tmp_path / "base/kustomization.yaml", "resources: [app.yaml]\n")
    write(
        tmp_path / "over/kustomization.yaml",
        """resources: [../base]
namespace: prod
labels: [{pairs: {team: x}}]
images: [{name: "registry:5000/app", newTag: "2"}]
replicas: [{name: app, count: 3}]
patches:
  - target: {kind: Deployment, name: a.p}
    patch: |-
      - {op: add, path: /spec/template/spec/containers/0/args, value: [run]}
      - {op: remove, path: /spec/selector/matchLabels/a}
""",
    )
    [obj] = render(tmp_path / "over")
    assert obj["metadata"] == {"name": "app", "namespace": "prod", "labels": {"team": "x"}}
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["selector"] == {"matchLabels": {}}
    assert obj["spec"]["template"]["spec"]["containers"][0] == {
        "name": "app",
        "image": "registry:5000/app:2",
        "args": ["run"],
    }


@pytest.mark.parametrize(
    "kustomization, message",
    [
        ("resources: [app.yaml]\nconfigMapGenerator: []\n", "not supported here"),
        ("resources: [app.yaml]\nimages: [{name: other, newTag: x}]\n", "no container uses"),
        ("resources: [app.yaml]\nreplicas: [{name: nope, count: 2}]\n", "no Deployment"),
        (
            "resources: [app.yaml]\npatches: [{target: {kind: Service}, patch: '[]'}]\n",
            "nothing matches",
        ),
        (
            "resources: [app.yaml]\npatches: [{patch: 'spec: {replicas: 2}'}]\n",
            "only JSON 6902",
        ),
    ],
)
def test_renderer_refuses_what_it_does_not_implement(tmp_path, kustomization, message) -> None:
    write(tmp_path / "app.yaml", DEPLOYMENT)
    write(tmp_path / "kustomization.yaml", kustomization)
    with pytest.raises(RenderError, match=message):
        render(tmp_path)


def test_json_patch_errors_name_the_path() -> None:
    doc: dict[str, Any] = {"spec": {"items": [1, 2]}}
    apply_operation(doc, {"op": "add", "path": "/spec/items/-", "value": 3})
    apply_operation(doc, {"op": "replace", "path": "/spec/items/0", "value": 0})
    assert doc == {"spec": {"items": [0, 2, 3]}}
    with pytest.raises(RenderError, match="/spec/missing does not exist"):
        apply_operation(doc, {"op": "replace", "path": "/spec/missing", "value": 1})
    with pytest.raises(RenderError, match="no list item 7"):
        apply_operation(doc, {"op": "remove", "path": "/spec/items/7"})
