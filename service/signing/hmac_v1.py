"""The MLflow 3.x webhook signature scheme, used for MLflow receivers, the generic webhook and our callbacks.

    signature = "v1," + base64(HMAC-SHA256(secret, f"{delivery_id}.{timestamp}." + raw body))

with the delivery id and the Unix timestamp (seconds) sent in their own headers. Receivers reject
timestamps older than the tolerance (replays) and compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from schemas.errors import BadSignatureError

VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


def sign_v1(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over `{delivery_id}.{timestamp}.{body}`."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify_v1(
    secret: str,
    *,
    signature: str | None,
    delivery_id: str | None,
    timestamp: str | None,
    body: bytes,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    header_prefix: str = "X-MLflow",
) -> None:
    """Raise BadSignatureError unless `signature` is a fresh, valid v1 signature of `body`."""
    if not signature or not delivery_id or not timestamp:
        missing = [
            n for n, v in (("Signature", signature), ("Delivery-Id", delivery_id), ("Timestamp", timestamp)) if not v
        ]
        raise BadSignatureError(f"missing header(s): {', '.join(f'{header_prefix}-{m}' for m in missing)}")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise BadSignatureError(f"{header_prefix}-Timestamp must be Unix seconds, got {timestamp[:40]!r}") from exc
    age = (time.time() if now is None else now) - sent_at
    if age > tolerance_s:
        raise BadSignatureError(f"timestamp is {int(age)} s old (more than {int(tolerance_s)} s): stale or replayed")
    if age < -tolerance_s:
        raise BadSignatureError(f"timestamp is {int(-age)} s in the future")
    expected = sign_v1(secret, delivery_id, timestamp, body)
    # Several signatures may be sent space-separated (secret rotation); any valid one is enough.
    candidates = signature.split(" ")
    if not any(hmac.compare_digest(c.encode(), expected.encode()) for c in candidates):
        raise BadSignatureError("signature does not match the body")
