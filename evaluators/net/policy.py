"""The operator's outbound policy: which URLs may be requested, and which addresses may be connected to.

Two checks, both needed: `check_url` (every request and every redirect hop: scheme, host on the allowlist; no
DNS) and `resolve_checked` (at connect time, inside the transport: the host's addresses as the connection will
use them). Checking addresses only before the request would let DNS answer differently at connect time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evaluators.net.addresses import IPAddress, is_link_local_or_metadata, is_public
from schemas.errors import URLNotAllowedError, excerpt

Resolver = Callable[..., list[Any]]
"""socket.getaddrinfo-compatible: (host, port, type=...) -> [(family, type, proto, name, sockaddr)]."""

HOSTS_SETTING = "UNLEARN_AUDIT_ALLOWED_HOSTS"
LINK_LOCAL_SETTING = "UNLEARN_AUDIT_ALLOW_LINK_LOCAL"
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})


@dataclass(frozen=True)
class Origin:
    """Where a URL points: scheme, host (lower case, IDNA, no brackets) and port (the default filled in)."""

    scheme: str
    host: str
    port: int
    explicit_port: bool

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}" if self.explicit_port else self.host


def normal_host(host: str) -> str:
    """A host as compared against the allowlist: lower case, no trailing dot or brackets, IDNA-encoded."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # left as is: it then matches no ASCII allowlist entry
    return host


def split_origin(url: str) -> Origin:
    """The origin of an http(s) URL; URLNotAllowedError when it is malformed, has another scheme or no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLNotAllowedError(f"URL {excerpt(url)} is malformed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise URLNotAllowedError(
            f"URL {excerpt(url)} refused: scheme must be http or https, got {excerpt(parts.scheme)}"
        )
    host = normal_host(parts.hostname or "")
    if not host:
        raise URLNotAllowedError(f"URL {excerpt(url)} has no host")
    default = 443 if parts.scheme == "https" else 80
    return Origin(parts.scheme, host, port if port is not None else default, port is not None)


def _parse_entry(entry: str) -> tuple[str, int | None]:
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address -> (host, port or None)."""
    entry = entry.strip().lower()
    try:
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            return normal_host(host), int(rest[1:]) if rest.startswith(":") else None
        if entry.count(":") == 1:
            host, port = entry.split(":")
            return normal_host(host), int(port)
    except ValueError as exc:
        raise ValueError(f"bad {HOSTS_SETTING} entry {entry!r}: the port must be a number") from exc
    return (entry if entry == "*" else normal_host(entry)), None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _same_host(entry: str, host: str) -> bool:
    a, b = _literal(entry), _literal(host)
    return a == b if a is not None and b is not None else entry == host


class OutboundPolicy:
    """The operator's rules for outbound requests (UNLEARN_AUDIT_ALLOWED_HOSTS, UNLEARN_AUDIT_ALLOW_LINK_LOCAL).

    `allowed_hosts`: hosts (any port) or host:port; `*` admits any host whose every address is public.
    Link-local and cloud metadata addresses and names are refused, even when listed, unless `allow_link_local`.
    An IPv6 address that embeds an IPv4 address counts as that IPv4 address. `resolve` (socket.getaddrinfo by
    default) is the only name resolution the checked transport uses. Raises ValueError for a bad entry.
    """

    def __init__(
        self,
        allowed_hosts: Sequence[str] = (),
        allow_link_local: bool = False,
        *,
        resolve: Resolver = socket.getaddrinfo,
    ) -> None:
        self.allowed_hosts = tuple(h.strip() for h in allowed_hosts if h.strip())
        self.allow_link_local = allow_link_local
        self.resolve = resolve
        self._entries = [_parse_entry(h) for h in self.allowed_hosts]
        self._wildcard = any(h == "*" for h, _ in self._entries)

    @classmethod
    def only(cls, url: str, *, resolve: Resolver = socket.getaddrinfo) -> OutboundPolicy:
        """A policy that admits `url`'s host and port alone (link-local still refused)."""
        origin = split_origin(url)
        host = f"[{origin.host}]" if ":" in origin.host else origin.host
        return cls([f"{host}:{origin.port}"], resolve=resolve)

    def __repr__(self) -> str:
        return f"OutboundPolicy(allowed_hosts={self.allowed_hosts!r}, allow_link_local={self.allow_link_local})"

    def _listed(self, host: str, port: int) -> bool:
        return any(_same_host(h, host) and (p is None or p == port) for h, p in self._entries)

    def check_url(self, url: str) -> str:
        """Return `url` when its scheme and host are allowed, else raise URLNotAllowedError. No DNS: a host
        given as an IP address is judged at once, a name when the transport resolves it to connect."""
        self.check_origin(split_origin(url))
        return url

    def check_origin(self, origin: Origin) -> None:
        """`check_url` for an origin already split (the transport checks each request and redirect with it)."""
        if origin.scheme not in ("http", "https"):
            raise URLNotAllowedError(
                f"host {excerpt(origin.shown)} refused: scheme must be http or https, got {excerpt(origin.scheme)}"
            )
        if not self.allow_link_local and origin.host in METADATA_NAMES:
            raise URLNotAllowedError(
                f"host {excerpt(origin.host)} is a cloud metadata service; set {LINK_LOCAL_SETTING}=true to allow it"
            )
        listed = self._listed(origin.host, origin.port)
        if not listed and not self._wildcard:
            raise URLNotAllowedError(
                f"host {excerpt(origin.shown)} is not allowed; add it to {HOSTS_SETTING} "
                f"(now: {','.join(self.allowed_hosts)})"
            )
        literal = _literal(origin.host)
        if literal is not None:
            self._judge(origin.shown, [literal], listed)

    def resolve_checked(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for host:port, every one checked (called at connect time).

        Raises URLNotAllowedError when the host is not allowed or any address is refused (link-local or
        metadata; non-public for a host admitted only by `*`), and OSError when the name does not resolve.
        """
        host = normal_host(host)
        origin = Origin("http", host, port, True)
        if not self.allow_link_local and host in METADATA_NAMES:
            raise URLNotAllowedError(
                f"host {excerpt(host)} is a cloud metadata service; set {LINK_LOCAL_SETTING}=true to allow it"
            )
        listed = self._listed(host, port)
        if not listed and not self._wildcard:
            raise URLNotAllowedError(f"host {excerpt(origin.shown)} is not allowed; add it to {HOSTS_SETTING}")
        literal = _literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            infos = self.resolve(host, port, type=socket.SOCK_STREAM)
            # sockaddr[0] of an IPv6 link-local may carry a zone ("fe80::1%eth0"), kept for connecting.
            addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in infos))
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, f"{host} resolved to no address")
        self._judge(origin.shown, addresses, listed)
        return [str(a) for a in addresses]

    def _judge(self, shown: str, addresses: list[IPAddress], listed: bool) -> None:
        if not self.allow_link_local:
            bad = [str(a) for a in addresses if is_link_local_or_metadata(a)]
            if bad:
                raise URLNotAllowedError(
                    f"host {excerpt(shown)} resolves to link-local or metadata address {', '.join(bad)}; "
                    f"set {LINK_LOCAL_SETTING}=true to allow it"
                )
        if not listed:
            private = [str(a) for a in addresses if not is_public(a)]
            if private:
                raise URLNotAllowedError(
                    f"host {excerpt(shown)} resolves to non-public address {', '.join(private)}; '*' allows "
                    f"public hosts only: list the host in {HOSTS_SETTING} to allow it"
                )
