"""An MLflow target pinned at submit: its alias resolved to a version, its checkpoint files listed (so a
model without weights, or one larger than the whole cache, is refused before it is queued)."""

from __future__ import annotations

import asyncio

from evaluators.models.factory import operator_mlflow_auth
from evaluators.net import OutboundPolicy
from evaluators.registries.mlflow import MLflowRegistry
from evaluators.registries.mlflow_fetch import auth_for, resolve_with_files, tracking_uri
from schemas.errors import ModelTooLargeError
from schemas.sources import ModelSource
from schemas.targets import MLflowTarget
from service.routes.sources import endpoint_token
from service.settings import Settings


def pin_mlflow_source(target: MLflowTarget, settings: Settings) -> ModelSource:
    """Sync (call it off the event loop): it runs its own short event loop for the REST calls."""
    return asyncio.run(_pin(target, settings))


async def _pin(target: MLflowTarget, settings: Settings) -> ModelSource:
    uri = tracking_uri(target, settings.mlflow_tracking_uri)
    auth = auth_for(endpoint_token(target.api_key_env, settings), operator_mlflow_auth(settings))
    policy = OutboundPolicy(settings.allowed_host_list(), settings.allow_link_local)
    async with MLflowRegistry(uri, policy, auth=auth) as registry:
        model, _, size = await resolve_with_files(registry, target)
    if size > settings.cache_max_bytes:
        raise ModelTooLargeError(
            f"{model.pinned_uri} takes {size:,} bytes, more than the whole model cache "
            f"(UNLEARN_AUDIT_CACHE_MAX_BYTES={settings.cache_max_bytes:,})",
            field="model_uri",
        )
    return model.model_source()
