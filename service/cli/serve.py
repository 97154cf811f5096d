"""`serve` (API + local workers) and `worker` (workers alone), with clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import signal
import sys
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from service.auth import KeyRing
from service.settings import Settings

log = logging.getLogger("unlearn_audit.serve")
LOCAL_ONLY = "127.0.0.1"
_STOP_GRACE_S = 20.0


def _migrate(settings: Settings) -> None:
    """Bring the database schema up to date once, before several processes open it at the same time."""
    from service.store import create_store

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await create_store(settings.resolved_database_url())
        await store.close()

    asyncio.run(run())


def stop_workers(processes: list[BaseProcess]) -> None:
    """SIGTERM each worker (it puts its job back in the queue at the next batch), then SIGKILL stragglers."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(_STOP_GRACE_S)
        if process.is_alive():
            log.warning("worker %s did not stop in %.0f s; killing it", process.pid, _STOP_GRACE_S)
            process.kill()
            process.join()


def choose_host(requested: str | None, keyring: KeyRing) -> str:
    """The bind address: any requested host with API keys; 127.0.0.1 only (logged) without them."""
    if keyring.enabled:
        return requested or "0.0.0.0"
    if requested not in (None, LOCAL_ONLY, "localhost"):
        log.warning("no API keys configured: binding to %s only, not %s", LOCAL_ONLY, requested)
    else:
        log.info("no API keys configured: binding to %s only", LOCAL_ONLY)
    return LOCAL_ONLY


def serve(*, host: str | None, port: int, workers: int) -> int:
    """Run the API with uvicorn and `workers` local worker processes until SIGINT/SIGTERM. Without torch
    installed (`unlearn-audit[server]`) only `workers=0` runs: ModuleNotFoundError otherwise."""
    from service.app import create_app
    from service.worker import shared_memo_dir, start_worker_process

    if workers and importlib.util.find_spec("torch") is None:
        # The API runs without the model libraries; its workers import them at start: say so here, not as a
        # traceback in each worker process while the API keeps queueing jobs nobody runs.
        raise ModuleNotFoundError("No module named 'torch'", name="torch")
    try:
        settings = Settings()
        keyring = KeyRing.from_settings(settings)
        app = create_app(settings)
    except (OSError, ValueError) as exc:
        print(f"unlearn-audit: bad configuration: {exc}", file=sys.stderr)
        return 2
    bind = choose_host(host, keyring)
    _migrate(settings)
    with shared_memo_dir(settings, workers) as memo_dir:
        processes = [start_worker_process(settings, workers, memo_dir) for _ in range(workers)]
        return _serve_beside(app, bind, port, processes)


def _serve_beside(app: Any, bind: str, port: int, processes: list[BaseProcess]) -> int:
    """Run uvicorn until SIGINT/SIGTERM, then stop the worker `processes`."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=bind, port=port, log_level="info", lifespan="on"))

    def stop_serving(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn handles SIGINT/SIGTERM while it runs (stops accepting, finishes requests, runs the
    # lifespan), then restores these handlers and re-raises the signal: with the default handlers the
    # process would die there, before its workers are stopped.
    previous = {sig: signal.signal(sig, stop_serving) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        log.info("serving on http://%s:%d with %d worker process(es)", bind, port, len(processes))
        server.run()
    finally:
        stop_workers(processes)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if server.started else 2


def run_workers(count: int, *, once: bool = False, worker_id: str | None = None, executor: str | None = None) -> int:
    """`worker`: `count` workers (one in this process, more as child processes) until SIGINT/SIGTERM;
    `once`: one worker in this process runs at most one job; `worker_id` names that single worker;
    `executor` (`local`, `ray`) overrides the setting."""
    from service.worker import run_worker, worker_main

    try:
        settings = Settings() if executor is None else Settings(executor=executor)
    except ValueError as exc:
        print(f"unlearn-audit: bad configuration: {exc}", file=sys.stderr)
        return 2
    _migrate(settings)
    if once or worker_id:
        asyncio.run(run_worker(settings, worker_id=worker_id, once=once))
    else:
        worker_main(settings, max(1, count))
    return 0
