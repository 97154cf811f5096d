"""End to end with a real `mlflow server` and a real `serve`: registering a version of a sandbox model starts
an audit of that version through MLflow's own signed webhook, the worker audits the artifacts it downloaded,
and the version then carries the verdict as tags, read back with MLflow's own client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.scorecard import Scorecard
from tests.support.serve_process import clean_env, run_serve, wait_until_ended

pytestmark = [pytest.mark.slow]
SIDE = Path(__file__).with_name("mlflow_side.py")
SECRET = "mlflow-webhook-secret"
ADMIN = {"Authorization": "Bearer admin-key"}


def _profile() -> dict[str, Any]:
    return {
        "name": "registered-unlearned",
        "registry": "mlflow",
        "model": "*-unlearned",
        "target": {"kind": "mlflow", "model_uri": "models:/{model}/{version}"},
        "baseline": {"kind": "sandbox", "name": "base"},
        "checks": {"forget": {"dataset": {"builtin": "sandbox/forget"}, "subject": "virology", "attacks": []}},
        "limit": 40,
    }


def _job_of(url: str, model: str, timeout_s: float = 90) -> str:
    """The evaluation a registry event started for `model` (by its webhook label)."""
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = httpx.get(f"{url}/v1/evaluations", params={"label": f"webhook.model:{model}"}, headers=ADMIN).json()
        if jobs["items"]:
            return str(jobs["items"][0]["id"])
        assert time.monotonic() < deadline, "the registry's webhook started no audit"
        time.sleep(0.5)


def _tags(mlflow_server: Any, name: str, version: str, timeout_s: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        tags: dict[str, str] = mlflow_server.run_script(SIDE, "tags", name, version)
        if "unlearn_audit.verdict" in tags:
            return tags
        assert time.monotonic() < deadline, f"no verdict tags on {name} {version}: {tags}"
        time.sleep(1.0)


def test_a_registered_version_is_audited_and_tagged_with_its_verdict(
    mlflow_server: Any, sandbox_root: Path, tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps({"profiles": [_profile()]}))
    user, password = mlflow_server.admin
    env = clean_env(
        UNLEARN_AUDIT_DATA_DIR=str(tmp_path / "data"),
        UNLEARN_AUDIT_SANDBOX_DIR=str(sandbox_root),
        UNLEARN_AUDIT_API_KEYS="admin-key:admin",
        UNLEARN_AUDIT_MLFLOW_WEBHOOK_SECRET=SECRET,
        UNLEARN_AUDIT_WEBHOOK_PROFILES_FILE=str(profiles),
        UNLEARN_AUDIT_MLFLOW_TRACKING_URI=mlflow_server.url,
        UNLEARN_AUDIT_MLFLOW_BASIC_AUTH=f"{user}:{password}",
        UNLEARN_AUDIT_PUBLIC_URL="https://audit.example",
        UNLEARN_AUDIT_POLL_S="0.2",
    )
    with run_serve(env, tmp_path / "serve.log") as served:
        mlflow_server.run_script(SIDE, "webhook", f"{served.url}/v1/webhooks/mlflow", SECRET)
        time.sleep(1.5)  # the server's webhook cache (TTL 1 s) sees the new webhook
        registered = mlflow_server.run_script(
            SIDE, "register", str(sandbox_root / "models" / "shallow"), "virus-unlearned"
        )
        version = str(registered["version"])
        job_id = _job_of(served.url, "virus-unlearned")
        job = httpx.get(f"{served.url}/v1/evaluations/{job_id}", headers=ADMIN).json()
        assert (
            job["resolved"]["target"]["name"] == "virus-unlearned" and job["resolved"]["target"]["version"] == version
        )
        assert job["resolved"]["target"]["run_id"] == registered["run_id"]
        assert wait_until_ended(served.url, job_id, ADMIN) == "succeeded", served.log.read_text()[-3000:]
        scorecard = httpx.get(f"{served.url}/v1/evaluations/{job_id}/scorecard", headers=ADMIN).json()
        tags = _tags(mlflow_server, "virus-unlearned", version)
        deliveries = httpx.get(f"{served.url}/v1/evaluations/{job_id}/deliveries", headers=ADMIN).json()
    card = Scorecard.model_validate(scorecard)
    target = card.provenance.target
    assert target is not None and target.fingerprint_verified and target.source is not None
    assert (target.source.name, target.source.version) == ("virus-unlearned", version)
    assert tags["unlearn_audit.verdict"] == card.verdict and tags["unlearn_audit.evaluation_id"] == job_id
    assert card.checks.forget is not None and tags["unlearn_audit.forget.verdict"] == card.checks.forget.verdict
    assert tags["unlearn_audit.report_url"] == f"https://audit.example/v1/evaluations/{job_id}/report"
    assert tags["unlearn_audit.attestation_digest"].startswith("sha256:")
    mlflow_side = [d for d in deliveries["deliveries"] if d["channel"] == "mlflow"]
    assert len(mlflow_side) == 1 and mlflow_side[0]["delivered"]
