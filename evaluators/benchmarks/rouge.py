"""ROUGE between a generated text and its reference, scored by Google's `rouge_score` package with the
Porter stemmer, as open-unlearning scores it (src/evals/metrics/utils.py `eval_text_similarity`).

Tokenisation (rouge_score's): lower-case, every run of characters outside [a-z0-9] is a separator,
tokens longer than three characters are stemmed. The reference is the `target`, so recall = LCS / |reference|.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rouge_score import rouge_scorer


@lru_cache(maxsize=1)
def _scorer() -> rouge_scorer.RougeScorer:
    # Read-only after construction, so one per process is safe to share between jobs.
    return rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)


def rouge_l_recall(prediction: str, reference: str) -> float:
    """ROUGE-L recall, LCS(prediction, reference) / |reference| in tokens (TOFU paper; 0 if either is empty)."""
    return float(_scorer().score(reference, prediction)["rougeL"].recall)


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1, 2·P·R / (P + R) over the LCS (MUSE paper; open-unlearning's `rougeL_f1`)."""
    return float(_scorer().score(reference, prediction)["rougeL"].fmeasure)


def rouge1_recall(prediction: str, reference: str) -> float:
    """ROUGE-1 recall: clipped unigram overlap / |reference| (open-unlearning's `rouge1_recall`)."""
    return float(_scorer().score(reference, prediction)["rouge1"].recall)


def truncate_generation(text: str, stop_strings: Sequence[str], eos_text: str = "") -> str:
    """Cut a generation at the first occurrence of each stop string in turn (EOS first), then strip.

    Reproduces the post-processing in open-unlearning utils.py `eval_text_similarity`; MUSE's knowledge
    QA stops at "\\n\\n", "\\nQuestion", "Question:" (configs/eval/muse_metrics/forget_knowmem_ROUGE.yaml).
    """
    for stop in (eos_text, *stop_strings):
        if stop and stop in text:
            text = text.split(stop)[0]
    return text.strip()
