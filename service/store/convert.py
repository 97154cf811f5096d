"""Row <-> contract conversions and the opaque pagination cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from schemas.jobs import Job, JobError, Progress
from schemas.version import SCHEMA_VERSION
from service.store.tables import Base

JOBS = Base.metadata.tables["jobs"]
JOB_LABELS = Base.metadata.tables["job_labels"]
CHECK_RESULTS = Base.metadata.tables["check_results"]
ITEM_RECORDS = Base.metadata.tables["item_records"]
JOB_EVENTS = Base.metadata.tables["job_events"]


class BadCursorError(ValueError):
    """A pagination cursor that this store did not issue (the HTTP layer answers 400)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def row_to_job(row: Row[Any]) -> Job:
    m = row._mapping
    return Job(
        schema_version=SCHEMA_VERSION,
        id=m["id"],
        status=m["status"],
        progress=Progress.model_validate(m["progress"] or {}),
        labels=m["labels"] or {},
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        verdict=m["verdict"],
        error=JobError.model_validate(m["error"]) if m["error"] else None,
        attempts=m["attempts"],
    )


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The payload of a cursor from `encode_cursor`; BadCursorError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursorError("cursor is not valid: pass the next_cursor of a previous page") from exc
    if not isinstance(payload, dict) or set(payload) != set(keys):
        raise BadCursorError("cursor is not valid: pass the next_cursor of a previous page")
    return payload
