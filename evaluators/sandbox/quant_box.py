"""The half-step box of the emulated NF4 grid, for the `quant_fragile` control.

Start from weights on the grid (`evaluators.attacks.quantize.quantize_tensor(w, "nf4", 64)`). A weight may
move anywhere strictly inside the interval that rounds back to its level: between the midpoints to its
neighbouring NF4 levels, times its block's absmax. Each block's absmax element is held fixed, and every other
element stays strictly inside (-absmax, absmax), so the block's scale cannot move and rounding the trained
weights returns exactly the starting grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from evaluators.attacks.quantize import NF4_LEVELS

BLOCK_SIZE = 64
_MARGIN = 0.02
"""Fraction of each half-interval kept clear of the rounding boundary (float error, ties)."""


@dataclass
class Box:
    """Per-element bounds of one weight tensor, and the fixed absmax elements."""

    low: torch.Tensor
    high: torch.Tensor
    fixed: torch.Tensor
    anchor: torch.Tensor

    @torch.no_grad()
    def project_(self, weight: torch.Tensor) -> None:
        """Clamp `weight` into the box in place and restore the absmax elements."""
        weight.copy_(torch.maximum(torch.minimum(weight, self.high), self.low))
        weight[self.fixed] = self.anchor[self.fixed]


def grid_box(on_grid: torch.Tensor, block_size: int = BLOCK_SIZE) -> Box:
    """The box around `on_grid` (a tensor already on the NF4 grid)."""
    flat = on_grid.detach().float().reshape(-1)
    n = flat.numel()
    pad = (-n) % block_size
    blocks = torch.cat([flat, flat.new_zeros(pad)]).reshape(-1, block_size)
    absmax = blocks.abs().amax(dim=1, keepdim=True)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    levels = torch.tensor(NF4_LEVELS, device=flat.device)
    idx = ((blocks / safe).unsqueeze(-1) - levels).abs().argmin(dim=-1)
    level = levels[idx]
    below = torch.cat([levels[:1] - 1e9, levels[:-1]])[idx]
    above = torch.cat([levels[1:], levels[-1:] + 1e9])[idx]
    half_low = (level - below) / 2
    half_high = (above - level) / 2
    low = torch.maximum(level - half_low * (1 - _MARGIN), torch.full_like(level, -1 + _MARGIN * 0.05))
    high = torch.minimum(level + half_high * (1 - _MARGIN), torch.full_like(level, 1 - _MARGIN * 0.05))
    fixed = torch.zeros_like(blocks, dtype=torch.bool)
    fixed[torch.arange(blocks.shape[0]), blocks.abs().argmax(dim=1)] = True
    shape = on_grid.shape

    def back(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(-1)[:n].reshape(shape)

    return Box(
        low=back(low * safe).to(on_grid.dtype),
        high=back(high * safe).to(on_grid.dtype),
        fixed=back(fixed),
        anchor=on_grid.detach().clone(),
    )
