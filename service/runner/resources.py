"""What a job needs from the worker's settings: the dataset resolver and the model opener."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluators.checks.base import DatasetResolver
from evaluators.datasets import DatasetLoader
from evaluators.registries.dataset_fetch import FetchedHubDataset
from schemas.requests import EvaluationRequest
from service.runner.models import Opener
from service.settings import Settings


def dataset_resolver(
    settings: Settings, request: EvaluationRequest, hub: Mapping[str, FetchedHubDataset] | None = None
) -> DatasetResolver:
    """Datasets inside the data roots, inline, built into the sandbox, or from the Hub as fetched before the checks
    (`hub`); `limit` rows at most, then `sample`."""
    return DatasetLoader(
        settings.data_root_paths(), settings.resolved_sandbox_dir(), request.limit, request.sample, hub=hub
    )


def model_opener(settings: Settings, store: Any = None) -> Opener:
    """Opens ModelTargets with the backends' factory, under this worker's roots, allowlist and cache.

    Built once per worker, before its first model is opened: it also routes huggingface_hub's requests (Hub
    downloads) through the checked transport under the same allowlist. With a PostgreSQL `store`, a fetched
    snapshot downloads once across machines (an advisory lock); otherwise a file lock in the cache does it.
    Imported lazily: an endpoint-only worker need not import torch until a checkpoint target comes.
    """
    from evaluators.models import factory
    from evaluators.net import configure_hub

    env = factory.BackendEnv.from_settings(settings)  # one per worker: it owns the checkpoint cache
    across_machines = store.lock_across_machines() if store is not None else None
    if across_machines is not None:
        env.download_lock = across_machines  # one download per snapshot across machines
    configure_hub(env.outbound_policy)

    async def open_target(target: Any) -> Any:
        return await factory.open_model(target, env)

    return open_target
