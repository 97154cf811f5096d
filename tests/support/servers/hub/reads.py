"""The Hub's read API for a repository: its info at a revision, its file tree, refs, commit history and
paths-info, in the JSON huggingface_hub parses (ModelInfo, DatasetInfo, RepoFile, RepoFolder, GitRefs,
GitCommitInfo). Listings are paginated with a `Link: <…>; rel="next"` header, as the Hub does."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
import struct
from typing import Any
from urllib.parse import parse_qs, urlencode

import yaml

from tests.support.servers.hub.discussions import hub_time
from tests.support.servers.hub.http import HubError, Request, Response, json_response
from tests.support.servers.hub.repo import Blob, Commit, HubRepo
from tests.support.servers.hub.state import HubState, commit_at

# huggingface_hub's own pattern for a card's YAML block (repocard.py).
_YAML_BLOCK = re.compile(r"^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))")
HUB_PAGE = 1000
HUB_EXPANDED_PAGE = 50
COMMITS_PAGE = 50


def card_metadata(text: str) -> dict[str, Any] | None:
    """A card's YAML front matter; None when it has none. Raises yaml.YAMLError or ValueError when malformed."""
    match = _YAML_BLOCK.search(text)
    if match is None:
        return None
    data = yaml.safe_load(match.group(2))
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("repo card metadata must be a YAML mapping")
    return data


def _json_file(commit: Commit, path: str) -> dict[str, Any]:
    blob = commit.files.get(path)
    try:
        data = json.loads(blob.content) if blob is not None and not blob.lfs else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _safetensors_parameters(commit: Commit) -> dict[str, Any] | None:
    """Parameter counts per dtype over the repository's safetensors files, as the Hub reports them."""
    counts: dict[str, int] = {}
    for path, blob in commit.files.items():
        if not path.endswith(".safetensors") or blob.size < 8:
            continue
        try:
            (length,) = struct.unpack("<Q", blob.content[:8])
            header = json.loads(blob.content[8 : 8 + length])
            tensors = [(t["dtype"], math.prod(t["shape"])) for k, t in header.items() if k != "__metadata__"]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not a safetensors file after all: the Hub reports nothing for it
        for dtype, n in tensors:
            counts[dtype] = counts.get(dtype, 0) + n
    return {"parameters": counts, "total": sum(counts.values())} if counts else None


def _sibling(path: str, blob: Blob, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": path}
    lfs = {"sha256": blob.sha256, "size": blob.size, "pointerSize": len(blob.pointer)} if blob.lfs else None
    return {"rfilename": path, "size": blob.size, "blobId": blob.oid, **({"lfs": lfs} if lfs else {})}


def repo_info(repo: HubRepo, commit: Commit, request: Request) -> Response:
    """GET /api/{models|datasets}/{repo_id}[/revision/{revision}] (`blobs`, `expand` honoured)."""
    readme = commit.files.get("README.md")
    try:
        card = card_metadata(readme.content.decode()) if readme is not None and not readme.lfs else None
    except (ValueError, yaml.YAMLError, UnicodeDecodeError):
        card = None
    paths = commit.files
    tags = [str(t) for t in (card or {}).get("tags") or []]
    info: dict[str, Any] = {
        "_id": hashlib.sha1(repo.repo_id.encode(), usedforsecurity=False).hexdigest()[:24],
        "id": repo.repo_id,
        "author": repo.owner or None,
        "sha": commit.oid,
        "lastModified": hub_time(commit.date),
        "createdAt": hub_time(repo.created_at),
        "private": repo.private,
        "gated": repo.gated,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "siblings": [_sibling(p, b, request.flag("blobs")) for p, b in paths.items()],
        "usedStorage": sum(b.size for b in paths.values()),
    }
    if card is not None:
        info["cardData"] = card
    if repo.repo_type == "model":
        config = _json_file(commit, "config.json")
        tokenizer = _json_file(commit, "tokenizer_config.json")
        keys = ("bos_token", "eos_token", "pad_token", "unk_token", "chat_template")
        if "config.json" in paths:
            tags += ["transformers"] + ([str(config["model_type"])] if "model_type" in config else [])
        if any(p.endswith(".safetensors") for p in paths):
            tags.append("safetensors")
        info.update(
            modelId=repo.repo_id,
            library_name=(card or {}).get("library_name") or ("transformers" if "config.json" in paths else None),
            pipeline_tag=(card or {}).get("pipeline_tag"),
            spaces=[],
        )
        if "config.json" in paths:
            info["config"] = {k: config[k] for k in ("architectures", "model_type") if k in config}
            if tokenizer:
                info["config"]["tokenizer_config"] = {k: tokenizer[k] for k in keys if k in tokenizer}
        if (safetensors := _safetensors_parameters(commit)) is not None:
            info["safetensors"] = safetensors
        if card is not None and "model-index" in card:
            info["model-index"] = card["model-index"]
    elif any(p.endswith(".parquet") for p in paths):
        tags.append("format:parquet")
    info["tags"] = [*dict.fromkeys(tags), "region:us"]
    if expand := request.query.get("expand") or request.query.get("expand[]"):
        info = {k: v for k, v in info.items() if k in ("_id", "id", *expand)}
    return json_response(info)


def _last_commit(repo: HubRepo, commit: Commit, path: str, folder: bool) -> dict[str, Any]:
    def version(c: Commit) -> str | None:
        return c.trees.get(path) if folder else (c.files[path].oid if path in c.files else None)

    for c in repo.history(commit.oid):
        if not c.parents or version(repo.commits[c.parents[0]]) != version(c):
            return {"id": c.oid, "title": c.title, "date": hub_time(c.date)}
    raise AssertionError("unreachable: the root commit always qualifies")


def _entry(repo: HubRepo, commit: Commit, path: str, expand: bool) -> dict[str, Any]:
    if path in commit.trees:
        entry: dict[str, Any] = {"type": "directory", "oid": commit.trees[path], "size": 0, "path": path}
    else:
        blob = commit.files[path]
        entry = {"type": "file", "oid": blob.oid, "size": blob.size, "path": path}
        if blob.lfs:
            entry["lfs"] = {"oid": blob.sha256, "size": blob.size, "pointerSize": len(blob.pointer)}
        if expand:
            pickle = path.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))
            entry["securityFileStatus"] = {
                "status": "safe",
                "avScan": {"virusFound": False, "virusNames": None},
                "pickleImportScan": {"highestSafetyLevel": "innocuous", "imports": []} if pickle else None,
            }
    if expand:
        entry["lastCommit"] = _last_commit(repo, commit, path, path in commit.trees)
    return entry


