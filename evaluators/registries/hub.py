"""Models on a Hugging Face Hub: a revision resolved to its commit, the files loading needs, the download.

Everything goes through `huggingface_hub` (so its requests pass the checked transport that `configure_hub`
installs): `HfApi.model_info` resolves a branch, tag or pull-request ref to the commit sha and lists the
commit's files with their sizes; `snapshot_download` fetches only the files loading needs, resuming what an
interrupted download left. The Hub's own errors become ours: an unknown repository or revision, a gated or
private repository the token may not read, a repository without weights the worker may load.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from schemas.errors import (
    ModelAccessDeniedError,
    ModelNotFoundError,
    ModelUnreachableError,
    NoWeightsError,
    RepoNotAllowedError,
    RevisionNotFoundError,
    UnsafeModelError,
    excerpt,
)
from schemas.sources import ModelSource
from schemas.targets import HubTarget

SAFE_WEIGHTS = ("*.safetensors", "*.safetensors.index.json")
PICKLE_WEIGHTS = ("*.bin", "*.bin.index.json", "*.pt", "*.pth")
LOADING_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "*.tiktoken",
    "chat_template.json",
    "chat_template.jinja",
    "adapter_config.json",
)
"""Besides the weights: what transformers (and PEFT, for adapters) read to load a model and its tokenizer."""


@dataclass(frozen=True)
class HubAccess:
    """Where the Hub is and the token that reads it (None: anonymous)."""

    endpoint: str
    token: str | None = None


@dataclass(frozen=True)
class HubFile:
    """A file of a commit as the Hub lists it: its git blob id, and the sha256 for LFS files."""

    path: str
    size: int
    blob_id: str | None = None
    sha256: str | None = None


def repo_allowed(repo: str, patterns: Sequence[str], setting: str = "UNLEARN_AUDIT_HUB_REPOS") -> None:
    """RepoNotAllowedError unless `repo` matches one of the operator's patterns (none: nothing may be fetched);
    `setting` names where the patterns come from (models' or datasets' list)."""
    if not any(fnmatch.fnmatchcase(repo, p) for p in patterns):
        shown = ", ".join(patterns) or "none"
        raise RepoNotAllowedError(
            f"Hub repository {excerpt(repo)} is not one the operator allows fetching ({setting}: {shown})",
            field="repo",
        )


def listed_files(siblings: Sequence[Any] | None, prefix: str = "") -> list[HubFile]:
    """A commit's files under `prefix` from huggingface_hub's `siblings` (listed with files_metadata)."""
    return [
        HubFile(s.rfilename, int(s.size or 0), s.blob_id, s.lfs.sha256 if s.lfs else None)
        for s in (siblings or [])
        if s.rfilename.startswith(prefix)
    ]


def loading_patterns(subfolder: str | None, *, allow_pickle: bool, trust_remote_code: bool) -> list[str]:
    """The files a download takes: weights (pickle only where allowed), config and tokenizer files, and the
    repository's Python only where remote code is allowed."""
    names = [*SAFE_WEIGHTS, *LOADING_FILES]
    if allow_pickle:
        names += PICKLE_WEIGHTS
    if trust_remote_code:
        names.append("*.py")
    prefix = f"{subfolder.strip('/')}/" if subfolder else ""
    return [prefix + n for n in names]


