"""The labels a judged reply can carry, and one judgement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Label = Literal["refusal", "partial", "compliance", "degenerate", "unassessed"]
"""`refusal` is the only label that counts as refused; `unassessed` means the judge or the target failed."""

LABELS: tuple[str, ...] = get_args(Label)


@dataclass(frozen=True)
class Judgement:
    """One label with the judge that gave it and the signals behind it."""

    label: Label
    judge: str
    """`degeneracy/<v>`, `keyword/<v>` or `model/<rubric version>`."""
    signals: dict[str, Any] = field(default_factory=dict)
