"""The httpx client our own outbound requests use (model endpoints, judges, result callbacks)."""

from __future__ import annotations

from typing import Any

import httpx

from evaluators.net.policy import OutboundPolicy
from evaluators.net.transports import CheckedAsyncTransport

# Options that would route requests around the checked transport.
_BYPASSES = frozenset({"transport", "mounts", "proxy", "trust_env", "app"})
_TRANSPORT_OPTIONS = ("verify", "http2")


def checked_async_client(policy: OutboundPolicy, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx.AsyncClient whose every request and connection `policy` checks; `kwargs` go to the client
    (`verify` and `http2` to its transport). Redirects are not followed unless `follow_redirects=True` (then each
    hop is checked); a redirect to a host the policy refuses raises URLNotAllowedError either way."""
    bypass = sorted(_BYPASSES & set(kwargs))
    if bypass:
        raise TypeError(f"a checked client chooses its own {', '.join(bypass)}")
    options = {name: kwargs.pop(name) for name in _TRANSPORT_OPTIONS if name in kwargs}
    kwargs.setdefault("follow_redirects", False)
    # trust_env=False: with HTTP(S)_PROXY set the proxy would be the host connected to, hiding the real
    # destination from the connect-time check (and ~/.netrc credentials are not ours to send).
    return httpx.AsyncClient(transport=CheckedAsyncTransport(policy, **options), trust_env=False, **kwargs)
