"""The Ray resource rule (service/runner/ray_resources.py) on real torch modules of known sizes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from service.runner.ray_resources import PROCESS_FLOOR_BYTES, check_resources


@dataclass
class _Checkpoint:
    torch_model: torch.nn.Module


@dataclass
class _Endpoint:
    name: str = "tgi"


def _model(params: int, dtype: torch.dtype = torch.float32) -> _Checkpoint:
    return _Checkpoint(torch.nn.Linear(params, 1, bias=False).to(dtype))


def test_weights_of_distinct_models_and_the_process_floor() -> None:
    target, baseline = _model(1000), _model(500, torch.bfloat16)
    options = check_resources([target, baseline, target, None], cluster_gpus=0)
    assert options == {"num_cpus": 1, "num_gpus": 0, "memory": float(4000 + 1000 + PROCESS_FLOOR_BYTES)}


def test_endpoints_need_no_gpu_and_no_model_memory() -> None:
    options = check_resources([_Endpoint(), _Endpoint()], cluster_gpus=4, trains=True)
    assert options == {"num_cpus": 1, "num_gpus": 0, "memory": float(PROCESS_FLOOR_BYTES)}


@pytest.mark.parametrize(
    ("lora_above_params", "copies"),
    [(None, 4 + 1), (10_000, 4 + 1), (999, 1 + 1)],  # full fine-tuning or LoRA's merged copy, and a quantized copy
)
def test_a_training_check_on_cpu_adds_copies_of_the_largest_model(lora_above_params: int | None, copies: int) -> None:
    target, baseline = _model(1000), _model(200)
    options = check_resources([target, baseline], cluster_gpus=0, trains=True, lora_above_params=lora_above_params)
    assert options["memory"] == float(4000 + 800 + copies * 4000 + PROCESS_FLOOR_BYTES)


def test_on_a_gpu_cluster_the_copies_live_on_the_gpu() -> None:
    target = _model(1000)
    options = check_resources([target], cluster_gpus=1, trains=True, lora_above_params=None)
    assert options == {"num_cpus": 1, "num_gpus": 1, "memory": float(4000 + PROCESS_FLOOR_BYTES)}
