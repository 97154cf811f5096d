"""`Client.dry_run` and `AsyncClient.dry_run`: the plan as a `DryRun`, nothing queued, and a bad request
raising what `submit` raises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from schemas.dry_run import DryRun
from schemas.errors import AuditError
from schemas.requests import EvaluationRequest
from service.app import create_app
from service.client import AsyncClient, Client
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import KEYS, mc_items, valid_request
from tests.cli.server import running_api

OFF_THE_ALLOWLIST = valid_request(target={"kind": "tgi", "url": "http://example.com:8080"})


@pytest.fixture
async def async_client(settings: Settings, store: SqlJobStore) -> AsyncIterator[AsyncClient]:
    app: Any = create_app(settings, store)
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient("http://testserver", api_key=KEYS["submitter"], transport=transport) as c:
        yield c


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with running_api(settings) as url:
        yield url


def _raised(call: Any) -> AuditError:
    with pytest.raises(AuditError) as caught:
        call()
    return caught.value


async def test_async_dry_run_answers_the_plan_and_queues_nothing(async_client: AsyncClient) -> None:
    request = EvaluationRequest.model_validate(valid_request(sample={"n": 2}))
    plan = await async_client.dry_run(request)
    assert isinstance(plan, DryRun) and plan.dry_run is True
    assert [(d.field, d.n_items, d.n_available) for d in plan.datasets] == [("checks.forget.dataset", 2, 3)]
    assert plan.checks[0].runs[0] == "standard" and plan.estimate.label == "estimate"
    assert (await async_client.jobs()).items == []

    with pytest.raises(AuditError) as from_submit:
        await async_client.submit(OFF_THE_ALLOWLIST)
    with pytest.raises(AuditError) as from_dry_run:
        await async_client.dry_run(OFF_THE_ALLOWLIST)
    assert type(from_dry_run.value) is type(from_submit.value)
    assert (from_dry_run.value.code, from_dry_run.value.field) == ("url_not_allowed", "target.url")


def test_sync_dry_run_against_a_real_server(server: str) -> None:
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"items": mc_items(7)}
    with Client(server, api_key=KEYS["submitter"]) as client:
        plan = client.dry_run(body)
        assert plan.datasets[0].n_items == 7 and plan.models[0].resolution == "at_run_time"
        assert plan.request.checks is not None and plan.request.checks.forget is not None
        assert plan.request.checks.forget.folds == 5  # defaults filled
        assert client.jobs().items == []
        from_submit = _raised(lambda: client.submit(OFF_THE_ALLOWLIST))
        from_dry_run = _raised(lambda: client.dry_run(OFF_THE_ALLOWLIST))
        assert (type(from_dry_run), from_dry_run.field) == (type(from_submit), from_submit.field)
