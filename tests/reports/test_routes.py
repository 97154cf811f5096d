"""The report routes on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from schemas import EvaluationRequest, SandboxTarget
from service.settings import Settings
from service.store import SqlJobStore
from tests.reports.server import asgi_client, report_app, seed_finished_job


async def test_report_page_for_a_stored_scorecard(store: SqlJobStore) -> None:
    sc = await seed_finished_job(store)
    async with asgi_client(report_app(store)) as client:
        resp = await client.get(f"/v1/evaluations/{sc.evaluation_id}/report")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        assert sc.evaluation_id in resp.text and resp.text.count("<svg") >= 3

        listing = await client.get("/v1/reports")
        assert listing.status_code == 200
        assert f'href="/v1/evaluations/{sc.evaluation_id}/report"' in listing.text


async def test_report_errors_name_the_problem(store: SqlJobStore) -> None:
    queued, _ = await store.create_job(EvaluationRequest(target=SandboxTarget(name="ga"), suite="sandbox"))
    async with asgi_client(report_app(store)) as client:
        missing = await client.get("/v1/evaluations/nope/report")
        assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
        pending = await client.get(f"/v1/evaluations/{queued.id}/report")
        assert pending.status_code == 409 and "queued" in pending.json()["error"]["message"]
        bad = await client.get("/v1/reports", params={"limit": 0})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"


async def test_report_routes_need_the_read_scope(sqlite_store: SqlJobStore) -> None:
    sc = await seed_finished_job(sqlite_store)
    settings = Settings(api_keys="reader-key:read,items-key:items")
    async with asgi_client(report_app(sqlite_store, settings=settings)) as client:
        path = f"/v1/evaluations/{sc.evaluation_id}/report"
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers={"Authorization": "Bearer items-key"})).status_code == 403
        ok = await client.get(path, headers={"Authorization": "Bearer reader-key"})
        assert ok.status_code == 200
