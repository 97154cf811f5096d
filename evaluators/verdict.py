"""The one verdict rule every check uses, and the overall verdict of a scorecard.

Rule, for a figure with interval [low, high] over n items and threshold t:

    lower_is_better:  pass when high < t,  fail when low > t,  warn otherwise
    higher_is_better: pass when low > t,   fail when high < t, warn otherwise

A bound equal to t decides nothing (warn). A figure on fewer than `policy.n_min` items cannot pass:
its `pass` becomes `warn` with reason `insufficient_n`. A `fail` on few items stays `fail` (with
`insufficient_n` added): the interval already accounts for n, so the figure is clearly beyond the
threshold, and turning a clear failure into a warning would let a broken model through a gate that
only stops on `fail`. A figure without an estimate or bounds gives `warn` with `not_estimable`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from evaluators.stats.result import Interval
from schemas.policy import Policy
from schemas.scorecard import CheckResult, Metric, Verdict

Direction = Literal["higher_is_better", "lower_is_better"]
_RANK: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}


class MetricLike(Protocol):
    @property
    def value(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def n(self) -> int: ...
    @property
    def direction(self) -> Direction: ...


@dataclass(frozen=True)
class Decision:
    """A verdict with its machine-readable reasons."""

    verdict: Verdict
    reasons: list[str] = field(default_factory=list)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def judge(metric: MetricLike, threshold: float | None = None, *, n_min: int, name: str | None = None) -> Decision:
    """Apply the verdict rule to one figure; `threshold` defaults to `metric.threshold`.

    Reasons: `fails_threshold:<name>`, `inconclusive:<name>`, `insufficient_n:<name>`,
    `not_estimable:<name>` (name defaults to `metric.name`).
    """
    t = threshold if threshold is not None else getattr(metric, "threshold", None)
    if t is None:
        raise ValueError("the verdict rule needs a threshold")
    label = name or getattr(metric, "name", "figure")
    low, high = metric.ci_low, metric.ci_high
    if not (_finite(metric.value) and _finite(low) and _finite(high)):
        return Decision("warn", [f"not_estimable:{label}"])
    assert low is not None and high is not None  # narrowed by _finite
    if metric.direction == "lower_is_better":
        verdict: Verdict = "pass" if high < t else "fail" if low > t else "warn"
    else:
        verdict = "pass" if low > t else "fail" if high < t else "warn"
    reasons = {"pass": [], "warn": [f"inconclusive:{label}"], "fail": [f"fails_threshold:{label}"]}[verdict]
    if metric.n < n_min:
        reasons = [*reasons, f"insufficient_n:{label}"]
        if verdict == "pass":
            verdict = "warn"
    return Decision(verdict, reasons)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of pass < warn < fail; `pass` for none."""
    return max(verdicts, key=lambda v: _RANK[v], default="pass")


def gated_metric(
    name: str,
    interval: Interval,
    *,
    direction: Direction,
    threshold: float | None,
    gated: bool = True,
    baseline_value: float | None = None,
    variant: str | None = None,
    model: str = "target",
    note: str | None = None,
) -> Metric:
    """A scorecard Metric from an Interval: NaN becomes None, method/confidence/notes carried over."""

    def num(x: float) -> float | None:
        return x if math.isfinite(x) else None

    notes = "; ".join(s for s in (interval.note, note) if s) or None
    return Metric(
        name=name,
        value=num(interval.estimate),
        ci_low=num(interval.low),
        ci_high=num(interval.high),
        n=interval.n,
        direction=direction,
        ci_method=interval.method,
        confidence=interval.confidence,
        baseline_value=baseline_value,
        threshold=threshold,
        gated=gated and threshold is not None,
        variant=variant,
        model=model,
        note=notes,
    )


def judge_metrics(metrics: Iterable[Metric], *, n_min: int) -> Decision:
    """The worst decision over the gated metrics of a check (pass when none is gated)."""
    decisions = [judge(m, n_min=n_min, name=_label(m)) for m in metrics if m.gated]
    reasons = [r for d in decisions for r in d.reasons]
    return Decision(worst(d.verdict for d in decisions), reasons)


def _label(m: Metric) -> str:
    return f"{m.name}[{m.variant}]" if m.variant else m.name


def overall_verdict(checks: Mapping[str, CheckResult | None], policy: Policy) -> tuple[Verdict, list[str], list[str]]:
    """The scorecard verdict: the worst check verdict, with skipped checks listed and reasons given.

    Returns (verdict, skipped, reasons). `None` means the check was not requested (skipped:
    `not_requested`). A check `error` makes the overall `fail` (`check_error:<name>`); a skipped check
    in `policy.required_checks` fails (`required_check_skipped:<name>`); with `policy.warn_is_failure`
    a warn becomes fail (`warn_is_failure`). When no check ran at all the verdict is `warn`
    (`no_checks_ran`): nothing was shown, so nothing may pass.
    """
    verdicts: list[Verdict] = []
    skipped: list[str] = []
    reasons: list[str] = []
    for name, result in checks.items():
        if result is None or result.verdict == "skipped":
            why = ", ".join(result.reasons) if result is not None and result.reasons else "not_requested"
            skipped.append(f"{name}: {why}")
            if name in policy.required_checks:
                verdicts.append("fail")
                reasons.append(f"required_check_skipped:{name}")
        elif result.verdict == "error":
            verdicts.append("fail")
            reasons.append(f"check_error:{name}")
        else:
            verdicts.append(result.verdict)
            if result.verdict != "pass":
                reasons.append(f"check_{'failed' if result.verdict == 'fail' else 'warned'}:{name}")
    for name in policy.required_checks:
        if name not in checks:
            skipped.append(f"{name}: not_requested")
            verdicts.append("fail")
            reasons.append(f"required_check_skipped:{name}")
    ran = len(checks) - sum(1 for r in checks.values() if r is None or r.verdict == "skipped")
    if ran == 0 and not verdicts:
        verdicts.append("warn")
        reasons.append("no_checks_ran")
    verdict = worst(verdicts)
    if verdict == "warn" and policy.warn_is_failure:
        verdict = "fail"
        reasons.append("warn_is_failure")
    return verdict, skipped, reasons
