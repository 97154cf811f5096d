"""API answers and transport failures as the classes of the one error tree (`schemas.errors`).

An error body is `{"error": {"code", "message", "field"}}`; its `code` picks the class (the first class of
the tree with that code, so `bad_request` is `BadInputError`). A code this client does not know, or a body
that is not an error body, falls back to the class of the HTTP status.
"""

from __future__ import annotations

import httpx

from schemas import errors as e

_BY_STATUS: dict[int, type[e.AuditError]] = {
    400: e.BadInputError,
    401: e.UnauthorizedError,
    403: e.ForbiddenError,
    404: e.NotFoundError,
    408: e.DeadlineExceededError,
    409: e.ConflictError,
    413: e.RequestTooLargeError,
    415: e.UnsupportedMediaTypeError,
    422: e.InvalidRequestError,
    429: e.QuotaExceededError,
    502: e.ModelUnreachableError,
    503: e.UnavailableError,
}

_BY_CODE: dict[str, type[e.AuditError]] = {}
for _cls in e.error_classes():
    _BY_CODE.setdefault(_cls.code, _cls)


def _retry_after(response: httpx.Response) -> int:
    text = response.headers.get("retry-after", "")
    return int(text) if text.isdigit() else 1


def error_from_response(response: httpx.Response) -> e.AuditError:
    """The error an answer of status >= 400 stands for, with the server's message and field."""
    code, message, field = None, None, None
    try:
        body = response.json()
        error = body["error"]
        code, message, field = str(error["code"]), str(error["message"]), error.get("field")
    except (ValueError, KeyError, TypeError):
        pass
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = e.BadInputError if 400 <= response.status_code < 500 else e.AuditError
    text = message or f"{response.request.method} {response.request.url.path}: {response.text[:200]}"
    text = f"{response.status_code} {text}" if code is None else f"{response.status_code} {code}: {text}"
    if issubclass(cls, e.QuotaExceededError):
        return cls(text, retry_after_s=_retry_after(response), field=field)
    if issubclass(cls, e.StoreUnavailableError):
        return cls(text, retry_after_s=_retry_after(response))
    return cls(text, field=field if isinstance(field, str) else None)


def unreachable(base_url: httpx.URL | str, exc: httpx.TransportError) -> e.UnavailableError:
    """A server that cannot be reached (connection refused, DNS, timeout) as `UnavailableError`."""
    return e.UnavailableError(f"cannot reach {base_url}: {type(exc).__name__}: {exc}")


def raise_for_answer(response: httpx.Response) -> None:
    """Raise the tree's error for an answer of status >= 400; return for anything else."""
    if response.status_code >= 400:
        raise error_from_response(response)
