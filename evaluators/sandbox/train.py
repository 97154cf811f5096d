"""Plain-PyTorch training loops for the sandbox: weighted LM loss, distillation, gradient ascent.

A step draws one batch from each `Stream` and sums their losses:
- `ce`: weighted next-token cross-entropy (prefix tokens lightly, target tokens fully);
- `kl`: KL(teacher || student) of the next-token distributions at target positions (and, lightly, prefix
  positions), so the student behaves as the teacher on those contexts;
- `ascent`: minus the cross-entropy (gradient ascent, for the `ga` control).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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


def _pad(batch: Sequence[Encoded], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token ids and loss weights (0 on padding)."""
    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    weights = torch.zeros((len(batch), width))
    for row, (tokens, w) in enumerate(batch):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        weights[row, : len(w)] = torch.tensor(w)
    return ids, weights


def _logits_at(model: Any, ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Next-token logits [N, vocab] at the positions `where` ([batch, width - 1], row-major order) only.

    Rows are right-padded, so causal attention alone keeps padding out of every real token's context (no
    attention mask), and the output head, the largest matrix of the sandbox's tiny Llama, runs only where a
    loss is taken."""
    hidden = model.model(input_ids=ids).last_hidden_state[:, :-1]
    return model.lm_head(hidden[where])


def frozen_bottom(model: Any, trainable: Sequence[torch.nn.Parameter]) -> int:
    """How many bottom decoder layers (with the embeddings below them) `trainable` leaves untouched: the
    states entering the first trained layer never change, so they can be computed once per example."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        return 0
    ids = {id(p) for p in trainable}
    if any(id(p) in ids for p in model.model.embed_tokens.parameters()):
        return 0
    for k, layer in enumerate(layers):
        if any(id(p) in ids for p in layer.parameters()):
            return k
    return len(layers)


def _hidden_from(model: Any, states: torch.Tensor, below: int) -> torch.Tensor:
    """The final hidden states of a right-padded batch whose states entering layer `below` are `states`: the
    model's own forward (causal mask, rotary positions, final norm) run over its layers from `below` up."""
    inner = model.model
    layers = inner.layers
    inner.layers = torch.nn.ModuleList(list(layers)[below:])
    try:
        hidden: torch.Tensor = inner(inputs_embeds=states).last_hidden_state
    finally:
        inner.layers = layers
    return hidden


class ForwardStopped(Exception):
    """Stops a forward pass once the states a caller wants are captured (the layers above are never run)."""


@dataclass
class Stream:
    """A source of batches and the loss applied to them."""

    data: list[Encoded]
    loss: Literal["ce", "kl", "ascent"] = "ce"
    teacher: Any = None
    weight: float = 1.0
    batch_size: int = 32
    _teacher_logp: list[torch.Tensor] | None = field(default=None, init=False, repr=False)
    _inputs: tuple[int, int, list[torch.Tensor]] | None = field(default=None, init=False, repr=False)
    """(id of the student, its frozen layers, per example the states entering its first trained layer)."""

    def batches(self, rng: random.Random) -> Iterator[list[int]]:
        """Endless batches of example indices, reshuffled every epoch."""
        while True:
            order = list(range(len(self.data)))
            rng.shuffle(order)
            # Sort within windows of 32 batches so batches hold sequences of similar length (less padding):
            # widths are bimodal (few-shot prompts), and a step's cost grows faster than its width.
            window = 32 * self.batch_size
            batches = []
            for w in range(0, len(order), window):
                chunk = sorted(order[w : w + window], key=lambda i: len(self.data[i][0]))
                batches += [chunk[s : s + self.batch_size] for s in range(0, len(chunk), self.batch_size)]
            rng.shuffle(batches)
            yield from batches

    @torch.no_grad()
    def cache_teacher(self, pad_id: int, device: Any) -> None:
        """The teacher's log-probs at every weighted position of every example, computed once (the teacher
        is frozen), so a `kl` step runs no teacher forward. Held as float32 on the CPU: per example, weighted
        positions x vocabulary."""
        if self.loss != "kl" or self._teacher_logp is not None:
            return
        self.teacher.eval()
        cached: list[torch.Tensor] = [torch.empty(0)] * len(self.data)
        order = sorted(range(len(self.data)), key=lambda i: len(self.data[i][0]))
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            ids, weights = (t.to(device) for t in _pad([self.data[i] for i in chunk], pad_id))
            where = weights[:, 1:] > 0
            logp = F.log_softmax(_logits_at(self.teacher, ids, where).float(), -1).cpu()
            for i, part in zip(chunk, logp.split(where.sum(1).tolist()), strict=True):
                cached[i] = part
        self._teacher_logp = cached

    @torch.no_grad()
    def cache_inputs(self, model: Any, below: int, pad_id: int) -> None:
        """The states entering layer `below` of `model` for every example, computed once: the layers under it
        do not train (`frozen_bottom`), so every step would compute the same states again."""
        if below == 0 or (self._inputs is not None and self._inputs[:2] == (id(model), below)):
            return
        device = next(model.parameters()).device
        states: list[torch.Tensor] = [torch.empty(0)] * len(self.data)
        captured: list[torch.Tensor] = []

        def capture(_module: Any, _args: Any, out: Any) -> None:
            captured.append(out)
            raise ForwardStopped  # the layers above would compute states nobody reads

        hook = model.model.layers[below - 1].register_forward_hook(capture)
        try:
            order = sorted(range(len(self.data)), key=lambda i: len(self.data[i][0]))
            for start in range(0, len(order), 64):
                chunk = order[start : start + 64]
                ids, _ = _pad([self.data[i] for i in chunk], pad_id)
                captured.clear()
                with contextlib.suppress(ForwardStopped):
                    model.model(input_ids=ids.to(device))
                out = captured[0][0] if isinstance(captured[0], tuple) else captured[0]
                for row, i in enumerate(chunk):
                    states[i] = out[row, : len(self.data[i][0])].clone()
        finally:
            hook.remove()
        self._inputs = (id(model), below, states)

    def teacher_logp(self, indices: Sequence[int]) -> torch.Tensor:
        """Cached teacher log-probs of a batch, in the row-major order of `_logits_at`."""
        assert self._teacher_logp is not None, "cache_teacher first"
        return torch.cat([self._teacher_logp[i] for i in indices])


