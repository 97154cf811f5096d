"""POST /v1/evaluations: 202 and Location, idempotency, and a 4xx naming the field for each bad request."""

from __future__ import annotations

import json
from typing import Any

import httpx

from schemas.jobs import Job
from service.store import SqlJobStore
from tests.api.helpers import Roots, bearer, mc_items, valid_request, write_jsonl

Client = httpx.AsyncClient


async def test_submit_answers_202_with_the_job_and_its_location(client: Client, store: SqlJobStore) -> None:
    resp = await client.post("/v1/evaluations", json=valid_request(labels={"ci": "7"}), headers=bearer("submitter"))
    assert resp.status_code == 202, resp.text
    job = Job.model_validate(resp.json())
    assert job.status == "queued" and job.labels == {"ci": "7"}
    assert resp.headers["location"] == f"/v1/evaluations/{job.id}"
    again = await client.get(resp.headers["location"], headers=bearer("submitter"))
    assert again.status_code == 200 and again.json()["id"] == job.id
    stored = await store.get_request(job.id)
    assert stored is not None and stored.checks is not None and stored.checks.forget is not None


async def test_idempotency_key_returns_the_same_job(client: Client, store: SqlJobStore) -> None:
    headers = {**bearer("submitter"), "Idempotency-Key": "ci-run-41"}
    first = await client.post("/v1/evaluations", json=valid_request(), headers=headers)
    second = await client.post("/v1/evaluations", json=valid_request(), headers=headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["location"] == first.headers["location"]
    assert (await store.count_by_status()).get("queued") == 1


async def test_idempotency_key_with_another_body_is_a_409_naming_it(client: Client) -> None:
    headers = {**bearer("submitter"), "Idempotency-Key": "ci-run-42"}
    first = await client.post("/v1/evaluations", json=valid_request(), headers=headers)
    other = valid_request(seed=9)
    resp = await client.post("/v1/evaluations", json=other, headers=headers)
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "idempotency_conflict" and error["field"] == "Idempotency-Key"
    assert "ci-run-42" in error["message"] and first.json()["id"] in error["message"]


async def test_idempotency_keys_are_per_api_key(client: Client) -> None:
    body = valid_request()
    a = await client.post("/v1/evaluations", json=body, headers={**bearer("submitter"), "Idempotency-Key": "k"})
    b = await client.post("/v1/evaluations", json=body, headers={**bearer("admin"), "Idempotency-Key": "k"})
    assert (a.status_code, b.status_code) == (202, 202)
    assert a.json()["id"] != b.json()["id"]


async def _submit(client: Client, body: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/v1/evaluations", json=body, headers=bearer("submitter"))
    return resp.status_code, resp.json()


async def test_malformed_json_is_400(sqlite_client: Client) -> None:
    resp = await sqlite_client.post(
        "/v1/evaluations",
        content=b'{"target": {"kind": "sandbox",',
        headers={**bearer("submitter"), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "malformed_json"
    for body in (b"not json", b""):
        resp = await sqlite_client.post(
            "/v1/evaluations",
            content=body,
            headers={**bearer("submitter"), "Content-Type": "application/json"},
        )
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "malformed_json", resp.text


async def test_unknown_target_kind_is_422_naming_the_field(sqlite_client: Client) -> None:
    status, body = await _submit(sqlite_client, valid_request(target={"kind": "gguf", "path": "x"}))
    assert status == 422
    assert body["error"]["field"] == "target" and "gguf" in body["error"]["message"]


async def test_schema_errors_name_the_nested_field(sqlite_client: Client) -> None:
    bad = valid_request()
    bad["checks"]["forget"]["subject"] = ""
    status, body = await _submit(sqlite_client, bad)
    assert status == 422 and body["error"]["field"] == "checks.forget.subject"
    status, body = await _submit(sqlite_client, {"target": {"kind": "sandbox", "name": "base"}})
    assert status == 422 and "checks" in body["error"]["message"]
    status, body = await _submit(sqlite_client, [1, 2])
    assert status == 422


async def test_missing_dataset_file_is_422_naming_the_field(sqlite_client: Client) -> None:
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"path": "nope.jsonl"}
    status, resp = await _submit(sqlite_client, body)
    assert status == 422, resp
    assert resp["error"]["code"] == "dataset_error"
    assert resp["error"]["field"].startswith("checks.forget.dataset") and "nope.jsonl" in resp["error"]["message"]


async def test_dataset_file_inside_the_data_root_is_accepted(sqlite_client: Client, roots: Roots) -> None:
    write_jsonl(roots.datasets / "forget.jsonl", mc_items(5))
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"path": "forget.jsonl"}
    status, resp = await _submit(sqlite_client, body)
    assert status == 202, resp


async def test_dataset_file_outside_the_data_roots_is_refused(sqlite_client: Client, roots: Roots) -> None:
    outside = write_jsonl(roots.outside / "secret.jsonl", mc_items(2))
    (roots.datasets / "link.jsonl").symlink_to(outside)
    for path in (str(outside), "../outside/secret.jsonl", "link.jsonl"):
        body = valid_request()
        body["checks"]["forget"]["dataset"] = {"path": path}
        status, resp = await _submit(sqlite_client, body)
        assert status == 403, (path, resp)
        assert resp["error"]["code"] == "path_not_allowed"
        assert resp["error"]["field"].startswith("checks.forget.dataset")


async def test_row_without_choices_is_422(sqlite_client: Client, roots: Roots) -> None:
    rows = mc_items(3)
    del rows[1]["choices"]
    write_jsonl(roots.datasets / "bad.jsonl", rows)
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"path": "bad.jsonl"}
    status, resp = await _submit(sqlite_client, body)
    assert status == 422
    assert "choices" in resp["error"]["message"] and resp["error"]["field"].startswith("checks.forget.dataset")


async def test_answer_out_of_range_is_422(sqlite_client: Client) -> None:
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"items": [{"question": "Q", "choices": ["a", "b"], "answer": 5}]}
    status, resp = await _submit(sqlite_client, body)
    assert status == 422
    assert "out of range" in resp["error"]["message"]
    assert resp["error"]["field"].startswith("checks.forget.dataset")


