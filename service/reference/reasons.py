"""docs/reference-reasons.md from `schemas.reasons`."""

from __future__ import annotations

from schemas.reasons import REASON_CODES, REASON_PLACEHOLDERS, REASON_PLACES
from service.reference.markdown import table

_TITLES = {
    "check": "Check reasons",
    "verdict": "Overall verdict reasons",
    "skipped": "Skipped checks",
    "benchmark": "Benchmark sections",
}


def reason_reference_markdown() -> str:
    """The reason-code page: the placeholders, then one table per place on the scorecard (a test keeps the
    committed page equal to this)."""
    lines = [
        "# Reason codes",
        "",
        "A scorecard says why with machine-readable reason codes: `name`, or `name:<detail>` where the part in",
        "angle brackets names a figure or a check. Gate on the verdict; read the reasons to see what to fix.",
        "Codes are an open set (a check plugin may add its own): accept codes not listed here. This page is",
        "generated from `schemas/reasons.py` (`REASON_CODES`); a test fails when the code emits a reason the",
        "list lacks. Regenerate it with `python -m service.reference`.",
        "",
        "## Placeholders",
        "",
        *table(["part", "stands for"], [[f"`{k}`", v] for k, v in REASON_PLACEHOLDERS.items()]),
    ]
    for place, where in REASON_PLACES.items():
        rows = [[f"`{code}`", rc.meaning] for code, rc in REASON_CODES.items() if place in rc.places]
        lines += ["", f"## {_TITLES[place]}", "", f"On {where}.", "", *table(["code", "meaning"], rows)]
    return "\n".join(lines) + "\n"
