"""The callback receiver (checks each signature, tells which process sent each callback) and the stand-in
target that answers only TGI's `/info`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from schemas.errors import BadSignatureError
from service.signing.hmac_v1 import verify_v1


class _LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 and a spare port, served from a thread while entered."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@dataclass(frozen=True)
class Answer:
    """A callback the receiver answered 200."""

    at: float
    """time.monotonic() when it was answered."""
    delivery_id: str
    payload: dict[str, Any]
    sender_pid: int | None
    """The service process that sent it (None when it could not be told)."""


class CallbackReceiver(_LocalServer):
    """Checks each callback's HMAC signature; answers 200 when it verifies (401 when not) and keeps what it
    answered 2xx, per `evaluation_id`. `answer_after_s` holds each 200 that long (a slow receiver widens
    the window in which a delivery's answer is in flight when a fault lands)."""

    def __init__(self, secret: str, answer_after_s: float = 0.0) -> None:
        self.secret = secret
        self.answer_after_s = answer_after_s
        self.answered: dict[str, list[Answer]] = {}
        self.rejected: list[str] = []
        self.sender_of: Callable[[int, int], int | None] = lambda client_port, server_port: None
        """The pid behind a client port (set once the processes run)."""
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.receive(self.headers, body, int(self.client_address[1]))
                if status == 200:
                    time.sleep(receiver.answer_after_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def receive(self, headers: Any, body: bytes, client_port: int) -> int:
        try:
            verify_v1(
                self.secret,
                signature=headers.get("X-Unlearn-Audit-Signature"),
                delivery_id=headers.get("X-Unlearn-Audit-Delivery-Id"),
                timestamp=headers.get("X-Unlearn-Audit-Timestamp"),
                body=body,
                header_prefix="X-Unlearn-Audit",
            )
            payload = json.loads(body)
            evaluation_id = str(payload["evaluation_id"])
        except (BadSignatureError, ValueError, KeyError, TypeError) as exc:
            with self._lock:
                self.rejected.append(f"{type(exc).__name__}: {exc}"[:300])
            return 401
        sender = self.sender_of(client_port, int(self._server.server_address[1]))  # while the connection is open
        answer = Answer(time.monotonic(), str(headers.get("X-Unlearn-Audit-Delivery-Id")), payload, sender)
        with self._lock:
            self.answered.setdefault(evaluation_id, []).append(answer)
        return 200

    def snapshot(self) -> dict[str, list[Answer]]:
        with self._lock:
            return {k: list(v) for k, v in self.answered.items()}


class TargetStandIn(_LocalServer):
    """Answers TGI's `GET /info`, which the runner asks for the target's fingerprint; nothing else is called."""

    def __init__(self) -> None:
        info = json.dumps({"model_id": "bench/faults-stand-in", "model_sha": "0" * 40, "version": "stand-in"}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/info"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(info) if found else 0))
                self.end_headers()
                if found:
                    self.wfile.write(info)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)
