"""A real callback receiver (plain ASGI under uvicorn) that fails a set number of times, then verifies."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import BadSignatureError
from service.signing.hmac_v1 import verify_v1


@dataclass
class CallbackReceiver:
    """500 to the first `fail_first` requests; then verifies the signature: 200 if valid, 401 if not."""

    secret: str
    fail_first: int = 2
    answer_after_s: float = 0.0
    """Hold each response this long after the request is recorded (an attempt in flight)."""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    verified: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, body))
        status = 500
        if len(self.requests) > self.fail_first:
            try:
                verify_v1(
                    self.secret,
                    signature=headers.get("x-unlearn-audit-signature"),
                    delivery_id=headers.get("x-unlearn-audit-delivery-id"),
                    timestamp=headers.get("x-unlearn-audit-timestamp"),
                    body=body,
                )
            except BadSignatureError as exc:
                self.rejected.append(str(exc))
                status = 401
            else:
                self.verified.append({"delivery_id": headers["x-unlearn-audit-delivery-id"], **json.loads(body)})
                status = 200
        await asyncio.sleep(self.answer_after_s)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})
