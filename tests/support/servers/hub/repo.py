"""A repository on the fake Hub: commits of files, branches, tags, pull-request refs, discussions and who may
read or write it. Built from files (`HubRepo.from_directory`, `HubRepo.from_files`); later commits, tags and pull
requests are added with its methods, the same ones the server's write endpoints use.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from tests.support.servers.hub.discussions import Discussion, Status
from tests.support.servers.hub.git import blob_oid, commit_oid, lfs_pointer, tree_oids

# The patterns of the .gitattributes the Hub writes into a new repository (all stored with Git LFS).
DEFAULT_LFS_PATTERNS = tuple(
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy *.npz *.onnx"
    " *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors *.tar.* *.tar *.tflite *.tgz *.wasm *.xz *.zip"
    " *.zst *tfevents*".split()
)
HUB_LFS_THRESHOLD = 10 * 1024 * 1024
"""The Hub stores any file above 10 MiB with LFS, whatever its name."""
EPOCH = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
FULL_SHA = re.compile(r"[0-9a-f]{40}")
PR_REF = re.compile(r"refs/pr/([1-9][0-9]*)")
RepoType = Literal["model", "dataset"]
Gated = Literal["auto", "manual", False]


@dataclass(frozen=True)
class Blob:
    """A file's content and whether the repository stores it with Git LFS."""

    content: bytes
    lfs: bool

    @property
    def size(self) -> int:
        return len(self.content)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @cached_property
    def pointer(self) -> bytes:
        return lfs_pointer(self.content)

    @cached_property
    def oid(self) -> str:
        """The git blob id: of the LFS pointer for an LFS file, as on the Hub."""
        return blob_oid(self.pointer if self.lfs else self.content)


@dataclass(frozen=True)
class Commit:
    oid: str
    parents: tuple[str, ...]
    files: Mapping[str, Blob]
    trees: Mapping[str, str]
    """{folder path ('' for the root): tree oid}."""
    title: str
    message: str
    author: str
    date: datetime


