"""PEFT/LoRA adapters: many unlearned models are published as an adapter over a base model.

A directory with `adapter_config.json` (and adapter weights, no full model) loads on its base: the target's
`base`, else the Hub repository the adapter config names, opened like any other target (fetched, pinned in
the cache, inspected). A copy of the base weights gets the adapter merged in, so every check and white-box
attack sees one ordinary model; the cached base is never modified. The fingerprint covers both: the sha256
of the base's fingerprint and the adapter's weight files.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.errors import BadInputError, excerpt
from schemas.scorecard import ModelProvenance
from schemas.sources import ModelSource
from schemas.targets import HubTarget, WeightsTarget

if TYPE_CHECKING:
    from evaluators.models.factory import BackendEnv
    from evaluators.models.protocol import LanguageModel

ADAPTER_CONFIG = "adapter_config.json"


def is_adapter(path: Path) -> bool:
    """An adapter directory: PEFT's config, and no full model config beside it."""
    return (path / ADAPTER_CONFIG).is_file() and not (path / "config.json").is_file()


def base_of(path: Path, target: WeightsTarget) -> WeightsTarget:
    """The base model to apply the adapter at `path` to: the target's `base`, else the Hub repository its
    adapter config names (with the target's dtype and device)."""
    if target.base is not None:
        return target.base
    try:
        config = json.loads((path / ADAPTER_CONFIG).read_text())
    except (OSError, ValueError) as exc:
        raise BadInputError(f"the adapter's {ADAPTER_CONFIG} cannot be read: {exc}", field="base") from exc
    name = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    if not isinstance(name, str) or not name:
        raise BadInputError(f"the adapter's {ADAPTER_CONFIG} names no base model: give `base`", field="base")
    revision = config.get("revision") or "main"
    try:
        return HubTarget(repo=name, revision=str(revision), dtype=target.dtype, device=target.device)
    except ValueError as exc:
        raise BadInputError(
            f"the adapter's base {excerpt(name)} is not a Hub repository id: give `base`", field="base"
        ) from exc


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """peft reads transformers' deprecated `is_gradient_checkpointing` alias (peft's issue, not ours)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def _merged(base_model: Any, adapter_dir: Path) -> Any:
    from peft import PeftModel

    copied = copy.deepcopy(base_model)
    with quiet_peft():
        return PeftModel.from_pretrained(copied, str(adapter_dir)).merge_and_unload()


def _adapter_digest(weights: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(weights, key=lambda p: p.name):
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


async def open_adapter(
    target: WeightsTarget,
    path: Path,
    weights: list[Path],
    env: BackendEnv,
    *,
    on_close: Callable[[], None] | None = None,
    source: ModelSource | None = None,
) -> LanguageModel:
    """The adapter at `path` (its weight files `weights`) merged into a copy of its base model."""
    from evaluators.models.checkpoint import CheckpointModel
    from evaluators.models.factory import open_model

    base_target = base_of(path, target)
    base = await open_model(base_target, env)
    try:
        if not isinstance(base, CheckpointModel):
            raise BadInputError("an adapter's base must be a model whose weights load here", field="base")
        merged = await asyncio.to_thread(_merged, base.torch_model, path)
        base_print = (await base.fingerprint()).fingerprint or ""
        adapter_print = await asyncio.to_thread(_adapter_digest, weights)
    except BaseException:
        await base.close()
        raise
    fingerprint = hashlib.sha256(f"{base_print}|adapter:{adapter_print}".encode()).hexdigest()
    provenance = ModelProvenance(
        kind="adapter",
        fingerprint=f"sha256:{fingerprint}",
        fingerprint_verified=True,
        description=f"adapter {path.name} merged into {base.name}; base {base_print[:23]}",
        source=source,
    )

    async def close() -> None:  # the adapter's cache pin, then the base's
        if on_close is not None:
            on_close()
        await base.close()

    return CheckpointModel(
        merged,
        base.tokenizer,
        name=f"{path.name}+{base.name}",
        provenance=provenance,
        chat_template=target.chat_template,
        on_close=close,
    )
