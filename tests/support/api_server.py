"""Shared test fixtures: a real API server and a worker played through its store.

- `api_server`: the API (`create_app` under uvicorn, in a thread, on a free port) serving the requesting
  module's `settings` fixture until the test ends; the value is its base URL.
- `worker_store`: a second connection to that server's database, for playing the worker through the
  store's own API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from service.settings import Settings
from service.store import SqlJobStore, create_store
from tests.cli.server import running_api


@pytest.fixture
def api_server(settings: Settings) -> Iterator[str]:
    with running_api(settings) as url:
        yield url


@pytest.fixture
async def worker_store(settings: Settings, api_server: str) -> AsyncIterator[SqlJobStore]:
    store = await create_store(settings.resolved_database_url())
    try:
        yield store
    finally:
        await store.close()
