"""Jobs: submit (idempotent, within the team's cap), read, list, cancel, progress."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.dataset_sources import DatasetSource
from schemas.errors import QuotaExceededError
from schemas.jobs import Job, JobPage, JobStatus
from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource, WriteBack
from service.store import claims, metric_counters
from service.store.api import EVERY_TEAM, NO_LIMITS, TeamFilter, TeamLimits
from service.store.convert import (
    JOB_LABELS,
    JOB_SUMMARY_COLUMNS,
    JOBS,
    decode_cursor,
    encode_cursor,
    row_to_job,
    utcnow,
)
from service.store.sql.base import SqlBase, unstorable


class JobsMixin(SqlBase):
    """Jobs: submit (idempotent, within the team's cap), read, list, cancel, progress."""

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
        if unstorable(job_id):
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
        if labels and unstorable(*labels, *labels.values()):
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
