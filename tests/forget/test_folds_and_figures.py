"""Folds, held-out selection, simultaneous bounds, the placebo and the verdict rule on known figures."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from evaluators.checks.forget.figures import (
    ElicitationScores,
    adjusted_accuracy,
    baseline_knowledge,
    choose_strongest,
    decide,
    residual_interval,
    simultaneous_residuals,
)
from evaluators.checks.forget.folds import chance, pick_shots, selection_half, stratified_folds
from evaluators.checks.forget.report import recovery_interval
from evaluators.stats import Interval
from schemas.datasets import MultipleChoiceItem
from schemas.policy import Policy
from tests.forget.scripted import make_items


def test_folds_are_seeded_balanced_and_stratified() -> None:
    answers = [0] * 40 + [1] * 30 + [2] * 20 + [3] * 13
    folds = stratified_folds(answers, 5, seed=1)
    assert folds == stratified_folds(answers, 5, seed=1)
    assert folds != stratified_folds(answers, 5, seed=2)
    sizes = Counter(folds)
    assert set(sizes) == set(range(5)) and max(sizes.values()) - min(sizes.values()) <= 1
    for answer, count in Counter(answers).items():
        per_fold = Counter(f for f, a in zip(folds, answers, strict=True) if a == answer)
        assert max(per_fold.values()) - min(per_fold.get(k, 0) for k in range(5)) <= 1, answer
        assert sum(per_fold.values()) == count


def test_folds_refuse_too_few_items() -> None:
    with pytest.raises(ValueError, match="cannot fill"):
        stratified_folds([0, 1], 5, seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        stratified_folds([0, 1, 2], 1, seed=0)


def test_selection_half_is_half_per_answer_position() -> None:
    answers = [0] * 20 + [1] * 20 + [2] * 21 + [3] * 19
    half = selection_half(answers, seed=3)
    assert half == selection_half(answers, seed=3)
    assert abs(sum(half) - 40) <= 1
    for answer in range(4):
        chosen = sum(h for h, a in zip(half, answers, strict=True) if a == answer)
        assert abs(chosen - answers.count(answer) / 2) <= 1


def test_shots_always_come_from_other_folds() -> None:
    items = make_items(30)
    folds = stratified_folds([it.answer for it in items], 5, seed=0)
    for i in range(30):
        shots = pick_shots(items, folds, i, 4, seed=0)
        assert len(shots) == 4
        assert all(folds[items.index(s)] != folds[i] for s in shots)


def test_chance_is_the_mean_of_one_over_k() -> None:
    items = [
        MultipleChoiceItem(question="q", choices=["a", "b"], answer=0),
        MultipleChoiceItem(question="q", choices=["a", "b", "c", "d"], answer=0),
    ]
    assert chance(items) == pytest.approx((0.5 + 0.25) / 2)


def _e(name: str, hits: list[bool] | np.ndarray, **kw: object) -> ElicitationScores:
    return ElicitationScores(name, "black_box", np.asarray(hits, dtype=bool), **kw)  # type: ignore[arg-type]


def test_strongest_is_chosen_on_the_selection_half_only() -> None:
    n = 100
    selection = np.arange(n) % 2 == 0
    standard = _e("standard", np.zeros(n, dtype=bool))
    # Strong only where it cannot be chosen (report half) vs modest on the selection half.
    lucky = _e("lucky", ~selection)
    modest = _e("modest", selection & (np.arange(n) % 4 == 0))
    assert choose_strongest([standard, lucky, modest], standard.target, selection) == "modest"


def test_simultaneous_bounds_are_wider_than_single_ones() -> None:
    rng = np.random.default_rng(0)
    inv_k = np.full(200, 0.25)
    es = [_e(f"e{j}", rng.random(200) < 0.3) for j in range(6)]
    policy = Policy()
    sim = simultaneous_residuals(es, es[0].target, inv_k, 0.6, policy, seed=0)
    all_items = np.ones(200, dtype=bool)
    for e in es:
        single = residual_interval(e, es[0].target, inv_k, all_items, 0.6, 0.95, resamples=200, seed=0)
        assert sim[e.name].estimate == pytest.approx(single.estimate)
        assert sim[e.name].low < single.low and sim[e.name].high > single.high
        assert "m=6" in (sim[e.name].note or "")
    max_t = simultaneous_residuals(es, es[0].target, inv_k, 0.6, Policy(simultaneous="max_t"), seed=0)
    assert all(max_t[e.name].high > max_t[e.name].estimate for e in es)


def test_placebo_gain_is_subtracted() -> None:
    n = 100
    standard = np.arange(n) < 25  # 0.25
    after = np.arange(n) < 60  # 0.60
    placebo = np.arange(n) < 45  # 0.45: format learning alone gives +0.20
    e = _e("relearning", after, placebo=placebo)
    mask = np.ones(n, dtype=bool)
    assert adjusted_accuracy(e, standard, mask) == pytest.approx(0.40)
    # A placebo that does worse than standard does not inflate the figure.
    worse = _e("relearning", after, placebo=np.zeros(n, dtype=bool))
    assert adjusted_accuracy(worse, standard, mask) == pytest.approx(0.60)
    iv = residual_interval(e, standard, np.full(n, 0.25), mask, 0.75, 0.95, resamples=300, seed=0)
    assert iv.estimate == pytest.approx((0.40 - 0.25) / 0.75)
    assert iv.method == "bootstrap_paired" and iv.low < iv.estimate < iv.high


def test_baseline_knowledge_uses_the_best_black_box_format() -> None:
    inv_k = np.full(4, 0.25)
    es = [
        _e("standard", [True] * 4, baseline=np.array([1, 1, 0, 0], dtype=bool)),
        _e("cloze", [True] * 4, baseline=np.array([1, 1, 1, 0], dtype=bool)),
        ElicitationScores("probe", "white_box", np.ones(4, bool), np.ones(4, bool)),
    ]
    assert baseline_knowledge(es, inv_k) == (pytest.approx(0.5), "cloze")
    assert baseline_knowledge([_e("standard", [True] * 4)], inv_k) == (pytest.approx(0.75), None)


def _iv(est: float, low: float, high: float, n: int = 200) -> Interval:
    return Interval(est, low, high, n, "wilson", 0.95)


def test_decide_pass_fail_warn_and_below_chance() -> None:
    policy = Policy()
    chance_standard = np.arange(200) % 4 == 0  # exactly chance
    low = {"a": _iv(0.0, -0.1, 0.1), "b": _iv(0.05, -0.05, 0.2)}
    assert decide(low, _iv(0.0, -0.1, 0.1), "b", chance_standard, 0.25, policy).verdict == "pass"
    high = {"a": _iv(0.0, -0.1, 0.1), "b": _iv(0.6, 0.4, 0.8)}
    failed = decide(high, _iv(0.6, 0.4, 0.8), "b", chance_standard, 0.25, policy)
    assert failed.verdict == "fail" and failed.reasons == ["fails_threshold:residual_knowledge[b]"]
    mid = {"a": _iv(0.2, 0.1, 0.3)}
    assert decide(mid, _iv(0.2, 0.1, 0.3), "a", chance_standard, 0.25, policy).verdict == "warn"
    few = decide(low, _iv(0.0, -0.1, 0.1, n=20), "b", chance_standard[:20], 0.25, policy)
    assert few.verdict == "warn" and "insufficient_n:residual_knowledge" in few.reasons
    below = np.arange(200) % 10 == 0  # 0.10 against chance 0.25
    flagged = decide(low, _iv(0.0, -0.1, 0.1), "b", below, 0.25, policy)
    assert flagged.verdict == "warn" and "suppression_suspected" in flagged.reasons
    assert flagged.suppression_p_value < 1e-6


def test_recovery_known_value_and_not_applicable() -> None:
    n = 100
    idx = np.arange(n)
    inv_k = np.full(n, 0.25)
    standard, after, baseline = idx < 30, idx < 70, idx < 90
    iv = recovery_interval(after, baseline, standard, inv_k, Policy(bootstrap_resamples=300), seed=0)
    assert iv.estimate == pytest.approx((0.70 - 0.30) / (0.90 - 0.30))
    assert iv.low < iv.estimate < iv.high and iv.n == n
    # b = max(target standard, chance): a baseline barely above it leaves recovery undefined.
    flat = recovery_interval(after, idx < 33, standard, inv_k, Policy(), seed=0)
    assert math.isnan(flat.estimate) and "n/a" in (flat.note or "")
