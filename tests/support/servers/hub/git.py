"""Object ids computed the way git computes them (blobs, trees, commits) and Git LFS pointer files.

A repository served by the fake Hub is a real git history in miniature: `git hash-object` on a served file gives
the `oid` the tree listing shows, and commit ids are sha1s of real commit objects (deterministic timestamps).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

FILE_MODE = "100644"
TREE_MODE = "40000"


def _object_id(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).hexdigest()


def blob_oid(content: bytes) -> str:
    """`git hash-object` of `content`."""
    return _object_id("blob", content)


def lfs_pointer(content: bytes) -> bytes:
    """The Git LFS pointer file git stores in place of `content`."""
    sha256 = hashlib.sha256(content).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(content)}\n".encode()


def tree_oids(files: Mapping[str, str]) -> dict[str, str]:
    """{folder path ('' for the root): tree oid} for a flat {file path: blob oid} mapping."""
    out: dict[str, str] = {}
    _tree(dict(files), "", out)
    return out


def _tree(files: dict[str, str], prefix: str, out: dict[str, str]) -> str:
    entries: dict[str, tuple[str, str]] = {}
    folders: dict[str, dict[str, str]] = {}
    for path, oid in files.items():
        head, sep, rest = path.partition("/")
        if sep:
            folders.setdefault(head, {})[rest] = oid
        else:
            entries[head] = (FILE_MODE, oid)
    for name, inner in folders.items():
        entries[name] = (TREE_MODE, _tree(inner, f"{prefix}{name}/", out))

    def order(name: str) -> bytes:  # git compares a tree's name as if it ended with '/'
        return (name + "/" if entries[name][0] == TREE_MODE else name).encode()

    body = b"".join(
        f"{entries[name][0]} {name}".encode() + b"\0" + bytes.fromhex(entries[name][1])
        for name in sorted(entries, key=order)
    )
    oid = _object_id("tree", body)
    out[prefix.rstrip("/")] = oid
    return oid


def commit_oid(tree: str, parents: Sequence[str], author: str, date: datetime, message: str) -> str:
    """The id of the commit object git would write for these fields (author and committer the same)."""
    identity = f"{author} <{author}@users.noreply.huggingface.co> {int(date.timestamp())} +0000"
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents), f"author {identity}", f"committer {identity}", ""]
    return _object_id("commit", ("\n".join(lines) + "\n" + message.rstrip("\n") + "\n").encode())
