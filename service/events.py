"""The job's events as server-sent events (`GET /v1/evaluations/{id}/events`, in service.routes.evaluations).

The worker and the store append to the job-events table (job_created, job_claimed, check_started,
progress, check_finished, job_finished, ...); this route polls it. Each message carries `id:` = the event's
id (so a reconnecting EventSource resumes with `Last-Event-ID`), `event:` = its kind, and `data:` = the
event as JSON. The stream ends once the job is in a terminal status and every event has been sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator
from typing import Any

from litestar.response import ServerSentEventMessage
from pydantic import BaseModel, Field

from schemas.errors import BadParameterError
from schemas.jobs import TERMINAL_STATUSES
from service.store.api import JobEvent, JobStore
from service.store.convert import MAX_ROW_ID

POLL_S = 0.5
"""How often an open stream reads the events table."""
KEEPALIVE_S = 15.0
"""A comment line this often on a quiet stream, so proxies do not close it."""


class EventStreamMessage(BaseModel):
    """One message of the stream as an EventSource reads it (the OpenAPI schema of each event)."""

    event: str = Field(
        ..., description="The event's kind: job_created, job_claimed, check_started, progress, job_finished, ..."
    )
    id: str = Field(..., pattern=r"^[0-9]+$", description="The event id; send it back as `Last-Event-ID` to resume.")
    data: str = Field(
        ...,
        description="The event as JSON: `{id, job_id, kind, data, created_at}`.",
        json_schema_extra={"contentMediaType": "application/json"},
    )


def event_message(event: JobEvent) -> ServerSentEventMessage:
    """One stored event as an SSE message: `id` the event id, `event` its kind, `data` the event as JSON."""
    payload: dict[str, Any] = {
        "id": event.id,
        "job_id": event.job_id,
        "kind": event.kind,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }
    return ServerSentEventMessage(data=json.dumps(payload, default=str), event=event.kind, id=event.id)


async def job_event_stream(
    store: JobStore,
    job_id: str,
    after_id: int = 0,
    *,
    poll_s: float = POLL_S,
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """Events of `job_id` after `after_id`, in order, until the job is terminal and all are sent."""
    last = after_id
    quiet_since = time.monotonic()
    while True:
        # Read the status before the events: a job seen terminal has written its last event already,
        # so the events read after it are complete.
        job = await store.get_job(job_id)
        events = await store.events_since(job_id, last)
        for event in events:
            last = event.id
            yield event_message(event)
        if job is None or job.status in TERMINAL_STATUSES:
            return
        if events:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= keepalive_s:
            quiet_since = time.monotonic()
            yield ServerSentEventMessage(data=None, comment="keep-alive")
        await asyncio.sleep(poll_s)


def resume_point(last_event_id: str | None, after: int | None) -> int:
    """The event id to stream after: `Last-Event-ID` (a reconnecting EventSource) or `after`, whichever is
    later (400 when the header is not an event id)."""
    if last_event_id is None or not last_event_id.strip():
        return after or 0
    text = last_event_id.strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_ROW_ID:
        raise BadParameterError(
            f"Last-Event-ID {last_event_id[:40]!r} is not an event id (an integer 0..2^63-1)",
            field="Last-Event-ID",
        )
    return max(int(text), after or 0)
