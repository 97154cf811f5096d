"""Confinement of user-given file paths (checkpoints, datasets) to allowed root directories."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath

from evaluators.errors import BadInputError, DatasetError, PathNotAllowedError

_SETTINGS = {"dataset": "UNLEARN_AUDIT_DATA_ROOTS", "checkpoint": "UNLEARN_AUDIT_MODEL_ROOTS"}


def _setting_for(what: str) -> str:
    return _SETTINGS.get(what, "UNLEARN_AUDIT_MODEL_ROOTS" if what in ("model", "baseline") else "the roots")


def resolve_inside(path: str, roots: Sequence[Path], what: str) -> Path:
    """The real path of `path` (symlinks resolved), which must lie inside one of `roots`.

    `what` is `dataset` or `checkpoint` (it names the setting in messages). A relative path is taken
    relative to each root in turn. Refused with PathNotAllowedError: no roots configured, a `..`
    component, or a real path outside every root (a symlink pointing out included). A path inside a
    root that does not exist raises DatasetError (datasets) or BadInputError (anything else). A path
    outside the roots is refused before its existence is checked, so nothing leaks about the host.
    """
    setting = _setting_for(what)
    if not roots:
        raise PathNotAllowedError(
            f"{what} path {path!r} refused: no allowed directories are configured; set {setting}"
        )
    if not path or "\x00" in path:
        raise BadInputError(f"{what} path {path!r} is empty or contains a NUL byte")
    if ".." in PurePath(path).parts:
        raise PathNotAllowedError(f"{what} path {path!r} refused: '..' components are not allowed")
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    given = Path(path).expanduser()
    candidates = [given] if given.is_absolute() else [root / given for root in real_roots]
    inside = [
        real
        for real in (Path(os.path.realpath(c)) for c in candidates)
        if any(real.is_relative_to(root) for root in real_roots)
    ]
    if not inside:
        listed = ", ".join(str(r) for r in roots)
        raise PathNotAllowedError(
            f"{what} path {path!r} refused: it resolves outside the allowed directories ({listed}); "
            f"symlinks are followed. Add its directory to {setting} to allow it."
        )
    for real in inside:
        if real.exists():
            return real
    error = DatasetError if what == "dataset" else BadInputError
    raise error(f"{what} path {path!r} does not exist (looked in {', '.join(str(r) for r in inside)})")
