"""The dry run's cost model: its per-unit seconds are the measured rows of the result files it names, and it
prices work as it documents (half without a baseline, scaled per unit, unmeasured units listed, not guessed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.cost_model import BENCH, REFERENCES, TINY, CostReference, Work, estimate

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.name)
def test_the_per_unit_seconds_are_the_result_files_measurements(reference: CostReference) -> None:
    result = json.loads((REPO / reference.result_file).read_text())
    measured = {
        f"{row['part']}/{row['name']}": (row["per_unit_s"], row["fixed_s"])
        for row in result["measured"]
        if row["name"] != "whole_check" and row["per_unit_s"] is not None
    }
    assert reference.units == measured
    assert f"{result['model']['parameters'] / 1e6:.1f}M" in reference.describes


def test_work_is_priced_per_unit_with_fixed_parts_once_and_halved_without_a_baseline() -> None:
    work = [Work("forget", "forget/relearning", 100), Work("refusal", "refusal/plain", 10, scale=2.0)]
    both = estimate(work, TINY, baseline=True)
    per_item, fixed = TINY.units["forget/relearning"]
    assert both.by_check["forget"] == pytest.approx(per_item * 100 + fixed, abs=1e-3)
    assert both.by_check["refusal"] == pytest.approx(TINY.units["refusal/plain"][0] * 2 * 10, abs=1e-3)
    alone = estimate(work, TINY, baseline=False)
    assert alone.seconds == pytest.approx(both.seconds / 2, abs=0.1)
    assert both.label == "estimate" and TINY.result_file in both.reference


def test_units_the_reference_did_not_measure_are_listed_not_guessed() -> None:
    result = estimate(
        [Work("forget", "forget/relearning", 10), Work("forget", "forget/standard", 10)],
        BENCH,
        baseline=True,
        unpriced=["collateral: corpus_perplexity: not measured"],
    )
    assert [line.unit for line in result.lines] == ["forget/standard"]
    assert result.not_estimated == [
        "forget/relearning: not measured on the `bench` reference",
        "collateral: corpus_perplexity: not measured",
    ]
