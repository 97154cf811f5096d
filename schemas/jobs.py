"""Jobs: the lifecycle of one evaluation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.dataset_sources import DatasetSource
from schemas.errors import ERROR_CODES
from schemas.sources import ModelSource, WriteBack

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

ErrorCode = str
"""A machine-readable error code: an open set (accept codes not listed); the known ones are
`schemas.errors.ERROR_CODES`."""


class JobError(BaseModel):
    code: ErrorCode = Field(
        ...,
        description="Machine-readable; an open set (accept codes not listed). Known: " + ", ".join(ERROR_CODES),
        examples=["model_unreachable"],
    )
    message: str = Field(..., description="What went wrong, for a person.")


class Progress(BaseModel):
    check: str | None = Field(None, description="The check running now.")
    done: int = 0
    total: int = 0


class Job(BaseModel):
    """An evaluation job as served by GET /v1/evaluations/{id}."""

    schema_version: str
    id: str
    status: JobStatus
    progress: Progress = Field(default_factory=Progress)
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    verdict: Literal["pass", "warn", "fail"] | None = Field(None, description="Overall verdict once succeeded.")
    error: JobError | None = None
    attempts: int = Field(0, description="How many times a worker has claimed this job.")
    team: str | None = Field(None, description="The team of the key or webhook profile that submitted it.")
    write_back: WriteBack | None = Field(
        None, description="Where the result is written back when the audit ends (registry-started audits)."
    )
    resolved: dict[str, ModelSource] = Field(
        default_factory=dict,
        description="Fetched models by role (`target`, `baseline`, `reference`), pinned at submit: the commit sha "
        "a Hub revision, or the version an MLflow alias, resolved to.",
    )
    resolved_datasets: dict[str, DatasetSource] = Field(
        default_factory=dict,
        description="Hub datasets by request field (`checks.forget.dataset`, ...), pinned at submit: the commit sha "
        "the revision resolved to and the split's parquet files.",
    )


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None = None


class ItemRecord(BaseModel):
    """One per-item record: the traceable evidence behind a figure."""

    check: str
    dataset: str
    index: int = Field(..., description="Row index in the dataset.")
    variant: str = Field(..., description="Elicitation or variant family; `standard` for the plain lm-eval format.")
    model: str = Field(..., description="`target`, `baseline` or `reference`.")
    fold: int | None = None
    record: dict[str, Any]


class ItemPage(BaseModel):
    items: list[ItemRecord]
    next_cursor: str | None = None
