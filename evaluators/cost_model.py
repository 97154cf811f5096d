"""What an audit's checks cost, estimated from per-unit seconds that bench/suite_cost.py measured.

A unit is one item of one forget elicitation or attack, one refusal prompt in one variant family (generated to
64 new tokens), or one collateral multiple-choice item; each was timed on target and baseline together, and
relearning, benign relearning and quantization add a fixed part (training and copies, set by their budget, not
by the item count). The estimate is the counted units times those seconds, scaled where a request differs from
the measurement: half without a baseline, replies per prompt, new tokens against 64. It is a figure for
budgeting, labelled as an estimate with its reference: the per-unit seconds of another model or machine differ
(bench/README.md has the method and caveats; the measured generations ran to their full length, so they are
upper bounds). Units the reference did not measure are listed, never guessed.

Two references, both on 2 shared CPU cores in fp32: the 4.2M-parameter `--tiny` model, nearest the sandbox's
controls (4 layers x 96 wide), prices sandbox targets; the 105.8M-parameter bench model prices every other
target. A test keeps these figures equal to the result files they are copied from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.dry_run import CostLine, TimeEstimate

MEASURED_NEW_TOKENS = 64
"""Refusal replies were generated to this many new tokens (bench/suite_cost.py's default `max_new_tokens`)."""


@dataclass(frozen=True)
class CostReference:
    """Per-unit seconds (both roles) and fixed seconds of one bench/suite_cost.py run."""

    name: str
    result_file: str
    describes: str
    units: dict[str, tuple[float, float]]
    """`part/name` as the result file's `measured` rows -> (seconds per unit, fixed seconds)."""


TINY = CostReference(
    name="tiny",
    result_file="bench/results/suite_cost_2026-12-05.json",
    describes="bench/suite_cost.py --tiny: a 4.2M-parameter Llama (2 layers x 64), fp32, 1 torch thread, "
    "2 shared CPU cores, 2026-12-05",
    units={
        "forget/standard": (0.00431, 0.0),
        "forget/cloze": (0.06563, 0.0),
        "forget/alt_template": (0.00513, 0.0),
        "forget/generation": (0.01162, 0.0),
        "forget/few_shot": (0.01675, 0.0),
        "forget/roleplay": (0.007, 0.0),
        "forget/refusal_suppression": (0.00831, 0.0),
        "forget/relearning": (0.00647, 403.974),
        "forget/benign_relearning": (0.00431, 15.245),
        "forget/quantization": (0.00863, 0.162),
        "forget/logit_lens": (0.06494, 0.0),
        "forget/probe": (0.11844, 0.0),
        "refusal/plain": (0.06056, 0.0),
        "refusal/roleplay": (0.06719, 0.0),
        "refusal/hypothetical": (0.06794, 0.0),
        "refusal/prefix_injection": (0.06813, 0.0),
        "refusal/refusal_suppression": (0.05625, 0.0),
        "refusal/base64": (0.068, 0.0),
        "refusal/noise": (0.05488, 0.0),
        "refusal/xstest_plain": (0.05237, 0.0),
        "collateral/mmlu_standard": (0.00952, 0.0),
    },
)

BENCH = CostReference(
    name="bench",
    result_file="bench/results/suite_cost_bench_2026-12-05.json",
    describes="bench/suite_cost.py: the 105.8M-parameter bench Llama (8 layers x 768), fp32, 2 torch threads, "
    "2 shared CPU cores, 2026-12-05",
    units={
        "forget/standard": (0.18225, 0.0),
        "forget/cloze": (3.61187, 0.0),
        "forget/alt_template": (0.3085, 0.0),
        "forget/generation": (0.65863, 0.0),
        "forget/few_shot": (1.426, 0.0),
        "forget/roleplay": (0.48912, 0.0),
        "forget/refusal_suppression": (0.39075, 0.0),
        "forget/quantization": (0.3645, 9.711),
        "forget/logit_lens": (0.28375, 0.0),
        "forget/probe": (1.08563, 0.0),
        "refusal/plain": (0.81332, 0.0),
        "refusal/roleplay": (1.23172, 0.0),
        "refusal/hypothetical": (1.39766, 0.0),
        "refusal/prefix_injection": (1.32187, 0.0),
        "refusal/refusal_suppression": (1.48849, 0.0),
        "refusal/base64": (2.22322, 0.0),
        "refusal/noise": (1.34355, 0.0),
        "refusal/xstest_plain": (1.24074, 0.0),
        "collateral/mmlu_standard": (0.45295, 0.0),
    },
)

REFERENCES = (TINY, BENCH)


@dataclass(frozen=True)
class Work:
    """`count` units of `unit` (a key of CostReference.units) for one check; `scale` multiplies the per-unit
    seconds (replies per prompt, new tokens against the measured 64)."""

    check: str
    unit: str
    count: int
    scale: float = 1.0


@dataclass
class Estimator:
    """Prices work against one reference; collects what it could not price."""

    reference: CostReference
    baseline: bool
    lines: list[CostLine] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    not_estimated: list[str] = field(default_factory=list)

    def add(self, work: Work) -> None:
        measured = self.reference.units.get(work.unit)
        if measured is None:
            self.not_estimated.append(f"{work.unit}: not measured on the `{self.reference.name}` reference")
            return
        per_unit, fixed = measured
        roles = 1.0 if self.baseline else 0.5  # measured on target and baseline together
        each = per_unit * work.scale * roles
        fixed_s = fixed * roles
        self.lines.append(
            CostLine(
                check=work.check,
                unit=work.unit,
                count=work.count,
                seconds_each=round(each, 6),
                fixed_seconds=round(fixed_s, 3),
                seconds=round(each * work.count + fixed_s, 3),
            )
        )

    def skip(self, what: str) -> None:
        self.not_estimated.append(what)

    def result(self) -> TimeEstimate:
        by_check: dict[str, float] = {}
        for line in self.lines:
            by_check[line.check] = round(by_check.get(line.check, 0.0) + line.seconds, 3)
        roles = "target and baseline" if self.baseline else "the target alone (half the two-role figures)"
        return TimeEstimate(
            seconds=round(sum(by_check.values()), 1),
            basis=(
                "counted units (items per forget elicitation or attack, prompts per refusal variant family, "
                f"collateral items) x per-unit seconds measured by bench/suite_cost.py, for {roles}; refusal "
                f"generation scaled by replies per prompt and by max_new_tokens / {MEASURED_NEW_TOKENS}; fixed "
                "parts (relearning's training, quantization's copies) added once. Checks only: fetching and "
                "loading models and datasets are not included. Another model or machine has other per-unit "
                "seconds: scale by a measurement of your own (bench/README.md)."
            ),
            reference=f"{self.reference.describes} ({self.reference.result_file})",
            by_check=by_check,
            lines=list(self.lines),
            assumptions=list(self.assumptions),
            not_estimated=list(self.not_estimated),
        )


def estimate(
    work: Sequence[Work],
    reference: CostReference,
    *,
    baseline: bool,
    assumptions: Sequence[str] = (),
    unpriced: Sequence[str] = (),
) -> TimeEstimate:
    """The estimate of `work` on `reference`; `assumptions`: counts the caller assumed (bounds of uncounted
    datasets); `unpriced`: work the caller could not count, listed as left out."""
    estimator = Estimator(reference, baseline)
    for w in work:
        estimator.add(w)
    estimator.assumptions.extend(assumptions)
    for what in unpriced:
        estimator.skip(what)
    return estimator.result()
