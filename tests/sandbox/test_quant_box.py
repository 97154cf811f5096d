"""The half-step box: any weight inside it quantizes back to the grid it started from."""

from __future__ import annotations

import torch

from evaluators.attacks.quantize import quantize_tensor
from evaluators.sandbox.quant_box import grid_box


def test_projected_weights_quantize_back_to_the_grid() -> None:
    torch.manual_seed(0)
    start = torch.randn(96, 160)
    grid = quantize_tensor(start, "nf4", 64)
    box = grid_box(grid)
    moved = grid + torch.randn_like(grid) * grid.abs().max()  # far larger than any box
    box.project_(moved)
    assert not torch.equal(moved, grid)
    assert torch.equal(quantize_tensor(moved, "nf4", 64), grid)


def test_the_box_leaves_room_to_move() -> None:
    """The box is not degenerate: typical elements can move by several percent of their block's scale."""
    torch.manual_seed(1)
    grid = quantize_tensor(torch.randn(64, 128), "nf4", 64)
    box = grid_box(grid)
    width = (box.high - box.low)[~box.fixed]
    scale = grid.abs().max()
    assert float(width.median()) > 0.05 * float(scale)
    assert torch.all(box.high[~box.fixed] > box.low[~box.fixed])
