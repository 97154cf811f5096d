"""Worker processes for the CLI: `worker_main(settings, n_workers)` runs one or more workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.settings import Settings
from service.worker.loop import run_worker

log = logging.getLogger(__name__)


def threads_per_worker(settings: Settings, n_workers: int) -> int:
    """torch CPU threads for each of `n_workers` local workers: the setting, else the CPUs shared out.

    Workers on one machine that each take every CPU thrash; the sandbox-sized models are also too small
    for many intra-op threads to pay off, so two one-thread workers beat one two-thread worker."""
    if settings.torch_threads:
        return settings.torch_threads
    return max(1, (os.cpu_count() or 1) // max(1, n_workers))


def set_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@contextlib.contextmanager
def shared_memo_dir(settings: Settings, n_workers: int) -> Iterator[Path | None]:
    """The directory `n_workers` local workers share their result memo in (`cache_dir/memo/memo-*`, removed
    when they have stopped), or None for one worker, which keeps its memo in memory."""
    if n_workers <= 1:
        yield None
        return
    from evaluators.models.shared_memo import owned_directory

    with owned_directory(settings.resolved_cache_dir() / "memo") as path:
        yield path


def _worker_process(settings_data: dict[str, Any], threads: int, memo_dir: str | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    set_torch_threads(threads)
    memo = None
    if memo_dir is not None:
        from evaluators.models.shared_memo import SharedResultMemo

        memo = SharedResultMemo(Path(memo_dir))
        log.info("worker result memo shared in %s", memo_dir)
    asyncio.run(run_worker(Settings(**settings_data), memo=memo))


def start_worker_process(
    settings: Settings, n_workers: int = 1, memo_dir: Path | None = None
) -> multiprocessing.process.BaseProcess:
    """Start one of `n_workers` local workers in a fresh interpreter ('spawn': no forked torch or event-loop
    state), with its share of the CPU threads; `memo_dir` (`shared_memo_dir`): the memo it shares with them."""
    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(
        target=_worker_process,
        args=(settings.model_dump(), threads_per_worker(settings, n_workers), memo_dir and str(memo_dir)),
        name="unlearn-audit-worker",
    )
    process.start()
    return process


def worker_main(settings: Settings, n_workers: int = 1) -> None:
    """Run `n_workers` workers until SIGTERM/SIGINT: one in this process, more as child processes."""
    if n_workers <= 1:
        if settings.torch_threads:
            set_torch_threads(settings.torch_threads)
        asyncio.run(run_worker(settings))
        return
    with shared_memo_dir(settings, n_workers) as memo_dir:
        children = [start_worker_process(settings, n_workers, memo_dir) for _ in range(n_workers)]
        _wait_for(children)
    log.info("all %d workers stopped", n_workers)


def _wait_for(children: list[multiprocessing.process.BaseProcess]) -> None:
    """Join `children`, forwarding SIGTERM/SIGINT to them meanwhile."""

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
