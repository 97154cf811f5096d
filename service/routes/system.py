"""Liveness and readiness (open), and the policy presets (needs `read`)."""

from __future__ import annotations

import logging

from litestar import get

from schemas.errors import UnavailableError
from schemas.policy import PresetDescription, describe_presets
from service.errors import error_responses
from service.routes.deps import StoreDep
from service.routes.keyed import KeyedController, needs_scope

log = logging.getLogger(__name__)


@get("/healthz", summary="Liveness", sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@get(
    "/readyz",
    summary="Readiness: the database answers",
    description="503 when the store is unreachable.",
    responses=error_responses(503),
)
async def readyz(store: StoreDep) -> dict[str, str]:
    """Touch the database; 503 when it does not answer."""
    try:
        await store.ping()
    except Exception as exc:  # any failure to reach the DB means not ready
        log.warning("readiness check failed: %s", exc)
        raise UnavailableError(f"the job store is unreachable: {type(exc).__name__}") from exc
    return {"status": "ready"}


class PolicyController(KeyedController):
    """/v1/policies (`read`)."""

    path = "/v1/policies"
    opt = needs_scope("read")

    @get(
        "/",
        summary="Policy presets with each threshold and the reason for it",
        responses=error_responses(401, 403),
        sync_to_thread=False,
    )
    def list_policies(self) -> list[PresetDescription]:
        """Every preset (`default`, `strict`, `lenient`) with its thresholds and reasons."""
        return describe_presets()
