"""A plain-text summary of a scorecard for terminals and CI logs."""

from __future__ import annotations

from typing import Any


def _figure(metric: dict[str, Any]) -> str:
    value = metric.get("value")
    if value is None:
        return f"{metric['name']} n/a (n={metric.get('n', 0)})"
    low, high = metric.get("ci_low"), metric.get("ci_high")
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    threshold = f" threshold {metric['threshold']:g}" if metric.get("threshold") is not None else ""
    return f"{metric['name']} {value:.3f}{interval} n={metric.get('n', 0)}{threshold}"


def format_scorecard(scorecard: dict[str, Any]) -> str:
    """Overall verdict, then one line per check: verdict, headline figure with its interval and n, reasons."""
    lines = [f"evaluation {scorecard['evaluation_id']}: {scorecard['verdict'].upper()}"]
    policy = scorecard.get("policy") or {}
    if policy:
        lines.append(f"  policy {policy.get('name', '?')} (confidence {policy.get('confidence', '?')})")
    for name, check in (scorecard.get("checks") or {}).items():
        if check is None:
            continue
        headline = f"  {_figure(check['headline'])}" if check.get("headline") else ""
        reasons = f"  ({', '.join(check['reasons'])})" if check.get("reasons") else ""
        lines.append(f"  {name:<11} {check['verdict']:<8}{headline}{reasons}")
        if check.get("summary"):
            lines.append(f"              {check['summary']}")
    for skipped in scorecard.get("skipped") or []:
        lines.append(f"  skipped: {skipped}")
    if scorecard.get("reasons"):
        lines.append(f"  verdict reasons: {', '.join(scorecard['reasons'])}")
    return "\n".join(lines)
