"""Engine set-up per database: SQLite in WAL with a busy timeout and our own BEGIN; PostgreSQL as is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
IMMEDIATE = "sqlite_begin_immediate"
"""Execution option: on SQLite, start the transaction with BEGIN IMMEDIATE (take the write lock first)."""


def make_engine(url: str) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite or postgresql+asyncpg)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        _create_private(Path(parsed.database))
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing its own deferred BEGIN; we emit BEGIN in `_on_begin`.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only (it holds requests, scorecards and per-item records
    of hazardous content); SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)


def store_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (down, restarting, connection lost) rather than
    that a query is wrong: callers then answer 503 or leave a job for its lease to lapse, never fail it."""
    if isinstance(error, ConnectionError | exc.OperationalError | exc.InterfaceError | exc.DisconnectionError):
        return True
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)
