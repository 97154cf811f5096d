"""Server-sent events as `GET /v1/evaluations/{id}/events` writes them: `id:`, `event:`, `data:` lines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobEvent:
    """One event of a job: `id` (resume after it), `kind` (job_created, progress, job_finished, ...), `data`."""

    id: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class EventParser:
    """Feed it the stream's lines one by one; a blank line ends a message and `feed` returns its event."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._kind = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> JobEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):  # a comment: the server's keep-alive
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            self._id = value
        elif name == "event":
            self._kind = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> JobEvent | None:
        event_id, kind, data = self._id, self._kind, "\n".join(self._data)
        self._kind, self._data = "message", []
        if not data or event_id is None or not event_id.isdigit():
            return None
        try:
            payload = json.loads(data)
        except ValueError:
            payload = {"text": data}
        body = payload.get("data") if isinstance(payload, dict) else None
        return JobEvent(id=int(event_id), kind=kind, data=body if isinstance(body, dict) else {})
