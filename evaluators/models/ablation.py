"""Directional ablation of the residual stream (Arditi et al. 2024, "Refusal in LLMs is mediated by a single
direction"): forward hooks that project given directions out of the output of chosen decoder layers, at every
position, for as long as a `with ablating(...)` block lasts.

Layers are numbered as `WhiteBoxModel.hidden_states` numbers its states: state j (j >= 1) is the output of
decoder layer j - 1 (state 0 is the embeddings, which no hook here changes). transformers applies the final
norm to the last state, so a direction measured there is in normalised coordinates; `ablating` takes directions
for states 1..num_layers and hooks the layer that writes each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch


def decoder_layers(torch_model: Any) -> Sequence[torch.nn.Module]:
    """The decoder blocks bottom up: Llama/Mistral/Qwen `model.layers`, GPT-2 `transformer.h`, GPT-NeoX
    `gpt_neox.layers`, OPT `model.decoder.layers`; ValueError for an architecture none of these fits."""
    for path in ("model.layers", "transformer.h", "gpt_neox.layers", "model.decoder.layers"):
        holder: Any = torch_model
        for name in path.split("."):
            holder = getattr(holder, name, None)
            if holder is None:
                break
        if isinstance(holder, torch.nn.ModuleList):
            return list(holder)
    raise ValueError(f"no decoder layers found on {type(torch_model).__name__}")


def orthonormal_rows(directions: torch.Tensor) -> torch.Tensor:
    """[k, hidden] -> an orthonormal basis [k', hidden] of their span (zero rows dropped)."""
    rows = directions.float().reshape(-1, directions.shape[-1])
    rows = rows[rows.norm(dim=-1) > 0]
    if rows.shape[0] == 0:
        return rows
    q, r = torch.linalg.qr(rows.T)
    keep = r.diagonal().abs() > 1e-6 * float(r.diagonal().abs().max())
    return q.T[keep]


def project_out(states: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """`states` [..., hidden] with their components along the orthonormal rows of `basis` removed."""
    b = basis.to(device=states.device, dtype=states.dtype)
    return states - (states @ b.T) @ b


@contextlib.contextmanager
def ablating(torch_model: Any, directions: Mapping[int, torch.Tensor]) -> Iterator[None]:
    """Within the block, the span of `directions[j]` ([k, hidden] or [hidden]) is projected out of hidden state j
    (the output of decoder layer j - 1) at every position. The hooks are removed on exit, also on error."""
    layers = decoder_layers(torch_model)
    handles = []

    def hook_for(basis: torch.Tensor) -> Any:
        def hook(_module: Any, _args: Any, out: Any) -> Any:
            if isinstance(out, tuple):
                return (project_out(out[0], basis), *out[1:])
            return project_out(out, basis)

        return hook

    try:
        for state, vectors in directions.items():
            if not 1 <= state <= len(layers):
                raise ValueError(f"hidden state {state} is not the output of a decoder layer (1..{len(layers)})")
            basis = orthonormal_rows(vectors)
            if basis.shape[0]:
                handles.append(layers[state - 1].register_forward_hook(hook_for(basis)))
        yield
    finally:
        for handle in handles:
            handle.remove()
