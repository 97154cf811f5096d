"""TOFU and MUSE formulas against values worked out by hand from their definitions (open-unlearning
src/evals/metrics/, the TOFU and MUSE papers). Expected values are written as plain arithmetic."""

from __future__ import annotations

import itertools
import math
import random
import zlib

import numpy as np
import pytest

from evaluators.benchmarks import (
    TOFU_MODEL_UTILITY_COMPONENTS,
    average_nll,
    closer_to_1_better,
    exact_memorisation,
    extraction_strength,
    forget_quality,
    item_probabilities,
    knowledge_memorisation,
    loss_score,
    mia_auc,
    min_k,
    min_k_plus_plus,
    model_utility,
    normalised_probability,
    normalised_qa_probability,
    option_normalised_probabilities,
    privleak,
    prob_mean,
    qa_probability,
    qa_rouge,
    rouge1_recall,
    rouge_l_f1,
    rouge_l_recall,
    true_better,
    truncate_generation,
    truth_ratio,
    truth_ratios,
    verbatim_memorisation,
    vocab_moments,
    zlib_score,
)

EPS = 1e-10  # open-unlearning's denominator guard, part of the formulas being reproduced
TOL = 1e-6


# --- length-normalised likelihood and TOFU probabilities ---------------------------------------


def test_average_nll_is_the_mean_token_loss_and_its_exponential_the_normalised_probability() -> None:
    assert average_nll([-0.5, -1.0, -1.5]) == pytest.approx((0.5 + 1.0 + 1.5) / 3, abs=TOL)
    assert normalised_probability([1.0, 0.0]) == pytest.approx([math.exp(-1.0), 1.0], abs=TOL)
    with pytest.raises(ValueError):
        average_nll([])


def test_qa_probability_averages_probabilities_not_losses_over_an_items_answers() -> None:
    avg_nll = [[0.5, 1.5], [2.0, 2.0]]
    item0 = (math.exp(-0.5) + math.exp(-1.5)) / 2
    item1 = math.exp(-2.0)
    assert item_probabilities(avg_nll) == pytest.approx([item0, item1], abs=TOL)
    assert qa_probability(avg_nll) == pytest.approx((item0 + item1) / 2, abs=TOL)
    assert qa_probability([0.0]) == pytest.approx(1.0, abs=TOL)
    with pytest.raises(ValueError):
        qa_probability([])


def test_normalised_probability_divides_by_the_sum_over_all_options() -> None:
    correct = [0.5, 1.0]
    wrong = [[1.0, 2.0], [0.2, 3.0]]
    item0 = math.exp(-0.5) / (math.exp(-0.5) + math.exp(-1.0) + math.exp(-2.0) + EPS)
    item1 = math.exp(-1.0) / (math.exp(-1.0) + math.exp(-0.2) + math.exp(-3.0) + EPS)
    assert option_normalised_probabilities(correct, wrong) == pytest.approx([item0, item1], abs=TOL)
    assert normalised_qa_probability(correct, wrong) == pytest.approx((item0 + item1) / 2, abs=TOL)
    # equally likely options share the probability mass
    assert normalised_qa_probability([1.0], [[1.0, 1.0, 1.0]]) == pytest.approx(1 / 4, abs=TOL)
    with pytest.raises(ValueError):
        normalised_qa_probability([0.5, 1.0], [[1.0, 2.0]])


# --- TOFU truth ratio -------------------------------------------------------------------------


def test_truth_ratio_uses_the_geometric_mean_of_perturbed_probabilities_over_the_paraphrase() -> None:
    correct = [0.5, 2.0]
    wrong = [[1.0, 2.0], [1.0, 1.0]]
    # perturbed NLLs are averaged first: exp(-(1.0 + 2.0) / 2), i.e. sqrt(exp(-1) * exp(-2))
    r0 = math.exp(-1.5) / (math.exp(-0.5) + EPS)
    r1 = math.exp(-1.0) / (math.exp(-2.0) + EPS)
    assert truth_ratios(correct, wrong) == pytest.approx([r0, r1], abs=TOL)
    share0 = math.exp(-0.5) / (math.exp(-0.5) + math.exp(-1.5) + EPS)
    share1 = math.exp(-2.0) / (math.exp(-2.0) + math.exp(-1.0) + EPS)
    assert truth_ratios(correct, wrong, definition="true_share") == pytest.approx([share0, share1], abs=TOL)


