"""The one place where errors become HTTP responses.

Every error body has the same shape: `{"error": {"code": ..., "message": ..., "field": ...}}` (`field`
only when one field is to blame). `evaluators.errors.AuditError` subclasses carry their own status and
code; Litestar's validation errors become 422 (body) or 400 (query, header, path); malformed JSON is 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import BaseModel, Field

from evaluators.errors import AuditError

log = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "deadline_exceeded",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
}

_PARAMETER_SOURCES = {"query", "header", "path", "cookie"}


class ErrorDetail(BaseModel):
    code: str = Field(..., description="Machine-readable, e.g. `invalid_request`, `path_not_allowed`.")
    message: str = Field(..., description="What is wrong, for a person.")
    field: str | None = Field(None, description="The request field to blame, as a dotted path.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {
        status: ResponseSpec(data_container=ErrorBody, description=_CODES_BY_STATUS.get(status, "error"))
        for status in statuses
    }


class APIError(HTTPException):
    """An HTTP error raised by route handlers, with a machine-readable code and an optional field."""

    def __init__(self, status_code: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(detail=message, status_code=status_code)
        self.code = code
        self.message = message
        self.field = field


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _response(status: int, code: str, message: str, field: str | None = None) -> Response[dict[str, Any]]:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(error_body(code, message, field), status_code=status, headers=headers)


def _audit_error(_: Request[Any, Any, Any], exc: AuditError) -> Response[dict[str, Any]]:
    return _response(exc.http_status, exc.code, exc.message, exc.field)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    problems = [e for e in (exc.extra or []) if isinstance(e, dict)] if isinstance(exc.extra, list) else []
    if not problems:
        return _response(422, "invalid_request", str(exc.detail))
    first = problems[0]
    field = first.get("key") or None
    if field == "data":  # Litestar's way of saying the body was empty
        return _response(400, "malformed_json", "the request body is empty; send a JSON object")
    # A bad query or header parameter is a malformed request; a bad body is an unprocessable entity.
    status = 400 if first.get("source") in _PARAMETER_SOURCES else 422
    messages = [
        f"{p['key']}: {p.get('message', '')}" if p.get("key") else str(p.get("message", "")) for p in problems
    ]
    return _response(status, "invalid_request", "; ".join(messages), field)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, APIError):
        return _response(exc.status_code, exc.code, exc.message, exc.field)
    status = exc.status_code
    detail = str(exc.detail)
    if status >= 500:
        log.error("error on %s %s: %s", request.method, request.url.path, detail, exc_info=exc)
    code = _CODES_BY_STATUS.get(status, "error")
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        code = "malformed_json"
        detail = f"the request body is not valid JSON: {detail}"
    return _response(status, code, detail)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "internal server error")


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
    AuditError: _audit_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}
"""Passed to `Litestar(exception_handlers=...)`; the most specific class wins."""
