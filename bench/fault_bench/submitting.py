"""Submitting the jobs: each retried on the other API process with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.fault_bench.config import API_KEY, SUBMIT_DEADLINE_S


@dataclass
class Submission:
    index: int
    key: str
    body: dict[str, Any]
    job_id: str | None = None
    status_code: int | None = None
    failures: list[str] = field(default_factory=list)
    rejected: str | None = None


def evaluation_request(index: int, rng: random.Random, target_url: str, callback_url: str) -> dict[str, Any]:
    """A request whose `forget` check (the bench's trivial check) takes 0.5-2 s: 5-20 items of 0.1 s."""
    items = [
        {"question": f"Bench question {index}.{j}?", "choices": ["a", "b", "c", "d"], "answer": rng.randrange(4)}
        for j in range(rng.randint(5, 20))
    ]
    return {
        "target": {"kind": "tgi", "url": target_url},
        "checks": {"forget": {"dataset": {"items": items, "name": f"bench-{index}"}, "subject": "bench"}},
        "labels": {"bench": "faults", "job": str(index)},
        "seed": index,
        "callback": {"url": f"{callback_url}/callback"},
    }


async def submit(client: httpx.AsyncClient, apis: list[str], sub: Submission) -> None:
    """POST until a 2xx, moving to the next API process after each failure (same Idempotency-Key)."""
    deadline = time.monotonic() + SUBMIT_DEADLINE_S
    turn = sub.index
    while time.monotonic() < deadline:
        api = apis[turn % len(apis)]
        turn += 1
        try:
            resp = await client.post(
                f"{api}/v1/evaluations",
                json=sub.body,
                headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": sub.key},
            )
        except httpx.HTTPError as exc:
            sub.failures.append(type(exc).__name__)
        else:
            if resp.status_code in (200, 202):
                sub.job_id, sub.status_code = str(resp.json()["id"]), resp.status_code
                return
            if resp.status_code < 500 and resp.status_code not in (408, 429):
                sub.rejected = f"HTTP {resp.status_code}: {resp.text[:300]}"
                return
            sub.failures.append(f"HTTP {resp.status_code}")
        await asyncio.sleep(0.2)