def _loss_parts(model: Any, stream: Stream, indices: Sequence[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The stream's weighted loss over `indices` as (sum of weighted per-token losses, sum of weights), signed
    for ascent: the loss is their ratio. Kept apart so data-parallel ranks can sum both before dividing."""
    dev = next(model.parameters()).device
    if not indices:  # a data-parallel rank's share of a short last batch can be empty
        return torch.zeros((), device=dev), torch.zeros((), device=dev)
    ids, weights = (t.to(dev) for t in _pad([stream.data[i] for i in indices], pad_id))
    w = weights[:, 1:]
    where = w > 0
    if stream._inputs is not None and stream._inputs[0] == id(model):
        below, cached = stream._inputs[1], stream._inputs[2]
        states = torch.nn.utils.rnn.pad_sequence([cached[i] for i in indices], batch_first=True).to(dev)
        logits = model.lm_head(_hidden_from(model, states, below)[:, :-1][where])
    else:
        logits = _logits_at(model, ids, where)
    w = w[where]
    if stream.loss == "kl":
        teacher_logp = stream.teacher_logp(indices).to(dev)
        student_logp = F.log_softmax(logits, -1)
        per_token = (teacher_logp.exp() * (teacher_logp - student_logp)).sum(-1)
    else:
        per_token = F.cross_entropy(logits, ids[:, 1:][where], reduction="none")
    total = (per_token * w).sum()
    return (-total if stream.loss == "ascent" else total), w.sum()


def _loss(model: Any, stream: Stream, indices: Sequence[int], pad_id: int) -> torch.Tensor:
    """The stream's weighted loss on the batch `indices` (minus the cross-entropy for ascent)."""
    total, weight = _loss_parts(model, stream, indices, pad_id)
    return total / weight.clamp(min=1.0)


@dataclass(frozen=True)
class Shard:
    """This process's part of a data-parallel run: rows `rank::size` of every batch. The ranks (a
    torch.distributed group) sum the loss weights before dividing and the gradients after backward, so each
    step is the full batch's step, up to floating-point rounding."""

    rank: int
    size: int


def join_local_group(rank: int, ranks: int, rendezvous: str) -> None:
    """Join a gloo group of `ranks` processes on this machine (`rendezvous`: a `file://` store)."""
    import torch.distributed as dist

    if sys.platform.startswith("linux"):  # every rank is local: talk over loopback, whatever the hostname
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=rendezvous, rank=rank, world_size=ranks)


def _all_reduce_grads(params: Sequence[torch.nn.Parameter], loss: torch.Tensor) -> torch.Tensor:
    """Sum every parameter's gradient (and the loss, for the record) over the group in one collective."""
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([*(g.reshape(-1) for g in grads), loss.detach().reshape(1)])
    dist.all_reduce(flat)
    offset = 0
    for p in params:
        p.grad = flat[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    return flat[-1]


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
    shard: Shard | None = None,
) -> list[float]:
    """Run `steps` AdamW steps over `streams`; return the loss per step. `after_step` runs after each update
    (the quant_fragile projection); `params` restricts what is trained (default: every parameter); `shard`
    makes this process one rank of a data-parallel run (every rank calls `train` with the same arguments)."""
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
    device = next(model.parameters()).device
    below = frozen_bottom(model, trainable)
    for s in streams:
        s.cache_teacher(pad_id, device)
        s.cache_inputs(model, below, pad_id)
    model.train()
    losses = []
    for step in range(steps):
        parts = [
            _loss_parts(model, s, next(it) if shard is None else next(it)[shard.rank :: shard.size], pad_id)
            for s, it in zip(streams, iterators, strict=True)
        ]
        weights = torch.stack([w for _, w in parts])
        if shard is not None:
            import torch.distributed as dist

            dist.all_reduce(weights)  # every rank divides by the whole batch's weight
        total = torch.stack(
            [s.weight * part / w.clamp(min=1.0) for s, (part, _), w in zip(streams, parts, weights, strict=True)]
        ).sum()
        optimiser.zero_grad(set_to_none=True)
        if total.requires_grad:
            total.backward()
        if shard is not None:
            total = _all_reduce_grads(trainable, total)
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
