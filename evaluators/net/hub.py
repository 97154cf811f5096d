"""huggingface_hub's HTTP through the checked transport: its client factories, and AsyncInferenceClient.

huggingface_hub (2.x) makes every request with an httpx2 client from a process-wide factory
(`set_client_factory`, `set_async_client_factory`); `configure_hub` installs checked ones. Its clients follow
redirects (the Hub answers downloads with a redirect to its CDN), so each hop is checked by the transport and a
hop to a host the operator does not allow is refused. Xet, the Hub's Rust download client, opens its own
connections outside any Python transport, so it is turned off: downloads then go over plain HTTP through here.
huggingface_hub itself is imported only when these are called.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import httpx2

from evaluators.net.policy import OutboundPolicy
from evaluators.net.transports import CheckedHubAsyncTransport, CheckedHubTransport
from schemas.errors import ConfigurationError

XET_SETTING = "HF_HUB_DISABLE_XET"


def hub_client(policy: OutboundPolicy) -> httpx2.Client:
    """What huggingface_hub's default sync factory builds (its request hook, redirects followed, no timeout of
    its own: the library passes one per call), over the checked transport and without proxies."""
    from huggingface_hub.utils._http import hf_request_event_hook

    return httpx2.Client(
        transport=CheckedHubTransport(policy),
        event_hooks={"request": [hf_request_event_hook]},
        follow_redirects=True,
        timeout=None,
        trust_env=False,  # a proxy would hide the real destination from the connect-time check
    )


def hub_async_client(policy: OutboundPolicy) -> httpx2.AsyncClient:
    """The async twin of `hub_client`, with the library's request and response hooks."""
    from huggingface_hub.utils._http import async_hf_request_event_hook, async_hf_response_event_hook

    return httpx2.AsyncClient(
        transport=CheckedHubAsyncTransport(policy),
        event_hooks={"request": [async_hf_request_event_hook], "response": [async_hf_response_event_hook]},
        follow_redirects=True,
        timeout=None,
        trust_env=False,
    )


def disable_xet() -> None:
    """Turn Xet off for this process and its children. huggingface_hub reads HF_HUB_DISABLE_XET once, when
    `huggingface_hub.constants` is imported, into an attribute it consults at each download: set both."""
    os.environ[XET_SETTING] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_XET = True


def configure_hub(policy: OutboundPolicy) -> None:
    """Route huggingface_hub's requests through the checked transport under `policy` and turn Xet off.

    Call it once where a worker starts, before any Hub request. Calling it again installs the factories
    afresh (the library closes its shared client), with the same effect.
    """
    disable_xet()
    from huggingface_hub import utils

    if not hasattr(utils, "set_async_client_factory"):
        raise ConfigurationError(
            "this huggingface_hub has no client factories (it needs 2.x): its requests cannot be checked"
        )
    utils.set_client_factory(functools.partial(hub_client, policy))
    utils.set_async_client_factory(functools.partial(hub_async_client, policy))


@functools.cache
def _inference_client_class() -> type[Any]:
    from huggingface_hub import AsyncInferenceClient

    # The client's one way to its httpx2 client (huggingface_hub 2.x); fail closed if that changes.
    if not callable(getattr(AsyncInferenceClient, "_get_async_client", None)):
        raise ConfigurationError(
            "huggingface_hub's AsyncInferenceClient no longer gets its HTTP client from _get_async_client: "
            "the checked transport cannot be installed in it"
        )

    class CheckedInferenceClient(AsyncInferenceClient):
        """An AsyncInferenceClient over a checked client of its own policy, whatever the process-wide factory."""

        def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._outbound = policy

        async def _get_async_client(self) -> httpx2.AsyncClient:
            if self._async_client is None:
                client = hub_async_client(self._outbound)
                self._async_client = await self.exit_stack.enter_async_context(client)
            return self._async_client

    return CheckedInferenceClient


def checked_inference_client(policy: OutboundPolicy, **kwargs: Any) -> Any:
    """A huggingface_hub AsyncInferenceClient(**kwargs) whose requests go through the checked transport."""
    return _inference_client_class()(policy, **kwargs)
