"""Checkpoint directories: what may be loaded (safetensors, remote code) and the weights' fingerprint.

The fingerprint is the sha256 over the weight files themselves (sorted by name; each name then its bytes),
so two checkpoints that share a config never share a fingerprint. It is cached by (path, size, mtime) of
every weight file, so an overwritten checkpoint is rehashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from schemas.errors import BadInputError, UnsafeModelError

SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def weight_files(path: Path, *, allow_pickle: bool) -> list[Path]:
    """The weight files to load and hash; refuses pickle files unless allowed."""
    if not path.is_dir():
        raise BadInputError(f"checkpoint directory {path} does not exist", field="target.path")
    files = sorted(p for p in path.iterdir() if p.is_file())
    safe = [p for p in files if p.suffix in SAFE_SUFFIXES]
    pickled = [p for p in files if p.suffix in PICKLE_SUFFIXES and not p.name.startswith("training_args")]
    if safe:
        return safe
    if pickled and not allow_pickle:
        raise UnsafeModelError(
            f"checkpoint {path} has only pickle weights ({pickled[0].name}); pickle files can run code when "
            "loaded. Convert it to safetensors or set allow_pickle: true",
            field="target.allow_pickle",
        )
    if not pickled:
        raise BadInputError(f"checkpoint {path} has no weight files (*.safetensors)", field="target.path")
    return pickled


def check_remote_code(path: Path, *, trust_remote_code: bool) -> None:
    """Refuse a checkpoint whose config or tokenizer needs its own Python code unless allowed."""
    if trust_remote_code:
        return
    for name in ("config.json", "tokenizer_config.json"):
        file = path / name
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise BadInputError(f"{file} is not valid JSON: {exc}", field="target.path") from exc
        if isinstance(data, dict) and data.get("auto_map"):
            code = sorted(path.glob("*.py"))
            named = f" ({', '.join(p.name for p in code)})" if code else ""
            raise UnsafeModelError(
                f"checkpoint {path} needs its own Python code{named} via auto_map in {name}; it would run "
                "with the worker's rights. Set trust_remote_code: true to allow it",
                field="target.trust_remote_code",
            )


MAX_CHECKPOINT_FILES = 10_000
"""More files than any checkpoint has: inspection stops there rather than walk an arbitrary tree."""


def inspect_checkpoint(path: Path, roots: Sequence[Path], *, allow_pickle: bool, trust_remote_code: bool) -> list[Path]:
    """Check that a checkpoint directory is safe to load as asked, without importing torch: weight files
    present in an allowed format, no `auto_map` code unless remote code is allowed, and every file inside
    the allowed roots after resolving links (a weight file linked out of the root is refused). Returns the
    weight files. Raises UnsafeModelError or BadInputError naming the problem."""
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    for count, entry in enumerate(path.rglob("*")):
        if count >= MAX_CHECKPOINT_FILES:
            raise BadInputError(f"checkpoint {path.name} holds more than {MAX_CHECKPOINT_FILES} files", field="path")
        real = Path(os.path.realpath(entry))
        if not any(real.is_relative_to(root) for root in real_roots):
            raise UnsafeModelError(
                f"checkpoint file {entry.relative_to(path)} links outside the allowed model directories",
                field="path",
            )
    files = weight_files(path, allow_pickle=allow_pickle)
    check_remote_code(path, trust_remote_code=trust_remote_code)
    return files


class FingerprintCache:
    """sha256 of weight files, memoised by (path, size, mtime_ns) of each file. Thread-safe."""

    def __init__(self) -> None:
        self._cache: dict[tuple[tuple[str, int, int], ...], str] = {}
        self._lock = threading.Lock()

    def fingerprint(self, files: list[Path]) -> str:
        """Hex sha256 over the sorted files' names and bytes."""
        ordered = sorted(files, key=lambda p: p.name)
        key = tuple((str(p.resolve()), (st := p.stat()).st_size, st.st_mtime_ns) for p in ordered)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        digest = hashlib.sha256()
        for file in ordered:
            digest.update(file.name.encode() + b"\0")
            with file.open("rb") as handle:
                while chunk := handle.read(1 << 22):
                    digest.update(chunk)
        value = digest.hexdigest()
        with self._lock:
            self._cache[key] = value
        return value
