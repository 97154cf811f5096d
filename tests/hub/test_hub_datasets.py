"""Hub datasets (`DatasetRef.hub`) against the protocol-faithful Hub: pinned at submit through the real app (each
refusal with its own code and a message naming what exists), stored on the job, fetched once into the shared
cache by the runner's step before the checks, read by the loader from the cache only, with the commit sha and
the files' sha256 in the provenance."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evaluators.datasets import DatasetLoader
from schemas.datasets import DatasetRef
from schemas.requests import EvaluationRequest
from service.app import create_app
from service.runner.hub_datasets import JobHubDatasets
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import serve_in_loop, valid_request

ADMIN = {"Authorization": "Bearer admin-key"}
CARD = """---
license: mit
configs:
- config_name: wmdp-bio
  data_files:
  - split: test
    path: wmdp-bio/test-*
- config_name: wmdp-cyber
  data_files:
  - split: test
    path: wmdp-cyber/test-*
---
# A WMDP stand-in
"""


def _rows(prefix: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"answer": (start + i) % 4, "question": f"{prefix} question {start + i}?", "choices": ["w", "x", "y", "z"]}
        for i in range(n)
    ]


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    """Parquet in WMDP's exact schema: answer int64, question string, choices list<string>."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("answer", pa.int64()), ("question", pa.string()), ("choices", pa.list_(pa.string()))])
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out)
    return out.getvalue()


def _wmdp_files(bio_start: int = 0) -> dict[str, bytes | str]:
    return {
        "README.md": CARD,
        # Two shards: read in file order, the second one's rows after the first's.
        "wmdp-bio/test-00000-of-00002.parquet": _parquet(_rows("bio", 3, bio_start)),
        "wmdp-bio/test-00001-of-00002.parquet": _parquet(_rows("bio", 2, bio_start + 3)),
        "wmdp-cyber/test-00000-of-00001.parquet": _parquet(_rows("cyber", 4)),
    }


@pytest.fixture
def datasets(hub: Any) -> dict[str, Any]:
    from tests.support.servers.hub import HubRepo

    wmdp = hub.state.add(HubRepo.from_files("cais/wmdp", _wmdp_files(), repo_type="dataset"))
    first = wmdp.branches["main"]
    wmdp.commit(_wmdp_files(bio_start=100), message="New questions")  # main moves on
    hub.state.add(HubRepo.from_files("acme/gated-wmdp", _wmdp_files(), repo_type="dataset", gated="auto"))
    # No card configs: the conventional layout `data/{split}-*.parquet` (config `default`).
    plain: dict[str, bytes | str] = {
        "README.md": "# no configs",
        "data/test-00000-of-00001.parquet": _parquet(_rows("plain", 2)),
    }
    hub.state.add(HubRepo.from_files("acme/plain", plain, repo_type="dataset"))
    hub.state.add(HubRepo.from_files("other/wmdp", _wmdp_files(), repo_type="dataset"))
    return {"first": first, "main": wmdp.branches["main"], "repo": wmdp}


