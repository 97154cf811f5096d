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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluators.checks.base import CheckContext, CheckOutcome, LoadedDataset
from evaluators.checks.forget.attack_names import BLACK_BOX_ATTACKS, WHITE_BOX_ATTACKS
from evaluators.checks.forget.blackbox import score_elicitation
from evaluators.checks.forget.corpus import CorpusFigures, corpus_details, corpus_figures
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
from evaluators.checks.forget.templates import ATTACK_TO_ELICITATIONS, TEMPLATE_VERSIONS
from evaluators.checks.forget.whitebox import PerItem, white_box_of
from evaluators.checks.forget.whitebox_units import (
    QUANTIZATION_SCHEMES,
    WhiteBoxAttacks,
    WhiteBoxUnit,
    plan_units,
    unit_attack,
)
from evaluators.stats import Interval, wilson
from evaluators.verdict import gated_metric
from schemas.errors import DatasetError
from schemas.jobs import ItemRecord
from schemas.policy import Policy
from schemas.requests import ForgetCheck
from schemas.scorecard import CheckResult, Metric


@dataclass
class _Tally:
    """What one run of the check gathers as it goes: item records, elicitation scores, skips, progress."""

    dataset: LoadedDataset
    folds: list[int]
    total: int
    """Units of progress: one per black-box elicitation and one per white-box attack."""
    progress: Callable[[int, int], None]
    done: int = 0
    records: list[ItemRecord] = field(default_factory=list)
    elicitations: list[ElicitationScores] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per elicitation or attack, target and baseline together (for cost planning)."""

    def record(self, variant: str, model: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            i = int(row["index"])
            self.records.append(
                ItemRecord(
                    check="forget",
                    dataset=self.dataset.name,
                    index=i,
                    variant=variant,
                    model=model,
                    fold=self.folds[i],
                    record=row,
                )
            )

    def step(self) -> None:
        self.done += 1
        self.progress(self.done, self.total)


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


async def _score_roles(
    spec: ForgetCheck, ctx: CheckContext, items: list[Any], name: str, tally: _Tally
) -> dict[str, np.ndarray]:
    """Per-item correctness of one black-box elicitation on the target, then on the baseline where the target
    could be scored; an elicitation the target does not support is noted as skipped."""
    per_model: dict[str, np.ndarray] = {}
    for role, model in (("target", ctx.target), ("baseline", ctx.baseline)):
        if model is None or (role == "baseline" and "target" not in per_model):
            continue
        run = await score_elicitation(
            model,
            name,
            items,
            spec.subject,
            tally.folds,
            few_shot_k=spec.few_shot_k,
            seed=ctx.seed,
            hook=ctx.hook,
        )
        if run.scores is None:
            if role == "target":
                tally.skipped[name] = run.skipped or "unsupported"
            continue
        per_model[role] = np.array([s.correct for s in run.scores], dtype=bool)
        tally.record(name, role, [{**s.record, "index": s.index} for s in run.scores])
    return per_model


async def _black_box(spec: ForgetCheck, ctx: CheckContext, items: list[Any], names: list[str], tally: _Tally) -> None:
    """Black-box formats, target and baseline alike."""
    for name in names:
        began = time.perf_counter()
        per_model = await _score_roles(spec, ctx, items, name, tally)
        if "target" in per_model:
            tally.elicitations.append(
                ElicitationScores(
                    name,
                    "black_box",
                    per_model["target"],
                    per_model.get("baseline"),
                    version=TEMPLATE_VERSIONS[name],
                )
            )
        tally.seconds[name] = round(time.perf_counter() - began, 3)
        tally.step()


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


@dataclass
class _WhiteBoxRun:
    """The white-box attacks of one run, on the target and (where it has one) the baseline checkpoint: their
    units (see `whitebox_units`) run where `ctx.run_units` sends them (here, one after another, without one), and
    their results are added in the check's order."""

    spec: ForgetCheck
    ctx: CheckContext
    items: list[Any]
    wb_target: Any
    wb_base: Any
    tally: _Tally

    async def run(self, white: list[str]) -> None:
        units = plan_units(white, self.wb_base is not None)
        # Progress: an attack is done when its last unit is; lens and probe when the hidden-state pass is.
        owner = {a: ("hidden_states" if a in ("logit_lens", "probe") else a) for a in white}
        left = {a: sum(unit_attack(u) == owner[a] for u in units) for a in white}
        for attack in white:
            if left[attack] == 0:
                self.tally.step()

        def done(i: int) -> None:
            for attack in white:
                if owner[attack] == unit_attack(units[i]) and left[attack] > 0:
                    left[attack] -= 1
                    if left[attack] == 0:
                        self.tally.step()

        if self.ctx.run_units is None:
            attacks = WhiteBoxAttacks(self.spec, self.ctx, self.items, self.tally.folds, self.wb_target, self.wb_base)
            timed = []
            for i, unit in enumerate(units):
                timed.append(await attacks.run(unit))
                done(i)
        else:
            timed = await self.ctx.run_units("forget", units, done)
        self._add_all(white, dict(zip(units, timed, strict=True)))

    def _add_all(self, white: list[str], timed: dict[WhiteBoxUnit, tuple[Any, float]]) -> None:
        """Records, elicitations and seconds of every attack, in the order one process runs them."""
        roles = [r for r, wb in (("target", self.wb_target), ("baseline", self.wb_base)) if wb is not None]
        seconds: dict[str, float] = {}
        for unit, (_, took) in timed.items():
            seconds[unit_attack(unit)] = seconds.get(unit_attack(unit), 0.0) + took
        value = {unit: got for unit, (got, _) in timed.items()}
        for attack in white:
            if attack in ("relearning", "benign_relearning"):
                runs = {r: value[WhiteBoxUnit(attack, r)] for r in roles}
                placebo = value[WhiteBoxUnit("relearning_placebo", "target")] if attack == "relearning" else None
                self._add(attack, runs, placebo, trained=True)
            elif attack == "direction_ablation":
                runs, placebo = value[WhiteBoxUnit("direction_ablation", "target")]
                self._add(attack, runs, placebo, trained=True)
            elif attack == "quantization":
                for scheme in QUANTIZATION_SCHEMES:
                    name = f"quantization_{scheme}"
                    self._add(name, {r: value[WhiteBoxUnit(name, r)] for r in roles})
            if attack in seconds:
                self.tally.seconds[attack] = round(seconds[attack], 3)
        hidden = {u.role: got for u, got in value.items() if u.attack == "hidden_states"}
        if hidden:
            for name in ("logit_lens", "probe"):
                if name in hidden["target"]:
                    self._add(name, {role: got[name] for role, got in hidden.items()})
            self.tally.seconds["hidden_states"] = round(seconds["hidden_states"], 3)  # lens and probe share one pass

    def _add(self, name: str, runs: dict[str, PerItem], placebo: PerItem | None = None, trained: bool = False) -> None:
        for role, run in runs.items():
            self.tally.record(name, role, run.records)
        if placebo is not None:
            self.tally.record(f"{name}_placebo", "target", placebo.records)
        target = runs["target"]
        base = runs.get("baseline")
        settings = {**target.settings, "trained": trained}
        self.tally.elicitations.append(
            ElicitationScores(
                name,
                "white_box",
                target.correct,
                base.correct if base else None,
                placebo.correct if placebo else None,
                version=name,
                settings=settings,
            )
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
    spec: ForgetCheck, judgement: _Judgement, chance_value: float, tally: _Tally, corpus: CorpusFigures
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
        tally = _Tally(dataset, folds, len(black_names) + len(white), ctx.progress)
        await _black_box(spec, ctx, items, black_names, tally)
        standard = tally.elicitations[0].target
        # The baseline must know the material, or there is nothing to unlearn.
        lacking = _baseline_lacks_knowledge(tally.elicitations[0].baseline, chance_value, ctx.policy.confidence)
        if lacking is not None:
            return self._error("baseline_lacks_knowledge", lacking, dataset, started)
        await self._white_box(spec, ctx, white, items, tally)
        judgement = _judge(tally.elicitations, standard, inv_k, chance_value, selection, ctx.policy, ctx.seed)
        return await self._outcome(spec, ctx, tally, judgement, inv_k, chance_value, selection, started)

    async def run_unit(self, spec: ForgetCheck, ctx: CheckContext, unit: WhiteBoxUnit) -> tuple[Any, float]:
        """One white-box unit (see `whitebox_units`) on a context rebuilt from the job (another process's): the
        same items and folds as the whole check's, so the same result. Returns (result, seconds)."""
        items = ctx.load_dataset(spec.dataset, "multiple_choice").items
        folds = stratified_folds([item.answer for item in items], spec.folds, ctx.seed)
        wb_target = white_box_of(ctx.target, ctx.target_is_endpoint)
        wb_base = white_box_of(ctx.baseline, False)
        return await WhiteBoxAttacks(spec, ctx, items, folds, wb_target, wb_base).run(unit)

    @staticmethod
    async def _white_box(
        spec: ForgetCheck, ctx: CheckContext, white: list[str], items: list[Any], tally: _Tally
    ) -> None:
        """White-box attacks: checkpoint targets only; on any other target each is skipped with the reason."""
        wb_target = white_box_of(ctx.target, ctx.target_is_endpoint)
        wb_base = white_box_of(ctx.baseline, False)
        if wb_target is None:
            why = "target is an endpoint" if ctx.target_is_endpoint else "target offers no white-box access"
            tally.skipped.update(
                {a: f"white-box attack: {why} (needs weights, hidden states and a trainable copy)" for a in white}
            )
        else:
            await _WhiteBoxRun(spec, ctx, items, wb_target, wb_base, tally).run(white)

    @staticmethod
    async def _outcome(
        spec: ForgetCheck,
        ctx: CheckContext,
        tally: _Tally,
        judgement: _Judgement,
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
        began = time.perf_counter()
        corpus = await corpus_figures(spec, ctx)  # reported, not gated
        tally.seconds["memorisation"] = round(time.perf_counter() - began, 3)
        metrics += corpus.metrics
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
