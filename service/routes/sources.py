"""Fetched models pinned at submit: a Hub revision resolved to its commit, an MLflow alias to its version.

The API process asks the registry (through the checked transport), refuses what could never be fetched (a
repository the operator does not allow, an unknown repository or revision, a gated or private one the
token may not read, no loadable weights, more bytes than the whole cache) and returns the pinned source,
which the job records and the worker fetches exactly. A commit sha already in the cache needs no request,
so an air-gapped deployment whose cache was seeded audits without reaching the Hub.
"""

from __future__ import annotations

import os

from evaluators.registries import hub
from evaluators.registries.cache import snapshot_complete
from evaluators.registries.fetch import pinned_hub_source
from schemas.errors import BadInputError, ModelTooLargeError
from schemas.sources import ModelSource
from schemas.targets import HubTarget, MLflowTarget
from service.settings import Settings


def endpoint_token(name: str | None, settings: Settings) -> str | None:
    """The value of an operator-listed `api_key_env` in this process (None when it names none or is unset)."""
    if name is None or name not in settings.endpoint_secret_names():
        return None
    return os.environ.get(name) or None


def pin_source(target: HubTarget | MLflowTarget, settings: Settings) -> ModelSource:
    """The pinned source of a fetched target, checked as far as the registry can tell (sync: off the loop)."""
    if isinstance(target, MLflowTarget):
        from service.routes.mlflow_sources import pin_mlflow_source

        return pin_mlflow_source(target, settings)
    hub.repo_allowed(target.repo, settings.hub_repo_patterns())
    endpoint = settings.hub_endpoint.rstrip("/")
    pinned = pinned_hub_source(target, endpoint)
    if pinned is not None and snapshot_complete(settings.resolved_cache_dir(), hub.snapshot_key(pinned)):
        return pinned
    access = hub.HubAccess(endpoint=endpoint, token=endpoint_token(target.api_key_env, settings))
    source, files = hub.resolve(target, access)
    size = sum(f.size for f in hub.files_to_fetch(target, files))
    if size > settings.cache_max_bytes:
        raise ModelTooLargeError(
            f"{target.repo}@{(source.revision or '')[:12]} takes {size:,} bytes, more than the whole model cache "
            f"(UNLEARN_AUDIT_CACHE_MAX_BYTES={settings.cache_max_bytes:,})",
            field="repo",
        )
    if not source.revision:
        raise BadInputError(f"the Hub named no commit for {target.repo}", field="revision")
    return source
