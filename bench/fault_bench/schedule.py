"""The fault schedule: seeded SIGKILLs of API processes and workers, and the PostgreSQL restart half-way."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench.fault_bench.config import Kind, Options
from bench.fault_bench.fleet import Fleet, Slot
from bench.fault_bench.observer import Observer
from bench.fault_bench.postgres import PrivatePostgres


@dataclass
class Faults:
    began: float
    """time.monotonic() when the faults and submissions began."""
    kills: list[dict[str, Any]] = field(default_factory=list)
    pg_restart: dict[str, float] = field(default_factory=dict)
    pg_restart_at_s: float | None = None


async def inject(
    options: Options, fleet: Fleet, pg: PrivatePostgres, observer: Observer, began: float, faults: Faults
) -> None:
    """The kills, every `kill_every_s`, and the PostgreSQL restart half-way between two of them. The next kill
    comes `kill_every_s` after the outage ends, unless `kills_during_restart`: then the kills go on beside it."""
    rng = random.Random(f"{options.seed}:victims")
    api_kills = -(-options.kills // 3)  # a third, rounded up
    kinds: list[Kind] = ["api" if n < api_kills else "worker" for n in range(options.kills)]
    rng.shuffle(kinds)
    restart_before = options.kills // 2 if options.pg_restart else None
    restart: asyncio.Task[dict[str, float]] | None = None
    bags: dict[Kind, list[Slot]] = {"api": [], "worker": []}
    pushed = 0.0
    for n, kind in enumerate([*kinds, None]):
        if n == restart_before:
            await sleep_until(began + (n + 0.5) * options.kill_every_s)
            faults.pg_restart_at_s = round(time.monotonic() - began, 2)
            restart = asyncio.create_task(asyncio.to_thread(pg.restart, options.pg_down_s))
            if not options.kills_during_restart:
                outage = (await restart).get("outage_s", 0.0)
                pushed = outage + 0.5 * options.kill_every_s
        if kind is None:
            break
        await sleep_until(began + pushed + (n + 1) * options.kill_every_s)
        if not bags[kind]:  # each process of a kind is killed once before any is killed again
            bags[kind] = fleet.of_kind(kind)
            rng.shuffle(bags[kind])
        victim = bags[kind].pop()
        delay = round(rng.uniform(0.0, 1.0), 2)
        held = None
        if kind == "worker" and (restart is None or restart.done()):
            with contextlib.suppress(Exception):
                rows = await observer.fetch(
                    "SELECT count(*) AS n FROM jobs "
                    "WHERE status = 'running' AND worker_id = $1 AND lease_until > now()",
                    victim.worker_id,
                )
                held = int(rows[0]["n"])
        faults.kills.append(
            {
                "t_s": round(time.monotonic() - began, 2),
                "victim": victim.name,
                "worker_id": victim.worker_id if kind == "worker" else None,
                "held_a_job": held,
                "restart_after_s": delay,
            }
        )
        fleet.kill(victim, delay)
    if restart is not None:
        faults.pg_restart = {k: round(v, 2) for k, v in (await restart).items()}


async def sleep_until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.monotonic()))


async def supervise(fleet: Fleet) -> None:
    while True:
        fleet.tick()
        await asyncio.sleep(0.05)
