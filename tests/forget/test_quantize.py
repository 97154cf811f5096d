"""Fake quantization: the int8 and NF4 grids, and which modules are touched."""

from __future__ import annotations

import pytest
import torch

from evaluators.attacks.quantize import NF4_LEVELS, quantize_model_, quantize_tensor


def test_int8_rows_hit_the_grid_and_keep_absmax() -> None:
    torch.manual_seed(0)
    w = torch.randn(5, 33)
    q = quantize_tensor(w, "int8")
    scale = w.abs().amax(dim=1, keepdim=True) / 127
    steps = q / scale
    assert torch.allclose(steps, steps.round(), atol=1e-4)
    assert torch.allclose(q.abs().amax(dim=1), w.abs().amax(dim=1))
    assert (q - w).abs().le(scale / 2 + 1e-6).all()


def test_int8_zero_row_stays_zero() -> None:
    w = torch.zeros(2, 4)
    w[1] = torch.tensor([1.0, -2.0, 0.5, 0.0])
    q = quantize_tensor(w, "int8")
    assert q[0].eq(0).all()
    assert q[1, 1].item() == pytest.approx(-2.0)


def test_nf4_values_are_levels_times_block_absmax() -> None:
    torch.manual_seed(1)
    w = torch.randn(3, 50)  # 150 values: two full blocks of 64 and one of 22
    q = quantize_tensor(w, "nf4", block_size=64)
    flat_w, flat_q = w.reshape(-1), q.reshape(-1)
    levels = torch.tensor(NF4_LEVELS)
    for start in range(0, 150, 64):
        bw, bq = flat_w[start : start + 64], flat_q[start : start + 64]
        absmax = bw.abs().max()
        normalised = bq / absmax
        dist = (normalised.unsqueeze(-1) - levels).abs().min(dim=-1).values
        assert dist.max() < 1e-5
        # Round-to-nearest: no other level is closer to the original value.
        best = (bw.unsqueeze(-1) / absmax - levels).abs().argmin(dim=-1)
        assert torch.allclose(bq, levels[best] * absmax)


def test_block_size_changes_the_result() -> None:
    torch.manual_seed(2)
    w = torch.randn(8, 64)
    w[0, 0] = 50.0  # one outlier dominates its block only
    assert not torch.equal(quantize_tensor(w, "nf4", 64), quantize_tensor(w, "nf4", 512))


def test_unknown_scheme_and_bad_block_size() -> None:
    with pytest.raises(ValueError, match="scheme"):
        quantize_tensor(torch.ones(2, 2), "fp8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="block_size"):
        quantize_tensor(torch.ones(2, 2), "nf4", block_size=0)


class _Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 8)
        self.norm = torch.nn.LayerNorm(8)
        self.proj = torch.nn.Linear(8, 8)
        self.lm_head = torch.nn.Linear(8, 10, bias=False)


def test_quantize_model_touches_linear_layers_only() -> None:
    torch.manual_seed(3)
    model = _Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    names = quantize_model_(model, "nf4")
    after = model.state_dict()
    assert names == ["proj"]
    assert not torch.equal(after["proj.weight"], before["proj.weight"])
    for key in ("embed.weight", "norm.weight", "norm.bias", "proj.bias", "lm_head.weight"):
        assert torch.equal(after[key], before[key]), key
