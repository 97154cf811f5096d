"""Collateral statistics: paired drops with simultaneous bounds, the largest drop, the perplexity ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.checks.collateral.accuracy import (
    MIN_DISCORDANT,
    DatasetAccuracy,
    accuracy_drop,
    largest,
    mcnemar,
    simultaneous_drops,
    smallest,
)
from evaluators.checks.collateral.perplexity import per_char_perplexity, perplexity_ratio
from evaluators.stats import Interval, clopper_pearson


def data(n: int, lost: int, gained: int = 0, name: str = "d") -> DatasetAccuracy:
    """n items: the baseline misses `gained` of them (which the target gets), the target misses `lost`."""
    base = [True] * (n - gained) + [False] * gained
    target = [True] * (n - lost - gained) + [False] * lost + [True] * gained
    return DatasetAccuracy(name, False, target, base)


def test_drop_is_baseline_minus_target_on_the_same_items() -> None:
    iv = accuracy_drop(data(200, lost=30, gained=6), 0.95, 500, 0)
    assert iv.estimate == pytest.approx(24 / 200)
    assert iv.method == "bootstrap_paired" and iv.low < iv.estimate < iv.high


def test_few_discordant_pairs_give_the_exact_bound_not_a_collapsed_bootstrap() -> None:
    iv = accuracy_drop(data(100, lost=0), 0.95, 500, 0)
    assert iv.estimate == 0.0 and iv.method == "exact_discordant"
    assert iv.high == pytest.approx(clopper_pearson(0, 100, 0.95).high) and iv.low < 0 < iv.high
    assert MIN_DISCORDANT > 0


def test_simultaneous_bounds_are_wider_than_single_ones_and_name_bonferroni() -> None:
    sets = [data(150, lost=k, name=f"d{k}") for k in (8, 12, 20)]
    joint, per_figure = simultaneous_drops(sets, 0.95, 1000, 0)
    single = accuracy_drop(sets[2], 0.95, 1000, 2)
    assert per_figure == pytest.approx(1 - 0.05 / 3)
    assert joint[2].high - joint[2].low > single.high - single.low
    assert all("Bonferroni" in (iv.note or "") for iv in joint)


def test_largest_and_smallest_take_the_bounds_of_every_interval() -> None:
    ivs = [Interval(0.01, -0.02, 0.09, 100, "x", 0.95), Interval(0.04, 0.01, 0.06, 80, "x", 0.95)]
    top, name = largest(ivs, ["a", "b"])
    assert (top.estimate, top.low, top.high, top.n, name) == (0.04, 0.01, 0.09, 80, "b")
    low, low_name = smallest(ivs, ["a", "b"])
    assert (low.estimate, low.low, low.high, low_name) == (0.01, -0.02, 0.06, "a")


def test_mcnemar_counts_discordant_pairs_one_sided() -> None:
    test = mcnemar(data(100, lost=10, gained=1))
    assert test.details["first_only"] == 10 and test.details["second_only"] == 1 and test.p_value < 0.05
    assert mcnemar(data(100, lost=1, gained=10)).p_value > 0.5


def test_perplexity_ratio_is_one_for_the_same_model_and_above_one_when_worse() -> None:
    texts = [f"text number {i} about towns and rivers" for i in range(40)]
    rng = np.random.default_rng(0)
    base = [-0.5 * len(t) + float(rng.normal(0, 2)) for t in texts]
    same = perplexity_ratio(base, base, texts, confidence=0.95, resamples=500, seed=0)
    assert same.estimate == pytest.approx(1.0)
    worse = [ll - 0.1 * len(t) for ll, t in zip(base, texts, strict=True)]
    iv = perplexity_ratio(worse, base, texts, confidence=0.95, resamples=500, seed=0)
    assert iv.estimate == pytest.approx(math.exp(0.1)) and iv.low > 1.0
    assert iv.estimate == pytest.approx(per_char_perplexity(worse, texts) / per_char_perplexity(base, texts))
