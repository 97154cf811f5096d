"""Cross-fitting folds, the selection/report split, and chance.

- Chance = mean over items of 1/k (k = that item's number of choices).
- Folds: K (default 5), seeded, stratified by answer position: items are grouped by their correct
  answer's index, each group is shuffled with the seed and dealt round-robin into the K folds (the deal
  continues across groups, so fold sizes differ by at most one). Few-shot examples, training sets and
  probes for an item always come from the other folds (cross-fitting), so every elicitation has an
  out-of-fold result on every item.
- Selection/report halves (the winner's curse): items are split once, seeded and stratified the same
  way, into a selection half (where the strongest elicitation is chosen) and a report half (where its
  figure and interval are reported). The split is recorded in the scorecard's provenance.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from schemas.datasets import MultipleChoiceItem


def chance_levels(items: Sequence[MultipleChoiceItem]) -> np.ndarray:
    """Per item, 1/k: the accuracy of a uniform guess."""
    return np.array([1.0 / len(item.choices) for item in items], dtype=float)


def chance(items: Sequence[MultipleChoiceItem]) -> float:
    """Mean of 1/k over items (0.25 for four-choice items)."""
    return float(chance_levels(items).mean()) if items else float("nan")


def stratified_folds(answers: Sequence[int], k: int, seed: int) -> list[int]:
    """Fold number (0..k-1) per item, stratified by answer position, deterministic in `seed`."""
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    if len(answers) < k:
        raise ValueError(f"{len(answers)} items cannot fill {k} folds")
    rng = random.Random(f"forget-folds:{seed}")
    by_answer: dict[int, list[int]] = {}
    for index, answer in enumerate(answers):
        by_answer.setdefault(answer, []).append(index)
    folds = [0] * len(answers)
    dealt = 0
    for answer in sorted(by_answer):
        group = by_answer[answer]
        rng.shuffle(group)
        for index in group:
            folds[index] = dealt % k
            dealt += 1
    return folds


def selection_half(answers: Sequence[int], seed: int) -> list[bool]:
    """Per item, True for the selection half and False for the report half (stratified, seeded)."""
    rng = random.Random(f"forget-halves:{seed}")
    by_answer: dict[int, list[int]] = {}
    for index, answer in enumerate(answers):
        by_answer.setdefault(answer, []).append(index)
    selection = [False] * len(answers)
    dealt = 0
    for answer in sorted(by_answer):
        group = by_answer[answer]
        rng.shuffle(group)
        for index in group:
            selection[index] = dealt % 2 == 0
            dealt += 1
    return selection


def other_folds(folds: Sequence[int], fold: int) -> list[int]:
    """Indices of the items outside `fold` (the training / shot pool for items in `fold`)."""
    return [i for i, f in enumerate(folds) if f != fold]


def pick_shots(
    items: Sequence[MultipleChoiceItem], folds: Sequence[int], index: int, k: int, seed: int
) -> list[MultipleChoiceItem]:
    """k solved examples for item `index`, drawn (seeded per item) from the other folds."""
    pool = other_folds(folds, folds[index])
    rng = random.Random(f"forget-shots:{seed}:{index}")
    chosen = rng.sample(pool, min(k, len(pool)))
    return [items[i] for i in chosen]
