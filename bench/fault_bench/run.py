"""One run: set everything up, submit while injecting the faults, drain, check the invariants, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.fault_bench.config import CALLBACK_SECRET, SERVICE_SETTINGS, Options, Report, SetupError, service_env
from bench.fault_bench.fleet import Fleet
from bench.fault_bench.invariants import check
from bench.fault_bench.observer import Observer
from bench.fault_bench.postgres import PrivatePostgres, find_pg_bin
from bench.fault_bench.receiver import CallbackReceiver, TargetStandIn
from bench.fault_bench.schedule import Faults, inject, sleep_until, supervise
from bench.fault_bench.submitting import Submission, evaluation_request, submit
from service.settings import Settings
from service.worker.callbacks import delivery_lease_s


async def wait_ready(client: httpx.AsyncClient, fleet: Fleet, limit_s: float = 120.0) -> None:
    """Until every API process answers /readyz (the schema is migrated then)."""
    deadline = time.monotonic() + limit_s
    pending = set(fleet.api_urls)
    while pending:
        if time.monotonic() > deadline:
            raise SetupError(f"API processes not ready after {limit_s:.0f} s: {sorted(pending)}\n{fleet.log_tails()}")
        for url in list(pending):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    pending.discard(url)
        await asyncio.sleep(0.2)


async def drained(observer: Observer, receiver: CallbackReceiver, accepted: set[str]) -> bool:
    """No job queued or running, no callback owed, and every accepted job's callback answered."""
    with contextlib.suppress(Exception):
        rows = await observer.fetch(
            "SELECT count(*) FILTER (WHERE status NOT IN ('succeeded', 'failed', 'cancelled')) AS active, "
            "count(*) FILTER (WHERE callback_due_at IS NOT NULL) AS owed FROM jobs"
        )
        return rows[0]["active"] == 0 and rows[0]["owed"] == 0 and accepted <= set(receiver.snapshot())
    return False


async def run_bench(options: Options) -> Report:
    """Set everything up, inject the faults, drain, check; everything is stopped and deleted on return."""
    began = time.monotonic()
    pg_bin = find_pg_bin(options.pg_bin)
    root = Path(tempfile.mkdtemp(prefix="unlearn-faults-"))
    os.chmod(root, 0o755)  # the `postgres` user must reach its cluster directory inside
    try:
        with contextlib.ExitStack() as stack:
            pg = stack.enter_context(PrivatePostgres(pg_bin, root / "pg"))
            receiver = stack.enter_context(CallbackReceiver(CALLBACK_SECRET, options.receiver_delay_s))
            stand_in = stack.enter_context(TargetStandIn())
            data_dir = root / "data"
            data_dir.mkdir()
            env = service_env(data_dir, pg.url)
            logs = options.log_dir or root / "logs"
            fleet = stack.enter_context(Fleet(env, logs, options.api_processes, options.workers))
            receiver.sender_of = fleet.pid_of_client
            figures = await _exercise(options, pg, receiver, stand_in, fleet, data_dir, began)
            if figures["violations"]:
                print(fleet.log_tails(), file=sys.stderr)
        return Report(figures, list(fleet.pids), root, pg.port)
    finally:
        pg_log = root / "pg" / "postgres.log"
        if options.log_dir is not None and pg_log.exists():
            shutil.copyfile(pg_log, options.log_dir / "postgres.log")
        shutil.rmtree(root, ignore_errors=True)


async def _exercise(
    options: Options,
    pg: PrivatePostgres,
    receiver: CallbackReceiver,
    stand_in: TargetStandIn,
    fleet: Fleet,
    data_dir: Path,
    began_setup: float,
) -> dict[str, Any]:
    observer = Observer(pg.dsn)
    faults = Faults(began=time.monotonic())
    rng = random.Random(f"{options.seed}:requests")
    subs = [
        Submission(i, f"faults-{options.seed}-{i}", evaluation_request(i, rng, stand_in.url, receiver.url))
        for i in range(options.jobs)
    ]
    async with httpx.AsyncClient(timeout=10.0) as client:
        supervisor = asyncio.create_task(supervise(fleet))
        try:
            await wait_ready(client, fleet)
            began = faults.began = time.monotonic()
            setup_s = began - began_setup
            span = max(options.kills, 1) * options.kill_every_s

            async def paced(sub: Submission) -> None:
                await sleep_until(began + sub.index * span / max(options.jobs, 1))
                await submit(client, fleet.api_urls, sub)

            tasks = [asyncio.create_task(inject(options, fleet, pg, observer, began, faults))]
            tasks += [asyncio.create_task(paced(s)) for s in subs]
            try:
                await asyncio.gather(*tasks)
            finally:  # a failed restart stops the submissions too
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            faults_done = time.monotonic()
            accepted = {s.job_id for s in subs if s.job_id is not None}
            bound = drain_bound_s()
            while time.monotonic() - faults_done < bound:  # polling the database: nothing to wait on here
                if await drained(observer, receiver, accepted):
                    break
                await asyncio.sleep(0.5)
            drain_s = time.monotonic() - faults_done
            await wait_ready(client, fleet)
            figures = await check(options, observer, receiver, client, fleet, subs, faults)
        finally:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
            await observer.close()
    figures["timings_s"] = {
        "setup": round(setup_s, 1),
        "faults_and_submits": round(faults_done - began, 1),
        "drain": round(drain_s, 1),
        "drain_bound": round(bound, 1),
        "total": round(time.monotonic() - began_setup, 1),
    }
    return figures


def drain_bound_s() -> float:
    """Longer than a callback whose worker died mid-delivery waits before another worker takes it."""
    settings = Settings(
        callback_max_attempts=int(SERVICE_SETTINGS["UNLEARN_AUDIT_CALLBACK_MAX_ATTEMPTS"]),
        callback_backoff_s=float(SERVICE_SETTINGS["UNLEARN_AUDIT_CALLBACK_BACKOFF_S"]),
    )
    return delivery_lease_s(settings) + 60.0
