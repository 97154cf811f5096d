"""`unlearn-audit verify scorecard.json [--key FILE] [--server URL]`: check a signed scorecard offline.

Either kind of envelope: the scorecard itself, or its in-toto Statement (`?format=in-toto`). Exit codes: 0 valid,
1 invalid (tampered, wrong key, not a scorecard envelope), 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.signing.dsse import InvalidEnvelopeError
from service.signing.intoto import IN_TOTO_PAYLOAD_TYPE
from service.signing.keys import load_public_pems
from service.signing.verified import verify_signed


class _UsageError(Exception):
    pass


def _keys_from_listing(listing: Any) -> dict[str, Ed25519PublicKey]:
    if not isinstance(listing, dict) or not isinstance(listing.get("keys"), list):
        raise _UsageError('key listing must be GET /v1/signing-keys JSON: {"keys": [...]}')
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in listing["keys"]:
        keys.update(load_public_pems(str(entry.get("public_key_pem", ""))))
    return keys


def _keys_from_file(path: Path) -> dict[str, Ed25519PublicKey]:
    text = path.read_text()
    if text.lstrip().startswith("{"):
        return _keys_from_listing(json.loads(text))
    return load_public_pems(text)


def _keys_from_server(url: str) -> dict[str, Ed25519PublicKey]:
    from service.client import Client

    with Client(url) as client:
        return _keys_from_listing(client.signing_keys())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="unlearn-audit verify", description=__doc__.splitlines()[0])
    p.add_argument("envelope", type=Path, help="a DSSE envelope of a scorecard or of its in-toto Statement (JSON)")
    p.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        help="PEM public key(s), or a saved GET /v1/signing-keys JSON; repeatable",
    )
    p.add_argument("--server", help="fetch the public keys from this server's /v1/signing-keys")
    return p


def verify_main(argv: Sequence[str] | None = None) -> int:
    """Run `verify`; prints the verdict of the check and returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if not args.key and not args.server:
            raise _UsageError("give --key FILE or --server URL (the public keys to trust)")
        keys: dict[str, Ed25519PublicKey] = {}
        for path in args.key:
            keys.update(_keys_from_file(path))
        if args.server:
            keys.update(_keys_from_server(args.server))
        document = json.loads(args.envelope.read_text())
    except (OSError, ValueError, _UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # network errors from httpx and the like: not a verdict on the scorecard
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    envelope = document.get("envelope", document) if isinstance(document, dict) else document
    try:
        signed = verify_signed(envelope, keys)
    except InvalidEnvelopeError as exc:
        print(f"INVALID: {exc.message}", file=sys.stderr)
        return 1
    card, keyid = signed.scorecard, signed.keyid
    target = card.provenance.target
    fingerprint = "none recorded"
    if target is not None and target.fingerprint:
        fingerprint = f"{target.fingerprint} ({'verified' if target.fingerprint_verified else 'claimed'})"
    print(f"valid: evaluation {card.evaluation_id}, verdict {card.verdict}, signed by key {keyid}")
    print(f"target weights: {fingerprint}")
    if signed.payload_type == IN_TOTO_PAYLOAD_TYPE and signed.subject is not None:
        digest = signed.subject["digest"]["sha256"]
        print(
            f"in-toto subject: {signed.subject['name']} sha256:{digest} ({signed.subject['annotations']['digest_of']})"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(verify_main())
