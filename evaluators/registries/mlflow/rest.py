"""Talking to an MLflow tracking server's REST API: credentials, retries, and MLflow's errors as ours.

MLflow answers an error as `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}` with the status of
`mlflow/exceptions.py`'s table (the basic-auth app answers 401 and 403 in plain text). They become:

    404, RESOURCE_DOES_NOT_EXIST / NOT_FOUND     ModelNotFoundError naming the model, version, alias or run
    400 "... not found" (an unknown alias)       ModelNotFoundError
    401 / 403                                    ModelAccessDeniedError (access refused; the credentials named)
    other 400                                    BadInputError with MLflow's message
    503 "--no-serve-artifacts"                   ArtifactStoreUnsupportedError (the server does not serve artifacts)
    429, 5xx, timeouts, connection failures      retried with backoff, then ModelUnreachableError
    404 ENDPOINT_NOT_FOUND, other statuses, bad JSON    ModelProtocolError (not the MLflow REST API we know)

A refusal by the checked transport (URLNotAllowedError) passes through at once. Credentials go only to the
tracking server's own origin, never to another host an artifact location names, and are never logged.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from evaluators.models.http_retry import RetryableError, RetryPolicy, parse_retry_after, with_retries
from schemas.errors import (
    ArtifactStoreUnsupportedError,
    BadInputError,
    ModelAccessDeniedError,
    ModelNotFoundError,
    ModelProtocolError,
    excerpt,
)

DEFAULT_RETRY = RetryPolicy(attempts=4, backoff_s=0.5, max_backoff_s=10.0, timeout_s=60.0)
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
_RETRY_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED"})
_NOT_FOUND_TEXT = re.compile(r"\bnot found\b", re.IGNORECASE)


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for a tracking server: a bearer token, or a username and password (HTTP basic, what
    `mlflow server --app-name basic-auth` checks). Secrets stay out of `repr`."""

    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.token is None) == (self.username is None or self.password is None):
            raise ValueError("RegistryAuth takes a token, or a username and a password")

    @property
    def header(self) -> str:
        """The Authorization header value."""
        if self.token is not None:
            return f"Bearer {self.token}"
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def server_origin(tracking_uri: str) -> str:
    """`scheme://host[:port][/prefix]` of a tracking URI, for requests and messages. Credentials in the URL
    are refused (they would be stored with the job and shown in errors): BadInputError."""
    parts = urlsplit(tracking_uri.strip())
    if parts.username is not None or parts.password is not None:
        raise BadInputError(
            "tracking_uri must not carry credentials; name a secret with api_key_env instead", field="tracking_uri"
        )
    if parts.query or parts.fragment:
        raise BadInputError(f"tracking_uri {excerpt(tracking_uri)} has a query or fragment", field="tracking_uri")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


def _mlflow_error(body: str) -> tuple[str, str]:
    """(error_code, message) of an MLflow error body; ('', the text) when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", body.strip()[:300]
    if isinstance(data, dict):
        return str(data.get("error_code") or ""), str(data.get("message") or "")[:500]
    return "", body.strip()[:300]


def raise_for_status(response: httpx.Response, body: str, server: str, what: str, field: str | None) -> None:
    """Raise the error an MLflow answer means (see the module docstring); return for a 2xx answer."""
    status = response.status_code
    if 200 <= status < 300:
        return
    code, message = _mlflow_error(body)
    said = f"{code}: {message}" if code else message or "no message"
    if status == 429 or status >= 500 or code in _RETRY_CODES:
        if status == 503 and "--no-serve-artifacts" in message:
            raise ArtifactStoreUnsupportedError(
                f"MLflow at {server} does not serve artifacts (it runs with --no-serve-artifacts), so the files of "
                f"{what} cannot be downloaded through it",
                field=field,
            )
        raise RetryableError(
            f"{what}: HTTP {status}: {said[:300]}", parse_retry_after(response.headers.get("retry-after"))
        )
    if status in (401, 403):
        why = "not authenticated" if status == 401 else "permission denied"
        raise ModelAccessDeniedError(
            f"MLflow at {server} refused access to {what} (HTTP {status}, {why}); check the credentials the "
            f"request names (api_key_env) and their permissions: {said[:200]}",
            field=field,
        )
    if code in _NOT_FOUND_CODES or (status == 400 and _NOT_FOUND_TEXT.search(message)):
        raise ModelNotFoundError(f"MLflow at {server} has no {what} ({said})", field=field)
    if status == 400:
        raise BadInputError(f"MLflow at {server} rejected the request for {what}: {said}", field=field)
    if status == 404:
        raise ModelProtocolError(
            f"MLflow at {server} has no API endpoint {response.request.url.path} ({said[:200]}): is it an MLflow "
            "tracking server (MLflow 3 for logged models)?"
        )
    raise ModelProtocolError(f"MLflow at {server} answered HTTP {status} for {what}: {said[:300]}")


class MLflowREST:
    """JSON calls to one tracking server through `client` (a checked client), with retries."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        tracking_uri: str,
        auth: RegistryAuth | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        file_timeout_s: float = 3600.0,
    ) -> None:
        self.client = client
        self.server = server_origin(tracking_uri)
        self.retry = retry
        self.download_retry = replace(retry, timeout_s=file_timeout_s)
        """For whole-file downloads: the same attempts, with a per-attempt limit that fits a large file."""
        self._auth = auth

    def headers_for(self, url: str) -> dict[str, str]:
        """The Authorization header for `url` when it is on the tracking server's origin, else none."""
        if self._auth is None or not _same_origin(url, self.server):
            return {}
        return {"Authorization": self._auth.header}

    async def call(
        self,
        method: str,
        endpoint: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        field: str | None = None,
        base_url: str | None = None,
    ) -> dict[str, Any]:
        """`method` on `endpoint` (e.g. `/api/2.0/mlflow/runs/get`) of the tracking server (or `base_url`);
        the JSON object it answers. `what` names the object asked about, for errors."""
        url = (base_url or self.server) + endpoint
        headers = self.headers_for(url)
        label = f"MLflow at {self.server}: {what}"

        async def attempt() -> dict[str, Any]:
            try:
                response = await self.client.request(method, url, params=params, json=body, headers=headers)
            except httpx.TimeoutException as exc:
                raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise RetryableError(f"{what}: connection failed: {exc!r}") from exc
            raise_for_status(response, response.text, self.server, what, field)
            try:
                data = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ModelProtocolError(f"{label}: the answer is not JSON: {response.text[:200]!r}") from exc
            if not isinstance(data, dict):
                raise ModelProtocolError(f"{label}: the answer is not a JSON object: {response.text[:200]!r}")
            return data

        return await with_retries(attempt, self.retry, label)
