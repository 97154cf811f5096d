"""`unlearn-audit judges calibrate|list|show` against a real API and worker, the judge a replay server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main
from service.settings import Settings
from service.worker.loop import run_worker
from tests.cli.server import running_api
from tests.judges.replay_server import ReplayJudge, replay_app
from tests.support.servers.running import serve


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("UNLEARN_AUDIT_API_KEY", "cli-admin")
    return Settings(data_dir=tmp_path / "data", api_keys="cli-admin:admin,cli-reader:read")


@pytest.fixture
def api(settings: Settings) -> Iterator[str]:
    with running_api(settings) as url:
        yield url


def test_calibrate_then_list_and_show(
    api: str, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(replay_app(ReplayJudge.from_paper_gpt4())) as judge:
        target = tmp_path / "judge.json"
        target.write_text(json.dumps({"kind": "openai", "base_url": f"{judge.url}/v1", "model": "replay-judge"}))
        assert main(["judges", "calibrate", str(target), "--limit", "9", "--server", api, "--json"]) == 0
        queued = json.loads(capsys.readouterr().out)
        assert queued["status"] == "queued" and queued["request"]["limit"] == 9
        assert asyncio.run(run_worker(settings, once=True, worker_id="cli-worker")) == 1

    assert main(["judges", "show", queued["id"], "--server", api]) == 0
    shown = capsys.readouterr().out
    assert queued["id"] in shown and "succeeded" in shown and "paper agreement" in shown and "n=9" in shown
    assert main(["judges", "list", "--server", api, "--json", "--model", "replay-judge"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in listed["items"]] == [queued["id"]]
    assert main(["judges", "show", "nope", "--server", api]) == 2
    assert "404 not_found" in capsys.readouterr().err


def test_a_key_without_admin_scope_is_told_so(
    api: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNLEARN_AUDIT_API_KEY", "cli-reader")
    assert main(["judges", "list", "--server", api]) == 2
    assert "403" in capsys.readouterr().err


def test_calibrate_wait_returns_once_a_worker_has_run_it(
    api: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("service.cli.judges.POLL_S", 0.05)
    ran: list[int] = []

    def worker() -> None:  # a worker that finds the calibration once the CLI has queued it
        for _ in range(200):
            if asyncio.run(run_worker(settings, once=True, worker_id="cli-wait-worker")):
                ran.append(1)
                return
            time.sleep(0.05)

    with serve(replay_app(ReplayJudge.from_paper_gpt4())) as judge:
        target = tmp_path / "judge.json"
        target.write_text(json.dumps({"kind": "openai", "base_url": f"{judge.url}/v1", "model": "replay-judge"}))
        thread = threading.Thread(target=worker)
        thread.start()
        try:
            code = main(
                ["judges", "calibrate", str(target), "--limit", "6", "--wait", "--timeout", "60", "--server", api]
            )
        finally:
            thread.join(timeout=30)
    assert code == 0 and ran == [1]
    out = capsys.readouterr().out
    assert "succeeded" in out and "n=6" in out
