"""Outbound URL allowlist, checked early: at submit time, a refused URL is a 4xx naming the field.

This is the early check; the enforcement is the checked transport (evaluators.net), which checks every
request, redirect hop and connection again, so DNS answering differently later gets nowhere.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from evaluators.net.policy import OutboundPolicy, Resolver, split_origin
from schemas.errors import URLNotAllowedError, excerpt

__all__ = ["Resolver", "check_url"]


def check_url(
    url: str,
    allowed_hosts: Sequence[str],
    allow_link_local: bool = False,
    *,
    resolve: Resolver = socket.getaddrinfo,
) -> str:
    """Return `url` when it may be reached, else raise URLNotAllowedError naming the host and setting.

    Rules (evaluators.net.OutboundPolicy): scheme http or https; host (any port) or host:port listed in
    `allowed_hosts`, or `*` there for any host whose every address is public (globally routable). Link-local
    and cloud metadata addresses and names are refused even when listed, unless `allow_link_local`; names are
    resolved now (`resolve`, socket.getaddrinfo by default) and refused if any address is refused. Raises
    ValueError for a malformed `allowed_hosts` entry.
    """
    policy = OutboundPolicy(allowed_hosts, allow_link_local, resolve=resolve)
    policy.check_url(url)
    origin = split_origin(url)
    try:
        policy.resolve_checked(origin.host, origin.port)
    except OSError as exc:
        raise URLNotAllowedError(
            f"host {excerpt(origin.host)} cannot be resolved ({exc}), so it cannot be checked against "
            "link-local and metadata addresses"
        ) from exc
    return url
