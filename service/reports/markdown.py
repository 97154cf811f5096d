"""A Markdown summary of a scorecard, fit for a pull-request comment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.scorecard import Scorecard
from service.reports._common import CHECK_TITLES, as_scorecard, checks_of, fmt, fmt_interval, metric_label

_BADGES = {
    "pass": "✅ pass",
    "warn": "⚠️ warn",
    "fail": "❌ fail",
    "skipped": "⏭️ skipped",
    "error": "💥 error",
}


def _cell(text: str) -> str:
    # A pipe or a newline would break the table row; raw HTML would render in a pull-request comment.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ").strip()


def to_markdown(sc: Scorecard | Mapping[str, Any]) -> str:
    """The overall verdict, then one row per check: headline figure, interval, n, threshold and reasons."""
    card = as_scorecard(sc)
    lines = [
        f"## unlearn-audit: {_BADGES[card.verdict]}",
        "",
        f"Evaluation `{card.evaluation_id}` · policy `{card.policy.name}` · {card.created_at}",
    ]
    target = card.provenance.target
    if target is not None and target.fingerprint:
        verified = "verified" if target.fingerprint_verified else "claimed"
        lines.append(f"Target weights `{target.fingerprint[:16]}…` ({verified})")
    lines += [
        "",
        "| Check | Verdict | Headline | Value | Interval | n | Threshold | Reasons |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in checks_of(card):
        h = result.headline
        row = [
            CHECK_TITLES.get(name, name),
            _BADGES.get(result.verdict, result.verdict),
            f"`{metric_label(h)}`" if h else "—",
            fmt(h.value) if h else "—",
            fmt_interval(h) if h else "—",
            str(h.n) if h else "—",
            fmt(h.threshold) if h and h.threshold is not None else "—",
            ", ".join(f"`{r}`" for r in result.reasons) or "—",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if card.reasons:
        lines += ["", "Verdict reasons: " + ", ".join(f"`{_cell(r)}`" for r in card.reasons)]
    if card.skipped:
        lines += ["", "Skipped: " + "; ".join(_cell(s) for s in card.skipped)]
    summaries = [(n, r.summary) for n, r in checks_of(card) if r.summary]
    if summaries:
        lines.append("")
        lines += [f"- **{CHECK_TITLES.get(n, n)}**: {_cell(s)}" for n, s in summaries]
    return "\n".join(lines) + "\n"
