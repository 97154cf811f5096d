"""Each registry's receiver with real-shaped payloads: correct, wrong, missing, stale, replayed signatures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from huggingface_hub import WebhookPayload

from service.store import SqlJobStore
from tests.reports.server import asgi_client
from tests.webhooks import payloads as p
from tests.webhooks.app import SECRETS, webhook_app, webhook_settings


@pytest.fixture
def client(store: SqlJobStore, tmp_path: Path) -> httpx.AsyncClient:
    return asgi_client(webhook_app(store, webhook_settings(tmp_path)))


async def _jobs(store: SqlJobStore) -> int:
    return len((await store.list_jobs(limit=100)).items)


async def test_huggingface_submits_once_per_repo_and_sha(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    payload = p.hf_payload(sha="c" * 40)
    WebhookPayload.model_validate(payload)  # the shape huggingface_hub itself parses
    body = json.dumps(payload).encode()
    good = {"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"}
    async with client:
        resp = await client.post("/v1/webhooks/huggingface", content=body, headers=good)
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "submitted" and resp.json()["profile"] == "hf-unlearned"
        job_id = resp.json()["job_id"]
        assert resp.headers["location"] == f"/v1/evaluations/{job_id}"
        replay = await client.post("/v1/webhooks/huggingface", content=body, headers=good)
        assert replay.status_code == 200 and replay.json() == {
            "status": "duplicate",
            "job_id": job_id,
            "reason": "already submitted",
        }
        for headers in ({"X-Webhook-Secret": "hf-secret-X"}, {}):
            bad = await client.post("/v1/webhooks/huggingface", content=body, headers=headers)
            assert bad.status_code == 401 and "X-Webhook-Secret" in bad.json()["error"]["message"]
        # A new commit on the same repo is a new audit.
        newer = json.dumps(p.hf_payload(sha="d" * 40)).encode()
        second = await client.post("/v1/webhooks/huggingface", content=newer, headers=good)
        assert second.status_code == 202 and second.json()["job_id"] != job_id
        discussion = json.dumps(p.hf_payload(scope="discussion")).encode()
        ignored = await client.post("/v1/webhooks/huggingface", content=discussion, headers=good)
        assert ignored.status_code == 202 and ignored.json()["status"] == "ignored"
        assert "does not start an audit" in ignored.json()["reason"]
    request = await store.get_request(job_id)
    assert request is not None and request.target.kind == "checkpoint"
    assert request.target.path == f"acme/llama-unlearned/{'c' * 40}"
    assert request.labels["webhook.revision"] == "c" * 40 and request.labels["team"] == "safety"
    assert request.policy == "strict"
    assert await _jobs(store) == 2


async def test_mlflow_signature_window_and_delivery_dedupe(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    secret = SECRETS["mlflow_webhook_secret"]
    body = p.mlflow_body()
    headers = p.mlflow_headers(secret, body)
    async with client:
        resp = await client.post("/v1/webhooks/mlflow", content=body, headers=headers)
        assert resp.status_code == 202, resp.text
        job_id = resp.json()["job_id"]
        # MLflow retries a delivery with the same id: one audit.
        again = await client.post("/v1/webhooks/mlflow", content=body, headers=headers)
        assert again.status_code == 200 and again.json()["job_id"] == job_id
        stale = p.mlflow_headers(secret, body, timestamp=int(time.time()) - 6 * 60)
        resp = await client.post("/v1/webhooks/mlflow", content=body, headers=stale)
        assert resp.status_code == 401 and "old" in resp.json()["error"]["message"]
        wrong = p.mlflow_headers("not-the-secret", body)
        assert (await client.post("/v1/webhooks/mlflow", content=body, headers=wrong)).status_code == 401
        tampered = body.replace(b'"3"', b'"4"')
        assert (await client.post("/v1/webhooks/mlflow", content=tampered, headers=headers)).status_code == 401
        missing = {k: v for k, v in headers.items() if k != "X-MLflow-Timestamp"}
        resp = await client.post("/v1/webhooks/mlflow", content=body, headers=missing)
        assert resp.status_code == 401 and "X-MLflow-Timestamp" in resp.json()["error"]["message"]
        # Verification comes before parsing: garbage with a bad signature is 401, not 400.
        resp = await client.post("/v1/webhooks/mlflow", content=b"{not json", headers=wrong)
        assert resp.status_code == 401
        signed_garbage = p.mlflow_headers(secret, b"{not json")
        assert (
            await client.post("/v1/webhooks/mlflow", content=b"{not json", headers=signed_garbage)
        ).status_code == 400
        # An alias set on the same version names the same model: one audit per model version.
        alias = p.mlflow_body("model_version_alias", "created", name="llama-unlearned", alias="prod", version="3")
        resp = await client.post("/v1/webhooks/mlflow", content=alias, headers=p.mlflow_headers(secret, alias))
        assert resp.status_code == 200 and resp.json() == {
            "status": "duplicate",
            "job_id": job_id,
            "reason": "already submitted",
        }
        newer = p.mlflow_body("model_version_alias", "created", name="llama-unlearned", alias="prod", version="4")
        resp = await client.post("/v1/webhooks/mlflow", content=newer, headers=p.mlflow_headers(secret, newer))
        assert resp.status_code == 202 and resp.json()["status"] == "submitted"
        registered = p.mlflow_body("registered_model", "created", name="llama-unlearned")
        resp = await client.post(
            "/v1/webhooks/mlflow", content=registered, headers=p.mlflow_headers(secret, registered)
        )
        assert resp.status_code == 202 and resp.json()["status"] == "ignored"
    request = await store.get_request(job_id)
    assert request is not None and request.target.kind == "openai" and request.target.model == "llama-unlearned-3"
    assert await _jobs(store) == 2


async def test_databricks_wandb_and_generic(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    dbx = p.databricks_body()
    wandb = p.wandb_body()
    generic = p.generic_body()
    async with client:
        ok = await client.post(
            "/v1/webhooks/databricks",
            content=dbx,
            headers=p.databricks_headers(SECRETS["databricks_webhook_secret"], dbx),
        )
        assert ok.status_code == 202 and ok.json()["status"] == "submitted"
        bad = await client.post("/v1/webhooks/databricks", content=dbx, headers=p.databricks_headers("x", dbx))
        assert bad.status_code == 401
        replay = await client.post(
            "/v1/webhooks/databricks",
            content=dbx,
            headers=p.databricks_headers(SECRETS["databricks_webhook_secret"], dbx),
        )
        assert replay.status_code == 200 and replay.json()["status"] == "duplicate"

        bearer = {"Authorization": f"Bearer {SECRETS['wandb_webhook_secret']}", "Content-Type": "application/json"}
        ok = await client.post("/v1/webhooks/wandb", content=wandb, headers=bearer)
        assert ok.status_code == 202 and ok.json()["status"] == "submitted"
        assert (
            await client.post("/v1/webhooks/wandb", content=wandb, headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        assert (await client.post("/v1/webhooks/wandb", content=wandb)).status_code == 401

        secret = SECRETS["generic_webhook_secret"]
        ok = await client.post("/v1/webhooks/generic", content=generic, headers=p.generic_headers(secret, generic))
        assert ok.status_code == 202 and ok.json()["status"] == "submitted"
        stale = p.generic_headers(secret, generic, timestamp=int(time.time()) - 3600)
        assert (await client.post("/v1/webhooks/generic", content=generic, headers=stale)).status_code == 401
    models = []
    for job in (await store.list_jobs(limit=10)).items:
        request = await store.get_request(job.id)
        assert request is not None and request.target.kind == "openai"
        models.append(request.target.model)
    models.sort()
    assert models == ["llama-unlearned-4", "llama-unlearned-6", "llama-unlearned-v5"]


async def test_unset_secret_is_503_naming_the_variable(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path, mlflow_webhook_secret=None)
    body = p.mlflow_body()
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        resp = await client.post("/v1/webhooks/mlflow", content=body, headers=p.mlflow_headers("x", body))
    assert resp.status_code == 503 and "UNLEARN_AUDIT_MLFLOW_WEBHOOK_SECRET" in resp.json()["error"]["message"]


async def test_a_push_to_a_pull_request_audits_its_head_commit(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    main_sha, pr_sha = "a" * 40, "d" * 40
    payload = p.hf_payload(sha=main_sha)  # the Hub's repo.headSha is main's head even for a PR push
    payload["updatedRefs"] = [{"ref": "refs/pr/7", "oldSha": "c" * 40, "newSha": pr_sha}]
    body = json.dumps(payload).encode()
    headers = {"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"}
    async with client:
        resp = await client.post("/v1/webhooks/huggingface", content=body, headers=headers)
        assert resp.status_code == 202 and resp.json()["status"] == "submitted", resp.text
        # main's head is another commit: its own audit, not a "duplicate" of the PR's.
        on_main = json.dumps(p.hf_payload(sha=main_sha)).encode()
        main = await client.post("/v1/webhooks/huggingface", content=on_main, headers=headers)
        assert main.status_code == 202 and main.json()["job_id"] != resp.json()["job_id"]
    request = await store.get_request(resp.json()["job_id"])
    assert request is not None and request.target.kind == "checkpoint"
    assert request.target.path == f"acme/llama-unlearned/{pr_sha}" and request.labels["webhook.revision"] == pr_sha


def test_events_carry_what_profiles_may_use() -> None:
    from service.webhooks.events import parse_huggingface, parse_mlflow

    pushed = p.hf_payload(sha="a" * 40)
    pushed["updatedRefs"] = [
        {"ref": "refs/heads/main", "oldSha": "b" * 40, "newSha": "a" * 40},
        {"ref": "refs/pr/12", "oldSha": "c" * 40, "newSha": "e" * 40},
    ]
    event = parse_huggingface(pushed)
    assert event.revision == "e" * 40 and event.extra == {"ref": "refs/pr/12", "pr": "12", "commit": "e" * 40}
    assert event.dedupe_key == f"acme/llama-unlearned@{'e' * 40}"
    created = json.loads(p.mlflow_body(name="m", version="5", source="models:/m-0a1b", run_id="r1"))
    version = parse_mlflow(created, "delivery-1")
    assert version.extra == {"source": "models:/m-0a1b", "run_id": "r1"} and version.dedupe_key == "m/5"
    assert version.delivery_id == "delivery-1"


async def test_mlflow_test_pings_are_answered_and_start_nothing(client: httpx.AsyncClient, store: SqlJobStore) -> None:
    secret = SECRETS["mlflow_webhook_secret"]
    # The example payloads MLflow 3.17's "test webhook" sends, as captured from a real server.
    created = p.mlflow_body(
        name="example_model",
        version="1",
        source="models:/123",
        run_id="abcd1234abcd5678",
        tags={"example_key": "example_value"},
        description="An example model version",
    )
    alias = p.mlflow_body("model_version_alias", "created", name="example_model", alias="example_alias", version="1")
    async with client:
        for body in (created, alias):
            resp = await client.post("/v1/webhooks/mlflow", content=body, headers=p.mlflow_headers(secret, body))
            assert resp.status_code == 202 and resp.json()["status"] == "ignored", resp.text
            # Recognised as a test (not merely unmatched by a profile): no profile could make it an audit.
            assert ".test' does not start an audit" in resp.json()["reason"]
    assert await _jobs(store) == 0


async def test_refused_deliveries_are_recorded_without_their_body(store: SqlJobStore, tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path)
    body = json.dumps(p.hf_payload(repo="acme/secret-plans-unlearned")).encode()
    async with asgi_client(webhook_app(store, settings)) as client:
        resp = await client.post(
            "/v1/webhooks/huggingface",
            content=body,
            headers={"X-Webhook-Secret": "guessed", "Content-Type": "application/json"},
        )
    assert resp.status_code == 401
    deliveries = (await store.registry_deliveries(10)).items
    assert len(deliveries) == 1 and deliveries[0].status == "bad_signature" and deliveries[0].registry == "huggingface"
    assert "X-Webhook-Secret does not match" in deliveries[0].detail and "body not kept" in deliveries[0].detail
    assert "secret-plans" not in repr(deliveries[0])  # nothing of the unvouched body
    assert await _jobs(store) == 0
