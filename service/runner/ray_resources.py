"""The resources a check asks of a Ray cluster, sized from the models it runs on.

Rule: the memory of a check is, for each distinct checkpoint model of the job (target, baseline,
reference), its parameter count x its dtype's bytes x `MEMORY_FACTOR`, plus `PROCESS_FLOOR_BYTES` for the
worker process itself. The factor covers the weights, the copy a relearning attack trains (with its
gradients and two optimiser moments) and a quantized copy. A check asks for one GPU when the cluster has
GPUs and the job has a checkpoint model; endpoints need neither GPU nor model memory, only one CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evaluators.models.protocol import LanguageModel

MEMORY_FACTOR = 6.0
"""Weights + trainable copy + its gradients + two optimiser moments + a quantized copy, in weights' sizes."""

PROCESS_FLOOR_BYTES = 512 * 1024**2
"""A Ray worker process with torch imported and a tokenizer loaded."""


def model_bytes(model: LanguageModel) -> int:
    """Parameter count x dtype bytes of a checkpoint model's weights; 0 for a model with none here."""
    torch_model: Any = getattr(model, "torch_model", None)
    if torch_model is None:
        return 0
    return sum(int(p.numel()) * int(p.element_size()) for p in torch_model.parameters())


def check_resources(models: Iterable[LanguageModel | None], cluster_gpus: float) -> dict[str, float]:
    """Ray task options (`num_cpus`, `num_gpus`, `memory`) for a check on `models` (see the module's rule)."""
    seen: set[int] = set()
    weights = 0
    for model in models:
        torch_model = getattr(model, "torch_model", None) if model is not None else None
        if torch_model is None or id(torch_model) in seen:
            continue
        seen.add(id(torch_model))
        weights += model_bytes(model) if model is not None else 0
    return {
        "num_cpus": 1,
        "num_gpus": 1 if cluster_gpus >= 1 and weights > 0 else 0,
        "memory": float(int(weights * MEMORY_FACTOR) + PROCESS_FLOOR_BYTES),
    }
