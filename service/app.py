"""The Litestar app factory: `create_app(settings, store=None)`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide

from evaluators.net import OutboundPolicy, configure_hub
from service.auth import KeyRing
from service.errors import EXCEPTION_HANDLERS
from service.json_body import CheckedRequest
from service.metrics import StoreMetrics, metrics_endpoint, prometheus_config
from service.openapi import openapi_config
from service.reports.log_redaction import redact_link_tokens
from service.routes import ROUTES
from service.routes.deps import STATE_DEPENDENCIES
from service.settings import Settings
from service.signing.shared import SigningKeys
from service.store.api import JobStore
from service.webhooks.stored import import_profiles_on_start

log = logging.getLogger(__name__)


def _store_metrics(state: State) -> StoreMetrics:
    metrics: StoreMetrics = state.store_metrics
    return metrics


def _feature_routers() -> list[Router]:
    """Routers of the features built on the spine (reports, signing keys, callbacks, registry webhooks)."""
    from service.callbacks.routes import callback_router
    from service.reports.routes import report_router
    from service.signing.routes import signing_router
    from service.webhooks.routes import webhook_router

    return [report_router, signing_router, callback_router, webhook_router]


def create_app(settings: Settings, store: JobStore | None = None) -> Litestar:
    """Build the API. Without `store`, one is opened (and migrated) on `settings` at start-up and closed
    at shutdown; a given store belongs to the caller and is left open.

    Raises ValueError when the configured API keys are malformed.
    """
    keyring = KeyRing.from_settings(settings)
    redact_link_tokens()  # report-link tokens in query strings never reach the access log
    # Submits resolve Hub revisions with huggingface_hub: its requests pass the same checked transport.
    configure_hub(OutboundPolicy(settings.allowed_host_list(), settings.allow_link_local))

    @asynccontextmanager
    async def store_lifespan(app: Litestar) -> AsyncIterator[None]:
        if store is not None:  # the caller's store: already in the state, not ours to close
            yield
            return
        from service.store import create_store

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        own = await create_store(settings.resolved_database_url())
        app.state.store = own
        try:
            yield
        finally:
            await own.close()

    return Litestar(
        route_handlers=[*ROUTES, metrics_endpoint, *_feature_routers()],
        dependencies={
            **STATE_DEPENDENCIES,
            "store_metrics": Provide(_store_metrics, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[prometheus_config().middleware],
        lifespan=[store_lifespan, import_profiles_on_start],
        openapi_config=openapi_config(),
        request_max_body_size=settings.max_body_bytes,
        request_class=CheckedRequest,
        state=State(
            {
                "settings": settings,
                "keyring": keyring,
                "store_metrics": StoreMetrics(),
                "store": store,
                "signing_keys": SigningKeys.from_settings(settings),
            }
        ),
        debug=False,
    )
