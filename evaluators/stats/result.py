"""The small result objects every statistics function returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval.

    `confidence` is the one-sided level of *each* bound (policy.confidence): a 0.95 interval here is the
    two-sided 90% interval. `low`/`high` are NaN when the figure cannot be estimated (`note` says why).
    `resamples` and `seed` are set for bootstrap intervals so the figure can be reproduced.
    """

    estimate: float
    low: float
    high: float
    n: int
    method: str
    confidence: float
    resamples: int | None = None
    seed: int | None = None
    note: str | None = None

    @property
    def estimable(self) -> bool:
        """True when the estimate and both bounds are finite numbers."""
        return all(math.isfinite(v) for v in (self.estimate, self.low, self.high))


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: `p_value` for `alternative`, with the counts it rests on in `details`."""

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    n: int
    method: str
    alternative: str
    details: dict[str, Any] = field(default_factory=dict)


def check_confidence(confidence: float) -> None:
    """Refuse a one-sided level outside (0.5, 1): below 0.5 the 'bounds' would cross the estimate."""
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
