"""Seeding the model cache from a directory, for deployments that cannot reach the Hub when they audit.

The files loading needs are copied in as the snapshot of (repo, commit). When the Hub can be reached, each
file is checked against what it records for that commit (the sha256 of LFS files, the git blob id of the
others) and the revision is resolved there; when it cannot, the revision must be a full commit sha and the
files' sha256 are recorded as given (`verified: false`). An audit of that commit then needs no Hub request.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.registries import hub
from evaluators.registries.cache import ModelCache
from evaluators.registries.fetch import pinned_hub_source
from schemas.errors import BadInputError, ModelUnreachableError, URLNotAllowedError
from schemas.sources import ModelSource
from schemas.targets import HubTarget


@dataclass(frozen=True)
class Seeded:
    source: ModelSource
    files: dict[str, str]
    """path -> sha256 of each file copied in."""
    verified: bool
    key: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_blob_id(path: Path) -> str:
    """The git object id the Hub lists for a file that is not in LFS."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _local_files(directory: Path, target: HubTarget) -> list[str]:
    patterns = hub.loading_patterns(
        target.subfolder, allow_pickle=target.allow_pickle, trust_remote_code=target.trust_remote_code
    )
    found = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    return [f for f in found if any(fnmatch.fnmatchcase(f, pattern) for pattern in patterns)]


def _verify(directory: Path, names: list[str], listed: list[hub.HubFile]) -> None:
    by_path = {f.path: f for f in listed}
    for name in names:
        entry = by_path.get(name)
        if entry is None:
            raise BadInputError(f"{name} is not part of that commit on the Hub")
        path = directory / name
        matches = file_sha256(path) == entry.sha256 if entry.sha256 else git_blob_id(path) == entry.blob_id
        if not matches:
            raise BadInputError(f"{name} differs from the Hub's file at that commit (hash mismatch)")
    missing = [f.path for f in hub.files_to_fetch_quiet(listed, names)]
    if missing:
        raise BadInputError(f"the directory lacks files loading needs: {', '.join(missing[:5])}")


async def seed_from_directory(
    directory: Path, target: HubTarget, access: hub.HubAccess, cache: ModelCache, *, offline: bool = False
) -> Seeded:
    """Copy `directory`'s loading files into `cache` as the snapshot of `target`'s commit (see the module)."""
    import asyncio

    names = _local_files(directory, target)
    if not any(n.endswith((".safetensors", ".bin", ".pt", ".pth")) for n in names):
        raise BadInputError(f"{directory} holds no weights to load")
    source: ModelSource | None = None
    verified = False
    if not offline:
        try:
            source, listed = await asyncio.to_thread(hub.resolve, target, access)
            await asyncio.to_thread(_verify, directory, names, hub.files_to_fetch(target, listed))
            verified = True
        except (ModelUnreachableError, URLNotAllowedError, OSError):
            source = None  # the Hub cannot be reached from here: record what we were given
    if source is None:
        source = pinned_hub_source(target, access.endpoint)
        if source is None:
            raise BadInputError("without the Hub, --revision must be a full 40-character commit sha")
    hashes = await asyncio.to_thread(lambda: {n: file_sha256(directory / n) for n in names})
    size = sum((directory / n).stat().st_size for n in names)

    async def copy(destination: Path) -> None:
        def run() -> None:
            for name in names:
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(directory / name, destination / name)

        await asyncio.to_thread(run)

    key = hub.snapshot_key(source)
    record: dict[str, Any] = {**source.model_dump(), "seeded": True, "verified": verified, "sha256": hashes}
    snapshot = await cache.fetch(key, size, copy, source=record)
    snapshot.release()
    return Seeded(source, hashes, verified, key)
