"""Degenerate-generation rate on benign prompts: does the model still produce language?"""

from __future__ import annotations

from collections.abc import Sequence

from evaluators.checks.base import CheckContext
from evaluators.checks.refusal.judges.degeneracy import DEGENERACY_VERSION, DegeneracyDetector
from evaluators.models.protocol import Capability, GenerationRequest, LanguageModel
from evaluators.stats import bootstrap_difference, wilson
from evaluators.verdict import gated_metric
from schemas.jobs import ItemRecord
from schemas.scorecard import Metric

MAX_NEW_TOKENS = 64


async def degenerate_figures(
    prompts: Sequence[str], dataset: str, roles: Sequence[tuple[str, LanguageModel]], ctx: CheckContext
) -> tuple[list[Metric], list[ItemRecord]]:
    """Degenerate rate per model (Wilson) and its change target - baseline (paired bootstrap); not gated."""
    detector = DegeneracyDetector()
    flags: dict[str, list[bool]] = {}
    records: list[ItemRecord] = []
    metrics: list[Metric] = []
    for role, model in roles:
        if Capability.GENERATION not in model.capabilities:
            continue
        replies = await model.generate(
            [GenerationRequest(p, max_new_tokens=MAX_NEW_TOKENS, chat=True) for p in prompts], ctx.hook
        )
        judged = [detector.judge(r) for r in replies]
        flags[role] = [j is not None for j in judged]
        records += [
            ItemRecord(
                check="collateral",
                dataset=dataset,
                index=i,
                variant="generation",
                model=role,
                record={
                    "prompt": p,
                    "reply": r,
                    "degenerate": j is not None,
                    "signals": j.signals if j else detector.signals(r),
                    "judge": DEGENERACY_VERSION,
                },
            )
            for i, (p, r, j) in enumerate(zip(prompts, replies, judged, strict=True))
        ]
        iv = wilson(sum(flags[role]), len(prompts), ctx.policy.confidence)
        metrics.append(
            gated_metric(
                "degenerate_rate", iv, direction="lower_is_better", threshold=None, model=role, variant=dataset
            )
        )
    if "target" in flags and "baseline" in flags:
        change = bootstrap_difference(
            flags["target"],
            flags["baseline"],
            confidence=ctx.policy.confidence,
            resamples=ctx.policy.bootstrap_resamples,
            seed=ctx.seed,
        )
        metrics.append(
            gated_metric(
                "degenerate_rate_change",
                change,
                direction="lower_is_better",
                threshold=None,
                model="difference",
                variant=dataset,
            )
        )
    return metrics, records
