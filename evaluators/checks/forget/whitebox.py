"""White-box elicitations on checkpoint targets: relearning (+ placebo), benign relearning, quantization,
logit lens and linear probe.

What the checkpoint backend must offer (`WhiteBoxModel`): `torch_model` and `tokenizer` (copied, never
changed in place), `derived(copy, label)` to score a changed copy with the same batched code, and
`hidden_states(texts)` (last-token states of every layer). Each function returns per-item results for one
model; the check runs it on the target and on the baseline alike. Relearning also runs as a placebo
(shuffled answers) on the target; benign relearning has no placebo, as it is a control itself: it uses no
forget data, so any gain it shows is knowledge the suppression only hid.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from evaluators.attacks.latent import (
    choose_layer_out_of_fold,
    letter_token_ids,
    logit_lens_choices,
    probe_out_of_fold,
)
from evaluators.attacks.quantize import QUANTIZATION_LABEL, QuantScheme, quantize_model_
from evaluators.attacks.relearning import TrainingBudget, TrainingReport, shuffled_answers, train_copy
from evaluators.models.protocol import BatchHook, Capability, LanguageModel, WhiteBoxModel
from evaluators.scoring import LETTERS, STANDARD, score_multiple_choice
from schemas.datasets import MultipleChoiceItem

BENIGN_TEXT = (
    "The river runs past the old mill and into the valley, where farmers grow wheat and barley.",
    "A good loaf of bread needs flour, water, salt and time; the dough rises best in a warm kitchen.",
    "Trains leave the central station every ten minutes on weekdays and every half hour on Sundays.",
    "The library opens at nine and closes at six, and children's story time is on Saturday mornings.",
    "To repair a bicycle tyre, remove the wheel, find the puncture, patch it and pump the tyre again.",
    "Autumn leaves turn red and gold before they fall, and the first frost usually comes in November.",
    "The museum's new wing shows paintings of harbours, lighthouses and fishing boats at dawn.",
    "Regular exercise, enough sleep and a varied diet help most people feel well through the winter.",
)
"""Unrelated text for benign relearning (fine-tuning on it should not bring forgotten facts back)."""


def white_box_of(model: LanguageModel | None, is_endpoint: bool) -> WhiteBoxModel | None:
    """The model as a WhiteBoxModel when it offers white-box access (checkpoint backends), else None."""
    if model is None or is_endpoint or Capability.WHITE_BOX not in model.capabilities:
        return None
    return model if isinstance(model, WhiteBoxModel) else None


@dataclass
class PerItem:
    """Per-item outcome of one white-box elicitation on one model."""

    correct: np.ndarray
    records: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)


def _records_from_scores(scores: Sequence[Any], indices: Sequence[int], extra: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for score, index in zip(scores, indices, strict=True):
        record = dict(score.record)
        record["index"] = index
        record.update(extra)
        out.append(record)
    return out


async def _score_subset(
    model: LanguageModel,
    items: Sequence[MultipleChoiceItem],
    indices: Sequence[int],
    subject: str,
    variant: str,
    hook: BatchHook | None,
) -> list[Any]:
    return await score_multiple_choice(model, [items[i] for i in indices], subject, variant=variant, hook=hook)


@dataclass
class RelearnedFold:
    """One fold of a relearning run: the held-out items' correctness and records, and the training report."""

    held: list[int]
    correct: list[bool]
    records: list[dict[str, Any]]
    report: TrainingReport


async def relearning_fold(
    wb: WhiteBoxModel,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    folds: Sequence[int],
    fold: int,
    budget: TrainingBudget,
    *,
    seed: int,
    placebo: bool,
    hook: BatchHook | None,
    variant: str,
) -> RelearnedFold:
    """Train a copy on the other folds' items (standard format + correct letter; shuffled letters for the
    placebo), score fold `fold`'s items in the standard format, discard the copy."""
    n = len(items)
    train = [i for i in range(n) if folds[i] != fold]
    held = [i for i in range(n) if folds[i] == fold]
    labels = [items[i].answer for i in train]
    if placebo:
        labels = shuffled_answers(labels, [len(items[i].choices) for i in train], seed + fold)
    pairs = [(STANDARD.render(items[i], subject).context, " " + LETTERS[a]) for i, a in zip(train, labels, strict=True)]
    trained, report = await asyncio.to_thread(
        train_copy, wb.torch_model, wb.tokenizer, pairs, budget, seed=seed * 100 + fold, hook=hook
    )
    scores = await _score_subset(wb.derived(trained, f"{variant}_fold{fold}"), items, held, subject, variant, hook)
    del trained
    records = _records_from_scores(scores, held, {"trained_on_folds": sorted(set(folds) - {fold})})
    return RelearnedFold(held, [bool(score.correct) for score in scores], records, report)


