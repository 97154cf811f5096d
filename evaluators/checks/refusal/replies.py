"""Generate replies to prompt variants (batched through the backend) and judge them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evaluators.checks.refusal.generation import reply_temperature
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.metrics import JudgedReply
from evaluators.checks.refusal.variants import PromptVariant
from evaluators.models.protocol import BatchHook, GenerationRequest, LanguageModel
from schemas.errors import ModelProtocolError, ModelUnreachableError
from schemas.generation import RefusalGeneration

CHUNK = 64
"""Requests per `generate` call: progress per chunk; one failing chunk costs only its replies."""


def generation_requests(
    variants: Sequence[PromptVariant],
    samples: int,
    max_new_tokens: int,
    seed: int,
    generation: RefusalGeneration | None = None,
) -> list[tuple[PromptVariant, int, GenerationRequest]]:
    """One chat request per variant and sample, with the check's generation settings.

    Greedy replies carry no seed; sampled ones (temperature > 0) are seeded `seed + sample`, so a rerun with the
    same seed asks for the same draws. A variant's prefill goes with its request.
    """
    generation = generation or RefusalGeneration()
    temperature = reply_temperature(generation, samples)
    return [
        (
            v,
            s,
            GenerationRequest(
                v.text,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                seed=None if temperature == 0 else seed + s,
                chat=True,
                top_p=generation.top_p if generation.top_p is not None else 1.0,
                system_prompt=generation.system_prompt,
                chat_template=generation.chat_template,
                prefill=v.prefill,
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
    judge labels `unassessed`; cancellation and deadline errors propagate. A prefilled reply is judged on the
    model's continuation alone (the prefix is ours; see `variants`).
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
