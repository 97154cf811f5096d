"""Fetch a Hub dataset's split into the shared cache (the worker's step before the checks).

The files go into the same byte-budgeted cache as fetched models (`cache.ModelCache`: one download per
snapshot under its lock, LRU eviction that skips snapshots in use) and stay pinned there until the job ends
(`FetchedHubDataset.release`). Each file's sha256 is computed once fetched and checked against the Hub's
LFS sha256, for the scorecard's provenance. The loader then reads only the cache.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluators.registries import hub_datasets
from evaluators.registries.cache import ModelCache, Snapshot
from evaluators.registries.hub import HubAccess
from schemas.dataset_sources import DatasetSource
from schemas.datasets import HubDataset


def hub_ref_key(ds: HubDataset) -> str:
    """How a dataset ref is looked up among a job's fetched datasets (the ref as the request gives it)."""
    return ds.model_dump_json()


@dataclass
class FetchedHubDataset:
    """A split's parquet files in the cache, pinned until `release()`."""

    source: DatasetSource
    files: list[Path]
    sha256s: dict[str, str]
    _snapshot: Snapshot | None = field(default=None, repr=False)

    def provenance(self) -> dict[str, Any]:
        """The scorecard's `hub` dict: repo, config, split, requested revision, commit sha, files."""
        return self.source.provenance(self.sha256s)

    def release(self) -> None:
        if self._snapshot is not None:
            self._snapshot.release()
            self._snapshot = None


async def fetch_hub_dataset(
    ds: HubDataset, pinned: DatasetSource | None, access: HubAccess, cache: ModelCache
) -> FetchedHubDataset:
    """The split `ds` names, fetched into `cache` at `pinned`'s commit (resolved first when None: a job from
    before pins were recorded). The Hub is asked nothing when the pinned snapshot is complete in the cache."""
    source = pinned if pinned is not None else await asyncio.to_thread(hub_datasets.resolve, ds, access)
    size = sum(f.size for f in source.files)

    async def download(destination: Path) -> None:
        await asyncio.to_thread(hub_datasets.download, source, access, destination)

    key = hub_datasets.snapshot_key(source)
    snapshot = await cache.fetch(key, size, download, source=source.model_dump(mode="json"))
    try:
        sha256s = await asyncio.to_thread(hub_datasets.file_sha256s, source, snapshot.path)
    except BaseException:
        snapshot.release()
        raise
    files = [snapshot.path / f.path for f in source.files]
    return FetchedHubDataset(source=source, files=files, sha256s=sha256s, _snapshot=snapshot)
