"""Signed scorecards: Ed25519 over RFC 8785 canonical JSON, in a DSSE envelope (the scorecard itself, or its
in-toto Statement v1: subject the target model's weight digest, predicate the scorecard).

    keys = SigningKeys.from_settings(settings)          # the deployment's shared keys (key file or database)
    envelope = await keys.sign(store, scorecard)        # {"payload", "payloadType", "signatures"}
    statement = await keys.sign(store, scorecard, "in-toto")  # the same, as an in-toto Statement v1
    scorecard = verify_envelope(envelope, await keys.public_keys(store))   # the bare scorecard envelope
    signed = verify_signed(statement, await keys.public_keys(store))       # either kind: .scorecard, .subject

Routes: `routes.signing_router` (GET /v1/signing-keys). CLI: `cli.verify_main(argv)` (`verify`),
`keys_cli.keys_main` (`keys list|rotate`). `keys.KeyStore`: the keys a data directory keeps on its own.
"""

from typing import TYPE_CHECKING, Any

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
from service.signing.intoto import (
    IN_TOTO_PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    EnvelopeKind,
    sign_statement,
    statement_of,
    subject_of,
    verify_statement,
)
from service.signing.keys import KeyStore, PublicKeyInfo, key_id, load_public_pems, public_pem
from service.signing.verified import PAYLOAD_TYPES, SignedScorecard, verify_signed

if TYPE_CHECKING:
    from service.signing.shared import SigningKeys, read_key_file


def __getattr__(name: str) -> Any:
    # The shared keys need the server's settings and store; the envelope code above does not, so the client
    # (`service.client`) verifies without importing them.
    if name in ("SigningKeys", "read_key_file"):
        from service.signing import shared

        return getattr(shared, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IN_TOTO_PAYLOAD_TYPE",
    "PAYLOAD_TYPE",
    "PAYLOAD_TYPES",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "EnvelopeKind",
    "InvalidEnvelopeError",
    "KeyStore",
    "PublicKeyInfo",
    "SignedScorecard",
    "SigningKeys",
    "key_id",
    "load_public_pems",
    "pae",
    "public_pem",
    "read_key_file",
    "sign_payload",
    "sign_scorecard",
    "sign_statement",
    "statement_of",
    "subject_of",
    "verify_envelope",
    "verify_main",
    "verify_payload",
    "verify_signed",
    "verify_statement",
]
