"""Wilson, Clopper-Pearson, the exact binomial test and McNemar against known values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.stats import binomial_test_below, clopper_pearson, mcnemar_exact, wilson


def test_wilson_8_of_10_two_sided_95_matches_the_textbook() -> None:
    # Two-sided 95% = one-sided 0.975 per bound; the published Wilson interval is (0.4902, 0.9433).
    iv = wilson(8, 10, confidence=0.975)
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.4902, 0.9433)
    assert iv.estimate == 0.8 and iv.n == 10 and iv.method == "wilson" and iv.confidence == 0.975


def test_wilson_one_sided_095_is_the_two_sided_90_interval() -> None:
    one_sided = wilson(30, 100, confidence=0.95)
    # z = 1.6449 for both; computed independently from the closed form.
    z, p, n = 1.6448536269514722, 0.3, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert one_sided.low == pytest.approx(centre - half, abs=1e-12)
    assert one_sided.high == pytest.approx(centre + half, abs=1e-12)


def test_wilson_edges_zero_and_all_successes() -> None:
    zero = wilson(0, 10, confidence=0.975)
    assert zero.low == 0.0 and round(zero.high, 4) == 0.2775
    full = wilson(10, 10, confidence=0.975)
    assert full.high == 1.0 and round(full.low, 4) == 0.7225
    empty = wilson(0, 0)
    assert math.isnan(empty.estimate) and (empty.low, empty.high) == (0.0, 1.0) and not empty.estimable


@pytest.mark.parametrize("k,n", [(-1, 5), (6, 5), (1, -1)])
def test_wilson_refuses_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson(k, n)


def test_confidence_outside_half_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 2, confidence=0.4)


def test_clopper_pearson_matches_r_binom_test() -> None:
    # R: binom.test(8, 10)$conf.int = 0.4439045 0.9747893
    iv = clopper_pearson(8, 10, confidence=0.975)
    assert iv.low == pytest.approx(0.4439045, abs=1e-6)
    assert iv.high == pytest.approx(0.9747893, abs=1e-6)
    assert clopper_pearson(0, 7).low == 0.0 and clopper_pearson(7, 7).high == 1.0


def test_clopper_pearson_is_wider_than_wilson() -> None:
    cp, w = clopper_pearson(13, 40), wilson(13, 40)
    assert cp.low < w.low and cp.high > w.high


def test_binomial_below_chance_against_the_binomial_sum() -> None:
    # P(X <= 2 | n=20, p=1/4), summed by hand rather than by scipy.
    expected = sum(math.comb(20, k) * 0.25**k * 0.75 ** (20 - k) for k in range(3))
    res = binomial_test_below(2, 20, 0.25)
    assert res.p_value == pytest.approx(expected, rel=1e-9)
    assert res.alternative == "less" and res.n == 20
    assert binomial_test_below(5, 20, 0.25).p_value > 0.5  # at chance: no evidence of below-chance


def test_mcnemar_exact_textbook_example() -> None:
    # 10 pairs where only the first is right, 2 where only the second is: p = 2 * P(X <= 2 | 12, 1/2).
    first = np.array([1] * 10 + [0] * 2 + [1] * 30 + [0] * 8, dtype=bool)
    second = np.array([0] * 10 + [1] * 2 + [1] * 30 + [0] * 8, dtype=bool)
    res = mcnemar_exact(first, second)
    assert res.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096, rel=1e-9)
    assert res.details == {"first_only": 10, "second_only": 2, "discordant": 12}
    assert res.statistic == 8 and res.n == 50
    one_sided = mcnemar_exact(first, second, alternative="greater")
    assert one_sided.p_value == pytest.approx((1 + 12 + 66) / 4096, rel=1e-9)
    assert mcnemar_exact(second, first, alternative="greater").p_value > 0.9


def test_mcnemar_without_discordant_pairs_is_p_one() -> None:
    same = np.array([1, 0, 1], dtype=bool)
    assert mcnemar_exact(same, same).p_value == 1.0
    with pytest.raises(ValueError, match="paired"):
        mcnemar_exact([1, 0], [1])


def test_wilson_bounds_cover_at_their_level_in_simulation() -> None:
    # Each one-sided 0.95 bound should miss about 5% of the time (Wilson is near-nominal at n=100).
    rng = np.random.default_rng(20261128)
    p, n, reps = 0.3, 100, 2000
    ks = rng.binomial(n, p, size=reps)
    misses_high = sum(wilson(int(k), n).high < p for k in ks) / reps
    misses_low = sum(wilson(int(k), n).low > p for k in ks) / reps
    assert 0.02 < misses_high < 0.08
    assert 0.02 < misses_low < 0.08
