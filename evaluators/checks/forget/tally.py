"""What one run of the forget check gathers as it goes: item records, elicitation scores, skips, seconds, progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evaluators.checks.base import LoadedDataset
from evaluators.checks.forget.figures import ElicitationScores
from evaluators.checks.forget.templates import TEMPLATE_VERSIONS
from schemas.jobs import ItemRecord

if TYPE_CHECKING:
    from evaluators.checks.forget.blackbox import RolesScored


@dataclass
class Tally:
    """Filled in the check's order (black-box elicitations, then white-box attacks), wherever its units ran."""

    dataset: LoadedDataset
    folds: list[int]
    total: int
    """Units of progress: one per black-box elicitation and one per white-box attack."""
    progress: Callable[[int, int], None]
    done: int = 0
    records: list[ItemRecord] = field(default_factory=list)
    elicitations: list[ElicitationScores] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per elicitation or attack, target and baseline together (for cost planning)."""

    def record(self, variant: str, model: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            i = int(row["index"])
            self.records.append(
                ItemRecord(
                    check="forget",
                    dataset=self.dataset.name,
                    index=i,
                    variant=variant,
                    model=model,
                    fold=self.folds[i],
                    record=row,
                )
            )

    def step(self) -> None:
        self.done += 1
        self.progress(self.done, self.total)

    def add_black_box(self, scored: RolesScored) -> None:
        """One black-box elicitation's records (target, then baseline) and scores, or why the target could not
        be scored."""
        name = scored.elicitation
        if scored.skipped is not None:
            self.skipped[name] = scored.skipped
        for role, rows in scored.rows.items():
            self.record(name, role, rows)
        if "target" in scored.correct:
            correct = scored.correct
            self.elicitations.append(
                ElicitationScores(
                    name, "black_box", correct["target"], correct.get("baseline"), version=TEMPLATE_VERSIONS[name]
                )
            )
        self.seconds[name] = scored.seconds
