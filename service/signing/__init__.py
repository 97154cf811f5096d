"""Signed scorecards: Ed25519 over RFC 8785 canonical JSON, in a DSSE envelope.

    store = KeyStore.under(settings.data_dir)
    envelope = store.sign(scorecard)                 # {"payload", "payloadType", "signatures"}
    scorecard = verify_envelope(envelope, store.public_keys())

Routes: `routes.signing_router` (GET /v1/signing-keys). CLI: `cli.verify_main(argv)`.
"""

from service.signing.cli import verify_main
from service.signing.dsse import (
    PAYLOAD_TYPE,
    InvalidEnvelopeError,
    pae,
    sign_payload,
    sign_scorecard,
    verify_envelope,
    verify_payload,
)
from service.signing.keys import KeyStore, PublicKeyInfo, key_id, load_public_pems, public_pem

__all__ = [
    "PAYLOAD_TYPE",
    "InvalidEnvelopeError",
    "KeyStore",
    "PublicKeyInfo",
    "key_id",
    "load_public_pems",
    "pae",
    "public_pem",
    "sign_payload",
    "sign_scorecard",
    "verify_envelope",
    "verify_main",
    "verify_payload",
]
