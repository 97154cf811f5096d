"""Network backends for httpcore and httpcore2 connection pools that resolve and check at connect time.

The pool asks its backend to `connect_tcp(host, port)`; these resolve the host with the policy's resolver,
check every address (OutboundPolicy.resolve_checked) and connect the wrapped backend to a checked IP literal, so
what was checked is exactly what is connected. TLS is started afterwards by the pool with the URL's host name
(SNI and certificate), so HTTPS is unaffected. Both libraries' backends share one interface, so one class each
(sync, async) serves both; the `ConnectError` class to raise comes from the library.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio.to_thread

from evaluators.net.policy import OutboundPolicy
from schemas.errors import URLNotAllowedError, excerpt


class CheckedBackend:
    """A sync network backend (httpcore.NetworkBackend interface) wrapping `inner` (SyncBackend)."""

    def __init__(self, policy: OutboundPolicy, inner: Any, connect_error: type[Exception]) -> None:
        self._policy = policy
        self._inner = inner
        self._connect_error = connect_error

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        try:
            addresses = self._policy.resolve_checked(host, port)
        except OSError as exc:  # DNS failure: a connection failure (retried like one), not a refusal
            raise self._connect_error(f"cannot resolve {excerpt(host)}: {exc}") from exc
        options = list(socket_options or [])
        last: Exception | None = None
        for ip in addresses:  # in the resolver's order; a refused connection tries the next address
            try:
                return self._inner.connect_tcp(ip, port, timeout, local_address, options)
            except self._connect_error as exc:
                last = exc
        assert last is not None  # resolve_checked never returns an empty list
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise URLNotAllowedError("unix sockets are not outbound hosts; the checked transport does not use them")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class CheckedAsyncBackend:
    """An async network backend (httpcore.AsyncNetworkBackend interface) wrapping `inner` (AnyIOBackend)."""

    def __init__(self, policy: OutboundPolicy, inner: Any, connect_error: type[Exception]) -> None:
        self._policy = policy
        self._inner = inner
        self._connect_error = connect_error

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface: the connect timeout)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        try:
            # getaddrinfo blocks: in a thread, abandoned (not waited for) when the request is cancelled.
            addresses = await anyio.to_thread.run_sync(self._policy.resolve_checked, host, port, abandon_on_cancel=True)
        except OSError as exc:
            raise self._connect_error(f"cannot resolve {excerpt(host)}: {exc}") from exc
        options = list(socket_options or [])
        last: Exception | None = None
        for ip in addresses:  # in the resolver's order; a refused connection tries the next address
            try:
                return await self._inner.connect_tcp(ip, port, timeout, local_address, options)
            except self._connect_error as exc:
                last = exc
        assert last is not None  # resolve_checked never returns an empty list
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> Any:
        raise URLNotAllowedError("unix sockets are not outbound hosts; the checked transport does not use them")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
