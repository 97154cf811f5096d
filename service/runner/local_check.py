"""A check run in this worker's event loop, on the models the runner opened: the local executor's work."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from evaluators.checks import CheckContext, CheckOutcome, get_check, not_implemented
from schemas.errors import DeadlineExceededError, UnsupportedCapabilityError
from schemas.scorecard import CheckResult
from service.runner.control import JobControl


async def run_check_here(name: str, spec: Any, ctx_base: dict[str, Any], control: JobControl) -> CheckOutcome:
    """One check, timed. The hook stops it at the next batch; a backend call that never returns (an
    endpoint that hangs) is cut at the deadline, or STOP_GRACE_S after a cancel or shutdown."""
    check = get_check(name)
    if check is None:
        outcome = not_implemented(name)
        outcome.result.duration_s = 0.0
        return outcome
    ctx = CheckContext(**ctx_base, progress=lambda done, total: control.progress(name, done, total))
    began = time.monotonic()
    task = asyncio.create_task(check.run(spec, ctx), name=f"check-{name}")
    stopper = asyncio.create_task(control.wait_stopping(), name=f"stop-{name}")
    try:
        left = control.seconds_left()
        timeout = max(left, 0.0) if left is not None else None
        done, _ = await asyncio.wait({task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task not in done and stopper in done:
            done, _ = await asyncio.wait({task}, timeout=stop_grace_s())
        if task not in done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            control.raise_if_stopped()
            raise DeadlineExceededError("the job ran past its deadline")
        outcome = task.result()
    except UnsupportedCapabilityError as exc:
        outcome = unsupported_outcome(exc)
    finally:
        for pending in (task, stopper):
            if not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
    outcome.result.duration_s = round(time.monotonic() - began, 3)
    return outcome


def unsupported_outcome(exc: UnsupportedCapabilityError) -> CheckOutcome:
    """A check the models cannot serve (white-box work on an endpoint): skipped, saying why."""
    return CheckOutcome(result=CheckResult(verdict="skipped", reasons=["unsupported_capability"], summary=exc.message))


def stop_grace_s() -> float:
    from service.runner.run import STOP_GRACE_S

    return STOP_GRACE_S
