"""End to end through a real `serve`: `suite: tofu-forget01` on sandbox models with the retain model as `reference`;
TOFU's sets (the `locuslab/TOFU` stand-in, JSON Lines files as TOFU publishes them) pinned at submit, fetched, and
scored into the scorecard's `benchmarks`, reported and not gated; no check applies, so nothing passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.scorecard import Scorecard
from tests.support.benchmarks import publish_benchmarks, tofu
from tests.support.serve_process import hub_serve_env, run_serve, wait_until_ended

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer admin-key"}
SETS = {
    "forget": "forget01_perturbed",
    "retain": "retain_perturbed",
    "real_authors": "real_authors_perturbed",
    "world_facts": "world_facts_perturbed",
}


def test_the_tofu_suite_reports_tofus_figures_end_to_end(hub: Any, sandbox_root: Path, tmp_path: Path) -> None:
    shas = publish_benchmarks(hub.state)
    env = hub_serve_env(hub.url, sandbox_root, tmp_path)
    body = {
        "target": {"kind": "sandbox", "name": "shallow"},
        "reference": {"kind": "sandbox", "name": "retrain"},
        "suite": "tofu-forget01",
        "seed": 5,
    }
    with run_serve(env, tmp_path / "serve.log") as served:
        resp = httpx.post(f"{served.url}/v1/evaluations", json=body, headers=ADMIN, timeout=120)
        assert resp.status_code == 202, resp.text
        job = resp.json()
        pins = job["resolved_datasets"]
        assert set(pins) == {f"benchmarks.tofu.{role}" for role in SETS}
        assert {p["revision"] for p in pins.values()} == {shas[tofu.REPO_ID]}
        state = wait_until_ended(served.url, job["id"], ADMIN, timeout_s=120)
        assert state == "succeeded", served.log.read_text()[-4000:]
        card = Scorecard.model_validate(
            httpx.get(f"{served.url}/v1/evaluations/{job['id']}/scorecard", headers=ADMIN).json()
        )
    # No check applies to TOFU's question-answer sets: each is skipped with the reason, and nothing passes.
    assert card.verdict == "warn"
    for name in ("forget", "refusal", "collateral"):
        result = getattr(card.checks, name)
        assert result is not None and result.verdict == "skipped" and result.reasons == ["not_applicable"]
    [section] = card.benchmarks
    assert section.benchmark == "tofu" and section.suite == "tofu-forget01" and section.status == "computed"
    assert section.datasets == {role: f"tofu-{config}" for role, config in SETS.items()}
    metrics = {m.name: m for m in section.metrics}
    n_forget = tofu.SIZES["forget01_perturbed"]
    for name in ("forget_Q_A_Prob", "forget_Q_A_ROUGE", "forget_truth_ratio", "forget_quality"):
        assert metrics[name].n == n_forget and metrics[name].value is not None, name
    assert 0 <= (metrics["forget_quality"].value or 0) <= 1
    assert metrics["model_utility"].value is not None and metrics["model_utility"].ci_low is not None
    assert not any(m.gated for m in section.metrics)
    assert section.settings["bootstrap"]["seed"] == 5
    assert sum(r.model == "reference" for r in section.items) == n_forget
    # Provenance: each TOFU set at the pinned commit, its JSON Lines file and all its rows.
    datasets = {d.name: d for d in card.provenance.datasets}
    for config in SETS.values():
        d = datasets[f"tofu-{config}"]
        assert d.source == f"hf:{tofu.REPO_ID}@{shas[tofu.REPO_ID]}" and d.n == tofu.SIZES[config]
        assert d.hub is not None and d.hub["files"][0]["path"] == f"{config}.json"
    assert card.provenance.template_versions["tofu"] == "tofu-qa-1"
    assert card.provenance.reference is not None
