"""`AsyncClient` against the real app and store (SQLite and PostgreSQL), through an injected ASGI transport."""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from schemas.errors import (
    IdempotencyConflictError,
    InvalidEnvelopeError,
    InvalidRequestError,
    NotFinishedError,
    NotFoundError,
    UnauthorizedError,
)
from schemas.jobs import Job
from schemas.scorecard import Scorecard
from service.app import create_app
from service.client import AsyncClient
from service.settings import Settings
from service.signing import SigningKeys
from service.store import SqlJobStore
from tests.api.helpers import KEYS, finish_next, records, valid_request


@pytest.fixture
def app(settings: Settings, store: SqlJobStore) -> Any:
    return create_app(settings, store)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The app's ASGI transport, keeping `(path, status)` of every answer."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.answers: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.answers.append((request.url.path, response.status_code))
        return response


@pytest.fixture
def transport(app: Any) -> RecordingTransport:
    return RecordingTransport(app)


@pytest.fixture
async def client(transport: RecordingTransport) -> AsyncIterator[AsyncClient]:
    async with AsyncClient("http://testserver", api_key=KEYS["admin"], transport=transport) as c:
        yield c


async def test_submit_is_idempotent_and_errors_are_the_error_tree(client: AsyncClient) -> None:
    first = await client.submit(valid_request(), idempotency_key="ci-run-1")
    again = await client.submit(valid_request(), idempotency_key="ci-run-1")
    assert isinstance(first, Job) and first.status == "queued" and again.id == first.id
    with pytest.raises(IdempotencyConflictError) as conflict:
        await client.submit(valid_request(seed=7), idempotency_key="ci-run-1")
    assert conflict.value.field == "Idempotency-Key" and "409" in str(conflict.value)
    with pytest.raises(InvalidRequestError) as invalid:
        await client.submit(valid_request(target={"kind": "gguf"}))
    assert invalid.value.field is not None and invalid.value.field.startswith("target")
    with pytest.raises(NotFoundError):
        await client.job("no-such-evaluation")
    with pytest.raises(NotFinishedError):
        await client.scorecard(first.id)
    page = await client.jobs(status="queued", limit=10)
    assert [job.id for job in page.items] == [first.id]


async def test_unknown_key_is_unauthorized(app: Any) -> None:
    async with AsyncClient("http://testserver", api_key="sk-nope", transport=httpx.ASGITransport(app=app)) as c:
        with pytest.raises(UnauthorizedError):
            await c.jobs()


async def test_wait_follows_the_event_stream_until_the_job_ends(
    client: AsyncClient, store: SqlJobStore, transport: RecordingTransport
) -> None:
    job = await client.submit(valid_request())
    seen: list[str] = []
    waiting = asyncio.create_task(client.wait(job.id, timeout=60, on_update=lambda j: seen.append(j.status)))
    await asyncio.sleep(0.2)
    await finish_next(store, verdict="fail", items=records(5))
    finished = await waiting
    assert finished.status == "succeeded" and finished.verdict == "fail"
    assert seen[0] == "queued" and seen[-1] == "succeeded"
    assert transport.answers.count((f"/v1/evaluations/{job.id}/events", 200)) == 1  # one stream, no polling
    kinds = [event.kind async for event in client.events(job.id)]
    assert kinds[0] == "job_created" and kinds[-1] == "job_finished"


async def test_scorecard_in_every_format_and_items_page_by_page(client: AsyncClient, store: SqlJobStore) -> None:
    job = await client.submit(valid_request())
    await finish_next(store, verdict="fail", items=records(5))
    card = await client.scorecard(job.id)
    assert isinstance(card, Scorecard) and card.evaluation_id == job.id and card.verdict == "fail"
    assert (await client.scorecard_json(job.id))["evaluation_id"] == job.id
    assert json.loads(await client.scorecard_text(job.id, "json"))["verdict"] == "fail"
    assert job.id in await client.scorecard_text(job.id, "markdown")
    junit = ET.fromstring(await client.scorecard_text(job.id, "junit"))
    assert junit.findall(".//failure")
    assert job.id in await client.scorecard_text(job.id, "html")
    page = await client.items(job.id, limit=2)
    assert len(page.items) == 2 and page.next_cursor
    indices = [item.index async for item in client.iter_items(job.id)]
    assert indices == [0, 1, 2, 3, 4]


async def test_attestation_verifies_offline_after_its_key_is_retired(
    app: Any, client: AsyncClient, store: SqlJobStore
) -> None:
    job = await client.submit(valid_request())
    await finish_next(store)
    envelope = await client.attestation(job.id)
    assert (await client.verify(envelope)).evaluation_id == job.id
    old_keyid = envelope["signatures"][0]["keyid"]
    keys: SigningKeys = app.state.signing_keys
    new_keyid = await keys.rotate(store)
    listing = await client.signing_keys()
    assert {k["keyid"]: k["status"] for k in listing["keys"]} == {old_keyid: "retired", new_keyid: "active"}
    assert (await client.verify(envelope, keys=listing)).evaluation_id == job.id  # signed with the retired key
    assert (await client.attestation(job.id))["signatures"][0]["keyid"] == new_keyid
    card = json.loads(base64.b64decode(envelope["payload"]))
    card["verdict"] = "fail"
    tampered = {**envelope, "payload": base64.b64encode(json.dumps(card).encode()).decode()}
    with pytest.raises(InvalidEnvelopeError):
        await client.verify(tampered, keys=listing)
