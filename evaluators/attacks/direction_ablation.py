"""Direction ablation (Łucki et al. 2024, "An Adversarial Perspective on Machine Unlearning for AI Safety";
after Arditi et al. 2024): an unlearning method that writes one large component into the residual stream on
forget-domain inputs (RMU steers them towards c·u) hides the knowledge without removing it; projecting that
component out brings the knowledge back.

Estimation, per hidden state j (the output of decoder layer j - 1; `evaluators.models.ablation`):

- direction d_j = mean of the target's states on forget-domain prompts minus the mean of the reference's
  states: the baseline's states on the same prompts when there is a baseline, else the target's own states
  on unrelated text (`reference="unrelated_text"`);
- strength s_j = |d_j| / mean |reference state j|: how far the forget states moved, relative to the stream;
- ablated states: every j with s_j >= `AblationBudget.relative_strength` times the strongest, at most
  `AblationBudget.max_layers` of them (strongest first), each with its own direction.

The placebo projects out random unit directions (seeded, one per ablated state, the same states): what removing
any one direction from the stream does to the answers, without the estimated one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class AblationBudget:
    """What one direction-ablation run may change (recorded on the scorecard)."""

    max_layers: int = 4
    """Hidden states ablated at most (one direction each)."""
    relative_strength: float = 0.5
    """Ablate the states whose strength is at least this share of the strongest one's."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Directions:
    """Per ablated hidden state, its direction ([hidden]); per state, the strength of its difference."""

    by_state: dict[int, torch.Tensor]
    strengths: list[float]


def difference_directions(
    target_states: torch.Tensor, reference_states: torch.Tensor, budget: AblationBudget
) -> Directions:
    """Directions to ablate from [n, states, hidden] target states and [m, states, hidden] reference states.

    State 0 (the embeddings) and the last state (after the final norm) are measured but never chosen: no
    decoder-layer hook writes the first, and the second is in normalised coordinates."""
    diff = target_states.float().mean(0) - reference_states.float().mean(0)  # [states, hidden]
    scale = reference_states.float().norm(dim=-1).mean(0).clamp(min=1e-8)  # [states]
    strengths = (diff.norm(dim=-1) / scale).tolist()
    candidates = list(range(1, len(strengths) - 1)) or list(range(1, len(strengths)))
    strongest = max((strengths[j] for j in candidates), default=0.0)
    chosen = sorted(
        (j for j in candidates if strongest > 0 and strengths[j] >= budget.relative_strength * strongest),
        key=lambda j: -strengths[j],
    )[: budget.max_layers]
    return Directions({j: diff[j] for j in sorted(chosen)}, [round(s, 4) for s in strengths])


def placebo_directions(directions: Directions, seed: int) -> Directions:
    """Random directions (seeded, Gaussian) at the same states, scaled to the same norms."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for j, d in directions.by_state.items():
        r = torch.randn(d.shape, generator=gen)
        out[j] = r * (d.norm() / r.norm())
    return Directions(out, directions.strengths)


def stacked(states: Sequence[torch.Tensor], indices: Sequence[int]) -> torch.Tensor:
    """[len(indices), states, hidden] stacked from per-text state tensors."""
    return torch.stack([torch.as_tensor(states[i]) for i in indices])
