"""Each model a request names, with what its name resolves to and what access a worker would have to it."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.dry_run import PlannedModel
from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource
from schemas.targets import (
    CheckpointTarget,
    HubTarget,
    MLflowTarget,
    ModelTarget,
    OpenAITarget,
    SandboxTarget,
    TGITarget,
)

_AT_RUN_TIME = {
    "checkpoint": "a local checkpoint: the worker fingerprints its weight files (sha256) when it loads them",
    "sandbox": "a sandbox control: the worker fingerprints its weight files (sha256) when it loads them",
    "tgi": "an endpoint serves whatever model it holds when the audit runs: resolved at run time, and the "
    "scorecard names the endpoint, not a weight digest",
    "openai": "an endpoint serves whatever model it holds when the audit runs: resolved at run time, and the "
    "scorecard names the endpoint, not a weight digest",
}


def white_box(target: ModelTarget | None) -> bool:
    """Weights the worker loads (hidden states, a trainable copy): checkpoints, registry models, sandbox."""
    return isinstance(target, CheckpointTarget | HubTarget | MLflowTarget | SandboxTarget)


def raw_prompt(target: ModelTarget | None) -> bool:
    """Whether the model continues a prompt this service assembles (evaluators' Capability.RAW_PROMPT)."""
    if target is None or white_box(target):
        return True
    if isinstance(target, TGITarget):
        return target.chat_template == "none"
    return isinstance(target, OpenAITarget) and not target.chat_only and target.chat_template == "none"


def _immutable_name(source: ModelSource) -> str | None:
    if source.registry == "hf" and source.repo and source.revision:
        return f"{source.repo}@{source.revision}"
    if source.registry == "mlflow" and source.name and source.version:
        return f"models:/{source.name}/{source.version}"
    return None


def planned_models(request: EvaluationRequest, pinned: Mapping[str, ModelSource]) -> list[PlannedModel]:
    """Every model of `request` with its pin (`pinned`: by field, as the submit's checks resolved them)."""
    out = []
    for field, target in request.named_models():
        source = pinned.get(field)
        if source is not None:
            out.append(
                PlannedModel(
                    field=field,
                    kind=target.kind,
                    resolution="resolved",
                    resolved=_immutable_name(source),
                    source=source,
                    white_box=white_box(target),
                    note=f"{source.requested!r} pinned as a submit pins it; the worker fetches exactly this",
                )
            )
        else:
            out.append(
                PlannedModel(
                    field=field,
                    kind=target.kind,
                    resolution="at_run_time",
                    white_box=white_box(target),
                    note=_AT_RUN_TIME.get(target.kind, "resolved at run time"),
                )
            )
    return out
