"""The forget check's corpus figures: verbatim memorisation and membership inference (not gated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluators.attacks.memorisation import (
    MIN_K,
    auc_interval,
    min_k_scores,
    privleak_interval,
    verbatim_memorisation,
)
from evaluators.checks.base import CheckContext
from evaluators.checks.forget.whitebox import white_box_of
from evaluators.models.protocol import Capability
from evaluators.stats import Interval
from evaluators.verdict import gated_metric
from schemas.jobs import ItemRecord
from schemas.requests import ForgetCheck
from schemas.scorecard import DatasetProvenance, Metric

MAX_TEXTS = 200
"""At most this many texts per corpus are used (the first ones), to bound generation cost."""


@dataclass
class CorpusFigures:
    metrics: list[Metric] = field(default_factory=list)
    records: list[ItemRecord] = field(default_factory=list)
    datasets: list[DatasetProvenance] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _metric(name: str, iv: Interval, model: str, direction: str = "lower_is_better") -> Metric:
    return gated_metric(name, iv, direction=direction, threshold=None, gated=False, model=model)  # type: ignore[arg-type]


async def corpus_figures(spec: ForgetCheck, ctx: CheckContext) -> CorpusFigures:
    """ROUGE-L memorisation on `spec.corpus`; with `spec.holdout_corpus`, min-k% AUC (and PrivLeak)."""
    out = CorpusFigures()
    if spec.corpus is None:
        return out
    policy = ctx.policy
    corpus = ctx.load_dataset(spec.corpus, "text")
    out.datasets.append(corpus.provenance())
    texts = [item.text for item in corpus.items[:MAX_TEXTS]]
    models = {"target": ctx.target, "baseline": ctx.baseline}
    for role, model in models.items():
        if model is None:
            continue
        if Capability.GENERATION not in model.capabilities:
            out.skipped[f"memorisation:{role}"] = "model cannot generate"
            continue
        iv, rows = await verbatim_memorisation(
            model,
            texts,
            confidence=policy.confidence,
            resamples=policy.bootstrap_resamples,
            seed=ctx.seed,
            hook=ctx.hook,
        )
        out.metrics.append(_metric("verbatim_memorisation_rouge_l", iv, role))
        out.records += [
            ItemRecord(
                check="forget",
                dataset=corpus.name,
                index=r["index"],
                variant="memorisation",
                model=role,
                record=r,
            )
            for r in rows
        ]
    if spec.holdout_corpus is None:
        return out
    holdout = ctx.load_dataset(spec.holdout_corpus, "text")
    out.datasets.append(holdout.provenance())
    held = [item.text for item in holdout.items[:MAX_TEXTS]]
    scores: dict[str, tuple[list[float], list[float]]] = {}
    roles = {**models, "reference": ctx.reference}
    for role, model in roles.items():
        wb = white_box_of(model, ctx.target_is_endpoint and role == "target")
        if model is None:
            continue
        if wb is None:
            out.skipped[f"membership_inference:{role}"] = "needs per-token log-probs (white-box)"
            continue
        members, nonmembers = await min_k_scores(wb, texts), await min_k_scores(wb, held)
        iv = auc_interval(
            members,
            nonmembers,
            confidence=policy.confidence,
            resamples=policy.bootstrap_resamples,
            seed=ctx.seed,
        )
        scores[role] = (members, nonmembers)
        out.metrics.append(_metric(f"membership_auc_min_{int(MIN_K * 100)}pct", iv, role))
    if "target" in scores and "reference" in scores:
        iv = privleak_interval(
            scores["target"],
            scores["reference"],
            confidence=policy.confidence,
            resamples=policy.bootstrap_resamples,
            seed=ctx.seed,
        )
        out.metrics.append(_metric("privleak", iv, "difference"))
    return out


def corpus_details(figures: CorpusFigures) -> dict[str, Any]:
    return {"corpus_skipped": figures.skipped} if figures.skipped else {}
