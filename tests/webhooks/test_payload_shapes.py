"""Registry payloads a receiver cannot use are a 400 `bad_payload` after the signature checks out, never a 500:
fields of the wrong type, and text the event log cannot store (NUL characters)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from service.store import SqlJobStore
from tests.reports.server import asgi_client
from tests.webhooks import payloads as p
from tests.webhooks.app import SECRETS, webhook_app, webhook_settings

NUL = "\x00"


@pytest.fixture
def client(store: SqlJobStore, tmp_path: Path) -> httpx.AsyncClient:
    return asgi_client(webhook_app(store, webhook_settings(tmp_path)))


async def test_registry_payloads_of_the_wrong_shape_are_400(client: httpx.AsyncClient) -> None:
    secret = SECRETS["hf_webhook_secret"]
    headers = {"X-Webhook-Secret": secret, "Content-Type": "application/json"}
    shapes = [
        {**p.hf_payload(), "repo": {**p.hf_payload()["repo"], "headSha": None}, "updatedRefs": 5},
        {**p.hf_payload(), "repo": {**p.hf_payload()["repo"], "name": f"acme/x{NUL}"}},
    ]
    async with client:
        for payload in shapes:
            resp = await client.post("/v1/webhooks/huggingface", content=json.dumps(payload), headers=headers)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_payload", resp.text
        body = p.generic_body(model=f"llama{NUL}")
        headers = p.generic_headers(SECRETS["generic_webhook_secret"], body)
        resp = await client.post("/v1/webhooks/generic", content=body, headers=headers)
        assert resp.status_code == 400 and "NUL" in resp.json()["error"]["message"], resp.text
