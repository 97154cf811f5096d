"""Result callbacks through the checked transport: a callback server that redirects to a host the operator does
not allow gets one recorded, failed attempt (url_not_allowed, not retried), and the redirect target is never
reached. Real servers on 127.0.0.1; the allowlist pins the callback server's port."""

from __future__ import annotations

from pathlib import Path

from schemas import EvaluationRequest, SandboxTarget
from schemas.requests import Callback
from service.callbacks import deliver_job_result
from service.settings import Settings
from service.store import SqlJobStore
from tests.reports.scorecards import build_scorecard
from tests.security.outbound_servers import Recorder, Redirecting, port_of
from tests.support.servers import serve


async def _finished_job(store: SqlJobStore, url: str) -> str:
    request = EvaluationRequest(target=SandboxTarget(name="shallow"), suite="sandbox", callback=Callback(url=url))
    job, _ = await store.create_job(request)
    assert await store.claim_next("cb-test", 30.0) is not None
    card = build_scorecard(evaluation_id=job.id)
    await store.finish_job(
        job.id, "cb-test", status="succeeded", scorecard=card.model_dump(mode="json"), verdict=card.verdict
    )
    return job.id


async def test_a_callback_redirected_to_a_host_not_allowed_fails_once_and_never_reaches_it(
    sqlite_store: SqlJobStore, tmp_path: Path
) -> None:
    forbidden = Recorder()
    with serve(forbidden) as target:
        front = Redirecting(target.url + "/latest/meta-data/", status=307)
        with serve(front) as running:
            settings = Settings(
                data_dir=tmp_path,
                callback_secret="callback-secret-9",  # type: ignore[arg-type]
                callback_backoff_s=0.01,
                allowed_hosts=f"127.0.0.1:{port_of(running.url)}",
            )
            job_id = await _finished_job(sqlite_store, f"{running.url}/hooks/audit")
            result = await deliver_job_result(sqlite_store, settings, job_id)
    assert result is not None and not result.delivered and result.attempts == 1
    assert result.error is not None and "redirected to" in result.error
    attempts = await sqlite_store.delivery_attempts(job_id)
    assert [(a.attempt, a.ok, a.status_code) for a in attempts] == [(1, False, None)]
    assert attempts[0].error is not None and attempts[0].error.startswith("url_not_allowed: ")
    assert front.redirected == ["/hooks/audit"] and forbidden.requests == []
