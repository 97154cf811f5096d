"""The forget efficacy check: is the knowledge gone, or only hidden?

Every elicitation is scored on the target and the baseline alike, out of fold (see `folds`), and the
headline is the worst case: the normalised residual knowledge of the strongest elicitation, chosen on the
selection half and reported on the report half (see `figures` for the definitions and the verdict rule).

Elicitations: `standard` (lm-eval MMLU/WMDP) always; black-box formats (`templates`) on every target;
white-box attacks (`whitebox`: relearning with placebo, benign relearning, int8/NF4 quantization, logit
lens, linear probe; `ablation_attack`: direction ablation with placebo) on checkpoint targets only, listed as
skipped with the reason elsewhere. Verbatim memorisation and membership inference
(`evaluators.attacks.memorisation`) are reported, not gated.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators.checks.base import CheckContext, CheckOutcome
from evaluators.checks.forget.attack_names import BLACK_BOX_ATTACKS, WHITE_BOX_ATTACKS
from evaluators.checks.forget.corpus import CorpusFigures, corpus_details
from evaluators.checks.forget.figures import (
    ElicitationScores,
    ForgetDecision,
    baseline_knowledge,
    choose_strongest,
    decide,
    residual_interval,
    simultaneous_residuals,
)
from evaluators.checks.forget.folds import chance_levels, selection_half, stratified_folds
from evaluators.checks.forget.report import clip_interval, elicitation_metrics
from evaluators.checks.forget.tally import Tally
from evaluators.checks.forget.templates import ATTACK_TO_ELICITATIONS
from evaluators.checks.forget.units import Unit, UnitComputer, UnitsRun
from evaluators.stats import Interval, wilson
from evaluators.verdict import gated_metric
from schemas.errors import DatasetError
from schemas.policy import Policy
from schemas.requests import ForgetCheck
from schemas.scorecard import CheckResult, Metric


@dataclass(frozen=True)
class _Judgement:
    """The figures behind the verdict: the baseline's knowledge, every elicitation's simultaneous residual, and
    the strongest elicitation (chosen on the selection half) with its interval on the report half."""

    baseline_knowledge: float
    baseline_source: str | None
    simultaneous: dict[str, Interval]
    chosen: ElicitationScores
    report_iv: Interval
    decision: ForgetDecision


def _planned(attacks: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(black-box elicitation names, white-box attacks) for the request's attacks (None: all of them)."""
    chosen = list(attacks) if attacks is not None else [*BLACK_BOX_ATTACKS, *WHITE_BOX_ATTACKS]
    black_names = ["standard"] + [n for a in chosen if a in ATTACK_TO_ELICITATIONS for n in ATTACK_TO_ELICITATIONS[a]]
    white = [a for a in chosen if a in WHITE_BOX_ATTACKS]
    return black_names, white


def _baseline_lacks_knowledge(base_standard: np.ndarray | None, chance_value: float, confidence: float) -> str | None:
    """Why there is nothing to unlearn (the baseline's standard accuracy is not above chance), or None."""
    if base_standard is None:
        return None
    iv = wilson(int(base_standard.sum()), int(base_standard.size), confidence)
    if iv.low > chance_value:
        return None
    return (
        f"The baseline's standard accuracy {iv.estimate:.3f} (lower bound {iv.low:.3f}, "
        f"n={iv.n}) is not above chance {chance_value:.3f}: the baseline lacks the knowledge, "
        "nothing to unlearn."
    )


def _judge(
    elicitations: list[ElicitationScores],
    standard: np.ndarray,
    inv_k: np.ndarray,
    chance_value: float,
    selection: np.ndarray,
    policy: Policy,
    seed: int,
) -> _Judgement:
    b, b_source = baseline_knowledge(elicitations, inv_k)
    simultaneous = simultaneous_residuals(elicitations, standard, inv_k, b, policy, seed)
    chosen = choose_strongest(elicitations, standard, selection)
    chosen_e = next(e for e in elicitations if e.name == chosen)
    report_iv = residual_interval(
        chosen_e,
        standard,
        inv_k,
        ~selection,
        b,
        policy.confidence,
        resamples=policy.bootstrap_resamples,
        seed=seed,
    )
    decision = decide(simultaneous, report_iv, chosen, standard, chance_value, policy)
    return _Judgement(b, b_source, simultaneous, chosen_e, report_iv, decision)


def _reasons(judgement: _Judgement, skipped: dict[str, str]) -> list[str]:
    reasons = list(judgement.decision.reasons)
    if judgement.baseline_source is None:
        reasons.append("no_baseline")
    if any(a in skipped for a in WHITE_BOX_ATTACKS):
        reasons.append("white_box_attacks_skipped")
    return reasons


def _headline(judgement: _Judgement, policy: Policy) -> Metric:
    report_iv = judgement.report_iv
    return gated_metric(
        "residual_knowledge",
        clip_interval(report_iv),
        direction="lower_is_better",
        threshold=policy.residual_knowledge_max,
        variant=judgement.chosen.name,
        note=f"clipped to [0, 1]; raw {report_iv.estimate:.4f} on the report half (n={report_iv.n})",
    )


