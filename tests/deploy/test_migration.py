"""The one-shot migration (the Kubernetes Job, compose's `migrate`): its command, run as the image runs it,
brings a fresh PostgreSQL database to the newest schema revision, and running it again changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from service.store.migrate import head_revision as head_of_package
from tests.deploy.kustomize import ROOT, find, variant
from tests.support.db import PG_SERVER, _asyncpg_dsn, _unavailable


def job_command() -> list[str]:
    job = find(variant("cpu"), "Job", "unlearn-audit-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command: list[str] = container["command"]
    return command


def test_compose_migrates_with_the_jobs_command() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    assert compose["services"]["migrate"]["entrypoint"] == job_command()


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A PostgreSQL database with no tables (dropped afterwards)."""
    import asyncpg

    name = f"unlearn_audit_migrate_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(PG_SERVER), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"{type(exc).__name__}: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_SERVER.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_job_migrates_an_empty_database_to_head(empty_database: str, tmp_path: Path) -> None:
    import asyncpg

    program, *args = job_command()
    assert program == "unlearn-audit"  # the image's console script; here, the same entry point by module
    env = {**os.environ, "UNLEARN_AUDIT_DATABASE_URL": empty_database, "UNLEARN_AUDIT_DATA_DIR": str(tmp_path)}
    for attempt in (1, 2):  # the second run finds head applied
        command = [sys.executable, "-m", "service", *args]
        run = await asyncio.to_thread(
            subprocess.run, command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, (attempt, run.stderr[-2000:])
        assert f"at revision {head_of_package()}" in run.stdout
    head = head_of_package()
    conn = await asyncpg.connect(_asyncpg_dsn(empty_database), timeout=5)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == head
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0
    finally:
        await conn.close()
