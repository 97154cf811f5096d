"""Audit profiles as rows (table `webhook_profiles`, in match order) and the record of profile files imported
(table `webhook_profile_imports`), so every API replica reads and edits the same profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.claims import lock_key
from service.store.convert import utcnow
from service.store.signing_keys import Transactions
from service.store.tables import Base

WEBHOOK_PROFILES = Base.metadata.tables["webhook_profiles"]
PROFILE_IMPORTS = Base.metadata.tables["webhook_profile_imports"]


async def load_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The stored profiles (as saved: JSON objects), in match order."""
    t = WEBHOOK_PROFILES
    rows = (await conn.execute(select(t.c.profile).order_by(t.c.position))).all()
    return [dict(r.profile) for r in rows]


async def replace_rows(conn: AsyncConnection, profiles: Sequence[dict[str, Any]]) -> None:
    """Replace every profile with `profiles` (each has a unique `name`), keeping their order."""
    await conn.execute(delete(WEBHOOK_PROFILES))
    if profiles:
        now = utcnow()
        rows = [{"name": p["name"], "position": i, "profile": p, "updated_at": now} for i, p in enumerate(profiles)]
        await conn.execute(insert(WEBHOOK_PROFILES), rows)


async def imported(conn: AsyncConnection, sha256: str) -> bool:
    t = PROFILE_IMPORTS
    return (await conn.execute(select(t.c.sha256).where(t.c.sha256 == sha256))).first() is not None


async def record_import(conn: AsyncConnection, sha256: str, path: str, count: int) -> None:
    await conn.execute(
        insert(PROFILE_IMPORTS).values(sha256=sha256, path=path[:4096], profiles=count, imported_at=utcnow())
    )


class WebhookProfileStore:
    """The shared audit profiles, in the store's transactions (`SqlJobStore.webhook_profiles`)."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    async def load(self) -> list[dict[str, Any]]:
        """The profiles as saved, in match order."""
        async with self._tx() as conn:
            return await load_rows(conn)

    async def replace(self, profiles: Sequence[dict[str, Any]]) -> None:
        """Replace every profile in one transaction (readers see the old set or the new one, never a mix)."""
        async with self._tx(write=True) as conn:
            await _lock(conn)
            await replace_rows(conn, profiles)

    async def import_once(self, sha256: str, path: str, profiles: Sequence[dict[str, Any]]) -> bool:
        """Replace the profiles with a file's, unless a file with this content hash was imported before;
        whether it was imported now."""
        async with self._tx(write=True) as conn:
            await _lock(conn)
            if await imported(conn, sha256):
                return False
            await replace_rows(conn, profiles)
            await record_import(conn, sha256, path, len(profiles))
        return True


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":  # SQLite: the write transaction holds the database lock
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("webhook_profiles")})
