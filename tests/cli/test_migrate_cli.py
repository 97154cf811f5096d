"""`unlearn-audit migrate`: a fresh SQLite database brought to the newest revision, again without change, and an
unreachable database reported with exit 1 (PostgreSQL: tests/deploy/test_migration.py runs the migration Job's
command, this one, on an empty database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.store import create_store
from service.store.migrate import head_revision


def _migrate(tmp_path: Path, database_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEARN_AUDIT_")}
    env["UNLEARN_AUDIT_DATA_DIR"] = str(tmp_path / "data")
    if database_url is not None:
        env["UNLEARN_AUDIT_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "service", "--log-level", "WARNING", "migrate"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


async def _revision(url: str) -> str | None:
    store = await create_store(url)
    try:
        return await store.schema_revision()
    finally:
        await store.close()


async def _assert_migrates(tmp_path: Path, url: str | None) -> None:
    for _ in range(2):  # the second run finds nothing to do
        done = _migrate(tmp_path, url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"database schema at revision {head_revision()} (newest: {head_revision()})"
    url = url or f"sqlite+aiosqlite:///{tmp_path / 'data' / 'unlearn_audit.sqlite3'}"
    assert await _revision(url) == head_revision() is not None


async def test_migrate_brings_a_fresh_sqlite_database_to_the_newest_revision(tmp_path: Path) -> None:
    await _assert_migrates(tmp_path, None)


def test_migrate_reports_an_unreachable_database_with_exit_1(tmp_path: Path) -> None:
    done = _migrate(tmp_path, "postgresql+asyncpg://postgres@127.0.0.1:9/none")
    assert done.returncode == 1
    assert "unlearn-audit migrate: the database could not be reached" in done.stderr
