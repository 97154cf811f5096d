"""A small scripted model implementing the protocol, with known answers, for plumbing tests.

It recognises the item a prompt asks about (the last known question in the context, so few-shot shots
do not confuse it) and answers according to a behaviour chosen per format by `behaviour(context)`:

    know    the correct choice is most likely
    avoid   a wrong choice is most likely, the correct one least (below chance)
    guess   choice (item number mod k) is most likely: about chance on random answers
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Literal

from evaluators.checks.base import CheckContext, LoadedDataset
from evaluators.models.protocol import (
    BatchHook,
    Capability,
    GenerationRequest,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
)
from evaluators.scoring import LETTERS
from schemas.datasets import DatasetRef, MultipleChoiceItem, TextItem
from schemas.policy import Policy
from schemas.scorecard import ModelProvenance

Behaviour = Literal["know", "avoid", "guess"]


def make_items(n: int, seed: int = 0, k: int = 4) -> list[MultipleChoiceItem]:
    """n fictional four-choice items with seeded random answer positions."""
    rng = random.Random(seed)
    return [
        MultipleChoiceItem(
            question=f"Which vault does agent Q{i:03d} guard?",
            choices=[f"vault {i}-{c}" for c in range(k)],
            answer=rng.randrange(k),
        )
        for i in range(n)
    ]


def always(b: Behaviour) -> Callable[[str], Behaviour]:
    return lambda context: b


class ScriptedModel:
    """Answers `items` with per-format behaviour; counts the requests it serves."""

    def __init__(
        self,
        items: Sequence[MultipleChoiceItem],
        behaviour: Callable[[str], Behaviour],
        *,
        name: str = "scripted",
        capabilities: frozenset[Capability] | None = None,
    ) -> None:
        self.name = name
        self.capabilities = capabilities or frozenset({Capability.LOGLIKELIHOOD, Capability.GENERATION})
        self._items = list(items)
        self._behaviour = behaviour
        self.calls = 0

    def _find(self, context: str) -> int:
        best, where = -1, -1
        for i, item in enumerate(self._items):
            pos = context.rfind(item.question)
            if pos > where:
                best, where = i, pos
        if best < 0:
            raise AssertionError(f"scripted model: unknown question in {context[-80:]!r}")
        return best

    def _preferred(self, context: str) -> tuple[int, int]:
        """(item index, choice the model prefers)."""
        i = self._find(context)
        item = self._items[i]
        k = len(item.choices)
        b = self._behaviour(context)
        if b == "know":
            return i, item.answer
        if b == "avoid":
            return i, (item.answer + 1) % k
        return i, i % k

    def _loglik(self, context: str, continuation: str) -> float:
        i, pick = self._preferred(context)
        item = self._items[i]
        options = [" " + LETTERS[c] for c in range(len(item.choices))] + [" " + c for c in item.choices]
        index = options.index(continuation) % len(item.choices)
        if index == pick:
            return -0.5
        avoid = self._behaviour(context) == "avoid" and index == item.answer
        return -9.0 if avoid else -3.0 - 0.1 * index

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        self.calls += 1
        return [(self._loglik(r.context, r.continuation), False) for r in requests]

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        self.calls += 1
        return [f" Answer: {LETTERS[self._preferred(r.prompt)[1]]}" for r in requests]

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        return [{c: self._loglik(r.context, c) for c in r.candidates} for r in requests]

    async def fingerprint(self) -> ModelProvenance:
        return ModelProvenance(kind="scripted")

    def runtime(self) -> RuntimeInfo:
        return RuntimeInfo()

    async def close(self) -> None:
        return None


def loader(
    items: Sequence[MultipleChoiceItem], name: str = "fixture", texts: dict[str, list[TextItem]] | None = None
) -> Callable[..., LoadedDataset]:
    """A dataset resolver: the MC items, and text corpora by builtin name."""

    def load(ref: DatasetRef, kind: str) -> LoadedDataset:
        if kind == "text":
            assert texts is not None and ref.builtin is not None
            return LoadedDataset(ref.builtin, "text", texts[ref.builtin], "1" * 64, "inline")
        assert kind == "multiple_choice"
        return LoadedDataset(name, "multiple_choice", list(items), "0" * 64, "inline")

    return load


def context_for(
    target: object,
    baseline: object | None,
    items: Sequence[MultipleChoiceItem],
    *,
    seed: int = 7,
    endpoint: bool = False,
    policy: Policy | None = None,
    reference: object | None = None,
    texts: dict[str, list[TextItem]] | None = None,
) -> CheckContext:
    return CheckContext(
        target=target,  # type: ignore[arg-type]
        baseline=baseline,  # type: ignore[arg-type]
        reference=reference,  # type: ignore[arg-type]
        policy=policy or Policy(),
        seed=seed,
        load_dataset=loader(items, texts=texts),
        hook=lambda done: None,
        target_is_endpoint=endpoint,
    )
