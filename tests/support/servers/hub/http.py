"""Plain ASGI plumbing for the fake Hub and CDN: requests routed on the raw (still percent-encoded) path, since a
Hub revision such as `refs%2Fpr%2F1` is one path segment; errors as the Hub gives them; byte ranges; recording."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.support.servers.hub.recording import REDACTED, RecordedRequest, RequestLog, ServerName

CHUNK = 64 * 1024
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Request:
    method: str
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    base_url: str
    """The origin the client addressed (from Host), for URLs in answers."""

    @property
    def segments(self) -> list[str]:
        """The path's segments, each percent-decoded (an encoded '/' stays inside its segment)."""
        return [unquote(s) for s in self.raw_path.strip("/").split("/")] if self.raw_path.strip("/") else []

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() in ("1", "true")

    @property
    def token(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HubError(400, f"Invalid JSON body: {exc}") from exc


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cut_after: int | None = None
    """Send only this many body bytes, then drop the connection (a scripted fault)."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data).encode()
    return Response(status, {"content-type": "application/json; charset=utf-8", **(headers or {})}, body)


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, {"content-type": content_type}, text.encode())


class HubError(Exception):
    """An error answer as the Hub gives it: the status, `X-Error-Code` (the kind huggingface_hub maps to its own
    exceptions: RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound), `X-Error-Message` and a JSON body."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}

    def response(self) -> Response:
        headers = {"x-error-message": self.message, **self.headers}
        if self.code is not None:
            headers["x-error-code"] = self.code
        return json_response({"error": self.message}, self.status, headers)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def ranged(content: bytes, headers: dict[str, str], range_header: str | None) -> Response:
    """`content` whole (200), or the one byte range asked for (206 with Content-Range); 416 when the range lies
    beyond the end. A header naming several ranges is ignored, as S3 does."""
    size = len(content)
    headers = {**headers, "accept-ranges": "bytes"}
    match = _RANGE.fullmatch((range_header or "").replace(" ", ""))
    if match is None or (not match[1] and not match[2]):
        return Response(200, {**headers, "content-length": str(size)}, content)
    if match[1]:
        start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
    else:
        start, end = max(size - int(match[2]), 0), size - 1
    if start >= size or start > end:
        return Response(416, {"content-range": f"bytes */{size}", "content-length": "0"})
    part = content[start : end + 1]
    headers.update({"content-range": f"bytes {start}-{end}/{size}", "content-length": str(len(part))})
    return Response(206, headers, part)


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _send(send: Send, response: Response, method: str) -> None:
    headers = [(k.encode(), v.encode("latin-1")) for k, v in response.headers.items()]
    if "content-length" not in response.headers:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    body = b"" if method == "HEAD" else response.body
    if response.cut_after is not None and method != "HEAD":
        # Returning before the body is complete makes uvicorn close the connection (it logs that it did).
        for start in range(0, min(response.cut_after, len(body)), CHUNK):
            end = min(start + CHUNK, response.cut_after)
            await send({"type": "http.response.body", "body": body[start:end], "more_body": True})
        return
    for start in range(0, len(body), CHUNK):
        await send({"type": "http.response.body", "body": body[start : start + CHUNK], "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def asgi_app(server: ServerName, handle: Callable[[Request], Response], log: RequestLog) -> Any:
    """An ASGI app answering each HTTP request with `handle` (a HubError becomes its error answer) and recording
    it in `log`."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            query=parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True),
            headers=headers,
            body=await _read_body(receive),
            base_url=f"{scope.get('scheme', 'http')}://{headers.get('host', '127.0.0.1')}",
        )
        try:
            response = handle(request)
        except HubError as exc:
            response = exc.response()
        shown = {k: (REDACTED if k == "authorization" else v) for k, v in headers.items()}
        log.record(
            RecordedRequest(
                server, request.method, request.raw_path, request.query, shown, request.body, response.status
            )
        )
        await _send(send, response, request.method)

    return app
