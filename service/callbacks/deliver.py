"""Result callbacks: POST the signed scorecard to `callback.url`, signed like MLflow webhooks, with retries.

Body (never per-item records, which hold hazardous text):

    {"event": "evaluation.finished", "evaluation_id", "status", "verdict", "error",
     "scorecard_envelope": <DSSE envelope of the scorecard, or null when the job did not succeed>}

Headers: `X-Unlearn-Audit-Delivery-Id` (the same on every retry of one delivery), `X-Unlearn-Audit-Timestamp`
(Unix seconds, per attempt) and `X-Unlearn-Audit-Signature: v1,<base64 HMAC-SHA256>` over
`{delivery_id}.{timestamp}.{body}` with UNLEARN_AUDIT_CALLBACK_SECRET (see service.signing.hmac_v1).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from evaluators.net import OutboundPolicy, checked_async_client
from schemas.errors import URLNotAllowedError
from service.settings import Settings
from service.signing.hmac_v1 import sign_v1
from service.signing.shared import SigningKeys
from service.store.api import JobStore
from service.store.convert import utcnow
from service.store.outside import DeliveryAttempt

_RETRYABLE = {408, 425, 429}
Sleep = Callable[[float], Awaitable[None]]
STORE_PATIENCE_S = 60.0
"""How long the bookkeeping of a delivered callback waits for the store (shorter than a delivery lease)."""

log = logging.getLogger(__name__)


async def store_patiently(write: Callable[[], Awaitable[None]], what: str, sleep: Sleep = asyncio.sleep) -> None:
    """Run `write` until the store takes it (a restart, a failover), sleeping between tries; re-raise after
    STORE_PATIENCE_S. For what follows a 2xx: were it lost, the callback would stay owed and be delivered again
    once its lease lapsed."""
    waited, delay = 0.0, 0.1
    while True:
        try:
            await write()
            return
        except Exception as exc:
            if waited >= STORE_PATIENCE_S:
                raise
            if not waited:
                log.warning("%s: the store did not take it (%s); retrying up to %.0f s", what, exc, STORE_PATIENCE_S)
        # Short waits: a worker that dies while it waits here leaves the callback to be delivered again.
        await sleep(delay)
        waited, delay = waited + delay, min(delay * 2, 0.5)


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: str
    delivered: bool
    attempts: int
    error: str | None


def sign_headers(secret: str, delivery_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The callback headers of one attempt."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Unlearn-Audit-Delivery-Id": delivery_id,
        "X-Unlearn-Audit-Timestamp": ts,
        "X-Unlearn-Audit-Signature": sign_v1(secret, delivery_id, ts, body),
    }


async def deliver(
    job_id: str,
    url: str,
    body: bytes,
    *,
    secret: str | None,
    store: JobStore,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
    delivery_id: str | None = None,
    sleep: Sleep = asyncio.sleep,
) -> DeliveryResult:
    """POST `body` to `url` until a 2xx, with exponential backoff (settings.callback_backoff_s, doubling)
    on network errors, 408/425/429 and 5xx; other answers stop at once. Every attempt is recorded.

    Without `client`, requests go through the checked transport under the operator's allowlist: a refused URL,
    redirect (never followed) or address (checked at connect time) ends the delivery as url_not_allowed."""
    delivery_id = delivery_id or str(uuid.uuid4())

    async def record(n: int, ok: bool, status: int | None, error: str | None, took: float | None) -> None:
        await store.record_delivery_attempt(
            job_id, DeliveryAttempt(delivery_id, n, url, ok, status, error, took, utcnow())
        )

    if secret is None:
        unsigned = "not sent: set UNLEARN_AUDIT_CALLBACK_SECRET so receivers can verify callbacks"
        await record(0, False, None, unsigned, None)
        return DeliveryResult(delivery_id, False, 0, unsigned)
    policy = OutboundPolicy(settings.allowed_host_list(), settings.allow_link_local)
    try:
        policy.check_url(url)  # the host's addresses are checked when the transport connects
    except URLNotAllowedError as exc:
        await record(0, False, None, f"url_not_allowed: {exc.message}", None)
        return DeliveryResult(delivery_id, False, 0, exc.message)
    own_client = client is None
    http = client or checked_async_client(policy, timeout=30.0)
    error: str | None = None
    try:
        for n in range(1, settings.callback_max_attempts + 1):
            started = time.monotonic()
            retry = True
            try:
                resp = await http.post(url, content=body, headers=sign_headers(secret, delivery_id, body))
            except URLNotAllowedError as exc:  # a redirect or address the operator does not allow: final
                error = f"url_not_allowed: {exc.message}"
                await record(n, False, None, error, time.monotonic() - started)
                return DeliveryResult(delivery_id, False, n, exc.message)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                await record(n, False, None, error, time.monotonic() - started)
            else:
                took = time.monotonic() - started
                if 200 <= resp.status_code < 300:
                    delivered = partial(record, n, True, resp.status_code, None, took)
                    await store_patiently(delivered, f"job {job_id}: delivered callback", sleep)
                    return DeliveryResult(delivery_id, True, n, None)
                error = f"HTTP {resp.status_code}"
                retry = resp.status_code >= 500 or resp.status_code in _RETRYABLE
                await record(n, False, resp.status_code, error if retry else f"{error} (not retried)", took)
            if not retry or n == settings.callback_max_attempts:
                return DeliveryResult(delivery_id, False, n, error)
            await sleep(settings.callback_backoff_s * 2 ** (n - 1))
    finally:
        if own_client:
            await http.aclose()
    return DeliveryResult(delivery_id, False, settings.callback_max_attempts, error)


async def callback_body(store: JobStore, job_id: str, keys: SigningKeys) -> tuple[str, bytes] | None:
    """(callback URL, body) for a finished job with a callback; None when it has none."""
    request = await store.get_request(job_id)
    job = await store.get_job(job_id)
    if request is None or job is None or request.callback is None:
        return None
    scorecard = await store.get_scorecard(job_id)
    envelope = await keys.sign(store, scorecard) if scorecard is not None else None
    payload: dict[str, Any] = {
        "event": "evaluation.finished",
        "evaluation_id": job.id,
        "status": job.status,
        "verdict": job.verdict,
        "error": job.error.model_dump() if job.error else None,
        "scorecard_envelope": envelope,
    }
    return request.callback.url, json.dumps(payload, separators=(",", ":")).encode()


async def deliver_job_result(
    store: JobStore,
    settings: Settings,
    job_id: str,
    *,
    client: httpx.AsyncClient | None = None,
    sleep: Sleep = asyncio.sleep,
) -> DeliveryResult | None:
    """Deliver a finished job's result to its `callback.url` (call it when the job ends, and to redeliver).

    None when the job has no callback.
    """
    prepared = await callback_body(store, job_id, SigningKeys.from_settings(settings))
    if prepared is None:
        return None
    url, body = prepared
    secret = settings.callback_secret.get_secret_value() if settings.callback_secret else None
    return await deliver(job_id, url, body, secret=secret, store=store, settings=settings, client=client, sleep=sleep)