async def test_body_over_the_limit_is_413(sqlite_client: Client) -> None:
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"items": mc_items(2000)}
    assert len(json.dumps(body)) > 64 * 1024
    status, resp = await _submit(sqlite_client, body)
    assert status == 413
    assert resp["error"]["code"] == "request_too_large"


async def test_checkpoint_paths_are_confined_to_the_model_roots(sqlite_client: Client, roots: Roots) -> None:
    inside = roots.models / "unlearned"
    inside.mkdir()
    (inside / "model.safetensors").write_bytes(b"{}")  # inspected at submit, not loaded
    (roots.outside / "stolen").mkdir()
    (roots.models / "escape").symlink_to(roots.outside / "stolen")
    cases = {
        str(inside): 202,
        "unlearned": 202,  # relative to a root
        str(roots.outside / "stolen"): 403,
        "unlearned/../../outside/stolen": 403,
        str(roots.models / "escape"): 403,  # a symlink inside the root pointing out
        "missing": 422,
    }
    for path, expected in cases.items():
        status, resp = await _submit(sqlite_client, valid_request(target={"kind": "checkpoint", "path": path}))
        assert status == expected, (path, resp)
        if expected != 202:
            assert resp["error"]["field"] == "target.path", (path, resp)
    # Relative, the escaping link is looked up in every root; it is refused either way, never accepted.
    status, resp = await _submit(sqlite_client, valid_request(target={"kind": "checkpoint", "path": "escape"}))
    assert status in (403, 422) and resp["error"]["field"] == "target.path"
    (roots.models / "file.bin").write_bytes(b"x")
    status, resp = await _submit(sqlite_client, valid_request(baseline={"kind": "checkpoint", "path": "file.bin"}))
    assert status == 422 and resp["error"]["field"] == "baseline.path"


async def test_sandbox_controls_must_be_built(sqlite_client: Client) -> None:
    status, resp = await _submit(sqlite_client, valid_request(baseline={"kind": "sandbox", "name": "base"}))
    assert status == 422 and resp["error"]["field"] == "baseline.name"
    assert "not built" in resp["error"]["message"] and "sandbox build" in resp["error"]["message"]
    body = valid_request(suite="sandbox")
    del body["checks"]
    status, resp = await _submit(sqlite_client, body)  # the suite's builtin datasets need the sandbox too
    assert status == 422 and resp["error"]["field"].startswith("checks.forget.dataset")


async def test_endpoint_urls_must_pass_the_allowlist(sqlite_client: Client) -> None:
    status, resp = await _submit(sqlite_client, valid_request(target={"kind": "tgi", "url": "http://10.9.8.7:80"}))
    assert status == 403 and resp["error"]["field"] == "target.url"
    assert resp["error"]["code"] == "url_not_allowed"
    openai = {"kind": "openai", "base_url": "http://169.254.169.254/v1", "model": "m"}
    status, resp = await _submit(sqlite_client, valid_request(baseline=openai))
    assert status == 403 and resp["error"]["field"] == "baseline.base_url"
    status, resp = await _submit(sqlite_client, valid_request(callback={"url": "http://example.invalid/hook"}))
    assert status == 403 and resp["error"]["field"] == "callback.url"
    ok = valid_request(target={"kind": "tgi", "url": "http://127.0.0.1:8080"})
    status, resp = await _submit(sqlite_client, ok)
    assert status == 202, resp


async def test_a_model_judge_without_a_model_is_a_422(sqlite_client: Client) -> None:
    refusal = {"harmful": {"items": [{"prompt": "p"}]}, "judge": {"kind": "model"}}
    status, resp = await _submit(sqlite_client, valid_request(checks={"refusal": refusal}))
    assert status == 422 and "judge" in resp["error"]["field"] and "target" in resp["error"]["message"]
