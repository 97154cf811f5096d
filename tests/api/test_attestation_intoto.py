"""GET /v1/evaluations/{id}/attestation?format=in-toto: the scorecard as a signed in-toto Statement, checked by
securesystemslib against the keys of GET /v1/signing-keys; the default envelope is unchanged."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import Key, SSlibKey

from service.client import verify_attestation
from service.signing import IN_TOTO_PAYLOAD_TYPE, PAYLOAD_TYPE, PREDICATE_TYPE, verify_main
from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, valid_request

Client = httpx.AsyncClient


async def _finished(client: Client, store: SqlJobStore) -> str:
    resp = await client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
    assert resp.status_code == 202, resp.text
    await finish_next(store)
    job_id: str = resp.json()["id"]
    return job_id


async def test_in_toto_attestation_verifies_with_an_independent_implementation(
    client: Client, store: SqlJobStore, tmp_path: Path
) -> None:
    job_id = await _finished(client, store)
    path = f"/v1/evaluations/{job_id}/attestation"
    plain = (await client.get(path, headers=bearer("reader"))).json()
    assert plain["payloadType"] == PAYLOAD_TYPE  # the default is the bare scorecard envelope
    resp = await client.get(path, params={"format": "in-toto"}, headers=bearer("reader"))
    assert resp.status_code == 200, resp.text
    envelope = resp.json()
    assert envelope["payloadType"] == IN_TOTO_PAYLOAD_TYPE
    statement = json.loads(base64.b64decode(envelope["payload"]))
    stored = (await client.get(f"/v1/evaluations/{job_id}/scorecard", headers=bearer("reader"))).json()
    assert statement["predicateType"] == PREDICATE_TYPE and statement["predicate"] == stored
    assert statement["subject"][0]["digest"]["sha256"]

    listing = (await client.get("/v1/signing-keys")).json()
    trusted: list[Key] = [
        SSlibKey.from_crypto(load_pem_public_key(k["public_key_pem"].encode()), keyid=k["keyid"])
        for k in listing["keys"]
    ]
    verified = Envelope.from_dict(copy.deepcopy(envelope)).verify(trusted, 1)
    assert set(verified) == {envelope["signatures"][0]["keyid"]}

    assert verify_attestation(envelope, listing).evaluation_id == job_id
    assert verify_attestation(plain, listing).evaluation_id == job_id
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(listing))
    signed = tmp_path / "statement.json"
    signed.write_text(json.dumps(envelope))
    assert verify_main([str(signed), "--key", str(keys)]) == 0

    bad = await client.get(path, params={"format": "slsa"}, headers=bearer("reader"))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "format"
