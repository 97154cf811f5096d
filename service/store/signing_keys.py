"""The scorecard signing keys every machine shares (table `signing_keys`): one active key signs, retired keys
keep their public half so scorecards signed before a rotation still verify."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.claims import lock_key
from service.store.convert import utcnow
from service.store.tables import Base

SIGNING_KEYS = Base.metadata.tables["signing_keys"]
Transactions = Callable[..., AbstractAsyncContextManager[AsyncConnection]]
"""The store's `_tx(write=...)`: a transaction on its engine."""


@dataclass(frozen=True)
class StoredSigningKey:
    """One key: `private_key_pem` only while it is active and the database is the key source."""

    keyid: str
    public_key_pem: str
    private_key_pem: str | None
    created_at: datetime
    retired_at: datetime | None = None


def _key(row: Any) -> StoredSigningKey:
    m = row._mapping
    return StoredSigningKey(**{k: m[k] for k in StoredSigningKey.__dataclass_fields__})


async def all_keys(conn: AsyncConnection) -> list[StoredSigningKey]:
    """Every key, oldest first."""
    t = SIGNING_KEYS
    return [_key(r) for r in (await conn.execute(select(t).order_by(t.c.created_at, t.c.keyid))).all()]


async def lock(conn: AsyncConnection) -> None:
    """Serialise changes to the keys across processes for this transaction (SQLite: the write lock is held)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("signing_keys")})


async def insert_absent(conn: AsyncConnection, keys: Sequence[StoredSigningKey]) -> int:
    """Insert the keys whose id is not stored yet; how many were new."""
    known = {k.keyid for k in await all_keys(conn)}
    new = [k for k in keys if k.keyid not in known]
    if new:
        await conn.execute(insert(SIGNING_KEYS), [k.__dict__ for k in new])
    return len(new)


async def activate(conn: AsyncConnection, key: StoredSigningKey, now: datetime) -> None:
    """Store `key` as the active key: every other active key is retired and loses its private half."""
    t = SIGNING_KEYS
    await conn.execute(
        update(t).where(t.c.keyid != key.keyid, t.c.retired_at.is_(None)).values(retired_at=now, private_key_pem=None)
    )
    await insert_absent(conn, [key])


class SigningKeyStore:
    """The shared signing keys, in the store's transactions (`SqlJobStore.signing_keys`)."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    async def list(self) -> list[StoredSigningKey]:
        """Every key, oldest first."""
        async with self._tx() as conn:
            return await all_keys(conn)

    async def import_keys(self, keys: Sequence[StoredSigningKey]) -> int:
        """Store the keys not stored yet (as given: active or retired); how many were new."""
        async with self._tx(write=True) as conn:
            await lock(conn)
            return await insert_absent(conn, keys)

    async def activate(self, key: StoredSigningKey, *, unless_one_is_active: bool = False) -> StoredSigningKey:
        """Make `key` the active key and retire the others, unless its id is stored already or (with
        `unless_one_is_active`) an active key exists: concurrent first uses agree on one key. Returns the
        newest active key afterwards."""
        async with self._tx(write=True) as conn:
            await lock(conn)
            keys = await all_keys(conn)
            active = [k for k in keys if k.retired_at is None]
            known = any(k.keyid == key.keyid for k in keys)
            if not known and not (unless_one_is_active and active):
                await activate(conn, key, utcnow())
                keys = await all_keys(conn)
                active = [k for k in keys if k.retired_at is None]
        return active[-1]
