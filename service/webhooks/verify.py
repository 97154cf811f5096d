"""Sender verification, exactly as each registry signs, on the raw body, in constant time.

Each function raises BadSignatureError (-> 401) with a message saying what was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from schemas.errors import BadSignatureError
from service.signing.hmac_v1 import verify_v1

Headers = Mapping[str, str]


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def verify_huggingface(headers: Headers, body: bytes, secret: str, now: float | None = None) -> None:
    """Hugging Face Hub sends the configured secret verbatim in `X-Webhook-Secret`."""
    sent = headers.get("x-webhook-secret")
    if not sent:
        raise BadSignatureError("missing header X-Webhook-Secret")
    if not _equal(sent, secret):
        raise BadSignatureError("X-Webhook-Secret does not match")


def verify_mlflow(headers: Headers, body: bytes, secret: str, now: float | None = None) -> None:
    """MLflow 3.x: `X-MLflow-Signature: v1,<b64 HMAC>` over `{delivery_id}.{timestamp}.{body}`; 5 min."""
    verify_v1(
        secret,
        signature=headers.get("x-mlflow-signature"),
        delivery_id=headers.get("x-mlflow-delivery-id"),
        timestamp=headers.get("x-mlflow-timestamp"),
        body=body,
        now=now,
        header_prefix="X-MLflow",
    )


def verify_databricks(headers: Headers, body: bytes, secret: str, now: float | None = None) -> None:
    """Databricks workspace registry: `X-Databricks-Signature` = hex HMAC-SHA256 of the body."""
    sent = headers.get("x-databricks-signature")
    if not sent:
        raise BadSignatureError("missing header X-Databricks-Signature")
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not _equal(sent.strip().lower(), expected):
        raise BadSignatureError("X-Databricks-Signature does not match the body")


def verify_wandb(headers: Headers, body: bytes, secret: str, now: float | None = None) -> None:
    """Weights & Biases automations: `Authorization: Bearer <secret>` (the access token of the webhook)."""
    sent = headers.get("authorization", "")
    scheme, _, token = sent.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise BadSignatureError("missing header Authorization: Bearer <secret>")
    if not _equal(token.strip(), secret):
        raise BadSignatureError("bearer token does not match")


def verify_generic(headers: Headers, body: bytes, secret: str, now: float | None = None) -> None:
    """Our own scheme (as our callbacks): `X-Unlearn-Audit-Signature`, `-Delivery-Id`, `-Timestamp`."""
    verify_v1(
        secret,
        signature=headers.get("x-unlearn-audit-signature"),
        delivery_id=headers.get("x-unlearn-audit-delivery-id"),
        timestamp=headers.get("x-unlearn-audit-timestamp"),
        body=body,
        now=now,
        header_prefix="X-Unlearn-Audit",
    )
