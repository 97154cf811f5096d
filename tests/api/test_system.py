"""Health, readiness against the real database, Prometheus metrics from the store, the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, records, serve_in_loop, valid_request

Client = httpx.AsyncClient


async def test_healthz_and_readyz(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    # A real store on a PostgreSQL port nothing listens on: ping fails as it would with the DB down.
    store = SqlJobStore("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    try:
        async with serve_in_loop(create_app(Settings(data_dir=tmp_path), store)) as c:
            resp = await c.get("/readyz")
            assert resp.status_code == 503
            assert resp.json()["error"]["code"] == "unavailable"
            assert (await c.get("/healthz")).status_code == 200
            metrics = await c.get("/metrics")  # still served, saying the store is down
            assert metrics.status_code == 200
            assert _sample(metrics.text, "unlearn_audit_store_up", "") == 0
            assert "unlearn_audit_jobs{" not in metrics.text
    finally:
        await store.close()


def _sample(text: str, name: str, labels: str) -> float:
    label_part = rf"\{{{re.escape(labels)}\}}" if labels else ""
    match = re.search(rf"^{re.escape(name)}{label_part} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{{{labels}}} not in metrics"
    return float(match.group(1))


async def test_metrics_expose_http_and_store_figures(client: Client, store: SqlJobStore) -> None:
    for _ in range(3):
        resp = await client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
        assert resp.status_code == 202
    await finish_next(store, items=records(4))
    assert (await client.get("/v1/evaluations/job-id-not-a-label", headers=bearer("reader"))).status_code == 404
    text = (await client.get("/metrics")).text

    assert _sample(text, "unlearn_audit_store_up", "") == 1
    assert _sample(text, "unlearn_audit_jobs", 'status="queued"') == 2
    assert _sample(text, "unlearn_audit_jobs", 'status="succeeded"') == 1
    assert _sample(text, "unlearn_audit_jobs", 'status="failed"') == 0
    assert _sample(text, "unlearn_audit_check_duration_seconds_count", 'check="forget"') == 1
    assert _sample(text, "unlearn_audit_check_duration_seconds_sum", 'check="forget"') == 2.5
    assert _sample(text, "unlearn_audit_check_duration_seconds_bucket", 'check="forget",le="1.0"') == 0
    assert _sample(text, "unlearn_audit_check_duration_seconds_bucket", 'check="forget",le="5.0"') == 1
    # Items scored count the records the finished check stored; one finished job has a duration.
    assert _sample(text, "unlearn_audit_items_scored_total", 'check="forget"') == 4
    assert _sample(text, "unlearn_audit_job_duration_seconds_count", 'status="succeeded"') == 1
    assert 'unlearn_audit_job_duration_seconds_count{status="queued"}' not in text
    # HTTP metrics from litestar's Prometheus middleware, grouped by route template.
    assert re.search(
        r'^unlearn_audit_http_requests_total\{.*method="POST",path="/v1/evaluations",status_code="202"\} ',
        text,
        re.MULTILINE,
    )
    # Job ids never become label values (one series per route, not per job).
    assert "job-id-not-a-label" not in text
    assert 'path="/v1/evaluations/{job_id}",status_code="404"' in text


async def test_openapi_documents_the_contract(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for name in (
        "EvaluationRequest",
        "Job",
        "JobPage",
        "Scorecard",
        "ItemPage",
        "PresetDescription",
        "CheckResult",
    ):
        assert name in schemas, name
    paths = doc["paths"]
    for path in (
        "/v1/evaluations",
        "/v1/evaluations/{job_id}",
        "/v1/evaluations/{job_id}/scorecard",
        "/v1/evaluations/{job_id}/items",
        "/v1/evaluations/{job_id}/cancel",
        "/v1/policies",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    post = paths["/v1/evaluations"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/EvaluationRequest")
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    assert post["security"] == [{"bearer": []}]
    assert set(post["responses"]) >= {"200", "202", "400", "401", "403", "409", "413", "422"}
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    scorecard_ok = paths["/v1/evaluations/{job_id}/scorecard"]["get"]["responses"]["200"]
    assert scorecard_ok["content"]["application/json"]["schema"]["$ref"].endswith("/Scorecard")
    assert (await client.get("/schema")).status_code == 200
