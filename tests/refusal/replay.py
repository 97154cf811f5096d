"""A memoising wrapper: the baseline's greedy replies are the same for every control, so compute them once.

Only for test speed on shared CPUs; every reply still comes from the real checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluators.models.protocol import (
    BatchHook,
    GenerationRequest,
    LanguageModel,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
)
from schemas.scorecard import ModelProvenance


class Memoised:
    """Forwards to `inner`, remembering greedy generations and log-likelihoods per request."""

    def __init__(self, inner: LanguageModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self._gen: dict[GenerationRequest, str] = {}
        self._ll: dict[LoglikelihoodRequest, tuple[float, bool]] = {}

    async def generate(
        self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None
    ) -> list[str]:
        todo = [r for r in dict.fromkeys(requests) if r not in self._gen or r.temperature > 0]
        for r, text in zip(todo, await self.inner.generate(todo, hook) if todo else [], strict=True):
            self._gen[r] = text
        return [self._gen[r] for r in requests]

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        todo = [r for r in dict.fromkeys(requests) if r not in self._ll]
        for r, ll in zip(todo, await self.inner.loglikelihood(todo, hook) if todo else [], strict=True):
            self._ll[r] = ll
        return [self._ll[r] for r in requests]

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        return await self.inner.next_token_logprobs(requests, hook)

    async def fingerprint(self) -> ModelProvenance:
        return await self.inner.fingerprint()

    def runtime(self) -> RuntimeInfo:
        return self.inner.runtime()

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
