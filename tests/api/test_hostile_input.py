"""Hostile input gets a 4xx naming the problem, never a 500: the classes an outside probe found, and their kin.

Each case here answered 500 (or killed the stream) before: deep JSON, `~user` and over-long path
components, numbers past what the store or `datetime` hold, forged cursors, event ids past BIGINT.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, records, valid_request

Client = httpx.AsyncClient
BIG = 2**63


def _cursor(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_deeply_nested_json_is_a_400_on_every_body(sqlite_client: Client) -> None:
    body = '{"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}, "labels": ' + "[" * 1000 + "]" * 1000 + "}"
    headers = {**bearer("admin"), "Content-Type": "application/json"}
    for method, path in (("POST", "/v1/evaluations"), ("PUT", "/v1/webhooks/profiles")):
        resp = await sqlite_client.request(method, path, content=body, headers=headers)
        assert resp.status_code == 400, (path, resp.text)
        assert resp.json()["error"]["code"] == "malformed_json" and "nested" in resp.json()["error"]["message"]
    # Nesting inside strings is text, not structure.
    shallow = valid_request(labels={"note": "[" * 400})
    assert (await sqlite_client.post("/v1/evaluations", json=shallow, headers=bearer("submitter"))).status_code == 202


async def test_a_json_body_under_another_content_type_is_a_415(sqlite_client: Client) -> None:
    body = json.dumps(valid_request())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        headers = {**bearer("submitter"), "Content-Type": content_type}
        resp = await sqlite_client.post("/v1/evaluations", content=body, headers=headers)
        assert resp.status_code == 415, (content_type, resp.text)
        assert resp.json()["error"]["code"] == "unsupported_media_type"
    ok = {**bearer("submitter"), "Content-Type": "application/json; charset=utf-8"}
    assert (await sqlite_client.post("/v1/evaluations", content=body, headers=ok)).status_code == 202


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("~root/models/x", 422, "does not exist"),  # `~` is a character, never a home directory
        ("~nosuchuser123/x", 422, "does not exist"),
        ("a" * 300, 422, "longer than 255 bytes"),
        ("ok/" + "é" * 130, 422, "longer than 255 bytes"),  # 260 bytes in UTF-8, 130 characters
        ("x" * 5000, 422, "at most 4096"),
    ],
)
async def test_paths_that_broke_resolution_are_4xx(sqlite_client: Client, path: str, status: int, words: str) -> None:
    for target in (
        {"kind": "checkpoint", "path": path},
        None,  # the same path as a dataset file
    ):
        body = (
            valid_request(target=target)
            if target
            else valid_request(checks={"forget": {"dataset": {"path": path}, "subject": "biology"}})
        )
        resp = await sqlite_client.post("/v1/evaluations", json=body, headers=bearer("submitter"))
        assert resp.status_code == status, (path[:40], resp.text[:300])
        assert words in resp.json()["error"]["message"]
        assert len(resp.text) < 3000  # the path is quoted as an excerpt, not whole


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deadline_s", 1e12),
        ("deadline_s", 10**400),
        ("limit", BIG),
        ("limit", 2**64),
        ("seed", BIG),
        ("seed", -1),
        ("policy", {"preset": "default", "n_min": 10**30}),
    ],
)
async def test_numbers_past_their_bounds_are_422(sqlite_client: Client, field: str, value: Any) -> None:
    body = valid_request(**{field: value})
    resp = await sqlite_client.post(
        "/v1/evaluations", content=json.dumps(body), headers={**bearer("submitter"), "Content-Type": "application/json"}
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"].startswith(field)


async def test_infinite_and_nan_numbers_are_422(sqlite_client: Client) -> None:
    for raw in ('"deadline_s": Infinity', '"deadline_s": NaN', '"deadline_s": 1e999'):
        body = json.dumps(valid_request())[:-1] + ", " + raw + "}"
        headers = {**bearer("submitter"), "Content-Type": "application/json"}
        resp = await sqlite_client.post("/v1/evaluations", content=body, headers=headers)
        assert resp.status_code in (400, 422), (raw, resp.text)


async def test_forged_cursors_are_400(sqlite_client: Client, sqlite_store: SqlJobStore) -> None:
    submitted = await sqlite_client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
    job_id = submitted.json()["id"]
    await finish_next(sqlite_store, items=records(3))
    forged = [
        {"after": "5"},
        {"after": [1]},
        {"after": None},
        {"after": True},
        {"after": BIG},
        {"after": -1},
        {"after": 1.5},
        b'{"after": NaN}',
        b'{"after": 1e400}',
        b"[" * 300 + b"]" * 300,
        b"\xff\xfe",
    ]
    for payload in forged:
        resp = await sqlite_client.get(
            f"/v1/evaluations/{job_id}/items", params={"cursor": _cursor(payload)}, headers=bearer("items")
        )
        assert resp.status_code == 400, (payload, resp.text)
        assert resp.json()["error"]["field"] == "cursor"
    for payload in ({"t": 1, "id": job_id}, {"t": "x", "id": ["a"]}, {"t": "x", "id": "i" * 100}):
        resp = await sqlite_client.get("/v1/evaluations", params={"cursor": _cursor(payload)}, headers=bearer("reader"))
        assert resp.status_code == 400, (payload, resp.text)
    huge = await sqlite_client.get("/v1/evaluations", params={"cursor": "A" * 5000}, headers=bearer("reader"))
    assert huge.status_code == 400


async def test_event_ids_past_bigint_are_400(client: Client) -> None:
    job_id = (await client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))).json()["id"]
    path = f"/v1/evaluations/{job_id}/events"
    cases: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"after": str(BIG)}, {}),
        ({"after": "x"}, {}),
        ({}, {"Last-Event-ID": str(BIG)}),
        ({}, {"Last-Event-ID": "-1"}),
        ({}, {"Last-Event-ID": "١٢".encode()}),  # Arabic-Indic digits: int() takes them, an event id is ASCII
    ]
    for params, headers in cases:
        resp = await client.get(path, params=params, headers={**bearer("reader"), **headers})
        assert resp.status_code == 400, (params, headers, resp.text)
    # The largest id there can be is valid: nothing follows it, and the stream ends with the job.
    await client.post(f"/v1/evaluations/{job_id}/cancel", headers=bearer("submitter"))
    last = await client.get(path, headers={**bearer("reader"), "Last-Event-ID": str(BIG - 1)})
    assert last.status_code == 200 and "job_finished" not in last.text


async def test_long_ids_and_labels_are_4xx_not_500(sqlite_client: Client) -> None:
    assert (await sqlite_client.get("/v1/evaluations/" + "x" * 5000, headers=bearer("reader"))).status_code == 404
    many = [("label", f"k{i}:v") for i in range(50)]
    assert (await sqlite_client.get("/v1/evaluations", params=many, headers=bearer("reader"))).status_code == 400
    long_key = await sqlite_client.post(
        "/v1/evaluations", json=valid_request(labels={"k" * 101: "v"}), headers=bearer("submitter")
    )
    assert long_key.status_code == 422


async def test_html_pages_send_one_charset(client: Client, store: SqlJobStore) -> None:
    await client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
    job_id = await finish_next(store)
    for path in (f"/v1/evaluations/{job_id}/report", "/v1/reports"):
        resp = await client.get(path, headers=bearer("reader"))
        assert resp.status_code == 200
        assert resp.headers["content-type"].lower().count("charset") == 1, resp.headers["content-type"]


async def test_log_lines_quote_user_input_as_excerpts(
    sqlite_client: Client, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    huge = "/" + "a/" * 20_000  # 40 KB: under the test app's body limit, ten times the path bound
    with caplog.at_level(logging.DEBUG):
        resp = await sqlite_client.post(
            "/v1/evaluations", json=valid_request(target={"kind": "checkpoint", "path": huge}), headers=bearer("admin")
        )
    assert resp.status_code == 422 and len(resp.text) < 3000
    assert all(len(r.getMessage()) < 5000 for r in caplog.records)


async def test_the_sqlite_file_is_private(tmp_path: Path) -> None:
    from service.store import create_store

    store = await create_store(f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'store.sqlite3'}")
    try:
        await store.ping()
        for name in ("store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"):
            file = tmp_path / "sub" / name
            if file.exists():
                assert file.stat().st_mode & 0o777 == 0o600, name
    finally:
        await store.close()


async def test_an_unreachable_store_is_a_503_with_retry_after(tmp_path: Path) -> None:
    from service.app import create_app
    from service.settings import Settings
    from tests.api.helpers import API_KEYS, serve_in_loop

    down = SqlJobStore("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")  # nothing listens on port 1
    try:
        async with serve_in_loop(create_app(Settings(data_dir=tmp_path, api_keys=API_KEYS), down)) as client:
            for method, path in (("POST", "/v1/evaluations"), ("GET", "/v1/evaluations"), ("GET", "/v1/evaluations/x")):
                resp = await client.request(method, path, json=valid_request(), headers=bearer("admin"))
                assert resp.status_code == 503, (path, resp.text)
                assert resp.json()["error"]["code"] == "store_unavailable" and resp.headers["retry-after"] == "5"
            assert (await client.get("/readyz")).status_code == 503
    finally:
        await down.close()
