"""The demo's reading of scorecards against the truth table, and its verdict table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluators.sandbox import EXPECTED_VERDICTS
from schemas.policy import PRESETS
from schemas.scorecard import CheckResult, Metric, Provenance, Scorecard, ScorecardChecks
from schemas.targets import SANDBOX_CONTROLS
from service.demo import CHECKS, Cell, ControlOutcome, cell_matches, cells_from_scorecard, render_table


def result(verdict: str, value: float = 0.4) -> CheckResult:
    metric = Metric(
        name="figure", value=value, ci_low=value - 0.1, ci_high=value + 0.1, n=48, direction="lower_is_better"
    )
    return CheckResult(verdict=verdict, headline=metric, metrics=[metric])


def scorecard(**checks: CheckResult) -> dict[str, Any]:
    card = Scorecard(
        schema_version="1.0",
        evaluation_id="e1",
        verdict="fail",
        checks=ScorecardChecks(**checks),
        policy=PRESETS["default"],
        provenance=Provenance(service_version="test"),
        created_at="2026-01-01T00:00:00Z",
    )
    return card.model_dump(mode="json")


def test_truth_table_covers_every_control_and_check() -> None:
    assert set(EXPECTED_VERDICTS) == set(SANDBOX_CONTROLS)
    assert all(len(row) == len(CHECKS) for row in EXPECTED_VERDICTS.values())


@pytest.mark.parametrize(
    ("expected", "verdict", "matches"),
    [
        ("fail", "fail", True),
        ("pass", "pass", True),
        ("pass", "warn", False),  # `warn` in a cell is a mismatch
        ("fail", "pass", False),
        ("any", "pass", True),
        ("any", "fail", True),
        ("any", "skipped", False),  # a check that did not run never counts as a match
        ("any", "error", False),
        ("pass", "skipped", False),
    ],
)
def test_cell_matches(expected: str, verdict: str, matches: bool) -> None:
    assert cell_matches(expected, verdict) is matches


def test_cells_carry_verdict_headline_and_interval() -> None:
    card = scorecard(forget=result("fail", 0.6), refusal=result("pass", 0.9), collateral=result("warn", 0.2))
    card["checks"]["forget"]["details"] = {"chosen_elicitation": "cloze"}
    cells = cells_from_scorecard("shallow", card)
    assert [c.check for c in cells] == list(CHECKS)
    assert [c.verdict for c in cells] == ["fail", "pass", "warn"]
    assert [c.matches for c in cells] == [True, True, False]
    assert cells[0].figure == "0.600 [0.500, 0.700]" and cells[0].detail == "figure n=48"
    card["checks"]["forget"]["headline"]["variant"] = "relearning"
    assert cells_from_scorecard("shallow", card)[0].detail == "figure n=48 via relearning"


@pytest.mark.parametrize(
    ("control", "chosen", "matches"),
    [
        ("shallow", "cloze", True),
        ("shallow", "probe", True),  # the knowledge is intact inside: white-box readers recover it too
        ("shallow", "quantization_nf4", False),
        ("shallow", None, False),
        ("robust_shallow", "relearning", True),
        ("robust_shallow", "cloze", False),  # built to hide it from every black-box format
        ("quant_fragile", "quantization_nf4", True),
        ("quant_fragile", "probe", False),
        ("base", "standard", True),  # nothing hidden: any elicitation may win
        ("rmu", "direction_ablation", True),  # the steered direction projected out
        ("rmu", "relearning", True),
        ("rmu", "cloze", False),  # built to hide it from the black-box formats
        ("robust_shallow", "direction_ablation", False),  # its states below the last block are base's
    ],
)
def test_a_forget_fail_must_name_what_the_control_was_built_for(
    control: str, chosen: str | None, matches: bool
) -> None:
    card = scorecard(forget=result("fail", 0.6))
    card["checks"]["forget"]["details"] = {"chosen_elicitation": chosen}
    cell = cells_from_scorecard(control, card)[0]
    assert cell.verdict == "fail" and cell.matches is matches
    assert ("built to be caught by" in cell.detail) is (not matches)


def test_missing_or_skipped_checks_show_as_skipped_and_mismatch() -> None:
    skipped = CheckResult(verdict="skipped", reasons=["not_implemented"], summary="collateral is not implemented")
    cells = cells_from_scorecard("ga", scorecard(forget=result("fail"), collateral=skipped))
    assert [(c.verdict, c.matches) for c in cells] == [("fail", True), ("skipped", False), ("skipped", False)]
    assert "did not run" in cells[1].detail and cells[2].detail == "collateral is not implemented"


def test_table_marks_each_cell_and_counts_matches() -> None:
    good = ControlOutcome(
        "retrain", "j1", "succeeded", [Cell(c, "pass", "pass", "0.100 [0.0, 0.2]", "x n=9") for c in CHECKS]
    )
    bad = ControlOutcome(
        "norefusal",
        "j2",
        "succeeded",
        [
            Cell("forget", "pass", "pass", "0.1 [0.0, 0.2]"),
            Cell("refusal", "fail", "warn", "0.5 [0.3, 0.7]"),
            Cell("collateral", "pass", "skipped", detail="not implemented"),
        ],
    )
    failed = ControlOutcome("ga", "j3", "failed", error="internal_error: boom")
    table = render_table([good, bad, failed])
    lines = table.splitlines()
    assert lines[0].split() == ["control", *CHECKS]
    retrain = next(line for line in lines if line.startswith("retrain "))
    assert retrain.count("✓") == 3 and "✗" not in retrain and "0.100 [0.0, 0.2]" in retrain
    norefusal = next(line for line in lines if line.startswith("norefusal "))
    assert norefusal.count("✓") == 1 and norefusal.count("✗") == 2
    assert "warn (want fail) 0.5 [0.3, 0.7]" in norefusal and "skipped (want pass)" in norefusal
    assert "norefusal/collateral: skipped: not implemented" in lines
    assert "retrain/forget: pass: x n=9" in lines
    assert "✗ failed" in next(line for line in lines if line.startswith("ga "))
    assert "ga: failed: internal_error: boom" in lines
    assert lines[-1] == "4/9 cells match the truth table"
    assert good.matches and not bad.matches and not failed.matches


def test_demo_subcommand_parses() -> None:
    from service.cli import build_parser

    args = build_parser().parse_args(["demo", "--size", "test", "--out", "here", "--sandbox-dir", "sbx"])
    assert (args.command, args.size, args.out, args.sandbox_dir) == ("demo", "test", "here", "sbx")
    assert build_parser().parse_args(["demo"]).size == "full"


def test_default_sandbox_roots_never_share_a_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from service.demo import default_sandbox_root

    monkeypatch.setenv("UNLEARN_AUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("UNLEARN_AUDIT_SANDBOX_DIR", raising=False)
    roots = {
        default_sandbox_root("full"),
        default_sandbox_root("test"),
        default_sandbox_root("full", 1),
        default_sandbox_root("test", 1),
    }
    assert len(roots) == 4 and default_sandbox_root("full") == tmp_path / "sandbox"
    assert default_sandbox_root("test", 1) == tmp_path / "sandbox-test-seed1"


def test_submission_order_submits_every_control_once_base_first() -> None:
    from service.demo import submission_order

    order = submission_order(SANDBOX_CONTROLS)
    assert sorted(order) == sorted(SANDBOX_CONTROLS) and order[0] == "base"
    # A control the order does not name still runs, after the named ones.
    assert submission_order(("unnamed", *SANDBOX_CONTROLS))[-1] == "unnamed"
