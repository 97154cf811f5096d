"""One load run: a private PostgreSQL, the service's processes on it, open-loop submission at each rate, then
the drain with 1, 2 and 4 workers; everything started is stopped and deleted on return."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.fault_bench.config import SetupError, service_env, timestamp
from bench.fault_bench.fleet import Fleet
from bench.fault_bench.observer import Observer
from bench.fault_bench.postgres import PrivatePostgres, find_pg_bin
from bench.fault_bench.receiver import TargetStandIn
from bench.fault_bench.run import wait_ready
from bench.load_bench.cpu import CpuWindow, Groups, postmaster_pid
from bench.load_bench.events import job_figures
from bench.load_bench.open_loop import Arrivals, arrival_offsets, run_step, summarise

LOAD_SETTINGS = {"UNLEARN_AUDIT_LEASE_S": "30", "UNLEARN_AUDIT_HEARTBEAT_S": "5", "UNLEARN_AUDIT_POLL_S": "0.2"}
"""The service's default lease and heartbeat; a short poll, so idle workers take new jobs at once."""
LEASE_S = float(LOAD_SETTINGS["UNLEARN_AUDIT_LEASE_S"])
READY_LIMIT_S = 240.0
"""How long the processes may take to start (a shared machine under load can take minutes)."""


@dataclass
class LoadOptions:
    rates: list[float] = field(default_factory=lambda: [25.0, 50.0, 100.0, 200.0])
    step_s: float = 15.0
    """Seconds of scheduled sends per rate."""
    arrivals: Arrivals = "poisson"
    max_per_step: int = 4000
    concurrency: int = 256
    """Requests in flight at most; the rest wait (and count as late)."""
    grace_s: float = 10.0
    """How long answers are awaited after a step's last scheduled send; also httpx's timeout, which applies to
    each phase of a request (connect, pool wait, read), not to the whole."""
    submit_workers: int = 4
    drain_workers: list[int] = field(default_factory=lambda: [1, 2, 4])
    drain_jobs: int = 120
    drain_limit_s: float = 120.0
    items: int = 1
    """Items per job; the trivial check spends 0.1 s on each."""
    seed: int = 0
    log_dir: Path | None = None
    pg_bin: Path | None = None


def job_body(items: int, target_url: str) -> Callable[[int], dict[str, Any]]:
    """The request for job i: the trivial plug-in as its `forget` check over `items` items, no callback."""

    def body(i: int) -> dict[str, Any]:
        rows = [
            {"question": f"Load question {i}.{j}?", "choices": ["a", "b", "c", "d"], "answer": j % 4}
            for j in range(items)
        ]
        return {
            "target": {"kind": "tgi", "url": target_url},
            "checks": {"forget": {"dataset": {"items": rows, "name": "load"}, "subject": "bench"}},
            "labels": {"bench": "load"},
            "seed": i,
        }

    return body


def load_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = service_env(data_dir, database_url)
    env.update(LOAD_SETTINGS)
    return env


async def wait_workers(fleet: Fleet, limit_s: float = READY_LIMIT_S) -> bool:
    """Until every worker has logged that it started (its imports done); False when one has not in time."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if _all_started(fleet):
            return True
        await asyncio.sleep(0.25)
    return False


def _all_started(fleet: Fleet) -> bool:
    for slot in fleet.of_kind("worker"):
        slot.log.flush()
    return all("started on" in Path(s.log.name).read_text(errors="replace") for s in fleet.of_kind("worker"))


async def wait_terminal(observer: Observer, job_ids: list[str], limit_s: float) -> float:
    """Seconds until every job in `job_ids` is terminal (or `limit_s` passed)."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        rows = await observer.fetch(
            "SELECT count(*) AS n FROM jobs WHERE id = ANY($1::text[]) "
            "AND status NOT IN ('succeeded', 'failed', 'cancelled')",
            job_ids,
        )
        if rows[0]["n"] == 0:
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - began


def exits(fleet: Fleet) -> list[str]:
    return [s.name for s in fleet.slots if s.process is not None and s.process.poll() is not None]


