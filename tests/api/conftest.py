"""An app per test on the real store (SQLite and PostgreSQL), with temp model and data roots and API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import API_KEYS, Roots, serve_in_loop


@pytest.fixture
def roots(tmp_path: Path) -> Roots:
    r = Roots(models=tmp_path / "models", datasets=tmp_path / "datasets", outside=tmp_path / "outside")
    for p in (r.models, r.datasets, r.outside):
        p.mkdir()
    return r


@pytest.fixture
def settings(tmp_path: Path, roots: Roots) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        api_keys=API_KEYS,
        model_roots=str(roots.models),
        data_roots=str(roots.datasets),
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
async def client(settings: Settings, store: SqlJobStore) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the real store, once per database (SQLite, PostgreSQL)."""
    async with serve_in_loop(create_app(settings, store)) as c:
        yield c


@pytest.fixture
async def sqlite_client(settings: Settings, sqlite_store: SqlJobStore) -> AsyncIterator[httpx.AsyncClient]:
    """The app on SQLite only, for request-validation tests that do not depend on the database."""
    async with serve_in_loop(create_app(settings, sqlite_store)) as c:
        yield c
