"""Row <-> contract conversions and the opaque pagination cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from schemas.dataset_sources import DatasetSource
from schemas.errors import BadCursorError
from schemas.jobs import Job, JobError, Progress
from schemas.sources import ModelSource, WriteBack
from schemas.version import SCHEMA_VERSION
from service.store.tables import Base

JOBS = Base.metadata.tables["jobs"]
JOB_LABELS = Base.metadata.tables["job_labels"]
CHECK_RESULTS = Base.metadata.tables["check_results"]
ITEM_RECORDS = Base.metadata.tables["item_records"]
JOB_EVENTS = Base.metadata.tables["job_events"]
REGISTRY_DELIVERIES = Base.metadata.tables["webhook_events"]
"""The log of registry deliveries (webhook receivers); the table keeps its first name."""
CALLBACK_ATTEMPTS = Base.metadata.tables["callback_attempts"]
DATASET_PINS = Base.metadata.tables["dataset_pins"]

JOB_SUMMARY_COLUMNS = [c for c in JOBS.c if c.name not in ("request", "scorecard")]
"""What a Job is read from: never the request or scorecard, so listing stays cheap and a corrupt request
or scorecard cannot break reads of other jobs."""


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
        team=m["team"],
        resolved={k: ModelSource.model_validate(v) for k, v in (m["resolved"] or {}).items()},
        resolved_datasets={k: DatasetSource.model_validate(v) for k, v in (m["resolved_datasets"] or {}).items()},
        write_back=WriteBack.model_validate(m["writeback"]) if m["writeback"] else None,
    )


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR_CHARS = 512
MAX_ROW_ID = 2**63 - 1
"""The largest value of a BIGINT id column (PostgreSQL); larger ids cannot exist."""


def decode_cursor(cursor: str, fields: dict[str, type]) -> dict[str, Any]:
    """The payload of a cursor from `encode_cursor`, each field of the given type (ints are row ids,
    0..2^63-1; strings at most 64 characters); BadCursorError when it is not one of ours."""
    bad = BadCursorError("cursor is not valid: pass the next_cursor of a previous page", field="cursor")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad from exc
    if not isinstance(payload, dict) or set(payload) != set(fields):
        raise bad
    for key, kind in fields.items():
        value = payload[key]
        if kind is int:
            if type(value) is not int or not 0 <= value <= MAX_ROW_ID:
                raise bad
        elif not isinstance(value, str) or len(value) > 64:
            raise bad
    return payload
