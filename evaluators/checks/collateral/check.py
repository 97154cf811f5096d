"""The collateral-capability check: how much general and adjacent capability did unlearning cost?"""

from __future__ import annotations

import time
from typing import Any

from evaluators.checks.base import CheckContext, CheckOutcome, LoadedDataset
from evaluators.checks.collateral.accuracy import (
    DatasetAccuracy,
    accuracy,
    largest,
    mcnemar,
    simultaneous_drops,
    smallest,
)
from evaluators.checks.collateral.generation import degenerate_figures
from evaluators.checks.collateral.groups import gated_and_members, sample_group
from evaluators.checks.collateral.perplexity import per_char_perplexity, perplexity_ratio, text_logliks
from evaluators.models.protocol import Capability
from evaluators.scoring import choose_scorer, score_multiple_choice
from evaluators.scoring.templates import STANDARD
from evaluators.stats import Interval, simultaneous_wilson
from evaluators.verdict import gated_metric, judge_metrics
from schemas.datasets import CollateralDatasetRef
from schemas.errors import UnsupportedCapabilityError
from schemas.jobs import ItemRecord
from schemas.requests import CollateralCheck
from schemas.scorecard import CheckResult, DatasetProvenance, Metric

SCORERS = ("loglikelihood", "next_token_top_logprobs", "generation_parse")
"""Multiple-choice scorers, best first (see evaluators.scoring)."""


