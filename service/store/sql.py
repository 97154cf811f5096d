"""`SqlJobStore`: the JobStore on SQLAlchemy async (sqlite+aiosqlite or postgresql+asyncpg)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.dataset_sources import DatasetSource
from schemas.errors import QuotaExceededError
from schemas.jobs import ItemPage, ItemRecord, Job, JobError, JobPage, JobStatus
from schemas.requests import EvaluationRequest
from schemas.scorecard import CheckResult
from schemas.sources import ModelSource, WriteBack
from service.store import claims, dataset_pins, metric_counters, outside, queue_gauges, records
from service.store.api import EVERY_TEAM, NO_LIMITS, ClaimedJob, JobEvent, TeamFilter, TeamLimits
from service.store.convert import (
    JOB_LABELS,
    JOB_SUMMARY_COLUMNS,
    JOBS,
    decode_cursor,
    encode_cursor,
    row_to_job,
    utcnow,
)
from service.store.engine import IMMEDIATE, make_engine
from service.store.migrate import upgrade_to_head
from service.store.signing_keys import SigningKeyStore
from service.store.webhook_profiles import WebhookProfileStore


def _unstorable(*values: str | None) -> bool:
    """A value no row can hold: PostgreSQL text refuses NUL, so a lookup by one finds nothing (and must not be
    sent, where it would be an error rather than a miss)."""
    return any(v is not None and "\x00" in v for v in values)


class SqlJobStore:
    """The job store on one database URL. Call `migrate()` once at start-up (or use `create_store`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    async def migrate(self) -> None:
        """Upgrade the schema to the newest migration."""
        await upgrade_to_head(self.engine)

    @asynccontextmanager
    async def _tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction; `write` takes SQLite's write lock up front (no lock upgrade deadlocks)."""
        async with self.engine.connect() as conn:
            if write:
                conn = await conn.execution_options(**{IMMEDIATE: True})
            async with conn.begin():
                yield conn

    # --- jobs -------------------------------------------------------------------------------------
    async def create_job(
        self,
        request: EvaluationRequest,
        *,
        idempotency_key: str | None = None,
        owner: str | None = None,
        team: str | None = None,
        limits: TeamLimits = NO_LIMITS,
        resolved: Mapping[str, ModelSource] | None = None,
        write_back: WriteBack | None = None,
        resolved_datasets: Mapping[str, DatasetSource] | None = None,
    ) -> tuple[Job, bool]:
        owner_key = owner or ""
        if idempotency_key is not None:
            existing = await self._by_idempotency_key(owner_key, idempotency_key)
            if existing is not None:
                return existing, False
        job_id = str(uuid.uuid4())
        values = {
            "id": job_id,
            "status": "queued",
            "request": request.model_dump(mode="json"),
            "labels": dict(request.labels),
            "idempotency_key": idempotency_key,
            "owner": owner_key,
            "attempts": 0,
            "cancel_requested": False,
            "progress": {},
            "created_at": utcnow(),
            "team": team,
            "resolved": {k: v.model_dump(mode="json") for k, v in (resolved or {}).items()},
            "writeback": write_back.model_dump(mode="json") if write_back is not None else None,
            "resolved_datasets": {k: v.model_dump(mode="json") for k, v in (resolved_datasets or {}).items()},
        }
        try:
            async with self._tx(write=True) as conn:
                if limits.max_active is not None:
                    await self._check_team_cap(conn, team, limits)
                await conn.execute(insert(JOBS).values(**values))
                if request.labels:
                    await conn.execute(
                        insert(JOB_LABELS),
                        [{"job_id": job_id, "key": k, "value": v} for k, v in request.labels.items()],
                    )
                await claims._event(conn, job_id, "job_created", {})
                await metric_counters.apply(conn, metric_counters.Deltas().job_status(None, "queued"))
        except IntegrityError:
            # Two submissions with one key raced: the other one won; answer with its job.
            if idempotency_key is None:
                raise
            existing = await self._by_idempotency_key(owner_key, idempotency_key)
            if existing is None:
                raise
            return existing, False
        job = await self.get_job(job_id)
        assert job is not None
        return job, True

    async def _check_team_cap(self, conn: AsyncConnection, team: str | None, limits: TeamLimits) -> None:
        """QuotaExceededError when `team` has `limits.max_active` queued and running jobs already."""
        if conn.dialect.name == "postgresql":  # serialise one team's submits, so two cannot both fit
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": claims.team_lock_key(team)})
        active = (
            await conn.execute(
                select(func.count())
                .select_from(JOBS)
                .where(claims.of_team(team), JOBS.c.status.in_(("queued", "running")))
            )
        ).scalar_one()
        if limits.max_active is not None and active >= limits.max_active:
            who = f"team {team!r}" if team is not None else "jobs without a team"
            raise QuotaExceededError(
                f"{who} already has {active} queued or running evaluations, the most allowed "
                f"(UNLEARN_AUDIT_TEAM_MAX_ACTIVE={limits.max_active}); retry later",
                retry_after_s=limits.retry_after_s,
            )

    async def _by_idempotency_key(self, owner: str, key: str) -> Job | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(*JOB_SUMMARY_COLUMNS).where(JOBS.c.owner == owner, JOBS.c.idempotency_key == key)
                )
            ).first()
        return row_to_job(row) if row is not None else None

    async def get_job(self, job_id: str) -> Job | None:
        if _unstorable(job_id):
            return None
        async with self._tx() as conn:
            row = (await conn.execute(select(*JOB_SUMMARY_COLUMNS).where(JOBS.c.id == job_id))).first()
        return row_to_job(row) if row is not None else None

    async def get_request(self, job_id: str) -> EvaluationRequest | None:
        async with self._tx() as conn:
            raw = (await conn.execute(select(JOBS.c.request).where(JOBS.c.id == job_id))).scalar_one_or_none()
        return EvaluationRequest.model_validate(raw) if raw is not None else None

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        labels: dict[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        teams: TeamFilter = EVERY_TEAM,
    ) -> JobPage:
        if labels and _unstorable(*labels, *labels.values()):
            return JobPage(items=[])
        query = select(*JOB_SUMMARY_COLUMNS)
        if not teams.everyone:
            query = query.where(claims.of_team(teams.team))
        if status is not None:
            query = query.where(JOBS.c.status == status)
        for key, value in (labels or {}).items():
            label = select(JOB_LABELS.c.job_id).where(JOB_LABELS.c.key == key, JOB_LABELS.c.value == value)
            query = query.where(JOBS.c.id.in_(label))
        if cursor is not None:
            after = decode_cursor(cursor, {"t": str, "id": str})
            last = await self.get_job(str(after["id"]))
            if last is None:
                return JobPage(items=[])
            t = last.created_at
            query = query.where((JOBS.c.created_at < t) | ((JOBS.c.created_at == t) & (JOBS.c.id < last.id)))
        query = query.order_by(JOBS.c.created_at.desc(), JOBS.c.id.desc()).limit(limit + 1)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        jobs = [row_to_job(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = encode_cursor({"t": jobs[-1].created_at.isoformat(), "id": jobs[-1].id})
        return JobPage(items=jobs, next_cursor=next_cursor)

    async def request_cancel(self, job_id: str) -> Job | None:
        async with self._tx(write=True) as conn:
            # Locked: a claim racing this cancel must not have its `running` overwritten (nor counted twice).
            query = select(JOBS.c.status, JOBS.c.started_at).where(JOBS.c.id == job_id).with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            if row.status == "queued":
                now = utcnow()
                await conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id == job_id)
                    .values(status="cancelled", cancel_requested=True, finished_at=now)
                )
                await claims._event(conn, job_id, "job_finished", {"status": "cancelled"})
                await claims.schedule_callback(conn, job_id)
                ended = metric_counters.Deltas().job_status("queued", "cancelled")
                await metric_counters.apply(conn, ended.job_ended("cancelled", row.started_at, now))
            elif row.status == "running":
                await conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(cancel_requested=True))
                await claims._event(conn, job_id, "cancel_requested", {})
        return await self.get_job(job_id)

    async def is_cancel_requested(self, job_id: str) -> bool:
        async with self._tx() as conn:
            flag = (await conn.execute(select(JOBS.c.cancel_requested).where(JOBS.c.id == job_id))).scalar_one_or_none()
        return bool(flag)

    async def set_progress(self, job_id: str, worker_id: str, progress: dict[str, Any]) -> None:
        """Update the job's progress column (check, done, total) while this worker holds it."""
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(JOBS).where(JOBS.c.id == job_id, JOBS.c.worker_id == worker_id).values(progress=progress)
            )

    # --- leases -----------------------------------------------------------------------------------
    async def claim_next(self, worker_id: str, lease_s: float, limits: TeamLimits = NO_LIMITS) -> ClaimedJob | None:
        while True:
            try:
                async with self._tx(write=True) as conn:
                    return await claims.claim_next(conn, worker_id, lease_s, limits)
            except claims.PoisonJobError as poison:
                # The claim's transaction is rolled back; fail the job in a fresh one and take the next.
                async with self._tx(write=True) as conn:
                    await claims.fail_poison_job(conn, poison)

    async def heartbeat(self, job_id: str, worker_id: str, lease_s: float) -> bool:
        async with self._tx(write=True) as conn:
            return await claims.heartbeat(conn, job_id, worker_id, lease_s)

    async def release(self, job_id: str, worker_id: str) -> bool:
        """Put a held job back in the queue now (graceful shutdown); True when it was held."""
        async with self._tx(write=True) as conn:
            return await claims.release(conn, job_id, worker_id)

    async def save_check(
        self,
        job_id: str,
        worker_id: str,
        check: str,
        result: CheckResult,
        records: list[ItemRecord],
        meta: dict[str, Any],
    ) -> None:
        async with self._tx(write=True) as conn:
            await claims.save_check(conn, job_id, worker_id, check, result, records, meta)

    async def finish_job(
        self,
        job_id: str,
        worker_id: str,
        *,
        status: JobStatus,
        scorecard: dict[str, Any] | None = None,
        verdict: str | None = None,
        error: JobError | None = None,
    ) -> None:
        async with self._tx(write=True) as conn:
            await claims.finish_job(
                conn, job_id, worker_id, status=status, scorecard=scorecard, verdict=verdict, error=error
            )

    # --- the outbox: result callbacks and registry write-backs, owed when a job ends ---------------------
    async def claim_due(self, outbox: claims.Outbox, lease_s: float) -> str | None:
        """The id of an ended job whose `outbox` delivery is owed, now held for `lease_s`; None if none."""
        due = claims.due_column(outbox)
        async with self._tx() as conn:  # a plain read first: idle polls take no write lock
            if (await conn.execute(select(JOBS.c.id).where(due <= utcnow()).limit(1))).first() is None:
                return None
        async with self._tx(write=True) as conn:
            return await claims.claim_due(conn, outbox, lease_s)

    async def end_due(self, outbox: claims.Outbox, job_id: str, *, retry_now: bool = False) -> None:
        """The delivery ended (delivered or gave up): owe nothing more. `retry_now`: give it back instead
        (a worker stopping mid-delivery), so the next poll of any worker delivers it."""
        async with self._tx(write=True) as conn:
            due = utcnow() if retry_now else None
            await conn.execute(update(JOBS).where(JOBS.c.id == job_id).values({claims.OUTBOX_DUE[outbox]: due}))

    async def due_at(self, outbox: claims.Outbox, job_id: str) -> datetime | None:
        """When the job's `outbox` delivery is (next) due; None when nothing is owed."""
        async with self._tx() as conn:
            due = claims.due_column(outbox)
            return (await conn.execute(select(due).where(JOBS.c.id == job_id))).scalar_one_or_none()

    async def claim_callback(self, lease_s: float) -> str | None:
        return await self.claim_due("callback", lease_s)

    async def end_callback(self, job_id: str, *, retry_now: bool = False) -> None:
        await self.end_due("callback", job_id, retry_now=retry_now)

    async def callback_due(self, job_id: str) -> datetime | None:
        return await self.due_at("callback", job_id)

    async def write_back_of(self, job_id: str) -> WriteBack | None:
        """Where the job's result goes back to a registry, if anywhere."""
        async with self._tx() as conn:
            raw = (await conn.execute(select(JOBS.c.writeback).where(JOBS.c.id == job_id))).scalar_one_or_none()
        return WriteBack.model_validate(raw) if raw else None

    async def record_delivery_attempt(self, job_id: str, attempt: outside.DeliveryAttempt) -> None:
        """Record one callback attempt (GET .../deliveries shows it)."""
        async with self._tx(write=True) as conn:
            await outside.record_attempt(conn, job_id, attempt)

    async def delivery_attempts(self, job_id: str) -> list[outside.DeliveryAttempt]:
        """Every callback attempt of a job, oldest first."""
        async with self._tx() as conn:
            return await outside.attempts(conn, job_id)

    # --- registry webhook events --------------------------------------------------------------------
    async def webhook_event(self, registry: str, key: str) -> outside.WebhookEventRecord | None:
        """The recorded event with this de-duplication key, or None."""
        async with self._tx() as conn:
            return await outside.webhook_event(conn, registry, key)

    async def record_webhook_event(
        self,
        registry: str,
        key: str,
        *,
        event: str,
        model: str,
        status: str,
        detail: str,
        profile: str | None,
        job_id: str | None,
    ) -> outside.WebhookEventRecord:
        """Insert the event, or update an earlier row of it that did not submit a job."""
        values = outside.webhook_event_values(
            event=event, model=model, status=status, detail=detail, profile=profile, job_id=job_id
        )
        try:
            async with self._tx(write=True) as conn:
                await outside.insert_webhook_event(conn, registry, key, values)
        except IntegrityError:
            async with self._tx(write=True) as conn:
                await outside.update_unsubmitted_event(conn, registry, key, values)
        found = await self.webhook_event(registry, key)
        assert found is not None
        return found

    async def recent_webhook_events(self, limit: int = 50) -> list[outside.WebhookEventRecord]:
        """Newest first."""
        async with self._tx() as conn:
            return await outside.recent_webhook_events(conn, limit)

    # --- deployment pins of suite datasets ------------------------------------------------------------
    async def dataset_pins(self, endpoint: str | None = None) -> list[dataset_pins.DatasetPin]:
        """The deployment's pins (of one Hub endpoint, or all), by endpoint and repository."""
        async with self._tx() as conn:
            return await dataset_pins.pins(conn, endpoint)

    async def remember_dataset_pins(self, endpoint: str, resolved: Mapping[tuple[str, str], str]) -> int:
        """Pin each (repo, requested revision) to the commit it resolved to, unless pinned already (the first
        resolution wins, also against a concurrent submit); how many pins are new."""
        added = 0
        for (repo, requested), revision in resolved.items():
            try:
                async with self._tx(write=True) as conn:
                    await dataset_pins.insert(conn, endpoint, repo, requested, revision)
                added += 1
            except IntegrityError:
                continue
        return added

    async def forget_dataset_pins(self, repo: str | None = None) -> int:
        """Drop the pins of `repo` (all when None): the next audit pins what the revision names then."""
        async with self._tx(write=True) as conn:
            return await dataset_pins.forget(conn, repo)

    # --- events, items, metrics -------------------------------------------------------------------
    async def append_event(self, job_id: str, kind: str, data: dict[str, Any]) -> None:
        async with self._tx(write=True) as conn:
            await claims._event(conn, job_id, kind, data)

    async def events_since(self, job_id: str, after_id: int = 0) -> list[JobEvent]:
        async with self._tx() as conn:
            return await records.events_since(conn, job_id, after_id)

    async def get_scorecard(self, job_id: str) -> dict[str, Any] | None:
        async with self._tx() as conn:
            value = (await conn.execute(select(JOBS.c.scorecard).where(JOBS.c.id == job_id))).scalar_one_or_none()
        return dict(value) if value is not None else None

    async def list_items(
        self,
        job_id: str,
        *,
        check: str | None = None,
        variant: str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ItemPage:
        after = int(decode_cursor(cursor, {"after": int})["after"]) if cursor is not None else 0
        if _unstorable(job_id, check, variant, model):
            return ItemPage(items=[])
        async with self._tx() as conn:
            items, last_id = await records.list_items(
                conn, job_id, check=check, variant=variant, model=model, limit=limit, after_id=after
            )
        return ItemPage(items=items, next_cursor=encode_cursor({"after": last_id}) if last_id is not None else None)

    async def expire_items(self, older_than_days: int) -> int:
        async with self._tx(write=True) as conn:
            return await records.expire_items(conn, older_than_days)

    # --- state every machine shares: signing keys, audit profiles, metric counters -------------------------
    @property
    def signing_keys(self) -> SigningKeyStore:
        """The scorecard signing keys (active and retired)."""
        return SigningKeyStore(self._tx)

    @property
    def webhook_profiles(self) -> WebhookProfileStore:
        """The audit profiles registry webhooks match."""
        return WebhookProfileStore(self._tx)

    async def read_metrics(self) -> metric_counters.MetricCounters:
        """The /metrics figures: one query, whatever the history."""
        async with self._tx() as conn:
            return await metric_counters.read(conn)

    async def read_queue_gauges(self) -> queue_gauges.QueueGauges:
        """The /metrics gauges that depend on the clock: two aggregate queries on indexed columns."""
        async with self._tx() as conn:
            return await queue_gauges.read(conn, utcnow())

    async def count_by_status(self) -> dict[str, int]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(JOBS.c.status, func.count()).group_by(JOBS.c.status))).all()
        counts = dict.fromkeys(("queued", "running", "succeeded", "failed", "cancelled"), 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    async def check_durations(self) -> list[tuple[str, float]]:
        async with self._tx() as conn:
            return await records.check_durations(conn)

    async def count_items(self) -> dict[str, int]:
        """Per-item records scored, by check (metrics)."""
        async with self._tx() as conn:
            return await records.items_scored(conn)

    async def job_durations(self) -> list[tuple[str, float]]:
        """(status, seconds) of finished jobs (metrics)."""
        async with self._tx() as conn:
            return await records.job_durations(conn)

    @asynccontextmanager
    async def advisory_lock(self, name: str) -> AsyncIterator[None]:
        """Hold a lock named `name` across every process on this database (PostgreSQL: a session advisory
        lock on a connection of its own, dropped by the server if this process dies). Not for SQLite, whose
        processes share one machine: use a file lock there."""
        if self.engine.dialect.name != "postgresql":
            raise RuntimeError("advisory locks need PostgreSQL; SQLite deployments lock files")
        key = claims.lock_key(f"name:{name}")
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            await conn.commit()  # the lock is the session's; no transaction stays open while it is held
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()

    def lock_across_machines(self) -> Callable[[str], AbstractAsyncContextManager[None]] | None:
        """`advisory_lock` where it holds across machines (PostgreSQL); None on SQLite, whose processes share
        one machine and lock files instead."""
        return self.advisory_lock if self.engine.dialect.name == "postgresql" else None

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


async def create_store(url: str) -> SqlJobStore:
    """A store on `url` with its schema upgraded to the newest migration."""
    store = SqlJobStore(url)
    await store.migrate()
    return store
