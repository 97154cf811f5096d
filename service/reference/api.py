"""docs/reference-api.md from the OpenAPI document the app serves (`/schema/openapi.json`).

The app is built as the service builds it, with default settings that are not read from the environment
(the document does not depend on them), and its document is finished as on the first request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from service.reference.markdown import cell, table

_METHODS = ("get", "post", "put", "patch", "delete")
_REF = "#/components/schemas/"
_SERVICE = "Service health and metrics"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an app built by `create_app`, as `/schema/openapi.json` serves it."""
    from service.app import create_app
    from service.openapi import finish_document
    from service.settings import Settings

    app = create_app(Settings.model_construct())  # defaults only: no environment, no files touched
    finish_document(app)
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def schema_text(schema: Mapping[str, Any]) -> str:
    """A short reading of a JSON Schema: its type or component name, enum, bounds and default."""
    if "$ref" in schema:
        return f"`{str(schema['$ref']).removeprefix(_REF)}`"
    alternatives = [s for s in schema.get("oneOf", schema.get("anyOf", [])) if s.get("type") != "null"]
    if alternatives:
        text = " or ".join(schema_text(s) for s in alternatives)
    else:
        kinds = schema.get("type", "any")
        kinds = [k for k in kinds if k != "null"] if isinstance(kinds, list) else [kinds]
        text = " or ".join(kinds)
        if "items" in schema:
            text += f" of {schema_text(schema['items'])}"
    facts = []
    if "enum" in schema:
        facts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"] if v is not None))
    for key, word in (("minimum", ">="), ("maximum", "<=")):
        if key in schema:
            facts.append(f"{word} {_number(schema[key])}")
    if "maxLength" in schema:
        facts.append(f"at most {schema['maxLength']} characters")
    if "maxItems" in schema:
        facts.append(f"at most {schema['maxItems']} items")
    if "default" in schema:
        facts.append(f"default `{json.dumps(schema['default'])}`")
    return f"{text} ({', '.join(facts)})" if facts else text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _content_text(content: Mapping[str, Any]) -> str:
    return "; ".join(f"{schema_text(media.get('schema', {}))} as `{kind}`" for kind, media in content.items())


def _operation(method: str, path: str, op: Mapping[str, Any]) -> list[str]:
    anchor = str(op["operationId"]).lower()
    lines = ["", f"### `{method.upper()} {path}` {{#{anchor}}}", "", f"**{op.get('summary', '')}**"]
    if op.get("deprecated"):
        lines += ["", "*Deprecated.*"]
    if op.get("description"):
        lines += ["", str(op["description"]).strip()]
    auth = "bearer API key" if op.get("security") else "none"
    lines += ["", f"Authentication: {auth}."]
    params = op.get("parameters", [])
    if params:
        rows = [
            [
                f"`{p['name']}`",
                str(p["in"]),
                "yes" if p.get("required") else "no",
                schema_text(p.get("schema", {})),
                str(p.get("description", "")),
            ]
            for p in params
        ]
        lines += ["", *table(["parameter", "in", "required", "type", "description"], rows)]
    body = op.get("requestBody")
    if body:
        required = "required" if body.get("required") else "optional"
        lines += ["", f"Request body ({required}): {_content_text(body.get('content', {}))}."]
    rows = [
        [f"{status}", str(r.get("description", "")), _content_text(r.get("content") or {}) or "—"]
        for status, r in sorted(op.get("responses", {}).items())
    ]
    lines += ["", *table(["status", "meaning", "body"], rows)]
    return lines


def _group(path: str) -> str:
    """The resource a path belongs to: its first segment under /v1/, else the service itself."""
    parts = path.strip("/").split("/")
    if parts[0] == "v1" and len(parts) > 1:
        return parts[1].replace("-", " ").capitalize()
    return _SERVICE


def api_reference_markdown(document: Mapping[str, Any] | None = None) -> str:
    """The HTTP API page: an index of operations, then by resource then each operation's parameters, body and responses
    (a test keeps the committed page equal to this; `document` defaults to the app's own)."""
    doc = document if document is not None else openapi_document()
    operations = sorted(
        (
            (_group(path), path, method, op)
            for path, item in doc["paths"].items()
            for method, op in item.items()
            if method in _METHODS
        ),
        key=lambda o: (o[0] == _SERVICE, o[0], o[1], _METHODS.index(o[2])),
    )
    lines = [
        "# HTTP API",
        "",
        cell(str(doc["info"].get("description", ""))),
        "",
        "The service serves this document itself at `/schema/openapi.json`, with every request and response",
        "schema named below. This page is rendered from that document; a test fails when they drift apart.",
        "Regenerate it with `python -m service.reference`. Error responses carry the `ErrorBody` shape; the",
        "codes are listed in [Error codes](errors.md), the reasons on a scorecard in",
        "[Reason codes](reference-reasons.md).",
        "",
        "## Operations",
        "",
        *table(
            ["method", "path", "summary"],
            [
                [method.upper(), f"[`{path}`](#{str(op['operationId']).lower()})", str(op.get("summary", ""))]
                for _, path, method, op in operations
            ],
        ),
    ]
    current = None
    for tag, path, method, op in operations:
        if tag != current:
            lines += ["", f"## {tag}"]
            current = tag
        lines += _operation(method, path, op)
    return "\n".join(lines) + "\n"
