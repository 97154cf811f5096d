"""The OpenAPI document (`/schema/openapi.json`), made to say what the service does.

Litestar builds the document from the routes; two things it says are not what the service does, and are
put right here, once, before the document is first served:

- Component schemas. Litestar's generator drops the `kind` discriminator of targets, the `anyOf`/`oneOf`
  rules, patterns and numeric bounds inside optional fields, and renders a bounded dict as an array. The
  components are replaced with pydantic's own JSON Schema of the same models (validation mode for request
  bodies, serialization mode for responses), so the document validates what the service validates.
- Error responses. Litestar adds a 400 with its own `{status_code, detail}` body to every route with a
  parameter or a body; this service never sends that body. Those entries are dropped: each route lists the
  errors it answers with `service.errors.error_responses` (the `ErrorBody` shape).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import Any, get_args

from litestar import Litestar, Request, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    Discriminator,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from service import __version__

SCHEMA_PATH = "/schema"
_REF_TEMPLATE = "#/components/schemas/{model}"
_FINISHED = "contract_openapi_finished"


def openapi_config() -> OpenAPIConfig:
    """The app's OpenAPI settings; the document is put right by `finish_document` when first served."""
    return OpenAPIConfig(
        title="unlearn-audit",
        version=__version__,
        description="Audits a language model after machine unlearning: forget efficacy under attack, refusal "
        "consistency, collateral capability loss. Submit an evaluation, poll it, read its scorecard. Every error "
        'answers `{"error": {"code", "message", "field"}}`; codes are an open set.',
        path=SCHEMA_PATH,
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="An API key.")}
        ),
        openapi_router=Router(SCHEMA_PATH, route_handlers=[], include_in_schema=False, before_request=_finish),
    )


async def _finish(request: Request[Any, Any, Any]) -> None:
    # Litestar rebuilds the document when a route is added later: finish each document object once.
    document = request.app.openapi_schema
    if getattr(request.app.state, _FINISHED, None) is not document:
        finish_document(request.app)
        setattr(request.app.state, _FINISHED, document)


def finish_document(app: Litestar) -> None:
    """Put the app's OpenAPI document right (see the module docstring). Idempotent."""
    openapi = app.openapi_schema
    _drop_litestar_error_entries(openapi)
    _document_store_outage(openapi)
    requests, responses = _documented_models(app)
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    schemas = dict(components.schemas or {})
    schemas.update(contract_schemas(requests, responses))
    components.schemas = dict(sorted(schemas.items()))
    openapi.components = components


def contract_schemas(requests: list[type[BaseModel]], responses: list[type[BaseModel]]) -> dict[str, Schema]:
    """Pydantic's JSON Schema of the models and every model they use, by name, as OpenAPI components."""
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in requests]
    modes += [(m, "serialization") for m in responses]
    _, top = models_json_schema(modes, ref_template=_REF_TEMPLATE)
    components: dict[str, Schema] = {}
    for name, json_schema in _merge_mode_twins(top.get("$defs", {})).items():
        converted = to_openapi(json_schema)
        components[name] = converted if isinstance(converted, Schema) else Schema(all_of=[converted])
    return components


_MODES = ("-Input", "-Output")


def _merge_mode_twins(defs: dict[str, Any]) -> dict[str, Any]:
    """One `X` for each `X-Input`/`X-Output` pair that is the same schema once the pairs are merged.

    Pydantic names a model twice when it appears in both modes and it cannot prove the two the same, as with
    recursive models (an adapter's `base` is a target): `EvaluationRequest` as a request body and inside a dry
    run's answer. Pairs are merged as long as every merged pair stays equal (the largest such set)."""
    twins = {n.removesuffix("-Input") for n in defs if n.endswith("-Input") and f"{n[:-6]}-Output" in defs}
    while True:
        renamed = _renamed(defs, twins)
        equal = {base for base in twins if renamed[f"{base}-Input"] == renamed[f"{base}-Output"]}
        if equal == twins:
            break
        twins = equal
    merged: dict[str, Any] = {}
    for name, schema in renamed.items():
        base = name.rsplit("-", 1)[0]
        if base in twins and name.endswith(_MODES):
            merged.setdefault(base, schema)
        else:
            merged[name] = schema
    return merged


def _renamed(defs: dict[str, Any], twins: set[str]) -> dict[str, Any]:
    """`defs` with every reference to either twin of a pair in `twins` (a `$ref`, a discriminator's mapping)
    pointing at the pair's one name."""
    refs = {_REF_TEMPLATE.format(model=f"{b}{m}"): _REF_TEMPLATE.format(model=b) for b in twins for m in _MODES}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return refs.get(node, node) if isinstance(node, str) else node

    return {name: walk(schema) for name, schema in defs.items()}


