"""Text-level memorisation: how much of the reference a model reproduces when generating.

Generations are already cut (`rouge.truncate_generation`); each function averages a per-pair ROUGE
score over items and refuses empty or mismatched lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from evaluators.benchmarks.rouge import rouge_l_f1, rouge_l_recall


def qa_rouge(answers: Sequence[str], references: Sequence[str]) -> float:
    """TOFU "ROUGE": mean ROUGE-L recall of generated answers against the gold answers.

    TOFU paper (Maini et al. 2024); open-unlearning memorization.py `rouge` with rouge_type rougeL_recall
    (configs/eval/tofu_metrics/*_ROUGE.yaml).
    """
    return _mean_rouge(answers, references, rouge_l_recall)


def verbatim_memorisation(continuations: Sequence[str], references: Sequence[str]) -> float:
    """MUSE VerbMem: mean ROUGE-L F1 of the continuation generated from a forget-text prefix against the
    true continuation. MUSE paper (Shi et al. 2024) criterion C1; open-unlearning configs/eval/muse_metrics/
    forget_verbmem_ROUGE.yaml (rougeL_f1, 128 new tokens).
    """
    return _mean_rouge(continuations, references, rouge_l_f1)


def knowledge_memorisation(answers: Sequence[str], references: Sequence[str]) -> float:
    """MUSE KnowMem: mean ROUGE-L F1 of few-shot QA answers against the gold answers (forget or retain
    QA set). MUSE paper criteria C2 (forget) and C4 (retain); open-unlearning
    configs/eval/muse_metrics/*_knowmem_ROUGE.yaml (rougeL_f1, 32 new tokens).
    """
    return _mean_rouge(answers, references, rouge_l_f1)


def _mean_rouge(predictions: Sequence[str], references: Sequence[str], score: Callable[[str, str], float]) -> float:
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("pass lists of texts, not a single string")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} generations for {len(references)} references")
    if not predictions:
        raise ValueError("need at least one generation")
    return float(np.mean([score(p, r) for p, r in zip(predictions, references, strict=True)]))