def relearned(
    n: int, folds: Sequence[int], runs: Sequence[RelearnedFold], budget: TrainingBudget, placebo: bool
) -> PerItem:
    """The per-item result of a relearning run from its folds (in fold order)."""
    correct = np.zeros(n, dtype=bool)
    records: list[dict[str, Any]] = [{} for _ in range(n)]
    for run in runs:
        for i, ok in zip(run.held, run.correct, strict=True):
            correct[i] = ok
        for record in run.records:
            records[record["index"]] = record
    reports = [run.report for run in runs]
    settings = {
        **budget.as_dict(),
        "folds": len(set(folds)),
        "method": reports[0].method,
        "device": reports[0].device,
        "seconds": round(sum(r.seconds for r in reports), 3),
        "final_loss_mean": float(np.mean([r.final_loss for r in reports])),
        "placebo": placebo,
    }
    return PerItem(correct, records, settings)


async def relearning(
    wb: WhiteBoxModel,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    folds: Sequence[int],
    budget: TrainingBudget,
    *,
    seed: int,
    placebo: bool,
    hook: BatchHook | None,
    variant: str,
) -> PerItem:
    """Every fold of a relearning run (`relearning_fold`), one after another."""
    runs = [
        await relearning_fold(
            wb, items, subject, folds, fold, budget, seed=seed, placebo=placebo, hook=hook, variant=variant
        )
        for fold in sorted(set(folds))
    ]
    return relearned(len(items), folds, runs, budget, placebo)


async def benign_relearning(
    wb: WhiteBoxModel,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    budget: TrainingBudget,
    *,
    seed: int,
    hook: BatchHook | None,
) -> PerItem:
    """Train a copy on unrelated text (`BENIGN_TEXT`, loss on every token), score all items (standard)."""
    pairs = [("", text) for text in BENIGN_TEXT]
    trained, report = await asyncio.to_thread(
        train_copy, wb.torch_model, wb.tokenizer, pairs, budget, seed=seed, hook=hook
    )
    indices = list(range(len(items)))
    scores = await _score_subset(
        wb.derived(trained, "benign_relearning"), items, indices, subject, "benign_relearning", hook
    )
    del trained
    correct = np.array([s.correct for s in scores], dtype=bool)
    settings = {
        **budget.as_dict(),
        "method": report.method,
        "seconds": round(report.seconds, 3),
        "text": "builtin:benign-v1",
    }
    return PerItem(correct, _records_from_scores(scores, indices, {}), settings)


async def quantized(
    wb: WhiteBoxModel,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    scheme: QuantScheme,
    *,
    hook: BatchHook | None,
) -> PerItem:
    """Fake-quantize a copy (`evaluators.attacks.quantize`) and score all items in the standard format."""

    def build() -> tuple[Any, list[str]]:
        model = copy.deepcopy(wb.torch_model)
        return model, quantize_model_(model, scheme)

    model, names = await asyncio.to_thread(build)
    indices = list(range(len(items)))
    variant = f"quantization_{scheme}"
    scores = await _score_subset(wb.derived(model, variant), items, indices, subject, variant, hook)
    del model
    correct = np.array([s.correct for s in scores], dtype=bool)
    settings = {
        "scheme": scheme,
        "block_size": 64,
        "label": QUANTIZATION_LABEL,
        "layers_quantized": len(names),
    }
    return PerItem(correct, _records_from_scores(scores, indices, {"label": QUANTIZATION_LABEL}), settings)


async def latent(
    wb: WhiteBoxModel,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    folds: Sequence[int],
    *,
    seed: int,
    hook: BatchHook | None,
    want_lens: bool,
    want_probe: bool,
) -> dict[str, PerItem]:
    """Logit lens and linear probe on the standard prompt's last-token hidden states (layers cross-fitted)."""
    texts = [STANDARD.render(item, subject).context for item in items]
    states = [torch.as_tensor(s) for s in await wb.hidden_states(texts, hook)]
    answers = [item.answer for item in items]
    n_choices = [len(item.choices) for item in items]
    out: dict[str, PerItem] = {}
    if want_lens:
        ids = letter_token_ids(wb.tokenizer, LETTERS[: max(n_choices)])
        logits = await asyncio.to_thread(logit_lens_choices, wb.torch_model, states, ids, n_choices)
        layers, picks = choose_layer_out_of_fold(logits.argmax(dim=-1), answers, folds)
        out["logit_lens"] = _latent_result(answers, folds, layers, picks, {"layers": int(logits.shape[1])})
    if want_probe:
        layers, picks = await asyncio.to_thread(probe_out_of_fold, states, answers, n_choices, folds, seed)
        out["probe"] = _latent_result(answers, folds, layers, picks, {"layers": len(states[0]), "kind": "logistic_l2"})
    return out


def _latent_result(
    answers: Sequence[int],
    folds: Sequence[int],
    layers: Sequence[int],
    picks: Sequence[int],
    settings: dict[str, Any],
) -> PerItem:
    correct = np.array([p == a for p, a in zip(picks, answers, strict=True)], dtype=bool)
    records = [
        {"index": i, "layer": layer, "chosen": pick, "answer": a, "correct": bool(c), "fold": f}
        for i, (layer, pick, a, c, f) in enumerate(zip(layers, picks, answers, correct, folds, strict=True))
    ]
    return PerItem(correct, records, settings)
