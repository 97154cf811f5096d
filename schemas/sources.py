"""Where a fetched model came from, pinned: what a name that moves (a branch, an alias) meant at submit.

Recorded on the job when it is submitted, used by the worker to fetch exactly that, and carried on the
scorecard (so the signed attestation names it) beside the weights' sha256 fingerprint.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelSource(BaseModel):
    """A registry's name for a model, resolved to an immutable one."""

    model_config = ConfigDict(extra="forbid")

    registry: Literal["hf", "mlflow"]
    endpoint: str = Field(..., description="The Hub endpoint or the MLflow tracking server.")
    requested: str = Field(..., description="What the request named: the revision, or the model URI.")
    repo: str | None = Field(None, description="Hub: the repository.")
    revision: str | None = Field(None, description="Hub: the commit sha the request's revision resolved to.")
    subfolder: str | None = None
    name: str | None = Field(None, description="MLflow: the registered model (or logged model id).")
    version: str | None = Field(None, description="MLflow: the model version an alias resolved to.")
    run_id: str | None = Field(None, description="MLflow: the run that produced it.")
    source: str | None = Field(None, description="MLflow: the version's source URI (where its artifacts are).")


class WriteBack(BaseModel):
    """Where an audit's result goes back when it ends: the registry that holds the audited model."""

    model_config = ConfigDict(extra="forbid")

    registry: Literal["hf", "mlflow"]
    endpoint: str = Field(..., description="The Hub endpoint or the MLflow tracking server.")
    repo: str | None = Field(None, description="Hub: the repository commented on.")
    revision: str | None = Field(None, description="Hub: the audited commit.")
    pr: int | None = Field(None, description="Hub: the pull request commented on; none: a new discussion.")
    model_card_pr: bool = Field(False, description="Hub: also open a pull request adding the results to the card.")
    name: str | None = Field(None, description="MLflow: the registered model tagged.")
    version: str | None = Field(None, description="MLflow: the model version tagged.")
