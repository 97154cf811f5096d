"""Registry payloads -> `RegistryEvent`: which model version changed, and the key that de-duplicates it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.errors import PayloadError

Registry = Literal["huggingface", "mlflow", "databricks", "wandb", "generic"]
REGISTRIES: tuple[Registry, ...] = ("huggingface", "mlflow", "databricks", "wandb", "generic")

MLFLOW_AUDIT_EVENTS = frozenset({"model_version.created", "model_version_alias.created"})
DATABRICKS_AUDIT_EVENTS = frozenset({"MODEL_VERSION_CREATED", "MODEL_VERSION_TRANSITIONED_STAGE"})
WANDB_AUDIT_EVENTS = frozenset({"LINK_MODEL", "LINK_ARTIFACT", "ADD_ARTIFACT_ALIAS", "CREATE_ARTIFACT"})
GENERIC_AUDIT_EVENTS = frozenset({"model_version.created"})


@dataclass(frozen=True)
class RegistryEvent:
    """One registry event, reduced to what profiles and de-duplication need."""

    registry: Registry
    event: str
    model: str
    dedupe_key: str
    version: str = ""
    revision: str = ""
    alias: str = ""
    starts_audit: bool = True
    extra: dict[str, str] = field(default_factory=dict)
    delivery_id: str = ""
    """The sender's id of this delivery, where it gives one (a retry repeats it)."""

    def __post_init__(self) -> None:
        # Every field is recorded as text (the event log) and may end up in labels: text that holds no NUL.
        if any("\x00" in value for value in self.fields().values()) or "\x00" in self.dedupe_key:
            raise PayloadError(f"{self.registry} webhook: payload fields may not contain NUL characters")

    def fields(self) -> dict[str, str]:
        """Values a profile's templates may use: {registry} {event} {model} {version} {revision} {alias}."""
        return {
            "registry": self.registry,
            "event": self.event,
            "model": self.model,
            "version": self.version,
            "revision": self.revision,
            "alias": self.alias,
            **self.extra,
        }


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if value is None or isinstance(value, dict | list) or str(value) == "":
        raise PayloadError(f"payload field {where}{key} is missing or not a string")
    return str(value)


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise PayloadError(f"payload field {key} is missing or not an object")
    return value


def _pushed_ref(payload: Mapping[str, Any]) -> tuple[str, str]:
    """(ref, new sha) of the push: a pull-request ref first (the Hub's `repo.headSha` is then the main
    branch's head, not the pushed commit), else the first updated ref."""
    refs = payload.get("updatedRefs")
    if refs is not None and not isinstance(refs, list):
        raise PayloadError("payload field updatedRefs is not a list")
    updated = [
        (str(r.get("ref") or ""), str(r.get("newSha") or ""))
        for r in refs or []
        if isinstance(r, Mapping) and isinstance(r.get("newSha"), str) and r.get("newSha")
    ]
    for ref, sha in updated:
        if ref.startswith("refs/pr/"):
            return ref, sha
    return updated[0] if updated else ("", "")


def parse_huggingface(payload: Mapping[str, Any]) -> RegistryEvent:
    """Hub webhook v3: `event.scope == "repo.content"` on a model repo (new commits) starts an audit of the
    pushed commit: a pull request's head when a `refs/pr/N` ref was updated, else the updated branch's.

    De-duplicated on repo and commit. Profiles may use {revision} (the commit sha), {ref} and {pr}.
    """
    event, repo = _obj(payload, "event"), _obj(payload, "repo")
    scope, action = _str(event, "scope", "event."), _str(event, "action", "event.")
    name = _str(repo, "name", "repo.")
    ref, sha = _pushed_ref(payload)
    if not sha:
        sha = str(repo.get("headSha") or repo.get("head_sha") or "")
        ref = ref or "refs/heads/main"
    pr = ref.removeprefix("refs/pr/") if ref.startswith("refs/pr/") else ""
    starts = scope == "repo.content" and repo.get("type") == "model" and action in ("create", "update") and bool(sha)
    return RegistryEvent(
        registry="huggingface",
        event=f"{scope}.{action}",
        model=name,
        revision=sha,
        extra={"ref": ref, "pr": pr, "commit": sha},
        dedupe_key=f"{name}@{sha}" if sha else f"{name}:{scope}.{action}",
        starts_audit=starts,
    )