def paginated(request: Request, items: list[Any], page_size: int) -> Response:
    """One page of `items` from the request's `cursor`, with a Link header to the next page when there is one."""
    cursor = request.param("cursor")
    try:
        start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
    except ValueError as exc:
        raise HubError(400, "Invalid cursor") from exc
    headers = {}
    if start + page_size < len(items):
        query = [(k, v) for k, values in request.query.items() if k != "cursor" for v in values]
        query.append(("cursor", base64.urlsafe_b64encode(str(start + page_size).encode()).decode()))
        headers["link"] = f'<{request.base_url}{request.raw_path}?{urlencode(query)}>; rel="next"'
    return json_response(items[start : start + page_size], headers=headers)


def tree(state: HubState, repo: HubRepo, request: Request, revision: str, folder: str) -> Response:
    """GET /api/{type}s/{repo_id}/tree/{revision}[/{folder}] (`recursive`, `expand`, `cursor`)."""
    commit = commit_at(repo, revision)
    folder = folder.strip("/")
    if folder and folder not in commit.trees:
        raise HubError(404, f"{folder} does not exist on {revision}", "EntryNotFound", {"x-repo-commit": commit.oid})
    prefix = f"{folder}/" if folder else ""
    recursive, expand = request.flag("recursive"), request.flag("expand")
    paths = [p for p in [*commit.trees, *commit.files] if p and p.startswith(prefix)]
    if not recursive:
        paths = [p for p in paths if "/" not in p[len(prefix) :]]
    entries = [_entry(repo, commit, p, expand) for p in sorted(paths)]
    size = state.tree_page_size or (HUB_EXPANDED_PAGE if expand else HUB_PAGE)
    return paginated(request, entries, size)


def paths_info(repo: HubRepo, request: Request, revision: str) -> Response:
    """POST /api/{type}s/{repo_id}/paths-info/{revision} (form: `paths` repeated, `expand`); unknown paths are
    left out of the answer."""
    commit = commit_at(repo, revision)
    form = parse_qs(request.body.decode(), keep_blank_values=True)
    expand = (form.get("expand") or ["false"])[-1].lower() in ("1", "true")
    asked = [p.strip("/") for p in form.get("paths", [])]
    known = [p for p in asked if p in commit.files or p in commit.trees]
    return json_response([_entry(repo, commit, p, expand) for p in known])


def refs(repo: HubRepo, request: Request) -> Response:
    """GET /api/{type}s/{repo_id}/refs[?include_prs=1]."""

    def ref(name: str, full: str, oid: str) -> dict[str, str]:
        return {"name": name, "ref": full, "targetCommit": oid}

    data: dict[str, Any] = {
        "branches": [ref(n, f"refs/heads/{n}", o) for n, o in sorted(repo.branches.items())],
        "converts": [],
        "tags": [ref(n, f"refs/tags/{n}", o) for n, o in sorted(repo.tags.items())],
    }
    if request.flag("include_prs"):
        data["pullRequests"] = [ref(f"refs/pr/{n}", f"refs/pr/{n}", o) for n, o in sorted(repo.pull_refs.items())]
    return json_response(data)


def commits(repo: HubRepo, request: Request, revision: str) -> Response:
    """GET /api/{type}s/{repo_id}/commits/{revision}: first-parent history, newest first (`expand[]=formatted`)."""
    formatted = "formatted" in request.query.get("expand[]", [])
    items = []
    for c in repo.history(commit_at(repo, revision).oid):
        item: dict[str, Any] = {
            "id": c.oid,
            "title": c.title,
            "message": c.message,
            "authors": [{"user": c.author, "avatar": ""}],
            "date": hub_time(c.date),
        }
        if formatted:
            item["formatted"] = {"title": html.escape(c.title), "message": html.escape(c.message)}
        items.append(item)
    return paginated(request, items, COMMITS_PAGE)
