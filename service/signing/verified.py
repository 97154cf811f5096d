"""Verify either kind of signed scorecard: the bare scorecard envelope or the in-toto Statement envelope.

    signed = verify_signed(envelope, public_keys)   # SignedScorecard(scorecard, keyid, payload_type, subject)

The envelope's payloadType picks the kind; it is covered by the signature (DSSE signs PAE(payloadType,
payload)), so a relabelled envelope does not verify.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.errors import InvalidEnvelopeError
from schemas.scorecard import Scorecard
from service.signing.dsse import PAYLOAD_TYPE, scorecard_of_payload, verify_payload
from service.signing.intoto import IN_TOTO_PAYLOAD_TYPE, read_statement

PAYLOAD_TYPES = (PAYLOAD_TYPE, IN_TOTO_PAYLOAD_TYPE)
"""The envelopes `verify_signed` accepts: the scorecard itself, or its in-toto Statement."""


@dataclass(frozen=True)
class SignedScorecard:
    """A verified envelope: its scorecard, the key that signed it, its kind, and the in-toto subject (if any)."""

    scorecard: Scorecard
    keyid: str
    payload_type: str
    subject: dict[str, Any] | None = None


def verify_signed(
    envelope: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey]
) -> SignedScorecard:
    """The scorecard either kind of envelope signs, once a signature verifies; InvalidEnvelopeError otherwise."""
    if not isinstance(envelope, Mapping):
        raise InvalidEnvelopeError("envelope must be a JSON object")
    payload_type = envelope.get("payloadType")
    if payload_type not in PAYLOAD_TYPES:
        raise InvalidEnvelopeError(f"payloadType is {payload_type!r}, expected one of {', '.join(PAYLOAD_TYPES)}")
    payload, keyid = verify_payload(envelope, public_keys, payload_type)
    if payload_type == IN_TOTO_PAYLOAD_TYPE:
        card, subject = read_statement(payload)
        return SignedScorecard(card, keyid, payload_type, subject)
    return SignedScorecard(scorecard_of_payload(payload), keyid, payload_type)
