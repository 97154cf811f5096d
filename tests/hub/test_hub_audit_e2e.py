"""End to end through a real `serve`: a push to a pull request on the (local, protocol-faithful) Hub starts an
audit of exactly that commit, the worker fetches it through huggingface_hub into the cache, and the verdict
is posted on the pull request. The models are sandbox controls committed to Hub repositories."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.scorecard import Scorecard
from tests.support.serve_process import clean_env, run_serve, wait_until_ended
from tests.webhooks import payloads as p

pytestmark = pytest.mark.slow
SECRET = "hub-webhook-secret"
ADMIN = {"Authorization": "Bearer admin-key"}


def _profile(sandbox_root: Path) -> dict[str, Any]:
    return {
        "name": "unlearned-on-the-hub",
        "registry": "huggingface",
        "model": "acme/*-unlearned",
        "target": {"kind": "hf", "repo": "{model}", "revision": "{revision}"},
        "baseline": {"kind": "hf", "repo": "acme/base", "revision": "main"},
        "checks": {"forget": {"dataset": {"builtin": "sandbox/forget"}, "subject": "virology", "attacks": []}},
        "limit": 60,
        "model_card_pr": True,
    }


def test_a_pull_request_push_is_audited_at_its_commit_and_answered_on_the_pr(
    hub: Any, sandbox_root: Path, tmp_path: Path
) -> None:
    from tests.support.servers.hub import HubRepo

    models = sandbox_root / "models"
    hub.state.add(HubRepo.from_directory(models / "base", "acme/base"))
    repo = hub.state.add(HubRepo.from_directory(models / "base", "acme/virus-unlearned", writers=["auditor"]))
    token = hub.state.add_user("auditor")
    # The unlearned weights arrive as a pull request; main still holds the base model.
    shallow = {p.name: p.read_bytes() for p in (models / "shallow").iterdir()}
    pr = repo.open_pull_request(shallow, title="Unlearn the virus facts", author="auditor")
    pr_sha = repo.pull_refs[pr.num]
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps({"profiles": [_profile(sandbox_root)]}))
    env = clean_env(
        UNLEARN_AUDIT_DATA_DIR=str(tmp_path / "data"),
        UNLEARN_AUDIT_SANDBOX_DIR=str(sandbox_root),
        UNLEARN_AUDIT_API_KEYS="admin-key:admin",
        UNLEARN_AUDIT_HF_WEBHOOK_SECRET=SECRET,
        UNLEARN_AUDIT_WEBHOOK_PROFILES_FILE=str(profiles),
        UNLEARN_AUDIT_HUB_ENDPOINT=hub.url,
        UNLEARN_AUDIT_HUB_REPOS="acme/*",
        UNLEARN_AUDIT_ALLOWED_HOSTS="127.0.0.1,localhost",  # the Hub and its CDN
        UNLEARN_AUDIT_HUB_WRITE_TOKEN=token,
        UNLEARN_AUDIT_PUBLIC_URL="https://audit.example",
        UNLEARN_AUDIT_POLL_S="0.2",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    payload = p.hf_payload(repo="acme/virus-unlearned", sha=repo.branches["main"])
    payload["updatedRefs"] = [{"ref": f"refs/pr/{pr.num}", "oldSha": pr.base_oid, "newSha": pr_sha}]
    body = json.dumps(payload).encode()
    with run_serve(env, tmp_path / "serve.log") as served:
        hook = httpx.post(
            f"{served.url}/v1/webhooks/huggingface",
            content=body,
            headers={"X-Webhook-Secret": SECRET, "Content-Type": "application/json"},
            timeout=60,
        )
        assert hook.status_code == 202, hook.text
        job_id = hook.json()["job_id"]
        job = httpx.get(f"{served.url}/v1/evaluations/{job_id}", headers=ADMIN).json()
        assert job["resolved"]["target"]["revision"] == pr_sha  # the PR's head, not main's
        assert job["resolved"]["baseline"]["revision"] == repo_head(hub, "acme/base")
        assert wait_until_ended(served.url, job_id, ADMIN) == "succeeded", served.log.read_text()[-3000:]
        card = Scorecard.model_validate(
            httpx.get(f"{served.url}/v1/evaluations/{job_id}/scorecard", headers=ADMIN).json()
        )
        deliveries = _delivered(served.url, job_id)
    target = card.provenance.target
    assert target is not None and target.source is not None and target.source.revision == pr_sha
    assert target.fingerprint is not None and target.fingerprint_verified
    assert deliveries["channel"] == "huggingface" and deliveries["delivered"]
    comment = repo.discussions[pr.num].comments[-1]
    assert f"commit `{pr_sha}`" in comment and f"Evaluation `{job_id}`" in comment
    assert f"https://audit.example/v1/evaluations/{job_id}/report" in comment
    # The model card pull request adds the results in the Hub's model-index format.
    card_prs = [d for d in repo.discussions.values() if d.is_pull_request and d.num != pr.num]
    assert len(card_prs) == 1
    readme = repo.read("README.md", f"refs/pr/{card_prs[0].num}").decode()
    assert "model-index:" in readme and "unlearn-audit" in readme
    # Only what loading needs was fetched, over plain HTTP via the CDN, once per commit.
    downloads = [r.path for r in hub.requests if "/resolve/" in r.path and r.method == "GET"]
    assert downloads and all(not r.endswith("README.md") for r in downloads)


def repo_head(hub: Any, repo_id: str) -> str:
    head: str = hub.state.repo(repo_id).branches["main"]
    return head


def _delivered(url: str, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """The job's Hub write-back delivery, once it has ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        deliveries = httpx.get(f"{url}/v1/evaluations/{job_id}/deliveries", headers=ADMIN).json()["deliveries"]
        hub_side = [d for d in deliveries if d["channel"] == "huggingface"]
        if hub_side and (hub_side[0]["delivered"] or time.monotonic() > deadline):
            return dict(hub_side[0])
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.5)
