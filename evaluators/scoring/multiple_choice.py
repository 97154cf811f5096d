"""Score multiple-choice items through whatever the backend offers, batched, and name the scorer used.

Scorers, best first:
- `loglikelihood`: one request per (context, choice); the chosen answer is the argmax (lm-eval's acc, or
  acc_norm when the template says `score_by="length"`). On checkpoints all one-token choices of a question
  cost one forward pass (the backend groups them).
- `next_token_top_logprobs`: chat-only endpoints; the log-prob of each answer letter as the next token.
- `generation_parse`: the model answers in text and the first answer letter is parsed from it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from evaluators.models.protocol import (
    BatchHook,
    Capability,
    GenerationRequest,
    LanguageModel,
    LoglikelihoodRequest,
    NextTokenRequest,
)
from evaluators.scoring.templates import STANDARD, MCPrompt, MCTemplate
from schemas.datasets import MultipleChoiceItem
from schemas.errors import UnsupportedCapabilityError

ScorerName = Literal["loglikelihood", "next_token_top_logprobs", "generation_parse"]


@dataclass
class MCItemScore:
    """One scored item. `logliks` are per choice (None for `generation_parse`); `chosen` is None when no
    answer could be read. `record` is the JSON-able per-item record stored for /items."""

    index: int
    variant: str
    context: str
    logliks: list[float] | None
    chosen: int | None
    correct: bool
    scorer: ScorerName
    record: dict[str, Any] = field(default_factory=dict)


def choose_scorer(model: LanguageModel, prompts: Sequence[MCPrompt]) -> ScorerName:
    """The best scorer the backend supports for these prompts (letter scorers need letter templates)."""
    caps = model.capabilities
    if Capability.LOGLIKELIHOOD in caps:
        return "loglikelihood"
    letters_ok = all(p.letters is not None for p in prompts)
    if Capability.TOP_LOGPROBS in caps and letters_ok:
        return "next_token_top_logprobs"
    if Capability.GENERATION in caps and letters_ok:
        return "generation_parse"
    raise UnsupportedCapabilityError(
        f"model {model.name!r} offers neither log-likelihoods nor (for letter-answer templates) next-token "
        "log-probs or generation, so multiple-choice items cannot be scored"
    )


def _argmax(values: Sequence[float]) -> int | None:
    finite = [(v, i) for i, v in enumerate(values) if not math.isinf(v) and not math.isnan(v)]
    if not finite:
        return None
    # Ties go to the lowest index, as numpy.argmax in lm-eval does.
    best = max(v for v, _ in finite)
    return min(i for v, i in finite if v == best)


_ANSWER_RE = re.compile(r"answer\s*(?:is)?\s*[:\-]?\s*\(?([A-Z])\b", re.IGNORECASE)


def parse_answer_letter(text: str, letters: Sequence[str]) -> int | None:
    """The index of the answer letter in a generated text: "Answer: C" first, else the first lone letter."""
    allowed = set(letters)
    for match in _ANSWER_RE.finditer(text):
        letter = match.group(1).upper()
        if letter in allowed:
            return letters.index(letter)
    for match in re.finditer(r"\b([A-Z])\b", text):
        if match.group(1) in allowed:
            return letters.index(match.group(1))
    return None


async def score_mc_prompts(
    model: LanguageModel,
    prompts: Sequence[MCPrompt],
    answers: Sequence[int],
    *,
    score_by: Literal["raw", "length"] = "raw",
    scorer: ScorerName | None = None,
    variant: str = "standard",
    hook: BatchHook | None = None,
    max_new_tokens: int = 16,
) -> list[MCItemScore]:
    """Score already-rendered prompts (any template) in one batched call to the backend."""
    if len(prompts) != len(answers):
        raise ValueError("prompts and answers differ in length")
    explicit = scorer is not None
    scorer = scorer or choose_scorer(model, prompts)
    logliks: list[list[float] | None]
    generations: list[str | None] = [None] * len(prompts)
    if scorer == "loglikelihood":
        requests = [LoglikelihoodRequest(p.context, c) for p in prompts for c in p.continuations]
        flat = [ll for ll, _ in await model.loglikelihood(requests, hook)]
        logliks, pos = [], 0
        for p in prompts:
            logliks.append(flat[pos : pos + len(p.continuations)])
            pos += len(p.continuations)
    elif scorer == "next_token_top_logprobs":
        nt = [NextTokenRequest(p.context, p.continuations, chat=True) for p in prompts]
        try:
            got = await model.next_token_logprobs(nt, hook)
        except UnsupportedCapabilityError:
            # A chat server that returns no log-probs at all: fall back to parsing generations.
            if explicit or Capability.GENERATION not in model.capabilities:
                raise
            return await score_mc_prompts(
                model, prompts, answers, scorer="generation_parse", variant=variant, hook=hook
            )
        logliks = [[g.get(c, -math.inf) for c in p.continuations] for p, g in zip(prompts, got, strict=True)]
    else:
        gen = [GenerationRequest(p.context, max_new_tokens=max_new_tokens, chat=True) for p in prompts]
        texts = await model.generate(gen, hook)
        generations = list(texts)
        logliks = [None] * len(prompts)
    results: list[MCItemScore] = []
    for index, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
        lls = logliks[index]
        norm: list[float] | None = None
        if lls is not None:
            norm = [ll / max(len(c), 1) for ll, c in zip(lls, prompt.continuations, strict=True)]
            pick = _argmax(norm if score_by == "length" else lls)
        else:
            text = generations[index] or ""
            pick = parse_answer_letter(text, prompt.letters or ())
        record: dict[str, Any] = {
            "index": index,
            "variant": variant,
            "context": prompt.context,
            "continuations": list(prompt.continuations),
            "loglikelihoods": lls,
            "chosen": pick,
            "answer": answer,
            "correct": pick == answer,
            "scorer": scorer,
        }
        if norm is not None and score_by == "length":
            record["normalised_loglikelihoods"] = norm
        if generations[index] is not None:
            record["generation"] = generations[index]
        results.append(MCItemScore(index, variant, prompt.context, lls, pick, pick == answer, scorer, record))
    return results


async def score_multiple_choice(
    model: LanguageModel,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    *,
    template: MCTemplate = STANDARD,
    hook: BatchHook | None = None,
    variant: str = "standard",
    scorer: ScorerName | None = None,
) -> list[MCItemScore]:
    """Score items in `template`'s format (default: lm-eval's MMLU/WMDP standard), one result per item.

    Records carry `template` (its version string) so every figure traces back to the prompt text.
    """
    prompts = [template.render(item, subject) for item in items]
    scores = await score_mc_prompts(
        model,
        prompts,
        [item.answer for item in items],
        score_by=template.score_by,
        scorer=scorer,
        variant=variant,
        hook=hook,
    )
    for score in scores:
        score.record["template"] = template.version_string
    return scores