def test_truth_ratio_aggregators() -> None:
    ratios = [0.5, 2.0, 1.0]
    closer = (0.5 + 1 / (2.0 + EPS) + 1 / (1.0 + EPS)) / 3  # min(r, 1/r): 0.5, 0.5, 1
    assert closer_to_1_better(ratios) == pytest.approx(closer, abs=TOL)
    assert true_better(ratios) == pytest.approx((0.5 + 0.0 + 0.0) / 3, abs=TOL)
    assert prob_mean(ratios) == pytest.approx((0.5 + 2.0 + 1.0) / 3, abs=TOL)
    # a model that cannot tell right from wrong scores 1 on the forget aggregation, 0 on utility
    assert closer_to_1_better([1.0, 1.0]) == pytest.approx(1.0, abs=TOL)
    assert true_better([1.0, 1.0]) == 0.0
    for aggregate in (closer_to_1_better, true_better, prob_mean):
        with pytest.raises(ValueError):
            aggregate([])


def test_truth_ratio_end_to_end_for_each_aggregator() -> None:
    correct = [1.0, 0.2]
    wrong = [[1.0, 3.0], [0.4, 0.4]]
    r0 = math.exp(-2.0) / (math.exp(-1.0) + EPS)
    r1 = math.exp(-0.4) / (math.exp(-0.2) + EPS)
    assert truth_ratio(correct, wrong, "closer_to_1_better") == pytest.approx(
        (min(r0, 1 / (r0 + EPS)) + min(r1, 1 / (r1 + EPS))) / 2, abs=TOL
    )
    assert truth_ratio(correct, wrong, "true_better") == pytest.approx(((1 - r0) + (1 - r1)) / 2, abs=TOL)
    s0 = math.exp(-1.0) / (math.exp(-1.0) + math.exp(-2.0) + EPS)
    s1 = math.exp(-0.2) / (math.exp(-0.2) + math.exp(-0.4) + EPS)
    assert truth_ratio(correct, wrong, "prob_mean") == pytest.approx((s0 + s1) / 2, abs=TOL)
    with pytest.raises(ValueError):
        truth_ratio(correct, wrong, "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        truth_ratio([], [], "true_better")


# --- TOFU forget quality ----------------------------------------------------------------------


def _ks_statistic(a: list[float], b: list[float]) -> float:
    points = sorted(set(a) | set(b))
    return max(abs(sum(x <= t for x in a) / len(a) - sum(x <= t for x in b) / len(b)) for t in points)


def _exact_ks_pvalue(a: list[float], b: list[float]) -> float:
    """Share of all ways to split the pooled values into samples of these sizes with D at least as large."""
    pooled = a + b
    observed = _ks_statistic(a, b)
    splits = list(itertools.combinations(range(len(pooled)), len(a)))
    extreme = 0
    for chosen in splits:
        first = [pooled[i] for i in chosen]
        second = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        extreme += _ks_statistic(first, second) >= observed - 1e-12
    return extreme / len(splits)


def test_forget_quality_is_the_exact_two_sided_ks_p_value() -> None:
    # fully separated samples of 3: D = 1, reached by 2 of the C(6, 3) = 20 splits
    assert forget_quality([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(2 / 20, abs=TOL)
    assert forget_quality([1.0, 2.0], [3.0, 4.0]) == pytest.approx(2 / 6, abs=TOL)
    target = [0.1, 0.4, 0.5, 0.9, 1.3]
    retain = [0.2, 0.3, 0.6, 0.7, 0.8, 1.1]
    assert forget_quality(target, retain) == pytest.approx(_exact_ks_pvalue(target, retain), abs=TOL)


def test_forget_quality_of_identical_distributions_is_one() -> None:
    assert forget_quality([0.7, 0.7, 0.7], [0.7, 0.7, 0.7]) == pytest.approx(1.0, abs=TOL)
    assert forget_quality([0.2, 0.5, 0.9], [0.2, 0.5, 0.9]) == pytest.approx(1.0, abs=TOL)


def test_forget_quality_with_ties_across_samples() -> None:
    # F_target - F_retain is 2/3 - 1/3 at 1 and 0 at 2, so D = 1/3, the smallest D two samples of 3 can have
    assert _ks_statistic([1.0, 1.0, 2.0], [1.0, 2.0, 2.0]) == pytest.approx(1 / 3)
    assert forget_quality([1.0, 1.0, 2.0], [1.0, 2.0, 2.0]) == pytest.approx(1.0, abs=TOL)


def test_forget_quality_does_not_depend_on_inverting_the_ratio() -> None:
    # open-unlearning's utils.get_forget_quality tests 1/R, privacy.ks_test tests R: KS is rank-based
    target = [0.3, 0.8, 1.5, 2.2]
    retain = [0.5, 0.6, 0.9, 1.1, 3.0]
    inverted = forget_quality([1 / (r + EPS) for r in target], [1 / (r + EPS) for r in retain])
    assert forget_quality(target, retain) == pytest.approx(inverted, abs=TOL)


def test_forget_quality_refuses_an_empty_sample() -> None:
    with pytest.raises(ValueError):
        forget_quality([], [0.5, 1.0])
    with pytest.raises(ValueError):
        forget_quality([0.5], [])


# --- TOFU model utility -----------------------------------------------------------------------


def test_model_utility_is_the_harmonic_mean() -> None:
    assert model_utility([0.5, 0.25, 1.0]) == pytest.approx(3 / (1 / 0.5 + 1 / 0.25 + 1 / 1.0), abs=TOL)
    values = dict(zip(TOFU_MODEL_UTILITY_COMPONENTS, [0.9, 0.8, 0.6, 0.5, 0.9, 0.7, 0.4, 0.85, 0.6], strict=True))
    expected = 9 / sum(1 / v for v in values.values())
    assert model_utility(values) == pytest.approx(expected, abs=TOL)
    assert len(TOFU_MODEL_UTILITY_COMPONENTS) == 9


def test_model_utility_edge_cases() -> None:
    assert model_utility([0.8, 0.0, 0.9]) == 0.0  # one collapsed capability collapses utility
    assert model_utility([0.4, 0.4]) == pytest.approx(0.4, abs=TOL)
    for bad in ([], [0.5, -0.1], [0.5, float("nan")]):
        with pytest.raises(ValueError):
            model_utility(bad)
    with pytest.raises(ValueError):
        model_utility({"retain_Q_A_Prob": 0.5})


# --- ROUGE ------------------------------------------------------------------------------------


def test_rouge_l_on_hand_worked_pairs() -> None:
    # LCS "the cat on the mat" = 5 of 6 tokens each side
    assert rouge_l_recall("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6, abs=TOL)
    # stemming: dogs -> dog, running -> run; LCS 2, recall 2/2, precision 2/4
    assert rouge_l_recall("The dogs were running", "dog running") == pytest.approx(2 / 2, abs=TOL)
    assert rouge_l_f1("The dogs were running", "dog running") == pytest.approx(
        2 * (2 / 4) * (2 / 2) / (2 / 4 + 2 / 2), abs=TOL
    )
    # case and punctuation are not tokens
    assert rouge_l_recall("Hello, world!", "hello world") == pytest.approx(1.0, abs=TOL)
    # LCS("a a b", "a b b") = 2; ROUGE-1 clips counts: min(2, 1) + min(1, 2) = 2
    assert rouge_l_recall("a a b", "a b b") == pytest.approx(2 / 3, abs=TOL)
    assert rouge1_recall("a a b", "a b b") == pytest.approx(2 / 3, abs=TOL)
    # recall is over the reference, not the prediction
    assert rouge_l_recall("x y", "x y z w") == pytest.approx(2 / 4, abs=TOL)
    assert rouge_l_recall("x y z w", "x y") == pytest.approx(2 / 2, abs=TOL)


def test_rouge_l_of_empty_texts_is_zero() -> None:
    assert rouge_l_recall("", "an answer") == 0.0
    assert rouge_l_f1("an answer", "") == 0.0
    assert rouge_l_recall("!!!", "an answer") == 0.0


def _lcs(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


def test_rouge_l_recall_and_f1_agree_with_a_plain_lcs_on_unstemmed_words() -> None:
    # words of at most 3 letters are never stemmed, so the tokens are the words themselves
    rng = random.Random(5)
    words = ["a", "an", "the", "cat", "dog", "sat", "on", "mat", "is", "red"]
    for _ in range(300):
        pred = [rng.choice(words) for _ in range(rng.randint(1, 12))]
        ref = [rng.choice(words) for _ in range(rng.randint(1, 12))]
        lcs = _lcs(pred, ref)
        recall, precision = lcs / len(ref), lcs / len(pred)
        f1 = 0.0 if lcs == 0 else 2 * precision * recall / (precision + recall)
        assert rouge_l_recall(" ".join(pred), " ".join(ref)) == pytest.approx(recall, abs=TOL)
        assert rouge_l_f1(" ".join(pred), " ".join(ref)) == pytest.approx(f1, abs=TOL)


def test_truncate_generation_cuts_at_eos_then_each_stop_string() -> None:
    stops = ["\n\n", "\nQuestion", "Question:"]
    assert truncate_generation(" Paris.\n\nQuestion: and Rome?", stops) == "Paris."
    assert truncate_generation("Paris</s> junk", stops, eos_text="</s>") == "Paris"
    assert truncate_generation("  no stop here ", stops) == "no stop here"


# --- TOFU and MUSE text memorisation ----------------------------------------------------------


def test_text_memorisation_aggregates_are_means_over_items() -> None:
    preds = ["the cat sat on the mat", "x y"]
    refs = ["the cat is on the mat", "x y z w"]
    assert qa_rouge(preds, refs) == pytest.approx((5 / 6 + 2 / 4) / 2, abs=TOL)
    f1_second = 2 * (2 / 2) * (2 / 4) / (2 / 2 + 2 / 4)
    assert verbatim_memorisation(preds, refs) == pytest.approx((5 / 6 + f1_second) / 2, abs=TOL)
    assert knowledge_memorisation(preds, refs) == pytest.approx((5 / 6 + f1_second) / 2, abs=TOL)


def test_text_memorisation_refuses_empty_or_mismatched_lists() -> None:
    with pytest.raises(ValueError):
        verbatim_memorisation([], [])
    with pytest.raises(ValueError):
        knowledge_memorisation(["a"], ["a", "b"])
    with pytest.raises(TypeError):
        qa_rouge("an answer", "an answer")


def test_exact_memorisation_and_extraction_strength() -> None:
    assert exact_memorisation([1, 2, 3, 4], [9, 2, 3, 4]) == pytest.approx(3 / 4, abs=TOL)
    # the suffix from position 1 is predicted exactly: ES = 1 - 1/4
    assert extraction_strength([1, 2, 3, 4], [9, 2, 3, 4]) == pytest.approx(1 - 1 / 4, abs=TOL)
    assert extraction_strength([5, 6, 7], [5, 6, 7]) == pytest.approx(1.0, abs=TOL)
    # open-unlearning's loop stops at k = n - 1, so nothing extracted still scores 1/n
    assert extraction_strength([1, 1, 1], [2, 2, 2]) == pytest.approx(1 - 2 / 3, abs=TOL)
    assert exact_memorisation([1, 1, 1], [2, 2, 2]) == 0.0
    assert exact_memorisation([], []) is None
    assert extraction_strength([], []) == 0.0
    with pytest.raises(ValueError):
        exact_memorisation([1], [1, 2])


# --- membership inference ---------------------------------------------------------------------


def test_loss_and_zlib_scores() -> None:
    assert loss_score(2.5) == 2.5
    text = "Basil Mahfouz Al-Kuwaiti was born in Kuwait City."
    assert zlib_score(2.5, text) == pytest.approx(2.5 / len(zlib.compress(text.encode("utf-8"))), abs=TOL)


def test_min_k_is_the_negated_mean_of_the_lowest_k_share() -> None:
    lp = [-1.0, -5.0, -2.0, -0.5, -3.0]
    assert min_k(lp, 0.4) == pytest.approx(-(-5.0 + -3.0) / 2, abs=TOL)  # int(5 * 0.4) = 2 tokens
    assert min_k(lp, 0.1) == pytest.approx(5.0, abs=TOL)  # int(0.5) = 0, at least one token
    assert min_k(lp, 1.0) == pytest.approx((1.0 + 5.0 + 2.0 + 0.5 + 3.0) / 5, abs=TOL)
    assert min_k([-2.0, -2.0, -1.0], 0.4) == pytest.approx(2.0, abs=TOL)  # ties: int(1.2) = 1
    assert min_k([], 0.4) == 0.0
    with pytest.raises(ValueError):
        min_k(lp, 0.0)


def test_vocab_moments_are_the_mean_and_variance_of_log_p_under_the_model() -> None:
    p = [0.5, 0.25, 0.25]
    mu = 0.5 * math.log(0.5) + 0.25 * math.log(0.25) + 0.25 * math.log(0.25)
    second = 0.5 * math.log(0.5) ** 2 + 0.25 * math.log(0.25) ** 2 + 0.25 * math.log(0.25) ** 2
    got_mu, got_var = vocab_moments(np.log([p, [1.0, 1e-300, 1e-300]]))
    assert got_mu[0] == pytest.approx(mu, abs=TOL)
    assert got_var[0] == pytest.approx(second - mu**2, abs=TOL)
    assert got_var[1] == pytest.approx(0.0, abs=TOL)  # a certain prediction has no spread


def test_min_k_plus_plus_standardises_each_token_then_takes_the_lowest() -> None:
    lp = [-1.0, -2.0, -0.1]
    mu = [-1.5, -1.0, -0.5]
    var = [0.25, 4.0, 0.0]  # the last is clamped to 1e-6 before the square root
    z = [(-1.0 + 1.5) / 0.5, (-2.0 + 1.0) / 2.0, (-0.1 + 0.5) / math.sqrt(1e-6)]
    assert min_k_plus_plus(lp, mu, var, 0.5) == pytest.approx(-min(z), abs=TOL)  # int(1.5) = 1 token
    assert min_k_plus_plus(lp, mu, var, 1.0) == pytest.approx(-sum(z) / 3, abs=TOL)
    assert min_k_plus_plus([], [], [], 0.4) == 0.0
    with pytest.raises(ValueError):
        min_k_plus_plus(lp, mu[:2], var, 0.4)


def test_mia_auc_counts_holdout_above_forget_with_ties_as_half() -> None:
    forget, holdout = [1.0, 2.0, 3.0], [2.0, 4.0, 5.0]
    # holdout 2 beats forget 1, ties forget 2, loses to 3: 1.5; holdout 4 and 5 beat all three: 6
    assert mia_auc(forget, holdout) == pytest.approx((1.5 + 3 + 3) / 9, abs=TOL)
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    labels = [0] * len(forget) + [1] * len(holdout)
    assert mia_auc(forget, holdout) == pytest.approx(sklearn_metrics.roc_auc_score(labels, forget + holdout))


def test_mia_auc_extremes_and_all_ties() -> None:
    assert mia_auc([0.1, 0.2], [0.9, 1.0, 1.1]) == 1.0  # forget far more familiar (lower loss)
    assert mia_auc([0.9, 1.0], [0.1, 0.2]) == 0.0
    assert mia_auc([0.5, 0.5], [0.5, 0.5, 0.5]) == pytest.approx(0.5, abs=TOL)
    with pytest.raises(ValueError):
        mia_auc([], [0.5])


def test_mia_auc_matches_sklearn_on_random_scores_with_ties() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for _ in range(50):
        forget = rng.integers(0, 6, rng.integers(1, 20)).astype(float)
        holdout = rng.integers(0, 6, rng.integers(1, 20)).astype(float)
        labels = [0] * forget.size + [1] * holdout.size
        expected = sklearn_metrics.roc_auc_score(labels, np.concatenate([forget, holdout]))
        assert mia_auc(forget, holdout) == pytest.approx(expected, abs=TOL)


# --- MUSE privleak ----------------------------------------------------------------------------


def test_privleak_flips_both_aucs_and_compares_to_the_retain_model() -> None:
    # target recognises the forget set perfectly, retain model at chance: MUSE's -100 (under-unlearning)
    assert privleak(1.0, 0.5) == pytest.approx((0.0 - 0.5) / (0.5 + EPS) * 100, abs=TOL)
    assert privleak(0.5, 0.5) == pytest.approx(0.0, abs=TOL)
    assert privleak(0.7) == pytest.approx(((1 - 0.7) - 0.5) / (0.5 + EPS) * 100, abs=TOL)  # default ref 0.5
    # over-unlearning: the forget set now looks less familiar than holdout text
    assert privleak(0.2, 0.45) == pytest.approx(((1 - 0.2) - (1 - 0.45)) / ((1 - 0.45) + EPS) * 100, abs=TOL)


def test_privleak_with_a_zero_reference_auc_divides_by_the_epsilon() -> None:
    # retain AUC 1 is AUC 0 in MUSE's orientation: open-unlearning divides by 1e-10, no error
    assert privleak(1.0, 1.0) == 0.0
    assert privleak(0.9, 1.0) == pytest.approx(((1 - 0.9) - 0.0) / (0.0 + EPS) * 100, rel=1e-9)
    with pytest.raises(ValueError):
        privleak(1.2, 0.5)