def _settings(hub: Any, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "api_keys": "admin-key:admin",
        "hub_endpoint": hub.url,
        "hub_datasets": "cais/wmdp,acme/*",
        "allowed_hosts": "127.0.0.1,localhost",
        "cache_max_bytes": 10 * 1024**2,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def client(hub: Any, sqlite_store: SqlJobStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_loop(create_app(_settings(hub, tmp_path), sqlite_store)) as c:
        yield c


def _body(**hub_ref: Any) -> dict[str, Any]:
    return valid_request(checks={"forget": {"dataset": {"hub": hub_ref}, "subject": "biology"}})


async def test_a_hub_dataset_is_pinned_at_submit_and_stored_on_the_job(
    client: httpx.AsyncClient, datasets: dict[str, Any], sqlite_store: SqlJobStore
) -> None:
    resp = await client.post("/v1/evaluations", json=_body(repo="cais/wmdp", config="wmdp-bio"), headers=ADMIN)
    assert resp.status_code == 202, resp.text
    pinned = resp.json()["resolved_datasets"]["checks.forget.dataset"]
    assert pinned["revision"] == datasets["main"] and pinned["requested"] == "main"
    assert pinned["config"] == "wmdp-bio" and pinned["split"] == "test"
    assert [f["path"] for f in pinned["files"]] == [
        "wmdp-bio/test-00000-of-00002.parquet",
        "wmdp-bio/test-00001-of-00002.parquet",
    ]
    assert all(len(f["sha256"]) == 64 for f in pinned["files"])  # parquet is stored with LFS: the Hub lists it
    claimed = await sqlite_store.claim_next("w1", 30.0)
    assert claimed is not None
    assert claimed.resolved_datasets["checks.forget.dataset"].revision == datasets["main"]


@pytest.mark.parametrize(
    ("hub_ref", "status", "code", "says"),
    [
        ({"repo": "cais/wmdp", "config": "wmdp-chem"}, 422, "dataset_error", "wmdp-bio, wmdp-cyber"),
        ({"repo": "cais/wmdp", "config": "wmdp-bio", "split": "train"}, 422, "dataset_error", "its splits: test"),
        ({"repo": "cais/wmdp"}, 422, "dataset_error", "wmdp-bio, wmdp-cyber"),  # several configs, no default
        ({"repo": "cais/wmdp", "config": "wmdp-bio", "revision": "nope"}, 422, "dataset_error", "no revision"),
        ({"repo": "acme/missing"}, 422, "dataset_error", "does not exist"),
        ({"repo": "other/wmdp", "config": "wmdp-bio"}, 403, "repo_not_allowed", "UNLEARN_AUDIT_HUB_DATASETS"),
        ({"repo": "acme/gated-wmdp", "config": "wmdp-bio"}, 403, "dataset_access_denied", "/datasets/acme/gated-wmdp"),
        ({"repo": "cais/wmdp", "config": "wmdp-bio", "api_key_env": "HF_TOKEN"}, 403, "secret_not_allowed", "HF_"),
    ],
)
async def test_what_cannot_be_read_is_refused_at_submit_naming_what_exists(
    client: httpx.AsyncClient, datasets: dict[str, Any], hub_ref: dict[str, Any], status: int, code: str, says: str
) -> None:
    resp = await client.post("/v1/evaluations", json=_body(**hub_ref), headers=ADMIN)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and says in error["message"], error
    assert error["field"].startswith("checks.forget.dataset.hub")


async def test_a_gated_dataset_is_read_with_the_operators_dataset_token(
    hub: Any, datasets: dict[str, Any], tmp_path: Path
) -> None:
    """A suite's refs name no token: the operator's UNLEARN_AUDIT_HUB_DATASET_TOKEN reads gated datasets at submit
    and in the worker (its account accepted the conditions)."""
    from service.routes.validation import validate_submission

    gated = hub.state.repo("acme/gated-wmdp", "dataset")
    token = hub.state.add_user("operator")
    gated.readers.add("operator")
    request = EvaluationRequest.model_validate(_body(repo="acme/gated-wmdp", config="wmdp-bio"))
    settings = _settings(hub, tmp_path, hub_dataset_token=token)
    pins = validate_submission(request, settings).datasets
    assert pins["checks.forget.dataset"].repo == "acme/gated-wmdp"
    job = JobHubDatasets(settings)
    try:
        await job.fetch(request, pins)
        ref = DatasetRef.model_validate({"hub": {"repo": "acme/gated-wmdp", "config": "wmdp-bio"}})
        assert len(DatasetLoader([], None, hub=job.fetched)(ref, "multiple_choice").items) == 5
    finally:
        job.release()


async def test_the_conventional_layout_gives_the_default_config(
    client: httpx.AsyncClient, datasets: dict[str, Any]
) -> None:
    resp = await client.post("/v1/evaluations", json=_body(repo="acme/plain"), headers=ADMIN)
    assert resp.status_code == 202, resp.text
    pinned = resp.json()["resolved_datasets"]["checks.forget.dataset"]
    assert pinned["config"] == "default" and [f["path"] for f in pinned["files"]] == [
        "data/test-00000-of-00001.parquet"
    ]


async def test_operator_pins_replace_main(hub: Any, datasets: dict[str, Any], tmp_path: Path) -> None:
    from service.routes.validation import validate_submission

    pins = f"cais/wmdp:wmdp-bio={datasets['first']}"
    settings = _settings(hub, tmp_path, dataset_revisions=pins)
    request = EvaluationRequest.model_validate(_body(repo="cais/wmdp", config="wmdp-bio"))
    pinned = validate_submission(request, settings).datasets["checks.forget.dataset"]
    assert pinned.revision == datasets["first"] and pinned.requested == "main"
    cyber = EvaluationRequest.model_validate(_body(repo="cais/wmdp", config="wmdp-cyber"))  # not pinned
    assert validate_submission(cyber, settings).datasets["checks.forget.dataset"].revision == datasets["main"]


async def test_fetched_once_into_the_cache_then_read_from_it_with_provenance(
    hub: Any, datasets: dict[str, Any], tmp_path: Path
) -> None:
    from service.routes.validation import validate_submission

    settings = _settings(hub, tmp_path, dataset_revisions=f"cais/wmdp={datasets['first']}")
    request = EvaluationRequest.model_validate(_body(repo="cais/wmdp", config="wmdp-bio"))
    pins = validate_submission(request, settings).datasets
    ref = DatasetRef.model_validate({"hub": {"repo": "cais/wmdp", "config": "wmdp-bio"}})
    hub.state.log.clear()
    loaded = []
    for _ in range(2):  # two jobs: one download
        job = JobHubDatasets(settings)
        try:
            await job.fetch(request, pins)
            loader = DatasetLoader([], None, hub=job.fetched)
            loaded.append(loader(ref, "multiple_choice"))
        finally:
            job.release()
    downloads = hub.state.log.select(server="cdn", method="GET")  # LFS files come from the CDN
    assert len(downloads) == 2, [r.path for r in hub.state.log]  # the two shards, once
    assert not hub.state.log.select(path_contains="wmdp-cyber")  # only the split's files
    first, again = loaded
    assert [i.question for i in first.items] == [f"bio question {i}?" for i in range(5)]  # the pinned commit's rows
    assert first.sha256 == again.sha256
    provenance = first.provenance()
    assert provenance.source == f"hf:cais/wmdp@{datasets['first']}"
    assert provenance.hub is not None
    assert provenance.hub["revision"] == datasets["first"] and provenance.hub["requested"] == "main"
    shard = datasets["repo"].read("wmdp-bio/test-00000-of-00002.parquet", datasets["first"])
    assert provenance.hub["files"][0]["sha256"] == hashlib.sha256(shard).hexdigest()


def test_the_loader_never_reaches_the_hub() -> None:
    from schemas.errors import DatasetError

    ref = DatasetRef.model_validate({"hub": {"repo": "cais/wmdp", "config": "wmdp-bio"}})
    with pytest.raises(DatasetError, match="not fetched before the checks"):
        DatasetLoader([], None)(ref, "multiple_choice")


async def test_configs_of_one_repository_are_listed_once_per_submission(
    hub: Any, datasets: dict[str, Any], tmp_path: Path
) -> None:
    from service.routes.validation import validate_submission

    checks = {
        "forget": {"dataset": {"hub": {"repo": "cais/wmdp", "config": "wmdp-bio"}}, "subject": "biology"},
        "collateral": {"datasets": [{"hub": {"repo": "cais/wmdp", "config": "wmdp-cyber"}}]},
    }
    request = EvaluationRequest.model_validate(valid_request(checks=checks))
    hub.state.log.clear()
    pins = validate_submission(request, _settings(hub, tmp_path)).datasets
    assert pins["checks.collateral.datasets.0"].config == "wmdp-cyber"
    assert pins["checks.forget.dataset"].revision == pins["checks.collateral.datasets.0"].revision
    assert len(hub.state.log.select(path_contains="/api/datasets/cais/wmdp")) == 1
    assert len(hub.state.log.select(method="GET", path_contains="README.md")) == 1
