"""Worker processes for the CLI: `worker_main(settings, n_workers)` runs one or more workers."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from typing import Any

from service.settings import Settings
from service.worker.loop import run_worker

log = logging.getLogger(__name__)


def _worker_process(settings_data: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_worker(Settings(**settings_data)))


def start_worker_process(settings: Settings) -> multiprocessing.process.BaseProcess:
    """Start one worker in a fresh interpreter ('spawn': no forked torch or event-loop state)."""
    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(target=_worker_process, args=(settings.model_dump(),), name="unlearn-audit-worker")
    process.start()
    return process


def worker_main(settings: Settings, n_workers: int = 1) -> None:
    """Run `n_workers` workers until SIGTERM/SIGINT: one in this process, more as child processes."""
    if n_workers <= 1:
        asyncio.run(run_worker(settings))
        return
    children = [start_worker_process(settings) for _ in range(n_workers)]

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.is_alive() and child.pid is not None:
                child.terminate()  # SIGTERM: each child finishes its batch and releases its job

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("all %d workers stopped", n_workers)
