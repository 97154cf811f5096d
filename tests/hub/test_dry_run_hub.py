"""A dry run against the Hub-protocol server: a Hub target's revision resolved as a submit resolves it, a suite's
Hub datasets pinned and counted at run time, and nothing stored, not even the deployment's dataset pins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from schemas.dry_run import DryRun
from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import serve_in_loop, valid_request
from tests.support.benchmarks import publish_benchmarks

ADMIN = {"Authorization": "Bearer admin-key"}


@pytest.fixture
async def client(hub: Any, sqlite_store: SqlJobStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        sandbox_dir=tmp_path / "no-sandbox",
        api_keys="admin-key:admin",
        hub_endpoint=hub.url,
        hub_repos="acme/*",
        allowed_hosts="127.0.0.1,localhost",
        cache_max_bytes=10 * 1024**2,
    )
    async with serve_in_loop(create_app(settings, sqlite_store)) as c:
        yield c


async def _dry_run(client: httpx.AsyncClient, body: dict[str, Any]) -> DryRun:
    resp = await client.post("/v1/evaluations", params={"dry_run": "true"}, json=body, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    return DryRun.model_validate(resp.json())


async def test_a_hub_target_is_resolved_to_its_commit(
    client: httpx.AsyncClient, sqlite_store: SqlJobStore, hub: Any, tiny_checkpoint: Path
) -> None:
    from tests.support.servers.hub import HubRepo

    sha = hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/tiny")).branches["main"]
    plan = await _dry_run(client, valid_request(target={"kind": "hf", "repo": "acme/tiny"}, write_back=True))
    (target,) = plan.models
    assert (target.field, target.resolution, target.resolved) == ("target", "resolved", f"acme/tiny@{sha}")
    assert target.source is not None and (target.source.requested, target.source.revision) == ("main", sha)
    assert target.white_box is True and plan.checks[0].skipped == {}
    assert plan.request.target.kind == "hf" and plan.request.target.revision == sha  # the request as it would run
    assert plan.write_back is not None and (plan.write_back.repo, plan.write_back.revision) == ("acme/tiny", sha)
    assert (await sqlite_store.count_by_status())["queued"] == 0


async def test_a_suites_hub_datasets_are_pinned_and_counted_at_run_time(
    client: httpx.AsyncClient, sqlite_store: SqlJobStore, hub: Any
) -> None:
    shas = publish_benchmarks(hub.state)
    body = {"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}, "suite": "wmdp-bio", "sample": {"n": 50}}
    plan = await _dry_run(client, body)
    forget = next(d for d in plan.datasets if d.field == "checks.forget.dataset")
    assert forget.n_items is None and forget.note.startswith("counted at run time")
    assert forget.hub is not None and forget.hub.revision == shas["cais/wmdp"] and forget.hub.requested == "main"
    assert all(d.hub is not None and d.n_items is None for d in plan.datasets)
    assert plan.request.checks is not None and plan.request.checks.collateral is not None
    assert len(plan.request.checks.collateral.datasets) == 57  # MMLU's subjects, expanded from the suite
    assert any("assumed at most 50 items" in a for a in plan.estimate.assumptions)
    assert plan.estimate.seconds > 0
    # Neither a job nor the deployment's first pins of the suite's datasets.
    pins = await client.get("/v1/datasets/pins", headers=ADMIN)
    assert pins.status_code == 200 and pins.json()["items"] == []
    assert (await sqlite_store.count_by_status())["queued"] == 0


async def test_a_tofu_suite_runs_no_check_and_the_answer_matches_the_document(
    client: httpx.AsyncClient, hub: Any
) -> None:
    publish_benchmarks(hub.state)
    body = {"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}, "suite": "tofu-forget01"}
    resp = await client.post("/v1/evaluations", params={"dry_run": "true"}, json=body, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    plan = DryRun.model_validate(resp.json())
    assert (plan.benchmark, plan.checks, plan.request.checks) == ("tofu", [], None)
    assert plan.datasets and all(d.field.startswith("benchmarks.tofu.") for d in plan.datasets)
    assert "tofu: the benchmark's own figures: not measured" in plan.estimate.not_estimated
    document = (await client.get("/schema/openapi.json")).json()
    ok = document["paths"]["/v1/evaluations"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**ok, "components": document["components"]}).validate(resp.json())
