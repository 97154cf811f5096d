"""A real `unlearn-audit serve` process: submit over HTTP, wait with `submit --wait`, check the scorecard."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schemas.jobs import Job
from schemas.scorecard import Scorecard
from tests.cli.server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def cli() -> list[str]:
    """The installed console script, or the same entry point through `python -m service`."""
    script = shutil.which("unlearn-audit")
    return [script] if script else [sys.executable, "-m", "service"]


def _children(pid: int) -> list[int]:
    """Direct child processes (Linux /proc): the workers and multiprocessing's resource tracker."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _still_running(pids: list[int], grace_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + grace_s
    while True:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            if state != "Z":  # a zombie has exited; only its parent's reaping is missing
                alive.append(pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.fixture
def serve_env(tmp_path: Path, tiny_checkpoint: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEARN_AUDIT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        UNLEARN_AUDIT_DATA_DIR=str(tmp_path / "data"),
        UNLEARN_AUDIT_MODEL_ROOTS=str(tiny_checkpoint.parent),
        UNLEARN_AUDIT_POLL_S="0.2",
    )
    return env


@pytest.fixture
def server(serve_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [*cli(), "serve", "--port", str(port), "--workers", "1"],
        env=serve_env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise AssertionError("serve exited early:\n" + (tmp_path / "serve.log").read_text()[-3000:])
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("serve not ready:\n" + (tmp_path / "serve.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        children = _children(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            log.close()
            left = _still_running(children)
            for pid in left:  # never leave an orphaned worker behind, even when the test fails
                os.kill(pid, signal.SIGKILL)
        assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
        assert children and not left, f"worker processes outlived serve: {left}"
    log_text = (tmp_path / "serve.log").read_text()
    assert "binding to 127.0.0.1 only" in log_text


def test_serve_runs_a_request_to_a_valid_scorecard(
    server: str, serve_env: dict[str, str], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    items = [
        {"question": f"Which letter is number {i}?", "choices": ["A", "B", "C", "D"], "answer": i % 4} for i in range(8)
    ]
    request = {
        "target": {"kind": "checkpoint", "path": str(tiny_checkpoint), "device": "cpu"},
        "checks": {"forget": {"dataset": {"items": items}, "subject": "letters", "attacks": []}},
        "labels": {"ci": "e2e"},
        "limit": 8,
    }
    accepted = httpx.post(f"{server}/v1/evaluations", json=request, timeout=30)
    assert accepted.status_code == 202, accepted.text
    job = Job.model_validate(accepted.json())
    assert accepted.headers["location"] == f"/v1/evaluations/{job.id}"

    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request))
    output = tmp_path / "scorecard.json"
    waited = subprocess.run(
        [
            *cli(),
            "submit",
            str(request_file),
            "--wait",
            "--server",
            server,
            "--timeout",
            "240",
            "--output",
            str(output),
        ],
        env=serve_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert waited.returncode in (0, 1), waited.stdout + waited.stderr  # a verdict, not an error
    card = Scorecard.model_validate_json(output.read_text())
    assert card.checks.forget is not None and card.labels == {"ci": "e2e"}
    assert f"evaluation {card.evaluation_id}: {card.verdict.upper()}" in waited.stdout

    # The first submission ran too, and its scorecard is served over HTTP.
    deadline = time.monotonic() + 120
    while (status := httpx.get(f"{server}/v1/evaluations/{job.id}").json()["status"]) in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert status == "succeeded"
    served = httpx.get(f"{server}/v1/evaluations/{job.id}/scorecard")
    assert served.status_code == 200
    assert Scorecard.model_validate(served.json()).evaluation_id == job.id
