"""Helpers for the API tests: keys, requests, and a worker played through the store's own API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from schemas.jobs import ItemRecord
from schemas.policy import PRESETS
from schemas.scorecard import CheckResult, Metric, Provenance, Scorecard, ScorecardChecks
from service.store import SqlJobStore

KEYS = {
    "submitter": "sk-submit-0001",  # no scopes listed: submit + read
    "reader": "sk-read-0002",
    "items": "sk-items-0003",
    "admin": "sk-admin-0004",
}
API_KEYS = f"{KEYS['submitter']},{KEYS['reader']}:read,{KEYS['items']}:read+items,{KEYS['admin']}:admin"


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who]}"}


def mc_items(n: int = 3) -> list[dict[str, Any]]:
    return [{"question": f"Q{i}?", "choices": ["a", "b", "c", "d"], "answer": i % 4} for i in range(n)]


def valid_request(**overrides: Any) -> dict[str, Any]:
    """A request that passes every submit-time check without a sandbox or a model."""
    body: dict[str, Any] = {
        "target": {"kind": "tgi", "url": "http://127.0.0.1:9"},  # allowlisted; never called in these tests
        "checks": {"forget": {"dataset": {"items": mc_items()}, "subject": "biology"}},
    }
    body.update(overrides)
    return body


@dataclass
class Roots:
    models: Path
    datasets: Path
    outside: Path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def skipped_result(reason: str = "not_implemented") -> CheckResult:
    return CheckResult(verdict="skipped", reasons=[reason], summary="not run in this test")


def scorecard_for(job_id: str, verdict: str = "pass", duration_s: float = 2.5) -> Scorecard:
    """A scorecard as a worker would store it: one measured check with n and an interval."""
    metric = Metric(
        name="residual_knowledge",
        value=0.1,
        ci_low=0.02,
        ci_high=0.2,
        n=60,
        direction="lower_is_better",
        threshold=0.25,
        gated=True,
    )
    forget = CheckResult(
        verdict="pass" if verdict == "pass" else "fail",
        headline=metric,
        metrics=[metric],
        duration_s=duration_s,
    )
    return Scorecard(
        schema_version="1.0",
        evaluation_id=job_id,
        verdict=verdict,
        checks=ScorecardChecks(forget=forget),
        policy=PRESETS["default"],
        provenance=Provenance(service_version="test"),
        created_at="2026-01-01T00:00:00Z",
    )


def records(n: int, check: str = "forget", variant: str = "standard", model: str = "target") -> list[ItemRecord]:
    return [
        ItemRecord(check=check, dataset="d", index=i, variant=variant, model=model, record={"correct": i % 2 == 0})
        for i in range(n)
    ]


async def finish_next(
    store: SqlJobStore,
    *,
    verdict: str = "pass",
    items: list[ItemRecord] | None = None,
    worker: str = "w-test",
) -> str:
    """Play the worker through the store's own API: claim, save one check with records, finish."""
    claimed = await store.claim_next(worker, lease_s=60)
    assert claimed is not None
    card = scorecard_for(claimed.id, verdict)
    assert card.checks.forget is not None
    await store.save_check(claimed.id, worker, "forget", card.checks.forget, items or [], {})
    await store.finish_job(
        claimed.id, worker, status="succeeded", scorecard=card.model_dump(mode="json"), verdict=verdict
    )
    return claimed.id


@asynccontextmanager
async def serve_in_loop(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling `app` in this event loop. Litestar's AsyncTestClient runs the app in a portal
    thread with its own loop, where a store opened in the test's loop cannot be used with asyncpg; an
    app given its store needs no lifespan, so plain ASGI transport is enough."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # litestar types its ASGI args narrowly
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
