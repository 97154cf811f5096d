"""The forget check's `direction_ablation` attack on checkpoint targets (`evaluators.attacks.direction_ablation`
says what it estimates and ablates).

Held out as every other fitted attack is: for each fold, the directions are estimated on the other folds'
items (the last token of the standard prompt, at every hidden state) and the fold's items are scored in the
standard format with those directions projected out of the target's residual stream. The placebo ablates random
directions of the same norms at the same states, fold by fold, on the target. With a baseline, the baseline is
scored with the same directions projected out too (the attack's effect on a model that never hid anything).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluators.attacks.direction_ablation import (
    AblationBudget,
    Directions,
    difference_directions,
    placebo_directions,
    stacked,
)
from evaluators.checks.forget.whitebox import BENIGN_TEXT, PerItem
from evaluators.models.ablation import ablating
from evaluators.models.protocol import BatchHook, WhiteBoxModel
from evaluators.scoring import STANDARD, score_multiple_choice
from schemas.datasets import MultipleChoiceItem

ABLATION_BUDGET = AblationBudget()


async def direction_ablation(
    target: WhiteBoxModel,
    baseline: WhiteBoxModel | None,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    folds: Sequence[int],
    *,
    seed: int,
    hook: BatchHook | None,
    budget: AblationBudget = ABLATION_BUDGET,
) -> tuple[dict[str, PerItem], PerItem]:
    """({"target": ..., "baseline": ...}, placebo): per-item results of the attack, out of fold."""
    texts = [STANDARD.render(item, subject).context for item in items]
    target_states = await target.hidden_states(texts, hook)
    if baseline is not None:
        reference_states = await baseline.hidden_states(texts, hook)
        reference = "baseline"
    else:
        reference_states = await target.hidden_states(list(BENIGN_TEXT), hook)
        reference = "unrelated_text"
    n = len(items)
    results = {role: _Collector(n) for role in ("target", "placebo", "baseline")}
    copies = {"target": copy.deepcopy(target.torch_model)}  # hooks go on copies, never on a shared model
    if baseline is not None:
        copies["baseline"] = copy.deepcopy(baseline.torch_model)
    for fold in sorted(set(folds)):
        train = [i for i in range(n) if folds[i] != fold]
        held = [i for i in range(n) if folds[i] == fold]
        ref_rows = train if baseline is not None else list(range(len(reference_states)))
        found = difference_directions(stacked(target_states, train), stacked(reference_states, ref_rows), budget)
        placebo = placebo_directions(found, seed * 100 + fold)
        runs: list[tuple[str, WhiteBoxModel, Directions]] = [("target", target, found), ("placebo", target, placebo)]
        if baseline is not None:
            runs.append(("baseline", baseline, found))
        for role, wb, directions in runs:
            model = copies["baseline" if role == "baseline" else "target"]
            label = f"direction_ablation{'_placebo' if role == 'placebo' else ''}_fold{fold}"
            with ablating(model, directions.by_state):
                scores = await score_multiple_choice(
                    wb.derived(model, label), [items[i] for i in held], subject, variant=label, hook=hook
                )
            results[role].add(held, scores, fold, directions)
    settings = {
        **budget.as_dict(),
        "reference": reference,
        "folds": len(set(folds)),
        "states_ablated": sorted({j for c in results["target"].states for j in c}),
    }
    out = {"target": results["target"].per_item({**settings, "placebo": False})}
    if baseline is not None:
        out["baseline"] = results["baseline"].per_item({**settings, "placebo": False})
    return out, results["placebo"].per_item({**settings, "placebo": True})


class _Collector:
    """Per-item correctness and records of one role, filled fold by fold."""

    def __init__(self, n: int) -> None:
        self.correct = np.zeros(n, dtype=bool)
        self.records: list[dict[str, Any]] = [{} for _ in range(n)]
        self.states: list[list[int]] = []

    def add(self, held: Sequence[int], scores: Sequence[Any], fold: int, directions: Directions) -> None:
        states = sorted(directions.by_state)
        self.states.append(states)
        strengths = [directions.strengths[j] for j in states]
        for score, i in zip(scores, held, strict=True):
            self.correct[i] = score.correct
            self.records[i] = {
                **score.record,
                "index": i,
                "estimated_on_folds": "all but " + str(fold),
                "states_ablated": states,
                "strengths": strengths,
            }

    def per_item(self, settings: dict[str, Any]) -> PerItem:
        return PerItem(self.correct, self.records, settings)
