"""What every check receives and returns.

A check is a small object with a `name` and an async `run(spec, ctx)` that returns a `CheckOutcome`:
the `CheckResult` for the scorecard plus the per-item records behind its figures (stored together,
so a resumed job never has a figure without its evidence). Checks know nothing of HTTP or the DB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from evaluators.models.protocol import BatchHook, LanguageModel
from schemas.datasets import DatasetRef, Sample
from schemas.jobs import ItemRecord
from schemas.policy import Policy
from schemas.scorecard import CheckResult, DatasetProvenance
from schemas.targets import ModelTarget

DatasetKind = Literal["multiple_choice", "prompt", "text"]


@dataclass
class LoadedDataset:
    """A dataset resolved, validated and hashed. `items` are MultipleChoiceItem, PromptItem or TextItem."""

    name: str
    kind: DatasetKind
    items: list[Any]
    sha256: str
    source: str
    n_available: int | None = None
    """Rows before filter, limit and sample (None when the limit stopped reading early)."""
    selection: list[str] = field(default_factory=list)
    """How the items were chosen, one line per step (filter, limit, sample)."""
    hub: dict[str, Any] | None = None
    """Hub datasets: repo, config, split, requested revision, commit sha, files with sha256."""

    def provenance(self) -> DatasetProvenance:
        return DatasetProvenance(
            name=self.name,
            sha256=self.sha256,
            n=len(self.items),
            source=self.source,
            n_available=self.n_available,
            selection=list(self.selection),
            hub=self.hub,
        )


class DatasetResolver(Protocol):
    def __call__(self, ref: DatasetRef, kind: DatasetKind, *, sample: bool = True) -> LoadedDataset:
        """Load, map columns, validate (DatasetError naming the row and field), apply the request's limit and
        (unless `sample=False`) its subsample."""
        ...


class UnitRunner(Protocol):
    """Runs a check's independent units elsewhere (the Ray executor: each unit as its own task)."""

    async def __call__(self, check: str, units: Sequence[Any], done: Callable[[int], None]) -> list[Any]:
        """The results of `check`'s `units` (picklable; the check's `run_unit(spec, ctx, unit)` runs one, on a
        context rebuilt from the same job), in the units' order; `done(i)` is called as unit i finishes."""
        ...


@dataclass
class CheckContext:
    """Everything a check may use. Models are opened once per job and shared by all its checks."""

    target: LanguageModel
    baseline: LanguageModel | None
    reference: LanguageModel | None
    policy: Policy
    seed: int
    load_dataset: DatasetResolver
    hook: BatchHook
    """Pass to every backend call: raises when the job is cancelled or past its deadline."""
    progress: Callable[[int, int], None] = lambda done, total: None
    """Report (done, total) units of this check's work; the worker turns it into job events."""
    target_is_endpoint: bool = False
    open_model: Callable[[ModelTarget], Awaitable[LanguageModel]] | None = None
    """Opens another model by its target (the refusal check's model judge); None where the runner has none."""
    stored_judge_calibration: Callable[[str, str], Awaitable[dict[str, Any] | None]] | None = None
    """(endpoint, model) -> the newest stored calibration of a model judge; None where the runner keeps none."""
    sample: Sample | None = None
    """The request's subsample: a check that pools datasets (collateral groups) draws it from the pool."""
    run_units: UnitRunner | None = None
    """Where a check's independent units run; None: in this process, one after another."""


@dataclass
class CheckOutcome:
    result: CheckResult
    records: list[ItemRecord] = field(default_factory=list)
    datasets: list[DatasetProvenance] = field(default_factory=list)
    template_versions: dict[str, str] = field(default_factory=dict)
    splits: dict[str, Any] = field(default_factory=dict)


class Check(Protocol):
    name: str

    async def run(self, spec: Any, ctx: CheckContext) -> CheckOutcome: ...


def not_implemented(check: str) -> CheckOutcome:
    """The honest result of a check that has not been built yet: skipped, never a made-up figure."""
    return CheckOutcome(
        result=CheckResult(
            verdict="skipped",
            reasons=["not_implemented"],
            summary=f"The {check} check is not implemented in this version of unlearn-audit.",
        )
    )
