"""The event stream through a real `unlearn-audit serve` (uvicorn): events arrive while the job is open."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from schemas.requests import EvaluationRequest
from service.demo import DemoServer
from service.store import create_store
from tests.api.helpers import valid_request

pytestmark = pytest.mark.slow


async def test_events_stream_live_over_http_and_end_when_the_job_is_cancelled(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    data = tmp_path / "data"
    server = DemoServer(data, sandbox, tmp_path / "server.log", workers=0)  # no worker: the job stays queued
    with server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
            with httpx.Client(timeout=5.0) as probe:
                await asyncio.to_thread(server.wait_ready, probe)
            store = await create_store(f"sqlite+aiosqlite:///{(data / 'unlearn_audit.sqlite3').resolve()}")
            try:
                job, _ = await store.create_job(EvaluationRequest.model_validate(valid_request()))
            finally:
                await store.close()
            async with client.stream("GET", f"/v1/evaluations/{job.id}/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                first = [await asyncio.wait_for(anext(lines), timeout=10) for _ in range(3)]
                assert first[0].startswith("id: ") and first[1] == "event: job_created"  # before the job ends
                cancel = await client.post(f"/v1/evaluations/{job.id}/cancel")
                assert cancel.status_code == 200, cancel.text
                rest = [line async for line in lines]  # the server ends the stream by itself
            events = [line.removeprefix("event: ") for line in rest if line.startswith("event: ")]
            assert events[-1] == "job_finished"
            last = json.loads([line for line in rest if line.startswith("data: ")][-1].removeprefix("data: "))
            assert last["data"]["status"] == "cancelled"
    assert server.process.returncode == 0
