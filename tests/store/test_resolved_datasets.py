"""Hub datasets pinned at submit are stored on the job (jobs.resolved_datasets, migration 0007), served with it
and handed to the worker that claims it, on SQLite and PostgreSQL."""

from __future__ import annotations

from schemas import EvaluationRequest
from schemas.dataset_sources import DatasetFile, DatasetSource
from service.store import SqlJobStore

PIN = DatasetSource(
    endpoint="https://hub.example",
    repo="cais/wmdp",
    config="wmdp-bio",
    split="test",
    requested="main",
    revision="a" * 40,
    files=[DatasetFile(path="wmdp-bio/test-00000-of-00001.parquet", size=123, sha256="b" * 64, blob_id="c" * 40)],
)


async def test_dataset_pins_round_trip_to_the_claiming_worker(store: SqlJobStore) -> None:
    request = EvaluationRequest.model_validate({"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox"})
    job, _ = await store.create_job(request, resolved_datasets={"checks.forget.dataset": PIN})
    assert job.resolved_datasets == {"checks.forget.dataset": PIN}
    assert (await store.get_job(job.id)) == job
    claimed = await store.claim_next("w1", 30.0)
    assert claimed is not None and claimed.resolved_datasets == {"checks.forget.dataset": PIN}
    plain, _ = await store.create_job(request)  # a job without Hub datasets: an empty mapping, not null
    assert plain.resolved_datasets == {}
