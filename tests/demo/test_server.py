"""The demo's private server: a real `unlearn-audit serve` child process, ready, then stopped by SIGTERM."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.demo import DemoServer, demo_request

pytestmark = pytest.mark.slow


def test_server_starts_on_a_free_port_answers_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keys or a database URL in the caller's environment must not leak into the demo's private server.
    monkeypatch.setenv("UNLEARN_AUDIT_API_KEYS", "sk-outside-key")
    monkeypatch.setenv("UNLEARN_AUDIT_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    empty_sandbox = tmp_path / "sandbox"
    empty_sandbox.mkdir()
    server = DemoServer(tmp_path / "data", empty_sandbox, tmp_path / "server.log", workers=1)
    with server, httpx.Client(timeout=10.0) as client:
        server.wait_ready(client, timeout_s=90)
        assert client.get(f"{server.base_url}/readyz").json() == {"status": "ready"}
        # No key needed, and its own store: the submit reaches validation, which names the unbuilt sandbox.
        resp = client.post(f"{server.base_url}/v1/evaluations", json=demo_request("shallow"))
        assert resp.status_code in (400, 422), resp.text
        assert "not built" in resp.text
    assert server.process.returncode == 0
    assert (tmp_path / "data" / "unlearn_audit.sqlite3").is_file()
    assert "serving on http://127.0.0.1" in (tmp_path / "server.log").read_text()
