"""DSSE envelopes (secure-systems-lab/dsse v1) over the RFC 8785 canonical JSON of a scorecard.

    envelope = {"payload": b64(canonical scorecard), "payloadType": PAYLOAD_TYPE,
                "signatures": [{"keyid": ..., "sig": b64(Ed25519(PAE(payloadType, payload)))}]}

PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from schemas.canonical import canonical_json
from schemas.errors import InvalidEnvelopeError
from schemas.scorecard import Scorecard

PAYLOAD_TYPE = "application/vnd.unlearn-audit.scorecard+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _b64decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidEnvelopeError(f"envelope {what} must be a base64 string")
    padded = text + "=" * (-len(text) % 4)
    try:
        # DSSE allows standard or URL-safe base64.
        alphabet = b"-_" if ("-" in text or "_" in text) else None
        return base64.b64decode(padded, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEnvelopeError(f"envelope {what} is not valid base64: {exc}") from exc


def sign_payload(
    payload: bytes, key: Ed25519PrivateKey, keyid: str, payload_type: str = PAYLOAD_TYPE
) -> dict[str, Any]:
    """A DSSE envelope with one Ed25519 signature over PAE(payload_type, payload)."""
    sig = key.sign(pae(payload_type, payload))
    return {
        "payload": base64.b64encode(payload).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")}],
    }


def sign_scorecard(scorecard: Scorecard | Mapping[str, Any], key: Ed25519PrivateKey, keyid: str) -> dict[str, Any]:
    """The DSSE envelope of a scorecard's canonical JSON (it names provenance.target.fingerprint)."""
    card = scorecard if isinstance(scorecard, Scorecard) else Scorecard.model_validate(scorecard)
    return sign_payload(canonical_json(card), key, keyid)


def _key_candidates(keyid: str, public_keys: Mapping[str, Ed25519PublicKey]) -> list[tuple[str, Ed25519PublicKey]]:
    # keyid is an unauthenticated hint: narrow the search with it, but fall back to every key.
    if keyid in public_keys:
        return [(keyid, public_keys[keyid])]
    return list(public_keys.items())


def verify_payload(
    envelope: Mapping[str, Any],
    public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey],
    payload_type: str = PAYLOAD_TYPE,
) -> tuple[bytes, str]:
    """(payload bytes, id of the key that verified) or InvalidEnvelopeError."""
    keys = dict(public_keys) if isinstance(public_keys, Mapping) else {f"key-{i}": k for i, k in enumerate(public_keys)}
    if not keys:
        raise InvalidEnvelopeError("no public keys to verify with")
    if not isinstance(envelope, Mapping):
        raise InvalidEnvelopeError("envelope must be a JSON object")
    if envelope.get("payloadType") != payload_type:
        raise InvalidEnvelopeError(f"payloadType is {envelope.get('payloadType')!r}, expected {payload_type!r}")
    payload = _b64decode(envelope.get("payload"), "payload")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise InvalidEnvelopeError("envelope has no signatures")
    message = pae(payload_type, payload)
    for entry in signatures:
        if not isinstance(entry, Mapping):
            continue
        sig = _b64decode(entry.get("sig"), "signature")
        for keyid, key in _key_candidates(str(entry.get("keyid") or ""), keys):
            try:
                key.verify(sig, message)
            except InvalidSignature:
                continue
            return payload, keyid
    raise InvalidEnvelopeError("no signature verifies with the given public keys (tampered or wrong key)")


def verify_envelope(
    envelope: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey]
) -> Scorecard:
    """The scorecard inside a DSSE envelope, once a signature verifies with one of `public_keys`.

    The payload must also be the canonical JSON of a valid scorecard. Raises InvalidEnvelopeError.
    """
    payload, _ = verify_payload(envelope, public_keys)
    return scorecard_of_payload(payload)


def scorecard_of_payload(payload: bytes) -> Scorecard:
    """The scorecard whose RFC 8785 canonical JSON `payload` is; InvalidEnvelopeError otherwise."""
    try:
        data = json.loads(payload)
        # Compared as raw JSON, not re-dumped from the model: a newer schema may add defaulted fields.
        canonical = canonical_json(data) == payload
        card = Scorecard.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise InvalidEnvelopeError(f"signed payload is not a scorecard: {exc}") from exc
    if not canonical:
        raise InvalidEnvelopeError("signed payload is not RFC 8785 canonical JSON")
    return card
