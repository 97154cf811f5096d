"""Datasets on a Hugging Face Hub: a config's split resolved to a commit and its parquet files, and the download.

Like models (`hub.py`), everything goes through `huggingface_hub`, so its requests pass the checked transport:
`HfApi.dataset_info` resolves the revision to the commit sha and lists the commit's files with sizes and LFS
sha256; the dataset card (README.md, read at that sha with `hf_hub_download`) or the conventional layouts say
which files hold the split (`hub_dataset_layout`); `hf_hub_download` fetches exactly those files. The Hub's
errors become ours: an unknown repository, revision, config or split is a DatasetError naming what exists; a
gated or private dataset the token may not read is DatasetAccessDeniedError saying how access is granted.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx2

from evaluators.registries.hub import HubAccess, HubFile, listed_files
from evaluators.registries.hub_dataset_layout import (
    ConfigLayout,
    card_configs,
    choose_config,
    conventional_configs,
    split_files,
)
from schemas.dataset_sources import DatasetFile, DatasetSource
from schemas.datasets import HubDataset
from schemas.errors import DatasetAccessDeniedError, DatasetError, UnavailableError, excerpt

HUB_DATASETS_SETTING = "UNLEARN_AUDIT_HUB_DATASETS"
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
CARD = "README.md"
MAX_CARD_BYTES = 1024 * 1024
"""A dataset card larger than this is not read (the configs list sits in its first lines)."""


def operator_pinned(ds: HubDataset, pins: Mapping[str, str]) -> HubDataset:
    """`ds` with revision `main` replaced by the operator's pin for `repo:config` or `repo` (if any)."""
    if ds.revision != "main":
        return ds
    sha = pins.get(f"{ds.repo}:{ds.config}") if ds.config else None
    sha = sha or pins.get(ds.repo)
    return ds.model_copy(update={"revision": sha}) if sha else ds


