"""The bench's database, read directly (one asyncpg connection, reopened after PostgreSQL restarts)."""

from __future__ import annotations

import contextlib
import json
from typing import Any


class Observer:
    """One asyncpg connection to the bench's database, reopened after PostgreSQL restarts."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        import asyncpg

        for attempt in range(2):
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.dsn, timeout=5)
                return list(await self._conn.fetch(query, *args, timeout=10))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                await self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)


def json_column(value: Any) -> Any:
    """asyncpg returns `json` columns as text."""
    return json.loads(value) if isinstance(value, str) else value
