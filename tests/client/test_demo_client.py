"""The demo's submit-wait-collect loop goes through `Client`: a real server, the worker played through the store."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from service.client import Client
from service.demo import evaluate_controls
from service.store import SqlJobStore
from tests.api.helpers import KEYS, finish_next, valid_request


async def test_evaluate_controls_submits_waits_and_writes_scorecards(
    api_server: str, worker_store: SqlJobStore, tmp_path: Path
) -> None:
    requests = {"retrain": valid_request(labels={"control": "retrain"}), "shallow": valid_request(seed=1)}
    with Client(api_server, api_key=KEYS["submitter"]) as client:
        run = asyncio.to_thread(evaluate_controls, client, requests, tmp_path, io.StringIO(), 60.0)
        outcomes, _ = await asyncio.gather(run, _play_worker(worker_store, len(requests)))
    assert [(o.control, o.status) for o in outcomes] == [("retrain", "succeeded"), ("shallow", "succeeded")]
    for outcome in outcomes:
        card = json.loads((tmp_path / f"{outcome.control}.scorecard.json").read_text())
        assert card["evaluation_id"] == outcome.job_id and card["verdict"] == "fail"
        assert (tmp_path / f"{outcome.control}.report.html").read_text().lstrip().lower().startswith("<!doctype html")


async def _play_worker(store: SqlJobStore, jobs: int) -> None:
    done = 0
    for _ in range(400):
        try:
            await finish_next(store, verdict="fail")
        except AssertionError:  # nothing queued yet
            await asyncio.sleep(0.05)
            continue
        done += 1
        if done == jobs:
            return
    raise AssertionError(f"only {done} of {jobs} jobs were submitted")
