"""The one place where errors become HTTP responses.

Route handlers raise `schemas.errors.AuditError` subclasses and never build error responses themselves;
`HTTP_STATUS` maps each class (the most specific listed ancestor wins) to its status. Every error body
has the same shape: `{"error": {"code": ..., "message": ..., "field": ...}}` (`field` only when one field
is to blame). Litestar's own exceptions (validation, unknown route, body limit) get the same body here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, Field

from schemas import errors as e
from schemas.errors import ERROR_CODES, AuditError
from service.store.engine import store_unreachable

log = logging.getLogger(__name__)

HTTP_STATUS: dict[type[AuditError], int] = {
    e.AuditError: 500,
    e.BadInputError: 422,
    e.InvalidRequestError: 422,
    e.BadParameterError: 400,
    e.MalformedJSONError: 400,
    e.UnsupportedMediaTypeError: 415,
    e.RequestTooLargeError: 413,
    e.BadCursorError: 400,
    e.UnknownFormatError: 400,
    e.PathNotAllowedError: 403,
    e.URLNotAllowedError: 403,
    e.SecretNotAllowedError: 403,
    e.RepoNotAllowedError: 403,
    e.ModelNotFoundError: 422,
    e.ModelAccessDeniedError: 403,
    e.NoWeightsError: 422,
    e.ModelTooLargeError: 422,
    e.ArtifactStoreUnsupportedError: 422,
    e.UnsafeModelError: 422,
    e.UnsafeNotAllowedError: 403,
    e.DatasetError: 422,
    e.DatasetAccessDeniedError: 403,
    e.ProfileError: 422,
    e.PayloadError: 400,
    e.InvalidEnvelopeError: 422,
    e.UnauthorizedError: 401,
    e.ForbiddenError: 403,
    e.NotFoundError: 404,
    e.ConflictError: 409,
    e.QuotaExceededError: 429,
    e.UnavailableError: 503,
    e.ModelUnreachableError: 502,
    e.ModelProtocolError: 502,
    e.UnsupportedCapabilityError: 422,
    e.JobCancelledError: 409,
    e.DeadlineExceededError: 408,
    e.InvalidJobError: 500,
    e.ConfigurationError: 500,
}
"""Error class -> HTTP status. A class not listed takes its nearest listed ancestor's."""

# Litestar's own HTTP exceptions (routing, methods, limits) by status, as the classes of our tree.
_LITESTAR_STATUS: dict[int, type[AuditError]] = {
    400: e.BadInputError,
    401: e.UnauthorizedError,
    403: e.ForbiddenError,
    404: e.NotFoundError,
    409: e.ConflictError,
    413: e.RequestTooLargeError,
    415: e.UnsupportedMediaTypeError,
    429: e.QuotaExceededError,
    503: e.UnavailableError,
}


def status_of(error: type[AuditError]) -> int:
    """The HTTP status of an error class: its own entry, else its nearest listed ancestor's."""
    for cls in error.__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


