"""docs/reference-configuration.md from the settings model (`service.settings.Settings`)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from service.client.calls import DEFAULT_SERVER
from service.reference.markdown import table

CLIENT_ENVIRONMENT: dict[str, str] = {
    "UNLEARN_AUDIT_SERVER": f"The API base URL; default {DEFAULT_SERVER}. A `server` argument (`--server`) wins.",
    "UNLEARN_AUDIT_API_KEY": "The API key, sent as a bearer token. An `api_key` argument wins; the CLI takes it "
    "from here only, never from its command line.",
}
"""Variables the client reads (not settings of the service); a test keeps this equal to what the code reads."""

_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret string",
}


def env_name(field: str) -> str:
    from service.settings import ENV_PREFIX

    return ENV_PREFIX + field.upper()


def _type(annotation: Any) -> str:
    if get_origin(annotation) in (Union, types.UnionType):
        return " or ".join(_type(a) for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    return _TYPES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        if isinstance(m, Ge):
            parts.append(f">= {m.ge}")
        elif isinstance(m, Le):
            parts.append(f"<= {m.le}")
        elif isinstance(m, MaxLen):
            parts.append(f"at most {m.max_length} characters")
    return ", ".join(parts)


def _default(name: str, value: Any) -> str:
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f"`{value if value.is_absolute() else f'./{value}'}`"
    if isinstance(value, int) and name.endswith("_bytes"):
        return f"`{value}` ({_bytes(value)})"
    return f"`{value}`"


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def configuration_reference_markdown() -> str:
    """The configuration page: every setting as its environment variable, type, default and meaning, then the
    client's variables (a test keeps the committed page equal to this)."""
    from service.settings import Settings

    rows = []
    for name, info in Settings.model_fields.items():
        kind = _type(info.annotation)
        bounds = _bounds(info)
        rows.append(
            [
                f"`{env_name(name)}`",
                f"{kind} ({bounds})" if bounds else kind,
                _default(name, info.default),
                info.description or "",
            ]
        )
    lines = [
        "# Configuration",
        "",
        "The service (API and workers) reads its settings from `UNLEARN_AUDIT_*` environment variables; every",
        "process of one deployment needs the same values. Booleans are `true` or `false`; lists are one string,",
        "split as the description says. This page is generated from `service/settings.py` (`Settings`); a test",
        "fails when they drift apart. Regenerate it with `python -m service.reference`.",
        "",
        "## Service settings",
        "",
        *table(["variable", "type", "default", "meaning"], rows),
        "",
        "## Client",
        "",
        "The Python client (`service.client`) and the CLI commands that call the API read these; the service",
        "does not.",
        "",
        *table(["variable", "meaning"], [[f"`{k}`", v] for k, v in CLIENT_ENVIRONMENT.items()]),
    ]
    return "\n".join(lines) + "\n"
