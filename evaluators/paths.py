"""Confinement of user-given file paths (checkpoints, datasets) to allowed root directories."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath

from schemas.errors import BadInputError, DatasetError, PathNotAllowedError, excerpt

NAME_MAX_BYTES = 255
"""The longest file name component Linux file systems take."""

_SETTINGS = {"dataset": "UNLEARN_AUDIT_DATA_ROOTS", "checkpoint": "UNLEARN_AUDIT_MODEL_ROOTS"}


def _setting_for(what: str) -> str:
    return _SETTINGS.get(what, "UNLEARN_AUDIT_MODEL_ROOTS" if what in ("model", "baseline") else "the roots")


def resolve_inside(path: str, roots: Sequence[Path], what: str) -> Path:
    """The real path of `path` (symlinks resolved), which must lie inside one of `roots`.

    `what` is `dataset` or `checkpoint` (it names the setting in messages). A relative path is taken
    relative to each root in turn; `~` is an ordinary character (never a home directory). Refused with
    PathNotAllowedError: no roots configured, a `..` component, or a real path outside every root (a
    symlink pointing out included). A NUL byte or a component longer than 255 bytes is BadInputError. A
    path inside a root that does not exist raises DatasetError (datasets) or BadInputError (anything
    else). A path outside the roots is refused before its existence is checked, so nothing leaks about
    the host. Messages quote the path cut to a short excerpt.
    """
    setting = _setting_for(what)
    shown = excerpt(path)
    if not roots:
        raise PathNotAllowedError(f"{what} path {shown} refused: no allowed directories are configured; set {setting}")
    if not path or "\x00" in path:
        raise BadInputError(f"{what} path {shown} is empty or contains a NUL byte")
    parts = PurePath(path).parts
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES for part in parts):
        raise BadInputError(f"{what} path {shown} has a component longer than {NAME_MAX_BYTES} bytes")
    if ".." in parts:
        raise PathNotAllowedError(f"{what} path {shown} refused: '..' components are not allowed")
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    given = Path(path)
    candidates = [given] if given.is_absolute() else [root / given for root in real_roots]
    try:
        inside = [
            real
            for real in (Path(os.path.realpath(c)) for c in candidates)
            if any(real.is_relative_to(root) for root in real_roots)
        ]
    except (OSError, ValueError) as exc:  # a link loop, a name the file system cannot hold
        raise BadInputError(f"{what} path {shown} cannot be resolved: {type(exc).__name__}") from exc
    if not inside:
        listed = ", ".join(str(r) for r in roots)
        raise PathNotAllowedError(
            f"{what} path {shown} refused: it resolves outside the allowed directories ({listed}); "
            f"symlinks are followed. Add its directory to {setting} to allow it."
        )
    for real in inside:
        try:
            if real.exists():
                return real
        except OSError as exc:
            raise BadInputError(f"{what} path {shown} cannot be read: {type(exc).__name__}") from exc
    error = DatasetError if what == "dataset" else BadInputError
    raise error(f"{what} path {shown} does not exist (looked in {', '.join(str(r) for r in inside)})")
