"""The scorecard as an in-toto Statement v1 in DSSE: its subject per target kind, our own verifier, and an
independent one (securesystemslib's DSSE `Envelope` with an Ed25519 `SSlibKey`, in-toto-attestation's
Statement validator), which must reject what a wrong PAE or a tampered payload would produce."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from schemas.canonical import canonical_json
from schemas.scorecard import ModelProvenance, Scorecard
from schemas.sources import ModelSource
from service.signing import (
    IN_TOTO_PAYLOAD_TYPE,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    InvalidEnvelopeError,
    key_id,
    pae,
    sign_payload,
    sign_scorecard,
    sign_statement,
    statement_of,
    verify_envelope,
    verify_main,
    verify_signed,
    verify_statement,
)
from tests.reports.scorecards import build_scorecard

WEIGHTS = "0123456789abcdef" * 4


def _with_target(target: ModelProvenance | None) -> Scorecard:
    card = build_scorecard()
    return card.model_copy(update={"provenance": card.provenance.model_copy(update={"target": target})})


def _payload(envelope: dict[str, object]) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(base64.b64decode(str(envelope["payload"])))
    return decoded


def _signer() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    return key, key_id(key.public_key())


def _sslib_key(public: Ed25519PublicKey, keyid: str) -> SSlibKey:
    return SSlibKey.from_crypto(public, keyid=keyid)


def _sslib_envelope(envelope: dict[str, object]) -> Envelope:
    # securesystemslib's from_dict rewrites the signatures of the dict it is given: hand it a copy.
    return Envelope.from_dict(copy.deepcopy(envelope))


def test_the_subject_of_fingerprinted_weights_is_their_sha256() -> None:
    source = ModelSource(
        registry="hf", endpoint="https://huggingface.co", requested="main", repo="org/m", revision="c0"
    )
    card = _with_target(
        ModelProvenance(kind="checkpoint", fingerprint=f"sha256:{WEIGHTS}", fingerprint_verified=True, source=source)
    )
    statement = statement_of(card)
    assert statement["_type"] == STATEMENT_TYPE and statement["predicateType"] == PREDICATE_TYPE
    assert statement["predicate"] == card.model_dump(mode="json")
    assert statement["subject"] == [
        {
            "name": "hf:org/m@c0",
            "digest": {"sha256": WEIGHTS},
            "annotations": {
                "kind": "checkpoint",
                "fingerprint": f"sha256:{WEIGHTS}",
                "fingerprint_verified": True,
                "digest_of": "weights",
            },
        }
    ]


def test_the_subject_of_an_endpoint_is_a_digest_of_its_description_marked_unverified() -> None:
    target = ModelProvenance(kind="tgi", fingerprint="org/m@abc", fingerprint_verified=False, description="TGI 3")
    card = _with_target(target)
    (subject,) = statement_of(card)["subject"]
    described = hashlib.sha256(canonical_json(target.model_dump(mode="json"))).hexdigest()
    assert subject["name"] == "tgi:org/m@abc"
    assert subject["digest"] == {"sha256": described}
    assert subject["annotations"]["fingerprint_verified"] is False
    assert subject["annotations"]["digest_of"] == "target_description"
    # A claimed 64-hex fingerprint is not taken for a weights digest.
    claimed = _with_target(ModelProvenance(kind="openai", fingerprint=WEIGHTS, fingerprint_verified=False))
    assert statement_of(claimed)["subject"][0]["digest"]["sha256"] != WEIGHTS
    unrecorded = statement_of(_with_target(None))["subject"][0]
    assert unrecorded["digest"] == {"sha256": hashlib.sha256(b"null").hexdigest()}
    assert unrecorded["annotations"]["digest_of"] == "target_description"


def test_round_trip_and_both_kinds_verify() -> None:
    key, kid = _signer()
    card = build_scorecard()
    envelope = sign_statement(card, key, kid)
    assert envelope["payloadType"] == IN_TOTO_PAYLOAD_TYPE
    assert base64.b64decode(envelope["payload"]) == canonical_json(statement_of(card))
    assert verify_statement(envelope, {kid: key.public_key()}) == card
    signed = verify_signed(envelope, {kid: key.public_key()})
    assert (signed.scorecard, signed.keyid, signed.payload_type) == (card, kid, IN_TOTO_PAYLOAD_TYPE)
    assert signed.subject == statement_of(card)["subject"][0]
    plain = verify_signed(sign_scorecard(card, key, kid), [key.public_key()])
    assert (plain.scorecard, plain.payload_type, plain.subject) == (card, PAYLOAD_TYPE, None)
    # The bare-scorecard verifier keeps its meaning: a Statement is not a scorecard envelope.
    with pytest.raises(InvalidEnvelopeError, match="payloadType"):
        verify_envelope(envelope, {kid: key.public_key()})


def test_a_statement_signed_from_a_stored_dict_keeps_the_dict_as_its_predicate() -> None:
    key, kid = _signer()
    stored = build_scorecard().model_dump(mode="json")
    stored["provenance"]["library_versions"] = {"torch": "2.5"}
    envelope = sign_statement(stored, key, kid)
    assert _payload(envelope)["predicate"] == stored


def test_tampering_relabelling_and_mismatched_subjects_fail() -> None:
    key, kid = _signer()
    keys = {kid: key.public_key()}
    envelope = sign_statement(build_scorecard(verdict="fail"), key, kid)
    statement = _payload(envelope)
    statement["predicate"]["verdict"] = "pass"  # type: ignore[index]
    tampered = {**envelope, "payload": base64.b64encode(canonical_json(statement)).decode()}
    with pytest.raises(InvalidEnvelopeError, match="no signature verifies"):
        verify_signed(tampered, keys)
    with pytest.raises(InvalidEnvelopeError, match="no signature verifies"):
        verify_signed({**envelope, "payloadType": PAYLOAD_TYPE}, keys)
    with pytest.raises(InvalidEnvelopeError, match="payloadType"):
        verify_signed({**envelope, "payloadType": "application/json"}, keys)
    # Signed, but naming other weights than its scorecard records: refused.
    statement = _payload(envelope)
    statement["subject"][0]["digest"]["sha256"] = "f" * 64  # type: ignore[index]
    resigned = sign_payload(canonical_json(statement), key, kid, IN_TOTO_PAYLOAD_TYPE)
    with pytest.raises(InvalidEnvelopeError, match="subject"):
        verify_signed(resigned, keys)
    statement = {**_payload(envelope), "predicateType": "https://example.com/other"}
    with pytest.raises(InvalidEnvelopeError, match="predicateType"):
        verify_signed(sign_payload(canonical_json(statement), key, kid, IN_TOTO_PAYLOAD_TYPE), keys)
    pretty = json.dumps(_payload(envelope), indent=1).encode()
    with pytest.raises(InvalidEnvelopeError, match="canonical"):
        verify_signed(sign_payload(pretty, key, kid, IN_TOTO_PAYLOAD_TYPE), keys)


def test_an_independent_dsse_implementation_verifies_our_envelope() -> None:
    key, kid = _signer()
    envelope = sign_statement(build_scorecard(), key, kid)
    trusted = _sslib_key(key.public_key(), kid)
    parsed = _sslib_envelope(envelope)
    assert parsed.payload_type == IN_TOTO_PAYLOAD_TYPE
    assert set(parsed.verify([trusted], 1)) == {kid}
    # Its PAE is the one we sign.
    assert parsed.pae() == pae(IN_TOTO_PAYLOAD_TYPE, base64.b64decode(envelope["payload"]))
    # The payload is an in-toto Statement v1 by in-toto's own validator.
    pb = json_format.Parse(parsed.payload, statement_pb2.Statement())
    Statement.copy_from_pb(pb).validate()
    assert pb.predicate_type == PREDICATE_TYPE
    assert pb.subject[0].digest["sha256"] == statement_of(build_scorecard())["subject"][0]["digest"]["sha256"]


def test_the_independent_verifier_rejects_tampering_a_wrong_pae_and_a_wrong_key() -> None:
    key, kid = _signer()
    trusted = _sslib_key(key.public_key(), kid)
    envelope = sign_statement(build_scorecard(verdict="fail"), key, kid)
    statement = _payload(envelope)
    statement["predicate"]["verdict"] = "pass"  # type: ignore[index]
    tampered = {**envelope, "payload": base64.b64encode(canonical_json(statement)).decode()}
    with pytest.raises(VerificationError):
        _sslib_envelope(tampered).verify([trusted], 1)
    payload = base64.b64decode(envelope["payload"])
    sig = base64.b64encode
    # Signatures over anything but DSSE's PAE of (payloadType, payload) do not verify.
    wrong_messages = [
        payload,  # the bare payload
        b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload),  # other type
        b"DSSEv1 %d %s %d %s" % (len(IN_TOTO_PAYLOAD_TYPE) + 1, IN_TOTO_PAYLOAD_TYPE.encode(), len(payload), payload),
    ]
    for message in wrong_messages:
        forged = {**envelope, "signatures": [{"keyid": kid, "sig": sig(key.sign(message)).decode()}]}
        with pytest.raises(VerificationError):
            _sslib_envelope(forged).verify([trusted], 1)
        with pytest.raises(InvalidEnvelopeError):
            verify_signed(forged, {kid: key.public_key()})
    other = Ed25519PrivateKey.generate()
    with pytest.raises(VerificationError):
        _sslib_envelope(envelope).verify([_sslib_key(other.public_key(), kid)], 1)


def test_verify_cli_accepts_a_statement_and_names_its_subject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, kid = _signer()
    from service.signing import public_pem

    keys = tmp_path / "key.pub.pem"
    keys.write_text(public_pem(key.public_key()))
    card = _with_target(ModelProvenance(kind="checkpoint", fingerprint=f"sha256:{WEIGHTS}", fingerprint_verified=True))
    good = tmp_path / "statement.json"
    good.write_text(json.dumps(sign_statement(card, key, kid)))
    assert verify_main([str(good), "--key", str(keys)]) == 0
    out = capsys.readouterr().out
    assert f"signed by key {kid}" in out and f"in-toto subject: checkpoint:unnamed sha256:{WEIGHTS} (weights)" in out
    statement = _payload(json.loads(good.read_text()))
    statement["predicate"]["verdict"] = "pass"  # type: ignore[index]
    bad = tmp_path / "tampered.json"
    bad.write_text(
        json.dumps({**json.loads(good.read_text()), "payload": base64.b64encode(canonical_json(statement)).decode()})
    )
    assert verify_main([str(bad), "--key", str(keys)]) == 1
    assert "INVALID" in capsys.readouterr().err
