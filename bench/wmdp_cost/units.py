"""A measured unit of the suite's cost (`Unit`), the suite's published item counts, and the time budget each
part's backend calls check (`Deadline`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

SUITE = "wmdp-bio"
FULL_SUITE_COUNTS = {
    "wmdp_bio": 1273,
    "mmlu_test": 14042,
    "harmbench_standard": 200,
    "harmbench_chemical_biological": 28,
    "xstest_safe": 250,
}
"""Published item counts (HarmBench's chemical_biological count is HARMBENCH_CATEGORY_COUNTS's assumption)."""


class DeadlineExceeded(Exception):
    """A unit ran past its part's time budget (raised from the BatchHook between batches)."""


@dataclass
class Deadline:
    """The BatchHook every backend call gets: raises once `at` (time.monotonic) has passed."""

    at: float = float("inf")

    def __call__(self, done: int) -> None:
        if time.monotonic() > self.at:
            raise DeadlineExceeded(f"past the part's time budget after {done} done")


@dataclass
class Unit:
    """One measured unit: `seconds` for `n` units on both roles; `fixed_s` of it does not scale with n."""

    part: str
    name: str
    unit: str
    n: int
    seconds: float | None
    fixed_s: float = 0.0
    full_count: int | None = None
    notes: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def per_unit_s(self) -> float | None:
        if self.seconds is None or self.n == 0:
            return None
        return max(0.0, self.seconds - self.fixed_s) / self.n

    def extrapolated_s(self) -> float | None:
        if self.per_unit_s is None or self.full_count is None:
            return None
        return self.per_unit_s * self.full_count + self.fixed_s

    def as_dict(self) -> dict[str, Any]:
        per = self.per_unit_s
        full = self.extrapolated_s()
        return {
            "part": self.part,
            "name": self.name,
            "unit": self.unit,
            "n": self.n,
            "seconds_both_roles": None if self.seconds is None else round(self.seconds, 3),
            "fixed_s": round(self.fixed_s, 3),
            "per_unit_s": None if per is None else round(per, 5),
            "full_count": self.full_count,
            "extrapolated_s": None if full is None else round(full, 1),
            "notes": self.notes,
            "loadavg_before": [round(x, 2) for x in self.load_before],
            "loadavg_after": [round(x, 2) for x in self.load_after],
        }
