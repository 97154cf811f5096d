"""`serve` (API + local workers) and `worker` (workers alone), with clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import sys
from multiprocessing.process import BaseProcess
from types import FrameType

from service.auth import KeyRing
from service.settings import Settings

log = logging.getLogger("unlearn_audit.serve")
LOCAL_ONLY = "127.0.0.1"
_STOP_GRACE_S = 20.0


def _worker_process(settings: Settings, index: int) -> None:
    """Body of one worker process (spawned: no torch state or event loop inherited from the parent)."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s"
    )
    from service.worker import worker_main

    worker_main(settings)


def _migrate(settings: Settings) -> None:
    """Bring the database schema up to date once, before any process opens it."""
    from service.store import create_store

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await create_store(settings.resolved_database_url())
        await store.close()

    asyncio.run(run())


def start_workers(settings: Settings, count: int) -> list[BaseProcess]:
    """Start `count` worker processes (spawn context)."""
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    for index in range(count):
        process = context.Process(target=_worker_process, args=(settings, index), name=f"worker-{index}")
        process.start()
        processes.append(process)
    return processes


def stop_workers(processes: list[BaseProcess]) -> None:
    """SIGTERM each worker (it gives its job back at the next batch), then SIGKILL what is left."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(_STOP_GRACE_S)
        if process.is_alive():
            log.warning("worker %s did not stop in %.0f s; killing it", process.name, _STOP_GRACE_S)
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
    """Run the API with uvicorn and `workers` local worker processes until SIGINT/SIGTERM."""
    import uvicorn

    from service.app import create_app

    settings = Settings()
    try:
        keyring = KeyRing.from_settings(settings)
    except (OSError, ValueError) as exc:
        print(f"unlearn-audit: bad API key configuration: {exc}", file=sys.stderr)
        return 2
    bind = choose_host(host, keyring)
    _migrate(settings)
    processes = start_workers(settings, workers)
    try:
        # uvicorn handles SIGINT/SIGTERM itself: it stops accepting, finishes requests, runs the lifespan.
        config = uvicorn.Config(create_app(settings), host=bind, port=port, log_level="info", lifespan="on")
        server = uvicorn.Server(config)
        log.info("serving on http://%s:%d with %d worker process(es)", bind, port, workers)
        server.run()
    finally:
        stop_workers(processes)
    return 0


def run_workers(count: int) -> int:
    """`worker`: one worker in this process, or `count` worker processes until SIGINT/SIGTERM."""
    settings = Settings()
    _migrate(settings)
    if count <= 1:
        from service.worker import worker_main

        worker_main(settings)
        return 0
    processes = start_workers(settings, count)
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping and any(p.is_alive() for p in processes):
            for process in processes:
                process.join(0.5)
    finally:
        stop_workers(processes)
    failed = [p.name for p in processes if p.exitcode not in (0, -signal.SIGTERM)]
    return 1 if failed and not stopping else 0
