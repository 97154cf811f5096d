"""A baseline's results, computed once per worker and reused by later jobs.

CI pipelines audit candidate after candidate against the same baseline. Its answers to the same calls (the
same requests in the same order, so the same batches) do not change, so a worker keeps them: the baseline is
wrapped in `MemoisedModel`, which memoises whole calls (never single requests, whose batch neighbours would
change the floating-point result), and attacks on it (relearning a copy, quantizing it, probing it) are
memoised with `reused(...)` under a key naming every input. Only a model whose fingerprint is the sha256 of
its weights qualifies: an endpoint's name can serve other weights tomorrow. Values are deep-copied in and
out, so no caller can change what another sees.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from evaluators.models.protocol import (
    BatchHook,
    GenerationRequest,
    LanguageModel,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
)
from schemas.canonical import sha256_hex
from schemas.scorecard import ModelProvenance

T = TypeVar("T")


class ResultMemo:
    """A bounded LRU of computed results, shared by the jobs one worker runs."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            value: T = copy.deepcopy(self._entries[key])
            return value
        self.misses += 1
        value = await compute()  # an exception (a cancelled job) stores nothing
        self._entries[key] = copy.deepcopy(value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class MemoisedModel:
    """`inner` with whole-call memoisation; white-box access passes through unchanged."""

    def __init__(self, inner: LanguageModel, memo: ResultMemo, identity: str) -> None:
        self.inner = inner
        self.memo = memo
        self.identity = identity
        """The weights' sha256 and how they run (device, dtype, batch size): the memo keys' prefix."""
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.hits_here = 0

    async def reuse(self, parts: Sequence[Any], compute: Callable[[], Awaitable[T]]) -> T:
        """`compute()`'s result for the call `parts` describes, from the memo when this worker has it."""
        before = self.memo.hits
        value = await self.memo.get_or_compute(sha256_hex([self.identity, *parts]), compute)
        self.hits_here += self.memo.hits - before
        return value

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        return await self.reuse(["loglikelihood", list(requests)], lambda: self.inner.loglikelihood(requests, hook))

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        if any(r.temperature > 0 and r.seed is None for r in requests):  # unseeded sampling: not repeatable
            return await self.inner.generate(requests, hook)
        return await self.reuse(["generate", list(requests)], lambda: self.inner.generate(requests, hook))

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        return await self.reuse(
            ["next_token_logprobs", list(requests)], lambda: self.inner.next_token_logprobs(requests, hook)
        )

    async def fingerprint(self) -> ModelProvenance:
        return await self.inner.fingerprint()

    def runtime(self) -> RuntimeInfo:
        return self.inner.runtime()

    async def close(self) -> None:
        await self.inner.close()

    # -- WhiteBoxModel, when the inner model is one (AttributeError otherwise, so isinstance says no) --
    @property
    def torch_model(self) -> Any:
        return self.inner.torch_model  # type: ignore[attr-defined]

    @property
    def tokenizer(self) -> Any:
        return self.inner.tokenizer  # type: ignore[attr-defined]

    @property
    def device(self) -> str:
        return str(self.inner.device)  # type: ignore[attr-defined]

    def derived(self, torch_model: Any, label: str) -> LanguageModel:
        return self.inner.derived(torch_model, label)  # type: ignore[attr-defined]

    async def hidden_states(self, texts: Sequence[str], hook: BatchHook | None = None) -> list[Any]:
        inner: Any = self.inner
        return await self.reuse(["hidden_states", list(texts)], lambda: inner.hidden_states(texts, hook))


async def memoised(model: LanguageModel, memo: ResultMemo) -> LanguageModel:
    """`model` wrapped for reuse when its weights are fingerprinted; else `model` itself."""
    provenance = await model.fingerprint()
    if not (provenance.fingerprint and provenance.fingerprint_verified):
        return model
    runtime = model.runtime()
    identity = sha256_hex([provenance.fingerprint, runtime.device, runtime.dtype, runtime.batch_size])
    return MemoisedModel(model, memo, identity)


async def reused(model: Any, parts: Sequence[Any], compute: Callable[[], Awaitable[T]]) -> T:
    """Memoise an attack on `model` (relearning, quantization, probes) when it is a MemoisedModel."""
    if isinstance(model, MemoisedModel):
        return await model.reuse(parts, compute)
    return await compute()
