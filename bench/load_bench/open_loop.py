"""Open-loop submission: requests sent on a schedule at a target rate, whatever the answers, with each latency
measured from the request's scheduled send time (so time spent waiting in the client counts)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bench.fault_bench.config import API_KEY
from bench.fault_bench.schedule import sleep_until

Arrivals = Literal["poisson", "fixed"]
LATE_S = 0.01
"""A request that starts this much after its scheduled time counts as not sent on time."""


def arrival_offsets(rate: float, duration_s: float, arrivals: Arrivals, cap: int, rng: random.Random) -> list[float]:
    """Seconds after the step's start at which each request is due: every 1/rate (fixed) or with exponential
    gaps of mean 1/rate (Poisson), within `duration_s` and at most `cap` of them."""
    offsets: list[float] = []
    t = 0.0 if arrivals == "fixed" else rng.expovariate(rate)
    while t < duration_s and len(offsets) < cap:
        offsets.append(t)
        t += 1.0 / rate if arrivals == "fixed" else rng.expovariate(rate)
    return offsets


@dataclass
class Sent:
    """One request's outcome: seconds from its scheduled time to its start and to its answer."""

    scheduled: float
    lag_s: float | None = None
    latency_s: float | None = None
    outcome: str = "unfinished"
    """The HTTP status as text, an exception's name, or `unfinished` (still open when the step's grace ended)."""
    job_id: str | None = None


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by the nearest-rank rule, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def run_step(
    client: httpx.AsyncClient,
    apis: list[str],
    body: Callable[[int], dict[str, Any]],
    key_prefix: str,
    offsets: list[float],
    concurrency: int,
    grace_s: float,
) -> tuple[list[Sent], float]:
    """Send one request per offset (round-robin over `apis`, each with its own Idempotency-Key), at most
    `concurrency` in flight (the rest wait, late); returns the outcomes and the step's start time. Requests
    still open `grace_s` after the last scheduled time are cancelled and stay `unfinished`."""
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic() + 0.1
    sent = [Sent(scheduled=began + off) for off in offsets]

    async def one(i: int) -> None:
        record = sent[i]
        async with gate:
            start = time.monotonic()
            record.lag_s = start - record.scheduled
            try:
                resp = await client.post(
                    f"{apis[i % len(apis)]}/v1/evaluations",
                    json=body(i),
                    headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": f"{key_prefix}-{i}"},
                )
            except httpx.HTTPError as exc:
                record.outcome = type(exc).__name__
            else:
                record.outcome = str(resp.status_code)
                if resp.status_code in (200, 202):
                    record.job_id = str(resp.json()["id"])
            record.latency_s = time.monotonic() - record.scheduled

    tasks: list[asyncio.Task[None]] = []
    for i, record in enumerate(sent):
        await sleep_until(record.scheduled)
        tasks.append(asyncio.create_task(one(i)))
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, began + offsets[-1] + grace_s - time.monotonic()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sent, began


def summarise(sent: list[Sent], began: float, target_rate: float) -> dict[str, Any]:
    """Latency quantiles over every answered request (any status), the rates achieved, outcomes by status."""
    answered = [s for s in sent if s.latency_s is not None]
    accepted = [s for s in sent if s.job_id is not None]
    latencies = [s.latency_s for s in answered if s.latency_s is not None]
    lags = [s.lag_s for s in sent if s.lag_s is not None]
    last_answer = max((s.scheduled + (s.latency_s or 0.0) for s in answered), default=began)
    last_due = max((s.scheduled for s in sent), default=began)
    return {
        "target_rate": target_rate,
        "scheduled": len(sent),
        "scheduled_span_s": round(last_due - began, 2),
        "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / (last_answer - began), 1) if last_answer > began else None,
        "outcomes": dict(Counter(s.outcome for s in sent)),
        "latency_s": {
            name: _round(percentile(latencies, q))
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "send_lag_s": {"p50": _round(percentile(lags, 0.5)), "p99": _round(percentile(lags, 0.99))},
        "sent_late": sum(1 for lag in lags if lag > LATE_S),
        "never_sent": sum(1 for s in sent if s.lag_s is None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
