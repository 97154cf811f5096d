"""A claimed job's fetched models are pinned to what they resolved to at submit, an adapter's base and a
model judge included; a request without fetched models is left as it is."""

from __future__ import annotations

from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource
from schemas.targets import HubTarget, MLflowTarget
from service.runner.pinning import pin_request

SHA, BASE_SHA = "a" * 40, "b" * 40


def _hub(requested: str, sha: str) -> ModelSource:
    return ModelSource(registry="hf", endpoint="https://hub", requested=requested, repo="acme/x", revision=sha)


def test_targets_bases_and_judges_are_pinned() -> None:
    request = EvaluationRequest.model_validate(
        {
            "target": {"kind": "hf", "repo": "acme/lora", "base": {"kind": "hf", "repo": "acme/base"}},
            "baseline": {"kind": "mlflow", "model_uri": "models:/base@production"},
            "checks": {
                "refusal": {
                    "harmful": {"items": [{"prompt": "p"}]},
                    "judge": {"kind": "model", "target": {"kind": "hf", "repo": "acme/judge", "revision": "v2"}},
                }
            },
        }
    )
    resolved = {
        "target": _hub("main", SHA),
        "target.base": _hub("main", BASE_SHA),
        "baseline": ModelSource(registry="mlflow", endpoint="http://m", requested="x", name="base", version="7"),
        "checks.refusal.judge.target": _hub("v2", "c" * 40),
    }
    pinned = pin_request(request, resolved)
    assert isinstance(pinned.target, HubTarget) and pinned.target.revision == SHA
    assert isinstance(pinned.target.base, HubTarget) and pinned.target.base.revision == BASE_SHA
    assert isinstance(pinned.baseline, MLflowTarget) and pinned.baseline.model_uri == "models:/base/7"
    assert pinned.checks is not None and pinned.checks.refusal is not None
    judge = pinned.checks.refusal.judge.target
    assert isinstance(judge, HubTarget) and judge.revision == "c" * 40
    assert request.target.revision == "main"  # the stored request itself is not changed
    assert pin_request(request, {}) is request
