"""Small helpers shared by the generated pages: table cells and tables."""

from __future__ import annotations

from collections.abc import Sequence


def cell(text: str) -> str:
    """Text that stays inside one Markdown table cell (no pipe, no line break)."""
    return " ".join(text.replace("|", "\\|").split())


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table as lines; cells are escaped with `cell`."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines
