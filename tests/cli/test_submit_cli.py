"""`unlearn-audit submit --wait` against a real API; the worker is played through the store's own API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.jobs import JobError
from service.cli.submit import format_scorecard, idempotency_key, submit, verdict_exit_code
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import scorecard_for, valid_request
from tests.cli.server import free_port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_keys="cli-key:submit+read")


@pytest.fixture
def request_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNLEARN_AUDIT_API_KEY", "cli-key")
    for name in ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "CI_PIPELINE_ID", "CI_JOB_ID", "BUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(valid_request()))
    return path


async def _finish(store: SqlJobStore, *, verdict: str | None, status: str = "succeeded") -> str:
    """Wait for the CLI's job, then end it as a worker would."""
    for _ in range(200):
        claimed = await store.claim_next("cli-test-worker", lease_s=60)
        if claimed is not None:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the CLI never submitted a job")
    await store.set_progress(claimed.id, "cli-test-worker", {"check": "forget", "done": 3, "total": 6})
    await asyncio.sleep(0.6)  # let the CLI see the running state once
    if status == "succeeded":
        assert verdict is not None
        card = scorecard_for(claimed.id, verdict).model_dump(mode="json")
        await store.finish_job(claimed.id, "cli-test-worker", status="succeeded", scorecard=card, verdict=verdict)
    else:
        error = JobError(code="model_unreachable", message="TGI at 127.0.0.1:9 did not answer")
        await store.finish_job(claimed.id, "cli-test-worker", status="failed", error=error)
    return claimed.id


async def _gate(server: str, request_file: Path, store: SqlJobStore, verdict: str | None, **kw: Any) -> int:
    status = kw.pop("status", "succeeded")
    run = asyncio.to_thread(submit, str(request_file), server=server, wait=True, **kw)
    code, _ = await asyncio.gather(run, _finish(store, verdict=verdict, status=status))
    return code


@pytest.mark.parametrize(
    ("verdict", "fail_on", "expected"),
    [("pass", "fail", 0), ("fail", "fail", 1), ("warn", "fail", 0), ("warn", "warn", 1)],
)
async def test_submit_wait_gates_on_the_verdict(
    api_server: str,
    request_file: Path,
    worker_store: SqlJobStore,
    capsys: pytest.CaptureFixture[str],
    verdict: str,
    fail_on: str,
    expected: int,
) -> None:
    code = await _gate(api_server, request_file, worker_store, verdict, fail_on=fail_on)
    assert code == expected
    out, err = capsys.readouterr()
    assert f": {verdict.upper()}" in out and "residual_knowledge 0.100 [0.020, 0.200] n=60" in out
    assert "3/6 forget" in err  # the progress display showed the running job


async def test_submit_writes_the_scorecard_and_reports(
    api_server: str, request_file: Path, worker_store: SqlJobStore, tmp_path: Path
) -> None:
    output, junit, markdown = tmp_path / "card.json", tmp_path / "report.xml", tmp_path / "summary.md"
    code = await _gate(
        api_server,
        request_file,
        worker_store,
        "fail",
        output=str(output),
        junit=str(junit),
        markdown=str(markdown),
    )
    assert code == 1
    card = json.loads(output.read_text())
    assert card["verdict"] == "fail"
    assert card["evaluation_id"] in junit.read_text() and "<testsuites" in junit.read_text()
    assert card["evaluation_id"] in markdown.read_text()


async def test_a_failed_job_exits_2_with_its_error(
    api_server: str, request_file: Path, worker_store: SqlJobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _gate(api_server, request_file, worker_store, None, status="failed") == 2
    assert "model_unreachable" in capsys.readouterr().err


async def test_refused_request_exits_2_naming_the_field(
    api_server: str, tmp_path: Path, request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(valid_request(target={"kind": "gguf"})))
    assert await asyncio.to_thread(submit, str(bad), server=api_server, wait=True) == 2
    assert "422" in capsys.readouterr().err


async def test_timeout_and_unreachable_server_exit_2(
    api_server: str, request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(submit, str(request_file), server=api_server, wait=True, timeout=0.5) == 2
    assert "after 0.5 s" in capsys.readouterr().err
    down = f"http://127.0.0.1:{free_port()}"
    assert await asyncio.to_thread(submit, str(request_file), server=down, wait=False) == 2
    assert "cannot reach" in capsys.readouterr().err


async def test_a_retried_ci_step_gets_the_same_job(
    api_server: str, request_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "991")
    ids = []
    for _ in range(2):
        assert await asyncio.to_thread(submit, str(request_file), server=api_server, wait=False) == 0
        ids.append(capsys.readouterr().out.strip())
    assert ids[0] == ids[1]
    monkeypatch.setenv("GITHUB_RUN_ID", "992")
    assert await asyncio.to_thread(submit, str(request_file), server=api_server, wait=False) == 0
    assert capsys.readouterr().out.strip() != ids[0]


def test_idempotency_key_depends_on_request_and_run() -> None:
    request = valid_request()
    ci = {"GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "1"}
    assert idempotency_key(request, ci) == idempotency_key(json.loads(json.dumps(request)), dict(ci))
    assert idempotency_key(request, ci) != idempotency_key(request, {**ci, "GITHUB_RUN_ID": "6"})
    assert idempotency_key(request, ci) != idempotency_key(valid_request(seed=1), ci)
    assert idempotency_key(request, {}) != idempotency_key(request, {})  # outside CI: a new job each call


def test_exit_codes_and_summary() -> None:
    assert [verdict_exit_code(v, "fail") for v in ("pass", "warn", "fail")] == [0, 0, 1]
    assert [verdict_exit_code(v, "warn") for v in ("pass", "warn", "fail")] == [0, 1, 1]
    text = format_scorecard(scorecard_for("job-1", "fail").model_dump(mode="json"))
    assert text.splitlines()[0] == "evaluation job-1: FAIL"
    assert "forget" in text and "threshold 0.25" in text
