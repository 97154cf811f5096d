"""TOFU and MUSE metric formulas, computed as open-unlearning computes them (github.com/locuslab/
open-unlearning, src/evals/metrics/), on quantities a model backend has already produced: per-token
log-probabilities, average NLLs, generated texts. numpy/scipy only; nothing here runs a model.

Definitions, meaning and sources: docs/benchmark-metrics.md.

    average_nll, normalised_probability          length-normalised answer likelihood
    qa_probability, normalised_qa_probability    TOFU Prob. (plain; normalised over answer options)
    truth_ratios, truth_ratio                    TOFU truth ratio per item, and its three aggregations
    forget_quality                               TOFU KS-test p-value, audited vs retain model
    model_utility                                TOFU harmonic mean of nine utility metrics
    rouge_l_recall, rouge_l_f1, rouge1_recall    rouge_score with the Porter stemmer
    truncate_generation                          stop-string cut applied before scoring
    qa_rouge                                     TOFU ROUGE (ROUGE-L recall)
    verbatim_memorisation, knowledge_memorisation  MUSE VerbMem and KnowMem (ROUGE-L F1)
    exact_memorisation, extraction_strength      token-level memorisation (EM, ES)
    loss_score, zlib_score, min_k, min_k_plus_plus, vocab_moments   membership-inference scores
    mia_auc                                      forget-vs-holdout AUC (open-unlearning orientation)
    privleak                                     MUSE PrivLeak relative to the retain model
"""

from evaluators.benchmarks.auc import mia_auc
from evaluators.benchmarks.forget_quality import forget_quality
from evaluators.benchmarks.likelihood import average_nll, normalised_probability
from evaluators.benchmarks.membership import loss_score, min_k, min_k_plus_plus, vocab_moments, zlib_score
from evaluators.benchmarks.memorisation import knowledge_memorisation, qa_rouge, verbatim_memorisation
from evaluators.benchmarks.model_utility import TOFU_MODEL_UTILITY_COMPONENTS, model_utility
from evaluators.benchmarks.privleak import privleak
from evaluators.benchmarks.probability import (
    item_probabilities,
    normalised_qa_probability,
    option_normalised_probabilities,
    qa_probability,
)
from evaluators.benchmarks.rouge import rouge1_recall, rouge_l_f1, rouge_l_recall, truncate_generation
from evaluators.benchmarks.token_memorisation import exact_memorisation, extraction_strength
from evaluators.benchmarks.truth_ratio import (
    TruthRatioAggregator,
    closer_to_1_better,
    prob_mean,
    true_better,
    truth_ratio,
    truth_ratios,
)

__all__ = [
    "TOFU_MODEL_UTILITY_COMPONENTS",
    "TruthRatioAggregator",
    "average_nll",
    "closer_to_1_better",
    "exact_memorisation",
    "extraction_strength",
    "forget_quality",
    "item_probabilities",
    "knowledge_memorisation",
    "loss_score",
    "mia_auc",
    "min_k",
    "min_k_plus_plus",
    "model_utility",
    "normalised_probability",
    "normalised_qa_probability",
    "option_normalised_probabilities",
    "privleak",
    "prob_mean",
    "qa_probability",
    "qa_rouge",
    "rouge1_recall",
    "rouge_l_f1",
    "rouge_l_recall",
    "true_better",
    "truncate_generation",
    "truth_ratio",
    "truth_ratios",
    "verbatim_memorisation",
    "vocab_moments",
    "zlib_score",
]
