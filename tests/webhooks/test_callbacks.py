"""Result callbacks against a real receiver that fails twice, then succeeds: one verified delivery."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import EvaluationRequest, SandboxTarget
from schemas.requests import Callback
from service.callbacks import deliver_job_result
from service.settings import Settings
from service.signing import SigningKeys, verify_envelope
from service.store import SqlJobStore
from tests.reports.scorecards import build_scorecard
from tests.reports.server import asgi_client, serve
from tests.webhooks.receiver import CallbackReceiver

SECRET = "callback-secret-9"


async def _finished_job(store: SqlJobStore, url: str) -> str:
    request = EvaluationRequest(target=SandboxTarget(name="shallow"), suite="sandbox", callback=Callback(url=url))
    job, _ = await store.create_job(request)
    assert await store.claim_next("cb-test", 30.0) is not None
    sc = build_scorecard(evaluation_id=job.id)
    await store.finish_job(
        job.id, "cb-test", status="succeeded", scorecard=sc.model_dump(mode="json"), verdict=sc.verdict
    )
    return job.id


def _settings(tmp_path: Path, **kw: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path, "callback_secret": SECRET, "callback_backoff_s": 0.05}
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


async def test_retries_until_the_receiver_accepts_one_verified_delivery(
    sqlite_store: SqlJobStore, tmp_path: Path
) -> None:
    receiver = CallbackReceiver(secret=SECRET, fail_first=2)
    settings = _settings(tmp_path)
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    with serve(receiver) as base:
        job_id = await _finished_job(sqlite_store, f"{base}/hooks/audit")
        result = await deliver_job_result(sqlite_store, settings, job_id, sleep=record_sleep)
    assert result is not None and result.delivered and result.attempts == 3
    assert delays == [0.05, 0.1]  # exponential backoff
    assert len(receiver.requests) == 3 and len(receiver.verified) == 1 and not receiver.rejected
    # Every attempt of one delivery carries the same delivery id (receivers dedupe on it).
    assert {h["x-unlearn-audit-delivery-id"] for h, _ in receiver.requests} == {result.delivery_id}
    delivered = receiver.verified[0]
    assert delivered["evaluation_id"] == job_id and delivered["status"] == "succeeded"
    assert "records" not in delivered and "items" not in delivered
    scorecard = verify_envelope(
        delivered["scorecard_envelope"], await SigningKeys.from_settings(settings).public_keys(sqlite_store)
    )
    assert scorecard == build_scorecard(evaluation_id=job_id)
    attempts = await sqlite_store.delivery_attempts(job_id)
    assert [(a.attempt, a.ok, a.status_code) for a in attempts] == [
        (1, False, 500),
        (2, False, 500),
        (3, True, 200),
    ]


async def test_a_receiver_that_never_accepts_gets_max_attempts(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    receiver = CallbackReceiver(secret=SECRET, fail_first=100)
    with serve(receiver) as base:
        job_id = await _finished_job(sqlite_store, f"{base}/x")
        result = await deliver_job_result(
            sqlite_store, _settings(tmp_path, callback_max_attempts=3), job_id, sleep=lambda s: _no_wait()
        )
    assert result is not None and not result.delivered and result.attempts == 3 and result.error == "HTTP 500"
    assert len(receiver.requests) == 3


async def _no_wait() -> None:
    return None


@pytest.mark.parametrize(
    ("url", "kw", "reason"),
    [
        ("http://evil.example.com/hook", {}, "url_not_allowed"),
        ("http://169.254.169.254/latest", {"allowed_hosts": "169.254.169.254"}, "url_not_allowed"),
        ("http://127.0.0.1:9/hook", {"callback_secret": None}, "UNLEARN_AUDIT_CALLBACK_SECRET"),
    ],
)
async def test_refused_deliveries_are_recorded_and_never_sent(
    sqlite_store: SqlJobStore, tmp_path: Path, url: str, kw: dict[str, object], reason: str
) -> None:
    job_id = await _finished_job(sqlite_store, url)
    result = await deliver_job_result(sqlite_store, _settings(tmp_path, **kw), job_id)
    assert result is not None and not result.delivered and result.attempts == 0
    attempts = await sqlite_store.delivery_attempts(job_id)
    assert len(attempts) == 1 and attempts[0].error is not None and reason in attempts[0].error


async def test_deliveries_route_and_redeliver(store: SqlJobStore, tmp_path: Path) -> None:
    from litestar import Litestar
    from litestar.datastructures import State

    from service.auth import KeyRing
    from service.callbacks.routes import callback_router
    from service.errors import EXCEPTION_HANDLERS
    from service.routes.deps import STATE_DEPENDENCIES

    receiver = CallbackReceiver(secret=SECRET, fail_first=0)
    settings = _settings(tmp_path)
    app = Litestar(
        route_handlers=[callback_router],
        dependencies=STATE_DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings, "keyring": KeyRing.from_settings(settings), "store": store}),
    )
    with serve(receiver) as base:
        job_id = await _finished_job(store, f"{base}/hook")
        first = await deliver_job_result(store, settings, job_id)
        assert first is not None and first.delivered
        async with asgi_client(app) as client:
            resp = await client.post(f"/v1/evaluations/{job_id}/deliveries/redeliver")
            assert resp.status_code == 202
            listed = (await client.get(f"/v1/evaluations/{job_id}/deliveries")).json()["deliveries"]
            assert (await client.get("/v1/evaluations/nope/deliveries")).status_code == 404
    assert len(listed) == 2 and all(d["delivered"] for d in listed)
    assert listed[0]["delivery_id"] == first.delivery_id and listed[1]["delivery_id"] != first.delivery_id
    assert len(receiver.verified) == 2
