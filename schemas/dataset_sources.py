"""Where a Hub dataset came from, pinned: the commit its revision meant at submit and the parquet files read.

Recorded on the job when it is submitted (by the request field that names the dataset), used by the worker
to fetch exactly those files, and carried on the scorecard's dataset provenance.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DatasetFile(BaseModel):
    """One file of the commit as the Hub lists it: its size and, for LFS files, its sha256."""

    model_config = ConfigDict(extra="forbid")

    path: str
    size: int = Field(..., ge=0)
    sha256: str | None = Field(None, description="The LFS sha256 the Hub lists (checked after download).")
    blob_id: str | None = Field(None, description="The git blob id.")


class DatasetSource(BaseModel):
    """A config's split of a Hub dataset repository, resolved to a commit and its parquet files (in order)."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(..., description="The Hub endpoint.")
    repo: str
    config: str = Field(..., description="The config the request named, or the repository's only or default one.")
    split: str
    requested: str = Field(..., description="The revision the request named (`main` where the operator pinned it).")
    revision: str = Field(..., description="The commit sha it resolved to.")
    files: list[DatasetFile] = Field(..., min_length=1, description="The split's parquet files, in reading order.")

    def provenance(self, sha256s: dict[str, str] | None = None) -> dict[str, Any]:
        """The scorecard's `hub` dict; `sha256s`: file sha256 computed after download, by path."""
        found = sha256s or {}
        return {
            "endpoint": self.endpoint,
            "repo": self.repo,
            "config": self.config,
            "split": self.split,
            "requested": self.requested,
            "revision": self.revision,
            "files": [{"path": f.path, "size": f.size, "sha256": found.get(f.path, f.sha256)} for f in self.files],
        }
