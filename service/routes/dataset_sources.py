"""Hub datasets pinned at submit: the revision resolved to its commit, the config's split to its parquet files.

The API process asks the Hub (through the checked transport) and refuses what could never be read: a repository
the operator does not allow (UNLEARN_AUDIT_HUB_DATASETS), a token name off the operator's list, an unknown
repository, revision, config or split (the message names those that exist), a gated dataset the token may not
read, more bytes than the whole cache. The operator's pins (UNLEARN_AUDIT_DATASET_REVISIONS) replace `main`
first. A pinned split already complete in the cache needs no request (air-gapped deployments).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from evaluators.registries import hub_datasets
from evaluators.registries.cache import COMPLETE
from evaluators.registries.hub import HubAccess, repo_allowed
from schemas.dataset_sources import DatasetFile, DatasetSource
from schemas.datasets import HubDataset
from schemas.errors import DatasetError, SecretNotAllowedError
from service.routes.sources import endpoint_token
from service.settings import Settings
from service.store.dataset_pins import pin_key


def pin_hub_dataset(
    ds: HubDataset,
    settings: Settings,
    listings: hub_datasets.Listings | None = None,
    deployment_pins: Mapping[str, str] | None = None,
) -> DatasetSource:
    """The pinned source of a Hub dataset ref, checked as far as the Hub can tell (sync: off the loop);
    `listings`: repositories already listed by this submission; `deployment_pins`: `repo@revision` -> the commit
    this deployment first read a suite dataset at (given only for a suite's datasets)."""
    repo_allowed(ds.repo, settings.hub_dataset_patterns(), hub_datasets.HUB_DATASETS_SETTING)
    if ds.api_key_env is not None and ds.api_key_env not in settings.endpoint_secret_names():
        raise SecretNotAllowedError(
            f"api_key_env {ds.api_key_env!r} is not a name the operator allows requests to use; ask them to list "
            "it in UNLEARN_AUDIT_ENDPOINT_SECRETS",
            field="api_key_env",
        )
    requested = ds.revision
    ds = hub_datasets.operator_pinned(ds, settings.dataset_revision_pins())
    remembered = (deployment_pins or {}).get(pin_key(ds.repo, ds.revision))
    if remembered is not None:
        ds = ds.model_copy(update={"revision": remembered})
    endpoint = settings.hub_endpoint.rstrip("/")
    cached = _cached_source(ds, endpoint, settings)
    if cached is not None:
        return cached.model_copy(update={"requested": requested})
    token = endpoint_token(ds.api_key_env, settings) if ds.api_key_env else settings.operator_dataset_token()
    access = HubAccess(endpoint=endpoint, token=token)
    source = hub_datasets.resolve(ds, access, listings)
    size = sum(f.size for f in source.files)
    if size > settings.cache_max_bytes:
        raise DatasetError(
            f"Hub dataset {ds.repo}@{source.revision[:12]} split {ds.split} takes {size:,} bytes, more than the "
            f"whole cache (UNLEARN_AUDIT_CACHE_MAX_BYTES={settings.cache_max_bytes:,})",
            field="split",
        )
    return source.model_copy(update={"requested": requested})


def _cached_source(ds: HubDataset, endpoint: str, settings: Settings) -> DatasetSource | None:
    """The source recorded with a complete cached snapshot of `ds` when it names a commit sha and a config."""
    if ds.config is None or not hub_datasets.COMMIT_SHA.match(ds.revision):
        return None
    probe = DatasetSource(
        endpoint=endpoint,
        repo=ds.repo,
        config=ds.config,
        split=ds.split,
        requested=ds.revision,
        revision=ds.revision,
        files=[DatasetFile(path="-", size=0)],
    )
    marker = settings.resolved_cache_dir() / "snapshots" / hub_datasets.snapshot_key(probe) / COMPLETE
    try:
        recorded = json.loads(marker.read_text())["source"]
        return DatasetSource.model_validate(recorded)
    except (OSError, ValueError, KeyError, TypeError):
        return None
