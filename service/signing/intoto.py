"""The scorecard as an in-toto Statement v1 in a DSSE envelope, so supply-chain tools can check it.

    statement = {"_type": STATEMENT_TYPE,
                 "subject": [{"name", "digest": {"sha256": ...}, "annotations": {...}}],
                 "predicateType": PREDICATE_TYPE,
                 "predicate": <the scorecard, as stored>}
    envelope  = DSSE over the statement's RFC 8785 canonical JSON, payloadType IN_TOTO_PAYLOAD_TYPE

The subject is the audited target model (`scorecard.provenance.target`):

- weights fingerprinted by the worker (`fingerprint_verified`, `sha256:<hex>`: the sha256 over the weight
  files, see evaluators/models/weights.py): `digest.sha256` is that hex digest;
- anything else (an endpoint's claimed model name, a target without a fingerprint): `digest.sha256` is the
  sha256 of the canonical JSON of the target's provenance record, and `annotations.fingerprint_verified` is
  false. Such a digest names what the scorecard says was audited, not weights anyone could hash.

Either way the subject is a function of the predicate, and `read_statement` checks that it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from schemas.canonical import canonical_json, sha256_hex
from schemas.errors import InvalidEnvelopeError
from schemas.scorecard import Scorecard
from service.signing.dsse import sign_payload, verify_payload

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://unlearn-audit.dev/scorecard/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
EnvelopeKind = Literal["scorecard", "in-toto"]
"""What an envelope signs: the scorecard itself, or its in-toto Statement."""

_WEIGHTS_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _subject_name(target: Mapping[str, Any] | None) -> str:
    if target is None:
        return "target:unrecorded"
    source = target.get("source")
    if isinstance(source, Mapping):
        ref = _text(source.get("repo")) or _text(source.get("name")) or _text(source.get("requested")) or "unnamed"
        pin = _text(source.get("revision")) or _text(source.get("version"))
        return f"{source.get('registry')}:{ref}@{pin}" if pin else f"{source.get('registry')}:{ref}"
    claimed = _text(target.get("fingerprint")) if target.get("fingerprint_verified") is not True else None
    return f"{target.get('kind')}:{claimed or _text(target.get('description')) or 'unnamed'}"


def subject_of(scorecard: Mapping[str, Any]) -> dict[str, Any]:
    """The in-toto subject (ResourceDescriptor) of a scorecard's target model, from its JSON as signed.

    Read from the JSON rather than the model, so a later schema's defaulted fields do not change the subject
    of a Statement signed before them."""
    provenance = scorecard.get("provenance")
    found = provenance.get("target") if isinstance(provenance, Mapping) else None
    target = found if isinstance(found, Mapping) else None
    fingerprint = _text(target.get("fingerprint")) if target is not None else None
    weights = _WEIGHTS_DIGEST.match(fingerprint or "")
    verified = bool(target is not None and target.get("fingerprint_verified") is True and weights)
    digest = weights.group(1) if weights is not None and verified else sha256_hex(canonical_json(target))
    annotations: dict[str, Any] = {
        "kind": target.get("kind") if target is not None else None,
        "fingerprint": fingerprint,
        "fingerprint_verified": verified,
        "digest_of": "weights" if verified else "target_description",
    }
    return {"name": _subject_name(target), "digest": {"sha256": digest}, "annotations": annotations}


def statement_of(scorecard: Scorecard | Mapping[str, Any]) -> dict[str, Any]:
    """The in-toto Statement v1 whose predicate is the scorecard (as given: a stored dict stays as stored) and
    whose subject is its target model. ValidationError when it is not a scorecard."""
    if isinstance(scorecard, Scorecard):
        predicate = scorecard.model_dump(mode="json")
    else:
        Scorecard.model_validate(scorecard)
        predicate = json.loads(canonical_json(scorecard))
    return {
        "_type": STATEMENT_TYPE,
        "subject": [subject_of(predicate)],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def sign_statement(scorecard: Scorecard | Mapping[str, Any], key: Ed25519PrivateKey, keyid: str) -> dict[str, Any]:
    """The DSSE envelope (payloadType `application/vnd.in-toto+json`) of the scorecard's in-toto Statement."""
    return sign_payload(canonical_json(statement_of(scorecard)), key, keyid, IN_TOTO_PAYLOAD_TYPE)


def read_statement(payload: bytes) -> tuple[Scorecard, dict[str, Any]]:
    """(scorecard, subject) of a signed Statement's canonical JSON; InvalidEnvelopeError when the payload is not
    one of our Statements or its subject is not the one its predicate names."""
    try:
        statement = json.loads(payload)
        canonical = canonical_json(statement) == payload
    except ValueError as exc:
        raise InvalidEnvelopeError(f"signed payload is not JSON: {exc}") from exc
    if not canonical:
        raise InvalidEnvelopeError("signed payload is not RFC 8785 canonical JSON")
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise InvalidEnvelopeError(f"signed payload is not an in-toto Statement ({STATEMENT_TYPE})")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise InvalidEnvelopeError(f"predicateType is {statement.get('predicateType')!r}, expected {PREDICATE_TYPE!r}")
    try:
        card = Scorecard.model_validate(statement.get("predicate"))
    except ValidationError as exc:
        raise InvalidEnvelopeError(f"the Statement's predicate is not a scorecard: {exc}") from exc
    subject = subject_of(statement["predicate"])
    if statement.get("subject") != [subject]:
        raise InvalidEnvelopeError("the Statement's subject is not the target model its scorecard names")
    return card, subject


def verify_statement(
    envelope: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey]
) -> Scorecard:
    """The scorecard in a signed in-toto Statement, once a signature verifies; InvalidEnvelopeError otherwise."""
    payload, _ = verify_payload(envelope, public_keys, IN_TOTO_PAYLOAD_TYPE)
    return read_statement(payload)[0]
