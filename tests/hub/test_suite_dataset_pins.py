"""A deployment reads a suite's datasets at the commit it first resolved them to, so figures compare across
audits while `main` moves on; a dataset the caller names resolves afresh; the operator's pins win; an admin can
forget a pin (the next audit pins what `main` is then). Through the real app against the Hub-protocol server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import serve_in_loop
from tests.support.benchmarks import publish_benchmarks
from tests.support.benchmarks.wmdp import files as wmdp_files

ADMIN = {"Authorization": "Bearer admin-key"}
WMDP_SUITE_REPOS = ("cais/wmdp", "cais/mmlu", "walledai/HarmBench", "walledai/XSTest")


def _settings(hub: Any, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "sandbox_dir": tmp_path / "no-sandbox",
        "api_keys": "admin-key:admin",
        "hub_endpoint": hub.url,
        "allowed_hosts": "127.0.0.1,localhost",
    }
    values.update(overrides)
    return Settings(**values)


def _suite(**extra: Any) -> dict[str, Any]:
    return {"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}, "suite": "wmdp-bio", **extra}


@pytest.fixture
async def client(hub: Any, sqlite_store: SqlJobStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_loop(create_app(_settings(hub, tmp_path), sqlite_store)) as c:
        yield c


def _moves_on(hub: Any) -> str:
    """A new commit on cais/wmdp's main; its sha."""
    repo = hub.state.repo("cais/wmdp", "dataset")
    repo.commit({path: data for path, data in wmdp_files(n=41).items() if path.endswith(".parquet")})
    sha: str = repo.branches["main"]
    return sha


async def test_a_suite_reads_its_datasets_at_the_deployments_first_commit(client: httpx.AsyncClient, hub: Any) -> None:
    shas = publish_benchmarks(hub.state)
    first = await client.post("/v1/evaluations", json=_suite(), headers=ADMIN)
    assert first.status_code == 202, first.text
    assert first.json()["resolved_datasets"]["checks.forget.dataset"]["revision"] == shas["cais/wmdp"]
    pins = (await client.get("/v1/datasets/pins", headers=ADMIN)).json()["items"]
    assert {(p["repo"], p["requested"], p["revision"]) for p in pins} == {
        (repo, "main", shas[repo]) for repo in WMDP_SUITE_REPOS
    }
    moved = _moves_on(hub)
    assert moved != shas["cais/wmdp"]
    again = (await client.post("/v1/evaluations", json=_suite(), headers=ADMIN)).json()
    pinned = again["resolved_datasets"]["checks.forget.dataset"]
    assert pinned["revision"] == shas["cais/wmdp"] and pinned["requested"] == "main"
    # A dataset the caller names is not a suite's: it resolves to what main is now.
    mine = {"forget": {"dataset": {"hub": {"repo": "cais/wmdp", "config": "wmdp-bio"}}, "subject": "biology"}}
    own = (await client.post("/v1/evaluations", json=_suite(checks=mine), headers=ADMIN)).json()
    assert own["resolved_datasets"]["checks.forget.dataset"]["revision"] == moved
    assert own["resolved_datasets"]["checks.collateral.datasets.0"]["revision"] == shas["cais/mmlu"]
    # Forgetting the pin: the next suite audit pins what main is then.
    gone = await client.delete("/v1/datasets/pins", params={"repo": "cais/wmdp"}, headers=ADMIN)
    assert gone.status_code == 200 and gone.json() == {"forgotten": 1}
    later = (await client.post("/v1/evaluations", json=_suite(), headers=ADMIN)).json()
    assert later["resolved_datasets"]["checks.forget.dataset"]["revision"] == moved
    pins = (await client.get("/v1/datasets/pins", headers=ADMIN)).json()["items"]
    assert {p["revision"] for p in pins if p["repo"] == "cais/wmdp"} == {moved}


async def test_operator_pins_win_and_are_not_remembered(hub: Any, sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    shas = publish_benchmarks(hub.state)
    moved = _moves_on(hub)
    settings = _settings(hub, tmp_path, dataset_revisions=f"cais/wmdp={shas['cais/wmdp']}")
    async with serve_in_loop(create_app(settings, sqlite_store)) as client:
        job = (await client.post("/v1/evaluations", json=_suite(), headers=ADMIN)).json()
        assert job["resolved_datasets"]["checks.forget.dataset"]["revision"] == shas["cais/wmdp"] != moved
        pins = (await client.get("/v1/datasets/pins", headers=ADMIN)).json()["items"]
    assert "cais/wmdp" not in {p["repo"] for p in pins} and "cais/mmlu" in {p["repo"] for p in pins}


async def test_pins_need_an_admin_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/datasets/pins")).status_code == 401
