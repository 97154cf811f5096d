"""Signed scorecards: round trip, tampering, wrong keys, rotation, and the PAE of the DSSE spec."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.canonical import canonical_json
from service.signing import PAYLOAD_TYPE, InvalidEnvelopeError, KeyStore, pae, sign_scorecard, verify_envelope
from tests.reports.scorecards import build_scorecard


def test_pae_matches_the_dsse_spec() -> None:
    # DSSE protocol.md: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_round_trip_signs_the_canonical_scorecard_naming_the_weights(tmp_path: Path) -> None:
    store = KeyStore.under(tmp_path)
    sc = build_scorecard()
    envelope = store.sign(sc)
    assert envelope["payloadType"] == PAYLOAD_TYPE
    payload = base64.b64decode(envelope["payload"])
    assert payload == canonical_json(sc)
    assert json.loads(payload)["provenance"]["target"]["fingerprint"] == sc.provenance.target.fingerprint  # type: ignore[union-attr]
    assert verify_envelope(envelope, store.public_keys()) == sc
    assert verify_envelope(json.loads(json.dumps(envelope)), list(store.public_keys().values())) == sc


def _tamper(envelope: dict[str, object], **changes: object) -> dict[str, object]:
    data = json.loads(base64.b64decode(str(envelope["payload"])))
    data.update(changes)
    return {**envelope, "payload": base64.b64encode(canonical_json(data)).decode()}


def test_tampered_payload_fails(tmp_path: Path) -> None:
    store = KeyStore.under(tmp_path)
    envelope = store.sign(build_scorecard(verdict="fail"))
    with pytest.raises(InvalidEnvelopeError, match="no signature verifies"):
        verify_envelope(_tamper(envelope, verdict="pass"), store.public_keys())
    with pytest.raises(InvalidEnvelopeError, match="payloadType"):
        verify_envelope({**envelope, "payloadType": "application/vnd.in-toto+json"}, store.public_keys())
    with pytest.raises(InvalidEnvelopeError, match="no signatures"):
        verify_envelope({**envelope, "signatures": []}, store.public_keys())


def test_non_canonical_payload_fails_even_when_signed(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    sc = build_scorecard()
    from service.signing import sign_payload

    pretty = json.dumps(sc.model_dump(mode="json"), indent=2).encode()
    envelope = sign_payload(pretty, key, "k")
    with pytest.raises(InvalidEnvelopeError, match="canonical"):
        verify_envelope(envelope, {"k": key.public_key()})


def test_wrong_key_fails_and_keyid_is_only_a_hint(tmp_path: Path) -> None:
    sc = build_scorecard()
    signer, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    envelope = sign_scorecard(sc, signer, keyid="claimed-id")
    with pytest.raises(InvalidEnvelopeError):
        verify_envelope(envelope, {"claimed-id": other.public_key()})
    # A wrong or missing keyid does not stop a genuine signature from verifying.
    assert verify_envelope(envelope, {"elsewhere": signer.public_key()}) == sc


def test_rotation_keeps_old_keys_verifiable_and_retires_their_private_half(tmp_path: Path) -> None:
    store = KeyStore.under(tmp_path)
    old_id, _ = store.active()
    old_envelope = store.sign(build_scorecard())
    new_id = store.rotate()
    assert new_id != old_id and store.active()[0] == new_id
    assert not (store.directory / f"{old_id}.pem").exists()
    assert (store.directory / f"{old_id}.pub.pem").exists()
    new_envelope = store.sign(build_scorecard(verdict="pass"))
    assert new_envelope["signatures"][0]["keyid"] == new_id
    # A fresh KeyStore on the same directory (another process) sees both keys.
    reopened = KeyStore.under(tmp_path)
    statuses = {k.keyid: k.status for k in reopened.published()}
    assert statuses == {old_id: "retired", new_id: "active"}
    assert verify_envelope(old_envelope, reopened.public_keys()).verdict == "fail"
    assert verify_envelope(new_envelope, reopened.public_keys()).verdict == "pass"
    assert oct((store.directory / f"{new_id}.pem").stat().st_mode & 0o777) == "0o600"
