"""Scripted faults for the test servers, and a log of every request body they received."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from litestar import Response


@dataclass(frozen=True)
class Fault:
    """One scripted answer: an HTTP status (with Retry-After), a delay, or malformed JSON."""

    status: int | None = None
    retry_after: str | None = None
    delay_s: float = 0.0
    malformed: bool = False


@dataclass
class FaultPlan:
    """Faults consumed in order by requests to `path` (None: any path); `received` logs (path, body)."""

    queue: deque[tuple[str | None, Fault]] = field(default_factory=deque)
    received: list[tuple[str, Any]] = field(default_factory=list)
    prefill_logprobs: bool = True
    """TGI: False mimics TGI >= 3 started without --enable-prefill-logprobs (empty prefill)."""
    chat_logprobs: bool = True
    """OpenAI: False mimics a chat server that returns no log-probs."""

    def add(self, fault: Fault, times: int = 1, path: str | None = None) -> None:
        for _ in range(times):
            self.queue.append((path, fault))

    def reset(self) -> None:
        self.queue.clear()
        self.received.clear()
        self.prefill_logprobs = True
        self.chat_logprobs = True

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.received if p == path]

    async def intercept(self, path: str, body: Any) -> Response[Any] | None:
        """Record the request; a scripted fault's response, or None to answer normally."""
        self.received.append((path, body))
        if not self.queue or self.queue[0][0] not in (None, path):
            return None
        _, fault = self.queue.popleft()
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.malformed:
            return Response(content=b'{"choices": [', media_type="application/json", status_code=200)
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return Response(
                content={"error": f"scripted {fault.status}", "error_type": "overloaded"},
                status_code=fault.status,
                headers=headers,
            )
        return None
