"""Short-lived signed report links: a link opens its evaluation's HTML report without a key, and nothing else;
it expires, a tampered or foreign one is refused, a key rotation does not break it, and the access log never
holds a usable token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from schemas.report_links import ReportLink
from service.app import create_app
from service.reports.links import LinkGrant, mint_token
from service.reports.log_redaction import REDACTED, LinkTokenFilter, redact
from service.settings import Settings
from service.signing import SigningKeys
from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, serve_in_loop, valid_request

Client = httpx.AsyncClient
TEAM_KEYS = "bio-key::bio,cyber-key::cyber"


async def _finished(client: Client, store: SqlJobStore, headers: dict[str, str] | None = None) -> str:
    resp = await client.post("/v1/evaluations", json=valid_request(), headers=headers or bearer("submitter"))
    assert resp.status_code == 202, resp.text
    await finish_next(store)
    job_id: str = resp.json()["id"]
    return job_id


async def _link(client: Client, job_id: str, headers: dict[str, str], **params: int) -> ReportLink:
    resp = await client.post(f"/v1/evaluations/{job_id}/report-links", params=params, headers=headers)
    assert resp.status_code == 201, resp.text
    return ReportLink.model_validate(resp.json())


def _token(link: ReportLink) -> str:
    return parse_qs(urlsplit(link.url).query)["token"][0]


def _path(link: ReportLink) -> str:
    parts = urlsplit(link.url)
    return f"{parts.path}?{parts.query}"


async def test_a_link_opens_the_report_without_a_key_and_grants_nothing_else(
    client: Client, store: SqlJobStore
) -> None:
    job_id = await _finished(client, store)
    other_id = await _finished(client, store)
    assert (await client.get(f"/v1/evaluations/{job_id}/report")).status_code == 401  # keys are on
    before = datetime.now(UTC)
    link = await _link(client, job_id, bearer("reader"))
    assert link.evaluation_id == job_id and link.format == "html" and link.ttl_s == 900
    assert link.url.startswith(f"http://testserver/v1/evaluations/{job_id}/report?token=")
    expires = datetime.fromisoformat(link.expires_at)
    assert timedelta(seconds=890) <= expires - before <= timedelta(seconds=901)

    page = await client.get(_path(link))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert job_id in page.text and "Unlearning audit" in page.text

    token = _token(link)
    # The same token on another evaluation's report, on the scorecard, items, attestation or list: refused.
    assert (await client.get(f"/v1/evaluations/{other_id}/report", params={"token": token})).status_code == 401
    for tail in ("", "/scorecard", "/items", "/attestation"):
        resp = await client.get(f"/v1/evaluations/{job_id}{tail}", params={"token": token})
        assert resp.status_code == 401, tail
    assert (await client.get("/v1/reports", params={"token": token})).status_code == 401
    assert (await client.get("/v1/evaluations", params={"token": token})).status_code == 401


async def test_tampered_truncated_and_foreign_tokens_are_refused(client: Client, store: SqlJobStore) -> None:
    job_id = await _finished(client, store)
    other_id = await _finished(client, store)
    token = _token(await _link(client, job_id, bearer("reader")))
    other = _token(await _link(client, other_id, bearer("reader")))
    version, claims, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    bad_tokens = [
        f"{version}.{claims}.{flipped}",  # signature altered
        f"{version}.{other.split('.')[1]}.{sig}",  # another evaluation's claims under this signature
        f"v2.{claims}.{sig}",
        f"{version}.{claims}",
        "",
        "x" * 5000,
        f"{version}.{claims}.{sig}.",
    ]
    for bad in bad_tokens:
        resp = await client.get(f"/v1/evaluations/{job_id}/report", params={"token": bad})
        assert resp.status_code == 401, bad[:40]
        assert resp.json()["error"]["code"] == "unauthorized"
    # A token signed by a key the deployment never used.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    expires = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    forged = mint_token(LinkGrant(job_id, "html", expires), Ed25519PrivateKey.generate())
    assert (await client.get(f"/v1/evaluations/{job_id}/report", params={"token": forged})).status_code == 401


async def test_links_expire_and_cannot_claim_more_than_a_day(
    client: Client, store: SqlJobStore, settings: Settings
) -> None:
    job_id = await _finished(client, store)
    _, key = await SigningKeys.from_settings(settings).active(store)
    now = datetime.now(UTC)
    expired = mint_token(LinkGrant(job_id, "html", int((now - timedelta(seconds=1)).timestamp())), key)
    resp = await client.get(f"/v1/evaluations/{job_id}/report", params={"token": expired})
    assert resp.status_code == 401 and "expired" in resp.json()["error"]["message"]
    too_long = mint_token(LinkGrant(job_id, "html", int((now + timedelta(days=2)).timestamp())), key)
    assert (await client.get(f"/v1/evaluations/{job_id}/report", params={"token": too_long})).status_code == 401
    other_format = mint_token(LinkGrant(job_id, "json", int((now + timedelta(minutes=5)).timestamp())), key)
    assert (await client.get(f"/v1/evaluations/{job_id}/report", params={"token": other_format})).status_code == 401
    fresh = mint_token(LinkGrant(job_id, "html", int((now + timedelta(minutes=5)).timestamp())), key)
    assert (await client.get(f"/v1/evaluations/{job_id}/report", params={"token": fresh})).status_code == 200


async def test_lifetime_bounds_scope_and_unknown_evaluations(client: Client, store: SqlJobStore) -> None:
    job_id = await _finished(client, store)
    day = await _link(client, job_id, bearer("reader"), ttl_s=86_400)
    assert day.ttl_s == 86_400
    for ttl in (59, 86_401, 0):
        resp = await client.post(
            f"/v1/evaluations/{job_id}/report-links", params={"ttl_s": ttl}, headers=bearer("reader")
        )
        assert resp.status_code == 400 and resp.json()["error"]["field"] == "ttl_s", ttl
    assert (await client.post(f"/v1/evaluations/{job_id}/report-links")).status_code == 401
    resp = await client.post("/v1/evaluations/nope/report-links", headers=bearer("reader"))
    assert resp.status_code == 404


async def test_a_link_survives_a_key_rotation(client: Client, store: SqlJobStore, settings: Settings) -> None:
    job_id = await _finished(client, store)
    link = await _link(client, job_id, bearer("reader"))
    await SigningKeys.from_settings(settings).rotate(store)
    assert (await client.get(_path(link))).status_code == 200


@pytest.fixture
async def teams_client(tmp_path: Path, store: SqlJobStore) -> AsyncIterator[Client]:
    settings = Settings(data_dir=tmp_path, api_keys=TEAM_KEYS)
    async with serve_in_loop(create_app(settings, store)) as c:
        yield c


async def test_a_link_is_minted_only_for_a_visible_evaluation_and_opens_a_teams_report(
    teams_client: Client, store: SqlJobStore
) -> None:
    bio = {"Authorization": "Bearer bio-key"}
    cyber = {"Authorization": "Bearer cyber-key"}
    job_id = await _finished(teams_client, store, bio)
    resp = await teams_client.post(f"/v1/evaluations/{job_id}/report-links", headers=cyber)
    assert resp.status_code == 404  # another team's evaluation is not confirmed
    link = await _link(teams_client, job_id, bio)
    assert (await teams_client.get(_path(link))).status_code == 200


def test_the_access_log_filter_redacts_every_token() -> None:
    assert redact("/v1/evaluations/x/report?token=v1.abc.def") == f"/v1/evaluations/x/report?token={REDACTED}"
    assert redact("/r?a=1&token=v1.a.b&b=2") == f"/r?a=1&token={REDACTED}&b=2"
    assert redact("/r?notatoken=keep") == "/r?notatoken=keep"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/v1/evaluations/x/report?token=v1.abc.def", "1.1", 200), None,
    )  # fmt: skip
    assert LinkTokenFilter().filter(record)
    assert "v1.abc.def" not in record.getMessage() and REDACTED in record.getMessage()


def test_create_app_installs_the_filter_on_uvicorns_access_log_once(settings: Settings) -> None:
    create_app(settings)
    create_app(settings)
    filters = [f for f in logging.getLogger("uvicorn.access").filters if isinstance(f, LinkTokenFilter)]
    assert len(filters) == 1
