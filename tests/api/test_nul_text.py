"""NUL characters never reach the store as text (PostgreSQL text holds none): input that would be stored is a
4xx naming the field, and a lookup by a value holding one finds nothing. Each case answered 500 on
PostgreSQL before; the tests run on both databases (registry events: tests/webhooks/test_payload_shapes.py)."""

from __future__ import annotations

import httpx

from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, records, valid_request

Client = httpx.AsyncClient
NUL = "\x00"


async def test_labels_with_nul_are_422(client: Client) -> None:
    for labels in ({"k": f"v{NUL}"}, {f"k{NUL}": "v"}):
        resp = await client.post("/v1/evaluations", json=valid_request(labels=labels), headers=bearer("submitter"))
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["field"] == "labels" and "NUL" in resp.json()["error"]["message"]


async def test_lookups_by_values_with_nul_find_nothing(client: Client, store: SqlJobStore) -> None:
    await client.post("/v1/evaluations", json=valid_request(labels={"ci": "1"}), headers=bearer("submitter"))
    job_id = await finish_next(store, items=records(2))
    for path in ("", "/scorecard", "/items", "/events", "/report", "/deliveries"):
        resp = await client.get(f"/v1/evaluations/%00{path}", headers=bearer("admin"))
        assert resp.status_code == 404, (path, resp.text)
    assert (await client.post("/v1/evaluations/%00/cancel", headers=bearer("admin"))).status_code == 404
    listed = await client.get("/v1/evaluations", params={"label": f"ci:{NUL}"}, headers=bearer("reader"))
    assert listed.status_code == 200 and listed.json()["items"] == []
    for name in ("check", "variant", "model"):
        items = await client.get(f"/v1/evaluations/{job_id}/items", params={name: NUL}, headers=bearer("items"))
        assert items.status_code == 200 and items.json()["items"] == [], name


async def test_profile_names_with_nul_are_422(client: Client) -> None:
    profile = {"name": f"p{NUL}", "registry": "huggingface", "target": {"kind": "sandbox", "name": "base"}}
    resp = await client.put("/v1/webhooks/profiles", json={"profiles": [profile]}, headers=bearer("admin"))
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "profiles.0.name"
