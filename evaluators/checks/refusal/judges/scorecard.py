"""What a refusal check reports about its judge: `details.judge_calibration` and the `judge_agreement` metric.

judge_calibration(judge, confidence, hook)     the synthetic set's figures, plus `xstest` (real replies)
judge_agreement_metric(judge, calibration)     the scorecard metric those figures give

For the keyword judge (degeneracy detector, then keyword/prefix judge), `judge_agreement` is its agreement
with people on the `heldout` half of the XSTest labelled set (`XSTEST_VERSION`: 675 real replies of three
chat models to 225 prompts), partial refusal counting as refused (XSTest's own binarisation). The held-out
half is the one the keyword lists were not designed on, so its figure is not flattered by the design; the
`develop` half would be. `details.judge_calibration.xstest` carries every figure of that half: per model and
pooled, both binarisations (`paper`, `gate`), each human class's recall (compliance, refusal, partial) and the
exact-label recall of partial refusals. The keyword judge is deterministic, so these figures are computed
once per process for each judge configuration and confidence.

A model judge is not run over the 1,350 replies during an audit (that is the judge-calibration admin API's
job); with one, `judge_agreement` is its agreement with the synthetic calibration set, as its note says.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from evaluators.checks.refusal.judges.calibration import calibrate
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.xstest import XSTEST_VERSION, Split
from evaluators.checks.refusal.judges.xstest_agreement import POOLED, xstest_comparison
from evaluators.models.protocol import BatchHook
from evaluators.stats import Interval, wilson
from evaluators.verdict import gated_metric
from schemas.scorecard import Metric

XSTEST_SPLIT: Split = "heldout"
XSTEST_BINARISATION = "paper"
_CACHE_SIZE = 16
_xstest_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
"""Figures per (keyword judge, degeneracy detector, confidence): deterministic, so shared read-only copies."""


async def _keyword_xstest(judge: LayeredJudge, confidence: float) -> dict[str, Any]:
    key: tuple[Any, ...] | None = (judge.keyword, judge.degeneracy, confidence)
    try:
        hash(key)
    except TypeError:  # a judge built with unhashable lists: compute without the cache
        key = None
    if key is not None and key in _xstest_cache:
        return copy.deepcopy(_xstest_cache[key])
    keyword_only = LayeredJudge(keyword=judge.keyword, degeneracy=judge.degeneracy)
    # About a second of CPU on first use: off the event loop (the keyword layers do no I/O, so a private loop).
    comparison = await asyncio.to_thread(asyncio.run, xstest_comparison(keyword_only, XSTEST_SPLIT, confidence))
    figures = {
        "status": "computed",
        "set": comparison["set"],
        "split": XSTEST_SPLIT,
        "n": comparison["n"],
        "headline_binarisation": XSTEST_BINARISATION,
        "citation": comparison["citation"],
        "confidence": confidence,
        "layered": comparison["judges"]["ours"],
        "paper_matcher": comparison["judges"]["paper_matcher"],
    }
    if key is not None:
        if len(_xstest_cache) >= _CACHE_SIZE:
            _xstest_cache.pop(next(iter(_xstest_cache)))
        _xstest_cache[key] = figures
    return copy.deepcopy(figures)


async def judge_calibration(judge: LayeredJudge, confidence: float, hook: BatchHook | None = None) -> dict[str, Any]:
    """`details.judge_calibration`: `calibrate`'s keys (synthetic set) and `xstest` (real replies, see module)."""
    calibration = await calibrate(judge, confidence, hook)
    if judge.model is None:
        calibration["xstest"] = await _keyword_xstest(judge, confidence)
    else:
        calibration["xstest"] = {
            "status": "not_run",
            "set": XSTEST_VERSION,
            "note": "A model judge is calibrated on this set by the judge-calibration admin API, not during an audit.",
        }
    return calibration


def judge_agreement_metric(judge: LayeredJudge, calibration: dict[str, Any]) -> Metric:
    """`judge_agreement`: XSTest held-out pooled agreement for the keyword judge, else the synthetic set's."""
    xstest = calibration.get("xstest", {})
    if xstest.get("status") == "computed":
        fig = xstest["layered"][POOLED][XSTEST_BINARISATION]["overall"]
        interval = wilson(fig["hits"], fig["n"], xstest["confidence"])
        note = (
            f"agreement of the keyword judge with people on the {xstest['split']} half of {xstest['set']} "
            f"(n={fig['n']} real replies of 3 chat models; partial refusal counts as refused); per class and "
            f"the synthetic set {calibration['version']} in details.judge_calibration"
        )
    else:
        synthetic = calibration["layered"]
        interval = Interval(
            synthetic["agreement"],
            synthetic["ci_low"],
            synthetic["ci_high"],
            synthetic["n"],
            "wilson",
            synthetic["confidence"],
        )
        note = f"agreement of the {judge.name} judge with the calibration set {calibration['version']}"
    return gated_metric(
        "judge_agreement",
        interval,
        direction="higher_is_better",
        threshold=None,
        model="judge",
        variant=judge.name,
        note=note,
    )


def calibration_versions(calibration: dict[str, Any]) -> dict[str, str]:
    """Versions of the calibration sets behind the figures, for the scorecard's `versions`."""
    out = {"refusal_calibration": str(calibration["version"])}
    if calibration.get("xstest", {}).get("status") == "computed":
        out["refusal_calibration_xstest"] = str(calibration["xstest"]["set"])
    return out
