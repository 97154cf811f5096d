"""`unlearn-audit submit REQUEST.json --dry-run` against a real API: the plan printed, nothing queued, and a
refused request exiting 2 with the submit's error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.dry_run import DryRun
from service.cli import main
from service.client import Client
from service.settings import Settings
from tests.api.helpers import mc_items, valid_request
from tests.cli.server import running_api


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_keys="cli-key:submit+read")


@pytest.fixture
def server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("UNLEARN_AUDIT_API_KEY", "cli-key")
    with running_api(settings) as url:
        yield url


def _request_file(tmp_path: Path, body: dict[str, object]) -> str:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    return str(path)


def test_dry_run_prints_the_plan_and_queues_nothing(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = valid_request(sample={"n": 4})
    body["checks"]["forget"]["dataset"] = {"items": mc_items(10)}
    assert main(["submit", _request_file(tmp_path, body), "--server", server, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    plan = DryRun.model_validate_json(out)
    assert plan.datasets[0].n_items == 4 and plan.datasets[0].n_available == 10
    assert "dry run: nothing was queued" in err
    assert "dataset checks.forget.dataset (inline): 4 items" in err
    assert "check forget: standard, cloze" in err and "skips relearning" in err
    assert f"estimate: {plan.estimate.seconds:,.0f} s of checks" in err
    with Client(server) as client:
        assert client.jobs().items == []


def test_a_refused_request_exits_2_with_the_submits_error(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _request_file(tmp_path, valid_request(target={"kind": "tgi", "url": "http://example.com:8080"}))
    assert main(["submit", path, "--server", server]) == 2
    _, from_submit = capsys.readouterr()
    assert main(["submit", path, "--server", server, "--dry-run"]) == 2
    out, from_dry_run = capsys.readouterr()
    assert out == "" and from_dry_run == from_submit and "(field target.url)" in from_dry_run


def test_dry_run_and_wait_do_not_mix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", _request_file(tmp_path, valid_request()), "--dry-run", "--wait"]) == 2
    assert "nothing to --wait for" in capsys.readouterr().err
