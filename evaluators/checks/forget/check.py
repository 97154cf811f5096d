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
from functools import partial
from typing import Any

import numpy as np

from evaluators.attacks.relearning import TrainingBudget
from evaluators.checks.base import CheckContext, CheckOutcome
from evaluators.checks.forget.ablation_attack import direction_ablation
from evaluators.checks.forget.blackbox import score_elicitation
from evaluators.checks.forget.corpus import corpus_details, corpus_figures
from evaluators.checks.forget.figures import (
    ElicitationScores,
    baseline_knowledge,
    choose_strongest,
    decide,
    residual_interval,
    simultaneous_residuals,
)
from evaluators.checks.forget.folds import chance_levels, selection_half, stratified_folds
from evaluators.checks.forget.report import clip_interval, elicitation_metrics
from evaluators.checks.forget.templates import ATTACK_TO_ELICITATIONS, TEMPLATE_VERSIONS
from evaluators.checks.forget.whitebox import (
    PerItem,
    benign_relearning,
    latent,
    quantized,
    relearning,
    white_box_of,
)
from evaluators.models.memo import reused
from evaluators.stats import wilson
from evaluators.verdict import gated_metric
from schemas.canonical import sha256_hex
from schemas.errors import DatasetError
from schemas.jobs import ItemRecord
from schemas.requests import ForgetCheck
from schemas.scorecard import CheckResult

