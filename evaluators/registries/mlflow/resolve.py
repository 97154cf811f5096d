"""A model URI resolved to what it names now: the version an alias points at, and where its files are.

REST API 2.0 endpoints used (MLflow 3.x, `mlflow/protos/model_registry.proto` and `service.proto`):

    GET /api/2.0/mlflow/model-versions/get?name=&version=          the version: source, run_id, status, tags
    GET /api/2.0/mlflow/registered-models/alias?name=&alias=       the version an alias points at
    GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=
                                                                   where the version's files are (MLflow's own
                                                                   client downloads from there: the server has
                                                                   already followed a `models:/m-...` source)
    GET /api/2.0/mlflow/logged-models/<model_id>                   an MLflow 3 logged model: artifact_uri,
                                                                   source_run_id, status
    GET /api/2.0/mlflow/runs/get?run_id=                           a run's artifact_uri

A location that is itself a `runs:/` or `models:/` URI (a version registered from `runs:/<id>/model`) is
followed until it is a store location (at most a few steps: a loop is the server's fault).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from evaluators.registries.mlflow.rest import MLflowREST
from evaluators.registries.mlflow.uris import (
    AliasRef,
    LoggedModelRef,
    ModelRef,
    RunRef,
    VersionRef,
    parse_model_uri,
    ref_uri,
)
from schemas.errors import ModelNotFoundError, ModelProtocolError, excerpt
from schemas.sources import ModelSource

_FIELD = "model_uri"
_MAX_HOPS = 4


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version as the registry describes it."""

    name: str
    version: str
    source: str
    run_id: str | None
    model_id: str | None
    status: str
    aliases: tuple[str, ...]
    tags: dict[str, str]


@dataclass(frozen=True)
class ResolvedModel:
    """What a model URI names, pinned: `artifact_uri` is the store location its files download from."""

    requested: str
    tracking_uri: str
    artifact_uri: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    model_id: str | None = None
    run_id: str | None = None
    source: str | None = None
    """The version's source URI as registered (a run's path, a logged model, a store location)."""

    @property
    def pinned_uri(self) -> str:
        """A URI naming exactly this (an alias replaced by its version)."""
        if self.name is not None and self.version is not None:
            return f"models:/{self.name}/{self.version}"
        return self.requested

    def model_source(self) -> ModelSource:
        """This resolution as the job and scorecard record it."""
        return ModelSource(
            registry="mlflow",
            endpoint=self.tracking_uri,
            requested=self.requested,
            name=self.name or self.model_id,
            version=self.version,
            run_id=self.run_id,
            source=self.source or self.artifact_uri,
        )


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if value not in (None, "") else None


