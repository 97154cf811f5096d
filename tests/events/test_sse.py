"""GET /v1/evaluations/{id}/events: the job-events table as server-sent events, on the real store and app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.requests import EvaluationRequest
from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import API_KEYS, bearer, scorecard_for, valid_request

WORKER = "w-events"


@pytest.fixture
async def client(tmp_path: Path, store: SqlJobStore) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on the real store (SQLite and PostgreSQL), called in this event loop."""
    app = create_app(Settings(data_dir=tmp_path / "data", api_keys=API_KEYS), store)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar is an ASGI app
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def parse_sse(body: str) -> list[dict[str, Any]]:
    """Messages of an event stream (per the SSE spec: blank-line separated `field: value` lines)."""
    messages = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields:
            messages.append(fields)
    return messages


async def _queued_job(store: SqlJobStore) -> str:
    job, _ = await store.create_job(EvaluationRequest.model_validate(valid_request()))
    return job.id


async def _run_to_end(store: SqlJobStore, job_id: str, steps: int = 3) -> None:
    """Play the worker through the store's API: claim, progress, one check, finish."""
    claimed = await store.claim_next(WORKER, lease_s=60)
    assert claimed is not None and claimed.id == job_id
    await store.append_event(job_id, "check_started", {"check": "forget"})
    for done in range(1, steps + 1):
        await store.append_event(job_id, "progress", {"check": "forget", "done": done, "total": steps})
    card = scorecard_for(job_id, "fail")
    assert card.checks.forget is not None
    await store.save_check(job_id, WORKER, "forget", card.checks.forget, [], {})
    await store.append_event(job_id, "check_finished", {"check": "forget", "verdict": "fail"})
    await store.finish_job(job_id, WORKER, status="succeeded", scorecard=card.model_dump(mode="json"), verdict="fail")


async def test_finished_job_streams_every_event_with_its_id_then_ends(
    client: httpx.AsyncClient, store: SqlJobStore
) -> None:
    job_id = await _queued_job(store)
    await _run_to_end(store, job_id)
    resp = await client.get(f"/v1/evaluations/{job_id}/events", headers=bearer("reader"))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-cache"
    messages = parse_sse(resp.text)
    stored = await store.events_since(job_id)
    assert [int(m["id"]) for m in messages] == [e.id for e in stored]
    assert [m["event"] for m in messages] == [e.kind for e in stored]
    assert messages[0]["event"] == "job_created" and messages[-1]["event"] == "job_finished"
    assert [m["event"] for m in messages].count("progress") == 3
    last = json.loads(messages[-1]["data"])
    assert last["job_id"] == job_id and last["data"]["status"] == "succeeded"
    assert last["data"]["verdict"] == "fail"


async def test_last_event_id_and_after_resume_the_stream(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    job_id = await _queued_job(store)
    await _run_to_end(store, job_id)
    ids = [e.id for e in await store.events_since(job_id)]
    resume_at = ids[2]
    by_header = await client.get(
        f"/v1/evaluations/{job_id}/events", headers={**bearer("reader"), "Last-Event-ID": str(resume_at)}
    )
    assert [int(m["id"]) for m in parse_sse(by_header.text)] == ids[3:]
    by_query = await client.get(
        f"/v1/evaluations/{job_id}/events", params={"after": resume_at}, headers=bearer("reader")
    )
    assert [int(m["id"]) for m in parse_sse(by_query.text)] == ids[3:]
    at_end = await client.get(
        f"/v1/evaluations/{job_id}/events", headers={**bearer("reader"), "Last-Event-ID": str(ids[-1])}
    )
    assert at_end.status_code == 200 and parse_sse(at_end.text) == []


async def test_live_stream_follows_a_running_job_until_it_ends(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    job_id = await _queued_job(store)
    request = asyncio.create_task(client.get(f"/v1/evaluations/{job_id}/events", headers=bearer("reader")))
    await asyncio.sleep(0.7)  # the stream has polled at least once with the job still queued
    assert not request.done()
    await _run_to_end(store, job_id, steps=2)
    resp = await asyncio.wait_for(request, timeout=15)
    kinds = [m["event"] for m in parse_sse(resp.text)]
    assert kinds[0] == "job_created" and kinds[-1] == "job_finished"
    assert kinds.count("progress") == 2 and "job_claimed" in kinds


async def test_cancelled_queued_job_ends_the_stream(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    job_id = await _queued_job(store)
    await store.request_cancel(job_id)
    resp = await asyncio.wait_for(client.get(f"/v1/evaluations/{job_id}/events", headers=bearer("reader")), timeout=15)
    last = parse_sse(resp.text)[-1]
    assert last["event"] == "job_finished" and json.loads(last["data"])["data"]["status"] == "cancelled"


async def test_unknown_job_is_404_and_bad_last_event_id_is_400(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    missing = await client.get("/v1/evaluations/nope/events", headers=bearer("reader"))
    assert missing.status_code == 404 and "nope" in missing.text
    job_id = await _queued_job(store)
    await store.request_cancel(job_id)
    bad = await client.get(f"/v1/evaluations/{job_id}/events", headers={**bearer("reader"), "Last-Event-ID": "abc"})
    assert bad.status_code == 400 and "Last-Event-ID" in bad.text


async def test_events_need_a_key_with_read_scope(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    job_id = await _queued_job(store)
    await store.request_cancel(job_id)
    assert (await client.get(f"/v1/evaluations/{job_id}/events")).status_code == 401


async def test_quiet_stream_sends_keepalive_comments(store: SqlJobStore) -> None:
    from service.events import job_event_stream

    job_id = await _queued_job(store)
    created = (await store.events_since(job_id))[-1].id
    stream = job_event_stream(store, job_id, created, poll_s=0.01, keepalive_s=0.0)
    first = await asyncio.wait_for(anext(stream), timeout=5)
    assert first.comment == "keep-alive" and first.id is None
    assert first.encode() == b": keep-alive\r\n\r\n"
    await store.request_cancel(job_id)
    rest = [m async for m in stream if m.comment is None]
    assert [m.event for m in rest] == ["job_finished"]
