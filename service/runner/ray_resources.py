"""The resources a check asks of a Ray cluster, sized from the models it runs on and what it does with them.

Rule: a check asks for one CPU, and for one GPU when the cluster has GPUs and the job has a checkpoint model
(endpoints need neither GPU nor model memory). Its host memory (Ray's `memory`) is `PROCESS_FLOOR_BYTES` for the
worker process, plus the weights of each distinct checkpoint model of the job (target, baseline, reference:
loaded once each), plus, for a check that trains (the forget check's relearning and quantization attacks), the
working copies of its largest model while they live in host memory:

- on CPU, a trained copy with its gradients and two optimiser moments (4x the weights) under full fine-tuning,
  or one merged copy (1x) for a model above the relearning budget's `lora_above_params` (LoRA trains adapters
  only), and a quantized copy (1x);
- on a GPU the copies live in GPU memory (one GPU per check), so host memory holds the weights only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FULL_FINE_TUNE_COPIES = 4.0
"""A trainable copy, its gradients and two AdamW moments, in weights' sizes."""
LORA_COPIES = 1.0
"""The copy LoRA's adapters are merged into (the adapters themselves are a fraction of a percent)."""
QUANTIZED_COPIES = 1.0
"""The quantization attack's copy, at most the weights' size."""

PROCESS_FLOOR_BYTES = 512 * 1024**2
"""A Ray worker process with torch imported and a tokenizer loaded."""


def _weights(model: object) -> tuple[int, int]:
    """(parameter count, bytes) of a checkpoint model's weights; (0, 0) for a model with none here."""
    torch_model: Any = getattr(model, "torch_model", None) if model is not None else None
    if torch_model is None:
        return 0, 0
    params = list(torch_model.parameters())
    return sum(int(p.numel()) for p in params), sum(int(p.numel()) * int(p.element_size()) for p in params)


def check_resources(
    models: Iterable[object],
    cluster_gpus: float,
    *,
    trains: bool = False,
    lora_above_params: int | None = None,
) -> dict[str, float]:
    """Ray task options (`num_cpus`, `num_gpus`, `memory`) for a check on `models` (language models; those with a
    `torch_model` are checkpoints, others need no memory here; see the module's rule);
    `trains`: the check fine-tunes and quantizes copies; `lora_above_params`: its relearning budget's LoRA
    threshold (None: always full fine-tuning)."""
    seen: set[int] = set()
    sizes: list[tuple[int, int]] = []
    for model in models:
        torch_model = getattr(model, "torch_model", None) if model is not None else None
        if torch_model is None or id(torch_model) in seen:
            continue
        seen.add(id(torch_model))
        sizes.append(_weights(model))
    weights = sum(size for _, size in sizes)
    on_gpu = cluster_gpus >= 1 and weights > 0
    copies = 0.0
    if trains and sizes and not on_gpu:
        params, largest = max(sizes, key=lambda s: s[1])
        lora = lora_above_params is not None and params > lora_above_params
        copies = ((LORA_COPIES if lora else FULL_FINE_TUNE_COPIES) + QUANTIZED_COPIES) * largest
    return {
        "num_cpus": 1,
        "num_gpus": 1 if on_gpu else 0,
        "memory": float(weights + int(copies) + PROCESS_FLOOR_BYTES),
    }
