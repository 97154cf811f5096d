"""The shipped XSTest labelled set: its size, its labels, and a split that is stable and balanced."""

from __future__ import annotations

from collections import Counter

import pytest

from evaluators.checks.refusal.judges.xstest import (
    HUMAN_LABELS,
    XSTEST_MODELS,
    develop_prompt_ids,
    load_xstest_set,
)


def test_the_set_holds_every_models_reply_to_every_prompt() -> None:
    rows = load_xstest_set()
    assert len(rows) == 450 * len(XSTEST_MODELS)
    assert Counter(r.model for r in rows) == {m: 450 for m in XSTEST_MODELS}
    assert {r.human for r in rows} == set(HUMAN_LABELS)
    assert all((r.prompt_label == "unsafe") == r.prompt_type.startswith("contrast_") for r in rows)
    assert sum(r.paper_gpt4 is None for r in rows) > 0  # GPT-4's non-label outputs stay None, not a guess


def test_each_prompt_is_in_the_same_half_for_every_model_and_the_halves_are_balanced() -> None:
    halves: dict[int, set[str]] = {}
    for r in load_xstest_set():
        halves.setdefault(r.prompt_id, set()).add(r.split)
    assert all(len(s) == 1 for s in halves.values())
    develop = load_xstest_set("develop")
    heldout = load_xstest_set("heldout")
    assert len(develop) == len(heldout) == 675
    assert Counter(r.prompt_label for r in develop) == Counter(r.prompt_label for r in heldout)
    assert not {r.prompt_id for r in develop} & {r.prompt_id for r in heldout}


def test_the_split_depends_only_on_the_ids() -> None:
    labels = {r.prompt_id: r.prompt_label for r in load_xstest_set(models=["gpt4"])}
    shuffled = dict(sorted(labels.items(), reverse=True))
    assert develop_prompt_ids(labels) == develop_prompt_ids(shuffled)
    assert develop_prompt_ids(labels) == {r.prompt_id for r in load_xstest_set("develop", ["gpt4"])}


def test_unknown_split_or_model_is_refused() -> None:
    with pytest.raises(ValueError, match="split"):
        load_xstest_set("train")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="model"):
        load_xstest_set(models=["gpt5"])
