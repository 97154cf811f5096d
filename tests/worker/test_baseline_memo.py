"""A fingerprinted baseline is scored once per worker: whole calls memoised, attacks on it reused, results
identical to computing them again, and never for an endpoint whose weights cannot be verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluators.checks.forget.whitebox import white_box_of
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.memo import MemoisedModel, ResultMemo, memoised, reused
from evaluators.models.openai_compat import OpenAICompatModel
from evaluators.models.protocol import LoglikelihoodRequest, WhiteBoxModel
from schemas import EvaluationRequest, Scorecard
from service.runner import run_job
from service.store import SqlJobStore
from tests.worker import helpers

REQUESTS = [LoglikelihoodRequest(f"Question {i}: pick one.\nAnswer:", f" {c}") for i in range(6) for c in "ABCD"]


class Batches:
    """A batch hook that counts the batches the backend really ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, done: int) -> None:
        self.calls += 1


async def test_whole_calls_are_memoised_and_copied(tiny_checkpoint: Path) -> None:
    memo = ResultMemo()
    model = await memoised(await CheckpointCache(0).open(tiny_checkpoint), memo)
    assert isinstance(model, MemoisedModel) and isinstance(model, WhiteBoxModel)
    assert white_box_of(model, is_endpoint=False) is model  # white-box attacks still reach the weights
    first_hook, second_hook = Batches(), Batches()
    first = await model.loglikelihood(REQUESTS, first_hook)
    second = await model.loglikelihood(REQUESTS, second_hook)
    assert first_hook.calls > 0 and second_hook.calls == 0  # the second call ran no batch
    assert second == first and (memo.hits, memo.misses) == (1, 1) and model.hits_here == 1
    second.clear()  # a caller changing its copy changes nothing for the next one
    assert await model.loglikelihood(REQUESTS) == first
    other = await model.loglikelihood(REQUESTS[:-1])  # another call is another key
    assert other == first[:-1] and memo.misses == 2


async def test_reused_attacks_compute_once_and_only_on_memoised_models(tiny_checkpoint: Path) -> None:
    memo = ResultMemo()
    plain = await CheckpointCache(0).open(tiny_checkpoint)
    wrapped = await memoised(plain, memo)
    runs: list[int] = []

    async def attack() -> dict[str, Any]:
        runs.append(1)
        return {"correct": [True, False], "records": [{"index": 0}]}

    a = await reused(wrapped, ["relearning", "items", 7], attack)
    a["records"].append({"index": 99})
    b = await reused(wrapped, ["relearning", "items", 7], attack)
    assert len(runs) == 1 and b == {"correct": [True, False], "records": [{"index": 0}]}
    await reused(wrapped, ["relearning", "items", 8], attack)  # another seed: computed
    await reused(plain, ["relearning", "items", 7], attack)  # not memoised: always computed
    assert len(runs) == 3


async def test_an_endpoint_is_never_memoised(openai_server: tuple[str, Any]) -> None:
    url, _ = openai_server
    endpoint = OpenAICompatModel(url + "/v1", "tiny")
    try:
        assert (await endpoint.fingerprint()).fingerprint_verified is False
        assert await memoised(endpoint, ResultMemo()) is endpoint
    finally:
        await endpoint.close()


async def test_a_second_job_reuses_the_baseline_with_identical_results(
    store: SqlJobStore, tiny_checkpoint: Path, other_checkpoint: Path, tmp_path: Path
) -> None:
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    raw = helpers.request(tiny_checkpoint, refusal=True).model_dump(mode="json")
    raw["target"] = {"kind": "checkpoint", "path": str(other_checkpoint)}
    raw["checks"]["forget"]["folds"] = 2  # four items
    memo = ResultMemo()
    ids = []
    for _ in range(2):
        job, _ = await store.create_job(EvaluationRequest.model_validate({**raw, "labels": {"n": str(len(ids))}}))
        claimed = await store.claim_next("w1", 5.0)
        assert claimed is not None and claimed.id == job.id
        await run_job(claimed, store, settings, "w1", helpers.checkpoint_pool(settings), memo=memo)
        ids.append(job.id)
    reuses = {
        role: [sum(e.data["calls"] for e in await store.events_since(i) if e.kind == f"{role}_reused") for i in ids]
        for role in ("baseline", "target")
    }
    # The first job may repeat a call itself (forget and collateral score the same four items); the second
    # reuses every baseline call of the first, and, auditing the same target again, every target call too.
    assert reuses["baseline"][1] > reuses["baseline"][0] and reuses["target"][1] > reuses["target"][0]
    assert memo.hits == sum(reuses["baseline"]) + sum(reuses["target"])
    cards = [Scorecard.model_validate(await store.get_scorecard(i)) for i in ids]
    for name in ("forget", "refusal", "collateral"):
        a, b = getattr(cards[0].checks, name), getattr(cards[1].checks, name)
        assert a.verdict == b.verdict and a.metrics == b.metrics, name
    for check in ("refusal", "collateral"):  # forget stops early here: the random baseline knows nothing
        pages = [await store.list_items(i, check=check, model="baseline", limit=1000) for i in ids]
        assert pages[0].items and [r.record for r in pages[0].items] == [r.record for r in pages[1].items]


async def test_a_candidate_audited_first_serves_as_the_next_jobs_baseline(
    store: SqlJobStore, tiny_checkpoint: Path, other_checkpoint: Path, tmp_path: Path
) -> None:
    """Job 1 audits A against B; job 2 audits B against A: each model's calls are computed once, whatever
    role it had, and give the same per-item records in both roles."""
    settings = helpers.settings(tmp_path, tiny_checkpoint)
    raw = helpers.request(tiny_checkpoint, refusal=True).model_dump(mode="json")
    raw["checks"]["forget"]["folds"] = 2
    a = {"kind": "checkpoint", "path": str(other_checkpoint)}
    b = {"kind": "checkpoint", "path": str(tiny_checkpoint)}
    memo = ResultMemo()
    ids = []
    for target, baseline in ((a, b), (b, a)):
        body = {**raw, "target": target, "baseline": baseline}
        job, _ = await store.create_job(EvaluationRequest.model_validate(body))
        claimed = await store.claim_next("w1", 5.0)
        assert claimed is not None and claimed.id == job.id
        await run_job(claimed, store, settings, "w1", helpers.checkpoint_pool(settings), memo=memo)
        ids.append(job.id)
    second = {e.kind: e.data["calls"] for e in await store.events_since(ids[1]) if e.kind.endswith("_reused")}
    assert second.get("target_reused", 0) > 0 and second.get("baseline_reused", 0) > 0
    for check in ("refusal", "collateral"):
        as_baseline = await store.list_items(ids[0], check=check, model="baseline", limit=1000)
        as_target = await store.list_items(ids[1], check=check, model="target", limit=1000)
        assert as_baseline.items and [r.record for r in as_baseline.items] == [r.record for r in as_target.items]
