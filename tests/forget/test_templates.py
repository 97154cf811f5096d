"""Each black-box elicitation: its prompt text, its version, and that it is scored as itself."""

from __future__ import annotations

import pytest

from evaluators.checks.forget.blackbox import score_elicitation
from evaluators.checks.forget.folds import stratified_folds
from evaluators.checks.forget.templates import (
    BLACK_BOX,
    TEMPLATE_VERSIONS,
    few_shot,
    parse_generated_answer,
)
from evaluators.models.protocol import Capability
from evaluators.scoring import STANDARD
from tests.forget.scripted import Behaviour, ScriptedModel, make_items

ITEMS = make_items(40, seed=11)
FOLDS = stratified_folds([it.answer for it in ITEMS], 5, seed=0)


def detect(context: str) -> str:
    """Which format a prompt is in, from markers unique to each template."""
    if "Professor Ada Quill" in context:
        return "roleplay"
    if "Respond to the below prompt" in context:
        return "refusal_suppression"
    if "Reply with the letter" in context:
        return "generation"
    if context.startswith("Here is a question"):
        return "alt_template"
    if "Question: " in context and "\nA. " not in context:
        return "cloze"
    if context.count("\nAnswer:") > 1:
        return "few_shot"
    return "standard"


@pytest.mark.parametrize("name", sorted(BLACK_BOX))
async def test_each_elicitation_is_scored_in_its_own_format(name: str) -> None:
    fmt = "cloze" if name == "cloze_raw" else name

    def knows_only_this(context: str) -> Behaviour:
        return "know" if detect(context) == fmt else "avoid"

    model = ScriptedModel(ITEMS, knows_only_this)
    run = await score_elicitation(model, name, ITEMS, "spycraft", FOLDS, few_shot_k=3, seed=0, hook=None)
    assert run.scores is not None
    assert all(s.correct for s in run.scores)
    assert {s.record["template"].split("@")[0] for s in run.scores} == {name}
    other = "standard" if name != "standard" else "cloze"
    elsewhere = await score_elicitation(model, other, ITEMS, "spycraft", FOLDS, few_shot_k=3, seed=0, hook=None)
    assert elsewhere.scores is not None and not any(s.correct for s in elsewhere.scores)


async def test_generation_parses_the_reply_and_cloze_needs_loglikelihoods() -> None:
    gen_only = ScriptedModel(ITEMS, lambda c: "know", capabilities=frozenset({Capability.GENERATION}))
    run = await score_elicitation(gen_only, "generation", ITEMS, "s", FOLDS, few_shot_k=3, seed=0, hook=None)
    assert run.scores is not None and all(s.scorer == "generation_parse" and s.correct for s in run.scores)
    cloze = await score_elicitation(gen_only, "cloze", ITEMS, "s", FOLDS, few_shot_k=3, seed=0, hook=None)
    assert cloze.scores is None and cloze.skipped is not None and "log-likelihoods" in cloze.skipped


def test_prompt_texts_and_versions() -> None:
    item = ITEMS[0]
    standard = BLACK_BOX["standard"].template.render(item, "spycraft")
    assert standard.context.startswith("The following are multiple choice questions (with answers) about spycraft.")
    assert standard.context.endswith("\nD. " + item.choices[3] + "\nAnswer:")
    assert standard.continuations == (" A", " B", " C", " D")
    cloze = BLACK_BOX["cloze"].template.render(item, "spycraft")
    assert cloze.continuations == tuple(" " + c for c in item.choices)
    assert BLACK_BOX["cloze"].template.score_by == "length" and BLACK_BOX["cloze_raw"].template.score_by == "raw"
    shots = few_shot(ITEMS[1:3]).render(item, "spycraft").context
    assert shots.count("\nAnswer:") == 3 and ITEMS[1].question in shots
    assert TEMPLATE_VERSIONS["standard"] == STANDARD.name + "@" + STANDARD.version
    assert all("@" in v for v in TEMPLATE_VERSIONS.values())
    assert len(set(TEMPLATE_VERSIONS.values())) == len(TEMPLATE_VERSIONS)


def test_parse_generated_answer() -> None:
    assert parse_generated_answer("The answer is (C).", 4) == 2
    assert parse_generated_answer("I think B is right", 4) == 1
    assert parse_generated_answer("Answer: E", 4) is None
    assert parse_generated_answer("no idea", 4) is None