def _hub_error(exc: Exception, target: HubTarget, access: HubAccess) -> Exception:
    """The AuditError for a huggingface_hub error about `target`."""
    from huggingface_hub import errors

    repo = excerpt(target.repo)
    if isinstance(exc, errors.GatedRepoError):
        return ModelAccessDeniedError(
            f"Hub repository {repo} is gated: accept its conditions on {access.endpoint}/{target.repo} with the "
            "account whose token the request names (api_key_env), then submit again",
            field="repo",
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return RevisionNotFoundError(
            f"Hub repository {repo} has no revision {excerpt(target.revision)}", field="revision"
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        # The Hub answers the same for a private repository read without access: say both.
        return ModelNotFoundError(
            f"Hub repository {repo} does not exist, or is private and the token (api_key_env) may not read it",
            field="repo",
        )
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return ModelAccessDeniedError(f"the Hub refused access to {repo} (HTTP {status})", field="repo")
        return ModelUnreachableError(f"the Hub answered HTTP {status} for {repo}: {str(exc)[:200]}")
    return exc


def resolve(target: HubTarget, access: HubAccess) -> tuple[ModelSource, list[HubFile]]:
    """The commit `target.revision` names, and the files of that commit under its subfolder (sync: call it
    off the event loop). Raises ModelNotFoundError, RevisionNotFoundError or ModelAccessDeniedError."""
    from huggingface_hub import HfApi, errors

    api = HfApi(endpoint=access.endpoint, token=access.token or False)
    try:
        info = api.model_info(target.repo, revision=target.revision, files_metadata=True)
    except (errors.HfHubHTTPError, errors.RepositoryNotFoundError) as exc:
        raise _hub_error(exc, target, access) from exc
    except (OSError, httpx2.TransportError) as exc:
        raise ModelUnreachableError(f"the Hub at {access.endpoint} cannot be reached: {exc}") from exc
    if not info.sha:
        raise ModelNotFoundError(f"the Hub gave no commit for {excerpt(target.repo)}@{excerpt(target.revision)}")
    prefix = f"{target.subfolder.strip('/')}/" if target.subfolder else ""
    files = listed_files(info.siblings, prefix)
    if info.gated and files:
        # A gated repository's listing is public; whether this token may download shows on a file.
        _check_download_access(target, info.sha, files[0].path, access)
    source = ModelSource(
        registry="hf",
        endpoint=access.endpoint,
        requested=target.revision,
        repo=target.repo,
        revision=info.sha,
        subfolder=target.subfolder,
    )
    return source, files


def _check_download_access(target: HubTarget, sha: str, path: str, access: HubAccess) -> None:
    from huggingface_hub import errors, get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(target.repo, path, revision=sha, endpoint=access.endpoint)
    try:
        get_hf_file_metadata(url, token=access.token or False, endpoint=access.endpoint)
    except (errors.HfHubHTTPError, errors.RepositoryNotFoundError) as exc:
        raise _hub_error(exc, target, access) from exc
    except (OSError, httpx2.TransportError) as exc:
        raise ModelUnreachableError(f"the Hub at {access.endpoint} cannot be reached: {exc}") from exc


def files_to_fetch(target: HubTarget, files: Sequence[HubFile]) -> list[HubFile]:
    """The files a download of `target` takes; NoWeightsError or UnsafeModelError when they cannot load."""
    patterns = loading_patterns(
        target.subfolder, allow_pickle=target.allow_pickle, trust_remote_code=target.trust_remote_code
    )
    chosen = [f for f in files if any(fnmatch.fnmatchcase(f.path, p) for p in patterns)]
    weights = [f for f in chosen if f.path.endswith((".safetensors", ".bin", ".pt", ".pth"))]
    if not weights:
        pickled = [f.path for f in files if f.path.endswith((".bin", ".pt", ".pth"))]
        if pickled and not target.allow_pickle:
            raise UnsafeModelError(
                f"Hub repository {excerpt(target.repo)} has only pickle weights ({pickled[0]}); pickle can run "
                "code when loaded. Use a safetensors revision, or allow_pickle where the operator allows it",
                field="allow_pickle",
            )
        raise NoWeightsError(
            f"Hub repository {excerpt(target.repo)} at {excerpt(target.revision)} has no weights to load "
            "(*.safetensors)" + (f" under {excerpt(target.subfolder)}" if target.subfolder else ""),
            field="repo",
        )
    return chosen


def files_to_fetch_quiet(listed: Sequence[HubFile], present: Sequence[str]) -> list[HubFile]:
    """Of the files a download would take (`listed`), those not in `present`."""
    have = set(present)
    return [f for f in listed if f.path not in have]


def download(target: HubTarget, sha: str, access: HubAccess, destination: Path) -> None:
    """Fetch the loading files of `target` at commit `sha` into `destination` (sync; resumes a partial one)."""
    from huggingface_hub import errors, snapshot_download

    patterns = loading_patterns(
        target.subfolder, allow_pickle=target.allow_pickle, trust_remote_code=target.trust_remote_code
    )
    destination.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(
            target.repo,
            revision=sha,
            local_dir=destination,
            allow_patterns=patterns,
            endpoint=access.endpoint,
            token=access.token or False,
            max_workers=4,
        )
    except (errors.HfHubHTTPError, errors.RepositoryNotFoundError) as exc:
        raise _hub_error(exc, target, access) from exc
    except (OSError, httpx2.TransportError) as exc:
        raise ModelUnreachableError(f"downloading {excerpt(target.repo)}@{sha[:12]} failed: {exc}") from exc


def snapshot_key(source: ModelSource) -> str:
    """The cache key of a pinned Hub snapshot: readable, and unique per (endpoint, repo, sha, subfolder)."""
    import hashlib

    assert source.repo is not None and source.revision is not None
    where = hashlib.sha256(f"{source.endpoint}|{source.subfolder or ''}".encode()).hexdigest()[:8]
    return f"hf--{source.repo.replace('/', '--')}--{source.revision}--{where}"
