"""Short-lived signed report links: a token that opens one evaluation's HTML report, and nothing else.

    token = "v1." + b64url(canonical JSON {"evaluation_id", "expires", "format"}) + "." + b64url(Ed25519 sig)

The signature is the deployment's scorecard signing key's (the key every API replica shares, see
service/signing/shared.py) over `CONTEXT + claims`. `CONTEXT` keeps a link signature apart from a DSSE one
(those sign "DSSEv1 ..."), so neither can stand in for the other. Any replica checks a token with the
published public keys, so no second secret has to be shared, and a key rotation does not break the links
already handed out: keys retired within the longest lifetime (`MAX_LINK_TTL_S`) still open them.

A token is refused when it is malformed, signed by no such key, for another evaluation or format, expired, or
claims a lifetime longer than `MAX_LINK_TTL_S` (so even a leaked retired key cannot mint lasting links).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.canonical import canonical_json
from schemas.errors import UnauthorizedError
from schemas.report_links import MAX_LINK_TTL_S
from service.signing.keys import PublicKeyInfo, load_public_pems

CONTEXT = b"unlearn-audit report link v1\n"
VERSION = "v1"
MAX_TOKEN_CHARS = 1024


@dataclass(frozen=True)
class LinkGrant:
    """What a token grants: `format` of evaluation `evaluation_id` until `expires` (Unix seconds)."""

    evaluation_id: str
    format: str
    expires: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_token(grant: LinkGrant, key: Ed25519PrivateKey) -> str:
    """The link token of `grant`, signed with `key`."""
    claims = canonical_json({"evaluation_id": grant.evaluation_id, "expires": grant.expires, "format": grant.format})
    return f"{VERSION}.{_b64(claims)}.{_b64(key.sign(CONTEXT + claims))}"


def _invalid() -> UnauthorizedError:
    # One message for every forgery: the caller learns nothing about which part failed.
    return UnauthorizedError("invalid report link: ask for a new one (POST /v1/evaluations/{id}/report-links)")


def _signed_claims(token: str, keys: Iterable[Ed25519PublicKey]) -> dict[str, object]:
    parts = token.split(".")
    if len(token) > MAX_TOKEN_CHARS or len(parts) != 3 or parts[0] != VERSION:
        raise _invalid()
    try:
        claims, sig = _unb64(parts[1]), _unb64(parts[2])
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    for key in keys:
        try:
            key.verify(sig, CONTEXT + claims)
        except InvalidSignature:
            continue
        try:
            decoded = json.loads(claims)
        except ValueError as exc:
            raise _invalid() from exc
        if isinstance(decoded, dict):
            return decoded
        break
    raise _invalid()


def read_token(
    token: str, keys: Iterable[Ed25519PublicKey], *, evaluation_id: str, format: str, now: datetime
) -> LinkGrant:
    """The grant of a token that opens `format` of `evaluation_id` at `now`; UnauthorizedError otherwise."""
    claims = _signed_claims(token, keys)
    grant_id, grant_format, expires = claims.get("evaluation_id"), claims.get("format"), claims.get("expires")
    if not isinstance(expires, int) or isinstance(expires, bool) or grant_id != evaluation_id or grant_format != format:
        raise _invalid()
    left = expires - now.timestamp()
    if left <= 0:
        raise UnauthorizedError("this report link has expired: ask for a new one")
    if left > MAX_LINK_TTL_S:
        raise _invalid()
    return LinkGrant(evaluation_id, format, expires)


def link_keys(published: Iterable[PublicKeyInfo], now: datetime) -> list[Ed25519PublicKey]:
    """The public keys that may have signed a link still alive at `now`: the active key and those retired
    within the longest link lifetime."""
    oldest = now - timedelta(seconds=MAX_LINK_TTL_S)
    keys: list[Ed25519PublicKey] = []
    for info in published:
        retired = datetime.fromisoformat(info.retired_at) if info.retired_at else None
        if retired is not None and retired.tzinfo is None:
            retired = retired.replace(tzinfo=UTC)
        if retired is None or retired >= oldest:
            keys.extend(load_public_pems(info.public_key_pem).values())
    return keys
