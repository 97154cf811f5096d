"""Offline checks of a signed scorecard (a DSSE envelope of the scorecard or of its in-toto Statement) against
published public keys.

The keys are those of `GET /v1/signing-keys`, active and retired alike, so a scorecard signed before a key
rotation still verifies. Imports only `cryptography`, `schemas` and the envelope code of `service.signing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.errors import InvalidEnvelopeError
from schemas.scorecard import Scorecard
from service.signing.keys import load_public_pems
from service.signing.verified import verify_signed


def public_keys_of(listing: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """keyid -> public key of every key in a `GET /v1/signing-keys` answer (active and retired)."""
    entries = listing.get("keys")
    if not isinstance(entries, list):
        raise InvalidEnvelopeError('a key listing is GET /v1/signing-keys JSON: {"keys": [...]}')
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if isinstance(entry, Mapping):
            keys.update(load_public_pems(str(entry.get("public_key_pem", ""))))
    return keys


def verify_attestation(
    envelope: Mapping[str, Any], keys: Mapping[str, Any] | Mapping[str, Ed25519PublicKey]
) -> Scorecard:
    """The scorecard an envelope signs (either kind), once a trusted key's signature checks;
    `InvalidEnvelopeError` otherwise.

    `keys` is a `GET /v1/signing-keys` answer or a keyid -> public key mapping. An envelope wrapped as
    `{"envelope": {...}}` is accepted too."""
    inner = envelope.get("envelope", envelope)
    if not isinstance(inner, Mapping):
        raise InvalidEnvelopeError("the envelope must be a JSON object")
    trusted = public_keys_of(keys) if "keys" in keys else dict(keys)
    if not all(isinstance(key, Ed25519PublicKey) for key in trusted.values()):
        raise InvalidEnvelopeError("keys must be a GET /v1/signing-keys answer or Ed25519 public keys by keyid")
    return verify_signed(dict(inner), trusted).scorecard
