"""Shared helpers of the report renderers: coercion, number formatting, check order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from schemas.scorecard import CheckResult, Metric, Scorecard

CHECK_ORDER = ("forget", "refusal", "collateral")
CHECK_TITLES = {
    "forget": "Forget efficacy",
    "refusal": "Refusal consistency",
    "collateral": "Collateral capability",
}


def as_scorecard(sc: Scorecard | Mapping[str, Any]) -> Scorecard:
    """A Scorecard from a model or its JSON dict (as the store keeps it)."""
    return sc if isinstance(sc, Scorecard) else Scorecard.model_validate(sc)


def checks_of(sc: Scorecard) -> Iterator[tuple[str, CheckResult]]:
    """The checks that ran, in the fixed report order."""
    for name in CHECK_ORDER:
        result = getattr(sc.checks, name)
        if result is not None:
            yield name, result


def fmt(x: float | None, digits: int = 3) -> str:
    """A figure for a person; `n/a` when it was not estimable."""
    return "n/a" if x is None else f"{x:.{digits}f}"


def fmt_interval(m: Metric) -> str:
    """`[low, high]` with the confidence level, e.g. `[0.120, 0.310] 95%`."""
    if m.ci_low is None and m.ci_high is None:
        return "n/a"
    return f"[{fmt(m.ci_low)}, {fmt(m.ci_high)}] {round(m.confidence * 100):d}% ({m.ci_method})"


def metric_label(m: Metric) -> str:
    """A metric's name qualified by its variant and model, e.g. `accuracy[few_shot, baseline]`."""
    quals = [q for q in (m.variant, m.model if m.model != "target" else None) if q]
    return f"{m.name}[{', '.join(quals)}]" if quals else m.name


def gated_metrics(result: CheckResult) -> list[Metric]:
    """The figures that take part in a check's verdict: the gated ones, else the headline."""
    gated = [m for m in result.metrics if m.gated]
    if (
        result.headline is not None
        and result.headline.gated
        and all(metric_label(g) != metric_label(result.headline) for g in gated)
    ):
        gated.insert(0, result.headline)
    if not gated and result.headline is not None:
        gated = [result.headline]
    return gated
