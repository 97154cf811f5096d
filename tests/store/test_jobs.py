"""The store on SQLite and PostgreSQL: create, idempotency, list/filter/paginate, cancel, events, items."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from schemas import EvaluationRequest, ItemRecord, Job
from schemas.scorecard import CheckResult
from service.store import BadCursorError, SqlJobStore
from service.store.convert import JOBS, utcnow


def make_request(**labels: str) -> EvaluationRequest:
    return EvaluationRequest.model_validate(
        {"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox", "labels": labels}
    )


async def test_create_and_get_round_trip(store: SqlJobStore) -> None:
    request = make_request(run="1")
    job, created = await store.create_job(request)
    assert created and job.status == "queued" and job.attempts == 0 and job.labels == {"run": "1"}
    assert job.created_at.tzinfo is not None
    assert await store.get_job(job.id) == job
    assert await store.get_request(job.id) == request
    assert await store.get_job("no-such-job") is None
    assert await store.get_request("no-such-job") is None


async def test_idempotency_key_returns_same_job_per_owner(store: SqlJobStore) -> None:
    first, created1 = await store.create_job(make_request(), idempotency_key="ci-42", owner="alice")
    again, created2 = await store.create_job(make_request(), idempotency_key="ci-42", owner="alice")
    other, created3 = await store.create_job(make_request(), idempotency_key="ci-42", owner="bob")
    assert (created1, created2, created3) == (True, False, True)
    assert again.id == first.id and other.id != first.id


async def test_idempotency_key_race_creates_one_job(store: SqlJobStore) -> None:
    results = await asyncio.gather(*(store.create_job(make_request(), idempotency_key="race") for _ in range(6)))
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_list_newest_first_with_filters_and_cursor(store: SqlJobStore) -> None:
    ids = [(await store.create_job(make_request(team="a" if i % 2 else "b", run=str(i))))[0].id for i in range(7)]
    seen: list[Job] = []
    cursor = None
    while True:
        page = await store.list_jobs(limit=3, cursor=cursor)
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [j.id for j in seen] == list(reversed(ids))
    team_a = await store.list_jobs(labels={"team": "a"})
    assert [j.id for j in team_a.items] == [ids[5], ids[3], ids[1]]
    both = await store.list_jobs(labels={"team": "a", "run": "3"})
    assert [j.id for j in both.items] == [ids[3]]
    await store.request_cancel(ids[0])
    cancelled = await store.list_jobs(status="cancelled")
    assert [j.id for j in cancelled.items] == [ids[0]]
    assert (await store.list_jobs(status="queued", labels={"team": "b"})).items[-1].id == ids[2]


async def test_bad_cursor_is_rejected(store: SqlJobStore) -> None:
    with pytest.raises(BadCursorError):
        await store.list_jobs(cursor="not-a-cursor")
    with pytest.raises(BadCursorError):
        await store.list_items("x", cursor="eyJ4IjoxfQ")


async def test_cancel_queued_is_immediate_and_running_is_flagged(store: SqlJobStore) -> None:
    queued, _ = await store.create_job(make_request())
    cancelled = await store.request_cancel(queued.id)
    assert cancelled is not None and cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert await store.claim_next("w", 30) is None

    running, _ = await store.create_job(make_request())
    claimed = await store.claim_next("w", 30)
    assert claimed is not None and claimed.id == running.id
    assert not await store.is_cancel_requested(running.id)
    flagged = await store.request_cancel(running.id)
    assert flagged is not None and flagged.status == "running"
    assert await store.is_cancel_requested(running.id)
    assert await store.request_cancel("missing") is None
    kinds = [e.kind for e in await store.events_since(running.id)]
    assert kinds == ["job_created", "job_claimed", "cancel_requested"]


async def test_events_are_ordered_and_incremental(store: SqlJobStore) -> None:
    job, _ = await store.create_job(make_request())
    for done in range(3):
        await store.append_event(job.id, "progress", {"check": "forget", "done": done, "total": 3})
    events = await store.events_since(job.id)
    assert [e.kind for e in events] == ["job_created", "progress", "progress", "progress"]
    later = await store.events_since(job.id, after_id=events[1].id)
    assert [e.data["done"] for e in later] == [1, 2]


def _records(check: str, n: int) -> list[ItemRecord]:
    return [
        ItemRecord(
            check=check,
            dataset="d",
            index=i,
            variant="standard" if i % 2 else "cloze",
            model="target" if i % 3 else "baseline",
            fold=i % 2,
            record={"correct": i % 2 == 0},
        )
        for i in range(n)
    ]


async def test_items_paging_and_filters(store: SqlJobStore) -> None:
    job, _ = await store.create_job(make_request())
    await store.claim_next("w", 30)
    result = CheckResult(summary="", verdict="skipped", reasons=["x"], duration_s=1.5)
    await store.save_check(job.id, "w", "forget", result, _records("forget", 25), {"datasets": []})
    await store.save_check(job.id, "w", "refusal", result, _records("refusal", 4), {})
    seen: list[ItemRecord] = []
    cursor = None
    while True:
        page = await store.list_items(job.id, check="forget", limit=10, cursor=cursor)
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [r.index for r in seen] == list(range(25))
    assert seen == _records("forget", 25)
    cloze = await store.list_items(job.id, check="forget", variant="cloze")
    assert [r.index for r in cloze.items] == [i for i in range(25) if i % 2 == 0]
    base = await store.list_items(job.id, model="baseline")
    assert len(base.items) == len([i for i in range(25) if i % 3 == 0]) + len([i for i in range(4) if i % 3 == 0])
    assert sorted(await store.check_durations()) == [("forget", 1.5), ("refusal", 1.5)]


async def test_expire_items_keeps_scorecards_and_recent_jobs(store: SqlJobStore) -> None:
    old, _ = await store.create_job(make_request())
    new, _ = await store.create_job(make_request())
    for job in (old, new):
        claimed = await store.claim_next("w", 30)
        assert claimed is not None and claimed.id == job.id
        await store.save_check(
            job.id, "w", "forget", CheckResult(summary="", verdict="skipped"), _records("forget", 5), {}
        )
        await store.finish_job(job.id, "w", status="succeeded", scorecard={"verdict": "pass"}, verdict="pass")
    async with store.engine.begin() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.id == old.id).values(finished_at=utcnow() - timedelta(days=40)))
    assert await store.expire_items(30) == 5
    assert (await store.list_items(old.id)).items == []
    assert len((await store.list_items(new.id)).items) == 5
    assert await store.get_scorecard(old.id) == {"verdict": "pass"}
    assert await store.expire_items(30) == 0


async def test_counts_and_ping(store: SqlJobStore) -> None:
    await store.ping()
    for _ in range(3):
        await store.create_job(make_request())
    await store.claim_next("w", 30)
    counts = await store.count_by_status()
    assert counts == {"queued": 2, "running": 1, "succeeded": 0, "failed": 0, "cancelled": 0}
