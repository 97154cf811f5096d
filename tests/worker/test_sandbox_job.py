"""A real `suite: "sandbox"` job through a real worker on the small test world: `retrain` against `base`.

Asserts the plumbing, not the verdicts (the truth-table tests of each check own those): the job succeeds,
its scorecard validates, and every implemented check gave figures, each with n and an interval.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.checks.registry import get_check
from schemas import EvaluationRequest, Scorecard
from schemas.scorecard import Metric
from service.settings import Settings
from service.store import SqlJobStore
from service.worker import run_worker

pytestmark = pytest.mark.slow


def _assert_figure(check: str, m: Metric) -> None:
    where = f"{check}: {m.name}[{m.variant}] ({m.model})"
    if m.value is None:
        assert m.note, f"{where}: no value and no note saying why"
        return
    assert m.n > 0, f"{where}: a value resting on n={m.n}"
    assert m.ci_low is not None and m.ci_high is not None, f"{where}: no interval"
    assert m.ci_low <= m.ci_high, f"{where}: interval [{m.ci_low}, {m.ci_high}]"


async def test_sandbox_suite_job_retrain_vs_base(sqlite_store: SqlJobStore, sandbox_root: Path, tmp_path: Path) -> None:
    request = EvaluationRequest.model_validate(
        {
            "target": {"kind": "sandbox", "name": "retrain"},
            "baseline": {"kind": "sandbox", "name": "base"},
            "suite": "sandbox",
            "labels": {"test": "sandbox-job"},
        }
    )
    job, _ = await sqlite_store.create_job(request)
    settings = Settings(data_dir=tmp_path, sandbox_dir=sandbox_root, heartbeat_s=2.0, lease_s=60.0)
    assert await run_worker(settings, worker_id="sandbox", once=True, store=sqlite_store) == 1

    done = await sqlite_store.get_job(job.id)
    assert done is not None and done.status == "succeeded", done and done.error
    card = Scorecard.model_validate(await sqlite_store.get_scorecard(job.id))
    assert card.evaluation_id == job.id and card.verdict == done.verdict
    prov = card.provenance
    assert prov.target is not None and prov.baseline is not None
    assert prov.target.fingerprint != prov.baseline.fingerprint  # two different checkpoints were audited
    assert prov.datasets and all(d.n > 0 for d in prov.datasets)
    assert prov.durations_s["job_total"] >= prov.durations_s["job"] > 0
    implemented = [name for name in ("forget", "refusal", "collateral") if get_check(name) is not None]
    assert implemented, "no check is registered: nothing to test here"
    for name in ("forget", "refusal", "collateral"):
        result = getattr(card.checks, name)
        assert result is not None, f"{name}: missing from the scorecard"
        if name not in implemented:
            assert result.reasons == ["not_implemented"]
            continue
        assert result.metrics, f"{name}: no figures ({result.verdict}: {result.reasons} {result.summary})"
        assert result.headline is not None, f"{name}: no headline figure"
        for metric in [result.headline, *result.metrics]:
            _assert_figure(name, metric)
