"""Score the black-box elicitations on one model, out of fold, through helper D's batched scorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluators.checks.forget.folds import pick_shots
from evaluators.checks.forget.templates import (
    BLACK_BOX,
    GENERATION_MAX_NEW_TOKENS,
    BlackBoxElicitation,
    few_shot,
)
from evaluators.models.protocol import BatchHook, Capability, LanguageModel
from evaluators.scoring import MCItemScore, choose_scorer, score_mc_prompts
from schemas.datasets import MultipleChoiceItem
from schemas.errors import UnsupportedCapabilityError


@dataclass
class BlackBoxRun:
    """One elicitation on one model: per-item scores, or the reason it could not run."""

    name: str
    scores: list[MCItemScore] | None
    skipped: str | None = None


def _unsupported(model: LanguageModel, elicitation: BlackBoxElicitation, prompts: Sequence[object]) -> str | None:
    if elicitation.scorer == "generation_parse":
        if Capability.GENERATION not in model.capabilities:
            return f"model {model.name!r} cannot generate"
        return None
    try:
        choose_scorer(model, prompts)  # type: ignore[arg-type]
    except UnsupportedCapabilityError as exc:
        return str(exc)
    return None


async def score_elicitation(
    model: LanguageModel,
    name: str,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    folds: Sequence[int],
    *,
    few_shot_k: int,
    seed: int,
    hook: BatchHook | None,
) -> BlackBoxRun:
    """Render every item in `name`'s format (few-shot: shots from other folds) and score them in one batch."""
    elicitation = BLACK_BOX[name]
    if elicitation.needs_shots:
        templates = [few_shot(pick_shots(items, folds, i, few_shot_k, seed)) for i in range(len(items))]
    else:
        templates = [elicitation.template] * len(items)
    prompts = [t.render(item, subject) for t, item in zip(templates, items, strict=True)]
    why = _unsupported(model, elicitation, prompts)
    if why is not None:
        return BlackBoxRun(name, None, why)
    scores = await score_mc_prompts(
        model,
        prompts,
        [item.answer for item in items],
        score_by=elicitation.template.score_by,
        scorer=elicitation.scorer,
        variant=name,
        hook=hook,
        max_new_tokens=GENERATION_MAX_NEW_TOKENS,
    )
    for score, template in zip(scores, templates, strict=True):
        score.record["template"] = template.version_string
    return BlackBoxRun(name, scores)
