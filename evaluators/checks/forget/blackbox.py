"""Score the black-box elicitations out of fold through the batched scorer: one elicitation on one model, and
one elicitation on the target and baseline as an independent unit of the forget check."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


@dataclass(frozen=True)
class BlackBoxUnit:
    """One black-box elicitation on the target and (where the target could be scored) the baseline: an
    independent unit of the forget check, small to pickle (everything else follows from the job)."""

    elicitation: str
    trains = False
    """It only scores (see service.runner.ray_resources)."""

    @property
    def label(self) -> str:
        return f"black_box-{self.elicitation}"


@dataclass
class RolesScored:
    """A black-box unit's result: per role, per-item correctness and records; or why the target was skipped."""

    elicitation: str
    correct: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped: str | None = None
    seconds: float = 0.0


async def score_roles(
    target: LanguageModel,
    baseline: LanguageModel | None,
    name: str,
    items: Sequence[MultipleChoiceItem],
    subject: str,
    folds: Sequence[int],
    *,
    few_shot_k: int,
    seed: int,
    hook: BatchHook | None,
) -> RolesScored:
    """Elicitation `name` on the target, then on the baseline where the target could be scored."""
    began = time.perf_counter()
    scored = RolesScored(name)
    for role, model in (("target", target), ("baseline", baseline)):
        if model is None or (role == "baseline" and "target" not in scored.correct):
            continue
        run = await score_elicitation(model, name, items, subject, folds, few_shot_k=few_shot_k, seed=seed, hook=hook)
        if run.scores is None:
            if role == "target":
                scored.skipped = run.skipped or "unsupported"
            continue
        scored.correct[role] = np.array([s.correct for s in run.scores], dtype=bool)
        scored.rows[role] = [{**s.record, "index": s.index} for s in run.scores]
    scored.seconds = round(time.perf_counter() - began, 3)
    return scored
