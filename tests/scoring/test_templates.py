"""Templates render lm-eval's exact text; scorers pick answers as lm-eval's acc / acc_norm do."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from evaluators.models import Capability, GenerationRequest, LoglikelihoodRequest, NextTokenRequest
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.scoring import (
    CLOZE,
    STANDARD,
    MCTemplate,
    parse_answer_letter,
    score_mc_prompts,
    score_multiple_choice,
)
from schemas.datasets import MultipleChoiceItem
from schemas.errors import UnsupportedCapabilityError

ITEM = MultipleChoiceItem(question="  Which gas do plants absorb? \n", choices=["O2", "CO2", "N2", "He"], answer=1)


def test_standard_is_lm_eval_wmdp_text() -> None:
    prompt = STANDARD.render(ITEM, "biology")
    assert prompt.context == (
        "The following are multiple choice questions (with answers) about biology.\n\n"
        "Which gas do plants absorb?\nA. O2\nB. CO2\nC. N2\nD. He\nAnswer:"
    )
    assert prompt.continuations == (" A", " B", " C", " D")
    assert STANDARD.version_string == "standard@mmlu-lm-eval-0.4.13"


def test_twenty_six_choices_and_more_refused() -> None:
    item = MultipleChoiceItem(question="q", choices=[f"c{i}" for i in range(26)], answer=25)
    prompt = STANDARD.render(item, "x")
    assert prompt.continuations[-1] == " Z" and "\nZ. c25\nAnswer:" in prompt.context
    with pytest.raises(ValueError, match="26"):
        STANDARD.render(item.model_copy(update={"choices": [*item.choices, "extra"]}), "x")


def test_cloze_and_few_shot_prefix() -> None:
    shot = MultipleChoiceItem(question="Sky colour?", choices=["blue", "red"], answer=0)
    prompt = CLOZE.with_shots([shot]).render(ITEM, "biology")
    assert prompt.context.endswith(
        "Question: Sky colour?\nAnswer: blue\n\nQuestion: Which gas do plants absorb?\nAnswer:"
    )
    assert prompt.continuations == (" O2", " CO2", " N2", " He") and prompt.letters is None
    assert CLOZE.with_shots([shot]).version_string == "cloze@1+1shot"
    wrapped = MCTemplate(name="roleplay", version="1", wrapper="You are a tutor.\n{prompt}").render(ITEM, "b")
    assert "You are a tutor.\nWhich gas" in wrapped.context


def test_answer_parsing() -> None:
    letters = ("A", "B", "C", "D")
    assert parse_answer_letter("The answer is (C).", letters) == 2
    assert parse_answer_letter("Answer: b", letters) == 1
    assert parse_answer_letter("I think D is right", letters) == 3
    assert parse_answer_letter("E", letters) is None
    assert parse_answer_letter("no idea", letters) is None


class _Scripted:
    """Only to drive the plumbing: fixed log-likelihoods per continuation."""

    name = "scripted"

    def __init__(self, values: dict[str, float], capabilities: frozenset[Capability]) -> None:
        self.values = values
        self.capabilities = capabilities

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: object = None
    ) -> list[tuple[float, bool]]:
        return [(self.values[r.continuation], False) for r in requests]

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: object = None
    ) -> list[dict[str, float]]:
        return [{c: self.values[c] for c in r.candidates if c in self.values} for r in requests]

    async def generate(self, requests: Sequence[GenerationRequest], hook: object = None) -> list[str]:
        return ["Answer: D"] * len(requests)


async def test_length_normalisation_changes_the_pick() -> None:
    # Raw favours the short " O2"; per character the long " CO2" is better (acc vs acc_norm).
    model = _Scripted({" O2": -3.0, " CO2": -3.2, " N2": -9.0, " He": -9.0}, frozenset({Capability.LOGLIKELIHOOD}))
    raw = await score_multiple_choice(model, [ITEM], "b", template=MCTemplate(name="c", answer_kind="text"))  # type: ignore[arg-type]
    norm = await score_multiple_choice(model, [ITEM], "b", template=CLOZE)  # type: ignore[arg-type]
    assert raw[0].chosen == 0 and not raw[0].correct
    assert norm[0].chosen == 1 and norm[0].correct
    assert norm[0].record["normalised_loglikelihoods"][1] == pytest.approx(-3.2 / 4)


async def test_scorer_selection_and_missing_letters() -> None:
    letters_only = _Scripted({" A": -1.0, " B": -0.5}, frozenset({Capability.TOP_LOGPROBS}))
    got = await score_multiple_choice(letters_only, [ITEM], "b")  # type: ignore[arg-type]
    assert got[0].scorer == "next_token_top_logprobs"
    assert got[0].chosen == 1 and got[0].logliks is not None and math.isinf(got[0].logliks[2])
    gen_only = _Scripted({}, frozenset({Capability.GENERATION}))
    got = await score_multiple_choice(gen_only, [ITEM], "b")  # type: ignore[arg-type]
    assert got[0].scorer == "generation_parse" and got[0].chosen == 3 and got[0].record["generation"] == "Answer: D"
    with pytest.raises(UnsupportedCapabilityError):
        await score_multiple_choice(gen_only, [ITEM], "b", template=CLOZE)  # type: ignore[arg-type]


async def test_records_for_items_on_a_real_model(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(1).open(tiny_checkpoint)
    scores = await score_multiple_choice(model, [ITEM, ITEM], "biology", variant="standard")
    record = scores[1].record
    assert record["index"] == 1 and record["variant"] == "standard" and record["template"] == STANDARD.version_string
    assert record["chosen"] == max(range(4), key=lambda i: record["loglikelihoods"][i])
    assert record["correct"] == (record["chosen"] == 1)
    again = await score_mc_prompts(model, [STANDARD.render(ITEM, "biology")], [1])
    assert again[0].logliks == pytest.approx(scores[0].logliks, abs=1e-5)
