"""JUnit XML of a scorecard: one test suite per check, one test case per gated figure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from schemas.scorecard import CheckResult, Metric, Scorecard
from service.reports._common import as_scorecard, checks_of, fmt, fmt_interval, gated_metrics, metric_label


def _figure_message(m: Metric) -> str:
    op = "<" if m.direction == "lower_is_better" else ">"
    threshold = f"must be {op} {fmt(m.threshold)}" if m.threshold is not None else "no threshold"
    return f"{metric_label(m)} = {fmt(m.value)}, interval {fmt_interval(m)}, n={m.n}; {threshold}"


def _figure_fails(m: Metric, result: CheckResult) -> bool:
    """Whether this figure is beyond its threshold (the check failed and the interval says so)."""
    if result.verdict != "fail":
        return False
    if m.threshold is None or m.ci_low is None or m.ci_high is None:
        return False
    return m.ci_low > m.threshold if m.direction == "lower_is_better" else m.ci_high < m.threshold


def _suite(name: str, result: CheckResult, sc: Scorecard) -> ET.Element:
    suite = ET.Element("testsuite", name=f"unlearn-audit.{name}")
    cases = gated_metrics(result)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if result.verdict in ("error", "skipped") or not cases:
        # No figure to gate on: one case stands for the whole check.
        case = ET.SubElement(suite, "testcase", classname=f"unlearn-audit.{name}", name=name)
        counts["tests"] = 1
        message = "; ".join(result.reasons) or result.summary or result.verdict
        if result.verdict == "error":
            el = ET.SubElement(case, "error", message=message, type="check_error")
            el.text = result.summary
            counts["errors"] = 1
        elif result.verdict == "skipped":
            ET.SubElement(case, "skipped", message=message)
            counts["skipped"] = 1
        elif result.verdict == "fail":
            ET.SubElement(case, "failure", message=message, type="verdict_fail")
            counts["failures"] = 1
    else:
        failing = [m for m in cases if _figure_fails(m, result)]
        if result.verdict == "fail" and not failing:
            failing = cases  # the check failed on a rule no single bound shows; blame every gate
        for m in cases:
            case = ET.SubElement(suite, "testcase", classname=f"unlearn-audit.{name}", name=metric_label(m))
            counts["tests"] += 1
            if m in failing and result.verdict == "fail":
                el = ET.SubElement(case, "failure", message=_figure_message(m), type="threshold")
                el.text = "; ".join(result.reasons)
                counts["failures"] += 1
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{result.verdict}: {_figure_message(m)}"
    for key, value in counts.items():
        suite.set(key, str(value))
    if result.duration_s is not None:
        suite.set("time", f"{result.duration_s:.3f}")
    suite.set("timestamp", sc.created_at)
    return suite


def to_junit(sc: Scorecard | Mapping[str, Any]) -> str:
    """JUnit XML: `<failure>` for a figure beyond its threshold, `<error>` for a check that erred,
    `<skipped>` for a skipped check, with the figure, interval and threshold in each message."""
    card = as_scorecard(sc)
    root = ET.Element("testsuites", name=f"unlearn-audit {card.evaluation_id}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, result in checks_of(card):
        suite = _suite(name, result, card)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for skipped in card.skipped:
        # Checks that never ran (recorded only as text on the scorecard).
        suite = ET.SubElement(root, "testsuite", name="unlearn-audit.skipped", tests="1", skipped="1")
        case = ET.SubElement(suite, "testcase", classname="unlearn-audit.skipped", name=skipped.split(":")[0])
        ET.SubElement(case, "skipped", message=skipped)
        totals["tests"] += 1
        totals["skipped"] += 1
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
