"""A small scripted model object for plumbing tests (never what proves a check right: see test_sandbox)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluators.models.protocol import (
    BatchHook,
    Capability,
    GenerationRequest,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
)
from schemas.errors import ModelUnreachableError
from schemas.scorecard import ModelProvenance

Reply = Callable[[str], str]


@dataclass
class ScriptedModel:
    """Answers each prompt with `reply(prompt)`; records every request it was sent."""

    reply: Reply
    name: str = "scripted"
    capabilities: frozenset[Capability] = frozenset({Capability.GENERATION, Capability.LOGLIKELIHOOD})
    fail: bool = False
    loglik: Callable[[str, str], float] = lambda context, continuation: -float(len(continuation))
    requests: list[GenerationRequest] = field(default_factory=list)

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        return [(self.loglik(r.context, r.continuation), False) for r in requests]

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        if self.fail:
            raise ModelUnreachableError("scripted outage")
        self.requests.extend(requests)
        out = [self.reply(r.prompt) for r in requests]
        if hook is not None:
            hook(len(requests))
        return out

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        return [{} for _ in requests]

    async def fingerprint(self) -> ModelProvenance:
        return ModelProvenance(kind="scripted")

    def runtime(self) -> RuntimeInfo:
        return RuntimeInfo()

    async def close(self) -> None:
        return None


def make_context(target: object, baseline: object | None, policy: object | None = None, seed: int = 0) -> Any:
    """A CheckContext over inline datasets (the real DatasetLoader), default policy unless given."""
    from evaluators.checks.base import CheckContext
    from evaluators.datasets import DatasetLoader
    from schemas.policy import PRESETS

    return CheckContext(
        target=target,  # type: ignore[arg-type]
        baseline=baseline,  # type: ignore[arg-type]
        reference=None,
        policy=policy or PRESETS["default"].model_copy(),  # type: ignore[arg-type]
        seed=seed,
        load_dataset=DatasetLoader([], None),
        hook=lambda done: None,
    )
