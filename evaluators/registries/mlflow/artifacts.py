"""Files under a proxied artifact location: listed recursively, downloaded by streaming to disk.

    GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>     {"files": [{"path": <name>, "is_dir", "file_size"}]}
    GET /api/2.0/mlflow-artifacts/artifacts/<path>         the file's bytes

(`mlflow/server/handlers.py`: `_list_artifacts_mlflow_artifacts`, `_download_artifact`.) A listing names each
entry by its base name; a path that does not exist lists as `{}`. Names are checked before they become local
paths, and the walk is bounded, so a hostile server cannot write outside the destination or list forever.
A download lands in `<name>.part` and is renamed when its size matches the listing; a file already there at
the listed size is kept, so an interrupted download resumes where it stopped (file by file).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from evaluators.models.http_retry import RetryableError, with_retries
from evaluators.registries.hub import LOADING_FILES, PICKLE_WEIGHTS, SAFE_WEIGHTS
from evaluators.registries.mlflow.rest import MLflowREST, raise_for_status
from evaluators.registries.mlflow.stores import ARTIFACTS_ROUTE, ProxiedArtifacts
from schemas.errors import ModelNotFoundError, ModelProtocolError, NoWeightsError, excerpt

MAX_FILES = 10_000
MAX_DEPTH = 32
CHUNK_BYTES = 1 << 20
MLMODEL = "MLmodel"

FileFilter = Callable[[str], bool]
"""Whether to take a file, given its '/'-separated path relative to the listed location."""


@dataclass(frozen=True)
class ArtifactFile:
    """A file under a listed location: `path` relative to it ('/'-separated), `size` in bytes when known."""

    path: str
    size: int | None


def checkpoint_files(*, allow_pickle: bool = False, trust_remote_code: bool = False) -> FileFilter:
    """A filter taking what loading a transformers checkpoint needs, in any folder: weights (pickle only when
    allowed), config and tokenizer files, Python only when remote code is allowed, and the MLmodel file at the
    top (it says where the flavor put the model and tokenizer)."""
    patterns = [*SAFE_WEIGHTS, *LOADING_FILES]
    if allow_pickle:
        patterns += PICKLE_WEIGHTS
    if trust_remote_code:
        patterns.append("*.py")

    def want(path: str) -> bool:
        name = posixpath.basename(path)
        return path == MLMODEL or any(fnmatch.fnmatchcase(name, p) for p in patterns)

    return want


def _entry(raw: Any, server: str) -> tuple[str, bool, int | None]:
    """(name, is_dir, size) of one listing entry; ModelProtocolError for a name that is not a plain name."""
    if not isinstance(raw, dict):
        raise ModelProtocolError(f"MLflow at {server} listed an entry that is not an object: {excerpt(raw)}")
    name = raw.get("path")
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or any(c in name for c in ("/", "\\", "\x00"))
        or len(name.encode()) > 255
    ):
        raise ModelProtocolError(f"MLflow at {server} listed an artifact named {excerpt(name)}, not a plain file name")
    size = raw.get("file_size")
    try:
        return name, bool(raw.get("is_dir")), int(size) if size is not None else None
    except (TypeError, ValueError) as exc:
        raise ModelProtocolError(f"MLflow at {server} listed {excerpt(name)} with size {excerpt(size)}") from exc


async def _list_dir(rest: MLflowREST, location: ProxiedArtifacts, what: str) -> list[tuple[str, bool, int | None]]:
    data = await rest.call(
        "GET", ARTIFACTS_ROUTE, f"the artifacts of {what}", params={"path": location.path}, base_url=location.base_url
    )
    files = data.get("files") or []
    if not isinstance(files, list):
        raise ModelProtocolError(f"MLflow at {rest.server} answered a listing without a list: {excerpt(data)}")
    return [_entry(raw, rest.server) for raw in files]


async def list_files(
    rest: MLflowREST, location: ProxiedArtifacts, what: str, want: FileFilter | None = None
) -> list[ArtifactFile]:
    """Every file under `location` that `want` takes (all when None), sorted by path. Raises ModelNotFoundError
    when nothing is there, NoWeightsError when `location` is a single file, ModelProtocolError for a listing
    past MAX_FILES entries or MAX_DEPTH folders."""
    found: list[ArtifactFile] = []
    pending = [("", 0)]
    seen = 0
    while pending:
        folder, depth = pending.pop()
        entries = await _list_dir(rest, location.child(folder), what)
        if not folder:
            if not entries:
                raise ModelNotFoundError(f"MLflow at {rest.server} has no artifacts at {location.uri} ({what})")
            # MLflow's own client: a listing of a file answers that one file under its own name.
            if len(entries) == 1 and not entries[0][1] and entries[0][0] == posixpath.basename(location.path):
                raise NoWeightsError(
                    f"{location.uri} ({what}) is a single file, not a checkpoint directory", field="model_uri"
                )
        seen += len(entries)
        if seen > MAX_FILES:
            raise ModelProtocolError(f"the artifacts of {what} hold more than {MAX_FILES} entries")
        for name, is_dir, size in entries:
            path = f"{folder}/{name}" if folder else name
            if is_dir:
                if depth + 1 > MAX_DEPTH:
                    raise ModelProtocolError(f"the artifacts of {what} nest deeper than {MAX_DEPTH} folders")
                pending.append((path, depth + 1))
            elif want is None or want(path):
                found.append(ArtifactFile(path, size))
    return sorted(found, key=lambda f: f.path)


async def _write(response: httpx.Response, part: Path) -> int:
    out = await asyncio.to_thread(part.open, "wb")
    written = 0
    try:
        async for chunk in response.aiter_bytes(CHUNK_BYTES):
            await asyncio.to_thread(out.write, chunk)
            written += len(chunk)
    finally:
        await asyncio.to_thread(out.close)
    return written


async def _download(rest: MLflowREST, url: str, target: Path, expected: int | None, what: str) -> int:
    part = target.with_name(target.name + ".part")

    async def attempt() -> int:
        try:
            async with rest.client.stream("GET", url, headers=rest.headers_for(url)) as response:
                if not 200 <= response.status_code < 300:
                    body = (await response.aread()).decode(errors="replace")
                    raise_for_status(response, body, rest.server, what, "model_uri")
                written = await _write(response, part)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"{what}: connection failed: {exc!r}") from exc
        if expected is not None and written != expected:
            raise RetryableError(f"{what}: got {written} bytes, the listing said {expected}")
        os.replace(part, target)
        return written

    return await with_retries(attempt, rest.download_retry, f"MLflow at {rest.server}: {what}")


def _prepare(destination: Path, files: list[ArtifactFile]) -> list[tuple[ArtifactFile, Path]]:
    """The files still to download and where each goes (their folders made); a file already there at its
    listed size is left alone."""
    destination.mkdir(parents=True, exist_ok=True)
    todo = []
    for file in files:
        target = destination.joinpath(*file.path.split("/"))
        if file.size is not None and target.is_file() and target.stat().st_size == file.size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        todo.append((file, target))
    return todo


async def download_files(
    rest: MLflowREST,
    location: ProxiedArtifacts,
    files: list[ArtifactFile],
    destination: Path,
    what: str,
    *,
    concurrency: int = 4,
) -> int:
    """Download `files` (from `list_files` of `location`) into `destination`, keeping their relative paths;
    the bytes written. Files already there at their listed size are kept."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(file: ArtifactFile, target: Path) -> int:
        async with gate:
            url = location.child(file.path).file_url
            return await _download(rest, url, target, file.size, f"artifact {file.path} of {what}")

    todo = await asyncio.to_thread(_prepare, destination, files)
    tasks = [asyncio.ensure_future(one(f, target)) for f, target in todo]
    try:
        return sum(await asyncio.gather(*tasks))
    except BaseException:
        # One file failed (or we were cancelled): stop the others rather than leave them writing.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
