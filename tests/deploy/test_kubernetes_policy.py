"""What the Kubernetes manifests promise beyond their schemas: probes, grace periods, GPUs, settings the service
reads, commands its CLI accepts, selectors that select, and references that resolve."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from service import __version__
from service.cli import build_parser
from service.settings import Settings
from tests.deploy.kustomize import KUBERNETES, ROOT, VARIANTS, Document, Manifest, find, load_documents, variant

NAMESPACE = "unlearn-audit"
IMAGE = f"unlearn-audit:{__version__}"
SECRETS = load_documents(KUBERNETES / "base" / "secrets.example.yaml")


def module_constant(path: str, name: str) -> float:
    """A module-level number, read from the source (importing the runner would import torch)."""
    tree = ast.parse((ROOT / path).read_text())
    target: ast.expr
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            return float(ast.literal_eval(value))
    raise AssertionError(f"{path} defines no {name}")


WORKER_STOP_S = module_constant("service/runner/run.py", "STOP_GRACE_S") + module_constant(
    "service/worker/callbacks.py", "STOP_GRACE_S"
)
"""The longest a worker takes to stop on SIGTERM: a check's grace to reach its next batch, then the callbacks'."""


def pod_specs(body: Manifest) -> Iterator[dict[str, Any]]:
    """Every pod spec an object carries (a workload's template, each RayCluster group's)."""
    spec = body.get("spec", {})
    if "template" in spec:
        yield spec["template"]["spec"]
    if body["kind"] == "RayCluster":
        yield spec["headGroupSpec"]["template"]["spec"]
        for group in spec["workerGroupSpecs"]:
            yield group["template"]["spec"]


def pod_labels(documents: list[Document]) -> list[dict[str, str]]:
    labels = []
    for d in documents:
        spec = d.body.get("spec", {})
        if "template" in spec:
            labels.append(spec["template"]["metadata"]["labels"])
        if d.kind == "RayCluster":
            labels.append(spec["headGroupSpec"]["template"]["metadata"]["labels"])
            labels += [g["template"]["metadata"]["labels"] for g in spec["workerGroupSpecs"]]
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def containers(documents: list[Document]) -> Iterator[tuple[Document, dict[str, Any], dict[str, Any]]]:
    for d in documents:
        for pod in pod_specs(d.body):
            for container in pod["containers"]:
                yield d, pod, container


def worker(name: str) -> Manifest:
    return find(variant(name), "Deployment", "unlearn-audit-worker")


def test_api_probes_readiness_on_readyz_and_liveness_on_healthz() -> None:
    api = find(variant("cpu"), "Deployment", "unlearn-audit-api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "http", "containerPort": 8000} in container["ports"]
    args = build_parser().parse_args(container["args"])
    assert (args.command, args.port, args.workers) == ("serve", 8000, 0)  # API only: jobs run in the workers


def test_the_hpa_scales_the_api_and_budgets_keep_it_serving() -> None:
    documents = variant("cpu")
    hpa = find(documents, "HorizontalPodAutoscaler", "unlearn-audit-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "unlearn-audit-api"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert find(documents, "PodDisruptionBudget", "unlearn-audit-api")["spec"]["minAvailable"] == 1
    assert find(documents, "PodDisruptionBudget", "unlearn-audit-worker")["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("name", VARIANTS)
def test_worker_grace_outlasts_the_workers_own_stop(name: str) -> None:
    grace = worker(name)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= 2 * WORKER_STOP_S + 60, (grace, WORKER_STOP_S)  # margin for model unloading and the release
    compose = yaml.safe_load((KUBERNETES.parent / "docker-compose.yml").read_text())
    assert int(compose["services"]["worker"]["stop_grace_period"].rstrip("s")) > WORKER_STOP_S


@pytest.mark.parametrize("name", VARIANTS)
def test_worker_command_is_one_the_cli_accepts(name: str) -> None:
    spec = worker(name)["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    args, unknown = build_parser().parse_known_args(container["args"])
    assert args.command == "worker" and args.workers == 1 and not args.once
    assert unknown == []
    assert "readinessProbe" not in container and "livenessProbe" not in container  # it serves no HTTP
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert ("RAY_ADDRESS" in env) == (name == "kuberay") and ("--executor" in container["args"]) == (name == "kuberay")


def test_gpu_workers_request_a_gpu_and_cpu_workers_none() -> None:
    gpu = worker("gpu")["spec"]["template"]["spec"]
    resources = gpu["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu["tolerations"]
    for name in ("cpu", "kuberay"):
        assert "nvidia.com/gpu" not in str(worker(name)), name
    cpu = worker("cpu")["spec"]["template"]["spec"]["containers"][0]
    threads = next(e["value"] for e in cpu["env"] if e["name"] == "UNLEARN_AUDIT_TORCH_THREADS")
    assert int(threads) == int(cpu["resources"]["limits"]["cpu"])  # not the node's CPU count


def test_raycluster_autoscales_gpu_workers_that_the_ray_workers_reach() -> None:
    documents = variant("kuberay")
    ray = find(documents, "RayCluster", "unlearn-audit-ray")
    assert ray["spec"]["enableInTreeAutoscaling"] is True
    (group,) = ray["spec"]["workerGroupSpecs"]
    assert group["minReplicas"] == 0 < group["maxReplicas"]
    (container,) = group["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == group["rayStartParams"]["num-gpus"] == "1"
    head_ports = {
        p["name"]: p["containerPort"]
        for p in ray["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]
    }
    env = {e["name"]: e.get("value") for e in worker("kuberay")["spec"]["template"]["spec"]["containers"][0]["env"]}
    # KubeRay names the head's Service <cluster>-head-svc.
    assert env["RAY_ADDRESS"] == f"ray://unlearn-audit-ray-head-svc.{NAMESPACE}.svc:{head_ports['client']}"
    policy = find(documents, "NetworkPolicy", "unlearn-audit-ray-ingress")
    from_workers = [
        r
        for r in policy["spec"]["ingress"]
        if r["from"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "worker"
    ]
    assert from_workers and from_workers[0]["ports"] == [{"protocol": "TCP", "port": head_ports["client"]}]


def settings_environment(documents: list[Document]) -> dict[str, str]:
    """The UNLEARN_AUDIT_* variables the ConfigMap and the containers set (secret ones with a stand-in)."""
    env = dict(find(documents, "ConfigMap", "unlearn-audit-settings")["data"])
    for _, _, container in containers(documents):
        for entry in container.get("env", []):
            if entry["name"].startswith("UNLEARN_AUDIT_"):
                env[entry["name"]] = entry.get("value", "stand-in")
    return env


@pytest.mark.parametrize("name", VARIANTS)
def test_environment_is_what_the_settings_read(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = settings_environment(variant(name))
    known = {f"UNLEARN_AUDIT_{field.upper()}" for field in Settings.model_fields}
    assert set(env) <= known, set(env) - known
    env["UNLEARN_AUDIT_DATABASE_URL"] = "postgresql+asyncpg://audit@postgres/audit"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # every value parses as the service reads it
    assert settings.cache_max_bytes < 200 * 1024**3  # below the workers' /data volume
    assert settings.lease_s > settings.heartbeat_s


def test_files_the_settings_name_are_mounted_from_their_secrets() -> None:
    documents = variant("cpu")
    data = find(documents, "ConfigMap", "unlearn-audit-settings")["data"]
    expected = {
        "UNLEARN_AUDIT_API_KEYS_FILE": ("unlearn-audit-api-keys", ["api"]),
        "UNLEARN_AUDIT_SIGNING_KEY_FILE": ("unlearn-audit-signing-key", ["api", "worker"]),
    }
    for setting, (secret_name, components) in expected.items():
        directory, _, key = data[setting].rpartition("/")
        assert key in find(SECRETS, "Secret", secret_name)["stringData"]
        for component in components:
            pod = find(documents, "Deployment", f"unlearn-audit-{component}")["spec"]["template"]["spec"]
            mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
            volume = next(v for v in pod["volumes"] if v["name"] == mounts[directory])
            assert volume["secret"]["secretName"] == secret_name


@pytest.mark.parametrize("name", VARIANTS)
def test_references_resolve(name: str) -> None:
    documents = variant(name)
    secrets = {d.name: d.body["stringData"] for d in SECRETS}
    names = {(d.kind, d.name) for d in documents}
    for d, pod, container in containers(documents):
        for entry in container.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]], (d.name, ref)
        for source in container.get("envFrom", []):
            assert ("ConfigMap", source["configMapRef"]["name"]) in names
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
        assert pod["serviceAccountName"] == "unlearn-audit" and ("ServiceAccount", "unlearn-audit") in names


@pytest.mark.parametrize("name", VARIANTS)
def test_selectors_select(name: str) -> None:
    documents = variant(name)
    labels = pod_labels(documents)
    services = {d.name: d.body for d in documents if d.kind == "Service"}
    for d in documents:
        if d.kind in ("Service",):
            assert any(selects(d.body["spec"]["selector"], lab) for lab in labels), d.name
        if d.kind in ("PodDisruptionBudget", "NetworkPolicy", "Deployment"):
            key = "podSelector" if d.kind == "NetworkPolicy" else "selector"
            assert any(selects(d.body["spec"][key]["matchLabels"], lab) for lab in labels), d.name
        if d.kind == "ServiceMonitor":
            (service,) = [
                s
                for s in services.values()
                if selects(d.body["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
            ]
            ports = {p["name"] for p in service["spec"]["ports"]}
            assert {e["port"] for e in d.body["spec"]["endpoints"]} <= ports
            assert [e["path"] for e in d.body["spec"]["endpoints"]] == ["/metrics"]


@pytest.mark.parametrize("name", VARIANTS)
def test_pods_run_unprivileged_as_the_images_user(name: str) -> None:
    dockerfile_user = re.findall(r"^USER (\d+)", (KUBERNETES.parents[1] / "Dockerfile").read_text(), re.MULTILINE)[-1]
    for d, pod, container in containers(variant(name)):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert str(pod["securityContext"]["runAsUser"]) == dockerfile_user
        assert pod["automountServiceAccountToken"] is False
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["image"] == IMAGE, (d.name, container["image"])
        assert "limits" in container["resources"] and "requests" in container["resources"]


@pytest.mark.parametrize("name", VARIANTS)
def test_every_object_is_in_the_namespace(name: str) -> None:
    for d in variant(name):
        if d.kind == "Namespace":
            assert d.name == NAMESPACE
        else:
            assert d.body["metadata"]["namespace"] == NAMESPACE, (d.kind, d.name)
    assert all(d.body["metadata"]["namespace"] == NAMESPACE for d in SECRETS)


def test_placeholder_secrets_are_never_applied() -> None:
    for name in VARIANTS:
        assert not any(d.kind == "Secret" for d in variant(name)), name
    assert all("CHANGE-ME" in yaml.safe_dump(d.body) for d in SECRETS)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed here")
@pytest.mark.parametrize("name", VARIANTS)
def test_kustomize_renders_what_the_plain_files_say(name: str) -> None:
    # A cross-check of tests/deploy/kustomize.py where kubectl is installed; without it, that reader is the check.
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(KUBERNETES / name)], capture_output=True, text=True, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    by_kubectl = {(b["kind"], b["metadata"]["name"]): b for b in yaml.safe_load_all(rendered.stdout) if b}
    by_files = {(d.kind, d.name): d.body for d in variant(name)}
    assert by_kubectl == by_files