BLACK_BOX_ATTACKS = ("cloze", "alt_template", "generation", "few_shot", "roleplay", "refusal_suppression")
WHITE_BOX_ATTACKS = ("relearning", "benign_relearning", "quantization", "direction_ablation", "logit_lens", "probe")


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
        attacks = list(spec.attacks) if spec.attacks is not None else [*BLACK_BOX_ATTACKS, *WHITE_BOX_ATTACKS]
        black_names = ["standard"] + [
            n for a in attacks if a in ATTACK_TO_ELICITATIONS for n in ATTACK_TO_ELICITATIONS[a]
        ]
        white = [a for a in attacks if a in WHITE_BOX_ATTACKS]
        total = len(black_names) + len(white)
        skipped: dict[str, str] = {}
        records: list[ItemRecord] = []
        elicitations: list[ElicitationScores] = []
        seconds: dict[str, float] = {}
        """Wall time per elicitation or attack, target and baseline together (for cost planning)."""

        def record(variant: str, model: str, rows: list[dict[str, Any]]) -> None:
            for row in rows:
                i = int(row["index"])
                records.append(
                    ItemRecord(
                        check="forget",
                        dataset=dataset.name,
                        index=i,
                        variant=variant,
                        model=model,
                        fold=folds[i],
                        record=row,
                    )
                )

        # Black-box formats, target and baseline alike.
        for done, name in enumerate(black_names, start=1):
            began = time.perf_counter()
            per_model: dict[str, np.ndarray] = {}
            for role, model in (("target", ctx.target), ("baseline", ctx.baseline)):
                if model is None or (role == "baseline" and "target" not in per_model):
                    continue
                run = await score_elicitation(
                    model,
                    name,
                    items,
                    spec.subject,
                    folds,
                    few_shot_k=spec.few_shot_k,
                    seed=ctx.seed,
                    hook=ctx.hook,
                )
                if run.scores is None:
                    if role == "target":
                        skipped[name] = run.skipped or "unsupported"
                    continue
                per_model[role] = np.array([s.correct for s in run.scores], dtype=bool)
                record(name, role, [{**s.record, "index": s.index} for s in run.scores])
            if "target" in per_model:
                elicitations.append(
                    ElicitationScores(
                        name,
                        "black_box",
                        per_model["target"],
                        per_model.get("baseline"),
                        version=TEMPLATE_VERSIONS[name],
                    )
                )
            seconds[name] = round(time.perf_counter() - began, 3)
            ctx.progress(done, total)
        standard = elicitations[0].target

        # The baseline must know the material, or there is nothing to unlearn.
        base_std = elicitations[0].baseline
        if base_std is not None:
            iv = wilson(int(base_std.sum()), int(base_std.size), ctx.policy.confidence)
            if not iv.low > chance_value:
                return self._error(
                    "baseline_lacks_knowledge",
                    f"The baseline's standard accuracy {iv.estimate:.3f} (lower bound {iv.low:.3f}, "
                    f"n={iv.n}) is not above chance {chance_value:.3f}: the baseline lacks the knowledge, "
                    "nothing to unlearn.",
                    dataset,
                    started,
                )

        # White-box attacks: checkpoint targets only.
        wb_target = white_box_of(ctx.target, ctx.target_is_endpoint)
        wb_base = white_box_of(ctx.baseline, False)
        if wb_target is None:
            why = "target is an endpoint" if ctx.target_is_endpoint else "target offers no white-box access"
            skipped.update(
                {a: f"white-box attack: {why} (needs weights, hidden states and a trainable copy)" for a in white}
            )
        else:
            elicitations += await self._white_box(
                spec, ctx, white, items, folds, wb_target, wb_base, record, total, seconds
            )

        # Figures and verdict.
        b, b_source = baseline_knowledge(elicitations, inv_k)
        policy = ctx.policy
        simultaneous = simultaneous_residuals(elicitations, standard, inv_k, b, policy, ctx.seed)
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
            seed=ctx.seed,
        )
        decision = decide(simultaneous, report_iv, chosen, standard, chance_value, policy)
        reasons = list(decision.reasons)
        if b_source is None:
            reasons.append("no_baseline")
        if any(a in skipped for a in WHITE_BOX_ATTACKS):
            reasons.append("white_box_attacks_skipped")
        headline = gated_metric(
            "residual_knowledge",
            clip_interval(report_iv),
            direction="lower_is_better",
            threshold=policy.residual_knowledge_max,
            variant=chosen,
            note=f"clipped to [0, 1]; raw {report_iv.estimate:.4f} on the report half (n={report_iv.n})",
        )
        metrics = [
            headline,
            *elicitation_metrics(elicitations, simultaneous, standard, inv_k, policy, ctx.seed),
        ]
        began = time.perf_counter()
        corpus = await corpus_figures(spec, ctx)  # reported, not gated
        seconds["memorisation"] = round(time.perf_counter() - began, 3)
        metrics += corpus.metrics
        records += corpus.records
        versions = {e.name: e.version for e in elicitations}
        details: dict[str, Any] = {
            "chance": chance_value,
            "baseline_knowledge": b,
            "baseline_knowledge_source": b_source or "no_baseline: 1 - chance",
            "chosen_elicitation": chosen,
            "chosen_kind": chosen_e.kind,
            "suppression_p_value": decision.suppression_p_value,
            "skipped_attacks": skipped,
            "elicitations": {e.name: {"kind": e.kind, "version": e.version, **e.settings} for e in elicitations},
            "folds": spec.folds,
            "few_shot_k": spec.few_shot_k,
            **corpus_details(corpus),
            "seconds": seconds,
        }
        summary = (
            f"Worst-case residual knowledge {clip_interval(report_iv).estimate:.2f} "
            f"(elicitation {chosen}, n={report_iv.n}) against threshold {policy.residual_knowledge_max}."
        )
        result = CheckResult(
            verdict=decision.verdict,
            reasons=reasons,
            summary=summary,
            headline=headline,
            metrics=metrics,
            details=details,
            duration_s=round(time.perf_counter() - started, 3),
        )
        splits = {
            "folds": folds,
            "selection_half": [i for i, s in enumerate(selection) if s],
            "seed": ctx.seed,
            "stratified_by": "answer position",
        }
        return CheckOutcome(result, records, [dataset.provenance(), *corpus.datasets], versions, splits)

    async def _white_box(
        self,
        spec: ForgetCheck,
        ctx: CheckContext,
        white: list[str],
        items: list[Any],
        folds: list[int],
        wb_target: Any,
        wb_base: Any,
        record: Any,
        total: int,
        seconds: dict[str, float],
    ) -> list[ElicitationScores]:
        out: list[ElicitationScores] = []
        budget = TrainingBudget(
            steps=spec.relearning.steps,
            learning_rate=spec.relearning.learning_rate,
            batch_size=spec.relearning.batch_size,
            lora_above_params=spec.relearning.lora_above_params,
        )
        done = total - len(white)
        models = [("target", wb_target), ("baseline", wb_base)]
        # Everything an attack's result depends on besides the model (memoised on a fingerprinted baseline).
        data_key = [sha256_hex(items), spec.subject, list(folds), ctx.seed]

        def add(name: str, runs: dict[str, PerItem], placebo: PerItem | None = None, trained: bool = False) -> None:
            for role, run in runs.items():
                record(name, role, run.records)
            if placebo is not None:
                record(f"{name}_placebo", "target", placebo.records)
            target = runs["target"]
            base = runs.get("baseline")
            settings = {**target.settings, "trained": trained}
            out.append(
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

        for attack in white:
            began = time.perf_counter()
            if attack == "relearning":
                relearn = partial(
                    relearning, items=items, subject=spec.subject, folds=folds, budget=budget, seed=ctx.seed,
                    hook=ctx.hook,
                )  # fmt: skip
                runs = {
                    role: await reused(
                        wb,
                        ["relearning", data_key, budget.as_dict()],
                        partial(relearn, wb, placebo=False, variant="relearning"),
                    )
                    for role, wb in models
                    if wb is not None
                }
                placebo = await relearn(wb_target, placebo=True, variant="relearning_placebo")
                add("relearning", runs, placebo, trained=True)
            elif attack == "benign_relearning":
                runs = {
                    role: await reused(
                        wb,
                        ["benign_relearning", data_key, budget.as_dict()],
                        partial(benign_relearning, wb, items, spec.subject, budget, seed=ctx.seed, hook=ctx.hook),
                    )
                    for role, wb in models
                    if wb is not None
                }
                add("benign_relearning", runs, trained=True)
            elif attack == "direction_ablation":
                runs, placebo = await direction_ablation(
                    wb_target, wb_base, items, spec.subject, folds, seed=ctx.seed, hook=ctx.hook
                )
                add("direction_ablation", runs, placebo, trained=True)
            elif attack == "quantization":
                for scheme in ("int8", "nf4"):
                    runs = {
                        role: await reused(
                            wb,
                            ["quantized", data_key, scheme],
                            partial(quantized, wb, items, spec.subject, scheme, hook=ctx.hook),
                        )
                        for role, wb in models
                        if wb is not None
                    }
                    add(f"quantization_{scheme}", runs)
            if attack in ("relearning", "benign_relearning", "quantization", "direction_ablation"):
                seconds[attack] = round(time.perf_counter() - began, 3)
            done += 1
            ctx.progress(done, total)
        want_lens, want_probe = "logit_lens" in white, "probe" in white
        if want_lens or want_probe:
            began = time.perf_counter()
            per_role = {
                role: await reused(
                    wb,
                    ["latent", data_key, want_lens, want_probe],
                    partial(
                        latent,
                        wb,
                        items,
                        spec.subject,
                        folds,
                        seed=ctx.seed,
                        hook=ctx.hook,
                        want_lens=want_lens,
                        want_probe=want_probe,
                    ),
                )
                for role, wb in models
                if wb is not None
            }
            for name in ("logit_lens", "probe"):
                if name in per_role["target"]:
                    add(name, {role: got[name] for role, got in per_role.items()})
            seconds["hidden_states"] = round(time.perf_counter() - began, 3)  # lens and probe share one pass
        return out

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
