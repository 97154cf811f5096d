"""The API process runs on `unlearn-audit[server]`: without torch, transformers, peft, safetensors, tokenizers
or accelerate (tests.api.torch_free_probe blocks them in a subprocess and records any attempt to import one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.server import free_port

ROOT = Path(__file__).resolve().parents[2]
NO_MODEL_LIBRARIES: dict[str, list[str]] = {"import_attempts": [], "loaded": []}


def _probe(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.api.torch_free_probe", *args]


def test_every_kind_of_api_call_runs_without_the_model_libraries(tmp_path: Path) -> None:
    result = subprocess.run(_probe("app", str(tmp_path)), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary.pop("statuses") == {
        "healthz": 200,
        "readyz": 200,
        "submit_sandbox": 202,
        "submit_checkpoint": 202,
        "submit_invalid": 422,
        "dry_run": 200,
        "job": 200,
        "scorecard": 409,  # queued: no scorecard yet
        "report": 409,
        "list": 200,
        "metrics": 200,
        "judge_calibration": 202,
        "openapi": 200,
        "webhook_generic": 202,
        "webhook_huggingface": 202,
    }
    # the dry run planned the white-box attacks from the attack names, without importing the forget check
    assert summary == {"dry_run_checks": ["forget", "refusal"], "dry_run_white_box": True, **NO_MODEL_LIBRARIES}


@pytest.mark.slow
def test_serve_with_no_workers_runs_without_the_model_libraries(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "UNLEARN_AUDIT_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        _probe("serve", str(tmp_path), str(port)), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1].decode()[-4000:]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer /healthz in 60 s"
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err.decode()[-4000:]
    assert json.loads(out.decode().strip().splitlines()[-1]) == NO_MODEL_LIBRARIES


def test_serve_with_workers_names_the_extra_they_need(tmp_path: Path) -> None:
    env = {**os.environ, "UNLEARN_AUDIT_DATA_DIR": str(tmp_path)}
    refused = subprocess.run(
        _probe("serve", str(tmp_path), str(free_port()), "1"), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2, refused.stderr[-4000:]
    assert "pip install 'unlearn-audit[worker]'" in refused.stderr and "serve --workers 0" in refused.stderr
    assert "Traceback" not in refused.stderr