def _object(data: dict[str, Any], key: str, rest: MLflowREST, what: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ModelProtocolError(f"MLflow at {rest.server} answered {what} without `{key}`: {excerpt(data)}")
    return value


def _version(data: dict[str, Any], rest: MLflowREST, what: str) -> ModelVersion:
    mv = _object(data, "model_version", rest, what)
    name, version, source = _text(mv, "name"), _text(mv, "version"), _text(mv, "source")
    if name is None or version is None or source is None:
        raise ModelProtocolError(f"MLflow at {rest.server} described {what} without name, version or source")
    tags = {str(t.get("key")): str(t.get("value", "")) for t in mv.get("tags") or [] if isinstance(t, dict)}
    status = _text(mv, "status") or "READY"
    model_id = _text(mv, "model_id")
    if model_id is None and source.startswith("models:/"):
        ref = parse_model_uri(source)
        model_id = ref.model_id if isinstance(ref, LoggedModelRef) else None
    aliases = tuple(str(a) for a in mv.get("aliases") or [])
    return ModelVersion(name, version, source, _text(mv, "run_id"), model_id, status, aliases, tags)


def _require_ready(mv: ModelVersion, rest: MLflowREST) -> ModelVersion:
    if mv.status != "READY":
        raise ModelNotFoundError(
            f"{version_label(mv.name, mv.version)} on MLflow at {rest.server} is {mv.status}, not READY; submit "
            "again once it is registered",
            field=_FIELD,
        )
    return mv


def version_label(name: str, version: str) -> str:
    return f"version {excerpt(version)} of registered model {excerpt(name)}"


async def get_model_version(rest: MLflowREST, name: str, version: str) -> ModelVersion:
    what = version_label(name, version)
    data = await rest.call(
        "GET", "/api/2.0/mlflow/model-versions/get", what, params={"name": name, "version": version}, field=_FIELD
    )
    return _version(data, rest, what)


async def get_alias_version(rest: MLflowREST, name: str, alias: str) -> ModelVersion:
    what = f"alias {excerpt(alias)} of registered model {excerpt(name)}"
    data = await rest.call(
        "GET", "/api/2.0/mlflow/registered-models/alias", what, params={"name": name, "alias": alias}, field=_FIELD
    )
    return _version(data, rest, what)


async def download_uri(rest: MLflowREST, name: str, version: str) -> str:
    what = version_label(name, version)
    data = await rest.call(
        "GET",
        "/api/2.0/mlflow/model-versions/get-download-uri",
        what,
        params={"name": name, "version": version},
        field=_FIELD,
    )
    uri = _text(data, "artifact_uri")
    if uri is None:
        raise ModelProtocolError(f"MLflow at {rest.server} gave no download URI for {what}")
    return uri


async def get_logged_model(rest: MLflowREST, model_id: str) -> dict[str, Any]:
    """The `info` of a logged model (artifact_uri, source_run_id, status, ...)."""
    what = f"logged model {excerpt(model_id)}"
    data = await rest.call("GET", f"/api/2.0/mlflow/logged-models/{quote(model_id, safe='')}", what, field=_FIELD)
    info = _object(_object(data, "model", rest, what), "info", rest, what)
    status = _text(info, "status") or "LOGGED_MODEL_READY"
    if status != "LOGGED_MODEL_READY":
        raise ModelNotFoundError(
            f"{what} on MLflow at {rest.server} is {status}, not ready; submit again once it is", field=_FIELD
        )
    if _text(info, "artifact_uri") is None:
        raise ModelProtocolError(f"MLflow at {rest.server} gave no artifact_uri for {what}")
    return info


async def get_run_artifact_uri(rest: MLflowREST, run_id: str) -> str:
    what = f"run {excerpt(run_id)}"
    data = await rest.call("GET", "/api/2.0/mlflow/runs/get", what, params={"run_id": run_id}, field=_FIELD)
    info = _object(_object(data, "run", rest, what), "info", rest, what)
    uri = _text(info, "artifact_uri")
    if uri is None:
        raise ModelProtocolError(f"MLflow at {rest.server} gave no artifact_uri for {what}")
    return uri


def _join(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{path}" if path else base


async def store_location(rest: MLflowREST, uri: str) -> str:
    """`uri` with `runs:/` and `models:/` indirections followed to a store location (mlflow-artifacts:, s3:, ...)."""
    for _ in range(_MAX_HOPS):
        if not uri.startswith(("runs:", "models:")):
            return uri
        ref = parse_model_uri(uri)
        if isinstance(ref, RunRef):
            uri = _join(await get_run_artifact_uri(rest, ref.run_id), ref.path)
        elif isinstance(ref, LoggedModelRef):
            uri = str((await get_logged_model(rest, ref.model_id))["artifact_uri"])
        elif isinstance(ref, AliasRef):
            found = await get_alias_version(rest, ref.name, ref.alias)
            uri = await download_uri(rest, found.name, found.version)
        else:
            uri = await download_uri(rest, ref.name, ref.version)
    raise ModelProtocolError(f"MLflow at {rest.server}: artifact locations refer to each other past {_MAX_HOPS} hops")


async def resolve_model_uri(rest: MLflowREST, uri: str) -> ResolvedModel:
    """What `uri` names now, and the store location of its files. Raises BadInputError for a malformed URI,
    ModelNotFoundError for an unknown model, version, alias, logged model or run (or one not READY),
    ModelAccessDeniedError, ModelUnreachableError or ModelProtocolError."""
    ref: ModelRef = parse_model_uri(uri)
    requested = ref_uri(ref)
    if isinstance(ref, VersionRef | AliasRef):
        if isinstance(ref, AliasRef):
            mv = _require_ready(await get_alias_version(rest, ref.name, ref.alias), rest)
        else:
            mv = _require_ready(await get_model_version(rest, ref.name, ref.version), rest)
        location = await store_location(rest, await download_uri(rest, mv.name, mv.version))
        return ResolvedModel(
            requested=requested,
            tracking_uri=rest.server,
            artifact_uri=location,
            name=mv.name,
            version=mv.version,
            alias=ref.alias if isinstance(ref, AliasRef) else None,
            model_id=mv.model_id,
            run_id=mv.run_id,
            source=mv.source,
        )
    if isinstance(ref, LoggedModelRef):
        info = await get_logged_model(rest, ref.model_id)
        location = await store_location(rest, str(info["artifact_uri"]))
        return ResolvedModel(
            requested=requested,
            tracking_uri=rest.server,
            artifact_uri=location,
            model_id=ref.model_id,
            run_id=_text(info, "source_run_id"),
            source=requested,
        )
    location = await store_location(rest, _join(await get_run_artifact_uri(rest, ref.run_id), ref.path))
    return ResolvedModel(
        requested=requested, tracking_uri=rest.server, artifact_uri=location, run_id=ref.run_id, source=requested
    )
