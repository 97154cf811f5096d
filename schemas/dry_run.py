"""The answer of a dry run (`POST /v1/evaluations?dry_run=true`): what a submit would do, with nothing queued.

The same checks as a submit ran on the request (a bad one gets the same 4xx); this says what the job would be:
the request as the worker would run it (suite expanded, defaults filled, fetched models pinned), each model and
what its name resolved to, each dataset and how many items it gives, the checks and their attacks or variants,
and an estimated time with its basis.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.dataset_sources import DatasetSource
from schemas.policy import Policy
from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource, WriteBack


class PlannedModel(BaseModel):
    """One model the request names, and what its name resolves to."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., description="The request field: `target`, `baseline`, `reference`, `target.base`, ...")
    kind: str = Field(..., description="The target's kind: checkpoint, hf, mlflow, tgi, openai or sandbox.")
    resolution: Literal["resolved", "at_run_time"] = Field(
        ...,
        description="`resolved`: a registry name pinned now, as a submit pins it (`source`); `at_run_time`: "
        "nothing to resolve before the audit (`note` says what is fixed when it runs).",
    )
    resolved: str | None = Field(
        None, description="The immutable name: `repo@commit` on the Hub, `models:/name/version` in MLflow."
    )
    source: ModelSource | None = Field(None, description="The pin the job would record.")
    white_box: bool = Field(..., description="Weights, hidden states and a trainable copy (white-box attacks).")
    note: str = ""


class PlannedDataset(BaseModel):
    """One dataset the checks would load, and how many items it would give."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., description="The request field, e.g. `checks.forget.dataset`.")
    name: str
    kind: Literal["multiple_choice", "prompt", "text"]
    n_items: int | None = Field(
        None,
        description="Items the check would use, after `where`, `limit` and `sample`; null: counted at run time "
        "(a Hub dataset the worker fetches, or a group drawn with one).",
    )
    n_available: int | None = Field(None, description="Rows before `where`, `limit` and `sample`.")
    n_user_variants: int | None = Field(
        None, description="Prompt datasets: the items' own rephrasings (`variants`), each sent as a prompt too."
    )
    selection: list[str] = Field(default_factory=list, description="How the items would be chosen.")
    hub: DatasetSource | None = Field(None, description="A Hub dataset's pin: commit and parquet files.")
    note: str = ""


class PlannedCheck(BaseModel):
    """One check that would run: the parts it runs and the parts it would skip, with why."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["forget", "refusal", "collateral"]
    runs: list[str] = Field(
        ...,
        description="forget: `standard` and its attacks; refusal: `plain` and its variant families (and "
        "`benign`); collateral: one accuracy figure per dataset or group, `corpus_perplexity`, "
        "`degenerate_generation`.",
    )
    skipped: dict[str, str] = Field(default_factory=dict, description="Part -> why it would be skipped.")
    datasets: list[str] = Field(default_factory=list, description="The fields of the datasets it loads.")


class CostLine(BaseModel):
    """One unit of work in the estimate: how many, at what measured cost each."""

    model_config = ConfigDict(extra="forbid")

    check: str
    unit: str = Field(..., description="e.g. `forget/cloze` per item, `refusal/base64` per prompt.")
    count: int = Field(..., ge=0)
    seconds_each: float = Field(..., ge=0)
    fixed_seconds: float = Field(0.0, ge=0)
    seconds: float = Field(..., ge=0)


class TimeEstimate(BaseModel):
    """An estimate, not a measurement: counted units times per-unit seconds measured on a reference."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(..., ge=0, description="Estimated seconds of checks (fetching and loading excluded).")
    label: Literal["estimate"] = "estimate"
    basis: str = Field(..., description="The cost model and the assumptions behind the figure.")
    reference: str = Field(..., description="Where the per-unit seconds were measured, on what model and machine.")
    by_check: dict[str, float] = Field(default_factory=dict)
    lines: list[CostLine] = Field(default_factory=list)
    assumptions: list[str] = Field(
        default_factory=list, description="Counts the figure assumes, e.g. a Hub dataset at most `sample.n` items."
    )
    not_estimated: list[str] = Field(
        default_factory=list, description="Work the figure leaves out (unmeasured units, uncounted datasets)."
    )


class DryRun(BaseModel):
    """What `POST /v1/evaluations` would do with this body; nothing was queued."""

    model_config = ConfigDict(extra="forbid")

    dry_run: Literal[True] = True
    request: EvaluationRequest = Field(
        ..., description="The request as the worker would run it: suite expanded, defaults filled, models pinned."
    )
    policy: Policy = Field(..., description="The effective policy (preset and overrides applied).")
    models: list[PlannedModel]
    datasets: list[PlannedDataset]
    checks: list[PlannedCheck]
    benchmark: str | None = Field(None, description="A suite's published benchmark reported (`tofu`, `muse`).")
    write_back: WriteBack | None = Field(None, description="Where the result would go back when the audit ends.")
    estimate: TimeEstimate