def _documented_models(app: Litestar) -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    """The pydantic models of request bodies and of responses of the documented routes."""
    requests: dict[str, type[BaseModel]] = {}
    responses: dict[str, type[BaseModel]] = {}
    handlers = (h for route in app.routes if isinstance(route, HTTPRoute) for h in route.route_handlers)
    for handler in handlers:
        if not handler.resolve_include_in_schema():
            continue
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is not None:
            requests.update((m.__name__, m) for m in _models_in(data.annotation))
        responses.update((m.__name__, m) for m in _models_in(handler.parsed_fn_signature.return_type.annotation))
        for spec in (handler.responses or {}).values():
            responses.update((m.__name__, m) for m in _models_in(spec.data_container))
    return list(requests.values()), list(responses.values())


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _drop_litestar_error_entries(openapi: OpenAPI) -> None:
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            operation = getattr(path_item, method, None)
            if operation is None or not operation.responses:
                continue
            operation.responses = {
                status: response
                for status, response in operation.responses.items()
                if not (isinstance(response, OpenAPIResponse) and _is_litestar_error_body(response))
            }


_STORE_FREE = frozenset({"/healthz", "/metrics", "/v1/signing-keys"})


def _document_store_outage(openapi: OpenAPI) -> None:
    """Every route that reads or writes the job store answers 503 `store_unavailable` (with Retry-After)
    while the database is down or restarting."""
    outage = OpenAPIResponse(
        description="The job store is unreachable (`store_unavailable`); retry after `Retry-After`",
        content={"application/json": OpenAPIMediaType(schema=Reference(ref=_REF_TEMPLATE.format(model="ErrorBody")))},
    )
    for path, path_item in (openapi.paths or {}).items():
        if path in _STORE_FREE or path.startswith(SCHEMA_PATH):
            continue
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if operation is not None:
                existing = operation.responses or {}
                operation.responses = {**existing, "503": existing.get("503", outage)}


def _is_litestar_error_body(response: OpenAPIResponse) -> bool:
    """Litestar's own `{status_code, detail, extra}` body (what `create_error_responses` writes)."""
    for media in (response.content or {}).values():
        schema = media.schema
        if isinstance(schema, Schema) and schema.one_of:
            schema = schema.one_of[0]
        if isinstance(schema, Schema) and set(schema.properties or {}) == {"status_code", "detail", "extra"}:
            return True
    return False


# --- JSON Schema (a dict, as pydantic writes it) -> Litestar's OpenAPI spec objects ---------------------

_SUBSCHEMA = {
    "not",
    "if",
    "then",
    "else",
    "items",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
}
_SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
_SUBSCHEMA_MAPS = {"properties", "patternProperties", "dependentSchemas"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _schema_keys() -> dict[str, str]:
    """JSON Schema keyword -> field of Litestar's `Schema`."""
    keys: dict[str, str] = {}
    for field in fields(Schema):
        if field.name == "data_container":
            continue
        alias = field.metadata.get("alias")
        keys[alias if isinstance(alias, str) else _camel(field.name)] = field.name
    return keys


_KEYS = _schema_keys()
_REFERENCE_KEYS = {"$ref", "description", "summary"}


def to_openapi(schema: Mapping[str, Any] | bool) -> Schema | Reference:
    """A JSON Schema (pydantic's output: 2020-12, as OpenAPI 3.1 takes it) as Litestar spec objects.

    Raises ValueError on a keyword Litestar cannot represent, rather than drop it silently.
    """
    if isinstance(schema, bool):  # `true` / `false` schemas
        return Schema() if schema else Schema(schema_not=Schema())
    if "$ref" in schema:
        if set(schema) <= _REFERENCE_KEYS:
            return Reference(ref=schema["$ref"], description=schema.get("description"))
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return to_openapi({**rest, "allOf": [{"$ref": schema["$ref"]}, *rest.get("allOf", [])]})
    kwargs: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _KEYS:
            raise ValueError(f"JSON Schema keyword {key!r} has no OpenAPI spec field in Litestar")
        kwargs[_KEYS[key]] = _value(key, value)
    return Schema(**kwargs)


def _value(key: str, value: Any) -> Any:
    if key in _SUBSCHEMA:
        return to_openapi(value)
    if key == "additionalProperties":
        return value if isinstance(value, bool) else to_openapi(value)
    if key in _SUBSCHEMA_LISTS:
        return [to_openapi(v) for v in value]
    if key in _SUBSCHEMA_MAPS:
        return {name: to_openapi(v) for name, v in value.items()}
    if key == "discriminator":
        return Discriminator(property_name=value["propertyName"], mapping=value.get("mapping"))
    if key == "type":
        return [OpenAPIType(t) for t in value] if isinstance(value, list) else OpenAPIType(value)
    if key == "format":
        return OpenAPIFormat(value)
    return value
