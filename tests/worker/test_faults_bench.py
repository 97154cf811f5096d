"""The fault benchmark's small version (bench/faults.py): 3 SIGKILLs and a PostgreSQL restart with jobs in flight.

It runs the benchmark itself on a private PostgreSQL cluster (initdb/pg_ctl on a spare port), 2 API
processes and 4 workers whose `forget` check is the bench's trivial plug-in, and asserts the invariants it
checks: every accepted job ended exactly once with a verifying scorecard or a clear error, no callback
answered 2xx twice unless the process that got the first 2xx was SIGKILLed before it could record it,
nothing left leased. Then that everything it started is gone.

Also the fault the benchmark found, without processes: the store down right after a callback's 2xx.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from bench import faults
from service.callbacks import deliver
from service.settings import Settings
from service.store.outside import DeliveryAttempt


def _pg_bin() -> Path:
    try:
        return faults.find_pg_bin()
    except faults.SetupError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tools are required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.mark.slow
@pytest.mark.postgres
async def test_three_kills_and_a_postgres_restart_keep_every_invariant(tmp_path: Path) -> None:
    options = faults.Options(jobs=12, kills=3, pg_restart=True, seed=7, pg_bin=_pg_bin(), log_dir=tmp_path)
    report = await faults.run_bench(options)
    figures = report.figures

    assert figures["violations"] == [], figures
    assert figures["jobs"]["accepted"] == figures["jobs"]["in_database"] == 12
    assert sum(figures["jobs"]["by_status"].get(s, 0) for s in faults.TERMINAL) == 12
    callbacks = figures["callbacks"]
    assert callbacks["jobs_answered"] == 12
    # A second 2xx only where its sender was SIGKILLed before it could record the first (at least once).
    assert callbacks["duplicates"] == callbacks["duplicates_after_the_sender_was_killed"]
    assert (figures["kills"]["api"], figures["kills"]["worker"]) == (1, 2)
    assert figures["pg_restart"]["outage_s"] >= options.pg_down_s

    # Cleaned up: every process it started has exited, the cluster is down and its directory deleted.
    for pid in report.pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not report.root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", report.pg_port), timeout=2):
        pass


class StoreDownAtFirst:
    """The part of the store a delivery writes to, unreachable for its first `down_for` writes."""

    def __init__(self, down_for: int) -> None:
        self.down_for = down_for
        self.recorded: list[DeliveryAttempt] = []

    async def record_delivery_attempt(self, job_id: str, attempt: DeliveryAttempt) -> None:
        if self.down_for:
            self.down_for -= 1
            raise ConnectionRefusedError("the store is restarting")
        self.recorded.append(attempt)


async def test_a_store_outage_right_after_a_2xx_still_records_the_delivery(tmp_path: Path) -> None:
    # Before the fix the failed write ended the delivery with an error, the callback stayed owed and was
    # delivered again once its lease lapsed: a second 2xx to the receiver (seen by bench/faults.py).
    store = StoreDownAtFirst(down_for=2)
    posted: list[httpx.Request] = []
    slept: list[float] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        result = await deliver(
            "job-1",
            "http://127.0.0.1:9/callback",
            b"{}",
            secret="s3cret",
            store=cast(Any, store),
            settings=Settings(data_dir=tmp_path),
            client=client,
            sleep=sleep,
        )

    assert result.delivered and result.attempts == 1
    assert len(posted) == 1
    assert [(a.attempt, a.ok, a.status_code) for a in store.recorded] == [(1, True, 200)]
    assert slept == [0.1, 0.2]
