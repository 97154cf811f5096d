"""API keys and scopes: 401 without a good key, 403 naming the missing scope; open health and metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.auth import KeyRing
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import KEYS, bearer, finish_next, serve_in_loop, valid_request

Client = httpx.AsyncClient

V1_ROUTES = [
    ("POST", "/v1/evaluations"),
    ("GET", "/v1/evaluations"),
    ("GET", "/v1/evaluations/x"),
    ("GET", "/v1/evaluations/x/scorecard"),
    ("GET", "/v1/evaluations/x/items"),
    ("POST", "/v1/evaluations/x/cancel"),
    ("GET", "/v1/policies"),
]


async def test_every_v1_route_needs_a_key(client: Client) -> None:
    for method, path in V1_ROUTES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEYS['admin']}"}):
            resp = await client.request(method, path, headers=headers, json=valid_request())
            assert resp.status_code == 401, (method, path, headers, resp.text)
            assert resp.json()["error"]["code"] == "unauthorized"
            assert resp.headers["www-authenticate"] == "Bearer"


async def test_health_readiness_metrics_and_schema_stay_open(client: Client) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/schema/openapi.json"):
        assert (await client.get(path)).status_code == 200, path


async def test_scopes(client: Client, store: SqlJobStore) -> None:
    submitted = await client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
    assert submitted.status_code == 202
    job_id = submitted.json()["id"]
    await finish_next(store)

    refused = await client.post("/v1/evaluations", json=valid_request(), headers=bearer("reader"))
    assert refused.status_code == 403 and "`submit`" in refused.json()["error"]["message"]
    assert (await client.get(f"/v1/evaluations/{job_id}", headers=bearer("reader"))).status_code == 200

    items_path = f"/v1/evaluations/{job_id}/items"
    for who in ("submitter", "reader"):  # default scopes and `read` do not include per-item records
        resp = await client.get(items_path, headers=bearer(who))
        assert resp.status_code == 403 and "`items`" in resp.json()["error"]["message"], who
    assert (await client.get(items_path, headers=bearer("items"))).status_code == 200
    assert (await client.get(items_path, headers=bearer("admin"))).status_code == 200  # admin implies all
    cancel = await client.post(f"/v1/evaluations/{job_id}/cancel", headers=bearer("items"))
    assert cancel.status_code == 403 and "`submit`" in cancel.json()["error"]["message"]


async def test_without_keys_auth_is_off(tmp_path: Path, sqlite_store: SqlJobStore) -> None:
    app = create_app(Settings(data_dir=tmp_path, api_keys=None, api_keys_file=None), sqlite_store)
    async with serve_in_loop(app) as c:
        assert (await c.post("/v1/evaluations", json=valid_request())).status_code == 202
        job_id = (await c.get("/v1/evaluations")).json()["items"][0]["id"]
        assert (await c.get(f"/v1/evaluations/{job_id}/items")).status_code == 200


async def test_keys_file(tmp_path: Path, sqlite_store: SqlJobStore) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nfile-reader:read   # CI dashboards\n\nfile-submit\n")
    app = create_app(Settings(data_dir=tmp_path, api_keys=None, api_keys_file=keys), sqlite_store)
    async with serve_in_loop(app) as c:
        ok = await c.post("/v1/evaluations", json=valid_request(), headers={"Authorization": "Bearer file-submit"})
        assert ok.status_code == 202
        refused = await c.post("/v1/evaluations", json=valid_request(), headers={"Authorization": "Bearer file-reader"})
        assert refused.status_code == 403
        assert (await c.get("/v1/evaluations", headers={"Authorization": "Bearer file-reader"})).status_code == 200


def test_keys_are_kept_hashed_and_bad_scopes_refused(tmp_path: Path) -> None:
    ring = KeyRing.from_settings(Settings(data_dir=tmp_path, api_keys="s3cret-key:read+items"))
    assert "s3cret-key" not in repr(vars(ring))
    principal = ring.authenticate("s3cret-key")
    assert principal is not None and principal.scopes == {"read", "items"}
    assert principal.owner is not None and "s3cret" not in principal.owner
    assert ring.authenticate("s3cret-kez") is None
    with pytest.raises(ValueError, match="superuser"):
        create_app(Settings(data_dir=tmp_path, api_keys="k:read+superuser"))
