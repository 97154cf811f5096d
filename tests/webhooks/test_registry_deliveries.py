"""The log of registry deliveries: paged newest first with an opaque cursor, and its deprecated alias."""

from __future__ import annotations

from pathlib import Path

from service.store import SqlJobStore
from tests.reports.server import asgi_client
from tests.webhooks.app import webhook_app, webhook_settings

ADMIN = {"Authorization": "Bearer admin-key"}


async def _record(store: SqlJobStore, n: int) -> None:
    for i in range(n):
        await store.record_registry_delivery(
            "huggingface",
            f"acme/m-{i}@sha",
            event="repo.content.update",
            model=f"acme/m-{i}",
            status="no_profile",
            detail="no audit profile matches",
            profile=None,
            job_id=None,
        )


async def test_deliveries_page_newest_first_with_a_cursor(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    await _record(sqlite_store, 5)
    settings = webhook_settings(tmp_path, api_keys="admin-key:admin,reader:read")
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        assert (await client.get("/v1/webhooks/deliveries")).status_code == 401
        reader = {"Authorization": "Bearer reader"}
        assert (await client.get("/v1/webhooks/deliveries", headers=reader)).status_code == 403
        models: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            resp = await client.get("/v1/webhooks/deliveries", params=params, headers=ADMIN)
            assert resp.status_code == 200, resp.text
            page = resp.json()
            assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 2
            models += [d["model"] for d in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert models == [f"acme/m-{i}" for i in reversed(range(5))] and pages == 3

        # The deprecated path answers its first page as before: `{items}`, the same deliveries.
        old = await client.get("/v1/webhooks/events", params={"limit": 2}, headers=ADMIN)
        new = await client.get("/v1/webhooks/deliveries", params={"limit": 2}, headers=ADMIN)
        assert old.status_code == 200 and old.json() == {"items": new.json()["items"]}


async def test_bounds_and_bad_cursors_are_400(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    await _record(sqlite_store, 1)
    settings = webhook_settings(tmp_path, api_keys="admin-key:admin")
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        bounds: list[dict[str, str | int]] = [{"limit": 0}, {"limit": 501}, {"cursor": "x" * 513}]
        for params in bounds:
            for path in ("/v1/webhooks/deliveries", "/v1/webhooks/events"):
                if path.endswith("events") and "cursor" in params:
                    continue  # the deprecated path takes no cursor
                resp = await client.get(path, params=params, headers=ADMIN)
                error = resp.json()["error"]
                assert resp.status_code == 400 and error["code"] == "invalid_request", (path, params, resp.text)
                assert error["field"] == next(iter(params))
        naive = "eyJ0IjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImlkIjoxfQ"  # {"t": "2026-01-01T00:00:00", "id": 1}: no zone
        for cursor in ("not-a-cursor", naive, "eyJ0Ijoibm90LWEtdGltZSIsImlkIjoxfQ"):
            resp = await client.get("/v1/webhooks/deliveries", params={"cursor": cursor}, headers=ADMIN)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_request", (cursor, resp.text)


def test_the_document_pages_deliveries_and_marks_the_old_path_deprecated() -> None:
    from service.reference.api import openapi_document

    paths = openapi_document()["paths"]
    assert paths["/v1/webhooks/events"]["get"]["deprecated"] is True
    new = paths["/v1/webhooks/deliveries"]["get"]
    assert not new.get("deprecated", False) and new["security"] == [{"bearer": []}]
    schemas = {param["name"]: param["schema"] for param in new["parameters"]}
    assert (schemas["limit"]["minimum"], schemas["limit"]["maximum"]) == (1, 500)
    assert schemas["cursor"]["maxLength"] == 512
