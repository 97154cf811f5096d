"""Verbatim memorisation (ROUGE-L) and min-k% membership inference, on known values and a trained copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.attacks.memorisation import auc, min_k_scores, rouge_l, split_prefix
from evaluators.attacks.relearning import TrainingBudget, train_copy
from evaluators.checks.forget.check import FORGET_CHECK
from evaluators.models.checkpoint_loader import CheckpointCache
from schemas.datasets import DatasetRef, TextItem
from schemas.requests import ForgetCheck, RelearningBudget
from tests.forget.scripted import context_for, make_items

MEMBERS = [
    f"Agent Q{i:02d} hides the brass {w} under the {p} of the old harbour tower at dusk."
    for i, w, p in zip(
        range(8),
        ["key", "map", "coin", "ring", "lamp", "seal", "book", "flask"],
        ["stairs", "roof", "bell", "floor", "gate", "wall", "well", "door"],
        strict=True,
    )
]
NONMEMBERS = [
    f"Agent R{i:02d} keeps a silver {w} beside the {p} in the quiet northern mill."
    for i, w, p in zip(
        range(8),
        ["pen", "cup", "box", "hat", "bag", "pin", "net", "saw"],
        ["oven", "loom", "cart", "bench", "sink", "kiln", "pump", "shed"],
        strict=True,
    )
]


def test_rouge_l_known_values() -> None:
    assert rouge_l("the cat sat", "The cat sat.") == 1.0
    assert rouge_l("a b c d", "a c") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert rouge_l("", "a") == 0.0 and rouge_l("x y", "a b") == 0.0
    assert split_prefix("one two three") is None
    assert split_prefix("a b c d e f") == ("a b c", "d e f")


def test_auc_known_values() -> None:
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([1, 2], [1, 2]) == 0.5


async def test_min_k_tells_trained_texts_from_unseen_ones(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    budget = TrainingBudget(steps=30, learning_rate=1e-2, batch_size=8)
    trained, _ = train_copy(model.torch_model, model.tokenizer, [("", t) for t in MEMBERS], budget, seed=0)
    derived = model.derived(trained, "memorised")
    fresh = auc(await min_k_scores(model, MEMBERS), await min_k_scores(model, NONMEMBERS))
    after = auc(await min_k_scores(derived, MEMBERS), await min_k_scores(derived, NONMEMBERS))  # type: ignore[arg-type]
    assert after > 0.9
    assert after > fresh


async def test_check_reports_corpus_figures_ungated(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    items = make_items(20, seed=6)
    spec = ForgetCheck(
        dataset=DatasetRef(builtin="sandbox/forget"),
        subject="spycraft",
        folds=2,
        attacks=["cloze"],
        corpus=DatasetRef(builtin="sandbox/forget_corpus"),
        holdout_corpus=DatasetRef(builtin="sandbox/forget_holdout_corpus"),
        relearning=RelearningBudget(steps=1),
    )
    texts = {
        "sandbox/forget_corpus": [TextItem(text=t) for t in MEMBERS],
        "sandbox/forget_holdout_corpus": [TextItem(text=t) for t in NONMEMBERS],
    }
    out = await FORGET_CHECK.run(spec, context_for(model, None, items, reference=model, texts=texts))
    by_name = {(m.name, m.model): m for m in out.result.metrics}
    rouge = by_name[("verbatim_memorisation_rouge_l", "target")]
    assert rouge.n == 8 and rouge.ci_low is not None and not rouge.gated
    mia = by_name[("membership_auc_min_20pct", "target")]
    assert mia.n == 16 and not mia.gated
    leak = by_name[("privleak", "difference")]
    assert leak.value == pytest.approx(0.0)  # the reference is the target itself
    assert {r.variant for r in out.records if r.dataset == "sandbox/forget_corpus"} == {"memorisation"}
    assert [d.name for d in out.datasets] == [
        "fixture",
        "sandbox/forget_corpus",
        "sandbox/forget_holdout_corpus",
    ]
