"""The scorecard endpoint's formats (JSON, Markdown, JUnit by Accept or ?format=) and its signed attestation."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from service.signing import verify_main
from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, valid_request

Client = httpx.AsyncClient


async def _finished(client: Client, store: SqlJobStore, verdict: str = "pass") -> str:
    resp = await client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
    assert resp.status_code == 202, resp.text
    await finish_next(store, verdict=verdict)
    job_id: str = resp.json()["id"]
    return job_id


async def test_markdown_and_junit_by_accept_and_by_query(client: Client, store: SqlJobStore) -> None:
    job_id = await _finished(client, store, verdict="fail")
    path = f"/v1/evaluations/{job_id}/scorecard"

    md = await client.get(path, headers={**bearer("reader"), "Accept": "text/markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "residual_knowledge" in md.text and "fail" in md.text.lower()

    junit = await client.get(path, params={"format": "junit"}, headers=bearer("reader"))
    assert junit.status_code == 200 and "xml" in junit.headers["content-type"]
    root = ET.fromstring(junit.text)
    failures = root.findall(".//failure")
    assert failures, "a failing gated figure must be a JUnit <failure>"
    assert "0.25" in (failures[0].get("message", "") + (failures[0].text or ""))  # the threshold is stated

    # ?format= wins over Accept; JSON stays the default.
    as_json = await client.get(path, params={"format": "json"}, headers={**bearer("reader"), "Accept": "text/markdown"})
    assert as_json.json()["evaluation_id"] == job_id


async def test_unknown_format_is_a_400_naming_it(client: Client, store: SqlJobStore) -> None:
    job_id = await _finished(client, store)
    resp = await client.get(f"/v1/evaluations/{job_id}/scorecard?format=pdf", headers=bearer("reader"))
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "format"


async def test_attestation_verifies_offline_and_tampering_is_caught(
    client: Client, store: SqlJobStore, tmp_path: Path
) -> None:
    job_id = await _finished(client, store)
    assert (await client.get("/v1/evaluations/nope/attestation", headers=bearer("reader"))).status_code == 404
    envelope = (await client.get(f"/v1/evaluations/{job_id}/attestation", headers=bearer("reader"))).json()
    keys = (await client.get("/v1/signing-keys")).json()
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(keys))

    good = tmp_path / "scorecard.dsse.json"
    good.write_text(json.dumps(envelope))
    assert verify_main([str(good), "--key", str(key_file)]) == 0

    import base64

    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["evaluation_id"] == job_id
    statement["verdict"] = "fail" if statement["verdict"] == "pass" else "pass"
    tampered = dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    assert verify_main([str(bad), "--key", str(key_file)]) == 1
