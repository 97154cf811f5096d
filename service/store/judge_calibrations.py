"""Model-judge calibrations in the store: queued by an admin, claimed by a worker under a lease, ended with
their figures or their error; the newest succeeded one of an endpoint and model is what scorecards show.

A claim takes a queued row, or a running one whose lease has lapsed (its worker died): the calibration runs
again from the start, as an interrupted job's unfinished check does. A worker's heartbeat extends its lease;
a worker that lost its lease cannot end the row.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from schemas.jobs import JobError
from schemas.judge_calibration import CalibrationStatus, JudgeCalibration, JudgeCalibrationRequest
from service.store.convert import decode_cursor, encode_cursor, utcnow
from service.store.engine import IMMEDIATE
from service.store.tables import Base, UTCDateTime


class JudgeCalibrationRow(Base):
    """One model-judge calibration, keyed by the judge's endpoint and model name (migration 0010).

    Queued by an admin, claimed by a worker under a lease (a lapsed lease lets another worker run it again),
    ended with its figures or its error; scorecards show the newest succeeded one of their judge.
    """

    __tablename__ = "judge_calibrations"
    __table_args__ = (
        Index("ix_judge_calibrations_key_finished", "endpoint", "model", "status", "finished_at"),
        Index("ix_judge_calibrations_status_created", "status", "created_at"),
        Index("ix_judge_calibrations_created_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(2048), nullable=False)
    model: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


JUDGE_CALIBRATIONS = Base.metadata.tables["judge_calibrations"]


def _calibration(row: Any, *, with_items: bool) -> JudgeCalibration:
    figures = row.figures
    if figures is not None and not with_items:
        figures = {k: v for k, v in figures.items() if k != "items"}
    return JudgeCalibration(
        id=row.id,
        status=row.status,
        endpoint=row.endpoint,
        model=row.model,
        request=JudgeCalibrationRequest.model_validate(row.request),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        error=JobError.model_validate(row.error) if row.error else None,
        figures=figures,
    )


class JudgeCalibrationStore:
    """The judge_calibrations table on the job store's engine (one store, one database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def _tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction; `write` takes SQLite's write lock up front, as the job store's do."""
        async with self.engine.connect() as conn:
            if write:
                conn = await conn.execution_options(**{IMMEDIATE: True})
            async with conn.begin():
                yield conn

    async def create(self, request: JudgeCalibrationRequest, endpoint: str, model: str) -> JudgeCalibration:
        """Store a queued calibration of `endpoint` and `model`."""
        values = {
            "id": str(uuid.uuid4()),
            "endpoint": endpoint,
            "model": model,
            "status": "queued",
            "request": request.model_dump(mode="json"),
            "attempts": 0,
            "created_at": utcnow(),
        }
        async with self._tx(write=True) as conn:
            await conn.execute(JUDGE_CALIBRATIONS.insert().values(**values))
            row = (await conn.execute(select(JUDGE_CALIBRATIONS).where(JUDGE_CALIBRATIONS.c.id == values["id"]))).one()
        return _calibration(row, with_items=True)

    async def get(self, calibration_id: str) -> JudgeCalibration | None:
        """One calibration with its per-item labels, or None."""
        if "\x00" in calibration_id:
            return None
        async with self._tx() as conn:
            row = (
                await conn.execute(select(JUDGE_CALIBRATIONS).where(JUDGE_CALIBRATIONS.c.id == calibration_id))
            ).first()
        return None if row is None else _calibration(row, with_items=True)

    async def page(
        self,
        *,
        endpoint: str | None = None,
        model: str | None = None,
        status: CalibrationStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[JudgeCalibration], str | None]:
        """Newest first, without per-item labels; the cursor of the next page (None at the end).
        BadCursorError on a cursor this store did not give."""
        t = JUDGE_CALIBRATIONS
        if any(v is not None and "\x00" in v for v in (endpoint, model, status)):
            return [], None  # no row holds a NUL (PostgreSQL text refuses it): a miss, not an error
        query = select(t).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit + 1)
        for column, value in ((t.c.endpoint, endpoint), (t.c.model, model), (t.c.status, status)):
            if value is not None:
                query = query.where(column == value)
        async with self._tx() as conn:
            if cursor is not None:
                last_id = str(decode_cursor(cursor, {"id": str})["id"])
                last = (await conn.execute(select(t.c.created_at).where(t.c.id == last_id))).first()
                if last is None:
                    return [], None
                query = query.where(
                    or_(t.c.created_at < last.created_at, and_(t.c.created_at == last.created_at, t.c.id < last_id))
                )
            rows = (await conn.execute(query)).all()
        items = [_calibration(r, with_items=False) for r in rows[:limit]]
        return items, encode_cursor({"id": items[-1].id}) if len(rows) > limit else None

    async def latest_figures(self, endpoint: str, model: str) -> dict[str, Any] | None:
        """The newest succeeded calibration's figures (per-item labels left out) with its id, or None."""
        if "\x00" in endpoint + model:
            return None
        t = JUDGE_CALIBRATIONS
        query = (
            select(t.c.id, t.c.figures)
            .where(t.c.endpoint == endpoint, t.c.model == model, t.c.status == "succeeded")
            .order_by(t.c.finished_at.desc(), t.c.id.desc())
            .limit(1)
        )
        async with self._tx() as conn:
            row = (await conn.execute(query)).first()
        if row is None or row.figures is None:
            return None
        return {"calibration_id": row.id, **{k: v for k, v in row.figures.items() if k != "items"}}

    async def claim(self, worker_id: str, lease_s: float) -> JudgeCalibration | None:
        """Take the oldest queued calibration, or a running one whose lease has lapsed; None when there is none."""
        t = JUDGE_CALIBRATIONS
        async with self._tx(write=True) as conn:
            now = utcnow()
            free = or_(t.c.status == "queued", and_(t.c.status == "running", t.c.lease_until < now))
            row = (await conn.execute(select(t.c.id).where(free).order_by(t.c.created_at, t.c.id).limit(1))).first()
            if row is None:
                return None
            claimed = await conn.execute(
                update(t)
                .where(t.c.id == row.id, free)
                .values(
                    status="running",
                    worker_id=worker_id,
                    lease_until=now + timedelta(seconds=lease_s),
                    attempts=t.c.attempts + 1,
                    started_at=now,
                )
            )
            if claimed.rowcount != 1:  # another worker took it between the select and the update
                return None
            fresh = (await conn.execute(select(t).where(t.c.id == row.id))).one()
        return _calibration(fresh, with_items=False)

    async def heartbeat(self, calibration_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend the lease; False when this worker no longer holds the calibration."""
        t = JUDGE_CALIBRATIONS
        async with self._tx(write=True) as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == calibration_id, t.c.worker_id == worker_id, t.c.status == "running")
                .values(lease_until=utcnow() + timedelta(seconds=lease_s))
            )
        return result.rowcount == 1

    async def finish(
        self,
        calibration_id: str,
        worker_id: str,
        *,
        figures: dict[str, Any] | None = None,
        error: JobError | None = None,
    ) -> bool:
        """End a held calibration: succeeded with `figures`, or failed with `error`; False when not held."""
        t = JUDGE_CALIBRATIONS
        values: dict[str, Any] = {
            "status": "succeeded" if error is None else "failed",
            "figures": figures,
            "error": None if error is None else error.model_dump(mode="json"),
            "finished_at": utcnow(),
            "worker_id": None,
            "lease_until": None,
        }
        async with self._tx(write=True) as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == calibration_id, t.c.worker_id == worker_id, t.c.status == "running")
                .values(**values)
            )
        return result.rowcount == 1


def judge_calibrations(store: object) -> JudgeCalibrationStore:
    """The calibrations beside a job store (`SqlJobStore`, whose `engine` they share)."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, AsyncEngine):
        raise TypeError(f"{type(store).__name__} keeps no SQL engine for judge calibrations")
    return JudgeCalibrationStore(engine)


def stored_calibration_lookup(store: object) -> Callable[[str, str], Awaitable[dict[str, Any] | None]] | None:
    """What a running audit reads its model judge's stored calibration with; None beside a store without an
    SQL engine."""
    engine = getattr(store, "engine", None)
    return JudgeCalibrationStore(engine).latest_figures if isinstance(engine, AsyncEngine) else None
