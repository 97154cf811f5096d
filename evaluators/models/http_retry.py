"""Retries for endpoint backends: 429 (honouring Retry-After), 5xx, timeouts and connection errors are retried
with exponential backoff; then ModelUnreachableError. Answers that break the protocol (malformed JSON, other
4xx) are ModelProtocolError at once. Every attempt has a hard timeout, so nothing hangs.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from schemas.errors import ModelProtocolError, ModelUnreachableError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    timeout_s: float = 120.0
    """Per attempt."""
    concurrency: int = 8
    """Requests in flight per backend."""


class RetryableError(Exception):
    """A failure worth another attempt (429, 5xx, timeout, connection)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def classify_status(status: int, headers: Any, body: str, what: str) -> None:
    """Raise RetryableError or ModelProtocolError for a non-2xx status; return for 2xx."""
    if 200 <= status < 300:
        return
    snippet = body[:300]
    if status == 429:
        raise RetryableError(f"{what}: 429 Too Many Requests", parse_retry_after(headers.get("retry-after")))
    if status >= 500:
        raise RetryableError(f"{what}: HTTP {status}: {snippet}")
    raise ModelProtocolError(f"{what}: the endpoint answered HTTP {status}: {snippet}")


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, what: str) -> T:
    """Run `call`, retrying RetryableError and timeouts; give up with ModelUnreachableError."""
    last = "no attempt made"
    for attempt in range(policy.attempts):
        try:
            return await asyncio.wait_for(call(), policy.timeout_s)
        except RetryableError as exc:
            last, wait = str(exc), exc.retry_after
        except TimeoutError:
            last, wait = f"{what}: no answer within {policy.timeout_s:g}s", None
        if attempt + 1 == policy.attempts:
            break
        if wait is None:  # full jitter keeps many workers from retrying in lockstep
            wait = random.uniform(0.5, 1.0) * policy.backoff_s * 2**attempt
        await asyncio.sleep(min(wait, policy.max_backoff_s))
    raise ModelUnreachableError(f"{what} failed after {policy.attempts} attempts: {last}")


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    policy: RetryPolicy,
    what: str,
    payload: Any = None,
) -> Any:
    """One JSON request with retries; the parsed body. A refusal by the checked transport (URLNotAllowedError,
    not an httpx error) passes through at once: it is final, not retried."""

    async def attempt() -> Any:
        try:
            response = await client.request(method, url, json=payload)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"{what}: connection failed: {exc!r}") from exc
        classify_status(response.status_code, response.headers, response.text, what)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelProtocolError(f"{what}: the endpoint answered malformed JSON: {response.text[:200]!r}") from exc

    return await with_retries(attempt, policy, what)
