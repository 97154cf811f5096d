"""Reading evaluations: list with filters and pages, one job, scorecard, per-item records, cancel."""

from __future__ import annotations

import httpx

from schemas.jobs import ItemPage, Job, JobError, JobPage
from schemas.scorecard import Scorecard
from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, records, scorecard_for, valid_request

Client = httpx.AsyncClient


async def _submit(client: Client, **overrides: object) -> str:
    resp = await client.post("/v1/evaluations", json=valid_request(**overrides), headers=bearer("submitter"))
    assert resp.status_code == 202, resp.text
    job_id: str = resp.json()["id"]
    return job_id


async def test_list_filters_by_status_and_labels_and_pages(client: Client, store: SqlJobStore) -> None:
    a = await _submit(client, labels={"ci": "1", "model": "m1"})
    b = await _submit(client, labels={"ci": "2", "model": "m1"})
    c = await _submit(client, labels={"ci": "3", "model": "m2"})
    finished = await finish_next(store)  # the oldest job, `a`
    assert finished == a
    read = bearer("reader")

    page = JobPage.model_validate((await client.get("/v1/evaluations", headers=read)).json())
    assert [j.id for j in page.items] == [c, b, a]  # newest first

    queued = (await client.get("/v1/evaluations", params={"status": "queued"}, headers=read)).json()
    assert {j["id"] for j in queued["items"]} == {b, c}
    m1 = (await client.get("/v1/evaluations", params={"label": "model:m1"}, headers=read)).json()
    assert {j["id"] for j in m1["items"]} == {a, b}
    both = await client.get("/v1/evaluations", params=[("label", "model:m1"), ("label", "ci:2")], headers=read)
    assert [j["id"] for j in both.json()["items"]] == [b]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/v1/evaluations", params=params, headers=read)
        assert resp.status_code == 200
        body = JobPage.model_validate(resp.json())
        assert len(body.items) <= 2
        seen += [j.id for j in body.items]
        cursor = body.next_cursor
        if cursor is None:
            break
    assert seen == [c, b, a]


async def test_list_rejects_bad_parameters(client: Client) -> None:
    read = bearer("reader")
    for params, field in (
        ({"status": "sleeping"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"label": "no-colon"}, "label"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ):
        resp = await client.get("/v1/evaluations", params=params, headers=read)
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["error"]["field"] == field


async def test_get_one_and_404(client: Client) -> None:
    job_id = await _submit(client)
    resp = await client.get(f"/v1/evaluations/{job_id}", headers=bearer("reader"))
    assert resp.status_code == 200 and Job.model_validate(resp.json()).id == job_id
    missing = await client.get("/v1/evaluations/no-such-job", headers=bearer("reader"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found" and "no-such-job" in missing.json()["error"]["message"]


async def test_scorecard_is_409_until_succeeded_then_valid(client: Client, store: SqlJobStore) -> None:
    job_id = await _submit(client)
    path = f"/v1/evaluations/{job_id}/scorecard"
    early = await client.get(path, headers=bearer("reader"))
    assert early.status_code == 409
    assert "queued" in early.json()["error"]["message"] and early.json()["error"]["code"] == "not_finished"
    assert (await client.get("/v1/evaluations/nope/scorecard", headers=bearer("reader"))).status_code == 404

    await finish_next(store, verdict="fail")
    resp = await client.get(path, headers=bearer("reader"))
    assert resp.status_code == 200
    card = Scorecard.model_validate(resp.json())
    assert card.evaluation_id == job_id and card.verdict == "fail"
    job = (await client.get(f"/v1/evaluations/{job_id}", headers=bearer("reader"))).json()
    assert job["status"] == "succeeded" and job["verdict"] == "fail"


async def test_scorecard_of_a_failed_job_says_why(client: Client, store: SqlJobStore) -> None:
    job_id = await _submit(client)
    claimed = await store.claim_next("w", lease_s=60)
    assert claimed is not None
    error = JobError(code="deadline_exceeded", message="ran past 5 s")
    await store.finish_job(job_id, "w", status="failed", error=error)
    resp = await client.get(f"/v1/evaluations/{job_id}/scorecard", headers=bearer("reader"))
    assert resp.status_code == 409
    assert "failed" in resp.json()["error"]["message"] and "deadline_exceeded" in resp.json()["error"]["message"]


async def test_items_filter_and_page(client: Client, store: SqlJobStore) -> None:
    job_id = await _submit(client)
    items = records(5) + records(3, variant="cloze") + records(2, model="baseline")
    await finish_next(store, items=items)
    path = f"/v1/evaluations/{job_id}/items"
    h = bearer("items")

    everything = ItemPage.model_validate((await client.get(path, headers=h)).json())
    assert len(everything.items) == 10
    cloze = (await client.get(path, params={"variant": "cloze"}, headers=h)).json()
    assert len(cloze["items"]) == 3 and {i["variant"] for i in cloze["items"]} == {"cloze"}
    baseline = (await client.get(path, params={"model": "baseline", "check": "forget"}, headers=h)).json()
    assert len(baseline["items"]) == 2
    assert (await client.get(path, params={"check": "refusal"}, headers=h)).json()["items"] == []

    collected, cursor = [], None
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        page = ItemPage.model_validate((await client.get(path, params=params, headers=h)).json())
        collected += page.items
        cursor = page.next_cursor
        if cursor is None or not page.items:
            break
    assert sorted((r.variant, r.model, r.index) for r in collected) == sorted(
        (r.variant, r.model, r.index) for r in items
    )
    assert (await client.get("/v1/evaluations/nope/items", headers=h)).status_code == 404


async def test_cancel_queued_running_and_finished(client: Client, store: SqlJobStore) -> None:
    h = bearer("submitter")
    queued = await _submit(client)
    resp = await client.post(f"/v1/evaluations/{queued}/cancel", headers=h)
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    again = await client.post(f"/v1/evaluations/{queued}/cancel", headers=h)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"

    running = await _submit(client)
    assert (await store.claim_next("w", lease_s=60)) is not None
    resp = await client.post(f"/v1/evaluations/{running}/cancel", headers=h)
    assert resp.status_code == 202 and resp.json()["status"] == "running"
    assert await store.is_cancel_requested(running)

    done = await _submit(client)
    await finish_next(store, worker="w2")
    resp = await client.post(f"/v1/evaluations/{done}/cancel", headers=h)
    assert resp.status_code == 409 and "succeeded" in resp.json()["error"]["message"]
    assert (await client.post("/v1/evaluations/nope/cancel", headers=h)).status_code == 404


async def test_policies_lists_the_presets_with_reasons(client: Client) -> None:
    resp = await client.get("/v1/policies", headers=bearer("reader"))
    assert resp.status_code == 200
    presets = {p["name"]: p for p in resp.json()}
    assert set(presets) == {"default", "strict", "lenient"}
    assert presets["default"]["policy"]["residual_knowledge_max"] == 0.25
    assert all(p["reasons"] for p in presets.values())


async def test_scorecard_is_served_exactly_as_stored(client: Client, store: SqlJobStore) -> None:
    job_id = await _submit(client)
    claimed = await store.claim_next("w", lease_s=60)
    assert claimed is not None and claimed.id == job_id
    stored = {
        **scorecard_for(job_id).model_dump(mode="json"),
        "signature": {"alg": "ed25519", "value": "c2ln"},
    }
    await store.finish_job(job_id, "w", status="succeeded", scorecard=stored, verdict="pass")
    resp = await client.get(f"/v1/evaluations/{job_id}/scorecard", headers=bearer("reader"))
    assert resp.status_code == 200 and resp.json() == stored  # nothing dropped or re-serialised
