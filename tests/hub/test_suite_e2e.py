"""End to end through a real `serve`: `suite: wmdp-bio` on sandbox models, its datasets (the stand-ins of WMDP,
MMLU's 57 subjects, HarmBench and XSTest in their published layouts) pinned at submit on the local Hub, fetched by
the worker into the cache, subsampled, and scored; the scorecard names every dataset's commit and selection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.scorecard import Scorecard
from tests.support.benchmarks import publish_benchmarks
from tests.support.serve_process import hub_serve_env, run_serve, wait_until_ended

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer admin-key"}


def test_the_wmdp_bio_suite_runs_end_to_end_from_the_hub(hub: Any, sandbox_root: Path, tmp_path: Path) -> None:
    shas = publish_benchmarks(hub.state)
    env = hub_serve_env(hub.url, sandbox_root, tmp_path)
    body = {
        "target": {"kind": "sandbox", "name": "shallow"},
        "baseline": {"kind": "sandbox", "name": "base"},
        "suite": "wmdp-bio",
        "sample": {"n": 16, "seed": 3},
        "labels": {"ci": "suite-e2e"},
    }
    with run_serve(env, tmp_path / "serve.log") as served:
        resp = httpx.post(f"{served.url}/v1/evaluations", json=body, headers=ADMIN, timeout=120)
        assert resp.status_code == 202, resp.text
        job = resp.json()
        pins = job["resolved_datasets"]
        assert len(pins) == 1 + 57 + 2  # WMDP, every MMLU subject, HarmBench, XSTest
        assert pins["checks.forget.dataset"]["revision"] == shas["cais/wmdp"]
        assert {p["revision"] for k, p in pins.items() if k.startswith("checks.collateral")} == {shas["cais/mmlu"]}
        state = wait_until_ended(served.url, job["id"], ADMIN, timeout_s=420)
        assert state == "succeeded", served.log.read_text()[-4000:]
        card = Scorecard.model_validate(
            httpx.get(f"{served.url}/v1/evaluations/{job['id']}/scorecard", headers=ADMIN).json()
        )
    datasets = {d.name: d for d in card.provenance.datasets}
    wmdp = datasets["wmdp-bio"]
    assert wmdp.source == f"hf:cais/wmdp@{shas['cais/wmdp']}" and wmdp.n == 16 and wmdp.n_available == 40
    assert wmdp.hub is not None and wmdp.hub["files"][0]["path"] == "wmdp-bio/test-00000-of-00001.parquet"
    assert wmdp.selection == ["sample: 16 of 40 (n=16, seed=3)"]
    # MMLU: a sample of 16 per pooled group, spread over its subjects; every subject is in the provenance.
    mmlu = [d for d in card.provenance.datasets if d.source == f"hf:cais/mmlu@{shas['cais/mmlu']}"]
    assert len(mmlu) == 57
    adjacent = ("college_biology", "high_school_biology", "virology", "anatomy", "medical_genetics", "college_medicine")
    assert sum(datasets[s].n for s in adjacent) == 16
    assert sum(d.n for d in mmlu) == 32
    assert "drawn from group 'mmlu-adjacent'" in datasets["virology"].selection[-1]
    # HarmBench's chemical_biological rows are fewer than n_min (50): the whole set is used, and said.
    harmful = datasets["harmbench"]
    assert "not applied" in harmful.selection[0] and harmful.n == 16
    assert datasets["xstest-safe"].selection == ["filter label in ['safe']: 10 of 20 rows"]
    collateral = card.checks.collateral
    assert collateral is not None and collateral.headline is not None
    assert collateral.headline.variant in ("mmlu-adjacent", "mmlu-other") and collateral.headline.gated
    assert set(collateral.details["groups"]) == {"mmlu-adjacent", "mmlu-other"}
    forget = card.checks.forget
    # The sandbox's base model never knew the random-word stand-ins (chance accuracy): the forget check refuses to
    # credit an unlearning that had nothing to remove, and the audit cannot pass.
    assert forget is not None and forget.reasons == ["baseline_lacks_knowledge"]
    assert card.verdict == "fail"
    assert card.checks.refusal is not None and card.checks.refusal.verdict != "error"
