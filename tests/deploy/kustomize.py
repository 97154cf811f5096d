"""The objects `kubectl apply -k` creates from deploy/kubernetes, without a kustomize binary.

The kustomizations use only `resources` (files and directories) and a `configMapGenerator` with literal
options, so every manifest is a complete file; this reads exactly that subset and rejects anything more
(a patch, a transformer), which would make the plain files diverge from what kustomize applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
VARIANTS = ("cpu", "gpu", "kuberay")
SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "configMapGenerator"}
GENERATOR_KEYS = {"name", "namespace", "files", "options"}
OPTION_KEYS = {"disableNameSuffixHash", "labels"}

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Document:
    """One object, with the file it comes from (a generated ConfigMap: its kustomization.yaml)."""

    source: Path
    body: Manifest

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


def load_documents(path: Path) -> list[Document]:
    """Every non-empty YAML document of a manifest file."""
    return [Document(path, body) for body in yaml.safe_load_all(path.read_text()) if body]


def _generated_configmap(directory: Path, generator: dict[str, Any]) -> Document:
    assert set(generator) <= GENERATOR_KEYS, set(generator) - GENERATOR_KEYS
    options = generator.get("options", {})
    assert set(options) <= OPTION_KEYS, set(options) - OPTION_KEYS
    assert options.get("disableNameSuffixHash") is True, "a hashed name would differ from the documented one"
    data = {}
    for entry in generator["files"]:
        key, _, file_name = entry.rpartition("=") if "=" in entry else (Path(entry).name, "", entry)
        data[key] = (directory / file_name).read_text()
    metadata: dict[str, Any] = {"name": generator["name"], "labels": dict(options.get("labels", {}))}
    if "namespace" in generator:
        metadata["namespace"] = generator["namespace"]
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
    return Document(directory / "kustomization.yaml", body)


def render(directory: Path) -> list[Document]:
    """The objects of the kustomization in `directory`, resources first, in the order kustomize lists them."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert set(kustomization) <= SUPPORTED_KEYS, f"{directory}: {set(kustomization) - SUPPORTED_KEYS}"
    documents: list[Document] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        documents.extend(render(path) if path.is_dir() else load_documents(path))
    for generator in kustomization.get("configMapGenerator", []):
        documents.append(_generated_configmap(directory, generator))
    return documents


@cache
def variant(name: str) -> list[Document]:
    """The objects a variant (cpu, gpu, kuberay) applies (read once: callers must not change them)."""
    return render(KUBERNETES / name)


def find(documents: list[Document], kind: str, name: str) -> Manifest:
    (match,) = [d.body for d in documents if d.kind == kind and d.name == name]
    return match


def every_manifest_file() -> list[Path]:
    """Every YAML file under deploy/kubernetes that holds objects (kustomizations excluded)."""
    return sorted(p for p in KUBERNETES.rglob("*.yaml") if p.name != "kustomization.yaml")
