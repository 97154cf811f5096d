"""deploy/kubernetes against the Kubernetes schemas (kubernetes-validate) and, for the custom resources, against
the openAPIV3Schema of the CRDs vendored in tests/deploy/crds (KubeRay, prometheus-operator)."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.kustomize import KUBERNETES, VARIANTS, Document, every_manifest_file, load_documents, variant

CRDS = Path(__file__).parent / "crds"
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
"""The oldest release the manifests promise (the HPA's autoscaling/v2, policy/v1 budgets), and the newest known."""


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the served version's openAPIV3Schema, for every vendored CRD."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def is_custom(document: Document) -> bool:
    """A resource of a CRD: its API group has a dot and is not one of Kubernetes' own (`*.k8s.io`)."""
    group = document.body["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def all_documents() -> list[Document]:
    """Every object of every variant, and of every manifest file (secrets.example.yaml is in no kustomization)."""
    seen: dict[tuple[str, str, str], Document] = {}
    for name in VARIANTS:
        for document in variant(name):
            seen.setdefault((str(document.source), document.kind, document.name), document)
    for path in every_manifest_file():
        for document in load_documents(path):
            seen.setdefault((str(document.source), document.kind, document.name), document)
    return list(seen.values())


def _id(document: Document) -> str:
    return f"{document.source.relative_to(KUBERNETES)}:{document.kind}/{document.name}"


BUILT_IN = [d for d in all_documents() if not is_custom(d)]
CUSTOM = [d for d in all_documents() if is_custom(d)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("document", BUILT_IN, ids=_id)
def test_built_in_objects_match_the_kubernetes_schema(document: Document, version: str) -> None:
    # strict: a misspelt or misplaced field is an error, not silently dropped by the API server.
    kubernetes_validate.validate(document.body, version, strict=True)


def test_the_schema_check_rejects_an_unknown_or_mistyped_field() -> None:
    api = next(d.body for d in BUILT_IN if d.kind == "Deployment" and d.name == "unlearn-audit-api")
    misspelt = {**api, "spec": {**api["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[-1], strict=True)
    mistyped = {**api, "spec": {**api["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(mistyped, KUBERNETES_VERSIONS[-1], strict=True)


def crd_validate(body: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError where `body` breaks `schema`. The schema itself is not checked against
    the JSON Schema metaschema: CRDs carry Go regular expressions (`^(?i)...`) that Python's `re` refuses, in
    fields these manifests do not set."""
    jsonschema.Draft7Validator(schema).validate(body)


def undeclared_fields(value: Any, schema: dict[str, Any], at: str = "") -> list[str]:
    """Paths of fields the structural schema does not declare: the API server would drop them silently
    (or refuse them, with strict field validation), as kubernetes-validate --strict does for built-in kinds."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
            nested = schema.get("additionalProperties")
            if isinstance(nested, dict):
                return [p for k, v in value.items() for p in undeclared_fields(v, nested, f"{at}.{k}")]
            return []
        properties = schema.get("properties", {})
        found = []
        for key, item in value.items():
            if at == "" and key in ("apiVersion", "kind", "metadata"):
                continue  # the object's own metadata is ObjectMeta, checked by the API server, not the CRD
            if key not in properties:
                found.append(f"{at}.{key}")
                continue
            found.extend(undeclared_fields(item, properties[key], f"{at}.{key}"))
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [p for i, item in enumerate(value) for p in undeclared_fields(item, schema["items"], f"{at}[{i}]")]
    return []


@pytest.mark.parametrize("document", CUSTOM, ids=_id)
def test_custom_resources_match_their_vendored_crd(document: Document) -> None:
    key = (document.body["apiVersion"], document.kind)
    schema = crd_schemas().get(key)
    assert schema is not None, f"no vendored CRD serves {key}"
    crd_validate(document.body, schema)
    assert undeclared_fields(document.body, schema) == []


def test_the_crd_check_rejects_missing_and_undeclared_fields() -> None:
    # The checks have teeth: a required field missing, or a field the CRD does not declare, is found.
    ray = next(d.body for d in CUSTOM if d.kind == "RayCluster")
    broken = {**ray, "spec": {**ray["spec"], "workerGroupSpecs": [{"groupName": "gpu", "maxReplicas": 1}]}}
    with pytest.raises(jsonschema.ValidationError, match=r"minReplicas|template"):
        crd_validate(broken, crd_schemas()[("ray.io/v1", "RayCluster")])
    misplaced = {**ray, "spec": {**ray["spec"], "autoscaling": True}}
    assert undeclared_fields(misplaced, crd_schemas()[("ray.io/v1", "RayCluster")]) == [".spec.autoscaling"]
    rule = next(d.body for d in CUSTOM if d.kind == "PrometheusRule")
    broken_rule = {**rule, "spec": {"groups": [{"rules": [{"alert": "A", "expr": "1"}]}]}}  # a group needs a name
    with pytest.raises(jsonschema.ValidationError, match="name"):
        crd_validate(broken_rule, crd_schemas()[("monitoring.coreos.com/v1", "PrometheusRule")])


def test_every_variant_has_the_custom_resources_it_needs() -> None:
    for name in VARIANTS:
        kinds = {d.kind for d in variant(name)}
        assert {"ServiceMonitor", "PrometheusRule"} <= kinds
        assert ("RayCluster" in kinds) == (name == "kuberay")


def test_vendored_crds_are_the_recorded_upstream_files() -> None:
    readme = (CRDS / "README.md").read_text()
    for path in sorted(CRDS.glob("*.yaml")):
        blob = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
        row = next((line for line in readme.splitlines() if f"`{path.name}`" in line), None)
        assert row is not None, f"{path.name} is not listed in crds/README.md"
        assert blob.stdout.strip() in row, f"{path.name} differs from the upstream blob the README records"
        assert re.search(r"\b[0-9a-f]{40}\b", row), "the README records the upstream commit"
    assert "Apache-2.0" in readme
