"""Relearning (retraining on T, Deeb & Roger 2024): can brief fine-tuning bring the knowledge back?

The attack copies the loaded model (`copy.deepcopy(white_box.torch_model)`), trains the copy for a few
AdamW steps on (context, answer) pairs, and the caller scores the copy through `white_box.derived`, then
discards it. Only the answer tokens carry loss (the question is context), so the model learns to answer,
not the question text. Small models get full fine-tuning; models with more parameters than
`budget.lora_above_params` get LoRA (peft, rank 8 on every linear layer), merged into the copy after
training so the same scoring code reads it. Training runs on the model's own device (the GPU when the
backend is on cuda).

For the forget check the pairs are the other folds' items in the standard format with the correct letter;
the placebo trains on the same items with the answers shuffled among them (format and answer-position
learning without the facts), and benign relearning trains on unrelated text with loss on every token.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from evaluators.models.adapters import quiet_peft
from evaluators.models.protocol import BatchHook
from evaluators.models.tokenization import LmEvalEncoder, resolve_max_length

LORA_RANK = 8


@dataclass(frozen=True)
class TrainingBudget:
    """What one relearning run may spend (recorded on the scorecard)."""

    steps: int = 30
    learning_rate: float = 5e-4
    batch_size: int = 8
    lora_above_params: int = 1_000_000_000
    max_length: int = 512

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainingReport:
    method: str
    """`full` or `lora`."""
    steps: int
    examples: int
    seconds: float
    final_loss: float
    device: str


def parameter_count(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _encode(
    encoder: LmEvalEncoder, pairs: Sequence[tuple[str, str]], max_length: int
) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per pair; labels are -100 on the context so only the continuation is learned."""
    out = []
    for context, continuation in pairs:
        ctx, cont = encoder.encode_pair(context, continuation)
        ids = (ctx + cont)[-max_length:]
        n_cont = min(len(cont), len(ids))
        labels = [-100] * (len(ids) - n_cont) + ids[len(ids) - n_cont :]
        out.append((ids, labels))
    return out


def _batch(rows: Sequence[tuple[list[int], list[int]]], pad_id: int, device: str) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (tok, lab) in enumerate(rows):  # right padding: positions stay as in scoring
        ids[r, : len(tok)] = torch.tensor(tok)
        labels[r, : len(lab)] = torch.tensor(lab)
        mask[r, : len(tok)] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def _with_lora(model: Any) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=LORA_RANK, lora_alpha=2 * LORA_RANK, lora_dropout=0.0, target_modules="all-linear")
    with quiet_peft():
        return get_peft_model(model, config)


def train_copy(
    torch_model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    budget: TrainingBudget,
    *,
    seed: int,
    hook: BatchHook | None = None,
) -> tuple[Any, TrainingReport]:
    """A trained deep copy of `torch_model` (the original is untouched) and what the training cost.

    `pairs` are (context, continuation); loss is on the continuation tokens only (context "" trains on all
    of the text). Batches are drawn in a seeded shuffled order, cycling through the pairs.
    """
    if not pairs:
        raise ValueError("relearning needs at least one training example")
    started = time.perf_counter()
    device = str(next(torch_model.parameters()).device)
    model = copy.deepcopy(torch_model)
    use_lora = parameter_count(model) > budget.lora_above_params
    if use_lora:
        model = _with_lora(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    encoder = LmEvalEncoder(tokenizer)
    rows = _encode(encoder, pairs, min(budget.max_length, resolve_max_length(torch_model.config, tokenizer)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rng = random.Random(f"relearning:{seed}")
    torch.manual_seed(seed)
    optimiser = torch.optim.AdamW(trainable, lr=budget.learning_rate, weight_decay=0.0)
    order: list[int] = []
    loss_value = float("nan")
    model.train()
    for step in range(budget.steps):
        batch_idx: list[int] = []
        while len(batch_idx) < min(budget.batch_size, len(rows)):
            if not order:
                order = list(range(len(rows)))
                rng.shuffle(order)
            batch_idx.append(order.pop())
        batch = _batch([rows[i] for i in batch_idx], int(pad or 0), device)
        loss = model(**batch).loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        loss_value = float(loss.detach())
        if hook is not None:
            hook(step + 1)
    model.eval()
    if use_lora:
        model = model.merge_and_unload()
    report = TrainingReport(
        "lora" if use_lora else "full",
        budget.steps,
        len(pairs),
        time.perf_counter() - started,
        loss_value,
        device,
    )
    return model, report


def shuffled_answers(answers: Sequence[int], n_choices: Sequence[int], seed: int) -> list[int]:
    """The placebo's labels: the answers permuted among the items (seeded), kept in range for each item."""
    rng = random.Random(f"placebo:{seed}")
    perm = list(answers)
    rng.shuffle(perm)
    return [a % k for a, k in zip(perm, n_choices, strict=True)]
