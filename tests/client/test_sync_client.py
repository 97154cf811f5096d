"""`Client` against a real API server (uvicorn, its own SQLite store); the worker is played through the store."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from schemas.errors import DeadlineExceededError, UnavailableError
from service.client import Client
from service.store import SqlJobStore
from tests.api.helpers import KEYS, finish_next, records, valid_request
from tests.cli.server import free_port


class NoEventStream(httpx.BaseTransport):
    """A real HTTP transport, except that the events route answers 404 (a server without it)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path.endswith("/events"):
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such route"}})
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


async def _finish_soon(store: SqlJobStore) -> None:
    await asyncio.sleep(0.5)
    await finish_next(store, verdict="warn", items=records(3))


@pytest.mark.parametrize("stream", [True, False], ids=["event-stream", "polling"])
async def test_wait_on_a_real_server_by_stream_or_by_polling(
    api_server: str, worker_store: SqlJobStore, stream: bool
) -> None:
    transport = None if stream else NoEventStream()
    with Client(api_server, api_key=KEYS["submitter"], transport=transport) as client:
        job = client.submit(valid_request(), idempotency_key=f"sync-{stream}")
        finished, _ = await asyncio.gather(
            asyncio.to_thread(client.wait, job.id, timeout=60), _finish_soon(worker_store)
        )
        assert finished.status == "succeeded" and finished.verdict == "warn"
        assert client.scorecard(job.id).verdict == "warn"
        assert "<testsuites" in client.scorecard_text(job.id, "junit")
    if isinstance(transport, NoEventStream):
        polls = transport.paths.count(f"/v1/evaluations/{job.id}")
        assert f"/v1/evaluations/{job.id}/events" in transport.paths and polls >= 2


def test_timeout_and_unreachable_server_are_errors_of_the_tree(api_server: str) -> None:
    with Client(api_server, api_key=KEYS["submitter"]) as client:
        job = client.submit(valid_request())
        with pytest.raises(DeadlineExceededError, match=r"after 0\.5 s"):
            client.wait(job.id, timeout=0.5)
    with Client(f"http://127.0.0.1:{free_port()}") as down, pytest.raises(UnavailableError, match="cannot reach"):
        down.job(job.id)
