"""Paired and clustered bootstrap, max-T and Bonferroni: determinism, known cases, coverage sanity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.stats import (
    bonferroni_confidence,
    bootstrap,
    bootstrap_cluster_proportion,
    bootstrap_difference,
    bootstrap_ratio,
    max_t_bootstrap,
    simultaneous_wilson,
    wilson,
)


@pytest.fixture
def paired() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    base = rng.random(300) < 0.7
    # target: the baseline with about 15% of its right answers lost
    target = base & (rng.random(300) > 0.15)
    return base.astype(float), target.astype(float)


def test_seed_makes_the_interval_reproducible(paired: tuple[np.ndarray, np.ndarray]) -> None:
    base, target = paired
    a = bootstrap_difference(base, target, seed=11, resamples=500)
    b = bootstrap_difference(base, target, seed=11, resamples=500)
    c = bootstrap_difference(base, target, seed=12, resamples=500)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.seed == 11 and a.resamples == 500 and a.method == "bootstrap_paired" and a.n == 300


def test_difference_interval_contains_estimate_and_is_ordered(paired: tuple[np.ndarray, np.ndarray]) -> None:
    base, target = paired
    iv = bootstrap_difference(base, target, seed=1)
    assert iv.estimate == pytest.approx(base.mean() - target.mean())
    assert iv.low < iv.estimate < iv.high
    # The target only ever loses answers: the paired drop is surely positive.
    assert iv.low > 0


def test_pairing_narrows_the_interval_versus_unpaired(paired: tuple[np.ndarray, np.ndarray]) -> None:
    base, target = paired
    paired_iv = bootstrap_difference(base, target, seed=3)
    # Breaking the pairing (independent resampling of each arm) must give a wider interval.
    shuffled = np.random.default_rng(0).permutation(target)
    unpaired_iv = bootstrap_difference(base, shuffled, seed=3)
    assert paired_iv.high - paired_iv.low < unpaired_iv.high - unpaired_iv.low


def test_ratio_of_means(paired: tuple[np.ndarray, np.ndarray]) -> None:
    base, target = paired
    iv = bootstrap_ratio(target, base, seed=2)
    assert iv.estimate == pytest.approx(target.mean() / base.mean())
    assert iv.low < iv.estimate < iv.high < 1.0


def test_ratio_with_zero_denominator_is_not_estimable() -> None:
    iv = bootstrap_ratio([1.0, 0.0, 1.0], [0.0, 0.0, 0.0], seed=0, resamples=300)
    assert not iv.estimable and math.isnan(iv.low) and iv.note


def test_mostly_zero_denominators_make_bounds_not_estimable() -> None:
    # Denominator mean is non-zero on the full sample but zero in many resamples (one 1 in 40).
    y = np.zeros(40)
    y[0] = 1.0
    iv = bootstrap_ratio(np.ones(40), y, seed=0, resamples=400)
    assert math.isfinite(iv.estimate) and not iv.estimable and "not estimable" in (iv.note or "")


def test_cluster_bootstrap_counts_clusters_and_widens_for_correlated_items() -> None:
    rng = np.random.default_rng(5)
    per_cluster = rng.random(60) < 0.5
    values = np.repeat(per_cluster, 5).astype(float)  # five variants share their prompt's outcome
    clusters = np.repeat(np.arange(60), 5)
    clustered = bootstrap_cluster_proportion(values, clusters, seed=4)
    naive = bootstrap(values, lambda r: float(r[0].mean()), seed=4)
    assert clustered.n == 60 and naive.n == 300 and clustered.method == "bootstrap_cluster"
    assert clustered.estimate == pytest.approx(values.mean())
    # Variants add no information: the honest interval is about sqrt(5) wider than the naive one.
    ratio = (clustered.high - clustered.low) / (naive.high - naive.low)
    assert 1.7 < ratio < 2.8


def test_clusters_must_label_every_item() -> None:
    with pytest.raises(ValueError, match="one label per item"):
        bootstrap_cluster_proportion([1.0, 0.0, 1.0], [0, 1])


def test_bootstrap_refuses_ragged_rows() -> None:
    with pytest.raises(ValueError):
        bootstrap_difference([1.0, 0.0], [1.0])


def test_difference_upper_bound_covers_in_simulation() -> None:
    # Small coverage sanity: the one-sided 0.95 upper bound of a paired difference misses ~5%.
    rng = np.random.default_rng(99)
    reps, misses = 150, 0
    for rep in range(reps):
        x = (rng.random(80) < 0.6).astype(float)
        y = np.where(rng.random(80) < 0.8, x, 1 - x)  # correlated pair; true mean difference 0
        if bootstrap_difference(x, y, seed=rep, resamples=400).high < 0.0:
            misses += 1
    assert misses / reps < 0.12


def test_bonferroni_confidence() -> None:
    assert bonferroni_confidence(0.95, 1) == pytest.approx(0.95)
    assert bonferroni_confidence(0.95, 5) == pytest.approx(0.99)
    with pytest.raises(ValueError):
        bonferroni_confidence(0.95, 0)


def test_simultaneous_wilson_is_wider_and_says_so() -> None:
    ivs = simultaneous_wilson([(40, 100), (55, 100), (60, 100)], confidence=0.95)
    single = wilson(40, 100, 0.95)
    assert ivs[0].low < single.low and ivs[0].high > single.high
    assert ivs[0].low == pytest.approx(wilson(40, 100, 1 - 0.05 / 3).low)
    assert all(iv.method == "wilson_bonferroni" and iv.confidence == 0.95 for iv in ivs)
    assert "m=3" in (ivs[0].note or "")


def test_max_t_is_tighter_than_bonferroni_for_correlated_figures() -> None:
    rng = np.random.default_rng(8)
    base = (rng.random(200) < 0.5).astype(float)
    # five near-identical figures (the same knowledge under five prompt formats)
    rows = np.stack([np.where(rng.random(200) < 0.97, base, 1 - base) for _ in range(5)])
    ivs = max_t_bootstrap(rows, lambda r: r.mean(axis=1), seed=1, resamples=1000)
    bonf_conf = bonferroni_confidence(0.95, 5)
    bonf = [bootstrap(row, lambda r: float(r[0].mean()), confidence=bonf_conf, seed=1, resamples=1000) for row in rows]
    marginal = bootstrap(rows[0], lambda r: float(r[0].mean()), seed=1, resamples=1000)
    width = lambda iv: iv.high - iv.low  # noqa: E731
    assert len(ivs) == 5 and all(iv.low < iv.estimate < iv.high for iv in ivs)
    assert width(marginal) < width(ivs[0]) < width(bonf[0])
    assert ivs[0].method == "max_t_bootstrap" and ivs[0].seed == 1


def test_max_t_family_coverage_in_simulation() -> None:
    # Four independent figures at true mean 0.5: all four upper bounds hold together ~95% of the time,
    # while unadjusted marginal bounds fail together far more often (1 - 0.95^4 ~ 19%).
    rng = np.random.default_rng(3)
    reps, family_miss, marginal_miss = 120, 0, 0
    for rep in range(reps):
        rows = (rng.random((4, 60)) < 0.5).astype(float)
        ivs = max_t_bootstrap(rows, lambda r: r.mean(axis=1), seed=rep, resamples=300)
        family_miss += any(iv.high < 0.5 for iv in ivs)
        marginal_miss += any(wilson(int(r.sum()), 60).high < 0.5 for r in rows)
    assert family_miss / reps < 0.12
    assert marginal_miss > family_miss


def test_max_t_figure_without_spread_keeps_its_estimate() -> None:
    rows = np.stack([np.ones(50), (np.arange(50) % 2).astype(float)])
    ivs = max_t_bootstrap(rows, lambda r: r.mean(axis=1), seed=0, resamples=300)
    assert (ivs[0].low, ivs[0].high) == (1.0, 1.0)
    assert ivs[1].low < 0.5 < ivs[1].high


def test_clustered_difference_resamples_whole_clusters() -> None:
    rng = np.random.default_rng(21)
    base = np.repeat(rng.random(40) < 0.8, 4).astype(float)
    target = np.repeat(rng.random(40) < 0.5, 4).astype(float)
    clusters = np.repeat([f"prompt-{k}" for k in range(40)], 4)  # any hashable label works
    clustered = bootstrap_difference(base, target, clusters=clusters, seed=5)
    items = bootstrap_difference(base, target, seed=5)
    assert clustered.method == "bootstrap_cluster" and clustered.n == 40
    assert clustered.estimate == pytest.approx(items.estimate)
    assert clustered.high - clustered.low > 1.5 * (items.high - items.low)


def test_max_t_clip_keeps_proportion_bounds_in_range() -> None:
    rows = np.stack([np.r_[np.ones(58), np.zeros(2)], np.r_[np.ones(30), np.zeros(30)]])
    unclipped = max_t_bootstrap(rows, lambda r: r.mean(axis=1), seed=2, resamples=500)
    clipped = max_t_bootstrap(rows, lambda r: r.mean(axis=1), seed=2, resamples=500, clip=(0.0, 1.0))
    assert unclipped[0].high > 1.0  # estimate + c*se overshoots near the edge
    assert clipped[0].high == 1.0 and clipped[0].low == unclipped[0].low
    assert clipped[1] == unclipped[1]
