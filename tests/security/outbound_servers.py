"""Small real ASGI apps for the outbound-request tests (run them with tests.support.servers.serve on 127.0.0.1).

`Recorder` answers 200 to anything and records what reached it: the stand-in for a host that must never be
reached (a metadata service, an intranet host). `Redirecting` answers a redirect on the paths it is given and
passes the rest to a wrapped app (a real TGI-protocol server), or redirects everything without one.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Send = Callable[[dict[str, Any]], Any]


async def _lifespan(receive: Any, send: Send) -> None:
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def _drain(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """200 `{"ok": true}` to every request; `requests` lists each one."""

    requests: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await _drain(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Seen(scope["method"], scope["path"], headers))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


@dataclass
class Redirecting:
    """`status` with `Location: location` on `paths` (every path when None); other paths go to `app`."""

    location: str
    app: Any = None
    paths: frozenset[str] | None = None
    status: int = 302
    redirected: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if self.app is not None and self.paths is not None and scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        await _drain(receive)
        self.redirected.append(scope["path"])
        headers = [(b"location", self.location.encode()), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@dataclass
class ScriptedDNS:
    """A getaddrinfo stand-in whose answers change from one lookup to the next (the last one repeats):
    how DNS rebinding looks to the resolver's caller. This machine has no DNS for the test names."""

    answers: dict[str, list[list[str]]]
    lookups: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        script = self.answers.get(host)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = script.pop(0) if len(script) > 1 else script[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answer]
