"""Shared statistics: every figure on a scorecard gets its interval from here.

Conventions: `confidence` is the one-sided level of each bound (policy.confidence), so 0.95 gives the
two-sided 90% interval; bootstrap results record `resamples` and `seed`.

    Interval, TestResult           result dataclasses
    wilson, clopper_pearson        proportions
    binomial_test_below            exact one-sided test against chance
    mcnemar_exact                  paired binary outcomes, target vs baseline
    bootstrap                      any statistic over paired rows, item-level or clustered
    bootstrap_difference/_ratio    paired differences and ratios of means (clusters optional)
    bootstrap_cluster_proportion   a proportion over clustered items
    bonferroni_confidence          per-figure level for m simultaneous bounds
    simultaneous_wilson            Bonferroni-adjusted Wilson intervals
    max_t_bootstrap                simultaneous bootstrap bounds for m figures
"""

from evaluators.stats.bootstrap import (
    bootstrap,
    bootstrap_cluster_proportion,
    bootstrap_difference,
    bootstrap_ratio,
)
from evaluators.stats.paired import mcnemar_exact
from evaluators.stats.proportions import binomial_test_below, clopper_pearson, wilson
from evaluators.stats.result import Interval, TestResult
from evaluators.stats.simultaneous import bonferroni_confidence, max_t_bootstrap, simultaneous_wilson

__all__ = [
    "Interval",
    "TestResult",
    "binomial_test_below",
    "bonferroni_confidence",
    "bootstrap",
    "bootstrap_cluster_proportion",
    "bootstrap_difference",
    "bootstrap_ratio",
    "clopper_pearson",
    "max_t_bootstrap",
    "mcnemar_exact",
    "simultaneous_wilson",
    "wilson",
]
