"""Load checkpoints safely; keep a few loaded per worker (LRU by path, fingerprint, dtype, device)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluators.models.checkpoint import CheckpointModel
from evaluators.models.weights import FingerprintCache, check_remote_code, weight_files
from schemas.errors import BadInputError
from schemas.scorecard import ModelProvenance
from schemas.sources import ModelSource

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def resolve_device(device: str) -> str:
    """`auto` -> cuda when present, else cpu; an explicit cuda request without CUDA is bad input."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInputError("device 'cuda' was requested but this worker has no CUDA device", field="target.device")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """`auto` -> bfloat16 on CUDA, float32 on CPU."""
    if dtype == "auto":
        return "bfloat16" if device.startswith("cuda") else "float32"
    return _DTYPES[dtype]


class CheckpointCache:
    """A small per-worker LRU of loaded (torch model, tokenizer) pairs. Create one per worker."""

    def __init__(self, size: int = 2) -> None:
        self.size = max(0, size)
        self._loaded: OrderedDict[tuple[str, str, str, str], tuple[Any, Any]] = OrderedDict()
        self._fingerprints = FingerprintCache()
        self._lock = asyncio.Lock()
        self.loads = 0
        """How many times weights were read from disk (tests check reuse)."""

    async def open(
        self,
        path: Path,
        *,
        dtype: str = "auto",
        device: str = "auto",
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        chat_template: str = "auto",
        batch_size: int | None = None,
        on_close: Callable[[], None] | None = None,
        source: ModelSource | None = None,
        tokenizer_path: Path | None = None,
    ) -> CheckpointModel:
        """A CheckpointModel over `path`, reusing loaded weights whose fingerprint still matches."""
        files = weight_files(path, allow_pickle=allow_pickle)
        check_remote_code(path, trust_remote_code=trust_remote_code)
        dev = resolve_device(device)
        dt = resolve_dtype(dtype, dev)
        fingerprint = await asyncio.to_thread(self._fingerprints.fingerprint, files)
        key = (str(files[0].parent), fingerprint, dt, dev)
        async with self._lock:
            entry = self._loaded.get(key)
            if entry is None:
                entry = await asyncio.to_thread(
                    _load, path, dt, dev, files[0].suffix == ".safetensors", trust_remote_code, tokenizer_path
                )
                self.loads += 1
                if self.size:
                    self._loaded[key] = entry
                    while len(self._loaded) > self.size:
                        self._loaded.popitem(last=False)
            else:
                self._loaded.move_to_end(key)
        provenance = ModelProvenance(
            kind="checkpoint",
            fingerprint=f"sha256:{fingerprint}",
            fingerprint_verified=True,
            description=f"{path.name} ({len(files)} weight file(s))",
            source=source,
        )
        model, tokenizer = entry
        return CheckpointModel(
            model,
            tokenizer,
            name=path.name,
            provenance=provenance,
            chat_template=chat_template,
            batch_size=batch_size,
            on_close=on_close,
        )


def _load(
    path: Path, dtype: str, device: str, safetensors: bool, trust_remote_code: bool, tokenizer_path: Path | None = None
) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path or path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            path,
            dtype=getattr(torch, dtype),
            use_safetensors=safetensors,
            trust_remote_code=trust_remote_code,
        )
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputError(f"checkpoint {path} could not be loaded: {exc}", field="target.path") from exc
    model = model.to(device)  # type: ignore[arg-type]  # transformers stubs want a torch.device
    model.eval()
    return model, tokenizer
