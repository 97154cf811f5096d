"""Registry payloads of each sender's real shape, and their signatures, built as each sender builds them.

Shapes: Hugging Face Hub webhook v3 (huggingface.co/docs/hub/webhooks; checked against
huggingface_hub's own `WebhookPayload` model in the tests), MLflow 3.x `mlflow/webhooks/delivery.py`
(`{"entity", "action", "timestamp", "data"}` + X-MLflow-* headers), Databricks registry webhooks
(docs.databricks.com/mlflow/model-registry-webhooks), W&B automation payload templates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from service.signing.hmac_v1 import sign_v1


def hf_payload(repo: str = "acme/llama-unlearned", sha: str = "a" * 40, scope: str = "repo.content") -> dict[str, Any]:
    return {
        "event": {"action": "update", "scope": scope},
        "repo": {
            "type": "model",
            "name": repo,
            "id": "6" * 24,
            "private": False,
            "url": {
                "web": f"https://huggingface.co/{repo}",
                "api": f"https://huggingface.co/api/models/{repo}",
            },
            "headSha": sha,
            "owner": {"id": "5" * 24},
        },
        "webhook": {"id": "7" * 24, "version": 3},
        "updatedRefs": [{"ref": "refs/heads/main", "oldSha": "b" * 40, "newSha": sha}],
    }


def mlflow_body(entity: str = "model_version", action: str = "created", **data: Any) -> bytes:
    payload = {
        "entity": entity,
        "action": action,
        "timestamp": datetime.now(UTC).isoformat(),
        "data": data
        or {
            "name": "llama-unlearned",
            "version": "3",
            "source": "models:/m-123",
            "run_id": "abcd1234abcd5678",
            "tags": {"stage": "candidate"},
            "description": "after RMU",
        },
    }
    return json.dumps(payload).encode()


def mlflow_headers(
    secret: str, body: bytes, *, delivery_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    delivery = delivery_id or str(uuid.uuid4())
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": ts,
        "X-MLflow-Signature": sign_v1(secret, delivery, ts, body),
    }


def databricks_body(event: str = "MODEL_VERSION_CREATED", model: str = "llama-unlearned", version: str = "4") -> bytes:
    return json.dumps(
        {
            "event": event,
            "webhook_id": "c5596721253c4b429368cf6f4341b88a",
            "event_timestamp": 1636062525347,
            "model_name": model,
            "version": version,
            "to_stage": "Staging",
            "from_stage": "None",
            "text": "new version",
        }
    ).encode()


def databricks_headers(secret: str, body: bytes) -> dict[str, str]:
    return {
        "X-Databricks-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def wandb_body(event: str = "LINK_MODEL", name: str = "llama-unlearned", version: str = "v5") -> bytes:
    return json.dumps(
        {
            "event_type": event,
            "event_author": "alice",
            "alias": "candidate",
            "artifact_version": version,
            "artifact_version_string": f"acme/unlearning/{name}:{version}",
            "artifact_collection_name": name,
            "project_name": "unlearning",
            "entity_name": "acme",
        }
    ).encode()


def generic_body(model: str = "llama-unlearned", version: str = "6") -> bytes:
    return json.dumps({"event": "model_version.created", "model": model, "version": version}).encode()


def generic_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    delivery = str(uuid.uuid4())
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Unlearn-Audit-Delivery-Id": delivery,
        "X-Unlearn-Audit-Timestamp": ts,
        "X-Unlearn-Audit-Signature": sign_v1(secret, delivery, ts, body),
        "Content-Type": "application/json",
    }
