"""The checks a request would run, with the attacks, variant families and figures each runs or skips.

The same choices the checks make when they run, decided from the targets' kinds: white-box attacks need weights
the worker loads; the `prefill` family needs models that continue a raw prompt; the refusal-direction report
needs a baseline, white-box target and baseline, and benign prompts.
"""

from __future__ import annotations

from evaluators.checks.forget.attack_names import BLACK_BOX_ATTACKS, WHITE_BOX_ATTACKS
from evaluators.checks.refusal.variants import BUILTIN_FAMILIES, PREFILL
from evaluators.request_datasets import request_datasets
from evaluators.suites import effective_checks
from schemas.dry_run import PlannedCheck
from schemas.requests import CollateralCheck, EvaluationRequest, ForgetCheck, RefusalCheck
from service.dry_run.models import raw_prompt, white_box

_WHITE_BOX_WHY = "white-box attack: the target is an endpoint (needs weights, hidden states and a trainable copy)"


def planned_checks(request: EvaluationRequest) -> list[PlannedCheck]:
    """The request's effective checks (a suite's included), in the order they run."""
    checks = effective_checks(request)
    fields: dict[str, list[str]] = {}
    for field, _, _ in request_datasets(request):
        fields.setdefault(field.split(".")[1] if field.startswith("checks.") else "benchmarks", []).append(field)
    out = []
    if checks.forget is not None:
        out.append(_forget(checks.forget, request, fields.get("forget", [])))
    if checks.refusal is not None:
        out.append(_refusal(checks.refusal, request, fields.get("refusal", [])))
    if checks.collateral is not None:
        out.append(_collateral(checks.collateral, fields.get("collateral", [])))
    return out


def forget_attacks(spec: ForgetCheck) -> list[str]:
    """The attacks the request asks for (omitted: every attack), in the check's order."""
    return list(spec.attacks) if spec.attacks is not None else [*BLACK_BOX_ATTACKS, *WHITE_BOX_ATTACKS]


def _forget(spec: ForgetCheck, request: EvaluationRequest, datasets: list[str]) -> PlannedCheck:
    attacks = forget_attacks(spec)
    runs = ["standard"] + [a for a in attacks if a in BLACK_BOX_ATTACKS]
    skipped: dict[str, str] = {}
    for attack in (a for a in attacks if a in WHITE_BOX_ATTACKS):
        if white_box(request.target):
            runs.append(attack)
        else:
            skipped[attack] = _WHITE_BOX_WHY
    return PlannedCheck(name="forget", runs=runs, skipped=skipped, datasets=datasets)


def refusal_families(spec: RefusalCheck, request: EvaluationRequest) -> tuple[list[str], dict[str, str]]:
    """The variant families that would run, and those skipped with why (as the check's `refusal_families`)."""
    families = list(spec.variants) if spec.variants is not None else list(BUILTIN_FAMILIES)
    skipped: dict[str, str] = {}
    lacking = [role for role in ("target", "baseline") if not raw_prompt(getattr(request, role))]
    if PREFILL in families and lacking:
        skipped[PREFILL] = (
            f"unsupported_capability:raw_prompt: the {' and '.join(lacking)} model cannot continue a raw prompt "
            "(TGI and OpenAI-compatible servers apply their chat template server-side; with chat_template `none` "
            "they can)"
        )
    return [f for f in families if f not in skipped], skipped


def _refusal(spec: RefusalCheck, request: EvaluationRequest, datasets: list[str]) -> PlannedCheck:
    families, skipped = refusal_families(spec, request)
    runs = ["plain", *families]
    if spec.benign is not None:
        runs.append("benign")
    if spec.judge.kind == "model":
        runs.append("model_judge")
    if not spec.direction:
        skipped["refusal_direction"] = "not_requested: direction is false"
    elif request.baseline is None:
        skipped["refusal_direction"] = "no_baseline"
    elif not (white_box(request.target) and white_box(request.baseline)):
        role = "target" if not white_box(request.target) else "baseline"
        skipped["refusal_direction"] = f"{role}_not_white_box"
    elif spec.benign is None:
        skipped["refusal_direction"] = "no_benign_prompts"
    else:
        runs.append("refusal_direction")
    return PlannedCheck(name="refusal", runs=runs, skipped=skipped, datasets=datasets)


def _collateral(spec: CollateralCheck, datasets: list[str]) -> PlannedCheck:
    figures: list[str] = []
    for ref in spec.datasets:
        name = f"accuracy:{ref.group or ref.display_name()}"
        if name not in figures:
            figures.append(name)
    if spec.corpus is not None:
        figures.append("corpus_perplexity")
    if spec.prompts is not None:
        figures.append("degenerate_generation")
    return PlannedCheck(name="collateral", runs=figures, datasets=datasets)
