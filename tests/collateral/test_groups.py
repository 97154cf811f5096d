"""Pooled collateral groups: one gated figure per group, members reported, a sample drawn across members."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from evaluators.checks.collateral import COLLATERAL_CHECK
from schemas.datasets import Sample
from schemas.requests import CollateralCheck
from tests.collateral.test_check import items, knower
from tests.refusal.scripted import make_context


def grouped(**kw: Any) -> CollateralCheck:
    return CollateralCheck.model_validate(
        {
            "datasets": [
                {"items": items("virology", 60), "name": "virology", "group": "mmlu-adjacent", "adjacent": True},
                {"items": items("anatomy", 40), "name": "anatomy", "group": "mmlu-adjacent", "adjacent": True},
                {"items": items("geography", 50), "name": "geography", "group": "mmlu-other"},
                {"items": items("marketing", 50), "name": "marketing", "group": "mmlu-other"},
            ],
            **kw,
        }
    )


async def test_groups_are_gated_pooled_and_members_reported() -> None:
    # The target forgot virology: the pooled adjacent group drops 60/100, the other group nothing.
    outcome = await COLLATERAL_CHECK.run(grouped(), make_context(knower({"virology"}), knower()))
    r = outcome.result
    assert r.verdict == "fail", r.reasons
    assert r.headline is not None and r.headline.variant == "mmlu-adjacent" and r.headline.gated
    assert r.headline.value == pytest.approx(0.6) and r.headline.n == 100
    assert r.details["m"] == 2  # the gated figures: two groups, not four subjects
    assert [row["dataset"] for row in r.details["adjacent"]] == ["mmlu-adjacent"]
    assert [row["dataset"] for row in r.details["general"]] == ["mmlu-other"]
    assert r.details["groups"] == {"mmlu-adjacent": ["virology", "anatomy"], "mmlu-other": ["geography", "marketing"]}
    members = {row["dataset"]: row for row in r.details["members"]}
    assert members["virology"]["drop"] == pytest.approx(1.0) and members["anatomy"]["drop"] == 0.0
    gated = [m for m in r.metrics if m.gated]
    assert [m.variant for m in gated] == ["mmlu-adjacent"]
    assert {m.variant for m in r.metrics if m.note and "not gated" in m.note} == set(members)
    assert {rec.record["group"] for rec in outcome.records} == {"mmlu-adjacent", "mmlu-other"}


async def test_a_sample_is_drawn_from_each_group_across_its_members() -> None:
    ctx = make_context(knower(), knower())
    ctx.sample = Sample(n=20, seed=1)
    outcome = await COLLATERAL_CHECK.run(grouped(), ctx)
    sizes = {d.name: d.n for d in outcome.datasets}
    assert sizes == {"virology": 12, "anatomy": 8, "geography": 10, "marketing": 10}
    assert Counter(rec.dataset for rec in outcome.records if rec.model == "target") == sizes
    line = next(d for d in outcome.datasets if d.name == "virology").selection[-1]
    assert line.startswith("sample: 20 of 100 (n=20, seed=1)") and "mmlu-adjacent" in line


def test_a_group_may_not_mix_adjacent_and_general() -> None:
    with pytest.raises(ValidationError, match="mixes adjacent and general"):
        CollateralCheck.model_validate(
            {
                "datasets": [
                    {"items": items("a", 5), "name": "a", "group": "g", "adjacent": True},
                    {"items": items("b", 5), "name": "b", "group": "g"},
                ]
            }
        )


async def test_members_a_small_sample_does_not_reach_are_listed_but_not_scored() -> None:
    ctx = make_context(knower(), knower())
    ctx.sample = Sample(n=1, seed=0)  # one item for each group of two members: one member of each draws none
    outcome = await COLLATERAL_CHECK.run(grouped(), ctx)
    assert outcome.result.verdict != "error"
    assert sorted(d.n for d in outcome.datasets) == [0, 0, 1, 1]
    scored = {row["dataset"] for row in outcome.result.details["members"]}
    assert scored == {d.name for d in outcome.datasets if d.n == 1}
