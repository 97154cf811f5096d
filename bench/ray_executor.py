"""One sandbox audit with the local executor, then with the Ray executor on 1 and 2 Ray worker processes.

Reports each run's audit wall time (the runner's, from claim to scorecard), each check's duration, the
speed-up of the forget check and of the whole audit over the local executor, whether the verdicts are the
same, and how many per-item records differ (the local run may use more torch threads than a one-CPU Ray
task, which changes the order of reductions). Each run starts cold (a fresh model opener; Ray: a fresh
local instance), so model loading is in every figure. On this machine's 2 cores the ideal is under 2x.

    python bench/ray_executor.py --sandbox .sandbox/test-11-0 --out bench/results/ray_executor_<date>.json
    python bench/ray_executor.py --sandbox .sandbox/test-11-0 --forget-only --sample 64 --local-threads 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluators.suites import sandbox_checks
from schemas import EvaluationRequest, Scorecard
from service.runner import ModelPool, model_opener, run_job
from service.runner.executor import CheckExecutor, LocalExecutor
from service.settings import Settings
from service.store import create_store

CHECKS = ("forget", "refusal", "collateral")


def audit_request(sample_n: int, forget_only: bool = False) -> dict[str, Any]:
    """`shallow` against `base` with the sandbox suite's checks (all three, or only the forget check)."""
    request: dict[str, Any] = {
        "target": {"kind": "sandbox", "name": "shallow"},
        "baseline": {"kind": "sandbox", "name": "base"},
        "sample": {"n": sample_n, "seed": 3},
        "labels": {"bench": "ray-executor"},
    }
    if forget_only:
        forget = sandbox_checks().forget
        assert forget is not None
        request["checks"] = {"forget": forget.model_dump(mode="json", exclude_none=True)}
    else:
        request["suite"] = "sandbox"
    return request


async def one_audit(
    executor: CheckExecutor | None, sandbox: Path, data_dir: Path, request: dict[str, Any]
) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, sandbox_dir=sandbox, heartbeat_s=2.0, lease_s=120.0)
    store = await create_store(settings.resolved_database_url())
    try:
        job, _ = await store.create_job(EvaluationRequest.model_validate(request))
        claimed = await store.claim_next("bench", settings.lease_s)
        assert claimed is not None
        began = time.monotonic()
        chosen = executor if executor is not None else LocalExecutor()
        await run_job(claimed, store, settings, "bench", ModelPool(model_opener(settings)), executor=chosen)
        wall = time.monotonic() - began
        done = await store.get_job(job.id)
        assert done is not None and done.status == "succeeded", done and done.error
        card = Scorecard.model_validate(await store.get_scorecard(job.id))
        checks = {c: getattr(card.checks, c) for c in CHECKS if getattr(card.checks, c) is not None}
        records = {c: [r.record for r in (await store.list_items(job.id, check=c, limit=20000)).items] for c in checks}
        return {
            "wall_s": round(wall, 2),
            "verdict": card.verdict,
            "verdicts": {c: r.verdict for c, r in checks.items() if r is not None},
            "check_s": {c: r.duration_s for c, r in checks.items() if r is not None},
            "records": {c: len(r) for c, r in records.items()},
            "_records": records,
        }
    finally:
        await store.close()


def ray_audit(workers: int, sandbox: Path, data_dir: Path, request: dict[str, Any]) -> dict[str, Any]:
    import ray

    from service.runner.ray_executor import RayExecutor

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        settings_for = Settings(data_dir=data_dir, sandbox_dir=sandbox, heartbeat_s=2.0, lease_s=120.0)
        return asyncio.run(one_audit(RayExecutor(settings_for), sandbox, data_dir, request))
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", type=Path, required=True)
    parser.add_argument("--sample", type=int, default=16, help="items per dataset (the request's sample.n)")
    parser.add_argument("--local-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--forget-only", action="store_true", help="audit with the forget check alone")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    request = audit_request(args.sample, args.forget_only)
    import torch

    torch.set_num_threads(args.local_threads)
    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs["local"] = asyncio.run(one_audit(None, args.sandbox, Path(tmp) / "local", request))
        for workers in (1, 2):
            runs[f"ray_{workers}"] = ray_audit(workers, args.sandbox, Path(tmp) / f"ray{workers}", request)
    local = runs["local"]
    for name, run in runs.items():
        records = run.pop("_records") if name != "local" else local["_records"]
        run["records_differing_from_local"] = {
            c: sum(a != b for a, b in zip(records[c], local["_records"][c], strict=False))
            + abs(len(records[c]) - len(local["_records"][c]))
            for c in local["records"]
        }
        run["same_verdicts_as_local"] = run["verdicts"] == local["verdicts"]
        run["forget_speedup"] = round(local["check_s"]["forget"] / run["check_s"]["forget"], 3)
        run["audit_speedup"] = round(local["wall_s"] / run["wall_s"], 3)
    local.pop("_records")
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch_threads_local": args.local_threads},
        "load_avg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "request": request,
        "n_runs_per_config": 1,
        "runs": runs,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