def _dataset_error(exc: Exception, ds: HubDataset, access: HubAccess) -> Exception:
    """The AuditError for a huggingface_hub error about dataset `ds`."""
    from huggingface_hub import errors

    repo = excerpt(ds.repo)
    if isinstance(exc, errors.GatedRepoError):
        return DatasetAccessDeniedError(
            f"Hub dataset {repo} is gated: accept its conditions on {access.endpoint}/datasets/{ds.repo} with the "
            "account whose token the dataset's `api_key_env` names (a variable the operator lists in "
            "UNLEARN_AUDIT_ENDPOINT_SECRETS), then submit again",
            field="repo",
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return DatasetError(f"Hub dataset {repo} has no revision {excerpt(ds.revision)}", field="revision")
    if isinstance(exc, errors.RepositoryNotFoundError):
        # The Hub answers the same for a private repository read without access: say both.
        return DatasetError(
            f"Hub dataset {repo} does not exist, or is private and the token (api_key_env) may not read it",
            field="repo",
        )
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return DatasetAccessDeniedError(f"the Hub refused access to dataset {repo} (HTTP {status})", field="repo")
        return UnavailableError(f"the Hub answered HTTP {status} for dataset {repo}: {str(exc)[:200]}")
    if isinstance(exc, OSError | httpx2.TransportError):
        return UnavailableError(f"the Hub at {access.endpoint} cannot be reached: {exc}")
    return exc


@dataclass(frozen=True)
class RepoListing:
    """A dataset repository at one commit: its files and the configs its card (or layout) gives."""

    sha: str
    files: dict[str, HubFile]
    configs: list[ConfigLayout]
    gated: bool


Listings = dict[tuple[str, str, str | None], RepoListing]
"""Listings already read, by (repo, revision, token): a suite names many configs of one repository."""


def list_dataset(ds: HubDataset, access: HubAccess) -> RepoListing:
    """The commit `ds.revision` names, its files and configs (sync: off the event loop)."""
    from huggingface_hub import HfApi, errors

    api = HfApi(endpoint=access.endpoint, token=access.token or False)
    try:
        info = api.dataset_info(ds.repo, revision=ds.revision, files_metadata=True)
    except (errors.HfHubHTTPError, errors.RepositoryNotFoundError, OSError, httpx2.TransportError) as exc:
        raise _dataset_error(exc, ds, access) from exc
    if not info.sha or not COMMIT_SHA.match(info.sha):
        raise DatasetError(f"the Hub gave no commit for {excerpt(ds.repo)}@{excerpt(ds.revision)}", field="revision")
    files = {f.path: f for f in listed_files(info.siblings)}
    card = files.get(CARD)
    configs = []
    if card is not None and card.size <= MAX_CARD_BYTES:
        configs = card_configs(_read_card(ds, info.sha, access))
    return RepoListing(info.sha, files, configs or conventional_configs(list(files)), bool(info.gated))


def resolve(ds: HubDataset, access: HubAccess, listings: Listings | None = None) -> DatasetSource:
    """The commit `ds.revision` names and the parquet files of the config's split there (sync: off the event
    loop; `listings` reuses what an earlier call read). Raises DatasetError (unknown repository, revision,
    config or split) or DatasetAccessDeniedError."""
    key = (ds.repo, ds.revision, access.token)
    listing = listings.get(key) if listings is not None else None
    if listing is None:
        listing = list_dataset(ds, access)
        if listings is not None:
            listings[key] = listing
    config = choose_config(listing.configs, ds.config, ds.repo)
    paths = split_files(config, ds.split, list(listing.files), ds.repo)
    if listing.gated:  # the Hub serves a gated dataset's card to all: whether this token may read shows on a file
        _check_download_access(ds, listing.sha, paths[0], access)
    return DatasetSource(
        endpoint=access.endpoint,
        repo=ds.repo,
        config=config.name,
        split=ds.split,
        requested=ds.revision,
        revision=listing.sha,
        files=[_file(listing.files[p]) for p in paths],
    )


def _file(f: HubFile) -> DatasetFile:
    return DatasetFile(path=f.path, size=f.size, sha256=f.sha256, blob_id=f.blob_id)


def _read_card(ds: HubDataset, sha: str, access: HubAccess) -> str:
    from huggingface_hub import errors, hf_hub_download

    with tempfile.TemporaryDirectory(prefix="unlearn-audit-card-") as tmp:
        try:
            path = hf_hub_download(
                ds.repo,
                CARD,
                repo_type="dataset",
                revision=sha,
                local_dir=tmp,
                endpoint=access.endpoint,
                token=access.token or False,
            )
        except (errors.HfHubHTTPError, errors.RepositoryNotFoundError, OSError, httpx2.TransportError) as exc:
            raise _dataset_error(exc, ds, access) from exc
        return Path(path).read_text(encoding="utf-8", errors="replace")


def _check_download_access(ds: HubDataset, sha: str, path: str, access: HubAccess) -> None:
    from huggingface_hub import errors, get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(ds.repo, path, repo_type="dataset", revision=sha, endpoint=access.endpoint)
    try:
        get_hf_file_metadata(url, token=access.token or False, endpoint=access.endpoint)
    except (errors.HfHubHTTPError, errors.RepositoryNotFoundError, OSError, httpx2.TransportError) as exc:
        raise _dataset_error(exc, ds, access) from exc


def download(source: DatasetSource, access: HubAccess, destination: Path) -> None:
    """Fetch the split's parquet files of `source` (its pinned commit) into `destination` (sync; an
    interrupted download resumes)."""
    from huggingface_hub import errors, hf_hub_download

    ds = HubDataset(repo=source.repo, config=source.config, split=source.split, revision=source.revision)
    destination.mkdir(parents=True, exist_ok=True)
    for f in source.files:
        try:
            hf_hub_download(
                source.repo,
                f.path,
                repo_type="dataset",
                revision=source.revision,
                local_dir=destination,
                endpoint=access.endpoint,
                token=access.token or False,
            )
        except (errors.HfHubHTTPError, errors.RepositoryNotFoundError, OSError, httpx2.TransportError) as exc:
            raise _dataset_error(exc, ds, access) from exc


def file_sha256s(source: DatasetSource, directory: Path) -> dict[str, str]:
    """The sha256 of each downloaded file, by path; DatasetError when one differs from the Hub's LFS sha256."""
    found: dict[str, str] = {}
    for f in source.files:
        digest = hashlib.sha256()
        with (directory / f.path).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        found[f.path] = digest.hexdigest()
        if f.sha256 is not None and found[f.path] != f.sha256:
            raise DatasetError(
                f"Hub dataset {excerpt(source.repo)}@{source.revision[:12]}: {f.path} has sha256 "
                f"{found[f.path][:16]}…, not the {f.sha256[:16]}… the Hub lists"
            )
    return found


def snapshot_key(source: DatasetSource) -> str:
    """The cache key of a split's files at a commit: readable, unique per (endpoint, repo, sha, config, split)."""
    where = hashlib.sha256(f"{source.endpoint}|{source.config}|{source.split}".encode()).hexdigest()[:8]
    return f"hfds--{source.repo.replace('/', '--')}--{source.revision}--{where}"
