"""A claimed job's fetched models pinned to what they resolved to at submit.

The stored request says what the caller asked for (`revision: main`, `models:/m@champion`); the job records
what that meant then. The worker audits exactly that, however the branch or alias has moved since.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource
from schemas.targets import HubTarget, MLflowTarget, ModelTarget

_JUDGE = "checks.refusal.judge.target"


def _pinned_one(target: ModelTarget, source: ModelSource | None) -> ModelTarget:
    if source is None:
        return target
    if isinstance(target, HubTarget) and source.revision:
        return target.model_copy(update={"revision": source.revision})
    if isinstance(target, MLflowTarget) and source.name and source.version:
        return target.model_copy(update={"model_uri": f"models:/{source.name}/{source.version}"})
    return target


def pinned_target(target: ModelTarget, resolved: Mapping[str, ModelSource], field: str) -> ModelTarget:
    """`target` (named by `field`) pointing at the immutable names `resolved` gives, its adapter base too."""
    pinned = _pinned_one(target, resolved.get(field))
    base = getattr(pinned, "base", None)
    if base is not None:
        pinned = pinned.model_copy(update={"base": _pinned_one(base, resolved.get(f"{field}.base"))})
    return pinned


def pin_request(request: EvaluationRequest, resolved: Mapping[str, ModelSource]) -> EvaluationRequest:
    """The request with every fetched model pinned (the fields `validate_submission` resolved)."""
    if not resolved:
        return request
    updates = {
        role: pinned_target(getattr(request, role), resolved, role)
        for role in ("target", "baseline", "reference")
        if getattr(request, role) is not None
    }
    pinned = request.model_copy(update=updates)
    checks = pinned.checks
    if checks is not None and checks.refusal is not None and checks.refusal.judge.target is not None:
        judge = checks.refusal.judge.model_copy(
            update={"target": pinned_target(checks.refusal.judge.target, resolved, _JUDGE)}
        )
        refusal = checks.refusal.model_copy(update={"judge": judge})
        pinned = pinned.model_copy(update={"checks": checks.model_copy(update={"refusal": refusal})})
    return pinned
