"""Markdown, JUnit and content negotiation, on scorecards built from schemas models."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from schemas.scorecard import CheckResult
from service.errors import status_of
from service.reports import negotiate, render_scorecard, to_junit, to_markdown
from service.reports._common import fmt
from service.reports.html import render_report_html
from service.reports.negotiate import UnknownFormatError
from tests.reports.scorecards import build_scorecard, collateral_result, forget_result, refusal_result


def test_markdown_has_verdict_and_one_row_per_check_with_headline_figures() -> None:
    sc = build_scorecard()
    md = to_markdown(sc)
    assert md.startswith("## unlearn-audit: ❌ fail")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "Check" not in line]
    assert len(rows) == 3
    for row, result in zip(rows, (sc.checks.forget, sc.checks.refusal, sc.checks.collateral), strict=True):
        assert result is not None and result.headline is not None
        h = result.headline
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[1].endswith(result.verdict)
        assert cells[3] == fmt(h.value)
        assert fmt(h.ci_low) in cells[4] and fmt(h.ci_high) in cells[4]
        assert cells[5] == str(h.n)
        assert cells[6] == fmt(h.threshold)
    assert "`fails_threshold:residual_knowledge`" in rows[0]


def test_markdown_escapes_table_breakers_and_html() -> None:
    refusal = refusal_result().model_copy(update={"reasons": ["a|b"], "summary": "<script>x</script>"})
    md = to_markdown(build_scorecard(refusal=refusal))
    assert "`a\\|b`" in md
    assert "<script>" not in md and "&lt;script&gt;" in md


def _suites(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml.split("\n", 1)[1])
    return {s.get("name", "").rsplit(".", 1)[1]: s for s in root.findall("testsuite")}


def test_junit_failure_states_figure_interval_and_threshold() -> None:
    sc = build_scorecard()
    suites = _suites(to_junit(sc))
    assert set(suites) == {"forget", "refusal", "collateral"}
    failures = suites["forget"].findall("testcase/failure")
    assert len(failures) == 1 and suites["forget"].get("failures") == "1"
    h = sc.checks.forget.headline  # type: ignore[union-attr]
    assert h is not None
    message = failures[0].get("message", "")
    for figure in (h.value, h.ci_low, h.ci_high, h.threshold):
        assert fmt(figure) in message
    assert f"n={h.n}" in message
    # Passing and warning checks: one case per gated figure, none failing.
    refusal_gated = [m for m in sc.checks.refusal.metrics if m.gated]  # type: ignore[union-attr]
    assert len(suites["refusal"].findall("testcase")) == len(refusal_gated)
    assert not suites["refusal"].findall(".//failure") and not suites["collateral"].findall(".//failure")


def test_junit_error_is_distinct_from_failure_and_skipped_has_reason() -> None:
    erred = CheckResult(verdict="error", reasons=["unassessed_above_max"], summary="judges could not label")
    skipped = CheckResult(verdict="skipped", reasons=["needs_white_box"], summary="endpoint target")
    sc = build_scorecard(refusal=erred, collateral=skipped, skipped=["forget-probe: not run"])
    xml = to_junit(sc)
    suites = _suites(xml)
    assert suites["refusal"].find("testcase/error") is not None
    assert suites["refusal"].find("testcase/failure") is None
    assert suites["refusal"].get("errors") == "1" and suites["refusal"].get("failures") == "0"
    skip = suites["collateral"].find("testcase/skipped")
    assert skip is not None and "needs_white_box" in skip.get("message", "")
    root = ET.fromstring(xml.split("\n", 1)[1])
    assert root.get("errors") == "1" and root.get("skipped") == "2"


def test_junit_failing_check_blames_only_figures_beyond_threshold() -> None:
    collateral = collateral_result(verdict="fail")
    worst = collateral.metrics[-1].model_copy(update={"value": -0.2, "ci_low": -0.25, "ci_high": -0.15})
    metrics = [*collateral.metrics[:-1], worst]
    collateral = collateral.model_copy(update={"metrics": metrics, "headline": worst})
    suites = _suites(to_junit(build_scorecard(collateral=collateral, forget=forget_result("pass"))))
    cases = suites["collateral"].findall("testcase")
    failing = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failing == ["accuracy_change[virology, difference]"]


@pytest.mark.parametrize(
    ("accept", "fmt_param", "expected"),
    [
        (None, None, "json"),
        ("text/markdown", None, "markdown"),
        ("application/xml", None, "junit"),
        ("application/json", None, "json"),
        ("text/html, text/markdown;q=0.5, application/xml;q=0.9", None, "junit"),
        ("application/xml;q=0, text/markdown", None, "markdown"),
        ("*/*", None, "json"),
        ("application/xml", "markdown", "markdown"),
        ("text/markdown", "JSON", "json"),
        (None, "junit", "junit"),
    ],
)
def test_negotiate(accept: str | None, fmt_param: str | None, expected: str) -> None:
    assert negotiate(accept, fmt_param) == expected


def test_negotiate_rejects_unknown_format_naming_it() -> None:
    with pytest.raises(UnknownFormatError) as info:
        negotiate("text/markdown", "pdf")
    assert status_of(type(info.value)) == 400 and "pdf" in info.value.message and info.value.field == "format"


def test_render_scorecard_json_round_trips_and_accepts_dicts() -> None:
    sc = build_scorecard()
    body, media = render_scorecard(sc.model_dump(mode="json"), "json")
    assert media == "application/json"
    assert type(sc).model_validate_json(body) == sc
    body, media = render_scorecard(sc, "junit")
    assert media == "application/xml" and body.startswith("<?xml")


def test_markdown_and_html_say_why_the_overall_verdict_is_what_it_is() -> None:
    sc = build_scorecard().model_copy(update={"reasons": ["check_failed:forget", "required_check_skipped:refusal"]})
    md = to_markdown(sc)
    assert "Verdict reasons: `check_failed:forget`, `required_check_skipped:refusal`" in md
    html = render_report_html(sc)
    assert "<code>required_check_skipped:refusal</code>" in html
    assert "Verdict reasons" not in to_markdown(build_scorecard(verdict="pass"))
