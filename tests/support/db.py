"""Shared test fixtures: db.

- `sqlite_store`: a migrated SqlJobStore on a fresh SQLite file (one per test).
- `pg_store`: a migrated SqlJobStore on PostgreSQL (127.0.0.1:5432, trust auth). One fresh database per
  test session, dropped at the end; tables are emptied after each test. Server unreachable: the test
  fails when `CI` is set, else it is skipped.
- `store`: parametrised over both (`sqlite`, `postgres`); tests using it run once per database.
- `sqlite_url`: the URL of a fresh SQLite file, for tests that start their own processes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.store import SqlJobStore, create_store

PG_SERVER = os.environ.get("UNLEARN_AUDIT_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_TABLES = (
    "job_events",
    "item_records",
    "check_results",
    "job_labels",
    "jobs",
    "signing_keys",
    "webhook_profiles",
    "webhook_profile_imports",
    "metric_counters",
    "judge_calibrations",
)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


@pytest.fixture(scope="session")
async def pg_database_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    import asyncpg

    name = f"unlearn_audit_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(PG_SERVER), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"{type(exc).__name__}: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
    store = await create_store(url)
    await store.close()
    try:
        yield url
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(PG_SERVER), timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def pg_store(pg_database_url: str) -> AsyncIterator[SqlJobStore]:
    store = SqlJobStore(pg_database_url)
    try:
        yield store
    finally:
        async with store.engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
        await store.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[SqlJobStore]:
    store = await create_store(sqlite_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> SqlJobStore:
    """The store on each database in turn (sync: it only picks one of the async fixtures above)."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    value: SqlJobStore = request.getfixturevalue(name)
    return value
