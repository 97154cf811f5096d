"""The Ray executor on a real local Ray cluster: the same records and verdicts as the local executor, and a
node that dies mid-audit has its check retried elsewhere.

One cluster per module, started with `ray start` as an operator would: a head and a second node, one CPU
each, no dashboard. While the audit's checks start, the head's only CPU is held by a placeholder actor, so
their first tasks run on the second node; the test kills that node's raylet, frees the head's CPU, and Ray
reruns the killed task on the head. The forget check's units (its black-box elicitations, relearning per role
and its placebo, the memorisation figures) run as Ray tasks of their own, in Ray worker processes; a cancel
that arrives while they run stops them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluators.suites import FORGET_SUBJECT, RETAIN_SUBJECT
from schemas import EvaluationRequest, Scorecard
from service.runner import ModelPool, model_opener, run_job
from service.runner.executor import CheckExecutor, LocalExecutor
from service.settings import Settings
from service.store import create_store

if os.environ.get("CI"):  # the test extra installs ray: CI fails rather than skips without it
    import ray
else:
    ray = pytest.importorskip("ray", reason="the Ray executor's optional extra: pip install -e '.[ray]'")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

CLUSTER_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}

REQUEST = {
    "target": {"kind": "sandbox", "name": "shallow"},
    "baseline": {"kind": "sandbox", "name": "base"},
    "checks": {
        "forget": {
            "dataset": {"builtin": "sandbox/forget"},
            "subject": FORGET_SUBJECT,
            "corpus": {"builtin": "sandbox/forget_corpus"},
            "attacks": ["alt_template", "relearning"],
            "folds": 2,
            "relearning": {"steps": 5},
        },
        "collateral": {"datasets": [{"builtin": "sandbox/retain", "subject": RETAIN_SUBJECT}]},
    },
    "sample": {"n": 16, "seed": 3},
    "labels": {"test": "ray-executor"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raylets() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "raylet":
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


class LocalCluster:
    """A head and a second node started with `ray start`; `second_raylet` is the second node's raylet."""

    def __init__(self, root: Path) -> None:
        self.env = {**os.environ, **CLUSTER_ENV}
        self.address = f"127.0.0.1:{_free_port()}"
        self.ray = shutil.which("ray") or "ray"
        before = _raylets()
        self._start("--head", "--port", self.address.split(":")[1], "--temp-dir", str(root / "head"))
        head = _raylets() - before
        self._start("--address", self.address, "--temp-dir", str(root / "second"))
        (self.second_raylet,) = _raylets() - before - head

    def _start(self, *args: str) -> None:
        common = ["--num-cpus", "1", "--include-dashboard", "false", "--disable-usage-stats"]
        if "--head" not in args:
            common.remove("--include-dashboard")
            common.remove("false")
        subprocess.run([self.ray, "start", *args, *common], env=self.env, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        subprocess.run([self.ray, "stop", "--force"], env=self.env, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    saved = {k: os.environ.get(k) for k in CLUSTER_ENV}
    os.environ.update(CLUSTER_ENV)
    started = None
    try:
        started = LocalCluster(Path(tmp_path_factory.mktemp("ray")))
        ray.init(address=started.address, log_to_driver=False)
        yield started
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if started is not None:
            started.stop()
        else:
            subprocess.run(["ray", "stop", "--force"], capture_output=True, timeout=120)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def _audit(
    executor_for: Callable[[Settings], CheckExecutor],
    sandbox_root: Path,
    data_dir: Path,
    during: Any = None,
    expect: str = "succeeded",
) -> dict[str, Any]:
    """Run REQUEST with the executor `executor_for` gives on its own store; `during(store, job_id)` runs beside
    it. Returns the scorecard and each check's per-item records."""
    settings = Settings(data_dir=data_dir, sandbox_dir=sandbox_root, heartbeat_s=2.0, lease_s=60.0)
    executor = executor_for(settings)
    store = await create_store(settings.resolved_database_url())
    try:
        job, _ = await store.create_job(EvaluationRequest.model_validate(REQUEST))
        claimed = await store.claim_next("w", settings.lease_s)
        assert claimed is not None
        pool = ModelPool(model_opener(settings))
        running = run_job(claimed, store, settings, "w", pool, executor=executor)
        await asyncio.gather(running, *([during(store, job.id)] if during else []))
        done = await store.get_job(job.id)
        assert done is not None and done.status == expect, done and done.error
        if expect != "succeeded":
            return {}
        card = Scorecard.model_validate(await store.get_scorecard(job.id))
        records = {
            check: [r.record for r in (await store.list_items(job.id, check=check, limit=5000)).items]
            for check in ("forget", "collateral")
        }
        return {"card": card, "records": records}
    finally:
        await store.close()


async def _check_started(store: Any, job_id: str, check: str) -> None:
    for _ in range(3000):
        if any(e.kind == "check_started" and e.data["check"] == check for e in await store.events_since(job_id)):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{check} never started")


REL_TOLERANCE, ABS_TOLERANCE = 1e-5, 1e-6
"""Floats may differ in the last bits between processes (kernels chosen per process); every other field of an
untrained elicitation's record, and so each item's choice and correctness, must be equal."""
TRAINED = {"relearning", "benign_relearning"}
"""Fine-tuning a copy on CPU is reproducible only up to floating-point reduction order, as the baseline memo
test states (tests/forget/test_truth_table.py): their items may differ in correctness on at most 2%."""


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return bool(a == pytest.approx(b, rel=REL_TOLERANCE, abs=ABS_TOLERANCE))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return bool(a == b)


def _assert_same_records(local: dict[str, list[Any]], remote: dict[str, list[Any]]) -> None:
    assert local.keys() == remote.keys()
    for check, records in local.items():
        assert len(records) == len(remote[check]), check
        trained = differ = 0
        for a, b in zip(records, remote[check], strict=True):
            assert (a.get("variant"), a.get("index")) == (b.get("variant"), b.get("index")), check
            if a.get("variant") in TRAINED:
                trained += 1
                differ += a.get("correct") != b.get("correct")
            elif not _close(a, b):
                diff = {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if not _close(a.get(k), b.get(k))}
                raise AssertionError(f"{check} item {a.get('index')} ({a.get('variant')}): local vs Ray {diff}")
        assert differ <= 0.02 * trained, (check, differ, trained)


def _untrained_figures(check: Any) -> list[dict[str, Any]]:
    return [m.model_dump() for m in check.metrics if getattr(m, "variant", None) not in TRAINED]


def _units_ran(caplog: pytest.LogCaptureFixture, check: str) -> list[str]:
    """The check's units as `label@pid`, from the Ray executor's log of the check's last run."""
    runs = [
        r.args
        for r in caplog.records
        if r.name == "service.runner.ray_executor" and "its units as Ray tasks" in r.msg and isinstance(r.args, tuple)
    ]
    runs = [args for args in runs if args[1] == check]
    assert runs, f"the {check} check ran no units as Ray tasks"
    return str(runs[-1][2]).split(", ")


async def test_ray_audit_matches_local_and_survives_a_dead_node(
    cluster: LocalCluster, sandbox_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.runner.ray_executor")
    import torch
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from service.runner.ray_executor import RayExecutor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a one-CPU Ray task: the same reductions, so the same floats
    try:
        local = await _audit(lambda _: LocalExecutor(), sandbox_root, tmp_path / "local")
    finally:
        torch.set_num_threads(threads)

    class HeadSeat:
        def ready(self) -> bool:
            return True

    head = ray.get_runtime_context().get_node_id()
    seat_actor: Any = ray.remote(num_cpus=1)(HeadSeat)
    seat = seat_actor.options(scheduling_strategy=NodeAffinitySchedulingStrategy(head, soft=False)).remote()
    ray.get(seat.ready.remote(), timeout=60)  # the head's CPU is taken: the first tasks go to the second node
    killed_at: list[float] = []

    async def kill_second_node(store: Any, job_id: str) -> None:
        await _check_started(store, job_id, "forget")
        await asyncio.sleep(3.0)  # the task is on the second node, loading or scoring
        os.kill(cluster.second_raylet, signal.SIGKILL)
        killed_at.append(time.monotonic())
        ray.kill(seat)  # the head's CPU is free for Ray's retry

    began = time.monotonic()
    remote = await _audit(RayExecutor, sandbox_root, tmp_path / "ray", during=kill_second_node)
    assert killed_at and killed_at[0] > began
    for _ in range(300):  # the control plane marks the node dead after its health checks fail
        nodes = {n["NodeID"]: n["Alive"] for n in ray.nodes()}
        if list(nodes.values()).count(False) == 1:
            break
        await asyncio.sleep(0.2)
    assert nodes[head] and list(nodes.values()).count(False) == 1  # the second node died mid-audit

    assert remote["records"]["forget"] and remote["records"]["collateral"]
    _assert_same_records(local["records"], remote["records"])
    for name in ("forget", "collateral"):
        a, b = getattr(local["card"].checks, name), getattr(remote["card"].checks, name)
        assert a is not None and b is not None
        assert (a.verdict, a.reasons) == (b.verdict, b.reasons), name
        assert _close(_untrained_figures(a), _untrained_figures(b)), name
    assert local["card"].verdict == remote["card"].verdict

    units = _units_ran(caplog, "forget")
    relearning = [f"{run}-fold{f}" for run in ("relearning-target", "relearning-baseline", "relearning_placebo-target")
                  for f in (0, 1)]  # fmt: skip
    assert [u.split("@")[0] for u in units] == [
        "black_box-standard",
        "black_box-alt_template",
        *relearning,
        "memorisation",
    ]
    assert all(int(u.split("@")[1]) != os.getpid() for u in units), units  # Ray worker processes, not this one


def _unit_tasks_running() -> list[str]:
    """The forget check's unit tasks running now, by the process titles Ray gives a worker while it runs a task
    (`ray::<function or task name>`; `ray::IDLE` between tasks)."""
    running = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if title.startswith("ray::") and ("run_unit_task" in title or "unit-forget-" in title):
                running.append(title)
    return running


async def test_a_cancel_while_units_run_cancels_them(cluster: LocalCluster, sandbox_root: Path, tmp_path: Path) -> None:
    from service.runner.ray_executor import RayExecutor

    cpus = ray.cluster_resources()["CPU"]
    cancelled_at: list[float] = []

    async def cancel_during_units(store: Any, job_id: str) -> None:
        await _check_started(store, job_id, "forget")
        for _ in range(3000):
            if _unit_tasks_running():
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no unit of the forget check ever ran as a Ray task")
        await store.request_cancel(job_id)
        cancelled_at.append(time.monotonic())

    await _audit(RayExecutor, sandbox_root, tmp_path, during=cancel_during_units, expect="cancelled")
    for _ in range(100):  # cancelled, not left to finish: their CPUs and processes are free within seconds
        if ray.available_resources().get("CPU", 0) == cpus and not _unit_tasks_running():
            break
        await asyncio.sleep(0.1)
    assert ray.available_resources().get("CPU", 0) == cpus, "a cancelled check or unit still holds a CPU"
    assert not _unit_tasks_running(), _unit_tasks_running()
    assert time.monotonic() - cancelled_at[0] < 20
