"""End to end through a real `serve`: `suite: muse-news` on sandbox models with the retain model as `reference`;
MUSE's sets (the `muse-bench/MUSE-News` stand-in, parquet files in the published layout) pinned at submit, fetched,
and scored into the scorecard's `benchmarks`, reported and not gated; no check applies, so nothing passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from evaluators.benchmark_suites import MUSE_SETS
from schemas.scorecard import Scorecard
from tests.support.benchmarks import muse, publish_benchmarks
from tests.support.serve_process import hub_serve_env, run_serve, wait_until_ended

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer admin-key"}


def test_the_muse_suite_reports_muses_figures_end_to_end(hub: Any, sandbox_root: Path, tmp_path: Path) -> None:
    shas = publish_benchmarks(hub.state)
    env = hub_serve_env(hub.url, sandbox_root, tmp_path)
    body = {
        "target": {"kind": "sandbox", "name": "shallow"},
        "reference": {"kind": "sandbox", "name": "retrain"},
        "suite": "muse-news",
        "seed": 5,
    }
    with run_serve(env, tmp_path / "serve.log") as served:
        resp = httpx.post(f"{served.url}/v1/evaluations", json=body, headers=ADMIN, timeout=120)
        assert resp.status_code == 202, resp.text
        job = resp.json()
        pins = job["resolved_datasets"]
        assert set(pins) == {f"benchmarks.muse.{role}" for role in MUSE_SETS}
        assert {p["revision"] for p in pins.values()} == {shas[muse.NEWS_ID]}
        state = wait_until_ended(served.url, job["id"], ADMIN, timeout_s=120)
        assert state == "succeeded", served.log.read_text()[-4000:]
        card = Scorecard.model_validate(
            httpx.get(f"{served.url}/v1/evaluations/{job['id']}/scorecard", headers=ADMIN).json()
        )
    assert card.verdict == "warn"
    for name in ("forget", "refusal", "collateral"):
        result = getattr(card.checks, name)
        assert result is not None and result.verdict == "skipped" and result.reasons == ["not_applicable"]
        assert "MUSE" in result.summary
    [section] = card.benchmarks
    assert section.benchmark == "muse" and section.suite == "muse-news" and section.status == "computed"
    metrics = {(m.name, m.model): m for m in section.metrics}
    sizes = {role: muse.SIZES[(config, split)] for role, (config, split, _) in MUSE_SETS.items()}
    assert metrics[("forget_verbmem_ROUGE", "target")].n == sizes["verbmem_forget"]
    assert metrics[("forget_knowmem_ROUGE", "target")].n == sizes["knowmem_forget"]
    assert metrics[("retain_knowmem_ROUGE", "target")].n == sizes["knowmem_retain"]
    leak = metrics[("privleak", "difference")]
    assert leak.value is not None and leak.ci_low is not None
    assert leak.n == sizes["privleak_forget"] + sizes["privleak_holdout"]
    assert ("mia_min_k", "reference") in metrics
    assert not any(m.gated for m in section.metrics)
    assert section.settings["bootstrap"]["seed"] == 5
    # Provenance: each MUSE set at the pinned commit, its parquet file and all its rows.
    datasets = {d.name: d for d in card.provenance.datasets}
    for role, (config, split, _) in MUSE_SETS.items():
        d = datasets[section.datasets[role]]
        assert d.source == f"hf:{muse.NEWS_ID}@{shas[muse.NEWS_ID]}" and d.n == sizes[role]
        assert d.hub is not None and d.hub["files"][0]["path"] == f"{config}/{split}-00000-of-00001.parquet"
    assert card.provenance.template_versions["muse"] == "muse-1"
