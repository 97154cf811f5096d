"""Generate replies to prompt variants (batched through the backend) and judge them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.metrics import JudgedReply
from evaluators.checks.refusal.variants import PromptVariant
from evaluators.models.protocol import BatchHook, GenerationRequest, LanguageModel
from schemas.errors import ModelProtocolError, ModelUnreachableError

CHUNK = 64
"""Requests per `generate` call: progress per chunk; one failing chunk costs only its replies."""

SAMPLE_TEMPERATURE = 0.7
"""Temperature of replies when `samples` > 1 (1 sample is greedy)."""


def generation_requests(
    variants: Sequence[PromptVariant], samples: int, max_new_tokens: int, seed: int
) -> list[tuple[PromptVariant, int, GenerationRequest]]:
    """One chat request per variant and sample: greedy for one sample, seeded sampling for more."""
    temperature = 0.0 if samples == 1 else SAMPLE_TEMPERATURE
    return [
        (
            v,
            s,
            GenerationRequest(
                v.text,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                seed=None if samples == 1 else seed + s,
                chat=True,
            ),
        )
        for v in variants
        for s in range(samples)
    ]


async def generate_and_judge(
    model: LanguageModel,
    role: str,
    dataset: str,
    requests: Sequence[tuple[PromptVariant, int, GenerationRequest]],
    judge: LayeredJudge,
    hook: BatchHook,
    advance: Callable[[int], None],
) -> list[JudgedReply]:
    """Replies of `model` (`target` or `baseline`) to every request, each with one label.

    A chunk the backend cannot answer (unreachable, or off-protocol) leaves its replies None, which the
    judge labels `unassessed`; cancellation and deadline errors propagate.
    """
    texts: list[str | None] = []
    for start in range(0, len(requests), CHUNK):
        chunk = [r for _, _, r in requests[start : start + CHUNK]]
        try:
            texts.extend(await model.generate(chunk, hook))
        except (ModelUnreachableError, ModelProtocolError):
            texts.extend([None] * len(chunk))
        advance(len(chunk))
    pairs = [(v.text, t) for (v, _, _), t in zip(requests, texts, strict=True)]
    judgements = await judge.judge_many(pairs, hook)
    return [
        JudgedReply(role, dataset, v.base_index, v.family, v.sub_index, s, v.text, text, j)
        for (v, s, _), text, j in zip(requests, texts, judgements, strict=True)
    ]
