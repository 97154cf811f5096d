"""Audit profiles: which registry events start which audit, and how a registry reference becomes a target.

Profiles (stored in the database; a YAML or JSON file holds `{"profiles": [...]}`) are tried in order: the
first whose registry, model-name pattern (fnmatch) and events match an event wins. String values in `target`,
`baseline`, `reference`, `labels` and `callback` may use `{model}`, `{version}`, `{revision}`, `{alias}`,
`{registry}`, `{event}` and registry extras: Hugging Face `{commit}` (= `{revision}`, the pushed commit), `{ref}`,
`{pr}`; MLflow `{source}`, `{run_id}`; Databricks `{to_stage}`; W&B `{project}`:

    profiles:
      - name: unlearned-on-the-hub
        registry: huggingface
        model: "acme/*-unlearned"
        target: {kind: hf, repo: "{model}", revision: "{revision}"}
        baseline: {kind: hf, repo: "acme/base", revision: "main"}
        suite: sandbox
        policy: default
      - name: registered-versions
        registry: mlflow
        model: "*-unlearned"
        target: {kind: mlflow, model_uri: "models:/{model}/{version}"}
        baseline: {kind: mlflow, model_uri: "models:/base@production"}
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from schemas.bounds import NO_NUL, DeadlineSeconds, ItemLimit, Seed
from schemas.errors import ProfileError
from schemas.requests import EvaluationRequest
from service.webhooks.events import Registry, RegistryEvent

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Values that reach paths and URLs: no traversal, no whitespace, no URL or shell syntax.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._\-/:@+=]*$")


class AuditProfile(BaseModel):
    """One profile: a registry and model pattern mapped to an evaluation request template."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=100, pattern=NO_NUL, description="Recorded with each event.")
    registry: Registry
    model: str = Field("*", max_length=500, description="fnmatch pattern on the registry's model name.")
    events: list[Annotated[str, StringConstraints(max_length=100)]] | None = Field(
        None, max_length=50, description="Only these events; default: every audit-starting one."
    )
    target: dict[str, Any]
    baseline: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    checks: dict[str, Any] | None = None
    suite: str | None = Field(None, max_length=64)
    policy: str | dict[str, Any] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    callback: dict[str, Any] | None = None
    limit: ItemLimit | None = None
    deadline_s: DeadlineSeconds | None = None
    seed: Seed = 0
    write_back: bool = Field(
        True,
        description="When the audit ends, write the result back: a comment on the Hub pull request (a discussion "
        "for a push to a branch), or tags on the MLflow model version.",
    )
    model_card_pr: bool = Field(
        False, description="Hub: also open a pull request that adds the results to the model card's model-index."
    )
    audit_per: Literal["model_version", "event"] = Field(
        "model_version",
        description="One audit per model version or commit, however many events name it (created, alias set); "
        "or one per delivered event.",
    )
    team: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The team whose jobs this profile's audits are (keys of that team see them).",
    )

    def matches(self, event: RegistryEvent) -> bool:
        if self.registry != event.registry or not fnmatch.fnmatchcase(event.model, self.model):
            return False
        return self.events is None or event.event in self.events


class ProfileSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profiles: list[AuditProfile] = Field(default_factory=list, max_length=1000)


def _fill(value: Any, fields: dict[str, str], where: str) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in fields:
                raise ProfileError(f"{where}: unknown placeholder {{{key}}}; known: {', '.join(sorted(fields))}")
            return fields[key]

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, dict):
        return {k: _fill(v, fields, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fields, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def build_request(profile: AuditProfile, event: RegistryEvent) -> EvaluationRequest:
    """The evaluation request a matching event submits. ProfileError when it is not valid."""
    fields = event.fields()
    for key, value in fields.items():
        if not _SAFE_VALUE.match(value) or ".." in value:
            raise ProfileError(f"event field {key}={value[:80]!r} has characters not allowed in targets")
    body: dict[str, Any] = {
        "target": _fill(profile.target, fields, f"profile {profile.name}: target"),
        "labels": {
            **_fill(profile.labels, fields, f"profile {profile.name}: labels"),
            "webhook.registry": event.registry,
            "webhook.event": event.event,
            "webhook.model": event.model[:500],
            "webhook.profile": profile.name,
            **({"webhook.version": event.version} if event.version else {}),
            **({"webhook.revision": event.revision} if event.revision else {}),
        },
        "seed": profile.seed,
    }
    for key in ("baseline", "reference", "callback"):
        value = getattr(profile, key)
        if value is not None:
            body[key] = _fill(value, fields, f"profile {profile.name}: {key}")
    for key in ("checks", "suite", "policy", "limit", "deadline_s"):
        value = getattr(profile, key)
        if value is not None:
            body[key] = value
    try:
        return EvaluationRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"profile {profile.name}: {loc}: {first['msg']}") from exc


class ProfileFile:
    """Profiles in one YAML or JSON file: what the import at start and `webhooks import|export` read and write
    (the service matches events against the profiles stored in the database, `stored.StoredProfiles`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ProfileSet:
        """The profiles; none when the file does not exist. ProfileError when it is malformed."""
        if not self.path.exists():
            return ProfileSet()
        text = self.path.read_text()
        try:
            data = json.loads(text) if self.path.suffix == ".json" else yaml.safe_load(text)
            return ProfileSet.model_validate(data or {})
        except (ValueError, yaml.YAMLError, ValidationError) as exc:
            raise ProfileError(f"profiles file {self.path}: {exc}") from exc

    def save(self, profiles: ProfileSet) -> None:
        """Replace the file atomically, in its own format (JSON for .json, else YAML)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = profiles.model_dump(mode="json", exclude_none=True)
        text = json.dumps(data, indent=2) if self.path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)

    def match(self, event: RegistryEvent) -> AuditProfile | None:
        """The first profile matching the event, or None."""
        return next((p for p in self.load().profiles if p.matches(event)), None)
