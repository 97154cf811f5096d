"""Checked transports for httpx (our clients) and httpx2 (huggingface_hub's clients).

Each request, and so each redirect hop a client follows, is checked with OutboundPolicy.check_origin before it
is sent; the connection pool's network backend checks the resolved addresses at connect time (backend.py). A
redirect answer whose Location the policy refuses is refused here too, whether or not the client would follow
it, so the caller gets URLNotAllowedError rather than a 3xx to interpret. No proxy is ever used.

httpx's own HTTPTransport cannot be given a network backend, so these wrap an httpcore pool the way httpx's
`_transports/default.py` does. The two libraries are API twins; `Flavour` holds what differs (the modules) and
the logic is written once, with a thin class per library and mode.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any, ClassVar

import httpcore
import httpcore2
import httpx
import httpx2

from evaluators.net.backend import CheckedAsyncBackend, CheckedBackend
from evaluators.net.policy import Origin, OutboundPolicy, normal_host
from schemas.errors import URLNotAllowedError, excerpt

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ERROR_NAMES = (
    "TimeoutException",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "NetworkError",
    "ConnectError",
    "ReadError",
    "WriteError",
    "ProxyError",
    "UnsupportedProtocol",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
)


class Flavour:
    """One HTTP library and its connection library: httpx with httpcore, or httpx2 with httpcore2."""

    def __init__(self, http: ModuleType, core: ModuleType) -> None:
        self.http = http
        self.core = core
        self._errors: dict[type[BaseException], type[Exception]] = {
            getattr(core, name): getattr(http, name) for name in _ERROR_NAMES
        }

    @contextlib.contextmanager
    def mapped_errors(self) -> Iterator[None]:
        """httpcore exceptions raised inside become the matching httpx ones (the most specific: MRO order)."""
        try:
            yield
        except Exception as exc:
            for cls in type(exc).__mro__:
                if cls in self._errors:
                    raise self._errors[cls](str(exc)) from exc
            raise

    def pool(
        self, policy: OutboundPolicy, *, asynchronous: bool, verify: ssl.SSLContext | str | bool, http2: bool
    ) -> Any:
        core = self.core
        # Certificate settings from the environment (SSL_CERT_FILE, SSL_CERT_DIR) still apply: they choose
        # which CAs are trusted, not where requests go.
        context = self.http.create_ssl_context(verify=verify)
        limits: dict[str, Any] = {"max_connections": 100, "max_keepalive_connections": 20, "keepalive_expiry": 5.0}
        if asynchronous:
            backend: Any = CheckedAsyncBackend(policy, core.AnyIOBackend(), core.ConnectError)
            return core.AsyncConnectionPool(ssl_context=context, http2=http2, network_backend=backend, **limits)
        backend = CheckedBackend(policy, core.SyncBackend(), core.ConnectError)
        return core.ConnectionPool(ssl_context=context, http2=http2, network_backend=backend, **limits)

    def origin(self, url: Any) -> Origin:
        """The Origin of an httpx(2).URL, as the pool will connect to it."""
        default = 443 if url.scheme == "https" else 80
        return Origin(url.scheme, normal_host(url.raw_host.decode("ascii")), url.port or default, url.port is not None)

    def core_request(self, request: Any) -> Any:
        url = request.url
        return self.core.Request(
            method=request.method,
            url=self.core.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )

    def refused_redirect(self, policy: OutboundPolicy, request: Any, core_response: Any) -> URLNotAllowedError | None:
        """The refusal of a redirect answer whose Location the policy does not allow; None otherwise."""
        if core_response.status not in _REDIRECTS:
            return None
        location = next((v for k, v in core_response.headers if k.lower() == b"location"), None)
        if location is None:
            return None
        try:
            target = request.url.join(location.decode("latin-1"))
        except self.http.InvalidURL:
            return None  # no client can follow it either
        try:
            policy.check_origin(self.origin(target))
        except URLNotAllowedError as exc:
            source = self.origin(request.url).shown
            return URLNotAllowedError(
                f"{excerpt(source)} redirected to {excerpt(str(target))}, which is refused: {exc.message}"
            )
        return None

    def response(self, core_response: Any, stream: Any) -> Any:
        return self.http.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=stream,
            extensions=core_response.extensions,
        )


HTTPX = Flavour(httpx, httpcore)
HTTPX2 = Flavour(httpx2, httpcore2)


class _SyncStream:
    flavour: ClassVar[Flavour]

    def __init__(self, core_stream: Any) -> None:
        self._core_stream = core_stream

    def __iter__(self) -> Iterator[bytes]:
        with self.flavour.mapped_errors():
            yield from self._core_stream

    def close(self) -> None:
        if hasattr(self._core_stream, "close"):
            self._core_stream.close()


class _AsyncStream:
    flavour: ClassVar[Flavour]

    def __init__(self, core_stream: Any) -> None:
        self._core_stream = core_stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with self.flavour.mapped_errors():
            async for part in self._core_stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._core_stream, "aclose"):
            await self._core_stream.aclose()


class _SyncTransport:
    flavour: ClassVar[Flavour]
    stream: ClassVar[type[_SyncStream]]

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | str | bool = True, http2: bool = False):
        self.policy = policy
        self._pool = self.flavour.pool(policy, asynchronous=False, verify=verify, http2=http2)

    def handle_request(self, request: Any) -> Any:
        self.policy.check_origin(self.flavour.origin(request.url))
        with self.flavour.mapped_errors():
            core_response = self._pool.handle_request(self.flavour.core_request(request))
        refusal = self.flavour.refused_redirect(self.policy, request, core_response)
        if refusal is not None:
            core_response.close()
            raise refusal
        return self.flavour.response(core_response, self.stream(core_response.stream))

    def close(self) -> None:
        self._pool.close()


class _AsyncTransport:
    flavour: ClassVar[Flavour]
    stream: ClassVar[type[_AsyncStream]]

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | str | bool = True, http2: bool = False):
        self.policy = policy
        self._pool = self.flavour.pool(policy, asynchronous=True, verify=verify, http2=http2)

    async def handle_async_request(self, request: Any) -> Any:
        self.policy.check_origin(self.flavour.origin(request.url))
        with self.flavour.mapped_errors():
            core_response = await self._pool.handle_async_request(self.flavour.core_request(request))
        refusal = self.flavour.refused_redirect(self.policy, request, core_response)
        if refusal is not None:
            await core_response.aclose()
            raise refusal
        return self.flavour.response(core_response, self.stream(core_response.stream))

    async def aclose(self) -> None:
        await self._pool.aclose()


class _HttpxAsyncStream(_AsyncStream, httpx.AsyncByteStream):
    flavour = HTTPX


class CheckedAsyncTransport(_AsyncTransport, httpx.AsyncBaseTransport):
    """An httpx async transport that checks every request, redirect and connection against `policy`."""

    flavour = HTTPX
    stream = _HttpxAsyncStream


class _Httpx2Stream(_SyncStream, httpx2.SyncByteStream):
    flavour = HTTPX2


class _Httpx2AsyncStream(_AsyncStream, httpx2.AsyncByteStream):
    flavour = HTTPX2


class CheckedHubTransport(_SyncTransport, httpx2.BaseTransport):
    """The httpx2 (huggingface_hub) sync twin of CheckedAsyncTransport."""

    flavour = HTTPX2
    stream = _Httpx2Stream


class CheckedHubAsyncTransport(_AsyncTransport, httpx2.AsyncBaseTransport):
    """The httpx2 (huggingface_hub) async twin of CheckedAsyncTransport."""

    flavour = HTTPX2
    stream = _Httpx2AsyncStream
