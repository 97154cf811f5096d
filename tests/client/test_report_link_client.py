"""`Client.report_link`, `unlearn-audit report-link` and the in-toto attestation through `Client`, against a real
API server with API keys (uvicorn, its own SQLite store; the worker is played through the store)."""

from __future__ import annotations

import json

import httpx
import pytest

from schemas.errors import InvalidEnvelopeError, NotFoundError
from service.cli import main
from service.client import Client
from service.signing import IN_TOTO_PAYLOAD_TYPE, PAYLOAD_TYPE
from service.store import SqlJobStore
from tests.api.helpers import KEYS, finish_next, valid_request


async def _finished(server: str, store: SqlJobStore) -> str:
    with Client(server, api_key=KEYS["submitter"]) as client:
        job = client.submit(valid_request())
    await finish_next(store)
    return job.id


async def test_client_and_cli_report_links_open_the_report_without_a_key(
    api_server: str, worker_store: SqlJobStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = await _finished(api_server, worker_store)
    with Client(api_server, api_key=KEYS["reader"]) as client:
        link = client.report_link(job_id, ttl_s=120)
        with pytest.raises(NotFoundError):
            client.report_link("no-such-evaluation")
    assert link.ttl_s == 120 and link.url.startswith(f"{api_server}/v1/evaluations/{job_id}/report?token=")
    async with httpx.AsyncClient() as browser:  # no Authorization header
        assert (await browser.get(f"{api_server}/v1/evaluations/{job_id}/report")).status_code == 401
        page = await browser.get(link.url)
    assert page.status_code == 200 and job_id in page.text

    monkeypatch.setenv("UNLEARN_AUDIT_API_KEY", KEYS["reader"])
    assert main(["report-link", job_id, "--server", api_server]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith(f"{api_server}/v1/evaluations/{job_id}/report?token=") and "expires" in printed.err
    assert main(["report-link", job_id, "--server", api_server, "--ttl", "3600", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ttl_s"] == 3600 and answer["evaluation_id"] == job_id
    assert main(["report-link", job_id, "--server", api_server, "--ttl", "5"]) == 2
    assert "ttl_s" in capsys.readouterr().err


async def test_client_fetches_and_verifies_both_attestation_kinds(api_server: str, worker_store: SqlJobStore) -> None:
    job_id = await _finished(api_server, worker_store)
    with Client(api_server, api_key=KEYS["reader"]) as client:
        plain = client.attestation(job_id)
        statement = client.attestation(job_id, "in-toto")
        assert (plain["payloadType"], statement["payloadType"]) == (PAYLOAD_TYPE, IN_TOTO_PAYLOAD_TYPE)
        assert client.verify(plain) == client.verify(statement) == client.scorecard(job_id)
        with pytest.raises(InvalidEnvelopeError):
            client.verify({**statement, "payload": plain["payload"]})