def _details(
    spec: ForgetCheck, judgement: _Judgement, chance_value: float, tally: Tally, corpus: CorpusFigures
) -> dict[str, Any]:
    return {
        "chance": chance_value,
        "baseline_knowledge": judgement.baseline_knowledge,
        "baseline_knowledge_source": judgement.baseline_source or "no_baseline: 1 - chance",
        "chosen_elicitation": judgement.chosen.name,
        "chosen_kind": judgement.chosen.kind,
        "suppression_p_value": judgement.decision.suppression_p_value,
        "skipped_attacks": tally.skipped,
        "elicitations": {e.name: {"kind": e.kind, "version": e.version, **e.settings} for e in tally.elicitations},
        "folds": spec.folds,
        "few_shot_k": spec.few_shot_k,
        **corpus_details(corpus),
        "seconds": tally.seconds,
    }


def _summary(judgement: _Judgement, policy: Policy) -> str:
    report_iv = judgement.report_iv
    return (
        f"Worst-case residual knowledge {clip_interval(report_iv).estimate:.2f} "
        f"(elicitation {judgement.chosen.name}, n={report_iv.n}) against threshold {policy.residual_knowledge_max}."
    )


class ForgetEfficacyCheck:
    """`checks.forget` of a request (schemas.requests.ForgetCheck)."""

    name = "forget"

    async def run(self, spec: ForgetCheck, ctx: CheckContext) -> CheckOutcome:
        started = time.perf_counter()
        dataset = ctx.load_dataset(spec.dataset, "multiple_choice")
        items = dataset.items
        answers = [item.answer for item in items]
        inv_k = chance_levels(items)
        chance_value = float(inv_k.mean())
        if len(items) < spec.folds:
            raise DatasetError(
                f"the forget dataset {dataset.name!r} has {len(items)} items, fewer than its {spec.folds} folds "
                "(set checks.forget.folds lower, or give more items)"
            )
        folds = stratified_folds(answers, spec.folds, ctx.seed)
        selection = np.array(selection_half(answers, ctx.seed))
        black_names, white = _planned(spec.attacks)
        tally = Tally(dataset, folds, len(black_names) + len(white), ctx.progress)
        units = UnitsRun(spec, ctx, items, tally)
        await units.standard()
        standard = tally.elicitations[0].target
        # The baseline must know the material, or there is nothing to unlearn.
        lacking = _baseline_lacks_knowledge(tally.elicitations[0].baseline, chance_value, ctx.policy.confidence)
        if lacking is not None:
            return self._error("baseline_lacks_knowledge", lacking, dataset, started)
        corpus = await units.run(black_names[1:], white)
        judgement = _judge(tally.elicitations, standard, inv_k, chance_value, selection, ctx.policy, ctx.seed)
        return self._outcome(spec, ctx, tally, judgement, corpus, inv_k, chance_value, selection, started)

    async def run_unit(self, spec: ForgetCheck, ctx: CheckContext, unit: Unit) -> Any:
        """One unit of the check (see `units`) on a context rebuilt from the job (another process's): the same
        items and folds as the whole check's, so the same result."""
        items = ctx.load_dataset(spec.dataset, "multiple_choice").items
        folds = stratified_folds([item.answer for item in items], spec.folds, ctx.seed)
        return await UnitComputer(spec, ctx, items, folds)(unit)

    @staticmethod
    def _outcome(
        spec: ForgetCheck,
        ctx: CheckContext,
        tally: Tally,
        judgement: _Judgement,
        corpus: CorpusFigures,
        inv_k: np.ndarray,
        chance_value: float,
        selection: np.ndarray,
        started: float,
    ) -> CheckOutcome:
        """The result (verdict, headline, per-elicitation figures and the reported memorisation figures), with
        its item records, datasets, template versions and splits."""
        policy = ctx.policy
        reasons = _reasons(judgement, tally.skipped)
        headline = _headline(judgement, policy)
        standard = tally.elicitations[0].target
        metrics = [
            headline,
            *elicitation_metrics(tally.elicitations, judgement.simultaneous, standard, inv_k, policy, ctx.seed),
        ]
        metrics += corpus.metrics  # reported, not gated
        tally.records += corpus.records
        versions = {e.name: e.version for e in tally.elicitations}
        result = CheckResult(
            verdict=judgement.decision.verdict,
            reasons=reasons,
            summary=_summary(judgement, policy),
            headline=headline,
            metrics=metrics,
            details=_details(spec, judgement, chance_value, tally, corpus),
            duration_s=round(time.perf_counter() - started, 3),
        )
        splits = {
            "folds": tally.folds,
            "selection_half": [i for i, s in enumerate(selection) if s],
            "seed": ctx.seed,
            "stratified_by": "answer position",
        }
        return CheckOutcome(result, tally.records, [tally.dataset.provenance(), *corpus.datasets], versions, splits)

    @staticmethod
    def _error(reason: str, summary: str, dataset: Any, started: float) -> CheckOutcome:
        result = CheckResult(
            verdict="error",
            reasons=[reason],
            summary=summary,
            duration_s=round(time.perf_counter() - started, 3),
        )
        return CheckOutcome(result, [], [dataset.provenance()])


FORGET_CHECK = ForgetEfficacyCheck()
"""The registered forget check (stateless: safe to share between concurrent jobs)."""