async def run_load(options: LoadOptions) -> dict[str, Any]:
    """Set up, submit at each rate, drain with each worker count; returns the figures."""
    began = time.monotonic()
    figures: dict[str, Any] = {"date": timestamp(), "loadavg_start": os.getloadavg(), "cpus": os.cpu_count()}
    pg_bin = find_pg_bin(options.pg_bin)
    root = Path(tempfile.mkdtemp(prefix="unlearn-load-"))
    os.chmod(root, 0o755)  # the `postgres` user must reach its cluster directory inside
    logs = options.log_dir or root / "logs"
    try:
        with PrivatePostgres(pg_bin, root / "pg") as pg, TargetStandIn() as stand_in:
            postgres = postmaster_pid(pg.data)
            body = job_body(options.items, stand_in.url)
            limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
            async with httpx.AsyncClient(timeout=options.grace_s, limits=limits) as client:
                figures["submit"] = await _submit_phase(options, pg, postgres, root, logs, client, body)
                figures["drain"] = await _drain_phases(options, pg, postgres, root, logs, client, body)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures["loadavg_end"] = os.getloadavg()
    figures["total_s"] = round(time.monotonic() - began, 1)
    return figures


async def _submit_phase(
    options: LoadOptions,
    pg: PrivatePostgres,
    postgres: int | None,
    root: Path,
    logs: Path,
    client: httpx.AsyncClient,
    body: Callable[[int], dict[str, Any]],
) -> dict[str, Any]:
    """2 API processes and `submit_workers` workers; one open-loop step per rate, the workers running."""
    data_dir = root / "data-submit"
    data_dir.mkdir()
    rng = random.Random(f"{options.seed}:arrivals")
    observer = Observer(pg.dsn)
    steps: list[dict[str, Any]] = []
    accepted: list[str] = []
    try:
        with Fleet(load_env(data_dir, pg.url), logs / "submit", 2, options.submit_workers) as fleet:
            await wait_ready(client, fleet, READY_LIMIT_S)
            workers_ready = await wait_workers(fleet)
            groups = Groups(
                sessions={
                    "api": [s.process.pid for s in fleet.of_kind("api") if s.process],
                    "workers": [s.process.pid for s in fleet.of_kind("worker") if s.process],
                },
                parents={"postgres": postgres} if postgres else {},
            )
            phase_began = time.monotonic()
            for rate in options.rates:
                offsets = arrival_offsets(rate, options.step_s, options.arrivals, options.max_per_step, rng)
                window = CpuWindow(groups)
                window.start()
                wall_began = datetime.now(UTC)
                sent, step_began = await run_step(
                    client,
                    fleet.api_urls,
                    body,
                    f"load-{options.seed}-{rate:g}",
                    offsets,
                    options.concurrency,
                    options.grace_s,
                )
                step = summarise(sent, step_began, rate)
                step["cpu"] = window.stop()
                step["workers_during_step"] = await _events_between(observer, wall_began, datetime.now(UTC))
                step["exited"] = exits(fleet)
                accepted += [s.job_id for s in sent if s.job_id is not None]
                steps.append(step)
                print(f"load: {rate:g}/s: {_step_line(step)}", flush=True)
            phase_s = time.monotonic() - phase_began
            rows = await observer.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
            jobs = await job_figures(observer, accepted, LEASE_S)
    finally:
        await observer.close()
    return {
        "api_processes": 2,
        "workers": options.submit_workers,
        "workers_ready": workers_ready,
        "arrivals": options.arrivals,
        "step_s": options.step_s,
        "steps": steps,
        "phase_s": round(phase_s, 1),
        "jobs_by_status_at_end": {r["status"]: r["n"] for r in rows},
        "jobs": jobs,
    }


