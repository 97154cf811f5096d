"""Signed scorecards: Ed25519 over RFC 8785 canonical JSON, in a DSSE envelope.

    keys = SigningKeys.from_settings(settings)          # the deployment's shared keys (key file or database)
    envelope = await keys.sign(store, scorecard)        # {"payload", "payloadType", "signatures"}
    scorecard = verify_envelope(envelope, await keys.public_keys(store))

Routes: `routes.signing_router` (GET /v1/signing-keys). CLI: `cli.verify_main(argv)` (`verify`),
`keys_cli.keys_main` (`keys list|rotate`). `keys.KeyStore`: the keys a data directory keeps on its own.
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
from service.signing.shared import SigningKeys, read_key_file

__all__ = [
    "PAYLOAD_TYPE",
    "InvalidEnvelopeError",
    "KeyStore",
    "PublicKeyInfo",
    "SigningKeys",
    "key_id",
    "load_public_pems",
    "pae",
    "public_pem",
    "read_key_file",
    "sign_payload",
    "sign_scorecard",
    "verify_envelope",
    "verify_main",
    "verify_payload",
]
