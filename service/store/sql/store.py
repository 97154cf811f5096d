"""`SqlJobStore`: the JobStore on SQLAlchemy async (sqlite+aiosqlite or postgresql+asyncpg)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import text

from service.store import claims
from service.store.migrate import current_revision, upgrade_to_head
from service.store.signing_keys import SigningKeyStore
from service.store.sql.items import ItemsMixin
from service.store.sql.jobs import JobsMixin
from service.store.sql.leases import LeasesMixin
from service.store.sql.metrics import MetricsMixin
from service.store.sql.outbox import OutboxMixin
from service.store.sql.pins import DatasetPinsMixin
from service.store.sql.registry_deliveries import RegistryDeliveriesMixin
from service.store.webhook_profiles import WebhookProfileStore


class SqlJobStore(
    JobsMixin, LeasesMixin, OutboxMixin, RegistryDeliveriesMixin, DatasetPinsMixin, ItemsMixin, MetricsMixin
):
    """The job store on one database URL. Call `migrate()` once at start-up (or use `create_store`).

    Its methods live in one module a concern (jobs, leases, outbox, registry deliveries, dataset pins, items,
    metrics); this class adds the schema, the state every machine shares and the connection's own locks."""

    async def migrate(self) -> None:
        """Upgrade the schema to the newest migration."""
        await upgrade_to_head(self.engine)

    async def schema_revision(self) -> str | None:
        """The migration the schema is at (None before the first)."""
        return await current_revision(self.engine)

    @property
    def signing_keys(self) -> SigningKeyStore:
        """The scorecard signing keys (active and retired)."""
        return SigningKeyStore(self._tx)

    @property
    def webhook_profiles(self) -> WebhookProfileStore:
        """The audit profiles registry webhooks match."""
        return WebhookProfileStore(self._tx)

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