_MLFLOW_TEST_DATA = (
    {"name": "example_model", "version": "1", "run_id": "abcd1234abcd5678"},
    {"name": "example_model", "version": "1", "alias": "example_alias"},
)
"""What MLflow 3's webhook test (`POST /api/2.0/mlflow/webhooks/<id>/test`) sends as `data`."""


def is_mlflow_test(data: Mapping[str, Any]) -> bool:
    """Whether `data` is MLflow's example payload for a webhook test rather than a real model version."""
    return any(all(str(data.get(k)) == v for k, v in example.items()) for example in _MLFLOW_TEST_DATA)


def parse_mlflow(payload: Mapping[str, Any], delivery_id: str) -> RegistryEvent:
    """MLflow 3.x: `{"entity", "action", "timestamp", "data": {...}}`. A version created and an alias set on it
    are one audit (de-duplicated on the model version); profiles may use {source} and {run_id} (from
    `model_version.created`) besides {model}, {version} and {alias}. The delivery id keeps retries apart for
    profiles that ask for an audit per event."""
    entity, action = _str(payload, "entity", ""), _str(payload, "action", "")
    data = _obj(payload, "data")
    event = f"{entity}.{action}"
    name, version = str(data.get("name") or ""), str(data.get("version") or "")
    if is_mlflow_test(data):
        event = f"{event}.test"  # "Test webhook" in MLflow sends its example payload: answer it, audit nothing
    starts = event in MLFLOW_AUDIT_EVENTS and bool(name) and bool(version)
    return RegistryEvent(
        registry="mlflow",
        event=event,
        model=name,
        version=version,
        alias=str(data.get("alias") or ""),
        extra={"source": str(data.get("source") or ""), "run_id": str(data.get("run_id") or "")},
        dedupe_key=f"{name}/{version}" if starts else delivery_id,
        delivery_id=delivery_id,
        starts_audit=starts,
    )


def parse_databricks(payload: Mapping[str, Any]) -> RegistryEvent:
    """Workspace registry: `{"event", "model_name", "version", "event_timestamp", ...}`."""
    event = _str(payload, "event", "")
    model = str(payload.get("model_name") or "")
    version = str(payload.get("version") or "")
    stamp = str(payload.get("event_timestamp") or "")
    return RegistryEvent(
        registry="databricks",
        event=event,
        model=model,
        version=version,
        extra={"to_stage": str(payload.get("to_stage") or "")},
        dedupe_key=f"{event}:{model}:{version}:{stamp}:{payload.get('webhook_id', '')}",
        starts_audit=event in DATABRICKS_AUDIT_EVENTS and bool(model) and bool(version),
    )


def parse_wandb(payload: Mapping[str, Any]) -> RegistryEvent:
    """W&B automation (the template the user configures; ours is documented in docs/registries.md).

    Expected keys: event_type, artifact_collection_name (or artifact_version_string `entity/project/name:vN`),
    artifact_version, alias, entity_name, project_name.
    """
    event = _str(payload, "event_type", "")
    version_string = str(payload.get("artifact_version_string") or "")
    name = str(payload.get("artifact_collection_name") or version_string.split(":")[0].rsplit("/", 1)[-1])
    version = str(payload.get("artifact_version") or (version_string.split(":", 1)[1] if ":" in version_string else ""))
    project = "/".join(str(payload.get(k) or "") for k in ("entity_name", "project_name")).strip("/")
    return RegistryEvent(
        registry="wandb",
        event=event,
        model=name,
        version=version,
        alias=str(payload.get("alias") or ""),
        extra={"project": project},
        dedupe_key=f"{event}:{project}:{name}:{version}:{payload.get('alias') or ''}",
        starts_audit=event in WANDB_AUDIT_EVENTS and bool(name),
    )


def parse_generic(payload: Mapping[str, Any], delivery_id: str) -> RegistryEvent:
    """Generic: `{"event": "model_version.created", "model": ..., "version": ..., "revision": ...}`."""
    event = _str(payload, "event", "")
    return RegistryEvent(
        registry="generic",
        event=event,
        model=str(payload.get("model") or ""),
        version=str(payload.get("version") or ""),
        revision=str(payload.get("revision") or ""),
        dedupe_key=delivery_id,
        starts_audit=event in GENERIC_AUDIT_EVENTS and bool(payload.get("model")),
    )
