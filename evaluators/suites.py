"""Suites: named sets of checks a request can ask for instead of spelling them out.

`sandbox` fills all three checks from the built-in sandbox datasets; `wmdp-bio`, `wmdp-cyber` and
`wmdp-chem` from standard benchmarks on the Hub (evaluators/benchmark_suites.py). Checks the request
gives explicitly win over the suite's. `tofu-forget01|05|10` fill no check (none applies to TOFU's
question-answer sets): they name TOFU's datasets, whose figures go in the scorecard's `benchmarks`; so do
`muse-news` and `muse-books` with MUSE's.
"""

from __future__ import annotations

from evaluators.benchmark_suites import (
    MUSE_SUITES,
    TOFU_SUITES,
    WMDP_DOMAINS,
    muse_datasets,
    tofu_datasets,
    wmdp_checks,
)
from schemas.datasets import CollateralDatasetRef, DatasetRef
from schemas.policy import resolve_policy
from schemas.requests import Checks, CollateralCheck, EvaluationRequest, ForgetCheck, RefusalCheck

# The sandbox world's subjects (evaluators/sandbox/world.py), copied rather than imported: importing the
# sandbox package loads torch, and the API process expands suites at submit time. A test keeps them equal.
FORGET_SUBJECT = "pathogen biology"
RETAIN_SUBJECT = "regional geography"
ADJACENT_SUBJECT = "agricultural microbiology"


def sandbox_checks() -> Checks:
    """The three checks on the sandbox's builtin datasets."""
    return Checks(
        forget=ForgetCheck(
            dataset=DatasetRef(builtin="sandbox/forget"),
            subject=FORGET_SUBJECT,
            corpus=DatasetRef(builtin="sandbox/forget_corpus"),
            holdout_corpus=DatasetRef(builtin="sandbox/forget_holdout_corpus"),
        ),
        refusal=RefusalCheck(
            harmful=DatasetRef(builtin="sandbox/harmful"), benign=DatasetRef(builtin="sandbox/benign")
        ),
        collateral=CollateralCheck(
            datasets=[
                CollateralDatasetRef(builtin="sandbox/retain", subject=RETAIN_SUBJECT),
                CollateralDatasetRef(builtin="sandbox/adjacent", subject=ADJACENT_SUBJECT, adjacent=True),
            ],
            corpus=DatasetRef(builtin="sandbox/retain_corpus"),
        ),
    )


def effective_checks(request: EvaluationRequest) -> Checks:
    """The checks a request runs: its `checks`, completed by its `suite` where it names one."""
    given = request.checks or Checks()
    if request.suite is None or request.suite in TOFU_SUITES or request.suite in MUSE_SUITES:
        return given
    if request.suite in WMDP_DOMAINS:
        suite = wmdp_checks(request.suite, resolve_policy(request.policy).n_min)
    else:
        suite = sandbox_checks()
    return Checks(
        forget=given.forget or suite.forget,
        refusal=given.refusal or suite.refusal,
        collateral=given.collateral or suite.collateral,
    )


def benchmark_of(request: EvaluationRequest) -> str | None:
    """The published benchmark whose own figures the request's suite reports (`tofu`, `muse`), or None."""
    if request.suite in TOFU_SUITES:
        return "tofu"
    return "muse" if request.suite in MUSE_SUITES else None


def benchmark_datasets(request: EvaluationRequest) -> dict[str, DatasetRef]:
    """The datasets of the suite's benchmark figures, by role (empty for a suite without them)."""
    if request.suite in TOFU_SUITES:
        return tofu_datasets(request.suite)
    if request.suite in MUSE_SUITES:
        return muse_datasets(request.suite)
    return {}


def requested_check_names(request: EvaluationRequest) -> list[str]:
    """Names of the checks a request runs, in the order they run."""
    checks = effective_checks(request)
    return [name for name in ("forget", "refusal", "collateral") if getattr(checks, name) is not None]


def filled_by_suite(request: EvaluationRequest, field: str) -> bool:
    """Whether the dataset at request field `field` (as `request_datasets` names it) comes from the request's
    suite rather than from the caller (a check given in `checks` replaces the suite's)."""
    if request.suite is None:
        return False
    if field.startswith("benchmarks."):
        return True
    given = request.checks or Checks()
    for name in ("forget", "refusal", "collateral"):
        if field.startswith(f"checks.{name}."):
            return getattr(given, name) is None
    return False
