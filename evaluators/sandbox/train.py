"""Plain-PyTorch training loops for the sandbox: weighted LM loss, distillation, gradient ascent.

A step draws one batch from each `Stream` and sums their losses:
- `ce`: weighted next-token cross-entropy (prefix tokens lightly, target tokens fully);
- `kl`: KL(teacher || student) of the next-token distributions at target positions (and, lightly, prefix
  positions), so the student behaves as the teacher on those contexts;
- `ascent`: minus the cross-entropy (gradient ascent, for the `ga` control).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from evaluators.sandbox.examples import Example

Encoded = tuple[list[int], list[float]]


def encode(tokenizer: Any, examples: Sequence[Example]) -> list[Encoded]:
    """Token ids and per-token loss weights (weight of token i = weight of predicting it from i-1)."""
    out = []
    for ex in examples:
        special = not ex.prefix.startswith("<s>")
        prefix_ids = tokenizer.encode(ex.prefix, add_special_tokens=special)
        whole = tokenizer.encode(ex.prefix + ex.target, add_special_tokens=special)
        n = len(prefix_ids)
        weights = [0.0] + [ex.prefix_weight] * (n - 1) + [1.0] * (len(whole) - n)
        out.append((whole, weights))
    return out


def _pad(batch: Sequence[Encoded], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    weights = torch.zeros((len(batch), width))
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (tokens, w) in enumerate(batch):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        weights[row, : len(w)] = torch.tensor(w)
        mask[row, : len(tokens)] = 1
    return ids, weights, mask


@dataclass
class Stream:
    """A source of batches and the loss applied to them."""

    data: list[Encoded]
    loss: Literal["ce", "kl", "ascent"] = "ce"
    teacher: Any = None
    weight: float = 1.0
    batch_size: int = 32

    def batches(self, rng: random.Random) -> Any:
        while True:
            order = list(range(len(self.data)))
            rng.shuffle(order)
            # Sort within windows of 8 batches so batches hold sequences of similar length (less padding).
            window = 8 * self.batch_size
            batches = []
            for w in range(0, len(order), window):
                chunk = sorted(order[w : w + window], key=lambda i: len(self.data[i][0]))
                batches += [chunk[s : s + self.batch_size] for s in range(0, len(chunk), self.batch_size)]
            rng.shuffle(batches)
            for batch in batches:
                yield [self.data[i] for i in batch]


def _loss(model: Any, stream: Stream, batch: Sequence[Encoded], pad_id: int) -> torch.Tensor:
    dev = next(model.parameters()).device
    ids, weights, mask = (t.to(dev) for t in _pad(batch, pad_id))
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    w = weights[:, 1:]
    if stream.loss == "kl":
        with torch.no_grad():
            teacher_logp = F.log_softmax(
                stream.teacher(input_ids=ids, attention_mask=mask).logits[:, :-1], -1
            )
        student_logp = F.log_softmax(logits, -1)
        per_token = (teacher_logp.exp() * (teacher_logp - student_logp)).sum(-1)
    else:
        per_token = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    loss = (per_token * w).sum() / w.sum().clamp(min=1.0)
    return -loss if stream.loss == "ascent" else loss


def train(
    model: Any,
    streams: Sequence[Stream],
    *,
    steps: int,
    lr: float,
    pad_id: int,
    seed: int,
    params: Sequence[torch.nn.Parameter] | None = None,
    after_step: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[float]:
    """Run `steps` AdamW steps over `streams`; return the loss per step. `after_step` runs after each update
    (the quant_fragile projection); `params` restricts what is trained (default: every parameter)."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    trainable = list(params) if params is not None else list(model.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.0, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.1, 1 - s / steps)
    )
    iterators = [s.batches(rng) for s in streams]
    for s in streams:
        if s.teacher is not None:
            s.teacher.eval()
    model.train()
    losses = []
    for step in range(steps):
        total = sum(
            s.weight * _loss(model, s, next(it), pad_id) for s, it in zip(streams, iterators, strict=True)
        )
        optimiser.zero_grad(set_to_none=True)
        assert isinstance(total, torch.Tensor)
        total.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        schedule.step()
        if after_step is not None:
            after_step()
        losses.append(float(total.detach()))
        if progress is not None:
            progress(step)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return losses
