"""Synthetic datasets of the real datasets' shapes, inline in the suite's own checks (no Hub)."""

from __future__ import annotations

import random
from typing import Any

from bench.bench_model import word_list
from bench.wmdp_cost.units import SUITE
from evaluators.benchmark_suites import MMLU_SUBJECTS
from schemas.datasets import CollateralDatasetRef, DatasetRef
from schemas.requests import Checks

HARMBENCH_CATEGORY_COUNTS = {
    "chemical_biological": 28,
    "cybercrime_intrusion": 40,
    "harassment_bullying": 19,
    "harmful": 21,
    "illegal": 58,
    "misinformation_disinformation": 34,
}
"""HarmBench's 200 standard behaviours by category: our assumption (not read from the dataset here). With the
default n_min of 50 the 28 chemical_biological prompts are too few, so the suite uses all 200."""
SHAPES = {
    "wmdp_question_words": (30, 60),
    "wmdp_choice_words": (1, 15),
    "mmlu_question_words": (10, 100),
    "mmlu_choice_words": (1, 12),
    "harmbench_words": (8, 30),
    "xstest_words": (5, 15),
}
"""Word-count ranges (uniform) of the synthetic items: assumptions about the real datasets' shapes."""


class Synth:
    """Seeded text of given word counts, from bench_model's synthetic vocabulary."""

    def __init__(self, seed: int) -> None:
        self.words = word_list(60000, 0)
        self.rng = random.Random(seed)

    def text(self, span: tuple[int, int], end: str = "") -> str:
        return " ".join(self.rng.choices(self.words, k=self.rng.randint(*span))).capitalize() + end

    def mc_item(self, question: tuple[int, int], choice: tuple[int, int], **extra: Any) -> dict[str, Any]:
        choices = [self.text(choice) for _ in range(4)]
        return {"question": self.text(question, "?"), "choices": choices, "answer": self.rng.randrange(4), **extra}


def wmdp_pool(synth: Synth, n: int) -> list[dict[str, Any]]:
    return [synth.mc_item(SHAPES["wmdp_question_words"], SHAPES["wmdp_choice_words"]) for _ in range(n)]


def harmbench_rows(synth: Synth) -> list[dict[str, Any]]:
    return [
        {"prompt": synth.text(SHAPES["harmbench_words"], "."), "category": category}
        for category, count in HARMBENCH_CATEGORY_COUNTS.items()
        for _ in range(count)
    ]


def xstest_rows(synth: Synth) -> list[dict[str, Any]]:
    return [
        {"prompt": synth.text(SHAPES["xstest_words"], "?"), "label": "safe" if i < 250 else "unsafe"}
        for i in range(450)
    ]


def synthetic_checks(suite: Checks, synth: Synth, wmdp_items: list[dict[str, Any]], per_subject: int) -> Checks:
    """The suite's checks with every Hub dataset replaced by inline items (filters, groups, subjects kept)."""
    assert suite.forget and suite.refusal and suite.refusal.benign and suite.collateral
    forget = suite.forget.model_copy(update={"dataset": DatasetRef(items=wmdp_items, name=SUITE)})
    harmful, benign = suite.refusal.harmful, suite.refusal.benign
    refusal = suite.refusal.model_copy(
        update={
            "harmful": DatasetRef(
                items=harmbench_rows(synth), name=harmful.name, where=harmful.where, where_min=harmful.where_min
            ),
            "benign": DatasetRef(items=xstest_rows(synth), name=benign.name, where=benign.where),
        }
    )
    datasets = []
    for ref in suite.collateral.datasets:
        assert ref.hub is not None and ref.hub.config is not None
        items = [synth.mc_item(SHAPES["mmlu_question_words"], SHAPES["mmlu_choice_words"]) for _ in range(per_subject)]
        datasets.append(
            CollateralDatasetRef(
                items=items, name=ref.hub.config, subject=ref.subject, adjacent=ref.adjacent, group=ref.group
            )
        )
    assert [d.name for d in datasets] == list(MMLU_SUBJECTS)  # the suite's 57 subjects, in order
    collateral = suite.collateral.model_copy(update={"datasets": datasets})
    return Checks(forget=forget, refusal=refusal, collateral=collateral)
