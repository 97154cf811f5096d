"""MLflow model URIs, parsed as MLflow itself parses them (`mlflow/store/artifact/utils/models.py`).

    models:/<name>/<version>   a registered model version
    models:/<name>@<alias>     a registered model alias (resolved to a version)
    models:/<model id>         an MLflow 3 logged model (`m-` followed by 32 hex digits)
    runs:/<run id>/<path>      a path in a run's artifacts

MLflow reads any one-segment `models:/x` as a logged model id; so do we. Stages and `latest` name whatever
version holds them when asked, which an audit cannot pin: they are refused with the way to name a version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from schemas.errors import BadInputError, excerpt

_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_FIELD = "model_uri"


@dataclass(frozen=True)
class VersionRef:
    """`models:/<name>/<version>`."""

    name: str
    version: str


@dataclass(frozen=True)
class AliasRef:
    """`models:/<name>@<alias>`."""

    name: str
    alias: str


@dataclass(frozen=True)
class LoggedModelRef:
    """`models:/<model id>` (an MLflow 3 logged model)."""

    model_id: str


@dataclass(frozen=True)
class RunRef:
    """`runs:/<run id>/<path>`; `path` is relative to the run's artifact root ('' for the root)."""

    run_id: str
    path: str


ModelRef = VersionRef | AliasRef | LoggedModelRef | RunRef


def _bad(uri: str, why: str) -> BadInputError:
    return BadInputError(f"model URI {excerpt(uri)} {why}", field=_FIELD)


def clean_relative_path(path: str, uri: str) -> str:
    """`path` as a relative artifact path without empty, `.` or `..` segments; BadInputError otherwise."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or "\x00" in p or "\\" in p for p in parts):
        raise _bad(uri, "has a path with `.`, `..`, a backslash or NUL")
    return "/".join(parts)


def parse_model_uri(uri: str) -> ModelRef:
    """The reference a `models:/` or `runs:/` URI names. Raises BadInputError (field `model_uri`) naming what
    is wrong: another scheme, a Databricks profile, a stage or `latest`, a malformed name or id."""
    parts = urlsplit(uri, allow_fragments=False)
    if parts.scheme not in ("models", "runs"):
        raise _bad(uri, "must start with models:/ or runs:/")
    if parts.netloc:
        # models://<profile>@databricks/... addresses a Databricks workspace registry, not a tracking server.
        raise _bad(uri, "names a registry profile (models://...); use models:/<name>/<version> with a tracking_uri")
    if parts.query:
        raise _bad(uri, "has a query string")
    path = parts.path
    if not path.startswith("/") or len(path) < 2:
        raise _bad(uri, "has nothing after the scheme")
    if parts.scheme == "runs":
        run_id, _, rest = path[1:].partition("/")
        if not _RUN_ID.match(run_id):
            raise _bad(uri, "has no valid run id (runs:/<run id>/<path>)")
        return RunRef(run_id, clean_relative_path(rest, uri))
    segments = path[1:].split("/")
    if any(not s.strip() for s in segments) or len(segments) > 2:
        raise _bad(uri, "must be models:/<name>/<version>, models:/<name>@<alias> or models:/<model id>")
    if len(segments) == 2:
        name, suffix = segments
        if suffix.isdigit():
            return VersionRef(name, str(int(suffix)))
        raise _bad(
            uri,
            f"names a stage or {excerpt(suffix)}, which moves between versions; name a version "
            f"(models:/{name}/<version>) or an alias (models:/{name}@<alias>)",
        )
    if "@" in segments[0]:
        name, _, alias = segments[0].rpartition("@")
        if not name.strip() or not alias.strip():
            raise _bad(uri, "must be models:/<name>@<alias> with both parts")
        return AliasRef(name, alias)
    if not _MODEL_ID.match(segments[0]):
        raise _bad(uri, "is no logged model id (models:/m-<id>); a registered model needs /<version> or @<alias>")
    return LoggedModelRef(segments[0])


def ref_uri(ref: ModelRef) -> str:
    """The URI that names `ref` (the inverse of `parse_model_uri`)."""
    if isinstance(ref, VersionRef):
        return f"models:/{ref.name}/{ref.version}"
    if isinstance(ref, AliasRef):
        return f"models:/{ref.name}@{ref.alias}"
    if isinstance(ref, LoggedModelRef):
        return f"models:/{ref.model_id}"
    return f"runs:/{ref.run_id}/{ref.path}" if ref.path else f"runs:/{ref.run_id}"
