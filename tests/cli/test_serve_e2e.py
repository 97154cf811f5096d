"""A real `unlearn-audit serve` process: submit over HTTP, wait with `submit --wait`, check the scorecard."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schemas.jobs import Job
from schemas.scorecard import Scorecard
from tests.support.serve_process import ROOT, clean_env, cli, run_serve, wait_until_ended

pytestmark = pytest.mark.slow


@pytest.fixture
def serve_env(tmp_path: Path, tiny_checkpoint: Path) -> dict[str, str]:
    return clean_env(
        UNLEARN_AUDIT_DATA_DIR=str(tmp_path / "data"),
        UNLEARN_AUDIT_MODEL_ROOTS=str(tiny_checkpoint.parent),
        UNLEARN_AUDIT_POLL_S="0.2",
    )


@pytest.fixture
def server(serve_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with run_serve(serve_env, tmp_path / "serve.log") as served:
        assert served.children, "serve started no worker process"
        yield served.url
    assert "binding to 127.0.0.1 only" in (tmp_path / "serve.log").read_text()


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
    assert wait_until_ended(server, job.id, timeout_s=120) == "succeeded"
    served = httpx.get(f"{server}/v1/evaluations/{job.id}/scorecard")
    assert served.status_code == 200
    assert Scorecard.model_validate(served.json()).evaluation_id == job.id