class HubRepo:
    """One model or dataset repository. `readers` may read it when it is private and download from it when it is
    gated; `writers` (and the user named by the namespace) may also commit to its branches. Names are users."""

    def __init__(
        self,
        repo_id: str,
        *,
        repo_type: RepoType = "model",
        private: bool = False,
        gated: Gated = False,
        readers: Iterable[str] = (),
        writers: Iterable[str] = (),
        lfs_patterns: Iterable[str] = DEFAULT_LFS_PATTERNS,
        lfs_threshold: int = HUB_LFS_THRESHOLD,
    ) -> None:
        self.repo_id = repo_id
        self.repo_type: RepoType = repo_type
        self.private = private
        self.gated: Gated = gated
        self.readers = set(readers)
        self.writers = set(writers)
        self.lfs_patterns = tuple(lfs_patterns)
        self.lfs_threshold = lfs_threshold
        self.created_at = EPOCH
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.pull_refs: dict[int, str] = {}
        self.discussions: dict[int, Discussion] = {}
        self._ticks = 0

    def __repr__(self) -> str:
        return f"HubRepo({self.repo_id!r}, repo_type={self.repo_type!r})"

    @classmethod
    def from_files(
        cls, repo_id: str, files: Mapping[str, bytes | str], *, message: str = "Initial commit", **options: Any
    ) -> HubRepo:
        """A repository whose `main` has one commit holding `files` ({path in repo: content})."""
        repo = cls(repo_id, **options)
        repo.commit(files, message=message)
        return repo

    @classmethod
    def from_directory(cls, path: Path, repo_id: str, *, message: str = "Initial commit", **options: Any) -> HubRepo:
        """A repository whose `main` has one commit holding every file under `path` (a saved checkpoint, a
        dataset folder); `.git` is left out."""
        files = {
            p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(path).parts
        }
        return cls.from_files(repo_id, files, message=message, **options)

    # Access

    @property
    def owner(self) -> str:
        return self.repo_id.split("/")[0] if "/" in self.repo_id else ""

    def can_write(self, user: str | None) -> bool:
        return user is not None and (user in self.writers or user == self.owner)

    def can_see(self, user: str | None) -> bool:
        """Whether the repository exists for `user` (a private one is invisible to others)."""
        return not self.private or (user is not None and (user in self.readers or self.can_write(user)))

    def can_download(self, user: str | None) -> bool:
        """Whether `user` may read file contents (a gated repository needs granted access)."""
        return self.can_see(user) and (not self.gated or self.can_write(user) or user in self.readers)

    # Revisions

    def resolve(self, revision: str) -> str | None:
        """The commit `revision` names: a branch, a tag, `refs/heads/…`, `refs/tags/…`, `refs/pr/N` or a full
        commit sha; None when it names none."""
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if revision.startswith(prefix) and revision[len(prefix) :] in refs:
                return refs[revision[len(prefix) :]]
        if match := PR_REF.fullmatch(revision):
            return self.pull_refs.get(int(match[1]))
        return revision if FULL_SHA.fullmatch(revision) and revision in self.commits else None

    def head(self, revision: str = "main") -> Commit:
        oid = self.resolve(revision)
        if oid is None:
            raise KeyError(f"{self.repo_id} has no revision {revision!r}")
        return self.commits[oid]

    def read(self, path: str, revision: str = "main") -> bytes:
        """A file's content at `revision` (KeyError when absent)."""
        return self.head(revision).files[path].content

    def history(self, oid: str) -> list[Commit]:
        """`oid` and its first-parent ancestors, newest first."""
        out = [self.commits[oid]]
        while out[-1].parents:
            out.append(self.commits[out[-1].parents[0]])
        return out

    def now(self) -> datetime:
        """The repository's clock: one minute later at each call, so that shas and dates are deterministic."""
        self._ticks += 1
        return self.created_at + timedelta(minutes=self._ticks)

    # Writes

    def is_lfs(self, path: str, size: int) -> bool:
        name = path.rsplit("/", 1)[-1]
        return size > self.lfs_threshold or any(fnmatch.fnmatchcase(name, p) for p in self.lfs_patterns)

    def blob(self, path: str, content: bytes | str) -> Blob:
        data = content.encode() if isinstance(content, str) else content
        return Blob(data, self.is_lfs(path, len(data)))

    def lfs_object(self, sha256: str) -> Blob | None:
        """An LFS file's content by its sha256, from any commit (what the CDN serves)."""
        for commit in list(self.commits.values()):  # the CDN's thread reads while the Hub's may commit
            for blob in commit.files.values():
                if blob.lfs and blob.sha256 == sha256:
                    return blob
        return None

    def write_commit(
        self, files: Mapping[str, Blob], *, parents: tuple[str, ...], title: str, message: str, author: str
    ) -> Commit:
        """Store a commit of exactly `files`; no ref moves."""
        trees = tree_oids({path: blob.oid for path, blob in files.items()})
        date = self.now()
        oid = commit_oid(trees[""], parents, author, date, f"{title}\n\n{message}" if message else title)
        commit = Commit(oid, parents, dict(sorted(files.items())), trees, title, message, author, date)
        self.commits[oid] = commit
        return commit

    def commit(
        self,
        changes: Mapping[str, bytes | str | None],
        *,
        message: str = "Update files",
        description: str = "",
        revision: str = "main",
        author: str | None = None,
    ) -> str:
        """Commit `changes` ({path: new content, or None to delete}) on a branch or `refs/pr/N`; the new sha.
        A pull request's ref gains a commit event. The first commit of an empty repository creates the branch."""
        pr = PR_REF.fullmatch(revision)
        branch = revision.removeprefix("refs/heads/")
        if pr is not None:
            parent: str | None = self.pull_refs[int(pr[1])]
        elif branch in self.branches or not self.branches:
            parent = self.branches.get(branch)
        else:
            raise KeyError(f"{self.repo_id} has no branch {revision!r}")
        files = dict(self.commits[parent].files) if parent else {}
        for path, content in changes.items():
            if content is None:
                files.pop(path)
            else:
                files[path] = self.blob(path, content)
        who = author or self.owner or "hub"
        commit = self.write_commit(
            files, parents=(parent,) if parent else (), title=message, message=description, author=who
        )
        if pr is not None:
            self.pull_refs[int(pr[1])] = commit.oid
            self.discussions[int(pr[1])].add_commit(commit.oid, message, who, self.now())
        else:
            self.branches[branch] = commit.oid
        return commit.oid

    def create_branch(self, name: str, revision: str = "main") -> str:
        self.branches[name] = self.head(revision).oid
        return self.branches[name]

    def create_tag(self, name: str, revision: str = "main") -> str:
        self.tags[name] = self.head(revision).oid
        return self.tags[name]

    def open_discussion(
        self, title: str, *, author: str, description: str = "", pull_request: bool = False, base: str = "main"
    ) -> Discussion:
        """A new discussion, or a pull request (draft, its ref on `base`'s head) numbered after the last one."""
        num = max(self.discussions, default=0) + 1
        status: Status = "draft" if pull_request else "open"
        discussion = Discussion(num, title, author, self.now(), pull_request, status)
        if pull_request:
            discussion.base_ref = f"refs/heads/{base}"
            discussion.base_oid = self.pull_refs[num] = self.head(base).oid
        self.discussions[num] = discussion
        discussion.add_comment(description, author, self.now())
        return discussion

    def open_pull_request(
        self,
        changes: Mapping[str, bytes | str | None],
        *,
        title: str,
        author: str,
        description: str = "",
        base: str = "main",
    ) -> Discussion:
        """A pull request with one commit of `changes` on `base` (open, as the Hub leaves one made by a commit)."""
        pr = self.open_discussion(title, author=author, description=description, pull_request=True, base=base)
        pr.status = "open"
        self.commit(changes, message=title, revision=f"refs/pr/{pr.num}", author=author)
        return pr

    def diff(self, old: str, new: str) -> str:
        """A git-style unified diff between two commits (binary and LFS files reported, not shown)."""
        before, after = self.commits[old].files, self.commits[new].files
        parts: list[str] = []
        for path in sorted(set(before) | set(after)):
            a, b = before.get(path), after.get(path)
            if a is not None and b is not None and a.oid == b.oid:
                continue
            parts.append(f"diff --git a/{path} b/{path}\n")
            texts = [_text(x) for x in (a, b)]
            if (a is not None and texts[0] is None) or (b is not None and texts[1] is None):
                parts.append(f"Binary files a/{path} and b/{path} differ\n")
                continue
            lines = difflib.unified_diff(
                (texts[0] or "").splitlines(keepends=True),
                (texts[1] or "").splitlines(keepends=True),
                f"a/{path}" if a else "/dev/null",
                f"b/{path}" if b else "/dev/null",
            )
            parts.extend(line if line.endswith("\n") else line + "\n" for line in lines)
        return "".join(parts)


def _text(blob: Blob | None) -> str | None:
    if blob is None or blob.lfs:
        return None
    try:
        return blob.content.decode()
    except UnicodeDecodeError:
        return None
