"""A job's events, scorecard and per-item records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from schemas.jobs import ItemPage
from service.store import claims, records
from service.store.api import JobEvent
from service.store.convert import (
    JOBS,
    decode_cursor,
    encode_cursor,
)
from service.store.sql.base import SqlBase, unstorable


class ItemsMixin(SqlBase):
    """A job's events, scorecard and per-item records."""

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
        if unstorable(job_id, check, variant, model):
            return ItemPage(items=[])
        async with self._tx() as conn:
            items, last_id = await records.list_items(
                conn, job_id, check=check, variant=variant, model=model, limit=limit, after_id=after
            )
        return ItemPage(items=items, next_cursor=encode_cursor({"after": last_id}) if last_id is not None else None)

    async def expire_items(self, older_than_days: int) -> int:
        async with self._tx(write=True) as conn:
            return await records.expire_items(conn, older_than_days)
