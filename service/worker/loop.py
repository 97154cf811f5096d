"""The worker loop: claim a job, run it under lease, repeat; stop gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from typing import Any

from evaluators.checks.registry import load_check_plugins, preload_checks
from evaluators.models.memo import ResultMemo
from schemas.errors import InvalidJobError
from schemas.jobs import JobError
from service.runner import ModelPool, model_opener, run_job
from service.runner.executor import CheckExecutor, LocalExecutor
from service.settings import Settings
from service.store import LeaseLostError, SqlJobStore, create_store
from service.store.engine import store_unreachable
from service.store.judge_calibrations import judge_calibrations
from service.worker.callbacks import OutboxSender
from service.worker.judge_calibrations import CalibrationRunner

log = logging.getLogger(__name__)

EXPIRE_EVERY_S = 3600.0
"""How often a worker deletes per-item records past the retention period."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _lazy_opener(settings: Settings, store: SqlJobStore) -> Any:
    """Build the backends' opener on the first job, so a worker starts without importing torch."""
    opener: Any = None

    async def open_target(target: Any) -> Any:
        nonlocal opener
        if opener is None:
            opener = model_opener(settings, store)
        return await opener(target)

    return open_target


async def run_worker(
    settings: Settings,
    *,
    worker_id: str | None = None,
    once: bool = False,
    stop_event: asyncio.Event | None = None,
    store: SqlJobStore | None = None,
    models: ModelPool | None = None,
    memo: ResultMemo | None = None,
) -> int:
    """Claim and run jobs until `stop_event` is set (or SIGTERM/SIGINT arrives); returns jobs run.

    A poll that finds no audit runs a queued model-judge calibration, if any (service.worker.judge_calibrations).
    Each poll also starts the delivery of owed result callbacks in the background (service.worker.callbacks:
    recorded when a job ends, so none is lost if a worker dies). `once`: run at most one job (none when
    the queue is empty), deliver the callbacks owed, and return. On stop, a running job stops
    at its next batch and goes back to the queue at once, so another worker resumes it without waiting
    for the lease to expire. Without `store`, one is opened (and migrated) on the settings' database;
    without `models`, targets are opened with the backends' factory; without `memo`, the worker keeps its own
    (`evaluators.models.memo`), else it shares that one (`evaluators.models.shared_memo`).
    """
    worker_id = worker_id or default_worker_id()
    stop = stop_event or asyncio.Event()
    if settings.check_plugins:
        log.info("worker %s: check plugins %s", worker_id, load_check_plugins(settings.check_plugins))
    await asyncio.to_thread(preload_checks)
    own_store = store is None
    db = store if store is not None else await create_store(settings.resolved_database_url())
    models = models if models is not None else ModelPool(_lazy_opener(settings, db))
    removed_handlers = _install_signal_handlers(stop)
    senders = [OutboxSender(db, settings, "callback"), OutboxSender(db, settings, "writeback")]
    calibrations = CalibrationRunner(judge_calibrations(db), settings, worker_id, models)
    memo = memo if memo is not None else ResultMemo()  # a baseline audited again is scored once
    executor = check_executor(settings)
    jobs_run = 0
    next_expiry = 0.0
    log.info("worker %s started on %s", worker_id, _redacted(settings.resolved_database_url()))
    try:
        while not stop.is_set():
            if time.monotonic() >= next_expiry:
                next_expiry = time.monotonic() + EXPIRE_EVERY_S
                await _expire(db, settings.items_retention_days)
            for sender in senders:
                await sender.poll()
            try:
                claimed = await db.claim_next(worker_id, settings.lease_s, settings.team_limits())
            except Exception:
                log.exception("worker %s: claim failed; retrying", worker_id)
                claimed = None
            if claimed is not None:
                log.info("worker %s: job %s (attempt %d)", worker_id, claimed.id, claimed.attempts)
                try:
                    await run_job(claimed, db, settings, worker_id, models, shutdown=stop, memo=memo, executor=executor)
                except Exception as exc:  # run_job ends jobs itself; this is a job it could not even start
                    log.exception("worker %s: job %s could not be run", worker_id, claimed.id)
                    if not store_unreachable(exc):
                        await fail_unstartable(db, claimed.id, worker_id, exc)
                jobs_run += 1
            elif await calibrations.run_next():  # a model-judge calibration when no audit waits
                jobs_run += 1
            if once:
                for sender in senders:
                    await sender.drain()
                break
            if claimed is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.poll_s)
    finally:
        for sender in senders:
            await sender.stop()
        for sig in removed_handlers:
            asyncio.get_running_loop().remove_signal_handler(sig)
        await models.close()
        if own_store:
            await db.close()
        log.info("worker %s stopped after %d job(s)", worker_id, jobs_run)
    return jobs_run


def check_executor(settings: Settings) -> CheckExecutor:
    """The executor `settings.executor` names: the checks run in this worker, or as tasks on a Ray cluster."""
    if settings.executor == "ray":
        from service.runner.ray_executor import RayExecutor, import_ray

        import_ray()  # a worker told to use Ray without it installed stops at start, saying so
        return RayExecutor(settings)
    return LocalExecutor()


def _install_signal_handlers(stop: asyncio.Event) -> list[signal.Signals]:
    if threading.current_thread() is not threading.main_thread():
        return []
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    return installed


async def fail_unstartable(store: SqlJobStore, job_id: str, worker_id: str, exc: Exception) -> None:
    """Fail a held job that could not be started (`invalid_job`), so the queue moves on; a job this worker
    no longer holds is left alone."""
    error = JobError(code=InvalidJobError.code, message=f"the job could not be started: {type(exc).__name__}")
    try:
        await store.finish_job(job_id, worker_id, status="failed", error=error)
    except LeaseLostError:
        pass
    except Exception:
        log.exception("worker %s: could not mark job %s failed", worker_id, job_id)


async def _expire(store: SqlJobStore, days: int) -> None:
    try:
        removed = await store.expire_items(days)
    except Exception:
        log.exception("expiring per-item records failed")
        return
    if removed:
        log.info("expired %d per-item records older than %d days", removed, days)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
