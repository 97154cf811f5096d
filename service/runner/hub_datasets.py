"""The job runner's step before the checks: every Hub dataset of the job fetched into the shared cache.

Checks load datasets synchronously from async code, so they must not touch the network: this step, run on
the event loop with the Hub requests and downloads in threads, fetches each Hub dataset of the job's effective
checks (a suite's included) at the commit pinned at submit, and keeps those snapshots pinned in the cache
until the job ends. The dataset loader then only reads the cache (`DatasetLoader(hub=...)`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from evaluators.registries import hub_datasets
from evaluators.registries.cache import ModelCache
from evaluators.registries.dataset_fetch import FetchedHubDataset, fetch_hub_dataset, hub_ref_key
from evaluators.registries.hub import HubAccess
from evaluators.request_datasets import request_datasets
from schemas.dataset_sources import DatasetSource
from schemas.datasets import HubDataset
from schemas.errors import BadInputError, SecretNotAllowedError
from schemas.requests import EvaluationRequest
from service.settings import Settings


class JobHubDatasets:
    """The Hub datasets one job reads, fetched by `fetch` and held until `release`."""

    def __init__(self, settings: Settings, store: Any = None) -> None:
        self._settings = settings
        self._store = store
        self.fetched: dict[str, FetchedHubDataset] = {}
        """By `hub_ref_key` of the ref as the request gives it (what the loader looks up)."""

    async def fetch(self, request: EvaluationRequest, pins: Mapping[str, DatasetSource]) -> None:
        """Fetch every Hub dataset of `request` not fetched yet, at its pin (by request field) when it has one."""
        wanted = [(where, ref.hub) for where, ref, _ in request_datasets(request) if ref.hub is not None]
        if not wanted:
            return
        from evaluators.net import OutboundPolicy, configure_hub

        # Before any Hub request of this job: the checked transport (a model opener may not have installed it yet).
        configure_hub(OutboundPolicy(self._settings.allowed_host_list(), self._settings.allow_link_local))
        cache = self._cache()
        for where, ds in wanted:
            key = hub_ref_key(ds)
            if key in self.fetched:
                continue
            pinned = pins.get(where)
            if pinned is None:  # a job submitted before pins were recorded: the operator's pins, then the Hub
                ds_now = hub_datasets.operator_pinned(ds, self._settings.dataset_revision_pins())
            else:
                ds_now = ds
            access = HubAccess(
                endpoint=(pinned.endpoint if pinned else self._settings.hub_endpoint).rstrip("/"),
                token=self._token(ds, where),
            )
            self.fetched[key] = await fetch_hub_dataset(ds_now, pinned, access, cache)

    def release(self) -> None:
        """The job is over: unpin its snapshots (they stay cached until evicted)."""
        fetched, self.fetched = self.fetched, {}
        for one in fetched.values():
            one.release()

    def _cache(self) -> ModelCache:
        lock = None
        engine = getattr(self._store, "engine", None)
        if engine is not None and engine.dialect.name == "postgresql":
            lock = self._store.advisory_lock  # one download per snapshot across machines
        return ModelCache(self._settings.resolved_cache_dir(), self._settings.cache_max_bytes, lock)

    def _token(self, ds: HubDataset, where: str) -> str | None:
        if ds.api_key_env is None:
            return self._settings.operator_dataset_token()
        if ds.api_key_env not in self._settings.endpoint_secret_names():
            raise SecretNotAllowedError(
                f"api_key_env {ds.api_key_env!r} is not a name the operator allows (UNLEARN_AUDIT_ENDPOINT_SECRETS)",
                field=f"{where}.hub.api_key_env",
            )
        value = os.environ.get(ds.api_key_env)
        if not value:
            raise BadInputError(
                f"api_key_env {ds.api_key_env!r} is allowed but not set on this worker",
                field=f"{where}.hub.api_key_env",
            )
        return value
