"""Deployment pins of suite datasets: the commit a moving revision (`main`) first resolved to, per Hub endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.convert import DATASET_PINS, utcnow


@dataclass(frozen=True)
class DatasetPin:
    """`repo` at `requested` is read at `revision` by this deployment (on the Hub at `endpoint`)."""

    endpoint: str
    repo: str
    requested: str
    revision: str
    pinned_at: datetime

    def as_json(self) -> dict[str, str]:
        return {**self.__dict__, "pinned_at": self.pinned_at.isoformat()}


def pin_key(repo: str, requested: str) -> str:
    """How pins are looked up: `repo@requested`."""
    return f"{repo}@{requested}"


async def pins(conn: AsyncConnection, endpoint: str | None = None) -> list[DatasetPin]:
    query = select(DATASET_PINS).order_by(DATASET_PINS.c.endpoint, DATASET_PINS.c.repo, DATASET_PINS.c.requested)
    if endpoint is not None:
        query = query.where(DATASET_PINS.c.endpoint == endpoint)
    rows = (await conn.execute(query)).all()
    return [DatasetPin(r.endpoint, r.repo, r.requested, r.revision, r.pinned_at) for r in rows]


async def insert(conn: AsyncConnection, endpoint: str, repo: str, requested: str, revision: str) -> None:
    """Pin `repo@requested` to `revision`; IntegrityError when it is pinned already (the first pin wins)."""
    await conn.execute(
        DATASET_PINS.insert().values(
            endpoint=endpoint, repo=repo, requested=requested, revision=revision, pinned_at=utcnow()
        )
    )


async def forget(conn: AsyncConnection, repo: str | None) -> int:
    """Drop the pins of `repo` (all of them when None); how many were dropped."""
    query = delete(DATASET_PINS)
    if repo is not None:
        query = query.where(DATASET_PINS.c.repo == repo)
    return (await conn.execute(query)).rowcount or 0