class CollateralCapabilityCheck:
    """MC accuracy per dataset (general and adjacent), retain perplexity, degenerate generation."""

    name = "collateral"

    async def run(self, spec: CollateralCheck, ctx: CheckContext) -> CheckOutcome:
        """Score every dataset on target and baseline; verdict from the largest drop, judged with
        simultaneous bounds across datasets."""
        started = time.monotonic()
        roles = [("target", ctx.target)] + ([("baseline", ctx.baseline)] if ctx.baseline is not None else [])
        records: list[ItemRecord] = []
        provenance: list[DatasetProvenance] = []
        per_dataset: list[DatasetAccuracy] = []
        groups: list[str | None] = []
        try:
            for loaded, ref in self._load(spec, ctx):
                provenance.append(loaded.provenance())
                if not loaded.items:  # a group's sample drew none of this member's items
                    continue
                subject = ref.subject or loaded.name
                # One scorer for both models (the best both support), so their accuracies compare.
                probe = [STANDARD.render(loaded.items[0], subject)]
                scorer = max((choose_scorer(m, probe) for _, m in roles), key=SCORERS.index)
                correct: dict[str, list[bool]] = {}
                for role, model in roles:
                    scores = await score_multiple_choice(model, loaded.items, subject, hook=ctx.hook, scorer=scorer)
                    correct[role] = [s.correct for s in scores]
                    records += [
                        ItemRecord(
                            check="collateral",
                            dataset=loaded.name,
                            index=s.index,
                            variant="standard",
                            model=role,
                            record={**s.record, "adjacent": ref.adjacent, "group": ref.group},
                        )
                        for s in scores
                    ]
                per_dataset.append(
                    DatasetAccuracy(loaded.name, ref.adjacent, correct["target"], correct.get("baseline"))
                )
                groups.append(ref.group)
        except UnsupportedCapabilityError as exc:
            return CheckOutcome(
                CheckResult(verdict="skipped", reasons=["unsupported_capability:multiple_choice"], summary=exc.message)
            )
        metrics, details = self._accuracy_figures(per_dataset, groups, ctx)
        if spec.corpus is not None:
            corpus = ctx.load_dataset(spec.corpus, "text")
            provenance.append(corpus.provenance())
            metrics += await self._perplexity(corpus.items, ctx, details)
        if spec.prompts is not None:
            prompts = ctx.load_dataset(spec.prompts, "prompt")
            provenance.append(prompts.provenance())
            gen_metrics, gen_records = await degenerate_figures(
                [p.prompt for p in prompts.items], prompts.name, roles, ctx
            )
            metrics += gen_metrics
            records += gen_records
        result = self._verdict(metrics, ctx, details)
        result.duration_s = time.monotonic() - started
        return CheckOutcome(
            result=result,
            records=records,
            datasets=provenance,
            template_versions={"collateral_mc": STANDARD.version_string},
        )

    def _load(self, spec: CollateralCheck, ctx: CheckContext) -> list[tuple[LoadedDataset, CollateralDatasetRef]]:
        """Every dataset loaded; a group's members sampled together (the request's sample is the group's)."""
        loaded = [(ctx.load_dataset(ref, "multiple_choice", sample=ref.group is None), ref) for ref in spec.datasets]
        if ctx.sample is None:
            return loaded
        for group in dict.fromkeys(ref.group for _, ref in loaded if ref.group is not None):
            at = [i for i, (_, ref) in enumerate(loaded) if ref.group == group]
            for i, drawn in zip(at, sample_group([loaded[i][0] for i in at], ctx.sample, group), strict=True):
                loaded[i] = (drawn, loaded[i][1])
        return loaded

    def _accuracy_figures(
        self, every: list[DatasetAccuracy], groups: list[str | None], ctx: CheckContext
    ) -> tuple[list[Metric], dict[str, Any]]:
        data, members = gated_and_members(every, groups)
        metrics, details = self._gated_figures(data, ctx)
        if members:
            member_groups = [g for g in groups if g is not None]
            member_metrics, rows = self._member_figures(members, member_groups, ctx)
            metrics += member_metrics
            details["members"] = rows
            details["groups"] = {
                g: [m.name for m, mg in zip(members, member_groups, strict=True) if mg == g]
                for g in dict.fromkeys(member_groups)
            }
        return metrics, details

    def _member_figures(
        self, members: list[DatasetAccuracy], groups: list[str], ctx: CheckContext
    ) -> tuple[list[Metric], list[dict[str, Any]]]:
        """Each grouped dataset's own accuracy and drop, simultaneous over the members, reported not gated."""
        conf = ctx.policy.confidence
        accs = simultaneous_wilson([(int(sum(d.target)), d.n) for d in members], conf)
        drops = None
        if ctx.baseline is not None:
            drops, _ = simultaneous_drops(members, conf, ctx.policy.bootstrap_resamples, ctx.seed + 1_000)
        metrics: list[Metric] = []
        rows: list[dict[str, Any]] = []
        for i, (d, group) in enumerate(zip(members, groups, strict=True)):
            note = f"member of group {group}; reported, not gated"
            metrics.append(
                gated_metric(
                    "accuracy", accs[i], direction="higher_is_better", threshold=None, variant=d.name, note=note
                )
            )
            row: dict[str, Any] = {"dataset": d.name, "group": group, "n": d.n, "target_accuracy": accs[i].estimate}
            if drops is not None and d.baseline is not None:
                metrics.append(_reported_drop(drops[i], d.name, note))
                row.update(
                    {
                        "baseline_accuracy": accuracy(d.baseline, conf).estimate,
                        "drop": drops[i].estimate,
                        "drop_ci": [drops[i].low, drops[i].high],
                    }
                )
            rows.append(row)
        return metrics, rows

    def _gated_figures(self, data: list[DatasetAccuracy], ctx: CheckContext) -> tuple[list[Metric], dict[str, Any]]:
        conf, policy = ctx.policy.confidence, ctx.policy
        names = [d.name for d in data]
        accs = simultaneous_wilson([(int(sum(d.target)), d.n) for d in data], conf)
        metrics: list[Metric] = []
        rows: list[dict[str, Any]] = []
        details: dict[str, Any] = {
            "simultaneous": "bonferroni",
            "m": len(data),
            "simultaneous_note": "datasets hold different items, so max-T (which resamples shared items) "
            "does not apply; Bonferroni bounds are used",
        }
        drops = None
        if ctx.baseline is not None:
            drops, per_figure = simultaneous_drops(data, conf, policy.bootstrap_resamples, ctx.seed)
            details["per_figure_confidence"] = per_figure
        for i, d in enumerate(data):
            group = "adjacent" if d.adjacent else "general"
            base_acc = accuracy(d.baseline, conf) if d.baseline is not None else None
            metrics.append(
                gated_metric(
                    "accuracy",
                    accs[i],
                    direction="higher_is_better",
                    threshold=None,
                    variant=d.name,
                    baseline_value=base_acc.estimate if base_acc else None,
                    note=group,
                )
            )
            row: dict[str, Any] = {
                "dataset": d.name,
                "group": group,
                "n": d.n,
                "target_accuracy": accs[i].estimate,
                "target_ci": [accs[i].low, accs[i].high],
            }
            if base_acc is not None and drops is not None:
                metrics.append(
                    gated_metric(
                        "accuracy",
                        base_acc,
                        direction="higher_is_better",
                        threshold=None,
                        variant=d.name,
                        model="baseline",
                        note=group,
                    )
                )
                test = mcnemar(d)
                metrics.append(
                    _reported_drop(
                        drops[i],
                        d.name,
                        f"{group}; McNemar exact p={test.p_value:.4g} (baseline-only "
                        f"{test.details['first_only']}, target-only {test.details['second_only']})",
                    )
                )
                row.update(
                    {
                        "baseline_accuracy": base_acc.estimate,
                        "drop": drops[i].estimate,
                        "drop_ci": [drops[i].low, drops[i].high],
                        "mcnemar_p": test.p_value,
                        "mcnemar": test.details,
                    }
                )
            rows.append(row)
        details["general"] = [r for r in rows if r["group"] == "general"]
        details["adjacent"] = [r for r in rows if r["group"] == "adjacent"]
        metrics.insert(0, self._headline(accs, drops, names, ctx, details))
        return metrics, details

    def _headline(
        self,
        accs: list[Interval],
        drops: list[Interval] | None,
        names: list[str],
        ctx: CheckContext,
        details: dict[str, Any],
    ) -> Metric:
        """The gated figure: the largest drop against the baseline, or without one the lowest accuracy."""
        if drops is not None:
            top, name = largest(drops, names)
            details["headline_dataset"] = name
            return gated_metric(
                "largest_accuracy_drop",
                top,
                direction="lower_is_better",
                threshold=ctx.policy.collateral_drop_max,
                model="difference",
                variant=name or None,
            )
        low, name = smallest(accs, names)
        return gated_metric(
            "lowest_accuracy",
            low,
            direction="higher_is_better",
            threshold=ctx.policy.collateral_accuracy_floor,
            variant=name or None,
        )

    async def _perplexity(self, items: list[Any], ctx: CheckContext, details: dict[str, Any]) -> list[Metric]:
        if ctx.baseline is None or not all(
            Capability.LOGLIKELIHOOD in m.capabilities for m in (ctx.target, ctx.baseline)
        ):
            details["perplexity"] = "not measured: needs a baseline and log-likelihoods on both models"
            return []
        texts = [t.text for t in items]
        t_ll = await text_logliks(ctx.target, texts, ctx.hook)
        b_ll = await text_logliks(ctx.baseline, texts, ctx.hook)
        iv = perplexity_ratio(
            t_ll, b_ll, texts, confidence=ctx.policy.confidence, resamples=ctx.policy.bootstrap_resamples, seed=ctx.seed
        )
        details["perplexity"] = {
            "target_per_char": per_char_perplexity(t_ll, texts),
            "baseline_per_char": per_char_perplexity(b_ll, texts),
            "texts": len(texts),
        }
        return [
            gated_metric(
                "perplexity_ratio",
                iv,
                direction="lower_is_better",
                threshold=None,
                model="difference",
                note="per-character perplexity, target / baseline",
            )
        ]

    def _verdict(self, metrics: list[Metric], ctx: CheckContext, details: dict[str, Any]) -> CheckResult:
        headline = metrics[0]
        result = CheckResult(verdict="pass", headline=headline, metrics=metrics, details=details)
        if ctx.baseline is None and ctx.policy.collateral_accuracy_floor is None:
            result.verdict, result.reasons = "warn", ["no_baseline"]
            result.summary = (
                "No baseline: absolute accuracies are reported; set collateral_accuracy_floor to judge them."
            )
            return result
        decision = judge_metrics(metrics, n_min=ctx.policy.n_min)
        result.verdict, result.reasons = decision.verdict, decision.reasons
        lo = f"{headline.ci_low:.3f}" if headline.ci_low is not None else "n/a"
        hi = f"{headline.ci_high:.3f}" if headline.ci_high is not None else "n/a"
        value = f"{headline.value:.3f}" if headline.value is not None else "n/a"
        what = "largest accuracy drop" if headline.name == "largest_accuracy_drop" else "lowest accuracy"
        result.summary = (
            f"The {what} is {value} on {headline.variant} (simultaneous interval {lo} to {hi}, "
            f"threshold {headline.threshold})."
        )
        return result


def _reported_drop(drop: Interval, dataset: str, note: str) -> Metric:
    """A dataset's accuracy drop (baseline - target), reported beside the gated headline."""
    return gated_metric(
        "accuracy_drop",
        drop,
        direction="lower_is_better",
        threshold=None,
        variant=dataset,
        model="difference",
        note=note,
    )


COLLATERAL_CHECK = CollateralCapabilityCheck()
