"""Upgrade the store's schema to the newest Alembic revision, in code (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from service.store.engine import IMMEDIATE

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """Alembic's config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Run pending migrations. Safe when several processes start at once (serialised by a lock)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{IMMEDIATE: True})
        if engine.dialect.name == "postgresql":
            async with conn.begin():
                # A transaction-level advisory lock: concurrent starters wait, then find head applied.
                await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74201)")
                await conn.run_sync(_upgrade)
        else:
            async with conn.begin():
                await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The Alembic revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def head_revision() -> str | None:
    """The newest revision this package ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
