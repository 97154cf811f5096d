"""The `rmu` control: base unlearned with Representation Misdirection for Unlearning (Li et al. 2024, the WMDP
paper), trained with RMU's own objective.

At one layer l (`RMU_LAYER`), with a frozen copy of base, only the MLP weights of decoder layers l-2..l train:

    forget loss  = mean over forget-domain tokens of  ||h_l(updated) - c·u||^2 / hidden
    retain loss  = alpha · mean over retain tokens of ||h_l(updated) - h_l(frozen)||^2 / hidden

h_l is the residual stream leaving decoder layer l, u a fixed random unit vector (uniform entries, normalised,
as the WMDP code draws it), c the steering coefficient (`RMU_STEERING`). Forget-domain text is the forget
domain's facts in their wordings and the forget corpus; retain text is the retain and adjacent domains' facts
and corpus, the benign chats answered and the harmful requests refused (in the forget check's jailbreak
framings too), so refusals and neighbouring knowledge are held where they are. The first token (BOS, the same
state for every text) carries no loss.

What it leaves intact, and so what may recover it (`BUILT_FOR`): the layers above l and the output head are
base's, and the forget facts are still written by base's attention and by the untouched parts of the stream;
RMU adds one large, nearly constant component (c·u) on forget contexts that swamps what the upper layers read.
Projecting that direction out of the residual stream (`direction_ablation`) and brief fine-tuning
(`relearning`, `benign_relearning`) are built to undo such a component; the figures behind that claim are in
the module's tests and bench/results/sandbox_timings.md.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable, Sequence
from typing import Any

import torch

from evaluators.sandbox.controls import forget_all_formats, framed_requests, keep_data
from evaluators.sandbox.data import fact_examples
from evaluators.sandbox.examples import MC_FORMATS, Example
from evaluators.sandbox.train import ForwardStopped
from evaluators.sandbox.world import World

RMU_LAYER = 2
"""l: the decoder layer (0-based) whose output is steered; layers l-2..l train their MLPs."""
RMU_STEERING = 100.0
"""c: the steering coefficient, about three times the norm of base's layer-l states on forget text (about 32 on the
seed-0 test world); at 20, below that norm, standard accuracy fell only to 0.84 in 150 steps."""
RMU_ALPHA = 100.0
"""alpha: the retain loss's weight."""
RMU_LR = 2e-3
RMU_BATCH = 16

Datasets = dict[str, list[dict[str, Any]]]


def mlp_parameters(model: Any, layer: int) -> list[torch.nn.Parameter]:
    """The MLP weights of decoder layers layer-2..layer (those RMU trains)."""
    layers = model.model.layers
    return [p for k in range(max(0, layer - 2), layer + 1) for p in layers[k].mlp.parameters()]


def layer_states(model: Any, ids: torch.Tensor, layer: int) -> torch.Tensor:
    """[batch, width, hidden] residual stream leaving decoder layer `layer` (right-padded ids; causal attention
    keeps padding out of every real token's context)."""
    captured: list[torch.Tensor] = []

    def capture(_module: Any, _args: Any, out: Any) -> None:
        captured.append(out[0] if isinstance(out, tuple) else out)
        raise ForwardStopped

    hook = model.model.layers[layer].register_forward_hook(capture)
    try:
        with contextlib.suppress(ForwardStopped):
            model.model(input_ids=ids)
    finally:
        hook.remove()
    return captured[0]


def steering_vector(hidden: int, coefficient: float, seed: int) -> torch.Tensor:
    """c·u: u a seeded random unit vector with uniform [0, 1) entries, normalised."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(hidden, generator=gen)
    return coefficient * u / u.norm()


def _texts(examples: Sequence[Example]) -> list[str]:
    return [ex.prefix + ex.target for ex in examples]


def forget_texts(world: World, ds: Datasets, rng: random.Random) -> list[str]:
    """Forget-domain text: its facts in every wording, its corpus passages, and its questions in every format
    the forget check elicits (the question only: no answer follows)."""
    questions = [ex.prefix for ex in forget_all_formats(ds, rng, MC_FORMATS)]
    return _texts(fact_examples(world, ds, "forget")) + sorted(set(questions))


def retain_texts(world: World, ds: Datasets, rng: random.Random) -> list[str]:
    """Text whose states must not move: retain and adjacent items in several formats with their answers, their
    facts, chats (harmful requests refused, also in the forget check's jailbreak framings)."""
    return _texts(keep_data(world, ds, rng) + framed_requests(ds, rng))


def _encode(tok: Any, texts: Sequence[str]) -> list[list[int]]:
    return [tok.encode(t)[:256] for t in texts]


def _pad(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the loss mask (real tokens after the first)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, 1 : len(r)] = True
    return ids, mask


def train_rmu(
    tok: Any,
    base: Any,
    world: World,
    ds: Datasets,
    seed: int,
    progress: Callable[[int], None] | None,
    *,
    steps: int,
    layer: int = RMU_LAYER,
    steering: float = RMU_STEERING,
    alpha: float = RMU_ALPHA,
    lr: float = RMU_LR,
) -> Any:
    """base after `steps` AdamW steps of RMU (module docstring); base itself is not changed."""
    rng = random.Random(seed + 6)
    torch.manual_seed(seed + 6)
    model = copy.deepcopy(base)
    forget = _encode(tok, forget_texts(world, ds, rng))
    retain = _encode(tok, retain_texts(world, ds, rng))
    pad_id = tok.pad_token_id
    frozen: list[torch.Tensor] = []
    with torch.no_grad():  # base is frozen: its states on retain text are computed once
        for start in range(0, len(retain), 64):
            chunk = retain[start : start + 64]
            ids, _ = _pad(chunk, pad_id)
            states = layer_states(base, ids, layer)
            frozen += [states[i, : len(r)].clone() for i, r in enumerate(chunk)]
    target = steering_vector(model.config.hidden_size, steering, seed)
    params = mlp_parameters(model, layer)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    for step in range(steps):
        f_rows = rng.sample(forget, min(RMU_BATCH, len(forget)))
        r_index = rng.sample(range(len(retain)), min(RMU_BATCH, len(retain)))
        f_ids, f_mask = _pad(f_rows, pad_id)
        forget_loss = ((layer_states(model, f_ids, layer)[f_mask] - target) ** 2).mean()
        r_ids, r_mask = _pad([retain[i] for i in r_index], pad_id)
        r_frozen = torch.nn.utils.rnn.pad_sequence([frozen[i] for i in r_index], batch_first=True)
        r_states = layer_states(model, r_ids, layer)
        retain_loss = ((r_states[r_mask] - r_frozen[r_mask]) ** 2).mean()
        loss = forget_loss + alpha * retain_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if progress is not None:
            progress(step)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model
