"""The engine and transactions every part of `SqlJobStore` shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.engine import IMMEDIATE, make_engine


def unstorable(*values: str | None) -> bool:
    """A value no row can hold: PostgreSQL text refuses NUL, so a lookup by one finds nothing (and must not be
    sent, where it would be an error rather than a miss)."""
    return any(v is not None and "\x00" in v for v in values)


class SqlBase:
    """One database URL, its engine and its transactions: what every part of `SqlJobStore` works through."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @asynccontextmanager
    async def _tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction; `write` takes SQLite's write lock up front (no lock upgrade deadlocks)."""
        async with self.engine.connect() as conn:
            if write:
                conn = await conn.execution_options(**{IMMEDIATE: True})
            async with conn.begin():
                yield conn
