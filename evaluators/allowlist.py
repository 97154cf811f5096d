"""Outbound URL allowlist: model endpoints, judges and callbacks reach only hosts the operator allows."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from schemas.errors import URLNotAllowedError

Resolver = Callable[..., list[Any]]
"""socket.getaddrinfo-compatible: (host, port, type=...) -> [(family, type, proto, name, sockaddr)]."""

_METADATA_NAMES = {"metadata.google.internal", "metadata.goog", "metadata"}
_METADATA_ADDRS = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_HOSTS_SETTING = "UNLEARN_AUDIT_ALLOWED_HOSTS"
_LINK_LOCAL_SETTING = "UNLEARN_AUDIT_ALLOW_LINK_LOCAL"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_entry(entry: str) -> tuple[str, int | None]:
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address -> (host, port or None)."""
    entry = entry.strip().lower()
    try:
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            return host, int(rest[1:]) if rest.startswith(":") else None
        if entry.count(":") == 1:
            host, port = entry.split(":")
            return host, int(port)
    except ValueError as exc:
        raise ValueError(f"bad {_HOSTS_SETTING} entry {entry!r}: the port must be a number") from exc
    return entry, None


def _unmapped(addr: IPAddress) -> IPAddress:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _is_link_local(addr: IPAddress) -> bool:
    addr = _unmapped(addr)
    return addr.is_link_local or addr in _METADATA_ADDRS


def _addresses(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise URLNotAllowedError(
            f"host {host!r} cannot be resolved ({exc}), so it cannot be checked against link-local and "
            "metadata addresses"
        ) from exc
    # sockaddr[0] of an IPv6 link-local may carry a zone ("fe80::1%eth0").
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_url(
    url: str,
    allowed_hosts: Sequence[str],
    allow_link_local: bool = False,
    *,
    resolve: Resolver = socket.getaddrinfo,
) -> str:
    """Return `url` when it may be reached, else raise URLNotAllowedError naming the host and setting.

    Rules: scheme http or https; host (any port) or host:port listed in `allowed_hosts`, or `*` there
    for any host whose every address is public (globally routable). Link-local (169.254.0.0/16,
    fe80::/10) and cloud metadata addresses and names are refused even when listed, unless
    `allow_link_local`; names are resolved (`resolve`, socket.getaddrinfo by default) and refused if
    any address they resolve to is such an address.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLNotAllowedError(f"URL {url!r} is malformed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise URLNotAllowedError(f"URL {url!r} refused: scheme must be http or https, got {parts.scheme!r}")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise URLNotAllowedError(f"URL {url!r} has no host")
    effective_port = port if port is not None else (443 if parts.scheme == "https" else 80)
    shown = f"{host}:{port}" if port is not None else host
    if not allow_link_local and host in _METADATA_NAMES:
        raise URLNotAllowedError(
            f"host {host!r} is a cloud metadata service; set {_LINK_LOCAL_SETTING}=true to allow it"
        )
    entries = [_parse_entry(e) for e in allowed_hosts if e.strip()]
    listed = any(h == host and (p is None or p == effective_port) for h, p in entries)
    wildcard = any(h == "*" for h, _ in entries)
    if not listed and not wildcard:
        raise URLNotAllowedError(
            f"host {shown!r} is not allowed; add it to {_HOSTS_SETTING} (now: {','.join(allowed_hosts)})"
        )
    addresses = _addresses(host, effective_port, resolve)
    if not allow_link_local:
        bad = [str(a) for a in addresses if _is_link_local(a)]
        if bad:
            raise URLNotAllowedError(
                f"host {shown!r} resolves to link-local or metadata address {', '.join(bad)}; "
                f"set {_LINK_LOCAL_SETTING}=true to allow it"
            )
    if not listed:
        private = [str(a) for a in addresses if not _unmapped(a).is_global]
        if private:
            raise URLNotAllowedError(
                f"host {shown!r} resolves to non-public address {', '.join(private)}; '*' allows "
                f"public hosts only: list the host in {_HOSTS_SETTING} to allow it"
            )
    return url
