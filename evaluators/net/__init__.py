"""Outbound requests: one checked transport for every request this service makes.

    policy = OutboundPolicy(settings.allowed_host_list(), settings.allow_link_local)
    async with checked_async_client(policy, timeout=30.0) as client: ...   # our httpx requests
    configure_hub(policy)                                                  # huggingface_hub's, once per worker

Every request and redirect hop is checked against the allowlist (`OutboundPolicy.check_url`), and every
connection at connect time on the addresses it really uses (`OutboundPolicy.resolve_checked`). Refusals raise
`schemas.errors.URLNotAllowedError`. Modules: `addresses` (what an IP counts as), `policy`, `backend` (the
connect-time check), `transports` (httpx and httpx2), `clients`, `hub` (huggingface_hub).
"""

from evaluators.net.clients import checked_async_client
from evaluators.net.hub import checked_inference_client, configure_hub
from evaluators.net.policy import OutboundPolicy, Resolver

__all__ = ["OutboundPolicy", "Resolver", "checked_async_client", "checked_inference_client", "configure_hub"]