class ErrorDetail(BaseModel):
    code: str = Field(
        ...,
        description="Machine-readable; an open set (accept codes not listed). Known: " + ", ".join(ERROR_CODES),
        examples=["invalid_request"],
    )
    message: str = Field(..., description="What is wrong, for a person.")
    field: str | None = Field(None, description="The request field to blame, as a dotted path.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, parameter, cursor or format)",
    401: "Missing or unknown API key (or webhook signature)",
    403: "Not allowed: scope, path, URL, secret name or unsafe model",
    404: "No such evaluation (or not the caller's team's)",
    409: "Conflict with the evaluation's state",
    413: "Body over the size limit",
    415: "JSON body under another content type",
    422: "The request cannot be run (schema, dataset, model)",
    429: "The team's cap is reached; retry after `Retry-After`",
    503: "A part the route needs is not configured",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {
        status: ResponseSpec(
            data_container=ErrorBody, description=_DESCRIPTIONS.get(status, "Error"), generate_examples=False
        )
        for status in statuses
    }


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(error_body(code, message, field), status_code=status, headers=headers or None)


def audit_error_response(exc: AuditError) -> Response[dict[str, Any]]:
    """The response for an error of our tree (also used by middleware that answers before routing)."""
    status = status_of(type(exc))
    headers = None
    if isinstance(exc, e.QuotaExceededError | e.StoreUnavailableError):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if status >= 500:
        log.error("%s: %s", exc.code, exc.message[:2000])
        if type(exc) is AuditError:  # a bug: say no more than that
            return _response(status, "internal_error", "internal server error")
    return _response(status, exc.code, exc.message, exc.field, headers)


def _audit_error(_: Request[Any, Any, Any], exc: AuditError) -> Response[dict[str, Any]]:
    return audit_error_response(exc)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    problems = [p for p in exc.extra if isinstance(p, dict)] if isinstance(exc.extra, list) else []
    if not problems:
        return _response(422, "invalid_request", str(exc.detail)[:2000])
    first = problems[0]
    field = str(first.get("key") or "")[:200] or None
    if field == "data":  # Litestar's way of saying the body was empty
        return _response(400, "malformed_json", "the request body is empty; send a JSON object")
    # A bad query or header parameter is a malformed request; a bad body is an unprocessable entity.
    status = 400 if first.get("source") in {"query", "header", "path", "cookie"} else 422
    messages = [
        f"{p['key']}: {p.get('message', '')}" if p.get("key") else str(p.get("message", "")) for p in problems[:10]
    ]
    return _response(status, "invalid_request", "; ".join(messages)[:2000], field)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    detail = str(exc.detail)[:2000]
    if status >= 500:
        log.error("error on %s %s: %s", request.method, request.url.path[:200], detail, exc_info=exc)
        return _response(status, "internal_error", "internal server error")
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        return _response(400, "malformed_json", f"the request body is not valid JSON: {detail}")
    if status == 405:
        return _response(405, "method_not_allowed", detail)
    cls = _LITESTAR_STATUS.get(status, e.BadInputError)
    return _response(status, cls.code, detail)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if store_unreachable(exc):  # the database is down or restarting: say so, and when to come back
        log.warning("%s %s: the job store is unreachable: %s", request.method, request.url.path[:200], exc)
        return audit_error_response(
            e.StoreUnavailableError("the job store is unreachable; retry shortly", retry_after_s=5)
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path[:200], exc_info=exc)
    return _response(500, "internal_error", "internal server error")


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
    AuditError: _audit_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}
"""Passed to `Litestar(exception_handlers=...)`; the most specific class wins."""


_JOB_ONLY_CODES = frozenset(
    {
        "model_unreachable",
        "model_protocol_error",
        "unsupported_capability",
        "cancelled",
        "deadline_exceeded",
        "invalid_job",
    }
)
"""Codes only a failed (or cancelled) evaluation carries: no API route answers with them."""


def error_reference_markdown() -> str:
    """docs/errors.md: every known code, the HTTP status of the classes that carry it, and what it means
    (a test keeps the page equal to this)."""
    statuses: dict[str, set[int]] = {"method_not_allowed": {405}}
    for cls in e.error_classes():
        if cls.code not in _JOB_ONLY_CODES:
            statuses.setdefault(cls.code, set()).add(status_of(cls))
    lines = [
        "# Error codes",
        "",
        'Every error body is `{"error": {"code", "message", "field"}}` (`field` when one request field is to',
        'blame); a failed evaluation carries `{"code", "message"}` in its `error`. Codes are an open set: accept',
        "codes not listed here. This page is generated from `schemas/errors.py` (`ERROR_CODES`) and the status",
        "table in `service/errors.py`; a test fails when they drift apart.",
        "",
        "| code | HTTP status | meaning |",
        "| --- | --- | --- |",
    ]
    for code, meaning in ERROR_CODES.items():
        shown = ", ".join(str(s) for s in sorted(statuses.get(code, set()))) or "job error only"
        lines.append(f"| `{code}` | {shown} | {meaning} |")
    return "\n".join(lines) + "\n"