async def _drain_phases(
    options: LoadOptions,
    pg: PrivatePostgres,
    postgres: int | None,
    root: Path,
    logs: Path,
    client: httpx.AsyncClient,
    body: Callable[[int], dict[str, Any]],
) -> list[dict[str, Any]]:
    """On a database of its own, one API process; for each worker count: start the workers, run warm-up jobs
    (each fresh worker imports its backend during its first job), submit `drain_jobs` at once, and time the drain."""
    import asyncpg

    conn = await asyncpg.connect(pg.dsn, timeout=10)
    try:
        await conn.execute("CREATE DATABASE load_drain")
    finally:
        await conn.close()
    url = pg.url.rsplit("/", 1)[0] + "/load_drain"
    observer = Observer(pg.dsn.rsplit("/", 1)[0] + "/load_drain")
    data_dir = root / "data-drain"
    data_dir.mkdir()
    env = load_env(data_dir, url)
    rounds: list[dict[str, Any]] = []
    try:
        with Fleet(env, logs / "drain-api", 1, 0) as api:
            await wait_ready(client, api, READY_LIMIT_S)
            for n in options.drain_workers:
                with Fleet(env, logs / f"drain-{n}", 0, n) as fleet:
                    if not await wait_workers(fleet):
                        raise SetupError(f"{n} workers not started after {READY_LIMIT_S:.0f} s:\n{fleet.log_tails()}")
                    warm, _ = await run_step(client, api.api_urls, body, f"warm-{n}", [0.0] * (2 * n), 8, 30.0)
                    await wait_terminal(observer, [s.job_id for s in warm if s.job_id], 60.0)
                    groups = Groups(
                        sessions={
                            "api": [s.process.pid for s in api.slots if s.process],
                            "workers": [s.process.pid for s in fleet.slots if s.process],
                        },
                        parents={"postgres": postgres} if postgres else {},
                    )
                    window = CpuWindow(groups)
                    window.start()
                    sent, _ = await run_step(
                        client, api.api_urls, body, f"drain-{n}", [0.0] * options.drain_jobs, 16, 60.0
                    )
                    ids = [s.job_id for s in sent if s.job_id is not None]
                    drain_s = await wait_terminal(observer, ids, options.drain_limit_s)
                    cpu = window.stop()
                    jobs = await job_figures(observer, ids, LEASE_S)
                    rounds.append(
                        {"workers": n, "drain_s": round(drain_s, 1), **jobs, "cpu": cpu, "exited": exits(fleet)}
                    )
                    print(f"load: drain with {n} worker(s): {_drain_line(rounds[-1])}", flush=True)
    finally:
        await observer.close()
    return rounds


async def _events_between(observer: Observer, began: datetime, ended: datetime) -> dict[str, float]:
    """Claims and finished jobs per second (any job) between two wall-clock times."""
    rows = await observer.fetch(
        "SELECT kind, count(*) AS n FROM job_events WHERE kind IN ('job_claimed', 'job_finished') "
        "AND created_at >= $1 AND created_at < $2 GROUP BY kind",
        began,
        ended,
    )
    span = (ended - began).total_seconds()
    counts = {r["kind"]: int(r["n"]) for r in rows}
    return {
        "claims_per_s": round(counts.get("job_claimed", 0) / span, 2),
        "finished_per_s": round(counts.get("job_finished", 0) / span, 2),
    }


def _step_line(step: dict[str, Any]) -> str:
    lat = step["latency_s"]
    return (
        f"accepted {step['accepted']}/{step['scheduled']} at {step['accepted_per_s']}/s, "
        f"p50 {_ms(lat['p50'])} p90 {_ms(lat['p90'])} p99 {_ms(lat['p99'])} max {_ms(lat['max'])}, "
        f"late {step['sent_late']}, outcomes {step['outcomes']}, busy {step['cpu']['busy_pct']}%, "
        f"workers finished {step['workers_during_step']['finished_per_s']}/s"
    )


def _drain_line(r: dict[str, Any]) -> str:
    return (
        f"{r['finished']}/{r['jobs']} finished, {r['finished_per_s']}/s "
        f"({r['finished_per_s_all_workers_busy']}/s once all busy), claims {r['claims_per_s']}/s, "
        f"ran twice {len(r['ran_twice'])}, reclaims {len(r['reclaims'])}, busy {r['cpu']['busy_pct']}%"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f} ms"
