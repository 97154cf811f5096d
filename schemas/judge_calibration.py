"""Model-judge calibrations: an operator's request to measure a judge endpoint against labelled replies, and
the stored result, keyed by the endpoint's base URL and model name."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.jobs import JobError
from schemas.targets import OpenAITarget, TGITarget

MAX_CALIBRATION_ITEMS = 1350
"""The labelled set's size: a limit above it selects nothing more."""

JudgeEndpoint = Annotated[TGITarget | OpenAITarget, Field(discriminator="kind")]
"""A model judge's endpoint, given as a refusal check's `judge.target` is (kind `tgi` or `openai`)."""

CalibrationStatus = Literal["queued", "running", "succeeded", "failed"]


class JudgeCalibrationRequest(BaseModel):
    """Calibrate a model judge: run it over XSTest's human-labelled replies and store its agreement."""

    model_config = ConfigDict(extra="forbid")

    target: JudgeEndpoint = Field(..., description="The judge endpoint, exactly as `checks.refusal.judge.target`.")
    split: Literal["develop", "heldout", "all"] = Field(
        "heldout", description="Which half of the labelled set (by prompt); `heldout` is where agreement is quoted."
    )
    limit: int | None = Field(
        None,
        ge=1,
        le=MAX_CALIBRATION_ITEMS,
        description="At most this many replies, taken in a fixed order that mixes prompts and source models.",
    )


class JudgeCalibration(BaseModel):
    """One calibration: queued, running, or ended with its figures (or its error)."""

    id: str
    status: CalibrationStatus
    endpoint: str = Field(..., description="The judge's base URL (no trailing slash): one half of the key.")
    model: str = Field(..., description="The model name sent to the endpoint (empty for TGI): the other half.")
    request: JudgeCalibrationRequest
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = Field(0, description="How many times a worker has claimed it.")
    error: JobError | None = None
    figures: dict[str, Any] | None = Field(
        None,
        description="Agreement per source model and pooled in both binarisations (n, Wilson intervals, per-class "
        "recall), the judge's description, rubric and set versions, the per-item labels' digest and, when read "
        "one by one, the per-item labels.",
    )


class JudgeCalibrationPage(BaseModel):
    """Calibrations newest first, without per-item labels; pass `next_cursor` back as `cursor`."""

    items: list[JudgeCalibration]
    next_cursor: str | None = None
