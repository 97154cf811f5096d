"""The refusal-consistency check: does the target still refuse what its baseline refused, every way asked?"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from evaluators.checks.base import CheckContext, CheckOutcome, LoadedDataset
from evaluators.checks.refusal.direction import refusal_direction_report
from evaluators.checks.refusal.figures import RefusalFigures, refusal_figures
from evaluators.checks.refusal.generation import describe_generation, refusal_families, require_generation_support
from evaluators.checks.refusal.judges.keyword import KeywordJudge
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.model_calibration import stored_calibration_details
from evaluators.checks.refusal.judges.model_judge import ModelJudge
from evaluators.checks.refusal.judges.scorecard import calibration_versions, judge_agreement_metric, judge_calibration
from evaluators.checks.refusal.metrics import JudgedReply, unassessed_share
from evaluators.checks.refusal.replies import generate_and_judge, generation_requests
from evaluators.checks.refusal.variants import VARIANTS_VERSION, PromptVariant, describe_families, expand_prompt
from evaluators.models.protocol import Capability, GenerationRequest, LanguageModel
from evaluators.verdict import judge_metrics
from schemas.errors import BadInputError, UnsupportedCapabilityError
from schemas.jobs import ItemRecord
from schemas.policy import Policy
from schemas.requests import RefusalCheck
from schemas.scorecard import CheckResult, CheckVerdict
from schemas.targets import ModelTarget

GenerationJob = tuple[PromptVariant, int, GenerationRequest]
"""One generation to run: the prompt variant, its sample number and the request (replies.generation_requests)."""

JudgeOpener = Callable[[ModelTarget], Awaitable[LanguageModel]]
"""Opens the model judge's endpoint; defaults to the runner's `ctx.open_model`."""


def _records(replies: list[JudgedReply], names: dict[str, str]) -> list[ItemRecord]:
    return [
        ItemRecord(
            check="refusal",
            dataset=names[r.dataset],
            index=r.base_index,
            variant=r.family if r.family != "user" else f"user:{r.sub_index}",
            model=r.model,
            record={
                "prompt": r.prompt,
                "family": r.family,
                "sub_index": r.sub_index,
                "sample": r.sample,
                "reply": r.reply,
                "label": r.label,
                "judge": r.judgement.judge,
                "signals": r.judgement.signals,
            },
        )
        for r in replies
    ]


class RefusalConsistencyCheck:
    """Harmful prompts and their variants, benign look-alikes; target against baseline (docs/refusal.md)."""

    name = "refusal"

    def __init__(self, open_judge: JudgeOpener | None = None) -> None:
        self.open_judge = open_judge

    async def _judge(self, spec: RefusalCheck, ctx: CheckContext) -> LayeredJudge:
        keyword = (
            KeywordJudge(prefixes=tuple(spec.judge.refusal_prefixes)) if spec.judge.refusal_prefixes else KeywordJudge()
        )
        if spec.judge.kind == "keyword":
            return LayeredJudge(keyword=keyword)
        if spec.judge.target is None:
            raise BadInputError("judge.kind `model` needs judge.target", field="checks.refusal.judge.target")
        opener = self.open_judge or ctx.open_model
        if opener is None:
            raise UnsupportedCapabilityError(
                "this runner cannot open a model judge (no model opener); use judge.kind `keyword`"
            )
        return LayeredJudge(keyword=keyword, model=ModelJudge(await opener(spec.judge.target)))

    async def run(self, spec: RefusalCheck, ctx: CheckContext) -> CheckOutcome:
        """Generate, judge and compare; fail closed: past the policy's unassessed_max share of unjudged replies the
        verdict is `error`, never `pass`."""
        started = time.monotonic()
        cannot = _cannot_generate(ctx)
        if cannot is not None:
            return cannot
        harmful = ctx.load_dataset(spec.harmful, "prompt")
        benign: LoadedDataset | None = ctx.load_dataset(spec.benign, "prompt") if spec.benign else None
        require_generation_support(spec.generation, {"target": ctx.target, "baseline": ctx.baseline})
        families, skipped = refusal_families(spec.variants, {"target": ctx.target, "baseline": ctx.baseline})
        harmful_variants, benign_variants = _variants(harmful, benign, families, ctx.seed)
        judge = await self._judge(spec, ctx)
        h_req = generation_requests(harmful_variants, spec.samples, spec.max_new_tokens, ctx.seed, spec.generation)
        b_req = generation_requests(benign_variants, spec.samples, spec.max_new_tokens, ctx.seed, spec.generation)
        roles: list[tuple[str, LanguageModel]] = [("target", ctx.target)]
        if ctx.baseline is not None:
            roles.append(("baseline", ctx.baseline))
        replies = await _replies(roles, h_req, b_req, judge, ctx)
        direction = await refusal_direction_report(
            ctx, judge, spec, harmful, benign, h_req, replies.get(("baseline", "harmful"))
        )
        calibration = await _calibration(judge, spec, ctx)
        fig = refusal_figures(
            replies["target", "harmful"],
            replies["target", "benign"],
            replies.get(("baseline", "harmful")),
            replies.get(("baseline", "benign")),
            ctx.policy,
            ctx.seed,
        )
        unassessed = {role: unassessed_share(replies[role, "harmful"] + replies[role, "benign"]) for role, _ in roles}
        details: dict[str, Any] = {
            **fig.details,
            "judge": judge.describe(),
            "judge_calibration": calibration,
            "variants": describe_families(families, skipped),
            "generation": describe_generation(spec.generation, spec.samples),
            "samples": spec.samples,
            "unassessed_share": unassessed,
            "unassessed_max": ctx.policy.unassessed_max,
            "refusal_direction": direction.details,
        }
        fig.metrics += direction.metrics
        fig.metrics.append(judge_agreement_metric(judge, calibration))
        result = CheckResult(verdict="pass", headline=fig.headline, metrics=fig.metrics, details=details)
        result.verdict, result.reasons, result.summary = _verdict(fig, unassessed, ctx.baseline is not None, ctx.policy)
        result.duration_s = time.monotonic() - started
        records = _all_records(replies, direction.replies, harmful, benign)
        datasets = [harmful.provenance()] + ([benign.provenance()] if benign else [])
        return CheckOutcome(
            result=result, records=records, datasets=datasets, template_versions=_versions(judge, calibration)
        )


def _cannot_generate(ctx: CheckContext) -> CheckOutcome | None:
    """The skipped outcome when the target or the baseline cannot generate text, else None."""
    for role, model in (("target", ctx.target), ("baseline", ctx.baseline)):
        if model is not None and Capability.GENERATION not in model.capabilities:
            return CheckOutcome(
                CheckResult(
                    verdict="skipped",
                    reasons=["unsupported_capability:generation"],
                    summary=f"The {role} model cannot generate text, so refusals cannot be observed.",
                )
            )
    return None


def _variants(
    harmful: LoadedDataset, benign: LoadedDataset | None, families: list[str], seed: int
) -> tuple[list[PromptVariant], list[PromptVariant]]:
    """Every harmful prompt in each variant family (and the dataset's own variants); benign prompts plain."""
    harmful_variants = [
        v for i, item in enumerate(harmful.items) for v in expand_prompt(i, item.prompt, item.variants, families, seed)
    ]
    benign_variants = [
        v for i, item in enumerate(benign.items if benign else []) for v in expand_prompt(i, item.prompt, [], [], seed)
    ]
    return harmful_variants, benign_variants


async def _replies(
    roles: list[tuple[str, LanguageModel]],
    h_req: list[GenerationJob],
    b_req: list[GenerationJob],
    judge: LayeredJudge,
    ctx: CheckContext,
) -> dict[tuple[str, str], list[JudgedReply]]:
    """Judged replies per (role, "harmful" | "benign"), reporting progress per generation."""
    total, done = (len(h_req) + len(b_req)) * len(roles), 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        ctx.progress(done, total)

    replies: dict[tuple[str, str], list[JudgedReply]] = {}
    for role, model in roles:
        for dataset, reqs in (("harmful", h_req), ("benign", b_req)):
            replies[role, dataset] = await generate_and_judge(model, role, dataset, reqs, judge, ctx.hook, advance)
    return replies


async def _calibration(judge: LayeredJudge, spec: RefusalCheck, ctx: CheckContext) -> dict[str, Any]:
    """`details.judge_calibration`: the judge measured on labelled replies, plus any stored calibration of its model."""
    calibration = await judge_calibration(judge, ctx.policy.confidence, ctx.hook)
    calibration.update(await stored_calibration_details(judge, spec.judge.target, ctx.stored_judge_calibration))
    return calibration


def _all_records(
    replies: dict[tuple[str, str], list[JudgedReply]],
    direction_replies: list[JudgedReply],
    harmful: LoadedDataset,
    benign: LoadedDataset | None,
) -> list[ItemRecord]:
    """Item records of every judged reply, by (role, dataset), then those of the refusal-direction probe."""
    names = {"harmful": harmful.name, "benign": benign.name if benign else "benign"}
    records = [r for key in sorted(replies) for r in _records(replies[key], names)]
    records += _records(direction_replies, names)
    return records


def _verdict(
    fig: RefusalFigures, unassessed: dict[str, float], has_baseline: bool, policy: Policy
) -> tuple[CheckVerdict, list[str], str]:
    """(verdict, reasons, summary): unjudged replies over budget first, then what the baseline allows to judge."""
    worst_unassessed = max(unassessed.values())
    if worst_unassessed > policy.unassessed_max:
        return (
            "error",
            ["unassessed_over_budget"],
            f"{worst_unassessed:.0%} of replies could not be judged (budget "
            f"{policy.unassessed_max:.0%}); no verdict is given.",
        )
    if not has_baseline:
        return "warn", ["no_baseline"], "No baseline: absolute refusal rates are reported, retention cannot be judged."
    if not fig.baseline_refused_any:
        return (
            "skipped",
            ["baseline_refused_nothing"],
            "The baseline refused none of the harmful prompts, so there is no refusal to retain.",
        )
    if fig.headline is None or fig.headline.name != "refusal_retention":
        return (
            "warn",
            ["no_gated_refusals"],
            "The baseline refused no plain prompt and no variant family reliably enough to gate.",
        )
    decision = judge_metrics(fig.metrics, n_min=policy.n_min)
    h = fig.headline
    return (
        decision.verdict,
        decision.reasons,
        f"The target keeps {h.value:.0%} of the baseline's refusals "
        f"(interval {h.ci_low:.2f}-{h.ci_high:.2f}, n={h.n} prompts; "
        f"minimum {h.threshold:.2f}).",
    )


def _versions(judge: LayeredJudge, calibration: dict[str, Any]) -> dict[str, str]:
    versions = {
        "refusal_variants": VARIANTS_VERSION,
        "refusal_judge": judge.keyword.version,
        **calibration_versions(calibration),
    }
    if judge.model is not None:
        versions["refusal_rubric"] = judge.model.version
    return versions


REFUSAL_CHECK = RefusalConsistencyCheck()
