"""A submission's checks and pins, with the deployment's memory of its suites' datasets.

`validate_submission` runs off the event loop; before it, the deployment's pins of suite datasets are read from
the store (a suite's `cais/mmlu` at `main` is read at the commit this deployment first resolved, so figures
compare across audits), and after it, the revisions resolved for the first time are remembered (the first
resolution wins, also against a concurrent submit).
"""

from __future__ import annotations

from functools import partial

import anyio.to_thread

from schemas.requests import EvaluationRequest
from service.routes.validation import Pins, validate_submission
from service.settings import Settings
from service.store.api import JobStore
from service.store.dataset_pins import pin_key


async def checked_and_pinned(
    request: EvaluationRequest, settings: Settings, store: JobStore, *, may_use_unsafe: bool, remember_pins: bool = True
) -> Pins:
    """`validate_submission` with the deployment's pins of suite datasets read before and extended after
    (`remember_pins` false: read only, for a dry run, which stores nothing)."""
    endpoint = settings.hub_endpoint.rstrip("/")
    remembered: dict[str, str] = {}
    if request.suite is not None:
        remembered = {pin_key(p.repo, p.requested): p.revision for p in await store.dataset_pins(endpoint)}
    pins = await anyio.to_thread.run_sync(
        partial(validate_submission, request, settings, may_use_unsafe=may_use_unsafe, deployment_pins=remembered)
    )
    if pins.first_resolved and remember_pins:
        await store.remember_dataset_pins(endpoint, pins.first_resolved)
    return pins
